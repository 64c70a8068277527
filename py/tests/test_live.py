"""Live RTSP sources: GStreamer's gst-rtsp-server (scripts/rtsp-test-server.sh) packetises the
committed streams, `ifc.VideoDecoder("rtsp://...")` receives and decodes them, and every frame
must equal the frame decoded from the file itself (TCP interleaved transport loses nothing)."""

import math
import socket
import threading
import time

import numpy as np
import pytest

import ifc
from conftest import TESTDATA


def planes(frame) -> list:
    return [np.array(p) for p in frame.to_numpy(format="native")]


@pytest.mark.parametrize("name", ["h264_main_320x240_25.h264", "hevc_main_320x240_25.h265", "hevc_main10_320x240_25.h265"])
def test_live_frames_equal_the_files_frames(rtsp_server, name):
    expected = list(ifc.VideoDecoder(str(TESTDATA / name)))
    with ifc.VideoDecoder(rtsp_server(name).url()) as live:
        frames = list(live)
    assert len(frames) == len(expected)
    for i, (got, want) in enumerate(zip(frames, expected)):
        assert got.index == i
        for a, b in zip(planes(got), planes(want)):
            assert np.array_equal(a, b), f"{name}: frame {i} differs from the file's"
    assert np.array_equal(frames[10].to_numpy(), expected[10].to_numpy())


def test_live_metadata_says_what_the_stream_is(rtsp_server):
    decoder = ifc.VideoDecoder(rtsp_server("hevc_main10_320x240_25.h265").url())
    m = decoder.metadata
    assert m.is_live and not ifc.VideoDecoder(str(TESTDATA / "hevc_main10_320x240_25.mp4")).metadata.is_live
    assert (m.codec, m.width, m.height, m.bit_depth, m.fps, m.num_frames) == ("hevc", 320, 240, 10, 25.0, 0)
    assert math.isnan(m.duration_seconds)
    assert "live hevc 320x240" in repr(decoder)
    decoder.close()


def test_live_times_follow_the_camera_clock_from_zero(rtsp_server):
    # Real time, B-frames: the RTP timestamps are the MP4's presentation times.
    with ifc.VideoDecoder(rtsp_server("h264_high_bpyramid_320x240_25.mp4").url()) as live:
        frames = list(live)
    assert len(frames) == len(ifc.VideoDecoder(str(TESTDATA / "h264_high_bpyramid_320x240_25.mp4")))
    pts = [f.pts_seconds for f in frames]
    assert pts[0] == 0.0
    assert np.allclose(np.diff(pts), 0.04), "display order, 25 fps"
    assert all(f.duration_seconds == pytest.approx(0.04) for f in frames)


def test_a_live_stream_is_iterated_not_indexed(rtsp_server):
    decoder = ifc.VideoDecoder(rtsp_server("h264_main_320x240_25.h264").url())
    with pytest.raises(TypeError, match="no length"):
        len(decoder)
    for attempt in (lambda: decoder[0], lambda: decoder[0:2], lambda: decoder.get_frames_at([0]),
                    lambda: decoder.get_frames_played_at([0.0])):
        with pytest.raises(ifc.UnsupportedError, match="iterate"):
            attempt()
    first = next(iter(decoder))
    second = next(iter(decoder))
    assert (first.index, second.index) == (0, 1), "one stream: a new iterator goes on where the last stopped"
    decoder.close()
    with pytest.raises(ifc.SourceError, match="closed"):
        next(iter(decoder))


@pytest.mark.parametrize("method", ["basic", "digest"])
def test_credentials_in_the_url_authenticate_and_never_leak(rtsp_server, method):
    s = rtsp_server("h264_main_320x240_25.h264", f"{method}:inspector:s3cret-pw")
    with ifc.VideoDecoder(s.url("inspector:s3cret-pw@")) as live:
        assert next(iter(live)).index == 0
    with pytest.raises(ifc.SourceError) as wrong:
        ifc.VideoDecoder(s.url("inspector:wrong-pw@"))
    assert "nauthorized" in str(wrong.value) and "wrong-pw" not in str(wrong.value)


def test_unreachable_cameras_fail_fast_with_a_clear_error(rtsp_server):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ifc.SourceError) as refused:
        ifc.VideoDecoder(f"rtsp://admin:hunter2@127.0.0.1:{port}/cam")
    assert time.monotonic() - started < 5
    assert f"127.0.0.1:{port}" in str(refused.value) and "hunter2" not in str(refused.value)
    with pytest.raises(ifc.SourceError, match="(?i)not found"):
        ifc.VideoDecoder(rtsp_server("h264_main_320x240_25.h264").url().replace("/test", "/nope"))


def test_a_silent_camera_times_out_instead_of_hanging():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(ifc.SourceError, match="(?i)timed out|timeout"):
            ifc.VideoDecoder(f"rtsp://127.0.0.1:{listener.getsockname()[1]}/cam", timeout=1.0)
        assert time.monotonic() - started < 5
    finally:
        listener.close()


def test_a_camera_that_dies_mid_stream_ends_iteration_without_hanging(rtsp_server):
    s = rtsp_server("h264_main_320x240_25.mp4")  # real time: 2 s of video
    live = ifc.VideoDecoder(s.url(), timeout=3.0)
    it = iter(live)
    got = [next(it) for _ in range(5)]
    s.close()
    started = time.monotonic()
    try:
        for frame in it:
            got.append(frame)
    except ifc.SourceError:
        pass  # the connection reset: an error is as good as the end, a hang is not
    assert time.monotonic() - started < 10
    assert 5 <= len(got) < 50
