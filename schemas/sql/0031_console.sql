-- 0031: what the web console (services/console, docs/REPORTS.md "Layers
-- for the console") reads besides 0021's layers:
--   * rpt.map_region: the districts, towns and sea areas, the console's
--     base map (it has no internet tiles);
--   * rpt.map_station: the active sites without alarm or work-order
--     information, the layer a department may read;
--   * rpt.map_track: each mobile vehicle's track of the last 24 hours;
--   * rpt.map_department: the departments, their duties and the union of
--     the regions they answer for;
--   * rpt.geojson(layer) also for 'regions', 'stations', 'tracks' and
--     'departments' (the old layers unchanged);
--   * rpt.series(site, hours): a site's recent readings per parameter, the
--     chart the console shows for a clicked site (eco-report's request
--     eco/v1/rpc/report/series/{caller}).

CREATE VIEW rpt.map_region AS
SELECT r.code, r.name, r.kind, r.parent, r.geom
FROM core.region r;

COMMENT ON VIEW rpt.map_region IS
    'the console''s base map: every region of the registry (city, districts, counties, towns and sea areas) '
    'with its polygons';

-- A mobile site is shown at its last fix (rpt.site does the same).
CREATE VIEW rpt.map_station AS
SELECT s.code, s.name, s.kind, s.region, s.enterprise,
       coalesce(s.geom, (SELECT t.geom FROM obs.track t WHERE t.site_id = s.id
                         ORDER BY t.ts DESC LIMIT 1))::geometry(Point, 4326) AS geom
FROM core.site s
WHERE s.active AND (s.geom IS NOT NULL OR EXISTS (SELECT 1 FROM obs.track t WHERE t.site_id = s.id));

COMMENT ON VIEW rpt.map_station IS
    'the active sites (mobile ones at their last fix) with no alarm or work-order information: '
    'the site layer every role may read (rpt.map_site has alarms and orders)';

-- obs.track's key (site_id, ts) serves each vehicle's last 24 hours.
CREATE VIEW rpt.map_track AS
SELECT s.code, s.name, t.fixes, t.first_at, t.last_at,
       CASE WHEN t.fixes = 1 THEN t.first_fix ELSE t.line END AS geom
FROM core.site s
CROSS JOIN LATERAL (
    SELECT count(*) AS fixes, min(x.ts) AS first_at, max(x.ts) AS last_at,
           ST_MakeLine(x.geom ORDER BY x.ts) AS line,
           (array_agg(x.geom ORDER BY x.ts))[1] AS first_fix
    FROM obs.track x
    WHERE x.site_id = s.id AND x.ts >= now() - interval '24 hours'
) t
WHERE s.kind = 'mobile' AND s.active AND t.fixes > 0;

COMMENT ON VIEW rpt.map_track IS
    'each active mobile vehicle''s fixes of the last 24 hours as a LineString in time order (a Point when '
    'there is one fix): fixes, first_at, last_at';

CREATE VIEW rpt.map_department AS
SELECT d.code, d.name, d.duties,
       coalesce(array_agg(dr.region ORDER BY dr.region) FILTER (WHERE dr.region IS NOT NULL),
                '{}')::text[] AS regions,
       ST_Multi(ST_Union(r.geom)) AS geom
FROM core.department d
LEFT JOIN core.department_region dr ON dr.department = d.code
LEFT JOIN core.region r ON r.code = dr.region
GROUP BY d.id, d.code, d.name, d.duties;

COMMENT ON VIEW rpt.map_department IS
    'every department with its duties, the codes of the regions it answers for and their union (NULL when '
    'it answers for none): where a dispatcher may re-route an order';

-- A layer as a GeoJSON FeatureCollection (RFC 7946); NULL for an unknown
-- layer. A feature without a geometry has "geometry": null.
CREATE OR REPLACE FUNCTION rpt.geojson(layer text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET timezone = 'Asia/Shanghai' AS $$
DECLARE
    rel text;
    res jsonb;
BEGIN
    rel := CASE layer WHEN 'sites' THEN 'rpt.map_site' WHEN 'alarms' THEN 'rpt.map_alarm'
                      WHEN 'orders' THEN 'rpt.map_order' WHEN 'grid' THEN 'rpt.map_grid'
                      WHEN 'regions' THEN 'rpt.map_region' WHEN 'stations' THEN 'rpt.map_station'
                      WHEN 'tracks' THEN 'rpt.map_track' WHEN 'departments' THEN 'rpt.map_department'
                      END;
    IF rel IS NULL THEN
        RETURN NULL;
    END IF;
    -- ST_AsGeoJSON writes a missing geometry as {"type": null}: RFC 7946
    -- wants null
    EXECUTE format('SELECT jsonb_build_object(''type'', ''FeatureCollection'', ''name'', %L, '
                   '''features'', coalesce(jsonb_agg(CASE WHEN x.geom IS NULL'
                   ' THEN jsonb_set(ST_AsGeoJSON(x.*, ''geom'', 6)::jsonb, ''{geometry}'', ''null'')'
                   ' ELSE ST_AsGeoJSON(x.*, ''geom'', 6)::jsonb END), ''[]''))'
                   ' FROM %s x', layer, rel)
        INTO res;
    RETURN res;
END
$$;

COMMENT ON FUNCTION rpt.geojson(text) IS
    'a map layer (sites, alarms, orders, grid, regions, stations, tracks, departments) as a GeoJSON '
    'FeatureCollection';

-- A site's readings of the p_hours hours that end at its latest reading
-- (not now(): a replay or a backfill is shown where its data is), as
--   {site, name, kind, from, to,
--    params: [{param, unit, period, points: [[ts, value, flag], ...]}]}
-- with the window from < ts <= to. Per parameter the hourly values when it
-- has any in the window, else its finest period (rt, min, hour, day), and
-- its latest 500 points, oldest first. NULL for an unknown site; a site
-- without readings has from/to null and no params.
--
-- Every lookup is a range of obs.reading's primary key (site_id, param_id,
-- period, ts), one per parameter and period: never a scan of the site's
-- whole archive. The plans are generic from the first call (partitions are
-- pruned when they run): planning the probes over every partition anew
-- each call cost more than running them (60 ms against 5 ms on 6 M
-- readings in 8 partitions).
CREATE FUNCTION rpt.series(p_site text, p_hours integer) RETURNS jsonb
LANGUAGE plpgsql STABLE SET timezone = 'Asia/Shanghai' SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    s   core.site;
    t1  timestamptz;
    t0  timestamptz;
    res jsonb;
BEGIN
    IF p_hours IS NULL OR p_hours < 1 OR p_hours > 168 THEN
        RAISE EXCEPTION 'hours must be 1 to 168, not %', coalesce(p_hours::text, 'null')
            USING ERRCODE = '22023';
    END IF;
    SELECT * INTO s FROM core.site WHERE code = p_site;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    -- the latest reading of each parameter and period (one probe of the
    -- key each, newest partition first): the site's latest is the largest,
    -- and a pair has readings in the window when its latest is in it.
    -- LIMIT keeps each probe a probe: written as EXISTS, the planner may
    -- scan the window's whole partition instead (0.5 s on 6 M readings)
    WITH last AS MATERIALIZED (
        SELECT p.id AS param_id, p.code, p.unit, k.period, k.fineness, l.ts
        FROM core.param p
        CROSS JOIN unnest('{r,m,h,d}'::"char"[]) WITH ORDINALITY AS k (period, fineness)
        CROSS JOIN LATERAL (SELECT r.ts FROM obs.reading r
                            WHERE r.site_id = s.id AND r.param_id = p.id AND r.period = k.period
                            ORDER BY r.ts DESC LIMIT 1) l
    ), w AS (
        SELECT max(last.ts) AS t1, max(last.ts) - make_interval(hours => p_hours) AS t0 FROM last
    ), pick AS (
        -- hourly when there are hourly values, else the finest period
        SELECT DISTINCT ON (last.param_id) last.param_id, last.code, last.unit, last.period
        FROM last, w
        WHERE last.ts > w.t0
        ORDER BY last.param_id, last.period <> 'h', last.fineness
    )
    SELECT w.t0, w.t1,
           (SELECT coalesce(jsonb_agg(jsonb_build_object('param', pick.code, 'unit', pick.unit,
                                                         'period', core.period_name(pick.period),
                                                         'points', pts.points)
                                      ORDER BY pick.code), '[]')
            FROM pick
            CROSS JOIN LATERAL (
                SELECT coalesce(jsonb_agg(jsonb_build_array(x.ts, x.value, x.flag::text)
                                          ORDER BY x.ts), '[]') AS points
                FROM (SELECT r.ts, r.value, r.flag FROM obs.reading r
                      WHERE r.site_id = s.id AND r.param_id = pick.param_id
                        AND r.period = pick.period AND r.ts > w.t0 AND r.ts <= w.t1
                      ORDER BY r.ts DESC LIMIT 500) x
            ) pts)
      INTO t0, t1, res
    FROM w;
    RETURN jsonb_build_object('site', s.code, 'name', s.name, 'kind', s.kind, 'from', t0, 'to', t1,
                              'params', res);
END
$$;

COMMENT ON FUNCTION rpt.series(text, integer) IS
    'a site''s readings of the p_hours (1..168) hours ending at its latest reading, per parameter (hourly when '
    'there are hourly values, else the finest period; the latest 500 points), as JSON; NULL for an unknown site';

GRANT SELECT ON rpt.map_region, rpt.map_station, rpt.map_track, rpt.map_department
    TO eco_detect, eco_dispatch, eco_gep, eco_report, eco_ctl, eco_analyst;
GRANT EXECUTE ON FUNCTION rpt.series(text, integer) TO eco_report, eco_ctl, eco_analyst;
