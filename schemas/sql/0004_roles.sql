-- 0004: one login role per service with only the rights it needs, and the
-- read-only analyst. Passwords are set by the deployment (deploy/stack.sh),
-- never in a migration.
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['eco_ingest', 'eco_detect', 'eco_dispatch', 'eco_gep', 'eco_report',
                             'eco_ctl', 'eco_analyst'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', r);
        END IF;
    END LOOP;
END $$;

GRANT USAGE ON SCHEMA core, obs, rpt TO eco_ingest, eco_detect, eco_dispatch, eco_gep, eco_report,
    eco_ctl, eco_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA core TO eco_ingest, eco_detect, eco_dispatch, eco_gep,
    eco_report, eco_ctl, eco_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA obs, rpt TO eco_detect, eco_dispatch, eco_gep, eco_report,
    eco_ctl, eco_analyst;
ALTER DEFAULT PRIVILEGES IN SCHEMA obs GRANT SELECT ON TABLES TO eco_detect, eco_dispatch,
    eco_gep, eco_report, eco_ctl, eco_analyst;
ALTER DEFAULT PRIVILEGES IN SCHEMA rpt GRANT SELECT ON TABLES TO eco_detect, eco_dispatch,
    eco_gep, eco_report, eco_ctl, eco_analyst;
ALTER DEFAULT PRIVILEGES IN SCHEMA core GRANT SELECT ON TABLES TO eco_ingest, eco_detect,
    eco_dispatch, eco_gep, eco_report, eco_ctl, eco_analyst;

-- ingest writes observations and dead letters and keeps its spool position.
GRANT SELECT, INSERT, UPDATE ON obs.reading, obs.latest, obs.track, obs.spool_position
    TO eco_ingest;
GRANT SELECT, INSERT ON obs.deadletter TO eco_ingest, eco_detect, eco_dispatch, eco_gep,
    eco_report;
GRANT USAGE ON SEQUENCE obs.deadletter_id_seq TO eco_ingest, eco_detect, eco_dispatch, eco_gep,
    eco_report;
GRANT EXECUTE ON FUNCTION obs.ensure_partitions(timestamptz, timestamptz) TO eco_ingest;
REVOKE EXECUTE ON FUNCTION obs.ensure_partitions(timestamptz, timestamptz) FROM PUBLIC;
GRANT SELECT ON obs.reading, obs.latest, obs.track TO eco_ingest;
