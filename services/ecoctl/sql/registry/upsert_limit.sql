-- the conflict target spells out the expressions of core.limit's
-- unique index limit_key, so PostgreSQL can infer it
WITH u AS (INSERT INTO core.limit AS t
(site, site_kind, param, period, class, lower, upper, standard, note)
SELECT site, site_kind, param, period, class, lower, upper, standard, note
FROM rg_limit ORDER BY ord
ON CONFLICT ((coalesce(site, '')), (coalesce(site_kind, '')), param, period,
(coalesce(class, 0)))
DO UPDATE SET lower = EXCLUDED.lower, upper = EXCLUDED.upper,
standard = EXCLUDED.standard, note = EXCLUDED.note
WHERE (t.lower, t.upper, t.standard, t.note) IS DISTINCT FROM
(EXCLUDED.lower, EXCLUDED.upper, EXCLUDED.standard, EXCLUDED.note)
RETURNING (t.xmax = 0) AS ins)
SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM u
