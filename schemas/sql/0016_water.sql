-- 0016: water quality classes of surface-water (GB 3838-2002) and seawater
-- (GB 3097-1997) stations by the single-factor method, per day and per
-- month, against each site's target class (docs/WATER.md).
--
-- The class limits are the graded rows of core.limit (class set): a site's
-- own rows (a reservoir's lake column for TP and TN) before its kind's, the
-- daily rows before others, as eco-detect and ecosim read them. What the
-- standards' texts leave open, or what was not checked against them, is rows
-- of rpt.water_item and rpt.water_setting with their sources.
--
-- Arithmetic is exact: readings become numeric (the 15 significant digits
-- a double holds) before they are averaged and compared, so the mean of 0.1,
-- 0.2 and 0.3 mg/L of TP is 0.2, class III, where binary floating point has
-- 0.20000000000000004, over the limit, class IV.

CREATE TABLE rpt.water_class (
    kind        text NOT NULL CHECK (kind IN ('water', 'sea')),
    class       smallint NOT NULL CHECK (class BETWEEN 1 AND 6),
    name        text NOT NULL,
    category    text,
    category_en text,
    colour      text,
    source      text NOT NULL,
    PRIMARY KEY (kind, class)
);
COMMENT ON TABLE rpt.water_class IS
    'water quality classes: GB 3838-2002 I..V and 6 = worse than V (劣V) for surface water, '
    'GB 3097-1997 1..4 and 5 = worse than class 4 (劣四类) for seawater';
INSERT INTO rpt.water_class VALUES
 ('water', 1, 'I', '优', 'excellent', 'blue', 'GB 3838-2002; descriptions and colours: MEE 地表水环境质量评价办法（试行） 2011'),
 ('water', 2, 'II', '优', 'excellent', 'blue', 'GB 3838-2002; MEE 地表水环境质量评价办法（试行） 2011'),
 ('water', 3, 'III', '良好', 'good', 'green', 'GB 3838-2002; MEE 地表水环境质量评价办法（试行） 2011'),
 ('water', 4, 'IV', '轻度污染', 'lightly polluted', 'yellow', 'GB 3838-2002; MEE 地表水环境质量评价办法（试行） 2011'),
 ('water', 5, 'V', '中度污染', 'moderately polluted', 'orange', 'GB 3838-2002; MEE 地表水环境质量评价办法（试行） 2011'),
 ('water', 6, '劣V', '重度污染', 'heavily polluted', 'red', 'worse than class V; MEE 地表水环境质量评价办法（试行） 2011'),
 ('sea', 1, '第一类', NULL, NULL, 'blue', 'GB 3097-1997; colours as marine bulletins use them (unverified)'),
 ('sea', 2, '第二类', NULL, NULL, 'green', 'GB 3097-1997; colours as marine bulletins use them (unverified)'),
 ('sea', 3, '第三类', NULL, NULL, 'yellow', 'GB 3097-1997; colours as marine bulletins use them (unverified)'),
 ('sea', 4, '第四类', NULL, NULL, 'orange', 'GB 3097-1997; colours as marine bulletins use them (unverified)'),
 ('sea', 5, '劣四类', NULL, NULL, 'red', 'worse than class 4; colours as marine bulletins use them (unverified)');

-- How an item enters the evaluation, where it differs from the default (in
-- the class; a lower limit is "at least", a value equal to it meets it).
CREATE TABLE rpt.water_item (
    kind         text NOT NULL CHECK (kind IN ('water', 'sea')),
    param        text NOT NULL,   -- core.param code
    in_class     boolean NOT NULL DEFAULT true,
    lower_strict boolean NOT NULL DEFAULT false,
    note         text NOT NULL,
    source       text NOT NULL,
    PRIMARY KEY (kind, param)
);
COMMENT ON TABLE rpt.water_item IS
    'items evaluated apart from the class (in_class false) and lower limits that must be exceeded (lower_strict)';
INSERT INTO rpt.water_item VALUES
 ('water', 'tn', false, false, 'TN is evaluated apart (nutrient status of lakes and reservoirs), not in the class',
  'MEE 地表水环境质量评价办法（试行） 2011; 地表水环境质量监测数据统计技术规定（试行） 2020: Table 1 items except water temperature, TN and faecal coliforms'),
 ('water', 'water_temp', false, false, 'water temperature is not a class item',
  'MEE 地表水环境质量评价办法（试行） 2011'),
 ('sea', 'do', true, true, 'DO must be above the limit (>): 5 mg/L exactly is class 3, not class 2',
  'GB 3097-1997 as widely reproduced (unverified)');

-- Validity and the rules left open: a setting per name, a site's own row
-- before the network's.
CREATE TABLE rpt.water_setting (
    name   text NOT NULL,
    site   text REFERENCES core.site (code) ON DELETE CASCADE,
    value  text NOT NULL,
    note   text NOT NULL,
    source text NOT NULL
);
CREATE UNIQUE INDEX water_setting_key ON rpt.water_setting (name, coalesce(site, ''));
INSERT INTO rpt.water_setting (name, value, note, source) VALUES
 ('min_values_day', '4', 'valid hourly values a daily mean of an item needs (an automatic station measures every 1 to 4 hours)',
  'project choice, not in the spec: confirm with the Zhoushan monitoring centre'),
 ('min_days_month', '20', 'valid daily means a monthly mean of an item needs',
  'project choice, not in the spec: confirm with the Zhoushan monitoring centre (a station sampled by hand once a month needs a site row of 1)'),
 ('multiple_decimals', '2', 'decimals of exceedance multiples (half up)', 'published practice (倍数 to two decimals)');

CREATE FUNCTION rpt.water_setting(name text, site_id integer) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT w.value FROM rpt.water_setting w
    LEFT JOIN core.site s ON s.code = w.site
    WHERE w.name = $1 AND (w.site IS NULL OR s.id = $2)
    ORDER BY w.site IS NULL
    LIMIT 1
$$;

-- The settings of each water and sea station, once per station (a join,
-- not a lookup per row).
CREATE VIEW rpt.water_site_setting AS
SELECT s.id AS site_id, s.code AS site,
       rpt.water_setting('min_values_day', s.id)::integer AS min_values_day,
       rpt.water_setting('min_days_month', s.id)::integer AS min_days_month,
       rpt.water_setting('multiple_decimals', s.id)::integer AS multiple_decimals
FROM core.site s WHERE s.kind IN ('water', 'sea');

-- The class limits of each water and sea station: per item and class, the
-- site's own row before its kind's, a daily row before others.
CREATE VIEW rpt.water_limit AS
SELECT DISTINCT ON (s.id, l.param, l.class)
       s.id AS site_id, s.code AS site, s.kind, l.param, l.class,
       l.lower::numeric AS lower, l.upper::numeric AS upper,
       coalesce(i.in_class, true) AS in_class, coalesce(i.lower_strict, false) AS lower_strict,
       l.standard
FROM core.site s
JOIN core.limit l ON l.class IS NOT NULL
                 AND (l.site = s.code OR (l.site IS NULL AND l.site_kind = s.kind))
LEFT JOIN rpt.water_item i ON i.kind = s.kind AND i.param = l.param
WHERE s.kind IN ('water', 'sea')
ORDER BY s.id, l.param, l.class, l.site IS NULL, l.period <> 'day', l.period;

COMMENT ON VIEW rpt.water_limit IS
    'class limits per water/sea station, item and class (site rows before kind rows, daily rows first)';

-- Does a value meet a class limit? Equal to an upper limit meets it (the
-- better class); equal to a lower limit too unless lower_strict.
CREATE FUNCTION rpt.water_meets(v numeric, lower numeric, upper numeric, lower_strict boolean)
    RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (lower IS NULL OR v > lower OR (v = lower AND NOT lower_strict))
       AND (upper IS NULL OR v <= upper)
$$;

-- The class of one value of an item at a site: the best class whose limits
-- it meets, the class worse than the last when it meets none; NULL when the
-- site has no class limits for the item.
CREATE FUNCTION rpt.water_item_class(site text, param text, v numeric) RETURNS smallint
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v IS NULL OR count(*) = 0 THEN NULL
                ELSE coalesce(min(l.class) FILTER (WHERE rpt.water_meets(v, l.lower, l.upper, l.lower_strict)),
                              (SELECT max(c.class) FROM rpt.water_class c WHERE c.kind = min(l.kind)))
           END::smallint
    FROM rpt.water_limit l WHERE l.site = $1 AND l.param = $2
$$;

-- Daily means per water/sea station and item (natural day, Beijing time):
-- the mean of the valid (flag N) hourly values, valid with min_values_day of
-- them; a day without hourly values takes the station's daily value (HJ 212
-- 2031, or an imported sample) as it is.
CREATE VIEW rpt.water_day_value AS
WITH h AS (
    SELECT r.site_id, r.param_id, (r.ts AT TIME ZONE 'Asia/Shanghai')::date AS day,
           avg(r.value::numeric) AS value, count(*) AS n
    FROM obs.reading r
    JOIN core.site s ON s.id = r.site_id
    WHERE s.kind IN ('water', 'sea') AND r.period = 'h' AND r.flag = 'N'
    GROUP BY r.site_id, r.param_id, (r.ts AT TIME ZONE 'Asia/Shanghai')::date
), d AS (
    SELECT r.site_id, r.param_id, (r.ts AT TIME ZONE 'Asia/Shanghai')::date AS day,
           r.value::numeric AS value
    FROM obs.reading r
    JOIN core.site s ON s.id = r.site_id
    WHERE s.kind IN ('water', 'sea') AND r.period = 'd' AND r.flag = 'N'
)
SELECT h.site_id, p.code AS param, h.day, h.value, h.n, 'hour'::text AS source,
       h.n >= w.min_values_day AS valid
FROM h JOIN core.param p ON p.id = h.param_id
JOIN rpt.water_site_setting w ON w.site_id = h.site_id
UNION ALL
SELECT d.site_id, p.code, d.day, d.value, 1, 'day', true
FROM d JOIN core.param p ON p.id = d.param_id
WHERE NOT EXISTS (SELECT 1 FROM h WHERE h.site_id = d.site_id AND h.param_id = d.param_id
                                    AND h.day = d.day);

COMMENT ON VIEW rpt.water_day_value IS
    'daily mean per water/sea station and item (Beijing day): values behind it, source (hour or the station''s day value), valid';

-- Monthly means: the mean of an item's valid daily means, valid with
-- min_days_month of them.
CREATE VIEW rpt.water_month_value AS
SELECT d.site_id, d.param, date_trunc('month', d.day)::date AS month,
       avg(d.value) FILTER (WHERE d.valid) AS value,
       count(*) FILTER (WHERE d.valid) AS days,
       count(*) FILTER (WHERE d.valid) >= min(w.min_days_month) AS valid
FROM rpt.water_day_value d
JOIN rpt.water_site_setting w ON w.site_id = d.site_id
GROUP BY d.site_id, d.param, date_trunc('month', d.day)::date;

COMMENT ON VIEW rpt.water_month_value IS
    'monthly mean per water/sea station and item: mean of the valid daily means, days behind it, valid';

-- Each item's class per day (span 'day') and per month (span 'month'), and
-- how it stands against the site's target class: exceeds_target, multiple
-- ((C - target limit) / target limit, items with only an upper limit) and,
-- for surface water worse than III, multiple_iii ((C - III limit) / III
-- limit, as the MEE evaluation publishes it; not for pH, DO).
CREATE VIEW rpt.water_item_eval AS
WITH v AS (
    SELECT 'day'::text AS span, d.site_id, d.day AS t, d.param, d.value, d.n, d.valid
    FROM rpt.water_day_value d
    UNION ALL
    SELECT 'month', m.site_id, m.month, m.param, m.value, m.days, m.valid
    FROM rpt.water_month_value m
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
       c.class::smallint AS class, c.target_class,
       c.class > c.target_class AS exceeds_target,
       CASE WHEN c.class > c.target_class AND c.target_lower IS NULL AND c.target_upper > 0
                 AND c.value > c.target_upper
            THEN trim_scale(round((c.value - c.target_upper) / c.target_upper,
                       c.multiple_decimals)) END AS multiple,
       CASE WHEN c.kind = 'water' AND c.class > 3 AND c.iii_lower IS NULL AND c.iii_upper > 0
                 AND c.value > c.iii_upper
            THEN trim_scale(round((c.value - c.iii_upper) / c.iii_upper,
                       c.multiple_decimals)) END AS multiple_iii
FROM c;

COMMENT ON VIEW rpt.water_item_eval IS
    'class per water/sea station, item and day or month (span): value, n (values or days behind it), valid, in_class, '
    'class, exceeds_target, multiple (over the target limit), multiple_iii (surface water over the class III limit)';

-- The single-factor evaluation per station and day or month: the class is
-- the worst of the valid items in the class; NULL when none is valid.
CREATE VIEW rpt.water_eval AS
SELECT e.span, e.site_id, e.t,
       max(e.class) FILTER (WHERE e.valid AND e.in_class)::smallint AS class,
       coalesce(jsonb_object_agg(e.param, e.class) FILTER (WHERE e.valid AND e.in_class), '{}') AS items,
       coalesce(jsonb_object_agg(e.param, e.class) FILTER (WHERE e.valid AND NOT e.in_class), '{}') AS other_items,
       coalesce(array_agg(e.param ORDER BY e.param) FILTER (WHERE e.valid AND e.in_class AND e.exceeds_target), '{}') AS exceeding,
       coalesce(jsonb_object_agg(e.param, e.multiple) FILTER (WHERE e.valid AND e.in_class AND e.multiple IS NOT NULL), '{}') AS multiples,
       coalesce(jsonb_object_agg(e.param, e.multiple_iii) FILTER (WHERE e.valid AND e.in_class AND e.multiple_iii IS NOT NULL), '{}') AS multiples_iii,
       coalesce(array_agg(e.param ORDER BY e.param) FILTER (WHERE NOT e.valid), '{}') AS insufficient,
       coalesce(jsonb_object_agg(e.param, trim_scale(e.value)) FILTER (WHERE e.valid), '{}') AS means
FROM rpt.water_item_eval e
GROUP BY e.span, e.site_id, e.t;

CREATE VIEW rpt.water_monthly AS
SELECT s.code AS site, s.name, s.kind, e.t AS month, e.class, c.name AS class_name, c.category,
       s.target_class, tc.name AS target_class_name,
       e.class <= s.target_class AS meets_target,
       ARRAY(SELECT k FROM jsonb_each_text(e.items) AS x (k, v) WHERE v::integer = e.class ORDER BY k)
           AS deciding,
       e.exceeding, e.multiples, e.multiples_iii, e.items, e.other_items, e.insufficient, e.means,
       s.region, s.geom
FROM rpt.water_eval e
JOIN core.site s ON s.id = e.site_id
LEFT JOIN rpt.water_class c ON c.kind = s.kind AND c.class = e.class
LEFT JOIN rpt.water_class tc ON tc.kind = s.kind AND tc.class = s.target_class
WHERE e.span = 'month';

COMMENT ON VIEW rpt.water_monthly IS
    'water class per water/sea station and month (GB 3838-2002 / GB 3097-1997, single factor): class (1..6 water, '
    '6 = 劣V; 1..5 sea, 5 = 劣四类), target_class, meets_target, deciding items, exceeding items and their multiples';

CREATE VIEW rpt.water_daily AS
SELECT s.code AS site, s.name, s.kind, e.t AS day, e.class, c.name AS class_name, c.category,
       s.target_class, tc.name AS target_class_name,
       e.class <= s.target_class AS meets_target,
       ARRAY(SELECT k FROM jsonb_each_text(e.items) AS x (k, v) WHERE v::integer = e.class ORDER BY k)
           AS deciding,
       e.exceeding, e.multiples, e.multiples_iii, e.items, e.other_items, e.insufficient, e.means,
       s.region, s.geom
FROM rpt.water_eval e
JOIN core.site s ON s.id = e.site_id
LEFT JOIN rpt.water_class c ON c.kind = s.kind AND c.class = e.class
LEFT JOIN rpt.water_class tc ON tc.kind = s.kind AND tc.class = s.target_class
WHERE e.span = 'day';

COMMENT ON VIEW rpt.water_daily IS
    'water class per water/sea station and day (Beijing), as rpt.water_monthly';

-- Readable face of the item evaluation (codes, not ids).
CREATE VIEW rpt.water_monthly_item AS
SELECT s.code AS site, e.t AS month, e.param, trim_scale(e.value) AS value, e.n AS days, e.valid,
       e.in_class, e.class, e.target_class, e.exceeds_target, e.multiple, e.multiple_iii
FROM rpt.water_item_eval e JOIN core.site s ON s.id = e.site_id
WHERE e.span = 'month';

CREATE VIEW rpt.water_daily_item AS
SELECT s.code AS site, e.t AS day, e.param, trim_scale(e.value) AS value, e.n, e.valid,
       e.in_class, e.class, e.target_class, e.exceeds_target, e.multiple, e.multiple_iii
FROM rpt.water_item_eval e JOIN core.site s ON s.id = e.site_id
WHERE e.span = 'day';

GRANT SELECT ON rpt.water_class, rpt.water_item, rpt.water_setting, rpt.water_site_setting, rpt.water_limit,
    rpt.water_day_value, rpt.water_month_value, rpt.water_item_eval, rpt.water_eval,
    rpt.water_monthly, rpt.water_daily, rpt.water_monthly_item, rpt.water_daily_item
    TO eco_detect, eco_dispatch, eco_gep, eco_report, eco_ctl, eco_analyst;
GRANT INSERT, UPDATE, DELETE ON rpt.water_setting, rpt.water_item TO eco_ctl;
