SELECT line, format('geometry of region %s is empty', code) FROM rg_region
WHERE geom IS NOT NULL AND ST_IsEmpty(geom) ORDER BY ord
