#!/usr/bin/env bash
# The broker's TLS listener (docs/SECURITY.md, "TLS"), against the stack's
# own CA: a client that trusts the CA connects; a plain MQTT client and a
# client that does not trust the CA are refused; eco-ingest and ecoctl work
# over mqtts:// (a burst of readings published over TLS is stored whole,
# through more reads than one poll wake-up serves).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

[ -n "${ECO_MQTTS_PORT:-}" ] && [ -s "${ECO_MQTT_CAFILE:-}" ] ||
    eco_fail "the stack has no TLS listener (ECO_MQTTS_PORT, ECO_MQTT_CAFILE)"
eco_db_new t_tls
p="tl$$"
ingest_registry "$p"
TLS=(-h localhost -p "$ECO_MQTTS_PORT" -V mqttv5)

# ---- 1. the handshake: trusted CA yes; plain MQTT and an unknown CA no ------
eco_mqtt_pub sim -i "$p-probe" -q 1 -t "eco/v1/in/$p-none" -m x >/dev/null # plain port works
mosquitto_pub "${TLS[@]}" --cafile "$ECO_MQTT_CAFILE" -u "$ECO_MQTT_SIM_USER" \
    -P "$ECO_MQTT_SIM_PASSWORD" -i "$p-tls" -q 1 -t "eco/v1/in/$p-none" -m x 7>&- ||
    eco_fail "a client that trusts the stack's CA cannot connect over TLS"
eco_pass "a TLS connection with the stack's CA works"
if mosquitto_pub -h 127.0.0.1 -p "$ECO_MQTTS_PORT" -V mqttv5 -u "$ECO_MQTT_SIM_USER" \
    -P "$ECO_MQTT_SIM_PASSWORD" -i "$p-plain" -q 1 -t "eco/v1/x/$p" -m x >/dev/null 2>&1 7>&-; then
    eco_fail "a plain MQTT connection to the TLS listener was accepted"
fi
eco_pass "a plain connection to the TLS listener fails"
if mosquitto_pub "${TLS[@]}" --capath /etc/ssl/certs -u "$ECO_MQTT_SIM_USER" \
    -P "$ECO_MQTT_SIM_PASSWORD" -i "$p-untrusted" -q 1 -t "eco/v1/x/$p" -m x >/dev/null 2>&1 7>&-; then
    eco_fail "a client that does not trust the stack's CA connected"
fi
eco_pass "a client that does not trust the CA is refused"

# libshared/mq over TLS: request/response, QoS 1 acknowledged, clean close
out=$(ECO_MQTT_URL="$ECO_MQTTS_URL" ECO_MQTT_USER="$ECO_MQTT_ADMIN_USER" \
    ECO_MQTT_PASSWORD="$ECO_MQTT_ADMIN_PASSWORD" "$ECO_BUILD_DIR/tests/itest_mq_rpc" "$p-rpc" 2>&1) ||
    eco_fail "libshared/mq over mqtts: $out"
eco_pass "libshared/mq: request/response over mqtts://"

# ---- 2. eco-ingest over mqtts: a burst published over TLS, stored whole -----
ingest_start ingest "$p" ECO_MQTT_URL="$ECO_MQTTS_URL" ECO_MQTT_CAFILE="$ECO_MQTT_CAFILE"
n=3000
for i in $(seq 0 $((n - 1))); do
    printf '{"ts": "2021-06-%02dT%02d:%02d:00+08:00", "period": "min", "values": {"pm25": %d}}\n' \
        $((1 + i / 1440)) $((i / 60 % 24)) $((i % 60)) "$((i % 500))"
done >"$ECO_TEST_TMP/burst"
mosquitto_pub "${TLS[@]}" --cafile "$ECO_MQTT_CAFILE" -u "$ECO_MQTT_SIM_USER" \
    -P "$ECO_MQTT_SIM_PASSWORD" -i "$p-burst" -q 1 -t "eco/v1/in/$p-d0" -l <"$ECO_TEST_TMP/burst" 7>&-
eco_wait_until 60 eco_psql_is "$n" "SELECT count(*) FROM rpt.reading WHERE site = '$p-s0'"
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM obs.deadletter")" "no dead letters"
eco_pass "eco-ingest over mqtts:// stores a TLS burst of $n readings whole"

# ---- 3. ecoctl over mqtts ----------------------------------------------------
out=$(ECO_PG_DSN="$(eco_dsn ctl)" ECO_MQTT_URL="$ECO_MQTTS_URL" ECO_MQTT_USER="$ECO_MQTT_ADMIN_USER" \
    ECO_MQTT_PASSWORD="$ECO_MQTT_ADMIN_PASSWORD" "$(eco_bin ecoctl)" status 2>&1) ||
    eco_fail "ecoctl status over mqtts failed: $out"
grep -q "ingest.*$p.*online" <<<"$out" || eco_fail "ecoctl status over mqtts does not show ingest: $out"
if out=$(ECO_PG_DSN="$(eco_dsn ctl)" ECO_MQTT_URL="$ECO_MQTTS_URL" ECO_MQTT_CAFILE= \
    ECO_MQTT_USER="$ECO_MQTT_ADMIN_USER" ECO_MQTT_PASSWORD="$ECO_MQTT_ADMIN_PASSWORD" \
    "$(eco_bin ecoctl)" status 2>&1); then
    eco_fail "ecoctl trusted the stack's broker without its CA: $out"
fi
eco_pass "ecoctl status over mqtts://, and refused without the CA"
