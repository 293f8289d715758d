// RUN: ssc-opt -train-autodiff='optimizer=none' -train-recompute='groups=mm..act' -split-input-file -verify-diagnostics %s | FileCheck %s

// The group mm..act is recomputed right before the first backward op that
// reads it: tanh's backward reads act's output, the weight gradient reads
// nothing of the group. The forward originals keep only forward users.
// CHECK-LABEL: func.func @layer
// CHECK: %[[MM:.*]] = graph.matmul %arg0, %[[W:.*]] :
// CHECK: %[[ACT:.*]] = graph.tanh %[[MM]] :
// CHECK: graph.reduce_sum %[[ACT]]
// CHECK: %[[MM2:.*]] = graph.matmul %arg0, %[[W]] {ss.recompute}
// CHECK: %[[ACT2:.*]] = graph.tanh %[[MM2]] {ss.recompute}
// CHECK: graph.mul %[[ACT2]], %[[ACT2]] {ss.backward}
// CHECK-NOT: %[[ACT]]
// CHECK: return
func.func @layer(%x: tensor<4x3xf32>) -> tensor<f32> {
  %w = graph.variable "w" {value = dense<0.5> : tensor<3x2xf32>} : tensor<3x2xf32>
  %0 = graph.matmul %x, %w : tensor<4x3xf32>, tensor<3x2xf32> -> tensor<4x2xf32> loc("mm")
  %1 = graph.tanh %0 : tensor<4x2xf32> -> tensor<4x2xf32> loc("act")
  %2 = graph.reduce_sum %1 {axes = array<i64: 0, 1>, keepdims = false} : tensor<4x2xf32> -> tensor<f32> loc("sum")
  return %2 : tensor<f32>
}

// -----

// expected-error @below {{recompute group 'mm..act': both ends must name forward nodes}}
func.func @missing(%x: tensor<4x3xf32>) -> tensor<f32> {
  %w = graph.variable "w" {value = dense<0.5> : tensor<3x2xf32>} : tensor<3x2xf32>
  %0 = graph.matmul %x, %w : tensor<4x3xf32>, tensor<3x2xf32> -> tensor<4x2xf32> loc("other")
  %2 = graph.reduce_sum %0 {axes = array<i64: 0, 1>, keepdims = false} : tensor<4x2xf32> -> tensor<f32>
  return %2 : tensor<f32>
}
