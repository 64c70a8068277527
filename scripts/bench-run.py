#!/usr/bin/env python3
"""`ifc run` end to end on the demo clip (scripts/make-demo-clip.sh: 1280x720 H.264, 300
frames) with the demo detector (models/defect-yolov8.onnx, f32 [1,3,640,640]), on CPU:

  (a) embedded            the model in process (tract)
  (b) Triton gRPC         tensors inside each request
  (c) Triton gRPC + shm   tensors in a registered system shared-memory region

Triton is nvidia-pytriton's tritonserver on this host (python backend running the same ONNX
file with onnxruntime; scripts/triton-server.sh). Median of N alternating runs of the whole
process; fps = frames decoded / wall time; decode-to-verdict latency p50/p99 and request
bytes per frame as `ifc run` reports them.

    scripts/bench-run.py [--runs 5] [--ifc target/release/ifc]
"""
import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_NAME = "defect"
SUMMARY = re.compile(r"decoded (\d+) frames .*?inferred (\d+), not inferred (\d+);.*?"
                     r"p50 ([\d.]+) ms, p99 ([\d.]+) ms; ([\d.]+) fps(?:.*?; (\d+) request bytes/frame)?", re.S)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def triton(*args):
    out = subprocess.run(["bash", os.path.join(root, "scripts/triton-server.sh"), *args],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"bench: triton-server.sh {' '.join(args)} failed:\n{out.stderr}")
    return out.stdout.strip()


def run(cmd, cwd):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    wall = time.perf_counter() - start
    m = SUMMARY.search(out.stderr)
    if out.returncode != 0 or not m:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{out.stderr}")
    decoded, inferred, missed = int(m[1]), int(m[2]), int(m[3])
    if missed or inferred != decoded:
        sys.exit(f"bench: {missed} frames not inferred:\n{out.stderr}")
    return {"wall": wall, "frames": decoded, "p50": float(m[4]), "p99": float(m[5]),
            "bytes": int(m[7]) if m[7] else 0}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ifc", default=os.path.join(root, "target/release/ifc"))
    args = ap.parse_args()
    if not os.path.exists(args.ifc):
        sys.exit(f"bench: {args.ifc} missing: cargo build --release -p ifc-cli")
    work = tempfile.mkdtemp(prefix="ifc-bench-run-")
    clip = os.path.join(work, "conveyor.mp4")
    subprocess.run(["bash", os.path.join(root, "scripts/make-demo-clip.sh"), clip], check=True)
    model = os.path.join(root, "models/defect-yolov8.onnx")
    labels = os.path.join(root, "models/defect-yolov8.yaml")
    repo = os.path.join(work, "repo")
    triton("repo", repo, MODEL_NAME, model)
    port = free_port()
    pid = triton("start", repo, str(port))
    try:
        base = [args.ifc, "run", "--input", clip, "--labels", labels]
        via_triton = base + ["--triton", f"127.0.0.1:{port}", "--model-name", MODEL_NAME]
        cmds = {
            "(a) embedded": base + ["--model", model, "--out", "a"],
            "(b) Triton gRPC": via_triton + ["--out", "b"],
            "(c) Triton gRPC + shm": via_triton + ["--shared-memory", "--out", "c"],
        }
        results = {k: [] for k in cmds}
        for i in range(args.runs + 1):  # round 0 warms caches and the server, and is dropped
            for k in (list(cmds) if i % 2 == 0 else list(reversed(cmds))):
                r = run(cmds[k], work)
                if i > 0:
                    results[k].append(r)
    finally:
        triton("stop", pid)
    frames = results["(a) embedded"][0]["frames"]
    print(f"clip: demo conveyor, {frames} frames 1280x720 H.264 → 640x640 f32; detector "
          f"models/defect-yolov8.onnx; {os.cpu_count()} cores; median of {args.runs} alternating runs")
    print(f"  {'backend':<24} {'fps':>7} {'p50 ms':>7} {'p99 ms':>7} {'request bytes/frame':>20}")
    fps = {}
    for k, rs in results.items():
        fps[k] = frames / statistics.median(r["wall"] for r in rs)
        p50 = statistics.median(r["p50"] for r in rs)
        p99 = statistics.median(r["p99"] for r in rs)
        print(f"  {k:<24} {fps[k]:>7.1f} {p50:>7.1f} {p99:>7.1f} {rs[0]['bytes']:>20,}")
    print(f"  Triton shm vs no shm: {fps['(c) Triton gRPC + shm'] / fps['(b) Triton gRPC']:.2f}x fps, "
          f"{results['(b) Triton gRPC'][0]['bytes'] / max(results['(c) Triton gRPC + shm'][0]['bytes'], 1):,.0f}x "
          f"fewer request bytes")
    print(f"  embedded vs Triton shm: {fps['(a) embedded'] / fps['(c) Triton gRPC + shm']:.2f}x fps")


if __name__ == "__main__":
    main()
