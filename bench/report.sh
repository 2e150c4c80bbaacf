#!/usr/bin/env bash
# bench/report.sh: the reports' figures on an archive the size of
# Zhoushan's (docs/PERFORMANCE.md, "Reports"), on a private stack with the
# sample registry. The archive is generated in SQL, YEARS years up to the
# end of last month:
#   air stations    every AQI pollutant hourly           (~1.6 M a year)
#   water and sea   every graded item hourly             (~1.1 M a year)
#   outlets         every limited parameter hourly and
#                   every 10 minutes                      (~8.3 M a year)
# about 11 M readings a year (YEARS=3: ~33 M, Zhoushan's 36 M). Then:
#   catch-up        rpt.refresh until the stored day-level results are
#                   complete (what eco-report does as readings arrive)
#   compaction      the closed months rewritten in site order (what
#                   eco-report does a week after a month ends)
#   site-month      one station's hourly PM2.5 of a month (rpt.reading)
#   aqi-year        a year of daily AQI of every air station (rpt.aqi_daily)
#   daily, monthly  rpt.report of the last day and the last month
# Each query runs RUNS times; the median of psql's \timing is printed.
#
#   bench/report.sh [YEARS=3] [RUNS=3]        (BENCH_REPORT_MONTHS=N: N months instead)
# Run from the repository root after building (ECO_BUILD_DIR, default build/).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
source bench/lib.sh

YEARS=${1:-3}
RUNS=${2:-3}
bench_setup report services/ecoctl/ecoctl
bench_stack_up
ECO_PG_DSN=$ADMIN "$BUILD/services/ecoctl/ecoctl" registry load deploy/sample >/dev/null 2>&1

end=$(TZ=Asia/Shanghai date +%Y-%m-01)
# BENCH_REPORT_MONTHS=N: a shorter archive of N months (site-month alone
# does not depend on the archive's length: one partition is read)
start=$(TZ=Asia/Shanghai date -d "$end ${BENCH_REPORT_MONTHS:-$((YEARS * 12))} months ago" +%F)
lastmonth=$(TZ=Asia/Shanghai date -d "$end 1 month ago" +%Y-%m)
lastday=$(TZ=Asia/Shanghai date -d "$end 1 day ago" +%F)
year_from=$(TZ=Asia/Shanghai date -d "$end 1 year ago" +%F)
q "SELECT obs.ensure_partitions('$start'::timestamptz - interval '1 day', '$end'::timestamptz + interval '1 day')" >/dev/null

# gen KIND PERIOD STEP PARAMS-SQL VALUE-SQL: one INSERT per month
gen() {
    local m=$start
    while [ "$m" \< "$end" ]; do
        local next
        next=$(date -d "$m 1 month" +%F)
        q "INSERT INTO obs.reading (site_id, param_id, period, ts, value)
           SELECT x.site_id, x.param_id, '$2', t, $5
           FROM ($4) x (site_id, param_id, base),
                generate_series('$m 00:00+08'::timestamptz, '$next 00:00+08'::timestamptz - interval '$3', '$3') t
           ORDER BY t
           ON CONFLICT DO NOTHING" >/dev/null
        m=$next
    done
}
t0=$(date +%s)
gen air h '1 hour' "SELECT s.id, p.id, CASE p.code WHEN 'co' THEN 0.8 WHEN 'o3' THEN 60 ELSE 30 END
    FROM core.site s, core.param p WHERE s.kind = 'air' AND p.code IN ('so2', 'no2', 'co', 'o3', 'pm10', 'pm25')" \
    "greatest(0, x.base * (1 + 0.5 * sin(extract(epoch FROM t) / 43200.0) + 0.4 * (random() - 0.5)))"
gen water h '1 hour' "SELECT DISTINCT s.id, p.id, 0.5 FROM core.site s
    JOIN core.limit l ON l.site_kind = s.kind AND l.class IS NOT NULL JOIN core.param p ON p.code = l.param
    WHERE s.kind IN ('water', 'sea')" "x.base * (0.5 + random())"
gen outlet-h h '1 hour' "SELECT DISTINCT s.id, p.id, coalesce(l.upper, 10) * 0.6 FROM core.site s
    JOIN rpt.source_limit l ON l.site_id = s.id JOIN core.param p ON p.code = l.param" \
    "x.base * (0.5 + random() * (CASE WHEN random() < 0.01 THEN 3 ELSE 1 END))"
gen outlet-m m '10 minutes' "SELECT DISTINCT s.id, p.id, coalesce(l.upper, 10) * 0.6 FROM core.site s
    JOIN rpt.source_limit l ON l.site_id = s.id JOIN core.param p ON p.code = l.param" \
    "x.base * (0.5 + random())"
readings=$(q "SELECT count(*) FROM obs.reading")
echo "archive: $readings readings, $start to $end, generated in $(($(date +%s) - t0)) s"
q "VACUUM ANALYZE" >/dev/null

t0=$(date +%s%N)
pairs=0
while :; do
    n=$(q "SELECT rpt.refresh(2000)")
    pairs=$((pairs + n))
    [ "$n" -gt 0 ] || break
done
ms=$((($(date +%s%N) - t0) / 1000000))
echo "catch-up: $pairs station, region and outlet days stored in $ms ms ($(awk -v p="$pairs" -v m="$ms" 'BEGIN { printf "%.0f", p / (m / 1000) }') a second)"
q "ANALYZE rpt.aqi_day_store" >/dev/null
# what eco-report does to closed months (obs.compact_partitions, 0029)
t0=$(date +%s%N)
parts=$(q "SELECT obs.compact_partitions('$end 00:00+08', 1000)")
echo "compaction: $parts closed months rewritten in site order in $((($(date +%s%N) - t0) / 1000000)) ms"

# timed NAME SQL [WARM-UP]: the median of RUNS runs of psql's \timing, in
# ms, each on a new connection, after WARM-UP's statement when given
timed() {
    local name=$1 sql=$2 warm=${3:-} i t=()
    for ((i = 0; i < RUNS; i++)); do
        t+=("$(printf '%s\n\\timing on\n%s;\n' "${warm:+$warm;}" "$sql" | psql -XAq -d "$ADMIN" -o /dev/null 2>&1 |
            sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)")
    done
    printf '%-12s %10s ms (median of %d)\n' "$name" \
        "$(printf '%s\n' "${t[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')" "$RUNS"
}
site_month="SELECT ts, value FROM rpt.reading WHERE site = 'air-dh01' AND param = 'pm25'
    AND period = 'hour' AND ts >= '$lastmonth-01 00:00+08' AND ts < '$end 00:00+08'"
timed site-month-1st "$site_month"
# an analyst's open session: another site and month read before
timed site-month "$site_month" "SELECT count(*) FROM rpt.reading WHERE site = 'air-dh02' AND param = 'pm10'
    AND period = 'hour' AND ts >= '$year_from 00:00+08' AND ts < '$year_from 00:00+08'::timestamptz + interval '1 month'"
timed aqi-year "SELECT site, day, aqi, level FROM rpt.aqi_daily WHERE NOT is_region
    AND day >= '$year_from' AND day < '$end'"
timed daily "SELECT length(rpt.report('daily', '$lastday')::text)"
timed monthly "SELECT length(rpt.report('monthly', '$lastmonth')::text)"
timed credit "SELECT count(*) FROM rpt.enterprise_credit_between('$year_from', '$end')"
echo "aqi-year rows: $(q "SELECT count(*) FROM rpt.aqi_daily WHERE NOT is_region AND day >= '$year_from' AND day < '$end'")"
