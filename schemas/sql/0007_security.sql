-- 0007: credentials are readable only by the service that checks them.
--
-- core.device.password_hash holds the bcrypt hashes of the HJ 212 loggers'
-- passwords. Short numeric passwords fall to an offline search once the hash
-- is known, so only eco_ingest (which verifies loggers) may read it; every
-- other role reads core.device column by column, without it.
--
-- The rule for later migrations (docs/DEPLOY.md, "Database roles"):
--   - a credential column (a name ending in password, passwd, pw, secret,
--     token or hash) is granted to the one role that checks it, never to
--     eco_analyst or the other services; tests/integration/security_test.sh
--     fails on any such column readable by another role;
--   - core.device is granted per column: a column added to it is readable by
--     nobody but its owner and eco_ingest until a migration grants it, so a
--     new column cannot leak by default. Grant it explicitly (as below);
--   - new tables in core get SELECT for every role by default privileges
--     (0004): a table holding credentials must REVOKE that in its migration.

REVOKE SELECT ON core.device FROM eco_detect, eco_dispatch, eco_gep, eco_report, eco_ctl,
    eco_analyst;
GRANT SELECT (id, code, site, protocol, hj212_st, active) ON core.device TO eco_detect,
    eco_dispatch, eco_gep, eco_report, eco_ctl, eco_analyst;

-- The devices as analysts see them (SELECT * on core.device is refused to
-- them now, since it names password_hash).
CREATE VIEW rpt.device AS
SELECT code, site, protocol, hj212_st, active FROM core.device;
GRANT SELECT ON rpt.device TO eco_detect, eco_dispatch, eco_gep, eco_report, eco_ctl,
    eco_analyst;

-- Dead letters written before eco-ingest masked credentials kept the whole
-- HJ 212 frame, with the logger's PW in clear: mask them as the gateway now
-- does (services/ingest/hj212gw.c, hj212gw_mask): the value of every key
-- ending in pw, passwd or password becomes ***, and the frame's CRC (which
-- is computed over the password) ****.
UPDATE obs.deadletter
   SET payload = regexp_replace(
           regexp_replace(payload, '([A-Za-z0-9_-]*(pw|passwd|password)=)[^;,&\r\n]*', '\1***',
                          'gi'),
           '&&[0-9A-Fa-f]{4}([\r\n#]|$)', '&&****\1', 'g')
 WHERE source LIKE 'hj212://%' AND payload ~* '(pw|passwd|password)=';

-- Device events keep the CP items as text; a credential among them (e.g. a
-- NewPW) is masked the same way.
UPDATE obs.device_event e
   SET payload = jsonb_set(e.payload, '{cp}',
                           (SELECT jsonb_object_agg(k, CASE WHEN k ~* '(pw|passwd|password)$'
                                                            THEN to_jsonb('***'::text) ELSE v END)
                              FROM jsonb_each(e.payload -> 'cp') AS x(k, v)))
 WHERE jsonb_typeof(e.payload -> 'cp') = 'object'
   AND EXISTS (SELECT 1 FROM jsonb_object_keys(e.payload -> 'cp') AS k
                WHERE k ~* '(pw|passwd|password)$');
