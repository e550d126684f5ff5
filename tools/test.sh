#!/usr/bin/env bash
# Runs every test: unit tests and integration tests (real NSD/Knot peers on
# loopback) in the Release build, all of them again under ASan+UBSan, and
# the query fuzzer for a bounded time. Prints ctest's summary lines and a
# final "N passed, M failed" line over the suites.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
passed=0; failed=0
suite() {  # name, command...
  local name=$1; shift
  echo "=== $name"
  if "$@"; then passed=$((passed+1)); echo "=== $name: ok"; else failed=$((failed+1)); echo "=== $name: FAILED"; fi
}

build() {  # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null && cmake --build "$dir" -j"$JOBS"
}

suite "release build" build build -DCMAKE_BUILD_TYPE=Release
suite "release tests (unit + integration)" ctest --test-dir build --output-on-failure -j1 --timeout 900
suite "asan+ubsan build" build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSATELLITE_SANITIZE=ON
suite "asan+ubsan tests (unit + integration)" ctest --test-dir build-asan --output-on-failure -j1 --timeout 900
if [ -x tests/fuzz/run.sh ] && [ "$FUZZ_SECONDS" -gt 0 ]; then
  suite "fuzz (${FUZZ_SECONDS}s)" tests/fuzz/run.sh "$FUZZ_SECONDS"
fi
echo
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
