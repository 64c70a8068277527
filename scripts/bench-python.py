#!/usr/bin/env python3
"""Side-by-side from Python: decode + 640x640 letterboxed f32 NCHW preprocessing of the same
1080p30 H.264 High clip as scripts/bench-extract.py, single-threaded (each process pinned to
one core), median of N alternating runs (whole process), against the notebook peers:

  ifc (Python)       ifc.VideoDecoder + ifc.preprocess, this package
  ifc extract        the CLI, --threads 1 --format none (the same work without Python)
  PyAV+OpenCV+numpy  frame.to_ndarray("rgb24") + cv2.resize/copyMakeBorder + numpy
  decord+OpenCV      decord.VideoReader + the same letterbox
  torchcodec+OpenCV  torchcodec.decoders.VideoDecoder (CPU) + the same letterbox

ifc, av and decord are imported from this Python (install them first: `pip install ./py av
decord`); torchcodec comes from the venv given by --torch-python, when given.

    scripts/bench-python.py [--runs 5] [--seconds 10] [--torch-python /root/.cache/ifc/torch-venv/bin/python]
"""
import argparse
import importlib.util
import os
import statistics
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("bench_extract", os.path.join(root, "scripts", "bench-extract.py"))
bench_extract = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_extract)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=10, help="clip length")
    ap.add_argument("--ifc", default=os.path.join(root, "target/release/ifc"), help="the ifc CLI (release build)")
    ap.add_argument("--torch-python", help="a Python with torch and torchcodec (left out when not given)")
    args = ap.parse_args()
    clip = os.path.join(root, f"bench-data/clip_1080p30_8M_{args.seconds}s.mp4")
    bench_extract.make_clip(clip, args.seconds)
    frames = int(subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0", "-show_entries",
                                 "stream=nb_read_packets", "-of", "csv=p=0", clip],
                                capture_output=True, text=True, check=True).stdout.strip())
    peers = os.path.join(root, "scripts", "bench_peers.py")
    null_dir = os.path.join(root, "bench-data", "extract-none")
    pin = ["taskset", "-c", "0"]
    py = sys.executable
    cmds = {
        "ifc (Python)": [py, peers, "ifc", clip, "1"],
        "ifc extract": [args.ifc, "extract", clip, null_dir, "--format", "none", "--size", "640x640", "--letterbox",
                        "--threads", "1", "--quiet"],
        "PyAV+OpenCV+numpy": [py, peers, "pyav", clip, "1"],
        "decord+OpenCV": [py, peers, "decord", clip, "1"],
    }
    if args.torch_python:
        cmds["torchcodec+OpenCV"] = [args.torch_python, peers, "torchcodec", clip, "1"]
    cmds = {k: pin + v for k, v in cmds.items()}
    for k, cmd in cmds.items():  # each tool must process every frame
        _, out = bench_extract.timed(cmd)
        if k != "ifc extract" and int(out.strip()) != frames:
            sys.exit(f"bench: {k} processed {out.strip()} frames, the clip has {frames}")
    times = {k: [] for k in cmds}
    for i in range(args.runs):
        order = list(cmds) if i % 2 == 0 else list(reversed(cmds))
        for k in order:
            wall, _ = bench_extract.timed(cmds[k])
            times[k].append(wall)
    fps = {k: frames / statistics.median(v) for k, v in times.items()}
    print(f"clip: {os.path.relpath(clip, root)}, {frames} frames 1920x1080 H.264 High, B-frames; 640x640 letterboxed "
          f"f32 NCHW; 1 thread (pinned to one core); median of {args.runs} alternating runs (whole process)")
    print(f"  {'tool':<20} {'fps':>8} {'ifc (Python) vs it':>20}")
    for k, f in fps.items():
        print(f"  {k:<20} {f:>8.1f} {fps['ifc (Python)'] / f:>19.2f}x")
    peers_fps = {k: f for k, f in fps.items() if k not in ("ifc (Python)", "ifc extract")}
    best = max(peers_fps, key=peers_fps.get)
    print(f"ifc (Python) vs fastest peer ({best}): {fps['ifc (Python)'] / peers_fps[best]:.2f}x (target >= 1.2x)")
    print(f"ifc (Python) vs ifc extract: {fps['ifc (Python)'] / fps['ifc extract']:.2f}x (target >= 0.90x)")
    if not args.torch_python:
        print("torchcodec: not measured (no --torch-python given)")


if __name__ == "__main__":
    main()
