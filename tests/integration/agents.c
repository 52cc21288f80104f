/* Node agents for integration tests (see agents.h). */
#include "agents.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void it_node_free(struct it_node *n)
{
	free(n->cert);
	free(n->key);
	memset(n, 0, sizeof(*n));
}

char *it_agent_ca(PGconn *db)
{
	PGresult *res = PQexec(db, "SELECT cert_pem FROM agent_ca WHERE id = 1");
	char *pem = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
			    ? strdup(PQgetvalue(res, 0, 0))
			    : NULL;
	PQclear(res);
	return pem;
}

struct it_resp it_agent_call(const struct it_server *s, const char *ca, const struct it_node *as,
			     const char *method, const char *path, const char *body)
{
	struct it_req req = { .method = method,
			      .path = path,
			      .body = body,
			      .agent = true,
			      .ca_pem = ca,
			      .cert_pem = as ? as->cert : NULL,
			      .key_pem = as ? as->key : NULL,
			      .timeout_ms = 90000 };
	struct it_resp r;
	it_request(s, &req, &r);
	return r;
}

char *it_json_text(const char *s)
{
	json_t *j = json_string(s);
	char *out = json_dumps(j, JSON_ENCODE_ANY);
	json_decref(j);
	return out;
}

struct it_resp it_agent_register_raw(const struct it_server *s, const char *ca, const char *token,
				     const char *machine, const char *csr)
{
	char *csr_json = csr ? it_json_text(csr) : NULL;
	char body[8192];
	snprintf(body, sizeof(body),
		 "{\"token\":\"%s\",\"machineId\":\"%s\",\"hostname\":\"host-%s\","
		 "\"os\":\"ubuntu-24.04\",\"agentVersion\":\"1.5.5\"%s%s}",
		 token, machine, machine, csr_json ? ",\"csr\":" : "", csr_json ? csr_json : "");
	free(csr_json);
	return it_agent_call(s, ca, NULL, "POST", "/agent/v1/register", body);
}

bool it_agent_register(const struct it_server *s, const char *ca, const char *token,
		       struct it_node *out)
{
	static atomic_int machines;
	memset(out, 0, sizeof(*out));
	char machine[64];
	snprintf(machine, sizeof(machine), "machine-%d-%d", (int)getpid(),
		 atomic_fetch_add(&machines, 1));
	struct it_resp r = it_agent_register_raw(s, ca, token, machine, NULL);
	bool ok = r.status == 201 && it_json_str(r.json, "certificate") &&
		  it_json_str(r.json, "privateKey");
	if (ok) {
		snprintf(out->nid, sizeof(out->nid), "%s", it_json_str(r.json, "nid"));
		snprintf(out->vpn_ip, sizeof(out->vpn_ip), "%s", it_json_str(r.json, "vpnIp"));
		snprintf(out->role, sizeof(out->role), "%s", it_json_str(r.json, "role"));
		snprintf(out->job_id, sizeof(out->job_id), "%s",
			 it_json_str(r.json, "jobId") ?: "");
		out->cert = strdup(it_json_str(r.json, "certificate"));
		out->key = strdup(it_json_str(r.json, "privateKey"));
		it_secret_add(out->key);
	} else {
		fprintf(stderr, "registration: %ld %s\n", r.status, r.body);
	}
	it_resp_free(&r);
	return ok;
}

bool it_join_token(const struct it_server *s, const struct it_user *owner, const char *cid,
		   const char *role, int max_uses, char out[64])
{
	struct it_resp r = it_call(s, "POST", owner->token,
				   it_fmt("{\"role\":\"%s\",\"maxUses\":%d}", role, max_uses),
				   "/%s/%s/join-tokens", owner->aid, cid);
	bool ok = r.status == 201 && it_json_str(r.json, "token");
	if (ok)
		snprintf(out, 64, "%s", it_json_str(r.json, "token"));
	else
		fprintf(stderr, "no join token: %ld %s\n", r.status, r.body);
	it_resp_free(&r);
	return ok;
}

bool it_new_cluster(const struct it_server *s, const struct it_user *owner, const char *name,
		    char out[8])
{
	struct it_resp r = it_call(s, "POST", owner->token, it_fmt("{\"name\":\"%s\"}", name),
				   "/%s/clusters", owner->aid);
	bool ok = r.status == 201;
	if (ok)
		snprintf(out, 8, "%s", it_json_str(r.json, "cid"));
	it_resp_free(&r);
	return ok;
}

json_t *it_sim_summary(const char *out)
{
	const char *last = out, *p;
	for (p = out; *p; p++)
		if (*p == '\n' && p[1])
			last = p + 1;
	return json_loads(last, JSON_DECODE_ANY, NULL);
}

json_t *it_job_settled(const struct it_server *s, const char *token, const char *job_id)
{
	for (int i = 0; i < 150; i++) {
		struct it_resp r = it_call(s, "GET", token, NULL, "/jobs/%s", job_id);
		const char *status = it_json_str(r.json, "status");
		if (r.status == 200 && status && strcmp(status, "pending") != 0 &&
		    strcmp(status, "running") != 0) {
			json_t *job = json_incref(r.json);
			it_resp_free(&r);
			return job;
		}
		it_resp_free(&r);
		it_sleep_ms(100);
	}
	return NULL;
}

bool it_invite(const struct it_server *s, const struct it_user *owner, struct it_user *u,
	       const char *role)
{
	if (!it_signup(s, u))
		return false;
	struct it_resp r =
		it_call(s, "POST", owner->token,
			it_fmt("{\"email\":\"%s\",\"accountRole\":\"%s\"}", u->email, role),
			"/%s/invitations", owner->aid);
	char *token = r.status == 201 ? strdup(it_json_str(r.json, "token")) : NULL;
	if (!token)
		fprintf(stderr, "invitation: %ld %s\n", r.status, r.body ? r.body : "");
	it_resp_free(&r);
	if (!token)
		return false;
	r = it_call(s, "POST", u->token, it_fmt("{\"token\":\"%s\"}", token),
		    "/invitations/accept");
	bool ok = r.status == 200;
	it_resp_free(&r);
	free(token);
	return ok;
}

bool it_sim_node_reports_credentials(const struct it_server *s, PGconn *pg, const char *state,
				     char nid[8])
{
	FILE *f = fopen(state, "r");
	char line[16384] = "";
	bool ok = f && fgets(line, sizeof(line), f);
	if (f)
		fclose(f);
	json_t *agent = ok ? json_loads(line, 0, NULL) : NULL;
	struct it_node node = { 0 };
	snprintf(node.nid, sizeof(node.nid), "%s", it_json_str(agent, "nid") ?: "");
	snprintf(nid, 8, "%s", node.nid);
	node.cert = (char *)it_json_str(agent, "certificate");
	node.key = (char *)it_json_str(agent, "privateKey");
	char *ca = agent ? it_agent_ca(pg) : NULL;
	struct it_resp r = { 0 };
	if (ca)
		r = it_agent_call(
			s, ca, &node, "POST", "/agent/v1/cluster-credentials",
			"{\"caCert\":\"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END "
			"CERTIFICATE-----\\n\",\"adminCert\":\"-----BEGIN "
			"CERTIFICATE-----\\nMIIC\\n"
			"-----END CERTIFICATE-----\\n\",\"adminKey\":\"-----BEGIN EC PRIVATE "
			"KEY-----\\nMHc\\n-----END EC PRIVATE KEY-----\\n\"}");
	ok = r.status == 204;
	if (!ok)
		fprintf(stderr, "%s: no node, or its credentials refused: %ld %s\n", state,
			r.status, r.body ? r.body : "");
	it_resp_free(&r);
	free(ca);
	json_decref(agent);
	return ok;
}
