#!/usr/bin/env bash
# What PostgreSQL costs per read with no HTTP server in between: runosd's own statement
# clusters_get (taken from the binary) and pgbench's SELECT of -S, each from pgbench at full
# speed, at a fixed rate (runosd's, by default) and in pipelines of 8 (\startpipeline), with
# PostgreSQL's CPU per query read from /proc. The evidence behind BENCHMARKS.md's findings on the
# read path: how much of PostgreSQL's cost behind runosd is the statement, how much is a
# backend woken for one query at a time, and what batching would save. Prints a table; writes
# nothing.
#
#   tests/bench/pg_reads.sh [--rate R] [--duration S] [--smoke] [--no-build]
#
#   --rate R       the fixed rate, queries per second (default 19000)
#   --duration S   seconds per measurement (default 8)
#   --smoke        1 s each, rate 2000 (for tests/bench/smoke.sh)
#   --no-build     use build/server/runosd as it is (default: scripts/dev.sh build: missing packages, then the build)
#
# As root, PostgreSQL runs as the system user runos-bench. Everything lives in a fresh
# /tmp/runosd-bench-XXXX that is removed on exit, with PostgreSQL stopped. Exit status: 0
# measured, 1 a run failed or the setup failed, 2 bad arguments.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
BENCH_DIR="$ROOT/tests/bench"
RATE=19000
DURATION=8
BUILD=1

BENCH_NAME=bench/pg_reads
# shellcheck source=tests/bench/lib.sh
source "$BENCH_DIR/lib.sh"   # log, die, usage, bad_arg, PostgreSQL and runosd setup

while [[ $# -gt 0 ]]; do
	case "$1" in
	--rate)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || bad_arg "--rate needs queries per second"
		RATE="$2"
		shift 2
		;;
	--duration)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || bad_arg "--duration needs whole seconds"
		DURATION="$2"
		shift 2
		;;
	--smoke)
		DURATION=1
		RATE=2000
		shift
		;;
	--no-write | --results) bad_arg "$1: pg_reads.sh writes nothing" ;;
	*)
		bench_shared_option "$1" "${2:-}"
		shift "$BENCH_SHIFT"
		;;
	esac
done
unset RUNOS_BENCH_DATABASE_URL   # always a private server: the figures are its CPU
[[ -n ${RUNOS_BENCH_BINARY:-} ]] && BUILD=0
bench_build

WORK="$(mktemp -d /tmp/runosd-bench-XXXX)"
chmod 755 "$WORK"
mkdir -p "$WORK/state"
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_pg_setup
bench_server_env
log "runosd migrates the database; one account with one cluster"
bench_start_server setup warn
RESP="$WORK/resp.json"
api POST "$SERVER_URL/auth/signup" "" '{"email":"reads@example.com","password":"bench-password-1","name":"Reads"}'
[[ $HTTP_STATUS == 201 ]] || die "POST /auth/signup → $HTTP_STATUS $(cat "$RESP")"
SESSION="$(jget token)"
AID="$(jget account.aid)"
api POST "$SERVER_URL/$AID/clusters" "$SESSION" '{"name":"bench-read"}'
[[ $HTTP_STATUS == 201 ]] || die "POST /$AID/clusters → $HTTP_STATUS $(cat "$RESP")"
CID="$(jget cid)"
bench_stop_server "$SERVER_PID"
pgbench -i -q -s 10 -h "$SOCK_DIR" -p "$PG_PORT" -U "$PG_USER" "$PG_DB" >"$WORK/pgbench-init.log" 2>&1 ||
	die "pgbench -i failed: $(tail -n 5 "$WORK/pgbench-init.log")"

# runosd's statement as the binary prepares it, its parameters as pgbench variables.
SQL="$(python3 "$LIB" statement "$BINARY" clusters_get)" || die "no clusters_get statement in $BINARY"
SQL="${SQL//\$1/:aid}"
SQL="${SQL//\$2/:cid}"
printf '%s;\n' "$SQL" >"$WORK/clusters.sql"
{
	echo '\startpipeline'
	for _ in 1 2 3 4 5 6 7 8; do printf '%s;\n' "$SQL"; done
	echo '\endpipeline'
} >"$WORK/clusters8.sql"
{
	echo '\set aid random(1, 100000 * :scale)'
	echo '\startpipeline'
	for _ in 1 2 3 4 5 6 7 8; do echo 'SELECT abalance FROM pgbench_accounts WHERE aid = :aid;'; done
	echo '\endpipeline'
} >"$WORK/select8.sql"

# measure LABEL STATEMENTS_PER_TRANSACTION PGBENCH_ARGS...: one line of the table
measure() {
	local label="$1" per="$2"
	shift 2
	python3 "$LIB" cpusnap "$WORK/before.json" "postgres=$PG_PID"
	pgbench -n -M prepared -c 32 -j 2 -T "$DURATION" -D aid="$AID" -D cid="$CID" "$@" \
		-h "$SOCK_DIR" -p "$PG_PORT" -U "$PG_USER" "$PG_DB" >"$WORK/pgbench.txt" 2>&1 ||
		die "pgbench ($label) failed: $(tail -n 5 "$WORK/pgbench.txt")"
	python3 "$LIB" cpusnap "$WORK/after.json" "postgres=$PG_PID"
	: >"$WORK/times.txt"
	python3 "$LIB" cpudiff "$WORK/before.json" "$WORK/after.json" "$WORK/times.txt" "$WORK/cpu.json"
	python3 - "$label" "$per" "$WORK/pgbench.txt" "$WORK/cpu.json" <<'PY'
import json, re, sys
label, per = sys.argv[1], int(sys.argv[2])
m = re.search(r"tps = ([0-9.]+) \(without", open(sys.argv[3]).read())
cpu = json.load(open(sys.argv[4]))
if not m or not cpu.get("postgres"):
    sys.exit("no tps or CPU figure for " + label)
q = float(m.group(1)) * per
print("| %s | %s | %.2f | %.1f |" % (label, "{:,.0f}".format(q), cpu["postgres"],
                                    cpu["postgres"] * 1e6 / q))
PY
}

echo
echo "| reads | queries/s | PostgreSQL cores | µs per query |"
echo "|---|---|---|---|"
measure "pgbench -S, full speed" 1 -S
measure "pgbench -S at $RATE/s" 1 -S -R "$RATE"
measure "pgbench -S, pipelines of 8" 8 -f "$WORK/select8.sql"
measure "clusters_get, full speed" 1 -f "$WORK/clusters.sql"
measure "clusters_get at $RATE/s" 1 -f "$WORK/clusters.sql" -R "$RATE"
measure "clusters_get, pipelines of 8" 8 -f "$WORK/clusters8.sql"
measure "clusters_get, pipelines of 8, at $RATE/s" 8 -f "$WORK/clusters8.sql" -R $((RATE / 8))
