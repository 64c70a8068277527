"""The package as users meet it: the quick-start example runs, and the stubs match the module."""

import subprocess
import sys

from conftest import REPO


def test_quickstart_example_runs():
    clip = REPO / "testdata" / "h264_main_320x240_25.mp4"
    out = subprocess.run(
        [sys.executable, str(REPO / "py" / "examples" / "quickstart.py"), str(clip)],
        check=True, capture_output=True, text=True, timeout=300,
    ).stdout
    assert "h264 320x240" in out
    assert "tensor (4, 3, 640, 640) float32" in out


def test_stubs_match_the_module():
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "ifc"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
