#!/usr/bin/env bash
# A local RTSP server for libifc's RTSP client tests (libifc/tests/rtsp_client.rs).
#
#   scripts/rtsp-test-server.sh PORT MOUNT 'LAUNCH' [basic|digest|both:USER:PASS]
#
# Serves the GStreamer launch description LAUNCH (one bin whose payloaders are named pay0,
# pay1, ...) at rtsp://127.0.0.1:PORT/MOUNT, optionally behind Basic and/or Digest auth.
# PORT 0 picks a free port; prints "ready PORT" once listening and runs until killed. E.g.
#
#   scripts/rtsp-test-server.sh 8554 /test \
#     '( filesrc location=testdata/h264_main_320x240_25.h264 ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )'
#   ffprobe rtsp://127.0.0.1:8554/test
#
# The server is scripts/rtsp-test-server.c, compiled with gcc into ${IFC_CACHE:-~/.cache/ifc}/bin
# on first use and again whenever the .c is newer. Needs gcc, pkg-config and (Debian)
# libgstrtspserver-1.0-dev, gstreamer1.0-plugins-good (rtph264pay, rtph265pay) and
# gstreamer1.0-plugins-bad (h264parse, h265parse).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/scripts/rtsp-test-server.c
bin_dir=${IFC_CACHE:-$HOME/.cache/ifc}/bin
bin=$bin_dir/rtsp-test-server

die() { echo "rtsp-test-server: $*" >&2; exit 1; }

if [[ ! -x $bin || $src -nt $bin ]]; then
  command -v gcc >/dev/null || die "gcc not found"
  pkg-config --exists gstreamer-rtsp-server-1.0 ||
    die "gst-rtsp-server not found (Debian: apt-get install libgstrtspserver-1.0-dev gstreamer1.0-plugins-good gstreamer1.0-plugins-bad)"
  mkdir -p "$bin_dir"
  # Tests start servers in parallel: build to a private name, then rename (atomic).
  tmp=$bin.$$
  # shellcheck disable=SC2046  # pkg-config prints several flags
  gcc -O1 -Wall -Wextra -o "$tmp" "$src" $(pkg-config --cflags --libs gstreamer-rtsp-server-1.0 gstreamer-1.0)
  mv -f "$tmp" "$bin"
fi
exec "$bin" "$@"
