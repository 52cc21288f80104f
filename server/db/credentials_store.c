/* SQL for authenticating bearer tokens (see include/db/credentials_store.h).
 * One round trip per lookup: the token row joined with the memberships that
 * decide its roles. */
#include "auth/roles.h"
#include "db/credentials_store.h"

#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "util/xmalloc.h"

static const struct db_stmt stmt_session = {
	"credentials_session",
	"SELECT s.id, s.uid, NULL, NULL, " DB_US(
		"s.expires_at") ","
				" coalesce(" DB_US("s.revoked_at") ", 0), m.aid, m.role"
								   " FROM sessions s LEFT JOIN "
								   "memberships m ON m.uid = s.uid"
								   " WHERE s.token_hash = $1"
};
static const struct db_stmt stmt_pat = {
	"credentials_pat",
	"SELECT k.id, k.created_by, k.aid, k.role, " DB_US(
		"k.expires_at") ","
				" coalesce(" DB_US(
					"k.revoked_at") ", 0), m.aid, m.role"
							" FROM api_keys k LEFT JOIN memberships m "
							"ON m.aid = k.aid AND m.uid = k.created_by"
							" WHERE k.token_hash = $1"
};

enum db_result db_credentials_lookup(struct db_pool *db, enum token_kind kind,
				     const uint8_t hash[CRYPTO_SHA256_LEN], struct credential *out)
{
	memset(out, 0, sizeof(*out));
	char hash_buf[DB_HASH_PARAM_LEN];
	const char *params[] = { db_bytea_param(hash, CRYPTO_SHA256_LEN, hash_buf) };
	PGresult *res;
	enum db_result r =
		db_query(db, kind == TOKEN_PAT ? &stmt_pat : &stmt_session, 1, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	if (rows == 0) {
		PQclear(res);
		return DB_NOT_FOUND;
	}
	out->kind = kind;
	db_get_text(res, 0, 0, out->id, sizeof(out->id));
	db_get_text(res, 0, 1, out->uid, sizeof(out->uid));
	db_get_text(res, 0, 2, out->key_aid, sizeof(out->key_aid));
	if (kind != TOKEN_PAT || !auth_role_parse(PQgetvalue(res, 0, 3), &out->key_role))
		out->key_role = ROLE_NONE;
	out->expires_us = db_get_int64(res, 0, 4);
	out->revoked_us = db_get_int64(res, 0, 5);
	out->memberships = xcalloc((size_t)rows, sizeof(*out->memberships));
	for (int i = 0; i < rows; i++) {
		if (PQgetisnull(res, i, 6))
			continue;
		struct credential_membership *m = &out->memberships[out->nmemberships];
		db_get_text(res, i, 6, m->aid, sizeof(m->aid));
		if (auth_role_parse(PQgetvalue(res, i, 7), &m->role))
			out->nmemberships++;
	}
	PQclear(res);
	return DB_OK;
}

void db_credential_finish(struct credential *c)
{
	if (!c)
		return;
	free(c->memberships);
	c->memberships = NULL;
	c->nmemberships = 0;
}
