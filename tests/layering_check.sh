#!/usr/bin/env bash
# The layering rules of STYLE.md and ARCHITECTURE.md §2 that grep can see, so they cannot rot:
# each rule is one check; a failure prints the lines that break it. Prints the scripts/dev.sh
# summary line last.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
passed=0 failed=0

# check NAME PATTERN PATHS... -- EXCLUDED_PREFIXES...: no line of the C files under PATHS
# matches PATTERN (an extended regex), except in files whose path starts with an excluded prefix.
check() {
	local name="$1" pattern="$2"
	shift 2
	local paths=() excluded=()
	while [[ $# -gt 0 && $1 != -- ]]; do
		paths+=("$1")
		shift
	done
	[[ ${1:-} == -- ]] && shift
	excluded=("$@")
	# A rule over a folder that is gone would pass by checking nothing.
	local p
	for p in "${paths[@]}" "${excluded[@]}"; do
		if [[ ! -e $p ]]; then
			failed=$((failed + 1))
			echo "FAIL layering: $name: no such path $p (update the rule)"
			return
		fi
	done
	local hits="" line f ok
	while IFS= read -r line; do
		f="${line%%:*}"
		ok=0
		for e in "${excluded[@]}"; do
			[[ $f == "$e"* ]] && ok=1
		done
		[[ $ok -eq 0 ]] && hits+="$line"$'\n'
	done < <(grep -rnE --include='*.c' --include='*.h' "$pattern" "${paths[@]}" 2>/dev/null)
	if [[ -z $hits ]]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL layering: $name"
		printf '  %s\n' "${hits%$'\n'}" | sed 's/^  $//'
	fi
}

inc='^[[:space:]]*#[[:space:]]*include[[:space:]]*'
check "hiredis only in server/redis/" "$inc<(hiredis|async\\.h|read\\.h)" server include -- server/redis/
check "OpenSSL only in server/pki/ and server/crypto/" "$inc<openssl/" server include -- server/pki/ server/crypto/
check "libpq only in server/db/" "$inc<(libpq-fe|libpq/|postgres)" server include -- server/db/
check "libmicrohttpd and GnuTLS only in server/http/" "$inc<(microhttpd|gnutls/)" server include -- server/http/
check "http/ does not include agent/, fleet/ or api/" "$inc\"(agent|fleet|api)/" server/http include/http
check "agent handlers do not include api/" "$inc\"api/" server/agent include/agent
check "store headers do not include auth/" "$inc\"auth/" include/db
check "stores never see jansson" "$inc<jansson\\.h>|json_t" server/db include/db
check "queue/ and fleet/ do not include api/ or agent/" "$inc\"(api|agent)/" server/queue server/fleet include/queue include/fleet
check "services/ renders; it does not include http/, api/ or agent/" "$inc\"(http|api|agent)/" server/services include/services
check "the service catalog needs no database" "$inc\"db/" server/services/catalog.c server/services/catalog_types.c include/services/catalog.h
check "the VPN prefix is spelt once (include/idalloc/clusters.h)" "172\\.24\\." server include -- include/idalloc/clusters.h
check "the request holds what the router matches (one parameter limit)" "REQUEST_MAX_PARAMS" server include

echo "layering: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
