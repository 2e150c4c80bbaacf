#!/usr/bin/env bash
# Pollution-source exceedances (migration 0017, docs/WATER.md) in a real
# PostgreSQL, against the sample registry's emission limits and
# hand-computed values:
#   1. an outlet's own limit before its kind's;
#   2. flue gas (hourly limit): hourly values, the mean of minute data for an
#      hour without one (45 minutes of it), flagged values left out, a value
#      equal to the limit is no exceedance; hours and days over, the largest
#      multiple, the amounts emitted above the limit from the flow;
#   3. wastewater (daily limit): daily means of 20 hourly values or the
#      outlet's daily value, pH under its range, hours over the daily limit;
#   4. the daily view.
set -euo pipefail
# shellcheck source=../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

eco_db_new t_source
"$(eco_bin ecoctl)" registry load "$ECO_SOURCE_DIR/deploy/sample" >/dev/null
q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn analyst)" -c "$1"; }

# 1. a kind-wide SO2 limit of 200 for flue gas: gas-ys05-1 (no own row)
# takes it, gas-ys04-1 keeps its own 100 (GB 13223-2011, coal boiler)
eco_psql "INSERT INTO core.limit (site_kind, param, period, upper, standard)
    VALUES ('gas_outlet', 'so2_stack', 'hour', 200, 'test: kind-wide')" \
    "SELECT obs.ensure_partitions('2024-05-31', '2024-07-02')" >/dev/null
eco_assert_eq "gas-ys04-1|100 gas-ys05-1|200" "$(q "SELECT site || '|' || upper FROM rpt.source_limit
    WHERE param = 'so2_stack' AND site IN ('gas-ys04-1', 'gas-ys05-1') ORDER BY site" | tr '\n' ' ' |
    sed 's/ $//')" "an outlet's own limit before its kind's"

# put SITE PARAM PERIOD FIRST LAST STEP VALUE [FLAG]: a value every STEP
# from FIRST to LAST (Beijing time)
put() {
    printf "INSERT INTO obs.reading (site_id, param_id, period, ts, value, flag)
        SELECT s.id, p.id, '%s', t, %s, '%s'
        FROM core.site s, core.param p,
             generate_series('%s+08'::timestamptz, '%s+08'::timestamptz, '%s') AS g (t)
        WHERE s.code = '%s' AND p.code = '%s';\n" "$3" "$7" "${8:-N}" "$4" "$5" "$6" "$1" "$2"
}
# 2. gas-ys04-1, SO2 limit 100 mg/m3 hourly, flow 50 m3/s every hour:
# June 1: 80 but hour 10 150, hour 11 100 (at the limit), hour 12 from six
# 10-minute values (mean 110), hour 13 four 10-minute values (40 minutes:
# no hourly value), hour 14 a flagged hourly 500 and six minute values of 90;
# June 2: 80; June 3: 80 but hour 7 130
{
    put gas-ys04-1 flow_stack h "2024-06-01 00:00" "2024-06-03 23:00" "1 hour" 50
    put gas-ys04-1 so2_stack h "2024-06-01 00:00" "2024-06-01 09:00" "1 hour" 80
    put gas-ys04-1 so2_stack h "2024-06-01 10:00" "2024-06-01 10:00" "1 hour" 150
    put gas-ys04-1 so2_stack h "2024-06-01 11:00" "2024-06-01 11:00" "1 hour" 100
    put gas-ys04-1 so2_stack m "2024-06-01 12:00" "2024-06-01 12:40" "10 minutes" 120
    put gas-ys04-1 so2_stack m "2024-06-01 12:50" "2024-06-01 12:50" "10 minutes" 60
    put gas-ys04-1 so2_stack m "2024-06-01 13:00" "2024-06-01 13:30" "10 minutes" 200
    put gas-ys04-1 so2_stack h "2024-06-01 14:00" "2024-06-01 14:00" "1 hour" 500 D
    put gas-ys04-1 so2_stack m "2024-06-01 14:00" "2024-06-01 14:50" "10 minutes" 90
    put gas-ys04-1 so2_stack h "2024-06-01 15:00" "2024-06-03 06:00" "1 hour" 80
    put gas-ys04-1 so2_stack h "2024-06-03 07:00" "2024-06-03 07:00" "1 hour" 130
    put gas-ys04-1 so2_stack h "2024-06-03 08:00" "2024-06-03 23:00" "1 hour" 80
} | eco_psql >/dev/null
eco_assert_eq "110|min 90|min" "$(q "SELECT trim_scale(v.value) || '|' || v.source FROM rpt.source_hour_value v
    JOIN core.site s ON s.id = v.site_id WHERE s.code = 'gas-ys04-1' AND v.param = 'so2_stack'
    AND v.hour BETWEEN '2024-06-01 12:00+08' AND '2024-06-01 14:00+08' ORDER BY v.hour" | tr '\n' ' ' |
    sed 's/ $//')" "minute data make an hourly value when they cover 45 minutes; a flagged hourly value does not count"
# 71 hourly values (72 less hour 13 of June 1); over: 150, 110, 130 on two
# days; largest multiple (150 - 100) / 100 = 0.5; emitted in those hours
# (150 + 110 + 130) mg/m3 x 50 m3/s x 3600 s = 70.2 kg, above the limit
# (50 + 10 + 30) x 50 x 3600 = 16.2 kg
eco_assert_eq "ent-ys04|鱼山热电联产有限公司|hour|100|71|3|3|2|150|0.5|70.2|16.2|2024-06-01 10:00:00+08|2024-06-03 07:00:00+08" \
    "$(q "SET timezone = 'Asia/Shanghai'; SELECT enterprise, enterprise_name, limit_period, upper, hours, hours_over,
        days, days_over, max_value, max_multiple, emission_kg_over, excess_kg, first_over, last_over
        FROM rpt.source_exceedance WHERE outlet = 'gas-ys04-1' AND param = 'so2_stack' AND month = '2024-06-01'")" \
    "flue gas: hours and days over the hourly limit, the largest multiple, the amounts"
eco_pass "flue-gas exceedances from hourly and minute data"

# 3. ww-ds02-1 (GB 8978-1996 grade 1: COD 100 mg/L, pH 6-9, daily), flow
# 10 L/s: June 1 COD 90 but hour 5 150 (mean 92.5: no exceedance, one hour
# over), pH 5.5 all day; June 2 COD 120 all day; June 3 COD 200 on 19 hours
# only (no daily mean); June 4 the outlet's daily values COD 130, flow 10
{
    put ww-ds02-1 flow h "2024-06-01 00:00" "2024-06-03 23:00" "1 hour" 10
    put ww-ds02-1 cod h "2024-06-01 00:00" "2024-06-01 23:00" "1 hour" "CASE WHEN extract(hour FROM t AT TIME ZONE 'Asia/Shanghai') = 5 THEN 150 ELSE 90 END"
    put ww-ds02-1 ph h "2024-06-01 00:00" "2024-06-01 23:00" "1 hour" 5.5
    put ww-ds02-1 cod h "2024-06-02 00:00" "2024-06-02 23:00" "1 hour" 120
    put ww-ds02-1 cod h "2024-06-03 00:00" "2024-06-03 18:00" "1 hour" 200
    put ww-ds02-1 cod d "2024-06-04 00:00" "2024-06-04 00:00" "1 day" 130
    put ww-ds02-1 flow d "2024-06-04 00:00" "2024-06-04 00:00" "1 day" 10
} | eco_psql >/dev/null
# days: June 1, 2, 4 evaluated, 2 and 4 over; hours over: 1 + 24 + 19;
# emitted on those days (120 + 130) mg/L x 10 L/s x 86400 s = 216 kg,
# above the limit (20 + 30) x 10 x 86400 = 43.2 kg
eco_assert_eq "day|67|44|3|2|130|0.3|216|43.2" \
    "$(q "SELECT limit_period, hours, hours_over, days, days_over, max_value, max_multiple, emission_kg_over,
        excess_kg FROM rpt.source_exceedance WHERE outlet = 'ww-ds02-1' AND param = 'cod' AND month = '2024-06-01'")" \
    "wastewater: days over the daily limit from daily means (20 hours) and the outlet's daily value"
eco_assert_eq "1|1|5.5|||" "$(q "SELECT days, days_over, max_value, max_multiple, emission_kg_over, excess_kg
    FROM rpt.source_exceedance WHERE outlet = 'ww-ds02-1' AND param = 'ph' AND month = '2024-06-01'")" \
    "pH under its range is an exceedance, without multiple or amount"
eco_pass "wastewater exceedances against daily limits"

# 4. per day
eco_assert_eq "2024-06-01|24|1|f 2024-06-02|24|24|t 2024-06-03|19|19|f 2024-06-04|0|0|t" \
    "$(q "SELECT day || '|' || hours || '|' || hours_over || '|' || (CASE WHEN day_over THEN 't' ELSE 'f' END)
        FROM rpt.source_exceedance_daily WHERE outlet = 'ww-ds02-1' AND param = 'cod' ORDER BY day" |
        tr '\n' ' ' | sed 's/ $//')" "daily view: hours over and whether the day's value is over"
eco_pass "daily source exceedances"
