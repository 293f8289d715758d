// RUN: ssc-opt -train-autodiff='optimizer=sgd lr=0.1 microbatches=2' %s | FileCheck %s

// Two microbatches of 2 rows (rows k and k + 2: interleaved, so that the
// microbatch's own batch axis stays splittable): each takes its rows, runs
// the forward ops at its own shape and then its backward pass (seeded with
// 1/2); the weight-only transpose runs once, and its gradient sums both
// microbatches' before the single update.
// CHECK-LABEL: func.func @accumulate
// CHECK: %[[WT:.*]] = graph.transpose %[[W:.*]] {perm
// CHECK: %[[R0:.*]] = graph.reshape %arg0 {shape = array<i64: 2, 2, 3>}
// CHECK: %[[S0:.*]] = graph.slice %[[R0]] {sizes = array<i64: 2, 1, 3>, starts = array<i64: 0, 0, 0>
// CHECK: %[[X0:.*]] = graph.reshape %[[S0]] {shape = array<i64: 2, 3>}
// CHECK: graph.matmul %[[X0]], %[[WT]] {{.*}} -> tensor<2x2xf32>
// CHECK: graph.constant {ss.backward} dense<5.000000e-01>
// CHECK: %[[G0:.*]] = graph.gemm %[[X0]], {{.*}}trans_a = true
// CHECK: %[[R1:.*]] = graph.reshape %arg0 {shape = array<i64: 2, 2, 3>}
// CHECK: %[[S1:.*]] = graph.slice %[[R1]] {sizes = array<i64: 2, 1, 3>, starts = array<i64: 0, 1, 0>
// CHECK: %[[X1:.*]] = graph.reshape %[[S1]] {shape = array<i64: 2, 3>}
// CHECK: graph.matmul %[[X1]], %[[WT]] {{.*}} -> tensor<2x2xf32>
// CHECK: %[[G1:.*]] = graph.gemm %[[X1]], {{.*}}trans_a = true
// CHECK: %[[SUM:.*]] = graph.add %[[G0]], %[[G1]] {ss.accumulate, ss.backward}
// CHECK: %[[GW:.*]] = graph.transpose %[[SUM]]
// CHECK: graph.sgd_update %[[W]], %[[GW]]
// CHECK: return %{{.*}} : tensor<f32>
func.func @accumulate(%x: tensor<4x3xf32>) -> tensor<f32> {
  %w = graph.variable "w" {value = dense<0.5> : tensor<2x3xf32>} : tensor<2x3xf32>
  %wt = graph.transpose %w {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  %0 = graph.matmul %x, %wt : tensor<4x3xf32>, tensor<3x2xf32> -> tensor<4x2xf32>
  %1 = graph.mul %0, %0 : tensor<4x2xf32>, tensor<4x2xf32> -> tensor<4x2xf32>
  %2 = graph.reduce_mean %1 {axes = array<i64: 0, 1>, keepdims = false} : tensor<4x2xf32> -> tensor<f32>
  return %2 : tensor<f32>
}
