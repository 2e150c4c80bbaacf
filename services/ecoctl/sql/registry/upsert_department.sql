WITH u AS (INSERT INTO core.department AS t (code, name, duties, phone)
SELECT code, name, coalesce(string_to_array(duties, ';'), '{}'), phone
FROM rg_department ORDER BY ord
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, duties = EXCLUDED.duties,
phone = EXCLUDED.phone
WHERE (t.name, t.duties, t.phone) IS DISTINCT FROM
(EXCLUDED.name, EXCLUDED.duties, EXCLUDED.phone)
RETURNING (t.xmax = 0) AS ins)
SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM u
