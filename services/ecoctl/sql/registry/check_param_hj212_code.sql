SELECT s.line, format('hj212_code: %L is already used by parameter %s in the database',
s.hj212_code, p.code) FROM rg_param s JOIN core.param p
ON p.hj212_code = s.hj212_code AND p.code <> s.code
WHERE NOT EXISTS (SELECT 1 FROM rg_param t WHERE t.code = p.code) ORDER BY s.ord
