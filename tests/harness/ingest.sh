# shellcheck shell=bash
# Helpers for tests that run eco-ingest (sourced after lib.sh).
#
#   ingest_registry PREFIX   a small registry in the test database: region ZS,
#                            air sites PREFIX-s0..s3 with devices PREFIX-d0..d3,
#                            a mobile site PREFIX-m with device PREFIX-m0,
#                            params pm25 pm10 so2 no2 o3 co, mg/m3 -> ug/m3
#   ingest_bench_registry PREFIX N   N more air sites/devices PREFIX0..PREFIX(N-1)
#                                    (bench_ingest's --prefix naming)
#   ingest_start NAME PREFIX [VAR=VALUE...]  spawn eco-ingest as NAME with its own
#                            instance, share group and spool; waits until it is ready.
#                            The HJ 212 gateway is off unless the caller passes
#                            ECO_INGEST_HJ212_ADDR=127.0.0.1:PORT
#   ingest_count PREFIX      rows in obs.reading for sites whose code starts with PREFIX

ingest_registry() {
    local p=$1
    eco_psql "
INSERT INTO core.region (code, name, kind, geom) VALUES ('ZS', 'Zhoushan', 'city',
  ST_Multi(ST_MakeEnvelope(121.5, 29.5, 123.2, 31.0, 4326))) ON CONFLICT DO NOTHING;
INSERT INTO core.site (code, name, kind, region, geom)
  SELECT '$p-s' || g, 'test air ' || g, 'air', 'ZS', ST_SetSRID(ST_MakePoint(122.1 + g / 100.0, 30.0), 4326)
  FROM generate_series(0, 3) g;
INSERT INTO core.site (code, name, kind, region) VALUES ('$p-m', 'test vehicle', 'mobile', 'ZS');
INSERT INTO core.device (code, site, protocol) SELECT '$p-d' || g, '$p-s' || g, 'mqtt' FROM generate_series(0, 3) g;
INSERT INTO core.device (code, site, protocol) VALUES ('$p-m0', '$p-m', 'mqtt');
INSERT INTO core.param (code, hj212_code, name, unit, valid_min, valid_max) VALUES
  ('pm25', 'a34004', 'PM2.5', 'ug/m3', 0, 1000), ('pm10', 'a34002', 'PM10', 'ug/m3', 0, 2000),
  ('so2', 'a21026', 'SO2', 'ug/m3', 0, 10000), ('no2', 'a21004', 'NO2', 'ug/m3', 0, 5000),
  ('o3', 'a05024', 'O3', 'ug/m3', 0, 2000), ('co', 'a21005', 'CO', 'mg/m3', 0, 100)
  ON CONFLICT DO NOTHING;
INSERT INTO core.unit_conversion VALUES ('mg/m3', 'ug/m3', 1000, 0) ON CONFLICT DO NOTHING;" >/dev/null
}

ingest_bench_registry() {
    local p=$1 n=$2
    eco_psql "
INSERT INTO core.site (code, name, kind, region, geom)
  SELECT '$p' || g, 'bench ' || g, 'air', 'ZS', ST_SetSRID(ST_MakePoint(122.1, 30.0), 4326)
  FROM generate_series(0, $n - 1) g;
INSERT INTO core.device (code, site, protocol) SELECT '$p' || g, '$p' || g, 'mqtt'
  FROM generate_series(0, $n - 1) g;" >/dev/null
}

ingest_start() {
    local name=$1 p=$2
    shift 2
    local log
    log=$(eco_log "$name")
    # shellcheck disable=SC2016
    eco_spawn "$name" env ECO_PG_DSN="$(eco_dsn ingest)" \
        ECO_MQTT_URL="mqtt://$ECO_MQTT_HOST:$ECO_MQTT_PORT" \
        ECO_MQTT_USER="$ECO_MQTT_INGEST_USER" ECO_MQTT_PASSWORD="$ECO_MQTT_INGEST_PASSWORD" \
        ECO_INGEST_INSTANCE="$p" ECO_INGEST_SHARE_GROUP="${ECO_TEST_SHARE_GROUP-g-$p}" \
        ECO_INGEST_SPOOL_DIR="$ECO_TEST_TMP/spool-$p" ECO_INGEST_STATUS_S=1 \
        ECO_INGEST_HJ212_ADDR= "$@" "$(eco_bin eco-ingest)"
    ingest__ready() { grep -q 'msg="registry loaded"' "$log" && grep -q 'msg="broker connected"' "$log"; }
    eco_wait_until 20 ingest__ready
}

ingest_count() {
    eco_psql "SELECT count(*) FROM obs.reading r JOIN core.site s ON s.id = r.site_id
              WHERE s.code LIKE '$1%'"
}
