#!/usr/bin/env python3
"""Live view under load on this machine: one 4 Mbit/s 1080p camera, recorded and inspected,
watched by N WebRTC (WHEP) and M LL-HLS viewers at once (results go in the README).

The camera is the 1080p x264 clip of bench-record.py, published in real time over RTSP/TCP by
`ifc publish --loop` into a push camera that `ifc serve` records (2 s segments) and inspects
(the demo detector, 2 inferred frames per second). The viewers are `ifc-service`'s
`live_load` example: WHEP viewers on str0m (one UDP socket each) and LL-HLS viewers doing
blocking playlist reloads and fetching each preload-hinted part, all in one process.

Measured on `ifc serve`: CPU (percent of one core) and resident memory, first over a window
with no viewer, then over a window with all of them; per viewer = the difference / viewers.
Checked: every viewer received pictures (the least any viewer got is printed), the recording
holds every picture published, and the inspection dropped nothing and decoded without error.

    scripts/bench-live.py [--ifc target/release/ifc] [--load target/release/examples/live_load]
                          [--whep 50] [--hls 50] [--seconds 30]

Needs a release build (`cargo build --release -p ifc-cli && cargo build --release -p
ifc-service --example live_load`), ffmpeg/ffprobe.
"""
import argparse
import glob
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "scripts"))
from bench_serve_process import Serve  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_record", os.path.join(root, "scripts/bench-record.py"))
bench_record = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_record)
_spec = importlib.util.spec_from_file_location("bench_serve", os.path.join(root, "scripts/bench-serve.py"))
bench_serve = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_serve)

CAM_USER, CAM_PASSWORD = "bench", "bench-camera-secret"
INFERRED_FPS = 2.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ifc", default=os.path.join(root, "target/release/ifc"))
    ap.add_argument("--load", default=os.path.join(root, "target/release/examples/live_load"))
    ap.add_argument("--whep", type=int, default=50)
    ap.add_argument("--hls", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=30)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ifc-bench-live-")
    clip = bench_record.make_clip(work)

    # The camera first (its id goes in the recording config), then the server that records it.
    setup = Serve(args.ifc, work)
    camera = setup.call("POST", "/api/v1/cameras", {"name": "cam", "kind": "push", "username": CAM_USER,
                                                    "password": CAM_PASSWORD})["id"]
    setup.stop()
    config = os.path.join(setup.data, "bench.yaml")
    viewers = args.whep + args.hls
    with open(config, "w") as f:
        f.write(f"recording:\n  min_free_bytes: 0\n  cameras:\n    - camera_id: {camera}\n      segment_s: 2\n"
                f"distribution:\n  max_viewers_per_camera: {viewers + 10}\n  max_viewers_total: {viewers + 10}\n")
    serve = Serve(args.ifc, work, config=config, data=setup.data)
    pipeline = serve.call("POST", "/api/v1/pipelines", {"name": "bench", "document": bench_serve.sampled_document(INFERRED_FPS)})["id"]
    inspection = serve.call("POST", "/api/v1/inspections", {"camera_id": camera, "pipeline_id": pipeline})["id"]

    total_s = 10 + 10 + args.seconds + 10
    url = f"rtsp://{CAM_USER}:{CAM_PASSWORD}@127.0.0.1:{serve.rtsp_port}/cameras/cam"
    published = {}
    publisher = threading.Thread(target=lambda: published.setdefault("r", bench_record.publish(args.ifc, clip, url, 1, total_s)))
    publisher.start()
    time.sleep(10)  # the camera is live, recorded and inspected

    idle = bench_record.Sampler([serve.proc.pid])
    time.sleep(10)
    idle_cpu, idle_rss = idle.stop()

    # Open the live view once (the packager starts), then the viewers.
    playlist = urllib.request.Request(f"http://127.0.0.1:{serve.port}/api/v1/cameras/{camera}/live/index.m3u8",
                                      headers={"Authorization": f"Bearer {serve.token}"})
    with urllib.request.urlopen(playlist, timeout=30) as r:
        r.read()
    loaded = bench_record.Sampler([serve.proc.pid])
    load = subprocess.run([args.load, f"http://127.0.0.1:{serve.port}", camera, serve.token, "--whep", str(args.whep),
                           "--hls", str(args.hls), "--seconds", str(args.seconds)], capture_output=True, text=True)
    loaded_cpu, loaded_rss = loaded.stop()
    if load.returncode != 0:
        sys.exit(f"bench: live_load failed:\n{load.stderr}")
    viewers_result = json.loads(load.stdout)
    publisher.join()
    time.sleep(3)  # the last segment closes when the publisher leaves
    counters = serve.call("GET", f"/api/v1/inspections/{inspection}")["counters"]
    serve.stop()
    recorded = bench_record.frames_in(glob.glob(os.path.join(serve.data, "recordings", "*", "*.m4s")))
    sent = bench_record.published_pictures(published["r"])

    print(f"one 1080p camera at ~4 Mbit/s, recorded + inspected ({INFERRED_FPS:g} inferred fps); "
          f"{args.whep} WHEP + {args.hls} LL-HLS viewers for {args.seconds} s")
    print(f"ifc serve, no viewer:   {100 * idle_cpu:6.1f} % of a core, {idle_rss / 2**20:7.1f} MiB")
    print(f"ifc serve, {viewers:3d} viewers: {100 * loaded_cpu:6.1f} % of a core, {loaded_rss / 2**20:7.1f} MiB")
    if viewers:
        print(f"per viewer:             {100 * (loaded_cpu - idle_cpu) / viewers:6.2f} % of a core, "
              f"{(loaded_rss - idle_rss) / viewers / 2**20:7.2f} MiB")
    for kind in ("whep", "hls"):
        v = viewers_result[kind]
        unit = "pictures" if kind == "whep" else "parts"
        print(f"{kind}: {v['receiving']}/{v['viewers']} viewers received; {unit} per viewer min {v['units']['min']} "
              f"median {v['units']['median']}; errors {v['errors']}")
    print(f"recording: {recorded} pictures of {sent} published ({'nothing lost' if recorded >= sent else 'LOST SOME'})")
    keys = ("frames_decoded", "frames_inferred", "frames_dropped", "decode_errors")
    print("inspection: " + ", ".join(f"{k} {counters.get(k)}" for k in keys))


if __name__ == "__main__":
    main()
