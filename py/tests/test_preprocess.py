"""ifc.preprocess against a numpy reference of the documented semantics (libifc's preprocess
module docs): colour per source pixel, bilinear with half-pixel centres, letterbox, normalise."""

import numpy as np
import pytest

import ifc
from conftest import TESTDATA


def axis_weights(src: int, dst: int) -> np.ndarray:
    """dst x src bilinear weights (cv2.INTER_LINEAR: half-pixel centres, edges replicated)."""
    s = src / dst
    w = np.zeros((dst, src))
    for i in range(dst):
        f = (i + 0.5) * s - 0.5
        if f <= 0:
            w[i, 0] = 1
        elif f >= src - 1:
            w[i, src - 1] = 1
        else:
            x0 = int(np.floor(f))
            t = f - x0
            w[i, x0] += 1 - t
            w[i, x0 + 1] += t
    return w


def numpy_preprocess(rgb: np.ndarray, out_h: int, out_w: int, letterbox: bool, scale, mean, std, pad=114.0):
    h, w, _ = rgb.shape
    if letterbox:
        if out_w * h <= out_h * w:
            cw, ch = out_w, max(1, int(np.floor(h * out_w / w + 0.5)))
        else:
            cw, ch = max(1, int(np.floor(w * out_h / h + 0.5))), out_h
    else:
        cw, ch = out_w, out_h
    left, top = (out_w - cw) // 2, (out_h - ch) // 2
    wy, wx = axis_weights(h, ch), axis_weights(w, cw)
    rows = np.tensordot(wy, rgb, axes=(1, 0))  # ch x w x 3
    content = np.tensordot(rows, wx, axes=(1, 1)).transpose(0, 2, 1)  # ch x cw x 3
    img = np.full((out_h, out_w, 3), pad, dtype=np.float64)
    img[top : top + ch, left : left + cw] = content
    out = (img * scale - np.array(mean)) / np.array(std)
    return out.transpose(2, 0, 1), (left, top, cw, ch)


@pytest.mark.parametrize(
    "name, size, letterbox",
    [
        ("h264_main_320x240_25.mp4", (640, 640), True),
        ("h264_fullrange_bt709_320x240_25.mp4", (640, 640), True),
        ("h264_crop_318x178_25.mp4", (224, 224), False),
        ("hevc_main10_320x240_25.mp4", (96, 160), True),
    ],
)
def test_matches_the_numpy_reference(name, size, letterbox):
    frame = ifc.VideoDecoder(str(TESTDATA / name))[4]
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    tensor, geometry = ifc.preprocess(frame, size=size, letterbox=letterbox, mean=mean, std=std)
    assert tensor.shape == (1, 3) + size and tensor.dtype == np.float32
    rgb = np.array(frame._reference_rgb(), dtype=np.float64).reshape(frame.height, frame.width, 3)
    want, (left, top, cw, ch) = numpy_preprocess(rgb, size[0], size[1], letterbox, 1 / 255, mean, std)
    # f32 arithmetic against f64, scaled by 1/std (about 4.4): well within 1/255 of the 0..1 range.
    assert np.abs(tensor[0] - want).max() < 2e-3
    g = geometry[0]
    assert (g.pad_left, g.pad_top, g.content_width, g.content_height) == (left, top, cw, ch)
    x, y = g.to_source(*g.to_model(100.0, 50.0))
    assert (x, y) == pytest.approx((100.0, 50.0))


def test_batches_layouts_types_and_channel_order():
    decoder = ifc.VideoDecoder(str(TESTDATA / "h264_main_320x240_25.mp4"))
    batch = decoder.get_frames_at([0, 10, 20])
    nchw, geometries = ifc.preprocess(batch, size=(128, 160))
    assert nchw.shape == (3, 3, 128, 160) and len(geometries) == 3
    for i, f in enumerate(batch):
        single, _ = ifc.preprocess(f, size=(128, 160))
        assert np.array_equal(nchw[i], single[0])
    nhwc, _ = ifc.preprocess(batch, size=(128, 160), layout="NHWC")
    assert np.array_equal(nhwc, nchw.transpose(0, 2, 3, 1))
    bgr, _ = ifc.preprocess(batch, size=(128, 160), channels="BGR")
    assert np.array_equal(bgr, nchw[:, ::-1])
    half, _ = ifc.preprocess(batch, size=(128, 160), dtype="float16")
    assert half.dtype == np.float16 and np.abs(half.astype(np.float32) - nchw).max() < 1e-3
    u8, _ = ifc.preprocess(batch, size=(128, 160), dtype="uint8", scale=1.0)
    assert u8.dtype == np.uint8
    assert np.abs(u8.astype(np.float32) - nchw * 255).max() <= 0.5 + 1e-3
    listed, _ = ifc.preprocess(list(batch), size=(128, 160))
    assert np.array_equal(listed, nchw)


def test_letterbox_geometry_maps_boxes_back():
    frame = ifc.VideoDecoder(str(TESTDATA / "h264_main_320x240_25.mp4"))[0]
    _, (g,) = ifc.preprocess(frame, size=(640, 640))
    # 320x240 into 640x640: content 640x480, 80 px of padding above and below.
    assert (g.content_width, g.content_height, g.pad_left, g.pad_top) == (640, 480, 0, 80)
    assert g.scale_x == pytest.approx(0.5) and g.scale_y == pytest.approx(0.5)
    assert g.to_source(640, 560) == pytest.approx((320, 240))
