-- core.hj212_map comes with a newer schema; without it hj212_map.csv is
-- checked but not loaded.
SELECT to_regclass('core.hj212_map') IS NOT NULL
