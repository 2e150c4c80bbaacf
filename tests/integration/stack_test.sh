#!/usr/bin/env bash
# The local stack itself (deploy/stack.sh): broker authentication and ACLs,
# shared subscriptions, database roles, broker persistence across a restart
# and a PostgreSQL stop/start.
set -euo pipefail
# Restarts the broker and the database: runs alone (see lib.sh).
# shellcheck disable=SC2034 # read by lib.sh
ECO_EXCLUSIVE=1
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

eco_db_new t_stack
id="stacktest-$$"

# --- authentication -------------------------------------------------------
rc=0
mosquitto_pub -h "$ECO_MQTT_HOST" -p "$ECO_MQTT_PORT" -V mqttv5 -i "$id-anon" \
    -t "eco/v1/in/$id" -m anonymous >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || eco_fail "an anonymous client could connect and publish"
eco_pass "anonymous connect refused (mosquitto_pub exit $rc)"

rc=0
eco_mqtt_pub sim -P wrong-password -i "$id-badpw" -t "eco/v1/in/$id" -m x \
    >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || eco_fail "a wrong password was accepted"
eco_pass "wrong password refused"
# every device has an account of its own now (docs/SECURITY.md)
[ -z "${ECO_MQTT_DEVICE_USER:-}" ] || eco_fail "the stack still has the shared device account"
eco_pass "no shared device account"

# --- ACL: integrator may not publish readings, sim (the simulator) may ---------
# admin watches eco/v1/in/$id; the "ready" loop proves the subscription is live
# before anything that counts is published.
watch="$ECO_TEST_TMP/in.txt"
eco_spawn watch-in mosquitto_sub -h "$ECO_MQTT_HOST" -p "$ECO_MQTT_PORT" -V mqttv5 \
    -u "$ECO_MQTT_ADMIN_USER" -P "$ECO_MQTT_ADMIN_PASSWORD" -i "$id-watch" \
    -q 1 -t "eco/v1/in/$id" -F '%q %p' -W 60
watch="$(eco_log watch-in)"
ready_seen() {
    eco_mqtt_pub admin -i "$id-ready" -q 1 -t "eco/v1/in/$id" -m ready
    grep -q '^1 ready$' "$watch"
}
eco_wait_until 10 ready_seen

rc=0
eco_mqtt_pub integrator -i "$id-integrator" -q 1 -t "eco/v1/in/$id" -m from-integrator \
    >/dev/null 2>&1 || rc=$?
eco_mqtt_pub sim -i "$id-device" -q 1 -t "eco/v1/in/$id" -m from-device
eco_wait_until 10 grep -q '^1 from-device$' "$watch"
if grep -q from-integrator "$watch"; then
    eco_fail "integrator published to eco/v1/in/$id despite the ACL"
fi
eco_pass "integrator cannot publish to eco/v1/in (dropped, publisher exit $rc); sim can"

# integrator reads eco/v1/# but not eco/v1/rpc/#
eco_spawn watch-int mosquitto_sub -h "$ECO_MQTT_HOST" -p "$ECO_MQTT_PORT" -V mqttv5 \
    -u "$ECO_MQTT_INTEGRATOR_USER" -P "$ECO_MQTT_INTEGRATOR_PASSWORD" -i "$id-int" \
    -q 1 -t "eco/v1/rpc/$id/#" -t "eco/v1/obs/$id" -F '%t %p' -W 60
intlog="$(eco_log watch-int)"
obs_seen() {
    eco_mqtt_pub ingest -i "$id-ingest-obs" -q 1 -t "eco/v1/obs/$id" -m obs
    grep -q "^eco/v1/obs/$id obs$" "$intlog"
}
eco_wait_until 10 obs_seen
eco_mqtt_pub admin -i "$id-rpc" -q 1 -t "eco/v1/rpc/$id/ping" -m secret
eco_mqtt_pub ingest -i "$id-ingest-obs2" -q 1 -t "eco/v1/obs/$id" -m obs2
eco_wait_until 10 grep -q "^eco/v1/obs/$id obs2$" "$intlog"
if grep -q secret "$intlog"; then
    eco_fail "integrator received RPC traffic"
fi
eco_pass "integrator reads eco/v1/obs, not eco/v1/rpc"

# --- shared subscription as ingest ------------------------------------------
# A group name of our own: group "ingest" belongs to the real eco-ingest
# instances other tests run, and we must not steal their messages.
eco_spawn share mosquitto_sub -h "$ECO_MQTT_HOST" -p "$ECO_MQTT_PORT" -V mqttv5 \
    -u "$ECO_MQTT_INGEST_USER" -P "$ECO_MQTT_INGEST_PASSWORD" -i "$id-share" \
    -q 1 -t "\$share/$id/eco/v1/in/#" -F '%q %t %p' -W 60
sharelog="$(eco_log share)"
n=0
share_seen() {
    n=$((n + 1))
    eco_mqtt_pub sim -i "$id-dev-share" -q 1 -t "eco/v1/in/$id-share" -m "m$n"
    grep -q "^1 eco/v1/in/$id-share m" "$sharelog"
}
eco_wait_until 10 share_seen
eco_pass "ingest receives device readings at QoS 1 through \$share/<group>/eco/v1/in/#"

# ingest may not read what it does not consume: the ACL applies to the filter
# behind $share/<group>/ (mosquitto accepts the SUBSCRIBE and then delivers
# nothing the ACL denies, so check by delivery).
eco_spawn share2 mosquitto_sub -h "$ECO_MQTT_HOST" -p "$ECO_MQTT_PORT" -V mqttv5 \
    -u "$ECO_MQTT_INGEST_USER" -P "$ECO_MQTT_INGEST_PASSWORD" -i "$id-share2" -q 1 \
    -t "\$share/$id-2/eco/v1/alarm/$id/#" -t "\$share/$id-2/eco/v1/in/$id-2" -F '%t %p' -W 60
share2log="$(eco_log share2)"
share2_seen() {
    eco_mqtt_pub sim -i "$id-dev-share2" -q 1 -t "eco/v1/in/$id-2" -m ready
    grep -q "^eco/v1/in/$id-2 ready$" "$share2log"
}
eco_wait_until 10 share2_seen
eco_mqtt_pub admin -i "$id-alarm" -q 1 -t "eco/v1/alarm/$id/pm25" -m alarm
eco_mqtt_pub sim -i "$id-dev-share2" -q 1 -t "eco/v1/in/$id-2" -m end
eco_wait_until 10 grep -q "^eco/v1/in/$id-2 end$" "$share2log"
if grep -q "^eco/v1/alarm/" "$share2log"; then
    eco_fail "ingest received eco/v1/alarm through a shared subscription"
fi
eco_pass "ingest cannot read eco/v1/alarm, shared subscription or not"

eco_kill watch-in || true
eco_kill watch-int || true
eco_kill share || true
eco_kill share2 || true

# --- database roles ---------------------------------------------------------
n=$(psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn analyst)" -c "SELECT count(*) FROM rpt.reading")
eco_assert_eq 0 "$n" "analyst can read rpt.reading"
rc=0
err=$(psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn analyst)" \
    -c "INSERT INTO obs.reading (site_id, param_id, period, ts, value)
        VALUES (1, 1, 'h', '2021-06-01T00:00:00+08', 1)" 2>&1) || rc=$?
[ "$rc" -ne 0 ] || eco_fail "analyst could insert into obs.reading"
case "$err" in
*"permission denied"*) eco_pass "analyst cannot insert into obs.reading" ;;
*) eco_fail "analyst insert failed for the wrong reason: $err" ;;
esac
for role in ingest detect dispatch gep report ctl analyst; do
    u=$(psql -XAtq -d "$(eco_dsn "$role")" -c "SELECT current_user")
    eco_assert_eq "eco_$role" "$u" "role eco_$role logs in with its stack password"
done

# --- websockets listener ----------------------------------------------------
(exec 3<>"/dev/tcp/127.0.0.1/$ECO_MQTT_WS_PORT") 2>/dev/null ||
    eco_fail "websockets listener on $ECO_MQTT_WS_PORT is not accepting"
eco_pass "websockets listener accepts connections"

# --- broker persistence across a restart ------------------------------------
eco_mqtt_pub admin -i "$id-retain" -q 1 -r -t "eco/v1/latest/$id/pm25" -m "kept-$$"
# a libshared/mq client on the TLS listener must come back too: its
# reconnect runs the TLS handshake non-blocking on the loop
mqlog=$ECO_STACK_DIR/mosquitto.log
eco_spawn tlsclient env ECO_TEST_HOLD=1 ECO_MQTT_URL="$ECO_MQTTS_URL" \
    ECO_MQTT_USER="$ECO_MQTT_ADMIN_USER" ECO_MQTT_PASSWORD="$ECO_MQTT_ADMIN_PASSWORD" \
    "$ECO_BUILD_DIR/tests/itest_mq_rpc" "$id-tls"
eco_wait_until 10 grep -q "as $id-tls-server " "$mqlog"
tls_connects=$(grep -c "as $id-tls-server " "$mqlog")
eco_stack restart-mqtt
eco_wait_until 20 eval '[ "$(grep -c "as $id-tls-server " "$mqlog")" -gt "$tls_connects" ]'
eco_kill tlsclient KILL || true
eco_pass "a client on the TLS listener reconnects after a broker restart"
got=$(eco_mqtt_sub admin -i "$id-retain-get" -q 1 -t "eco/v1/latest/$id/pm25" -C 1 -W 5)
eco_assert_eq "kept-$$" "$got" "retained message survives a broker restart"
eco_mqtt_pub admin -i "$id-retain-clear" -q 1 -r -n -t "eco/v1/latest/$id/pm25"

# --- PostgreSQL stop / start keeps data and port -----------------------------
eco_psql "CREATE TABLE public.stack_probe (v text)" "INSERT INTO public.stack_probe VALUES ('$id')"
eco_stack stop-pg
if eco_psql "SELECT 1" >/dev/null 2>&1; then
    eco_fail "PostgreSQL still answers after stop-pg"
fi
eco_stack start-pg
eco_wait_until 10 eco_psql_is "$id" "SELECT v FROM public.stack_probe"
eco_pass "PostgreSQL stop/start keeps data and port"

eco_stack status >/dev/null || eco_fail "stack.sh status reports a stopped server"
eco_pass "stack status"
