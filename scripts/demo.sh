#!/usr/bin/env bash
# The main job on embedded defaults (for now): make a sample clip with Debian's ffmpeg,
# describe it with `ifc probe`, and record it without re-encoding with `ifc remux` into
# fMP4 segments and an HLS playlist under demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --locked -p ifc-cli
out=${1:-demo-out}
mkdir -p "$out"
clip="$out/sample_1080p30.mp4"
if [[ ! -f $clip ]]; then
  echo "demo: encoding a 10 s 1080p30 H.264 sample with ffmpeg (libx264)..." >&2
  ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=1920x1080:rate=30 -t 10 \
    -c:v libx264 -preset veryfast -b:v 8M -bf 3 -g 60 -pix_fmt yuv420p "$clip"
fi
target/release/ifc probe "$clip"
target/release/ifc remux "$clip" "$out/hls" --segment-ms 2000
echo "demo: play it with: ffplay $out/hls/index.m3u8" >&2
