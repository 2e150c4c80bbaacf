#!/usr/bin/env bash
# bench/console.sh: the web console's hot paths in headless Chromium
# (docs/PERFORMANCE.md, "Web console"), on a private stack serving the page:
# for each N, a retained sites layer of N synthetic sites (as eco-report
# publishes rpt.map_site, ~600 bytes a site, zlib-compressed on
# eco/v1/report/layerz/sites as the page reads it) over the sample's
# regions, then
#   sign_in_ms      from the click to the console open
#   sites_drawn_ms  from the click to every site drawn on the map
#   heap_mb         the page's JavaScript heap after that
#   storm_shown_ms  a storm of STORM alarm events (mosquitto_pub -l) from its
#                   publish to every alarm listed and ringed on the map
# A compressed layer over the broker's max_packet_size (1 MiB on a stack)
# cannot be published at all: the script says so for that N.
#
#   bench/console.sh [STORM=200] [N...=160 1600 16000]
# Run from the repository root after building (ECO_BUILD_DIR, default build/).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
source bench/lib.sh

STORM=${1:-200}
shift || true
SIZES=("$@")
[ "${#SIZES[@]}" -gt 0 ] || SIZES=(160 1600 16000)
bench_setup console services/ecoctl/ecoctl
bench_stack_up
ECO_PG_DSN=$ADMIN "$BUILD/services/ecoctl/ecoctl" registry load deploy/sample >/dev/null 2>&1
services/console/build.sh "$ECO_CONSOLE_DIR" --dev >/dev/null
MQ=(-h 127.0.0.1 -p "$ECO_MQTT_PORT" -V mqttv5 -q 1 -u "$ECO_MQTT_ADMIN_USER" -P "$ECO_MQTT_ADMIN_PASSWORD")
# as eco-report publishes them for browsers: zlib-compressed (layerz)
deflate() { python3 -c 'import sys, zlib; sys.stdout.buffer.write(zlib.compress(open(sys.argv[1], "rb").read(), 6))' "$1"; }
q "SELECT rpt.geojson('regions')" >"$DIR/regions.json"
deflate "$DIR/regions.json" >"$DIR/regions.z"
mosquitto_pub "${MQ[@]}" -r -t eco/v1/report/layerz/regions -f "$DIR/regions.z"
echo "bench/console: $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), chromium $(chromium --version 2>/dev/null | awk '{print $2}')"
for n in "${SIZES[@]}"; do
    # N sites spread over the region's box, coloured as rpt.map_site colours them;
    # STORM alarm events at the first STORM sites
    python3 - "$n" "$STORM" "$DIR" <<'PY'
import json, random, sys
n, storm, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
random.seed(n)
kinds = ['air', 'water', 'sea', 'gas_outlet', 'water_outlet', 'noi']
feats = []
for i in range(n):
    k = kinds[i % len(kinds)]
    p = {'code': f'b{i:05d}', 'name': f'bench site {i}', 'kind': k, 'region': 'ZS-DH', 'enterprise': None,
         'latest_at': '2026-12-06T16:00:00+08:00', 'aqi': 42 if k == 'air' else None,
         'aqi_level': 1 if k == 'air' else None, 'aqi_category': 'good' if k == 'air' else None,
         'aqi_hour': '2026-12-06T16:00:00+08:00', 'water_class': None, 'water_class_name': None,
         'water_day': None, 'target_class': None, 'meets_target': None, 'exceeding': False,
         'open_alarms': 0, 'open_orders': 0, 'status': 'normal', 'colour': '#00e400'}
    feats.append({'type': 'Feature', 'geometry': {'type': 'Point', 'coordinates':
                  [round(121.9 + random.random() * 0.9, 6), round(29.7 + random.random() * 0.6, 6)]},
                  'properties': p})
with open(f'{d}/sites.json', 'w') as f:
    json.dump({'type': 'FeatureCollection', 'name': 'sites', 'features': feats}, f, ensure_ascii=False)
with open(f'{d}/storm.txt', 'w') as f:
    for i in range(storm):
        f.write(json.dumps({'id': 1000000 + n * 10 + i, 'site': f'b{i % n:05d}', 'param': 'so2', 'period': 'hour',
                            'rule': 'limit', 'severity': 'critical', 'state': 'raised', 'value': 2400,
                            'limit': 500, 'unit': 'ug/m3', 'ts': '2026-12-06T16:00:00+08:00',
                            'opened_at': '2026-12-06T16:00:00+08:00', 'incident': 7}) + '\n')
PY
    size=$(stat -c %s "$DIR/sites.json")
    deflate "$DIR/sites.json" >"$DIR/sites.z"
    size="$size layerz_bytes=$(stat -c %s "$DIR/sites.z")"
    if ! mosquitto_pub "${MQ[@]}" -r -t eco/v1/report/layerz/sites -f "$DIR/sites.z" 2>"$DIR/pub.err" ||
        [ -s "$DIR/pub.err" ]; then
        echo "sites=$n layer_bytes=$size: not published ($(head -c 200 "$DIR/pub.err"))"
        continue
    fi
    (cd services/console &&
        BENCH_URL=$ECO_CONSOLE_URL BENCH_USER=$ECO_MQTT_ADMIN_USER BENCH_PASSWORD=$ECO_MQTT_ADMIN_PASSWORD \
            BENCH_SITES=$n BENCH_STORM_N=$STORM \
            BENCH_STORM="mosquitto_pub -h 127.0.0.1 -p $ECO_MQTT_PORT -V mqttv5 -q 1 -u $ECO_MQTT_ADMIN_USER -P '$ECO_MQTT_ADMIN_PASSWORD' -t eco/v1/alarm/bench/so2 -l <'$DIR/storm.txt'" \
            node test/bench.mjs) | sed "s/\$/ layer_bytes=$size/"
done
