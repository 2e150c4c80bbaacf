#!/bin/sh
# One-shot init for docker-compose.yml (the `init` service): applies the schema
# migrations, gives every service role its password from the environment, and
# loads the sample registry when ECO_LOAD_SAMPLE=1. Safe to run on every start.
set -eu

: "${ECO_PG_DSN:?ECO_PG_DSN (eco_admin on ecowatch) is not set}"

ecoctl db migrate

# Passwords travel as psql variables on stdin, never inside the SQL text.
for role in ingest detect dispatch gep report ctl analyst; do
    var="ECO_PG_$(echo "$role" | tr '[:lower:]' '[:upper:]')_PASSWORD"
    eval "pw=\${$var:-}"
    if [ -z "$pw" ]; then
        echo "ecowatch-init: $var is not set" >&2
        exit 1
    fi
    echo "ALTER ROLE eco_$role LOGIN PASSWORD :'pw';" |
        psql -X -q -v ON_ERROR_STOP=1 -v pw="$pw" -d "$ECO_PG_DSN"
done

if [ "${ECO_LOAD_SAMPLE:-0}" = 1 ] && [ -n "$(ls -A /usr/share/ecowatch/sample 2>/dev/null)" ]; then
    ecoctl registry load /usr/share/ecowatch/sample
fi
# the broker's passwd and acl: the service accounts (written by the
# mqtt-passwd container) plus the devices and people of the database; the
# broker starts after this container and reads them
if [ -n "${ECO_BROKER_AUTH_DIR:-}" ]; then
    ecoctl broker sync
fi
# the web console, for the broker's websockets listener to serve
# (docs/CONSOLE.md): the image's build replaces the volume's
if [ -n "${ECO_CONSOLE_DIR:-}" ] && [ -f /usr/share/ecowatch/console/index.html ]; then
    cp /usr/share/ecowatch/console/index.html "$ECO_CONSOLE_DIR/.index.html.new"
    chmod 644 "$ECO_CONSOLE_DIR/.index.html.new"
    mv -f "$ECO_CONSOLE_DIR/.index.html.new" "$ECO_CONSOLE_DIR/index.html"
fi
echo "ecowatch-init: done"
