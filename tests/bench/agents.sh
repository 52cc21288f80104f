#!/usr/bin/env bash
# Heartbeat benchmark of the agent gateway: one runosd on this machine, N simulated node agents
# (tests/agent-sim, one process, each agent its own mutual-TLS keep-alive connection) beating
# every 5 s. For each N of a sweep it reports beats, failures, latency (p50, p99, max), late
# beats, runosd's CPU (percent of ONE core) and RSS, then the verdict: the largest N with
# heartbeat p99 < 50 ms, runosd CPU < 50 % of one core and no failed beat, against the target
# N ≥ 10,000. Rewrites the bench:agents section of BENCHMARKS.md.
#
#   tests/bench/agents.sh [--agents "N1 N2 ..."] [--duration S] [--smoke] [--no-write]
#                         [--warmup-rate R] [--no-build] [--results DIR]
#
#   --agents "N ..."  the sweep (default "2500 5000 10000 15000"), measured in increasing order;
#                     the largest N are registered once (ceil(N/250) clusters, one join token
#                     each, several clusters at a time) and each N beats with the first N
#   --duration S      measured seconds per N (default 30), after a warm-up of max(1, ⌈N/R⌉) s
#                     in which each agent opens its connection with one beat
#   --warmup-rate R   new agent connections per second in the warm-up (default 100)
#   --smoke           N = 50, 3 s, BENCHMARKS.md untouched (for scripts/dev.sh test)
#   --no-write        measure and print, leave BENCHMARKS.md alone
#   --no-build        use build/server/runosd and build/tests/agent-sim/agent-sim as they are
#                     (default: scripts/dev.sh build: missing packages, then the build)
#   --results DIR     keep the raw outputs (agent-sim summaries, CPU figures, meta.env) in DIR;
#                     `python3 tests/bench/agentslib.py report DIR` prints the table again
#
# The default sweep takes about 10 minutes: registration ~75 s, warm-ups 25 + 50 + 100 + 150 s,
# 4 × 30 s measured. Each N runs against a fresh runosd (RUNOS_LOG_LEVEL=warn, RUNOS_AGENT_MAX_CONNECTIONS=N+1000,
# RUNOS_NODE_OFFLINE_AFTER=max(30, W + 10), RUNOS_HTTP_TIMEOUT=max(60, W + 10): an agent is
# silent for up to W seconds between its warm-up beat and its first measured one), so that its
# RSS and peak are its own.
#
# Environment:
#   RUNOS_BENCH_DATABASE_URL  use this PostgreSQL database instead of a private one (a fresh
#                             user with its own clusters is created there; nothing is deleted)
#   RUNOS_BENCH_MASTER_KEY    the master key that database was set up with (its agent CA)
#   RUNOS_BENCH_REDIS_URL     use this Redis instead of a private one ("none": no Redis; the
#                             heartbeat path does not use it, runosd runs as deployed)
#   RUNOS_BENCH_PG_OPTS       extra postgres options for the private server
#   RUNOS_BENCH_BINARY        benchmark this runosd binary (no build); agent-sim is taken from
#                             the same build directory (tests/agent-sim/agent-sim)
#   RUNOS_BENCH_AGENT_SIM     this agent-sim binary instead
#   RUNOS_THREADS, RUNOS_DB_POOL  passed to runosd (unset: its defaults); every other
#                             RUNOS_* variable of the caller is dropped
#
# Exit status: 0 measured (PASS or MISS), 1 a run was invalid (no summary from agent-sim,
# runosd died, fewer agents than N, an interrupted measurement) or the setup failed, 2 bad
# arguments.
#
# As root, PostgreSQL runs as the system user runos-bench (created when missing). Everything
# lives in a fresh /tmp/runosd-bench-XXXX that is removed on exit (also on Ctrl-C), with the
# servers, agent-sim and PostgreSQL stopped.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
BENCH_DIR="$ROOT/tests/bench"
ALIB="$BENCH_DIR/agentslib.py"
INTERVAL=5
PER_CLUSTER=250    # a cluster holds at most 253 nodes
REG_AT_ONCE=4      # clusters registering at the same time
REG_PARALLEL=16    # registrations in flight per cluster

AGENTS="2500 5000 10000 15000"
DURATION=30
WARMUP_RATE=100
SMOKE=0
WRITE=1
BUILD=1
KEEP_DIR=""
# The command line as run, with the environment that changes what is measured (the database
# URL may hold a password: only that it was set).
COMMAND_LINE="${RUNOS_BENCH_DATABASE_URL:+RUNOS_BENCH_DATABASE_URL=… }"
for var in RUNOS_BENCH_BINARY RUNOS_BENCH_AGENT_SIM RUNOS_BENCH_PG_OPTS RUNOS_THREADS \
	RUNOS_DB_POOL; do
	[[ -n ${!var:-} ]] || continue
	if [[ ${!var} =~ ^[A-Za-z0-9_./=:,+-]+$ ]]; then COMMAND_LINE+="$var=${!var} "; else COMMAND_LINE+="$var=\"${!var}\" "; fi
done
COMMAND_LINE+="tests/bench/agents.sh"

BENCH_NAME=bench/agents
# shellcheck source=tests/bench/lib.sh
source "$BENCH_DIR/lib.sh"   # log, die, usage, bad_arg, PostgreSQL and runosd setup
COMMAND_LINE+="$(bench_quote_args "$@")"

while [[ $# -gt 0 ]]; do
	case "$1" in
	--agents)
		[[ $# -ge 2 ]] || bad_arg "--agents needs a list of counts"
		AGENTS="$2"
		shift 2
		;;
	--agents=*)
		AGENTS="${1#*=}"
		shift
		;;
	--duration)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || bad_arg "--duration needs whole seconds"
		DURATION="$2"
		shift 2
		;;
	--duration=*)
		DURATION="${1#*=}"
		[[ $DURATION =~ ^[1-9][0-9]*$ ]] || bad_arg "--duration needs whole seconds"
		shift
		;;
	--warmup-rate)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || bad_arg "--warmup-rate needs connections per second"
		WARMUP_RATE="$2"
		shift 2
		;;
	--warmup-rate=*)
		WARMUP_RATE="${1#*=}"
		[[ $WARMUP_RATE =~ ^[1-9][0-9]*$ ]] || bad_arg "--warmup-rate needs connections per second"
		shift
		;;
	*)
		bench_shared_option "$1" "${2:-}"
		shift "$BENCH_SHIFT"
		;;
	esac
done
if [[ $SMOKE == 1 ]]; then
	AGENTS=50
	DURATION=3
	WRITE=0
fi
SWEEP=()
for n in $AGENTS; do
	[[ $n =~ ^[1-9][0-9]{0,6}$ ]] || bad_arg "--agents: '$n' is not a positive count"
	SWEEP+=("$n")
done
[[ ${#SWEEP[@]} -gt 0 ]] || bad_arg "--agents: no count"
# Increasing, each once: the agents beyond N have then never beaten (see BENCHMARKS.md).
mapfile -t SWEEP < <(printf '%s\n' "${SWEEP[@]}" | sort -n -u)
NMAX="${SWEEP[${#SWEEP[@]} - 1]}"

# ---------------------------------------------------------------------------------------------
# state (read by cleanup)
WORK=""
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# preflight

# The packages first (a fresh machine has none of the commands below), and the build.
[[ -n ${RUNOS_BENCH_BINARY:-} ]] && BUILD=0
bench_build
for cmd in curl psql python3; do
	command -v "$cmd" >/dev/null 2>&1 || die "$cmd is not installed (Debian: curl, postgresql-client-15, python3)"
done
if [[ -z ${RUNOS_BENCH_DATABASE_URL:-} ]]; then
	[[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] || die "PostgreSQL 15 server binaries missing in $PG_BIN (postgresql-15)"
fi
# runosd and agent-sim each hold one connection per agent and raise their open-files limit
# to the hard limit.
HARD_FILES="$(ulimit -Hn)"
if [[ $HARD_FILES != unlimited ]] && ((NMAX + 500 > HARD_FILES)); then
	die "$NMAX agents need about $((NMAX + 500)) open files in runosd and in agent-sim; the hard limit is $HARD_FILES (ulimit -Hn)"
fi

AGENT_SIM="${RUNOS_BENCH_AGENT_SIM:-$(dirname "$(dirname "$BINARY")")/tests/agent-sim/agent-sim}"
[[ -x $AGENT_SIM ]] || die "$AGENT_SIM does not exist (scripts/dev.sh build, or set RUNOS_BENCH_AGENT_SIM)"

busy_before="$(cpu_busy_before)"
if [[ $busy_before -gt 10 ]]; then
	printf 'bench/agents: warning: the CPU was %s%% busy before the start: something else runs, the figures will be worse\n' "$busy_before" >&2
fi

WORK="$(mktemp -d /tmp/runosd-bench-XXXX)"
chmod 755 "$WORK"
RESULTS="$WORK/results"
mkdir -p "$RESULTS" "$WORK/state" "$WORK/agents"
RESP="$WORK/resp.json"

# ---------------------------------------------------------------------------------------------
# PostgreSQL, a first runosd, the user and the fleet

bench_pg_setup
bench_redis_setup
bench_server_env

log "starting runosd (setup: user, clusters, registrations)"
bench_start_server setup warn
SETUP_PID=$SERVER_PID
SETUP_URL=$SERVER_URL
SETUP_AGENT_URL=$SERVER_AGENT_URL

# A fresh user each run (an external database may hold others: nothing of theirs is touched).
EMAIL="bench-agents-$(date +%s)-$RANDOM@example.com"
api POST "$SETUP_URL/auth/signup" "" "{\"email\":\"$EMAIL\",\"password\":\"bench-password-1\",\"name\":\"Bench agents\"}"
[[ $HTTP_STATUS == 201 ]] || die "POST /auth/signup → $HTTP_STATUS $(cat "$RESP")"
SESSION="$(jget token)"
AID="$(jget account.aid)"
[[ $SESSION == rns_* && -n $AID ]] || die "no session token / aid in the signup answer: $(cat "$RESP")"

CA="$WORK/agent-ca.pem"
psql -X -A -t -c 'SELECT cert_pem FROM agent_ca' "$CONNINFO" >"$CA" 2>"$WORK/psql.err" ||
	die "cannot read the agent CA: $(cat "$WORK/psql.err")"
grep -q 'BEGIN CERTIFICATE' "$CA" || die "no agent CA in the database (SELECT cert_pem FROM agent_ca)"

CLUSTERS=$(((NMAX + PER_CLUSTER - 1) / PER_CLUSTER))
log "account $AID: creating $CLUSTERS cluster(s) with a join token each"
TOKENS=()
for ((k = 0; k < CLUSTERS; k++)); do
	api POST "$SETUP_URL/$AID/clusters" "$SESSION" "{\"name\":\"agents-$k\"}"
	[[ $HTTP_STATUS == 201 ]] || die "POST /$AID/clusters → $HTTP_STATUS $(cat "$RESP")"
	cid="$(jget cid)"
	api POST "$SETUP_URL/$AID/$cid/join-tokens" "$SESSION" \
		"{\"role\":\"worker\",\"maxUses\":$PER_CLUSTER,\"ttlSeconds\":86400}"
	[[ $HTTP_STATUS == 201 ]] || die "POST /$AID/$cid/join-tokens → $HTTP_STATUS $(cat "$RESP")"
	TOKENS+=("$(jget token)")
	[[ ${TOKENS[k]} == rnj_* ]] || die "no join token in the answer: $(cat "$RESP")"
done

log "registering $NMAX agents ($REG_AT_ONCE clusters at a time, $REG_PARALLEL requests in flight each)"
reg_start="$(date +%s.%N)"
bench_register_fleet "$NMAX" "$SETUP_AGENT_URL" TOKENS
reg_end="$(date +%s.%N)"
STATE="$WORK/agents.jsonl"
cat "$WORK"/agents/*.jsonl >"$STATE"
chmod 600 "$STATE"
registered="$(wc -l <"$STATE")"
[[ $registered -eq $NMAX ]] || die "the state files hold $registered agents, not $NMAX"
REG_SECONDS="$(python3 -c 'import sys; print("%.1f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$reg_start" "$reg_end")"
REG_RATE="$(python3 -c 'import sys; print("%.0f" % (int(sys.argv[1]) / max(0.001, float(sys.argv[2]))))' "$NMAX" "$REG_SECONDS")"
log "$NMAX agents registered in $REG_SECONDS s ($REG_RATE/s)"
bench_stop_server "$SETUP_PID"

# ---------------------------------------------------------------------------------------------
# the sweep: a fresh runosd per N

WARMUPS=""
for n in "${SWEEP[@]}"; do
	warmup=$(((n + WARMUP_RATE - 1) / WARMUP_RATE))
	# An agent is silent from its warm-up beat to its first measured beat, up to W seconds:
	# neither its connection (idle timeout) nor its node (offline) may time out meanwhile.
	silent=$((warmup + 2 * INTERVAL))
	offline_after=$((silent < 30 ? 30 : silent))
	idle_timeout=$((silent < 60 ? 60 : silent))
	WARMUPS+="${WARMUPS:+, }N = $n: ${warmup} s"
	log "N = $n: fresh runosd, warm-up $warmup s, then $DURATION s measured (RUNOS_NODE_OFFLINE_AFTER=$offline_after, RUNOS_HTTP_TIMEOUT=$idle_timeout)"
	bench_start_server "n$n" warn "RUNOS_AGENT_MAX_CONNECTIONS=$((n + 1000))" \
		"RUNOS_NODE_OFFLINE_AFTER=$offline_after" "RUNOS_HTTP_TIMEOUT=$idle_timeout"
	run_client python3 "$ALIB" beat "$RESULTS/run-$n.json" "$n" "$SERVER_PID" "${PG_PID:--}" -- \
		"$AGENT_SIM" beat --agent-url "$SERVER_AGENT_URL" --ca "$CA" --state "$STATE" \
		--interval "$INTERVAL" --warmup "$warmup" --duration "$DURATION" --max-agents "$n"
	if [[ -f $RESULTS/run-$n.json ]]; then
		python3 - "$RESULTS/run-$n.json" >&2 <<'PY' || true
import json, sys
r = json.load(open(sys.argv[1]))
s = r.get("sim") or {}
w = s.get("warmup") or {}
print("    beats %s, failed %s (warm-up %s), p50 %s ms, p99 %s ms, max %s ms, late %s; runosd CPU %s %% of a core, RSS %s MiB"
      % (s.get("beats"), s.get("failed"), w.get("failed"), s.get("p50_ms"), s.get("p99_ms"),
         s.get("max_ms"), s.get("late"),
         "%.1f" % r["cpu"]["runosd"] if r.get("cpu", {}).get("runosd") is not None else "?",
         "%.1f" % (r["rss_kb"] / 1024) if r.get("rss_kb") else "?"))
PY
	else
		printf 'bench/agents: N = %s: no result (agentslib.py exit %s)\n' "$n" "$CLIENT_RC" >&2
	fi
	if ! kill -0 "$SERVER_PID" 2>/dev/null; then
		tail -n 20 "$WORK/runosd-n$n.log" >&2
		printf 'bench/agents: runosd died during N = %s\n' "$n" >&2
	elif [[ -s $WORK/runosd-n$n.log ]]; then
		log "runosd (N = $n) logged:"
		tail -n 5 "$WORK/runosd-n$n.log" >&2
	fi
	if grep -q 'warning' "$RESULTS/run-$n.stderr.txt" 2>/dev/null; then
		grep 'warning' "$RESULTS/run-$n.stderr.txt" | head -n 3 >&2
	fi
	bench_stop_server "$SERVER_PID"
done

# ---------------------------------------------------------------------------------------------
# report

# build_desc BINARY PATH... → "<version>, <buildtype> build, commit C[ with uncommitted changes
# in …]": the commit of the source tree BINARY's meson build directory was made from (the
# repository, or another checkout), and which of PATHs differ from it there.
build_desc() {
	local bin="$1" build_dir src buildtype commit dirty desc
	shift
	build_dir="$(dirname "$(dirname "$bin")")"
	[[ $bin == */tests/agent-sim/agent-sim ]] && build_dir="$(dirname "$build_dir")"
	buildtype="$(python3 -c 'import json,sys; print(next(o["value"] for o in json.load(open(sys.argv[1])) if o["name"] == "buildtype"))' "$build_dir/meson-info/intro-buildoptions.json" 2>/dev/null || echo "unknown")"
	src="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["directories"]["source"])' "$build_dir/meson-info/meson-info.json" 2>/dev/null || echo "$ROOT")"
	commit="$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	dirty="$(git -C "$src" status --porcelain --untracked-files=no -- "$@" 2>/dev/null | awk '{print $2}' | tr '\n' ' ' || true)"
	if [[ $bin == "$BINARY" ]]; then
		desc="$("$bin" version 2>/dev/null | head -n1), "
	else
		desc=""
	fi
	desc+="$buildtype build, commit $commit${dirty:+ with uncommitted changes in ${dirty% }}"
	[[ $src == "$ROOT" ]] || desc+=" (built from a separate checkout)"
	printf '%s\n' "$desc"
}

cores="$(nproc)"
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
{
	echo "DATE=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "COMMAND=$COMMAND_LINE"
	echo "CORES=$cores"
	echo "MACHINE=$cores cores ($cpu), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, Linux $(uname -r), open files hard limit $HARD_FILES"
	echo "PG_VERSION=$PG_VERSION"
	echo "PG=$PG_DESC"
	echo "BUILD=$(build_desc "$BINARY" server include meson.build migrations)"
	echo "AGENT_SIM=$(build_desc "$AGENT_SIM" tests/agent-sim)"
	echo "THREADS=$(bench_threads_desc)"
	echo "DB_POOL=$(bench_pool_desc)"
	echo "INTERVAL=$INTERVAL"
	echo "DURATION=$DURATION"
	echo "WARMUPS=$WARMUPS"
	echo "WARMUP_RATE=$WARMUP_RATE"
	echo "NMAX=$NMAX"
	echo "CLUSTERS=$CLUSTERS"
	echo "REG_SECONDS=$REG_SECONDS"
	echo "REG_RATE=$REG_RATE"
	echo "LOAD_BEFORE=$busy_before% CPU busy"
} >"$RESULTS/meta.env"

report_args=("$RESULTS")
[[ $WRITE == 1 ]] && report_args+=(--write "$ROOT/BENCHMARKS.md")
rc=0
python3 "$ALIB" report "${report_args[@]}" || rc=$?
if [[ -n $KEEP_DIR ]]; then
	mkdir -p "$KEEP_DIR"
	cp -p "$RESULTS"/* "$KEEP_DIR"/
	log "raw outputs kept in $KEEP_DIR"
fi
exit "$rc"
