/* SQL for personal access tokens (see include/db/api_keys_store.h). */
#include "auth/roles.h"
#include "db/api_keys_store.h"

#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "util/xmalloc.h"

#define KEY_COLUMNS                                                                                \
	"id, aid, name, prefix, role, created_by, version, " DB_US("created_at") ", " DB_US(       \
		"expires_at")

static const struct db_stmt stmt_insert = {
	"api_keys_insert",
	"INSERT INTO api_keys (id, aid, created_by, name, prefix, token_hash, role, expires_at)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, " DB_TS("$8") ") RETURNING " KEY_COLUMNS
};
static const struct db_stmt stmt_list = {
	"api_keys_list",
	"SELECT " KEY_COLUMNS " FROM api_keys WHERE aid = $1 AND revoked_at IS NULL"
	" AND (created_at, id) > (" DB_TS("$2") ", $3::uuid)"
						" ORDER BY created_at, id LIMIT $4"
};
static const struct db_stmt stmt_get = {
	"api_keys_get",
	"SELECT " KEY_COLUMNS " FROM api_keys WHERE aid = $1 AND id = $2 AND revoked_at IS NULL"
};
static const struct db_stmt stmt_rename = {
	"api_keys_rename",
	"UPDATE api_keys SET name = $3, version = version + 1"
	" WHERE aid = $1 AND id = $2 AND revoked_at IS NULL AND ($4::int IS NULL OR version = $4)"
	" RETURNING " KEY_COLUMNS
};
static const struct db_stmt stmt_revoke = {
	"api_keys_revoke",
	"UPDATE api_keys SET revoked_at = now(), version = version + 1"
	" WHERE aid = $1 AND id = $2 AND revoked_at IS NULL AND ($3::int IS NULL OR version = $3)"
	" RETURNING token_hash"
};

/* The lowest uuid: the cursor of a list's first page. */
static const char first_uuid[] = "00000000-0000-0000-0000-000000000000";

static void read_key(const PGresult *res, int row, struct api_key *out)
{
	db_get_text(res, row, 0, out->id, sizeof(out->id));
	db_get_text(res, row, 1, out->aid, sizeof(out->aid));
	db_get_text(res, row, 2, out->name, sizeof(out->name));
	db_get_text(res, row, 3, out->prefix, sizeof(out->prefix));
	if (!auth_role_parse(PQgetvalue(res, row, 4), &out->role))
		out->role = ROLE_NONE;
	db_get_text(res, row, 5, out->created_by, sizeof(out->created_by));
	out->version = (int)db_get_int64(res, row, 6);
	out->created_us = db_get_int64(res, row, 7);
	out->expires_us = db_get_int64(res, row, 8);
}

/* Takes the result by address: the call that fills it is an argument too,
 * and C leaves the order of argument evaluation open. */
static enum db_result one_key(enum db_result r, PGresult **resp, struct api_key *out)
{
	if (r != DB_OK)
		return r;
	PGresult *res = *resp;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	if (r == DB_OK)
		read_key(res, 0, out);
	PQclear(res);
	return r;
}

enum db_result db_api_key_insert(struct db_conn *c, struct api_key *key,
				 const uint8_t hash[CRYPTO_SHA256_LEN],
				 const struct audit_actor *actor)
{
	char hash_buf[DB_HASH_PARAM_LEN], expires_buf[24];
	const char *params[] = { key->id,
				 key->aid,
				 key->created_by,
				 key->name,
				 key->prefix,
				 db_bytea_param(hash, CRYPTO_SHA256_LEN, hash_buf),
				 auth_role_name(key->role),
				 db_int64_param(key->expires_us, expires_buf) };
	PGresult *res;
	enum db_result r = one_key(db_exec(c, &stmt_insert, 8, params, &res), &res, key);
	return r == DB_OK
		       ? db_audit_insert(c, key->aid, actor, "api_key.create", "api_key", key->id)
		       : r;
}

struct create_args {
	struct api_key *key;
	const uint8_t *hash;
	const struct audit_actor *actor;
};

static enum db_result create_tx(struct db_conn *c, void *arg)
{
	struct create_args *a = arg;
	return db_api_key_insert(c, a->key, a->hash, a->actor);
}

enum db_result db_api_keys_create(struct db_pool *db, struct api_key *key,
				  const uint8_t hash[CRYPTO_SHA256_LEN],
				  const struct audit_actor *actor)
{
	struct create_args args = { key, hash, actor };
	return db_transaction(db, create_tx, &args);
}

enum db_result db_api_keys_list(struct db_pool *db, const char *aid, int64_t after_us,
				const char *after_id, int limit, struct api_key **out, size_t *n)
{
	char after_buf[24], limit_buf[24];
	const char *params[] = { aid, db_int64_param(after_us, after_buf),
				 after_id && *after_id ? after_id : first_uuid,
				 db_int64_param(limit, limit_buf) };
	PGresult *res;
	*out = NULL;
	*n = 0;
	enum db_result r = db_query(db, &stmt_list, 4, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows, sizeof(**out));
	for (int i = 0; i < rows; i++)
		read_key(res, i, &(*out)[i]);
	*n = (size_t)rows;
	PQclear(res);
	return DB_OK;
}

enum db_result db_api_keys_get(struct db_pool *db, const char *aid, const char *id,
			       struct api_key *out)
{
	const char *params[] = { aid, id };
	PGresult *res;
	return one_key(db_query(db, &stmt_get, 2, params, &res), &res, out);
}

enum db_result db_api_keys_rename(struct db_pool *db, const char *aid, const char *id,
				  const char *name, int if_version, const struct audit_actor *actor,
				  struct api_key *out)
{
	char version_buf[24];
	const char *params[] = { aid, id, name,
				 if_version != 0 ? db_int64_param(if_version, version_buf) : NULL };
	PGresult *res;
	enum db_result r = one_key(db_query_audited(db, &stmt_rename, 4, params, &res, aid, actor,
						    "api_key.rename", "api_key", id),
				   &res, out);
	if (r == DB_NOT_FOUND && if_version != 0 && db_api_keys_get(db, aid, id, out) == DB_OK)
		return DB_CONFLICT;
	return r;
}

static bool hex_digit(char c, uint8_t *v)
{
	if (c >= '0' && c <= '9')
		*v = (uint8_t)(c - '0');
	else if (c >= 'a' && c <= 'f')
		*v = (uint8_t)(c - 'a' + 10);
	else
		return false;
	return true;
}

enum db_result db_api_keys_revoke(struct db_pool *db, const char *aid, const char *id,
				  int if_version, const struct audit_actor *actor,
				  uint8_t hash_out[CRYPTO_SHA256_LEN])
{
	char version_buf[24];
	const char *params[] = { aid, id,
				 if_version != 0 ? db_int64_param(if_version, version_buf) : NULL };
	PGresult *res;
	enum db_result r = db_query_audited(db, &stmt_revoke, 3, params, &res, aid, actor,
					    "api_key.revoke", "api_key", id);
	if (r != DB_OK)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		struct api_key existing;
		if (if_version != 0 && db_api_keys_get(db, aid, id, &existing) == DB_OK)
			return DB_CONFLICT;
		return DB_NOT_FOUND;
	}
	/* bytea in text form: "\x" then 64 hex digits. */
	const char *text = PQgetvalue(res, 0, 0);
	memset(hash_out, 0, CRYPTO_SHA256_LEN);
	if (strlen(text) == 2 + 2 * CRYPTO_SHA256_LEN) {
		for (int i = 0; i < CRYPTO_SHA256_LEN; i++) {
			uint8_t hi, lo;
			if (hex_digit(text[2 + 2 * i], &hi) && hex_digit(text[3 + 2 * i], &lo))
				hash_out[i] = (uint8_t)(hi << 4 | lo);
		}
	}
	PQclear(res);
	return DB_OK;
}
