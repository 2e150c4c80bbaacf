-- Region geometry as it will be after this load, for point-in-region
-- checks: the staged geometry where the file defines the region (only if
-- valid: an invalid one is reported and would make GEOS throw), else the
-- database's.
CREATE TEMP TABLE rg_rgeom ON COMMIT DROP AS
(SELECT DISTINCT ON (code) code, geom FROM rg_region
WHERE code IS NOT NULL AND geom IS NOT NULL AND ST_IsValid(geom) AND NOT ST_IsEmpty(geom))
UNION ALL
SELECT code, geom FROM core.region r
WHERE NOT EXISTS (SELECT 1 FROM rg_region s WHERE s.code = r.code)
