/* Schema migrations: the files of migrations/ compiled into the binary
 * (scripts/embed_migrations.py) and applied in order, forward only. */
#ifndef RUNOSD_DB_MIGRATE_H
#define RUNOSD_DB_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "db/db.h"

struct migration {
	const char *name; /* "0001_init.sql" */
	const char *sql;
	size_t len;
};

extern const struct migration db_migrations[];
extern const size_t db_migrations_count;

/* Applies every migration not yet applied, each in its own transaction, under
 * a PostgreSQL advisory lock so that concurrent instances apply each once. An
 * applied file whose SHA-256 has changed stops with an error naming it.
 * Returns the number applied through *applied. */
enum db_result db_migrate(struct db_pool *pool, int *applied) __attribute__((warn_unused_result));

#endif
