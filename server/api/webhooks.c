/* POST /webhooks/github/:id (docs/apps.md "GitHub push webhooks"): GitHub's
 * deliveries for an app, named by its id alone. The order matters: the app
 * (404), its rate limit, the signature over the raw body (401), then the
 * delivery is claimed (a repeat replays the first answer) and handled: a
 * ping answers, a push to the tracked branch deploys `after`, anything else
 * is ignored. Neither the secret nor the body is ever logged. Runs on the
 * request's worker thread; everything it holds is released before it
 * returns. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/apps.h"
#include "api/handlers.h"
#include "apps/secrets.h"
#include "crypto/seal.h"
#include "db/github_deliveries_store.h"
#include "idalloc/ids.h"
#include "runosd.h"
#include "util/log.h"
#include "util/timeutil.h"

/* A repeat that finds the first still running waits for its answer this
 * long (polling the store), then hears 409 and may be redelivered. */
#define IN_FLIGHT_WAIT_MS 5000
#define IN_FLIGHT_POLL_MS 50

#define DELIVERY_ID_MAX 100

static const char zero_sha[] = "0000000000000000000000000000000000000000";

static void ignore(struct request *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 202 {ignored: true, reason}. */
static void ignore(struct request *req, const char *fmt, ...)
{
	char reason[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	request_reply(req, 202, json_pack("{s:b, s:s}", "ignored", true, "reason", reason));
}

static void bad_payload(struct request *req, const char *field, const char *what)
{
	request_error(req, 400, "webhook.invalid_payload", json_pack("{s:s}", "field", field),
		      "The push payload's %s %s", field, what);
}

/* A push: the tracked branch deploys `after`; a tag, another branch or the
 * branch's deletion is ignored. */
static void handle_push(struct request *req, const struct cluster *c, const struct app *a,
			const char *delivery)
{
	const char *ref = request_body_string(req, "ref");
	const char *after = request_body_string(req, "after");
	if (!ref) {
		bad_payload(req, "ref", "is missing (refs/heads/<branch>)");
		return;
	}
	static const char heads[] = "refs/heads/", tags[] = "refs/tags/";
	if (strncmp(ref, tags, sizeof(tags) - 1) == 0) {
		ignore(req, "Tag %s: only pushes to branch %s deploy", ref + sizeof(tags) - 1,
		       a->repo_branch);
		return;
	}
	if (strncmp(ref, heads, sizeof(heads) - 1) != 0 ||
	    strcmp(ref + sizeof(heads) - 1, a->repo_branch) != 0) {
		ignore(req, "%s is not branch %s, the one this app deploys", ref, a->repo_branch);
		return;
	}
	if (json_is_true(json_object_get(req->body, "deleted")) ||
	    (after && strcmp(after, zero_sha) == 0)) {
		ignore(req, "Branch %s was deleted: nothing to deploy", a->repo_branch);
		return;
	}
	if (!after || !app_sha_valid(after)) {
		bad_payload(req, "after", "must be a commit: 40 lower-case hex digits");
		return;
	}
	char job_id[IDALLOC_UUID_LEN + 1], deployment_id[IDALLOC_UUID_LEN + 1];
	idalloc_uuid(job_id);
	idalloc_uuid(deployment_id);
	struct api_app_job j = {
		.type = "app.deploy", .job_id = job_id, .deployment_id = deployment_id, .sha = after
	};
	char actor_id[sizeof("github-delivery:") + DELIVERY_ID_MAX];
	snprintf(actor_id, sizeof(actor_id), "github-delivery:%s", delivery);
	struct audit_actor actor = {
		.type = "system", .id = actor_id, .trace_id = req->trace_id, .ip = req->client_ip
	};
	api_app_start_deploy(req, c, a, &j, "webhook", NULL, &actor);
}

/* The delivery's answer, by its X-GitHub-Event. */
static void handle_event(struct request *req, const struct cluster *c, const struct app *a,
			 const char *event, const char *delivery)
{
	if (strcmp(event, "ping") == 0) {
		json_t *answer = json_pack("{s:b}", "ok", true);
		const char *zen = request_body_string(req, "zen");
		if (zen)
			json_object_set_new(answer, "zen", json_string(zen));
		request_reply(req, 200, answer);
	} else if (strcmp(event, "push") == 0) {
		handle_push(req, c, a, delivery);
	} else {
		ignore(req, "Event %s does not deploy: only push (and ping) are handled", event);
	}
}

static bool delivery_id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n < 1 || n > DELIVERY_ID_MAX)
		return false;
	for (const char *p = id; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return false;
	return true;
}

/* Replays a stored answer: 200 with its body. */
static void replay(struct request *req, const char *body)
{
	json_t *answer = json_loads(body, 0, NULL);
	if (!answer) {
		request_error(req, 500, "internal", NULL, "The stored answer cannot be read");
		return;
	}
	request_set_header(req, "Delivery-Replayed", "true");
	request_reply(req, 200, answer);
}

/* Claims the delivery; false when the request is answered already (a replay,
 * 409 while the first is still running, 503). A repeat that finds the
 * first running waits a bounded while for its answer. */
static bool claim(struct request *req, const char *aid, const char *cid, const char *app_id,
		  const char *delivery)
{
	int64_t deadline = time_mono_ms() + IN_FLIGHT_WAIT_MS;
	for (;;) {
		enum delivery_claim claim;
		int status;
		char *body;
		enum db_result r = db_github_delivery_claim(req->server->db, aid, cid, app_id,
							    delivery, &claim, &status, &body);
		if (r != DB_OK) {
			request_db_error(req, r, "delivery", delivery);
			return false;
		}
		if (claim == DELIVERY_CLAIMED)
			return true;
		if (claim == DELIVERY_ANSWERED) {
			replay(req, body);
			free(body);
			return false;
		}
		if (time_mono_ms() >= deadline) {
			request_set_header(req, "Retry-After", "5");
			request_error(req, 409, "webhook.delivery_in_flight",
				      json_pack("{s:s}", "delivery", delivery),
				      "Delivery %s is still being handled; redeliver it later",
				      delivery);
			return false;
		}
		time_sleep_ms(IN_FLIGHT_POLL_MS);
	}
}

/* Keeps a success for repeats; gives the claim up after a failure, so that
 * GitHub's redelivery is handled afresh. */
static void settle(struct request *req, const char *aid, const char *cid, const char *app_id,
		   const char *delivery)
{
	enum db_result r;
	if (req->status >= 200 && req->status < 300 && req->reply) {
		char *body = json_dumps(req->reply, JSON_COMPACT);
		r = db_github_delivery_answer(req->server->db, aid, cid, app_id, delivery,
					      req->status, body);
		free(body);
	} else {
		r = db_github_delivery_release(req->server->db, aid, cid, app_id, delivery);
	}
	if (r != DB_OK && r != DB_NOT_FOUND)
		log_warn("app %s: delivery %s not settled (db result %d); a repeat may be handled "
			 "again",
			 app_id, delivery, (int)r);
}

/* The app's webhook secret opened (to crypto_free_secret), or NULL when it
 * replied 500. */
static char *open_secret(struct request *req, const char *aid, const char *cid, const struct app *a,
			 const char *sealed, size_t *len)
{
	char aad[256];
	app_seal_aad(aid, cid, a->osid, "webhook-secret", aad, sizeof(aad));
	char *secret = (char *)crypto_unseal(req->server->keys, sealed, aad, len);
	if (!secret) {
		log_error("app %s: its webhook secret does not open", a->id);
		request_error(req, 500, "internal", NULL,
			      "The webhook secret of %s cannot be opened", a->id);
	}
	return secret;
}

/* The signature over the raw body; false when it replied 401. */
static bool signature_ok(struct request *req, const char *secret)
{
	const char *header = request_header(req, "X-Hub-Signature-256");
	size_t len;
	const char *body = request_raw_body(req, &len);
	if (!header) {
		request_error(req, 401, "webhook.signature_missing",
			      json_pack("{s:s}", "reason", "missing"),
			      "Missing X-Hub-Signature-256: set the webhook's secret to the one "
			      "the app was given (POST …/webhook-secret/rotate makes a new one)");
		return false;
	}
	if (!app_webhook_signature_ok(secret, body, len, header)) {
		request_error(req, 401, "webhook.signature_invalid",
			      json_pack("{s:s}", "reason", "invalid"),
			      "X-Hub-Signature-256 does not match the body: it must be sha256= "
			      "and the hex HMAC-SHA256 of the body under the app's webhook secret");
		return false;
	}
	return true;
}

/* The request's headers that name the event and the delivery; false when it
 * replied 400. */
static bool event_headers(struct request *req, const char **event, const char **delivery)
{
	*event = request_header(req, "X-GitHub-Event");
	*delivery = request_header(req, "X-GitHub-Delivery");
	if (!*event || !**event) {
		request_error(req, 400, "webhook.event_missing", NULL,
			      "Missing X-GitHub-Event: which event this delivery is");
		return false;
	}
	if (!delivery_id_ok(*delivery)) {
		request_error(req, 400, "webhook.delivery_invalid", NULL,
			      "X-GitHub-Delivery must be the delivery's id: 1-%d printable "
			      "characters",
			      DELIVERY_ID_MAX);
		return false;
	}
	return true;
}

void api_webhooks_github(struct request *req)
{
	const char *id = request_param(req, "id");
	char aid[8], cid[8];
	struct app found, a;
	struct cluster c;
	char *sealed = NULL, *secret = NULL;
	size_t secret_len = 0;
	const char *event, *delivery;
	char key[64];
	enum db_result r =
		idalloc_is_short_id(id)
			? db_apps_webhook_lookup(req->server->db, id, aid, cid, &found, &sealed)
			: DB_NOT_FOUND;
	if (r != DB_OK) {
		request_db_error(req, r, "app", id);
		goto out;
	}
	/* Per app: GitHub sends every repository's deliveries from the same
	 * few addresses. Before the signature, so forgeries are limited too. */
	snprintf(key, sizeof(key), "webhook:%s", found.id);
	if (!request_rate_limit(req, key, req->server->cfg.rate_limit_webhook_per_minute))
		goto out;
	if (!(secret = open_secret(req, aid, cid, &found, sealed, &secret_len)) ||
	    !signature_ok(req, secret) || !event_headers(req, &event, &delivery))
		goto out;
	/* The app's account and cluster as the path's, for the app helpers;
	 * loaded again under them (the cluster too). */
	if (!request_add_param(req, "aid", aid) || !request_add_param(req, "cid", cid)) {
		request_error(req, 500, "internal", NULL, "Internal error");
		goto out;
	}
	if (!api_load_app(req, &c, &a) || !claim(req, aid, cid, a.id, delivery))
		goto out;
	handle_event(req, &c, &a, event, delivery);
	settle(req, aid, cid, a.id, delivery);
out:
	free(sealed);
	if (secret)
		crypto_free_secret(secret, secret_len);
}
