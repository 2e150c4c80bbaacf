#!/usr/bin/env bash
# eco-gep (docs/GEP.md, docs/CONTRACT.md) against the real broker and
# database:
#   1. the MQTT 5 request eco/v1/rpc/gep/run/{caller} {region, year, params}
#      runs the models, stores the run and answers ok with the run id and
#      the summary (totals by category, indicators), which is also retained
#      on eco/v1/gep/{region}/{year};
#   2. a parameter without a value is refused by name (ok false) and stores
#      nothing; a bad request and an unknown region are refused with a
#      reason;
#   3. the status is retained on eco/v1/sys/gep/{instance} (ecoctl status
#      reads it); SIGTERM exits 0.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

eco_db_new t_gep_service
q() { eco_psql "$1"; }
REGION=T-GS-$ECO_TEST_DB
REGION=${REGION:0:64}

q "INSERT INTO core.region (code, name, kind, geom) VALUES
     ('$REGION', 'GEP service test county', 'county',
      'SRID=4326;MULTIPOLYGON(((122 30,122.1 30,122.1 30.1,122 30.1,122 30)))');
   INSERT INTO gep.landuse (year, eco_type, geom, source) VALUES
     (2020, 'forest', 'SRID=4326;MULTIPOLYGON(((122 30,122.05 30,122.05 30.1,122 30.1,122 30)))', 'test map');
   INSERT INTO gep.param (param_set, key, ecosystem, value, unit, year, source, status)
   SELECT 'svc', key, ecosystem, value, unit, year, source, status FROM gep.param WHERE param_set = 'seed';
   INSERT INTO gep.param (param_set, key, ecosystem, value, unit, year, source, status) VALUES
     ('svc', 'runoff_coef', 'forest', 0.03, '1', NULL, 'test table', 'U'),
     ('svc', 'price__hairtail', '', 20000, 'yuan/t', 2024, 'test prices', 'U');
   INSERT INTO gep.param (param_set, key, ecosystem, value, unit, year, source, status)
   SELECT 'svc-gap', key, ecosystem, value, unit, year, source, status FROM gep.param WHERE param_set = 'svc';
   UPDATE gep.param SET value = NULL WHERE param_set = 'svc-gap' AND key = 'res_unit_cost';
   INSERT INTO gep.input (region, year, key, ecosystem, value, unit, source) VALUES
     ('$REGION', 2024, 'precip', '', 1500, 'mm', 'test yearbook'),
     ('$REGION', 2024, 'et', '', 800, 'mm', 'test yearbook'),
     ('$REGION', 2024, 'marine_capture__hairtail', '', 50, 't', 'test yearbook'),
     ('$REGION', 2024, 'population', '', 200000, 'person', 'test census'),
     ('$REGION', 2024, 'gdp', '', 6e10, 'yuan', 'test yearbook')" >/dev/null

eco_spawn gep1 env ECO_PG_DSN="$(eco_dsn gep)" ECO_MQTT_URL="mqtt://$ECO_MQTT_HOST:$ECO_MQTT_PORT" \
    ECO_MQTT_USER="$ECO_MQTT_GEP_USER" ECO_MQTT_PASSWORD="$ECO_MQTT_GEP_PASSWORD" \
    ECO_GEP_INSTANCE="gep1-$ECO_TEST_DB" ECO_GEP_SHARE_GROUP="g-$ECO_TEST_DB" ECO_GEP_STATUS_S=1 \
    ECO_LOG_LEVEL=debug "$(eco_bin eco-gep)"

rr() {
    timeout 30 mosquitto_rr -h "$ECO_MQTT_HOST" -p "$ECO_MQTT_PORT" -V mqttv5 -u "$ECO_MQTT_ADMIN_USER" \
        -P "$ECO_MQTT_ADMIN_PASSWORD" -t "eco/v1/rpc/gep/$1/$ECO_MQTT_ADMIN_USER" \
        -e "eco/v1/rpc/reply/$ECO_MQTT_ADMIN_USER/gep-$ECO_TEST_DB" -m "$2" -W 25 7>&-
}
# the service is up once its status is retained
status() { eco_mqtt_sub admin -t "eco/v1/sys/gep/gep1-$ECO_TEST_DB" -C 1 -W 2 >/dev/null 2>&1; }
eco_wait_until 30 status || eco_fail "eco-gep published no status"

# ---- 1. a run on request, the retained result -------------------------------------
reply=$(rr run "{\"region\": \"$REGION\", \"year\": 2024, \"params\": \"svc\"}") || eco_fail "no reply to run"
echo "$reply" >"$ECO_TEST_TMP/reply.json"
run=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"], d; print(d["run"])' \
    "$ECO_TEST_TMP/reply.json") || eco_fail "run: $reply"
eco_assert_eq "models|svc|done" "$(q "SELECT method, param_set, status FROM gep.run WHERE id = $run")" \
    "the run is stored as a run of the models"
total=$(q "SELECT sum(value_yuan) FROM gep.item WHERE run = $run")
area=$(q "SELECT value FROM gep.input WHERE region = '$REGION' AND year = 2024 AND key = 'area' AND ecosystem = 'forest'")
python3 - "$ECO_TEST_TMP/reply.json" "$total" "$area" "$REGION" <<'EOF' || eco_fail "the reply's summary is wrong: $reply"
import json, sys
from decimal import Decimal
d = json.load(open(sys.argv[1]), parse_float=Decimal)
total, area, region = Decimal(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
assert d["topic"] == f"eco/v1/gep/{region}/2024", d["topic"]
s = d["summary"]
assert s["region"] == region and s["year"] == 2024 and s["run"] == d["run"], s
assert Decimal(s["total_yuan"]) == total, (s["total_yuan"], total)
cats = s["categories"]
assert Decimal(cats["provisioning"]) == Decimal("1000000.00"), cats         # 50 t x 20000
wc = Decimal(repr(area * (1500 - 1500 * 0.03 - 800) / 1000 * 6.1107)).quantize(Decimal("0.01"))
assert abs(Decimal(cats["regulating"]) - wc) <= Decimal("0.01"), (cats, wc)
assert Decimal(cats["cultural"]) == 0, cats
i = s["indicators"]
assert i["gep_per_person"] == (total / 200000).quantize(Decimal("0.01")), i
assert i["gep_gdp_ratio"] == (total / Decimal(6e10)).quantize(Decimal("0.0001")), i
assert Decimal(i["market_yuan"]) == Decimal("1000000.00"), i
assert i["shares"]["provisioning"] == (Decimal("1000000") / total).quantize(Decimal("0.0001")), i
assert i["area_km2"] > 0 and i["gep_per_km2"] > 0, i
EOF
msg=$(eco_mqtt_sub integrator -t "eco/v1/gep/$REGION/2024" -C 1 -W 10) ||
    eco_fail "no retained eco/v1/gep/$REGION/2024"
eco_assert_eq "$run" "$(echo "$msg" | python3 -c 'import json,sys; print(json.load(sys.stdin)["run"])')" \
    "the retained result is the run's summary"
eco_pass "eco-gep: a run on request, stored, answered and retained on eco/v1/gep/{region}/{year}"

# ---- 2. refusals ---------------------------------------------------------------------
before=$(q "SELECT count(*) FROM gep.run")
reply=$(rr run "{\"region\": \"$REGION\", \"year\": 2024, \"params\": \"svc-gap\"}") || eco_fail "no reply"
echo "$reply" | grep -q '"ok":false' || eco_fail "a gap was not refused: $reply"
echo "$reply" | grep -q 'res_unit_cost has no value' || eco_fail "the refusal does not name the gap: $reply"
eco_assert_eq "$before" "$(q "SELECT count(*) FROM gep.run")" "a refused run stores nothing"
reply=$(rr run '{"region": "NOPE", "year": 2024}') || eco_fail "no reply"
echo "$reply" | grep -q 'unknown region NOPE' || eco_fail "an unknown region was not refused: $reply"
reply=$(rr run '{"region": "a/b", "year": 2024}') || eco_fail "no reply"
echo "$reply" | grep -q '"ok":false' || eco_fail "a bad region code was not refused: $reply"
reply=$(rr run "{\"region\": \"$REGION\", \"year\": 3024}") || eco_fail "no reply"
echo "$reply" | grep -q '"ok":false' || eco_fail "a bad year was not refused: $reply"
reply=$(rr list '{}') || eco_fail "no reply"
echo "$reply" | grep -q 'unknown method' || eco_fail "an unknown method was not refused: $reply"
eco_pass "eco-gep: gaps refused by name, bad requests and unknown regions refused with a reason"

# ---- 3. status, shutdown ----------------------------------------------------------------
msg=$(eco_mqtt_sub admin -t "eco/v1/sys/gep/gep1-$ECO_TEST_DB" -C 1 -W 5) || eco_fail "no status"
sleep 1.5
msg=$(eco_mqtt_sub admin -t "eco/v1/sys/gep/gep1-$ECO_TEST_DB" -C 1 -W 5) || eco_fail "no status"
echo "$msg" | python3 -c 'import json,sys; d=json.load(sys.stdin); c=d["counters"]; assert d["status"] == "online" and c["runs"] >= 1 and c["refused"] >= 4 and c["published"] >= 1, d' ||
    eco_fail "status: $msg"
eco_pass "eco-gep: status retained on eco/v1/sys/gep/{instance}"
eco_kill gep1 || eco_fail "eco-gep did not exit 0 on SIGTERM"
eco_check_logs
eco_pass "eco-gep stops on SIGTERM"
