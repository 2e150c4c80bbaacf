#!/usr/bin/env bash
# GEP account files (docs/GEP.md, docs/CONTRACT.md "GEP account files") through
# `ecoctl gep run --account` into the real database:
#   1. every published case of the specification (tests/data/gep/*.csv, with
#      the published figure of each line in an extra column the reader
#      ignores) is reproduced within 0.5 % per line item, and the totals by
#      category and the total are exactly the sums of the stored line items,
#      in ecoctl's JSON, in gep.run and in rpt.gep_summary (read as
#      eco_analyst); the case totals match the published ones;
#   2. units convert: t C at a price per t CO2 (x 44/12), 万 and 亿 quantities;
#   3. a line without a price or without a source, and an unknown region,
#      are refused by name and line number with exit 1, and nothing is stored;
#   4. `ecoctl gep show` prints the stored run (JSON identical to the run's)
#      with each line's source; eco_ctl may run accounts, eco_analyst may not.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

eco_db_new t_gep_account
ctl=$(eco_bin ecoctl)
data="$ECO_SOURCE_DIR/tests/data/gep"
py=/usr/bin/python3
[ -x "$py" ] || py=python3

eco_psql "INSERT INTO core.region (code, name, kind, geom) VALUES
  ('T-GTY', 'Gaotianyan reserve', 'county', 'SRID=4326;MULTIPOLYGON(((116 26,116.1 26,116.1 26.1,116 26)))'),
  ('T-SGB', 'Sanggou Bay', 'sea_area', 'SRID=4326;MULTIPOLYGON(((122.5 37,122.6 37,122.6 37.1,122.5 37)))'),
  ('T-NH', 'Ninghai County', 'county', 'SRID=4326;MULTIPOLYGON(((121.4 29.3,121.5 29.3,121.5 29.4,121.4 29.3)))'),
  ('T-GZ', 'Garzê', 'county', 'SRID=4326;MULTIPOLYGON(((100 31,100.1 31,100.1 31.1,100 31)))')" >/dev/null

runs() { eco_psql "SELECT count(*) FROM gep.run"; }

# check_run FILE.csv OUT.json: per-line tolerance against the file's
# published_yuan column, exact sums, and the run's rows in the database.
check_run() {
    local csv=$1 out=$2
    "$py" - "$csv" "$out" <<'EOF' || eco_fail "$(basename "$csv"): checks failed"
import csv, json, sys
from decimal import Decimal
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
doc = json.load(open(sys.argv[2]), parse_float=Decimal)
items = doc["items"]
assert len(items) == len(rows), (len(items), len(rows))
for r, it in zip(rows, items):
    assert it["service"] == r["service"] and it["category"] == r["category"], (r, it)
    assert it["source"] == r["source"], (it["source"], r["source"])
    pub = r.get("published_yuan") or ""
    if pub:
        pub = Decimal(pub)
        dev = abs(it["value_yuan"] - pub) / pub
        assert dev <= Decimal("0.005"), f"line {it['line']} {r['item']}: {it['value_yuan']} vs published {pub} ({dev:.4%})"
# exact sums: categories, services and total are sums of the line items
cats = {"provisioning": Decimal(0), "regulating": Decimal(0), "cultural": Decimal(0)}
svcs = {}
for it in items:
    v = it["value_yuan"]
    assert v == v.quantize(Decimal("0.01")), v
    cats[it["category"]] += v
    svcs[(it["category"], it["service"])] = svcs.get((it["category"], it["service"]), 0) + v
assert {k: Decimal(v) for k, v in doc["categories"].items()} == cats, (doc["categories"], cats)
assert Decimal(doc["total_yuan"]) == sum(cats.values()), (doc["total_yuan"], sum(cats.values()))
assert {(s["category"], s["service"]): Decimal(s["value_yuan"]) for s in doc["services"]} == svcs
print(doc["run"])
EOF
}

# ---- 1. the published cases ---------------------------------------------
run_case() { # REGION YEAR FILE -> prints the run id, leaves $ECO_TEST_TMP/<file>.json
    local out
    out="$ECO_TEST_TMP/$(basename "$3" .csv).json"
    "$ctl" gep run --region "$1" --year "$2" --account "$3" --json >"$out" ||
        eco_fail "gep run $3 failed"
    check_run "$3" "$out"
}
gty=$(run_case T-GTY 2014 "$data/gaotianyan-2014.csv")
eco_pass "Gaotianyan 2014: 11 line items within 0.5 % of the published values, sums exact"
# published totals: carbon 3592.07, oxygen 8012.92, water 164.37 (10^4 yuan)
eco_assert_eq "ok" "$(eco_psql "SELECT CASE WHEN
      abs(sum(value_yuan) FILTER (WHERE service = 'carbon_sequestration') - 35920700) <= 0.005 * 35920700
  AND abs(sum(value_yuan) FILTER (WHERE service = 'oxygen_release') - 80129200) <= 0.005 * 80129200
  AND abs(sum(value_yuan) - 117693600) <= 0.005 * 117693600 THEN 'ok' END
  FROM gep.item WHERE run = $gty")" "Gaotianyan carbon, oxygen and total within 0.5 % of the published totals"
eco_assert_eq "$(sha256sum <"$data/gaotianyan-2014.csv" | cut -d' ' -f1)|11|$data/gaotianyan-2014.csv" \
    "$(eco_psql "SELECT inputs->>'sha256', inputs->>'lines', inputs->>'account' FROM gep.run WHERE id = $gty")" \
    "the run records which file it read (SHA-256), and its line count"
eco_assert_eq "t_CO2|379.87|t_CO2" "$(eco_psql "SELECT quantity_unit, price, price_unit FROM gep.item
  WHERE run = $gty AND line = 2")" "quantity and price stored with their units"
eco_assert_eq "1786600|m3|1643672.00" "$(eco_psql "SELECT quantity, quantity_unit, value_yuan
  FROM gep.item WHERE run = $gty AND service = 'water_conservation'")" \
    "178.66 万m3 stored as 1 786 600 m3 (x 0.92 yuan/m3)"

sgb=$(run_case T-SGB 2018 "$data/sanggou-kelp-2018.csv")
# 2.8 万 t C (8.45 万 t x 33.1 % = 27 969.5, within 0.5 %) x 44/12 x 380 yuan/t CO2
eco_assert_eq "28000|t_C|380|t_CO2|39013333.33" "$(eco_psql "SELECT quantity, quantity_unit, price,
  price_unit, value_yuan FROM gep.item WHERE run = $sgb")" "kelp carbon: t C valued per t CO2 (44/12)"
eco_assert_eq "t" "$(eco_psql "SELECT CASE WHEN abs(quantity - 27969.5) <= 0.005 * 27969.5
  THEN 't' END FROM gep.item WHERE run = $sgb")" "kelp carbon within 0.5 % of 8.45 万t x 33.1 %"

run_case T-NH 2018 "$data/ninghai-2018.csv" >/dev/null
eco_assert_eq "125903000000.00|67059000000.00|0.5326" "$(eco_psql "SELECT g.value_yuan, r.value_yuan,
  round(r.value_yuan / g.value_yuan, 4) FROM rpt.gep_summary g JOIN rpt.gep_summary r USING (region, year)
  WHERE g.region = 'T-NH' AND g.category = 'total' AND r.category = 'regulating' AND r.service IS NULL")" \
    "Ninghai 2018: GEP 1259.03 亿元, regulating 670.59 亿元 = 53.26 %"

gz=$(run_case T-GZ 2010 "$data/garze-2010-spec.csv")
# by hand: 1137 x 1200 + 2772 x 630 + 941 x 150 = 1 364 400 + 1 746 360 + 141 150
eco_assert_eq "3251910.00|4343675.00|1392521250.00|4236000000.00" "$(eco_psql "SELECT
  sum(value_yuan) FILTER (WHERE service = 'air_purification'),
  sum(value_yuan) FILTER (WHERE service = 'water_purification'),
  sum(value_yuan) FILTER (WHERE service = 'pest_control'),
  sum(value_yuan) FILTER (WHERE service = 'flood_regulation') FROM gep.item WHERE run = $gz")" \
    "Garzê lines from the specification: air, water, pest control (万hm2), marshes (亿m3)"
eco_assert_eq "3586800|visit" "$(eco_psql "SELECT quantity, quantity_unit FROM gep.item
  WHERE run = $gz AND service = 'recreation'")" "a value_yuan line keeps its quantity (358.68 万 visits)"

# rpt.gep_summary as the analyst sees it: per run, the same sums as gep.run
analyst() { psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn analyst)" -c "$1"; }
eco_assert_eq "4" "$(analyst "SELECT count(*) FROM rpt.gep_summary s JOIN gep.run r ON r.id = s.run
  WHERE s.category = 'total' AND s.value_yuan = r.total_yuan")" "rpt.gep_summary total = gep.run.total_yuan, every run"
eco_assert_eq "0" "$(analyst "SELECT count(*) FROM (
  SELECT s.run, s.value_yuan, (SELECT coalesce(sum(x.value_yuan), 0) FROM rpt.gep_summary x
    WHERE x.run = s.run AND x.category IN ('provisioning', 'regulating', 'cultural')
      AND x.service IS NULL) AS cats,
    (SELECT sum(x.value_yuan) FROM rpt.gep_summary x WHERE x.run = s.run AND x.service IS NOT NULL) AS svcs
  FROM rpt.gep_summary s WHERE s.category = 'total') t WHERE value_yuan <> cats OR value_yuan <> svcs")" \
    "rpt.gep_summary: total = sum of categories = sum of services, exactly"

# the latest finished run of a region and year is the one shown
gty2=$(run_case T-GTY 2014 "$data/gaotianyan-2014.csv")
eco_assert_eq "$gty2" "$(analyst "SELECT run FROM rpt.gep_summary WHERE region = 'T-GTY' AND category = 'total'")" \
    "a later run of the same region and year replaces the earlier in rpt.gep_summary"

# ---- 3. refusals ----------------------------------------------------------
before=$(runs)
bad="$ECO_TEST_TMP/bad.csv"
cat >"$bad" <<'EOF'
category,service,item,quantity,unit,price,price_unit,value_yuan,source
regulating,carbon_sequestration,fine,100,t_C,380,t_CO2,,paper
regulating,carbon_sequestration,no price,100,t_C,,,,paper
regulating,oxygen_release,no source,100,t_O2,1000,t_O2,,
EOF
set +e
"$ctl" gep run --region T-GTY --year 2014 --account "$bad" >"$ECO_TEST_TMP/bad.out" 2>"$ECO_TEST_TMP/bad.err"
rc=$?
set -e
eco_assert_eq 1 "$rc" "a file with a line without a price and one without a source: exit 1"
grep -q "bad.csv: line 3: quantity without a price" "$ECO_TEST_TMP/bad.err" ||
    eco_fail "the missing price is not named: $(cat "$ECO_TEST_TMP/bad.err")"
grep -q "bad.csv: line 4: source is missing" "$ECO_TEST_TMP/bad.err" ||
    eco_fail "the missing source is not named: $(cat "$ECO_TEST_TMP/bad.err")"
eco_assert_eq "$before" "$(runs)" "nothing stored for a refused file"
eco_assert_eq "" "$(cat "$ECO_TEST_TMP/bad.out")" "nothing on stdout for a refused file"

set +e
"$ctl" gep run --region T-NOWHERE --year 2014 --account "$data/sanggou-kelp-2018.csv" 2>"$ECO_TEST_TMP/region.err"
rc=$?
set -e
eco_assert_eq 1 "$rc" "an unknown region: exit 1"
grep -q "unknown region T-NOWHERE" "$ECO_TEST_TMP/region.err" || eco_fail "region not named"
eco_assert_eq "$before" "$(runs)" "nothing stored for an unknown region"
set +e
"$ctl" gep run --region T-GTY --year 14x --account "$data/sanggou-kelp-2018.csv" 2>/dev/null
eco_assert_eq 2 "$?" "a bad year: exit 2"
"$ctl" gep run --region T-GTY --year 2014 --account "$ECO_TEST_TMP/none.csv" 2>/dev/null
eco_assert_eq 1 "$?" "a missing file: exit 1"
set -e

# ---- 4. show, roles ---------------------------------------------------------
"$ctl" gep show --run "$sgb" --json >"$ECO_TEST_TMP/show.json"
cmp -s "$ECO_TEST_TMP/show.json" "$ECO_TEST_TMP/sanggou-kelp-2018.json" ||
    eco_fail "gep show --json differs from the run's output"
"$ctl" gep show --region T-SGB --year 2018 >"$ECO_TEST_TMP/show.txt"
grep -q "毛玉泽 et al. 2018" "$ECO_TEST_TMP/show.txt" || eco_fail "show lacks the source"
grep -q "28000 t_C x 380 yuan/t_CO2 = 39013333.33 yuan" "$ECO_TEST_TMP/show.txt" ||
    eco_fail "show lacks the line: $(cat "$ECO_TEST_TMP/show.txt")"
eco_pass "gep show: the stored run with each line's quantity, price, value and source"

ECO_PG_DSN=$(eco_dsn ctl) "$ctl" gep run --region T-SGB --year 2018 \
    --account "$data/sanggou-kelp-2018.csv" >"$ECO_TEST_TMP/ctl.txt" || eco_fail "eco_ctl may not run"
grep -q "total (GEP) *39013333.33 yuan" "$ECO_TEST_TMP/ctl.txt" || eco_fail "text totals: $(cat "$ECO_TEST_TMP/ctl.txt")"
before=$(runs)
set +e
ECO_PG_DSN=$(eco_dsn analyst) "$ctl" gep run --region T-SGB --year 2018 \
    --account "$data/sanggou-kelp-2018.csv" >/dev/null 2>&1
eco_assert_eq 1 "$?" "eco_analyst may not store runs"
set -e
eco_assert_eq "$before" "$(runs)" "nothing stored by the analyst"
eco_pass "gep account files"
