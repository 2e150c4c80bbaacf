#!/usr/bin/env bash
# End to end on the sample network: ecosim (seeded, with incidents) ->
# broker -> eco-ingest -> PostgreSQL. Every value ecosim sent is accounted
# for exactly: stored under its own key, or part of a dead-lettered message;
# nothing is stored that was not sent, nothing twice. The labelled incidents
# are visible in the stored data (an exceedance above its limit, a flatline).
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
sim_args=(--network "$ECO_SOURCE_DIR/deploy/sample" --speed 0 --seed 7 --incidents 48
    --from 2024-06-01T00:00:00+08:00 --to 2024-06-01T06:00:00+08:00)
# What ecosim sends, message by message: the same seeded run, printed
# (topic TAB payload) instead of published. The two summaries must agree.
sent="$ECO_TEST_TMP/sent.tsv"
"$sim" "${sim_args[@]}" --stdout >"$sent" 2>"$ECO_TEST_TMP/sim-stdout.log" ||
    eco_fail "ecosim --stdout failed: $(tail -3 "$ECO_TEST_TMP/sim-stdout.log")"
"$sim" "${sim_args[@]}" --labels "$labels" 2>"$ECO_TEST_TMP/sim.log" >/dev/null ||
    eco_fail "ecosim failed: $(tail -3 "$ECO_TEST_TMP/sim.log")"
summary=$(grep 'msg=summary ' "$ECO_TEST_TMP/sim.log")
printed=$(grep 'msg=summary ' "$ECO_TEST_TMP/sim-stdout.log")
published=$(sed -n 's/.* published=\([0-9]*\).*/\1/p' <<<"$summary")
acked=$(sed -n 's/.* acked=\([0-9]*\).*/\1/p' <<<"$summary")
readings=$(sed -n 's/.* readings=\([0-9]*\).*/\1/p' <<<"$summary")
[ "$published" -gt 1000 ] && [ "$published" = "$acked" ] || eco_fail "ecosim: $summary"
[ "$(sed -n 's/.* messages=\([0-9]*\) readings=\([0-9]*\) .*/\1 \2/p' <<<"$printed")" = \
    "$published $readings" ] && [ "$(wc -l <"$sent")" = "$published" ] ||
    eco_fail "the printed run is not the published one: $printed / $summary"
eco_wait_until 60 eco_psql_is "$published" "SELECT seq FROM obs.spool_position WHERE instance = '$p'"

# Every value sent, by its key (site, param, period, time): stored, or in a
# message that was dead-lettered (matched by topic and payload as received).
eco_psql "COPY (SELECT s.code, p.code, core.period_name(r.period),
                       (extract(epoch FROM r.ts) * 1000000)::bigint
                FROM obs.reading r JOIN core.site s ON s.id = r.site_id
                JOIN core.param p ON p.id = r.param_id) TO STDOUT" >"$ECO_TEST_TMP/stored.tsv"
eco_psql "COPY (SELECT code, site FROM core.device) TO STDOUT" >"$ECO_TEST_TMP/devices.tsv"
eco_psql "COPY (SELECT source, reason, payload FROM obs.deadletter) TO STDOUT (FORMAT csv)" \
    >"$ECO_TEST_TMP/dead.csv"
account=$(python3 - "$sent" "$ECO_TEST_TMP/stored.tsv" "$ECO_TEST_TMP/devices.tsv" \
    "$ECO_TEST_TMP/dead.csv" "$readings" <<'EOF'
import csv, json, sys
from datetime import datetime

sent_path, stored_path, dev_path, dead_path, readings = sys.argv[1:6]
site = dict(l.rstrip("\n").split("\t") for l in open(dev_path))
stored = {}
for l in open(stored_path):
    s, p, per, us = l.rstrip("\n").split("\t")
    k = (s, p, per, int(us))
    stored[k] = stored.get(k, 0) + 1
dead = {(src, payload) for src, _reason, payload in csv.reader(open(dead_path, newline=""))}

n = n_stored = n_dead = n_repeat = 0
lost, seen = [], set()
for line in open(sent_path):
    topic, payload = line.rstrip("\n").split("\t", 1)
    msg = json.loads(payload)
    us = round(datetime.fromisoformat(msg["ts"]).timestamp() * 1000000)
    for param in msg["values"]:
        n += 1
        k = (site[topic.rsplit("/", 1)[1]], param, msg["period"], us)
        if k in seen:
            n_repeat += 1  # a repeat changes nothing (docs/INGEST.md)
        elif k in stored:
            n_stored += 1
        elif (topic, payload) in dead:
            n_dead += 1
        else:
            lost.append(f"{topic} {param} {msg['ts']}")
        seen.add(k)
extra = [k for k in stored if k not in seen]
twice = [k for k, c in stored.items() if c > 1]
print(f"sent={n} stored={n_stored} dead_lettered={n_dead} repeats={n_repeat} lost={len(lost)} "
      f"stored_not_sent={len(extra)} stored_twice={len(twice)} dead_letters={len(dead)}")
for x in lost[:5]:
    print("lost:", x, file=sys.stderr)
for x in extra[:5]:
    print("stored but not sent:", x, file=sys.stderr)
ok = (n == int(readings) and not lost and not extra and not twice
      and n_stored + n_dead + n_repeat == n)
sys.exit(0 if ok else 1)
EOF
) || eco_fail "values not accounted for (readings=$readings): $account"
echo "ecosim: $published messages, $readings readings: $account"
eco_pass "all $published messages acknowledged; every value stored or dead-lettered: $account"

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
