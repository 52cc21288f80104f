/* `agent-sim work`: every agent of the state file (or the first --max-agents)
 * keeps a long poll open (GET /agent/v1/instructions?wait=&max=), answers each
 * instruction it gets (POST /agent/v1/instructions/:tag/reply: NO_CONTENT, or
 * CLUSTER_JOIN_CMD for GET_CLUSTER_JOIN_CMD), one after the other over its
 * keep-alive connection, and polls again, for --duration seconds or until
 * SIGINT/SIGTERM. Polls still parked at the end are dropped (their
 * connections closed); replies in flight finish.
 *
 * Each agent is in one of three states: a request in flight (heartbeat, poll
 * or reply), waiting in a min-heap ordered by due time (its first request
 * when --ramp spreads them, a reply held back by --reply-delay-ms, a poll
 * retried 1 s after a failure), or done. With --beat an agent first sends one
 * heartbeat, so that its node is online (the server queues a node.join's
 * SET_VPN_PEERS only to online nodes).
 *
 * Receipt latency (--probe-token T --probes N): the process also registers N
 * new nodes with the join token T, one at a time, over one keep-alive
 * connection of its own, while every agent has a poll open. Each registration
 * queues one SET_VPN_PEERS per online node of the cluster; a receipt's latency
 * is the time this process saw the poll answer carrying it minus the time it
 * saw the registration's 201, both on CLOCK_MONOTONIC of this one thread (it
 * can be below zero when the poll's answer arrives first). A probe waits for
 * as many SET_VPN_PEERS as there are agents (5 s at most; the rest count as
 * missing), then for every agent to be polling again, then --probe-gap-ms
 * before the next registration, so that every poll has parked again. The
 * run ends when the last probe is measured (or at --duration). The summary
 * also gives, over the probes, the first and the last receipt of each
 * (receipt.first, receipt.last) and the registration's round trip
 * (receipt.register).
 *
 * --misbehave (for tests of the delivery rules): die = exit(3) on receiving
 * the first instruction, without answering (the summary is printed first);
 * twice = answer every instruction twice, the second time expecting 409;
 * late = hold the first instruction received unanswered, keep polling until it
 * is delivered again with a higher attempt (run runosd with a short
 * RUNOS_INSTRUCTION_LEASE), then answer it with the old attempt (expecting
 * 409) and with the new one (expecting 204).
 *
 * The services' instructions (APPLY_CR, DELETE_CR, INSTALL_HELM_CHART,
 * UNINSTALL_HELM_CHART) are carried out as sim_services.c says, when they
 * arrive, and answered NO_CONTENT or ERROR{error}; the apps' (BUILD_IMAGE,
 * RUN_KUBECTL_COMMAND) as sim_apps.c says (IMAGE_BUILT,
 * KUBECTL_COMMAND_RESPONSE, NO_CONTENT or ERROR). Only for them is a poll's
 * answer parsed whole (for their payloads), so the other instructions keep
 * costing the skim alone. A control-plane agent whose installed charts or
 * apps changed reports them (POST /agent/v1/service-status) once its replies
 * are sent, and after every heartbeat (--beat, --beat-interval)
 * while it has any; --until-replies waits for those reports too.
 * --beat-interval S: an agent beats again every S seconds (between its
 * polls, so a parked poll delays it by up to --wait). The state file is
 * written again at the end when an agent's charts or apps changed. */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MAX_WAIT_MS 1000
#define RETRY_MS 1000.0
#define PROBE_TIMEOUT_MS 5000.0
#define PROBE_SETTLE_MS 1000.0

enum work_phase {
	PHASE_IDLE, /* in the heap, or done */
	PHASE_BEATING,
	PHASE_POLLING,
	PHASE_REPLYING,
	PHASE_REPORTING,
	PHASE_SYNCING,
};

struct work_item {
	char *tag;
	char *type;
	long attempt;
	long expect;	/* 204, or 409 for a duplicate or stale reply */
	json_t *answer; /* the reply without its attempt (ERROR, IMAGE_BUILT, ...), or NULL */
};

struct work_agent {
	struct sim_agent *id;
	long n; /* 1-based */
	struct sim_req req;
	enum work_phase phase;
	double due_ms;
	bool beaten;
	bool synced;		 /* --vpn-dir: its VPN sync was sent */
	bool report_due;	 /* its services changed, or a periodic beat passed */
	double next_beat_ms;	 /* --beat-interval: its next heartbeat not before */
	struct work_item *items; /* to answer, in order */
	size_t nitems, next_item, items_cap;
};

struct latencies {
	double *v;
	size_t n, cap;
};

struct work_probe {
	struct sim_req req;
	long started, registered, failed, missing;
	bool awaiting;		  /* a registration whose receipts are being collected */
	bool answered;		  /* its 201 was seen */
	double sent_ms;		  /* the registration started */
	double t201_ms;		  /* its 201 seen */
	double next_ms;		  /* the next registration not before */
	double not_before_ms;	  /* the first one: after the ramp and a settling second */
	struct latencies pending; /* receipt times of the current probe */
	/* Per probe, from its 201: the first and the last receipt (their
	 * difference is what the 50 claims and answers cost one after the
	 * other); and the registration's round trip. */
	struct latencies first_ms, last_ms, register_ms;
	long got;
	json_t *codes;
	char run_id[9];
};

struct work_run {
	const struct sim_opts *o;
	struct sim_net net;
	struct sim_agent *ids;
	size_t nids;
	struct work_agent *agents;
	size_t count;
	struct sim_heap heap;
	double start_ms, end_ms;
	bool closed;
	size_t polling; /* agents with a poll in flight */
	/* counters */
	long polls, polls_ok, polls_empty, polls_failed;
	long beats_ok, beats_failed;
	long syncs_ok, syncs_failed;
	long received, replies, replies_ok, replies_failed, expected_409;
	long reports, reports_ok, reports_failed, reports_accepted, reports_ignored;
	size_t reports_owed; /* agents with a report due or in flight */
	bool services_changed;
	json_t *poll_codes, *reply_codes, *beat_codes, *report_codes, *types;
	struct latencies reply_ms;   /* round trips of the replies answered 204 */
	struct latencies receipt_ms; /* probe receipts */
	double first_receipt_ms, last_reply_ms;
	/* --misbehave late */
	struct work_agent *held_by;
	char *held_tag;
	long held_attempt;
	bool redelivered;
	struct work_probe probe;
};

/* ---- small pieces -------------------------------------------------------- */

static void lat_add(struct latencies *l, double x)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = x;
}

/* {"n","p50_ms","p99_ms","max_ms"} (and min_ms when asked) of the values. */
static json_t *lat_json(struct latencies *l, bool with_min)
{
	json_t *obj = json_pack("{s:I}", "n", (json_int_t)l->n);
	sim_set_latencies(obj, l->v, l->n);
	if (with_min) /* sorted now */
		json_object_set_new(obj, "min_ms", sim_json_ms(l->n > 0 ? l->v[0] : 0));
	return obj;
}

static void items_clear(struct work_agent *a)
{
	for (size_t i = 0; i < a->nitems; i++) {
		free(a->items[i].tag);
		free(a->items[i].type);
		json_decref(a->items[i].answer);
	}
	a->nitems = a->next_item = 0;
}

static void items_add(struct work_agent *a, const char *tag, const char *type, long attempt,
		      long expect, json_t *answer)
{
	if (a->nitems == a->items_cap) {
		a->items_cap = a->items_cap ? 2 * a->items_cap : 8;
		a->items = xrealloc(a->items, a->items_cap * sizeof(*a->items));
	}
	a->items[a->nitems++] = (struct work_item){ xstrdup(tag), xstrdup(type), attempt, expect,
						    json_incref(answer) };
}

/* ---- requests ------------------------------------------------------------- */

static bool start_beat(struct work_run *run, struct work_agent *a)
{
	json_t *obj = json_pack("{s:s, s:b, s:b, s:s, s:s, s:[]}", "externalIpAddress", "10.0.0.1",
				"isCp", a->id->is_cp, "isWorker", a->id->is_worker, "status",
				"ready", "version", SIM_AGENT_VERSION, "running");
	char *body = json_dumps(obj, JSON_COMPACT);

	json_decref(obj);
	a->phase = PHASE_BEATING;
	bool ok = sim_req_start(&run->net, &a->req, "POST", "/agent/v1/heartbeat", body);
	free(body);
	return ok;
}

static bool start_poll(struct work_run *run, struct work_agent *a)
{
	char path[96];

	snprintf(path, sizeof(path), "/agent/v1/instructions?wait=%ld&max=%ld", run->o->wait_s,
		 run->o->max_per_poll);
	a->phase = PHASE_POLLING;
	run->polls++;
	run->polling++;
	return sim_req_start(&run->net, &a->req, "GET", path, NULL);
}

static bool start_reply(struct work_run *run, struct work_agent *a)
{
	const struct work_item *it = &a->items[a->next_item];
	char *path = xasprintf("/agent/v1/instructions/%s/reply", it->tag);
	json_t *obj;

	if (it->answer) {
		obj = json_copy(it->answer);
		json_object_set_new(obj, "attempt", json_integer(it->attempt));
	} else if (!strcmp(it->type, "GET_CLUSTER_JOIN_CMD"))
		obj = json_pack("{s:I, s:s, s:{s:s}}", "attempt", (json_int_t)it->attempt, "type",
				"CLUSTER_JOIN_CMD", "payload", "joinCmd",
				"kubeadm join 172.24.0.1:6443 --token agent-sim");
	else
		obj = json_pack("{s:I, s:s}", "attempt", (json_int_t)it->attempt, "type",
				"NO_CONTENT");
	char *body = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	a->phase = PHASE_REPLYING;
	bool ok = sim_req_start(&run->net, &a->req, "POST", path, body);
	free(body);
	free(path);
	return ok;
}

static bool start_sync(struct work_run *run, struct work_agent *a)
{
	char *body = sim_vpn_sync_body(a->id);
	a->phase = PHASE_SYNCING;
	a->synced = true;
	bool ok = sim_req_start(&run->net, &a->req, "POST", "/agent/v1/vpn/sync", body);
	free(body);
	return ok;
}

/* A report of the agent's services is due (control planes only). */
static void owe_report(struct work_run *run, struct work_agent *a)
{
	if (!a->id->is_cp || a->report_due)
		return;
	a->report_due = true;
	run->reports_owed++;
}

static bool start_report(struct work_run *run, struct work_agent *a)
{
	char *body = sim_services_report(a->id, run->o);
	if (!body) { /* nothing installed (any more): nothing to say */
		a->report_due = false;
		run->reports_owed--;
		return start_poll(run, a);
	}
	a->phase = PHASE_REPORTING;
	bool ok = sim_req_start(&run->net, &a->req, "POST", "/agent/v1/service-status", body);
	free(body);
	return ok;
}

/* The agent's next request: its first heartbeat, its next reply, its
 * services' report, a heartbeat of --beat-interval, or a poll. */
static bool agent_act(struct work_run *run, struct work_agent *a)
{
	a->phase = PHASE_IDLE;
	if (run->closed)
		return true;
	if (run->o->beat_first && !a->beaten)
		return start_beat(run, a);
	if (run->o->vpn_dir && !a->synced)
		return start_sync(run, a);
	if (a->next_item < a->nitems)
		return start_reply(run, a);
	items_clear(a);
	if (a->report_due)
		return start_report(run, a);
	if (run->o->beat_interval_s > 0 && sim_now_ms() >= a->next_beat_ms)
		return start_beat(run, a);
	return start_poll(run, a);
}

/* agent_act now, or after delay_ms. */
static bool agent_continue(struct work_run *run, struct work_agent *a, double delay_ms)
{
	if (delay_ms <= 0)
		return agent_act(run, a);
	a->phase = PHASE_IDLE;
	a->due_ms = sim_now_ms() + delay_ms;
	sim_heap_push(&run->heap, a);
	return true;
}

/* ---- answers -------------------------------------------------------------- */

static void print_summary(struct work_run *run);

static bool finish_beat(struct work_run *run, struct work_agent *a)
{
	char key[96];

	sim_req_outcome(&a->req, key, sizeof(key));
	sim_count(run->beat_codes, key);
	a->beaten = true; /* once, whatever the answer */
	a->next_beat_ms = sim_now_ms() + run->o->beat_interval_s * 1000.0;
	/* A control plane reports its services after every heartbeat. */
	if (sim_agent_has_workloads(a->id))
		owe_report(run, a);
	if (a->req.rc == CURLE_OK && a->req.status == 200) {
		run->beats_ok++;
	} else {
		run->beats_failed++;
		char *what = xasprintf("heartbeat sim-%ld", a->n);
		sim_req_log_failure(&a->req, what);
		free(what);
	}
	return agent_act(run, a);
}

static bool finish_sync(struct work_run *run, struct work_agent *a)
{
	if (a->req.rc == CURLE_OK && a->req.status == 200) {
		run->syncs_ok++;
	} else {
		run->syncs_failed++;
		char *what = xasprintf("vpn sync sim-%ld", a->n);
		sim_req_log_failure(&a->req, what);
		free(what);
	}
	return agent_act(run, a);
}

/* An instruction arrived for a probe being measured. */
static void probe_receipt(struct work_run *run, const char *type, double now)
{
	struct work_probe *p = &run->probe;

	if (!p->awaiting || strcmp(type, "SET_VPN_PEERS"))
		return;
	lat_add(&p->pending, now);
	p->got++;
}

/* What --misbehave late does with an instruction; true when it was taken
 * care of (held, or answered stale and fresh). */
static bool late_take(struct work_run *run, struct work_agent *a, const char *tag, const char *type,
		      long attempt)
{
	if (run->o->misbehave != SIM_MISBEHAVE_LATE || run->redelivered)
		return false;
	if (!run->held_tag) {
		run->held_by = a;
		run->held_tag = xstrdup(tag);
		run->held_attempt = attempt;
		return true;
	}
	if (a != run->held_by || strcmp(tag, run->held_tag) || attempt <= run->held_attempt)
		return false;
	run->redelivered = true;
	items_add(a, tag, type, run->held_attempt, 409, NULL);
	items_add(a, tag, type, attempt, 204, NULL);
	return true;
}

/* The payload of the instruction tag in a poll's answer (parsed into *doc
 * the first time), or NULL. */
static const json_t *payload_of(const struct sim_req *req, json_t **doc, const char *tag)
{
	if (!*doc)
		*doc = json_loadb(req->body, req->len, 0, NULL);
	json_t *list = json_object_get(*doc, "instructions");
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *in = json_array_get(list, i);
		const char *t = json_string_value(json_object_get(in, "tag"));
		if (t && !strcmp(t, tag))
			return json_object_get(in, "payload");
	}
	return NULL;
}

/* Carries out a service or app instruction when it arrives: its reply
 * (a new reference), or NULL for NO_CONTENT. */
static json_t *instruction_act(struct work_run *run, struct work_agent *a,
			       const struct sim_req *req, json_t **doc,
			       const struct sim_instruction *in)
{
	const json_t *payload = payload_of(req, doc, in->tag);
	if (sim_vpn_handles(run->o, in->type)) {
		char *error = sim_vpn_act(a->id, run->o, payload);
		json_t *answer =
			error ? json_pack("{s:s, s:s}", "type", "ERROR", "error", error) : NULL;
		free(error);
		return answer;
	}
	if (sim_apps_handles(in->type))
		return sim_apps_act(run->o, in->type, payload);
	bool changed;
	char *error = sim_services_act(a->id, run->o, in->tag, in->type, payload, &changed);
	if (changed) {
		run->services_changed = true;
		owe_report(run, a);
	}
	json_t *answer = error ? json_pack("{s:s, s:s}", "type", "ERROR", "error", error) : NULL;
	free(error);
	return answer;
}

/* Takes the instructions of a 200 answer; false when it is malformed. */
static bool take_instructions(struct work_run *run, struct work_agent *a, const struct sim_req *req,
			      double now)
{
	struct sim_instruction *list;
	size_t n;
	json_t *doc = NULL;

	if (!req->body || !sim_skim_instructions(req->body, req->len, &list, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct sim_instruction *in = &list[i];
		run->received++;
		if (run->first_receipt_ms == 0)
			run->first_receipt_ms = now;
		sim_count(run->types, in->type);
		probe_receipt(run, in->type, now);
		if (run->o->misbehave == SIM_MISBEHAVE_DIE) {
			run->polls_ok++; /* this one, counted before its end */
			print_summary(run);
			exit(3);
		}
		if (late_take(run, a, in->tag, in->type, in->attempt))
			continue;
		bool handled = sim_services_handles(in->type) || sim_apps_handles(in->type) ||
			       sim_vpn_handles(run->o, in->type);
		json_t *answer = handled ? instruction_act(run, a, req, &doc, in) : NULL;
		items_add(a, in->tag, in->type, in->attempt, 204, answer);
		if (run->o->misbehave == SIM_MISBEHAVE_TWICE)
			items_add(a, in->tag, in->type, in->attempt, 409, answer);
		json_decref(answer);
	}
	if (n == 0)
		run->polls_empty++;
	json_decref(doc);
	free(list);
	return true;
}

static bool finish_poll(struct work_run *run, struct work_agent *a, double now)
{
	struct sim_req *req = &a->req;
	char key[96];
	bool ok = false;

	run->polling--;
	sim_req_outcome(req, key, sizeof(key));
	if (req->rc == CURLE_OK && req->status == 200) {
		ok = take_instructions(run, a, req, now);
		if (!ok) {
			snprintf(key, sizeof(key), "bad_response");
			sim_log_failure("poll sim-%ld: 200 answer without a list of instructions",
					a->n);
		}
	} else {
		char *what = xasprintf("poll sim-%ld", a->n);
		sim_req_log_failure(req, what);
		free(what);
	}
	sim_count(run->poll_codes, key);
	if (!ok) {
		run->polls_failed++;
		items_clear(a);
		return agent_continue(run, a, RETRY_MS);
	}
	run->polls_ok++;
	return agent_continue(run, a, a->nitems > 0 ? (double)run->o->reply_delay_ms : 0);
}

static bool finish_reply(struct work_run *run, struct work_agent *a, double now)
{
	struct sim_req *req = &a->req;
	const struct work_item *it = &a->items[a->next_item++];
	char key[96];

	sim_req_outcome(req, key, sizeof(key));
	sim_count(run->reply_codes, key);
	run->replies++;
	if (req->rc == CURLE_OK && req->status == it->expect) {
		run->replies_ok++;
		if (it->expect == 204)
			lat_add(&run->reply_ms, req->elapsed_ms);
		else
			run->expected_409++;
		run->last_reply_ms = now;
	} else {
		run->replies_failed++;
		char *what = xasprintf("reply sim-%ld %s (attempt %ld, expected %ld)", a->n,
				       it->type, it->attempt, it->expect);
		sim_req_log_failure(req, what);
		free(what);
	}
	bool more = a->next_item < a->nitems;
	return agent_continue(run, a, more ? (double)run->o->reply_delay_ms : 0);
}

static bool finish_report(struct work_run *run, struct work_agent *a)
{
	struct sim_req *req = &a->req;
	char key[96];

	sim_req_outcome(req, key, sizeof(key));
	run->reports++;
	a->report_due = false;
	run->reports_owed--;
	json_t *answer = req->rc == CURLE_OK && req->status == 200 ? sim_req_json(req) : NULL;
	json_t *accepted = json_object_get(answer, "accepted");
	json_t *ignored = json_object_get(answer, "ignored");
	if (json_is_integer(accepted) && json_is_integer(ignored)) {
		run->reports_ok++;
		run->reports_accepted += (long)json_integer_value(accepted);
		run->reports_ignored += (long)json_integer_value(ignored);
	} else {
		if (answer)
			snprintf(key, sizeof(key), "bad_response");
		run->reports_failed++;
		char *what = xasprintf("service-status sim-%ld", a->n);
		sim_req_log_failure(req, what);
		free(what);
	}
	sim_count(run->report_codes, key);
	json_decref(answer);
	return agent_act(run, a);
}

/* ---- probes: registrations for the receipt latency ---------------------- */

static bool probe_start(struct work_run *run, double now)
{
	struct work_probe *p = &run->probe;
	long i = ++p->started;
	char *machine_id = xasprintf("probe-%s-%ld", p->run_id, i);
	char *hostname = xasprintf("probe-%ld", i);
	json_t *obj = json_pack("{s:s, s:s, s:s, s:s, s:s}", "token", run->o->probe_token,
				"machineId", machine_id, "hostname", hostname, "os", "ubuntu-24.04",
				"agentVersion", SIM_AGENT_VERSION);
	char *body = json_dumps(obj, JSON_COMPACT);

	json_decref(obj);
	free(machine_id);
	free(hostname);
	p->awaiting = true;
	p->answered = false;
	p->got = 0;
	p->pending.n = 0;
	p->sent_ms = now;
	bool ok = sim_req_start(&run->net, &p->req, "POST", "/agent/v1/register", body);
	free(body);
	return ok;
}

static void probe_finish_request(struct work_run *run, double now)
{
	struct work_probe *p = &run->probe;
	char key[96];

	sim_req_outcome(&p->req, key, sizeof(key));
	sim_count(p->codes, key);
	if (p->req.rc == CURLE_OK && p->req.status == 201) {
		p->registered++;
		p->answered = true;
		p->t201_ms = now;
		return;
	}
	sim_req_log_failure(&p->req, "probe registration");
	p->failed++;
	p->awaiting = false;
	p->next_ms = now + (double)run->o->probe_gap_ms;
}

/* Closes the probe being measured when its receipts are in (or late), and
 * starts the next one when every agent polls again. */
static bool probe_step(struct work_run *run, double now)
{
	struct work_probe *p = &run->probe;

	if (run->o->probes <= 0 || now < p->not_before_ms)
		return true;
	if (p->awaiting) {
		if (p->req.busy || !p->answered)
			return true;
		bool all_in = p->got >= (long)run->count;
		if (!all_in && now - p->sent_ms < PROBE_TIMEOUT_MS)
			return true;
		for (size_t i = 0; i < p->pending.n; i++)
			lat_add(&run->receipt_ms, p->pending.v[i] - p->t201_ms);
		if (p->pending.n > 0) { /* in the order seen */
			lat_add(&p->first_ms, p->pending.v[0] - p->t201_ms);
			lat_add(&p->last_ms, p->pending.v[p->pending.n - 1] - p->t201_ms);
		}
		lat_add(&p->register_ms, p->t201_ms - p->sent_ms);
		if (!all_in)
			p->missing += (long)run->count - p->got;
		p->awaiting = false;
		p->next_ms = 0; /* set once every agent polls again */
	}
	if (p->started >= run->o->probes || run->polling < run->count) {
		p->next_ms = 0;
		return true;
	}
	if (p->next_ms == 0)
		p->next_ms = now + (double)run->o->probe_gap_ms;
	if (now < p->next_ms)
		return true;
	return probe_start(run, now);
}

/* ---- the loop ------------------------------------------------------------- */

static bool start_due(struct work_run *run, double now)
{
	double due;
	while (sim_heap_next_due(&run->heap, &due) && due <= now)
		if (!agent_act(run, sim_heap_pop(&run->heap)))
			return false;
	return true;
}

static bool handle_finished(struct work_run *run)
{
	struct sim_req *req;

	while ((req = sim_net_next_done(&run->net))) {
		double now = sim_now_ms();
		if (req == &run->probe.req) {
			probe_finish_request(run, now);
			continue;
		}
		struct work_agent *a = req->owner;
		bool ok = true;
		switch (a->phase) {
		case PHASE_BEATING:
			ok = finish_beat(run, a);
			break;
		case PHASE_POLLING:
			ok = finish_poll(run, a, now);
			break;
		case PHASE_REPLYING:
			ok = finish_reply(run, a, now);
			break;
		case PHASE_REPORTING:
			ok = finish_report(run, a);
			break;
		case PHASE_SYNCING:
			ok = finish_sync(run, a);
			break;
		case PHASE_IDLE:
			abort(); /* an idle agent has nothing in flight */
		}
		if (!ok)
			return false;
	}
	return true;
}

/* The end: no new request; parked polls are dropped, the rest finish. */
static void close_run(struct work_run *run)
{
	run->closed = true;
	for (size_t i = 0; i < run->count; i++) {
		struct work_agent *a = &run->agents[i];
		if (a->phase == PHASE_POLLING && a->req.busy) {
			sim_req_finish(&run->net, &a->req);
			a->phase = PHASE_IDLE;
			run->polling--;
		}
	}
}

static int wait_ms(const struct work_run *run, double now)
{
	double until = now + MAX_WAIT_MS;

	if (!run->closed) {
		double due;
		if (sim_heap_next_due(&run->heap, &due) && due < until)
			until = due;
		if (run->end_ms < until)
			until = run->end_ms;
		if (run->probe.next_ms > 0 && run->probe.next_ms < until)
			until = run->probe.next_ms;
		if (run->o->probes > 0 && run->probe.not_before_ms > now &&
		    run->probe.not_before_ms < until)
			until = run->probe.not_before_ms;
		if (run->probe.awaiting && run->probe.sent_ms + PROBE_TIMEOUT_MS < until)
			until = run->probe.sent_ms + PROBE_TIMEOUT_MS;
	}
	double ms = until - now;
	return ms <= 0 ? 0 : (int)ms + 1;
}

static bool work_all(struct work_run *run)
{
	for (;;) {
		double now = sim_now_ms();
		/* With --probes, the run ends once the last probe is measured. */
		bool probed = run->o->probes > 0 && run->probe.started >= run->o->probes &&
			      !run->probe.awaiting;
		/* With --until-replies, once that many were answered (and the
		 * reports they made due were sent). */
		bool drained = run->o->until_replies > 0 &&
			       run->replies_ok >= run->o->until_replies && run->reports_owed == 0;
		if (!run->closed && (sim_stop || now >= run->end_ms || probed || drained))
			close_run(run);
		if (!run->closed && (!start_due(run, now) || !probe_step(run, now)))
			return false;
		if (run->closed && run->net.in_flight == 0)
			return true;
		if (!sim_net_step(&run->net, wait_ms(run, now)) || !handle_finished(run))
			return false;
	}
}

/* ---- setup and summary ---------------------------------------------------- */

static bool setup(struct work_run *run, const struct sim_opts *o)
{
	run->o = o;
	run->poll_codes = json_object();
	run->reply_codes = json_object();
	run->beat_codes = json_object();
	run->report_codes = json_object();
	run->types = json_object();
	run->probe.codes = json_object();
	if (!sim_state_load(o->state_path, &run->ids, &run->nids))
		return false;
	run->count = run->nids;
	if (o->max_agents > 0 && (size_t)o->max_agents < run->count)
		run->count = (size_t)o->max_agents;
	sim_raise_fd_limit(run->count + 64);
	if (!sim_net_init(&run->net, o, 2 * run->count + 16) ||
	    !sim_pki_random_hex8(run->probe.run_id) ||
	    !sim_req_init(&run->net, &run->probe.req, NULL))
		return false;
	run->start_ms = sim_now_ms();
	run->end_ms = run->start_ms + o->duration_s * 1000.0;
	run->agents = xcalloc(run->count, sizeof(*run->agents));
	sim_heap_init(&run->heap, run->count, offsetof(struct work_agent, due_ms));
	for (size_t i = 0; i < run->count; i++) {
		struct work_agent *a = &run->agents[i];
		a->id = &run->ids[i];
		a->n = (long)i + 1;
		a->due_ms = run->start_ms + o->ramp_s * 1000.0 * (double)i / (double)run->count;
		if (!sim_req_init(&run->net, &a->req, a) ||
		    !sim_req_set_identity(&a->req, a->id->certificate, a->id->private_key))
			return false;
		sim_heap_push(&run->heap, a);
	}
	/* The first probe once the ramp is over, every agent has had time to beat
	 * and park, and every agent polls. */
	run->probe.not_before_ms = run->start_ms + o->ramp_s * 1000.0 + PROBE_SETTLE_MS;
	return true;
}

static void teardown(struct work_run *run)
{
	for (size_t i = 0; run->agents && i < run->count; i++) {
		sim_req_finish(&run->net, &run->agents[i].req);
		items_clear(&run->agents[i]);
		free(run->agents[i].items);
	}
	sim_req_finish(&run->net, &run->probe.req);
	free(run->agents);
	sim_heap_free(&run->heap);
	sim_net_finish(&run->net);
	sim_agents_free(run->ids, run->nids);
	json_decref(run->poll_codes);
	json_decref(run->reply_codes);
	json_decref(run->beat_codes);
	json_decref(run->report_codes);
	json_decref(run->types);
	json_decref(run->probe.codes);
	free(run->reply_ms.v);
	free(run->receipt_ms.v);
	free(run->probe.pending.v);
	free(run->probe.first_ms.v);
	free(run->probe.last_ms.v);
	free(run->probe.register_ms.v);
	free(run->held_tag);
}

static const char *misbehave_name(enum sim_misbehave m)
{
	switch (m) {
	case SIM_MISBEHAVE_DIE:
		return "die";
	case SIM_MISBEHAVE_TWICE:
		return "twice";
	case SIM_MISBEHAVE_LATE:
		return "late";
	default:
		return "none";
	}
}

static void print_summary(struct work_run *run)
{
	double now = sim_now_ms();
	double active = run->first_receipt_ms > 0 && run->last_reply_ms > run->first_receipt_ms
				? (run->last_reply_ms - run->first_receipt_ms) / 1000.0
				: 0;
	json_t *reply_lat = lat_json(&run->reply_ms, false);
	json_t *obj = json_pack(
		"{s:I, s:I, s:O, s:{s:I, s:I, s:I, s:I, s:O}, s:{s:I, s:I, s:I, s:I, s:O},"
		" s:O, s:O, s:O, s:o, s:o, s:o, s:s}",
		"agents", (json_int_t)run->count, "received", (json_int_t)run->received, "types",
		run->types, "polls", "sent", (json_int_t)run->polls, "ok",
		(json_int_t)run->polls_ok, "empty", (json_int_t)run->polls_empty, "failed",
		(json_int_t)run->polls_failed, "codes", run->poll_codes, "replies", "sent",
		(json_int_t)run->replies, "ok", (json_int_t)run->replies_ok, "failed",
		(json_int_t)run->replies_failed, "expected409", (json_int_t)run->expected_409,
		"codes", run->reply_codes, "p50_ms", json_object_get(reply_lat, "p50_ms"), "p99_ms",
		json_object_get(reply_lat, "p99_ms"), "max_ms",
		json_object_get(reply_lat, "max_ms"), "activeSeconds", sim_json_ms(active),
		"seconds", sim_json_ms((now - run->start_ms) / 1000.0), "replyRate",
		sim_json_ms(active > 0 ? (double)run->replies_ok / active : 0), "misbehave",
		misbehave_name(run->o->misbehave));
	if (run->o->vpn_dir)
		json_object_set_new(obj, "vpnSyncs",
				    json_pack("{s:I, s:I}", "ok", (json_int_t)run->syncs_ok,
					      "failed", (json_int_t)run->syncs_failed));
	struct rusage use;
	if (getrusage(RUSAGE_SELF, &use) == 0)
		json_object_set_new(
			obj, "cpuSeconds",
			sim_json_ms((double)(use.ru_utime.tv_sec + use.ru_stime.tv_sec) +
				    (double)(use.ru_utime.tv_usec + use.ru_stime.tv_usec) / 1e6));

	json_decref(reply_lat);
	if (run->o->beat_first || run->o->beat_interval_s > 0)
		json_object_set_new(obj, "beats",
				    json_pack("{s:I, s:I, s:O}", "ok", (json_int_t)run->beats_ok,
					      "failed", (json_int_t)run->beats_failed, "codes",
					      run->beat_codes));
	if (run->o->probes > 0) {
		struct work_probe *p = &run->probe;
		json_t *receipt = lat_json(&run->receipt_ms, true);
		json_object_set_new(receipt, "probes", json_integer(p->started));
		json_object_set_new(receipt, "registered", json_integer(p->registered));
		json_object_set_new(receipt, "failed", json_integer(p->failed));
		json_object_set_new(receipt, "missing", json_integer(p->missing));
		json_object_set_new(receipt, "codes", json_copy(p->codes));
		json_object_set_new(receipt, "first", lat_json(&p->first_ms, true));
		json_object_set_new(receipt, "last", lat_json(&p->last_ms, true));
		json_object_set_new(receipt, "register", lat_json(&p->register_ms, true));
		json_object_set_new(obj, "receipt", receipt);
	}
	if (run->reports > 0)
		json_object_set_new(
			obj, "reports",
			json_pack("{s:I, s:I, s:I, s:I, s:I, s:O}", "sent",
				  (json_int_t)run->reports, "ok", (json_int_t)run->reports_ok,
				  "failed", (json_int_t)run->reports_failed, "accepted",
				  (json_int_t)run->reports_accepted, "ignored",
				  (json_int_t)run->reports_ignored, "codes", run->report_codes));
	if (run->o->misbehave == SIM_MISBEHAVE_LATE)
		json_object_set_new(obj, "late",
				    json_pack("{s:s?, s:I, s:b}", "tag", run->held_tag, "attempt",
					      (json_int_t)run->held_attempt, "redelivered",
					      run->redelivered));
	sim_print_summary(obj);
}

int sim_work_run(const struct sim_opts *o)
{
	struct work_run run = { 0 };
	bool ready = setup(&run, o);
	bool ok = ready && work_all(&run);

	if (ready)
		print_summary(&run);
	/* What the agents installed is kept for the next run. */
	if (ready && run.services_changed && !sim_state_save(o->state_path, run.ids, run.nids))
		ok = false;
	ok = ok && run.polls_failed == 0 && run.replies_failed == 0 && run.beats_failed == 0 &&
	     run.reports_failed == 0 && run.probe.failed == 0 && run.probe.missing == 0 &&
	     (o->misbehave != SIM_MISBEHAVE_LATE || run.redelivered) &&
	     run.probe.started >= o->probes && run.replies_ok >= o->until_replies;
	teardown(&run);
	return ok ? 0 : 1;
}
