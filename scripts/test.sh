#!/usr/bin/env bash
# Builds and runs every test: unit tests, corpus replays of the fuzz targets, and the
# process-level integration tests (the real binaries, on private runtime directories).
#   scripts/test.sh          release build, every test
#   scripts/test.sh asan     AddressSanitizer + UndefinedBehaviorSanitizer build, unit tests
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
scripts/deps.sh
scripts/build.sh "$preset"
cd "build/$preset"
if [ "$preset" = "asan" ]; then
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  ctest -L unit -j 2 --output-on-failure --timeout 300
else
  ctest -j 2 --output-on-failure --timeout 300
fi
