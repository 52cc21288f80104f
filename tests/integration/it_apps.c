/* Apps end to end (API.md §7, docs/apps.md) against the real server,
 * PostgreSQL and the agent-sim binary as the cluster's control-plane node:
 *   - create: the cluster must be active, every bad input refused naming
 *     the field, a name once per cluster, requires only of the cluster's own
 *     services (another cluster's or account's: 400 revealing nothing);
 *   - the generated domains and networkAccess of GET;
 *   - a deploy through agent-sim: BUILD_IMAGE on the node, the objects
 *     applied with the image pinned by digest, the rollout reported healthy,
 *     the deployment succeeded; a newer deploy supersedes one not rolling
 *     out; a failed build fails; rollback (no build), not to a failed one;
 *   - env and secret env vars (a job, no build), one key space; a canary
 *     secret value in no table, log, job, audit entry or response;
 *   - PATCH (If-Match, ?merge=true, rename only, a replicas change), DELETE;
 *   - another account's token on every app route: 404; viewer reads only,
 *     member deploys;
 *   - every Kubernetes object sent validates (tests/k8s). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agents.h"
#include "harness.h"

#define SIM_TIMEOUT_S 40
#define HEAD_SHA "1111111111111111111111111111111111111111"
#define HEAD_SHA_UPPER "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define PINNED_SHA "2222222222222222222222222222222222222222"
#define CANARY "canary-Zq8vX3mW9kLp2Rt7"
#define TOKEN_CANARY "ghp_tokenCanary7Hs2Kd9Lq4Mx"

static struct it_server *srv, *srv2;
static struct it_user owner, other, viewer, member;
static PGconn *pg;
static char agent_sim[1024], ca_path[1024], agent_url[64], cr_dir[1024], cp_state[1024];
static char cid[8], cp_nid[8], domain[128];
static char pending_cid[8];	   /* another cluster of the account, not active */
static char db_id[8], db_osid[64]; /* the PostgreSQL service the app requires */
static char webhook_secret[128];   /* the main app's, shown once */
static char rotated_secret[128];   /* its next one */
static char foreign_ids[2][8];	   /* services of another cluster, another account */

static int sim(const char *env, const char *args, char **out)
{
	return it_shell_output(
		it_fmt("%s SIM_CR_DIR='%s' SIM_HEAD_SHA=" HEAD_SHA " timeout %d '%s' %s"
		       " --agent-url %s --ca '%s'",
		       env ? env : "", cr_dir, SIM_TIMEOUT_S, agent_sim, args, agent_url, ca_path),
		out);
}

/* agent-sim answers for the control plane until n answers were accepted. */
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

/* How many instructions job's steps hold (what a run of it sends). */
static int job_instructions(const char *job)
{
	const char *params[] = { job };
	return (int)it_db_count(pg,
				"SELECT count(*) FROM step_instructions si JOIN job_steps s"
				" ON s.id = si.step_id WHERE s.job_id = $1",
				1, params);
}

/* The instructions of job of this type that the node answered. */
static int sent(const char *job, const char *type)
{
	const char *params[] = { job, type };
	return (int)it_db_count(pg,
				"SELECT count(*) FROM instructions WHERE job_id = $1 AND type = $2"
				" AND status = 'completed'",
				2, params);
}

static void check_job(const char *job_id, const char *type, const char *status)
{
	json_t *job = it_job_settled(srv, owner.token, job_id);
	CHECK_MSG(job != NULL, "job %s still open", job_id);
	CHECK_STR_EQ(it_json_str(job, "type"), type);
	CHECK_MSG(job && strcmp(it_json_str(job, "status") ?: "", status) == 0,
		  "job %s is %s, not %s: %s", job_id, it_json_str(job, "status"), status,
		  it_json_str(job, "error"));
	json_decref(job);
}

/* The control plane of the cluster: registered by agent-sim, its join
 * answered, its credentials reported: the cluster is active. */
static bool active_cluster(void)
{
	char token[64];
	if (!it_new_cluster(srv, &owner, "apps", cid) ||
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
	snprintf(domain, sizeof(domain), "%s.%s.runos.xyz", cid, owner.aid);
	return ok;
}

static const char *apps_path(void)
{
	return it_fmt("/%s/%s/apps", owner.aid, cid);
}

static struct it_resp create(const char *token, const char *body)
{
	return it_call(srv, "POST", token, body, "%s", apps_path());
}

/* A create body: name, repository URL, then more members (",..." or ""). */
static const char *app_body(const char *name, const char *url, const char *more)
{
	return it_fmt("{\"name\":\"%s\",\"repo\":{\"provider\":\"github\",\"url\":\"%s\","
		      "\"branch\":\"main\"}%s}",
		      name, url, more);
}

struct created {
	char id[8], osid[64], job[40], deployment[40];
};

static bool create_ok(const char *body, struct created *c)
{
	struct it_resp r = create(member.token, body);
	bool ok = r.status == 202;
	CHECK_MSG(ok, "create %s: %ld %s", body, r.status, it_body_shown(&r));
	if (ok) {
		snprintf(c->id, sizeof(c->id), "%s", it_json_str(r.json, "id") ?: "");
		snprintf(c->osid, sizeof(c->osid), "%s", it_json_str(r.json, "osid") ?: "");
		snprintf(c->job, sizeof(c->job), "%s", it_json_str(r.json, "jobId") ?: "");
		snprintf(c->deployment, sizeof(c->deployment), "%s",
			 it_json_str(r.json, "deploymentId") ?: "");
		CHECK(it_is_aid(c->id));
		CHECK_STR_EQ(c->osid, it_fmt("app-%s", c->id));
		CHECK(it_is_uuid(c->job));
		CHECK(it_is_uuid(c->deployment));
		const char *secret = it_json_str(r.json, "webhookSecret");
		CHECK_MSG(secret && strncmp(secret, "rnw_", 4) == 0 && strlen(secret) == 47,
			  "webhookSecret %s", secret ? secret : "(none)");
		if (!webhook_secret[0])
			snprintf(webhook_secret, sizeof(webhook_secret), "%s",
				 secret ? secret : "");
		const char *url = it_json_str(r.json, "webhookUrl");
		CHECK_MSG(url && strstr(url, it_fmt("/webhooks/github/%s", c->id)), "webhookUrl %s",
			  url ? url : "(none)");
		CHECK(json_is_array(json_object_get(r.json, "warnings")));
	}
	it_resp_free(&r);
	return ok;
}

static void not_active(void)
{
	char *pending = pending_cid;
	if (!it_new_cluster(srv, &owner, "pending", pending))
		return;
	struct it_resp r = it_call(srv, "POST", owner.token,
				   app_body("p", "https://github.com/acme/web", ",\"port\":8080"),
				   "/%s/%s/apps", owner.aid, pending);
	CHECK_ERROR(r, 409, "cluster.not_active");
	it_resp_free(&r);
}

static void bad_inputs(void)
{
	static const char *const gh = "https://github.com/acme/web";
	struct {
		const char *body, *code, *field;
	} cases[] = {
		{ app_body("g", "https://gitlab.com/acme/web", ",\"port\":80"),
		  "validation.unsupported", "repo.url" },
		{ app_body("b", "https://bitbucket.org/acme/web", ",\"port\":80"),
		  "validation.unsupported", "repo.url" },
		{ app_body("u", "http://github.com/acme/web", ",\"port\":80"), "validation.invalid",
		  "repo.url" },
		{ app_body("u", "https://github.com/acme/web/tree/main", ",\"port\":80"),
		  "validation.invalid", "repo.url" },
		{ app_body("u", "https://user:pw@github.com/acme/web", ",\"port\":80"),
		  "validation.invalid", "repo.url" },
		{ it_fmt("{\"repo\":{\"provider\":\"github\",\"url\":\"%s\",\"branch\":\"main\"},"
			 "\"port\":80}",
			 gh),
		  "validation.required", "name" },
		{ "{\"name\":\"r\",\"port\":80}", "validation.required", "repo" },
		{ app_body("p", gh, ""), "validation.required", "port" },
		{ app_body("p", gh, ",\"port\":70000"), "validation.range", "port" },
		{ app_body("p", gh, ",\"port\":\"80\""), "validation.type", "port" },
		{ app_body("p", gh, ",\"servicePortMappings\":[{\"port\":80},{\"port\":80}]"),
		  "validation.invalid", "servicePortMappings[1].port" },
		{ it_fmt("{\"name\":\"br\",\"repo\":{\"provider\":\"github\",\"url\":\"%s\","
			 "\"branch\":\"bad..branch\"},\"port\":80}",
			 gh),
		  "validation.invalid", "repo.branch" },
		{ app_body("r", gh, ",\"port\":80,\"replicas\":21"), "validation.range",
		  "replicas" },
		{ app_body("d", gh, ",\"port\":80,\"dockerfile\":\"../Dockerfile\""),
		  "validation.invalid", "dockerfile" },
		{ app_body("c", gh, ",\"port\":80,\"color\":\"red\""), "validation.unknown_field",
		  "color" },
		{ app_body("q", gh,
			   ",\"port\":80,\"requires\":{\"db\":{\"type\":\"postgresql\","
			   "\"id\":\"zzzzz\",\"env\":{\"url\":\"1BAD\"}}}"),
		  "validation.invalid", "requires.db.env.url" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[1024];
		snprintf(body, sizeof(body), "%s", cases[i].body);
		struct it_resp r = create(owner.token, body);
		CHECK_ERROR(r, 400, cases[i].code);
		CHECK_MSG(strcmp(it_json_str(r.json, "field") ?: "", cases[i].field) == 0,
			  "%s: field %s, want %s", body, it_json_str(r.json, "field"),
			  cases[i].field);
		it_resp_free(&r);
	}
	const char *params[] = { owner.aid };
	CHECK_INT_EQ(it_db_count(pg, "SELECT count(*) FROM apps WHERE aid = $1", 1, params), 0);
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM jobs WHERE aid = $1 AND type LIKE 'app.%'",
				 1, params),
		     0);
}

/* A PostgreSQL service of a cluster made active with SQL (its create job
 * never runs): its id into id. */
static bool sql_active_service(const struct it_user *u, const char *name, char id[8])
{
	char c[8];
	if (!it_new_cluster(srv, u, name, c))
		return false;
	static char nid[8] = "frgna";
	nid[4]++;
	const char *p[] = { u->aid, c, nid };
	if (!it_db_exec(pg,
			"INSERT INTO nodes (aid, cid, nid, name, role, machine_id, vpn_host,"
			" status) VALUES ($1, $2, $3, 'cp', 'controlplane', 'machine-' || $3, 1,"
			" 'online')",
			3, p) ||
	    !it_db_exec(pg,
			"UPDATE clusters SET status = 'active', configured = true"
			" WHERE aid = $1 AND cid = $2",
			2, p))
		return false;
	struct it_resp r = it_call(srv, "POST", u->token, "{\"name\":\"foreign-db\"}",
				   "/%s/%s/services/postgresql", u->aid, c);
	bool ok = r.status == 202;
	CHECK_MSG(ok, "foreign service: %ld %s", r.status, it_body_shown(&r));
	snprintf(id, 8, "%s", it_json_str(r.json, "id") ?: "");
	it_resp_free(&r);
	return ok;
}

/* requires naming a service of another cluster or account: 400, and the
 * answer says nothing of it. */
static void foreign_requires(void)
{
	if (!sql_active_service(&owner, "second", foreign_ids[0]) ||
	    !sql_active_service(&other, "theirs", foreign_ids[1]))
		return;
	for (int i = 0; i < 2; i++) {
		struct it_resp r = create(
			owner.token,
			app_body(
				"f", "https://github.com/acme/web",
				it_fmt(",\"port\":80,\"requires\":{\"db\":{\"type\":\"postgresql\","
				       "\"id\":\"%s\",\"env\":{\"url\":\"DATABASE_URL\"}}}",
				       foreign_ids[i])));
		CHECK_ERROR(r, 400, "validation.invalid");
		CHECK_STR_EQ(it_json_str(r.json, "field"), "requires.db.id");
		CHECK_MSG(!strstr(r.body, "foreign-db") && !strstr(r.body, other.aid) &&
				  !strstr(r.body, "postgresql-"),
			  "the refusal reveals the service: %s", r.body);
		it_resp_free(&r);
	}
}

/* The PostgreSQL service the app requires, installed through agent-sim. */
static bool required_service(void)
{
	struct it_resp r = it_call(srv, "POST", owner.token, "{\"name\":\"app-db\"}",
				   "/%s/%s/services/postgresql", owner.aid, cid);
	bool ok = r.status == 202;
	CHECK_MSG(ok, "service: %ld %s", r.status, it_body_shown(&r));
	char job[40];
	snprintf(db_id, sizeof(db_id), "%s", it_json_str(r.json, "id") ?: "");
	snprintf(db_osid, sizeof(db_osid), "%s", it_json_str(r.json, "osid") ?: "");
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	if (!ok)
		return false;
	work(NULL, 5, "postgresql create");
	check_job(job, "service.create", "completed");
	return true;
}

static void show(const struct created *app)
{
	struct it_resp r = it_call(srv2, "GET", viewer.token, NULL, "%s/%s", apps_path(), app->id);
	CHECK_STATUS(r, 200);
	CHECK(it_header(&r, "ETag") != NULL);
	CHECK_STR_EQ(it_json_str(r.json, "name"), "My Cool_App!");
	CHECK_STR_EQ(it_json_str(r.json, "repo.url"), "https://github.com/acme/web");
	CHECK_STR_EQ(it_json_str(r.json, "repo.branch"), "main");
	const char *first = it_fmt("my-cool-app-%s.%s", app->id, domain);
	CHECK_STR_EQ(it_json_str(r.json, "domains.0"), first);
	CHECK_STR_EQ(it_json_str(r.json, "servicePortMappings.0.domains.0"), first);
	const char *second = it_fmt("my-cool-app-%s-9090.%s", app->id, domain);
	CHECK_STR_EQ(it_json_str(r.json, "domains.1"), second);
	CHECK_STR_EQ(it_json_str(r.json, "servicePortMappings.1.domains.0"), second);
	CHECK_INT_EQ(json_integer_value(it_json_get(r.json, "port")), 8080);
	CHECK_STR_EQ(it_json_str(r.json, "requires.db.id"), db_id);
	CHECK_STR_EQ(it_json_str(r.json, "requires.db.osid"), db_osid);
	CHECK_STR_EQ(it_json_str(r.json, "requires.db.env.url"), "DATABASE_URL");
	CHECK(json_is_false(json_object_get(r.json, "hasAccessToken")));
	CHECK(!strstr(r.body, webhook_secret));
	it_resp_free(&r);

	r = it_call(srv, "GET", viewer.token, NULL, "%s/%s/networkAccess", apps_path(), app->id);
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(json_array_size(r.json), 4);
	CHECK_STR_EQ(it_json_str(r.json, "0.type"), "RUNOS_PUBLIC_8080");
	CHECK_STR_EQ(it_json_str(r.json, "0.name"), first);
	CHECK_STR_EQ(it_json_str(r.json, "0.link"),
		     it_fmt("https://my-cool-app-%s.%s", app->id, domain));
	CHECK_STR_EQ(it_json_str(r.json, "1.type"), "IN_CLUSTER_8080");
	CHECK_STR_EQ(it_json_str(r.json, "1.link"),
		     it_fmt("http://%s.%s.svc.cluster.local:8080", app->osid, app->osid));
	CHECK_STR_EQ(it_json_str(r.json, "2.type"), "RUNOS_PUBLIC_9090");
	CHECK_STR_EQ(it_json_str(r.json, "3.type"), "IN_CLUSTER_9090");
	it_resp_free(&r);

	r = it_call(srv, "GET", viewer.token, NULL, "%s?limit=10", apps_path());
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "apps.0.id"), app->id);
	it_resp_free(&r);
	r = it_call(srv, "GET", viewer.token, NULL, "%s/%s/requires", apps_path(), app->id);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "requires.db.id"), db_id);
	it_resp_free(&r);
	r = it_call(srv, "GET", viewer.token, NULL, "%s/%s/dependencies", apps_path(), app->id);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "dependencies.0.alias"), "db");
	CHECK_STR_EQ(it_json_str(r.json, "dependencies.0.osid"), db_osid);
	CHECK_STR_EQ(it_json_str(r.json, "dependencies.0.lifecycle"), "installed");
	it_resp_free(&r);

	/* The service it requires cannot go. */
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/%s/services/postgresql/%s", owner.aid,
		    cid, db_id);
	CHECK_ERROR(r, 409, "service.has_dependents");
	CHECK_STR_EQ(it_json_str(r.json, "dependents.0.type"), "app");
	CHECK_STR_EQ(it_json_str(r.json, "dependents.0.id"), app->id);
	it_resp_free(&r);
}

/* The deployment id of app as GET …/deployments shows it (a new reference). */
static json_t *deployment(const char *app_id, const char *deployment_id)
{
	struct it_resp r = it_call(srv, "GET", viewer.token, NULL, "%s/%s/deployments?limit=100",
				   apps_path(), app_id);
	CHECK_STATUS(r, 200);
	json_t *found = NULL;
	size_t i;
	json_t *d;
	json_array_foreach (json_object_get(r.json, "deployments"), i, d)
		if (strcmp(it_json_str(d, "id") ?: "", deployment_id) == 0)
			found = json_incref(d);
	CHECK_MSG(found != NULL, "no deployment %s in %s", deployment_id, it_body_shown(&r));
	it_resp_free(&r);
	return found;
}

static void check_deployment(const char *app_id, const char *id, const char *status,
			     const char *trigger)
{
	json_t *d = deployment(app_id, id);
	CHECK_MSG(strcmp(it_json_str(d, "status") ?: "", status) == 0,
		  "deployment %s is %s, not %s (%s)", id, it_json_str(d, "status"), status,
		  it_json_str(d, "message"));
	CHECK_STR_EQ(it_json_str(d, "trigger"), trigger);
	json_decref(d);
}

/* The first deploy: built on the node, applied pinned by digest, healthy. */
static void first_deploy(const struct created *app, char digest[80])
{
	int n = job_instructions(app->job);
	CHECK_MSG(n >= 8, "the deploy has %d instructions", n);
	work(NULL, n, "first deploy");
	check_job(app->job, "app.deploy", "completed");
	CHECK_INT_EQ(sent(app->job, "BUILD_IMAGE"), 1);
	const char *params[] = { app->job, cp_nid };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM instructions WHERE job_id = $1 AND nid = $2"
				 " AND type = 'BUILD_IMAGE'",
				 2, params),
		     1);
	json_t *d = deployment(app->id, app->deployment);
	CHECK_STR_EQ(it_json_str(d, "status"), "succeeded");
	CHECK_STR_EQ(it_json_str(d, "trigger"), "api");
	CHECK_STR_EQ(it_json_str(d, "sha"), HEAD_SHA);
	CHECK_STR_EQ(it_json_str(d, "imageTag"),
		     it_fmt("harbor.%s/%s/app:%s", domain, app->osid, HEAD_SHA));
	const char *dg = it_json_str(d, "imageDigest");
	CHECK_MSG(dg && strncmp(dg, "sha256:", 7) == 0 && strlen(dg) == 71, "digest %s",
		  dg ? dg : "(none)");
	snprintf(digest, 80, "%s", dg ? dg : "");
	CHECK(json_is_string(json_object_get(d, "finishedAt")));
	json_decref(d);
	/* The Deployment agent-sim received runs the image pinned by digest. */
	const char *image = it_fmt("harbor.%s/%s/app@%s", domain, app->osid, digest);
	CHECK_MSG(it_shell(it_fmt("grep -lqF '\"%s\"' '%s'/*.json", image, cr_dir)) == 0,
		  "no object sent runs %s", image);
	struct it_resp r =
		it_call(srv, "GET", viewer.token, NULL, "%s/%s/status", apps_path(), app->id);
	CHECK_STR_EQ(it_json_str(r.json, "state"), "healthy");
	CHECK_INT_EQ(json_integer_value(it_json_get(r.json, "replicas.ready")), 1);
	it_resp_free(&r);
}

static bool deploy(const struct it_server *s, const char *token, const char *app_id,
		   const char *body, char job[40], char deployment_id[40])
{
	struct it_resp r =
		it_call(s, "POST", token, body, "/%s/%s/apps/%s/deploy", owner.aid, cid, app_id);
	bool ok = r.status == 202;
	CHECK_MSG(ok, "deploy: %ld %s", r.status, it_body_shown(&r));
	snprintf(job, 40, "%s", it_json_str(r.json, "jobId") ?: "");
	snprintf(deployment_id, 40, "%s", it_json_str(r.json, "deploymentId") ?: "");
	it_resp_free(&r);
	return ok;
}

/* A second deploy while the first has not started its rollout supersedes
 * it; the first's job is cancelled. A member deploys. */
static void supersede(const struct created *app)
{
	struct it_resp r = it_call(srv, "POST", member.token, "{\"sha\":\"" HEAD_SHA_UPPER "\"}",
				   "%s/%s/deploy", apps_path(), app->id);
	CHECK_ERROR(r, 400, "validation.invalid");
	CHECK_STR_EQ(it_json_str(r.json, "field"), "sha");
	it_resp_free(&r);
	char job1[40], d1[40], job2[40], d2[40];
	if (!deploy(srv, member.token, app->id, NULL, job1, d1) ||
	    !deploy(srv2, member.token, app->id, "{\"sha\":\"" PINNED_SHA "\"}", job2, d2))
		return;
	check_deployment(app->id, d1, "superseded", "api");
	check_job(job1, "app.deploy", "cancelled");
	work(NULL, job_instructions(job2), "the second deploy");
	check_job(job2, "app.deploy", "completed");
	json_t *d = deployment(app->id, d2);
	CHECK_STR_EQ(it_json_str(d, "status"), "succeeded");
	CHECK_STR_EQ(it_json_str(d, "sha"), PINNED_SHA);
	CHECK_STR_EQ(it_json_str(d, "imageTag"),
		     it_fmt("harbor.%s/%s/app:%s", domain, app->osid, PINNED_SHA));
	json_decref(d);
	/* Rolling back to the superseded one: refused. */
	r = it_call(srv, "POST", member.token, it_fmt("{\"deploymentId\":\"%s\"}", d1),
		    "%s/%s/rollback", apps_path(), app->id);
	CHECK_ERROR(r, 409, "deployment.not_succeeded");
	it_resp_free(&r);
}

/* Back to the first deployment: its digest again, no build. */
static void rollback(const struct created *app, const char *digest)
{
	struct it_resp r = it_call(srv, "POST", member.token,
				   "{\"deploymentId\":\"00000000-0000-4000-8000-000000000000\"}",
				   "%s/%s/rollback", apps_path(), app->id);
	CHECK_ERROR(r, 404, "deployment.not_found");
	it_resp_free(&r);
	r = it_call(srv, "POST", member.token, it_fmt("{\"deploymentId\":\"%s\"}", app->deployment),
		    "%s/%s/rollback", apps_path(), app->id);
	CHECK_STATUS(r, 202);
	char job[40], id[40];
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	snprintf(id, sizeof(id), "%s", it_json_str(r.json, "deploymentId") ?: "");
	it_resp_free(&r);
	work(NULL, job_instructions(job), "rollback");
	check_job(job, "app.rollback", "completed");
	CHECK_INT_EQ(sent(job, "BUILD_IMAGE"), 0);
	json_t *d = deployment(app->id, id);
	CHECK_STR_EQ(it_json_str(d, "status"), "succeeded");
	CHECK_STR_EQ(it_json_str(d, "trigger"), "rollback");
	CHECK_STR_EQ(it_json_str(d, "imageDigest"), digest);
	CHECK_STR_EQ(it_json_str(d, "sha"), HEAD_SHA);
	CHECK_STR_EQ(it_json_str(d, "rollbackOf"), app->deployment);
	json_decref(d);
}

/* A build that fails: the deployment failed with the builder's message,
 * the job failed. Its access token stays sealed. */
static void failed_build(void)
{
	struct created app;
	if (!create_ok(app_body("broken", "https://github.com/acme/broken-build",
				",\"port\":3000,\"accessToken\":\"" TOKEN_CANARY "\""),
		       &app))
		return;
	work("SIM_FAIL_BUILD=broken-build", 1, "a failing build");
	check_job(app.job, "app.deploy", "failed");
	json_t *d = deployment(app.id, app.deployment);
	CHECK_STR_EQ(it_json_str(d, "status"), "failed");
	const char *message = it_json_str(d, "message");
	CHECK_MSG(message && strstr(message, "buildkit"), "message: %s",
		  message ? message : "(none)");
	json_decref(d);
	struct it_resp r = it_call(srv, "POST", member.token,
				   it_fmt("{\"deploymentId\":\"%s\"}", app.deployment),
				   "%s/%s/rollback", apps_path(), app.id);
	CHECK_ERROR(r, 409, "deployment.not_succeeded");
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "%s/%s", apps_path(), app.id);
	CHECK(json_is_true(json_object_get(r.json, "hasAccessToken")));
	it_resp_free(&r);
	/* A build alone (it fails again, as the repository does). */
	r = it_call(srv, "POST", member.token, NULL, "%s/%s/build", apps_path(), app.id);
	CHECK_STATUS(r, 202);
	char job[40];
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	const char *params[] = { job };
	CHECK_INT_EQ(
		it_db_count(pg,
			    "SELECT count(*) FROM step_instructions si JOIN job_steps s ON"
			    " s.id = si.step_id WHERE s.job_id = $1 AND si.type = 'BUILD_IMAGE'"
			    " AND si.sealed_payload IS NOT NULL AND si.payload::text = '{}'",
			    1, params),
		1);
	work("SIM_FAIL_BUILD=broken-build", 1, "a build alone");
	check_job(job, "app.build", "failed");
	/* Never deployed: env vars only get its ConfigMap and Secret (no
	 * Deployment, no build), and a change of run settings builds. */
	r = it_call(srv, "POST", member.token, "{\"envVars\":{\"PORT\":\"3000\"}}",
		    "%s/%s/env-vars", apps_path(), app.id);
	CHECK_STATUS(r, 202);
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM step_instructions si JOIN job_steps s ON"
				 " s.id = si.step_id WHERE s.job_id = $1 AND si.type <> 'APPLY_CR'",
				 1, params),
		     0);
	work(NULL, job_instructions(job), "env vars of an app not deployed");
	check_job(job, "app.env", "completed");
	CHECK_INT_EQ(sent(job, "BUILD_IMAGE"), 0);
	CHECK_INT_EQ(sent(job, "APPLY_CR"), job_instructions(job));
	r = it_call(srv, "PATCH", member.token, "{\"replicas\":2}", "%s/%s?merge=true", apps_path(),
		    app.id);
	CHECK_STATUS(r, 202);
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	work("SIM_FAIL_BUILD=broken-build", 1, "a replicas change that builds");
	check_job(job, "app.deploy", "failed");
	const char *build[] = { job };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM instructions WHERE job_id = $1"
				 " AND type = 'BUILD_IMAGE' AND status = 'failed'",
				 1, build),
		     1);
}

/* Env var sets: replaced with a job that builds nothing; one key space. */
static void env_vars(const struct created *app)
{
	struct it_resp r = it_call(srv, "POST", member.token,
				   "{\"envVars\":{\"LOG_LEVEL\":\"debug\",\"MODE\":\"x\"}}",
				   "%s/%s/env-vars", apps_path(), app->id);
	CHECK_STATUS(r, 202);
	char job[40];
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	work(NULL, job_instructions(job), "env vars");
	check_job(job, "app.configure", "completed");
	CHECK_INT_EQ(sent(job, "BUILD_IMAGE"), 0);
	CHECK_MSG(it_shell(it_fmt("grep -lqE '\"LOG_LEVEL\": ?\"debug\"' '%s'/*.json", cr_dir)) ==
			  0,
		  "no ConfigMap with LOG_LEVEL was applied");
	r = it_call(srv, "GET", viewer.token, NULL, "%s/%s/env-vars", apps_path(), app->id);
	CHECK_STR_EQ(it_json_str(r.json, "envVars.LOG_LEVEL"), "debug");
	it_resp_free(&r);

	r = it_call(srv, "POST", member.token, "{\"envVars\":{\"API_KEY\":\"" CANARY "\"}}",
		    "%s/%s/secret-env-vars", apps_path(), app->id);
	CHECK_STATUS(r, 202);
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	const char *params[] = { job };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM step_instructions si JOIN job_steps s ON"
				 " s.id = si.step_id WHERE s.job_id = $1"
				 " AND si.sealed_payload IS NOT NULL",
				 1, params),
		     1);
	work(NULL, job_instructions(job), "secret env vars");
	check_job(job, "app.configure", "completed");
	CHECK_INT_EQ(sent(job, "BUILD_IMAGE"), 0);
	CHECK_MSG(it_shell(it_fmt("grep -lqF '%s' '%s'/*.json", CANARY, cr_dir)) == 0,
		  "the Secret with API_KEY never reached the node");
	r = it_call(srv, "GET", viewer.token, NULL, "%s/%s/secret-env-vars", apps_path(), app->id);
	CHECK_STATUS(r, 200);
	CHECK(json_is_true(it_json_get(r.json, "envVars.API_KEY.set")));
	CHECK_INT_EQ(json_object_size(json_object_get(r.json, "envVars")), 1);
	it_resp_free(&r);

	/* One key space: a secret key, a key requires injects. */
	const char *taken[] = { "API_KEY", "DATABASE_URL" };
	for (int i = 0; i < 2; i++) {
		r = it_call(srv, "POST", member.token,
			    it_fmt("{\"envVars\":{\"%s\":\"plain\"}}", taken[i]), "%s/%s/env-vars",
			    apps_path(), app->id);
		CHECK_ERROR(r, 400, "validation.invalid");
		const char *field = it_json_str(r.json, "field");
		CHECK_MSG(field && strstr(field, taken[i]), "field %s names %s",
			  field ? field : "(none)", taken[i]);
		it_resp_free(&r);
	}
	r = it_call(srv, "POST", member.token, "{\"envVars\":{\"1BAD\":\"x\"}}", "%s/%s/env-vars",
		    apps_path(), app->id);
	CHECK_ERROR(r, 400, "validation.invalid");
	CHECK_STR_EQ(it_json_str(r.json, "field"), "envVars.1BAD");
	it_resp_free(&r);
}

static bool holds(const char *text, const char *secret)
{
	return text && secret[0] && strstr(text, secret) != NULL;
}

/* The secret env value, the access token and the webhook secret: in no
 * table (decoded objects included), log, job or response. */
static void canary(const struct created *app)
{
	const char *secrets[] = { CANARY, TOKEN_CANARY, webhook_secret, rotated_secret };
	const int nsecrets = 4;
	struct it_resp jobs =
		it_call(srv, "GET", owner.token, NULL, "/jobs?aid=%s&limit=100", owner.aid);
	CHECK_STATUS(jobs, 200);
	size_t i;
	json_t *job;
	json_array_foreach (json_object_get(jobs.json, "jobs"), i, job) {
		const char *id = it_json_str(job, "id");
		struct it_resp one = it_call(srv, "GET", owner.token, NULL, "/jobs/%s", id);
		struct it_resp steps =
			it_call(srv, "GET", owner.token, NULL, "/jobs/%s/workitems", id);
		for (int s = 0; s < nsecrets; s++)
			CHECK_MSG(!holds(one.body, secrets[s]) && !holds(steps.body, secrets[s]),
				  "job %s shows secret %d", id, s);
		size_t k;
		json_t *step;
		json_array_foreach (json_object_get(steps.json, "workItems"), k, step) {
			struct it_resp logs =
				it_call(srv, "GET", owner.token, NULL, "/jobs/%s/workitems/%s/logs",
					id, it_json_str(step, "id"));
			for (int s = 0; s < nsecrets; s++)
				CHECK_MSG(logs.status == 200 && !holds(logs.body, secrets[s]),
					  "step log of job %s: %ld, secret %d", id, logs.status, s);
			it_resp_free(&logs);
		}
		it_resp_free(&one);
		it_resp_free(&steps);
	}
	CHECK_MSG(json_array_size(json_object_get(jobs.json, "jobs")) >= 8, "%s",
		  it_body_shown(&jobs));
	it_resp_free(&jobs);
	const char *paths[] = {
		it_fmt("%s", apps_path()),
		it_fmt("%s/%s", apps_path(), app->id),
		it_fmt("%s/%s/env-vars", apps_path(), app->id),
		it_fmt("%s/%s/secret-env-vars", apps_path(), app->id),
		it_fmt("%s/%s/deployments", apps_path(), app->id),
		it_fmt("%s/%s/status", apps_path(), app->id),
		it_fmt("/%s/audit-events?limit=200", owner.aid),
	};
	for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
		struct it_resp r = it_call(srv, "GET", owner.token, NULL, "%s", paths[p]);
		CHECK_STATUS(r, 200);
		for (int s = 0; s < nsecrets; s++)
			CHECK_MSG(!holds(r.body, secrets[s]), "GET %s shows secret %d", paths[p],
				  s);
		it_resp_free(&r);
	}
	char *logs[] = { it_server_log(srv), it_server_log(srv2) };
	for (int l = 0; l < 2; l++) {
		for (int s = 0; s < nsecrets; s++)
			CHECK_MSG(logs[l] && !holds(logs[l], secrets[s]),
				  "server log %d holds secret %d", l, s);
		free(logs[l]);
	}
	char *dump = NULL;
	int rc = it_shell_output(
		it_fmt("/usr/lib/postgresql/15/bin/pg_dump '%s'", it_env.database_url), &dump);
	CHECK_MSG(rc == 0 && dump && strstr(dump, "CREATE TABLE public.apps"),
		  "pg_dump failed (%d)", rc);
	for (int s = 0; s < nsecrets; s++)
		CHECK_MSG(!holds(dump, secrets[s]), "pg_dump holds secret %d", s);
	free(dump);
	/* The objects the queue holds, decoded (the ConfigMap's plain value
	 * is found that way: the query can see a value). */
	static const char *const tables[] = { "instructions", "step_instructions" };
	for (int t = 0; t < 2; t++)
		for (int s = 0; s < 3; s++) {
			const char *params[] = { s == 2 ? "LOG_LEVEL" : secrets[s] };
			CHECK_INT_EQ(it_db_count(pg,
						 it_fmt("SELECT count(*) FROM %s WHERE "
							"payload->>'crB64' IS NOT NULL"
							" AND strpos(convert_from(decode(payload->>"
							"'crB64', 'base64'), 'UTF8'), $1) > 0",
							tables[t]),
						 1, params) > 0,
				     s == 2);
		}
}

/* ETags, ?merge=true, a rename only, nothing, a replicas change. */
static void patch(const struct created *app)
{
	const char *p = it_fmt("%s/%s", apps_path(), app->id);
	char path[128];
	snprintf(path, sizeof(path), "%s", p);
	struct it_resp r = it_call(srv, "GET", owner.token, NULL, "%s", path);
	char etag[64];
	snprintf(etag, sizeof(etag), "%s", it_header(&r, "ETag") ?: "");
	it_resp_free(&r);
	const char *stale[] = { "If-Match: \"999\"", NULL };
	char merge_path[160];
	snprintf(merge_path, sizeof(merge_path), "%s?merge=true", path);
	struct it_req req = { .method = "PATCH",
			      .path = merge_path,
			      .token = member.token,
			      .body = "{\"name\":\"Renamed App\"}",
			      .headers = stale };
	it_request(srv, &req, &r);
	CHECK_ERROR(r, 412, "precondition.failed");
	it_resp_free(&r);
	char if_match[80];
	snprintf(if_match, sizeof(if_match), "If-Match: %s", etag);
	const char *fresh[] = { if_match, NULL };
	req.headers = fresh;
	it_request(srv, &req, &r);
	CHECK_STATUS(r, 200);
	CHECK(json_is_true(json_object_get(r.json, "noOp")));
	CHECK_STR_EQ(it_json_str(r.json, "osid"), app->osid);
	CHECK(json_is_string(json_object_get(r.json, "message")));
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "%s", path);
	CHECK_STR_EQ(it_json_str(r.json, "name"), "Renamed App");
	CHECK_STR_EQ(it_json_str(r.json, "healthCheckPath"), "/healthz");
	CHECK_STR_EQ(it_json_str(r.json, "domains.0"),
		     it_fmt("my-cool-app-%s.%s", app->id, domain));
	CHECK_STR_EQ(it_json_str(r.json, "requires.db.id"), db_id);
	CHECK_MSG(strcmp(it_header(&r, "ETag") ?: "", etag) != 0, "the ETag did not change");
	it_resp_free(&r);
	/* The old ETag is stale now. */
	req.body = "{\"replicas\":2}";
	it_request(srv, &req, &r);
	CHECK_ERROR(r, 412, "precondition.failed");
	it_resp_free(&r);
	r = it_call(srv, "PATCH", member.token, "{\"name\":\"Renamed App\"}", "%s", merge_path);
	CHECK_STATUS(r, 200);
	CHECK(json_is_true(json_object_get(r.json, "noOp")));
	it_resp_free(&r);
	/* The ports as GET shows them, generated domains included: nothing
	 * to change; another domain is not added by a PATCH. */
	r = it_call(srv, "PATCH", member.token,
		    it_fmt("{\"servicePortMappings\":[{\"port\":8080,\"domains\":"
			   "[\"my-cool-app-%s.%s\"]},{\"port\":9090,\"domains\":"
			   "[\"my-cool-app-%s-9090.%s\"]}]}",
			   app->id, domain, app->id, domain),
		    "%s", merge_path);
	CHECK_STATUS(r, 200);
	CHECK(json_is_true(json_object_get(r.json, "noOp")));
	it_resp_free(&r);
	r = it_call(srv, "PATCH", member.token,
		    "{\"servicePortMappings\":[{\"port\":8080,\"domains\":[\"www.example.com\"]}]}",
		    "%s", merge_path);
	CHECK_ERROR(r, 400, "validation.invalid");
	CHECK_STR_EQ(it_json_str(r.json, "field"), "servicePortMappings[0].domains[0]");
	it_resp_free(&r);
	/* Without merge the body is a whole create body. */
	r = it_call(srv, "PATCH", member.token, "{\"replicas\":2}", "%s", path);
	CHECK_ERROR(r, 400, "validation.required");
	it_resp_free(&r);
	r = it_call(srv, "PATCH", member.token, "{\"replicas\":99}", "%s", merge_path);
	CHECK_ERROR(r, 400, "validation.range");
	CHECK_STR_EQ(it_json_str(r.json, "field"), "replicas");
	it_resp_free(&r);
	r = it_call(srv, "PATCH", member.token, "{\"replicas\":2}", "%s", merge_path);
	CHECK_STATUS(r, 202);
	char job[40];
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	work(NULL, job_instructions(job), "replicas 2");
	check_job(job, "app.configure", "completed");
	CHECK_INT_EQ(sent(job, "BUILD_IMAGE"), 0);
	r = it_call(srv, "GET", viewer.token, NULL, "%s/status", path);
	CHECK_INT_EQ(json_integer_value(it_json_get(r.json, "replicas.desired")), 2);
	CHECK_INT_EQ(json_integer_value(it_json_get(r.json, "replicas.ready")), 2);
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "%s", path);
	CHECK_INT_EQ(json_integer_value(json_object_get(r.json, "replicas")), 2);
	CHECK_STR_EQ(it_json_str(r.json, "healthCheckPath"), "/healthz");
	it_resp_free(&r);
	/* A name taken (whatever its case). */
	r = create(member.token,
		   app_body("renamed app", "https://github.com/acme/other", ",\"port\":80"));
	CHECK_ERROR(r, 409, "app.name_taken");
	it_resp_free(&r);
}

/* Every app route with another account's token: 404; a viewer reads but
 * does not write; rotating the webhook secret takes an admin. */
static void tenancy(const struct created *app)
{
	const char *base = it_fmt("%s/%s", apps_path(), app->id);
	char one[128];
	snprintf(one, sizeof(one), "%s", base);
	const struct {
		const char *method, *suffix, *body;
		bool writes;
	} routes[] = {
		{ "GET", "", NULL, false },
		{ "PATCH", "?merge=true", "{\"replicas\":3}", true },
		{ "DELETE", "", NULL, true },
		{ "GET", "/status", NULL, false },
		{ "GET", "/networkAccess", NULL, false },
		{ "GET", "/env-vars", NULL, false },
		{ "POST", "/env-vars", "{\"envVars\":{}}", true },
		{ "GET", "/secret-env-vars", NULL, false },
		{ "POST", "/secret-env-vars", "{\"envVars\":{}}", true },
		{ "GET", "/requires", NULL, false },
		{ "GET", "/dependencies", NULL, false },
		{ "POST", "/deploy", NULL, true },
		{ "POST", "/build", NULL, true },
		{ "GET", "/deployments", NULL, false },
		{ "POST", "/rollback", it_fmt("{\"deploymentId\":\"%s\"}", app->deployment), true },
		{ "POST", "/webhook-secret/rotate", NULL, true },
	};
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		struct it_resp r = it_call(srv, routes[i].method, other.token, routes[i].body,
					   "%s%s", one, routes[i].suffix);
		CHECK_MSG(r.status == 404, "%s as another account: %ld", r.what, r.status);
		it_resp_free(&r);
		r = it_call(srv, routes[i].method, viewer.token, routes[i].body, "%s%s", one,
			    routes[i].suffix);
		if (routes[i].writes)
			CHECK_ERROR(r, 403, "auth.forbidden");
		else
			CHECK_STATUS(r, 200);
		it_resp_free(&r);
	}
	/* Its id in another cluster of the account: not there. */
	struct it_resp r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/apps/%s", owner.aid,
				   pending_cid, app->id);
	CHECK_ERROR(r, 404, "app.not_found");
	it_resp_free(&r);
	r = it_call(srv, "GET", other.token, NULL, "%s", apps_path());
	CHECK_STATUS(r, 404);
	it_resp_free(&r);
	r = create(other.token, app_body("x", "https://github.com/acme/web", ",\"port\":80"));
	CHECK_STATUS(r, 404);
	it_resp_free(&r);
	r = create(viewer.token, app_body("x", "https://github.com/acme/web", ",\"port\":80"));
	CHECK_ERROR(r, 403, "auth.forbidden");
	it_resp_free(&r);
	r = it_call(srv, "POST", member.token, NULL, "%s/webhook-secret/rotate", one);
	CHECK_ERROR(r, 403, "auth.forbidden");
	it_resp_free(&r);
	r = it_call(srv, "POST", owner.token, NULL, "%s/webhook-secret/rotate", one);
	CHECK_STATUS(r, 200);
	const char *secret = it_json_str(r.json, "webhookSecret");
	CHECK_MSG(secret && strncmp(secret, "rnw_", 4) == 0 && strcmp(secret, webhook_secret),
		  "rotated secret %s", secret ? secret : "(none)");
	snprintf(rotated_secret, sizeof(rotated_secret), "%s", secret ? secret : "");
	it_resp_free(&r);
}

/* GET …/logs: read through the control plane while the request waits. */
struct logs_call {
	const struct it_server *s;
	const char *token, *path;
	struct it_resp r;
};

static void *logs_thread(void *arg)
{
	struct logs_call *c = arg;
	c->r = it_call(c->s, "GET", c->token, NULL, "%s", c->path);
	return NULL;
}

static void logs(const struct created *app)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/%s/logs?tail=2&since=15m", apps_path(), app->id);
	/* The answer, while agent-sim answers for the control plane. */
	struct logs_call call = { .s = srv, .token = member.token, .path = path };
	pthread_t t;
	REQUIRE(pthread_create(&t, NULL, logs_thread, &call) == 0);
	it_sleep_ms(300);
	work(NULL, 1, "logs");
	pthread_join(t, NULL);
	CHECK_STATUS(call.r, 200);
	json_t *entries = json_object_get(call.r.json, "entries");
	CHECK_MSG(json_array_size(entries) == 4, "logs: %s", it_body_shown(&call.r));
	size_t i;
	json_t *e;
	json_array_foreach (entries, i, e) {
		const char *pod = it_json_str(e, "podName");
		CHECK_MSG(pod && strncmp(pod, app->osid, strlen(app->osid)) == 0, "pod %s",
			  pod ? pod : "(none)");
		CHECK_STR_EQ(it_json_str(e, "containerName"), "app");
		const char *stamp = it_json_str(e, "timestamp");
		CHECK_MSG(stamp && strlen(stamp) >= 20 && stamp[10] == 'T' &&
				  stamp[strlen(stamp) - 1] == 'Z',
			  "timestamp %s", stamp ? stamp : "(none)");
	}
	/* What kubectl was asked: the app's pods, the tail and since asked. */
	CHECK_MSG(strstr(json_string_value(it_json_get(entries, "0.message")) ?: "",
			 it_fmt("logs -n %s -l runos.io/osid=%s", app->osid, app->osid)) &&
			  strstr(json_string_value(it_json_get(entries, "0.message")) ?: "",
				 "--tail=2 --since=15m"),
		  "kubectl argv: %s", it_body_shown(&call.r));
	it_resp_free(&call.r);

	/* Bad parameters, roles. */
	static const char *const bad[][2] = { { "since=yesterday", "since" },
					      { "pod=postgresql-abcde-1", "pod" },
					      { "tail=0", "tail" } };
	for (size_t k = 0; k < 3; k++) {
		struct it_resp r = it_call(srv, "GET", member.token, NULL, "%s/%s/logs?%s",
					   apps_path(), app->id, bad[k][0]);
		CHECK_STATUS(r, 400);
		CHECK_STR_EQ(it_json_str(r.json, "field"), bad[k][1]);
		it_resp_free(&r);
	}
	struct it_resp r =
		it_call(srv, "GET", viewer.token, NULL, "%s/%s/logs", apps_path(), app->id);
	CHECK_ERROR(r, 403, "auth.forbidden");
	it_resp_free(&r);

	/* No agent answers: 504 after the bounded wait, the job cancelled, and
	 * the waits cost no thread each (20 at once end together, over two
	 * instances whose worker pools are smaller than that). */
	enum {
		WAITING = 20
	};
	struct logs_call calls[WAITING];
	pthread_t threads[WAITING];
	char plain[160];
	snprintf(plain, sizeof(plain), "%s/%s/logs", apps_path(), app->id);
	double start = it_now_ms();
	for (int k = 0; k < WAITING; k++) {
		calls[k] = (struct logs_call){ .s = k % 2 ? srv2 : srv,
					       .token = member.token,
					       .path = plain };
		REQUIRE(pthread_create(&threads[k], NULL, logs_thread, &calls[k]) == 0);
	}
	for (int k = 0; k < WAITING; k++)
		pthread_join(threads[k], NULL);
	double took = it_now_ms() - start;
	for (int k = 0; k < WAITING; k++) {
		CHECK_ERROR(calls[k].r, 504, "agent.timeout");
		const char *job = it_json_str(calls[k].r.json, "jobId");
		if (k == 0 && job)
			check_job(job, "app.logs", "cancelled");
		it_resp_free(&calls[k].r);
	}
	CHECK_MSG(took < 30000, "%d waiting log reads took %.0f ms: they hold threads", WAITING,
		  took);
}

static void delete_app(const struct created *app)
{
	const char *stale[] = { "If-Match: \"999\"", NULL };
	const char *p = it_fmt("%s/%s", apps_path(), app->id);
	char path[128];
	snprintf(path, sizeof(path), "%s", p);
	struct it_req req = {
		.method = "DELETE", .path = path, .token = member.token, .headers = stale
	};
	struct it_resp r;
	it_request(srv, &req, &r);
	CHECK_ERROR(r, 412, "precondition.failed");
	it_resp_free(&r);
	r = it_call(srv, "DELETE", member.token, NULL, "%s", path);
	CHECK_STATUS(r, 202);
	char job[40];
	snprintf(job, sizeof(job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	r = it_call(srv, "GET", viewer.token, NULL, "%s/status", path);
	CHECK_STR_EQ(it_json_str(r.json, "state"), "deleting");
	it_resp_free(&r);
	work(NULL, job_instructions(job), "app delete");
	check_job(job, "app.delete", "completed");
	CHECK_INT_EQ(sent(job, "DELETE_CR"), 1);
	r = it_call(srv, "GET", owner.token, NULL, "%s", path);
	CHECK_ERROR(r, 404, "app.not_found");
	it_resp_free(&r);
	/* Its service is free to go now. */
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/%s/services/postgresql/%s", owner.aid,
		    cid, db_id);
	CHECK_STATUS(r, 202);
	it_resp_free(&r);
}

int main(void)
{
	if (!it_init("it_apps"))
		return 1;
	const char *bin_dir_end = strrchr(it_env.bin, '/');
	snprintf(agent_sim, sizeof(agent_sim), "%.*s/../tests/agent-sim/agent-sim",
		 (int)(bin_dir_end - it_env.bin), it_env.bin);
	CHECK_MSG(access(agent_sim, X_OK) == 0, "%s is not built", agent_sim);
	/* Fewer workers than the log reads that wait at once (logs). */
	static const char *env[] = { "RUNOS_NODE_OFFLINE_AFTER=60", "RUNOS_THREADS=4", NULL };
	srv = it_server_start("apps", env);
	srv2 = it_server_start("apps2", env);
	pg = PQconnectdb(it_env.database_url);
	if (!srv || !srv2 || PQstatus(pg) != CONNECTION_OK || !it_signup(srv, &owner) ||
	    !it_signup(srv, &other) || !it_invite(srv, &owner, &viewer, "viewer") ||
	    !it_invite(srv, &owner, &member, "member"))
		return it_finish("it_apps");
	snprintf(agent_url, sizeof(agent_url), "https://127.0.0.1:%d", it_server_agent_port(srv));
	char *ca = it_agent_ca(pg);
	snprintf(ca_path, sizeof(ca_path), "%s/apps-ca-%d.pem", it_env.tmpdir, (int)getpid());
	snprintf(cp_state, sizeof(cp_state), "%s/apps-cp-%d.jsonl", it_env.tmpdir, (int)getpid());
	snprintf(cr_dir, sizeof(cr_dir), "%s/apps-cr-%d", it_env.tmpdir, (int)getpid());
	mkdir(cr_dir, 0700);
	FILE *f = fopen(ca_path, "w");
	if (f && ca)
		fputs(ca, f);
	if (f)
		fclose(f);
	free(ca);
	not_active();
	if (!active_cluster() || !required_service())
		return it_finish("it_apps");
	bad_inputs();
	foreign_requires();

	struct created app;
	const char *more = it_fmt(",\"servicePortMappings\":[{\"port\":8080},{\"port\":9090}],"
				  "\"healthCheckPath\":\"/healthz\",\"requires\":{\"db\":{\"type\":"
				  "\"postgresql\",\"id\":\"%s\",\"env\":{\"url\":\"DATABASE_URL\","
				  "\"password\":\"DB_PASSWORD\"}}}",
				  db_id);
	char body[1024];
	snprintf(body, sizeof(body), "%s",
		 app_body("My Cool_App!", "https://github.com/acme/web.git", more));
	if (create_ok(body, &app)) {
		struct it_resp dup =
			create(owner.token, app_body("my cool_app!", "https://github.com/acme/x",
						     ",\"port\":1"));
		CHECK_ERROR(dup, 409, "app.name_taken");
		it_resp_free(&dup);
		show(&app);
		char digest[80] = "";
		first_deploy(&app, digest);
		supersede(&app);
		rollback(&app, digest);
		env_vars(&app);
		patch(&app);
		tenancy(&app);
		logs(&app);
		failed_build();
		canary(&app);
		delete_app(&app);
	}
	int failures = it_k8s_validate_dir(cr_dir);
	CHECK_MSG(failures == 0, "the Kubernetes objects sent: %d invalid (or no validator)",
		  failures);
	PQfinish(pg);
	return it_finish("it_apps");
}
