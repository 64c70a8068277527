#!/usr/bin/env bash
# Generates the RTP fixtures in testdata/rtp/: real packetizer output (GStreamer 1.22's
# rtph264pay / rtph265pay) of the committed test streams, one file per stream, each packet
# framed as in RFC 4571 (a 2-byte big-endian length, then the packet; `rtpstreampay`).
# The MP4 forms are the input so that packets carry real presentation timestamps (B pictures
# step back); h264parse/h265parse turn the samples into Annex B and, with the payloader's
# config-interval=-1, parameter sets go in front of every IDR. SSRC, first sequence number
# and first timestamp are fixed so that the output is reproducible.
# Needs gstreamer1.0-tools, -plugins-base, -plugins-good (Debian 12). Outputs are committed.
#   scripts/make-rtp-fixtures.sh [OUT_DIR]      (default: testdata/rtp)
set -euo pipefail
in=testdata
out=${1:-testdata/rtp}
mkdir -p "$out"
gst() { gst-launch-1.0 -q "$@"; }
fixed() { # fixed SSRC SEQ TS: the payloader properties that make the output reproducible
  echo "pt=96 ssrc=$1 seqnum-offset=$2 timestamp-offset=$3"
}

# H.264, MTU 400: most NAL units split into FU-A; SPS and PPS as single NAL unit packets.
# shellcheck disable=SC2046
gst filesrc location=$in/h264_main_320x240_25.mp4 ! qtdemux ! h264parse \
  ! rtph264pay mtu=400 config-interval=-1 aggregate-mode=none $(fixed 0x11110001 1000 0) \
  ! rtpstreampay ! filesink location=$out/h264_main_320x240_25.fu-a_mtu400.rtp

# H.264 with four slices per picture, max-stap: every NAL unit of a timestamp that fits goes
# into STAP-A packets (slices included); large slices still become FU-A.
# shellcheck disable=SC2046
gst filesrc location=$in/h264_high_slices4_320x240_25.mp4 ! qtdemux ! h264parse \
  ! rtph264pay mtu=1400 config-interval=-1 aggregate-mode=max-stap $(fixed 0x11110002 20000 90000) \
  ! rtpstreampay ! filesink location=$out/h264_high_slices4_320x240_25.stap-a.rtp

# H.264 B-pyramid, first 60 pictures (two closed 30-picture GOPs; `identity eos-after=N`
# passes N-1 buffers), zero-latency aggregation (SPS+PPS in a STAP-A), MTU 600; sequence numbers and timestamps start just before their
# wrap, so the packetizer's own output wraps both.
# shellcheck disable=SC2046
gst filesrc location=$in/h264_high_bpyramid_320x240_25.mp4 ! qtdemux ! identity eos-after=61 ! h264parse \
  ! rtph264pay mtu=600 config-interval=-1 aggregate-mode=zero-latency $(fixed 0x11110003 65500 4294900000) \
  ! rtpstreampay ! filesink location=$out/h264_high_bpyramid_320x240_25.first60_wrap.rtp

# H.265, MTU 400: slices split into FUs; VPS, SPS, PPS as single NAL unit packets.
# shellcheck disable=SC2046
gst filesrc location=$in/hevc_main_320x240_25.mp4 ! qtdemux ! h265parse \
  ! rtph265pay mtu=400 config-interval=-1 aggregate-mode=none $(fixed 0x22220001 3000 0) \
  ! rtpstreampay ! filesink location=$out/hevc_main_320x240_25.fu_mtu400.rtp

# H.265 open GOP (CRA), h265parse puts VPS/SPS/PPS before every IRAP, aggregate-mode=max
# bundles them into APs; large pictures become FUs, small ones single NAL unit packets.
# shellcheck disable=SC2046
gst filesrc location=$in/hevc_opengop_cra_320x240_25.mp4 ! qtdemux ! h265parse config-interval=-1 \
  ! rtph265pay mtu=1400 aggregate-mode=max $(fixed 0x22220002 40000 123456) \
  ! rtpstreampay ! filesink location=$out/hevc_opengop_cra_320x240_25.ap.rtp

ls -l "$out"/*.rtp
