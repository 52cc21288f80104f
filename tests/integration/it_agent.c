/* The agent gateway (AGENT.md §1-4) against the real server, over real TLS
 * with libcurl:
 *  - registration with and without a CSR, what the certificate says, bad and
 *    weak CSRs, every kind of bad token (one answer for all), the same
 *    machine twice (409, the token not used), 20 registrations racing for a
 *    single-use token (one node), VPN addresses (smallest free, reused after
 *    a node delete);
 *  - mutual TLS: no certificate, another CA's, an expired one, one the CA
 *    signed but never issued, a revoked one (node deleted, on a kept-alive
 *    connection too) against a good one;
 *  - heartbeats: online at once, offline after RUNOS_NODE_OFFLINE_AFTER with
 *    one condition and one audit entry per transition, back online; a
 *    restart gives every node a grace period; the cluster's status follows
 *    its control-plane nodes (provisioning, active, degraded);
 *  - renewal when a third of the lifetime is left, the old certificate still
 *    working; cluster credentials from control-plane nodes only, sealed (a
 *    pg_dump holds neither them nor the CA key), and the kubeconfig: named
 *    after the cluster domain, so the real kubectl merges two accounts'
 *    kubeconfigs of clusters with the same cid keeping both; audit entries
 *    of agents' requests carry their trace id and address;
 *  - the smaller calls: status, logs, vpn/sync, control-plane-nodes,
 *    vip-holder. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/seal.h"
#include "agents.h"
#include "harness.h"
#include "pki/ca.h"
#include "pki/certs.h"

#define OFFLINE_AFTER 3

static struct it_server *srv;
static struct it_user owner;
static PGconn *pg;
static char cid[8];
static char *ca_pem;
static struct pki_ca *test_ca; /* the server's CA, opened with the test master key */
static const char *extra_env[] = { "RUNOS_NODE_OFFLINE_AFTER=3", NULL };

/* ---- keys, CSRs and certificates made by the test ------------------------ */

static char *pem_of_key(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	char *out = strndup(data, (size_t)n);
	BIO_free(bio);
	return out;
}

/* A CSR for key, signed by signer (normally the same key). */
static char *make_csr(EVP_PKEY *key, EVP_PKEY *signer)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_REQ_get_subject_name(req);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"node:evil", -1,
				   -1, 0);
	X509_REQ_set_pubkey(req, key);
	X509_REQ_sign(req, signer, EVP_sha256());
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_X509_REQ(bio, req);
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	char *out = strndup(data, (size_t)n);
	BIO_free(bio);
	X509_REQ_free(req);
	return out;
}

static X509 *parse_cert(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return cert;
}

/* ---- calls --------------------------------------------------------------- */

static struct it_resp agent_call(const char *method, const char *path, const char *body,
				 const struct it_node *as)
{
	return it_agent_call(srv, ca_pem, as, method, path, body);
}

static struct it_resp beat(const struct it_node *as)
{
	return agent_call("POST", "/agent/v1/heartbeat",
			  "{\"externalIpAddress\":\"203.0.113.7\",\"isCp\":true,\"isWorker\":true,"
			  "\"status\":\"ready\",\"version\":\"1.5.5\",\"running\":[]}",
			  as);
}

static bool join_token(const char *c, const char *role, int max_uses, char out[64])
{
	return it_join_token(srv, &owner, c, role, max_uses, out);
}

static struct it_resp register_raw(const char *token, const char *machine, const char *csr)
{
	return it_agent_register_raw(srv, ca_pem, token, machine, csr);
}

static bool register_node(const char *token, struct it_node *out)
{
	return it_agent_register(srv, ca_pem, token, out);
}

static const char *node_status(const struct it_node *n)
{
	static char status[32];
	struct it_resp r =
		it_call(srv, "GET", owner.token, NULL, "/%s/%s/nodes/%s", owner.aid, cid, n->nid);
	snprintf(status, sizeof(status), "%s", it_json_str(r.json, "status") ?: "?");
	it_resp_free(&r);
	return status;
}

static const char *cluster_status(const char *c)
{
	static char status[32];
	struct it_resp r = it_call(srv, "GET", owner.token, NULL, "/%s/clusters/%s", owner.aid, c);
	snprintf(status, sizeof(status), "%s", it_json_str(r.json, "status") ?: "?");
	it_resp_free(&r);
	return status;
}

/* Waits up to ms for the node's status to become want. */
static bool wait_node_status(const struct it_node *n, const char *want, int ms)
{
	for (double end = it_now_ms() + ms; it_now_ms() < end; it_sleep_ms(100))
		if (strcmp(node_status(n), want) == 0)
			return true;
	return strcmp(node_status(n), want) == 0;
}

static bool new_cluster(const char *name, char out[8])
{
	return it_new_cluster(srv, &owner, name, out);
}

/* ---- registration --------------------------------------------------------- */

TEST(register_without_csr)
{
	char token[64];
	REQUIRE(join_token(cid, "controlplane", 1, token));
	struct it_resp r = register_raw(token, "machine-plain", NULL);
	CHECK_STATUS(r, 201);
	CHECK_STR_EQ(it_json_str(r.json, "aid"), owner.aid);
	CHECK_STR_EQ(it_json_str(r.json, "cid"), cid);
	CHECK_STR_EQ(it_json_str(r.json, "role"), "controlplane");
	CHECK(it_json_str(r.json, "privateKey") != NULL);
	CHECK_STR_EQ(it_json_str(r.json, "caCert"), ca_pem);
	CHECK_INT_EQ(json_integer_value(json_object_get(r.json, "heartbeatIntervalSeconds")), 5);
	CHECK_INT_EQ(json_integer_value(json_object_get(r.json, "offlineAfterSeconds")),
		     OFFLINE_AFTER);
	const char *nid = it_json_str(r.json, "nid");
	REQUIRE(nid != NULL);
	/* The certificate names the node, for clients only, for 30 days. */
	X509 *cert = parse_cert(it_json_str(r.json, "certificate"));
	REQUIRE(cert != NULL);
	char cn[128] = "";
	X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
	CHECK_STR_EQ(cn, it_fmt("node:%s:%s", owner.aid, nid));
	CHECK(X509_check_purpose(cert, X509_PURPOSE_SSL_CLIENT, 0) == 1);
	CHECK(X509_check_purpose(cert, X509_PURPOSE_SSL_SERVER, 0) != 1);
	int days = 0, secs = 0;
	ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert), X509_get0_notAfter(cert));
	CHECK_MSG(days == 30, "lifetime %d days", days);
	const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
	CHECK(ASN1_STRING_length(serial) >= 8);
	X509_free(cert);
	it_secret_add(it_json_str(r.json, "privateKey"));

	/* It is a node of the cluster now, provisioning, and the cluster too. */
	struct it_resp n =
		it_call(srv, "GET", owner.token, NULL, "/%s/%s/nodes/%s", owner.aid, cid, nid);
	CHECK_STATUS(n, 200);
	CHECK_STR_EQ(it_json_str(n.json, "status"), "provisioning");
	CHECK_STR_EQ(it_json_str(n.json, "machineId"), "machine-plain");
	CHECK_STR_EQ(it_json_str(n.json, "vpnIp"), it_json_str(r.json, "vpnIp"));
	CHECK(it_json_str(n.json, "certNotAfter") != NULL);
	it_resp_free(&n);
	CHECK_STR_EQ(cluster_status(cid), "provisioning");
	it_resp_free(&r);

	/* The token was single-use. */
	r = register_raw(token, "machine-plain-2", NULL);
	CHECK_ERROR(r, 401, "agent.token_invalid");
	it_resp_free(&r);
}

TEST(register_with_csr)
{
	char token[64];
	REQUIRE(join_token(cid, "worker", 1, token));
	EVP_PKEY *key = EVP_EC_gen("P-256");
	char *csr = make_csr(key, key);
	struct it_resp r = register_raw(token, "machine-csr", csr);
	CHECK_STATUS(r, 201);
	CHECK(json_object_get(r.json, "privateKey") == NULL);
	X509 *cert = parse_cert(it_json_str(r.json, "certificate") ?: "");
	REQUIRE(cert != NULL);
	/* The CSR's key, not its subject. */
	CHECK(EVP_PKEY_eq(X509_get0_pubkey(cert), key) == 1);
	char cn[128] = "";
	X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
	CHECK_STR_EQ(cn, it_fmt("node:%s:%s", owner.aid, it_json_str(r.json, "nid") ?: ""));
	X509_free(cert);

	/* The node answers with it and its own key. */
	struct it_node n = { .cert = strdup(it_json_str(r.json, "certificate")),
			     .key = pem_of_key(key) };
	it_resp_free(&r);
	r = beat(&n);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	it_node_free(&n);
	free(csr);
	EVP_PKEY_free(key);
}

TEST(bad_csrs_and_tokens)
{
	char token[64];
	REQUIRE(join_token(cid, "worker", 1, token));
	EVP_PKEY *p256 = EVP_EC_gen("P-256");
	EVP_PKEY *other = EVP_EC_gen("P-256");
	EVP_PKEY *rsa1024 = EVP_RSA_gen(1024);
	EVP_PKEY *p224 = EVP_EC_gen("P-224");
	char *bad_signature = make_csr(p256, other);
	char *weak_rsa = make_csr(rsa1024, rsa1024);
	char *weak_curve = make_csr(p224, p224);
	const struct {
		const char *csr, *reason;
	} cases[] = {
		{ "garbage", "malformed" },
		{ "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
		  "malformed" },
		{ bad_signature, "bad_signature" },
		{ weak_rsa, "weak_key" },
		{ weak_curve, "weak_key" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct it_resp r = register_raw(token, "machine-badcsr", cases[i].csr);
		CHECK_ERROR(r, 400, "agent.csr_invalid");
		CHECK_STR_EQ(it_json_str(r.json, "reason"), cases[i].reason);
		it_resp_free(&r);
	}
	/* None of them used the token. */
	const char *p[] = { token };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT uses FROM join_tokens WHERE token_hash ="
				 " sha256(convert_to($1, 'UTF8'))",
				 1, p),
		     0);

	/* Bad tokens of every kind: one answer. */
	char unknown[54], expired[64], revoked[64];
	it_make_token("rnj_", unknown);
	REQUIRE(join_token(cid, "worker", 1, expired));
	REQUIRE(join_token(cid, "worker", 1, revoked));
	const char *ep[] = { expired }, *rp[] = { revoked };
	CHECK(it_db_exec(pg,
			 "UPDATE join_tokens SET expires_at = now() - interval '1 s'"
			 " WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
			 1, ep));
	CHECK(it_db_exec(pg,
			 "UPDATE join_tokens SET revoked_at = now()"
			 " WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
			 1, rp));
	char pat[64];
	snprintf(pat, sizeof(pat), "%s", owner.token);
	const char *tokens[] = { unknown, expired, revoked, "rnj_short", pat };
	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		struct it_resp r = register_raw(tokens[i], "machine-badtoken", NULL);
		CHECK_ERROR(r, 401, "agent.token_invalid");
		it_resp_free(&r);
	}
	/* Unknown members and missing ones are refused like everywhere. */
	struct it_resp r = agent_call(
		"POST", "/agent/v1/register",
		it_fmt("{\"token\":\"%s\",\"machineId\":\"m\",\"nid\":\"x\"}", token), NULL);
	CHECK_ERROR(r, 400, "validation.unknown_field");
	it_resp_free(&r);
	r = agent_call("POST", "/agent/v1/register", it_fmt("{\"token\":\"%s\"}", token), NULL);
	CHECK_ERROR(r, 400, "validation.required");
	it_resp_free(&r);
	free(bad_signature);
	free(weak_rsa);
	free(weak_curve);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(other);
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(p224);
}

TEST(same_machine_twice)
{
	char token[64];
	REQUIRE(join_token(cid, "worker", 2, token));
	struct it_resp r = register_raw(token, "machine-twice", NULL);
	CHECK_STATUS(r, 201);
	it_resp_free(&r);
	r = register_raw(token, "machine-twice", NULL);
	CHECK_ERROR(r, 409, "node.exists");
	it_resp_free(&r);
	const char *p[] = { token };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT uses FROM join_tokens WHERE token_hash ="
				 " sha256(convert_to($1, 'UTF8'))",
				 1, p),
		     1);
	/* The same machine in another cluster is another node. */
	char other[8], other_token[64];
	REQUIRE(new_cluster("other", other));
	REQUIRE(join_token(other, "worker", 1, other_token));
	r = register_raw(other_token, "machine-twice", NULL);
	CHECK_STATUS(r, 201);
	CHECK_STR_EQ(it_json_str(r.json, "cid"), other);
	it_resp_free(&r);
}

#define RACERS 20

struct racer {
	const char *token;
	int index;
	long status;
};

static void *race_register(void *arg)
{
	struct racer *rc = arg;
	struct it_resp r =
		register_raw(rc->token, it_fmt("racer-%d-%d", (int)getpid(), rc->index), NULL);
	rc->status = r.status;
	it_resp_free(&r);
	return NULL;
}

TEST(single_use_token_raced)
{
	char race_cid[8], token[64];
	REQUIRE(new_cluster("race", race_cid));
	REQUIRE(join_token(race_cid, "worker", 1, token));
	struct racer racers[RACERS];
	pthread_t threads[RACERS];
	for (int i = 0; i < RACERS; i++) {
		racers[i] = (struct racer){ token, i, 0 };
		pthread_create(&threads[i], NULL, race_register, &racers[i]);
	}
	int created = 0, refused = 0;
	for (int i = 0; i < RACERS; i++) {
		pthread_join(threads[i], NULL);
		created += racers[i].status == 201;
		refused += racers[i].status == 401;
	}
	CHECK_INT_EQ(created, 1);
	CHECK_INT_EQ(refused, RACERS - 1);
	const char *p[] = { owner.aid, race_cid };
	CHECK_INT_EQ(
		it_db_count(pg, "SELECT count(*) FROM nodes WHERE aid = $1 AND cid = $2", 2, p), 1);
}

TEST(vpn_addresses)
{
	char vpn_cid[8], token[64];
	REQUIRE(new_cluster("vpn", vpn_cid));
	REQUIRE(join_token(vpn_cid, "worker", 10, token));
	struct it_resp c =
		it_call(srv, "GET", owner.token, NULL, "/%s/clusters/%s", owner.aid, vpn_cid);
	int index = (int)json_integer_value(json_object_get(c.json, "clusterIndex"));
	it_resp_free(&c);
	struct it_node nodes[4];
	for (int i = 0; i < 4; i++) {
		REQUIRE(register_node(token, &nodes[i]));
		CHECK_STR_EQ(nodes[i].vpn_ip, it_fmt("172.24.%d.%d", index, i + 1));
	}
	/* Deleting the second frees .2 for the next node. */
	struct it_resp r = it_call(srv, "DELETE", owner.token, NULL, "/%s/%s/nodes/%s", owner.aid,
				   vpn_cid, nodes[1].nid);
	CHECK_STATUS(r, 202);
	CHECK(it_is_uuid(it_json_str(r.json, "jobId")));
	it_resp_free(&r);
	struct it_node next;
	REQUIRE(register_node(token, &next));
	CHECK_STR_EQ(next.vpn_ip, it_fmt("172.24.%d.2", index));
	it_node_free(&next);
	for (int i = 0; i < 4; i++)
		it_node_free(&nodes[i]);
}

/* ---- mutual TLS --------------------------------------------------------- */

/* A certificate for an existing node from a CA of the test's own. */
static void foreign_cert(const char *nid, struct it_node *out)
{
	struct pki_ca *other = pki_ca_generate();
	struct pki_issued issued;
	if (pki_issue_node_cert(other, NULL, owner.aid, nid, 3600, &issued) == PKI_CSR_OK) {
		out->cert = strdup(issued.cert_pem);
		out->key = strdup(issued.key_pem);
		pki_issued_free(&issued);
	}
	pki_ca_destroy(other);
}

/* A certificate of the server's own CA for nid, lifetime seconds from now
 * (negative: expired), recorded as issued when record is true. */
static void own_cert(const char *nid, long lifetime, bool record, struct it_node *out)
{
	struct pki_issued issued;
	if (pki_issue_node_cert(test_ca, NULL, owner.aid, nid, lifetime, &issued) != PKI_CSR_OK)
		return;
	out->cert = strdup(issued.cert_pem);
	out->key = strdup(issued.key_pem);
	if (record) {
		const char *p[] = { issued.serial, owner.aid, nid,
				    it_fmt("%lld", (long long)issued.not_after_us) };
		CHECK(it_db_exec(
			pg,
			"INSERT INTO node_certificates (serial, aid, nid, not_after) VALUES"
			" ($1, $2, $3, timestamptz 'epoch' + $4::int8 * interval '1 us')",
			4, p));
	}
	pki_issued_free(&issued);
}

TEST(mutual_tls)
{
	char token[64];
	REQUIRE(join_token(cid, "worker", 1, token));
	struct it_node good;
	REQUIRE(register_node(token, &good));

	struct it_resp r = beat(NULL);
	CHECK_ERROR(r, 401, "agent.cert_invalid");
	it_resp_free(&r);

	struct it_node foreign = { 0 }, expired = { 0 }, unrecorded = { 0 };
	foreign_cert(good.nid, &foreign);
	own_cert(good.nid, -100, true, &expired);
	own_cert(good.nid, 3600, false, &unrecorded);
	REQUIRE(foreign.cert && expired.cert && unrecorded.cert);
	const struct it_node *refused[] = { &foreign, &expired, &unrecorded };
	for (int i = 0; i < 3; i++) {
		r = beat(refused[i]);
		CHECK_ERROR(r, 401, "agent.cert_invalid");
		it_resp_free(&r);
	}
	/* A certificate with another node's key: the TLS handshake fails. */
	struct it_node mismatched = { .cert = good.cert, .key = foreign.key };
	r = beat(&mismatched);
	CHECK_MSG(r.status == 0 || r.status == 401, "mismatched key: %ld", r.status);
	it_resp_free(&r);

	r = beat(&good);
	CHECK_STATUS(r, 200);
	CHECK(json_is_true(json_object_get(r.json, "isHealthy")));
	CHECK(json_is_false(json_object_get(r.json, "renewCertificate")));
	CHECK_INT_EQ(json_integer_value(json_object_get(r.json, "offlineAfterSeconds")),
		     OFFLINE_AFTER);
	CHECK(json_is_array(json_object_get(r.json, "cancel")));
	it_resp_free(&r);

	/* The public API is not on the agent listener, nor agents on the API. */
	r = agent_call("GET", "/healthz", NULL, &good);
	CHECK_ERROR(r, 404, "route.not_found");
	it_resp_free(&r);
	r = it_call(srv, "POST", NULL, "{}", "/agent/v1/heartbeat");
	CHECK_ERROR(r, 404, "route.not_found");
	it_resp_free(&r);

	/* Deleting the node revokes its certificate at once, also on the
	 * connection the agent keeps open. */
	struct it_req keep = { .method = "POST",
			       .path = "/agent/v1/heartbeat",
			       .body = "{}",
			       .agent = true,
			       .ca_pem = ca_pem,
			       .cert_pem = good.cert,
			       .key_pem = good.key,
			       .reuse_connection = true };
	it_request(srv, &keep, &r);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	r = it_call(srv, "DELETE", owner.token, NULL, "/%s/%s/nodes/%s", owner.aid, cid, good.nid);
	CHECK_STATUS(r, 202);
	it_resp_free(&r);
	it_request(srv, &keep, &r);
	CHECK_ERROR(r, 403, "agent.cert_revoked");
	CHECK_INT_EQ(r.connects, 0);
	it_resp_free(&r);
	r = beat(&good);
	CHECK_ERROR(r, 403, "agent.cert_revoked");
	it_resp_free(&r);
	const char *p[] = { owner.aid, good.nid };
	CHECK_INT_EQ(
		it_db_count(pg,
			    "SELECT count(*) FROM node_certificates WHERE aid = $1 AND nid = $2"
			    " AND revoked_at IS NULL",
			    2, p),
		0);
	it_node_free(&good);
	it_node_free(&foreign);
	it_node_free(&expired);
	it_node_free(&unrecorded);
}

/* ---- heartbeats and status ---------------------------------------------- */

static long long audit_count(const char *action, const char *nid)
{
	const char *p[] = { owner.aid, action, nid };
	return it_db_count(pg,
			   "SELECT count(*) FROM audit_events WHERE aid = $1 AND action = $2"
			   " AND target_id = $3",
			   3, p);
}

TEST(online_offline_and_cluster_status)
{
	char status_cid[8], cp_token[64], worker_token[64];
	REQUIRE(new_cluster("status", status_cid));
	REQUIRE(join_token(status_cid, "controlplane", 1, cp_token));
	REQUIRE(join_token(status_cid, "worker", 1, worker_token));
	CHECK_STR_EQ(cluster_status(status_cid), "pending");
	struct it_node cp, worker;
	REQUIRE(register_node(cp_token, &cp));
	REQUIRE(register_node(worker_token, &worker));
	CHECK_STR_EQ(cluster_status(status_cid), "provisioning");
	snprintf(cid, sizeof(cid), "%s", status_cid); /* node_status reads cid */

	/* The first beat makes a node online at once. */
	struct it_resp r = beat(&cp);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	CHECK_STR_EQ(node_status(&cp), "online");
	r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/nodes/%s", owner.aid, status_cid,
		    cp.nid);
	CHECK_STR_EQ(it_json_str(r.json, "conditions.0.type"), "Ready");
	CHECK_STR_EQ(it_json_str(r.json, "conditions.0.status"), "True");
	CHECK_STR_EQ(it_json_str(r.json, "conditions.0.reason"), "NodeOnline");
	CHECK_STR_EQ(it_json_str(r.json, "externalIp"), "203.0.113.7");
	CHECK(it_json_str(r.json, "lastHeartbeatAt") != NULL);
	it_resp_free(&r);
	/* Still provisioning: no credentials yet. */
	CHECK_STR_EQ(cluster_status(status_cid), "provisioning");

	/* Credentials: from a worker refused, from the control plane stored. */
	const char *creds = "{\"caCert\":\"-----BEGIN CERTIFICATE-----\\nQ0FDRVJU\\n-----END "
			    "CERTIFICATE-----\\n\",\"adminCert\":\"ADMINCERT-TEXT\",\"adminKey\":"
			    "\"ADMIN-KEY-SECRET-7f3a9c\",\"kubernetesVersion\":\"v1.31.2\"}";
	it_secret_add("ADMIN-KEY-SECRET-7f3a9c");
	r = agent_call("POST", "/agent/v1/cluster-credentials", creds, &worker);
	CHECK_ERROR(r, 403, "agent.not_control_plane");
	it_resp_free(&r);
	r = it_call(srv, "GET", owner.token, NULL, "/%s/clusters/%s/kubeconfig", owner.aid,
		    status_cid);
	CHECK_ERROR(r, 409, "cluster.not_active");
	it_resp_free(&r);
	r = agent_call("POST", "/agent/v1/cluster-credentials", creds, &cp);
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
	CHECK_STR_EQ(cluster_status(status_cid), "active");
	r = it_call(srv, "GET", owner.token, NULL, "/%s/clusters/%s/kubeconfig", owner.aid,
		    status_cid);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_header(&r, "Content-Type"), "text/yaml; charset=utf-8");
	CHECK(r.body && strstr(r.body, "kind: Config") != NULL);
	/* base64("ADMIN-KEY-SECRET-7f3a9c") */
	CHECK(r.body &&
	      strstr(r.body, "client-key-data: QURNSU4tS0VZLVNFQ1JFVC03ZjNhOWM=") != NULL);
	CHECK(r.body && strstr(r.body, it_fmt("server: https://k8s.%s.", status_cid)) != NULL);
	it_resp_free(&r);

	/* Silence: offline after OFFLINE_AFTER seconds, once; the cluster has no
	 * control plane online: degraded. */
	CHECK(wait_node_status(&cp, "offline", (OFFLINE_AFTER + 3) * 1000));
	CHECK_STR_EQ(cluster_status(status_cid), "degraded");
	r = it_call(srv, "GET", owner.token, NULL, "/%s/%s/nodes/%s", owner.aid, status_cid,
		    cp.nid);
	CHECK_STR_EQ(it_json_str(r.json, "conditions.0.status"), "False");
	CHECK_STR_EQ(it_json_str(r.json, "conditions.0.reason"), "NodeOffline");
	it_resp_free(&r);
	it_sleep_ms(1500);
	CHECK_INT_EQ(audit_count("node.offline", cp.nid), 1);
	CHECK_INT_EQ(audit_count("node.online", cp.nid), 1);
	/* A worker that never beat is not "offline": it never was online. */
	CHECK_STR_EQ(node_status(&worker), "provisioning");

	/* The next beat: online again, active again. */
	r = beat(&cp);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	CHECK_STR_EQ(node_status(&cp), "online");
	CHECK_STR_EQ(cluster_status(status_cid), "active");
	CHECK_INT_EQ(audit_count("node.online", cp.nid), 2);

	/* Beats keep it online, written in batches. */
	for (int i = 0; i < 6; i++) {
		r = beat(&cp);
		CHECK_STATUS(r, 200);
		it_resp_free(&r);
		it_sleep_ms(700);
	}
	CHECK_STR_EQ(node_status(&cp), "online");
	CHECK_INT_EQ(audit_count("node.offline", cp.nid), 1);
	it_node_free(&cp);
	it_node_free(&worker);
}

/* A cluster of account u with cid (when not NULL: set in the database before
 * anything refers to the cluster, so that two accounts have the same cid),
 * a control plane that reported credentials, and its kubeconfig written to
 * path. The node in cp. */
static bool active_cluster(const struct it_user *u, const char *want_cid, char out_cid[8],
			   struct it_node *cp, const char *path)
{
	if (!it_new_cluster(srv, u, "kubeconfig", out_cid))
		return false;
	if (want_cid) {
		const char *p[] = { u->aid, out_cid, want_cid };
		if (!it_db_exec(pg,
				"UPDATE clusters SET cid = $3, domain = $3 || substr(domain, 4)"
				" WHERE aid = $1 AND cid = $2",
				3, p))
			return false;
		snprintf(out_cid, 8, "%s", want_cid);
	}
	char token[64];
	if (!it_join_token(srv, u, out_cid, "controlplane", 1, token) ||
	    !it_agent_register(srv, ca_pem, token, cp))
		return false;
	struct it_resp r = agent_call("POST", "/agent/v1/heartbeat", "{}", cp);
	bool ok = r.status == 200;
	it_resp_free(&r);
	r = agent_call("POST", "/agent/v1/cluster-credentials",
		       "{\"caCert\":\"-----BEGIN CERTIFICATE-----\\nQ0E=\\n-----END "
		       "CERTIFICATE-----\\n\",\"adminCert\":\"ADMINCERT\",\"adminKey\":\"KEY\","
		       "\"kubernetesVersion\":\"v1.31.2\"}",
		       cp);
	ok = ok && r.status == 204;
	it_resp_free(&r);
	r = it_call(srv, "GET", u->token, NULL, "/%s/clusters/%s/kubeconfig", u->aid, out_cid);
	ok = ok && r.status == 200 && r.body;
	FILE *f = ok ? fopen(path, "w") : NULL;
	if (f) {
		fputs(r.body, f);
		fclose(f);
	}
	it_resp_free(&r);
	return ok && f;
}

/* Kubeconfigs of two accounts' clusters with the same cid merge into one
 * with both clusters, users and contexts (named after the cluster domain),
 * as the real kubectl reads them; and the audit entries the agents' requests
 * wrote carry those requests' trace ids and addresses. */
TEST(kubeconfigs_merge_and_agent_audit)
{
	struct it_user other;
	REQUIRE(it_signup(srv, &other));
	char cid_a[8], cid_b[8];
	struct it_node cp_a, cp_b;
	char path_a[256], path_b[256];
	snprintf(path_a, sizeof(path_a), "%s/kubeconfig-a-%d", it_env.tmpdir, (int)getpid());
	snprintf(path_b, sizeof(path_b), "%s/kubeconfig-b-%d", it_env.tmpdir, (int)getpid());
	REQUIRE(active_cluster(&owner, NULL, cid_a, &cp_a, path_a));
	REQUIRE(active_cluster(&other, cid_a, cid_b, &cp_b, path_b));
	char *out = NULL;
	int code = it_shell_output(
		it_fmt("KUBECONFIG=%s:%s kubectl config get-contexts -o name", path_a, path_b),
		&out);
	CHECK_INT_EQ(code, 0);
	const char *domain_a = it_fmt("%s.%s.", cid_a, owner.aid);
	CHECK_MSG(out && strstr(out, domain_a) != NULL, "contexts: %s", out ? out : "");
	const char *domain_b = it_fmt("%s.%s.", cid_b, other.aid);
	CHECK_MSG(out && strstr(out, domain_b) != NULL, "contexts: %s", out ? out : "");
	free(out);
	out = NULL;
	code = it_shell_output(it_fmt("KUBECONFIG=%s:%s kubectl config view --flatten -o "
				      "jsonpath='{range .users[*]}{.name}{\" \"}{end}"
				      "{range .clusters[*]}{.name}{\" \"}{end}'",
				      path_a, path_b),
			       &out);
	CHECK_INT_EQ(code, 0);
	CHECK_MSG(out && strstr(out, it_fmt("admin@%s", domain_a)) &&
			  strstr(out, it_fmt("admin@%s", domain_b)),
		  "users and clusters: %s", out ? out : "");
	free(out);

	/* The node's registration and credentials: trace id and address. */
	const char *p[] = { other.aid, cp_b.nid };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM audit_events WHERE aid = $1"
				 " AND actor_type = 'node' AND actor_id = $2"
				 " AND action IN ('node.register', 'cluster.credentials')"
				 " AND length(trace_id) >= 8 AND ip = '127.0.0.1'",
				 2, p),
		     2);
	it_node_free(&cp_a);
	it_node_free(&cp_b);
}

TEST(restart_grace_period)
{
	char grace_cid[8], token[64];
	REQUIRE(new_cluster("grace", grace_cid));
	REQUIRE(join_token(grace_cid, "worker", 2, token));
	struct it_node a, b;
	REQUIRE(register_node(token, &a));
	REQUIRE(register_node(token, &b));
	snprintf(cid, sizeof(cid), "%s", grace_cid);
	struct it_resp r = beat(&a);
	it_resp_free(&r);
	r = beat(&b);
	it_resp_free(&r);
	CHECK_STR_EQ(node_status(&a), "online");
	CHECK_STR_EQ(node_status(&b), "online");

	/* Down for longer than OFFLINE_AFTER. */
	CHECK_INT_EQ(it_server_stop(srv), 0);
	it_sleep_ms((OFFLINE_AFTER + 1) * 1000);
	srv = it_server_start("agent-restarted", extra_env);
	REQUIRE(srv != NULL);
	/* Within the grace period nothing is marked offline... */
	it_sleep_ms(1500);
	CHECK_STR_EQ(node_status(&a), "online");
	CHECK_STR_EQ(node_status(&b), "online");
	r = beat(&a);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	/* ...after it, the silent node is, the beating one is not. */
	CHECK(wait_node_status(&b, "offline", (OFFLINE_AFTER + 3) * 1000));
	r = beat(&a);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	CHECK_STR_EQ(node_status(&a), "online");
	it_node_free(&a);
	it_node_free(&b);
}

TEST(renewal)
{
	char token[64];
	REQUIRE(join_token(cid, "worker", 1, token));
	struct it_node n;
	REQUIRE(register_node(token, &n));
	/* A recorded certificate with 60 s left of 360 s: renewal is due. */
	struct it_node old = { 0 };
	own_cert(n.nid, 60, true, &old);
	REQUIRE(old.cert != NULL);
	struct it_resp r = beat(&old);
	CHECK_STATUS(r, 200);
	CHECK(json_is_true(json_object_get(r.json, "renewCertificate")));
	it_resp_free(&r);

	EVP_PKEY *key = EVP_EC_gen("P-256");
	char *csr = make_csr(key, key);
	char *csr_json = it_json_text(csr);
	r = agent_call("POST", "/agent/v1/certificate", it_fmt("{\"csr\":%s}", csr_json), &old);
	CHECK_STATUS(r, 200);
	CHECK(json_object_get(r.json, "privateKey") == NULL);
	CHECK_STR_EQ(it_json_str(r.json, "caCert"), ca_pem);
	struct it_node renewed = { .cert = strdup(it_json_str(r.json, "certificate") ?: ""),
				   .key = pem_of_key(key) };
	it_resp_free(&r);
	r = beat(&renewed);
	CHECK_STATUS(r, 200);
	CHECK(json_is_false(json_object_get(r.json, "renewCertificate")));
	it_resp_free(&r);
	/* The old one keeps working until it expires. */
	r = beat(&old);
	CHECK_STATUS(r, 200);
	it_resp_free(&r);
	/* Without a CSR a key comes back. */
	r = agent_call("POST", "/agent/v1/certificate", "{}", &renewed);
	CHECK_STATUS(r, 200);
	CHECK(it_json_str(r.json, "privateKey") != NULL);
	if (it_json_str(r.json, "privateKey"))
		it_secret_add(it_json_str(r.json, "privateKey"));
	it_resp_free(&r);
	/* A garbage CSR is refused. */
	r = agent_call("POST", "/agent/v1/certificate", "{\"csr\":\"junk\"}", &renewed);
	CHECK_ERROR(r, 400, "agent.csr_invalid");
	it_resp_free(&r);
	free(csr);
	free(csr_json);
	EVP_PKEY_free(key);
	it_node_free(&n);
	it_node_free(&old);
	it_node_free(&renewed);
}

TEST(smaller_calls)
{
	char small_cid[8], token[64];
	REQUIRE(new_cluster("small", small_cid));
	REQUIRE(join_token(small_cid, "controlplane", 2, token));
	struct it_node a, b;
	REQUIRE(register_node(token, &a));
	REQUIRE(register_node(token, &b));

	struct it_resp r = agent_call("POST", "/agent/v1/status",
				      "{\"status\":\"INSTALLING\",\"message\":\"k3s\"}", &a);
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
	r = agent_call("POST", "/agent/v1/logs",
		       "{\"type\":\"install\",\"severity\":2,\"message\":\"slow disk\","
		       "\"remedy\":\"use an SSD\"}",
		       &a);
	CHECK_STATUS(r, 204);
	it_resp_free(&r);
	r = agent_call("POST", "/agent/v1/logs",
		       "{\"type\":\"x\",\"severity\":4,\"message\":\"m\"}", &a);
	CHECK_ERROR(r, 400, "validation.range");
	it_resp_free(&r);
	const char *p[] = { owner.aid, a.nid };
	CHECK_INT_EQ(it_db_count(pg,
				 "SELECT count(*) FROM node_events WHERE aid = $1 AND nid = $2"
				 " AND details->>'remedy' = 'use an SSD'",
				 2, p),
		     1);

	/* VPN: each sees the other once both have reported. */
	r = agent_call("POST", "/agent/v1/vpn/sync",
		       "{\"nodePeer\":{\"pubKey\":\"A-KEY\",\"endpointIp\":\"198.51.100.1\"},"
		       "\"nodeIsReady\":true}",
		       &a);
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(json_array_size(json_object_get(r.json, "peers")), 0);
	it_resp_free(&r);
	r = agent_call("POST", "/agent/v1/vpn/sync",
		       "{\"nodePeer\":{\"pubKey\":\"B-KEY\",\"endpointIp\":\"198.51.100.2\"}}", &b);
	CHECK_STATUS(r, 200);
	CHECK_STR_EQ(it_json_str(r.json, "peers.0.pubKey"), "A-KEY");
	CHECK_STR_EQ(it_json_str(r.json, "peers.0.vpnIp"), a.vpn_ip);
	CHECK_STR_EQ(it_json_str(r.json, "peers.0.endpointIp"), "198.51.100.1");
	it_resp_free(&r);
	r = agent_call("POST", "/agent/v1/vpn/sync", "{\"nodePeer\":\"no\"}", &b);
	CHECK_ERROR(r, 400, "validation.type");
	it_resp_free(&r);
	char long_key[200];
	memset(long_key, 'k', 150);
	long_key[150] = '\0';
	r = agent_call("POST", "/agent/v1/vpn/sync",
		       it_fmt("{\"nodePeer\":{\"pubKey\":\"%s\",\"endpointIp\":\"x\"}}", long_key),
		       &b);
	CHECK_ERROR(r, 400, "validation.length");
	it_resp_free(&r);

	/* Control planes and the VIP: only online ones count. */
	r = agent_call("GET", "/agent/v1/control-plane-nodes", NULL, &a);
	CHECK_STATUS(r, 200);
	CHECK_INT_EQ(json_array_size(json_object_get(r.json, "controlPlaneNodes")), 0);
	it_resp_free(&r);
	r = agent_call("GET", "/agent/v1/vip-holder", NULL, &a);
	CHECK_STATUS(r, 200);
	CHECK(json_is_false(json_object_get(r.json, "isHolder")));
	it_resp_free(&r);
	r = beat(&a);
	it_resp_free(&r);
	r = beat(&b);
	it_resp_free(&r);
	r = agent_call("GET", "/agent/v1/control-plane-nodes", NULL, &b);
	CHECK_INT_EQ(json_array_size(json_object_get(r.json, "controlPlaneNodes")), 2);
	CHECK_STR_EQ(it_json_str(r.json, "controlPlaneNodes.0.kubeEndpoint"),
		     it_fmt("https://%s:6443", a.vpn_ip));
	it_resp_free(&r);
	r = agent_call("GET", "/agent/v1/vip-holder", NULL, &a);
	CHECK(json_is_true(json_object_get(r.json, "isHolder")));
	CHECK_INT_EQ(json_integer_value(json_object_get(r.json, "generation")), 1);
	it_resp_free(&r);
	/* b asks: a is online and holds it. */
	r = agent_call("GET", "/agent/v1/vip-holder", NULL, &b);
	CHECK(json_is_false(json_object_get(r.json, "isHolder")));
	CHECK_INT_EQ(json_integer_value(json_object_get(r.json, "generation")), 1);
	it_resp_free(&r);
	it_node_free(&a);
	it_node_free(&b);
}

/* ---- secrets at rest -------------------------------------------------------- */

TEST(no_secret_in_a_dump)
{
	const char *dump_path = it_fmt("%s/agent-dump-%d.sql", it_env.tmpdir, (int)getpid());
	char path[512];
	snprintf(path, sizeof(path), "%s", dump_path);
	CHECK_INT_EQ(it_shell(it_fmt("/usr/lib/postgresql/15/bin/pg_dump -d '%s' -f %s",
				     it_env.database_url, path)),
		     0);
	FILE *f = fopen(path, "r");
	REQUIRE(f != NULL);
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *text = malloc((size_t)size + 1);
	REQUIRE(text != NULL);
	size_t n = fread(text, 1, (size_t)size, f);
	text[n] = '\0';
	fclose(f);
	CHECK(n > 1000);
	CHECK(strstr(text, "node_certificates") != NULL); /* the dump has the tables */
	CHECK(strstr(text, "PRIVATE KEY") == NULL);
	CHECK(strstr(text, "ADMIN-KEY-SECRET") == NULL);
	CHECK(strstr(text, "QURNSU4tS0VZLVNFQ1JFVC") == NULL);
	for (size_t i = 0; i < it_secret_count(); i++)
		CHECK_MSG(strstr(text, it_secret(i)) == NULL, "the dump holds secret %.40s",
			  it_secret(i));
	free(text);
	unlink(path);
}

/* ---- setup -------------------------------------------------------------------- */

/* The server's CA with its key, opened like the server does. */
static bool open_test_ca(void)
{
	uint8_t key[SEAL_KEY_LEN];
	char err[256], origin[512];
	if (!crypto_master_key_load(it_env.master_key, it_env.tmpdir, key, origin, sizeof(origin),
				    err, sizeof(err)))
		return false;
	struct seal_keyring *ring = crypto_keyring_create((const uint8_t(*)[SEAL_KEY_LEN])key, 1);
	PGresult *res = PQexec(pg, "SELECT cert_pem, key_sealed FROM agent_ca");
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	if (ok) {
		ca_pem = strdup(PQgetvalue(res, 0, 0));
		size_t len;
		uint8_t *key_pem =
			crypto_unseal(ring, PQgetvalue(res, 0, 1), "system/agent_ca/1", &len);
		test_ca = key_pem ? pki_ca_load(ca_pem, (const char *)key_pem) : NULL;
		if (key_pem)
			crypto_free_secret(key_pem, len);
		ok = test_ca != NULL;
	}
	PQclear(res);
	crypto_keyring_destroy(ring);
	return ok;
}

int main(void)
{
	if (!it_init("it_agent")) {
		test_failed++;
		return it_finish("it_agent");
	}
	srv = it_server_start("agent", extra_env);
	pg = srv ? it_db_connect(it_env.database_url) : NULL;
	bool ready =
		srv && pg && it_signup(srv, &owner) && new_cluster("agents", cid) && open_test_ca();
	if (!ready) {
		test_failed++;
		fprintf(stderr, "FAIL it_agent: no server, database, user, cluster or CA\n");
		return it_finish("it_agent");
	}
	RUN(register_without_csr);
	RUN(register_with_csr);
	RUN(bad_csrs_and_tokens);
	RUN(same_machine_twice);
	RUN(single_use_token_raced);
	RUN(vpn_addresses);
	RUN(mutual_tls);
	RUN(renewal);
	RUN(smaller_calls);
	RUN(online_offline_and_cluster_status);
	RUN(kubeconfigs_merge_and_agent_audit);
	RUN(restart_grace_period);
	RUN(no_secret_in_a_dump);
	CHECK_INT_EQ(it_server_stop(srv), 0);
	PQfinish(pg);
	pki_ca_destroy(test_ca);
	free(ca_pem);
	return it_finish("it_agent");
}
