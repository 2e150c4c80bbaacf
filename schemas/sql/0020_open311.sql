-- 0020: work orders as Open311 GeoReport v2 service requests
-- (https://wiki.open311.org/GeoReport_v2, "GET Service Requests"), so the
-- center's data can feed the civic reporting tools people already use.
-- eco-dispatch answers the request wo.export with wo.open311 (docs/DISPATCH.md,
-- "Open311 export"); visibility is wo.rpc's wo.list: a department sees its
-- own orders, dispatchers and admins all, other roles nothing.

-- A time as GeoReport shows it: RFC 3339, Beijing time, to the second
-- ("2026-12-06T09:00:00+08:00"), whatever the session's time zone.
CREATE FUNCTION wo.rfc3339(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS') || '+08:00'
$$;

-- {ok: true, requests: [...]} or {ok: false, error}. p: dept, from and to
-- (RFC 3339 with an offset: from <= created_at < to), limit (default 1000,
-- 1 to 10000), format (only "open311"). Newest order first. A field the
-- order has no value for is null.
CREATE FUNCTION wo.open311(p_caller text, p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    w      record;
    dispv  boolean;
    lim    integer := 1000;
    t_from timestamptz;
    t_to   timestamptz;
    res    jsonb;
BEGIN
    IF jsonb_typeof(p) IS DISTINCT FROM 'object' THEN
        PERFORM wo.refuse('the request is a JSON object');
    END IF;
    w := wo.who(p_caller);
    dispv := w.role IN ('dispatcher', 'admin');
    IF w.role NOT IN ('dispatcher', 'admin', 'department') THEN
        PERFORM wo.refuse(format('%s (role %s) may not use work orders', p_caller, w.role));
    END IF;
    IF coalesce(p ->> 'format', 'open311') <> 'open311' THEN
        PERFORM wo.refuse(format('format %s: only open311 is known', p ->> 'format'));
    END IF;
    IF p ? 'limit' THEN
        lim := (p ->> 'limit')::int;
        IF lim NOT BETWEEN 1 AND 10000 THEN
            PERFORM wo.refuse(format('limit is 1 to 10000, not %s', lim));
        END IF;
    END IF;
    IF (p ? 'from' AND p ->> 'from' !~ '([Zz]|[+-]\d\d:?\d\d)$')
       OR (p ? 'to' AND p ->> 'to' !~ '([Zz]|[+-]\d\d:?\d\d)$') THEN
        PERFORM wo.refuse('from and to need an offset (RFC 3339)');
    END IF;
    t_from := (p ->> 'from')::timestamptz;
    t_to := (p ->> 'to')::timestamptz;

    SELECT coalesce(jsonb_agg(q.r ORDER BY q.id DESC), '[]') INTO res FROM (
        SELECT x.id, jsonb_build_object(
                   'service_request_id', x.id::text,
                   'status', CASE WHEN x.state IN ('closed', 'cancelled') THEN 'closed' ELSE 'open' END,
                   'status_notes', ev.note,
                   'service_name', x.category,
                   'service_code', x.category,
                   'description', concat_ws(E'\n\n', x.title, nullif(btrim(x.text), '')),
                   'agency_responsible', CASE WHEN x.dept IS NOT NULL
                                              THEN format('%s (%s)', d.name, x.dept) END,
                   'service_notice', x.route_why,
                   'requested_datetime', wo.rfc3339(x.created_at),
                   'updated_datetime', wo.rfc3339(coalesce(ev.ts, x.updated_at)),
                   'expected_datetime', wo.rfc3339(x.due_at),
                   'address', s.name,
                   'address_id', x.site,
                   'zipcode', NULL,
                   'lat', ST_Y(coalesce(x.geom, s.geom)),
                   'long', ST_X(coalesce(x.geom, s.geom)),
                   'media_url', ph.photo_url) AS r
          FROM wo.work_order x
          LEFT JOIN core.department d ON d.code = x.dept
          LEFT JOIN core.site s ON s.code = x.site
          LEFT JOIN LATERAL (SELECT e.note, e.ts FROM wo.event e
                              WHERE e.work_order = x.id ORDER BY e.id DESC LIMIT 1) ev ON true
          LEFT JOIN LATERAL (SELECT c.photo_url FROM wo.complaint c
                              WHERE c.work_order = x.id AND c.photo_url IS NOT NULL
                              ORDER BY c.id LIMIT 1) ph ON true
         WHERE (dispv OR x.dept = w.dept)
           AND (p ->> 'dept' IS NULL OR x.dept = p ->> 'dept')
           AND (t_from IS NULL OR x.created_at >= t_from)
           AND (t_to IS NULL OR x.created_at < t_to)
         ORDER BY x.id DESC LIMIT lim) q;
    RETURN jsonb_build_object('ok', true, 'requests', res);
EXCEPTION
    WHEN raise_exception THEN
        RETURN jsonb_build_object('ok', false, 'error', SQLERRM);
    WHEN invalid_text_representation OR numeric_value_out_of_range OR invalid_datetime_format
         OR datetime_field_overflow THEN
        RETURN jsonb_build_object('ok', false, 'error', 'bad request: ' || SQLERRM);
END $$;

REVOKE EXECUTE ON FUNCTION wo.open311(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wo.open311(text, jsonb) TO eco_dispatch;
