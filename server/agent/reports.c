/* What agents report (AGENT.md §3-4): heartbeats (memory, see fleet.c),
 * install status, events, and a control-plane node's cluster credentials,
 * which are sealed before they reach the database. */
#include <stdlib.h>
#include <string.h>

#include "fleet/fleet.h"
#include "agent/handlers.h"
#include "crypto/seal.h"
#include "db/agent_store.h"
#include "db/work_store.h"
#include "runosd.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* Renewal is due when less than a third of the lifetime is left. */
static bool renewal_due(const struct agent_identity *node)
{
	int64_t lifetime = node->not_after_us - node->not_before_us;
	return time_now_us() > node->not_after_us - lifetime / 3;
}

static void add_cancel(void *arg, const char *tag)
{
	json_array_append_new(arg, json_string(tag));
}

/* A beat costs no database round trip, unless instructions are running: then
 * one statement extends their leases and finds those cancelled. */
void agent_heartbeat(struct request *req)
{
	enum db_result r = fleet_heartbeat(req->server->fleet, &req->node,
					   or_empty(request_body_string(req, "externalIpAddress")),
					   or_empty(request_body_string(req, "version")));
	json_t *running = json_object_get(req->body, "running");
	for (size_t i = 0; i < json_array_size(running); i++) {
		if (!idalloc_is_uuid(json_string_value(json_array_get(running, i)))) {
			request_error(req, 400, "validation.invalid",
				      json_pack("{s:s}", "field", "running"),
				      "running must list instruction tags (UUIDs)");
			return;
		}
	}
	json_t *cancel = json_array();
	if (r == DB_OK && json_array_size(running) > 0) {
		char *tags = json_dumps(running, JSON_COMPACT);
		r = db_work_running(req->server->db, req->node.aid, req->node.nid, tags,
				    req->server->cfg.instruction_lease_seconds, add_cancel, cancel);
		free(tags);
	}
	if (r != DB_OK) {
		json_decref(cancel);
		request_db_error(req, r, "node", req->node.nid);
		return;
	}
	request_reply(req, 200,
		      json_pack("{s:b, s:s, s:i, s:b, s:o}", "isHealthy", true, "message", "",
				"offlineAfterSeconds", req->server->cfg.node_offline_after_seconds,
				"renewCertificate", renewal_due(&req->node), "cancel", cancel));
}

void agent_status(struct request *req)
{
	const char *status = request_body_string(req, "status");
	const char *message = or_empty(request_body_string(req, "message"));
	bool failed = strcmp(status, "INSTALL_ERROR") == 0;
	json_t *details = json_pack("{s:s}", "status", status);
	char *details_text = json_dumps(details, JSON_COMPACT);
	json_decref(details);
	enum db_result r = db_agent_install_status(req->server->db, req->node.aid, req->node.nid,
						   status, message, failed);
	if (r == DB_OK)
		r = db_agent_event(req->server->db, req->node.aid, req->node.nid, "status",
				   failed ? 3 : 1, *message ? message : status, details_text);
	free(details_text);
	if (r != DB_OK) {
		request_db_error(req, r, "node", req->node.nid);
		return;
	}
	request_reply(req, 204, NULL);
}

void agent_logs(struct request *req)
{
	static const char *const optional[] = { "code", "cause", "remedy", "docsUrl", NULL };
	json_t *details = json_object();
	for (const char *const *name = optional; *name; name++) {
		const char *v = request_body_string(req, *name);
		if (v)
			json_object_set_new(details, *name, json_string(v));
	}
	char *details_text = json_dumps(details, JSON_COMPACT);
	json_decref(details);
	json_t *severity = json_object_get(req->body, "severity");
	enum db_result r =
		db_agent_event(req->server->db, req->node.aid, req->node.nid,
			       request_body_string(req, "type"), (int)json_integer_value(severity),
			       request_body_string(req, "message"), details_text);
	free(details_text);
	if (r != DB_OK) {
		request_db_error(req, r, "node", req->node.nid);
		return;
	}
	request_reply(req, 204, NULL);
}

static bool is_control_plane(const struct agent_identity *node)
{
	return strcmp(node->role, "controlplane") == 0 || strcmp(node->role, "hybrid") == 0;
}

void agent_cluster_credentials(struct request *req)
{
	const struct agent_identity *node = &req->node;
	if (!is_control_plane(node)) {
		request_error(req, 403, "agent.not_control_plane", NULL,
			      "Only control-plane nodes report cluster credentials");
		return;
	}
	json_t *secret = json_pack("{s:s, s:s, s:s}", "caCert", request_body_string(req, "caCert"),
				   "adminCert", request_body_string(req, "adminCert"), "adminKey",
				   request_body_string(req, "adminKey"));
	char *plain = json_dumps(secret, JSON_COMPACT);
	json_decref(secret);
	char aad[64];
	snprintf(aad, sizeof(aad), "%s/cluster_credentials/%s", node->aid, node->cid);
	char *sealed = crypto_seal(req->server->keys, plain, strlen(plain), aad);
	crypto_free_secret(plain, strlen(plain));
	enum db_result r =
		db_agent_credentials_put(req->server->db, node->aid, node->cid, node->nid, sealed,
					 or_empty(request_body_string(req, "kubernetesVersion")),
					 req->trace_id, req->client_ip);
	free(sealed);
	if (r != DB_OK) {
		request_db_error(req, r, "cluster", node->cid);
		return;
	}
	request_reply(req, 204, NULL);
}
