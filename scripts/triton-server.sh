#!/usr/bin/env bash
# A local Triton Inference Server for ifc's Triton backend and its tests (CPU, loopback only).
#
#   scripts/triton-server.sh install
#       Once: a venv in .cache/triton-venv with nvidia-pytriton 0.7.0 (it ships tritonserver 2.51
#       and the python backend), onnxruntime, numpy and onnx.
#   scripts/triton-server.sh repo REPO_DIR MODEL_NAME MODEL.onnx [MAX_BATCH]
#       A model repository whose python-backend model runs MODEL.onnx with onnxruntime.
#   scripts/triton-server.sh start REPO_DIR GRPC_PORT [--restricted-shm KEY=VALUE]
#       Starts tritonserver on 127.0.0.1, waits until it is ready, prints its PID.
#       --restricted-shm: the shared-memory RPCs need the header `triton-grpc-protocol-KEY: VALUE`.
#   scripts/triton-server.sh stop PID
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${IFC_TRITON_VENV:-$root/.cache/triton-venv}
py=$venv/bin/python

die() { echo "triton-server: $*" >&2; exit 1; }

install() {
  if [[ -x $py ]] && "$py" -c "import pytriton, onnxruntime, numpy, onnx" 2>/dev/null; then return; fi
  echo "triton-server: installing nvidia-pytriton 0.7.0, onnxruntime, numpy, onnx into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q nvidia-pytriton==0.7.0 onnxruntime "numpy<2" onnx
}

server_dir() { "$py" -c "import pytriton, os; print(os.path.join(os.path.dirname(pytriton.__file__), 'tritonserver'))"; }

# The python backend runs each model in a stub process built for one Python version (the wheel
# ships one per version); the backend looks for it beside libtriton_python.so. Our backend
# directory holds the backend and the stub for our Python.
backend_dir() {
  local dir=$1 version out=$venv/triton-backends
  version=$("$py" -c "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')")
  [[ -f $dir/python_backend_stubs/$version/triton_python_backend_stub ]] || die "no python backend stub for Python $version"
  if [[ ! -x $out/python/triton_python_backend_stub ]]; then
    mkdir -p "$out/python"
    cp "$dir/backends/python/libtriton_python.so" "$dir/backends/python/triton_python_backend_utils.py" "$out/python/"
    cp "$dir/python_backend_stubs/$version/triton_python_backend_stub" "$out/python/"
  fi
  echo "$out"
}

repo() {
  local repo_dir=$1 name=$2 onnx=$3 max_batch=${4:-8}
  install
  mkdir -p "$repo_dir/$name/1"
  cp "$onnx" "$repo_dir/$name/1/model.onnx"
  # The stub embeds Python in isolated mode: PYTHONPATH is ignored, and sys.path is the base
  # interpreter's own, then the model's directories. The model's imports (numpy 1.x, which the
  # stub's C++ side was built against, and onnxruntime) come from our venv, linked in here.
  # (A numpy 2 found first makes every output come back empty.)
  local site entry
  site=$("$py" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  for entry in "$site"/*; do ln -sfn "$entry" "$repo_dir/$name/1/$(basename "$entry")"; done
  # config.pbtxt from the ONNX graph (auto-complete is off: the config is the contract).
  "$py" - "$onnx" "$name" "$max_batch" > "$repo_dir/$name/config.pbtxt" <<'PY'
import sys, onnx
from onnx import TensorProto
path, name, max_batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
types = {TensorProto.FLOAT: "TYPE_FP32", TensorProto.FLOAT16: "TYPE_FP16", TensorProto.UINT8: "TYPE_UINT8",
         TensorProto.INT8: "TYPE_INT8", TensorProto.INT32: "TYPE_INT32", TensorProto.INT64: "TYPE_INT64",
         TensorProto.BOOL: "TYPE_BOOL"}
graph = onnx.load(path).graph
init = {i.name for i in graph.initializer}
def tensor(v):
    t = v.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
    if max_batch > 0:
        dims = dims[1:]
    return '  { name: "%s" data_type: %s dims: [ %s ] }' % (v.name, types[t.elem_type], ", ".join(map(str, dims)))
print('name: "%s"\nbackend: "python"\nmax_batch_size: %d' % (name, max_batch))
print("input [\n%s\n]" % ",\n".join(tensor(v) for v in graph.input if v.name not in init))
print("output [\n%s\n]" % ",\n".join(tensor(v) for v in graph.output))
print('instance_group [ { kind: KIND_CPU count: 1 } ]')
PY
  cat > "$repo_dir/$name/1/model.py" <<'PY'
# Runs model.onnx beside this file with onnxruntime (CPU), one request at a time.
import json
import os

import onnxruntime
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        here = os.path.join(args["model_repository"], args["model_version"])
        self.session = onnxruntime.InferenceSession(os.path.join(here, "model.onnx"),
                                                    providers=["CPUExecutionProvider"])
        config = json.loads(args["model_config"])
        self.inputs = [i["name"] for i in config["input"]]
        self.outputs = [o["name"] for o in config["output"]]

    def execute(self, requests):
        responses = []
        for request in requests:
            feeds = {n: pb_utils.get_input_tensor_by_name(request, n).as_numpy() for n in self.inputs}
            results = self.session.run(self.outputs, feeds)
            responses.append(pb_utils.InferenceResponse(
                [pb_utils.Tensor(n, r) for n, r in zip(self.outputs, results)]))
        return responses
PY
}

start() {
  local repo_dir=$1 port=$2; shift 2
  local extra=()
  while (($#)); do
    case $1 in
      --restricted-shm) extra+=("--grpc-restricted-protocol=shared-memory:$2"); shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  install
  local dir backends libdir bundled log
  dir=$(server_dir)
  backends=$(backend_dir "$dir")
  # The stub links libpython3.X by soname: the system's when it has one (its site-packages do
  # not shadow the venv's numpy), else the venv interpreter's own.
  libdir=$("$py" -c "import sysconfig; print(sysconfig.get_config_var('LIBDIR'))")
  if ldconfig -p | grep -q "$("$py" -c "import sysconfig; print(sysconfig.get_config_var('INSTSONAME'))")"; then libdir=""; fi
  log=$repo_dir/tritonserver-$port.log
  # The copied stub no longer finds the wheel's bundled libraries through its RPATH.
  bundled=$(cd "$dir/../.." && pwd)/nvidia_pytriton.libs
  LD_LIBRARY_PATH="$bundled${libdir:+:$libdir}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    setsid "$dir/bin/tritonserver" --model-repository="$repo_dir" --backend-directory="$backends" \
      --grpc-address=127.0.0.1 --grpc-port="$port" --allow-http=false --allow-metrics=false \
      --disable-auto-complete-config --strict-readiness=true --exit-on-error=true ${IFC_TRITON_LOG_VERBOSE:+--log-verbose=1} \
      "${extra[@]}" > "$log" 2>&1 < /dev/null &
  local pid=$!
  # Ready when the log says the gRPC service is up and every model loaded.
  for _ in $(seq 1 600); do
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$log" >&2; die "tritonserver exited while starting (log: $log)"; }
    if grep -q "Started GRPCInferenceService" "$log"; then echo "$pid"; return; fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  tail -n 30 "$log" >&2
  die "tritonserver not ready after 60 s (log: $log)"
}

stop() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

case ${1:-} in
  install) install ;;
  repo) (($# >= 4)) || die "usage: repo REPO_DIR MODEL_NAME MODEL.onnx [MAX_BATCH]"; repo "${@:2}" ;;
  start) (($# >= 3)) || die "usage: start REPO_DIR GRPC_PORT [--restricted-shm KEY=VALUE]"; start "${@:2}" ;;
  stop) (($# == 2)) || die "usage: stop PID"; stop "$2" ;;
  *) die "usage: $0 install | repo ... | start ... | stop PID" ;;
esac
