/* Shared by the app handlers (include/api/apps.h): the app of the path, its
 * JSON forms and state, and the rendering of its jobs. Secrets (secret env
 * values, services' credentials, the access token) are opened only to be
 * rendered into sealed instructions, and wiped after. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/apps.h"
#include "api/common.h"
#include "api/services.h"
#include "apps/secrets.h"
#include "crypto/seal.h"
#include "db/app_domains_store.h"
#include "idalloc/ids.h"
#include "runosd.h"
#include "services/catalog.h"
#include "util/timeutil.h"

/* A report older than this says nothing about now (as for services). */
#define REPORT_STALE_US (5 * 60 * 1000000LL)

bool api_load_app(struct request *req, struct cluster *cluster, struct app *out)
{
	if (!api_load_cluster(req, cluster))
		return false;
	const char *id = request_param(req, "id");
	enum db_result r = idalloc_is_short_id(id)
				   ? db_apps_get(req->server->db, request_param(req, "aid"),
						 cluster->cid, id, out)
				   : DB_NOT_FOUND;
	if (r != DB_OK) {
		request_db_error(req, r, "app", id);
		return false;
	}
	return true;
}

void api_app_settings_of(const struct app *a, struct app_settings *out)
{
	app_settings_defaults(out);
	out->name = a->name;
	snprintf(out->dns_name, sizeof(out->dns_name), "%s", a->dns_name);
	snprintf(out->repo_url, sizeof(out->repo_url), "%s", a->repo_url);
	out->branch = a->repo_branch;
	out->nports = a->nports;
	for (size_t i = 0; i < a->nports; i++)
		out->ports[i] = (struct app_port){ .port = a->ports[i] };
	out->replicas = a->replicas;
	out->build_method = a->build_method;
	out->dockerfile = a->dockerfile;
	out->source_dir = a->source_dir;
	out->health_check_path = a->health_check_path[0] ? a->health_check_path : NULL;
	out->health_check_port = a->health_check_port;
	out->cpu_request_mc = a->cpu_request_mc;
	out->memory_request_mb = a->memory_request_mb;
	out->cpu_limit_mc = a->cpu_limit_mc;
	out->memory_limit_mb = a->memory_limit_mb;
	out->deployment_strategy = a->deployment_strategy;
}

struct app_fields api_app_fields_of(const struct app_settings *s, int ports[APP_MAX_PORTS])
{
	for (size_t i = 0; i < s->nports; i++)
		ports[i] = s->ports[i].port;
	return (struct app_fields){ .name = s->name,
				    .dns_name = s->dns_name,
				    .repo_url = s->repo_url,
				    .repo_branch = s->branch,
				    .ports = ports,
				    .nports = s->nports,
				    .replicas = s->replicas,
				    .build_method = s->build_method,
				    .dockerfile = s->dockerfile,
				    .source_dir = s->source_dir,
				    .health_check_path = s->health_check_path,
				    .health_check_port = s->health_check_port,
				    .cpu_request_mc = s->cpu_request_mc,
				    .memory_request_mb = s->memory_request_mb,
				    .cpu_limit_mc = s->cpu_limit_mc,
				    .memory_limit_mb = s->memory_limit_mb,
				    .deployment_strategy = s->deployment_strategy };
}

void api_app_webhook_url(const struct request *req, const char *id, char *out, size_t cap)
{
	snprintf(out, cap, "%s/webhooks/github/%s", req->server->cfg.public_url, id);
}

bool api_app_problem(struct request *req, const struct app_problem *p)
{
	request_error(req, 400, p->code, p->field[0] ? json_pack("{s:s}", "field", p->field) : NULL,
		      "%s", p->message);
	return false;
}

static json_t *int_or_null(int v)
{
	return v ? json_integer(v) : json_null();
}

/* Its state, from its lifecycle and what its cluster reports. */
static const char *state_of(const struct app *a, const char **reason, const char **message)
{
	*reason = "Reported";
	*message = a->reported_message;
	if (strcmp(a->lifecycle, "deleting") == 0) {
		*reason = "DeleteRequested";
		*message = "Its delete job removes it from the cluster";
		return "deleting";
	}
	if (!a->reported_state[0]) {
		*reason = "AwaitingReport";
		*message = "Not reported by the cluster yet: its first deploy is running or "
			   "has not rolled out";
		return "provisioning";
	}
	if (time_now_us() - a->reported_us > REPORT_STALE_US) {
		*reason = "ReportStale";
		*message = "The cluster has not reported its state for over 5 minutes";
		return "unknown";
	}
	return a->reported_state;
}

json_t *api_app_status(const struct app *a)
{
	const char *reason, *message;
	const char *state = state_of(a, &reason, &message);
	bool reported = a->reported_state[0] != 0;
	return json_pack("{s:s, s:s, s:{s:i, s:i}, s:s, s:o}", "state", state, "reason", reason,
			 "replicas", "desired", reported ? a->reported_desired : a->replicas,
			 "ready", reported ? a->reported_ready : 0, "message", message,
			 "reportedAt", reported ? http_json_time(a->reported_us) : json_null());
}

/* [{port, domains:[generated]}] and every generated domain. */
static json_t *port_mappings(const struct cluster *c, const struct app *a, json_t *domains)
{
	json_t *list = json_array();
	for (size_t i = 0; i < a->nports; i++) {
		char fqdn[APP_FQDN_MAX + 1];
		json_t *mine = json_array();
		if (app_generated_domain(a->dns_name, a->id, i, a->ports[i], c->domain, fqdn,
					 sizeof(fqdn))) {
			json_array_append_new(mine, json_string(fqdn));
			json_array_append_new(domains, json_string(fqdn));
		}
		json_array_append_new(
			list, json_pack("{s:i, s:o}", "port", a->ports[i], "domains", mine));
	}
	return list;
}

static json_t *requires_json(const struct app_require_row *rows, size_t n)
{
	json_t *out = json_object();
	for (size_t i = 0; i < n; i++) {
		json_t *env = json_loads(rows[i].env_json, 0, NULL);
		json_object_set_new(out, rows[i].alias,
				    json_pack("{s:s, s:s, s:s, s:o}", "type", rows[i].service_type,
					      "id", rows[i].service_id, "osid",
					      rows[i].service_osid, "env",
					      env ? env : json_object()));
	}
	return out;
}

json_t *api_app_to_json(const struct request *req, const struct cluster *c, const struct app *a,
			const struct app_require_row *requires, size_t nrequires)
{
	char webhook[400];
	api_app_webhook_url(req, a->id, webhook, sizeof(webhook));
	const char *reason, *message;
	json_t *domains = json_array();
	json_t *mappings = port_mappings(c, a, domains);
	json_t *o = json_pack(
		"{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:i, s:o, s:o, s:i, s:s, s:s, s:s, s:o, "
		"s:o, s:s, s:b, s:s, s:s, s:o, s:o}",
		"id", a->id, "osid", a->osid, "name", a->name, "deployType", "git", "repo",
		"provider", "github", "url", a->repo_url, "branch", a->repo_branch, "port",
		a->ports[0], "servicePortMappings", mappings, "domains", domains, "replicas",
		a->replicas, "buildMethod", a->build_method, "dockerfile", a->dockerfile,
		"sourceDir", a->source_dir, "healthCheckPath",
		a->health_check_path[0] ? json_string(a->health_check_path) : json_null(),
		"healthCheckPort", int_or_null(a->health_check_port), "deploymentStrategy",
		a->deployment_strategy, "hasAccessToken", a->has_access_token, "status",
		state_of(a, &reason, &message), "webhookUrl", webhook, "createdAt",
		http_json_time(a->created_us), "updatedAt", http_json_time(a->updated_us));
	json_object_set_new(o, "cpuRequestMc", int_or_null(a->cpu_request_mc));
	json_object_set_new(o, "memoryRequestMb", int_or_null(a->memory_request_mb));
	json_object_set_new(o, "cpuLimitMc", int_or_null(a->cpu_limit_mc));
	json_object_set_new(o, "memoryLimitMb", int_or_null(a->memory_limit_mb));
	if (requires)
		json_object_set_new(o, "requires", requires_json(requires, nrequires));
	return o;
}

static json_t *text_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

json_t *api_deployment_to_json(const struct app_deployment *d)
{
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:o, s:o, s:o, s:o}", "id", d->id,
			 "jobId", text_or_null(d->job_id), "sha", text_or_null(d->sha), "imageTag",
			 text_or_null(d->image_tag), "imageDigest", text_or_null(d->image_digest),
			 "status", d->status, "trigger", d->trigger, "rollbackOf",
			 text_or_null(d->rollback_of), "message", text_or_null(d->message),
			 "createdAt", http_json_time(d->created_us), "finishedAt",
			 d->finished_us ? http_json_time(d->finished_us) : json_null());
}

void api_app_write_error(struct request *req, enum db_result r, const struct app_write_result *w,
			 const char *cid, const char *id)
{
	switch (r == DB_OK || r == DB_CONFLICT ? w->outcome : APP_WRITTEN) {
	case APP_NAME_TAKEN:
		request_error(req, 409, "app.name_taken", json_pack("{s:s}", "field", "name"),
			      "Cluster %s already has an app of that name", cid);
		return;
	case APP_DOMAIN_TAKEN:
		request_error(req, 409, "domain.taken", json_pack("{s:s}", "fqdn", w->taken),
			      "Domain %s belongs to another app", w->taken);
		return;
	case APP_CLUSTER_NOT_ACTIVE:
		request_error(req, 409, "cluster.not_active",
			      json_pack("{s:s}", "status", w->cluster_status),
			      "Cluster %s is %s: apps can be deployed once it is active (a "
			      "control-plane node online)",
			      cid, w->cluster_status);
		return;
	case APP_REQUIRED_GONE: {
		char field[96];
		snprintf(field, sizeof(field), "requires.%s", w->gone_alias ? w->gone_alias : "");
		request_error(req, 400, "validation.invalid", json_pack("{s:s}", "field", field),
			      "Field %s names a service that is gone or being deleted", field);
		return;
	}
	case APP_BUSY:
		request_error(req, 409, "app.busy", json_pack("{s:s}", "jobId", w->busy_job),
			      "App %s is being deleted (job %s)", id, w->busy_job);
		return;
	case APP_KEY_TAKEN:
		request_error(req, 400, "validation.invalid", json_pack("{s:s}", "field", w->taken),
			      "Key %s is already set by %s: a key may be in one place only",
			      w->taken, w->taken_by);
		return;
	case APP_NOT_SUCCEEDED:
		request_error(req, 409, "deployment.not_succeeded",
			      json_pack("{s:s}", "field", "deploymentId"),
			      "Only a deployment that succeeded can be rolled back to");
		return;
	case APP_ID_TAKEN:
	case APP_WRITTEN:
		break;
	}
	api_reply_write_error(req, r, "app", id);
}

bool api_app_live_digest(struct request *req, const struct app *a, const char *cid,
			 char out[APP_ROW_DIGEST_MAX])
{
	out[0] = '\0';
	struct app_deployment *list = NULL;
	size_t n = 0;
	enum db_result r = db_app_deployments_list(req->server->db, request_param(req, "aid"), cid,
						   a->id, 0, NULL, 100, &list, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "app", a->id);
		return false;
	}
	for (size_t i = 0; i < n && !out[0]; i++)
		if (strcmp(list[i].status, "succeeded") == 0)
			snprintf(out, APP_ROW_DIGEST_MAX, "%s", list[i].image_digest);
	free(list);
	return true;
}

/* Whether a service of type in cluster c is installed and reported
 * healthy; false with *failed when it replied. */
static bool service_ready(struct request *req, const struct cluster *c, const char *type,
			  bool *failed)
{
	struct service *rows = NULL;
	size_t n = 0;
	enum db_result r = db_services_list(req->server->db, request_param(req, "aid"), c->cid,
					    type, 0, NULL, 20, &rows, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "service", NULL);
		*failed = true;
		return false;
	}
	bool ready = false;
	for (size_t i = 0; i < n; i++)
		ready |= strcmp(rows[i].lifecycle, "installed") == 0 &&
			 strcmp(rows[i].reported_state, "healthy") == 0;
	free(rows);
	return ready;
}

json_t *api_app_deployment_readiness(struct request *req, const struct cluster *c)
{
	bool failed = false;
	bool harbor = service_ready(req, c, "harbor", &failed);
	bool minio = !failed && service_ready(req, c, "minio", &failed);
	bool buildkit = c->nodes_online > 0;
	if (failed)
		return NULL;
	return json_pack("{s:b, s:b, s:b, s:b}", "ready", harbor && minio && buildkit, "harbor",
			 harbor, "minio", minio, "buildkit", buildkit);
}

/* ---- rendering ----------------------------------------------------------- */

/* The stored env var set, plain (secret: opened); NULL when it replied. */
static json_t *stored_env(struct request *req, const char *cid, const struct app *a, bool secret)
{
	const char *aid = request_param(req, "aid");
	struct app_env_row *rows = NULL;
	size_t n = 0;
	enum db_result r = db_apps_env_list(req->server->db, aid, cid, a->id, secret, &rows, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "app", a->id);
		return NULL;
	}
	json_t *env = json_object();
	for (size_t i = 0; i < n && env; i++) {
		if (!secret) {
			json_object_set_new(env, rows[i].key, json_string(rows[i].value));
			continue;
		}
		char aad[256];
		app_env_aad(aid, cid, a->osid, rows[i].key, aad, sizeof(aad));
		size_t len;
		uint8_t *plain = crypto_unseal(req->server->keys, rows[i].value, aad, &len);
		if (!plain) {
			request_error(req, 500, "internal", NULL,
				      "Secret env var %s of %s cannot be opened", rows[i].key,
				      a->osid);
			api_service_credentials_free(env);
			env = NULL;
			break;
		}
		json_object_set_new(env, rows[i].key, json_stringn((const char *)plain, len));
		crypto_free_secret(plain, len);
	}
	db_app_env_free(rows, n);
	return env;
}

/* Puts into secret_env, for each requires row, the credential fields it
 * names of its service (opened); false when it replied. */
static bool inject_requires(struct request *req, const char *cid,
			    const struct app_require_row *rows, size_t n, json_t *secret_env,
			    const char **osids)
{
	const char *aid = request_param(req, "aid");
	for (size_t i = 0; i < n; i++) {
		struct service svc;
		char *sealed = NULL;
		enum db_result r = db_services_find_osid(req->server->db, aid, cid,
							 rows[i].service_osid, &svc, &sealed);
		const struct service_type *t = r == DB_OK ? catalog_find(svc.type) : NULL;
		json_t *creds = t ? api_service_credentials_open(req, cid, svc.osid, sealed) : NULL;
		free(sealed);
		if (!creds) {
			if (r == DB_OK || r == DB_NOT_FOUND)
				request_error(req, 400, "validation.invalid",
					      json_pack("{s:s}", "field", rows[i].alias),
					      "Required service %s is gone or its credentials "
					      "cannot be opened",
					      rows[i].service_osid);
			else
				request_db_error(req, r, "service", rows[i].service_osid);
			return false;
		}
		json_t *view = service_credentials_view(t, svc.osid, creds);
		json_t *env = json_loads(rows[i].env_json, 0, NULL);
		const char *field;
		json_t *key;
		json_object_foreach (env, field, key) {
			json_t *v = json_object_get(view, field);
			char number[24];
			if (json_is_integer(v))
				snprintf(number, sizeof(number), "%lld",
					 (long long)json_integer_value(v));
			json_object_set_new(secret_env, json_string_value(key),
					    json_is_integer(v)	? json_string(number)
					    : json_is_string(v) ? json_string(json_string_value(v))
								: json_string(""));
		}
		json_decref(env);
		api_service_credentials_free(view);
		api_service_credentials_free(creds);
		osids[i] = rows[i].service_osid;
	}
	return true;
}

/* The access token (plain, to free with crypto_free_secret), or NULL when
 * the app has none; *ok false when it replied. */
static char *stored_access_token(struct request *req, const char *cid, const struct app *a,
				 size_t *len, bool *ok)
{
	*ok = true;
	if (!a->has_access_token)
		return NULL;
	const char *aid = request_param(req, "aid");
	char *sealed = NULL;
	enum db_result r = db_apps_access_token(req->server->db, aid, cid, a->id, &sealed);
	if (r != DB_OK || !sealed) {
		*ok = false;
		request_db_error(req, r == DB_OK ? DB_ERROR : r, "app", a->id);
		return NULL;
	}
	char aad[256];
	app_seal_aad(aid, cid, a->osid, "access-token", aad, sizeof(aad));
	char *plain = (char *)crypto_unseal(req->server->keys, sealed, aad, len);
	free(sealed);
	if (!plain) {
		*ok = false;
		request_error(req, 500, "internal", NULL, "The access token of %s cannot be opened",
			      a->osid);
	}
	return plain;
}

static bool render_build(struct request *req, const struct cluster *c, const struct app *a,
			 const struct app_settings *s, const struct api_app_job *j, int step,
			 struct rendered_job *out)
{
	size_t len = 0;
	bool ok = true;
	char *stored = j->access_token ? NULL : stored_access_token(req, c->cid, a, &len, &ok);
	if (!ok)
		return false;
	struct app_build_spec b = { .aid = request_param(req, "aid"),
				    .osid = a->osid,
				    .cluster_domain = c->domain,
				    .repo_url = s->repo_url,
				    .branch = s->branch,
				    .sha = j->sha,
				    .dockerfile = s->dockerfile,
				    .source_dir = s->source_dir,
				    .access_token = j->access_token ? j->access_token : stored,
				    .job_id = j->job_id,
				    .keys = req->server->keys };
	app_render_build(&b, step, out);
	if (stored)
		crypto_free_secret(stored, len);
	return true;
}

/* The app's verified custom domains as routes (pointing into *rows, to
 * free); false when it replied. */
static bool verified_routes(struct request *req, const char *cid, const struct app *a,
			    struct app_domain **rows, struct app_custom_route *routes, size_t *n)
{
	size_t total = 0;
	*n = 0;
	enum db_result r = db_app_domains_list(req->server->db, request_param(req, "aid"), cid,
					       a->id, rows, &total);
	if (r != DB_OK) {
		request_db_error(req, r, "app", a->id);
		return false;
	}
	for (size_t i = 0; i < total && *n < API_APP_MAX_DOMAINS; i++) {
		bool port = false; /* a port the app no longer has routes nowhere */
		for (size_t k = 0; k < a->nports; k++)
			port |= a->ports[k] == (*rows)[i].port;
		if (port && strcmp((*rows)[i].status, "verified") == 0)
			routes[(*n)++] =
				(struct app_custom_route){ (*rows)[i].fqdn, (*rows)[i].port };
	}
	return true;
}

static bool render_objects(struct request *req, const struct cluster *c, const struct app *a,
			   const struct app_settings *s, const struct api_app_job *j, int step,
			   bool env_only, struct rendered_job *out)
{
	struct app_domain *domains = NULL;
	struct app_custom_route custom[API_APP_MAX_DOMAINS];
	size_t ncustom = 0;
	if (!verified_routes(req, c->cid, a, &domains, custom, &ncustom))
		return false;
	json_t *env = j->env ? json_deep_copy(j->env) : stored_env(req, c->cid, a, false);
	json_t *secret =
		j->secret_env ? json_deep_copy(j->secret_env) : stored_env(req, c->cid, a, true);
	struct app_require_row *stored = NULL;
	size_t n = j->requires ? j->nrequires : 0;
	bool ok = env && secret;
	if (ok && !j->requires) {
		enum db_result r = db_apps_requires(req->server->db, request_param(req, "aid"),
						    c->cid, a->id, &stored, &n);
		if (r != DB_OK) {
			request_db_error(req, r, "app", a->id);
			ok = false;
		}
	}
	const char *osids[APP_MAX_REQUIRES] = { 0 };
	if (n > APP_MAX_REQUIRES)
		n = APP_MAX_REQUIRES;
	ok = ok &&
	     inject_requires(req, c->cid, j->requires ? j->requires : stored, n, secret, osids);
	if (ok) {
		struct app_deploy_spec spec = { .aid = request_param(req, "aid"),
						.cid = c->cid,
						.id = a->id,
						.osid = a->osid,
						.cluster_domain = c->domain,
						.settings = s,
						.image_digest = j->digest,
						.sha = j->sha,
						.deployment_id = j->deployment_id,
						.config_version = j->job_id,
						.env = env,
						.secret_env = secret,
						.required_osids = osids,
						.nrequired = n,
						.custom = custom,
						.ncustom = ncustom };
		char err[256];
		ok = app_render_objects(&spec, env_only, step, j->job_id, req->server->keys, out,
					err, sizeof(err));
		if (!ok)
			request_error(req, 400, "validation.invalid", NULL,
				      "The app's objects cannot be made: %s", err);
	}
	free(stored);
	free(domains);
	json_decref(env);
	api_service_credentials_free(secret);
	return ok;
}

bool api_app_render(struct request *req, const struct cluster *c, const struct app *a,
		    const struct app_settings *s, const struct api_app_job *j,
		    struct rendered_job *out)
{
	memset(out, 0, sizeof(*out));
	/* What goes in which step is the job's plan (server/db/job_steps_store.c):
	 * BUILD_IMAGE in its "build", the objects in its "rollout" (only the
	 * ConfigMap's and Secret's kind for app.env), the namespace's DELETE_CR
	 * in app.delete's "namespace". */
	int build = db_job_step_of(j->type, "build"), rollout = db_job_step_of(j->type, "rollout");
	int removal = strcmp(j->type, "app.delete") == 0 ? db_job_step_of(j->type, "namespace") : 0;
	if (!build && !rollout && !removal) {
		request_error(req, 500, "internal", NULL, "No rendering for job type %s", j->type);
		return false;
	}
	if (build && !render_build(req, c, a, s, j, build, out))
		return false;
	if (removal)
		app_render_delete(a->osid, removal, out);
	return !rollout ||
	       render_objects(req, c, a, s, j, rollout, strcmp(j->type, "app.env") == 0, out);
}
