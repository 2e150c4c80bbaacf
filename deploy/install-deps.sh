#!/usr/bin/env bash
# deploy/install-deps.sh: the Debian 12 packages that build, test and run
# ecowatch. Idempotent: when everything is installed it makes no network call.
#
#   deploy/install-deps.sh          install what is missing (as root)
#   deploy/install-deps.sh --check  list what is missing; exit 1 if anything is
#
# Installing postgresql-15 or mosquitto may start Debian's own services on
# 5432/1883. ecowatch never uses them (deploy/stack.sh runs private servers on
# free ports), so they are left as the package set them up.
set -euo pipefail

PKGS=(
    # build
    gcc libc6-dev make cmake pkg-config
    # clang + compiler-rt: libFuzzer targets (tests/fuzz) and sanitizers
    clang libclang-rt-14-dev
    # the lint gate (tests/lint.sh) pins clang-format 14
    clang-format-14
    # libraries
    libmosquitto-dev libpq-dev libcjson-dev libuv1-dev libcrypt-dev libssl-dev zlib1g-dev
    # servers and clients used by deploy/stack.sh and the tests
    mosquitto mosquitto-clients
    postgresql-15 postgresql-15-postgis-3 postgresql-client-15
    python3-jsonschema python3-yaml
    # headless Chromium opens the HTML reports in the tests (no console
    # errors, map and charts drawn); the CJK fonts draw their Chinese names
    chromium fonts-noto-cjk
    # tools the scripts call: ss, ps, setpriv and flock, useradd; openssl
    # makes the stack's local CA (TLS listeners), ca-certificates the
    # system CAs that mqtts:// clients trust by default
    iproute2 procps util-linux passwd openssl ca-certificates
)

# Node.js and npm build the web console (services/console/build.sh) from the
# npm registry. Debian's packages, unless a Node.js with its npm is already
# installed (NodeSource's nodejs bundles npm and conflicts with Debian's).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    PKGS+=(nodejs npm)
fi

missing=()
for p in "${PKGS[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps: all ${#PKGS[@]} packages present"
    exit 0
fi

if [ "${1:-}" = --check ]; then
    echo "install-deps: missing: ${missing[*]}" >&2
    exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run as root: apt-get install ${missing[*]}" >&2
    exit 1
fi

if ! grep -qs 'VERSION_CODENAME=bookworm' /etc/os-release; then
    echo "install-deps: warning: written for Debian 12 (bookworm); trying anyway" >&2
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
