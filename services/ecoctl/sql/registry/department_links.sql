-- A department's region list in the file replaces its links.
WITH want AS (SELECT DISTINCT s.code AS department, x.r AS region FROM rg_department s
CROSS JOIN LATERAL unnest(string_to_array(s.regions, ';')) AS x(r)),
del AS (DELETE FROM core.department_region d USING rg_department s
WHERE d.department = s.code AND NOT EXISTS (SELECT 1 FROM want w
WHERE w.department = d.department AND w.region = d.region) RETURNING 1),
ins AS (INSERT INTO core.department_region (department, region)
SELECT department, region FROM want ON CONFLICT DO NOTHING RETURNING 1)
SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM del)
