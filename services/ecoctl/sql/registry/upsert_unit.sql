WITH u AS (INSERT INTO core.unit_conversion AS t (from_unit, to_unit, factor, "offset")
SELECT from_unit, to_unit, factor, coalesce("offset", 0) FROM rg_unit ORDER BY ord
ON CONFLICT (from_unit, to_unit) DO UPDATE SET factor = EXCLUDED.factor,
"offset" = EXCLUDED."offset"
WHERE (t.factor, t."offset") IS DISTINCT FROM (EXCLUDED.factor, EXCLUDED."offset")
RETURNING (t.xmax = 0) AS ins)
SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM u
