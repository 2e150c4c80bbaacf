#!/usr/bin/env bash
# eco-detect end to end against the real broker and database: obs messages in,
# alarms raised and cleared in data time (limit with hysteresis, flag, range
# from ingest's dead letters, offline on the watermark), events published,
# repeats not counted twice, a restart that re-derives nothing twice but
# catches what was stored while it was down, `ecoctl alarm ack`, and
# `ecoctl detect replay` finding the same alarms as the live stream.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

eco_db_new t_detect
p="td$$"
ingest_registry "$p"
eco_psql "INSERT INTO core.limit (site, param, period, upper, standard)
          VALUES ('$p-s0', 'so2', 'hour', 500, 'test')" >/dev/null

# data two days back, Beijing time: inside the warm-up window
day=$(TZ=Asia/Shanghai date -d '2 days ago' +%Y-%m-%d)
day2=$(TZ=Asia/Shanghai date -d '1 day ago' +%Y-%m-%d)
t() { printf '%sT%02d:00:00+08:00' "$day" "$1"; }

detect_start() {
    local log
    log=$(eco_log detect)
    eco_spawn detect env ECO_PG_DSN="$(eco_dsn detect)" \
        ECO_MQTT_URL="mqtt://$ECO_MQTT_HOST:$ECO_MQTT_PORT" \
        ECO_MQTT_USER="$ECO_MQTT_DETECT_USER" ECO_MQTT_PASSWORD="$ECO_MQTT_DETECT_PASSWORD" \
        ECO_DETECT_INSTANCE="$p" ECO_DETECT_STATUS_S=1 "$(eco_bin eco-detect)"
    detect__ready() { grep -q 'msg="warm-up done' "$log"; }
    eco_wait_until 30 detect__ready
}

obs() { # site, then readings objects
    local site=$1
    shift
    local IFS=,
    eco_mqtt_pub admin -q 1 -t "eco/v1/obs/$site" -m "{\"site\":\"$site\",\"readings\":[$*]}"
}
r() { # device hour param value [flag]
    printf '{"device":"%s","ts":"%s","period":"hour","values":{"%s":{"v":%s,"unit":"ug/m3","flag":"%s"}}}' \
        "$1" "$(t "$2")" "$3" "$4" "${5:-N}"
}
r2() { # the same, a day later
    printf '{"device":"%s","ts":"%sT%02d:00:00+08:00","period":"hour","values":{"%s":{"v":%s,"unit":"ug/m3","flag":"N"}}}' \
        "$1" "$day2" "$2" "$3" "$4"
}

eco_spawn watch eco_mqtt_sub admin -i "$p-watch" -q 1 -W 90 -v -t "eco/v1/alarm/$p-s0/#" \
    -t "eco/v1/alarm/$p-s1/#"
detect_start

# limit: 600 and 700 over 500 from 09:00; 470 is not below the hysteresis
# band (450), so it does not clear; 100 at 12:00 does
obs "$p-s0" "$(r "$p-d0" 8 so2 100)" "$(r "$p-d0" 9 so2 600)" "$(r "$p-d0" 10 so2 700)"
obs "$p-s0" "$(r "$p-d0" 11 so2 470)" "$(r "$p-d0" 12 so2 100)"
# a repeat of 10:00 (a broker redelivery) must not count again
obs "$p-s0" "$(r "$p-d0" 10 so2 700)"
# flag: D at 09:00, N again at 10:00
obs "$p-s0" "$(r "$p-d0" 8 pm25 30)" "$(r "$p-d0" 9 pm25 31 D)" "$(r "$p-d0" 10 pm25 32)"

eco_wait_until 20 eco_psql_is 2 "SELECT count(*) FROM rpt.alarm WHERE site = '$p-s0' AND state = 'cleared'"
got=$(eco_psql "SELECT param || ' ' || rule || ' ' || state || ' ' || to_char(opened_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') || ' ' || coalesce(to_char(cleared_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI'), '-') || ' ' || (\"limit\" IS NOT DISTINCT FROM 500)::text
                FROM rpt.alarm WHERE site = '$p-s0' ORDER BY param, rule")
eco_assert_eq "pm25 flag cleared 09:00 10:00 false
so2 limit cleared 09:00 12:00 true" "$got" "limit (with hysteresis) and flag alarms, in data time"

# published: raised then cleared for each, with the alarm's id
eco_wait_until 10 bash -c "grep -c '\"state\":\"cleared\"' '$(eco_log watch)' | grep -qx 2"
id=$(eco_psql "SELECT id FROM rpt.alarm WHERE site = '$p-s0' AND rule = 'limit'")
grep -F "eco/v1/alarm/$p-s0/so2 {\"id\":$id," "$(eco_log watch)" | grep -q '"state":"raised"' ||
    eco_fail "no raised event for alarm $id: $(cat "$(eco_log watch)")"
events=$(grep -c '' "$(eco_log watch)")
eco_assert_eq 4 "$events" "one raised and one cleared event per alarm, nothing for the repeat"
while read -r _ payload; do
    printf '%s' "$payload" | python3 "$ECO_SOURCE_DIR/tests/harness/validate_json.py" check \
        "$ECO_SOURCE_DIR/schemas/json/alarm-event.schema.json" - >/dev/null ||
        eco_fail "alarm event does not match schemas/json/alarm-event.schema.json: $payload"
done <"$(eco_log watch)"

# range: ingest refused pm25 = 5000 (its dead letter); the next good value clears
eco_mqtt_pub admin -q 1 -t eco/v1/dlq/ingest -m "{\"topic\":\"eco/v1/in/$p-d0\",\"payload\":\"{\\\"ts\\\":\\\"$(t 13)\\\",\\\"period\\\":\\\"hour\\\",\\\"values\\\":{\\\"pm25\\\":5000}}\",\"reason\":\"pm25: value 5000 outside the plausible range\",\"time\":\"2021-01-01T00:00:00Z\"}"
eco_wait_until 10 eco_psql_is 1 "SELECT count(*) FROM rpt.alarm WHERE site = '$p-s0' AND rule = 'range' AND state = 'open' AND value = 5000"
obs "$p-s0" "$(r "$p-d0" 14 pm25 33)"
eco_wait_until 10 eco_psql_is cleared "SELECT state FROM rpt.alarm WHERE site = '$p-s0' AND rule = 'range'"
eco_pass "range alarm from ingest's dead letter, cleared by the next good value"

# offline: s1 reports 00:00..05:00 hourly and stops; s2 goes on to 09:00.
# Due: 05:00 + interval 1 h + period 1 h + slack 30 min = 07:30 (watermark)
for h in 0 1 2 3 4 5; do obs "$p-s1" "$(r2 "$p-d1" "$h" no2 20)"; done
for h in 0 1 2 3 4 5 6 7 8 9; do obs "$p-s2" "$(r2 "$p-d2" "$h" no2 21)"; done
eco_wait_until 10 eco_psql_is "open 07:30" "SELECT state || ' ' || to_char(opened_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') FROM rpt.alarm WHERE site = '$p-s1' AND rule = 'offline'"
obs "$p-s1" "$(r2 "$p-d1" 10 no2 22)"
eco_wait_until 10 eco_psql_is "cleared 10:00" "SELECT state || ' ' || to_char(cleared_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') FROM rpt.alarm WHERE site = '$p-s1' AND rule = 'offline'"
grep -qF "eco/v1/alarm/$p-s1/- " "$(eco_log watch)" || eco_fail "no offline event on eco/v1/alarm/$p-s1/-"
eco_pass "offline raised on the data-time watermark, cleared when data resumed"

# restart: what ingest stored while detect was down is examined in the
# warm-up; nothing is raised twice
eco_kill detect
eco_psql "SELECT obs.ensure_partitions('$(t 0)', '$(t 23)')" >/dev/null
eco_psql "INSERT INTO obs.reading (site_id, param_id, period, ts, value, flag)
          SELECT s.id, p.id, 'h', '$(t 15)'::timestamptz + g * interval '1 hour', 800 + g, 'N'
          FROM core.site s, core.param p, generate_series(0, 1) g
          WHERE s.code = '$p-s0' AND p.code = 'so2'" >/dev/null
# the earlier readings as ingest would have stored them
eco_psql "INSERT INTO obs.reading (site_id, param_id, period, ts, value, flag)
          SELECT s.id, p.id, 'h', v.ts::timestamptz, v.value, v.flag
          FROM core.site s, core.param p,
               (VALUES ('$(t 8)', 100, 'N'), ('$(t 9)', 600, 'N'), ('$(t 10)', 700, 'N'),
                       ('$(t 11)', 470, 'N'), ('$(t 12)', 100, 'N')) v (ts, value, flag)
          WHERE s.code = '$p-s0' AND p.code = 'so2'" >/dev/null
eco_psql "INSERT INTO alarm.setting (rule, name, value, site) VALUES ('offline', 'min_minutes', 0.05, '$p-s3')" >/dev/null
detect_start
eco_wait_until 20 eco_psql_is "2 1" "SELECT count(*) || ' ' || count(*) FILTER (WHERE state = 'open') FROM rpt.alarm WHERE site = '$p-s0' AND rule = 'limit'"
eco_assert_eq "15:00" "$(eco_psql "SELECT to_char(opened_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') FROM rpt.alarm WHERE site = '$p-s0' AND rule = 'limit' AND state = 'open'")" \
    "the warm-up raised the alarm of the readings stored while detect was down, and only that"
eco_assert_eq 1 "$(eco_psql "SELECT count(*) FROM rpt.alarm WHERE site = '$p-s0' AND rule = 'flag'")" \
    "no alarm raised twice across the restart"

# offline on the wall clock: a real-time site that stops sending is raised
# although no message arrives. s3 reports every 5 s up to now; its slack is
# set to 3 s: due 8 s after its last reading.
now=$(date +%s)
rt=""
for k in 15 10 5 0; do
    rt+="${rt:+,}{\"device\":\"$p-d3\",\"ts\":\"$(date -u -d "@$((now - k))" +%Y-%m-%dT%H:%M:%SZ)\",\"period\":\"rt\",\"values\":{\"no2\":{\"v\":$((20 + k)),\"unit\":\"ug/m3\",\"flag\":\"N\"}}}"
done
eco_mqtt_pub admin -q 1 -t "eco/v1/obs/$p-s3" -m "{\"site\":\"$p-s3\",\"readings\":[$rt]}"
eco_wait_until 30 eco_psql_is open "SELECT state FROM rpt.alarm WHERE site = '$p-s3' AND rule = 'offline'"
eco_assert_eq "$(date -u -d "@$((now + 8))" +%H:%M:%S)" \
    "$(eco_psql "SELECT to_char(opened_at AT TIME ZONE 'UTC', 'HH24:MI:SS') FROM rpt.alarm WHERE site = '$p-s3' AND rule = 'offline'")" \
    "offline fired on the wall clock with no message arriving, at its due data time"

# acknowledge
open_id=$(eco_psql "SELECT id FROM rpt.alarm WHERE site = '$p-s0' AND rule = 'limit' AND state = 'open'")
# (--db: in the database itself; without it the request goes to eco-dispatch)
ECO_PG_DSN=$(eco_dsn ctl) "$(eco_bin ecoctl)" alarm ack "$open_id" --db >/dev/null
eco_assert_eq acked "$(eco_psql "SELECT state FROM rpt.alarm WHERE id = $open_id")" "ecoctl alarm ack"
if ECO_PG_DSN=$(eco_dsn ctl) "$(eco_bin ecoctl)" alarm ack "$open_id" --db 2>/dev/null; then
    eco_fail "acknowledging an acknowledged alarm should be refused"
fi
# a low value clears it (an acknowledged alarm is still open); stored as ingest would
eco_psql "INSERT INTO obs.reading (site_id, param_id, period, ts, value, flag)
          SELECT s.id, p.id, 'h', '$(t 17)', 50, 'N' FROM core.site s, core.param p
          WHERE s.code = '$p-s0' AND p.code = 'so2'" >/dev/null
eco_mqtt_pub admin -q 1 -t "eco/v1/obs/$p-s0" -m "{\"site\":\"$p-s0\",\"readings\":[$(r "$p-d0" 17 so2 50)]}"
eco_wait_until 10 eco_psql_is cleared "SELECT state FROM rpt.alarm WHERE id = $open_id"

# replay = live for the stored so2 series
ECO_PG_DSN=$(eco_dsn ctl) "$(eco_bin ecoctl)" detect replay --from "$(t 0)" --to "$(t 23)" \
    --site "$p-s0" >/dev/null
live=$(eco_psql "SELECT rule || ' ' || opened_at || ' ' || coalesce(cleared_at::text, '-') FROM rpt.alarm
                 WHERE site = '$p-s0' AND param = 'so2' AND NOT replay ORDER BY opened_at")
replayed=$(eco_psql "SELECT rule || ' ' || opened_at || ' ' || coalesce(cleared_at::text, '-') FROM rpt.alarm
                     WHERE site = '$p-s0' AND param = 'so2' AND replay ORDER BY opened_at")
eco_assert_eq "$live" "$replayed" "ecoctl detect replay finds the live alarms (same data times)"
ECO_PG_DSN=$(eco_dsn ctl) "$(eco_bin ecoctl)" detect replay --clear >/dev/null
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM alarm.alarm WHERE replay")" "replay --clear"

# bad input: dead-lettered, the service keeps going
eco_mqtt_pub admin -q 1 -t "eco/v1/obs/$p-s3" -m 'not json'
eco_wait_until 10 eco_psql_is 1 "SELECT count(*) FROM obs.deadletter WHERE service = 'detect' AND source = 'eco/v1/obs/$p-s3'"

eco_kill detect
eco_kill watch || true
eco_check_logs
eco_pass "eco-detect end to end"
