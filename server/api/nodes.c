/* Handlers of /:aid/:cid/nodes: reading and renaming the nodes of a cluster.
 * Nodes are created by agent registration (agent gateway issue). */
#include <stdio.h>
#include <stdlib.h>

#include "api/common.h"
#include "fleet/fleet.h"
#include "api/handlers.h"
#include "db/clusters_store.h"
#include "db/nodes_store.h"
#include "idalloc/clusters.h"
#include "runosd.h"

static json_t *node_to_json(const struct node *n)
{
	char vpn_ip[32];
	idalloc_vpn_ip(n->cluster_index, n->vpn_host, vpn_ip, sizeof(vpn_ip));
	json_t *conditions = json_array();
	for (size_t i = 0; i < n->nconditions; i++) {
		const struct node_condition *c = &n->conditions[i];
		json_array_append_new(conditions,
				      json_pack("{s:s, s:s, s:s, s:s, s:o}", "type", c->type,
						"status", c->status, "reason", c->reason, "message",
						c->message, "lastTransitionAt",
						http_json_time(c->last_transition_us)));
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, "
			 "s:o}",
			 "nid", n->nid, "cid", n->cid, "name", n->name, "role", n->role, "status",
			 n->status, "machineId", n->machine_id, "hostname", n->hostname, "os",
			 n->os, "vpnIp", vpn_ip, "externalIp", n->external_ip, "agentVersion",
			 n->agent_version, "lastHeartbeatAt", http_json_time(n->last_heartbeat_us),
			 "certNotAfter", http_json_time(n->cert_not_after_us), "conditions",
			 conditions, "createdAt", http_json_time(n->created_us));
}

/* Replies 200 with the node and its ETag, and frees what the node holds. */
static void reply_node(struct request *req, struct node *node)
{
	api_set_etag(req, node->version);
	request_reply(req, 200, node_to_json(node));
	db_node_finish(node);
}

/* The :nid of the path, which must look like a node id; else 404. */
static const char *path_nid(struct request *req)
{
	const char *nid = request_param(req, "nid");
	if (!idalloc_is_short_id(nid)) {
		request_error(req, 404, "node.not_found", NULL, "Node %s not found", nid);
		return NULL;
	}
	return nid;
}

void api_nodes_list(struct request *req)
{
	struct cluster cluster;
	int limit;
	struct api_cursor cursor;
	if (!api_load_cluster(req, &cluster) ||
	    !api_list_params(req, idalloc_is_short_id, &limit, &cursor))
		return;
	struct node *nodes;
	size_t n;
	enum db_result r = db_nodes_list(req->server->db, request_param(req, "aid"), cluster.cid,
					 cursor.after_us, cursor.after_id, limit + 1, &nodes, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "node", NULL);
		return;
	}
	bool more = n > (size_t)limit;
	size_t shown = more ? (size_t)limit : n;
	json_t *items = json_array();
	for (size_t i = 0; i < shown; i++)
		json_array_append_new(items, node_to_json(&nodes[i]));
	char next[API_CURSOR_MAX];
	if (more)
		api_next_cursor(nodes[shown - 1].created_us, nodes[shown - 1].nid, next);
	for (size_t i = 0; i < n; i++)
		db_node_finish(&nodes[i]);
	free(nodes);
	api_reply_page(req, json_pack("{s:o}", "nodes", items), "cursor", more ? next : NULL);
}

void api_nodes_get(struct request *req)
{
	struct cluster cluster;
	if (!api_load_cluster(req, &cluster))
		return;
	const char *nid = path_nid(req);
	if (!nid)
		return;
	struct node node;
	enum db_result r =
		db_nodes_get(req->server->db, request_param(req, "aid"), cluster.cid, nid, &node);
	if (r != DB_OK) {
		request_db_error(req, r, "node", nid);
		return;
	}
	reply_node(req, &node);
}

void api_nodes_update(struct request *req)
{
	struct cluster cluster;
	int if_version;
	if (!api_load_cluster(req, &cluster))
		return;
	const char *nid = path_nid(req);
	if (!nid || !api_if_match(req, &if_version))
		return;
	const char *aid = request_param(req, "aid");
	const char *name = request_body_string(req, "name");
	struct node node;
	enum db_result r;
	if (name) {
		struct audit_actor actor = api_actor(req);
		r = db_nodes_rename(req->server->db, aid, cluster.cid, nid, &actor, name,
				    if_version, &node);
	} else {
		/* Nothing to change: answer with the node as it is. */
		r = db_nodes_get(req->server->db, aid, cluster.cid, nid, &node);
		if (r == DB_OK && if_version != 0 && if_version != node.version) {
			db_node_finish(&node);
			r = DB_CONFLICT;
		}
	}
	if (r != DB_OK) {
		api_reply_write_error(req, r, "node", nid);
		return;
	}
	reply_node(req, &node);
}

/* Deleting a node revokes its certificates at once (here, and within a
 * second on every other instance) and queues its teardown job. */
void api_nodes_delete(struct request *req)
{
	struct cluster cluster;
	int if_version;
	if (!api_load_cluster(req, &cluster))
		return;
	const char *nid = path_nid(req);
	if (!nid || !api_if_match(req, &if_version))
		return;
	const char *aid = request_param(req, "aid");
	struct audit_actor actor = api_actor(req);
	char job_id[IDALLOC_UUID_LEN + 1];
	idalloc_uuid(job_id);
	enum db_result r =
		db_nodes_delete(req->server->db, aid, cluster.cid, nid, &actor, if_version, job_id);
	if (r != DB_OK) {
		api_reply_write_error(req, r, "node", nid);
		return;
	}
	fleet_revoke_node(req->server->fleet, aid, nid);
	request_reply(req, 202, json_pack("{s:s}", "jobId", job_id));
}
