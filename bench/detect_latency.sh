#!/usr/bin/env bash
# bench/detect_latency.sh: from a reading's publish to its alarm's publish,
# live through eco-ingest and eco-detect, at RATE readings/s.
#
#   bench/detect_latency.sh [RATE=10000] [SECONDS=20] [DEVICES=100] [together|independent]
#
# The sample registry plus DEVICES air stations (lat0..): bench_detect_latency
# publishes hourly readings (5 values a message), every tenth over the SO2
# 1-hour limit (all devices in the same hour, or each in its own), and times publish -> obs (ingest's share: its batching) and
# publish -> alarm; the difference is detect's share. ECO_DETECT_* settings
# (ECO_DETECT_APPLY_BATCH, ECO_DETECT_APPLY_CONNS) pass through to eco-detect;
# ECO_BENCH_DETECT=PATH runs another eco-detect binary (to compare builds in
# alternating runs); ECO_BENCH_LAT_DUMP=FILE writes each raise's latency.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RATE=${1:-10000}
SECS=${2:-20}
D=${3:-100}
MODE=${4:-together}
case "$MODE" in together) mode_arg=() ;; independent) mode_arg=(--independent) ;; *) echo "mode: together or independent" >&2; exit 2 ;; esac
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_setup detect-latency services/ingest/eco-ingest services/detect/eco-detect \
    bench/bench_detect_latency services/ecoctl/ecoctl
bench_stack_up
ECO_PG_DSN=$ADMIN "$BUILD/services/ecoctl/ecoctl" registry load deploy/sample >/dev/null
q "INSERT INTO core.site (code, name, kind, region, geom)
     SELECT 'lat' || g, 'latency ' || g, 'air', (SELECT code FROM core.region LIMIT 1),
            ST_SetSRID(ST_MakePoint(122.0 + (g % 10) * 0.02, 30.0 + (g / 10) * 0.02), 4326)
     FROM generate_series(0, $D - 1) g;
   INSERT INTO core.device (code, site, protocol)
     SELECT 'lat' || g, 'lat' || g, 'mqtt' FROM generate_series(0, $D - 1) g;" >/dev/null
pg() { printf 'host=127.0.0.1 port=%s dbname=ecowatch user=eco_%s password=%s' "$ECO_PG_PORT" "$1" "$2"; }
ECO_PG_DSN=$(pg ingest "$ECO_PG_INGEST_PASSWORD") ECO_MQTT_URL=$ECO_MQTT_URL \
ECO_MQTT_USER=$ECO_MQTT_INGEST_USER ECO_MQTT_PASSWORD=$ECO_MQTT_INGEST_PASSWORD \
ECO_INGEST_INSTANCE=bench ECO_INGEST_SHARE_GROUP='' ECO_INGEST_SPOOL_DIR="$DIR/spool" \
ECO_INGEST_HJ212_ADDR='' ECO_LOG_LEVEL=warn "$BUILD/services/ingest/eco-ingest" 2>>"$DIR/ingest.log" &
ingest_pid=$!
ECO_PG_DSN=$(pg detect "$ECO_PG_DETECT_PASSWORD") ECO_MQTT_URL=$ECO_MQTT_URL \
ECO_MQTT_USER=$ECO_MQTT_DETECT_USER ECO_MQTT_PASSWORD=$ECO_MQTT_DETECT_PASSWORD \
ECO_DETECT_INSTANCE=bench ECO_LOG_LEVEL=warn "${ECO_BENCH_DETECT:-$BUILD/services/detect/eco-detect}" \
    2>>"$DIR/detect.log" &
detect_pid=$!
trap 'kill $detect_pid 2>/dev/null; wait $detect_pid 2>/dev/null; bench__cleanup' EXIT
sleep 3
ECO_MQTT_URL=$ECO_MQTT_URL ECO_MQTT_USER=$ECO_MQTT_ADMIN_USER ECO_MQTT_PASSWORD=$ECO_MQTT_ADMIN_PASSWORD \
    "$BUILD/bench/bench_detect_latency" --rate "$RATE" --seconds "$SECS" --devices "$D" "${mode_arg[@]}"
read -r ut st < <(awk '{print $14, $15}' "/proc/$detect_pid/stat")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$detect_pid/status")
printf 'eco-detect: cpu %.2f s, peak RSS %d MB; alarms raised %s\n' \
    "$(echo "($ut + $st) / $(getconf CLK_TCK)" | bc -l)" "$((hwm / 1024))" \
    "$(q "SELECT count(*) FROM alarm.alarm WHERE rule = 'limit'")"
