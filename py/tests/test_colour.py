"""RGB frames follow the stream's colour matrix and range, as libifc's f64 reference computes
them (BT.601 / BT.709, limited / full range, 8 and 10 bits)."""

import subprocess

import numpy as np
import pytest

import ifc
from conftest import TESTDATA


def reference(frame, **override):
    values = np.array(frame._reference_rgb(**override), dtype=np.float64)
    return values.reshape(frame.height, frame.width, 3)


@pytest.mark.parametrize(
    "name, matrix, full_range",
    [
        ("h264_main_320x240_25.mp4", "bt601", False),  # unspecified, SD: BT.601, limited
        ("h264_fullrange_bt709_320x240_25.mp4", "bt709", True),  # VUI: BT.709, full range
        ("hevc_main10_320x240_25.mp4", "bt601", False),  # 10-bit
        ("h264_crop_318x178_25.mp4", "bt601", False),  # odd chroma size
    ],
)
def test_rgb_is_the_reference_rounded(name, matrix, full_range):
    decoder = ifc.VideoDecoder(str(TESTDATA / name))
    for i in (0, len(decoder) // 2):
        frame = decoder[i]
        rgb = frame.to_numpy()
        assert rgb.shape == (frame.height, frame.width, 3) and rgb.dtype == np.uint8
        want = reference(frame)
        # Rounded to nearest: within half a step (plus f32 rounding of the f32 path).
        assert np.abs(rgb.astype(np.float64) - want).max() <= 0.5 + 1e-3
        # The stream's own description is what was used: naming it explicitly changes nothing,
        # naming the other matrix and range does.
        assert np.array_equal(np.round(reference(frame, matrix=matrix, full_range=full_range)), np.round(want))
        other = reference(frame, matrix="bt709" if matrix == "bt601" else "bt601", full_range=not full_range)
        assert np.abs(other - want).mean() > 2.0


def numpy_rgb(frame, kr: float, kb: float, full_range: bool) -> np.ndarray:
    """The H.273 equations in numpy, from the native planes (nearest chroma, per the docs)."""
    y, u, v = (p.astype(np.float64) for p in frame.to_numpy(format="native"))
    bits = 10 if frame.pix_fmt.endswith("10le") else 8
    k = 2 ** (bits - 8)
    cb = np.repeat(np.repeat(u, 2, axis=0), 2, axis=1)[: frame.height, : frame.width]
    cr = np.repeat(np.repeat(v, 2, axis=0), 2, axis=1)[: frame.height, : frame.width]
    if full_range:
        yn, cbn, crn = y / (2**bits - 1), (cb - 2 ** (bits - 1)) / (2**bits - 1), (cr - 2 ** (bits - 1)) / (2**bits - 1)
    else:
        yn, cbn, crn = (y - 16 * k) / (219 * k), (cb - 128 * k) / (224 * k), (cr - 128 * k) / (224 * k)
    r = yn + 2 * (1 - kr) * crn
    b = yn + 2 * (1 - kb) * cbn
    g = (yn - kr * r - kb * b) / (1 - kr - kb)
    return np.clip(np.stack([r, g, b], axis=-1) * 255, 0, 255)


@pytest.mark.parametrize(
    "name, kr, kb, full_range",
    [
        ("h264_fullrange_bt709_320x240_25.mp4", 0.2126, 0.0722, True),
        ("h264_main_320x240_25.mp4", 0.299, 0.114, False),
        ("hevc_main10_320x240_25.mp4", 0.299, 0.114, False),
    ],
)
def test_rgb_follows_the_h273_equations_computed_in_numpy(name, kr, kb, full_range):
    frame = ifc.VideoDecoder(str(TESTDATA / name))[3]
    if full_range:
        assert frame.pix_fmt == "yuvj420p" and frame.colour == (1, 1, 1, True)
    want = numpy_rgb(frame, kr, kb, full_range)
    assert np.abs(frame.to_numpy().astype(np.float64) - want).max() <= 0.5 + 1e-3
    wrong = numpy_rgb(frame, 0.299 if kr != 0.299 else 0.2126, 0.114 if kb != 0.114 else 0.0722, not full_range)
    assert np.abs(frame.to_numpy().astype(np.float64) - wrong).mean() > 2.0


def untagged_clip(path, width: int, height: int) -> str:
    """A few frames of ffmpeg's colour test pattern, encoded by x264 without any colour
    description in the VUI (what most cameras and screen recorders write)."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=25",
         "-frames:v", "3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )
    return str(path)


@pytest.mark.parametrize("width, height", [(854, 480), (1280, 720), (1920, 1080)])
def test_untagged_streams_give_what_pyav_and_opencv_give_at_every_size(tmp_path, width, height):
    """A model trained on frames from PyAV, decord, torchcodec or OpenCV saw BT.601 colours for
    untagged streams at every size; ifc's RGB and tensors must be those colours."""
    import av
    import cv2

    path = untagged_clip(tmp_path / f"untagged_{height}p.mp4", width, height)
    frame = ifc.VideoDecoder(path)[1]
    assert frame.colour[2] == 2, "the VUI leaves the matrix unspecified"
    with av.open(path) as container:
        pyav = [f for _, f in zip(range(2), container.decode(video=0))][1]
    want_pyav = pyav.to_ndarray(format="rgb24").astype(np.int16)
    y, u, v = (p for p in frame.to_numpy(format="native"))
    i420 = np.concatenate([y, u.reshape(-1, width), v.reshape(-1, width)]).astype(np.uint8)
    want_cv = cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420).astype(np.int16)

    rgb = frame.to_numpy().astype(np.int16)
    assert np.abs(rgb - want_cv).max() <= 2, "ifc's RGB vs OpenCV COLOR_YUV2RGB_I420"
    # libswscale's fixed-point path (PyAV's rgb24) runs about 0.8 below the exact H.273
    # equations and reaches 3 off them at a few hundred pixels per megapixel (measured here:
    # `exact` is ifc's f64 reference); ifc is within 0.5 of them. So: within 2 of PyAV nearly
    # everywhere, and never further than PyAV is from the exact values plus ifc's rounding.
    exact = reference(frame)
    off_pyav = np.abs(rgb - want_pyav)
    assert np.mean(off_pyav <= 2) >= 0.999, f"ifc's RGB vs PyAV rgb24: {np.mean(off_pyav > 2):.2%} beyond 2"
    assert (off_pyav <= np.abs(want_pyav - exact) + 0.5 + 1e-3).all(), "ifc's RGB is off where PyAV is exact"
    tensor, _ = ifc.preprocess(frame, size=(height, width), letterbox=False, layout="NHWC")
    assert np.abs(tensor[0] - want_cv / 255.0).max() <= 2 / 255, "ifc's f32 tensor vs OpenCV / 255"
    assert np.abs(tensor[0] * 255.0 - exact).max() <= 1.0, "ifc's f32 tensor vs the exact values"
    assert (np.abs(tensor[0] * 255.0 - want_pyav) <= np.abs(want_pyav - exact) + 1.0).all(), "tensor vs PyAV"

    # The override is there for streams known to be BT.709, and it changes the colours.
    as_709 = frame.to_numpy(matrix="bt709").astype(np.int16)
    assert np.abs(as_709 - want_pyav).mean() > 2.0
    assert np.array_equal(frame.to_numpy(matrix="bt601"), frame.to_numpy())
