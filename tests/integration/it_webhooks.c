/* POST /webhooks/github/:id as GitHub sends it (its push and ping payloads
 * and headers), against two real server instances sharing one database and
 * Redis:
 *  - a delivery signed with the secret the app's create answered, with
 *    X-Hub-Signature-256 computed here with OpenSSL (not the server's code):
 *    a ping answers 200 {ok, zen}; a push to the tracked branch 202 {jobId,
 *    deploymentId}, a deployment (trigger webhook, sha = after) and a job
 *    app.deploy whose BUILD_IMAGE builds that sha;
 *  - a missing signature, one under another secret and one of another body
 *    are 401 and start nothing; an unknown app is 404;
 *  - another branch, a tag, a branch deletion and another event are 202
 *    {ignored, reason} and start nothing;
 *  - a repeated X-GitHub-Delivery answers 200 with the first answer, also
 *    when 20 repeats arrive at once over the two instances: one deploy;
 *  - a push the server refuses (a bad `after`) gives its delivery up, so the
 *    redelivery is handled; a form-encoded body is 415;
 *  - the limit is per app (RUNOS_RATE_LIMIT_WEBHOOK), not per address: one
 *    app's flood is 429 while another app's deliveries from the same
 *    address pass;
 *  - neither the secret nor the body reaches the server's log.
 * Clusters are made active with SQL, as agents would: no agent is needed to
 * create the jobs, which wait. */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents.h"
#include "harness.h"

#define LIMIT 40
#define CONCURRENT 20

static struct it_server *srv, *srv2;
static struct it_user owner;
static PGconn *pg;
static char cid[8];

struct app {
	char id[8];
	char secret[64];
};

static const char sha_a[] = "4c1f6bd1e0a8c3f2b5d7e9a1c3e5f7091b2d4f60";
static const char sha_b[] = "9e597618cb9102c993b3245f4e7c0843131ce335";
static const char zeros[] = "0000000000000000000000000000000000000000";
/* In every body: it must not reach the log. */
#define CANARY "canary-body-7d3f1"

/* ---- fixtures ----------------------------------------------------------- */

static bool activate(void)
{
	const char *params[] = { owner.aid, cid };
	return it_db_exec(pg,
			  "UPDATE clusters SET status = 'active', configured = true"
			  " WHERE aid = $1 AND cid = $2",
			  2, params);
}

/* An app tracking branch main, made through the API. */
static bool create_app(const char *name, struct app *out)
{
	struct it_resp r =
		it_call(srv, "POST", owner.token,
			it_fmt("{\"name\":\"%s\",\"repo\":{\"provider\":\"github\",\"url\":"
			       "\"https://github.com/acme/%s\",\"branch\":\"main\"},\"port\":8080}",
			       name, name),
			"/%s/%s/apps", owner.aid, cid);
	const char *id = it_json_str(r.json, "id"), *secret = it_json_str(r.json, "webhookSecret");
	bool ok = r.status == 202 && id && secret;
	CHECK_MSG(ok, "create %s: %ld %s", name, r.status, it_body_shown(&r));
	if (ok) {
		snprintf(out->id, sizeof(out->id), "%s", id);
		snprintf(out->secret, sizeof(out->secret), "%s", secret);
		CHECK_STR_EQ(
			it_json_str(r.json, "webhookUrl"),
			it_fmt("http://127.0.0.1:%d/webhooks/github/%s", it_server_port(srv), id));
	}
	it_resp_free(&r);
	return ok;
}

/* "sha256=" + hex HMAC-SHA256 of body under secret, as GitHub signs. */
static void sign(const char *secret, const char *body, char out[80])
{
	unsigned char mac[32];
	size_t n = 0;
	CHECK(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, strlen(secret),
			(const unsigned char *)body, strlen(body), mac, sizeof(mac), &n) != NULL);
	strcpy(out, "sha256=");
	for (size_t i = 0; i < n; i++)
		sprintf(out + 7 + 2 * i, "%02x", mac[i]);
}

static char *push_body(const char *ref, const char *before, const char *after, bool deleted)
{
	return strdup(it_fmt(
		"{\"ref\":\"%s\",\"before\":\"%s\",\"after\":\"%s\",\"created\":false,"
		"\"deleted\":%s,\"forced\":false,\"base_ref\":null,\"compare\":"
		"\"https://github.com/acme/web/compare/%.12s...%.12s\",\"commits\":[],"
		"\"head_commit\":%s,\"repository\":{\"id\":15622705,\"name\":\"web\","
		"\"full_name\":\"acme/web\",\"private\":false,\"html_url\":"
		"\"https://github.com/acme/web\",\"clone_url\":\"https://github.com/acme/web.git\","
		"\"default_branch\":\"main\"},\"pusher\":{\"name\":\"ada\",\"email\":"
		"\"ada@example.com\"},\"sender\":{\"login\":\"ada\",\"id\":1}}",
		ref, before, after, deleted ? "true" : "false", before, after,
		deleted ? "null"
			: it_fmt("{\"id\":\"%s\",\"tree_id\":\"%s\",\"distinct\":true,"
				 "\"message\":\"" CANARY "\",\"timestamp\":"
				 "\"2026-12-08T10:00:00+01:00\",\"url\":"
				 "\"https://github.com/acme/web/commit/%s\",\"author\":{\"name\":"
				 "\"Ada\",\"email\":\"ada@example.com\",\"username\":\"ada\"},"
				 "\"added\":[],\"removed\":[],\"modified\":[\"app.js\"]}",
				 after, after, after)));
}

static const char ping_body[] =
	"{\"zen\":\"Design for failure.\",\"hook_id\":42,\"hook\":{\"type\":\"Repository\","
	"\"id\":42,\"name\":\"web\",\"active\":true,\"events\":[\"push\"],\"config\":{"
	"\"content_type\":\"json\",\"insecure_ssl\":\"0\",\"url\":"
	"\"https://runos.example/webhooks/github/x\"},\"updated_at\":\"2026-12-08T10:00:00Z\","
	"\"created_at\":\"2026-12-08T10:00:00Z\"},\"repository\":{\"id\":15622705,\"full_name\":"
	"\"acme/web\"},\"sender\":{\"login\":\"" CANARY "\",\"id\":1}}";

/* How a delivery is sent: signature of the body under secret (NULL: no
 * header; signed_body: another body's signature). */
struct delivery {
	const struct it_server *to;
	const char *app_id, *event, *id, *body, *secret, *signed_body, *content_type;
};

static struct it_resp deliver(const struct delivery *d)
{
	char signature[80] = "";
	if (d->secret)
		sign(d->secret, d->signed_body ? d->signed_body : d->body, signature);
	char sig[100], event[80], id[140];
	snprintf(sig, sizeof(sig), "X-Hub-Signature-256: %s", signature);
	snprintf(event, sizeof(event), "X-GitHub-Event: %s", d->event ? d->event : "");
	snprintf(id, sizeof(id), "X-GitHub-Delivery: %s", d->id ? d->id : "");
	/* The lines present, in order (a NULL event or id: no such header). */
	const char *headers[5] = { "User-Agent: GitHub-Hookshot/7a3c9f1" };
	int n = 1;
	if (d->event)
		headers[n++] = event;
	if (d->id)
		headers[n++] = id;
	if (d->secret)
		headers[n++] = sig;
	headers[n] = NULL;
	struct it_req req = { .method = "POST",
			      .path = it_fmt("/webhooks/github/%s", d->app_id),
			      .body = d->body,
			      .content_type = d->content_type,
			      .headers = headers };
	struct it_resp r;
	it_request(d->to ? d->to : srv, &req, &r);
	return r;
}

static char delivery_ids[64][40];
static int ndelivery;

/* A new GUID-like delivery id, as GitHub's. */
static const char *new_delivery(void)
{
	char *out = delivery_ids[ndelivery++ % 64];
	snprintf(out, 40, "%08x-%04x-11f0-8a1b-%012x", (unsigned)getpid(), ndelivery,
		 (unsigned)rand());
	return out;
}

static long long deployments(const struct app *a, const char *trigger)
{
	const char *params[] = { owner.aid, cid, a->id, trigger };
	return it_db_count(pg,
			   "SELECT count(*) FROM app_deployments WHERE aid = $1 AND cid = $2"
			   " AND app_id = $3 AND trigger = $4",
			   4, params);
}

/* ---- tests -------------------------------------------------------------- */

static struct app web, other_app;

TEST(ping)
{
	struct delivery d = { .app_id = web.id,
			      .event = "ping",
			      .id = new_delivery(),
			      .body = ping_body,
			      .secret = web.secret };
	struct it_resp r = deliver(&d);
	CHECK_STATUS(r, 200);
	CHECK(json_is_true(it_json_get(r.json, "ok")));
	CHECK_STR_EQ(it_json_str(r.json, "zen"), "Design for failure.");
	it_resp_free(&r);
}

TEST(bad_signatures)
{
	char *body = push_body("refs/heads/main", sha_b, sha_a, false);
	struct delivery d = {
		.app_id = web.id, .event = "push", .id = new_delivery(), .body = body
	};
	struct it_resp r = deliver(&d);
	CHECK_ERROR(r, 401, "webhook.signature_missing");
	it_resp_free(&r);
	d.secret = other_app.secret; /* another app's secret */
	r = deliver(&d);
	CHECK_ERROR(r, 401, "webhook.signature_invalid");
	it_resp_free(&r);
	d.secret = web.secret;
	d.signed_body = ping_body; /* a signature of another body */
	r = deliver(&d);
	CHECK_ERROR(r, 401, "webhook.signature_invalid");
	it_resp_free(&r);
	d.signed_body = NULL;
	d.app_id = "zzzzz"; /* no such app */
	r = deliver(&d);
	CHECK_ERROR(r, 404, "app.not_found");
	it_resp_free(&r);
	d.app_id = "not-an-id";
	r = deliver(&d);
	CHECK_ERROR(r, 404, "app.not_found");
	it_resp_free(&r);
	CHECK_INT_EQ(deployments(&web, "webhook"), 0);
	free(body);
}

TEST(push_deploys_after)
{
	char *body = push_body("refs/heads/main", sha_b, sha_a, false);
	struct delivery d = { .app_id = web.id,
			      .event = "push",
			      .id = new_delivery(),
			      .body = body,
			      .secret = web.secret };
	struct it_resp r = deliver(&d);
	CHECK_STATUS(r, 202);
	const char *job = it_json_str(r.json, "jobId"), *dep = it_json_str(r.json, "deploymentId");
	CHECK(job && it_is_uuid(job));
	CHECK(dep && it_is_uuid(dep));
	CHECK_INT_EQ(json_object_size(r.json), 2);
	if (job && dep) {
		const char *params[] = { owner.aid, cid, web.id, dep, job, sha_a };
		CHECK_INT_EQ(it_db_count(pg,
					 "SELECT count(*) FROM app_deployments WHERE aid = $1"
					 " AND cid = $2 AND app_id = $3 AND id = $4 AND job_id = $5"
					 " AND sha = $6 AND trigger = 'webhook'",
					 6, params),
			     1);
		const char *jp[] = { job, sha_a, owner.aid };
		CHECK_INT_EQ(it_db_count(pg,
					 "SELECT count(*) FROM jobs j JOIN job_steps s ON s.job_id"
					 " = j.id JOIN step_instructions si ON si.step_id = s.id"
					 " WHERE j.id = $1 AND j.aid = $3 AND j.type = 'app.deploy'"
					 " AND si.type = 'BUILD_IMAGE' AND si.payload->>'sha' = $2"
					 " AND si.payload->>'ref' = 'main'",
					 3, jp),
			     1);
		/* Its audit entry names the delivery. */
		const char *ap[] = { owner.aid, it_fmt("github-delivery:%s", d.id) };
		CHECK_INT_EQ(it_db_count(pg,
					 "SELECT count(*) FROM audit_events WHERE aid = $1"
					 " AND actor_type = 'system' AND actor_id = $2",
					 2, ap),
			     1);
	}
	/* The same delivery again: the first answer, no second deploy. */
	struct it_resp again = deliver(&d);
	CHECK_STATUS(again, 200);
	CHECK_STR_EQ(it_json_str(again.json, "jobId"), job);
	CHECK_STR_EQ(it_json_str(again.json, "deploymentId"), dep);
	CHECK_STR_EQ(it_header(&again, "Delivery-Replayed"), "true");
	it_resp_free(&again);
	CHECK_INT_EQ(deployments(&web, "webhook"), 1);
	it_resp_free(&r);
	free(body);
}

static void check_ignored(const char *event, const char *body, const char *reason_has)
{
	struct delivery d = { .app_id = web.id,
			      .event = event,
			      .id = new_delivery(),
			      .body = body,
			      .secret = web.secret };
	struct it_resp r = deliver(&d);
	CHECK_STATUS(r, 202);
	CHECK_MSG(json_is_true(it_json_get(r.json, "ignored")), "%s: not ignored: %s", event,
		  it_body_shown(&r));
	const char *reason = it_json_str(r.json, "reason");
	CHECK_MSG(reason && strstr(reason, reason_has), "%s: reason %s", event,
		  reason ? reason : "(none)");
	it_resp_free(&r);
}

TEST(others_ignored)
{
	long long before = deployments(&web, "webhook");
	char *b = push_body("refs/heads/feature/x", sha_a, sha_b, false);
	check_ignored("push", b, "refs/heads/feature/x is not branch main");
	free(b);
	b = push_body("refs/heads/mainline", sha_a, sha_b, false);
	check_ignored("push", b, "is not branch main");
	free(b);
	b = push_body("refs/tags/v1.0.0", zeros, sha_b, false);
	check_ignored("push", b, "Tag v1.0.0");
	free(b);
	b = push_body("refs/heads/main", sha_a, zeros, true);
	check_ignored("push", b, "deleted");
	free(b);
	b = push_body("refs/heads/main", sha_a, zeros, false); /* after all zeros alone */
	check_ignored("push", b, "deleted");
	free(b);
	check_ignored("issues", "{\"action\":\"opened\",\"issue\":{\"number\":1}}",
		      "Event issues does not deploy");
	CHECK_INT_EQ(deployments(&web, "webhook"), before);
}

TEST(refusals_give_the_delivery_up)
{
	const char *id = new_delivery();
	char *bad = push_body("refs/heads/main", sha_a, "not-a-sha", false);
	struct delivery d = {
		.app_id = web.id, .event = "push", .id = id, .body = bad, .secret = web.secret
	};
	struct it_resp r = deliver(&d);
	CHECK_ERROR(r, 400, "webhook.invalid_payload");
	CHECK_STR_EQ(it_json_str(r.json, "field"), "after");
	it_resp_free(&r);
	/* The redelivery of that id is handled afresh. */
	char *good = push_body("refs/heads/main", sha_a, sha_b, false);
	d.body = good;
	r = deliver(&d);
	CHECK_STATUS(r, 202);
	CHECK(it_json_str(r.json, "jobId") != NULL);
	it_resp_free(&r);
	/* Headers GitHub always sends, and its JSON content type. */
	d.id = NULL;
	r = deliver(&d);
	CHECK_ERROR(r, 400, "webhook.delivery_invalid");
	it_resp_free(&r);
	d.id = new_delivery();
	d.event = NULL;
	r = deliver(&d);
	CHECK_ERROR(r, 400, "webhook.event_missing");
	it_resp_free(&r);
	d.event = "push";
	d.content_type = "application/x-www-form-urlencoded";
	r = deliver(&d);
	CHECK_STATUS(r, 415);
	it_resp_free(&r);
	free(bad);
	free(good);
}

struct racer {
	struct delivery d;
	long status;
	char job[40];
};

static void *race_one(void *arg)
{
	struct racer *x = arg;
	struct it_resp r = deliver(&x->d);
	x->status = r.status;
	snprintf(x->job, sizeof(x->job), "%s", it_json_str(r.json, "jobId") ?: "");
	it_resp_free(&r);
	return NULL;
}

TEST(concurrent_repeats_deploy_once)
{
	struct app a;
	if (!create_app("racer", &a))
		return;
	char *body = push_body("refs/heads/main", sha_b, sha_a, false);
	const char *id = new_delivery();
	struct racer racers[CONCURRENT];
	pthread_t threads[CONCURRENT];
	for (int i = 0; i < CONCURRENT; i++) {
		racers[i] = (struct racer){ .d = { .to = i % 2 ? srv2 : srv,
						   .app_id = a.id,
						   .event = "push",
						   .id = id,
						   .body = body,
						   .secret = a.secret } };
		pthread_create(&threads[i], NULL, race_one, &racers[i]);
	}
	for (int i = 0; i < CONCURRENT; i++)
		pthread_join(threads[i], NULL);
	int first = 0, replayed = 0;
	for (int i = 0; i < CONCURRENT; i++) {
		first += racers[i].status == 202;
		replayed += racers[i].status == 200;
		CHECK_MSG(racers[i].job[0] && strcmp(racers[i].job, racers[0].job) == 0,
			  "racer %d: %ld job %s, racer 0's %s", i, racers[i].status, racers[i].job,
			  racers[0].job);
	}
	CHECK_INT_EQ(first, 1);
	CHECK_INT_EQ(replayed, CONCURRENT - 1);
	CHECK_INT_EQ(deployments(&a, "webhook"), 1);
	free(body);
}

TEST(rate_limit_per_app)
{
	struct app flood, calm;
	if (!create_app("flood", &flood) || !create_app("calm", &calm))
		return;
	long last = 0;
	int passed = 0;
	for (int i = 0; i <= LIMIT; i++) {
		struct delivery d = { .to = i % 2 ? srv2 : srv,
				      .app_id = flood.id,
				      .event = "ping",
				      .id = new_delivery(),
				      .body = ping_body,
				      .secret = flood.secret };
		struct it_resp r = deliver(&d);
		last = r.status;
		passed += r.status == 200;
		if (r.status == 429) {
			CHECK_ERROR(r, 429, "rate_limited");
			CHECK(it_header(&r, "Retry-After") != NULL);
		}
		it_resp_free(&r);
	}
	CHECK_INT_EQ(passed, LIMIT);
	CHECK_INT_EQ(last, 429);
	/* Another app, from the same address: its own limit. */
	struct delivery d = { .app_id = calm.id,
			      .event = "ping",
			      .id = new_delivery(),
			      .body = ping_body,
			      .secret = calm.secret };
	struct it_resp r = deliver(&d);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
}

TEST(nothing_secret_in_the_log)
{
	const struct it_server *servers[] = { srv, srv2 };
	for (int i = 0; i < 2; i++) {
		char *log = it_server_log(servers[i]);
		CHECK(log != NULL);
		CHECK_MSG(log && !strstr(log, web.secret), "the webhook secret is in a log");
		CHECK_MSG(log && !strstr(log, CANARY), "a delivery's body is in a log");
		CHECK_MSG(log && strstr(log, "/webhooks/github/"), "no access log of the webhook");
		free(log);
	}
}

TEST(clean_stop)
{
	CHECK_INT_EQ(it_server_stop(srv), 0);
	CHECK_INT_EQ(it_server_stop(srv2), 0);
}

int main(void)
{
	if (!it_init("it_webhooks"))
		return 1;
	srand((unsigned)getpid());
	static const char *env[] = { "RUNOS_RATE_LIMIT_WEBHOOK=40", NULL };
	srv = it_server_start("webhooks", env);
	srv2 = it_server_start("webhooks2", env);
	pg = PQconnectdb(it_env.database_url);
	if (!srv || !srv2 || PQstatus(pg) != CONNECTION_OK || !it_signup(srv, &owner) ||
	    !it_new_cluster(srv, &owner, "hooks", cid) || !activate() || !create_app("web", &web) ||
	    !create_app("other", &other_app))
		return it_finish("it_webhooks");
	it_secret_add(web.secret);
	it_secret_add(other_app.secret);
	RUN(ping);
	RUN(bad_signatures);
	RUN(push_deploys_after);
	RUN(others_ignored);
	RUN(refusals_give_the_delivery_up);
	RUN(concurrent_repeats_deploy_once);
	RUN(rate_limit_per_app);
	RUN(nothing_secret_in_the_log);
	RUN(clean_stop);
	PQfinish(pg);
	return it_finish("it_webhooks");
}
