// RUN: ssc-opt -graph-plan-memory -split-input-file %s | FileCheck %s

// A chain of four 128-byte tensors needs only two buffers: each value dies
// once its consumer has run, and the output stays live to the end.
// CHECK-LABEL: func.func @chain
// CHECK-SAME: ss.arena_bytes = 256
// CHECK-SAME: ss.input_offsets = array<i64: [[IN:[0-9]+]]>
// CHECK: graph.relu {{.*}}ss.offsets = array<i64: [[A:[0-9]+]]>
// CHECK: graph.exp {{.*}}ss.offsets = array<i64: [[IN]]>
// CHECK: graph.tanh {{.*}}ss.offsets = array<i64: [[A]]>
func.func @chain(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = graph.relu %x : tensor<4x8xf32> -> tensor<4x8xf32>
  %1 = graph.exp %0 : tensor<4x8xf32> -> tensor<4x8xf32>
  %2 = graph.tanh %1 : tensor<4x8xf32> -> tensor<4x8xf32>
  return %2 : tensor<4x8xf32>
}

// -----

// A reshape is a view: it shares its source's offset and keeps it alive;
// constants live in the weights blob (offset -1).
// CHECK-LABEL: func.func @views
// CHECK: graph.constant {{.*}}ss.offsets = array<i64: -1>
// CHECK: graph.add {{.*}}ss.offsets = array<i64: [[S:[0-9]+]]>
// CHECK: graph.reshape {{.*}}ss.offsets = array<i64: [[S]]>
// CHECK: graph.relu {{.*}}ss.offsets = array<i64: [[R:[0-9]+]]>
func.func @views(%x: tensor<2x4xf32>) -> tensor<8xf32> {
  %c = graph.constant dense<1.0> : tensor<2x4xf32>
  %0 = graph.add %x, %c : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
  %1 = graph.reshape %0 {shape = array<i64: 8>} : tensor<2x4xf32> -> tensor<8xf32>
  %2 = graph.relu %1 : tensor<8xf32> -> tensor<8xf32>
  return %2 : tensor<8xf32>
}

// -----

// An output that is also an input gets its own buffer (the program copies).
// CHECK-LABEL: func.func @passthrough
// CHECK-SAME: ss.arena_bytes = 128
// CHECK-SAME: ss.input_offsets = array<i64: 0>
// CHECK-SAME: ss.output_offsets = array<i64: 64>
func.func @passthrough(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
