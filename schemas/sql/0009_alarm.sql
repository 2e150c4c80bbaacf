-- 0009: alarms, their history and incidents (eco-detect); rule settings as data.
CREATE SCHEMA IF NOT EXISTS alarm;

-- Rule settings: a default row per (rule, name) with no site kind, site or
-- parameter, overridden by rows for a site kind, a site, a parameter or a
-- combination (the most specific wins: site+param, site, kind+param, kind,
-- param, default). eco-detect reloads them every ECO_DETECT_RELOAD_S.
-- docs/DETECTION.md explains each.
CREATE TABLE alarm.setting (
    id        serial PRIMARY KEY,
    rule      text NOT NULL,
    name      text NOT NULL,
    value     double precision NOT NULL,
    site_kind text CHECK (site_kind IN ('air', 'noi', 'water', 'sea', 'gas_outlet',
                                        'water_outlet', 'mobile')),
    site      text REFERENCES core.site (code) ON DELETE CASCADE,
    param     text REFERENCES core.param (code) ON DELETE CASCADE,
    note      text,
    UNIQUE NULLS NOT DISTINCT (rule, name, site_kind, site, param)
);

INSERT INTO alarm.setting (rule, name, value, site_kind, note) VALUES
 ('limit', 'enabled', 1, NULL, 'exceedance of core.limit'),
 ('limit', 'min_minutes', 30, NULL, 'raise after values over the limit for this long (one value of an hourly or daily series)'),
 ('limit', 'clear_minutes', 30, NULL, 'clear after values back under the limit less the hysteresis for this long'),
 ('limit', 'hysteresis', 0.1, NULL, 'fraction of the limit a value must fall below it to count towards clearing'),
 ('limit', 'coarser', 1, NULL, '1: a period without its own limit is held to the next coarser period''s (10-minute values against the hourly emission limit)'),
 ('limit', 'coarser', 0, 'air', 'GB 3095 limits are averages: only an hourly value against the 1-hour limit, a daily one against the 24-hour limit'),
 ('flatline', 'enabled', 1, NULL, 'a stuck sensor: the same value again and again'),
 ('flatline', 'p_max', 0.00001, NULL, 'raise when a run of repeats is this unlikely given how often the series repeats itself when healthy'),
 ('flatline', 'min_repeats', 2, NULL, 'repeats (after the first value) needed at least'),
 ('flatline', 'min_minutes', 30, NULL, 'and the run lasts at least this long'),
 ('flatline', 'warmup', 24, NULL, 'readings of a series before the rule applies'),
 ('spike', 'enabled', 1, NULL, 'one value far from both neighbours in time'),
 ('spike', 'k', 8, NULL, 'both steps larger than k times the series'' mean absolute step'),
 ('spike', 'warmup', 24, NULL, 'readings of a series before the rule applies'),
 ('range', 'enabled', 1, NULL, 'a value outside core.param valid_min..valid_max (refused by ingest, seen on its dead-letter topic)'),
 ('flag', 'enabled', 1, NULL, 'HJ 212 data flag other than N (F, M, S, D, C, T, B, ...)'),
 ('flag', 'min_count', 1, NULL, 'flagged readings in a row before raising'),
 ('offline', 'enabled', 1, NULL, 'a site silent past its usual interval'),
 ('offline', 'enabled', 0, 'mobile', 'vehicles are off duty at night'),
 ('offline', 'factor', 1.5, NULL, 'slack: (factor - 1) x the site''s usual interval beyond the end of the next expected period'),
 ('offline', 'min_minutes', 10, NULL, 'slack at least this long'),
 ('baseline', 'enabled', 1, NULL, 'deviation from the series'' own seasonal baseline'),
 ('baseline', 'z', 6, NULL, 'raise on one value this many robust deviations from the baseline'),
 ('baseline', 'z_sustained', 4, NULL, 'or on `sustain` values in a row this far on the same side'),
 ('baseline', 'sustain', 3, NULL, 'values in a row for z_sustained'),
 ('baseline', 'warmup', 48, NULL, 'readings of a series before the rule applies'),
 ('baseline', 'shift', 24, NULL, 'values in a row on one side after which the baseline takes the new level'),
 ('neighbour', 'enabled', 1, NULL, 'a station disagreeing with same-kind stations nearby'),
 ('neighbour', 'radius_km', 30, NULL, 'neighbours: the 8 nearest same-kind sites within this distance'),
 ('neighbour', 'min_neighbours', 3, NULL, 'neighbours reporting the same time needed'),
 ('neighbour', 'z', 7, NULL, 'raise when the difference to the neighbours'' median is this many robust deviations from its usual value (or 0.6 z twice in a row)'),
 ('neighbour', 'warmup', 24, NULL, 'compared readings before the rule applies'),
 ('hotspot', 'enabled', 1, NULL, 'a vehicle''s readings well above its route background'),
 ('hotspot', 'k', 4, NULL, 'above the background by k mean absolute deviations ...'),
 ('hotspot', 'ratio', 0.5, NULL, '... and by this fraction of the background, twice in a row'),
 ('hotspot', 'warmup', 20, NULL, 'readings of a vehicle series before the rule applies');

-- One problem, one record: alarms that belong together (a plume seen by
-- several stations, a river event and the station downstream, pollutants of
-- one outlet at once, the faults of one device).
CREATE TABLE alarm.incident (
    id        bigserial PRIMARY KEY,
    kind      text NOT NULL CHECK (kind IN ('pollution', 'device')),
    site_id   integer NOT NULL,          -- the site of its first alarm
    opened_at timestamptz NOT NULL,      -- data time
    last_at   timestamptz NOT NULL,      -- data time of its latest alarm event
    closed_at timestamptz,               -- when its last open alarm cleared
    replay    boolean NOT NULL DEFAULT false,
    alarms    integer NOT NULL DEFAULT 0
);
CREATE INDEX incident_last_idx ON alarm.incident (last_at);

CREATE TABLE alarm.alarm (
    id          bigserial PRIMARY KEY,
    site_id     integer NOT NULL,
    param_id    smallint,                -- null for site-wide rules (offline)
    period      "char",
    rule        text NOT NULL CHECK (rule ~ '^[a-z_]{1,32}$'),
    severity    text NOT NULL CHECK (severity IN ('minor', 'major', 'critical')),
    state       text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acked', 'cleared')),
    opened_at   timestamptz NOT NULL,    -- data time of the reading that raised it
    cleared_at  timestamptz,             -- data time of the reading that cleared it
    last_at     timestamptz NOT NULL,    -- data time of its latest event
    value       double precision,        -- value of the raising reading
    limit_value double precision,
    peak        double precision,
    geom        geometry(Point, 4326),   -- hotspot: where the vehicle saw it
    incident    bigint REFERENCES alarm.incident (id) ON DELETE SET NULL,
    replay      boolean NOT NULL DEFAULT false,
    acked_by    text,
    acked_at    timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (state <> 'cleared' OR cleared_at IS NOT NULL)
);
-- Exactly one open alarm per site, parameter and rule (live and replayed
-- alarms apart), whatever the number of detect instances; and an alarm
-- raised again at the same data time (a restart re-deriving it) is the
-- same alarm.
CREATE UNIQUE INDEX alarm_one_open ON alarm.alarm (site_id, coalesce(param_id, 0), rule, replay)
    WHERE state <> 'cleared';
CREATE UNIQUE INDEX alarm_once ON alarm.alarm (site_id, coalesce(param_id, 0), rule, replay,
                                               opened_at);
CREATE INDEX alarm_opened_idx ON alarm.alarm (opened_at);
CREATE INDEX alarm_incident_idx ON alarm.alarm (incident);
CREATE INDEX alarm_last_idx ON alarm.alarm (last_at);

CREATE TABLE alarm.event (
    id       bigserial PRIMARY KEY,
    alarm_id bigint NOT NULL REFERENCES alarm.alarm (id) ON DELETE CASCADE,
    action   text NOT NULL CHECK (action IN ('raised', 'updated', 'cleared', 'acked')),
    ts       timestamptz NOT NULL,       -- data time (the wall clock for acked)
    at       timestamptz NOT NULL DEFAULT now(),
    severity text,
    value    double precision,
    actor    text NOT NULL DEFAULT current_user
);
CREATE INDEX event_alarm_idx ON alarm.event (alarm_id);

CREATE FUNCTION alarm.rule_group(rule text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN rule IN ('limit', 'baseline', 'neighbour', 'hotspot') THEN 'pollution'
                ELSE 'device' END
$$;

-- The incident a newly raised alarm joins, or a new one. Device faults group
-- per site; pollution alarms with pollution alarms of the last hour at the
-- same site, the same enterprise, or a same-kind station nearby (15 km for
-- air, 25 km for water and sea: a river event reaches the next station
-- downstream within hours).
CREATE FUNCTION alarm.link_incident(a alarm.alarm) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    grp text := alarm.rule_group(a.rule);
    s core.site;
    inc bigint;
BEGIN
    SELECT * INTO s FROM core.site WHERE id = a.site_id;
    -- one writer at a time decides, so that two instances do not open two
    -- incidents for one plume
    PERFORM pg_advisory_xact_lock(hashtext('alarm.link_incident'));
    -- the candidates come from the index on last_at: the alarms of the last
    -- hour of data time, however many there are in all
    SELECT o.incident INTO inc
    FROM alarm.alarm o
    JOIN core.site os ON os.id = o.site_id
    WHERE o.last_at >= a.opened_at - interval '1 hour'
      AND o.opened_at <= a.opened_at + interval '1 hour'
      AND o.replay = a.replay AND o.id <> a.id AND o.incident IS NOT NULL
      AND alarm.rule_group(o.rule) = grp
      AND (o.site_id = a.site_id
           OR (grp = 'pollution' AND (
                (s.enterprise IS NOT NULL AND os.enterprise = s.enterprise)
                OR (os.kind = s.kind AND s.kind IN ('air', 'noi') AND
                    ST_DWithin(os.geom::geography, s.geom::geography, 15000))
                OR (os.kind IN ('water', 'sea') AND s.kind IN ('water', 'sea') AND
                    ST_DWithin(os.geom::geography, s.geom::geography, 25000)))))
    ORDER BY o.last_at DESC, o.incident
    LIMIT 1;
    IF inc IS NULL THEN
        INSERT INTO alarm.incident (kind, site_id, opened_at, last_at, replay, alarms)
        VALUES (grp, a.site_id, a.opened_at, a.opened_at, a.replay, 1)
        RETURNING id INTO inc;
    ELSE
        UPDATE alarm.incident SET last_at = greatest(last_at, a.opened_at),
            closed_at = NULL, alarms = alarms + 1
        WHERE id = inc;
    END IF;
    UPDATE alarm.alarm SET incident = inc WHERE id = a.id;
    RETURN inc;
END $$;

-- Applies a batch of alarm transitions from eco-detect, idempotently: a
-- transition already applied (a restart re-deriving it from stored
-- readings, a second instance) changes nothing and is not returned. Input:
-- a JSON array of {i, site, param, period, rule, action (raise, update,
-- clear), ts, opened (µs since the epoch, data time), value, limit, peak,
-- sev, lat, lon, replay}. Returns the transitions that took effect.
CREATE FUNCTION alarm.apply(events jsonb)
RETURNS TABLE (i integer, alarm_id bigint, action text, incident bigint)
LANGUAGE plpgsql AS $$
DECLARE
    e jsonb;
    a alarm.alarm;
    ts timestamptz;
    p smallint;
    rp boolean;
    sev_rank constant text[] := ARRAY['minor', 'major', 'critical'];
BEGIN
    FOR e IN SELECT * FROM jsonb_array_elements(events) LOOP
        ts := to_timestamp((e->>'ts')::double precision / 1e6);
        p := nullif((e->>'param')::integer, 0);
        rp := coalesce((e->>'replay')::boolean, false);
        i := (e->>'i')::integer;
        a := NULL;
        IF e->>'action' = 'raise' THEN
            INSERT INTO alarm.alarm AS x (site_id, param_id, period, rule, severity, opened_at,
                                          last_at, value, limit_value, peak, geom, replay)
            VALUES ((e->>'site')::integer, p, nullif(e->>'period', '')::"char", e->>'rule',
                    e->>'sev', ts, ts, (e->>'value')::double precision,
                    (e->>'limit')::double precision, (e->>'peak')::double precision,
                    CASE WHEN e ? 'lat' THEN ST_SetSRID(ST_MakePoint((e->>'lon')::double precision,
                         (e->>'lat')::double precision), 4326) END, rp)
            ON CONFLICT DO NOTHING
            RETURNING * INTO a;
            IF a.id IS NOT NULL THEN
                INSERT INTO alarm.event (alarm_id, action, ts, severity, value)
                VALUES (a.id, 'raised', ts, a.severity, a.value);
                alarm_id := a.id;
                action := 'raised';
                incident := alarm.link_incident(a);
                RETURN NEXT;
            END IF;
        ELSIF e->>'action' = 'update' THEN
            UPDATE alarm.alarm x SET
                severity = CASE WHEN array_position(sev_rank, e->>'sev') >
                                     array_position(sev_rank, x.severity)
                                THEN e->>'sev' ELSE x.severity END,
                peak = (e->>'peak')::double precision, last_at = ts
            WHERE x.site_id = (e->>'site')::integer AND coalesce(x.param_id, 0) = coalesce(p, 0)
              AND x.rule = e->>'rule' AND x.replay = rp AND x.state <> 'cleared'
              AND x.last_at < ts
            RETURNING * INTO a;
            IF a.id IS NOT NULL THEN
                INSERT INTO alarm.event (alarm_id, action, ts, severity, value)
                VALUES (a.id, 'updated', ts, a.severity, (e->>'value')::double precision);
                UPDATE alarm.incident SET last_at = greatest(last_at, ts) WHERE id = a.incident;
                alarm_id := a.id;
                action := 'updated';
                incident := a.incident;
                RETURN NEXT;
            END IF;
        ELSIF e->>'action' = 'clear' THEN
            UPDATE alarm.alarm x SET state = 'cleared', cleared_at = ts,
                last_at = greatest(x.last_at, ts)
            WHERE x.site_id = (e->>'site')::integer AND coalesce(x.param_id, 0) = coalesce(p, 0)
              AND x.rule = e->>'rule' AND x.replay = rp AND x.state <> 'cleared'
              AND x.opened_at <= ts
            RETURNING * INTO a;
            IF a.id IS NOT NULL THEN
                INSERT INTO alarm.event (alarm_id, action, ts, severity, value)
                VALUES (a.id, 'cleared', ts, a.severity, (e->>'value')::double precision);
                UPDATE alarm.incident SET last_at = greatest(last_at, ts),
                    closed_at = CASE WHEN EXISTS (SELECT FROM alarm.alarm o
                                                  WHERE o.incident = a.incident
                                                    AND o.state <> 'cleared')
                                     THEN NULL ELSE ts END
                WHERE id = a.incident;
                alarm_id := a.id;
                action := 'cleared';
                incident := a.incident;
                RETURN NEXT;
            END IF;
        END IF;
    END LOOP;
END $$;

CREATE VIEW rpt.alarm AS
SELECT a.id, s.code AS site, p.code AS param, core.period_name(a.period) AS period, a.rule,
       a.severity, a.state, a.opened_at, a.cleared_at, a.incident, a.replay, a.value,
       a.limit_value AS "limit", a.peak, p.unit, a.last_at, a.acked_by, a.acked_at,
       s.kind AS site_kind, coalesce(a.geom, s.geom) AS geom
FROM alarm.alarm a
JOIN core.site s ON s.id = a.site_id
LEFT JOIN core.param p ON p.id = a.param_id;

CREATE VIEW rpt.incident AS
SELECT i.id, i.kind, s.code AS site, i.opened_at, i.last_at, i.closed_at, i.replay, i.alarms,
       (SELECT array_agg(DISTINCT a.rule ORDER BY a.rule) FROM alarm.alarm a
        WHERE a.incident = i.id) AS rules,
       (SELECT array_agg(DISTINCT sa.code ORDER BY sa.code) FROM alarm.alarm a
        JOIN core.site sa ON sa.id = a.site_id WHERE a.incident = i.id) AS sites,
       s.geom
FROM alarm.incident i
JOIN core.site s ON s.id = i.site_id;

GRANT USAGE ON SCHEMA alarm TO eco_detect, eco_dispatch, eco_report, eco_gep, eco_ctl,
    eco_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA alarm TO eco_detect, eco_dispatch, eco_report, eco_ctl,
    eco_analyst;
GRANT SELECT ON rpt.alarm, rpt.incident TO eco_detect, eco_dispatch, eco_gep, eco_report,
    eco_ctl, eco_analyst;
-- detect and ecoctl (replay, ack) write alarms; only ecoctl deletes (replayed
-- alarms) and edits settings.
GRANT INSERT, UPDATE ON alarm.alarm, alarm.incident TO eco_detect, eco_ctl;
GRANT INSERT ON alarm.event TO eco_detect, eco_ctl;
GRANT DELETE ON alarm.alarm, alarm.incident TO eco_ctl;
GRANT INSERT, UPDATE, DELETE ON alarm.setting TO eco_ctl;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA alarm TO eco_detect, eco_ctl;
GRANT SELECT ON obs.reading, obs.track TO eco_detect;
