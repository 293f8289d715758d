"""Writes small models that stress the importer and emitter at their edges:
weights in external data files, outputs that are inputs, constants or
repeats, tensor names that are not C identifiers, legacy opset semantics,
integer and bool outputs, and unsorted nodes. Each is compared with
onnxruntime by compare.py."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def model(nodes, inputs, outputs, inits=(), opset=17, name="edge"):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def main() -> int:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    f32 = TensorProto.FLOAT

    # 1. Weights stored as external data next to the model.
    w = numpy_helper.from_array(rng.standard_normal((64, 32)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal((32,)).astype(np.float32), "b")
    m = model([helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
               helper.make_node("Add", ["h", "b"], ["y"], name="bias")],
              [helper.make_tensor_value_info("x", f32, [4, 64])],
              [helper.make_tensor_value_info("y", f32, [4, 32])], [w, b])
    onnx.save_model(m, os.path.join(out, "external_data.onnx"),
                    save_as_external_data=True, all_tensors_to_one_file=True,
                    location="external_data.bin", size_threshold=0)

    # 2. Outputs that are an input, a constant, and the same tensor twice;
    #    names with punctuation, quotes, a newline and non-ASCII letters.
    c = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "const:0")
    odd = 'weird "name"\nwith/slashes-ä'
    m = model([helper.make_node("Relu", ["in.put"], [odd], name="relu\nnode"),
               helper.make_node("Identity", ["const:0"], ["const_out"], name="id")],
              [helper.make_tensor_value_info("in.put", f32, [2, 3])],
              [helper.make_tensor_value_info(odd, f32, [2, 3]),
               helper.make_tensor_value_info(odd, f32, [2, 3]),
               helper.make_tensor_value_info("in.put", f32, [2, 3]),
               helper.make_tensor_value_info("const_out", f32, [2, 3])], [c])
    onnx.save(m, os.path.join(out, "odd_outputs.onnx"))

    # 3. Opset 11 semantics: Softmax coerces to 2-D at axis 1; Unsqueeze and
    #    Squeeze take attributes; Clip takes optional inputs.
    lo = numpy_helper.from_array(np.array(-0.5, np.float32), "lo")
    m = model([helper.make_node("Softmax", ["x"], ["s"], axis=1, name="softmax"),
               helper.make_node("Unsqueeze", ["s"], ["u"], axes=[0], name="unsq"),
               helper.make_node("Squeeze", ["u"], ["q"], axes=[0], name="sq"),
               helper.make_node("Clip", ["q", "lo", ""], ["y"], name="clip")],
              [helper.make_tensor_value_info("x", f32, [2, 3, 4])],
              [helper.make_tensor_value_info("y", f32, [2, 3, 4])], [lo], opset=11)
    onnx.save(m, os.path.join(out, "opset11.onnx"))

    # 4. Integer and bool outputs computed at run time, nodes out of order.
    ids = helper.make_tensor_value_info("ids", TensorProto.INT64, [3, 5])
    two = numpy_helper.from_array(np.array(2, np.int64), "two")
    m = model([helper.make_node("Greater", ["doubled", "ids"], ["gt"], name="gt"),
               helper.make_node("Mul", ["ids", "two"], ["doubled"], name="mul"),
               helper.make_node("Cast", ["gt"], ["gt_f"], to=f32, name="cast")],
              [ids],
              [helper.make_tensor_value_info("doubled", TensorProto.INT64, [3, 5]),
               helper.make_tensor_value_info("gt", TensorProto.BOOL, [3, 5]),
               helper.make_tensor_value_info("gt_f", f32, [3, 5])], [two])
    onnx.save(m, os.path.join(out, "int_bool.onnx"))
    print(f"wrote 4 models to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
