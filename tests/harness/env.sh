#!/usr/bin/env bash
# tests/harness/env.sh: the ctest fixture behind every integration test.
#
#   env.sh up ENVDIR BUILDDIR   fresh stack in ENVDIR/stack (test mode), database
#                               eco_template migrated by BUILDDIR's ecoctl, and
#                               ENVDIR/env = the stack's env + ECO_TEST_TEMPLATE
#   env.sh down ENVDIR          stop the stack and delete ENVDIR
#                               (ECO_KEEP_ENV=1: stop it, keep the files)
#
# Tests clone eco_template into a database of their own (lib.sh eco_db_new),
# which takes a few hundred milliseconds instead of a migration per test.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
stack="$src/deploy/stack.sh"

die() {
    echo "env.sh: $*" >&2
    exit 1
}

env_up() {
    local envdir=$1 builddir=$2 ecoctl t0=$SECONDS
    ecoctl="$builddir/services/ecoctl/ecoctl"
    [ -x "$ecoctl" ] || die "$ecoctl is not built"

    # Every ctest run starts from nothing: a stack left by a killed run is
    # stopped and deleted first.
    ECO_STACK_QUIET=1 "$stack" purge "$envdir/stack"
    rm -rf "$envdir"
    mkdir -p "$envdir"
    ECO_STACK_FAST=1 "$stack" up "$envdir/stack"

    # shellcheck disable=SC1091
    source "$envdir/stack/env"
    local admin="host=$ECO_PG_HOST port=$ECO_PG_PORT user=eco_admin password=$ECO_PG_ADMIN_PASSWORD"
    psql -XAtq -v ON_ERROR_STOP=1 -d "$admin dbname=postgres" \
        -c "CREATE DATABASE eco_template OWNER eco_admin" ||
        die "cannot create database eco_template"
    ECO_PG_DSN="$admin dbname=eco_template" "$ecoctl" db migrate ||
        die "ecoctl db migrate failed on eco_template"
    # Marked as a template: only cloned from now on. Closing the connection
    # before the tests start matters: CREATE DATABASE ... TEMPLATE refuses a
    # source database that has sessions.
    psql -XAtq -v ON_ERROR_STOP=1 -d "$admin dbname=postgres" \
        -c "ALTER DATABASE eco_template IS_TEMPLATE true" >/dev/null

    (
        umask 077
        cat "$envdir/stack/env"
        echo "export ECO_TEST_TEMPLATE='eco_template'"
        # Tests share one broker but each has its own database: an ecoctl
        # that rendered the broker's accounts from one test's database would
        # take away another's. Only a test that asks for it renders
        # (ECO_BROKER_AUTH_DIR=$ECO_TEST_BROKER_AUTH_DIR, one test at a time:
        # RESOURCE_LOCK eco_broker_auth in tests/CMakeLists.txt).
        echo 'export ECO_TEST_BROKER_AUTH_DIR="$ECO_BROKER_AUTH_DIR"'
        echo 'export ECO_TEST_BROKER_PID_FILE="$ECO_BROKER_PID_FILE"'
        echo "unset ECO_BROKER_AUTH_DIR ECO_BROKER_PID_FILE"
    ) >"$envdir/env.tmp"
    mv -f "$envdir/env.tmp" "$envdir/env"
    echo "env.sh: test environment ready in $((SECONDS - t0)) s: $envdir/env"
}

env_down() {
    local envdir=$1
    if [ "${ECO_KEEP_ENV:-0}" = 1 ]; then
        "$stack" down "$envdir/stack"
        echo "env.sh: stack stopped; files kept in $envdir (ECO_KEEP_ENV=1)"
    else
        "$stack" purge "$envdir/stack"
        rm -rf "$envdir"
    fi
}

case "${1:-}" in
up)
    [ $# -eq 3 ] || die "usage: env.sh up ENVDIR BUILDDIR"
    env_up "$2" "$3"
    ;;
down)
    [ $# -eq 2 ] || die "usage: env.sh down ENVDIR"
    env_down "$2"
    ;;
*)
    die "usage: env.sh up ENVDIR BUILDDIR | env.sh down ENVDIR"
    ;;
esac
