#!/usr/bin/env bash
# tests/lint.sh: the lint gate. tests/run.sh runs it as its own phase (each
# check below counts as one test in its summary); run it by hand before a
# commit. No build and no servers needed.
#
#   tests/lint.sh [--fix]
#
#   format   clang-format 14 (pinned: a newer one formats differently) with
#            the repository's .clang-format, --dry-run --Werror, on every C
#            file in git (tracked, or new and not ignored). --fix rewrites
#            the files in place instead. ECO_CLANG_FORMAT names another
#            binary; it must still be version 14.
#   banned   no call of atoi/atol/atoll (no error check: use strtol with
#            end and errno checks, db_get_int for PQgetvalue), strcpy/strcat
#            (unbounded: memcpy with a length you checked, snprintf),
#            sprintf/vsprintf (snprintf/vsnprintf), strtok (strtok_r), gets.
#            Comments and string literals are not searched.
#
# Prints one "ok"/"not ok" line per check and exits 1 if any failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fix=0
case "${1:-}" in
--fix) fix=1 ;;
"") ;;
*)
    sed -n '2,21s/^# \{0,1\}//p' "$0"
    exit 2
    ;;
esac

ECO_CLANG_FORMAT_VERSION=14
failed=0

# The C files: from git when this is a checkout, else every one under the
# source directories.
files=()
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.c' '*.h' |
        while read -r f; do [ -f "$f" ] && echo "$f"; done)
else
    mapfile -t files < <(find libshared services tests bench -name '*.[ch]' | sort)
fi
[ "${#files[@]}" -gt 0 ] || {
    echo "not ok - lint: no C files found"
    exit 1
}

# ---- format
cf=${ECO_CLANG_FORMAT:-}
if [ -z "$cf" ]; then
    for c in "clang-format-$ECO_CLANG_FORMAT_VERSION" clang-format; do
        if command -v "$c" >/dev/null 2>&1; then
            cf=$c
            break
        fi
    done
fi
ver=$({ [ -n "$cf" ] && "$cf" --version 2>/dev/null; } | sed -n 's/.*clang-format version \([0-9]*\)\..*/\1/p')
if [ -z "$cf" ] || [ "$ver" != "$ECO_CLANG_FORMAT_VERSION" ]; then
    echo "not ok - format: clang-format $ECO_CLANG_FORMAT_VERSION not found" \
        "(found: ${cf:-none} ${ver:+version $ver}); install clang-format-$ECO_CLANG_FORMAT_VERSION" \
        "(deploy/install-deps.sh) or set ECO_CLANG_FORMAT"
    failed=$((failed + 1))
elif [ "$fix" = 1 ]; then
    "$cf" -i "${files[@]}"
    echo "ok - format: ran $cf -i on ${#files[@]} files"
else
    # one run over every file; the files that differ are named in its warnings
    out=$("$cf" --dry-run --Werror "${files[@]}" 2>&1)
    rc=$?
    mapfile -t bad < <(sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: \(warning\|error\): .*/\1/p' <<<"$out" | uniq)
    if [ "$rc" -ne 0 ] && [ "${#bad[@]}" -eq 0 ]; then
        bad=("(clang-format exit $rc: ${out:0:300})")
    fi
    if [ "${#bad[@]}" -eq 0 ]; then
        echo "ok - format: ${#files[@]} files as $cf ($ver) formats them"
    else
        echo "not ok - format: ${#bad[@]} of ${#files[@]} files differ from $cf's format" \
            "(tests/lint.sh --fix, or $cf -i FILE):"
        printf '  %s\n' "${bad[@]}"
        head -n 20 <<<"$out" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
fi

# ---- banned calls
banned_out=$(python3 - "${files[@]}" <<'EOF'
import re, sys

BANNED = {
    "atoi": "strtol with end/errno checks (db_get_int for PQgetvalue)",
    "atol": "strtol with end/errno checks",
    "atoll": "strtoll with end/errno checks",
    "strcpy": "memcpy of a checked length, or snprintf",
    "strcat": "memcpy of a checked length, or snprintf",
    "sprintf": "snprintf",
    "vsprintf": "vsnprintf",
    "strtok": "strtok_r",
    "gets": "fgets",
}
call = re.compile(r"(?<![\w.>])(" + "|".join(BANNED) + r")\s*\(")
# comments, then string and character literals, are blanked (newlines
# kept, so that line numbers hold)
lexeme = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)

def blank(m):
    return re.sub(r"[^\n]", " ", m.group(0))

n = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8", errors="replace") as f:
        text = lexeme.sub(blank, f.read())
    for no, line in enumerate(text.split("\n"), 1):
        for m in call.finditer(line):
            print(f"  {path}:{no}: {m.group(1)}() is banned: use {BANNED[m.group(1)]}")
            n += 1
sys.exit(1 if n else 0)
EOF
)
rc=$?
if [ "$rc" -eq 0 ]; then
    echo "ok - banned: no atoi/atol/atoll/strcpy/strcat/sprintf/vsprintf/strtok/gets in ${#files[@]} files"
else
    echo "not ok - banned calls:"
    printf '%s\n' "$banned_out"
    failed=$((failed + 1))
fi

# The web console's scripts parse (node --check; no packages needed).
js=()
while IFS= read -r -d '' f; do js+=("$f"); done < <(find services/console -path '*/node_modules' -prune -o \
    -path '*/dist' -prune -o \( -name '*.js' -o -name '*.mjs' \) -type f -print0 | sort -z)
if ! command -v node >/dev/null; then
    echo "not ok - console: node not found (deploy/install-deps.sh)"
    failed=$((failed + 1))
else
    bad_js=()
    for f in "${js[@]}"; do node --check "$f" 2>/dev/null || bad_js+=("$f"); done
    if [ "${#js[@]}" -gt 0 ] && [ "${#bad_js[@]}" -eq 0 ]; then
        echo "ok - console: ${#js[@]} scripts parse"
    else
        echo "not ok - console: ${#bad_js[@]} of ${#js[@]} scripts do not parse: ${bad_js[*]}"
        failed=$((failed + 1))
    fi
fi

[ "$failed" -eq 0 ] || exit 1
exit 0
