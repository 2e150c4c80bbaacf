#!/usr/bin/env bash
# deploy/compose-env.sh: prints a .env for docker-compose.yml with a fresh
# random password for every account. Run it once and keep the file secret:
#   ./deploy/compose-env.sh > .env && chmod 600 .env
set -euo pipefail

pw() {
    local s=""
    while [ "${#s}" -lt 24 ]; do
        s+=$(head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9')
    done
    printf '%s' "${s:0:24}"
}

echo "# ecowatch docker-compose secrets, generated $(date -u +%FT%TZ)"
echo "ECO_PG_ADMIN_PASSWORD=$(pw)"
for r in INGEST DETECT DISPATCH GEP REPORT CTL ANALYST; do
    echo "ECO_PG_${r}_PASSWORD=$(pw)"
done
for u in ADMIN INGEST DETECT DISPATCH GEP REPORT SIM INTEGRATOR; do
    echo "ECO_MQTT_${u}_PASSWORD=$(pw)"
done
echo "# 1: load deploy/sample into the registry on start (demo installations)"
echo "ECO_LOAD_SAMPLE=0"
