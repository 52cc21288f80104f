/* SQL for accounts and memberships (see include/db/accounts_store.h). */
#include "auth/roles.h"
#include "db/accounts_store.h"

#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "util/xmalloc.h"

#define ACCOUNT_COLUMNS                                                                            \
	"a.aid, a.name, a.company_name, a.website, a.base_domain, a.version, " DB_US("a.created_"  \
										     "at")

/* A random aid that is taken is skipped by ON CONFLICT; the caller draws another. */
static const struct db_stmt stmt_insert = {
	"accounts_insert",
	"INSERT INTO accounts AS a (aid, name, company_name, website, base_domain)"
	" VALUES ($1, $2, $3, $4, $5) ON CONFLICT (aid) DO NOTHING RETURNING " ACCOUNT_COLUMNS
};
static const struct db_stmt stmt_insert_owner = {
	"accounts_insert_owner",
	"INSERT INTO memberships (aid, uid, role, is_default) VALUES ($1, $2, 'owner', $3)"
};
static const struct db_stmt stmt_has_default = {
	"accounts_has_default",
	"SELECT EXISTS (SELECT 1 FROM memberships WHERE uid = $1 AND is_default)"
};
static const struct db_stmt stmt_list_for_user = {
	"accounts_list_for_user",
	"SELECT " ACCOUNT_COLUMNS ", m.role, m.is_default, " DB_US(
		"m.joined_at") " FROM memberships m JOIN accounts a ON a.aid = m.aid"
			       " WHERE m.uid = $1 AND ($2::text IS NULL OR m.aid = $2)"
			       " AND (m.joined_at, m.aid) > (" DB_TS(
				       "$3") ", $4)"
					     " ORDER BY m.joined_at, m.aid LIMIT $5"
};
static const struct db_stmt stmt_get = { "accounts_get", "SELECT " ACCOUNT_COLUMNS
							 " FROM accounts a WHERE a.aid = $1" };
static const struct db_stmt stmt_update = {
	"accounts_update",
	"UPDATE accounts AS a SET name = coalesce($2, name),"
	" company_name = coalesce($3, company_name), website = coalesce($4, website),"
	" version = version + 1, updated_at = now()"
	" WHERE aid = $1 AND ($5::int IS NULL OR version = $5) RETURNING " ACCOUNT_COLUMNS
};

static void read_account(const PGresult *res, int row, struct account *out)
{
	db_get_text(res, row, 0, out->aid, sizeof(out->aid));
	db_get_text(res, row, 1, out->name, sizeof(out->name));
	db_get_text(res, row, 2, out->company_name, sizeof(out->company_name));
	db_get_text(res, row, 3, out->website, sizeof(out->website));
	db_get_text(res, row, 4, out->base_domain, sizeof(out->base_domain));
	out->version = (int)db_get_int64(res, row, 5);
	out->created_us = db_get_int64(res, row, 6);
}

enum db_result db_accounts_insert_owned(struct db_conn *c, const char *uid,
					const struct account_input *in, bool is_default,
					const struct audit_actor *actor, struct account *out)
{
	/* 26 * 36^3 * 26 ≈ 31.5 million aids: a collision is rare, and ten in a
	 * row means the space is nearly full. */
	for (int attempt = 0; attempt < 10; attempt++) {
		char aid[IDALLOC_SHORT_ID_LEN + 1];
		idalloc_short_id(aid);
		const char *params[] = { aid, in->name, in->company_name ? in->company_name : "",
					 in->website ? in->website : "", in->base_domain };
		PGresult *res;
		enum db_result r = db_exec(c, &stmt_insert, 5, params, &res);
		if (r != DB_OK)
			return r;
		bool inserted = PQntuples(res) == 1;
		if (inserted)
			read_account(res, 0, out);
		PQclear(res);
		if (!inserted)
			continue;
		const char *mparams[] = { aid, uid, is_default ? "true" : "false" };
		r = db_exec(c, &stmt_insert_owner, 3, mparams, NULL);
		/* At signup the actor is the user being created. */
		struct audit_actor who = *actor;
		if (!who.id) {
			who.type = "user";
			who.id = uid;
		}
		return r == DB_OK ? db_audit_insert(c, aid, &who, "account.create", "account", aid)
				  : r;
	}
	return DB_CONFLICT;
}

struct create_args {
	const char *uid;
	const struct account_input *in;
	const struct audit_actor *actor;
	struct account *out;
};

static enum db_result create_tx(struct db_conn *c, void *arg)
{
	struct create_args *a = arg;
	const char *params[] = { a->uid };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_has_default, 1, params, &res);
	if (r != DB_OK)
		return r;
	bool has_default = db_get_bool(res, 0, 0);
	PQclear(res);
	return db_accounts_insert_owned(c, a->uid, a->in, !has_default, a->actor, a->out);
}

enum db_result db_accounts_create(struct db_pool *db, const char *uid,
				  const struct account_input *in, const struct audit_actor *actor,
				  struct account *out)
{
	struct create_args args = { uid, in, actor, out };
	return db_transaction(db, create_tx, &args);
}

enum db_result db_accounts_list_for_user(struct db_pool *db, const char *uid, const char *only_aid,
					 int64_t after_us, const char *after_aid, int limit,
					 struct account_membership **out, size_t *n)
{
	char after_buf[24], limit_buf[24];
	const char *params[] = { uid, only_aid, db_int64_param(after_us, after_buf),
				 after_aid ? after_aid : "", db_int64_param(limit, limit_buf) };
	PGresult *res;
	*out = NULL;
	*n = 0;
	enum db_result r = db_query(db, &stmt_list_for_user, 5, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows, sizeof(**out));
	for (int i = 0; i < rows; i++) {
		struct account_membership *m = &(*out)[i];
		read_account(res, i, &m->account);
		if (!auth_role_parse(PQgetvalue(res, i, 7), &m->role))
			m->role = ROLE_NONE;
		m->is_default = db_get_bool(res, i, 8);
		m->joined_us = db_get_int64(res, i, 9);
	}
	*n = (size_t)rows;
	PQclear(res);
	return DB_OK;
}

enum db_result db_accounts_get(struct db_pool *db, const char *aid, struct account *out)
{
	const char *params[] = { aid };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_get, 1, params, &res);
	if (r != DB_OK)
		return r;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	if (r == DB_OK)
		read_account(res, 0, out);
	PQclear(res);
	return r;
}

enum db_result db_accounts_update(struct db_pool *db, const char *aid,
				  const struct account_input *in, int if_version,
				  const struct audit_actor *actor, struct account *out)
{
	char version_buf[24];
	const char *params[] = { aid, in->name, in->company_name, in->website,
				 if_version != 0 ? db_int64_param(if_version, version_buf) : NULL };
	PGresult *res;
	enum db_result r = db_query_audited(db, &stmt_update, 5, params, &res, aid, actor,
					    "account.update", "account", aid);
	if (r != DB_OK)
		return r;
	bool updated = PQntuples(res) == 1;
	if (updated)
		read_account(res, 0, out);
	PQclear(res);
	if (updated)
		return DB_OK;
	/* Nothing changed: either no such account or another version. */
	r = db_accounts_get(db, aid, out);
	return r == DB_OK ? DB_CONFLICT : r;
}
