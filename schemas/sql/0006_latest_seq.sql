-- 0006: obs.latest is brought up to date once a second, apart from the
-- batches that store readings (docs/INGEST.md, "Latest values").
--
-- latest_seq is the spool sequence up to which obs.latest reflects this
-- instance's records; seq (up to which obs.reading holds them) may be ahead.
-- After a crash in between, eco-ingest reads the spool records between the
-- two again for their latest values only. NULL (rows written before this
-- migration) means the same as seq.
ALTER TABLE obs.spool_position ADD COLUMN latest_seq bigint;
COMMENT ON COLUMN obs.spool_position.latest_seq IS
    'obs.latest reflects this instance''s spool records up to here (NULL: up to seq)';
