-- 0017: pollution-source exceedances per enterprise, outlet, parameter and
-- day or month, against the outlets' emission limits in core.limit
-- (docs/WATER.md, "Pollution sources"); and, at the end, the monthly and
-- yearly air-quality statistics of HJ 663-2013 (docs/AQI.md).
--
-- Inputs are hourly values: an outlet's hourly data (HJ 212 CN 2061), or,
-- for an hour without a valid one, the mean of its minute data (CN 2051)
-- when they cover min_minutes_hour of the hour. A limit of period 'hour'
-- (flue gas) is checked hour by hour; a limit of period 'day' (wastewater)
-- day by day on the outlet's daily value (CN 2031) or the mean of at least
-- min_hours_day hourly values. Only values flagged N count. Arithmetic is
-- exact (numeric).

CREATE TABLE rpt.source_setting (
    name   text NOT NULL,
    site   text REFERENCES core.site (code) ON DELETE CASCADE,
    value  text NOT NULL,
    note   text NOT NULL,
    source text NOT NULL
);
CREATE UNIQUE INDEX source_setting_key ON rpt.source_setting (name, coalesce(site, ''));
INSERT INTO rpt.source_setting (name, value, note, source) VALUES
 ('minute_interval', '10', 'minutes one minute-data value (CN 2051) covers',
  'the HJ 212 loggers'' usual 10-minute interval (ecosim --min-interval); a site row for others'),
 ('min_minutes_hour', '45', 'minutes of minute data an hourly mean needs when the hour has no hourly value',
  'HJ 75-2017 / GB 3095-2012 Table 4 (45 minutes of an hour), unverified for every emission standard'),
 ('min_hours_day', '20', 'hourly values a daily mean needs when the day has no daily value',
  'GB 3095-2012 Table 4 analogue (20 of 24 hours), unverified for emission standards'),
 ('multiple_decimals', '2', 'decimals of exceedance multiples (half up)', 'published practice');

CREATE FUNCTION rpt.source_setting(name text, site_id integer) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT w.value FROM rpt.source_setting w
    LEFT JOIN core.site s ON s.code = w.site
    WHERE w.name = $1 AND (w.site IS NULL OR s.id = $2)
    ORDER BY w.site IS NULL
    LIMIT 1
$$;

-- The settings of each outlet, once per outlet (a join, not a lookup per
-- row).
CREATE VIEW rpt.source_site_setting AS
SELECT s.id AS site_id, s.code AS site,
       rpt.source_setting('minute_interval', s.id)::integer AS minute_interval,
       rpt.source_setting('min_minutes_hour', s.id)::integer AS min_minutes_hour,
       rpt.source_setting('min_hours_day', s.id)::integer AS min_hours_day,
       rpt.source_setting('multiple_decimals', s.id)::integer AS multiple_decimals
FROM core.site s WHERE s.kind IN ('gas_outlet', 'water_outlet');

-- Emission amounts: concentration (conc_unit) x flow (flow_param) x seconds
-- x factor = kg. mg/m3 x m3/s and mg/L x L/s are both mg/s.
CREATE TABLE rpt.source_flow (
    site_kind  text PRIMARY KEY CHECK (site_kind IN ('gas_outlet', 'water_outlet')),
    flow_param text NOT NULL,
    conc_unit  text NOT NULL,
    factor     numeric NOT NULL,
    note       text NOT NULL
);
INSERT INTO rpt.source_flow VALUES
 ('gas_outlet', 'flow_stack', 'mg/m³', 0.000001,
  'mg/m3 x m3/s = mg/s; the flow as the logger reports it (a dry standard-state flow gives the standard amount)'),
 ('water_outlet', 'flow', 'mg/L', 0.000001, 'mg/L x L/s = mg/s');

-- The emission limits of each outlet: per parameter and period, the
-- outlet's own row before its kind's. Graded quality-class rows are not
-- emission limits.
CREATE VIEW rpt.source_limit AS
SELECT DISTINCT ON (s.id, l.param, l.period)
       s.id AS site_id, s.code AS site, s.enterprise, s.kind, l.param, l.period,
       l.lower::numeric AS lower, l.upper::numeric AS upper, l.standard
FROM core.site s
JOIN core.limit l ON l.class IS NULL
                 AND (l.site = s.code OR (l.site IS NULL AND l.site_kind = s.kind))
WHERE s.kind IN ('gas_outlet', 'water_outlet') AND l.period IN ('hour', 'day')
ORDER BY s.id, l.param, l.period, l.site IS NULL;

COMMENT ON VIEW rpt.source_limit IS
    'emission limits per outlet, parameter and period (hour or day): the outlet''s own row before its kind''s';

-- Hourly values of the outlets: the valid hourly value, else the mean of
-- the hour's valid minute values when they cover min_minutes_hour.
CREATE VIEW rpt.source_hour_value AS
WITH h AS (
    SELECT r.site_id, r.param_id, r.ts AS hour, r.value::numeric AS value
    FROM obs.reading r
    JOIN core.site s ON s.id = r.site_id
    WHERE s.kind IN ('gas_outlet', 'water_outlet') AND r.period = 'h' AND r.flag = 'N'
), m AS (
    SELECT r.site_id, r.param_id,
           date_trunc('hour', r.ts AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai' AS hour,
           avg(r.value::numeric) AS value, count(*) AS n
    FROM obs.reading r
    JOIN core.site s ON s.id = r.site_id
    WHERE s.kind IN ('gas_outlet', 'water_outlet') AND r.period = 'm' AND r.flag = 'N'
    GROUP BY 1, 2, 3
)
SELECT h.site_id, p.code AS param, h.hour, h.value, 'hour'::text AS source
FROM h JOIN core.param p ON p.id = h.param_id
UNION ALL
SELECT m.site_id, p.code, m.hour, m.value, 'min'
FROM m JOIN core.param p ON p.id = m.param_id
JOIN rpt.source_site_setting w ON w.site_id = m.site_id
WHERE m.n * w.minute_interval >= w.min_minutes_hour
  AND NOT EXISTS (SELECT 1 FROM h WHERE h.site_id = m.site_id AND h.param_id = m.param_id
                                    AND h.hour = m.hour);

COMMENT ON VIEW rpt.source_hour_value IS
    'hourly values per outlet and parameter (hour start): source hour (CN 2061) or min (mean of CN 2051 minute data)';

-- Daily values of the outlets (Beijing day): the outlet's valid daily value,
-- else the mean of at least min_hours_day hourly values.
CREATE VIEW rpt.source_day_value AS
WITH hv AS (
    SELECT v.site_id, v.param, (v.hour AT TIME ZONE 'Asia/Shanghai')::date AS day,
           avg(v.value) AS value, count(*) AS n
    FROM rpt.source_hour_value v
    GROUP BY 1, 2, 3
), d AS (
    SELECT r.site_id, p.code AS param, (r.ts AT TIME ZONE 'Asia/Shanghai')::date AS day,
           r.value::numeric AS value
    FROM obs.reading r
    JOIN core.site s ON s.id = r.site_id
    JOIN core.param p ON p.id = r.param_id
    WHERE s.kind IN ('gas_outlet', 'water_outlet') AND r.period = 'd' AND r.flag = 'N'
)
SELECT d.site_id, d.param, d.day, d.value, 'day'::text AS source FROM d
UNION ALL
SELECT hv.site_id, hv.param, hv.day, hv.value, 'hour'
FROM hv
JOIN rpt.source_site_setting w ON w.site_id = hv.site_id
WHERE hv.n >= w.min_hours_day
  AND NOT EXISTS (SELECT 1 FROM d WHERE d.site_id = hv.site_id AND d.param = hv.param
                                    AND d.day = hv.day);

COMMENT ON VIEW rpt.source_day_value IS
    'daily values per outlet and parameter (Beijing day): source day (CN 2031) or hour (mean of the hourly values)';

-- Every check of a value against a limit: span 'hour' for each hourly value
-- against the hourly and the daily limits (an hour over a daily limit is an
-- hour over the limit, not yet an exceedance of it), span 'day' for each
-- daily value against the daily limits. exceeds: above the upper limit or
-- below the lower one; multiple: (value - upper) / upper for limits with
-- only an upper bound; emission_kg and excess_kg: the amount emitted in the
-- period, and the part of it above the limit, where the outlet reports its
-- flow and the parameter is a concentration.
CREATE VIEW rpt.source_check AS
WITH v AS (
    -- each value beside its outlet's flow of the same period (a window over
    -- the period, not a join of the values with themselves)
    SELECT x.span, x.site_id, x.param, x.t, x.value, x.seconds,
           max(x.value) FILTER (WHERE x.is_flow) OVER (PARTITION BY x.span, x.site_id, x.t) AS flow
    FROM (SELECT 'hour'::text AS span, h.site_id, h.param, h.hour AS t, h.value, 3600 AS seconds,
                 coalesce(h.param = sf.flow_param, false) AS is_flow
          FROM rpt.source_hour_value h
          JOIN core.site s ON s.id = h.site_id
          LEFT JOIN rpt.source_flow sf ON sf.site_kind = s.kind
          UNION ALL
          SELECT 'day', d.site_id, d.param, d.day::timestamp AT TIME ZONE 'Asia/Shanghai', d.value,
                 86400, coalesce(d.param = sf.flow_param, false)
          FROM rpt.source_day_value d
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
       (c.t AT TIME ZONE 'Asia/Shanghai')::date AS day, c.value, c.lower, c.upper, c.standard,
       c.exceeds,
       CASE WHEN c.lower IS NULL AND c.upper > 0 AND c.value > c.upper
            THEN trim_scale(round((c.value - c.upper) / c.upper,
                                  c.multiple_decimals)) END
           AS multiple,
       c.emission_kg, c.excess_kg
FROM c;

COMMENT ON VIEW rpt.source_check IS
    'each hourly (span hour) and daily (span day, daily limits) value of an outlet against its limits: exceeds, multiple, emission_kg, excess_kg';

-- Per outlet, parameter, limit and Beijing day or month (span).
-- hours_over: hourly values over the limit (for a daily limit an indication);
-- days_over: for an hourly limit, days with an hour over it; for a daily
-- limit, days whose daily value breaks it. Amounts are summed over the
-- periods that break the limit (hours for an hourly limit, days for a daily).
CREATE VIEW rpt.source_exceedance_span AS
WITH k AS (
    SELECT 'day'::text AS agg, c.day AS t0, c.* FROM rpt.source_check c
    UNION ALL
    SELECT 'month', date_trunc('month', c.day)::date, c.* FROM rpt.source_check c
)
SELECT k.agg AS span, k.site_id, k.enterprise, k.param, k.limit_period, k.t0 AS t,
       min(k.lower) AS lower, min(k.upper) AS upper, min(k.standard) AS standard,
       count(*) FILTER (WHERE k.span = 'hour') AS hours,
       count(*) FILTER (WHERE k.span = 'hour' AND k.exceeds) AS hours_over,
       CASE WHEN k.limit_period = 'hour'
            THEN count(DISTINCT k.day) FILTER (WHERE k.span = 'hour')
            ELSE count(*) FILTER (WHERE k.span = 'day') END AS days,
       CASE WHEN k.limit_period = 'hour'
            THEN count(DISTINCT k.day) FILTER (WHERE k.span = 'hour' AND k.exceeds)
            ELSE count(*) FILTER (WHERE k.span = 'day' AND k.exceeds) END AS days_over,
       trim_scale(max(k.value) FILTER (WHERE k.span = k.limit_period)) AS max_value,
       max(k.multiple) FILTER (WHERE k.span = k.limit_period) AS max_multiple,
       trim_scale(sum(k.emission_kg) FILTER (WHERE k.span = k.limit_period AND k.exceeds)) AS emission_kg_over,
       trim_scale(sum(k.excess_kg) FILTER (WHERE k.span = k.limit_period AND k.exceeds)) AS excess_kg,
       min(k.t) FILTER (WHERE k.span = k.limit_period AND k.exceeds) AS first_over,
       max(k.t) FILTER (WHERE k.span = k.limit_period AND k.exceeds) AS last_over
FROM k
GROUP BY k.agg, k.site_id, k.enterprise, k.param, k.limit_period, k.t0;

COMMENT ON VIEW rpt.source_exceedance_span IS
    'exceedances per outlet, parameter and limit per Beijing day or month (span); rpt.source_exceedance is its readable face';

CREATE VIEW rpt.source_exceedance AS
SELECT x.enterprise, e.name AS enterprise_name, s.code AS outlet, s.name AS outlet_name, s.kind,
       x.param, p.unit, x.limit_period, x.lower, x.upper, x.standard, x.t AS month,
       x.hours, x.hours_over, x.days, x.days_over, x.max_value, x.max_multiple,
       x.emission_kg_over, x.excess_kg, x.first_over, x.last_over, s.region, s.geom
FROM rpt.source_exceedance_span x
JOIN core.site s ON s.id = x.site_id
JOIN core.param p ON p.code = x.param
LEFT JOIN core.enterprise e ON e.code = x.enterprise
WHERE x.span = 'month';

COMMENT ON VIEW rpt.source_exceedance IS
    'pollution-source exceedances per enterprise, outlet, parameter, limit period and month (Beijing): hours and days '
    'with values, hours_over and days_over the limit, max_value, max_multiple, emission_kg_over and excess_kg';

CREATE VIEW rpt.source_exceedance_daily AS
SELECT x.enterprise, e.name AS enterprise_name, s.code AS outlet, s.name AS outlet_name, s.kind,
       x.param, p.unit, x.limit_period, x.lower, x.upper, x.standard, x.t AS day,
       x.hours, x.hours_over, x.days AS evaluated, x.days_over > 0 AS day_over, x.max_value,
       x.max_multiple, x.emission_kg_over, x.excess_kg, x.first_over, x.last_over, s.region, s.geom
FROM rpt.source_exceedance_span x
JOIN core.site s ON s.id = x.site_id
JOIN core.param p ON p.code = x.param
LEFT JOIN core.enterprise e ON e.code = x.enterprise
WHERE x.span = 'day';

COMMENT ON VIEW rpt.source_exceedance_daily IS
    'pollution-source exceedances per outlet, parameter, limit period and Beijing day, as rpt.source_exceedance';

GRANT SELECT ON rpt.source_setting, rpt.source_site_setting, rpt.source_flow, rpt.source_limit, rpt.source_hour_value,
    rpt.source_day_value, rpt.source_check, rpt.source_exceedance_span, rpt.source_exceedance,
    rpt.source_exceedance_daily
    TO eco_detect, eco_dispatch, eco_gep, eco_report, eco_ctl, eco_analyst;
GRANT INSERT, UPDATE, DELETE ON rpt.source_setting, rpt.source_flow TO eco_ctl;

-- ---------------------------------------------------------------------
-- Monthly and yearly air-quality statistics (HJ 663-2013) from the daily
-- AQI (rpt.aqi_daily, stations and regions): days per level, the good-day
-- ratio (AQI <= 100), the days each pollutant was primary, and per
-- pollutant the mean of its daily values (SO2, NO2, PM10, PM2.5), the
-- percentiles the standard evaluates (CO 95th of daily means, O3 90th of
-- daily maximum 8-h means; SO2 and NO2 98th, PM10 and PM2.5 95th) and the
-- mean of O3 and CO for reference. A statistic needs min_days_month daily
-- values in a month (min_days_month_feb in February), min_days_year in a
-- year (GB 3095-2012 Table 4); without them it is NULL and the pollutant is
-- listed in insufficient. The daily values (means of doubles) are taken
-- to the 15 significant digits a double holds, then computed exactly: a CO
-- mean of 1.45 mg/m3 is 1.5, not the 1.4 that 1.4499999999999999556 gives.

INSERT INTO rpt.aqi_setting VALUES
 ('min_days_month', '27', 'daily values a monthly statistic needs (not February)', 'GB 3095-2012 Table 4'),
 ('min_days_month_feb', '25', 'daily values a monthly statistic needs in February', 'GB 3095-2012 Table 4'),
 ('min_days_year', '324', 'daily values a yearly statistic needs', 'GB 3095-2012 Table 4');

-- The p-th percentile of HJ 663-2013 (5.4): the values in ascending order
-- X(1) <= ... <= X(n), k = 1 + (n - 1) p / 100, s the integer part of k,
-- X(s) + (X(s+1) - X(s)) (k - s); exact. NULLs are left out.
CREATE FUNCTION rpt.hj663_percentile(v numeric[], p numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN n = 0 THEN NULL
                WHEN s >= n THEN a[n]
                ELSE a[s] + (a[s + 1] - a[s]) * (k - s) END
    FROM (SELECT a, n, k, floor(k)::integer AS s
          FROM (SELECT a, cardinality(a) AS n, 1 + (cardinality(a) - 1) * p / 100 AS k
                FROM (SELECT coalesce(array_agg(e ORDER BY e), '{}') AS a
                      FROM unnest(v) AS e WHERE e IS NOT NULL) x) y) z
$$;

-- A statistic as published: µg/m3 to integers, CO mg/m3 to one decimal,
-- half up (round_concentrations off: as computed).
CREATE FUNCTION rpt.aqi_stat_round(param text, v numeric) RETURNS numeric
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v IS NULL THEN NULL
                WHEN rpt.aqi_setting('round_concentrations') <> 'on' THEN trim_scale(v)
                WHEN param LIKE 'co%' THEN round(v, 1)
                ELSE round(v, 0) END
$$;

CREATE VIEW rpt.aqi_period AS
WITH k AS (
    SELECT 'month'::text AS span, date_trunc('month', a.day)::date AS t, a.site, a.is_region, a.aqi,
           a.level, a.primary_pollutants, a.conc
    FROM rpt.aqi_daily a
    UNION ALL
    SELECT 'year', date_trunc('year', a.day)::date, a.site, a.is_region, a.aqi, a.level,
           a.primary_pollutants, a.conc
    FROM rpt.aqi_daily a
), g AS (
    SELECT k.span, k.t, k.site, k.is_region,
           count(k.aqi) AS days,
           count(*) FILTER (WHERE k.level = 1) AS level1_days,
           count(*) FILTER (WHERE k.level = 2) AS level2_days,
           count(*) FILTER (WHERE k.level = 3) AS level3_days,
           count(*) FILTER (WHERE k.level = 4) AS level4_days,
           count(*) FILTER (WHERE k.level = 5) AS level5_days,
           count(*) FILTER (WHERE k.level = 6) AS level6_days,
           array_agg((k.conc ->> 'so2')::float8::numeric) FILTER (WHERE k.conc ? 'so2') AS so2,
           array_agg((k.conc ->> 'no2')::float8::numeric) FILTER (WHERE k.conc ? 'no2') AS no2,
           array_agg((k.conc ->> 'pm10')::float8::numeric) FILTER (WHERE k.conc ? 'pm10') AS pm10,
           array_agg((k.conc ->> 'pm25')::float8::numeric) FILTER (WHERE k.conc ? 'pm25') AS pm25,
           array_agg((k.conc ->> 'co')::float8::numeric) FILTER (WHERE k.conc ? 'co') AS co,
           array_agg((k.conc ->> 'o3_8h')::float8::numeric) FILTER (WHERE k.conc ? 'o3_8h') AS o3_8h,
           CASE WHEN k.span = 'year' THEN rpt.aqi_setting('min_days_year')
                WHEN extract(month FROM k.t) = 2 THEN rpt.aqi_setting('min_days_month_feb')
                ELSE rpt.aqi_setting('min_days_month') END::integer AS min_days
    FROM k
    GROUP BY k.span, k.t, k.site, k.is_region
), pp AS (
    SELECT x.span, x.t, x.site, x.is_region, jsonb_object_agg(x.p, x.n) AS primary_days
    FROM (SELECT k.span, k.t, k.site, k.is_region, p, count(*) AS n
          FROM k CROSS JOIN LATERAL unnest(k.primary_pollutants) AS p
          GROUP BY k.span, k.t, k.site, k.is_region, p) x
    GROUP BY x.span, x.t, x.site, x.is_region
), v AS (
    -- the statistics, NULL where too few days
    SELECT g.*,
           ARRAY(SELECT n FROM (VALUES ('so2', g.so2), ('no2', g.no2), ('pm10', g.pm10),
                                       ('pm25', g.pm25), ('co', g.co), ('o3_8h', g.o3_8h)) AS x (n, a)
                 WHERE a IS NOT NULL AND cardinality(a) < g.min_days ORDER BY n) AS insufficient
    FROM g
)
SELECT v.span, v.site, v.is_region, v.t AS period, v.days,
       v.level1_days, v.level2_days, v.level3_days, v.level4_days, v.level5_days, v.level6_days,
       v.level1_days + v.level2_days AS good_days,
       CASE WHEN v.days > 0 THEN round(100.0 * (v.level1_days + v.level2_days) / v.days, 1) END
           AS good_ratio,
       coalesce(pp.primary_days, '{}') AS primary_days,
       CASE WHEN cardinality(v.so2) >= v.min_days THEN
           rpt.aqi_stat_round('so2', (SELECT avg(e) FROM unnest(v.so2) e)) END AS so2,
       CASE WHEN cardinality(v.no2) >= v.min_days THEN
           rpt.aqi_stat_round('no2', (SELECT avg(e) FROM unnest(v.no2) e)) END AS no2,
       CASE WHEN cardinality(v.pm10) >= v.min_days THEN
           rpt.aqi_stat_round('pm10', (SELECT avg(e) FROM unnest(v.pm10) e)) END AS pm10,
       CASE WHEN cardinality(v.pm25) >= v.min_days THEN
           rpt.aqi_stat_round('pm25', (SELECT avg(e) FROM unnest(v.pm25) e)) END AS pm25,
       CASE WHEN cardinality(v.co) >= v.min_days THEN
           rpt.aqi_stat_round('co', (SELECT avg(e) FROM unnest(v.co) e)) END AS co_mean,
       CASE WHEN cardinality(v.co) >= v.min_days THEN
           rpt.aqi_stat_round('co', rpt.hj663_percentile(v.co, 95)) END AS co_p95,
       CASE WHEN cardinality(v.o3_8h) >= v.min_days THEN
           rpt.aqi_stat_round('o3', (SELECT avg(e) FROM unnest(v.o3_8h) e)) END AS o3_8h_mean,
       CASE WHEN cardinality(v.o3_8h) >= v.min_days THEN
           rpt.aqi_stat_round('o3', rpt.hj663_percentile(v.o3_8h, 90)) END AS o3_8h_p90,
       CASE WHEN cardinality(v.so2) >= v.min_days THEN
           rpt.aqi_stat_round('so2', rpt.hj663_percentile(v.so2, 98)) END AS so2_p98,
       CASE WHEN cardinality(v.no2) >= v.min_days THEN
           rpt.aqi_stat_round('no2', rpt.hj663_percentile(v.no2, 98)) END AS no2_p98,
       CASE WHEN cardinality(v.pm10) >= v.min_days THEN
           rpt.aqi_stat_round('pm10', rpt.hj663_percentile(v.pm10, 95)) END AS pm10_p95,
       CASE WHEN cardinality(v.pm25) >= v.min_days THEN
           rpt.aqi_stat_round('pm25', rpt.hj663_percentile(v.pm25, 95)) END AS pm25_p95,
       jsonb_build_object('so2', coalesce(cardinality(v.so2), 0), 'no2', coalesce(cardinality(v.no2), 0),
                          'pm10', coalesce(cardinality(v.pm10), 0), 'pm25', coalesce(cardinality(v.pm25), 0),
                          'co', coalesce(cardinality(v.co), 0), 'o3_8h', coalesce(cardinality(v.o3_8h), 0))
           AS pollutant_days,
       v.insufficient
FROM v
LEFT JOIN pp ON pp.span = v.span AND pp.t = v.t AND pp.site = v.site AND pp.is_region = v.is_region;

COMMENT ON VIEW rpt.aqi_period IS
    'HJ 663-2013 monthly (span month) and yearly (span year) statistics per air station and region: days, days per level, '
    'good_days and good_ratio (%), primary_days, pollutant means and percentiles (co_p95, o3_8h_p90, ...), insufficient';

CREATE VIEW rpt.aqi_monthly AS
SELECT p.site, p.is_region, p.period AS month, p.days, p.level1_days, p.level2_days, p.level3_days,
       p.level4_days, p.level5_days, p.level6_days, p.good_days, p.good_ratio, p.primary_days,
       p.so2, p.no2, p.pm10, p.pm25, p.co_mean, p.co_p95, p.o3_8h_mean, p.o3_8h_p90, p.so2_p98,
       p.no2_p98, p.pm10_p95, p.pm25_p95, p.pollutant_days, p.insufficient
FROM rpt.aqi_period p WHERE p.span = 'month';

CREATE VIEW rpt.aqi_yearly AS
SELECT p.site, p.is_region, extract(year FROM p.period)::integer AS year, p.days, p.level1_days,
       p.level2_days, p.level3_days, p.level4_days, p.level5_days, p.level6_days, p.good_days,
       p.good_ratio, p.primary_days, p.so2, p.no2, p.pm10, p.pm25, p.co_mean, p.co_p95,
       p.o3_8h_mean, p.o3_8h_p90, p.so2_p98, p.no2_p98, p.pm10_p95, p.pm25_p95, p.pollutant_days,
       p.insufficient
FROM rpt.aqi_period p WHERE p.span = 'year';

GRANT SELECT ON rpt.aqi_period, rpt.aqi_monthly, rpt.aqi_yearly
    TO eco_detect, eco_dispatch, eco_gep, eco_report, eco_ctl, eco_analyst;
