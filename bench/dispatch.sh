#!/usr/bin/env bash
# bench/dispatch.sh: eco-dispatch's figures (docs/PERFORMANCE.md, "eco-dispatch")
# on a private stack with the sample registry:
#   rpc        requests answered: wo.create (routing, two events each) and
#              wo.list, N each, WINDOW in flight, as one dispatcher
#   complaints COMPLAINTS complaints at distinct places (each opens an order)
#              published at once on eco/v1/complaint/new: complaints per
#              second into routed orders, and the time from the burst's
#              publish to each order's first event, p50/p99
#   alarms     ALARMS major limit alarms at distinct sites' stations inserted
#              and announced on eco/v1/alarm/...: seconds until every one has
#              its order (and so its events published)
#
#   bench/dispatch.sh [N=2000] [WINDOW=50] [ALARMS=500] [COMPLAINTS=500]
# Run from the repository root after building (ECO_BUILD_DIR, default build/).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
source bench/lib.sh

N=${1:-2000}
W=${2:-50}
A=${3:-500}
C=${4:-500}
bench_setup dispatch services/ecoctl/ecoctl services/dispatch/eco-dispatch bench/bench_dispatch_rpc
ECOCTL=$BUILD/services/ecoctl/ecoctl
bench_stack_up
export ECO_PG_DSN=$ADMIN
"$ECOCTL" registry load deploy/sample >/dev/null 2>&1
echo "bench-pw" | "$ECOCTL" user add bench-disp --role dispatcher --password-stdin >/dev/null
ECO_PG_DSN="host=127.0.0.1 port=$ECO_PG_PORT dbname=ecowatch user=eco_dispatch password=$ECO_PG_DISPATCH_PASSWORD" \
    ECO_MQTT_USER=dispatch ECO_MQTT_PASSWORD=$ECO_MQTT_DISPATCH_PASSWORD ECO_DISPATCH_INSTANCE=bench \
    ECO_LOG_LEVEL=warn "$BUILD/services/dispatch/eco-dispatch" 2>"$DIR/dispatch.log" &
ingest_pid=$! # bench__cleanup stops it
sleep 2

export ECO_MQTT_USER=bench-disp ECO_MQTT_PASSWORD=bench-pw
"$BUILD/bench/bench_dispatch_rpc" wo.create \
    '{"category":"air","title":"bench %d","lat":30.0,"lon":122.1}' "$N" "$W"
"$BUILD/bench/bench_dispatch_rpc" wo.list '{"limit":20,"x":%d}' "$N" "$W"
echo "orders=$(q "SELECT count(*) FROM wo.work_order") events=$(q "SELECT count(*) FROM wo.event")"

# complaints: far apart (no two join one order), one burst
mosquitto_sub -h 127.0.0.1 -p "$ECO_MQTT_PORT" -V mqttv5 -u admin -P "$ECO_MQTT_ADMIN_PASSWORD" \
    -q 1 -t 'eco/v1/wo/#' -F '%U %p' >"$DIR/wo.events" 2>/dev/null &
subpid=$!
sleep 1
before=$(q "SELECT count(*) FROM wo.work_order WHERE source = 'complaint'")
for i in $(seq 1 "$C"); do
    printf '{"ts":"%s","category":"noise","text":"bench complaint %d","lat":%s,"lon":%s}\n' \
        "$(date +%FT%T%:z)" "$i" "$(awk -v i="$i" 'BEGIN { printf "%.4f", 29.9 + (i % 40) * 0.01 }')" \
        "$(awk -v i="$i" 'BEGIN { printf "%.4f", 121.9 + int(i / 40) * 0.02 }')"
done >"$DIR/complaints"
t0=$(date +%s%N)
mosquitto_pub -h 127.0.0.1 -p "$ECO_MQTT_PORT" -V mqttv5 -u sim -P "$ECO_MQTT_SIM_PASSWORD" \
    -q 1 -t eco/v1/complaint/new -l <"$DIR/complaints"
until [ "$(grep -c '"action": "create".*"source": "complaint"' "$DIR/wo.events")" -ge "$((C - before))" ]; do
    sleep 0.05
done
kill "$subpid" 2>/dev/null || true
grep '"action": "create".*"source": "complaint"' "$DIR/wo.events" | awk -v t0="$t0" '
    { split($1, a, "."); ms = (a[1] * 1e9 + a[2] - t0) / 1e6; print ms }' | sort -n >"$DIR/lat"
n=$(wc -l <"$DIR/lat")
echo "complaints=$n seconds=$(awk 'END { printf "%.3f", $1 / 1000 }' "$DIR/lat")" \
    "per_s=$(awk -v n="$n" 'END { printf "%.0f", n / ($1 / 1000) }' "$DIR/lat")" \
    "to_event_ms_p50=$(awk -v n="$n" 'NR == int(n * 0.5) + 1 { printf "%.0f", $1 }' "$DIR/lat")" \
    "to_event_ms_p99=$(awk -v n="$n" 'NR == int(n * 0.99) + 1 { printf "%.0f", $1 }' "$DIR/lat")" \
    "orders=$(q "SELECT count(*) FROM wo.work_order WHERE source = 'complaint'")"

# alarms: one per (site, parameter) of the air stations, until A
q "CREATE TEMP TABLE x AS SELECT 1" >/dev/null
ids=$(q "INSERT INTO alarm.alarm (site_id, param_id, period, rule, severity, opened_at, last_at, value, limit_value)
         SELECT s.id, p.id, 'h', 'limit', 'major', now(), now(), 200, 75
           FROM core.site s CROSS JOIN core.param p
          WHERE s.kind IN ('air', 'water', 'sea') ORDER BY s.id, p.id LIMIT $A RETURNING id")
n=$(wc -l <<<"$ids")
t0=$(date +%s%N)
while read -r id; do printf '{"id":%s}\n' "$id"; done <<<"$ids" |
    mosquitto_pub -h 127.0.0.1 -p "$ECO_MQTT_PORT" -V mqttv5 -u admin -P "$ECO_MQTT_ADMIN_PASSWORD" \
        -q 1 -t eco/v1/alarm/bench/pm25 -l
while [ "$(q "SELECT count(DISTINCT alarm) FROM wo.order_alarm")" -lt "$n" ]; do sleep 0.05; done
t1=$(date +%s%N)
echo "alarms=$n seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')" \
    "per_s=$(awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN { printf "%.0f", n / ((b - a) / 1e9) }')" \
    "orders=$(q "SELECT count(*) FROM wo.work_order WHERE source = 'alarm'")" \
    "outbox_left=$(q "SELECT count(*) FROM wo.outbox")"
