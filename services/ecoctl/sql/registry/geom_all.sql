-- Staged GeoJSON to geometry, all features at once.
UPDATE rg_region SET geom = ST_Multi(ST_Force2D(ST_SetSRID(ST_GeomFromGeoJSON(gjson),
 4326))) WHERE gjson IS NOT NULL
