#!/usr/bin/env bash
# The air quality index per HJ 633-2012 (migration 0014, docs/AQI.md), in a
# real PostgreSQL, against the worked examples of ../shared/specs/aqi-water.md
# (a.5) and the GB 3095-2012 validity rules:
#   1. rpt.iaqi on the breakpoints, exactly (0.2 mg/m3 CO is 5, not 6), the
#      SO2 1-h and O3 8-h cut-offs, the top of the scale, half-up rounding;
#   2. rpt.aqi_hourly from stored hourly readings (the real-time report);
#   3. rpt.aqi_daily per station (24-h means need 20 valid hours, flagged
#      values do not count, the O3 8-h windows inside the day) and per region.
set -euo pipefail
# shellcheck source=../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

eco_db_new t_aqi
"$(eco_bin ecoctl)" registry load "$ECO_SOURCE_DIR/deploy/sample" >/dev/null
q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn analyst)" -c "$1"; }

# 1. the individual indices
eco_assert_eq "5|10|30" "$(q "SELECT rpt.iaqi('co', '24h', 0.2), rpt.iaqi('co', '24h', 0.4),
    rpt.iaqi('co', '24h', 1.2)")" "CO in exact arithmetic (a float ceiling gives 6 for 0.2)"
eco_assert_eq "107|85|15|57|75|75" "$(q "SELECT rpt.iaqi('pm25', '24h', 80), rpt.iaqi('pm10', '24h', 120),
    rpt.iaqi('so2', '24h', 15), rpt.iaqi('no2', '24h', 45), rpt.iaqi('o3', '8h', 130),
    rpt.iaqi('o3', '1h', 180)")" "example 1's indices"
eco_assert_eq "|124" "$(q "SELECT rpt.iaqi('so2', '1h', 900), rpt.iaqi('so2', '24h', 300)")" \
    "SO2 1-h over 800 has no index; its 24-h value has"
eco_assert_eq "|450|200" "$(q "SELECT rpt.iaqi('o3', '8h', 850), rpt.iaqi('o3', '1h', 1100),
    rpt.iaqi('so2', '1h', 800)")" "O3 8-h over 800 has no index; the cut-offs themselves do"
eco_assert_eq "313|209|500|500|" "$(q "SELECT rpt.iaqi('pm10', '24h', 430), rpt.iaqi('co', '24h', 25),
    rpt.iaqi('pm25', '24h', 500), rpt.iaqi('pm25', '24h', 700), rpt.iaqi('pm25', '24h', -1)")" \
    "high values, the top of the scale, a negative value"
eco_assert_eq "100|100|0" "$(q "SELECT rpt.iaqi('pm25', '24h', 75), rpt.iaqi('pm10', '24h', 150),
    rpt.iaqi('so2', '24h', 0)")" "exact breakpoints"
eco_assert_eq "107|{pm25}" "$(q "SELECT aqi, primary_pollutants FROM rpt.aqi_of(
    '{\"pm25\": 107, \"pm10\": 85, \"so2\": 15, \"no2\": 57, \"co\": 30, \"o3_8h\": 75, \"o3_1h\": 75}')")" \
    "example 1: AQI 107, primary PM2.5"
eco_assert_eq "100|{pm10,pm25}|35|{}" "$(q "SELECT a.aqi, a.primary_pollutants, b.aqi, b.primary_pollutants
    FROM rpt.aqi_of('{\"pm25\": 100, \"pm10\": 100, \"no2\": 38}') a,
         rpt.aqi_of('{\"pm25\": 29, \"pm10\": 35, \"o3_8h\": 35}') b")" \
    "a tie names both; no primary pollutant at 50 or under"
eco_assert_eq "3|轻度污染|6|1" "$(q "SELECT rpt.aqi_level(107), c.category, rpt.aqi_level(313), rpt.aqi_level(0)
    FROM rpt.aqi_category c WHERE c.level = 3")" "levels and categories"
eco_assert_eq "106 107" "$(psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn ctl)" -c "
    BEGIN; UPDATE rpt.aqi_setting SET value = 'half_up' WHERE name = 'iaqi_rounding';
    SELECT rpt.iaqi('pm25', '24h', 80); ROLLBACK;" -c "SELECT rpt.iaqi('pm25', '24h', 80)" | tr '\n' ' ' | sed 's/ $//')" \
    "iaqi_rounding half_up is a setting (the default rounds up)"
eco_pass "individual indices, AQI and primary pollutants as HJ 633-2012"

eco_psql "SELECT obs.ensure_partitions('2024-05-31', '2024-06-04')" >/dev/null

# 2. hourly: example 8 (real-time values) at air-dh01, 2024-06-01 10:00
put() { # SITE PARAM HOUR_START VALUE [FLAG]
    printf "INSERT INTO obs.reading (site_id, param_id, period, ts, value, flag)
        SELECT s.id, p.id, 'h', '%s', %s, '%s' FROM core.site s, core.param p
        WHERE s.code = '%s' AND p.code = '%s';\n" "$3" "$4" "${5:-N}" "$1" "$2"
}
{
    put air-dh01 pm25 2024-06-01T10:00+08 16
    put air-dh01 pm10 2024-06-01T10:00+08 88
    put air-dh01 co 2024-06-01T10:00+08 0.2
    put air-dh01 so2 2024-06-01T10:00+08 3
    put air-dh01 no2 2024-06-01T10:00+08 11
    put air-dh01 o3 2024-06-01T10:00+08 75
} | eco_psql >/dev/null
eco_assert_eq "69|{pm10}|2|良" "$(q "SELECT aqi, primary_pollutants, level, category FROM rpt.aqi_hourly
    WHERE site = 'air-dh01' AND hour = '2024-06-01T10:00+08'")" "example 8: hourly AQI 69, primary PM10"
eco_pass "hourly AQI from stored readings"

# 3. a day at air-dh02 (2024-06-02, Beijing): example 7's O3 (hours by
# their end 01:00..24:00, the one ending 16:00 missing), PM2.5 with three
# hours missing (21 valid, mean 52.57 -> 53 -> 73) and one flagged value
# that must not count, SO2 on only 19 hours (no daily value)
o3=(20 18 15 14 12 15 25 40 60 85 110 135 160 178 190 - 185 170 140 110 80 60 45 35)
{
    for h in $(seq 0 23); do
        t=$(printf '2024-06-02T%02d:00+08' "$h")
        [ "${o3[$h]}" = - ] || put air-dh02 o3 "$t" "${o3[$h]}"
        case $h in
        3 | 9) ;;
        15) put air-dh02 pm25 "$t" 999 D ;;
        22) put air-dh02 pm25 "$t" 64 ;;
        *) put air-dh02 pm25 "$t" 52 ;;
        esac
        [ "$h" -ge 19 ] || put air-dh02 so2 "$t" 10
        # air-dh03, same district: PM2.5 40 all day
        put air-dh03 pm25 "$t" 40
    done
} | eco_psql >/dev/null
eco_assert_eq "105|{o3}|3|{\"pm25\": 73, \"o3_1h\": 88, \"o3_8h\": 105}" \
    "$(q "SELECT aqi, primary_pollutants, level, iaqi FROM rpt.aqi_daily
          WHERE site = 'air-dh02' AND day = '2024-06-02'")" \
    "example 7: daily max 8-h O3 165 -> 105, max 1-h 190 -> 88, PM2.5 53 -> 73; SO2 on 19 hours has no daily value"
eco_assert_eq "21" "$(q "SELECT hours FROM rpt.aqi_daily_conc c JOIN core.site s ON s.id = c.site_id
    WHERE s.code = 'air-dh02' AND c.day = '2024-06-02' AND c.param = 'pm25'")" \
    "the flagged PM2.5 value is not one of the 21"
# the district's PM2.5: mean of 52.571... and 40 = 46.29 -> 46 -> IAQI 64;
# its O3 from air-dh02 alone; the city (ZS) has the same stations
eco_assert_eq "105|64" "$(q "SELECT aqi, iaqi->>'pm25' FROM rpt.aqi_daily
    WHERE site = 'ZS-DH' AND is_region AND day = '2024-06-02'")" "district row: the mean of its stations"
eco_assert_eq "105" "$(q "SELECT aqi FROM rpt.aqi_daily WHERE site = 'ZS' AND day = '2024-06-02'")" \
    "city row over its districts' stations"
eco_pass "daily AQI per station and per region with GB 3095 validity"
