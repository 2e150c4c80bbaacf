-- Temporary tables are never analyzed by autovacuum; without numbers the
-- planner guesses nested loops over 50 000 rows.
ANALYZE rg_region, rg_department, rg_enterprise, rg_site, rg_device,
rg_param, rg_unit, rg_limit, rg_hj212_map
