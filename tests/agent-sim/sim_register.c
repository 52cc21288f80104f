/* `agent-sim register`: registers --count agents with one join token, at most
 * --parallel requests in flight, and writes the state file. Each slot is one
 * simulated client that registers agent after agent over its keep-alive
 * connection; agents are numbered from 1 (hostname sim-<n>, machine id
 * sim-<run>-<n>, where <run> is random per process so that runs never collide).
 * With a CSR (the default) the key is made here and never sent; with --no-csr
 * the server's privateKey is kept. A cluster takes at most 253 nodes, so a
 * fleet of thousands is registered with one token per cluster, each run adding
 * to the same state file with --append. */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reg_slot {
	struct sim_req req;
	long n;	       /* the agent in flight, 0 when idle */
	char *key_pem; /* the key of its CSR */
};

struct reg_run {
	const struct sim_opts *o;
	struct sim_net net;
	struct reg_slot *slots;
	size_t nslots;
	struct sim_agent *agents; /* agents[n - 1], filled on success */
	long next;		  /* the next agent to start */
	long registered, failed;
	json_t *codes;
	char run_id[9];
};

static char *registration_body(const struct reg_run *run, long n, const char *csr_pem)
{
	char *machine_id = xasprintf("sim-%s-%ld", run->run_id, n);
	char *hostname = xasprintf("sim-%ld", n);
	json_t *obj = json_pack("{s:s, s:s, s:s, s:s, s:s}", "token", run->o->token, "machineId",
				machine_id, "hostname", hostname, "os", "ubuntu-24.04",
				"agentVersion", SIM_AGENT_VERSION);

	if (csr_pem)
		json_object_set_new(obj, "csr", json_string(csr_pem));
	char *body = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	free(machine_id);
	free(hostname);
	if (!body)
		abort(); /* only out of memory, which already aborts */
	return body;
}

/* False on a local failure (OpenSSL, libcurl) that ends the run. */
static bool start_registration(struct reg_run *run, struct reg_slot *slot, long n)
{
	char *csr_pem = NULL;

	if (!run->o->no_csr) {
		char *cn = xasprintf("sim-%ld", n);
		bool made = sim_pki_key_and_csr(cn, &slot->key_pem, &csr_pem);
		free(cn);
		if (!made)
			return false;
	}
	char *body = registration_body(run, n, csr_pem);
	bool started = sim_req_start(&run->net, &slot->req, "POST", "/agent/v1/register", body);
	free(body);
	free(csr_pem);
	if (started)
		slot->n = n;
	return started;
}

static bool role_is(const char *role, const char *a, const char *b)
{
	return role && (!strcmp(role, a) || !strcmp(role, b));
}

/* The agent from a 201 answer, or false when the answer lacks what the state
 * file needs. */
static bool agent_from_answer(const struct reg_run *run, const struct reg_slot *slot, json_t *ans,
			      struct sim_agent *a)
{
	const char *nid = NULL, *aid = NULL, *cid = NULL, *role = NULL, *vpn_ip = NULL;
	const char *cert = NULL, *server_key = NULL;
	json_error_t err;

	if (json_unpack_ex(ans, &err, 0, "{s:s, s:s, s:s, s:s, s:s, s?s, s?s}", "nid", &nid, "aid",
			   &aid, "cid", &cid, "role", &role, "certificate", &cert, "privateKey",
			   &server_key, "vpnIp", &vpn_ip) != 0) {
		sim_log_failure("register sim-%ld: 201 answer: %s", slot->n, err.text);
		return false;
	}
	const char *key = slot->key_pem ? slot->key_pem : server_key;
	if (!key) {
		sim_log_failure("register sim-%ld: no privateKey in the answer to --no-csr",
				slot->n);
		return false;
	}
	a->nid = xstrdup(nid);
	a->aid = xstrdup(aid);
	a->cid = xstrdup(cid);
	a->role = xstrdup(role);
	a->vpn_ip = vpn_ip ? xstrdup(vpn_ip) : NULL;
	sim_agent_set_identity(a, cert, key);
	a->is_cp = run->o->role_cp || role_is(role, "controlplane", "hybrid");
	a->is_worker = role_is(role, "worker", "hybrid");
	return true;
}

static void finish_registration(struct reg_run *run, struct reg_slot *slot)
{
	struct sim_req *req = &slot->req;
	char key[96];
	bool ok = false;

	sim_req_outcome(req, key, sizeof(key));
	if (req->rc == CURLE_OK && req->status == 201) {
		json_t *ans = sim_req_json(req);
		ok = ans && agent_from_answer(run, slot, ans, &run->agents[slot->n - 1]);
		if (!ok)
			snprintf(key, sizeof(key), "bad_response");
		json_decref(ans);
	} else {
		char *what = xasprintf("register sim-%ld", slot->n);
		sim_req_log_failure(req, what);
		free(what);
	}
	sim_count(run->codes, key);
	if (ok)
		run->registered++;
	else
		run->failed++;
	free(slot->key_pem);
	slot->key_pem = NULL;
	slot->n = 0;
}

static bool fill_idle_slots(struct reg_run *run)
{
	for (size_t i = 0; i < run->nslots && run->next <= run->o->count && !sim_stop; i++) {
		if (run->slots[i].req.busy)
			continue;
		if (!start_registration(run, &run->slots[i], run->next++))
			return false;
	}
	return true;
}

/* Registers until every agent is done; false on a local failure. */
static bool register_all(struct reg_run *run)
{
	for (;;) {
		if (!fill_idle_slots(run))
			return false;
		if (run->net.in_flight == 0)
			return true;
		if (!sim_net_step(&run->net, 1000))
			return false;
		struct sim_req *req;
		while ((req = sim_net_next_done(&run->net)))
			finish_registration(run, req->owner);
	}
}

static bool setup(struct reg_run *run, const struct sim_opts *o)
{
	run->o = o;
	run->codes = json_object();
	run->next = 1;
	run->nslots = (size_t)(o->parallel < o->count ? o->parallel : o->count);
	run->agents = xcalloc((size_t)o->count, sizeof(*run->agents));
	run->slots = xcalloc(run->nslots, sizeof(*run->slots));
	sim_raise_fd_limit(run->nslots + 64);
	if (!sim_pki_random_hex8(run->run_id) || !sim_net_init(&run->net, o, run->nslots + 16))
		return false;
	for (size_t i = 0; i < run->nslots; i++)
		if (!sim_req_init(&run->net, &run->slots[i].req, &run->slots[i]))
			return false;
	return true;
}

static void teardown(struct reg_run *run)
{
	for (size_t i = 0; run->slots && i < run->nslots; i++) {
		sim_req_finish(&run->net, &run->slots[i].req);
		free(run->slots[i].key_pem);
	}
	free(run->slots);
	sim_net_finish(&run->net);
	sim_agents_free(run->agents, (size_t)run->o->count);
	json_decref(run->codes);
}

static bool save_state(const struct sim_opts *o, const struct sim_agent *agents)
{
	if (o->append)
		return sim_state_append(o->state_path, agents, (size_t)o->count);
	return sim_state_save(o->state_path, agents, (size_t)o->count);
}

int sim_register_run(const struct sim_opts *o)
{
	struct reg_run run = { 0 };
	double started = sim_now_ms();
	bool ready = setup(&run, o);
	bool ok = ready && register_all(&run);

	/* What registered is kept even when the run fails part way. */
	if (ready && !save_state(o, run.agents))
		ok = false;
	json_t *summary =
		json_pack("{s:I, s:I, s:O, s:o}", "registered", (json_int_t)run.registered,
			  "failed", (json_int_t)run.failed, "codes", run.codes, "seconds",
			  sim_json_ms((sim_now_ms() - started) / 1000.0));
	sim_print_summary(summary);
	teardown(&run);
	return ok && run.registered == o->count ? 0 : 1;
}
