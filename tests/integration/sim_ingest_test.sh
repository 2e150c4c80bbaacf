#!/usr/bin/env bash
# End to end on the sample network: ecosim (seeded, with incidents) ->
# broker -> eco-ingest -> PostgreSQL. Everything ecosim published is
# acknowledged and stored or dead-lettered, and the labelled incidents are
# visible in the stored data (an exceedance above its limit, a flatline).
set -euo pipefail
# publishes the sample network's device codes, which other tests' ingest
# instances would see: runs alone
# shellcheck disable=SC2034
ECO_EXCLUSIVE=1
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

sim=$(eco_bin ecosim)
eco_db_new t_sim_ingest
ECO_PG_DSN=$ECO_PG_DSN "$(eco_bin ecoctl)" registry load "$ECO_SOURCE_DIR/deploy/sample" >/dev/null
p="se$$"
ingest_start ingest "$p"
eco_mqtt_as sim
labels="$ECO_TEST_TMP/labels.jsonl"
"$sim" --network "$ECO_SOURCE_DIR/deploy/sample" --speed 0 --seed 7 --incidents 48 --from 2024-06-01T00:00:00+08:00 \
    --to 2024-06-01T06:00:00+08:00 --labels "$labels" 2>"$ECO_TEST_TMP/sim.log" >/dev/null ||
    eco_fail "ecosim failed: $(tail -3 "$ECO_TEST_TMP/sim.log")"
summary=$(grep 'msg=summary ' "$ECO_TEST_TMP/sim.log")
published=$(sed -n 's/.* published=\([0-9]*\).*/\1/p' <<<"$summary")
acked=$(sed -n 's/.* acked=\([0-9]*\).*/\1/p' <<<"$summary")
readings=$(sed -n 's/.* readings=\([0-9]*\).*/\1/p' <<<"$summary")
[ "$published" -gt 1000 ] && [ "$published" = "$acked" ] || eco_fail "ecosim: $summary"
eco_wait_until 60 eco_psql_is "$published" "SELECT seq FROM obs.spool_position WHERE instance = '$p'"
stored=$(eco_psql "SELECT count(*) FROM obs.reading")
dead=$(eco_psql "SELECT count(*) FROM obs.deadletter")
echo "ecosim: $published messages, $readings readings; stored $stored rows, $dead dead letters"
# every value is either stored or part of a dead-lettered message
[ "$stored" -le "$readings" ] && [ "$stored" -ge $((readings * 98 / 100)) ] ||
    eco_fail "stored $stored of $readings readings"
eco_pass "all $published messages acknowledged and taken; $stored of $readings readings stored"

# the labelled exceedance is above its limit in the stored data
ex=$(grep -m1 '"kind":"exceedance"' "$labels") || eco_fail "no exceedance label"
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$2"; }
site=$(field site "$ex"); param=$(field param "$ex"); lim=$(field limit "$ex")
from=$(field start "$ex"); to=$(field end "$ex")
over=$(eco_psql "SELECT count(*) FROM rpt.reading WHERE site = '$site' AND param = '$param'
                 AND ts >= '$from' AND ts < '$to' AND ts < '2024-06-01T06:00:00+08:00' AND value > $lim")
[ "$over" -gt 0 ] || eco_fail "exceedance $site/$param (> $lim) not visible: $ex"
eco_pass "exceedance at $site/$param: $over values above $lim"

fl=$(grep -m1 '"kind":"flatline"' "$labels") || eco_fail "no flatline label"
site=$(field site "$fl"); param=$(field param "$fl"); from=$(field start "$fl"); to=$(field end "$fl")
# per period: at least one with several values in the window, none of them varying
read -r n varying < <(eco_psql "SELECT coalesce(max(n), 0) || ' ' || count(*) FILTER (WHERE d > 1)
    FROM (SELECT period, count(*) n, count(DISTINCT value) d FROM rpt.reading
          WHERE site = '$site' AND param = '$param' AND ts >= '$from' AND ts < '$to'
          GROUP BY period) x")
[ "$n" -ge 2 ] && [ "$varying" = 0 ] || eco_fail "flatline $site/$param: $n values, $varying periods vary"
eco_pass "flatline at $site/$param: up to $n values per period, all identical"
eco_kill ingest TERM
