#!/usr/bin/env bash
# ecoctl as its users meet it:
#   1. `ecoctl NOUN [VERB] --help` prints usage on stdout and exits 0 for every
#      noun and verb, with a database and a broker that cannot be reached;
#   2. `ecoctl status` exits 1 (and says why in one line) when the broker is
#      unreachable or refuses the password, 0 when it answers;
#   3. every --json output is a JSON object or array (never a string that
#      holds JSON), and every time in it is RFC 3339.
set -euo pipefail
# shellcheck source=../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

ECOCTL=$(eco_bin ecoctl)
T=$ECO_TEST_TMP
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
dead_port=$(free_port)

# 1. help everywhere, without a database or a broker
for cmd in "db" "db migrate" "registry" "registry load" "import" "import readings" "hj212" \
    "hj212 check" "status" "detect" "detect replay" "alarm" "alarm list" "alarm ack" \
    "user" "user add" "user list" "user passwd" "user disable" "user enable" "user role" \
    "broker" "broker sync" "wo" "wo list" "wo show" "wo create" "wo assign" "wo accept" \
    "wo start" "wo reply" "wo verify" "wo reject" "wo reopen" "wo close" "wo cancel" \
    "complaint" "complaint submit"; do
    for h in --help -h; do
        rc=0
        # shellcheck disable=SC2086
        ECO_PG_DSN="host=127.0.0.1 port=$dead_port dbname=x connect_timeout=2" \
            ECO_MQTT_URL="mqtt://127.0.0.1:$dead_port" \
            timeout 10 "$ECOCTL" $cmd $h >"$T/out" 2>"$T/err" || rc=$?
        eco_assert_eq 0 "$rc" "ecoctl $cmd $h exit status ($(head -c 200 "$T/err"))"
        grep -qi '^usage: ecoctl' "$T/out" || eco_fail "ecoctl $cmd $h: no usage on stdout: $(cat "$T/out")"
    done
done
eco_pass "--help for every noun and verb without database or broker"

eco_db_new t_ecoctl_cli
"$ECOCTL" registry load "$ECO_SOURCE_DIR/deploy/sample" >/dev/null

# 2. status and the broker
eco_mqtt_as admin
good_pw=$ECO_MQTT_PASSWORD
for case in unreachable password; do
    if [ $case = unreachable ]; then
        url="mqtt://127.0.0.1:$dead_port" pw=$good_pw
    else
        url=$ECO_MQTT_URL pw=not-the-password
    fi
    for json in "" --json; do
        rc=0
        # shellcheck disable=SC2086
        ECO_MQTT_URL=$url ECO_MQTT_PASSWORD=$pw timeout 30 "$ECOCTL" $json status --timeout 2 \
            >"$T/out" 2>"$T/err" || rc=$?
        eco_assert_eq 1 "$rc" "status $json exit status, broker $case"
        eco_assert_eq 1 "$(wc -l <"$T/err")" "status $json: one line on stderr, broker $case"
        grep -q "no connection to the broker at $url within 2 s" "$T/err" ||
            eco_fail "status, broker $case: $(cat "$T/err")"
        grep -q 'sites' "$T/out" || eco_fail "status $json, broker $case: the database part is missing: $(cat "$T/out")"
    done
done
grep -q '"broker":"unreachable"' "$T/out" || eco_fail "status --json: $(cat "$T/out")"
rc=0
"$ECOCTL" status >"$T/out" 2>"$T/err" || rc=$?
eco_assert_eq 0 "$rc" "status exit status with the broker up ($(cat "$T/err"))"
grep -q '^registry        [0-9]* sites' "$T/out" || eco_fail "status: $(cat "$T/out")"
eco_pass "status: exit 1 when the broker is unreachable or refuses, 0 when it answers"

# 3. --json outputs: objects, RFC 3339 times
check_json() { # NAME FILE
    python3 - "$1" "$2" <<'PY'
import json, re, sys
name, text = sys.argv[1], open(sys.argv[2]).read()
doc = json.loads(text)
assert isinstance(doc, (dict, list)), f"{name}: top level is {type(doc).__name__}"
rfc3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
timeish = re.compile(r"(^|_)(ts|at|time|reading|from|to)$")
def walk(v, path):
    if isinstance(v, dict):
        for k, x in v.items():
            if isinstance(x, str) and timeish.search(k):
                assert rfc3339.fullmatch(x), f"{name}: {path}.{k} = {x!r} is not RFC 3339"
            walk(x, f"{path}.{k}")
    elif isinstance(v, list):
        for i, x in enumerate(v):
            walk(x, f"{path}[{i}]")
    elif isinstance(v, str):
        s = v.strip()
        if s[:1] in "{[":
            try:
                json.loads(s)
            except ValueError:
                return
            raise AssertionError(f"{name}: {path} is a string holding JSON: {v!r}")
        if re.match(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d", s):
            assert rfc3339.fullmatch(s), f"{name}: {path} = {v!r} is not RFC 3339"
walk(doc, "$")
PY
}
eco_psql "INSERT INTO obs.spool_position (instance, seq) VALUES ('cli-a', 7), ('cli-b', 9)" >/dev/null
"$ECOCTL" --json status >"$T/status.json"
check_json status "$T/status.json" || eco_fail "status --json: $(cat "$T/status.json")"
grep -q '"ingest_positions":{"cli-a":7,"cli-b":9}' "$T/status.json" ||
    eco_fail "status --json ingest_positions: $(cat "$T/status.json")"
"$ECOCTL" --json db migrate --status >"$T/db.json"
check_json "db migrate" "$T/db.json" || eco_fail "db --json: $(cat "$T/db.json")"
"$ECOCTL" --json registry load --dry-run "$ECO_SOURCE_DIR/deploy/sample" >"$T/reg.json"
check_json "registry load" "$T/reg.json" || eco_fail "registry --json: $(cat "$T/reg.json")"
"$ECOCTL" --json alarm list >"$T/alarm.json"
check_json "alarm list" "$T/alarm.json" || eco_fail "alarm --json: $(cat "$T/alarm.json")"
printf '##0101QN=20240601080000000;ST=22;CN=2011;PW=123456;MN=X;Flag=4;CP=&&DataTime=20240601080000;a34004-Rtd=41.5&&1C80\r\n' \
    >"$T/frames.txt"
"$ECOCTL" --json hj212 check "$T/frames.txt" >"$T/hj212.json" || true
while IFS= read -r line; do
    printf '%s' "$line" >"$T/one.json"
    check_json "hj212 check" "$T/one.json" || eco_fail "hj212 --json: $line"
done <"$T/hj212.json"
printf 'site,param,period,ts,value\n' >"$T/empty.csv"
"$ECOCTL" --json import readings "$T/empty.csv" >"$T/import.json"
check_json "import readings" "$T/import.json" || eco_fail "import --json: $(cat "$T/import.json")"
eco_pass "--json outputs are objects with RFC 3339 times"
