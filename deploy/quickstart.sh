#!/usr/bin/env bash
# deploy/quickstart.sh: ecowatch on one machine, from a fresh clone, in one
# command: dependencies, build, a private broker + database, the schema, the
# sample network, every service, simulated data from yesterday 00:00 (Beijing)
# up to now (a whole closed day for the daily report), then the
# simulator live (real time) so data keeps arriving, and a summary with
# copy-pasteable commands.
#
#   deploy/quickstart.sh [--exit] [--no-live] [--dir DIR]   start (DIR: ./run/quickstart)
#   deploy/quickstart.sh --stop [--dir DIR]     stop what a previous run left
#
# Without --exit it stays in the foreground until Ctrl-C, then stops the
# simulator, the services (SIGTERM) and the stack. With --exit it stops
# everything after the summary (no live simulator). --no-live: backfill only.
# Ports, users and passwords: DIR/quickstart.env (source it). Data stays in DIR
# (durable PostgreSQL settings); a second run reuses it, and the same HJ 212
# port while it is free. Delete everything with: deploy/stack.sh purge DIR
#
# For tests: ECO_QUICKSTART_BUILD=DIR uses an existing build and skips the
# build step; ECO_QUICKSTART_BACKFILL_H=N backfills N hours (default: from
# yesterday 00:00 Beijing time).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SRC=$PWD
BUILD=${ECO_QUICKSTART_BUILD:-$SRC/build}
BACKFILL_H=${ECO_QUICKSTART_BACKFILL_H:-}
SERVICES=(ingest detect dispatch gep report)

stay=1
stop_only=0
live=1
DIR=$SRC/run/quickstart
while [ $# -gt 0 ]; do
    case "$1" in
    --exit) stay=0 live=0 ;;
    --no-live) live=0 ;;
    --stop) stop_only=1 ;;
    --dir)
        [ $# -ge 2 ] || { echo "quickstart: --dir needs a directory" >&2; exit 2; }
        DIR=$2
        shift
        ;;
    -h | --help)
        sed -n '2,19s/^# \{0,1\}//p' "$0"
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
QS_ENV=$DIR/quickstart.env
ECOCTL=$BUILD/services/ecoctl/ecoctl

say() { printf '\n== %s\n' "$*"; }
die() {
    echo "quickstart: $*" >&2
    exit 1
}

# ------------------------------------------------------------- services ----

# alive PIDFILE PROGRAM: the pid in PIDFILE runs PROGRAM (not a reused pid)
alive() {
    local pid
    [ -f "$1" ] || return 1
    pid=$(cat "$1")
    [ -n "$pid" ] && [ -d "/proc/$pid" ] && grep -q "$2" "/proc/$pid/cmdline" 2>/dev/null
}

# stop_pid PIDFILE PROGRAM: SIGTERM, 15 s to drain, then SIGKILL
stop_pid() {
    local pidf=$1 prog=$2 pid i
    [ -f "$pidf" ] || return 0
    pid=$(cat "$pidf")
    if alive "$pidf" "$prog"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 150; i++)); do
            [ -d "/proc/$pid" ] || break
            sleep 0.1
        done
        if [ -d "/proc/$pid" ]; then
            echo "quickstart: $prog did not stop in 15 s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidf"
}

stop_services() {
    local svc
    # the live simulator first: its last messages still reach ingest
    stop_pid "$LOGS/ecosim.pid" ecosim
    for svc in "${SERVICES[@]}"; do
        stop_pid "$LOGS/$svc.pid" "eco-$svc"
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

port_free() {
    ! ss -ltnH "sport = :$1" 2>/dev/null | grep -q .
}

# The HJ 212 gateway's loopback port: chosen once (never a fixed one) and kept
# in DIR/quickstart.env, so data loggers configured for it keep working; a new
# one only when something else has taken it.
hj212_port() {
    local p="" i
    [ -f "$QS_ENV" ] && p=$(sed -n "s/^export ECO_HJ212_PORT='\([0-9]\{1,5\}\)'$/\1/p" "$QS_ENV")
    if [ -n "$p" ]; then
        # still ours (a running ingest) or free again
        if alive "$LOGS/ingest.pid" eco-ingest || port_free "$p"; then
            echo "$p"
            return 0
        fi
        echo "quickstart: HJ 212 port $p is taken by another program; choosing a new one" >&2
    fi
    for i in $(seq 1 100); do
        p=$((20000 + RANDOM % 40000))
        port_free "$p" && { echo "$p"; return 0; }
    done
    die "no free port for the HJ 212 gateway"
}

shq() { # single-quoted for a shell
    printf "'%s'" "${1//\'/\'\\\'\'}"
}

# One personal broker account per role (docs/SECURITY.md), qs-<role>. The
# passwords are kept in DIR/quickstart.env, so a second run keeps them.
ROLES=(admin dispatcher department analyst integrator)
QS_DEPARTMENT=ZS-EEB-DH # a department of deploy/sample
# The sample's MQTT device with a broker account of its own (its password is
# in deploy/sample/devices.csv; registry load creates the account).
QS_DEVICE=dev-air-dh01
QS_DEVICE_PW=$(awk -F, -v d="$QS_DEVICE" '$1 == d { print $4 }' "$SRC/deploy/sample/devices.csv" 2>/dev/null || true)
people_passwords() {
    local r R p
    for r in "${ROLES[@]}"; do
        R=${r^^}
        p=""
        [ -f "$QS_ENV" ] &&
            p=$(sed -n "s/^export ECO_QS_${R}_PASSWORD='\([A-Za-z0-9]\{8,64\}\)'$/\1/p" "$QS_ENV")
        [ -n "$p" ] || p=$(head -c 64 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c 20)
        printf -v "QS_PW_$R" '%s' "$p"
    done
}

# Creates (or re-sets) the accounts; each change renders and reloads the
# broker (ECO_BROKER_AUTH_DIR and ECO_BROKER_PID_FILE come from the stack).
people_accounts() {
    local r R pw v
    local -a dept
    for r in "${ROLES[@]}"; do
        R=${r^^}
        v="QS_PW_$R"
        pw=${!v}
        dept=()
        [ "$r" = department ] && dept=(--department "$QS_DEPARTMENT")
        printf '%s\n' "$pw" | ECO_PG_DSN=$ECO_PG_ADMIN_DSN "$ECOCTL" user add "qs-$r" --role "$r" \
            "${dept[@]}" --password-stdin >/dev/null 2>&1 ||
            printf '%s\n' "$pw" | ECO_PG_DSN=$ECO_PG_ADMIN_DSN "$ECOCTL" user passwd "qs-$r" \
                --password-stdin >/dev/null ||
            die "ecoctl user add qs-$r failed"
    done
}

# DIR/quickstart.env: the stack's env plus what the quick start adds. Every
# command the summary prints works after sourcing it.
write_env() {
    local tmp=$QS_ENV.tmp r R v
    {
        echo "# written by deploy/quickstart.sh; source it: . $(shq "$QS_ENV")"
        echo ". $(shq "$DIR/env")"
        echo "export ECO_HJ212_PORT='$HJ212_PORT'"
        echo "export ECO_HJ212_ADDR='127.0.0.1:$HJ212_PORT'"
        echo "export ECO_PG_ANALYST_DSN=$(shq "$(pg_dsn analyst)")"
        echo "export ECO_PG_CTL_DSN=$(shq "$(pg_dsn ctl)")"
        echo "export ECOCTL=$(shq "$ECOCTL")"
        echo "export ECO_QS_DEVICE_USER='$QS_DEVICE'"
        echo "export ECO_QS_DEVICE_PASSWORD=$(shq "$QS_DEVICE_PW")"
        for r in "${ROLES[@]}"; do
            R=${r^^}
            v="QS_PW_$R"
            echo "export ECO_QS_${R}_USER='qs-$r'"
            echo "export ECO_QS_${R}_PASSWORD=$(shq "${!v}")"
        done
    } >"$tmp"
    mv -f "$tmp" "$QS_ENV"
}

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
            if [ "$svc" = report ]; then
                export ECO_REPORT_OUT_DIR=$DIR/reports ECO_REPORT_INSTANCE=quickstart
            fi
            if [ "$svc" = gep ]; then
                export ECO_GEP_INSTANCE=quickstart
            fi
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

# ------------------------------------------------------------- report ----

# make_report: yesterday's daily report (docs/REPORTS.md) now, with what was
# just simulated, so the summary can point at it; eco-report makes the next
# ones on its schedule.
REPORT_HTML=
make_report() {
    local day out
    day=$(TZ=Asia/Shanghai date -d yesterday +%F)
    say "daily report of $day"
    if out=$(ECO_PG_DSN=$(pg_dsn ctl) "$ECOCTL" report daily "$day" --out "$DIR/reports"); then
        REPORT_HTML=$out
    else
        echo "quickstart: the daily report failed (see above); the services keep running" >&2
    fi
}

# ---------------------------------------------------------------- GEP ----

# load_gep_sample: the synthetic Daishan GEP inputs (deploy/sample/gep/
# daishan.sql, docs/GEP.md): a land-use map, statistics and prices for the
# year of the simulated data. run_gep: the account of ZS-DS from them, with
# the areas from the map and the ion and cooling inputs from what was just
# simulated.
GEP_YEAR=$(TZ=Asia/Shanghai date +%Y)
GEP_OUT=
load_gep_sample() {
    [ -f "$SRC/deploy/sample/gep/daishan.sql" ] || return 0
    say "GEP sample inputs (synthetic Daishan, $GEP_YEAR)"
    psql -XAtq -v ON_ERROR_STOP=1 -d "$(pg_dsn ctl)" -v year="$GEP_YEAR" -v cell=0.01 \
        -f "$SRC/deploy/sample/gep/daishan.sql" >/dev/null ||
        echo "quickstart: the GEP sample inputs did not load; no GEP account" >&2
}
run_gep() {
    say "GEP account of ZS-DS $GEP_YEAR (synthetic inputs, simulated readings)"
    if ! GEP_OUT=$(ECO_PG_DSN=$(pg_dsn ctl) "$ECOCTL" gep run --region ZS-DS --year "$GEP_YEAR" \
        --params daishan-sample); then
        GEP_OUT="(not made: see above)"
        echo "quickstart: the GEP run failed (see above); the services keep running" >&2
    fi
}

# ------------------------------------------------------------ simulator ----

SIM=$BUILD/services/ecosim/ecosim

# run_sim: ecosim (docs/SIMULATOR.md) backfills from yesterday 00:00 up to now at full
# speed (--speed 0), with labelled incidents in DIR/labels.jsonl, publishing as
# the `sim` MQTT user; then (unless --no-live or --exit) it keeps running in
# real time from now on, in the background (DIR/logs/ecosim.pid), so data keeps
# arriving while you look around.
run_sim() {
    local from to
    if [ ! -x "$SIM" ]; then
        echo "quickstart: ecosim is not built yet; no simulated data"
        return 0
    fi
    "$SIM" --help >/dev/null 2>&1 || die "ecosim --help failed: is the build complete?"
    if alive "$LOGS/ecosim.pid" ecosim; then
        echo "quickstart: the live simulator already runs (pid $(cat "$LOGS/ecosim.pid"))"
        return 0
    fi
    to=$(TZ=Asia/Shanghai date +%Y-%m-%dT%H:%M:%S+08:00)
    if [ -n "$BACKFILL_H" ]; then
        from=$(TZ=Asia/Shanghai date -d "$BACKFILL_H hours ago" +%Y-%m-%dT%H:%M:%S+08:00)
    else
        from=$(TZ=Asia/Shanghai date -d yesterday +%Y-%m-%dT00:00:00+08:00)
    fi
    say "simulating $from up to $to (log: $LOGS/ecosim.log)"
    # a busy or slow machine acknowledges the last HJ 212 frames late: wait
    # for them rather than call the backfill failed
    ECO_MQTT_URL=$ECO_MQTT_URL ECO_MQTT_USER=$ECO_MQTT_SIM_USER \
        ECO_MQTT_PASSWORD=$ECO_MQTT_SIM_PASSWORD ECO_PG_DSN=$(pg_dsn ctl) \
        "$SIM" --speed 0 --from "$from" --to "$to" --incidents 6 --labels "$DIR/labels.jsonl" \
            --hj212 "$HJ212_ADDR" --drain-timeout 120 \
        >>"$LOGS/ecosim.log" 2>&1 ||
        die "ecosim failed (log: $LOGS/ecosim.log)"
    wait_for_ingest
    [ "$live" = 1 ] || return 0
    (
        export ECO_MQTT_URL ECO_MQTT_USER=$ECO_MQTT_SIM_USER \
            ECO_MQTT_PASSWORD=$ECO_MQTT_SIM_PASSWORD
        ECO_PG_DSN=$(pg_dsn ctl)
        export ECO_PG_DSN
        exec setsid "$SIM" --speed 1 --from now --incidents 6 \
            --labels "$DIR/labels-live.jsonl" --hj212 "$HJ212_ADDR" </dev/null \
            >>"$LOGS/ecosim-live.log" 2>&1
    ) &
    echo "$!" >"$LOGS/ecosim.pid"
    sleep 1
    alive "$LOGS/ecosim.pid" ecosim || {
        tail -n 20 "$LOGS/ecosim-live.log" >&2
        die "the live simulator exited right after starting (log: $LOGS/ecosim-live.log)"
    }
    echo "quickstart: live simulator started (real time; pid $(cat "$LOGS/ecosim.pid"), log $LOGS/ecosim-live.log)"
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

console_lines() {
    local port=${ECO_CONSOLE_URL##*:}
    port=${port%/}
    if [ "$CONSOLE_OK" = 1 ]; then
        cat <<EOF
Web console (docs/CONSOLE.md), the live map and the work-order board: open
  $ECO_CONSOLE_URL
and sign in as qs-dispatcher, password $QS_PW_DISPATCHER
(or as qs-department to act on the orders of $QS_DEPARTMENT).
From another machine: ssh -L $port:127.0.0.1:$port THIS-HOST
EOF
    else
        echo "Web console: not built (see $LOGS/console-build.log and docs/CONSOLE.md)"
    fi
}

summary() {
    local t ts mq pub r v
    say "ecowatch is running"
    printf '  %-18s %s\n' "data in" "$DIR"
    for t in core.site core.device core.param obs.reading obs.latest obs.deadletter; do
        printf '  %-18s %s\n' "$t" "$(count "$t")"
    done
    printf '  %-18s %s\n' "last hour" "$(psql -XAtq -d "$ECO_PG_ADMIN_DSN" \
        -c "SELECT count(*) FROM obs.reading WHERE ts > now() - interval '1 hour'" 2>/dev/null || echo '?')"
    printf '  %-18s %s (data loggers: docs/HJ212.md)\n' "HJ 212 gateway" "$HJ212_ADDR"
    if alive "$LOGS/ecosim.pid" ecosim; then
        printf '  %-18s %s\n' "live simulator" "real time, pid $(cat "$LOGS/ecosim.pid") (--no-live to skip)"
    fi
    # a reading of the current hour, as a registered MQTT device would send it
    ts=$(TZ=Asia/Shanghai date +%Y-%m-%dT%H:00:00+08:00)
    mq="-h 127.0.0.1 -p $ECO_MQTT_PORT -V mqttv5"
    pub="{\"ts\": \"$ts\", \"period\": \"hour\", \"values\": {\"pm25\": 35.2, \"so2\": {\"v\": 8, \"flag\": \"N\"}}}"
    cat <<EOF

Copy and paste (every password below is also in $QS_ENV):

Watch stored readings, latest values and alarms (read-only integrator account):
  mosquitto_sub $mq -u $ECO_MQTT_INTEGRATOR_USER -P $(shq "$ECO_MQTT_INTEGRATOR_PASSWORD") -t 'eco/v1/obs/#' -t 'eco/v1/latest/+/pm25' -t 'eco/v1/alarm/#' -v

Publish a reading as device $QS_DEVICE (site air-dh01), with its own account (it may publish only to eco/v1/in/$QS_DEVICE):
  mosquitto_pub $mq -q 1 -u $QS_DEVICE -P $(shq "$QS_DEVICE_PW") -t eco/v1/in/$QS_DEVICE -m $(shq "$pub")

Query as an analyst (read-only, Beijing time; rpt.site is one layer for QGIS; the AQI per HJ 633-2012):
  psql $(shq "$(pg_dsn analyst)") -c "SELECT code, kind, latest_at, open_alarms FROM rpt.site ORDER BY latest_at DESC NULLS LAST LIMIT 10"
  psql $(shq "$(pg_dsn analyst)") -c "SELECT ts, value, unit, flag FROM rpt.reading WHERE site = 'air-dh01' AND param = 'pm25' AND ts >= now() - interval '1 day' ORDER BY ts"
  psql $(shq "$(pg_dsn analyst)") -c "SELECT hour, aqi, primary_pollutants, category FROM rpt.aqi_hourly WHERE site = 'air-dh01' AND hour >= now() - interval '1 day' ORDER BY hour"

Open alarms and the system's status (ecoctl):
  ECO_PG_DSN=$(shq "$(pg_dsn ctl)") $ECOCTL alarm list --open
  ECO_PG_DSN=$(shq "$(pg_dsn ctl)") ECO_MQTT_URL=$ECO_MQTT_URL ECO_MQTT_USER=$ECO_MQTT_ADMIN_USER ECO_MQTT_PASSWORD=$(shq "$ECO_MQTT_ADMIN_PASSWORD") $ECOCTL status

Work orders: eco-dispatch turns the simulated incidents into orders for the departments
(docs/DISPATCH.md); list them as the dispatcher, then act as the department (qs-department):
  ECO_MQTT_URL=$ECO_MQTT_URL ECO_MQTT_USER=qs-dispatcher ECO_MQTT_PASSWORD=$(shq "$QS_PW_DISPATCHER") $ECOCTL wo list --limit 10

Reports (docs/REPORTS.md): yesterday's daily report, a page to open in a browser
(JSON and CSV beside it; eco-report adds each day's after the day closes, and
the one map's GeoJSON layers in $DIR/reports/layers for QGIS):
  ${REPORT_HTML:-(not made: see above)}
Make another one: ECO_PG_DSN=$(shq "$(pg_dsn ctl)") $ECOCTL report daily YYYY-MM-DD --out $(shq "$DIR/reports")

GEP (docs/GEP.md): Daishan's account of $GEP_YEAR from the SYNTHETIC sample inputs
(deploy/sample/gep/daishan.sql), its ecosystem areas from the land-use map and its
negative oxygen ions and cooling days from the simulated readings:
$(sed 's/^/  /' <<<"$GEP_OUT")
Every line with its sources: ECO_PG_DSN=$(shq "$(pg_dsn ctl)") $ECOCTL gep show --region ZS-DS --year $GEP_YEAR
Ask eco-gep for it (its summary and indicators are then retained on eco/v1/gep/ZS-DS/$GEP_YEAR):
  mosquitto_rr $mq -u $ECO_MQTT_ADMIN_USER -P $(shq "$ECO_MQTT_ADMIN_PASSWORD") -t eco/v1/rpc/gep/run/$ECO_MQTT_ADMIN_USER -e eco/v1/rpc/reply/$ECO_MQTT_ADMIN_USER/gep -W 30 -m $(shq "{\"region\": \"ZS-DS\", \"year\": $GEP_YEAR, \"params\": \"daishan-sample\"}")

$(console_lines)

Personal broker accounts, one per role (what each may do: docs/SECURITY.md;
manage them with: ecoctl user add|list|passwd|disable|role):
EOF
    for r in "${ROLES[@]}"; do
        v="QS_PW_${r^^}"
        printf '  %-16s %-24s %s\n' "qs-$r" "$r$([ "$r" = department ] && echo " ($QS_DEPARTMENT)")" "${!v}"
    done
    cat <<EOF

Or source the settings first (the README's examples use them):
  . $(shq "$QS_ENV")

Logs: $LOGS/<service>.log, $LOGS/ecosim-live.log, $DIR/mosquitto.log, $DIR/pg.log
EOF
    if [ "$stay" = 1 ]; then
        echo "Stop: Ctrl-C here (or: deploy/quickstart.sh --stop --dir '$DIR')"
    fi
}

# The web console (docs/CONSOLE.md): one page, served by the broker's
# websockets listener from ECO_CONSOLE_DIR. Without the npm registry the rest
# of the system still runs; the summary says so.
CONSOLE_OK=0
build_console() {
    say "web console"
    if "$SRC/services/console/build.sh" "$ECO_CONSOLE_DIR" >"$LOGS/console-build.log" 2>&1; then
        CONSOLE_OK=1
    else
        echo "quickstart: the web console was not built (see $LOGS/console-build.log);" \
            "everything else runs" >&2
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

if [ -n "${ECO_QUICKSTART_BUILD:-}" ]; then
    [ -x "$ECOCTL" ] || die "ECO_QUICKSTART_BUILD=$BUILD has no services/ecoctl/ecoctl"
else
    say "build ($BUILD)"
    cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)"
fi

say "local broker and database ($DIR)"
# Durable settings: the quickstart keeps its data.
env -u ECO_STACK_FAST "$SRC/deploy/stack.sh" up "$DIR"
# shellcheck disable=SC1091
source "$DIR/env"
HJ212_PORT=$(hj212_port)
[ -n "$HJ212_PORT" ] || exit 1
HJ212_ADDR=127.0.0.1:$HJ212_PORT
people_passwords
write_env
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
on_exit() {
    local rc=$?
    [ "$rc" -eq 0 ] || stop_all
}
trap on_exit EXIT

say "schema"
ECO_PG_DSN=$ECO_PG_ADMIN_DSN "$ECOCTL" db migrate

if [ -n "$(ls -A "$SRC/deploy/sample" 2>/dev/null)" ]; then
    say "sample network (deploy/sample)"
    ECO_PG_DSN=$ECO_PG_ADMIN_DSN ECO_MQTT_USER=$ECO_MQTT_ADMIN_USER \
        ECO_MQTT_PASSWORD=$ECO_MQTT_ADMIN_PASSWORD \
        "$ECOCTL" registry load "$SRC/deploy/sample" ||
        die "ecoctl registry load deploy/sample failed"
    say "personal accounts, one per role"
    people_accounts
    load_gep_sample
else
    echo "quickstart: deploy/sample is empty; no registry loaded"
fi

say "services"
start_services
build_console
run_sim
make_report
run_gep
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
    if [ -f "$LOGS/ecosim.pid" ] && ! alive "$LOGS/ecosim.pid" ecosim &&
        [ -z "${reported[ecosim]:-}" ]; then
        echo "quickstart: the live simulator has exited; see $LOGS/ecosim-live.log" >&2
        reported[ecosim]=1
    fi
    sleep 1 &
    wait $! || true
done
