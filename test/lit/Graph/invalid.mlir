// RUN: ssc-opt %s -split-input-file -verify-diagnostics

// Each inference error names what disagrees and the values. MLIR's verifier
// then adds "failed to infer returned types" (also when inference succeeds
// but disagrees with the written result type), hence the second expectation.

// Element types
func.func @float_only(%x: tensor<4xi32>) {
  // expected-error @+2 {{exp: operand 'input' has element type i32; expected f32}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.exp %x : tensor<4xi32> -> tensor<4xi32>
  return
}

// -----

func.func @bool_only(%x: tensor<4xf32>) {
  // expected-error @+2 {{not: operand 'input' has element type f32; expected i1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.not %x : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @arith_on_bool(%x: tensor<4xi1>) {
  // expected-error @+2 {{add: operand 'lhs' has element type i1; expected f32, i64 or i32}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.add %x, %x : tensor<4xi1>, tensor<4xi1> -> tensor<4xi1>
  return
}

// -----

func.func @dynamic_shape(%x: tensor<?x3xf32>) {
  // expected-error @+2 {{relu: operand 'input' must have a static shape, got tensor<?x3xf32>}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.relu %x : tensor<?x3xf32> -> tensor<?x3xf32>
  return
}

// -----

func.func @constant_f64() {
  // The result type comes from inference while parsing, so the parser
  // reports the error alone.
  // expected-error @+1 {{constant: value has element type f64; expected f32, i64, i32, i1, i8 or ui8}}
  %0 = graph.constant dense<1.0> : tensor<2xf64>
  return
}

// -----

func.func @cast_target(%x: tensor<4xf32>) {
  // expected-error @+2 {{cast: target element type f16 is not one of f32, i64, i32, i1, i8 or ui8}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.cast %x {to = f16} : tensor<4xf32> -> tensor<4xf16>
  return
}

// -----

func.func @gelu_mode(%x: tensor<4xf32>) {
  // expected-error @+2 {{gelu: approximate "fast" is not one of "none", "tanh"}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.gelu %x {approximate = "fast"} : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

// Elementwise broadcasting
func.func @not_broadcastable(%x: tensor<2x3xf32>, %y: tensor<2x4xf32>) {
  // expected-error @+2 {{mul: dimension 1 of sizes 3 and 4 is not broadcastable (shapes [2, 3], [2, 4])}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.mul %x, %y : tensor<2x3xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @mixed_elements(%x: tensor<3xf32>, %y: tensor<3xi64>) {
  // expected-error @+2 {{sub: lhs element type f32 differs from rhs element type i64}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.sub %x, %y : tensor<3xf32>, tensor<3xi64> -> tensor<3xf32>
  return
}

// -----

func.func @comparison_result(%x: tensor<3xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<3xi1>' are incompatible with return type(s) of operation 'tensor<3xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.less %x, %x : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return
}

// -----

func.func @where_condition(%c: tensor<3xf32>, %x: tensor<3xf32>) {
  // expected-error @+2 {{where: operand 'condition' has element type f32; expected i1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.where %c, %x, %x : tensor<3xf32>, tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return
}

// -----

func.func @where_broadcast(%c: tensor<4x1xi1>, %x: tensor<3xf32>, %y: tensor<2x1xf32>) {
  // expected-error @+2 {{where: dimension 0 of sizes 4 and 2 is not broadcastable (shapes [4, 1], [3], [2, 1])}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.where %c, %x, %y : tensor<4x1xi1>, tensor<3xf32>, tensor<2x1xf32> -> tensor<4x3xf32>
  return
}

// -----

// Contractions
func.func @matmul_contracting(%a: tensor<4x64xf32>, %b: tensor<32x8xf32>) {
  // expected-error @+2 {{matmul: contracting dimensions differ: lhs dim 1 is 64, rhs dim 0 is 32}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.matmul %a, %b : tensor<4x64xf32>, tensor<32x8xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @matmul_rank(%a: tensor<4xf32>, %b: tensor<4x8xf32>) {
  // expected-error @+2 {{matmul: lhs must have rank >= 2, got tensor<4xf32>}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.matmul %a, %b : tensor<4xf32>, tensor<4x8xf32> -> tensor<8xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x4x8xf32>, %b: tensor<3x8x5xf32>) {
  // expected-error @+2 {{matmul: batch dimension 0 of sizes 2 and 3 is not broadcastable (shapes [2], [3])}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.matmul %a, %b : tensor<2x4x8xf32>, tensor<3x8x5xf32> -> tensor<2x4x5xf32>
  return
}

// -----

func.func @gemm_contracting(%a: tensor<4x6xf32>, %b: tensor<5x6xf32>) {
  // expected-error @+2 {{gemm: contracting dimensions differ: a dim 1 is 6, b dim 0 is 5}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.gemm %a, %b : (tensor<4x6xf32>, tensor<5x6xf32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @gemm_c(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>, %c: tensor<4xf32>) {
  // expected-error @+2 {{gemm: c of shape [4] does not broadcast to the result shape [4, 5]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.gemm %a, %b, %c : (tensor<4x6xf32>, tensor<6x5xf32>, tensor<4xf32>) -> tensor<4x5xf32>
  return
}

// -----

// Convolutions
func.func @conv_channels(%x: tensor<1x4x8x8xf32>, %w: tensor<6x3x3x3xf32>) {
  // expected-error @+2 {{conv: input channels 4 differ from filter dim 1 (3) * group (1)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<6x3x3x3xf32>) -> tensor<1x6x6x6xf32>
  return
}

// -----

func.func @conv_group(%x: tensor<1x4x8x8xf32>, %w: tensor<5x2x3x3xf32>) {
  // expected-error @+2 {{conv: filter dim 0 (5 output channels) is not divisible by group 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<5x2x3x3xf32>) -> tensor<1x5x6x6xf32>
  return
}

// -----

func.func @conv_bias(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+2 {{conv: bias must have shape [6], got tensor<4xf32>}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>, tensor<4xf32>) -> tensor<1x6x6x6xf32>
  return
}

// -----

func.func @conv_window(%x: tensor<1x4x2x8xf32>, %w: tensor<6x4x3x3xf32>) {
  // expected-error @+2 {{conv: input dim 2: dilated kernel extent 5 exceeds padded input size 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 2, 2>, group = 1 : i64} : (tensor<1x4x2x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x1x4xf32>
  return
}

// -----

func.func @conv_attr_length(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>) {
  // expected-error @+2 {{conv: pads [0, 0] has 2 entries, expected 4 (begins then ends)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x6x6xf32>
  return
}

// -----

func.func @conv_stride(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>) {
  // expected-error @+2 {{conv: strides[1] is 0, expected >= 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.conv %x, %w {strides = array<i64: 1, 0>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x6x6xf32>
  return
}

// -----

func.func @conv_transpose_channels(%x: tensor<1x4x8x8xf32>, %w: tensor<3x4x3x3xf32>) {
  // expected-error @+2 {{conv_transpose: input channels 4 differ from filter dim 0 (3)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.conv_transpose %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<3x4x3x3xf32>) -> tensor<1x4x10x10xf32>
  return
}

// -----

func.func @conv_transpose_output_padding(%x: tensor<1x4x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+2 {{conv_transpose: output_padding[0] is 2, expected less than the stride or dilation}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.conv_transpose %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, output_padding = array<i64: 2, 0>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x3x19x17xf32>
  return
}

// -----

// Normalisation
func.func @batch_norm_parameter(%x: tensor<2x4x5xf32>, %c: tensor<4xf32>, %v: tensor<5xf32>) {
  // expected-error @+2 {{batch_norm: variance must have shape [4] (the input's channels), got tensor<5xf32>}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.batch_norm %x, %c, %c, %c, %v {epsilon = 1.0e-5 : f32} : (tensor<2x4x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<5xf32>) -> tensor<2x4x5xf32>
  return
}

// -----

func.func @layer_norm_axis(%x: tensor<2x4xf32>, %s: tensor<4xf32>) {
  // expected-error @+2 {{layer_norm: axis -3 is out of range [-2, 2) for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.layer_norm %x, %s {axis = -3 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @layer_norm_scale(%x: tensor<2x4x5xf32>, %s: tensor<4xf32>) {
  // expected-error @+2 {{layer_norm: scale of shape [4] does not broadcast to the normalised shape [4, 5]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.layer_norm %x, %s {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x4x5xf32>, tensor<4xf32>) -> tensor<2x4x5xf32>
  return
}

// -----

func.func @softmax_axis(%x: tensor<2x4xf32>) {
  // expected-error @+2 {{softmax: axis 2 is out of range [-2, 2) for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.softmax %x {axis = 2 : i64} : tensor<2x4xf32> -> tensor<2x4xf32>
  return
}

// -----

// Pooling
func.func @pool_pads(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+2 {{max_pool: pads for input dim 3 (0, 2) must be smaller than kernel 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.max_pool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 2>, dilations = array<i64: 1, 1>} : tensor<1x3x8x8xf32> -> tensor<1x3x4x5xf32>
  return
}

// -----

func.func @pool_window(%x: tensor<1x3x2x8xf32>) {
  // expected-error @+2 {{avg_pool: input dim 2: window extent 3 exceeds padded input size 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.avg_pool %x {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>} : tensor<1x3x2x8xf32> -> tensor<1x3x1x6xf32>
  return
}

// -----

func.func @pool_ceil_mode(%x: tensor<1x3x7x7xf32>) {
  // With ceil_mode the last window must start inside the input or its left
  // padding: 7 with kernel 3, stride 2 gives 3, not 4.
  // expected-error @+2 {{inferred type(s) 'tensor<1x3x3x3xf32>' are incompatible with return type(s) of operation 'tensor<1x3x4x4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.max_pool %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = true} : tensor<1x3x7x7xf32> -> tensor<1x3x4x4xf32>
  return
}

// -----

// Reductions
func.func @reduce_axes_order(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{reduce_sum: axes [2, 0] must be sorted and unique}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.reduce_sum %x {axes = array<i64: 2, 0>, keepdims = false} : tensor<2x3x4xf32> -> tensor<3xf32>
  return
}

// -----

func.func @reduce_axis_range(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{reduce_mean: axis -1 is out of range [0, 3)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.reduce_mean %x {axes = array<i64: -1>, keepdims = false} : tensor<2x3x4xf32> -> tensor<2x3xf32>
  return
}

// -----

// Data movement
func.func @reshape_count(%x: tensor<4x4xf32>) {
  // expected-error @+2 {{reshape: shape [3, 5] has 15 elements, input has 16}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.reshape %x {shape = array<i64: 3, 5>} : tensor<4x4xf32> -> tensor<3x5xf32>
  return
}

// -----

func.func @reshape_unresolved(%x: tensor<4x4xf32>) {
  // expected-error @+2 {{reshape: shape [-1, 8] has negative size -1 at dim 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.reshape %x {shape = array<i64: -1, 8>} : tensor<4x4xf32> -> tensor<2x8xf32>
  return
}

// -----

func.func @transpose_perm(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{transpose: perm [0, 2, 2] is not a permutation of [0, 3)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.transpose %x {perm = array<i64: 0, 2, 2>} : tensor<2x3x4xf32> -> tensor<2x4x4xf32>
  return
}

// -----

func.func @concat_dims(%x: tensor<2x3xf32>, %y: tensor<4x5xf32>) {
  // expected-error @+2 {{concat: input #1 dim 0 is 4, input #0 dim 0 is 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.concat %x, %y {axis = 1 : i64} : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @concat_axis(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{concat: axis -1 is out of range [0, 2) for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.concat %x, %x {axis = -1 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x6xf32>
  return
}

// -----

func.func @concat_elements(%x: tensor<2xf32>, %y: tensor<2xi64>) {
  // expected-error @+2 {{concat: input #1 has element type i64, input #0 has f32}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.concat %x, %y {axis = 0 : i64} : (tensor<2xf32>, tensor<2xi64>) -> tensor<4xf32>
  return
}

// -----

func.func @split_sizes(%x: tensor<2x5xf32>) {
  // expected-error @+2 {{split: sizes [2, 2] do not sum to 5, the size of dim 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = graph.split %x {axis = 1 : i64, sizes = array<i64: 2, 2>} : tensor<2x5xf32> -> tensor<2x2xf32>, tensor<2x2xf32>
  return
}

// -----

func.func @split_results(%x: tensor<2x5xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<2x2xf32>', 'tensor<2x3xf32>' are incompatible with return type(s) of operation 'tensor<2x5xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.split %x {axis = 1 : i64, sizes = array<i64: 2, 3>} : tensor<2x5xf32> -> tensor<2x5xf32>
  return
}

// -----

func.func @slice_step(%x: tensor<4x4xf32>) {
  // expected-error @+2 {{slice: steps[1] is 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.slice %x {starts = array<i64: 0, 0>, sizes = array<i64: 2, 2>, steps = array<i64: 1, 0>} : tensor<4x4xf32> -> tensor<2x2xf32>
  return
}

// -----

func.func @slice_start(%x: tensor<4x4xf32>) {
  // expected-error @+2 {{slice: dim 0: start 4 is outside [0, 4)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.slice %x {starts = array<i64: 4, 0>, sizes = array<i64: 1, 2>, steps = array<i64: 1, 1>} : tensor<4x4xf32> -> tensor<1x2xf32>
  return
}

// -----

func.func @slice_last(%x: tensor<4x4xf32>) {
  // expected-error @+2 {{slice: dim 1: last index (start 1 + (size 3 - 1) * step -1) is outside [0, 4)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.slice %x {starts = array<i64: 0, 1>, sizes = array<i64: 4, 3>, steps = array<i64: 1, -1>} : tensor<4x4xf32> -> tensor<4x3xf32>
  return
}

// -----

func.func @slice_entries(%x: tensor<4x4xf32>) {
  // expected-error @+2 {{slice: starts [0] has 1 entries, expected 2 (one per input dim)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.slice %x {starts = array<i64: 0>, sizes = array<i64: 4, 4>, steps = array<i64: 1, 1>} : tensor<4x4xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @gather_indices(%x: tensor<4x4xf32>, %i: tensor<2xf32>) {
  // expected-error @+2 {{gather: operand 'indices' has element type f32; expected i64 or i32}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.gather %x, %i {axis = 0 : i64} : tensor<4x4xf32>, tensor<2xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @gather_axis(%x: tensor<4x4xf32>, %i: tensor<2xi64>) {
  // expected-error @+2 {{gather: axis 2 is out of range [0, 2) for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.gather %x, %i {axis = 2 : i64} : tensor<4x4xf32>, tensor<2xi64> -> tensor<4x2xf32>
  return
}

// -----

func.func @broadcast_to_shape(%x: tensor<3x4xf32>) {
  // expected-error @+2 {{broadcast_to: dimension 1 of sizes 3 and 2 is not broadcastable (shapes [3, 4], [2, 2, 4])}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.broadcast_to %x {shape = array<i64: 2, 2, 4>} : tensor<3x4xf32> -> tensor<2x2x4xf32>
  return
}

// -----

func.func @pad_entries(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{pad: pads [1, 1] has 2 entries, expected 4 (begins then ends)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.pad %x {pads = array<i64: 1, 1>, mode = "constant", value = 0.0 : f64} : tensor<2x3xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @pad_negative(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{pad: dim 1 of size 3 with pads -2 and -2 has negative size -1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.pad %x {pads = array<i64: 0, -2, 0, -2>, mode = "constant", value = 0.0 : f64} : tensor<2x3xf32> -> tensor<2x0xf32>
  return
}

// -----

func.func @pad_mode(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{pad: mode "wrap" is not one of "constant", "reflect", "edge"}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.pad %x {pads = array<i64: 0, 1, 0, 1>, mode = "wrap", value = 0.0 : f64} : tensor<2x3xf32> -> tensor<2x5xf32>
  return
}

// -----

func.func @pad_reflect(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{pad: dim 1 of size 3: reflect pads 3 and 0 must each be less than the size}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.pad %x {pads = array<i64: 0, 3, 0, 0>, mode = "reflect", value = 0.0 : f64} : tensor<2x3xf32> -> tensor<2x6xf32>
  return
}

// -----

func.func @resize_mode(%x: tensor<1x1x2x2xf32>) {
  // expected-error @+2 {{resize: mode "cubic" is not one of "nearest", "linear"}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.resize %x {sizes = array<i64: 1, 1, 4, 4>, scales = array<f32: 1.0, 1.0, 2.0, 2.0>, mode = "cubic", coordinate_transformation_mode = "asymmetric", nearest_mode = "floor"} : tensor<1x1x2x2xf32> -> tensor<1x1x4x4xf32>
  return
}

// -----

func.func @resize_scales(%x: tensor<1x1x2x2xf32>) {
  // expected-error @+2 {{resize: scales[3] is 0, expected a positive number}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.resize %x {sizes = array<i64: 1, 1, 4, 4>, scales = array<f32: 1.0, 1.0, 2.0, 0.0>, mode = "nearest", coordinate_transformation_mode = "asymmetric", nearest_mode = "floor"} : tensor<1x1x2x2xf32> -> tensor<1x1x4x4xf32>
  return
}

// -----

func.func @resize_coordinate_mode(%x: tensor<1x1x2x2xf32>) {
  // expected-error @+2 {{resize: coordinate_transformation_mode "tf_crop_and_resize" is not one of "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.resize %x {sizes = array<i64: 1, 1, 4, 4>, scales = array<f32: 1.0, 1.0, 2.0, 2.0>, mode = "nearest", coordinate_transformation_mode = "tf_crop_and_resize", nearest_mode = "floor"} : tensor<1x1x2x2xf32> -> tensor<1x1x4x4xf32>
  return
}

// -----

func.func @conv_filter_grad_spatial(%x: tensor<1x4x8x8xf32>, %dy: tensor<1x6x5x4xf32>) {
  // expected-error @+2 {{conv_filter_grad: grad spatial sizes [5, 4] differ from the conv result's [4, 4]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.conv_filter_grad %x, %dy {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<1x4x8x8xf32>, tensor<1x6x5x4xf32> -> tensor<6x4x3x3xf32>
  return
}

// -----

func.func @conv_filter_grad_group(%x: tensor<1x4x8x8xf32>, %dy: tensor<1x6x4x4xf32>) {
  // expected-error @+2 {{conv_filter_grad: grad channels 6 are not divisible by group 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.conv_filter_grad %x, %dy {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 4 : i64} : tensor<1x4x8x8xf32>, tensor<1x6x4x4xf32> -> tensor<6x1x3x3xf32>
  return
}

// -----

func.func @max_pool_grad_shape(%x: tensor<1x2x7x7xf32>, %dy: tensor<1x2x3x3xf32>) {
  // expected-error @+2 {{max_pool_grad: grad of type tensor<1x2x3x3xf32> does not have the max_pool result shape [1, 2, 4, 4] of input tensor<1x2x7x7xf32>}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.max_pool_grad %x, %dy {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, ceil_mode = true} : tensor<1x2x7x7xf32>, tensor<1x2x3x3xf32> -> tensor<1x2x7x7xf32>
  return
}

// -----

func.func @avg_pool_grad_input_shape(%dy: tensor<1x2x3x3xf32>) {
  // expected-error @+2 {{avg_pool_grad: input_spatial_shape [7, 7, 7] has 3 entries, expected 2 (one per spatial dim)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.avg_pool_grad %dy {input_spatial_shape = array<i64: 7, 7, 7>, kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>} : tensor<1x2x3x3xf32> -> tensor<1x2x7x7xf32>
  return
}

// -----

func.func @resize_grad_sizes(%dy: tensor<1x1x4x4xf32>) {
  // expected-error @+2 {{resize_grad: sizes [1, 1, 2] has 3 entries, expected 4 (one per grad dim)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.resize_grad %dy {sizes = array<i64: 1, 1, 2>, scales = array<f32: 1.0, 1.0, 2.0, 2.0>, mode = "linear", coordinate_transformation_mode = "asymmetric", nearest_mode = "floor"} : tensor<1x1x4x4xf32> -> tensor<1x1x2x2xf32>
  return
}
