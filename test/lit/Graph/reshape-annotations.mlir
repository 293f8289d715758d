// RUN: ssc-opt %s -split-input-file -graph-print-dim-annotations -verify-diagnostics -o /dev/null

// Reshape annotations. The dims are cut into minimal runs with equal element
// counts on both sides; a run of one dim each is a shared label. In a longer
// run, when one side's first size divides the other's, a shared head label of
// the smaller size splits the run: it stands alone on one side and heads a
// group `(c d^)` on the other, because the k-th of n contiguous chunks of the
// head is the k-th contiguous chunk of the run on both sides. The pass parses
// each annotation back and checks every group's size, so these also pin the
// text form of grouped dims.

// Attention heads: [B, S, H] <-> [B, S, nh, hd] splits B, S and the heads.
func.func @heads(%x: tensor<2x8x768xf32>, %y: tensor<2x8x12x64xf32>) {
  // expected-remark @below {{a b (c d^) -> a b c d^}}
  %0 = graph.reshape %x {shape = array<i64: 2, 8, 12, 64>} : tensor<2x8x768xf32> -> tensor<2x8x12x64xf32>
  // expected-remark @below {{a b c d^ -> a b (c d^)}}
  %1 = graph.reshape %y {shape = array<i64: 2, 8, 768>} : tensor<2x8x12x64xf32> -> tensor<2x8x768xf32>
  // Both runs at once: [B, S] -> [B*S] and [H] -> [nh, hd].
  // expected-remark @below {{a b^ (c d^) -> (a b^) c d^}}
  %2 = graph.reshape %x {shape = array<i64: 16, 12, 64>} : tensor<2x8x768xf32> -> tensor<16x12x64xf32>
  return
}

// -----

// Merging and unmerging batch and sequence splits B as the group's head.
func.func @tokens(%x: tensor<2x8x768xf32>, %y: tensor<16x768xf32>) {
  // expected-remark @below {{a b^ c -> (a b^) c}}
  %0 = graph.reshape %x {shape = array<i64: 16, 768>} : tensor<2x8x768xf32> -> tensor<16x768xf32>
  // expected-remark @below {{(a b^) c -> a b^ c}}
  %1 = graph.reshape %y {shape = array<i64: 2, 8, 768>} : tensor<16x768xf32> -> tensor<2x8x768xf32>
  return
}

// -----

// Flatten keeps N and splits C as the head of C*H*W.
func.func @flatten(%x: tensor<4x3x5x5xf32>) {
  // expected-remark @below {{a b c^ d^ -> a (b c^ d^)}}
  %0 = graph.reshape %x {shape = array<i64: 4, 75>} : tensor<4x3x5x5xf32> -> tensor<4x75xf32>
  return
}

// -----

// Runs with several dims on both sides.
func.func @regroup(%x: tensor<2x3x4xf32>, %y: tensor<4x6xf32>) {
  // 2 divides 4: [2, 3, 4] -> [4, 6] splits 2 ways along the first dims.
  // expected-remark @below {{a b^ c^ -> (a d^) e^}}
  %0 = graph.reshape %x {shape = array<i64: 4, 6>} : tensor<2x3x4xf32> -> tensor<4x6xf32>
  // expected-remark @below {{(a b^) c^ -> a d^}}
  %1 = graph.reshape %y {shape = array<i64: 2, 12>} : tensor<4x6xf32> -> tensor<2x12xf32>
  // Neither of 4 and 6 divides the other: the run is frozen.
  // expected-remark @below {{a^ b^ -> c^ d^}}
  %2 = graph.reshape %y {shape = array<i64: 6, 4>} : tensor<4x6xf32> -> tensor<6x4xf32>
  // expected-remark @below {{a b^ -> (a b^)}}
  %3 = graph.reshape %y {shape = array<i64: 24>} : tensor<4x6xf32> -> tensor<24xf32>
  // expected-remark @below {{a b -> a b}}
  %4 = graph.reshape %y {shape = array<i64: 4, 6>} : tensor<4x6xf32> -> tensor<4x6xf32>
  return
}

// -----

// Size-1 dims: paired when both sides have one between runs, frozen when
// only one side does, and frozen members of a run inside it.
func.func @unit_dims(%x: tensor<1x768xf32>, %y: tensor<2x3x4xf32>, %z: tensor<6xf32>,
                     %w: tensor<1x1x6xf32>) {
  // expected-remark @below {{a (b c^) -> a b c^}}
  %0 = graph.reshape %x {shape = array<i64: 1, 12, 64>} : tensor<1x768xf32> -> tensor<1x12x64xf32>
  // expected-remark @below {{a^ (b c^) -> b c^}}
  %1 = graph.reshape %x {shape = array<i64: 12, 64>} : tensor<1x768xf32> -> tensor<12x64xf32>
  // expected-remark @below {{a b c -> a b c d^}}
  %2 = graph.reshape %y {shape = array<i64: 2, 3, 4, 1>} : tensor<2x3x4xf32> -> tensor<2x3x4x1xf32>
  // expected-remark @below {{(a b^ c^) -> a b^ c^}}
  %3 = graph.reshape %z {shape = array<i64: 2, 1, 3>} : tensor<6xf32> -> tensor<2x1x3xf32>
  // expected-remark @below {{a^ b^ c -> c d^}}
  %4 = graph.reshape %w {shape = array<i64: 6, 1>} : tensor<1x1x6xf32> -> tensor<6x1xf32>
  return
}

// -----

// An empty tensor has nothing to split.
func.func @empty(%x: tensor<0x3xf32>) {
  // expected-remark @below {{a^ b^ -> c^ d^}}
  %0 = graph.reshape %x {shape = array<i64: 3, 0>} : tensor<0x3xf32> -> tensor<3x0xf32>
  return
}
