#!/usr/bin/env bash
# Ingest owns its subscriptions: its persistent session outlives the process,
# so switching an instance between the plain and the shared subscription
# (ECO_INGEST_SHARE_GROUP) must remove the old filter, or the broker delivers
# every message twice (once per filter). Runs one instance plain, then shared,
# then plain again (a group the code cannot guess: the spool records it), and
# each time publishes N readings and checks that N arrived and were stored,
# with no batch running through the repeat path.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

eco_db_new t_ingest_resub
p="tr$$"
ingest_registry "$p"
N=300

# N readings of device d0, hours [from, from + N)
publish() {
    local from=$1
    python3 -c '
import sys, datetime
t0 = datetime.datetime(2021, 1, 1, tzinfo=datetime.timezone.utc)
for i in range(int(sys.argv[1]), int(sys.argv[1]) + int(sys.argv[2])):
    ts = (t0 + datetime.timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
    print("{\"ts\": \"%s\", \"period\": \"hour\", \"values\": {\"pm25\": %d}}" % (ts, i % 500))
' "$from" "$N" | eco_mqtt_pub sim -q 1 -t "eco/v1/in/$p-d0" -l
}

counter() { # NAME: from the retained status of this instance
    eco_mqtt_sub admin -t "eco/v1/sys/ingest/$p" -C 1 -W 5 |
        python3 -c 'import sys, json; print(json.load(sys.stdin)["counters"][sys.argv[1]])' "$1"
}

# one run: start in the given mode, publish N, all stored, counters exact
run() {
    local mode=$1 from=$2
    if [ "$mode" = plain ]; then
        ECO_TEST_SHARE_GROUP= ingest_start ingest "$p"
    else
        ingest_start ingest "$p"
    fi
    publish "$from"
    eco_wait_until 30 eco_psql_is $((from + N)) "SELECT count(*) FROM rpt.reading WHERE site = '$p-s0'"
    # the counters of this run, once the spool is drained and a status went out
    drained() { [ "$(counter spool_backlog)" = 0 ] && [ "$(counter received)" -ge "$N" ]; }
    eco_wait_until 10 drained
    sleep 1.5 # a duplicate, if any, arrives right behind its original
    eco_assert_eq "$N" "$(counter received)" "$mode run: each of the $N messages arrived once"
    eco_assert_eq 0 "$(counter repeat_batches)" "$mode run: no batch ran through the repeat path"
    eco_kill ingest
}

run plain 0
eco_pass "plain subscription: $N messages, $N received"
run shared "$N"
eco_pass "plain -> shared: the plain subscription was removed from the session"
run plain $((2 * N))
eco_pass "shared -> plain: the shared subscription (recorded in the spool) was removed"
eco_assert_eq $((3 * N)) "$(eco_psql "SELECT count(*) FROM obs.reading r JOIN core.site s ON s.id = r.site_id WHERE s.code = '$p-s0'")" "every reading stored once"
eco_check_logs
eco_pass "ingest owns its subscriptions across mode switches"
