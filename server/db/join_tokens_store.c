/* SQL for join tokens (see include/db/join_tokens_store.h). */
#include "db/join_tokens_store.h"

#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "util/xmalloc.h"

/* clang-format off */
#define TOKEN_COLUMNS \
	"id, aid, cid, prefix, role, max_uses, uses, created_by, " \
	DB_US("expires_at") ", " DB_US("created_at")
/* Usable: what the installer shows and registration consumes. */
#define TOKEN_USABLE "revoked_at IS NULL AND expires_at > now() AND uses < max_uses"
/* clang-format on */

/* Inserting through the cluster row: a cluster of another account, or one
 * deleted meanwhile, inserts nothing (DB_NOT_FOUND) instead of breaking the
 * foreign key. */
static const struct db_stmt stmt_insert = {
	"join_tokens_insert",
	"INSERT INTO join_tokens (id, aid, cid, token_hash, prefix, role, max_uses, expires_at,"
	" created_by) SELECT $1, aid, cid, $4, $5, $6, $7, " DB_TS(
		"$8") ", $9"
		      " FROM clusters WHERE aid = $2 AND cid = $3 RETURNING " TOKEN_COLUMNS
};
static const struct db_stmt stmt_list = { "join_tokens_list",
					  "SELECT " TOKEN_COLUMNS
					  " FROM join_tokens WHERE aid = $1 AND cid = $2"
					  " AND revoked_at IS NULL AND (created_at, id) > (" DB_TS(
						  "$3") ", $4::uuid)"
							" ORDER BY created_at, id LIMIT $5" };
static const struct db_stmt stmt_revoke = {
	"join_tokens_revoke",
	"UPDATE join_tokens SET revoked_at = now(), version = version + 1"
	" WHERE aid = $1 AND cid = $2 AND id = $3 AND revoked_at IS NULL RETURNING id"
};
static const struct db_stmt stmt_peek = {
	"join_tokens_peek",
	"SELECT " TOKEN_COLUMNS " FROM join_tokens WHERE token_hash = $1 AND " TOKEN_USABLE
};
/* One statement: under READ COMMITTED a concurrent UPDATE of the same row
 * makes this one wait, then re-check the whole WHERE clause on the new row
 * version, so the last use of a token goes to exactly one caller. */
static const struct db_stmt stmt_consume = {
	"join_tokens_consume",
	"UPDATE join_tokens SET uses = uses + 1, version = version + 1"
	" WHERE token_hash = $1 AND " TOKEN_USABLE " RETURNING " TOKEN_COLUMNS
};

static const char first_uuid[] = "00000000-0000-0000-0000-000000000000";

static void read_token(const PGresult *res, int row, struct join_token *out)
{
	db_get_text(res, row, 0, out->id, sizeof(out->id));
	db_get_text(res, row, 1, out->aid, sizeof(out->aid));
	db_get_text(res, row, 2, out->cid, sizeof(out->cid));
	db_get_text(res, row, 3, out->prefix, sizeof(out->prefix));
	db_get_text(res, row, 4, out->role, sizeof(out->role));
	out->max_uses = (int)db_get_int64(res, row, 5);
	out->uses = (int)db_get_int64(res, row, 6);
	db_get_text(res, row, 7, out->created_by, sizeof(out->created_by));
	out->expires_us = db_get_int64(res, row, 8);
	out->created_us = db_get_int64(res, row, 9);
}

/* Takes the result by address: the call that fills it is an argument too. */
static enum db_result one_token(enum db_result r, PGresult **resp, struct join_token *out)
{
	if (r != DB_OK)
		return r;
	PGresult *res = *resp;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	if (r == DB_OK)
		read_token(res, 0, out);
	PQclear(res);
	return r;
}

struct create_args {
	struct join_token *tok;
	const uint8_t *hash;
	const struct audit_actor *actor;
};

static enum db_result create_tx(struct db_conn *c, void *arg)
{
	struct create_args *a = arg;
	struct join_token *t = a->tok;
	char hash_buf[DB_HASH_PARAM_LEN], uses_buf[24], expires_buf[24];
	const char *params[] = { t->id,
				 t->aid,
				 t->cid,
				 db_bytea_param(a->hash, CRYPTO_SHA256_LEN, hash_buf),
				 t->prefix,
				 t->role,
				 db_int64_param(t->max_uses, uses_buf),
				 db_int64_param(t->expires_us, expires_buf),
				 t->created_by };
	PGresult *res;
	enum db_result r = one_token(db_exec(c, &stmt_insert, 9, params, &res), &res, t);
	if (r == DB_OK)
		r = db_audit_insert(c, t->aid, a->actor, "join_token.create", "join_token", t->id);
	return r;
}

enum db_result db_join_tokens_create(struct db_pool *db, struct join_token *tok,
				     const uint8_t hash[CRYPTO_SHA256_LEN],
				     const struct audit_actor *actor)
{
	struct create_args args = { tok, hash, actor };
	return db_transaction(db, create_tx, &args);
}

enum db_result db_join_tokens_list(struct db_pool *db, const char *aid, const char *cid,
				   int64_t after_us, const char *after_id, int limit,
				   struct join_token **out, size_t *n)
{
	char after_buf[24], limit_buf[24];
	const char *params[] = { aid, cid, db_int64_param(after_us, after_buf),
				 after_id && *after_id ? after_id : first_uuid,
				 db_int64_param(limit, limit_buf) };
	PGresult *res;
	*out = NULL;
	*n = 0;
	enum db_result r = db_query(db, &stmt_list, 5, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows, sizeof(**out));
	for (int i = 0; i < rows; i++)
		read_token(res, i, &(*out)[i]);
	*n = (size_t)rows;
	PQclear(res);
	return DB_OK;
}

struct revoke_args {
	const char *aid, *cid, *id;
	const struct audit_actor *actor;
};

static enum db_result revoke_tx(struct db_conn *c, void *arg)
{
	struct revoke_args *a = arg;
	const char *params[] = { a->aid, a->cid, a->id };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_revoke, 3, params, &res);
	if (r != DB_OK)
		return r;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	PQclear(res);
	if (r == DB_OK)
		r = db_audit_insert(c, a->aid, a->actor, "join_token.revoke", "join_token", a->id);
	return r;
}

enum db_result db_join_tokens_revoke(struct db_pool *db, const char *aid, const char *cid,
				     const char *id, const struct audit_actor *actor)
{
	struct revoke_args args = { aid, cid, id, actor };
	return db_transaction(db, revoke_tx, &args);
}

enum db_result db_join_tokens_peek(struct db_pool *db, const uint8_t hash[CRYPTO_SHA256_LEN],
				   struct join_token *out)
{
	char hash_buf[DB_HASH_PARAM_LEN];
	const char *params[] = { db_bytea_param(hash, CRYPTO_SHA256_LEN, hash_buf) };
	PGresult *res;
	return one_token(db_query(db, &stmt_peek, 1, params, &res), &res, out);
}

enum db_result db_join_token_consume(struct db_conn *c, const uint8_t hash[32],
				     struct join_token *out)
{
	char hash_buf[DB_HASH_PARAM_LEN];
	const char *params[] = { db_bytea_param(hash, CRYPTO_SHA256_LEN, hash_buf) };
	PGresult *res;
	return one_token(db_exec(c, &stmt_consume, 1, params, &res), &res, out);
}

enum db_result db_join_tokens_consume(struct db_pool *db, const uint8_t hash[CRYPTO_SHA256_LEN],
				      struct join_token *out)
{
	char hash_buf[DB_HASH_PARAM_LEN];
	const char *params[] = { db_bytea_param(hash, CRYPTO_SHA256_LEN, hash_buf) };
	PGresult *res;
	return one_token(db_query(db, &stmt_consume, 1, params, &res), &res, out);
}
