CREATE TEMP TABLE rg_department (ord int, line int, bad bool, code text,
name text, duties text, phone text, regions text) ON COMMIT DROP
