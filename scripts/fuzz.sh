#!/usr/bin/env bash
# Runs each cargo-fuzz target for SECONDS (default 600) with the fixtures as seed corpus.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Targets: nal_parameter_sets access_units mp4_demux config_records raw_remux.
# Needs cargo-fuzz (installed on first use). cargo-fuzz's sanitizer flags are nightly-only;
# RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}; shift || true
targets=("$@")
((${#targets[@]})) || targets=(nal_parameter_sets access_units mp4_demux config_records raw_remux)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
for t in "${targets[@]}"; do
  corpus=fuzz/corpus/$t
  mkdir -p "$corpus"
  case $t in
    mp4_demux) cp -n testdata/*.mp4 "$corpus"/ ;;
    config_records) ;;
    *) cp -n testdata/*.h264 testdata/*.h265 "$corpus"/ ;;
  esac
  echo "fuzz: $t for ${secs}s" >&2
  cargo fuzz run "$t" "$corpus" -- -max_total_time="$secs" -rss_limit_mb=4096 -max_len=262144 2>&1 \
    | tee "fuzz/$t.log" | grep -E "^(#[0-9]+\s+DONE|Done|==[0-9]+==|SUMMARY|thread)" || true
  tail -n 3 "fuzz/$t.log" >&2
done
