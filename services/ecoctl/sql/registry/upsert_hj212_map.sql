-- core.hj212_map may come without a unique constraint to infer, so the
-- upsert is spelled as update-then-insert
WITH upd AS (UPDATE core.hj212_map t SET param = s.param FROM rg_hj212_map s
WHERE t.st = s.st AND t.hj212_code = s.hj212_code AND t.param IS DISTINCT FROM s.param
RETURNING 1),
ins AS (INSERT INTO core.hj212_map (st, hj212_code, param)
SELECT st, hj212_code, param FROM rg_hj212_map s WHERE NOT EXISTS
(SELECT 1 FROM core.hj212_map t WHERE t.st = s.st AND t.hj212_code = s.hj212_code)
ORDER BY ord RETURNING 1)
SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM upd)
