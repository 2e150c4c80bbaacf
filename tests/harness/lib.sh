# shellcheck shell=bash
# tests/harness/lib.sh: helpers for integration tests. Every test starts with
#
#   #!/usr/bin/env bash
#   set -euo pipefail
#   source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
#   eco_db_new t_mytest
#
# ctest provides ECO_TEST_ENV (the fixture's env file, see env.sh),
# ECO_BUILD_DIR and ECO_SOURCE_DIR.
#
# Parallel tests (ctest -j): each test gets a database of its own (eco_db_new),
# but there is ONE broker for all of them. Use device ids, site codes, client
# ids and shared-subscription group names that no other test uses (e.g. put the
# test's name in them), and never subscribe to a wildcard and count everything
# that arrives. A test that stops or restarts a server (eco_stack) disturbs
# every other test: it sets ECO_EXCLUSIVE=1 before sourcing this file, and then
# runs alone (an exclusive lock against the shared lock every other test holds).
# Start long-running programs with eco_spawn, not a bare `&`: eco_spawn closes
# the lock descriptor and the exit trap stops what it started.
#
# Functions (all fail the test with a message on misuse):
#   eco_db_new NAME            fresh database NAME cloned from eco_template;
#                              exports ECO_TEST_DB and ECO_PG_DSN (admin on it)
#   eco_dsn ROLE               DSN of role eco_ROLE on the test database
#                              (ingest detect dispatch gep report ctl analyst admin)
#   eco_psql SQL...            psql -XAtq as admin on the test database
#   eco_psql_is EXPECTED SQL   true when the query prints EXPECTED (for eco_wait_until)
#   eco_bin NAME               path of a built program (eco-ingest, ecoctl, bench_x, ...)
#   eco_mqtt_as USER           exports ECO_MQTT_URL/_USER/_PASSWORD for a stack user
#   eco_mqtt_pub USER ARGS...  mosquitto_pub -V mqttv5 as USER against the stack
#   eco_mqtt_sub USER ARGS...  mosquitto_sub likewise (bound it with -C N -W S)
#   eco_spawn NAME CMD...      run CMD in the background, output to $ECO_TEST_TMP/NAME.log
#   eco_kill NAME [SIGNAL]     signal it (TERM), wait, return its exit status
#   eco_pid NAME               its pid
#   eco_log NAME               path of its log
#   eco_check_logs             fail on sanitizer reports or unexpected level=error
#                              lines ($ECO_EXPECTED_ERRORS: regex of allowed ones);
#                              also run automatically at exit
#   eco_wait_until SECS CMD... poll CMD every 0.1 s; fail the test on timeout
#   eco_fail MSG / eco_assert_eq EXPECTED ACTUAL MSG / eco_pass MSG / eco_skip MSG
#   eco_stack CMD              deploy/stack.sh CMD on the test stack
#                              (restart-mqtt, stop-pg, start-pg, status)
#
# At exit every spawned process still running gets SIGTERM (SIGKILL after 5 s),
# the logs are checked, the test database is dropped if the test passed (kept
# with ECO_KEEP_ENV=1), and $ECO_TEST_TMP is removed (kept with ECO_KEEP_TMP=1).

if [ -z "${ECO_TEST_ENV:-}" ] || [ ! -f "$ECO_TEST_ENV" ]; then
    echo "lib.sh: ECO_TEST_ENV does not name an env file; run tests through ctest" \
        "(ctest -L integration) so the eco_env fixture starts the stack" >&2
    exit 1
fi
# shellcheck disable=SC1090
source "$ECO_TEST_ENV"
: "${ECO_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${ECO_BUILD_DIR:?lib.sh: ECO_BUILD_DIR is not set}"
export ECO_SOURCE_DIR ECO_BUILD_DIR

ECO_TEST_NAME=$(basename "$0" .sh)
ECO_TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/eco-$ECO_TEST_NAME.XXXXXX")
export ECO_TEST_NAME ECO_TEST_TMP

declare -gA ECO__PIDS=()
declare -ga ECO__LOGS=()
declare -gA ECO__SPAWNS=()
ECO__ADMIN_DSN=""
ECO__KILL_TIMEOUT=${ECO_KILL_TIMEOUT:-30}

# fd 7: the shared/exclusive lock that keeps server-restarting tests alone.
# Spawned programs and stack.sh get it closed so they never hold it.
exec 7>>"$(dirname "$ECO_TEST_ENV")/.tests.lock"
if [ "${ECO_EXCLUSIVE:-0}" = 1 ]; then
    flock -x 7
else
    flock -s 7
fi

eco_fail() {
    echo "FAIL: $ECO_TEST_NAME: $*" >&2
    exit 1
}

eco_pass() {
    echo "ok - $*"
}

# Ends the test successfully without running the rest (e.g. a program that is
# not built in this configuration).
eco_skip() {
    echo "SKIP: $ECO_TEST_NAME: $*"
    exit 0
}

eco_assert_eq() {
    local expected=$1 actual=$2 msg=${3:-values differ}
    if [ "$expected" != "$actual" ]; then
        eco_fail "$msg: expected '$expected', got '$actual'"
    fi
    eco_pass "$msg"
}

# ------------------------------------------------------------ database ----

eco__admin_dsn() {
    printf 'host=%s port=%s dbname=%s user=eco_admin password=%s' \
        "$ECO_PG_HOST" "$ECO_PG_PORT" "$1" "$ECO_PG_ADMIN_PASSWORD"
}

eco_db_new() {
    local name=${1:-} i err
    [[ "$name" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || eco_fail "eco_db_new: bad database name '$name'"
    for i in 1 2 3 4 5; do
        # WITH (FORCE) terminates sessions a previous run left on it.
        if err=$(psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco__admin_dsn postgres)" \
            -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" \
            -c "CREATE DATABASE $name TEMPLATE ${ECO_TEST_TEMPLATE:-eco_template}" 2>&1); then
            ECO_TEST_DB=$name
            ECO__ADMIN_DSN=$(eco__admin_dsn "$name")
            ECO_PG_DSN=$ECO__ADMIN_DSN
            export ECO_TEST_DB ECO_PG_DSN
            return 0
        fi
        # "source database is being accessed by other users": a parallel
        # clone or autovacuum; it passes quickly.
        sleep 0.5
    done
    eco_fail "eco_db_new $name: $err"
}

eco_dsn() {
    local role=${1:-} user pwvar
    [ -n "${ECO_TEST_DB:-}" ] || eco_fail "eco_dsn: call eco_db_new first"
    if [ "$role" = admin ]; then
        printf '%s' "$ECO__ADMIN_DSN"
        return 0
    fi
    pwvar="ECO_PG_${role^^}_PASSWORD"
    [ -n "${!pwvar:-}" ] || eco_fail "eco_dsn: unknown role '$role'"
    user="eco_$role"
    printf 'host=%s port=%s dbname=%s user=%s password=%s' \
        "$ECO_PG_HOST" "$ECO_PG_PORT" "$ECO_TEST_DB" "$user" "${!pwvar}"
}

# Returns psql's status (does not fail the test by itself), so it can be
# polled while a server restarts.
eco_psql() {
    local -a args=()
    local s
    [ -n "$ECO__ADMIN_DSN" ] || eco_fail "eco_psql: call eco_db_new first"
    for s in "$@"; do
        args+=(-c "$s")
    done
    psql -XAtq -v ON_ERROR_STOP=1 -d "$ECO__ADMIN_DSN" "${args[@]}"
}

eco_psql_is() {
    local expected=$1 out
    shift
    out=$(eco_psql "$@" 2>/dev/null) || return 1
    [ "$out" = "$expected" ]
}

# ------------------------------------------------------------ programs ----

eco_bin() {
    local name=${1:-} path
    case "$name" in
    eco-*) path="$ECO_BUILD_DIR/services/${name#eco-}/$name" ;;
    bench_*) path="$ECO_BUILD_DIR/bench/$name" ;;
    t_*) path="$ECO_BUILD_DIR/tests/$name" ;;
    "") eco_fail "eco_bin: no name" ;;
    *) path="$ECO_BUILD_DIR/services/$name/$name" ;;
    esac
    printf '%s\n' "$path"
    if [ ! -x "$path" ]; then
        echo "eco_bin: $name is not built ($path)" >&2
        return 1
    fi
}

# ---------------------------------------------------------------- mqtt ----

eco__mqtt_cred() {
    local U=${1^^} uv pv
    uv="ECO_MQTT_${U}_USER"
    pv="ECO_MQTT_${U}_PASSWORD"
    [ -n "${!uv:-}" ] || eco_fail "no MQTT user '$1' in the stack"
    ECO__MQ_USER=${!uv}
    ECO__MQ_PASSWORD=${!pv}
}

eco_mqtt_as() {
    eco__mqtt_cred "${1:-}"
    export ECO_MQTT_URL="mqtt://$ECO_MQTT_HOST:$ECO_MQTT_PORT"
    export ECO_MQTT_USER=$ECO__MQ_USER
    export ECO_MQTT_PASSWORD=$ECO__MQ_PASSWORD
}

eco_mqtt_pub() {
    eco__mqtt_cred "${1:-}"
    shift
    mosquitto_pub -h "$ECO_MQTT_HOST" -p "$ECO_MQTT_PORT" -V mqttv5 \
        -u "$ECO__MQ_USER" -P "$ECO__MQ_PASSWORD" "$@" 7>&-
}

eco_mqtt_sub() {
    eco__mqtt_cred "${1:-}"
    shift
    # In a subshell (eco_spawn, $(...), a pipeline) become mosquitto_sub, so
    # that eco_kill and the exit trap stop the client itself, not only a
    # shell around it that would leave it running.
    if [ "$BASH_SUBSHELL" -gt 0 ]; then
        exec mosquitto_sub -h "$ECO_MQTT_HOST" -p "$ECO_MQTT_PORT" -V mqttv5 \
            -u "$ECO__MQ_USER" -P "$ECO__MQ_PASSWORD" "$@" 7>&-
    fi
    mosquitto_sub -h "$ECO_MQTT_HOST" -p "$ECO_MQTT_PORT" -V mqttv5 \
        -u "$ECO__MQ_USER" -P "$ECO__MQ_PASSWORD" "$@" 7>&-
}

# ----------------------------------------------------------- processes ----

eco__alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "${st%% *}" != Z ]
}

eco_spawn() {
    local name=${1:-} log n i
    shift || true
    [[ "$name" =~ ^[A-Za-z0-9_.-]+$ ]] || eco_fail "eco_spawn: bad name '$name'"
    [ $# -gt 0 ] || eco_fail "eco_spawn $name: no command"
    if [ -n "${ECO__PIDS[$name]:-}" ]; then
        eco_fail "eco_spawn: $name is already running (eco_kill it first)"
    fi
    # A second run under the same name keeps the first run's log as NAME.1.log.
    n=${ECO__SPAWNS[$name]:-0}
    log="$ECO_TEST_TMP/$name.log"
    if [ "$n" -gt 0 ] && [ -f "$log" ]; then
        mv "$log" "$ECO_TEST_TMP/$name.$n.log"
        for i in "${!ECO__LOGS[@]}"; do
            if [ "${ECO__LOGS[$i]}" = "$log" ]; then
                ECO__LOGS[i]="$ECO_TEST_TMP/$name.$n.log"
            fi
        done
    fi
    ECO__SPAWNS[$name]=$((n + 1))
    "$@" </dev/null >"$log" 2>&1 7>&- &
    ECO__PIDS[$name]=$!
    ECO__LOGS+=("$log")
}

eco_pid() {
    [ -n "${ECO__PIDS[${1:-}]:-}" ] || eco_fail "eco_pid: no running process '${1:-}'"
    printf '%s\n' "${ECO__PIDS[$1]}"
}

eco_log() {
    printf '%s\n' "$ECO_TEST_TMP/${1:?eco_log NAME}.log"
}

# Returns the process's exit status (128+N when a signal N ended it), so
# `eco_kill svc` fails a `set -e` test unless the program exits 0 on SIGTERM;
# use `eco_kill svc KILL || true` for a deliberate crash.
eco_kill() {
    local name=${1:-} sig=${2:-TERM} pid i rc=0
    pid=${ECO__PIDS[$name]:-}
    [ -n "$pid" ] || eco_fail "eco_kill: no running process '$name'"
    kill -s "$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < ECO__KILL_TIMEOUT * 10; i++)); do
        eco__alive "$pid" || break
        sleep 0.1
    done
    if eco__alive "$pid"; then
        kill -s KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        unset "ECO__PIDS[$name]"
        eco_fail "$name (pid $pid) still ran ${ECO__KILL_TIMEOUT} s after SIG$sig; killed it"
    fi
    wait "$pid" 2>/dev/null || rc=$?
    unset "ECO__PIDS[$name]"
    if [ "$rc" -ne 0 ]; then
        echo "eco_kill: $name (pid $pid) exited with status $rc after SIG$sig" >&2
    fi
    return "$rc"
}

# ---------------------------------------------------------------- logs ----

# Prints offending lines and returns 1; returns 0 when the logs are clean.
eco__scan_logs() {
    local f hits bad=0
    for f in "${ECO__LOGS[@]}"; do
        [ -f "$f" ] || continue
        hits=$(grep -E -m 5 -A 25 \
            'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer|runtime error:' \
            "$f" || true)
        if [ -n "$hits" ]; then
            echo "--- sanitizer report in $f:" >&2
            printf '%s\n' "$hits" >&2
            bad=1
        fi
        hits=$(grep -F 'level=error' "$f" || true)
        if [ -n "$hits" ] && [ -n "${ECO_EXPECTED_ERRORS:-}" ]; then
            hits=$(printf '%s\n' "$hits" | grep -Ev -- "$ECO_EXPECTED_ERRORS" || true)
        fi
        if [ -n "$hits" ]; then
            echo "--- unexpected level=error lines in $f (allowed: ECO_EXPECTED_ERRORS='${ECO_EXPECTED_ERRORS:-}'):" >&2
            printf '%s\n' "$hits" | head -n 20 >&2
            bad=1
        fi
    done
    return "$bad"
}

eco_check_logs() {
    eco__scan_logs || eco_fail "service logs contain sanitizer reports or unexpected errors"
}

# --------------------------------------------------------------- waits ----

eco__now_ms() {
    local t
    t=$(date +%s%N)
    printf '%s' "$((t / 1000000))"
}

# CMD runs in a subshell with its output discarded; it may be a function.
eco_wait_until() {
    local timeout=${1:-} deadline ms
    shift || true
    [[ "$timeout" =~ ^[0-9]+([.][0-9]+)?$ ]] || eco_fail "eco_wait_until: bad timeout '$timeout'"
    [ $# -gt 0 ] || eco_fail "eco_wait_until: no command"
    ms=$(awk -v t="$timeout" 'BEGIN { printf "%d", t * 1000 }')
    deadline=$(($(eco__now_ms) + ms))
    while :; do
        if ("$@") >/dev/null 2>&1 7>&-; then
            return 0
        fi
        if [ "$(eco__now_ms)" -ge "$deadline" ]; then
            eco_fail "timed out after ${timeout} s waiting for: $*"
        fi
        sleep 0.1
    done
}

# ---------------------------------------------------------------- stack ----

eco_stack() {
    case "${1:-}" in
    restart-mqtt | stop-pg | start-pg)
        [ "${ECO_EXCLUSIVE:-0}" = 1 ] ||
            eco_fail "eco_stack $1 disturbs parallel tests: set ECO_EXCLUSIVE=1 before sourcing lib.sh"
        ;;
    status) ;;
    *) eco_fail "eco_stack: unknown command '${1:-}'" ;;
    esac
    "$ECO_SOURCE_DIR/deploy/stack.sh" "$1" "$ECO_STACK_DIR" 7>&-
}

# ----------------------------------------------------------------- exit ----

eco__on_exit() {
    local rc=$? name pid i f alive
    trap - EXIT INT TERM
    set +e
    for name in "${!ECO__PIDS[@]}"; do
        kill -s TERM "${ECO__PIDS[$name]}" 2>/dev/null
    done
    for ((i = 0; i < 50; i++)); do
        alive=0
        for pid in "${ECO__PIDS[@]}"; do
            eco__alive "$pid" && alive=1
        done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for name in "${!ECO__PIDS[@]}"; do
        pid=${ECO__PIDS[$name]}
        if eco__alive "$pid"; then
            echo "lib.sh: $name (pid $pid) ignored SIGTERM for 5 s; killing it" >&2
            kill -s KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
    done
    if ! eco__scan_logs; then
        echo "FAIL: $ECO_TEST_NAME: service logs contain sanitizer reports or unexpected errors" >&2
        [ "$rc" -ne 0 ] || rc=1
    fi
    if [ "$rc" -ne 0 ]; then
        for f in "${ECO__LOGS[@]}"; do
            [ -s "$f" ] || continue
            echo "--- last lines of $f:" >&2
            tail -n 30 "$f" >&2
        done
    elif [ -n "${ECO_TEST_DB:-}" ] && [ "${ECO_KEEP_ENV:-0}" != 1 ]; then
        psql -XAtq -d "$(eco__admin_dsn postgres)" \
            -c "DROP DATABASE IF EXISTS $ECO_TEST_DB WITH (FORCE)" >/dev/null 2>&1
    fi
    if [ "${ECO_KEEP_TMP:-0}" = 1 ] || { [ "$rc" -ne 0 ] && [ "${ECO_KEEP_ENV:-0}" = 1 ]; }; then
        echo "lib.sh: kept $ECO_TEST_TMP" >&2
    else
        rm -rf "$ECO_TEST_TMP"
    fi
    if [ "$rc" -eq 0 ]; then
        echo "PASS: $ECO_TEST_NAME"
    fi
    exit "$rc"
}

trap eco__on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
