#!/usr/bin/env bash
# The GPU device check, in one call on a machine with an NVIDIA GPU (e.g. the device tool's
# H200: CUDA 13 and PyTorch, no Rust, no registry). Needs .gpu-check/ from
# scripts/gpu-check-prepare.sh (carry it). Writes machine.txt and gpu-check.log under $OUT.
#
#   scripts/gpu-check.sh [--streams 1,7,14,28] [--repeats 2]
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-$PWD/gpu-check-out}
mkdir -p "$out"
[[ -x .gpu-check/bin/ifc-gpu-check ]] || { echo "gpu-check: .gpu-check/ is missing: run scripts/gpu-check-prepare.sh here and carry it" >&2; exit 1; }
{
  date -u
  nvidia-smi 2>&1 || echo "nvidia-smi: not available"
  echo "--- libraries the loader knows"
  ldconfig -p | grep -E 'libcuda\.so|libnvcuvid|libnvrtc' || echo "(none of libcuda, libnvcuvid, libnvrtc)"
} >"$out/machine.txt" 2>&1
# NVRTC: the system's, else the one in Python's nvidia-cuda-nvrtc wheel (PyTorch brings it).
if ! ldconfig -p | grep -q libnvrtc; then
  for site in $(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null); do
    lib=$(find "$site/nvidia" -name 'libnvrtc.so*' 2>/dev/null | head -1)
    if [[ -n $lib ]]; then export LD_LIBRARY_PATH=$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}; echo "NVRTC from $lib" >>"$out/machine.txt"; break; fi
  done
fi
.gpu-check/bin/ifc-gpu-check --data .gpu-check/data --out "$out" "$@"
rc=$?
echo "gpu-check: exit $rc (0 pass, 1 a check failed, 2 no GPU); log in $out/gpu-check.log" >&2
exit $rc
