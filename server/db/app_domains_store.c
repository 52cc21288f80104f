/* SQL for apps' custom domains (see include/db/app_domains_store.h). The
 * fqdn is the table's primary key, so "one app in the whole system" is the
 * database's to decide, whatever instance adds it. */
#include "db/app_domains_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "util/xmalloc.h"

/* clang-format off */
#define DOMAIN_COLUMNS \
	"d.aid, d.cid, d.app_id, d.fqdn, d.port, d.status, d.verification_token," \
	" d.certificate_status, d.attempts, " DB_US("d.next_check_at") "," \
	" coalesce(" DB_US("d.checked_at") ", 0), coalesce(" DB_US("d.verified_at") ", 0)," \
	" " DB_US("d.created_at")
/* clang-format on */

static const struct db_stmt stmt_list = {
	"app_domains_list", "SELECT " DOMAIN_COLUMNS " FROM app_domains d WHERE d.aid = $1"
			    " AND d.cid = $2 AND d.app_id = $3 ORDER BY d.created_at, d.fqdn"
};
/* Inserted only for an active app; no row: the app is not there, or the
 * fqdn is taken (told apart by the caller). */
static const struct db_stmt stmt_add = {
	"app_domains_add",
	"INSERT INTO app_domains AS d (fqdn, aid, cid, app_id, port, verification_token)"
	" SELECT $4, a.aid, a.cid, a.id, $5::int, $6 FROM apps a WHERE a.aid = $1 AND a.cid = $2"
	" AND a.id = $3 AND a.lifecycle = 'active' ON CONFLICT (fqdn) DO NOTHING"
	" RETURNING " DOMAIN_COLUMNS
};
static const struct db_stmt stmt_app_active = {
	"app_domains_app_active", "SELECT 1 FROM apps WHERE aid = $1 AND cid = $2 AND id = $3"
				  " AND lifecycle = 'active'"
};
static const struct db_stmt stmt_delete = {
	"app_domains_delete", "DELETE FROM app_domains WHERE aid = $1 AND cid = $2 AND app_id = $3"
			      " AND fqdn = $4 RETURNING fqdn"
};
static const struct db_stmt stmt_checked = {
	"app_domains_checked",
	"UPDATE app_domains SET checked_at = now(), attempts = attempts + 1,"
	" status = CASE WHEN $5::bool THEN 'verified' WHEN $6::bool THEN 'failed'"
	" ELSE 'pending' END, verified_at = CASE WHEN $5::bool THEN now() END,"
	" certificate_status = CASE WHEN $5::bool THEN 'pending' ELSE certificate_status END,"
	" next_check_at = now() + $7::int * interval '1 second'"
	" WHERE aid = $1 AND cid = $2 AND app_id = $3 AND fqdn = $4 AND status = 'pending'"
};
static const struct db_stmt stmt_due = {
	"app_domains_due", "SELECT " DOMAIN_COLUMNS " FROM app_domains d WHERE d.status = 'pending'"
			   " AND d.next_check_at <= now() ORDER BY d.next_check_at LIMIT $1"
};

static const struct db_stmt stmt_claim = {
	"app_domains_claim",
	"UPDATE app_domains AS d SET next_check_at = now() + $2::int * interval '1 second'"
	" FROM (SELECT fqdn FROM app_domains WHERE status = 'pending' AND next_check_at <= now()"
	" ORDER BY next_check_at LIMIT $1 FOR UPDATE SKIP LOCKED) c WHERE d.fqdn = c.fqdn"
	" RETURNING " DOMAIN_COLUMNS
};
static const struct db_stmt stmt_reopen = {
	"app_domains_reopen",
	"UPDATE app_domains SET status = 'pending', attempts = 0, next_check_at = now()"
	" WHERE aid = $1 AND cid = $2 AND app_id = $3 AND fqdn = $4 AND status = 'failed'"
};

static void read_domain(const PGresult *res, int row, struct app_domain *out)
{
	memset(out, 0, sizeof(*out));
	db_get_text(res, row, 0, out->aid, sizeof(out->aid));
	db_get_text(res, row, 1, out->cid, sizeof(out->cid));
	db_get_text(res, row, 2, out->app_id, sizeof(out->app_id));
	db_get_text(res, row, 3, out->fqdn, sizeof(out->fqdn));
	out->port = (int)db_get_int64(res, row, 4);
	db_get_text(res, row, 5, out->status, sizeof(out->status));
	db_get_text(res, row, 6, out->verification_token, sizeof(out->verification_token));
	db_get_text(res, row, 7, out->certificate_status, sizeof(out->certificate_status));
	out->attempts = (int)db_get_int64(res, row, 8);
	out->next_check_us = db_get_int64(res, row, 9);
	out->checked_us = db_get_int64(res, row, 10);
	out->verified_us = db_get_int64(res, row, 11);
	out->created_us = db_get_int64(res, row, 12);
}

/* Takes the result by address: its value is read after the query ran. */
static enum db_result read_all(enum db_result r, PGresult **resp, struct app_domain **out,
			       size_t *n)
{
	*out = NULL;
	*n = 0;
	if (r != DB_OK)
		return r;
	PGresult *res = *resp;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows + 1, sizeof(**out));
	for (int i = 0; i < rows; i++)
		read_domain(res, i, &(*out)[i]);
	*n = (size_t)rows;
	PQclear(res);
	return DB_OK;
}

enum db_result db_app_domains_list(struct db_pool *db, const char *aid, const char *cid,
				   const char *app_id, struct app_domain **out, size_t *n)
{
	const char *params[] = { aid, cid, app_id };
	PGresult *res;
	return read_all(db_query(db, &stmt_list, 3, params, &res), &res, out, n);
}

enum db_result db_app_domains_due(struct db_pool *db, int limit, struct app_domain **out, size_t *n)
{
	char limit_buf[24];
	const char *params[] = { db_int64_param(limit, limit_buf) };
	PGresult *res;
	return read_all(db_query(db, &stmt_due, 1, params, &res), &res, out, n);
}

struct add_args {
	const char *aid, *cid, *app_id, *fqdn, *port, *token;
	const struct audit_actor *actor;
	struct app_domain *out;
};

static enum db_result add_tx(struct db_conn *c, void *arg)
{
	struct add_args *a = arg;
	const char *params[] = { a->aid, a->cid, a->app_id, a->fqdn, a->port, a->token };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_add, 6, params, &res);
	if (r != DB_OK)
		return r;
	bool added = PQntuples(res) == 1;
	if (added && a->out)
		read_domain(res, 0, a->out);
	PQclear(res);
	if (!added) {
		if ((r = db_exec(c, &stmt_app_active, 3, params, &res)) != DB_OK)
			return r;
		bool app = PQntuples(res) == 1;
		PQclear(res);
		return app ? DB_CONFLICT : DB_NOT_FOUND;
	}
	return db_audit_insert(c, a->aid, a->actor, "app.domain.add", "app", a->app_id);
}

enum db_result db_app_domains_add(struct db_pool *db, const char *aid, const char *cid,
				  const char *app_id, const char *fqdn, int port,
				  const char *verification_token, const struct audit_actor *actor,
				  struct app_domain *out)
{
	char port_buf[24];
	struct add_args args = {
		aid,   cid, app_id, fqdn, db_int64_param(port, port_buf), verification_token,
		actor, out
	};
	return db_transaction(db, add_tx, &args);
}

enum db_result db_app_domains_delete(struct db_pool *db, const char *aid, const char *cid,
				     const char *app_id, const char *fqdn,
				     const struct audit_actor *actor)
{
	const char *params[] = { aid, cid, app_id, fqdn };
	PGresult *res;
	enum db_result r = db_query_audited(db, &stmt_delete, 4, params, &res, aid, actor,
					    "app.domain.delete", "app", app_id);
	if (r != DB_OK)
		return r;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	PQclear(res);
	return r;
}

enum db_result db_app_domains_checked(struct db_pool *db, const char *aid, const char *cid,
				      const char *app_id, const char *fqdn, bool verified,
				      bool give_up, int retry_after_s)
{
	char retry[24];
	const char *params[] = { aid,
				 cid,
				 app_id,
				 fqdn,
				 verified ? "true" : "false",
				 give_up ? "true" : "false",
				 db_int64_param(retry_after_s, retry) };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_checked, 7, params, &res);
	if (r != DB_OK)
		return r;
	r = atoi(PQcmdTuples(res)) == 1 ? DB_OK : DB_NOT_FOUND;
	PQclear(res);
	return r;
}

enum db_result db_app_domains_claim(struct db_pool *db, int limit, int lease_s,
				    struct app_domain **out, size_t *n)
{
	char limit_buf[24], lease_buf[24];
	const char *params[] = { db_int64_param(limit, limit_buf),
				 db_int64_param(lease_s, lease_buf) };
	PGresult *res;
	return read_all(db_query(db, &stmt_claim, 2, params, &res), &res, out, n);
}

enum db_result db_app_domains_reopen(struct db_pool *db, const char *aid, const char *cid,
				     const char *app_id, const char *fqdn)
{
	const char *params[] = { aid, cid, app_id, fqdn };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_reopen, 4, params, &res);
	if (r != DB_OK)
		return r;
	r = atoi(PQcmdTuples(res)) == 1 ? DB_OK : DB_NOT_FOUND;
	PQclear(res);
	return r;
}
