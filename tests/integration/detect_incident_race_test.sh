#!/usr/bin/env bash
# Incidents decided by concurrent writers (alarm.apply, migration 0030;
# docs/DETECTION.md "Incidents"): two connections (two eco-detect lanes or
# instances) raising alarms of one problem at the same time still link them
# into ONE incident, while raises that join an incident already stored do not
# wait for each other. A writer is held inside its transaction, after its
# alarm.apply and before its commit, by a gate (a row this test inserts), so
# that the other writer's raise is applied while the first is uncommitted.
#
# Three stations in a row, 9.6 km apart: c0 ~ c1 ~ c2, but c0 and c2 (19 km)
# are not near each other.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

eco_db_new t_detect_incident_race
p="tr$$"
ingest_registry "$p" # region ZS, parameters
eco_psql "
INSERT INTO core.site (code, name, kind, region, geom) VALUES
  ('$p-c0', 'c0', 'air', 'ZS', ST_SetSRID(ST_MakePoint(122.0, 30.9), 4326)),
  ('$p-c1', 'c1', 'air', 'ZS', ST_SetSRID(ST_MakePoint(122.1, 30.9), 4326)),
  ('$p-c2', 'c2', 'air', 'ZS', ST_SetSRID(ST_MakePoint(122.2, 30.9), 4326));
CREATE TABLE public.race_gate (name text PRIMARY KEY);
-- waits (fresh snapshot each turn) until the test opens gate NAME
CREATE FUNCTION public.race_hold(gate text) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN
    FOR k IN 1..6000 LOOP
        IF EXISTS (SELECT FROM public.race_gate g WHERE g.name = gate) THEN
            RETURN;
        END IF;
        PERFORM pg_sleep(0.02);
    END LOOP;
    RAISE EXCEPTION 'race_hold: gate % never opened', gate;
END \$\$;
GRANT SELECT ON public.race_gate TO PUBLIC;" >/dev/null
pairs=$(eco_psql "SELECT string_agg(substr(a.code, length('$p-') + 1) || '-' || substr(b.code, length('$p-') + 1), ' '
                                    ORDER BY a.code, b.code)
                  FROM alarm.near n JOIN core.site a ON a.id = n.site_id JOIN core.site b ON b.id = n.near_id
                  WHERE a.code LIKE '$p-c%' AND b.code LIKE '$p-c%' AND a.code < b.code")
eco_assert_eq "c0-c1 c1-c2" "$pairs" "c0 ~ c1 ~ c2, c0 and c2 not near"

so2=$(eco_psql "SELECT id FROM core.param WHERE code = 'so2'")
no2=$(eco_psql "SELECT id FROM core.param WHERE code = 'no2'")
pm25=$(eco_psql "SELECT id FROM core.param WHERE code = 'pm25'")
sid() { eco_psql "SELECT id FROM core.site WHERE code = '$p-$1'"; }
us() { eco_psql "SELECT (extract(epoch FROM '$1'::timestamptz) * 1e6)::bigint"; }
ev() { # SITE PARAM TIME: a limit raise as eco-detect sends it
    printf '[{"i":0,"site":%s,"param":%s,"period":"h","rule":"limit","action":"raise","ts":%s,"sev":"minor","value":900,"limit":500,"peak":900}]' \
        "$(sid "$1")" "$2" "$(us "$3")"
}
apply() { # EVENTS: applied in its own transaction, as eco_detect
    psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn detect)" -c "SELECT count(*) FROM alarm.apply('$1'::jsonb)"
}
# writer NAME EVENTS: applies EVENTS as eco_detect in a transaction that stays
# open until gate NAME opens
writer() {
    eco_spawn "$1" psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn detect) application_name=$p-$1" \
        -c "BEGIN" -c "SELECT count(*) FROM alarm.apply('$2'::jsonb)" \
        -c "SELECT public.race_hold('$1')" -c "COMMIT"
}
# applier NAME EVENTS: applies EVENTS in its own transaction, in the background
applier() {
    eco_spawn "$1" psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn detect) application_name=$p-$1" \
        -c "SELECT count(*) FROM alarm.apply('$2'::jsonb)"
}
at_gate() { # NAME: its alarm.apply is done and it waits at its gate, uncommitted
    eco_psql_is 1 "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$p-$1'
                   AND query LIKE '%race_hold%' AND state = 'active'"
}
waits_for_lock() { # NAME: its alarm.apply waits for the incident lock
    eco_psql_is 1 "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$p-$1'
                   AND query LIKE '%alarm.apply%' AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
}
open_gate() { eco_psql "INSERT INTO public.race_gate VALUES ('$1')" >/dev/null; }
stored() { # SITE PARAM TIME: 1 once that alarm is committed
    eco_psql "SELECT count(*) FROM alarm.alarm WHERE site_id = $(sid "$1") AND param_id = $2
              AND rule = 'limit' AND opened_at = '$3'"
}
inc() { # SITE PARAM TIME: its alarm's incident
    eco_psql "SELECT incident FROM alarm.alarm WHERE site_id = $(sid "$1") AND param_id = $2
              AND rule = 'limit' AND opened_at = '$3'"
}
is_stored() { [ "$(stored "$@")" = 1 ]; }
held_or_stored() { # NAME SITE PARAM TIME: NAME waits for the incident lock, or its raise is stored
    waits_for_lock "$1" || is_stored "$2" "$3" "$4"
}

# (each scenario raises other parameters: an alarm stays open, and a second
# raise of it would take no effect)

# ---- 1: a raise near one that opened an incident and is not committed yet ------
# waits for it, then joins its incident (it would open a second one if it
# decided without seeing the first)
t0=2024-07-01T10:00:00+08:00 t1=2024-07-01T10:05:00+08:00
writer w1 "$(ev c0 "$so2" $t0)"
eco_wait_until 30 at_gate w1
eco_assert_eq 1 "$(head -1 "$(eco_log w1)")" "c0's raise applied (uncommitted)"
applier a1 "$(ev c1 "$so2" $t1)"
eco_wait_until 30 held_or_stored a1 c1 "$so2" $t1
sleep 0.3
early=$(stored c1 "$so2" $t1)
at_gate w1 || eco_fail "c0's writer left its gate early: the test proves nothing"
open_gate w1
eco_wait_until 30 is_stored c1 "$so2" $t1
eco_kill w1
eco_kill a1
eco_assert_eq "$(inc c0 "$so2" $t0)" "$(inc c1 "$so2" $t1)" \
    "c0 (opened, uncommitted) and c1 (raised meanwhile on another connection): one incident"
eco_assert_eq 0 "$early" "c1's raise was held while c0's incident was uncommitted"

# ---- 2: raises joining a stored incident do not take turns ---------------------
# c0 raised and committed; w2 joins its incident at c1 and stays uncommitted;
# a raise at c0 (another parameter) joins the same incident without waiting
# for the incident lock: it is stored and only its update of the incident's
# counters (a row lock) waits for w2's commit. A raise at c2 (near c1 only,
# whose alarm is not committed) would have to open an incident, so it waits
# for the incident lock and then joins through c1.
t0=2024-07-02T10:00:00+08:00 t1=2024-07-02T10:05:00+08:00 t2=2024-07-02T10:06:00+08:00
t3=2024-07-02T10:07:00+08:00
apply "$(ev c0 "$no2" $t0)" >/dev/null
writer w2 "$(ev c1 "$no2" $t1)"
eco_wait_until 30 at_gate w2
eco_assert_eq 1 "$(head -1 "$(eco_log w2)")" "c1's raise applied (uncommitted)"
applier a2 "$(ev c0 "$pm25" $t2)"
waits_for_row() { # NAME: waits for another transaction's row lock (the incident's counters)
    eco_psql_is 1 "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$p-$1'
                   AND query LIKE '%alarm.apply%' AND wait_event_type = 'Lock'
                   AND wait_event IN ('transactionid', 'tuple')"
}
row_or_lock() { waits_for_row a2 || waits_for_lock a2; }
eco_wait_until 30 row_or_lock
waits_for_lock a2 && eco_fail "a raise joining a stored incident waits for the incident lock"
at_gate w2 || eco_fail "c1's writer left its gate early: the test proves nothing"
eco_pass "a raise joining a stored incident ran while another joining raise was uncommitted"
applier a3 "$(ev c2 "$no2" $t3)"
eco_wait_until 30 held_or_stored a3 c2 "$no2" $t3
sleep 0.3
early=$(stored c2 "$no2" $t3)
open_gate w2
eco_wait_until 30 is_stored c0 "$pm25" $t2
eco_wait_until 30 is_stored c2 "$no2" $t3
eco_kill w2
eco_kill a2
eco_kill a3
i0=$(inc c0 "$no2" $t0)
eco_assert_eq "$i0 $i0 $i0" "$(inc c1 "$no2" $t1) $(inc c0 "$pm25" $t2) $(inc c2 "$no2" $t3)" \
    "c1 and c0 (side by side) and c2 (after waiting) all join c0's incident"
eco_assert_eq 0 "$early" "c2's raise (near c1 only) was held while c1's raise was uncommitted"
eco_assert_eq 4 "$(eco_psql "SELECT alarms FROM alarm.incident WHERE id = $i0")" \
    "the incident counts its four alarms"

eco_assert_eq 2 "$(eco_psql "SELECT count(*) FROM alarm.incident")" "two incidents in all, one a day"
eco_pass "incidents under concurrent writers"
