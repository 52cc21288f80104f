/* SQL for clusters (see include/db/clusters_store.h).
 *
 * Allocation under concurrency: a create locks its account's row (FOR NO KEY
 * UPDATE, which does not block foreign-key checks of other tables) before it
 * reads the cids and indexes in use, so creates in one account are serialised
 * inside PostgreSQL whichever runosd instance runs them, and each sees the
 * ones committed before it. Creates in different accounts do not wait for
 * each other. The unique constraints on (aid, cid) and (aid, cluster_index)
 * stay as the last line of defence. A lock was chosen over insert-and-retry
 * because the index must be the smallest free one: under retry, concurrent
 * creates would all compute the same smallest index and all but one would
 * retry, over and over. */
#include "db/clusters_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "util/xmalloc.h"

/* The node counts are read with the cluster, so they cannot disagree with the
 * nodes table; a deleted node no longer counts. One subquery, one scan of the
 * cluster's nodes, as an array {total,online,offline} (three subqueries cost
 * the read path a third of PostgreSQL's time: BENCHMARKS.md). */
#define NODE_COUNTS                                                                                \
	"(SELECT ARRAY[count(*), count(*) FILTER (WHERE n.status = 'online'),"                     \
	" count(*) FILTER (WHERE n.status = 'offline')] FROM nodes n"                              \
	" WHERE n.aid = clusters.aid AND n.cid = clusters.cid AND n.deleted_at IS NULL)"
/* The conditions as JSON text (the API shapes them): one index probe of a
 * table that has a row only for clusters whose delete was started. */
/* The macros are laid out by hand: clang-format 14 splits their strings differently
 * on each run. */
/* clang-format off */
#define CONDITIONS \
	"(SELECT coalesce(json_agg(json_build_object('type', k.type, 'status', k.status," \
	" 'reason', k.reason, 'message', k.message, 'lastTransitionUs'," \
	" " DB_US("k.last_transition_at") ") ORDER BY k.type), '[]')::text" \
	" FROM cluster_conditions k WHERE k.aid = clusters.aid AND k.cid = clusters.cid)"
#define CLUSTER_COLUMNS \
	"cid, name, description, cluster_index, domain, status, configured, version, " \
	DB_US("created_at") ", " DB_US("updated_at") ", " NODE_COUNTS ", " CONDITIONS
/* clang-format on */

static const struct db_stmt stmt_lock_account = {
	"clusters_lock_account",
	"SELECT aid, base_domain FROM accounts WHERE aid = $1 FOR NO KEY UPDATE"
};
static const struct db_stmt stmt_in_use = {
	"clusters_in_use", "SELECT cid, cluster_index FROM clusters WHERE aid = $1"
};
static const struct db_stmt stmt_insert = {
	"clusters_insert",
	"INSERT INTO clusters (aid, cid, name, description, cluster_index, domain)"
	" VALUES ($1, $2, $3, $4, $5, $6) RETURNING " CLUSTER_COLUMNS
};
static const struct db_stmt stmt_get = { "clusters_get",
					 "SELECT " CLUSTER_COLUMNS
					 " FROM clusters WHERE aid = $1 AND cid = $2" };
static const struct db_stmt stmt_list = {
	"clusters_list",
	"SELECT " CLUSTER_COLUMNS " FROM clusters WHERE aid = $1"
	" AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR cid = $3)"
	" AND (created_at, cid) > (" DB_TS("$4") ", $5) ORDER BY created_at, cid LIMIT $6"
};
static const struct db_stmt stmt_update = {
	"clusters_update",
	"UPDATE clusters SET name = coalesce($3, name), description = coalesce($4, description),"
	" version = version + 1, updated_at = now()"
	" WHERE aid = $1 AND cid = $2 AND ($5::int IS NULL OR version = $5)"
	" RETURNING " CLUSTER_COLUMNS
};
/* The cluster locked for a delete: its version, its live nodes and the
 * cluster.delete job tearing it down, if one runs. */
static const struct db_stmt stmt_lock_for_delete = {
	"clusters_lock_for_delete",
	"SELECT c.version, (SELECT count(*) FROM nodes n WHERE n.aid = c.aid AND n.cid = c.cid"
	" AND n.deleted_at IS NULL), (SELECT j.id::text FROM jobs j WHERE j.aid = c.aid"
	" AND j.cid = c.cid AND j.type = 'cluster.delete' AND j.status IN ('pending', 'running')"
	" ORDER BY j.created_at DESC LIMIT 1) FROM clusters c WHERE c.aid = $1 AND c.cid = $2"
	" FOR UPDATE OF c"
};
static const struct db_stmt stmt_delete = { "clusters_delete",
					    "DELETE FROM clusters WHERE aid = $1 AND cid = $2" };
static const struct db_stmt stmt_deleting = {
	"clusters_deleting",
	"UPDATE clusters SET status = 'deleting', version = version + 1, updated_at = now()"
	" WHERE aid = $1 AND cid = $2"
};
/* Out of "deleting" (to the status its nodes give, db_cluster_status_refresh). */
static const struct db_stmt stmt_not_deleting = {
	"clusters_not_deleting",
	"UPDATE clusters SET status = 'pending', version = version + 1, updated_at = now()"
	" WHERE aid = $1 AND cid = $2 AND status = 'deleting'"
};
static const struct db_stmt stmt_set_condition = {
	"clusters_set_condition",
	"INSERT INTO cluster_conditions AS k (aid, cid, type, status, reason, message)"
	" VALUES ($1, $2, $3, $4, $5, left($6, 400)) ON CONFLICT (aid, cid, type) DO UPDATE SET"
	" status = EXCLUDED.status, reason = EXCLUDED.reason, message = EXCLUDED.message,"
	" last_transition_at = CASE WHEN k.status = EXCLUDED.status THEN k.last_transition_at"
	" ELSE now() END"
};

static void read_cluster(const PGresult *res, int row, struct cluster *out)
{
	db_get_text(res, row, 0, out->cid, sizeof(out->cid));
	db_get_text(res, row, 1, out->name, sizeof(out->name));
	db_get_text(res, row, 2, out->description, sizeof(out->description));
	out->cluster_index = (int)db_get_int64(res, row, 3);
	db_get_text(res, row, 4, out->domain, sizeof(out->domain));
	db_get_text(res, row, 5, out->status, sizeof(out->status));
	out->configured = db_get_bool(res, row, 6);
	out->version = (int)db_get_int64(res, row, 7);
	out->created_us = db_get_int64(res, row, 8);
	out->updated_us = db_get_int64(res, row, 9);
	if (sscanf(PQgetvalue(res, row, 10), "{%d,%d,%d}", &out->nodes_total, &out->nodes_online,
		   &out->nodes_offline) != 3)
		out->nodes_total = out->nodes_online = out->nodes_offline = 0;
	/* Whole or not at all: cut JSON would not parse. */
	if (strlen(PQgetvalue(res, row, 11)) < sizeof(out->conditions))
		db_get_text(res, row, 11, out->conditions, sizeof(out->conditions));
	else
		snprintf(out->conditions, sizeof(out->conditions), "[]");
}

/* Takes the result by address: the call that fills it is an argument too,
 * and C leaves the order of argument evaluation open. */
static enum db_result one_cluster(enum db_result r, PGresult **resp, struct cluster *out)
{
	if (r != DB_OK)
		return r;
	PGresult *res = *resp;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	if (r == DB_OK)
		read_cluster(res, 0, out);
	PQclear(res);
	return r;
}

struct create_args {
	const char *aid, *name, *description;
	const struct audit_actor *actor;
	struct cluster *out;
	enum clusters_full *full;
};

static enum db_result create_tx(struct db_conn *c, void *arg)
{
	struct create_args *a = arg;
	const char *params[] = { a->aid };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_lock_account, 1, params, &res);
	if (r != DB_OK)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return DB_NOT_FOUND;
	}
	char base_domain[256];
	db_get_text(res, 0, 1, base_domain, sizeof(base_domain));
	PQclear(res);

	r = db_exec(c, &stmt_in_use, 1, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	char(*cids)[IDALLOC_CID_LEN + 1] = xcalloc((size_t)rows + 1, sizeof(*cids));
	bool used[IDALLOC_CLUSTER_INDEXES] = { false };
	for (int i = 0; i < rows; i++) {
		db_get_text(res, i, 0, cids[i], sizeof(cids[i]));
		int index = (int)db_get_int64(res, i, 1);
		if (index >= 0 && index < IDALLOC_CLUSTER_INDEXES)
			used[index] = true;
	}
	PQclear(res);

	char cid[IDALLOC_CID_LEN + 1];
	int index = idalloc_cluster_index(used);
	bool have_cid = idalloc_cid((const char(*)[IDALLOC_CID_LEN + 1]) cids, (size_t)rows, cid);
	free(cids);
	if (index < 0 || !have_cid) {
		*a->full = index < 0 ? CLUSTERS_NO_INDEX : CLUSTERS_NO_CID;
		return DB_CONFLICT;
	}

	char index_text[24], domain[300];
	snprintf(domain, sizeof(domain), "%s.%s.%s", cid, a->aid, base_domain);
	const char *iparams[] = {
		a->aid, cid, a->name, a->description, db_int64_param(index, index_text), domain
	};
	r = one_cluster(db_exec(c, &stmt_insert, 6, iparams, &res), &res, a->out);
	/* Under the account lock a unique violation cannot happen; if it ever
	 * does, running the transaction again reads the rows that caused it. */
	if (r == DB_CONFLICT)
		return DB_RETRY;
	if (r == DB_OK)
		r = db_audit_insert(c, a->aid, a->actor, "cluster.create", "cluster", cid);
	return r;
}

enum db_result db_clusters_create(struct db_pool *db, const char *aid,
				  const struct audit_actor *actor, const char *name,
				  const char *description, struct cluster *out,
				  enum clusters_full *full)
{
	*full = CLUSTERS_ROOM;
	struct create_args args = { aid, name, description ? description : "", actor, out, full };
	return db_transaction(db, create_tx, &args);
}

enum db_result db_clusters_get(struct db_pool *db, const char *aid, const char *cid,
			       struct cluster *out)
{
	const char *params[] = { aid, cid };
	PGresult *res;
	return one_cluster(db_query(db, &stmt_get, 2, params, &res), &res, out);
}

enum db_result db_clusters_list(struct db_pool *db, const char *aid, const char *status,
				const char *only_cid, int64_t after_us, const char *after_cid,
				int limit, struct cluster **out, size_t *n)
{
	char after_buf[24], limit_buf[24];
	const char *params[] = { aid,
				 status,
				 only_cid,
				 db_int64_param(after_us, after_buf),
				 after_cid ? after_cid : "",
				 db_int64_param(limit, limit_buf) };
	PGresult *res;
	*out = NULL;
	*n = 0;
	enum db_result r = db_query(db, &stmt_list, 6, params, &res);
	if (r != DB_OK)
		return r;
	int rows = PQntuples(res);
	*out = xcalloc((size_t)rows, sizeof(**out));
	for (int i = 0; i < rows; i++)
		read_cluster(res, i, &(*out)[i]);
	*n = (size_t)rows;
	PQclear(res);
	return DB_OK;
}

/* After a conditional write touched no row: DB_CONFLICT when the cluster
 * exists (another version), else DB_NOT_FOUND. */
static enum db_result missing_or_changed(struct db_conn *c, const char *aid, const char *cid,
					 int if_version)
{
	if (if_version == 0)
		return DB_NOT_FOUND;
	const char *params[] = { aid, cid };
	PGresult *res;
	struct cluster existing;
	enum db_result r = one_cluster(db_exec(c, &stmt_get, 2, params, &res), &res, &existing);
	return r == DB_OK ? DB_CONFLICT : r;
}

struct change_args {
	const char *aid, *cid, *name, *description;
	const struct audit_actor *actor;
	int if_version;
	struct cluster *out;
};

static enum db_result update_tx(struct db_conn *c, void *arg)
{
	struct change_args *a = arg;
	char version_buf[24];
	const char *params[] = { a->aid, a->cid, a->name, a->description,
				 a->if_version != 0 ? db_int64_param(a->if_version, version_buf)
						    : NULL };
	PGresult *res;
	enum db_result r = one_cluster(db_exec(c, &stmt_update, 5, params, &res), &res, a->out);
	if (r == DB_NOT_FOUND)
		return missing_or_changed(c, a->aid, a->cid, a->if_version);
	if (r == DB_OK && a->name)
		r = db_audit_insert(c, a->aid, a->actor, "cluster.rename", "cluster", a->cid);
	if (r == DB_OK && a->description)
		r = db_audit_insert(c, a->aid, a->actor, "cluster.describe", "cluster", a->cid);
	return r;
}

enum db_result db_clusters_update(struct db_pool *db, const char *aid, const char *cid,
				  const struct audit_actor *actor, const char *name,
				  const char *description, int if_version, struct cluster *out)
{
	struct change_args args = { aid, cid, name, description, actor, if_version, out };
	return db_transaction(db, update_tx, &args);
}

static enum db_result set_condition(struct db_conn *c, const char *aid, const char *cid,
				    const char *status, const char *reason, const char *message)
{
	const char *params[] = { aid, cid, "Deleting", status, reason, message };
	return db_exec(c, &stmt_set_condition, 6, params, NULL);
}

struct delete_args {
	const char *aid, *cid;
	const struct audit_actor *actor;
	int if_version;
	char *job_id;
	enum cluster_delete_outcome *outcome;
};

/* The version is checked first, whatever the delete then does. */
static enum db_result delete_tx(struct db_conn *c, void *arg)
{
	struct delete_args *a = arg;
	const char *params[] = { a->aid, a->cid };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_lock_for_delete, 2, params, &res);
	if (r != DB_OK)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return DB_NOT_FOUND;
	}
	int version = (int)db_get_int64(res, 0, 0);
	int64_t live_nodes = db_get_int64(res, 0, 1);
	bool deleting = !PQgetisnull(res, 0, 2);
	if (deleting)
		db_get_text(res, 0, 2, a->job_id, IDALLOC_UUID_LEN + 1);
	PQclear(res);
	if (a->if_version != 0 && a->if_version != version)
		return DB_CONFLICT;
	if (deleting) {
		*a->outcome = CLUSTER_BEING_DELETED;
		return DB_OK;
	}
	if (live_nodes == 0) {
		*a->outcome = CLUSTER_DELETED;
		if ((r = db_exec(c, &stmt_delete, 2, params, NULL)) != DB_OK)
			return r;
		return db_audit_insert(c, a->aid, a->actor, "cluster.delete", "cluster", a->cid);
	}
	/* Nodes are torn down by a job (their agents uninstall); the cluster
	 * goes at its end, or comes back when the job fails or is cancelled
	 * (db_cluster_teardown_stopped). */
	*a->outcome = CLUSTER_TEARDOWN_STARTED;
	char message[300];
	snprintf(message, sizeof(message),
		 "Delete job %s tears the cluster down; cancel it (POST /jobs/%s/cancel) to keep "
		 "the cluster",
		 a->job_id, a->job_id);
	if ((r = db_exec(c, &stmt_deleting, 2, params, NULL)) != DB_OK ||
	    (r = set_condition(c, a->aid, a->cid, "True", "DeleteRequested", message)) != DB_OK ||
	    (r = db_job_insert(c, a->job_id, a->aid, a->cid, "cluster.delete", "cluster", a->cid,
			       a->actor->id)) != DB_OK ||
	    (r = db_audit_insert(c, a->aid, a->actor, "cluster.delete", "cluster", a->cid)) !=
		    DB_OK)
		return r;
	return db_job_advance(c, a->job_id);
}

enum db_result db_clusters_delete(struct db_pool *db, const char *aid, const char *cid,
				  const struct audit_actor *actor, int if_version,
				  char job_id[IDALLOC_UUID_LEN + 1],
				  enum cluster_delete_outcome *outcome)
{
	*outcome = CLUSTER_DELETED;
	struct delete_args args = { aid, cid, actor, if_version, job_id, outcome };
	return db_transaction(db, delete_tx, &args);
}

enum db_result db_cluster_teardown_stopped(struct db_conn *c, const char *aid, const char *cid,
					   const char *job_id, bool cancelled, const char *error)
{
	const char *params[] = { aid, cid };
	char message[400];
	if (cancelled)
		snprintf(message, sizeof(message),
			 "Delete job %s was cancelled; the cluster and its nodes stay. Delete it "
			 "again to retry",
			 job_id);
	else
		snprintf(message, sizeof(message),
			 "Delete job %s failed (%.200s); the cluster and its nodes stay. Delete it "
			 "again to retry",
			 job_id, error && *error ? error : "failed");
	enum db_result r;
	if ((r = db_exec(c, &stmt_not_deleting, 2, params, NULL)) != DB_OK ||
	    (r = db_cluster_status_refresh(c, aid, cid)) != DB_OK)
		return r;
	return set_condition(c, aid, cid, "False", cancelled ? "DeleteCancelled" : "DeleteFailed",
			     message);
}

/* ---- shared with the stores of what lives in a cluster ------------------- */

static const struct db_stmt stmt_share_lock = {
	"cluster_share_lock", "SELECT status FROM clusters WHERE aid = $1 AND cid = $2 FOR SHARE"
};

enum db_result db_cluster_share_lock(struct db_conn *c, const char *aid, const char *cid,
				     char *status, size_t cap)
{
	const char *params[] = { aid, cid };
	PGresult *res;
	enum db_result r = db_exec(c, &stmt_share_lock, 2, params, &res);
	if (r != DB_OK)
		return r;
	r = PQntuples(res) == 1 ? DB_OK : DB_NOT_FOUND;
	if (r == DB_OK)
		db_get_text(res, 0, 0, status, cap);
	PQclear(res);
	return r;
}
