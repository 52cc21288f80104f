/* `agent-sim beat`: every agent of the state file (or the first --max-agents)
 * sends a heartbeat every --interval seconds for --duration seconds, each over
 * its own keep-alive connection with its own client certificate.
 *
 * Schedule: agent i's first beat is due at i * interval / N, so the load is
 * even from the start; afterwards each beat is due one interval after the
 * previous one was due. An agent waits in a min-heap ordered by due time while
 * idle and is out of it while its beat (and a renewal the beat asked for) is
 * in flight. A beat that finishes after its successor was due makes that one
 * start at once and is counted as late.
 *
 * Warm-up (--warmup W): before that, each agent sends one beat, the N spread
 * over W seconds, which opens its connection. A TLS handshake costs the client
 * about 1-2 ms of CPU with OpenSSL 3.0 (mostly decoding keys and
 * certificates), so 10,000 of them do not fit into one 5 s interval on a small
 * machine; the warm-up keeps them out of the measured beats. Its beats are
 * counted apart ("warmup").
 *
 * Counting: every finished heartbeat is ok (200 with a well-formed answer) or
 * failed; latencies (libcurl's total time, request start to last byte) of the
 * ok ones are all kept and sorted for exact percentiles. Renewals are counted
 * apart ("renewed", "renewFailed", codes "renew:<outcome>"). The state file is
 * written again when a certificate was renewed. */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WAIT_MS 1000

enum beat_phase {
	PHASE_WAITING,
	PHASE_BEATING,
	PHASE_RENEWING,
};

struct beat_agent {
	struct sim_agent *id;
	long n; /* 1-based, for names and addresses */
	struct sim_req req;
	char *beat_body;
	char *renew_key; /* the key of the CSR in flight */
	double due_ms;
	enum beat_phase phase;
	bool warming; /* its beat in flight or due is the warm-up one */
};

/* Beats of one phase (warm-up or measured). */
struct beat_counts {
	long beats, ok, failed;
	double *latencies;
	size_t nlatencies, latencies_cap;
	json_t *codes;
};

struct beat_run {
	const struct sim_opts *o;
	struct sim_net net;
	struct sim_agent *ids; /* the whole state file */
	size_t nids;
	struct beat_agent *agents;
	size_t count;
	struct sim_heap heap;
	struct beat_counts warm, measured;
	double interval_ms, warmup_ms;
	double measure_start_ms, end_ms;
	long renewed, renew_failed, late;
	json_t *codes; /* renewals' */
};

/* ---- the schedule -------------------------------------------------------- */

/* The agent's first measured beat is due at its place in the first interval. */
static double first_measured_due(const struct beat_run *run, const struct beat_agent *a)
{
	return run->measure_start_ms + run->interval_ms * (double)(a->n - 1) / (double)run->count;
}

static void schedule_next_beat(struct beat_run *run, struct beat_agent *a)
{
	double now = sim_now_ms();

	if (a->warming) {
		a->warming = false;
		a->due_ms = first_measured_due(run, a);
		if (a->due_ms < now)
			a->due_ms = now;
	} else {
		a->due_ms += run->interval_ms;
		if (a->due_ms < now) {
			run->late++;
			a->due_ms = now;
		}
	}
	a->phase = PHASE_WAITING;
	sim_heap_push(&run->heap, a);
}

/* How long poll may sleep: until the next beat is due, at most MAX_WAIT_MS. */
static int wait_ms(const struct beat_run *run, double now, bool open)
{
	double until = now + MAX_WAIT_MS;

	double due;
	if (open && sim_heap_next_due(&run->heap, &due) && due < until)
		until = due;
	if (open && run->end_ms < until)
		until = run->end_ms;
	double ms = until - now;
	return ms <= 0 ? 0 : (int)ms + 1;
}

/* ---- heartbeats and renewals ------------------------------------------- */

static char *heartbeat_body(const struct sim_agent *id, long n)
{
	char ip[32];

	snprintf(ip, sizeof(ip), "10.%ld.%ld.%ld", (n >> 16) & 255, (n >> 8) & 255, n & 255);
	json_t *obj = json_pack("{s:s, s:b, s:b, s:s, s:s, s:[]}", "externalIpAddress", ip, "isCp",
				id->is_cp, "isWorker", id->is_worker, "status", "ready", "version",
				SIM_AGENT_VERSION, "running");
	char *body = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	if (!body)
		abort(); /* only out of memory, which already aborts */
	return body;
}

static bool start_beat(struct beat_run *run, struct beat_agent *a)
{
	a->phase = PHASE_BEATING;
	return sim_req_start(&run->net, &a->req, "POST", "/agent/v1/heartbeat", a->beat_body);
}

static bool start_renewal(struct beat_run *run, struct beat_agent *a)
{
	char *csr_pem = NULL, *body;

	if (run->o->no_csr) {
		body = xstrdup("{}");
	} else {
		char *cn = xasprintf("sim-%ld", a->n);
		bool made = sim_pki_key_and_csr(cn, &a->renew_key, &csr_pem);
		free(cn);
		if (!made)
			return false;
		json_t *obj = json_pack("{s:s}", "csr", csr_pem);
		body = json_dumps(obj, JSON_COMPACT);
		json_decref(obj);
		free(csr_pem);
	}
	a->phase = PHASE_RENEWING;
	sim_req_close_after(&a->req);
	bool started = sim_req_start(&run->net, &a->req, "POST", "/agent/v1/certificate", body);
	free(body);
	return started;
}

static void count_beat(struct beat_counts *c, const char *key, bool ok, double ms)
{
	sim_count(c->codes, key);
	c->beats++;
	if (!ok) {
		c->failed++;
		return;
	}
	c->ok++;
	if (c->nlatencies == c->latencies_cap) {
		c->latencies_cap = c->latencies_cap ? 2 * c->latencies_cap : 4096;
		c->latencies = xrealloc(c->latencies, c->latencies_cap * sizeof(*c->latencies));
	}
	c->latencies[c->nlatencies++] = ms;
}

/* True for a well-formed heartbeat answer; *renew tells whether it asks for a
 * new certificate. */
static bool heartbeat_answer_ok(const struct beat_agent *a, json_t *ans, bool *renew)
{
	int healthy = 0, renew_cert = 0;
	json_int_t offline_after = 0;
	const char *message = NULL;
	json_t *cancel = NULL;
	json_error_t err;

	if (!ans) {
		sim_log_failure("heartbeat sim-%ld: 200 answer is not a JSON object", a->n);
		return false;
	}
	if (json_unpack_ex(ans, &err, 0, "{s:b, s:s, s:I, s:b, s:o}", "isHealthy", &healthy,
			   "message", &message, "offlineAfterSeconds", &offline_after,
			   "renewCertificate", &renew_cert, "cancel", &cancel) != 0) {
		sim_log_failure("heartbeat sim-%ld: 200 answer: %s", a->n, err.text);
		return false;
	}
	if (!json_is_array(cancel)) {
		sim_log_failure("heartbeat sim-%ld: 200 answer: cancel is not an array", a->n);
		return false;
	}
	*renew = renew_cert;
	return true;
}

/* False on a local failure that ends the run. */
static bool finish_beat(struct beat_run *run, struct beat_agent *a)
{
	struct sim_req *req = &a->req;
	bool renew = false, ok = false;
	char key[96];

	sim_req_outcome(req, key, sizeof(key));
	if (req->rc == CURLE_OK && req->status == 200) {
		json_t *ans = sim_req_json(req);
		ok = heartbeat_answer_ok(a, ans, &renew);
		if (!ok)
			snprintf(key, sizeof(key), "bad_response");
		json_decref(ans);
	} else {
		char *what = xasprintf("heartbeat sim-%ld", a->n);
		sim_req_log_failure(req, what);
		free(what);
	}
	count_beat(a->warming ? &run->warm : &run->measured, key, ok, req->elapsed_ms);
	if (renew)
		return start_renewal(run, a);
	schedule_next_beat(run, a);
	return true;
}

/* The new identity from a 200 answer, or false when it lacks one. */
static bool take_new_certificate(struct beat_agent *a, json_t *ans)
{
	const char *cert = NULL, *ca = NULL, *server_key = NULL;
	json_error_t err;

	if (!ans || json_unpack_ex(ans, &err, 0, "{s:s, s:s, s?s}", "certificate", &cert, "caCert",
				   &ca, "privateKey", &server_key) != 0) {
		sim_log_failure("renewal sim-%ld: 200 answer: %s", a->n,
				ans ? err.text : "not a JSON object");
		return false;
	}
	const char *key = a->renew_key ? a->renew_key : server_key;
	if (!key) {
		sim_log_failure("renewal sim-%ld: no privateKey in the answer to {}", a->n);
		return false;
	}
	if (!sim_req_set_identity(&a->req, cert, key))
		return false;
	sim_agent_set_identity(a->id, cert, key);
	return true;
}

static void finish_renewal(struct beat_run *run, struct beat_agent *a)
{
	struct sim_req *req = &a->req;
	char key[96], counter[112];
	bool ok = false;

	sim_req_outcome(req, key, sizeof(key));
	if (req->rc == CURLE_OK && req->status == 200) {
		json_t *ans = sim_req_json(req);
		ok = take_new_certificate(a, ans);
		if (!ok)
			snprintf(key, sizeof(key), "bad_response");
		json_decref(ans);
	} else {
		char *what = xasprintf("renewal sim-%ld", a->n);
		sim_req_log_failure(req, what);
		free(what);
	}
	snprintf(counter, sizeof(counter), "renew:%s", key);
	sim_count(run->codes, counter);
	if (ok)
		run->renewed++;
	else
		run->renew_failed++;
	free(a->renew_key);
	a->renew_key = NULL;
	schedule_next_beat(run, a);
}

static bool handle_finished(struct beat_run *run)
{
	struct sim_req *req;

	while ((req = sim_net_next_done(&run->net))) {
		struct beat_agent *a = req->owner;
		if (a->phase == PHASE_RENEWING)
			finish_renewal(run, a);
		else if (!finish_beat(run, a))
			return false;
	}
	return true;
}

static bool start_due_beats(struct beat_run *run, double now)
{
	double due;
	while (sim_heap_next_due(&run->heap, &due) && due <= now)
		if (!start_beat(run, sim_heap_pop(&run->heap)))
			return false;
	return true;
}

/* Beats until --duration is over (or a signal) and nothing is in flight;
 * false on a local failure. */
static bool beat_all(struct beat_run *run)
{
	for (;;) {
		double now = sim_now_ms();
		bool open = !sim_stop && now < run->end_ms;
		if (open && !start_due_beats(run, now))
			return false;
		if (!open && run->net.in_flight == 0)
			return true;
		if (!sim_net_step(&run->net, wait_ms(run, now, open)) || !handle_finished(run))
			return false;
	}
}

/* ---- setup and summary --------------------------------------------------- */

static bool setup_agents(struct beat_run *run, double start)
{
	/* The first beats, warm-up or measured, spread over this time. */
	double spread_ms = run->warmup_ms > 0 ? run->warmup_ms : run->interval_ms;

	run->agents = xcalloc(run->count, sizeof(*run->agents));
	sim_heap_init(&run->heap, run->count, offsetof(struct beat_agent, due_ms));
	for (size_t i = 0; i < run->count; i++) {
		struct beat_agent *a = &run->agents[i];
		a->id = &run->ids[i];
		a->n = (long)i + 1;
		a->beat_body = heartbeat_body(a->id, a->n);
		a->due_ms = start + spread_ms * (double)i / (double)run->count;
		a->warming = run->warmup_ms > 0;
		if (!sim_req_init(&run->net, &a->req, a) ||
		    !sim_req_set_identity(&a->req, a->id->certificate, a->id->private_key))
			return false;
		sim_heap_push(&run->heap, a);
	}
	return true;
}

static bool setup(struct beat_run *run, const struct sim_opts *o)
{
	run->o = o;
	run->codes = json_object();
	run->warm.codes = json_object();
	run->measured.codes = json_object();
	run->interval_ms = o->interval_s * 1000.0;
	run->warmup_ms = o->warmup_s * 1000.0;
	if (!sim_state_load(o->state_path, &run->ids, &run->nids))
		return false;
	run->count = run->nids;
	if (o->max_agents > 0 && (size_t)o->max_agents < run->count)
		run->count = (size_t)o->max_agents;
	/* One connection per agent: a renewal closes the old one. The connection
	 * limits only need to be out of the way. */
	sim_raise_fd_limit(run->count + 64);
	if (!sim_net_init(&run->net, o, 2 * run->count + 16))
		return false;
	double start = sim_now_ms();
	run->measure_start_ms = start + run->warmup_ms;
	run->end_ms = run->measure_start_ms + o->duration_s * 1000.0;
	return setup_agents(run, start);
}

static void counts_finish(struct beat_counts *c)
{
	free(c->latencies);
	json_decref(c->codes);
}

static void teardown(struct beat_run *run)
{
	for (size_t i = 0; run->agents && i < run->count; i++) {
		sim_req_finish(&run->net, &run->agents[i].req);
		free(run->agents[i].beat_body);
		free(run->agents[i].renew_key);
	}
	free(run->agents);
	sim_heap_free(&run->heap);
	sim_net_finish(&run->net);
	sim_agents_free(run->ids, run->nids);
	counts_finish(&run->warm);
	counts_finish(&run->measured);
	json_decref(run->codes);
}

/* {"beats","ok","failed","codes","p50_ms","p99_ms","max_ms"} of one phase. */
static json_t *counts_to_json(struct beat_counts *c)
{
	json_t *obj =
		json_pack("{s:I, s:I, s:I, s:O}", "beats", (json_int_t)c->beats, "ok",
			  (json_int_t)c->ok, "failed", (json_int_t)c->failed, "codes", c->codes);
	sim_set_latencies(obj, c->latencies, c->nlatencies);
	return obj;
}

static json_t *summary(struct beat_run *run, double now)
{
	json_t *obj = json_pack("{s:I}", "agents", (json_int_t)run->count);
	json_t *measured = counts_to_json(&run->measured);
	double seconds = (now - run->measure_start_ms) / 1000.0;

	json_object_update(obj, measured);
	json_decref(measured);
	/* Renewal outcomes join the heartbeats' codes. */
	json_object_update(json_object_get(obj, "codes"), run->codes);
	json_object_set_new(obj, "renewed", json_integer(run->renewed));
	json_object_set_new(obj, "renewFailed", json_integer(run->renew_failed));
	json_object_set_new(obj, "late", json_integer(run->late));
	/* Negative when a signal ended the warm-up. */
	json_object_set_new(obj, "seconds", sim_json_ms(seconds > 0 ? seconds : 0));
	if (run->warmup_ms > 0) {
		json_t *warm = counts_to_json(&run->warm);
		json_object_set_new(warm, "seconds", sim_json_ms(run->warmup_ms / 1000.0));
		json_object_set_new(obj, "warmup", warm);
	}
	return obj;
}

int sim_beat_run(const struct sim_opts *o)
{
	struct beat_run run = { 0 };
	bool ready = setup(&run, o);
	bool ok = ready && beat_all(&run);

	/* Renewed certificates are what the agents hold from now on. */
	if (ready && run.renewed > 0 && !sim_state_save(o->state_path, run.ids, run.nids))
		ok = false;
	if (ready)
		sim_print_summary(summary(&run, sim_now_ms()));
	ok = ok && run.measured.failed == 0 && run.warm.failed == 0 && run.renew_failed == 0;
	teardown(&run);
	return ok ? 0 : 1;
}
