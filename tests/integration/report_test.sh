#!/usr/bin/env bash
# Reports (migration 0021, services/report, docs/REPORTS.md) on known data
# in a real PostgreSQL, mosquitto and headless Chromium:
#   1. enterprise credit: deductions, score and grade from exceedance days,
#      severe days, data-quality alarms (capped), work orders and their
#      reopenings; weights and thresholds are data;
#   2. rpt.report: a station's daily AQI and colour, sections without data
#      say so, bad kinds and periods are refused;
#   3. `ecoctl report daily`: JSON, CSV (spreadsheet formulas defused) and
#      an HTML page that Chromium opens without console messages, with the
#      map and the charts drawn; the screenshot is kept;
#   4. map layers: GeoJSON FeatureCollections, readable by analysts;
#      the daily statistics stored as readings arrive (rpt.aqi_day_store),
#      never stale;
#   5. eco-report: the schedule makes each due report once (two instances),
#      publishes it retained, writes the layers; a report on request over
#      MQTT 5, a bad request refused; SIGTERM exits cleanly.
set -euo pipefail
# shellcheck source=../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

eco_db_new t_report
CTL=$(eco_bin ecoctl)
"$CTL" registry load "$ECO_SOURCE_DIR/deploy/sample" >/dev/null
q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn analyst)" -c "$1"; }

# put SITE PARAM PERIOD FIRST LAST STEP VALUE: a value every STEP from FIRST
# to LAST (Beijing time)
put() {
    printf "INSERT INTO obs.reading (site_id, param_id, period, ts, value)
        SELECT s.id, p.id, '%s', t, %s
        FROM core.site s, core.param p,
             generate_series('%s+08'::timestamptz, '%s+08'::timestamptz, '%s') AS g (t)
        WHERE s.code = '%s' AND p.code = '%s';\n" "$3" "$7" "$4" "$5" "$6" "$1" "$2"
}
eco_psql "SELECT obs.ensure_partitions('2024-05-31', '2024-07-02')" >/dev/null

# ---- 1. credit ------------------------------------------------------------
# ent-ys04 (outlet gas-ys04-1, SO2 limit 100 mg/m3 hourly): June 1-3 at 300
# (three days over, each severe: exceedance multiple (300 - 100) / 100 = 2);
# June 4 at 150 (over, multiple 0.5: not severe). 25 flatline alarms (capped at 20), two work orders, one reopened
# twice. Deductions: 4 x 4 + 3 x 6 + 20 + 2 x 2 + 2 x 5 = 68: score 32, red.
{
    put gas-ys04-1 so2_stack h "2024-06-01 00:00" "2024-06-03 23:00" "1 hour" 300
    put gas-ys04-1 so2_stack h "2024-06-04 00:00" "2024-06-04 23:00" "1 hour" 150
    put gas-ys04-1 flow_stack h "2024-06-01 00:00" "2024-06-04 23:00" "1 hour" 50
    # ent-ys02 (gas-ys02-1, limit 100): one day over (multiple 1, severe at the default 1): 100 - 4 - 6 = 90, green
    put gas-ys02-1 so2_stack h "2024-06-02 00:00" "2024-06-02 23:00" "1 hour" 200
    echo "INSERT INTO alarm.alarm (site_id, param_id, period, rule, severity, state, opened_at, last_at,
                                   cleared_at)
          SELECT s.id, NULL, NULL, 'flatline', 'minor', 'cleared',
                 '2024-06-01 00:00+08'::timestamptz + make_interval(hours => g),
                 '2024-06-01 00:30+08'::timestamptz + make_interval(hours => g),
                 '2024-06-01 00:30+08'::timestamptz + make_interval(hours => g)
          FROM core.site s, generate_series(1, 25) g WHERE s.code = 'gas-ys04-1';"
    echo "INSERT INTO wo.work_order (source, category, title, priority, state, dept, site, created_at,
                                     created_by, reopened)
          VALUES ('manual', 'exceedance', 'SO2 over the limit', 2, 'dispatched',
                  (SELECT code FROM core.department LIMIT 1), 'gas-ys04-1', '2024-06-06 10:00+08', 'test', 2),
                 ('manual', 'exceedance', '=HYPERLINK(\"http://x\")', 2, 'closed',
                  (SELECT code FROM core.department LIMIT 1), 'gas-ys04-2', '2024-06-07 10:00+08', 'test', 0);"
} | eco_psql >/dev/null

credit() {
    q "SELECT enterprise || ' ' || exceedance_days || ' ' || severe_days || ' ' || quality_alarms || ' '
              || work_orders || ' ' || reopened || ' ' || trim_scale(score) || ' ' || grade
       FROM rpt.enterprise_credit_between('2024-06-01', '2024-07-01') WHERE enterprise = '$1'"
}
eco_assert_eq "ent-ys04 4 3 25 2 2 32 red" "$(credit ent-ys04)" \
    "credit: 4 exceedance days (3 severe), 25 quality alarms capped at 20, 2 orders, 2 reopenings: 32, red"
eco_assert_eq "ent-ys02 1 1 0 0 0 90 green" "$(credit ent-ys02)" \
    "credit: one severe day: 90 is green (the threshold is inclusive)"
eco_assert_eq "ent-dh03 0 0 0 0 0 100 green" "$(credit ent-dh03)" "credit: nothing observed: 100, green"
eco_assert_eq "59" "$(q "SELECT count(*) FROM rpt.enterprise_credit_between('2024-06-01', '2024-07-01')")" \
    "credit: every registered enterprise has a rating"
eco_assert_eq "ent-ys04 1 0 0 0 0 96 green" \
    "$(q "SELECT enterprise || ' ' || exceedance_days || ' ' || severe_days || ' ' || quality_alarms || ' '
              || work_orders || ' ' || reopened || ' ' || trim_scale(score) || ' ' || grade
          FROM rpt.enterprise_credit_between('2024-06-04', '2024-06-05') WHERE enterprise = 'ent-ys04'")" \
    "credit: only the period's days count (June 4: one day over, not severe)"
eco_psql "UPDATE rpt.credit_setting SET value = 3 WHERE name = 'severe_multiple'" \
    "UPDATE rpt.credit_grade SET min_score = 95 WHERE grade = 'green'" >/dev/null
eco_assert_eq "ent-ys02 1 0 0 0 0 96 green" "$(credit ent-ys02)" \
    "credit: the weights are settings (severe from multiple 3: 200 is not severe)"
eco_psql "UPDATE rpt.credit_grade SET min_score = 97 WHERE grade = 'green'" >/dev/null
eco_assert_eq "blue" "$(q "SELECT grade FROM rpt.enterprise_credit_between('2024-06-01', '2024-07-01')
    WHERE enterprise = 'ent-ys02'")" "credit: the grade thresholds are settings"
eco_psql "UPDATE rpt.credit_setting SET value = 1 WHERE name = 'severe_multiple'" \
    "UPDATE rpt.credit_grade SET min_score = 90 WHERE grade = 'green'" >/dev/null

# the outlets' day rows are stored as readings arrive (0027): computed on
# the spot while dirty, stored by rpt.refresh, equal either way; month rows
# are sums of the day rows
refresh_all() {
    local n
    while n=$(psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn ctl)" -c "SELECT rpt.refresh(500)") && [ "$n" -gt 0 ]; do :; done
}
src_dirty() { q "SELECT count(*) FROM rpt.source_day_dirty d JOIN core.site s ON s.id = d.site_id
    WHERE s.code = 'gas-ys04-1'"; }
span_all="SELECT * FROM rpt.source_exceedance_span_between('2024-05-01', '2024-08-01')"
# 0021's month rows: one aggregate over the period's check rows
computed_span="SELECT 'day', c.site_id, c.enterprise, c.param, c.limit_period, c.t, c.lower, c.upper, c.standard,
           c.hours, c.hours_over, c.days, c.days_over, c.max_value, c.max_multiple, c.emission_kg_over,
           c.excess_kg, c.first_over, c.last_over
    FROM rpt.source_day_compute('2024-05-01', '2024-08-01') c
    UNION ALL
    SELECT 'month', c.site_id, c.enterprise, c.param, c.limit_period, date_trunc('month', c.day)::date,
           min(c.lower), min(c.upper), min(c.standard), count(*) FILTER (WHERE c.span = 'hour'),
           count(*) FILTER (WHERE c.span = 'hour' AND c.exceeds),
           CASE WHEN c.limit_period = 'hour' THEN count(DISTINCT c.day) FILTER (WHERE c.span = 'hour')
                ELSE count(*) FILTER (WHERE c.span = 'day') END,
           CASE WHEN c.limit_period = 'hour' THEN count(DISTINCT c.day) FILTER (WHERE c.span = 'hour' AND c.exceeds)
                ELSE count(*) FILTER (WHERE c.span = 'day' AND c.exceeds) END,
           trim_scale(max(c.value) FILTER (WHERE c.span = c.limit_period)),
           max(c.multiple) FILTER (WHERE c.span = c.limit_period),
           trim_scale(sum(c.emission_kg) FILTER (WHERE c.span = c.limit_period AND c.exceeds)),
           trim_scale(sum(c.excess_kg) FILTER (WHERE c.span = c.limit_period AND c.exceeds)),
           min(c.t) FILTER (WHERE c.span = c.limit_period AND c.exceeds),
           max(c.t) FILTER (WHERE c.span = c.limit_period AND c.exceeds)
    FROM rpt.source_check_between('2024-05-01', '2024-08-01') c
    GROUP BY c.site_id, c.enterprise, c.param, c.limit_period, date_trunc('month', c.day)"
span_diff() { q "SELECT (SELECT count(*) FROM ($span_all EXCEPT ($computed_span)) x) || ' '
    || (SELECT count(*) FROM (($computed_span) EXCEPT $span_all) y)"; }
eco_assert_eq "4 0 0" "$(src_dirty) $(span_diff)" "stored sources: new readings mark the outlet's days dirty; computed on the spot"
refresh_all
eco_assert_eq "0 0 0" "$(src_dirty) $(span_diff)" "stored sources: rpt.refresh stores them; stored rows equal the computed ones"
[ "$(q "SELECT count(*) FROM rpt.source_day_store")" -ge 4 ] || eco_fail "stored sources: nothing stored"
eco_assert_eq "ent-ys04 4 3 25 2 2 32 red" "$(credit ent-ys04)" "stored sources: the credit rating read from the store is the same"
# June 4 at 300 all day: the day is over, severe (multiple 2)
eco_psql "UPDATE obs.reading r SET value = 300 FROM core.site s, core.param p
    WHERE s.id = r.site_id AND p.id = r.param_id AND s.code = 'gas-ys04-1' AND p.code = 'so2_stack'
      AND r.ts >= '2024-06-04 00:00+08' AND r.ts < '2024-06-05 00:00+08'" >/dev/null
eco_assert_eq "1 0 0 ent-ys04 4 4 25 2 2 26 red" "$(src_dirty) $(span_diff) $(credit ent-ys04)" \
    "stored sources: a changed reading is seen at once"
refresh_all
eco_assert_eq "0 0 0 ent-ys04 4 4 25 2 2 26 red" "$(src_dirty) $(span_diff) $(credit ent-ys04)" "stored sources: and stored again"
"$CTL" registry load "$ECO_SOURCE_DIR/deploy/sample" >/dev/null
[ "$(src_dirty)" = 0 ] || eco_fail "stored sources: loading the same registry again marked days dirty"
eco_psql "UPDATE core.limit SET upper = upper * 2 WHERE param = 'so2_stack' AND class IS NULL" >/dev/null
[ "$(src_dirty)" -ge 4 ] || eco_fail "stored sources: a changed limit marks the outlets' days dirty"
eco_assert_eq "0 0" "$(span_diff)" "stored sources: a changed limit is applied at once"
eco_psql "UPDATE core.limit SET upper = upper / 2 WHERE param = 'so2_stack' AND class IS NULL" >/dev/null
refresh_all
eco_assert_eq "0 0 0 ent-ys04 4 4 25 2 2 26 red" "$(src_dirty) $(span_diff) $(credit ent-ys04)" \
    "stored sources: the limit restored, stored again"
# GEP's pollutant loads from the online monitors (0028): gas-ys04-1 in
# Daishan, SO2 300 mg/m3 x 50 m3/s for 96 hours = 96 x 54 kg = 5.184 t;
# gas-ys02-1 has no flow, so no emission
eco_assert_eq "air_load_SO2|5.184|1|4" "$(q "SELECT key || '|' || tonnes || '|' || outlets || '|' || days
    FROM gep.source_load('ZS-DS', 2024)")" "gep.source_load: the year's SO2 emission of the region's outlets"
eco_psql "SELECT gep.derive_inputs('ZS-DS', 2024)" >/dev/null
eco_assert_eq "5.184|t" "$(q "SELECT value || '|' || unit FROM gep.input
    WHERE region = 'ZS-DS' AND year = 2024 AND key = 'air_load_SO2'")" "gep.derive_inputs stores the measured load"
eco_assert_eq "5.184" "$(q "$(q "SELECT query FROM gep.input WHERE region = 'ZS-DS' AND year = 2024 AND key = 'air_load_SO2'")")" \
    "the derived load's stored query gives its value"

# ---- 2. rpt.report ------------------------------------------------------------
# air-dh01 on June 1, every hour: PM2.5 80 (IAQI 107), PM10 60, SO2 10,
# NO2 20, CO 0.5, O3 50: AQI 107, level 3, primary pm25
{
    put air-dh01 pm25 h "2024-06-01 00:00" "2024-06-01 23:00" "1 hour" 80
    put air-dh01 pm10 h "2024-06-01 00:00" "2024-06-01 23:00" "1 hour" 60
    put air-dh01 so2 h "2024-06-01 00:00" "2024-06-01 23:00" "1 hour" 10
    put air-dh01 no2 h "2024-06-01 00:00" "2024-06-01 23:00" "1 hour" 20
    put air-dh01 co h "2024-06-01 00:00" "2024-06-01 23:00" "1 hour" 0.5
    put air-dh01 o3 h "2024-06-01 00:00" "2024-06-01 23:00" "1 hour" 50
} | eco_psql >/dev/null
eco_assert_eq "107|3|rgb(255,126,0)|[\"pm25\"]" "$(q "SELECT r->>'aqi' || '|' || (r->>'level') || '|' || (r->>'colour')
    || '|' || (r->'primary')::text
    FROM jsonb_array_elements(rpt.report('daily', '2024-06-01')->'air'->'rows') r WHERE r->>'site' = 'air-dh01'")" \
    "report: the station's daily AQI, level, HJ 633 colour and primary pollutant"
# the daily statistics are stored as readings arrive: marked dirty by the
# insert, computed on the spot until rpt.refresh stores them, stored
# after; a changed reading marks its day again
aqi_dh01() { q "SELECT aqi FROM rpt.aqi_daily WHERE site = 'air-dh01' AND day = '2024-06-01'"; }
dirty_dh01() { q "SELECT count(*) FROM rpt.aqi_day_dirty d JOIN core.site s ON s.id = d.site_id
    WHERE s.code = 'air-dh01' AND d.day = '2024-06-01'"; }
stored_dh01() { q "SELECT count(*) FROM rpt.aqi_day_store d JOIN core.site s ON s.id = d.site_id
    WHERE s.code = 'air-dh01' AND d.day = '2024-06-01'"; }
refresh() { psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn ctl)" -c "SELECT rpt.refresh(500)"; }
eco_assert_eq "1 0 107" "$(dirty_dh01) $(stored_dh01) $(aqi_dh01)" "stored statistics: new readings mark their day dirty; computed on the spot"
[ "$(refresh)" -ge 1 ] || eco_fail "rpt.refresh refreshed nothing"
eco_assert_eq "0 7 107" "$(dirty_dh01) $(stored_dh01) $(aqi_dh01)" \
    "stored statistics: rpt.refresh stores the day's seven statistics; the AQI is the same"
eco_psql "UPDATE obs.reading r SET value = 200 FROM core.site s, core.param p
    WHERE s.id = r.site_id AND p.id = r.param_id AND s.code = 'air-dh01' AND p.code = 'pm25'
      AND r.ts = '2024-06-01 12:00+08'" >/dev/null
# PM2.5 (23 x 80 + 200) / 24 = 85: IAQI 100 + 50 / 40 x 10 = 112.5, 113
eco_assert_eq "1 113" "$(dirty_dh01) $(aqi_dh01)" "stored statistics: a changed reading is seen at once"
refresh >/dev/null
eco_assert_eq "0 113" "$(dirty_dh01) $(aqi_dh01)" "stored statistics: and stored again"
eco_assert_eq "0" "$(q "SELECT count(*) FROM ((SELECT * FROM rpt.aqi_daily_conc EXCEPT
    SELECT * FROM rpt.aqi_daily_conc_between('2000-01-01', '2100-01-01'))
    UNION ALL (SELECT * FROM rpt.aqi_daily_conc_between('2000-01-01', '2100-01-01') EXCEPT
    SELECT * FROM rpt.aqi_daily_conc)) x")" "stored statistics equal the computed ones"
computed_daily="SELECT s.code, g.day, a.aqi, rpt.aqi_level(a.aqi), coalesce(a.primary_pollutants, '{}'),
        rpt.aqi_daily_iaqi(g.conc), g.conc
    FROM (SELECT site_id, day, jsonb_object_agg(param, conc) AS conc
          FROM rpt.aqi_daily_conc_between('2000-01-01', '2100-01-01') GROUP BY 1, 2) g
    JOIN core.site s ON s.id = g.site_id CROSS JOIN LATERAL rpt.aqi_of(rpt.aqi_daily_iaqi(g.conc)) a"
stored_daily="SELECT site, day, aqi, level, primary_pollutants, iaqi, conc FROM rpt.aqi_daily WHERE NOT is_region"
eco_assert_eq "0 0 0" "$(q "SELECT count(*) FROM rpt.aqi_day_dirty") $(q "SELECT count(*) FROM ($stored_daily EXCEPT $computed_daily) x") $(q "SELECT count(*) FROM ($computed_daily EXCEPT $stored_daily) x")" \
    "stored daily AQI rows equal the computed ones"
# the regions' daily rows are stored too (0027), once their stations' are
computed_region="SELECT g.region, g.day, a.aqi, rpt.aqi_level(a.aqi), coalesce(a.primary_pollutants, '{}'),
        rpt.aqi_daily_iaqi(g.conc), g.conc
    FROM (SELECT region, day, jsonb_object_agg(param, conc) AS conc
          FROM (SELECT m.region, c.day, c.param, avg(c.conc) AS conc FROM rpt.aqi_region_member m
                JOIN rpt.aqi_daily_conc_between('2000-01-01', '2100-01-01') c ON c.site_id = m.site_id
                GROUP BY 1, 2, 3) x GROUP BY 1, 2) g
    CROSS JOIN LATERAL rpt.aqi_of(rpt.aqi_daily_iaqi(g.conc)) a"
stored_region="SELECT site, day, aqi, level, primary_pollutants, iaqi, conc FROM rpt.aqi_daily WHERE is_region"
region_diff() { q "SELECT (SELECT count(*) FROM ($stored_region EXCEPT $computed_region) x) || ' '
    || (SELECT count(*) FROM ($computed_region EXCEPT $stored_region) y)"; }
region_of_dh01=$(q "SELECT region FROM core.site WHERE code = 'air-dh01'")
eco_assert_eq "0 0 0" "$(q "SELECT count(*) FROM rpt.aqi_region_dirty") $(region_diff)" \
    "stored regions: rpt.refresh stores the region days; they equal the computed ones"
[ "$(q "SELECT count(*) FROM rpt.aqi_day_region WHERE day = '2024-06-01'")" -ge 1 ] ||
    eco_fail "stored regions: no region row stored"
other=$(q "SELECT code FROM core.region WHERE kind = 'county' AND code <> '$region_of_dh01'
    AND code NOT IN (SELECT m.region FROM rpt.aqi_region_member m JOIN core.site s ON s.id = m.site_id
                     WHERE s.code = 'air-dh01') ORDER BY code LIMIT 1")
eco_psql "UPDATE core.site SET region = '$other' WHERE code = 'air-dh01'" >/dev/null
eco_assert_eq "1 0 0 1" "$(dirty_dh01) $(region_diff) $(q "SELECT count(*) FROM rpt.aqi_daily
    WHERE is_region AND site = '$other' AND day = '2024-06-01'")" \
    "stored regions: a station moved to another region moves its days at once"
eco_psql "UPDATE core.site SET region = '$region_of_dh01' WHERE code = 'air-dh01'" >/dev/null
refresh >/dev/null
refresh >/dev/null
eco_assert_eq "0 0 0 0" "$(dirty_dh01) $(q "SELECT count(*) FROM rpt.aqi_region_dirty") $(region_diff)" \
    "stored regions: moved back and stored again"
# the trigger marks a batch's days per site: the range of a day or two,
# exactly the days of a batch with far-apart times
eco_psql "INSERT INTO obs.reading (site_id, param_id, period, ts, value)
    SELECT s.id, p.id, 'h', t, 10 FROM core.site s, core.param p,
           unnest(ARRAY['2024-06-10 08:00+08', '2024-06-20 08:00+08', '2024-06-11 23:00+08',
                        '2024-06-12 01:00+08']::timestamptz[]) t
    WHERE s.code = 'air-dh01' AND p.code = 'so2'" \
    "INSERT INTO obs.reading (site_id, param_id, period, ts, value)
    SELECT s.id, p.id, 'h', t, 10 FROM core.site s, core.param p,
           unnest(ARRAY['2024-06-14 23:00+08', '2024-06-15 01:00+08']::timestamptz[]) t
    WHERE s.code = 'air-dh01' AND p.code = 'so2'" >/dev/null
eco_assert_eq "2024-06-10 2024-06-11 2024-06-12 2024-06-14 2024-06-15 2024-06-20" "$(q "SELECT string_agg(d.day::text, ' ' ORDER BY d.day)
    FROM rpt.aqi_day_dirty d JOIN core.site s ON s.id = d.site_id WHERE s.code = 'air-dh01'")" \
    "stored statistics: a batch marks the days of its readings (Beijing time)"
refresh >/dev/null
eco_assert_eq "24" "$(q "SELECT count(*) FROM jsonb_array_elements(rpt.report('daily', '2024-06-01')->'air'->'series') s
    WHERE s->>'site' = 'air-dh01'")" "report: the hourly AQI series of the day"
eco_assert_eq "no water or sea station has values for this period" \
    "$(q "SELECT rpt.report('daily', '2024-06-01')->'water'->>'note'")" "report: a section without data says so"
# water-dh01 on June 2: NH3-N 1.2 mg/L every hour (class IV: over III's 1.0)
put water-dh01 nh3n h "2024-06-02 00:00" "2024-06-02 23:00" "1 hour" 1.2 | eco_psql >/dev/null
eco_assert_eq "water-dh01 IV [\"nh3n\"] #fee08b" "$(q "SELECT w->>'site' || ' ' || (w->>'class_name') || ' ' ||
    (w->'deciding')::text || ' ' || (w->>'colour')
    FROM jsonb_array_elements(rpt.report('daily', '2024-06-02')->'water'->'rows') w")" \
    "report: a water station's class of the day, its deciding item and colour"
eco_assert_eq "water-dh01|4" "$(q "SELECT site || '|' || class FROM rpt.water_daily WHERE day = '2024-06-02'")" \
    "rpt.water_daily (now a function of the period underneath) agrees"
eco_assert_eq "gas-ys04-1 so2_stack 24 2" "$(q "SELECT r->>'outlet' || ' ' || (r->>'param') || ' ' || (r->>'hours_over')
    || ' ' || (r->>'max_multiple') FROM jsonb_array_elements(rpt.report('daily', '2024-06-01')->'sources'->'rows') r
    WHERE r->>'param' = 'so2_stack'")" "report: the outlet over its limit, hours and multiple"
eco_assert_eq "ent-ys04 red" "$(q "SELECT c->>'enterprise' || ' ' || (c->>'grade')
    FROM jsonb_array_elements(rpt.report('monthly', '2024-06')->'credit'->'rows') c LIMIT 1")" \
    "report: the monthly report ranks the credit ratings, worst first"
eco_assert_eq "2" "$(q "SELECT jsonb_array_length(rpt.report('monthly', '2024-06')->'work_orders'->'rows')")" \
    "report: the month's work orders"
for bad in "daily 2024-06" "monthly 2024-06-01" "weekly 2024-06-01" "daily 2024-13-01"; do
    if err=$(q "SELECT rpt.report('${bad% *}', '${bad#* }')" 2>&1); then
        eco_fail "report: $bad was accepted"
    fi
    case "$err" in *"kind is daily"* | *"out of range"*) ;; *) eco_fail "report $bad: $err" ;; esac
done
eco_pass "report: bad kinds and periods are refused with the reason"

# ---- 3. ecoctl report -----------------------------------------------------------
OUT=$ECO_TEST_TMP/out
ECO_PG_DSN=$(eco_dsn ctl) "$CTL" report daily 2024-06-01 --out "$OUT" >"$ECO_TEST_TMP/ctl.out" \
    2>"$ECO_TEST_TMP/ctl.err" || eco_fail "ecoctl report daily: $(cat "$ECO_TEST_TMP/ctl.err")"
eco_assert_eq "$OUT/daily-2024-06-01.html" "$(cat "$ECO_TEST_TMP/ctl.out")" "ecoctl report prints the page's path"
grep -q "report data" "$ECO_TEST_TMP/ctl.err" || eco_fail "ecoctl report shows no progress"
for f in daily-2024-06-01.json daily-2024-06-01-air.csv daily-2024-06-01-water.csv \
    daily-2024-06-01-sources.csv daily-2024-06-01-alarms.csv daily-2024-06-01-work_orders.csv; do
    [ -s "$OUT/$f" ] || eco_fail "ecoctl report wrote no $f"
done
python3 - "$OUT/daily-2024-06-01.json" <<'EOF' || eco_fail "the report's JSON is not the document"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["kind"] == "daily" and d["period"] == "2024-06-01", d
assert any(r["site"] == "air-dh01" and r["aqi"] == 113 for r in d["air"]["rows"])
EOF
eco_assert_eq "Station / region,Name,AQI,Level,Category,Primary pollutant" \
    "$(head -1 "$OUT/daily-2024-06-01-air.csv" | tr -d '\r')" "CSV: the table's headings"
grep -q '^air-dh01,[^,]*,113,3,' "$OUT/daily-2024-06-01-air.csv" || eco_fail "CSV: no air-dh01 row with AQI 113"
ECO_PG_DSN=$(eco_dsn ctl) "$CTL" report monthly 2024-06 --out "$OUT" >/dev/null 2>&1 ||
    eco_fail "ecoctl report monthly failed"
grep -q "'=HYPERLINK" "$OUT/monthly-2024-06-work_orders.csv" ||
    eco_fail "CSV: a formula from the public is not defused"
if ECO_PG_DSN=$(eco_dsn ctl) "$CTL" report daily 2024-6-1 --out "$OUT" >/dev/null 2>&1; then
    eco_fail "ecoctl report took a bad period"
fi
eco_pass "ecoctl report: JSON, CSV and the page; a bad period refused"

# the page in a browser: no console message, the map and the charts drawn
CHROME=$(command -v chromium || true)
[ -n "$CHROME" ] || eco_fail "chromium is not installed (deploy/install-deps.sh)"
chrome() {
    timeout 120 "$CHROME" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$ECO_TEST_TMP/chrome" --enable-logging=stderr --v=0 "$@" 7>&-
}
chrome --dump-dom "file://$OUT/daily-2024-06-01.html" >"$ECO_TEST_TMP/dom.html" 2>"$ECO_TEST_TMP/chrome.log" ||
    eco_fail "chromium could not open the page: $(tail -5 "$ECO_TEST_TMP/chrome.log")"
if grep -q "CONSOLE" "$ECO_TEST_TMP/chrome.log"; then
    grep "CONSOLE" "$ECO_TEST_TMP/chrome.log" >&2
    eco_fail "the page logged to the console"
fi
drawn=$(grep -o 'data-drawn="[^"]*"' "$ECO_TEST_TMP/dom.html" || true)
sites=$(q "SELECT count(*) FROM rpt.map_site")
for want in "map=$sites" "chart-aqi=1" "chart-air=" "chart-alarms=1"; do
    case "$drawn" in *"$want"*) ;; *) eco_fail "not drawn: $want (page says: $drawn)" ;; esac
done
case "$drawn" in *"chart-air=0"*) eco_fail "the AQI bars are empty: $drawn" ;; esac
eco_pass "Chromium opens the page without console messages; drawn: $drawn"
chrome --window-size=1200,1600 --screenshot="$ECO_TEST_TMP/report.png" "file://$OUT/daily-2024-06-01.html" \
    >/dev/null 2>&1 || eco_fail "no screenshot"
python3 - "$ECO_TEST_TMP/report.png" <<'EOF' || eco_fail "the screenshot does not show the map and the charts"
# Decodes the PNG (8-bit RGB/RGBA, as Chromium writes) and counts pixels of
# the AQI level-3 orange of air-dh01's bar and of the map's sea.
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, t = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if t == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and ctype in (2, 6), (depth, ctype)
        bpp = 3 if ctype == 2 else 4
    elif t == b"IDAT":
        idat += body
    pos += 12 + n
raw, stride, prev, rows = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
def count(rgb):
    return sum(1 for r in rows for x in range(0, stride, bpp) if tuple(r[x:x + 3]) == rgb)
orange, sea = count((255, 126, 0)), count((0xe8, 0xf1, 0xf8))
assert orange > 200, "AQI bar: %d orange pixels" % orange
assert sea > 5000, "map: %d sea pixels" % sea
EOF
mkdir -p "$ECO_BUILD_DIR/screenshots" && cp "$ECO_TEST_TMP/report.png" "$ECO_BUILD_DIR/screenshots/report-daily.png"
eco_pass "the screenshot shows the AQI bar's colour and the map"

# ---- 4. layers --------------------------------------------------------------
eco_assert_eq "FeatureCollection $sites Point" "$(q "SELECT g->>'type' || ' ' || jsonb_array_length(g->'features') || ' '
    || (g->'features'->0->'geometry'->>'type') FROM rpt.geojson('sites') g")" \
    "layers: the sites as GeoJSON, for analysts"
eco_assert_eq "FeatureCollection" "$(q "SELECT rpt.geojson('grid')->>'type'")" "layers: the mobile grid"
eco_assert_eq "" "$(q "SELECT rpt.geojson('nope')")" "layers: an unknown layer is NULL"

# closed months rewritten in primary-key order (0029): the same readings,
# each partition once, again after a write
readings_md5() { q "SELECT md5(string_agg(site_id || ' ' || param_id || ' ' || period::text || ' ' || ts || ' ' || value || ' ' || flag::text,
    ',' ORDER BY site_id, param_id, period, ts)) FROM obs.reading WHERE ts < '2024-07-01 00:00Z'"; }
compact() { psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn ctl)" -c "SELECT obs.compact_partitions('2024-07-01 00:00Z', 10)"; }
md5_before=$(readings_md5)
eco_assert_eq "2 reading_202405 reading_202406" "$(compact) $(q "SELECT string_agg(partition, ' ' ORDER BY partition)
    FROM obs.partition_compacted")" "compaction: the two closed months (not July's, not the current one)"
eco_assert_eq "$md5_before 0" "$(readings_md5) $(compact)" "compaction: the same readings; done once"
eco_psql "UPDATE obs.reading r SET value = value FROM core.site s
    WHERE s.id = r.site_id AND s.code = 'air-dh01' AND r.ts = '2024-06-01 12:00+08'" >/dev/null
refresh >/dev/null
wait_compact_again() { [ "$(compact)" = 1 ]; }
eco_wait_until 10 wait_compact_again || eco_fail "compaction: a month written since is not compacted again"
eco_pass "compaction: a month written since is compacted again"

# ---- 5. eco-report --------------------------------------------------------------
SVC_OUT=$ECO_TEST_TMP/svc
yesterday=$(TZ=Asia/Shanghai date -d '1 day ago' +%F)
lastmonth=$(TZ=Asia/Shanghai date -d "$(TZ=Asia/Shanghai date +%Y-%m-01) 1 month ago" +%Y-%m)
spawn_report() {
    eco_spawn "$1" env ECO_PG_DSN="$(eco_dsn report)" ECO_MQTT_URL="mqtt://$ECO_MQTT_HOST:$ECO_MQTT_PORT" \
        ECO_MQTT_USER="$ECO_MQTT_REPORT_USER" ECO_MQTT_PASSWORD="$ECO_MQTT_REPORT_PASSWORD" \
        ECO_REPORT_INSTANCE="$1-$ECO_TEST_DB" ECO_REPORT_SHARE_GROUP="g-$ECO_TEST_DB" \
        ECO_REPORT_OUT_DIR="$SVC_OUT" ECO_REPORT_DELAY_MIN=0 ECO_REPORT_CATCHUP_DAYS=2 \
        ECO_REPORT_CHECK_S=1 ECO_REPORT_LAYERS_S=5 ECO_REPORT_STATUS_S=1 ECO_REPORT_COMPACT_S=1 \
        ECO_LOG_LEVEL=debug \
        "$(eco_bin eco-report)"
}
spawn_report rep1
spawn_report rep2
# due with a 2-day catch-up: the two days before today, and last month
# when it closed within those days
due=2
[ "$(TZ=Asia/Shanghai date +%d)" -le 2 ] && due=3
reports_done() { [ "$(q "SELECT count(*) FROM rpt.report_run WHERE state = 'done'")" -ge "$1" ]; }
eco_wait_until 120 reports_done "$due" ||
    eco_fail "eco-report made no scheduled reports: $(q "SELECT * FROM rpt.report_run")"
sleep 3
eco_assert_eq "$due 0" "$(q "SELECT count(*) || ' ' || count(*) FILTER (WHERE attempts > 1) FROM rpt.report_run")" \
    "eco-report: two instances make each due report once"
[ -s "$SVC_OUT/daily-$yesterday.html" ] || eco_fail "eco-report wrote no daily-$yesterday.html"
msg=$(eco_mqtt_sub integrator -t "eco/v1/report/daily/$yesterday" -C 1 -W 10) ||
    eco_fail "no retained eco/v1/report/daily/$yesterday"
echo "$msg" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["kind"] == "daily"' ||
    eco_fail "the retained report is not the document"
eco_pass "eco-report: yesterday's report as files and retained on eco/v1/report/daily/$yesterday"
eco_wait_until 30 test -s "$SVC_OUT/layers/layer-sites.geojson" || eco_fail "eco-report wrote no layers"
msg=$(eco_mqtt_sub integrator -t "eco/v1/report/layer/sites" -C 1 -W 10) || eco_fail "no retained sites layer"
eco_assert_eq "$sites" "$(echo "$msg" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["features"]))')" \
    "eco-report: the sites layer, retained"

# on request, over MQTT 5, under the caller's name
rr() {
    timeout 30 mosquitto_rr -h "$ECO_MQTT_HOST" -p "$ECO_MQTT_PORT" -V mqttv5 -u "$ECO_MQTT_ADMIN_USER" \
        -P "$ECO_MQTT_ADMIN_PASSWORD" -t "eco/v1/rpc/report/$1/$ECO_MQTT_ADMIN_USER" \
        -e "eco/v1/rpc/reply/$ECO_MQTT_ADMIN_USER/rep-$ECO_TEST_DB" -m "$2" -W 25 7>&-
}
reply=$(rr run '{"kind": "daily", "period": "2024-06-01"}') || eco_fail "no reply to run"
echo "$reply" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["ok"] and d["html"].endswith("daily-2024-06-01.html"), d' ||
    eco_fail "run: $reply"
[ -s "$SVC_OUT/daily-2024-06-01.html" ] || eco_fail "run wrote no page"
eco_assert_eq "done" "$(q "SELECT state FROM rpt.report_run WHERE kind = 'daily' AND period = '2024-06-01'")" \
    "eco-report: a report on request is recorded"
reply=$(rr run '{"kind": "daily", "period": "yesterday"}') || eco_fail "no reply to a bad period"
echo "$reply" | grep -q '"ok":false' || eco_fail "a bad period was not refused: $reply"
reply=$(rr run '{"kind": "hourly", "period": "2024-06-01"}') || eco_fail "no reply to a bad kind"
echo "$reply" | grep -q '"ok":false' || eco_fail "a bad kind was not refused: $reply"
eco_pass "eco-report: a report on request; bad requests refused with a reason"

# eco-report keeps the stored statistics up to date
compacted_at() { q "SELECT compacted_at FROM obs.partition_compacted WHERE partition = 'reading_202406'"; }
june_compacted=$(compacted_at)
eco_psql "UPDATE obs.reading r SET value = 80 FROM core.site s, core.param p
    WHERE s.id = r.site_id AND p.id = r.param_id AND s.code = 'air-dh01' AND p.code = 'pm25'
      AND r.ts = '2024-06-01 12:00+08'" "UPDATE obs.reading r SET value = 310 FROM core.site s, core.param p
    WHERE s.id = r.site_id AND p.id = r.param_id AND s.code = 'gas-ys04-1' AND p.code = 'so2_stack'
      AND r.ts = '2024-06-04 12:00+08'" >/dev/null
no_dirty() { [ "$(q "SELECT (SELECT count(*) FROM rpt.aqi_day_dirty) + (SELECT count(*) FROM rpt.aqi_region_dirty)
    + (SELECT count(*) FROM rpt.source_day_dirty)")" = 0 ]; }
eco_wait_until 30 no_dirty || eco_fail "eco-report does not refresh the stored statistics"
eco_assert_eq "0 107 310" "$(dirty_dh01) $(aqi_dh01) $(q "SELECT max_value FROM rpt.source_day_store d
    JOIN core.site s ON s.id = d.site_id WHERE s.code = 'gas-ys04-1' AND d.param = 'so2_stack' AND d.t = '2024-06-04'")" \
    "eco-report: the changed days stored again (AQI 107, the outlet's new maximum)"
# and compacts the month written to again
june_again() { [ "$(compacted_at)" != "$june_compacted" ]; }
eco_wait_until 30 june_again || eco_fail "eco-report does not compact a closed month written since"
eco_pass "eco-report: compacts a closed month written since"

eco_kill rep1
eco_kill rep2
eco_check_logs
