-- 0013: identities on the broker (docs/SECURITY.md). Every MQTT device and
-- every person has an account of its own; ecoctl renders the broker's
-- password and ACL files from these rows and makes mosquitto reload them.
--
-- Hashes only: core.device.broker_hash and core.account.broker_hash hold
-- mosquitto's PBKDF2-SHA512 form ($7$iterations$salt$hash, what
-- mosquitto_passwd writes), computed by ecoctl from the password in
-- devices.csv or typed by the operator. The plaintext never reaches the
-- database. Only eco_ctl (which renders the broker files) reads or writes
-- them (the rule of 0007: a credential column is granted to the one role
-- that needs it).

ALTER TABLE core.device ADD COLUMN broker_hash text
    CHECK (broker_hash ~ '^\$7\$[0-9]{1,7}\$[A-Za-z0-9+/=]{4,128}\$[A-Za-z0-9+/=]{4,255}$');
COMMENT ON COLUMN core.device.broker_hash IS
    'mosquitto PBKDF2-SHA512 hash of an MQTT device''s password (its broker account); NULL: no account';
-- core.device is granted per column (0007), except to eco_ingest, which still
-- held the table-wide SELECT of 0004 and so would read every new column: it
-- gets the columns it reads (the gateway checks password_hash), not this one.
REVOKE SELECT ON core.device FROM eco_ingest;
GRANT SELECT (id, code, site, protocol, password_hash, hj212_st, active) ON core.device
    TO eco_ingest;
GRANT SELECT (broker_hash), UPDATE (broker_hash) ON core.device TO eco_ctl;

CREATE TABLE core.account (
    id          serial PRIMARY KEY,
    -- the MQTT user name; the same syntax as device codes, and never equal
    -- to one (the broker's %u patterns would give a person a device's topic)
    username    text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.-]{1,64}$'),
    role        text NOT NULL
        CHECK (role IN ('admin', 'dispatcher', 'department', 'analyst', 'integrator')),
    -- the department a `department` account acts for (its eco/v1/wo/{dept}/#)
    department  text REFERENCES core.department (code) ON UPDATE CASCADE,
    broker_hash text NOT NULL
        CHECK (broker_hash ~ '^\$7\$[0-9]{1,7}\$[A-Za-z0-9+/=]{4,128}\$[A-Za-z0-9+/=]{4,255}$'),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'department') = (department IS NOT NULL))
);
COMMENT ON TABLE core.account IS
    'personal broker accounts with a role (ecoctl user); hashes readable by eco_ctl only';

-- Default privileges (0004) gave every role SELECT on the new table: take it
-- back, then grant the columns without the hash to the services that will
-- need to know who a person is (dispatch, report).
REVOKE ALL ON core.account FROM eco_ingest, eco_detect, eco_dispatch, eco_gep, eco_report,
    eco_ctl, eco_analyst;
GRANT SELECT, INSERT, UPDATE ON core.account TO eco_ctl;
GRANT USAGE ON SEQUENCE core.account_id_seq TO eco_ctl;
GRANT SELECT (id, username, role, department, active, created_at, updated_at) ON core.account
    TO eco_dispatch, eco_report;

-- A person's user name may not be a device code, nor the other way round,
-- whatever the case: one %u pattern line serves every device, so a person
-- named like a device could publish its readings.
CREATE FUNCTION core.identity_unique() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'account' THEN
        IF EXISTS (SELECT 1 FROM core.device WHERE lower(code) = lower(NEW.username)) THEN
            RAISE EXCEPTION 'user name % is a device code', NEW.username
                USING ERRCODE = 'unique_violation';
        END IF;
    ELSIF EXISTS (SELECT 1 FROM core.account WHERE lower(username) = lower(NEW.code)) THEN
        RAISE EXCEPTION 'device code % is the user name of a person', NEW.code
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER account_identity_unique BEFORE INSERT OR UPDATE OF username ON core.account
    FOR EACH ROW EXECUTE FUNCTION core.identity_unique();
CREATE TRIGGER device_identity_unique BEFORE INSERT OR UPDATE OF code ON core.device
    FOR EACH ROW EXECUTE FUNCTION core.identity_unique();
CREATE INDEX account_lower_username_idx ON core.account (lower(username));
CREATE INDEX device_lower_code_idx ON core.device (lower(code));
