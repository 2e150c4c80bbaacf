#!/usr/bin/env bash
# Frames of field devices with a fault in one field, over real TCP to
# eco-ingest's HJ 212 gateway (bench_hj212 is the logger). For each: the good
# values are in obs.reading, the faulty field is in obs.deadletter with its
# reason (nothing else of the frame), and the logger got its 9014.
#   1. the misspelt item among eleven good pollutants ("LA-td=50.1"), with
#      Flag=7 but no PNUM/PNO and a trailing ';' in CP (a real frame);
#   2. a DataTime with milliseconds (17 digits);
#   3. a CN 2061 upload dated by BeginTime/EndTime instead of DataTime;
#   4. a key given twice with different values, Flag given twice (same
#      value), an item that is not key=value;
#   4b. a misspelt primary value beside other known ones ("w01018-avg" with
#      -Min): refused alone, not silently ignored;
#   5. still strict: two DataTimes, a span of hours without DataTime, or a
#      BeginTime..EndTime naming another period than DataTime (an hour
#      labelled by its end) refuse the frame (no answer, nothing stored).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

eco_db_new t_hj212_lenient
p="tl$$"
T=$ECO_TEST_TMP
BENCH=$(eco_bin bench_hj212)
ECOCTL=$(eco_bin ecoctl)

"$ECOCTL" registry load "$ECO_SOURCE_DIR/deploy/sample" >"$T/load.out" 2>&1 ||
    { cat "$T/load.out" >&2; eco_fail "loading deploy/sample failed"; }
AIR=A1$p AIR_PW=654321 # site $p-air, ST 22
WW=W1$p WW_PW=498828   # site $p-ww, ST 32
eco_psql "
INSERT INTO core.site (code, name, kind, region, enterprise, geom)
  SELECT '$p-' || x.n, s.name, s.kind, s.region, s.enterprise, s.geom
  FROM (VALUES ('air', 'air-dh01'), ('ww', 'ww-ys01-1')) AS x(n, tpl) JOIN core.site s ON s.code = x.tpl;
INSERT INTO core.device (code, site, protocol, password_hash, hj212_st) VALUES
  ('$AIR', '$p-air', 'hj212', crypt('$AIR_PW', gen_salt('bf', 8)), '22'),
  ('$WW', '$p-ww', 'hj212', crypt('$WW_PW', gen_salt('bf', 8)), '32');
INSERT INTO core.param (code, hj212_code, name, unit, valid_min, valid_max)
  VALUES ('tsp', 'a34001', 'TSP', 'µg/m³', 0, 5000) ON CONFLICT DO NOTHING;" >/dev/null

ingest_start ingest "$p" ECO_INGEST_HJ212_ADDR=127.0.0.1:0 ECO_LOG_LEVEL=debug
LOG=$(eco_log ingest)
port=$(sed -n 's/.*msg="hj212 gateway listening" addr=127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$LOG" | head -n 1)
[ -n "$port" ] || eco_fail "no 'hj212 gateway listening' line in the log"
ADDR=127.0.0.1:$port

# send NAME SEGMENT...: one connection; the answers are in $T/NAME.ans
send() {
    local name=$1
    shift
    "$BENCH" frame "$@" >"$T/$name.req"
    "$BENCH" send "$ADDR" --wait 30 <"$T/$name.req" >"$T/$name.ans"
}
# expect_answers NAME SEGMENT...: exactly the 9014s to these segments
expect_answers() {
    local name=$1 s
    shift
    : >"$T/$name.want"
    for s in "$@"; do
        "$BENCH" answer "$s" >>"$T/$name.want"
    done
    cmp -s "$T/$name.want" "$T/$name.ans" ||
        eco_fail "$name: answers differ: want '$(cat -v "$T/$name.want")', got '$(cat -v "$T/$name.ans")'"
}
dead() { # QN -> reason of its dead letters
    eco_psql "SELECT reason FROM rpt.deadletter WHERE payload LIKE '%QN=$1;%' ORDER BY id"
}

# ------------------------------------------- 1. the misspelt item (real frame)
S1="QN=20160801085000001;ST=22;CN=2011;PW=$AIR_PW;MN=$AIR;Flag=7;CP=&&DataTime=20160801084000;a21005-Rtd=1.1,a21005-Flag=N;a21004-Rtd=112,a21004-Flag=N;a21026-Rtd=58,a21026-Flag=N;LA-td=50.1,LA-Flag=N;a34004-Rtd=207,a34004-Flag=N;a34002-Rtd=295,a34002-Flag=N;a01001-Rtd=12.6,a01001-Flag=N;a01002-Rtd=32,a01002-Flag=N;a01006-Rtd=101.02,a01006-Flag=N;a01007-Rtd=2.1,a01007-Flag=N;a01008-Rtd=120,a01008-Flag=N;a34001-Rtd=217,a34001-Flag=N;&&"
send misspelt "$S1"
expect_answers misspelt "$S1"
eco_pass "Flag=7 without PNUM/PNO and a misspelt item: the logger gets its 9014"
eco_wait_until 20 eco_psql_is 11 "SELECT count(*) FROM rpt.reading WHERE site = '$p-air'"
eco_assert_eq "air_temp,co,no2,pm10,pm25,pressure,rh,so2,tsp,wind_dir,wind_speed" \
    "$(eco_psql "SELECT string_agg(param, ',' ORDER BY param) FROM rpt.reading WHERE site = '$p-air' AND ts = '2016-08-01 08:40:00+08'")" \
    "the eleven good pollutants are stored"
eco_wait_until 20 eco_psql_is 1 "SELECT count(*) FROM rpt.deadletter WHERE payload LIKE '%QN=20160801085000001;%'"
eco_assert_eq "rejected fields: LA-td=50.1 (unknown)" "$(dead 20160801085000001)" \
    "the misspelt item, and only it, is dead-lettered with its reason"

# ------------------------------------------- 2. DataTime with milliseconds
S2="QN=20210305003817001;ST=32;CN=2011;PW=$WW_PW;MN=$WW;Flag=5;CP=&&DataTime=20210305003817250;w01018-Rtd=40.5,w01018-Flag=N&&"
# ------------------------------------------- 3. 2061 dated by BeginTime/EndTime
S3="QN=20210305010000001;ST=32;CN=2061;PW=$WW_PW;MN=$WW;Flag=5;CP=&&BeginTime=20210305000000;EndTime=20210305010000;w01018-Avg=41.5,w01018-Flag=N;w00000-Avg=3.5,w00000-Flag=N&&"
# ------------------------------------------- 4. conflicting key, repeated Flag, a broken item
S4="QN=20210305020000001;ST=32;CN=2011;PW=$WW_PW;MN=$WW;Flag=5;Flag=5;CP=&&DataTime=20210305020000;w01018-Rtd=42,w01018-Flag=N;w01018-Rtd=43;w00000-Rtd=4.5,w00000-Flag=N;w21003-Rtd;w21001-Rtd=abc&&"
send faults "$S2" "$S3" "$S4"
expect_answers faults "$S2" "$S3" "$S4"
eco_pass "each frame with a faulty field is answered"
eco_wait_until 20 eco_psql_is 4 "SELECT count(*) FROM rpt.reading WHERE site = '$p-ww'"
eco_assert_eq "flow hour 2021-03-05 00:00:00.000 3.5 N
cod hour 2021-03-05 00:00:00.000 41.5 N
cod rt 2021-03-05 00:38:17.250 40.5 N
flow rt 2021-03-05 02:00:00.000 4.5 N" \
    "$(eco_psql "SELECT param || ' ' || period || ' ' || to_char(ts AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS.MS')
                   || ' ' || value || ' ' || flag FROM rpt.reading WHERE site = '$p-ww' ORDER BY ts, period DESC, param DESC")" \
    "milliseconds kept; BeginTime dates the hour; the good values of a frame with a conflict stored"
eco_wait_until 20 eco_psql_is 1 "SELECT count(*) FROM rpt.deadletter WHERE payload LIKE '%QN=20210305020000001;%'"
eco_assert_eq "rejected fields: w21003-Rtd (syntax), w01018-Rtd=42 (conflict), w01018-Rtd=43 (conflict), w21001-Rtd=abc (number)" \
    "$(dead 20210305020000001)" "the conflicting, broken and non-numeric items are dead-lettered with their reasons"
eco_assert_eq "" "$(dead 20210305003817001)$(dead 20210305010000001)" \
    "a DataTime with milliseconds and BeginTime/EndTime are no faults: no dead letter"

# ------------------------------------------- 4b. a misspelt primary beside other values
S5="QN=20210305050000001;ST=32;CN=2061;PW=$WW_PW;MN=$WW;Flag=5;CP=&&DataTime=20210305040000;w01018-avg=46.5,w01018-Min=40,w01018-Flag=N;w00000-Avg=5.5,w00000-Flag=N&&"
send misspelt2 "$S5"
expect_answers misspelt2 "$S5"
eco_wait_until 20 eco_psql_is 5 "SELECT count(*) FROM rpt.reading WHERE site = '$p-ww'"
eco_assert_eq "flow 5.5" \
    "$(eco_psql "SELECT param || ' ' || value FROM rpt.reading WHERE site = '$p-ww' AND ts = '2021-03-05 04:00:00+08'")" \
    "the good value beside a misspelt -avg is stored"
eco_wait_until 20 eco_psql_is 1 "SELECT count(*) FROM rpt.deadletter WHERE payload LIKE '%QN=20210305050000001;%'"
eco_assert_eq "rejected fields: w01018-avg=46.5 (unknown)" "$(dead 20210305050000001)" \
    "a misspelt -avg beside -Min is dead-lettered, not silently dropped"

# ------------------------------------------- 5. ambiguous: still refused whole
B1="QN=20210305030000001;ST=32;CN=2011;PW=$WW_PW;MN=$WW;Flag=5;CP=&&DataTime=20210305030000;DataTime=20210305031000;w01018-Rtd=44&&"
B2="QN=20210305040000001;ST=32;CN=2061;PW=$WW_PW;MN=$WW;Flag=5;CP=&&BeginTime=20210305000000;EndTime=20210305040000;w01018-Avg=45&&"
B3="QN=20210305060000001;ST=32;CN=2061;PW=$WW_PW;MN=$WW;Flag=5;CP=&&DataTime=20210305060000;BeginTime=20210305050000;EndTime=20210305060000;w01018-Avg=47&&"
send ambiguous "$B1" "$B2" "$B3"
[ ! -s "$T/ambiguous.ans" ] || eco_fail "an ambiguous frame was answered: $(cat -v "$T/ambiguous.ans")"
amb="payload LIKE '%QN=2021030503000000%' OR payload LIKE '%QN=2021030504000000%' OR payload LIKE '%QN=2021030506000000%'"
eco_wait_until 20 eco_psql_is 3 "SELECT count(*) FROM rpt.deadletter WHERE $amb"
eco_assert_eq "time
time
time" "$(eco_psql "SELECT split_part(reason, ':', 1) FROM rpt.deadletter WHERE $amb ORDER BY id")" \
    "two DataTimes, hours of BeginTime..EndTime, or DataTime with another period's BeginTime..EndTime: refused whole (time)"
eco_assert_eq 5 "$(eco_psql "SELECT count(*) FROM rpt.reading WHERE site = '$p-ww'")" "nothing of them stored"

eco_kill ingest TERM
grep -q 'msg=stopped exit=0' "$LOG" || eco_fail "ingest did not stop cleanly"
