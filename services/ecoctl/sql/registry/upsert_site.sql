-- `active` left out of the file (or empty) keeps what the database has
WITH u AS (INSERT INTO core.site AS t
(code, name, kind, region, enterprise, target_class, geom, active)
SELECT s.code, s.name, s.kind, s.region, s.enterprise, s.target_class,
CASE WHEN s.lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) END,
coalesce(s.active, d.active, true)
FROM rg_site s LEFT JOIN core.site d ON d.code = s.code ORDER BY s.ord
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,
region = EXCLUDED.region, enterprise = EXCLUDED.enterprise,
target_class = EXCLUDED.target_class, geom = EXCLUDED.geom, active = EXCLUDED.active
WHERE (t.name, t.kind, t.region, t.enterprise, t.target_class, t.active)
IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.region,
EXCLUDED.enterprise, EXCLUDED.target_class, EXCLUDED.active)
OR (t.geom IS NULL) <> (EXCLUDED.geom IS NULL)
OR NOT ST_OrderingEquals(t.geom, EXCLUDED.geom)
RETURNING (t.xmax = 0) AS ins)
SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM u
