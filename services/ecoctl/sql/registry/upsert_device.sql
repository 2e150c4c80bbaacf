-- A stored hash is kept when the file's password still matches it and
-- its bcrypt cost is $1 (RG_BCRYPT_COST) or more (so a repeated load changes
-- nothing), or when the file leaves the password empty. A weaker hash
-- whose password the file gives is re-hashed at the current cost.
-- Only HJ 212 loggers have this hash (the gateway checks it): an MQTT
-- device's password becomes its broker account's PBKDF2 hash
-- (bauth_stage_devices), and bcrypt at cost 10 for 10,000 of them would
-- take ~9 minutes for a hash nobody reads.
WITH u AS (INSERT INTO core.device AS t
(code, site, protocol, password_hash, hj212_st, active, may_complain)
SELECT s.code, s.site, s.protocol,
CASE WHEN s.protocol <> 'hj212' THEN NULL
WHEN s.password IS NULL THEN d.password_hash
WHEN d.password_hash IS NOT NULL
AND coalesce(substring(d.password_hash from '^\$2[abxy]\$([0-9]{2})\$')::int, 0)
>= $1::int
AND d.password_hash = crypt(s.password, d.password_hash) THEN d.password_hash
ELSE crypt(s.password, gen_salt('bf', $1::int)) END,
s.hj212_st, coalesce(s.active, d.active, true),
coalesce(s.complaints, d.may_complain, false)
FROM rg_device s LEFT JOIN core.device d ON d.code = s.code ORDER BY s.ord
ON CONFLICT (code) DO UPDATE SET site = EXCLUDED.site, protocol = EXCLUDED.protocol,
password_hash = EXCLUDED.password_hash, hj212_st = EXCLUDED.hj212_st,
active = EXCLUDED.active, may_complain = EXCLUDED.may_complain
WHERE (t.site, t.protocol, t.password_hash, t.hj212_st, t.active, t.may_complain) IS DISTINCT FROM
(EXCLUDED.site, EXCLUDED.protocol, EXCLUDED.password_hash, EXCLUDED.hj212_st,
EXCLUDED.active, EXCLUDED.may_complain)
RETURNING (t.xmax = 0) AS ins)
SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM u
