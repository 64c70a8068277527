#!/usr/bin/env bash
# Prepares the GPU device check here (no GPU needed): builds bins/ifc-gpu-check (no FFmpeg
# linked; release, or IFC_GPU_CHECK_PROFILE=dev as CI does), makes two 1080p30 clips (H.264 High
# with B-frames, HEVC Main; 10 s each), copies the fixtures NVDEC is checked on, writes their
# libavcodec references (scripts/gpu-check-refs.py; only when a clip or the script is newer than
# the manifest) into .gpu-check/ — git-ignored, about 40 MB: carry it to the GPU machine and run
# scripts/gpu-check.sh there — and ends with the check's dry run (manifest, demux, counts).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
profile=${IFC_GPU_CHECK_PROFILE:-release}
dest=.gpu-check
mkdir -p "$dest/bin" "$dest/data/refs"
cargo build --profile "$profile" -p ifc-gpu-check --locked
dir=$profile; [[ $profile == dev ]] && dir=debug
cp "$CARGO_TARGET_DIR/$dir/ifc-gpu-check" "$dest/bin/"
# Symbols stay here: the device tool carries 64 MiB in all (a dev build is ~70 MB unstripped).
strip "$dest/bin/ifc-gpu-check" 2>/dev/null || true
cargo build -p ifc-cli --locked
ifc="$CARGO_TARGET_DIR/debug/ifc"
clip() { # name codec-args...
  local name=$1; shift
  [[ -f $dest/data/$name ]] || ffmpeg -v error -y -f lavfi -i testsrc2=size=1920x1080:rate=30 -t 10 "$@" "$dest/data/$name"
}
clip h264_1080p30.mp4 -c:v libx264 -preset veryfast -profile:v high -bf 3 -b:v 4M -pix_fmt yuv420p
clip hevc_1080p30.mp4 -c:v libx265 -preset ultrafast -b:v 4M -pix_fmt yuv420p -tag:v hvc1 -x265-params log-level=error
for f in h264_main_320x240_25.mp4 h264_high_bpyramid_320x240_25.mp4 h264_crop_318x178_25.mp4 \
  h264_fullrange_bt709_320x240_25.mp4 h264_res_change_320x240_to_256x144_25.h264 hevc_main_320x240_25.mp4 \
  hevc_opengop_cra_320x240_25.mp4 hevc_res_change_320x240_to_256x144_25.h265 hevc_main10_320x240_25.mp4; do
  cmp -s "testdata/$f" "$dest/data/$f" || cp "testdata/$f" "$dest/data/"
done
manifest=$dest/data/manifest.json
stale=$(find "$dest/data" -maxdepth 1 -type f \( -name '*.mp4' -o -name '*.h264' -o -name '*.h265' \) -newer "$manifest" 2>/dev/null | head -1 || true)
if [[ ! -f $manifest || -n $stale || scripts/gpu-check-refs.py -nt $manifest ]]; then
  python3 scripts/gpu-check-refs.py "$ifc" "$dest/data"
fi
"$dest/bin/ifc-gpu-check" --dry-run --data "$dest/data" --out "$dest/dry-run"
du -sh "$dest"
size_mib=$(( $(du -sk "$dest" | cut -f1) / 1024 ))
if (( size_mib > 60 )); then echo "gpu-check-prepare: WARNING: $dest is ${size_mib} MiB; the device tool carries 64 MiB in all" >&2; fi
