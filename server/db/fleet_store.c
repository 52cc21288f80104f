/* SQL for the fleet of nodes (see include/db/fleet_store.h). Transitions are
 * set-based: one statement changes the nodes, writes their conditions and
 * audit entries, and names the clusters whose status must follow. */
#include "db/fleet_store.h"

#include <stdlib.h>
#include <string.h>

#include "db_internal.h"

/* clang-format off */
/* The Ready condition of the nodes in the CTE "changed" (aid, nid):
 * lastTransitionAt moves only when the status does. */
#define UPSERT_READY(status, reason, message) \
	"INSERT INTO node_conditions (aid, nid, type, status, reason, message)" \
	" SELECT aid, nid, 'Ready', " status ", " reason ", " message " FROM changed" \
	" ON CONFLICT (aid, nid, type) DO UPDATE SET status = EXCLUDED.status," \
	" reason = EXCLUDED.reason, message = EXCLUDED.message, last_transition_at =" \
	" CASE WHEN node_conditions.status = EXCLUDED.status" \
	" THEN node_conditions.last_transition_at ELSE now() END"
#define AUDIT_CHANGED(action) \
	"INSERT INTO audit_events (aid, actor_type, actor_id, action, target_type, target_id)" \
	" SELECT aid, 'system', 'runosd', " action ", 'node', nid FROM changed"
/* clang-format on */

/* A cluster's status follows its nodes (API.md §4): active with credentials
 * and a control-plane node online, degraded with credentials and none, else
 * provisioning while it has nodes and pending without. */
static const struct db_stmt stmt_cluster_status = {
	"fleet_cluster_status",
	"UPDATE clusters c SET status = s.next, version = c.version + 1, updated_at = now()"
	" FROM (SELECT CASE"
	"  WHEN cl.configured AND EXISTS (SELECT 1 FROM nodes n WHERE n.aid = cl.aid"
	"   AND n.cid = cl.cid AND n.deleted_at IS NULL AND n.status = 'online'"
	"   AND n.role IN ('controlplane', 'hybrid')) THEN 'active'"
	"  WHEN cl.configured THEN 'degraded'"
	"  WHEN EXISTS (SELECT 1 FROM nodes n WHERE n.aid = cl.aid AND n.cid = cl.cid"
	"   AND n.deleted_at IS NULL) THEN 'provisioning'"
	"  ELSE 'pending' END AS next FROM clusters cl WHERE cl.aid = $1 AND cl.cid = $2) s"
	" WHERE c.aid = $1 AND c.cid = $2 AND c.status <> 'deleting' AND c.status <> s.next"
};
static const struct db_stmt stmt_cert_lookup = {
	"fleet_cert_lookup",
	"SELECT c.revoked_at IS NOT NULL OR n.deleted_at IS NOT NULL, n.cid, n.role"
	" FROM node_certificates c JOIN nodes n ON n.aid = c.aid AND n.nid = c.nid"
	" WHERE c.serial = $1 AND c.aid = $2 AND c.nid = $3"
};
static const struct db_stmt stmt_revoked_since = {
	"fleet_revoked_since",
	"SELECT serial, " DB_US("revoked_at") " FROM certificate_revocations"
					      " WHERE revoked_at >= " DB_TS(
						      "$1") " ORDER BY revoked_at"
};
static const struct db_stmt stmt_cert_insert = {
	"fleet_cert_insert",
	"WITH cert AS (INSERT INTO node_certificates (serial, aid, nid, not_after)"
	" VALUES ($3, $1, $2, " DB_TS(
		"$4") ") RETURNING aid, nid, not_after)"
		      " UPDATE nodes n SET cert_not_after = cert.not_after FROM cert"
		      " WHERE n.aid = cert.aid AND n.nid = cert.nid"
};
/* The nodes of the batch that the database does not have online. */
static const struct db_stmt stmt_write_beats = {
	"fleet_write_beats",
	"WITH v AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[],"
	"  $5::text[]) AS v(aid, nid, us, ip, version)),"
	" seen AS (UPDATE nodes n SET last_heartbeat_at = " DB_TS(
		"v.us") ","
			"  external_ip = v.ip, agent_version = v.version FROM v"
			"  WHERE n.aid = v.aid AND n.nid = v.nid AND n.deleted_at IS NULL"
			"  RETURNING n.aid, n.nid, n.status, v.us, v.ip, v.version)"
			" SELECT aid, nid, us, ip, version FROM seen WHERE status <> 'online'"
};
static const struct db_stmt stmt_mark_online = {
	"fleet_mark_online",
	"WITH changed AS (UPDATE nodes SET status = 'online', last_heartbeat_at = " DB_TS(
		"$3") ","
		      "  external_ip = $4, agent_version = $5, version = version + 1, updated_at = "
		      "now()"
		      "  WHERE aid = $1 AND nid = $2 AND deleted_at IS NULL AND status <> 'online'"
		      "  RETURNING aid, nid, cid),"
		      " cond AS (" UPSERT_READY(
			      "'True'", "'NodeOnline'",
			      "'heartbeats arrive'") "),"
						     " audit AS (" AUDIT_CHANGED(
							     "'node.online'") ")"
									      " SELECT aid, cid "
									      "FROM changed"
};
static const struct db_stmt stmt_mark_offline = {
	"fleet_mark_offline",
	"WITH changed AS (UPDATE nodes SET status = 'offline', version = version + 1,"
	"  updated_at = now() WHERE status = 'online' AND deleted_at IS NULL"
	"  AND last_heartbeat_at < now() - $1::int * interval '1 second' RETURNING aid, nid, cid),"
	" cond AS (" UPSERT_READY(
		"'False'", "'NodeOffline'",
		"'no heartbeat for ' || $1 || ' s'") "),"
						     " audit AS (" AUDIT_CHANGED(
							     "'node.offline'") ")"
									       " SELECT aid, nid, "
									       "cid FROM changed"
};

enum db_result db_cluster_status_refresh(struct db_conn *c, const char *aid, const char *cid)
{
	const char *params[] = { aid, cid };
	return db_exec(c, &stmt_cluster_status, 2, params, NULL);
}

enum db_result db_fleet_cert_lookup(struct db_pool *db, const char *serial, const char *aid,
				    const char *nid, struct cert_record *out)
{
	const char *params[] = { serial, aid, nid };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_cert_lookup, 3, params, &res);
	if (r != DB_OK)
		return r;
	if (PQntuples(res) == 1) {
		out->revoked = db_get_bool(res, 0, 0);
		db_get_text(res, 0, 1, out->cid, sizeof(out->cid));
		db_get_text(res, 0, 2, out->role, sizeof(out->role));
	} else {
		r = DB_NOT_FOUND;
	}
	PQclear(res);
	return r;
}

enum db_result db_fleet_revoked_since(struct db_pool *db, int64_t since_us,
				      void (*fn)(void *arg, const char *serial), void *arg,
				      int64_t *latest_us)
{
	char since_buf[24];
	const char *params[] = { db_int64_param(since_us, since_buf) };
	PGresult *res;
	enum db_result r = db_query(db, &stmt_revoked_since, 1, params, &res);
	if (r != DB_OK)
		return r;
	for (int i = 0; i < PQntuples(res); i++) {
		fn(arg, PQgetvalue(res, i, 0));
		int64_t at = db_get_int64(res, i, 1);
		if (at > *latest_us)
			*latest_us = at;
	}
	PQclear(res);
	return DB_OK;
}

enum db_result db_fleet_cert_insert(struct db_pool *db, const char *aid, const char *nid,
				    const char *serial, int64_t not_after_us)
{
	char after_buf[24];
	const char *params[] = { aid, nid, serial, db_int64_param(not_after_us, after_buf) };
	return db_query(db, &stmt_cert_insert, 4, params, NULL);
}

/* Runs a transition statement and refreshes the status of every cluster it
 * names (columns aid_col, cid_col of its result). */
static enum db_result transition(struct db_conn *c, const struct db_stmt *stmt, int nparams,
				 const char *const *params, int aid_col, int cid_col,
				 PGresult **out)
{
	PGresult *res;
	enum db_result r = db_exec(c, stmt, nparams, params, &res);
	if (r != DB_OK)
		return r;
	for (int i = 0; i < PQntuples(res) && r == DB_OK; i++)
		r = db_cluster_status_refresh(c, PQgetvalue(res, i, aid_col),
					      PQgetvalue(res, i, cid_col));
	if (r == DB_OK && out)
		*out = res;
	else
		PQclear(res);
	return r;
}

struct online_args {
	const struct heartbeat *beat;
	bool *changed;
};

static enum db_result online_tx(struct db_conn *c, void *arg)
{
	struct online_args *a = arg;
	char at_buf[24];
	const char *params[] = { a->beat->aid, a->beat->nid, db_int64_param(a->beat->at_us, at_buf),
				 a->beat->external_ip, a->beat->version };
	PGresult *res;
	enum db_result r = transition(c, &stmt_mark_online, 5, params, 0, 1, &res);
	if (r == DB_OK) {
		*a->changed = PQntuples(res) > 0;
		PQclear(res);
	}
	return r;
}

enum db_result db_fleet_mark_online(struct db_pool *db, const struct heartbeat *beat, bool *changed)
{
	*changed = false;
	struct online_args args = { beat, changed };
	return db_transaction(db, online_tx, &args);
}

enum db_result db_fleet_write_beats(struct db_pool *db, const struct heartbeat *beats, size_t n)
{
	/* One array per column, unnested together into rows. */
	struct db_array cols[5] = { { 0 } };
	for (size_t i = 0; i < n; i++) {
		char us[24];
		db_array_add(&cols[0], beats[i].aid);
		db_array_add(&cols[1], beats[i].nid);
		db_array_add(&cols[2], db_int64_param(beats[i].at_us, us));
		db_array_add(&cols[3], beats[i].external_ip);
		db_array_add(&cols[4], beats[i].version);
	}
	const char *params[5];
	for (int c = 0; c < 5; c++)
		params[c] = db_array_param(&cols[c]);
	PGresult *res;
	enum db_result r = db_query(db, &stmt_write_beats, 5, params, &res);
	for (int c = 0; c < 5; c++)
		db_array_finish(&cols[c]);
	if (r != DB_OK)
		return r;
	/* Rare: nodes another instance marked offline while they beat here. */
	for (int i = 0; i < PQntuples(res) && r == DB_OK; i++) {
		struct heartbeat beat = { .at_us = db_get_int64(res, i, 2) };
		db_get_text(res, i, 0, beat.aid, sizeof(beat.aid));
		db_get_text(res, i, 1, beat.nid, sizeof(beat.nid));
		db_get_text(res, i, 3, beat.external_ip, sizeof(beat.external_ip));
		db_get_text(res, i, 4, beat.version, sizeof(beat.version));
		bool changed;
		r = db_fleet_mark_online(db, &beat, &changed);
	}
	PQclear(res);
	return r;
}

struct offline_args {
	int offline_after;
	void (*fn)(void *arg, const char *aid, const char *nid);
	void *arg;
	int *count;
};

static enum db_result offline_tx(struct db_conn *c, void *arg)
{
	struct offline_args *a = arg;
	char after_buf[24];
	const char *params[] = { db_int64_param(a->offline_after, after_buf) };
	PGresult *res;
	enum db_result r = transition(c, &stmt_mark_offline, 1, params, 0, 2, &res);
	if (r != DB_OK)
		return r;
	*a->count = PQntuples(res);
	for (int i = 0; i < PQntuples(res); i++)
		a->fn(a->arg, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
	PQclear(res);
	return DB_OK;
}

enum db_result db_fleet_mark_offline(struct db_pool *db, int offline_after,
				     void (*fn)(void *arg, const char *aid, const char *nid),
				     void *arg, int *count)
{
	*count = 0;
	struct offline_args args = { offline_after, fn, arg, count };
	return db_transaction(db, offline_tx, &args);
}
