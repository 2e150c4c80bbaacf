-- 0022: GEP (gross ecosystem product) accounting, docs/GEP.md.
--
-- A run values a region's ecosystem services for one year as line items,
-- each quantity x price = value, and keeps every number's provenance: the
-- parameters (prices, coefficients) come from a named parameter set in
-- gep.param, the physical inputs from gep.input, and the run stores a
-- snapshot of both (gep.run.inputs) so a later edit of either cannot change
-- what a stored account says. Values are yuan with two decimals (fen): the
-- totals are exact sums of the line items. rpt.gep_summary is the face for
-- analysts and reports: the latest finished run per region and year.
CREATE SCHEMA IF NOT EXISTS gep;

-- The service codes (docs/CONTRACT.md "GEP account files") and the category
-- each belongs to; gep.item refers to both, so a line cannot be filed under
-- the wrong category.
CREATE TABLE gep.service (
    code     text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{0,63}$'),
    category text NOT NULL CHECK (category IN ('provisioning', 'regulating', 'cultural')),
    name     text NOT NULL,
    UNIQUE (category, code)
);
INSERT INTO gep.service (category, code, name) VALUES
 ('provisioning', 'agriculture', '农业产品 agricultural products'),
 ('provisioning', 'forestry', '林业产品 forestry products'),
 ('provisioning', 'animal_husbandry', '畜牧业产品 animal husbandry'),
 ('provisioning', 'fishery', '淡水渔业 freshwater fishery'),
 ('provisioning', 'marine_capture', '海洋捕捞 marine capture'),
 ('provisioning', 'mariculture', '海水养殖 mariculture'),
 ('provisioning', 'water_supply', '水资源 water resources'),
 ('provisioning', 'ecological_energy', '生态能源 ecological energy'),
 ('provisioning', 'other_products', '其他 other products'),
 ('regulating', 'water_conservation', '水源涵养 water conservation'),
 ('regulating', 'soil_retention', '土壤保持 soil retention'),
 ('regulating', 'sand_fixation', '防风固沙 windbreak and sand fixation'),
 ('regulating', 'flood_regulation', '洪水调蓄 flood regulation'),
 ('regulating', 'air_purification', '空气净化 air purification'),
 ('regulating', 'water_purification', '水质净化 water purification'),
 ('regulating', 'carbon_sequestration', '固碳 carbon sequestration'),
 ('regulating', 'oxygen_release', '释氧 oxygen release'),
 ('regulating', 'climate_regulation', '气候调节 climate regulation'),
 ('regulating', 'negative_ions', '负氧离子 negative oxygen ions'),
 ('regulating', 'pest_control', '病虫害控制 pest and disease control'),
 ('regulating', 'noise_reduction', '噪声消减 noise reduction'),
 ('regulating', 'coastal_protection', '海岸带防护 coastal protection'),
 ('regulating', 'sea_purification', '海水净化 sea-water purification'),
 ('regulating', 'mariculture_carbon', '养殖碳汇 mariculture carbon removal'),
 ('cultural', 'recreation', '休闲旅游 recreation and tourism'),
 ('cultural', 'landscape', '景观价值 landscape value'),
 ('cultural', 'non_use', '非使用价值 non-use value');

-- Prices and coefficients, by parameter set. value NULL: known to be needed
-- but not yet found ([GAP]); a run that needs it refuses, naming the key.
-- status is the specification's verification label.
CREATE TABLE gep.param (
    id         serial PRIMARY KEY,
    param_set  text NOT NULL CHECK (param_set ~ '^[A-Za-z0-9_.-]{1,64}$'),
    key        text NOT NULL CHECK (key ~ '^[A-Za-z][A-Za-z0-9_]{0,63}$'),
    ecosystem  text NOT NULL DEFAULT '',   -- '' = every ecosystem
    value      double precision CHECK (value IS NULL OR value NOT IN ('NaN', 'Infinity', '-Infinity')),
    unit       text NOT NULL,
    year       integer CHECK (year BETWEEN 1900 AND 2200), -- price year (comparable prices)
    source     text,                       -- citation; NULL or empty: the run refuses it
    status     text NOT NULL DEFAULT 'U' CHECK (status IN ('V', 'V-x', 'U', 'GAP')),
    note       text NOT NULL DEFAULT '',
    UNIQUE (param_set, key, ecosystem)
);

-- The specification's seed defaults (docs/GEP.md), set 'seed'. They are
-- seeds, not Zhejiang values: a deployment copies the set and replaces them
-- from the official text.
INSERT INTO gep.param (param_set, key, value, unit, year, source, status) VALUES
 ('seed', 'res_unit_cost', 6.1107, 'yuan/m3', 2005, 'LY/T 1721-2008', 'V-x'),
 ('seed', 'res_unit_opcost', NULL, 'yuan/m3', NULL, NULL, 'GAP'),
 ('seed', 'sed_coef', 0.24, '1', NULL, 'Garzê 2010, citing Ouyang 1999', 'V'),
 ('seed', 'soil_bulk_density', NULL, 't/m3', NULL, NULL, 'GAP'),
 ('seed', 'dredge_cost', 15.58, 'yuan/m3', 2010, 'Garzê 2010', 'V'),
 ('seed', 'soil_N', NULL, '1', NULL, NULL, 'GAP'),
 ('seed', 'soil_P', NULL, '1', NULL, NULL, 'GAP'),
 ('seed', 'price_N', 875, 'yuan/t', 2010, 'Garzê 2010 (0.7 yuan/eq / 0.8 kg)', 'V'),
 ('seed', 'price_P', 2800, 'yuan/t', 2010, 'Garzê 2010 (0.7 yuan/eq / 0.25 kg)', 'V'),
 ('seed', 'price_SO2', 1200, 'yuan/t', 2008, 'LY/T 1721-2008; Garzê 2010', 'V'),
 ('seed', 'price_NOx', 630, 'yuan/t', 2008, 'LY/T 1721-2008; Garzê 2010', 'V'),
 ('seed', 'price_dust', 150, 'yuan/t', 2008, 'LY/T 1721-2008; Garzê 2010', 'V'),
 ('seed', 'price_COD', 700, 'yuan/t', 2010, 'Garzê 2010', 'V'),
 ('seed', 'price_NH3N', 875, 'yuan/t', 2010, 'Garzê 2010', 'V'),
 ('seed', 'price_TP', 2800, 'yuan/t', 2010, 'Garzê 2010 equivalent (0.7 yuan / 0.25 kg)', 'V-x'),
 ('seed', 'price_TN', NULL, 'yuan/t', NULL, NULL, 'GAP'),
 ('seed', 'co2_per_dm', 1.63, 't_CO2/t', NULL, 'LY/T 1721-2008', 'V'),
 ('seed', 'o2_per_dm', 1.19, 't_O2/t', NULL, 'LY/T 1721-2008', 'V'),
 ('seed', 'price_C', 380, 'yuan/t_CO2', 2010, 'Garzê 2010 afforestation cost', 'V'),
 ('seed', 'price_O2', 1000, 'yuan/t_O2', 2008, 'Ministry of Health oxygen price; LY/T 1721-2008', 'V'),
 ('seed', 'ac_eer', 3.0, '1', NULL, 'Bo 2017', 'V'),
 ('seed', 'latent_heat', 2450, 'kJ/kg', NULL, 'Chongqing GEP platform default', 'V'),
 ('seed', 'humidifier_kwh', 125, 'kWh/m3', NULL, 'Jiaozhou Bay (Shang et al. 2018)', 'V'),
 ('seed', 'price_elec', 0.53, 'yuan/kWh', 2010, 'Garzê 2010 (Sichuan)', 'V'),
 ('seed', 'ion_threshold', 600, 'ion/cm3', NULL, 'LY/T 1721-2008 (code)', 'V'),
 ('seed', 'ion_cost', 5.8185e-18, 'yuan/ion', 2008, 'LY/T 1721-2008 (recalled)', 'U'),
 ('seed', 'ion_life', 10, 'min', NULL, 'LY/T 1721-2008 (recalled)', 'U'),
 ('seed', 'res_flood_ratio', 0.35, '1', NULL, 'Garzê 2010', 'V'),
 ('seed', 'marsh_depth', 0.3, 'm', NULL, 'Garzê 2010', 'V'),
 ('seed', 'kelp_C', 0.331, '1', NULL, 'Mao et al. 2018 (Sanggou Bay)', 'V'),
 ('seed', 'pest_cost_forest', 375, 'yuan/hm2', 2010, 'Garzê 2010', 'V'),
 ('seed', 'pest_cost_grass', 112.5, 'yuan/hm2', 2010, 'Garzê 2010', 'V');

-- Physical inputs of a region and year (areas, precipitation, outputs,
-- loads ...), with where each came from: a citation, or the query that
-- derived it (PostGIS zonal sums, yearbook tables).
CREATE TABLE gep.input (
    id         serial PRIMARY KEY,
    region     text NOT NULL REFERENCES core.region (code) ON UPDATE CASCADE,
    year       integer NOT NULL CHECK (year BETWEEN 1900 AND 2200),
    key        text NOT NULL CHECK (key ~ '^[A-Za-z][A-Za-z0-9_]{0,63}$'),
    ecosystem  text NOT NULL DEFAULT '',
    value      double precision NOT NULL CHECK (value NOT IN ('NaN', 'Infinity', '-Infinity')),
    unit       text NOT NULL,
    source     text NOT NULL CHECK (source <> ''),
    query      text,
    loaded_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (region, year, key, ecosystem)
);

-- One accounting run. method 'account': line items from an account file
-- (ecoctl gep run --account); 'models': the physical models of docs/GEP.md.
-- inputs: the snapshot of everything the run used (parameters, inputs, or
-- the account file's name and digest).
CREATE TABLE gep.run (
    id          bigserial PRIMARY KEY,
    region      text NOT NULL REFERENCES core.region (code) ON UPDATE CASCADE,
    year        integer NOT NULL CHECK (year BETWEEN 1900 AND 2200),
    method      text NOT NULL CHECK (method IN ('account', 'models')),
    param_set   text,
    inputs      jsonb NOT NULL DEFAULT '{}',
    status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    error       text,
    total_yuan  numeric(20, 2),
    created_by  text NOT NULL DEFAULT current_user,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    CHECK ((status = 'done') = (total_yuan IS NOT NULL AND finished_at IS NOT NULL))
);
CREATE INDEX run_region_year_idx ON gep.run (region, year, id);

-- A line item: quantity (in quantity_unit) x price (yuan per price_unit)
-- = value_yuan, or a value given directly (quantity or price NULL).
-- Quantities and prices are stored in base units (t, m3, hm2, kWh, ...:
-- 万/亿 multipliers are resolved on input). sources: where the quantity and
-- the price (and every coefficient of its method) come from.
CREATE TABLE gep.item (
    id            bigserial PRIMARY KEY,
    run           bigint NOT NULL REFERENCES gep.run (id) ON DELETE CASCADE,
    line          integer NOT NULL,          -- order in the run (account: file line)
    category      text NOT NULL,
    service       text NOT NULL,
    item          text NOT NULL DEFAULT '',
    ecosystem     text NOT NULL DEFAULT '',
    quantity      double precision CHECK (quantity NOT IN ('NaN', 'Infinity', '-Infinity')),
    quantity_unit text,
    method        text NOT NULL,
    price         double precision CHECK (price NOT IN ('NaN', 'Infinity', '-Infinity')),
    price_unit    text,
    price_year    integer CHECK (price_year BETWEEN 1900 AND 2200),
    value_yuan    numeric(20, 2) NOT NULL,
    year          integer NOT NULL CHECK (year BETWEEN 1900 AND 2200),
    sources       text[] NOT NULL CHECK (cardinality(sources) > 0 AND NOT ('' = ANY (sources))),
    FOREIGN KEY (category, service) REFERENCES gep.service (category, code),
    CHECK ((quantity IS NULL) = (quantity_unit IS NULL)),
    CHECK ((price IS NULL) = (price_unit IS NULL)),
    UNIQUE (run, line)
);

-- GEP by region, year, category and service: the latest finished run of
-- each region and year. One row per (category, service) with a value, one
-- per category (service NULL; all three, 0 when empty) and one 'total'.
CREATE VIEW rpt.gep_summary AS
WITH latest AS (
    SELECT DISTINCT ON (region, year) id, region, year, finished_at
    FROM gep.run WHERE status = 'done'
    ORDER BY region, year, id DESC
)
SELECT l.region, l.year, i.category, i.service, sum(i.value_yuan) AS value_yuan, l.id AS run
FROM latest l JOIN gep.item i ON i.run = l.id
GROUP BY l.region, l.year, l.id, i.category, i.service
UNION ALL
SELECT l.region, l.year, c.category, NULL, coalesce(sum(i.value_yuan), 0), l.id
FROM latest l
CROSS JOIN (VALUES ('provisioning'), ('regulating'), ('cultural')) c (category)
LEFT JOIN gep.item i ON i.run = l.id AND i.category = c.category
GROUP BY l.region, l.year, l.id, c.category
UNION ALL
SELECT l.region, l.year, 'total', NULL, coalesce(sum(i.value_yuan), 0), l.id
FROM latest l LEFT JOIN gep.item i ON i.run = l.id
GROUP BY l.region, l.year, l.id;

COMMENT ON VIEW rpt.gep_summary IS
    'GEP of the latest finished run per region and year: rows per (category, service), per '
    'category (service null) and total (category ''total''), value_yuan in yuan';

-- eco_gep (the accounting service) and eco_ctl (ecoctl gep run) write runs;
-- parameters and inputs are maintained by operators (eco_ctl). Analysts,
-- reports and the other services read.
GRANT USAGE ON SCHEMA gep TO eco_gep, eco_ctl, eco_report, eco_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA gep TO eco_gep, eco_ctl, eco_report, eco_analyst;
GRANT INSERT, UPDATE ON gep.run TO eco_gep, eco_ctl;
GRANT INSERT ON gep.item TO eco_gep, eco_ctl;
GRANT DELETE ON gep.run, gep.item TO eco_ctl;
GRANT INSERT, UPDATE, DELETE ON gep.param, gep.input TO eco_ctl;
GRANT USAGE ON SEQUENCE gep.run_id_seq, gep.item_id_seq TO eco_gep, eco_ctl;
GRANT USAGE ON SEQUENCE gep.param_id_seq, gep.input_id_seq TO eco_ctl;
GRANT SELECT ON rpt.gep_summary TO eco_detect, eco_dispatch, eco_gep, eco_report, eco_ctl,
    eco_analyst;
