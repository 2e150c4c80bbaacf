-- 0001: the registry. Natural keys (codes) are what users see and load;
-- integer ids exist where observation tables need them to stay small.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pgcrypto;   -- crypt() for device passwords

CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS obs;
CREATE SCHEMA IF NOT EXISTS rpt;

CREATE TABLE core.region (
    id        serial PRIMARY KEY,
    code      text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name      text NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('city', 'district', 'county', 'town', 'sea_area')),
    parent    text REFERENCES core.region (code) DEFERRABLE INITIALLY DEFERRED,
    geom      geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX region_geom_idx ON core.region USING gist (geom);

CREATE TABLE core.department (
    id        serial PRIMARY KEY,
    code      text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name      text NOT NULL,
    -- what the department acts on: complaint categories / site kinds
    duties    text[] NOT NULL DEFAULT '{}',
    phone     text
);

-- The regions a department answers for.
CREATE TABLE core.department_region (
    department text NOT NULL REFERENCES core.department (code) ON DELETE CASCADE,
    region     text NOT NULL REFERENCES core.region (code) ON DELETE CASCADE,
    PRIMARY KEY (department, region)
);

CREATE TABLE core.enterprise (
    id          serial PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name        text NOT NULL,
    industry    text NOT NULL,
    region      text NOT NULL REFERENCES core.region (code),
    regulator   text REFERENCES core.department (code),
    address     text,
    geom        geometry(Point, 4326) NOT NULL
);
CREATE INDEX enterprise_geom_idx ON core.enterprise USING gist (geom);

CREATE TABLE core.site (
    id           serial PRIMARY KEY,
    code         text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('air', 'noi', 'water', 'sea', 'gas_outlet',
                                               'water_outlet', 'mobile')),
    region       text REFERENCES core.region (code),
    enterprise   text REFERENCES core.enterprise (code),
    -- GB 3838 class 1..5 for water, GB 3097 class 1..4 for sea
    target_class smallint CHECK (target_class BETWEEN 1 AND 5),
    geom         geometry(Point, 4326),
    active       boolean NOT NULL DEFAULT true,
    CHECK (kind = 'mobile' OR geom IS NOT NULL),
    CHECK (kind NOT IN ('gas_outlet', 'water_outlet') OR enterprise IS NOT NULL)
);
CREATE INDEX site_geom_idx ON core.site USING gist (geom);

CREATE TABLE core.device (
    id            serial PRIMARY KEY,
    -- HJ 212 MN or MQTT device id (the {device} of eco/v1/in/{device})
    code          text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9_.-]{1,64}$'),
    site          text NOT NULL REFERENCES core.site (code),
    protocol      text NOT NULL CHECK (protocol IN ('mqtt', 'hj212')),
    -- crypt() hash of the HJ 212 PW (or MQTT password); never the password itself
    password_hash text,
    -- HJ 212 ST the logger declares (22 air, 31 flue gas, 32 wastewater, ...)
    hj212_st      text,
    active        boolean NOT NULL DEFAULT true
);

CREATE TABLE core.param (
    id             smallserial PRIMARY KEY,
    code           text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9_]{1,32}$'),
    hj212_code     text UNIQUE,
    hj212_2005_code text,
    name           text NOT NULL,
    unit           text NOT NULL,
    -- values outside [valid_min, valid_max] are refused as implausible
    valid_min      double precision NOT NULL,
    valid_max      double precision NOT NULL,
    CHECK (valid_min < valid_max)
);

-- Unit conversions accepted on input: value_in_unit * factor + offset.
CREATE TABLE core.unit_conversion (
    from_unit text NOT NULL,
    to_unit   text NOT NULL,
    factor    double precision NOT NULL,
    "offset"  double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (from_unit, to_unit)
);

CREATE TABLE core.limit (
    id        serial PRIMARY KEY,
    site      text REFERENCES core.site (code) ON DELETE CASCADE,
    site_kind text CHECK (site_kind IN ('air', 'noi', 'water', 'sea', 'gas_outlet',
                                        'water_outlet', 'mobile')),
    param     text NOT NULL REFERENCES core.param (code),
    period    text NOT NULL CHECK (period IN ('rt', 'min', 'hour', 'day')),
    -- class for graded standards (GB 3838 I..V, GB 3097 1..4); null otherwise
    class     smallint,
    lower     double precision,
    upper     double precision,
    standard  text NOT NULL,   -- where the number comes from, e.g. 'GB 3095-2012 Table 1'
    note      text,
    CHECK ((site IS NULL) <> (site_kind IS NULL)),
    CHECK (lower IS NOT NULL OR upper IS NOT NULL)
);
CREATE UNIQUE INDEX limit_key ON core.limit (coalesce(site, ''), coalesce(site_kind, ''), param,
                                             period, coalesce(class, 0));
