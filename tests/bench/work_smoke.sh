#!/usr/bin/env bash
# A short run of the work-queue benchmark (tests/bench/work.sh --smoke: 5 parked agents and 10
# probes, 4 agents draining 24 instructions, 60 parked polls; no graphile-worker) against the
# test database, so that the script cannot rot unnoticed; about 20 s. scripts/dev.sh test runs
# it after the test programs; timings are never asserted: it checks that the run succeeded
# (exit 0: no failed poll, reply or registration, nothing left undelivered), printed its table
# with the three figures, and that every probe's receipts arrived. The test database is shared
# with the programs run before: work.sh signs up a fresh user and works in that user's own
# clusters, and deletes nothing. Prints the dev.sh summary line.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
out="$(RUNOS_BENCH_DATABASE_URL="${RUNOS_TEST_DATABASE_URL:?}" \
	RUNOS_BENCH_BINARY="${RUNOS_TEST_BIN:?}" RUNOS_BENCH_MASTER_KEY="${RUNOS_TEST_MASTER_KEY:?}" \
	"$ROOT/tests/bench/work.sh" --smoke --no-write 2>&1)"
rc=$?
printf '%s\n' "$out" | tail -n 20
passed=0 failed=0
check() {   # check CONDITION-STATUS MESSAGE
	if [[ $1 -eq 0 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $2"; fi
}
check "$rc" "work.sh --smoke exited $rc"
grep -qE '^\| \(a\) queue → agent receipt.* \| (PASS|MISS) \|$' <<<"$out"
check $? "no receipt latency row"
grep -qE '^\| \(b\)/\(c\) instructions/s.* \| [0-9,]+ \| ' <<<"$out"
check $? "no throughput row"
grep -qE '^\| \(d\) runosd RSS .* \| (PASS|MISS) \|$' <<<"$out"
check $? "no parked-polls RSS row"
grep -qE 'receipts [0-9]+ of 10 probes \(missing 0\)' <<<"$out"
check $? "receipts missing in (a)"
grep -qE '^bench/work: (PASS|MISS)' <<<"$out"
check $? "no verdict line"
echo "bench/work: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
