-- the parent graph after this load must be a forest
WITH RECURSIVE m AS (
(SELECT DISTINCT ON (code) code, parent FROM rg_region WHERE code IS NOT NULL)
UNION ALL SELECT code, parent FROM core.region r
WHERE NOT EXISTS (SELECT 1 FROM rg_region s WHERE s.code = r.code)),
w (start, cur) AS (SELECT code, parent FROM m WHERE parent IS NOT NULL
UNION SELECT w.start, m.parent FROM w JOIN m ON m.code = w.cur
WHERE m.parent IS NOT NULL AND w.cur <> w.start)
SELECT s.line, format('parent: region %s would be its own ancestor', s.code)
FROM rg_region s WHERE EXISTS (SELECT 1 FROM w WHERE w.start = s.code AND w.cur = s.code)
ORDER BY s.ord
