#!/usr/bin/env bash
# No data loss when eco-ingest dies: SIGKILL it several times during a
# stream of 200 000 readings; after the restarts every reading is stored
# exactly once (the spool is replayed, the broker redelivers what was never
# acknowledged, and repeats land on the unique key).
#
# Each kill is aimed at a number of readings stored, drawn from a seed that
# the test prints (ECO_TEST_CRASH_SEED=N repeats a run), and the test fails
# if a kill did not land while readings were still in flight (fewer than N
# stored right after it).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

N=${ECO_TEST_CRASH_READINGS:-200000}
KILLS=${ECO_TEST_CRASH_KILLS:-4}
SEED=${ECO_TEST_CRASH_SEED:-$(((RANDOM << 15 | RANDOM) % 1000000))}
[[ "$SEED" =~ ^[0-9]+$ ]] || eco_fail "ECO_TEST_CRASH_SEED must be a number: $SEED"
echo "ingest_crash_test: seed $SEED (ECO_TEST_CRASH_SEED=$SEED repeats the kill points)"
RANDOM=$SEED
eco_db_new t_ingest_crash
p="tc$$"
ingest_registry "$p"
ingest_bench_registry "$p-b" 100
ingest_start ingest "$p"

eco_mqtt_as sim
eco_spawn pub "$(eco_bin bench_ingest)" --count "$N" --devices 100 --prefix "$p-b"
pubdone() { grep -q '^published=' "$(eco_log pub)"; }

stored_at_least() { [ "$(ingest_count "$p-b")" -ge "$1" ]; }
# kill k aims at k/KILLS of the first 60 % of the stream, give or take a
# quarter slot: the kill lands some way past the aim (the count is polled
# while ingest stores tens of thousands a second), and must stay below N
slot=$((N * 3 / 5 / KILLS))
for k in $(seq 1 "$KILLS"); do
    at=$((k * slot - slot / 4 + (RANDOM << 15 | RANDOM) % (slot / 2 + 1)))
    eco_wait_until 180 stored_at_least "$at"
    sending=yes
    pubdone && sending=no
    eco_kill ingest KILL || true
    stored=$(ingest_count "$p-b")
    [ "$stored" -lt "$N" ] ||
        eco_fail "kill $k (seed $SEED) landed after all $N readings were stored: not mid-stream"
    echo "kill $k: SIGKILL at $stored of $N readings stored (aimed at $at; publisher sending: $sending)"
    ingest_start ingest "$p"
done
eco_wait_until 120 pubdone
eco_wait_until 180 eco_psql_is "$N" "SELECT count(*) FROM obs.reading r JOIN core.site s ON s.id = r.site_id WHERE s.code LIKE '$p-b%'"
# exactly once: the count matches and no key appears twice (the primary key
# guarantees it; checked anyway so the test notices a schema change)
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM (SELECT site_id, param_id, period, ts FROM obs.reading GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) d")" "duplicate keys"
# other tests share the broker: only this test's devices count
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM obs.deadletter WHERE source LIKE 'eco/v1/in/$p-%'")" "dead letters"
# every message arrived: one distinct timestamp set per device
eco_assert_eq "$((N / 100))" "$(eco_psql "SELECT count(DISTINCT ts) FROM rpt.reading WHERE site = '$p-b7'")" "readings of one device"
eco_pass "$N readings stored exactly once across $KILLS SIGKILLs"
# obs.latest, updated apart from the readings, holds the newest of each pair
eco_wait_until 10 eco_psql_is 0 "SELECT count(*) FROM (SELECT site_id, param_id, max(ts) AS ts
    FROM obs.reading r JOIN core.site s ON s.id = r.site_id WHERE s.code LIKE '$p-b%' GROUP BY 1, 2) n
    LEFT JOIN obs.latest l USING (site_id, param_id) WHERE l.ts IS DISTINCT FROM n.ts"
eco_pass "obs.latest holds the newest reading of every device after the SIGKILLs"

# A kill after a batch committed but before obs.latest caught up: the
# restarted service reads those spool records again for their latest values.
eco_kill ingest TERM
ingest_start ingest "$p" ECO_INGEST_LATEST_FLUSH_MS=600000
eco_mqtt_pub sim -q 1 -t "eco/v1/in/$p-d3" \
    -m '{"ts": "2021-07-01T08:00:00+08:00", "period": "hour", "values": {"pm25": 42}}'
eco_wait_until 20 eco_psql_is 1 "SELECT count(*) FROM rpt.reading WHERE site = '$p-s3' AND value = 42"
sleep 0.5
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM rpt.latest WHERE site = '$p-s3'")" \
    "obs.latest not updated before the kill (the case under test)"
eco_kill ingest KILL || true
ingest_start ingest "$p"
eco_wait_until 20 eco_psql_is 42 "SELECT value FROM rpt.latest WHERE site = '$p-s3' AND param = 'pm25'"
eco_assert_eq '{"v":42,"unit":"ug/m3","flag":"N","ts":"2021-07-01T08:00:00+08:00","period":"hour"}' \
    "$(eco_mqtt_sub integrator -i "$p-late" -C 1 -W 5 -t "eco/v1/latest/$p-s3/pm25")" "retained latest after the replay"
eco_assert_eq 1 "$(eco_psql "SELECT count(*) FROM rpt.reading WHERE site = '$p-s3'")" "the reading is stored once"
eco_pass "obs.latest and the retained topic catch up after a kill between a batch and its latest update"
eco_kill ingest TERM
