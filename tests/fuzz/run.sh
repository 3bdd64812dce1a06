#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan, our code coverage-instrumented) in
# build-fuzz and runs each for a bounded time on its own corpus, starting from the committed
# seeds (tests/fuzz/seeds/<target>, read-only; new inputs go to build-fuzz/corpus/<target>).
# Every target runs even when an earlier one finds something; the run fails if any did.
#   tests/fuzz/run.sh [seconds per target, default 20] [target...]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-20}
shift || true

source scripts/build-env
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTDS_FUZZERS=ON -DTDS_BENCHMARKS=OFF -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null

targets=(
  tds_discovery_state_fuzz   # Cluster gRPC service + registry, snapshot round trips
  tds_snapshot_load_fuzz     # snapshot files: ours (plain, encrypted) and upstream's
  tds_state_api_fuzz         # COSI State gRPC service, read-write and read-only
  tds_resource_yaml_fuzz     # resource YAML codecs, metadata YAML, resource definitions
  tds_machine_config_fuzz    # machine config parsing and validation, gen config
  tds_identity_files_fuzz    # node-identity.yaml, kubespan-identity.yaml, base62
  tds_affiliate_decode_fuzz  # client decoding of Watch messages (AES-GCM, AES-ECB, protobuf)
  tds_landing_http_fuzz      # discovery-service HTTP handlers, /inspect queries
  tds_discovery_flags_fuzz   # durations, --trusted-proxies, proxy headers, key files
  tds_etcd_mirror_fuzz       # a replica's mirror of the etcd store: keys, values, relists
)
if (($# > 0)); then targets=("$@"); fi
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]}"

# Targets whose input is a program of small steps start with long programs: libFuzzer's length
# control keeps inputs at the seeds' length for as long as new coverage keeps coming, which for
# these slow, stateful targets is the whole run (few steps, shallow sequences).
options() {
  case $1 in
    tds_discovery_state_fuzz | tds_state_api_fuzz | tds_affiliate_decode_fuzz | tds_landing_http_fuzz)
      echo "-len_control=0 -max_len=2048" ;;
    *) echo "-max_len=8192" ;;
  esac
}

mkdir -p build-fuzz/logs
failed=()
summary=()
for target in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$target
  seeds=tests/fuzz/seeds/$target
  log=build-fuzz/logs/$target.log
  mkdir -p "$corpus"
  dirs=("$corpus")
  [[ -d $seeds ]] && dirs+=("$seeds")
  echo "== $target (${seconds}s)"
  # Findings (crash-*, leak-*, timeout-*, oom-*) land in build-fuzz/<target>- and fail the run.
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "build-fuzz/tests/fuzz/$target" -max_total_time="$seconds" $(options "$target") -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="build-fuzz/$target-" -print_final_stats=1 \
    "${dirs[@]}" >"$log" 2>&1; then
    failed+=("$target")
    grep -E "^(==[0-9]+==ERROR|invariant violated|SUMMARY|artifact_prefix)" "$log" | head -5 || true
  fi
  done_line=$(grep -E "^#[0-9]+[[:space:]]+DONE" "$log" | tail -1 || true)
  stat() { grep -E "^stat::$1:" "$log" | awk '{print $2}'; }
  summary+=("$(printf '%-26s %10s %8s %s' "$target" "$(stat number_of_executed_units)" \
    "$(stat average_exec_per_sec)" "$(echo "$done_line" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*')")")
  tail -n 6 "$log"
done

echo
printf '%-26s %10s %8s %s\n' target executions exec/s "coverage (final)"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]} > 0)); then
  echo "fuzz findings in: ${failed[*]} (logs in build-fuzz/logs, inputs in build-fuzz/)" >&2
  exit 1
fi
