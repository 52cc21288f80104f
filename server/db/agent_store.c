/* SQL for what agents read and report (see include/db/agent_store.h). */
#include "db/agent_store.h"

#include <stdlib.h>
#include <string.h>

#include "db/audit_store.h"
#include "db_internal.h"
#include "util/xmalloc.h"

static const struct db_stmt stmt_vpn_update = {
	"agent_vpn_update", "UPDATE nodes SET vpn_pub_key = $4, vpn_endpoint = $5"
			    " WHERE aid = $1 AND cid = $2 AND nid = $3 AND deleted_at IS NULL"
};
static const struct db_stmt stmt_wg1_update = {
	"agent_wg1_update",
	"UPDATE nodes SET wg1_pub_key = $4, wg1_endpoint = $5 WHERE aid = $1 AND cid = $2"
	" AND nid = $3 AND deleted_at IS NULL AND role IN ('controlplane', 'hybrid')"
	" AND (wg1_pub_key, wg1_endpoint) IS DISTINCT FROM ($4, $5) RETURNING status"
};
static const struct db_stmt stmt_vpn_peers = {
	"agent_vpn_peers",
	"SELECT n.vpn_pub_key, n.vpn_endpoint, c.cluster_index, n.vpn_host FROM nodes n"
	" JOIN clusters c ON c.aid = n.aid AND c.cid = n.cid WHERE n.aid = $1 AND n.cid = $2"
	" AND n.nid <> $3 AND n.deleted_at IS NULL AND n.vpn_pub_key <> '' ORDER BY n.vpn_host"
};
static const struct db_stmt stmt_control_planes = {
	"agent_control_planes",
	"SELECT '', '', c.cluster_index, n.vpn_host FROM nodes n"
	" JOIN clusters c ON c.aid = n.aid AND c.cid = n.cid WHERE n.aid = $1 AND n.cid = $2"
	" AND n.deleted_at IS NULL AND n.status = 'online' AND n.role IN ('controlplane', 'hybrid')"
	" ORDER BY n.vpn_host"
};
/* One statement: take the VIP over when the caller is an online control
 * plane and the holder is nobody or not online; then answer. */
static const struct db_stmt stmt_vip = {
	"agent_vip",
	"WITH me AS (SELECT 1 FROM nodes WHERE aid = $1 AND cid = $2 AND nid = $3"
	"  AND deleted_at IS NULL AND status = 'online' AND role IN ('controlplane', 'hybrid')),"
	" took AS (UPDATE clusters c SET vip_holder_nid = $3, vip_generation = vip_generation + 1"
	"  WHERE c.aid = $1 AND c.cid = $2 AND EXISTS (SELECT 1 FROM me)"
	"  AND (c.vip_holder_nid IS NULL OR NOT EXISTS (SELECT 1 FROM nodes h"
	"   WHERE h.aid = c.aid AND h.cid = c.cid AND h.nid = c.vip_holder_nid"
	"   AND h.deleted_at IS NULL AND h.status = 'online'))"
	"  RETURNING vip_holder_nid, vip_generation)"
	" SELECT vip_holder_nid, vip_generation FROM took UNION ALL"
	" SELECT coalesce(vip_holder_nid, ''), vip_generation FROM clusters"
	"  WHERE aid = $1 AND cid = $2 AND NOT EXISTS (SELECT 1 FROM took)"
};
static const struct db_stmt stmt_credentials_put = {
	"agent_credentials_put",
	"INSERT INTO cluster_credentials (aid, cid, sealed, kubernetes_version, reported_by)"
	" VALUES ($1, $2, $3, $4, $5) ON CONFLICT (aid, cid) DO UPDATE SET sealed = $3,"
	" kubernetes_version = $4, reported_by = $5, updated_at = now()"
};
static const struct db_stmt stmt_configured = {
	"agent_configured", "UPDATE clusters SET configured = true, version = version + 1,"
			    " updated_at = now() WHERE aid = $1 AND cid = $2 AND NOT configured"
};
static const struct db_stmt stmt_credentials_get = {
	"agent_credentials_get",
	"SELECT sealed FROM cluster_credentials WHERE aid = $1 AND cid = $2"
};
static const struct db_stmt stmt_event = {
	"agent_event", "INSERT INTO node_events (aid, nid, type, severity, message, details)"
		       " VALUES ($1, $2, $3, $4, $5, $6::jsonb)"
};
static const struct db_stmt stmt_install_condition = {
	"agent_install_condition",
	"INSERT INTO node_conditions (aid, nid, type, status, reason, message)"
	" VALUES ($1, $2, 'Installed', $3, $4, $5) ON CONFLICT (aid, nid, type) DO UPDATE SET"
	" status = EXCLUDED.status, reason = EXCLUDED.reason, message = EXCLUDED.message,"
	" last_transition_at = CASE WHEN node_conditions.status = EXCLUDED.status"
	" THEN node_conditions.last_transition_at ELSE now() END"
};
static const struct db_stmt stmt_node_error = {
	"agent_node_error",
	"UPDATE nodes SET status = 'error', version = version + 1, updated_at = now()"
	" WHERE aid = $1 AND nid = $2 AND deleted_at IS NULL AND status <> 'error'"
};

static enum db_result read_peers(enum db_result r, PGresult **resp, struct vpn_peer **out,
				 size_t *n)
{
	*out = NULL;
	*n = 0;
	if (r != DB_OK)
		return r;
	PGresult *res = *resp;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows + 1, sizeof(**out));
	for (int i = 0; i < rows; i++) {
		struct vpn_peer *p = &(*out)[i];
		db_get_text(res, i, 0, p->pub_key, sizeof(p->pub_key));
		db_get_text(res, i, 1, p->endpoint_ip, sizeof(p->endpoint_ip));
		p->cluster_index = (int)db_get_int64(res, i, 2);
		p->vpn_host = (int)db_get_int64(res, i, 3);
	}
	*n = (size_t)rows;
	PQclear(res);
	return DB_OK;
}

enum db_result db_agent_vpn_sync(struct db_pool *db, const char *aid, const char *cid,
				 const char *nid, const char *pub_key, const char *endpoint_ip,
				 struct vpn_peer **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	const char *params[] = { aid, cid, nid, pub_key, endpoint_ip };
	enum db_result r = db_query(db, &stmt_vpn_update, 5, params, NULL);
	if (r != DB_OK)
		return r;
	PGresult *res;
	return read_peers(db_query(db, &stmt_vpn_peers, 3, params, &res), &res, out, n);
}

struct wg1_args {
	const char *aid, *cid, *nid, *pub_key, *endpoint;
};

static enum db_result wg1_tx(struct db_conn *c, void *arg)
{
	struct wg1_args *a = arg;
	enum db_result r = db_vpn_lock_account(c, a->aid);
	if (r != DB_OK)
		return r;
	const char *params[] = { a->aid, a->cid, a->nid, a->pub_key, a->endpoint };
	PGresult *res;
	if ((r = db_exec(c, &stmt_wg1_update, 5, params, &res)) != DB_OK)
		return r;
	bool changed = PQntuples(res) == 1;
	PQclear(res);
	/* A new key: the node (when online) gets the whole peer set. */
	return changed ? db_vpn_peers_changed(c, a->aid, a->cid, a->nid) : DB_OK;
}

enum db_result db_agent_wg1_report(struct db_pool *db, const char *aid, const char *cid,
				   const char *nid, const char *pub_key, const char *endpoint)
{
	struct wg1_args args = { aid, cid, nid, pub_key, endpoint };
	return db_transaction(db, wg1_tx, &args);
}

enum db_result db_agent_control_planes(struct db_pool *db, const char *aid, const char *cid,
				       struct vpn_peer **out, size_t *n)
{
	const char *params[] = { aid, cid };
	PGresult *res;
	return read_peers(db_query(db, &stmt_control_planes, 2, params, &res), &res, out, n);
}

enum db_result db_agent_vip_holder(struct db_pool *db, const char *aid, const char *cid,
				   const char *nid, bool *is_holder, int *generation)
{
	const char *params[] = { aid, cid, nid };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_vip, 3, params, &res);
	if (r != DB_OK)
		return r;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	if (r == DB_OK) {
		*is_holder = strcmp(PQgetvalue(res, 0, 0), nid) == 0;
		*generation = (int)db_get_int64(res, 0, 1);
	}
	PQclear(res);
	return r;
}

struct credentials_args {
	const char *aid, *cid, *nid, *sealed, *version, *trace_id, *ip;
};

static enum db_result credentials_tx(struct db_conn *c, void *arg)
{
	struct credentials_args *a = arg;
	const char *params[] = { a->aid, a->cid, a->sealed, a->version, a->nid };
	enum db_result r = db_exec(c, &stmt_credentials_put, 5, params, NULL);
	if (r == DB_OK)
		r = db_exec(c, &stmt_configured, 2, params, NULL);
	struct audit_actor actor = {
		.type = "node", .id = a->nid, .trace_id = a->trace_id, .ip = a->ip
	};
	if (r == DB_OK)
		r = db_audit_insert(c, a->aid, &actor, "cluster.credentials", "cluster", a->cid);
	if (r == DB_OK)
		r = db_cluster_status_refresh(c, a->aid, a->cid);
	return r;
}

enum db_result db_agent_credentials_put(struct db_pool *db, const char *aid, const char *cid,
					const char *nid, const char *sealed,
					const char *kubernetes_version, const char *trace_id,
					const char *ip)
{
	struct credentials_args args = { aid, cid, nid, sealed, kubernetes_version, trace_id, ip };
	return db_transaction(db, credentials_tx, &args);
}

enum db_result db_agent_credentials_get(struct db_pool *db, const char *aid, const char *cid,
					char **sealed)
{
	*sealed = NULL;
	const char *params[] = { aid, cid };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_credentials_get, 2, params, &res);
	if (r != DB_OK)
		return r;
	if (PQntuples(res) == 1)
		*sealed = xstrdup(PQgetvalue(res, 0, 0));
	else
		r = DB_NOT_FOUND;
	PQclear(res);
	return r;
}

enum db_result db_agent_event(struct db_pool *db, const char *aid, const char *nid,
			      const char *type, int severity, const char *message,
			      const char *details)
{
	char severity_buf[24];
	const char *params[] = { aid,	  nid,	  type, db_int64_param(severity, severity_buf),
				 message, details };
	return db_query(db, &stmt_event, 6, params, NULL);
}

struct install_args {
	const char *aid, *nid, *status, *message;
	bool failed;
};

static enum db_result install_tx(struct db_conn *c, void *arg)
{
	struct install_args *a = arg;
	const char *params[] = { a->aid, a->nid, a->failed ? "False" : "Unknown", a->status,
				 a->message };
	if (!a->failed && strcmp(a->status, "INSTALLED") == 0)
		params[2] = "True";
	enum db_result r = db_exec(c, &stmt_install_condition, 5, params, NULL);
	if (r == DB_OK && a->failed)
		r = db_exec(c, &stmt_node_error, 2, params, NULL);
	return r;
}

enum db_result db_agent_install_status(struct db_pool *db, const char *aid, const char *nid,
				       const char *status, const char *message, bool failed)
{
	struct install_args args = { aid, nid, status, message, failed };
	return db_transaction(db, install_tx, &args);
}
