"""Writes valid ONNX models whose operands ssc needs at compile time (or in
float32), or whose opset is newer than ssc knows: each must be rejected as
unsupported (exit 2), naming the node."""
import os
import sys

import numpy as np
from onnx import TensorProto, checker, helper, numpy_helper


def save(name, nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8 if opset <= 18 else 11
    checker.check_model(model, full_check=True)
    with open(os.path.join(sys.argv[1], name + ".onnx"), "wb") as f:
        f.write(model.SerializeToString())


def main() -> int:
    os.makedirs(sys.argv[1], exist_ok=True)
    vi = helper.make_tensor_value_info
    f32, i64, i32 = TensorProto.FLOAT, TensorProto.INT64, TensorProto.INT32
    const = numpy_helper.from_array
    x = vi("X", f32, [2, 4])
    save("sin", [helper.make_node("Sin", ["X"], ["Y"], name="sin")],
         [x], [vi("Y", f32, [2, 4])])
    save("mod", [helper.make_node("Mod", ["A", "B"], ["Y"], name="mod")],
         [vi("A", i64, [3])], [vi("Y", i64, [3])],
         [const(np.array([2, 3, 4], np.int64), "B")])
    save("reduce_int", [helper.make_node("ReduceSum", ["A", "axes"], ["Y"],
                                         name="sum", keepdims=0)],
         [vi("A", i64, [2, 3])], [vi("Y", i64, [2])],
         [const(np.array([1], np.int64), "axes")])
    save("reduce_prod", [helper.make_node("ReduceProd", ["X"], ["Y"],
                                          name="prod", keepdims=0)],
         [x], [vi("Y", f32, [])])
    save("relu_int", [helper.make_node("Relu", ["A"], ["Y"], name="relu")],
         [vi("A", i64, [3])], [vi("Y", i64, [3])])
    save("matmul_int", [helper.make_node("MatMul", ["A", "A"], ["Y"], name="mm")],
         [vi("A", i32, [2, 2])], [vi("Y", i32, [2, 2])])
    save("gathernd", [helper.make_node("GatherND", ["X", "I"], ["Y"], name="gnd")],
         [x, vi("I", i64, [2, 2])], [vi("Y", f32, [2])])
    save("scatternd_add", [helper.make_node("ScatterND", ["X", "I", "U"], ["Y"],
                                            name="snd", reduction="add")],
         [x, vi("U", f32, [1, 4])], [vi("Y", f32, [2, 4])],
         [const(np.array([[1]], np.int64), "I")], opset=18)
    save("resize_cubic", [helper.make_node("Resize", ["X", "", "S"], ["Y"],
                                           name="up", mode="cubic")],
         [vi("X", f32, [1, 1, 2, 2])], [vi("Y", f32, [1, 1, 4, 4])],
         [const(np.array([1, 1, 2, 2], np.float32), "S")])
    save("opset20", [helper.make_node("Gelu", ["X"], ["Y"], name="gelu")],
         [x], [vi("Y", f32, [2, 4])], opset=20)
    save("opset24", [helper.make_node("Relu", ["X"], ["Y"], name="relu")],
         [x], [vi("Y", f32, [2, 4])], opset=24)
    return 0


if __name__ == "__main__":
    sys.exit(main())
