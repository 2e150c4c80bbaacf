#!/usr/bin/env bash
# bench/ingest.sh: how fast eco-ingest drains readings from the broker into
# PostgreSQL, against a raw `psql COPY` of the same rows into the same table.
#
#   bench/ingest.sh [N] [DEVICES] [VALUES]
#       N readings (default 1000000) from DEVICES devices (1000), VALUES
#       readings per message (default 2, as in the contract's example
#       message; 1 is the hardest case, 6 a full air station)
#
# Method: a private broker + database (deploy/stack.sh, durable settings as
# in production); N readings queued in the broker for ingest's persistent
# session while ingest is stopped; ingest started and timed until its
# committed spool position covers them all. Then the same rows are COPYed by
# psql into the emptied obs.reading, three times (the median counts).
# Prints both rates and their ratio, the CPU time per reading of ingest, the
# broker and PostgreSQL during the drain, the batches, and ingest's peak RSS.
# BENCH_PERF=FILE also records a system-wide `perf` profile of the drain.
# Needs a build in build/ (tests/run.sh or quickstart makes one), or
# ECO_BUILD_DIR.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N=${1:-1000000}
D=${2:-1000}
V=${3:-2} # values per message (1..6): readings = N, messages = N / V
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_setup ingest services/ingest/eco-ingest bench/bench_ingest services/ecoctl/ecoctl
bench_stack_up
q "INSERT INTO core.region (code, name, kind, geom) VALUES ('ZS', 'Zhoushan', 'city',
     ST_Multi(ST_MakeEnvelope(121.5, 29.5, 123.2, 31.0, 4326)));
   INSERT INTO core.param (code, name, unit, valid_min, valid_max) VALUES
     ('pm25', 'PM2.5', 'ug/m3', 0, 1000), ('pm10', 'PM10', 'ug/m3', 0, 2000),
     ('so2', 'SO2', 'ug/m3', 0, 10000), ('no2', 'NO2', 'ug/m3', 0, 5000),
     ('o3', 'O3', 'ug/m3', 0, 2000), ('co', 'CO', 'mg/m3', 0, 100);
   INSERT INTO core.site (code, name, kind, region, geom) SELECT 'bench' || g, 'bench', 'air', 'ZS',
     ST_SetSRID(ST_MakePoint(122.1, 30.0), 4326) FROM generate_series(0, $D - 1) g;
   INSERT INTO core.device (code, site, protocol) SELECT 'bench' || g, 'bench' || g, 'mqtt'
     FROM generate_series(0, $D - 1) g;"

start_ingest() {
    ECO_PG_DSN="host=127.0.0.1 port=$ECO_PG_PORT dbname=ecowatch user=eco_ingest password=$ECO_PG_INGEST_PASSWORD" \
    ECO_MQTT_URL=$ECO_MQTT_URL ECO_MQTT_USER=$ECO_MQTT_INGEST_USER ECO_MQTT_PASSWORD=$ECO_MQTT_INGEST_PASSWORD \
    ECO_INGEST_INSTANCE=bench ECO_INGEST_SPOOL_DIR="$DIR/spool" ECO_INGEST_HJ212_ADDR= \
    ECO_INGEST_STATUS_S=3600 ECO_LOG_LEVEL=info \
        "$BUILD/services/ingest/eco-ingest" 2>>"$DIR/ingest.log" &
    ingest_pid=$!
}
count() { q "SELECT count(*) FROM obs.reading"; }

# 1. create ingest's session and subscription, then stop it
start_ingest
sleep 1
kill -TERM "$ingest_pid"; wait "$ingest_pid" || true; ingest_pid=
# 2. queue N readings in the broker
MSGS=$((N / V))
pub=$(ECO_MQTT_USER=$ECO_MQTT_SIM_USER ECO_MQTT_PASSWORD=$ECO_MQTT_SIM_PASSWORD \
    "$BUILD/bench/bench_ingest" --count "$MSGS" --devices "$D" --prefix bench --values "$V")
echo "queued:  $pub"
# 3. drain, with the CPU time the broker and PostgreSQL spend meanwhile
tck=$(getconf CLK_TCK)
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
listener() { ss -Htlnp "sport = :$1" | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2; }
mq_pid=$(listener "$ECO_MQTT_PORT")
pm_pid=$(listener "$ECO_PG_PORT")
# the postmaster and its children (walwriter, checkpointer, ingest's backend):
# "pid ticks" lines
pg_cpu() {
    local p
    for p in "$pm_pid" $(pgrep -P "$pm_pid"); do echo "$p $(cpu_of "$p")"; done
}
cpu0=$(cpu_of "$mq_pid"); pgcpu0=$(pg_cpu)
t0=$(date +%s.%N)
start_ingest
perf_pid=
if [ -n "${BENCH_PERF:-}" ]; then # a profile of the whole machine during the drain
    perf record -q -a -g -F 499 -o "$BENCH_PERF" 2>/dev/null & perf_pid=$!
fi
# One psql session polls ingest's committed spool position (one record per
# message) every 0.2 s: not count(*), and not a new psql each time, either of
# which would take CPU from the load being measured.
printf '%s\n' "SELECT coalesce((SELECT seq FROM obs.spool_position WHERE instance = 'bench'), 0)" \
    '\watch 0.2' | psql -XAtq -d "$ADMIN" >"$DIR/poll.out" 2>&1 & poll_pid=$!
while [ "$(tail -n 1 "$DIR/poll.out" 2>/dev/null || true)" != "$MSGS" ]; do
    kill -0 "$poll_pid" 2>/dev/null || { echo "bench: the poller stopped" >&2; exit 1; }
    sleep 0.05
done
t1=$(date +%s.%N)
cpu1=$(cpu_of "$mq_pid"); pgcpu1=$(pg_cpu)
kill "$poll_pid" 2>/dev/null; wait "$poll_pid" 2>/dev/null || true
[ -z "$perf_pid" ] || { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
read -r ut st < <(awk '{print $14, $15}' "/proc/$ingest_pid/stat")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$ingest_pid/status")
kill -TERM "$ingest_pid"; wait "$ingest_pid" || true; ingest_pid=
ingest_s=$(echo "$t1 - $t0" | bc -l)
cpu_s=$(echo "($ut + $st) / $tck" | bc -l)
mq_cpu_s=$(echo "($cpu1 - $cpu0) / $tck" | bc -l)
# processes alive at the end (those started meanwhile, such as ingest's
# backend, count whole); a backend that came and went is not counted
pg_cpu_s=$(awk -v tck="$tck" 'NR == FNR { a[$1] = $2; next } { s += $2 - a[$1] }
    END { printf "%.2f", s / tck }' <(echo "$pgcpu0") <(echo "$pgcpu1"))

# 4. the same rows by psql COPY into the same (emptied) table, three times:
# the median counts (a single COPY moved by a factor of 2 between runs)
q "CREATE TABLE bench_rows AS SELECT site_id, param_id, period, ts, value, flag FROM obs.reading ORDER BY random()"
q "COPY bench_rows TO '$DIR/rows.copy'" 2>/dev/null || psql -XAtq -d "$ADMIN" -c "\\copy bench_rows TO '$DIR/rows.copy'"
copies=()
for _ in 1 2 3; do
    q "TRUNCATE obs.reading; CHECKPOINT"
    c0=$(date +%s.%N)
    psql -XAtq -v ON_ERROR_STOP=1 -d "$ADMIN" -c "\\copy obs.reading (site_id, param_id, period, ts, value, flag) FROM '$DIR/rows.copy'"
    c1=$(date +%s.%N)
    [ "$(count)" = "$((MSGS * V))" ] || { echo "bench: COPY stored $(count) rows, expected $N" >&2; exit 1; }
    copies+=("$(echo "$c1 - $c0" | bc -l)")
done
copy_s=$(printf '%s\n' "${copies[@]}" | sort -g | sed -n 2p)

printf 'readings=%d messages=%d devices=%d values/message=%d\n' "$((MSGS * V))" "$MSGS" "$D" "$V"
printf 'ingest:   %.1f s  %.0f readings/s  cpu %.2f s (%.1f us/reading)  peak_rss %d MB\n' \
    "$ingest_s" "$(echo "$N / $ingest_s" | bc -l)" "$cpu_s" "$(echo "$cpu_s * 1000000 / $N" | bc -l)" "$((hwm / 1024))"
batches=$(grep 'msg=counters' "$DIR/ingest.log" | tail -n 1 | grep -o 'batches=[0-9]*' | cut -d= -f2)
printf 'batches:  %d (%.0f readings each)\n' "$batches" "$(echo "$N / ($batches + 0.000001)" | bc -l)"
printf 'cpu/reading: ingest %.1f us  broker %.1f us  postgres %.1f us\n' \
    "$(echo "$cpu_s * 1000000 / $N" | bc -l)" "$(echo "$mq_cpu_s * 1000000 / $N" | bc -l)" \
    "$(echo "$pg_cpu_s * 1000000 / $N" | bc -l)"
printf 'raw COPY: %.1f s  %.0f rows/s (median of %.1f, %.1f, %.1f s)\n' "$copy_s" \
    "$(echo "$N / $copy_s" | bc -l)" "${copies[@]}"
printf 'ratio ingest/COPY: %.2f\n' "$(echo "$copy_s / $ingest_s" | bc -l)"
