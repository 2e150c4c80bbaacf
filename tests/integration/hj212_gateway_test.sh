#!/usr/bin/env bash
# eco-ingest's HJ 212 gateway over real TCP (bench_hj212 is the logger):
#   1. good 2061/2011/2051/2031 uploads land in obs.reading with the mapped
#      parameters, units, flags and DataTime as the period start; a 9014 comes
#      back byte for byte as hj212_encode_answer makes it when Flag has bit A,
#      and nothing when it has not; -Cou goes to its own parameter only where
#      core.hj212_map has a "<code>-Cou" row; -Min is ignored;
#   2. the code map rule: an ambient code from an air station (ST 22) falls
#      back to core.param.hj212_code, a stack (ST 31) never does;
#   3. bad CRC, wrong password, unknown MN: refused, dead-lettered with the
#      reason, not stored, not answered, while a good frame on the same
#      connection is stored and answered;
#   4. a connection spewing junk is closed and bounded in dead letters, while
#      a concurrent good connection is served in full;
#   5. a split upload (Flag=7, PNUM/PNO): each part answered with its own QN,
#      both parts stored under the same time; the logger's password, verified
#      on an earlier connection, is not hashed again;
#   6. events: 2081 restart and 3020 device info in obs.device_event and on
#      eco/v1/event/<site>, a resent frame stored once; 1013 gets 9013 + 1012;
#   7. connections beyond ECO_INGEST_HJ212_MAX_CONN (all authenticated) are
#      refused, idle ones closed; status counters; SIGTERM with an open
#      connection exits 0.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

eco_db_new t_hj212_gateway
p="th$$"
T=$ECO_TEST_TMP
BENCH=$(eco_bin bench_hj212)
ECOCTL=$(eco_bin ecoctl)

# ---------------------------------------------------------------- registry
# The sample network gives the parameters, the code map and the regions. The
# loggers and their sites are this test's own (other tests share the broker:
# ingest also receives their eco/v1/in messages, which name sample devices).
"$ECOCTL" registry load "$ECO_SOURCE_DIR/deploy/sample" >"$T/load.out" 2>&1 ||
    { cat "$T/load.out" >&2; eco_fail "loading deploy/sample failed"; }
[ "$(eco_psql "SELECT count(*) FROM core.hj212_map")" -ge 45 ] || eco_fail "sample hj212_map not loaded"
GAS1=G1$p GAS1_PW=123728 # site $p-gas1, ST 31
GAS2=G2$p GAS2_PW=477576 # site $p-gas2, ST 31
WW1=W1$p WW1_PW=498828   # site $p-ww1, ST 32
AIR=A1$p AIR_PW=654321   # site $p-air, ST 22
# plus a cumulative-flow parameter mapped by suffix, and TSP known only by
# its hj212_code (the fallback)
eco_psql "
INSERT INTO core.site (code, name, kind, region, enterprise, geom)
  SELECT '$p-' || x.n, s.name, s.kind, s.region, s.enterprise, s.geom
  FROM (VALUES ('gas1', 'gas-ys01-1'), ('gas2', 'gas-ys01-2'), ('ww1', 'ww-ys01-1'), ('air', 'air-dh01'))
    AS x(n, tpl) JOIN core.site s ON s.code = x.tpl;
INSERT INTO core.device (code, site, protocol, password_hash, hj212_st) VALUES
  ('$GAS1', '$p-gas1', 'hj212', crypt('$GAS1_PW', gen_salt('bf', 8)), '31'),
  ('$GAS2', '$p-gas2', 'hj212', crypt('$GAS2_PW', gen_salt('bf', 8)), '31'),
  ('$WW1', '$p-ww1', 'hj212', crypt('$WW1_PW', gen_salt('bf', 8)), '32'),
  ('$AIR', '$p-air', 'hj212', crypt('$AIR_PW', gen_salt('bf', 8)), '22');
INSERT INTO core.param (code, hj212_code, name, unit, valid_min, valid_max) VALUES
  ('flow_cou', NULL, 'wastewater volume in the period', 'm³', 0, 1e9),
  ('tsp', 'a34001', 'TSP', 'µg/m³', 0, 5000);
INSERT INTO core.hj212_map (st, hj212_code, param) VALUES ('32', 'w00000-Cou', 'flow_cou');" >/dev/null
eco_assert_eq 4 "$(eco_psql "SELECT count(*) FROM core.device WHERE code LIKE '%$p' AND protocol = 'hj212'")" \
    "test loggers registered"

# ------------------------------------------------------------------ ingest
eco_spawn watch eco_mqtt_sub admin -i "$p-watch" -q 1 -W 120 -v \
    -t "eco/v1/event/$p-gas1" -t "eco/v1/obs/$p-ww1"
ingest_start ingest "$p" ECO_INGEST_HJ212_ADDR=127.0.0.1:0 ECO_INGEST_HJ212_MAX_CONN=6 \
    ECO_INGEST_HJ212_IDLE_S=5 ECO_LOG_LEVEL=debug
LOG=$(eco_log ingest)
port=$(sed -n 's/.*msg="hj212 gateway listening" addr=127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$LOG" | head -n 1)
[ -n "$port" ] || eco_fail "no 'hj212 gateway listening' line in the log"
ADDR=127.0.0.1:$port

# send NAME SEGMENT...: the segments as frames on one connection; what came
# back is in $T/NAME.ans
send() {
    local name=$1
    shift
    "$BENCH" frame "$@" >"$T/$name.req"
    "$BENCH" send "$ADDR" --wait 30 <"$T/$name.req" >"$T/$name.ans"
}
# expect_answers NAME SEGMENT...: $T/NAME.ans is exactly the 9014 answers to
# these segments, in order
expect_answers() {
    local name=$1 s
    shift
    : >"$T/$name.want"
    for s in "$@"; do
        "$BENCH" answer "$s" >>"$T/$name.want"
    done
    cmp -s "$T/$name.want" "$T/$name.ans" ||
        eco_fail "$name: answers differ: want '$(cat -v "$T/$name.want")', got '$(cat -v "$T/$name.ans")'"
}
readings() {
    eco_psql "SELECT site || ' ' || param || ' ' || period || ' ' ||
                to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' ' || value || ' ' || unit || ' ' || flag
              FROM rpt.reading WHERE site IN ($1) ORDER BY site, ts, param, period"
}
seq_is() { eco_psql_is "$1" "SELECT count(*) FROM obs.spool_position WHERE instance = '$p' AND seq >= $2"; }

# -------------------------------------------------------- 1. good uploads
S1="QN=20210601090000001;ST=31;CN=2061;PW=$GAS1_PW;MN=$GAS1;Flag=5;CP=&&DataTime=20210601080000;a21026-Avg=12.5,a21026-Min=10,a21026-Max=15,a21026-Flag=N;a21002-Avg=30.1,a21002-Flag=D;a00000-Avg=2.5,a00000-Cou=9000;a99999-Avg=1&&"
send good1 "$S1"
expect_answers good1 "$S1"
eco_pass "a 2061 with Flag=5 gets exactly its 9014, byte for byte"

S2="QN=20210601081530000;ST=32;CN=2011;PW=$WW1_PW;MN=$WW1;Flag=4;CP=&&DataTime=20210601081530;w01018-Rtd=40.1,w01018-Flag=N;w00000-Rtd=3.2,w00000-Flag=M&&"
S3="QN=20210601082000000;ST=32;CN=2051;PW=$WW1_PW;MN=$WW1;Flag=5;CP=&&DataTime=20210601081000;w01018-Avg=41,w01018-Flag=N;w00000-Avg=2.9,w00000-Cou=1740,w00000-Flag=N&&"
S4="QN=20210602000500000;ST=32;CN=2031;PW=$WW1_PW;MN=$WW1;CP=&&DataTime=20210601000000;w21003-Avg=1.25,w21003-Flag=N&&"
send good2 "$S2" "$S3" "$S4"
expect_answers good2 "$S3"
eco_pass "Flag=4 and no Flag get no answer; Flag=5 on the same connection does"

eco_wait_until 20 eco_psql_is 9 "SELECT count(*) FROM rpt.reading WHERE site IN ('$p-gas1', '$p-ww1')"
expected="$p-gas1 flow_stack hour 2021-06-01 00:00:00 2.5 m³/s N
$p-gas1 nox_stack hour 2021-06-01 00:00:00 30.1 mg/m³ D
$p-gas1 so2_stack hour 2021-06-01 00:00:00 12.5 mg/m³ N
$p-ww1 nh3n day 2021-05-31 16:00:00 1.25 mg/L N
$p-ww1 cod min 2021-06-01 00:10:00 41 mg/L N
$p-ww1 flow min 2021-06-01 00:10:00 2.9 L/s N
$p-ww1 flow_cou min 2021-06-01 00:10:00 1740 m³ N
$p-ww1 cod rt 2021-06-01 00:15:30 40.1 mg/L N
$p-ww1 flow rt 2021-06-01 00:15:30 3.2 L/s M"
eco_assert_eq "$expected" "$(readings "'$p-gas1', '$p-ww1'")" \
    "readings: mapped by (ST, code), units, flags, DataTime as period start, -Cou only where mapped"
eco_assert_eq "unmapped pollutant code: a99999" \
    "$(eco_psql "SELECT reason FROM rpt.deadletter WHERE payload LIKE '%QN=20210601090000001;%'")" \
    "the unmapped code of an accepted frame is dead-lettered"
eco_wait_until 10 grep -q "^eco/v1/obs/$p-ww1 {\"site\":\"$p-ww1\",\"readings\":\[.*{\"device\":\"$WW1\",\"ts\":\"2021-06-01T08:15:30+08:00\",\"period\":\"rt\"" \
    "$(eco_log watch)"
eco_pass "HJ 212 readings are republished on eco/v1/obs like MQTT ones"

# ------------------------------------------------------- 2. code map rule
SA="QN=20210601090000000;ST=22;CN=2011;PW=$AIR_PW;MN=$AIR;Flag=4;CP=&&DataTime=20210601090000;a34004-Rtd=35,a34004-Flag=N;a34001-Rtd=80,a34001-Flag=N&&"
SB="QN=20210601090000000;ST=31;CN=2061;PW=$GAS2_PW;MN=$GAS2;Flag=4;CP=&&DataTime=20210601090000;a34004-Avg=7,a34004-Flag=N;a21026-Avg=20&&"
send maprule1 "$SA"
send maprule2 "$SB"
eco_wait_until 20 eco_psql_is 1 "SELECT count(*) FROM rpt.deadletter WHERE payload LIKE '%MN=$GAS2;%' AND reason LIKE 'unmapped%'"
eco_wait_until 20 eco_psql_is 3 "SELECT count(*) FROM rpt.reading WHERE site IN ('$p-air', '$p-gas2')"
eco_assert_eq "$p-air pm25 rt 2021-06-01 01:00:00 35 µg/m³ N
$p-air tsp rt 2021-06-01 01:00:00 80 µg/m³ N
$p-gas2 so2_stack hour 2021-06-01 01:00:00 20 mg/m³ N" \
    "$(readings "'$p-air', '$p-gas2'")" "ST 22 falls back to core.param.hj212_code (tsp); ST 31 does not (no pm25 from a stack)"
eco_assert_eq "unmapped pollutant code: a34004" \
    "$(eco_psql "SELECT reason FROM rpt.deadletter WHERE payload LIKE '%MN=$GAS2;%' AND reason LIKE 'unmapped%'")" \
    "the stack's a34004 is dead-lettered as unmapped"

# ------------------------------------------------------------ 3. refusals
GOOD="QN=20210601100000000;ST=31;CN=2011;PW=$GAS2_PW;MN=$GAS2;Flag=5;CP=&&DataTime=20210601100000;a21026-Rtd=21.5,a21026-Flag=N&&"
BADPW="QN=20210601100000001;ST=31;CN=2011;PW=000000;MN=$GAS2;Flag=5;CP=&&DataTime=20210601100001;a21026-Rtd=99,a21026-Flag=N&&"
UNKNOWN="QN=20210601100000002;ST=31;CN=2011;PW=123456;MN=33092100A1000000000000FF;Flag=5;CP=&&DataTime=20210601100002;a21026-Rtd=98&&"
BADCRC="QN=20210601100000003;ST=31;CN=2011;PW=$GAS2_PW;MN=$GAS2;Flag=5;CP=&&DataTime=20210601100003;a21026-Rtd=97&&"
# A frame with a wrong CRC: the right one complemented, never a constant.
# HJ 212's CRC carries 8 bits from byte to byte (256 values in all), so a
# constant is the right CRC of some segments: 0000 is BADCRC's for 1 value of
# $p in ~130 (th29253 for one), and that frame was rightly accepted and
# answered with its own QN.
bad_crc_frame() { "$BENCH" frame --bad-crc "$1"; }
# refused_for_crc SEGMENT: the offline checker refuses bad_crc_frame's frame
# of it for its CRC, and takes the right one
refused_for_crc() {
    local bad good
    bad=$(bad_crc_frame "$1" | "$ECOCTL" hj212 check)
    good=$("$BENCH" frame "$1" | "$ECOCTL" hj212 check)
    [[ $bad == "line 1: refused (crc): "* && $good == "line 1: ok "* ]]
}
refused_for_crc "$BADCRC" || eco_fail "test bug: the CRC of BADCRC was not corrupted"
# the segment whose right CRC is 0000, whatever $p is
refused_for_crc "${BADCRC//MN=$GAS2;/MN=G2th29253;}" ||
    eco_fail "test bug: a segment whose CRC is 0000 keeps a good CRC"
{
    bad_crc_frame "$BADCRC"
    "$BENCH" frame "$BADPW" "$UNKNOWN" "$GOOD"
} >"$T/refuse.req"
"$BENCH" send "$ADDR" --wait 30 <"$T/refuse.req" >"$T/refuse.ans"
expect_answers refuse "$GOOD"
eco_wait_until 20 eco_psql_is 1 "SELECT count(*) FROM rpt.reading WHERE site = '$p-gas2' AND period = 'rt'"
eco_assert_eq "$p-gas2 so2_stack rt 2021-06-01 02:00:00 21.5 mg/m³ N" \
    "$(readings "'$p-gas2'" | grep ' rt ')" "only the good frame of the connection is stored"
eco_wait_until 20 eco_psql_is 3 "SELECT count(*) FROM rpt.deadletter WHERE payload LIKE '%QN=20210601100000%'"
got=$(eco_psql "SELECT split_part(reason, ':', 1) || ' ' || (source LIKE 'hj212://127.0.0.1:%') || ' ' ||
                 substring(payload from 'QN=([0-9]+)') FROM rpt.deadletter
                 WHERE payload LIKE '%QN=20210601100000%' ORDER BY id")
eco_assert_eq "crc true 20210601100000003
bad password true 20210601100000001
unknown MN true 20210601100000002" "$got" "refused frames dead-lettered with reason, peer and the frame"
eco_wait_until 10 grep -q "msg=\"hj212 frames refused\" mn=$GAS2 .*last_reason=\"bad password\"" "$LOG"
eco_pass "refusals are counted per device in the log"

# ------------------------------------------------- 4. junk beside a good one
junk_frames=()
for i in $(seq 0 19); do
    junk_frames+=("QN=2021060111$(printf '%02d' "$i")00000;ST=32;CN=2011;PW=$WW1_PW;MN=$WW1;Flag=5;CP=&&DataTime=2021060111$(printf '%02d' "$i")00;w01018-Rtd=$((50 + i)),w01018-Flag=N&&")
done
"$BENCH" frame "${junk_frames[@]}" >"$T/steady.req"
head -c 400000 /dev/urandom >"$T/junk.bin"
dead_before=$(eco_psql "SELECT coalesce(max(id), 0) FROM obs.deadletter")
"$BENCH" send "$ADDR" --wait 30 <"$T/junk.bin" >"$T/junk.ans" 2>"$T/junk.err" &
junk_pid=$!
"$BENCH" send "$ADDR" --wait 30 <"$T/steady.req" >"$T/steady.ans"
wait "$junk_pid" || eco_fail "the junk sender failed: $(cat "$T/junk.err")"
expect_answers steady "${junk_frames[@]}"
eco_wait_until 20 eco_psql_is 20 "SELECT count(*) FROM rpt.reading WHERE site = '$p-ww1' AND ts >= '2021-06-01 11:00:00+08' AND ts < '2021-06-01 12:00:00+08'"
eco_wait_until 10 grep -Eq 'msg="hj212 connection closed" peer=[^ ]+ reason="(too much junk|too many refused frames in a row)"' "$LOG"
[ ! -s "$T/junk.ans" ] || eco_fail "the junk connection got an answer: $(cat -v "$T/junk.ans" | head -c 200)"
junk_count() { eco_psql "SELECT count(*) FROM rpt.deadletter WHERE id > $dead_before AND source LIKE 'hj212://%'"; }
junk_settled() {
    local a b
    a=$(junk_count)
    sleep 0.5
    b=$(junk_count)
    [ "$a" = "$b" ] && [ "$a" -ge 1 ]
}
eco_wait_until 20 junk_settled
njunk=$(junk_count)
if [ "$njunk" -lt 1 ] || [ "$njunk" -gt 16 ]; then
    eco_fail "junk dead letters: expected 1..16, got $njunk"
fi
eco_pass "a junk connection is closed with at most 16 dead letters; the concurrent logger got all 20 answers and rows"

# ---------------------------------------------------------- 5. split frames
P1="QN=20210601120000001;ST=31;CN=2061;PW=$GAS1_PW;MN=$GAS1;Flag=7;PNUM=2;PNO=1;CP=&&DataTime=20210601120000;a21026-Avg=11,a21026-Flag=N&&"
P2="QN=20210601120000002;ST=31;CN=2061;PW=$GAS1_PW;MN=$GAS1;Flag=7;PNO=2;PNUM=2;CP=&&DataTime=20210601120000;a21002-Avg=22,a21002-Flag=N&&"
# GAS1 was verified on an earlier connection: no new bcrypt check now
counter() { grep 'msg="hj212 counters"' "$LOG" | tail -n 1 | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
frames_above() { [ "$(counter frames)" -gt "$1" ]; }
sleep 1.5 # the counters line of the second before covers everything sent so far
checks_before=$(counter auth_checks)
frames_before=$(counter frames)
send split "$P1" "$P2"
expect_answers split "$P1" "$P2"
eco_wait_until 10 frames_above "$frames_before"
eco_assert_eq "$checks_before" "$(counter auth_checks)" "a logger reconnecting with a verified password is not hashed again"
eco_wait_until 20 eco_psql_is 2 "SELECT count(*) FROM rpt.reading WHERE site = '$p-gas1' AND ts = '2021-06-01 12:00:00+08'"
eco_assert_eq "$p-gas1 nox_stack hour 2021-06-01 04:00:00 22 mg/m³ N
$p-gas1 so2_stack hour 2021-06-01 04:00:00 11 mg/m³ N" \
    "$(readings "'$p-gas1'" | grep '04:00:00')" "split parts: each answered with its QN, both stored under one time"

# ----------------------------------------------------------------- 6. events
E1="QN=20210601130000000;ST=31;CN=2081;PW=$GAS1_PW;MN=$GAS1;Flag=5;CP=&&RestartTime=20210601125900&&"
E2B="QN=20210601130100000;ST=31;CN=3020;PW=$GAS1_PW;MN=$GAS1;Flag=4;CP=&&DataTime=20210601130100;i12001-Info=//清洗管路; ok//;i12003-Info=3&&"
send event1 "$E1" "$E2B" "$E1"
expect_answers event1 "$E1" "$E1"
eco_wait_until 20 eco_psql_is 2 "SELECT count(*) FROM rpt.device_event WHERE device = '$GAS1'"
eco_assert_eq "$p-gas1 2081 restart 20210601130000000 2021-06-01 04:59:00 20210601125900
$p-gas1 3020 device_info 20210601130100000 2021-06-01 05:01:00 清洗管路; ok" \
    "$(eco_psql "SELECT site || ' ' || cn || ' ' || kind || ' ' || qn || ' ' || to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
                 || ' ' || coalesce(payload -> 'cp' ->> 'RestartTime', payload -> 'cp' ->> 'i12001-Info')
                 FROM rpt.device_event WHERE device = '$GAS1' ORDER BY id")" \
    "2081 and 3020 stored in obs.device_event (the resent 2081 once)"
eco_wait_until 10 grep -q "^eco/v1/event/$p-gas1 {\"site\":\"$p-gas1\",\"device\":\"$GAS1\",\"st\":\"31\",\"cn\":\"2081\",\"kind\":\"restart\"" "$(eco_log watch)"
# every event published validates against schemas/json/device-event.schema.json
python3 - "$ECO_SOURCE_DIR/schemas/json/device-event.schema.json" "$(eco_log watch)" <<'EOF' ||
import json, sys, jsonschema
check = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
n = 0
for line in open(sys.argv[2], encoding="utf-8"):
    topic, _, payload = line.rstrip("\n").partition(" ")
    if topic.startswith("eco/v1/event/"):
        check.validate(json.loads(payload))
        n += 1
sys.exit(0 if n else "no event captured")
EOF
    eco_fail "an eco/v1/event message does not match its schema"
eco_pass "events published on eco/v1/event/<site>, valid against their schema"
T1="QN=20210601140000000;ST=31;CN=1013;PW=$GAS1_PW;MN=$GAS1;Flag=4;CP=&&&&"
send timereq "$T1"
grep -q '^##[0-9]\{4\}QN=20210601140000000;ST=91;CN=9013;PW=[^;]*;MN='"$GAS1"';Flag=4;CP=&&&&' "$T/timereq.ans" ||
    eco_fail "no 9013 answer to a 1013: $(cat -v "$T/timereq.ans")"
grep -q ';CN=1012;PW=[^;]*;MN='"$GAS1"';Flag=5;CP=&&SystemTime=20[0-9]\{12\}&&' "$T/timereq.ans" ||
    eco_fail "no 1012 after the 9013: $(cat -v "$T/timereq.ans")"
tr -d '\r' <"$T/timereq.ans" | "$ECOCTL" hj212 check --json | grep -c '"ok":true' | grep -qx 2 ||
    eco_fail "the 9013/1012 frames do not pass ecoctl hj212 check"
eco_pass "1013 gets a 9013 and a 1012 with the platform's time"

# ------------------------------------- 7. bounds, status, SIGTERM with a peer
opened() { [ "$(grep -c 'msg="hj212 connection" ' "$LOG")" -ge "$1" ]; }
before=$(grep -c 'msg="hj212 connection" ' "$LOG" || true)
# known loggers (a heartbeat whose password verifies): an unauthenticated
# newcomer cannot evict them, so the seventh connection is refused
"$BENCH" frame "QN=20210601150000000;ST=31;CN=9015;PW=$GAS1_PW;MN=$GAS1;Flag=4;CP=&&&&" >"$T/hb.req"
for i in 1 2 3 4 5 6; do
    eco_spawn "hold$i" bash -c "{ cat '$T/hb.req'; sleep 30; } | '$BENCH' send '$ADDR' --wait 60"
done
eco_wait_until 10 opened "$((before + 6))"
"$BENCH" send "$ADDR" --wait 10 </dev/null >"$T/refused.ans"
eco_wait_until 10 grep -q 'msg="hj212 connection refused: too many connections" max=6' "$LOG"
eco_pass "the connection beyond ECO_INGEST_HJ212_MAX_CONN=6 is refused and logged"
eco_wait_until 20 grep -q 'msg="hj212 connection closed" peer=[^ ]* reason="idle"' "$LOG"
eco_pass "an idle connection is closed after ECO_INGEST_HJ212_IDLE_S"
status_ok() {
    eco_mqtt_sub integrator -i "$p-status" -C 1 -W 5 -t "eco/v1/sys/ingest/$p" >"$T/status.json"
    grep -q '"hj212":{"connections":[0-9]*,"accepted":[1-9][0-9]*,"refused":[1-9]' "$T/status.json"
}
eco_wait_until 15 status_ok
eco_pass "status carries the gateway's counters"

eco_spawn holdlast bash -c "sleep 30 | '$BENCH' send '$ADDR' --wait 60"
eco_wait_until 10 opened "$((before + 7))"
eco_kill ingest TERM
grep -q 'msg=stopped exit=0' "$LOG" || eco_fail "ingest did not stop cleanly"
eco_pass "SIGTERM with an open logger connection: exit 0"
