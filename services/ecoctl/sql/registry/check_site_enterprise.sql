SELECT s.line, format('enterprise: unknown enterprise %L', s.enterprise) FROM rg_site s
WHERE s.enterprise IS NOT NULL
AND NOT EXISTS (SELECT 1 FROM rg_enterprise e WHERE e.code = s.enterprise)
AND NOT EXISTS (SELECT 1 FROM core.enterprise e WHERE e.code = s.enterprise)
ORDER BY s.ord
