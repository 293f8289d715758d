// The dist dialect round-trips, and every op's verifier names what
// disagrees.
// RUN: ssc-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @roundtrip
// CHECK: dist.require %{{.*}} {device = 0 : i64, piece = #dist.sub<[0:2, 0:8], 0 of 1>}
// CHECK: dist.assemble {{.*}}layout = #dist.rvd<r = 1, v = 1, d = [2, 1], devices = [0, 1]>
// CHECK: dist.all_gather
// CHECK: dist.reduce_scatter
// CHECK: dist.all_to_all
// CHECK: dist.broadcast %{{.*}} : tensor<2x8xf32> {device = 0 : i64
// CHECK: dist.broadcast {device = 1 : i64
// CHECK: dist.send
// CHECK: dist.recv
// CHECK: dist.compose
// CHECK: dist.scale
// CHECK: dist.slice
func.func @roundtrip(%x: tensor<4x8xf32>) {
  %p0 = dist.require %x {piece = #dist.sub<[0:2, 0:8], 0 of 1>, device = 0 : i64} : tensor<4x8xf32> -> tensor<2x8xf32>
  %p1 = dist.require %x {piece = #dist.sub<[2:4, 0:8], 0 of 1>, device = 1 : i64} : tensor<4x8xf32> -> tensor<2x8xf32>
  %a = graph.neg %p0 {dist.device = 0 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  %b = graph.neg %p1 {dist.device = 1 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  %t = dist.assemble %a, %b {pieces = [#dist.sub<[0:2, 0:8], 0 of 1>, #dist.sub<[2:4, 0:8], 0 of 1>], layout = #dist.rvd<r = 1, v = 1, d = [2, 1], devices = [0, 1]>} : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<4x8xf32>
  %g = dist.all_gather %a {group = array<i64: 0, 1>, device = 0 : i64, id = 0 : i64, dim = 0 : i64} : tensor<2x8xf32> -> tensor<4x8xf32>
  %r = dist.reduce_scatter %g {group = array<i64: 0, 1>, device = 0 : i64, id = 1 : i64, dim = 1 : i64} : tensor<4x8xf32> -> tensor<4x4xf32>
  %q = dist.all_to_all %a {group = array<i64: 0, 1>, device = 0 : i64, id = 2 : i64, split_dim = 1 : i64, concat_dim = 0 : i64} : tensor<2x8xf32> -> tensor<4x4xf32>
  %c0 = dist.broadcast %a : tensor<2x8xf32> {group = array<i64: 0, 1>, root = 0 : i64, device = 0 : i64, id = 3 : i64} -> tensor<2x8xf32>
  %c1 = dist.broadcast {group = array<i64: 0, 1>, root = 0 : i64, device = 1 : i64, id = 3 : i64} -> tensor<2x8xf32>
  dist.send %b {device = 1 : i64, peer = 0 : i64, id = 4 : i64} : tensor<2x8xf32>
  %v = dist.recv {device = 0 : i64, peer = 1 : i64, id = 4 : i64} : tensor<2x8xf32>
  %w = dist.compose %a, %v {device = 0 : i64, offsets = array<i64: 0, 0, 2, 0>} : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<4x8xf32>
  %s = dist.scale %w {device = 0 : i64, factor = 0.5 : f64} : tensor<4x8xf32> -> tensor<4x8xf32>
  %l = dist.slice %s {device = 0 : i64, offsets = array<i64: 0, 4>} : tensor<4x8xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @bad_value_part(%x: tensor<4xf32>) {
  // expected-error @+1 {{value part 2/2 is not k/V with 0 <= k < V}}
  %p = dist.require %x {piece = #dist.sub<[0:4], 2 of 2>} : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @piece_outside(%x: tensor<4xf32>) {
  // expected-error @+1 {{required piece #dist.sub<[2:6], 0 of 1> exceeds dim 0 of size 4}}
  %p = dist.require %x {piece = #dist.sub<[2:6], 0 of 1>} : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @uncovered(%x: tensor<4xf32>) {
  %a = graph.neg %x {dist.device = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  %h = dist.require %x {piece = #dist.sub<[0:2], 0 of 1>} : tensor<4xf32> -> tensor<2xf32>
  // expected-error @+1 {{value part 0/1 covers 2 of 4 elements}}
  %t = dist.assemble %h {pieces = [#dist.sub<[0:2], 0 of 1>]} : (tensor<2xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @layout_count(%x: tensor<4xf32>) {
  %a = graph.neg %x {dist.device = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  // expected-error @+1 {{RVD layout R1 V1 has 2 pieces but lists 1 devices}}
  %t = dist.assemble %a {pieces = [#dist.sub<[0:4], 0 of 1>], layout = #dist.rvd<r = 1, v = 1, d = [2], devices = [0]>} : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @not_member(%x: tensor<4xf32>) {
  // expected-error @+1 {{runs on device 2, which is not in its group [0, 1]}}
  %r = dist.all_reduce %x {group = array<i64: 0, 1>, device = 2 : i64, id = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @repeated_member(%x: tensor<4xf32>) {
  // expected-error @+1 {{group [0, 0] names device 0 twice}}
  %r = dist.all_reduce %x {group = array<i64: 0, 0>, device = 0 : i64, id = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @scatter_uneven(%x: tensor<5xf32>) {
  // expected-error @+1 {{group of 2 does not divide dim 0 of size 5}}
  %r = dist.reduce_scatter %x {group = array<i64: 0, 1>, device = 0 : i64, id = 0 : i64, dim = 0 : i64} : tensor<5xf32> -> tensor<2xf32>
  return
}

// -----

func.func @gather_shape(%x: tensor<2xf32>) {
  // expected-error @+1 {{result shape [2] should be [4]}}
  %r = dist.all_gather %x {group = array<i64: 0, 1>, device = 0 : i64, id = 0 : i64, dim = 0 : i64} : tensor<2xf32> -> tensor<2xf32>
  return
}

// -----

func.func @broadcast_off_root(%x: tensor<2xf32>) {
  // expected-error @+1 {{off the root must not have an input}}
  %r = dist.broadcast %x : tensor<2xf32> {group = array<i64: 0, 1>, root = 0 : i64, device = 1 : i64, id = 0 : i64} -> tensor<2xf32>
  return
}

// -----

func.func @send_self(%x: tensor<2xf32>) {
  // expected-error @+1 {{sends from device 0 to device 0; both must be distinct devices}}
  dist.send %x {device = 0 : i64, peer = 0 : i64, id = 0 : i64} : tensor<2xf32>
  return
}

// -----

func.func @compose_gap(%x: tensor<2xf32>) {
  // expected-error @+1 {{pieces hold 2 elements; the result has 4}}
  %r = dist.compose %x {device = 0 : i64, offsets = array<i64: 0>} : (tensor<2xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @slice_outside(%x: tensor<4xf32>) {
  // expected-error @+1 {{box 3:5 exceeds dim 0 of size 4}}
  %r = dist.slice %x {device = 0 : i64, offsets = array<i64: 3>} : tensor<4xf32> -> tensor<2xf32>
  return
}

// -----

func.func @scale_int(%x: tensor<4xi64>) {
  // expected-error @+1 {{scales only floating-point tensors}}
  %r = dist.scale %x {device = 0 : i64, factor = 0.5 : f64} : tensor<4xi64> -> tensor<4xi64>
  return
}
