-- 0002: observations. obs.reading is the big table (tens of millions of
-- rows): integer keys, one-byte codes, monthly partitions created on demand.
CREATE TABLE obs.reading (
    site_id  integer NOT NULL,
    param_id smallint NOT NULL,
    -- 'r' rt, 'm' min, 'h' hour, 'd' day (HJ 212 CN 2011, 2051, 2061, 2031)
    period   "char" NOT NULL,
    ts       timestamptz NOT NULL,   -- start of the period
    value    double precision NOT NULL,
    flag     "char" NOT NULL DEFAULT 'N',
    PRIMARY KEY (site_id, param_id, period, ts)
) PARTITION BY RANGE (ts);

-- Creates the monthly partitions covering [lo, hi]. SECURITY DEFINER so the
-- ingest role can call it without owning DDL rights.
CREATE FUNCTION obs.ensure_partitions(lo timestamptz, hi timestamptz) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, obs AS $$
DECLARE
    m date := date_trunc('month', lo AT TIME ZONE 'UTC')::date;
    last date := date_trunc('month', hi AT TIME ZONE 'UTC')::date;
    made integer := 0;
    name text;
BEGIN
    IF last > m + interval '10 years' THEN
        RAISE EXCEPTION 'refusing to create more than 10 years of partitions';
    END IF;
    WHILE m <= last LOOP
        name := format('reading_%s', to_char(m, 'YYYYMM'));
        IF to_regclass('obs.' || name) IS NULL THEN
            PERFORM pg_advisory_xact_lock(hashtext('obs.reading partitions'));
            IF to_regclass('obs.' || name) IS NULL THEN
                EXECUTE format('CREATE TABLE obs.%I PARTITION OF obs.reading FOR VALUES FROM (%L) TO (%L)',
                               name, (m::timestamp AT TIME ZONE 'UTC'),
                               ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
                made := made + 1;
            END IF;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN made;
END $$;

CREATE TABLE obs.latest (
    site_id    integer NOT NULL,
    param_id   smallint NOT NULL,
    period     "char" NOT NULL,
    ts         timestamptz NOT NULL,
    value      double precision NOT NULL,
    flag       "char" NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, param_id)
);

CREATE TABLE obs.track (
    site_id integer NOT NULL,
    ts      timestamptz NOT NULL,
    geom    geometry(Point, 4326) NOT NULL,
    PRIMARY KEY (site_id, ts)
);
CREATE INDEX track_geom_idx ON obs.track USING gist (geom);

CREATE TABLE obs.deadletter (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    service     text NOT NULL,
    source      text NOT NULL,    -- topic, or peer address for TCP input
    reason      text NOT NULL,
    payload     text NOT NULL     -- as received; invalid UTF-8 replaced by U+FFFD
);
CREATE INDEX deadletter_time_idx ON obs.deadletter (received_at);

-- Exactly-once bookkeeping: how far each ingest instance's spool has been
-- committed, updated in the same transaction as the rows it covers.
CREATE TABLE obs.spool_position (
    instance   text PRIMARY KEY,
    seq        bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
