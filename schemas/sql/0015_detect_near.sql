-- 0015: incident linking by precomputed neighbours (docs/DETECTION.md,
-- "Incidents"; docs/PERFORMANCE.md, "eco-detect").
--
-- alarm.link_incident used to compute the geographic distance from a raised
-- alarm's site to the site of every alarm of the last hour, on every raise:
-- a storm of 100 raises at neighbouring stations cost 10 000 distances and
-- about 1 ms per raise. Which sites link does not depend on the alarms but
-- only on the registry, so it is computed once per site change instead.

-- Pairs of distinct sites whose pollution alarms join one incident: the same
-- enterprise, air or noise stations of one kind within 15 km, water and sea
-- stations within 25 km. Both directions are stored. Kept by triggers on
-- core.site: a site inserted, moved, or changed in kind or enterprise has its
-- pairs computed again; a deleted one loses them by the foreign keys.
CREATE TABLE alarm.near (
    site_id integer NOT NULL REFERENCES core.site (id) ON DELETE CASCADE,
    near_id integer NOT NULL REFERENCES core.site (id) ON DELETE CASCADE,
    PRIMARY KEY (site_id, near_id),
    CHECK (site_id <> near_id)
);
CREATE INDEX near_near_idx ON alarm.near (near_id);

-- The distance test can use an index: a site's neighbours are looked up, not
-- compared with every site.
CREATE INDEX site_geog_idx ON core.site USING gist ((geom::geography));

-- The sites near site `site` (not itself), by the rules above.
CREATE FUNCTION alarm.near_sites(site integer) RETURNS SETOF integer
LANGUAGE sql STABLE AS $$
    SELECT o.id FROM core.site s JOIN core.site o ON o.enterprise = s.enterprise
    WHERE s.id = site AND o.id <> s.id
    UNION
    SELECT o.id FROM core.site s JOIN core.site o
      ON o.kind = s.kind AND ST_DWithin(o.geom::geography, s.geom::geography, 15000)
    WHERE s.id = site AND o.id <> s.id AND s.kind IN ('air', 'noi')
    UNION
    SELECT o.id FROM core.site s JOIN core.site o
      ON o.kind IN ('water', 'sea') AND ST_DWithin(o.geom::geography, s.geom::geography, 25000)
    WHERE s.id = site AND o.id <> s.id AND s.kind IN ('water', 'sea')
$$;

-- Recomputes the pairs of one site (NEW). SECURITY DEFINER: whoever may edit
-- the registry keeps alarm.near right without rights on the alarm schema.
-- The table lock makes refreshes take turns, so that two transactions adding
-- two sites next to each other do not both miss the pair: the one that
-- refreshes second waits for the first to commit and then (READ COMMITTED, a
-- fresh snapshot per statement) sees its site.
CREATE FUNCTION alarm.near_refresh() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    LOCK TABLE alarm.near IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM alarm.near WHERE site_id = NEW.id OR near_id = NEW.id;
    INSERT INTO alarm.near (site_id, near_id)
    SELECT NEW.id, n FROM alarm.near_sites(NEW.id) n
    UNION ALL
    SELECT n, NEW.id FROM alarm.near_sites(NEW.id) n;
    RETURN NULL;
END $$;

CREATE TRIGGER site_near_insert AFTER INSERT ON core.site
    FOR EACH ROW EXECUTE FUNCTION alarm.near_refresh();
CREATE TRIGGER site_near_update AFTER UPDATE OF kind, enterprise, geom ON core.site
    FOR EACH ROW
    WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.enterprise IS DISTINCT FROM NEW.enterprise
          OR (OLD.geom IS NULL) <> (NEW.geom IS NULL)
          OR NOT ST_OrderingEquals(OLD.geom, NEW.geom))
    EXECUTE FUNCTION alarm.near_refresh();

INSERT INTO alarm.near (site_id, near_id)
SELECT s.id, n FROM core.site s, alarm.near_sites(s.id) n;

-- The candidates are read newest first from an index on (last_at,
-- incident), so the search stops at the first alarm that groups with the new
-- one instead of sorting the whole hour (a tie on last_at goes to the newer
-- incident; 0009 took the older).
DROP INDEX alarm.alarm_last_idx;
CREATE INDEX alarm_last_idx ON alarm.alarm (last_at, incident);

-- The incident an alarm raised now would join (0009 explains the rules), or
-- null: that of the most recent alarm of the last hour of data time that
-- groups with it. Whether a site is near is a lookup in alarm.near. A loop
-- rather than one query with LIMIT 1: the planner, not knowing how many
-- alarms an hour holds, would plan every call anew (a quarter of a
-- millisecond) or sort the hour; the loop's cursor plan reads the index in
-- order. The caller holds the lock that makes one writer at a time decide.
CREATE FUNCTION alarm.find_incident(p_site integer, p_rule text, p_opened timestamptz,
                                    p_replay boolean)
RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    grp text := alarm.rule_group(p_rule);
    o record;
BEGIN
    FOR o IN SELECT x.incident, x.site_id, x.rule, x.opened_at FROM alarm.alarm x
             WHERE x.last_at >= p_opened - interval '1 hour' AND x.incident IS NOT NULL
               AND x.replay = p_replay
             ORDER BY x.last_at DESC, x.incident DESC LOOP
        CONTINUE WHEN o.opened_at > p_opened + interval '1 hour'
                   OR alarm.rule_group(o.rule) <> grp;
        IF o.site_id = p_site OR (grp = 'pollution' AND EXISTS (
                SELECT FROM alarm.near n WHERE n.site_id = p_site AND n.near_id = o.site_id)) THEN
            RETURN o.incident;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

-- Kept for callers of 0009's function: links a stored alarm that has no
-- incident yet. alarm.apply no longer calls it.
CREATE OR REPLACE FUNCTION alarm.link_incident(a alarm.alarm) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    inc bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('alarm.link_incident'));
    SELECT alarm.find_incident(a.site_id, a.rule, a.opened_at, a.replay) INTO inc;
    IF inc IS NULL THEN
        INSERT INTO alarm.incident (kind, site_id, opened_at, last_at, replay, alarms)
        VALUES (alarm.rule_group(a.rule), a.site_id, a.opened_at, a.opened_at, a.replay, 1)
        RETURNING id INTO inc;
    ELSE
        UPDATE alarm.incident SET last_at = greatest(last_at, a.opened_at),
            closed_at = NULL, alarms = alarms + 1
        WHERE id = inc;
    END IF;
    UPDATE alarm.alarm SET incident = inc WHERE id = a.id;
    RETURN inc;
END $$;

-- alarm.apply as in 0009 (same input, output and idempotence), cheaper per
-- raise: the incident is decided before the alarm is stored, so an alarm
-- that joins one is written once, with it; and each incident's counters (alarms, last_at,
-- closed_at) are brought up to date once per batch instead of once per
-- transition (a storm of 100 raises joining one incident updated its row 100
-- times, and each clear looked for the incident's open alarms again).
-- Incidents are locked in id order, so two instances' batches cannot
-- deadlock on them.
CREATE OR REPLACE FUNCTION alarm.apply(events jsonb)
RETURNS TABLE (i integer, alarm_id bigint, action text, incident bigint)
LANGUAGE plpgsql AS $$
DECLARE
    e jsonb;
    a alarm.alarm;
    ts timestamptz;
    p smallint;
    rp boolean;
    site integer;
    r text;
    inc bigint;
    locked boolean := false;
    -- per transition that took effect: its incident, data time, and whether
    -- it raised (1) or cleared (2) an alarm
    t_inc bigint[] := '{}';
    t_ts timestamptz[] := '{}';
    t_what smallint[] := '{}';
    sev_rank constant text[] := ARRAY['minor', 'major', 'critical'];
BEGIN
    FOR e IN SELECT * FROM jsonb_array_elements(events) LOOP
        ts := to_timestamp((e->>'ts')::double precision / 1e6);
        p := nullif((e->>'param')::integer, 0);
        rp := coalesce((e->>'replay')::boolean, false);
        site := (e->>'site')::integer;
        r := e->>'rule';
        i := (e->>'i')::integer;
        a := NULL;
        IF e->>'action' = 'raise' THEN
            IF NOT locked THEN
                -- one writer at a time decides, so that two instances do
                -- not open two incidents for one plume
                PERFORM pg_advisory_xact_lock(hashtext('alarm.link_incident'));
                locked := true;
            END IF;
            -- an alarm joining an incident is stored with it at once; one
            -- that opens an incident gets it after it is stored (a raise
            -- already applied, ON CONFLICT, must not open one)
            inc := alarm.find_incident(site, r, ts, rp);
            INSERT INTO alarm.alarm AS x (site_id, param_id, period, rule, severity, opened_at,
                                          last_at, value, limit_value, peak, geom, incident,
                                          replay)
            VALUES (site, p, nullif(e->>'period', '')::"char", r,
                    e->>'sev', ts, ts, (e->>'value')::double precision,
                    (e->>'limit')::double precision, (e->>'peak')::double precision,
                    CASE WHEN e ? 'lat' THEN ST_SetSRID(ST_MakePoint((e->>'lon')::double precision,
                         (e->>'lat')::double precision), 4326) END, inc, rp)
            ON CONFLICT DO NOTHING
            RETURNING * INTO a;
            CONTINUE WHEN a.id IS NULL;
            IF inc IS NULL THEN
                INSERT INTO alarm.incident (kind, site_id, opened_at, last_at, replay, alarms)
                VALUES (alarm.rule_group(r), site, ts, ts, rp, 0)
                RETURNING id INTO inc;
                UPDATE alarm.alarm x SET incident = inc WHERE x.id = a.id;
            END IF;
            INSERT INTO alarm.event (alarm_id, action, ts, severity, value)
            VALUES (a.id, 'raised', ts, a.severity, a.value);
            t_inc := t_inc || inc;
            t_ts := t_ts || ts;
            t_what := t_what || 1::smallint;
            alarm_id := a.id;
            action := 'raised';
            incident := inc;
            RETURN NEXT;
        ELSIF e->>'action' = 'update' THEN
            UPDATE alarm.alarm x SET
                severity = CASE WHEN array_position(sev_rank, e->>'sev') >
                                     array_position(sev_rank, x.severity)
                                THEN e->>'sev' ELSE x.severity END,
                peak = (e->>'peak')::double precision, last_at = ts
            WHERE x.site_id = site AND coalesce(x.param_id, 0) = coalesce(p, 0)
              AND x.rule = r AND x.replay = rp AND x.state <> 'cleared'
              AND x.last_at < ts
            RETURNING * INTO a;
            IF a.id IS NOT NULL THEN
                INSERT INTO alarm.event (alarm_id, action, ts, severity, value)
                VALUES (a.id, 'updated', ts, a.severity, (e->>'value')::double precision);
                t_inc := t_inc || a.incident;
                t_ts := t_ts || ts;
                t_what := t_what || 0::smallint;
                alarm_id := a.id;
                action := 'updated';
                incident := a.incident;
                RETURN NEXT;
            END IF;
        ELSIF e->>'action' = 'clear' THEN
            UPDATE alarm.alarm x SET state = 'cleared', cleared_at = ts,
                last_at = greatest(x.last_at, ts)
            WHERE x.site_id = site AND coalesce(x.param_id, 0) = coalesce(p, 0)
              AND x.rule = r AND x.replay = rp AND x.state <> 'cleared'
              AND x.opened_at <= ts
            RETURNING * INTO a;
            IF a.id IS NOT NULL THEN
                INSERT INTO alarm.event (alarm_id, action, ts, severity, value)
                VALUES (a.id, 'cleared', ts, a.severity, (e->>'value')::double precision);
                t_inc := t_inc || a.incident;
                t_ts := t_ts || ts;
                t_what := t_what || 2::smallint;
                alarm_id := a.id;
                action := 'cleared';
                incident := a.incident;
                RETURN NEXT;
            END IF;
        END IF;
    END LOOP;
    IF cardinality(t_inc) = 0 THEN
        RETURN;
    END IF;
    -- The incidents' counters, as the transitions one by one would have left
    -- them: alarms counts the raises, last_at is the latest data time, and
    -- closed_at is the time of the last clear when no alarm is left open.
    PERFORM FROM alarm.incident x
    WHERE x.id IN (SELECT u FROM unnest(t_inc) u WHERE u IS NOT NULL)
    ORDER BY x.id FOR UPDATE;
    UPDATE alarm.incident x SET
        alarms = x.alarms + t.raised,
        last_at = greatest(x.last_at, t.last),
        closed_at = CASE WHEN EXISTS (SELECT FROM alarm.alarm o
                                      WHERE o.incident = x.id AND o.state <> 'cleared')
                         THEN NULL ELSE coalesce(t.cleared, x.closed_at) END
    FROM (SELECT u.inc,
                 count(*) FILTER (WHERE u.what = 1) AS raised,
                 max(u.ts) AS last,
                 (array_agg(u.ts ORDER BY u.n DESC) FILTER (WHERE u.what = 2))[1] AS cleared
          FROM unnest(t_inc, t_ts, t_what) WITH ORDINALITY AS u (inc, ts, what, n)
          WHERE u.inc IS NOT NULL
          GROUP BY u.inc) t
    WHERE x.id = t.inc;
END $$;

GRANT SELECT ON alarm.near TO eco_detect, eco_dispatch, eco_report, eco_ctl, eco_analyst;
