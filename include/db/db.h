/* Database access shared by every store: the connection pool and the result
 * codes callers branch on. Only server/db/ includes libpq; other modules see
 * these types and the store functions of include/db/<resource>_store.h. */
#ifndef RUNOSD_DB_DB_H
#define RUNOSD_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum db_result {
	DB_OK,
	DB_NOT_FOUND,
	DB_CONFLICT,	/* unique violation, or a precondition (version) failed */
	DB_RETRY,	/* serialization failure or deadlock: safe to run again */
	DB_UNAVAILABLE, /* no connection to PostgreSQL: answer 503 */
	DB_ERROR,	/* anything else; already logged */
};

struct db_pool;

/* Creates a pool of size connections to conninfo (URI or key=value string).
 * Connections are opened lazily and re-opened by themselves after failures.
 * Thread safe once created. */
struct db_pool *db_pool_create(const char *conninfo, int size);
void db_pool_destroy(struct db_pool *pool);

/* Bounds on waiting for PostgreSQL (defaults 2 s and 5000 ms; set before the
 * pool is used): connect_s for opening a connection (libpq connect_timeout),
 * statement_ms as every connection's statement_timeout. A statement that has
 * no answer statement_ms + 1 s after it was sent (a frozen or unreachable
 * server) drops its connection and fails with DB_UNAVAILABLE; so does one
 * cancelled by statement_timeout. After such a silence, or a connection that
 * could not be opened, the pool suspects the server: its idle connections are
 * reopened, and only one thread at a time tries to connect (the others fail
 * at once with DB_UNAVAILABLE) until a connection opens again. */
void db_pool_set_timeouts(struct db_pool *pool, int connect_s, int statement_ms);

/* Work wake-ups: by default the transaction that queues a step's instructions
 * wakes their nodes with a NOTIFY on runos_work. With a publisher, their keys
 * ("aid/nid" separated by spaces) go to publish(arg, keys) instead, after that
 * transaction has committed (never for one rolled back), on the thread that
 * ran it. Set before the pool is used. */
void db_pool_set_wake_publisher(struct db_pool *pool, void (*publish)(void *arg, const char *keys),
				void *arg);

/* Tries to open one connection until it succeeds or wait_seconds pass. */
bool db_pool_wait_ready(struct db_pool *pool, int wait_seconds) __attribute__((warn_unused_result));

struct db_pool_stats {
	int size, in_use, connected, waiting;
};
void db_pool_stats(struct db_pool *pool, struct db_pool_stats *out);

/* The database answers and every embedded migration is applied. */
enum db_result db_check_ready(struct db_pool *pool) __attribute__((warn_unused_result));

#endif
