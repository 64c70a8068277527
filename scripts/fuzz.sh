#!/usr/bin/env bash
# Runs each cargo-fuzz target for SECONDS (default 600) over its committed corpus
# (fuzz/corpus/TARGET, minimised; seeded from testdata/ by fuzz/seed-corpora.py). Exits non-zero
# when any target finds a crash, leak, timeout or out-of-memory (the reproducer is left in
# fuzz/artifacts/TARGET/); every target still runs.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Needs cargo-fuzz (scripts/setup.sh installs it). cargo-fuzz's sanitizer flags are
# nightly-only; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}; shift || true
targets=("$@")
((${#targets[@]})) || mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz 2>/dev/null || ls fuzz/fuzz_targets | sed 's/\.rs$//')
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
failed=()
for t in "${targets[@]}"; do
  corpus=fuzz/corpus/$t
  mkdir -p "$corpus" "fuzz/artifacts/$t"
  echo "fuzz: $t for ${secs}s" >&2
  # New inputs go to a scratch corpus, so the committed one stays minimised.
  scratch=$(mktemp -d)
  # Optimised, with debug assertions (-a) and so overflow checks on.
  if cargo fuzz run --fuzz-dir fuzz -a "$t" "$scratch" "$corpus" -- -max_total_time="$secs" -rss_limit_mb=4096 \
      -timeout=10 -max_len=262144 -artifact_prefix="fuzz/artifacts/$t/" >"fuzz/$t.log" 2>&1; then
    grep -E "^#[0-9]+\s+DONE" "fuzz/$t.log" | tail -n 1 >&2 || true
  else
    failed+=("$t")
    grep -E "^(==[0-9]+==|SUMMARY|thread '|Test unit written)" "fuzz/$t.log" >&2 || tail -n 20 "fuzz/$t.log" >&2
  fi
  rm -rf "$scratch"
done
if ((${#failed[@]})); then
  echo "fuzz: FOUND SOMETHING in: ${failed[*]} (logs fuzz/TARGET.log, inputs fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, nothing found" >&2
