// RUN: ssc-opt -train-append-loss='kind=cross-entropy logits=logits labels=y' -split-input-file -verify-diagnostics %s | FileCheck %s

// Cross-entropy over the last axis: log-softmax, a one-hot of the new
// labels input picks each row's log-probability; the sum is divided by the
// number of labels that are not -100 (ignored, as in PyTorch).
// CHECK-LABEL: func.func @classify
// CHECK-SAME: (%arg0: tensor<4x3xf32>, %[[Y:.*]]: tensor<4xi64> {ss.name = "y"}) -> (tensor<f32> {ss.name = "loss"})
// CHECK-DAG: %[[LP:.*]] = graph.log_softmax %{{.*}} {axis = 1 : i64}
// CHECK-DAG: %[[COL:.*]] = graph.reshape %[[Y]] {shape = array<i64: 4, 1>}
// CHECK-DAG: %[[IDS:.*]] = graph.constant dense<[0, 1, 2]> : tensor<3xi64>
// CHECK-DAG: %[[HOT:.*]] = graph.equal %[[COL]], %[[IDS]]
// CHECK-DAG: %[[IGN:.*]] = graph.constant dense<-100> : tensor<i64>
// CHECK-DAG: graph.equal %[[Y]], %[[IGN]]
// CHECK: %[[LOSS:.*]] = graph.neg
// CHECK: return %[[LOSS]] : tensor<f32>
func.func @classify(%x: tensor<4x3xf32>) -> (tensor<4x3xf32> {ss.name = "logits"}, tensor<4xf32> {ss.name = "other"}) {
  %w = graph.variable "w" {value = dense<0.5> : tensor<3x3xf32>} : tensor<3x3xf32>
  %0 = graph.matmul %x, %w : tensor<4x3xf32>, tensor<3x3xf32> -> tensor<4x3xf32>
  %1 = graph.reduce_sum %0 {axes = array<i64: 1>, keepdims = false} : tensor<4x3xf32> -> tensor<4xf32>
  return %0, %1 : tensor<4x3xf32>, tensor<4xf32>
}

// -----

// expected-error @+1 {{the model has no output named 'logits' (outputs: probs)}}
func.func @missing(%x: tensor<4x3xf32>) -> (tensor<4x3xf32> {ss.name = "probs"}) {
  return %x : tensor<4x3xf32>
}
