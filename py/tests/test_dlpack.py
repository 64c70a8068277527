"""Zero copy: numpy arrays and DLPack consumers see the frame's own memory."""

import gc

import numpy as np
import pytest

import ifc
from conftest import TESTDATA

CLIP = str(TESTDATA / "h264_main_320x240_25.mp4")


def address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def test_to_numpy_shares_the_frames_memory():
    frame = ifc.VideoDecoder(CLIP)[5]
    a, b = frame.to_numpy(), frame.to_numpy()
    assert np.shares_memory(a, b), "two views of one frame must be one buffer"
    assert address(a) == frame._rgb().data_ptr
    assert a.flags.writeable  # the RGB image is the frame's own, not the decoder's
    planes = frame.to_numpy(format="native")
    for plane, tensor in zip(planes, frame._planes()):
        assert address(plane) == tensor.data_ptr, "native planes are the decoder's buffers"
        assert not plane.flags.writeable, "the decoder may still reference these pictures"
    y = planes[0]
    assert y.strides[0] >= y.shape[1]  # rows keep the decoder's stride (padding skipped, not copied)


def test_from_dlpack_round_trips():
    frame = ifc.VideoDecoder(CLIP)[3]
    assert frame.__dlpack_device__() == (1, 0)
    a = np.from_dlpack(frame)
    assert np.shares_memory(a, frame.to_numpy())
    assert np.array_equal(a, frame.to_numpy())
    copied = np.from_dlpack(frame, copy=True)
    assert np.array_equal(copied, a) and not np.shares_memory(copied, a)
    batch = ifc.VideoDecoder(CLIP).get_frames_at([0, 1])
    assert np.array_equal(np.from_dlpack(batch), batch.to_numpy())
    tensor, _ = ifc.preprocess(frame, size=(64, 64))
    assert np.array_equal(np.from_dlpack(tensor), tensor)
    try:
        import torch  # not installed by the test set-up (multi-GB); checked where it is
    except ImportError:
        torch = None
    if torch is not None:
        t = torch.from_dlpack(frame)
        assert t.shape == (240, 320, 3) and t.dtype == torch.uint8
        assert t.data_ptr() == address(a)
        assert np.array_equal(t.numpy(), a)


def test_the_stream_argument_contract_is_honoured():
    frame = ifc.VideoDecoder(CLIP)[0]
    frame.__dlpack__(stream=None)
    with pytest.raises(BufferError, match="stream=None"):
        frame.__dlpack__(stream=1)
    with pytest.raises(BufferError, match="host memory"):
        frame.__dlpack__(dl_device=(2, 0))
    frame.__dlpack__(dl_device=(1, 0), max_version=(1, 0))


def test_arrays_outlive_the_frame_and_the_decoder():
    decoder = ifc.VideoDecoder(CLIP)
    frame = decoder[7]
    rgb = frame.to_numpy()
    y = frame.to_numpy(format="native")[0]
    want_rgb, want_y = rgb.copy(), y.copy()
    del frame, decoder
    gc.collect()
    # Decode more so that freed buffers would be reused and overwritten.
    for f in ifc.VideoDecoder(CLIP):
        f.to_numpy()
    assert np.array_equal(rgb, want_rgb)
    assert np.array_equal(y, want_y)
