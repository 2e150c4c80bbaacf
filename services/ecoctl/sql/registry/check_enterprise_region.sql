SELECT s.line, format('region: unknown region %L', s.region) FROM rg_enterprise s
WHERE s.region IS NOT NULL
AND NOT EXISTS (SELECT 1 FROM rg_region g WHERE g.code = s.region)
AND NOT EXISTS (SELECT 1 FROM core.region g WHERE g.code = s.region) ORDER BY s.ord
