#!/usr/bin/env bash
# Every program refuses a bad configuration at start with one line that
# names the setting, and exits non-zero; --help and --version exit 0.
# eco-test: no-servers
set -euo pipefail
B=${ECO_BUILD_DIR:?}
ingest=$B/services/ingest/eco-ingest
sim=$B/services/ecosim/ecosim
fail() { echo "FAIL: config_test: $*" >&2; exit 1; }

# run_bad PROG SETTING VALUE: must exit non-zero with one stderr line naming SETTING
run_bad() {
    local prog=$1 name=$2 value=$3 err rc=0
    err=$(env -i PATH="$PATH" ECO_PG_DSN=host=/nonexistent "$name=$value" "$prog" 2>&1 >/dev/null) || rc=$?
    [ "$rc" -ne 0 ] || fail "$(basename "$prog") accepted $name=$value"
    [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "$(basename "$prog") $name=$value: not one line: $err"
    grep -q "$name" <<<"$err" || fail "$(basename "$prog") $name=$value: reason does not name the setting: $err"
    echo "ok - $(basename "$prog") refuses $name=$value: $err"
}
run_bad "$ingest" ECO_INGEST_BATCH_ROWS lots
run_bad "$ingest" ECO_INGEST_BATCH_ROWS 0
run_bad "$ingest" ECO_INGEST_SPOOL_FSYNC maybe
run_bad "$ingest" ECO_INGEST_HJ212_ADDR nohostport
run_bad "$ingest" ECO_INGEST_MAX_PAYLOAD 99999999999
run_bad "$ingest" ECO_LOG_LEVEL loud

# a required setting that is missing
rc=0; err=$(env -i PATH="$PATH" "$ingest" 2>&1 >/dev/null) || rc=$?
[ "$rc" -ne 0 ] && grep -q ECO_PG_DSN <<<"$err" || fail "missing ECO_PG_DSN not reported: $err"
echo "ok - missing ECO_PG_DSN: $err"

# a config file: a bad line is named by file:line; the environment wins over the file
cfg=$(mktemp)
trap 'rm -f "$cfg"' EXIT
printf '# comment\nECO_PG_DSN=host=x\nECO_INGEST_BATCH_ROWS=many\n' >"$cfg"
rc=0; err=$(env -i PATH="$PATH" "$ingest" --config "$cfg" 2>&1 >/dev/null) || rc=$?
[ "$rc" -ne 0 ] && grep -q "ECO_INGEST_BATCH_ROWS" <<<"$err" && grep -q ":3" <<<"$err" ||
    fail "bad config file line not reported with file:line: $err"
echo "ok - config file: $err"
printf 'ECO_PG_DSN=host=x\nECO_INGEST_BATCH_ROWS=5\n' >"$cfg"
out=$(env -i PATH="$PATH" "$ingest" --config "$cfg" --help) || fail "--help with --config failed"
grep -q ECO_INGEST_BATCH_ROWS <<<"$out" || fail "--help does not list the settings"

# --help / --version / unknown argument
"$ingest" --version | grep -q '^eco-ingest ' || fail "eco-ingest --version"
rc=0; "$ingest" --bogus >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "eco-ingest accepted an unknown argument"
if [ -x "$sim" ]; then
    "$sim" --help >/dev/null || fail "ecosim --help"
    rc=0; err=$(env -i PATH="$PATH" ECO_SIM_SPEED=fast "$sim" --stdout 2>&1 >/dev/null) || rc=$?
    [ "$rc" -ne 0 ] && grep -q ECO_SIM_SPEED <<<"$err" || fail "ecosim bad ECO_SIM_SPEED: $err"
    echo "ok - ecosim refuses ECO_SIM_SPEED=fast: $err"
fi
"$B/services/ecoctl/ecoctl" --version | grep -q '^ecoctl ' || fail "ecoctl --version"
rc=0; "$B/services/ecoctl/ecoctl" nosuch >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "ecoctl: unknown command should exit 2, got $rc"
echo "PASS: config_test"
