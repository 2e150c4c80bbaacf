#!/usr/bin/env bash
# Water quality classes per GB 3838-2002 (surface) and GB 3097-1997 (sea) by
# the single-factor method (migration 0016, docs/WATER.md), in a real
# PostgreSQL, against the sample registry's class limits and hand-computed
# values (../shared/specs/aqi-water.md b and c):
#   1. rpt.water_item_class: the spec's examples, values exactly at a class
#      limit, DO (higher is better; "more than" in the sea), pH (a range),
#      a reservoir's own TP column;
#   2. rpt.water_monthly from stored readings: monthly means of daily means
#      in exact arithmetic, the deciding and exceeding items and their
#      multiples, TN apart, flagged values and short days left out, a month
#      with too few days (and a site's own setting), a site without a target
#      class, a station's daily values;
#   3. rpt.water_daily.
set -euo pipefail
# shellcheck source=../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

eco_db_new t_water
"$(eco_bin ecoctl)" registry load "$ECO_SOURCE_DIR/deploy/sample" >/dev/null
q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn analyst)" -c "$1"; }
cls() { # SITE PARAM VALUE...: the classes, space-separated
    local site=$1 param=$2 out=() v
    shift 2
    for v in "$@"; do
        out+=("$(q "SELECT coalesce(rpt.water_item_class('$site', '$param', $v)::text, '-')")")
    done
    echo "${out[*]}"
}

# 1. one value at a time. water-dh05 is a river mouth (kind rows, river TP),
# water-dh01 a reservoir (its own lake TP and TN rows), sea-pts01 seawater.
eco_assert_eq "3 3 2 4" "$(echo $(cls water-dh05 do 5.5) $(cls water-dh05 codmn 4.5) \
    $(cls water-dh05 nh3n 0.45) $(cls water-dh05 tp 0.25))" \
    "spec example 1: DO 5.5 III, CODMn 4.5 III, NH3-N 0.45 II, TP 0.25 IV"
eco_assert_eq "6 4 6 5" "$(echo $(cls water-dh05 do 1.8) $(cls water-dh05 codmn 7.2) \
    $(cls water-dh05 nh3n 2.5) $(cls water-dh05 tp 0.38))" \
    "spec example 2: DO 1.8 worse than V, CODMn 7.2 IV, NH3-N 2.5 worse than V, TP 0.38 V"
eco_assert_eq "3 4 1 2 5 6" "$(echo $(cls water-dh05 tp 0.2 0.2001) $(cls water-dh05 nh3n 0.15 0.5) $(cls water-dh05 codmn 15 15.01))" \
    "a value equal to a class limit is in that (the better) class"
eco_assert_eq "1 1 2 3 3 5 6 6" "$(cls water-dh05 do 7.5 9 7.49 5 5.99 2 1.99 0)" \
    "DO: at least the limit (7.5 is I, 5 is III, 2 is V, under 2 worse than V)"
eco_assert_eq "1 1 1 6 6" "$(cls water-dh05 ph 6 7.5 9 5.99 9.01)" "pH 6-9 is every class; outside it worse than V"
eco_assert_eq "3 3 4 2 3 -" "$(echo $(cls water-dh01 tp 0.04 0.05 0.051 0.025) $(cls water-dh01 tn 0.9) $(cls water-dh05 tn 0.9))" \
    "a reservoir's own TP and TN columns (TP 0.04 III, not II as in a river); a river has no TN class"
eco_assert_eq "4 4 5 3 3 2" "$(echo $(cls sea-pts01 din 0.45) $(cls sea-pts01 po4p 0.035) $(cls sea-pts01 din 0.60) \
    $(cls sea-pts01 do 4.5 5 5.01))" \
    "sea: DIN 0.45 class 4, phosphate 0.035 class 4, DIN 0.60 worse than 4, DO 4.5 class 3, DO 5 class 3 (more than 5 for class 2)"
eco_assert_eq "1 1 3 3 5 5 2" "$(echo $(cls sea-pts01 ph 7.8 8.5 8.6 6.8 6.79 9.0) $(cls sea-pts01 po4p 0.030))" \
    "sea pH 7.8-8.5 class 1, 6.8-8.8 class 3, outside worse than 4; phosphate 0.030 is class 2"
eco_pass "item classes as GB 3838-2002 and GB 3097-1997"

# 2. stored readings. A site without a target class:
eco_psql "INSERT INTO core.site (code, name, kind, region, geom)
    VALUES ('water-nt01', 'no target', 'water', 'ZS-DH', ST_SetSRID(ST_MakePoint(122.1, 30.0), 4326))" \
    "SELECT obs.ensure_partitions('2024-05-31', '2024-09-02')" >/dev/null
# hourly SITE PARAM FIRST_DAY LAST_DAY VALUE_EXPR [HOURS] [FLAG]: one value
# at each of HOURS (default every 4 hours) of each day (Beijing), VALUE_EXPR
# in SQL over h (the hour) and d (the day)
hourly() {
    printf "INSERT INTO obs.reading (site_id, param_id, period, ts, value, flag)
        SELECT s.id, p.id, 'h', (d::timestamp + make_interval(hours => h)) AT TIME ZONE 'Asia/Shanghai',
               %s, '%s'
        FROM core.site s, core.param p, generate_series('%s'::date, '%s'::date, '1 day') AS g (d),
             unnest('{%s}'::int[]) AS u (h)
        WHERE s.code = '%s' AND p.code = '%s';\n" "$5" "${7:-N}" "$3" "$4" "${6:-0,4,8,12,16,20}" "$1" "$2"
}
daily() { # SITE PARAM FIRST_DAY LAST_DAY VALUE: the station's daily values
    printf "INSERT INTO obs.reading (site_id, param_id, period, ts, value)
        SELECT s.id, p.id, 'd', d::timestamp AT TIME ZONE 'Asia/Shanghai', %s
        FROM core.site s, core.param p, generate_series('%s'::date, '%s'::date, '1 day') AS g (d)
        WHERE s.code = '%s' AND p.code = '%s';\n" "$5" "$3" "$4" "$1" "$2"
}
{
    # water-dh05 (river, target III), June: spec example 1 on 20 days, TP
    # 0.2 for ten days and 0.3 for ten (mean 0.25, IV); a flagged TP value
    # and a 21st day of three hourly values that do not count
    for p in "do 5.5" "codmn 4.5" "nh3n 0.45" "ph 7.2"; do
        set -- $p
        hourly water-dh05 "$1" 2024-06-01 2024-06-20 "$2"
        hourly water-dh05 "$1" 2024-06-21 2024-06-21 9.9 0,4,8
    done
    hourly water-dh05 tp 2024-06-01 2024-06-10 0.2
    hourly water-dh05 tp 2024-06-11 2024-06-20 0.3
    hourly water-dh05 tp 2024-06-05 2024-06-05 9.9 2 D
    hourly water-dh05 tp 2024-06-21 2024-06-21 9.9 0,4,8
    # July: every item exactly at its class III limit (TP 0.1, 0.2, 0.3 in
    # turn: a mean of 0.2 exactly, 0.20000000000000004 in binary floating
    # point), pH 9; 20 days
    hourly water-dh05 do 2024-07-01 2024-07-20 5
    hourly water-dh05 codmn 2024-07-01 2024-07-20 6
    hourly water-dh05 nh3n 2024-07-01 2024-07-20 1.0
    hourly water-dh05 ph 2024-07-01 2024-07-20 9
    hourly water-dh05 tp 2024-07-01 2024-07-20 "(ARRAY[0.1, 0.2, 0.3])[(h / 4) % 3 + 1]"
    # August: 19 days only
    hourly water-dh05 do 2024-08-01 2024-08-19 6.5
    hourly water-dh05 tp 2024-08-01 2024-08-19 0.05
    # water-dh01 (reservoir, target II), June: the spec's lake example
    for p in "do 8.1" "codmn 1.9" "nh3n 0.12" "tp 0.04" "tn 0.9"; do
        set -- $p
        hourly water-dh01 "$1" 2024-06-01 2024-06-30 "$2"
    done
    # sea-pts01 (target 2), June
    for p in "do 4.5" "din 0.45" "po4p 0.035" "ph 8.1"; do
        set -- $p
        hourly sea-pts01 "$1" 2024-06-01 2024-06-25 "$2"
    done
    # water-nt01 (no target class), June: the station's daily values
    for p in "do 1.8" "codmn 7.2" "nh3n 2.5" "tp 0.38"; do
        set -- $p
        daily water-nt01 "$1" 2024-06-01 2024-06-22 "$2"
    done
} | eco_psql >/dev/null

m() { # SITE MONTH COLUMNS
    q "SELECT $3 FROM rpt.water_monthly WHERE site = '$1' AND month = '$2'"
}
eco_assert_eq "4|IV|轻度污染|3|f|{tp}|{tp}|{\"tp\": 0.25}|{\"tp\": 0.25}" \
    "$(m water-dh05 2024-06-01 "class, class_name, category, target_class, meets_target, deciding, exceeding,
        multiples, multiples_iii")" \
    "river, June: TP 0.25 (IV) decides; over the III target by 0.25 times"
eco_assert_eq "20|0.25|{}" "$(q "SELECT i.days, i.value, e.insufficient FROM rpt.water_monthly_item i
    JOIN rpt.water_monthly e USING (site, month) WHERE site = 'water-dh05' AND month = '2024-06-01'
    AND param = 'tp'")" "20 valid days: the flagged value and the day of three values are left out"
eco_assert_eq "3|t|{codmn,do,nh3n,tp}|{}|{}|0.2" "$(m water-dh05 2024-07-01 "class, meets_target, deciding, exceeding,
    multiples, means->>'tp'")" \
    "river, July: every item at its III limit is III (TP's mean is 0.2 exactly); pH 9 is I"
eco_assert_eq "|||{do,tp}" "$(m water-dh05 2024-08-01 "class, class_name, meets_target, insufficient")" \
    "August: 19 days are too few for a monthly class"
eco_assert_eq "2|t" "$(psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn ctl)" -c "BEGIN;
    INSERT INTO rpt.water_setting (name, site, value, note, source)
    VALUES ('min_days_month', 'water-dh05', '19', 'test', 'test');
    SELECT class, meets_target FROM rpt.water_monthly WHERE site = 'water-dh05' AND month = '2024-08-01';
    ROLLBACK;")" "a site's own min_days_month (19) makes August valid: DO 6.5 and TP 0.05 (river) are II"
eco_assert_eq "3|II|f|{tp}|{tp}|{\"tp\": 0.6}|{}|{\"tn\": 3}" \
    "$(m water-dh01 2024-06-01 "class, target_class_name, meets_target, deciding, exceeding, multiples,
        multiples_iii, other_items")" \
    "reservoir: TP 0.04 (lake column) is III, 0.6 times over II; TN apart"
eco_assert_eq "4|第四类|f|{din,po4p}|{din,do,po4p}|{\"din\": 0.5, \"po4p\": 0.17}" \
    "$(m sea-pts01 2024-06-01 "class, class_name, meets_target, deciding, exceeding, multiples")" \
    "sea: DIN and phosphate class 4 decide; DO (class 3) exceeds the target 2 without a multiple"
eco_assert_eq "6|劣V|重度污染|||{}|{}|{\"tp\": 0.9, \"nh3n\": 1.5, \"codmn\": 0.2}|{do,nh3n}" \
    "$(m water-nt01 2024-06-01 "class, class_name, category, target_class, meets_target, exceeding, multiples,
        multiples_iii, deciding")" \
    "no target class: no verdict; spec example 2 is worse than V, NH3-N 1.5 times over III (the station's daily values)"
eco_pass "monthly water classes"

# 3. daily
eco_assert_eq "3|true 4|false -|-" "$(q "SELECT coalesce(class::text, '-') || '|' || coalesce(meets_target::text, '-') FROM rpt.water_daily
    WHERE site = 'water-dh05' AND day IN ('2024-06-01', '2024-06-15', '2024-06-21') ORDER BY day" | tr '\n' ' ' |
    sed 's/ $//')" "daily: TP 0.2 is III, TP 0.3 IV; a day of three values has no class"
eco_pass "daily water classes"
