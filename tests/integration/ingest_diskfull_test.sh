#!/usr/bin/env bash
# A spool disk smaller than ECO_INGEST_SPOOL_MAX_MB: when the disk refuses a
# write (ENOSPC), ingest slows the broker down as at its configured bound —
# it pauses instead of dropping and re-opening its connection — keeps its
# spool readable, resumes when the spool has shrunk, stores every reading
# exactly once, and still exits 0 on SIGTERM. The spool lives on a 2 MB
# tmpfs (needs root to mount; skipped otherwise); the database is held back
# by a lock on obs.spool_position so that the spool fills.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"
# shellcheck source=SCRIPTDIR/../harness/ingest.sh
source "$ECO_SOURCE_DIR/tests/harness/ingest.sh"

mnt=$(mktemp -d "${TMPDIR:-/tmp}/eco-spoolfs.XXXXXX")
if ! mount -t tmpfs -o size=2m tmpfs "$mnt" 2>/dev/null; then
    rmdir "$mnt"
    eco_skip "cannot mount a tmpfs (needs root): the full-disk test did not run"
fi
# at exit: stop what runs on the tmpfs, unmount it, then lib.sh's own exit
diskfull_exit() {
    local rc=$1 pid i
    set +e
    for pid in "${ECO__PIDS[@]}"; do kill -s TERM "$pid" 2>/dev/null; done
    for ((i = 0; i < 50; i++)); do
        pid=${ECO__PIDS[ingest]:-}
        [ -n "$pid" ] && eco__alive "$pid" || break
        sleep 0.1
    done
    umount -l "$mnt"
    rmdir "$mnt"
    (exit "$rc")
    eco__on_exit
}
trap 'diskfull_exit $?' EXIT

eco_db_new t_ingest_diskfull
p="td$$"
ingest_registry "$p"
N=20000 # ~150 bytes each: about 3 MB, more than the disk holds

ingest_start ingest "$p" ECO_INGEST_SPOOL_DIR="$mnt/spool" ECO_INGEST_SPOOL_SEGMENT_MB=1 \
    ECO_INGEST_SPOOL_MAX_MB=64
log=$(eco_log ingest)
# hold the batches back for a while: the spool can only grow
eco_spawn holder psql -XAtq -d "$(eco_dsn admin)" -c "BEGIN" \
    -c "LOCK TABLE obs.spool_position IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep(15)" -c "COMMIT"
sleep 0.5
python3 -c '
import sys, datetime
t0 = datetime.datetime(2021, 1, 1, tzinfo=datetime.timezone.utc)
for i in range(int(sys.argv[1])):
    ts = (t0 + datetime.timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
    print("{\"ts\":\"%s\",\"period\":\"min\",\"values\":{\"pm25\":%d,\"pm10\":%d,\"so2\":3,\"no2\":4,\"o3\":5,\"co\":0.5}}" % (ts, i % 900, i % 1500))
' "$N" | eco_mqtt_pub sim -q 1 -t "eco/v1/in/$p-d0" -l &
pubpid=$!

# (the message, or before the fix the error it caused)
eco_wait_until 30 grep -qE 'msg="spool disk full|No space left on device' "$log"
t_full=$SECONDS
# while the database is held back: paused, not reconnecting in a loop
sleep 5
kill -0 "$(eco_pid ingest)" || eco_fail "ingest exited on a full spool disk"
lost=$(grep -c 'msg="broker connection lost"' "$log" || true)
[ "$lost" -le 2 ] || eco_fail "ingest dropped its broker connection $lost times in 5 s on a full disk"
eco_pass "a full spool disk pauses the broker (connection dropped $lost time(s), not in a loop)"

wait "$pubpid" || eco_fail "mosquitto_pub failed"
eco_wait_until 120 eco_psql_is $((N * 6)) "SELECT count(*) FROM obs.reading r JOIN core.site s ON s.id = r.site_id WHERE s.code = '$p-s0'"
eco_assert_eq 0 "$(eco_psql "SELECT count(*) FROM obs.deadletter")" "no dead letters (the spool stayed readable); reasons: $(eco_psql "SELECT reason, count(*) FROM obs.deadletter GROUP BY 1 ORDER BY 2 DESC LIMIT 3" | tr '\n' ';')"
grep -q 'msg="spool disk has room again; receiving"' "$log" || eco_fail "ingest never resumed"
! grep -q 'spool read failed' "$log" || eco_fail "the spool was torn by the full disk"
eco_pass "all $N messages stored once after the disk had room again ($((SECONDS - t_full)) s after it filled)"

t0=$SECONDS
eco_kill ingest
[ $((SECONDS - t0)) -le 10 ] || eco_fail "SIGTERM took $((SECONDS - t0)) s"
eco_check_logs
eco_pass "a full spool disk slows the senders; nothing lost; SIGTERM exits 0"
