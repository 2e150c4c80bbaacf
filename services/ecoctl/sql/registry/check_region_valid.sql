SELECT line, format('geometry of region %s is not valid: %s', code, ST_IsValidReason(geom))
FROM rg_region WHERE geom IS NOT NULL AND NOT ST_IsValid(geom) ORDER BY ord
