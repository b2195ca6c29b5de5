#!/usr/bin/env bash
# scripts/fuzz.sh [--dev] [SECONDS]: runs every coverage-guided fuzz target in fuzz/ for SECONDS
# each (default 60), from a corpus seeded with fuzz/seeds/<target> (the test vectors) and kept in
# target/fuzz-corpus/<target> between runs. Prints executions per target; stops at the first
# crash, naming the input that caused it (add it to a regression test before fixing).
#
# The toolchain is stable only: cargo-fuzz runs under RUSTC_BOOTSTRAP=1 (its -Z flags) and
# without a sanitizer (-s none; the sanitizer runtimes ship with nightly only). libFuzzer's own
# coverage instrumentation still guides it; Rust's bounds checks turn memory errors into panics.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# --dev: an unoptimized build (half the compile time, slower fuzzing), for CI's smoke run.
profile=()
if [[ ${1:-} == --dev ]]; then
  profile=(--dev)
  shift
fi
seconds=${1:-60}
targets=(multipart xmatrix canonical_json image_header suite_loader)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2 --locked
export RUSTC_BOOTSTRAP=1
(cd fuzz && cargo fuzz build -s none "${profile[@]}")
for t in "${targets[@]}"; do
  corpus=target/fuzz-corpus/$t
  mkdir -p "$corpus"
  cp -n fuzz/seeds/"$t"/* "$corpus"/ 2>/dev/null || true
  log=target/fuzz-corpus/$t.log
  if ! (cd fuzz && cargo fuzz run -s none "${profile[@]}" "$t" "../$corpus" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1) >"$log" 2>&1; then
    echo "fuzz: $t FAILED; the crashing input is in fuzz/artifacts/$t/ (log: $log)"
    grep -E "panicked|ERROR|SUMMARY|Test unit written" "$log" | head -20
    exit 1
  fi
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
  echo "fuzz: $t: ${runs:-?} executions in ${seconds} s, ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l) inputs, no crash"
done
