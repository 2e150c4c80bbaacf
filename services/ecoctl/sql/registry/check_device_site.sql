SELECT s.line, format('site: unknown site %L', s.site) FROM rg_device s
WHERE s.site IS NOT NULL
AND NOT EXISTS (SELECT 1 FROM rg_site t WHERE t.code = s.site)
AND NOT EXISTS (SELECT 1 FROM core.site t WHERE t.code = s.site) ORDER BY s.ord
