#!/usr/bin/env bash
# Credentials stay where they are checked:
#   1. column rights: no role but eco_ingest (and eco_ctl, for the broker
#      hashes) can read a credential column
#      (core.device.password_hash, or any column named like one, in any
#      table or view of core, obs, rpt); eco_analyst reads the rest of
#      core.device and rpt.device; a column added to core.device later is
#      readable by nobody until granted;
#   2. bcrypt: `ecoctl registry load` hashes at cost 10, and re-hashes a
#      weaker stored hash whose password the file gives; the next load
#      changes nothing;
#   3. HJ 212 frames with passwords sent over TCP (bad password, bad CRC,
#      unknown MN, junk, an accepted frame with an unmapped code, an event
#      carrying a NewPW): no password in obs.deadletter, obs.device_event,
#      the eco/v1/dlq/ingest and eco/v1/event messages, the spool or ingest's
#      (debug) log, and the masked frames are there with PW=***;
#   4. the broker's websockets listener listens on loopback only (and works).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

eco_db_new t_security
p="sc$$"
T=$ECO_TEST_TMP
BENCH=$(eco_bin bench_hj212)
ECOCTL=$(eco_bin ecoctl)

# ------------------------------------------------------- 1. column rights
# every (role, column) where a role other than the owner may SELECT a column
# whose name says it holds a credential
cred_readers() {
    eco_psql "SELECT r.rolname || ' ' || n.nspname || '.' || c.relname || '.' || a.attname
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      CROSS JOIN pg_roles r
     WHERE n.nspname IN ('core', 'obs', 'rpt') AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND a.attname ~* '(password|passwd|pw|secret|token|hash)$'
       AND r.rolname LIKE 'eco\\_%' AND r.rolname <> 'eco_admin'
       AND has_column_privilege(r.oid, c.oid, a.attnum, 'SELECT')
     ORDER BY 1"
}
# eco_ingest checks the HJ 212 loggers' passwords; eco_ctl renders the
# broker's password file from the broker hashes (0013, docs/SECURITY.md)
eco_assert_eq "eco_ctl core.account.broker_hash
eco_ctl core.device.broker_hash
eco_ingest core.device.password_hash" "$(cred_readers)" \
    "only the role that checks a credential may read it"
as_role() {
    local role=$1
    shift
    psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn "$role")" -c "$@"
}
if as_role analyst "SELECT password_hash FROM core.device LIMIT 1" >"$T/an.out" 2>&1; then
    eco_fail "eco_analyst read core.device.password_hash"
fi
grep -q 'permission denied' "$T/an.out" || eco_fail "unexpected error: $(cat "$T/an.out")"
as_role analyst "SELECT count(code), count(site), count(protocol), count(hj212_st), count(active), count(id)
                 FROM core.device" >/dev/null
as_role analyst "SELECT count(*) FROM rpt.device" >/dev/null
as_role ctl "SELECT DISTINCT ON (site) site, code FROM core.device WHERE active" >/dev/null
as_role ingest "SELECT count(password_hash) FROM core.device" >/dev/null
eco_pass "eco_analyst reads every core.device column but password_hash, and rpt.device; eco_ingest reads the hash"
eco_psql "ALTER TABLE core.device ADD COLUMN t_extra text" >/dev/null
eco_assert_eq "" "$(eco_psql "SELECT string_agg(rolname, ' ') FROM pg_roles
    WHERE rolname IN ('eco_analyst', 'eco_detect', 'eco_dispatch', 'eco_gep', 'eco_report', 'eco_ctl')
      AND has_column_privilege(rolname, 'core.device', 't_extra', 'SELECT')")" \
    "a column added to core.device later is not readable until a migration grants it"
eco_psql "ALTER TABLE core.device DROP COLUMN t_extra" >/dev/null

# -------------------------------------------------------------- 2. bcrypt
"$ECOCTL" registry load "$ECO_SOURCE_DIR/deploy/sample" >"$T/load1.out" 2>&1 ||
    { cat "$T/load1.out" >&2; eco_fail "loading deploy/sample failed"; }
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM core.device WHERE protocol = 'hj212'
    AND password_hash NOT LIKE '\$2a\$10\$%'")" "registry load hashes at bcrypt cost 10"
read -r smn spw < <(awk -F, 'NR > 1 && $3 == "hj212" { print $1, $4; exit }' "$ECO_SOURCE_DIR/deploy/sample/devices.csv")
eco_psql "UPDATE core.device SET password_hash = crypt('$spw', gen_salt('bf', 8)) WHERE code = '$smn'" >/dev/null
"$ECOCTL" registry load "$ECO_SOURCE_DIR/deploy/sample" >"$T/load2.out" 2>&1 ||
    { cat "$T/load2.out" >&2; eco_fail "second load failed"; }
eco_assert_eq "true true" "$(eco_psql "SELECT (password_hash LIKE '\$2a\$10\$%') || ' ' || (password_hash = crypt('$spw', password_hash))
    FROM core.device WHERE code = '$smn'")" "a cost-8 hash is re-hashed at cost 10 by the next load"
grep -q '^devices.csv .* 0 new, 1 changed' "$T/load2.out" ||
    eco_fail "the second load should report 1 changed device: $(grep devices "$T/load2.out")"
"$ECOCTL" registry load "$ECO_SOURCE_DIR/deploy/sample" >"$T/load3.out" 2>&1
grep -q '^devices.csv .* 0 new, 0 changed' "$T/load3.out" ||
    eco_fail "a third load should change nothing: $(grep devices "$T/load3.out")"
eco_pass "the next load changes nothing"

# ------------------------------------------------------- 3. masked frames
PW=Kx7Qm2Zr
MN=SC$p
ingest_registry "$p"
eco_psql "INSERT INTO core.device (code, site, protocol, password_hash, hj212_st)
          VALUES ('$MN', '$p-s0', 'hj212', crypt('$PW', gen_salt('bf', 8)), '22')" >/dev/null
eco_spawn dlq eco_mqtt_sub admin -i "$p-dlq" -q 1 -W 120 -v -t eco/v1/dlq/ingest -t "eco/v1/event/$p-s0"
ingest_start ingest "$p" ECO_INGEST_HJ212_ADDR=127.0.0.1:0 ECO_LOG_LEVEL=debug
LOG=$(eco_log ingest)
port=$(sed -n 's/.*msg="hj212 gateway listening" addr=127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$LOG" | head -n 1)
[ -n "$port" ] || eco_fail "no 'hj212 gateway listening' line in the log"
# each secret names where it went; the real password is in three of them
S_BADPW=Wq3bad91 S_UNKNOWN=Uk5nown22 S_JUNK=Jj7unk33 S_NEW=Nn9ewpw44
BADPW="QN=20210601100000001;ST=22;CN=2011;PW=$S_BADPW;MN=$MN;Flag=5;CP=&&DataTime=20210601100001;a34004-Rtd=99,a34004-Flag=N&&"
UNKNOWN="QN=20210601100000002;ST=22;CN=2011;PW=$S_UNKNOWN;MN=SCUNKNOWN$p;Flag=5;CP=&&DataTime=20210601100002;a34004-Rtd=98&&"
BADCRC="QN=20210601100000003;ST=22;CN=2011;PW=$PW;MN=$MN;Flag=5;CP=&&DataTime=20210601100003;a34004-Rtd=97&&"
UNMAPPED="QN=20210601100000004;ST=22;CN=2011;PW=$PW;MN=$MN;Flag=5;CP=&&DataTime=20210601100004;a34004-Rtd=30,a34004-Flag=N;a99999-Rtd=1&&"
EVENT="QN=20210601100000005;ST=22;CN=3020;PW=$PW;MN=$MN;Flag=4;CP=&&DataTime=20210601100005;NewPW=$S_NEW;i12003-Info=3&&"
{
    "$BENCH" frame --bad-crc "$BADCRC" # not a constant: that is the right CRC of some segments
    "$BENCH" frame "$BADPW" "$UNKNOWN"
    printf 'garbage;PW=%s;more\r\n' "$S_JUNK"
    "$BENCH" frame "$UNMAPPED" "$EVENT"
} >"$T/frames.req"
[ "$(head -n 1 "$T/frames.req")" != "$("$BENCH" frame "$BADCRC")" ] ||
    eco_fail "test bug: the CRC was not corrupted"
grep -q "$PW" "$T/frames.req" || eco_fail "test bug: no password in the frames"
"$BENCH" send "127.0.0.1:$port" --wait 30 <"$T/frames.req" >"$T/frames.ans"
dead() { eco_psql "SELECT count(*) FROM obs.deadletter WHERE source LIKE 'hj212://%'"; }
dead_is() { [ "$(dead)" -ge "$1" ]; }
eco_wait_until 20 dead_is 5
eco_wait_until 20 eco_psql_is 1 "SELECT count(*) FROM obs.device_event WHERE device = '$MN'"
eco_wait_until 20 eco_psql_is 1 "SELECT count(*) FROM rpt.reading WHERE site = '$p-s0'"
eco_wait_until 10 grep -q '^eco/v1/event/' "$(eco_log dlq)"
dlq_count() { [ "$(grep -c '^eco/v1/dlq/ingest ' "$(eco_log dlq)")" -ge 5 ]; }
eco_wait_until 10 dlq_count
eco_assert_eq "crc false
bad password false
unknown MN false
garbage false
unmapped pollutant code false" "$(eco_psql "SELECT CASE WHEN reason LIKE 'unmapped%' THEN 'unmapped pollutant code'
        WHEN payload LIKE 'garbage%' THEN 'garbage' ELSE split_part(reason, ':', 1) END
        || ' ' || (payload !~* '(^|;)pw=\*\*\*;') FROM obs.deadletter WHERE source LIKE 'hj212://%' ORDER BY id")" \
    "five dead letters, each with its PW masked as ***"
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM obs.deadletter WHERE source LIKE 'hj212://%'
    AND (payload ~ '&&[0-9A-Fa-f]{4}' OR reason ~ 'expected [0-9A-F]{4}')")" \
    "nor their CRCs (computed over the password), in the frame or the reason"
for s in "$PW" "$S_BADPW" "$S_UNKNOWN" "$S_JUNK" "$S_NEW"; do
    n1=$(eco_psql "SELECT count(*) FROM obs.deadletter WHERE payload LIKE '%$s%' OR reason LIKE '%$s%'")
    n2=$(eco_psql "SELECT count(*) FROM obs.device_event WHERE payload::text LIKE '%$s%'")
    eco_assert_eq "0 0" "$n1 $n2" "secret $s in neither obs.deadletter nor obs.device_event"
    if grep -rqF -- "$s" "$(eco_log dlq)" "$LOG" "$T/spool-$p"; then
        eco_fail "secret $s found in: $(grep -rlF -- "$s" "$(eco_log dlq)" "$LOG" "$T/spool-$p" | tr '\n' ' ')"
    fi
done
eco_pass "no password in the dlq and event messages, ingest's debug log or the spool"
eco_assert_eq '"***"' "$(eco_psql "SELECT payload -> 'cp' -> 'NewPW' FROM obs.device_event WHERE device = '$MN'")" \
    "an event's NewPW is stored as ***"
eco_kill ingest TERM

# ---------------------------------------------------------- 4. websockets
[ -n "${ECO_MQTT_WS_PORT:-}" ] || eco_fail "the stack's env has no ECO_MQTT_WS_PORT"
ss -Hltn "sport = :$ECO_MQTT_WS_PORT" | awk '{ print $4 }' >"$T/ws.listen"
[ -s "$T/ws.listen" ] || eco_fail "nothing listens on the websockets port $ECO_MQTT_WS_PORT"
if grep -Evq "^(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]|\[::1\]):$ECO_MQTT_WS_PORT\$" "$T/ws.listen"; then
    eco_fail "the websockets listener is not on loopback only: $(tr '\n' ' ' <"$T/ws.listen")"
fi
eco_pass "websockets listen on loopback only: $(tr '\n' ' ' <"$T/ws.listen")"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --http1.1 -H 'Connection: Upgrade' \
    -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
    -H 'Sec-WebSocket-Protocol: mqtt' "http://127.0.0.1:$ECO_MQTT_WS_PORT/mqtt" || true)
eco_assert_eq 101 "$code" "the websockets listener answers the upgrade on 127.0.0.1"
# it also serves the web console's directory over HTTP (http_dir), and
# nothing outside it: the stack's passwords and the system's files stay put
[ -d "${ECO_CONSOLE_DIR:-}" ] || eco_fail "the stack's env has no ECO_CONSOLE_DIR"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$ECO_MQTT_WS_PORT/index.html")
eco_assert_eq 200 "$code" "the websockets listener serves the console's directory"
for path in /../../../../etc/passwd /..%2f..%2f..%2f..%2fetc%2fpasswd /%2e%2e/%2e%2e/%2e%2e/etc/passwd \
    /../broker/passwd /../env /../stack.state; do
    body=$(curl -s --path-as-is --max-time 2 "http://127.0.0.1:$ECO_MQTT_WS_PORT$path" || true)
    if grep -qE '^root:|\$7\$|PASSWORD|PW_' <<<"$body"; then
        eco_fail "GET $path on the websockets listener leaks a file outside its directory"
    fi
done
eco_pass "nothing outside the console's directory is served (/../, %2f and %2e%2e paths)"

# ------------------------------------- 5. the migration masks stored rows
# a database at 0006 with a dead letter and an event as they were stored
# before the gateway masked them; then 0007
ECO_TEST_TEMPLATE=template0 eco_db_new t_security_mig
for f in "$ECO_SOURCE_DIR"/schemas/sql/000[1-6]_*.sql; do
    psql -XAtq -v ON_ERROR_STOP=1 -d "$ECO_PG_DSN" -f "$f" >/dev/null
done
eco_psql "INSERT INTO obs.deadletter (service, source, reason, payload) VALUES
    ('ingest', 'hj212://10.0.0.1:5000', 'bad password', '##0101QN=1;ST=22;CN=2011;PW=$PW;MN=X;Flag=5;CP=&&a=1&&1C80'),
    ('ingest', 'eco/v1/in/x', 'bad json', 'PW=not-a-frame');
  INSERT INTO obs.device_event (device, site, cn, kind, payload) VALUES
    ('X', 'S', '3020', 'device_info', '{\"cp\": {\"NewPW\": \"$S_NEW\", \"i12003-Info\": \"3\"}}')" >/dev/null
psql -XAtq -v ON_ERROR_STOP=1 -d "$ECO_PG_DSN" -f "$ECO_SOURCE_DIR/schemas/sql/0007_security.sql" >/dev/null
eco_assert_eq "##0101QN=1;ST=22;CN=2011;PW=***;MN=X;Flag=5;CP=&&a=1&&****
PW=not-a-frame
{\"cp\": {\"NewPW\": \"***\", \"i12003-Info\": \"3\"}}" \
    "$(eco_psql "SELECT payload FROM obs.deadletter ORDER BY id" "SELECT payload FROM obs.device_event")" \
    "0007 masks the passwords in HJ 212 dead letters and events stored before it"
eco_check_logs
