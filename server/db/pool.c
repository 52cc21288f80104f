/* Connection pool. Owns a fixed set of libpq connections; each is used by one
 * thread at a time between db_conn_acquire and db_conn_release, guarded by one
 * mutex and condition variable. Statements are prepared lazily, once per
 * connection, and forgotten when the connection is re-opened.
 *
 * Failure handling: a connection found broken (on acquire, or by a statement)
 * is re-opened on its next acquire. Every wait on PostgreSQL is bounded:
 * opening a connection by connect_timeout, a statement by statement_timeout
 * (set on the connection) and, for a server that answers nothing at all
 * (frozen with SIGSTOP, a network cut), by this side giving up ANSWER_MARGIN_MS
 * later and dropping the connection. A failed connect or such a silence makes
 * the pool suspect the server: its idle connections are reopened before use
 * and only one thread at a time (RECONNECT_SPACING_MS apart) tries to connect
 * while the others fail at once, so while PostgreSQL is down or frozen
 * requests end quickly with 503 and the worker threads are not all stuck on
 * it; the first connection that opens ends the suspicion.
 *
 * Request transactions (db_conn_pin): a thread may pin one connection, inside
 * BEGIN, for the rest of a request. Until it is unpinned, every acquire of
 * that pool on that thread returns the pinned connection inside a SAVEPOINT
 * (released, or rolled back to when a statement failed, at its release), and
 * db_transaction runs its function inside such a savepoint instead of a
 * transaction of its own. So everything a handler writes commits, or
 * vanishes, together with what the pin's owner writes last (the recorded
 * response of an Idempotency-Key, idempotency_store.c). */
#include "db_internal.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "util/log.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define ACQUIRE_WAIT_MS 2000
#define RECONNECT_SPACING_MS 200
#define ANSWER_MARGIN_MS 1000
#define DEFAULT_CONNECT_TIMEOUT_S 2
#define DEFAULT_STATEMENT_TIMEOUT_MS 5000

struct db_conn {
	PGconn *pg;
	const struct db_stmt **prepared;
	size_t nprepared, prepared_cap;
	bool in_use;
	bool broken;
	bool unbounded; /* db_conn_unbounded: no statement_timeout until closed */
	struct db_pool *pool;
	char *wakes;	/* keys to publish once the transaction commits, or NULL */
	int savepoints; /* open savepoints of a pinned connection's users */
};

/* The calling thread's pinned connection (db_conn_pin), or NULL. */
static _Thread_local struct db_conn *pinned;

static const struct db_stmt stmt_savepoint = { "tx_savepoint", "SAVEPOINT runos_pin" };
static const struct db_stmt stmt_release_savepoint = { "tx_release_savepoint",
						       "RELEASE SAVEPOINT runos_pin" };
static const struct db_stmt stmt_rollback_savepoint = { "tx_rollback_savepoint",
							"ROLLBACK TO SAVEPOINT runos_pin" };

struct db_pool {
	char *conninfo;
	pthread_mutex_t lock;
	pthread_cond_t released;
	int size;
	int in_use;
	int waiting; /* threads waiting for a connection */
	int connect_timeout_s, statement_timeout_ms;
	bool suspect;	     /* a connect failed, or the server went silent */
	bool probing;	     /* while suspect: a thread is connecting */
	int64_t probe_at_ms; /* while suspect: no connect before */
	struct db_conn *conns;
	void (*publish_wakes)(void *arg, const char *keys);
	void *publish_arg;
};

static void quiet_notices(void *arg, const char *message)
{
	(void)arg;
	log_debug("postgres notice: %s", message);
}

static void conn_close(struct db_conn *c)
{
	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
	c->nprepared = 0;
}

static void trim_log_failure(const char *what, PGconn *pg)
{
	char *msg = PQerrorMessage(pg);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	log_warn("%s: %s", what, msg);
}

/* The server went silent (or the pool cannot reach it): idle connections are
 * reopened before use, and connects go one at a time. */
static void suspect_server(struct db_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	pool->suspect = true;
	pool->probe_at_ms = time_mono_ms() + RECONNECT_SPACING_MS;
	for (int i = 0; i < pool->size; i++)
		if (!pool->conns[i].in_use && pool->conns[i].pg)
			pool->conns[i].broken = true;
	pthread_mutex_unlock(&pool->lock);
}

/* The answer of the statement sent last, or NULL when there was none in
 * time: the connection is then shut down so that libpq sees it lost (status
 * CONNECTION_BAD, nothing pending) and the pool suspects the server. */
static PGresult *await_result(struct db_conn *c, const char *what)
{
	int timeout = c->unbounded ? -1 : c->pool->statement_timeout_ms + ANSWER_MARGIN_MS;
	int64_t deadline = time_mono_ms() + timeout;
	PGresult *kept = NULL;
	for (;;) {
		while (PQisBusy(c->pg)) {
			int64_t left = deadline - time_mono_ms();
			if (timeout >= 0 && left <= 0)
				goto silent;
			struct pollfd pfd = { .fd = PQsocket(c->pg), .events = POLLIN };
			int n = poll(&pfd, 1, timeout < 0 ? -1 : (int)left);
			if (n < 0 && errno != EINTR)
				goto silent;
			if (n > 0 && !PQconsumeInput(c->pg))
				break; /* lost: PQgetResult gives the error */
		}
		PGresult *res = PQgetResult(c->pg);
		if (!res)
			return kept;
		/* One statement, one result: keep the first error if any. */
		if (kept && PQresultStatus(kept) == PGRES_FATAL_ERROR) {
			PQclear(res);
		} else {
			PQclear(kept);
			kept = res;
		}
	}
silent:
	PQclear(kept);
	log_warn("database gave no answer to %s within %d ms; dropping the connection", what,
		 timeout);
	shutdown(PQsocket(c->pg), SHUT_RDWR);
	PQconsumeInput(c->pg);
	PGresult *res;
	while (!PQisBusy(c->pg) && (res = PQgetResult(c->pg)))
		PQclear(res);
	c->broken = true;
	suspect_server(c->pool);
	return NULL;
}

static bool conn_open(struct db_pool *pool, struct db_conn *c)
{
	/* Defaults first: values in the URL given by the operator override them.
	 * Keepalives find a peer gone while a connection is idle. */
	static const char *const keys[] = {
		"connect_timeout",     "application_name", "keepalives", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "dbname",	 NULL
	};
	char connect_timeout[16];
	snprintf(connect_timeout, sizeof(connect_timeout), "%d", pool->connect_timeout_s);
	const char *values[] = { connect_timeout, "runosd", "1", "10", "5", "3",
				 pool->conninfo,  NULL };

	conn_close(c);
	c->unbounded = false;
	c->pg = PQconnectdbParams(keys, values, 1);
	if (PQstatus(c->pg) != CONNECTION_OK) {
		trim_log_failure("database connection failed", c->pg);
		conn_close(c);
		return false;
	}
	PQsetNoticeProcessor(c->pg, quiet_notices, NULL);
	char set[64];
	snprintf(set, sizeof(set), "SET statement_timeout = %d", pool->statement_timeout_ms);
	PGresult *res = PQsendQuery(c->pg, set) ? await_result(c, "SET statement_timeout") : NULL;
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok && res)
		trim_log_failure("database connection set-up failed", c->pg);
	PQclear(res);
	if (!ok) {
		conn_close(c);
		return false;
	}
	c->broken = false;
	return true;
}

/* Whether this thread may open a connection now; *probe: it is the one
 * thread trying while the server is suspect. */
static bool may_connect(struct db_pool *pool, bool *probe)
{
	*probe = false;
	pthread_mutex_lock(&pool->lock);
	bool may = true;
	if (pool->suspect) {
		may = !pool->probing && time_mono_ms() >= pool->probe_at_ms;
		pool->probing |= may;
		*probe = may;
	}
	pthread_mutex_unlock(&pool->lock);
	return may;
}

static void connect_done(struct db_pool *pool, bool probe, bool opened)
{
	pthread_mutex_lock(&pool->lock);
	if (probe)
		pool->probing = false;
	if (opened) {
		pool->suspect = false;
	} else if (!pool->suspect || probe) {
		pool->suspect = true;
		pool->probe_at_ms = time_mono_ms() + RECONNECT_SPACING_MS;
	}
	pthread_mutex_unlock(&pool->lock);
}

/* A connection idle in the pool should have nothing to read. When it does,
 * the server has sent something (usually a termination notice before closing),
 * so consume it and look at the state. One poll(2) with no wait. */
static bool conn_still_good(struct db_conn *c)
{
	if (!c->pg || c->broken || PQstatus(c->pg) != CONNECTION_OK)
		return false;
	struct pollfd pfd = { .fd = PQsocket(c->pg), .events = POLLIN };
	if (poll(&pfd, 1, 0) > 0) {
		if (!PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK)
			return false;
		PGnotify *n;
		while ((n = PQnotifies(c->pg)))
			PQfreemem(n);
	}
	return PQtransactionStatus(c->pg) == PQTRANS_IDLE;
}

struct db_pool *db_pool_create(const char *conninfo, int size)
{
	struct db_pool *pool = xcalloc(1, sizeof(*pool));
	pool->conninfo = xstrdup(conninfo);
	pool->size = size;
	pool->connect_timeout_s = DEFAULT_CONNECT_TIMEOUT_S;
	pool->statement_timeout_ms = DEFAULT_STATEMENT_TIMEOUT_MS;
	pool->conns = xcalloc((size_t)size, sizeof(struct db_conn));
	for (int i = 0; i < size; i++)
		pool->conns[i].pool = pool;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->released, NULL);
	return pool;
}

void db_pool_set_timeouts(struct db_pool *pool, int connect_s, int statement_ms)
{
	pool->connect_timeout_s = connect_s;
	pool->statement_timeout_ms = statement_ms;
}

void db_pool_destroy(struct db_pool *pool)
{
	if (!pool)
		return;
	for (int i = 0; i < pool->size; i++) {
		conn_close(&pool->conns[i]);
		free(pool->conns[i].prepared);
		free(pool->conns[i].wakes);
	}
	free(pool->conns);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->released);
	free(pool->conninfo);
	free(pool);
}

bool db_pool_wait_ready(struct db_pool *pool, int wait_seconds)
{
	int64_t deadline = time_mono_ms() + (int64_t)wait_seconds * 1000;
	for (;;) {
		struct db_conn *c = db_conn_acquire(pool);
		if (c) {
			db_conn_release(pool, c);
			return true;
		}
		if (time_mono_ms() >= deadline)
			return false;
		struct timespec pause = { 0, 500 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
}

static struct db_conn *take_free(struct db_pool *pool)
{
	/* Prefer a connection that is open, so a pool that is not fully used
	 * does not open connections it does not need. */
	struct db_conn *fallback = NULL;
	for (int i = 0; i < pool->size; i++) {
		struct db_conn *c = &pool->conns[i];
		if (c->in_use)
			continue;
		if (c->pg && !c->broken)
			return c;
		if (!fallback)
			fallback = c;
	}
	return fallback;
}

/* A user of the pinned connection: a savepoint of its own, so that a failed
 * statement of one user does not abort the whole request transaction. */
static struct db_conn *pinned_enter(struct db_conn *c)
{
	if (db_exec(c, &stmt_savepoint, 0, NULL, NULL) != DB_OK)
		return NULL;
	c->savepoints++;
	return c;
}

/* Ends the innermost savepoint: kept (released) when keep and no statement
 * failed in it, else rolled back to first. */
static void pinned_leave(struct db_conn *c, bool keep)
{
	c->savepoints--;
	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK)
		return;
	/* A failure here leaves the transaction aborted: the request's end
	 * sees it (db_conn_unpin). */
	if ((!keep || PQtransactionStatus(c->pg) == PQTRANS_INERROR) &&
	    db_exec(c, &stmt_rollback_savepoint, 0, NULL, NULL) != DB_OK)
		return;
	if (db_exec(c, &stmt_release_savepoint, 0, NULL, NULL) != DB_OK)
		return;
}

struct db_conn *db_conn_acquire(struct db_pool *pool)
{
	if (pinned && pinned->pool == pool)
		return pinned_enter(pinned);
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += ACQUIRE_WAIT_MS / 1000;

	pthread_mutex_lock(&pool->lock);
	struct db_conn *c;
	while (!(c = take_free(pool))) {
		pool->waiting++;
		int waited = pthread_cond_timedwait(&pool->released, &pool->lock, &deadline);
		pool->waiting--;
		if (waited == ETIMEDOUT) {
			pthread_mutex_unlock(&pool->lock);
			log_warn("database pool exhausted: all %d connections busy for %d ms",
				 pool->size, ACQUIRE_WAIT_MS);
			return NULL;
		}
	}
	c->in_use = true;
	pool->in_use++;
	pthread_mutex_unlock(&pool->lock);

	if (conn_still_good(c))
		return c;

	bool probe;
	if (may_connect(pool, &probe)) {
		bool opened = conn_open(pool, c);
		connect_done(pool, probe, opened);
		if (opened)
			return c;
	}
	db_conn_release(pool, c);
	return NULL;
}

void db_conn_release(struct db_pool *pool, struct db_conn *c)
{
	if (!c)
		return;
	if (c == pinned && c->savepoints > 0) {
		pinned_leave(c, true);
		return;
	}
	PGTransactionStatusType state = c->pg ? PQtransactionStatus(c->pg) : PQTRANS_IDLE;
	if (c->unbounded) {
		/* Back to the pool's bounds: reopened when next taken. */
		c->broken = true;
	} else if (state == PQTRANS_UNKNOWN) {
		/* The connection died (the server went away): reopened when next
		 * taken; the failure was reported where it happened. */
		c->broken = true;
	} else if (state != PQTRANS_IDLE) {
		/* A caller left a transaction open: never hand that to another. */
		log_error("database connection released inside a transaction; closing it");
		c->broken = true;
	}
	pthread_mutex_lock(&pool->lock);
	c->in_use = false;
	pool->in_use--;
	pthread_cond_signal(&pool->released);
	pthread_mutex_unlock(&pool->lock);
}

PGconn *db_conn_pg(struct db_conn *c)
{
	return c->pg;
}

bool db_conn_unbounded(struct db_conn *c)
{
	PGresult *res = PQsendQuery(c->pg, "SET statement_timeout = 0")
				? await_result(c, "SET statement_timeout = 0")
				: NULL;
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	c->unbounded = ok;
	return ok;
}

void db_pool_stats(struct db_pool *pool, struct db_pool_stats *out)
{
	pthread_mutex_lock(&pool->lock);
	out->size = pool->size;
	out->in_use = pool->in_use;
	out->waiting = pool->waiting;
	out->connected = 0;
	for (int i = 0; i < pool->size; i++)
		out->connected += pool->conns[i].pg && !pool->conns[i].broken;
	pthread_mutex_unlock(&pool->lock);
}

static bool is_prepared(struct db_conn *c, const struct db_stmt *stmt)
{
	for (size_t i = 0; i < c->nprepared; i++)
		if (c->prepared[i] == stmt)
			return true;
	return false;
}

static enum db_result classify(struct db_conn *c, const struct db_stmt *stmt, PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (state && strcmp(state, "57014") == 0) {
		/* statement_timeout (or a cancel): the connection stays good. */
		log_warn("database statement %s cancelled after statement_timeout %d ms",
			 stmt->name, c->pool->statement_timeout_ms);
		return DB_UNAVAILABLE;
	}
	if (PQstatus(c->pg) != CONNECTION_OK || !state || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0) {
		c->broken = true;
		log_warn("database unavailable during %s: %s", stmt->name,
			 state ? state : "connection lost");
		return DB_UNAVAILABLE;
	}
	if (strcmp(state, "23505") == 0)
		return DB_CONFLICT;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return DB_RETRY;
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	log_error("database error in %s: SQLSTATE %s: %s", stmt->name, state, msg ? msg : "");
	return DB_ERROR;
}

enum db_result db_exec(struct db_conn *c, const struct db_stmt *stmt, int nparams,
		       const char *const *params, PGresult **res_out)
{
	if (res_out)
		*res_out = NULL;
	if (!is_prepared(c, stmt)) {
		PGresult *prep = PQsendPrepare(c->pg, stmt->name, stmt->sql, 0, NULL)
					 ? await_result(c, stmt->name)
					 : NULL;
		if (PQresultStatus(prep) != PGRES_COMMAND_OK) {
			enum db_result r = classify(c, stmt, prep);
			PQclear(prep);
			return r;
		}
		PQclear(prep);
		if (c->nprepared == c->prepared_cap) {
			c->prepared_cap = c->prepared_cap ? 2 * c->prepared_cap : 32;
			c->prepared = xrealloc(c->prepared, c->prepared_cap * sizeof(*c->prepared));
		}
		c->prepared[c->nprepared++] = stmt;
	}

	PGresult *res = PQsendQueryPrepared(c->pg, stmt->name, nparams, params, NULL, NULL, 0)
				? await_result(c, stmt->name)
				: NULL;
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		if (res_out)
			*res_out = res;
		else
			PQclear(res);
		return DB_OK;
	}
	enum db_result r = classify(c, stmt, res);
	PQclear(res);
	return r;
}

enum db_result db_query(struct db_pool *pool, const struct db_stmt *stmt, int nparams,
			const char *const *params, PGresult **res)
{
	struct db_conn *c = db_conn_acquire(pool);
	if (!c) {
		if (res)
			*res = NULL;
		return DB_UNAVAILABLE;
	}
	enum db_result r = db_exec(c, stmt, nparams, params, res);
	db_conn_release(pool, c);
	return r;
}

static const struct db_stmt stmt_begin = { "tx_begin", "BEGIN" };
static const struct db_stmt stmt_commit = { "tx_commit", "COMMIT" };
static const struct db_stmt stmt_rollback = { "tx_rollback", "ROLLBACK" };

/* Forgets the wake-up keys queued after the first kept characters. */
static void drop_wakes_after(struct db_conn *c, size_t kept)
{
	if (!c->wakes || strlen(c->wakes) <= kept)
		return;
	if (kept == 0) {
		free(c->wakes);
		c->wakes = NULL;
	} else {
		c->wakes[kept] = '\0';
	}
}

/* db_transaction inside the request transaction: fn runs in the savepoint
 * db_conn_acquire opened, run again from it on DB_RETRY; its wake-ups wait
 * for the request transaction's commit. */
static enum db_result pinned_transaction(struct db_conn *c, db_tx_fn fn, void *arg)
{
	/* The wake-ups of an attempt rolled back to the savepoint go with it. */
	size_t kept = c->wakes ? strlen(c->wakes) : 0;
	enum db_result r = DB_ERROR;
	for (int attempt = 0; attempt < 5; attempt++) {
		r = fn(c, arg);
		if (r != DB_OK)
			drop_wakes_after(c, kept);
		if (r != DB_RETRY || PQstatus(c->pg) != CONNECTION_OK ||
		    db_exec(c, &stmt_rollback_savepoint, 0, NULL, NULL) != DB_OK)
			break;
	}
	pinned_leave(c, r == DB_OK);
	return r;
}

enum db_result db_transaction(struct db_pool *pool, db_tx_fn fn, void *arg)
{
	struct db_conn *c = db_conn_acquire(pool);
	if (!c)
		return DB_UNAVAILABLE;
	if (c == pinned)
		return pinned_transaction(c, fn, arg);

	enum db_result r = DB_ERROR;
	for (int attempt = 0; attempt < 5; attempt++) {
		free(c->wakes);
		c->wakes = NULL;
		r = db_exec(c, &stmt_begin, 0, NULL, NULL);
		if (r != DB_OK)
			break;
		r = fn(c, arg);
		if (r == DB_OK)
			r = db_exec(c, &stmt_commit, 0, NULL, NULL);
		if (r == DB_OK)
			break;
		if (PQstatus(c->pg) == CONNECTION_OK &&
		    PQtransactionStatus(c->pg) != PQTRANS_IDLE &&
		    db_exec(c, &stmt_rollback, 0, NULL, NULL) != DB_OK)
			break;
		if (r != DB_RETRY)
			break;
	}
	char *wakes = c->wakes;
	c->wakes = NULL;
	db_conn_release(pool, c);
	void (*publish)(void *arg, const char *keys) = pool->publish_wakes;
	if (wakes && r == DB_OK && publish)
		publish(pool->publish_arg, wakes);
	free(wakes);
	return r;
}

enum db_result db_conn_begin(struct db_conn *c)
{
	free(c->wakes);
	c->wakes = NULL;
	return db_exec(c, &stmt_begin, 0, NULL, NULL);
}

void db_conn_pin(struct db_conn *c)
{
	c->savepoints = 0;
	pinned = c;
}

struct db_conn *db_conn_pinned(struct db_pool *pool)
{
	return pinned && pinned->pool == pool ? pinned : NULL;
}

enum db_result db_conn_unpin(struct db_pool *pool, bool commit)
{
	struct db_conn *c = db_conn_pinned(pool);
	if (!c)
		return DB_ERROR;
	pinned = NULL;
	enum db_result r = DB_UNAVAILABLE;
	if (c->pg && PQstatus(c->pg) == CONNECTION_OK) {
		PGTransactionStatusType state = PQtransactionStatus(c->pg);
		if (commit && state == PQTRANS_INTRANS) {
			r = db_exec(c, &stmt_commit, 0, NULL, NULL);
		} else {
			/* A statement failed outside any savepoint: nothing of the
			 * request stays. */
			r = !commit ? DB_OK : state == PQTRANS_INERROR ? DB_CONFLICT : DB_ERROR;
			if (state != PQTRANS_IDLE &&
			    db_exec(c, &stmt_rollback, 0, NULL, NULL) != DB_OK)
				c->broken = true;
		}
	}
	char *wakes = c->wakes;
	c->wakes = NULL;
	db_conn_release(pool, c);
	if (wakes && commit && r == DB_OK && pool->publish_wakes)
		pool->publish_wakes(pool->publish_arg, wakes);
	free(wakes);
	return r;
}

void db_pool_set_wake_publisher(struct db_pool *pool, void (*publish)(void *arg, const char *keys),
				void *arg)
{
	pool->publish_wakes = publish;
	pool->publish_arg = arg;
}

bool db_conn_publishes_wakes(const struct db_conn *c)
{
	return c->pool->publish_wakes != NULL;
}

void db_conn_wake_after_commit(struct db_conn *c, const char *keys)
{
	if (!c->wakes) {
		c->wakes = xstrdup(keys);
		return;
	}
	char *both = xmalloc(strlen(c->wakes) + strlen(keys) + 2);
	sprintf(both, "%s %s", c->wakes, keys);
	free(c->wakes);
	c->wakes = both;
}
