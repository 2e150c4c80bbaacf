-- 0026: left unused (it was reserved for a change that needed no
-- migration). This no-op keeps the number taken: migrations apply in
-- name order, and a 0026 written after 0027-0029 were released would run
-- after them on existing databases but before them on new ones.
DO $$ BEGIN END $$;
