#!/usr/bin/env bash
# The Kubernetes object validator's own test (scripts/dev.sh test runs it): every object of
# fixtures/good passes; every file of fixtures/bad fails, alone, for the reason written beside it
# below (so that a check that stopped working cannot hide behind another failure); an empty
# directory, a missing path and no argument fail. Prints the dev.sh summary line.
set -uo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
passed=0 failed=0
check() { # check STATUS MESSAGE
	if [[ $1 -eq 0 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $2"; fi
}
summary() {
	echo "selftest.sh: $passed passed, $failed failed"
	[[ $failed -eq 0 ]]
	exit
}

NODE="$("$DIR/install.sh")"
check $? "tests/k8s/install.sh could not install the validator"
[[ $failed -eq 0 ]] || summary
validate() { "$NODE" "$DIR/validate.mjs" "$@" 2>&1; }

# The good objects: each kind runosd sends, and more of the built-in API, and a cert-manager
# Certificate (14 objects).
out="$(validate "$DIR/fixtures/good")"
rc=$?
check "$rc" "fixtures/good: exit $rc: $(grep '^FAIL' <<<"$out")"
[[ $(grep -c '^ok ' <<<"$out") -eq 14 && $(grep -c '^FAIL' <<<"$out") -eq 0 ]]
check $? "fixtures/good: not 14 ok lines: $out"

# Each bad file: what must appear on its FAIL line.
declare -A reason=(
	[deployment-unknown-spec-field.json]='spec.replica: unknown field'
	[statefulset-unknown-container-field.json]='spec.template.spec.containers[0].memoryLimit: unknown field'
	[namespace-unknown-metadata-field.json]='metadata.label: unknown field'
	[secret-unknown-top-field.json]='stringdata: unknown field'
	[deployment-replicas-string.json]='spec.replicas: must be integer'
	[deployment-missing-selector.json]='spec: must have required property selector'
	[deployment-container-without-name.json]='containers[0]: must have required property name'
	[storageclass-without-provisioner.json]='must have required property provisioner'
	[storageclass-parameter-not-string.json]='parameters.numberOfReplicas: must be string'
	[networkpolicy-bad-policy-type.json]='spec.policyTypes[0]: must be equal to one of the allowed values'
	[networkpolicy-ports-not-array.json]='spec.ingress[0].ports: must be array'
	[resourcequota-bad-quantity.json]='must match format "quantity"'
	[secret-data-not-base64.json]='data.password: must match format "byte"'
	[namespace-bad-label-key.json]='label key "runos.io/os id"'
	[namespace-bad-label-value.json]='label value "Orders database"'
	[networkpolicy-bad-selector-key.json]='namespaceSelector.matchLabels: label key "-runos.io/osid"'
	[namespace-bad-psa-level.json]='must be privileged, baseline or restricted'
	[namespace-bad-name.json]='metadata.name: must be a DNS-1123 label'
	[service-name-starts-with-digit.json]='metadata.name: must be an RFC 1035 label'
	[configmap-without-namespace.json]='metadata.namespace: required for the namespaced ConfigMap'
	[storageclass-with-namespace.json]='StorageClass is cluster-scoped'
	[secret-without-metadata-name.json]='metadata.name: must be a non-empty string'
	[custom-resource.json]='mysql.oracle.com/v2 InnoDBCluster is not a kind of the built-in'
	[removed-beta-version.json]='extensions/v1beta1 is not a GA version'
	[misspelled-kind.json]='apps/v1 Deploymnet is not a kind'
	[kind-of-another-group.json]='v1 NetworkPolicy is not a kind'
	[no-api-version.json]='apiVersion: required'
	[not-json.json]='not JSON'
	[empty-array.json]='no Kubernetes object in this file'
	[list-with-one-bad-item.json]='list-with-one-bad-item.json[1]: data.a: must be string'
	[certificate-unknown-field.json]='spec.dnsName: unknown field'
)
n=0
for f in "$DIR"/fixtures/bad/*.json; do
	name="$(basename "$f")"
	n=$((n + 1))
	want="${reason[$name]:-}"
	[[ -n $want ]]
	check $? "fixtures/bad/$name has no expected reason in selftest.sh"
	out="$(validate "$f")"
	rc=$?
	[[ $rc -eq 1 ]] && grep '^FAIL' <<<"$out" | grep -qF -- "$want"
	check $? "fixtures/bad/$name: exit $rc, no FAIL line with \"$want\": $out"
done
[[ $n -eq ${#reason[@]} ]]
check $? "fixtures/bad has $n files, selftest.sh expects ${#reason[@]}"

# The whole directory: one FAIL line per bad file, the good item of the List still ok.
out="$(validate "$DIR/fixtures/bad")"
rc=$?
[[ $rc -eq 1 && $(grep -c '^FAIL' <<<"$out") -eq $n && $(grep -c '^ok ' <<<"$out") -eq 1 ]]
check $? "fixtures/bad: exit $rc, not $n FAIL lines and 1 ok: $out"

# Good and bad together fail; nothing to check fails.
validate "$DIR/fixtures/good" "$DIR/fixtures/bad/secret-data-not-base64.json" >/dev/null
check $(($? == 1 ? 0 : 1)) "one bad file among good ones did not fail the run"
empty="$(mktemp -d)"
out="$(validate "$empty")"
rc=$?
rmdir "$empty"
[[ $rc -eq 1 ]] && grep -q '^FAIL .*no \*\.json file' <<<"$out"
check $? "an empty directory: exit $rc: $out"
validate "$DIR/fixtures/no-such-dir" >/dev/null
check $(($? == 1 ? 0 : 1)) "a missing path did not fail"
validate >/dev/null
check $(($? == 2 ? 0 : 1)) "no argument did not exit 2"

summary
