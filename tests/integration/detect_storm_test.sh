#!/usr/bin/env bash
# A storm (docs/DETECTION.md, "Storing and publishing"): 20 neighbouring
# stations over their limit in the same hour. eco-detect stores the raises in
# batches of ECO_DETECT_APPLY_BATCH on ECO_DETECT_APPLY_CONNS connections and
# publishes each batch as it commits, so the first raises are out while a
# later batch is still held up; and the split batches still link every alarm
# of the storm into one incident. A test transaction holding an open alarm of
# the storm's last station (highest id) keeps that station's batch from
# committing until the test lets it go.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

eco_db_new t_detect_storm
p="tst$$"
ingest_registry "$p" # region ZS, parameters
n=20
# 20 air stations on a 5 x 4 grid 0.01° apart: each within 15 km of every other
eco_psql "
INSERT INTO core.site (code, name, kind, region, geom)
  SELECT '$p-x' || lpad(g::text, 2, '0'), 'storm ' || g, 'air', 'ZS',
         ST_SetSRID(ST_MakePoint(122.0 + (g % 5) * 0.01, 30.0 + (g / 5) * 0.01), 4326)
  FROM generate_series(0, $n - 1) g ORDER BY g;
INSERT INTO core.limit (site, param, period, upper, standard)
  SELECT '$p-x' || lpad(g::text, 2, '0'), 'so2', 'hour', 500, 'test' FROM generate_series(0, $n - 1) g;" >/dev/null
eco_assert_eq $((n * (n - 1))) "$(eco_psql "SELECT count(*) FROM alarm.near n JOIN core.site s ON s.id = n.site_id
                                           JOIN core.site o ON o.id = n.near_id
                                           WHERE s.code LIKE '$p-x%' AND o.code LIKE '$p-x%'")" \
    "the storm's stations are all neighbours"

# stored while detect was down (two days ago: inside the warm-up window), so
# that the warm-up derives the storm's 20 raises at once: 100 at 08:00, 900 at
# 09:00
day=$(TZ=Asia/Shanghai date -d '2 days ago' +%Y-%m-%d)
eco_psql "SELECT obs.ensure_partitions('${day}T00:00:00+08:00', '${day}T23:00:00+08:00');
          INSERT INTO obs.reading (site_id, param_id, period, ts, value, flag)
          SELECT s.id, p.id, 'h', '${day}T08:00:00+08:00'::timestamptz + g * interval '1 hour',
                 CASE g WHEN 0 THEN 100 ELSE 900 END, 'N'
          FROM core.site s, core.param p, generate_series(0, 1) g
          WHERE s.code LIKE '$p-x%' AND p.code = 'so2'" >/dev/null

# the last station's alarm, open and uncommitted in another session: its raise
# waits (alarm_one_open) until that session ends
last=$(eco_psql "SELECT max(id) FROM core.site WHERE code LIKE '$p-x%'")
eco_spawn blocker psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn admin) application_name=$p-blocker" \
    -c "BEGIN" \
    -c "INSERT INTO alarm.alarm (site_id, param_id, period, rule, severity, opened_at, last_at)
        SELECT $last, id, 'h', 'limit', 'minor', '${day}T07:00:00+08:00', '${day}T07:00:00+08:00'
        FROM core.param WHERE code = 'so2'" \
    -c "SELECT pg_sleep(300)"
blocking() {
    eco_psql_is 1 "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$p-blocker'
                   AND query LIKE '%pg_sleep%' AND state = 'active'"
}
eco_wait_until 20 blocking

watch=$(eco_log watch)
eco_spawn watch eco_mqtt_sub admin -i "$p-watch" -q 1 -v -t 'eco/v1/alarm/+/so2'
sleep 0.5
raised() { grep -F "eco/v1/alarm/$p-x" "$watch" | grep -cF '"state":"raised"' || true; }
eco_spawn detect env ECO_PG_DSN="$(eco_dsn detect)" \
    ECO_MQTT_URL="mqtt://$ECO_MQTT_HOST:$ECO_MQTT_PORT" \
    ECO_MQTT_USER="$ECO_MQTT_DETECT_USER" ECO_MQTT_PASSWORD="$ECO_MQTT_DETECT_PASSWORD" \
    ECO_DETECT_INSTANCE="$p" ECO_DETECT_APPLY_BATCH=4 ECO_DETECT_APPLY_CONNS=2 \
    "$(eco_bin eco-detect)"

# 20 raises on 2 connections: 10 a connection, the last station's in the
# third batch of its connection; the batches before it commit and are published
# while it waits
at_least() { [ "$(raised)" -ge "$1" ]; }
eco_wait_until 60 at_least 4
blocking || eco_fail "the blocking session ended early: the test proves nothing"
got=$(raised)
[ "$got" -lt "$n" ] || eco_fail "all $n raised while the last station's raise was held up"
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM alarm.alarm WHERE site_id = $last AND rule = 'limit'")" \
    "the last station's raise has not committed"
eco_pass "$got of the storm's $n raises published before its last batch committed"

eco_psql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '$p-blocker'" >/dev/null
eco_kill blocker || true
eco_wait_until 60 at_least "$n"
eco_assert_eq "$n" "$(raised)" "every raise of the storm published once"
eco_assert_eq "$n 1 $n" "$(eco_psql "SELECT count(*) || ' ' || count(DISTINCT a.incident) || ' ' ||
                                            max(i.alarms)
                                     FROM alarm.alarm a JOIN core.site s ON s.id = a.site_id
                                     JOIN alarm.incident i ON i.id = a.incident
                                     WHERE s.code LIKE '$p-x%' AND a.rule = 'limit'")" \
    "the storm's alarms, stored in split batches on two connections, form one incident of $n"
# every published event names that incident
inc=$(eco_psql "SELECT DISTINCT a.incident FROM alarm.alarm a JOIN core.site s ON s.id = a.site_id
                WHERE s.code LIKE '$p-x%' AND a.rule = 'limit'")
eco_assert_eq "$n" "$(grep -F "eco/v1/alarm/$p-x" "$watch" | grep -cF "\"incident\":$inc,")" \
    "each raised event carries the incident"

eco_kill detect
eco_kill watch || true
eco_check_logs
eco_pass "a storm is published batch by batch and links into one incident"
