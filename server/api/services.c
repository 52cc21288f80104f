/* Handlers of /:aid/:cid/services (API.md §6): creating a service, listing
 * and showing them, and their state. Every input is checked against the
 * type's catalog row before anything is written; the service, its
 * credentials (sealed) and its service.create job are written at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "api/services.h"
#include "idalloc/ids.h"
#include "services/manifests.h"
#include "runosd.h"

#define CREATE_ID_ATTEMPTS 8
#define DEFAULT_STORAGE_CLASS "openebs-local"

static bool field_error(struct request *req, const char *code, const char *field, const char *fmt,
			const char *a, const char *b)
{
	char message[512];
	snprintf(message, sizeof(message), fmt, a, b);
	request_error(req, 400, code, json_pack("{s:s}", "field", field), "%s", message);
	return false;
}

static json_t *body(struct request *req, const char *name)
{
	return json_object_get(req->body, name);
}

/* An optional integer member within [min, max] (a type's bounds). */
static bool check_bounds(struct request *req, const char *field, int min, int max, int *value)
{
	json_t *v = body(req, field);
	if (!v)
		return true;
	*value = (int)json_integer_value(v);
	if (*value >= min && *value <= max)
		return true;
	char range[64];
	snprintf(range, sizeof(range), "between %d and %d", min, max);
	return field_error(req, "validation.range", field, "Field %s must be %s for this type",
			   field, range);
}

/* flags: only the type's, each of its kind; out gets every flag, defaults
 * applied. */
static bool check_flags(struct request *req, const struct service_type *t, json_t *out)
{
	json_t *given = body(req, "flags");
	const char *name;
	json_t *value;
	json_object_foreach (given, name, value) {
		const struct catalog_flag *f = catalog_flag_find(t, name);
		if (!f)
			return field_error(req, "validation.unknown_field", "flags",
					   "Type %s has no flag %s: GET /service-info/<type> lists "
					   "its flags",
					   t->type, name);
		bool ok = (f->kind == CATALOG_FLAG_BOOLEAN && json_is_boolean(value)) ||
			  (f->kind == CATALOG_FLAG_STRING && json_is_string(value) &&
			   json_string_length(value) <= 256) ||
			  (f->kind == CATALOG_FLAG_INTEGER && json_is_integer(value));
		if (!ok)
			return field_error(req, "validation.type", "flags", "Flag %s must be %s",
					   name,
					   f->kind == CATALOG_FLAG_BOOLEAN  ? "true or false"
					   : f->kind == CATALOG_FLAG_STRING ? "a string"
									    : "an integer");
	}
	for (size_t i = 0; i < CATALOG_MAX_FLAGS && t->flags[i].name; i++) {
		const struct catalog_flag *f = &t->flags[i];
		json_t *v = json_object_get(given, f->name);
		json_object_set_new(out, f->name,
				    v ? json_incref(v)
				      : json_loads(f->default_json, JSON_DECODE_ANY, NULL));
	}
	return true;
}

/* Node tags: DNS labels (they become the label keys tags.runos.io/<tag>). */
static bool check_tags(struct request *req, json_t *out)
{
	json_t *tags = body(req, "nodeAffinityTags");
	size_t i;
	json_t *tag;
	json_array_foreach (tags, i, tag) {
		const char *s = json_string_value(tag);
		size_t len = strlen(s);
		bool ok = len >= 1 && len <= 63 && s[0] != '-' && s[len - 1] != '-' &&
			  strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == len;
		if (!ok)
			return field_error(req, "validation.invalid", "nodeAffinityTags",
					   "Tag %s is not a DNS label (a-z, 0-9, -; at most 63)%s",
					   s, "");
		json_array_append(out, tag);
	}
	return true;
}

struct create_inputs {
	const struct service_type *t;
	struct cluster cluster;
	const char *version;
	int replicas, storage_mb;
	char storage_class[SERVICE_OSID_MAX + 16];
	json_t *flags, *tags;
	struct service_dependency deps[SERVICE_MAX_REQUIRES];
	struct service required[SERVICE_MAX_REQUIRES];
	struct service_requirement requirements[SERVICE_MAX_REQUIRES];
	size_t nrequires;
	json_t *warnings;
};

/* A requires input: a live service of the named type in this cluster. One
 * of another cluster or account is as unknown as one that does not exist. */
static bool resolve_requires(struct request *req, struct create_inputs *in)
{
	const char *aid = request_param(req, "aid");
	for (size_t i = 0; i < CATALOG_MAX_REQUIRES && in->t->requires[i].field; i++) {
		const struct catalog_require *r = &in->t->requires[i];
		const char *osid = request_body_string(req, r->field);
		if (!osid) {
			if (r->required)
				return field_error(req, "validation.required", r->field,
						   "Field %s is required: the osid of a %s service "
						   "of this cluster",
						   r->field, r->type);
			continue;
		}
		struct service *dep = &in->required[in->nrequires];
		char *sealed = NULL;
		enum db_result res = db_services_find_osid(req->server->db, aid, in->cluster.cid,
							   osid, dep, &sealed);
		if (res != DB_OK && res != DB_NOT_FOUND) {
			request_db_error(req, res, "service", osid);
			return false;
		}
		if (res == DB_NOT_FOUND || strcmp(dep->type, r->type) != 0 ||
		    strcmp(dep->lifecycle, "deleting") == 0) {
			free(sealed);
			char what[96];
			snprintf(what, sizeof(what), "a %s service of cluster %s", r->type,
				 in->cluster.cid);
			return field_error(req, "validation.invalid", r->field,
					   "Field %s must name %s (by its osid)", r->field, what);
		}
		json_t *creds =
			api_service_credentials_open(req, in->cluster.cid, dep->osid, sealed);
		free(sealed);
		if (!creds) {
			request_error(req, 500, "internal", NULL,
				      "The stored credentials of %s cannot be opened", dep->osid);
			return false;
		}
		in->deps[in->nrequires] =
			(struct service_dependency){ r->field, catalog_find(r->type), dep->osid,
						     creds };
		in->requirements[in->nrequires] = (struct service_requirement){ r->field, dep->id };
		in->nrequires++;
	}
	/* A requires field of another type is refused (the route declares the
	 * fields of every type). */
	const char *key;
	json_t *value;
	json_object_foreach (req->body, key, value) {
		if (strlen(key) < 5 || strcmp(key + strlen(key) - 4, "Osid") != 0)
			continue;
		if (!catalog_require_find(in->t, key))
			return field_error(req, "validation.unknown_field", key,
					   "Field %s does not apply to type %s", key, in->t->type);
	}
	return true;
}

/* storageClass: openebs-local (default), "longhorn" (the cluster's only
 * Longhorn instance) or "longhorn-<osid>"; none for a stateless type. */
static bool resolve_storage(struct request *req, struct create_inputs *in)
{
	const char *asked = request_body_string(req, "storageClass");
	bool stateless = in->t->max_storage_mb == 0;
	if (stateless) {
		if (body(req, "storageMb") || asked)
			return field_error(req, "validation.invalid",
					   body(req, "storageMb") ? "storageMb" : "storageClass",
					   "Field %s does not apply: type %s keeps no data",
					   body(req, "storageMb") ? "storageMb" : "storageClass",
					   in->t->type);
		return true;
	}
	in->storage_mb = in->t->default_storage_mb;
	if (!check_bounds(req, "storageMb", in->t->min_storage_mb, in->t->max_storage_mb,
			  &in->storage_mb))
		return false;
	if (!asked || strcmp(asked, DEFAULT_STORAGE_CLASS) == 0) {
		snprintf(in->storage_class, sizeof(in->storage_class), "%s", DEFAULT_STORAGE_CLASS);
		return true;
	}
	if (strcmp(in->t->type, "longhorn") == 0)
		return field_error(req, "validation.invalid", "storageClass",
				   "Longhorn keeps its data on %s%s", DEFAULT_STORAGE_CLASS, "");
	const char *aid = request_param(req, "aid");
	char longhorns[4][SERVICE_OSID_MAX];
	size_t n = 0;
	enum db_result r =
		db_services_longhorns(req->server->db, aid, in->cluster.cid, longhorns, 4, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "service", NULL);
		return false;
	}
	const char *chosen = NULL;
	if (strcmp(asked, "longhorn") == 0) {
		if (n == 0) {
			request_error(req, 409, "storage.longhorn_missing",
				      json_pack("{s:s}", "field", "storageClass"),
				      "Cluster %s has no Longhorn instance: install one first "
				      "(POST /%s/%s/services/longhorn), then use storageClass "
				      "\"longhorn\"",
				      in->cluster.cid, aid, in->cluster.cid);
			return false;
		}
		if (n > 1)
			return field_error(req, "validation.invalid", "storageClass",
					   "Cluster has several Longhorn instances: name one, as "
					   "storageClass \"longhorn-<osid>\" (%s, %s, ...)",
					   longhorns[0], longhorns[1]);
		chosen = longhorns[0];
	} else {
		for (size_t i = 0; i < n; i++) {
			char name[SERVICE_OSID_MAX + 16];
			service_longhorn_class(longhorns[i], name, sizeof(name));
			if (strcmp(name, asked) == 0)
				chosen = longhorns[i];
		}
		if (!chosen)
			return field_error(
				req, "validation.invalid", "storageClass",
				"Storage class %s is not one of this cluster: use "
				"openebs-local, longhorn or longhorn-<osid> of a Longhorn "
				"instance%s",
				asked, "");
	}
	service_longhorn_class(chosen, in->storage_class, sizeof(in->storage_class));
	struct service lh;
	char *sealed = NULL;
	if ((r = db_services_find_osid(req->server->db, aid, in->cluster.cid, chosen, &lh,
				       &sealed)) != DB_OK) {
		request_db_error(req, r, "service", chosen);
		return false;
	}
	free(sealed);
	/* It stores on that instance: the instance cannot go while it does. */
	if (in->nrequires < SERVICE_MAX_REQUIRES) {
		size_t k = in->nrequires++;
		snprintf(in->required[k].id, sizeof(in->required[k].id), "%s", lh.id);
		in->requirements[k] =
			(struct service_requirement){ "storageClass", in->required[k].id };
	}
	if (strcmp(in->t->category, "databases") == 0)
		json_array_append_new(
			in->warnings,
			json_string("Longhorn storage is often too slow for databases: use "
				    "openebs-local and the database's own replication instead"));
	return true;
}

static bool check_create(struct request *req, struct create_inputs *in)
{
	in->version = request_body_string(req, "version");
	if (!in->version)
		in->version = in->t->default_version;
	else if (catalog_version_index(in->t, in->version) < 0)
		return field_error(req, "validation.invalid", "version",
				   "Version %s is not one of type %s's: GET /service-info/<type> "
				   "lists them",
				   in->version, in->t->type);
	in->replicas = in->t->default_replicas;
	return check_bounds(req, "replicas", in->t->min_replicas, in->t->max_replicas,
			    &in->replicas) &&
	       check_flags(req, in->t, in->flags) && check_tags(req, in->tags) &&
	       resolve_requires(req, in) && resolve_storage(req, in);
}

static void free_inputs(struct create_inputs *in)
{
	json_decref(in->flags);
	json_decref(in->tags);
	json_decref(in->warnings);
	for (size_t i = 0; i < in->nrequires; i++)
		api_service_credentials_free(in->deps[i].credentials);
}

/* Writes the service under a new id; false when the id was taken (draw
 * again). Replies in every other case. */
static bool create_once(struct request *req, struct create_inputs *in, json_t *credentials)
{
	const char *aid = request_param(req, "aid");
	char id[IDALLOC_SHORT_ID_LEN + 1], osid[SERVICE_OSID_MAX], job_id[IDALLOC_UUID_LEN + 1];
	idalloc_short_id(id);
	idalloc_uuid(job_id);
	snprintf(osid, sizeof(osid), "%s-%s", in->t->type, id);
	size_t ndeps = 0;
	while (ndeps < in->nrequires && in->deps[ndeps].field)
		ndeps++;
	struct service_spec spec = { .type = in->t,
				     .aid = aid,
				     .cid = in->cluster.cid,
				     .id = id,
				     .osid = osid,
				     .cluster_domain = in->cluster.domain,
				     .version = in->version,
				     .replicas = in->replicas,
				     .storage_mb = in->storage_mb,
				     .storage_class =
					     in->storage_class[0] ? in->storage_class : NULL,
				     .flags = in->flags,
				     .affinity_tags = in->tags,
				     .credentials = credentials,
				     .requires = in->deps,
				     .nrequires = ndeps,
				     .job_id = job_id,
				     .keys = req->server->keys };
	struct rendered_job rendered;
	char err[256];
	if (!service_render_create(&spec, &rendered, err, sizeof(err))) {
		rendered_job_free(&rendered);
		request_error(req, 500, "internal", NULL, "Type %s does not render: %s",
			      in->t->type, err);
		return true;
	}
	char *sealed = api_service_credentials_seal(req, in->cluster.cid, osid, credentials);
	char *flags = json_dumps(in->flags, JSON_COMPACT),
	     *tags = json_dumps(in->tags, JSON_COMPACT);
	struct audit_actor actor = api_actor(req);
	struct service_create create = { .aid = aid,
					 .cid = in->cluster.cid,
					 .id = id,
					 .type = in->t->type,
					 .name = request_body_string(req, "name"),
					 .version = in->version,
					 .replicas = in->replicas,
					 .storage_mb = in->storage_mb,
					 .storage_class =
						 in->storage_class[0] ? in->storage_class : NULL,
					 .flags_json = flags,
					 .affinity_tags_json = tags,
					 .sealed_credentials = sealed,
					 .requires = in->requirements,
					 .nrequires = in->nrequires,
					 .job_id = job_id,
					 .actor = &actor };
	struct service s;
	struct service_write_result result;
	enum db_result r = db_services_create(req->server->db, &create, rendered.items, rendered.n,
					      &s, &result);
	rendered_job_free(&rendered);
	free(sealed);
	free(flags);
	free(tags);
	if (r == DB_CONFLICT && result.outcome == SERVICE_ID_TAKEN)
		return false;
	if (r == DB_CONFLICT && result.outcome == SERVICE_NAME_TAKEN) {
		request_error(req, 409, "service.name_taken", json_pack("{s:s}", "field", "name"),
			      "Cluster %s already has a service named %s", in->cluster.cid,
			      create.name);
	} else if (r != DB_OK) {
		request_db_error(req, r, "cluster", in->cluster.cid);
	} else if (result.outcome == SERVICE_CLUSTER_NOT_ACTIVE) {
		request_error(req, 409, "cluster.not_active",
			      json_pack("{s:s}", "status", result.cluster_status),
			      "Cluster %s is %s: services can be created once it is active (a "
			      "control-plane node online)",
			      in->cluster.cid, result.cluster_status);
	} else if (result.outcome == SERVICE_REQUIRED_GONE) {
		field_error(req, "validation.invalid", result.gone_field,
			    "Field %s names a service that is gone or being deleted%s",
			    result.gone_field, "");
	} else {
		request_reply(req, 202,
			      json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:O}", "id", s.id, "osid",
					s.osid, "name", s.name, "status", "provisioning", "jobId",
					job_id, "endpoint",
					api_service_endpoint(in->t, s.osid, in->cluster.domain),
					"warnings", in->warnings));
	}
	return true;
}

void api_services_create(struct request *req)
{
	struct create_inputs in = { .t = api_service_type(req) };
	if (!in.t || !api_load_cluster(req, &in.cluster))
		return;
	if (strcmp(in.cluster.status, "active") != 0) {
		request_error(req, 409, "cluster.not_active",
			      json_pack("{s:s}", "status", in.cluster.status),
			      "Cluster %s is %s: services can be created once it is active (a "
			      "control-plane node online)",
			      in.cluster.cid, in.cluster.status);
		return;
	}
	in.flags = json_object();
	in.tags = json_array();
	in.warnings = json_array();
	if (check_create(req, &in)) {
		json_t *credentials = service_credentials_new(in.t);
		bool done = false;
		for (int i = 0; i < CREATE_ID_ATTEMPTS && !done; i++)
			done = create_once(req, &in, credentials);
		if (!done)
			request_error(req, 503, "service.id_exhausted", NULL,
				      "No free service id was drawn; try again");
		api_service_credentials_free(credentials);
	}
	free_inputs(&in);
}

static void list(struct request *req, const struct service_type *only)
{
	struct cluster c;
	int limit;
	struct api_cursor cursor;
	if (!api_load_cluster(req, &c) ||
	    !api_list_params(req, idalloc_is_short_id, &limit, &cursor))
		return;
	struct service *rows;
	size_t n;
	enum db_result r = db_services_list(req->server->db, request_param(req, "aid"), c.cid,
					    only ? only->type : NULL, cursor.after_us,
					    cursor.after_id, limit + 1, &rows, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "service", NULL);
		return;
	}
	bool more = api_page_trim(&n, limit);
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct service_type *t = catalog_find(rows[i].type);
		if (t)
			json_array_append_new(items, api_service_to_json(t, &c, &rows[i]));
	}
	char next[API_CURSOR_MAX];
	if (more)
		api_next_cursor(rows[n - 1].created_us, rows[n - 1].id, next);
	free(rows);
	api_reply_page(req, json_pack("{s:o}", "services", items), "cursor", more ? next : NULL);
}

void api_services_list(struct request *req)
{
	list(req, NULL);
}

void api_services_list_type(struct request *req)
{
	const struct service_type *t = api_service_type(req);
	if (t)
		list(req, t);
}

void api_services_get(struct request *req)
{
	const struct service_type *t;
	struct cluster c;
	struct service s;
	if (!api_load_service(req, &t, &c, &s))
		return;
	api_set_etag(req, s.version_n);
	request_reply(req, 200, api_service_to_json(t, &c, &s));
}

void api_services_status(struct request *req)
{
	const struct service_type *t;
	struct cluster c;
	struct service s;
	if (api_load_service(req, &t, &c, &s))
		request_reply(req, 200, api_service_status(&s));
}
