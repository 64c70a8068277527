#!/usr/bin/env bash
# The test command's fuzz step: builds every cargo-fuzz target and runs each once over its
# committed, minimised corpus (fuzz/corpus/TARGET: every input, no new ones), so that a crash,
# leak or timeout on any known input fails the suite. A few minutes in all; the long runs are
# scripts/fuzz.sh's. RUSTC_BOOTSTRAP=1: the sanitizer flags are nightly-only.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1
cargo fuzz build --fuzz-dir fuzz --dev
failed=()
for t in $(cargo fuzz list --fuzz-dir fuzz); do
  corpus=fuzz/corpus/$t
  if [[ ! -d $corpus ]] || [[ -z $(ls -A "$corpus") ]]; then
    echo "fuzz-smoke: $t has no committed corpus in $corpus" >&2
    failed+=("$t")
    continue
  fi
  # -runs=0: execute each corpus input once, then stop.
  if ! cargo fuzz run --fuzz-dir fuzz --dev "$t" "$corpus" -- -runs=0 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$(mktemp -d)/" >"/tmp/fuzz-smoke-$t.log" 2>&1; then
    failed+=("$t")
    tail -n 30 "/tmp/fuzz-smoke-$t.log" >&2
  fi
done
if ((${#failed[@]})); then
  echo "fuzz-smoke: failed: ${failed[*]}" >&2
  exit 1
fi
