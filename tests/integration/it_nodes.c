/* Nodes of a cluster: reading, renaming, what they do to their cluster, and
 * the audit trail of cluster and node changes.
 *
 * Nodes are created by agent registration (a later issue), so this program
 * inserts them with SQL, the way registration will, and checks the API and the
 * database around them: list and paginate (deleted nodes hidden), show with
 * conditions and VPN address, rename with If-Match, roles and tenants, the
 * cluster's nodeCounts, a cluster with live nodes torn down by a job, and one
 * audit row per change, written with the change. A delete checks If-Match
 * before anything else (a stale one is 412 with nodes too), and a teardown
 * job that is cancelled gives the cluster back: out of "deleting", with a
 * Deleting condition saying why, and DELETE allowed again; while one runs,
 * DELETE's 409 names the job and how to stop it. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct it_server *srv;
static struct it_user owner, stranger;
static struct it_key viewer;
static char cid[8], other_cid[8];
static int cluster_index;
static PGconn *db;

static bool create_cluster(const char *name, char out_cid[8], int *index)
{
	struct it_resp r = it_call(srv, "POST", owner.token, it_fmt("{\"name\":\"%s\"}", name),
				   "/%s/clusters", owner.aid);
	bool ok = r.status == 201 && it_json_str(r.json, "cid");
	if (ok) {
		snprintf(out_cid, 8, "%s", it_json_str(r.json, "cid"));
		if (index)
			*index = (int)json_integer_value(it_json_get(r.json, "clusterIndex"));
	}
	it_resp_free(&r);
	return ok;
}

static bool insert_node(const char *nid, const char *in_cid, int host, const char *status,
			bool deleted)
{
	const char *p[] = { owner.aid,		in_cid, nid,
			    it_fmt("%d", host), status, deleted ? "now" : NULL };
	return it_db_exec(
		db,
		"INSERT INTO nodes (aid, cid, nid, name, role, machine_id, vpn_host, status,"
		" deleted_at) VALUES ($1, $2, $3, $3 || '-name', 'worker', 'machine-' || $3,"
		" $4::int, $5, $6::timestamptz)",
		6, p);
}

TEST(empty_cluster_lists_no_nodes)
{
	struct it_resp r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/nodes", owner.aid, cid);
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(json_array_size(it_json_get(r.json, "nodes")), 0);
	CHECK(json_object_get(r.json, "nextCursor") == NULL && it_header(&r, "Link") == NULL);
	it_resp_free(&r);
}

TEST(list_show_and_counts)
{
	REQUIRE(insert_node("nodea", cid, 1, "online", false));
	REQUIRE(insert_node("nodeb", cid, 2, "offline", false));
	REQUIRE(insert_node("nodec", cid, 3, "online", true)); /* deleted: hidden, not counted */
	const char *p[] = { owner.aid };
	REQUIRE(it_db_exec(
		db,
		"INSERT INTO node_conditions (aid, nid, type, status, reason, message)"
		" VALUES ($1, 'nodea', 'Ready', 'True', 'KubeletReady', 'kubelet is ready')",
		1, p));

	struct it_resp r =
		it_call(srv, "GET", owner.token, NULL, "/%s/%s/nodes?limit=1", owner.aid, cid);
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(json_array_size(it_json_get(r.json, "nodes")), 1);
	const char *cursor = it_json_str(r.json, "nextCursor");
	CHECK(cursor != NULL);
	char next[128] = "", link[1024];
	if (cursor)
		snprintf(next, sizeof(next), "%s", cursor);
	/* The Link rel=next, fetched as it is, is the next page too. */
	CHECK_MSG(it_link_next(srv, &r, link, sizeof(link)), "%s", link);
	CHECK_STR_EQ(link, it_fmt("/%s/%s/nodes?limit=1&cursor=%s", owner.aid, cid, next));
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "%s", link);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "nodes.0.nid"), "nodeb");
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/nodes?limit=1&cursor=%s", owner.aid, cid,
		    next);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "nodes.0.nid"), "nodeb");
	CHECK(json_object_get(r.json, "nextCursor") == NULL && it_header(&r, "Link") == NULL);
	it_resp_free(&r);

	r = it_call(srv, "GET", viewer.token, NULL, "/%s/%s/nodes/nodea", owner.aid, cid);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "nid"), "nodea");
	CHECK_STR_EQ(it_json_str(r.json, "cid"), cid);
	CHECK_STR_EQ(it_json_str(r.json, "status"), "online");
	CHECK_STR_EQ(it_json_str(r.json, "vpnIp"), it_fmt("172.24.%d.1", cluster_index));
	CHECK_STR_EQ(it_json_str(r.json, "conditions.0.type"), "Ready");
	CHECK_STR_EQ(it_json_str(r.json, "conditions.0.reason"), "KubeletReady");
	CHECK(json_is_null(it_json_get(r.json, "lastHeartbeatAt")));
	CHECK_STR_EQ(it_header(&r, "ETag"), "\"v1\"");
	it_resp_free(&r);

	r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/nodes/nodec", owner.aid, cid);
	CHECK_ERROR(r, 404, "node.not_found");
	it_resp_free(&r);

	r = it_call(srv, "GET", owner.token, NULL, "/%s/clusters/%s", owner.aid, cid);
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(json_integer_value(it_json_get(r.json, "nodeCounts.total")), 2);
	CHECK_INT_EQ(json_integer_value(it_json_get(r.json, "nodeCounts.online")), 1);
	CHECK_INT_EQ(json_integer_value(it_json_get(r.json, "nodeCounts.offline")), 1);
	it_resp_free(&r);
}

TEST(not_found_shapes)
{
	static const char *const paths[] = { "/%s/%s/nodes/zzzzz", "/%s/%s/nodes/NODEA",
					     "/%s/%s/nodes/nod" };
	for (size_t i = 0; i < 3; i++) {
		struct it_resp r = it_call(srv, "GET", owner.token, NULL, paths[i], owner.aid, cid);
		CHECK_ERROR(r, 404, "node.not_found");
		it_resp_free(&r);
	}
	/* The right node through another cluster of the same account. */
	struct it_resp r =
		it_call(srv, "GET", owner.token, NULL, "/%s/%s/nodes/nodea", owner.aid, other_cid);
	CHECK_ERROR(r, 404, "node.not_found");
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/zzz/nodes", owner.aid);
	CHECK_ERROR(r, 404, "cluster.not_found");
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/Z1/nodes", owner.aid);
	CHECK_ERROR(r, 404, "cluster.not_found");
	it_resp_free(&r);
	/* Another tenant sees nothing, whatever it asks. */
	static const char *const methods[] = { "GET", "GET", "PATCH" };
	static const char *const tenant_paths[] = { "/%s/%s/nodes", "/%s/%s/nodes/nodea",
						    "/%s/%s/nodes/nodea" };
	for (size_t i = 0; i < 3; i++) {
		r = it_call(srv, methods[i], stranger.token,
			    i == 2 ? "{\"name\":\"mine now\"}" : NULL, tenant_paths[i], owner.aid,
			    cid);
		CHECK_ERROR(r, 404, "account.not_found");
		it_resp_free(&r);
	}
}

TEST(rename)
{
	struct it_resp r = it_call(srv, "PATCH", viewer.token, "{\"name\":\"x\"}",
				   "/%s/%s/nodes/nodea", owner.aid, cid);
	CHECK_ERROR(r, 403, "auth.forbidden");
	it_resp_free(&r);
	r = it_call(srv, "PATCH", owner.token, "{\"name\":\"  \"}", "/%s/%s/nodes/nodea", owner.aid,
		    cid);
	CHECK_ERROR(r, 400, "validation.invalid");
	it_resp_free(&r);
	r = it_call(srv, "PATCH", owner.token, "{\"role\":\"controlplane\"}", "/%s/%s/nodes/nodea",
		    owner.aid, cid);
	CHECK_ERROR(r, 400, "validation.unknown_field");
	it_resp_free(&r);

	const char *stale[] = { "If-Match: \"v9\"", NULL };
	struct it_req req = { .method = "PATCH",
			      .path = it_fmt("/%s/%s/nodes/nodea", owner.aid, cid),
			      .token = owner.token,
			      .body = "{\"name\":\"web-1\"}",
			      .headers = stale };
	it_request(srv, &req, &r);
	CHECK_ERROR(r, 412, "precondition.failed");
	it_resp_free(&r);

	const char *fresh[] = { "If-Match: \"v1\"", NULL };
	req.headers = fresh;
	it_request(srv, &req, &r);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "name"), "web-1");
	CHECK_STR_EQ(it_header(&r, "ETag"), "\"v2\"");
	it_resp_free(&r);

	r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/nodes/nodea", owner.aid, cid);
	CHECK_STR_EQ(it_json_str(r.json, "name"), "web-1");
	it_resp_free(&r);
}

TEST(cluster_with_nodes_is_torn_down_by_a_job)
{
	struct it_resp r =
		it_call(srv, "DELETE", owner.token, NULL, "/%s/clusters/%s", owner.aid, cid);
	CHECK_STATUS(r, 202);
	char job[64] = "";
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	CHECK(it_is_uuid(job));
	/* The cluster is deleting; its online nodes are told to uninstall. */
	r = it_call(srv, "GET", owner.token, NULL, "/%s/clusters/%s", owner.aid, cid);
	CHECK_STR_EQ(it_json_str(r.json, "status"), "deleting");
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/jobs/%s", job);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "type"), "cluster.delete");
	CHECK_STR_EQ(it_json_str(r.json, "status"), "running");
	CHECK_STR_EQ(it_json_str(r.json, "target.id"), cid);
	it_resp_free(&r);
	const char *p[] = { owner.aid, cid, job };
	CHECK_INT_EQ(
		it_db_count(db,
			    "SELECT count(*) FROM instructions i JOIN nodes n ON n.aid = i.aid"
			    " AND n.nid = i.nid WHERE i.aid = $1 AND n.cid = $2 AND i.job_id = $3"
			    " AND i.type = 'UNINSTALL_NODE' AND n.status = 'online'",
			    3, p),
		it_db_count(db,
			    "SELECT count(*) FROM nodes WHERE aid = $1 AND cid = $2"
			    " AND status = 'online' AND deleted_at IS NULL AND $3 <> ''",
			    3, p));
	/* A second delete while it runs: 409. */
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/clusters/%s", owner.aid, cid);
	CHECK_ERROR(r, 409, "cluster.deleting");
	it_resp_free(&r);
}

/* method on the cluster with an If-Match header (NULL: none). */
static struct it_resp cluster_call(const char *method, const char *in_cid, const char *if_match)
{
	const char *headers[] = { if_match ? it_fmt("If-Match: %s", if_match) : NULL, NULL };
	struct it_req req = { .method = method,
			      .path = it_fmt("/%s/clusters/%s", owner.aid, in_cid),
			      .token = owner.token,
			      .headers = headers };
	struct it_resp r;
	it_request(srv, &req, &r);
	return r;
}

/* The cluster's condition of type, as a new reference, or NULL. */
static json_t *condition(const json_t *cluster, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(cluster, "conditions"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "type")) ?: "", type) == 0)
			return json_incref(c);
	return NULL;
}

TEST(stale_if_match_refused_with_nodes)
{
	char stale_cid[8];
	REQUIRE(create_cluster("stale-if-match", stale_cid, NULL));
	REQUIRE(insert_node("nodes", stale_cid, 1, "online", false));
	struct it_resp r = cluster_call("GET", stale_cid, NULL);
	char etag[32], status[32];
	snprintf(status, sizeof(status), "%s", it_json_str(r.json, "status") ?: "");
	snprintf(etag, sizeof(etag), "%s", it_header(&r, "ETag") ?: "");
	it_resp_free(&r);
	/* Renamed meanwhile: the client's ETag is stale. */
	r = it_call(srv, "PATCH", owner.token, "{\"name\":\"renamed\"}", "/%s/clusters/%s",
		    owner.aid, stale_cid);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	const char *stale[] = { etag, "\"v99\"", "W/\"v2\"" };
	for (int i = 0; i < 3; i++) {
		r = cluster_call("DELETE", stale_cid, stale[i]);
		CHECK_ERROR(r, 412, "precondition.failed");
		it_resp_free(&r);
	}
	r = cluster_call("GET", stale_cid, NULL);
	CHECK_STR_EQ(it_json_str(r.json, "status"), status);
	it_resp_free(&r);
	const char *p[] = { owner.aid, stale_cid };
	CHECK_INT_EQ(it_db_count(db, "SELECT count(*) FROM jobs WHERE aid = $1 AND cid = $2", 2, p),
		     0);
	/* The current ETag: the teardown starts. */
	r = cluster_call("GET", stale_cid, NULL);
	snprintf(etag, sizeof(etag), "%s", it_header(&r, "ETag") ?: "");
	it_resp_free(&r);
	r = cluster_call("DELETE", stale_cid, etag);
	CHECK_STATUS(r, 202);
	it_resp_free(&r);
}

TEST(cancelled_teardown_gives_the_cluster_back)
{
	char del_cid[8];
	REQUIRE(create_cluster("teardown", del_cid, NULL));
	REQUIRE(insert_node("noded", del_cid, 1, "online", false));
	const char *p[] = { owner.aid, del_cid };
	REQUIRE(it_db_exec(
		db, "UPDATE clusters SET status = 'provisioning' WHERE aid = $1 AND cid = $2", 2,
		p));
	struct it_resp r = cluster_call("DELETE", del_cid, NULL);
	CHECK_STATUS(r, 202);
	char job[64];
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	/* The node goes offline before it fetched its uninstall: the job waits. */
	const char *np[] = { owner.aid, "noded" };
	REQUIRE(it_db_exec(db, "UPDATE nodes SET status = 'offline' WHERE aid = $1 AND nid = $2", 2,
			   np));
	r = cluster_call("GET", del_cid, NULL);
	CHECK_STR_EQ(it_json_str(r.json, "status"), "deleting");
	json_t *deleting = condition(r.json, "Deleting");
	CHECK_STR_EQ(it_json_str(deleting, "status"), "True");
	CHECK_STR_EQ(it_json_str(deleting, "reason"), "DeleteRequested");
	CHECK(strstr(it_json_str(deleting, "message") ?: "", job) != NULL);
	time_t at;
	CHECK(it_parse_time(it_json_str(deleting, "lastTransitionAt"), &at));
	json_decref(deleting);
	it_resp_free(&r);

	/* A second DELETE says which job runs and what to do. */
	r = cluster_call("DELETE", del_cid, NULL);
	CHECK_ERROR(r, 409, "cluster.deleting");
	CHECK_STR_EQ(it_json_str(r.json, "jobId"), job);
	const char *error = it_json_str(r.json, "error") ?: "";
	CHECK_MSG(strstr(error, it_fmt("POST /jobs/%s/cancel", job)) && strstr(error, "wait"),
		  "error: %s", error);
	it_resp_free(&r);

	/* Cancelled: the cluster is back to the status its nodes give, says
	 * why, and can be deleted again. */
	r = it_call(srv, "POST", owner.token, NULL, "/jobs/%s/cancel", job);
	CHECK_STATUS(r, 202);
	it_resp_free(&r);
	r = cluster_call("GET", del_cid, NULL);
	CHECK_STR_EQ(it_json_str(r.json, "status"), "provisioning");
	deleting = condition(r.json, "Deleting");
	CHECK_STR_EQ(it_json_str(deleting, "status"), "False");
	CHECK_STR_EQ(it_json_str(deleting, "reason"), "DeleteCancelled");
	const char *message = it_json_str(deleting, "message") ?: "";
	CHECK_MSG(strstr(message, job) && strstr(message, "again"), "message: %s", message);
	json_decref(deleting);
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/clusters?status=provisioning", owner.aid);
	CHECK(strstr(r.body ?: "", it_fmt("\"cid\":\"%s\"", del_cid)) != NULL);
	it_resp_free(&r);
	r = cluster_call("DELETE", del_cid, NULL);
	CHECK_STATUS(r, 202);
	CHECK(strcmp(it_json_str(r.json, "jobId") ?: job, job) != 0);
	it_resp_free(&r);
}

TEST(audit_trail)
{
	/* One row per change, actor and trace id included, for: the clusters
	 * created in setup, the node rename, the cluster delete. Refused
	 * changes (412, 409, 403) left none. */
	const char *p[] = { owner.aid };
	CHECK_INT_EQ(it_db_count(db,
				 "SELECT count(*) FROM audit_events WHERE aid = $1"
				 " AND action = 'cluster.create'",
				 1, p),
		     2);
	CHECK_INT_EQ(it_db_count(db,
				 "SELECT count(*) FROM audit_events WHERE aid = $1"
				 " AND action = 'node.rename' AND target_id = 'nodea'",
				 1, p),
		     1);
	CHECK_INT_EQ(it_db_count(db,
				 "SELECT count(*) FROM audit_events WHERE aid = $1"
				 " AND action = 'cluster.delete'",
				 1, p),
		     1);
	const char *q[] = { owner.aid, owner.uid };
	CHECK_INT_EQ(it_db_count(db,
				 "SELECT count(*) FROM audit_events WHERE aid = $1 AND"
				 " (actor_type <> 'user' OR actor_id <> $2 OR length(trace_id) < 8"
				 " OR ip = '')",
				 2, q),
		     0);
}

TEST(clean_stop)
{
	CHECK_INT_EQ(it_server_stop(srv), 0);
}

int main(void)
{
	if (!it_init("it_nodes")) {
		test_failed++;
		return it_finish("it_nodes");
	}
	srv = it_server_start("nodes", NULL);
	db = srv ? it_db_connect(it_env.database_url) : NULL;
	if (!srv || !db || !it_signup(srv, &owner) || !it_signup(srv, &stranger) ||
	    !it_create_pat(srv, owner.token, owner.aid, "viewer", &viewer) ||
	    !create_cluster("nodes", cid, &cluster_index) ||
	    !create_cluster("other", other_cid, NULL)) {
		test_failed++;
		fprintf(stderr, "FAIL it_nodes: no server, database, users or clusters\n");
		return it_finish("it_nodes");
	}
	RUN(empty_cluster_lists_no_nodes);
	RUN(list_show_and_counts);
	RUN(not_found_shapes);
	RUN(rename);
	RUN(cluster_with_nodes_is_torn_down_by_a_job);
	RUN(audit_trail);
	RUN(stale_if_match_refused_with_nodes);
	RUN(cancelled_teardown_gives_the_cluster_back);
	RUN(clean_stop);
	PQfinish(db);
	return it_finish("it_nodes");
}
