CREATE TEMP TABLE rg_region (ord int, line int, bad bool, code text, name text,
kind text, parent text, gjson text, geom geometry) ON COMMIT DROP
