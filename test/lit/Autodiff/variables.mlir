// RUN: ssc-opt -train-variables='freeze=frozen.*' %s | FileCheck %s

// Float initializers of rank >= 1 become variables named after them; a
// frozen pattern, a rank-0 initializer, a non-initializer constant, an
// integer initializer and batch-norm statistics stay constants.
// CHECK-LABEL: func.func @params
// CHECK-DAG: %[[W:.*]] = graph.variable "w" {value = dense<{{.*}}> : tensor<2x2xf32>} : tensor<2x2xf32>
// CHECK-DAG: graph.variable "bn.scale" {{.*}} : tensor<2xf32>
// CHECK-DAG: graph.variable "bn.bias" {{.*}} : tensor<2xf32>
// CHECK-DAG: graph.constant {ss.initializer} dense<1.500000e+00> : tensor<2xf32>
// CHECK-DAG: graph.constant {ss.initializer} dense<2.000000e+00> : tensor<f32>
// CHECK-DAG: graph.constant {ss.initializer} dense<3> : tensor<2xi64>
// CHECK-DAG: graph.constant {ss.initializer} dense<2.500000e-01> : tensor<2xf32>
// CHECK-DAG: graph.constant {ss.initializer} dense<7.500000e-01> : tensor<2xf32>
// CHECK-DAG: graph.constant dense<5.000000e-01> : tensor<2x2xf32>
// CHECK: graph.matmul %arg0, %[[W]]
// CHECK-NOT: graph.variable
func.func @params(%x: tensor<2x2xf32>, %i: tensor<2x2x1x1xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2xi64>, tensor<2x2x1x1xf32>) {
  %w = graph.constant {ss.initializer} dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32> loc("w")
  %b = graph.constant {ss.initializer} dense<1.5> : tensor<2xf32> loc("frozen.b")
  %s = graph.constant {ss.initializer} dense<2.0> : tensor<f32> loc("two")
  %n = graph.constant {ss.initializer} dense<3> : tensor<2xi64> loc("ids")
  %h = graph.constant dense<0.5> : tensor<2x2xf32> loc("half")
  %scale = graph.constant {ss.initializer} dense<1.0> : tensor<2xf32> loc("bn.scale")
  %beta = graph.constant {ss.initializer} dense<0.0> : tensor<2xf32> loc("bn.bias")
  %mean = graph.constant {ss.initializer} dense<0.25> : tensor<2xf32> loc("bn.mean")
  %var = graph.constant {ss.initializer} dense<0.75> : tensor<2xf32> loc("bn.var")
  %0 = graph.matmul %x, %w : tensor<2x2xf32>, tensor<2x2xf32> -> tensor<2x2xf32>
  %1 = graph.add %0, %b : tensor<2x2xf32>, tensor<2xf32> -> tensor<2x2xf32>
  %2 = graph.mul %1, %s : tensor<2x2xf32>, tensor<f32> -> tensor<2x2xf32>
  %3 = graph.mul %2, %h : tensor<2x2xf32>, tensor<2x2xf32> -> tensor<2x2xf32>
  %4 = graph.batch_norm %i, %scale, %beta, %mean, %var {epsilon = 1.0e-5 : f32} : (tensor<2x2x1x1xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<2x2x1x1xf32>
  return %3, %1, %n, %4 : tensor<2x2xf32>, tensor<2x2xf32>, tensor<2xi64>, tensor<2x2x1x1xf32>
}
