#!/usr/bin/env bash
# A synthetic conveyor-line clip for the embedded-inference demo and tests:
# 1280x720, 25 fps, 12 s, H.264 (libx264) in MP4.
#
#   scripts/make-demo-clip.sh [OUT]        (default demo-data/conveyor.mp4)
#
# A dark belt (a lighter band on a darker floor); light-grey parts (240x200) move left to
# right at 32 px per frame (800 px/s), one every 50 frames (2 s, 1600 px apart), so at most
# one part is in view except for the frames where one leaves as the next enters. Part k is
# in view during frames 50k..50k+49 (its left edge at x = 32*(n mod 50) - 240, top at
# y = 260); every third part (k mod 3 == 2) carries a red mark (60x40 at +140,+60 inside
# the part). libifc/src/infer/embedded/clip_tests.rs recomputes these positions:
# keep the two in step.
#
# drawbox takes no time expressions, so each part is a `color` source (with a drawbox mark
# for the marked kind) placed by `overlay`, whose x is evaluated per frame from its time (frame n at t = n/25; overlay's own `n` is
# one ahead on the first frame, so the expressions use `round(t*25)`).
set -euo pipefail

out="${1:-demo-data/conveyor.mp4}"
mkdir -p "$(dirname "$out")"

ffmpeg -v error -nostdin -y \
  -f lavfi -i "color=c=0x1c1c1c:s=1280x720:r=25:d=12" \
  -f lavfi -i "color=c=0xc8c8c8:s=240x200:r=25:d=12" \
  -filter_complex "\
[0:v]drawbox=x=0:y=200:w=1280:h=320:color=0x383838:t=fill[belt];\
[1:v]split[plain][marked0];\
[marked0]drawbox=x=140:y=60:w=60:h=40:color=0xff0000:t=fill[marked];\
[belt][plain]overlay=x='32*mod(round(t*25),50)-240':y=260:enable='lt(mod(floor(round(t*25)/50),3),2)'[a];\
[a][marked]overlay=x='32*mod(round(t*25),50)-240':y=260:enable='eq(mod(floor(round(t*25)/50),3),2)',format=yuv420p[v]" \
  -map "[v]" -c:v libx264 -preset veryfast -crf 18 -g 50 -bf 2 -movflags +faststart \
  "$out"
