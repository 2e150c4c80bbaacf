SELECT s.line, format('param: unknown parameter %L', s.param) FROM rg_hj212_map s
WHERE s.param IS NOT NULL
AND NOT EXISTS (SELECT 1 FROM rg_param p WHERE p.code = s.param)
AND NOT EXISTS (SELECT 1 FROM core.param p WHERE p.code = s.param) ORDER BY s.ord
