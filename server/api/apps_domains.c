/* An app's custom domains (docs/apps.md "Custom domains"): added pending
 * with a verification token, checked through DNS (server/apps/dns_check.c)
 * at POST …/verify and by the background verifier (api/domain_verifier.h),
 * and once verified routed by the app's Ingress with a cert-manager
 * Certificate: a verified domain of an app that runs starts an
 * app.configure job, which re-applies the app's objects with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/apps.h"
#include "api/common.h"
#include "api/handlers.h"
#include "apps/dns_check.h"
#include "apps/secrets.h"
#include "db/app_domains_store.h"
#include "idalloc/ids.h"
#include "runosd.h"
#include "util/log.h"

/* Backoff of the checks: 30 s, doubling up to an hour; given up (failed)
 * after DOMAIN_MAX_ATTEMPTS, about two days. */
#define DOMAIN_FIRST_RETRY_S 30
#define DOMAIN_MAX_RETRY_S 3600
#define DOMAIN_MAX_ATTEMPTS 60

int api_domain_retry_after_s(int attempts)
{
	long s = DOMAIN_FIRST_RETRY_S;
	for (int i = 0; i < attempts && s < DOMAIN_MAX_RETRY_S; i++)
		s *= 2;
	return (int)(s < DOMAIN_MAX_RETRY_S ? s : DOMAIN_MAX_RETRY_S);
}

/* The generated domain of the app's port into out ("" when the app has no
 * such port any more). */
static void generated_of(const struct cluster *c, const struct app *a, int port, char *out,
			 size_t cap)
{
	out[0] = '\0';
	for (size_t i = 0; i < a->nports; i++)
		if (a->ports[i] == port &&
		    !app_generated_domain(a->dns_name, a->id, i, port, c->domain, out, cap))
			out[0] = '\0';
}

static json_t *domain_json(const struct cluster *c, const struct app *a, const struct app_domain *d)
{
	char target[APP_FQDN_MAX + 1], txt[APP_FQDN_MAX + 32];
	generated_of(c, a, d->port, target, sizeof(target));
	snprintf(txt, sizeof(txt), "_runos-challenge.%s", d->fqdn);
	return json_pack("{s:s, s:i, s:s, s:{s:s, s:s, s:s, s:{s:s, s:s}}, s:{s:s}, s:o, s:o}",
			 "fqdn", d->fqdn, "port", d->port, "status", d->status, "verification",
			 "type", "CNAME", "name", d->fqdn, "value", target, "txt", "name", txt,
			 "value", d->verification_token, "certificate", "status",
			 d->certificate_status, "checkedAt",
			 d->checked_us ? http_json_time(d->checked_us) : json_null(), "createdAt",
			 http_json_time(d->created_us));
}

/* The domain of the path (:fqdn) of app a into *out; 404 domain.not_found
 * when the app has no such domain. */
static bool load_domain(struct request *req, const struct cluster *c, const struct app *a,
			const char *fqdn, struct app_domain *out)
{
	struct app_domain *rows = NULL;
	size_t n = 0;
	enum db_result r = db_app_domains_list(req->server->db, request_param(req, "aid"), c->cid,
					       a->id, &rows, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "app", a->id);
		return false;
	}
	bool found = false;
	for (size_t i = 0; i < n && !found; i++)
		if (fqdn && strcasecmp(rows[i].fqdn, fqdn) == 0) {
			*out = rows[i];
			found = true;
		}
	free(rows);
	if (!found)
		request_error(req, 404, "domain.not_found", NULL, "App %s has no domain %s", a->id,
			      fqdn ? fqdn : "");
	return found;
}

/* Starts the app.configure job that applies the app's objects with its
 * verified domains, when it runs (a deployment succeeded); *job_id "" when
 * it does not run (its first deploy will). False when it replied. */
static bool configure(struct request *req, const struct cluster *c, const struct app *a,
		      const struct audit_actor *actor, const char *action,
		      char job_id[IDALLOC_UUID_LEN + 1])
{
	job_id[0] = '\0';
	char digest[APP_ROW_DIGEST_MAX];
	if (!api_app_live_digest(req, a, c->cid, digest))
		return false;
	if (!digest[0])
		return true;
	char id[IDALLOC_UUID_LEN + 1];
	idalloc_uuid(id);
	struct api_app_job j = { .type = "app.configure", .job_id = id, .digest = digest };
	struct app_settings s;
	api_app_settings_of(a, &s);
	struct rendered_job rendered;
	bool ok = api_app_render(req, c, a, &s, &j, &rendered);
	if (ok) {
		struct app_job job = { .action = action,
				       .actor = actor,
				       .job_id = id,
				       .type = "app.configure",
				       .list = rendered.items,
				       .n = rendered.n };
		struct app_write_result result;
		enum db_result r = db_apps_start_job(req->server->db, request_param(req, "aid"),
						     c->cid, a->id, &job, &result);
		ok = r == DB_OK && result.outcome == APP_WRITTEN;
		if (ok)
			snprintf(job_id, IDALLOC_UUID_LEN + 1, "%s", id);
		else
			api_app_write_error(req, r, &result, c->cid, a->id);
	}
	rendered_job_free(&rendered);
	return ok;
}

bool api_app_domain_check(struct request *req, const struct cluster *c, const struct app *a,
			  struct app_domain *d, const struct audit_actor *actor)
{
	char target[APP_FQDN_MAX + 1], detail[600] = "the app has no such port any more";
	generated_of(c, a, d->port, target, sizeof(target));
	enum dns_check_result res =
		target[0] ? dns_check_domain(&req->server->cfg.dns_server, d->fqdn, target,
					     d->verification_token, detail, sizeof(detail))
			  : DNS_CHECK_MISMATCH;
	bool verified = res == DNS_CHECK_MATCH;
	bool give_up = !verified && d->attempts + 1 >= DOMAIN_MAX_ATTEMPTS;
	const char *aid = request_param(req, "aid");
	enum db_result r =
		db_app_domains_checked(req->server->db, aid, c->cid, a->id, d->fqdn, verified,
				       give_up, api_domain_retry_after_s(d->attempts));
	/* DB_NOT_FOUND: checked meanwhile (another instance), or deleted;
	 * that check's outcome stands. */
	bool recorded = r == DB_OK;
	if (r != DB_OK && r != DB_NOT_FOUND) {
		request_db_error(req, r, "app", a->id);
		return false;
	}
	log_info("domain %s of %s/%s: %s (%s)", d->fqdn, aid, a->osid,
		 verified		  ? "verified"
		 : res == DNS_CHECK_ERROR ? "no DNS answer"
					  : "not yet",
		 detail);
	if (verified && recorded) {
		char job[IDALLOC_UUID_LEN + 1];
		if (!configure(req, c, a, actor, "app.domain.verified", job))
			return false;
	}
	return load_domain(req, c, a, d->fqdn, d);
}

void api_apps_domains_list(struct request *req)
{
	struct cluster c;
	struct app a;
	if (!api_load_app(req, &c, &a))
		return;
	struct app_domain *rows = NULL;
	size_t n = 0;
	enum db_result r = db_app_domains_list(req->server->db, request_param(req, "aid"), c.cid,
					       a.id, &rows, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "app", a.id);
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, domain_json(&c, &a, &rows[i]));
	free(rows);
	request_reply(req, 200, json_pack("{s:o}", "domains", list));
}

/* The port of the body (default: the app's first) is one of the app's. */
static bool body_port(struct request *req, const struct app *a, int *port)
{
	json_t *v = json_object_get(req->body, "port");
	*port = json_is_integer(v) ? (int)json_integer_value(v) : a->ports[0];
	for (size_t i = 0; i < a->nports; i++)
		if (a->ports[i] == *port)
			return true;
	request_error(req, 400, "validation.invalid", json_pack("{s:s}", "field", "port"),
		      "Field port must be one of the app's ports");
	return false;
}

void api_apps_domains_add(struct request *req)
{
	struct cluster c;
	struct app a;
	int port;
	if (!api_load_app(req, &c, &a) || !body_port(req, &a, &port))
		return;
	const char *reserved[] = { req->server->cfg.base_domain, c.domain };
	char fqdn[APP_FQDN_MAX + 1];
	struct app_problem p;
	if (!app_custom_domain(request_body_string(req, "fqdn"), reserved, 2, "fqdn", fqdn,
			       sizeof(fqdn), &p)) {
		api_app_problem(req, &p);
		return;
	}
	const char *aid = request_param(req, "aid");
	struct app_domain *rows = NULL;
	size_t n = 0;
	enum db_result r = db_app_domains_list(req->server->db, aid, c.cid, a.id, &rows, &n);
	bool mine = false;
	for (size_t i = 0; r == DB_OK && i < n; i++)
		mine |= strcmp(rows[i].fqdn, fqdn) == 0;
	free(rows);
	if (r != DB_OK) {
		request_db_error(req, r, "app", a.id);
		return;
	}
	if (mine) {
		request_error(req, 409, "domain.exists", json_pack("{s:s}", "fqdn", fqdn),
			      "Domain %s is already one of this app's", fqdn);
		return;
	}
	if (n >= API_APP_MAX_DOMAINS) {
		request_error(req, 400, "validation.limit", json_pack("{s:s}", "field", "fqdn"),
			      "An app has at most %d custom domains", API_APP_MAX_DOMAINS);
		return;
	}
	char token[APP_DOMAIN_TOKEN_LEN + 1];
	app_domain_token_new(token);
	struct audit_actor actor = api_actor(req);
	struct app_domain d;
	r = db_app_domains_add(req->server->db, aid, c.cid, a.id, fqdn, port, token, &actor, &d);
	if (r == DB_CONFLICT)
		request_error(req, 409, "domain.taken", json_pack("{s:s}", "fqdn", fqdn),
			      "Domain %s belongs to another app: a domain can be one app's only",
			      fqdn);
	else if (r != DB_OK)
		request_db_error(req, r, "app", a.id);
	else
		request_reply(req, 201, domain_json(&c, &a, &d));
}

void api_apps_domains_verify(struct request *req)
{
	struct cluster c;
	struct app a;
	struct app_domain d;
	if (!api_load_app(req, &c, &a) || !load_domain(req, &c, &a, request_param(req, "fqdn"), &d))
		return;
	if (strcmp(d.status, "verified") == 0) {
		request_reply(req, 200, domain_json(&c, &a, &d));
		return;
	}
	const char *aid = request_param(req, "aid");
	enum db_result r =
		strcmp(d.status, "failed") == 0
			? db_app_domains_reopen(req->server->db, aid, c.cid, a.id, d.fqdn)
			: DB_OK;
	if (r == DB_OK && strcmp(d.status, "failed") == 0) {
		snprintf(d.status, sizeof(d.status), "pending");
		d.attempts = 0;
	}
	if (r != DB_OK && r != DB_NOT_FOUND) {
		request_db_error(req, r, "app", a.id);
		return;
	}
	struct audit_actor actor = api_actor(req);
	if (api_app_domain_check(req, &c, &a, &d, &actor))
		request_reply(req, 200, domain_json(&c, &a, &d));
}

void api_apps_domains_delete(struct request *req)
{
	struct cluster c;
	struct app a;
	struct app_domain d;
	if (!api_load_app(req, &c, &a) || !load_domain(req, &c, &a, request_param(req, "fqdn"), &d))
		return;
	struct audit_actor actor = api_actor(req);
	enum db_result r = db_app_domains_delete(req->server->db, request_param(req, "aid"), c.cid,
						 a.id, d.fqdn, &actor);
	if (r != DB_OK) {
		request_error(req, r == DB_NOT_FOUND ? 404 : 503,
			      r == DB_NOT_FOUND ? "domain.not_found" : "db.unavailable", NULL,
			      "Domain %s could not be removed", d.fqdn);
		return;
	}
	/* A verified domain is routed: the app's objects go again without it. */
	char job[IDALLOC_UUID_LEN + 1] = "";
	if (strcmp(d.status, "verified") == 0 &&
	    !configure(req, &c, &a, &actor, "app.domain.unrouted", job))
		return;
	if (job[0])
		request_reply(req, 202, json_pack("{s:s}", "jobId", job));
	else
		request_reply(req, 204, NULL);
}
