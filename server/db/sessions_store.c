/* SQL for login sessions (see include/db/sessions_store.h). */
#include "db/sessions_store.h"

#include "db_internal.h"
#include "idalloc/ids.h"

static const struct db_stmt stmt_insert = {
	"sessions_insert",
	"INSERT INTO sessions (id, uid, token_hash, expires_at) VALUES ($1, $2, $3, " DB_TS("$4") ")"
};
static const struct db_stmt stmt_revoke = {
	"sessions_revoke",
	"UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL"
};

enum db_result db_sessions_insert(struct db_conn *c, const char *uid, const uint8_t hash[32],
				  int64_t expires_us)
{
	char id[IDALLOC_UUID_LEN + 1], hash_buf[DB_HASH_PARAM_LEN], expires_buf[24];
	idalloc_uuid(id);
	const char *params[] = { id, uid, db_bytea_param(hash, 32, hash_buf),
				 db_int64_param(expires_us, expires_buf) };
	return db_exec(c, &stmt_insert, 4, params, NULL);
}

enum db_result db_sessions_create(struct db_pool *db, const char *uid,
				  const uint8_t hash[CRYPTO_SHA256_LEN], int64_t expires_us)
{
	struct db_conn *c = db_conn_acquire(db);
	if (!c)
		return DB_UNAVAILABLE;
	enum db_result r = db_sessions_insert(c, uid, hash, expires_us);
	db_conn_release(db, c);
	return r;
}

enum db_result db_sessions_revoke(struct db_pool *db, const uint8_t hash[CRYPTO_SHA256_LEN])
{
	char hash_buf[DB_HASH_PARAM_LEN];
	const char *params[] = { db_bytea_param(hash, CRYPTO_SHA256_LEN, hash_buf) };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_revoke, 1, params, &res);
	if (r != DB_OK)
		return r;
	r = PQcmdTuples(res)[0] == '1' ? DB_OK : DB_NOT_FOUND;
	PQclear(res);
	return r;
}
