#!/usr/bin/env bash
# libshared/mq against the real broker: MQTT 5 request/response (reply on
# the response topic with the correlation data), QoS 1 acknowledgements, a
# clean loop close, and the retained status: "online" while connected,
# "offline" after a clean close and as the last will after a SIGKILL.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
name="mqt$$"
prog="$ECO_BUILD_DIR/tests/itest_mq_rpc"
[ -x "$prog" ] || eco_fail "$prog is not built"
eco_mqtt_as admin
out=$("$prog" "$name") || eco_fail "request/response failed: $out"
grep -q "reply topic=eco/v1/rpc/$name/reply payload=echo:hello corr=req-42" <<<"$out" ||
    eco_fail "unexpected reply: $out"
eco_pass "request/response with correlation data; QoS 1 acknowledged; loop closed cleanly"
st=$(eco_mqtt_sub admin -i "$name-st" -C 1 -W 5 -t "eco/v1/sys/$name/server")
# the clean close's own message (with "ts"), not the last will (with "since")
grep -q '"status":"offline","version":"[^"]*","ts":' <<<"$st" || eco_fail "status after a clean close: $st"
eco_pass "retained status offline after a clean close (not the will)"

# the last will: a client killed while connected is marked offline by the broker
eco_spawn victim env ECO_TEST_HOLD=1 "$prog" "$name-w"
eco_wait_until 10 eval "eco_mqtt_sub admin -i $name-st2 -C 1 -W 2 -t eco/v1/sys/$name-w/server | grep -q online"
eco_kill victim KILL || true
eco_wait_until 10 eval "eco_mqtt_sub admin -i $name-st3 -C 1 -W 2 -t eco/v1/sys/$name-w/server | grep -q offline"
eco_pass "last will marks a killed client offline"
