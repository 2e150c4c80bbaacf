SELECT s.line, format('regulator: unknown department %L', s.regulator)
FROM rg_enterprise s WHERE s.regulator IS NOT NULL
AND NOT EXISTS (SELECT 1 FROM rg_department d WHERE d.code = s.regulator)
AND NOT EXISTS (SELECT 1 FROM core.department d WHERE d.code = s.regulator)
ORDER BY s.ord
