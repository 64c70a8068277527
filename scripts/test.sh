#!/usr/bin/env bash
# The whole test suite: installs what is missing, then builds and runs every test.
# The integration tests (tests/) run the ifc binary against ffmpeg/ffprobe on every fixture, and
# against a real tritonserver (nvidia-pytriton from PyPI, installed once into a venv by
# scripts/triton-server.sh, about 480 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Fixtures are committed; regenerate only if someone removed them.
[[ -f testdata/h264_main_320x240_25.mp4 ]] || scripts/make-fixtures.sh
[[ -f testdata/malformed/empty.mp4 ]] || python3 scripts/make-malformed.py
# Reuse a build cache outside the clone when one is there (never required).
cache=${IFC_CACHE:-$HOME/.cache/ifc}
if [[ -z ${CARGO_TARGET_DIR:-} && -d $cache/target ]]; then export CARGO_TARGET_DIR=$cache/target; fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
# The Triton test server (nvidia-pytriton from PyPI) lives in a venv outside the clone too.
export IFC_TRITON_VENV=${IFC_TRITON_VENV:-$cache/triton-venv}
cargo build --workspace --all-targets --locked
# Warnings are errors, so the rules clippy.toml and [workspace.lints] state hold by check.
cargo clippy --workspace --all-targets --locked -- -D warnings
# --all-targets also runs each criterion benchmark once, as a test; doctests run separately.
cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked
# Every fuzz target built and run once over its committed, minimised corpus (a few minutes).
scripts/fuzz-smoke.sh
# The GPU device check's preparation and dry run (no GPU: manifest, demux of every clip, packet
# counts against the references), so a GPU machine's time goes to driver behaviour only. The
# dev profile reuses the build above; clips and references are kept between runs.
IFC_GPU_CHECK_PROFILE=dev scripts/gpu-check-prepare.sh
# The Python package (py/): built by maturin with the dev profile into the same target dir, so
# it reuses the libraries built above; installed into python3, then its tests (which run the
# ifc binary built above and compare with PyAV, onnxruntime and numpy).
MATURIN_PEP517_ARGS="--profile dev" python3 -m pip install -q --no-build-isolation ./py 2>/dev/null \
  || MATURIN_PEP517_ARGS="--profile dev" python3 -m pip install -q --no-build-isolation --break-system-packages ./py
python3 -m pytest -q py/tests
