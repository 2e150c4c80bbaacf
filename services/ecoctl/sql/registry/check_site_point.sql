SELECT s.line, format('lon/lat: point (%s %s) is outside region %s', s.lon, s.lat,
s.region) FROM rg_site s JOIN rg_rgeom g ON g.code = s.region
WHERE s.lon IS NOT NULL AND s.lat IS NOT NULL
AND NOT ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)) ORDER BY s.ord
