#!/usr/bin/env python3
"""Writes the demo/test models, whose weights are set by hand (nothing is trained or downloaded).

    python3 scripts/make-models.py [OUT_DIR]        (default: models/)

Needs `onnx` and `numpy` (pip install onnx numpy). Deterministic: the same bytes every run.

defect-yolov8.onnx: `images` [1, 3, 640, 640] f32 RGB 0-1 -> `output0` [1, 6, 3200] in the
YOLOv8 layout [1, 4 + nc, boxes] (cx, cy, w, h in model pixels, then the scores of `part` and
`scratch`). It finds what scripts/make-demo-clip.sh draws: light-grey parts on a dark belt and
red marks on them.

  1. A 1x1 convolution + Clip(0, 1) makes two masks: part = clip(10 R - 5.5) (grey 200 and the
     red mark are 1; the belt and the letterbox grey 114 are 0), red = clip(4 (R - G) - 1.2).
  2. Box regression from pooled masks: two separable convolutions (1x288 then 288x1, stride
     16) sum each mask and its first and second moments (dx, dy, dx^2, dy^2 relative to the
     cell centre) over a 288x288 window around each cell of a 40x40 grid. A window holds the
     whole object for every cell the object touches (parts are 120x100 model pixels), so the
     mean gives the object's centre and, for a filled rectangle of n pixels,
     Var = (n^2 - 1) / 12 gives its size: n = sqrt(12 Var + 1).
  3. Scores: the fraction of each 16x16 cell that the mask covers (AveragePool 16, stride
     16), through sigmoid(12 c - 6).
  4. Like YOLOv8's heads (P3/P4/P5), the anchors of two heads are concatenated: anchors
     0..1599 carry part boxes and part scores, 1600..3199 mark boxes and scratch scores, so a
     cell inside a mark reports both objects.

classifier.onnx: `images` [N, 3, 224, 224] (N symbolic) -> `logits` [N, 2] (ok, defect):
GlobalAveragePool + Gemm; defect = 20 (mean R - mean G) - 0.2, i.e. defect once about 1 % of
the image is pure red (meant for a crop of one part). The gain is modest (20) because it
multiplies the rounding of the two means, and the tests compare runtimes within 1e-4.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IR_VERSION = 8  # readable by older runtimes too

GRID = 40
STRIDE = 16
WINDOW = 288
PAD = (WINDOW - STRIDE) // 2  # 136: window [centre - 144, centre + 144)


def const(name, array):
    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


def detector():
    inits = []
    nodes = []

    # 1. Masks.
    w_mask = np.zeros((2, 3, 1, 1), np.float32)
    w_mask[0, 0] = 10.0
    w_mask[1, 0], w_mask[1, 1] = 4.0, -4.0
    inits += [const("mask_w", w_mask), const("mask_b", [-5.5, -1.2]), const("zero", 0.0), const("one", 1.0)]
    nodes += [
        helper.make_node("Conv", ["images", "mask_w", "mask_b"], ["mask_raw"], name="masks"),
        helper.make_node("Clip", ["mask_raw", "zero", "one"], ["masks"], name="masks_clip"),
    ]

    # 2. Moments: horizontal (1, dx, dx^2 per mask), then vertical.
    d = np.arange(WINDOW, dtype=np.float64) - (WINDOW - 1) / 2.0  # tap offset from the cell centre
    w_h = np.zeros((6, 2, 1, WINDOW), np.float32)
    for m in range(2):
        w_h[3 * m + 0, m, 0] = 1.0
        w_h[3 * m + 1, m, 0] = d
        w_h[3 * m + 2, m, 0] = d * d
    w_v = np.zeros((10, 6, WINDOW, 1), np.float32)
    for m in range(2):
        ones, dx, dx2 = 3 * m, 3 * m + 1, 3 * m + 2
        w_v[5 * m + 0, ones, :, 0] = 1.0  # S
        w_v[5 * m + 1, dx, :, 0] = 1.0  # S dx
        w_v[5 * m + 2, ones, :, 0] = d  # S dy
        w_v[5 * m + 3, dx2, :, 0] = 1.0  # S dx^2
        w_v[5 * m + 4, ones, :, 0] = d * d  # S dy^2
    inits += [const("moments_h_w", w_h), const("moments_v_w", w_v)]
    nodes += [
        helper.make_node("Conv", ["masks", "moments_h_w"], ["moments_h"], name="moments_h",
                         strides=[1, STRIDE], pads=[0, PAD, 0, PAD]),
        helper.make_node("Conv", ["moments_h", "moments_v_w"], ["moments"], name="moments_v",
                         strides=[STRIDE, 1], pads=[PAD, 0, PAD, 0]),
    ]
    cells = GRID * GRID
    inits += [numpy_helper.from_array(np.array([1, 2, 5, cells], np.int64), "moments_shape")]
    nodes += [
        helper.make_node("Reshape", ["moments", "moments_shape"], ["moments_flat"]),
        helper.make_node("Split", ["moments_flat"], ["s", "sx", "sy", "sxx", "syy"], axis=2),
    ]

    # Box from the moments: centre = cell centre + mean offset, size = sqrt(12 Var + 1).
    centres = (np.arange(GRID, dtype=np.float32) * STRIDE + STRIDE / 2).astype(np.float32)
    grid_x = np.tile(centres, GRID).reshape(1, 1, 1, cells)
    grid_y = np.repeat(centres, GRID).reshape(1, 1, 1, cells)
    inits += [const("grid_x", grid_x), const("grid_y", grid_y), const("eps", 1e-6), const("twelve", 12.0)]
    nodes += [
        helper.make_node("Add", ["s", "eps"], ["s_safe"]),
        helper.make_node("Div", ["sx", "s_safe"], ["mean_x"]),
        helper.make_node("Div", ["sy", "s_safe"], ["mean_y"]),
        helper.make_node("Div", ["sxx", "s_safe"], ["mean_xx"]),
        helper.make_node("Div", ["syy", "s_safe"], ["mean_yy"]),
        helper.make_node("Add", ["grid_x", "mean_x"], ["box_cx"]),
        helper.make_node("Add", ["grid_y", "mean_y"], ["box_cy"]),
    ]
    for axis in ("x", "y"):
        nodes += [
            helper.make_node("Mul", [f"mean_{axis}", f"mean_{axis}"], [f"mean_{axis}_sq"]),
            helper.make_node("Sub", [f"mean_{axis}{axis}", f"mean_{axis}_sq"], [f"var_{axis}_raw"]),
            helper.make_node("Relu", [f"var_{axis}_raw"], [f"var_{axis}"]),
            helper.make_node("Mul", [f"var_{axis}", "twelve"], [f"var12_{axis}"]),
            helper.make_node("Add", [f"var12_{axis}", "one"], [f"size2_{axis}"]),
            helper.make_node("Sqrt", [f"size2_{axis}"], [f"box_{'w' if axis == 'x' else 'h'}"]),
        ]

    # 3. Scores.
    inits += [
        numpy_helper.from_array(np.array([1, 2, 1, cells], np.int64), "score_shape"),
        const("score_gain", 12.0),
        const("score_bias", -6.0),
        const("head_classes", np.eye(2, dtype=np.float32).reshape(1, 2, 2, 1)),
        numpy_helper.from_array(np.array([1, 6, 2 * cells], np.int64), "output_shape"),
    ]
    nodes += [
        helper.make_node("AveragePool", ["masks"], ["cover"], kernel_shape=[STRIDE, STRIDE], strides=[STRIDE, STRIDE]),
        helper.make_node("Reshape", ["cover", "score_shape"], ["cover_flat"]),
        helper.make_node("Mul", ["cover_flat", "score_gain"], ["cover_gain"]),
        helper.make_node("Add", ["cover_gain", "score_bias"], ["score_logit"]),
        helper.make_node("Sigmoid", ["score_logit"], ["score"]),
        # Head m scores class m only: [1, 2 heads, 1, cells] x eye [1, 2, 2, 1].
        helper.make_node("Mul", ["score", "head_classes"], ["class_scores"]),
        # 4. [1, heads, 4 + nc, cells] -> [1, 4 + nc, heads, cells] -> [1, 4 + nc, heads x cells].
        helper.make_node("Concat", ["box_cx", "box_cy", "box_w", "box_h", "class_scores"], ["heads"], axis=2),
        helper.make_node("Transpose", ["heads"], ["heads_t"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["heads_t", "output_shape"], ["output0"]),
    ]

    graph = helper.make_graph(
        nodes,
        "defect-yolov8",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 640, 640])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 6, 2 * cells])],
        inits,
    )
    return finish(graph)


def classifier():
    w = np.zeros((3, 2), np.float32)
    w[0, 1], w[1, 1] = 20.0, -20.0
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["images"], ["mean_rgb"]),
            helper.make_node("Flatten", ["mean_rgb"], ["mean_rgb_flat"], axis=1),
            helper.make_node("Gemm", ["mean_rgb_flat", "fc_w", "fc_b"], ["logits"]),
        ],
        "classifier",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 2])],
        [const("fc_w", w), const("fc_b", [0.0, -0.2])],
    )
    return finish(graph)


def finish(graph):
    model = helper.make_model(graph, producer_name="ifc scripts/make-models.py",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "models"
    os.makedirs(out, exist_ok=True)
    onnx.save(detector(), os.path.join(out, "defect-yolov8.onnx"))
    onnx.save(classifier(), os.path.join(out, "classifier.onnx"))
    with open(os.path.join(out, "defect-yolov8.yaml"), "w") as f:
        f.write("# Class names as Ultralytics writes them (data.yaml).\nnames:\n  0: part\n  1: scratch\n")
    with open(os.path.join(out, "classifier.yaml"), "w") as f:
        f.write("names:\n  0: ok\n  1: defect\n")


if __name__ == "__main__":
    main()
