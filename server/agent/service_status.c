/* POST /agent/v1/service-status (AGENT.md §3): a control-plane node reports
 * the state of the services its cluster runs. Each entry names a service by
 * its osid (its namespace); only the services of the node's own account and
 * cluster take a report, so a node can neither learn of nor touch another
 * tenant's services: any other osid is ignored, counted in
 * runosd_agent_service_reports_ignored_total, and answered only as a number. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/handlers.h"
#include "db/service_reports_store.h"
#include "http/metrics.h"
#include "http/validate.h"
#include "runosd.h"
#include "util/strmap.h"

#define REPORT_MESSAGE_MAX_CHARS 1024
#define REPLICAS_MAX 100000

static const char *const report_states[] = { "provisioning", "healthy", "degraded",
					     "unhealthy",    "failed",	NULL };

static const struct field_spec entry_fields[] = {
	{ "osid", FIELD_STRING, true, 1, 63, NULL, "the service's osid (its namespace)", NULL },
	{ "state", FIELD_ENUM, true, 0, 0, report_states, "what the cluster sees", NULL },
	{ "replicas", FIELD_OBJECT, false, 0, 0, NULL, "{desired, ready}", NULL },
	{ "message", FIELD_TEXT, false, 0, REPORT_MESSAGE_MAX_CHARS, NULL, "details", NULL },
	{ 0 },
};
static const struct field_spec replicas_fields[] = {
	{ "desired", FIELD_INTEGER, true, 0, REPLICAS_MAX, NULL, "replicas asked for", NULL },
	{ "ready", FIELD_INTEGER, true, 0, REPLICAS_MAX, NULL, "replicas ready", NULL },
	{ 0 },
};

static bool is_control_plane(const struct agent_identity *node)
{
	return strcmp(node->role, "controlplane") == 0 || strcmp(node->role, "hybrid") == 0;
}

static void refuse_node(struct request *req)
{
	request_error(req, 403, "agent.not_control_plane", NULL,
		      "Only control-plane nodes report service state");
}

/* 400 about member field of entry i, with the validator's message. */
static void entry_error(struct request *req, size_t i, const char *prefix,
			const struct validation_error *err)
{
	char field[96];
	snprintf(field, sizeof(field), "services[%zu].%s%s", i, prefix, err->field);
	request_error(req, 400, err->code, json_pack("{s:s}", "field", field), "services[%zu]: %s",
		      i, err->message);
}

/* Checks entry i and appends its flat row ({osid, state, desired, ready,
 * message}) to rows; false when it replied 400. seen holds the osids of the
 * entries before it: one report per service and call. */
static bool take_entry(struct request *req, size_t i, json_t *entry, struct strmap *seen,
		       json_t *rows)
{
	struct validation_error err;
	if (!json_is_object(entry)) {
		char field[32];
		snprintf(field, sizeof(field), "services[%zu]", i);
		request_error(req, 400, "validation.type", json_pack("{s:s}", "field", field),
			      "%s must be an object {osid, state, replicas, message}", field);
		return false;
	}
	if (!http_validate_body(entry_fields, entry, &err)) {
		entry_error(req, i, "", &err);
		return false;
	}
	json_t *replicas = json_object_get(entry, "replicas");
	if (json_is_object(replicas) && !http_validate_body(replicas_fields, replicas, &err)) {
		entry_error(req, i, "replicas.", &err);
		return false;
	}
	const char *osid = json_string_value(json_object_get(entry, "osid"));
	if (strmap_put(seen, osid, entry)) {
		char field[32];
		snprintf(field, sizeof(field), "services[%zu].osid", i);
		request_error(req, 400, "validation.invalid", json_pack("{s:s}", "field", field),
			      "%s: %s is reported twice", field, osid);
		return false;
	}
	json_t *message = json_object_get(entry, "message");
	json_array_append_new(rows, json_pack("{s:s, s:O, s:O?, s:O?, s:O?}", "osid", osid, "state",
					      json_object_get(entry, "state"), "desired",
					      json_object_get(replicas, "desired"), "ready",
					      json_object_get(replicas, "ready"), "message",
					      json_is_null(message) ? NULL : message));
	return true;
}

/* The entries as flat rows for the store, or NULL when it replied 400. */
static json_t *report_rows(struct request *req, json_t *services)
{
	if (!json_is_array(services)) {
		request_error(
			req, 400, "validation.type", json_pack("{s:s}", "field", "services"),
			"Field services must be an array of {osid, state, replicas, message}");
		return NULL;
	}
	struct strmap *seen = strmap_create();
	json_t *rows = json_array();
	for (size_t i = 0; i < json_array_size(services); i++) {
		if (!take_entry(req, i, json_array_get(services, i), seen, rows)) {
			json_decref(rows);
			rows = NULL;
			break;
		}
	}
	strmap_destroy(seen, NULL);
	return rows;
}

void agent_service_status(struct request *req)
{
	/* The role of the certificate's node is checked here, and again in the
	 * store's statement against the node's row (deleted, or not a control
	 * plane): both refusals are the same 403. */
	if (!is_control_plane(&req->node)) {
		refuse_node(req);
		return;
	}
	json_t *rows = report_rows(req, json_object_get(req->body, "services"));
	if (!rows)
		return;
	size_t n = json_array_size(rows);
	char *text = json_dumps(rows, JSON_COMPACT);
	json_decref(rows);
	bool may_report;
	int accepted;
	enum db_result r = db_service_reports_put(req->server->db, req->node.aid, req->node.cid,
						  req->node.nid, text, &may_report, &accepted);
	free(text);
	if (r != DB_OK) {
		request_db_error(req, r, "node", req->node.nid);
		return;
	}
	if (!may_report) {
		refuse_node(req);
		return;
	}
	size_t ignored = n - (size_t)accepted;
	if (ignored > 0)
		http_metrics_count(req->server->metrics, HTTP_COUNTER_SERVICE_REPORTS_IGNORED,
				   ignored);
	request_reply(
		req, 200,
		json_pack("{s:i, s:I}", "accepted", accepted, "ignored", (json_int_t)ignored));
}
