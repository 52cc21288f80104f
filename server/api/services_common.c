/* Shared by the service handlers: the service of the path, its JSON form,
 * its state (from its lifecycle and what its cluster reports), and the spec
 * its next job is rendered from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/services.h"
#include "crypto/seal.h"
#include "runosd.h"
#include "util/timeutil.h"

/* A report older than this says nothing about now. */
#define REPORT_STALE_US (5 * 60 * 1000000LL)

const struct service_type *api_service_type(struct request *req)
{
	const char *type = request_param(req, "type");
	const struct service_type *t = catalog_find(type);
	if (!t)
		request_error(req, 404, "service_type.not_found", NULL,
			      "There is no service type %s: GET /service-info lists them", type);
	return t;
}

bool api_load_service(struct request *req, const struct service_type **type,
		      struct cluster *cluster, struct service *out)
{
	if (!(*type = api_service_type(req)) || !api_load_cluster(req, cluster))
		return false;
	const char *id = request_param(req, "id");
	enum db_result r = idalloc_is_short_id(id)
				   ? db_services_get(req->server->db, request_param(req, "aid"),
						     cluster->cid, id, out)
				   : DB_NOT_FOUND;
	if (r == DB_OK && strcmp(out->type, (*type)->type) != 0)
		r = DB_NOT_FOUND;
	if (r != DB_OK) {
		request_db_error(req, r, "service", id);
		return false;
	}
	return true;
}

/* The condition of type (a JSON array text), or NULL; a new reference. */
static json_t *condition(const char *conditions, const char *type)
{
	json_t *list = json_loads(conditions, 0, NULL);
	json_t *found = NULL;
	size_t i;
	json_t *c;
	json_array_foreach (list, i, c)
		if (strcmp(json_string_value(json_object_get(c, "type")) ?: "", type) == 0)
			found = json_incref(c);
	json_decref(list);
	return found;
}

json_t *api_service_status(const struct service *s)
{
	const char *state = s->lifecycle, *reason = "", *message = "";
	char text[600];
	json_t *failed = NULL;
	if (strcmp(s->lifecycle, "deleting") == 0) {
		reason = "DeleteRequested";
		snprintf(text, sizeof(text), "Job %s deletes it", s->job_id);
		message = text;
	} else if (strcmp(s->lifecycle, "failed") == 0) {
		failed = condition(s->conditions, "Failed");
		reason = json_string_value(json_object_get(failed, "reason")) ?: "CreateFailed";
		message = json_string_value(json_object_get(failed, "message")) ?: "";
	} else if (strcmp(s->lifecycle, "provisioning") == 0) {
		reason = "Installing";
		snprintf(text, sizeof(text), "Job %s installs it", s->job_id);
		message = text;
	} else if (!s->reported_state[0]) {
		state = "provisioning";
		reason = "AwaitingReport";
		message = "Installed; waiting for the first report from the cluster";
	} else if (!s->reporter_online) {
		state = "unknown";
		reason = "NodeOffline";
		message = "The control-plane node that reported its state is offline";
	} else if (time_now_us() - s->reported_us > REPORT_STALE_US) {
		state = "unknown";
		reason = "ReportStale";
		message = "The cluster has not reported its state for over 5 minutes";
	} else {
		state = s->reported_state;
		reason = "Reported";
		message = s->reported_message;
	}
	bool reported = s->reported_state[0] != 0;
	json_t *status =
		json_pack("{s:s, s:{s:i, s:i}, s:s, s:s, s:o}", "state", state, "replicas",
			  "desired", reported ? s->reported_desired : s->replicas, "ready",
			  reported ? s->reported_ready : 0, "reason", reason, "message", message,
			  "reportedAt", reported ? http_json_time(s->reported_us) : json_null());
	json_decref(failed);
	return status;
}

json_t *api_service_endpoint(const struct service_type *t, const char *osid,
			     const char *cluster_domain)
{
	char text[400];
	if (t->http) {
		snprintf(text, sizeof(text), "https://%s.%s", osid, cluster_domain);
	} else {
		char host[160];
		service_host(osid, host, sizeof(host));
		snprintf(text, sizeof(text), "%s://%s:%d",
			 t->credentials.url_scheme ? t->credentials.url_scheme : "tcp", host,
			 t->credentials.port);
	}
	return json_string(text);
}

/* Stored JSON text as a value (fallback when it does not parse). */
static json_t *stored_json(const char *text, json_t *fallback)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
	if (!v)
		return fallback;
	json_decref(fallback);
	return v;
}

json_t *api_service_to_json(const struct service_type *t, const struct cluster *c,
			    const struct service *s)
{
	json_t *status = api_service_status(s);
	json_t *state = json_incref(json_object_get(status, "state"));
	json_decref(status);
	return json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, "
		"s:o}",
		"id", s->id, "osid", s->osid, "type", s->type, "name", s->name, "version",
		s->version, "replicas", s->replicas, "storageMb",
		s->storage_mb ? json_integer(s->storage_mb) : json_null(), "storageClass",
		s->storage_class[0] ? json_string(s->storage_class) : json_null(), "flags",
		stored_json(s->flags, json_object()), "nodeAffinityTags",
		stored_json(s->node_affinity_tags, json_array()), "status", state, "endpoint",
		api_service_endpoint(t, s->osid, c->domain), "namespace", s->osid, "requires",
		stored_json(s->requires, json_object()), "conditions",
		api_conditions_json(s->conditions), "createdAt", http_json_time(s->created_us),
		"updatedAt", http_json_time(s->updated_us));
}

json_t *api_service_credentials_open(struct request *req, const char *cid, const char *osid,
				     const char *sealed)
{
	char aad[160];
	service_credentials_aad(request_param(req, "aid"), cid, osid, aad, sizeof(aad));
	size_t len = 0;
	uint8_t *plain = crypto_unseal(req->server->keys, sealed, aad, &len);
	if (!plain)
		return NULL;
	json_t *credentials = json_loads((const char *)plain, 0, NULL);
	crypto_free_secret(plain, len);
	return credentials;
}

char *api_service_credentials_seal(struct request *req, const char *cid, const char *osid,
				   const json_t *credentials)
{
	char aad[160];
	service_credentials_aad(request_param(req, "aid"), cid, osid, aad, sizeof(aad));
	char *text = json_dumps(credentials, JSON_COMPACT);
	char *sealed = crypto_seal(req->server->keys, text, strlen(text), aad);
	crypto_free_secret(text, strlen(text));
	return sealed;
}

void api_service_credentials_free(json_t *credentials)
{
	const char *key;
	json_t *value;
	json_object_foreach (credentials, key, value)
		if (json_is_string(value))
			explicit_bzero((char *)json_string_value(value), json_string_length(value));
	json_decref(credentials);
}

/* The flags of a service with the type's defaults for those not set. */
static json_t *flags_with_defaults(const struct service_type *t, const char *stored)
{
	json_t *flags = stored_json(stored, json_object());
	for (size_t i = 0; i < CATALOG_MAX_FLAGS && t->flags[i].name; i++)
		if (!json_object_get(flags, t->flags[i].name))
			json_object_set_new(
				flags, t->flags[i].name,
				json_loads(t->flags[i].default_json, JSON_DECODE_ANY, NULL));
	return flags;
}

bool api_service_spec_load(struct request *req, const struct service_type *t,
			   const struct cluster *c, const struct service *s, const char *job_id,
			   struct api_service_spec *out)
{
	memset(out, 0, sizeof(*out));
	const char *aid = request_param(req, "aid");
	struct service_spec *spec = &out->spec;
	*spec = (struct service_spec){ .type = t,
				       .aid = aid,
				       .cid = c->cid,
				       .id = s->id,
				       .osid = s->osid,
				       .cluster_domain = c->domain,
				       .version = s->version,
				       .replicas = s->replicas,
				       .storage_mb = s->storage_mb,
				       .storage_class =
					       s->storage_class[0] ? s->storage_class : NULL,
				       .flags = flags_with_defaults(t, s->flags),
				       .affinity_tags =
					       stored_json(s->node_affinity_tags, json_array()),
				       .requires = out->deps,
				       .job_id = job_id,
				       .keys = req->server->keys };
	/* Its own credentials: the Secret, and values of charts that take
	 * them there, are rendered from them. */
	struct service self;
	char *own = NULL;
	enum db_result own_r =
		db_services_find_osid(req->server->db, aid, c->cid, s->osid, &self, &own);
	spec->credentials =
		own_r == DB_OK ? api_service_credentials_open(req, c->cid, s->osid, own) : NULL;
	free(own);
	if (!spec->credentials) {
		if (own_r == DB_OK || own_r == DB_NOT_FOUND)
			request_error(req, 500, "internal", NULL,
				      "The stored credentials of %s cannot be opened", s->osid);
		else
			request_db_error(req, own_r, "service", s->id);
		api_service_spec_free(out);
		return false;
	}
	json_t *requires = stored_json(s->requires, json_object());
	const char *field;
	json_t *osid;
	bool ok = true;
	json_object_foreach (requires, field, osid) {
		if (spec->nrequires == SERVICE_MAX_REQUIRES)
			break;
		struct service *r = &out->required[spec->nrequires];
		char *sealed = NULL;
		enum db_result res = db_services_find_osid(req->server->db, aid, c->cid,
							   json_string_value(osid), r, &sealed);
		json_t *creds = res == DB_OK
					? api_service_credentials_open(req, c->cid, r->osid, sealed)
					: NULL;
		free(sealed);
		if (res != DB_OK || !creds || !catalog_find(r->type)) {
			if (res == DB_OK || res == DB_NOT_FOUND)
				request_error(req, 500, "internal", NULL,
					      "Service %s requires %s, whose credentials cannot be "
					      "opened",
					      s->osid, json_string_value(osid));
			else
				request_db_error(req, res, "service", s->id);
			json_decref(creds);
			ok = false;
			break;
		}
		struct service_dependency *d = &out->deps[spec->nrequires++];
		char *name = out->fields[spec->nrequires - 1];
		snprintf(name, sizeof(out->fields[0]), "%s", field); /* outlives requires */
		d->field = name;
		d->type = catalog_find(r->type);
		d->osid = r->osid;
		d->credentials = creds;
	}
	json_decref(requires);
	if (!ok)
		api_service_spec_free(out);
	return ok;
}

void api_service_spec_free(struct api_service_spec *spec)
{
	json_decref(spec->spec.flags);
	json_decref(spec->spec.affinity_tags);
	api_service_credentials_free(spec->spec.credentials);
	for (size_t i = 0; i < spec->spec.nrequires; i++)
		api_service_credentials_free(spec->deps[i].credentials);
	memset(spec, 0, sizeof(*spec));
}
