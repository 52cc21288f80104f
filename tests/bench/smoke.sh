#!/usr/bin/env bash
# A 1-second run of the benchmark against the test database, so that the script cannot rot
# unnoticed. scripts/dev.sh test runs it after the test programs; it measures nothing that is
# judged (timings are never asserted in tests), it only checks that every request succeeded
# and that the script produced its table. Prints the dev.sh summary line.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
out="$(RUNOS_BENCH_DATABASE_URL="${RUNOS_TEST_DATABASE_URL:?}" \
	RUNOS_BENCH_BINARY="${RUNOS_TEST_BIN:?}" RUNOS_BENCH_MASTER_KEY="${RUNOS_TEST_MASTER_KEY:?}" \
	"$ROOT/tests/bench/run.sh" --smoke --no-write 2>&1)"
rc=$?
printf '%s\n' "$out" | tail -n 20
passed=0 failed=0
if [[ $rc -eq 0 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: run.sh --smoke exited $rc"; fi
if grep -q 'account/profile' <<<"$out"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: no result table"; fi
echo "bench/smoke: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
