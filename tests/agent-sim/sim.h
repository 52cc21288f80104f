/* Private interfaces of agent-sim (agent_sim.c says what the program does).
 *
 * The program is single-threaded: every function here runs on the main thread,
 * and nothing is safe to call from another. Allocation failures abort
 * (the server's util/xmalloc.h, linked in; jansson is pointed at it in main). */
#ifndef RUNOSD_AGENT_SIM_H
#define RUNOSD_AGENT_SIM_H

#include "util/xmalloc.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#define SIM_MUST_CHECK __attribute__((warn_unused_result))
#define SIM_PRINTF(a, b) __attribute__((format(printf, a, b)))

#define SIM_AGENT_VERSION "agent-sim/1"

/* ---- command line (agent_sim.c) ---------------------------------------- */

enum sim_mode {
	SIM_REGISTER = 1,
	SIM_BEAT = 2,
	SIM_ONCE = 4,
	SIM_WORK = 8,
};

/* work --misbehave */
enum sim_misbehave {
	SIM_MISBEHAVE_NONE = 0,
	SIM_MISBEHAVE_DIE,
	SIM_MISBEHAVE_TWICE,
	SIM_MISBEHAVE_LATE,
};

/* Everything the command line can say; a mode reads the fields it owns. */
struct sim_opts {
	enum sim_mode mode;
	const char *agent_url; /* without a trailing slash */
	const char *ca_path;
	const char *token;
	const char *state_path;
	const char *path;
	const char *method; /* "GET" or "POST" */
	const char *body;
	long count;
	long parallel;
	long max_agents;
	long agent_index;
	double interval_s;
	double duration_s;
	double warmup_s;
	double timeout_s;
	/* work */
	long wait_s;
	long max_per_poll;
	long reply_delay_ms;
	long probes;
	long probe_gap_ms;
	long until_replies;
	double ramp_s;
	const char *probe_token;
	enum sim_misbehave misbehave;
	double beat_interval_s; /* work --beat-interval: 0 = the first beat only */
	const char *cr_dir;	/* work --cr-dir or SIM_CR_DIR: APPLY_CR objects written here */
	const char *fail_helm;	/* work --fail-helm or SIM_FAIL_HELM: these installs fail */
	const char *fail_build; /* work --fail-build or SIM_FAIL_BUILD: these builds fail */
	const char
		*fail_rollout; /* work --fail-rollout or SIM_FAIL_ROLLOUT: apps reported failed */
	const char *head_sha;  /* work --head-sha or SIM_HEAD_SHA: a branch's head commit */
	const char *vpn_dir;   /* work --vpn-dir or SIM_VPN_DIR: VPN sync, peer sets written */
	bool beat_first;
	bool no_csr;
	bool role_cp;
	bool append;
	bool anonymous;
	bool verbose;
};

/* Set by SIGINT and SIGTERM: the modes stop starting requests, finish the ones
 * in flight and print their summary. */
extern volatile sig_atomic_t sim_stop;

int sim_register_run(const struct sim_opts *o);
int sim_beat_run(const struct sim_opts *o);
int sim_work_run(const struct sim_opts *o);

/* ---- poll answers (sim_skim.c) --------------------------------------- */

struct sim_instruction {
	char tag[40];
	char type[40];
	long attempt;
};

/* The instructions of a poll answer ({"instructions":[…]}): *out (malloc'd,
 * *n of them) holds each one's tag, type and attempt; the rest is checked to
 * be JSON and skipped. false (nothing to free) when the answer is malformed
 * or an instruction lacks one of the three. */
bool sim_skim_instructions(const char *body, size_t len, struct sim_instruction **out, size_t *n);

/* ---- utilities (sim_util.c) ------------------------------------------ */

/* Milliseconds of CLOCK_MONOTONIC. */
double sim_now_ms(void);

/* "agent-sim: ..." on stderr, at most a few dozen times per run, so that ten
 * thousand failing agents do not drown the terminal. */
void sim_log_failure(const char *fmt, ...) SIM_PRINTF(1, 2);

/* codes[key] += 1 in a JSON object of counters. */
void sim_count(json_t *codes, const char *key);

/* Prints obj as one compact JSON line on stdout and releases it. */
void sim_print_summary(json_t *obj);

/* x rounded to three decimals, as a JSON real (milliseconds, seconds). */
json_t *sim_json_ms(double x);

/* Sorts the n latencies of v (ms) and sets p50_ms, p99_ms (nearest rank:
 * exact) and max_ms in obj; 0 for none. */
void sim_set_latencies(json_t *obj, double *v, size_t n);

/* Raises RLIMIT_NOFILE's soft limit to the hard one; warns when fewer than
 * `wanted` descriptors are then allowed. */
void sim_raise_fd_limit(size_t wanted);

/* ---- node identities and the state file (sim_state.c) ------------------ */

/* One registered agent: a line of the state file. Strings are owned. */
struct sim_agent {
	char *nid, *aid, *cid, *role, *vpn_ip;
	char *certificate; /* PEM */
	char *private_key; /* PEM */
	bool is_cp, is_worker;
	json_t *services; /* installed charts: {namespace (osid): desired replicas}, or NULL */
	json_t *apps;	  /* applied apps' Deployments: {namespace (osid): desired}, or NULL */
};

void sim_agent_finish(struct sim_agent *a);

/* Replaces the agent's certificate and key (copies both). */
void sim_agent_set_identity(struct sim_agent *a, const char *cert_pem, const char *key_pem);

/* Reads every line of the state file into a new array. False, with a message,
 * when the file cannot be read, a line is not an agent or there is none. */
bool sim_state_load(const char *path, struct sim_agent **agents, size_t *count) SIM_MUST_CHECK;

/* Writes the agents (those with a certificate) through a temporary file and a
 * rename, so a reader never sees half a file. */
bool sim_state_save(const char *path, const struct sim_agent *agents, size_t count) SIM_MUST_CHECK;

/* Adds the agents (those with a certificate) at the end of the file, which is
 * created when missing. */
bool sim_state_append(const char *path, const struct sim_agent *agents,
		      size_t count) SIM_MUST_CHECK;

void sim_agents_free(struct sim_agent *agents, size_t count);

/* ---- the services' instructions (sim_services.c) ----------------------- */

/* What POST /agent/v1/service-status takes at most: entries, replicas. */
#define SIM_REPORT_MAX 1000
#define SIM_REPLICAS_MAX 100000

/* APPLY_CR, DELETE_CR, INSTALL_HELM_CHART and UNINSTALL_HELM_CHART. */
bool sim_services_handles(const char *type);

/* Carries out one of those for agent a (o: --cr-dir, --fail-helm): NULL for
 * a NO_CONTENT reply, else the text of an ERROR reply (to free). *changed:
 * the agent's installed services or apps (a->services, a->apps) changed. */
char *sim_services_act(struct sim_agent *a, const struct sim_opts *o, const char *tag,
		       const char *type, const json_t *payload, bool *changed) SIM_MUST_CHECK;

/* The body of POST /agent/v1/service-status (to free): every installed
 * service healthy with all its replicas ready, then the apps as
 * sim_apps_report says; NULL when there is none. */
char *sim_services_report(const struct sim_agent *a, const struct sim_opts *o);

/* The agent has installed services or apps to report. */
bool sim_agent_has_workloads(const struct sim_agent *a);

/* ---- the apps' instructions (sim_apps.c) ------------------------------- */

/* BUILD_IMAGE and RUN_KUBECTL_COMMAND. */
bool sim_apps_handles(const char *type);

/* Carries out one of those (o: --fail-build, --head-sha): the reply without
 * its attempt ({type, payload} or {type: "ERROR", error}; a new reference),
 * or NULL for NO_CONTENT. */
json_t *sim_apps_act(const struct sim_opts *o, const char *type, const json_t *payload);

/* 40 lowercase hex digits (a commit). */
bool sim_sha_valid(const char *s);

/* An APPLY_CR object checked by sim_services.c: a Deployment in a namespace
 * app-* is remembered in a->apps with its spec.replicas (else 1). */
void sim_apps_applied(struct sim_agent *a, const json_t *obj, bool *changed);

/* A DELETE_CR of the Namespace ns: its app is forgotten. */
void sim_apps_deleted(struct sim_agent *a, const char *ns, bool *changed);

/* Appends the apps' entries to a service-status list (up to SIM_REPORT_MAX
 * in all): healthy with every replica ready, or failed (no replica ready)
 * for an osid containing --fail-rollout. */
void sim_apps_report(const struct sim_agent *a, const struct sim_opts *o, json_t *list);

/* ---- the VPN (sim_vpn.c) ---------------------------------------------- */

/* SET_VPN_PEERS, with --vpn-dir. */
bool sim_vpn_handles(const struct sim_opts *o, const char *type);

/* The body of POST /agent/v1/vpn/sync (to free): the wg0 peer, and wg1 for
 * a control plane. */
char *sim_vpn_sync_body(const struct sim_agent *a);

/* Checks a SET_VPN_PEERS and writes its payload to --vpn-dir: NULL for a
 * NO_CONTENT reply, else the text of an ERROR reply (to free). */
char *sim_vpn_act(const struct sim_agent *a, const struct sim_opts *o,
		  const json_t *payload) SIM_MUST_CHECK;

/* ---- keys and CSRs (sim_pki.c) ----------------------------------------- */

/* A new ECDSA P-256 key and a CSR for it with subject CN=<cn>, signed with
 * SHA-256; both PEM, owned by the caller. False (with a message) on an
 * OpenSSL error. */
bool sim_pki_key_and_csr(const char *cn, char **key_pem, char **csr_pem) SIM_MUST_CHECK;

/* Eight random hex digits (and the NUL) for machine ids. */
bool sim_pki_random_hex8(char out[9]) SIM_MUST_CHECK;

/* ---- HTTPS over one libcurl multi handle (sim_http.c) ------------------ */

struct sim_net {
	CURLM *multi;
	struct curl_slist *headers; /* every request's */
	char *base_url;
	char *ca_pem;
	size_t ca_len;
	long timeout_ms;
	bool verbose;
	size_t in_flight;
	int epoll_fd;	    /* the sockets libcurl asks to watch */
	double timer_at_ms; /* libcurl's next timeout (sim_now_ms), or < 0 */
};

/* One simulated client: an easy handle with its own connection cache (a share
 * handle), so that its keep-alive connection is never looked up among the
 * other agents' (libcurl checks each idle connection of a host on every
 * lookup, which costs a system call per connection). */
struct sim_req {
	CURL *easy;
	CURLSH *share;
	void *owner;
	char errbuf[CURL_ERROR_SIZE];
	bool busy;
	bool fresh_connect; /* the identity changed since the last request */
	bool close_after;   /* the next request's connection is not kept */

	/* The last finished request. */
	CURLcode rc;
	long status;
	double elapsed_ms;
	char *body;
	size_t len, cap;
	bool too_large;
};

/* Loads the CA file and creates the multi handle; max_connections sizes its
 * connection limits. False with a message on failure. */
bool sim_net_init(struct sim_net *net, const struct sim_opts *o,
		  size_t max_connections) SIM_MUST_CHECK;
void sim_net_finish(struct sim_net *net);

/* Sets up a client that trusts the CA alone and sends no certificate. */
bool sim_req_init(struct sim_net *net, struct sim_req *req, void *owner) SIM_MUST_CHECK;
void sim_req_finish(struct sim_net *net, struct sim_req *req);

/* Client certificate and key (PEM, copied) for the following requests; the
 * next request opens a new connection. */
bool sim_req_set_identity(struct sim_req *req, const char *cert_pem,
			  const char *key_pem) SIM_MUST_CHECK;

/* The connection that carries the next request is closed when it finishes:
 * for a renewal, after which the old certificate's connection is of no use
 * (it would otherwise linger in the cache, a descriptor per agent). */
void sim_req_close_after(struct sim_req *req);

/* Starts method ("GET" or "POST") on base_url + path; body (POST, copied) may
 * be NULL. The request must not be busy. */
bool sim_req_start(struct sim_net *net, struct sim_req *req, const char *method, const char *path,
		   const char *body) SIM_MUST_CHECK;

/* Runs the transfers and waits at most timeout_ms for network activity. False
 * on a libcurl multi error, which the caller cannot recover from. */
bool sim_net_step(struct sim_net *net, int timeout_ms) SIM_MUST_CHECK;

/* The next finished request (rc, status, body and elapsed_ms filled in), or
 * NULL when none has finished since the last call. */
struct sim_req *sim_net_next_done(struct sim_net *net);

/* The parsed body of the last request when it is a JSON object, else NULL;
 * a new reference. */
json_t *sim_req_json(const struct sim_req *req);

/* Writes the counter key of the last request's outcome: the HTTP status for
 * 2xx, the error body's `code` when it has one, else the status, and
 * "curl:<n>" for a transfer error. */
void sim_req_outcome(const struct sim_req *req, char *key, size_t size);

/* One line on stderr (rate-limited) about a request that failed. */
void sim_req_log_failure(const struct sim_req *req, const char *what);

/* A min-heap of agents by due time (ms), for the modes that schedule them:
 * items point at structs whose double at due_offset is the due time. Room for
 * cap items, each in it at most once. */
struct sim_heap {
	void **items;
	size_t len;
	size_t due_offset;
};

void sim_heap_init(struct sim_heap *h, size_t cap, size_t due_offset);
void sim_heap_free(struct sim_heap *h);
void sim_heap_push(struct sim_heap *h, void *item);
void *sim_heap_pop(struct sim_heap *h);
/* The earliest due time, or false when empty. */
bool sim_heap_next_due(const struct sim_heap *h, double *due_ms);

#endif
