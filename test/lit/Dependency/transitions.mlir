// Every RVD transition kind, and what the dependency pass picks for it.
// Producers are graph.neg pieces assembled into %t; consumers require
// pieces of %t on their devices (and return what they compute, so the
// pass keeps them).
// RUN: ssc-opt -dist-insert-communication -split-input-file %s | FileCheck %s

// Value parts on {0,1} wanted whole on both: all-reduce (V -> R).
// CHECK-LABEL: func.func @all_reduce
// CHECK-DAG: dist.all_reduce %{{.*}} {device = 0 : i64, group = array<i64: 0, 1>, id = [[ID:[0-9]+]] : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-DAG: dist.all_reduce %{{.*}} {device = 1 : i64, group = array<i64: 0, 1>, id = [[ID]] : i64}
// CHECK-NOT: dist.{{(all_gather|reduce_scatter|send|recv)}}
func.func @all_reduce(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %p0 = dist.require %x {piece = #dist.sub<[0:4, 0:8], 0 of 1>, device = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %q0 = graph.neg %p0 {dist.device = 0 : i64, dist.origin = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %p1 = dist.require %x {piece = #dist.sub<[0:4, 0:8], 0 of 1>, device = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %q1 = graph.neg %p1 {dist.device = 1 : i64, dist.origin = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %t = dist.assemble %q0, %q1 {pieces = [#dist.sub<[0:4, 0:8], 0 of 2>, #dist.sub<[0:4, 0:8], 1 of 2>]} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %c0 = dist.require %t {piece = #dist.sub<[0:4, 0:8], 0 of 1>, device = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %u0 = graph.abs %c0 {dist.device = 0 : i64, dist.origin = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %c1 = dist.require %t {piece = #dist.sub<[0:4, 0:8], 0 of 1>, device = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %u1 = graph.abs %c1 {dist.device = 1 : i64, dist.origin = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  return %u0, %u1 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Value parts wanted as row halves: reduce-scatter (V -> D).
// CHECK-LABEL: func.func @reduce_scatter
// CHECK-DAG: dist.reduce_scatter %{{.*}} {device = 0 : i64, dim = 0 : i64, group = array<i64: 0, 1>, {{.*}}} : tensor<4x8xf32> -> tensor<2x8xf32>
// CHECK-DAG: dist.reduce_scatter %{{.*}} {device = 1 : i64, dim = 0 : i64, group = array<i64: 0, 1>, {{.*}}} : tensor<4x8xf32> -> tensor<2x8xf32>
// CHECK-NOT: dist.all_reduce
func.func @reduce_scatter(%x: tensor<4x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %p0 = dist.require %x {piece = #dist.sub<[0:4, 0:8], 0 of 1>, device = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %q0 = graph.neg %p0 {dist.device = 0 : i64, dist.origin = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %p1 = dist.require %x {piece = #dist.sub<[0:4, 0:8], 0 of 1>, device = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %q1 = graph.neg %p1 {dist.device = 1 : i64, dist.origin = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %t = dist.assemble %q0, %q1 {pieces = [#dist.sub<[0:4, 0:8], 0 of 2>, #dist.sub<[0:4, 0:8], 1 of 2>]} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %c0 = dist.require %t {piece = #dist.sub<[0:2, 0:8], 0 of 1>, device = 0 : i64} : tensor<4x8xf32> -> tensor<2x8xf32>
  %u0 = graph.abs %c0 {dist.device = 0 : i64, dist.origin = 1 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  %c1 = dist.require %t {piece = #dist.sub<[2:4, 0:8], 0 of 1>, device = 1 : i64} : tensor<4x8xf32> -> tensor<2x8xf32>
  %u1 = graph.abs %c1 {dist.device = 1 : i64, dist.origin = 1 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  return %u0, %u1 : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// Row halves wanted whole on both: all-gather (D -> R).
// CHECK-LABEL: func.func @all_gather
// CHECK-DAG: dist.all_gather %{{.*}} {device = 0 : i64, dim = 0 : i64, group = array<i64: 0, 1>, {{.*}}} : tensor<2x8xf32> -> tensor<4x8xf32>
// CHECK-DAG: dist.all_gather %{{.*}} {device = 1 : i64, dim = 0 : i64, group = array<i64: 0, 1>, {{.*}}} : tensor<2x8xf32> -> tensor<4x8xf32>
func.func @all_gather(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %p0 = dist.require %x {piece = #dist.sub<[0:2, 0:8], 0 of 1>, device = 0 : i64} : tensor<4x8xf32> -> tensor<2x8xf32>
  %q0 = graph.neg %p0 {dist.device = 0 : i64, dist.origin = 0 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  %p1 = dist.require %x {piece = #dist.sub<[2:4, 0:8], 0 of 1>, device = 1 : i64} : tensor<4x8xf32> -> tensor<2x8xf32>
  %q1 = graph.neg %p1 {dist.device = 1 : i64, dist.origin = 0 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  %t = dist.assemble %q0, %q1 {pieces = [#dist.sub<[0:2, 0:8], 0 of 1>, #dist.sub<[2:4, 0:8], 0 of 1>]} : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<4x8xf32>
  %c0 = dist.require %t {piece = #dist.sub<[0:4, 0:8], 0 of 1>, device = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %u0 = graph.abs %c0 {dist.device = 0 : i64, dist.origin = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %c1 = dist.require %t {piece = #dist.sub<[0:4, 0:8], 0 of 1>, device = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %u1 = graph.abs %c1 {dist.device = 1 : i64, dist.origin = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  return %u0, %u1 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Row halves wanted as column halves: all-to-all (D(0) -> D(1)).
// CHECK-LABEL: func.func @all_to_all
// CHECK-DAG: dist.all_to_all %{{.*}} {concat_dim = 0 : i64, device = 0 : i64, group = array<i64: 0, 1>, {{.*}}, split_dim = 1 : i64} : tensor<2x8xf32> -> tensor<4x4xf32>
// CHECK-DAG: dist.all_to_all %{{.*}} {concat_dim = 0 : i64, device = 1 : i64, group = array<i64: 0, 1>, {{.*}}, split_dim = 1 : i64} : tensor<2x8xf32> -> tensor<4x4xf32>
// CHECK-NOT: dist.all_gather
func.func @all_to_all(%x: tensor<4x8xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  %p0 = dist.require %x {piece = #dist.sub<[0:2, 0:8], 0 of 1>, device = 0 : i64} : tensor<4x8xf32> -> tensor<2x8xf32>
  %q0 = graph.neg %p0 {dist.device = 0 : i64, dist.origin = 0 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  %p1 = dist.require %x {piece = #dist.sub<[2:4, 0:8], 0 of 1>, device = 1 : i64} : tensor<4x8xf32> -> tensor<2x8xf32>
  %q1 = graph.neg %p1 {dist.device = 1 : i64, dist.origin = 0 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  %t = dist.assemble %q0, %q1 {pieces = [#dist.sub<[0:2, 0:8], 0 of 1>, #dist.sub<[2:4, 0:8], 0 of 1>]} : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<4x8xf32>
  %c0 = dist.require %t {piece = #dist.sub<[0:4, 0:4], 0 of 1>, device = 0 : i64} : tensor<4x8xf32> -> tensor<4x4xf32>
  %u0 = graph.abs %c0 {dist.device = 0 : i64, dist.origin = 1 : i64} : tensor<4x4xf32> -> tensor<4x4xf32>
  %c1 = dist.require %t {piece = #dist.sub<[0:4, 4:8], 0 of 1>, device = 1 : i64} : tensor<4x8xf32> -> tensor<4x4xf32>
  %u1 = graph.abs %c1 {dist.device = 1 : i64, dist.origin = 1 : i64} : tensor<4x4xf32> -> tensor<4x4xf32>
  return %u0, %u1 : tensor<4x4xf32>, tensor<4x4xf32>
}

// -----

// Replicas wanted as column halves: each device slices locally (R -> D), no traffic.
// CHECK-LABEL: func.func @local_slice
// CHECK-NOT: dist.{{(all_|reduce_|send|recv|broadcast)}}
// CHECK-DAG: dist.slice %{{.*}} {device = 0 : i64, offsets = array<i64: 0, 0>} : tensor<4x8xf32> -> tensor<4x4xf32>
// CHECK-DAG: dist.slice %{{.*}} {device = 1 : i64, offsets = array<i64: 0, 4>} : tensor<4x8xf32> -> tensor<4x4xf32>
func.func @local_slice(%x: tensor<4x8xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  %p0 = dist.require %x {piece = #dist.sub<[0:4, 0:8], 0 of 1>, device = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %q0 = graph.neg %p0 {dist.device = 0 : i64, dist.origin = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %p1 = dist.require %x {piece = #dist.sub<[0:4, 0:8], 0 of 1>, device = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %q1 = graph.neg %p1 {dist.device = 1 : i64, dist.origin = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %t = dist.assemble %q0, %q1 {pieces = [#dist.sub<[0:4, 0:8], 0 of 1>, #dist.sub<[0:4, 0:8], 0 of 1>]} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %c0 = dist.require %t {piece = #dist.sub<[0:4, 0:4], 0 of 1>, device = 0 : i64} : tensor<4x8xf32> -> tensor<4x4xf32>
  %u0 = graph.abs %c0 {dist.device = 0 : i64, dist.origin = 1 : i64} : tensor<4x4xf32> -> tensor<4x4xf32>
  %c1 = dist.require %t {piece = #dist.sub<[0:4, 4:8], 0 of 1>, device = 1 : i64} : tensor<4x8xf32> -> tensor<4x4xf32>
  %u1 = graph.abs %c1 {dist.device = 1 : i64, dist.origin = 1 : i64} : tensor<4x4xf32> -> tensor<4x4xf32>
  return %u0, %u1 : tensor<4x4xf32>, tensor<4x4xf32>
}

// -----

// Replicas wanted as value parts: each device scales by 1/2 (R -> V), no traffic.
// CHECK-LABEL: func.func @local_scale
// CHECK-NOT: dist.{{(all_|reduce_|send|recv|broadcast)}}
// CHECK-DAG: dist.scale %{{.*}} {device = 0 : i64, factor = 5.000000e-01 : f64}
// CHECK-DAG: dist.scale %{{.*}} {device = 1 : i64, factor = 5.000000e-01 : f64}
func.func @local_scale(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %p0 = dist.require %x {piece = #dist.sub<[0:4, 0:8], 0 of 1>, device = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %q0 = graph.neg %p0 {dist.device = 0 : i64, dist.origin = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %p1 = dist.require %x {piece = #dist.sub<[0:4, 0:8], 0 of 1>, device = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %q1 = graph.neg %p1 {dist.device = 1 : i64, dist.origin = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %t = dist.assemble %q0, %q1 {pieces = [#dist.sub<[0:4, 0:8], 0 of 1>, #dist.sub<[0:4, 0:8], 0 of 1>]} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %c0 = dist.require %t {piece = #dist.sub<[0:4, 0:8], 0 of 2>, device = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %u0 = graph.abs %c0 {dist.device = 0 : i64, dist.origin = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %c1 = dist.require %t {piece = #dist.sub<[0:4, 0:8], 1 of 2>, device = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %u1 = graph.abs %c1 {dist.device = 1 : i64, dist.origin = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  return %u0, %u1 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Across device sets (a pipeline stage boundary): send/recv.
// CHECK-LABEL: func.func @send_recv
// CHECK: dist.send %{{.*}} {device = 0 : i64, id = [[ID:[0-9]+]] : i64, peer = 1 : i64} : tensor<4x8xf32>
// CHECK: dist.recv {device = 1 : i64, id = [[ID]] : i64, peer = 0 : i64} : tensor<4x8xf32>
func.func @send_recv(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>) {
  %p0 = dist.require %x {piece = #dist.sub<[0:4, 0:8], 0 of 1>, device = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %q0 = graph.neg %p0 {dist.device = 0 : i64, dist.origin = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %t = dist.assemble %q0 {pieces = [#dist.sub<[0:4, 0:8], 0 of 1>]} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %c0 = dist.require %t {piece = #dist.sub<[0:4, 0:8], 0 of 1>, device = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %u0 = graph.abs %c0 {dist.device = 1 : i64, dist.origin = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  return %u0 : tensor<4x8xf32>
}

// -----

// One device's tensor wanted on two others: broadcast rooted at the producer.
// CHECK-LABEL: func.func @broadcast
// CHECK-DAG: dist.broadcast %{{.*}} : tensor<4x8xf32> {device = 0 : i64, group = array<i64: 0, 1, 2>, id = [[ID:[0-9]+]] : i64, root = 0 : i64}
// CHECK-DAG: dist.broadcast {device = 1 : i64, group = array<i64: 0, 1, 2>, id = [[ID]] : i64, root = 0 : i64} -> tensor<4x8xf32>
// CHECK-DAG: dist.broadcast {device = 2 : i64, group = array<i64: 0, 1, 2>, id = [[ID]] : i64, root = 0 : i64} -> tensor<4x8xf32>
// CHECK-NOT: dist.send
func.func @broadcast(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %p0 = dist.require %x {piece = #dist.sub<[0:4, 0:8], 0 of 1>, device = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %q0 = graph.neg %p0 {dist.device = 0 : i64, dist.origin = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %t = dist.assemble %q0 {pieces = [#dist.sub<[0:4, 0:8], 0 of 1>]} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %c0 = dist.require %t {piece = #dist.sub<[0:4, 0:8], 0 of 1>, device = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %u0 = graph.abs %c0 {dist.device = 1 : i64, dist.origin = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %c1 = dist.require %t {piece = #dist.sub<[0:4, 0:8], 0 of 1>, device = 2 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %u1 = graph.abs %c1 {dist.device = 2 : i64, dist.origin = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  return %u0, %u1 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Row halves on {0,1} wanted whole on device 0 only: device 1 sends its half, device 0 composes.
// CHECK-LABEL: func.func @gather_pieces
// CHECK: dist.send %{{.*}} {device = 1 : i64, id = [[ID:[0-9]+]] : i64, peer = 0 : i64} : tensor<2x8xf32>
// CHECK: %[[R:.*]] = dist.recv {device = 0 : i64, id = [[ID]] : i64, peer = 1 : i64} : tensor<2x8xf32>
// CHECK: dist.compose %{{.*}}, %[[R]] {device = 0 : i64, offsets = array<i64: 0, 0, 2, 0>} : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<4x8xf32>
func.func @gather_pieces(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>) {
  %p0 = dist.require %x {piece = #dist.sub<[0:2, 0:8], 0 of 1>, device = 0 : i64} : tensor<4x8xf32> -> tensor<2x8xf32>
  %q0 = graph.neg %p0 {dist.device = 0 : i64, dist.origin = 0 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  %p1 = dist.require %x {piece = #dist.sub<[2:4, 0:8], 0 of 1>, device = 1 : i64} : tensor<4x8xf32> -> tensor<2x8xf32>
  %q1 = graph.neg %p1 {dist.device = 1 : i64, dist.origin = 0 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  %t = dist.assemble %q0, %q1 {pieces = [#dist.sub<[0:2, 0:8], 0 of 1>, #dist.sub<[2:4, 0:8], 0 of 1>]} : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<4x8xf32>
  %c0 = dist.require %t {piece = #dist.sub<[0:4, 0:8], 0 of 1>, device = 0 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %u0 = graph.abs %c0 {dist.device = 0 : i64, dist.origin = 1 : i64} : tensor<4x8xf32> -> tensor<4x8xf32>
  return %u0 : tensor<4x8xf32>
}

// -----

// dp x tp: row halves by {0,1} and {2,3}, each a pair of value parts, wanted as one row half
// replicated per pair: one all-reduce per pair.
// CHECK-LABEL: func.func @reduce_then_gather
// CHECK-DAG: dist.all_reduce %{{.*}} {device = 0 : i64, group = array<i64: 0, 1>
// CHECK-DAG: dist.all_reduce %{{.*}} {device = 1 : i64, group = array<i64: 0, 1>
// CHECK-DAG: dist.all_reduce %{{.*}} {device = 2 : i64, group = array<i64: 2, 3>
// CHECK-DAG: dist.all_reduce %{{.*}} {device = 3 : i64, group = array<i64: 2, 3>
// CHECK-NOT: dist.{{(all_gather|send)}}
func.func @reduce_then_gather(%x: tensor<4x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  %p0 = dist.require %x {piece = #dist.sub<[0:2, 0:8], 0 of 1>, device = 0 : i64} : tensor<4x8xf32> -> tensor<2x8xf32>
  %q0 = graph.neg %p0 {dist.device = 0 : i64, dist.origin = 0 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  %p1 = dist.require %x {piece = #dist.sub<[0:2, 0:8], 0 of 1>, device = 1 : i64} : tensor<4x8xf32> -> tensor<2x8xf32>
  %q1 = graph.neg %p1 {dist.device = 1 : i64, dist.origin = 0 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  %p2 = dist.require %x {piece = #dist.sub<[2:4, 0:8], 0 of 1>, device = 2 : i64} : tensor<4x8xf32> -> tensor<2x8xf32>
  %q2 = graph.neg %p2 {dist.device = 2 : i64, dist.origin = 0 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  %p3 = dist.require %x {piece = #dist.sub<[2:4, 0:8], 0 of 1>, device = 3 : i64} : tensor<4x8xf32> -> tensor<2x8xf32>
  %q3 = graph.neg %p3 {dist.device = 3 : i64, dist.origin = 0 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  %t = dist.assemble %q0, %q1, %q2, %q3 {pieces = [#dist.sub<[0:2, 0:8], 0 of 2>, #dist.sub<[0:2, 0:8], 1 of 2>, #dist.sub<[2:4, 0:8], 0 of 2>, #dist.sub<[2:4, 0:8], 1 of 2>]} : (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<4x8xf32>
  %c0 = dist.require %t {piece = #dist.sub<[0:2, 0:8], 0 of 1>, device = 0 : i64} : tensor<4x8xf32> -> tensor<2x8xf32>
  %u0 = graph.abs %c0 {dist.device = 0 : i64, dist.origin = 1 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  %c1 = dist.require %t {piece = #dist.sub<[0:2, 0:8], 0 of 1>, device = 1 : i64} : tensor<4x8xf32> -> tensor<2x8xf32>
  %u1 = graph.abs %c1 {dist.device = 1 : i64, dist.origin = 1 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  %c2 = dist.require %t {piece = #dist.sub<[2:4, 0:8], 0 of 1>, device = 2 : i64} : tensor<4x8xf32> -> tensor<2x8xf32>
  %u2 = graph.abs %c2 {dist.device = 2 : i64, dist.origin = 1 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  %c3 = dist.require %t {piece = #dist.sub<[2:4, 0:8], 0 of 1>, device = 3 : i64} : tensor<4x8xf32> -> tensor<2x8xf32>
  %u3 = graph.abs %c3 {dist.device = 3 : i64, dist.origin = 1 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  return %u0, %u1, %u2, %u3 : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}
