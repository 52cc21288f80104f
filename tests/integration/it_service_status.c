/* POST /agent/v1/service-status (AGENT.md §3) against the real server, the
 * test acting as node agents over mutual TLS:
 *  - a control-plane (and a hybrid) node's report lands in the reported_*
 *    columns of its cluster's services (read back with SQL), without
 *    touching the ETag (version_n) or updated_at; a later report replaces
 *    the earlier one;
 *  - an osid of another cluster of the account (even one that is also an
 *    osid of the caller's cluster), of another account, an unknown one and
 *    a service being deleted are ignored: their rows stay as they were, the
 *    answer counts them, and so does runosd_agent_service_reports_ignored_total;
 *  - a worker's report is refused (403 agent.not_control_plane), and so is
 *    one from a node whose row says it is no longer a live control plane;
 *    a call without a client certificate is 401;
 *  - bad shapes are 400 naming the field, and store nothing of the call;
 *  - agent-sim (tests/agent-sim) takes the services' instructions: APPLY_CR
 *    objects checked (ERROR for one without metadata.name or not base64) and
 *    written to --cr-dir, DELETE_CR, INSTALL_HELM_CHART (--fail-helm makes
 *    one fail as helm would) and UNINSTALL_HELM_CHART; as a control plane it
 *    reports what it installed as healthy with the desired replicas ready,
 *    and remembers it in its state file for the next run, which reports it
 *    after its heartbeat;
 *  - agent-sim takes the apps' instructions: BUILD_IMAGE of a commit and of
 *    a branch head (the SHA-1 of "<repoUrl>#<ref>", or SIM_HEAD_SHA) answered
 *    IMAGE_BUILT with the SHA-256 of the final tag as digest (computed here
 *    by PostgreSQL), bad payloads and --fail-build answered ERROR; an app's
 *    Deployment reported healthy with its replicas, or failed with
 *    --fail-rollout, replaced when applied again, forgotten when its
 *    Namespace is deleted; kubectl logs answered with lines.
 * The services are created through the services API (POST
 * /:aid/:cid/services/:type) in clusters made active with SQL, as agents
 * would make them; their create jobs wait, as no control plane is online.
 * Two kinds of rows are inserted with SQL instead: twins with one osid in
 * two clusters (the API never makes two alike, but the statement must not
 * rely on that), and the service that agent-sim's hand-made instructions are
 * about (an API-created one would send agent-sim its create job too). The
 * test's report bodies name the API's services with @pg, @vk, @my, @ch, @mi
 * and @ka, which report() replaces with their osids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents.h"
#include "harness.h"

static struct it_server *srv;
static struct it_user owner, other;
static PGconn *pg;
static char *ca;
static char cid_a[8], cid_b[8], cid_other[8];
static struct it_node cp, hybrid, worker, cp_b, cp_other;
/* The services made through the API: their short names in bodies, types,
 * ids and osids. */
static struct fixture {
	const char *name, *type;
	char id[8], osid[64];
} made[] = {
	{ "@pg", "postgresql", "", "" }, /* cluster a */
	{ "@vk", "valkey", "", "" },	 /* cluster a */
	{ "@my", "mysql", "", "" },	 /* cluster a, being deleted */
	{ "@ch", "clickhouse", "", "" }, /* cluster a */
	{ "@mi", "minio", "", "" },	 /* cluster b */
	{ "@ka", "kafka", "", "" },	 /* the other account's */
};
#define MADE (sizeof(made) / sizeof(made[0]))
static char agent_sim[1024], ca_path[1024], agent_url[64];

/* ---- fixtures ----------------------------------------------------------- */

static bool node_of(const struct it_user *u, const char *cid, const char *role, struct it_node *out)
{
	char token[64];
	return it_join_token(srv, u, cid, role, 1, token) && it_agent_register(srv, ca, token, out);
}

static struct fixture *fixture_of(const char *name)
{
	for (size_t i = 0; i < MADE; i++)
		if (strncmp(made[i].name, name, 3) == 0)
			return &made[i];
	return NULL;
}

/* The osid a name stands for ("@pg"), or name itself. */
static const char *osid_of(const char *name)
{
	struct fixture *f = name[0] == '@' ? fixture_of(name) : NULL;
	return f ? f->osid : name;
}

/* text with each @xx replaced by its osid (to free). */
static char *expand(const char *text)
{
	size_t cap = strlen(text) * 4 + 64, len = 0;
	char *out = malloc(cap);
	for (const char *p = text; *p; p++) {
		struct fixture *f = *p == '@' ? fixture_of(p) : NULL;
		if (f) {
			len += (size_t)snprintf(out + len, cap - len, "%s", f->osid);
			p += 2;
		} else {
			out[len++] = *p;
		}
	}
	out[len] = '\0';
	return out;
}

/* Creates a service of u through the API into f. */
static bool create(const struct it_user *u, const char *cid, struct fixture *f)
{
	struct it_resp r =
		it_call(srv, "POST", u->token, it_fmt("{\"name\":\"status %s\"}", f->type),
			"/%s/%s/services/%s", u->aid, cid, f->type);
	bool ok = r.status == 202 && it_json_str(r.json, "osid") && it_json_str(r.json, "id");
	CHECK_MSG(ok, "create %s: %ld %s", f->type, r.status, it_body_shown(&r));
	if (ok) {
		snprintf(f->id, sizeof(f->id), "%s", it_json_str(r.json, "id"));
		snprintf(f->osid, sizeof(f->osid), "%s", it_json_str(r.json, "osid"));
	}
	it_resp_free(&r);
	return ok;
}

/* DELETE through the API: the service is being deleted (its job waits). */
static bool delete_service(const char *cid, const struct fixture *f)
{
	struct it_resp r = it_call(srv, "DELETE", owner.token, NULL, "/%s/%s/services/%s/%s",
				   owner.aid, cid, f->type, f->id);
	bool ok = r.status == 202;
	CHECK_MSG(ok, "delete %s: %ld %s", f->osid, r.status, it_body_shown(&r));
	it_resp_free(&r);
	return ok;
}

/* As agents would make it: a control plane online reported credentials. */
static bool activate(const char *aid, const char *cid)
{
	const char *params[] = { aid, cid };
	return it_db_exec(pg,
			  "UPDATE clusters SET status = 'active', configured = true"
			  " WHERE aid = $1 AND cid = $2",
			  2, params);
}

/* A service row inserted with SQL, for what the API cannot make or must not
 * (see the top of the file). */
static bool service(const char *aid, const char *cid, const char *type, const char *id,
		    const char *lifecycle)
{
	const char *params[] = { aid, cid, id, type, it_fmt("%s %s", type, id), lifecycle };
	return it_db_exec(pg,
			  "INSERT INTO services (aid, cid, id, type, name, version, replicas,"
			  " credentials, lifecycle) VALUES ($1, $2, $3, $4, $5, '1.0', 1,"
			  " 'sealed-fixture', $6)",
			  6, params);
}

/* One column of a service's row as text ("NULL" for SQL NULL). */
static const char *column(const char *aid, const char *cid, const char *osid, const char *col)
{
	static char out[4][256];
	static int turn;
	char *buf = out[turn++ % 4];
	const char *params[] = { aid, cid, osid_of(osid) };
	PGresult *res = PQexecParams(
		pg,
		it_fmt("SELECT (%s)::text FROM services WHERE aid = $1 AND cid = $2 AND osid = $3",
		       col),
		3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		snprintf(buf, 256, "(no row: %s)", PQresultErrorMessage(res));
	else if (PQgetisnull(res, 0, 0))
		snprintf(buf, 256, "NULL");
	else
		snprintf(buf, 256, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return buf;
}

static const char *reported(const char *cid, const char *osid, const char *col)
{
	return column(owner.aid, cid, osid, col);
}

static struct it_resp report(const struct it_node *as, const char *body)
{
	char *text = expand(body);
	struct it_resp r = it_agent_call(srv, ca, as, "POST", "/agent/v1/service-status", text);
	free(text);
	return r;
}

/* The ignored-reports counter of a scrape of /metrics, or -1. */
static long long ignored_total(void)
{
	struct it_resp r = it_call(srv, "GET", NULL, NULL, "/metrics");
	CHECK_STATUS(r, 200);
	const char *name = "\nrunosd_agent_service_reports_ignored_total ";
	const char *at = r.body ? strstr(r.body, name) : NULL;
	long long v = at ? atoll(at + strlen(name)) : -1;
	it_resp_free(&r);
	return v;
}

static void check_counts(const struct it_resp *r, int accepted, int ignored)
{
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "accepted")), accepted);
	CHECK_INT_EQ(json_integer_value(json_object_get(r->json, "ignored")), ignored);
	CHECK_INT_EQ(json_object_size(r->json), 2);
}

/* ---- tests ------------------------------------------------------------------ */

TEST(control_plane_report_lands)
{
	long long before = ignored_total();
	REQUIRE(before >= 0);
	char kept_updated_at[64], kept_version[16];
	snprintf(kept_updated_at, sizeof(kept_updated_at), "%s",
		 reported(cid_a, "@pg", "updated_at"));
	snprintf(kept_version, sizeof(kept_version), "%s", reported(cid_a, "@pg", "version_n"));

	struct it_resp r =
		report(&cp, "{\"services\":["
			    "{\"osid\":\"@pg\",\"state\":\"healthy\","
			    "\"replicas\":{\"desired\":3,\"ready\":3},\"message\":\"3/3 ready\"},"
			    "{\"osid\":\"@vk\",\"state\":\"degraded\","
			    "\"replicas\":{\"desired\":2,\"ready\":1}},"
			    "{\"osid\":\"@my\",\"state\":\"healthy\"}," /* deleting */
			    "{\"osid\":\"@mi\",\"state\":\"healthy\"}," /* cluster b */
			    "{\"osid\":\"@ka\",\"state\":\"healthy\"}," /* other account */
			    "{\"osid\":\"grafana-nosuch\",\"state\":\"failed\"}]}"); /* none */
	CHECK_STATUS(r, 200);
	check_counts(&r, 2, 4);
	it_resp_free(&r);

	CHECK_STR_EQ(reported(cid_a, "@pg", "reported_state"), "healthy");
	CHECK_STR_EQ(reported(cid_a, "@pg", "reported_desired"), "3");
	CHECK_STR_EQ(reported(cid_a, "@pg", "reported_ready"), "3");
	CHECK_STR_EQ(reported(cid_a, "@pg", "reported_message"), "3/3 ready");
	CHECK_STR_EQ(reported(cid_a, "@pg", "reported_by"), cp.nid);
	CHECK_STR_EQ(reported(cid_a, "@pg", "reported_at > now() - interval '1 min'"), "true");
	/* Status, not spec: the ETag and updatedAt do not move. */
	CHECK_STR_EQ(reported(cid_a, "@pg", "version_n"), kept_version);
	CHECK_STR_EQ(reported(cid_a, "@pg", "updated_at"), kept_updated_at);
	CHECK_STR_EQ(reported(cid_a, "@vk", "reported_state"), "degraded");
	CHECK_STR_EQ(reported(cid_a, "@vk", "reported_desired"), "2");
	CHECK_STR_EQ(reported(cid_a, "@vk", "reported_ready"), "1");
	CHECK_STR_EQ(reported(cid_a, "@vk", "reported_message"), "NULL");

	/* What was ignored is as it was. */
	CHECK_STR_EQ(reported(cid_a, "@my", "reported_state"), "NULL");
	CHECK_STR_EQ(reported(cid_a, "@my", "reported_at"), "NULL");
	CHECK_STR_EQ(reported(cid_b, "@mi", "reported_state"), "NULL");
	CHECK_STR_EQ(column(other.aid, cid_other, "@ka", "reported_state"), "NULL");
	CHECK_INT_EQ(ignored_total() - before, 4);

	/* A later report replaces the whole earlier one. */
	r = report(&cp, "{\"services\":[{\"osid\":\"@pg\",\"state\":\"unhealthy\"}]}");
	CHECK_STATUS(r, 200);
	check_counts(&r, 1, 0);
	it_resp_free(&r);
	CHECK_STR_EQ(reported(cid_a, "@pg", "reported_state"), "unhealthy");
	CHECK_STR_EQ(reported(cid_a, "@pg", "reported_desired"), "NULL");
	CHECK_STR_EQ(reported(cid_a, "@pg", "reported_message"), "NULL");
	CHECK_INT_EQ(ignored_total() - before, 4);

	/* A hybrid node is a control plane too. */
	r = report(&hybrid, "{\"services\":[{\"osid\":\"@vk\",\"state\":\"healthy\","
			    "\"replicas\":{\"desired\":2,\"ready\":2},\"message\":\"\"}]}");
	CHECK_STATUS(r, 200);
	check_counts(&r, 1, 0);
	it_resp_free(&r);
	CHECK_STR_EQ(reported(cid_a, "@vk", "reported_state"), "healthy");
	CHECK_STR_EQ(reported(cid_a, "@vk", "reported_by"), hybrid.nid);

	r = report(&cp, "{\"services\":[]}");
	CHECK_STATUS(r, 200);
	check_counts(&r, 0, 0);
	it_resp_free(&r);
}

/* The same osid in two clusters of one account: each control plane reaches
 * its own cluster's row only. */
TEST(same_osid_in_two_clusters)
{
	const char *body = "{\"services\":[{\"osid\":\"ollama-twina\",\"state\":\"provisioning\","
			   "\"replicas\":{\"desired\":1,\"ready\":0}}]}";
	struct it_resp r = report(&cp_b, body);
	CHECK_STATUS(r, 200);
	check_counts(&r, 1, 0);
	it_resp_free(&r);
	CHECK_STR_EQ(reported(cid_b, "ollama-twina", "reported_state"), "provisioning");
	CHECK_STR_EQ(reported(cid_b, "ollama-twina", "reported_by"), cp_b.nid);
	CHECK_STR_EQ(reported(cid_a, "ollama-twina", "reported_state"), "NULL");

	/* And the other account's control plane reaches none of this account's. */
	long long before = ignored_total();
	r = report(&cp_other, "{\"services\":[{\"osid\":\"ollama-twina\",\"state\":\"failed\"},"
			      "{\"osid\":\"@pg\",\"state\":\"failed\"},"
			      "{\"osid\":\"@ka\",\"state\":\"healthy\"}]}");
	CHECK_STATUS(r, 200);
	check_counts(&r, 1, 2);
	it_resp_free(&r);
	CHECK_STR_EQ(reported(cid_b, "ollama-twina", "reported_state"), "provisioning");
	CHECK_STR_EQ(reported(cid_a, "ollama-twina", "reported_state"), "NULL");
	CHECK_MSG(strcmp(reported(cid_a, "@pg", "reported_state"), "failed") != 0,
		  "another account's node changed a service");
	CHECK_STR_EQ(column(other.aid, cid_other, "@ka", "reported_state"), "healthy");
	CHECK_INT_EQ(ignored_total() - before, 2);
}

TEST(only_control_planes_report)
{
	long long before = ignored_total();
	const char *state = reported(cid_a, "@pg", "reported_state");
	char kept[32];
	snprintf(kept, sizeof(kept), "%s", state);
	const char *body = "{\"services\":[{\"osid\":\"@pg\",\"state\":\"failed\"},"
			   "{\"osid\":\"nosuch-xxxxx\",\"state\":\"failed\"}]}";

	struct it_resp r = report(&worker, body);
	CHECK_ERROR(r, 403, "agent.not_control_plane");
	CHECK(strstr(it_json_str(r.json, "error") ?: "", "control-plane") != NULL);
	it_resp_free(&r);
	CHECK_STR_EQ(reported(cid_a, "@pg", "reported_state"), kept);

	r = report(NULL, body);
	CHECK_ERROR(r, 401, "agent.cert_invalid");
	it_resp_free(&r);

	/* The statement checks the node's row too, not only the certificate's
	 * role: a node whose row is no longer a live control plane is refused. */
	struct it_node demoted, gone;
	REQUIRE(node_of(&owner, cid_a, "controlplane", &demoted));
	REQUIRE(node_of(&owner, cid_a, "controlplane", &gone));
	r = report(&demoted, "{\"services\":[]}"); /* the certificate's role is now known */
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	r = report(&gone, "{\"services\":[]}");
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	const char *p1[] = { owner.aid, demoted.nid };
	REQUIRE(it_db_exec(pg, "UPDATE nodes SET role = 'worker' WHERE aid = $1 AND nid = $2", 2,
			   p1));
	const char *p2[] = { owner.aid, gone.nid };
	REQUIRE(it_db_exec(pg, "UPDATE nodes SET deleted_at = now() WHERE aid = $1 AND nid = $2", 2,
			   p2));
	r = report(&demoted, body);
	CHECK_ERROR(r, 403, "agent.not_control_plane");
	it_resp_free(&r);
	r = report(&gone, body);
	CHECK(r.status == 403);
	it_resp_free(&r);
	CHECK_STR_EQ(reported(cid_a, "@pg", "reported_state"), kept);
	/* Refused calls count nothing as ignored: they were not taken. */
	CHECK_INT_EQ(ignored_total() - before, 0);
	it_node_free(&demoted);
	it_node_free(&gone);
}

static void check_bad(const char *body, const char *code, const char *field)
{
	struct it_resp r = report(&cp, body);
	CHECK_ERROR(r, 400, code);
	CHECK_STR_EQ(it_json_str(r.json, "field"), field);
	it_resp_free(&r);
}

TEST(bad_shapes)
{
	check_bad("{}", "validation.required", "services");
	check_bad("{\"services\":{}}", "validation.type", "services");
	check_bad("{\"services\":\"@pg\"}", "validation.type", "services");
	check_bad("{\"services\":[],\"nid\":\"x\"}", "validation.unknown_field", "nid");
	check_bad("{\"services\":[\"@pg\"]}", "validation.type", "services[0]");
	check_bad("{\"services\":[{\"state\":\"healthy\"}]}", "validation.required",
		  "services[0].osid");
	check_bad("{\"services\":[{\"osid\":\"\",\"state\":\"healthy\"}]}", "validation.length",
		  "services[0].osid");
	check_bad("{\"services\":[{\"osid\":7,\"state\":\"healthy\"}]}", "validation.type",
		  "services[0].osid");
	check_bad("{\"services\":[{\"osid\":\"@vk\",\"state\":\"healthy\"},"
		  "{\"osid\":\"@pg\"}]}",
		  "validation.required", "services[1].state");
	check_bad("{\"services\":[{\"osid\":\"@pg\",\"state\":\"deleting\"}]}",
		  "validation.invalid", "services[0].state");
	check_bad("{\"services\":[{\"osid\":\"@pg\",\"state\":\"healthy\","
		  "\"replicas\":3}]}",
		  "validation.type", "services[0].replicas");
	check_bad("{\"services\":[{\"osid\":\"@pg\",\"state\":\"healthy\","
		  "\"replicas\":{\"desired\":-1,\"ready\":0}}]}",
		  "validation.range", "services[0].replicas.desired");
	check_bad("{\"services\":[{\"osid\":\"@pg\",\"state\":\"healthy\","
		  "\"replicas\":{\"desired\":1}}]}",
		  "validation.required", "services[0].replicas.ready");
	check_bad("{\"services\":[{\"osid\":\"@pg\",\"state\":\"healthy\","
		  "\"replicas\":{\"desired\":1,\"ready\":1,\"surge\":1}}]}",
		  "validation.unknown_field", "services[0].replicas.surge");
	check_bad("{\"services\":[{\"osid\":\"@pg\",\"state\":\"healthy\","
		  "\"extra\":1}]}",
		  "validation.unknown_field", "services[0].extra");
	check_bad("{\"services\":[{\"osid\":\"@pg\",\"state\":\"healthy\","
		  "\"message\":5}]}",
		  "validation.type", "services[0].message");
	check_bad("{\"services\":[{\"osid\":\"@pg\",\"state\":\"healthy\"},"
		  "{\"osid\":\"@pg\",\"state\":\"failed\"}]}",
		  "validation.invalid", "services[1].osid");

	char *long_message = malloc(1100);
	memset(long_message, 'm', 1025);
	long_message[1025] = '\0';
	char *body = malloc(1400);
	snprintf(body, 1400,
		 "{\"services\":[{\"osid\":\"@pg\",\"state\":\"healthy\","
		 "\"message\":\"%s\"}]}",
		 long_message);
	check_bad(body, "validation.length", "services[0].message");
	free(body);
	free(long_message);

	/* At most 1000 entries: 1000 go through (all ignored), 1001 do not. */
	size_t cap = 1002 * 48 + 64, len = 0;
	char *many = malloc(cap);
	len += (size_t)snprintf(many + len, cap - len, "{\"services\":[");
	for (int i = 0; i < 1001; i++)
		len += (size_t)snprintf(many + len, cap - len,
					"%s{\"osid\":\"nosuch-%05d\",\"state\":\"healthy\"}",
					i ? "," : "", i);
	snprintf(many + len, cap - len, "]}");
	check_bad(many, "validation.length", "services");
	char *last = strrchr(many, '{');
	strcpy(last - 1, "]}"); /* the last entry (and its comma) dropped */
	long long before = ignored_total();
	struct it_resp r = report(&cp, many);
	CHECK_STATUS(r, 200);
	check_counts(&r, 0, 1000);
	it_resp_free(&r);
	CHECK_INT_EQ(ignored_total() - before, 1000);
	free(many);

	/* A bad entry after a good one: nothing of the call is stored. */
	const char *state = reported(cid_a, "@vk", "reported_state");
	char kept[32];
	snprintf(kept, sizeof(kept), "%s", state);
	check_bad("{\"services\":[{\"osid\":\"@vk\",\"state\":\"failed\"},"
		  "{\"osid\":\"@pg\",\"state\":\"bad\"}]}",
		  "validation.invalid", "services[1].state");
	CHECK_STR_EQ(reported(cid_a, "@vk", "reported_state"), kept);
}

/* A service that starts being deleted stops taking reports; its last one
 * stays. */
TEST(deleting_service_not_updated)
{
	struct it_resp r = report(&cp, "{\"services\":[{\"osid\":\"@ch\","
				       "\"state\":\"healthy\"}]}");
	CHECK_STATUS(r, 200);
	check_counts(&r, 1, 0);
	it_resp_free(&r);
	REQUIRE(delete_service(cid_a, fixture_of("@ch")));
	CHECK_STR_EQ(reported(cid_a, "@ch", "lifecycle"), "deleting");
	r = report(&cp, "{\"services\":[{\"osid\":\"@ch\",\"state\":\"failed\"}]}");
	CHECK_STATUS(r, 200);
	check_counts(&r, 0, 1);
	it_resp_free(&r);
	CHECK_STR_EQ(reported(cid_a, "@ch", "reported_state"), "healthy");
}

/* ---- agent-sim ----------------------------------------------------------- */

#define SIM_TIMEOUT_S 30

/* Runs agent-sim with args (shell-quoted where needed) and the environment
 * assignments env: its exit code, and its last line of output (its summary)
 * parsed in *summary. */
static int sim_env(const char *env, const char *args, json_t **summary)
{
	char *out = NULL;
	int rc = it_shell_output(it_fmt("%s timeout %d '%s' %s --agent-url %s --ca '%s'", env,
					SIM_TIMEOUT_S, agent_sim, args, agent_url, ca_path),
				 &out);
	const char *last = out ? out : "";
	for (const char *p = last; *p; p++)
		if (*p == '\n' && p[1])
			last = p + 1;
	*summary = json_loads(last, JSON_DECODE_ANY, NULL);
	CHECK_MSG(*summary != NULL, "agent-sim %s: no summary in %s", args, out ? out : "");
	free(out);
	return rc;
}

static int sim(const char *args, json_t **summary)
{
	return sim_env("", args, summary);
}

/* Queues one instruction of type for node nid, as a job of its own (so an
 * ERROR reply fails only its own job); its tag in tag. */
static bool queue(const char *cid, const char *nid, const char *type, const char *payload_sql,
		  char tag[40])
{
	PGresult *res = PQexecParams(
		pg,
		it_fmt("WITH j AS (INSERT INTO jobs (id, aid, cid, type, status, target_type,"
		       "  target_id, created_by) VALUES (gen_random_uuid(), $1, $2, 'test.sim',"
		       "  'running', 'cluster', $2, 'it_service_status') RETURNING id),"
		       " s AS (INSERT INTO job_steps (id, job_id, aid, step_number, name, status,"
		       "  open_instructions) SELECT gen_random_uuid(), j.id, $1, 1, 'sim', "
		       "'running',"
		       "  1 FROM j RETURNING id, job_id)"
		       " INSERT INTO instructions (tag, aid, nid, job_id, step_id, type, payload)"
		       " SELECT gen_random_uuid(), $1, $3, s.job_id, s.id, $4, (%s)::json FROM s"
		       " RETURNING tag::text",
		       payload_sql),
		4, NULL, (const char *const[]){ owner.aid, cid, nid, type }, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	if (ok)
		snprintf(tag, 40, "%s", PQgetvalue(res, 0, 0));
	else
		fprintf(stderr, "queue %s: %s\n", type, PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

/* An instruction's outcome: "<status> <reply_type>" or "<status> <error>". */
static const char *outcome(const char *tag)
{
	static char out[512];
	const char *params[] = { tag };
	PGresult *res = PQexecParams(pg,
				     "SELECT status || ' ' || coalesce(error, reply_type, '-') FROM"
				     " instructions WHERE tag = $1::uuid",
				     1, NULL, params, NULL, NULL, 0);
	snprintf(out, sizeof(out), "%s",
		 PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
			 ? PQgetvalue(res, 0, 0)
			 : "(none)");
	PQclear(res);
	return out;
}

/* The whole file (to free), or NULL. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int c;
	while ((c = fgetc(f)) != EOF)
		fputc(c, mem);
	fclose(mem);
	fclose(f);
	return text;
}

/* The "services" of the first agent of the state file (new reference), or NULL. */
static json_t *sim_services_of(const char *state)
{
	char *text = slurp(state);
	json_t *agent = text ? json_loads(text, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
	free(text);
	json_t *services = json_incref(json_object_get(agent, "services"));
	json_decref(agent);
	return services;
}

static long summary_int(const json_t *summary, const char *path)
{
	json_t *v = it_json_get(summary, path);
	return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

#define B64(json) "to_json(translate(encode(convert_to(" json ", 'UTF8'), 'base64'), E'\\n', ''))"

/* A new cluster (name) whose control plane agent-sim registers (its state
 * file: name.state in the temporary directory) and joins, answering the
 * first control plane's RUN_REMOTE_SCRIPT. */
static bool sim_node(const char *name, char cid[8], char state_path[512], char nid[8])
{
	char token[64];
	json_t *summary;
	if (!it_new_cluster(srv, &owner, name, cid) ||
	    !it_join_token(srv, &owner, cid, "controlplane", 1, token))
		return false;
	snprintf(state_path, 512, "%s/%s-%d.state", it_env.tmpdir, name, (int)getpid());
	int rc = sim(it_fmt("register --token %s --count 1 --state '%s'", token, state_path),
		     &summary);
	json_decref(summary);
	CHECK_INT_EQ(rc, 0);
	char *text = slurp(state_path);
	json_t *agent = text ? json_loads(text, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
	free(text);
	snprintf(nid, 8, "%s", it_json_str(agent, "nid") ?: "");
	json_decref(agent);
	if (rc != 0 || !nid[0])
		return false;
	rc = sim(it_fmt("work --state '%s' --beat --wait 1 --duration 20 --until-replies 1",
			state_path),
		 &summary);
	json_decref(summary);
	CHECK_INT_EQ(rc, 0);
	return rc == 0;
}

TEST(agent_sim_services)
{
	char cid[8], state_path[512], nid[8];
	REQUIRE(sim_node("status-sim", cid, state_path, nid));
	char cr_dir[512];
	snprintf(cr_dir, sizeof(cr_dir), "%s/service-status-crs-%d", it_env.tmpdir, (int)getpid());
	REQUIRE(it_shell(it_fmt("rm -rf '%s' && mkdir -p '%s'", cr_dir, cr_dir)) == 0);

	json_t *summary;
	REQUIRE(service(owner.aid, cid, "postgresql", "simaa", "provisioning"));
	char t_ns[40], t_nameless[40], t_garbage[40], t_delete[40], t_install[40], t_fail[40],
		t_other[40];
	REQUIRE(queue(cid, nid, "APPLY_CR",
		      "json_build_object('crB64', " B64(
			      "'{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
			      "{\"name\":\"postgresql-simaa\",\"labels\":{\"runos.io/osid\":"
			      "\"postgresql-simaa\"}}}'") ")",
		      t_ns));
	REQUIRE(queue(cid, nid, "APPLY_CR",
		      "json_build_object('crB64', " B64(
			      "'{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{}}'") ")",
		      t_nameless));
	REQUIRE(queue(cid, nid, "APPLY_CR", "'{\"crB64\":\"not base64!\"}'", t_garbage));
	REQUIRE(queue(cid, nid, "DELETE_CR", "'{\"type\":\"Secret\",\"id\":\"old\"}'", t_delete));
	REQUIRE(queue(cid, nid, "INSTALL_HELM_CHART",
		      "'{\"repoUrl\":\"oci://registry-1.docker.io/bitnamicharts\","
		      "\"chartName\":\"postgresql\",\"namespace\":\"postgresql-simaa\","
		      "\"values\":{\"replicaCount\":2},\"version\":\"16.4.0\"}'",
		      t_install));
	REQUIRE(queue(cid, nid, "INSTALL_HELM_CHART",
		      "'{\"repoUrl\":\"https://charts.example\",\"chartName\":\"mysql\","
		      "\"namespace\":\"mysql-failx\",\"values\":{},\"version\":\"1\"}'",
		      t_fail));
	REQUIRE(queue(cid, nid, "INSTALL_HELM_CHART",
		      "'{\"repoUrl\":\"https://charts.example\",\"chartName\":\"valkey\","
		      "\"namespace\":\"valkey-simab\",\"values\":{\"replicas\":3},"
		      "\"version\":\"1\"}'",
		      t_other));

	int rc = sim(it_fmt("work --state '%s' --wait 1 --duration 20 --until-replies 7"
			    " --cr-dir '%s' --fail-helm failx",
			    state_path, cr_dir),
		     &summary);
	CHECK_INT_EQ(rc, 0);
	CHECK_INT_EQ(summary_int(summary, "replies.ok"), 7);
	CHECK_INT_EQ(summary_int(summary, "reports.sent"), 1);
	CHECK_INT_EQ(summary_int(summary, "reports.accepted"), 1);
	CHECK_INT_EQ(summary_int(summary, "reports.ignored"), 1); /* valkey-simab: no row */
	json_decref(summary);
	CHECK_STR_EQ(outcome(t_ns), "completed NO_CONTENT");
	CHECK_MSG(strstr(outcome(t_nameless), "failed APPLY_CR: the Secret has no metadata.name"),
		  "%s", outcome(t_nameless));
	CHECK_MSG(strstr(outcome(t_garbage), "failed APPLY_CR: crB64 is not base64"), "%s",
		  outcome(t_garbage));
	CHECK_STR_EQ(outcome(t_delete), "completed NO_CONTENT");
	CHECK_STR_EQ(outcome(t_install), "completed NO_CONTENT");
	CHECK_MSG(
		strstr(outcome(t_fail), "failed helm: install of mysql into namespace mysql-failx"),
		"%s", outcome(t_fail));
	CHECK_STR_EQ(outcome(t_other), "completed NO_CONTENT");

	CHECK_STR_EQ(reported(cid, "postgresql-simaa", "reported_state"), "healthy");
	CHECK_STR_EQ(reported(cid, "postgresql-simaa", "reported_desired"), "2");
	CHECK_STR_EQ(reported(cid, "postgresql-simaa", "reported_ready"), "2");
	CHECK_STR_EQ(reported(cid, "postgresql-simaa", "reported_by"), nid);

	/* The objects that decoded were written as they came: the namespace and
	 * the nameless Secret. */
	char *listing = NULL;
	CHECK_INT_EQ(it_shell_output(it_fmt("ls '%s' | wc -l", cr_dir), &listing), 0);
	CHECK_INT_EQ(atoi(listing ? listing : "0"), 2);
	free(listing);
	char *ns = slurp(it_fmt("%s/%s-1.json", cr_dir, t_ns));
	json_t *obj = ns ? json_loads(ns, 0, NULL) : NULL;
	CHECK_STR_EQ(it_json_str(obj, "kind"), "Namespace");
	CHECK_STR_EQ(it_json_str(obj, "metadata.name"), "postgresql-simaa");
	json_decref(obj);
	free(ns);

	json_t *installed = sim_services_of(state_path);
	CHECK_INT_EQ(json_integer_value(json_object_get(installed, "postgresql-simaa")), 2);
	CHECK_INT_EQ(json_integer_value(json_object_get(installed, "valkey-simab")), 3);
	CHECK(json_object_get(installed, "mysql-failx") == NULL);
	CHECK_INT_EQ(json_object_size(installed), 2);
	json_decref(installed);

	/* The next run remembers: its heartbeat's report sets the state again;
	 * the uninstall forgets valkey-simab. */
	const char *params[] = { owner.aid, cid };
	REQUIRE(it_db_exec(pg,
			   "UPDATE services SET reported_state = NULL, reported_at = NULL"
			   " WHERE aid = $1 AND cid = $2",
			   2, params));
	char t_uninstall[40];
	REQUIRE(queue(cid, nid, "UNINSTALL_HELM_CHART",
		      "'{\"chartName\":\"valkey\",\"namespace\":\"valkey-simab\"}'", t_uninstall));
	rc = sim(it_fmt("work --state '%s' --beat --wait 1 --duration 20 --until-replies 1",
			state_path),
		 &summary);
	CHECK_INT_EQ(rc, 0);
	CHECK_INT_EQ(summary_int(summary, "reports.sent"), 2);
	CHECK_INT_EQ(summary_int(summary, "reports.accepted"), 2);
	CHECK_INT_EQ(summary_int(summary, "reports.ignored"), 1);
	json_decref(summary);
	CHECK_STR_EQ(outcome(t_uninstall), "completed NO_CONTENT");
	CHECK_STR_EQ(reported(cid, "postgresql-simaa", "reported_state"), "healthy");
	installed = sim_services_of(state_path);
	CHECK_INT_EQ(json_object_size(installed), 1);
	CHECK(json_object_get(installed, "postgresql-simaa") != NULL);
	json_decref(installed);
	it_shell(it_fmt("rm -rf '%s' '%s'", cr_dir, state_path));
}

/* ---- agent-sim: the apps' instructions ----------------------------------- */

/* One value that sql returns (params $1...), as text, in a ring of
 * buffers; "(none: ...)" without a row, "NULL" for SQL NULL. */
static const char *sql_value(const char *sql, int n, const char *const *params)
{
	static char out[8][1024];
	static int turn;
	char *buf = out[turn++ % 8];
	PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		snprintf(buf, 1024, "(none: %s)", PQresultErrorMessage(res));
	else if (PQgetisnull(res, 0, 0))
		snprintf(buf, 1024, "NULL");
	else
		snprintf(buf, 1024, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return buf;
}

/* A member of an instruction's reply payload, as text. */
static const char *reply_member(const char *tag, const char *name)
{
	return sql_value("SELECT reply->>$2 FROM instructions WHERE tag = $1::uuid", 2,
			 (const char *const[]){ tag, name });
}

/* "sha256:" and the hex SHA-256 of text, computed by PostgreSQL. */
static const char *sha256_of(const char *text)
{
	return sql_value("SELECT 'sha256:' || encode(sha256(convert_to($1, 'UTF8')), 'hex')", 1,
			 (const char *const[]){ text });
}

/* An app's row, inserted with SQL (the API would send its jobs too). */
static bool app_row(const char *cid, const char *id)
{
	const char *params[] = { owner.aid, cid, id };
	return it_db_exec(
		pg,
		"INSERT INTO apps (aid, cid, id, name, dns_name, repo_provider, repo_url,"
		" repo_branch, ports, webhook_secret) VALUES ($1, $2, $3, $3, $3, 'github',"
		" 'https://github.com/runos/' || $3, 'main', '{8080}', 'sealed-fixture')",
		3, params);
}

static const char *app_column(const char *cid, const char *id, const char *col)
{
	return sql_value(it_fmt("SELECT (%s)::text FROM apps WHERE aid = $1 AND cid = $2"
				" AND id = $3",
				col),
			 3, (const char *const[]){ owner.aid, cid, id });
}

/* The "apps" of the first agent of the state file (new reference), or NULL. */
static json_t *sim_apps_of(const char *state)
{
	char *text = slurp(state);
	json_t *agent = text ? json_loads(text, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
	free(text);
	json_t *apps = json_incref(json_object_get(agent, "apps"));
	json_decref(agent);
	return apps;
}

#define SIM_SHA "0123456789abcdef0123456789abcdef01234567"
#define SIM_PUSHED "89abcdef0123456789abcdef0123456789abcdef"
#define SIM_REPO "harbor.sim.example/app-simap/app"
#define BUILD(repo, sha_member, tag)                                                               \
	"'{\"repoUrl\":\"" repo "\",\"ref\":\"main\"," sha_member "\"dockerfile\":\"Dockerfile\"," \
	"\"sourceDir\":\".\",\"imageTag\":\"" tag "\"}'"
#define DEPLOYMENT(ns, replicas)                                                                   \
	"json_build_object('crB64', " B64(                                                         \
		"'{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"     \
		"\"" ns "\",\"namespace\":\"" ns "\"},\"spec\":{" replicas                         \
		"\"template\":{}}}'") ")"

TEST(agent_sim_apps)
{
	char cid[8], state_path[512], nid[8];
	REQUIRE(sim_node("apps-sim", cid, state_path, nid));
	REQUIRE(app_row(cid, "simap") && app_row(cid, "simfl"));
	char t_sha[40], t_head[40], t_gitlab[40], t_tag[40], t_broken[40], t_deploy[40],
		t_crash[40], t_logs[40], t_restart[40];
	REQUIRE(queue(cid, nid, "BUILD_IMAGE",
		      BUILD("https://github.com/runos/simap", "\"sha\":\"" SIM_SHA "\",",
			    SIM_REPO ":" SIM_SHA),
		      t_sha));
	REQUIRE(queue(cid, nid, "BUILD_IMAGE",
		      BUILD("https://github.com/runos/simap", "", SIM_REPO ":{sha}"), t_head));
	REQUIRE(queue(cid, nid, "BUILD_IMAGE",
		      BUILD("https://gitlab.com/runos/simap", "", SIM_REPO ":{sha}"), t_gitlab));
	REQUIRE(queue(cid, nid, "BUILD_IMAGE",
		      BUILD("https://github.com/runos/simap", "\"sha\":\"" SIM_SHA "\",",
			    SIM_REPO ":{sha}"),
		      t_tag));
	REQUIRE(queue(cid, nid, "BUILD_IMAGE",
		      BUILD("https://github.com/runos/brokenrepo", "", SIM_REPO ":{sha}"),
		      t_broken));
	REQUIRE(queue(cid, nid, "APPLY_CR", DEPLOYMENT("app-simap", "\"replicas\":2,"), t_deploy));
	REQUIRE(queue(cid, nid, "APPLY_CR", DEPLOYMENT("app-simfl", ""), t_crash));
	REQUIRE(queue(
		cid, nid, "RUN_KUBECTL_COMMAND",
		"'[\"logs\",\"-n\",\"app-simap\",\"deployment/app-simap\",\"--tail\",\"100\"]'",
		t_logs));
	REQUIRE(queue(cid, nid, "RUN_KUBECTL_COMMAND",
		      "'[\"rollout\",\"restart\",\"deployment\",\"-n\",\"app-simap\"]'",
		      t_restart));

	json_t *summary;
	int rc = sim(it_fmt("work --state '%s' --wait 1 --duration 20 --until-replies 9"
			    " --fail-build brokenrepo --fail-rollout simfl",
			    state_path),
		     &summary);
	CHECK_INT_EQ(rc, 0);
	CHECK_INT_EQ(summary_int(summary, "replies.ok"), 9);
	CHECK_INT_EQ(summary_int(summary, "reports.sent"), 1);
	CHECK_INT_EQ(summary_int(summary, "reports.accepted"), 2);
	CHECK_INT_EQ(summary_int(summary, "reports.ignored"), 0);
	json_decref(summary);

	/* A build of a commit: that commit, the digest of its tag. */
	CHECK_STR_EQ(outcome(t_sha), "completed IMAGE_BUILT");
	CHECK_STR_EQ(reply_member(t_sha, "sha"), SIM_SHA);
	CHECK_STR_EQ(reply_member(t_sha, "imageDigest"), sha256_of(SIM_REPO ":" SIM_SHA));
	CHECK_MSG(atoi(reply_member(t_sha, "durationMs")) > 0, "%s",
		  reply_member(t_sha, "durationMs"));
	/* A branch head: the SHA-1 of "<repoUrl>#<ref>", put in the tag. */
	char *head = NULL;
	CHECK_INT_EQ(it_shell_output("printf '%s' 'https://github.com/runos/simap#main'"
				     " | sha1sum | cut -c1-40",
				     &head),
		     0);
	if (head)
		head[strcspn(head, "\n")] = '\0';
	CHECK_STR_EQ(outcome(t_head), "completed IMAGE_BUILT");
	CHECK_STR_EQ(reply_member(t_head, "sha"), head ? head : "(no sha1sum)");
	CHECK_STR_EQ(reply_member(t_head, "imageDigest"),
		     sha256_of(it_fmt(SIM_REPO ":%s", head ? head : "")));
	free(head);
	CHECK_MSG(strstr(outcome(t_gitlab),
			 "failed BUILD_IMAGE: repoUrl must be https://github.com/"),
		  "%s", outcome(t_gitlab));
	CHECK_MSG(strstr(outcome(t_tag), "failed BUILD_IMAGE: imageTag " SIM_REPO
					 ":{sha} does not end in :" SIM_SHA),
		  "%s", outcome(t_tag));
	CHECK_MSG(strstr(outcome(t_broken), "failed buildkit: failed to solve"), "%s",
		  outcome(t_broken));
	/* kubectl logs answers lines; other commands NO_CONTENT, as before. */
	CHECK_STR_EQ(outcome(t_logs), "completed KUBECTL_COMMAND_RESPONSE");
	CHECK_MSG(strstr(reply_member(t_logs, "response"), "kubectl logs -n app-simap"), "%s",
		  reply_member(t_logs, "response"));
	CHECK_STR_EQ(outcome(t_restart), "completed NO_CONTENT");

	/* The Deployments: app-simap healthy with its 2 replicas, app-simfl
	 * (--fail-rollout) failed as in CrashLoopBackOff. */
	CHECK_STR_EQ(outcome(t_deploy), "completed NO_CONTENT");
	CHECK_STR_EQ(outcome(t_crash), "completed NO_CONTENT");
	CHECK_STR_EQ(app_column(cid, "simap", "reported_state"), "healthy");
	CHECK_STR_EQ(app_column(cid, "simap", "reported_desired"), "2");
	CHECK_STR_EQ(app_column(cid, "simap", "reported_ready"), "2");
	CHECK_STR_EQ(app_column(cid, "simap", "reported_by"), nid);
	CHECK_STR_EQ(app_column(cid, "simfl", "reported_state"), "failed");
	CHECK_STR_EQ(app_column(cid, "simfl", "reported_desired"), "1");
	CHECK_STR_EQ(app_column(cid, "simfl", "reported_ready"), "0");
	CHECK_MSG(strstr(app_column(cid, "simfl", "reported_message"), "CrashLoopBackOff"), "%s",
		  app_column(cid, "simfl", "reported_message"));
	json_t *apps = sim_apps_of(state_path);
	CHECK_INT_EQ(json_integer_value(json_object_get(apps, "app-simap")), 2);
	CHECK_INT_EQ(json_integer_value(json_object_get(apps, "app-simfl")), 1);
	CHECK_INT_EQ(json_object_size(apps), 2);
	json_decref(apps);

	/* The next run: a "pushed" head (SIM_HEAD_SHA), the Deployment applied
	 * again with 3 replicas replaces the 2, and the namespace's deletion
	 * forgets app-simfl. Its heartbeat reports first, then the change. */
	char t_pushed[40], t_again[40], t_delete[40];
	REQUIRE(queue(cid, nid, "BUILD_IMAGE",
		      BUILD("https://github.com/runos/simap", "", SIM_REPO ":{sha}"), t_pushed));
	REQUIRE(queue(cid, nid, "APPLY_CR", DEPLOYMENT("app-simap", "\"replicas\":3,"), t_again));
	REQUIRE(queue(cid, nid, "DELETE_CR", "'{\"type\":\"Namespace\",\"id\":\"app-simfl\"}'",
		      t_delete));
	rc = sim_env("SIM_HEAD_SHA=" SIM_PUSHED,
		     it_fmt("work --state '%s' --beat --wait 1 --duration 20 --until-replies 3",
			    state_path),
		     &summary);
	CHECK_INT_EQ(rc, 0);
	CHECK_INT_EQ(summary_int(summary, "reports.sent"), 2);
	CHECK_INT_EQ(summary_int(summary, "reports.accepted"), 3);
	json_decref(summary);
	CHECK_STR_EQ(outcome(t_pushed), "completed IMAGE_BUILT");
	CHECK_STR_EQ(reply_member(t_pushed, "sha"), SIM_PUSHED);
	CHECK_STR_EQ(reply_member(t_pushed, "imageDigest"), sha256_of(SIM_REPO ":" SIM_PUSHED));
	CHECK_STR_EQ(outcome(t_again), "completed NO_CONTENT");
	CHECK_STR_EQ(outcome(t_delete), "completed NO_CONTENT");
	CHECK_STR_EQ(app_column(cid, "simap", "reported_desired"), "3");
	CHECK_STR_EQ(app_column(cid, "simap", "reported_ready"), "3");
	apps = sim_apps_of(state_path);
	CHECK_INT_EQ(json_integer_value(json_object_get(apps, "app-simap")), 3);
	CHECK_INT_EQ(json_object_size(apps), 1);
	json_decref(apps);

	/* A head that is not a commit is a usage error. */
	CHECK_INT_EQ(it_shell(it_fmt("'%s' work --state '%s' --agent-url %s --ca '%s'"
				     " --head-sha main 2>/dev/null; test $? -eq 2",
				     agent_sim, state_path, agent_url, ca_path)),
		     0);
	it_shell(it_fmt("rm -f '%s'", state_path));
}

/* is-app-deployment-ready: Harbor and MinIO installed and reported
 * healthy, and a node online (BuildKit runs in the building node's agent). */
TEST(deployment_readiness)
{
	char cid[8];
	struct it_node node = { 0 };
	REQUIRE(it_new_cluster(srv, &owner, "builds", cid) && activate(owner.aid, cid));
	const char *path = it_fmt("/%s/clusters/%s/is-app-deployment-ready", owner.aid, cid);
	struct it_resp r = it_call(srv, "GET", owner.token, NULL, "%s", path);
	CHECK_STATUS(r, 200);
	CHECK(json_is_false(json_object_get(r.json, "ready")));
	CHECK(json_is_false(json_object_get(r.json, "buildkit")));
	it_resp_free(&r);

	REQUIRE(node_of(&owner, cid, "controlplane", &node));
	r = it_agent_call(srv, ca, &node, "POST", "/agent/v1/heartbeat", "{}");
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	REQUIRE(service(owner.aid, cid, "harbor", "hrbra", "installed") &&
		service(owner.aid, cid, "minio", "minia", "installed"));
	r = it_call(srv, "GET", owner.token, NULL, "%s", path);
	CHECK(json_is_true(json_object_get(r.json, "buildkit")));
	CHECK(json_is_false(json_object_get(r.json, "harbor")));
	CHECK(json_is_false(json_object_get(r.json, "ready")));
	it_resp_free(&r);

	r = it_agent_call(srv, ca, &node, "POST", "/agent/v1/service-status",
			  "{\"services\":[{\"osid\":\"harbor-hrbra\",\"state\":\"healthy\"},"
			  "{\"osid\":\"minio-minia\",\"state\":\"healthy\"}]}");
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "%s", path);
	CHECK_STATUS(r, 200);
	static const char *const all[] = { "ready", "harbor", "minio", "buildkit", NULL };
	for (const char *const *f = all; *f; f++)
		CHECK_MSG(json_is_true(json_object_get(r.json, *f)), "%s is not true: %s", *f,
			  it_body_shown(&r));
	it_resp_free(&r);
	it_node_free(&node);
}

static bool sim_setup(void)
{
	const char *bin_dir_end = strrchr(it_env.bin, '/');
	/* build/server/runosd → build/tests/agent-sim/agent-sim */
	snprintf(agent_sim, sizeof(agent_sim), "%.*s/../tests/agent-sim/agent-sim",
		 (int)(bin_dir_end - it_env.bin), it_env.bin);
	snprintf(agent_url, sizeof(agent_url), "https://127.0.0.1:%d", it_server_agent_port(srv));
	snprintf(ca_path, sizeof(ca_path), "%s/service-status-ca-%d.pem", it_env.tmpdir,
		 (int)getpid());
	FILE *f = fopen(ca_path, "w");
	bool ok = f && fputs(ca, f) >= 0;
	if (f && fclose(f) != 0)
		ok = false;
	CHECK_MSG(access(agent_sim, X_OK) == 0, "%s is not built", agent_sim);
	return ok && access(agent_sim, X_OK) == 0;
}

static bool fixtures(void)
{
	return it_new_cluster(srv, &owner, "status-a", cid_a) &&
	       it_new_cluster(srv, &owner, "status-b", cid_b) &&
	       it_new_cluster(srv, &other, "status-o", cid_other) &&
	       node_of(&owner, cid_a, "controlplane", &cp) &&
	       node_of(&owner, cid_a, "hybrid", &hybrid) &&
	       node_of(&owner, cid_a, "worker", &worker) &&
	       node_of(&owner, cid_b, "controlplane", &cp_b) &&
	       node_of(&other, cid_other, "controlplane", &cp_other) &&
	       activate(owner.aid, cid_a) && activate(owner.aid, cid_b) &&
	       activate(other.aid, cid_other) && create(&owner, cid_a, fixture_of("@pg")) &&
	       create(&owner, cid_a, fixture_of("@vk")) &&
	       create(&owner, cid_a, fixture_of("@my")) &&
	       create(&owner, cid_a, fixture_of("@ch")) &&
	       create(&owner, cid_b, fixture_of("@mi")) &&
	       create(&other, cid_other, fixture_of("@ka")) &&
	       delete_service(cid_a, fixture_of("@my")) &&
	       service(owner.aid, cid_a, "ollama", "twina", "installed") &&
	       service(owner.aid, cid_b, "ollama", "twina", "installed");
}

int main(void)
{
	if (!it_init("it_service_status")) {
		test_failed++;
		return it_finish("it_service_status");
	}
	srv = it_server_start("service_status", NULL);
	pg = srv ? it_db_connect(it_env.database_url) : NULL;
	ca = pg ? it_agent_ca(pg) : NULL;
	if (!ca || !it_signup(srv, &owner) || !it_signup(srv, &other) || !fixtures()) {
		test_failed++;
		fprintf(stderr, "FAIL it_service_status: no server, database, users or fixtures\n");
		return it_finish("it_service_status");
	}
	RUN(control_plane_report_lands);
	RUN(same_osid_in_two_clusters);
	RUN(only_control_planes_report);
	RUN(bad_shapes);
	RUN(deleting_service_not_updated);
	RUN(deployment_readiness);
	if (sim_setup()) {
		RUN(agent_sim_services);
		RUN(agent_sim_apps);
	}
	CHECK_INT_EQ(it_server_stop(srv), 0);
	PQfinish(pg);
	free(ca);
	it_node_free(&cp);
	it_node_free(&hybrid);
	it_node_free(&worker);
	it_node_free(&cp_b);
	it_node_free(&cp_other);
	return it_finish("it_service_status");
}
