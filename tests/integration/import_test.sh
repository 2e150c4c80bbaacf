#!/usr/bin/env bash
# ecoctl import readings: lab results from CSV go through MQTT and ingest
# into obs.reading; rows that cannot be sent are named by file:line; values
# ingest refuses become dead letters.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

eco_db_new t_import
p="im$$"
ingest_registry "$p"
ingest_start ingest "$p"

csv="$ECO_TEST_TMP/lab.csv"
cat >"$csv" <<CSV
site,param,period,ts,value,flag,unit
$p-s0,pm25,day,2024-06-01T00:00:00+08:00,41.5,N,
$p-s0,so2,day,2024-06-01T00:00:00+08:00,0.012,,mg/m3
$p-s1,pm25,day,2024-06-01T00:00:00+08:00,38,,
nosuchsite,pm25,day,2024-06-01T00:00:00+08:00,1,,
$p-s1,pm25,week,2024-06-01T00:00:00+08:00,1,,
$p-s1,pm25,day,2024-06-01 00:00,1,,
$p-s1,pm25,day,2024-06-02T00:00:00+08:00,lots,,
"$p-s2",pm25,day,2024-06-01T00:00:00+08:00,5000,,
CSV
eco_mqtt_as device
rc=0
out=$("$(eco_bin ecoctl)" import readings "$csv" 2>"$ECO_TEST_TMP/err") || rc=$?
err=$(cat "$ECO_TEST_TMP/err")
eco_assert_eq 1 "$rc" "exit status with bad rows"
for want in "lab.csv:5: unknown site" "lab.csv:6: period must be" "lab.csv:7: ts must be RFC 3339" \
    "lab.csv:8: value is not a number"; do
    grep -qF "$want" <<<"$err" || eco_fail "stderr lacks '$want': $err"
done
grep -q "8 rows read (100%), 4 published, 4 acknowledged, 4 bad" <<<"$out" || eco_fail "summary: $out"
eco_pass "bad rows named by file:line; good rows published"

eco_wait_until 20 eco_psql_is 3 "SELECT count(*) FROM rpt.reading WHERE site LIKE '$p-%'"
eco_assert_eq "41.5 N|12 N|38 N" "$(eco_psql "SELECT string_agg(value || ' ' || flag, '|' ORDER BY site, param) FROM rpt.reading WHERE site LIKE '$p-%'")" "imported values (mg/m3 converted)"
eco_wait_until 20 eco_psql_is 1 "SELECT count(*) FROM rpt.deadletter WHERE source = 'eco/v1/in/$p-d2'"
grep -q "outside the plausible range" <<<"$(eco_psql "SELECT reason FROM rpt.deadletter WHERE source = 'eco/v1/in/$p-d2'")" ||
    eco_fail "the implausible lab value was not dead-lettered with its reason"
eco_pass "imported rows stored; the implausible one dead-lettered"

# ecoctl status sees the readings and the running ingest instance
eco_mqtt_as admin
st=$("$(eco_bin ecoctl)" --json status)
grep -q "\"topic\":\"eco/v1/sys/ingest/$p\",\"payload\":{\"status\":\"online\"" <<<"$st" ||
    eco_fail "ecoctl status does not show ingest $p online: $st"
grep -q '"dead letters\|"deadletters_last_day":1' <<<"$st" || eco_fail "ecoctl status dead letters: $st"
eco_pass "ecoctl status"

# usage errors
rc=0; "$(eco_bin ecoctl)" import readings >/dev/null 2>&1 || rc=$?
eco_assert_eq 2 "$rc" "usage error exit status"
printf 'site,param\nx,y\n' >"$ECO_TEST_TMP/short.csv"
rc=0; "$(eco_bin ecoctl)" import readings "$ECO_TEST_TMP/short.csv" >/dev/null 2>&1 || rc=$?
eco_assert_eq 1 "$rc" "a file without the required columns is refused"
eco_kill ingest TERM
