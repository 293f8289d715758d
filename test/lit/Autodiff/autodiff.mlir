// RUN: ssc-opt -train-autodiff='optimizer=adamw lr=0.01 weight-decay=0.1' -split-input-file -verify-diagnostics %s | FileCheck %s
// RUN: ssc-opt -train-autodiff='optimizer=none' -split-input-file -verify-diagnostics %s | FileCheck %s --check-prefix=GRADS
// RUN: ssc-opt -train-autodiff='optimizer=sgd momentum=0.9 clip-norm=1.0' -split-input-file -verify-diagnostics %s | FileCheck %s --check-prefix=SGD

// loss = sum((x w + b)^2). The linear layer's gradients are GEMMs that
// read their operands in place: dW = x^T dy (trans_a), and db sums dy over
// the rows. Every variable gets AdamW state and three assigns, right after
// its gradient is complete (so the gradient buffer dies there).
// CHECK-LABEL: func.func @linear
// CHECK-DAG: %[[W:.*]] = graph.variable "w"
// CHECK-DAG: %[[B:.*]] = graph.variable "b"
// CHECK: %[[Y:.*]] = graph.add
// CHECK: %[[DY:.*]] = graph.add {{.*}} {ss.backward}
// CHECK: %[[DB:.*]] = graph.reduce_sum %[[DY]] {axes = array<i64: 0>, keepdims = false, ss.backward, ss.names = ["b.grad"]}
// CHECK: %[[BP:[^,]*]], %[[BM:[^,]*]], %[[BV:[^ ]*]] = graph.adamw_update %[[B]], %[[DB]]
// CHECK-NEXT: graph.assign "b", %[[BP]]
// CHECK: %[[DW:.*]] = graph.gemm %arg0, %[[DY]] {ss.backward, ss.names = ["w.grad"], trans_a = true}
// CHECK-DAG: %[[WM:.*]] = graph.variable "w.adam_m" {value = dense<0.000000e+00> : tensor<3x2xf32>}
// CHECK-DAG: %[[WV:.*]] = graph.variable "w.adam_v"
// CHECK: %[[NP:[^,]*]], %[[NM:[^,]*]], %[[NV:[^ ]*]] = graph.adamw_update %[[W]], %[[DW]], %[[WM]], %[[WV]] {beta1 = 0.899999976 : f32, beta2 = 9.990000e-01 : f32, epsilon = 9.99999993E-9 : f32, lr = 0.00999999977 : f32, schedule = "constant", total_steps = 0 : i64, warmup_steps = 0 : i64, weight_decay = 1.000000e-01 : f32}
// CHECK-NEXT: graph.assign "w", %[[NP]]
// CHECK-NEXT: graph.assign "w.adam_m", %[[NM]]
// CHECK-NEXT: graph.assign "w.adam_v", %[[NV]]
// CHECK: return %{{.*}} : tensor<f32>

// GRADS-LABEL: func.func @linear
// GRADS-SAME: -> (tensor<f32> {ss.name = "loss"}, tensor<3x2xf32> {ss.name = "w.grad"}, tensor<2xf32> {ss.name = "b.grad"})
// GRADS-NOT: graph.assign
// GRADS: return %{{.*}}, %{{.*}}, %{{.*}} : tensor<f32>, tensor<3x2xf32>, tensor<2xf32>

// SGD-LABEL: func.func @linear
// SGD: %[[SQ:.*]] = graph.sqrt
// SGD: %[[RATIO:.*]] = graph.div
// SGD: %[[SCALE:.*]] = graph.clip %[[RATIO]] {max = 1.000000e+00 : f32, min = 0.000000e+00 : f32}
// SGD: %[[BUF:.*]] = graph.variable "w.momentum"
// SGD: %[[NP:[^,]*]], %[[NB:[^ ]*]] = graph.sgd_update %{{.*}}, %{{.*}}, buffer %[[BUF]], scale %[[SCALE]] {{.*}}momentum = 0.899999976
// SGD: graph.assign "w", %[[NP]]
// SGD: graph.assign "w.momentum", %[[NB]]
func.func @linear(%x: tensor<4x3xf32>) -> tensor<f32> {
  %w = graph.variable "w" {value = dense<0.5> : tensor<3x2xf32>} : tensor<3x2xf32>
  %b = graph.variable "b" {value = dense<0.1> : tensor<2xf32>} : tensor<2xf32>
  %0 = graph.matmul %x, %w : tensor<4x3xf32>, tensor<3x2xf32> -> tensor<4x2xf32>
  %1 = graph.add %0, %b : tensor<4x2xf32>, tensor<2xf32> -> tensor<4x2xf32>
  %2 = graph.mul %1, %1 : tensor<4x2xf32>, tensor<4x2xf32> -> tensor<4x2xf32>
  %3 = graph.reduce_sum %2 {axes = array<i64: 0, 1>, keepdims = false} : tensor<4x2xf32> -> tensor<f32>
  return %3 : tensor<f32>
}

// -----

// A gradient rule that does not cover an op's attributes says so at the op.
func.func @no_rule(%x: tensor<4xf32>) -> tensor<f32> {
  %w = graph.variable "w" {value = dense<0.5> : tensor<4xf32>} : tensor<4xf32>
  %0 = graph.mul %x, %w : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  // expected-error @+1 {{has no gradient rule for mode "reflect"}}
  %1 = graph.pad %0 {mode = "reflect", pads = array<i64: 1, 1>, value = 0.0 : f64} : tensor<4xf32> -> tensor<6xf32>
  %2 = graph.reduce_sum %1 {axes = array<i64: 0>, keepdims = false} : tensor<6xf32> -> tensor<f32>
  return %2 : tensor<f32>
}

// -----

// The loss must be a scalar.
// expected-error @+1 {{train-autodiff needs a function returning one float32 scalar}}
func.func @not_scalar(%x: tensor<2xf32>) -> tensor<2xf32> {
  %w = graph.variable "w" {value = dense<0.5> : tensor<2xf32>} : tensor<2xf32>
  %0 = graph.mul %x, %w : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
