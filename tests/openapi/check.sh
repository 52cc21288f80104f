#!/usr/bin/env bash
# The OpenAPI document's checks (scripts/dev.sh test runs this after the integration programs):
# the document it_openapi fetched from GET /openapi.json ($RUNOS_TEST_TMPDIR/openapi.json) lints
# with no errors under @redocly/cli's built-in recommended rules (no configuration, no
# overrides), passes @apidevtools/swagger-parser's validation, and every answer the integration
# tests recorded ($RUNOS_TEST_RECORD_RESPONSES) validates against it (responses.mjs), and so
# does every example it gives (examples.mjs).
# Prints the dev.sh summary line.
set -uo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
passed=0 failed=0
check() { # check STATUS MESSAGE
	if [[ $1 -eq 0 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $2"; fi
}
summary() {
	echo "check.sh: $passed passed, $failed failed"
	[[ $failed -eq 0 ]]
	exit
}

NODE="$("$DIR/install.sh")"
check $? "tests/openapi/install.sh could not install the checkers"
DOC="${RUNOS_TEST_TMPDIR:-}/openapi.json"
[[ -s $DOC ]]
check $? "no $DOC: it_openapi writes it (run the integration tests first)"
[[ $failed -eq 0 ]] || summary

# redocly: no network (telemetry off, no update check); the built-in recommended rules.
out="$(cd "$RUNOS_TEST_TMPDIR" && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	"$NODE" "$DIR/node_modules/@redocly/cli/bin/cli.js" lint --extends=recommended \
	--format=stylish "$DOC" 2>&1)"
rc=$?
echo "$out" | tail -n 40
check "$rc" "redocly lint (recommended) found errors"

out="$("$NODE" "$DIR/validate.mjs" "$DOC" 2>&1)"
rc=$?
echo "$out"
check "$rc" "swagger-parser validation failed"

out="$("$NODE" "$DIR/examples.mjs" "$DOC" 2>&1)"
rc=$?
echo "$out" | tail -n 20
check "$rc" "an example of the document does not match its schema"

# ... and can fail: a body example with a member its schema refuses.
python3 - "$DOC" "$RUNOS_TEST_TMPDIR/openapi-bad-example.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
body = doc["paths"]["/{aid}/clusters"]["post"]["requestBody"]["content"]["application/json"]
body["example"] = dict(body["example"], colour="red")
json.dump(doc, open(sys.argv[2], "w"))
PY
"$NODE" "$DIR/examples.mjs" "$RUNOS_TEST_TMPDIR/openapi-bad-example.json" >/dev/null 2>&1
[[ $? -eq 1 ]]
check $? "examples.mjs accepted an example with an unknown member"
rm -f "$RUNOS_TEST_TMPDIR/openapi-bad-example.json"

out="$("$NODE" "$DIR/responses.mjs" "$DOC" "${RUNOS_TEST_RECORD_RESPONSES:-}" 2>&1)"
rc=$?
echo "$out" | tail -n 80
check "$rc" "recorded answers do not match the document"

# The validation can fail: an added member, a retyped one, an undeclared success status, and
# nothing recorded are each refused.
bad="$RUNOS_TEST_TMPDIR/openapi-bad"
declare -A wrong=(
	[added]='{"method":"GET","path":"/healthz","status":200,"contentType":"application/json","body":{"status":"ok","extra":1}}'
	[retyped]='{"method":"GET","path":"/service-info","status":200,"contentType":"application/json","body":{"services":"none"}}'
	[status]='{"method":"DELETE","path":"/abcde/api-keys/x","status":200,"contentType":"application/json","body":{}}'
)
for k in "${!wrong[@]}"; do
	rm -rf "$bad" && mkdir -p "$bad" && printf '%s\n' "${wrong[$k]}" >"$bad/selftest-1.jsonl"
	"$NODE" "$DIR/responses.mjs" "$DOC" "$bad" >/dev/null 2>&1
	[[ $? -eq 1 ]]
	check $? "responses.mjs accepted a wrong answer ($k)"
done
rm -rf "$bad" && mkdir -p "$bad"
"$NODE" "$DIR/responses.mjs" "$DOC" "$bad" >/dev/null 2>&1
[[ $? -eq 1 ]]
check $? "responses.mjs accepted no answers at all"
rm -rf "$bad"
summary
