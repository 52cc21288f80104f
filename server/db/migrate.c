/* Migration runner (see include/db/migrate.h). Runs on one pooled connection
 * at start or for `runosd migrate`; the lock is a session-level advisory lock
 * released before the connection returns to the pool. */
#include "db/migrate.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "db_internal.h"
#include "util/log.h"

/* "runos" in ASCII: the advisory lock key shared by every instance. */
#define MIGRATION_LOCK_KEY "491609936755"

static const struct db_stmt stmt_lock = { "migrate_lock",
					  "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")" };
static const struct db_stmt stmt_unlock = { "migrate_unlock",
					    "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")" };
static const struct db_stmt stmt_create_table = {
	"migrate_create_table", "CREATE TABLE IF NOT EXISTS schema_migrations ("
				" name text PRIMARY KEY,"
				" checksum text NOT NULL,"
				" applied_at timestamptz NOT NULL DEFAULT now())"
};
static const struct db_stmt stmt_applied = {
	"migrate_applied", "SELECT checksum FROM schema_migrations WHERE name = $1"
};
static const struct db_stmt stmt_record = {
	"migrate_record", "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)"
};
static const struct db_stmt stmt_table_exists = {
	"migrate_table_exists", "SELECT to_regclass('schema_migrations') IS NOT NULL"
};
static const struct db_stmt stmt_count_applied = {
	"migrate_count_applied", "SELECT count(*) FROM schema_migrations WHERE name = ANY($1)"
};

static void checksum_hex(const struct migration *m, char out[2 * CRYPTO_SHA256_LEN + 1])
{
	uint8_t digest[CRYPTO_SHA256_LEN];
	crypto_sha256(m->sql, m->len, digest);
	crypto_hex(digest, sizeof(digest), out);
}

/* Applies one file through the simple query protocol, which allows several
 * statements in one string, inside an explicit transaction. */
static enum db_result apply_one(struct db_conn *c, const struct migration *m, const char *sum)
{
	PGconn *pg = db_conn_pg(c);
	char *sql = strndup(m->sql, m->len);
	PGresult *res = PQexec(pg, "BEGIN");
	PQclear(res);
	res = PQexec(pg, sql);
	free(sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("migration %s failed: %s", m->name, PQresultErrorMessage(res));
		PQclear(res);
		PQclear(PQexec(pg, "ROLLBACK"));
		return PQstatus(pg) == CONNECTION_OK ? DB_ERROR : DB_UNAVAILABLE;
	}
	PQclear(res);
	const char *params[] = { m->name, sum };
	enum db_result r = db_exec(c, &stmt_record, 2, params, NULL);
	if (r != DB_OK) {
		PQclear(PQexec(pg, "ROLLBACK"));
		return r;
	}
	res = PQexec(pg, "COMMIT");
	r = PQresultStatus(res) == PGRES_COMMAND_OK ? DB_OK : DB_ERROR;
	PQclear(res);
	if (r == DB_OK)
		log_info("migration %s applied", m->name);
	return r;
}

static enum db_result migrate_locked(struct db_conn *c, int *applied)
{
	enum db_result r = db_exec(c, &stmt_create_table, 0, NULL, NULL);
	for (size_t i = 0; r == DB_OK && i < db_migrations_count; i++) {
		const struct migration *m = &db_migrations[i];
		char sum[2 * CRYPTO_SHA256_LEN + 1];
		checksum_hex(m, sum);

		PGresult *res;
		const char *params[] = { m->name };
		r = db_exec(c, &stmt_applied, 1, params, &res);
		if (r != DB_OK)
			break;
		if (PQntuples(res) == 1) {
			bool same = strcmp(PQgetvalue(res, 0, 0), sum) == 0;
			PQclear(res);
			if (!same) {
				log_error("migration %s was changed after it was applied "
					  "(checksum differs): restore the file, and put the "
					  "change in a new migration",
					  m->name);
				r = DB_ERROR;
			}
			continue;
		}
		PQclear(res);
		r = apply_one(c, m, sum);
		if (r == DB_OK)
			(*applied)++;
	}
	return r;
}

enum db_result db_migrate(struct db_pool *pool, int *applied)
{
	*applied = 0;
	struct db_conn *c = db_conn_acquire(pool);
	if (!c)
		return DB_UNAVAILABLE;
	enum db_result r = db_conn_unbounded(c) ? DB_OK : DB_UNAVAILABLE;
	if (r == DB_OK)
		r = db_exec(c, &stmt_lock, 0, NULL, NULL);
	if (r == DB_OK) {
		r = migrate_locked(c, applied);
		enum db_result u = db_exec(c, &stmt_unlock, 0, NULL, NULL);
		if (r == DB_OK)
			r = u;
	}
	db_conn_release(pool, c);
	return r;
}

/* The names of the embedded migrations as a PostgreSQL text[] literal; built
 * once, the list never changes while the process runs. */
static char names_array[8192];

static void build_names_array(void)
{
	size_t n = 0;
	names_array[n++] = '{';
	for (size_t i = 0; i < db_migrations_count && n + 64 < sizeof(names_array); i++)
		n += (size_t)snprintf(names_array + n, sizeof(names_array) - n, "%s\"%s\"",
				      i ? "," : "", db_migrations[i].name);
	names_array[n++] = '}';
	names_array[n] = '\0';
}

static const char *migration_names_array(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, build_names_array);
	return names_array;
}

enum db_result db_check_ready(struct db_pool *pool)
{
	PGresult *res;
	enum db_result r = db_query(pool, &stmt_table_exists, 0, NULL, &res);
	if (r != DB_OK)
		return r;
	bool exists = db_get_bool(res, 0, 0);
	PQclear(res);
	if (!exists)
		return DB_NOT_FOUND;
	const char *params[] = { migration_names_array() };
	r = db_query(pool, &stmt_count_applied, 1, params, &res);
	if (r != DB_OK)
		return r;
	size_t count = (size_t)db_get_int64(res, 0, 0);
	PQclear(res);
	return count == db_migrations_count ? DB_OK : DB_NOT_FOUND;
}
