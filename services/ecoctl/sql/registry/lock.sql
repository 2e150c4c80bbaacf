-- Two loads at once would each validate against a database the other is
-- about to change.
SELECT pg_advisory_xact_lock(hashtext('ecowatch registry load'))
