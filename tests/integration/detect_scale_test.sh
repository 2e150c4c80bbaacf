#!/usr/bin/env bash
# Two eco-detect instances split the sites (ECO_DETECT_PARTITION 0/2 and 1/2):
# every site's alarm is raised once, by the instance that owns the site, and
# the other skips its messages; a third instance misconfigured onto a taken
# partition cannot open a second alarm (the database's one-open-alarm index).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

eco_db_new t_detect_scale
p="tds$$"
ingest_registry "$p"
eco_psql "INSERT INTO core.limit (site_kind, param, period, upper, standard)
          VALUES ('air', 'so2', 'hour', 500, 'test')" >/dev/null
day=$(TZ=Asia/Shanghai date -d '2 days ago' +%Y-%m-%d)

detect_start() { # name partition
    local log
    log=$(eco_log "$1")
    eco_spawn "$1" env ECO_PG_DSN="$(eco_dsn detect)" \
        ECO_MQTT_URL="mqtt://$ECO_MQTT_HOST:$ECO_MQTT_PORT" \
        ECO_MQTT_USER="$ECO_MQTT_DETECT_USER" ECO_MQTT_PASSWORD="$ECO_MQTT_DETECT_PASSWORD" \
        ECO_DETECT_INSTANCE="$p-$1" ECO_DETECT_PARTITION="$2" ECO_DETECT_STATUS_S=1 \
        "$(eco_bin eco-detect)"
    detect__ready() { grep -q 'msg="warm-up done' "$log"; }
    eco_wait_until 30 detect__ready
}
detect_start d0 0/2
detect_start d1 1/2

# two hours over the limit (one hour up and back, 100 900 100, is also a
# spike: the counters below count every rule's raises)
for s in 0 1 2 3; do
    msg="{\"site\":\"$p-s$s\",\"readings\":["
    for h in 8 9 10 11; do
        case $h in 9 | 10) v=900 ;; *) v=100 ;; esac
        [ "$h" = 8 ] || msg+=","
        msg+="{\"device\":\"$p-d$s\",\"ts\":\"${day}T$(printf %02d "$h"):00:00+08:00\",\"period\":\"hour\",\"values\":{\"so2\":{\"v\":$v,\"unit\":\"ug/m3\",\"flag\":\"N\"}}}"
    done
    eco_mqtt_pub admin -q 1 -t "eco/v1/obs/$p-s$s" -m "$msg]}"
done
eco_wait_until 20 eco_psql_is 4 "SELECT count(*) FROM rpt.alarm WHERE site LIKE '$p-s%' AND rule = 'limit' AND state = 'cleared'"
eco_assert_eq "$p-s0 1
$p-s1 1
$p-s2 1
$p-s3 1" "$(eco_psql "SELECT site || ' ' || count(*) FROM rpt.alarm WHERE site LIKE '$p-s%' AND rule = 'limit' GROUP BY site ORDER BY site")" \
    "each site's alarm raised once across two instances"

# each instance kept its own sites and skipped the others' messages
stat() { eco_mqtt_sub admin -C 1 -W 5 -t "eco/v1/sys/detect/$p-$1" | python3 -c "import json,sys; c=json.load(sys.stdin)['counters']; print(c['$2'])"; }
raised_sum() { [ "$(($(stat d0 raised) + $(stat d1 raised)))" = 4 ]; }
eco_wait_until 10 raised_sum
r0=$(stat d0 raised)
r1=$(stat d1 raised)
s0=$(stat d0 skipped)
s1=$(stat d1 skipped)
[ "$r0" -ge 1 ] && [ "$r1" -ge 1 ] || eco_fail "both instances should raise alarms (raised: $r0, $r1)"
eco_assert_eq 4 "$((s0 + s1))" "each instance skipped the other's messages"

# a third instance wrongly on partition 0/2 re-derives nothing new
eco_psql "SELECT obs.ensure_partitions('${day}T00:00:00+08:00', '${day}T23:00:00+08:00');
          INSERT INTO obs.reading (site_id, param_id, period, ts, value, flag)
          SELECT s.id, p.id, 'h', ('${day}T08:00:00+08:00'::timestamptz) + g * interval '1 hour',
                 CASE WHEN g IN (1, 2) THEN 900 ELSE 100 END, 'N'
          FROM core.site s, core.param p, generate_series(0, 3) g
          WHERE s.code LIKE '$p-s%' AND p.code = 'so2'" >/dev/null
detect_start d2 0/2
eco_assert_eq 4 "$(eco_psql "SELECT count(*) FROM rpt.alarm WHERE site LIKE '$p-s%' AND rule = 'limit'")" \
    "a second instance on a taken partition opens no second alarm"

eco_kill d0
eco_kill d1
eco_kill d2
eco_check_logs
eco_pass "two detect instances split the sites"
