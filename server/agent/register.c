/* POST /agent/v1/register (AGENT.md §2). The token is looked at first, to
 * know whose node this will be; the certificate is signed outside the
 * transaction (no lock is held across the signature); then one transaction
 * uses the token, allocates the VPN address and records node and
 * certificate. Every bad token gets the same 401: no oracle. */
#include <stdio.h>
#include <string.h>

#include "fleet/fleet.h"
#include "agent/handlers.h"
#include "auth/token.h"
#include "db/registration_store.h"
#include "idalloc/clusters.h"
#include "pki/ca_boot.h"
#include "pki/certs.h"
#include "runosd.h"

/* A new nid that happens to exist in the account is chosen again. */
#define NID_ATTEMPTS 3

static void reply_token_invalid(struct request *req)
{
	request_error(req, 401, "agent.token_invalid", NULL,
		      "The join token is unknown, revoked, expired or used up");
}

/* Replies 400 agent.csr_invalid for a refused CSR; false when it was. */
static bool csr_accepted(struct request *req, enum pki_csr_result r)
{
	static const char *const reasons[] = {
		[PKI_CSR_GARBAGE] = "malformed",
		[PKI_CSR_BAD_SIGNATURE] = "bad_signature",
		[PKI_CSR_WEAK_KEY] = "weak_key",
	};
	if (r == PKI_CSR_OK)
		return true;
	if (r == PKI_CSR_FAILED) {
		request_error(req, 500, "internal", NULL, "The certificate could not be signed");
		return false;
	}
	request_error(req, 400, "agent.csr_invalid",
		      json_pack("{s:s, s:s}", "field", "csr", "reason", reasons[r]),
		      "The CSR is not acceptable (%s): send a PEM certificate request signed by "
		      "its own ECDSA P-256/P-384, Ed25519 or RSA >= 2048 key",
		      reasons[r]);
	return false;
}

/* Replies for a refused registration. */
static void reply_refusal(struct request *req, enum registration_refusal why)
{
	switch (why) {
	case REGISTRATION_TOKEN:
		reply_token_invalid(req);
		return;
	case REGISTRATION_MACHINE:
		request_error(req, 409, "node.exists", NULL,
			      "This machine is already a node of the cluster (the token was not "
			      "used): delete that node first to register the machine again");
		return;
	case REGISTRATION_FULL:
		request_error(req, 409, "cluster.full", NULL,
			      "The cluster has no VPN address left (253 nodes)");
		return;
	case REGISTRATION_CLUSTER:
		request_error(req, 409, "cluster.deleting", NULL, "The cluster is being deleted");
		return;
	case REGISTRATION_NID_TAKEN:
	case REGISTRATION_OK:
		break;
	}
	request_error(req, 500, "internal", NULL, "Registration failed");
}

void agent_register(struct request *req)
{
	struct pki_issued cert = { 0 };
	const struct pki_ca *ca = pki_ca_of(req->server);
	if (!ca) {
		request_db_error(req, DB_UNAVAILABLE, "agent_ca", NULL);
		goto out;
	}
	const char *token = request_body_string(req, "token");
	uint8_t hash[CRYPTO_SHA256_LEN];
	struct join_token tok;
	if (auth_token_parse(token) != TOKEN_JOIN) {
		reply_token_invalid(req);
		goto out;
	}
	auth_token_hash(token, hash);
	enum db_result r = db_join_tokens_peek(req->server->db, hash, &tok);
	if (r == DB_NOT_FOUND) {
		reply_token_invalid(req);
		goto out;
	}
	if (r != DB_OK) {
		request_db_error(req, r, "join_token", NULL);
		goto out;
	}
	const char *csr = request_body_string(req, "csr");
	if (csr && !*csr)
		csr = NULL;

	char job_id[IDALLOC_UUID_LEN + 1];
	idalloc_uuid(job_id);
	struct registration reg = { .job_id = job_id,
				    .machine_id = request_body_string(req, "machineId"),
				    .hostname = request_body_string(req, "hostname"),
				    .os = request_body_string(req, "os"),
				    .agent_version = request_body_string(req, "agentVersion"),
				    .trace_id = req->trace_id,
				    .ip = req->client_ip };
	enum registration_refusal why = REGISTRATION_NID_TAKEN;
	char nid[IDALLOC_SHORT_ID_LEN + 1];
	for (int attempt = 0; attempt < NID_ATTEMPTS && why == REGISTRATION_NID_TAKEN; attempt++) {
		pki_issued_free(&cert);
		idalloc_short_id(nid);
		if (!csr_accepted(req, pki_issue_node_cert(ca, csr, tok.aid, nid,
							   PKI_NODE_CERT_DAYS * 86400L, &cert)))
			goto out;
		reg.nid = nid;
		reg.cert_serial = cert.serial;
		reg.cert_not_after_us = cert.not_after_us;
		r = db_nodes_register(req->server->db, hash, tok.aid, tok.cid, &reg, &why);
		if (r != DB_OK)
			break;
	}
	if (r != DB_OK) {
		request_db_error(req, r, "join_token", NULL);
		goto out;
	}
	if (why != REGISTRATION_OK) {
		reply_refusal(req, why);
		goto out;
	}
	fleet_note_cert(req->server->fleet, cert.serial, tok.aid, nid, tok.cid, reg.token.role);
	char vpn_ip[24];
	idalloc_vpn_ip(reg.cluster_index, reg.vpn_host, vpn_ip, sizeof(vpn_ip));
	json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s}", "aid",
				 tok.aid, "cid", tok.cid, "nid", nid, "role", reg.token.role,
				 "certificate", cert.cert_pem, "caCert", pki_ca_cert_pem(ca),
				 "vpnIp", vpn_ip, "heartbeatIntervalSeconds",
				 AGENT_HEARTBEAT_SECONDS, "offlineAfterSeconds",
				 req->server->cfg.node_offline_after_seconds, "jobId", job_id);
	if (cert.key_pem)
		json_object_set_new(body, "privateKey", json_string(cert.key_pem));
	request_reply(req, 201, body);
out:
	pki_issued_free(&cert);
}
