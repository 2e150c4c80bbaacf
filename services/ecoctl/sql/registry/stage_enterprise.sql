CREATE TEMP TABLE rg_enterprise (ord int, line int, bad bool, code text,
name text, industry text, region text, regulator text, address text,
lon float8, lat float8) ON COMMIT DROP
