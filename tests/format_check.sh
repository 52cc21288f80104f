#!/usr/bin/env bash
# Every C file tracked by git is formatted as .clang-format says (STYLE.md). Prints the
# scripts/dev.sh summary line: one check per file. Fix with:
#   git ls-files '*.c' '*.h' | xargs clang-format -i
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
passed=0 failed=0
while IFS= read -r f; do
	if clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL format: $f (run clang-format -i $f)"
	fi
done < <(git ls-files '*.c' '*.h')
echo "format: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
