#!/usr/bin/env bash
# One spool, one process, one database: a second eco-ingest on a spool in
# use, or under an instance name in use, is refused with a clear message and
# exits 1 without disturbing the first; a spool that was written for one
# database is refused by another (nothing of it replayed there).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

export ECO_EXPECTED_ERRORS='another eco-ingest is|the spool belongs to another database|msg="cannot start"'
eco_db_new t_ingest_claim
p="tc$$"
ingest_registry "$p"
pub() { eco_mqtt_pub sim -q 1 -t "eco/v1/in/$p-d0" -m "{\"ts\": \"2021-06-01T0$1:00:00+08:00\", \"period\": \"hour\", \"values\": {\"pm25\": $1}}"; }
stored() { eco_psql "SELECT count(*) FROM obs.reading r JOIN core.site s ON s.id = r.site_id WHERE s.code = '$p-s0'"; }

# a second eco-ingest that must refuse to run: NAME INSTANCE SPOOL MESSAGE
refused() {
    local name=$1 inst=$2 spool=$3 want=$4 pid rc=0 t0=$SECONDS
    eco_spawn "$name" env ECO_PG_DSN="$(eco_dsn ingest)" \
        ECO_MQTT_URL="mqtt://$ECO_MQTT_HOST:$ECO_MQTT_PORT" \
        ECO_MQTT_USER="$ECO_MQTT_INGEST_USER" ECO_MQTT_PASSWORD="$ECO_MQTT_INGEST_PASSWORD" \
        ECO_INGEST_INSTANCE="$inst" ECO_INGEST_SHARE_GROUP="g-$p" \
        ECO_INGEST_SPOOL_DIR="$spool" ECO_INGEST_STATUS_S=1 ECO_INGEST_HJ212_ADDR= \
        "$(eco_bin eco-ingest)"
    pid=$(eco_pid "$name")
    gone() { ! kill -0 "$pid" 2>/dev/null || grep -q "^State:.*zombie" "/proc/$pid/status" 2>/dev/null; }
    eco_wait_until 15 gone
    eco_kill "$name" || rc=$?
    eco_assert_eq 1 "$rc" "$name exits 1"
    grep -qF "$want" "$(eco_log "$name")" || eco_fail "$name: no message '$want' in: $(cat "$(eco_log "$name")")"
    [ $((SECONDS - t0)) -le 10 ] || eco_fail "$name took $((SECONDS - t0)) s to give up"
    ! grep -q 'msg="broker connected"' "$(eco_log "$name")" || eco_fail "$name connected to the broker"
}

ingest_start ingest "$p"
pub 1
eco_wait_until 20 eco_psql_is 1 "SELECT count(*) FROM obs.reading r JOIN core.site s ON s.id = r.site_id WHERE s.code = '$p-s0'"

refused second-spool "$p-other" "$ECO_TEST_TMP/spool-$p" "another eco-ingest is using this spool"
eco_pass "a second process on the same spool is refused"
refused second-instance "$p" "$ECO_TEST_TMP/spool-$p-b" "another eco-ingest is running as this instance"
eco_pass "a second process under the same instance name is refused"

# the first one never noticed
pub 2
eco_wait_until 20 eco_psql_is 2 "SELECT count(*) FROM obs.reading r JOIN core.site s ON s.id = r.site_id WHERE s.code = '$p-s0'"
! grep -q 'broker connection lost' "$(eco_log ingest)" || eco_fail "the first ingest lost its broker connection"
eco_kill ingest
eco_pass "the first instance kept running undisturbed"

# the same spool (its segment still holds records 1 and 2) against a new database
eco_db_new t_ingest_claim_b
ingest_registry "$p"
refused other-db "$p" "$ECO_TEST_TMP/spool-$p" "the spool belongs to another database"
eco_assert_eq 0 "$(stored)" "nothing of the old spool was replayed into the new database"
grep -q 'spool_database=' "$(eco_log other-db)" || eco_fail "the message names the spool's database"
eco_pass "a spool is refused by a database it was not written for"

# a fresh spool works with the new database, and the old one with its own
ingest_start ingest "$p-n"
pub 3
eco_wait_until 20 eco_psql_is 1 "SELECT count(*) FROM obs.reading r JOIN core.site s ON s.id = r.site_id WHERE s.code = '$p-s0'"
eco_kill ingest
eco_check_logs
eco_pass "one spool, one process, one database"
