/* Handlers that change a service (API.md §6): PATCH (replicas, version
 * upward, storage growing), DELETE, and its credentials (read, rotate). Each
 * change is a job whose instructions are rendered here from the stored
 * service. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "api/services.h"
#include "idalloc/ids.h"
#include "runosd.h"

static void field_error(struct request *req, const char *field, const char *message)
{
	request_error(req, 400, "validation.invalid", json_pack("{s:s}", "field", field), "%s",
		      message);
}

static void reply_busy(struct request *req, const struct service *s, const char *lifecycle,
		       const char *job_id)
{
	request_error(req, 409, "service.busy", json_pack("{s:s}", "jobId", job_id),
		      "Service %s is %s (job %s): try again when that job has finished", s->osid,
		      lifecycle, job_id);
}

/* The PATCH's new values into *to; false when it replied 400. */
static bool check_change(struct request *req, const struct service_type *t, const struct service *s,
			 struct service *to)
{
	*to = *s;
	char message[300];
	json_t *v;
	if ((v = json_object_get(req->body, "replicas"))) {
		to->replicas = (int)json_integer_value(v);
		if (to->replicas < t->min_replicas || to->replicas > t->max_replicas) {
			snprintf(message, sizeof(message),
				 "Field replicas must be between %d and %d for type %s",
				 t->min_replicas, t->max_replicas, t->type);
			field_error(req, "replicas", message);
			return false;
		}
	}
	const char *version = request_body_string(req, "version");
	if (version) {
		int now = catalog_version_index(t, s->version),
		    next = catalog_version_index(t, version);
		if (next < 0) {
			snprintf(message, sizeof(message),
				 "Version %s is not one of type %s's: GET /service-info/%s lists "
				 "them",
				 version, t->type, t->type);
			field_error(req, "version", message);
			return false;
		}
		if (next < now) {
			snprintf(
				message, sizeof(message),
				"Version %s is older than %s: downgrades are refused (data written "
				"by a newer version may not open)",
				version, s->version);
			field_error(req, "version", message);
			return false;
		}
		snprintf(to->version, sizeof(to->version), "%s", version);
	}
	if ((v = json_object_get(req->body, "storageMb"))) {
		to->storage_mb = (int)json_integer_value(v);
		if (t->max_storage_mb == 0) {
			snprintf(message, sizeof(message),
				 "Field storageMb does not apply: type %s keeps no data", t->type);
			field_error(req, "storageMb", message);
			return false;
		}
		if (to->storage_mb < s->storage_mb) {
			snprintf(message, sizeof(message),
				 "Field storageMb can only grow (now %d MB): volumes do not shrink",
				 s->storage_mb);
			field_error(req, "storageMb", message);
			return false;
		}
		if (to->storage_mb > t->max_storage_mb) {
			snprintf(message, sizeof(message), "Field storageMb must be at most %d",
				 t->max_storage_mb);
			field_error(req, "storageMb", message);
			return false;
		}
	}
	return true;
}

void api_services_update(struct request *req)
{
	const struct service_type *t;
	struct cluster c;
	struct service s, to;
	int if_version;
	if (!api_load_service(req, &t, &c, &s) || !api_if_match(req, &if_version) ||
	    !check_change(req, t, &s, &to))
		return;
	if (if_version != 0 && if_version != s.version_n) {
		api_reply_write_error(req, DB_CONFLICT, "service", s.id);
		return;
	}
	if (to.replicas == s.replicas && to.storage_mb == s.storage_mb &&
	    strcmp(to.version, s.version) == 0) {
		request_reply(req, 200,
			      json_pack("{s:s, s:b, s:s}", "osid", s.osid, "noOp", true, "message",
					"Nothing to change: replicas, version and storage are as "
					"asked"));
		return;
	}
	char job_id[IDALLOC_UUID_LEN + 1];
	idalloc_uuid(job_id);
	struct api_service_spec spec;
	if (!api_service_spec_load(req, t, &c, &to, job_id, &spec))
		return;
	struct rendered_job rendered;
	char err[256];
	if (!service_render_update(&spec.spec, &rendered, err, sizeof(err))) {
		request_error(req, 500, "internal", NULL, "Type %s does not render: %s", t->type,
			      err);
	} else {
		struct audit_actor actor = api_actor(req);
		struct service_change change = { .aid = request_param(req, "aid"),
						 .cid = c.cid,
						 .id = s.id,
						 .if_version = if_version,
						 .replicas = to.replicas,
						 .storage_mb = to.storage_mb,
						 .version = to.version,
						 .job_id = job_id,
						 .actor = &actor };
		struct service out;
		struct service_write_result result;
		enum db_result r = db_services_update(req->server->db, &change, rendered.items,
						      rendered.n, &out, &result);
		if (r != DB_OK) {
			api_reply_write_error(req, r, "service", s.id);
		} else if (result.outcome == SERVICE_BUSY) {
			reply_busy(req, &s, s.lifecycle, result.busy_job);
		} else {
			api_set_etag(req, out.version_n);
			request_reply(req, 202, json_pack("{s:s}", "jobId", job_id));
		}
	}
	rendered_job_free(&rendered);
	api_service_spec_free(&spec);
}

void api_services_delete(struct request *req)
{
	const struct service_type *t;
	struct cluster c;
	struct service s;
	int if_version;
	if (!api_load_service(req, &t, &c, &s) || !api_if_match(req, &if_version))
		return;
	char job_id[IDALLOC_UUID_LEN + 1];
	idalloc_uuid(job_id);
	struct service_spec spec = { .type = t,
				     .aid = request_param(req, "aid"),
				     .cid = c.cid,
				     .id = s.id,
				     .osid = s.osid,
				     .job_id = job_id };
	struct rendered_job rendered;
	service_render_delete(&spec, &rendered);
	struct audit_actor actor = api_actor(req);
	struct service_write_result result;
	enum db_result r = db_services_delete(req->server->db, spec.aid, c.cid, s.id, if_version,
					      job_id, &actor, rendered.items, rendered.n, &result);
	rendered_job_free(&rendered);
	if (r != DB_OK) {
		api_reply_write_error(req, r, "service", s.id);
	} else if (result.outcome == SERVICE_HAS_DEPENDENTS) {
		json_t *dependents = json_loads(result.dependents, 0, NULL);
		request_error(
			req, 409, "service.has_dependents",
			json_pack("{s:o}", "dependents", dependents ? dependents : json_array()),
			"Service %s is required by other services: delete them first, or "
			"change what they use",
			s.osid);
	} else if (result.outcome == SERVICE_BUSY) {
		reply_busy(req, &s, "being deleted", result.busy_job);
	} else {
		request_reply(req, 202, json_pack("{s:s}", "jobId", job_id));
	}
}

void api_services_credentials(struct request *req)
{
	const struct service_type *t;
	struct cluster c;
	struct service s;
	if (!api_load_service(req, &t, &c, &s))
		return;
	struct audit_actor actor = api_actor(req);
	char *sealed;
	enum db_result r = db_services_credentials_read(req->server->db, request_param(req, "aid"),
							c.cid, s.id, &actor, &sealed);
	if (r != DB_OK) {
		request_db_error(req, r, "service", s.id);
		return;
	}
	json_t *credentials = api_service_credentials_open(req, c.cid, s.osid, sealed);
	free(sealed);
	if (!credentials) {
		request_error(req, 500, "internal", NULL,
			      "The stored credentials of %s cannot be opened", s.osid);
		return;
	}
	json_t *view = service_credentials_view(t, s.osid, credentials);
	api_service_credentials_free(credentials);
	request_set_header(req, "Cache-Control", "no-store");
	request_reply(req, 200, view);
}

void api_services_rotate(struct request *req)
{
	const struct service_type *t;
	struct cluster c;
	struct service s;
	if (!api_load_service(req, &t, &c, &s))
		return;
	if (strcmp(s.lifecycle, "installed") != 0) {
		reply_busy(req, &s, s.lifecycle, s.job_id);
		return;
	}
	char job_id[IDALLOC_UUID_LEN + 1];
	idalloc_uuid(job_id);
	struct api_service_spec spec;
	if (!api_service_spec_load(req, t, &c, &s, job_id, &spec))
		return;
	api_service_credentials_free(spec.spec.credentials);
	spec.spec.credentials = service_credentials_new(t);
	char *pending = api_service_credentials_seal(req, c.cid, s.osid, spec.spec.credentials);
	struct rendered_job rendered;
	service_render_rotate(&spec.spec, &rendered);
	struct audit_actor actor = api_actor(req);
	struct service_write_result result;
	enum db_result r =
		db_services_rotate(req->server->db, request_param(req, "aid"), c.cid, s.id, pending,
				   job_id, &actor, rendered.items, rendered.n, &result);
	rendered_job_free(&rendered);
	free(pending);
	api_service_spec_free(&spec);
	if (r != DB_OK)
		request_db_error(req, r, "service", s.id);
	else if (result.outcome == SERVICE_BUSY)
		reply_busy(req, &s, "busy", result.busy_job);
	else
		request_reply(req, 202, json_pack("{s:s}", "jobId", job_id));
}
