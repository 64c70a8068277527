#!/usr/bin/env bash
# Generates the test streams in testdata/ with Debian's ffmpeg (libx264, libx265).
# Each stream is a few seconds at a small size so the suite stays fast; the purpose of each
# is listed in testdata/README.md. Outputs are committed; run this again only to change them.
#   scripts/make-fixtures.sh [OUT_DIR]      (default: testdata)
set -euo pipefail
out=${1:-testdata}
mkdir -p "$out"
ff() { ffmpeg -nostdin -v error -y "$@"; }
src() { # src SIZE RATE SECONDS
  echo "-f lavfi -i testsrc2=size=$1:rate=$2,format=yuv420p -t $3"
}
# Encodes to MP4 (proper timestamps, composition offsets for B-frames), then extracts the
# raw Annex B stream from it, so both forms hold the same access units.
enc() { # enc NAME CODEC_ARGS...  (source args come first in $SRC)
  local name=$1; shift
  local raw_ext=h264 bsf=h264_mp4toannexb fmt=h264
  if [[ $name == hevc* ]]; then raw_ext=h265 bsf=hevc_mp4toannexb fmt=hevc; fi
  # shellcheck disable=SC2086
  ff $SRC "$@" -movflags +faststart "$out/$name.mp4"
  ff -i "$out/$name.mp4" -c copy -bsf:v "$bsf${EXTRA_BSF:-}" -f "$fmt" "$out/$name.$raw_ext"
}
x264() { # x264 NAME SIZE RATE SECONDS X264_ARGS...
  local name=$1; SRC=$(src "$2" "$3" "$4"); shift 4
  enc "$name" -c:v libx264 -threads 1 "$@"
}
x265() { # x265 NAME SIZE RATE SECONDS PIXFMT X265_PARAMS [ARGS...]
  local name=$1 params=$6; SRC="-f lavfi -i testsrc2=size=$2:rate=$3,format=$5 -t $4"; shift 6
  enc "$name" -c:v libx265 -preset fast -tag:v hvc1 -x265-params "log-level=error:pools=1:frame-threads=1:$params" "$@"
}

# H.264 -----------------------------------------------------------------------------------
x264 h264_cbp_320x240_25    320x240 25 2 -profile:v baseline -g 25
x264 h264_main_320x240_25   320x240 25 2 -profile:v main -bf 2 -g 25
x264 h264_high_bpyramid_320x240_25 320x240 25 3 -profile:v high -bf 3 -b_strategy 2 -x264-params b-pyramid=normal:keyint=30:min-keyint=30:scenecut=0
x264 h264_high_slices4_320x240_25  320x240 25 2 -profile:v high -bf 2 -x264-params slices=4:keyint=25
x264 h264_crop_318x178_25   318x178 25 2 -profile:v high -bf 2 -g 25
x264 h264_high_2997_320x240 320x240 30000/1001 2 -profile:v high -bf 2 -g 30
x264 h264_aud_320x240_25    320x240 25 2 -profile:v high -bf 2 -g 25 -x264-params aud=1
# Without SEI: x264 always writes its version SEI; strip every SEI NAL unit (type 6).
EXTRA_BSF=",filter_units=remove_types=6" x264 h264_nosei_320x240_25 320x240 25 2 -profile:v high -bf 2 -g 25 -bsf:v filter_units=remove_types=6
# Full range and a BT.709 colour description in the VUI.
x264 h264_fullrange_bt709_320x240_25 320x240 25 2 -vf scale=out_range=full -profile:v high -g 25 \
  -color_range pc -colorspace bt709 -color_primaries bt709 -color_trc bt709

# H.265 -----------------------------------------------------------------------------------
x265 hevc_main_320x240_25   320x240 25 2 yuv420p "bframes=3:keyint=25:min-keyint=25:scenecut=0:open-gop=0" -profile:v main
x265 hevc_main10_320x240_25 320x240 25 2 yuv420p10le "bframes=3:keyint=25:min-keyint=25:scenecut=0:open-gop=0" -profile:v main10
# Open GOP: later random-access points are CRA pictures with leading (RASL) pictures.
x265 hevc_opengop_cra_320x240_25 320x240 25 3 yuv420p "bframes=4:keyint=24:min-keyint=24:scenecut=0:open-gop=1:radl=0" -profile:v main

# A resolution change mid-stream: new SPS/PPS at an IDR (raw only: MP4 needs one size per entry).
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ff $(src 320x240 25 1) -c:v libx264 -threads 1 -profile:v high -bf 2 -g 25 -f h264 "$tmp/a.h264"
ff $(src 256x144 25 1) -c:v libx264 -threads 1 -profile:v high -bf 2 -g 25 -f h264 "$tmp/b.h264"
cat "$tmp/a.h264" "$tmp/b.h264" > "$out/h264_res_change_320x240_to_256x144_25.h264"
ff $(src 320x240 25 1) -c:v libx265 -preset fast -x265-params "log-level=error:pools=1:frame-threads=1:bframes=2:keyint=25" -f hevc "$tmp/a.h265"
ff $(src 256x144 25 1) -c:v libx265 -preset fast -x265-params "log-level=error:pools=1:frame-threads=1:bframes=2:keyint=25" -f hevc "$tmp/b.h265"
cat "$tmp/a.h265" "$tmp/b.h265" > "$out/hevc_res_change_320x240_to_256x144_25.h265"

# Fragmented MP4 input, as other recorders write it.
ff -i "$out/h264_main_320x240_25.mp4" -c copy -movflags +frag_keyframe+empty_moov+default_base_moof "$out/h264_main_320x240_25_fragmented.mp4"
echo "fixtures in $out: $(du -sh "$out" | cut -f1)"
