#!/usr/bin/env bash
# bench/sim.sh: realistic load end to end. ecosim backfills DAYS simulated
# days of the sample network (deploy/sample: stations, outlets, vehicles,
# with incidents) as fast as the system takes it, over MQTT into eco-ingest
# and PostgreSQL. Prints messages and readings per second until everything
# is stored, and ingest's CPU time and peak RSS.
#
#   bench/sim.sh [DAYS=7]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DAYS=${1:-7}
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_setup sim services/ingest/eco-ingest services/ecosim/ecosim services/ecoctl/ecoctl
bench_stack_up
ECO_PG_DSN=$ADMIN "$BUILD/services/ecoctl/ecoctl" registry load deploy/sample >/dev/null
ECO_PG_DSN="host=127.0.0.1 port=$ECO_PG_PORT dbname=ecowatch user=eco_ingest password=$ECO_PG_INGEST_PASSWORD" \
ECO_MQTT_URL=$ECO_MQTT_URL ECO_MQTT_USER=$ECO_MQTT_INGEST_USER ECO_MQTT_PASSWORD=$ECO_MQTT_INGEST_PASSWORD \
ECO_INGEST_INSTANCE=bench ECO_INGEST_SPOOL_DIR="$DIR/spool" ECO_INGEST_HJ212_ADDR='' ECO_LOG_LEVEL=warn \
    "$BUILD/services/ingest/eco-ingest" 2>>"$DIR/ingest.log" &
ingest_pid=$!
sleep 1
from=$(TZ=Asia/Shanghai date -d "$DAYS days ago" +%F)
to=$(TZ=Asia/Shanghai date +%F)
t0=$(date +%s.%N)
ECO_MQTT_USER=$ECO_MQTT_SIM_USER ECO_MQTT_PASSWORD=$ECO_MQTT_SIM_PASSWORD \
    "$BUILD/services/ecosim/ecosim" --speed 0 --from "$from" --to "$to" --incidents 6 \
    --labels "$DIR/labels.jsonl" >"$DIR/sim.out" 2>"$DIR/sim.log"
bench_wait_ingest "$DIR/sim.log" bench
msgs=$BENCH_MSGS
t1=$(date +%s.%N)
rows=$(q "SELECT count(*) FROM obs.reading")
read -r ut st < <(awk '{print $14, $15}' "/proc/$ingest_pid/stat")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$ingest_pid/status")
secs=$(echo "$t1 - $t0" | bc -l)
printf 'simulated days=%d messages=%s readings=%d dead_letters=%s incidents=%d\n' "$DAYS" \
    "${msgs:-?}" "$rows" "$(q 'SELECT count(*) FROM obs.deadletter')" "$(wc -l <"$DIR/labels.jsonl")"
printf 'end to end: %.1f s  %.0f readings/s  ingest cpu %.2f s  peak_rss %d MB\n' "$secs" \
    "$(echo "$rows / $secs" | bc -l)" "$(echo "($ut + $st) / $(getconf CLK_TCK)" | bc -l)" "$((hwm / 1024))"
