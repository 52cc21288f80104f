/* Services end to end (API.md §6) against the real server, PostgreSQL and
 * the agent-sim binary as the cluster's control-plane node:
 *   - a cluster made active by agent-sim (its node joined, online, its
 *     credentials reported);
 *   - every bad input of a create refused, naming the field, before
 *     anything is written; another account's ids and tokens get 404;
 *   - create → the service.create job runs through agent-sim (namespace,
 *     quota, network policy, credentials Secret, chart) → installed → the
 *     state agent-sim reports (healthy);
 *   - credentials: member only, audited, no-store; a canary password is in
 *     no other response, no log, no job, no audit entry, and not in pg_dump;
 *   - PATCH (no-op, change, downgrade, shrink, If-Match), dependents refuse
 *     a delete, delete, rotate, a failed chart install (failed, deletable),
 *     a step that waits for an online control plane;
 *   - 50 concurrent creates through two instances: 50 osids, 50 jobs;
 *   - every Kubernetes object sent validates against the upstream schemas
 *     (tests/k8s). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agents.h"
#include "harness.h"

#define SIM_TIMEOUT_S 40
#define CONCURRENT_CREATES 50

static struct it_server *srv, *srv2;
static struct it_user owner, other, viewer, member;
static PGconn *pg;
static char agent_sim[1024], ca_path[1024], agent_url[64], cr_dir[1024], cp_state[1024];
static char cid[8], cp_nid[8];
/* Services the later steps require (harbor): osids. */
static char main_db[64], cache[64], objects[64];

static int sim(const char *env, const char *args, char **out)
{
	return it_shell_output(
		it_fmt("%s SIM_CR_DIR='%s' timeout %d '%s' %s --agent-url %s --ca '%s'",
		       env ? env : "", cr_dir, SIM_TIMEOUT_S, agent_sim, args, agent_url, ca_path),
		out);
}

/* agent-sim answers for the control plane until n answers were accepted
 * (failed ones included when env makes it fail some). */
static void work(const char *env, int n, const char *what)
{
	char *out = NULL;
	int rc = sim(env,
		     it_fmt("work --state '%s' --beat --wait 5 --duration 30 --until-replies %d",
			    cp_state, n),
		     &out);
	CHECK_MSG(rc == 0, "%s: agent-sim work exited %d: %s", what, rc, out ? out : "");
	json_t *s = out ? it_sim_summary(out) : NULL;
	CHECK_MSG(json_integer_value(it_json_get(s, "replies.ok")) == n, "%s: %s", what,
		  out ? out : "");
	json_decref(s);
	free(out);
}

static void check_job(const char *job_id, const char *type, const char *status)
{
	json_t *job = it_job_settled(srv, owner.token, job_id);
	CHECK_MSG(job != NULL, "job %s still open", job_id);
	CHECK_STR_EQ(it_json_str(job, "type"), type);
	CHECK_MSG(job && strcmp(it_json_str(job, "status"), status) == 0,
		  "job %s is %s, not %s: %s", job_id, it_json_str(job, "status"), status,
		  it_json_str(job, "error"));
	json_decref(job);
}

/* The control plane of the cluster: registered by agent-sim, its join
 * answered, its credentials reported: the cluster is active. */
static bool active_cluster(void)
{
	char token[64];
	if (!it_new_cluster(srv, &owner, "svc", cid) ||
	    !it_join_token(srv, &owner, cid, "controlplane", 1, token))
		return false;
	char *out = NULL;
	int rc = sim(NULL, it_fmt("register --token %s --count 1 --state '%s'", token, cp_state),
		     &out);
	free(out);
	CHECK_INT_EQ(rc, 0);
	work(NULL, 1, "control plane join");
	bool ok = it_sim_node_reports_credentials(srv, pg, cp_state, cp_nid);
	CHECK(ok);
	struct it_resp r =
		it_call(srv, "GET", owner.token, NULL, "/%s/clusters/%s", owner.aid, cid);
	ok = r.status == 200 && strcmp(it_json_str(r.json, "status") ?: "", "active") == 0;
	CHECK_MSG(ok, "cluster not active: %s", it_body_shown(&r));
	it_resp_free(&r);
	return ok;
}

/* POST a service; the response (to free). */
static struct it_resp create(const char *type, const char *body)
{
	return it_call(srv, "POST", owner.token, body, "/%s/%s/services/%s", owner.aid, cid, type);
}

/* Creates a service and copies its id, osid and job id. */
static bool create_ok(const char *type, const char *body, char id[8], char osid[64], char job[40])
{
	struct it_resp r = create(type, body);
	bool ok = r.status == 202;
	CHECK_MSG(ok, "create %s %s: %ld %s", type, body, r.status, it_body_shown(&r));
	if (ok) {
		snprintf(id, 8, "%s", it_json_str(r.json, "id"));
		snprintf(osid, 64, "%s", it_json_str(r.json, "osid"));
		snprintf(job, 40, "%s", it_json_str(r.json, "jobId"));
		CHECK_STR_EQ(it_json_str(r.json, "status"), "provisioning");
		CHECK_STR_EQ(osid, it_fmt("%s-%s", type, id));
		CHECK(it_is_aid(id));
		CHECK(it_is_uuid(job));
		CHECK(json_is_string(json_object_get(r.json, "endpoint")));
	}
	it_resp_free(&r);
	return ok;
}

static json_t *catalog_entry(const char *type)
{
	struct it_resp r = it_call(srv, "GET", NULL, NULL, "/service-info/%s", type);
	json_t *e = r.status == 200 ? json_incref(r.json) : NULL;
	it_resp_free(&r);
	return e;
}

static void bad_inputs(void)
{
	struct it_resp r = create("nosuch", "{\"name\":\"x\"}");
	CHECK_ERROR(r, 404, "service_type.not_found");
	it_resp_free(&r);

	json_t *pg_entry = catalog_entry("postgresql");
	int max_replicas = (int)json_integer_value(json_object_get(pg_entry, "maxReplicas"));
	int min_storage = (int)json_integer_value(json_object_get(pg_entry, "minStorageMb"));
	json_decref(pg_entry);
	struct {
		const char *type, *body, *code, *field;
		long status;
	} cases[] = {
		{ "postgresql", "{\"name\":\"b\",\"version\":\"0.0.1\"}", "validation.invalid",
		  "version", 400 },
		{ "postgresql", it_fmt("{\"name\":\"b\",\"replicas\":%d}", max_replicas + 1),
		  "validation.range", "replicas", 400 },
		{ "postgresql", it_fmt("{\"name\":\"b\",\"storageMb\":%d}", min_storage - 1),
		  "validation.range", "storageMb", 400 },
		{ "postgresql", "{\"name\":\"b\",\"flags\":{\"noSuchFlag\":true}}",
		  "validation.unknown_field", "flags", 400 },
		{ "postgresql", "{\"name\":\"b\",\"postgresOsid\":\"postgresql-abcde\"}",
		  "validation.unknown_field", "postgresOsid", 400 },
		{ "postgresql", "{\"name\":\"b\",\"nodeAffinityTags\":[\"Not A Label\"]}",
		  "validation.invalid", "nodeAffinityTags", 400 },
		{ "postgresql", "{\"name\":\"b\",\"storageClass\":\"longhorn\"}",
		  "storage.longhorn_missing", "storageClass", 409 },
		{ "postgresql", "{\"name\":\"b\",\"storageClass\":\"fast-ssd\"}",
		  "validation.invalid", "storageClass", 400 },
		{ "grafana", "{\"name\":\"g\"}", "validation.required", "postgresOsid", 400 },
		{ "grafana", "{\"name\":\"g\",\"postgresOsid\":\"postgresql-zzzzz\"}",
		  "validation.invalid", "postgresOsid", 400 },
		{ "postgresql", "{\"name\":\"b\",\"color\":\"red\"}", "validation.unknown_field",
		  "color", 400 },
		{ "postgresql", "{\"replicas\":1}", "validation.required", "name", 400 },
		{ "postgresql", "{\"name\":\"b\",\"replicas\":\"2\"}", "validation.type",
		  "replicas", 400 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[512];
		snprintf(body, sizeof(body), "%s", cases[i].body);
		r = create(cases[i].type, body);
		CHECK_ERROR(r, cases[i].status, cases[i].code);
		CHECK_MSG(strcmp(it_json_str(r.json, "field") ?: "", cases[i].field) == 0,
			  "%s %s: field %s, want %s", cases[i].type, body,
			  it_json_str(r.json, "field"), cases[i].field);
		it_resp_free(&r);
	}
	/* A stateless type keeps no data. */
	struct it_resp all = it_call(srv, "GET", NULL, NULL, "/service-info");
	json_t *list = json_object_get(all.json, "services");
	const char *stateless = NULL;
	size_t i;
	json_t *e;
	json_array_foreach (list, i, e)
		if (json_is_null(json_object_get(e, "maxStorageMb")) &&
		    json_array_size(json_object_get(e, "requires")) == 0 && !stateless)
			stateless = it_json_str(e, "type");
	CHECK_MSG(stateless != NULL, "no stateless type without requires in the catalog");
	if (stateless) {
		r = create(stateless, "{\"name\":\"s\",\"storageMb\":1024}");
		CHECK_ERROR(r, 400, "validation.invalid");
		CHECK_STR_EQ(it_json_str(r.json, "field"), "storageMb");
		it_resp_free(&r);
	}
	it_resp_free(&all);
	const char *params[] = { owner.aid };
	CHECK_INT_EQ(it_db_count(pg, "SELECT count(*) FROM services WHERE aid = $1", 1, params), 0);
	CHECK_INT_EQ(
		it_db_count(pg,
			    "SELECT count(*) FROM jobs WHERE aid = $1 AND type LIKE 'service.%'", 1,
			    params),
		0);
}

static void not_active(void)
{
	char pending[8];
	if (!it_new_cluster(srv, &owner, "pending", pending))
		return;
	struct it_resp r = it_call(srv, "POST", owner.token, "{\"name\":\"p\"}",
				   "/%s/%s/services/postgresql", owner.aid, pending);
	CHECK_ERROR(r, 409, "cluster.not_active");
	it_resp_free(&r);
}

static void check_status(const char *type, const char *id, const char *state)
{
	bool seen = false;
	struct it_resp r = { 0 };
	for (int i = 0; i < 100 && !seen; i++) {
		it_resp_free(&r);
		r = it_call(srv, "GET", viewer.token, NULL, "/%s/%s/services/%s/%s/status",
			    owner.aid, cid, type, id);
		seen = r.status == 200 && strcmp(it_json_str(r.json, "state") ?: "", state) == 0;
		if (!seen)
			it_sleep_ms(100);
	}
	CHECK_MSG(seen, "%s %s never %s: %s", type, id, state, it_body_shown(&r));
	it_resp_free(&r);
}

/* Whether text holds the secret. */
static bool holds(const char *text, const char *secret)
{
	return text && strstr(text, secret) != NULL;
}

static void canary(const char *type, const char *id, const char *password, const char *job)
{
	const char *paths[] = {
		it_fmt("/%s/%s/services", owner.aid, cid),
		it_fmt("/%s/%s/services/%s/%s", owner.aid, cid, type, id),
		it_fmt("/%s/%s/services/%s/%s/status", owner.aid, cid, type, id),
		it_fmt("/jobs/%s", job),
		it_fmt("/jobs/%s/workitems", job),
		it_fmt("/%s/audit-events", owner.aid),
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct it_resp r = it_call(srv, "GET", owner.token, NULL, "%s", paths[i]);
		CHECK_MSG(r.status == 200 && !holds(r.body, password), "GET %s: %ld, password %s",
			  paths[i], r.status, holds(r.body, password) ? "shown" : "absent");
		it_resp_free(&r);
	}
	struct it_resp steps = it_call(srv, "GET", owner.token, NULL, "/jobs/%s/workitems", job);
	size_t i;
	json_t *step;
	json_array_foreach (json_object_get(steps.json, "workItems"), i, step) {
		struct it_resp logs =
			it_call(srv, "GET", owner.token, NULL, "/jobs/%s/workitems/%s/logs", job,
				it_json_str(step, "id"));
		CHECK(logs.status == 200 && !holds(logs.body, password));
		it_resp_free(&logs);
	}
	it_resp_free(&steps);
	char *log = it_server_log(srv);
	CHECK_MSG(log && !holds(log, password), "the server log holds the password");
	free(log);
	char *dump = NULL;
	int rc = it_shell_output(
		it_fmt("/usr/lib/postgresql/15/bin/pg_dump '%s'", it_env.database_url), &dump);
	CHECK_MSG(rc == 0 && dump && strstr(dump, "CREATE TABLE public.services"),
		  "pg_dump failed (%d)", rc);
	CHECK_MSG(!holds(dump, password), "pg_dump holds the password");
	free(dump);
}

static void credentials(const char *type, const char *id, const char *osid, char password[128])
{
	struct it_resp r = it_call(srv, "GET", viewer.token, NULL,
				   "/%s/%s/services/%s/%s/credentials", owner.aid, cid, type, id);
	CHECK_ERROR(r, 403, "auth.forbidden");
	it_resp_free(&r);
	r = it_call(srv, "GET", other.token, NULL, "/%s/%s/services/%s/%s/credentials", owner.aid,
		    cid, type, id);
	CHECK_STATUS(r, 404);
	it_resp_free(&r);
	r = it_call(srv, "GET", member.token, NULL, "/%s/%s/services/%s/%s/credentials", owner.aid,
		    cid, type, id);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_header(&r, "Cache-Control"), "no-store");
	const char *pw = it_json_str(r.json, "password");
	CHECK_MSG(pw && strncmp(pw, "rnc_", 4) == 0 && strlen(pw) >= 36, "password %s",
		  pw ? pw : "(none)");
	snprintf(password, 128, "%s", pw ? pw : "");
	CHECK_STR_EQ(it_json_str(r.json, "host"), it_fmt("%s.%s.svc.cluster.local", osid, osid));
	CHECK(json_integer_value(json_object_get(r.json, "port")) > 0);
	const char *url = it_json_str(r.json, "url");
	CHECK_MSG(url && strstr(url, password) && strstr(url, osid), "url %s", url);
	CHECK(json_is_string(json_object_get(r.json, "username")));
	CHECK(json_is_string(json_object_get(r.json, "database")));
	it_resp_free(&r);
	const char *params[] = { owner.aid, id };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM audit_events WHERE aid = $1 AND action ="
				 " 'service.credentials.read' AND target_id = $2",
				 2, params),
		     1);
}

static void show_and_list(const char *id, const char *osid)
{
	struct it_resp r = it_call(srv, "GET", viewer.token, NULL, "/%s/%s/services/postgresql/%s",
				   owner.aid, cid, id);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "namespace"), osid);
	CHECK_STR_EQ(it_json_str(r.json, "storageClass"), "openebs-local");
	CHECK(it_header(&r, "ETag") != NULL);
	CHECK(json_is_object(json_object_get(r.json, "flags")));
	it_resp_free(&r);
	/* Another type's path, another account's token: not found. */
	r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/services/mysql/%s", owner.aid, cid, id);
	CHECK_STATUS(r, 404);
	it_resp_free(&r);
	r = it_call(srv, "GET", other.token, NULL, "/%s/%s/services/postgresql/%s", owner.aid, cid,
		    id);
	CHECK_STATUS(r, 404);
	it_resp_free(&r);
	r = it_call(srv, "GET", other.token, NULL, "/%s/%s/services", other.aid, cid);
	CHECK_ERROR(r, 404, "cluster.not_found");
	it_resp_free(&r);
	r = it_call(srv, "GET", viewer.token, NULL, "/%s/%s/services/postgresql?limit=1", owner.aid,
		    cid);
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(json_array_size(json_object_get(r.json, "services")), 1);
	CHECK_STR_EQ(it_json_str(r.json, "services.0.osid"), osid);
	CHECK(json_is_string(
		json_object_get(json_array_get(json_object_get(r.json, "services"), 0), "status")));
	it_resp_free(&r);
	r = it_call(srv, "POST", viewer.token, "{\"name\":\"v\"}", "/%s/%s/services/valkey",
		    owner.aid, cid);
	CHECK_ERROR(r, 403, "auth.forbidden");
	it_resp_free(&r);
}

static void patch(const char *id)
{
	const char *path = it_fmt("/%s/%s/services/postgresql/%s", owner.aid, cid, id);
	char p[256];
	snprintf(p, sizeof(p), "%s", path);
	struct it_resp r = it_call(srv, "GET", owner.token, NULL, "%s", p);
	json_t *before = json_incref(r.json);
	char etag[64];
	snprintf(etag, sizeof(etag), "%s", it_header(&r, "ETag") ?: "");
	it_resp_free(&r);
	int replicas = (int)json_integer_value(json_object_get(before, "replicas"));
	int storage = (int)json_integer_value(json_object_get(before, "storageMb"));
	r = it_call(srv, "PATCH", owner.token, it_fmt("{\"replicas\":%d}", replicas), "%s", p);
	CHECK_STATUS(r, 200);
	CHECK(json_is_true(json_object_get(r.json, "noOp")));
	it_resp_free(&r);
	r = it_call(srv, "PATCH", owner.token, it_fmt("{\"storageMb\":%d}", storage - 1), "%s", p);
	CHECK_ERROR(r, 400, "validation.invalid");
	CHECK_STR_EQ(it_json_str(r.json, "field"), "storageMb");
	it_resp_free(&r);
	json_t *entry = catalog_entry("postgresql");
	const char *oldest = it_json_str(entry, "versions.0");
	if (oldest && strcmp(oldest, it_json_str(before, "version")) != 0) {
		r = it_call(srv, "PATCH", owner.token, it_fmt("{\"version\":\"%s\"}", oldest), "%s",
			    p);
		CHECK_ERROR(r, 400, "validation.invalid");
		CHECK_STR_EQ(it_json_str(r.json, "field"), "version");
		it_resp_free(&r);
	}
	json_decref(entry);
	const char *stale[] = { "If-Match: \"999\"", NULL };
	struct it_req req = { .method = "PATCH",
			      .path = p,
			      .token = owner.token,
			      .body = it_fmt("{\"storageMb\":%d}", storage + 1024),
			      .headers = stale };
	it_request(srv, &req, &r);
	CHECK_ERROR(r, 412, "precondition.failed");
	it_resp_free(&r);
	char if_match[80];
	snprintf(if_match, sizeof(if_match), "If-Match: %s", etag);
	const char *fresh[] = { if_match, NULL };
	req.headers = fresh;
	it_request(srv, &req, &r);
	CHECK_STATUS(r, 202);
	char job[40];
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	work(NULL, 2, "update");
	check_job(job, "service.update", "completed");
	r = it_call(srv, "GET", owner.token, NULL, "%s", p);
	CHECK_INT_EQ(json_integer_value(json_object_get(r.json, "storageMb")), storage + 1024);
	it_resp_free(&r);
	json_decref(before);
}

static void dependents_and_delete(const char *pg_id, const char *pg_osid)
{
	char id[8], osid[64], job[40];
	if (!create_ok("grafana", it_fmt("{\"name\":\"dash\",\"postgresOsid\":\"%s\"}", pg_osid),
		       id, osid, job))
		return;
	work(NULL, 5, "grafana create");
	check_job(job, "service.create", "completed");
	struct it_resp r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/services/grafana/%s",
				   owner.aid, cid, id);
	CHECK_STR_EQ(it_json_str(r.json, "requires.postgresOsid"), pg_osid);
	it_resp_free(&r);
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/%s/services/postgresql/%s", owner.aid,
		    cid, pg_id);
	CHECK_ERROR(r, 409, "service.has_dependents");
	CHECK_STR_EQ(it_json_str(r.json, "dependents.0.type"), "grafana");
	CHECK_STR_EQ(it_json_str(r.json, "dependents.0.id"), id);
	CHECK_STR_EQ(it_json_str(r.json, "dependents.0.name"), "dash");
	it_resp_free(&r);
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/%s/services/grafana/%s", owner.aid, cid,
		    id);
	CHECK_STATUS(r, 202);
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/services/grafana/%s/status", owner.aid,
		    cid, id);
	CHECK_STR_EQ(it_json_str(r.json, "state"), "deleting");
	it_resp_free(&r);
	work(NULL, 2, "grafana delete");
	check_job(job, "service.delete", "completed");
	r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/services/grafana/%s", owner.aid, cid,
		    id);
	CHECK_STATUS(r, 404);
	it_resp_free(&r);
	const char *params[] = { job };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM instructions WHERE job_id = $1 AND type IN"
				 " ('UNINSTALL_HELM_CHART', 'DELETE_CR') AND status = 'completed'",
				 1, params),
		     2);
}

static void rotate(const char *id, const char *old_password)
{
	struct it_resp r =
		it_call(srv, "POST", member.token, NULL,
			"/%s/%s/services/postgresql/%s/credentials/rotate", owner.aid, cid, id);
	CHECK_STATUS(r, 202);
	char job[40];
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	/* Until the job succeeds, the credentials are the old ones. */
	r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/services/postgresql/%s/credentials",
		    owner.aid, cid, id);
	CHECK_STR_EQ(it_json_str(r.json, "password"), old_password);
	it_resp_free(&r);
	const char *params[] = { job };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM instructions WHERE job_id = $1"
				 " AND sealed_payload IS NOT NULL AND payload::text = '{}'",
				 1, params),
		     1);
	work(NULL, 2, "rotate");
	check_job(job, "service.rotate_credentials", "completed");
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM instructions WHERE job_id = $1"
				 " AND sealed_payload IS NOT NULL",
				 1, params),
		     0);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/services/postgresql/%s/credentials",
		    owner.aid, cid, id);
	const char *pw = it_json_str(r.json, "password");
	CHECK_MSG(pw && strcmp(pw, old_password) != 0 && strncmp(pw, "rnc_", 4) == 0,
		  "password not rotated: %s", pw);
	it_resp_free(&r);
}

static void failed_install(void)
{
	char id[8], osid[64], job[40];
	if (!create_ok("mysql", "{\"name\":\"broken\"}", id, osid, job))
		return;
	work("SIM_FAIL_HELM=mysql-", 5, "mysql create, chart failing");
	check_job(job, "service.create", "failed");
	struct it_resp r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/services/mysql/%s/status",
				   owner.aid, cid, id);
	CHECK_STR_EQ(it_json_str(r.json, "state"), "failed");
	CHECK_STR_EQ(it_json_str(r.json, "reason"), "CreateFailed");
	const char *message = it_json_str(r.json, "message");
	CHECK_MSG(message && strstr(message, "chart") && strstr(message, "helm"),
		  "message names the step and the agent's error: %s", message);
	it_resp_free(&r);
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/%s/services/mysql/%s", owner.aid, cid,
		    id);
	CHECK_STATUS(r, 202);
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	work(NULL, 2, "mysql delete");
	check_job(job, "service.delete", "completed");
}

/* With its control plane offline, a create's first step waits, saying why;
 * it starts once the node is back. */
static void waits_for_node(void)
{
	const char *params[] = { owner.aid, cp_nid };
	it_db_exec(pg, "UPDATE nodes SET status = 'offline' WHERE aid = $1 AND nid = $2", 2,
		   params);
	char id[8], job[40];
	bool made = create_ok("valkey", "{\"name\":\"cache\"}", id, cache, job);
	it_db_exec(pg, "UPDATE nodes SET status = 'online' WHERE aid = $1 AND nid = $2", 2, params);
	if (!made)
		return;
	/* The step waited (its log says why, once), then started from the sweep. */
	const char *job_param[] = { job };
	CHECK_INT_EQ(
		it_db_count(pg,
			    "SELECT count(*) FROM step_logs l JOIN job_steps s ON s.id = l.step_id"
			    " WHERE s.job_id = $1 AND l.message LIKE 'Waiting: no control-plane%'",
			    1, job_param),
		1);
	work(NULL, 5, "valkey create after waiting");
	check_job(job, "service.create", "completed");
}

/* Longhorn: an instance makes its StorageClass; "longhorn" names the only
 * one (with a warning for a database), and the instance cannot go while a
 * service stores on it; with two, "longhorn" is ambiguous. */
static void longhorn(void)
{
	char lh[8], lh_osid[64], job[40];
	if (!create_ok("longhorn", "{\"name\":\"lh\"}", lh, lh_osid, job))
		return;
	work(NULL, 6, "longhorn create");
	check_job(job, "service.create", "completed");
	const char *params[] = { job };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM instructions i JOIN job_steps s ON s.id ="
				 " i.step_id WHERE i.job_id = $1 AND s.name = 'storage-class'"
				 " AND i.type = 'APPLY_CR' AND i.status = 'completed'",
				 1, params),
		     1);
	struct it_resp r =
		create("postgresql", "{\"name\":\"on-lh\",\"storageClass\":\"longhorn\"}");
	CHECK_STATUS(r, 202);
	const char *warning = it_json_str(r.json, "warnings.0");
	CHECK_MSG(warning && strstr(warning, "too slow"), "warning: %s",
		  warning ? warning : "(none)");
	char id[8];
	snprintf(id, sizeof(id), "%s", it_json_str(r.json, "id") ?: "");
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	work(NULL, 5, "postgresql on longhorn");
	check_job(job, "service.create", "completed");
	r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/services/postgresql/%s", owner.aid, cid,
		    id);
	CHECK_STR_EQ(it_json_str(r.json, "storageClass"), it_fmt("longhorn-%s", lh_osid));
	it_resp_free(&r);
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/%s/services/longhorn/%s", owner.aid, cid,
		    lh);
	CHECK_ERROR(r, 409, "service.has_dependents");
	CHECK_STR_EQ(it_json_str(r.json, "dependents.0.name"), "on-lh");
	it_resp_free(&r);
	char lh2[8], lh2_osid[64];
	if (!create_ok("longhorn", "{\"name\":\"lh2\"}", lh2, lh2_osid, job))
		return;
	r = create("minio", "{\"name\":\"objects\",\"storageClass\":\"longhorn\"}");
	CHECK_ERROR(r, 400, "validation.invalid");
	CHECK_STR_EQ(it_json_str(r.json, "field"), "storageClass");
	it_resp_free(&r);
	r = create("minio",
		   it_fmt("{\"name\":\"objects\",\"storageClass\":\"longhorn-%s\"}", lh2_osid));
	CHECK_STATUS(r, 202);
	CHECK_INT_EQ(json_array_size(json_object_get(r.json, "warnings")), 0);
	snprintf(objects, sizeof(objects), "%s", it_json_str(r.json, "osid") ?: "");
	it_resp_free(&r);
	work(NULL, 11, "the second longhorn and minio on it");
}

/* A report from a node that went offline says nothing about now. */
static void stale_report(const char *id)
{
	const char *params[] = { owner.aid, cp_nid };
	it_db_exec(pg, "UPDATE nodes SET status = 'offline' WHERE aid = $1 AND nid = $2", 2,
		   params);
	struct it_resp r = it_call(srv, "GET", owner.token, NULL,
				   "/%s/%s/services/postgresql/%s/status", owner.aid, cid, id);
	CHECK_STR_EQ(it_json_str(r.json, "state"), "unknown");
	CHECK_STR_EQ(it_json_str(r.json, "reason"), "NodeOffline");
	CHECK(json_is_string(json_object_get(r.json, "reportedAt")));
	it_resp_free(&r);
	it_db_exec(pg, "UPDATE nodes SET status = 'online' WHERE aid = $1 AND nid = $2", 2, params);
}

/* Harbor requires three services: each named by its input, each letting it
 * in by its namespace label. */
static void harbor(void)
{
	char id[8], osid[64], job[40];
	if (!create_ok(
		    "harbor",
		    it_fmt("{\"name\":\"registry\",\"postgresOsid\":\"%s\",\"valkeyOsid\":\"%s\","
			   "\"minioOsid\":\"%s\"}",
			   main_db, cache, objects),
		    id, osid, job))
		return;
	work(NULL, 5, "harbor create");
	check_job(job, "service.create", "completed");
	struct it_resp r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/services/harbor/%s",
				   owner.aid, cid, id);
	CHECK_STR_EQ(it_json_str(r.json, "requires.postgresOsid"), main_db);
	CHECK_STR_EQ(it_json_str(r.json, "requires.valkeyOsid"), cache);
	CHECK_STR_EQ(it_json_str(r.json, "requires.minioOsid"), objects);
	CHECK_STR_EQ(it_json_str(r.json, "endpoint"),
		     it_fmt("https://%s.%s.%s.runos.xyz", osid, cid, owner.aid));
	it_resp_free(&r);
	/* Its chart's values carry the database password: sealed in the queue. */
	const char *params[] = { job };
	CHECK_INT_EQ(
		it_db_count(
			pg,
			"SELECT count(*) FROM instructions WHERE job_id = $1 AND type ="
			" 'INSTALL_HELM_CHART' AND payload::text = '{}' AND status = 'completed'",
			1, params),
		1);
}

struct burst {
	int i;
	long status;
	char osid[64], job[40];
};

static void *burst_one(void *arg)
{
	struct burst *b = arg;
	struct it_resp r = it_call(b->i % 2 ? srv2 : srv, "POST", owner.token,
				   it_fmt("{\"name\":\"burst-%d\"}", b->i),
				   "/%s/%s/services/valkey", owner.aid, cid);
	b->status = r.status;
	snprintf(b->osid, sizeof(b->osid), "%s", it_json_str(r.json, "osid") ?: "");
	snprintf(b->job, sizeof(b->job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	return NULL;
}

static void concurrent_creates(void)
{
	static struct burst b[CONCURRENT_CREATES];
	pthread_t threads[CONCURRENT_CREATES];
	for (int i = 0; i < CONCURRENT_CREATES; i++) {
		b[i].i = i;
		pthread_create(&threads[i], NULL, burst_one, &b[i]);
	}
	int accepted = 0;
	for (int i = 0; i < CONCURRENT_CREATES; i++) {
		pthread_join(threads[i], NULL);
		accepted += b[i].status == 202;
	}
	CHECK_INT_EQ(accepted, CONCURRENT_CREATES);
	const char *params[] = { owner.aid, cid };
	CHECK_INT_EQ(
		it_db_count(pg,
			    "SELECT count(DISTINCT osid) FROM services WHERE aid = $1 AND cid = $2"
			    " AND name LIKE 'burst-%'",
			    2, params),
		CONCURRENT_CREATES);
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(DISTINCT j.id) FROM jobs j JOIN services s ON"
				 " s.job_id = j.id WHERE s.aid = $1 AND s.cid = $2 AND s.name LIKE"
				 " 'burst-%' AND j.type = 'service.create'",
				 2, params),
		     CONCURRENT_CREATES);
	for (int i = 0; i < CONCURRENT_CREATES; i++)
		for (int k = i + 1; k < CONCURRENT_CREATES; k++)
			CHECK_MSG(strcmp(b[i].osid, b[k].osid) != 0, "osid %s twice", b[i].osid);
}

int main(void)
{
	if (!it_init("it_services"))
		return 1;
	const char *bin_dir_end = strrchr(it_env.bin, '/');
	snprintf(agent_sim, sizeof(agent_sim), "%.*s/../tests/agent-sim/agent-sim",
		 (int)(bin_dir_end - it_env.bin), it_env.bin);
	CHECK_MSG(access(agent_sim, X_OK) == 0, "%s is not built", agent_sim);
	static const char *env[] = { "RUNOS_NODE_OFFLINE_AFTER=60", NULL };
	srv = it_server_start("services", env);
	srv2 = it_server_start("services2", env);
	pg = PQconnectdb(it_env.database_url);
	if (!srv || !srv2 || PQstatus(pg) != CONNECTION_OK || !it_signup(srv, &owner) ||
	    !it_signup(srv, &other) || !it_invite(srv, &owner, &viewer, "viewer") ||
	    !it_invite(srv, &owner, &member, "member"))
		return it_finish("it_services");
	snprintf(agent_url, sizeof(agent_url), "https://127.0.0.1:%d", it_server_agent_port(srv));
	char *ca = it_agent_ca(pg);
	snprintf(ca_path, sizeof(ca_path), "%s/services-ca-%d.pem", it_env.tmpdir, (int)getpid());
	snprintf(cp_state, sizeof(cp_state), "%s/services-cp-%d.jsonl", it_env.tmpdir,
		 (int)getpid());
	snprintf(cr_dir, sizeof(cr_dir), "%s/services-cr-%d", it_env.tmpdir, (int)getpid());
	mkdir(cr_dir, 0700);
	FILE *f = fopen(ca_path, "w");
	if (f && ca)
		fputs(ca, f);
	if (f)
		fclose(f);
	free(ca);
	not_active();
	if (!active_cluster())
		return it_finish("it_services");
	bad_inputs();

	char id[8], osid[64], job[40], password[128] = "";
	if (create_ok("postgresql", "{\"name\":\"main-db\"}", id, osid, job)) {
		snprintf(main_db, sizeof(main_db), "%s", osid);
		struct it_resp dup = create("postgresql", "{\"name\":\"main-db\"}");
		CHECK_ERROR(dup, 409, "service.name_taken");
		it_resp_free(&dup);
		const char *params[] = { job };
		/* The Secret's instruction waits sealed in the queue. */
		CHECK_INT_EQ(
			it_db_count(pg,
				    "SELECT count(*) FROM step_instructions si JOIN job_steps s"
				    " ON s.id = si.step_id WHERE s.job_id = $1"
				    " AND si.sealed_payload IS NOT NULL",
				    1, params),
			1);
		work(NULL, 5, "postgresql create");
		check_job(job, "service.create", "completed");
		check_status("postgresql", id, "healthy");
		credentials("postgresql", id, osid, password);
		show_and_list(id, osid);
		canary("postgresql", id, password, job);
		patch(id);
		dependents_and_delete(id, osid);
		rotate(id, password);
		stale_report(id);
	}
	longhorn();
	failed_install();
	waits_for_node();
	harbor();
	concurrent_creates();
	int failures = it_k8s_validate_dir(cr_dir);
	CHECK_MSG(failures == 0, "the Kubernetes objects sent: %d invalid (or no validator)",
		  failures);
	PQfinish(pg);
	return it_finish("it_services");
}
