-- 0019: work orders (eco-dispatch, docs/DISPATCH.md).
--
-- The closed loop lives here, in the database both dispatch instances share:
-- routing, the state machine, deadlines and the audit trail are functions,
-- each call one transaction, so a second instance or a restart can neither
-- double nor lose a step. eco-dispatch only carries messages to and from
-- them: alarm events (wo.on_alarm), complaints (wo.on_complaint), requests
-- (wo.rpc), the clock (wo.tick) and the outbox of events to publish.
CREATE SCHEMA IF NOT EXISTS wo;

-- ------------------------------------------------------------ settings ----
CREATE TABLE wo.setting (
    key   text PRIMARY KEY,
    value numeric NOT NULL,
    note  text NOT NULL
);
INSERT INTO wo.setting VALUES
 ('complaint_link_m', 1000, 'a complaint within this distance of an open order of its category ...'),
 ('complaint_link_hours', 24, '... made within this many hours of the order''s opening is attached to it'),
 ('recur_days', 7, 'an alarm at the site of an order closed this many days ago or less reopens it'),
 ('outbox_reclaim_s', 30, 'an event claimed for publishing and not confirmed within this long is published again');

-- Which alarms open (or join) a work order: the first row, by ord, whose
-- rule, site kind, severity and duration match. open = false: no order.
CREATE TABLE wo.alarm_policy (
    id           serial PRIMARY KEY,
    ord          integer NOT NULL,
    rule         text,                              -- null: any rule
    site_kind    text,                              -- null: any kind
    min_severity text NOT NULL DEFAULT 'major' CHECK (min_severity IN ('minor', 'major', 'critical')),
    min_minutes  integer NOT NULL DEFAULT 0 CHECK (min_minutes >= 0), -- open this long (data time)
    priority     smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 4),
    category     text,                              -- null: from the site's kind
    open         boolean NOT NULL DEFAULT true,
    note         text NOT NULL
);
INSERT INTO wo.alarm_policy (ord, rule, site_kind, min_severity, min_minutes, priority, open, note) VALUES
 (10, 'limit', NULL, 'critical', 0, 1, true, 'a limit exceeded by far'),
 (20, 'limit', NULL, 'major', 0, 2, true, 'a limit exceeded'),
 (30, 'hotspot', NULL, 'major', 0, 2, true, 'a mobile pollution hotspot'),
 (40, 'neighbour', NULL, 'major', 60, 3, true, 'a station far from its neighbours for an hour'),
 (50, 'baseline', NULL, 'major', 120, 3, true, 'a series far from its own baseline for two hours'),
 (60, NULL, 'gas_outlet', 'major', 120, 3, true, 'a stack monitor in trouble for two hours (data quality of a source)'),
 (61, NULL, 'water_outlet', 'major', 120, 3, true, 'an outlet monitor in trouble for two hours (data quality of a source)'),
 (1000, NULL, NULL, 'minor', 0, 4, false, 'everything else: no work order');

-- Who receives an order: the first rule, by ord, whose category and site
-- kind match and that finds a department. route_by = 'regulator': the regulator of
-- the site's enterprise (an outlet goes to its enforcement team); 'region':
-- the department answering for the most specific region containing the
-- place whose duties include the category; 'department': a fixed one.
CREATE TABLE wo.route_rule (
    id         serial PRIMARY KEY,
    ord        integer NOT NULL,
    category   text,
    site_kind  text,
    route_by   text NOT NULL CHECK (route_by IN ('regulator', 'region', 'department')),
    department text REFERENCES core.department (code) ON UPDATE CASCADE ON DELETE CASCADE,
    note       text NOT NULL,
    CHECK ((route_by = 'department') = (department IS NOT NULL))
);
INSERT INTO wo.route_rule (ord, category, site_kind, route_by, note) VALUES
 (10, NULL, 'gas_outlet', 'regulator', 'an enterprise''s stack: its regulator'),
 (11, NULL, 'water_outlet', 'regulator', 'an enterprise''s outlet: its regulator'),
 (100, NULL, NULL, 'region', 'the most specific region containing the place, whose department has the duty');

-- How long a department has, from dispatch to reply, and when it is reminded.
CREATE TABLE wo.deadline (
    priority     smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
    category     text NOT NULL DEFAULT '*',         -- '*': any category
    hours        numeric NOT NULL CHECK (hours > 0),
    remind_hours numeric NOT NULL CHECK (remind_hours >= 0),
    PRIMARY KEY (priority, category)
);
INSERT INTO wo.deadline VALUES (1, '*', 4, 1), (2, '*', 24, 4), (3, '*', 72, 12), (4, '*', 168, 24);

-- --------------------------------------------------------------- data ----
CREATE TABLE wo.work_order (
    id           bigserial PRIMARY KEY,
    source       text NOT NULL CHECK (source IN ('alarm', 'complaint', 'manual')),
    category     text NOT NULL CHECK (category ~ '^[a-z_]{1,32}$'),
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    text         text CHECK (length(text) <= 4000),
    priority     smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
    state        text NOT NULL CHECK (state IN ('new', 'dispatched', 'accepted', 'in_progress',
                     'replied', 'verified', 'closed', 'returned', 'cancelled')),
    dept         text REFERENCES core.department (code) ON UPDATE CASCADE,
    site         text REFERENCES core.site (code) ON UPDATE CASCADE,
    geom         geometry(Point, 4326),
    incident     bigint,
    alarm        bigint,                         -- the alarm that opened it
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text NOT NULL,
    dispatched_at timestamptz,
    accepted_at  timestamptz,
    replied_at   timestamptz,                    -- the first reply
    due_at       timestamptz,
    remind_at    timestamptz,                    -- due_at less the reminder lead (trigger)
    reminded_at  timestamptz,
    escalated_at timestamptz,
    overdue      boolean NOT NULL DEFAULT false,
    closed_at    timestamptz,
    reopened     integer NOT NULL DEFAULT 0,
    route_why    text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (state = 'new' OR state = 'cancelled' OR dept IS NOT NULL)
);
CREATE INDEX work_order_open_idx ON wo.work_order (state, due_at)
    WHERE state NOT IN ('closed', 'cancelled');
-- the clock's two questions, each an index range scan however many orders
-- are open (wo.tick runs every half second)
CREATE INDEX work_order_due_idx ON wo.work_order (due_at)
    WHERE NOT overdue AND state IN ('dispatched', 'accepted', 'in_progress');
CREATE INDEX work_order_remind_idx ON wo.work_order (remind_at)
    WHERE reminded_at IS NULL AND state IN ('dispatched', 'accepted', 'in_progress');
CREATE INDEX work_order_dept_idx ON wo.work_order (dept, created_at);
CREATE INDEX work_order_incident_idx ON wo.work_order (incident);
CREATE INDEX work_order_site_idx ON wo.work_order (site, created_at);
CREATE INDEX work_order_geom_idx ON wo.work_order USING gist (geom);

CREATE TABLE wo.order_alarm (
    work_order bigint NOT NULL REFERENCES wo.work_order (id),
    alarm      bigint NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alarm, work_order)
);
CREATE INDEX order_alarm_order_idx ON wo.order_alarm (work_order);

CREATE TABLE wo.complaint (
    id          bigserial PRIMARY KEY,
    ts          timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    category    text NOT NULL CHECK (category IN ('air', 'water', 'sea', 'noise', 'waste', 'other')),
    text        text NOT NULL CHECK (length(text) BETWEEN 1 AND 4000),
    geom        geometry(Point, 4326),
    site        text REFERENCES core.site (code) ON UPDATE CASCADE,
    photo_url   text CHECK (photo_url ~ '^https?://'),
    contact     text CHECK (length(contact) <= 64),  -- personal data: dispatchers only
    source      text NOT NULL,                       -- topic, or rpc:{caller}
    work_order  bigint REFERENCES wo.work_order (id),
    linked      boolean NOT NULL DEFAULT false,      -- joined an order opened before it
    CHECK (geom IS NOT NULL OR site IS NOT NULL)
);
CREATE INDEX complaint_order_idx ON wo.complaint (work_order);

-- Every change, append-only: eco_dispatch may INSERT, never UPDATE or DELETE.
CREATE TABLE wo.event (
    id          bigserial PRIMARY KEY,
    work_order  bigint NOT NULL REFERENCES wo.work_order (id),
    ts          timestamptz NOT NULL DEFAULT clock_timestamp(),
    action      text NOT NULL CHECK (action ~ '^[a-z_]{1,32}$'),
    prev_state  text,
    state       text NOT NULL,
    actor       text NOT NULL,
    note        text CHECK (length(note) <= 4000),
    dept        text,
    due_at      timestamptz,
    attachments text[] NOT NULL DEFAULT '{}'
        CHECK (cardinality(attachments) <= 20)
);
CREATE INDEX event_order_idx ON wo.event (work_order, id);

-- Events still to be published on eco/v1/wo/{dept}/{id}: claimed by one
-- instance (claimed_at), deleted when the broker acknowledged them, claimed
-- again when that never came (outbox_reclaim_s).
CREATE TABLE wo.outbox (
    event_id   bigint PRIMARY KEY REFERENCES wo.event (id),
    claimed_at timestamptz
);

-- ------------------------------------------------------------ helpers ----
CREATE FUNCTION wo.sev_rank(s text) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE s WHEN 'minor' THEN 1 WHEN 'major' THEN 2 WHEN 'critical' THEN 3 ELSE 0 END
$$;

CREATE FUNCTION wo.setting_of(k text) RETURNS numeric LANGUAGE sql STABLE AS $$
    SELECT value FROM wo.setting WHERE key = k
$$;

CREATE FUNCTION wo.kind_category(kind text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE kind WHEN 'water' THEN 'water' WHEN 'water_outlet' THEN 'water'
                     WHEN 'sea' THEN 'sea' ELSE 'air' END
$$;

-- A refusal the caller should read (wrong state, wrong department, ...):
-- SQLSTATE P0001 with the reason; wo.rpc turns it into {ok: false}.
CREATE FUNCTION wo.refuse(msg text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = msg;
END $$;

-- Who a caller is: a person's role and department, or the service itself.
CREATE FUNCTION wo.who(caller text, OUT role text, OUT dept text) LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF caller = 'eco-dispatch' THEN
        role := 'service';
        RETURN;
    END IF;
    SELECT a.role, a.department INTO role, dept FROM core.account a
     WHERE a.username = caller AND a.active;
    IF role IS NULL THEN
        PERFORM wo.refuse(format('%s is not an active person account', caller));
    END IF;
END $$;

-- The department for an order, and why (wo.route_rule).
CREATE FUNCTION wo.route(p_category text, p_site text, p_geom geometry, OUT dept text, OUT why text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s   core.site;
    r   wo.route_rule;
    g   geometry := p_geom;
BEGIN
    IF p_site IS NOT NULL THEN
        SELECT * INTO s FROM core.site WHERE code = p_site;
        g := coalesce(g, s.geom);
    END IF;
    FOR r IN SELECT * FROM wo.route_rule
              WHERE (category IS NULL OR category = p_category)
                AND (site_kind IS NULL OR site_kind = s.kind) ORDER BY ord, id LOOP
        IF r.route_by = 'department' THEN
            dept := r.department;
            why := format('rule %s: %s', r.ord, r.note);
        ELSIF r.route_by = 'regulator' AND s.enterprise IS NOT NULL THEN
            SELECT e.regulator, format('rule %s: %s (enterprise %s)', r.ord, r.note, e.code)
              INTO dept, why FROM core.enterprise e WHERE e.code = s.enterprise;
        ELSIF r.route_by = 'region' AND g IS NOT NULL THEN
            -- most specific first: the smallest region containing the place
            SELECT d.code, format('rule %s: %s (%s %s, duty %s)', r.ord, r.note, g2.kind, g2.code,
                                  p_category)
              INTO dept, why
              FROM core.region g2
              JOIN core.department_region dr ON dr.region = g2.code
              JOIN core.department d ON d.code = dr.department
             WHERE ST_Covers(g2.geom, g) AND p_category = ANY (d.duties)
             ORDER BY ST_Area(g2.geom), cardinality(d.duties), d.code
             LIMIT 1;
        END IF;
        IF dept IS NOT NULL THEN
            RETURN;
        END IF;
    END LOOP;
    why := format('no routing rule found a department for %s here: a dispatcher assigns it',
                  p_category);
END $$;

CREATE FUNCTION wo.due(p_priority smallint, p_category text, p_from timestamptz)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT p_from + make_interval(secs => (hours * 3600)::double precision)
      FROM wo.deadline WHERE priority = p_priority AND category IN (p_category, '*')
     ORDER BY category = '*' LIMIT 1
$$;

-- The reminder time follows the deadline: set whenever due_at changes.
CREATE FUNCTION wo.set_remind_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.due_at IS DISTINCT FROM OLD.due_at
       OR NEW.priority IS DISTINCT FROM OLD.priority THEN
        NEW.remind_at := NEW.due_at - make_interval(secs => coalesce((
            SELECT remind_hours * 3600 FROM wo.deadline d
             WHERE d.priority = NEW.priority AND d.category IN (NEW.category, '*')
             ORDER BY d.category = '*' LIMIT 1), 0)::double precision);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER work_order_remind_at BEFORE INSERT OR UPDATE ON wo.work_order
    FOR EACH ROW EXECUTE FUNCTION wo.set_remind_at();

-- Appends one event (and its outbox row) for the order as it is now.
CREATE FUNCTION wo.log(o wo.work_order, p_action text, p_prev text, p_actor text, p_note text,
                       p_attachments text[] DEFAULT '{}') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    eid bigint;
BEGIN
    INSERT INTO wo.event (work_order, action, prev_state, state, actor, note, dept, due_at,
                          attachments)
    VALUES (o.id, p_action, p_prev, o.state, p_actor, p_note, o.dept, o.due_at,
            coalesce(p_attachments, '{}'))
    RETURNING id INTO eid;
    INSERT INTO wo.outbox (event_id) VALUES (eid);
    RETURN eid;
END $$;

-- Opens an order, routed (dispatched at once when a department is found).
CREATE FUNCTION wo.open(p_source text, p_category text, p_title text, p_text text,
                        p_priority smallint, p_site text, p_geom geometry, p_actor text,
                        p_dept text DEFAULT NULL, p_incident bigint DEFAULT NULL,
                        p_alarm bigint DEFAULT NULL, p_due timestamptz DEFAULT NULL)
RETURNS wo.work_order LANGUAGE plpgsql AS $$
DECLARE
    o      wo.work_order;
    v_dept text;
    v_why  text;
BEGIN
    IF p_dept IS NOT NULL THEN
        IF NOT EXISTS (SELECT 1 FROM core.department WHERE code = p_dept) THEN
            PERFORM wo.refuse(format('unknown department %s', p_dept));
        END IF;
        v_dept := p_dept;
        v_why := format('chosen by %s', p_actor);
    ELSE
        SELECT r.dept, r.why INTO v_dept, v_why FROM wo.route(p_category, p_site, p_geom) r;
    END IF;
    INSERT INTO wo.work_order (source, category, title, text, priority, state, dept, site, geom,
                               incident, alarm, created_by, route_why)
    VALUES (p_source, p_category, p_title, p_text, p_priority, 'new', v_dept, p_site,
            coalesce(p_geom, (SELECT geom FROM core.site WHERE code = p_site)), p_incident, p_alarm,
            p_actor, v_why)
    RETURNING * INTO o;
    PERFORM wo.log(o, 'create', NULL, p_actor, o.route_why);
    IF o.dept IS NOT NULL THEN
        UPDATE wo.work_order SET state = 'dispatched', dispatched_at = now(),
               due_at = coalesce(p_due, wo.due(priority, category, now())), updated_at = now()
         WHERE id = o.id RETURNING * INTO o;
        PERFORM wo.log(o, 'dispatch', 'new', p_actor, o.route_why);
    END IF;
    IF p_alarm IS NOT NULL THEN
        INSERT INTO wo.order_alarm (work_order, alarm) VALUES (o.id, p_alarm) ON CONFLICT DO NOTHING;
    END IF;
    RETURN o;
END $$;

-- --------------------------------------------------------- transitions ----
-- The state machine (docs/DISPATCH.md, "States"). Dispatcher actions need
-- role dispatcher or admin; department actions the order's department (a
-- dispatcher may act for a department too). The service acts as
-- 'eco-dispatch' for automatic steps.
CREATE FUNCTION wo.act(p_id bigint, p_action text, p_actor text, p_note text DEFAULT NULL,
                       p_dept text DEFAULT NULL, p_attachments text[] DEFAULT '{}')
RETURNS wo.work_order LANGUAGE plpgsql AS $$
DECLARE
    o     wo.work_order;
    w     record;
    prev  text;
    disp  boolean;
    own   boolean;
    note  text := nullif(btrim(p_note), '');
BEGIN
    w := wo.who(p_actor);
    SELECT * INTO o FROM wo.work_order WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM wo.refuse(format('no work order %s', p_id));
    END IF;
    disp := w.role IN ('dispatcher', 'admin', 'service');
    own := disp OR (w.role = 'department' AND o.dept = w.dept);
    IF NOT own THEN
        -- a department does not learn whether another department's order exists
        PERFORM wo.refuse(CASE WHEN w.role = 'department' THEN format('no work order %s', p_id)
                               ELSE format('%s may not act on work orders (role %s)', p_actor, w.role) END);
    END IF;
    prev := o.state;
    IF p_attachments IS NOT NULL AND EXISTS (SELECT 1 FROM unnest(p_attachments) u
                                              WHERE u !~ '^https?://[^[:space:]]+$' OR length(u) > 500) THEN
        PERFORM wo.refuse('attachments are http(s) URLs');
    END IF;

    CASE p_action
    WHEN 'assign' THEN
        IF NOT disp THEN PERFORM wo.refuse('only a dispatcher assigns or re-routes an order'); END IF;
        IF p_dept IS NULL OR NOT EXISTS (SELECT 1 FROM core.department WHERE code = p_dept) THEN
            PERFORM wo.refuse(format('unknown department %s', coalesce(p_dept, '(none)')));
        END IF;
        IF o.state NOT IN ('new', 'dispatched', 'returned', 'accepted', 'in_progress') THEN
            PERFORM wo.refuse(format('order %s is %s: it cannot be assigned', p_id, o.state));
        END IF;
        UPDATE wo.work_order SET state = 'dispatched', dept = p_dept, dispatched_at = now(),
               accepted_at = NULL,
               due_at = CASE WHEN o.state = 'new' OR o.due_at IS NULL
                             THEN wo.due(priority, category, now()) ELSE due_at END,
               route_why = format('assigned by %s%s', p_actor, coalesce(': ' || note, '')),
               updated_at = now()
         WHERE id = p_id RETURNING * INTO o;
    WHEN 'accept' THEN
        IF o.state <> 'dispatched' THEN
            PERFORM wo.refuse(format('order %s is %s: only a dispatched order is accepted', p_id, o.state));
        END IF;
        UPDATE wo.work_order SET state = 'accepted', accepted_at = now(), updated_at = now()
         WHERE id = p_id RETURNING * INTO o;
    WHEN 'start' THEN
        IF o.state <> 'accepted' THEN
            PERFORM wo.refuse(format('order %s is %s: accept it before starting', p_id, o.state));
        END IF;
        UPDATE wo.work_order SET state = 'in_progress', updated_at = now()
         WHERE id = p_id RETURNING * INTO o;
    WHEN 'reply' THEN
        IF note IS NULL THEN
            PERFORM wo.refuse('a reply needs a note: the findings and the measures taken');
        END IF;
        IF o.state NOT IN ('accepted', 'in_progress') THEN
            PERFORM wo.refuse(format('order %s is %s: accept it before replying', p_id, o.state));
        END IF;
        UPDATE wo.work_order SET state = 'replied', replied_at = coalesce(replied_at, now()),
               updated_at = now()
         WHERE id = p_id RETURNING * INTO o;
    WHEN 'verify' THEN
        IF NOT disp THEN PERFORM wo.refuse('only a dispatcher verifies a reply'); END IF;
        IF o.state <> 'replied' THEN
            PERFORM wo.refuse(format('order %s is %s: only a replied order is verified', p_id, o.state));
        END IF;
        UPDATE wo.work_order SET state = 'verified', updated_at = now()
         WHERE id = p_id RETURNING * INTO o;
    WHEN 'close' THEN
        IF NOT disp THEN PERFORM wo.refuse('only a dispatcher closes an order'); END IF;
        IF o.state <> 'verified' THEN
            PERFORM wo.refuse(format('order %s is %s: verify the reply before closing', p_id, o.state));
        END IF;
        UPDATE wo.work_order SET state = 'closed', closed_at = now(), updated_at = now()
         WHERE id = p_id RETURNING * INTO o;
    WHEN 'reject' THEN
        IF note IS NULL THEN
            PERFORM wo.refuse('a rejection needs a note saying why');
        END IF;
        IF o.state = 'replied' AND disp THEN
            -- the reply is not good enough: back to the department
            UPDATE wo.work_order SET state = 'in_progress', updated_at = now()
             WHERE id = p_id RETURNING * INTO o;
        ELSIF o.state IN ('dispatched', 'accepted') THEN
            -- the department returns it: not theirs, or not actionable
            UPDATE wo.work_order SET state = 'returned', updated_at = now()
             WHERE id = p_id RETURNING * INTO o;
        ELSE
            PERFORM wo.refuse(format('order %s is %s: nothing to reject', p_id, o.state));
        END IF;
    WHEN 'reopen' THEN
        IF NOT disp THEN PERFORM wo.refuse('only a dispatcher reopens an order'); END IF;
        IF note IS NULL THEN PERFORM wo.refuse('reopening needs a note saying why'); END IF;
        IF o.state NOT IN ('verified', 'closed') THEN
            PERFORM wo.refuse(format('order %s is %s: only a verified or closed order is reopened', p_id, o.state));
        END IF;
        UPDATE wo.work_order SET state = 'dispatched', closed_at = NULL, reopened = reopened + 1,
               dispatched_at = now(), accepted_at = NULL, overdue = false, reminded_at = NULL,
               escalated_at = NULL, due_at = wo.due(priority, category, now()), updated_at = now()
         WHERE id = p_id RETURNING * INTO o;
    WHEN 'cancel' THEN
        IF NOT disp THEN PERFORM wo.refuse('only a dispatcher cancels an order'); END IF;
        IF note IS NULL THEN PERFORM wo.refuse('cancelling needs a reason'); END IF;
        IF o.state IN ('closed', 'cancelled') THEN
            PERFORM wo.refuse(format('order %s is already %s', p_id, o.state));
        END IF;
        UPDATE wo.work_order SET state = 'cancelled', closed_at = now(), updated_at = now()
         WHERE id = p_id RETURNING * INTO o;
    ELSE
        PERFORM wo.refuse(format('unknown action %s', p_action));
    END CASE;
    PERFORM wo.log(o, p_action, prev, p_actor, note, p_attachments);
    RETURN o;
END $$;

-- ----------------------------------------------------------- sources ----
-- An alarm event: opens an order, joins the open order of its incident or
-- site, reopens a recently closed one, or does nothing (wo.alarm_policy).
-- Idempotent: an alarm already tied to an order changes nothing.
CREATE FUNCTION wo.on_alarm(p_alarm bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    a    alarm.alarm;
    s    core.site;
    pol  wo.alarm_policy;
    o    wo.work_order;
    par  text;
    cat  text;
BEGIN
    SELECT * INTO a FROM alarm.alarm WHERE id = p_alarm;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('action', 'none', 'why', 'no such alarm');
    END IF;
    IF a.replay THEN
        RETURN jsonb_build_object('action', 'none', 'why', 'a replayed alarm');
    END IF;
    -- one decision at a time, whichever instance sees an alarm first: two
    -- alarms of one incident (or site) must not open two orders. Alarms
    -- are few (hundreds a day); this costs nothing measurable.
    PERFORM pg_advisory_xact_lock(hashtext('wo.on_alarm'));
    SELECT w.* INTO o FROM wo.order_alarm oa
      JOIN wo.work_order w ON w.id = oa.work_order WHERE oa.alarm = a.id LIMIT 1;
    IF FOUND THEN
        RETURN jsonb_build_object('action', 'none', 'why', 'already on an order', 'order', o.id);
    END IF;
    SELECT * INTO s FROM core.site WHERE id = a.site_id;
    SELECT * INTO pol FROM wo.alarm_policy p
     WHERE (p.rule IS NULL OR p.rule = a.rule) AND (p.site_kind IS NULL OR p.site_kind = s.kind)
       AND wo.sev_rank(a.severity) >= wo.sev_rank(p.min_severity)
       AND a.last_at - a.opened_at >= make_interval(mins => p.min_minutes)
     ORDER BY p.ord, p.id LIMIT 1;
    IF NOT FOUND OR NOT pol.open THEN
        RETURN jsonb_build_object('action', 'none', 'why', coalesce(pol.note, 'no policy matches'));
    END IF;
    cat := coalesce(pol.category, wo.kind_category(s.kind));
    -- the open order of its incident, else of its site and category
    SELECT * INTO o FROM wo.work_order w
     WHERE w.state NOT IN ('closed', 'cancelled')
       AND ((a.incident IS NOT NULL AND w.incident = a.incident)
            OR (w.site = s.code AND w.category = cat))
     ORDER BY (w.incident IS NOT DISTINCT FROM a.incident) DESC, w.id LIMIT 1;
    IF FOUND THEN
        INSERT INTO wo.order_alarm (work_order, alarm) VALUES (o.id, a.id);
        PERFORM wo.log(o, 'attach', o.state, 'eco-dispatch', format('alarm %s (%s) joined', a.id, a.rule));
        RETURN jsonb_build_object('action', 'attached', 'order', o.id);
    END IF;
    SELECT code INTO par FROM core.param WHERE id = a.param_id;
    -- recurrence: the same site and category closed recently
    SELECT * INTO o FROM wo.work_order w
     WHERE w.state IN ('closed', 'verified') AND w.site = s.code AND w.category = cat
       AND coalesce(w.closed_at, w.updated_at)
           >= now() - make_interval(days => wo.setting_of('recur_days')::int)
     ORDER BY w.id DESC LIMIT 1 FOR UPDATE;
    IF FOUND THEN
        o := wo.act(o.id, 'reopen', 'eco-dispatch', format('recurred: alarm %s (%s %s) at %s',
                    a.id, a.rule, coalesce(par, 'site'), s.code));
        INSERT INTO wo.order_alarm (work_order, alarm) VALUES (o.id, a.id);
        RETURN jsonb_build_object('action', 'reopened', 'order', o.id);
    END IF;
    o := wo.open('alarm', cat,
                 left(format('%s %s at %s (%s)', a.rule, coalesce(par, ''), s.code, s.name), 200),
                 format('alarm %s: %s %s, severity %s, value %s, limit %s, since %s', a.id, a.rule,
                        coalesce(par, ''), a.severity, coalesce(a.value::text, '-'),
                        coalesce(a.limit_value::text, '-'), a.opened_at),
                 pol.priority, s.code, coalesce(a.geom, s.geom), 'eco-dispatch', NULL, a.incident, a.id);
    RETURN jsonb_build_object('action', 'opened', 'order', o.id, 'dept', o.dept);
END $$;

-- A complaint (eco/v1/complaint/new or complaint.submit): stored, then
-- joined to an open order of its category nearby, or given one. Bad input
-- is refused with the reason (the service dead-letters topic messages).
CREATE FUNCTION wo.on_complaint(p jsonb, p_source text, p_actor text DEFAULT 'eco-dispatch')
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    c     wo.complaint;
    o     wo.work_order;
    g     geometry;
    v_ts  timestamptz;
    lat   double precision;
    lon   double precision;
    v_cat text := p ->> 'category';
    v_txt text := btrim(p ->> 'text');
    v_site text := p ->> 'site';
BEGIN
    IF jsonb_typeof(p) IS DISTINCT FROM 'object' THEN
        PERFORM wo.refuse('a complaint is a JSON object');
    END IF;
    IF v_cat IS NULL OR v_cat NOT IN ('air', 'water', 'sea', 'noise', 'waste', 'other') THEN
        PERFORM wo.refuse(format('category must be one of air, water, sea, noise, waste, other (got %s)',
                                 coalesce(v_cat, 'none')));
    END IF;
    IF v_txt IS NULL OR v_txt = '' OR length(v_txt) > 4000 THEN
        PERFORM wo.refuse('text is required (at most 4000 characters)');
    END IF;
    BEGIN
        v_ts := (p ->> 'ts')::timestamptz;
        IF p ->> 'ts' !~ '(Z|z|[+-][0-9]{2}:?[0-9]{2})$' THEN
            PERFORM wo.refuse('ts needs an offset (RFC 3339)');
        END IF;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
        PERFORM wo.refuse(format('ts is not an RFC 3339 time: %s', p ->> 'ts'));
    END;
    v_ts := coalesce(v_ts, now());
    IF p ? 'lat' OR p ? 'lon' THEN
        IF jsonb_typeof(p -> 'lat') <> 'number' OR jsonb_typeof(p -> 'lon') <> 'number' THEN
            PERFORM wo.refuse('lat and lon are numbers');
        END IF;
        lat := (p ->> 'lat')::double precision;
        lon := (p ->> 'lon')::double precision;
        IF lat NOT BETWEEN -90 AND 90 OR lon NOT BETWEEN -180 AND 180 THEN
            PERFORM wo.refuse('lat/lon out of range');
        END IF;
        g := ST_SetSRID(ST_MakePoint(lon, lat), 4326);
    END IF;
    IF v_site IS NOT NULL AND NOT EXISTS (SELECT 1 FROM core.site WHERE code = v_site) THEN
        PERFORM wo.refuse(format('unknown site %s', v_site));
    END IF;
    IF g IS NULL AND v_site IS NULL THEN
        PERFORM wo.refuse('where: lat and lon (or a site) are required');
    END IF;
    IF p ? 'photo' AND ((p ->> 'photo') !~ '^https?://[^[:space:]]+$' OR length(p ->> 'photo') > 500) THEN
        PERFORM wo.refuse('photo is an http(s) URL');
    END IF;
    IF length(p ->> 'contact') > 64 THEN
        PERFORM wo.refuse('contact is at most 64 characters');
    END IF;
    INSERT INTO wo.complaint (ts, category, text, geom, site, photo_url, contact, source)
    VALUES (v_ts, v_cat, v_txt, coalesce(g, (SELECT geom FROM core.site s WHERE s.code = v_site)), v_site,
            p ->> 'photo', nullif(p ->> 'contact', ''), p_source)
    RETURNING * INTO c;
    SELECT * INTO o FROM wo.work_order w
     WHERE w.state NOT IN ('closed', 'cancelled') AND w.category = c.category
       AND w.geom IS NOT NULL AND c.geom IS NOT NULL
       -- the index first (a box in degrees wider than link_m up to ~60° of
       -- latitude), then the distance in metres
       AND w.geom && ST_Expand(c.geom, wo.setting_of('complaint_link_m') / 50000.0)
       AND ST_DWithin(w.geom::geography, c.geom::geography, wo.setting_of('complaint_link_m'))
       AND c.ts BETWEEN w.created_at - make_interval(hours => wo.setting_of('complaint_link_hours')::int)
                    AND w.created_at + make_interval(hours => wo.setting_of('complaint_link_hours')::int)
     ORDER BY ST_Distance(w.geom::geography, c.geom::geography), w.id LIMIT 1;
    IF FOUND THEN
        UPDATE wo.complaint SET work_order = o.id, linked = true WHERE id = c.id;
        PERFORM wo.log(o, 'complaint', o.state, p_actor,
                       format('complaint %s joined (%s)', c.id, left(c.text, 200)));
        RETURN jsonb_build_object('ok', true, 'complaint', c.id, 'order', o.id, 'linked', true);
    END IF;
    o := wo.open('complaint', c.category, left(format('complaint %s: %s', c.id, c.text), 200), c.text,
                 3::smallint, v_site, c.geom, p_actor);
    UPDATE wo.complaint SET work_order = o.id WHERE id = c.id;
    RETURN jsonb_build_object('ok', true, 'complaint', c.id, 'order', o.id, 'linked', false,
                              'dept', o.dept);
END $$;

-- ------------------------------------------------------------ the clock ----
-- Reminders before the deadline, and the overdue mark with an escalation
-- after it, each exactly once (the columns say it happened; rows another
-- instance holds are skipped). Returns how many steps it took.
CREATE FUNCTION wo.tick(p_max integer DEFAULT 500) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    o     wo.work_order;
    n     integer := 0;
    sup   text;
BEGIN
    FOR o IN SELECT * FROM wo.work_order w
              WHERE w.state IN ('dispatched', 'accepted', 'in_progress')
                AND ((NOT w.overdue AND w.due_at <= now())
                     OR (w.reminded_at IS NULL AND w.remind_at <= now()))
              ORDER BY least(w.due_at, w.remind_at) LIMIT p_max FOR UPDATE SKIP LOCKED LOOP
        IF o.due_at <= now() AND NOT o.overdue THEN
            -- the supervisor: the department answering with the same duty
            -- for a wider region that contains the order's place
            SELECT d.code INTO sup FROM core.department d
              JOIN core.department_region dr ON dr.department = d.code
              JOIN core.region g ON g.code = dr.region
             WHERE d.code <> o.dept AND o.category = ANY (d.duties)
               AND (o.geom IS NULL OR ST_Covers(g.geom, o.geom))
             ORDER BY ST_Area(g.geom) DESC, d.code LIMIT 1;
            UPDATE wo.work_order SET overdue = true, escalated_at = now(),
                   reminded_at = coalesce(reminded_at, now()), updated_at = now()
             WHERE id = o.id RETURNING * INTO o;
            PERFORM wo.log(o, 'escalate', o.state, 'eco-dispatch',
                           format('overdue since %s: escalated to %s', o.due_at,
                                  coalesce(sup, 'the command center')));
        ELSE
            UPDATE wo.work_order SET reminded_at = now(), updated_at = now()
             WHERE id = o.id RETURNING * INTO o;
            PERFORM wo.log(o, 'remind', o.state, 'eco-dispatch', format('due at %s', o.due_at));
        END IF;
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- -------------------------------------------------------------- outbox ----
-- Claims up to p_max events to publish: topic and payload (the contract's
-- wo-event). The caller deletes each with wo.published once the broker
-- acknowledged it.
CREATE FUNCTION wo.claim(p_max integer DEFAULT 200)
RETURNS TABLE (event_id bigint, topic text, payload text) LANGUAGE sql AS $$
    WITH c AS (
        UPDATE wo.outbox ob SET claimed_at = now()
         WHERE ob.event_id IN (
               SELECT x.event_id FROM wo.outbox x
                WHERE x.claimed_at IS NULL
                   OR x.claimed_at < now() - make_interval(secs =>
                                          wo.setting_of('outbox_reclaim_s')::double precision)
                ORDER BY x.event_id LIMIT p_max FOR UPDATE SKIP LOCKED)
        RETURNING ob.event_id)
    SELECT e.id, format('eco/v1/wo/%s/%s', coalesce(e.dept, '_unassigned'), e.work_order),
           jsonb_build_object('id', e.work_order, 'dept', e.dept, 'ts', e.ts, 'action', e.action,
                              'prev_state', e.prev_state, 'state', e.state, 'actor', e.actor,
                              'note', e.note, 'deadline', e.due_at, 'source', w.source,
                              'priority', w.priority, 'category', w.category, 'title', w.title,
                              'event', e.id, 'attachments', to_jsonb(e.attachments))::text
      FROM c JOIN wo.event e ON e.id = c.event_id JOIN wo.work_order w ON w.id = e.work_order
     ORDER BY e.id
$$;

CREATE FUNCTION wo.published(p_ids bigint[]) RETURNS integer LANGUAGE sql AS $$
    WITH d AS (DELETE FROM wo.outbox WHERE event_id = ANY (p_ids) RETURNING 1)
    SELECT count(*)::int FROM d
$$;

-- ---------------------------------------------------------------- rpc ----
CREATE FUNCTION wo.order_json(o wo.work_order, full_view boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'id', o.id, 'dept', o.dept, 'source', o.source, 'priority', o.priority, 'state', o.state,
        'category', o.category, 'title', o.title, 'created_at', o.created_at, 'due_at', o.due_at,
        'closed_at', o.closed_at, 'overdue', o.overdue, 'site', o.site,
        'lat', ST_Y(o.geom), 'lon', ST_X(o.geom), 'incident', o.incident, 'alarm', o.alarm,
        'reopened', o.reopened, 'route_why', o.route_why,
        'text', CASE WHEN full_view THEN o.text END))
        || jsonb_build_object('overdue', o.overdue)
$$;

-- One request from a caller (the broker-checked user name of
-- eco/v1/rpc/dispatch/{method}/{caller}): {ok: true, ...} or
-- {ok: false, error}. Refusals roll back what the request did.
CREATE FUNCTION wo.rpc(p_method text, p_caller text, p jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    w      record;
    o      wo.work_order;
    res    jsonb;
    v_id   bigint;
    states text[];
    lim    integer;
    dispv  boolean;
BEGIN
    IF jsonb_typeof(p) IS DISTINCT FROM 'object' THEN
        PERFORM wo.refuse('the request is a JSON object');
    END IF;
    w := wo.who(p_caller);
    dispv := w.role IN ('dispatcher', 'admin');
    IF w.role NOT IN ('dispatcher', 'admin', 'department') THEN
        PERFORM wo.refuse(format('%s (role %s) may not use work orders', p_caller, w.role));
    END IF;
    IF p ? 'id' THEN
        BEGIN
            v_id := (p ->> 'id')::bigint;
        EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
            PERFORM wo.refuse(format('id must be a whole number, not %s', p ->> 'id'));
        END;
    END IF;

    CASE p_method
    WHEN 'wo.list' THEN
        IF p ? 'state' THEN
            states := CASE jsonb_typeof(p -> 'state')
                      WHEN 'array' THEN ARRAY(SELECT jsonb_array_elements_text(p -> 'state'))
                      ELSE ARRAY[p ->> 'state'] END;
        END IF;
        lim := least(greatest(coalesce((p ->> 'limit')::int, 100), 1), 1000);
        SELECT coalesce(jsonb_agg(j ORDER BY (j ->> 'id')::bigint DESC), '[]') INTO res FROM (
            SELECT wo.order_json(x, false) AS j FROM wo.work_order x
             WHERE (dispv OR x.dept = w.dept)
               AND (states IS NULL OR x.state = ANY (states))
               AND (p ->> 'dept' IS NULL OR x.dept = p ->> 'dept')
               AND (NOT coalesce((p ->> 'overdue')::boolean, false) OR x.overdue)
             ORDER BY x.id DESC LIMIT lim) q;
        RETURN jsonb_build_object('ok', true, 'orders', res);
    WHEN 'wo.show' THEN
        SELECT * INTO o FROM wo.work_order WHERE wo.work_order.id = v_id;
        IF NOT FOUND OR NOT (dispv OR o.dept = w.dept) THEN
            PERFORM wo.refuse(format('no work order %s', v_id));
        END IF;
        RETURN jsonb_build_object('ok', true, 'order', wo.order_json(o, true),
            'events', (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                           'ts', e.ts, 'action', e.action, 'prev_state', e.prev_state,
                           'state', e.state, 'actor', e.actor, 'note', e.note, 'dept', e.dept,
                           'due_at', e.due_at, 'attachments', to_jsonb(e.attachments)))
                           ORDER BY e.id), '[]')
                         FROM wo.event e WHERE e.work_order = o.id),
            'alarms', (SELECT coalesce(jsonb_agg(oa.alarm ORDER BY oa.alarm), '[]')
                         FROM wo.order_alarm oa WHERE oa.work_order = o.id),
            -- complainants' contact details: dispatchers only
            'complaints', (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                           'id', c.id, 'ts', c.ts, 'text', c.text, 'photo', c.photo_url,
                           'contact', CASE WHEN dispv THEN c.contact END)) ORDER BY c.id), '[]')
                             FROM wo.complaint c WHERE c.work_order = o.id));
    WHEN 'wo.create' THEN
        IF NOT dispv THEN PERFORM wo.refuse('only a dispatcher creates work orders'); END IF;
        IF coalesce(p ->> 'category', '') !~ '^[a-z_]{1,32}$' THEN
            PERFORM wo.refuse('category is required');
        END IF;
        IF coalesce(btrim(p ->> 'title'), '') = '' THEN PERFORM wo.refuse('title is required'); END IF;
        IF p ? 'site' AND NOT EXISTS (SELECT 1 FROM core.site WHERE code = p ->> 'site') THEN
            PERFORM wo.refuse(format('unknown site %s', p ->> 'site'));
        END IF;
        o := wo.open('manual', p ->> 'category', left(btrim(p ->> 'title'), 200), p ->> 'text',
                     coalesce((p ->> 'priority')::smallint, 3::smallint), p ->> 'site',
                     CASE WHEN p ? 'lat' AND p ? 'lon'
                          THEN ST_SetSRID(ST_MakePoint((p ->> 'lon')::float8, (p ->> 'lat')::float8), 4326) END,
                     p_caller, p ->> 'dept', NULL, NULL, (p ->> 'due')::timestamptz);
        RETURN jsonb_build_object('ok', true, 'id', o.id, 'dept', o.dept, 'state', o.state,
                                  'due_at', o.due_at, 'routed_because', o.route_why);
    WHEN 'complaint.submit' THEN
        IF NOT dispv THEN PERFORM wo.refuse('only a dispatcher records complaints'); END IF;
        RETURN wo.on_complaint(p, 'rpc:' || p_caller, p_caller);
    WHEN 'alarm.ack' THEN
        IF NOT dispv THEN PERFORM wo.refuse('only a dispatcher acknowledges alarms'); END IF;
        UPDATE alarm.alarm SET state = 'acked', acked_by = p_caller, acked_at = now()
         WHERE alarm.alarm.id = v_id AND state = 'open';
        IF NOT FOUND THEN
            PERFORM wo.refuse(format('alarm %s is not open', v_id));
        END IF;
        INSERT INTO alarm.event (alarm_id, action, ts, severity, actor)
        SELECT a.id, 'acked', now(), a.severity, p_caller FROM alarm.alarm a WHERE a.id = v_id;
        RETURN jsonb_build_object('ok', true, 'id', v_id, 'state', 'acked');
    ELSE
        IF p_method NOT IN ('wo.assign', 'wo.accept', 'wo.start', 'wo.reply', 'wo.verify',
                            'wo.reject', 'wo.reopen', 'wo.close', 'wo.cancel') THEN
            PERFORM wo.refuse(format('unknown method %s', p_method));
        END IF;
        IF v_id IS NULL THEN PERFORM wo.refuse('id is required'); END IF;
        IF p ? 'attachments' AND jsonb_typeof(p -> 'attachments') <> 'array' THEN
            PERFORM wo.refuse('attachments is an array of URLs');
        END IF;
        o := wo.act(v_id, substr(p_method, 4), p_caller, p ->> 'note', p ->> 'dept',
                    ARRAY(SELECT jsonb_array_elements_text(coalesce(p -> 'attachments', '[]'))));
        RETURN jsonb_build_object('ok', true, 'id', o.id, 'state', o.state, 'dept', o.dept,
                                  'due_at', o.due_at);
    END CASE;
EXCEPTION
    WHEN raise_exception THEN
        RETURN jsonb_build_object('ok', false, 'error', SQLERRM);
    WHEN invalid_text_representation OR numeric_value_out_of_range OR invalid_datetime_format
         OR datetime_field_overflow OR check_violation OR foreign_key_violation THEN
        RETURN jsonb_build_object('ok', false, 'error', 'bad request: ' || SQLERRM);
END $$;

-- ---------------------------------------------------------------- views ----
CREATE VIEW rpt.work_order AS
SELECT w.id, w.dept, w.source, w.priority, w.state, w.category, w.title, w.site,
       w.created_at, w.dispatched_at, w.accepted_at, w.replied_at, w.due_at, w.closed_at,
       w.overdue OR (w.due_at < now() AND w.state IN ('dispatched', 'accepted', 'in_progress'))
           AS overdue,
       w.reopened, w.incident, w.alarm, w.route_why, w.geom
  FROM wo.work_order w;
COMMENT ON VIEW rpt.work_order IS
    'Work orders (contract columns first); overdue also when the deadline passed before eco-dispatch marked it';

-- The figures the command center reports upward, per department and month
-- (Beijing time) of opening. on_time: replied at or before the deadline.
CREATE VIEW rpt.wo_kpi AS
SELECT w.dept,
       date_trunc('month', w.created_at AT TIME ZONE 'Asia/Shanghai')::date AS month,
       count(*) AS opened,
       count(*) FILTER (WHERE w.state = 'closed') AS closed,
       count(*) FILTER (WHERE w.replied_at IS NOT NULL AND w.replied_at <= w.due_at) AS on_time,
       round(count(*) FILTER (WHERE w.replied_at IS NOT NULL AND w.replied_at <= w.due_at)::numeric
             / nullif(count(*) FILTER (WHERE w.replied_at IS NOT NULL OR w.due_at < now()), 0), 3)
           AS on_time_rate,
       round((extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (
                  ORDER BY w.accepted_at - w.dispatched_at)) / 3600)::numeric, 2)
           AS median_hours_to_accept,
       round((extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (
                  ORDER BY w.closed_at - w.created_at) FILTER (WHERE w.state = 'closed')) / 3600)::numeric, 2)
           AS median_hours_to_close,
       count(*) FILTER (WHERE w.overdue OR (w.due_at < now()
                              AND w.state IN ('dispatched', 'accepted', 'in_progress'))) AS overdue,
       sum(w.reopened) AS reopened
  FROM wo.work_order w
 WHERE w.dept IS NOT NULL AND w.state <> 'cancelled'
 GROUP BY 1, 2;
COMMENT ON VIEW rpt.wo_kpi IS
    'Work orders by department and month opened: opened, closed, on time (replied by the deadline), medians, overdue, reopened';

-- ---------------------------------------------------------- privileges ----
GRANT USAGE ON SCHEMA wo TO eco_dispatch, eco_report, eco_ctl, eco_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA wo TO eco_dispatch, eco_report, eco_ctl;
GRANT INSERT, UPDATE ON wo.work_order, wo.complaint TO eco_dispatch;
GRANT INSERT ON wo.order_alarm, wo.event TO eco_dispatch;          -- never UPDATE/DELETE on wo.event
GRANT INSERT, UPDATE, DELETE ON wo.outbox TO eco_dispatch;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA wo TO eco_dispatch;
GRANT INSERT, UPDATE, DELETE ON wo.setting, wo.alarm_policy, wo.route_rule, wo.deadline TO eco_ctl;
GRANT USAGE ON SEQUENCE wo.alarm_policy_id_seq, wo.route_rule_id_seq TO eco_ctl;
-- alarm.ack through dispatch
GRANT UPDATE (state, acked_by, acked_at) ON alarm.alarm TO eco_dispatch;
GRANT INSERT ON alarm.event TO eco_dispatch;
GRANT USAGE ON SEQUENCE alarm.event_id_seq TO eco_dispatch;
GRANT SELECT (username, role, department, active) ON core.account TO eco_dispatch;
-- analysts: everything but complainants' contact details
GRANT SELECT ON wo.work_order, wo.event, wo.order_alarm, wo.setting, wo.alarm_policy,
    wo.route_rule, wo.deadline TO eco_analyst;
GRANT SELECT (id, ts, received_at, category, text, geom, site, photo_url, source, work_order,
              linked) ON wo.complaint TO eco_analyst;
REVOKE SELECT ON wo.complaint FROM eco_report;
GRANT SELECT (id, ts, received_at, category, text, geom, site, photo_url, source, work_order,
              linked) ON wo.complaint TO eco_report;
GRANT SELECT ON rpt.work_order, rpt.wo_kpi TO eco_dispatch, eco_report, eco_ctl, eco_analyst,
    eco_detect, eco_gep;
