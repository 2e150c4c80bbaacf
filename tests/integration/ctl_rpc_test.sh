#!/usr/bin/env bash
# ecoctl's eco-dispatch verbs (wo ..., complaint submit, alarm ack) over MQTT 5
# request/response on the real broker, against a stand-in for eco-dispatch
# (tests/itest/rpc_echo.c, logged in as the `dispatch` service account, which
# answers with the method, the caller and the arguments it received):
#   1. each verb sends its method with the right arguments, under the
#      caller's own account (a personal dispatcher made with `ecoctl user
#      add`, then admin), with a reply topic under eco/v1/rpc/reply/{caller}/;
#   2. --json prints the reply as is; text mode prints one short line;
#   3. a refusal (ok false) exits 1 with "ecoctl: refused: <error>";
#   4. no answer within --timeout exits 1 with a clear message, and so does
#      nothing listening, a refused login, an unreachable broker, no user;
#   5. bad usage exits 2 and sends nothing; --help needs no broker.
set -euo pipefail
# shellcheck source=../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

eco_db_new t_ctl_rpc
ECOCTL=$(eco_bin ecoctl)
ECHO_BIN="$ECO_BUILD_DIR/tests/itest_rpc_echo"
[ -x "$ECHO_BIN" ] || eco_fail "$ECHO_BIN is not built"
T=$ECO_TEST_TMP
p=crt$$
# the personal account is rendered into the test broker's files (one test
# at a time: ECO_TEST_BROKER_AUTH_DIR)
export ECO_BROKER_AUTH_DIR=$ECO_TEST_BROKER_AUTH_DIR
export ECO_BROKER_PID_FILE=$ECO_TEST_BROKER_PID_FILE

gen=$("$ECOCTL" --json user add "$p-disp" --role dispatcher) || eco_fail "user add dispatcher"
disp_pw=$(printf '%s' "$gen" | sed -n 's/.*"password":"\([A-Za-z0-9]*\)".*/\1/p')
[ -n "$disp_pw" ] || eco_fail "no generated password in $gen"

eco_spawn echo env ECO_MQTT_URL="mqtt://$ECO_MQTT_HOST:$ECO_MQTT_PORT" \
    ECO_MQTT_USER="$ECO_MQTT_DISPATCH_USER" ECO_MQTT_PASSWORD="$ECO_MQTT_DISPATCH_PASSWORD" \
    "$ECHO_BIN"

export ECO_MQTT_URL="mqtt://$ECO_MQTT_HOST:$ECO_MQTT_PORT"
export ECO_MQTT_USER="$p-disp"
export ECO_MQTT_PASSWORD="$disp_pw"
unset ECO_PG_DSN # these verbs never need the database

# Until the stand-in's subscription took effect (and the account is
# loaded), a request finds nobody and fails fast: retry until one is answered.
eco_wait_until 20 "$ECOCTL" wo show 1 --timeout 2

requests() { grep -c '^request ' "$(eco_log echo)" || true; }

# check_call ARGS_JSON METHOD ECOCTL_ARGS...: runs ecoctl --json and checks the
# reply: ok, the method, the caller and the arguments (as JSON values).
check_call() {
    local want_args=$1 method=$2 out
    shift 2
    out=$("$ECOCTL" --json "$@" 2>"$T/err") ||
        eco_fail "ecoctl $* exited $? ($(cat "$T/err"))"
    python3 - "$out" "$want_args" "$method" "$ECO_MQTT_USER" <<'EOF' ||
import json, sys
got, want, method, caller = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
problems = []
if got.get("ok") is not True: problems.append("ok is not true")
if got.get("method") != method: problems.append("method %r, not %r" % (got.get("method"), method))
if got.get("caller") != caller: problems.append("caller %r, not %r" % (got.get("caller"), caller))
if got.get("args") != want: problems.append("args %s, not %s" % (json.dumps(got.get("args")), json.dumps(want)))
if problems:
    print("; ".join(problems)); sys.exit(1)
EOF
        eco_fail "ecoctl $*: reply $out"
}

# ---- 1. every verb: method, caller, arguments ----------------------------
check_call '{"state":["dispatched","in_progress"],"dept":"ZS-EEB-DH","overdue":true,"limit":5}' \
    wo.list wo list --state dispatched --state in_progress --dept ZS-EEB-DH --overdue --limit 5
check_call '{}' wo.list wo list
check_call '{"id":3}' wo.show wo show 3
check_call '{"category":"water","title":"黑臭水体 near the pier","text":"two\nlines","dept":"ZS-EEB-PT",
    "priority":2,"lat":29.95,"lon":122.25,"due":"2026-12-06T09:00:00+08:00"}' wo.create \
    wo create --category water --title "黑臭水体 near the pier" --text "two
lines" --dept ZS-EEB-PT --priority 2 --lat 29.95 --lon 122.25 --due 2026-12-06T09:00:00+08:00
check_call '{"category":"air","title":"smell","site":"air-dh01"}' wo.create \
    wo create --category air --title smell --site air-dh01
check_call '{"dept":"ZS-EEB-DH","note":"theirs","id":7}' wo.assign wo assign 7 --dept ZS-EEB-DH --note theirs
check_call '{"id":7}' wo.accept wo accept 7
check_call '{"note":"on site","id":7}' wo.start wo start 7 --note "on site"
check_call '{"note":"valve closed","attachments":["https://x.example/a.jpg","http://x.example/b.pdf"],"id":7}' \
    wo.reply wo reply 7 --note "valve closed" --attach https://x.example/a.jpg --attach http://x.example/b.pdf
check_call '{"id":7}' wo.verify wo verify 7
check_call '{"note":"no photo","id":7}' wo.reject wo reject 7 --note "no photo"
check_call '{"note":"smell again","id":7}' wo.reopen wo reopen 7 --note "smell again"
check_call '{"note":"all clear","id":7}' wo.close wo close 7 --note "all clear"
check_call '{"note":"duplicate of 6","id":7}' wo.cancel wo cancel 7 --note "duplicate of 6"
check_call '{"category":"air","text":"strong <b>smell</b>; DROP TABLE wo.event;--","lat":30.245,"lon":122.201,
    "contact":"13800000000","photo":"https://img.example/1.jpg","ts":"2026-12-05T07:30:00+08:00"}' \
    complaint.submit complaint submit --category air --text "strong <b>smell</b>; DROP TABLE wo.event;--" \
    --lat 30.245 --lon 122.201 --contact 13800000000 --photo https://img.example/1.jpg \
    --ts 2026-12-05T07:30:00+08:00
check_call '{"category":"noise","text":"night works","site":"noi-dh01"}' complaint.submit \
    complaint submit --category noise --text "night works" --site noi-dh01
check_call '{"note":"seen","id":42}' alarm.ack alarm ack 42 --note seen
# --json after the verb too
out=$("$ECOCTL" wo show 5 --json)
case "$out" in '{"ok":true,"method":"wo.show","caller":"'"$p-disp"'","args":{"id":5}}') ;;
*) eco_fail "wo show 5 --json: $out" ;; esac
eco_pass "every verb sends its method and arguments as the personal account; --json prints the reply"

# the request's topic named the caller; the reply topic is the caller's own
grep -q "^request method=wo.show caller=$p-disp response_topic=eco/v1/rpc/reply/$p-disp/[0-9a-f]\{24\} corr=24 bytes" \
    "$(eco_log echo)" || eco_fail "request topics: $(grep '^request' "$(eco_log echo)" | head -3)"
# admin asks as admin
ECO_MQTT_USER=$ECO_MQTT_ADMIN_USER ECO_MQTT_PASSWORD=$ECO_MQTT_ADMIN_PASSWORD \
    check_call '{"id":9}' wo.accept wo accept 9
eco_pass "requests go to eco/v1/rpc/dispatch/{method}/{caller} with a reply topic of the caller's"

# ---- 2. text mode -----------------------------------------------------------
eco_assert_eq "work order 12: accepted" "$("$ECOCTL" wo accept 12)" "text line of a change"
eco_assert_eq "work order 12: in progress" "$("$ECOCTL" wo start 12)" "text line of start"
eco_assert_eq "alarm 42 acknowledged" "$("$ECOCTL" alarm ack 42)" "text line of alarm ack"
eco_pass "text mode prints one line"

# ---- 3. refusals --------------------------------------------------------------
rc=0
"$ECOCTL" wo close 12 --note refuse >"$T/out" 2>"$T/err" || rc=$?
eco_assert_eq 1 "$rc" "exit status of a refusal"
eco_assert_eq "ecoctl: refused: refused for test" "$(cat "$T/err")" "refusal on stderr"
eco_assert_eq "" "$(cat "$T/out")" "nothing on stdout in text mode"
rc=0
"$ECOCTL" --json alarm ack 3 --note refuse >"$T/out" 2>"$T/err" || rc=$?
eco_assert_eq 1 "$rc" "exit status of a refusal with --json"
eco_assert_eq '{"ok":false,"error":"refused for test"}' "$(cat "$T/out")" "--json prints the refusal"
eco_assert_eq "ecoctl: refused: refused for test" "$(cat "$T/err")" "refusal on stderr with --json"
eco_pass "a refusal exits 1 with its reason"

# ---- 4. no answer ---------------------------------------------------------------
rc=0
t0=$(date +%s%N)
"$ECOCTL" wo close 12 --note ignore --timeout 1 >"$T/out" 2>"$T/err" || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
eco_assert_eq 1 "$rc" "exit status without an answer"
eco_assert_eq "ecoctl: no answer from eco-dispatch within 1 s: is it running? (ecoctl status)" \
    "$(cat "$T/err")" "message without an answer"
if [ "$ms" -lt 1000 ] || [ "$ms" -ge 5000 ]; then
    eco_fail "--timeout 1 took $ms ms"
fi
eco_pass "no answer within --timeout: exit 1 after ${ms} ms, with a clear message"

rc=0
ECO_MQTT_PASSWORD=wrong-$p "$ECOCTL" wo show 1 >"$T/out" 2>"$T/err" || rc=$?
eco_assert_eq 1 "$rc" "exit status of a refused login"
grep -q "^ecoctl: the broker at $ECO_MQTT_URL refused the login of '$p-disp': " "$T/err" ||
    eco_fail "refused login: $(cat "$T/err")"
rc=0
ECO_MQTT_URL=mqtt://127.0.0.1:1 "$ECOCTL" wo show 1 >"$T/out" 2>"$T/err" || rc=$?
eco_assert_eq 1 "$rc" "exit status of an unreachable broker"
grep -q "^ecoctl: cannot reach the broker at mqtt://127.0.0.1:1: " "$T/err" ||
    eco_fail "unreachable broker: $(cat "$T/err")"
rc=0
env -u ECO_MQTT_USER "$ECOCTL" wo show 1 >"$T/out" 2>"$T/err" || rc=$?
eco_assert_eq 1 "$rc" "exit status without ECO_MQTT_USER"
grep -q "^ecoctl: ECO_MQTT_USER is not set" "$T/err" || eco_fail "no user: $(cat "$T/err")"
eco_pass "refused login, unreachable broker and no user: exit 1 with the reason"

# ---- 5. usage ---------------------------------------------------------------------
before=$(requests)
usage() {
    local rc=0
    "$ECOCTL" "$@" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" = 2 ] || eco_fail "ecoctl $*: exit $rc, not 2 ($(cat "$T/err"))"
    grep -q "^ecoctl: " "$T/err" || eco_fail "ecoctl $*: no reason on stderr"
}
usage wo accept
usage wo accept x12
usage wo accept 0
usage wo accept 12 13
usage wo accept 12 --bogus
usage wo list --limit 0
usage wo list --state
usage wo frobnicate 1
usage wo reply 12
usage wo reject 12
usage wo reopen 12 --note ""
usage wo cancel 12
usage wo assign 12
usage wo create --title t
usage wo create --category soot --title t
usage wo create --category air --title t --lat 91 --lon 0
usage wo create --category air --title t --priority 5
usage wo reply 12 --note n --attach ftp://x/a
usage complaint submit --category air --text t
usage complaint submit --category air --text t --lat 30
usage complaint submit --category air --text "$(printf 'bad \377 byte')" --site s
usage alarm ack
usage alarm ack 1 --timeout 0
for noun in wo complaint; do
    rc=0
    "$ECOCTL" "$noun" >/dev/null 2>&1 || rc=$?
    eco_assert_eq 2 "$rc" "exit status of ecoctl $noun without a verb"
done
grep -q "missing ID" <("$ECOCTL" wo accept 2>&1 || true) || eco_fail "no 'missing ID' reason"
eco_assert_eq "$before" "$(requests)" "requests sent by bad usage"
for cmd in "wo" "wo list" "wo accept" "wo reply" "complaint" "complaint submit" "alarm ack"; do
    # shellcheck disable=SC2086
    out=$(env -u ECO_MQTT_URL -u ECO_MQTT_USER "$ECOCTL" $cmd --help) ||
        eco_fail "ecoctl $cmd --help without a broker"
    grep -q "usage: ecoctl" <<<"$out" || eco_fail "ecoctl $cmd --help: $out"
done
eco_pass "bad usage exits 2 and sends nothing; --help needs no broker"

# ---- nothing listening ------------------------------------------------------
eco_kill echo
rc=0
t0=$(date +%s%N)
"$ECOCTL" wo show 1 --timeout 8 >"$T/out" 2>"$T/err" || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
eco_assert_eq 1 "$rc" "exit status with nothing listening"
grep -q "^ecoctl: no answer from eco-dispatch.*is it running? (ecoctl status)$" "$T/err" ||
    eco_fail "nothing listening: $(cat "$T/err")"
eco_pass "nothing listening: exit 1 after ${ms} ms: $(cat "$T/err")"
