// RUN: ssc-opt %s -split-input-file | ssc-opt -split-input-file | FileCheck %s

// Every graph op prints and parses back unchanged.

// CHECK-LABEL: func.func @constant
func.func @constant() -> (tensor<2x2xf32>, tensor<i64>, tensor<3xi1>) {
  // CHECK: graph.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
  %0 = graph.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  // CHECK: graph.constant dense<7> : tensor<i64>
  %1 = graph.constant dense<7> : tensor<i64>
  // CHECK: graph.constant dense<[true, false, true]> : tensor<3xi1>
  %2 = graph.constant dense<[true, false, true]> : tensor<3xi1>
  return %0, %1, %2 : tensor<2x2xf32>, tensor<i64>, tensor<3xi1>
}

// -----

// CHECK-LABEL: func.func @unary
func.func @unary(%x: tensor<2x3xf32>, %i: tensor<4xi64>, %b: tensor<4xi1>) {
  // CHECK: graph.neg %{{.*}} : tensor<2x3xf32> -> tensor<2x3xf32>
  %0 = graph.neg %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // CHECK: graph.neg %{{.*}} : tensor<4xi64> -> tensor<4xi64>
  %1 = graph.neg %i : tensor<4xi64> -> tensor<4xi64>
  // CHECK: graph.abs
  %2 = graph.abs %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // CHECK: graph.exp
  %3 = graph.exp %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // CHECK: graph.log
  %4 = graph.log %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // CHECK: graph.tanh
  %5 = graph.tanh %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // CHECK: graph.erf
  %6 = graph.erf %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // CHECK: graph.relu
  %7 = graph.relu %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // CHECK: graph.sigmoid
  %8 = graph.sigmoid %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // CHECK: graph.sqrt
  %9 = graph.sqrt %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // CHECK: graph.reciprocal
  %10 = graph.reciprocal %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // CHECK: graph.hard_swish
  %11 = graph.hard_swish %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // CHECK: graph.not %{{.*}} : tensor<4xi1> -> tensor<4xi1>
  %12 = graph.not %b : tensor<4xi1> -> tensor<4xi1>
  // CHECK: graph.leaky_relu %{{.*}} {alpha = 0.00999999977 : f32} : tensor<2x3xf32> -> tensor<2x3xf32>
  %13 = graph.leaky_relu %x {alpha = 0.01 : f32} : tensor<2x3xf32> -> tensor<2x3xf32>
  // CHECK: graph.hard_sigmoid %{{.*}} {alpha = 2.000000e-01 : f32, beta = 5.000000e-01 : f32}
  %14 = graph.hard_sigmoid %x {alpha = 0.2 : f32, beta = 0.5 : f32} : tensor<2x3xf32> -> tensor<2x3xf32>
  // CHECK: graph.clip %{{.*}} {max = 6.000000e+00 : f32, min = 0.000000e+00 : f32}
  %15 = graph.clip %x {min = 0.0 : f32, max = 6.0 : f32} : tensor<2x3xf32> -> tensor<2x3xf32>
  // CHECK: graph.gelu %{{.*}} : tensor<2x3xf32> -> tensor<2x3xf32>
  %16 = graph.gelu %x : tensor<2x3xf32> -> tensor<2x3xf32>
  // CHECK: graph.gelu %{{.*}} {approximate = "tanh"} : tensor<2x3xf32> -> tensor<2x3xf32>
  %17 = graph.gelu %x {approximate = "tanh"} : tensor<2x3xf32> -> tensor<2x3xf32>
  // CHECK: graph.cast %{{.*}} {to = i64} : tensor<2x3xf32> -> tensor<2x3xi64>
  %18 = graph.cast %x {to = i64} : tensor<2x3xf32> -> tensor<2x3xi64>
  return
}

// -----

// CHECK-LABEL: func.func @binary
func.func @binary(%x: tensor<2x3xf32>, %y: tensor<3xf32>, %i: tensor<4x1xi64>,
                  %j: tensor<5xi64>, %c: tensor<2x1xi1>) {
  // CHECK: graph.add %{{.*}}, %{{.*}} : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  %0 = graph.add %x, %y : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  // CHECK: graph.sub %{{.*}}, %{{.*}} : tensor<4x1xi64>, tensor<5xi64> -> tensor<4x5xi64>
  %1 = graph.sub %i, %j : tensor<4x1xi64>, tensor<5xi64> -> tensor<4x5xi64>
  // CHECK: graph.mul
  %2 = graph.mul %x, %y : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  // CHECK: graph.div
  %3 = graph.div %i, %j : tensor<4x1xi64>, tensor<5xi64> -> tensor<4x5xi64>
  // CHECK: graph.pow
  %4 = graph.pow %x, %y : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  // CHECK: graph.equal %{{.*}}, %{{.*}} : tensor<4x1xi64>, tensor<5xi64> -> tensor<4x5xi1>
  %5 = graph.equal %i, %j : tensor<4x1xi64>, tensor<5xi64> -> tensor<4x5xi1>
  // CHECK: graph.less %{{.*}}, %{{.*}} : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xi1>
  %6 = graph.less %x, %y : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xi1>
  // CHECK: graph.greater
  %7 = graph.greater %x, %y : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xi1>
  // CHECK: graph.where %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x1xi1>, tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  %8 = graph.where %c, %x, %y : tensor<2x1xi1>, tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  return
}

// -----

// CHECK-LABEL: func.func @contractions
func.func @contractions(%a: tensor<2x1x3x4xf32>, %b: tensor<5x4x6xf32>,
                        %m: tensor<4x3xf32>, %n: tensor<5x4xf32>, %c: tensor<5xf32>) {
  // CHECK: graph.matmul %{{.*}}, %{{.*}} : tensor<2x1x3x4xf32>, tensor<5x4x6xf32> -> tensor<2x5x3x6xf32>
  %0 = graph.matmul %a, %b : tensor<2x1x3x4xf32>, tensor<5x4x6xf32> -> tensor<2x5x3x6xf32>
  // CHECK: graph.gemm %{{.*}}, %{{.*}}, %{{.*}} {alpha = 5.000000e-01 : f32, trans_a = true, trans_b = true} : (tensor<4x3xf32>, tensor<5x4xf32>, tensor<5xf32>) -> tensor<3x5xf32>
  %1 = graph.gemm %m, %n, %c {trans_a = true, trans_b = true, alpha = 0.5 : f32} : (tensor<4x3xf32>, tensor<5x4xf32>, tensor<5xf32>) -> tensor<3x5xf32>
  // CHECK: graph.gemm %{{.*}}, %{{.*}} : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x4xf32>
  %2 = graph.gemm %m, %m {trans_b = true} : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x4xf32>
  return
}

// -----

// CHECK-LABEL: func.func @convolutions
func.func @convolutions(%x: tensor<1x4x8x8xf32>, %w: tensor<6x2x3x3xf32>, %b: tensor<6xf32>,
                        %wt: tensor<4x3x3x3xf32>) {
  // CHECK: graph.conv %{{.*}}, %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<1x6x4x4xf32>
  %0 = graph.conv %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<1x6x4x4xf32>
  // CHECK: graph.conv_transpose %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, group = 1 : i64, output_padding = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x3x16x16xf32>
  %1 = graph.conv_transpose %x, %wt {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, output_padding = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x3x16x16xf32>
  return
}

// -----

// CHECK-LABEL: func.func @normalization
func.func @normalization(%x: tensor<2x4x5xf32>, %c: tensor<4xf32>, %s: tensor<5xf32>,
                         %t: tensor<4x5xf32>) {
  // CHECK: graph.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 9.99999974E-6 : f32} : (tensor<2x4x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x5xf32>
  %0 = graph.batch_norm %x, %c, %c, %c, %c {epsilon = 1.0e-5 : f32} : (tensor<2x4x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x5xf32>
  // CHECK: graph.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {axis = -1 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<2x4x5xf32>, tensor<5xf32>, tensor<5xf32>) -> tensor<2x4x5xf32>
  %1 = graph.layer_norm %x, %s, %s {axis = -1 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x4x5xf32>, tensor<5xf32>, tensor<5xf32>) -> tensor<2x4x5xf32>
  // CHECK: graph.layer_norm %{{.*}}, %{{.*}} {axis = 1 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<2x4x5xf32>, tensor<4x5xf32>) -> tensor<2x4x5xf32>
  %2 = graph.layer_norm %x, %t {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x4x5xf32>, tensor<4x5xf32>) -> tensor<2x4x5xf32>
  // CHECK: graph.softmax %{{.*}} {axis = -1 : i64} : tensor<2x4x5xf32> -> tensor<2x4x5xf32>
  %3 = graph.softmax %x {axis = -1 : i64} : tensor<2x4x5xf32> -> tensor<2x4x5xf32>
  // CHECK: graph.log_softmax %{{.*}} {axis = 1 : i64} : tensor<2x4x5xf32> -> tensor<2x4x5xf32>
  %4 = graph.log_softmax %x {axis = 1 : i64} : tensor<2x4x5xf32> -> tensor<2x4x5xf32>
  return
}

// -----

// CHECK-LABEL: func.func @pooling
func.func @pooling(%x: tensor<1x3x7x7xf32>) {
  // CHECK: graph.max_pool %{{.*}} {ceil_mode = true, dilations = array<i64: 1, 1>, kernel = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : tensor<1x3x7x7xf32> -> tensor<1x3x3x3xf32>
  %0 = graph.max_pool %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = true} : tensor<1x3x7x7xf32> -> tensor<1x3x3x3xf32>
  // CHECK: graph.avg_pool %{{.*}} {count_include_pad = true, kernel = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : tensor<1x3x7x7xf32> -> tensor<1x3x4x4xf32>
  %1 = graph.avg_pool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, count_include_pad = true} : tensor<1x3x7x7xf32> -> tensor<1x3x4x4xf32>
  return
}

// -----

// CHECK-LABEL: func.func @reductions
func.func @reductions(%x: tensor<2x3x4xf32>) {
  // CHECK: graph.reduce_sum %{{.*}} {axes = array<i64: 1>, keepdims = true} : tensor<2x3x4xf32> -> tensor<2x1x4xf32>
  %0 = graph.reduce_sum %x {axes = array<i64: 1>, keepdims = true} : tensor<2x3x4xf32> -> tensor<2x1x4xf32>
  // CHECK: graph.reduce_mean %{{.*}} {axes = array<i64: 0, 2>, keepdims = false} : tensor<2x3x4xf32> -> tensor<3xf32>
  %1 = graph.reduce_mean %x {axes = array<i64: 0, 2>, keepdims = false} : tensor<2x3x4xf32> -> tensor<3xf32>
  // CHECK: graph.reduce_max %{{.*}} {axes = array<i64: 2>, keepdims = false} : tensor<2x3x4xf32> -> tensor<2x3xf32>
  %2 = graph.reduce_max %x {axes = array<i64: 2>, keepdims = false} : tensor<2x3x4xf32> -> tensor<2x3xf32>
  return
}

// -----

// CHECK-LABEL: func.func @data_movement
func.func @data_movement(%x: tensor<2x3x4xf32>, %y: tensor<2x5x4xf32>, %i: tensor<2xi64>,
                         %s: tensor<1x3x1xi32>) {
  // CHECK: graph.reshape %{{.*}} {shape = array<i64: 6, 4>} : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %0 = graph.reshape %x {shape = array<i64: 6, 4>} : tensor<2x3x4xf32> -> tensor<6x4xf32>
  // CHECK: graph.transpose %{{.*}} {perm = array<i64: 2, 0, 1>} : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  %1 = graph.transpose %x {perm = array<i64: 2, 0, 1>} : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  // CHECK: graph.concat %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x5x4xf32>) -> tensor<2x8x4xf32>
  %2 = graph.concat %x, %y {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x5x4xf32>) -> tensor<2x8x4xf32>
  // CHECK: graph.split %{{.*}} {axis = 1 : i64, sizes = array<i64: 2, 3>} : tensor<2x5x4xf32> -> tensor<2x2x4xf32>, tensor<2x3x4xf32>
  %3:2 = graph.split %y {axis = 1 : i64, sizes = array<i64: 2, 3>} : tensor<2x5x4xf32> -> tensor<2x2x4xf32>, tensor<2x3x4xf32>
  // CHECK: graph.slice %{{.*}} {sizes = array<i64: 2, 2, 2>, starts = array<i64: 0, 2, 1>, steps = array<i64: 1, -1, 2>} : tensor<2x3x4xf32> -> tensor<2x2x2xf32>
  %4 = graph.slice %x {starts = array<i64: 0, 2, 1>, sizes = array<i64: 2, 2, 2>, steps = array<i64: 1, -1, 2>} : tensor<2x3x4xf32> -> tensor<2x2x2xf32>
  // CHECK: graph.gather %{{.*}}, %{{.*}} {axis = 2 : i64} : tensor<2x3x4xf32>, tensor<2xi64> -> tensor<2x3x2xf32>
  %5 = graph.gather %x, %i {axis = 2 : i64} : tensor<2x3x4xf32>, tensor<2xi64> -> tensor<2x3x2xf32>
  // CHECK: graph.broadcast_to %{{.*}} {shape = array<i64: 2, 1, 5>} : tensor<1x3x1xi32> -> tensor<2x3x5xi32>
  %6 = graph.broadcast_to %s {shape = array<i64: 2, 1, 5>} : tensor<1x3x1xi32> -> tensor<2x3x5xi32>
  // CHECK: graph.pad %{{.*}} {mode = "reflect", pads = array<i64: 0, 1, 2, 0, -1, 1>, value = 0.000000e+00 : f64} : tensor<2x3x4xf32> -> tensor<2x3x7xf32>
  %7 = graph.pad %x {pads = array<i64: 0, 1, 2, 0, -1, 1>, mode = "reflect", value = 0.0 : f64} : tensor<2x3x4xf32> -> tensor<2x3x7xf32>
  // CHECK: graph.resize %{{.*}} {coordinate_transformation_mode = "half_pixel", mode = "linear", nearest_mode = "floor", scales = array<f32: 1.000000e+00, 2.000000e+00, 2.000000e+00>, sizes = array<i64: 2, 6, 8>} : tensor<2x3x4xf32> -> tensor<2x6x8xf32>
  %8 = graph.resize %x {sizes = array<i64: 2, 6, 8>, scales = array<f32: 1.0, 2.0, 2.0>, mode = "linear", coordinate_transformation_mode = "half_pixel", nearest_mode = "floor"} : tensor<2x3x4xf32> -> tensor<2x6x8xf32>
  return
}

// -----

// CHECK-LABEL: func.func @spatial_gradients
func.func @spatial_gradients(%x: tensor<2x4x8x8xf32>, %dy: tensor<2x6x4x4xf32>, %p: tensor<2x4x4x4xf32>) {
  // CHECK: graph.conv_filter_grad %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, group = 2 : i64, kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : tensor<2x4x8x8xf32>, tensor<2x6x4x4xf32> -> tensor<6x2x3x3xf32>
  %0 = graph.conv_filter_grad %x, %dy {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 2 : i64} : tensor<2x4x8x8xf32>, tensor<2x6x4x4xf32> -> tensor<6x2x3x3xf32>
  // CHECK: graph.max_pool_grad %{{.*}}, %{{.*}} {ceil_mode = true, dilations = array<i64: 1, 1>, kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 0, 0>, strides = array<i64: 2, 2>} : tensor<2x4x8x8xf32>, tensor<2x4x4x4xf32> -> tensor<2x4x8x8xf32>
  %1 = graph.max_pool_grad %x, %p {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = true} : tensor<2x4x8x8xf32>, tensor<2x4x4x4xf32> -> tensor<2x4x8x8xf32>
  // CHECK: graph.avg_pool_grad %{{.*}} {count_include_pad = true, input_spatial_shape = array<i64: 8, 8>, kernel = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : tensor<2x4x4x4xf32> -> tensor<2x4x8x8xf32>
  %2 = graph.avg_pool_grad %p {input_spatial_shape = array<i64: 8, 8>, kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, count_include_pad = true} : tensor<2x4x4x4xf32> -> tensor<2x4x8x8xf32>
  // CHECK: graph.resize_grad %{{.*}} {coordinate_transformation_mode = "asymmetric", mode = "nearest", nearest_mode = "floor", scales = array<f32: 1.000000e+00, 1.000000e+00, 2.000000e+00, 2.000000e+00>, sizes = array<i64: 2, 4, 4, 4>} : tensor<2x4x8x8xf32> -> tensor<2x4x4x4xf32>
  %3 = graph.resize_grad %x {sizes = array<i64: 2, 4, 4, 4>, scales = array<f32: 1.0, 1.0, 2.0, 2.0>, mode = "nearest", coordinate_transformation_mode = "asymmetric", nearest_mode = "floor"} : tensor<2x4x8x8xf32> -> tensor<2x4x4x4xf32>
  return
}
