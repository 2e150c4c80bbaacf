WITH u AS (INSERT INTO core.region AS t (code, name, kind, parent, geom)
SELECT code, name, kind, parent, geom FROM rg_region ORDER BY ord
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,
parent = EXCLUDED.parent, geom = EXCLUDED.geom
WHERE (t.name, t.kind, t.parent) IS DISTINCT FROM
(EXCLUDED.name, EXCLUDED.kind, EXCLUDED.parent)
OR NOT ST_OrderingEquals(t.geom, EXCLUDED.geom)
RETURNING (t.xmax = 0) AS ins)
SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM u
