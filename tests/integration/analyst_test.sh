#!/usr/bin/env bash
# What an analyst meets (migration 0011), connected as eco_analyst:
#   1. sessions default to Beijing time (SHOW timezone);
#   2. rpt.site is one GIS layer: every sample site with its code, name, kind,
#      region and point geometry (a mobile site at its last tracked position),
#      its latest reading time, latest values as a JSON object, and its open
#      live alarms.
set -euo pipefail
# shellcheck source=../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

eco_db_new t_analyst
"$(eco_bin ecoctl)" registry load "$ECO_SOURCE_DIR/deploy/sample" >/dev/null
analyst() {
    psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn analyst)" -c "$1"
}

eco_assert_eq "Asia/Shanghai" "$(analyst "SHOW timezone")" "eco_analyst's session time zone"
eco_assert_eq "2024-06-01 08:00:00+08" "$(analyst "SELECT '2024-06-01T00:00:00Z'::timestamptz")" \
    "times shown at +08"
eco_pass "eco_analyst sessions default to Beijing time"

sites=$(($(wc -l <"$ECO_SOURCE_DIR/deploy/sample/sites.csv") - 1))
mobile=$(awk -F, 'NR > 1 && $3 == "mobile"' "$ECO_SOURCE_DIR/deploy/sample/sites.csv" | wc -l)
eco_assert_eq "$sites" "$(analyst "SELECT count(*) FROM rpt.site")" "every sample site in rpt.site"
eco_assert_eq "$((sites - mobile))" "$(analyst "SELECT count(*) FROM rpt.site
    WHERE GeometryType(geom) = 'POINT' AND ST_SRID(geom) = 4326")" "sites with a point geometry"
eco_assert_eq "air-dh01|檀枫空气自动站|air|ZS-DH|POINT(122.1 30.022)||{}|0" \
    "$(analyst "SELECT code, name, kind, region, ST_AsText(geom), latest_at, latest, open_alarms
                FROM rpt.site WHERE code = 'air-dh01'")" "a site before any reading"
eco_assert_eq "geometry(Point,4326)" "$(analyst "SELECT format_type(atttypid, atttypmod)
    FROM pg_attribute WHERE attrelid = 'rpt.site'::regclass AND attname = 'geom'")" \
    "one geometry type for the layer"

# a reading, a vehicle position and alarms (one live open, one cleared, one
# replayed), written as the services would
m=$(awk -F, 'NR > 1 && $3 == "mobile" {print $1; exit}' "$ECO_SOURCE_DIR/deploy/sample/sites.csv")
eco_psql "
INSERT INTO obs.latest (site_id, param_id, period, ts, value, flag)
  SELECT s.id, p.id, 'h', '2024-06-01T08:00:00+08:00', 41.5, 'N'
  FROM core.site s, core.param p WHERE s.code = 'air-dh01' AND p.code = 'pm25';
INSERT INTO obs.track (site_id, ts, geom)
  SELECT id, '2024-06-01T08:00:00+08:00', ST_SetSRID(ST_MakePoint(122.3, 30.1), 4326)
  FROM core.site WHERE code = '$m';
INSERT INTO obs.track (site_id, ts, geom)
  SELECT id, '2024-06-01T09:00:00+08:00', ST_SetSRID(ST_MakePoint(122.4, 30.2), 4326)
  FROM core.site WHERE code = '$m';
INSERT INTO alarm.alarm (site_id, rule, severity, state, opened_at, cleared_at, last_at, replay)
  SELECT id, r.rule, 'major', r.state, '2024-06-01T08:00:00+08:00',
         CASE r.state WHEN 'cleared' THEN '2024-06-01T09:00:00+08:00'::timestamptz END,
         '2024-06-01T08:00:00+08:00', r.replay
  FROM core.site, (VALUES ('offline', 'open', false), ('threshold', 'cleared', false),
                          ('roc', 'open', true)) r (rule, state, replay)
  WHERE code = 'air-dh01';" >/dev/null
unit=$(eco_psql "SELECT unit FROM core.param WHERE code = 'pm25'")
eco_assert_eq "2024-06-01 08:00:00+08|41.5|$unit|N|hour|2024-06-01T08:00:00+08:00|1" \
    "$(analyst "SELECT latest_at, latest->'pm25'->>'v', latest->'pm25'->>'unit',
                       latest->'pm25'->>'flag', latest->'pm25'->>'period',
                       latest->'pm25'->>'ts', open_alarms
                FROM rpt.site WHERE code = 'air-dh01'")" "latest values as JSON and open alarms"
eco_assert_eq "object" "$(analyst "SELECT jsonb_typeof(latest) FROM rpt.site WHERE code = 'air-dh01'")" \
    "latest is a JSON object"
eco_assert_eq "POINT(122.4 30.2)" "$(analyst "SELECT ST_AsText(geom) FROM rpt.site WHERE code = '$m'")" \
    "a mobile site at its last tracked position"
eco_pass "rpt.site: the sample sites with geometry and latest state, readable by eco_analyst"
