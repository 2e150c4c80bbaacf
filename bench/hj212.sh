#!/usr/bin/env bash
# bench/hj212.sh: how fast eco-ingest's HJ 212 gateway takes uploads from many
# concurrent data loggers into PostgreSQL.
#
#   bench/hj212.sh [CONNS] [FRAMES] [FLAG] [WINDOW]
#       CONNS loggers (default 1000), each on its own TCP connection, sending
#       FRAMES real-time uploads (default 200; CN 2011, 6 pollutants each);
#       FLAG 5 (default: each upload answered with a 9014 after it is durable,
#       the logger sends the next when the answer arrives, WINDOW frames
#       ahead, default 1) or 4 (no answers: as fast as TCP takes them)
#
# Method: a private broker + database (deploy/stack.sh, durable settings as in
# production), CONNS hj212 devices registered with one bcrypt hash (cost 10 as
# registry load makes them, or ECO_BENCH_BCRYPT_COST),
# eco-ingest with the gateway on a free port (every logger comes from
# 127.0.0.1 and connects at once: PEER_MAX and UNAUTH_PCT are raised so that
# none is refused), then bench_hj212 load (one
# libuv process). Phase 1: every logger sends one frame and waits for its
# answer: the gateway verifies each password once (bcrypt on the thread pool),
# which is what a reconnect storm costs. Phase 2 (timed): the other
# FRAMES - 1 frames of every logger. Measured until obs.spool_position says
# every frame is committed. Prints frames/s and readings/s into PostgreSQL,
# the client-side answer rate, ingest's CPU time and peak RSS. Needs a build
# in build/ (or ECO_BUILD_DIR); a Release or RelWithDebInfo build for figures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
C=${1:-1000}
F=${2:-200}
FLAG=${3:-5}
W=${4:-1}
V=6
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_setup hj212 services/ingest/eco-ingest bench/bench_hj212 services/ecoctl/ecoctl
[ "$(ulimit -n)" -ge $((C + 200)) ] || ulimit -n $((C + 200)) ||
    { echo "bench: need at least $((C + 200)) file descriptors (ulimit -n)" >&2; exit 1; }
bench_stack_up
# ambient parameters known by their HJ 212 codes (ST 22 falls back to
# core.param.hj212_code, docs/HJ212.md); one bcrypt hash for every logger
q "INSERT INTO core.region (code, name, kind, geom) VALUES ('ZS', 'Zhoushan', 'city',
     ST_Multi(ST_MakeEnvelope(121.5, 29.5, 123.2, 31.0, 4326)));
   INSERT INTO core.param (code, hj212_code, name, unit, valid_min, valid_max) VALUES
     ('pm25', 'a34004', 'PM2.5', 'ug/m3', 0, 1000), ('pm10', 'a34002', 'PM10', 'ug/m3', 0, 2000),
     ('so2', 'a21026', 'SO2', 'ug/m3', 0, 10000), ('no2', 'a21004', 'NO2', 'ug/m3', 0, 5000),
     ('o3', 'a05024', 'O3', 'ug/m3', 0, 2000), ('co', 'a21005', 'CO', 'mg/m3', 0, 100);
   INSERT INTO core.site (code, name, kind, region, geom) SELECT 'hjb' || g, 'bench', 'air', 'ZS',
     ST_SetSRID(ST_MakePoint(122.1, 30.0), 4326) FROM generate_series(0, $C - 1) g;
   WITH h AS (SELECT crypt('123456', gen_salt('bf', ${ECO_BENCH_BCRYPT_COST:-10})) AS hash)
   INSERT INTO core.device (code, site, protocol, password_hash, hj212_st)
     SELECT 'BENCH' || lpad(g::text, 19, '0'), 'hjb' || g, 'hj212', h.hash, '22'
     FROM generate_series(0, $C - 1) g, h;"

ECO_PG_DSN="host=127.0.0.1 port=$ECO_PG_PORT dbname=ecowatch user=eco_ingest password=$ECO_PG_INGEST_PASSWORD" \
ECO_MQTT_URL=$ECO_MQTT_URL ECO_MQTT_USER=$ECO_MQTT_INGEST_USER ECO_MQTT_PASSWORD=$ECO_MQTT_INGEST_PASSWORD \
ECO_INGEST_INSTANCE=bench ECO_INGEST_SPOOL_DIR="$DIR/spool" ECO_INGEST_HJ212_ADDR=127.0.0.1:0 \
ECO_INGEST_HJ212_MAX_CONN=$((C + 10)) ECO_INGEST_HJ212_PEER_MAX=$((C + 10)) \
ECO_INGEST_HJ212_UNAUTH_PCT=100 ECO_INGEST_STATUS_S=3600 ECO_LOG_LEVEL=info \
    "$BUILD/services/ingest/eco-ingest" 2>>"$DIR/ingest.log" &
ingest_pid=$!
for _ in $(seq 100); do
    grep -q 'msg="registry loaded"' "$DIR/ingest.log" && break
    sleep 0.1
done
port=$(sed -n 's/.*msg="hj212 gateway listening" addr=127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$DIR/ingest.log")
[ -n "$port" ] || { echo "bench: the gateway did not start" >&2; cat "$DIR/ingest.log" >&2; exit 1; }

out=$("$BUILD/bench/bench_hj212" load "127.0.0.1:$port" --conns "$C" --frames "$F" \
    --values "$V" --flag "$FLAG" --window "$W")
echo "client:  $out"
get() { sed -n "s/.* $1=\\([^ ]*\\).*/\\1/p" <<<" $out"; }
# one spool record per frame: poll ingest's committed position, not
# count(*), which would compete with the load for the CPU
stored() { q "SELECT coalesce((SELECT seq FROM obs.spool_position WHERE instance = 'bench'), 0)"; }
while [ "$(stored)" -lt $((C * F)) ]; do sleep 0.1; done
t_commit=$(date +%s%3N)
read -r ut st < <(awk '{print $14, $15}' "/proc/$ingest_pid/stat")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$ingest_pid/status")
tck=$(getconf CLK_TCK)
kill -TERM "$ingest_pid"; wait "$ingest_pid" || true; ingest_pid=
rows=$(q "SELECT count(*) FROM obs.reading")
[ "$rows" = $((C * F * V)) ] || { echo "bench: obs.reading holds $rows rows, expected $((C * F * V))" >&2; exit 1; }

p2_frames=$((C * (F - 1)))
p2_s=$(echo "($t_commit - $(get barrier_epoch_ms)) / 1000" | bc -l)
cpu_s=$(echo "($ut + $st) / $tck" | bc -l)
printf 'loggers=%d frames=%d readings=%d flag=%d window=%d\n' "$C" $((C * F)) "$rows" "$FLAG" "$W"
printf 'phase 1 (connect + one bcrypt check per logger): %.1f s\n' "$(get auth_phase_s)"
printf 'phase 2 into PostgreSQL: %d frames in %.2f s = %.0f frames/s, %.0f readings/s\n' \
    "$p2_frames" "$p2_s" "$(echo "$p2_frames / $p2_s" | bc -l)" "$(echo "$p2_frames * $V / $p2_s" | bc -l)"
printf 'phase 2 answers at the loggers: %.0f frames/s\n' "$(get phase2_frames_per_s)"
printf 'ingest: cpu %.2f s in all (%.1f us/frame overall)  peak_rss %d MB\n' \
    "$cpu_s" "$(echo "$cpu_s * 1000000 / ($C * $F)" | bc -l)" "$((hwm / 1024))"
