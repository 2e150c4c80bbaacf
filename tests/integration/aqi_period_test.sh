#!/usr/bin/env bash
# Monthly and yearly air-quality statistics per HJ 663-2013 (migration 0017,
# docs/AQI.md) in a real PostgreSQL, on 28 days of hourly readings at one
# station with hand-computed results:
#   1. the HJ 663 percentile (k = 1 + (n - 1) p / 100, interpolated), exact;
#   2. days per AQI level, the good-day ratio, days per primary pollutant;
#   3. pollutant means and percentiles (CO 95th, O3 8-h 90th), rounded as
#      published, and GB 3095's minimum of daily values per month and year.
set -euo pipefail
# shellcheck source=../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

eco_db_new t_aqi_period
"$(eco_bin ecoctl)" registry load "$ECO_SOURCE_DIR/deploy/sample" >/dev/null
q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn analyst)" -c "$1"; }

# 1. 1..10: k = 1 + 9 x 0.9 = 9.1 -> 9.1; 95th of 1..28 tenths: k = 26.65
# -> 2.6 + 0.65 x 0.1 = 2.665; one value; none
eco_assert_eq "9.1|2.665|7|" "$(q "SELECT trim_scale(rpt.hj663_percentile(ARRAY(SELECT generate_series(1, 10))::numeric[], 90)),
    trim_scale(rpt.hj663_percentile(ARRAY(SELECT g / 10.0 FROM generate_series(1, 28) g), 95)),
    rpt.hj663_percentile('{7}', 95), rpt.hj663_percentile('{}', 95)")" "HJ 663 percentiles"

# 2. air-dh01, June 2024, days 1..28 (none on 29 and 30), all 24 hours:
# PM2.5 10 x day, CO day / 10 mg/m3, O3 day; PM10 20 on days 1..26 only
eco_psql "SELECT obs.ensure_partitions('2024-05-31', '2024-07-01')" >/dev/null
put() { # PARAM VALUE_EXPR(d: day of month) LAST_DAY
    printf "INSERT INTO obs.reading (site_id, param_id, period, ts, value)
        SELECT s.id, p.id, 'h', ('2024-06-01'::timestamp + make_interval(days => d - 1, hours => h))
                                AT TIME ZONE 'Asia/Shanghai', %s
        FROM core.site s, core.param p, generate_series(1, %s) AS d, generate_series(0, 23) AS h
        WHERE s.code = 'air-dh01' AND p.code = '%s';\n" "$2" "$3" "$1"
}
{
    put pm25 "10 * d" 28
    put co "d / 10.0" 28
    put o3 d 28
    put pm10 20 26
} | eco_psql >/dev/null
# PM2.5 10..30 level 1 (3 days), 40..70 level 2 (4), 80..110 level 3 (4),
# 120..150 level 4 (4; 150 is IAQI 200), 160..250 level 5 (10), 260..280
# level 6 (3): good days 7 of 28 = 25.0 %; PM2.5 primary from day 4 on
eco_assert_eq "28|3|4|4|4|10|3|7|25.0|{\"pm25\": 25}" "$(q "SELECT days, level1_days, level2_days, level3_days,
    level4_days, level5_days, level6_days, good_days, good_ratio, primary_days
    FROM rpt.aqi_monthly WHERE site = 'air-dh01' AND NOT is_region AND month = '2024-06-01'")" \
    "days per level, good-day ratio, primary pollutant days"
# PM2.5 mean 145, 95th: k = 26.65 -> 260 + 0.65 x 10 = 266.5 -> 267; CO
# mean 1.45 -> 1.5 (half up), 95th 2.665 -> 2.7; O3 8-h 90th: k = 25.3 ->
# 25.3 -> 25; PM10 on 26 days: too few (27)
eco_assert_eq "145|267|1.5|2.7|25|||{pm10}" "$(q "SELECT pm25, pm25_p95, co_mean, co_p95, o3_8h_p90, pm10, so2,
    insufficient FROM rpt.aqi_monthly WHERE site = 'air-dh01' AND NOT is_region AND month = '2024-06-01'")" \
    "monthly means and percentiles; PM10 on 26 days has none"
eco_assert_eq "145|267" "$(q "SELECT pm25, pm25_p95 FROM rpt.aqi_monthly WHERE site = 'ZS-DH' AND is_region
    AND month = '2024-06-01'")" "the district's month (its one station with data)"
eco_assert_eq "2024|28|25.0||{co,o3_8h,pm10,pm25}" "$(q "SELECT year, days, good_ratio, pm25, insufficient
    FROM rpt.aqi_yearly WHERE site = 'air-dh01' AND NOT is_region AND year = 2024")" \
    "a year of 28 days: day counts, no yearly statistic (324 days)"
eco_pass "monthly and yearly AQI statistics per HJ 663-2013"
