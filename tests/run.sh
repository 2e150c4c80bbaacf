#!/usr/bin/env bash
# tests/run.sh: builds everything and runs every test. The CI entry (.ci/run).
#
#   tests/run.sh [--quick] [-L LABEL]... [--build-root DIR] [--no-deps]
#
#   lint            tests/lint.sh: clang-format 14, banned calls (no build; 1 test per check)
#   build/          RelWithDebInfo, warnings as errors   ctest -L 'unit|smoke'
#   build-asan/     Debug, address + undefined sanitizers ctest: all labels (runs first)
#   build-fuzz/     clang, libFuzzer targets only         ctest -L fuzz (when tests/fuzz has any)
#   build-release/  GCC, Release (-O3), warnings as errors: builds only
#   build-clang/    clang, Release, warnings as errors    ctest -L unit
#
#   --quick           lint and build/ only
#   -L LABEL          passed to ctest (unit, integration, fuzz); repeatable;
#                     lint runs when no label or -L lint is given
#   --build-root DIR  put the build directories in DIR instead of the source tree
#                     (also: ECO_BUILD_ROOT)
#   --no-deps         skip deploy/install-deps.sh
#
# Each ctest run starts its own mosquitto + PostgreSQL on free loopback ports
# (the eco_env fixture), in test mode (ECO_STACK_FAST=1). The last line printed
# is a ctest-style summary over all runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SRC=$PWD

quick=0
deps=1
root=${ECO_BUILD_ROOT:-$SRC}
labels=()
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --no-deps) deps=0 ;;
    -L)
        [ $# -ge 2 ] || { echo "run.sh: -L needs a label" >&2; exit 2; }
        labels+=(-L "$2")
        shift
        ;;
    -L*) labels+=(-L "${1#-L}") ;;
    --build-root)
        [ $# -ge 2 ] || { echo "run.sh: --build-root needs a directory" >&2; exit 2; }
        root=$2
        shift
        ;;
    -h | --help)
        sed -n '2,22s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *)
        echo "run.sh: unknown option $1 (try --help)" >&2
        exit 2
        ;;
    esac
    shift
done
mkdir -p "$root"
root=$(cd "$root" && pwd)

export ECO_STACK_FAST=1
jobs=$(nproc 2>/dev/null || echo 2)
t0=$SECONDS
names=()
summaries=()
total_tests=0
total_failed=0
status=0

phase() {
    echo
    echo "=== $* (at $((SECONDS - t0)) s)"
}

build_failed() {
    echo "run.sh: FAILED: $1 does not build; no tests were run for it" >&2
    exit 1
}

# configure_and_build NAME CMAKE_ARGS... [-- TARGETS...]
configure_and_build() {
    local name=$1 dir="$root/$1" arg
    local -a cargs=() targets=()
    shift
    while [ $# -gt 0 ]; do
        arg=$1
        shift
        if [ "$arg" = -- ]; then
            targets=("$@")
            break
        fi
        cargs+=("$arg")
    done
    phase "configure + build $name"
    cmake -S "$SRC" -B "$dir" "${cargs[@]}" >"$root/.$name.configure.log" 2>&1 || {
        cat "$root/.$name.configure.log" >&2
        build_failed "$name"
    }
    if [ "${#targets[@]}" -gt 0 ]; then
        cmake --build "$dir" -j"$jobs" --target "${targets[@]}" || build_failed "$name"
    else
        cmake --build "$dir" -j"$jobs" || build_failed "$name"
    fi
}

# run_ctest NAME [CTEST_ARGS...]: runs ctest in the build, records its summary.
run_ctest() {
    local name=$1 dir="$root/$1" log="$root/.$1.ctest.log" rc=0 line n f
    shift
    phase "ctest $name${*:+ $*}"
    (cd "$dir" && ctest --output-on-failure -j"$jobs" "$@") 2>&1 | tee "$log" || rc=$?
    line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
    if [ -z "$line" ]; then
        if grep -q 'No tests were found' "$log" && [ "$rc" -eq 0 ]; then
            line="100% tests passed, 0 tests failed out of 0"
        else
            line="0% tests passed, 1 tests failed out of 1 (ctest did not finish, exit $rc)"
        fi
    fi
    [[ "$line" =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]
    f=${BASH_REMATCH[1]}
    n=${BASH_REMATCH[2]}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        line="$line (but ctest exited $rc)"
    fi
    total_tests=$((total_tests + n))
    total_failed=$((total_failed + f))
    [ "$f" -eq 0 ] || status=1
    names+=("$name")
    summaries+=("$line")
}

# wanted LABEL: true when no -L was given or one of them is LABEL
wanted() {
    local l
    [ "${#labels[@]}" -eq 0 ] && return 0
    for l in "${labels[@]}"; do
        [ "$l" = "$1" ] && return 0
    done
    return 1
}

# run_lint: tests/lint.sh, each of its checks one test in the summary.
run_lint() {
    local log="$root/.lint.log" n f
    phase "lint"
    "$SRC/tests/lint.sh" 2>&1 | tee "$log"
    n=$(grep -cE '^(ok|not ok) - ' "$log" || true)
    f=$(grep -cE '^not ok - ' "$log" || true)
    [ "$n" -gt 0 ] || { n=1; f=1; }
    total_tests=$((total_tests + n))
    total_failed=$((total_failed + f))
    [ "$f" -eq 0 ] || status=1
    names+=(lint)
    summaries+=("$(((n - f) * 100 / n))% tests passed, $f tests failed out of $n")
}

# LeakSanitizer stops the world with ptrace; some containers forbid that and
# every sanitized program then fails at exit. Find out once, here.
lsan_works() {
    local tmp out rc=0
    tmp=$(mktemp -d)
    printf '#include <stdlib.h>\nint main(void) { void *volatile p = malloc(64); p = 0; return p != 0; }\n' \
        >"$tmp/leak.c"
    if ! cc -fsanitize=address -g "$tmp/leak.c" -o "$tmp/leak" 2>/dev/null; then
        rm -rf "$tmp"
        return 0
    fi
    out=$(ASAN_OPTIONS=detect_leaks=1 "$tmp/leak" 2>&1) || rc=$?
    rm -rf "$tmp"
    case "$out" in
    *"does not work under ptrace"* | *"LeakSanitizer has encountered a fatal error"*) return 1 ;;
    *"detected memory leaks"*) return 0 ;;
    esac
    echo "run.sh: note: unexpected LeakSanitizer self-test result (exit $rc): $out" >&2
    return 0
}

# ------------------------------------------------------------------ run ----

if [ "$deps" = 1 ]; then
    phase "dependencies"
    "$SRC/deploy/install-deps.sh"
fi

wanted lint && run_lint

# The web console's packages (npm registry), once, before tests that build
# the page run in parallel (console_test, quickstart_test)
phase "web console"
"$SRC/services/console/build.sh" "$root/console" --dev || build_failed "services/console"

configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DECO_WERROR=ON

fuzz_targets=()
have_fuzz=0
if [ "$quick" = 0 ]; then
    configure_and_build build-asan -DCMAKE_BUILD_TYPE=Debug -DECO_SANITIZE=address,undefined \
        -DECO_WERROR=ON
    shopt -s nullglob
    for f in "$SRC"/tests/fuzz/*_fuzz.c; do
        f=${f##*/}
        fuzz_targets+=("${f%.c}")
    done
    shopt -u nullglob
    if [ "${#fuzz_targets[@]}" -eq 0 ]; then
        echo "run.sh: no tests/fuzz/*_fuzz.c yet; skipping build-fuzz"
    elif ! command -v clang >/dev/null 2>&1; then
        echo "run.sh: clang not found; skipping build-fuzz"
    else
        have_fuzz=1
        configure_and_build build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
            -DECO_FUZZ=ON -DECO_SANITIZE=address,undefined -DECO_WERROR=ON -- "${fuzz_targets[@]}"
    fi
fi

# Users and packagers build with other build types and compilers: CI builds
# them once with warnings as errors, so a warning is found here, not there.
have_clang_build=0
if [ "$quick" = 0 ]; then
    configure_and_build build-release -DCMAKE_BUILD_TYPE=Release -DECO_WERROR=ON
    if command -v clang >/dev/null 2>&1; then
        configure_and_build build-clang -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Release \
            -DECO_WERROR=ON
        have_clang_build=1
    else
        echo "run.sh: FAILED: clang not found; CI builds with it (deploy/install-deps.sh)" >&2
        status=1
        total_tests=$((total_tests + 1))
        total_failed=$((total_failed + 1))
        names+=(build-clang)
        summaries+=("0% tests passed, 1 tests failed out of 1 (clang not found)")
    fi
fi

asan_opts="detect_leaks=1:abort_on_error=0"
if [ "$quick" = 0 ] && ! lsan_works; then
    echo "run.sh: note: LeakSanitizer cannot run here (ptrace is not allowed);" \
        "leak checking is OFF for this run (ASAN_OPTIONS detect_leaks=0)"
    asan_opts="detect_leaks=0:abort_on_error=0"
fi

if [ "$quick" = 0 ]; then
    ASAN_OPTIONS=$asan_opts UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_ctest build-asan "${labels[@]}"
fi
# The integration tests drive the same code under ASan/UBSan, which finds
# more; repeating them all here would double CI's time (908 s on 2 cores).
# The optimised build runs the unit tests and the user's path (smoke).
# --quick has no ASan build and runs everything here.
if [ "${#labels[@]}" -gt 0 ] || [ "$quick" = 1 ]; then
    run_ctest build "${labels[@]}"
else
    run_ctest build -L 'unit|smoke'
fi
if [ "$have_clang_build" = 1 ] && wanted unit; then
    run_ctest build-clang -L unit
fi
if [ "$have_fuzz" = 1 ]; then
    want_fuzz=1
    if [ "${#labels[@]}" -gt 0 ]; then
        want_fuzz=0
        for l in "${labels[@]}"; do
            [ "$l" = fuzz ] && want_fuzz=1
        done
    fi
    if [ "$want_fuzz" = 1 ]; then
        ASAN_OPTIONS=$asan_opts UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            run_ctest build-fuzz -L fuzz
    fi
fi

echo
echo "=== summary ($((SECONDS - t0)) s; build directories in $root)"
for i in "${!names[@]}"; do
    printf '%-15s %s\n' "${names[$i]}:" "${summaries[$i]}"
done
if [ "$total_tests" -gt 0 ]; then
    pct=$(((total_tests - total_failed) * 100 / total_tests))
    if [ "$total_failed" -gt 0 ] && [ "$pct" -eq 100 ]; then
        pct=99
    fi
else
    pct=100
fi
echo "$pct% tests passed, $total_failed tests failed out of $total_tests"
exit "$status"
