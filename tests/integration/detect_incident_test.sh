#!/usr/bin/env bash
# Incidents (alarm.apply, docs/DETECTION.md "Incidents"): which raised alarms
# join one incident, through the neighbours precomputed in alarm.near and kept
# by triggers on core.site (a site added, moved, changed or deleted); the
# incidents' counters (alarms, last_at, closed_at) when several transitions of
# one incident come in one batch or in several; a batch applied twice changes
# nothing. Driven as eco_detect, the role eco-detect applies alarms with.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

eco_db_new t_detect_incident
p="ti$$"
ingest_registry "$p" # region ZS, parameters (and air sites s0..s3, left out below)
# At 30° N, 0.1° of longitude is 9.6 km. Air a0, a1 (9.6 km east), a2 (19.3 km
# east of a0, 9.6 km of a1); water w0, sea w1 19 km north of it, water w2
# 40 km north; two outlets of one enterprise 50 km apart; a noise station next
# to a0 (another kind).
eco_psql "
INSERT INTO core.enterprise (code, name, industry, region, geom)
  VALUES ('$p-e', 'test enterprise', 'chemical', 'ZS', ST_SetSRID(ST_MakePoint(122.5, 30.5), 4326));
INSERT INTO core.site (code, name, kind, region, enterprise, geom) VALUES
  ('$p-a0', 'a0', 'air', 'ZS', NULL, ST_SetSRID(ST_MakePoint(122.0, 30.0), 4326)),
  ('$p-a1', 'a1', 'air', 'ZS', NULL, ST_SetSRID(ST_MakePoint(122.1, 30.0), 4326)),
  ('$p-a2', 'a2', 'air', 'ZS', NULL, ST_SetSRID(ST_MakePoint(122.2, 30.0), 4326)),
  ('$p-n0', 'n0', 'noi', 'ZS', NULL, ST_SetSRID(ST_MakePoint(122.0, 30.01), 4326)),
  ('$p-w0', 'w0', 'water', 'ZS', NULL, ST_SetSRID(ST_MakePoint(122.0, 29.6), 4326)),
  ('$p-w1', 'w1', 'sea', 'ZS', NULL, ST_SetSRID(ST_MakePoint(122.0, 29.77), 4326)),
  ('$p-w2', 'w2', 'water', 'ZS', NULL, ST_SetSRID(ST_MakePoint(122.0, 29.96), 4326)),
  ('$p-o0', 'o0', 'gas_outlet', 'ZS', '$p-e', ST_SetSRID(ST_MakePoint(122.0, 30.5), 4326)),
  ('$p-o1', 'o1', 'gas_outlet', 'ZS', '$p-e', ST_SetSRID(ST_MakePoint(122.5, 30.5), 4326));" >/dev/null

pairs() { # the pairs of alarm.near among this test's sites, as "x-y" (codes without prefix)
    eco_psql "SELECT string_agg(substr(a.code, length('$p-') + 1) || '-' || substr(b.code, length('$p-') + 1), ' '
                                ORDER BY a.code, b.code)
              FROM alarm.near n JOIN core.site a ON a.id = n.site_id JOIN core.site b ON b.id = n.near_id
              WHERE a.code LIKE '$p-%' AND a.code < b.code AND a.code !~ '^$p-s' AND b.code !~ '^$p-s'"
}
eco_assert_eq "a0-a1 a1-a2 o0-o1 w0-w1 w1-w2" "$(pairs)" \
    "alarm.near: air within 15 km, water and sea within 25 km, one enterprise; not noise next to air"
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM alarm.near n WHERE NOT EXISTS
                               (SELECT FROM alarm.near m WHERE m.site_id = n.near_id AND m.near_id = n.site_id)")" \
    "alarm.near holds both directions"

# ---- linking, as eco_detect --------------------------------------------------
so2=$(eco_psql "SELECT id FROM core.param WHERE code = 'so2'")
no2=$(eco_psql "SELECT id FROM core.param WHERE code = 'no2'")
sid() { eco_psql "SELECT id FROM core.site WHERE code = '$p-$1'"; }
us() { eco_psql "SELECT (extract(epoch FROM '$1'::timestamptz) * 1e6)::bigint"; }
# ev I SITE PARAM RULE ACTION TIME
ev() {
    printf '{"i":%s,"site":%s,"param":%s,"period":"h","rule":"%s","action":"%s","ts":%s,"sev":"minor","value":900,"limit":500,"peak":900}' \
        "$1" "$(sid "$2")" "$3" "$4" "$5" "$(us "$6")"
}
apply() { # JSON events...; prints "i action" lines
    local IFS=,
    psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn detect)" -F ' ' \
        -c "SELECT i, action FROM alarm.apply('[$*]'::jsonb) ORDER BY i"
}
inc() { # SITE PARAM RULE: the incident of its (latest) alarm
    eco_psql "SELECT a.incident FROM alarm.alarm a JOIN core.site s ON s.id = a.site_id
              WHERE s.code = '$p-$1' AND coalesce(a.param_id, 0) = $2 AND a.rule = '$3'
              ORDER BY a.opened_at DESC LIMIT 1"
}

eco_assert_eq "0 raised
1 raised
2 raised
3 raised" "$(apply "$(ev 0 a0 "$so2" limit raise 2024-06-01T10:00:00+08:00)" \
    "$(ev 1 a2 "$so2" limit raise 2024-06-01T10:10:00+08:00)" \
    "$(ev 2 a1 "$so2" limit raise 2024-06-01T10:20:00+08:00)" \
    "$(ev 3 n0 "$so2" limit raise 2024-06-01T10:30:00+08:00)")" "four raises applied"
[ "$(inc a0 "$so2" limit)" != "$(inc a2 "$so2" limit)" ] || eco_fail "a0 and a2 (19 km) share an incident"
eco_assert_eq "$(inc a2 "$so2" limit)" "$(inc a1 "$so2" limit)" \
    "a1 joins the incident of the most recent near alarm (a2's, 9.6 km; a0's is older)"
[ "$(inc n0 "$so2" limit)" != "$(inc a0 "$so2" limit)" ] || eco_fail "a noise station joined an air plume"

# a device fault at a0 does not join the pollution incident; one at a0 an hour
# later joins it
apply "$(ev 0 a0 "$no2" flag raise 2024-06-01T10:40:00+08:00)" >/dev/null
[ "$(inc a0 "$no2" flag)" != "$(inc a0 "$so2" limit)" ] || eco_fail "a device fault joined a pollution incident"
apply "$(ev 0 a0 "$so2" flag raise 2024-06-01T11:30:00+08:00)" >/dev/null
eco_assert_eq "$(inc a0 "$no2" flag)" "$(inc a0 "$so2" flag)" "faults of one site within the hour: one incident"

# water and sea within 25 km, outlets of one enterprise
apply "$(ev 0 w0 "$so2" baseline raise 2024-06-01T10:00:00+08:00)" \
    "$(ev 1 w1 "$so2" baseline raise 2024-06-01T10:30:00+08:00)" \
    "$(ev 2 o0 "$so2" limit raise 2024-06-01T10:00:00+08:00)" \
    "$(ev 3 o1 "$no2" limit raise 2024-06-01T10:05:00+08:00)" >/dev/null
eco_assert_eq "$(inc w0 "$so2" baseline)" "$(inc w1 "$so2" baseline)" "a river event and the sea station 19 km on"
eco_assert_eq "$(inc o0 "$so2" limit)" "$(inc o1 "$no2" limit)" "two outlets of one enterprise"

# ---- the registry changes: alarm.near follows --------------------------------
# a2 moves 50 km away; a3 is added next to a0; w2 becomes a noise station
eco_psql "UPDATE core.site SET geom = ST_SetSRID(ST_MakePoint(122.6, 30.0), 4326) WHERE code = '$p-a2';
          INSERT INTO core.site (code, name, kind, region, geom)
            VALUES ('$p-a3', 'a3', 'air', 'ZS', ST_SetSRID(ST_MakePoint(122.0, 30.05), 4326));
          UPDATE core.site SET kind = 'noi' WHERE code = '$p-w2';" >/dev/null
eco_assert_eq "a0-a1 a0-a3 a1-a3 n0-w2 o0-o1 w0-w1" "$(pairs)" \
    "alarm.near after a site moved, was added, changed kind (w2, now noise, pairs with n0 5.5 km away)"
# a new hour: a1, then a2 (near a1 before it moved: not now), then a3 (new,
# near a1)
pm25=$(eco_psql "SELECT id FROM core.param WHERE code = 'pm25'")
apply "$(ev 0 a1 "$pm25" limit raise 2024-06-01T14:00:00+08:00)" \
    "$(ev 1 a2 "$pm25" limit raise 2024-06-01T14:10:00+08:00)" \
    "$(ev 2 a3 "$pm25" limit raise 2024-06-01T14:20:00+08:00)" >/dev/null
[ "$(inc a2 "$pm25" limit)" != "$(inc a1 "$pm25" limit)" ] || eco_fail "a2, moved 50 km away, joined a1's incident"
eco_assert_eq "$(inc a1 "$pm25" limit)" "$(inc a3 "$pm25" limit)" "a new site joins its neighbour's incident"
eco_psql "DELETE FROM core.site WHERE code = '$p-o1'" >/dev/null
eco_assert_eq "a0-a1 a0-a3 a1-a3 n0-w2 w0-w1" "$(pairs)" "a deleted site leaves no pairs"

# ---- incident counters --------------------------------------------------------
# one batch: two raises at a0 (a new hour, a new incident), one cleared, then
# the other: alarms 2, closed at the last clear
apply "$(ev 0 a0 "$no2" limit raise 2024-06-02T10:00:00+08:00)" \
    "$(ev 1 a1 "$no2" limit raise 2024-06-02T10:10:00+08:00)" \
    "$(ev 2 a0 "$no2" limit update 2024-06-02T10:20:00+08:00)" \
    "$(ev 3 a1 "$no2" limit clear 2024-06-02T11:00:00+08:00)" \
    "$(ev 4 a0 "$no2" limit clear 2024-06-02T10:50:00+08:00)" >/dev/null
i2=$(inc a0 "$no2" limit)
eco_assert_eq "$i2" "$(inc a1 "$no2" limit)" "one incident for the day-two pair"
q_inc() { eco_psql "SELECT alarms || ' ' || to_char(last_at AT TIME ZONE 'Asia/Shanghai', 'DD HH24:MI') || ' ' ||
                           coalesce(to_char(closed_at AT TIME ZONE 'Asia/Shanghai', 'DD HH24:MI'), '-')
                    FROM alarm.incident WHERE id = $1"; }
eco_assert_eq "2 02 11:00 02 10:50" "$(q_inc "$i2")" "one batch: alarms, latest time, closed at the last clear applied"
# several batches: raise, raise, clear one (still open), clear the other
apply "$(ev 0 a0 "$no2" limit raise 2024-06-03T10:00:00+08:00)" >/dev/null
apply "$(ev 0 a1 "$no2" limit raise 2024-06-03T10:10:00+08:00)" >/dev/null
i3=$(inc a0 "$no2" limit)
apply "$(ev 0 a0 "$no2" limit clear 2024-06-03T10:30:00+08:00)" >/dev/null
eco_assert_eq "2 03 10:30 -" "$(q_inc "$i3")" "one of two cleared: the incident stays open"
apply "$(ev 0 a1 "$no2" limit clear 2024-06-03T10:40:00+08:00)" >/dev/null
eco_assert_eq "2 03 10:40 03 10:40" "$(q_inc "$i3")" "both cleared: closed"
# a raise joining a closed incident within the hour opens it again
apply "$(ev 0 a3 "$no2" limit raise 2024-06-03T10:45:00+08:00)" >/dev/null
eco_assert_eq "$i3" "$(inc a3 "$no2" limit)" "a raise within the hour joins the closed incident"
eco_assert_eq "3 03 10:45 -" "$(q_inc "$i3")" "... and opens it again"

# ---- idempotent ----------------------------------------------------------------
before=$(eco_psql "SELECT count(*) || ' ' || sum(alarms) FROM alarm.incident")
again=$(apply "$(ev 0 a0 "$so2" limit raise 2024-06-01T10:00:00+08:00)" \
    "$(ev 1 a3 "$no2" limit raise 2024-06-03T10:45:00+08:00)" \
    "$(ev 2 a1 "$no2" limit clear 2024-06-03T10:40:00+08:00)" \
    "$(ev 3 a0 "$so2" limit raise 2024-06-05T10:00:00+08:00)")
eco_assert_eq "" "$again" \
    "transitions already applied take no effect (nor a raise while the alarm is open, days later)"
eco_assert_eq "$before" "$(eco_psql "SELECT count(*) || ' ' || sum(alarms) FROM alarm.incident")" \
    "... and open no incident"
eco_pass
