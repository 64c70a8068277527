"""RGB frames follow the stream's colour matrix and range, as libifc's f64 reference computes
them (BT.601 / BT.709, limited / full range, 8 and 10 bits)."""

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


def test_full_range_bt709_differs_from_what_a_limited_bt601_reading_gives():
    frame = ifc.VideoDecoder(str(TESTDATA / "h264_fullrange_bt709_320x240_25.mp4"))[0]
    assert frame.pix_fmt == "yuvj420p"
    assert frame.colour == (1, 1, 1, True)
    y = frame.to_numpy(format="native")[0].astype(np.float64)
    rgb = frame.to_numpy().astype(np.float64)
    # Full range: luma 0..255 maps to 0..255 with no 16/235 stretch; a grey pixel's RGB is its Y.
    grey = (np.abs(rgb[..., 0] - rgb[..., 1]) < 1) & (np.abs(rgb[..., 1] - rgb[..., 2]) < 1)
    assert grey.sum() > 100
    assert np.abs(rgb[..., 1][grey] - y[grey]).max() <= 2.0
