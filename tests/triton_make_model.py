"""Test model for the Triton backend: a small conv net with fixed random weights, and its
reference output from onnxruntime.

    triton_make_model.py model OUT.onnx
    triton_make_model.py reference MODEL.onnx INPUT.f32 OUTPUT.f32   (input [1,3,64,64] f32 raw)
"""
import sys

import numpy as np


def model(out):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(7)
    w1 = rng.standard_normal((8, 3, 3, 3)).astype(np.float32) * 0.3
    b1 = rng.standard_normal(8).astype(np.float32) * 0.1
    w2 = rng.standard_normal((4, 8, 3, 3)).astype(np.float32) * 0.3
    b2 = rng.standard_normal(4).astype(np.float32) * 0.1
    nodes = [
        helper.make_node("Conv", ["images", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Sigmoid", ["c2"], ["scores"]),
    ]
    graph = helper.make_graph(
        nodes, "ifc_triton_test",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, 64, 64])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 4, 16, 16])],
        [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, out)


def reference(path, inp, out):
    import onnxruntime
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = np.fromfile(inp, dtype="<f4")
    x = x.reshape(-1, 3, 64, 64)
    (y,) = session.run(["scores"], {"images": x})
    y.astype("<f4").tofile(out)


if __name__ == "__main__":
    if sys.argv[1] == "model":
        model(sys.argv[2])
    else:
        reference(*sys.argv[2:5])
