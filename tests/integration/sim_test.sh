#!/usr/bin/env bash
# ecosim against the real broker: what ecosim says it published is what a
# subscriber receives, in the contract's shape; the counts of a clean day are
# the ones the periods imply; SIGTERM drains and exits 0; HJ 212 loggers
# reach a gateway (a small fake one answering 9014) and an unreachable
# gateway leaves the MQTT devices going.
#
# The network is the test's own (codes prefixed simt-) so parallel tests on
# the shared broker never see these messages and we never count theirs.
set -euo pipefail
# shellcheck source=../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

ECOSIM=$(eco_bin ecosim) || eco_skip "ecosim is not built"
# The unreachable-gateway run reports it as an error, on purpose.
export ECO_EXPECTED_ERRORS='HJ 212 gateway unreachable'

net="$ECO_TEST_TMP/net"
mkdir -p "$net"
cp "$ECO_SOURCE_DIR/deploy/sample/params.csv" "$ECO_SOURCE_DIR/deploy/sample/hj212_map.csv" "$net/"
cat >"$net/sites.csv" <<'EOF'
code,name,kind,region,enterprise,target_class,lon,lat
simt-air-1,Test air 1,air,ZS-DH,,,122.1000,30.0220
simt-air-2,Test air 2,air,ZS-PT,,,122.3000,29.9480
simt-noi-1,Test ions,noi,ZS-PT,,,122.3920,29.9920
simt-water-1,Test reservoir,water,ZS-DH,,2,122.0600,30.0550
simt-water-2,Test river mouth,water,ZS-DH,,3,122.1000,30.0450
simt-sea-1,Test sea,sea,ZS-SEA,,2,122.4300,29.9600
simt-gas-1,Test stack,gas_outlet,ZS-DS,simt-ent,,122.2065,30.1810
simt-ww-1,Test outfall,water_outlet,ZS-DS,simt-ent,,122.2038,30.1790
simt-mob-1,Test vehicle,mobile,ZS,,,,
EOF
cat >"$net/devices.csv" <<'EOF'
code,site,protocol,password,hj212_st
simt-air-1,simt-air-1,mqtt,,22
simt-air-2,simt-air-2,mqtt,,22
simt-noi-1,simt-noi-1,mqtt,,
simt-water-1,simt-water-1,mqtt,,21
simt-water-2,simt-water-2,mqtt,,21
simt-sea-1,simt-sea-1,mqtt,,26
simtGAS0000000000000001,simt-gas-1,hj212,123456,31
simtWW00000000000000001,simt-ww-1,hj212,654321,32
simt-mob-1,simt-mob-1,mqtt,,
EOF
cat >"$net/limits.csv" <<'EOF'
site,site_kind,param,period,class,lower,upper,standard
simt-gas-1,,so2_stack,hour,,,100,test
simt-ww-1,,cod,day,,,60,test
EOF
devices=$(tail -n +2 "$net/devices.csv" | cut -d, -f1)

day_from=2024-06-01T00:00:00+08:00
day_to=2024-06-02T00:00:00+08:00

# ---- a subscriber on exactly our topics, proven ready by a probe ----------
sub_start() {
    local name=$1 t args=(-q 1 -v -t eco/v1/in/simt-probe)
    for t in $devices; do
        args+=(-t "eco/v1/in/$t")
    done
    eco_spawn "$name" eco_mqtt_sub integrator "${args[@]}"
    probe() {
        eco_mqtt_pub admin -q 1 -t eco/v1/in/simt-probe -m probe >/dev/null 2>&1 || true
        grep -q '^eco/v1/in/simt-probe ' "$(eco_log "$1")"
    }
    eco_wait_until 15 probe "$name"
}
received() {
    grep -c '^eco/v1/in/simt-[^p]\|^eco/v1/in/simt[A-Z]' "$(eco_log "$1")" || true
}
got() { # SUB N: the subscriber has at least N of our messages
    [ "$(received "$1")" -ge "$2" ]
}
summary_field() { # FIELD LOG
    grep 'msg=summary ' "$2" | grep -o " $1=[0-9]*" | cut -d= -f2
}
sim_done() {
    ! eco__alive "$(eco_pid "$1")"
}
run_sim() { # NAME SECS ARGS...: runs ecosim to its end, returns its exit status
    local name=$1 secs=$2
    shift 2
    eco_spawn "$name" "$ECOSIM" --network "$net" "$@"
    eco_wait_until "$secs" sim_done "$name"
    eco_kill "$name"
}

eco_mqtt_as sim

# ---- 1. a clean day: exact counts, all received, contract shape ----------
sub_start sub1
run_sim sim1 60 --speed 0 --from "$day_from" --to "$day_to" --seed 5 ||
    eco_fail "ecosim exited non-zero"
log1=$(eco_log sim1)
published=$(summary_field published "$log1")
# hour+day per station (6 x 25), min+hour+day per outlet (2 x 169), real-time
# while the vehicle is on duty 07:30-18:30 (11 h x 120)
eco_assert_eq 1808 "$(summary_field messages "$log1")" "messages of a clean simulated day"
eco_assert_eq "$published" "$(summary_field acked "$log1")" "every publish acknowledged"
eco_wait_until 20 got sub1 "$published"
sleep 0.5
eco_assert_eq "$published" "$(received sub1)" "the subscriber received what ecosim published"

# The contract's readings message: ts (+08:00), period, values of numbers or
# {v, flag}; lat/lon on the vehicle; topics of our devices only.
bad=$(grep '^eco/v1/in/simt' "$(eco_log sub1)" | grep -v '^eco/v1/in/simt-probe ' |
    while read -r topic payload; do
        printf '{"topic":"%s","m":%s}\n' "$topic" "$payload"
    done | jq -c 'select(
        (.m.ts | type != "string" or (test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+]08:00$") | not))
        or ((.m.period | IN("rt", "min", "hour", "day")) | not)
        or (.m.values | type != "object" or length == 0)
        or ([.m.values[] | (type == "number") or (type == "object" and (.v | type) == "number"
              and (.flag | type) == "string")] | all | not)
        or (.topic == "eco/v1/in/simt-mob-1" and ((.m.lat | type) != "number" or (.m.lon | type) != "number"))
    )' | head -3)
[ -z "$bad" ] || eco_fail "messages off the contract: $bad"
eco_pass "every message has the contract's shape"
hours=$(grep -c '^eco/v1/in/simt-air-1 .*"period":"hour"' "$(eco_log sub1)" || true)
eco_assert_eq 24 "$hours" "24 hourly messages for one air station"

# ---- 2. incidents: labels, and still every message received --------------
eco_kill sub1 || true # mosquitto_sub dies of SIGTERM (143)
sub_start sub2
run_sim sim2 60 --speed 0 --from "$day_from" --to 2024-06-03T00:00:00+08:00 --seed 9 \
    --incidents 12 --labels "$ECO_TEST_TMP/labels.jsonl" || eco_fail "ecosim with incidents failed"
published=$(summary_field published "$(eco_log sim2)")
eco_wait_until 20 got sub2 "$published"
sleep 0.5
eco_assert_eq "$published" "$(received sub2)" "all messages received with incidents on"
nlabels=$(wc -l <"$ECO_TEST_TMP/labels.jsonl")
[ "$nlabels" -ge 5 ] || eco_fail "only $nlabels labels for 2 days at 12/day"
jq -e -s 'all(.[]; (.kind | type == "string") and (.site | startswith("simt-"))
    and (.start | test("[+]08:00$")) and (.end | test("[+]08:00$")))' \
    "$ECO_TEST_TMP/labels.jsonl" >/dev/null || eco_fail "bad label lines"
eco_assert_eq "$nlabels" "$(grep -o 'msg=summary.incident kind=[a-z_]* count=[0-9]*' "$(eco_log sim2)" |
    awk -F'count=' '{ s += $2 } END { print s + 0 }')" "labels written = incidents reported"

# Same seed, same stream (printed, no broker needed); another seed differs.
a=$("$ECOSIM" --network "$net" --stdout --speed 0 --from "$day_from" --to "$day_to" --seed 3 \
    --incidents 6 2>/dev/null | md5sum)
b=$("$ECOSIM" --network "$net" --stdout --speed 0 --from "$day_from" --to "$day_to" --seed 3 \
    --incidents 6 2>/dev/null | md5sum)
c=$("$ECOSIM" --network "$net" --stdout --speed 0 --from "$day_from" --to "$day_to" --seed 4 \
    --incidents 6 2>/dev/null | md5sum)
eco_assert_eq "$a" "$b" "same seed, same messages"
[ "$a" != "$c" ] || eco_fail "another seed gave the same messages"

# ---- 3. SIGTERM in the middle of an endless accelerated run ---------------
eco_spawn sim3 "$ECOSIM" --network "$net" --speed 3600 --from 2024-06-01T08:00:00+08:00
eco_wait_until 20 got sub2 "$((published + 200))"
eco_kill sim3 || eco_fail "ecosim did not exit 0 on SIGTERM"
grep -q 'msg=stopping signal=15' "$(eco_log sim3)" || eco_fail "no stopping line"
published3=$(summary_field published "$(eco_log sim3)")
eco_assert_eq "$published3" "$(summary_field acked "$(eco_log sim3)")" "drained before exit"
eco_wait_until 20 got sub2 "$((published + published3))"
sleep 0.5
eco_assert_eq "$((published + published3))" "$(received sub2)" "received what the stopped run published"

# ---- 4. HJ 212 loggers over TCP to a (fake) gateway that answers 9014 -----
cat >"$ECO_TEST_TMP/gw.py" <<'EOF'
# Minimal HJ 212 platform: checks length and CRC of each frame, answers 9014
# when Flag asks for it, and on SIGTERM writes what it saw.
import os, signal, socket, sys, threading
def crc(b):
    r = 0xFFFF
    for x in b:
        r = (r >> 8) ^ x
        for _ in range(8):
            lsb = r & 1
            r >>= 1
            if lsb:
                r ^= 0xA001
    return r
lock = threading.Lock()
st = {"frames": 0, "bad": 0, "acked": 0, "mns": set()}
def serve(c):
    buf = b""
    while True:
        d = c.recv(65536)
        if not d:
            return
        buf += d
        while b"\r\n" in buf:
            line, buf = buf.split(b"\r\n", 1)
            ok = (line.startswith(b"##") and int(line[2:6]) == len(line) - 10
                  and "%04X" % crc(line[6:-4]) == line[-4:].decode())
            with lock:
                st["frames" if ok else "bad"] += 1
            if not ok:
                continue
            f = dict(kv.split("=", 1) for kv in line[6:-4].decode().split(";CP=")[0].split(";"))
            with lock:
                st["mns"].add(f["MN"])
            if int(f.get("Flag", "0")) & 1:
                s = "QN=%s;ST=91;CN=9014;PW=%s;MN=%s;Flag=4;CP=&&&&" % (f["QN"], f["PW"], f["MN"])
                c.sendall(("##%04d%s%04X\r\n" % (len(s), s, crc(s.encode()))).encode())
                with lock:
                    st["acked"] += 1
def stop(*_):
    with lock:
        open(sys.argv[1], "w").write("frames=%d bad=%d acked=%d mns=%d\n" % (
            st["frames"], st["bad"], st["acked"], len(st["mns"])))
    os._exit(0)
signal.signal(signal.SIGTERM, stop)
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
open(sys.argv[1] + ".port", "w").write(str(s.getsockname()[1]))
while True:
    conn, _ = s.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
EOF
if command -v python3 >/dev/null; then
    eco_spawn gw python3 "$ECO_TEST_TMP/gw.py" "$ECO_TEST_TMP/gw.out"
    eco_wait_until 30 test -s "$ECO_TEST_TMP/gw.out.port"
    port=$(cat "$ECO_TEST_TMP/gw.out.port")
    run_sim sim4 60 --speed 0 --from "$day_from" --to "$day_to" --kinds gas_outlet,water_outlet \
        --hj212 "127.0.0.1:$port" || eco_fail "ecosim with an HJ 212 gateway failed"
    eco_kill gw
    frames=$(summary_field hj212_frames "$(eco_log sim4)")
    eco_assert_eq 338 "$(summary_field hj212_msgs "$(eco_log sim4)")" "HJ 212 messages of 2 loggers"
    eco_assert_eq "frames=$frames bad=0 acked=$frames mns=2" "$(cat "$ECO_TEST_TMP/gw.out")" \
        "the gateway got every frame intact and answered each"
    eco_assert_eq "$frames" "$(summary_field hj212_acked "$(eco_log sim4)")" "ecosim counted the 9014s"
else
    echo "python3 missing: HJ 212 gateway part skipped"
fi

# ---- 5. an unreachable gateway: say so, go on with MQTT -------------------
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 9)
run_sim sim5 60 --speed 0 --from "$day_from" --to "$day_to" --hj212 "127.0.0.1:$closed" ||
    eco_fail "ecosim gave up when the gateway was unreachable"
grep -q 'HJ 212 gateway unreachable.* loggers=2' "$(eco_log sim5)" || eco_fail "no unreachable report"
eco_assert_eq 1470 "$(summary_field published "$(eco_log sim5)")" "the MQTT devices went on"
eco_assert_eq 338 "$(summary_field hj212_skipped "$(eco_log sim5)")" "logger messages counted as skipped"

eco_pass "ecosim"
