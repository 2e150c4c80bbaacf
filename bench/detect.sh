#!/usr/bin/env bash
# bench/detect.sh: eco-detect's rules scored and timed on simulated data.
# ecosim backfills DAYS days of the sample network with RATE labelled
# incidents a day through eco-ingest; `ecoctl detect replay` then runs the
# rules over the stored readings (replay = live: docs/DETECTION.md), timed,
# and bench/detect_score.py compares the alarms with the labels.
#
#   bench/detect.sh [DAYS=7] [RATE=6] [SEED=1] [END=today]
#
# The scenario is the DAYS days before END (a date, Beijing time; today by
# default, so a run on another day simulates other days): give END to
# reproduce a figure of docs/DETECTION.md.
# RATE 0 is a clean run: it prints alarms per site per week instead.
# Prints: readings, replay wall time, replay readings/s (wall and per CPU
# second of ecoctl), ingest's readings/s for the same data (the ratio the
# goal is stated in), then the score.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DAYS=${1:-7}
RATE=${2:-6}
SEED=${3:-1}
END=${4:-$(TZ=Asia/Shanghai date +%F)}
TZ=Asia/Shanghai date -d "$END" +%F >/dev/null 2>&1 || { echo "bench/detect.sh: END: not a date: $END" >&2; exit 2; }
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_setup detect services/ingest/eco-ingest services/ecosim/ecosim services/ecoctl/ecoctl
bench_stack_up
ECO_PG_DSN=$ADMIN "$BUILD/services/ecoctl/ecoctl" registry load deploy/sample >/dev/null
ECO_PG_DSN="host=127.0.0.1 port=$ECO_PG_PORT dbname=ecowatch user=eco_ingest password=$ECO_PG_INGEST_PASSWORD" \
ECO_MQTT_URL=$ECO_MQTT_URL ECO_MQTT_USER=$ECO_MQTT_INGEST_USER ECO_MQTT_PASSWORD=$ECO_MQTT_INGEST_PASSWORD \
ECO_INGEST_INSTANCE=bench ECO_INGEST_SHARE_GROUP='' ECO_INGEST_SPOOL_DIR="$DIR/spool" \
ECO_INGEST_HJ212_ADDR='' ECO_LOG_LEVEL=warn \
    "$BUILD/services/ingest/eco-ingest" 2>>"$DIR/ingest.log" &
ingest_pid=$!
sleep 1
from=$(TZ=Asia/Shanghai date -d "$END $((DAYS + 1)) days ago" +%F)
to=$(TZ=Asia/Shanghai date -d "$END 1 day ago" +%F)
t0=$(date +%s.%N)
ECO_MQTT_USER=$ECO_MQTT_SIM_USER ECO_MQTT_PASSWORD=$ECO_MQTT_SIM_PASSWORD \
    "$BUILD/services/ecosim/ecosim" --speed 0 --from "$from" --to "$to" --incidents "$RATE" \
    --seed "$SEED" --labels "$DIR/labels.jsonl" >"$DIR/sim.out" 2>"$DIR/sim.log"
bench_wait_ingest "$DIR/sim.log" bench
t1=$(date +%s.%N)
rows=$(q "SELECT count(*) FROM obs.reading")
ingest_rate=$(echo "$rows / ($t1 - $t0)" | bc -l)
CTL="host=127.0.0.1 port=$ECO_PG_PORT dbname=ecowatch user=eco_ctl password=$ECO_PG_CTL_PASSWORD"
t2=$(date +%s.%N)
# shellcheck disable=SC2016
/usr/bin/time -f '%U %S %M' -o "$DIR/replay.time" env ECO_PG_DSN="$CTL" \
    "$BUILD/services/ecoctl/ecoctl" detect replay --from "$from" --to "$to" >"$DIR/replay.out" \
    2>"$DIR/replay.log"
t3=$(date +%s.%N)
read -r ru rs rmax <"$DIR/replay.time"
printf 'detect bench: days=%d rate=%s seed=%s end=%s (%s to %s) readings=%d incidents=%d\n' "$DAYS" \
    "$RATE" "$SEED" "$END" "$from" "$to" "$rows" "$(wc -l <"$DIR/labels.jsonl")"
printf 'ingest (same data, end to end): %.0f readings/s\n' "$ingest_rate"
printf 'replay: %.1f s wall, %.0f readings/s wall, %.0f readings/s per ecoctl CPU second, peak RSS %d MB; ratio to ingest %.1f (wall) %.1f (CPU)\n' \
    "$(echo "$t3 - $t2" | bc -l)" "$(echo "$rows / ($t3 - $t2)" | bc -l)" \
    "$(echo "$rows / ($ru + $rs + 0.001)" | bc -l)" "$((rmax / 1024))" \
    "$(echo "$rows / ($t3 - $t2) / $ingest_rate" | bc -l)" \
    "$(echo "$rows / ($ru + $rs + 0.001) / $ingest_rate" | bc -l)"
cat "$DIR/replay.out"
if [ "$RATE" = 0 ]; then
    python3 bench/detect_score.py --dsn "$ADMIN" --days "$DAYS" \
        --sites "$(q "SELECT count(*) FROM core.site WHERE active")"
else
    python3 bench/detect_score.py --dsn "$ADMIN" --labels "$DIR/labels.jsonl" --days "$DAYS"
fi
[ -z "${ECO_BENCH_KEEP:-}" ] || { cp "$DIR/labels.jsonl" "$ECO_BENCH_KEEP.labels.jsonl"; }
