#!/usr/bin/env bash
# The GPU device check, in one call on a machine with an NVIDIA GPU (e.g. the device tool's
# H100/H200: CUDA 13 and PyTorch, no Rust, no registry). Needs .gpu-check/ from
# scripts/gpu-check-prepare.sh (carry it). Writes under $OUT: machine.txt (what the machine and
# its loader offer), gpu-check.log (progress and the table), trace.log (ifc's tracing,
# RUST_LOG, default ifc=debug), torch-check.log (the PyTorch cross-check, when torch imports).
#
#   scripts/gpu-check.sh [--streams 1,7,14,28] [--repeats 2] [--timeout SECONDS]
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-$PWD/gpu-check-out}
mkdir -p "$out"
limit=420
if [[ ${1:-} == --timeout ]]; then limit=$2; shift 2; fi
[[ -x .gpu-check/bin/ifc-gpu-check ]] || { echo "gpu-check: .gpu-check/ is missing: run scripts/gpu-check-prepare.sh here and carry it" >&2; exit 1; }

# Where a library is: the loader's cache (read whole into a variable: `ldconfig -p | grep -q`
# can die of SIGPIPE under pipefail), then the driver's usual mounts (containers often mount the
# driver's libraries outside the cache).
loader_cache=$(ldconfig -p 2>/dev/null || true)
find_lib() { # soname-prefix
  local hits
  hits=$(grep -F "$1" <<<"$loader_cache" | sed 's/.*=> //' || true)
  if [[ -z $hits ]]; then
    hits=$(find /usr/lib /usr/lib64 /usr/local/nvidia /usr/local/cuda /run/nvidia /lib /lib64 \
      -maxdepth 4 -name "$1*" 2>/dev/null | head -5 || true)
  fi
  echo "${hits:-NOT FOUND}"
}
{
  date -u
  echo "kernel: $(uname -srm)"
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  echo "NVIDIA_DRIVER_CAPABILITIES=${NVIDIA_DRIVER_CAPABILITIES:-(unset: containers then get compute,utility only, and no libnvcuvid)}"
  echo "NVIDIA_VISIBLE_DEVICES=${NVIDIA_VISIBLE_DEVICES:-}"
  nvidia-smi 2>&1 || echo "nvidia-smi: not available"
  for lib in libcuda.so.1 libnvcuvid.so.1 libnvrtc; do echo "--- $lib"; find_lib "$lib"; done
} >"$out/machine.txt" 2>&1
# NVRTC: the system's, else the one in Python's nvidia-cuda-nvrtc wheel (PyTorch brings it).
if ! grep -qF libnvrtc <<<"$loader_cache"; then
  for site in $(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null); do
    lib=$(find "$site/nvidia" -name 'libnvrtc.so*' 2>/dev/null | head -1 || true)
    if [[ -n $lib ]]; then export LD_LIBRARY_PATH=$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}; echo "NVRTC from $lib" >>"$out/machine.txt"; break; fi
  done
fi
export RUST_LOG=${RUST_LOG:-ifc=debug}
# A hang (a driver call that never returns) still leaves the log and the table so far; the
# second signal 20 s later is for a process that ignores the first.
timeout -k 20 "$limit" .gpu-check/bin/ifc-gpu-check --data .gpu-check/data --out "$out" "$@"
rc=$?
if [[ $rc == 124 || $rc == 137 ]]; then echo "gpu-check: TIMED OUT after ${limit}s (see $out/trace.log for the last call)" | tee -a "$out/gpu-check.log" >&2; fi
# The independent cross-check with the device's own PyTorch, when the Rust check left frames.
if [[ -d $out/torch-frames ]] && python3 -c 'import torch' 2>/dev/null; then
  timeout 120 python3 scripts/gpu-check-torch.py "$out/torch-frames" >"$out/torch-check.log" 2>&1
  trc=$?
  echo "gpu-check: PyTorch cross-check exit $trc (see $out/torch-check.log)" >&2
  [[ $rc == 0 && $trc != 0 ]] && rc=1
fi
echo "gpu-check: exit $rc (0 pass, 1 a check failed, 2 no GPU, 124 timed out); logs in $out" >&2
exit $rc
