#!/usr/bin/env bash
# services/console/build.sh OUTDIR [--dev]: the web console as one page,
# OUTDIR/index.html (docs/CONSOLE.md).
#
# Installs the npm packages package-lock.json pins (from the npm registry,
# into services/console/node_modules, again only when the lock changed), then
# inlines them with the page's own sources (build.mjs). --dev also installs
# the end-to-end tests' packages (playwright-core). Needs Node.js and npm
# (Debian's nodejs and npm: deploy/install-deps.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: services/console/build.sh OUTDIR [--dev]}
dev=0
[ "${2:-}" = --dev ] && dev=1

command -v node >/dev/null && command -v npm >/dev/null ||
    { echo "console: node and npm are needed (apt-get install nodejs npm)" >&2; exit 1; }

# A stamp records which lock (and which kind of install) node_modules holds,
# so that a second build neither downloads nor reinstalls anything.
stamp=$here/node_modules/.eco-stamp
want="$(sha256sum "$here/package-lock.json" | cut -c1-64) dev=$dev"
# two builds at once (tests in parallel) install once
exec 8>"$here/.npm.lock"
flock 8
if [ ! -f "$stamp" ] || { [ "$(cat "$stamp")" != "$want" ] &&
    ! { [ "$dev" = 0 ] && [ "$(cat "$stamp")" = "${want% dev=0} dev=1" ]; }; }; then
    omit=()
    [ "$dev" = 1 ] || omit=(--omit=dev)
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error "${omit[@]}") >&2
    echo "$want" >"$stamp"
fi
node "$here/build.mjs" "$out"
