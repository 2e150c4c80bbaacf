CREATE TEMP TABLE rg_site (ord int, line int, bad bool, code text, name text,
kind text, region text, enterprise text, target_class smallint, lon float8,
lat float8, active bool) ON COMMIT DROP
