#!/usr/bin/env bash
# Runs every test: unit tests and integration tests (real NSD/Knot peers on
# loopback) in the Release build; under ASan+UBSan, the unit tests (with the
# fuzz corpora replayed) and the integration suites that feed the daemon
# hostile input or drive its zone core (transfers from bad primaries,
# differential queries, reloads and kill -9 during transfers and signing,
# slow and runt TCP clients, oversized transfers);
# and the fuzzers for a bounded time. Prints ctest's summary lines and a
# final "N passed, M failed" line over the suites.
#   ASAN_INTEGRATION=all tools/test.sh    every integration suite under ASan too
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
passed=0; failed=0; failed_names=()
logs=${TEST_LOGS:-$PWD/build-logs}
mkdir -p "$logs"
# Each suite's output goes to the terminal and to build-logs/N.log; a failed
# suite's log tail is printed again at the very end, where a CI log that keeps
# only its last lines still shows it.
suite() {  # name, command...
  local name=$1; shift
  local log="$logs/$((passed + failed + 1)).log"
  echo "=== $name"
  if "$@" 2>&1 | tee "$log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
    passed=$((passed+1)); echo "=== $name: ok"
  else
    failed=$((failed+1)); failed_names+=("$name|$log"); echo "=== $name: FAILED"
  fi
}

build() {  # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null && cmake --build "$dir" -j"$JOBS"
}

suite "release build" build build -DCMAKE_BUILD_TYPE=Release
suite "release tests (unit + integration)" ctest --test-dir build --output-on-failure -j1 --timeout 900
suite "asan+ubsan build" build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSATELLITE_SANITIZE=ON
suite "asan+ubsan unit tests" ctest --test-dir build-asan --output-on-failure -j1 --timeout 900 -LE integration
if [ "${ASAN_INTEGRATION:-}" = all ]; then
  suite "asan+ubsan integration (all)" ctest --test-dir build-asan --output-on-failure -j1 --timeout 1800 -L integration
else
  ZONECORE_BIG_RECORDS=${ZONECORE_BIG_RECORDS:-100000} suite "asan+ubsan integration (parsers, zone core)" ctest --test-dir build-asan --output-on-failure -j1 \
    --timeout 1800 -R '^(xfr_with_real_primaries|differential_vs_nsd|zone_core|hardening)$'
fi
if [ -x tests/fuzz/run.sh ] && [ "$FUZZ_SECONDS" -gt 0 ]; then
  suite "fuzz (${FUZZ_SECONDS}s)" tests/fuzz/run.sh "$FUZZ_SECONDS"
fi
for entry in "${failed_names[@]}"; do
  echo
  echo "=== FAILED: ${entry%%|*} (last lines of ${entry#*|})"
  grep -E -A40 'The following tests FAILED|\*\*\*Failed|Failed|FAILED|Error|error:' "${entry#*|}" | tail -120
done
echo
echo "suites: $passed passed, $failed failed"
for entry in "${failed_names[@]}"; do echo "  failed: ${entry%%|*}"; done
[ "$failed" -eq 0 ]
