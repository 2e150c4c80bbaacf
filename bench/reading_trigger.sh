#!/usr/bin/env bash
# bench/reading_trigger.sh: what the trigger that marks changed days
# (rpt.reading_mark_dirty, migration 0027) costs a writer of obs.reading.
# eco-ingest writes a batch per statement (one COPY), and the trigger runs
# once per statement over the batch's rows, so the cost is per batch.
#
#   bench/reading_trigger.sh [BATCH=500] [BATCHES=400] [RUNS=5]
#
# On a private stack with the sample registry: BATCHES statements of BATCH
# new hourly readings each, spread over the air stations and the outlets
# (the trigger's two kinds), timed inside one session with the triggers on
# and off in turn (RUNS each, alternating, the medians count). Prints both
# rates and the ratio. Run from the repository root after building
# (ECO_BUILD_DIR, default build/).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
source bench/lib.sh

B=${1:-500}
N=${2:-400}
RUNS=${3:-5}
bench_setup trigger services/ecoctl/ecoctl
bench_stack_up
ECO_PG_DSN=$ADMIN "$BUILD/services/ecoctl/ecoctl" registry load deploy/sample >/dev/null 2>&1
q "CREATE TABLE bench_series AS
   SELECT row_number() OVER () - 1 AS k, s.id AS site_id, p.id AS param_id
   FROM core.site s CROSS JOIN core.param p
   WHERE (s.kind = 'air' AND p.code IN ('so2', 'no2', 'co', 'o3', 'pm10', 'pm25'))
      OR (s.kind IN ('gas_outlet', 'water_outlet')
          AND p.code IN (SELECT l.param FROM rpt.source_limit l WHERE l.site_id = s.id))"
series=$(q "SELECT count(*) FROM bench_series")
stride=$(((B + series - 1) / series)) # hours a statement covers
q "SELECT obs.ensure_partitions('2020-12-31', '2021-01-02'::timestamptz
    + make_interval(hours => $RUNS * 2 * $N * $stride))" >/dev/null

# run ON|OFF RUN: N statements of B readings, each a new hour of B series
# (round robin), in hours no earlier run used; prints the seconds
run() {
    local trig=$1 r=$2
    q "ALTER TABLE obs.reading $([ "$trig" = on ] && echo ENABLE || echo DISABLE) TRIGGER reading_dirty_ins" >/dev/null
    q "DO \$\$
       DECLARE t0 timestamptz := clock_timestamp(); base timestamptz;
       BEGIN
           FOR i IN 0 .. $N - 1 LOOP
               base := '2021-01-01 00:00+08'::timestamptz
                       + make_interval(hours => ($r * 2 + CASE WHEN '$trig' = 'on' THEN 0 ELSE 1 END) * $N * $stride
                                         + i * $stride);
               INSERT INTO obs.reading (site_id, param_id, period, ts, value)
               SELECT b.site_id, b.param_id, 'h', base + make_interval(hours => g / $series), 1
               FROM generate_series(0, $B - 1) g
               JOIN bench_series b ON b.k = g % $series;
           END LOOP;
           RAISE NOTICE 'seconds %', extract(epoch FROM clock_timestamp() - t0);
       END \$\$" 2>&1 | sed -n 's/.*seconds \([0-9.]*\).*/\1/p'
}
on=() off=()
for ((r = 0; r < RUNS; r++)); do
    on+=("$(run on "$r")")
    off+=("$(run off "$r")")
done
q "ALTER TABLE obs.reading ENABLE TRIGGER reading_dirty_ins" >/dev/null
med() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
m_on=$(med "${on[@]}")
m_off=$(med "${off[@]}")
rows=$((B * N))
echo "statements=$N rows/statement=$B series=$series runs=$RUNS"
echo "marked by the runs with the trigger: $(q "SELECT count(*) FROM rpt.aqi_day_dirty") station-days, $(q "SELECT count(*) FROM rpt.source_day_dirty") outlet-days"
printf 'trigger on:  %.2f s  %.0f readings/s  (runs: %s)\n' "$m_on" "$(echo "$rows / $m_on" | bc -l)" "${on[*]}"
printf 'trigger off: %.2f s  %.0f readings/s  (runs: %s)\n' "$m_off" "$(echo "$rows / $m_off" | bc -l)" "${off[*]}"
printf 'per statement: %.2f ms with the trigger, %.2f ms without; ratio on/off %.2f\n' \
    "$(echo "$m_on * 1000 / $N" | bc -l)" "$(echo "$m_off * 1000 / $N" | bc -l)" "$(echo "$m_on / $m_off" | bc -l)"
