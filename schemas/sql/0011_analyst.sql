-- 0011: for analysts. Their sessions show times at Beijing time (the
-- stations' clock; timestamptz values are unchanged, only their display),
-- and rpt.site is one layer a GIS opens: every site with its geometry and
-- its latest state, instead of a join of core.site, obs.latest, obs.track
-- and alarm.alarm.

-- A role setting applies to sessions started after it, in every database of
-- the cluster; `SET timezone` in a session still overrides it.
ALTER ROLE eco_analyst SET timezone = 'Asia/Shanghai';

-- Open (or acknowledged, not yet cleared) live alarms of a site. A one-line
-- SQL function, inlined into queries.
CREATE FUNCTION rpt.site_open_alarms(site_id integer) RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT count(*) FROM alarm.alarm a
    WHERE a.site_id = $1 AND a.state <> 'cleared' AND NOT a.replay
$$;

-- One row per site. geom is the site's point, or for a mobile site its last
-- tracked position (NULL before its first fix). latest is a JSON object
-- {param: {"v", "unit", "flag", "period", "ts"}} from obs.latest; latest_at
-- its newest time (NULL: nothing received yet).
CREATE VIEW rpt.site AS
SELECT s.id, s.code, s.name, s.kind, s.region, s.enterprise, s.active,
       coalesce(s.geom, (SELECT t.geom FROM obs.track t WHERE t.site_id = s.id
                         ORDER BY t.ts DESC LIMIT 1))::geometry(Point, 4326) AS geom,
       l.latest_at, coalesce(l.latest, '{}'::jsonb) AS latest,
       rpt.site_open_alarms(s.id) AS open_alarms
FROM core.site s
LEFT JOIN LATERAL (
    SELECT max(x.ts) AS latest_at,
           jsonb_object_agg(p.code, jsonb_build_object('v', x.value, 'unit', p.unit,
                            'flag', x.flag::text, 'period', core.period_name(x.period),
                            'ts', x.ts)) AS latest
    FROM obs.latest x JOIN core.param p ON p.id = x.param_id
    WHERE x.site_id = s.id
) l ON true;

COMMENT ON VIEW rpt.site IS
    'every site with geometry (mobile: last tracked position) and its latest state: latest_at, '
    'latest values as JSON {param: {v, unit, flag, period, ts}}, open live alarms';

GRANT SELECT ON rpt.site TO eco_detect, eco_dispatch, eco_gep, eco_report, eco_ctl, eco_analyst;
GRANT EXECUTE ON FUNCTION rpt.site_open_alarms(integer) TO eco_detect, eco_dispatch, eco_gep,
    eco_report, eco_ctl, eco_analyst;
