/* The tenant sweep, generated from the server's route table (api_routes): a
 * route added to the table is swept without anyone writing a line here.
 *
 * Account A owns one of everything a path can name (a cluster made active
 * with SQL and a node registered through a join token, a service, an app and
 * its domain, a join token, an API key, a member, a VPN device, the node's
 * join job and a step of it). For every row with access ROUTE_ACCOUNT or
 * ROUTE_ACCOUNT_OF the test fills each :param of the pattern with A's id (a
 * :param it has no fixture for fails the test, naming it), the query's aid
 * and cid with A's, required query and body fields with plausible values of
 * their types (a 400 must not hide the access check), and checks:
 *  - A's owner is not told 404 (the ids are real, so the 404s below mean
 *    something);
 *  - account B's session and B's PAT get 404 with a JSON error, never 403
 *    and never data; so do they under B's own :aid with A's resource ids;
 *  - a member of A one role below the row's minimum role (viewer, member,
 *    admin, by invitation) gets 403 auth.forbidden, and so does a PAT of A
 *    of that role (on routes that take PATs);
 *  - after all that, A's owner still finds every id (nothing was deleted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents.h"
#include "harness.h"
#include "http/route.h"

static const char *const role_names[] = { "none", "viewer", "member", "admin", "owner" };

static struct it_server *srv;
static PGconn *pg;
static struct it_user a, b;		    /* two tenants */
static struct it_user below[ROLE_OWNER];    /* members of A: [ROLE_VIEWER..ROLE_ADMIN] */
static struct it_key below_pat[ROLE_OWNER]; /* PATs of A made by its owner, as below */
static struct it_key b_pat;		    /* an owner PAT of B's account */

/* What a :param of a pattern names in A's account, found by the param and
 * the path segment before it (NULL: any). */
struct fixture {
	const char *after;
	const char *param;
	bool is_id; /* a resource of A (not a kind, like a service type) */
	char value[64];
};
static struct fixture fixtures[] = {
	{ NULL, ":cid", true, "" },
	{ "nodes", ":nid", true, "" },
	{ "api-keys", ":id", true, "" },
	{ "join-tokens", ":id", true, "" },
	{ "services", ":type", false, "postgresql" },
	{ ":type", ":id", true, "" }, /* a service of that type */
	{ "apps", ":id", true, "" },
	{ "domains", ":fqdn", true, "" },
	{ "devices", ":id", true, "" },
	{ "members", ":uid", true, "" },
	{ "jobs", ":id", true, "" },
	{ "workitems", ":wid", true, "" },
};
#define NFIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

static struct fixture *fixture_of(const char *after, const char *param, size_t param_len)
{
	struct fixture *any = NULL;
	for (size_t i = 0; i < NFIXTURES; i++) {
		struct fixture *f = &fixtures[i];
		if (strlen(f->param) != param_len || strncmp(f->param, param, param_len) != 0)
			continue;
		if (f->after && strcmp(f->after, after) == 0)
			return f;
		if (!f->after)
			any = f;
	}
	return any;
}

static void set_fixture(const char *after, const char *param, const char *value)
{
	struct fixture *f = fixture_of(after, param, strlen(param));
	if (f)
		snprintf(f->value, sizeof(f->value), "%s", value);
}

/* The row's pattern with :aid as aid and every other :param as A's fixture;
 * NULL (with the param's name in missing) when a param has none. *has_id
 * says whether the path names a resource of A besides the account. */
static const char *path_of(const struct route *r, const char *aid, char missing[32], bool *has_id)
{
	char out[512] = "", prev[64] = "";
	size_t n = 0;
	*has_id = false;
	for (const char *p = r->pattern; *p == '/';) {
		const char *seg = p + 1;
		size_t len = strcspn(seg, "/");
		const char *value = NULL;
		char seg_text[64];
		snprintf(seg_text, sizeof(seg_text), "%.*s", (int)len, seg);
		if (strcmp(seg_text, ":aid") == 0) {
			value = aid;
		} else if (*seg == ':') {
			const struct fixture *f = fixture_of(prev, seg, len);
			if (!f || !*f->value) {
				snprintf(missing, 32, "%.31s", seg_text);
				return NULL;
			}
			value = f->value;
			*has_id = *has_id || f->is_id;
		} else {
			value = seg_text;
		}
		n += (size_t)snprintf(out + n, sizeof(out) - n, "/%s", value);
		snprintf(prev, sizeof(prev), "%s", seg_text);
		p = seg + len;
	}
	return it_fmt("%s", out);
}

/* A plausible value of a field's type, as JSON. */
static json_t *value_of(const struct field_spec *f)
{
	switch (f->type) {
	case FIELD_INTEGER:
		return json_integer(f->min_len);
	case FIELD_BOOLEAN:
		return json_false();
	case FIELD_TIME:
		return json_string("2030-01-01T00:00:00Z");
	case FIELD_ENUM:
		return json_string(f->choices && f->choices[0] ? f->choices[0] : "x");
	case FIELD_STRINGS:
		return json_pack("[s]", "x");
	case FIELD_OBJECT:
	case FIELD_JSON:
		return json_object();
	default: {
		char s[257];
		int len = f->min_len > 1 ? f->min_len : 1;
		if (len > 256)
			len = 256;
		memset(s, 'x', (size_t)len);
		s[len] = '\0';
		return json_string(s);
	}
	}
}

/* The query: aid and cid are A's, other required parameters plausible. */
static const char *query_of(const struct route *r, const char *aid)
{
	char out[512] = "";
	size_t n = 0;
	for (const struct field_spec *q = r->query; q && q->name; q++) {
		const char *v = NULL;
		char buf[300];
		if (strcmp(q->name, "aid") == 0) {
			v = aid;
		} else if (strcmp(q->name, "cid") == 0) {
			v = fixture_of("", ":cid", 4)->value;
		} else if (q->required) {
			json_t *j = value_of(q);
			if (json_is_string(j))
				snprintf(buf, sizeof(buf), "%s", json_string_value(j));
			else if (json_is_integer(j))
				snprintf(buf, sizeof(buf), "%lld",
					 (long long)json_integer_value(j));
			else
				snprintf(buf, sizeof(buf), "false");
			json_decref(j);
			v = buf;
		}
		if (v)
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%c%s=%s", n ? '&' : '?',
					      q->name, v);
	}
	return it_fmt("%s", out);
}

/* The body: the row's required fields (NULL when the row has no input). */
static char *body_of(const struct route *r)
{
	if (!r->input || !r->input->name)
		return NULL;
	json_t *o = json_object();
	for (const struct field_spec *f = r->input; f->name; f++)
		if (f->required)
			json_object_set_new(o, f->name, value_of(f));
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* Calls row r as token with :aid (and ?aid=) as aid; status 0 with what
 * naming the missing param when a path cannot be made. */
static struct it_resp call(const struct route *r, const char *token, const char *aid, bool *has_id,
			   long timeout_ms)
{
	struct it_resp out;
	char missing[32] = "";
	const char *path = path_of(r, aid, missing, has_id);
	if (!path) {
		memset(&out, 0, sizeof(out));
		snprintf(out.what, sizeof(out.what), "%s %s: no fixture for %s", r->method,
			 r->pattern, missing);
		return out;
	}
	char *body = body_of(r);
	const char *full = it_fmt("%s%s", path, query_of(r, aid));
	struct it_req req = { .method = r->method,
			      .path = full,
			      .token = token,
			      .body = body,
			      .timeout_ms = timeout_ms };
	it_request(srv, &req, &out);
	free(body);
	return out;
}

static bool swept(const struct route *r)
{
	return r->access == ROUTE_ACCOUNT || r->access == ROUTE_ACCOUNT_OF;
}

/* 404 with a JSON error whose code is "<what>.not_found" (code, when not NULL). */
static void check_not_found(const struct it_resp *r, const char *code, const char *who)
{
	const char *got = it_json_str(r->json, "code");
	const char *error = it_json_str(r->json, "error");
	size_t len = got ? strlen(got) : 0;
	bool ok = r->status == 404 && json_is_object(r->json) && error && *error && got &&
		  (code ? strcmp(got, code) == 0
			: len > 10 && strcmp(got + len - 10, ".not_found") == 0) &&
		  it_json_str(r->json, "traceId");
	CHECK_MSG(ok, "%s as %s: %ld, want 404 %s: %.300s", r->what, who, r->status,
		  code ? code : "*.not_found", r->body ? r->body : "");
}

TEST(every_param_has_a_fixture)
{
	size_t rows = 0;
	for (size_t i = 0; i < api_routes_count; i++) {
		const struct route *r = &api_routes[i];
		if (!swept(r))
			continue;
		rows++;
		char missing[32] = "";
		bool has_id;
		CHECK_MSG(path_of(r, "aaaaa", missing, &has_id) != NULL,
			  "%s %s: no fixture for %s (add one to this test)", r->method, r->pattern,
			  missing);
	}
	CHECK_MSG(rows > 70, "only %zu account routes in the table", rows);
}

TEST(owner_finds_every_id)
{
	for (size_t i = 0; i < api_routes_count; i++) {
		const struct route *r = &api_routes[i];
		if (!swept(r) || strcmp(r->method, "GET") != 0)
			continue;
		bool has_id;
		/* A read that waits (logs) may time out: not a 404 either. */
		struct it_resp resp = call(r, a.token, a.aid, &has_id, 3000);
		CHECK_MSG(resp.status != 404 && (resp.status != 0 || resp.curl_code != 0),
			  "%s as A's owner: %ld %.300s", resp.what, resp.status,
			  resp.body ? resp.body : "");
		it_resp_free(&resp);
	}
}

TEST(other_tenant_gets_404)
{
	const char *tokens[] = { b.token, b_pat.token };
	const char *whos[] = { "B's session", "B's PAT" };
	size_t calls = 0;
	for (size_t i = 0; i < api_routes_count; i++) {
		const struct route *r = &api_routes[i];
		if (!swept(r))
			continue;
		for (int t = 0; t < 2; t++) {
			bool has_id;
			struct it_resp resp = call(r, tokens[t], a.aid, &has_id, 15000);
			check_not_found(&resp,
					r->access == ROUTE_ACCOUNT ? "account.not_found" : NULL,
					whos[t]);
			it_resp_free(&resp);
			calls++;
			/* B's own account, A's resource ids. */
			if (!strstr(r->pattern, ":aid") || !has_id)
				continue;
			resp = call(r, tokens[t], b.aid, &has_id, 15000);
			check_not_found(&resp, NULL, it_fmt("%s in B's account", whos[t]));
			it_resp_free(&resp);
			calls++;
		}
	}
	printf("  %zu cross-tenant calls\n", calls);
}

TEST(one_role_below_is_forbidden)
{
	size_t calls = 0;
	for (size_t i = 0; i < api_routes_count; i++) {
		const struct route *r = &api_routes[i];
		if (!swept(r) || r->min_role <= ROLE_VIEWER)
			continue;
		enum role role = (enum role)(r->min_role - 1);
		/* The member's session, then a PAT of that role (a session-only
		 * route refuses PATs before their role: it_roles checks that). */
		for (int pat = 0; pat < (r->session_only ? 1 : 2); pat++) {
			bool has_id;
			struct it_resp resp =
				call(r, pat ? below_pat[role].token : below[role].token, a.aid,
				     &has_id, 15000);
			CHECK_ERROR(resp, 403, "auth.forbidden");
			if (resp.status != 403)
				fprintf(stderr, "  (as a %s %s of A; the route needs %s)\n",
					role_names[role], pat ? "PAT" : "member",
					role_names[r->min_role]);
			it_resp_free(&resp);
			calls++;
		}
	}
	CHECK_MSG(calls > 60, "only %zu calls above viewer", calls);
	printf("  %zu calls one role below\n", calls);
}

/* ---- A's fixtures ------------------------------------------------------ */

/* POST path (a printf format) as A's owner with body: the answer's member
 * name into out. */
static bool made(const char *body, const char *member, char out[64], const char *path)
{
	struct it_resp r = it_call(srv, "POST", a.token, body, "%s", path);
	const char *v = r.status >= 200 && r.status < 300 ? it_json_str(r.json, member) : NULL;
	if (v)
		snprintf(out, 64, "%s", v);
	else
		fprintf(stderr, "no fixture from POST %s: %ld %s\n", path, r.status, r.body);
	it_resp_free(&r);
	return v != NULL;
}

static bool make_fixtures(void)
{
	char cid[8], token[64], v[64];
	char *ca = it_agent_ca(pg);
	struct it_node node = { 0 };
	bool ok = ca && it_new_cluster(srv, &a, "sweep", cid) &&
		  it_join_token(srv, &a, cid, "controlplane", 1, token) &&
		  it_agent_register(srv, ca, token, &node);
	free(ca);
	if (!ok)
		return false;
	set_fixture("", ":cid", cid);
	set_fixture("nodes", ":nid", node.nid);
	set_fixture("jobs", ":id", node.job_id);
	const char *p[] = { a.aid, cid, node.job_id };
	/* Active as when its control plane reported its credentials. */
	if (!it_db_exec(pg,
			"UPDATE clusters SET status = 'active', configured = true"
			" WHERE aid = $1 AND cid = $2",
			2, p))
		return false;
	/* A step of the join job: the first once the job starts it (else one
	 * inserted as the job's start would). */
	char wid[64] = "";
	for (int i = 0; i < 50 && !*wid; i++) {
		struct it_resp r =
			it_call(srv, "GET", a.token, NULL, "/jobs/%s/workitems", node.job_id);
		snprintf(wid, sizeof(wid), "%s", it_json_str(r.json, "workItems.0.id") ?: "");
		it_resp_free(&r);
		if (!*wid)
			it_sleep_ms(100);
	}
	if (!*wid) {
		PGresult *res =
			PQexecParams(pg,
				     "INSERT INTO job_steps (id, job_id, aid, step_number, name)"
				     " VALUES (gen_random_uuid(), $3, $1, 1, 'sweep')"
				     " RETURNING id",
				     3, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
			snprintf(wid, sizeof(wid), "%s", PQgetvalue(res, 0, 0));
			printf("  the join job had no step yet: one inserted\n");
		} else
			fprintf(stderr, "no job step: %s\n", PQerrorMessage(pg));
		PQclear(res);
	}
	set_fixture("workitems", ":wid", wid);

	struct it_key key;
	if (!it_create_pat(srv, a.token, a.aid, "viewer", &key))
		return false;
	set_fixture("api-keys", ":id", key.id);
	if (!made("{\"role\":\"worker\"}", "id", v, it_fmt("/%s/%s/join-tokens", a.aid, cid)))
		return false;
	set_fixture("join-tokens", ":id", v);
	if (!made("{\"name\":\"sweep-db\"}", "id", v,
		  it_fmt("/%s/%s/services/postgresql", a.aid, cid)))
		return false;
	set_fixture(":type", ":id", v);
	if (!made("{\"name\":\"sweep-app\",\"repo\":{\"provider\":\"github\","
		  "\"url\":\"https://github.com/acme/web\",\"branch\":\"main\"},\"port\":8080}",
		  "id", v, it_fmt("/%s/%s/apps", a.aid, cid)))
		return false;
	set_fixture("apps", ":id", v);
	char fqdn[64];
	if (!made("{\"fqdn\":\"sweep.tenants.example.com\"}", "fqdn", fqdn,
		  it_fmt("/%s/%s/apps/%s/domains", a.aid, cid, v)))
		return false;
	set_fixture("domains", ":fqdn", fqdn);
	char wg[45];
	it_wg_key("tenant-sweep", wg);
	if (!made(it_fmt("{\"name\":\"sweep\",\"publicKey\":\"%s\"}", wg), "id", v,
		  it_fmt("/%s/vpn/devices", a.aid)))
		return false;
	set_fixture("devices", ":id", v);
	/* The device reaches the cluster, whose control plane serves wg1. */
	struct it_resp r = it_call(srv, "PUT", a.token, it_fmt("{\"cids\":[\"%s\"]}", cid),
				   "/%s/vpn/devices/%s/clusters", a.aid, v);
	bool reaches = r.status == 200;
	if (!reaches)
		fprintf(stderr, "device clusters: %ld %s\n", r.status, r.body);
	it_resp_free(&r);
	it_wg_key("tenant-sweep-server", wg);
	const char *w[] = { a.aid, node.nid, wg };
	bool served =
		it_db_exec(pg,
			   "UPDATE nodes SET wg1_pub_key = $3, wg1_endpoint = '192.0.2.1:51821'"
			   " WHERE aid = $1 AND nid = $2",
			   3, w);
	it_node_free(&node);
	if (!reaches || !served)
		return false;
	for (int role = ROLE_VIEWER; role <= ROLE_ADMIN; role++)
		if (!it_invite(srv, &a, &below[role], role_names[role]) ||
		    !it_create_pat(srv, a.token, a.aid, role_names[role], &below_pat[role]))
			return false;
	set_fixture("members", ":uid", below[ROLE_VIEWER].uid);
	return it_create_pat(srv, b.token, b.aid, "owner", &b_pat);
}

TEST(clean_stop)
{
	CHECK_INT_EQ(it_server_stop(srv), 0);
}

int main(void)
{
	if (!it_init("it_tenant_sweep")) {
		test_failed++;
		return it_finish("it_tenant_sweep");
	}
	srv = it_server_start("tenant_sweep", NULL);
	pg = srv ? it_db_connect(it_env.database_url) : NULL;
	if (!srv || !pg || !it_signup(srv, &a) || !it_signup(srv, &b) || !make_fixtures()) {
		test_failed++;
		fprintf(stderr, "FAIL it_tenant_sweep: no server, database, users or fixtures\n");
		return it_finish("it_tenant_sweep");
	}
	RUN(every_param_has_a_fixture);
	RUN(owner_finds_every_id);
	RUN(other_tenant_gets_404);
	RUN(one_role_below_is_forbidden);
	/* Again: no refused call deleted or moved what it named. */
	RUN(owner_finds_every_id);
	RUN(clean_stop);
	PQfinish(pg);
	return it_finish("it_tenant_sweep");
}
