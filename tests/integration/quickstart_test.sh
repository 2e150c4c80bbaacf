#!/usr/bin/env bash
# eco-test: smoke
# deploy/quickstart.sh as a new user runs it (on this build, two hours of
# backfill, so that at least one whole hour gives the stations' hourly
# values the GEP account reads, instead of 24, its own stack in a temporary directory):
#   1. the summary's mosquitto_pub, mosquitto_sub, psql and ecoctl lines run
#      as printed, and what is published is stored and seen; the personal
#      account it prints for each role connects; the GEP account of the
#      synthetic Daishan inputs is printed and its eco-gep request answered;
#   2. quickstart.env holds the HJ 212 port the gateway listens on, and the
#      README's examples run after sourcing it;
#   3. the simulator keeps running live (pid file), --stop ends it with the
#      services; a re-run (--exit) keeps the HJ 212 port and leaves nothing
#      running. (It uses the harness only for its helpers.)
set -euo pipefail
# shellcheck source=../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

QS=$ECO_SOURCE_DIR/deploy/quickstart.sh
D=$ECO_TEST_TMP/qs
out=$ECO_TEST_TMP/qs.out
# as a new user's shell: none of the harness's settings (its stack's env)
qs() {
    env -i PATH="$PATH" HOME="$HOME" ECO_QUICKSTART_BUILD="$ECO_BUILD_DIR" \
        ECO_QUICKSTART_BACKFILL_H=2 "$QS" "$@" 7>&-
}
# in the background: the job is quickstart.sh itself (exec), so the kill
# below reaches it instead of orphaning it in its foreground loop
qs_bg() {
    exec env -i PATH="$PATH" HOME="$HOME" ECO_QUICKSTART_BUILD="$ECO_BUILD_DIR" \
        ECO_QUICKSTART_BACKFILL_H=2 "$QS" "$@" 7>&-
}
cleanup() {
    qs --stop --dir "$D" >/dev/null 2>&1 || true
}
trap cleanup EXIT

qs_bg --dir "$D" >"$out" 2>&1 &
qs_pid=$!
ready() { grep -q '^(ready in' "$out"; }
eco_wait_until 300 ready || eco_fail "quickstart not ready: $(tail -30 "$out")"
eco_pass "quickstart ready: $(grep '^(ready in' "$out")"

# 1. the printed lines, as printed
line() { grep -E "^  $1" "$out" | sed -n "${2:-1}p" | sed 's/^  //'; }
pub=$(line mosquitto_pub)
sub=$(line mosquitto_sub)
[ -n "$pub" ] && [ -n "$sub" ] || eco_fail "no mosquitto lines in: $(cat "$out")"
timeout 20 bash -c "$sub -W 8" >"$ECO_TEST_TMP/sub.out" 2>&1 &
sub_pid=$!
sleep 2
bash -c "$pub" || eco_fail "the printed mosquitto_pub line failed: $pub"
wait "$sub_pid" || true
grep -q '^eco/v1/obs/air-dh01 .*"pm25":{"v":35.2' "$ECO_TEST_TMP/sub.out" ||
    eco_fail "the printed mosquitto_sub line did not see the published reading: $(cat "$ECO_TEST_TMP/sub.out")"
eco_pass "the printed mosquitto_pub and mosquitto_sub lines work"
for n in 1 2; do
    l=$(line psql "$n")
    r=$(bash -c "$l" 2>&1) || eco_fail "psql line $n failed: $r"
    grep -qE '(air-dh01|value|^ *[a-z]+-[a-z0-9-]+ +\|)' <<<"$r" || eco_fail "psql line $n: $r"
done
l=$(line psql 3)
r=$(bash -c "$l" 2>&1) || eco_fail "psql line 3 failed: $r"
grep -qE '^ *20[0-9][0-9]-[0-9-]+ [0-9:+]+ +\| +[0-9]+ +\| +\{[a-z0-9,]*\} +\| +[^ ]' <<<"$r" ||
    eco_fail "psql line 3: no hourly AQI of air-dh01 over the simulated day: $r"
eco_pass "the printed psql lines work (the third: hourly AQI over the simulated day)"
for n in 1 2; do
    l=$(line ECO_PG_DSN= "$n")
    r=$(bash -c "$l" 2>&1) || eco_fail "ecoctl line $n failed: $l: $r"
done
grep -q 'alarm list --open' <<<"$(line ECO_PG_DSN= 1)" || eco_fail "no ecoctl alarm list --open line"
eco_pass "the printed ecoctl alarm list --open and status lines work"
# the work-order line: eco-dispatch answers the dispatcher (the orders
# themselves depend on what the simulated hour raised)
l=$(line ECO_MQTT_URL= 1)
grep -q 'ECO_MQTT_USER=qs-dispatcher .* wo list' <<<"$l" || eco_fail "no ecoctl wo list line: $l"
r=$(bash -c "$l" 2>&1) || eco_fail "the printed wo list line failed: $l: $r"
grep -qE '^(ID +DEPT|no work orders$)' <<<"$r" || eco_fail "wo list printed: $r"
n_orders=$(psql -XAtq -d "$(bash -c ". '$D/quickstart.env'; echo \$ECO_PG_CTL_DSN")" -c "SELECT count(*) FROM rpt.work_order")
eco_pass "the printed wo list line works ($n_orders work orders from the simulated hour)"
# the daily report: the printed page exists and is a report; the printed
# command makes another; eco-report runs (its status is retained)
html=$(grep -A3 '^Reports (docs/REPORTS.md)' "$out" | grep -E '^  /.*\.html$' | sed 's/^  //')
[ -n "$html" ] && [ -s "$html" ] || eco_fail "no daily report page in the summary: $(grep -A4 '^Reports' "$out")"
grep -q 'Daily eco-environment report' "$html" || eco_fail "$html is not a daily report"
l=$(grep -E '^Make another one: ' "$out" | sed 's/^Make another one: //; s/YYYY-MM-DD/2020-01-01/')
r=$(bash -c "$l" 2>&1) || eco_fail "the printed report line failed: $l: $r"
[ -s "$(dirname "$html")/daily-2020-01-01.html" ] || eco_fail "the printed report line wrote no page: $r"
eco_pass "the summary's daily report ($(basename "$html")) and its command work"
# the GEP account of the synthetic Daishan inputs: printed with a total,
# its negative-ion lines from noi-ds01's simulated readings; the printed
# eco-gep request is answered and the result retained
grep -A12 '^GEP (docs/GEP.md)' "$out" | grep -qE '^ +total \(GEP\) +[1-9][0-9]*\.[0-9]{2} yuan' ||
    eco_fail "no GEP total in the summary: $(grep -A12 '^GEP' "$out")"
ctl_dsn=$(bash -c ". '$D/quickstart.env'; echo \$ECO_PG_CTL_DSN")
gep_year=$(TZ=Asia/Shanghai date +%Y)
eco_assert_eq "t" "$(psql -XAtq -d "$ctl_dsn" -c "SELECT count(*) > 0 AND bool_and(array_to_string(sources, ';')
    LIKE '%derived: mean of 1 noi station%') FROM gep.item WHERE service = 'negative_ions' AND run =
    (SELECT max(id) FROM gep.run WHERE region = 'ZS-DS' AND status = 'done')")" \
    "the quick start's GEP ion lines come from noi-ds01's simulated readings"
l=$(line mosquitto_rr)
grep -q 'eco/v1/rpc/gep/run/' <<<"$l" || eco_fail "no eco-gep request line: $l"
r=$(bash -c "$l" 2>&1) || eco_fail "the printed eco-gep request failed: $l: $r"
grep -q '"ok":true' <<<"$r" || eco_fail "eco-gep refused the printed request: $r"
m=$(mosquitto_sub -h 127.0.0.1 -p "$(bash -c ". '$D/quickstart.env'; echo \$ECO_MQTT_PORT")" -V mqttv5 \
    -u "$(bash -c ". '$D/quickstart.env'; echo \$ECO_MQTT_ADMIN_USER")" \
    -P "$(bash -c ". '$D/quickstart.env'; echo \$ECO_MQTT_ADMIN_PASSWORD")" \
    -t "eco/v1/gep/ZS-DS/$gep_year" -C 1 -W 10 7>&-) || eco_fail "no retained eco/v1/gep/ZS-DS/$gep_year"
grep -q '"indicators"' <<<"$m" || eco_fail "the retained GEP result has no indicators: $m"
eco_pass "the summary's GEP account, its eco-gep request and the retained result work"
# one personal account per role, each accepted by the broker
port_mq=$(bash -c ". '$D/quickstart.env'; echo \$ECO_MQTT_PORT")
for r in admin dispatcher department analyst integrator; do
    pw=$(grep -E "^  qs-$r " "$out" | awk '{ print $NF }')
    [ -n "$pw" ] || eco_fail "no qs-$r account in the summary"
    mosquitto_pub -h 127.0.0.1 -p "$port_mq" -V mqttv5 -u "qs-$r" -P "$pw" -q 1 \
        -t eco/v1/x/qs -m x 7>&- || eco_fail "the broker refuses the printed qs-$r account"
done
eco_pass "the summary's five personal accounts connect"

# the web console: the printed address serves the page, with the printed login
curl_url=$(grep -A1 '^Web console' "$out" | sed -n 's/^  \(http:[^ ]*\)$/\1/p')
[ -n "$curl_url" ] || eco_fail "no web console address in the summary: $(grep -A5 'Web console' "$out")"
page=$(curl -fsS "$curl_url") || eco_fail "nothing at the printed $curl_url"
grep -q 'eco-console-build' <<<"$page" || eco_fail "no console at the printed $curl_url"
login=$(grep -A2 '^Web console' "$out" | sed -n 's/^and sign in as qs-dispatcher, password \([A-Za-z0-9]*\)$/\1/p')
[ -n "$login" ] && [ "$login" = "$(grep -E '^  qs-dispatcher ' "$out" | awk '{ print $NF }')" ] ||
    eco_fail "the console's printed login is not qs-dispatcher's: $(grep -A3 '^Web console' "$out")"
eco_pass "the summary's web console address serves the page; its login is the dispatcher's"

# 2. quickstart.env and the README
[ -f "$D/quickstart.env" ] || eco_fail "no $D/quickstart.env"
port=$(bash -c ". '$D/quickstart.env'; echo \$ECO_HJ212_PORT")
[[ "$port" =~ ^[0-9]+$ ]] || eco_fail "ECO_HJ212_PORT: '$port'"
ss -ltnH "sport = :$port" | grep -q . || eco_fail "nothing listens on the HJ 212 port $port"
grep -q "HJ 212 gateway *127.0.0.1:$port" "$out" || eco_fail "the summary does not show port $port"
# the README's shell examples, with run/quickstart pointing at this run
awk '/^## For integrators/,/^## Documentation/' "$ECO_SOURCE_DIR/README.md" |
    awk '/^```sh/{f=1; next} /^```/{f=0; next} f' |
    sed "s|run/quickstart/|$D/|g" >"$ECO_TEST_TMP/readme.sh"
grep -q mosquitto_pub "$ECO_TEST_TMP/readme.sh" || eco_fail "README examples not found"
echo 'sleep 2; kill %1' >>"$ECO_TEST_TMP/readme.sh" # the subscriber it starts
(cd "$ECO_SOURCE_DIR" && timeout 60 bash -e "$ECO_TEST_TMP/readme.sh" >"$ECO_TEST_TMP/readme.out" 2>&1) ||
    eco_fail "README shell examples: $(cat "$ECO_TEST_TMP/readme.out")"
awk '/^## For analysts/,/^Geometry/' "$ECO_SOURCE_DIR/README.md" |
    awk '/^```sql/{f=1; next} /^```/{f=0; next} f' >"$ECO_TEST_TMP/readme.sql"
r=$(bash -c ". '$D/quickstart.env'; psql \"\$ECO_PG_ANALYST_DSN\" -XAt -v ON_ERROR_STOP=1 -f '$ECO_TEST_TMP/readme.sql'" 2>&1) ||
    eco_fail "README SQL: $r"
grep -q '^air-dh01|pm25|hour|' <<<"$r" || eco_fail "README SQL found no reading of air-dh01 in the last day: $(head -5 <<<"$r")"
grep -q '^eco/v1/obs/air-dh01 .*"pm25":{"v":35.2' "$ECO_TEST_TMP/readme.out" ||
    eco_fail "the README's subscriber did not see its own reading: $(cat "$ECO_TEST_TMP/readme.out")"
eco_pass "quickstart.env: HJ 212 port $port; the README's examples run as written"
# docs/REPORTS.md: the report on request, as written (after sourcing
# quickstart.env); the QGIS layers as the analyst opens them
awk '/^```sh/{f=1; b=""; next} /^```/{if (f && b ~ /mosquitto_rr/) printf "%s", b; f=0; next} f{b = b $0 "\n"}' \
    "$ECO_SOURCE_DIR/docs/REPORTS.md" | sed "s|run/quickstart/|$D/|g" >"$ECO_TEST_TMP/rr.sh"
grep -q mosquitto_rr "$ECO_TEST_TMP/rr.sh" || eco_fail "docs/REPORTS.md: no mosquitto_rr example"
r=$(timeout 120 bash -c ". '$D/quickstart.env'; . '$ECO_TEST_TMP/rr.sh'" 2>&1) || eco_fail "docs/REPORTS.md's request: $r"
grep -q '"ok":true' <<<"$r" || eco_fail "docs/REPORTS.md's request was not answered ok: $r"
layers=$(bash -c ". '$D/quickstart.env'; psql \"\$ECO_PG_ANALYST_DSN\" -XAt -v ON_ERROR_STOP=1 -c \"
    SELECT f_table_name || ':' || srid FROM geometry_columns
    WHERE f_table_schema = 'rpt' AND f_table_name IN ('map_site', 'map_alarm', 'map_order', 'map_grid',
                                                      'enterprise_credit', 'water_monthly', 'source_exceedance', 'site')
    ORDER BY 1\" -c 'SELECT count(*) FROM rpt.map_site WHERE geom IS NOT NULL'" 2>&1) ||
    eco_fail "docs/REPORTS.md's QGIS layers: $layers"
eco_assert_eq "enterprise_credit:4326 map_alarm:4326 map_grid:4326 map_order:4326 map_site:4326 site:4326 source_exceedance:4326 water_monthly:4326" \
    "$(head -8 <<<"$layers" | tr '\n' ' ' | sed 's/ $//')" "docs/REPORTS.md's QGIS layers are in geometry_columns with EPSG:4326"
[ "$(tail -1 <<<"$layers")" -gt 0 ] || eco_fail "rpt.map_site has no site with a geometry"
eco_pass "docs/REPORTS.md: the request as written is answered; the analyst opens the QGIS layers"

# 3. live simulator, --stop, re-run
[ -f "$D/logs/ecosim.pid" ] || eco_fail "no live simulator pid file"
sim=$(cat "$D/logs/ecosim.pid")
grep -q -- '--speed.1' <(tr '\0' ' ' <"/proc/$sim/cmdline") || eco_fail "the live simulator is not at --speed 1"
live_ok() { grep -q 'connected=1' "$D/logs/ecosim-live.log"; }
eco_wait_until 30 live_ok || eco_fail "live simulator: $(tail -5 "$D/logs/ecosim-live.log")"
eco_pass "the simulator keeps running live (pid $sim)"
qs --stop --dir "$D" >/dev/null 2>&1 || eco_fail "--stop failed"
[ ! -d "/proc/$sim" ] || eco_fail "--stop left the live simulator running"
[ ! -f "$D/logs/ecosim.pid" ] || eco_fail "--stop left the simulator's pid file"
kill -TERM "$qs_pid" 2>/dev/null || true
wait "$qs_pid" 2>/dev/null || true
eco_pass "--stop stops the live simulator"

qs --exit --dir "$D" >"$out" 2>&1 || eco_fail "re-run --exit: $(tail -20 "$out")"
port2=$(bash -c ". '$D/quickstart.env'; echo \$ECO_HJ212_PORT")
eco_assert_eq "$port" "$port2" "a re-run keeps the HJ 212 port"
[ ! -f "$D/logs/ecosim.pid" ] || eco_fail "--exit left a live simulator"
pgrep -f "ecosim.*$D" >/dev/null && eco_fail "an ecosim of this run still runs"
eco_pass "re-run: same HJ 212 port; --exit starts no live simulator"
