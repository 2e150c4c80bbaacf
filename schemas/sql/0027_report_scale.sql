-- 0027: the reports at the archive's scale. The daily AQI of the cities,
-- districts and counties is stored as the stations' is (0021): a region-day
-- is recomputed by rpt.aqi_refresh once all its stations' days are stored,
-- and computed on the spot until then. The HJ 663 monthly and yearly
-- statistics become a function of a period (rpt.aqi_period_between), so a
-- monthly report reads its month's days, not the archive's. rpt.report is
-- split into one function per section (rpt.report_air, ..._water,
-- ..._sources, ..._alarms, ..._work_orders, ..._credit, ..._gep), each
-- (kind, d0, d1) -> {rows, note?, ...}: a later migration replaces one
-- section without copying the others. rpt.reading finds a site, parameter
-- and period through the reading's primary key.

-- ------------------------------------------------------ stored region days ---
-- The air stations counted in each city, district and county: those in it
-- or in a region under it.
CREATE VIEW rpt.aqi_region_member AS
WITH RECURSIVE tree AS (
    SELECT r.code AS region, r.code AS member FROM core.region r
    WHERE r.kind IN ('city', 'district', 'county')
    UNION ALL
    SELECT t.region, c.code FROM tree t JOIN core.region c ON c.parent = t.member
)
SELECT t.region, s.id AS site_id
FROM tree t JOIN core.site s ON s.region = t.member;

COMMENT ON VIEW rpt.aqi_region_member IS
    'the stations whose daily statistics a region''s daily AQI averages (rpt.aqi_daily, is_region)';

CREATE TABLE rpt.aqi_day_region (
    region             text NOT NULL,
    day                date NOT NULL,
    conc               jsonb NOT NULL,
    iaqi               jsonb NOT NULL,
    aqi                integer,
    primary_pollutants text[] NOT NULL,
    level              integer,
    PRIMARY KEY (region, day)
);
CREATE INDEX aqi_day_region_day_idx ON rpt.aqi_day_region (day);
COMMENT ON TABLE rpt.aqi_day_region IS
    'materialised rpt.aqi_daily region rows of the days in neither rpt.aqi_day_dirty nor rpt.aqi_region_dirty';

CREATE TABLE rpt.aqi_region_dirty (
    day date PRIMARY KEY
);
COMMENT ON TABLE rpt.aqi_region_dirty IS
    'days whose region rows (rpt.aqi_day_region) wait for rpt.aqi_refresh';

-- the refresh and the views look dirty pairs up by day
CREATE INDEX aqi_day_dirty_day_idx ON rpt.aqi_day_dirty (day);

-- A station moved to another region, or made an air station or no longer
-- one, changes its days and its regions' days; an outlet given another
-- kind or enterprise changes its days; a changed region tree changes every
-- region day.
CREATE FUNCTION rpt.site_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO rpt.aqi_day_dirty (site_id, day)
    SELECT DISTINCT r.site_id, (r.ts AT TIME ZONE 'Asia/Shanghai')::date
    FROM old_rows o
    JOIN new_rows n ON n.id = o.id
    JOIN obs.reading r ON r.site_id = n.id AND r.period = 'h'
    WHERE (o.region, o.kind) IS DISTINCT FROM (n.region, n.kind) AND 'air' IN (o.kind, n.kind)
    ON CONFLICT DO NOTHING;
    INSERT INTO rpt.source_day_dirty (site_id, day)
    SELECT DISTINCT r.site_id, (r.ts AT TIME ZONE 'Asia/Shanghai')::date
    FROM old_rows o
    JOIN new_rows n ON n.id = o.id
    JOIN obs.reading r ON r.site_id = n.id
    WHERE (o.enterprise, o.kind) IS DISTINCT FROM (n.enterprise, n.kind)
      AND (o.kind IN ('gas_outlet', 'water_outlet') OR n.kind IN ('gas_outlet', 'water_outlet'))
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER site_dirty_upd AFTER UPDATE ON core.site
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rpt.site_changed();

CREATE FUNCTION rpt.aqi_region_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed_rows) THEN
        INSERT INTO rpt.aqi_region_dirty (day)
        SELECT DISTINCT a.day FROM rpt.aqi_day_site a
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER region_aqi_ins AFTER INSERT ON core.region
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION rpt.aqi_region_changed();
CREATE TRIGGER region_aqi_upd AFTER UPDATE ON core.region
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION rpt.aqi_region_changed();
CREATE TRIGGER region_aqi_del AFTER DELETE ON core.region
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION rpt.aqi_region_changed();

-- Recomputes up to max_pairs dirty (station, day) pairs, oldest days
-- first, then up to max_pairs region days whose stations are all stored;
-- returns how many pairs and days. Instances may run it at once: each
-- takes pairs and days the others have not locked. A region day is taken
-- only when no station pair of it is dirty (or being recomputed by another
-- instance, whose commit marks the day again), so it reads only the store.
CREATE OR REPLACE FUNCTION rpt.aqi_refresh(max_pairs integer DEFAULT 500) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    sites integer[];
    days  date[];
    rdays date[];
    n     integer := 0;
BEGIN
    WITH p AS (
        DELETE FROM rpt.aqi_day_dirty d
        WHERE (d.site_id, d.day) IN (SELECT x.site_id, x.day FROM rpt.aqi_day_dirty x
                                     ORDER BY x.day LIMIT max_pairs FOR UPDATE SKIP LOCKED)
        RETURNING d.site_id, d.day
    )
    SELECT array_agg(p.site_id), array_agg(p.day) INTO sites, days FROM p;
    IF sites IS NOT NULL THEN
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
        INSERT INTO rpt.aqi_region_dirty (day)
        SELECT DISTINCT x FROM unnest(days) x
        ON CONFLICT DO NOTHING;
        n := cardinality(sites);
    END IF;

    WITH p AS (
        DELETE FROM rpt.aqi_region_dirty r
        WHERE r.day IN (SELECT x.day FROM rpt.aqi_region_dirty x
                        WHERE NOT EXISTS (SELECT 1 FROM rpt.aqi_day_dirty d WHERE d.day = x.day)
                        ORDER BY x.day LIMIT max_pairs FOR UPDATE SKIP LOCKED)
        RETURNING r.day
    )
    SELECT array_agg(p.day) INTO rdays FROM p;
    IF rdays IS NOT NULL THEN
        DELETE FROM rpt.aqi_day_region g WHERE g.day = ANY (rdays);
        INSERT INTO rpt.aqi_day_region (region, day, conc, iaqi, aqi, primary_pollutants, level)
        SELECT g.region, g.day, g.conc, i.iaqi, a.aqi, coalesce(a.primary_pollutants, '{}'),
               rpt.aqi_level(a.aqi)
        FROM (SELECT x.region, x.day, jsonb_object_agg(x.param, x.conc) AS conc
              FROM (SELECT m.region, st.day, st.param, avg(st.conc) AS conc
                    FROM rpt.aqi_region_member m
                    JOIN rpt.aqi_day_store st ON st.site_id = m.site_id
                    WHERE st.day = ANY (rdays)
                    GROUP BY m.region, st.day, st.param) x
              GROUP BY x.region, x.day) g
        CROSS JOIN LATERAL (SELECT rpt.aqi_daily_iaqi(g.conc) AS iaqi) i
        CROSS JOIN LATERAL rpt.aqi_of(i.iaqi) a;
        n := n + cardinality(rdays);
    END IF;
    RETURN n;
END
$$;

COMMENT ON FUNCTION rpt.aqi_refresh(integer) IS
    'recomputes up to max_pairs dirty (station, day) pairs and up to max_pairs region days; returns how many';

-- rpt.aqi_daily as in 0021, with the region rows of clean days read from
-- rpt.aqi_day_region: only the days with a dirty station or region day
-- are computed.
CREATE OR REPLACE VIEW rpt.aqi_daily AS
WITH dirty_st AS (
    SELECT c.site_id, c.day, jsonb_object_agg(c.param, c.conc) AS conc
    FROM rpt.aqi_daily_conc c
    WHERE EXISTS (SELECT 1 FROM rpt.aqi_day_dirty d WHERE d.site_id = c.site_id AND d.day = c.day)
    GROUP BY c.site_id, c.day
), rgj AS (
    SELECT x.region, x.day, jsonb_object_agg(x.param, x.conc) AS conc
    FROM (SELECT m.region, c.day, c.param, avg(c.conc) AS conc
          FROM rpt.aqi_region_member m
          JOIN rpt.aqi_daily_conc c ON c.site_id = m.site_id
          WHERE c.day IN (SELECT d.day FROM rpt.aqi_day_dirty d
                          UNION SELECT r.day FROM rpt.aqi_region_dirty r)
          GROUP BY m.region, c.day, c.param) x
    GROUP BY x.region, x.day
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
SELECT g.region, g.day, g.aqi, g.primary_pollutants, g.level, c.category, true, g.iaqi, g.conc
FROM rpt.aqi_day_region g
LEFT JOIN rpt.aqi_category c ON c.level = g.level
WHERE NOT EXISTS (SELECT 1 FROM rpt.aqi_day_dirty d WHERE d.day = g.day)
  AND NOT EXISTS (SELECT 1 FROM rpt.aqi_region_dirty r WHERE r.day = g.day)
UNION ALL
SELECT x.site, x.day, a.aqi, coalesce(a.primary_pollutants, '{}'), rpt.aqi_level(a.aqi),
       c.category, x.is_region, i.iaqi, x.conc
FROM computed x
CROSS JOIN LATERAL (SELECT rpt.aqi_daily_iaqi(x.conc) AS iaqi) i
CROSS JOIN LATERAL rpt.aqi_of(i.iaqi) a
LEFT JOIN rpt.aqi_category c ON c.level = rpt.aqi_level(a.aqi);

-- what is stored already waits for its region rows
INSERT INTO rpt.aqi_region_dirty (day)
SELECT a.day FROM rpt.aqi_day_site a
UNION
SELECT d.day FROM rpt.aqi_day_dirty d;

-- ------------------------------------------------ HJ 663 over a period ---
-- rpt.aqi_period's statistics (0017) of the spans ('month' or 'year')
-- that begin in d0 <= t < d1, from those spans' days only. A span cut by
-- d1 counts the days before d1.
CREATE FUNCTION rpt.aqi_period_between(p_span text, d0 date, d1 date)
RETURNS TABLE (span text, site text, is_region boolean, period date, days bigint,
               level1_days bigint, level2_days bigint, level3_days bigint, level4_days bigint,
               level5_days bigint, level6_days bigint, good_days bigint, good_ratio numeric,
               primary_days jsonb, so2 numeric, no2 numeric, pm10 numeric, pm25 numeric,
               co_mean numeric, co_p95 numeric, o3_8h_mean numeric, o3_8h_p90 numeric,
               so2_p98 numeric, no2_p98 numeric, pm10_p95 numeric, pm25_p95 numeric,
               pollutant_days jsonb, insufficient text[])
LANGUAGE sql STABLE AS $$
WITH k AS (
    SELECT p_span AS span, date_trunc(p_span, a.day)::date AS t, a.site, a.is_region, a.aqi,
           a.level, a.primary_pollutants, a.conc
    FROM rpt.aqi_daily a
    WHERE a.day >= date_trunc(p_span, d0)::date AND a.day < d1 AND p_span IN ('month', 'year')
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
    SELECT x.t, x.site, x.is_region, jsonb_object_agg(x.p, x.n) AS primary_days
    FROM (SELECT k.t, k.site, k.is_region, p, count(*) AS n
          FROM k CROSS JOIN LATERAL unnest(k.primary_pollutants) AS p
          GROUP BY k.t, k.site, k.is_region, p) x
    GROUP BY x.t, x.site, x.is_region
), v AS (
    SELECT g.*,
           ARRAY(SELECT n FROM (VALUES ('so2', g.so2), ('no2', g.no2), ('pm10', g.pm10),
                                       ('pm25', g.pm25), ('co', g.co), ('o3_8h', g.o3_8h)) AS x (n, a)
                 WHERE a IS NOT NULL AND cardinality(a) < g.min_days ORDER BY n) AS insufficient
    FROM g
)
SELECT v.span, v.site, v.is_region, v.t, v.days,
       v.level1_days, v.level2_days, v.level3_days, v.level4_days, v.level5_days, v.level6_days,
       v.level1_days + v.level2_days,
       CASE WHEN v.days > 0 THEN round(100.0 * (v.level1_days + v.level2_days) / v.days, 1) END,
       coalesce(pp.primary_days, '{}'),
       CASE WHEN cardinality(v.so2) >= v.min_days THEN
           rpt.aqi_stat_round('so2', (SELECT avg(e) FROM unnest(v.so2) e)) END,
       CASE WHEN cardinality(v.no2) >= v.min_days THEN
           rpt.aqi_stat_round('no2', (SELECT avg(e) FROM unnest(v.no2) e)) END,
       CASE WHEN cardinality(v.pm10) >= v.min_days THEN
           rpt.aqi_stat_round('pm10', (SELECT avg(e) FROM unnest(v.pm10) e)) END,
       CASE WHEN cardinality(v.pm25) >= v.min_days THEN
           rpt.aqi_stat_round('pm25', (SELECT avg(e) FROM unnest(v.pm25) e)) END,
       CASE WHEN cardinality(v.co) >= v.min_days THEN
           rpt.aqi_stat_round('co', (SELECT avg(e) FROM unnest(v.co) e)) END,
       CASE WHEN cardinality(v.co) >= v.min_days THEN
           rpt.aqi_stat_round('co', rpt.hj663_percentile(v.co, 95)) END,
       CASE WHEN cardinality(v.o3_8h) >= v.min_days THEN
           rpt.aqi_stat_round('o3', (SELECT avg(e) FROM unnest(v.o3_8h) e)) END,
       CASE WHEN cardinality(v.o3_8h) >= v.min_days THEN
           rpt.aqi_stat_round('o3', rpt.hj663_percentile(v.o3_8h, 90)) END,
       CASE WHEN cardinality(v.so2) >= v.min_days THEN
           rpt.aqi_stat_round('so2', rpt.hj663_percentile(v.so2, 98)) END,
       CASE WHEN cardinality(v.no2) >= v.min_days THEN
           rpt.aqi_stat_round('no2', rpt.hj663_percentile(v.no2, 98)) END,
       CASE WHEN cardinality(v.pm10) >= v.min_days THEN
           rpt.aqi_stat_round('pm10', rpt.hj663_percentile(v.pm10, 95)) END,
       CASE WHEN cardinality(v.pm25) >= v.min_days THEN
           rpt.aqi_stat_round('pm25', rpt.hj663_percentile(v.pm25, 95)) END,
       jsonb_build_object('so2', coalesce(cardinality(v.so2), 0), 'no2', coalesce(cardinality(v.no2), 0),
                          'pm10', coalesce(cardinality(v.pm10), 0), 'pm25', coalesce(cardinality(v.pm25), 0),
                          'co', coalesce(cardinality(v.co), 0), 'o3_8h', coalesce(cardinality(v.o3_8h), 0)),
       v.insufficient
FROM v
LEFT JOIN pp ON pp.t = v.t AND pp.site = v.site AND pp.is_region = v.is_region
$$;

COMMENT ON FUNCTION rpt.aqi_period_between(text, date, date) IS
    'rpt.aqi_period rows of span p_span (month or year) beginning in d0 <= period < d1';

CREATE OR REPLACE VIEW rpt.aqi_period AS
SELECT * FROM rpt.aqi_period_between('month', '-infinity', 'infinity')
UNION ALL
SELECT * FROM rpt.aqi_period_between('year', '-infinity', 'infinity');

CREATE OR REPLACE VIEW rpt.aqi_monthly AS
SELECT p.site, p.is_region, p.period AS month, p.days, p.level1_days, p.level2_days, p.level3_days,
       p.level4_days, p.level5_days, p.level6_days, p.good_days, p.good_ratio, p.primary_days,
       p.so2, p.no2, p.pm10, p.pm25, p.co_mean, p.co_p95, p.o3_8h_mean, p.o3_8h_p90, p.so2_p98,
       p.no2_p98, p.pm10_p95, p.pm25_p95, p.pollutant_days, p.insufficient
FROM rpt.aqi_period_between('month', '-infinity', 'infinity') p;

CREATE OR REPLACE VIEW rpt.aqi_yearly AS
SELECT p.site, p.is_region, extract(year FROM p.period)::integer AS year, p.days, p.level1_days,
       p.level2_days, p.level3_days, p.level4_days, p.level5_days, p.level6_days, p.good_days,
       p.good_ratio, p.primary_days, p.so2, p.no2, p.pm10, p.pm25, p.co_mean, p.co_p95,
       p.o3_8h_mean, p.o3_8h_p90, p.so2_p98, p.no2_p98, p.pm10_p95, p.pm25_p95, p.pollutant_days,
       p.insufficient
FROM rpt.aqi_period_between('year', '-infinity', 'infinity') p;

-- ------------------------------------------------------------ rpt.reading ---
-- The period's name joins a list instead of being computed, so that
-- "period = 'hour'" becomes a condition of obs.reading's primary key.
CREATE OR REPLACE VIEW rpt.reading AS
SELECT s.code AS site, p.code AS param, n.name AS period, r.ts, r.value, p.unit, r.flag::text AS flag
FROM obs.reading r
JOIN core.site s ON s.id = r.site_id
JOIN core.param p ON p.id = r.param_id
JOIN (VALUES ('r'::"char", 'rt'), ('m'::"char", 'min'), ('h'::"char", 'hour'), ('d'::"char", 'day'))
     AS n (code, name) ON n.code = r.period;

-- --------------------------------------------------- the report's sections ---
-- Each section of rpt.report for a kind p_kind ('daily', 'monthly') and its
-- Beijing days d0 <= day < d1, as {rows, note?, ...}.

-- air: HJ 633 daily AQI per station and region with the hourly series, or
-- HJ 663 monthly statistics with the daily series
CREATE FUNCTION rpt.report_air(p_kind text, d0 date, d1 date) RETURNS jsonb
LANGUAGE plpgsql STABLE SET timezone = 'Asia/Shanghai' SET jit = off AS $$
DECLARE
    rows   jsonb;
    series jsonb;
BEGIN
    IF p_kind = 'daily' THEN
        SELECT jsonb_agg(jsonb_build_object('site', a.site, 'name', coalesce(s.name, g.name),
                                            'is_region', a.is_region, 'aqi', a.aqi, 'level', a.level,
                                            'category', a.category, 'primary', a.primary_pollutants,
                                            'conc', a.conc, 'colour', rpt.aqi_colour(a.level))
                         ORDER BY a.is_region DESC, a.site)
          INTO rows
          FROM rpt.aqi_daily a
          LEFT JOIN core.site s ON NOT a.is_region AND s.code = a.site
          LEFT JOIN core.region g ON a.is_region AND g.code = a.site
         WHERE a.day >= d0 AND a.day < d1;
        SELECT jsonb_agg(jsonb_build_object('site', h.site, 'hour',
                                            extract(hour FROM h.hour AT TIME ZONE 'Asia/Shanghai')::integer,
                                            'aqi', h.aqi, 'level', h.level) ORDER BY h.site, h.hour)
          INTO series
          FROM rpt.aqi_hourly_between(d0::timestamp AT TIME ZONE 'Asia/Shanghai',
                                      d1::timestamp AT TIME ZONE 'Asia/Shanghai') h;
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
          FROM rpt.aqi_period_between('month', d0, d1) m
          LEFT JOIN core.site s ON NOT m.is_region AND s.code = m.site
          LEFT JOIN core.region g ON m.is_region AND g.code = m.site
         WHERE m.period = d0;
        SELECT jsonb_agg(jsonb_build_object('site', a.site, 'day', extract(day FROM a.day)::integer,
                                            'aqi', a.aqi, 'level', a.level) ORDER BY a.site, a.day)
          INTO series
          FROM rpt.aqi_daily a
         WHERE a.day >= d0 AND a.day < d1 AND NOT a.is_region;
    END IF;
    RETURN rpt.report_section(rows,
               'no air station has enough valid hourly values for this period (GB 3095-2012 Table 4)')
           || jsonb_build_object('series', coalesce(series, '[]'));
END
$$;

-- water: GB 3838 / GB 3097 class against the target, single-factor method
CREATE FUNCTION rpt.report_water(p_kind text, d0 date, d1 date) RETURNS jsonb
LANGUAGE sql STABLE SET timezone = 'Asia/Shanghai' SET jit = off AS $$
SELECT rpt.report_section(
    (SELECT jsonb_agg(jsonb_build_object('site', w.site, 'name', w.name, 'kind', w.kind,
                                         'class', w.class, 'class_name', w.class_name,
                                         'category', w.category, 'target_class', w.target_class,
                                         'target_class_name', w.target_class_name,
                                         'meets_target', w.meets_target, 'deciding', w.deciding,
                                         'exceeding', w.exceeding, 'colour', w.colour)
                      ORDER BY w.kind, w.site)
       FROM rpt.water_class_between(d0, d1) w
      WHERE w.span = CASE WHEN p_kind = 'daily' THEN 'day' ELSE 'month' END AND w.t = d0),
    'no water or sea station has values for this period')
$$;

-- sources: outlets over their limits (day rows of a day, the month row of a month)
CREATE FUNCTION rpt.report_sources(p_kind text, d0 date, d1 date) RETURNS jsonb
LANGUAGE sql STABLE SET timezone = 'Asia/Shanghai' SET jit = off AS $$
SELECT rpt.report_section(
    (SELECT jsonb_agg(jsonb_build_object('enterprise', x.enterprise, 'enterprise_name', x.enterprise_name,
                                         'outlet', x.outlet, 'param', x.param, 'unit', x.unit,
                                         'limit', x.upper, 'limit_period', x.limit_period,
                                         'hours_over', x.hours_over, 'days_over', x.days_over,
                                         'max_value', x.max_value, 'max_multiple', x.max_multiple,
                                         'excess_kg', x.excess_kg)
                      ORDER BY x.max_multiple DESC NULLS LAST, x.outlet, x.param)
       FROM rpt.source_exceedance_between(d0, d1) x
      WHERE x.span = CASE WHEN p_kind = 'daily' THEN 'day' ELSE 'month' END AND x.t = d0
        AND (x.hours_over > 0 OR x.days_over > 0)),
    'no outlet exceeded its limit in this period')
$$;

-- alarms opened in the period (live only), by rule, and the list
CREATE FUNCTION rpt.report_alarms(p_kind text, d0 date, d1 date) RETURNS jsonb
LANGUAGE sql STABLE SET timezone = 'Asia/Shanghai' SET jit = off AS $$
WITH t AS (
    SELECT d0::timestamp AT TIME ZONE 'Asia/Shanghai' AS t0, d1::timestamp AT TIME ZONE 'Asia/Shanghai' AS t1
)
SELECT rpt.report_section(
    (SELECT jsonb_agg(jsonb_build_object('id', a.id, 'site', a.site, 'param', a.param, 'rule', a.rule,
                                         'severity', a.severity, 'state', a.state,
                                         'opened_at', a.opened_at, 'cleared_at', a.cleared_at,
                                         'incident', a.incident, 'peak', a.peak, 'unit', a.unit)
                      ORDER BY a.opened_at, a.id)
       FROM (SELECT * FROM rpt.alarm a, t WHERE a.opened_at >= t.t0 AND a.opened_at < t.t1 AND NOT a.replay
             ORDER BY a.severity DESC, a.opened_at LIMIT 200) a),
    'no alarm was raised in this period')
    || jsonb_build_object(
        'by_rule', coalesce((SELECT jsonb_object_agg(x.rule, x.n) FROM
                               (SELECT a.rule, count(*) AS n FROM alarm.alarm a, t
                                 WHERE a.opened_at >= t.t0 AND a.opened_at < t.t1 AND NOT a.replay
                                 GROUP BY a.rule) x), '{}'),
        'incidents', (SELECT count(*) FROM alarm.incident i, t
                       WHERE i.opened_at >= t.t0 AND i.opened_at < t.t1 AND NOT i.replay),
        'open_now', (SELECT count(*) FROM alarm.alarm a WHERE a.state <> 'cleared' AND NOT a.replay))
$$;

-- work orders created in the period, and the departments' figures
CREATE FUNCTION rpt.report_work_orders(p_kind text, d0 date, d1 date) RETURNS jsonb
LANGUAGE sql STABLE SET timezone = 'Asia/Shanghai' SET jit = off AS $$
WITH o AS (
    SELECT o.* FROM wo.work_order o
    WHERE o.created_at >= d0::timestamp AT TIME ZONE 'Asia/Shanghai'
      AND o.created_at < d1::timestamp AT TIME ZONE 'Asia/Shanghai'
)
SELECT rpt.report_section(
    (SELECT jsonb_agg(jsonb_build_object('id', o.id, 'title', o.title, 'category', o.category,
                                         'priority', o.priority, 'state', o.state, 'dept', o.dept,
                                         'site', o.site, 'created_at', o.created_at, 'due_at', o.due_at,
                                         'closed_at', o.closed_at, 'overdue', o.overdue)
                      ORDER BY o.created_at, o.id)
       FROM (SELECT * FROM o ORDER BY o.created_at LIMIT 200) o),
    'no work order was opened in this period')
    || jsonb_build_object(
        'by_state', coalesce((SELECT jsonb_object_agg(x.state, x.n) FROM
                                (SELECT o.state, count(*) AS n FROM o GROUP BY o.state) x), '{}'),
        'departments', coalesce((SELECT jsonb_agg(jsonb_build_object(
               'dept', x.dept, 'opened', x.opened, 'closed', x.closed, 'on_time', x.on_time,
               'overdue', x.overdue, 'reopened', x.reopened) ORDER BY x.dept) FROM
               (SELECT o.dept, count(*) AS opened,
                       count(*) FILTER (WHERE o.state = 'closed') AS closed,
                       count(*) FILTER (WHERE o.replied_at <= o.due_at) AS on_time,
                       count(*) FILTER (WHERE o.overdue) AS overdue, sum(o.reopened) AS reopened
                  FROM o
                 WHERE o.dept IS NOT NULL AND o.state <> 'cancelled'
                 GROUP BY o.dept) x), '[]'))
$$;

-- credit: the twelve months up to the period's end (monthly reports)
CREATE FUNCTION rpt.report_credit(p_kind text, d0 date, d1 date) RETURNS jsonb
LANGUAGE sql STABLE SET timezone = 'Asia/Shanghai' SET jit = off AS $$
SELECT CASE WHEN p_kind = 'daily' THEN
           jsonb_build_object('rows', '[]'::jsonb,
                              'note', 'the enterprise credit rating is in the monthly report')
       ELSE rpt.report_section(
           (SELECT jsonb_agg(to_jsonb(c) ORDER BY c.score, c.enterprise)
              FROM rpt.enterprise_credit_between((d1 - interval '12 months')::date, d1) c),
           'no enterprise is registered') END
$$;

-- gep: the accounting of the period's year, once eco-gep has run
CREATE FUNCTION rpt.report_gep(p_kind text, d0 date, d1 date) RETURNS jsonb
LANGUAGE sql STABLE SET timezone = 'Asia/Shanghai' SET jit = off AS $$
SELECT rpt.report_section(
    (SELECT jsonb_agg(to_jsonb(g)) FROM rpt.gep_summary g WHERE g.year = extract(year FROM d0)::integer),
    'no GEP run for this year yet (ecoctl gep run)')
$$;

-- The report: its period's header and the sections above.
CREATE OR REPLACE FUNCTION rpt.report(kind text, period text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET timezone = 'Asia/Shanghai' SET jit = off AS $$
DECLARE
    d0 date;
    d1 date;
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
    RETURN jsonb_build_object('kind', kind, 'period', period, 'from', d0, 'to', d1 - 1,
                              'generated_at', now(), 'time_zone', 'Asia/Shanghai',
                              'air', rpt.report_air(kind, d0, d1),
                              'water', rpt.report_water(kind, d0, d1),
                              'sources', rpt.report_sources(kind, d0, d1),
                              'alarms', rpt.report_alarms(kind, d0, d1),
                              'work_orders', rpt.report_work_orders(kind, d0, d1),
                              'credit', rpt.report_credit(kind, d0, d1),
                              'gep', rpt.report_gep(kind, d0, d1));
END
$$;

GRANT SELECT ON rpt.aqi_region_member, rpt.aqi_day_region, rpt.aqi_region_dirty
    TO eco_detect, eco_dispatch, eco_gep, eco_report, eco_ctl, eco_analyst;
REVOKE EXECUTE ON FUNCTION rpt.site_changed(), rpt.aqi_region_changed() FROM PUBLIC;

-- ------------------------------------------------- stored source days ---
-- The pollution sources' day rows (rpt.source_exceedance_span, span day)
-- are stored as the AQI's are: a statement trigger on obs.reading marks
-- the outlets' days, rpt.refresh recomputes them, and the functions read
-- the store for clean days and compute dirty ones on the spot. Month rows
-- are sums of day rows. A report of a month reads its days' rows, and the
-- credit rating a year of them, instead of every reading of the year.
CREATE TABLE rpt.source_day_store (
    site_id          integer NOT NULL,
    enterprise       text,
    param            text NOT NULL,
    limit_period     text NOT NULL,
    t                date NOT NULL,
    lower            numeric,
    upper            numeric,
    standard         text,
    hours            bigint NOT NULL,
    hours_over       bigint NOT NULL,
    days             bigint NOT NULL,
    days_over        bigint NOT NULL,
    max_value        numeric,
    max_multiple     numeric,
    emission_kg_over numeric,
    excess_kg        numeric,
    first_over       timestamptz,
    last_over        timestamptz,
    emission_kg      numeric,
    PRIMARY KEY (site_id, param, limit_period, t)
);
CREATE INDEX source_day_store_t_idx ON rpt.source_day_store (t);
COMMENT ON TABLE rpt.source_day_store IS
    'materialised day rows of rpt.source_exceedance_span of the (outlet, day) pairs not in rpt.source_day_dirty, '
    'with emission_kg, the day''s whole emission (kg) where the outlet''s flow is measured';

CREATE TABLE rpt.source_day_dirty (
    site_id integer NOT NULL,
    day     date NOT NULL,
    PRIMARY KEY (site_id, day)
);
CREATE INDEX source_day_dirty_day_idx ON rpt.source_day_dirty (day);
COMMENT ON TABLE rpt.source_day_dirty IS
    '(outlet, day) pairs whose readings or rules changed since rpt.source_day_store was computed';

-- The day rows of the Beijing days d0 <= day < d1 from the readings
-- (0021's rpt.source_exceedance_span_between, day rows), and the day's
-- whole emission: the sum over the limit's periods of value x flow.
CREATE FUNCTION rpt.source_day_compute(d0 date, d1 date)
RETURNS TABLE (site_id integer, enterprise text, param text, limit_period text, t date,
               lower numeric, upper numeric, standard text, hours bigint, hours_over bigint,
               days bigint, days_over bigint, max_value numeric, max_multiple numeric,
               emission_kg_over numeric, excess_kg numeric, first_over timestamptz,
               last_over timestamptz, emission_kg numeric)
LANGUAGE sql STABLE AS $$
SELECT c.site_id, c.enterprise, c.param, c.limit_period, c.day,
       min(c.lower), min(c.upper), min(c.standard),
       count(*) FILTER (WHERE c.span = 'hour'),
       count(*) FILTER (WHERE c.span = 'hour' AND c.exceeds),
       CASE WHEN c.limit_period = 'hour'
            THEN count(DISTINCT c.day) FILTER (WHERE c.span = 'hour')
            ELSE count(*) FILTER (WHERE c.span = 'day') END,
       CASE WHEN c.limit_period = 'hour'
            THEN count(DISTINCT c.day) FILTER (WHERE c.span = 'hour' AND c.exceeds)
            ELSE count(*) FILTER (WHERE c.span = 'day' AND c.exceeds) END,
       trim_scale(max(c.value) FILTER (WHERE c.span = c.limit_period)),
       max(c.multiple) FILTER (WHERE c.span = c.limit_period),
       trim_scale(sum(c.emission_kg) FILTER (WHERE c.span = c.limit_period AND c.exceeds)),
       trim_scale(sum(c.excess_kg) FILTER (WHERE c.span = c.limit_period AND c.exceeds)),
       min(c.t) FILTER (WHERE c.span = c.limit_period AND c.exceeds),
       max(c.t) FILTER (WHERE c.span = c.limit_period AND c.exceeds),
       trim_scale(sum(c.emission_kg) FILTER (WHERE c.span = c.limit_period))
FROM rpt.source_check_between(d0, d1) c
GROUP BY c.site_id, c.enterprise, c.param, c.limit_period, c.day
$$;

-- The stored day rows of [d0, d1), the dirty ones computed on the spot.
CREATE FUNCTION rpt.source_day_rows(d0 date, d1 date)
RETURNS TABLE (site_id integer, enterprise text, param text, limit_period text, t date,
               lower numeric, upper numeric, standard text, hours bigint, hours_over bigint,
               days bigint, days_over bigint, max_value numeric, max_multiple numeric,
               emission_kg_over numeric, excess_kg numeric, first_over timestamptz,
               last_over timestamptz, emission_kg numeric)
LANGUAGE sql STABLE AS $$
WITH dd AS (
    SELECT d.site_id, d.day FROM rpt.source_day_dirty d WHERE d.day >= d0 AND d.day < d1
)
SELECT s.* FROM rpt.source_day_store s
WHERE s.t >= d0 AND s.t < d1
  AND NOT EXISTS (SELECT 1 FROM rpt.source_day_dirty d WHERE d.site_id = s.site_id AND d.day = s.t)
UNION ALL
SELECT c.*
FROM (SELECT min(dd.day) AS a, max(dd.day) + 1 AS b FROM dd) r
CROSS JOIN LATERAL rpt.source_day_compute(r.a, r.b) c
WHERE r.a IS NOT NULL AND EXISTS (SELECT 1 FROM dd WHERE dd.site_id = c.site_id AND dd.day = c.t)
$$;

-- Day rows of [d0, d1) and the month rows of the months that start in it
-- (whole months when d0 and d1 are first days), as in 0021.
CREATE OR REPLACE FUNCTION rpt.source_exceedance_span_between(d0 date, d1 date)
RETURNS TABLE (span text, site_id integer, enterprise text, param text, limit_period text, t date,
               lower numeric, upper numeric, standard text, hours bigint, hours_over bigint,
               days bigint, days_over bigint, max_value numeric, max_multiple numeric,
               emission_kg_over numeric, excess_kg numeric, first_over timestamptz,
               last_over timestamptz)
LANGUAGE sql STABLE AS $$
WITH dr AS (
    SELECT * FROM rpt.source_day_rows(d0, d1)
)
SELECT 'day'::text, dr.site_id, dr.enterprise, dr.param, dr.limit_period, dr.t, dr.lower, dr.upper,
       dr.standard, dr.hours, dr.hours_over, dr.days, dr.days_over, dr.max_value, dr.max_multiple,
       dr.emission_kg_over, dr.excess_kg, dr.first_over, dr.last_over
FROM dr
UNION ALL
SELECT 'month', dr.site_id, dr.enterprise, dr.param, dr.limit_period, date_trunc('month', dr.t)::date,
       min(dr.lower), min(dr.upper), min(dr.standard), sum(dr.hours)::bigint,
       sum(dr.hours_over)::bigint, sum(dr.days)::bigint, sum(dr.days_over)::bigint,
       trim_scale(max(dr.max_value)), max(dr.max_multiple), trim_scale(sum(dr.emission_kg_over)),
       trim_scale(sum(dr.excess_kg)), min(dr.first_over), max(dr.last_over)
FROM dr
GROUP BY dr.site_id, dr.enterprise, dr.param, dr.limit_period, date_trunc('month', dr.t)
$$;

-- Recomputes the dirty outlet pairs of the oldest dirty day (a day of
-- every outlet is one pass over the day's readings); returns how many.
CREATE FUNCTION rpt.source_refresh() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    sites integer[];
    d     date;
BEGIN
    SELECT min(x.day) INTO d FROM rpt.source_day_dirty x;
    IF d IS NULL THEN
        RETURN 0;
    END IF;
    WITH p AS (
        DELETE FROM rpt.source_day_dirty x
        WHERE (x.site_id, x.day) IN (SELECT y.site_id, y.day FROM rpt.source_day_dirty y
                                     WHERE y.day = d FOR UPDATE SKIP LOCKED)
        RETURNING x.site_id
    )
    SELECT array_agg(p.site_id) INTO sites FROM p;
    IF sites IS NULL THEN
        RETURN 0;
    END IF;
    DELETE FROM rpt.source_day_store s WHERE s.t = d AND s.site_id = ANY (sites);
    INSERT INTO rpt.source_day_store
    SELECT c.* FROM rpt.source_day_compute(d, d + 1) c WHERE c.site_id = ANY (sites);
    RETURN cardinality(sites);
END
$$;

COMMENT ON FUNCTION rpt.source_refresh() IS
    'recomputes the dirty (outlet, day) pairs of the oldest dirty day of rpt.source_day_store; returns how many';

-- What eco-report calls: the stored AQI and source days; returns how many
-- pairs and days it recomputed (0: nothing is dirty).
CREATE FUNCTION rpt.refresh(max_pairs integer DEFAULT 500) RETURNS integer
LANGUAGE sql SET jit = off AS $$
    SELECT rpt.aqi_refresh(max_pairs) + rpt.source_refresh()
$$;

-- One trigger function marks what a statement on obs.reading touched: the
-- air stations' days (hourly readings) and the outlets' days (every
-- period). The triggers name their transition table alike. It runs on
-- every batch eco-ingest writes, so it works per site, not per reading:
-- a batch's readings of a site are of a day or two, and their days are
-- the range from the first to the last; a batch that mixes far-apart
-- times of a site (a resent backlog) marks exactly the days it has.
CREATE FUNCTION rpt.reading_mark_dirty() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WITH g AS (
        SELECT c.site_id, min(c.ts) FILTER (WHERE c.period = 'h') AS h0,
               max(c.ts) FILTER (WHERE c.period = 'h') AS h1, min(c.ts) AS a0, max(c.ts) AS a1
        FROM changed_rows c
        GROUP BY c.site_id
    ), k AS (
        SELECT g.site_id, s.kind = 'air' AS air,
               (CASE WHEN s.kind = 'air' THEN g.h0 ELSE g.a0 END AT TIME ZONE 'Asia/Shanghai')::date AS d0,
               (CASE WHEN s.kind = 'air' THEN g.h1 ELSE g.a1 END AT TIME ZONE 'Asia/Shanghai')::date AS d1
        FROM g JOIN core.site s ON s.id = g.site_id
        WHERE s.kind IN ('air', 'gas_outlet', 'water_outlet')
    ), days AS (
        SELECT k.site_id, k.air, x.day::date AS day
        FROM k CROSS JOIN LATERAL generate_series(k.d0, k.d1, interval '1 day') AS x (day)
        WHERE k.d1 - k.d0 <= 2
        UNION
        SELECT c.site_id, k.air, (c.ts AT TIME ZONE 'Asia/Shanghai')::date
        FROM changed_rows c JOIN k ON k.site_id = c.site_id
        WHERE k.d1 - k.d0 > 2 AND (NOT k.air OR c.period = 'h')
    ), a AS (
        INSERT INTO rpt.aqi_day_dirty (site_id, day)
        SELECT days.site_id, days.day FROM days WHERE days.air
        ON CONFLICT DO NOTHING
    )
    INSERT INTO rpt.source_day_dirty (site_id, day)
    SELECT days.site_id, days.day FROM days WHERE NOT days.air
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

DROP TRIGGER reading_aqi_ins ON obs.reading;
DROP TRIGGER reading_aqi_upd ON obs.reading;
DROP TRIGGER reading_aqi_del ON obs.reading;
DROP FUNCTION rpt.aqi_mark_dirty();
CREATE TRIGGER reading_dirty_ins AFTER INSERT ON obs.reading
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION rpt.reading_mark_dirty();
CREATE TRIGGER reading_dirty_upd AFTER UPDATE ON obs.reading
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION rpt.reading_mark_dirty();
CREATE TRIGGER reading_dirty_del AFTER DELETE ON obs.reading
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION rpt.reading_mark_dirty();

-- A changed rule (settings, flows, limits) changes every outlet day. The
-- registry's loads upsert every row: only a statement that changed one
-- counts.
CREATE FUNCTION rpt.source_mark_all_dirty() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed_rows) THEN
        INSERT INTO rpt.source_day_dirty (site_id, day)
        SELECT DISTINCT r.site_id, (r.ts AT TIME ZONE 'Asia/Shanghai')::date
        FROM obs.reading r
        JOIN core.site s ON s.id = r.site_id AND s.kind IN ('gas_outlet', 'water_outlet')
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER source_setting_source_ins AFTER INSERT ON rpt.source_setting
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION rpt.source_mark_all_dirty();
CREATE TRIGGER source_setting_source_upd AFTER UPDATE ON rpt.source_setting
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION rpt.source_mark_all_dirty();
CREATE TRIGGER source_setting_source_del AFTER DELETE ON rpt.source_setting
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION rpt.source_mark_all_dirty();
CREATE TRIGGER source_flow_source_ins AFTER INSERT ON rpt.source_flow
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION rpt.source_mark_all_dirty();
CREATE TRIGGER source_flow_source_upd AFTER UPDATE ON rpt.source_flow
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION rpt.source_mark_all_dirty();
CREATE TRIGGER source_flow_source_del AFTER DELETE ON rpt.source_flow
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION rpt.source_mark_all_dirty();
CREATE TRIGGER limit_source_ins AFTER INSERT ON core.limit
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION rpt.source_mark_all_dirty();
CREATE TRIGGER limit_source_upd AFTER UPDATE ON core.limit
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION rpt.source_mark_all_dirty();
CREATE TRIGGER limit_source_del AFTER DELETE ON core.limit
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION rpt.source_mark_all_dirty();

-- what is stored already is dirty until the first refresh
INSERT INTO rpt.source_day_dirty (site_id, day)
SELECT DISTINCT r.site_id, (r.ts AT TIME ZONE 'Asia/Shanghai')::date
FROM obs.reading r JOIN core.site s ON s.id = r.site_id AND s.kind IN ('gas_outlet', 'water_outlet');

GRANT SELECT ON rpt.source_day_store, rpt.source_day_dirty
    TO eco_detect, eco_dispatch, eco_gep, eco_report, eco_ctl, eco_analyst;
GRANT EXECUTE ON FUNCTION rpt.source_day_compute(date, date), rpt.source_day_rows(date, date)
    TO eco_detect, eco_dispatch, eco_gep, eco_report, eco_ctl, eco_analyst;
REVOKE EXECUTE ON FUNCTION rpt.source_refresh(), rpt.refresh(integer), rpt.reading_mark_dirty(),
    rpt.source_mark_all_dirty() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rpt.source_refresh(), rpt.refresh(integer) TO eco_report, eco_ctl;

-- ------------------------------------------- the outlets' hourly values ---
-- As in 0021, with each outlet's settings looked up once per outlet (a
-- materialised list) instead of once per hour, and a BRIN index on
-- obs.reading's time: a day's or a month's readings of every outlet are
-- a range of blocks, since readings arrive in time order.
CREATE INDEX reading_ts_brin ON obs.reading USING brin (ts);

CREATE OR REPLACE FUNCTION rpt.source_hour_value_between(t0 timestamptz, t1 timestamptz)
RETURNS TABLE (site_id integer, param text, hour timestamptz, value numeric, source text)
LANGUAGE sql STABLE AS $$
WITH w AS MATERIALIZED (
    SELECT * FROM rpt.source_site_setting
), h AS (
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
JOIN w ON w.site_id = m.site_id
WHERE m.n * w.minute_interval >= w.min_minutes_hour
  AND NOT EXISTS (SELECT 1 FROM h WHERE h.site_id = m.site_id AND h.param_id = m.param_id
                                    AND h.hour = m.hour)
$$;

CREATE OR REPLACE FUNCTION rpt.source_day_value_between(d0 date, d1 date)
RETURNS TABLE (site_id integer, param text, day date, value numeric, source text)
LANGUAGE sql STABLE AS $$
WITH w AS MATERIALIZED (
    SELECT * FROM rpt.source_site_setting
), hv AS (
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
JOIN w ON w.site_id = hv.site_id
WHERE hv.n >= w.min_hours_day
  AND NOT EXISTS (SELECT 1 FROM d WHERE d.site_id = hv.site_id AND d.param = hv.param
                                    AND d.day = hv.day)
$$;


-- ------------------------------------------------------------------- JIT ---
-- PostgreSQL's JIT compiler judges a plan by its estimated cost; the plans
-- of these functions are large (the on-the-spot branches for dirty days,
-- which rarely run) and their work small, so JIT spent 11 s compiling a
-- monthly report that runs in 2 s without it (docs/PERFORMANCE.md). The
-- report and refresh functions turn it off for themselves; the database
-- does for every session when the migrating role may say so (a session
-- turns it back on for a large ad-hoc scan: SET jit = on).
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'jit stays as configured: % may not alter database %', current_user, current_database();
END
$$;
