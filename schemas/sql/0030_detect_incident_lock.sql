-- 0030: raises that join an incident no longer take turns (docs/DETECTION.md,
-- "Incidents" and "Storing and publishing"; docs/PERFORMANCE.md, "eco-detect").
--
-- alarm.apply (0015) took one exclusive lock at a batch's first raise and held
-- it to commit, so that one writer at a time decides an incident: a storm of
-- raises at neighbouring stations was stored one batch after another, each
-- batch's commit (a WAL flush) included, on however many connections.
--
-- Only opening an incident needs a writer alone: a raise that joins an
-- incident stored and committed before it cannot split a problem in two. So a
-- batch now takes the lock shared, and a raise that finds no incident to join
-- upgrades it to exclusive without waiting (pg_try_advisory_xact_lock: two
-- shared holders both waiting for exclusive would deadlock). If another
-- writer holds it, the pass is rolled back (a subtransaction) and the batch
-- runs again with the lock exclusive from its start, as 0015 did. An
-- exclusive holder waits for every shared holder to commit, and a shared
-- request waits for an exclusive holder, so whoever opens an incident sees
-- every raise stored before it, and every raise after it sees the incident.
--
-- The incidents' counters are locked FOR NO KEY UPDATE (0015: FOR UPDATE),
-- which does not block the foreign-key check (FOR KEY SHARE) of another
-- batch storing an alarm of the same incident.

-- One pass of alarm.apply over a batch (the body of 0015's alarm.apply), with
-- the incident lock shared or, when `exclusive`, exclusive from the first raise.
CREATE FUNCTION alarm.apply__pass(events jsonb, exclusive boolean)
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
    sole boolean := false;       -- the lock held exclusively
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
                -- shared: raises that join an incident run side by side;
                -- exclusive (the second pass): one writer decides alone
                IF exclusive THEN
                    PERFORM pg_advisory_xact_lock(hashtext('alarm.link_incident'));
                    sole := true;
                ELSE
                    PERFORM pg_advisory_xact_lock_shared(hashtext('alarm.link_incident'));
                END IF;
                locked := true;
            END IF;
            -- an alarm joining an incident is stored with it at once; one
            -- that opens an incident gets it after it is stored (a raise
            -- already applied, ON CONFLICT, must not open one)
            inc := alarm.find_incident(site, r, ts, rp);
            IF inc IS NULL AND NOT sole THEN
                -- opening one needs the lock alone: no other writer may be
                -- storing a raise this one cannot see yet. Taken without
                -- waiting (two shared holders waiting for each other would
                -- deadlock); when another holds it, alarm.apply rolls this
                -- pass back and runs the exclusive one
                IF NOT pg_try_advisory_xact_lock(hashtext('alarm.link_incident')) THEN
                    RAISE EXCEPTION 'alarm.apply: incident lock busy'
                        USING ERRCODE = 'lock_not_available';
                END IF;
                sole := true;
                -- the lock is held alone now: whatever was stored before it is
                -- committed and seen by a fresh look
                inc := alarm.find_incident(site, r, ts, rp);
            END IF;
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
    ORDER BY x.id FOR NO KEY UPDATE;
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

-- The result of one pass, kept until the pass is known to stand.
CREATE TYPE alarm.applied AS (i integer, alarm_id bigint, action text, incident bigint);

-- alarm.apply as in 0015 (same input, output and idempotence): the shared
-- pass first, the exclusive one when the shared pass would have to wait to
-- open an incident. The rows are returned only once a pass has completed.
CREATE OR REPLACE FUNCTION alarm.apply(events jsonb)
RETURNS TABLE (i integer, alarm_id bigint, action text, incident bigint)
LANGUAGE plpgsql AS $$
DECLARE
    res alarm.applied[];
BEGIN
    BEGIN
        res := ARRAY(SELECT ROW(p.i, p.alarm_id, p.action, p.incident)::alarm.applied
                     FROM alarm.apply__pass(events, false) p);
    EXCEPTION WHEN lock_not_available THEN
        res := ARRAY(SELECT ROW(p.i, p.alarm_id, p.action, p.incident)::alarm.applied
                     FROM alarm.apply__pass(events, true) p);
    END;
    RETURN QUERY SELECT u.i, u.alarm_id, u.action, u.incident FROM unnest(res) u;
END $$;
