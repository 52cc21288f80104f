/* SQL for nodes (see include/db/nodes_store.h). A node and its conditions
 * are read with two statements: the node rows, then the conditions of those
 * nodes, matched up here. */
#include "db/nodes_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "util/xmalloc.h"

#define NODE_COLUMNS                                                                               \
	"n.nid, n.cid, n.name, n.role, n.status, n.machine_id, n.hostname, n.os,"                  \
	" c.cluster_index, n.vpn_host, n.external_ip, n.agent_version,"                            \
	" coalesce(" DB_US("n.last_heartbeat_at") ", 0), coalesce(" DB_US(                         \
		"n.cert_not_after") ", 0), n.version, " DB_US("n.created_at")

#define NODE_FROM                                                                                  \
	" FROM nodes n JOIN clusters c ON c.aid = n.aid AND c.cid = n.cid"                         \
	" WHERE n.aid = $1 AND n.cid = $2 AND n.deleted_at IS NULL"

static const struct db_stmt stmt_list = {
	"nodes_list", "SELECT " NODE_COLUMNS NODE_FROM " AND (n.created_at, n.nid) > (" DB_TS(
			      "$3") ", $4) ORDER BY n.created_at, n.nid LIMIT $5"
};
static const struct db_stmt stmt_get = { "nodes_get",
					 "SELECT " NODE_COLUMNS NODE_FROM " AND n.nid = $3" };
static const struct db_stmt stmt_rename = {
	"nodes_rename", "UPDATE nodes SET name = $4, version = version + 1, updated_at = now()"
			" WHERE aid = $1 AND cid = $2 AND nid = $3 AND deleted_at IS NULL"
			" AND ($5::int IS NULL OR version = $5) RETURNING nid"
};
static const struct db_stmt stmt_conditions = {
	"nodes_conditions",
	"SELECT nid, type, status, reason, message, " DB_US(
		"last_transition_at") " FROM node_conditions WHERE aid = $1 AND nid = "
				      "ANY($2::text[]) ORDER BY nid, type"
};

void db_node_finish(struct node *n)
{
	if (!n)
		return;
	free(n->conditions);
	n->conditions = NULL;
	n->nconditions = 0;
}

static void read_node(const PGresult *res, int row, struct node *out)
{
	memset(out, 0, sizeof(*out));
	db_get_text(res, row, 0, out->nid, sizeof(out->nid));
	db_get_text(res, row, 1, out->cid, sizeof(out->cid));
	db_get_text(res, row, 2, out->name, sizeof(out->name));
	db_get_text(res, row, 3, out->role, sizeof(out->role));
	db_get_text(res, row, 4, out->status, sizeof(out->status));
	db_get_text(res, row, 5, out->machine_id, sizeof(out->machine_id));
	db_get_text(res, row, 6, out->hostname, sizeof(out->hostname));
	db_get_text(res, row, 7, out->os, sizeof(out->os));
	out->cluster_index = (int)db_get_int64(res, row, 8);
	out->vpn_host = (int)db_get_int64(res, row, 9);
	db_get_text(res, row, 10, out->external_ip, sizeof(out->external_ip));
	db_get_text(res, row, 11, out->agent_version, sizeof(out->agent_version));
	out->last_heartbeat_us = db_get_int64(res, row, 12);
	out->cert_not_after_us = db_get_int64(res, row, 13);
	out->version = (int)db_get_int64(res, row, 14);
	out->created_us = db_get_int64(res, row, 15);
}

/* Reads the conditions of nodes[0..n) in one statement. */
static enum db_result attach_conditions(struct db_conn *c, const char *aid, struct node *nodes,
					size_t n)
{
	if (n == 0)
		return DB_OK;
	/* nids are [a-z0-9]: safe inside a text[] literal. */
	char *list = xmalloc(n * (IDALLOC_SHORT_ID_LEN + 1) + 3);
	size_t len = 0;
	list[len++] = '{';
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(list + len, "%s%s", i ? "," : "", nodes[i].nid);
	list[len++] = '}';
	list[len] = '\0';
	const char *params[] = { aid, list };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_conditions, 2, params, &res);
	free(list);
	if (r != DB_OK)
		return r;
	for (int row = 0; row < PQntuples(res); row++) {
		const char *nid = PQgetvalue(res, row, 0);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(nodes[i].nid, nid) != 0)
				continue;
			struct node *node = &nodes[i];
			node->conditions =
				xrealloc(node->conditions,
					 (node->nconditions + 1) * sizeof(*node->conditions));
			struct node_condition *cond = &node->conditions[node->nconditions++];
			db_get_text(res, row, 1, cond->type, sizeof(cond->type));
			db_get_text(res, row, 2, cond->status, sizeof(cond->status));
			db_get_text(res, row, 3, cond->reason, sizeof(cond->reason));
			db_get_text(res, row, 4, cond->message, sizeof(cond->message));
			cond->last_transition_us = db_get_int64(res, row, 5);
		}
	}
	PQclear(res);
	return DB_OK;
}

enum db_result db_nodes_list(struct db_pool *db, const char *aid, const char *cid, int64_t after_us,
			     const char *after_nid, int limit, struct node **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	struct db_conn *c = db_conn_acquire(db);
	if (!c)
		return DB_UNAVAILABLE;
	char after_buf[24], limit_buf[24];
	const char *params[] = { aid, cid, db_int64_param(after_us, after_buf),
				 after_nid ? after_nid : "", db_int64_param(limit, limit_buf) };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_list, 5, params, &res);
	if (r == DB_OK) {
		int rows = PQntuples(res);
		*out = xcalloc((size_t)rows, sizeof(**out));
		for (int i = 0; i < rows; i++)
			read_node(res, i, &(*out)[i]);
		*n = (size_t)rows;
		PQclear(res);
		r = attach_conditions(c, aid, *out, *n);
	}
	db_conn_release(db, c);
	if (r != DB_OK) {
		for (size_t i = 0; i < *n; i++)
			db_node_finish(&(*out)[i]);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return r;
}

enum db_result db_nodes_get(struct db_pool *db, const char *aid, const char *cid, const char *nid,
			    struct node *out)
{
	memset(out, 0, sizeof(*out));
	struct db_conn *c = db_conn_acquire(db);
	if (!c)
		return DB_UNAVAILABLE;
	const char *params[] = { aid, cid, nid };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_get, 3, params, &res);
	if (r == DB_OK) {
		r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
		if (r == DB_OK)
			read_node(res, 0, out);
		PQclear(res);
	}
	if (r == DB_OK)
		r = attach_conditions(c, aid, out, 1);
	db_conn_release(db, c);
	if (r != DB_OK)
		db_node_finish(out);
	return r;
}

struct rename_args {
	const char *aid, *cid, *nid, *name;
	const struct audit_actor *actor;
	int if_version;
	bool renamed;
};

static enum db_result rename_tx(struct db_conn *c, void *arg)
{
	struct rename_args *a = arg;
	char version_buf[24];
	const char *params[] = { a->aid, a->cid, a->nid, a->name,
				 a->if_version != 0 ? db_int64_param(a->if_version, version_buf)
						    : NULL };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_rename, 5, params, &res);
	if (r != DB_OK)
		return r;
	a->renamed = PQntuples(res) == 1;
	PQclear(res);
	if (!a->renamed)
		return DB_OK;
	return db_audit_insert(c, a->aid, a->actor, "node.rename", "node", a->nid);
}

enum db_result db_nodes_rename(struct db_pool *db, const char *aid, const char *cid,
			       const char *nid, const struct audit_actor *actor, const char *name,
			       int if_version, struct node *out)
{
	struct rename_args args = { aid, cid, nid, name, actor, if_version, false };
	enum db_result r = db_transaction(db, rename_tx, &args);
	if (r != DB_OK)
		return r;
	r = db_nodes_get(db, aid, cid, nid, out);
	if (r == DB_OK && !args.renamed) {
		/* The node exists, so the version did not match. */
		db_node_finish(out);
		return DB_CONFLICT;
	}
	return r;
}

static const struct db_stmt stmt_delete = {
	"nodes_delete",
	"UPDATE nodes SET deleted_at = now(), status = 'offline', version = version + 1,"
	" updated_at = now() WHERE aid = $1 AND cid = $2 AND nid = $3 AND deleted_at IS NULL"
	" AND ($4::int IS NULL OR version = $4) RETURNING nid"
};
static const struct db_stmt stmt_revoke_certs = {
	"nodes_revoke_certs",
	"WITH revoked AS (UPDATE node_certificates SET revoked_at = now()"
	" WHERE aid = $1 AND nid = $2 AND revoked_at IS NULL RETURNING serial)"
	" INSERT INTO certificate_revocations (serial) SELECT serial FROM revoked"
	" ON CONFLICT DO NOTHING"
};
/* The deleted node's open instructions, which it can no longer fetch (its
 * certificate is revoked): cancelled and counted off their steps; their
 * jobs, to move on. */
static const struct db_stmt stmt_cancel_node_work = {
	"nodes_cancel_work",
	"WITH gone AS (UPDATE instructions SET status = 'cancelled', completed_at = now(),"
	"  error = 'node_deleted' WHERE aid = $1 AND nid = $2"
	"  AND status IN ('pending', 'leased') RETURNING job_id, step_id),"
	" counted AS (UPDATE job_steps s SET open_instructions = s.open_instructions - g.n"
	"  FROM (SELECT step_id, count(*) AS n FROM gone GROUP BY step_id) g"
	"  WHERE s.id = g.step_id)"
	" SELECT DISTINCT job_id::text FROM gone"
};

/* Cancels the node's open work and moves the jobs it belonged to on. */
static enum db_result cancel_node_work(struct db_conn *c, const char *aid, const char *nid)
{
	const char *node[] = { aid, nid };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_cancel_node_work, 2, node, &res);
	if (r != DB_OK)
		return r;
	for (int i = 0; r == DB_OK && i < PQntuples(res); i++)
		r = db_job_advance(c, PQgetvalue(res, i, 0));
	PQclear(res);
	return r;
}

static const struct db_stmt stmt_node_exists = {
	"nodes_exists",
	"SELECT 1 FROM nodes WHERE aid = $1 AND cid = $2 AND nid = $3 AND deleted_at IS NULL"
};

struct delete_args {
	const char *aid, *cid, *nid;
	const struct audit_actor *actor;
	int if_version;
	const char *job_id;
};

static enum db_result delete_tx(struct db_conn *c, void *arg)
{
	struct delete_args *a = arg;
	char version_buf[24];
	const char *params[] = { a->aid, a->cid, a->nid,
				 a->if_version ? db_int64_param(a->if_version, version_buf)
					       : NULL };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_delete, 4, params, &res);
	if (r != DB_OK)
		return r;
	bool deleted = PQntuples(res) == 1;
	PQclear(res);
	if (!deleted) {
		r = db_exec(c, &stmt_node_exists, 3, params, &res);
		if (r != DB_OK)
			return r;
		bool exists = PQntuples(res) == 1;
		PQclear(res);
		return exists ? DB_CONFLICT : DB_NOT_FOUND;
	}
	const char *node[] = { a->aid, a->nid };
	if ((r = db_exec(c, &stmt_revoke_certs, 2, node, NULL)) != DB_OK ||
	    (r = cancel_node_work(c, a->aid, a->nid)) != DB_OK ||
	    (r = db_job_insert(c, a->job_id, a->aid, a->cid, "node.delete", "node", a->nid,
			       a->actor->id)) != DB_OK ||
	    (r = db_audit_insert(c, a->aid, a->actor, "node.delete", "node", a->nid)) != DB_OK ||
	    (r = db_cluster_status_refresh(c, a->aid, a->cid)) != DB_OK)
		return r;
	return db_job_advance(c, a->job_id);
}

enum db_result db_nodes_delete(struct db_pool *db, const char *aid, const char *cid,
			       const char *nid, const struct audit_actor *actor, int if_version,
			       const char *job_id)
{
	struct delete_args args = { aid, cid, nid, actor, if_version, job_id };
	return db_transaction(db, delete_tx, &args);
}
