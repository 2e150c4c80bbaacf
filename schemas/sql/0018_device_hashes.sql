-- 0018: MQTT devices keep their broker hash only (docs/MIGRATIONS.md).
-- core.device.password_hash is the HJ 212 gateway's bcrypt hash; earlier
-- registry loads also stored one for every MQTT device, which nothing reads
-- and which cost ~52 ms of bcrypt per device on every new password.
UPDATE core.device SET password_hash = NULL WHERE protocol <> 'hj212' AND password_hash IS NOT NULL;

-- An MQTT device that may also publish public complaints (a citizen app's
-- gateway, a hotline system): devices.csv column `complaints`; the broker
-- grants it eco/v1/complaint/new (docs/SECURITY.md).
ALTER TABLE core.device ADD COLUMN may_complain boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN core.device.may_complain IS
    'the device may publish eco/v1/complaint/new (its broker ACL); devices.csv column complaints';
GRANT SELECT (may_complain) ON core.device TO eco_ctl, eco_ingest;
