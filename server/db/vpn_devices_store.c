/* SQL for users' VPN devices (see include/db/vpn_devices_store.h) and the
 * wg1 peer updates of the clusters they reach.
 *
 * Every write takes the account's row lock first (FOR NO KEY UPDATE, which
 * does not block inserts that merely reference the account): addresses are
 * chosen under it, and the peer sets rendered after it see every change that
 * committed before, so two instances never hand out one address nor send a
 * peer set that misses a device. The unique (aid, host) constraint backs the
 * allocation up.
 *
 * A peer update is coalesced: while a vpn.devices job of the cluster has
 * handed none of its instructions out yet, and has one for every node that
 * serves wg1, its instructions are rendered again with the peer set as it is
 * now instead of queuing another job. */
#include "db/vpn_devices_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "idalloc/clusters.h"
#include "util/xmalloc.h"

/* clang-format off */
#define DEVICE_COLUMNS \
	"d.aid, d.id, d.owner_uid::text, d.name, d.public_key, d.host, d.version, " \
	DB_US("d.created_at") ", " DB_US("d.updated_at") ", coalesce((SELECT string_agg(dc.cid, ' '" \
	" ORDER BY dc.cid) FROM vpn_device_clusters dc WHERE dc.aid = d.aid AND dc.device_id = d.id), '')"
/* $3: the owner, or NULL for any. */
#define OWNED " AND ($3::uuid IS NULL OR d.owner_uid = $3::uuid)"
/* The nodes of cluster (aid, cid) that serve wg1: online control planes that
 * reported their key. */
#define WG1_SERVERS(aid, cid) \
	" FROM nodes n WHERE n.aid = " aid " AND n.cid = " cid " AND n.deleted_at IS NULL" \
	" AND n.status = 'online' AND n.role IN ('controlplane', 'hybrid') AND n.wg1_pub_key <> ''"
/* SET_VPN_PEERS{interface:"wg1", peers:[{pubKey, vpnIp}]} for node n: every
 * device that chose n's cluster. */
#define WG1_PEERS_PAYLOAD \
	"json_build_object('interface', 'wg1', 'peers', coalesce((SELECT json_agg(json_build_object(" \
	"'pubKey', d.public_key, 'vpnIp', " IDALLOC_DEVICE_IP_SQL("d.host") ") ORDER BY d.host)" \
	" FROM vpn_devices d JOIN vpn_device_clusters dc ON dc.aid = d.aid AND dc.device_id = d.id" \
	" WHERE dc.aid = n.aid AND dc.cid = n.cid), '[]'))"
/* clang-format on */

/* The step of a vpn.devices job (job_steps_store.c): $1 aid, $2 cid, $3
 * job, $4 step, $5 the job's target (the cid). */
const struct db_stmt db_plan_wg1_peers = {
	"plan_wg1_peers",
	"INSERT INTO instructions (tag, aid, nid, job_id, step_id, type, payload)"
	" SELECT gen_random_uuid(), n.aid, n.nid, $3, $4, 'SET_VPN_PEERS', " WG1_PEERS_PAYLOAD
		WG1_SERVERS("$1", "$2") " AND n.cid = $5"
};

static const struct db_stmt stmt_coalesce = {
	"vpn_peers_coalesce",
	"WITH targets AS (SELECT n.nid" WG1_SERVERS(
		"$1", "$2") "),"
			    " open AS (SELECT j.id FROM jobs j WHERE j.aid = $1 AND j.cid = $2"
			    "  AND j.type = 'vpn.devices' AND j.status IN ('pending', 'running')"
			    "  AND NOT EXISTS (SELECT 1 FROM instructions i WHERE i.job_id = j.id"
			    "   AND i.status <> 'pending')"
			    "  AND NOT EXISTS (SELECT 1 FROM targets t WHERE NOT EXISTS (SELECT 1 "
			    "FROM instructions i"
			    "   WHERE i.job_id = j.id AND i.nid = t.nid))"
			    "  ORDER BY j.created_at DESC LIMIT 1),"
			    " updated AS (UPDATE instructions i SET payload = " WG1_PEERS_PAYLOAD
			    " FROM nodes n"
			    "  WHERE i.job_id = (SELECT id FROM open) AND i.status = 'pending'"
			    "  AND n.aid = i.aid AND n.nid = i.nid RETURNING i.tag)"
			    " SELECT (SELECT count(*) FROM updated), (SELECT count(*) FROM targets)"
};
static const struct db_stmt stmt_lock_account = {
	"vpn_lock_account", "SELECT 1 FROM accounts WHERE aid = $1 FOR NO KEY UPDATE"
};
static const struct db_stmt stmt_key_taken = {
	"vpn_key_taken", "SELECT 1 FROM vpn_devices WHERE aid = $1 AND public_key = $2"
};
/* The smallest free host: 1, or the least one after a used one whose next
 * is free; none when all 2,046 are used. */
static const struct db_stmt stmt_insert = {
	"vpn_devices_insert",
	"WITH d AS (INSERT INTO vpn_devices (aid, id, owner_uid, name, public_key, host)"
	" SELECT $1, $2, $3::uuid, $4, $5, h.host FROM (SELECT CASE WHEN NOT EXISTS (SELECT 1"
	"  FROM vpn_devices WHERE aid = $1 AND host = 1) THEN 1 ELSE (SELECT min(u.host) + 1"
	"  FROM vpn_devices u WHERE u.aid = $1 AND u.host < $6::int AND NOT EXISTS (SELECT 1"
	"  FROM vpn_devices v WHERE v.aid = $1 AND v.host = u.host + 1)) END AS host) h"
	" WHERE h.host IS NOT NULL RETURNING *)"
	" SELECT " DEVICE_COLUMNS " FROM d"
};
static const struct db_stmt stmt_list = {
	"vpn_devices_list",
	"SELECT " DEVICE_COLUMNS " FROM vpn_devices d WHERE d.aid = $1" OWNED
	" AND (d.created_at, d.id) > (" DB_TS("$2") ", $4) ORDER BY d.created_at, d.id LIMIT $5"
};
static const struct db_stmt stmt_get = {
	"vpn_devices_get",
	"SELECT " DEVICE_COLUMNS " FROM vpn_devices d WHERE d.aid = $1 AND d.id = $2" OWNED
};
static const struct db_stmt stmt_lock_device = {
	"vpn_devices_lock",
	"SELECT d.version FROM vpn_devices d WHERE d.aid = $1 AND d.id = $2" OWNED " FOR UPDATE"
};
static const struct db_stmt stmt_rename = {
	"vpn_devices_rename",
	"WITH d AS (UPDATE vpn_devices d SET name = $4, version = version + 1, updated_at = now()"
	" WHERE d.aid = $1 AND d.id = $2" OWNED " AND ($5::int IS NULL OR d.version = $5::int)"
	" RETURNING *) SELECT " DEVICE_COLUMNS " FROM d"
};
static const struct db_stmt stmt_delete = {
	"vpn_devices_delete",
	"DELETE FROM vpn_devices WHERE aid = $1 AND id = $2 RETURNING coalesce((SELECT"
	" string_agg(cid, ' ') FROM vpn_device_clusters WHERE aid = $1 AND device_id = $2), '')"
};
/* Of the cids asked ($3), those that may be chosen: active clusters of the
 * account, or clusters the device reaches already (a degraded one stays). */
static const struct db_stmt stmt_choosable = {
	"vpn_devices_choosable",
	"SELECT c.cid FROM clusters c WHERE c.aid = $1 AND c.cid = ANY ($3::text[])"
	" AND (c.status = 'active' OR EXISTS (SELECT 1 FROM vpn_device_clusters dc"
	" WHERE dc.aid = c.aid AND dc.cid = c.cid AND dc.device_id = $2))"
};
static const struct db_stmt stmt_clusters_remove = {
	"vpn_devices_clusters_remove",
	"DELETE FROM vpn_device_clusters WHERE aid = $1 AND device_id = $2"
	" AND NOT (cid = ANY ($3::text[])) RETURNING cid"
};
static const struct db_stmt stmt_clusters_add = {
	"vpn_devices_clusters_add",
	"INSERT INTO vpn_device_clusters (aid, device_id, cid) SELECT $1, $2, unnest($3::text[])"
	" ON CONFLICT DO NOTHING RETURNING cid"
};
static const struct db_stmt stmt_touch = {
	"vpn_devices_touch", "UPDATE vpn_devices SET version = version + 1, updated_at = now()"
			     " WHERE aid = $1 AND id = $2"
};
static const struct db_stmt stmt_clusters = {
	"vpn_devices_clusters",
	"SELECT c.cid, c.cluster_index, c.domain, coalesce(s.wg1_pub_key, ''),"
	" coalesce(s.wg1_endpoint, '') FROM vpn_devices d JOIN vpn_device_clusters dc"
	" ON dc.aid = d.aid AND dc.device_id = d.id JOIN clusters c ON c.aid = dc.aid"
	" AND c.cid = dc.cid LEFT JOIN LATERAL (SELECT n.wg1_pub_key, n.wg1_endpoint FROM nodes n"
	"  WHERE n.aid = c.aid AND n.cid = c.cid AND n.deleted_at IS NULL"
	"  AND n.role IN ('controlplane', 'hybrid') AND n.wg1_pub_key <> ''"
	"  ORDER BY n.status = 'online' DESC, n.vpn_host LIMIT 1) s ON true"
	" WHERE d.aid = $1 AND d.id = $2" OWNED " ORDER BY c.cid"
};

/* The clusters of the devices deleted: before the cascade, which comes after
 * the statement. */
static const struct db_stmt stmt_owner_gone = {
	"vpn_devices_owner_gone",
	"WITH gone AS (DELETE FROM vpn_devices WHERE aid = $1 AND owner_uid = $2::uuid RETURNING "
	"id)"
	" SELECT coalesce(string_agg(DISTINCT dc.cid, ' '), '') FROM vpn_device_clusters dc"
	" WHERE dc.aid = $1 AND dc.device_id IN (SELECT id FROM gone)"
};

#define HOSTS_PARAM_LEN 24

/* The lowest id: the cursor of a list's first page. */
static const char first_id[] = "";

static void read_cids(const char *text, struct vpn_device *out)
{
	out->ncids = 0;
	const char *p = text;
	while (*p && out->ncids < VPN_DEVICE_MAX_CLUSTERS) {
		size_t len = strcspn(p, " ");
		snprintf(out->cids[out->ncids], sizeof(out->cids[0]), "%.*s", (int)len, p);
		out->ncids++;
		p += len;
		p += strspn(p, " ");
	}
}

static void read_device(const PGresult *res, int row, struct vpn_device *out)
{
	db_get_text(res, row, 0, out->aid, sizeof(out->aid));
	db_get_text(res, row, 1, out->id, sizeof(out->id));
	db_get_text(res, row, 2, out->owner_uid, sizeof(out->owner_uid));
	db_get_text(res, row, 3, out->name, sizeof(out->name));
	db_get_text(res, row, 4, out->public_key, sizeof(out->public_key));
	out->host = (int)db_get_int64(res, row, 5);
	out->version = (int)db_get_int64(res, row, 6);
	out->created_us = db_get_int64(res, row, 7);
	out->updated_us = db_get_int64(res, row, 8);
	read_cids(PQgetvalue(res, row, 9), out);
}

/* Takes the result by address: the call that fills it is an argument too. */
static enum db_result one_device(enum db_result r, PGresult **resp, struct vpn_device *out)
{
	if (r != DB_OK)
		return r;
	PGresult *res = *resp;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	if (r == DB_OK)
		read_device(res, 0, out);
	PQclear(res);
	return r;
}

enum db_result db_vpn_lock_account(struct db_conn *c, const char *aid)
{
	const char *params[] = { aid };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_lock_account, 1, params, &res);
	if (r != DB_OK)
		return r;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	PQclear(res);
	return r;
}

enum db_result db_vpn_peers_changed(struct db_conn *c, const char *aid, const char *cid,
				    const char *created_by)
{
	const char *params[] = { aid, cid };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_coalesce, 2, params, &res);
	if (r != DB_OK)
		return r;
	int64_t updated = db_get_int64(res, 0, 0), targets = db_get_int64(res, 0, 1);
	PQclear(res);
	/* No node serves wg1: each gets the whole set when it reports its key. */
	if (targets == 0 || (updated > 0 && updated >= targets))
		return DB_OK;
	char job_id[IDALLOC_UUID_LEN + 1];
	idalloc_uuid(job_id);
	r = db_job_insert(c, job_id, aid, cid, "vpn.devices", "cluster", cid, created_by);
	return r == DB_OK ? db_job_advance(c, job_id) : r;
}

/* A peer update for each cid of the space-separated list. */
static enum db_result peers_changed_all(struct db_conn *c, const char *aid, const char *list,
					const char *created_by)
{
	struct vpn_device cids;
	read_cids(list, &cids);
	enum db_result r = DB_OK;
	for (size_t i = 0; i < cids.ncids && r == DB_OK; i++)
		r = db_vpn_peers_changed(c, aid, cids.cids[i], created_by);
	return r;
}

enum db_result db_vpn_devices_owner_gone(struct db_conn *c, const char *aid, const char *uid,
					 const char *created_by)
{
	const char *params[] = { aid, uid };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_owner_gone, 2, params, &res);
	if (r != DB_OK)
		return r;
	char *cids = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	r = peers_changed_all(c, aid, cids, created_by);
	free(cids);
	return r;
}

struct create_args {
	struct vpn_device *dev;
	const struct audit_actor *actor;
	enum vpn_device_refusal *why;
};

static enum db_result create_tx(struct db_conn *c, void *arg)
{
	struct create_args *a = arg;
	struct vpn_device *d = a->dev;
	*a->why = VPN_DEVICE_OK;
	enum db_result r = db_vpn_lock_account(c, d->aid);
	if (r != DB_OK)
		return r;
	const char *key[] = { d->aid, d->public_key };
	PGresult *res;
	if ((r = db_exec(c, &stmt_key_taken, 2, key, &res)) != DB_OK)
		return r;
	bool taken = PQntuples(res) > 0;
	PQclear(res);
	if (taken) {
		*a->why = VPN_DEVICE_KEY_TAKEN;
		return DB_CONFLICT;
	}
	char hosts[HOSTS_PARAM_LEN];
	const char *params[] = {
		d->aid,	 d->id,		d->owner_uid,
		d->name, d->public_key, db_int64_param(IDALLOC_DEVICE_HOSTS, hosts)
	};
	r = one_device(db_exec(c, &stmt_insert, 6, params, &res), &res, d);
	if (r == DB_NOT_FOUND) {
		*a->why = VPN_DEVICE_EXHAUSTED;
		return DB_CONFLICT;
	}
	return r == DB_OK ? db_audit_insert(c, d->aid, a->actor, "vpn_device.create", "vpn_device",
					    d->id)
			  : r;
}

enum db_result db_vpn_devices_create(struct db_pool *db, struct vpn_device *dev,
				     const struct audit_actor *actor, enum vpn_device_refusal *why)
{
	struct create_args args = { dev, actor, why };
	return db_transaction(db, create_tx, &args);
}

enum db_result db_vpn_devices_list(struct db_pool *db, const char *aid, const char *owner,
				   int64_t after_us, const char *after_id, int limit,
				   struct vpn_device **out, size_t *n)
{
	char after_buf[24], limit_buf[24];
	const char *params[] = { aid, db_int64_param(after_us, after_buf), owner,
				 after_id && *after_id ? after_id : first_id,
				 db_int64_param(limit, limit_buf) };
	PGresult *res;
	*out = NULL;
	*n = 0;
	enum db_result r = db_query(db, &stmt_list, 5, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows + 1, sizeof(**out));
	for (int i = 0; i < rows; i++)
		read_device(res, i, &(*out)[i]);
	*n = (size_t)rows;
	PQclear(res);
	return DB_OK;
}

enum db_result db_vpn_devices_get(struct db_pool *db, const char *aid, const char *owner,
				  const char *id, struct vpn_device *out)
{
	const char *params[] = { aid, id, owner };
	PGresult *res;
	return one_device(db_query(db, &stmt_get, 3, params, &res), &res, out);
}

enum db_result db_vpn_devices_rename(struct db_pool *db, const char *aid, const char *owner,
				     const char *id, const char *name, int if_version,
				     const struct audit_actor *actor, struct vpn_device *out)
{
	char version_buf[24];
	const char *params[] = { aid, id, owner, name,
				 if_version != 0 ? db_int64_param(if_version, version_buf) : NULL };
	PGresult *res;
	enum db_result r =
		one_device(db_query_audited(db, &stmt_rename, 5, params, &res, aid, actor,
					    "vpn_device.rename", "vpn_device", id),
			   &res, out);
	if (r == DB_NOT_FOUND && if_version != 0 &&
	    db_vpn_devices_get(db, aid, owner, id, out) == DB_OK)
		return DB_CONFLICT;
	return r;
}

/* Locks the device (DB_NOT_FOUND: none for owner); DB_CONFLICT when
 * if_version is set and it is at another version. */
static enum db_result lock_device(struct db_conn *c, const char *aid, const char *owner,
				  const char *id, int if_version)
{
	const char *params[] = { aid, id, owner };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_lock_device, 3, params, &res);
	if (r != DB_OK)
		return r;
	if (PQntuples(res) != 1)
		r = DB_NOT_FOUND;
	else if (if_version != 0 && db_get_int64(res, 0, 0) != if_version)
		r = DB_CONFLICT;
	PQclear(res);
	return r;
}

struct delete_args {
	const char *aid, *owner, *id;
	int if_version;
	const struct audit_actor *actor;
};

static enum db_result delete_tx(struct db_conn *c, void *arg)
{
	struct delete_args *a = arg;
	enum db_result r = db_vpn_lock_account(c, a->aid);
	if (r == DB_OK)
		r = lock_device(c, a->aid, a->owner, a->id, a->if_version);
	if (r != DB_OK)
		return r;
	const char *params[] = { a->aid, a->id };
	PGresult *res;
	if ((r = db_exec(c, &stmt_delete, 2, params, &res)) != DB_OK)
		return r;
	char *cids = xstrdup(PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	r = db_audit_insert(c, a->aid, a->actor, "vpn_device.delete", "vpn_device", a->id);
	if (r == DB_OK)
		r = peers_changed_all(c, a->aid, cids, a->actor->id);
	free(cids);
	return r;
}

enum db_result db_vpn_devices_delete(struct db_pool *db, const char *aid, const char *owner,
				     const char *id, int if_version,
				     const struct audit_actor *actor)
{
	struct delete_args args = { aid, owner, id, if_version, actor };
	return db_transaction(db, delete_tx, &args);
}

struct clusters_args {
	const char *aid, *owner, *id;
	const char (*cids)[8];
	size_t n;
	int if_version;
	const struct audit_actor *actor;
	struct vpn_device *out;
	enum vpn_device_refusal *why;
	size_t *bad;
};

/* The first of the asked cids that res (one cid per row) lacks, or n. */
static size_t first_missing(const PGresult *res, const char (*cids)[8], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		for (int row = 0; row < PQntuples(res) && !found; row++)
			found = strcmp(PQgetvalue(res, row, 0), cids[i]) == 0;
		if (!found)
			return i;
	}
	return n;
}

/* Runs stmt (aid, device, cids) and sends a peer update to each cid it returns. */
static enum db_result change_clusters(struct db_conn *c, const struct db_stmt *stmt,
				      const char *const *params, const char *created_by,
				      int *changed)
{
	PGresult *res;
	enum db_result r = db_exec(c, stmt, 3, params, &res);
	if (r != DB_OK)
		return r;
	for (int row = 0; r == DB_OK && row < PQntuples(res); row++)
		r = db_vpn_peers_changed(c, params[0], PQgetvalue(res, row, 0), created_by);
	*changed += PQntuples(res);
	PQclear(res);
	return r;
}

static enum db_result clusters_tx(struct db_conn *c, void *arg)
{
	struct clusters_args *a = arg;
	*a->why = VPN_DEVICE_OK;
	enum db_result r = db_vpn_lock_account(c, a->aid);
	if (r == DB_OK)
		r = lock_device(c, a->aid, a->owner, a->id, a->if_version);
	if (r != DB_OK)
		return r;
	struct db_array list = { 0 };
	for (size_t i = 0; i < a->n; i++)
		db_array_add(&list, a->cids[i]);
	const char *params[] = { a->aid, a->id, db_array_param(&list) };
	PGresult *res;
	r = db_exec(c, &stmt_choosable, 3, params, &res);
	if (r == DB_OK) {
		*a->bad = first_missing(res, a->cids, a->n);
		PQclear(res);
		if (*a->bad < a->n)
			*a->why = VPN_DEVICE_BAD_CLUSTER;
	}
	int changed = 0;
	if (r == DB_OK && *a->why == VPN_DEVICE_OK)
		r = change_clusters(c, &stmt_clusters_remove, params, a->actor->id, &changed);
	if (r == DB_OK && *a->why == VPN_DEVICE_OK)
		r = change_clusters(c, &stmt_clusters_add, params, a->actor->id, &changed);
	db_array_finish(&list);
	if (r == DB_OK && changed > 0) {
		if ((r = db_exec(c, &stmt_touch, 2, params, NULL)) == DB_OK)
			r = db_audit_insert(c, a->aid, a->actor, "vpn_device.clusters",
					    "vpn_device", a->id);
	}
	if (r != DB_OK || *a->why != VPN_DEVICE_OK)
		return r;
	const char *get[] = { a->aid, a->id, a->owner };
	return one_device(db_exec(c, &stmt_get, 3, get, &res), &res, a->out);
}

enum db_result db_vpn_devices_set_clusters(struct db_pool *db, const char *aid, const char *owner,
					   const char *id, const char (*cids)[8], size_t n,
					   int if_version, const struct audit_actor *actor,
					   struct vpn_device *out, enum vpn_device_refusal *why,
					   size_t *bad)
{
	struct clusters_args args = { aid, owner, id, cids, n, if_version, actor, out, why, bad };
	return db_transaction(db, clusters_tx, &args);
}

enum db_result db_vpn_devices_clusters(struct db_pool *db, const char *aid, const char *owner,
				       const char *id, struct vpn_device_cluster **out, size_t *n)
{
	const char *params[] = { aid, id, owner };
	PGresult *res;
	*out = NULL;
	*n = 0;
	enum db_result r = db_query(db, &stmt_clusters, 3, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows + 1, sizeof(**out));
	for (int i = 0; i < rows; i++) {
		struct vpn_device_cluster *dc = &(*out)[i];
		db_get_text(res, i, 0, dc->cid, sizeof(dc->cid));
		dc->cluster_index = (int)db_get_int64(res, i, 1);
		db_get_text(res, i, 2, dc->domain, sizeof(dc->domain));
		db_get_text(res, i, 3, dc->pub_key, sizeof(dc->pub_key));
		db_get_text(res, i, 4, dc->endpoint, sizeof(dc->endpoint));
	}
	*n = (size_t)rows;
	PQclear(res);
	return DB_OK;
}
