-- 0025: GEP runs of the physical models, inputs derived from the system's
-- own data, and the eco-gep service (docs/GEP.md).
--
-- The functions here are what eco-gep and `ecoctl gep run` (without
-- --account) call, and what an analyst can call to see where a number came
-- from: each derived row of gep.input keeps, in its query column, the
-- statement that produced it (a call of one of the functions below).

-- Land-use (ecosystem) polygons: the map ecosystem areas are zonal sums of.
-- year: the map's year (a run uses the latest map not after its year);
-- eco_type: the GEP ecosystem (forest, grassland, farmland, wetland, water,
-- urban, bare, sea, mariculture, ...); class: the source map's own class
-- (a 三调 code) for traceability.
CREATE TABLE gep.landuse (
    id        bigserial PRIMARY KEY,
    year      integer NOT NULL CHECK (year BETWEEN 1900 AND 2200),
    eco_type  text NOT NULL CHECK (eco_type ~ '^[a-z][a-z0-9_]{0,31}$'),
    class     text NOT NULL DEFAULT '',
    geom      geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom)),
    -- the parcel's area on the spheroid, stored: a parcel inside the region
    -- is summed without measuring it again (bench/gep.sh)
    area_m2   double precision GENERATED ALWAYS AS (ST_Area(geom::geography)) STORED,
    source    text NOT NULL CHECK (source <> ''),
    loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX landuse_geom_idx ON gep.landuse USING gist (geom);
CREATE INDEX landuse_year_idx ON gep.landuse (year);

-- The temperature above which a day counts as an air-conditioning day
-- (cooling days of climate regulation). [U]: the specification recalls it.
INSERT INTO gep.param (param_set, key, value, unit, year, source, status) VALUES
 ('seed', 'ac_days_threshold_C', 26, 'degC', NULL, 'GEP specification §3 R8 (recalled)', 'U');

-- The map year a run of `year` uses: the latest map year not after it.
CREATE FUNCTION gep.landuse_year(p_year integer) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT max(year) FROM gep.landuse WHERE year <= p_year
$$;

-- Ecosystem areas of a region: the land-use polygons of the map year,
-- intersected with the region, summed by ecosystem type (m2 on the WGS 84
-- spheroid, rounded to 0.01 m2 so two runs agree to the last digit). A
-- parcel inside the region counts with its stored area; only those across
-- its edge are clipped and measured, which is what keeps 100 000 parcels
-- fast.
CREATE FUNCTION gep.landuse_area(p_region text, p_year integer)
RETURNS TABLE (eco_type text, area_m2 double precision, parcels bigint, map_year integer)
LANGUAGE sql STABLE AS $$
    -- ST_Covers(region, parcel): the region first, so PostGIS prepares it
    -- once for all parcels; MATERIALIZED: each parcel is measured once
    WITH r AS (SELECT geom FROM core.region WHERE code = p_region),
         a AS MATERIALIZED (
             SELECT l.eco_type,
                    CASE WHEN ST_Covers(r.geom, l.geom) THEN l.area_m2
                         ELSE ST_Area(ST_Intersection(l.geom, r.geom)::geography) END AS a
             FROM r, gep.landuse l
             WHERE l.year = (SELECT gep.landuse_year(p_year)) AND l.geom && r.geom
               AND ST_Intersects(r.geom, l.geom))
    SELECT eco_type, round(sum(a)::numeric, 2)::double precision, count(*),
           (SELECT gep.landuse_year(p_year))
    FROM a WHERE a > 0 GROUP BY eco_type
    ORDER BY eco_type
$$;

-- Negative oxygen ion concentration (ions/cm3) over the year: the mean of
-- the hourly means of each active `noi` station inside the region (valid
-- hours, flag N), then the mean over stations: region-wide (ecosystem '')
-- and per ecosystem type of the land-use polygon each station stands in.
CREATE FUNCTION gep.noi_mean(p_region text, p_year integer)
RETURNS TABLE (ecosystem text, conc double precision, stations bigint, hours bigint)
LANGUAGE sql STABLE AS $$
    WITH r AS (SELECT geom FROM core.region WHERE code = p_region),
    st AS (
        SELECT s.id, s.code,
               coalesce((SELECT l.eco_type FROM gep.landuse l
                         WHERE l.year = gep.landuse_year(p_year) AND ST_Covers(l.geom, s.geom)
                         ORDER BY l.id LIMIT 1), '') AS eco
        FROM core.site s, r
        WHERE s.kind = 'noi' AND s.active AND ST_Covers(r.geom, s.geom)),
    per AS (
        SELECT st.eco, avg(x.value) AS m, count(*) AS n
        FROM st JOIN obs.reading x ON x.site_id = st.id
        WHERE x.param_id = (SELECT id FROM core.param WHERE code = 'noi')
          AND x.period = 'h' AND x.flag = 'N'
          AND x.ts >= make_date(p_year, 1, 1)::timestamp AT TIME ZONE 'Asia/Shanghai'
          AND x.ts < make_date(p_year + 1, 1, 1)::timestamp AT TIME ZONE 'Asia/Shanghai'
        GROUP BY st.id, st.eco)
    SELECT '', round(avg(m)::numeric, 3)::double precision, count(*), sum(n)::bigint
    FROM per HAVING count(*) > 0
    UNION ALL
    SELECT eco, round(avg(m)::numeric, 3)::double precision, count(*), sum(n)::bigint
    FROM per WHERE eco <> '' GROUP BY eco
    ORDER BY 1
$$;

-- Air-conditioning (cooling) days of the year: Beijing days on which the
-- mean over the region's active air stations of each station's highest
-- hourly temperature (air_temp, valid hours) is above p_threshold (degC).
-- days_with_data says how many days had a reading at all.
CREATE FUNCTION gep.ac_days(p_region text, p_year integer, p_threshold double precision)
RETURNS TABLE (days bigint, days_with_data bigint, stations bigint)
LANGUAGE sql STABLE AS $$
    WITH r AS (SELECT geom FROM core.region WHERE code = p_region),
    st AS (SELECT s.id FROM core.site s, r
           WHERE s.kind = 'air' AND s.active AND ST_Covers(r.geom, s.geom)),
    dmax AS (
        SELECT x.site_id, (x.ts AT TIME ZONE 'Asia/Shanghai')::date AS day, max(x.value) AS t
        FROM obs.reading x JOIN st ON st.id = x.site_id
        WHERE x.param_id = (SELECT id FROM core.param WHERE code = 'air_temp')
          AND x.period = 'h' AND x.flag = 'N'
          AND x.ts >= make_date(p_year, 1, 1)::timestamp AT TIME ZONE 'Asia/Shanghai'
          AND x.ts < make_date(p_year + 1, 1, 1)::timestamp AT TIME ZONE 'Asia/Shanghai'
        GROUP BY 1, 2),
    d AS (SELECT day, avg(t) AS t FROM dmax GROUP BY day)
    SELECT count(*) FILTER (WHERE d.t > p_threshold), count(*),
           (SELECT count(DISTINCT site_id) FROM dmax)
    FROM d
$$;

-- Derives a region's inputs for a year from the system's own data and
-- stores them in gep.input (query = the statement that produced each):
--   area (m2) per ecosystem        gep.landuse_area
--   noi_conc (ion/cm3), '' and per ecosystem   gep.noi_mean
--   ac_days (d)                    gep.ac_days, threshold ac_days_threshold_C
--                                  of the parameter set
--   air_load_*, water_load_* (t)   gep.source_load (0028)
-- Rows an operator entered by hand (query NULL) are kept: they override the
-- derivation. Earlier derived rows of these keys are replaced. Returns the
-- number of rows derived. SECURITY DEFINER: eco-gep derives without
-- write rights on gep.input.
CREATE FUNCTION gep.derive_inputs(p_region text, p_year integer, p_param_set text DEFAULT 'seed')
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    n integer := 0;
    k integer;
    thr gep.param%ROWTYPE;
    q text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM core.region WHERE code = p_region) THEN
        RAISE EXCEPTION 'unknown region %', p_region USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('gep.derive_inputs'), hashtext(p_region || '/' || p_year));
    DELETE FROM gep.input
     WHERE region = p_region AND year = p_year AND key IN ('area', 'noi_conc', 'ac_days')
       AND query IS NOT NULL;

    q := format('SELECT eco_type, area_m2 FROM gep.landuse_area(%L, %s)', p_region, p_year);
    INSERT INTO gep.input (region, year, key, ecosystem, value, unit, source, query)
    SELECT p_region, p_year, 'area', a.eco_type, a.area_m2, 'm2',
           format('derived: %s land-use parcels of map year %s intersected with region %s',
                  a.parcels, a.map_year, p_region), q
    FROM gep.landuse_area(p_region, p_year) a
    ON CONFLICT (region, year, key, ecosystem) DO NOTHING;
    GET DIAGNOSTICS k = ROW_COUNT;
    n := n + k;

    q := format('SELECT ecosystem, conc FROM gep.noi_mean(%L, %s)', p_region, p_year);
    INSERT INTO gep.input (region, year, key, ecosystem, value, unit, source, query)
    SELECT p_region, p_year, 'noi_conc', m.ecosystem, m.conc, 'ion/cm3',
           format('derived: mean of %s noi station(s), %s valid hourly readings in %s',
                  m.stations, m.hours, p_year), q
    FROM gep.noi_mean(p_region, p_year) m
    ON CONFLICT (region, year, key, ecosystem) DO NOTHING;
    GET DIAGNOSTICS k = ROW_COUNT;
    n := n + k;

    SELECT * INTO thr FROM gep.param
     WHERE param_set = p_param_set AND key = 'ac_days_threshold_C' AND ecosystem = '';
    IF thr.value IS NOT NULL THEN
        q := format('SELECT days FROM gep.ac_days(%L, %s, %s)', p_region, p_year, thr.value);
        INSERT INTO gep.input (region, year, key, ecosystem, value, unit, source, query)
        SELECT p_region, p_year, 'ac_days', '', d.days, 'd',
               format('derived: days above %s degC (mean daily maximum of %s air station(s)); '
                      '%s days with data', thr.value, d.stations, d.days_with_data), q
        FROM gep.ac_days(p_region, p_year, thr.value) d
        WHERE d.days_with_data > 0
        ON CONFLICT (region, year, key, ecosystem) DO NOTHING;
        GET DIAGNOSTICS k = ROW_COUNT;
        n := n + k;
    END IF;
    -- the pollutant loads the online monitors measured (0028)
    n := n + gep.derive_loads(p_region, p_year);
    RETURN n;
END $$;

-- What a run of the models reads, as one document (stored as the run's
-- inputs, so the run can be repeated and checked): every parameter of the
-- set and every input of the region and year, in a fixed order. NULL when
-- the parameter set does not exist.
CREATE FUNCTION gep.model_inputs(p_region text, p_year integer, p_param_set text)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM gep.param WHERE param_set = p_param_set) THEN NULL
    ELSE jsonb_build_object(
        'region', p_region, 'year', p_year, 'param_set', p_param_set,
        'params', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'key', key, 'ecosystem', ecosystem, 'value', value, 'unit', unit,
                       'year', year, 'source', source, 'status', status)
                       ORDER BY key, ecosystem), '[]')
                   FROM gep.param WHERE param_set = p_param_set),
        'inputs', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'key', key, 'ecosystem', ecosystem, 'value', value, 'unit', unit,
                       'source', source, 'query', query)
                       ORDER BY key, ecosystem), '[]')
                   FROM gep.input WHERE region = p_region AND year = p_year))
    END
$$;

-- Stores a finished run of the models: the inputs document and the line
-- items the engine computed ([{line, category, service, item, ecosystem,
-- quantity, quantity_unit, method, price, price_unit, price_year,
-- value_yuan, sources}]); the total is the exact sum of the items. Returns
-- the run's id.
CREATE FUNCTION gep.store_models_run(p_region text, p_year integer, p_param_set text,
                                     p_inputs jsonb, p_items jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    rid bigint;
BEGIN
    INSERT INTO gep.run (region, year, method, param_set, inputs)
    VALUES (p_region, p_year, 'models', p_param_set, p_inputs) RETURNING id INTO rid;
    INSERT INTO gep.item (run, line, category, service, item, ecosystem, quantity, quantity_unit,
                          method, price, price_unit, price_year, value_yuan, year, sources)
    SELECT rid, i.line, i.category, i.service, coalesce(i.item, ''), coalesce(i.ecosystem, ''),
           i.quantity, i.quantity_unit, i.method, i.price, i.price_unit, i.price_year,
           i.value_yuan, p_year, i.sources
    FROM jsonb_to_recordset(p_items) AS i (line integer, category text, service text, item text,
         ecosystem text, quantity double precision, quantity_unit text, method text,
         price double precision, price_unit text, price_year integer, value_yuan numeric,
         sources text[]);
    UPDATE gep.run SET status = 'done', finished_at = now(),
           total_yuan = (SELECT coalesce(sum(value_yuan), 0) FROM gep.item WHERE run = rid)
     WHERE id = rid;
    RETURN rid;
END $$;

-- A run's result summary with the indicators of docs/GEP.md, as published
-- on eco/v1/gep/{region}/{year}:
--   totals by category and by service;
--   area_km2 (the region's area), gep_per_km2;
--   population (input `population`, persons), gep_per_person;
--   gdp (input `gdp`, yuan), gep_gdp_ratio;
--   shares of each category in the total;
--   market_yuan = provisioning + cultural (value realised through markets),
--   market_share;
--   previous: the latest finished run of the year before, its total, the
--   nominal change, and with `price_index` inputs of both years the change
--   at constant prices (previous total x index(year) / index(year - 1)).
-- An indicator whose input is missing is null.
CREATE FUNCTION gep.run_summary(p_run bigint)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH r AS (SELECT * FROM gep.run WHERE id = p_run),
    cat AS (SELECT c.category, coalesce(sum(i.value_yuan), 0) AS v
            FROM r CROSS JOIN (VALUES ('provisioning'), ('regulating'), ('cultural')) c (category)
            LEFT JOIN gep.item i ON i.run = r.id AND i.category = c.category
            GROUP BY c.category),
    inp AS (SELECT key, value FROM gep.input, r
            WHERE gep.input.region = r.region AND gep.input.year = r.year AND ecosystem = ''
              AND key IN ('population', 'gdp', 'price_index')),
    prev AS (SELECT p.id, p.total_yuan FROM gep.run p, r
             WHERE p.region = r.region AND p.year = r.year - 1 AND p.status = 'done'
             ORDER BY p.id DESC LIMIT 1),
    pidx AS (SELECT
               (SELECT value FROM gep.input, r WHERE gep.input.region = r.region
                  AND gep.input.year = r.year AND key = 'price_index' AND ecosystem = '') AS cur,
               (SELECT value FROM gep.input, r WHERE gep.input.region = r.region
                  AND gep.input.year = r.year - 1 AND key = 'price_index' AND ecosystem = '') AS prv),
    a AS (SELECT ST_Area(g.geom::geography) / 1e6 AS km2 FROM core.region g, r WHERE g.code = r.region)
    SELECT jsonb_build_object(
        'run', r.id, 'region', r.region, 'year', r.year, 'method', r.method,
        'param_set', r.param_set, 'status', r.status, 'finished_at', r.finished_at,
        'total_yuan', r.total_yuan,
        'categories', (SELECT jsonb_object_agg(category, v) FROM cat),
        'services', (SELECT coalesce(jsonb_agg(jsonb_build_object('category', x.category,
                        'service', x.service, 'value_yuan', x.v) ORDER BY x.first), '[]')
                     FROM (SELECT category, service, sum(value_yuan) v, min(line) first
                           FROM gep.item WHERE run = r.id GROUP BY category, service) x),
        'indicators', jsonb_build_object(
            'area_km2', round(a.km2::numeric, 3),
            'gep_per_km2', CASE WHEN a.km2 > 0 THEN round(r.total_yuan / a.km2::numeric, 2) END,
            'population', (SELECT value FROM inp WHERE key = 'population'),
            'gep_per_person', (SELECT CASE WHEN value > 0
                                THEN round(r.total_yuan / value::numeric, 2) END
                               FROM inp WHERE key = 'population'),
            'gdp_yuan', (SELECT value FROM inp WHERE key = 'gdp'),
            'gep_gdp_ratio', (SELECT CASE WHEN value > 0
                               THEN round(r.total_yuan / value::numeric, 4) END
                              FROM inp WHERE key = 'gdp'),
            'shares', (SELECT jsonb_object_agg(category, CASE WHEN r.total_yuan > 0
                          THEN round(v / r.total_yuan, 4) END) FROM cat),
            'market_yuan', (SELECT sum(v) FROM cat WHERE category IN ('provisioning', 'cultural')),
            'market_share', (SELECT CASE WHEN r.total_yuan > 0 THEN round(sum(v) / r.total_yuan, 4) END
                             FROM cat WHERE category IN ('provisioning', 'cultural')),
            'previous', (SELECT jsonb_build_object(
                  'year', r.year - 1, 'run', prev.id, 'total_yuan', prev.total_yuan,
                  'change', CASE WHEN prev.total_yuan > 0
                            THEN round(r.total_yuan / prev.total_yuan - 1, 4) END,
                  'constant_prices', pidx.cur IS NOT NULL AND pidx.prv IS NOT NULL,
                  'change_constant', CASE WHEN prev.total_yuan > 0 AND pidx.cur > 0 AND pidx.prv > 0
                            THEN round(r.total_yuan / (prev.total_yuan * (pidx.cur / pidx.prv)::numeric) - 1, 4)
                            END)
                FROM prev, pidx)))
    FROM r, a
$$;

-- eco-gep derives (gep.derive_inputs is SECURITY DEFINER), reads, stores
-- runs; ecoctl too. Analysts read.
GRANT SELECT ON gep.landuse TO eco_gep, eco_ctl, eco_report, eco_analyst;
GRANT INSERT, UPDATE, DELETE ON gep.landuse TO eco_ctl;
GRANT USAGE ON SEQUENCE gep.landuse_id_seq TO eco_ctl;
REVOKE ALL ON FUNCTION gep.derive_inputs(text, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION gep.derive_inputs(text, integer, text) TO eco_gep, eco_ctl;
REVOKE ALL ON FUNCTION gep.store_models_run(text, integer, text, jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION gep.store_models_run(text, integer, text, jsonb, jsonb) TO eco_gep, eco_ctl;
