#!/usr/bin/env bash
# The payload schemas (schemas/json) and the AsyncAPI document
# (schemas/asyncapi.yaml) against themselves and against what the programs
# really publish:
#   1. every schema is valid draft 2020-12; its examples validate; a set of
#      deliberately invalid payloads per schema is rejected, each for the
#      reason it was written for (tests/harness/validate_json.py INVALID);
#   2. asyncapi.yaml parses; every $ref resolves; QoS 1 everywhere; retained
#      exactly where the contract says;
#   3. live: eco-ingest gets the contract's example readings and a set of good,
#      bad and registry-dependent inputs; what it publishes on
#      eco/v1/obs/<site>, eco/v1/latest/<site>/+, eco/v1/dlq/ingest and
#      eco/v1/sys/ingest/<instance> (online, counters, clean offline, last
#      will) validates against the channel's schema; retained messages are
#      on retained channels; for every input, the schema and eco-ingest agree
#      as expected (accept/reject);
#   4. a simulated day of ecosim output validates as readings.
# Needs Debian's python3-jsonschema and python3-yaml (deploy/install-deps.sh).
set -euo pipefail
# every ingest instance of a parallel test would see its inputs and publish
# dead letters of its own on eco/v1/dlq/ingest: runs alone
# shellcheck disable=SC2034
ECO_EXCLUSIVE=1
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

schemas="$ECO_SOURCE_DIR/schemas/json"
asyncapi="$ECO_SOURCE_DIR/schemas/asyncapi.yaml"
validator="$ECO_SOURCE_DIR/tests/harness/validate_json.py"

# An interpreter with both modules: ECO_PYTHON, else Debian's, else PATH's.
py=""
for cand in ${ECO_PYTHON:-} /usr/bin/python3 python3; do
    if command -v "$cand" >/dev/null 2>&1 &&
        "$cand" -c 'import jsonschema, yaml' >/dev/null 2>&1; then
        py=$cand
        break
    fi
done
[ -n "$py" ] || eco_fail "no python3 with the jsonschema and yaml modules: install Debian's" \
    "python3-jsonschema and python3-yaml (deploy/install-deps.sh)"
validate() { "$py" "$validator" "$@"; }

# ---- 1, 2: the documents themselves --------------------------------------
validate selftest "$schemas" || eco_fail "schema self-test"
eco_pass "schemas: examples valid, invalid payloads rejected"
validate asyncapi "$asyncapi" "$schemas" || eco_fail "asyncapi.yaml"
eco_pass "asyncapi.yaml: refs resolve, QoS 1, retained flags as in the contract"

# ---- 3: live messages from eco-ingest ------------------------------------
eco_db_new t_schemas
p="tsch$$"
ingest_registry "$p"
cap="$ECO_TEST_TMP/watch.jsonl"

# -F %j: one JSON line per message with topic, qos, retain and payload
eco_spawn watch eco_mqtt_sub admin -i "$p-watch" -q 1 -W 300 -F %j \
    -t "eco/v1/obs/$p-s0" -t "eco/v1/obs/$p-s1" -t "eco/v1/obs/$p-s2" -t "eco/v1/obs/$p-s3" \
    -t "eco/v1/obs/$p-m" -t "eco/v1/latest/$p-s0/+" -t "eco/v1/latest/$p-s1/+" \
    -t "eco/v1/latest/$p-m/+" -t "eco/v1/latest/$p-s3/+" -t "eco/v1/dlq/ingest" \
    -t "eco/v1/sys/ingest/$p"
ingest_start ingest "$p"

cases="$ECO_TEST_TMP/cases"
validate cases "$p" "$cases"
n=0
while IFS=$'\t' read -r file dev; do
    eco_mqtt_pub sim -q 1 -t "eco/v1/in/$dev" -f "$cases/$file"
    n=$((n + 1))
done <"$cases/cases.tsv"
# a last message: once its latest value is out (latest values follow the
# stored readings within ECO_INGEST_LATEST_FLUSH_MS), everything before it
# is stored and published
eco_mqtt_pub sim -q 1 -t "eco/v1/in/$p-d3" \
    -m '{"ts": "2021-06-02T00:00:00+08:00", "period": "hour", "values": {"pm25": 1}}'
eco_wait_until 30 grep -q "\"topic\":\"eco/v1/latest/$p-s3/pm25\"" "$(eco_log watch)"
# and a status with counters (ECO_INGEST_STATUS_S=1)
eco_wait_until 10 grep -q "\"topic\":\"eco/v1/sys/ingest/$p\".*counters" "$(eco_log watch)"
eco_kill watch || true
cp "$(eco_log watch)" "$cap"
eco_pass "published $n inputs; captured $(wc -l <"$cap") messages"

validate messages "$asyncapi" "$cap" --only-dlq-prefix "eco/v1/in/$p-" \
    --require 'eco/v1/obs/{site}=5' --require 'eco/v1/latest/{site}/{param}=4' \
    --require 'eco/v1/dlq/{service}=25' --require 'eco/v1/sys/{service}/{instance}=2' ||
    eco_fail "messages published by eco-ingest do not match their schemas"
# obs messages group a site's objects per batch: 11 objects, however grouped
objs=$(python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    rec = json.loads(line)
    if rec["topic"].startswith("eco/v1/obs/"):
        n += len(json.loads(rec["payload"])["readings"])
print(n)' "$cap")
eco_assert_eq 11 "$objs" "readings objects in the obs messages"
eco_pass "obs, latest, dlq and sys messages of eco-ingest validate"

validate inputs "$schemas" "$p" "$cap" || eco_fail "schema and eco-ingest disagree on inputs"
eco_assert_eq 25 "$(eco_psql "SELECT count(*) FROM obs.deadletter WHERE source LIKE 'eco/v1/in/$p-%'")" \
    "dead letters in obs.deadletter"

# retained: a late subscriber gets latest and sys (retained), never obs or dlq
late="$ECO_TEST_TMP/late.jsonl"
eco_mqtt_sub integrator -i "$p-late" -q 1 -W 3 --retained-only -F %j -t "eco/v1/latest/$p-s0/+" \
    -t "eco/v1/latest/$p-m/+" -t "eco/v1/sys/ingest/$p" -t "eco/v1/obs/$p-s0" \
    -t "eco/v1/obs/$p-m" >"$late" 2>/dev/null || true
validate messages "$asyncapi" "$late" --retained \
    --require 'eco/v1/latest/{site}/{param}=4' --require 'eco/v1/sys/{service}/{instance}=1' ||
    eco_fail "retained messages"
eco_pass "a late subscriber gets retained latest and status, and no obs"

# clean stop: the retained status says "offline"
eco_kill ingest TERM
status() {
    eco_mqtt_sub integrator -i "$p-st$RANDOM" -q 1 -C 1 -W 5 -F %j -t "eco/v1/sys/ingest/$p" \
        >"$ECO_TEST_TMP/status.jsonl" 2>/dev/null || true
    grep -q "$1" "$ECO_TEST_TMP/status.jsonl"
}
eco_wait_until 10 status '\\"status\\":\\"offline\\"'
validate messages "$asyncapi" "$ECO_TEST_TMP/status.jsonl" --retained \
    --require 'eco/v1/sys/{service}/{instance}=1' || eco_fail "offline status"
# The offline status of a clean stop has "ts"; the last will has "since".
# Both validate; which one stays retained after a clean stop is reported.
if grep -q '\\"since\\"' "$ECO_TEST_TMP/status.jsonl"; then
    echo "note: after a clean stop the retained status is the last will (\"since\"), not the" \
        "offline status with \"ts\": the broker published the will"
fi
eco_pass "clean stop: retained offline status validates"

# a crash: the broker publishes the last will ("since")
ingest_start ingest2 "$p"
eco_wait_until 10 status '\\"status\\":\\"online\\"'
eco_kill ingest2 KILL || true
eco_wait_until 15 status '\\"status\\":\\"offline\\",\\"version\\":[^,]*,\\"since\\"'
validate messages "$asyncapi" "$ECO_TEST_TMP/status.jsonl" --retained \
    --require 'eco/v1/sys/{service}/{instance}=1' || eco_fail "last will"
eco_pass "crash: the last will validates"

# ---- 4: ecosim's readings ------------------------------------------------
if ECOSIM=$(eco_bin ecosim 2>/dev/null); then
    "$ECOSIM" --stdout --speed 0 --network "$ECO_SOURCE_DIR/deploy/sample" \
        --from 2024-06-01T00:00:00+08:00 --to 2024-06-02T00:00:00+08:00 --incidents 48 \
        >"$ECO_TEST_TMP/sim.tsv" 2>"$ECO_TEST_TMP/sim.err" 7>&- ||
        eco_fail "ecosim --stdout failed: $(tail -n 3 "$ECO_TEST_TMP/sim.err")"
    validate messages "$asyncapi" "$ECO_TEST_TMP/sim.tsv" --format tsv \
        --require 'eco/v1/in/{device}=10000' || eco_fail "ecosim's readings do not match readings-in"
    eco_pass "a simulated day of ecosim readings validates"
else
    echo "ecosim is not built: its part skipped"
fi
