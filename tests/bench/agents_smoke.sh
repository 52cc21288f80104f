#!/usr/bin/env bash
# A 3-second run of the heartbeat benchmark (tests/bench/agents.sh --smoke: 50 agents) against
# the test database, so that the script cannot rot unnoticed. scripts/dev.sh test runs it after
# the test programs; timings are never asserted: it checks that the run succeeded (exit 0),
# printed its table with the row of the 50 agents and its verdict, and that no heartbeat
# failed. The test database is shared with the programs run before: agents.sh signs up a fresh
# user and registers its agents in that user's own cluster, and deletes nothing. Prints the
# dev.sh summary line.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
out="$(RUNOS_BENCH_DATABASE_URL="${RUNOS_TEST_DATABASE_URL:?}" \
	RUNOS_BENCH_BINARY="${RUNOS_TEST_BIN:?}" RUNOS_BENCH_MASTER_KEY="${RUNOS_TEST_MASTER_KEY:?}" \
	"$ROOT/tests/bench/agents.sh" --smoke --no-write 2>&1)"
rc=$?
printf '%s\n' "$out" | tail -n 20
passed=0 failed=0
check() {   # check CONDITION-STATUS MESSAGE
	if [[ $1 -eq 0 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $2"; fi
}
check "$rc" "agents.sh --smoke exited $rc"
row="$(grep -E '^50 +[0-9,]+ ' <<<"$out" | head -n 1)"
[[ -n $row ]]
check $? "no result table (no row for 50 agents)"
# columns: N, beats, beats/s, failed, ...
[[ -n $row && $(awk '{print $2}' <<<"$row") != 0 && $(awk '{print $4}' <<<"$row") == 0 ]]
check $? "heartbeats failed or none was sent: $row"
grep -qE '^bench/agents: (PASS|MISS): ' <<<"$out"
check $? "no verdict line"
echo "bench/agents: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
