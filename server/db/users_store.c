/* SQL for users and signing up (see include/db/users_store.h). */
#include "db/users_store.h"

#include <string.h>

#include "db_internal.h"
#include "util/xmalloc.h"

#define USER_COLUMNS                                                                               \
	"uid, email, name, mfa_enabled, " DB_US("created_at") ", password_hash, version"

static const struct db_stmt stmt_insert = {
	"users_insert",
	"INSERT INTO users (uid, email, name, password_hash) VALUES ($1, $2, $3, $4)"
	" RETURNING " USER_COLUMNS
};
static const struct db_stmt stmt_by_email = { "users_by_email",
					      "SELECT " USER_COLUMNS
					      " FROM users WHERE lower(email) = lower($1)" };
static const struct db_stmt stmt_by_uid = { "users_by_uid",
					    "SELECT " USER_COLUMNS " FROM users WHERE uid = $1" };
static const struct db_stmt stmt_update = {
	"users_update",
	"UPDATE users SET name = coalesce($2, name), password_hash = coalesce($3, password_hash),"
	" version = version + 1, updated_at = now() WHERE uid = $1"
	" AND ($4::int IS NULL OR version = $4) RETURNING " USER_COLUMNS
};
static const struct db_stmt stmt_revoke_other_sessions = {
	"users_revoke_other_sessions",
	"UPDATE sessions SET revoked_at = now()"
	" WHERE uid = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2)"
};

static void read_user(const PGresult *res, int row, struct user *out, char *password_hash)
{
	db_get_text(res, row, 0, out->uid, sizeof(out->uid));
	db_get_text(res, row, 1, out->email, sizeof(out->email));
	db_get_text(res, row, 2, out->name, sizeof(out->name));
	out->mfa_enabled = db_get_bool(res, row, 3);
	out->created_us = db_get_int64(res, row, 4);
	out->version = (int)db_get_int64(res, row, 6);
	if (password_hash)
		db_get_text(res, row, 5, password_hash, PASSWORD_HASH_MAX);
}

/* Takes the result by address: the call that fills it is an argument too,
 * and C leaves the order of argument evaluation open. */
static enum db_result one_user(enum db_result r, PGresult **resp, struct user *out,
			       char *password_hash)
{
	if (r != DB_OK)
		return r;
	PGresult *res = *resp;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	if (r == DB_OK)
		read_user(res, 0, out, password_hash);
	PQclear(res);
	return r;
}

struct signup_args {
	const struct signup_input *in;
	struct user *user;
	struct account *account;
};

static enum db_result signup_tx(struct db_conn *c, void *arg)
{
	struct signup_args *a = arg;
	char uid[IDALLOC_UUID_LEN + 1];
	idalloc_uuid(uid);
	const char *params[] = { uid, a->in->email, a->in->name, a->in->password_hash };
	PGresult *res;
	enum db_result r = one_user(db_exec(c, &stmt_insert, 4, params, &res), &res, a->user, NULL);
	if (r == DB_OK)
		r = db_accounts_insert_owned(c, uid, &a->in->account, true, &a->in->actor,
					     a->account);
	if (r == DB_OK)
		r = db_sessions_insert(c, uid, a->in->session_hash, a->in->session_expires_us);
	return r;
}

enum db_result db_users_signup(struct db_pool *db, const struct signup_input *in,
			       struct user *user_out, struct account *account_out)
{
	struct signup_args args = { in, user_out, account_out };
	return db_transaction(db, signup_tx, &args);
}

enum db_result db_users_find_by_email(struct db_pool *db, const char *email, struct user *out,
				      char password_hash[PASSWORD_HASH_MAX])
{
	const char *params[] = { email };
	PGresult *res;
	return one_user(db_query(db, &stmt_by_email, 1, params, &res), &res, out, password_hash);
}

enum db_result db_users_get(struct db_pool *db, const char *uid, struct user *out,
			    char *password_hash)
{
	const char *params[] = { uid };
	PGresult *res;
	return one_user(db_query(db, &stmt_by_uid, 1, params, &res), &res, out, password_hash);
}

struct update_args {
	const char *uid, *name, *password_hash, *keep_session_id;
	int if_version;
	struct user *out;
};

static enum db_result update_tx(struct db_conn *c, void *arg)
{
	struct update_args *a = arg;
	char version_buf[24];
	const char *params[] = { a->uid, a->name, a->password_hash,
				 a->if_version != 0 ? db_int64_param(a->if_version, version_buf)
						    : NULL };
	PGresult *res;
	enum db_result r = one_user(db_exec(c, &stmt_update, 4, params, &res), &res, a->out, NULL);
	/* The user exists (the caller is signed in as them): another version. */
	if (r == DB_NOT_FOUND && a->if_version != 0)
		return DB_CONFLICT;
	if (r == DB_OK && a->password_hash) {
		const char *sparams[] = { a->uid, a->keep_session_id };
		r = db_exec(c, &stmt_revoke_other_sessions, 2, sparams, NULL);
	}
	return r;
}

enum db_result db_users_update(struct db_pool *db, const char *uid, const char *name,
			       const char *password_hash, const char *keep_session_id,
			       int if_version, struct user *out)
{
	struct update_args args = { uid, name, password_hash, keep_session_id, if_version, out };
	return db_transaction(db, update_tx, &args);
}

static const struct db_stmt stmt_totp_pending = {
	"users_totp_pending", "UPDATE users SET totp_pending = $2 WHERE uid = $1 RETURNING uid"
};
static const struct db_stmt stmt_totp_get = {
	"users_totp_get", "SELECT totp_pending, totp_secret FROM users WHERE uid = $1"
};
static const struct db_stmt stmt_totp_enable = {
	"users_totp_enable",
	"UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, mfa_enabled = true,"
	" totp_last_step = $2, updated_at = now() WHERE uid = $1 AND totp_pending IS NOT NULL"
	" RETURNING uid"
};
/* Single use: only a step after the last one used. */
static const struct db_stmt stmt_totp_use = { "users_totp_use",
					      "UPDATE users SET totp_last_step = $2 WHERE uid = $1"
					      " AND totp_last_step < $2 RETURNING uid" };

static enum db_result one_row(enum db_result r, PGresult **resp, enum db_result none)
{
	if (r != DB_OK)
		return r;
	r = PQntuples(*resp) == 1 ? DB_OK : none;
	PQclear(*resp);
	return r;
}

enum db_result db_users_totp_set_pending(struct db_pool *db, const char *uid, const char *sealed)
{
	const char *params[] = { uid, sealed };
	PGresult *res;
	return one_row(db_query(db, &stmt_totp_pending, 2, params, &res), &res, DB_NOT_FOUND);
}

enum db_result db_users_totp_get(struct db_pool *db, const char *uid, char **pending, char **secret)
{
	*pending = *secret = NULL;
	const char *params[] = { uid };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_totp_get, 1, params, &res);
	if (r != DB_OK)
		return r;
	if (PQntuples(res) == 1) {
		if (!PQgetisnull(res, 0, 0))
			*pending = xstrdup(PQgetvalue(res, 0, 0));
		if (!PQgetisnull(res, 0, 1))
			*secret = xstrdup(PQgetvalue(res, 0, 1));
	} else {
		r = DB_NOT_FOUND;
	}
	PQclear(res);
	return r;
}

enum db_result db_users_totp_enable(struct db_pool *db, const char *uid, int64_t step)
{
	char step_buf[24];
	const char *params[] = { uid, db_int64_param(step, step_buf) };
	PGresult *res;
	return one_row(db_query(db, &stmt_totp_enable, 2, params, &res), &res, DB_NOT_FOUND);
}

enum db_result db_users_totp_use(struct db_pool *db, const char *uid, int64_t step)
{
	char step_buf[24];
	const char *params[] = { uid, db_int64_param(step, step_buf) };
	PGresult *res;
	return one_row(db_query(db, &stmt_totp_use, 2, params, &res), &res, DB_CONFLICT);
}
