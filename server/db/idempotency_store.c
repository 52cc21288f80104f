/* SQL for idempotency keys (see include/db/idempotency_store.h). */
#include "db/idempotency_store.h"

#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "util/xmalloc.h"

/* A new claim, or taking over an expired or abandoned one, in one statement. */
static const struct db_stmt stmt_claim = {
	"idempotency_claim",
	"INSERT INTO idempotency_keys AS k (scope, key, request_hash) VALUES ($1, $2, $3)"
	" ON CONFLICT (scope, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,"
	" state = 'in_flight', status = NULL, content_type = NULL, body = NULL, created_at = now(),"
	" expires_at = now() + interval '24 hours'"
	" WHERE k.expires_at <= now() OR (k.state = 'in_flight' AND k.request_hash ="
	" EXCLUDED.request_hash AND k.created_at < now() - $4::int * interval '1 second')"
	" RETURNING 1"
};
static const struct db_stmt stmt_read = { "idempotency_read",
					  "SELECT state, request_hash = $3, coalesce(status, 0),"
					  " coalesce(content_type, ''), body FROM idempotency_keys"
					  " WHERE scope = $1 AND key = $2" };
static const struct db_stmt stmt_finish = {
	"idempotency_finish",
	"UPDATE idempotency_keys SET state = 'done', status = $3, content_type = $4, body = $5"
	" WHERE scope = $1 AND key = $2 AND state = 'in_flight'"
};
static const struct db_stmt stmt_release = {
	"idempotency_release",
	"DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND state = 'in_flight'"
};

enum db_result db_idempotency_begin(struct db_pool *db, const char *scope, const char *key,
				    const uint8_t hash[CRYPTO_SHA256_LEN],
				    enum idempotency_state *state, struct idempotent_response *out)
{
	memset(out, 0, sizeof(*out));
	char hash_buf[DB_HASH_PARAM_LEN], abandoned_buf[24];
	const char *params[] = { scope, key, db_bytea_param(hash, CRYPTO_SHA256_LEN, hash_buf),
				 db_int64_param(IDEMPOTENCY_ABANDONED_SECONDS, abandoned_buf) };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_claim, 4, params, &res);
	if (r != DB_OK)
		return r;
	bool claimed = PQntuples(res) == 1;
	PQclear(res);
	if (claimed) {
		*state = IDEMPOTENCY_NEW;
		return DB_OK;
	}
	if ((r = db_query(db, &stmt_read, 3, params, &res)) != DB_OK)
		return r;
	if (PQntuples(res) != 1) {
		/* Released between the two statements: the caller may try again. */
		PQclear(res);
		*state = IDEMPOTENCY_IN_FLIGHT;
		return DB_OK;
	}
	bool done = strcmp(PQgetvalue(res, 0, 0), "done") == 0;
	bool same = db_get_bool(res, 0, 1);
	if (!same)
		*state = IDEMPOTENCY_MISMATCH;
	else if (!done)
		*state = IDEMPOTENCY_IN_FLIGHT;
	else {
		*state = IDEMPOTENCY_REPLAY;
		out->status = (int)db_get_int64(res, 0, 2);
		db_get_text(res, 0, 3, out->content_type, sizeof(out->content_type));
		out->body = PQgetisnull(res, 0, 4) ? NULL : xstrdup(PQgetvalue(res, 0, 4));
	}
	PQclear(res);
	return DB_OK;
}

enum db_result db_idempotency_finish(struct db_pool *db, const char *scope, const char *key,
				     int status, const char *content_type, const char *body)
{
	char status_buf[24];
	const char *params[] = { scope, key, db_int64_param(status, status_buf),
				 content_type ? content_type : "", body };
	return db_query(db, &stmt_finish, 5, params, NULL);
}

enum db_result db_idempotency_release(struct db_pool *db, const char *scope, const char *key)
{
	const char *params[] = { scope, key };
	return db_query(db, &stmt_release, 2, params, NULL);
}
