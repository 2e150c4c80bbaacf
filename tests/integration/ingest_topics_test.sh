#!/usr/bin/env bash
# Nothing the broker acknowledges under eco/v1/in is dropped silently: a
# message on eco/v1/in itself or on eco/v1/in/{device}/{more} reaches ingest
# and is dead-lettered with its reason (once), in the shared-subscription
# mode and in the plain one, while good readings keep being stored.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

eco_db_new t_ingest_topics
p="tt$$"
ingest_registry "$p"

pub() { eco_mqtt_pub sim -q 1 -t "$1" -m "$2"; }
msg() { printf '{"ts": "2021-06-01T%02d:00:00+08:00", "period": "hour", "values": {"pm25": %d}}' "$1" "$1"; }
dead() { eco_psql "SELECT count(*) FROM obs.deadletter WHERE source = '$1'"; }

run_mode() {
    local mode=$1 inst=$2 h=$3
    if [ "$mode" = plain ]; then
        ECO_TEST_SHARE_GROUP= ingest_start "ingest-$mode" "$inst"
    else
        ingest_start "ingest-$mode" "$inst"
    fi
    pub "eco/v1/in" "$(msg "$h")"
    pub "eco/v1/in/$p-d0/$mode" "$(msg "$h")"
    pub "eco/v1/in/$p-d1/" "$(msg "$h")"
    pub "eco/v1/in/$p-d0/$mode/deeper" "$(msg "$h")"
    pub "eco/v1/in/$p-d2" "$(msg "$h")" # a good one after them
    eco_wait_until 20 eco_psql_is 1 "SELECT count(*) FROM rpt.reading WHERE site = '$p-s2' AND value = $h"
    eco_wait_until 10 eco_psql_is 1 "SELECT count(*) FROM obs.deadletter WHERE source = 'eco/v1/in/$p-d0/$mode/deeper'"
    eco_kill "ingest-$mode"
}

run_mode shared "$p-a" 1
eco_assert_eq 1 "$(dead eco/v1/in)" "shared: a message on eco/v1/in is dead-lettered once"
eco_assert_eq 1 "$(dead "eco/v1/in/$p-d0/shared")" "shared: eco/v1/in/{device}/{more} is dead-lettered"
eco_assert_eq 1 "$(dead "eco/v1/in/$p-d1/")" "shared: eco/v1/in/{device}/ is dead-lettered"
eco_assert_eq 1 "$(dead "eco/v1/in/$p-d0/shared/deeper")" "shared: a deeper topic is dead-lettered"
eco_pass "shared subscription: every topic under eco/v1/in arrives"

run_mode plain "$p-b" 2
eco_assert_eq 2 "$(dead eco/v1/in)" "plain: a message on eco/v1/in is dead-lettered once"
eco_assert_eq 1 "$(dead "eco/v1/in/$p-d0/plain")" "plain: eco/v1/in/{device}/{more} is dead-lettered"
eco_assert_eq 2 "$(dead "eco/v1/in/$p-d1/")" "plain: eco/v1/in/{device}/ is dead-lettered"
eco_assert_eq 1 "$(dead "eco/v1/in/$p-d0/plain/deeper")" "plain: a deeper topic is dead-lettered"
eco_pass "plain subscription: every topic under eco/v1/in arrives"

reasons=$(eco_psql "SELECT DISTINCT reason FROM obs.deadletter WHERE source LIKE 'eco/v1/in%'")
eco_assert_eq "topic is not eco/v1/in/{device}" "$reasons" "the reason names the expected topic shape"
eco_assert_eq 2 "$(eco_psql "SELECT count(*) FROM rpt.reading WHERE site LIKE '$p-%'")" "good readings stored, once each"
eco_check_logs
eco_pass "messages on unexpected topics under eco/v1/in are dead-lettered with a reason"
