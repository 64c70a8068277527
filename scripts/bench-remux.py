#!/usr/bin/env python3
"""Side-by-side: `ifc remux` against ffmpeg's copy remux to fMP4 HLS on the same clip.

Makes (once) a 60 s 1080p30 8 Mbit/s H.264 High clip with B-frames in bench-data/, then runs
both tools alternately (whole process, output to a fresh directory each run), N times each,
and prints the median wall and CPU (user + system) time and the ratios.

    scripts/bench-remux.py [--runs 7] [--ifc target/release/ifc]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_clip(path):
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    print(f"bench: encoding {path} (60 s 1080p30, 8 Mbit/s, x264 High, B-frames); takes a few minutes", file=sys.stderr)
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30",
         "-t", "60", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-bf", "3",
         "-b:v", "8M", "-maxrate", "8M", "-bufsize", "16M", "-g", "60", "-pix_fmt", "yuv420p", path + ".tmp.mp4"],
        check=True)
    os.rename(path + ".tmp.mp4", path)


def timed(cmd):
    """(wall seconds, user+system CPU seconds) of one whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: {cmd[0]} failed: {err}")
    return wall, usage.ru_utime + usage.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--ifc", default=os.path.join(root, "target/release/ifc"))
    ap.add_argument("--clip", default=os.path.join(root, "bench-data/clip_1080p30_8M_60s.mp4"))
    args = ap.parse_args()
    if not os.path.exists(args.ifc):
        sys.exit(f"bench: {args.ifc} missing: cargo build --release -p ifc-cli")
    make_clip(args.clip)
    work = tempfile.mkdtemp(prefix="ifc-bench-")
    results = {"ifc": [], "ffmpeg": []}
    try:
        for i in range(args.runs + 1):  # the first round warms the page cache and is dropped
            for tool in ("ifc", "ffmpeg") if i % 2 == 0 else ("ffmpeg", "ifc"):
                out = os.path.join(work, f"{tool}{i}")
                os.makedirs(out)
                if tool == "ifc":
                    cmd = [args.ifc, "remux", args.clip, out, "--segment-ms", "2000", "--quiet"]
                else:
                    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", args.clip, "-c", "copy", "-f", "hls",
                           "-hls_segment_type", "fmp4", "-hls_time", "2", "-hls_playlist_type", "vod",
                           os.path.join(out, "index.m3u8")]
                r = timed(cmd)
                if i > 0:
                    results[tool].append(r)
                shutil.rmtree(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {t: (statistics.median(w for w, _ in rs), statistics.median(c for _, c in rs)) for t, rs in results.items()}
    size_mb = os.path.getsize(args.clip) / 1e6
    print(f"clip: {os.path.relpath(args.clip, root)} ({size_mb:.0f} MB), median of {args.runs} alternating runs")
    print(f"{'tool':<8} {'wall ms':>9} {'cpu ms':>9}")
    for t in ("ffmpeg", "ifc"):
        print(f"{t:<8} {med[t][0] * 1e3:>9.1f} {med[t][1] * 1e3:>9.1f}")
    print(f"ifc is {med['ffmpeg'][0] / med['ifc'][0]:.2f}x faster in wall time, "
          f"{med['ffmpeg'][1] / max(med['ifc'][1], 1e-9):.2f}x in CPU time")


if __name__ == "__main__":
    main()
