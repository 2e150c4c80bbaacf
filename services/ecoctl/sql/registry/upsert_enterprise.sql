WITH u AS (INSERT INTO core.enterprise AS t
(code, name, industry, region, regulator, address, geom)
SELECT code, name, industry, region, regulator, address,
ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM rg_enterprise ORDER BY ord
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, industry = EXCLUDED.industry,
region = EXCLUDED.region, regulator = EXCLUDED.regulator,
address = EXCLUDED.address, geom = EXCLUDED.geom
WHERE (t.name, t.industry, t.region, t.regulator, t.address) IS DISTINCT FROM
(EXCLUDED.name, EXCLUDED.industry, EXCLUDED.region, EXCLUDED.regulator,
EXCLUDED.address) OR NOT ST_OrderingEquals(t.geom, EXCLUDED.geom)
RETURNING (t.xmax = 0) AS ins)
SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM u
