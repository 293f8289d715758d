// RUN: ssc-opt %s -split-input-file -graph-print-dim-annotations -verify-diagnostics -o /dev/null

// Each op kind's dimension annotation. Plain labels split and stay, `+`
// labels split into partial sums, `^` labels cannot split, `1` is a size-1
// dim broadcast against a larger one.

func.func @constants() {
  // expected-remark @below {{-> a^ b^}}
  %0 = graph.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  // expected-remark @below {{->}}
  %1 = graph.constant dense<7> : tensor<i64>
  return
}

// -----

func.func @unary(%x: tensor<2x3xf32>, %b: tensor<4xi1>, %s: tensor<f32>) {
  // expected-remark @below {{a b -> a b}}
  %0 = graph.neg %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // expected-remark @below {{a b -> a b}}
  %1 = graph.abs %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // expected-remark @below {{a b -> a b}}
  %2 = graph.exp %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // expected-remark @below {{a b -> a b}}
  %3 = graph.log %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // expected-remark @below {{a b -> a b}}
  %4 = graph.tanh %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // expected-remark @below {{a b -> a b}}
  %5 = graph.erf %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // expected-remark @below {{a b -> a b}}
  %6 = graph.relu %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // expected-remark @below {{a b -> a b}}
  %7 = graph.sigmoid %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // expected-remark @below {{a b -> a b}}
  %8 = graph.sqrt %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // expected-remark @below {{a b -> a b}}
  %9 = graph.reciprocal %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // expected-remark @below {{a b -> a b}}
  %10 = graph.hard_swish %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // expected-remark @below {{a -> a}}
  %11 = graph.not %b : tensor<4xi1> -> tensor<4xi1>
  // expected-remark @below {{a b -> a b}}
  %12 = graph.leaky_relu %x {alpha = 0.01 : f32} : tensor<2x3xf32> -> tensor<2x3xf32>
  // expected-remark @below {{a b -> a b}}
  %13 = graph.hard_sigmoid %x {alpha = 0.2 : f32, beta = 0.5 : f32} : tensor<2x3xf32> -> tensor<2x3xf32>
  // expected-remark @below {{a b -> a b}}
  %14 = graph.clip %x {min = 0.0 : f32, max = 6.0 : f32} : tensor<2x3xf32> -> tensor<2x3xf32>
  // expected-remark @below {{a b -> a b}}
  %15 = graph.gelu %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // expected-remark @below {{a b -> a b}}
  %16 = graph.cast %x {to = i64} : tensor<2x3xf32> -> tensor<2x3xi64>
  // expected-remark @below {{->}}
  %17 = graph.neg %s : tensor<f32> -> tensor<f32>
  return
}

// -----

// Labels beyond z continue as a0, b0, ...
func.func @many_dims(%x: tensor<1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1xf32>) {
  // expected-remark @below {{a b c d e f g h i j k l m n o p q r s t u v w x y z a0 b0 -> a b c d e f g h i j k l m n o p q r s t u v w x y z a0 b0}}
  %0 = graph.relu %x : tensor<1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1xf32> -> tensor<1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1xf32>
  return
}

// -----

func.func @binary(%x: tensor<2x3xf32>, %y: tensor<3xf32>, %i: tensor<4x1xi64>,
                  %j: tensor<5xi64>, %c: tensor<2x1xi1>, %s: tensor<f32>) {
  // expected-remark @below {{a b, b -> a b}}
  %0 = graph.add %x, %y : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  // expected-remark @below {{a 1, b -> a b}}
  %1 = graph.sub %i, %j : tensor<4x1xi64>, tensor<5xi64> -> tensor<4x5xi64>
  // expected-remark @below {{a b, -> a b}}
  %2 = graph.mul %x, %s : tensor<2x3xf32>, tensor<f32> -> tensor<2x3xf32>
  // expected-remark @below {{a 1, b -> a b}}
  %3 = graph.div %i, %j : tensor<4x1xi64>, tensor<5xi64> -> tensor<4x5xi64>
  // expected-remark @below {{a b, b -> a b}}
  %4 = graph.pow %x, %y : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  // expected-remark @below {{a 1, b -> a b}}
  %5 = graph.equal %i, %j : tensor<4x1xi64>, tensor<5xi64> -> tensor<4x5xi1>
  // expected-remark @below {{a b, b -> a b}}
  %6 = graph.less %x, %y : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xi1>
  // expected-remark @below {{b, a b -> a b}}
  %7 = graph.greater %y, %x : tensor<3xf32>, tensor<2x3xf32> -> tensor<2x3xi1>
  // expected-remark @below {{a 1, a b, b -> a b}}
  %8 = graph.where %c, %x, %y : tensor<2x1xi1>, tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @contractions(%a: tensor<2x1x3x4xf32>, %b: tensor<5x4x6xf32>, %p: tensor<3x4xf32>,
                        %q: tensor<4x6xf32>, %m: tensor<4x3xf32>, %n: tensor<5x4xf32>,
                        %c: tensor<5xf32>, %d: tensor<3x1xf32>) {
  // expected-remark @below {{a 1 c d+, b d+ e -> a b c e}}
  %0 = graph.matmul %a, %b : tensor<2x1x3x4xf32>, tensor<5x4x6xf32> -> tensor<2x5x3x6xf32>
  // expected-remark @below {{a b+, b+ c -> a c}}
  %1 = graph.matmul %p, %q : tensor<3x4xf32>, tensor<4x6xf32> -> tensor<3x6xf32>
  // expected-remark @below {{b+ a, c b+, c -> a c}}
  %2 = graph.gemm %m, %n, %c {trans_a = true, trans_b = true} : (tensor<4x3xf32>, tensor<5x4xf32>, tensor<5xf32>) -> tensor<3x5xf32>
  // expected-remark @below {{a b+, b+ c, a 1 -> a c}}
  %3 = graph.gemm %p, %q, %d : (tensor<3x4xf32>, tensor<4x6xf32>, tensor<3x1xf32>) -> tensor<3x6xf32>
  return
}

// -----

// Grouped convolutions freeze both channel dims: an output channel reads
// only its group's input channels.
func.func @convolutions(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>, %b: tensor<6xf32>,
                        %wg: tensor<6x2x3x3xf32>, %wt: tensor<4x3x3x3xf32>,
                        %wtg: tensor<4x3x3x3xf32>, %bt: tensor<6xf32>) {
  // expected-remark @below {{a b+ c^ d^, e b+ f^ g^, e -> a e h^ i^}}
  %0 = graph.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>, tensor<6xf32>) -> tensor<1x6x8x8xf32>
  // expected-remark @below {{a b^ c^ d^, e^ f^ g^ h^ -> a e^ i^ j^}}
  %1 = graph.conv %x, %wg {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<1x6x4x4xf32>
  // expected-remark @below {{a b+ c^ d^, b+ e f^ g^ -> a e h^ i^}}
  %2 = graph.conv_transpose %x, %wt {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, output_padding = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x3x16x16xf32>
  // expected-remark @below {{a b^ c^ d^, b^ e^ f^ g^, h^ -> a h^ i^ j^}}
  %3 = graph.conv_transpose %x, %wtg, %bt {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, group = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<4x3x3x3xf32>, tensor<6xf32>) -> tensor<1x6x10x10xf32>
  return
}

// -----

func.func @normalization(%x: tensor<2x4x5xf32>, %c: tensor<4xf32>, %s: tensor<5xf32>,
                         %t: tensor<4x5xf32>, %u: tensor<1x5xf32>) {
  // expected-remark @below {{a b c, b, b, b, b -> a b c}}
  %0 = graph.batch_norm %x, %c, %c, %c, %c {epsilon = 1.0e-5 : f32} : (tensor<2x4x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x5xf32>
  // expected-remark @below {{a b c^, c^, c^ -> a b c^}}
  %1 = graph.layer_norm %x, %s, %s {axis = -1 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x4x5xf32>, tensor<5xf32>, tensor<5xf32>) -> tensor<2x4x5xf32>
  // expected-remark @below {{a b^ c^, b^ c^ -> a b^ c^}}
  %2 = graph.layer_norm %x, %t {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x4x5xf32>, tensor<4x5xf32>) -> tensor<2x4x5xf32>
  // expected-remark @below {{a b^ c^, 1 c^ -> a b^ c^}}
  %3 = graph.layer_norm %x, %u {axis = -2 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x4x5xf32>, tensor<1x5xf32>) -> tensor<2x4x5xf32>
  // expected-remark @below {{a b c^ -> a b c^}}
  %4 = graph.softmax %x {axis = -1 : i64} : tensor<2x4x5xf32> -> tensor<2x4x5xf32>
  // expected-remark @below {{a b^ c -> a b^ c}}
  %5 = graph.log_softmax %x {axis = 1 : i64} : tensor<2x4x5xf32> -> tensor<2x4x5xf32>
  return
}

// -----

func.func @pooling(%x: tensor<1x3x7x7xf32>) {
  // expected-remark @below {{a b c^ d^ -> a b e^ f^}}
  %0 = graph.max_pool %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = true} : tensor<1x3x7x7xf32> -> tensor<1x3x3x3xf32>
  // expected-remark @below {{a b c^ d^ -> a b e^ f^}}
  %1 = graph.avg_pool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>} : tensor<1x3x7x7xf32> -> tensor<1x3x4x4xf32>
  return
}

// -----

// Sums split into partial sums; a mean of partial means or a max of partial
// maxima is no partial sum, so those reduced dims are frozen.
func.func @reductions(%x: tensor<2x3x4xf32>) {
  // expected-remark @below {{a b+ c -> a 1 c}}
  %0 = graph.reduce_sum %x {axes = array<i64: 1>, keepdims = true} : tensor<2x3x4xf32> -> tensor<2x1x4xf32>
  // expected-remark @below {{a+ b c+ -> b}}
  %1 = graph.reduce_sum %x {axes = array<i64: 0, 2>, keepdims = false} : tensor<2x3x4xf32> -> tensor<3xf32>
  // expected-remark @below {{a^ b c^ -> 1 b 1}}
  %2 = graph.reduce_mean %x {axes = array<i64: 0, 2>, keepdims = true} : tensor<2x3x4xf32> -> tensor<1x3x1xf32>
  // expected-remark @below {{a b c^ -> a b}}
  %3 = graph.reduce_max %x {axes = array<i64: 2>, keepdims = false} : tensor<2x3x4xf32> -> tensor<2x3xf32>
  return
}

// -----

// Reshapes, with grouped dims: reshape-annotations.mlir.
func.func @reshapes(%x: tensor<2x3x4xf32>, %y: tensor<6x4xf32>) {
  // expected-remark @below {{a b c^ -> a (b c^)}}
  %0 = graph.reshape %x {shape = array<i64: 2, 12>} : tensor<2x3x4xf32> -> tensor<2x12xf32>
  // expected-remark @below {{(a b^) c -> a b^ c}}
  %1 = graph.reshape %y {shape = array<i64: 2, 3, 4>} : tensor<6x4xf32> -> tensor<2x3x4xf32>
  return
}

// -----

func.func @data_movement(%x: tensor<2x3x4xf32>, %y: tensor<2x5x4xf32>, %i: tensor<2xi64>,
                         %k: tensor<i32>, %s: tensor<1x3x1xi32>) {
  // expected-remark @below {{a b c -> c a b}}
  %0 = graph.transpose %x {perm = array<i64: 2, 0, 1>} : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  // expected-remark @below {{a b^ c, a d^ c, a e^ c -> a f^ c}}
  %1 = graph.concat %x, %y, %x {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x5x4xf32>, tensor<2x3x4xf32>) -> tensor<2x11x4xf32>
  // expected-remark @below {{a b^ c -> a d^ c, a e^ c}}
  %2:2 = graph.split %y {axis = 1 : i64, sizes = array<i64: 2, 3>} : tensor<2x5x4xf32> -> tensor<2x2x4xf32>, tensor<2x3x4xf32>
  // expected-remark @below {{a b^ c^ -> a d^ e^}}
  %3 = graph.slice %x {starts = array<i64: 0, 2, 1>, sizes = array<i64: 2, 2, 2>, steps = array<i64: 1, -1, 2>} : tensor<2x3x4xf32> -> tensor<2x2x2xf32>
  // expected-remark @below {{a b c^, d -> a b d}}
  %4 = graph.gather %x, %i {axis = 2 : i64} : tensor<2x3x4xf32>, tensor<2xi64> -> tensor<2x3x2xf32>
  // expected-remark @below {{a^ b c, -> b c}}
  %5 = graph.gather %x, %k {axis = 0 : i64} : tensor<2x3x4xf32>, tensor<i32> -> tensor<3x4xf32>
  // expected-remark @below {{1 b 1 -> a b c}}
  %6 = graph.broadcast_to %s {shape = array<i64: 2, 1, 5>} : tensor<1x3x1xi32> -> tensor<2x3x5xi32>
  // expected-remark @below {{a b^ c -> a d^ c}}
  %7 = graph.pad %x {pads = array<i64: 0, 1, 0, 0, -1, 0>, mode = "edge", value = 0.0 : f64} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  // expected-remark @below {{a b^ c -> a d^ c}}
  %8 = graph.resize %x {sizes = array<i64: 2, 6, 4>, scales = array<f32: 1.0, 2.0, 1.0>, mode = "nearest", coordinate_transformation_mode = "asymmetric", nearest_mode = "floor"} : tensor<2x3x4xf32> -> tensor<2x6x4xf32>
  return
}

// -----

// Gradient ops of convolutions and pools: the filter gradient sums the
// batch (a data-parallel piece yields a partial sum), groups freeze its
// channel dims; pool gradients keep batch and channels.
func.func @spatial_gradients(%x: tensor<2x4x8x8xf32>, %dy: tensor<2x6x4x4xf32>,
                             %p: tensor<2x4x4x4xf32>, %r: tensor<2x4x16x8xf32>) {
  // expected-remark @below {{a+ b c^ d^, a+ e f^ g^ -> e b h^ i^}}
  %0 = graph.conv_filter_grad %x, %dy {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<2x4x8x8xf32>, tensor<2x6x4x4xf32> -> tensor<6x4x3x3xf32>
  // expected-remark @below {{a+ b^ c^ d^, a+ e^ f^ g^ -> e^ h^ i^ j^}}
  %1 = graph.conv_filter_grad %x, %dy {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 2 : i64} : tensor<2x4x8x8xf32>, tensor<2x6x4x4xf32> -> tensor<6x2x3x3xf32>
  // expected-remark @below {{a b c^ d^, a b e^ f^ -> a b c^ d^}}
  %2 = graph.max_pool_grad %x, %p {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : tensor<2x4x8x8xf32>, tensor<2x4x4x4xf32> -> tensor<2x4x8x8xf32>
  // expected-remark @below {{a b e^ f^ -> a b c^ d^}}
  %3 = graph.avg_pool_grad %p {input_spatial_shape = array<i64: 8, 8>, kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>} : tensor<2x4x4x4xf32> -> tensor<2x4x8x8xf32>
  // expected-remark @below {{a b c^ d -> a b e^ d}}
  %4 = graph.resize_grad %r {sizes = array<i64: 2, 4, 8, 8>, scales = array<f32: 1.0, 1.0, 2.0, 1.0>, mode = "linear", coordinate_transformation_mode = "half_pixel", nearest_mode = "floor"} : tensor<2x4x16x8xf32> -> tensor<2x4x8x8xf32>
  return
}
