#!/usr/bin/env bash
# deploy/stack.sh: a private mosquitto + PostgreSQL/PostGIS living in one
# directory, on free loopback ports. Used by the quickstart, the test harness
# (tests/harness/env.sh) and the benchmarks.
#
#   deploy/stack.sh up DIR            create (first time) or start the stack
#   deploy/stack.sh down DIR          stop both servers, keep the data
#   deploy/stack.sh status DIR        exit 0 when both servers run, 3 otherwise
#   deploy/stack.sh restart-mqtt DIR  stop and start the broker (persistence kept)
#   deploy/stack.sh stop-pg DIR       stop PostgreSQL (data and port kept)
#   deploy/stack.sh start-pg DIR      start it again on the same port
#   deploy/stack.sh purge DIR         down, then delete DIR and everything it owns
#
# After `up`, DIR/env holds `export NAME='value'` lines (mode 600): ports, users,
# passwords and DSNs; see docs/DEPLOY.md for the list.
#
# ECO_STACK_FAST=1 (the test harness sets it) starts PostgreSQL with fsync,
# synchronous_commit and full_page_writes off: fast and not crash-safe. Without
# it the cluster keeps PostgreSQL's durable defaults.
#
# The servers never run as root (PostgreSQL refuses to): as root, the script
# uses a system account `ecowatch` (created if missing) and starts both servers
# under it. If DIR is not reachable by that account (e.g. under /root), the
# server files go to a private directory under /tmp recorded in DIR/stack.state.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
ACL_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/mosquitto/acl
SVC_ACCOUNT=${ECO_STACK_USER:-ecowatch}
MQTT_USERS=(admin ingest detect dispatch gep report sim integrator)
PG_ROLES=(ingest detect dispatch gep report ctl analyst)
# Where a stack's unix socket goes when DIR is too deep for sun_path (107 bytes).
SOCK_MAX=90

die() {
    echo "stack.sh: $*" >&2
    exit 1
}

say() {
    [ "${ECO_STACK_QUIET:-0}" = 1 ] || echo "stack.sh: $*" >&2
}

usage() {
    sed -n '2,14s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

# Quote a value for a shell `export NAME='value'` line.
shq() {
    local s=${1//\'/\'\\\'\'}
    printf "'%s'" "$s"
}

# 24 random alphanumerics: safe in DSNs, config files and command lines.
rand_pw() {
    local s=""
    while [ "${#s}" -lt 24 ]; do
        s+=$(head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9')
    done
    printf '%s' "${s:0:24}"
}

# Prints N distinct free TCP ports on 127.0.0.1. The kernel picks them (bind to
# port 0); all N sockets are held until every port is read, so they differ. A
# server may still lose the race for a port afterwards: callers retry.
free_ports() {
    local n=$1
    if command -v perl >/dev/null 2>&1; then
        perl -MIO::Socket::INET -e '
            my @s;
            for (1 .. $ARGV[0]) {
                push @s, IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
                                               Proto => "tcp", Listen => 1)
                    or die "bind: $!\n";
            }
            print join(" ", map { $_->sockport } @s), "\n";' "$n"
        return
    fi
    # No perl (never the case on Debian, where perl-base is essential): probe
    # random ports below the ephemeral range with a bash connect.
    local out=() p
    while [ "${#out[@]}" -lt "$n" ]; do
        p=$((20000 + RANDOM % 12000))
        case " ${out[*]} " in *" $p "*) continue ;; esac
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            out+=("$p")
        fi
    done
    echo "${out[*]}"
}

# Runs a command as the service account (a no-op change when not root).
as_svc() {
    if [ "$(id -u)" -eq 0 ]; then
        setpriv --reuid="$SVC_USER" --regid="$SVC_GROUP" --init-groups -- "$@"
    else
        "$@"
    fi
}

ensure_svc_user() {
    if [ "$(id -u)" -ne 0 ]; then
        SVC_USER=$(id -un)
        SVC_GROUP=$(id -gn)
        return
    fi
    if ! id -u "$SVC_ACCOUNT" >/dev/null 2>&1; then
        # Another stack.sh may be creating it at the same moment: re-check.
        useradd --system --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$SVC_ACCOUNT" 2>/dev/null ||
            id -u "$SVC_ACCOUNT" >/dev/null 2>&1 ||
            die "cannot create system user $SVC_ACCOUNT"
    fi
    SVC_USER=$SVC_ACCOUNT
    SVC_GROUP=$(id -gn "$SVC_ACCOUNT")
}

# ---------------------------------------------------------------- state ----

# DIR/stack.state: the stack's own memory (paths, ports, passwords), mode 600.
save_state() {
    local tmp="$STATE.tmp" v
    (
        umask 077
        {
            echo "# deploy/stack.sh state; do not edit while the stack runs"
            for v in STACK_RUNDIR STACK_PGDATA STACK_SOCKDIR STACK_USER STACK_FAST \
                STACK_MQTT_PORT STACK_WS_PORT STACK_MQTTS_PORT STACK_WSS_PORT STACK_PG_PORT \
                STACK_READY PW_pg_admin; do
                echo "$v=$(shq "${!v}")"
            done
            for v in "${MQTT_USERS[@]}"; do
                echo "PW_mqtt_$v=$(shq "$(pw_var "mqtt_$v")")"
            done
            for v in "${PG_ROLES[@]}"; do
                echo "PW_pg_$v=$(shq "$(pw_var "pg_$v")")"
            done
        } >"$tmp"
    )
    mv -f "$tmp" "$STATE"
}

pw_var() {
    local n="PW_$1"
    printf '%s' "${!n}"
}

load_state() {
    [ -f "$STATE" ] || return 1
    # shellcheck disable=SC1090
    source "$STATE"
    STACK_READY=${STACK_READY:-0}
    # a stack made before the TLS listeners existed gets their ports now
    if [ -n "${STACK_MQTT_PORT:-}" ] && { [ -z "${STACK_MQTTS_PORT:-}" ] || [ -z "${STACK_WSS_PORT:-}" ]; }; then
        read -r STACK_MQTTS_PORT STACK_WSS_PORT < <(free_ports 2)
    fi
    return 0
}

write_env() {
    local tmp="$DIR/env.tmp" u U r R
    (
        umask 077
        {
            echo "# written by deploy/stack.sh up; source it: . $(shq "$DIR/env")"
            echo "export ECO_STACK_DIR=$(shq "$DIR")"
            echo "export ECO_MQTT_HOST='127.0.0.1'"
            echo "export ECO_MQTT_PORT='$STACK_MQTT_PORT'"
            echo "export ECO_MQTT_WS_PORT='$STACK_WS_PORT'"
            echo "export ECO_MQTT_URL='mqtt://127.0.0.1:$STACK_MQTT_PORT'"
            echo "export ECO_MQTT_WS_URL='ws://127.0.0.1:$STACK_WS_PORT'"
            # TLS listeners, with a certificate from the stack's own CA
            # (docs/SECURITY.md, "TLS"): point ECO_MQTT_URL at the mqtts one
            # and set ECO_MQTT_CAFILE to use them
            echo "export ECO_MQTTS_PORT='$STACK_MQTTS_PORT'"
            echo "export ECO_MQTTS_URL='mqtts://localhost:$STACK_MQTTS_PORT'"
            echo "export ECO_MQTT_WSS_URL='wss://localhost:$STACK_WSS_PORT'"
            echo "export ECO_MQTT_CAFILE=$(shq "$(mq_tlsdir)/ca.crt")"
            # the web console, served by the websockets listeners (docs/CONSOLE.md)
            echo "export ECO_CONSOLE_DIR=$(shq "$(mq_wwwdir)")"
            echo "export ECO_CONSOLE_URL='http://127.0.0.1:$STACK_WS_PORT/'"
            echo "export ECO_CONSOLE_TLS_URL='https://localhost:$STACK_WSS_PORT/'"
            echo "export ECO_BROKER_AUTH_DIR=$(shq "$(mq_authdir)")"
            echo "export ECO_BROKER_PID_FILE=$(shq "$(mq_pidfile)")"
            for u in "${MQTT_USERS[@]}"; do
                U=${u^^}
                echo "export ECO_MQTT_${U}_USER='$u'"
                echo "export ECO_MQTT_${U}_PASSWORD=$(shq "$(pw_var "mqtt_$u")")"
            done
            echo "export ECO_PG_HOST='127.0.0.1'"
            echo "export ECO_PG_PORT='$STACK_PG_PORT'"
            echo "export ECO_PG_SOCKDIR=$(shq "$STACK_SOCKDIR")"
            echo "export ECO_PG_DB='ecowatch'"
            echo "export ECO_PG_ADMIN_USER='eco_admin'"
            echo "export ECO_PG_ADMIN_PASSWORD=$(shq "$PW_pg_admin")"
            echo "export ECO_PG_ADMIN_DSN='host=127.0.0.1 port=$STACK_PG_PORT dbname=ecowatch user=eco_admin password=$PW_pg_admin'"
            for r in "${PG_ROLES[@]}"; do
                R=${r^^}
                echo "export ECO_PG_${R}_USER='eco_$r'"
                echo "export ECO_PG_${R}_PASSWORD=$(shq "$(pw_var "pg_$r")")"
            done
            echo "export PGBIN=$(shq "$PGBIN")"
        } >"$tmp"
    )
    mv -f "$tmp" "$DIR/env"
}

# ----------------------------------------------------------- postgres ----

pg_running() {
    [ -n "${STACK_PGDATA:-}" ] && [ -f "$STACK_PGDATA/postmaster.pid" ] || return 1
    # pg_ctl refuses to run as root, even for status.
    as_svc "$PGBIN/pg_ctl" -D "$STACK_PGDATA" status >/dev/null 2>&1 9>&-
}

pg_ready() {
    "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$STACK_PG_PORT" -t 1 >/dev/null 2>&1
}

pg_opts() {
    local o="-p $STACK_PG_PORT"
    if [ "$STACK_FAST" = 1 ]; then
        # Test mode only: a crash may lose or corrupt data, which a throwaway
        # cluster does not mind.
        o+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    printf '%s' "$o"
}

# Starts the cluster. With may_move=1 a port taken by someone else is replaced
# by a fresh one (first start, or `up` after a reboot); start-pg keeps it.
pg_start() {
    local may_move=$1 attempt log="$STACK_RUNDIR/pg.log" before
    for attempt in 1 2 3 4 5; do
        before=$(stat -c %s "$log" 2>/dev/null || echo 0)
        if as_svc "$PGBIN/pg_ctl" -D "$STACK_PGDATA" -l "$log" -w -t 60 \
            -o "$(pg_opts)" start >/dev/null 9>&-; then
            return 0
        fi
        if [ "$may_move" = 1 ] && [ "$attempt" -lt 5 ] &&
            tail -c +"$((before + 1))" "$log" | grep -q 'could not bind\|already in use'; then
            STACK_PG_PORT=$(free_ports 1)
            say "postgres port taken, retrying on $STACK_PG_PORT"
            continue
        fi
        tail -c +"$((before + 1))" "$log" | tail -n 20 >&2
        die "PostgreSQL did not start (log: $log)"
    done
}

pg_stop() {
    pg_running || return 0
    if ! as_svc "$PGBIN/pg_ctl" -D "$STACK_PGDATA" -m fast -w -t 30 stop >/dev/null 9>&-; then
        as_svc "$PGBIN/pg_ctl" -D "$STACK_PGDATA" -m immediate -w -t 30 stop >/dev/null 9>&- ||
            die "PostgreSQL did not stop (data: $STACK_PGDATA)"
    fi
}

pg_init() {
    local pwfile="$STACK_RUNDIR/.pwfile"
    local -a initdb_opts=(-D "$STACK_PGDATA" -U eco_admin --pwfile="$pwfile"
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8)
    [ "$STACK_FAST" = 1 ] && initdb_opts+=(--no-sync)
    (umask 077 && printf '%s\n' "$PW_pg_admin" >"$pwfile")
    chown "$SVC_USER:$SVC_GROUP" "$pwfile"
    if ! as_svc "$PGBIN/initdb" "${initdb_opts[@]}" >"$STACK_RUNDIR/initdb.log" 2>&1; then
        rm -f "$pwfile"
        cat "$STACK_RUNDIR/initdb.log" >&2
        die "initdb failed"
    fi
    rm -f "$pwfile"
    # Settings every mode shares; the port and the test-mode switches go on the
    # command line (pg_opts) so a restart reuses what the state file says.
    cat >>"$STACK_PGDATA/postgresql.conf" <<EOF

# ---- deploy/stack.sh ----
listen_addresses = '127.0.0.1'
unix_socket_directories = '$STACK_SOCKDIR'
unix_socket_permissions = 0700
shared_buffers = 256MB
max_connections = 200
max_wal_size = 2GB
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_timezone = 'UTC'
timezone = 'UTC'
EOF
}

# Database ecowatch and one login role per service, each with its password.
# Tables, grants and PostGIS come from `ecoctl db migrate`.
pg_bootstrap() {
    local r
    local -a vars=()
    for r in "${PG_ROLES[@]}"; do
        vars+=(-v "pw_$r=$(pw_var "pg_$r")")
    done
    {
        echo "SELECT 'CREATE DATABASE ecowatch OWNER eco_admin'"
        echo "  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'ecowatch') \\gexec"
        for r in "${PG_ROLES[@]}"; do
            echo "SELECT format(CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = 'eco_$r')"
            echo "  THEN 'ALTER ROLE %I LOGIN PASSWORD %L' ELSE 'CREATE ROLE %I LOGIN PASSWORD %L' END,"
            echo "  'eco_$r', :'pw_$r') \\gexec"
        done
    } | "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "${vars[@]}" -h "$STACK_SOCKDIR" \
        -p "$STACK_PG_PORT" -U eco_admin -d postgres >/dev/null ||
        die "could not create database ecowatch and the service roles"
}

# ---------------------------------------------------------- mosquitto ----

mq_pidfile() { printf '%s' "$STACK_RUNDIR/mosquitto/mosquitto.pid"; }

mq_pid() {
    local f pid
    f=$(mq_pidfile)
    [ -f "$f" ] || return 1
    pid=$(cat "$f" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = mosquitto ] || return 1
    printf '%s' "$pid"
}

mq_running() { mq_pid >/dev/null; }

mq_probe() {
    # shellcheck disable=SC2154 # PW_mqtt_* are set by printf -v or the state file
    mosquitto_pub -h 127.0.0.1 -p "$STACK_MQTT_PORT" -V mqttv5 -u admin -P "$PW_mqtt_admin" \
        -i "stack-probe-$$" -q 1 -t ecowatch/stack/probe -n >/dev/null 2>&1
}

# The broker's accounts live in DIR/broker (ECO_BROKER_AUTH_DIR):
#   services.passwd, services.acl  the service accounts (below) and their
#                                  rights (deploy/mosquitto/acl)
#   passwd, acl                    what mosquitto reads: the services plus the
#                                  devices and people `ecoctl` renders from the
#                                  database (docs/SECURITY.md)
mq_authdir() { printf '%s' "$STACK_RUNDIR/broker"; }
mq_tlsdir() { printf '%s' "$STACK_RUNDIR/tls"; }
# The web console (docs/CONSOLE.md): files the websockets listeners serve
# over HTTP (mosquitto's http_dir), so that the page and its MQTT connection
# share one origin. Install it with `ecoctl`-free copying: the quick start
# builds services/console into it.
mq_wwwdir() { printf '%s' "$STACK_RUNDIR/www"; }

# The stack's TLS material, made once: a local CA (ca.crt, ca.key: keep the
# key to yourself) and the broker's certificate for localhost and 127.0.0.1,
# signed by it. For development and tests; a production broker uses real
# certificates (docs/SECURITY.md, "TLS").
mq_tls_files() {
    local td
    td=$(mq_tlsdir)
    [ -s "$td/server.crt" ] && [ -s "$td/server.key" ] && [ -s "$td/ca.crt" ] && return 0
    command -v openssl >/dev/null || die "openssl is missing (deploy/install-deps.sh installs it)"
    rm -rf "$td"
    mkdir -p "$td"
    (
        umask 077
        cd "$td"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
            -subj "/CN=ecowatch stack CA" -addext basicConstraints=critical,CA:TRUE \
            -addext keyUsage=critical,keyCertSign,cRLSign -keyout ca.key -out ca.crt 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
        printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" \
            "extendedKeyUsage=serverAuth" "basicConstraints=CA:FALSE" >server.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
            -extfile server.ext -out server.crt 2>/dev/null
        rm -f server.csr server.ext ca.srl
    ) || die "could not make the stack's TLS certificates in $td"
    chmod 755 "$td"
    chmod 644 "$td/ca.crt" "$td/server.crt"
    chown "$SVC_USER:$SVC_GROUP" "$td/server.key"
}

# Written on every broker start from the passwords in the state file, so an
# edited deploy/mosquitto/acl reaches the stack at its next start; passwd and
# acl are created from them when missing and otherwise left as ecoctl last
# rendered them (run `ecoctl broker sync` to merge a changed services.acl).
mq_write_files() {
    local ad u
    ad=$(mq_authdir)
    mkdir -p "$ad"
    chmod 750 "$ad"
    chown "$SVC_USER:$SVC_GROUP" "$ad"
    (
        umask 077
        for u in "${MQTT_USERS[@]}"; do
            echo "$u:$(pw_var "mqtt_$u")"
        done >"$ad/.services.passwd.tmp"
    )
    mosquitto_passwd -U "$ad/.services.passwd.tmp" || die "mosquitto_passwd failed"
    cp "$ACL_SRC" "$ad/.services.acl.tmp"
    # 640 and the broker's group: ecoctl keeps a file's mode and group when it
    # renders, so the broker can read what an operator (or root) wrote.
    chmod 640 "$ad/.services.passwd.tmp" "$ad/.services.acl.tmp"
    chown "$SVC_USER:$SVC_GROUP" "$ad/.services.passwd.tmp" "$ad/.services.acl.tmp"
    mv -f "$ad/.services.passwd.tmp" "$ad/services.passwd"
    mv -f "$ad/.services.acl.tmp" "$ad/services.acl"
    for u in passwd acl; do
        if [ ! -f "$ad/$u" ]; then
            cp -p "$ad/services.$u" "$ad/$u"
        fi
    done
    # stacks made before DIR/broker existed
    rm -f "$STACK_RUNDIR/mosquitto.passwd" "$STACK_RUNDIR/mosquitto.acl"
}

mq_write_conf() {
    local rd=$STACK_RUNDIR www
    www=$(mq_wwwdir)
    mkdir -p "$www"
    chmod 755 "$www"
    [ -e "$www/index.html" ] || printf '%s\n' '<!DOCTYPE html><title>ecowatch</title>' \
        '<p>The web console is not installed here: deploy/quickstart.sh builds it into this' \
        'directory (docs/CONSOLE.md).</p>' >"$www/index.html"
    chmod 644 "$www/index.html"
    cat >"$rd/mosquitto.conf" <<EOF
# written by deploy/stack.sh on every broker start; see docs/DEPLOY.md
per_listener_settings false
user $SVC_USER
pid_file $rd/mosquitto/mosquitto.pid

allow_anonymous false
# generated: the services (deploy/mosquitto/acl) plus the devices and people
# of the database, rendered by ecoctl (ECO_BROKER_AUTH_DIR) and reloaded with
# SIGHUP (ECO_BROKER_PID_FILE); docs/SECURITY.md
password_file $rd/broker/passwd
acl_file $rd/broker/acl

persistence true
persistence_location $rd/mosquitto/
autosave_interval 10
persistent_client_expiration 7d

# Queues: a QoS 1 message above a client's limit is dropped silently (the
# publisher still gets its PUBACK). The default of 1000 lost 4-7 % of a burst
# to a slow subscriber, so the limit is set far above any backlog we expect:
# 2 M messages per client, about 1.4 GB of broker memory at ~680 bytes each.
max_queued_messages 2000000
max_queued_bytes 0
# In-flight window per client, and the Receive Maximum sent to MQTT 5 clients
# (the default of 20 held a deep-window publisher to ~800 msg/s).
max_inflight_messages 1000
max_packet_size 1048576
set_tcp_nodelay true

log_dest file $rd/mosquitto.log
log_type error
log_type warning
log_type notice
log_type information
log_timestamp_format %Y-%m-%dT%H:%M:%S
connection_messages true

listener $STACK_MQTT_PORT 127.0.0.1
protocol mqtt

# Websockets (no TLS): loopback only. mosquitto 2.0.11 hands a websockets
# listener's address to libwebsockets, which binds every address for an IP
# but takes an interface name: "lo" (docs/DEPLOY.md).
listener $STACK_WS_PORT lo
protocol websockets
http_dir $(mq_wwwdir)

# TLS (docs/SECURITY.md, "TLS"): the same accounts over mqtts and wss, with
# the stack's own CA ($(mq_tlsdir)/ca.crt); plain MQTT is refused here
listener $STACK_MQTTS_PORT 127.0.0.1
protocol mqtt
cafile $(mq_tlsdir)/ca.crt
certfile $(mq_tlsdir)/server.crt
keyfile $(mq_tlsdir)/server.key
tls_version tlsv1.2

listener $STACK_WSS_PORT lo
protocol websockets
http_dir $(mq_wwwdir)
cafile $(mq_tlsdir)/ca.crt
certfile $(mq_tlsdir)/server.crt
keyfile $(mq_tlsdir)/server.key
tls_version tlsv1.2
EOF
}

mq_start() {
    local may_move=$1 attempt i log="$STACK_RUNDIR/mosquitto.log" before
    for attempt in 1 2 3 4 5; do
        mq_write_conf
        rm -f "$(mq_pidfile)"
        before=$(stat -c %s "$log" 2>/dev/null || echo 0)
        as_svc mosquitto -c "$STACK_RUNDIR/mosquitto.conf" -d 9>&- ||
            die "mosquitto refused its configuration (log: $log)"
        for i in $(seq 100); do
            if mq_running && mq_probe; then
                return 0
            fi
            if [ "$i" -gt 3 ] && ! mq_running; then
                break
            fi
            sleep 0.05
        done
        if mq_running; then
            die "mosquitto runs but refuses the admin login (log: $log)"
        fi
        if [ "$may_move" = 1 ] && [ "$attempt" -lt 5 ] &&
            tail -c +"$((before + 1))" "$log" | grep -q 'already in use'; then
            read -r STACK_MQTT_PORT STACK_WS_PORT STACK_MQTTS_PORT STACK_WSS_PORT \
                < <(free_ports 4)
            say "mosquitto port taken, retrying on $STACK_MQTT_PORT/$STACK_WS_PORT" \
                "(TLS $STACK_MQTTS_PORT/$STACK_WSS_PORT)"
            continue
        fi
        tail -c +"$((before + 1))" "$log" | tail -n 20 >&2
        die "mosquitto did not start (log: $log)"
    done
}

mq_stop() {
    local pid i
    pid=$(mq_pid) || return 0
    # SIGTERM: mosquitto writes its persistence file, then exits.
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 200); do
        [ -d "/proc/$pid" ] || return 0
        sleep 0.05
    done
    say "mosquitto $pid ignored SIGTERM for 10 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    for i in $(seq 40); do
        [ -d "/proc/$pid" ] || return 0
        sleep 0.05
    done
    die "mosquitto $pid does not die"
}

# ----------------------------------------------------------- commands ----

# Decides where the server files live and creates the directories.
layout() {
    if [ "$(id -u)" -eq 0 ] && ! as_svc test -x "$DIR" 2>/dev/null; then
        STACK_RUNDIR=$(mktemp -d /tmp/ecowatch-stack.XXXXXX)
        say "$DIR is not reachable by $SVC_USER; server files are in $STACK_RUNDIR"
    else
        STACK_RUNDIR=$DIR
    fi
    STACK_PGDATA=$STACK_RUNDIR/pgdata
    STACK_SOCKDIR=$STACK_RUNDIR/run
    if [ "${#STACK_SOCKDIR}" -gt "$SOCK_MAX" ]; then
        STACK_SOCKDIR=$(mktemp -d /tmp/ecowatch-sock.XXXXXX)
    fi
    mkdir -p "$STACK_RUNDIR/mosquitto" "$STACK_SOCKDIR" "$STACK_PGDATA"
    chmod 700 "$STACK_RUNDIR/mosquitto" "$STACK_SOCKDIR" "$STACK_PGDATA"
    touch "$STACK_RUNDIR/pg.log" "$STACK_RUNDIR/mosquitto.log"
    chown "$SVC_USER:$SVC_GROUP" "$STACK_RUNDIR/mosquitto" "$STACK_SOCKDIR" "$STACK_PGDATA" \
        "$STACK_RUNDIR/pg.log" "$STACK_RUNDIR/mosquitto.log"
    if [ "$STACK_RUNDIR" != "$DIR" ]; then
        chown "$SVC_USER:$SVC_GROUP" "$STACK_RUNDIR"
        ln -sfn "$STACK_RUNDIR/pg.log" "$DIR/pg.log"
        ln -sfn "$STACK_RUNDIR/mosquitto.log" "$DIR/mosquitto.log"
        ln -sfn "$STACK_RUNDIR/mosquitto.conf" "$DIR/mosquitto.conf"
    fi
}

# Undo a half-made stack so the next `up` starts clean.
abort_init() {
    local rc=$?
    [ "$rc" -eq 0 ] && return 0
    trap - EXIT
    say "up failed; removing the half-initialised stack"
    mq_stop || true
    pg_stop || true
    rm -rf "${STACK_PGDATA:?}" "$STACK_RUNDIR/mosquitto" "$DIR/env" "$STATE"
    [ "$STACK_RUNDIR" = "$DIR" ] || rm -rf "$STACK_RUNDIR"
    case "$STACK_SOCKDIR" in "$STACK_RUNDIR"/*) ;; *) rm -rf "$STACK_SOCKDIR" ;; esac
    exit "$rc"
}

cmd_up() {
    local u r fresh=0 t0=$SECONDS
    mkdir -p "$DIR"
    if load_state && [ "$STACK_READY" = 1 ]; then
        if pg_running && mq_running; then
            [ -f "$DIR/env" ] || write_env
            say "already running in $DIR"
            return 0
        fi
        STACK_USER=${STACK_USER:-$SVC_USER}
    else
        if [ -e "$STATE" ]; then
            # A previous `up` died half-way: start over.
            mq_stop || true
            pg_stop || true
            rm -rf "${STACK_PGDATA:?}" "$STACK_RUNDIR/mosquitto" "$STATE"
        fi
        fresh=1
        STACK_FAST=${ECO_STACK_FAST:-0}
        STACK_USER=$SVC_USER
        STACK_READY=0
        layout
        read -r STACK_MQTT_PORT STACK_WS_PORT STACK_PG_PORT STACK_MQTTS_PORT STACK_WSS_PORT \
            < <(free_ports 5)
        PW_pg_admin=$(rand_pw)
        for u in "${MQTT_USERS[@]}"; do
            printf -v "PW_mqtt_$u" '%s' "$(rand_pw)"
        done
        for r in "${PG_ROLES[@]}"; do
            printf -v "PW_pg_$r" '%s' "$(rand_pw)"
        done
        save_state
        trap abort_init EXIT
        pg_init
    fi
    [ "$STACK_USER" = "$SVC_USER" ] ||
        die "this stack belongs to $STACK_USER; run stack.sh as root or as $STACK_USER"

    if ! pg_running; then
        pg_start 1
    fi
    if [ "$fresh" = 1 ]; then
        pg_bootstrap
    fi
    if ! mq_running; then
        mq_write_files
        mq_tls_files
        mq_start 1
    fi
    STACK_READY=1
    save_state
    write_env
    trap - EXIT
    say "up in $((SECONDS - t0)) s: mqtt 127.0.0.1:$STACK_MQTT_PORT (ws $STACK_WS_PORT)," \
        "postgres 127.0.0.1:$STACK_PG_PORT; env in $DIR/env"
}

cmd_down() {
    load_state || return 0
    mq_stop
    pg_stop
    say "stopped ($DIR)"
}

cmd_status() {
    local rc=0 pid
    if ! load_state; then
        echo "no stack in $DIR"
        return 3
    fi
    if pid=$(mq_pid); then
        echo "mosquitto: running (pid $pid), mqtt 127.0.0.1:$STACK_MQTT_PORT, ws 127.0.0.1:$STACK_WS_PORT"
    else
        echo "mosquitto: stopped"
        rc=3
    fi
    if pg_running && pg_ready; then
        echo "postgres: running, 127.0.0.1:$STACK_PG_PORT, data $STACK_PGDATA" \
            "($([ "$STACK_FAST" = 1 ] && echo "test mode, fsync off" || echo durable))"
    else
        echo "postgres: stopped"
        rc=3
    fi
    return "$rc"
}

need_stack() {
    if ! load_state || [ "$STACK_READY" != 1 ]; then
        die "no stack in $DIR (run: stack.sh up $DIR)"
    fi
    [ "$STACK_USER" = "$SVC_USER" ] || die "this stack belongs to $STACK_USER"
}

cmd_restart_mqtt() {
    need_stack
    mq_stop
    mq_write_files
    mq_tls_files
    mq_start 0
    say "mosquitto restarted on 127.0.0.1:$STACK_MQTT_PORT"
}

cmd_stop_pg() {
    need_stack
    pg_stop
    say "postgres stopped"
}

cmd_start_pg() {
    need_stack
    pg_running || pg_start 0
    say "postgres running on 127.0.0.1:$STACK_PG_PORT"
}

cmd_purge() {
    if load_state; then
        mq_stop
        pg_stop
        if [ "$STACK_RUNDIR" != "$DIR" ]; then
            rm -rf "$STACK_RUNDIR"
        fi
        case "$STACK_SOCKDIR" in
        "$STACK_RUNDIR"/*) ;;
        *) rm -rf "$STACK_SOCKDIR" ;;
        esac
    fi
    rm -rf "$DIR"
    say "purged $DIR"
}

main() {
    [ $# -eq 2 ] || usage
    local cmd=$1
    case "$2" in
    /*) DIR=$2 ;;
    *) DIR=$PWD/$2 ;;
    esac
    DIR=${DIR%/}
    STATE=$DIR/stack.state
    cd /
    # Servers started from here must not inherit the caller's descriptors
    # (a test's lock file, a pipe ctest waits on): close everything above 2.
    local fd
    for fd in "/proc/$$/fd"/*; do
        fd=${fd##*/}
        if [ "$fd" -gt 2 ] 2>/dev/null; then
            eval "exec $fd>&-"
        fi
    done
    umask 022
    ensure_svc_user
    case "$cmd" in
    up) mkdir -p "$DIR" ;;
    status) ;;
    *) [ -d "$DIR" ] || return 0 ;;
    esac
    # One stack.sh at a time per DIR. Servers are started with fd 9 closed so
    # they never hold this lock.
    if [ "$cmd" != status ]; then
        exec 9>>"$DIR/.lock"
        flock -w 120 9 || die "another stack.sh holds $DIR"
    fi
    case "$cmd" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    restart-mqtt) cmd_restart_mqtt ;;
    stop-pg) cmd_stop_pg ;;
    start-pg) cmd_start_pg ;;
    purge) cmd_purge ;;
    *) usage ;;
    esac
}

main "$@"
