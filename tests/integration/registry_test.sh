#!/usr/bin/env bash
# `ecoctl registry load` against a real PostgreSQL/PostGIS:
#   1. deploy/sample loads (exit 0) and the row counts match the files;
#      every site and enterprise lies inside its region; regions are valid;
#   2. a second load changes nothing (same contents, same password hashes);
#   3. device passwords are stored as bcrypt hashes that verify, never in clear;
#   4. a copy with deliberate errors in several files is refused as a whole
#      (exit 1), every error is named as FILE:LINE, and the database is
#      exactly as before (a good new row of the same load is not there);
#   5. --dry-run checks and rolls back; --json gives a summary on stdout;
#   6. a region may name a parent defined later in the same file;
#   7. usage errors exit 2.
# Only grep/sed/awk: jq is not a project dependency.
set -euo pipefail
# shellcheck source=../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

eco_db_new t_registry
ECOCTL=$(eco_bin ecoctl)
SAMPLE=$ECO_SOURCE_DIR/deploy/sample
T=$ECO_TEST_TMP

# Data rows of a sample CSV (the sample has no multi-line quoted fields).
rows() {
    tail -n +2 "$1" | grep -c .
}

# One line with the row count of every registry table.
counts() {
    eco_psql "SELECT concat_ws(' ',
        (SELECT count(*) FROM core.region), (SELECT count(*) FROM core.department),
        (SELECT count(*) FROM core.department_region), (SELECT count(*) FROM core.enterprise),
        (SELECT count(*) FROM core.site), (SELECT count(*) FROM core.device),
        (SELECT count(*) FROM core.param), (SELECT count(*) FROM core.unit_conversion),
        (SELECT count(*) FROM core.limit))"
}

# A digest of the whole registry's contents (ids and hashes included), to
# tell "unchanged" from "same counts".
digest() {
    eco_psql "SELECT md5(string_agg(x, E'\n' ORDER BY x)) FROM (
        SELECT 'r' || r::text AS x FROM core.region r
        UNION ALL SELECT 'd' || d::text FROM core.department d
        UNION ALL SELECT 'dr' || d::text FROM core.department_region d
        UNION ALL SELECT 'e' || e::text FROM core.enterprise e
        UNION ALL SELECT 's' || s::text FROM core.site s
        UNION ALL SELECT 'v' || v::text FROM core.device v
        UNION ALL SELECT 'p' || p::text FROM core.param p
        UNION ALL SELECT 'u' || u::text FROM core.unit_conversion u
        UNION ALL SELECT 'l' || l::text FROM core.limit l) q"
}

# ---------------------------------------------------------------- 1. load
"$ECOCTL" registry load "$SAMPLE" >"$T/load1.out" 2>"$T/load1.err" ||
    { cat "$T/load1.err" >&2; eco_fail "loading deploy/sample failed"; }
grep -q 'committed' "$T/load1.out" || eco_fail "no summary: $(cat "$T/load1.out")"

nregions=$(grep -c '"type": *"Feature"' "$SAMPLE/regions.geojson")
nlinks=$(awk -F, 'NR > 1 { n += split($5, a, ";") } END { print n }' "$SAMPLE/departments.csv")
expect="$nregions $(rows "$SAMPLE/departments.csv") $nlinks $(rows "$SAMPLE/enterprises.csv")"
expect="$expect $(rows "$SAMPLE/sites.csv") $(rows "$SAMPLE/devices.csv") $(rows "$SAMPLE/params.csv")"
expect="$expect $(rows "$SAMPLE/unit_conversions.csv") $(rows "$SAMPLE/limits.csv")"
before=$(counts)
eco_assert_eq "$expect" "$before" "row counts match the sample files"
[ "$(rows "$SAMPLE/sites.csv")" -ge 100 ] || eco_fail "the sample network is too small"

eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM core.site s JOIN core.region r
    ON r.code = s.region WHERE s.geom IS NOT NULL AND NOT ST_Covers(r.geom, s.geom)")" \
    "every site lies inside its region"
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM core.enterprise e JOIN core.region r
    ON r.code = e.region WHERE NOT ST_Covers(r.geom, e.geom)")" \
    "every enterprise lies inside its region"
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM core.site
    WHERE (geom IS NULL) <> (kind = 'mobile') OR (region IS NULL AND kind <> 'mobile')")" \
    "only mobile sites lack a location, every fixed site has a region"
eco_assert_eq "0 0" "$(eco_psql "SELECT concat_ws(' ', count(*) FILTER (WHERE NOT ST_IsValid(geom)),
    count(*) FILTER (WHERE ST_SRID(geom) <> 4326)) FROM core.region")" \
    "region geometries are valid EPSG:4326"
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM core.region WHERE kind IN ('district', 'county')
    AND NOT ST_CoveredBy(geom, (SELECT geom FROM core.region WHERE kind = 'city'))")" \
    "the city covers its districts and counties"
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM core.region a JOIN core.region b
    ON a.code < b.code AND a.kind IN ('district', 'county') AND b.kind IN ('district', 'county')
    WHERE ST_Overlaps(a.geom, b.geom) OR ST_Contains(a.geom, b.geom)")" \
    "districts and counties do not overlap"
eco_assert_eq 6 "$(eco_psql "SELECT count(*) FROM core.site
    WHERE kind = 'air' AND region = 'ZS-DS-YS'")" "six air stations at the petrochemical base"

if [ "$(eco_psql "SELECT to_regclass('core.hj212_map') IS NOT NULL")" = t ]; then
    eco_assert_eq "$(rows "$SAMPLE/hj212_map.csv")" "$(eco_psql 'SELECT count(*) FROM core.hj212_map')" \
        "hj212_map loaded"
else
    grep -q 'hj212_map.csv: table core.hj212_map does not exist' "$T/load1.err" ||
        eco_fail "no warning about the missing core.hj212_map table: $(cat "$T/load1.err")"
    eco_pass "hj212_map.csv checked and skipped with a warning (no core.hj212_map yet)"
fi

# ------------------------------------------------------- 2. idempotence
d1=$(digest)
"$ECOCTL" registry load "$SAMPLE" >"$T/load2.out" 2>"$T/load2.err" ||
    { cat "$T/load2.err" >&2; eco_fail "second load failed"; }
eco_assert_eq "$before" "$(counts)" "second load: same counts"
eco_assert_eq "$d1" "$(digest)" "second load: same contents (hashes included)"
if grep -E '^[a-z_0-9]+\.(csv|geojson) ' "$T/load2.out" | grep -v 'checked, not loaded' |
    grep -vq ' 0 new, 0 changed,'; then
    eco_fail "second load reports changes: $(cat "$T/load2.out")"
fi
eco_pass "second load reports 0 new, 0 changed for every file"

# ----------------------------------------------------------- 3. passwords
read -r mn pw < <(awk -F, 'NR > 1 && $3 == "hj212" { print $1, $4; exit }' "$SAMPLE/devices.csv")
if [ -z "$mn" ] || [ -z "$pw" ]; then
    eco_fail "no hj212 device with a password in the sample"
fi
eco_assert_eq "t f f" "$(eco_psql "SELECT concat_ws(' ', password_hash = crypt('$pw', password_hash),
    password_hash = '$pw', strpos(password_hash, '$pw') > 0) FROM core.device WHERE code = '$mn'")" \
    "device password verifies with crypt() and is not stored in clear"
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM core.device WHERE protocol = 'hj212'
    AND (password_hash IS NULL OR password_hash NOT LIKE '\$2a\$10\$%')")" \
    "every hj212 device has a bcrypt (bf, 10) hash"
if grep -Fq -- ",$pw," "$T/load1.out" "$T/load1.err" "$T/load2.out" "$T/load2.err"; then
    eco_fail "a password appears in ecoctl's output"
fi

# ------------------------------------------------ 4. errors: all or nothing
B=$T/bad
cp -r "$SAMPLE" "$B"
# sites.csv: line 2 bad lon, line 3 unknown region, a duplicate of line 4's
# code at the end, and a good new row that must not be inserted
awk -F, -v OFS=, 'NR == 2 { $7 = "200.5" } NR == 3 { $4 = "ZS-NOWHERE" } { print }' \
    "$SAMPLE/sites.csv" >"$B/sites.csv"
sed -n 4p "$SAMPLE/sites.csv" >>"$B/sites.csv"
dupline=$(wc -l <"$B/sites.csv")
dupcode=$(sed -n 4p "$SAMPLE/sites.csv" | cut -d, -f1)
echo 't-registry-new,新站点,air,ZS-DH,,,122.1010,30.0230' >>"$B/sites.csv"
# regions.geojson: a self-intersecting "bowtie" as the first feature (line 2)
awk 'NR == 2 { print "{\"type\": \"Feature\", \"properties\": {\"code\": \"T-BOWTIE\", \"name\": \"bowtie\", \"kind\": \"town\", \"parent\": \"ZS-DH\"}, \"geometry\": {\"type\": \"Polygon\", \"coordinates\": [[[122.0, 30.0], [122.1, 30.1], [122.1, 30.0], [122.0, 30.1], [122.0, 30.0]]]}}," } { print }' \
    "$SAMPLE/regions.geojson" >"$B/regions.geojson"
# enterprises.csv: the lat column is missing
awk -F, -v OFS=, '{ NF--; print }' "$SAMPLE/enterprises.csv" >"$B/enterprises.csv"
# limits.csv: neither site nor site_kind, and an unknown parameter
echo ',,so2,hour,,,500,GB 3095-2012 Table 1,' >>"$B/limits.csv"
lim1=$(wc -l <"$B/limits.csv")
echo ',air,no_such_param,hour,,,1,GB 3095-2012 Table 1,' >>"$B/limits.csv"
lim2=$(wc -l <"$B/limits.csv")

rc=0
"$ECOCTL" registry load "$B" >"$T/bad.out" 2>"$T/bad.err" || rc=$?
eco_assert_eq 1 "$rc" "a load with errors exits 1"
expect_err() {
    grep -Fq -- "$1" "$T/bad.err" || eco_fail "stderr does not name '$1': $(cat "$T/bad.err")"
    eco_pass "reported: $1"
}
expect_err "$B/sites.csv:2: lon:"
expect_err "$B/sites.csv:3: region: unknown region 'ZS-NOWHERE'"
expect_err "$B/sites.csv:$dupline: duplicate code '$dupcode' (first on line 4)"
expect_err "$B/regions.geojson:2: geometry of region T-BOWTIE is not valid: Self-intersection"
expect_err "$B/enterprises.csv:1: header: missing column lat"
expect_err "$B/limits.csv:$lim1: site and site_kind: one of them is required"
expect_err "$B/limits.csv:$lim2: param: unknown parameter 'no_such_param'"
grep -q 'nothing was loaded' "$T/bad.err" || eco_fail "no final verdict on stderr"
# no follow-on errors: sites referencing the unreadable enterprises.csv are
# not reported as unknown
if grep -q 'unknown enterprise' "$T/bad.err"; then
    eco_fail "follow-on errors from the broken enterprises.csv header: $(cat "$T/bad.err")"
fi
eco_assert_eq "$before" "$(counts)" "refused load: counts unchanged"
eco_assert_eq "$d1" "$(digest)" "refused load: contents unchanged"
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM core.site WHERE code = 't-registry-new'")" \
    "refused load: the good new row of the same load is not there"

# --json: the same verdict on stdout, machine-readable
rc=0
"$ECOCTL" --json registry load "$B" >"$T/bad.json" 2>/dev/null || rc=$?
eco_assert_eq 1 "$rc" "--json: exit 1"
grep -q '^{"ok":false,' "$T/bad.json" || eco_fail "--json: not a failed summary: $(cat "$T/bad.json")"
grep -q '"file":"sites.csv","line":3,"reason":"region: unknown region' "$T/bad.json" ||
    eco_fail "--json: sites.csv:3 missing: $(cat "$T/bad.json")"
[ "$(wc -l <"$T/bad.json")" = 1 ] || eco_fail "--json: stdout is not one JSON document"
eco_pass "--json summary lists the errors"

# --------------------------------------------------------- 5. --dry-run
G=$T/good
mkdir "$G"
head -n 1 "$SAMPLE/sites.csv" >"$G/sites.csv"
echo 't-registry-dry,试运行站点,air,ZS-DH,,,122.1010,30.0230' >>"$G/sites.csv"
sed -n 2p "$SAMPLE/sites.csv" | sed 's/,[^,]*,air,/,renamed by dry run,air,/' >>"$G/sites.csv"
"$ECOCTL" registry load --dry-run "$G" >"$T/dry.out" 2>"$T/dry.err" ||
    { cat "$T/dry.err" >&2; eco_fail "--dry-run of a good directory failed"; }
grep -q 'sites.csv .* 1 new, 1 changed, 0 unchanged' "$T/dry.out" ||
    eco_fail "--dry-run summary: $(cat "$T/dry.out")"
grep -q 'dry run' "$T/dry.out" || eco_fail "--dry-run does not say so: $(cat "$T/dry.out")"
eco_assert_eq "$d1" "$(digest)" "--dry-run leaves the database unchanged"
rc=0
"$ECOCTL" registry load --dry-run "$B" >/dev/null 2>&1 || rc=$?
eco_assert_eq 1 "$rc" "--dry-run of a bad directory exits 1"

# ------------------------------------- 6. parent defined later in the file
P=$T/parent
mkdir "$P"
cat >"$P/regions.geojson" <<'EOF'
{"type": "FeatureCollection", "features": [
{"type": "Feature", "properties": {"code": "T-CHILD", "name": "子区域", "kind": "town", "parent": "T-PARENT"}, "geometry": {"type": "Polygon", "coordinates": [[[122.05, 30.0], [122.08, 30.0], [122.08, 30.03], [122.05, 30.03], [122.05, 30.0]]]}},
{"type": "Feature", "properties": {"code": "T-PARENT", "name": "父区域", "kind": "district", "parent": "ZS"}, "geometry": {"type": "MultiPolygon", "coordinates": [[[[122.0, 29.98], [122.1, 29.98], [122.1, 30.06], [122.0, 30.06], [122.0, 29.98]]]]}}
]}
EOF
"$ECOCTL" registry load "$P" >"$T/parent.out" 2>"$T/parent.err" ||
    { cat "$T/parent.err" >&2; eco_fail "a parent defined later in the file was refused"; }
eco_assert_eq "T-PARENT ST_MultiPolygon" "$(eco_psql "SELECT parent || ' ' || ST_GeometryType(geom)
    FROM core.region WHERE code = 'T-CHILD'")" "parent defined later in the same file; stored as MultiPolygon"

# --------------------------------------------------------------- 7. usage
for args in "registry" "registry load" "registry load a b" "registry load --frob $SAMPLE" \
    "registry frob"; do
    rc=0
    # shellcheck disable=SC2086
    "$ECOCTL" $args >/dev/null 2>&1 || rc=$?
    eco_assert_eq 2 "$rc" "usage error exits 2: ecoctl $args"
done
rc=0
"$ECOCTL" registry load "$T/no-such-dir" >/dev/null 2>"$T/nodir.err" || rc=$?
eco_assert_eq 1 "$rc" "a missing directory exits 1"
