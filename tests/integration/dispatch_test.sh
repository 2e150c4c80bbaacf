#!/usr/bin/env bash
# eco-dispatch against the real broker and database (docs/DISPATCH.md):
#   1. a dispatcher's order is routed by place and duty, its events reach the
#      department's topic, and another department neither sees nor touches it;
#   2. the closed loop: accept, a reply without findings refused, reply,
#      verify, close; every step one append-only wo.event row that the
#      service's own role cannot change;
#   3. complaints: one near the order joins it, a bad one is dead-lettered
#      with its reason and the next good one (at sea) opens an order for the
#      marine department; contact details reach dispatchers only;
#   4. an alarm opens an order once however often its events come, and an
#      alarm of the same incident joins it;
#   5. deadlines: an order past due is marked overdue and escalated exactly
#      once with two instances running;
#   6. a request whose response topic is not the caller's gets no answer;
#   7. the whole lifecycle through ecoctl;
#   8. the Open311 export: GeoReport v2 of the orders each caller may see.
set -euo pipefail
# shellcheck source=../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

eco_db_new t_dispatch
ECOCTL=$(eco_bin ecoctl)
T=$ECO_TEST_TMP
export ECO_BROKER_AUTH_DIR=$ECO_TEST_BROKER_AUTH_DIR
export ECO_BROKER_PID_FILE=$ECO_TEST_BROKER_PID_FILE
p=dsp$$
MQ=(-h "$ECO_MQTT_HOST" -p "$ECO_MQTT_PORT" -V mqttv5)

"$ECOCTL" registry load "$ECO_SOURCE_DIR/deploy/sample" >"$T/load.out" 2>&1 ||
    { cat "$T/load.out"; eco_fail "registry load"; }
echo "pw-d-$p" | "$ECOCTL" user add "$p-disp" --role dispatcher --password-stdin >/dev/null
echo "pw-dh-$p" | "$ECOCTL" user add "$p-dh" --role department --department ZS-EEB-DH \
    --password-stdin >/dev/null
echo "pw-pt-$p" | "$ECOCTL" user add "$p-pt" --role department --department ZS-EEB-PT \
    --password-stdin >/dev/null
echo "pw-an-$p" | "$ECOCTL" user add "$p-an" --role analyst --password-stdin >/dev/null
declare -A PW=([disp]="pw-d-$p" [dh]="pw-dh-$p" [pt]="pw-pt-$p" [an]="pw-an-$p")

# rpc WHO METHOD JSON: the reply's payload (empty when none within 10 s)
n=0
rpc() {
    local who=$1 method=$2 args=$3 out
    n=$((n + 1))
    out=$T/reply.$n
    mosquitto_sub "${MQ[@]}" -u "$p-$who" -P "${PW[$who]}" -i "$p-r$n" -q 1 \
        -t "eco/v1/rpc/reply/$p-$who/$n" -C 1 -W 10 >"$out" 2>/dev/null 7>&- &
    local sub=$!
    sleep 0.3
    mosquitto_pub "${MQ[@]}" -u "$p-$who" -P "${PW[$who]}" -i "$p-q$n" -q 1 \
        -t "eco/v1/rpc/dispatch/$method/$p-$who" -D publish response-topic \
        "eco/v1/rpc/reply/$p-$who/$n" -D publish correlation-data "c$n" -m "$args" 7>&-
    wait "$sub" || true
    cat "$out"
}
# field JSON KEY: a scalar member of a reply
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"; }

# start_dispatch NAME [INSTANCE]: an instance keeps its name across a restart,
# as deployments do (its persistent session holds its share of messages)
start_dispatch() {
    eco_spawn "$1" env ECO_PG_DSN="$(eco_dsn dispatch)" \
        ECO_MQTT_URL="mqtt://$ECO_MQTT_HOST:$ECO_MQTT_PORT" ECO_MQTT_USER="$ECO_MQTT_DISPATCH_USER" \
        ECO_MQTT_PASSWORD="$ECO_MQTT_DISPATCH_PASSWORD" ECO_DISPATCH_INSTANCE="$p-${2:-$1}" \
        ECO_DISPATCH_SHARE_GROUP="g-$p" ECO_DISPATCH_TICK_MS=200 ECO_DISPATCH_SWEEP_S=2 \
        "$(eco_bin eco-dispatch)"
    eco_wait_until 20 grep -q 'msg="database connected"' "$(eco_log "$1")"
}
start_dispatch d1
eco_spawn watch-dh mosquitto_sub "${MQ[@]}" -u "$p-dh" -P "${PW[dh]}" -i "$p-wdh" -q 1 -v \
    -t 'eco/v1/wo/#'
eco_wait_until 15 eval '[ -n "$(rpc disp wo.list "{}")" ]'

# ---- 1. routing, and departments kept apart --------------------------------
r=$(rpc disp wo.create '{"category":"air","title":"smell near Dinghai harbour","lat":30.0,"lon":122.1,"priority":2}')
eco_assert_eq "True ZS-EEB-DH dispatched" "$(field "$r" ok) $(field "$r" dept) $(field "$r" state)" \
    "a dispatcher's air order at Dinghai goes to the Dinghai branch: $r"
id=$(field "$r" id)
eco_wait_until 10 grep -q "^eco/v1/wo/ZS-EEB-DH/$id .*\"action\": \"dispatch\"" "$(eco_log watch-dh)"
eco_pass "the order's events reach its department's topic"
case "$(rpc pt wo.show "{\"id\":$id}")" in
*'"ok": false'*"no work order $id"*) ;;
*) eco_fail "another department sees order $id" ;;
esac
case "$(rpc pt wo.accept "{\"id\":$id}")" in
*'"ok": false'*) ;;
*) eco_fail "another department accepted order $id" ;;
esac
eco_assert_eq "[]" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["orders"])' "$(rpc pt wo.list '{}')")" \
    "another department lists none of it"
case "$(rpc an wo.list '{}')" in
*'"ok": false'*"may not use work orders"*) ;;
*) eco_fail "an analyst used work orders over MQTT" ;;
esac
eco_pass "another department (and an analyst) can neither see nor act on it"

# ---- 2. the closed loop ------------------------------------------------------
eco_assert_eq accepted "$(field "$(rpc dh wo.accept "{\"id\":$id}")" state)" "accept"
case "$(rpc dh wo.reply "{\"id\":$id}")" in
*'"ok": false'*"needs a note"*) ;;
*) eco_fail "a reply without findings was taken" ;;
esac
eco_assert_eq replied "$(field "$(rpc dh wo.reply "{\"id\":$id,\"note\":\"a paint shop venting; stopped\",\"attachments\":[\"https://files.example/p1.jpg\"]}")" state)" "reply"
case "$(rpc dh wo.verify "{\"id\":$id}")" in
*'"ok": false'*"only a dispatcher"*) ;;
*) eco_fail "a department verified its own reply" ;;
esac
eco_assert_eq verified "$(field "$(rpc disp wo.verify "{\"id\":$id}")" state)" "verify"
eco_assert_eq closed "$(field "$(rpc disp wo.close "{\"id\":$id,\"note\":\"confirmed on site\"}")" state)" "close"
eco_assert_eq "create dispatch accept reply verify close" \
    "$(eco_psql "SELECT string_agg(action, ' ' ORDER BY id) FROM wo.event WHERE work_order = $id")" \
    "every step is one event"
eco_assert_eq "https://files.example/p1.jpg" \
    "$(eco_psql "SELECT attachments[1] FROM wo.event WHERE work_order = $id AND action = 'reply'")" \
    "the reply's attachment is kept"
for stmt in "UPDATE wo.event SET note = 'x' WHERE work_order = $id" "DELETE FROM wo.event WHERE work_order = $id"; do
    if out=$(psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn dispatch)" -c "$stmt" 2>&1); then
        eco_fail "eco_dispatch may change wo.event: $stmt"
    fi
    case "$out" in *"permission denied"*) ;; *) eco_fail "unexpected: $out" ;; esac
done
eco_wait_until 10 grep -q "^eco/v1/wo/ZS-EEB-DH/$id .*\"action\": \"close\"" "$(eco_log watch-dh)"
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM wo.outbox")" "every event published and cleared"
eco_pass "the closed loop: accept, reply, verify, close; wo.event append-only"

# ---- 3. complaints -----------------------------------------------------------
r=$(rpc disp wo.create '{"category":"water","title":"foam on the river","lat":29.95,"lon":122.15}')
wid=$(field "$r" id)
now=$(date +%FT%T%:z)
eco_mqtt_pub sim -q 1 -t eco/v1/complaint/new \
    -m "{\"ts\":\"$now\",\"category\":\"water\",\"text\":\"white foam\",\"lat\":29.951,\"lon\":122.151,\"contact\":\"13800000001\"}"
eco_mqtt_pub sim -q 1 -t eco/v1/complaint/new -m "{\"ts\":\"$now\",\"text\":\"no category $p\",\"lat\":30,\"lon\":122}"
eco_mqtt_pub sim -q 1 -t eco/v1/complaint/new \
    -m "{\"ts\":\"$now\",\"category\":\"sea\",\"text\":\"oil slick\",\"lat\":30.05,\"lon\":122.35,\"contact\":\"13800000002\"}"
eco_wait_until 15 eco_psql_is 2 "SELECT count(*) FROM wo.complaint"
eco_wait_until 10 eco_psql_is 1 "SELECT count(*) FROM obs.deadletter WHERE service = 'dispatch' AND reason LIKE 'category must be%' AND payload LIKE '%no category $p%'"
eco_assert_eq "$wid t" "$(eco_psql "SELECT work_order, linked FROM wo.complaint WHERE text = 'white foam'" | tr '|' ' ')" \
    "a complaint near an open order of its category joins it"
eco_assert_eq "ZS-OFB complaint" "$(eco_psql "SELECT w.dept, w.source FROM wo.complaint c JOIN wo.work_order w ON w.id = c.work_order WHERE c.text = 'oil slick'" | tr '|' ' ')" \
    "a complaint at sea opens an order for the marine department"
case "$(rpc disp wo.show "{\"id\":$wid}")" in *13800000001*) ;; *) eco_fail "the dispatcher does not see the contact" ;; esac
case "$(rpc dh wo.show "{\"id\":$wid}")" in
*13800000001*) eco_fail "a department sees a complainant's contact" ;;
*'"ok": true'*) ;;
*) eco_fail "the department cannot see its order $wid" ;;
esac
if psql -XAtq -d "$(eco_dsn analyst)" -c "SELECT contact FROM wo.complaint" >/dev/null 2>&1; then
    eco_fail "eco_analyst reads complainants' contact details"
fi
eco_pass "complaints: joined, dead-lettered with the reason, routed to sea; contact for dispatchers only"

# hostile text is stored as it came; an oversized message is refused with a
# reason; neither stops the next complaint
hostile="'); DROP TABLE wo.work_order; -- <script>alert(\"x\")</script> \\u0000? 臭味 $p"
python3 - "$now" "$hostile" >"$T/hostile.json" <<'PY'
import json, sys
print(json.dumps({"ts": sys.argv[1], "category": "air", "text": sys.argv[2], "lat": 30.3, "lon": 122.0}))
PY
eco_mqtt_pub sim -q 1 -t eco/v1/complaint/new -f "$T/hostile.json"
head -c 300000 /dev/zero | tr '\0' 'x' >"$T/big"
eco_mqtt_pub sim -q 1 -t eco/v1/complaint/new -f "$T/big"
eco_mqtt_pub sim -q 1 -t eco/v1/complaint/new \
    -m "{\"ts\":\"$now\",\"category\":\"noise\",\"text\":\"after the big one $p\",\"lat\":30.0,\"lon\":122.1}"
eco_wait_until 15 eco_psql_is 1 "SELECT count(*) FROM wo.complaint WHERE text = 'after the big one $p'"
eco_assert_eq "$hostile" "$(eco_psql "SELECT text FROM wo.complaint WHERE text LIKE '%DROP TABLE%'")" \
    "SQL, HTML and escapes in a complaint are stored verbatim"
eco_assert_eq 1 "$(eco_psql "SELECT count(*) FROM obs.deadletter WHERE service = 'dispatch' AND reason LIKE 'payload larger than%'")" \
    "a 300 kB complaint is dead-lettered with the reason"
eco_pass "hostile and oversized complaints: stored verbatim or refused with a reason; the next one goes on"

# ---- 4. alarms -----------------------------------------------------------------
aid=$(eco_psql "
INSERT INTO alarm.incident (kind, site_id, opened_at, last_at)
SELECT 'pollution', id, now() - interval '1 hour', now() FROM core.site WHERE code = 'air-dh01';
INSERT INTO alarm.alarm (site_id, param_id, period, rule, severity, opened_at, last_at, value, limit_value, incident)
SELECT s.id, p.id, 'h', 'limit', 'major', now() - interval '1 hour', now(), 180.5, 75,
       (SELECT max(id) FROM alarm.incident)
  FROM core.site s, core.param p WHERE s.code = 'air-dh01' AND p.code = 'pm25' RETURNING id" | tail -n 1)
for _ in 1 2 3; do
    eco_mqtt_pub admin -q 1 -t eco/v1/alarm/air-dh01/pm25 -m "{\"id\":$aid,\"rule\":\"limit\",\"state\":\"raised\"}"
done
eco_wait_until 15 eco_psql_is 1 "SELECT count(*) FROM wo.order_alarm WHERE alarm = $aid"
aord=$(eco_psql "SELECT work_order FROM wo.order_alarm WHERE alarm = $aid")
eco_assert_eq "alarm ZS-EEB-DH 2" "$(eco_psql "SELECT source, dept, priority FROM wo.work_order WHERE id = $aord" | tr '|' ' ')" \
    "a major limit alarm opens a priority-2 order for the Dinghai branch"
aid2=$(eco_psql "
INSERT INTO alarm.alarm (site_id, param_id, period, rule, severity, opened_at, last_at, value, limit_value, incident)
SELECT s.id, p.id, 'h', 'limit', 'major', now() - interval '30 minutes', now(), 120, 75,
       (SELECT max(id) FROM alarm.incident)
  FROM core.site s, core.param p WHERE s.code = 'air-dh02' AND p.code = 'pm10' RETURNING id" | tail -n 1)
eco_mqtt_pub admin -q 1 -t eco/v1/alarm/air-dh02/pm10 -m "{\"id\":$aid2}"
eco_wait_until 15 eco_psql_is "$aord" "SELECT work_order FROM wo.order_alarm WHERE alarm = $aid2"
eco_assert_eq 1 "$(eco_psql "SELECT count(*) FROM wo.work_order WHERE source = 'alarm'")" "one order for the incident"
eco_pass "an alarm opens one order however often its events come; its incident's next alarm joins it"

# ---- 5. deadlines, with two instances and a restart ------------------------------
start_dispatch d2
r=$(rpc disp wo.create "{\"category\":\"noise\",\"title\":\"night works\",\"lat\":30.0,\"lon\":122.1,\"priority\":1,\"due\":\"$(date -u -d '-1 minute' +%FT%TZ)\"}")
did=$(field "$r" id)
eco_wait_until 15 eco_psql_is t "SELECT overdue FROM wo.work_order WHERE id = $did"
sleep 3 # more ticks of both instances
eco_assert_eq 1 "$(eco_psql "SELECT count(*) FROM wo.event WHERE work_order = $did AND action = 'escalate'")" \
    "escalated exactly once"
eco_assert_eq t "$(eco_psql "SELECT overdue FROM rpt.work_order WHERE id = $did")" "rpt.work_order says overdue"
eco_assert_eq 1 "$(eco_psql "SELECT overdue FROM rpt.wo_kpi WHERE dept = '$(field "$r" dept)' AND month = date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai')::date")" \
    "rpt.wo_kpi counts it"
eco_pass "an order past due is escalated once with two instances running"
# a reminder, then a restart of every instance, then the deadline: each once
due=$(date -u -d '+8 seconds' +%FT%T.%NZ)
r=$(rpc disp wo.create "{\"category\":\"waste\",\"title\":\"dumping\",\"lat\":30.0,\"lon\":122.1,\"priority\":4,\"due\":\"$due\"}")
rid=$(field "$r" id)
eco_wait_until 10 eco_psql_is 1 "SELECT count(*) FROM wo.event WHERE work_order = $rid AND action = 'remind'"
eco_kill d1
eco_kill d2
start_dispatch d1b d1
start_dispatch d2b d2
eco_wait_until 20 eco_psql_is t "SELECT overdue FROM wo.work_order WHERE id = $rid"
sleep 2
eco_assert_eq "1 1" "$(eco_psql "SELECT count(*) FILTER (WHERE action = 'remind'), count(*) FILTER (WHERE action = 'escalate') FROM wo.event WHERE work_order = $rid" | tr '|' ' ')" \
    "reminded once and escalated once across a restart"
late=$(eco_psql "SELECT extract(epoch FROM e.ts - w.due_at) FROM wo.event e JOIN wo.work_order w ON w.id = e.work_order WHERE e.work_order = $rid AND e.action = 'escalate'")
awk -v l="$late" 'BEGIN { exit !(l >= 0 && l < 3) }' || eco_fail "escalated $late s after the deadline"
eco_pass "a restart between the reminder and the deadline loses and doubles nothing (escalated ${late} s late)"

# ---- 6. a response topic that is not the caller's ---------------------------------
eco_spawn spy mosquitto_sub "${MQ[@]}" -u "$ECO_MQTT_ADMIN_USER" -P "$ECO_MQTT_ADMIN_PASSWORD" \
    -i "$p-spy" -q 1 -v -t 'eco/v1/rpc/reply/#'
sleep 0.5
mosquitto_pub "${MQ[@]}" -u "$p-disp" -P "${PW[disp]}" -i "$p-bad" -q 1 \
    -t "eco/v1/rpc/dispatch/wo.list/$p-disp" -D publish response-topic "eco/v1/rpc/reply/$p-dh/x" \
    -D publish correlation-data c -m '{}' 7>&-
eco_wait_until 10 eco_psql_is 1 "SELECT count(*) FROM obs.deadletter WHERE service = 'dispatch' AND reason LIKE 'no response topic under%'"
if grep -q "eco/v1/rpc/reply/$p-dh/x" "$(eco_log spy)"; then
    eco_fail "the service answered on another user's reply topic"
fi
eco_pass "a request is answered only on its caller's reply topic"

# ---- 7. the whole lifecycle through ecoctl, each person in their own name ----------
ctl() {
    local who=$1
    shift
    ECO_MQTT_URL="mqtt://$ECO_MQTT_HOST:$ECO_MQTT_PORT" ECO_MQTT_USER="$p-$who" \
        ECO_MQTT_PASSWORD="${PW[$who]}" "$ECOCTL" "$@"
}
r=$(ctl disp --json wo create --category air --title "through ecoctl" --lat 30.0 --lon 122.1) ||
    eco_fail "ecoctl wo create: $r"
cid=$(field "$r" id)
eco_assert_eq ZS-EEB-DH "$(field "$r" dept)" "ecoctl wo create is routed"
set +e
out=$(ctl pt wo accept "$cid" 2>&1)
eco_assert_eq 1 $? "another department's accept exits 1"
case "$out" in *refused*) ;; *) eco_fail "no refusal printed: $out" ;; esac
ctl dh wo reply "$cid" >/dev/null 2>&1
eco_assert_eq 2 $? "a reply without --note is bad usage"
set -e
ctl dh wo accept "$cid" >/dev/null
ctl dh wo start "$cid" >/dev/null
ctl dh wo reply "$cid" --note "inspected; a boiler was tuned" --attach https://files.example/b.jpg >/dev/null
ctl disp wo verify "$cid" >/dev/null
ctl disp wo close "$cid" --note done >/dev/null
eco_assert_eq "create dispatch accept start reply verify close" \
    "$(eco_psql "SELECT string_agg(action, ' ' ORDER BY id) FROM wo.event WHERE work_order = $cid")" \
    "the lifecycle through ecoctl"
eco_assert_eq "$p-dh $p-disp" "$(eco_psql "SELECT string_agg(DISTINCT actor, ' ' ORDER BY actor) FROM wo.event WHERE work_order = $cid AND action IN ('reply', 'close')")" \
    "each step is recorded under the caller's own name"
ctl disp wo show "$cid" | grep -q 'closed' || eco_fail "ecoctl wo show does not say closed"
eco_pass "the whole lifecycle through ecoctl, each person in their own name"

# ---- 8. the Open311 export (GeoReport v2 JSON of the orders the caller may see) ----
r=$(ctl disp --json wo create --category waste --title "pt export" --text "by the quay" \
    --dept ZS-EEB-PT --lat 29.95 --lon 122.3) || eco_fail "ecoctl wo create: $r"
ptid=$(field "$r" id)
ctl disp complaint submit --category waste --text "bags again" --lat 29.95 --lon 122.3 \
    --photo https://files.example/quay.jpg >/dev/null
eco_wait_until 10 eco_psql_is "$ptid" "SELECT work_order FROM wo.complaint WHERE photo_url = 'https://files.example/quay.jpg'"
ctl disp wo export --format open311 >"$T/o311.disp" || eco_fail "ecoctl wo export (dispatcher)"
ctl disp --json wo export --format open311 --dept ZS-EEB-PT >"$T/o311.disp-pt" ||
    eco_fail "ecoctl --json wo export --dept"
ctl pt wo export --format open311 --limit 50 >"$T/o311.pt" || eco_fail "ecoctl wo export (pt)"
python3 - "$T/o311.disp" "$T/o311.disp-pt" "$T/o311.pt" "$cid" "$ptid" "$(eco_psql "SELECT count(*) FROM wo.work_order")" <<'PY' ||
import json, sys
disp, disp_pt, pt = (json.load(open(f)) for f in sys.argv[1:4])
cid, ptid, total = sys.argv[4], sys.argv[5], int(sys.argv[6])
assert isinstance(disp, list) and len(disp) == total, (type(disp), len(disp), total)
fields = {"service_request_id", "status", "status_notes", "service_name", "service_code",
          "description", "agency_responsible", "service_notice", "requested_datetime",
          "updated_datetime", "expected_datetime", "address", "lat", "long", "media_url"}
by_id = {r["service_request_id"]: r for r in disp}
c = by_id[cid]
assert fields <= set(c), fields - set(c)
assert c["status"] == "closed" and c["status_notes"] == "done", c
assert "ZS-EEB-DH" in c["agency_responsible"], c
assert abs(c["lat"] - 30.0) < 1e-9 and abs(c["long"] - 122.1) < 1e-9, c
assert c["service_code"] == "air" and c["description"] == "through ecoctl", c
assert c["requested_datetime"].endswith("+08:00") and c["media_url"] is None, c
o = by_id[ptid]
assert o["status"] == "open" and "ZS-EEB-PT" in o["agency_responsible"], o
assert o["description"] == "pt export\n\nby the quay", o
assert o["media_url"] == "https://files.example/quay.jpg", o
assert [r["service_request_id"] for r in disp] == sorted(by_id, key=int, reverse=True)
assert pt and all("ZS-EEB-PT" in r["agency_responsible"] for r in pt), pt
assert cid not in {r["service_request_id"] for r in pt}
assert pt == disp_pt, "a department sees exactly what a dispatcher sees of it"
PY
    eco_fail "the Open311 export: $(head -c 2000 "$T/o311.disp")"
set +e
ctl an wo export --format open311 >"$T/o311.an" 2>&1
eco_assert_eq 1 $? "an analyst's export is refused with exit 1"
ctl disp wo export --format csv >/dev/null 2>&1
eco_assert_eq 2 $? "an unknown --format is bad usage"
set -e
grep -q "refused: .*may not use work orders" "$T/o311.an" || eco_fail "no refusal: $(cat "$T/o311.an")"
eco_pass "ecoctl wo export --format open311: GeoReport v2 of the orders the caller may see"

# ---- 9. `me`: who the caller is, for clients that adapt to it ---------------------
eco_assert_eq "True dispatcher  True" \
    "$(r=$(rpc disp me '{}'); echo "$(field "$r" ok) $(field "$r" role) $(field "$r" dept) $(field "$r" work_orders)")" \
    "me: a dispatcher"
r=$(rpc dh me '{}')
eco_assert_eq "True department ZS-EEB-DH True $p-dh" \
    "$(field "$r" ok) $(field "$r" role) $(field "$r" dept) $(field "$r" work_orders) $(field "$r" user)" "me: a department"
[ -n "$(field "$r" dept_name)" ] || eco_fail "me: no department name: $r"
eco_assert_eq "True analyst False" \
    "$(r=$(rpc an me '{}'); echo "$(field "$r" ok) $(field "$r" role) $(field "$r" work_orders)")" "me: an analyst"
eco_psql "UPDATE core.account SET active = false WHERE username = '$p-an'" >/dev/null
case "$(rpc an me '{}')" in
*'"ok": false'*"not an active person account"*) ;;
*) eco_fail "me answered a disabled account" ;;
esac
eco_pass "me: each person's role and department, and a disabled account refused"
# a request without correlation data (mosquitto_rr, the web console) is
# answered; under UBSan its missing data must not reach memcpy
r=$(mosquitto_rr "${MQ[@]}" -u "$p-dh" -P "${PW[dh]}" -t "eco/v1/rpc/dispatch/me/$p-dh" \
    -e "eco/v1/rpc/reply/$p-dh/rr" -W 10 -m '{}' 7>&- 2>&1) || eco_fail "mosquitto_rr: $r"
eco_assert_eq "True ZS-EEB-DH" "$(field "$r" ok) $(field "$r" dept)" "a request without correlation data is answered"

# leave the shared broker as the other tests expect: services only
eco_psql "UPDATE core.account SET active = false" "UPDATE core.device SET active = false" >/dev/null
"$ECOCTL" broker sync >/dev/null || eco_fail "broker sync"
