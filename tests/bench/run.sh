#!/usr/bin/env bash
# Every benchmark of runosd in one run on this machine, then one table: figure, runosd,
# reference, ratio, target, result. In this order, each with its own private PostgreSQL and
# Redis, one after the other so that none disturbs another:
#   tests/bench/api.sh     GET /:aid/clusters/:cid with a PAT against pgbench -S and against a
#                          Node 20 Fastify + pg peer; POST + DELETE /:aid/clusters against the
#                          same SQL in pgbench; cold start (alternating rounds, medians)
#   tests/bench/work.sh    instruction receipt latency with parked agents; claim + reply against
#                          graphile-worker (alternating rounds, medians); 10,000 parked polls
#   tests/bench/agents.sh  10,000 simulated agents beating every 5 s
# Each script rewrites its own section of BENCHMARKS.md (how it measures, per-round figures,
# where the CPU went); this one writes the summary table at the top (bench:summary).
#
#   tests/bench/run.sh [--smoke] [--no-write] [--no-build] [--results DIR] [--runs N]
#                      [--duration S]
#
#   --smoke        each script's --smoke (tiny sizes, seconds), BENCHMARKS.md untouched
#   --no-write     measure and print, leave BENCHMARKS.md alone
#   --no-build     use the build as it is (default: scripts/dev.sh build, once: missing packages, then the build)
#   --results DIR  keep every raw output in DIR/api, DIR/work, DIR/agents; `python3
#                  tests/bench/benchlib.py overall DIR/api DIR/work DIR/agents` prints the
#                  table again
#   --runs N, --duration S   passed to api.sh (rounds, seconds per measurement)
#
# The environment variables of the scripts (RUNOS_BENCH_*, RUNOS_THREADS, RUNOS_DB_POOL) pass
# through. The full run takes about 11 minutes. Exit status: 0 every script measured (PASS or
# MISS), 1 a script failed or a run was invalid, 2 bad arguments.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
BENCH_DIR="$ROOT/tests/bench"
SMOKE=0
WRITE=1
BUILD=1
KEEP_DIR=""
API_ARGS=()
COMMAND_LINE="tests/bench/run.sh"

BENCH_NAME=bench/all
# shellcheck source=tests/bench/lib.sh
source "$BENCH_DIR/lib.sh"   # log, die, usage, bad_arg, bench_build, bench_quote_args
COMMAND_LINE+="$(bench_quote_args "$@")"

while [[ $# -gt 0 ]]; do
	case "$1" in
	--runs | --duration)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || bad_arg "$1 needs a whole number"
		API_ARGS+=("$1" "$2")
		shift 2
		;;
	*)
		bench_shared_option "$1" "${2:-}"
		shift "$BENCH_SHIFT"
		;;
	esac
done

[[ $SMOKE == 1 ]] && WRITE=0
[[ -n ${RUNOS_BENCH_BINARY:-} ]] && BUILD=0
bench_build   # the whole build: runosd and agent-sim

WORK=""
if [[ -n $KEEP_DIR ]]; then
	RESULTS="$KEEP_DIR"
else
	WORK="$(mktemp -d /tmp/runosd-bench-all-XXXX)"
	RESULTS="$WORK"
fi
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rm -rf "$RESULTS/api" "$RESULTS/work" "$RESULTS/agents"
mkdir -p "$RESULTS"

common=(--no-build)
[[ $SMOKE == 1 ]] && common+=(--smoke)
[[ $WRITE == 0 ]] && common+=(--no-write)
agents_args=(--agents 10000)
[[ $SMOKE == 1 ]] && agents_args=()

started="$(date +%s)"
rc=0
run_part() {   # run_part NAME SCRIPT ARGS...: the script with --results DIR/NAME; its status kept
	local name="$1" script="$2"
	shift 2
	log "$name: tests/bench/$script$(bench_quote_args "${common[@]}" "$@" --results "$RESULTS/$name")"
	local part_rc=0
	bash "$BENCH_DIR/$script" "${common[@]}" "$@" --results "$RESULTS/$name" || part_rc=$?
	[[ $part_rc == 0 ]] || {
		log "$name: tests/bench/$script exited $part_rc"
		rc=1
	}
}
run_part api api.sh "${API_ARGS[@]}"
run_part work work.sh
run_part agents agents.sh "${agents_args[@]}"
elapsed=$(($(date +%s) - started))

commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty="$(git -C "$ROOT" status --porcelain --untracked-files=no -- server include meson.build migrations 2>/dev/null | awk '{print $2}' | tr '\n' ' ' || true)"
{
	echo "DATE=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "DURATION_TOTAL=$((elapsed / 60)) min $((elapsed % 60)) s"
	echo "MACHINE=$(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, Linux $(uname -r)"
	echo "BUILD=$("$BINARY" version 2>/dev/null | head -n1), commit $commit${dirty:+ with uncommitted changes in ${dirty% }}"
	echo "COMMAND=$COMMAND_LINE"
} >"$RESULTS/meta.env"
overall_args=("$RESULTS/api" "$RESULTS/work" "$RESULTS/agents" --meta "$RESULTS/meta.env")
[[ $WRITE == 1 ]] && overall_args+=(--write "$ROOT/BENCHMARKS.md")
python3 "$LIB" overall "${overall_args[@]}" || rc=1
exit "$rc"
