#!/usr/bin/env bash
# `ecoctl hj212 check`: the verdict for every example frame of the standard
# (tests/data/hj212-examples.tsv) plus a few broken variants, in JSON and
# text mode, from a file and from stdin, with CR LF and without; and the
# exit codes. Needs no database or broker, so it does not use the harness.
# Only grep/sed/awk: jq is not a project dependency.
# eco-test: no-servers
set -euo pipefail

ECO_SOURCE_DIR=${ECO_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
ECO_BUILD_DIR=${ECO_BUILD_DIR:-$ECO_SOURCE_DIR/build}
ECOCTL=$ECO_BUILD_DIR/services/ecoctl/ecoctl
TSV=$ECO_SOURCE_DIR/tests/data/hj212-examples.tsv

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

[ -x "$ECOCTL" ] || fail "no ecoctl at $ECOCTL"
[ -r "$TSV" ] || fail "no examples at $TSV"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Frames and expected verdicts, one per line, in the same order. The file
# says "valid", "invalid" (optionally "invalid:<reason>") or, for frames of
# field devices, "accepted:<lenient names>/<reasons of refused items>".
awk -F'\t' 'NR > 1 && NF >= 3 { print $3 }' "$TSV" >"$tmp/frames"
awk -F'\t' 'NR > 1 && NF >= 3 { print $2 }' "$TSV" >"$tmp/expected"
nfile=$(wc -l <"$tmp/frames")
[ "$nfile" -ge 30 ] || fail "only $nfile examples read from $TSV"

# Broken variants of the first example, each with the reason it must get.
first=$(head -n 1 "$tmp/frames")
crc=${first: -4}
body=${first:0:${#first}-4}
last=${crc:3:1}
if [ "$last" = 0 ]; then other=1; else other=0; fi
{
    printf '%s%s\n' "$body" "${crc:0:3}$other"          # one CRC digit off
    printf '%s%s\n' "$body" "$(printf '%s' "$crc" | tr 'A-F' 'a-f')"  # lower-case: fine
    printf '%s\n' "${first:0:2}0000${first:6}"           # wrong length field
    printf '%s\n' "this is not a frame"
    printf '%s\n' "${first:0:60}"                        # cut short
} >>"$tmp/frames"
printf '%s\n' invalid:crc valid invalid:length invalid:header invalid:length >>"$tmp/expected"
total=$(wc -l <"$tmp/frames")

check_json() { # file-with-json-lines label
    local out=$1 label=$2 n=0 line want ok reason lineno
    [ "$(wc -l <"$out")" -eq "$total" ] || fail "$label: $(wc -l <"$out") results for $total lines"
    while IFS= read -r line && IFS= read -r want <&3; do
        n=$((n + 1))
        # cJSON prints keys in insertion order: line, ok, reason, ... The
        # leftmost match is the key (string values escape their quotes).
        lineno=$(printf '%s' "$line" | awk 'match($0, /"line":[0-9]+/) { print substr($0, RSTART + 7, RLENGTH - 7) }')
        ok=$(printf '%s' "$line" | awk 'match($0, /"ok":(true|false)/) { print substr($0, RSTART + 5, RLENGTH - 5) }')
        reason=$(printf '%s' "$line" | awk 'match($0, /"reason":(null|"[a-z_]+")/) { s = substr($0, RSTART + 9, RLENGTH - 9); gsub(/"/, "", s); print s }')
        [ "$lineno" = "$n" ] || fail "$label line $n: reported as line '$lineno'"
        for key in qn st cn mn flag version detail; do
            printf '%s' "$line" | grep -q "\"$key\":" || fail "$label line $n: no \"$key\" in $line"
        done
        case $want in
        valid)
            [ "$ok" = true ] || fail "$label line $n: expected valid, got ok=$ok reason=$reason: $line"
            [ "$reason" = null ] || fail "$label line $n: ok but reason $reason"
            ;;
        invalid*)
            [ "$ok" = false ] || fail "$label line $n: expected $want, got ok=$ok"
            if [ "${want#invalid:}" != "$want" ]; then
                [ "$reason" = "${want#invalid:}" ] || fail "$label line $n: expected $want, got $reason"
            fi
            ;;
        accepted:*)
            # a field device's frame: accepted, with these deviations noted
            # and these items refused ("accepted:<lenient>/<reasons>")
            [ "$ok" = true ] || fail "$label line $n: expected $want, got ok=$ok reason=$reason: $line"
            local spec=${want#accepted:} wl got
            wl=$(printf '%s' "${spec%%/*}" | sed 's/[^,][^,]*/"&"/g')
            printf '%s' "$line" | grep -qF "\"lenient\":[$wl]," ||
                fail "$label line $n: lenient not [$wl]: $line"
            got=$(printf '%s' "$line" | { grep -o '"reason":"[a-z]*"}' || true; } | sed 's/"reason":"\([a-z]*\)"}/\1/' | paste -sd, -)
            [ "$got" = "${spec#*/}" ] || fail "$label line $n: rejected fields '$got', expected '${spec#*/}': $line"
            ;;
        *) fail "unknown expected value '$want' on line $n" ;;
        esac
    done <"$out" 3<"$tmp/expected"
    [ "$n" -eq "$total" ] || fail "$label: checked $n of $total"
}

# JSON from a file.
"$ECOCTL" --json hj212 check "$tmp/frames" >"$tmp/out.json" || fail "exit $? on a readable file"
check_json "$tmp/out.json" file
grep -q '"version":"2017"' "$tmp/out.json" || fail "no 2017 version reported"
grep -q '"version":"2025"' "$tmp/out.json" || fail "no 2025 version reported (A-02, Flag=9)"
grep -q '"mn":"010000A8900016F000169DC0"' "$tmp/out.json" || fail "MN not decoded"
grep -q '"rejected_fields":\[{"field":"LA-td=50.1","reason":"unknown"}\],"rejected_total":1}' "$tmp/out.json" ||
    fail "the misspelt item of R-01 is not listed as a rejected field"
grep -q '"datatime":"2021-06-01T08:00:00+08:00"' "$tmp/out.json" || fail "R-04's time (BeginTime) not reported"

# The same from stdin, with CR LF line ends, and --json after the verb.
sed 's/$/\r/' "$tmp/frames" >"$tmp/frames.crlf"
"$ECOCTL" hj212 check --json <"$tmp/frames.crlf" >"$tmp/out2.json" || fail "exit $? on stdin"
cmp -s "$tmp/out.json" "$tmp/out2.json" || fail "stdin/CR LF output differs from file output"

# Text mode: one line per frame.
"$ECOCTL" hj212 check "$tmp/frames" >"$tmp/out.txt" || fail "text mode exit $?"
[ "$(wc -l <"$tmp/out.txt")" -eq "$total" ] || fail "text mode: wrong number of lines"
grep -q '^line 1: ok ST=32 CN=1062 MN=010000A8900016F000169DC0 (2017)$' "$tmp/out.txt" ||
    fail "text mode: line 1 not as documented: $(head -n 1 "$tmp/out.txt")"
grep -q "^line $((nfile + 1)): refused (crc): expected $crc, got ${crc:0:3}$other\$" "$tmp/out.txt" ||
    fail "text mode: CRC refusal not as documented"
grep -q '^line [0-9]*: ok ST=22 CN=2011 MN=010000A8900016F000169DC0 (2017); lenient: crc_lower,cp_empty,split_no_pnum; rejected fields: LA-td=50.1 (unknown)$' "$tmp/out.txt" ||
    fail "text mode: the accepted frame with a rejected field not as documented"

# Exit codes: 2 on bad usage, 1 on an unreadable file.
expect_rc() { # rc command...
    local want=$1 rc=0
    shift
    "$@" >/dev/null 2>&1 || rc=$?
    [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want"
}
expect_rc 2 "$ECOCTL" hj212 check --no-such-option
expect_rc 2 "$ECOCTL" hj212 no-such-verb
expect_rc 2 "$ECOCTL" hj212 check "$tmp/frames" "$tmp/frames"
expect_rc 2 "$ECOCTL" hj212
expect_rc 1 "$ECOCTL" hj212 check "$tmp/does-not-exist"
expect_rc 0 "$ECOCTL" hj212 check --help
expect_rc 0 "$ECOCTL" hj212 check /dev/null

echo "ok: $total lines checked ($nfile examples from the standard)"
