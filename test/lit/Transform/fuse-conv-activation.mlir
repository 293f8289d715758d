// RUN: ssc-opt -graph-fuse-conv-activation -split-input-file %s | FileCheck %s

// CHECK-LABEL: func.func @relu
// CHECK: %[[Y:.*]] = graph.conv {{.*}}activation = "relu"{{.*}}ss.names = ["act"]
// CHECK-NOT: graph.relu
// CHECK: return %[[Y]]
func.func @relu(%x: tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32> {
  %w = graph.constant dense<1.0> : tensor<1x1x1x1xf32>
  %c = graph.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x2x2xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x2x2xf32>
  %y = graph.relu %c {ss.names = ["act"]} : tensor<1x1x2x2xf32> -> tensor<1x1x2x2xf32>
  return %y : tensor<1x1x2x2xf32>
}

// -----

// Clip (ReLU6) keeps its bounds as the activation parameters (alpha = min
// = 0 is the default and not printed).
// CHECK-LABEL: func.func @clip
// CHECK: graph.conv {{.*}}activation = "clip", activation_beta = 6.000000e+00 : f32
func.func @clip(%x: tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32> {
  %w = graph.constant dense<1.0> : tensor<1x1x1x1xf32>
  %c = graph.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x2x2xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x2x2xf32>
  %y = graph.clip %c {min = 0.0 : f32, max = 6.0 : f32} : tensor<1x1x2x2xf32> -> tensor<1x1x2x2xf32>
  return %y : tensor<1x1x2x2xf32>
}

// -----

// The conv's raw output is needed elsewhere: nothing is fused.
// CHECK-LABEL: func.func @shared
// CHECK: graph.conv
// CHECK-NOT: activation = "relu"
// CHECK: graph.relu
func.func @shared(%x: tensor<1x1x2x2xf32>) -> (tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>) {
  %w = graph.constant dense<1.0> : tensor<1x1x1x1xf32>
  %c = graph.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x2x2xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x2x2xf32>
  %y = graph.relu %c : tensor<1x1x2x2xf32> -> tensor<1x1x2x2xf32>
  return %c, %y : tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>
}
