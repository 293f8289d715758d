// RUN: ssc-opt -dist-split-ranks -split-input-file -verify-diagnostics %s | FileCheck %s

// Data parallel over 2 ranks: each rank reads its half of the input, uses
// the shared weight, and rank 1 sends its piece to the output rank. Every
// rank keeps the model's argument list and names; only rank 0 returns.
// CHECK-LABEL: module attributes {dist.output_device = 0 : i64, dist.world_size = 2 : i64}
// CHECK: func.func @rank0(%[[X:.*]]: tensor<8x16xf32> {ss.name = "x"}) -> (tensor<8x32xf32> {ss.name = "y"})
// CHECK-SAME: dist.rank = 0
// CHECK-NEXT: %[[W:.*]] = graph.constant
// CHECK-NEXT: %[[X0:.*]] = dist.slice %[[X]] {device = 0 : i64, offsets = array<i64: 0, 0>} : tensor<8x16xf32> -> tensor<4x16xf32>
// CHECK-NEXT: %[[Y0:.*]] = graph.matmul %[[X0]], %[[W]] {dist.device = 0 : i64, dist.trans = "split-dim b by 2, piece 0 of 2"}
// CHECK-NEXT: %[[R:.*]] = dist.recv {device = 0 : i64, id = 0 : i64, peer = 1 : i64}
// CHECK-NEXT: %[[OUT:.*]] = dist.compose %[[Y0]], %[[R]]
// CHECK-NEXT: return %[[OUT]] : tensor<8x32xf32>
// CHECK: func.func @rank1(%[[X:.*]]: tensor<8x16xf32> {ss.name = "x"}) attributes {dist.rank = 1 : i64}
// CHECK-NEXT: %[[W:.*]] = graph.constant
// CHECK-NEXT: %[[X1:.*]] = dist.slice %[[X]] {device = 1 : i64, offsets = array<i64: 4, 0>}
// CHECK-NEXT: %[[Y1:.*]] = graph.matmul %[[X1]], %[[W]]
// CHECK-NEXT: dist.send %[[Y1]] {device = 1 : i64, id = 0 : i64, peer = 0 : i64}
// CHECK-NEXT: return{{$}}
// CHECK-NOT: func.func @main
func.func @main(%arg0: tensor<8x16xf32> {ss.name = "x"}) -> (tensor<8x32xf32> {ss.name = "y"}) attributes {dist.world_size = 2 : i64, dist.output_device = 0 : i64} {
  %w = graph.constant dense<1.0> : tensor<16x32xf32>
  %x0 = dist.slice %arg0 {device = 0 : i64, offsets = array<i64: 0, 0>} : tensor<8x16xf32> -> tensor<4x16xf32>
  %x1 = dist.slice %arg0 {device = 1 : i64, offsets = array<i64: 4, 0>} : tensor<8x16xf32> -> tensor<4x16xf32>
  %y0 = graph.matmul %x0, %w {dist.device = 0 : i64, dist.trans = "split-dim b by 2, piece 0 of 2"} : tensor<4x16xf32>, tensor<16x32xf32> -> tensor<4x32xf32>
  %y1 = graph.matmul %x1, %w {dist.device = 1 : i64, dist.trans = "split-dim b by 2, piece 1 of 2"} : tensor<4x16xf32>, tensor<16x32xf32> -> tensor<4x32xf32>
  dist.send %y1 {device = 1 : i64, peer = 0 : i64, id = 0 : i64} : tensor<4x32xf32>
  %r = dist.recv {device = 0 : i64, peer = 1 : i64, id = 0 : i64} : tensor<4x32xf32>
  %out = dist.compose %y0, %r {device = 0 : i64, offsets = array<i64: 0, 0, 4, 0>} : (tensor<4x32xf32>, tensor<4x32xf32>) -> tensor<8x32xf32>
  return %out : tensor<8x32xf32>
}

// -----

// Constants are cloned into the ranks whose ops use them, first use first;
// an argument no op of a rank reads stays in that rank's signature unused.
// Two slices of one input on a rank become one read of their bounding box
// and local slices of it. The output rank need not be rank 0.
// CHECK-LABEL: module attributes {dist.output_device = 1 : i64, dist.world_size = 2 : i64}
// CHECK: func.func @rank0(%{{.*}}: tensor<4xf32>, %{{.*}}: tensor<4xf32>) attributes {dist.rank = 0 : i64}
// CHECK-NEXT: %[[B:.*]] = graph.constant dense<2.000000e+00>
// CHECK-NEXT: %[[T:.*]] = graph.tanh %[[B]]
// CHECK-NEXT: dist.send %[[T]]
// CHECK-NEXT: return{{$}}
// CHECK: func.func @rank1(%{{.*}}: tensor<4xf32>, %[[Q:.*]]: tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT: %[[A:.*]] = graph.constant dense<1.000000e+00>
// CHECK-NEXT: %[[BOX:.*]] = dist.slice %[[Q]] {device = 1 : i64, offsets = array<i64: 0>} : tensor<4xf32> -> tensor<4xf32>
// CHECK-NEXT: %[[LO:.*]] = dist.slice %[[BOX]] {device = 1 : i64, offsets = array<i64: 0>} : tensor<4xf32> -> tensor<2xf32>
// CHECK-NEXT: %[[HI:.*]] = dist.slice %[[BOX]] {device = 1 : i64, offsets = array<i64: 2>} : tensor<4xf32> -> tensor<2xf32>
// CHECK-NEXT: %[[C:.*]] = dist.compose %[[LO]], %[[HI]]
// CHECK-NEXT: %[[R:.*]] = dist.recv
// CHECK-NEXT: %[[S:.*]] = graph.add %[[C]], %[[A]]
// CHECK-NEXT: %[[U:.*]] = graph.add %[[S]], %[[R]]
// CHECK-NEXT: return %[[U]]
func.func @main(%p: tensor<4xf32>, %q: tensor<4xf32>) -> tensor<4xf32> attributes {dist.world_size = 2 : i64, dist.output_device = 1 : i64} {
  %a = graph.constant dense<1.0> : tensor<4xf32>
  %b = graph.constant dense<2.0> : tensor<4xf32>
  %unused = graph.constant dense<3.0> : tensor<4xf32>
  %lo = dist.slice %q {device = 1 : i64, offsets = array<i64: 0>} : tensor<4xf32> -> tensor<2xf32>
  %hi = dist.slice %q {device = 1 : i64, offsets = array<i64: 2>} : tensor<4xf32> -> tensor<2xf32>
  %t = graph.tanh %b {dist.device = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  dist.send %t {device = 0 : i64, peer = 1 : i64, id = 7 : i64} : tensor<4xf32>
  %c = dist.compose %lo, %hi {device = 1 : i64, offsets = array<i64: 0, 2>} : (tensor<2xf32>, tensor<2xf32>) -> tensor<4xf32>
  %r = dist.recv {device = 1 : i64, peer = 0 : i64, id = 7 : i64} : tensor<4xf32>
  %s = graph.add %c, %a {dist.device = 1 : i64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %u = graph.add %s, %r {dist.device = 1 : i64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %u : tensor<4xf32>
}

// -----

// Collectives keep their groups and ids; each member's op goes to its rank.
// CHECK-LABEL: module attributes {dist.output_device = 0 : i64, dist.world_size = 2 : i64}
// CHECK: func.func @rank0
// CHECK: dist.all_reduce %{{.*}} {device = 0 : i64, group = array<i64: 0, 1>, id = 3 : i64}
// CHECK: func.func @rank1
// CHECK: dist.all_reduce %{{.*}} {device = 1 : i64, group = array<i64: 0, 1>, id = 3 : i64}
func.func @main(%x: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {dist.world_size = 2 : i64, dist.output_device = 0 : i64} {
  %x0 = dist.slice %x {device = 0 : i64, offsets = array<i64: 0, 0>} : tensor<2x4xf32> -> tensor<2x4xf32>
  %x1 = dist.slice %x {device = 1 : i64, offsets = array<i64: 0, 0>} : tensor<2x4xf32> -> tensor<2x4xf32>
  %s0 = dist.all_reduce %x0 {device = 0 : i64, group = array<i64: 0, 1>, id = 3 : i64} : tensor<2x4xf32> -> tensor<2x4xf32>
  %s1 = dist.all_reduce %x1 {device = 1 : i64, group = array<i64: 0, 1>, id = 3 : i64} : tensor<2x4xf32> -> tensor<2x4xf32>
  return %s0 : tensor<2x4xf32>
}

// -----

// expected-error @+1 {{dist-split-ranks needs exactly one function with a 'dist.world_size' attribute, found 0}}
module {
  func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}

// -----

func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> attributes {dist.world_size = 2 : i64, dist.output_device = 0 : i64} {
  %x0 = dist.slice %x {device = 0 : i64, offsets = array<i64: 0>} : tensor<4xf32> -> tensor<4xf32>
  // expected-error @+1 {{'graph.relu' has no device; every op but constants must be placed before dist-split-ranks}}
  %y = graph.relu %x0 : tensor<4xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @main(%x: tensor<4xf32> {ss.name = "input"}) -> tensor<4xf32> attributes {dist.world_size = 2 : i64, dist.output_device = 0 : i64} {
  // expected-error @+1 {{model input #0 "input" is used by 'graph.relu'; a model input may only be read through dist.slice}}
  %y = graph.relu %x {dist.device = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @main(%x: tensor<4xf32>) -> (tensor<4xf32> {ss.name = "out"}) attributes {dist.world_size = 2 : i64, dist.output_device = 0 : i64} {
  %x1 = dist.slice %x {device = 1 : i64, offsets = array<i64: 0>} : tensor<4xf32> -> tensor<4xf32>
  %y = graph.relu %x1 {dist.device = 1 : i64} : tensor<4xf32> -> tensor<4xf32>
  // expected-error @+1 {{model output #0 "out" is computed on device 1, not on the output device 0}}
  return %y : tensor<4xf32>
}

// -----

func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> attributes {dist.world_size = 2 : i64, dist.output_device = 0 : i64} {
  %x1 = dist.slice %x {device = 1 : i64, offsets = array<i64: 0>} : tensor<4xf32> -> tensor<4xf32>
  // expected-error @+1 {{operand #0 is computed on device 1 but the op runs on device 0; a communication op must move it}}
  %y = graph.relu %x1 {dist.device = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> attributes {dist.world_size = 2 : i64, dist.output_device = 0 : i64} {
  %x0 = dist.slice %x {device = 0 : i64, offsets = array<i64: 0>} : tensor<4xf32> -> tensor<4xf32>
  // expected-error @+1 {{runs on device 2, outside the world of 2 ranks}}
  %y = graph.relu %x0 {dist.device = 2 : i64} : tensor<4xf32> -> tensor<4xf32>
  return %x0 : tensor<4xf32>
}

// -----

// expected-error @+1 {{'dist.output_device' 3 : i64 is not a device of the world of 2}}
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> attributes {dist.world_size = 2 : i64, dist.output_device = 3 : i64} {
  %x0 = dist.slice %x {device = 0 : i64, offsets = array<i64: 0>} : tensor<4xf32> -> tensor<4xf32>
  return %x0 : tensor<4xf32>
}

// -----

func.func @main(%x: tensor<4xf32> {ss.name = "x"}) -> (tensor<4xf32> {ss.name = "same"}) attributes {dist.world_size = 1 : i64, dist.output_device = 0 : i64} {
  // expected-error @+1 {{model output #0 "same" is a model input; read it with dist.slice on the output device 0}}
  return %x : tensor<4xf32>
}
