#!/usr/bin/env bash
# eco-test: no-servers
# eco-test: smoke
# The shipped deployments start only programs that exist: every program named
# as a command in docker-compose.yml and as ExecStart in deploy/systemd/*.service
# is an executable the CMake build makes (add_executable, and built), or a
# script deploy/Dockerfile installs. And every shipped eco-ingest runs the
# lossless configuration: one instance, plain subscription.
set -euo pipefail
src=${ECO_SOURCE_DIR:?}
B=${ECO_BUILD_DIR:?}
eco_fail() { echo "FAIL: deploy_programs_test: $*" >&2; exit 1; }
eco_pass() { echo "ok - $*"; }
eco_assert_eq() { [ "$1" = "$2" ] || eco_fail "$3: expected '$1', got '$2'"; }
# a program's path in the build tree, as lib.sh's eco_bin finds it
eco_bin() {
    local p
    case "$1" in
    eco-*) p="$B/services/${1#eco-}/$1" ;;
    *) p="$B/services/$1/$1" ;;
    esac
    printf '%s\n' "$p"
    [ -x "$p" ]
}

compose=$src/docker-compose.yml
progs=()
# compose: command: ["prog", ...] of the services built from our image
while IFS= read -r p; do progs+=("compose:$p"); done < <(
    sed -nE 's/^[[:space:]]*command:[[:space:]]*\[[[:space:]]*"([^"]+)".*/\1/p' "$compose")
for unit in "$src"/deploy/systemd/*.service; do
    while IFS= read -r p; do progs+=("$(basename "$unit"):$p"); done < <(
        sed -nE 's/^ExecStart=-?@?([^[:space:]]+).*/\1/p' "$unit")
done
[ "${#progs[@]}" -ge 2 ] || eco_fail "found no programs in the deployments (parser broken?)"

bad=()
for entry in "${progs[@]}"; do
    where=${entry%%:*}
    prog=$(basename "${entry#*:}")
    if grep -qE "^COPY[[:space:]]+deploy/[^[:space:]]+[[:space:]]+/usr/local/bin/$prog\$" "$src/deploy/Dockerfile"; then
        f=$(sed -nE "s|^COPY[[:space:]]+(deploy/[^[:space:]]+)[[:space:]]+/usr/local/bin/$prog\$|\\1|p" "$src/deploy/Dockerfile")
        [ -f "$src/$f" ] || bad+=("$where: $prog (installed from $f, which does not exist)")
        continue
    fi
    if ! grep -rqE "add_executable\([[:space:]]*$prog([[:space:]]|\))" --include=CMakeLists.txt "$src/services"; then
        bad+=("$where: $prog (no CMake target)")
        continue
    fi
    eco_bin "$prog" >/dev/null 2>&1 || bad+=("$where: $prog (a target, but not built)")
done
[ "${#bad[@]}" -eq 0 ] || eco_fail "deployments start programs that do not exist: ${bad[*]}"
eco_pass "every program the deployments start is built: ${progs[*]}"

# lossless ingest: no share group, no scaling advice, one ingest service
grep -qE '^[[:space:]]*ECO_INGEST_SHARE_GROUP:[[:space:]]*""[[:space:]]*$' "$compose" ||
    eco_fail "docker-compose.yml: eco-ingest must run with ECO_INGEST_SHARE_GROUP empty"
! grep -qE 'ECO_INGEST_SHARE_GROUP:[[:space:]]*[^"[:space:]]' "$compose" ||
    eco_fail "docker-compose.yml sets a share group"
n=$(grep -cE 'command:[[:space:]]*\["eco-ingest"' "$compose")
eco_assert_eq 1 "$n" "docker-compose.yml runs one eco-ingest"
grep -qE '^Environment=ECO_INGEST_SHARE_GROUP=$' "$src/deploy/systemd/eco-ingest.service" ||
    eco_fail "eco-ingest.service must set ECO_INGEST_SHARE_GROUP empty"
"$(eco_bin eco-ingest)" --help 2>&1 | grep -A2 'ECO_INGEST_SHARE_GROUP' | grep -qE '\(default: ""\)|default: *$|empty \(the default\)' ||
    eco_fail "eco-ingest's own default share group is not empty: $("$(eco_bin eco-ingest)" --help 2>&1 | grep -A2 ECO_INGEST_SHARE_GROUP)"
eco_pass "every shipped eco-ingest runs one instance with a plain subscription"

# a container's host name changes when it is re-created: a service with a
# persistent MQTT session must be given a stable instance name in compose
for svc in INGEST DETECT DISPATCH; do
    grep -qE "^[[:space:]]*ECO_${svc}_INSTANCE:[[:space:]]*[a-z]" "$compose" ||
        eco_fail "docker-compose.yml: ECO_${svc}_INSTANCE is not set (the default, the host name, changes with the container)"
done
eco_pass "compose gives ingest, detect and dispatch stable instance names"
