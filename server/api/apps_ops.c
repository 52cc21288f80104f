/* What is done to an app after it is made (API.md §7, docs/apps.md): deploys
 * (a build and rollout, a build alone, a rollback), its deployments, its
 * state and addresses, its env var sets, what it requires, and its webhook
 * secret. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/apps.h"
#include "api/common.h"
#include "api/handlers.h"
#include "apps/secrets.h"
#include "crypto/seal.h"
#include "db/services_store.h"
#include "idalloc/ids.h"
#include "runosd.h"

static const char *aid_of(struct request *req)
{
	return request_param(req, "aid");
}

/* The sha of the body when there is one: 40 lower-case hex; false when it
 * replied 400. */
static bool body_sha(struct request *req, const char **sha)
{
	*sha = request_body_string(req, "sha");
	if (!*sha || app_sha_valid(*sha))
		return true;
	request_error(req, 400, "validation.invalid", json_pack("{s:s}", "field", "sha"),
		      "Field sha must be a commit: 40 lower-case hex digits");
	return false;
}

void api_app_start_deploy(struct request *req, const struct cluster *c, const struct app *a,
			  const struct api_app_job *j, const char *trigger, const char *rollback_of,
			  const struct audit_actor *actor)
{
	struct app_settings s;
	api_app_settings_of(a, &s);
	struct rendered_job rendered;
	if (!api_app_render(req, c, a, &s, j, &rendered)) {
		rendered_job_free(&rendered);
		return;
	}
	char tag[APP_ROW_IMAGE_TAG_MAX];
	app_image_tag(c->domain, a->osid, j->sha ? j->sha : APP_IMAGE_SHA_PLACEHOLDER, tag,
		      sizeof(tag));
	struct app_job job = { .action = rollback_of ? "app.rollback" : "app.deploy",
			       .actor = actor,
			       .job_id = j->job_id,
			       .type = j->type,
			       .list = rendered.items,
			       .n = rendered.n,
			       .deployment_id = j->deployment_id,
			       .trigger = trigger,
			       .sha = j->sha,
			       .rollback_of = rollback_of,
			       .image_tag = rollback_of ? NULL : tag };
	struct app_write_result result;
	enum db_result r =
		db_apps_deploy(req->server->db, aid_of(req), c->cid, a->id, &job, &result);
	rendered_job_free(&rendered);
	if (r == DB_NOT_FOUND && rollback_of)
		request_error(req, 404, "deployment.not_found",
			      json_pack("{s:s}", "field", "deploymentId"),
			      "App %s has no deployment %s", a->id, rollback_of);
	else if (r != DB_OK || result.outcome != APP_WRITTEN)
		api_app_write_error(req, r, &result, c->cid, a->id);
	else
		request_reply(req, 202,
			      json_pack("{s:s, s:s}", "jobId", j->job_id, "deploymentId",
					j->deployment_id));
}

void api_apps_deploy(struct request *req)
{
	struct cluster c;
	struct app a;
	const char *sha;
	if (!api_load_app(req, &c, &a) || !body_sha(req, &sha))
		return;
	char job_id[IDALLOC_UUID_LEN + 1], deployment_id[IDALLOC_UUID_LEN + 1];
	idalloc_uuid(job_id);
	idalloc_uuid(deployment_id);
	struct api_app_job j = {
		.type = "app.deploy", .job_id = job_id, .deployment_id = deployment_id, .sha = sha
	};
	struct audit_actor actor = api_actor(req);
	api_app_start_deploy(req, &c, &a, &j, "api", NULL, &actor);
}

void api_apps_rollback(struct request *req)
{
	struct cluster c;
	struct app a;
	if (!api_load_app(req, &c, &a))
		return;
	const char *source = request_body_string(req, "deploymentId");
	struct app_deployment d;
	enum db_result r = idalloc_is_uuid(source)
				   ? db_app_deployments_get(req->server->db, aid_of(req), c.cid,
							    a.id, source, &d)
				   : DB_NOT_FOUND;
	if (r == DB_NOT_FOUND) {
		request_error(req, 404, "deployment.not_found",
			      json_pack("{s:s}", "field", "deploymentId"),
			      "App %s has no deployment %s: GET …/deployments lists them", a.id,
			      source);
		return;
	}
	if (r != DB_OK) {
		request_db_error(req, r, "deployment", source);
		return;
	}
	if (strcmp(d.status, "succeeded") != 0) {
		request_error(req, 409, "deployment.not_succeeded",
			      json_pack("{s:s, s:s}", "field", "deploymentId", "status", d.status),
			      "Deployment %s %s: only one that succeeded can be rolled back to",
			      source, d.status);
		return;
	}
	char job_id[IDALLOC_UUID_LEN + 1], deployment_id[IDALLOC_UUID_LEN + 1];
	idalloc_uuid(job_id);
	idalloc_uuid(deployment_id);
	struct api_app_job j = { .type = "app.rollback",
				 .job_id = job_id,
				 .deployment_id = deployment_id,
				 .sha = d.sha[0] ? d.sha : NULL,
				 .digest = d.image_digest };
	struct audit_actor actor = api_actor(req);
	api_app_start_deploy(req, &c, &a, &j, "rollback", source, &actor);
}

void api_apps_build(struct request *req)
{
	struct cluster c;
	struct app a;
	const char *sha;
	if (!api_load_app(req, &c, &a) || !body_sha(req, &sha))
		return;
	char job_id[IDALLOC_UUID_LEN + 1];
	idalloc_uuid(job_id);
	struct api_app_job j = { .type = "app.build", .job_id = job_id, .sha = sha };
	struct app_settings s;
	api_app_settings_of(&a, &s);
	struct rendered_job rendered;
	if (!api_app_render(req, &c, &a, &s, &j, &rendered)) {
		rendered_job_free(&rendered);
		return;
	}
	struct audit_actor actor = api_actor(req);
	struct app_job job = { .action = "app.build",
			       .actor = &actor,
			       .job_id = job_id,
			       .type = "app.build",
			       .list = rendered.items,
			       .n = rendered.n };
	struct app_write_result result;
	enum db_result r =
		db_apps_start_job(req->server->db, aid_of(req), c.cid, a.id, &job, &result);
	rendered_job_free(&rendered);
	if (r != DB_OK || result.outcome != APP_WRITTEN)
		api_app_write_error(req, r, &result, c.cid, a.id);
	else
		request_reply(req, 202, json_pack("{s:s}", "jobId", job_id));
}

void api_apps_deployments(struct request *req)
{
	struct cluster c;
	struct app a;
	int limit;
	struct api_cursor cursor;
	if (!api_load_app(req, &c, &a) || !api_list_params(req, idalloc_is_uuid, &limit, &cursor))
		return;
	struct app_deployment *rows;
	size_t n;
	enum db_result r =
		db_app_deployments_list(req->server->db, aid_of(req), c.cid, a.id, cursor.after_us,
					cursor.after_id, limit + 1, &rows, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "app", a.id);
		return;
	}
	bool more = api_page_trim(&n, limit);
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, api_deployment_to_json(&rows[i]));
	char next[API_CURSOR_MAX];
	if (more)
		api_next_cursor(rows[n - 1].created_us, rows[n - 1].id, next);
	free(rows);
	api_reply_page(req, json_pack("{s:o}", "deployments", items), "cursor", more ? next : NULL);
}

void api_apps_status(struct request *req)
{
	struct cluster c;
	struct app a;
	if (api_load_app(req, &c, &a))
		request_reply(req, 200, api_app_status(&a));
}

void api_apps_network_access(struct request *req)
{
	struct cluster c;
	struct app a;
	if (!api_load_app(req, &c, &a))
		return;
	json_t *list = json_array();
	for (size_t i = 0; i < a.nports; i++) {
		char type[48], link[APP_FQDN_MAX + 16], fqdn[APP_FQDN_MAX + 1];
		if (app_generated_domain(a.dns_name, a.id, i, a.ports[i], c.domain, fqdn,
					 sizeof(fqdn))) {
			snprintf(type, sizeof(type), "RUNOS_PUBLIC_%d", a.ports[i]);
			snprintf(link, sizeof(link), "https://%s", fqdn);
			json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "type", type,
							      "name", fqdn, "link", link));
		}
		snprintf(type, sizeof(type), "IN_CLUSTER_%d", a.ports[i]);
		snprintf(fqdn, sizeof(fqdn), "%s.%s.svc.cluster.local", a.osid, a.osid);
		snprintf(link, sizeof(link), "http://%s:%d", fqdn, a.ports[i]);
		json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "type", type, "name", fqdn,
						      "link", link));
	}
	request_reply(req, 200, list);
}

/* ---- env var sets -------------------------------------------------------- */

static bool is_secret_set(const struct request *req)
{
	return strstr(req->route->pattern, "/secret-env-vars") != NULL;
}

void api_apps_env_get(struct request *req)
{
	struct cluster c;
	struct app a;
	if (!api_load_app(req, &c, &a))
		return;
	bool secret = is_secret_set(req);
	struct app_env_row *rows = NULL;
	size_t n = 0;
	enum db_result r =
		db_apps_env_list(req->server->db, aid_of(req), c.cid, a.id, secret, &rows, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "app", a.id);
		return;
	}
	json_t *vars = json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set_new(vars, rows[i].key,
				    secret ? json_pack("{s:b}", "set", true)
					   : json_string(rows[i].value));
	db_app_env_free(rows, n);
	request_reply(req, 200, json_pack("{s:o}", "envVars", vars));
}

/* Replaces a set: rendered first (the ConfigMap or Secret with the new set,
 * the Deployment again when the app runs, so its pods restart), then
 * written with its job. Secret values are sealed one by one. */
void api_apps_env_set(struct request *req)
{
	struct cluster c;
	struct app a;
	if (!api_load_app(req, &c, &a))
		return;
	bool secret = is_secret_set(req);
	const json_t *vars = json_object_get(req->body, "envVars");
	struct app_problem p;
	if (!app_env_set_check(vars, "envVars", &p)) {
		api_app_problem(req, &p);
		return;
	}
	char digest[APP_ROW_DIGEST_MAX];
	if (!api_app_live_digest(req, &a, c.cid, digest))
		return;
	char job_id[IDALLOC_UUID_LEN + 1];
	idalloc_uuid(job_id);
	const char *type = digest[0] ? "app.configure" : "app.env";
	struct api_app_job j = { .type = type,
				 .job_id = job_id,
				 .digest = digest[0] ? digest : NULL,
				 .env = secret ? NULL : vars,
				 .secret_env = secret ? vars : NULL };
	struct app_settings s;
	api_app_settings_of(&a, &s);
	struct rendered_job rendered;
	if (!api_app_render(req, &c, &a, &s, &j, &rendered)) {
		rendered_job_free(&rendered);
		return;
	}
	size_t n = json_object_size(vars), k = 0;
	struct app_env_var *list = calloc(n ? n : 1, sizeof(*list));
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)vars, key, v) {
		const char *value = json_string_value(v);
		char *sealed = NULL;
		if (secret) {
			char aad[256];
			app_env_aad(aid_of(req), c.cid, a.osid, key, aad, sizeof(aad));
			sealed = crypto_seal(req->server->keys, value, strlen(value), aad);
		}
		list[k++] = (struct app_env_var){ key, secret ? sealed : value };
	}
	struct audit_actor actor = api_actor(req);
	struct app_job job = { .action = secret ? "app.secret_env.set" : "app.env.set",
			       .actor = &actor,
			       .job_id = job_id,
			       .type = type,
			       .list = rendered.items,
			       .n = rendered.n };
	struct app_write_result result;
	enum db_result r = db_apps_env_replace(req->server->db, aid_of(req), c.cid, a.id, secret,
					       list, k, &job, &result);
	rendered_job_free(&rendered);
	for (size_t i = 0; secret && i < k; i++)
		free((char *)list[i].value);
	free(list);
	if (r != DB_OK || result.outcome != APP_WRITTEN)
		api_app_write_error(req, r, &result, c.cid, a.id);
	else
		request_reply(req, 202, json_pack("{s:s}", "jobId", job_id));
}

/* ---- what it requires ---------------------------------------------------- */

static bool load_requires(struct request *req, const struct cluster *c, const struct app *a,
			  struct app_require_row **rows, size_t *n)
{
	enum db_result r = db_apps_requires(req->server->db, aid_of(req), c->cid, a->id, rows, n);
	if (r != DB_OK)
		request_db_error(req, r, "app", a->id);
	return r == DB_OK;
}

void api_apps_requires(struct request *req)
{
	struct cluster c;
	struct app a;
	struct app_require_row *rows = NULL;
	size_t n = 0;
	if (!api_load_app(req, &c, &a) || !load_requires(req, &c, &a, &rows, &n))
		return;
	json_t *o = api_app_to_json(req, &c, &a, rows, n);
	request_reply(req, 200, json_pack("{s:O}", "requires", json_object_get(o, "requires")));
	json_decref(o);
	free(rows);
}

void api_apps_dependencies(struct request *req)
{
	struct cluster c;
	struct app a;
	struct app_require_row *rows = NULL;
	size_t n = 0;
	if (!api_load_app(req, &c, &a) || !load_requires(req, &c, &a, &rows, &n))
		return;
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		struct service svc;
		enum db_result r = db_services_get(req->server->db, aid_of(req), c.cid,
						   rows[i].service_id, &svc);
		json_array_append_new(list,
				      json_pack("{s:s, s:s, s:s, s:s, s:s}", "alias", rows[i].alias,
						"type", rows[i].service_type, "id",
						rows[i].service_id, "osid", rows[i].service_osid,
						"lifecycle", r == DB_OK ? svc.lifecycle : "gone"));
	}
	free(rows);
	request_reply(req, 200, json_pack("{s:o}", "dependencies", list));
}

void api_apps_webhook_rotate(struct request *req)
{
	struct cluster c;
	struct app a;
	if (!api_load_app(req, &c, &a))
		return;
	char secret[APP_WEBHOOK_SECRET_LEN + 1], aad[256];
	app_webhook_secret_new(secret);
	app_seal_aad(aid_of(req), c.cid, a.osid, "webhook-secret", aad, sizeof(aad));
	char *sealed = crypto_seal(req->server->keys, secret, strlen(secret), aad);
	struct audit_actor actor = api_actor(req);
	enum db_result r =
		db_apps_webhook_rotate(req->server->db, aid_of(req), c.cid, a.id, sealed, &actor);
	free(sealed);
	if (r != DB_OK) {
		request_db_error(req, r, "app", a.id);
	} else {
		char webhook[400];
		api_app_webhook_url(req, a.id, webhook, sizeof(webhook));
		request_reply(
			req, 200,
			json_pack("{s:s, s:s, s:s}", "webhookUrl", webhook, "webhookSecret", secret,
				  "warning",
				  "Store the secret in the repository's webhook settings now: "
				  "it is not shown again"));
	}
	explicit_bzero(secret, sizeof(secret));
}
