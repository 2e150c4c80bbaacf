#!/usr/bin/env bash
# ecoctl import readings: lab results from CSV go through MQTT and ingest
# into obs.reading; rows that cannot be sent or that ingest would refuse are
# named by file:line; an unreachable broker or refused password times out.
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
$p-s2,benzene,day,2024-06-01T00:00:00+08:00,3,,
$p-s2,pm25,day,2099-06-01T00:00:00+08:00,3,,
$p-s2,so2,day,2024-06-01T00:00:00+08:00,3,,ppm
$p-s2,so2,day,2024-06-01T00:00:00+08:00,11,,mg/m3
CSV
eco_mqtt_as sim
rc=0
out=$("$(eco_bin ecoctl)" import readings "$csv" 2>"$ECO_TEST_TMP/err") || rc=$?
err=$(cat "$ECO_TEST_TMP/err")
eco_assert_eq 1 "$rc" "exit status with bad rows"
for want in "lab.csv:5: unknown site" "lab.csv:6: period must be" "lab.csv:7: ts must be RFC 3339" \
    "lab.csv:8: value is not a number" "lab.csv:9: value 5000 ug/m3 outside the plausible range" \
    "lab.csv:10: unknown parameter" "lab.csv:11: ts is in the future" \
    'lab.csv:12: no conversion from unit "ppm"' "lab.csv:13: value 11000 ug/m3 outside"; do
    grep -qF "$want" <<<"$err" || eco_fail "stderr lacks '$want': $err"
done
grep -q "12 rows read (100%), 3 published, 3 acknowledged, 9 bad" <<<"$out" || eco_fail "summary: $out"
eco_pass "bad rows (syntax and registry: site, param, unit, range, future) named by file:line"

eco_wait_until 20 eco_psql_is 3 "SELECT count(*) FROM rpt.reading WHERE site LIKE '$p-%'"
eco_assert_eq "41.5 N|12 N|38 N" "$(eco_psql "SELECT string_agg(value || ' ' || flag, '|' ORDER BY site, param) FROM rpt.reading WHERE site LIKE '$p-%'")" "imported values (mg/m3 converted)"
sleep 1
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM rpt.deadletter WHERE source LIKE 'eco/v1/in/$p-%'")" \
    "no imported row reached ingest only to be refused"
eco_pass "good rows stored; every bad row reported by ecoctl, none dead-lettered by ingest"

# a device column: unknown devices are bad rows too
# (a reading of a minute ago, so that status below has a newest reading)
printf 'device,param,period,ts,value\n%s-d3,pm10,rt,%s,20\nnodev,pm10,hour,2024-06-01T01:00:00+08:00,20\n' \
    "$p" "$(date -u -d '1 minute ago' +%Y-%m-%dT%H:%M:%S+00:00)" >"$ECO_TEST_TMP/dev.csv"
rc=0
out=$("$(eco_bin ecoctl)" --json import readings "$ECO_TEST_TMP/dev.csv" 2>"$ECO_TEST_TMP/err") || rc=$?
eco_assert_eq 1 "$rc" "exit status with an unknown device"
grep -qF "dev.csv:3: unknown or inactive device" "$ECO_TEST_TMP/err" || eco_fail "device: $(cat "$ECO_TEST_TMP/err")"
python3 - "$out" <<'PY' || eco_fail "import --json: $out"
import json, sys
o = json.loads(sys.argv[1])
assert o == {"file": o["file"], "rows": 2, "published": 1, "acknowledged": 1, "bad_rows": 1,
             "timed_out": False}, o
assert o["file"].endswith("dev.csv")
PY
eco_wait_until 20 eco_psql_is 4 "SELECT count(*) FROM rpt.reading WHERE site LIKE '$p-%'"
eco_pass "device column checked against core.device; --json summary is an object"

# an unreachable broker or a refused password: one line, exit 1, no hang
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for case in unreachable password; do
    if [ $case = unreachable ]; then
        url="mqtt://127.0.0.1:$port" pw=$ECO_MQTT_PASSWORD
    else
        url=$ECO_MQTT_URL pw=wrong-password
    fi
    t0=$(eco__now_ms)
    rc=0
    out=$(ECO_MQTT_URL=$url ECO_MQTT_PASSWORD=$pw timeout 30 "$(eco_bin ecoctl)" import readings \
        --timeout 2 "$csv" 2>"$ECO_TEST_TMP/err") || rc=$?
    ms=$(($(eco__now_ms) - t0))
    eco_assert_eq 1 "$rc" "exit status, broker $case"
    eco_assert_eq 1 "$(wc -l <"$ECO_TEST_TMP/err")" "one line on stderr, broker $case: $(cat "$ECO_TEST_TMP/err")"
    grep -q "no connection to the broker at $url within 2 s" "$ECO_TEST_TMP/err" ||
        eco_fail "broker $case: $(cat "$ECO_TEST_TMP/err")"
    [ "$ms" -ge 1900 ] && [ "$ms" -lt 8000 ] || eco_fail "broker $case: gave up after $ms ms, not ~2 s"
    [ -z "$out" ] || eco_fail "broker $case: stdout $out"
done
eco_pass "unreachable broker and refused password: one line and exit 1 after --timeout"

# ecoctl status sees the readings and the running ingest instance
eco_mqtt_as admin
eco_wait_until 20 eco_psql_is t "SELECT count(*) > 0 FROM obs.latest" # updated once a second
st=$("$(eco_bin ecoctl)" --json status)
python3 - "$st" "$p" <<'PY' || eco_fail "ecoctl --json status: $st"
import json, re, sys
o, p = json.loads(sys.argv[1]), sys.argv[2]
svc = {s["topic"]: s["payload"] for s in o["services"]}
assert svc["eco/v1/sys/ingest/" + p]["status"] == "online", svc
assert isinstance(o["ingest_positions"], dict) and isinstance(o["ingest_positions"][p], int), o
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", o["newest_reading"]), o
assert o["broker"] == "connected" and o["readings_last_hour"] == 1 and o["sites"] == 5, o
PY
eco_pass "ecoctl status"

# usage errors
rc=0; "$(eco_bin ecoctl)" import readings >/dev/null 2>&1 || rc=$?
eco_assert_eq 2 "$rc" "usage error exit status"
printf 'site,param\nx,y\n' >"$ECO_TEST_TMP/short.csv"
rc=0; "$(eco_bin ecoctl)" import readings "$ECO_TEST_TMP/short.csv" >/dev/null 2>&1 || rc=$?
eco_assert_eq 1 "$rc" "a file without the required columns is refused"

# CSV syntax (libshared/csv): a malformed record is named with its reason and
# the reader goes on at the next line; line numbers count the line breaks
# inside quoted fields
printf 'site,param,period,ts,value\nx"y,pm25,day,2024-06-01T00:00:00+08:00,1\n"no\nsuch",pm25,day,2024-06-01T00:00:00+08:00,1\nnosuch2,pm25,day,2024-06-01T00:00:00+08:00,1\n' \
    >"$ECO_TEST_TMP/syntax.csv"
rc=0
"$(eco_bin ecoctl)" import readings "$ECO_TEST_TMP/syntax.csv" >/dev/null 2>"$ECO_TEST_TMP/err" || rc=$?
eco_assert_eq 1 "$rc" "exit status with a malformed record"
for want in "syntax.csv:2: malformed CSV: quote inside an unquoted field" "syntax.csv:3: unknown site" \
    "syntax.csv:5: unknown site"; do
    grep -qF "$want" "$ECO_TEST_TMP/err" || eco_fail "stderr lacks '$want': $(cat "$ECO_TEST_TMP/err")"
done
eco_pass "a malformed CSV record is named with its reason; the rows after it are still read"
eco_kill ingest TERM
