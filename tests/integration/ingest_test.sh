#!/usr/bin/env bash
# eco-ingest end to end: readings in over MQTT, rows in obs.reading, latest
# values, tracks, dead letters, republished obs/latest/dlq messages, a
# repeated message stored once, and a clean exit on SIGTERM.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

eco_db_new t_ingest
p="ti$$"
ingest_registry "$p"

# watch what ingest republishes for this test's sites
eco_spawn watch eco_mqtt_sub admin -i "$p-watch" -q 1 -W 60 -v \
    -t "eco/v1/obs/$p-s0" -t "eco/v1/obs/$p-m" -t "eco/v1/dlq/ingest" -t "eco/v1/latest/$p-s0/+"
ingest_start ingest "$p"

pub() { eco_mqtt_pub sim -q 1 -t "eco/v1/in/$1" -m "$2"; }
# the contract's example message, with a unit to convert
pub "$p-d0" '{"ts": "2021-06-01T08:00:00+08:00", "period": "hour",
  "values": {"pm25": 35.2, "so2": {"v": 0.008, "flag": "N", "unit": "mg/m3"}, "co": {"v": 0.9, "flag": "D"}}}'
# partly bad: out of range, unknown parameter; so2 is good
pub "$p-d0" '{"ts": "2021-06-01T09:00:00+08:00", "period": "hour", "values": {"pm25": 5000, "xx": 1, "so2": 3}}'
pub "$p-dX" '{"ts": "2021-06-01T09:00:00+08:00", "period": "hour", "values": {"pm25": 5}}'
pub "$p-d1" 'not json at all'
pub "$p-d1" '{"ts": "2021-06-01T09:00:00", "period": "hour", "values": {"pm25": 5}}'
pub "$p-d1" '{"ts": "2021-06-01T09:00:00+08:00", "period": "week", "values": {"pm25": 5}}'
pub "$p-m0" '{"readings": [
  {"ts": "2021-06-01T09:00:00+08:00", "period": "rt", "values": {"pm25": 5, "no2": 20}, "lat": 30.01, "lon": 122.2},
  {"ts": "2021-06-01T09:00:30+08:00", "period": "rt", "values": {"pm25": 6}, "lat": 30.02, "lon": 122.21},
  {"ts": "2021-06-01T09:01:00+08:00", "period": "rt", "values": {"pm25": 7}}]}'
# a repeat of the first message: must not add rows
pub "$p-d0" '{"ts": "2021-06-01T08:00:00+08:00", "period": "hour", "values": {"pm25": 35.2}}'
pub "$p-d2" '{"ts": "2021-06-01T10:00:00+08:00", "period": "day", "values": {"pm10": 80}}'

eco_wait_until 20 eco_psql_is 6 "SELECT count(*) FROM obs.deadletter WHERE source LIKE 'eco/v1/in/$p-%'"

got=$(eco_psql "SELECT site || ' ' || param || ' ' || period || ' ' || to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' ' || value || ' ' || unit || ' ' || flag
                FROM rpt.reading WHERE site LIKE '$p-%' ORDER BY site, ts, param")
expected="$p-m no2 rt 2021-06-01 01:00:00 20 ug/m3 N
$p-m pm25 rt 2021-06-01 01:00:00 5 ug/m3 N
$p-m pm25 rt 2021-06-01 01:00:30 6 ug/m3 N
$p-s0 co hour 2021-06-01 00:00:00 0.9 mg/m3 D
$p-s0 pm25 hour 2021-06-01 00:00:00 35.2 ug/m3 N
$p-s0 so2 hour 2021-06-01 00:00:00 8 ug/m3 N
$p-s0 so2 hour 2021-06-01 01:00:00 3 ug/m3 N
$p-s2 pm10 day 2021-06-01 02:00:00 80 ug/m3 N"
eco_assert_eq "$expected" "$got" "stored readings (converted unit, flags kept, period start, repeat stored once)"

reasons=$(eco_psql "SELECT reason FROM rpt.deadletter WHERE source LIKE 'eco/v1/in/$p-%' ORDER BY id")
for want in "pm25: value 5000 outside the plausible range" "xx: unknown parameter" \
    "unknown device $p-dX" "invalid JSON" "ts: not an RFC 3339 time with offset" \
    "period: must be rt, min, hour or day" "readings[2]: lat/lon required for a mobile device"; do
    grep -qF "$want" <<<"$reasons" || eco_fail "no dead letter saying '$want' in: $reasons"
done
eco_assert_eq "not json at all" "$(eco_psql "SELECT payload FROM rpt.deadletter WHERE source = 'eco/v1/in/$p-d1' AND reason LIKE 'invalid JSON%'")" \
    "dead letter keeps the payload"
eco_pass "dead letters carry reasons and payloads; good values of the same messages were stored"

eco_assert_eq "2" "$(eco_psql "SELECT count(*) FROM rpt.track WHERE site = '$p-m'")" "track points"
eco_assert_eq "POINT(122.21 30.02)" "$(eco_psql "SELECT ST_AsText(geom) FROM rpt.track WHERE site = '$p-m' ORDER BY ts DESC LIMIT 1")" "track geometry"
# obs.latest follows the readings within ECO_INGEST_LATEST_FLUSH_MS
eco_wait_until 10 eco_psql_is 1 "SELECT count(*) FROM rpt.latest WHERE site = '$p-s2' AND param = 'pm10'"
eco_assert_eq "3 2021-06-01 01:00:00" "$(eco_psql "SELECT value || ' ' || to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM rpt.latest WHERE site = '$p-s0' AND param = 'so2'")" "obs.latest holds the newest so2"
eco_assert_eq "35.2" "$(eco_psql "SELECT value FROM rpt.latest WHERE site = '$p-s0' AND param = 'pm25'")" "obs.latest pm25"

# republished messages
watch=$(eco_log watch)
eco_wait_until 10 grep -q "^eco/v1/obs/$p-m " "$watch"
# one message per site and batch: {"site", "readings": [objects]}
grep "^eco/v1/obs/$p-s0 {\"site\":\"$p-s0\",\"readings\":\[" "$watch" |
    grep -qF '{"device":"'"$p-d0"'","ts":"2021-06-01T08:00:00+08:00","period":"hour","values":{"pm25":{"v":35.2,"unit":"ug/m3","flag":"N"},"so2":{"v":8,"unit":"ug/m3","flag":"N"},"co":{"v":0.9,"unit":"mg/m3","flag":"D"}}}' ||
    eco_fail "obs message for $p-s0 missing or different: $(grep "obs/$p-s0" "$watch" || true)"
grep -q "^eco/v1/dlq/ingest {\"topic\":\"eco/v1/in/$p-dX\"" "$watch" || eco_fail "no DLQ message for the unknown device"
# the vehicle's two accepted objects of one message: one obs message, in order
grep -q "^eco/v1/obs/$p-m {\"site\":\"$p-m\",\"readings\":\[{\"device\":\"$p-m0\",\"ts\":\"2021-06-01T09:00:00+08:00\",\"period\":\"rt\",\"lat\":30.01,\"lon\":122.2,.*},{\"device\":\"$p-m0\",\"ts\":\"2021-06-01T09:00:30+08:00\",\"period\":\"rt\",\"lat\":30.02,\"lon\":122.21," "$watch" ||
    eco_fail "obs for the vehicle: not one message with both objects and their lat/lon: $(grep "obs/$p-m " "$watch" || true)"
eco_pass "obs and dlq messages published"

# the retained latest value is there for a late subscriber
latest=$(eco_mqtt_sub integrator -i "$p-late" -C 1 -W 5 -t "eco/v1/latest/$p-s0/so2")
eco_assert_eq '{"v":3,"unit":"ug/m3","flag":"N","ts":"2021-06-01T09:00:00+08:00","period":"hour"}' "$latest" "retained latest so2"

# Records that give no value (dead letters) move obs.latest's position too:
# the spool is trimmed behind them, so a stream of bad input cannot fill it.
before=$(eco_psql "SELECT seq FROM obs.spool_position WHERE instance = '$p'")
for i in 1 2 3; do
    pub "$p-dX" "{\"ts\": \"2021-06-01T08:0$i:00+08:00\", \"period\": \"hour\", \"values\": {\"pm25\": 1}}"
done
eco_wait_until 10 eco_psql_is 1 "SELECT count(*) FROM obs.spool_position
    WHERE instance = '$p' AND seq >= $before + 3 AND latest_seq = seq"
eco_pass "latest_seq follows seq over records that give no value"

# status with counters, retained
status=$(eco_mqtt_sub integrator -i "$p-status" -C 1 -W 5 -t "eco/v1/sys/ingest/$p")
grep -q '"status":"online"' <<<"$status" || eco_fail "no online status: $status"

eco_kill ingest TERM
grep -q 'msg=stopped exit=0' "$(eco_log ingest)" || eco_fail "ingest did not stop cleanly"
offline=$(eco_mqtt_sub integrator -i "$p-status2" -C 1 -W 5 -t "eco/v1/sys/ingest/$p")
grep -q '"status":"offline","version":"[^"]*","ts":' <<<"$offline" ||
    eco_fail "status after stop is not the clean offline message: $offline"
eco_pass "SIGTERM: drained, exit 0, retained status offline"
