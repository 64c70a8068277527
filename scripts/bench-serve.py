#!/usr/bin/env python3
"""`ifc serve` on this machine, three measurements (results go in the README):

  (1) cameras per core: N RTSP cameras (gst-rtsp-server, pinned to the other core, each serving
      the 1280x720 25 fps demo clip in real time), each inspected with the demo detector at 5
      inferred frames per second; `ifc serve` pinned to one core (taskset). N grows until a
      camera loses ingest: decoded below 97 % of 25 fps, inferred below 97 % of 5 fps, or any
      frame dropped before inference. Reports the largest N that kept up.
  (2) results queries: authenticated `GET /api/v1/results?camera_id=C&limit=50` with wrk
      (2 threads, 32 connections) against a store holding a few thousand results; once with
      a JWT, once with an API key. Requests/s and wrk's p50/p99 latency.
  (3) verdict latency: one camera, 5 inferred frames/s: decode→verdict p50/p99 (the
      inspection's own histogram) and verdict→WebSocket delivery p50/p99 (the event's
      `wall_ms`, stamped when the verdict is made, against this client's clock on receipt).

    scripts/bench-serve.py [--ifc target/release/ifc] [--seconds 20] [--max-cameras 12]

Needs a release build (`cargo build --release -p ifc-cli`), ffmpeg, wrk and taskset.
"""
import argparse
import base64
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "scripts"))
from bench_serve_process import Serve  # noqa: E402
SAMPLED_FPS = 5.0
SOURCE_FPS = 25.0


class Camera:
    """gst-rtsp-server (scripts/rtsp-test-server.sh) serving `clip` in real time."""

    def __init__(self, clip, cpus):
        launch = f"( filesrc location={clip} ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
        self.proc = subprocess.Popen(["taskset", "-c", cpus, "bash", os.path.join(root, "scripts/rtsp-test-server.sh"),
                                      "0", "/test", launch], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready "):
            sys.exit(f"bench: rtsp-test-server did not start ({line!r})")
        self.url = f"rtsp://127.0.0.1:{line.split()[1]}/test"

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def sampled_document(fps):
    model = os.path.join(root, "models/defect-yolov8.onnx")
    return {"version": 1, "name": "bench", "nodes": [
        {"id": "input", "source": {"kind": "file", "uri": "camera"}},
        {"id": "decode", "inputs": ["input"], "decode": {}},
        {"id": "sample", "inputs": ["decode"], "sample": {"mode": "fps", "fps": fps}},
        {"id": "letterbox", "inputs": ["sample"], "preprocess": {"resize": "letterbox"}},
        {"id": "model", "inputs": ["letterbox"], "infer": {"backend": "embedded", "model": model}},
        {"id": "detections", "inputs": ["model"], "postprocess": {"kind": "auto", "labels": model[:-5] + ".yaml"}},
        {"id": "verdict", "inputs": ["detections"], "rule": {"rules": [
            {"kind": "detected", "id": "ng-scratch", "message": "scratch detected", "class": "scratch", "min_score": 0.5}]}},
        {"id": "results", "inputs": ["verdict"], "sink": {"jsonl": "unused.jsonl"}}]}


def inspect_cameras(serve, urls, fps):
    pipeline = serve.call("POST", "/api/v1/pipelines", {"name": "bench", "document": sampled_document(fps)})["id"]
    inspections = []
    for i, url in enumerate(urls):
        camera = serve.call("POST", "/api/v1/cameras", {"name": f"cam-{i}", "kind": "rtsp", "url": url})["id"]
        inspections.append(serve.call("POST", "/api/v1/inspections", {"camera_id": camera, "pipeline_id": pipeline})["id"])
    return inspections


def counters(serve, inspections):
    return [serve.call("GET", f"/api/v1/inspections/{i}")["counters"] for i in inspections]


def long_clip(work):
    """The demo clip five times over (60 s), so no camera ends during a measurement."""
    demo = os.path.join(work, "conveyor.mp4")
    subprocess.run(["bash", os.path.join(root, "scripts/make-demo-clip.sh"), demo], check=True)
    clip = os.path.join(work, "h264_long.mp4")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", "4", "-i", demo, "-c", "copy", clip], check=True)
    return clip


def cameras_per_core(ifc, work, clip, seconds, max_cameras):
    best = None
    for n in range(1, max_cameras + 1):
        cams = [Camera(clip, "1") for _ in range(n)]
        serve = Serve(ifc, work, cpus="0")
        try:
            inspections = inspect_cameras(serve, [c.url for c in cams], SAMPLED_FPS)
            time.sleep(5)  # connect, first keyframe, model warm-up
            before, t0 = counters(serve, inspections), time.monotonic()
            time.sleep(seconds)
            after, dt = counters(serve, inspections), time.monotonic() - t0
        finally:
            serve.stop()
            for c in cams:
                c.stop()
        decoded = [(a["frames_decoded"] - b["frames_decoded"]) / dt for a, b in zip(after, before)]
        inferred = [(a["frames_inferred"] - b["frames_inferred"]) / dt for a, b in zip(after, before)]
        dropped = sum(a["frames_dropped"] - b["frames_dropped"] for a, b in zip(after, before))
        ok = min(decoded) >= 0.97 * SOURCE_FPS and min(inferred) >= 0.97 * SAMPLED_FPS and dropped == 0
        print(f"  {n:2d} cameras: decoded/s min {min(decoded):5.1f}, inferred/s min {min(inferred):4.2f}, "
              f"dropped {dropped}: {'kept up' if ok else 'lost ingest'}", flush=True)
        if not ok:
            break
        best = (n, sum(decoded), sum(inferred))
    return best


def wrk(url, auth, seconds):
    out = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "-H", f"Authorization: Bearer {auth}", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"bench: {errors[1]} failed requests:\n{out}")

    def ms(p):
        value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
    return rps, ms(50), ms(99)


def results_queries(ifc, work, clip, seconds):
    cams = [Camera(clip, "1") for _ in range(2)]
    serve = Serve(ifc, work)
    try:
        inspections = inspect_cameras(serve, [c.url for c in cams], SOURCE_FPS)
        camera = serve.call("GET", f"/api/v1/inspections/{inspections[0]}")["camera_id"]
        time.sleep(seconds)
        stored = sum(c["frames_inferred"] for c in counters(serve, inspections))
        for i in inspections:
            serve.call("POST", f"/api/v1/inspections/{i}/stop", {})
        key = serve.call("POST", "/api/v1/api-keys", {"name": "bench", "role": "viewer"})["secret"]
        url = f"http://127.0.0.1:{serve.port}/api/v1/results?camera_id={camera}&limit=50"
        return stored, wrk(url, serve.token, seconds), wrk(url, key, seconds)
    finally:
        serve.stop()
        for c in cams:
            c.stop()


def websocket_events(port, token, topics, sink, stop):
    """A minimal WebSocket client (RFC 6455; the server's frames are unmasked): every text
    message goes to `sink` with the local receive time."""
    s = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /api/v1/events?topics={topics} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Authorization: Bearer {token}\r\n\r\n").encode())
    f = s.makefile("rb")
    if b" 101 " not in f.readline():
        sys.exit("bench: the WebSocket upgrade was refused")
    while f.readline() not in (b"\r\n", b""):
        pass
    s.settimeout(1.0)
    while not stop.is_set():
        try:
            head = f.read(2)
        except (socket.timeout, TimeoutError):
            continue
        if len(head) < 2:
            return
        length = head[1] & 0x7F
        if length == 126:
            length = int.from_bytes(f.read(2), "big")
        elif length == 127:
            length = int.from_bytes(f.read(8), "big")
        payload = f.read(length)
        if head[0] & 0x0F == 1:
            sink.append((time.time() * 1000.0, json.loads(payload)))


def verdict_latency(ifc, work, clip, seconds):
    cam = Camera(clip, "1")
    serve = Serve(ifc, work, cpus="0")
    received, stop = [], threading.Event()
    reader = threading.Thread(target=websocket_events, args=(serve.port, serve.token, "verdicts", received, stop))
    reader.start()
    try:
        inspections = inspect_cameras(serve, [cam.url], SAMPLED_FPS)
        time.sleep(seconds)
        c = counters(serve, inspections)[0]
    finally:
        stop.set()
        reader.join()
        serve.stop()
        cam.stop()
    delays = sorted(t - e["payload"]["wall_ms"] for t, e in received)
    if len(delays) < 20:
        sys.exit(f"bench: only {len(delays)} verdicts over the WebSocket")

    def pct(p):
        return delays[min(len(delays) - 1, int(round(p / 100 * len(delays) + 0.5)) - 1)]
    return len(delays), c["verdict_latency_p50_ms"], c["verdict_latency_p99_ms"], pct(50), pct(99)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ifc", default=os.path.join(root, "target/release/ifc"))
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--max-cameras", type=int, default=12)
    ap.add_argument("--only", choices=["cameras", "queries", "latency"])
    args = ap.parse_args()
    for tool in ("wrk", "taskset", "ffmpeg"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            sys.exit(f"bench: {tool} not found (Debian: apt-get install {'util-linux' if tool == 'taskset' else tool})")
    if not os.access(args.ifc, os.X_OK):
        sys.exit(f"bench: {args.ifc} not found: cargo build --release -p ifc-cli (or pass --ifc)")
    with tempfile.TemporaryDirectory() as work:
        clip = long_clip(work)
        if args.only in (None, "cameras"):
            print("(1) cameras inspected by one core (720p25, 5 inferred frames/s each):", flush=True)
            best = cameras_per_core(args.ifc, work, clip, args.seconds, args.max_cameras)
            if best:
                print(f"  => {best[0]} cameras on one core: {best[1]:.0f} frames decoded/s, {best[2]:.1f} inferred/s, none lost")
            else:
                print("  => not even one camera kept up")
        if args.only in (None, "queries"):
            stored, jwt, key = results_queries(args.ifc, work, clip, args.seconds)
            print(f"(2) GET /api/v1/results?camera_id=…&limit=50, wrk 2 threads × 32 connections, {stored} results stored:")
            print("  | credential | requests/s | p50 ms | p99 ms |\n  | --- | --- | --- | --- |")
            for name, (rps, p50, p99) in (("JWT", jwt), ("API key", key)):
                print(f"  | {name} | {rps:,.0f} | {p50:.2f} | {p99:.2f} |")
        if args.only in (None, "latency"):
            n, dv50, dv99, vw50, vw99 = verdict_latency(args.ifc, work, clip, args.seconds)
            print(f"(3) verdict latency, one camera, {n} verdicts (ms):")
            print("  | span | p50 | p99 |\n  | --- | --- | --- |")
            print(f"  | decode → verdict | {dv50:.1f} | {dv99:.1f} |\n  | verdict → WebSocket delivery | {vw50:.1f} | {vw99:.1f} |")


if __name__ == "__main__":
    main()
