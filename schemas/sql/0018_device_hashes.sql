-- 0018: MQTT devices keep their broker hash only (docs/MIGRATIONS.md).
-- core.device.password_hash is the HJ 212 gateway's bcrypt hash; earlier
-- registry loads also stored one for every MQTT device, which nothing reads
-- and which cost ~52 ms of bcrypt per device on every new password.
UPDATE core.device SET password_hash = NULL WHERE protocol <> 'hj212' AND password_hash IS NOT NULL;
