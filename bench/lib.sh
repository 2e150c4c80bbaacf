# shellcheck shell=bash
# Shared set-up of the benchmark scripts (sourced from the repository root).
#
#   bench_setup NAME PROG...   BUILD (ECO_BUILD_DIR or build/), DIR (a fresh temp
#                              directory), ingest_pid; checks the programs (paths
#                              relative to BUILD) are built; at exit, stops
#                              eco-ingest and the stack and removes DIR (unless
#                              BENCH_KEEP is set: then the stack stays up to look at)
#   bench_stack_up             a private stack in DIR/stack, its env sourced, ADMIN
#                              (admin DSN), q SQL (psql on it), schema migrated
#   bench_wait_ingest LOG INSTANCE   waits until ingest INSTANCE has committed every
#                              message ecosim reported published in LOG (or stalls)

bench__cleanup() {
    [ -n "${ingest_pid:-}" ] && kill "$ingest_pid" 2>/dev/null && wait "$ingest_pid" 2>/dev/null
    if [ -n "${BENCH_KEEP:-}" ]; then
        echo "bench: BENCH_KEEP: the stack stays up in $DIR/stack (env: $DIR/stack/env;" \
            "./deploy/stack.sh purge $DIR/stack when done)" >&2
        return 0
    fi
    ECO_STACK_QUIET=1 ./deploy/stack.sh purge "$DIR/stack" >/dev/null 2>&1 || true
    rm -rf "$DIR"
}

bench_setup() {
    local name=$1 b
    shift
    BUILD=${ECO_BUILD_DIR:-$PWD/build}
    DIR=$(mktemp -d "/tmp/eco-bench-$name.XXXXXX")
    ingest_pid=
    trap bench__cleanup EXIT
    for b in "$@"; do
        [ -x "$BUILD/$b" ] || { echo "bench: $BUILD/$b is not built" >&2; exit 1; }
    done
}

q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$ADMIN" -c "$1"; }

bench_stack_up() {
    ./deploy/stack.sh up "$DIR/stack" >/dev/null
    # shellcheck disable=SC1091
    source "$DIR/stack/env"
    ADMIN="host=127.0.0.1 port=$ECO_PG_PORT dbname=ecowatch user=eco_admin password=$ECO_PG_ADMIN_PASSWORD"
    ECO_PG_DSN=$ADMIN "$BUILD/services/ecoctl/ecoctl" db migrate >/dev/null
}

bench_wait_ingest() {
    local msgs pos last=-1
    msgs=$(grep -o ' published=[0-9]*' "$1" | head -1 | cut -d= -f2 || true)
    while :; do
        pos=$(q "SELECT coalesce((SELECT seq FROM obs.spool_position WHERE instance = '$2'), 0)")
        [ -n "$msgs" ] && [ "$pos" -ge "$msgs" ] && break
        [ "$pos" = "$last" ] && break
        last=$pos
        sleep 1
    done
    export BENCH_MSGS=$msgs
}
