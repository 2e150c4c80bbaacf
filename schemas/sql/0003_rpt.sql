-- 0003: readable faces for analysts (codes, not ids). These are the stable
-- interface; storage tables may change shape.
CREATE FUNCTION core.period_name("char") RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE $1 WHEN 'r' THEN 'rt' WHEN 'm' THEN 'min' WHEN 'h' THEN 'hour' WHEN 'd' THEN 'day' END
$$;
CREATE FUNCTION core.period_code(text) RETURNS "char" LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE $1 WHEN 'rt' THEN 'r' WHEN 'min' THEN 'm' WHEN 'hour' THEN 'h' WHEN 'day' THEN 'd' END::"char"
$$;

CREATE VIEW rpt.reading AS
SELECT s.code AS site, p.code AS param, core.period_name(r.period) AS period, r.ts, r.value,
       p.unit, r.flag::text AS flag
FROM obs.reading r
JOIN core.site s ON s.id = r.site_id
JOIN core.param p ON p.id = r.param_id;

CREATE VIEW rpt.latest AS
SELECT s.code AS site, p.code AS param, core.period_name(l.period) AS period, l.ts, l.value,
       p.unit, l.flag::text AS flag, l.updated_at
FROM obs.latest l
JOIN core.site s ON s.id = l.site_id
JOIN core.param p ON p.id = l.param_id;

CREATE VIEW rpt.track AS
SELECT s.code AS site, t.ts, t.geom
FROM obs.track t JOIN core.site s ON s.id = t.site_id;

CREATE VIEW rpt.deadletter AS
SELECT id, received_at, service, source, reason, payload FROM obs.deadletter;
