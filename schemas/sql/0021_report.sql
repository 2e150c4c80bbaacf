-- 0021: the center's reports (docs/REPORTS.md).
--   * rpt.aqi_hourly_between: the hourly AQI of a time range, reading only
--     the hours it needs (rpt.aqi_hourly is now this over all time);
--   * enterprise environmental credit: rpt.credit_setting, rpt.credit_grade,
--     rpt.enterprise_credit_between(d0, d1) and rpt.enterprise_credit (the
--     last 365 days);
--   * map layers for the one map and QGIS: rpt.map_site, rpt.map_alarm,
--     rpt.map_order, rpt.map_grid, and rpt.geojson(layer);
--   * rpt.report(kind, period): a daily or monthly report as one JSON
--     document, the source of every output eco-report writes.
-- Days are natural days at Beijing time, as in rpt.aqi_daily.

-- ------------------------------------------------------------- hourly AQI ---
-- rpt.aqi_hourly's logic for the hours t0 <= hour < t1: the moving windows
-- need up to 23 hours before t0, so the input starts there. An inlinable SQL
-- function: the planner sees the range as a condition on obs.reading.ts.
CREATE FUNCTION rpt.aqi_hourly_between(t0 timestamptz, t1 timestamptz)
RETURNS TABLE (site text, hour timestamptz, aqi integer, primary_pollutants text[], level integer,
               category text, iaqi jsonb)
LANGUAGE sql STABLE AS $$
WITH m AS (
    SELECT i.site_id, i.param, i.hour, i.value,
           avg(i.value) OVER w8 AS avg8, count(*) OVER w8 AS n8,
           avg(i.value) OVER w24 AS avg24, count(*) OVER w24 AS n24
    FROM rpt.aqi_input i
    WHERE i.hour >= t0 - interval '23 hours' AND i.hour < t1
    WINDOW w8 AS (PARTITION BY i.site_id, i.param ORDER BY i.hour
                  RANGE BETWEEN interval '7 hours' PRECEDING AND CURRENT ROW),
           w24 AS (PARTITION BY i.site_id, i.param ORDER BY i.hour
                   RANGE BETWEEN interval '23 hours' PRECEDING AND CURRENT ROW)
), v AS (
    SELECT m.site_id, m.hour, m.param,
           CASE WHEN m.param IN ('pm10', 'pm25') THEN
                    CASE WHEN rpt.aqi_setting('hourly_pm') = '24h_moving' THEN
                             CASE WHEN m.n24 >= rpt.aqi_setting('min_hours_24h')::integer
                                  THEN rpt.iaqi(m.param, '24h', rpt.aqi_conc(m.param, m.avg24)) END
                         ELSE rpt.iaqi(m.param, '24h', rpt.aqi_conc(m.param, m.value)) END
                WHEN m.param = 'so2' THEN
                    coalesce(rpt.iaqi('so2', '1h', rpt.aqi_conc('so2', m.value)),
                             CASE WHEN m.n24 >= rpt.aqi_setting('min_hours_24h')::integer
                                  THEN rpt.iaqi('so2', '24h', rpt.aqi_conc('so2', m.avg24)) END)
                ELSE rpt.iaqi(m.param, '1h', rpt.aqi_conc(m.param, m.value)) END AS iaqi,
           CASE WHEN m.param = 'o3' AND rpt.aqi_setting('hourly_o3_8h') = 'on'
                     AND m.n8 >= rpt.aqi_setting('min_hours_8h')::integer
                THEN rpt.iaqi('o3', '8h', rpt.aqi_conc('o3', m.avg8)) END AS iaqi_8h
    FROM m
    WHERE m.hour >= t0
), j AS (
    SELECT v.site_id, v.hour,
           jsonb_strip_nulls(jsonb_object_agg(v.param, v.iaqi) ||
                             coalesce(jsonb_object_agg('o3_8h', v.iaqi_8h)
                                      FILTER (WHERE v.iaqi_8h IS NOT NULL), '{}')) AS iaqi
    FROM v
    GROUP BY v.site_id, v.hour
)
SELECT s.code, j.hour, a.aqi, a.primary_pollutants, rpt.aqi_level(a.aqi), c.category, j.iaqi
FROM j
JOIN core.site s ON s.id = j.site_id
CROSS JOIN LATERAL rpt.aqi_of(j.iaqi) a
LEFT JOIN rpt.aqi_category c ON c.level = rpt.aqi_level(a.aqi)
$$;

COMMENT ON FUNCTION rpt.aqi_hourly_between(timestamptz, timestamptz) IS
    'rpt.aqi_hourly for the hours t0 <= hour < t1, reading only the readings those hours need';

CREATE OR REPLACE VIEW rpt.aqi_hourly AS
SELECT h.site, h.hour, h.aqi, h.primary_pollutants, h.level, h.category, h.iaqi
FROM rpt.aqi_hourly_between('-infinity', 'infinity') h;

-- -------------------------------------------- pollution sources by period ---
-- The source views of 0017 for a range of Beijing days [d0, d1): each reads
-- only the readings of its days, so a daily or monthly report does not
-- recompute the whole archive. The views are now these functions over all
-- time (same columns, same values).
CREATE FUNCTION rpt.source_hour_value_between(t0 timestamptz, t1 timestamptz)
RETURNS TABLE (site_id integer, param text, hour timestamptz, value numeric, source text)
LANGUAGE sql STABLE AS $$
WITH h AS (
    SELECT r.site_id, r.param_id, r.ts AS hour, r.value::numeric AS value
    FROM obs.reading r
    JOIN core.site s ON s.id = r.site_id
    WHERE s.kind IN ('gas_outlet', 'water_outlet') AND r.period = 'h' AND r.flag = 'N'
      AND r.ts >= t0 AND r.ts < t1
), m AS (
    SELECT r.site_id, r.param_id,
           date_trunc('hour', r.ts AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai' AS hour,
           avg(r.value::numeric) AS value, count(*) AS n
    FROM obs.reading r
    JOIN core.site s ON s.id = r.site_id
    WHERE s.kind IN ('gas_outlet', 'water_outlet') AND r.period = 'm' AND r.flag = 'N'
      AND r.ts >= t0 AND r.ts < t1
    GROUP BY 1, 2, 3
)
SELECT h.site_id, p.code, h.hour, h.value, 'hour'::text
FROM h JOIN core.param p ON p.id = h.param_id
UNION ALL
SELECT m.site_id, p.code, m.hour, m.value, 'min'
FROM m JOIN core.param p ON p.id = m.param_id
JOIN rpt.source_site_setting w ON w.site_id = m.site_id
WHERE m.n * w.minute_interval >= w.min_minutes_hour
  AND NOT EXISTS (SELECT 1 FROM h WHERE h.site_id = m.site_id AND h.param_id = m.param_id
                                    AND h.hour = m.hour)
$$;

CREATE FUNCTION rpt.source_day_value_between(d0 date, d1 date)
RETURNS TABLE (site_id integer, param text, day date, value numeric, source text)
LANGUAGE sql STABLE AS $$
WITH hv AS (
    SELECT v.site_id, v.param, (v.hour AT TIME ZONE 'Asia/Shanghai')::date AS day,
           avg(v.value) AS value, count(*) AS n
    FROM rpt.source_hour_value_between(d0::timestamp AT TIME ZONE 'Asia/Shanghai',
                                       d1::timestamp AT TIME ZONE 'Asia/Shanghai') v
    GROUP BY 1, 2, 3
), d AS (
    SELECT r.site_id, p.code AS param, (r.ts AT TIME ZONE 'Asia/Shanghai')::date AS day,
           r.value::numeric AS value
    FROM obs.reading r
    JOIN core.site s ON s.id = r.site_id
    JOIN core.param p ON p.id = r.param_id
    WHERE s.kind IN ('gas_outlet', 'water_outlet') AND r.period = 'd' AND r.flag = 'N'
      AND r.ts >= d0::timestamp AT TIME ZONE 'Asia/Shanghai'
      AND r.ts < d1::timestamp AT TIME ZONE 'Asia/Shanghai'
)
SELECT d.site_id, d.param, d.day, d.value, 'day'::text FROM d
UNION ALL
SELECT hv.site_id, hv.param, hv.day, hv.value, 'hour'
FROM hv
JOIN rpt.source_site_setting w ON w.site_id = hv.site_id
WHERE hv.n >= w.min_hours_day
  AND NOT EXISTS (SELECT 1 FROM d WHERE d.site_id = hv.site_id AND d.param = hv.param
                                    AND d.day = hv.day)
$$;

CREATE FUNCTION rpt.source_check_between(d0 date, d1 date)
RETURNS TABLE (span text, site_id integer, enterprise text, param text, limit_period text,
               t timestamptz, day date, value numeric, lower numeric, upper numeric, standard text,
               exceeds boolean, multiple numeric, emission_kg numeric, excess_kg numeric)
LANGUAGE sql STABLE AS $$
WITH v AS (
    SELECT x.span, x.site_id, x.param, x.t, x.value, x.seconds,
           max(x.value) FILTER (WHERE x.is_flow) OVER (PARTITION BY x.span, x.site_id, x.t) AS flow
    FROM (SELECT 'hour'::text AS span, h.site_id, h.param, h.hour AS t, h.value, 3600 AS seconds,
                 coalesce(h.param = sf.flow_param, false) AS is_flow
          FROM rpt.source_hour_value_between(d0::timestamp AT TIME ZONE 'Asia/Shanghai',
                                             d1::timestamp AT TIME ZONE 'Asia/Shanghai') h
          JOIN core.site s ON s.id = h.site_id
          LEFT JOIN rpt.source_flow sf ON sf.site_kind = s.kind
          UNION ALL
          SELECT 'day', d.site_id, d.param, d.day::timestamp AT TIME ZONE 'Asia/Shanghai', d.value,
                 86400, coalesce(d.param = sf.flow_param, false)
          FROM rpt.source_day_value_between(d0, d1) d
          JOIN core.site s ON s.id = d.site_id
          LEFT JOIN rpt.source_flow sf ON sf.site_kind = s.kind) x
), c AS (
    SELECT v.span, v.site_id, l.enterprise, v.param, l.period AS limit_period, v.t, v.value,
           l.lower, l.upper, l.standard, w.multiple_decimals,
           (l.upper IS NOT NULL AND v.value > l.upper) OR (l.lower IS NOT NULL AND v.value < l.lower)
               AS exceeds,
           CASE WHEN p.unit = sf.conc_unit THEN v.value * v.flow * v.seconds * sf.factor END AS emission_kg,
           CASE WHEN p.unit = sf.conc_unit AND l.upper IS NOT NULL AND v.value > l.upper
                THEN (v.value - l.upper) * v.flow * v.seconds * sf.factor END AS excess_kg
    FROM v
    JOIN rpt.source_limit l ON l.site_id = v.site_id AND l.param = v.param
                           AND (v.span = 'hour' OR l.period = 'day')
    JOIN core.param p ON p.code = v.param
    JOIN rpt.source_site_setting w ON w.site_id = v.site_id
    LEFT JOIN rpt.source_flow sf ON sf.site_kind = l.kind
)
SELECT c.span, c.site_id, c.enterprise, c.param, c.limit_period, c.t,
       (c.t AT TIME ZONE 'Asia/Shanghai')::date, c.value, c.lower, c.upper, c.standard,
       c.exceeds,
       CASE WHEN c.lower IS NULL AND c.upper > 0 AND c.value > c.upper
            THEN trim_scale(round((c.value - c.upper) / c.upper,
                                  c.multiple_decimals)) END,
       c.emission_kg, c.excess_kg
FROM c
$$;

-- The day rows of the days in [d0, d1) and the month rows of the months
-- that start in it (whole months when d0 and d1 are first days).
CREATE FUNCTION rpt.source_exceedance_span_between(d0 date, d1 date)
RETURNS TABLE (span text, site_id integer, enterprise text, param text, limit_period text, t date,
               lower numeric, upper numeric, standard text, hours bigint, hours_over bigint,
               days bigint, days_over bigint, max_value numeric, max_multiple numeric,
               emission_kg_over numeric, excess_kg numeric, first_over timestamptz,
               last_over timestamptz)
LANGUAGE sql STABLE AS $$
WITH c AS (
    SELECT * FROM rpt.source_check_between(d0, d1)
), k AS (
    SELECT 'day'::text AS agg, c.day AS t0, c.* FROM c
    UNION ALL
    SELECT 'month', date_trunc('month', c.day)::date, c.* FROM c
)
SELECT k.agg, k.site_id, k.enterprise, k.param, k.limit_period, k.t0,
       min(k.lower), min(k.upper), min(k.standard),
       count(*) FILTER (WHERE k.span = 'hour'),
       count(*) FILTER (WHERE k.span = 'hour' AND k.exceeds),
       CASE WHEN k.limit_period = 'hour'
            THEN count(DISTINCT k.day) FILTER (WHERE k.span = 'hour')
            ELSE count(*) FILTER (WHERE k.span = 'day') END,
       CASE WHEN k.limit_period = 'hour'
            THEN count(DISTINCT k.day) FILTER (WHERE k.span = 'hour' AND k.exceeds)
            ELSE count(*) FILTER (WHERE k.span = 'day' AND k.exceeds) END,
       trim_scale(max(k.value) FILTER (WHERE k.span = k.limit_period)),
       max(k.multiple) FILTER (WHERE k.span = k.limit_period),
       trim_scale(sum(k.emission_kg) FILTER (WHERE k.span = k.limit_period AND k.exceeds)),
       trim_scale(sum(k.excess_kg) FILTER (WHERE k.span = k.limit_period AND k.exceeds)),
       min(k.t) FILTER (WHERE k.span = k.limit_period AND k.exceeds),
       max(k.t) FILTER (WHERE k.span = k.limit_period AND k.exceeds)
FROM k
GROUP BY k.agg, k.site_id, k.enterprise, k.param, k.limit_period, k.t0
$$;

CREATE OR REPLACE VIEW rpt.source_hour_value AS
SELECT * FROM rpt.source_hour_value_between('-infinity', 'infinity');
CREATE OR REPLACE VIEW rpt.source_day_value AS
SELECT * FROM rpt.source_day_value_between('-infinity', 'infinity');
CREATE OR REPLACE VIEW rpt.source_check AS
SELECT * FROM rpt.source_check_between('-infinity', 'infinity');
CREATE OR REPLACE VIEW rpt.source_exceedance_span AS
SELECT * FROM rpt.source_exceedance_span_between('-infinity', 'infinity');

-- The readable faces for a range: the day and month rows of [d0, d1).
CREATE FUNCTION rpt.source_exceedance_between(d0 date, d1 date)
RETURNS TABLE (span text, t date, enterprise text, enterprise_name text, outlet text, param text,
               unit text, limit_period text, upper numeric, hours_over bigint, days_over bigint,
               max_value numeric, max_multiple numeric, excess_kg numeric)
LANGUAGE sql STABLE AS $$
SELECT x.span, x.t, x.enterprise, e.name, s.code, x.param, p.unit, x.limit_period, x.upper,
       x.hours_over, x.days_over, x.max_value, x.max_multiple, x.excess_kg
FROM rpt.source_exceedance_span_between(d0, d1) x
JOIN core.site s ON s.id = x.site_id
JOIN core.param p ON p.code = x.param
LEFT JOIN core.enterprise e ON e.code = x.enterprise
$$;

GRANT EXECUTE ON FUNCTION rpt.source_hour_value_between(timestamptz, timestamptz),
    rpt.source_day_value_between(date, date), rpt.source_check_between(date, date),
    rpt.source_exceedance_span_between(date, date), rpt.source_exceedance_between(date, date)
    TO eco_detect, eco_dispatch, eco_gep, eco_report, eco_ctl, eco_analyst;

-- ----------------------------------------------------------------- credit ---
-- The enterprise environmental credit rating. The four grades and their
-- names are those of the national scheme (企业环境信用评价办法（试行）,
-- 环发〔2013〕150号: 环保诚信/良好/警示/不良企业, green/blue/yellow/red
-- cards); the scheme scores many criteria that a monitoring system cannot
-- see (permits, inspections, penalties), so the score here is the part the
-- network observes, with every weight a setting that a region replaces
-- with its own (docs/REPORTS.md, "Enterprise credit").
CREATE TABLE rpt.credit_setting (
    name   text PRIMARY KEY,
    value  numeric NOT NULL,
    note   text NOT NULL,
    source text NOT NULL
);
COMMENT ON TABLE rpt.credit_setting IS
    'weights of the enterprise credit score (rpt.enterprise_credit_between); every value has its source';

INSERT INTO rpt.credit_setting VALUES
 ('base', 100, 'score before deductions', 'ecowatch default'),
 ('exceedance_day', 4, 'deduction per outlet, parameter and day over the limit (rpt.source_exceedance_daily)',
  'ecowatch default, to be set by the region'),
 ('severe_multiple', 1, 'a day whose largest exceedance multiple ((value - limit) / limit, 超标倍数) is at least this is severe',
  'ecowatch default, to be set by the region'),
 ('severe_day', 6, 'further deduction per severe day', 'ecowatch default, to be set by the region'),
 ('quality_alarm', 1, 'deduction per data-quality alarm of its outlets (flatline, spike, range, flag, offline)',
  'ecowatch default, to be set by the region'),
 ('quality_cap', 20, 'largest total deduction for data-quality alarms', 'ecowatch default, to be set by the region'),
 ('work_order', 2, 'deduction per work order about its outlets (not cancelled)',
  'ecowatch default, to be set by the region'),
 ('reopened', 5, 'deduction per reopening of such an order (the rectification was not accepted)',
  'ecowatch default, to be set by the region');

CREATE TABLE rpt.credit_grade (
    grade     text PRIMARY KEY,
    min_score numeric NOT NULL UNIQUE,
    name      text NOT NULL,
    name_en   text NOT NULL,
    colour    text NOT NULL,
    source    text NOT NULL
);
COMMENT ON TABLE rpt.credit_grade IS
    'credit grades: an enterprise has the grade with the highest min_score not above its score';

INSERT INTO rpt.credit_grade VALUES
 ('green', 90, '环保诚信企业', 'trustworthy', '#1a9850',
  'grades: 企业环境信用评价办法（试行） 环发〔2013〕150号; threshold: ecowatch default'),
 ('blue', 75, '环保良好企业', 'good', '#2c7bb6',
  'grades: 企业环境信用评价办法（试行） 环发〔2013〕150号; threshold: ecowatch default'),
 ('yellow', 60, '环保警示企业', 'warned', '#fdae61',
  'grades: 企业环境信用评价办法（试行） 环发〔2013〕150号; threshold: ecowatch default'),
 ('red', -1000000, '环保不良企业', 'poor', '#d73027',
  'grades: 企业环境信用评价办法（试行） 环发〔2013〕150号');

CREATE FUNCTION rpt.credit_value(name text) RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT value FROM rpt.credit_setting WHERE credit_setting.name = $1
$$;

-- Every enterprise's credit over the Beijing days d0 <= day < d1.
CREATE FUNCTION rpt.enterprise_credit_between(d0 date, d1 date)
RETURNS TABLE (enterprise text, name text, industry text, region text, period_from date,
               period_to date, exceedance_days bigint, severe_days bigint, quality_alarms bigint,
               work_orders bigint, reopened bigint, score numeric, grade text, grade_name text,
               colour text, deductions jsonb)
LANGUAGE sql STABLE AS $$
WITH t AS (
    SELECT d0::timestamp AT TIME ZONE 'Asia/Shanghai' AS t0,
           d1::timestamp AT TIME ZONE 'Asia/Shanghai' AS t1
), ex AS (
    SELECT x.enterprise, count(*) FILTER (WHERE x.days_over > 0) AS days,
           count(*) FILTER (WHERE x.days_over > 0
                              AND x.max_multiple >= rpt.credit_value('severe_multiple')) AS severe
    FROM rpt.source_exceedance_between(d0, d1) x
    WHERE x.span = 'day'
    GROUP BY x.enterprise
), q AS (
    SELECT s.enterprise, count(*) AS n
    FROM alarm.alarm a JOIN core.site s ON s.id = a.site_id, t
    WHERE s.enterprise IS NOT NULL AND NOT a.replay
      AND a.rule IN ('flatline', 'spike', 'range', 'flag', 'offline')
      AND a.opened_at >= t.t0 AND a.opened_at < t.t1
    GROUP BY s.enterprise
), w AS (
    SELECT s.enterprise, count(*) AS n, sum(o.reopened) AS reopened
    FROM wo.work_order o JOIN core.site s ON s.code = o.site, t
    WHERE s.enterprise IS NOT NULL AND o.state <> 'cancelled'
      AND o.created_at >= t.t0 AND o.created_at < t.t1
    GROUP BY s.enterprise
), d AS (
    SELECT e.code, e.name, e.industry, e.region,
           coalesce(ex.days, 0) AS exceedance_days, coalesce(ex.severe, 0) AS severe_days,
           coalesce(q.n, 0) AS quality_alarms, coalesce(w.n, 0) AS work_orders,
           coalesce(w.reopened, 0) AS reopened,
           jsonb_build_object(
               'exceedance', coalesce(ex.days, 0) * rpt.credit_value('exceedance_day'),
               'severe', coalesce(ex.severe, 0) * rpt.credit_value('severe_day'),
               'quality', least(coalesce(q.n, 0) * rpt.credit_value('quality_alarm'),
                                rpt.credit_value('quality_cap')),
               'work_orders', coalesce(w.n, 0) * rpt.credit_value('work_order'),
               'reopened', coalesce(w.reopened, 0) * rpt.credit_value('reopened')) AS deductions
    FROM core.enterprise e
    LEFT JOIN ex ON ex.enterprise = e.code
    LEFT JOIN q ON q.enterprise = e.code
    LEFT JOIN w ON w.enterprise = e.code
), s AS (
    SELECT d.*, rpt.credit_value('base') - (SELECT sum(v::numeric) FROM jsonb_each_text(d.deductions) x (k, v))
               AS score
    FROM d
)
SELECT s.code, s.name, s.industry, s.region, d0, d1 - 1, s.exceedance_days, s.severe_days,
       s.quality_alarms, s.work_orders, s.reopened, s.score, g.grade, g.name, g.colour, s.deductions
FROM s
CROSS JOIN LATERAL (SELECT * FROM rpt.credit_grade c WHERE c.min_score <= s.score
                    ORDER BY c.min_score DESC LIMIT 1) g
$$;

COMMENT ON FUNCTION rpt.enterprise_credit_between(date, date) IS
    'enterprise environmental credit over the Beijing days d0 <= day < d1: counts, deductions, score and grade';

CREATE VIEW rpt.enterprise_credit AS
SELECT c.*, e.geom
FROM rpt.enterprise_credit_between(((now() AT TIME ZONE 'Asia/Shanghai')::date - 364),
                                   ((now() AT TIME ZONE 'Asia/Shanghai')::date + 1)) c
JOIN core.enterprise e ON e.code = c.enterprise;

COMMENT ON VIEW rpt.enterprise_credit IS
    'enterprise environmental credit over the last 365 days (today included), with the enterprise''s location';

-- ------------------------------------------------------------- map layers ---
-- The colours the map and the pages draw with: an AQI level's RGB from
-- rpt.aqi_category, a water class's colour name (rpt.water_class) as hex.
CREATE FUNCTION rpt.aqi_colour(level integer) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT 'rgb(' || c.rgb || ')' FROM rpt.aqi_category c WHERE c.level = $1
$$;

CREATE FUNCTION rpt.class_colour(colour text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE colour WHEN 'blue' THEN '#2c7bb6' WHEN 'green' THEN '#1a9850' WHEN 'yellow' THEN '#fee08b'
                       WHEN 'orange' THEN '#fdae61' WHEN 'red' THEN '#d73027' ELSE '#9e9e9e' END
$$;

-- What a site shows on the one map: air stations their AQI of the last
-- hour with values (within 3 hours), water and sea stations their class of
-- the latest day evaluated (within 3 days) against their target, outlets
-- whether a limit alarm is open; every site its open alarms and orders.
-- status is one word for the legend; colour the category's colour.
CREATE VIEW rpt.map_site AS
WITH aq AS (
    SELECT DISTINCT ON (h.site) h.site, h.hour, h.aqi, h.level, h.category
    FROM rpt.aqi_hourly_between(now() - interval '3 hours', now()) h
    WHERE h.aqi IS NOT NULL
    ORDER BY h.site, h.hour DESC
), wq AS (
    SELECT DISTINCT ON (w.site) w.site, w.day, w.class, w.class_name, w.meets_target, wc.colour
    FROM rpt.water_daily w
    LEFT JOIN rpt.water_class wc ON wc.kind = w.kind AND wc.class = w.class
    WHERE w.day >= (now() AT TIME ZONE 'Asia/Shanghai')::date - 3
    ORDER BY w.site, w.day DESC
), lim AS (
    SELECT a.site_id, count(*) AS n FROM alarm.alarm a
    WHERE a.rule = 'limit' AND a.state <> 'cleared' AND NOT a.replay
    GROUP BY a.site_id
), wo AS (
    SELECT o.site, count(*) AS n FROM wo.work_order o
    WHERE o.state NOT IN ('closed', 'cancelled')
    GROUP BY o.site
)
SELECT s.code, s.name, s.kind, s.region, s.enterprise, s.latest_at, aq.aqi, aq.level AS aqi_level,
       aq.category AS aqi_category, aq.hour AS aqi_hour, wq.class AS water_class,
       wq.class_name AS water_class_name, wq.day AS water_day, site.target_class,
       wq.meets_target, coalesce(lim.n, 0) > 0 AS exceeding, s.open_alarms,
       coalesce(wo.n, 0) AS open_orders,
       CASE WHEN s.latest_at IS NULL OR s.latest_at < now() - interval '1 day' THEN 'offline'
            WHEN s.kind = 'air' AND aq.aqi IS NOT NULL THEN 'aqi_' || aq.level
            WHEN s.kind IN ('water', 'sea') AND wq.class IS NOT NULL THEN
                 CASE WHEN wq.meets_target THEN 'meets_target' ELSE 'below_target' END
            WHEN lim.n > 0 THEN 'exceeding'
            WHEN s.open_alarms > 0 THEN 'alarm'
            ELSE 'normal' END AS status,
       CASE WHEN s.latest_at IS NULL OR s.latest_at < now() - interval '1 day' THEN '#9e9e9e'
            WHEN s.kind = 'air' AND aq.aqi IS NOT NULL THEN rpt.aqi_colour(aq.level)
            WHEN s.kind IN ('water', 'sea') AND wq.class IS NOT NULL THEN rpt.class_colour(wq.colour)
            WHEN lim.n > 0 THEN '#d73027'
            WHEN s.open_alarms > 0 THEN '#fdae61'
            ELSE '#1a9850' END AS colour,
       s.geom
FROM rpt.site s
JOIN core.site site ON site.id = s.id
LEFT JOIN aq ON aq.site = s.code
LEFT JOIN wq ON wq.site = s.code
LEFT JOIN lim ON lim.site_id = s.id
LEFT JOIN wo ON wo.site = s.code
WHERE s.active AND s.geom IS NOT NULL;

COMMENT ON VIEW rpt.map_site IS
    'the one map''s site layer: every active site with its latest AQI (air), water class against its target '
    '(water, sea), exceedance (outlets), open alarms and orders, a status word and a colour';

CREATE VIEW rpt.map_alarm AS
SELECT a.id, a.site, a.param, a.period, a.rule, a.severity, a.state, a.opened_at, a.last_at,
       a.value, a."limit", a.peak, a.unit, a.incident, a.site_kind, a.geom
FROM rpt.alarm a
WHERE a.state <> 'cleared' AND NOT a.replay AND a.geom IS NOT NULL;

COMMENT ON VIEW rpt.map_alarm IS 'open (and acknowledged, not cleared) live alarms with a location';

CREATE VIEW rpt.map_order AS
SELECT o.id, o.title, o.category, o.priority, o.state, o.dept, o.site, o.incident, o.created_at,
       o.due_at, o.overdue OR (o.due_at < now()) AS overdue,
       coalesce(o.geom, s.geom) AS geom
FROM wo.work_order o
LEFT JOIN core.site s ON s.code = o.site
WHERE o.state NOT IN ('closed', 'cancelled') AND coalesce(o.geom, s.geom) IS NOT NULL;

COMMENT ON VIEW rpt.map_order IS 'work orders not closed or cancelled, at their own or their site''s location';

-- The mobile pollution grid: the last 24 hours of mobile vehicles' readings
-- at their tracked positions, averaged per square cell of grid_deg degrees
-- and parameter. A reading takes the vehicle's fix at its time (within
-- fix_window_s).
CREATE TABLE rpt.map_setting (
    name   text PRIMARY KEY,
    value  numeric NOT NULL,
    note   text NOT NULL
);
INSERT INTO rpt.map_setting VALUES
 ('grid_deg', 0.005, 'cell side of the mobile pollution grid, degrees (about 500 m)'),
 ('fix_window_s', 120, 'a mobile reading is placed at the vehicle''s fix at most this far in time');

CREATE VIEW rpt.map_grid AS
WITH g AS (SELECT value AS deg FROM rpt.map_setting WHERE name = 'grid_deg'),
r AS (
    SELECT r.site_id, p.code AS param, p.unit, r.value, f.geom
    FROM obs.reading r
    JOIN core.site s ON s.id = r.site_id AND s.kind = 'mobile'
    JOIN core.param p ON p.id = r.param_id
    CROSS JOIN LATERAL (
        SELECT t.geom FROM obs.track t
        WHERE t.site_id = r.site_id
          AND t.ts BETWEEN r.ts - make_interval(secs => (SELECT value FROM rpt.map_setting
                                                          WHERE name = 'fix_window_s')::double precision)
                       AND r.ts + make_interval(secs => (SELECT value FROM rpt.map_setting
                                                          WHERE name = 'fix_window_s')::double precision)
        ORDER BY abs(extract(epoch FROM t.ts - r.ts)) LIMIT 1
    ) f
    WHERE r.ts >= now() - interval '24 hours' AND r.flag = 'N'
), c AS (
    SELECT r.param, r.unit, floor(ST_X(r.geom) / g.deg)::bigint AS gx,
           floor(ST_Y(r.geom) / g.deg)::bigint AS gy, g.deg, r.value, r.site_id
    FROM r, g
)
SELECT c.gx || ':' || c.gy || ':' || c.param AS id, c.param, min(c.unit) AS unit,
       avg(c.value) AS mean, max(c.value) AS max, count(*) AS n,
       array_agg(DISTINCT s.code) AS vehicles,
       ST_MakeEnvelope(c.gx * min(c.deg), c.gy * min(c.deg), (c.gx + 1) * min(c.deg),
                       (c.gy + 1) * min(c.deg), 4326)::geometry(Polygon, 4326) AS geom
FROM c JOIN core.site s ON s.id = c.site_id
GROUP BY c.gx, c.gy, c.param;

COMMENT ON VIEW rpt.map_grid IS
    'the mobile pollution grid: per cell (rpt.map_setting grid_deg) and parameter, the last 24 hours of vehicles'' '
    'valid readings: mean, max, n, vehicles';

-- A layer as a GeoJSON FeatureCollection (RFC 7946): sites, alarms, orders
-- or grid. NULL for an unknown layer.
CREATE FUNCTION rpt.geojson(layer text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET timezone = 'Asia/Shanghai' AS $$
DECLARE
    rel text;
    res jsonb;
BEGIN
    rel := CASE layer WHEN 'sites' THEN 'rpt.map_site' WHEN 'alarms' THEN 'rpt.map_alarm'
                      WHEN 'orders' THEN 'rpt.map_order' WHEN 'grid' THEN 'rpt.map_grid' END;
    IF rel IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT jsonb_build_object(''type'', ''FeatureCollection'', ''name'', %L, '
                   '''features'', coalesce(jsonb_agg(ST_AsGeoJSON(x.*, ''geom'', 6)::jsonb), ''[]''))'
                   ' FROM %s x', layer, rel)
        INTO res;
    RETURN res;
END
$$;

COMMENT ON FUNCTION rpt.geojson(text) IS
    'a map layer (sites, alarms, orders, grid) as a GeoJSON FeatureCollection';

-- --------------------------------------------------------------- reports ---
-- The geometry the report's map draws: the regions as SVG path data
-- (ST_AsSVG: y is minus the latitude) and the sites as points, with the
-- extent of both.
CREATE FUNCTION rpt.report_map() RETURNS jsonb
LANGUAGE sql STABLE AS $$
SELECT jsonb_build_object(
    'extent', (SELECT jsonb_build_array(ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e))
               FROM (SELECT ST_Extent(g)::box2d AS e
                     FROM (SELECT geom AS g FROM core.region
                           UNION ALL SELECT geom FROM core.site WHERE active AND geom IS NOT NULL) u) x),
    'regions', coalesce((SELECT jsonb_agg(jsonb_build_object('code', r.code, 'name', r.name, 'kind', r.kind,
                                                             'd', ST_AsSVG(r.geom, 0, 4))
                                          ORDER BY (r.kind = 'sea_area') DESC, r.code)
                         FROM core.region r), '[]'),
    'sites', coalesce((SELECT jsonb_agg(jsonb_build_object('code', m.code, 'name', m.name, 'kind', m.kind,
                                                           'x', round(ST_X(m.geom)::numeric, 5),
                                                           'y', round(ST_Y(m.geom)::numeric, 5),
                                                           'status', m.status, 'colour', m.colour,
                                                           'open_alarms', m.open_alarms,
                                                           'open_orders', m.open_orders)
                                        ORDER BY m.code)
                       FROM rpt.map_site m), '[]'))
$$;

-- A report section: {rows: [...]} and, when there are none, a note saying
-- why, so that a reader knows the section was not forgotten.
CREATE FUNCTION rpt.report_section(rows jsonb, empty_note text) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN rows IS NULL OR jsonb_array_length(rows) = 0
                THEN jsonb_build_object('rows', '[]'::jsonb, 'note', empty_note)
                ELSE jsonb_build_object('rows', rows) END
$$;

-- The report of kind 'daily' (period YYYY-MM-DD) or 'monthly' (YYYY-MM):
-- {kind, period, from, to, generated_at, air, water, sources, alarms,
--  work_orders, credit, gep}, times at Beijing time (+08:00). Each section is {rows, note?}; air also has
-- series (hourly AQI per station for a day, daily AQI for a month).
-- Raises invalid_parameter_value (22023) for a bad kind or period.
CREATE FUNCTION rpt.report(kind text, period text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET timezone = 'Asia/Shanghai' AS $$
DECLARE
    d0     date;
    d1     date;
    t0     timestamptz;
    t1     timestamptz;
    daily  boolean := kind = 'daily';
    r      jsonb;
    rows   jsonb;
    series jsonb;
BEGIN
    IF kind = 'daily' AND period ~ '^\d{4}-\d{2}-\d{2}$' THEN
        d0 := period::date;
        d1 := d0 + 1;
    ELSIF kind = 'monthly' AND period ~ '^\d{4}-\d{2}$' THEN
        d0 := (period || '-01')::date;
        d1 := (d0 + interval '1 month')::date;
    ELSE
        RAISE EXCEPTION 'report %/%: kind is daily (period YYYY-MM-DD) or monthly (YYYY-MM)', kind, period
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    t0 := d0::timestamp AT TIME ZONE 'Asia/Shanghai';
    t1 := d1::timestamp AT TIME ZONE 'Asia/Shanghai';
    r := jsonb_build_object('kind', kind, 'period', period, 'from', d0, 'to', d1 - 1,
                            'generated_at', now(), 'time_zone', 'Asia/Shanghai');

    -- air: HJ 633 daily AQI per station and region, or HJ 663 monthly statistics
    IF daily THEN
        SELECT jsonb_agg(jsonb_build_object('site', a.site, 'name', coalesce(s.name, g.name),
                                            'is_region', a.is_region, 'aqi', a.aqi, 'level', a.level,
                                            'category', a.category, 'primary', a.primary_pollutants,
                                            'conc', a.conc, 'colour', rpt.aqi_colour(a.level))
                         ORDER BY a.is_region DESC, a.site)
          INTO rows
          FROM rpt.aqi_daily a
          LEFT JOIN core.site s ON NOT a.is_region AND s.code = a.site
          LEFT JOIN core.region g ON a.is_region AND g.code = a.site
         WHERE a.day = d0;
        SELECT jsonb_agg(jsonb_build_object('site', h.site, 'hour',
                                            extract(hour FROM h.hour AT TIME ZONE 'Asia/Shanghai')::integer,
                                            'aqi', h.aqi, 'level', h.level) ORDER BY h.site, h.hour)
          INTO series
          FROM rpt.aqi_hourly_between(t0, t1) h;
    ELSE
        SELECT jsonb_agg(jsonb_build_object('site', m.site, 'name', coalesce(s.name, g.name),
                                            'is_region', m.is_region, 'days', m.days,
                                            'good_days', m.good_days, 'good_ratio', m.good_ratio,
                                            'level_days', jsonb_build_array(m.level1_days, m.level2_days,
                                                m.level3_days, m.level4_days, m.level5_days, m.level6_days),
                                            'pm25', m.pm25, 'pm10', m.pm10, 'so2', m.so2, 'no2', m.no2,
                                            'co_p95', m.co_p95, 'o3_8h_p90', m.o3_8h_p90,
                                            'insufficient', m.insufficient)
                         ORDER BY m.is_region DESC, m.site)
          INTO rows
          FROM rpt.aqi_monthly m
          LEFT JOIN core.site s ON NOT m.is_region AND s.code = m.site
          LEFT JOIN core.region g ON m.is_region AND g.code = m.site
         WHERE m.month = d0;
        SELECT jsonb_agg(jsonb_build_object('site', a.site, 'day', extract(day FROM a.day)::integer,
                                            'aqi', a.aqi, 'level', a.level) ORDER BY a.site, a.day)
          INTO series
          FROM rpt.aqi_daily a
         WHERE a.day >= d0 AND a.day < d1 AND NOT a.is_region;
    END IF;
    r := r || jsonb_build_object('air', rpt.report_section(rows,
            'no air station has enough valid hourly values for this period (GB 3095-2012 Table 4)')
            || jsonb_build_object('series', coalesce(series, '[]')));

    -- water: GB 3838 / GB 3097 class against the target, single-factor method
    IF daily THEN
        SELECT jsonb_agg(jsonb_build_object('site', w.site, 'name', w.name, 'kind', w.kind,
                                            'class', w.class, 'class_name', w.class_name,
                                            'category', w.category, 'target_class', w.target_class,
                                            'target_class_name', w.target_class_name,
                                            'meets_target', w.meets_target, 'deciding', w.deciding,
                                            'exceeding', w.exceeding, 'colour', rpt.class_colour(c.colour))
                         ORDER BY w.kind, w.site)
          INTO rows FROM rpt.water_daily w
          LEFT JOIN rpt.water_class c ON c.kind = w.kind AND c.class = w.class
         WHERE w.day = d0;
    ELSE
        SELECT jsonb_agg(jsonb_build_object('site', w.site, 'name', w.name, 'kind', w.kind,
                                            'class', w.class, 'class_name', w.class_name,
                                            'category', w.category, 'target_class', w.target_class,
                                            'target_class_name', w.target_class_name,
                                            'meets_target', w.meets_target, 'deciding', w.deciding,
                                            'exceeding', w.exceeding, 'colour', rpt.class_colour(c.colour))
                         ORDER BY w.kind, w.site)
          INTO rows FROM rpt.water_monthly w
          LEFT JOIN rpt.water_class c ON c.kind = w.kind AND c.class = w.class
         WHERE w.month = d0;
    END IF;
    r := r || jsonb_build_object('water', rpt.report_section(rows,
            'no water or sea station has values for this period'));

    -- sources: outlets over their limits (day rows of a day, the month row of a month)
    SELECT jsonb_agg(jsonb_build_object('enterprise', x.enterprise, 'enterprise_name', x.enterprise_name,
                                        'outlet', x.outlet, 'param', x.param, 'unit', x.unit,
                                        'limit', x.upper, 'limit_period', x.limit_period,
                                        'hours_over', x.hours_over, 'days_over', x.days_over,
                                        'max_value', x.max_value, 'max_multiple', x.max_multiple,
                                        'excess_kg', x.excess_kg)
                     ORDER BY x.max_multiple DESC NULLS LAST, x.outlet, x.param)
      INTO rows
      FROM rpt.source_exceedance_between(d0, d1) x
     WHERE x.span = CASE WHEN daily THEN 'day' ELSE 'month' END AND x.t = d0
       AND (x.hours_over > 0 OR x.days_over > 0);
    r := r || jsonb_build_object('sources', rpt.report_section(rows,
            'no outlet exceeded its limit in this period'));

    -- alarms opened in the period (live only), by rule, and the list
    SELECT jsonb_agg(jsonb_build_object('id', a.id, 'site', a.site, 'param', a.param, 'rule', a.rule,
                                        'severity', a.severity, 'state', a.state,
                                        'opened_at', a.opened_at, 'cleared_at', a.cleared_at,
                                        'incident', a.incident, 'peak', a.peak, 'unit', a.unit)
                     ORDER BY a.opened_at, a.id)
      INTO rows
      FROM (SELECT * FROM rpt.alarm a WHERE a.opened_at >= t0 AND a.opened_at < t1 AND NOT a.replay
            ORDER BY a.severity DESC, a.opened_at LIMIT 200) a;
    r := r || jsonb_build_object('alarms', rpt.report_section(rows, 'no alarm was raised in this period')
            || jsonb_build_object(
                 'by_rule', coalesce((SELECT jsonb_object_agg(x.rule, x.n) FROM
                                        (SELECT a.rule, count(*) AS n FROM alarm.alarm a
                                          WHERE a.opened_at >= t0 AND a.opened_at < t1 AND NOT a.replay
                                          GROUP BY a.rule) x), '{}'),
                 'incidents', (SELECT count(*) FROM alarm.incident i
                                WHERE i.opened_at >= t0 AND i.opened_at < t1 AND NOT i.replay),
                 'open_now', (SELECT count(*) FROM alarm.alarm a WHERE a.state <> 'cleared' AND NOT a.replay)));

    -- work orders created in the period, and the departments' figures
    SELECT jsonb_agg(jsonb_build_object('id', o.id, 'title', o.title, 'category', o.category,
                                        'priority', o.priority, 'state', o.state, 'dept', o.dept,
                                        'site', o.site, 'created_at', o.created_at, 'due_at', o.due_at,
                                        'closed_at', o.closed_at, 'overdue', o.overdue)
                     ORDER BY o.created_at, o.id)
      INTO rows
      FROM (SELECT * FROM wo.work_order o WHERE o.created_at >= t0 AND o.created_at < t1
            ORDER BY o.created_at LIMIT 200) o;
    r := r || jsonb_build_object('work_orders', rpt.report_section(rows, 'no work order was opened in this period')
            || jsonb_build_object(
                 'by_state', coalesce((SELECT jsonb_object_agg(x.state, x.n) FROM
                                         (SELECT o.state, count(*) AS n FROM wo.work_order o
                                           WHERE o.created_at >= t0 AND o.created_at < t1
                                           GROUP BY o.state) x), '{}'),
                 'departments', coalesce((SELECT jsonb_agg(jsonb_build_object(
                        'dept', x.dept, 'opened', x.opened, 'closed', x.closed, 'on_time', x.on_time,
                        'overdue', x.overdue, 'reopened', x.reopened) ORDER BY x.dept) FROM
                        (SELECT o.dept, count(*) AS opened,
                                count(*) FILTER (WHERE o.state = 'closed') AS closed,
                                count(*) FILTER (WHERE o.replied_at <= o.due_at) AS on_time,
                                count(*) FILTER (WHERE o.overdue) AS overdue, sum(o.reopened) AS reopened
                           FROM wo.work_order o
                          WHERE o.created_at >= t0 AND o.created_at < t1 AND o.dept IS NOT NULL
                            AND o.state <> 'cancelled'
                          GROUP BY o.dept) x), '[]')));

    -- credit: the twelve months up to the period's end (monthly reports)
    IF daily THEN
        r := r || jsonb_build_object('credit', jsonb_build_object('rows', '[]'::jsonb,
                'note', 'the enterprise credit rating is in the monthly report'));
    ELSE
        SELECT jsonb_agg(to_jsonb(c) ORDER BY c.score, c.enterprise)
          INTO rows
          FROM rpt.enterprise_credit_between((d1 - interval '12 months')::date, d1) c;
        r := r || jsonb_build_object('credit', rpt.report_section(rows, 'no enterprise is registered'));
    END IF;

    -- gep: the accounting of the period's year, once eco-gep has run
    IF to_regclass('rpt.gep_summary') IS NULL THEN
        r := r || jsonb_build_object('gep', jsonb_build_object('rows', '[]'::jsonb,
                'note', 'GEP accounting is not installed in this database yet'));
    ELSE
        EXECUTE 'SELECT jsonb_agg(to_jsonb(g)) FROM rpt.gep_summary g WHERE g.year = $1'
           INTO rows USING extract(year FROM d0)::integer;
        r := r || jsonb_build_object('gep', rpt.report_section(rows,
                'no GEP run for this year yet (ecoctl gep run)'));
    END IF;
    RETURN r;
END
$$;

COMMENT ON FUNCTION rpt.report(text, text) IS
    'a daily (YYYY-MM-DD) or monthly (YYYY-MM) report as one JSON document (docs/REPORTS.md)';

GRANT SELECT ON rpt.credit_setting, rpt.credit_grade, rpt.enterprise_credit, rpt.map_site, rpt.map_alarm,
    rpt.map_order, rpt.map_grid, rpt.map_setting
    TO eco_detect, eco_dispatch, eco_gep, eco_report, eco_ctl, eco_analyst;
GRANT INSERT, UPDATE, DELETE ON rpt.credit_setting, rpt.credit_grade, rpt.map_setting TO eco_ctl;

-- ------------------------------------------------------------ scheduling ---
-- What eco-report made, and is making: one row per report. Several
-- instances claim reports here, so each is made once; a claim that is not
-- finished within 30 minutes (its instance died) is taken over, and a
-- failed report is tried again after 10 minutes, five times at most.
CREATE TABLE rpt.report_run (
    kind        text NOT NULL CHECK (kind IN ('daily', 'monthly')),
    period      text NOT NULL,
    state       text NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    instance    text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    attempts    integer NOT NULL DEFAULT 1,
    html        text,
    error       text,
    PRIMARY KEY (kind, period)
);
COMMENT ON TABLE rpt.report_run IS 'reports made by eco-report: state, instance, times, the page written or the error';

-- Claims the next report due for p_instance: the daily report of each day
-- (Beijing) closed at least p_delay_min minutes ago and the monthly report
-- of each month closed as long ago, going back p_catchup_days, oldest
-- first. No row: nothing is due.
CREATE FUNCTION rpt.report_claim(p_instance text, p_delay_min integer, p_catchup_days integer)
RETURNS TABLE (kind text, period text)
LANGUAGE plpgsql AS $$
DECLARE
    bj timestamp := now() AT TIME ZONE 'Asia/Shanghai';
    c  record;
BEGIN
    FOR c IN
        WITH due AS (
            SELECT 'daily'::text AS k, to_char(d, 'YYYY-MM-DD') AS p, d AS t
            FROM generate_series((bj - make_interval(days => p_catchup_days))::date::timestamp,
                                 (bj - interval '1 day')::date::timestamp, interval '1 day') d
            WHERE d + interval '1 day' + make_interval(mins => p_delay_min) <= bj
            UNION ALL
            SELECT 'monthly', to_char(m, 'YYYY-MM'), m
            FROM generate_series(date_trunc('month', bj - make_interval(days => p_catchup_days)),
                                 date_trunc('month', bj) - interval '1 month', interval '1 month') m
            WHERE m + interval '1 month' + make_interval(mins => p_delay_min) <= bj
        )
        SELECT due.k, due.p FROM due
        LEFT JOIN rpt.report_run r ON r.kind = due.k AND r.period = due.p
        WHERE r.kind IS NULL
           OR (r.state = 'running' AND r.started_at < now() - interval '30 minutes')
           OR (r.state = 'failed' AND r.finished_at < now() - interval '10 minutes' AND r.attempts < 5)
        ORDER BY due.t, due.k
    LOOP
        INSERT INTO rpt.report_run AS r (kind, period, state, instance)
        VALUES (c.k, c.p, 'running', p_instance)
        ON CONFLICT ON CONSTRAINT report_run_pkey DO UPDATE
           SET state = 'running', instance = p_instance, started_at = now(), finished_at = NULL,
               error = NULL, attempts = r.attempts + 1
         WHERE (r.state = 'running' AND r.started_at < now() - interval '30 minutes')
            OR (r.state = 'failed' AND r.finished_at < now() - interval '10 minutes' AND r.attempts < 5);
        IF FOUND THEN
            kind := c.k;
            period := c.p;
            RETURN NEXT;
            RETURN;
        END IF;
    END LOOP;
END
$$;

-- Records how a report went (a report asked for on demand, not claimed,
-- gets its row here too).
CREATE FUNCTION rpt.report_done(p_kind text, p_period text, p_instance text, p_html text, p_error text)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO rpt.report_run AS r (kind, period, state, instance, finished_at, html, error)
    VALUES (p_kind, p_period, CASE WHEN p_error IS NULL THEN 'done' ELSE 'failed' END, p_instance, now(),
            p_html, p_error)
    ON CONFLICT ON CONSTRAINT report_run_pkey DO UPDATE
       SET state = EXCLUDED.state, instance = p_instance, finished_at = now(), html = p_html,
           error = p_error
$$;

GRANT SELECT, INSERT, UPDATE ON rpt.report_run TO eco_report;
GRANT SELECT ON rpt.report_run TO eco_ctl, eco_analyst;

-- ------------------------------------------ daily statistics, materialised ---
-- The daily statistics behind every daily AQI (rpt.aqi_daily_conc) are kept
-- in rpt.aqi_day_store as readings arrive, so that a year of daily AQI reads
-- a few hundred thousand stored rows instead of recomputing millions of
-- hourly values. A trigger on obs.reading marks the (station, day) pairs a
-- statement touched in rpt.aqi_day_dirty; rpt.aqi_refresh() (eco-report,
-- every ECO_REPORT_REFRESH_S) recomputes them. rpt.aqi_daily_conc reads the
-- store for clean days and computes dirty ones on the spot: a query never
-- sees a stale value, only a slower one while the refresh catches up.

-- rpt.aqi_daily_conc's logic for the Beijing days d0 <= day < d1 (a day's
-- statistics read only that day's hours).
CREATE FUNCTION rpt.aqi_daily_conc_between(d0 date, d1 date)
RETURNS TABLE (site_id integer, day date, param text, conc double precision, hours bigint)
LANGUAGE sql STABLE AS $$
WITH d AS (
    SELECT i.site_id, i.param, (i.hour AT TIME ZONE 'Asia/Shanghai')::date AS day, i.hour,
           i.value
    FROM rpt.aqi_input i
    WHERE i.hour >= d0::timestamp AT TIME ZONE 'Asia/Shanghai'
      AND i.hour < d1::timestamp AT TIME ZONE 'Asia/Shanghai'
), day24 AS (
    SELECT d.site_id, d.day, d.param, avg(d.value) AS conc, count(*) AS n
    FROM d
    GROUP BY d.site_id, d.day, d.param
), o AS (
    SELECT d.site_id, d.day, d.hour, d.value FROM d WHERE d.param = 'o3'
), w8 AS (
    SELECT od.site_id, od.day, k AS win, avg(o.value) AS conc, count(o.value) AS n
    FROM (SELECT DISTINCT o.site_id, o.day FROM o) od
    CROSS JOIN generate_series(0, 16) k
    LEFT JOIN o
      ON o.site_id = od.site_id AND o.day = od.day
     AND o.hour >= (od.day::timestamp + make_interval(hours => k)) AT TIME ZONE 'Asia/Shanghai'
     AND o.hour < (od.day::timestamp + make_interval(hours => k + 8)) AT TIME ZONE 'Asia/Shanghai'
    GROUP BY od.site_id, od.day, k
), o38 AS (
    SELECT w8.site_id, w8.day, max(w8.conc) AS conc, count(*) AS windows
    FROM w8
    WHERE w8.n >= rpt.aqi_setting('min_hours_8h')::integer
    GROUP BY w8.site_id, w8.day
)
SELECT day24.site_id, day24.day, day24.param, day24.conc, day24.n
FROM day24
WHERE day24.param <> 'o3' AND day24.n >= rpt.aqi_setting('min_hours_24h')::integer
UNION ALL
SELECT o.site_id, o.day, 'o3_1h', max(o.value), count(*)
FROM o
GROUP BY o.site_id, o.day
UNION ALL
SELECT o38.site_id, o38.day, 'o3_8h', o38.conc, o38.windows
FROM o38
WHERE o38.windows >= rpt.aqi_setting('min_windows_o3_8h')::integer
   OR o38.conc > rpt.aqi_setting('o3_8h_limit')::numeric
$$;

COMMENT ON FUNCTION rpt.aqi_daily_conc_between(date, date) IS
    'rpt.aqi_daily_conc computed for the Beijing days d0 <= day < d1 from the hourly readings';

CREATE TABLE rpt.aqi_day_store (
    site_id integer NOT NULL,
    day     date NOT NULL,
    param   text NOT NULL,
    conc    double precision NOT NULL,
    hours   bigint NOT NULL,
    PRIMARY KEY (site_id, day, param)
);
CREATE INDEX aqi_day_store_day_idx ON rpt.aqi_day_store (day);
COMMENT ON TABLE rpt.aqi_day_store IS
    'materialised rpt.aqi_daily_conc of the (station, day) pairs not in rpt.aqi_day_dirty';

CREATE TABLE rpt.aqi_day_dirty (
    site_id integer NOT NULL,
    day     date NOT NULL,
    PRIMARY KEY (site_id, day)
);
COMMENT ON TABLE rpt.aqi_day_dirty IS
    '(station, day) pairs whose readings changed since rpt.aqi_day_store was computed';

-- Each station-day's AQI from its stored statistics: the IAQI functions
-- cost milliseconds a row, so a year of daily AQI is computed once, by the
-- refresh, not by every query.
CREATE TABLE rpt.aqi_day_site (
    site_id            integer NOT NULL,
    day                date NOT NULL,
    conc               jsonb NOT NULL,
    iaqi               jsonb NOT NULL,
    aqi                integer,
    primary_pollutants text[] NOT NULL,
    level              integer,
    PRIMARY KEY (site_id, day)
);
CREATE INDEX aqi_day_site_day_idx ON rpt.aqi_day_site (day);
COMMENT ON TABLE rpt.aqi_day_site IS
    'materialised rpt.aqi_daily station rows of the (station, day) pairs not in rpt.aqi_day_dirty';

-- Marks the air stations' days a statement on obs.reading touched. Owned
-- by the migration's role: ingest needs no right on rpt for it.
CREATE FUNCTION rpt.aqi_mark_dirty() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO rpt.aqi_day_dirty (site_id, day)
        SELECT DISTINCT o.site_id, (o.ts AT TIME ZONE 'Asia/Shanghai')::date
        FROM old_rows o JOIN core.site s ON s.id = o.site_id AND s.kind = 'air'
        WHERE o.period = 'h'
        ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO rpt.aqi_day_dirty (site_id, day)
        SELECT DISTINCT n.site_id, (n.ts AT TIME ZONE 'Asia/Shanghai')::date
        FROM new_rows n JOIN core.site s ON s.id = n.site_id AND s.kind = 'air'
        WHERE n.period = 'h'
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER reading_aqi_ins AFTER INSERT ON obs.reading
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rpt.aqi_mark_dirty();
CREATE TRIGGER reading_aqi_upd AFTER UPDATE ON obs.reading
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rpt.aqi_mark_dirty();
CREATE TRIGGER reading_aqi_del AFTER DELETE ON obs.reading
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rpt.aqi_mark_dirty();

-- A changed AQI rule changes every day: all of them are recomputed.
CREATE FUNCTION rpt.aqi_mark_all_dirty() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO rpt.aqi_day_dirty (site_id, day)
    SELECT DISTINCT r.site_id, (r.ts AT TIME ZONE 'Asia/Shanghai')::date
    FROM obs.reading r JOIN core.site s ON s.id = r.site_id AND s.kind = 'air'
    WHERE r.period = 'h'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER aqi_setting_dirty AFTER INSERT OR UPDATE OR DELETE ON rpt.aqi_setting
    FOR EACH STATEMENT EXECUTE FUNCTION rpt.aqi_mark_all_dirty();

-- Recomputes up to max_pairs dirty (station, day) pairs, oldest days
-- first, and returns how many. Instances may run it at once: each takes
-- pairs the others have not locked. A reading that arrives meanwhile marks
-- its day again (after this transaction), so nothing is lost.
CREATE FUNCTION rpt.aqi_refresh(max_pairs integer DEFAULT 500) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    sites integer[];
    days  date[];
BEGIN
    WITH p AS (
        DELETE FROM rpt.aqi_day_dirty d
        WHERE (d.site_id, d.day) IN (SELECT x.site_id, x.day FROM rpt.aqi_day_dirty x
                                     ORDER BY x.day LIMIT max_pairs FOR UPDATE SKIP LOCKED)
        RETURNING d.site_id, d.day
    )
    SELECT array_agg(p.site_id), array_agg(p.day) INTO sites, days FROM p;
    IF sites IS NULL THEN
        RETURN 0;
    END IF;
    DELETE FROM rpt.aqi_day_store s
    USING unnest(sites, days) AS p (site_id, day)
    WHERE s.site_id = p.site_id AND s.day = p.day;
    INSERT INTO rpt.aqi_day_store (site_id, day, param, conc, hours)
    SELECT c.site_id, c.day, c.param, c.conc, c.hours
    FROM rpt.aqi_daily_conc_between((SELECT min(x) FROM unnest(days) x),
                                    (SELECT max(x) FROM unnest(days) x) + 1) c
    JOIN unnest(sites, days) AS p (site_id, day) ON p.site_id = c.site_id AND p.day = c.day;
    DELETE FROM rpt.aqi_day_site s
    USING unnest(sites, days) AS p (site_id, day)
    WHERE s.site_id = p.site_id AND s.day = p.day;
    INSERT INTO rpt.aqi_day_site (site_id, day, conc, iaqi, aqi, primary_pollutants, level)
    SELECT g.site_id, g.day, g.conc, i.iaqi, a.aqi, coalesce(a.primary_pollutants, '{}'),
           rpt.aqi_level(a.aqi)
    FROM (SELECT st.site_id, st.day, jsonb_object_agg(st.param, st.conc) AS conc
          FROM rpt.aqi_day_store st
          JOIN unnest(sites, days) AS p (site_id, day) ON p.site_id = st.site_id AND p.day = st.day
          GROUP BY st.site_id, st.day) g
    CROSS JOIN LATERAL (SELECT rpt.aqi_daily_iaqi(g.conc) AS iaqi) i
    CROSS JOIN LATERAL rpt.aqi_of(i.iaqi) a;
    RETURN cardinality(sites);
END
$$;

COMMENT ON FUNCTION rpt.aqi_refresh(integer) IS
    'recomputes up to max_pairs dirty (station, day) pairs of rpt.aqi_day_store; returns how many';

CREATE OR REPLACE VIEW rpt.aqi_daily_conc AS
SELECT s.site_id, s.day, s.param, s.conc, s.hours
FROM rpt.aqi_day_store s
WHERE NOT EXISTS (SELECT 1 FROM rpt.aqi_day_dirty d WHERE d.site_id = s.site_id AND d.day = s.day)
UNION ALL
SELECT c.site_id, c.day, c.param, c.conc, c.hours
FROM (SELECT min(d.day) AS d0, max(d.day) + 1 AS d1 FROM rpt.aqi_day_dirty d) r
CROSS JOIN LATERAL rpt.aqi_daily_conc_between(r.d0, r.d1) c
WHERE EXISTS (SELECT 1 FROM rpt.aqi_day_dirty d WHERE d.site_id = c.site_id AND d.day = c.day);

-- rpt.aqi_daily as before (0014), but a station's clean days come from
-- rpt.aqi_day_site; its dirty days and the regions are computed.
CREATE OR REPLACE VIEW rpt.aqi_daily AS
WITH RECURSIVE dirty_st AS (
    SELECT c.site_id, c.day, jsonb_object_agg(c.param, c.conc) AS conc
    FROM rpt.aqi_daily_conc c
    WHERE EXISTS (SELECT 1 FROM rpt.aqi_day_dirty d WHERE d.site_id = c.site_id AND d.day = c.day)
    GROUP BY c.site_id, c.day
), tree AS (
    SELECT r.code AS region, r.code AS member FROM core.region r
    WHERE r.kind IN ('city', 'district', 'county')
    UNION ALL
    SELECT t.region, c.code FROM tree t JOIN core.region c ON c.parent = t.member
), rg AS (
    SELECT t.region, c.day, c.param, avg(c.conc) AS conc
    FROM tree t
    JOIN core.site s ON s.region = t.member
    JOIN rpt.aqi_daily_conc c ON c.site_id = s.id
    GROUP BY t.region, c.day, c.param
), rgj AS (
    SELECT rg.region, rg.day, jsonb_object_agg(rg.param, rg.conc) AS conc
    FROM rg GROUP BY rg.region, rg.day
), computed AS (
    SELECT s.code AS site, false AS is_region, st.day, st.conc
    FROM dirty_st st JOIN core.site s ON s.id = st.site_id
    UNION ALL
    SELECT rgj.region, true, rgj.day, rgj.conc FROM rgj
)
SELECT s.code AS site, a.day, a.aqi, a.primary_pollutants, a.level, c.category, false AS is_region,
       a.iaqi, a.conc
FROM rpt.aqi_day_site a
JOIN core.site s ON s.id = a.site_id
LEFT JOIN rpt.aqi_category c ON c.level = a.level
WHERE NOT EXISTS (SELECT 1 FROM rpt.aqi_day_dirty d WHERE d.site_id = a.site_id AND d.day = a.day)
UNION ALL
SELECT x.site, x.day, a.aqi, coalesce(a.primary_pollutants, '{}'), rpt.aqi_level(a.aqi),
       c.category, x.is_region, i.iaqi, x.conc
FROM computed x
CROSS JOIN LATERAL (SELECT rpt.aqi_daily_iaqi(x.conc) AS iaqi) i
CROSS JOIN LATERAL rpt.aqi_of(i.iaqi) a
LEFT JOIN rpt.aqi_category c ON c.level = rpt.aqi_level(a.aqi);

-- what is stored already is dirty until the first refresh
INSERT INTO rpt.aqi_day_dirty (site_id, day)
SELECT DISTINCT r.site_id, (r.ts AT TIME ZONE 'Asia/Shanghai')::date
FROM obs.reading r JOIN core.site s ON s.id = r.site_id AND s.kind = 'air'
WHERE r.period = 'h';

GRANT SELECT ON rpt.aqi_day_store, rpt.aqi_day_dirty, rpt.aqi_day_site
    TO eco_detect, eco_dispatch, eco_gep, eco_report, eco_ctl, eco_analyst;
GRANT EXECUTE ON FUNCTION rpt.aqi_refresh(integer) TO eco_report, eco_ctl;
REVOKE EXECUTE ON FUNCTION rpt.aqi_refresh(integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION rpt.aqi_mark_dirty(), rpt.aqi_mark_all_dirty() FROM PUBLIC;
