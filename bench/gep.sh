#!/usr/bin/env bash
# bench/gep.sh: a full GEP run of the physical models on the sample region
# ZS-DS with a realistic number of land-use parcels (docs/PERFORMANCE.md,
# "GEP"), on a private stack with the sample registry:
#   map        the synthetic Daishan set (deploy/sample/gep/daishan.sql) with
#              its grid at CELL degrees (0.00203: ~100 000 parcels)
#   readings   a year of hourly negative-ion readings (noi-ds01) and air
#              temperatures (the county's air stations)
# Then, each RUNS times (median printed):
#   areas      gep.landuse_area: the parcels intersected with the region
#   derive     gep.derive_inputs: areas, ion means, cooling days
#   run        ecoctl gep run: derive, read, value and store the account
#
#   bench/gep.sh [CELL=0.00203] [RUNS=3]
# Run from the repository root after building (ECO_BUILD_DIR, default build/).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
source bench/lib.sh

CELL=${1:-0.00203}
RUNS=${2:-3}
bench_setup gep services/ecoctl/ecoctl
bench_stack_up
ECO_PG_DSN=$ADMIN "$BUILD/services/ecoctl/ecoctl" registry load deploy/sample >/dev/null 2>&1
YEAR=$(($(TZ=Asia/Shanghai date +%Y) - 1))

t0=$EPOCHREALTIME
psql -XAtq -v ON_ERROR_STOP=1 -d "$ADMIN" -v year="$YEAR" -v cell="$CELL" -f deploy/sample/gep/daishan.sql \
    >"$DIR/load.out"
t1=$EPOCHREALTIME
q "ANALYZE gep.landuse" >/dev/null
echo "parcels|types: $(tail -1 "$DIR/load.out"), loaded in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

q "SELECT obs.ensure_partitions('$YEAR-01-01'::timestamptz - interval '1 day', '$((YEAR + 1))-01-01'::timestamptz)" >/dev/null
q "INSERT INTO obs.reading (site_id, param_id, period, ts, value)
   SELECT s.id, p.id, 'h', h,
          CASE WHEN p.code = 'noi' THEN 1200 + 600 * sin(extract(epoch FROM h) / 86400)
               ELSE 17 + 10 * sin((extract(doy FROM h) - 110) / 58.1) + 4 * sin(extract(hour FROM h) / 3.82) END
   FROM core.site s JOIN core.param p ON p.code = CASE WHEN s.kind = 'noi' THEN 'noi' ELSE 'air_temp' END,
        generate_series('$YEAR-01-01 00:00+08'::timestamptz, '$YEAR-12-31 23:00+08', '1 hour') h
   WHERE s.region IN ('ZS-DS', 'ZS-DS-YS') AND s.kind IN ('noi', 'air')" >/dev/null
q "ANALYZE obs.reading" >/dev/null
echo "readings: $(q "SELECT count(*) FROM obs.reading")"

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# timed NAME SQL: the median of RUNS runs of psql's \timing, in ms
timed() {
    local name=$1 sql=$2 i t=()
    for ((i = 0; i < RUNS; i++)); do
        t+=("$(printf '\\timing on\n%s;\n' "$sql" | psql -XAq -d "$ADMIN" -o /dev/null 2>&1 |
            sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)")
    done
    printf '%-8s %10s ms (median of %d)\n' "$name" "$(printf '%s\n' "${t[@]}" | median)" "$RUNS"
}
timed areas "SELECT * FROM gep.landuse_area('ZS-DS', $YEAR)"
timed derive "SELECT gep.derive_inputs('ZS-DS', $YEAR, 'daishan-sample')"
t=()
for ((i = 0; i < RUNS; i++)); do
    a=$EPOCHREALTIME
    ECO_PG_DSN=$ADMIN "$BUILD/services/ecoctl/ecoctl" gep run --region ZS-DS --year "$YEAR" \
        --params daishan-sample >"$DIR/run.out"
    b=$EPOCHREALTIME
    t+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", (b - a) * 1000 }')")
done
printf '%-8s %10s ms (median of %d)\n' "run" "$(printf '%s\n' "${t[@]}" | median)" "$RUNS"
echo "items: $(q "SELECT count(*) FROM gep.item WHERE run = (SELECT max(id) FROM gep.run)")"
cat "$DIR/run.out"
