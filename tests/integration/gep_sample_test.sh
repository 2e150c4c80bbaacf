#!/usr/bin/env bash
# The sample network's synthetic Daishan GEP input set (deploy/sample/gep/
# daishan.sql, docs/GEP.md "The sample: Daishan, synthetic"):
#   1. it loads as eco_ctl, labelled synthetic, with land-use parcels of
#      every ecosystem type including sea and mariculture; loading it again
#      replaces it;
#   2. a run of the models on ZS-DS values every service the set provides
#      for (distant-water catch left out), with the negative-ion line taking
#      the forest concentration from noi-ds01's readings and the areas from
#      the map.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

eco_db_new t_gep_sample
ctl=$(eco_bin ecoctl)
S=$ECO_SOURCE_DIR/deploy/sample
YEAR=2025

# the county's polygon and its stations, from the sample network's files
python3 - "$S" >"$ECO_TEST_TMP/registry.sql" <<'EOF'
import csv, json, sys
d = sys.argv[1]
for f in json.load(open(f"{d}/regions.geojson"))["features"]:
    p = f["properties"]
    if p["code"] == "ZS-DS":
        print(f"INSERT INTO core.region (code, name, kind, geom) VALUES ('ZS-DS', 'Daishan', 'county',"
              f" ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON('{json.dumps(f['geometry'])}'), 4326)));")
for r in csv.DictReader(open(f"{d}/sites.csv", encoding="utf-8")):
    if r["region"] == "ZS-DS" and r["kind"] in ("noi", "air"):
        print(f"INSERT INTO core.site (code, name, kind, region, geom) VALUES ('{r['code']}', 'x',"
              f" '{r['kind']}', 'ZS-DS', ST_SetSRID(ST_MakePoint({r['lon']}, {r['lat']}), 4326));")
EOF
eco_psql "$(cat "$ECO_TEST_TMP/registry.sql")
INSERT INTO core.param (code, name, unit, valid_min, valid_max) VALUES
  ('noi', 'negative oxygen ions', 'ions/cm3', 0, 200000), ('air_temp', 'air temperature', 'degC', -30, 50)
ON CONFLICT (code) DO NOTHING;
SELECT obs.ensure_partitions('$YEAR-07-01', '$YEAR-07-31');
INSERT INTO obs.reading (site_id, param_id, period, ts, value)
SELECT s.id, p.id, 'h', '$YEAR-07-10 12:00+08'::timestamptz + make_interval(hours => k),
       CASE WHEN p.code = 'noi' THEN 1500 + 200 * (k % 2) ELSE 31 END
FROM core.site s JOIN core.param p ON (p.code = 'noi') = (s.kind = 'noi')
     AND p.code IN ('noi', 'air_temp'), generate_series(0, 3) k" >/dev/null
[ "$(eco_psql "SELECT count(*) FROM core.site WHERE code = 'noi-ds01'")" = 1 ] ||
    eco_fail "the sample network has no noi station in ZS-DS"

# ---- 1. loading ---------------------------------------------------------------
load() { psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn ctl)" -v year=$YEAR -v cell=0.01 -f "$S/gep/daishan.sql"; }
first=$(load) || eco_fail "daishan.sql does not load as eco_ctl"
second=$(load) || eco_fail "daishan.sql does not load twice"
eco_assert_eq "$first" "$second" "loading again replaces the sample"
eco_assert_eq "bare farmland forest grassland mariculture sea urban water wetland" \
    "$(eco_psql "SELECT string_agg(DISTINCT eco_type, ' ' ORDER BY eco_type) FROM gep.landuse")" \
    "parcels of every ecosystem type, sea and mariculture included"
eco_assert_eq "0|0" "$(eco_psql "SELECT (SELECT count(*) FROM gep.landuse WHERE source NOT LIKE 'SYNTHETIC%'),
    (SELECT count(*) FROM gep.input WHERE source NOT LIKE 'SYNTHETIC%')")" \
    "every parcel and statistic is labelled synthetic"
eco_pass "the synthetic Daishan set loads ($first parcels|types)"

# ---- 2. a run --------------------------------------------------------------------
"$ctl" gep run --region ZS-DS --year $YEAR --params daishan-sample --json >"$ECO_TEST_TMP/run.json" ||
    eco_fail "the sample run failed"
run=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$ECO_TEST_TMP/run.json")
eco_assert_eq "agriculture air_purification carbon_sequestration climate_regulation coastal_protection mariculture mariculture_carbon marine_capture negative_ions oxygen_release recreation sea_purification water_conservation water_purification water_supply" \
    "$(eco_psql "SELECT string_agg(s, ' ' ORDER BY convert_to(s, 'UTF8'))
                 FROM (SELECT DISTINCT service s FROM gep.item WHERE run = $run) x")" "every service the sample provides for"
eco_assert_eq "croaker hairtail" "$(eco_psql "SELECT string_agg(item, ' ' ORDER BY line) FROM gep.item
    WHERE run = $run AND service = 'marine_capture'")" "distant-water catch left out"
eco_assert_eq "1600|t" "$(eco_psql "SELECT value, query LIKE '%gep.noi_mean(''ZS-DS''%' FROM gep.input
    WHERE region = 'ZS-DS' AND year = $YEAR AND key = 'noi_conc' AND ecosystem = 'forest'")" \
    "the forest ion concentration is noi-ds01's mean"
eco_assert_eq "t" "$(eco_psql "SELECT bool_and(array_to_string(sources, ';') LIKE '%derived: mean of 1 noi station%')
    FROM gep.item WHERE run = $run AND service = 'negative_ions'")" "the ion lines cite the readings"
eco_assert_eq "t" "$(eco_psql "SELECT value > 0 FROM gep.input WHERE region = 'ZS-DS' AND year = $YEAR
    AND key = 'ac_days'")" "cooling days from the air stations' readings"
eco_pass "the sample run values every service; ions and cooling days from simulated readings"
