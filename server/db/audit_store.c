/* SQL for the audit trail (see include/db/audit_store.h). Entries are only ever
 * inserted, inside the transaction of the change they record. */
#include "db/audit_store.h"
#include "db_internal.h"
#include "util/xmalloc.h"

static const struct db_stmt stmt_insert = {
	"audit_insert",
	"INSERT INTO audit_events (aid, actor_type, actor_id, action, target_type, target_id,"
	" trace_id, ip) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
};

enum db_result db_audit_insert(struct db_conn *c, const char *aid, const struct audit_actor *actor,
			       const char *action, const char *target_type, const char *target_id)
{
	const char *params[] = { aid,
				 actor->type,
				 actor->id,
				 action,
				 target_type,
				 target_id,
				 actor->trace_id ? actor->trace_id : "",
				 actor->ip ? actor->ip : "" };
	return db_exec(c, &stmt_insert, 8, params, NULL);
}

struct audited_args {
	const struct db_stmt *stmt;
	int nparams;
	const char *const *params;
	PGresult **res;
	const char *aid, *action, *target_type, *target_id;
	const struct audit_actor *actor;
};

static enum db_result audited_tx(struct db_conn *c, void *arg)
{
	struct audited_args *a = arg;
	PGresult *res;
	enum db_result r = db_exec(c, a->stmt, a->nparams, a->params, &res);
	if (r != DB_OK)
		return r;
	if (PQntuples(res) > 0)
		r = db_audit_insert(c, a->aid, a->actor, a->action, a->target_type, a->target_id);
	if (r == DB_OK)
		*a->res = res;
	else
		PQclear(res);
	return r;
}

enum db_result db_query_audited(struct db_pool *db, const struct db_stmt *stmt, int nparams,
				const char *const *params, PGresult **res, const char *aid,
				const struct audit_actor *actor, const char *action,
				const char *target_type, const char *target_id)
{
	struct audited_args args = { stmt,   nparams,	  params,    res,  aid,
				     action, target_type, target_id, actor };
	return db_transaction(db, audited_tx, &args);
}

static const struct db_stmt stmt_list = {
	"audit_list",
	"SELECT id::text, " DB_US("at") ", actor_type, actor_id, action, target_type, target_id,"
					" trace_id, ip FROM audit_events WHERE aid = $1"
					" AND ($2::int8 = 0 OR (at, id) < (" DB_TS(
						"$2") ", $3::int8))"
						      " ORDER BY at DESC, id DESC LIMIT $4"
};

enum db_result db_audit_list(struct db_pool *db, const char *aid, int64_t before_us,
			     const char *before_id, int limit, struct audit_entry **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char before_buf[24], limit_buf[24];
	const char *params[] = { aid, db_int64_param(before_us, before_buf),
				 before_id && *before_id ? before_id : "0",
				 db_int64_param(limit, limit_buf) };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_list, 4, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows + 1, sizeof(**out));
	for (int i = 0; i < rows; i++) {
		struct audit_entry *e = &(*out)[i];
		db_get_text(res, i, 0, e->id, sizeof(e->id));
		e->at_us = db_get_int64(res, i, 1);
		db_get_text(res, i, 2, e->actor_type, sizeof(e->actor_type));
		db_get_text(res, i, 3, e->actor_id, sizeof(e->actor_id));
		db_get_text(res, i, 4, e->action, sizeof(e->action));
		db_get_text(res, i, 5, e->target_type, sizeof(e->target_type));
		db_get_text(res, i, 6, e->target_id, sizeof(e->target_id));
		db_get_text(res, i, 7, e->trace_id, sizeof(e->trace_id));
		db_get_text(res, i, 8, e->ip, sizeof(e->ip));
	}
	*n = (size_t)rows;
	PQclear(res);
	return DB_OK;
}
