-- One staged feature ($1: its ord) to geometry.
UPDATE rg_region SET geom = ST_Multi(ST_Force2D(ST_SetSRID(
ST_GeomFromGeoJSON(gjson), 4326))) WHERE ord = $1::int
