#!/usr/bin/env bash
# GEP runs of the physical models (docs/GEP.md, "Runs of the physical
# models") through `ecoctl gep run` without --account, in the real database:
#   1. derived inputs equal a hand computation: ecosystem areas of known
#      land-use polygons clipped by the region (an older map, a polygon
#      outside and a part outside are left out), the negative-ion mean of
#      the region's noi stations (valid hourly readings of the year only,
#      per ecosystem of the polygon the station stands in), the cooling days
#      of its air stations (Beijing days); each stores the query that
#      produced it, and running that query gives the stored value;
#   2. every line item equals the formula of docs/GEP.md on those inputs and
#      the parameter set, with its sources; the total is the exact sum;
#   3. a required price without a value, or without a source, refuses the
#      run naming it (exit 1) and nothing is stored;
#   4. two runs on the same data give the same items, inputs and totals.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

eco_db_new t_gep_models
ctl=$(eco_bin ecoctl)
py=/usr/bin/python3
[ -x "$py" ] || py=python3

box() { # LON0 LAT0 LON1 LAT1 -> EWKT multipolygon
    echo "SRID=4326;MULTIPOLYGON((($1 $2,$3 $2,$3 $4,$1 $4,$1 $2)))"
}

eco_psql "
INSERT INTO core.param (code, name, unit, valid_min, valid_max) VALUES
  ('noi', 'negative oxygen ions', 'ions/cm3', 0, 200000),
  ('air_temp', 'air temperature', 'degC', -30, 50)
ON CONFLICT (code) DO NOTHING;
INSERT INTO core.region (code, name, kind, geom) VALUES
  ('T-GM', 'GEP model test county', 'county', '$(box 122.0 30.0 122.1 30.1)');
INSERT INTO gep.landuse (year, eco_type, class, geom, source) VALUES
  (2020, 'forest', '0301', '$(box 122.0 30.0 122.05 30.1)', 'test map'),
  (2020, 'forest', '0301', '$(box 122.05 30.0 122.15 30.05)', 'test map'),
  (2020, 'sea', '', '$(box 122.05 30.05 122.1 30.1)', 'test map'),
  (2020, 'farmland', '0101', '$(box 122.2 30.0 122.3 30.1)', 'test map'),
  (2010, 'farmland', '0101', '$(box 122.0 30.0 122.1 30.1)', 'older map');
INSERT INTO core.site (code, name, kind, region, geom) VALUES
  ('noi-gm1', 'forest ion station', 'noi', 'T-GM', 'SRID=4326;POINT(122.02 30.05)'),
  ('noi-gm2', 'sea ion station', 'noi', 'T-GM', 'SRID=4326;POINT(122.07 30.07)'),
  ('noi-gm3', 'ion station outside', 'noi', NULL, 'SRID=4326;POINT(122.25 30.05)'),
  ('air-gm1', 'air station a', 'air', 'T-GM', 'SRID=4326;POINT(122.03 30.03)'),
  ('air-gm2', 'air station b', 'air', 'T-GM', 'SRID=4326;POINT(122.08 30.02)');
SELECT obs.ensure_partitions('2023-12-01', '2024-12-31');
INSERT INTO obs.reading (site_id, param_id, period, ts, value, flag)
SELECT s.id, p.id, v.period::\"char\", v.ts::timestamptz, v.value, v.flag::\"char\"
FROM (VALUES
  ('noi-gm1', 'noi', 'h', '2024-03-01 10:00+08', 1000, 'N'),
  ('noi-gm1', 'noi', 'h', '2024-03-01 11:00+08', 1400, 'N'),
  ('noi-gm1', 'noi', 'h', '2024-03-01 12:00+08', 99999, 'I'),
  ('noi-gm1', 'noi', 'm', '2024-03-01 12:00+08', 50000, 'N'),
  ('noi-gm1', 'noi', 'h', '2023-12-31 23:00+08', 90000, 'N'),
  ('noi-gm2', 'noi', 'h', '2024-05-01 10:00+08', 700, 'N'),
  ('noi-gm2', 'noi', 'h', '2024-05-01 11:00+08', 900, 'N'),
  ('noi-gm3', 'noi', 'h', '2024-05-01 11:00+08', 5000, 'N'),
  ('air-gm1', 'air_temp', 'h', '2024-07-01 14:00+08', 30, 'N'),
  ('air-gm1', 'air_temp', 'h', '2024-07-01 15:00+08', 29, 'N'),
  ('air-gm2', 'air_temp', 'h', '2024-07-01 14:00+08', 28, 'N'),
  ('air-gm1', 'air_temp', 'h', '2024-07-02 14:00+08', 27, 'N'),
  ('air-gm2', 'air_temp', 'h', '2024-07-02 14:00+08', 24, 'N'),
  ('air-gm1', 'air_temp', 'h', '2024-07-03 14:00+08', 26.5, 'N'),
  ('air-gm1', 'air_temp', 'h', '2024-07-04 00:30+08', 35, 'N')
) v (site, param, period, ts, value, flag)
JOIN core.site s ON s.code = v.site JOIN core.param p ON p.code = v.param;
-- the parameter set of the test: the seed and what the models need here
INSERT INTO gep.param (param_set, key, ecosystem, value, unit, year, source, status)
SELECT 't', key, ecosystem, value, unit, year, source, status FROM gep.param WHERE param_set = 'seed';
INSERT INTO gep.param (param_set, key, ecosystem, value, unit, year, source, status) VALUES
  ('t', 'runoff_coef', 'forest', 2.67, '%', NULL, 'test table 1', 'U'),
  ('t', 'epp', 'forest', 1000, 'kJ/m2/d', NULL, 'test table 2', 'U'),
  ('t', 'ion_height', 'forest', 10, 'm', NULL, 'test table 3', 'U'),
  ('t', 'ion_height', 'farmland', 1, 'm', NULL, 'test table 3', 'U'),
  ('t', 'price__kelp', '', 2000, 'yuan/t', 2024, 'test prices', 'U');
INSERT INTO gep.input (region, year, key, ecosystem, value, unit, source) VALUES
  ('T-GM', 2024, 'precip', '', 1400, 'mm', 'test yearbook'),
  ('T-GM', 2024, 'et', 'forest', 700, 'mm', 'test MOD16'),
  ('T-GM', 2024, 'mariculture__kelp', '', 1000, 't', 'test yearbook, fishery table');
" >/dev/null

# ---- 1. derived inputs ----------------------------------------------------
out="$ECO_TEST_TMP/run1.json"
"$ctl" gep run --region T-GM --year 2024 --params t --json >"$out" || eco_fail "models run failed"

eco_psql "SELECT key, ecosystem, value, query FROM gep.input
          WHERE region = 'T-GM' AND year = 2024 AND query IS NOT NULL ORDER BY key, ecosystem" \
    >"$ECO_TEST_TMP/derived.txt"
hand=$(eco_psql "SELECT round(ST_Area('$(box 122.0 30.0 122.05 30.1)'::geography)::numeric
                      + ST_Area('$(box 122.05 30.0 122.1 30.05)'::geography)::numeric, 2),
                        round(ST_Area('$(box 122.05 30.05 122.1 30.1)'::geography)::numeric, 2)")
"$py" - "$ECO_TEST_TMP/derived.txt" "$hand" <<'EOF' || eco_fail "derived inputs differ from the hand computation"
import math, sys
rows = {}
for line in open(sys.argv[1]):
    k, e, v, q = line.rstrip("\n").split("|", 3)
    rows[(k, e)] = (float(v), q)
forest_h, sea_h = (float(x) for x in sys.argv[2].split("|"))
assert set(rows) == {("area", "forest"), ("area", "sea"), ("noi_conc", ""), ("noi_conc", "forest"),
                     ("noi_conc", "sea"), ("ac_days", "")}, sorted(rows)
# areas: the clipped boxes measured alone (0.02 m2: the rounding) ...
assert abs(rows[("area", "forest")][0] - forest_h) <= 0.02, (rows[("area", "forest")], forest_h)
assert abs(rows[("area", "sea")][0] - sea_h) <= 0.02, (rows[("area", "sea")], sea_h)
# ... and on a sphere by hand: R^2 dlon (sin lat1 - sin lat0), within 0.5 %
R = 6371008.8
def sph(lon0, lat0, lon1, lat1):
    return R * R * math.radians(lon1 - lon0) * (math.sin(math.radians(lat1)) - math.sin(math.radians(lat0)))
f = sph(122.0, 30.0, 122.05, 30.1) + sph(122.05, 30.0, 122.1, 30.05)
s = sph(122.05, 30.05, 122.1, 30.1)
assert abs(rows[("area", "forest")][0] / f - 1) < 0.005, (rows[("area", "forest")][0], f)
assert abs(rows[("area", "sea")][0] / s - 1) < 0.005, (rows[("area", "sea")][0], s)
# ions: station means 1200 (forest) and 800 (sea), region mean 1000
assert rows[("noi_conc", "")][0] == 1000, rows[("noi_conc", "")]
assert rows[("noi_conc", "forest")][0] == 1200, rows[("noi_conc", "forest")]
assert rows[("noi_conc", "sea")][0] == 800, rows[("noi_conc", "sea")]
# cooling days (Beijing days): 07-01 mean max 29, 07-02 25.5, 07-03 26.5, 07-04 35 -> 3
assert rows[("ac_days", "")][0] == 3, rows[("ac_days", "")]
for k, (v, q) in rows.items():
    assert q.startswith("SELECT ") and "T-GM" in q, (k, q)
EOF
eco_pass "derived inputs: areas, ion means and cooling days equal the hand computation"

# every stored query gives the stored value again
while IFS='|' read -r key eco val query; do
    got=$(eco_psql "SELECT x.v FROM ($query) x (e, v) WHERE x.e = '$eco'" 2>/dev/null ||
          eco_psql "$query")
    [ "$key" = ac_days ] && got=$(eco_psql "$query")
    eco_assert_eq "$val" "$got" "the stored query of $key/$eco gives its value"
done <"$ECO_TEST_TMP/derived.txt"
eco_pass "each derived input keeps the query that produced it"

# ---- 2. the line items ------------------------------------------------------
run1=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$out")
eco_psql "SELECT json_agg(json_build_object('service', service, 'ecosystem', ecosystem,
            'quantity', quantity, 'price', price, 'value', value_yuan, 'sources', sources)
            ORDER BY line) FROM gep.item WHERE run = $run1" >"$ECO_TEST_TMP/items1.json"
"$py" - "$ECO_TEST_TMP/items1.json" "$ECO_TEST_TMP/derived.txt" "$out" <<'EOF' || eco_fail "line items differ from the formulas"
import json, sys
from decimal import Decimal, ROUND_HALF_UP
items = json.load(open(sys.argv[1]), parse_float=Decimal)
d = {}
for line in open(sys.argv[2]):
    k, e, v, q = line.rstrip("\n").split("|", 3)
    d[(k, e)] = float(v)
doc = json.load(open(sys.argv[3]), parse_float=Decimal)
A = d[("area", "forest")]
days = d[("ac_days", "")]
fen = lambda x: Decimal(repr(x)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
want = {
    ("mariculture", ""): 1000 * 2000.0,
    ("water_conservation", "forest"): A * (1400 - 1400 * 0.0267 - 700) / 1000 * 6.1107,
    ("climate_regulation", "forest"): 1000 * A * days / (3600 * 3.0) * 0.53,
    ("negative_ions", "forest"): 5.256e15 * (A / 1e4) * 10 * (1200 - 600) / 10 * 5.8185e-18,
}
got = {(i["service"], i["ecosystem"]): i for i in items}
assert set(got) == set(want), (sorted(got), sorted(want))
for k, v in want.items():
    assert abs(got[k]["value"] - fen(v)) <= Decimal("0.01"), (k, got[k]["value"], fen(v))
    assert got[k]["sources"], k
# the ion line names the derived concentration's source; mariculture its yearbook and price
assert any(s.startswith("derived: mean of") for s in got[("negative_ions", "forest")]["sources"])
assert "test prices" in got[("mariculture", "")]["sources"]
total = sum(i["value"] for i in items)
assert Decimal(doc["total_yuan"]) == total, (doc["total_yuan"], total)
assert Decimal(doc["categories"]["provisioning"]) == got[("mariculture", "")]["value"]
ind = doc["indicators"]
assert abs(Decimal(str(ind["area_km2"])) - Decimal(str(round((d[("area", "forest")] + d[("area", "sea")]) / 1e6, 3)))) <= Decimal("0.002"), ind
assert Decimal(str(ind["market_yuan"])) == got[("mariculture", "")]["value"], ind
EOF
eco_pass "line items: mariculture, water conservation, cooling, negative ions by the formulas; sums exact"

# ---- 3. refusals ------------------------------------------------------------
runs() { eco_psql "SELECT count(*) FROM gep.run"; }
before=$(runs)
eco_psql "INSERT INTO gep.param (param_set, key, ecosystem, value, unit, year, source, status)
          SELECT 't-gap', key, ecosystem, value, unit, year, source, status FROM gep.param WHERE param_set = 't';
          UPDATE gep.param SET value = NULL WHERE param_set = 't-gap' AND key = 'price_elec';
          INSERT INTO gep.param (param_set, key, ecosystem, value, unit, year, source, status)
          SELECT 't-nosrc', key, ecosystem, value, unit, year, source, status FROM gep.param WHERE param_set = 't';
          UPDATE gep.param SET source = NULL WHERE param_set = 't-nosrc' AND key = 'res_unit_cost';
          INSERT INTO gep.param (param_set, key, ecosystem, value, unit, year, source, status)
          SELECT 't-noprice', key, ecosystem, value, unit, year, source, status FROM gep.param
           WHERE param_set = 't' AND key <> 'price__kelp'" >/dev/null
refuse() { # SET EXPECTED-MESSAGE
    local rc=0
    "$ctl" gep run --region T-GM --year 2024 --params "$1" >/dev/null 2>"$ECO_TEST_TMP/err" || rc=$?
    eco_assert_eq 1 "$rc" "the run with set $1 exits 1"
    grep -q "$2" "$ECO_TEST_TMP/err" || eco_fail "set $1: expected '$2', got: $(cat "$ECO_TEST_TMP/err")"
}
refuse t-gap "price_elec has no value"
refuse t-nosrc "res_unit_cost has no source"
refuse t-noprice "price__kelp has no value"
refuse nosuchset "no parameter set nosuchset"
eco_assert_eq "$before" "$(runs)" "a refused run stores nothing"
eco_pass "a price without value or source, a missing price, an unknown set: refused by name, nothing stored"

# ---- 4. reproducible --------------------------------------------------------
"$ctl" gep run --region T-GM --year 2024 --params t --json >"$ECO_TEST_TMP/run2.json" ||
    eco_fail "second run failed"
run2=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$ECO_TEST_TMP/run2.json")
eco_assert_eq "0" "$(eco_psql "SELECT count(*) FROM (
    (SELECT line, category, service, item, ecosystem, quantity, quantity_unit, method, price,
            price_unit, price_year, value_yuan, sources FROM gep.item WHERE run = $run1
     EXCEPT SELECT line, category, service, item, ecosystem, quantity, quantity_unit, method, price,
            price_unit, price_year, value_yuan, sources FROM gep.item WHERE run = $run2)
    UNION ALL
    (SELECT line, category, service, item, ecosystem, quantity, quantity_unit, method, price,
            price_unit, price_year, value_yuan, sources FROM gep.item WHERE run = $run2
     EXCEPT SELECT line, category, service, item, ecosystem, quantity, quantity_unit, method, price,
            price_unit, price_year, value_yuan, sources FROM gep.item WHERE run = $run1)) x")" \
    "two runs give the same line items"
eco_assert_eq "t|t" "$(eco_psql "SELECT a.inputs = b.inputs, a.total_yuan = b.total_yuan
    FROM gep.run a, gep.run b WHERE a.id = $run1 AND b.id = $run2")" "same inputs and total"
eco_assert_eq "models|t" "$(eco_psql "SELECT method, param_set FROM gep.run WHERE id = $run2")" \
    "the run records its method and parameter set"
eco_pass "two runs are reproducible: same inputs snapshot, items and total"

# a hand-entered input overrides the derivation and is kept
eco_psql "INSERT INTO gep.input (region, year, key, ecosystem, value, unit, source)
          VALUES ('T-GM', 2024, 'ac_days', '', 40, 'd', 'test: climate bureau count')" >/dev/null 2>&1 ||
    eco_psql "UPDATE gep.input SET value = 40, source = 'test: climate bureau count', query = NULL
              WHERE region = 'T-GM' AND year = 2024 AND key = 'ac_days'" >/dev/null
"$ctl" gep run --region T-GM --year 2024 --params t >/dev/null || eco_fail "run with override failed"
eco_assert_eq "40|" "$(eco_psql "SELECT value, coalesce(query, '') FROM gep.input
    WHERE region = 'T-GM' AND year = 2024 AND key = 'ac_days'")" "a hand-entered input is kept"
eco_pass "a hand-entered input overrides the derived one"
