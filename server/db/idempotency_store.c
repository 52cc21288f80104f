/* SQL for idempotency keys (see include/db/idempotency_store.h).
 *
 * A claim is a request transaction (pool.c): the connection that checked
 * the key stays in BEGIN, pinned to the request's thread, holding a
 * transaction-level advisory lock on the key, and everything the handler
 * writes joins that transaction; the response is recorded in it just before
 * COMMIT. So the change and the key's record commit together or not at all:
 * a server killed mid-request leaves neither (PostgreSQL rolls back the
 * transaction and frees the lock as the connection drops), and a retry runs
 * once, at once; one killed after the commit leaves both, and a retry gets
 * the recorded answer. A repeat while the first runs finds the lock taken:
 * 409. The lock is taken before the record is read, in two statements, so
 * that the read sees what the lock's previous holder committed. */
#include "db/idempotency_store.h"

#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "util/xmalloc.h"

static const struct db_stmt stmt_lock = {
	"idempotency_lock", "SELECT pg_try_advisory_xact_lock(hashtextextended($1 || ' ' || $2, 0))"
};
/* Claims in flight (state in_flight) are written only by servers before
 * request transactions; one older than $4 seconds is abandoned. */
static const struct db_stmt stmt_read = {
	"idempotency_read",
	"SELECT state, request_hash = $3, coalesce(status, 0), coalesce(content_type, ''), body,"
	" created_at < now() - $4::int * interval '1 second' FROM idempotency_keys"
	" WHERE scope = $1 AND key = $2 AND expires_at > now()"
};
static const struct db_stmt stmt_record = {
	"idempotency_record",
	"INSERT INTO idempotency_keys AS k (scope, key, request_hash, state, status, content_type,"
	" body) VALUES ($1, $2, $3, 'done', $4, $5, $6) ON CONFLICT (scope, key) DO UPDATE SET"
	" request_hash = EXCLUDED.request_hash, state = 'done', status = EXCLUDED.status,"
	" content_type = EXCLUDED.content_type, body = EXCLUDED.body, created_at = now(),"
	" expires_at = now() + interval '24 hours'"
};
static const struct db_stmt stmt_rollback = { "idempotency_rollback", "ROLLBACK" };

/* What the record of the key says, read under its lock. */
static enum db_result read_record(struct db_conn *c, const char *const *params,
				  enum idempotency_state *state, struct idempotent_response *out)
{
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_read, 4, params, &res);
	if (r != DB_OK)
		return r;
	*state = IDEMPOTENCY_NEW;
	if (PQntuples(res) == 1) {
		bool done = strcmp(PQgetvalue(res, 0, 0), "done") == 0;
		bool same = db_get_bool(res, 0, 1);
		bool abandoned = db_get_bool(res, 0, 5);
		if (!same)
			*state = IDEMPOTENCY_MISMATCH;
		else if (!done && !abandoned)
			*state = IDEMPOTENCY_IN_FLIGHT;
		else if (done) {
			*state = IDEMPOTENCY_REPLAY;
			out->status = (int)db_get_int64(res, 0, 2);
			db_get_text(res, 0, 3, out->content_type, sizeof(out->content_type));
			out->body = PQgetisnull(res, 0, 4) ? NULL : xstrdup(PQgetvalue(res, 0, 4));
		}
	}
	PQclear(res);
	return DB_OK;
}

enum db_result db_idempotency_begin(struct db_pool *db, const char *scope, const char *key,
				    const uint8_t hash[CRYPTO_SHA256_LEN],
				    enum idempotency_state *state, struct idempotent_response *out)
{
	memset(out, 0, sizeof(*out));
	char hash_buf[DB_HASH_PARAM_LEN], abandoned_buf[24];
	const char *params[] = { scope, key, db_bytea_param(hash, CRYPTO_SHA256_LEN, hash_buf),
				 db_int64_param(IDEMPOTENCY_ABANDONED_SECONDS, abandoned_buf) };
	struct db_conn *c = db_conn_acquire(db);
	if (!c)
		return DB_UNAVAILABLE;
	PGresult *res;
	enum db_result r = db_conn_begin(c);
	if (r == DB_OK)
		r = db_exec(c, &stmt_lock, 2, params, &res);
	if (r == DB_OK) {
		bool locked = db_get_bool(res, 0, 0);
		PQclear(res);
		if (locked)
			r = read_record(c, params, state, out);
		else
			*state = IDEMPOTENCY_IN_FLIGHT;
	}
	if (r == DB_OK && *state == IDEMPOTENCY_NEW) {
		db_conn_pin(c);
		return DB_OK;
	}
	if (PQtransactionStatus(db_conn_pg(c)) != PQTRANS_IDLE &&
	    db_exec(c, &stmt_rollback, 0, NULL, NULL) != DB_OK && r == DB_OK)
		r = DB_UNAVAILABLE;
	db_conn_release(db, c);
	if (r != DB_OK) {
		free(out->body);
		out->body = NULL;
	}
	return r;
}

enum db_result db_idempotency_finish(struct db_pool *db, const char *scope, const char *key,
				     const uint8_t hash[CRYPTO_SHA256_LEN], int status,
				     const char *content_type, const char *body)
{
	struct db_conn *c = db_conn_pinned(db);
	if (!c)
		return DB_ERROR;
	char hash_buf[DB_HASH_PARAM_LEN], status_buf[24];
	const char *params[] = { scope,
				 key,
				 db_bytea_param(hash, CRYPTO_SHA256_LEN, hash_buf),
				 db_int64_param(status, status_buf),
				 content_type ? content_type : "",
				 body };
	/* Only into a transaction that is still whole: after a failed statement
	 * the change is lost, and so must the record be (db_conn_unpin says so). */
	if (PQtransactionStatus(db_conn_pg(c)) == PQTRANS_INTRANS) {
		enum db_result r = db_exec(c, &stmt_record, 6, params, NULL);
		if (r != DB_OK) {
			(void)db_conn_unpin(db, false);
			return r;
		}
	}
	return db_conn_unpin(db, true);
}

enum db_result db_idempotency_release(struct db_pool *db)
{
	return db_conn_unpin(db, false);
}
