#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan, our code coverage-instrumented) in
# build-fuzz and runs each for a bounded time on its own corpus.
#   tests/fuzz/run.sh [seconds per target, default 20]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-20}

source scripts/build-env
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTDS_FUZZERS=ON -DTDS_BENCHMARKS=OFF -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null

targets=(tds_discovery_state_fuzz tds_snapshot_load_fuzz)
cmake --build build-fuzz --target "${targets[@]}"

for target in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$target
  mkdir -p "$corpus"
  echo "== $target (${seconds}s)"
  # Findings (crash-*, leak-*, timeout-*) land in build-fuzz/ and fail the run.
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "build-fuzz/tests/fuzz/$target" -max_total_time="$seconds" -max_len=8192 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix=build-fuzz/ -print_final_stats=1 "$corpus"
done
