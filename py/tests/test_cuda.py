"""device="cuda" where this machine has no GPU path (CI has none): a typed error that says what
is missing, before any decoding; the CUDA classes exist; CPU frames say they are on the CPU.
The CUDA frames themselves are checked by scripts/gpu-check.sh on a GPU machine."""
import os
from pathlib import Path

import numpy as np
import pytest

import ifc

TESTDATA = Path(__file__).resolve().parents[2] / "testdata"
CLIP = str(TESTDATA / "h264_main_320x240_25.mp4")
HAS_GPU = os.path.exists("/dev/nvidia0")


@pytest.mark.skipif(HAS_GPU, reason="this machine has a GPU: the device check covers it")
def test_cuda_without_a_gpu_is_a_typed_error_naming_what_is_missing():
    with pytest.raises(ifc.DeviceUnavailableError) as caught:
        ifc.VideoDecoder(CLIP, device="cuda")
    message = str(caught.value)
    assert "device='cuda'" in message or 'device="cuda"' in message
    assert any(word in message for word in ("CUDA driver", "no GPU", "libnvcuvid", "NVRTC")), message
    # Callers that caught the old error still do.
    assert isinstance(caught.value, ifc.UnsupportedError)
    assert isinstance(caught.value, NotImplementedError)
    with pytest.raises(ifc.DeviceUnavailableError):
        ifc.VideoDecoder(CLIP, device="cuda:0")


def test_a_bad_cuda_ordinal_is_an_argument_error():
    with pytest.raises(ifc.ArgumentError, match="cuda:N"):
        ifc.VideoDecoder(CLIP, device="cuda:x")


def test_cpu_frames_stay_on_the_cpu():
    frame = ifc.VideoDecoder(CLIP, device="cpu")[0]
    assert frame.device == "cpu"
    assert frame.__dlpack_device__() == (1, 0)
    assert np.from_dlpack(frame).shape == (240, 320, 3)


def test_the_cuda_classes_are_exported():
    assert ifc.CudaTensor.__name__ == "CudaTensor"
    assert issubclass(ifc.DeviceUnavailableError, ifc.IfcError)


def test_triton_shared_memory_names():
    with pytest.raises(ifc.ArgumentError, match="shared_memory"):
        ifc.TritonClient("127.0.0.1:1", "m", shared_memory="gpu")


@pytest.mark.skipif(HAS_GPU, reason="this machine has a GPU")
def test_triton_cuda_shared_memory_without_a_gpu_fails_before_any_rpc():
    with pytest.raises(ifc.InferenceError, match="CUDA"):
        ifc.TritonClient("127.0.0.1:1", "m", shared_memory="cuda", timeout_ms=200)
