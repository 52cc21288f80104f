/* SQL for members and invitations (see include/db/members_store.h). Every
 * change locks the account's row first (FOR NO KEY UPDATE), so the owner
 * count it checks cannot change under it. */
#include "auth/roles.h"
#include "db/members_store.h"

#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "util/xmalloc.h"

#define MEMBER_COLUMNS "m.uid, u.email, u.name, m.role, " DB_US("m.joined_at") ", m.version"

static const struct db_stmt stmt_list = { "members_list",
					  "SELECT " MEMBER_COLUMNS
					  " FROM memberships m JOIN users u ON u.uid = m.uid"
					  " WHERE m.aid = $1 AND (m.joined_at, m.uid) > (" DB_TS(
						  "$2") ", $3::uuid)"
							" ORDER BY m.joined_at, m.uid LIMIT $4" };
static const struct db_stmt stmt_lock_account = {
	"members_lock_account", "SELECT 1 FROM accounts WHERE aid = $1 FOR NO KEY UPDATE"
};
static const struct db_stmt stmt_get = { "members_get",
					 "SELECT " MEMBER_COLUMNS
					 ", (SELECT count(*) FROM memberships o"
					 " WHERE o.aid = m.aid AND o.role = 'owner')"
					 " FROM memberships m JOIN users u ON u.uid = m.uid"
					 " WHERE m.aid = $1 AND m.uid = $2" };
static const struct db_stmt stmt_set_role = {
	"members_set_role",
	"UPDATE memberships SET role = $3, version = version + 1 WHERE aid = $1 AND uid = $2"
};
static const struct db_stmt stmt_remove = {
	"members_remove", "DELETE FROM memberships WHERE aid = $1 AND uid = $2 RETURNING is_default"
};
/* After leaving the default account: the oldest remaining one is. */
static const struct db_stmt stmt_new_default = {
	"members_new_default",
	"UPDATE memberships SET is_default = true WHERE uid = $1 AND aid = (SELECT aid FROM"
	" memberships WHERE uid = $1 ORDER BY joined_at, aid LIMIT 1) AND $2 RETURNING aid"
};
static const struct db_stmt stmt_default = {
	"members_default", "SELECT coalesce((SELECT aid FROM memberships WHERE uid = $1 AND"
			   " is_default), ''), (SELECT count(*) FROM memberships WHERE uid = $1)"
};
static const struct db_stmt stmt_invite = {
	"invitations_insert",
	"INSERT INTO invitations (id, aid, email, role, token_hash, created_by, expires_at)"
	" VALUES ($1, $2, lower($3), $4, $5, $6, " DB_TS("$7") ")"
};
/* Used once, unexpired, by the invited email only; one statement. */
static const struct db_stmt stmt_accept = {
	"invitations_accept",
	"UPDATE invitations i SET accepted_at = now(), accepted_by = $2 FROM users u"
	" WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.expires_at > now()"
	" AND u.uid = $2 AND lower(u.email) = i.email RETURNING i.aid, i.role"
};
static const struct db_stmt stmt_join = {
	"invitations_join",
	"INSERT INTO memberships (aid, uid, role, is_default) VALUES ($1, $2, $3,"
	" NOT EXISTS (SELECT 1 FROM memberships WHERE uid = $2 AND is_default))"
	" ON CONFLICT (aid, uid) DO NOTHING RETURNING aid"
};

static const char first_uuid[] = "00000000-0000-0000-0000-000000000000";

static void read_member(const PGresult *res, int row, struct member *m)
{
	db_get_text(res, row, 0, m->uid, sizeof(m->uid));
	db_get_text(res, row, 1, m->email, sizeof(m->email));
	db_get_text(res, row, 2, m->name, sizeof(m->name));
	if (!auth_role_parse(PQgetvalue(res, row, 3), &m->role))
		m->role = ROLE_NONE;
	m->joined_us = db_get_int64(res, row, 4);
	m->version = (int)db_get_int64(res, row, 5);
}

enum db_result db_members_list(struct db_pool *db, const char *aid, int64_t after_us,
			       const char *after_uid, int limit, struct member **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char after_buf[24], limit_buf[24];
	const char *params[] = { aid, db_int64_param(after_us, after_buf),
				 after_uid && *after_uid ? after_uid : first_uuid,
				 db_int64_param(limit, limit_buf) };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_list, 4, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows + 1, sizeof(**out));
	for (int i = 0; i < rows; i++)
		read_member(res, i, &(*out)[i]);
	*n = (size_t)rows;
	PQclear(res);
	return DB_OK;
}

/* Locks the account and reads uid's membership and the number of owners. */
static enum db_result lock_and_get(struct db_conn *c, const char *aid, const char *uid,
				   struct member *m, int *owners, enum member_refusal *why)
{
	const char *params[] = { aid, uid };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_lock_account, 1, params, NULL);
	if (r != DB_OK || (r = db_exec(c, &stmt_get, 2, params, &res)) != DB_OK)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		*why = MEMBER_NOT_FOUND;
		return DB_CONFLICT;
	}
	read_member(res, 0, m);
	*owners = (int)db_get_int64(res, 0, 6);
	PQclear(res);
	return DB_OK;
}

/* The owner rules for changing m from its role to role (ROLE_NONE: removed). */
static enum member_refusal owner_rules(const struct member *m, enum role role, enum role by,
				       int owners)
{
	bool touches_owner = m->role == ROLE_OWNER || role == ROLE_OWNER;
	if (touches_owner && by != ROLE_OWNER)
		return MEMBER_OWNER_ONLY;
	if (m->role == ROLE_OWNER && role != ROLE_OWNER && owners <= 1)
		return MEMBER_LAST_OWNER;
	return MEMBER_OK;
}

struct change_args {
	const char *aid, *uid;
	enum role role, by;
	int if_version;
	const struct audit_actor *actor;
	struct member *out;
	char *default_aid;
	int *remaining;
	enum member_refusal *why;
};

static enum db_result set_role_tx(struct db_conn *c, void *arg)
{
	struct change_args *a = arg;
	int owners;
	enum db_result r = lock_and_get(c, a->aid, a->uid, a->out, &owners, a->why);
	if (r != DB_OK)
		return r;
	if (a->if_version && a->if_version != a->out->version)
		return DB_CONFLICT; /* 412: changed since the caller's ETag */
	if ((*a->why = owner_rules(a->out, a->role, a->by, owners)) != MEMBER_OK)
		return DB_CONFLICT;
	const char *params[] = { a->aid, a->uid, auth_role_name(a->role) };
	if ((r = db_exec(c, &stmt_set_role, 3, params, NULL)) != DB_OK)
		return r;
	/* A viewer has no VPN devices (docs/vpn.md): a member made one loses
	 * theirs, out of every peer set, as one who leaves does. */
	if (a->role == ROLE_VIEWER && a->out->role > ROLE_VIEWER &&
	    (r = db_vpn_devices_owner_gone(c, a->aid, a->uid, a->actor ? a->actor->id : a->uid)) !=
		    DB_OK)
		return r;
	a->out->role = a->role;
	a->out->version++;
	return db_audit_insert(c, a->aid, a->actor, "member.role", "user", a->uid);
}

enum db_result db_members_set_role(struct db_pool *db, const char *aid, const char *uid,
				   enum role role, enum role by, int if_version,
				   const struct audit_actor *actor, struct member *out,
				   enum member_refusal *why)
{
	*why = MEMBER_OK;
	struct change_args args = { aid, uid, role, by, if_version, actor, out, NULL, NULL, why };
	enum db_result r = db_transaction(db, set_role_tx, &args);
	return r == DB_CONFLICT && *why != MEMBER_OK ? DB_OK : r;
}

static enum db_result remove_tx(struct db_conn *c, void *arg)
{
	struct change_args *a = arg;
	int owners;
	struct member m;
	enum db_result r = lock_and_get(c, a->aid, a->uid, &m, &owners, a->why);
	if (r != DB_OK)
		return r;
	if (a->if_version && a->if_version != m.version)
		return DB_CONFLICT;
	if ((*a->why = owner_rules(&m, ROLE_NONE, a->by, owners)) != MEMBER_OK)
		return DB_CONFLICT;
	const char *params[] = { a->aid, a->uid };
	PGresult *res;
	/* Their VPN devices go with them, out of every peer set. */
	if ((r = db_vpn_devices_owner_gone(c, a->aid, a->uid, a->actor ? a->actor->id : a->uid)) !=
	    DB_OK)
		return r;
	if ((r = db_exec(c, &stmt_remove, 2, params, &res)) != DB_OK)
		return r;
	bool was_default = PQntuples(res) == 1 && db_get_bool(res, 0, 0);
	PQclear(res);
	const char *user[] = { a->uid, was_default ? "true" : "false" };
	if ((r = db_exec(c, &stmt_new_default, 2, user, NULL)) != DB_OK ||
	    (r = db_exec(c, &stmt_default, 1, user, &res)) != DB_OK)
		return r;
	db_get_text(res, 0, 0, a->default_aid, IDALLOC_SHORT_ID_LEN + 1);
	*a->remaining = (int)db_get_int64(res, 0, 1);
	PQclear(res);
	return db_audit_insert(c, a->aid, a->actor, "member.remove", "user", a->uid);
}

enum db_result db_members_remove(struct db_pool *db, const char *aid, const char *uid, enum role by,
				 int if_version, const struct audit_actor *actor,
				 char default_aid[IDALLOC_SHORT_ID_LEN + 1], int *remaining,
				 enum member_refusal *why)
{
	*why = MEMBER_OK;
	default_aid[0] = '\0';
	*remaining = 0;
	struct change_args args = { aid,   uid,	 ROLE_NONE,   by,	 if_version,
				    actor, NULL, default_aid, remaining, why };
	enum db_result r = db_transaction(db, remove_tx, &args);
	return r == DB_CONFLICT && *why != MEMBER_OK ? DB_OK : r;
}

struct invite_args {
	const char *const *params;
	const char *aid, *id;
	const struct audit_actor *actor;
};

static enum db_result invite_tx(struct db_conn *c, void *arg)
{
	struct invite_args *a = arg;
	enum db_result r = db_exec(c, &stmt_invite, 7, a->params, NULL);
	return r == DB_OK ? db_audit_insert(c, a->aid, a->actor, "invitation.create", "invitation",
					    a->id)
			  : r;
}

enum db_result db_invitations_create(struct db_pool *db, const char *id, const char *aid,
				     const char *email, enum role role,
				     const uint8_t hash[CRYPTO_SHA256_LEN], int64_t expires_us,
				     const struct audit_actor *actor)
{
	char hash_buf[DB_HASH_PARAM_LEN], expires_buf[24];
	const char *params[] = { id,
				 aid,
				 email,
				 auth_role_name(role),
				 db_bytea_param(hash, CRYPTO_SHA256_LEN, hash_buf),
				 actor->id,
				 db_int64_param(expires_us, expires_buf) };
	struct invite_args args = { params, aid, id, actor };
	return db_transaction(db, invite_tx, &args);
}

struct accept_args {
	const uint8_t *hash;
	const char *uid;
	char *aid;
	enum role *role;
	enum member_refusal *why;
};

static enum db_result accept_tx(struct db_conn *c, void *arg)
{
	struct accept_args *a = arg;
	char hash_buf[DB_HASH_PARAM_LEN];
	const char *params[] = { db_bytea_param(a->hash, CRYPTO_SHA256_LEN, hash_buf), a->uid };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_accept, 2, params, &res);
	if (r != DB_OK)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		*a->why = MEMBER_INVITATION;
		return DB_CONFLICT;
	}
	db_get_text(res, 0, 0, a->aid, IDALLOC_SHORT_ID_LEN + 1);
	char role[16];
	db_get_text(res, 0, 1, role, sizeof(role));
	PQclear(res);
	if (!auth_role_parse(role, a->role))
		return DB_ERROR;
	const char *join[] = { a->aid, a->uid, role };
	if ((r = db_exec(c, &stmt_join, 3, join, &res)) != DB_OK)
		return r;
	bool joined = PQntuples(res) == 1;
	PQclear(res);
	if (!joined) {
		*a->why = MEMBER_EXISTS;
		return DB_CONFLICT;
	}
	struct audit_actor actor = { .type = "user", .id = a->uid };
	return db_audit_insert(c, a->aid, &actor, "member.join", "user", a->uid);
}

enum db_result db_invitations_accept(struct db_pool *db, const uint8_t hash[CRYPTO_SHA256_LEN],
				     const char *uid, char aid[IDALLOC_SHORT_ID_LEN + 1],
				     enum role *role, enum member_refusal *why)
{
	*why = MEMBER_OK;
	aid[0] = '\0';
	struct accept_args args = { hash, uid, aid, role, why };
	enum db_result r = db_transaction(db, accept_tx, &args);
	return r == DB_CONFLICT && *why != MEMBER_OK ? DB_OK : r;
}
