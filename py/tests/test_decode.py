"""Decoding: frames, planes and timestamps against PyAV (FFmpeg) on the repository's fixtures;
random access against sequential decoding; metadata against the streams."""

import random

import numpy as np
import pytest

import ifc
from conftest import MP4_FIXTURES, RAW_FIXTURES, TESTDATA
from pyav_reference import pyav_frames, pyav_planes


def assert_planes_equal(frame: "ifc.Frame", reference: "tuple[np.ndarray, ...]", what: str) -> None:
    planes = frame.to_numpy(format="native")
    assert len(planes) == len(reference), what
    for i, (got, want) in enumerate(zip(planes, reference)):
        assert got.dtype == want.dtype, f"{what} plane {i}: {got.dtype} vs {want.dtype}"
        assert got.shape == want.shape, f"{what} plane {i}: {got.shape} vs {want.shape}"
        assert np.array_equal(got, want), f"{what} plane {i}: samples differ"


@pytest.mark.parametrize("name", MP4_FIXTURES + RAW_FIXTURES)
def test_native_planes_equal_pyav_on_every_frame(name):
    path = str(TESTDATA / name)
    reference = pyav_frames(path)
    frames = list(ifc.VideoDecoder(path))
    assert len(frames) == len(reference), f"{name}: {len(frames)} frames, PyAV {len(reference)}"
    for i, (frame, ref) in enumerate(zip(frames, reference)):
        assert frame.index == i
        assert frame.pix_fmt == ref.format.name, f"{name} frame {i}"
        assert (frame.width, frame.height) == (ref.width, ref.height)
        assert_planes_equal(frame, pyav_planes(ref), f"{name} frame {i}")
        if name.endswith(".mp4"):
            assert frame.pts_seconds == pytest.approx(float(ref.time), abs=1e-9), f"{name} frame {i}"


@pytest.mark.parametrize("name", MP4_FIXTURES)
def test_timestamps_are_in_display_order_and_durations_match_the_stream(name):
    decoder = ifc.VideoDecoder(str(TESTDATA / name))
    frames = list(decoder)
    pts = [f.pts_seconds for f in frames]
    assert pts == sorted(pts)
    for a, b in zip(frames, frames[1:]):
        assert a.duration_seconds == pytest.approx(b.pts_seconds - a.pts_seconds, abs=1e-6)


@pytest.mark.parametrize(
    "name",
    ["h264_main_320x240_25.mp4", "h264_high_bpyramid_320x240_25.mp4", "hevc_opengop_cra_320x240_25.mp4",
     "hevc_main10_320x240_25.mp4", "h264_main_320x240_25.h264", "h264_main_320x240_25_fragmented.mp4"],
)
def test_random_access_gives_the_exact_frames_of_sequential_decoding(name):
    path = str(TESTDATA / name)
    sequential = list(ifc.VideoDecoder(path))
    decoder = ifc.VideoDecoder(path)
    assert len(decoder) == len(sequential)
    order = list(range(len(decoder)))
    random.Random(5).shuffle(order)
    for i in order[:40]:
        frame = decoder[i]
        assert frame.index == i
        assert frame.pts_seconds == sequential[i].pts_seconds
        want = sequential[i].to_numpy(format="native")
        assert_planes_equal(frame, want, f"{name} frame {i}")
    last = decoder[-1]
    assert last.index == len(decoder) - 1
    batch = decoder[3:20:4]
    assert isinstance(batch, ifc.FrameBatch)
    assert batch.indices == [3, 7, 11, 15, 19]
    assert list(batch.pts_seconds) == [sequential[i].pts_seconds for i in (3, 7, 11, 15, 19)]
    picked = decoder.get_frames_at([9, 2, 9, 30])
    assert picked.indices == [9, 2, 9, 30]
    for f in picked:
        assert np.array_equal(f.to_numpy(), sequential[f.index].to_numpy())


def test_frames_played_at_times():
    decoder = ifc.VideoDecoder(str(TESTDATA / "h264_main_320x240_25.mp4"))
    batch = decoder.get_frames_played_at([0.0, 0.039, 0.04, 1.0, 1.019])
    assert batch.indices == [0, 0, 1, 25, 25]
    assert batch.pts_seconds[3] == pytest.approx(1.0)
    end = decoder.metadata.begin_seconds + decoder.metadata.duration_seconds
    with pytest.raises(ifc.FrameIndexError, match="no frame is shown"):
        decoder.get_frames_played_at([end + 0.001])
    with pytest.raises(IndexError):
        decoder.get_frames_played_at([-0.5])


@pytest.mark.parametrize(
    "name, codec, fps, color_space, color_range",
    [
        ("h264_main_320x240_25.mp4", "h264", 25.0, None, "tv"),
        ("h264_high_2997_320x240.mp4", "h264", 30000 / 1001, None, "tv"),
        ("h264_fullrange_bt709_320x240_25.mp4", "h264", 25.0, "bt709", "pc"),
        ("hevc_main10_320x240_25.mp4", "hevc", 25.0, None, "tv"),
    ],
)
def test_metadata_describes_the_stream(name, codec, fps, color_space, color_range):
    import av

    path = str(TESTDATA / name)
    m = ifc.VideoDecoder(path).metadata
    with av.open(path) as c:
        s = c.streams.video[0]
        frames = sum(1 for _ in c.decode(s))
        ref_space = s.codec_context.colorspace
    assert m.codec == codec
    assert (m.width, m.height) == (320, 240)
    assert m.num_frames == frames
    assert m.fps == pytest.approx(fps, rel=1e-6)
    assert m.duration_seconds == pytest.approx(frames / fps, rel=1e-6)
    assert m.color_space == color_space
    assert m.color_range == color_range
    if color_space == "bt709":
        assert ref_space == 1  # PyAV reads the same VUI matrix code point


@pytest.mark.parametrize("name", ["h264_main_320x240_25.mp4", "h264_main_320x240_25.h264", "hevc_main_320x240_25.h265"])
def test_bytes_decode_like_the_file(name):
    path = TESTDATA / name
    from_file = list(ifc.VideoDecoder(str(path)))
    from_bytes = list(ifc.VideoDecoder(path.read_bytes()))
    assert len(from_bytes) == len(from_file)
    for a, b in zip(from_file, from_bytes):
        assert np.array_equal(a.to_numpy(), b.to_numpy())
    assert len(ifc.VideoDecoder(path)) == len(from_file)  # os.PathLike works too


def test_resolution_changes_mid_stream_come_through():
    frames = list(ifc.VideoDecoder(str(TESTDATA / "h264_res_change_320x240_to_256x144_25.h264")))
    sizes = [(f.width, f.height) for f in frames]
    assert sizes[0] == (320, 240) and sizes[-1] == (256, 144)
    assert frames[-1].to_numpy().shape == (144, 256, 3)
