-- 0014: the air quality index per HJ 633-2012, per site and per city,
-- district and county (docs/AQI.md). The breakpoints, categories and the
-- rules the standard's text leaves open are rows, each with its source, so
-- that a check against the official text changes data, not code.
--
-- Arithmetic is exact: concentrations become numeric, IAQI is computed as
-- (IAQI_hi - IAQI_lo) * (C - BP_lo) / (BP_hi - BP_lo) + IAQI_lo in numeric
-- and then rounded, so 0.2 mg/m3 of CO is IAQI 5, not the 6 a binary
-- floating-point ceiling gives.

CREATE TABLE rpt.aqi_breakpoint (
    param     text NOT NULL,   -- core.param code
    averaging text NOT NULL CHECK (averaging IN ('1h', '8h', '24h')),
    iaqi_lo   integer NOT NULL,
    iaqi_hi   integer NOT NULL,
    bp_lo     numeric NOT NULL,
    bp_hi     numeric NOT NULL,
    source    text NOT NULL,
    PRIMARY KEY (param, averaging, iaqi_lo),
    CHECK (iaqi_hi > iaqi_lo AND bp_hi > bp_lo)
);
COMMENT ON TABLE rpt.aqi_breakpoint IS
    'HJ 633-2012 Table 1: IAQI segments per pollutant and averaging time (µg/m3; CO mg/m3)';

-- HJ 633-2012 Table 1, as six independent implementations reproduce it
-- (../shared/specs/aqi-water.md a.1, confirmed). SO2 1-h stops at 800 and
-- O3 8-h at 800: above them the standard computes no IAQI from that value.
INSERT INTO rpt.aqi_breakpoint (param, averaging, iaqi_lo, iaqi_hi, bp_lo, bp_hi, source)
SELECT b.param, b.averaging, l.i, h.i, l.c, h.c, 'HJ 633-2012 Table 1'
FROM (VALUES
    ('so2', '24h', ARRAY[0, 50, 150, 475, 800, 1600, 2100, 2620]),
    ('so2', '1h', ARRAY[0, 150, 500, 650, 800]),
    ('no2', '24h', ARRAY[0, 40, 80, 180, 280, 565, 750, 940]),
    ('no2', '1h', ARRAY[0, 100, 200, 700, 1200, 2340, 3090, 3840]),
    ('pm10', '24h', ARRAY[0, 50, 150, 250, 350, 420, 500, 600]),
    ('co', '24h', ARRAY[0, 2, 4, 14, 24, 36, 48, 60]),
    ('co', '1h', ARRAY[0, 5, 10, 35, 60, 90, 120, 150]),
    ('o3', '1h', ARRAY[0, 160, 200, 300, 400, 800, 1000, 1200]),
    ('o3', '8h', ARRAY[0, 100, 160, 215, 265, 800]),
    ('pm25', '24h', ARRAY[0, 35, 75, 115, 150, 250, 350, 500])
) AS b (param, averaging, bps)
CROSS JOIN LATERAL generate_series(1, cardinality(b.bps) - 1) AS k
CROSS JOIN LATERAL (SELECT (ARRAY[0, 50, 100, 150, 200, 300, 400, 500])[k] AS i, b.bps[k] AS c) l
CROSS JOIN LATERAL (SELECT (ARRAY[0, 50, 100, 150, 200, 300, 400, 500])[k + 1] AS i,
                           b.bps[k + 1] AS c) h;

CREATE TABLE rpt.aqi_category (
    level       integer PRIMARY KEY CHECK (level BETWEEN 1 AND 6),
    aqi_lo      integer NOT NULL,
    aqi_hi      integer,            -- null: no upper bound
    category    text NOT NULL,
    category_en text NOT NULL,
    colour      text NOT NULL,
    rgb         text NOT NULL,
    source      text NOT NULL
);
COMMENT ON TABLE rpt.aqi_category IS 'HJ 633-2012 Table 2 and Appendix A: AQI levels';
INSERT INTO rpt.aqi_category VALUES
 (1, 0, 50, '优', 'excellent', 'green', '0,228,0', 'HJ 633-2012 Table 2; RGB from Appendix A as widely used, unverified'),
 (2, 51, 100, '良', 'good', 'yellow', '255,255,0', 'HJ 633-2012 Table 2'),
 (3, 101, 150, '轻度污染', 'lightly polluted', 'orange', '255,126,0', 'HJ 633-2012 Table 2'),
 (4, 151, 200, '中度污染', 'moderately polluted', 'red', '255,0,0', 'HJ 633-2012 Table 2'),
 (5, 201, 300, '重度污染', 'heavily polluted', 'purple', '153,0,76', 'HJ 633-2012 Table 2'),
 (6, 301, NULL, '严重污染', 'severely polluted', 'maroon', '126,0,35', 'HJ 633-2012 Table 2');

-- The rules the standard's text leaves open, or that were not checked
-- against it: each a row with its source (docs/AQI.md explains them).
CREATE TABLE rpt.aqi_setting (
    name   text PRIMARY KEY,
    value  text NOT NULL,
    note   text NOT NULL,
    source text NOT NULL
);
INSERT INTO rpt.aqi_setting VALUES
 ('iaqi_rounding', 'ceiling', 'ceiling or half_up: how an IAQI with a fraction becomes an integer',
  'Chinese platforms round up; the clause of HJ 633 was not seen (unverified)'),
 ('round_concentrations', 'on', 'on: concentrations are rounded as published data are before the IAQI (µg/m3 to integers, CO mg/m3 to one decimal), half up',
  'HJ 663-2013 practice (unverified)'),
 ('hourly_pm', '1h', '1h or 24h_moving: the PM2.5/PM10 value of the hourly AQI (HJ 633 has only 24-h rows for them)',
  'the 1-h value on the 24-h rows, as published real-time reports do (unverified)'),
 ('hourly_o3_8h', 'on', 'on: the 8-h moving average of O3 enters the hourly AQI as well as the 1-h value',
  'real-time report indicators (Shenzhen EPB), unverified which enter the AQI'),
 ('min_hours_24h', '20', 'valid hourly values a 24-h average needs', 'GB 3095-2012 Table 4'),
 ('min_hours_8h', '6', 'valid hourly values an 8-h average needs', 'GB 3095-2012 Table 4'),
 ('min_windows_o3_8h', '14', 'valid 8-h averages a daily maximum 8-h O3 needs, unless it is over the grade II limit anyway',
  'HJ 663-2013 (unverified)'),
 ('o3_8h_limit', '160', 'grade II 8-h O3 limit: a daily maximum over it stands with fewer windows', 'GB 3095-2012 Table 1');

CREATE FUNCTION rpt.aqi_setting(name text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT value FROM rpt.aqi_setting WHERE aqi_setting.name = $1
$$;

-- A concentration as the IAQI takes it (numeric, rounded as published when
-- round_concentrations is on). NULL stays NULL.
CREATE FUNCTION rpt.aqi_conc(param text, c double precision) RETURNS numeric
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN c IS NULL OR c = 'NaN'::double precision THEN NULL
                WHEN rpt.aqi_setting('round_concentrations') <> 'on' THEN c::numeric
                WHEN param = 'co' THEN round(c::numeric, 1)
                ELSE round(c::numeric, 0) END
$$;

-- The individual index of one pollutant: NULL for a missing or negative
-- concentration, and for SO2 1-h or O3 8-h over their last breakpoint (800),
-- where the standard takes another value instead; 500 over the last
-- breakpoint of the others.
CREATE FUNCTION rpt.iaqi(param text, averaging text, c numeric) RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN c IS NULL OR c < 0 OR top.hi IS NULL THEN NULL
        WHEN c > top.hi THEN CASE WHEN (param, averaging) IN (('so2', '1h'), ('o3', '8h'))
                                  THEN NULL ELSE 500 END
        ELSE (SELECT CASE WHEN rpt.aqi_setting('iaqi_rounding') = 'half_up'
                          THEN round(x) ELSE ceil(x) END::integer
              FROM (SELECT (b.iaqi_hi - b.iaqi_lo) * (c - b.bp_lo) / (b.bp_hi - b.bp_lo)
                           + b.iaqi_lo AS x
                    FROM rpt.aqi_breakpoint b
                    WHERE b.param = $1 AND b.averaging = $2 AND c >= b.bp_lo AND c <= b.bp_hi
                    ORDER BY b.bp_lo LIMIT 1) s)
        END
    FROM (SELECT max(b.bp_hi) AS hi FROM rpt.aqi_breakpoint b
          WHERE b.param = $1 AND b.averaging = $2) top
$$;

CREATE FUNCTION rpt.aqi_level(aqi integer) RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT level FROM rpt.aqi_category
    WHERE aqi >= aqi_lo AND (aqi_hi IS NULL OR aqi <= aqi_hi)
$$;

-- AQI and primary pollutants from a {name: iaqi} object: the maximum, and
-- the parameters whose IAQI equals it when it is over 50 (all of them when
-- several tie). Names are "pm25", "o3_8h", ...: the parameter is the part
-- before an underscore.
CREATE FUNCTION rpt.aqi_of(iaqi jsonb, OUT aqi integer, OUT primary_pollutants text[])
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT m.aqi,
           CASE WHEN m.aqi > 50 THEN
               ARRAY(SELECT DISTINCT split_part(k, '_', 1) FROM jsonb_each_text(iaqi) AS e (k, v)
                     WHERE v::integer = m.aqi ORDER BY 1)
           ELSE '{}'::text[] END
    FROM (SELECT max(v::integer) AS aqi FROM jsonb_each_text(iaqi) AS e (k, v)) m
$$;

-- The hourly values the AQI reads: air and negative-ion stations' hourly
-- readings of the six pollutants, valid (flag N) only, by hour start.
CREATE VIEW rpt.aqi_input AS
SELECT r.site_id, p.code AS param, r.ts AS hour, r.value
FROM obs.reading r
JOIN core.param p ON p.id = r.param_id
JOIN core.site s ON s.id = r.site_id
WHERE r.period = 'h' AND r.flag = 'N' AND s.kind = 'air'
  AND p.code IN ('so2', 'no2', 'co', 'o3', 'pm10', 'pm25');

-- Hourly AQI (the real-time report): per air station and hour (start), from
-- the 1-h values of SO2, NO2, CO, O3, the O3 8-h moving average (the hour
-- and the seven before, at least min_hours_8h of them), and PM2.5/PM10 by
-- hourly_pm. An SO2 1-h value over 800 gives way to its 24-h moving average.
CREATE VIEW rpt.aqi_hourly AS
WITH m AS (
    SELECT i.site_id, i.param, i.hour, i.value,
           avg(i.value) OVER w8 AS avg8, count(*) OVER w8 AS n8,
           avg(i.value) OVER w24 AS avg24, count(*) OVER w24 AS n24
    FROM rpt.aqi_input i
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
), j AS (
    SELECT v.site_id, v.hour,
           jsonb_strip_nulls(jsonb_object_agg(v.param, v.iaqi) ||
                             coalesce(jsonb_object_agg('o3_8h', v.iaqi_8h)
                                      FILTER (WHERE v.iaqi_8h IS NOT NULL), '{}')) AS iaqi
    FROM v
    GROUP BY v.site_id, v.hour
)
SELECT s.code AS site, j.hour, a.aqi, a.primary_pollutants, rpt.aqi_level(a.aqi) AS level,
       c.category, j.iaqi
FROM j
JOIN core.site s ON s.id = j.site_id
CROSS JOIN LATERAL rpt.aqi_of(j.iaqi) a
LEFT JOIN rpt.aqi_category c ON c.level = rpt.aqi_level(a.aqi);

COMMENT ON VIEW rpt.aqi_hourly IS
    'HJ 633-2012 real-time AQI per air station and hour (start): aqi, primary_pollutants, level, category, iaqi per pollutant';

-- Daily statistics per station and natural day (Beijing time): 24-h means
-- of SO2, NO2, CO, PM10, PM2.5 (min_hours_24h valid hours), the maximum
-- 1-h O3, and the maximum of the 8-h O3 means whose windows lie inside the
-- day (start hours 00..16, min_hours_8h each; min_windows_o3_8h of them, or
-- fewer when the maximum is over o3_8h_limit anyway).
CREATE VIEW rpt.aqi_daily_conc AS
WITH d AS (
    SELECT i.site_id, i.param, (i.hour AT TIME ZONE 'Asia/Shanghai')::date AS day, i.hour,
           i.value
    FROM rpt.aqi_input i
), day24 AS (
    SELECT d.site_id, d.day, d.param, avg(d.value) AS conc, count(*) AS n
    FROM d
    GROUP BY d.site_id, d.day, d.param
), w8 AS (
    SELECT d.site_id, d.day, k AS win, avg(o.value) AS conc, count(o.value) AS n
    FROM (SELECT DISTINCT site_id, day FROM d WHERE param = 'o3') d
    CROSS JOIN generate_series(0, 16) k
    LEFT JOIN rpt.aqi_input o
      ON o.site_id = d.site_id AND o.param = 'o3'
     AND o.hour >= (d.day::timestamp + make_interval(hours => k)) AT TIME ZONE 'Asia/Shanghai'
     AND o.hour < (d.day::timestamp + make_interval(hours => k + 8)) AT TIME ZONE 'Asia/Shanghai'
    GROUP BY d.site_id, d.day, k
), o38 AS (
    SELECT w8.site_id, w8.day, max(w8.conc) AS conc, count(*) AS windows
    FROM w8
    WHERE w8.n >= rpt.aqi_setting('min_hours_8h')::integer
    GROUP BY w8.site_id, w8.day
)
SELECT day24.site_id, day24.day, day24.param, day24.conc, day24.n AS hours
FROM day24
WHERE day24.param <> 'o3' AND day24.n >= rpt.aqi_setting('min_hours_24h')::integer
UNION ALL
SELECT d.site_id, d.day, 'o3_1h', max(d.value), count(*)
FROM d WHERE d.param = 'o3'
GROUP BY d.site_id, d.day
UNION ALL
SELECT o38.site_id, o38.day, 'o3_8h', o38.conc, o38.windows
FROM o38
WHERE o38.windows >= rpt.aqi_setting('min_windows_o3_8h')::integer
   OR o38.conc > rpt.aqi_setting('o3_8h_limit')::numeric;

COMMENT ON VIEW rpt.aqi_daily_conc IS
    'valid daily statistics per air station (GB 3095-2012 Table 4): 24-h means, O3 max 1-h (o3_1h) and max 8-h (o3_8h); hours = values (windows for o3_8h) behind each';

-- The daily IAQI of a set of daily statistics {param: concentration}: the
-- 24-h rows for the 24-h means, O3 1-h and 8-h rows for the O3 maxima (an
-- 8-h maximum over 800 gives way to the 1-h one).
CREATE FUNCTION rpt.aqi_daily_iaqi(conc jsonb) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_object_agg(k, i) FILTER (WHERE i IS NOT NULL), '{}')
    FROM (SELECT k, CASE WHEN k = 'o3_1h' THEN rpt.iaqi('o3', '1h', rpt.aqi_conc('o3', v))
                         WHEN k = 'o3_8h' THEN rpt.iaqi('o3', '8h', rpt.aqi_conc('o3', v))
                         ELSE rpt.iaqi(k, '24h', rpt.aqi_conc(k, v)) END AS i
          FROM jsonb_each_text(conc) AS e (k, t), LATERAL (SELECT t::double precision AS v) x) s
$$;

-- Daily AQI per air station, and per city, district and county: a region's
-- daily concentration of a pollutant is the mean of its stations' valid
-- ones (the stations in it or in the regions under it). aqi is null when
-- no pollutant has a valid statistic that day.
CREATE VIEW rpt.aqi_daily AS
WITH RECURSIVE st AS (
    SELECT c.site_id, c.day, jsonb_object_agg(c.param, c.conc) AS conc
    FROM rpt.aqi_daily_conc c
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
), allrows AS (
    SELECT s.code AS site, false AS is_region, st.day, st.conc FROM st JOIN core.site s ON s.id = st.site_id
    UNION ALL
    SELECT rgj.region, true, rgj.day, rgj.conc FROM rgj
)
SELECT x.site, x.day, a.aqi, coalesce(a.primary_pollutants, '{}') AS primary_pollutants,
       rpt.aqi_level(a.aqi) AS level, c.category, x.is_region, i.iaqi, x.conc
FROM allrows x
CROSS JOIN LATERAL (SELECT rpt.aqi_daily_iaqi(x.conc) AS iaqi) i
CROSS JOIN LATERAL rpt.aqi_of(i.iaqi) a
LEFT JOIN rpt.aqi_category c ON c.level = rpt.aqi_level(a.aqi);

COMMENT ON VIEW rpt.aqi_daily IS
    'HJ 633-2012 daily AQI per air station and per city/district/county (is_region): aqi, primary_pollutants, level, category, iaqi and daily concentrations';

GRANT SELECT ON rpt.aqi_breakpoint, rpt.aqi_category, rpt.aqi_setting, rpt.aqi_input,
    rpt.aqi_hourly, rpt.aqi_daily_conc, rpt.aqi_daily
    TO eco_detect, eco_dispatch, eco_gep, eco_report, eco_ctl, eco_analyst;
GRANT INSERT, UPDATE, DELETE ON rpt.aqi_setting TO eco_ctl;
