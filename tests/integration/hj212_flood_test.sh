#!/usr/bin/env bash
# The HJ 212 gateway under a connection flood (loopback only, bounded in
# count and time; tests/harness/tcp_flood.py is the attacker). ingest runs
# with MAX_CONN=40, UNAUTH_PCT=50 (20 unauthenticated at most), PEER_MAX=5,
# AUTH_S=3, FRAME_S=5; each mechanism is shown on its own:
#   1. per address: of 8 idle connections from 127.0.0.2, 3 are refused at
#      once; the 5 others are closed by the auth deadline (about 3 s);
#   2. a slow sender: unauthenticated connections trickling a frame are
#      closed by the auth deadline (3 s) although every byte arrives; an
#      authenticated one trickling its next frame is closed FRAME_S (5 s)
#      after that frame's first byte (bytes do not reset the deadline);
#   3. a sustained flood from 10 addresses (50 idle sockets, reopened as soon
#      as they are closed) keeps the unauthenticated share full, yet a real
#      logger from 127.0.0.1 gets in, is answered, and its reading is stored;
#      the unauthenticated share never exceeds 20;
#   4. every refusal and closure is counted in the status counters.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

eco_db_new t_hj212_flood
p="fl$$"
T=$ECO_TEST_TMP
BENCH=$(eco_bin bench_hj212)
FLOOD="$ECO_SOURCE_DIR/tests/harness/tcp_flood.py"
MN=FL$p
PW=731904

ingest_registry "$p"
eco_psql "INSERT INTO core.device (code, site, protocol, password_hash, hj212_st)
          VALUES ('$MN', '$p-s0', 'hj212', crypt('$PW', gen_salt('bf', 8)), '22')" >/dev/null

eco_spawn status eco_mqtt_sub admin -i "$p-status" -q 1 -W 120 -t "eco/v1/sys/ingest/$p"
ingest_start ingest "$p" ECO_INGEST_HJ212_ADDR=127.0.0.1:0 ECO_INGEST_HJ212_MAX_CONN=40 \
    ECO_INGEST_HJ212_UNAUTH_PCT=50 ECO_INGEST_HJ212_PEER_MAX=5 ECO_INGEST_HJ212_AUTH_S=3 \
    ECO_INGEST_HJ212_FRAME_S=5 ECO_LOG_LEVEL=debug
LOG=$(eco_log ingest)
port=$(sed -n 's/.*msg="hj212 gateway listening" addr=127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$LOG" | head -n 1)
[ -n "$port" ] || eco_fail "no 'hj212 gateway listening' line in the log"
grep -q 'msg="hj212 gateway listening" .* auth_s=3 frame_s=5 peer_max=5 unauth_max=20' "$LOG" ||
    eco_fail "the gateway did not take the settings: $(grep 'gateway listening' "$LOG")"

# in_range X LO HI: LO <= X <= HI (decimals)
in_range() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x >= lo && x <= hi) }'; }
# last value of a counter in the status messages
counter() {
    grep -o "\"$1\":[0-9]*" "$(eco_log status)" | tail -n 1 | cut -d: -f2
}
counter_is() { [ "$(counter "$1")" = "$2" ]; }
counter_ge() {
    local v
    v=$(counter "$1")
    [ -n "$v" ] && [ "$v" -ge "$2" ]
}

# ---------------------------------------------------- 1. per-address limit
python3 "$FLOOD" idle "$port" --src 127.0.0.2 --n 8 --hold 10 >"$T/idle.out"
eco_assert_eq 3 "$(awk '$1 == "closed" && $2 < 1' "$T/idle.out" | wc -l)" \
    "3 of 8 idle connections from one address are refused at once (PEER_MAX=5)"
eco_assert_eq 5 "$(awk '$1 == "closed" && $2 >= 2.7 && $2 <= 6' "$T/idle.out" | wc -l)" \
    "the 5 admitted idle connections are closed by the auth deadline (3 s), not before"
eco_wait_until 5 counter_is refused_peer 3

# ------------------------------------------------------ 2. slow senders
GOOD1="QN=20210601090000000;ST=22;CN=2011;PW=$PW;MN=$MN;Flag=5;CP=&&DataTime=20210601090000;a34004-Rtd=35,a34004-Flag=N&&"
GOOD2="QN=20210601090100000;ST=22;CN=2011;PW=$PW;MN=$MN;Flag=5;CP=&&DataTime=20210601090100;a34004-Rtd=36,a34004-Flag=N&&"
"$BENCH" frame "$GOOD1" >"$T/good1.req"
"$BENCH" frame "$GOOD2" >"$T/good2.req"
# unauthenticated: 4 connections trickling a whole (good) frame, 4 bytes/s
python3 "$FLOOD" slow "$port" --src 127.0.0.3 --n 4 --hold 10 --data "$T/good2.req" \
    --interval 0.25 >"$T/slow.out"
eco_assert_eq 4 "$(awk '$1 == "closed" && $2 >= 2.7 && $2 <= 6 && $3 >= 8' "$T/slow.out" | wc -l)" \
    "unauthenticated slow senders are closed by the auth deadline although their bytes keep coming"
# authenticated (a good frame answered first), then the next frame trickled
python3 "$FLOOD" slow "$port" --src 127.0.0.4 --n 1 --hold 15 --first "$T/good1.req" \
    --data "$T/good2.req" --interval 0.25 >"$T/slowauth.out"
read -r what secs sent <"$T/slowauth.out"
[ "$what" = closed ] && in_range "$secs" 4.7 8.5 ||
    eco_fail "an authenticated slow sender: expected closed 5 s after its frame's first byte, got '$(cat "$T/slowauth.out")'"
sent_all=$(wc -c <"$T/good2.req")
[ "$sent" -lt "$sent_all" ] || eco_fail "test bug: the whole frame was sent ($sent bytes)"
eco_pass "an authenticated logger trickling a frame is closed FRAME_S after its first byte ($secs s, $sent of $sent_all bytes)"
eco_wait_until 10 grep -q 'msg="hj212 connections closed: a frame took too long"' "$LOG"
# each closure by the rule that should have made it (FRAME_S > AUTH_S here)
eco_wait_until 5 counter_is closed_auth 9
eco_wait_until 5 counter_is closed_slow 1
eco_pass "closed by the auth deadline: the 5 idle and 4 slow strangers; by the frame deadline: the known logger"
eco_wait_until 20 eco_psql_is 1 "SELECT count(*) FROM rpt.reading WHERE site = '$p-s0'"
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM rpt.reading WHERE site = '$p-s0' AND value = 36")" \
    "the trickled frame was never completed, so never stored"

# --------------------------------------------- 3. a flood and a real logger
eco_spawn flood python3 "$FLOOD" flood "$port" --srcs 127.0.1.1-10 --per 5 --secs 10
full() { grep -q '"unauthenticated":20[,}]' "$(eco_log status)"; }
eco_wait_until 10 full
eco_wait_until 10 counter_ge evicted 1
"$BENCH" frame "QN=20210601090200000;ST=22;CN=2011;PW=$PW;MN=$MN;Flag=5;CP=&&DataTime=20210601090200;a34004-Rtd=37,a34004-Flag=N&&" \
    >"$T/during.req"
"$BENCH" send "127.0.0.1:$port" --wait 10 <"$T/during.req" >"$T/during.ans"
grep -q 'QN=20210601090200000;ST=91;CN=9014;' "$T/during.ans" ||
    eco_fail "the real logger got no 9014 during the flood: '$(cat -v "$T/during.ans")'"
flood_alive() { eco__alive "$(eco_pid flood)"; }
flood_alive || eco_fail "the flood ended before the logger was served"
eco_pass "during a flood that fills the unauthenticated share, a real logger is answered"
eco_wait_until 20 eco_psql_is 1 "SELECT count(*) FROM rpt.reading WHERE site = '$p-s0' AND value = 37"
eco_pass "and its reading is stored"
eco_wait_until 20 grep -q '^connects=' "$(eco_log flood)"
read -r connects < <(sed -n 's/^connects=\([0-9]*\) .*/\1/p' "$(eco_log flood)")
[ "$connects" -gt 50 ] || eco_fail "the flood made only $connects connections: $(cat "$(eco_log flood)")"
max_unauth=$(grep -o '"unauthenticated":[0-9]*' "$(eco_log status)" | cut -d: -f2 | sort -n | tail -n 1)
eco_assert_eq 20 "$max_unauth" "unauthenticated connections never exceeded 20 ($connects flood connects)"

# ------------------------------------------------------------ 4. counters
eco_wait_until 10 counter_is unauthenticated 0
for k in refused_peer evicted closed_auth closed_slow; do
    [ "$(counter "$k")" -ge 1 ] || eco_fail "status counter $k is $(counter "$k")"
done
eco_pass "status counts refusals and closures: refused_peer=$(counter refused_peer) evicted=$(counter evicted) closed_auth=$(counter closed_auth) closed_slow=$(counter closed_slow)"
eco_kill ingest TERM
grep -q 'msg=stopped exit=0' "$LOG" || eco_fail "ingest did not stop cleanly"
eco_check_logs
