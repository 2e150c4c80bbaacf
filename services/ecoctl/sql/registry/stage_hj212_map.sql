CREATE TEMP TABLE rg_hj212_map (ord int, line int, bad bool, st text,
hj212_code text, param text) ON COMMIT DROP
