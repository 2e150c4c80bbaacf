#!/usr/bin/env bash
# bench/broker_accounts.sh: the figures behind docs/SECURITY.md ("Why a
# password file") and docs/PERFORMANCE.md ("Broker accounts"), on a private
# stack (deploy/stack.sh).
#
#   bench/broker_accounts.sh [DEVICES] [CONNECTS]     (defaults 10000, 1000)
#
# Prints, one logfmt line each:
#   mosquitto_passwd  `mosquitto_passwd -U` over DEVICES user:password lines
#   hash              the same hashes made by ecoctl's code (mqpw, libcrypto)
#   registry_load     `ecoctl registry load` of the sample plus DEVICES new
#                     MQTT devices, end to end; registry_load_again: the
#                     same files again (verifies and keeps every hash)
#   sync              `ecoctl broker sync` with DEVICES devices in the
#                     database: render both files, rename, SIGHUP
#   reload_applied    from the SIGHUP until the last device's first CONNECT
#                     is accepted (the broker has re-read the files)
#   connect           CONNECTS devices connecting at once (100 CONNECTs in
#                     flight, one process): accepted, CONNACK latency
#   disable           one device set inactive + broker sync, until its
#                     connected client is dropped
# Run from the repository root after building (ECO_BUILD_DIR, default build/).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
source bench/lib.sh

N=${1:-10000}
C=${2:-1000}
[ "$C" -le "$N" ] || { echo "CONNECTS must not exceed DEVICES" >&2; exit 2; }
# 1000 client sockets in this process, as many in the broker
ulimit -n 8192 2>/dev/null || ulimit -n 4096
bench_setup broker_accounts services/ecoctl/ecoctl bench/bench_broker_accounts
ECOCTL=$BUILD/services/ecoctl/ecoctl
B=$BUILD/bench/bench_broker_accounts
bench_stack_up
export ECO_PG_DSN=$ADMIN

ms() {
    local t
    t=$(date +%s%N)
    echo $((t / 1000000))
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1000 }'; }
# SYNs the kernel dropped because a listen queue was full (all listeners)
overflows() { nstat -az TcpExtListenOverflows 2>/dev/null | awk '/ListenOverflows/ { print $2 }'; }

# ---- the lead's figure: mosquitto_passwd over N lines
for i in $(seq 0 $((N - 1))); do printf 'dev-%05d:pw-%05d\n' "$i" "$i"; done >"$DIR/plain"
t0=$(ms)
mosquitto_passwd -U "$DIR/plain"
echo "mosquitto_passwd lines=$N seconds=$(secs "$t0" "$(ms)")"
rm -f "$DIR/plain"

# ---- the same with ecoctl's code, straight into core.device
"$B" hash "$N" >"$DIR/hashes" 2>"$DIR/hash.err"
echo "hash devices=$N $(cat "$DIR/hash.err")"
# ---- the user's path: `ecoctl registry load` with N new MQTT devices, end
# to end (read, check, upsert, hash, render, reload)
reg=$DIR/registry
cp -r deploy/sample "$reg"
for i in $(seq 0 $((N - 1))); do printf 'dev-%05d,air-dh01,mqtt,pw-%05d,22\n' "$i" "$i"; done \
    >>"$reg/devices.csv"
t0=$(ms)
"$ECOCTL" registry load "$reg" >"$DIR/load.out" 2>&1 || { cat "$DIR/load.out" >&2; exit 1; }
echo "registry_load devices=$N seconds=$(secs "$t0" "$(ms)")"
t0=$(ms)
"$ECOCTL" registry load "$reg" >"$DIR/load2.out" 2>&1 || { cat "$DIR/load2.out" >&2; exit 1; }
echo "registry_load_again devices=$N seconds=$(secs "$t0" "$(ms)")"
echo "devices_in_db=$(q "SELECT count(*) FROM core.device WHERE broker_hash IS NOT NULL")"

# ---- render + reload
log=$ECO_STACK_DIR/mosquitto.log
before=$(grep -c "Reloading config" "$log" || true)
t0=$(ms)
"$ECOCTL" broker sync >"$DIR/sync.out"
t1=$(ms)
echo "sync devices=$N seconds=$(secs "$t0" "$t1")" \
    "passwd_bytes=$(stat -c %s "$ECO_BROKER_AUTH_DIR/passwd")" \
    "acl_bytes=$(stat -c %s "$ECO_BROKER_AUTH_DIR/acl")"
last=$(printf 'dev-%05d' $((N - 1)))
lastpw=$(printf 'pw-%05d' $((N - 1)))
until mosquitto_pub -h 127.0.0.1 -p "$ECO_MQTT_PORT" -V mqttv5 -u "$last" -P "$lastpw" \
    -q 1 -t "eco/v1/in/$last" -m x >/dev/null 2>&1; do
    [ $(($(ms) - t0)) -lt 60000 ] || { echo "the broker never accepted $last" >&2; exit 1; }
    sleep 0.01
done
echo "reload_applied seconds=$(secs "$t1" "$(ms)")" \
    "reloads_logged=$(($(grep -c "Reloading config" "$log") - before))"

# ---- C devices connect at once
echo "connect $("$B" connect 127.0.0.1 "$ECO_MQTT_PORT" "$C" --window 100)"
o0=$(overflows)
echo "connect_all_at_once $("$B" connect 127.0.0.1 "$ECO_MQTT_PORT" "$C" --window "$C")" \
    "listen_overflows=$(($(overflows) - o0))"

# ---- disabling a connected device
mosquitto_sub -h 127.0.0.1 -p "$ECO_MQTT_PORT" -V mqttv5 -u dev-00000 -P pw-00000 \
    -i bench-dev0-conn -t eco/v1/in/none >/dev/null 2>&1 &
subpid=$!
until grep -q "as bench-dev0-conn " "$log"; do sleep 0.05; done
q "UPDATE core.device SET active = false WHERE code = 'dev-00000'"
t0=$(ms)
"$ECOCTL" broker sync >/dev/null
until grep -q "Client bench-dev0-conn disconnected" "$log"; do
    [ $(($(ms) - t0)) -lt 30000 ] || { echo "dev-00000 was not disconnected" >&2; exit 1; }
    sleep 0.01
done
echo "disable devices=$N seconds_to_disconnect=$(secs "$t0" "$(ms)")"
kill "$subpid" 2>/dev/null || true
wait "$subpid" 2>/dev/null || true
