-- 0028: the pollutant loads of GEP's purification services (spec R4, R5:
-- the purified quantity is capped by the load emitted) from the network's
-- own online monitors of the pollution sources: each outlet's daily
-- emission (concentration x flow, rpt.source_day_store.emission_kg, 0027)
-- summed over the year for the outlets inside the region. It is the
-- monitored part of the load (the enterprises with online monitors, the
-- parameters with an emission limit); a statistical load entered by hand in
-- gep.input wins over it, as for every derived input.

-- Which monitored parameter feeds which load input (t/a).
CREATE TABLE gep.load_param (
    param  text PRIMARY KEY,
    key    text NOT NULL CHECK (key ~ '^(air|water|sea)_load_[A-Za-z0-9]+$'),
    source text NOT NULL CHECK (source <> '')
);
COMMENT ON TABLE gep.load_param IS
    'monitored outlet parameters (core.param codes) and the gep.input load key each one''s yearly emission feeds';
INSERT INTO gep.load_param VALUES
 ('so2_stack', 'air_load_SO2', 'HJ 212 flue-gas SO2 (CEMS), docs/GEP.md'),
 ('nox_stack', 'air_load_NOx', 'HJ 212 flue-gas NOx as NO2 (CEMS), docs/GEP.md'),
 ('dust_stack', 'air_load_dust', 'HJ 212 flue-gas particulates (CEMS), docs/GEP.md'),
 ('cod', 'water_load_COD', 'HJ 212 wastewater COD, docs/GEP.md'),
 ('nh3n', 'water_load_NH3N', 'HJ 212 wastewater NH3-N, docs/GEP.md'),
 ('tp', 'water_load_TP', 'HJ 212 wastewater total phosphorus, docs/GEP.md'),
 ('tn', 'water_load_TN', 'HJ 212 wastewater total nitrogen, docs/GEP.md');

-- The yearly emission (t) per load key of the outlets inside the region:
-- each outlet, parameter and Beijing day once (its hourly limit's row
-- before its daily limit's), from the stored day rows (dirty days computed
-- on the spot). Days without a measured flow have no emission.
CREATE FUNCTION gep.source_load(p_region text, p_year integer)
RETURNS TABLE (key text, tonnes numeric, outlets bigint, days bigint)
LANGUAGE sql STABLE AS $$
    WITH r AS (SELECT geom FROM core.region WHERE code = p_region),
    st AS (SELECT s.id FROM core.site s, r
           WHERE s.kind IN ('gas_outlet', 'water_outlet') AND ST_Covers(r.geom, s.geom)),
    d AS (
        SELECT DISTINCT ON (x.site_id, x.param, x.t) x.site_id, x.param, x.t, x.emission_kg
        FROM rpt.source_day_rows(make_date(p_year, 1, 1), make_date(p_year + 1, 1, 1)) x
        JOIN st ON st.id = x.site_id
        WHERE x.emission_kg IS NOT NULL
        ORDER BY x.site_id, x.param, x.t, x.limit_period <> 'hour')
    SELECT m.key, trim_scale(round(sum(d.emission_kg) / 1000, 6)), count(DISTINCT d.site_id),
           count(DISTINCT d.t)
    FROM d JOIN gep.load_param m ON m.param = d.param
    GROUP BY m.key
    ORDER BY m.key
$$;

COMMENT ON FUNCTION gep.source_load(text, integer) IS
    'yearly emission (t) per GEP load key of the monitored outlets inside a region (gep.load_param)';

-- Called by gep.derive_inputs (0025): replaces the derived load rows of a
-- region and year; returns how many it stored.
CREATE FUNCTION gep.derive_loads(p_region text, p_year integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    k integer;
BEGIN
    DELETE FROM gep.input
     WHERE region = p_region AND year = p_year AND query IS NOT NULL
       AND key IN (SELECT m.key FROM gep.load_param m);
    INSERT INTO gep.input (region, year, key, ecosystem, value, unit, source, query)
    SELECT p_region, p_year, l.key, '', l.tonnes, 't',
           format('derived: emission measured by the online monitors of %s outlet(s) on %s days of %s',
                  l.outlets, l.days, p_year),
           format('SELECT tonnes FROM gep.source_load(%L, %s) WHERE key = %L', p_region, p_year, l.key)
    FROM gep.source_load(p_region, p_year) l
    ON CONFLICT (region, year, key, ecosystem) DO NOTHING;
    GET DIAGNOSTICS k = ROW_COUNT;
    RETURN k;
END $$;

REVOKE EXECUTE ON FUNCTION gep.derive_loads(text, integer) FROM PUBLIC;
GRANT SELECT ON gep.load_param TO eco_gep, eco_report, eco_ctl, eco_analyst;
GRANT INSERT, UPDATE, DELETE ON gep.load_param TO eco_ctl;
GRANT EXECUTE ON FUNCTION gep.source_load(text, integer) TO eco_gep, eco_report, eco_ctl, eco_analyst;
