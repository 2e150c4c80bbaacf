-- deploy/sample/gep/daishan.sql: a SYNTHETIC GEP input set for the sample
-- region ZS-DS (岱山县), so the quick start can run a GEP account
-- (docs/GEP.md). NOTHING HERE IS DAISHAN'S DATA: the land-use map is a
-- generated grid, the statistics and the prices filled in beside the
-- specification's seed are made up to be of a plausible size, and every row
-- says so in its source. Replace all of it with the land survey (三调), the
-- yearbook and the official parameter annexes before using a result.
--
-- psql variables (psql -v name=value):
--   year   the accounting year (the inputs' and the map's year)
--   cell   the land-use grid's cell in degrees (0.01: ~5 000 parcels;
--          0.00226: ~100 000, bench/gep.sh)
-- Run as eco_ctl (or an admin): psql -v year=2026 -v cell=0.01 -f daishan.sql
-- Loading it again replaces the sample's rows (and only those).
\set ON_ERROR_STOP 1
\if :{?year}
\else
\echo 'daishan.sql: set -v year=YYYY'
\quit
\endif
\if :{?cell}
\else
\set cell 0.01
\endif

BEGIN;

DELETE FROM gep.landuse WHERE source LIKE 'SYNTHETIC%';
DELETE FROM gep.input WHERE region = 'ZS-DS' AND source LIKE 'SYNTHETIC%';
DELETE FROM gep.param WHERE param_set = 'daishan-sample';

-- The land-use map: a grid over the county (its sea included), one parcel
-- per cell. Land is a handful of round "islands" standing in for Daishan,
-- Qushan, Xiushan and Changtu; on land the ecosystem type is drawn from the
-- cell's hash (forest 45 %, farmland 20 %, urban 14 %, grassland 7 %,
-- wetland 6 %, water 5 %, bare 3 %), with a forest park around the negative
-- oxygen ion station noi-ds01 (122.19, 30.27); at sea, mariculture zones
-- lie in a ring off the islands' south-east, the rest is sea.
WITH r AS (SELECT geom FROM core.region WHERE code = 'ZS-DS'),
islands (lon, lat, rad) AS (VALUES (122.19, 30.27, 0.085), (122.37, 30.44, 0.045),
                                   (122.14, 30.17, 0.025), (122.29, 30.255, 0.022)),
g AS (
    SELECT c.geom, ST_X(ST_Centroid(c.geom)) AS x, ST_Y(ST_Centroid(c.geom)) AS y,
           ('x' || substr(md5(ST_AsText(c.geom)), 1, 8))::bit(32)::bigint % 100 AS h
    FROM r, ST_SquareGrid(:cell, ST_Envelope(r.geom)) c
    WHERE ST_Intersects(c.geom, r.geom)),
t AS (
    SELECT g.*,
           (SELECT min(sqrt((g.x - i.lon) ^ 2 + (g.y - i.lat) ^ 2) / i.rad) FROM islands i) AS d,
           sqrt((g.x - 122.19) ^ 2 + (g.y - 30.27) ^ 2) AS dnoi,
           (SELECT bool_or(g.x > i.lon AND g.y < i.lat) FROM islands i
             WHERE sqrt((g.x - i.lon) ^ 2 + (g.y - i.lat) ^ 2) / i.rad BETWEEN 1 AND 1.6) AS se
    FROM g)
INSERT INTO gep.landuse (year, eco_type, class, geom, source)
SELECT :year,
       CASE WHEN d <= 1 AND dnoi < 0.02 THEN 'forest'
            WHEN d <= 1 THEN CASE WHEN h < 45 THEN 'forest' WHEN h < 65 THEN 'farmland'
                                  WHEN h < 79 THEN 'urban' WHEN h < 86 THEN 'grassland'
                                  WHEN h < 92 THEN 'wetland' WHEN h < 97 THEN 'water'
                                  ELSE 'bare' END
            WHEN coalesce(se, false) AND h < 60 THEN 'mariculture'
            ELSE 'sea' END,
       'synthetic', ST_Multi(geom),
       'SYNTHETIC sample map (deploy/sample/gep/daishan.sql), not a land survey'
FROM t;

-- The parameter set: the specification's seed, plus per-ecosystem
-- coefficients and product prices. The seed rows keep their sources; the
-- added ones are synthetic.
INSERT INTO gep.param (param_set, key, ecosystem, value, unit, year, source, status, note)
SELECT 'daishan-sample', key, ecosystem, value, unit, year, source, status, note
FROM gep.param WHERE param_set = 'seed';
INSERT INTO gep.param (param_set, key, ecosystem, value, unit, year, source, status) VALUES
 ('daishan-sample', 'runoff_coef', 'forest', 2.67, '%', NULL, 'spec §3 R1 evergreen broadleaf (recalled)', 'U'),
 ('daishan-sample', 'runoff_coef', 'grassland', 8.2, '%', NULL, 'spec §3 R1 meadow (recalled)', 'U'),
 ('daishan-sample', 'runoff_coef', 'farmland', 12, '%', NULL, 'SYNTHETIC sample value', 'U'),
 ('daishan-sample', 'runoff_coef', 'wetland', 5, '%', NULL, 'SYNTHETIC sample value', 'U'),
 ('daishan-sample', 'epp', 'forest', 2500, 'kJ/m2/d', NULL, 'SYNTHETIC sample value', 'U'),
 ('daishan-sample', 'epp', 'grassland', 1200, 'kJ/m2/d', NULL, 'SYNTHETIC sample value', 'U'),
 ('daishan-sample', 'ion_height', 'forest', 10, 'm', NULL, 'SYNTHETIC sample value', 'U'),
 ('daishan-sample', 'ion_height', 'grassland', 0.5, 'm', NULL, 'SYNTHETIC sample value', 'U'),
 ('daishan-sample', 'price__hairtail', '', 18000, 'yuan/t', :year, 'SYNTHETIC sample price', 'U'),
 ('daishan-sample', 'price__croaker', '', 24000, 'yuan/t', :year, 'SYNTHETIC sample price', 'U'),
 ('daishan-sample', 'price__distant_squid', '', 9000, 'yuan/t', :year, 'SYNTHETIC sample price', 'U'),
 ('daishan-sample', 'price__shellfish', '', 7000, 'yuan/t', :year, 'SYNTHETIC sample price', 'U'),
 ('daishan-sample', 'price__vegetables', '', 3200, 'yuan/t', :year, 'SYNTHETIC sample price', 'U'),
 ('daishan-sample', 'price__domestic_water', '', 3.1, 'yuan/m3', :year, 'SYNTHETIC sample price', 'U'),
 ('daishan-sample', 'seawall_cost', '', 2.0e7, 'yuan/km', :year, 'SYNTHETIC sample value', 'U'),
 ('daishan-sample', 'seawall_life', '', 50, 'a', NULL, 'SYNTHETIC sample value', 'U');

-- The statistics of the year (a yearbook's and the bureaus' numbers in a
-- real account). Areas, ion concentrations and cooling days are not here:
-- gep.derive_inputs takes them from the map and the stations' readings.
INSERT INTO gep.input (region, year, key, ecosystem, value, unit, source) VALUES
 ('ZS-DS', :year, 'precip', '', 1250, 'mm', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'et', 'forest', 720, 'mm', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'et', 'grassland', 650, 'mm', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'et', 'farmland', 700, 'mm', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'et', 'wetland', 900, 'mm', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'marine_capture__hairtail', '', 62000, 't', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'marine_capture__croaker', '', 21000, 't', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'marine_capture__distant_squid', '', 40000, 't', 'SYNTHETIC sample statistics (distant water: left out)'),
 ('ZS-DS', :year, 'mariculture__shellfish', '', 18000, 't', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'agriculture__vegetables', '', 52000, 't', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'water_supply__domestic_water', '', 1.6e7, 'm3', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'air_load_SO2', '', 1800, 't', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'air_load_NOx', '', 4200, 't', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'air_load_dust', '', 6500, 't', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'water_load_COD', '', 2600, 't', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'water_load_NH3N', '', 240, 't', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'sea_load_COD', '', 9000, 't', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'biomass', 'forest', 95000, 't', 'SYNTHETIC sample statistics (dry matter)'),
 ('ZS-DS', :year, 'biomass', 'grassland', 6000, 't', 'SYNTHETIC sample statistics (dry matter)'),
 ('ZS-DS', :year, 'biomass', 'wetland', 4000, 't', 'SYNTHETIC sample statistics (dry matter)'),
 ('ZS-DS', :year, 'algae_dry', 'kelp', 2500, 't', 'SYNTHETIC sample statistics (dry weight)'),
 ('ZS-DS', :year, 'coast_length', 'sandy_beach', 14, 'km', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'coast_length', 'rocky_shore', 118, 'km', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'visits', '', 5.2e6, 'visit', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'travel_expense', '', 760, 'yuan/visit', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'time_share', '', 0.3, '1', 'SYNTHETIC sample, after spec §4 C1 (30 % of the daily wage)'),
 ('ZS-DS', :year, 'daily_wage', '', 320, 'yuan/d', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'days_per_visit', '', 1.6, 'd', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'population', '', 176000, 'person', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'gdp', '', 7.1e10, 'yuan', 'SYNTHETIC sample statistics'),
 ('ZS-DS', :year, 'price_index', '', 100, '1', 'SYNTHETIC sample statistics');

COMMIT;

SELECT count(*) AS parcels, count(DISTINCT eco_type) AS ecosystem_types
FROM gep.landuse WHERE source LIKE 'SYNTHETIC%';
