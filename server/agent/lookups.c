/* What agents ask (AGENT.md §3): VPN peers, control-plane nodes, the VIP
 * holder, and certificate renewal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/fleet.h"
#include "agent/handlers.h"
#include "crypto/hash.h"
#include "db/agent_store.h"
#include "db/fleet_store.h"
#include "idalloc/clusters.h"
#include "pki/ca_boot.h"
#include "pki/certs.h"
#include "runosd.h"

static const char *member_string(json_t *obj, const char *name)
{
	const char *s = json_string_value(json_object_get(obj, name));
	return s ? s : "";
}

static void vpn_ip(const struct vpn_peer *p, char out[24])
{
	idalloc_vpn_ip(p->cluster_index, p->vpn_host, out, 24);
}

/* Stores wg1:{pubKey, endpoint}; false when it replied (400, 503). */
static bool wg1_report(struct request *req, json_t *wg1)
{
	const char *pub_key = member_string(wg1, "pubKey");
	const char *endpoint = member_string(wg1, "endpoint");
	bool control_plane = strcmp(req->node.role, "controlplane") == 0 ||
			     strcmp(req->node.role, "hybrid") == 0;
	if (!json_is_object(wg1) || !control_plane || !crypto_is_wg_key(pub_key) || !*endpoint ||
	    strlen(endpoint) > 64 || strpbrk(endpoint, " \t\r\n")) {
		request_error(req, 400, "validation.invalid", json_pack("{s:s}", "field", "wg1"),
			      control_plane ? "wg1 must be {pubKey: a WireGuard public key (base64 "
					      "of 32 bytes), endpoint: host:port}"
					    : "Only control-plane nodes serve wg1");
		return false;
	}
	enum db_result r = db_agent_wg1_report(req->server->db, req->node.aid, req->node.cid,
					       req->node.nid, pub_key, endpoint);
	if (r != DB_OK) {
		request_db_error(req, r, "node", req->node.nid);
		return false;
	}
	return true;
}

void agent_vpn_sync(struct request *req)
{
	json_t *peer = json_object_get(req->body, "nodePeer");
	const char *pub_key = member_string(peer, "pubKey");
	const char *endpoint = member_string(peer, "endpointIp");
	if (strlen(pub_key) > 100 || strlen(endpoint) > 60) {
		request_error(req, 400, "validation.length",
			      json_pack("{s:s}", "field", "nodePeer"),
			      "nodePeer.pubKey or nodePeer.endpointIp is too long");
		return;
	}
	/* wg1 (users' devices): served by control-plane nodes only. */
	json_t *wg1 = json_object_get(req->body, "wg1");
	if (wg1 && !json_is_null(wg1) && !wg1_report(req, wg1))
		return;
	struct vpn_peer *peers;
	size_t n;
	enum db_result r = db_agent_vpn_sync(req->server->db, req->node.aid, req->node.cid,
					     req->node.nid, pub_key, endpoint, &peers, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "node", req->node.nid);
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		char ip[24];
		vpn_ip(&peers[i], ip);
		json_array_append_new(list,
				      json_pack("{s:s, s:s, s:s}", "pubKey", peers[i].pub_key,
						"endpointIp", peers[i].endpoint_ip, "vpnIp", ip));
	}
	free(peers);
	request_reply(req, 200, json_pack("{s:o}", "peers", list));
}

void agent_control_plane_nodes(struct request *req)
{
	struct vpn_peer *nodes;
	size_t n;
	enum db_result r =
		db_agent_control_planes(req->server->db, req->node.aid, req->node.cid, &nodes, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "cluster", req->node.cid);
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		char ip[24], endpoint[48];
		vpn_ip(&nodes[i], ip);
		snprintf(endpoint, sizeof(endpoint), "https://%s:6443", ip);
		json_array_append_new(
			list, json_pack("{s:s, s:s}", "vpnIp", ip, "kubeEndpoint", endpoint));
	}
	free(nodes);
	request_reply(req, 200, json_pack("{s:o}", "controlPlaneNodes", list));
}

void agent_vip_holder(struct request *req)
{
	bool holder = false;
	int generation = 0;
	enum db_result r = db_agent_vip_holder(req->server->db, req->node.aid, req->node.cid,
					       req->node.nid, &holder, &generation);
	if (r != DB_OK) {
		request_db_error(req, r, "cluster", req->node.cid);
		return;
	}
	request_reply(req, 200,
		      json_pack("{s:b, s:i}", "isHolder", holder, "generation", generation));
}

/* A new certificate for the calling node, with its current one (the old one
 * keeps working until it expires). */
void agent_certificate(struct request *req)
{
	const struct pki_ca *ca = pki_ca_of(req->server);
	const struct agent_identity *node = &req->node;
	const char *csr = request_body_string(req, "csr");
	if (csr && !*csr)
		csr = NULL;
	struct pki_issued cert;
	enum pki_csr_result issued = pki_issue_node_cert(ca, csr, node->aid, node->nid,
							 PKI_NODE_CERT_DAYS * 86400L, &cert);
	if (issued != PKI_CSR_OK) {
		request_error(req, issued == PKI_CSR_FAILED ? 500 : 400,
			      issued == PKI_CSR_FAILED ? "internal" : "agent.csr_invalid",
			      json_pack("{s:s}", "field", "csr"), "The CSR is not acceptable");
		return;
	}
	enum db_result r = db_fleet_cert_insert(req->server->db, node->aid, node->nid, cert.serial,
						cert.not_after_us);
	if (r != DB_OK) {
		pki_issued_free(&cert);
		request_db_error(req, r, "node", node->nid);
		return;
	}
	fleet_note_cert(req->server->fleet, cert.serial, node->aid, node->nid, node->cid,
			node->role);
	json_t *body = json_pack("{s:s, s:s}", "certificate", cert.cert_pem, "caCert",
				 pki_ca_cert_pem(ca));
	if (cert.key_pem)
		json_object_set_new(body, "privateKey", json_string(cert.key_pem));
	pki_issued_free(&cert);
	request_reply(req, 200, body);
}
