#!/usr/bin/env bash
# Identities on the real broker (docs/SECURITY.md): the stack's mosquitto
# reads the password and ACL files ecoctl renders from this test's database
# (ECO_TEST_BROKER_AUTH_DIR; tests that render take turns) and reloads on
# SIGHUP, never restarted here:
#   1. registry load gives each MQTT device of devices.csv a $7$ broker hash
#      (no plaintext stored; eco_analyst cannot read it);
#   2. an anonymous client and a wrong password are refused;
#   3. a device publishes to its own eco/v1/in/{code} but not to another
#      device's: the MQTT 5 publisher is told "Not authorized" and nothing
#      reaches a subscriber;
#   4. a password changed in devices.csv, or with `ecoctl user passwd`, takes
#      effect at once: the old one is refused, the new one accepted;
#   5. a device loaded with active=false is disconnected while connected and
#      refused afterwards; `user disable` does the same to a person;
#   6. a department user receives only its own department's work orders,
#      live or retained, whatever it subscribes to;
#   7. an integrator (a person, and the integrator service account) receives
#      nothing on eco/v1/complaint/# (complainants' phone numbers);
#   8. person and device names may not collide; usage errors exit 2.
set -euo pipefail
# shellcheck source=../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

eco_db_new t_identity
ECOCTL=$(eco_bin ecoctl)
T=$ECO_TEST_TMP
export ECO_BROKER_AUTH_DIR=$ECO_TEST_BROKER_AUTH_DIR
export ECO_BROKER_PID_FILE=$ECO_TEST_BROKER_PID_FILE
broker_pid=$(cat "$ECO_BROKER_PID_FILE")
p=idt$$
MQ=(-h "$ECO_MQTT_HOST" -p "$ECO_MQTT_PORT" -V mqttv5)

# pub USER PASSWORD TOPIC MESSAGE: QoS 1, MQTT 5; prints the client's output
pub() {
    mosquitto_pub "${MQ[@]}" -u "$1" -P "$2" -i "$p-pub$RANDOM" -q 1 -t "$3" -m "$4" 2>&1 7>&-
}
# connects USER PASSWORD: a CONNECT accepted (exit 0 of a QoS 1 publish to
# a topic of nobody's; a refused connection exits non-zero)
connects() {
    mosquitto_pub "${MQ[@]}" -u "$1" -P "$2" -i "$p-c$RANDOM" -q 1 -t "eco/v1/x/$p" -m x \
        >/dev/null 2>&1 7>&-
}
refused() { ! connects "$@"; }

# A subscriber as admin on the devices' topics, proven ready by a probe.
watch_in() {
    eco_spawn watch_in eco_mqtt_sub admin -i "$p-watch" -q 1 -v \
        -t "eco/v1/in/$p-dev1" -t "eco/v1/in/$p-dev2" -t "eco/v1/in/$p-probe"
    probe_ready() {
        eco_mqtt_pub admin -q 1 -t "eco/v1/in/$p-probe" -m probe >/dev/null 2>&1 || true
        grep -q "^eco/v1/in/$p-probe " "$(eco_log watch_in)"
    }
    eco_wait_until 15 probe_ready
}

# ---- 1. registry load creates the devices' accounts ----------------------
reg=$T/reg
cp -r "$ECO_SOURCE_DIR/deploy/sample" "$reg"
# the optional columns too: dev3 is a gateway of public complaints
awk 'NR == 1 { print $0 ",active,complaints"; next } { print $0 ",," }' \
    "$ECO_SOURCE_DIR/deploy/sample/devices.csv" >"$reg/devices.csv"
cat >>"$reg/devices.csv" <<EOF
$p-dev1,air-dh01,mqtt,pw-one-$p,22,,
$p-dev2,air-dh02,mqtt,pw-two-$p,22,,
$p-dev3,air-dh02,mqtt,pw-three-$p,22,,true
EOF
"$ECOCTL" registry load "$reg" >"$T/load1.out" 2>&1 || {
    cat "$T/load1.out"
    eco_fail "registry load failed"
}
grep -q "broker accounts: [0-9]* devices, 0 people, reloaded" "$T/load1.out" ||
    eco_fail "registry load did not render and reload the broker: $(cat "$T/load1.out")"
eco_assert_eq 3 "$(eco_psql "SELECT count(*) FROM core.device WHERE code LIKE '$p-%'
    AND broker_hash ~ '^\\\$7\\\$101\\\$'")" "the devices have a mosquitto \$7\$ hash"
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM core.device
    WHERE broker_hash LIKE '%pw-one%' OR password_hash LIKE '%pw-one%'")" "no plaintext stored"
# the bcrypt hash is the HJ 212 gateway's; MQTT devices must not pay for it
# (52 ms each at cost 10: 9 minutes for 10,000 devices)
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM core.device
    WHERE protocol <> 'hj212' AND password_hash IS NOT NULL")" "no bcrypt hash for MQTT devices"
grep -qF "$p-dev1:\$7\$101\$" "$ECO_BROKER_AUTH_DIR/passwd" || eco_fail "dev1 not in the passwd file"
grep -q "^pattern write eco/v1/in/%u$" "$ECO_BROKER_AUTH_DIR/acl" || eco_fail "no device pattern"
if psql -XAtq -d "$(eco_dsn analyst)" -c "SELECT broker_hash FROM core.device" >/dev/null 2>&1; then
    eco_fail "eco_analyst reads core.device.broker_hash"
fi
if psql -XAtq -d "$(eco_dsn analyst)" -c "SELECT broker_hash FROM core.account" >/dev/null 2>&1; then
    eco_fail "eco_analyst reads core.account"
fi
eco_pass "analyst reads neither broker hash"
# a second load with the same passwords keeps the hashes
before=$(eco_psql "SELECT string_agg(broker_hash, ',' ORDER BY code) FROM core.device WHERE code LIKE '$p-%'")
"$ECOCTL" registry load "$reg" >/dev/null 2>&1 || eco_fail "second load failed"
eco_assert_eq "$before" \
    "$(eco_psql "SELECT string_agg(broker_hash, ',' ORDER BY code) FROM core.device WHERE code LIKE '$p-%'")" \
    "a repeated load keeps the broker hashes"

# ---- 2. anonymous and wrong passwords ------------------------------------
eco_wait_until 10 connects "$p-dev1" "pw-one-$p"
eco_pass "device connects with its own password"
out=$(mosquitto_pub "${MQ[@]}" -i "$p-anon" -q 1 -t "eco/v1/in/$p-dev1" -m anon 2>&1 7>&-) &&
    eco_fail "an anonymous client was accepted"
case "$out" in *"Not authorized"*) ;; *) eco_fail "anonymous: unexpected '$out'" ;; esac
eco_pass "anonymous client refused"
refused "$p-dev1" "pw-two-$p" || eco_fail "dev1 accepted with dev2's password"
eco_pass "wrong password refused"

# ---- 3. a device cannot publish as another -------------------------------
watch_in
out=$(pub "$p-dev1" "pw-one-$p" "eco/v1/in/$p-dev2" forged-by-dev1)
case "$out" in *"Not authorized"*) ;; *) eco_fail "forged publish not refused: '$out'" ;; esac
out=$(pub "$p-dev1" "pw-one-$p" "eco/v1/in/$p-dev1" own-by-dev1)
[ -z "$out" ] || eco_fail "own publish: '$out'"
eco_wait_until 10 grep -q "^eco/v1/in/$p-dev1 own-by-dev1$" "$(eco_log watch_in)"
# the forged message was published before the own one on the same topic
# tree; QoS 1 from one client arrives in order, so it would be here by now
if grep -q forged "$(eco_log watch_in)"; then
    eco_fail "a subscriber received dev1's message on dev2's topic"
fi
out=$(pub "$p-dev1" "pw-one-$p" "eco/v1/obs/$p-s" not-mine)
case "$out" in *"Not authorized"*) ;; *) eco_fail "device wrote outside eco/v1/in: '$out'" ;; esac
eco_pass "a device publishes its own readings and nothing else"
# complaints: only a device the registry marks (devices.csv `complaints`)
eco_spawn watch_c eco_mqtt_sub admin -i "$p-watch-c" -q 1 -v -t eco/v1/complaint/new
sleep 0.5
out=$(pub "$p-dev1" "pw-one-$p" eco/v1/complaint/new "from-dev1-$p")
case "$out" in *"Not authorized"*) ;; *) eco_fail "an ordinary device published a complaint: '$out'" ;; esac
out=$(pub "$p-dev3" "pw-three-$p" eco/v1/complaint/new "from-dev3-$p")
[ -z "$out" ] || eco_fail "the complaint gateway was refused: '$out'"
eco_wait_until 10 grep -q "from-dev3-$p" "$(eco_log watch_c)"
if grep -q "from-dev1-$p" "$(eco_log watch_c)"; then
    eco_fail "a subscriber received an ordinary device's complaint"
fi
eco_assert_eq t "$(eco_psql "SELECT may_complain FROM core.device WHERE code = '$p-dev3'")" \
    "devices.csv complaints=true is stored"
eco_pass "only a device marked in devices.csv may publish complaints"

# ---- 4. password change in devices.csv, at once ---------------------------
sed -i "s/^$p-dev1,air-dh01,mqtt,pw-one-$p,/$p-dev1,air-dh01,mqtt,pw-new-$p,/" "$reg/devices.csv"
"$ECOCTL" registry load "$reg" >/dev/null 2>&1 || eco_fail "load with a new password failed"
eco_wait_until 5 refused "$p-dev1" "pw-one-$p"
connects "$p-dev1" "pw-new-$p" || eco_fail "the new device password is refused"
eco_pass "a device password changed in devices.csv takes effect at once"

# ---- 5. a device made inactive is disconnected and refused ----------------
eco_spawn dev2conn mosquitto_sub "${MQ[@]}" -u "$p-dev2" -P "pw-two-$p" -i "$p-dev2-conn" \
    -k 5 -t "eco/v1/in/$p-nothing"
eco_wait_until 10 grep -q "as $p-dev2-conn " "$ECO_STACK_DIR/mosquitto.log"
sed -i "s/^\($p-dev2,air-dh02,mqtt,[^,]*,22\),,\$/\1,false,/" "$reg/devices.csv"
grep -q "^$p-dev2,.*,false,\$" "$reg/devices.csv" || eco_fail "dev2 not set inactive in devices.csv"
"$ECOCTL" registry load "$reg" >"$T/load3.out" 2>&1 || {
    cat "$T/load3.out"
    eco_fail "load with active=false failed"
}
eco_assert_eq f "$(eco_psql "SELECT active FROM core.device WHERE code = '$p-dev2'")" "dev2 inactive"
eco_wait_until 10 grep -q "Client $p-dev2-conn disconnected" "$ECO_STACK_DIR/mosquitto.log"
refused "$p-dev2" "pw-two-$p" || eco_fail "an inactive device connects"
eco_assert_eq "$broker_pid" "$(cat "$ECO_BROKER_PID_FILE")" "the broker was not restarted"
eco_pass "an inactive device is disconnected and refused without a broker restart"

# ---- people ---------------------------------------------------------------
# sample departments: ZS-EEB-DH (ours) and ZS-EEB (another)
echo "alice-pw-$p" | "$ECOCTL" user add "$p-alice" --role department --department ZS-EEB-DH \
    --password-stdin >/dev/null || eco_fail "user add department"
echo "bob-pw-$p" | "$ECOCTL" user add "$p-bob" --role integrator --password-stdin >/dev/null ||
    eco_fail "user add integrator"
gen=$("$ECOCTL" --json user add "$p-carol" --role dispatcher) || eco_fail "user add dispatcher"
carol_pw=$(printf '%s' "$gen" | sed -n 's/.*"password":"\([A-Za-z0-9]*\)".*/\1/p')
[ "${#carol_pw}" -eq 20 ] || eco_fail "no generated password in $gen"
case "$gen" in *'"reloaded":true'*) ;; *) eco_fail "user add did not reload: $gen" ;; esac
eco_wait_until 5 connects "$p-carol" "$carol_pw"
eco_pass "a generated password works"
list=$("$ECOCTL" --json user list)
case "$list" in
*"{\"username\":\"$p-alice\",\"role\":\"department\",\"department\":\"ZS-EEB-DH\",\"active\":true,"*) ;;
*) eco_fail "user list --json: $list" ;;
esac
eco_pass "user list --json"

# ---- 4b. a person's password change, at once ------------------------------
echo "alice-pw2-$p" | "$ECOCTL" user passwd "$p-alice" --password-stdin >/dev/null ||
    eco_fail "user passwd"
refused "$p-alice" "alice-pw-$p" || eco_fail "the old password still works"
connects "$p-alice" "alice-pw2-$p" || eco_fail "the new password is refused"
eco_pass "user passwd takes effect at once"

# ---- 6. a department sees only its own work orders ------------------------
own=eco/v1/wo/ZS-EEB-DH/$p-1
other=eco/v1/wo/ZS-EEB/$p-2
eco_mqtt_pub admin -q 1 -r -t "$other" -m "retained-other" >/dev/null
eco_mqtt_pub admin -q 1 -r -t "$own" -m "retained-own" >/dev/null
eco_spawn alice mosquitto_sub "${MQ[@]}" -u "$p-alice" -P "alice-pw2-$p" -i "$p-alice-sub" -q 1 -v \
    -t "eco/v1/wo/ZS-EEB/#" -t "eco/v1/wo/#" -t "eco/v1/complaint/#"
eco_wait_until 10 grep -q "^$own retained-own$" "$(eco_log alice)"
eco_mqtt_pub admin -q 1 -t "$other" -m "live-other" >/dev/null
eco_mqtt_pub admin -q 1 -t eco/v1/complaint/new -m "{\"contact\":\"13800000000\",\"t\":\"$p\"}" >/dev/null
eco_mqtt_pub admin -q 1 -t "$own" -m "live-own" >/dev/null
eco_wait_until 10 grep -q "^$own live-own$" "$(eco_log alice)"
if grep -q -e "-other" -e 13800000000 "$(eco_log alice)"; then
    eco_fail "a department user received another department's work order or a complaint"
fi
eco_pass "a department user receives only its own department's work orders"

# ---- 7. integrators receive no complaints ---------------------------------
eco_spawn bob mosquitto_sub "${MQ[@]}" -u "$p-bob" -P "bob-pw-$p" -i "$p-bob-sub" -q 1 -v \
    -t "eco/v1/complaint/#" -t "eco/v1/#"
eco_spawn integ eco_mqtt_sub integrator -i "$p-integ-sub" -q 1 -v \
    -t "eco/v1/complaint/#" -t "eco/v1/#"
ready() {
    eco_mqtt_pub admin -q 1 -t "eco/v1/latest/$p-s/pm25" -m "probe-$p" >/dev/null 2>&1 || true
    grep -q "probe-$p" "$(eco_log bob)" && grep -q "probe-$p" "$(eco_log integ)"
}
eco_wait_until 15 ready
eco_mqtt_pub admin -q 1 -t eco/v1/complaint/new -m "{\"contact\":\"13900000000\",\"t\":\"$p\"}" >/dev/null
eco_mqtt_pub admin -q 1 -t "eco/v1/latest/$p-s/pm10" -m "after-$p" >/dev/null
eco_wait_until 10 grep -q "after-$p" "$(eco_log bob)"
eco_wait_until 10 grep -q "after-$p" "$(eco_log integ)"
if grep -q 13900000000 "$(eco_log bob)" "$(eco_log integ)"; then
    eco_fail "an integrator received a complaint"
fi
eco_pass "integrators receive no complaints"

# ---- 6b. a request names its caller; a reply reaches only its caller -------
# (docs/CONTRACT.md, "Requests to services"): the broker lets an account
# publish requests only under its own name and read only its own replies
eco_spawn svc eco_mqtt_sub dispatch -i "$p-svc" -q 1 -v -t "eco/v1/rpc/dispatch/#"
eco_spawn carolr mosquitto_sub "${MQ[@]}" -u "$p-carol" -P "$carol_pw" -i "$p-carol-r" -q 1 -v \
    -t "eco/v1/rpc/reply/#"
asked() {
    pub "$p-carol" "$carol_pw" "eco/v1/rpc/dispatch/ping/$p-carol" "probe-$p" >/dev/null || true
    grep -q "^eco/v1/rpc/dispatch/ping/$p-carol probe-$p$" "$(eco_log svc)"
}
eco_wait_until 15 asked
pub "$p-carol" "$carol_pw" "eco/v1/rpc/dispatch/ping/$p-alice" "forged-$p" >/dev/null || true
pub "$p-carol" "$carol_pw" "eco/v1/rpc/dispatch/ping" "callerless-$p" >/dev/null || true
pub "$p-alice" "alice-pw2-$p" "eco/v1/rpc/dispatch/ping/$p-alice" "own-$p" >/dev/null ||
    eco_fail "alice cannot ask as herself"
eco_wait_until 10 grep -q "^eco/v1/rpc/dispatch/ping/$p-alice own-$p$" "$(eco_log svc)"
if grep -q -e "forged-$p" -e "callerless-$p" "$(eco_log svc)"; then
    eco_fail "a request under another user's name (or none) reached the service"
fi
eco_pass "a user sends requests under its own name only"
eco_mqtt_pub dispatch -q 1 -t "eco/v1/rpc/reply/$p-alice/1" -m "for-alice-$p" >/dev/null
eco_mqtt_pub dispatch -q 1 -t "eco/v1/rpc/reply/$p-carol/1" -m "for-carol-$p" >/dev/null
eco_wait_until 10 grep -q "^eco/v1/rpc/reply/$p-carol/1 for-carol-$p$" "$(eco_log carolr)"
if grep -q "for-alice" "$(eco_log carolr)"; then
    eco_fail "a user received another user's reply"
fi
eco_pass "a user receives its own replies only"

# ---- 5b. disabling a person disconnects it --------------------------------
"$ECOCTL" user disable "$p-bob" >/dev/null || eco_fail "user disable"
eco_wait_until 10 grep -q "Client $p-bob-sub disconnected" "$ECO_STACK_DIR/mosquitto.log"
refused "$p-bob" "bob-pw-$p" || eco_fail "a disabled user connects"
eco_pass "a disabled user is disconnected and refused"

# ---- 8. collisions and usage ----------------------------------------------
if out=$("$ECOCTL" user add "$p-dev1" --role analyst 2>&1); then
    eco_fail "a person took a device's code"
fi
case "$out" in *"is a device code"*) ;; *) eco_fail "collision: '$out'" ;; esac
echo "$p-alice,air-dh01,mqtt,x-$p,22,," >>"$reg/devices.csv"
if "$ECOCTL" registry load "$reg" >"$T/load4.out" 2>&1; then
    eco_fail "a device took a person's name"
fi
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM core.device WHERE code = '$p-alice'")" \
    "no device named like a person"
set +e
"$ECOCTL" user add "$p-x" >/dev/null 2>&1
eco_assert_eq 2 $? "user add without a role"
"$ECOCTL" user add "$p-x" --role department >/dev/null 2>&1
eco_assert_eq 2 $? "department without --department"
"$ECOCTL" user add "$p-x" --role boss >/dev/null 2>&1
eco_assert_eq 2 $? "unknown role"
"$ECOCTL" user role "$p-alice" analyst --department ZS-EEB >/dev/null 2>&1
eco_assert_eq 2 $? "--department with another role"
set -e
"$ECOCTL" user role "$p-alice" analyst >/dev/null || eco_fail "user role"
eco_assert_eq "analyst|" "$(eco_psql "SELECT role, department FROM core.account WHERE username = '$p-alice'")" \
    "role changed, department cleared"
eco_assert_eq "$broker_pid" "$(cat "$ECO_BROKER_PID_FILE")" "the broker was never restarted"

# leave the shared broker as the other tests expect: services only, no
# retained work orders of ours
eco_mqtt_pub admin -q 1 -r -t "$own" -n >/dev/null
eco_mqtt_pub admin -q 1 -r -t "$other" -n >/dev/null
eco_psql "UPDATE core.device SET active = false WHERE code LIKE '$p-%'" \
    "UPDATE core.account SET active = false"
"$ECOCTL" broker sync >/dev/null || eco_fail "broker sync"
