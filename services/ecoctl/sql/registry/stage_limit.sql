CREATE TEMP TABLE rg_limit (ord int, line int, bad bool, site text,
site_kind text, param text, period text, class smallint, lower float8,
upper float8, standard text, note text) ON COMMIT DROP
