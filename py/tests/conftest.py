"""Shared paths for the Python tests: the repository's fixtures and the `ifc` CLI binary."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TESTDATA = REPO / "testdata"

# Every MP4 fixture, and the raw streams beside them (same access units).
MP4_FIXTURES = sorted(p.name for p in TESTDATA.glob("*.mp4"))
RAW_FIXTURES = sorted(p.name for p in TESTDATA.iterdir() if p.suffix in (".h264", ".h265") and "res_change" not in p.name)


def ifc_bin() -> Path:
    """The CLI built by `cargo build` (scripts/test.sh): IFC_BIN, else $CARGO_TARGET_DIR/debug/ifc."""
    if "IFC_BIN" in os.environ:
        return Path(os.environ["IFC_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "ifc"


@pytest.fixture(scope="session")
def cli() -> Path:
    path = ifc_bin()
    assert path.exists(), f"{path} is missing: run `cargo build --workspace` first (scripts/test.sh does), or set IFC_BIN"
    return path


@pytest.fixture
def fixture_path():
    def get(name: str) -> str:
        path = TESTDATA / name
        assert path.exists(), f"{path} is missing: run scripts/make-fixtures.sh"
        return str(path)

    return get


def python() -> str:
    return sys.executable


class RtspServer:
    """gst-rtsp-server (scripts/rtsp-test-server.sh) serving one H.264 file (H.265 when its
    name starts with "hevc") at /test: raw streams as fast as possible, MP4 files in real time
    with their timestamps, as a camera sends."""

    def __init__(self, path: Path, auth: str = ""):
        name = path.name
        parse, pay = ("h265parse", "rtph265pay") if name.startswith("hevc") else ("h264parse", "rtph264pay")
        demux = "qtdemux ! " if name.endswith(".mp4") else ""
        launch = f"( filesrc location={path} ! {demux}{parse} ! {pay} name=pay0 pt=96 config-interval=-1 )"
        args = ["bash", str(REPO / "scripts/rtsp-test-server.sh"), "0", "/test", launch] + ([auth] if auth else [])
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready "):
            self.proc.kill()
            raise RuntimeError(f"rtsp-test-server did not start (printed {line!r})")
        self.port = int(line.split()[1])

    def url(self, userinfo: str = "") -> str:
        return f"rtsp://{userinfo}127.0.0.1:{self.port}/test"

    def close(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def rtsp_server():
    """Starts servers (a testdata name or a path), killed after the test."""
    started = []

    def start(name, auth: str = "") -> RtspServer:
        started.append(RtspServer(name if isinstance(name, Path) else TESTDATA / name, auth))
        return started[-1]

    yield start
    for s in started:
        s.close()
