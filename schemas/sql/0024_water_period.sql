-- 0024: the water views of 0016 as functions of a period, so that a daily
-- or monthly report, the map and a period's query read only the readings
-- of their days instead of evaluating the whole archive (as 0021 did for
-- the AQI and the pollution sources). rpt.water_day_value,
-- rpt.water_month_value, rpt.water_item_eval and rpt.water_eval are now the
-- functions over all time: same columns, same values. Month rows of a
-- period are whole only for the months it covers whole.

CREATE FUNCTION rpt.water_day_value_between(d0 date, d1 date)
RETURNS TABLE (site_id integer, param text, day date, value numeric, n bigint, source text,
               valid boolean)
LANGUAGE sql STABLE AS $$
WITH h AS (
    SELECT r.site_id, r.param_id, (r.ts AT TIME ZONE 'Asia/Shanghai')::date AS day,
           avg(r.value::numeric) AS value, count(*) AS n
    FROM obs.reading r
    JOIN core.site s ON s.id = r.site_id
    WHERE s.kind IN ('water', 'sea') AND r.period = 'h' AND r.flag = 'N'
      AND r.ts >= d0::timestamp AT TIME ZONE 'Asia/Shanghai'
      AND r.ts < d1::timestamp AT TIME ZONE 'Asia/Shanghai'
    GROUP BY r.site_id, r.param_id, (r.ts AT TIME ZONE 'Asia/Shanghai')::date
), d AS (
    SELECT r.site_id, r.param_id, (r.ts AT TIME ZONE 'Asia/Shanghai')::date AS day,
           r.value::numeric AS value
    FROM obs.reading r
    JOIN core.site s ON s.id = r.site_id
    WHERE s.kind IN ('water', 'sea') AND r.period = 'd' AND r.flag = 'N'
      AND r.ts >= d0::timestamp AT TIME ZONE 'Asia/Shanghai'
      AND r.ts < d1::timestamp AT TIME ZONE 'Asia/Shanghai'
)
SELECT h.site_id, p.code, h.day, h.value, h.n, 'hour'::text, h.n >= w.min_values_day
FROM h JOIN core.param p ON p.id = h.param_id
JOIN rpt.water_site_setting w ON w.site_id = h.site_id
UNION ALL
SELECT d.site_id, p.code, d.day, d.value, 1::bigint, 'day', true
FROM d JOIN core.param p ON p.id = d.param_id
WHERE NOT EXISTS (SELECT 1 FROM h WHERE h.site_id = d.site_id AND h.param_id = d.param_id
                                    AND h.day = d.day)
$$;

CREATE FUNCTION rpt.water_month_value_between(d0 date, d1 date)
RETURNS TABLE (site_id integer, param text, month date, value numeric, days bigint, valid boolean)
LANGUAGE sql STABLE AS $$
SELECT d.site_id, d.param, date_trunc('month', d.day)::date,
       avg(d.value) FILTER (WHERE d.valid),
       count(*) FILTER (WHERE d.valid),
       count(*) FILTER (WHERE d.valid) >= min(w.min_days_month)
FROM rpt.water_day_value_between(d0, d1) d
JOIN rpt.water_site_setting w ON w.site_id = d.site_id
GROUP BY d.site_id, d.param, date_trunc('month', d.day)::date
$$;

CREATE FUNCTION rpt.water_item_eval_between(d0 date, d1 date)
RETURNS TABLE (span text, site_id integer, t date, param text, kind text, value numeric, n bigint,
               valid boolean, in_class boolean, class smallint, target_class smallint,
               exceeds_target boolean, multiple numeric, multiple_iii numeric)
LANGUAGE sql STABLE AS $$
WITH v AS (
    SELECT 'day'::text AS span, d.site_id, d.day AS t, d.param, d.value, d.n, d.valid
    FROM rpt.water_day_value_between(d0, d1) d
    UNION ALL
    SELECT 'month', m.site_id, m.month, m.param, m.value, m.days, m.valid
    FROM rpt.water_month_value_between(d0, d1) m
), c AS (
    SELECT v.span, v.site_id, v.t, v.param, v.value, v.n, v.valid, s.kind, s.target_class,
           w.multiple_decimals, bool_and(l.in_class) AS in_class,
           CASE WHEN v.valid THEN
               coalesce(min(l.class) FILTER (WHERE rpt.water_meets(v.value, l.lower, l.upper, l.lower_strict)),
                        (SELECT max(wc.class) FROM rpt.water_class wc WHERE wc.kind = s.kind))
           END AS class,
           min(l.lower) FILTER (WHERE l.class = s.target_class) AS target_lower,
           min(l.upper) FILTER (WHERE l.class = s.target_class) AS target_upper,
           min(l.lower) FILTER (WHERE l.class = 3) AS iii_lower,
           min(l.upper) FILTER (WHERE l.class = 3) AS iii_upper
    FROM v
    JOIN core.site s ON s.id = v.site_id
    JOIN rpt.water_site_setting w ON w.site_id = v.site_id
    JOIN rpt.water_limit l ON l.site_id = v.site_id AND l.param = v.param
    GROUP BY v.span, v.site_id, v.t, v.param, v.value, v.n, v.valid, s.kind, s.target_class,
             w.multiple_decimals
)
SELECT c.span, c.site_id, c.t, c.param, c.kind, c.value, c.n, c.valid, c.in_class,
       c.class::smallint, c.target_class,
       c.class > c.target_class,
       CASE WHEN c.class > c.target_class AND c.target_lower IS NULL AND c.target_upper > 0
                 AND c.value > c.target_upper
            THEN trim_scale(round((c.value - c.target_upper) / c.target_upper,
                       c.multiple_decimals)) END,
       CASE WHEN c.kind = 'water' AND c.class > 3 AND c.iii_lower IS NULL AND c.iii_upper > 0
                 AND c.value > c.iii_upper
            THEN trim_scale(round((c.value - c.iii_upper) / c.iii_upper,
                       c.multiple_decimals)) END
FROM c
$$;

CREATE FUNCTION rpt.water_eval_between(d0 date, d1 date)
RETURNS TABLE (span text, site_id integer, t date, class smallint, items jsonb, other_items jsonb,
               exceeding text[], multiples jsonb, multiples_iii jsonb, insufficient text[],
               means jsonb)
LANGUAGE sql STABLE AS $$
SELECT e.span, e.site_id, e.t,
       max(e.class) FILTER (WHERE e.valid AND e.in_class)::smallint,
       coalesce(jsonb_object_agg(e.param, e.class) FILTER (WHERE e.valid AND e.in_class), '{}'),
       coalesce(jsonb_object_agg(e.param, e.class) FILTER (WHERE e.valid AND NOT e.in_class), '{}'),
       coalesce(array_agg(e.param ORDER BY e.param) FILTER (WHERE e.valid AND e.in_class AND e.exceeds_target), '{}'),
       coalesce(jsonb_object_agg(e.param, e.multiple) FILTER (WHERE e.valid AND e.in_class AND e.multiple IS NOT NULL), '{}'),
       coalesce(jsonb_object_agg(e.param, e.multiple_iii) FILTER (WHERE e.valid AND e.in_class AND e.multiple_iii IS NOT NULL), '{}'),
       coalesce(array_agg(e.param ORDER BY e.param) FILTER (WHERE NOT e.valid), '{}'),
       coalesce(jsonb_object_agg(e.param, trim_scale(e.value)) FILTER (WHERE e.valid), '{}')
FROM rpt.water_item_eval_between(d0, d1) e
GROUP BY e.span, e.site_id, e.t
$$;

CREATE OR REPLACE VIEW rpt.water_day_value AS
SELECT * FROM rpt.water_day_value_between('-infinity', 'infinity');
CREATE OR REPLACE VIEW rpt.water_month_value AS
SELECT * FROM rpt.water_month_value_between('-infinity', 'infinity');
CREATE OR REPLACE VIEW rpt.water_item_eval AS
SELECT * FROM rpt.water_item_eval_between('-infinity', 'infinity');
CREATE OR REPLACE VIEW rpt.water_eval AS
SELECT * FROM rpt.water_eval_between('-infinity', 'infinity');

-- rpt.water_daily's and rpt.water_monthly's columns for a period, with the
-- span ('day' or 'month') and its start t.
CREATE FUNCTION rpt.water_class_between(d0 date, d1 date)
RETURNS TABLE (span text, t date, site text, name text, kind text, class smallint, class_name text,
               category text, target_class smallint, target_class_name text, meets_target boolean,
               deciding text[], exceeding text[], colour text)
LANGUAGE sql STABLE AS $$
SELECT e.span, e.t, s.code, s.name, s.kind, e.class, c.name, c.category, s.target_class, tc.name,
       e.class <= s.target_class,
       ARRAY(SELECT k FROM jsonb_each_text(e.items) AS x (k, v) WHERE v::integer = e.class ORDER BY k),
       e.exceeding, rpt.class_colour(c.colour)
FROM rpt.water_eval_between(d0, d1) e
JOIN core.site s ON s.id = e.site_id
LEFT JOIN rpt.water_class c ON c.kind = s.kind AND c.class = e.class
LEFT JOIN rpt.water_class tc ON tc.kind = s.kind AND tc.class = s.target_class
$$;

-- The map and the reports read the water classes of their days only.
CREATE OR REPLACE VIEW rpt.map_site AS
WITH aq AS (
    SELECT DISTINCT ON (h.site) h.site, h.hour, h.aqi, h.level, h.category
    FROM rpt.aqi_hourly_between(now() - interval '3 hours', now()) h
    WHERE h.aqi IS NOT NULL
    ORDER BY h.site, h.hour DESC
), wq AS (
    SELECT DISTINCT ON (w.site) w.site, w.t AS day, w.class, w.class_name, w.meets_target,
           wc.colour
    FROM rpt.water_class_between((now() AT TIME ZONE 'Asia/Shanghai')::date - 3,
                                 (now() AT TIME ZONE 'Asia/Shanghai')::date + 1) w
    LEFT JOIN rpt.water_class wc ON wc.kind = w.kind AND wc.class = w.class
    WHERE w.span = 'day'
    ORDER BY w.site, w.t DESC
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

CREATE OR REPLACE FUNCTION rpt.report(kind text, period text) RETURNS jsonb
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
    SELECT jsonb_agg(jsonb_build_object('site', w.site, 'name', w.name, 'kind', w.kind,
                                        'class', w.class, 'class_name', w.class_name,
                                        'category', w.category, 'target_class', w.target_class,
                                        'target_class_name', w.target_class_name,
                                        'meets_target', w.meets_target, 'deciding', w.deciding,
                                        'exceeding', w.exceeding, 'colour', w.colour)
                     ORDER BY w.kind, w.site)
      INTO rows
      FROM rpt.water_class_between(d0, d1) w
     WHERE w.span = CASE WHEN daily THEN 'day' ELSE 'month' END AND w.t = d0;
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

GRANT EXECUTE ON FUNCTION rpt.water_day_value_between(date, date),
    rpt.water_month_value_between(date, date), rpt.water_item_eval_between(date, date),
    rpt.water_eval_between(date, date), rpt.water_class_between(date, date)
    TO eco_detect, eco_dispatch, eco_gep, eco_report, eco_ctl, eco_analyst;
