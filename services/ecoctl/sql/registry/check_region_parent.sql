SELECT s.line, format('parent: unknown region %L (not in this file nor in the database)',
s.parent) FROM rg_region s WHERE s.parent IS NOT NULL
AND NOT EXISTS (SELECT 1 FROM rg_region r WHERE r.code = s.parent)
AND NOT EXISTS (SELECT 1 FROM core.region r WHERE r.code = s.parent) ORDER BY s.ord
