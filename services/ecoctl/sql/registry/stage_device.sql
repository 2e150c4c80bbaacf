CREATE TEMP TABLE rg_device (ord int, line int, bad bool, code text, site text,
protocol text, password text, hj212_st text, active bool, complaints bool) ON COMMIT DROP
