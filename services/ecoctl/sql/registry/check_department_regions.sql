SELECT s.line, format('regions: unknown region %L', x.r) FROM rg_department s
CROSS JOIN LATERAL unnest(string_to_array(s.regions, ';')) AS x(r)
WHERE NOT EXISTS (SELECT 1 FROM rg_region g WHERE g.code = x.r)
AND NOT EXISTS (SELECT 1 FROM core.region g WHERE g.code = x.r) ORDER BY s.ord
