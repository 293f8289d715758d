// RUN: ssc-opt -graph-fold-batch-norm -split-input-file %s | FileCheck %s

// W' = W * s and b' = (b - mean) * s + beta with s = scale / sqrt(var + eps):
// channel 0: s = 2 / sqrt(3 + 1) = 1, b' = (1 - 1) * 1 + 0.5 = 0.5;
// channel 1: s = 3 / sqrt(8 + 1) = 1, b' = (2 - 4) * 1 - 1 = -3.
// CHECK-LABEL: func.func @fold
// CHECK-DAG: %[[W:.*]] = graph.constant dense<{{\[\[\[\[}}1.000000e+00]]], {{\[\[\[}}2.000000e+00]]]]> : tensor<2x1x1x1xf32>
// CHECK-DAG: %[[B:.*]] = graph.constant dense<[5.000000e-01, -3.000000e+00]> : tensor<2xf32>
// CHECK: %[[Y:.*]] = graph.conv %arg0, %[[W]], %[[B]] {{.*}}ss.names = ["bn_out"]
// CHECK-NOT: graph.batch_norm
// CHECK: return %[[Y]]
func.func @fold(%x: tensor<1x1x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %w = graph.constant dense<[[[[1.0]]], [[[2.0]]]]> : tensor<2x1x1x1xf32>
  %b = graph.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %scale = graph.constant dense<[2.0, 3.0]> : tensor<2xf32>
  %beta = graph.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %mean = graph.constant dense<[1.0, 4.0]> : tensor<2xf32>
  %var = graph.constant dense<[3.0, 8.0]> : tensor<2xf32>
  %c = graph.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x2x2xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  %y = graph.batch_norm %c, %scale, %beta, %mean, %var {epsilon = 1.0 : f32, ss.names = ["bn_out"]} : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// -----

// A conv whose output is also used elsewhere keeps its batch_norm.
// CHECK-LABEL: func.func @shared
// CHECK: graph.conv
// CHECK: graph.batch_norm
func.func @shared(%x: tensor<1x1x2x2xf32>) -> (tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>) {
  %w = graph.constant dense<1.0> : tensor<1x1x1x1xf32>
  %p = graph.constant dense<1.0> : tensor<1xf32>
  %c = graph.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x2x2xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x2x2xf32>
  %y = graph.batch_norm %c, %p, %p, %p, %p {epsilon = 1.0e-5 : f32} : (tensor<1x1x2x2xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x2x2xf32>
  return %c, %y : tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>
}
