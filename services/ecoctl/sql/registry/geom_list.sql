-- The staged features, for converting them one by one when geom_all failed.
SELECT ord, line, coalesce(code, '?') FROM rg_region
WHERE gjson IS NOT NULL ORDER BY ord
