#!/usr/bin/env bash
# deploy/quickstart.sh: ecowatch on one machine, from a fresh clone, in one
# command: dependencies, build, a private broker + database, the schema, the
# sample network, every service, a simulated day of data, and a summary.
#
#   deploy/quickstart.sh [--exit] [--dir DIR]   start (DIR: ./run/quickstart)
#   deploy/quickstart.sh --stop [--dir DIR]     stop what a previous run left
#
# Without --exit it stays in the foreground until Ctrl-C, then stops the
# services (SIGTERM) and the stack. With --exit it stops everything after the
# summary. Data stays in DIR (durable PostgreSQL settings); a second run reuses
# it. Delete everything with: deploy/stack.sh purge DIR
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SRC=$PWD
BUILD=$SRC/build
SERVICES=(ingest detect dispatch gep report)

stay=1
stop_only=0
DIR=$SRC/run/quickstart
while [ $# -gt 0 ]; do
    case "$1" in
    --exit) stay=0 ;;
    --stop) stop_only=1 ;;
    --dir)
        [ $# -ge 2 ] || { echo "quickstart: --dir needs a directory" >&2; exit 2; }
        DIR=$2
        shift
        ;;
    -h | --help)
        sed -n '2,12s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *)
        echo "quickstart: unknown option $1 (try --help)" >&2
        exit 2
        ;;
    esac
    shift
done
case "$DIR" in /*) ;; *) DIR=$SRC/$DIR ;; esac
LOGS=$DIR/logs

say() { printf '\n== %s\n' "$*"; }
die() {
    echo "quickstart: $*" >&2
    exit 1
}

# ------------------------------------------------------------- services ----

stop_services() {
    local svc pidf pid i
    for svc in "${SERVICES[@]}"; do
        pidf=$LOGS/$svc.pid
        [ -f "$pidf" ] || continue
        pid=$(cat "$pidf")
        if [ -d "/proc/$pid" ] && grep -q "eco-$svc" "/proc/$pid/cmdline" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for ((i = 0; i < 150; i++)); do
                [ -d "/proc/$pid" ] || break
                sleep 0.1
            done
            if [ -d "/proc/$pid" ]; then
                echo "quickstart: eco-$svc did not stop in 15 s; killing it" >&2
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
        rm -f "$pidf"
    done
}

stopped=0
stop_all() {
    [ "$stopped" = 0 ] || return 0
    stopped=1
    echo
    echo "quickstart: stopping services and the stack"
    stop_services
    "$SRC/deploy/stack.sh" down "$DIR"
}

if [ "$stop_only" = 1 ]; then
    stop_all
    exit 0
fi

pg_dsn() { # ROLE -> DSN on database ecowatch
    local pw="ECO_PG_${1^^}_PASSWORD"
    printf 'host=127.0.0.1 port=%s dbname=ecowatch user=eco_%s password=%s' \
        "$ECO_PG_PORT" "$1" "${!pw}"
}

# A free loopback port for the HJ 212 gateway (never a fixed one).
free_port() {
    local p i
    for i in $(seq 1 100); do
        p=$((20000 + RANDOM % 40000))
        ss -ltnH "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return 0; }
    done
    die "no free port for the HJ 212 gateway"
}
HJ212_ADDR=127.0.0.1:$(free_port)

start_services() {
    local svc bin pid U uv pv
    mkdir -p "$LOGS"
    for svc in "${SERVICES[@]}"; do
        bin=$BUILD/services/$svc/eco-$svc
        if [ ! -x "$bin" ]; then
            echo "quickstart: eco-$svc is not built yet; skipping it"
            continue
        fi
        if [ -f "$LOGS/$svc.pid" ] && [ -d "/proc/$(cat "$LOGS/$svc.pid")" ]; then
            echo "quickstart: eco-$svc already runs (pid $(cat "$LOGS/$svc.pid"))"
            continue
        fi
        U=${svc^^}
        uv=ECO_MQTT_${U}_USER
        pv=ECO_MQTT_${U}_PASSWORD
        # Each service runs in a state directory of its own, so relative
        # paths (the ingest spool) land under DIR.
        mkdir -p "$DIR/state/$svc"
        (
            cd "$DIR/state/$svc"
            export ECO_MQTT_URL ECO_MQTT_USER=${!uv} ECO_MQTT_PASSWORD=${!pv}
            ECO_PG_DSN=$(pg_dsn "$svc")
            export ECO_PG_DSN
            if [ "$svc" = ingest ]; then
                # one instance: a plain subscription, which mosquitto keeps
                # across its own restarts (docs/INGEST.md)
                export ECO_INGEST_INSTANCE=quickstart ECO_INGEST_SHARE_GROUP= \
                    ECO_INGEST_HJ212_ADDR=$HJ212_ADDR
            fi
            exec setsid "$bin" </dev/null >>"$LOGS/$svc.log" 2>&1
        ) &
        pid=$!
        echo "$pid" >"$LOGS/$svc.pid"
        echo "quickstart: eco-$svc started (pid $pid, log $LOGS/$svc.log)"
    done
    sleep 1
    for svc in "${SERVICES[@]}"; do
        [ -f "$LOGS/$svc.pid" ] || continue
        pid=$(cat "$LOGS/$svc.pid")
        if [ ! -d "/proc/$pid" ]; then
            tail -n 20 "$LOGS/$svc.log" >&2
            die "eco-$svc exited right after starting (log: $LOGS/$svc.log)"
        fi
    done
}

# ------------------------------------------------------------ simulator ----

# run_sim: ecosim, a simulated day with labelled incidents (docs/SIMULATOR.md).
# A simulated day of the sample network at full speed (--speed 0), publishing
# as the `sim` MQTT user, writing the labelled incidents to DIR/labels.jsonl.
run_sim() {
    local sim=$BUILD/services/ecosim/ecosim from to
    if [ ! -x "$sim" ]; then
        echo "quickstart: ecosim is not built yet; no simulated data"
        return 0
    fi
    "$sim" --help >/dev/null 2>&1 || die "ecosim --help failed: is the build complete?"
    from=$(TZ=Asia/Shanghai date -d yesterday +%F)
    to=$(TZ=Asia/Shanghai date +%F)
    say "simulating $from .. $to (log: $LOGS/ecosim.log)"
    ECO_MQTT_URL=$ECO_MQTT_URL ECO_MQTT_USER=$ECO_MQTT_SIM_USER \
        ECO_MQTT_PASSWORD=$ECO_MQTT_SIM_PASSWORD ECO_PG_DSN=$(pg_dsn ctl) \
        "$sim" --speed 0 --from "$from" --to "$to" --incidents 6 --labels "$DIR/labels.jsonl" \
            --hj212 "$HJ212_ADDR" \
        >>"$LOGS/ecosim.log" 2>&1 ||
        die "ecosim failed (log: $LOGS/ecosim.log)"
    wait_for_ingest
}

# The simulator is done when its messages are published; ingest may still be
# writing. Wait until the reading count stops moving (at most 2 minutes).
wait_for_ingest() {
    local last=-1 now i
    for ((i = 0; i < 120; i++)); do
        now=$(count obs.reading)
        [ "$now" = "$last" ] && [ "$i" -ge 2 ] && return 0
        last=$now
        sleep 1
    done
    echo "quickstart: ingest is still writing; the counts below are a snapshot"
}

# ------------------------------------------------------------- summary ----

count() { # TABLE -> row count, or "-" when the table does not exist (yet)
    local q=(psql -XAtq -d "$ECO_PG_ADMIN_DSN")
    if [ "$("${q[@]}" -c "SELECT to_regclass('$1') IS NOT NULL" 2>/dev/null)" != t ]; then
        echo "-"
        return 0
    fi
    "${q[@]}" -c "SELECT count(*) FROM $1" 2>/dev/null || echo "?"
}

summary() {
    local t
    say "ecowatch is running"
    printf '  %-18s %s\n' "data in" "$DIR"
    for t in core.site core.device core.param obs.reading obs.latest obs.deadletter; do
        printf '  %-18s %s\n' "$t" "$(count "$t")"
    done
    printf '  %-18s %s (data loggers: docs/HJ212.md)\n' "HJ 212 gateway" "$HJ212_ADDR"
    cat <<EOF

Watch every message (read-only integrator account):
  mosquitto_sub -h 127.0.0.1 -p $ECO_MQTT_PORT -V mqttv5 -u $ECO_MQTT_INTEGRATOR_USER -P '$ECO_MQTT_INTEGRATOR_PASSWORD' -t 'eco/v1/#' -v

Query as an analyst (read-only; try: SELECT * FROM rpt.reading LIMIT 10):
  psql '$(pg_dsn analyst)'

Operator commands (ecoctl), with the admin settings:
  . '$DIR/env'
  ECO_PG_DSN="\$ECO_PG_ADMIN_DSN" ECO_MQTT_USER=admin ECO_MQTT_PASSWORD="\$ECO_MQTT_ADMIN_PASSWORD" $BUILD/services/ecoctl/ecoctl status

Logs: $LOGS/<service>.log, $DIR/mosquitto.log, $DIR/pg.log
Ports, users and passwords: $DIR/env
EOF
    if [ "$stay" = 1 ]; then
        echo "Stop: Ctrl-C here (or: deploy/quickstart.sh --stop --dir '$DIR')"
    fi
}

# ---------------------------------------------------------------- main ----

t0=$SECONDS
say "dependencies"
if [ "$(id -u)" -eq 0 ]; then
    "$SRC/deploy/install-deps.sh"
else
    "$SRC/deploy/install-deps.sh" --check || die "install the packages above (as root) first"
fi

say "build ($BUILD)"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)"

say "local broker and database ($DIR)"
# Durable settings: the quickstart keeps its data.
env -u ECO_STACK_FAST "$SRC/deploy/stack.sh" up "$DIR"
# shellcheck disable=SC1091
source "$DIR/env"
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
on_exit() {
    local rc=$?
    [ "$rc" -eq 0 ] || stop_all
}
trap on_exit EXIT

say "schema"
ECO_PG_DSN=$ECO_PG_ADMIN_DSN "$BUILD/services/ecoctl/ecoctl" db migrate

if [ -n "$(ls -A "$SRC/deploy/sample" 2>/dev/null)" ]; then
    say "sample network (deploy/sample)"
    ECO_PG_DSN=$ECO_PG_ADMIN_DSN ECO_MQTT_USER=$ECO_MQTT_ADMIN_USER \
        ECO_MQTT_PASSWORD=$ECO_MQTT_ADMIN_PASSWORD \
        "$BUILD/services/ecoctl/ecoctl" registry load "$SRC/deploy/sample" ||
        die "ecoctl registry load deploy/sample failed"
else
    echo "quickstart: deploy/sample is empty; no registry loaded"
fi

say "services"
start_services
run_sim
summary
echo "(ready in $((SECONDS - t0)) s)"

if [ "$stay" = 0 ]; then
    trap - EXIT INT TERM
    stop_all
    exit 0
fi
# Wake up every second so Ctrl-C is handled at once; report a dead service.
declare -A reported=()
while :; do
    for svc in "${SERVICES[@]}"; do
        [ -f "$LOGS/$svc.pid" ] || continue
        if [ ! -d "/proc/$(cat "$LOGS/$svc.pid")" ] && [ -z "${reported[$svc]:-}" ]; then
            echo "quickstart: eco-$svc has exited; see $LOGS/$svc.log" >&2
            reported[$svc]=1
        fi
    done
    sleep 1 &
    wait $! || true
done
