SELECT s.line, 'password: is required for an hj212 device (none given, none stored)'
FROM rg_device s WHERE s.protocol = 'hj212' AND s.password IS NULL
AND NOT EXISTS (SELECT 1 FROM core.device d
WHERE d.code = s.code AND d.password_hash IS NOT NULL) ORDER BY s.ord
