/* /:aid/:cid/apps and /:aid/:cid/apps/:id (API.md §7, docs/apps.md): create
 * (the app, its first deploy of the branch head), list, show, change (PATCH,
 * ?merge=true keeps what is not sent) and delete. */
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
#include "services/catalog.h"

#define CREATE_ATTEMPTS 5

static const char *aid_of(struct request *req)
{
	return request_param(req, "aid");
}

/* The requires input resolved to services of the cluster: rows (for the
 * render and the answer) and requirements (for the store). */
struct requires_in {
	struct app_require_row rows[APP_MAX_REQUIRES];
	struct app_requirement list[APP_MAX_REQUIRES];
	size_t n;
};

static bool resolve_requires(struct request *req, const struct cluster *c, struct requires_in *out)
{
	out->n = 0;
	const json_t *requires = json_object_get(req->body, "requires");
	if (!requires)
		return true;
	struct app_problem p;
	json_t *injected = NULL;
	if (!app_requires_check(requires, &injected, &p))
		return api_app_problem(req, &p);
	json_decref(injected);
	const char *alias;
	json_t *r;
	json_object_foreach ((json_t *) requires, alias, r) {
		const char *type = json_string_value(json_object_get(r, "type"));
		const char *id = json_string_value(json_object_get(r, "id"));
		struct service svc;
		enum db_result res =
			idalloc_is_short_id(id)
				? db_services_get(req->server->db, aid_of(req), c->cid, id, &svc)
				: DB_NOT_FOUND;
		if (res == DB_OK && strcmp(svc.type, type) != 0)
			res = DB_NOT_FOUND;
		char field[96];
		snprintf(field, sizeof(field), "requires.%s.id", alias);
		if (res == DB_NOT_FOUND ||
		    (res == DB_OK && strcmp(svc.lifecycle, "deleting") == 0)) {
			request_error(req, 400, "validation.invalid",
				      json_pack("{s:s}", "field", field),
				      "Field %s names no %s service of cluster %s that is not "
				      "being deleted",
				      field, type, c->cid);
			return false;
		}
		if (res != DB_OK) {
			request_db_error(req, res, "service", id);
			return false;
		}
		struct app_require_row *row = &out->rows[out->n];
		memset(row, 0, sizeof(*row));
		snprintf(row->alias, sizeof(row->alias), "%s", alias);
		snprintf(row->service_id, sizeof(row->service_id), "%s", svc.id);
		snprintf(row->service_osid, sizeof(row->service_osid), "%s", svc.osid);
		snprintf(row->service_type, sizeof(row->service_type), "%s", svc.type);
		char *env = json_dumps(json_object_get(r, "env"), JSON_COMPACT | JSON_SORT_KEYS);
		snprintf(row->env_json, sizeof(row->env_json), "%s", env ? env : "{}");
		free(env);
		out->list[out->n] =
			(struct app_requirement){ row->alias, row->service_id, row->env_json };
		out->n++;
	}
	return true;
}

/* The custom domains of the ports, normalised, each with its TXT token. */
struct domains_in {
	char fqdn[APP_MAX_PORTS * APP_MAX_PORT_DOMAINS][APP_FQDN_MAX + 1];
	char token[APP_MAX_PORTS * APP_MAX_PORT_DOMAINS][APP_DOMAIN_TOKEN_LEN + 1];
	struct app_domain_input list[APP_MAX_PORTS * APP_MAX_PORT_DOMAINS];
	size_t n;
};

static void collect_domains(struct request *req, const struct app_settings *s,
			    struct domains_in *out)
{
	const char *reserved[] = { req->server->cfg.base_domain };
	out->n = 0;
	for (size_t i = 0; i < s->nports; i++)
		for (size_t d = 0; d < s->ports[i].ndomains; d++) {
			size_t k = out->n;
			struct app_problem p;
			if (!app_custom_domain(s->ports[i].domains[d], reserved, 1, "domain",
					       out->fqdn[k], sizeof(out->fqdn[k]), &p))
				continue; /* app_settings_apply checked them */
			app_domain_token_new(out->token[k]);
			out->list[k] = (struct app_domain_input){ out->fqdn[k], s->ports[i].port,
								  out->token[k] };
			out->n++;
		}
}

static json_t *create_warnings(const struct app_settings *s, const json_t *readiness)
{
	json_t *w = json_array();
	if (readiness && !json_is_true(json_object_get(readiness, "harbor")))
		json_array_append_new(
			w, json_string("Harbor is not installed and healthy in this cluster: the "
				       "build has no registry to push to until it is (POST "
				       "…/services/harbor; GET …/is-app-deployment-ready)"));
	if (readiness && !json_is_true(json_object_get(readiness, "buildkit")))
		json_array_append_new(w, json_string("No node of this cluster is online: the build "
						     "waits for one"));
	if (!s->health_check_path)
		json_array_append_new(
			w, json_string("No healthCheckPath: a pod counts as ready as soon as it "
				       "runs, so a deploy that starts but does not serve still "
				       "succeeds"));
	if (s->replicas == 1 && strcmp(s->deployment_strategy, "recreate") == 0)
		json_array_append_new(w, json_string("One replica with the recreate strategy: "
						     "every deploy has a moment of downtime"));
	return w;
}

struct create_in {
	struct cluster c;
	json_t *readiness; /* is-app-deployment-ready's, for the warnings */
	struct app_settings s;
	struct requires_in requires;
	struct domains_in domains;
};

static char *seal_for(struct request *req, const char *cid, const char *osid, const char *what,
		      const char *plain)
{
	char aad[256];
	app_seal_aad(aid_of(req), cid, osid, what, aad, sizeof(aad));
	return crypto_seal(req->server->keys, plain, strlen(plain), aad);
}

/* Writes the app under a new id; false when the id was taken (draw again).
 * Replies in every other case. */
static bool create_once(struct request *req, struct create_in *in)
{
	struct app a = { 0 };
	char job_id[IDALLOC_UUID_LEN + 1], deployment_id[IDALLOC_UUID_LEN + 1];
	idalloc_short_id(a.id);
	snprintf(a.osid, sizeof(a.osid), "app-%s", a.id);
	idalloc_uuid(job_id);
	idalloc_uuid(deployment_id);
	json_t *none = json_object();
	struct api_app_job j = { .type = "app.deploy",
				 .job_id = job_id,
				 .deployment_id = deployment_id,
				 .access_token = in->s.access_token,
				 .env = none,
				 .secret_env = none,
				 .requires = in->requires.rows,
				 .nrequires = in->requires.n };
	struct rendered_job rendered;
	bool ok = api_app_render(req, &in->c, &a, &in->s, &j, &rendered);
	json_decref(none);
	if (!ok) {
		rendered_job_free(&rendered);
		return true;
	}
	char secret[APP_WEBHOOK_SECRET_LEN + 1], tag[APP_ROW_IMAGE_TAG_MAX];
	app_webhook_secret_new(secret);
	app_image_tag(in->c.domain, a.osid, APP_IMAGE_SHA_PLACEHOLDER, tag, sizeof(tag));
	char *sealed_secret = seal_for(req, in->c.cid, a.osid, "webhook-secret", secret);
	char *sealed_token = in->s.access_token ? seal_for(req, in->c.cid, a.osid, "access-token",
							   in->s.access_token)
						: NULL;
	struct audit_actor actor = api_actor(req);
	int ports[APP_MAX_PORTS];
	struct app_create create = { .aid = aid_of(req),
				     .cid = in->c.cid,
				     .id = a.id,
				     .fields = api_app_fields_of(&in->s, ports),
				     .sealed_access_token = sealed_token,
				     .sealed_webhook_secret = sealed_secret,
				     .requires = in->requires.list,
				     .nrequires = in->requires.n,
				     .domains = in->domains.list,
				     .ndomains = in->domains.n,
				     .job = { .action = "app.create",
					      .actor = &actor,
					      .job_id = job_id,
					      .type = "app.deploy",
					      .list = rendered.items,
					      .n = rendered.n,
					      .deployment_id = deployment_id,
					      .trigger = "api",
					      .image_tag = tag } };
	struct app out;
	struct app_write_result result;
	enum db_result r = db_apps_create(req->server->db, &create, &out, &result);
	rendered_job_free(&rendered);
	free(sealed_secret);
	free(sealed_token);
	if (r == DB_CONFLICT && result.outcome == APP_ID_TAKEN) {
		explicit_bzero(secret, sizeof(secret));
		return false;
	}
	if (r != DB_OK || result.outcome != APP_WRITTEN) {
		api_app_write_error(req, r, &result, in->c.cid, a.id);
	} else {
		char webhook[400];
		api_app_webhook_url(req, out.id, webhook, sizeof(webhook));
		api_set_etag(req, out.version_n);
		request_reply(req, 202,
			      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "jobId", job_id,
					"deploymentId", deployment_id, "id", out.id, "osid",
					out.osid, "webhookUrl", webhook, "webhookSecret", secret,
					"warnings", create_warnings(&in->s, in->readiness)));
	}
	explicit_bzero(secret, sizeof(secret));
	return true;
}

void api_apps_create(struct request *req)
{
	struct create_in *in = calloc(1, sizeof(*in));
	if (!in || !api_load_cluster(req, &in->c)) {
		if (!in)
			request_error(req, 500, "internal", NULL, "Out of memory");
		free(in);
		return;
	}
	app_settings_defaults(&in->s);
	const char *reserved[] = { req->server->cfg.base_domain };
	struct app_problem p;
	if (!app_settings_apply(&in->s, req->body, reserved, 1, &p)) {
		api_app_problem(req, &p);
	} else if (resolve_requires(req, &in->c, &in->requires) &&
		   (in->readiness = api_app_deployment_readiness(req, &in->c))) {
		collect_domains(req, &in->s, &in->domains);
		int attempt = 0;
		while (attempt++ < CREATE_ATTEMPTS && !create_once(req, in))
			;
		if (attempt > CREATE_ATTEMPTS)
			request_error(req, 503, "unavailable", NULL,
				      "No free app id after %d draws: try again", CREATE_ATTEMPTS);
	}
	json_decref(in->readiness);
	free(in);
}

void api_apps_list(struct request *req)
{
	struct cluster c;
	int limit;
	struct api_cursor cursor;
	if (!api_load_cluster(req, &c) ||
	    !api_list_params(req, idalloc_is_short_id, &limit, &cursor))
		return;
	struct app *rows;
	size_t n;
	enum db_result r = db_apps_list(req->server->db, aid_of(req), c.cid, cursor.after_us,
					cursor.after_id, limit + 1, &rows, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "app", NULL);
		return;
	}
	bool more = api_page_trim(&n, limit);
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, api_app_to_json(req, &c, &rows[i], NULL, 0));
	char next[API_CURSOR_MAX];
	if (more)
		api_next_cursor(rows[n - 1].created_us, rows[n - 1].id, next);
	free(rows);
	api_reply_page(req, json_pack("{s:o}", "apps", items), "cursor", more ? next : NULL);
}

void api_apps_get(struct request *req)
{
	struct cluster c;
	struct app a;
	if (!api_load_app(req, &c, &a))
		return;
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%d\"", a.version_n);
	struct app_require_row *rows = NULL;
	size_t n = 0;
	enum db_result r = db_apps_requires(req->server->db, aid_of(req), c.cid, a.id, &rows, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "app", a.id);
		return;
	}
	api_set_etag(req, a.version_n);
	request_reply(req, 200, api_app_to_json(req, &c, &a, rows, n));
	free(rows);
}

/* What a change of settings needs: nothing, a build and rollout, or a
 * rollout of the image running. */
enum change_kind {
	CHANGE_NONE,
	CHANGE_BUILD,
	CHANGE_ROLLOUT
};

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static enum change_kind change_of(const struct app_settings *from, const struct app_settings *to)
{
	if (strcmp(from->repo_url, to->repo_url) != 0 || !same(from->branch, to->branch) ||
	    !same(from->build_method, to->build_method) ||
	    !same(from->dockerfile, to->dockerfile) || !same(from->source_dir, to->source_dir) ||
	    to->access_token)
		return CHANGE_BUILD;
	bool ports_same = from->nports == to->nports;
	for (size_t i = 0; ports_same && i < to->nports; i++)
		ports_same = from->ports[i].port == to->ports[i].port;
	if (!ports_same || from->replicas != to->replicas ||
	    !same(from->health_check_path, to->health_check_path) ||
	    from->health_check_port != to->health_check_port ||
	    from->cpu_request_mc != to->cpu_request_mc ||
	    from->memory_request_mb != to->memory_request_mb ||
	    from->cpu_limit_mc != to->cpu_limit_mc ||
	    from->memory_limit_mb != to->memory_limit_mb ||
	    !same(from->deployment_strategy, to->deployment_strategy))
		return CHANGE_ROLLOUT;
	return CHANGE_NONE;
}

/* A PATCH's servicePortMappings may repeat the domains GET shows (the
 * generated ones); custom domains are added with POST …/domains. The body
 * without them goes to out (a new reference); false when it replied. */
static bool without_shown_domains(struct request *req, const struct cluster *c, const struct app *a,
				  json_t **out)
{
	*out = json_deep_copy(req->body);
	json_t *mappings = json_object_get(*out, "servicePortMappings");
	size_t i;
	json_t *m;
	json_array_foreach (mappings, i, m) {
		json_t *domains = json_object_get(m, "domains");
		size_t k;
		json_t *d;
		json_array_foreach (domains, k, d) {
			char mine[APP_FQDN_MAX + 1] = "";
			for (size_t p = 0; p < a->nports && !mine[0]; p++)
				if (a->ports[p] == json_integer_value(json_object_get(m, "port")) &&
				    !app_generated_domain(a->dns_name, a->id, p, a->ports[p],
							  c->domain, mine, sizeof(mine)))
					mine[0] = '\0';
			if (!json_is_string(d) || strcmp(json_string_value(d), mine) != 0) {
				char field[80];
				snprintf(field, sizeof(field),
					 "servicePortMappings[%zu].domains[%zu]", i, k);
				request_error(req, 400, "validation.invalid",
					      json_pack("{s:s}", "field", field),
					      "A PATCH keeps the domains an app has: add a custom "
					      "domain with POST …/apps/%s/domains",
					      a->id);
				json_decref(*out);
				return false;
			}
		}
		if (json_is_object(m))
			json_object_del(m, "domains");
	}
	return true;
}

static void reply_unchanged(struct request *req, const struct app *a, const char *message)
{
	request_reply(
		req, 200,
		json_pack("{s:s, s:b, s:s}", "osid", a->osid, "noOp", true, "message", message));
}

/* Writes the change: a job of type (NULL: none) with a new deployment when
 * it builds. */
static void write_change(struct request *req, const struct cluster *c, const struct app *a,
			 const struct app_settings *to, int if_version, const char *type,
			 const char *digest)
{
	char job_id[IDALLOC_UUID_LEN + 1], deployment_id[IDALLOC_UUID_LEN + 1];
	idalloc_uuid(job_id);
	idalloc_uuid(deployment_id);
	bool builds = type && strcmp(type, "app.deploy") == 0;
	struct rendered_job rendered = { 0 };
	if (type) {
		struct api_app_job j = { .type = type,
					 .job_id = job_id,
					 .deployment_id = builds ? deployment_id : NULL,
					 .access_token = to->access_token,
					 .digest = digest && *digest ? digest : NULL };
		if (!api_app_render(req, c, a, to, &j, &rendered)) {
			rendered_job_free(&rendered);
			return;
		}
	}
	char tag[APP_ROW_IMAGE_TAG_MAX];
	app_image_tag(c->domain, a->osid, APP_IMAGE_SHA_PLACEHOLDER, tag, sizeof(tag));
	char *sealed_token =
		to->access_token ? seal_for(req, c->cid, a->osid, "access-token", to->access_token)
				 : NULL;
	struct audit_actor actor = api_actor(req);
	int ports[APP_MAX_PORTS];
	struct app_change change = { .aid = aid_of(req),
				     .cid = c->cid,
				     .id = a->id,
				     .if_version = if_version,
				     .fields = api_app_fields_of(to, ports),
				     .sealed_access_token = sealed_token,
				     .job = { .action = "app.update",
					      .actor = &actor,
					      .job_id = type ? job_id : NULL,
					      .type = type,
					      .list = rendered.items,
					      .n = rendered.n,
					      .deployment_id = builds ? deployment_id : NULL,
					      .trigger = "api",
					      .image_tag = builds ? tag : NULL } };
	struct app out;
	struct app_write_result result;
	enum db_result r = db_apps_update(req->server->db, &change, &out, &result);
	rendered_job_free(&rendered);
	free(sealed_token);
	if (r != DB_OK || result.outcome != APP_WRITTEN) {
		api_app_write_error(req, r, &result, c->cid, a->id);
		return;
	}
	api_set_etag(req, out.version_n);
	if (!type)
		reply_unchanged(req, &out, "Renamed; nothing else changed, so nothing rolls out");
	else
		request_reply(req, 202, json_pack("{s:s}", "jobId", job_id));
}

void api_apps_update(struct request *req)
{
	struct cluster c;
	struct app a;
	int if_version;
	if (!api_load_app(req, &c, &a) || !api_if_match(req, &if_version))
		return;
	if (if_version != 0 && if_version != a.version_n) {
		api_reply_write_error(req, DB_CONFLICT, "app", a.id);
		return;
	}
	const char *merge = request_query(req, "merge");
	struct app_settings from, to;
	api_app_settings_of(&a, &from);
	if (merge && strcmp(merge, "true") == 0)
		to = from;
	else
		app_settings_defaults(&to);
	json_t *body;
	if (!without_shown_domains(req, &c, &a, &body))
		return;
	const char *reserved[] = { req->server->cfg.base_domain };
	struct app_problem p;
	bool ok = app_settings_apply(&to, body, reserved, 1, &p);
	if (!ok) {
		json_decref(body);
		api_app_problem(req, &p);
		return;
	}
	/* The generated domains stay what they were: a rename changes only
	 * the name people see (docs/apps.md). */
	snprintf(to.dns_name, sizeof(to.dns_name), "%s", a.dns_name);
	enum change_kind kind = change_of(&from, &to);
	char digest[APP_ROW_DIGEST_MAX] = "";
	if (kind == CHANGE_ROLLOUT && !api_app_live_digest(req, &a, c.cid, digest)) {
		json_decref(body);
		return;
	}
	if (kind == CHANGE_NONE && strcmp(from.name, to.name) == 0)
		reply_unchanged(req, &a, "Nothing to change: the app is as asked");
	else if (kind == CHANGE_NONE)
		write_change(req, &c, &a, &to, if_version, NULL, NULL);
	else if (kind == CHANGE_ROLLOUT && digest[0])
		write_change(req, &c, &a, &to, if_version, "app.configure", digest);
	else
		write_change(req, &c, &a, &to, if_version, "app.deploy", NULL);
	json_decref(body);
}

void api_apps_delete(struct request *req)
{
	struct cluster c;
	struct app a;
	int if_version;
	if (!api_load_app(req, &c, &a) || !api_if_match(req, &if_version))
		return;
	char job_id[IDALLOC_UUID_LEN + 1];
	idalloc_uuid(job_id);
	struct rendered_job rendered;
	struct app_settings s;
	api_app_settings_of(&a, &s);
	struct api_app_job j = { .type = "app.delete", .job_id = job_id };
	if (!api_app_render(req, &c, &a, &s, &j, &rendered)) {
		rendered_job_free(&rendered);
		return;
	}
	struct audit_actor actor = api_actor(req);
	struct app_job job = { .action = "app.delete",
			       .actor = &actor,
			       .job_id = job_id,
			       .type = "app.delete",
			       .list = rendered.items,
			       .n = rendered.n };
	struct app_write_result result;
	enum db_result r = db_apps_delete(req->server->db, aid_of(req), c.cid, a.id, if_version,
					  &job, &result);
	rendered_job_free(&rendered);
	if (r != DB_OK || result.outcome != APP_WRITTEN)
		api_app_write_error(req, r, &result, c.cid, a.id);
	else
		request_reply(req, 202, json_pack("{s:s}", "jobId", job_id));
}
