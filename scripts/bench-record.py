#!/usr/bin/env python3
"""Recording N live cameras on this machine: `ifc serve` against ffmpeg doing the same job.

Each camera is the same 1080p H.264 clip at about 4 Mbit/s (made once with x264), published in
real time over RTSP/TCP by `ifc publish --streams N --loop` (the load generator; its own CPU is
not counted). Recorded:

  ifc     one `ifc serve` with N push cameras, each recorded into fMP4 segments (no
          inspection); CPU time of the serve process over the window;
  ffmpeg  one `ffmpeg -rtsp_flags listen -i rtsp://... -c copy -f segment` per stream (what a
          recorder built on ffmpeg does); CPU time of all of them over the same window.

Reported per N: CPU time per stream-second (percent of one core per stream), resident memory
per stream, the ratio ffmpeg / ifc, and whether anything was lost (pictures recorded against
pictures sent, counted by ffprobe over the finished segments). Medians of --runs runs,
alternating ifc and ffmpeg.

    scripts/bench-record.py [--ifc target/release/ifc] [--streams 1,4,8] [--seconds 20] [--runs 3]

Needs a release build (`cargo build --release -p ifc-cli`) and ffmpeg/ffprobe.
"""
import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "scripts"))
from bench_serve_process import Serve, free_port  # noqa: E402
CAM_USER, CAM_PASSWORD = "bench-cam", "bench-cam-secret"
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except FileNotFoundError:
            pass
    return total / TICKS


def rss_bytes(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except FileNotFoundError:
            pass
    return total


def make_clip(work):
    clip = os.path.join(work, "bench_1080p_4mbit.mp4")
    if not os.path.exists(clip):
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=1920x1080:rate=25", "-t", "10", "-c:v", "libx264", "-preset", "veryfast",
                        "-b:v", "4M", "-maxrate", "4M", "-bufsize", "8M", "-g", "50", "-bf", "0",
                        "-pix_fmt", "yuv420p", clip], check=True)
    return clip


def frames_in(paths):
    total = 0
    for p in paths:
        out = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0", "-show_entries",
                              "stream=nb_read_packets", "-of", "csv=p=0", p], capture_output=True, text=True)
        total += int(out.stdout.strip() or 0)
    return total


def publish(ifc, clip, url, streams, seconds):
    return subprocess.run([ifc, "publish", clip, url, "--streams", str(streams), "--loop", "--duration", str(seconds)],
                          capture_output=True, text=True)


def published_pictures(result):
    # "ifc publish: N stream(s), P pictures, ..."
    for word_before, word in zip(result.stderr.split(), result.stderr.split()[1:]):
        if word.startswith("pictures"):
            return int(word_before)
    sys.exit(f"bench: ifc publish failed:\n{result.stderr}")


def run_ifc(ifc, work, clip, streams, seconds):
    # Cameras first (their ids go in the recording config), then the server that records them.
    setup = Serve(ifc, work)
    ids = [setup.call("POST", "/api/v1/cameras", {"name": f"cam{n}", "kind": "push", "username": CAM_USER,
                                                   "password": CAM_PASSWORD})["id"] for n in range(1, streams + 1)]
    setup.stop()
    config = os.path.join(setup.data, "bench.yaml")
    with open(config, "w") as f:
        f.write("recording:\n  cameras:\n")
        for camera_id in ids:
            f.write(f"    - camera_id: {camera_id}\n      segment_s: 2\n")
    serve = Serve(ifc, work, config=config, data=setup.data)
    url = f"rtsp://{CAM_USER}:{CAM_PASSWORD}@127.0.0.1:{serve.rtsp_port}/cameras/cam{{n}}"
    sampler = Sampler([serve.proc.pid])
    result = publish(ifc, clip, url, streams, seconds)
    cpu, rss = sampler.stop()
    time.sleep(3)  # the last segments close when the publishers leave
    serve.stop()
    recorded = frames_in(glob.glob(os.path.join(serve.data, "recordings", "*", "*.m4s")))
    return cpu, rss, published_pictures(result), recorded


def run_ffmpeg(ifc, work, clip, streams, seconds):
    out = tempfile.mkdtemp(dir=work)
    base = free_port()
    ports = [base + i for i in range(streams)]
    procs = [subprocess.Popen(["ffmpeg", "-nostdin", "-v", "error", "-rtsp_flags", "listen", "-i",
                               f"rtsp://127.0.0.1:{port}/live", "-c", "copy", "-f", "segment", "-segment_time", "2",
                               "-reset_timestamps", "1", os.path.join(out, f"s{i}_%05d.mp4")])
             for i, port in enumerate(ports)]
    time.sleep(1)
    sampler = Sampler([p.pid for p in procs])
    # One publisher process per port (the URL template numbers paths, not ports).
    results = [None] * streams
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(
        i, publish(ifc, clip, f"rtsp://127.0.0.1:{ports[i]}/live", 1, seconds))) for i in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu, rss = sampler.stop()
    for p in procs:
        p.wait(timeout=30)
    recorded = frames_in(glob.glob(os.path.join(out, "*.mp4")))
    return cpu, rss, sum(published_pictures(r) for r in results), recorded


class Sampler:
    """CPU seconds over the window, and the peak resident memory, of some processes."""

    def __init__(self, pids):
        self.pids, self.peak, self.done = pids, 0, False
        self.cpu0, self.t0 = cpu_seconds(pids), time.monotonic()
        self.thread = threading.Thread(target=self.watch, daemon=True)
        self.thread.start()

    def watch(self):
        while not self.done:
            self.peak = max(self.peak, rss_bytes(self.pids))
            time.sleep(0.5)

    def stop(self):
        cpu = cpu_seconds(self.pids) - self.cpu0
        self.done = True
        self.thread.join()
        self.seconds = time.monotonic() - self.t0
        return cpu / self.seconds, self.peak


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ifc", default=os.path.join(root, "target/release/ifc"))
    ap.add_argument("--streams", default="1,4,8")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ifc-bench-record-")
    clip = make_clip(work)
    print("| streams | ifc: % core / stream | ffmpeg: % core / stream | ffmpeg / ifc | ifc MiB / stream | ffmpeg MiB / stream | lost (ifc, ffmpeg) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for n in [int(s) for s in args.streams.split(",")]:
        rows = {"ifc": [], "ffmpeg": []}
        for _ in range(args.runs):
            for name, run in (("ifc", run_ifc), ("ffmpeg", run_ffmpeg)):
                rows[name].append(run(args.ifc, work, clip, n, args.seconds))
        med = {k: [statistics.median(r[i] for r in v) for i in range(4)] for k, v in rows.items()}
        lost = {k: max(0, int(v[2] - v[3])) for k, v in med.items()}
        ifc_core, ff_core = 100 * med["ifc"][0] / n, 100 * med["ffmpeg"][0] / n
        print(f"| {n} | {ifc_core:.2f} | {ff_core:.2f} | {ff_core / max(ifc_core, 1e-9):.1f}x | "
              f"{med['ifc'][1] / n / 2**20:.1f} | {med['ffmpeg'][1] / n / 2**20:.1f} | {lost['ifc']}, {lost['ffmpeg']} |",
              flush=True)


if __name__ == "__main__":
    main()
