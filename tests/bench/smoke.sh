#!/usr/bin/env bash
# A smoke run of every benchmark (tests/bench/run.sh --smoke: api.sh for 1 s with the Fastify
# peer and the clusters and services comparisons, work.sh with 5 parked agents, 4 draining 24
# instructions, graphile-worker on as many jobs and 60 parked polls, agents.sh
# with 50 agents for 3 s; then pg_reads.sh --smoke on a private PostgreSQL) against the test database, so that no script can rot unnoticed;
# about a minute. scripts/dev.sh test runs it after the test programs. Timings are never
# asserted: it checks that every script succeeded (no failed request, poll, reply, beat or
# registration; the peer answered as runosd does), printed its rows, and that the summary
# table holds every figure; and that work.sh's table marks a figure whose run failed INVALID. The test database is shared with the programs run before: the
# scripts sign up users of their own and delete only their own accounts' clusters. Prints the
# dev.sh summary line.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
results="$(mktemp -d /tmp/runosd-bench-smoke-XXXX)"
trap 'rm -rf "$results"' EXIT
before="$(cksum <"$ROOT/BENCHMARKS.md")"
out="$(RUNOS_BENCH_DATABASE_URL="${RUNOS_TEST_DATABASE_URL:?}" \
	RUNOS_BENCH_BINARY="${RUNOS_TEST_BIN:?}" RUNOS_BENCH_MASTER_KEY="${RUNOS_TEST_MASTER_KEY:?}" \
	"$ROOT/tests/bench/run.sh" --smoke --results "$results/r" 2>&1)"
rc=$?
passed=0 failed=0
check() {   # check CONDITION-STATUS MESSAGE
	if [[ $1 -eq 0 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $2"; fi
}
check "$rc" "run.sh --smoke exited $rc"
[[ $(cksum <"$ROOT/BENCHMARKS.md") == "$before" ]]
check $? "a smoke run changed BENCHMARKS.md"
if [[ $rc -ne 0 ]]; then
	grep -E 'error|INVALID|exited|differs|otherwise than' <<<"$out" | head -n 20
	printf '%s\n' "$out" | tail -n 40
fi

# api.sh: the read against pgbench and the peer, the clusters pairs, cold start
grep -qE '^bench: (PASS|MISS) ratio [0-9.]+ \(runosd [0-9,]+ req/s' <<<"$out"
check $? "api.sh: no read-vs-pgbench verdict"
grep -qE '^bench/peer: (PASS|MISS) ratio [0-9.]+ \(runosd [0-9,]+ req/s / Fastify peer [0-9,]+' <<<"$out"
check $? "api.sh: no read-vs-Fastify verdict"
grep -qE '^bench: clusters (PASS|MISS) ratio ' <<<"$out"
check $? "api.sh: no clusters verdict"
grep -qE '^bench: services (PASS|MISS) ratio ' <<<"$out"
check $? "api.sh: no services verdict"

# work.sh: the three figures, every probe's receipts
grep -qE '^\| \(a\) queue → agent receipt.* \| (PASS|MISS) \|$' <<<"$out"
check $? "work.sh: no receipt latency row"
grep -qE '^\| \(b\)/\(c\) instructions/s.* \| [0-9,]+ \| ' <<<"$out"
check $? "work.sh: no throughput row"
grep -qE '^\| \(b\)/\(c\) instructions/s.* \| [0-9,]+ jobs/s \(graphile-worker ' <<<"$out"
check $? "work.sh: no graphile-worker figure in the throughput row"
grep -qE '^\| \(d\) runosd RSS .* \| (PASS|MISS) \|$' <<<"$out"
check $? "work.sh: no parked-polls RSS row"
grep -qE 'receipts [0-9]+ of 10 probes \(missing 0\)' <<<"$out"
check $? "work.sh: receipts missing in (a)"

# worklib.py's table: a figure whose run failed says INVALID, never PASS (here (d) with a tenth
# of its polls failed and a small RSS, which printed PASS beside the INVALID line)
fixture="$results/invalid-park"
mkdir -p "$fixture"
printf 'PARTS=d\nTP_ROUNDS=1\n' >"$fixture/meta.env"
echo '{"agents": 60, "clusters": 1, "wait": 5, "ramp": 2, "rssKb": 20480, "hwmKb": 20480, "rssStartKb": 10240, "fds": 80, "threads": 40, "alive": 1, "cpuPct": 1.0, "settle": 1, "sample": 1, "registerSeconds": 1.0, "simRc": 1}' >"$fixture/park-meta.json"
echo '{"polls": {"sent": 60, "ok": 54, "failed": 6}, "replies": {"ok": 54, "failed": 0}}' >"$fixture/park.json"
table="$(python3 "$ROOT/tests/bench/worklib.py" report "$fixture" 2>&1)"
[[ $? -eq 1 ]] && grep -qE '^\| \(d\) runosd RSS .* \| INVALID \|$' <<<"$table" &&
	! grep -qE '^\| \(d\) .*\| PASS \|$' <<<"$table"
check $? "worklib.py: a (d) with failed polls is not INVALID in the table: $(grep -E '^\| \(d\) runosd RSS' <<<"$table")"

# agents.sh: the row of the 50 agents (columns: N, beats, beats/s, failed, ...), no failed beat
row="$(grep -E '^50 +[0-9,]+ ' <<<"$out" | head -n 1)"
[[ -n $row && $(awk '{print $2}' <<<"$row") != 0 && $(awk '{print $4}' <<<"$row") == 0 ]]
check $? "agents.sh: heartbeats failed or none was sent: ${row:-no row for 50 agents}"

# the summary: every judged figure, none INVALID
for figure in 'GET /:aid/clusters/:cid, PAT' 'against the Fastify peer' 'POST /:aid/clusters' \
	'POST /:aid/:cid/services' \
	'cold start' '\(a\) queue' '\(b\)/\(c\)' '\(d\) runosd RSS' 'beating every 5 s'; do
	grep -E "$figure" <<<"$out" | grep -qE '(PASS|MISS|not measured) *$'
	check $? "summary: no row for $figure"
done
grep -qE '^bench/all: [0-9]+ PASS, [0-9]+ MISS, [0-9]+ other' <<<"$out"
check $? "no summary line"

# pg_reads.sh (the read path's evidence, not part of run.sh): its seven rows
reads="$(RUNOS_BENCH_BINARY="$RUNOS_TEST_BIN" "$ROOT/tests/bench/pg_reads.sh" --smoke 2>&1)"
check $? "pg_reads.sh --smoke failed: $(tail -n 5 <<<"$reads")"
[[ $(grep -cE '^\| [a-z_ -]+.*\| [0-9,]+ \| [0-9.]+ \| [0-9.]+ \|$' <<<"$reads") -eq 7 ]]
check $? "pg_reads.sh: not seven rows: $(tail -n 9 <<<"$reads")"
# a minimal machine lacks what a developer's has: every command the scripts call is a package of
# scripts/dev.sh
! grep -E 'command not found' <<<"$out$reads"
check $? "a benchmark script called a command that is not installed (add its package to scripts/dev.sh)"
echo "bench/smoke: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
