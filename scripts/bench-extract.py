#!/usr/bin/env python3
"""Side-by-side: decode + 640x640 letterboxed f32 NCHW preprocessing of a 1080p30 8 Mbit/s
H.264 High clip with B-frames, whole process, median of N alternating runs:

  (a) ffmpeg -i CLIP -f null -              decode only: the floor
  (b) ifc extract --format none             decode + preprocess
  (c) PyAV + OpenCV + numpy                 the notebook way
  (d) OpenCV alone                          cv2.VideoCapture + cv2.dnn.blobFromImage

once single-threaded and once with default threads (2 on this machine). Python peers install
from PyPI into a throwaway venv (bench-data/venv).

    scripts/bench-extract.py [--runs 5] [--seconds 10]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
venv = os.path.join(root, "bench-data", "venv")


def make_clip(path, seconds):
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    print(f"bench: encoding {path}", file=sys.stderr)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30",
                    "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-bf", "3",
                    "-b:v", "8M", "-maxrate", "8M", "-bufsize", "16M", "-g", "60", "-pix_fmt", "yuv420p",
                    path + ".tmp.mp4"], check=True)
    os.rename(path + ".tmp.mp4", path)


def python_peers():
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        print("bench: creating a venv with av, opencv-python-headless, numpy", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([py, "-m", "pip", "install", "-q", "av", "opencv-python-headless", "numpy"], check=True)
    return py


def timed(cmd, env=None):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{out.stderr}")
    return wall, out.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=10, help="clip length")
    ap.add_argument("--ifc", default=os.path.join(root, "target/release/ifc"))
    args = ap.parse_args()
    clip = os.path.join(root, f"bench-data/clip_1080p30_8M_{args.seconds}s.mp4")
    make_clip(clip, args.seconds)
    frames = int(subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0", "-show_entries",
                                 "stream=nb_read_packets", "-of", "csv=p=0", clip],
                                capture_output=True, text=True, check=True).stdout.strip())
    py = python_peers()
    peers = os.path.join(root, "scripts", "bench_peers.py")
    null_dir = os.path.join(root, "bench-data", "extract-none")

    def tools(threads):
        t = str(threads)
        # Pin every tool to as many cores as it is given threads, so "1 thread" means one
        # core for all of them, whatever their libraries do with thread options.
        pin = ["taskset", "-c", ",".join(str(c) for c in range(threads))]
        return {k: pin + v for k, v in {
            "(a) ffmpeg decode only": ["ffmpeg", "-nostdin", "-v", "error", "-threads", t, "-i", clip, "-f", "null", "-"],
            "(b) ifc extract": [args.ifc, "extract", clip, null_dir, "--format", "none", "--size", "640x640",
                                "--letterbox", "--threads", str(max(threads, 1)), "--quiet"],
            "(c) PyAV+OpenCV+numpy": [py, peers, "pyav", clip, t],
            "(d) OpenCV alone": [py, peers, "opencv", clip, t],
        }.items()}

    print(f"clip: {os.path.relpath(clip, root)}, {frames} frames 1920x1080 H.264 High, B-frames; "
          f"640x640 letterboxed f32 NCHW; median of {args.runs} alternating runs (whole process)")
    for label, threads in (("1 thread", 1), ("2 threads", 2)):
        cmds = tools(threads)
        times = {k: [] for k in cmds}
        for i in range(args.runs + 1):  # round 0 warms caches and is dropped
            order = list(cmds) if i % 2 == 0 else list(reversed(cmds))
            for k in order:
                wall, _ = timed(cmds[k])
                if i > 0:
                    times[k].append(wall)
        fps = {k: frames / statistics.median(v) for k, v in times.items()}
        print(f"\n{label}:")
        print(f"  {'tool':<26} {'fps':>8} {'vs floor':>9}")
        for k, f in fps.items():
            print(f"  {k:<26} {f:>8.1f} {f / fps['(a) ffmpeg decode only']:>8.2f}x")
        best_peer = max(fps["(c) PyAV+OpenCV+numpy"], fps["(d) OpenCV alone"])
        print(f"  ifc vs fastest Python peer: {fps['(b) ifc extract'] / best_peer:.2f}x")
        if threads == 1:
            single = fps["(b) ifc extract"]
        else:
            print(f"  ifc 2 threads vs 1 thread: {fps['(b) ifc extract'] / single:.2f}x")


if __name__ == "__main__":
    main()
