"""ifc quick start: open a video, read exact frames as numpy arrays, preprocess a batch for a
640x640 detector and (optionally) run the demo model on it.

    python py/examples/quickstart.py testdata/h264_main_320x240_25.mp4
"""

import sys
from pathlib import Path

import numpy as np

import ifc


def main(path: str) -> None:
    decoder = ifc.VideoDecoder(path)  # MP4 or raw .h264/.h265; bytes work too
    m = decoder.metadata
    print(f"{m.codec} {m.width}x{m.height}, {m.num_frames} frames, {m.fps:.2f} fps, {m.duration_seconds:.2f} s")

    frame = decoder[10]  # exact frame 10 in display order
    rgb = frame.to_numpy()  # H x W x 3 uint8, no copy
    print(f"frame {frame.index} at {frame.pts_seconds:.3f} s: {rgb.shape} mean {rgb.mean():.1f}")
    y, u, v = frame.to_numpy(format="native")  # the decoder's planes, no copy
    print(f"planes {frame.pix_fmt}: {y.shape} {u.shape} {v.shape}")

    batch = decoder.get_frames_at([0, 5, 10, 15])
    tensor, geometries = ifc.preprocess(batch, size=(640, 640), letterbox=True)
    print(f"tensor {tensor.shape} {tensor.dtype}")
    print(f"a box corner at model (320, 100) is at frame {geometries[0].to_source(320, 100)}")

    same = np.from_dlpack(frame)  # any DLPack consumer (torch.from_dlpack too)
    assert np.shares_memory(same, rgb)

    model = Path(__file__).resolve().parents[2] / "models" / "defect-yolov8.onnx"
    if model.exists():
        outputs = ifc.Model(str(model)).infer(tensor[:1])
        for name, value in outputs.items():
            print(f"model output {name}: {value.shape}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "testdata/h264_main_320x240_25.mp4")
