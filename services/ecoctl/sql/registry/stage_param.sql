CREATE TEMP TABLE rg_param (ord int, line int, bad bool, code text,
hj212_code text, hj212_2005_code text, name text, unit text,
valid_min float8, valid_max float8) ON COMMIT DROP
