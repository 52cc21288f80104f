#!/usr/bin/env bash
# Installs the /docs page's assets (the npm package swagger-ui-dist, pinned by package-lock.json)
# into server/docs_ui/node_modules with `npm ci --ignore-scripts` when they were not installed from
# this lockfile. --ignore-scripts: its dependency @scarf/scarf would otherwise run an install
# script that reports the installation to its vendor. scripts/dev.sh runs this before every build;
# the build (embed.py) compiles what it finds into runosd, and without it /docs answers 503
# docs.not_built.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
STAMP="$DIR/node_modules/.runosd-package-lock.json"
if [[ -f $DIR/node_modules/swagger-ui-dist/swagger-ui-bundle.js ]] && cmp -s "$DIR/package-lock.json" "$STAMP"; then
	exit 0
fi
command -v npm >/dev/null 2>&1 || {
	printf 'server/docs_ui/install.sh: npm is not installed (Debian: apt-get install npm)\n' >&2
	exit 1
}
printf '==> npm ci in server/docs_ui (swagger-ui-dist for /docs, from package-lock.json)\n' >&2
(cd "$DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
cp "$DIR/package-lock.json" "$STAMP"
