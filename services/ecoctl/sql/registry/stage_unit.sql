CREATE TEMP TABLE rg_unit (ord int, line int, bad bool, from_unit text,
to_unit text, factor float8, "offset" float8) ON COMMIT DROP
