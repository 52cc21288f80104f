/* agent-sim: one process that plays one or many runosd node agents against the
 * agent listener (AGENT.md), over HTTPS with mutual TLS, for the integration
 * tests, the heartbeat load benchmark (10,000 agents beating every 5 s) and
 * the work-queue benchmark (tests/bench/work.sh).
 * All agents share one libcurl multi handle and one thread; each keeps its own
 * keep-alive connection made with its own client certificate.
 *
 * Modes
 *   register  POST /agent/v1/register for --count agents with one join token
 *             (--parallel at a time, default 64). Agent n is hostname sim-<n>,
 *             machine id sim-<random>-<n>; its P-256 key and CSR (CN=sim-<n>)
 *             are made here, or with --no-csr the server makes the key. Writes
 *             the state file (--append: adds to it; a cluster takes 253 nodes,
 *             so a large fleet is one run per cluster and token) and prints
 *               {"registered":N,"failed":F,"codes":{...},"seconds":S}
 *             Exit 0 when every agent registered.
 *   beat      Loads the state file (the first --max-agents agents) and sends
 *             POST /agent/v1/heartbeat for each every --interval seconds
 *             (default 5; first beats spread evenly over the first interval)
 *             for --duration seconds (default 30), renewing the certificate
 *             (POST /agent/v1/certificate) when a beat says renewCertificate.
 *             Prints
 *               {"agents":N,"beats":B,"ok":O,"failed":F,"codes":{...},
 *                "p50_ms":x,"p99_ms":y,"max_ms":z,"renewed":R,"renewFailed":RF,
 *                "late":L,"seconds":S}
 *             Latencies are those of the ok beats, percentiles exact (nearest
 *             rank). late counts beats that finished after the agent's next
 *             one was due. With --warmup W, each agent first sends one beat,
 *             the N spread over W seconds (this opens the connections: TLS
 *             handshakes cost far more than beats), and the line gains
 *             "warmup":{"beats","ok","failed","codes","p50_ms","p99_ms",
 *             "max_ms","seconds"}; the other fields are then about the
 *             measured --duration only. Exit 0 when no beat (warm-up
 *             included) and no renewal failed. The heartbeat benchmark
 *             (tests/bench/agents.sh) warms up at 100 agents a second.
 *   work      Loads the state file (the first --max-agents agents); each agent
 *             keeps a long poll open (GET /agent/v1/instructions?wait=--wait
 *             &max=--max; defaults 30 and 10), answers every instruction it
 *             gets, one at a time (NO_CONTENT; CLUSTER_JOIN_CMD for
 *             GET_CLUSTER_JOIN_CMD; after --reply-delay-ms), and polls again,
 *             for --duration seconds (parked polls are then dropped). --beat:
 *             one heartbeat first (the node goes online); --ramp S: the first
 *             requests spread over S seconds. --probe-token T --probes N:
 *             registers N nodes with T one at a time and measures the receipt
 *             latency of the SET_VPN_PEERS each queues (sim_work.c).
 *             --until-replies N: the run ends once N replies were answered
 *             (a drain of a queue of N, timed without asking the database),
 *             and the service reports they made due were sent.
 *             --beat-interval S: heartbeats every S seconds, between polls.
 *             The services' instructions (APPLY_CR, DELETE_CR,
 *             INSTALL_HELM_CHART, UNINSTALL_HELM_CHART) are checked and
 *             carried out as sim_services.c says (NO_CONTENT, or ERROR for a
 *             bad payload); --cr-dir DIR (or SIM_CR_DIR) writes each APPLY_CR
 *             object to DIR/<tag>-<n>.json; --vpn-dir DIR (or SIM_VPN_DIR)
 *             syncs the VPN after the first heartbeat and writes each
 *             SET_VPN_PEERS to DIR/<nid>-<interface>.json (sim_vpn.c); --fail-helm S (or
 * SIM_FAIL_HELM) fails the chart installs into a namespace containing S. The apps' instructions are
 * taken as sim_apps.c says: BUILD_IMAGE checked and answered IMAGE_BUILT{sha, imageDigest,
 *             durationMs} (--head-sha SHA or SIM_HEAD_SHA: the commit a
 *             branch resolves to; --fail-build S or SIM_FAIL_BUILD: a
 *             repoUrl containing S fails), an APPLY_CR'd Deployment in a
 *             namespace app-* remembered as the app, a DELETE_CR of a
 *             Namespace forgetting what was in it, RUN_KUBECTL_COMMAND
 *             ["logs", ...] answered KUBECTL_COMMAND_RESPONSE. A
 *             control-plane agent reports its installed charts and apps
 *             (POST /agent/v1/service-status) after they change and after
 *             each heartbeat: healthy, or failed for an app whose osid
 *             contains --fail-rollout S (SIM_FAIL_ROLLOUT); they are kept
 *             in the state file.
 *             Prints
 *               {"agents":N,"received":R,"types":{...},"polls":{"sent","ok",
 *                "empty","failed","codes"},"replies":{"sent","ok","failed",
 *                "expected409","codes"},"p50_ms","p99_ms","max_ms",
 *                "activeSeconds","replyRate","seconds","misbehave",
 *                "beats":{...},"receipt":{"n","p50_ms","p99_ms","max_ms",
 *                "min_ms","probes","registered","failed","missing","codes"},
 *                "late":{...}, "reports":{"sent","ok","failed","accepted",
 *                "ignored","codes"}}
 *             p50/p99/max: reply round trips answered 204; activeSeconds: from
 *             the first instruction received to the last reply answered, and
 *             replyRate the replies answered per second of it. --misbehave:
 *             die (exit 3 on the first instruction, unanswered), twice (each
 *             reply sent twice, the second expecting 409) or late (the first
 *             instruction held past its lease; its redelivery is answered
 *             with the old attempt, expecting 409, then the new one). Exit 0
 *             when no poll, beat, reply or probe failed (and, late, the
 *             instruction came back).
 *   once      One request as one agent of the state file (--agent-index,
 *             default the first; --anonymous: no client certificate and no
 *             state file). Prints "<status> <body>" (status 0 and a JSON error
 *             when the request did not complete). Exit 0 for a 2xx status.
 *
 * Counters ("codes") are keyed by the HTTP status for 2xx answers, by the
 * error body's code otherwise (agent.cert_invalid, node.exists, ...), by the
 * status when the body has none, "curl:<n>" for a transfer error (libcurl's
 * CURLcode: 7 refused, 28 timeout, 35/60 TLS) and "bad_response" for a
 * success answer without the fields AGENT.md gives it. Renewals are counted as
 * "renew:<key>".
 *
 * State file: one JSON object per line and agent, {"nid","aid","cid","role",
 * "certificate","privateKey","vpnIp","isCp","isWorker","services"?,"apps"?}
 * (mode 0600; services: the charts it installed, apps: the apps'
 * Deployments it applied, each {osid: desired replicas}). isCp is
 * true for controlplane and hybrid roles, or for all with register --role-cp.
 *
 * SIGINT/SIGTERM stop starting requests; the ones in flight finish and the
 * summary is printed. Bad arguments: a message on stderr, exit 2. Other
 * failures (CA file, state file, libcurl, OpenSSL): exit 1. */
#include "sim.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

volatile sig_atomic_t sim_stop;

static const char usage_text[] =
	"usage:\n"
	"  agent-sim register --agent-url URL --ca CA.pem --token rnj_... --count N --state FILE\n"
	"                     [--no-csr] [--role-cp] [--parallel P] [--append]\n"
	"  agent-sim beat     --agent-url URL --ca CA.pem --state FILE [--interval SECONDS]\n"
	"                     [--duration SECONDS] [--warmup SECONDS] [--max-agents N] [--no-csr]\n"
	"  agent-sim once     --agent-url URL --ca CA.pem (--state FILE [--agent-index I] | "
	"--anonymous)\n"
	"                     --path /agent/v1/... [--method GET|POST] [--body JSON]\n"
	"  agent-sim work     --agent-url URL --ca CA.pem --state FILE [--duration SECONDS]\n"
	"                     [--wait SECONDS] [--max N] [--max-agents N] [--reply-delay-ms D]\n"
	"                     [--misbehave die|twice|late] [--beat] [--ramp SECONDS]\n"
	"                     [--probe-token rnj_... --probes N [--probe-gap-ms G]]\n"
	"                     [--until-replies N] [--beat-interval SECONDS] [--cr-dir DIR]\n"
	"                     [--fail-helm SUBSTRING] [--fail-build SUBSTRING]\n"
	"                     [--fail-rollout SUBSTRING] [--head-sha SHA]\n"
	"\n"
	"Simulated runosd node agents over HTTPS with mutual TLS, all in one process.\n"
	"  --agent-url URL     the agent listener, e.g. https://127.0.0.1:8443\n"
	"  --ca FILE           the agent CA (PEM); the only certificate trusted\n"
	"  --token TOKEN       join token for register\n"
	"  --count N           agents to register (1..1000000)\n"
	"  --parallel P        registrations in flight at a time (default 64)\n"
	"  --no-csr            let the server make the keys (register without csr, renew with {})\n"
	"  --role-cp           register: mark the agents isCp in their heartbeats\n"
	"  --append            register: add to the state file instead of replacing it\n"
	"  --state FILE        agents, one JSON object per line (written by register)\n"
	"  --interval SECONDS  beat: between two heartbeats of an agent (default 5)\n"
	"  --duration SECONDS  beat: how long to send heartbeats; work: how long to poll\n"
	"                      (default 30)\n"
	"  --warmup SECONDS    beat: first one beat per agent spread over this time, counted "
	"apart\n"
	"                      (opens the connections before the measured beats; default 0)\n"
	"  --max-agents N      beat, work: only the first N agents of the state file\n"
	"  --wait SECONDS      work: the long poll's wait (0..60, default 30)\n"
	"  --max N             work: instructions per poll at most (1..50, default 10)\n"
	"  --reply-delay-ms D  work: hold each reply back D ms (the work; default 0)\n"
	"  --beat              work: each agent first sends one heartbeat (its node goes online)\n"
	"  --ramp SECONDS      work: first requests spread over this time (default 0)\n"
	"  --misbehave HOW     work: die (exit 3 on the first instruction), twice (answer each\n"
	"                      twice, the second expecting 409), late (hold the first one past\n"
	"                      its lease, answer its redelivery's old attempt expecting 409)\n"
	"  --probe-token TOKEN work: join token of the agents' cluster for --probes\n"
	"  --probes N          work: register N nodes one at a time and time the arrival of the\n"
	"                      SET_VPN_PEERS each queues for the agents (receipt latency)\n"
	"  --probe-gap-ms G    work: pause before each probe once every agent polls (default 50)\n"
	"  --until-replies N   work: end the run once N replies were answered 204 (a drain)\n"
	"  --beat-interval S   work: a heartbeat every S seconds, between polls (default: only\n"
	"                      the one of --beat)\n"
	"  --cr-dir DIR        work: write each APPLY_CR object to DIR/<tag>-<n>.json (default\n"
	"                      $SIM_CR_DIR)\n"
	"  --vpn-dir DIR       work: sync the VPN after the first heartbeat (wg1 too for control\n"
	"                      planes) and write each SET_VPN_PEERS payload to\n"
	"                      DIR/<nid>-<wg0|wg1>.json (default $SIM_VPN_DIR; sim_vpn.c)\n"
	"  --fail-helm S       work: INSTALL_HELM_CHART into a namespace containing S answers\n"
	"                      ERROR (default $SIM_FAIL_HELM)\n"
	"  --fail-build S      work: BUILD_IMAGE of a repoUrl containing S answers ERROR, as a\n"
	"                      failed build (default $SIM_FAIL_BUILD)\n"
	"  --fail-rollout S    work: an app (namespace app-*) whose osid contains S is reported\n"
	"                      failed, as in CrashLoopBackOff (default $SIM_FAIL_ROLLOUT)\n"
	"  --head-sha SHA      work: the commit (40 hex digits) BUILD_IMAGE resolves a branch to\n"
	"                      (default $SIM_HEAD_SHA, else the SHA-1 of \"<repoUrl>#<ref>\")\n"
	"  --agent-index I     once: which agent of the state file (default 0, the first)\n"
	"  --anonymous         once: no client certificate\n"
	"  --path PATH         once: request path, starting with /\n"
	"  --method M          once: GET or POST (default POST with --body, else GET)\n"
	"  --body JSON         once: request body, sent as it is\n"
	"  --timeout SECONDS   per request (default 30; work: at least --wait + 15)\n"
	"  --verbose           libcurl's trace on stderr\n"
	"  --help              this text\n"
	"\n"
	"Each mode prints one JSON summary line on stdout (once: \"<status> <body>\"); see the\n"
	"comment at the top of tests/agent-sim/agent_sim.c.\n";

enum option_id {
	OPT_AGENT_URL = 256,
	OPT_CA,
	OPT_TOKEN,
	OPT_COUNT,
	OPT_PARALLEL,
	OPT_NO_CSR,
	OPT_ROLE_CP,
	OPT_APPEND,
	OPT_STATE,
	OPT_INTERVAL,
	OPT_DURATION,
	OPT_WARMUP,
	OPT_MAX_AGENTS,
	OPT_AGENT_INDEX,
	OPT_ANONYMOUS,
	OPT_PATH,
	OPT_METHOD,
	OPT_BODY,
	OPT_TIMEOUT,
	OPT_VERBOSE,
	OPT_HELP,
	OPT_WAIT,
	OPT_MAX,
	OPT_REPLY_DELAY,
	OPT_MISBEHAVE,
	OPT_BEAT,
	OPT_RAMP,
	OPT_PROBE_TOKEN,
	OPT_PROBES,
	OPT_PROBE_GAP,
	OPT_UNTIL_REPLIES,
	OPT_BEAT_INTERVAL,
	OPT_CR_DIR,
	OPT_VPN_DIR,
	OPT_FAIL_HELM,
	OPT_FAIL_BUILD,
	OPT_FAIL_ROLLOUT,
	OPT_HEAD_SHA,
};

#define ALL_MODES (SIM_REGISTER | SIM_BEAT | SIM_ONCE | SIM_WORK)

/* Every option, with the modes that take it. */
static const struct {
	const char *name;
	int has_arg;
	enum option_id id;
	int modes;
} option_table[] = {
	{ "agent-url", required_argument, OPT_AGENT_URL, ALL_MODES },
	{ "ca", required_argument, OPT_CA, ALL_MODES },
	{ "token", required_argument, OPT_TOKEN, SIM_REGISTER },
	{ "count", required_argument, OPT_COUNT, SIM_REGISTER },
	{ "parallel", required_argument, OPT_PARALLEL, SIM_REGISTER },
	{ "no-csr", no_argument, OPT_NO_CSR, SIM_REGISTER | SIM_BEAT },
	{ "role-cp", no_argument, OPT_ROLE_CP, SIM_REGISTER },
	{ "append", no_argument, OPT_APPEND, SIM_REGISTER },
	{ "state", required_argument, OPT_STATE, ALL_MODES },
	{ "interval", required_argument, OPT_INTERVAL, SIM_BEAT },
	{ "duration", required_argument, OPT_DURATION, SIM_BEAT | SIM_WORK },
	{ "warmup", required_argument, OPT_WARMUP, SIM_BEAT },
	{ "max-agents", required_argument, OPT_MAX_AGENTS, SIM_BEAT | SIM_WORK },
	{ "wait", required_argument, OPT_WAIT, SIM_WORK },
	{ "max", required_argument, OPT_MAX, SIM_WORK },
	{ "reply-delay-ms", required_argument, OPT_REPLY_DELAY, SIM_WORK },
	{ "misbehave", required_argument, OPT_MISBEHAVE, SIM_WORK },
	{ "beat", no_argument, OPT_BEAT, SIM_WORK },
	{ "ramp", required_argument, OPT_RAMP, SIM_WORK },
	{ "probe-token", required_argument, OPT_PROBE_TOKEN, SIM_WORK },
	{ "probes", required_argument, OPT_PROBES, SIM_WORK },
	{ "probe-gap-ms", required_argument, OPT_PROBE_GAP, SIM_WORK },
	{ "until-replies", required_argument, OPT_UNTIL_REPLIES, SIM_WORK },
	{ "beat-interval", required_argument, OPT_BEAT_INTERVAL, SIM_WORK },
	{ "cr-dir", required_argument, OPT_CR_DIR, SIM_WORK },
	{ "vpn-dir", required_argument, OPT_VPN_DIR, SIM_WORK },
	{ "fail-helm", required_argument, OPT_FAIL_HELM, SIM_WORK },
	{ "fail-build", required_argument, OPT_FAIL_BUILD, SIM_WORK },
	{ "fail-rollout", required_argument, OPT_FAIL_ROLLOUT, SIM_WORK },
	{ "head-sha", required_argument, OPT_HEAD_SHA, SIM_WORK },
	{ "agent-index", required_argument, OPT_AGENT_INDEX, SIM_ONCE },
	{ "anonymous", no_argument, OPT_ANONYMOUS, SIM_ONCE },
	{ "path", required_argument, OPT_PATH, SIM_ONCE },
	{ "method", required_argument, OPT_METHOD, SIM_ONCE },
	{ "body", required_argument, OPT_BODY, SIM_ONCE },
	{ "timeout", required_argument, OPT_TIMEOUT, ALL_MODES },
	{ "verbose", no_argument, OPT_VERBOSE, ALL_MODES },
	{ "help", no_argument, OPT_HELP, ALL_MODES },
};

#define OPTION_COUNT (sizeof(option_table) / sizeof(option_table[0]))

SIM_PRINTF(1, 2) __attribute__((noreturn)) static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("agent-sim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(agent-sim --help for usage)\n", stderr);
	exit(EXIT_USAGE);
}

static long parse_long(const char *name, const char *s, long min, long max)
{
	char *end = NULL;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < min || v > max)
		usage_error("--%s: expected an integer from %ld to %ld, got '%s'", name, min, max,
			    s);
	return v;
}

static double parse_seconds(const char *name, const char *s, double min, double max)
{
	char *end = NULL;
	double v = strtod(s, &end);

	if (!*s || *end || !(v >= min && v <= max))
		usage_error("--%s: expected seconds from %g to %g, got '%s'", name, min, max, s);
	return v;
}

static enum sim_mode parse_mode(const char *word)
{
	if (!strcmp(word, "register"))
		return SIM_REGISTER;
	if (!strcmp(word, "beat"))
		return SIM_BEAT;
	if (!strcmp(word, "once"))
		return SIM_ONCE;
	if (!strcmp(word, "work"))
		return SIM_WORK;
	usage_error("unknown mode '%s' (register, beat, once or work)", word);
}

static enum sim_misbehave parse_misbehave(const char *word)
{
	if (!strcmp(word, "die"))
		return SIM_MISBEHAVE_DIE;
	if (!strcmp(word, "twice"))
		return SIM_MISBEHAVE_TWICE;
	if (!strcmp(word, "late"))
		return SIM_MISBEHAVE_LATE;
	usage_error("--misbehave: die, twice or late, got '%s'", word);
}

static const char *nonempty(const char *name, const char *arg)
{
	if (!*arg)
		usage_error("--%s needs a non-empty substring", name);
	return arg;
}

/* A work option's value from the environment (name), when the command line
 * gave none: for tests that start agent-sim through a script. */
static const char *from_env(const char *value, const char *name)
{
	const char *env = getenv(name);
	return value || !env || !*env ? value : env;
}

static void set_option(struct sim_opts *o, int id, const char *arg)
{
	switch (id) {
	case OPT_AGENT_URL:
		o->agent_url = arg;
		break;
	case OPT_CA:
		o->ca_path = arg;
		break;
	case OPT_TOKEN:
		o->token = arg;
		break;
	case OPT_COUNT:
		o->count = parse_long("count", arg, 1, 1000000);
		break;
	case OPT_PARALLEL:
		o->parallel = parse_long("parallel", arg, 1, 10000);
		break;
	case OPT_NO_CSR:
		o->no_csr = true;
		break;
	case OPT_ROLE_CP:
		o->role_cp = true;
		break;
	case OPT_APPEND:
		o->append = true;
		break;
	case OPT_STATE:
		o->state_path = arg;
		break;
	case OPT_INTERVAL:
		o->interval_s = parse_seconds("interval", arg, 0.01, 3600);
		break;
	case OPT_DURATION:
		o->duration_s = parse_seconds("duration", arg, 0.01, 86400);
		break;
	case OPT_WARMUP:
		o->warmup_s = parse_seconds("warmup", arg, 0, 3600);
		break;
	case OPT_MAX_AGENTS:
		o->max_agents = parse_long("max-agents", arg, 1, 1000000);
		break;
	case OPT_AGENT_INDEX:
		o->agent_index = parse_long("agent-index", arg, 0, 1000000);
		break;
	case OPT_ANONYMOUS:
		o->anonymous = true;
		break;
	case OPT_PATH:
		o->path = arg;
		break;
	case OPT_METHOD:
		o->method = arg;
		break;
	case OPT_BODY:
		o->body = arg;
		break;
	case OPT_TIMEOUT:
		o->timeout_s = parse_seconds("timeout", arg, 0.1, 3600);
		break;
	case OPT_VERBOSE:
		o->verbose = true;
		break;
	case OPT_WAIT:
		o->wait_s = parse_long("wait", arg, 0, 60);
		break;
	case OPT_MAX:
		o->max_per_poll = parse_long("max", arg, 1, 50);
		break;
	case OPT_REPLY_DELAY:
		o->reply_delay_ms = parse_long("reply-delay-ms", arg, 0, 3600000);
		break;
	case OPT_MISBEHAVE:
		o->misbehave = parse_misbehave(arg);
		break;
	case OPT_BEAT:
		o->beat_first = true;
		break;
	case OPT_RAMP:
		o->ramp_s = parse_seconds("ramp", arg, 0, 3600);
		break;
	case OPT_PROBE_TOKEN:
		o->probe_token = arg;
		break;
	case OPT_PROBES:
		o->probes = parse_long("probes", arg, 1, 1000000);
		break;
	case OPT_PROBE_GAP:
		o->probe_gap_ms = parse_long("probe-gap-ms", arg, 0, 3600000);
		break;
	case OPT_UNTIL_REPLIES:
		o->until_replies = parse_long("until-replies", arg, 1, 100000000);
		break;
	case OPT_BEAT_INTERVAL:
		o->beat_interval_s = parse_seconds("beat-interval", arg, 0.01, 3600);
		break;
	case OPT_CR_DIR:
		o->cr_dir = arg;
		break;
	case OPT_VPN_DIR:
		o->vpn_dir = arg;
		break;
	case OPT_FAIL_HELM:
		o->fail_helm = nonempty("fail-helm", arg);
		break;
	case OPT_FAIL_BUILD:
		o->fail_build = nonempty("fail-build", arg);
		break;
	case OPT_FAIL_ROLLOUT:
		o->fail_rollout = nonempty("fail-rollout", arg);
		break;
	case OPT_HEAD_SHA:
		o->head_sha = arg;
		break;
	default:
		abort();
	}
}

static void require(const char *value, const char *name)
{
	if (!value)
		usage_error("%s is required in this mode", name);
}

static void check_agent_url(const char *url)
{
	if (strncmp(url, "https://", 8) && strncmp(url, "http://", 7))
		usage_error("--agent-url must start with https:// (or http://), got '%s'", url);
}

static void check_once_options(struct sim_opts *o)
{
	require(o->path, "--path");
	if (o->path[0] != '/')
		usage_error("--path must start with /, got '%s'", o->path);
	if (!o->anonymous)
		require(o->state_path, "--state (or --anonymous)");
	if (!o->method)
		o->method = o->body ? "POST" : "GET";
	if (strcmp(o->method, "GET") && strcmp(o->method, "POST"))
		usage_error("--method must be GET or POST, got '%s'", o->method);
	if (!strcmp(o->method, "GET") && o->body)
		usage_error("--body needs --method POST");
}

static void check_mode_options(struct sim_opts *o)
{
	require(o->agent_url, "--agent-url");
	require(o->ca_path, "--ca");
	check_agent_url(o->agent_url);
	switch (o->mode) {
	case SIM_REGISTER:
		require(o->token, "--token");
		require(o->state_path, "--state");
		if (!o->count)
			usage_error("--count is required in this mode");
		break;
	case SIM_BEAT:
		require(o->state_path, "--state");
		break;
	case SIM_ONCE:
		check_once_options(o);
		break;
	case SIM_WORK:
		require(o->state_path, "--state");
		if (o->probes > 0)
			require(o->probe_token, "--probe-token (with --probes)");
		if (o->probe_token && o->probes == 0)
			usage_error("--probe-token needs --probes");
		o->cr_dir = from_env(o->cr_dir, "SIM_CR_DIR");
		o->vpn_dir = from_env(o->vpn_dir, "SIM_VPN_DIR");
		o->fail_helm = from_env(o->fail_helm, "SIM_FAIL_HELM");
		o->fail_build = from_env(o->fail_build, "SIM_FAIL_BUILD");
		o->fail_rollout = from_env(o->fail_rollout, "SIM_FAIL_ROLLOUT");
		o->head_sha = from_env(o->head_sha, "SIM_HEAD_SHA");
		if (o->head_sha && !sim_sha_valid(o->head_sha))
			usage_error("--head-sha (or SIM_HEAD_SHA) must be 40 lowercase hex digits, "
				    "got '%s'",
				    o->head_sha);
		/* A parked poll must not time out on this side first. */
		if (o->timeout_s < (double)o->wait_s + 15)
			o->timeout_s = (double)o->wait_s + 15;
		break;
	}
}

/* Fills o from argv; exits with usage on --help (0) or a bad argument (2). */
static void parse_command_line(int argc, char **argv, struct sim_opts *o)
{
	*o = (struct sim_opts){
		.parallel = 64,
		.interval_s = 5,
		.duration_s = 30,
		.timeout_s = 30,
		.wait_s = 30,
		.max_per_poll = 10,
		.probe_gap_ms = 50,
	};
	if (argc < 2) {
		fputs(usage_text, stderr);
		exit(EXIT_USAGE);
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage_text, stdout);
		exit(0);
	}
	o->mode = parse_mode(argv[1]);

	struct option longopts[OPTION_COUNT + 1];
	for (size_t i = 0; i < OPTION_COUNT; i++)
		longopts[i] = (struct option){ option_table[i].name, option_table[i].has_arg, NULL,
					       option_table[i].id };
	longopts[OPTION_COUNT] = (struct option){ NULL, 0, NULL, 0 };

	/* getopt sees the arguments after the mode. */
	char **args = argv + 1;
	int nargs = argc - 1, id, index = -1;
	opterr = 0;
	while ((id = getopt_long(nargs, args, "+h", longopts, &index)) != -1) {
		if (id == 'h' || id == OPT_HELP) {
			fputs(usage_text, stdout);
			exit(0);
		}
		if (id == '?' || id == ':' || index < 0)
			usage_error("unknown option or missing value: '%s'", args[optind - 1]);
		if (!(option_table[index].modes & (int)o->mode))
			usage_error("--%s does not apply to %s", option_table[index].name, argv[1]);
		set_option(o, id, optarg);
		index = -1;
	}
	if (optind < nargs)
		usage_error("unexpected argument '%s'", args[optind]);
	check_mode_options(o);
}

/* ---- once ---------------------------------------------------------------- */

static void print_answer(const struct sim_req *req)
{
	if (req->rc != CURLE_OK) {
		char message[CURL_ERROR_SIZE + 64];
		snprintf(message, sizeof(message), "%s%s%s", curl_easy_strerror(req->rc),
			 req->errbuf[0] ? ": " : "", req->errbuf);
		json_t *err = json_pack("{s:s, s:s}", "error", "curl", "message", message);
		char *text = json_dumps(err, JSON_COMPACT);
		printf("0 %s\n", text ? text : "{}");
		free(text);
		json_decref(err);
		return;
	}
	printf("%ld ", req->status);
	if (req->len > 0)
		fwrite(req->body, 1, req->len, stdout);
	if (req->len == 0 || req->body[req->len - 1] != '\n')
		putchar('\n');
}

/* The identity for the request, or NULL (with a message) when there is none. */
static const struct sim_agent *pick_agent(const struct sim_opts *o, const struct sim_agent *agents,
					  size_t count)
{
	if ((size_t)o->agent_index >= count) {
		fprintf(stderr, "agent-sim: --agent-index %ld: the state file has %zu agents\n",
			o->agent_index, count);
		return NULL;
	}
	return &agents[o->agent_index];
}

/* Sends the request, prints the answer and returns the exit code. */
static int send_once(const struct sim_opts *o, const struct sim_agent *agent)
{
	struct sim_net net;
	struct sim_req req;
	int rc = 1;

	if (!sim_net_init(&net, o, 4))
		return 1;
	if (!sim_req_init(&net, &req, NULL))
		goto out_net;
	if (agent && !sim_req_set_identity(&req, agent->certificate, agent->private_key))
		goto out;
	if (!sim_req_start(&net, &req, o->method, o->path, o->body))
		goto out;
	while (req.busy && !sim_stop) {
		if (!sim_net_step(&net, 1000))
			goto out;
		while (sim_net_next_done(&net))
			;
	}
	if (req.busy)
		goto out; /* interrupted */
	print_answer(&req);
	rc = req.rc == CURLE_OK && req.status / 100 == 2 ? 0 : 1;
out:
	sim_req_finish(&net, &req);
out_net:
	sim_net_finish(&net);
	return rc;
}

static int run_once(const struct sim_opts *o)
{
	struct sim_agent *agents = NULL;
	size_t count = 0;
	int rc = 1;

	if (o->anonymous)
		return send_once(o, NULL);
	if (!sim_state_load(o->state_path, &agents, &count))
		return 1;
	const struct sim_agent *agent = pick_agent(o, agents, count);
	if (agent)
		rc = send_once(o, agent);
	sim_agents_free(agents, count);
	return rc;
}

/* ---- main ---------------------------------------------------------------- */

static void on_stop_signal(int sig)
{
	(void)sig;
	sim_stop = 1;
}

static void install_signal_handlers(void)
{
	struct sigaction sa = { 0 };

	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The URL without trailing slashes, so that paths can be appended. */
static char *trimmed_url(const char *url)
{
	char *copy = xstrdup(url);
	size_t len = strlen(copy);

	while (len > 0 && copy[len - 1] == '/')
		copy[--len] = '\0';
	return copy;
}

int main(int argc, char **argv)
{
	struct sim_opts o;
	int rc = 1;

	parse_command_line(argc, argv, &o);
	char *url = trimmed_url(o.agent_url);
	o.agent_url = url;
	json_set_alloc_funcs(xmalloc, free);
	install_signal_handlers();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "agent-sim: curl_global_init failed\n");
		free(url);
		return 1;
	}
	switch (o.mode) {
	case SIM_REGISTER:
		rc = sim_register_run(&o);
		break;
	case SIM_BEAT:
		rc = sim_beat_run(&o);
		break;
	case SIM_ONCE:
		rc = run_once(&o);
		break;
	case SIM_WORK:
		rc = sim_work_run(&o);
		break;
	}
	curl_global_cleanup();
	free(url);
	return rc;
}
