-- 0029: closed months of obs.reading kept in the order analysts read them.
-- Readings arrive in time order, so a month's partition holds each hour of
-- every site together, and one site's month of hourly values is one row on
-- each of ~740 pages. Once a month is closed (no late data expected), its
-- partition is rewritten in primary-key order (site, parameter, period,
-- time): the same month is then a few pages. eco-report does it, one
-- partition at a time (ECO_REPORT_COMPACT_S); CLUSTER holds the partition
-- exclusively for its seconds, which a late writer or a reader of that
-- month waits out.

CREATE TABLE obs.partition_compacted (
    partition   text PRIMARY KEY,
    compacted_at timestamptz NOT NULL DEFAULT now(),
    rows        bigint NOT NULL,
    seconds     double precision NOT NULL,
    -- the partition's writes (rows inserted, updated, deleted) counted by
    -- PostgreSQL's statistics when it was compacted: more since, and it is
    -- compacted again
    writes      bigint NOT NULL
);
COMMENT ON TABLE obs.partition_compacted IS
    'partitions of obs.reading rewritten in primary-key order by obs.compact_partitions';

CREATE FUNCTION obs.partition_writes(p oid) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT pg_stat_get_tuples_inserted(p) + pg_stat_get_tuples_updated(p) + pg_stat_get_tuples_deleted(p)
$$;

-- Rewrites up to p_max partitions of obs.reading that end before p_before
-- and are not compacted yet (or got rows since: a late backfill), oldest
-- first; returns how many. A partition written since is compacted again.
CREATE FUNCTION obs.compact_partitions(p_before timestamptz, p_max integer DEFAULT 1)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, obs SET jit = off AS $$
DECLARE
    p     record;
    n     integer := 0;
    t0    timestamptz;
    nrows bigint;
BEGIN
    -- one compactor at a time; another caller returns at once
    IF NOT pg_try_advisory_xact_lock(hashtext('obs.compact_partitions')) THEN
        RETURN 0;
    END IF;
    FOR p IN
        SELECT c.oid, c.relname, i.relname AS pkey
        FROM pg_inherits h
        JOIN pg_class c ON c.oid = h.inhrelid
        JOIN pg_index x ON x.indrelid = c.oid AND x.indisprimary
        JOIN pg_class i ON i.oid = x.indexrelid
        LEFT JOIN obs.partition_compacted k ON k.partition = c.relname
        WHERE h.inhparent = 'obs.reading'::regclass
          AND c.relname ~ '^reading_[0-9]{6}$'
          AND (to_date(substr(c.relname, 9), 'YYYYMM')::timestamp AT TIME ZONE 'UTC')
              + interval '1 month' <= p_before
          AND (k.partition IS NULL OR k.writes IS DISTINCT FROM obs.partition_writes(c.oid))
        ORDER BY c.relname
        LIMIT p_max
    LOOP
        t0 := clock_timestamp();
        EXECUTE format('CLUSTER obs.%I USING %I', p.relname, p.pkey);
        EXECUTE format('ANALYZE obs.%I', p.relname);
        EXECUTE format('SELECT count(*) FROM obs.%I', p.relname) INTO nrows;
        INSERT INTO obs.partition_compacted (partition, compacted_at, rows, seconds, writes)
        VALUES (p.relname, clock_timestamp(), nrows, extract(epoch FROM clock_timestamp() - t0),
                obs.partition_writes(p.oid))
        ON CONFLICT (partition) DO UPDATE
            SET compacted_at = EXCLUDED.compacted_at, rows = EXCLUDED.rows, seconds = EXCLUDED.seconds,
                writes = EXCLUDED.writes;
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

COMMENT ON FUNCTION obs.compact_partitions(timestamptz, integer) IS
    'rewrites up to p_max closed partitions of obs.reading (ending before p_before) in primary-key order; returns how many';

REVOKE EXECUTE ON FUNCTION obs.compact_partitions(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION obs.compact_partitions(timestamptz, integer) TO eco_report, eco_ctl;
GRANT SELECT ON obs.partition_compacted TO eco_report, eco_ctl, eco_analyst;
