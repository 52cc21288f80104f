/* SQL for CLI device logins (see include/db/devices_store.h). */
#include "auth/roles.h"
#include "db/devices_store.h"

#include <stdio.h>
#include <string.h>

#include "db/audit_store.h"
#include "db_internal.h"

static const struct db_stmt stmt_create = { "devices_create",
					    "INSERT INTO device_logins (id, token_hash, expires_at)"
					    " VALUES ($1, $2, " DB_TS("$3") ")" };
/* Why a device cannot be approved or redeemed now. */
static const struct db_stmt stmt_state = {
	"devices_state",
	"SELECT CASE WHEN token_hash <> $2 THEN 'invalid' WHEN used_at IS NOT NULL THEN 'used'"
	" WHEN expires_at <= now() THEN 'expired' WHEN approved_at IS NULL THEN 'pending'"
	" ELSE 'approved' END FROM device_logins WHERE id = $1"
};
static const struct db_stmt stmt_approve = {
	"devices_approve",
	"UPDATE device_logins d SET approved_by = $3, aid = $4, approved_at = now()"
	" WHERE d.id = $1 AND d.token_hash = $2 AND d.approved_at IS NULL AND d.expires_at > now()"
	" AND EXISTS (SELECT 1 FROM memberships m WHERE m.aid = $4 AND m.uid = $3) RETURNING id"
};
static const struct db_stmt stmt_redeem = {
	"devices_redeem", "UPDATE device_logins d SET used_at = now() FROM memberships m"
			  " WHERE d.id = $1 AND d.token_hash = $2 AND d.approved_at IS NOT NULL"
			  " AND d.used_at IS NULL AND d.expires_at > now() AND m.aid = d.aid AND "
			  "m.uid = d.approved_by"
			  " RETURNING d.aid, d.approved_by, m.role"
};

static enum device_state parse_state(const char *s)
{
	if (strcmp(s, "used") == 0)
		return DEVICE_USED;
	if (strcmp(s, "expired") == 0)
		return DEVICE_EXPIRED;
	if (strcmp(s, "pending") == 0)
		return DEVICE_PENDING;
	if (strcmp(s, "approved") == 0)
		return DEVICE_USED; /* approve: already approved */
	return DEVICE_INVALID;
}

/* The state of a device that the change did not apply to. */
static enum db_result state_of(struct db_conn *c, const char *const *params,
			       enum device_state *state)
{
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_state, 2, params, &res);
	if (r != DB_OK)
		return r;
	*state = PQntuples(res) == 1 ? parse_state(PQgetvalue(res, 0, 0)) : DEVICE_INVALID;
	PQclear(res);
	return DB_OK;
}

enum db_result db_devices_create(struct db_pool *db, const char *id,
				 const uint8_t hash[CRYPTO_SHA256_LEN], int64_t expires_us)
{
	char hash_buf[DB_HASH_PARAM_LEN], expires_buf[24];
	const char *params[] = { id, db_bytea_param(hash, CRYPTO_SHA256_LEN, hash_buf),
				 db_int64_param(expires_us, expires_buf) };
	return db_query(db, &stmt_create, 3, params, NULL);
}

struct device_args {
	const char *const *params;
	enum device_state *state;
	struct api_key *key;
	const uint8_t *key_hash;
};

static enum db_result approve_tx(struct db_conn *c, void *arg)
{
	struct device_args *a = arg;
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_approve, 4, a->params, &res);
	if (r != DB_OK)
		return r;
	bool approved = PQntuples(res) == 1;
	PQclear(res);
	*a->state = DEVICE_OK;
	if (approved)
		return DB_OK;
	if ((r = state_of(c, a->params, a->state)) != DB_OK)
		return r;
	/* A device that could be approved, but not by this user for this account. */
	if (*a->state == DEVICE_PENDING) {
		*a->state = DEVICE_OK;
		return DB_NOT_FOUND;
	}
	return DB_OK;
}

enum db_result db_devices_approve(struct db_pool *db, const char *id,
				  const uint8_t hash[CRYPTO_SHA256_LEN], const char *uid,
				  const char *aid, enum device_state *state)
{
	char hash_buf[DB_HASH_PARAM_LEN];
	const char *params[] = { id, db_bytea_param(hash, CRYPTO_SHA256_LEN, hash_buf), uid, aid };
	struct device_args args = { params, state, NULL, NULL };
	return db_transaction(db, approve_tx, &args);
}

static enum db_result redeem_tx(struct db_conn *c, void *arg)
{
	struct device_args *a = arg;
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_redeem, 2, a->params, &res);
	if (r != DB_OK)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return state_of(c, a->params, a->state);
	}
	db_get_text(res, 0, 0, a->key->aid, sizeof(a->key->aid));
	db_get_text(res, 0, 1, a->key->created_by, sizeof(a->key->created_by));
	if (!auth_role_parse(PQgetvalue(res, 0, 2), &a->key->role))
		a->key->role = ROLE_VIEWER;
	PQclear(res);
	*a->state = DEVICE_OK;
	struct audit_actor actor = { .type = "user", .id = a->key->created_by };
	return db_api_key_insert(c, a->key, a->key_hash, &actor);
}

enum db_result db_devices_redeem(struct db_pool *db, const char *id,
				 const uint8_t hash[CRYPTO_SHA256_LEN], struct api_key *key,
				 const uint8_t key_hash[CRYPTO_SHA256_LEN],
				 enum device_state *state)
{
	char hash_buf[DB_HASH_PARAM_LEN];
	const char *params[] = { id, db_bytea_param(hash, CRYPTO_SHA256_LEN, hash_buf) };
	struct device_args args = { params, state, key, key_hash };
	return db_transaction(db, redeem_tx, &args);
}
