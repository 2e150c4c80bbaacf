#!/usr/bin/env bash
# bench/dispatch_timers.sh: eco-dispatch's clock with many open orders
# (docs/PERFORMANCE.md, "eco-dispatch"). OPEN dispatched orders are put in
# the database directly; LATE of them are due for a reminder over the next
# SPREAD seconds, one of them already, the rest in days. Then eco-dispatch
# starts and we measure:
#   restore   from the process start until the overdue reminder's event is
#             stored (there is nothing to load: due times live in the table)
#   remind    how late each of the LATE reminders, moved into the next SPREAD
#             seconds once the service runs, fired (event time less remind_at)
#   tick      the cost of one wo.tick() with OPEN orders open (EXPLAIN ANALYZE)
#
#   bench/dispatch_timers.sh [OPEN=100000] [LATE=1000] [SPREAD=30]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
source bench/lib.sh

OPEN=${1:-100000}
LATE=${2:-1000}
SPREAD=${3:-30}
bench_setup dispatch_timers services/ecoctl/ecoctl services/dispatch/eco-dispatch
bench_stack_up
export ECO_PG_DSN=$ADMIN
"$BUILD/services/ecoctl/ecoctl" registry load deploy/sample >/dev/null 2>&1
# priority 1: due 4 h after dispatch, reminded 1 h before
t0=$(date +%s%N)
q "INSERT INTO wo.work_order (source, category, title, priority, state, dept, created_by,
                              dispatched_at, due_at)
   SELECT 'manual', 'air', 'bench ' || g, 1, 'dispatched', 'ZS-EEB-DH', 'bench', now(),
          CASE WHEN g = 0 THEN now() + interval '1 hour' - interval '1 second'
               ELSE now() + interval '2 days' + make_interval(secs => g) END
     FROM generate_series(0, $OPEN - 1) g" >/dev/null
q "ANALYZE wo.work_order" >/dev/null
echo "loaded open=$OPEN seconds=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"
echo "tick_plan $(q "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT id FROM wo.work_order w
   WHERE w.state IN ('dispatched', 'accepted', 'in_progress')
     AND ((NOT w.overdue AND w.due_at <= now()) OR (w.reminded_at IS NULL AND w.remind_at <= now()))
   ORDER BY least(w.due_at, w.remind_at) LIMIT 500" | grep -E 'Execution Time|Index|Bitmap' | tr -s ' ' | paste -sd ';')"

t0=$(date +%s%N)
ECO_PG_DSN="host=127.0.0.1 port=$ECO_PG_PORT dbname=ecowatch user=eco_dispatch password=$ECO_PG_DISPATCH_PASSWORD" \
    ECO_MQTT_USER=dispatch ECO_MQTT_PASSWORD=$ECO_MQTT_DISPATCH_PASSWORD ECO_DISPATCH_INSTANCE=bench \
    ECO_LOG_LEVEL=warn "$BUILD/services/dispatch/eco-dispatch" 2>"$DIR/dispatch.log" &
ingest_pid=$! # bench__cleanup stops it
until [ "$(q "SELECT count(*) FROM wo.event WHERE action = 'remind'")" -ge 1 ]; do sleep 0.01; done
echo "restore seconds=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')" \
    "(process start to the first overdue reminder stored, $OPEN orders open)"
# now that the clock runs: LATE reminders over the next SPREAD seconds
# (moving their deadlines; the trigger moves remind_at)
q "UPDATE wo.work_order SET due_at = now() + interval '1 hour'
          + make_interval(secs => 2 + $SPREAD * (id % $LATE)::double precision / $LATE)
    WHERE id IN (SELECT id FROM wo.work_order WHERE title <> 'bench 0' ORDER BY id LIMIT $LATE)" >/dev/null
sleep $((SPREAD + 6))
q "SELECT 'remind fired=' || count(*) || ' of=' || $LATE + 1
        || ' late_ms_p50=' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l))
        || ' late_ms_p99=' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l))
        || ' late_ms_max=' || round(max(l))
     FROM (SELECT extract(epoch FROM e.ts - w.remind_at) * 1000 AS l
             FROM wo.event e JOIN wo.work_order w ON w.id = e.work_order
            WHERE e.action = 'remind' AND w.title <> 'bench 0') x"
