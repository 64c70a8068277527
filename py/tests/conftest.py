"""Shared paths for the Python tests: the repository's fixtures and the `ifc` CLI binary."""

import os
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
