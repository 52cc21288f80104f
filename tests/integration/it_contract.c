/* The route table tells the truth about what each route answers.
 *
 * Every route of server/api/routes.c is called once on its happy path, in an
 * order where each call has what it needs (a session, an API key to show,
 * rename and revoke, a cluster, a node inserted with SQL as registration
 * will), and the top-level members of its JSON answer must be exactly the
 * route's declared output fields: none missing, none extra (an extra member
 * is how a secret would leak into a response). The items of a list must be
 * exactly what the route showing one item declares. A route whose happy path
 * cannot be reached yet (kubeconfig: no cluster is active before agents
 * exist) is called and its refusal checked. A route added to the table
 * without a step here fails this program. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/hash.h"
#include "harness.h"
#include "http/route.h"

static struct it_server *srv;
static struct it_user user;
static char key_id[40];
static char cid[8], nid[8] = "nodec";
static bool called[128];
static PGconn *db;

static const struct route *find_route(const char *method, const char *pattern)
{
	for (size_t i = 0; i < api_routes_count; i++)
		if (strcmp(api_routes[i].method, method) == 0 &&
		    strcmp(api_routes[i].pattern, pattern) == 0) {
			called[i] = true;
			return &api_routes[i];
		}
	return NULL;
}

/* The members of obj must be these names, no more and no fewer (for the two
 * shapes of one answer, which the typed list allows both of). */
static void check_names(const char *const *names, const json_t *obj, const char *what)
{
	CHECK_MSG(json_is_object(obj), "%s: not a JSON object", what);
	size_t declared = 0;
	for (const char *const *f = names; *f; f++, declared++)
		CHECK_MSG(json_object_get(obj, *f) != NULL, "%s: member %s missing", what, *f);
	CHECK_INT_EQ(json_object_size(obj), declared);
}

/* The members of obj must be the typed fields: every always-present one
 * there, none undeclared (an extra member is how a secret would leak), and so
 * on down into the objects and arrays of objects the fields describe. */
static void check_object(const struct output_field *fields, const json_t *obj, const char *what)
{
	CHECK_MSG(json_is_object(obj), "%s: not a JSON object", what);
	if (!json_is_object(obj))
		return;
	for (const struct output_field *f = fields; f->name; f++) {
		json_t *value = json_object_get(obj, f->name);
		CHECK_MSG(value || f->optional, "%s: declared field %s missing", what, f->name);
		if (!value || !f->members)
			continue;
		const char *at = it_fmt("%s.%s", what, f->name);
		if (f->type == FIELD_OBJECT && !json_is_null(value))
			check_object(f->members, value, at);
		size_t i;
		json_t *item;
		if (f->type == FIELD_OBJECTS)
			json_array_foreach (value, i, item)
				check_object(f->members, item, it_fmt("%s[%zu]", at, i));
	}
	const char *key;
	json_t *value;
	json_object_foreach ((json_t *)obj, key, value) {
		bool known = false;
		for (const struct output_field *f = fields; f->name; f++)
			known |= strcmp(f->name, key) == 0;
		CHECK_MSG(known, "%s: member %s is not in the route's output", what, key);
	}
}

/* The members of body must be the declared fields, no more and no fewer. */
static void check_fields(const struct route *route, const struct it_resp *r)
{
	const struct output_field *fields = route->output->fields;
	if (!fields) {
		CHECK_MSG(r->body_len == 0 || route->output->media_type,
			  "%s: declared no body, got %.80s", r->what, r->body);
		return;
	}
	if (route->output->list) {
		CHECK_MSG(json_is_array(r->json), "%s: not a JSON array: %.80s", r->what, r->body);
		size_t i;
		json_t *item;
		json_array_foreach (r->json, i, item)
			check_object(fields, item, it_fmt("%s[%zu]", r->what, i));
		return;
	}
	CHECK_MSG(json_is_object(r->json), "%s: not a JSON object: %.80s", r->what, r->body);
	check_object(fields, r->json, r->what);
}

/* The list r->json[key] has items (which check_fields checked against the
 * list's typed fields), and they are what the route showing one item (method,
 * pattern) declares: the list's item fields are that route's. */
static void check_items(const struct it_resp *r, const char *key, const char *method,
			const char *pattern)
{
	const struct route *one = NULL;
	for (size_t i = 0; i < api_routes_count; i++)
		if (strcmp(api_routes[i].method, method) == 0 &&
		    strcmp(api_routes[i].pattern, pattern) == 0)
			one = &api_routes[i];
	CHECK_MSG(one && one->output->fields, "no route %s %s with fields", method, pattern);
	json_t *items = json_object_get(r->json, key);
	CHECK_MSG(json_array_size(items) > 0, "%s: no %s to check", r->what, key);
	if (!one || !one->output->fields)
		return;
	size_t i;
	json_t *item;
	json_array_foreach (items, i, item)
		check_object(one->output->fields, item, it_fmt("%s: %s[%zu]", r->what, key, i));
}

/* Calls one route (path with :aid, :id, :cid and :nid filled in). */
static struct it_resp call_route(const char *method, const char *pattern, const char *token,
				 const char *body, const struct route **route)
{
	*route = find_route(method, pattern);
	CHECK_MSG(*route != NULL, "no route %s %s in the table", method, pattern);
	char path[256] = "";
	for (const char *p = pattern; *p;) {
		if (strncmp(p, ":aid", 4) == 0) {
			strcat(path, user.aid);
			p += 4;
		} else if (strncmp(p, ":cid", 4) == 0) {
			strcat(path, cid);
			p += 4;
		} else if (strncmp(p, ":nid", 4) == 0) {
			strcat(path, nid);
			p += 4;
		} else if (strncmp(p, ":id", 3) == 0) {
			strcat(path, key_id);
			p += 3;
		} else {
			strncat(path, p, 1);
			p++;
		}
	}
	return it_call(srv, method, token, body, "%s", path);
}

/* step() for a path that call_route cannot fill in (ids of other kinds): calls
 * path and checks the answer against the route of pattern. */
static struct it_resp step_at(const char *method, const char *pattern, const char *token,
			      const char *body, long status, const char *path)
{
	const struct route *route = find_route(method, pattern);
	CHECK_MSG(route != NULL, "no route %s %s in the table", method, pattern);
	struct it_resp r = it_call(srv, method, token, body, "%s", path);
	CHECK_STATUS(r, status);
	if (route && r.status == status)
		check_fields(route, &r);
	return r;
}

/* The /jobs routes, on the job of a node delete (paths of their own: a job id
 * and a work item id). */
static void check_job_routes(const char *job)
{
	struct it_resp r =
		step_at("GET", "/jobs/:id", user.token, NULL, 200, it_fmt("/jobs/%s", job));
	it_resp_free(&r);
	r = step_at("GET", "/jobs", user.token, NULL, 200, it_fmt("/jobs?aid=%s", user.aid));
	check_items(&r, "jobs", "GET", "/jobs/:id");
	it_resp_free(&r);
	r = step_at("GET", "/jobs/:id/workitems", user.token, NULL, 200,
		    it_fmt("/jobs/%s/workitems", job));
	CHECK_MSG(it_json_get(r.json, "workItems.0") != NULL, "no work item to check");
	char wid[64] = "";
	snprintf(wid, sizeof(wid), "%s", it_json_str(r.json, "workItems.0.id") ?: "");
	it_resp_free(&r);
	r = step_at("GET", "/jobs/:id/workitems/:wid/logs", user.token, NULL, 200,
		    it_fmt("/jobs/%s/workitems/%s/logs", job, wid));
	it_resp_free(&r);
	/* Already completed (409) or still running (202): both in the contract. */
	const struct route *route = find_route("POST", "/jobs/:id/cancel");
	r = it_call(srv, "POST", user.token, NULL, "/jobs/%s/cancel", job);
	CHECK_MSG(r.status == 202 || r.status == 409, "cancel: %ld", r.status);
	if (route && r.status == 202)
		check_fields(route, &r);
	it_resp_free(&r);
}

/* Calls one route and checks its answer against the declared output. */
static struct it_resp step(const char *method, const char *pattern, const char *token,
			   const char *body, long status)
{
	const struct route *route;
	struct it_resp r = call_route(method, pattern, token, body, &route);
	CHECK_STATUS(r, status);
	if (route && r.status == status)
		check_fields(route, &r);
	return r;
}

/* Calls a route whose happy path cannot be reached yet: its refusal follows
 * the error contract. */
static void step_refused(const char *method, const char *pattern, const char *token, long status,
			 const char *code)
{
	const struct route *route;
	struct it_resp r = call_route(method, pattern, token, NULL, &route);
	CHECK_ERROR(r, status, code);
	it_resp_free(&r);
}

/* A GitHub delivery signed with secret (the app's create answered it). */
static struct it_resp deliver(const char *app_id, const char *secret, const char *event,
			      const char *delivery, const char *body)
{
	uint8_t mac[32];
	char hex[65];
	crypto_hmac_sha256(secret, strlen(secret), body, strlen(body), mac);
	crypto_hex(mac, sizeof(mac), hex);
	char sig[100], ev[64], id[80];
	snprintf(sig, sizeof(sig), "X-Hub-Signature-256: sha256=%s", hex);
	snprintf(ev, sizeof(ev), "X-GitHub-Event: %s", event);
	snprintf(id, sizeof(id), "X-GitHub-Delivery: %s", delivery);
	const char *headers[] = { sig, ev, id, NULL };
	struct it_req req = { .method = "POST",
			      .path = it_fmt("/webhooks/github/%s", app_id),
			      .body = body,
			      .headers = headers };
	struct it_resp r;
	it_request(srv, &req, &r);
	return r;
}

/* The GitHub webhook of an app in a cluster made active with SQL: a push to
 * its branch (the route's 202) and a ping (its second answer, 200). */
static void check_webhook_route(void)
{
	struct it_resp r = step("POST", "/:aid/clusters", user.token, "{\"name\":\"hooks\"}", 201);
	char hcid[8];
	snprintf(hcid, sizeof(hcid), "%s", it_json_str(r.json, "cid") ?: "");
	it_resp_free(&r);
	const char *p[] = { user.aid, hcid };
	CHECK(it_db_exec(db,
			 "UPDATE clusters SET status = 'active', configured = true"
			 " WHERE aid = $1 AND cid = $2",
			 2, p));
	r = step_at("POST", "/:aid/:cid/apps", user.token,
		    "{\"name\":\"hooked\",\"repo\":{\"provider\":\"github\",\"url\":"
		    "\"https://github.com/acme/hooked\",\"branch\":\"main\"},\"port\":8080}",
		    202, it_fmt("/%s/%s/apps", user.aid, hcid));
	char id[8], secret[64];
	snprintf(id, sizeof(id), "%s", it_json_str(r.json, "id") ?: "");
	snprintf(secret, sizeof(secret), "%s", it_json_str(r.json, "webhookSecret") ?: "");
	it_resp_free(&r);
	const struct route *route = find_route("POST", "/webhooks/github/:id");
	CHECK(route != NULL);
	r = deliver(id, secret, "push", "contract-1",
		    "{\"ref\":\"refs/heads/main\",\"before\":"
		    "\"0000000000000000000000000000000000000000\",\"after\":"
		    "\"9e597618cb9102c993b3245f4e7c0843131ce335\",\"deleted\":false}");
	CHECK_STATUS(r, 202);
	if (route && r.status == 202)
		check_fields(route, &r);
	it_resp_free(&r);
	const struct output_spec *answered = NULL;
	for (const struct route_answer *a = api_route_answers; a->handler; a++)
		if (route && a->handler == route->handler)
			answered = a->output;
	CHECK(answered != NULL);
	r = deliver(id, secret, "ping", "contract-2", "{\"zen\":\"Keep it logically awesome.\"}");
	CHECK_STATUS(r, 200);
	if (answered && r.status == 200)
		check_object(answered->fields, r.json, r.what);
	it_resp_free(&r);
}

/* An app's custom domains, of an app inserted with SQL (in the active
 * cluster of the service routes): added, listed, checked (the resolver is a
 * closed port of loopback: still pending) and removed. */
static void check_app_domain_routes(const char *scid)
{
	const char *p[] = { user.aid, scid };
	CHECK(it_db_exec(
		db,
		"INSERT INTO apps (aid, cid, id, name, dns_name, repo_provider, repo_url,"
		" repo_branch, ports, webhook_secret) VALUES ($1, $2, 'ctrap', 'web', 'web',"
		" 'github', 'https://github.com/runos/web', 'main', '{8080}', 'sealed')",
		2, p));
	char domains[96];
	snprintf(domains, sizeof(domains), "/%s/%s/apps/ctrap/domains", user.aid, scid);
	struct it_resp r = step_at("POST", "/:aid/:cid/apps/:id/domains", user.token,
				   "{\"fqdn\":\"contract.example.com\"}", 201, domains);
	it_resp_free(&r);
	r = step_at("GET", "/:aid/:cid/apps/:id/domains", user.token, NULL, 200, domains);
	check_items(&r, "domains", "POST", "/:aid/:cid/apps/:id/domains");
	it_resp_free(&r);
	r = step_at("POST", "/:aid/:cid/apps/:id/domains/:fqdn/verify", user.token, NULL, 200,
		    it_fmt("%s/contract.example.com/verify", domains));
	CHECK_STR_EQ(it_json_str(r.json, "status"), "pending");
	it_resp_free(&r);
	r = step_at("DELETE", "/:aid/:cid/apps/:id/domains/:fqdn", user.token, NULL, 204,
		    it_fmt("%s/contract.example.com", domains));
	it_resp_free(&r);
}

/* Services, in a cluster made active with SQL as agents would (a control
 * plane online, credentials reported); its jobs stay queued (no agent
 * answers), so the service is marked installed with SQL for the PATCH and
 * the rotation, which need that. */
static void check_service_routes(void)
{
	struct it_resp r = step("POST", "/:aid/clusters", user.token, "{\"name\":\"svc\"}", 201);
	char scid[8];
	snprintf(scid, sizeof(scid), "%s", it_json_str(r.json, "cid") ?: "");
	it_resp_free(&r);
	const char *p[] = { user.aid, scid };
	CHECK(it_db_exec(db,
			 "INSERT INTO nodes (aid, cid, nid, name, role, machine_id, vpn_host,"
			 " status) VALUES ($1, $2, 'svcnd', 'svc-node', 'controlplane',"
			 " 'machine-svc', 1, 'online')",
			 2, p));
	CHECK(it_db_exec(db,
			 "UPDATE clusters SET status = 'active', configured = true"
			 " WHERE aid = $1 AND cid = $2",
			 2, p));
	const char *base = it_fmt("/%s/%s/services", user.aid, scid);
	char services[64];
	snprintf(services, sizeof(services), "%s", base);
	r = step_at("POST", "/:aid/:cid/services/:type", user.token, "{\"name\":\"contract-db\"}",
		    202, it_fmt("%s/postgresql", services));
	char id[8] = "", one[128];
	snprintf(id, sizeof(id), "%s", it_json_str(r.json, "id") ?: "");
	snprintf(one, sizeof(one), "%s/postgresql/%s", services, id);
	it_resp_free(&r);
	r = step_at("GET", "/:aid/:cid/services", user.token, NULL, 200, services);
	check_items(&r, "services", "GET", "/:aid/:cid/services/:type/:id");
	it_resp_free(&r);
	r = step_at("GET", "/:aid/:cid/services/:type", user.token, NULL, 200,
		    it_fmt("%s/postgresql", services));
	check_items(&r, "services", "GET", "/:aid/:cid/services/:type/:id");
	it_resp_free(&r);
	r = step_at("GET", "/:aid/:cid/services/:type/:id", user.token, NULL, 200, one);
	it_resp_free(&r);
	r = step_at("GET", "/:aid/:cid/services/:type/:id/status", user.token, NULL, 200,
		    it_fmt("%s/status", one));
	it_resp_free(&r);
	r = step_at("GET", "/:aid/:cid/services/:type/:id/credentials", user.token, NULL, 200,
		    it_fmt("%s/credentials", one));
	it_resp_free(&r);
	const char *q[] = { user.aid, scid, id };
	CHECK(it_db_exec(db,
			 "UPDATE services SET lifecycle = 'installed' WHERE aid = $1 AND cid = $2"
			 " AND id = $3",
			 3, q));
	r = step_at("PATCH", "/:aid/:cid/services/:type/:id", user.token, "{\"storageMb\":20480}",
		    202, one);
	it_resp_free(&r);
	r = step_at("POST", "/:aid/:cid/services/:type/:id/credentials/rotate", user.token, NULL,
		    202, it_fmt("%s/credentials/rotate", one));
	it_resp_free(&r);
	r = step_at("DELETE", "/:aid/:cid/services/:type/:id", user.token, NULL, 202, one);
	it_resp_free(&r);
	check_app_domain_routes(scid);
}

/* Apps, in a cluster made active with SQL; their jobs stay queued (no agent
 * answers), so a deployment is marked succeeded with SQL for the rollback.
 * The app requires a service of the cluster, so requires and dependencies
 * have items to check. */
static void check_app_routes(void)
{
	struct it_resp r = step("POST", "/:aid/clusters", user.token, "{\"name\":\"apps\"}", 201);
	char acid[8];
	snprintf(acid, sizeof(acid), "%s", it_json_str(r.json, "cid") ?: "");
	it_resp_free(&r);
	const char *p[] = { user.aid, acid };
	CHECK(it_db_exec(db,
			 "INSERT INTO nodes (aid, cid, nid, name, role, machine_id, vpn_host,"
			 " status) VALUES ($1, $2, 'appnd', 'app-node', 'controlplane',"
			 " 'machine-app', 1, 'online')",
			 2, p));
	CHECK(it_db_exec(db,
			 "UPDATE clusters SET status = 'active', configured = true"
			 " WHERE aid = $1 AND cid = $2",
			 2, p));
	r = it_call(srv, "POST", user.token, "{\"name\":\"app-db\"}", "/%s/%s/services/postgresql",
		    user.aid, acid);
	CHECK_STATUS(r, 202);
	char sid[8];
	snprintf(sid, sizeof(sid), "%s", it_json_str(r.json, "id") ?: "");
	it_resp_free(&r);
	char apps[64];
	snprintf(apps, sizeof(apps), "/%s/%s/apps", user.aid, acid);
	r = step_at("POST", "/:aid/:cid/apps", user.token,
		    it_fmt("{\"name\":\"web\",\"repo\":{\"provider\":\"github\","
			   "\"url\":\"https://github.com/acme/web\",\"branch\":\"main\"},"
			   "\"port\":8080,\"requires\":{\"db\":{\"type\":\"postgresql\","
			   "\"id\":\"%s\",\"env\":{\"url\":\"DATABASE_URL\"}}}}",
			   sid),
		    202, apps);
	char one[128], first[40];
	snprintf(one, sizeof(one), "%s/%s", apps, it_json_str(r.json, "id") ?: "");
	snprintf(first, sizeof(first), "%s", it_json_str(r.json, "deploymentId") ?: "");
	it_resp_free(&r);
	/* A list item is an app without its requires (GET of one adds them). */
	r = step_at("GET", "/:aid/:cid/apps", user.token, NULL, 200, apps);
	CHECK_MSG(json_array_size(json_object_get(r.json, "apps")) == 1, "%s", r.body);
	it_resp_free(&r);
	/* The first deployment rolled out and succeeded, as its job would. */
	const char *d[] = { user.aid, first };
	CHECK(it_db_exec(db,
			 "UPDATE app_deployments SET status = 'deploying', rollout_at = now(),"
			 " sha = repeat('a', 40), image_digest = 'sha256:' || repeat('b', 64)"
			 " WHERE aid = $1 AND id = $2",
			 2, d));
	CHECK(it_db_exec(db,
			 "UPDATE app_deployments SET status = 'succeeded', finished_at = now()"
			 " WHERE aid = $1 AND id = $2",
			 2, d));
	static const struct {
		const char *method, *pattern, *suffix, *body;
		long status;
	} calls[] = {
		{ "GET", "/:aid/:cid/apps/:id", "", NULL, 200 },
		{ "GET", "/:aid/:cid/apps/:id/status", "/status", NULL, 200 },
		{ "GET", "/:aid/:cid/apps/:id/networkAccess", "/networkAccess", NULL, 200 },
		{ "POST", "/:aid/:cid/apps/:id/env-vars", "/env-vars",
		  "{\"envVars\":{\"LOG_LEVEL\":\"info\"}}", 202 },
		{ "GET", "/:aid/:cid/apps/:id/env-vars", "/env-vars", NULL, 200 },
		{ "POST", "/:aid/:cid/apps/:id/secret-env-vars", "/secret-env-vars",
		  "{\"envVars\":{\"API_KEY\":\"s3cret\"}}", 202 },
		{ "GET", "/:aid/:cid/apps/:id/secret-env-vars", "/secret-env-vars", NULL, 200 },
		{ "GET", "/:aid/:cid/apps/:id/requires", "/requires", NULL, 200 },
		{ "GET", "/:aid/:cid/apps/:id/dependencies", "/dependencies", NULL, 200 },
		{ "POST", "/:aid/:cid/apps/:id/deploy", "/deploy", NULL, 202 },
		{ "POST", "/:aid/:cid/apps/:id/build", "/build", NULL, 202 },
		{ "GET", "/:aid/:cid/apps/:id/deployments", "/deployments", NULL, 200 },
		{ "POST", "/:aid/:cid/apps/:id/webhook-secret/rotate", "/webhook-secret/rotate",
		  NULL, 200 },
	};
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		r = step_at(calls[i].method, calls[i].pattern, user.token, calls[i].body,
			    calls[i].status, it_fmt("%s%s", one, calls[i].suffix));
		if (strstr(calls[i].pattern, "dependencies"))
			CHECK(json_array_size(json_object_get(r.json, "dependencies")) == 1);
		if (strstr(calls[i].pattern, "deployments"))
			CHECK(json_array_size(json_object_get(r.json, "deployments")) >= 2);
		it_resp_free(&r);
	}
	/* Logs need an agent to answer (it_apps reads them through agent-sim):
	 * here, the route's own refusal of a bad since. */
	CHECK(find_route("GET", "/:aid/:cid/apps/:id/logs") != NULL);
	r = it_call(srv, "GET", user.token, NULL, "%s/logs?since=yesterday", one);
	CHECK_ERROR(r, 400, "validation.invalid");
	it_resp_free(&r);
	r = step_at("POST", "/:aid/:cid/apps/:id/rollback", user.token,
		    it_fmt("{\"deploymentId\":\"%s\"}", first), 202, it_fmt("%s/rollback", one));
	it_resp_free(&r);
	r = step_at("PATCH", "/:aid/:cid/apps/:id", user.token, "{\"replicas\":2}", 202,
		    it_fmt("%s?merge=true", one));
	it_resp_free(&r);
	r = step_at("DELETE", "/:aid/:cid/apps/:id", user.token, NULL, 202, one);
	it_resp_free(&r);
}

/* VPN devices, reaching a cluster made active with SQL whose control plane
 * reported a wg1 key (so the config is served). */
static void check_vpn_routes(void)
{
	struct it_resp r = step("POST", "/:aid/clusters", user.token, "{\"name\":\"vpn\"}", 201);
	char vcid[8];
	snprintf(vcid, sizeof(vcid), "%s", it_json_str(r.json, "cid") ?: "");
	it_resp_free(&r);
	char server_key[45], device_key[45];
	it_wg_key("contract-server", server_key);
	it_wg_key(it_fmt("contract-device-%s", user.aid), device_key);
	const char *p[] = { user.aid, vcid, server_key };
	CHECK(it_db_exec(db,
			 "INSERT INTO nodes (aid, cid, nid, name, role, machine_id, vpn_host,"
			 " status, wg1_pub_key, wg1_endpoint) VALUES ($1, $2, 'vpnnd', 'vpn-node',"
			 " 'controlplane', 'machine-vpn', 1, 'online', $3, '192.0.2.7:51821')",
			 3, p));
	CHECK(it_db_exec(db,
			 "UPDATE clusters SET status = 'active', configured = true"
			 " WHERE aid = $1 AND cid = $2",
			 2, p));
	const char *base = it_fmt("/%s/vpn/devices", user.aid);
	char devices[64], one[96];
	snprintf(devices, sizeof(devices), "%s", base);
	r = step_at("POST", "/:aid/vpn/devices", user.token,
		    it_fmt("{\"name\":\"laptop\",\"publicKey\":\"%s\"}", device_key), 201, devices);
	snprintf(one, sizeof(one), "%s/%s", devices, it_json_str(r.json, "id") ?: "");
	it_resp_free(&r);
	r = step_at("GET", "/:aid/vpn/devices", user.token, NULL, 200, devices);
	check_items(&r, "devices", "GET", "/:aid/vpn/devices/:id");
	it_resp_free(&r);
	r = step_at("GET", "/:aid/vpn/devices/:id", user.token, NULL, 200, one);
	it_resp_free(&r);
	r = step_at("PATCH", "/:aid/vpn/devices/:id", user.token, "{\"name\":\"work laptop\"}", 200,
		    one);
	it_resp_free(&r);
	r = step_at("PUT", "/:aid/vpn/devices/:id/clusters", user.token,
		    it_fmt("{\"cids\":[\"%s\"]}", vcid), 200, it_fmt("%s/clusters", one));
	it_resp_free(&r);
	r = step_at("GET", "/:aid/vpn/devices/:id/state", user.token, NULL, 200,
		    it_fmt("%s/state", one));
	CHECK_MSG(it_json_get(r.json, "clusters.0") != NULL, "no cluster in the state to check");
	it_resp_free(&r);
	r = step_at("GET", "/:aid/vpn/devices/:id/config", user.token, NULL, 200,
		    it_fmt("%s/config?cid=%s", one, vcid));
	CHECK(r.body && strstr(r.body, "[Peer]") != NULL);
	it_resp_free(&r);
	r = step_at("DELETE", "/:aid/vpn/devices/:id", user.token, NULL, 204, one);
	it_resp_free(&r);
}

/* Members and invitations: a second user is invited and joins, is listed,
 * changed and removed; the owner cannot leave (the last owner). */
static void check_member_routes(void)
{
	struct it_user joiner;
	CHECK(it_signup(srv, &joiner));
	struct it_resp r =
		step_at("POST", "/:aid/invitations", user.token,
			it_fmt("{\"email\":\"%s\",\"accountRole\":\"member\"}", joiner.email), 201,
			it_fmt("/%s/invitations", user.aid));
	char token[64];
	snprintf(token, sizeof(token), "%s", it_json_str(r.json, "token") ?: "");
	it_resp_free(&r);
	r = step_at("POST", "/invitations/accept", joiner.token,
		    it_fmt("{\"token\":\"%s\"}", token), 200, "/invitations/accept");
	it_resp_free(&r);
	r = step_at("GET", "/:aid/members", user.token, NULL, 200, it_fmt("/%s/members", user.aid));
	check_items(&r, "members", "PATCH", "/:aid/members/:uid");
	it_resp_free(&r);
	char member_path[128];
	snprintf(member_path, sizeof(member_path), "/%s/members/%s", user.aid, joiner.uid);
	r = step_at("PATCH", "/:aid/members/:uid", user.token, "{\"accountRole\":\"viewer\"}", 200,
		    member_path);
	it_resp_free(&r);
	r = step_at("DELETE", "/:aid/members/:uid", user.token, NULL, 204, member_path);
	it_resp_free(&r);
	r = step_at("GET", "/:aid/audit-events", user.token, NULL, 200,
		    it_fmt("/%s/audit-events", user.aid));
	CHECK_MSG(it_json_get(r.json, "entries.0") != NULL, "no audit entry to check");
	it_resp_free(&r);
	CHECK(find_route("DELETE", "/:aid/account/membership") != NULL);
	step_refused("DELETE", "/:aid/account/membership", user.token, 409, "member.last_owner");
}

TEST(every_route_answers_its_declared_fields)
{
	struct it_resp r;
	r = step("GET", "/healthz", NULL, NULL, 200);
	it_resp_free(&r);
	r = step("GET", "/readyz", NULL, NULL, 200);
	it_resp_free(&r);

	const char *email = it_fmt("contract-%d-%ld@example.test", (int)getpid(), (long)time(NULL));
	snprintf(user.email, sizeof(user.email), "%s", email);
	snprintf(user.password, sizeof(user.password), "contract-password-1");
	r = step("POST", "/auth/signup", NULL,
		 it_fmt("{\"email\":\"%s\",\"password\":\"%s\",\"name\":\"C\"}", user.email,
			user.password),
		 201);
	snprintf(user.aid, sizeof(user.aid), "%s", it_json_str(r.json, "account.aid") ?: "");
	snprintf(user.token, sizeof(user.token), "%s", it_json_str(r.json, "token") ?: "");
	it_resp_free(&r);

	r = step("POST", "/auth/login", NULL,
		 it_fmt("{\"email\":\"%s\",\"password\":\"%s\"}", user.email, user.password), 200);
	it_resp_free(&r);
	r = step("GET", "/user", user.token, NULL, 200);
	it_resp_free(&r);
	r = step("PATCH", "/user", user.token, "{\"name\":\"Contract\"}", 200);
	it_resp_free(&r);
	/* Device login: initiate (declared fields), approve, poll (two shapes). */
	r = step("POST", "/auth/device/initiate", NULL, NULL, 200);
	char device_body[256];
	snprintf(device_body, sizeof(device_body), "{\"deviceId\":\"%s\",\"token\":\"%s\"",
		 it_json_str(r.json, "deviceId") ?: "", it_json_str(r.json, "token") ?: "");
	it_resp_free(&r);
	CHECK(find_route("POST", "/auth/device/poll") != NULL);
	r = it_call(srv, "POST", NULL, it_fmt("%s}", device_body), "/auth/device/poll");
	CHECK_STATUS(r, 200);
	check_names((const char *const[]){ "success", "error", NULL }, r.json, "a pending poll");
	it_resp_free(&r);
	r = step("POST", "/auth/device/approve", user.token,
		 it_fmt("%s,\"aid\":\"%s\"}", device_body, user.aid), 204);
	it_resp_free(&r);
	r = it_call(srv, "POST", NULL, it_fmt("%s}", device_body), "/auth/device/poll");
	check_names((const char *const[]){ "success", "accessToken", "accountId", NULL }, r.json,
		    "an approved poll");
	it_resp_free(&r);
	r = step("POST", "/user/mfa/totp", user.token, NULL, 200);
	it_resp_free(&r);
	step_refused("POST", "/user/mfa/totp/verify", user.token, 400, "validation.required");
	r = step("GET", "/user/accounts", user.token, NULL, 200);
	it_resp_free(&r);
	r = step("POST", "/user/accounts", user.token, "{\"name\":\"Second\"}", 201);
	it_resp_free(&r);
	r = step("GET", "/:aid/account/profile", user.token, NULL, 200);
	it_resp_free(&r);
	r = step("PATCH", "/:aid/account/profile", user.token, "{\"website\":\"https://x.test\"}",
		 200);
	it_resp_free(&r);
	r = step("POST", "/:aid/api-keys", user.token, "{\"name\":\"contract\"}", 201);
	snprintf(key_id, sizeof(key_id), "%s", it_json_str(r.json, "id") ?: "");
	it_resp_free(&r);
	r = step("GET", "/:aid/api-keys", user.token, NULL, 200);
	it_resp_free(&r);
	r = step("GET", "/:aid/api-keys/:id", user.token, NULL, 200);
	it_resp_free(&r);
	r = step("PATCH", "/:aid/api-keys/:id", user.token, "{\"name\":\"renamed\"}", 200);
	it_resp_free(&r);
	r = step("DELETE", "/:aid/api-keys/:id", user.token, NULL, 204);
	it_resp_free(&r);

	r = step("POST", "/:aid/clusters", user.token,
		 "{\"name\":\"contract\",\"description\":\"checked\"}", 201);
	snprintf(cid, sizeof(cid), "%s", it_json_str(r.json, "cid") ?: "");
	it_resp_free(&r);
	r = step("GET", "/:aid/clusters", user.token, NULL, 200);
	check_items(&r, "clusters", "GET", "/:aid/clusters/:cid");
	it_resp_free(&r);
	r = step("GET", "/:aid/clusters/:cid", user.token, NULL, 200);
	it_resp_free(&r);
	r = step("PATCH", "/:aid/clusters/:cid", user.token, "{\"name\":\"renamed\"}", 200);
	it_resp_free(&r);
	/* Not active until a control-plane node reports credentials: a 409,
	 * in the error contract. */
	step_refused("GET", "/:aid/clusters/:cid/kubeconfig", user.token, 409,
		     "cluster.not_active");
	r = step("GET", "/:aid/clusters/:cid/is-app-deployment-ready", user.token, NULL, 200);
	it_resp_free(&r);
	r = step("GET", "/:aid/cluster-domains", user.token, NULL, 200);
	CHECK_INT_EQ(json_array_size(json_object_get(r.json, "clusterDomains")), 1);
	it_resp_free(&r);

	const char *p[] = { user.aid, cid, nid };
	CHECK(it_db_exec(db,
			 "INSERT INTO nodes (aid, cid, nid, name, role, machine_id, vpn_host,"
			 " status) VALUES ($1, $2, $3, 'contract-node', 'controlplane',"
			 " 'machine-' || $3, 1, 'online')",
			 3, p));
	r = step("GET", "/:aid/:cid/nodes", user.token, NULL, 200);
	check_items(&r, "nodes", "GET", "/:aid/:cid/nodes/:nid");
	it_resp_free(&r);
	r = step("GET", "/:aid/:cid/nodes/:nid", user.token, NULL, 200);
	it_resp_free(&r);
	r = step("PATCH", "/:aid/:cid/nodes/:nid", user.token, "{\"name\":\"renamed\"}", 200);
	it_resp_free(&r);
	r = step("DELETE", "/:aid/:cid/nodes/:nid", user.token, NULL, 202);
	char job[64] = "";
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	check_job_routes(job);

	r = step("POST", "/:aid/:cid/join-tokens", user.token,
		 "{\"role\":\"worker\",\"ttlSeconds\":600,\"maxUses\":2}", 201);
	char join_token[64];
	snprintf(join_token, sizeof(join_token), "%s", it_json_str(r.json, "token") ?: "");
	snprintf(key_id, sizeof(key_id), "%s", it_json_str(r.json, "id") ?: "");
	it_resp_free(&r);
	r = step("GET", "/:aid/:cid/join-tokens", user.token, NULL, 200);
	CHECK_MSG(it_json_get(r.json, "joinTokens.0") != NULL, "no join token to check");
	it_resp_free(&r);
	/* Metrics are Prometheus text. */
	CHECK(find_route("GET", "/metrics") != NULL);
	r = it_call(srv, "GET", NULL, NULL, "/metrics");
	CHECK_STATUS(r, 200);
	CHECK(r.body && strstr(r.body, "# TYPE runosd_http_requests_total counter") != NULL);
	it_resp_free(&r);
	/* The OpenAPI document (it_openapi checks what it says). */
	CHECK(find_route("GET", "/openapi.json") != NULL);
	r = it_call(srv, "GET", NULL, NULL, "/openapi.json");
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "openapi"), "3.1.0");
	it_resp_free(&r);
	/* The /docs page and its files are HTML, scripts and a style sheet (it_docs
	 * checks them in a browser). */
	static const char *const docs[][2] = {
		{ "/docs", "text/html; charset=utf-8" },
		{ "/docs/docs.js", "text/javascript; charset=utf-8" },
		{ "/docs/swagger-ui-bundle.js", "text/javascript; charset=utf-8" },
		{ "/docs/swagger-ui.css", "text/css; charset=utf-8" },
	};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		r = step("GET", docs[i][0], NULL, NULL, 200);
		CHECK_STR_EQ(it_header(&r, "Content-Type"), docs[i][1]);
		it_resp_free(&r);
	}
	/* The installer is a script, not JSON. */
	CHECK(find_route("GET", "/install.sh") != NULL);
	r = it_call(srv, "GET", NULL, NULL, "/install.sh?token=%s", join_token);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_header(&r, "Content-Type"), "text/x-shellscript; charset=utf-8");
	CHECK(r.body && strncmp(r.body, "#!/bin/sh\n", 10) == 0);
	it_resp_free(&r);
	r = step("DELETE", "/:aid/:cid/join-tokens/:id", user.token, NULL, 204);
	it_resp_free(&r);

	/* A cluster with a live node is not deleted (yet): delete a new one. */
	r = step("POST", "/:aid/clusters", user.token, "{\"name\":\"to delete\"}", 201);
	snprintf(cid, sizeof(cid), "%s", it_json_str(r.json, "cid") ?: "");
	it_resp_free(&r);
	r = step("DELETE", "/:aid/clusters/:cid", user.token, NULL, 204);
	it_resp_free(&r);
	check_member_routes();
	r = step("GET", "/:aid/modules", user.token, NULL, 200);
	it_resp_free(&r);
	check_service_routes();
	check_app_routes();
	check_webhook_route();
	check_vpn_routes();
	r = step("GET", "/service-info", NULL, NULL, 200);
	check_items(&r, "services", "GET", "/service-info/:type");
	it_resp_free(&r);
	r = step_at("GET", "/service-info/:type", NULL, NULL, 200, "/service-info/postgresql");
	it_resp_free(&r);
	/* The CLI manifest (it_cli checks what it says). */
	r = step("GET", "/cli/manifest", NULL, NULL, 200);
	it_resp_free(&r);
	r = step("GET", "/cli/manifest-version", NULL, NULL, 200);
	it_resp_free(&r);
	r = step("GET", "/:aid/cli/manifest", user.token, NULL, 200);
	it_resp_free(&r);
	r = step("GET", "/:aid/cli/manifest-version", user.token, NULL, 200);
	it_resp_free(&r);
	r = step("GET", "/:aid/cli/toolsets", user.token, NULL, 200);
	it_resp_free(&r);
	r = step("POST", "/auth/logout", user.token, NULL, 204);
	it_resp_free(&r);
}

TEST(no_route_left_out)
{
	for (size_t i = 0; i < api_routes_count; i++)
		CHECK_MSG(called[i], "route %s %s has no step in it_contract.c",
			  api_routes[i].method, api_routes[i].pattern);
}

TEST(clean_stop)
{
	CHECK_INT_EQ(it_server_stop(srv), 0);
}

int main(void)
{
	if (!it_init("it_contract")) {
		test_failed++;
		return it_finish("it_contract");
	}
	/* Custom domains are checked through a closed port of loopback: every
	 * check answers at once, unverified, and no query leaves the machine. */
	const char *extra[] = { it_fmt("RUNOS_DNS_SERVER=127.0.0.1:%d", it_closed_udp_port()),
				NULL };
	srv = it_server_start("contract", extra);
	db = srv ? it_db_connect(it_env.database_url) : NULL;
	if (!srv || !db) {
		test_failed++;
		fprintf(stderr, "FAIL it_contract: no server or database\n");
		return it_finish("it_contract");
	}
	RUN(every_route_answers_its_declared_fields);
	RUN(no_route_left_out);
	RUN(clean_stop);
	PQfinish(db);
	return it_finish("it_contract");
}
