#!/usr/bin/env bash
# Runs the query fuzzer for a bounded time on a copy of the seed corpus.
#   tests/fuzz/run.sh [SECONDS]          (default 60)
# Configures and builds the clang fuzz build directory if it is missing
# (BUILD_DIR, default build-fuzz beside the source tree). Crash inputs land in
# $BUILD_DIR/fuzz-artifacts/; copy one into tests/fuzz/corpus/query/ to make
# it a regression seed that ctest replays. Exit status is libFuzzer's.
set -euo pipefail

seconds=${1:-60}
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
ninja -C "$build" -j"$jobs" fuzz_query

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$build/fuzz-artifacts"
cp "$root"/tests/fuzz/corpus/query/* "$work/corpus/"

"$build/bin/fuzz_query" \
  -max_total_time="$seconds" \
  -timeout=10 \
  -rss_limit_mb=2048 \
  -max_len=4096 \
  -dict="$root/tests/fuzz/query.dict" \
  -artifact_prefix="$build/fuzz-artifacts/" \
  -print_final_stats=1 \
  "$work/corpus"
