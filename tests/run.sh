#!/usr/bin/env bash
# Builds everything and runs every test. Minimal first version: unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)"
cd build && ctest -L unit --output-on-failure
