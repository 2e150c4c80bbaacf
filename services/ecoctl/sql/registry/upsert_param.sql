WITH u AS (INSERT INTO core.param AS t
(code, hj212_code, hj212_2005_code, name, unit, valid_min, valid_max)
SELECT code, hj212_code, hj212_2005_code, name, unit, valid_min, valid_max
FROM rg_param ORDER BY ord
ON CONFLICT (code) DO UPDATE SET hj212_code = EXCLUDED.hj212_code,
hj212_2005_code = EXCLUDED.hj212_2005_code, name = EXCLUDED.name,
unit = EXCLUDED.unit, valid_min = EXCLUDED.valid_min, valid_max = EXCLUDED.valid_max
WHERE (t.hj212_code, t.hj212_2005_code, t.name, t.unit, t.valid_min, t.valid_max)
IS DISTINCT FROM (EXCLUDED.hj212_code, EXCLUDED.hj212_2005_code, EXCLUDED.name,
EXCLUDED.unit, EXCLUDED.valid_min, EXCLUDED.valid_max)
RETURNING (t.xmax = 0) AS ins)
SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM u
