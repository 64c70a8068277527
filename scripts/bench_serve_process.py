"""`ifc serve` as the benchmarks start it: a throwaway data dir, the admin logged in, the RTSP
publish listener on a free port; optionally pinned to CPUs, with a config file, on a given
data dir (a restart)."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "bench-admin-password"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Serve:
    """`ifc serve` on a throwaway (or the given) data dir, optionally pinned to CPUs."""

    def __init__(self, ifc, work, cpus=None, config=None, data=None):
        self.data = data or tempfile.mkdtemp(dir=work)
        self.port, self.rtsp_port = free_port(), free_port()
        env = dict(os.environ, IFC_ADMIN_PASSWORD=PASSWORD, IFC_ALLOW_LOOPBACK_CAMERAS="1",
                   IFC_FILE_CAMERA_ROOT=work, IFC_RTSP_LISTEN=f"127.0.0.1:{self.rtsp_port}", RUST_LOG="warn")
        cmd = [ifc, "serve", "--data-dir", self.data, "--listen", f"127.0.0.1:{self.port}"]
        if config:
            cmd += ["--config", config]
        if cpus:
            cmd = ["taskset", "-c", cpus] + cmd
        self.proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:
            if "listening on http://" in line:
                break
        else:
            sys.exit("bench: ifc serve did not start")
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        self.token = self.call("POST", "/api/v1/auth/login", {"username": "admin", "password": PASSWORD})["access_token"]

    def call(self, method, path, body=None, token=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        req.add_header("Content-Type", "application/json")
        if token or getattr(self, "token", None):
            req.add_header("Authorization", f"Bearer {token or self.token}")
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
        return json.loads(text) if text else None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
