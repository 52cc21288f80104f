/* Role boundaries and tenant isolation of every account-scoped route.
 *
 * The sweeps run over the table below, which must name every route of the
 * server's own route table (server/api/routes.c) with access ROUTE_ACCOUNT:
 * the test links the server library to compare, so a route added without a
 * row here fails this program instead of going unchecked.
 *  - roles: PATs of each role (made by the owner) and the owner's session on
 *    each route: 403 auth.forbidden below the route's minimum role (403
 *    auth.session_required for PATs on session-only routes), success at or
 *    above it; a refused call changes nothing. Routes with an id act on a
 *    target made in setup (an API key, a cluster with one node, inserted
 *    with SQL as registration will); a call that deletes gets a fresh one.
 *  - tenants: another user's session and PAT on every route of this account
 *    get 404 account.not_found, never 403 or 2xx; so do an aid that does not
 *    exist, malformed aids, and a PAT used on another account of its user. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "http/route.h"

struct route_case {
	const char *method;
	const char *pattern; /* as in the route table: ":aid", ":id" (an API key or a join token),
			      * ":cid", ":nid" */
	const char *body;    /* printf format with one %s (who calls), or NULL */
	enum role min_role;
	bool session_only;
	long ok_status;
};

/* An app's create body with this name (no other %: a printf format). */
#define APP_BODY(name)                                                                             \
	"{\"name\":\"" name "\",\"repo\":{\"provider\":\"github\","                                \
	"\"url\":\"https://github.com/acme/web\",\"branch\":\"main\"},\"port\":8080}"
/* {"deploymentId": the sweep app's succeeded deployment} (setup fills it). */
static char rollback_body[80];

static const struct route_case cases[] = {
	{ "GET", "/:aid/account/profile", NULL, ROLE_VIEWER, false, 200 },
	{ "PATCH", "/:aid/account/profile", "{\"companyName\":\"set by %s\"}", ROLE_ADMIN, false,
	  200 },
	{ "POST", "/:aid/api-keys", "{\"name\":\"made by %s\"}", ROLE_ADMIN, true, 201 },
	{ "GET", "/:aid/api-keys", NULL, ROLE_ADMIN, false, 200 },
	{ "GET", "/:aid/api-keys/:id", NULL, ROLE_ADMIN, false, 200 },
	{ "PATCH", "/:aid/api-keys/:id", "{\"name\":\"renamed by %s\"}", ROLE_ADMIN, false, 200 },
	{ "DELETE", "/:aid/api-keys/:id", NULL, ROLE_ADMIN, false, 204 },
	{ "POST", "/:aid/clusters", "{\"name\":\"made by %s\"}", ROLE_ADMIN, false, 201 },
	{ "GET", "/:aid/clusters", NULL, ROLE_VIEWER, false, 200 },
	{ "GET", "/:aid/clusters/:cid", NULL, ROLE_VIEWER, false, 200 },
	{ "PATCH", "/:aid/clusters/:cid", "{\"name\":\"renamed by %s\"}", ROLE_ADMIN, false, 200 },
	{ "DELETE", "/:aid/clusters/:cid", NULL, ROLE_ADMIN, false, 204 },
	/* No cluster is active yet: admins get as far as 409 cluster.not_active. */
	{ "GET", "/:aid/clusters/:cid/kubeconfig", NULL, ROLE_ADMIN, false, 409 },
	{ "GET", "/:aid/clusters/:cid/is-app-deployment-ready", NULL, ROLE_VIEWER, false, 200 },
	{ "GET", "/:aid/cluster-domains", NULL, ROLE_VIEWER, false, 200 },
	{ "GET", "/:aid/:cid/nodes", NULL, ROLE_VIEWER, false, 200 },
	{ "GET", "/:aid/:cid/nodes/:nid", NULL, ROLE_VIEWER, false, 200 },
	{ "PATCH", "/:aid/:cid/nodes/:nid", "{\"name\":\"renamed by %s\"}", ROLE_ADMIN, false,
	  200 },
	{ "DELETE", "/:aid/:cid/nodes/:nid", NULL, ROLE_ADMIN, false, 202 },
	{ "POST", "/:aid/:cid/join-tokens", "{\"role\":\"worker\"}", ROLE_ADMIN, false, 201 },
	{ "GET", "/:aid/:cid/join-tokens", NULL, ROLE_ADMIN, false, 200 },
	{ "DELETE", "/:aid/:cid/join-tokens/:id", NULL, ROLE_ADMIN, false, 204 },
	{ "GET", "/:aid/members", NULL, ROLE_VIEWER, false, 200 },
	{ "PATCH", "/:aid/members/:uid", "{\"accountRole\":\"viewer\"}", ROLE_ADMIN, false, 200 },
	{ "DELETE", "/:aid/members/:uid", NULL, ROLE_ADMIN, false, 204 },
	/* The owner is the account's only owner: leaving is refused (409). */
	{ "DELETE", "/:aid/account/membership", NULL, ROLE_VIEWER, true, 409 },
	{ "POST", "/:aid/invitations", "{\"email\":\"%s@example.com\",\"accountRole\":\"viewer\"}",
	  ROLE_ADMIN, false, 201 },
	{ "GET", "/:aid/audit-events", NULL, ROLE_ADMIN, false, 200 },
	{ "GET", "/:aid/modules", NULL, ROLE_VIEWER, false, 200 },
	{ "GET", "/:aid/cli/manifest", NULL, ROLE_VIEWER, false, 200 },
	{ "GET", "/:aid/cli/manifest-version", NULL, ROLE_VIEWER, false, 200 },
	{ "GET", "/:aid/cli/toolsets", NULL, ROLE_VIEWER, false, 200 },
	/* Services of the sweep's cluster (active); :id is the sweep's service
	 * (installed), a fresh one for each allowed delete. */
	{ "POST", "/:aid/:cid/services/:type", "{\"name\":\"made by %s\"}", ROLE_MEMBER, false,
	  202 },
	{ "GET", "/:aid/:cid/services", NULL, ROLE_VIEWER, false, 200 },
	{ "GET", "/:aid/:cid/services/:type", NULL, ROLE_VIEWER, false, 200 },
	{ "GET", "/:aid/:cid/services/:type/:id", NULL, ROLE_VIEWER, false, 200 },
	{ "PATCH", "/:aid/:cid/services/:type/:id", "{\"replicas\":1}", ROLE_MEMBER, false, 200 },
	{ "DELETE", "/:aid/:cid/services/:type/:id", NULL, ROLE_MEMBER, false, 202 },
	{ "GET", "/:aid/:cid/services/:type/:id/status", NULL, ROLE_VIEWER, false, 200 },
	{ "GET", "/:aid/:cid/services/:type/:id/credentials", NULL, ROLE_MEMBER, false, 200 },
	{ "POST", "/:aid/:cid/services/:type/:id/credentials/rotate", NULL, ROLE_MEMBER, false,
	  202 },
	/* Apps of the sweep's cluster; :id is the sweep's app (its first
	 * deployment marked succeeded, the one the rollback body names), a
	 * fresh one for each allowed delete. */
	{ "POST", "/:aid/:cid/apps", APP_BODY("app by %s"), ROLE_MEMBER, false, 202 },
	{ "GET", "/:aid/:cid/apps", NULL, ROLE_VIEWER, false, 200 },
	{ "GET", "/:aid/:cid/apps/:id", NULL, ROLE_VIEWER, false, 200 },
	/* The settings it has: nothing to change. */
	{ "PATCH", "/:aid/:cid/apps/:id", APP_BODY("sweep-app"), ROLE_MEMBER, false, 200 },
	{ "DELETE", "/:aid/:cid/apps/:id", NULL, ROLE_MEMBER, false, 202 },
	{ "GET", "/:aid/:cid/apps/:id/status", NULL, ROLE_VIEWER, false, 200 },
	{ "GET", "/:aid/:cid/apps/:id/networkAccess", NULL, ROLE_VIEWER, false, 200 },
	{ "GET", "/:aid/:cid/apps/:id/env-vars", NULL, ROLE_VIEWER, false, 200 },
	{ "POST", "/:aid/:cid/apps/:id/env-vars", "{\"envVars\":{\"BY\":\"%s\"}}", ROLE_MEMBER,
	  false, 202 },
	{ "GET", "/:aid/:cid/apps/:id/secret-env-vars", NULL, ROLE_VIEWER, false, 200 },
	{ "POST", "/:aid/:cid/apps/:id/secret-env-vars", "{\"envVars\":{\"SECRET_BY\":\"%s\"}}",
	  ROLE_MEMBER, false, 202 },
	{ "GET", "/:aid/:cid/apps/:id/requires", NULL, ROLE_VIEWER, false, 200 },
	{ "GET", "/:aid/:cid/apps/:id/dependencies", NULL, ROLE_VIEWER, false, 200 },
	{ "POST", "/:aid/:cid/apps/:id/deploy", NULL, ROLE_MEMBER, false, 202 },
	{ "POST", "/:aid/:cid/apps/:id/build", NULL, ROLE_MEMBER, false, 202 },
	{ "GET", "/:aid/:cid/apps/:id/deployments", NULL, ROLE_VIEWER, false, 200 },
	{ "POST", "/:aid/:cid/apps/:id/rollback", rollback_body, ROLE_MEMBER, false, 202 },
	{ "POST", "/:aid/:cid/apps/:id/webhook-secret/rotate", NULL, ROLE_ADMIN, false, 200 },
	/* Reading logs waits for an agent: an allowed call's since is refused
	 * by the handler at once (a GET row's body is its query). */
	{ "GET", "/:aid/:cid/apps/:id/logs", "since=yesterday%.0s", ROLE_MEMBER, false, 400 },
	/* Custom domains of the sweep's app (:id); :fqdn is its domain (pending:
	 * the resolver is a closed port), a fresh one for each allowed delete. */
	{ "GET", "/:aid/:cid/apps/:id/domains", NULL, ROLE_VIEWER, false, 200 },
	{ "POST", "/:aid/:cid/apps/:id/domains", "{\"fqdn\":\"%s.roles.example.com\"}", ROLE_MEMBER,
	  false, 201 },
	{ "POST", "/:aid/:cid/apps/:id/domains/:fqdn/verify", NULL, ROLE_MEMBER, false, 200 },
	{ "DELETE", "/:aid/:cid/apps/:id/domains/:fqdn", NULL, ROLE_MEMBER, false, 204 },
	/* VPN devices: :id is the sweep's device (the owner's, which the PATs
	 * made by the owner act for), a fresh one for each allowed delete; the
	 * create's key is made per caller (call), the config is for the sweep's
	 * cluster, which the device reaches and whose control plane has a wg1
	 * key. */
	{ "POST", "/:aid/vpn/devices", "{\"name\":\"made by %s\"}", ROLE_MEMBER, false, 201 },
	{ "GET", "/:aid/vpn/devices", NULL, ROLE_MEMBER, false, 200 },
	{ "GET", "/:aid/vpn/devices/:id", NULL, ROLE_MEMBER, false, 200 },
	{ "PATCH", "/:aid/vpn/devices/:id", "{\"name\":\"renamed by %s\"}", ROLE_MEMBER, false,
	  200 },
	{ "DELETE", "/:aid/vpn/devices/:id", NULL, ROLE_MEMBER, false, 204 },
	{ "GET", "/:aid/vpn/devices/:id/state", NULL, ROLE_MEMBER, false, 200 },
	{ "GET", "/:aid/vpn/devices/:id/config", NULL, ROLE_MEMBER, false, 200 },
	{ "PUT", "/:aid/vpn/devices/:id/clusters", "{\"cids\":[]}", ROLE_MEMBER, false, 200 },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static const char *const role_names[] = { "none", "viewer", "member", "admin", "owner" };

static struct it_server *srv;
static struct it_user owner, other; /* other: a second tenant */
static PGconn *pg;		    /* for what a client cannot do: insert a node */

/* What a route's ids point at. */
struct target {
	const char *key_id; /* :id (a service's id on service routes) */
	const char *cid;    /* :cid */
	const char *nid;    /* :nid, a node of cid */
	const char *uid;    /* :uid, a member of the account */
	const char *type;   /* :type, a service type */
	const char *fqdn;   /* :fqdn, a custom domain of the sweep's app */
};
#define SWEEP_NID "nodea"
#define SWEEP_FQDN "sweep.roles.example.com" /* the sweep app's custom domain */

static bool needs_key(const struct route_case *c)
{
	return strstr(c->pattern, ":id") != NULL;
}

/* A route whose :id is a join token rather than an API key. */
static bool needs_join_token(const struct route_case *c)
{
	return strstr(c->pattern, "/join-tokens/:id") != NULL;
}

/* A route that deletes its cluster: allowed calls get a fresh one. */
static bool deletes_cluster(const struct route_case *c)
{
	return strcmp(c->method, "DELETE") == 0 && strcmp(c->pattern, "/:aid/clusters/:cid") == 0;
}

/* A route that deletes its node: allowed calls get a fresh one. */
static bool deletes_node(const struct route_case *c)
{
	return strcmp(c->method, "DELETE") == 0 && strcmp(c->pattern, "/:aid/:cid/nodes/:nid") == 0;
}

/* The pattern with :aid, :id, :cid and :nid replaced. */
static const char *path_of(const struct route_case *c, const char *aid, const struct target *t)
{
	static const struct {
		const char *name;
		size_t offset;
	} ids[] = { { ":id", offsetof(struct target, key_id) },
		    { ":cid", offsetof(struct target, cid) },
		    { ":nid", offsetof(struct target, nid) },
		    { ":uid", offsetof(struct target, uid) },
		    { ":type", offsetof(struct target, type) },
		    { ":fqdn", offsetof(struct target, fqdn) } };
	char out[512];
	size_t n = 0;
	for (const char *p = c->pattern; *p && n < sizeof(out) - 64;) {
		if (strncmp(p, ":aid", 4) == 0) {
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s", aid);
			p += 4;
			continue;
		}
		bool replaced = false;
		for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]) && !replaced; i++) {
			size_t len = strlen(ids[i].name);
			if (strncmp(p, ids[i].name, len) != 0 || (p[len] && p[len] != '/'))
				continue;
			const char *v = *(const char *const *)((const char *)t + ids[i].offset);
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s", v ? v : "");
			p += len;
			replaced = true;
		}
		if (!replaced)
			out[n++] = *p++;
	}
	out[n] = '\0';
	return it_fmt("%s", out);
}

static char sweep_cid[8]; /* the owner's cluster for the sweeps, with node "nodea" */

static struct it_resp call(const struct route_case *c, const char *token, const char *aid,
			   const struct target *t, const char *who)
{
	char body[256];
	if (c->body)
		snprintf(body, sizeof(body), c->body, who);
	const char *path = path_of(c, aid, t);
	if (strcmp(c->pattern, "/:aid/vpn/devices") == 0 && c->body) {
		char key[45];
		it_wg_key(it_fmt("roles-%s-%s", aid, who), key);
		snprintf(body, sizeof(body), "{\"name\":\"made by %s\",\"publicKey\":\"%s\"}", who,
			 key);
	}
	if (strcmp(c->pattern, "/:aid/vpn/devices/:id/config") == 0)
		path = it_fmt("%s?cid=%s", path, sweep_cid);
	if (c->body && strcmp(c->method, "GET") == 0)
		return it_call(srv, c->method, token, NULL, "%s?%s", path, body);
	return it_call(srv, c->method, token, c->body ? body : NULL, "%s", path);
}

static char sweep_uid[40]; /* a viewer member of the owner's account */

/* The owner's targets, with this key. */
static struct target owner_target(const char *key_id)
{
	return (struct target){ key_id, sweep_cid, SWEEP_NID, sweep_uid, "postgresql", SWEEP_FQDN };
}

/* A route that removes its member: allowed calls get a fresh one. */
static bool removes_member(const struct route_case *c)
{
	return strcmp(c->method, "DELETE") == 0 && strcmp(c->pattern, "/:aid/members/:uid") == 0;
}

/* A new user who joined the owner's account as a viewer; their uid. */
static bool fresh_member(char uid[40])
{
	struct it_user u;
	if (!it_signup(srv, &u))
		return false;
	struct it_resp r = it_call(srv, "POST", owner.token,
				   it_fmt("{\"email\":\"%s\",\"accountRole\":\"viewer\"}", u.email),
				   "/%s/invitations", owner.aid);
	char token[64] = "";
	snprintf(token, sizeof(token), "%s", it_json_str(r.json, "token") ?: "");
	it_resp_free(&r);
	r = it_call(srv, "POST", u.token, it_fmt("{\"token\":\"%s\"}", token),
		    "/invitations/accept");
	bool ok = r.status == 200;
	if (!ok)
		fprintf(stderr, "no member: %ld %s\n", r.status, r.body);
	it_resp_free(&r);
	snprintf(uid, 40, "%s", u.uid);
	return ok;
}

TEST(table_covers_every_account_route)
{
	size_t account_routes = 0;
	for (size_t i = 0; i < api_routes_count; i++) {
		const struct route *r = &api_routes[i];
		if (r->access != ROUTE_ACCOUNT)
			continue;
		account_routes++;
		const struct route_case *found = NULL;
		for (size_t k = 0; k < NCASES; k++)
			if (strcmp(cases[k].method, r->method) == 0 &&
			    strcmp(cases[k].pattern, r->pattern) == 0)
				found = &cases[k];
		CHECK_MSG(found != NULL, "route %s %s has no row in this test", r->method,
			  r->pattern);
		if (!found)
			continue;
		CHECK_MSG(found->min_role == r->min_role, "%s %s: test says %s, server %s",
			  r->method, r->pattern, role_names[found->min_role],
			  role_names[r->min_role]);
		CHECK_MSG(found->session_only == r->session_only, "%s %s: session_only differs",
			  r->method, r->pattern);
	}
	CHECK_INT_EQ(account_routes, NCASES);
}

/* A fresh key of the owner's account, for a call that may delete or rename it. */
static bool fresh_key(struct it_key *k)
{
	return it_create_pat(srv, owner.token, owner.aid, "viewer", k);
}

/* A new join token of the sweep's cluster; its id. */
static bool fresh_join_token(char id[40])
{
	struct it_resp r = it_call(srv, "POST", owner.token, "{\"role\":\"worker\"}",
				   "/%s/%s/join-tokens", owner.aid, sweep_cid);
	bool ok = r.status == 201 && it_json_str(r.json, "id");
	if (ok)
		snprintf(id, 40, "%s", it_json_str(r.json, "id"));
	else
		fprintf(stderr, "no join token: %ld %s\n", r.status, r.body);
	it_resp_free(&r);
	return ok;
}

/* A new node of the sweep's cluster (inserted as registration would); its nid. */
static bool fresh_node(char nid[8])
{
	static int made;
	made++;
	snprintf(nid, 8, "del%c%c", 'a' + made / 26 % 26, 'a' + made % 26);
	const char *p[] = { owner.aid, sweep_cid, nid, it_fmt("%d", 100 + made) };
	return it_db_exec(pg,
			  "INSERT INTO nodes (aid, cid, nid, name, role, machine_id, vpn_host,"
			  " status) VALUES ($1, $2, $3, 'to delete', 'worker', 'machine-' || $3,"
			  " $4::int, 'online')",
			  4, p);
}

/* A new cluster of the owner's account (name: a printf format); its cid. */
static bool fresh_cluster(const char *name, char cid[8])
{
	struct it_resp r = it_call(srv, "POST", owner.token, it_fmt("{\"name\":\"%s\"}", name),
				   "/%s/clusters", owner.aid);
	bool ok = r.status == 201 && it_json_str(r.json, "cid");
	if (ok)
		snprintf(cid, 8, "%s", it_json_str(r.json, "cid"));
	else
		fprintf(stderr, "no cluster: %ld %s\n", r.status, r.body);
	it_resp_free(&r);
	return ok;
}

static char sweep_sid[8]; /* a PostgreSQL service of the sweep's cluster, installed */

static bool is_service_route(const struct route_case *c)
{
	return strstr(c->pattern, "/services/:type/:id") != NULL;
}

/* A new PostgreSQL service of the sweep's cluster; its id (static), or NULL. */
static const char *fresh_service(void)
{
	static int made;
	static char id[8];
	struct it_resp r =
		it_call(srv, "POST", owner.token, it_fmt("{\"name\":\"svc-%d\"}", ++made),
			"/%s/%s/services/postgresql", owner.aid, sweep_cid);
	bool ok = r.status == 202 && it_json_str(r.json, "id");
	if (ok)
		snprintf(id, sizeof(id), "%s", it_json_str(r.json, "id"));
	else
		fprintf(stderr, "no service: %ld %s\n", r.status, r.body);
	it_resp_free(&r);
	return ok ? id : NULL;
}

static char sweep_app[8]; /* an app of the sweep's cluster */

static bool is_app_route(const struct route_case *c)
{
	return strstr(c->pattern, "/apps/:id") != NULL;
}

/* A new app of the sweep's cluster (its first deployment's id into
 * deployment when not NULL); its id (static), or NULL. */
static const char *fresh_app(const char *name, char deployment[40])
{
	static char id[8];
	struct it_resp r = it_call(srv, "POST", owner.token, it_fmt(APP_BODY("%s"), name),
				   "/%s/%s/apps", owner.aid, sweep_cid);
	bool ok = r.status == 202 && it_json_str(r.json, "id");
	if (ok)
		snprintf(id, sizeof(id), "%s", it_json_str(r.json, "id"));
	else
		fprintf(stderr, "no app: %ld %s\n", r.status, r.body);
	if (ok && deployment)
		snprintf(deployment, 40, "%s", it_json_str(r.json, "deploymentId") ?: "");
	it_resp_free(&r);
	return ok ? id : NULL;
}

/* A new custom domain of the sweep's app; its fqdn (static), or NULL. */
static const char *fresh_domain(const char *fqdn_or_null)
{
	static int made;
	static char fqdn[64];
	if (fqdn_or_null)
		snprintf(fqdn, sizeof(fqdn), "%s", fqdn_or_null);
	else
		snprintf(fqdn, sizeof(fqdn), "del-%d.roles.example.com", ++made);
	struct it_resp r = it_call(srv, "POST", owner.token, it_fmt("{\"fqdn\":\"%s\"}", fqdn),
				   "/%s/%s/apps/%s/domains", owner.aid, sweep_cid, sweep_app);
	bool ok = r.status == 201;
	if (!ok)
		fprintf(stderr, "no domain: %ld %s\n", r.status, r.body);
	it_resp_free(&r);
	return ok ? fqdn : NULL;
}

/* The sweep's app, its first deployment rolled out and succeeded (as its
 * job would have it), named by the rollback body. */
static bool make_sweep_app(void)
{
	char deployment[40];
	const char *id = fresh_app("sweep-app", deployment);
	if (!id)
		return false;
	snprintf(sweep_app, sizeof(sweep_app), "%s", id);
	snprintf(rollback_body, sizeof(rollback_body), "{\"deploymentId\":\"%s\"}", deployment);
	const char *d[] = { owner.aid, deployment };
	return it_db_exec(pg,
			  "UPDATE app_deployments SET status = 'deploying', rollout_at = now(),"
			  " sha = repeat('a', 40), image_digest = 'sha256:' || repeat('b', 64)"
			  " WHERE aid = $1 AND id = $2",
			  2, d) &&
	       it_db_exec(pg,
			  "UPDATE app_deployments SET status = 'succeeded', finished_at = now()"
			  " WHERE aid = $1 AND id = $2",
			  2, d);
}

/* The sweep's cluster and its nodes (inserted as registration will): a
 * worker, and a control plane that makes the cluster active (with its
 * credentials marked reported), with an installed service. */
static char sweep_device[8]; /* the owner's VPN device, reaching sweep_cid */

static bool is_vpn_device_route(const struct route_case *c)
{
	return strstr(c->pattern, "/vpn/devices/:id") != NULL;
}

/* A new VPN device of the owner; its id (static), or NULL. */
static const char *fresh_device(void)
{
	static int made;
	static char id[8];
	char key[45];
	it_wg_key(it_fmt("roles-fresh-%s-%d", owner.aid, made++), key);
	struct it_resp r = it_call(srv, "POST", owner.token,
				   it_fmt("{\"name\":\"fresh\",\"publicKey\":\"%s\"}", key),
				   "/%s/vpn/devices", owner.aid);
	const char *got = r.status == 201 ? it_json_str(r.json, "id") : NULL;
	if (got)
		snprintf(id, sizeof(id), "%s", got);
	else
		fprintf(stderr, "no device: %ld %s\n", r.status, r.body);
	it_resp_free(&r);
	return got ? id : NULL;
}

/* The sweep's device reaches the sweep's cluster, whose control plane serves wg1. */
static bool make_sweep_device(void)
{
	const char *id = fresh_device();
	if (!id)
		return false;
	snprintf(sweep_device, sizeof(sweep_device), "%s", id);
	struct it_resp r =
		it_call(srv, "PUT", owner.token, it_fmt("{\"cids\":[\"%s\"]}", sweep_cid),
			"/%s/vpn/devices/%s/clusters", owner.aid, sweep_device);
	bool ok = r.status == 200;
	if (!ok)
		fprintf(stderr, "device clusters: %ld %s\n", r.status, r.body);
	it_resp_free(&r);
	char key[45];
	it_wg_key("roles-server", key);
	const char *p[] = { owner.aid, key };
	return ok &&
	       it_db_exec(pg,
			  "UPDATE nodes SET wg1_pub_key = $2, wg1_endpoint = '192.0.2.1:51821'"
			  " WHERE aid = $1 AND nid = 'nodcp'",
			  2, p);
}

static bool make_sweep_targets(void)
{
	if (!fresh_cluster("sweep", sweep_cid) || !fresh_member(sweep_uid))
		return false;
	const char *p[] = { owner.aid, sweep_cid, SWEEP_NID };
	if (!it_db_exec(pg,
			"INSERT INTO nodes (aid, cid, nid, name, role, machine_id, vpn_host,"
			" status) VALUES ($1, $2, $3, 'sweep-node', 'worker', 'machine-' || $3,"
			" 1, 'online'), ($1, $2, 'nodcp', 'sweep-cp', 'controlplane',"
			" 'machine-nodcp', 2, 'online')",
			3, p) ||
	    !it_db_exec(pg,
			"UPDATE clusters SET status = 'active', configured = true"
			" WHERE aid = $1 AND cid = $2",
			2, p))
		return false;
	const char *sid = fresh_service();
	if (!sid)
		return false;
	snprintf(sweep_sid, sizeof(sweep_sid), "%s", sid);
	const char *q[] = { owner.aid, sweep_cid, sweep_sid };
	return it_db_exec(pg,
			  "UPDATE services SET lifecycle = 'installed' WHERE aid = $1 AND cid = $2"
			  " AND id = $3",
			  3, q) &&
	       make_sweep_app() && fresh_domain(SWEEP_FQDN) && make_sweep_device();
}

TEST(role_boundaries)
{
	struct it_key pats[ROLE_OWNER + 1];
	for (int role = ROLE_VIEWER; role <= ROLE_OWNER; role++)
		REQUIRE(it_create_pat(srv, owner.token, owner.aid, role_names[role], &pats[role]));
	struct it_key target; /* what refused calls aim at: must survive them */
	REQUIRE(fresh_key(&target));

	for (size_t k = 0; k < NCASES; k++) {
		const struct route_case *c = &cases[k];
		/* Roles viewer..owner through PATs, then (role 5) the owner's session. */
		for (int caller = ROLE_VIEWER; caller <= ROLE_OWNER + 1; caller++) {
			bool session = caller > ROLE_OWNER;
			enum role role = session ? ROLE_OWNER : (enum role)caller;
			const char *token = session ? owner.token : pats[role].token;
			const char *who = session ? "session" : role_names[role];
			bool allowed = role >= c->min_role && (session || !c->session_only);
			struct it_key victim = target;
			if (allowed && needs_join_token(c)) {
				if (!fresh_join_token(victim.id)) {
					CHECK_MSG(false, "no join token for %s", c->pattern);
					continue;
				}
			} else if (allowed && needs_key(c) && !fresh_key(&victim)) {
				CHECK_MSG(false, "no key for %s %s", c->method, c->pattern);
				continue;
			}
			char cid[8];
			snprintf(cid, sizeof(cid), "%s", sweep_cid);
			if (allowed && deletes_cluster(c) && !fresh_cluster("to delete", cid)) {
				CHECK_MSG(false, "no cluster for %s %s", c->method, c->pattern);
				continue;
			}
			char nid[8] = SWEEP_NID;
			if (allowed && deletes_node(c) && !fresh_node(nid)) {
				CHECK_MSG(false, "no node for %s %s", c->method, c->pattern);
				continue;
			}
			char uid[40];
			snprintf(uid, sizeof(uid), "%s", sweep_uid);
			if (allowed && removes_member(c) && !fresh_member(uid)) {
				CHECK_MSG(false, "no member for %s %s", c->method, c->pattern);
				continue;
			}
			if (is_service_route(c)) {
				const char *sid = allowed && strcmp(c->method, "DELETE") == 0
							  ? fresh_service()
							  : sweep_sid;
				if (!sid) {
					CHECK_MSG(false, "no service for %s %s", c->method,
						  c->pattern);
					continue;
				}
				snprintf(victim.id, sizeof(victim.id), "%s", sid);
			}
			const char *fqdn = SWEEP_FQDN;
			bool domain_delete = allowed && strcmp(c->method, "DELETE") == 0 &&
					     strstr(c->pattern, ":fqdn");
			if (domain_delete && !(fqdn = fresh_domain(NULL))) {
				CHECK_MSG(false, "no domain for %s", c->pattern);
				continue;
			}
			if (is_app_route(c)) {
				static int deleted;
				const char *app =
					allowed && strcmp(c->method, "DELETE") == 0 &&
							!domain_delete
						? fresh_app(it_fmt("to delete %d", ++deleted), NULL)
						: sweep_app;
				if (!app) {
					CHECK_MSG(false, "no app for %s %s", c->method, c->pattern);
					continue;
				}
				snprintf(victim.id, sizeof(victim.id), "%s", app);
			}
			if (is_vpn_device_route(c)) {
				const char *did = allowed && strcmp(c->method, "DELETE") == 0
							  ? fresh_device()
							  : sweep_device;
				if (!did) {
					CHECK_MSG(false, "no device for %s %s", c->method,
						  c->pattern);
					continue;
				}
				snprintf(victim.id, sizeof(victim.id), "%s", did);
			}
			struct target t = { victim.id, cid, nid, uid, "postgresql", fqdn };
			struct it_resp r = call(c, token, owner.aid, &t, who);
			if (allowed) {
				CHECK_MSG(r.status == c->ok_status, "%s as %s: %ld, want %ld: %s",
					  r.what, who, r.status, c->ok_status, r.body);
			} else {
				const char *code = c->session_only ? "auth.session_required"
								   : "auth.forbidden";
				CHECK_ERROR(r, 403, code);
				if (r.status != 403)
					fprintf(stderr, "  (as %s)\n", who);
			}
			it_resp_free(&r);
		}
	}

	/* The refused calls changed nothing: the target key is alive and not
	 * renamed, no key was made and the profile was not written by them. */
	struct it_resp r =
		it_call(srv, "GET", target.token, NULL, "/%s/account/profile", owner.aid);
	CHECK_STATUS(r, 200);
	CHECK(strstr(r.body, "by viewer") == NULL && strstr(r.body, "by member") == NULL);
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/api-keys?limit=200", owner.aid);
	CHECK_STATUS(r, 200);
	CHECK(strstr(r.body, "by viewer") == NULL && strstr(r.body, "by member") == NULL);
	CHECK(strstr(r.body, "made by admin") == NULL && strstr(r.body, "made by owner") == NULL);
	CHECK(strstr(r.body, "made by session") != NULL);
	it_resp_free(&r);

	/* ...nor the sweep's cluster and node; no cluster was made by them, and
	 * each allowed create made one. */
	r = it_call(srv, "GET", owner.token, NULL, "/%s/clusters/%s", owner.aid, sweep_cid);
	CHECK_STATUS(r, 200);
	CHECK(strstr(r.body, "by viewer") == NULL && strstr(r.body, "by member") == NULL);
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/nodes/%s", owner.aid, sweep_cid,
		    SWEEP_NID);
	CHECK_STATUS(r, 200);
	CHECK(strstr(r.body, "by viewer") == NULL && strstr(r.body, "by member") == NULL);
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/clusters?limit=200", owner.aid);
	CHECK_STATUS(r, 200);
	CHECK(strstr(r.body, "made by viewer") == NULL && strstr(r.body, "made by member") == NULL);
	CHECK(strstr(r.body, "made by admin") && strstr(r.body, "made by owner") &&
	      strstr(r.body, "made by session"));
	it_resp_free(&r);
	/* The allowed deletes took their own clusters, not the sweep's. */
	const char *p[] = { owner.aid };
	CHECK_INT_EQ(
		it_db_count(pg,
			    "SELECT count(*) FROM clusters WHERE aid = $1 AND name = 'to delete'",
			    1, p),
		0);
}

/* Every route of the owner's account with token → 404 account.not_found. */
static void sweep_not_found(const char *token, const char *aid, const char *key_id, const char *who)
{
	struct target t = owner_target(key_id);
	for (size_t k = 0; k < NCASES; k++) {
		struct it_resp r = call(&cases[k], token, aid, &t, who);
		CHECK_ERROR(r, 404, "account.not_found");
		if (r.status != 404)
			fprintf(stderr, "  (as %s)\n", who);
		it_resp_free(&r);
	}
}

TEST(other_tenant_sees_nothing)
{
	struct it_key target, other_pat;
	REQUIRE(fresh_key(&target));
	REQUIRE(it_create_pat(srv, other.token, other.aid, "owner", &other_pat));

	sweep_not_found(other.token, owner.aid, target.id, "other tenant's session");
	sweep_not_found(other_pat.token, owner.aid, target.id, "other tenant's PAT");
	sweep_not_found(other_pat.token, owner.aid, other_pat.id, "other tenant's PAT, own key");

	/* The owner's key id inside the other tenant's own account: not found there. */
	const char *methods[] = { "GET", "PATCH", "DELETE" };
	for (int i = 0; i < 3; i++) {
		struct it_resp r = it_call(srv, methods[i], other.token,
					   i == 1 ? "{\"name\":\"hijacked\"}" : NULL,
					   "/%s/api-keys/%s", other.aid, target.id);
		CHECK_ERROR(r, 404, "api_key.not_found");
		it_resp_free(&r);
	}

	/* The owner's cluster inside the other tenant's own account: not found there. */
	static const struct {
		const char *method, *path, *body;
	} cluster_routes[] = {
		{ "GET", "/%s/clusters/%s", NULL },
		{ "PATCH", "/%s/clusters/%s", "{\"name\":\"hijacked\"}" },
		{ "DELETE", "/%s/clusters/%s", NULL },
		{ "GET", "/%s/clusters/%s/kubeconfig", NULL },
		{ "GET", "/%s/clusters/%s/is-app-deployment-ready", NULL },
		{ "GET", "/%s/%s/nodes", NULL },
		{ "GET", "/%s/%s/nodes/" SWEEP_NID, NULL },
		{ "PATCH", "/%s/%s/nodes/" SWEEP_NID, "{\"name\":\"hijacked\"}" },
		{ "DELETE", "/%s/%s/nodes/" SWEEP_NID, NULL },
		{ "POST", "/%s/%s/join-tokens", "{\"role\":\"worker\"}" },
		{ "GET", "/%s/%s/join-tokens", NULL },
		{ "DELETE", "/%s/%s/join-tokens/00000000-0000-4000-8000-000000000000", NULL },
	};
	for (size_t i = 0; i < sizeof(cluster_routes) / sizeof(cluster_routes[0]); i++) {
		struct it_resp r =
			it_call(srv, cluster_routes[i].method, other.token, cluster_routes[i].body,
				cluster_routes[i].path, other.aid, sweep_cid);
		CHECK_ERROR(r, 404, "cluster.not_found");
		it_resp_free(&r);
	}
	struct it_resp r = it_call(srv, "GET", other.token, NULL, "/%s/cluster-domains?cid=%s",
				   other.aid, sweep_cid);
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(json_array_size(it_json_get(r.json, "clusterDomains")), 0);
	it_resp_free(&r);

	/* Nothing of the owner's changed. */
	r = it_call(srv, "GET", target.token, NULL, "/%s/account/profile", owner.aid);
	CHECK_STATUS(r, 200);
	CHECK(strstr(r.body, "other tenant") == NULL);
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/api-keys/%s", owner.aid, target.id);
	CHECK_STATUS(r, 200);
	CHECK(strstr(r.body, "other tenant") == NULL && strstr(r.body, "hijacked") == NULL);
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/clusters/%s", owner.aid, sweep_cid);
	CHECK_STATUS(r, 200);
	CHECK(strstr(r.body, "other tenant") == NULL && strstr(r.body, "hijacked") == NULL);
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/nodes/%s", owner.aid, sweep_cid,
		    SWEEP_NID);
	CHECK_STATUS(r, 200);
	CHECK(strstr(r.body, "other tenant") == NULL && strstr(r.body, "hijacked") == NULL);
	it_resp_free(&r);
}

TEST(unknown_and_malformed_aids)
{
	struct it_key key;
	REQUIRE(it_create_pat(srv, other.token, other.aid, "owner", &key));
	/* An aid of the right shape that no account has. */
	PGconn *db = it_db_connect(it_env.database_url);
	REQUIRE(db != NULL);
	char missing[8] = "zq0qz";
	for (int i = 0; i < 26; i++) {
		missing[1] = (char)('a' + i);
		const char *p[] = { missing };
		if (it_db_count(db, "SELECT count(*) FROM accounts WHERE aid = $1", 1, p) == 0)
			break;
	}
	PQfinish(db);
	CHECK(it_is_aid(missing));
	sweep_not_found(other.token, missing, key.id, "session, missing aid");
	sweep_not_found(key.token, missing, key.id, "PAT, missing aid");

	static const char *const malformed[] = {
		"ABCDE", "a", "abcd1", "1abcd", "abcdef", "ab-de"
	};
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		sweep_not_found(other.token, malformed[i], key.id, "session, malformed aid");
		sweep_not_found(key.token, malformed[i], key.id, "PAT, malformed aid");
	}

	/* Without a token, an existing and a missing account answer alike. */
	struct it_resp a = it_call(srv, "GET", NULL, NULL, "/%s/account/profile", owner.aid);
	struct it_resp b = it_call(srv, "GET", NULL, NULL, "/%s/account/profile", missing);
	CHECK_401(a, "missing");
	CHECK_401(b, "missing");
	it_resp_free(&a);
	it_resp_free(&b);
}

TEST(pat_is_bound_to_its_account)
{
	struct it_resp r =
		it_call(srv, "POST", owner.token, "{\"name\":\"Second\"}", "/user/accounts");
	REQUIRE(CHECK_STATUS(r, 201));
	char second[8];
	snprintf(second, sizeof(second), "%s", it_json_str(r.json, "aid") ?: "");
	it_resp_free(&r);

	struct it_key first_pat, second_key;
	REQUIRE(it_create_pat(srv, owner.token, owner.aid, "owner", &first_pat));
	REQUIRE(it_create_pat(srv, owner.token, second, "owner", &second_key));
	sweep_not_found(first_pat.token, second, second_key.id, "PAT of the first account");

	/* The session reaches both; each PAT only its own. */
	r = it_call(srv, "GET", owner.token, NULL, "/%s/account/profile", second);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	r = it_call(srv, "GET", second_key.token, NULL, "/%s/account/profile", second);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	r = it_call(srv, "GET", second_key.token, NULL, "/%s/account/profile", owner.aid);
	CHECK_ERROR(r, 404, "account.not_found");
	it_resp_free(&r);
}

/* Polls GET path until it answers status (a change in the database reaches
 * cached credentials within the auth cache's lifetime of 1 s); the last answer. */
static struct it_resp await_status(const char *token, const char *path, long status)
{
	double deadline = it_now_ms() + 3000;
	for (;;) {
		struct it_resp r = it_call(srv, "GET", token, NULL, "%s", path);
		if (r.status == status || it_now_ms() > deadline)
			return r;
		it_resp_free(&r);
		it_sleep_ms(100);
	}
}

TEST(pat_acts_with_creators_current_role)
{
	struct it_user dave;
	REQUIRE(it_signup(srv, &dave));
	struct it_key admin_pat;
	REQUIRE(it_create_pat(srv, dave.token, dave.aid, "admin", &admin_pat));
	struct it_resp r = it_call(srv, "GET", admin_pat.token, NULL, "/%s/api-keys", dave.aid);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);

	/* Dave becomes a viewer of his account: his admin key now acts as a
	 * viewer. */
	PGconn *db = it_db_connect(it_env.database_url);
	REQUIRE(db != NULL);
	const char *p[] = { dave.aid, dave.uid };
	REQUIRE(it_db_exec(db, "UPDATE memberships SET role = 'viewer' WHERE aid = $1 AND uid = $2",
			   2, p));
	double changed = it_now_ms();
	r = await_status(admin_pat.token, it_fmt("/%s/api-keys", dave.aid), 403);
	CHECK_ERROR(r, 403, "auth.forbidden");
	CHECK_MSG(it_now_ms() - changed < 1500, "took %.0f ms", it_now_ms() - changed);
	it_resp_free(&r);
	r = it_call(srv, "GET", admin_pat.token, NULL, "/%s/account/profile", dave.aid);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	r = await_status(dave.token, it_fmt("/%s/api-keys", dave.aid), 403);
	CHECK_ERROR(r, 403, "auth.forbidden");
	it_resp_free(&r);

	/* Removed from the account altogether: 404, as for any stranger. */
	REQUIRE(it_db_exec(db, "DELETE FROM memberships WHERE aid = $1 AND uid = $2", 2, p));
	r = await_status(admin_pat.token, it_fmt("/%s/account/profile", dave.aid), 404);
	CHECK_ERROR(r, 404, "account.not_found");
	it_resp_free(&r);
	r = await_status(dave.token, it_fmt("/%s/account/profile", dave.aid), 404);
	CHECK_ERROR(r, 404, "account.not_found");
	it_resp_free(&r);
	PQfinish(db);
}

TEST(clean_stop)
{
	CHECK_INT_EQ(it_server_stop(srv), 0);
}

int main(void)
{
	if (!it_init("it_roles")) {
		test_failed++;
		return it_finish("it_roles");
	}
	RUN(table_covers_every_account_route);
	srv = it_server_start("roles", NULL);
	pg = srv ? it_db_connect(it_env.database_url) : NULL;
	if (!srv || !pg || !it_signup(srv, &owner) || !it_signup(srv, &other) ||
	    !make_sweep_targets()) {
		test_failed++;
		fprintf(stderr, "FAIL it_roles: no server, database, users or cluster\n");
		return it_finish("it_roles");
	}
	RUN(role_boundaries);
	RUN(other_tenant_sees_nothing);
	RUN(unknown_and_malformed_aids);
	RUN(pat_is_bound_to_its_account);
	RUN(pat_acts_with_creators_current_role);
	RUN(clean_stop);
	PQfinish(pg);
	return it_finish("it_roles");
}
