"""Writes malformed or unsupported ONNX models for the importer's error tests."""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def save(model, path):
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


def graph_model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "bad", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def main() -> int:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    f32 = TensorProto.FLOAT
    x = helper.make_tensor_value_info("X", f32, [2, 4])
    y = helper.make_tensor_value_info("Y", f32, None)
    k = numpy_helper.from_array(np.array([1], dtype=np.int64), "K")
    save(graph_model([helper.make_node("TopK", ["X", "K"], ["Y", "I"], name="my_topk")],
                     [x], [y], [k]), f"{out}/unsupported_op.onnx")
    xd = helper.make_tensor_value_info("X", f32, ["batch", 4])
    save(graph_model([helper.make_node("Relu", ["X"], ["Y"], name="relu")], [xd], [y]),
         f"{out}/dynamic.onnx")
    save(graph_model([helper.make_node("Relu", ["nowhere"], ["Y"], name="relu")], [x], [y]),
         f"{out}/undefined.onnx")
    save(graph_model([helper.make_node("Add", ["X", "B"], ["A"], name="a"),
                      helper.make_node("Relu", ["A"], ["B"], name="b"),
                      helper.make_node("Relu", ["A"], ["Y"], name="c")], [x], [y]),
         f"{out}/cycle.onnx")
    x64 = helper.make_tensor_value_info("X", f32, [2, 64])
    w = numpy_helper.from_array(np.zeros((32, 8), dtype=np.float32), "W")
    save(graph_model([helper.make_node("MatMul", ["X", "W"], ["Y"], name="mm")], [x64], [y], [w]),
         f"{out}/mismatch.onnx")
    good = graph_model([helper.make_node("Relu", ["X"], ["Y"], name="relu")], [x], [y])
    data = good.SerializeToString()
    with open(f"{out}/truncated.onnx", "wb") as f:
        f.write(data[: len(data) // 2])
    with open(f"{out}/garbage.onnx", "wb") as f:
        f.write(b"\xff\xfe this is not a protobuf \x00\x01" * 8)
    xdbl = helper.make_tensor_value_info("X", TensorProto.DOUBLE, [2, 4])
    ydbl = helper.make_tensor_value_info("Y", TensorProto.DOUBLE, [2, 4])
    save(graph_model([helper.make_node("Relu", ["X"], ["Y"], name="relu")], [xdbl], [ydbl]),
         f"{out}/double.onnx")
    return 0


if __name__ == "__main__":
    sys.exit(main())
