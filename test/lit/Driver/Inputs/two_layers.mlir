// A two-layer perceptron in graph IR, as ssc compile --stop-after=fuse
// writes it, for driver tests that start from MLIR instead of ONNX.
module attributes {ss.model = "two_layers"} {
  func.func @main(%x: tensor<4x8xf32> {ss.name = "x"}) -> (tensor<4x8xf32> {ss.name = "y"}) {
    %w1 = graph.constant dense<0.5> : tensor<8x16xf32> loc("w1")
    %w2 = graph.constant dense<0.25> : tensor<16x8xf32> loc("w2")
    %h = graph.matmul %x, %w1 {ss.names = ["h"]} : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<4x16xf32> loc("fc1")
    %a = graph.relu %h {ss.names = ["a"]} : tensor<4x16xf32> -> tensor<4x16xf32> loc("act")
    %y = graph.matmul %a, %w2 {ss.names = ["y"]} : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32> loc("fc2")
    return %y : tensor<4x8xf32>
  }
}
