#!/usr/bin/env bash
# Runs the fuzzers (queries, transfer streams plain and TSIG-signed, zone
# content, NOTIFY and cookies, state_dir files, the API router, the config)
# for a bounded time each on a copy of their seed corpora.
#   tests/fuzz/run.sh [SECONDS]
# SECONDS is the budget of the three original targets (default 60 each);
# the total stays within 3 x SECONDS + 120 s: the eight targets share it
# evenly (37 s each by default).
# Configures and builds the clang fuzz build directory if it is missing
# (BUILD_DIR, default build-fuzz beside the source tree). Crash inputs land in
# $BUILD_DIR/fuzz-artifacts/; copy one into tests/fuzz/corpus/query/ to make
# it a regression seed that ctest replays. Exit status is libFuzzer's.
set -euo pipefail

budget=${1:-60}
targets=8
seconds=$(( (3 * budget + 120) / targets ))
(( seconds >= 1 )) || seconds=1
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build-fuzz}
jobs=${JOBS:-2}

if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ \
    -DSATELLITE_FUZZ=ON -DSATELLITE_SANITIZE=ON \
    -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link
fi
ninja -C "$build" -j"$jobs" fuzz_query fuzz_xfr fuzz_zone fuzz_notify fuzz_xfr_tsig fuzz_store fuzz_api fuzz_config

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/fuzz-artifacts"

# Each target gets SECONDS on a copy of its seed corpus.
fuzz() {  # target corpus-name extra-args...
  local target=$1 corpus=$2; shift 2
  mkdir -p "$work/$corpus"
  cp "$root"/tests/fuzz/corpus/"$corpus"/* "$work/$corpus/"
  echo "== $target for ${seconds}s (log: $build/fuzz-artifacts/$target.log)"
  if ! "$build/bin/$target" \
    -max_total_time="$seconds" \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -artifact_prefix="$build/fuzz-artifacts/$target-" \
    -print_final_stats=1 \
    "$@" "$work/$corpus" >"$build/fuzz-artifacts/$target.log" 2>&1; then
    tail -60 "$build/fuzz-artifacts/$target.log"
    echo "== $target: FAILED"
    return 1
  fi
  grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$build/fuzz-artifacts/$target.log" || true
}
fuzz fuzz_query query -max_len=4096 -dict="$root/tests/fuzz/query.dict"
fuzz fuzz_xfr xfr -max_len=65536
fuzz fuzz_zone zone -max_len=8192
fuzz fuzz_notify notify -max_len=1024 -dict="$root/tests/fuzz/query.dict"
fuzz fuzz_xfr_tsig xfr_tsig -max_len=65536
fuzz fuzz_store store -max_len=16384
fuzz fuzz_api api -max_len=4096
fuzz fuzz_config config -max_len=8192
