#!/usr/bin/env bash
# The web console end to end (docs/CONSOLE.md), in headless Chromium
# (services/console/test/e2e.mjs, playwright-core and Debian's chromium),
# served by the test broker's websockets listener, against eco-ingest,
# eco-detect, eco-dispatch and eco-report on the sample network:
#   1. a wrong password is refused; the page holds no secret;
#   2. the map draws the regions and sea areas and every site;
#   3. a reading far over its limit shows up live as an alarm, then as a
#      work order on the dispatcher's board, dispatched to the department;
#   4. a department sees its own orders and not another's (the board, the
#      service's refusal and what the broker delivered to the page);
#   5. the dispatcher re-routes the order, the new department accepts,
#      starts and replies, the dispatcher verifies and closes, all in the
#      pages, and the database follows each step;
#   6. a site's recent values as a chart; screenshots of the map, the board
#      and a phone-sized board.
set -euo pipefail
# shellcheck source=../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

eco_db_new t_console
ECOCTL=$(eco_bin ecoctl)
T=$ECO_TEST_TMP
export ECO_BROKER_AUTH_DIR=$ECO_TEST_BROKER_AUTH_DIR
export ECO_BROKER_PID_FILE=$ECO_TEST_BROKER_PID_FILE
p=con$$
SITE=air-dh01
DEV=dev-air-dh01
SHOTS=${ECO_CONSOLE_SHOTS:-$T/shots}

[ -x /usr/bin/chromium ] || eco_fail "no /usr/bin/chromium (deploy/install-deps.sh installs it)"
[ -n "${ECO_CONSOLE_DIR:-}" ] || eco_fail "the test stack has no ECO_CONSOLE_DIR (deploy/stack.sh)"
"$ECO_SOURCE_DIR/services/console/build.sh" "$ECO_CONSOLE_DIR" --dev >"$T/build.out" 2>&1 ||
    eco_fail "services/console/build.sh: $(cat "$T/build.out")"
eco_pass "the console is built and served: $(tail -1 "$T/build.out")"
page=$(curl -fsS "$ECO_CONSOLE_URL") || eco_fail "no page at $ECO_CONSOLE_URL"
grep -q 'eco-console-build' <<<"$page" || eco_fail "$ECO_CONSOLE_URL is not the console"
for v in $(env | sed -n 's/^ECO_[A-Z_]*PASSWORD=//p'); do
    [ "${#v}" -ge 8 ] || continue
    if grep -qF -- "$v" <<<"$page"; then eco_fail "the page contains a password of the stack"; fi
done
eco_pass "the page the broker serves holds none of the stack's passwords"

"$ECOCTL" registry load "$ECO_SOURCE_DIR/deploy/sample" >"$T/load.out" 2>&1 ||
    { cat "$T/load.out"; eco_fail "registry load"; }
echo "pw-d-$p" | "$ECOCTL" user add "$p-disp" --role dispatcher --password-stdin >/dev/null
echo "pw-dh-$p" | "$ECOCTL" user add "$p-dh" --role department --department ZS-EEB-DH \
    --password-stdin >/dev/null
echo "pw-pt-$p" | "$ECOCTL" user add "$p-pt" --role department --department ZS-EEB-PT \
    --password-stdin >/dev/null

mq_env() { # SERVICE: the service's broker account
    local u="ECO_MQTT_${1^^}_USER" pw="ECO_MQTT_${1^^}_PASSWORD"
    echo ECO_MQTT_URL="mqtt://$ECO_MQTT_HOST:$ECO_MQTT_PORT" ECO_MQTT_USER="${!u}" ECO_MQTT_PASSWORD="${!pw}"
}
# shellcheck disable=SC2046
eco_spawn ingest env ECO_PG_DSN="$(eco_dsn ingest)" $(mq_env ingest) ECO_INGEST_INSTANCE="$p" \
    ECO_INGEST_SHARE_GROUP="g-$p" ECO_INGEST_SPOOL_DIR="$T/spool" ECO_INGEST_HJ212_ADDR= \
    "$(eco_bin eco-ingest)"
# shellcheck disable=SC2046
eco_spawn detect env ECO_PG_DSN="$(eco_dsn detect)" $(mq_env detect) ECO_DETECT_INSTANCE="$p" \
    "$(eco_bin eco-detect)"
# shellcheck disable=SC2046
eco_spawn dispatch env ECO_PG_DSN="$(eco_dsn dispatch)" $(mq_env dispatch) \
    ECO_DISPATCH_INSTANCE="$p" ECO_DISPATCH_SHARE_GROUP="g-$p" "$(eco_bin eco-dispatch)"
# shellcheck disable=SC2046
eco_spawn report env ECO_PG_DSN="$(eco_dsn report)" $(mq_env report) ECO_REPORT_INSTANCE="$p" \
    ECO_REPORT_SHARE_GROUP="g-$p" ECO_REPORT_OUT_DIR="$T/reports" ECO_REPORT_LAYERS_S=5 \
    ECO_REPORT_CATCHUP_DAYS=1 ECO_REPORT_DELAY_MIN=1440 "$(eco_bin eco-report)"
ready() {
    grep -q 'msg="registry loaded"' "$(eco_log ingest)" &&
        grep -q 'msg="warm-up done' "$(eco_log detect)" &&
        grep -q 'msg="database connected"' "$(eco_log dispatch)" &&
        grep -q 'msg="database connected"' "$(eco_log report)"
}
eco_wait_until 60 ready || eco_fail "the services did not start: $(tail -3 "$(eco_log ingest)" "$(eco_log detect)" \
    "$(eco_log dispatch)" "$(eco_log report)")"

# twelve ordinary hours before the incident: the site's chart has a day to show
pub() { # TS JSON-VALUES
    mosquitto_pub -h "$ECO_MQTT_HOST" -p "$ECO_MQTT_PORT" -V mqttv5 -q 1 -u "$ECO_MQTT_ADMIN_USER" \
        -P "$ECO_MQTT_ADMIN_PASSWORD" -t "eco/v1/in/$DEV" \
        -m "{\"ts\": \"$1\", \"period\": \"hour\", \"values\": $2}"
}
now_h=$(date -u +%Y-%m-%dT%H:00:00Z)
for h in $(seq 12 -1 1); do
    ts=$(date -u -d "$now_h - $h hours" +%Y-%m-%dT%H:00:00Z)
    pub "$ts" "{\"pm25\": $((20 + h % 5 * 3)), \"so2\": $((6 + h % 4)), \"no2\": $((25 + h % 6 * 4))}"
done
stored() { [ "$(eco_psql "SELECT count(*) FROM rpt.reading WHERE site = '$SITE' AND param = 'so2'")" -ge 12 ]; }
eco_wait_until 30 stored || eco_fail "the site's ordinary hours were not stored"

incident="mosquitto_pub -h $ECO_MQTT_HOST -p $ECO_MQTT_PORT -V mqttv5 -q 1 -u $ECO_MQTT_ADMIN_USER"
incident+=" -P '$ECO_MQTT_ADMIN_PASSWORD' -t eco/v1/in/$DEV"
incident+=" -m '{\"ts\": \"$now_h\", \"period\": \"hour\", \"values\": {\"so2\": 2400, \"pm25\": 31}}'"

rc=0
(cd "$ECO_SOURCE_DIR/services/console" &&
    E2E_URL=$ECO_CONSOLE_URL E2E_DISPATCHER="$p-disp:pw-d-$p" \
        E2E_DEPT_A="$p-dh:pw-dh-$p" E2E_DEPT_A_CODE=ZS-EEB-DH \
        E2E_DEPT_B="$p-pt:pw-pt-$p" E2E_DEPT_B_CODE=ZS-EEB-PT \
        E2E_PSQL_DSN="$(eco_dsn ctl)" E2E_SITE=$SITE E2E_INCIDENT="$incident" E2E_SHOTS="$SHOTS" \
        timeout 400 node test/e2e.mjs) >"$T/e2e.out" 2>&1 || rc=$?
sed -n 's/^PASS: //p' "$T/e2e.out" | while IFS= read -r l; do eco_pass "$l"; done
if [ "$rc" -ne 0 ]; then
    grep -v '^PASS: ' "$T/e2e.out" | head -60 >&2
    eco_fail "the console end to end (exit $rc): $(grep -m1 '^FAIL: ' "$T/e2e.out" | head -c 600)"
fi
for f in console-map console-board console-phone; do
    [ -s "$SHOTS/$f.png" ] || eco_fail "no screenshot $SHOTS/$f.png"
done
eco_pass "screenshots in $SHOTS"
eco_check_logs
