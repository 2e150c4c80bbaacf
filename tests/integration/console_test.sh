#!/usr/bin/env bash
# What the web console reads (migration 0031, docs/REPORTS.md "Layers for
# the console"), on the sample registry in a real PostgreSQL and mosquitto:
#   1. the layers regions (sea areas too), stations (no alarm or work-order
#      field), tracks (a vehicle's fixes of the last 24 hours as a line, one
#      fix as a point) and departments (duties, regions, their union; none:
#      "geometry": null);
#   2. rpt.series: the values stored, hourly preferred, else the finest
#      period, the window ending at the site's latest reading, 500 points at
#      most; unknown sites and hours out of range refused;
#   3. eco-report publishes the new layers retained and writes their files,
#      and answers eco/v1/rpc/report/series/{caller} (bad requests and a
#      device caller refused);
#   4. broker ACLs (ecoctl renders them into ECO_TEST_BROKER_AUTH_DIR): a
#      department person receives layer/regions, stations, tracks and grid
#      but never sites, alarms, orders or departments; a dispatcher receives
#      layer/orders.
set -euo pipefail
# shellcheck source=../harness/lib.sh
source "$ECO_SOURCE_DIR/tests/harness/lib.sh"

eco_db_new t_console
CTL=$(eco_bin ecoctl)
T=$ECO_TEST_TMP
p=con$$
export ECO_BROKER_AUTH_DIR=$ECO_TEST_BROKER_AUTH_DIR
export ECO_BROKER_PID_FILE=$ECO_TEST_BROKER_PID_FILE
MQ=(-h "$ECO_MQTT_HOST" -p "$ECO_MQTT_PORT" -V mqttv5)

# the sample registry and one MQTT device of ours (a caller that is refused)
reg=$T/reg
cp -r "$ECO_SOURCE_DIR/deploy/sample" "$reg"
echo "$p-dev,air-dh01,mqtt,pw-dev-$p,22" >>"$reg/devices.csv"
"$CTL" registry load "$reg" >"$T/load.out" 2>&1 || eco_fail "registry load: $(cat "$T/load.out")"
q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$(eco_dsn analyst)" -c "$1"; }
eco_psql "SELECT obs.ensure_partitions('2024-05-31', '2024-07-02')" >/dev/null

# ---- 1. layers ----------------------------------------------------------------
# one of the department's open alarms and orders, at a site: the stations
# layer must not tell
eco_psql "INSERT INTO alarm.alarm (site_id, param_id, period, rule, severity, state, opened_at, last_at)
          SELECT s.id, NULL, NULL, 'offline', 'major', 'open', now(), now() FROM core.site s
          WHERE s.code = 'air-dh01'" \
    "INSERT INTO wo.work_order (source, category, title, priority, state, dept, site, created_at, created_by)
     VALUES ('manual', 'exceedance', 'test order', 2, 'dispatched', 'ZS-EEB-DH', 'air-dh01', now(), 'test')" \
    >/dev/null
python3 - "$(q "SELECT rpt.geojson('regions')")" "$(q "SELECT count(*) FROM core.region")" <<'EOF' ||
import json, sys
g, n = json.loads(sys.argv[1]), int(sys.argv[2])
assert g["type"] == "FeatureCollection" and g["name"] == "regions", g.get("name")
f = g["features"]
assert len(f) == n == 11, (len(f), n)
kinds = sorted(x["properties"]["kind"] for x in f)
assert kinds.count("sea_area") == 5 and "district" in kinds and "town" in kinds, kinds
for x in f:
    assert set(x["properties"]) == {"code", "name", "kind", "parent"}, x["properties"]
    assert x["geometry"]["type"] == "MultiPolygon", x["geometry"]["type"]
assert {x["properties"]["code"]: x["properties"]["parent"] for x in f}["ZS-SEA-NS"] == "ZS"
EOF
    eco_fail "layers: regions"
eco_pass "layers: regions, the land and the 5 sea areas, with their polygons"

# mob-01: three fixes in the last hour and one of two days ago; mob-02: one
eco_psql "INSERT INTO obs.track (site_id, ts, geom)
          SELECT s.id, v.ts, ST_SetSRID(ST_MakePoint(v.x, v.y), 4326)
          FROM core.site s, (VALUES ('mob-01', now() - interval '50 minutes', 122.10, 30.00),
                                    ('mob-01', now() - interval '40 minutes', 122.11, 30.01),
                                    ('mob-01', now() - interval '30 minutes', 122.12, 30.03),
                                    ('mob-01', now() - interval '2 days', 121.00, 29.00),
                                    ('mob-02', now() - interval '10 minutes', 122.30, 30.20))
                        AS v (site, ts, x, y)
          WHERE s.code = v.site" >/dev/null
python3 - "$(q "SELECT rpt.geojson('stations')")" \
    "$(q "SELECT count(*) FROM core.site WHERE active AND (geom IS NOT NULL OR kind = 'mobile')")" <<'EOF' ||
import json, sys
g, n = json.loads(sys.argv[1]), int(sys.argv[2])
f = {x["properties"]["code"]: x for x in g["features"]}
assert len(f) == n, (len(f), n)
for x in f.values():
    assert set(x["properties"]) == {"code", "name", "kind", "region", "enterprise"}, x["properties"]
    assert x["geometry"]["type"] == "Point"
assert f["gas-ys04-1"]["properties"]["enterprise"] == "ent-ys04"
assert f["air-dh01"]["properties"]["enterprise"] is None
# a vehicle at its last fix
assert f["mob-01"]["geometry"]["coordinates"] == [122.12, 30.03], f["mob-01"]["geometry"]
EOF
    eco_fail "layers: stations"
[ "$(q "SELECT open_alarms || ' ' || open_orders FROM rpt.map_site WHERE code = 'air-dh01'")" = "1 1" ] ||
    eco_fail "layers: the alarm and the order are not in rpt.map_site"
eco_pass "layers: stations, every active site (vehicles at their last fix), no alarm or order field"

python3 - "$(q "SELECT rpt.geojson('tracks')")" <<'EOF' || eco_fail "layers: tracks"
import json, sys
f = {x["properties"]["code"]: x for x in json.loads(sys.argv[1])["features"]}
assert sorted(f) == ["mob-01", "mob-02"], sorted(f)
a, b = f["mob-01"], f["mob-02"]
assert a["geometry"] == {"type": "LineString", "coordinates": [[122.1, 30], [122.11, 30.01], [122.12, 30.03]]}, a
assert a["properties"]["fixes"] == 3 and a["properties"]["first_at"] < a["properties"]["last_at"], a
assert set(a["properties"]) == {"code", "name", "fixes", "first_at", "last_at"}, a["properties"]
assert b["geometry"] == {"type": "Point", "coordinates": [122.3, 30.2]}, b
assert b["properties"]["fixes"] == 1 and b["properties"]["first_at"] == b["properties"]["last_at"], b
EOF
eco_pass "layers: tracks, a vehicle's last 24 hours in time order (one fix: a point)"

eco_psql "INSERT INTO core.department (code, name, duties) VALUES ('$p-none', 'no region', '{air}')" >/dev/null
python3 - "$(q "SELECT rpt.geojson('departments')")" "$(q "SELECT count(*) FROM core.department")" <<'EOF' ||
import json, sys
g, n = json.loads(sys.argv[1]), int(sys.argv[2])
f = {x["properties"]["code"]: x for x in g["features"]}
assert len(f) == n == 12, (len(f), n)
ofb = f["ZS-OFB"]
assert ofb["properties"]["regions"] == ["ZS", "ZS-SEA-LH", "ZS-SEA-NS", "ZS-SEA-PTS", "ZS-SEA-SSO", "ZS-SEA-YS"], ofb
assert ofb["properties"]["duties"] == ["sea"], ofb["properties"]
assert ofb["geometry"]["type"] == "MultiPolygon", ofb["geometry"]["type"]
assert f["ZS-EEB-DH"]["properties"]["regions"] == ["ZS-DH"]
none = [x for c, x in f.items() if c.endswith("-none")][0]
assert none["geometry"] is None and none["properties"]["regions"] == [], none
assert set(none["properties"]) == {"code", "name", "duties", "regions"}, none["properties"]
EOF
    eco_fail "layers: departments"
# the union is the regions' area (the sea areas lie within the city's)
eco_assert_eq t "$(q "SELECT abs(ST_Area(d.geom) - (SELECT ST_Area(ST_Union(r.geom)) FROM core.region r
    WHERE r.code IN ('ZS', 'ZS-SEA-NS', 'ZS-SEA-PTS', 'ZS-SEA-LH', 'ZS-SEA-YS', 'ZS-SEA-SSO'))) < 1e-9
    FROM rpt.map_department d WHERE d.code = 'ZS-OFB'")" "layers: a department's geometry is its regions' union"
eco_pass "layers: departments with duties, regions and their union (none: geometry null)"
eco_assert_eq "" "$(q "SELECT rpt.geojson('nope')")" "layers: an unknown layer is still NULL"

# ---- 2. rpt.series -------------------------------------------------------------
# air-dh01 (Beijing time): pm25 hourly 2024-05-31 23:00 .. 2024-06-01 23:00
# (value: the hour + 0.5) and by the minute too; so2 by the minute only, 1000
# minutes ending 2024-06-01 23:59 (the site's latest reading); co rt and
# minute values; no2 one day value
eco_psql "INSERT INTO obs.reading (site_id, param_id, period, ts, value, flag)
    SELECT s.id, p.id, v.period, v.ts, v.value, v.flag
    FROM core.site s, core.param p, (
        SELECT 'pm25' AS param, 'h'::\"char\" AS period, t AS ts,
               extract(hour FROM t AT TIME ZONE 'Asia/Shanghai') + 0.5 AS value,
               CASE WHEN t = '2024-06-01 12:00+08' THEN 'D' ELSE 'N' END::\"char\" AS flag
        FROM generate_series('2024-05-31 23:00+08'::timestamptz, '2024-06-01 23:00+08', '1 hour') t
        UNION ALL
        SELECT 'pm25', 'm', t, 999, 'N' FROM generate_series('2024-06-01 22:00+08'::timestamptz,
                                                             '2024-06-01 23:30+08', '1 minute') t
        UNION ALL
        SELECT 'so2', 'm', t, extract(epoch FROM t)::bigint % 1000, 'N'
        FROM generate_series('2024-06-01 23:59+08'::timestamptz - interval '999 minutes',
                             '2024-06-01 23:59+08', '1 minute') t
        UNION ALL
        SELECT 'co', 'r', t, 0.7, 'N' FROM generate_series('2024-06-01 20:00+08'::timestamptz,
                                                           '2024-06-01 20:05+08', '30 seconds') t
        UNION ALL
        SELECT 'co', 'm', t, 0.8, 'N' FROM generate_series('2024-06-01 20:00+08'::timestamptz,
                                                           '2024-06-01 20:05+08', '1 minute') t
        UNION ALL
        SELECT 'no2', 'd', '2024-06-01 00:00+08', 31, 'N') v
    WHERE s.code = 'air-dh01' AND p.code = v.param" >/dev/null
q "SELECT rpt.series('air-dh01', 24)" >"$T/s24.json"
q "SELECT jsonb_agg(jsonb_build_array(r.ts, r.value, r.flag) ORDER BY r.ts)
   FROM rpt.reading r WHERE r.site = 'air-dh01' AND r.param = 'pm25' AND r.period = 'hour'
     AND r.ts > '2024-05-31 23:59+08'" >"$T/pm25.json"
python3 - "$T/s24.json" "$T/pm25.json" <<'EOF' || eco_fail "series: $(cat "$T/s24.json" | head -c 2000)"
import json, sys
from datetime import datetime, timedelta
s = json.load(open(sys.argv[1]))
stored = json.load(open(sys.argv[2]))
t = lambda x: datetime.fromisoformat(x)
assert (s["site"], s["kind"]) == ("air-dh01", "air"), s
assert s["name"], s
assert t(s["to"]) == t("2024-06-01T23:59:00+08:00"), s["to"]
assert t(s["from"]) == t("2024-05-31T23:59:00+08:00"), s["from"]
p = {x["param"]: x for x in s["params"]}
assert sorted(p) == ["co", "no2", "pm25", "so2"], sorted(p)
pm = p["pm25"]
assert pm["period"] == "hour" and pm["unit"] == "µg/m³", (pm["period"], pm["unit"])
# the 24 hours 00:00 .. 23:00, not 2024-05-31 23:00 (before the window)
assert len(pm["points"]) == 24, len(pm["points"])
assert [t(x[0]).astimezone() for x in pm["points"]] == [t(x[0]).astimezone() for x in stored], "ts"
assert [x[1] for x in pm["points"]] == [h + 0.5 for h in range(24)], [x[1] for x in pm["points"]]
assert [x[1:] for x in pm["points"]] == [[x[1], x[2]] for x in stored]
assert pm["points"][12][2] == "D" and pm["points"][0][2] == "N", pm["points"][12]
so2 = p["so2"]
assert so2["period"] == "min" and len(so2["points"]) == 500, (so2["period"], len(so2["points"]))
assert t(so2["points"][-1][0]) == t("2024-06-01T23:59:00+08:00")
assert t(so2["points"][0][0]) == t("2024-06-01T23:59:00+08:00") - timedelta(minutes=499), so2["points"][0]
assert all(int(t(x[0]).timestamp()) % 1000 == x[1] for x in so2["points"]), "so2 values"
assert p["co"]["period"] == "rt" and len(p["co"]["points"]) == 11 and p["co"]["points"][0][1] == 0.7, p["co"]
assert p["no2"]["period"] == "day" and p["no2"]["points"][0][1] == 31, p["no2"]
EOF
eco_pass "series: the stored values, hourly preferred (else the finest period), 500 at most, ending at the latest reading"
eco_assert_eq "22:00 23:00" "$(q "SELECT string_agg(to_char((x->>0)::timestamptz AT TIME ZONE 'Asia/Shanghai', 'HH24:MI'), ' ')
    FROM jsonb_array_elements(rpt.series('air-dh01', 2)->'params') p, jsonb_array_elements(p->'points') x
    WHERE p->>'param' = 'pm25'")" "series: 2 hours are the last two hourly values"
eco_assert_eq "|[]|t" "$(q "SELECT rpt.series('nope', 24)")|$(q "SELECT rpt.series('air-dh02', 24)->>'params'")|$(q "SELECT rpt.series('air-dh02', 24)->'to' = 'null'")" \
    "series: an unknown site is NULL; a site without readings has no params"
for h in 0 169; do
    if err=$(q "SELECT rpt.series('air-dh01', $h)" 2>&1); then eco_fail "series: $h hours accepted"; fi
    case "$err" in *"hours must be 1 to 168"*) ;; *) eco_fail "series $h hours: $err" ;; esac
done
eco_pass "series: hours out of 1..168 refused"

# ---- 3. eco-report: the layers published, the series request -------------------
SVC_OUT=$T/svc
eco_spawn rep env ECO_PG_DSN="$(eco_dsn report)" ECO_MQTT_URL="mqtt://$ECO_MQTT_HOST:$ECO_MQTT_PORT" \
    ECO_MQTT_USER="$ECO_MQTT_REPORT_USER" ECO_MQTT_PASSWORD="$ECO_MQTT_REPORT_PASSWORD" \
    ECO_REPORT_INSTANCE="rep-$ECO_TEST_DB" ECO_REPORT_SHARE_GROUP="g-$ECO_TEST_DB" \
    ECO_REPORT_OUT_DIR="$SVC_OUT" ECO_REPORT_CATCHUP_DAYS=1 ECO_REPORT_LAYERS_S=5 ECO_REPORT_COMPACT_S=0 \
    ECO_LOG_LEVEL=debug "$(eco_bin eco-report)"
for l in regions stations tracks departments; do
    eco_wait_until 30 test -s "$SVC_OUT/layers/layer-$l.geojson"
    eco_assert_eq "$(q "SELECT jsonb_array_length(rpt.geojson('$l')->'features')")" \
        "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["features"]))' "$SVC_OUT/layers/layer-$l.geojson")" \
        "eco-report: layers/layer-$l.geojson"
done
msg=$(eco_mqtt_sub admin -t eco/v1/report/layer/regions -C 1 -W 10 --retained-only) ||
    eco_fail "no retained eco/v1/report/layer/regions"
eco_assert_eq 11 "$(echo "$msg" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["features"]))')" \
    "eco-report: the regions layer, retained"

# rr USER PASSWORD METHOD PAYLOAD: a request under USER's own name
rr() {
    timeout 30 mosquitto_rr "${MQ[@]}" -u "$1" -P "$2" -t "eco/v1/rpc/report/$3/$1" \
        -e "eco/v1/rpc/reply/$1/$p" -m "$4" -W 25 7>&-
}
ADM=("$ECO_MQTT_ADMIN_USER" "$ECO_MQTT_ADMIN_PASSWORD")
rr "${ADM[@]}" series '{"site": "air-dh01"}' >"$T/rr24.json" || eco_fail "no reply to series"
python3 - "$T/rr24.json" "$T/s24.json" <<'EOF2' || eco_fail "series over MQTT: $(head -c 500 "$T/rr24.json")"
import json, sys
r, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert r["ok"] is True and r["series"] == s, "not rpt.series('air-dh01', 24)"
EOF2
reply=$(rr "${ADM[@]}" series '{"site": "air-dh01", "hours": 2}') || eco_fail "no reply to series 2 hours"
eco_assert_eq 2 "$(echo "$reply" | python3 -c 'import json,sys; d=json.load(sys.stdin)
print([len(p["points"]) for p in d["series"]["params"] if p["param"] == "pm25"][0])')" \
    "eco-report: series with hours"
reply=$(rr "${ADM[@]}" series '{"site": "nope-'$p'", "hours": 3}') || eco_fail "no reply for an unknown site"
eco_assert_eq "{\"ok\":false,\"error\":\"no site nope-$p\"}" "$reply" "eco-report: an unknown site refused"
for bad in '{"site": "air-dh01", "hours": 0}' '{"site": "air-dh01", "hours": 169}' \
    '{"site": "air-dh01", "hours": "24"}' '{"site": "air-dh01", "hours": 2.5}' '{"hours": 24}' '[1]' 'x'; do
    reply=$(rr "${ADM[@]}" series "$bad") || eco_fail "no reply to $bad"
    case "$reply" in *'"ok":false,"error":"the request is {\"site\": CODE, \"hours\": 1..168'*) ;;
    *) eco_fail "series $bad: $reply" ;; esac
done
eco_pass "eco-report: series over MQTT equals rpt.series; bad arguments refused"
reply=$(rr "$p-dev" "pw-dev-$p" series '{"site": "air-dh01"}') || eco_fail "no reply to a device"
eco_assert_eq '{"ok":false,"error":"series answers people and services, not devices"}' "$reply" \
    "eco-report: a device's series request refused"

# ---- 4. ACLs: who reads which layer ----------------------------------------------
echo "dept-pw-$p" | "$CTL" user add "$p-dept" --role department --department ZS-EEB-DH \
    --password-stdin >/dev/null || eco_fail "user add department"
echo "disp-pw-$p" | "$CTL" user add "$p-disp" --role dispatcher --password-stdin >/dev/null ||
    eco_fail "user add dispatcher"
# a person asks for a series too
reply=$(rr "$p-dept" "dept-pw-$p" series '{"site": "air-dh01", "hours": 1}') || eco_fail "no reply to a person"
case "$reply" in '{"ok":true,"series":{'*) ;; *) eco_fail "a department person's series: $reply" ;; esac
eco_pass "eco-report: a person's series request answered"
layers="-t eco/v1/report/layer/sites -t eco/v1/report/layer/alarms -t eco/v1/report/layer/orders
    -t eco/v1/report/layer/grid -t eco/v1/report/layer/regions -t eco/v1/report/layer/stations
    -t eco/v1/report/layer/tracks -t eco/v1/report/layer/departments -t eco/v1/report/layer/#"
# shellcheck disable=SC2086
eco_spawn dept mosquitto_sub "${MQ[@]}" -u "$p-dept" -P "dept-pw-$p" -i "$p-dept-sub" -q 1 -F %t $layers
# shellcheck disable=SC2086
eco_spawn disp mosquitto_sub "${MQ[@]}" -u "$p-disp" -P "disp-pw-$p" -i "$p-disp-sub" -q 1 -F %t $layers
# two rounds of stations (retained, then eco-report's next refresh): every
# layer was published since the subscription
two_rounds() { [ "$(grep -c '^eco/v1/report/layer/stations$' "$(eco_log dept)")" -ge 2 ]; }
eco_wait_until 40 two_rounds
for l in regions stations tracks grid; do
    grep -q "^eco/v1/report/layer/$l$" "$(eco_log dept)" || eco_fail "the department did not receive layer/$l"
done
for l in sites alarms orders departments; do
    if grep -q "^eco/v1/report/layer/$l$" "$(eco_log dept)"; then
        eco_fail "the department received layer/$l"
    fi
done
eco_pass "a department person receives layer/regions, stations, tracks, grid and never sites, alarms, orders, departments"
disp_all() {
    for l in sites alarms orders grid regions stations tracks departments; do
        grep -q "^eco/v1/report/layer/$l$" "$(eco_log disp)" || return 1
    done
}
eco_wait_until 20 disp_all
eco_pass "a dispatcher receives every layer, orders too"

eco_kill rep
eco_check_logs
# leave the shared broker as the other tests expect: services only
eco_psql "UPDATE core.device SET active = false WHERE code LIKE '$p-%'" \
    "UPDATE core.account SET active = false" >/dev/null
"$CTL" broker sync >/dev/null || eco_fail "broker sync"
