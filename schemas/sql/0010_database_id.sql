-- 0010: a random identity for this database, so that an eco-ingest spool
-- (which numbers its records for one database's obs.spool_position) is never
-- replayed into another one (docs/INGEST.md, "One spool, one database").
--
-- The row is created by the first eco-ingest that connects, not here: test
-- and staging databases are often copies of a migrated template
-- (CREATE DATABASE ... TEMPLATE), and each copy must get an identity of its
-- own. pg_control_system() would give the cluster's identifier, but it needs
-- superuser and does not tell two databases of one cluster apart.
CREATE TABLE obs.database_id (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE obs.database_id IS
    'one row: this database''s random identity, recorded in every eco-ingest spool that writes here';
GRANT SELECT, INSERT ON obs.database_id TO eco_ingest;
