#!/usr/bin/env bash
# The main job on embedded defaults: inspect a conveyor line.
# Makes the synthetic conveyor clip (Debian's ffmpeg), then runs `ifc run` with the committed
# demo detector (models/defect-yolov8.onnx, embedded ONNX runtime) and the default rule (NG
# when a `scratch` is detected). Results: ifc-out/conveyor/results.jsonl, results.sqlite and
# snapshots/ of NG frames with boxes drawn. It also records the clip into fMP4 segments and an
# HLS playlist with `ifc remux` (the Recorder's path).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Reuse the build cache scripts/test.sh uses, when there is one.
cache=${IFC_CACHE:-$HOME/.cache/ifc}
if [[ -z ${CARGO_TARGET_DIR:-} && -d $cache/target ]]; then export CARGO_TARGET_DIR=$cache/target; fi
target=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --locked -p ifc-cli
clip=demo-data/conveyor.mp4
[[ -f $clip ]] || scripts/make-demo-clip.sh "$clip"
"$target"/release/ifc probe "$clip"
"$target"/release/ifc run --input "$clip" --model models/defect-yolov8.onnx --out ifc-out/conveyor
"$target"/release/ifc remux "$clip" ifc-out/conveyor/hls --segment-ms 2000
echo "demo: NG snapshots in ifc-out/conveyor/snapshots/; play the recording: ffplay ifc-out/conveyor/hls/index.m3u8" >&2
