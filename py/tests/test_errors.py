"""Bad files, bad indices and bad arguments raise clear ifc exceptions; nothing crashes."""

import pytest

import ifc
from conftest import TESTDATA

CLIP = str(TESTDATA / "h264_main_320x240_25.mp4")


@pytest.mark.parametrize("name", sorted(p.name for p in (TESTDATA / "malformed").iterdir() if p.suffix != ".md" and p.suffix != ".txt"))
def test_malformed_inputs_raise_or_decode_without_crashing(name):
    path = str(TESTDATA / "malformed" / name)
    try:
        decoder = ifc.VideoDecoder(path)
    except ifc.SourceError as e:
        assert name in str(e), "the message names the input"
        return
    # Damage the demuxer accepts: decoding goes on, or stops with an ifc error.
    frames = 0
    for frame in decoder:
        frame.to_numpy()
        frames += 1
    assert frames <= len(decoder)
    for i in (0, len(decoder) - 1):
        try:
            decoder[i].to_numpy()
        except ifc.DecodeError as e:
            assert "frame" in str(e)


def test_missing_and_unknown_files():
    with pytest.raises(ifc.SourceError, match="cannot read"):
        ifc.VideoDecoder(str(TESTDATA / "no-such-file.mp4"))
    with pytest.raises(ifc.SourceError, match="unknown input type"):
        ifc.VideoDecoder(str(TESTDATA / "README.md"))
    with pytest.raises(ifc.SourceError, match="empty input"):
        ifc.VideoDecoder(b"")
    with pytest.raises(ifc.SourceError, match="unknown input type"):
        ifc.VideoDecoder(b"GIF89a, not a video at all")


def test_bad_indices():
    decoder = ifc.VideoDecoder(CLIP)
    n = len(decoder)
    with pytest.raises(ifc.FrameIndexError, match=f"out of range for a video of {n} frames"):
        decoder[n]
    with pytest.raises(IndexError):
        decoder[-n - 1]
    with pytest.raises(IndexError):
        decoder.get_frames_at([0, n + 5])
    with pytest.raises(ifc.ArgumentError):
        decoder["3"]
    with pytest.raises(ifc.ArgumentError):
        decoder[1.5]
    assert len(decoder[n + 10 :]) == 0  # slices clip, as Python's do


def test_bad_arguments():
    # device="cuda" on machines without the GPU path: test_cuda.py.
    with pytest.raises(ifc.ArgumentError, match="device"):
        ifc.VideoDecoder(CLIP, device="tpu")
    with pytest.raises(ValueError, match="threads"):
        ifc.VideoDecoder(CLIP, threads=0)
    with pytest.raises(ifc.ArgumentError, match="source must be"):
        ifc.VideoDecoder(42)
    with pytest.raises(ifc.UnsupportedError, match="no TLS"):
        ifc.VideoDecoder("rtsps://127.0.0.1:8554/line1")
    with pytest.raises(ifc.UnsupportedError, match="http://"):
        ifc.VideoDecoder("http://127.0.0.1/clip.mp4")
    with pytest.raises(ifc.ArgumentError, match="timeout"):
        ifc.VideoDecoder("rtsp://127.0.0.1:8554/line1", timeout=0)
    frame = ifc.VideoDecoder(CLIP)[0]
    with pytest.raises(ifc.ArgumentError, match="format"):
        frame.to_numpy(format="bgr")
    for kwargs, match in [
        ({"dtype": "float64"}, "dtype"),
        ({"layout": "CHW"}, "layout"),
        ({"size": (0, 640)}, "size"),
        ({"std": (1.0, 0.0, 1.0)}, "std"),
        ({"channels": "RGBA"}, "channels"),
        ({"resize": "cubic"}, "resize"),
        ({"matrix": "bt999"}, "matrix"),
    ]:
        with pytest.raises(ifc.ArgumentError, match=match):
            ifc.preprocess(frame, **kwargs)
    with pytest.raises(ifc.ArgumentError, match="Frame"):
        ifc.preprocess([frame, "not a frame"])
    with pytest.raises(ifc.ArgumentError, match="no frames"):
        ifc.preprocess([])
    with pytest.raises(ifc.PreprocessError, match="roi"):
        ifc.preprocess(frame, roi=(300, 200, 100, 100))


def test_errors_form_one_hierarchy():
    for cls in (ifc.SourceError, ifc.DecodeError, ifc.PreprocessError, ifc.InferenceError, ifc.PipelineError,
                ifc.FrameIndexError, ifc.ArgumentError, ifc.UnsupportedError):
        assert issubclass(cls, ifc.IfcError)
    assert issubclass(ifc.FrameIndexError, IndexError)
    assert issubclass(ifc.ArgumentError, ValueError)
    assert issubclass(ifc.UnsupportedError, NotImplementedError)


def test_models_and_pipelines_report_bad_inputs():
    with pytest.raises(ifc.InferenceError, match="cannot load"):
        ifc.Model(str(TESTDATA / "no-such-model.onnx"))
    with pytest.raises(ifc.PipelineError, match="cannot read"):
        ifc.Pipeline.from_file(str(TESTDATA / "no-such-pipeline.yaml"))
    with pytest.raises(ifc.PipelineError):
        ifc.Pipeline.from_yaml("version: 1\nnodes: []\n")
    model = ifc.Model(str(TESTDATA.parent / "models" / "classifier.onnx"))
    import numpy as np

    with pytest.raises(ifc.ArgumentError, match="does not fit"):
        model.infer(np.zeros((1, 3, 7, 7), dtype=np.float32))
