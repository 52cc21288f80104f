/* Users' VPN devices on wg1 (issue 19, docs/vpn.md) against the real server,
 * PostgreSQL and the agent-sim binary as the cluster's control-plane node,
 * which reports its wg1 key in its VPN sync and writes each peer set it is
 * sent (SIM_VPN_DIR):
 *   - enrol (the smallest free address, exactly the declared answer), bad
 *     keys and a key used twice refused;
 *   - choose clusters: active ones of the account only, another account's
 *     cid answered exactly as one that does not exist;
 *   - state: ETag = revision, 304 on If-None-Match, a new revision when
 *     anything in it changes; connected:false and config 409 until a
 *     control plane of the cluster has reported its wg1 key;
 *   - config: accepted by `wg-quick strip` (wireguard-tools) once its
 *     private key placeholder holds `wg genkey` output;
 *   - peer updates: queued per affected cluster, coalesced while none was
 *     handed out, carried out by agent-sim; a revoked device is gone from
 *     the peer set, its address free again;
 *   - roles and tenants: members see their own devices only (another's is
 *     404), admins every one, viewers none (403); another account's device
 *     is 404; a member who is removed takes their devices along;
 *   - PATCH/DELETE with If-Match;
 *   - 100 concurrent enrolments over two instances: 100 distinct addresses;
 *   - a full account (2,046 rows inserted with SQL): 409
 *     vpn.addresses_exhausted, and a freed address is handed out again. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agents.h"
#include "harness.h"

#define SIM_TIMEOUT_S 40
#define CONCURRENT 100
#define SIM_WG1_ENDPOINT "203.0.113.10:51821"

static struct it_server *srv, *srv2;
static struct it_user owner, other, member, viewer;
static PGconn *pg;
static char agent_sim[1024], ca_path[1024], agent_url[64], vpn_dir[1024], cp_state[1024];
static char cid[8], cp_nid[8], other_cid[8];

static int sim(const char *args, char **out)
{
	return it_shell_output(
		it_fmt("SIM_VPN_DIR='%s' timeout %d '%s' %s --agent-url %s --ca '%s'", vpn_dir,
		       SIM_TIMEOUT_S, agent_sim, args, agent_url, ca_path),
		out);
}

/* agent-sim answers for the control plane until n answers were accepted. */
static void work(int n, const char *what)
{
	char *out = NULL;
	int rc = sim(it_fmt("work --state '%s' --beat --wait 5 --duration 30 --until-replies %d",
			    cp_state, n),
		     &out);
	CHECK_MSG(rc == 0, "%s: agent-sim work exited %d: %s", what, rc, out ? out : "");
	json_t *s = out ? it_sim_summary(out) : NULL;
	CHECK_MSG(json_integer_value(it_json_get(s, "replies.ok")) == n, "%s: %s", what,
		  out ? out : "");
	CHECK_MSG(json_integer_value(it_json_get(s, "vpnSyncs.ok")) == 1, "%s: vpn sync: %s", what,
		  out ? out : "");
	json_decref(s);
	free(out);
}

/* The wg1 peer set agent-sim was last sent (a new reference), or NULL. */
static json_t *wg1_peers(void)
{
	json_t *payload = json_load_file(it_fmt("%s/%s-wg1.json", vpn_dir, cp_nid), 0, NULL);
	json_t *peers = json_incref(json_object_get(payload, "peers"));
	json_decref(payload);
	return peers;
}

/* The peer of key in peers, or NULL. */
static json_t *peer_of(json_t *peers, const char *key)
{
	size_t i;
	json_t *p;
	json_array_foreach (peers, i, p)
		if (strcmp(it_json_str(p, "pubKey") ?: "", key) == 0)
			return p;
	return NULL;
}

/* A request with one extra header ("Name: value", may be NULL). */
static struct it_resp call_h(const char *method, const char *token, const char *body,
			     const char *header, const char *path)
{
	const char *headers[] = { header, NULL };
	struct it_req req = { .method = method,
			      .path = path,
			      .token = token,
			      .body = body,
			      .headers = header ? headers : NULL };
	struct it_resp r;
	it_request(srv, &req, &r);
	return r;
}

static struct it_resp enrol(const struct it_server *s, const struct it_user *u, const char *aid,
			    const char *name, const char *key)
{
	return it_call(s, "POST", u->token,
		       it_fmt("{\"name\":\"%s\",\"publicKey\":\"%s\"}", name, key),
		       "/%s/vpn/devices", aid);
}

/* Enrols a device of u in the owner's account; its id in id. */
static bool enrol_ok(const struct it_user *u, const char *name, const char *key, char id[8],
		     char address[24])
{
	struct it_resp r = enrol(srv, u, owner.aid, name, key);
	bool ok = CHECK_STATUS(r, 201);
	snprintf(id, 8, "%s", ok ? it_json_str(r.json, "id") ?: "" : "");
	if (address)
		snprintf(address, 24, "%s", ok ? it_json_str(r.json, "address") ?: "" : "");
	it_resp_free(&r);
	return ok;
}

static struct it_resp set_clusters(const struct it_user *u, const char *id, const char *cids)
{
	return it_call(srv, "PUT", u->token, it_fmt("{\"cids\":[%s]}", cids),
		       "/%s/vpn/devices/%s/clusters", owner.aid, id);
}

/* Open vpn.devices jobs of the cluster. */
static long long open_jobs(const char *of_cid)
{
	const char *p[] = { owner.aid, of_cid };
	return it_db_count(pg,
			   "SELECT count(*) FROM jobs WHERE aid = $1 AND cid = $2"
			   " AND type = 'vpn.devices' AND status IN ('pending', 'running')",
			   2, p);
}

/* The control plane of the cluster: registered by agent-sim, its join and
 * its first wg1 peer set answered, its credentials reported: the cluster is
 * active and served on wg1. */
static bool active_cluster(void)
{
	char token[64];
	if (!it_new_cluster(srv, &owner, "vpn", cid) ||
	    !it_join_token(srv, &owner, cid, "controlplane", 1, token))
		return false;
	char *out = NULL;
	int rc = sim(it_fmt("register --token %s --count 1 --state '%s'", token, cp_state), &out);
	free(out);
	CHECK_INT_EQ(rc, 0);
	/* The join, then the wg1 peer set its new key brought (empty). */
	work(2, "control plane join and wg1 key");
	bool ok = it_sim_node_reports_credentials(srv, pg, cp_state, cp_nid);
	CHECK(ok);
	json_t *peers = wg1_peers();
	CHECK_MSG(json_is_array(peers) && json_array_size(peers) == 0,
		  "the first wg1 peer set is not empty: %s", peers ? "" : "(no file)");
	json_decref(peers);
	struct it_resp r =
		it_call(srv, "GET", owner.token, NULL, "/%s/clusters/%s", owner.aid, cid);
	ok = r.status == 200 && strcmp(it_json_str(r.json, "status") ?: "", "active") == 0;
	CHECK_MSG(ok, "cluster not active: %s", it_body_shown(&r));
	it_resp_free(&r);
	return ok;
}

TEST(wg1_reported_by_control_planes_only)
{
	const char *p[] = { owner.aid, cid, cp_nid };
	CHECK_INT_EQ(
		it_db_count(pg,
			    "SELECT count(*) FROM nodes WHERE aid = $1 AND cid = $2 AND nid = $3"
			    " AND wg1_pub_key ~ '^[A-Za-z0-9+/]{43}=$' AND wg1_endpoint = "
			    "'" SIM_WG1_ENDPOINT "'",
			    3, p),
		1);
	/* A worker that sends wg1 is refused (in a cluster of its own, so that
	 * its join and delete send the control plane nothing). */
	char token[64], wcid[8];
	REQUIRE(it_new_cluster(srv, &owner, "workers", wcid));
	REQUIRE(it_join_token(srv, &owner, wcid, "worker", 1, token));
	char *ca = it_agent_ca(pg);
	struct it_node worker = { 0 };
	REQUIRE(ca && it_agent_register(srv, ca, token, &worker));
	char key[45];
	it_wg_key("worker-wg1", key);
	struct it_resp r = it_agent_call(
		srv, ca, &worker, "POST", "/agent/v1/vpn/sync",
		it_fmt("{\"nodePeer\":{\"pubKey\":\"%s\",\"endpointIp\":\"10.0.0.9\"},"
		       "\"wg1\":{\"pubKey\":\"%s\",\"endpoint\":\"198.51.100.1:51821\"}}",
		       key, key));
	CHECK_ERROR(r, 400, "validation.invalid");
	it_resp_free(&r);
	/* Without wg1 the worker syncs as before. */
	r = it_agent_call(
		srv, ca, &worker, "POST", "/agent/v1/vpn/sync",
		it_fmt("{\"nodePeer\":{\"pubKey\":\"%s\",\"endpointIp\":\"10.0.0.9\"}}", key));
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	const char *w[] = { owner.aid, worker.nid };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM nodes WHERE aid = $1 AND nid = $2"
				 " AND wg1_pub_key = ''",
				 2, w),
		     1);
	/* It leaves, so that it takes no instruction from the control plane's runs. */
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/%s/nodes/%s", owner.aid, wcid,
		    worker.nid);
	CHECK_STATUS(r, 202);
	it_resp_free(&r);
	it_node_free(&worker);
	free(ca);
}

TEST(enrol_and_bad_keys)
{
	char key[45], id[8], address[24];
	it_wg_key("member-laptop", key);
	struct it_resp r = enrol(srv, &member, owner.aid, "laptop", key);
	REQUIRE(CHECK_STATUS(r, 201));
	const char *names[] = { "id", "name", "address", "publicKey", "createdAt" };
	for (size_t i = 0; i < 5; i++)
		CHECK_MSG(json_object_get(r.json, names[i]) != NULL, "no %s", names[i]);
	CHECK_INT_EQ(json_object_size(r.json), 5);
	CHECK_STR_EQ(it_json_str(r.json, "address"), "172.24.200.1");
	CHECK_STR_EQ(it_json_str(r.json, "publicKey"), key);
	CHECK(it_header(&r, "ETag") != NULL);
	it_resp_free(&r);

	/* The same key again: refused, whoever asks. */
	r = enrol(srv, &owner, owner.aid, "again", key);
	CHECK_ERROR(r, 409, "vpn.key_taken");
	it_resp_free(&r);
	static const char *const bad[] = {
		"abc",
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dh=",	    /* not canonical */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D==",	    /* 31 bytes */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8DgA",	    /* no padding */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp-Dg=",	    /* base64url */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8DgAAAA=", /* 35 bytes */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = enrol(srv, &member, owner.aid, "bad", bad[i]);
		CHECK_ERROR(r, 400, "validation.invalid");
		CHECK_STR_EQ(it_json_str(r.json, "field"), "publicKey");
		it_resp_free(&r);
	}
	r = it_call(srv, "POST", member.token, "{\"name\":\"no key\"}", "/%s/vpn/devices",
		    owner.aid);
	CHECK_STATUS(r, 400);
	it_resp_free(&r);
	r = it_call(srv, "POST", member.token,
		    it_fmt("{\"name\":\"x\",\"publicKey\":\"%s\",\"privateKey\":\"%s\"}", key, key),
		    "/%s/vpn/devices", owner.aid);
	CHECK_ERROR(r, 400, "validation.unknown_field");
	it_resp_free(&r);
	const char *p[] = { owner.aid };
	CHECK_INT_EQ(it_db_count(pg, "SELECT count(*) FROM vpn_devices WHERE aid = $1", 1, p), 1);

	/* The owner's device takes the next address. */
	it_wg_key("owner-laptop", key);
	REQUIRE(enrol_ok(&owner, "owner laptop", key, id, address));
	CHECK_STR_EQ(address, "172.24.200.2");
}

/* The id of the member's (or owner's) first device by name. */
static bool device_named(const struct it_user *u, const char *name, char id[8])
{
	struct it_resp r = it_call(srv, "GET", u->token, NULL, "/%s/vpn/devices", owner.aid);
	bool found = false;
	size_t i;
	json_t *d;
	json_array_foreach (json_object_get(r.json, "devices"), i, d)
		if (!found && strcmp(it_json_str(d, "name") ?: "", name) == 0) {
			snprintf(id, 8, "%s", it_json_str(d, "id"));
			found = true;
		}
	it_resp_free(&r);
	return found;
}

TEST(members_see_their_own_admins_all)
{
	char mine[8], owners[8];
	REQUIRE(device_named(&member, "laptop", mine));
	REQUIRE(device_named(&owner, "owner laptop", owners));
	struct it_resp r = it_call(srv, "GET", member.token, NULL, "/%s/vpn/devices", owner.aid);
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(json_array_size(json_object_get(r.json, "devices")), 1);
	CHECK_STR_EQ(it_json_str(r.json, "devices.0.ownerUid"), member.uid);
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/vpn/devices", owner.aid);
	CHECK_INT_EQ(json_array_size(json_object_get(r.json, "devices")), 2);
	it_resp_free(&r);
	/* Another member's device does not exist for a member... */
	static const char *const paths[] = { "", "/state", "/config?cid=" };
	for (size_t i = 0; i < 3; i++) {
		r = it_call(srv, "GET", member.token, NULL, "/%s/vpn/devices/%s%s%s", owner.aid,
			    owners, paths[i], i == 2 ? cid : "");
		CHECK_ERROR(r, 404, "vpn_device.not_found");
		it_resp_free(&r);
	}
	r = it_call(srv, "PATCH", member.token, "{\"name\":\"taken over\"}", "/%s/vpn/devices/%s",
		    owner.aid, owners);
	CHECK_ERROR(r, 404, "vpn_device.not_found");
	it_resp_free(&r);
	r = set_clusters(&member, owners, it_fmt("\"%s\"", cid));
	CHECK_ERROR(r, 404, "vpn_device.not_found");
	it_resp_free(&r);
	r = it_call(srv, "DELETE", member.token, NULL, "/%s/vpn/devices/%s", owner.aid, owners);
	CHECK_ERROR(r, 404, "vpn_device.not_found");
	it_resp_free(&r);
	/* ...an admin manages it. */
	r = it_call(srv, "GET", owner.token, NULL, "/%s/vpn/devices/%s", owner.aid, mine);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	/* Viewers get no VPN access at all. */
	char key[45];
	it_wg_key("viewer-laptop", key);
	r = enrol(srv, &viewer, owner.aid, "viewer", key);
	CHECK_ERROR(r, 403, "auth.forbidden");
	it_resp_free(&r);
	r = it_call(srv, "GET", viewer.token, NULL, "/%s/vpn/devices", owner.aid);
	CHECK_ERROR(r, 403, "auth.forbidden");
	it_resp_free(&r);
	/* Another account: its members see nothing of this one's devices. */
	r = it_call(srv, "GET", other.token, NULL, "/%s/vpn/devices/%s", owner.aid, mine);
	CHECK_ERROR(r, 404, "account.not_found");
	it_resp_free(&r);
	r = it_call(srv, "GET", other.token, NULL, "/%s/vpn/devices/%s", other.aid, mine);
	CHECK_ERROR(r, 404, "vpn_device.not_found");
	it_resp_free(&r);
	r = it_call(srv, "DELETE", other.token, NULL, "/%s/vpn/devices/%s", other.aid, mine);
	CHECK_ERROR(r, 404, "vpn_device.not_found");
	it_resp_free(&r);
	r = it_call(srv, "GET", member.token, NULL, "/%s/vpn/devices/NOT-AN-ID", owner.aid);
	CHECK_ERROR(r, 404, "vpn_device.not_found");
	it_resp_free(&r);
}

TEST(if_match)
{
	char mine[8];
	REQUIRE(device_named(&member, "laptop", mine));
	const char *path = it_fmt("/%s/vpn/devices/%s", owner.aid, mine);
	char one[128];
	snprintf(one, sizeof(one), "%s", path);
	struct it_resp r = it_call(srv, "GET", member.token, NULL, "%s", one);
	char etag[64];
	snprintf(etag, sizeof(etag), "%s", it_header(&r, "ETag") ?: "");
	it_resp_free(&r);
	r = call_h("PATCH", member.token, "{\"name\":\"laptop\"}", "If-Match: \"v999\"", one);
	CHECK_ERROR(r, 412, "precondition.failed");
	it_resp_free(&r);
	r = call_h("DELETE", member.token, NULL, "If-Match: \"v999\"", one);
	CHECK_ERROR(r, 412, "precondition.failed");
	it_resp_free(&r);
	r = call_h("PATCH", member.token, "{\"name\":\"laptop\"}", it_fmt("If-Match: %s", etag),
		   one);
	CHECK_STATUS(r, 200);
	CHECK(strcmp(it_header(&r, "ETag") ?: "", etag) != 0);
	it_resp_free(&r);
}

/* The state of a device: status, body and ETag. */
static struct it_resp state(const struct it_user *u, const char *id, const char *if_none_match)
{
	return call_h("GET", u->token, NULL,
		      if_none_match ? it_fmt("If-None-Match: %s", if_none_match) : NULL,
		      it_fmt("/%s/vpn/devices/%s/state", owner.aid, id));
}

TEST(clusters_state_and_peers)
{
	char mine[8], etag[64];
	REQUIRE(device_named(&member, "laptop", mine));
	struct it_resp r = state(&member, mine, NULL);
	REQUIRE(CHECK_STATUS(r, 200));
	CHECK_INT_EQ(json_array_size(json_object_get(r.json, "clusters")), 0);
	CHECK_STR_EQ(it_json_str(r.json, "device.id"), mine);
	CHECK_STR_EQ(it_json_str(r.json, "device.address"), "172.24.200.1");
	CHECK_STR_EQ(it_json_str(r.json, "device.session.ownerUid"), member.uid);
	snprintf(etag, sizeof(etag), "%s", it_header(&r, "ETag") ?: "");
	CHECK_STR_EQ(etag, it_fmt("\"%s\"", it_json_str(r.json, "revision") ?: ""));
	it_resp_free(&r);
	r = state(&member, mine, etag);
	CHECK_STATUS(r, 304);
	CHECK_INT_EQ(r.body_len, 0);
	it_resp_free(&r);

	/* Another account's cluster gets the answer of one that does not exist. */
	r = set_clusters(&member, mine, it_fmt("\"%s\"", other_cid));
	CHECK_ERROR(r, 400, "vpn.cluster_invalid");
	char theirs[256];
	snprintf(theirs, sizeof(theirs), "%s", it_json_str(r.json, "error") ?: "");
	CHECK_STR_EQ(it_json_str(r.json, "cid"), other_cid);
	it_resp_free(&r);
	/* A cid of no cluster of this account. */
	char missing[8] = "";
	for (int i = 0; i < 10 && !missing[0]; i++) {
		char candidate[8];
		snprintf(candidate, sizeof(candidate), "zz%d", i);
		const char *q[] = { owner.aid, candidate };
		if (it_db_count(pg, "SELECT count(*) FROM clusters WHERE aid = $1 AND cid = $2", 2,
				q) == 0)
			snprintf(missing, sizeof(missing), "%s", candidate);
	}
	r = set_clusters(&member, mine, it_fmt("\"%s\"", missing));
	CHECK_ERROR(r, 400, "vpn.cluster_invalid");
	char *replaced = strdup(theirs);
	char *at = strstr(replaced, other_cid);
	if (at)
		memcpy(at, missing, 3);
	CHECK_STR_EQ(it_json_str(r.json, "error"), replaced);
	free(replaced);
	it_resp_free(&r);
	/* A cluster of this account that is not active, and malformed ids. */
	char pending[8];
	REQUIRE(it_new_cluster(srv, &owner, "pending", pending));
	r = set_clusters(&member, mine, it_fmt("\"%s\", \"%s\"", cid, pending));
	CHECK_ERROR(r, 400, "vpn.cluster_invalid");
	CHECK_STR_EQ(it_json_str(r.json, "cid"), pending);
	it_resp_free(&r);
	r = set_clusters(&member, mine, "\"NOT\"");
	CHECK_ERROR(r, 400, "vpn.cluster_invalid");
	it_resp_free(&r);
	r = set_clusters(&member, mine, "1");
	CHECK_STATUS(r, 400);
	it_resp_free(&r);
	/* Nothing was chosen by the refusals, and no update queued. */
	const char *p[] = { owner.aid, mine };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM vpn_device_clusters WHERE aid = $1"
				 " AND device_id = $2",
				 2, p),
		     0);
	CHECK_INT_EQ(open_jobs(cid), 0);

	r = set_clusters(&member, mine, it_fmt("\"%s\", \"%s\"", cid, cid));
	REQUIRE(CHECK_STATUS(r, 200));
	CHECK_INT_EQ(json_array_size(json_object_get(r.json, "cids")), 1);
	CHECK_STR_EQ(it_json_str(r.json, "cids.0"), cid);
	it_resp_free(&r);
	CHECK_INT_EQ(open_jobs(cid), 1);
	/* The same set again changes nothing and queues nothing more. */
	r = set_clusters(&member, mine, it_fmt("\"%s\"", cid));
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	CHECK_INT_EQ(open_jobs(cid), 1);

	/* The state has changed: the old ETag gets the new state. */
	r = state(&member, mine, etag);
	REQUIRE(CHECK_STATUS(r, 200));
	CHECK(strcmp(it_header(&r, "ETag") ?: "", etag) != 0);
	CHECK_STR_EQ(it_json_str(r.json, "clusters.0.cid"), cid);
	CHECK(json_is_true(it_json_get(r.json, "clusters.0.connected")));
	const char *n[] = { owner.aid, cp_nid };
	PGresult *res = PQexecParams(pg,
				     "SELECT wg1_pub_key, c.cluster_index, c.domain FROM nodes n"
				     " JOIN clusters c USING (aid, cid) WHERE n.aid = $1"
				     " AND n.nid = $2",
				     2, NULL, n, NULL, NULL, 0);
	REQUIRE(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1);
	const char *index = PQgetvalue(res, 0, 1);
	CHECK_STR_EQ(it_json_str(r.json, "clusters.0.server.publicKey"), PQgetvalue(res, 0, 0));
	CHECK_STR_EQ(it_json_str(r.json, "clusters.0.server.endpoint"), SIM_WG1_ENDPOINT);
	CHECK_STR_EQ(it_json_str(r.json, "clusters.0.allowedIps.0"),
		     it_fmt("172.24.%s.0/24", index));
	CHECK_STR_EQ(it_json_str(r.json, "clusters.0.allowedIps.1"),
		     it_fmt("172.24.%s.254/32", index));
	CHECK_STR_EQ(it_json_str(r.json, "clusters.0.dns.resolver"),
		     it_fmt("172.24.%s.254", index));
	CHECK_STR_EQ(it_json_str(r.json, "clusters.0.dns.zones.0"), PQgetvalue(res, 0, 2));
	PQclear(res);
	snprintf(etag, sizeof(etag), "%s", it_header(&r, "ETag") ?: "");
	it_resp_free(&r);
	r = state(&member, mine, etag);
	CHECK_STATUS(r, 304);
	it_resp_free(&r);
	/* A rename is in the state too (its session). */
	r = it_call(srv, "PATCH", member.token, "{\"name\":\"laptop 2\"}", "/%s/vpn/devices/%s",
		    owner.aid, mine);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	r = state(&member, mine, etag);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);

	/* agent-sim gets the peer set with the device. */
	work(1, "wg1 peers with the laptop");
	CHECK_INT_EQ(open_jobs(cid), 0);
	json_t *peers = wg1_peers();
	char key[45];
	it_wg_key("member-laptop", key);
	CHECK_INT_EQ(json_array_size(peers), 1);
	CHECK_STR_EQ(it_json_str(peer_of(peers, key), "vpnIp"), "172.24.200.1");
	json_decref(peers);
}

TEST(config_accepted_by_wg_quick)
{
	char mine[8];
	REQUIRE(device_named(&member, "laptop 2", mine));
	struct it_resp r = it_call(srv, "GET", member.token, NULL,
				   "/%s/vpn/devices/%s/config?cid=%s", owner.aid, mine, cid);
	REQUIRE(CHECK_STATUS(r, 200));
	CHECK_STR_EQ(it_header(&r, "Content-Type"), "text/plain; charset=utf-8");
	REQUIRE(r.body && strstr(r.body, "PrivateKey = {{privateKey}}\n") != NULL);
	CHECK(strstr(r.body, "Address = 172.24.200.1/32\n") != NULL);
	CHECK(strstr(r.body, "PersistentKeepalive = ") != NULL);
	CHECK(strstr(r.body, "Endpoint = " SIM_WG1_ENDPOINT "\n") != NULL);
	/* The client fills in its private key; wg-quick strip accepts the file. */
	char *genkey = NULL;
	int rc = it_shell_output("wg genkey", &genkey);
	CHECK_MSG(rc == 0 && genkey && strlen(genkey) >= 44,
		  "wg genkey failed (%d): is wireguard-tools installed (scripts/dev.sh)?", rc);
	if (rc != 0 || !genkey || strlen(genkey) < 44) {
		free(genkey);
		it_resp_free(&r);
		return;
	}
	genkey[44] = '\0';
	/* The placeholder is there once: the client's sed s/{{privateKey}}/…/ does. */
	char *at = strstr(r.body, "{{privateKey}}");
	REQUIRE(at && strstr(at + 1, "{{privateKey}}") == NULL);
	const char *conf = it_fmt("%.*s%s%s", (int)(at - r.body), r.body, genkey,
				  at + strlen("{{privateKey}}"));
	char dir[1024], path[1100];
	snprintf(dir, sizeof(dir), "%s/vpn-conf-%d", it_env.tmpdir, (int)getpid());
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/wg1.conf", dir);
	FILE *f = fopen(path, "w");
	REQUIRE(f);
	fputs(conf, f);
	fclose(f);
	chmod(path, 0600);
	char *stripped = NULL;
	/* wg-quick re-runs itself with sudo unless root (dev.sh runs as root or
	 * as a user with sudo): -n, so that a password prompt fails at once. */
	rc = it_shell_output(
		it_fmt("%swg-quick strip '%s'", geteuid() == 0 ? "" : "sudo -n ", path), &stripped);
	CHECK_MSG(rc == 0, "wg-quick strip exited %d: %s", rc, stripped ? stripped : "");
	CHECK(stripped && strstr(stripped, it_fmt("PrivateKey = %s", genkey)) != NULL);
	CHECK(stripped && strstr(stripped, "[Peer]") != NULL);
	CHECK(stripped && strstr(stripped, "AllowedIPs = ") != NULL);
	CHECK(stripped && strstr(stripped, "Address") == NULL && strstr(stripped, "DNS") == NULL);
	free(stripped);
	free(genkey);
	it_resp_free(&r);

	/* A cluster the device does not reach: 404. */
	char pending[8];
	REQUIRE(it_new_cluster(srv, &owner, "unchosen", pending));
	r = it_call(srv, "GET", member.token, NULL, "/%s/vpn/devices/%s/config?cid=%s", owner.aid,
		    mine, pending);
	CHECK_ERROR(r, 404, "cluster.not_found");
	it_resp_free(&r);
	r = it_call(srv, "GET", member.token, NULL, "/%s/vpn/devices/%s/config", owner.aid, mine);
	CHECK_ERROR(r, 400, "validation.required");
	it_resp_free(&r);

	/* An active cluster whose control plane has not reported a wg1 key:
	 * connected:false, and the config says why it cannot be had yet. */
	const char *p[] = { owner.aid, pending };
	REQUIRE(it_db_exec(
		pg,
		"INSERT INTO nodes (aid, cid, nid, name, role, machine_id, vpn_host, status)"
		" VALUES ($1, $2, 'nowga', 'no-wg1', 'controlplane', 'machine-nowg1', 1,"
		" 'online')",
		2, p));
	REQUIRE(it_db_exec(pg,
			   "UPDATE clusters SET status = 'active', configured = true"
			   " WHERE aid = $1 AND cid = $2",
			   2, p));
	r = set_clusters(&member, mine, it_fmt("\"%s\", \"%s\"", cid, pending));
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	/* No node serves wg1 there: nothing to queue. */
	CHECK_INT_EQ(open_jobs(pending), 0);
	r = it_call(srv, "GET", member.token, NULL, "/%s/vpn/devices/%s/config?cid=%s", owner.aid,
		    mine, pending);
	CHECK_ERROR(r, 409, "vpn.server_not_ready");
	it_resp_free(&r);
	r = state(&member, mine, NULL);
	/* clusters are in cid order: find the one without a wg1 key. */
	json_t *c = NULL, *each;
	size_t k;
	json_array_foreach (json_object_get(r.json, "clusters"), k, each)
		if (test_str_eq(it_json_str(each, "cid"), pending))
			c = each;
	CHECK_MSG(c != NULL, "state without cluster %s: %s", pending, it_body_shown(&r));
	CHECK(json_is_false(json_object_get(c, "connected")));
	CHECK(json_is_null(it_json_get(c, "server.publicKey")));
	it_resp_free(&r);
	r = set_clusters(&member, mine, it_fmt("\"%s\"", cid));
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	CHECK_INT_EQ(open_jobs(cid), 0); /* the peer set of cid did not change */
}

TEST(coalesced_updates_and_revoke)
{
	char mine[8], a[8], b[8], key_a[45], key_b[45], address_b[24];
	REQUIRE(device_named(&member, "laptop 2", mine));
	it_wg_key("member-phone", key_a);
	it_wg_key("owner-desktop", key_b);
	REQUIRE(enrol_ok(&member, "phone", key_a, a, NULL));
	REQUIRE(enrol_ok(&owner, "desktop", key_b, b, address_b));
	struct it_resp r = set_clusters(&member, a, it_fmt("\"%s\"", cid));
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	r = set_clusters(&owner, b, it_fmt("\"%s\"", cid));
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	/* Two changes while nothing was handed out: one job, one instruction,
	 * with all three devices. */
	CHECK_INT_EQ(open_jobs(cid), 1);
	const char *p[] = { owner.aid, cid };
	CHECK_INT_EQ(
		it_db_count(pg,
			    "SELECT count(*) FROM instructions i JOIN jobs j ON j.id = i.job_id"
			    " WHERE j.aid = $1 AND j.cid = $2 AND j.type = 'vpn.devices'"
			    " AND i.status = 'pending'"
			    " AND json_array_length((i.payload->'peers')::json) = 3"
			    " AND i.payload->>'interface' = 'wg1'",
			    2, p),
		1);
	work(1, "coalesced wg1 peers");
	json_t *peers = wg1_peers();
	CHECK_INT_EQ(json_array_size(peers), 3);
	CHECK_STR_EQ(it_json_str(peer_of(peers, key_b), "vpnIp"), address_b);
	json_decref(peers);

	/* Revoked: gone from the peer set once its job completed. */
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/vpn/devices/%s", owner.aid, b);
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/vpn/devices/%s", owner.aid, b);
	CHECK_ERROR(r, 404, "vpn_device.not_found");
	it_resp_free(&r);
	CHECK_INT_EQ(open_jobs(cid), 1);
	work(1, "wg1 peers without the revoked device");
	CHECK_INT_EQ(open_jobs(cid), 0);
	peers = wg1_peers();
	CHECK_INT_EQ(json_array_size(peers), 2);
	CHECK(peer_of(peers, key_b) == NULL);
	json_decref(peers);
	/* Its address is free again: the next device gets it. */
	char c[8], key_c[45], address_c[24];
	it_wg_key("owner-tablet", key_c);
	REQUIRE(enrol_ok(&owner, "tablet", key_c, c, address_c));
	CHECK_STR_EQ(address_c, address_b);

	/* A member made a viewer loses their devices (viewers have none), out
	 * of the peer set. */
	struct it_user demoted;
	REQUIRE(it_invite(srv, &owner, &demoted, "member"));
	char d[8], key_d[45];
	it_wg_key("demoted-laptop", key_d);
	REQUIRE(enrol_ok(&demoted, "laptop", key_d, d, NULL));
	r = set_clusters(&demoted, d, it_fmt("\"%s\"", cid));
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	work(1, "wg1 peers with the member's device");
	peers = wg1_peers();
	CHECK(peer_of(peers, key_d) != NULL);
	json_decref(peers);
	r = it_call(srv, "PATCH", owner.token, "{\"accountRole\":\"viewer\"}", "/%s/members/%s",
		    owner.aid, demoted.uid);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	const char *dm[] = { owner.aid, demoted.uid };
	CHECK_INT_EQ(
		it_db_count(pg,
			    "SELECT count(*) FROM vpn_devices WHERE aid = $1 AND owner_uid = $2", 2,
			    dm),
		0);
	work(1, "wg1 peers without the demoted member's device");
	peers = wg1_peers();
	CHECK(peer_of(peers, key_d) == NULL);
	json_decref(peers);

	/* A member removed from the account takes their devices along, out of
	 * the peer set. */
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/members/%s", owner.aid, member.uid);
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
	const char *m[] = { owner.aid, member.uid };
	CHECK_INT_EQ(
		it_db_count(pg,
			    "SELECT count(*) FROM vpn_devices WHERE aid = $1 AND owner_uid = $2", 2,
			    m),
		0);
	work(1, "wg1 peers without the removed member's devices");
	peers = wg1_peers();
	CHECK_INT_EQ(json_array_size(peers), 0);
	json_decref(peers);
}

struct burst {
	const struct it_server *s;
	int n;
	long status;
	char address[24];
};

static void *burst_enrol(void *arg)
{
	struct burst *b = arg;
	char key[45];
	it_wg_key(it_fmt("burst-%d-%d", (int)getpid(), b->n), key);
	struct it_resp r = enrol(b->s, &other, other.aid, it_fmt("burst %d", b->n), key);
	b->status = r.status;
	snprintf(b->address, sizeof(b->address), "%s", it_json_str(r.json, "address") ?: "");
	it_resp_free(&r);
	return NULL;
}

TEST(concurrent_enrolments_over_two_instances)
{
	pthread_t threads[CONCURRENT];
	static struct burst b[CONCURRENT];
	for (int i = 0; i < CONCURRENT; i++) {
		b[i] = (struct burst){ i % 2 ? srv2 : srv, i, 0, "" };
		pthread_create(&threads[i], NULL, burst_enrol, &b[i]);
	}
	int created = 0;
	for (int i = 0; i < CONCURRENT; i++) {
		pthread_join(threads[i], NULL);
		created += b[i].status == 201;
	}
	CHECK_INT_EQ(created, CONCURRENT);
	for (int i = 0; i < CONCURRENT; i++)
		for (int k = i + 1; k < CONCURRENT; k++)
			CHECK_MSG(strcmp(b[i].address, b[k].address) != 0, "address %s twice",
				  b[i].address);
	/* The smallest free each time: exactly hosts 1-100. */
	const char *p[] = { other.aid };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(DISTINCT host) FROM vpn_devices WHERE aid = $1"
				 " AND host BETWEEN 1 AND 100",
				 1, p),
		     CONCURRENT);
}

TEST(exhaustion)
{
	struct it_user full;
	REQUIRE(it_signup(srv, &full));
	const char *p[] = { full.aid, full.uid };
	/* 2,045 devices with SQL (keys of the canonical form), then one enrolled. */
	REQUIRE(it_db_exec(pg,
			   "INSERT INTO vpn_devices (aid, id, owner_uid, name, public_key, host)"
			   " SELECT $1, 'd' || lpad(h::text, 3, '0') || 'x', $2::uuid, 'filled',"
			   " lpad(h::text, 42, 'A') || 'A=', h FROM generate_series(1, 2045) h"
			   " WHERE h < 1000",
			   2, p));
	REQUIRE(it_db_exec(pg,
			   "INSERT INTO vpn_devices (aid, id, owner_uid, name, public_key, host)"
			   " SELECT $1, 'e' || lpad((h - 1000)::text, 3, '0') || 'x', $2::uuid,"
			   " 'filled', lpad(h::text, 42, 'B') || 'A=', h FROM generate_series(1000,"
			   " 1999) h",
			   2, p));
	REQUIRE(it_db_exec(pg,
			   "INSERT INTO vpn_devices (aid, id, owner_uid, name, public_key, host)"
			   " SELECT $1, 'f' || lpad((h - 2000)::text, 3, '0') || 'x', $2::uuid,"
			   " 'filled', lpad(h::text, 42, 'C') || 'A=', h FROM generate_series(2000,"
			   " 2045) h",
			   2, p));
	char key[45];
	it_wg_key("the last one", key);
	struct it_resp r = enrol(srv, &full, full.aid, "last", key);
	CHECK_STATUS(r, 201);
	CHECK_STR_EQ(it_json_str(r.json, "address"), "172.24.207.254");
	it_resp_free(&r);
	it_wg_key("one too many", key);
	r = enrol(srv2, &full, full.aid, "too many", key);
	CHECK_ERROR(r, 409, "vpn.addresses_exhausted");
	it_resp_free(&r);
	/* Host 777 freed: 172.24.203.9 is handed out again. */
	REQUIRE(it_db_exec(pg, "DELETE FROM vpn_devices WHERE aid = $1 AND host = 777", 1, p));
	r = enrol(srv, &full, full.aid, "too many", key);
	CHECK_STATUS(r, 201);
	CHECK_STR_EQ(it_json_str(r.json, "address"), "172.24.203.9");
	it_resp_free(&r);
}

int main(void)
{
	if (!it_init("it_vpn"))
		return 1;
	const char *bin_dir_end = strrchr(it_env.bin, '/');
	snprintf(agent_sim, sizeof(agent_sim), "%.*s/../tests/agent-sim/agent-sim",
		 (int)(bin_dir_end - it_env.bin), it_env.bin);
	CHECK_MSG(access(agent_sim, X_OK) == 0, "%s is not built", agent_sim);
	static const char *env[] = { "RUNOS_NODE_OFFLINE_AFTER=60", NULL };
	srv = it_server_start("vpn", env);
	srv2 = it_server_start("vpn2", env);
	pg = PQconnectdb(it_env.database_url);
	if (!srv || !srv2 || PQstatus(pg) != CONNECTION_OK || !it_signup(srv, &owner) ||
	    !it_signup(srv, &other) || !it_invite(srv, &owner, &member, "member") ||
	    !it_invite(srv, &owner, &viewer, "viewer") ||
	    !it_new_cluster(srv, &other, "theirs", other_cid))
		return it_finish("it_vpn");
	snprintf(agent_url, sizeof(agent_url), "https://127.0.0.1:%d", it_server_agent_port(srv));
	char *ca = it_agent_ca(pg);
	snprintf(ca_path, sizeof(ca_path), "%s/vpn-ca-%d.pem", it_env.tmpdir, (int)getpid());
	snprintf(cp_state, sizeof(cp_state), "%s/vpn-cp-%d.jsonl", it_env.tmpdir, (int)getpid());
	snprintf(vpn_dir, sizeof(vpn_dir), "%s/vpn-peers-%d", it_env.tmpdir, (int)getpid());
	mkdir(vpn_dir, 0700);
	FILE *f = fopen(ca_path, "w");
	if (f && ca)
		fputs(ca, f);
	if (f)
		fclose(f);
	free(ca);
	if (!active_cluster())
		return it_finish("it_vpn");
	/* The other account's cluster is active too: still not this account's. */
	const char *p[] = { other.aid, other_cid };
	it_db_exec(pg, "UPDATE clusters SET status = 'active' WHERE aid = $1 AND cid = $2", 2, p);
	RUN(wg1_reported_by_control_planes_only);
	RUN(enrol_and_bad_keys);
	RUN(members_see_their_own_admins_all);
	RUN(if_match);
	RUN(clusters_state_and_peers);
	RUN(config_accepted_by_wg_quick);
	RUN(coalesced_updates_and_revoke);
	RUN(concurrent_enrolments_over_two_instances);
	RUN(exhaustion);
	PQfinish(pg);
	return it_finish("it_vpn");
}
