// RUN: ssc-opt -train-autodiff='optimizer=none' -split-input-file -verify-diagnostics %s | FileCheck %s

// Conv: the input gradient is a conv_transpose of dy with the same filter,
// whose output_padding gives back the input column the stride-2 windows
// leave unread ((9 + 1 + 0 - 3) % 2 = 1); the filter gradient is
// conv_filter_grad (same strides, pads, dilations, group); the bias
// gradient sums dy over every dim but the channels.
// CHECK-LABEL: func.func @conv
// CHECK-DAG: %[[X:.*]] = graph.variable "x"
// CHECK-DAG: %[[W:.*]] = graph.variable "w"
// CHECK: %[[DY:.*]] = graph.broadcast_to {{.*}} -> tensor<2x6x3x4xf32>
// CHECK-DAG: graph.conv_transpose %[[DY]], %[[W]] {dilations = array<i64: 2, 1>, group = 2 : i64, output_padding = array<i64: 0, 1>, pads = array<i64: 1, 0, 1, 1>, ss.backward{{.*}}strides = array<i64: 2, 2>} : (tensor<2x6x3x4xf32>, tensor<6x2x3x3xf32>) -> tensor<2x4x7x9xf32>
// CHECK-DAG: graph.conv_filter_grad %[[X]], %[[DY]] {dilations = array<i64: 2, 1>, group = 2 : i64, kernel = array<i64: 3, 3>, pads = array<i64: 1, 0, 1, 1>, ss.backward{{.*}}strides = array<i64: 2, 2>} : tensor<2x4x7x9xf32>, tensor<2x6x3x4xf32> -> tensor<6x2x3x3xf32>
// CHECK-DAG: graph.reduce_sum %[[DY]] {axes = array<i64: 0, 2, 3>, keepdims = false, ss.backward{{.*}}} : tensor<2x6x3x4xf32> -> tensor<6xf32>
func.func @conv() -> tensor<f32> {
  %x = graph.variable "x" {value = dense<0.5> : tensor<2x4x7x9xf32>} : tensor<2x4x7x9xf32>
  %w = graph.variable "w" {value = dense<0.5> : tensor<6x2x3x3xf32>} : tensor<6x2x3x3xf32>
  %b = graph.variable "b" {value = dense<0.1> : tensor<6xf32>} : tensor<6xf32>
  %0 = graph.conv %x, %w, %b {dilations = array<i64: 2, 1>, group = 2 : i64, pads = array<i64: 1, 0, 1, 1>, strides = array<i64: 2, 2>} : (tensor<2x4x7x9xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<2x6x3x4xf32>
  %1 = graph.reduce_sum %0 {axes = array<i64: 0, 1, 2, 3>, keepdims = false} : tensor<2x6x3x4xf32> -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// Conv_transpose is conv's adjoint: dx = conv(dy, w) and dw =
// conv_filter_grad(dy, x), with the end pads shrunk by output_padding.
// CHECK-LABEL: func.func @conv_transpose
// CHECK-DAG: %[[X:.*]] = graph.variable "x"
// CHECK-DAG: %[[W:.*]] = graph.variable "w"
// CHECK: %[[DY:.*]] = graph.broadcast_to {{.*}} -> tensor<1x3x10xf32>
// CHECK-DAG: graph.conv %[[DY]], %[[W]] {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 1, 0>, ss.backward{{.*}}strides = array<i64: 2>} : (tensor<1x3x10xf32>, tensor<4x3x3xf32>) -> tensor<1x4x5xf32>
// CHECK-DAG: graph.conv_filter_grad %[[DY]], %[[X]] {dilations = array<i64: 1>, group = 1 : i64, kernel = array<i64: 3>, pads = array<i64: 1, 0>, ss.backward{{.*}}strides = array<i64: 2>} : tensor<1x3x10xf32>, tensor<1x4x5xf32> -> tensor<4x3x3xf32>
func.func @conv_transpose() -> tensor<f32> {
  %x = graph.variable "x" {value = dense<0.5> : tensor<1x4x5xf32>} : tensor<1x4x5xf32>
  %w = graph.variable "w" {value = dense<0.5> : tensor<4x3x3xf32>} : tensor<4x3x3xf32>
  %0 = graph.conv_transpose %x, %w {dilations = array<i64: 1>, group = 1 : i64, output_padding = array<i64: 1>, pads = array<i64: 1, 1>, strides = array<i64: 2>} : (tensor<1x4x5xf32>, tensor<4x3x3xf32>) -> tensor<1x3x10xf32>
  %1 = graph.reduce_sum %0 {axes = array<i64: 0, 1, 2>, keepdims = false} : tensor<1x3x10xf32> -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// Output padding beyond what the stride can absorb (it may reach the
// dilation): dy is cropped at the end before the conv.
// CHECK-LABEL: func.func @conv_transpose_crop
// CHECK: %[[DY:.*]] = graph.broadcast_to {{.*}} -> tensor<1x2x10xf32>
// CHECK: %[[CROP:.*]] = graph.pad %[[DY]] {mode = "constant", pads = array<i64: 0, 0, 0, 0, 0, -2>, ss.backward{{.*}}value = 0.000000e+00 : f64} : tensor<1x2x10xf32> -> tensor<1x2x8xf32>
// CHECK-DAG: graph.conv %[[CROP]], %{{.*}} {dilations = array<i64: 3>, group = 1 : i64, pads = array<i64: 0, 0>, ss.backward{{.*}}strides = array<i64: 1>} : (tensor<1x2x8xf32>, tensor<2x2x2xf32>) -> tensor<1x2x5xf32>
// CHECK-DAG: graph.conv_filter_grad %[[CROP]], %{{.*}} {{.*}} -> tensor<2x2x2xf32>
func.func @conv_transpose_crop() -> tensor<f32> {
  %x = graph.variable "x" {value = dense<0.5> : tensor<1x2x5xf32>} : tensor<1x2x5xf32>
  %w = graph.variable "w" {value = dense<0.5> : tensor<2x2x2xf32>} : tensor<2x2x2xf32>
  %0 = graph.conv_transpose %x, %w {dilations = array<i64: 3>, group = 1 : i64, output_padding = array<i64: 2>, pads = array<i64: 0, 0>, strides = array<i64: 1>} : (tensor<1x2x5xf32>, tensor<2x2x2xf32>) -> tensor<1x2x10xf32>
  %1 = graph.reduce_sum %0 {axes = array<i64: 0, 1, 2>, keepdims = false} : tensor<1x2x10xf32> -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// Pools and resize get their own gradient ops, carrying the forward op's
// attributes (avg_pool_grad also the input's spatial shape).
// CHECK-LABEL: func.func @pools_and_resize
// CHECK-DAG: %[[X:.*]] = graph.variable "x"
// CHECK-DAG: graph.max_pool_grad %[[X]], %{{.*}} {ceil_mode = true, dilations = array<i64: 1, 1>, kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, ss.backward{{.*}}strides = array<i64: 2, 2>} : tensor<1x2x6x6xf32>, tensor<1x2x4x4xf32> -> tensor<1x2x6x6xf32>
// CHECK-DAG: graph.avg_pool_grad %{{.*}} {ceil_mode = true, count_include_pad = true, input_spatial_shape = array<i64: 6, 6>, kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, ss.backward{{.*}}strides = array<i64: 2, 2>} : tensor<1x2x4x4xf32> -> tensor<1x2x6x6xf32>
// CHECK-DAG: graph.resize_grad %{{.*}} {coordinate_transformation_mode = "half_pixel", mode = "linear", nearest_mode = "floor", scales = array<f32: 1.000000e+00, 1.000000e+00, 2.000000e+00, 2.000000e+00>, sizes = array<i64: 1, 2, 6, 6>, ss.backward{{.*}}} : tensor<1x2x12x12xf32> -> tensor<1x2x6x6xf32>
func.func @pools_and_resize() -> tensor<f32> {
  %x = graph.variable "x" {value = dense<0.5> : tensor<1x2x6x6xf32>} : tensor<1x2x6x6xf32>
  %0 = graph.max_pool %x {ceil_mode = true, dilations = array<i64: 1, 1>, kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : tensor<1x2x6x6xf32> -> tensor<1x2x4x4xf32>
  %1 = graph.avg_pool %x {ceil_mode = true, count_include_pad = true, kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : tensor<1x2x6x6xf32> -> tensor<1x2x4x4xf32>
  %2 = graph.resize %x {coordinate_transformation_mode = "half_pixel", mode = "linear", nearest_mode = "floor", scales = array<f32: 1.0, 1.0, 2.0, 2.0>, sizes = array<i64: 1, 2, 12, 12>} : tensor<1x2x6x6xf32> -> tensor<1x2x12x12xf32>
  %3 = graph.add %0, %1 : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32> -> tensor<1x2x4x4xf32>
  %4 = graph.reduce_sum %3 {axes = array<i64: 0, 1, 2, 3>, keepdims = false} : tensor<1x2x4x4xf32> -> tensor<f32>
  %5 = graph.reduce_sum %2 {axes = array<i64: 0, 1, 2, 3>, keepdims = false} : tensor<1x2x12x12xf32> -> tensor<f32>
  %6 = graph.add %4, %5 : tensor<f32>, tensor<f32> -> tensor<f32>
  return %6 : tensor<f32>
}

// -----

// graph-fuse-conv-activation runs for inference only; a fused activation
// has no rule.
func.func @fused_activation() -> tensor<f32> {
  %w = graph.variable "w" {value = dense<0.5> : tensor<1x1x1x1xf32>} : tensor<1x1x1x1xf32>
  %x = graph.constant dense<1.0> : tensor<1x1x3x3xf32>
  // expected-error @+1 {{'graph.conv' op has no gradient rule with a fused activation ("relu"); differentiate before graph-fuse-conv-activation}}
  %0 = graph.conv %x, %w {activation = "relu", dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x3x3xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x3x3xf32>
  %1 = graph.reduce_sum %0 {axes = array<i64: 0, 1, 2, 3>, keepdims = false} : tensor<1x1x3x3xf32> -> tensor<f32>
  return %1 : tensor<f32>
}
