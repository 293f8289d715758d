// RUN: ssc-opt %s -split-input-file -graph-fold-constants -mlir-print-debuginfo | FileCheck %s

// The shape subgraph of a Reshape that exporters emit (Shape -> Gather ->
// Unsqueeze -> Concat, with Shape already a constant after import) folds to
// one constant, and the intermediate ops disappear.

// CHECK-LABEL: func.func @shape_chain
// CHECK-NEXT:    %[[SHAPE:.*]] = graph.constant dense<[2, 12]> : tensor<2xi64>
// CHECK-NEXT:    return %[[SHAPE]]
func.func @shape_chain() -> tensor<2xi64> {
  %shape = graph.constant dense<[2, 3, 4]> : tensor<3xi64>
  %zero = graph.constant dense<0> : tensor<i64>
  %batch = graph.gather %shape, %zero {axis = 0 : i64} : tensor<3xi64>, tensor<i64> -> tensor<i64>
  %batch1 = graph.reshape %batch {shape = array<i64: 1>} : tensor<i64> -> tensor<1xi64>
  %rest = graph.slice %shape {starts = array<i64: 1>, sizes = array<i64: 2>, steps = array<i64: 1>} : tensor<3xi64> -> tensor<2xi64>
  %ones = graph.constant dense<1> : tensor<2xi64>
  %dims = graph.mul %rest, %ones : tensor<2xi64>, tensor<2xi64> -> tensor<2xi64>
  %d1 = graph.slice %dims {starts = array<i64: 0>, sizes = array<i64: 1>, steps = array<i64: 1>} : tensor<2xi64> -> tensor<1xi64>
  %d2 = graph.slice %dims {starts = array<i64: 1>, sizes = array<i64: 1>, steps = array<i64: 1>} : tensor<2xi64> -> tensor<1xi64>
  %inner = graph.mul %d1, %d2 : tensor<1xi64>, tensor<1xi64> -> tensor<1xi64>
  %new = graph.concat %batch1, %inner {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  return %new : tensor<2xi64>
}

// -----

// Integer arithmetic broadcasts; division truncates toward zero.
// CHECK-LABEL: func.func @integer_arithmetic
// CHECK-DAG:     graph.constant dense<[-4, 2, 5]> : tensor<3xi64>
// CHECK-DAG:     graph.constant dense<[-3, 0, 1]> : tensor<3xi64>
// CHECK-DAG:     graph.constant dense<[49, 1, 9]> : tensor<3xi64>
// CHECK-DAG:     graph.constant dense<{{\[}}[-5, 1, 4], [-1, 5, 8]]> : tensor<2x3xi32>
// CHECK-DAG:     graph.constant dense<[7, -1, -3]> : tensor<3xi64>
// CHECK-NOT:     graph.add
// CHECK-NOT:     graph.div
func.func @integer_arithmetic() -> (tensor<3xi64>, tensor<3xi64>, tensor<3xi64>, tensor<2x3xi32>, tensor<3xi64>) {
  %a = graph.constant dense<[-7, 1, 3]> : tensor<3xi64>
  %b = graph.constant dense<2> : tensor<i64>
  %c = graph.constant dense<[3, 1, 2]> : tensor<3xi64>
  %0 = graph.add %a, %c : tensor<3xi64>, tensor<3xi64> -> tensor<3xi64>
  %1 = graph.div %a, %b : tensor<3xi64>, tensor<i64> -> tensor<3xi64>
  %2 = graph.pow %a, %b : tensor<3xi64>, tensor<i64> -> tensor<3xi64>
  %x = graph.constant dense<[[1], [5]]> : tensor<2x1xi32>
  %y = graph.constant dense<[6, 0, -3]> : tensor<3xi32>
  %3 = graph.sub %x, %y : tensor<2x1xi32>, tensor<3xi32> -> tensor<2x3xi32>
  %4 = graph.neg %a : tensor<3xi64> -> tensor<3xi64>
  return %0, %1, %2, %3, %4 : tensor<3xi64>, tensor<3xi64>, tensor<3xi64>, tensor<2x3xi32>, tensor<3xi64>
}

// -----

// CHECK-LABEL: func.func @float_and_logic
// CHECK-DAG:     graph.constant dense<[1.500000e+00, -5.000000e-01]> : tensor<2xf32>
// CHECK-DAG:     graph.constant dense<[false, true]> : tensor<2xi1>
// CHECK-DAG:     graph.constant dense<[true, false]> : tensor<2xi1>
// CHECK-DAG:     graph.constant dense<[1, 0]> : tensor<2xi64>
// CHECK-DAG:     graph.constant dense<[2.000000e+00, 1.000000e+00]> : tensor<2xf32>
func.func @float_and_logic() -> (tensor<2xf32>, tensor<2xi1>, tensor<2xi1>, tensor<2xi64>, tensor<2xf32>) {
  %x = graph.constant dense<[1.0, -1.0]> : tensor<2xf32>
  %h = graph.constant dense<0.5> : tensor<f32>
  %0 = graph.add %x, %h : tensor<2xf32>, tensor<f32> -> tensor<2xf32>
  %1 = graph.less %x, %h : tensor<2xf32>, tensor<f32> -> tensor<2xi1>
  %2 = graph.not %1 : tensor<2xi1> -> tensor<2xi1>
  // Cast from float truncates toward zero.
  %t = graph.constant dense<[1.9, -0.9]> : tensor<2xf32>
  %3 = graph.cast %t {to = i64} : tensor<2xf32> -> tensor<2xi64>
  %4 = graph.where %2, %x, %h : tensor<2xi1>, tensor<2xf32>, tensor<f32> -> tensor<2xf32>
  %two = graph.constant dense<2.0> : tensor<f32>
  %5 = graph.mul %4, %two : tensor<2xf32>, tensor<f32> -> tensor<2xf32>
  %6 = graph.equal %3, %3 : tensor<2xi64>, tensor<2xi64> -> tensor<2xi1>
  %7 = graph.greater %x, %h : tensor<2xf32>, tensor<f32> -> tensor<2xi1>
  %8 = graph.where %6, %7, %1 : tensor<2xi1>, tensor<2xi1>, tensor<2xi1> -> tensor<2xi1>
  return %0, %1, %8, %3, %5 : tensor<2xf32>, tensor<2xi1>, tensor<2xi1>, tensor<2xi64>, tensor<2xf32>
}

// -----

// CHECK-LABEL: func.func @data_movement
// CHECK-DAG:     graph.constant dense<{{\[}}[1, 4], [2, 5], [3, 6]]> : tensor<3x2xi32>
// CHECK-DAG:     graph.constant dense<{{\[}}[3, 1], [6, 4]]> : tensor<2x2xi32>
// CHECK-DAG:     graph.constant dense<{{\[}}[1, 2, 3], [1, 2, 3]]> : tensor<2x3xi32>
// CHECK-DAG:     graph.constant dense<{{\[}}[4, 5, 6], [1, 2, 3], [4, 5, 6]]> : tensor<3x3xi32>
// CHECK-DAG:     graph.constant dense<[1, 2, 3, 4, 5, 6]> : tensor<6xi32>
func.func @data_movement() -> (tensor<3x2xi32>, tensor<2x2xi32>, tensor<2x3xi32>, tensor<3x3xi32>, tensor<6xi32>) {
  %m = graph.constant dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi32>
  %0 = graph.transpose %m {perm = array<i64: 1, 0>} : tensor<2x3xi32> -> tensor<3x2xi32>
  %1 = graph.slice %m {starts = array<i64: 0, 2>, sizes = array<i64: 2, 2>, steps = array<i64: 1, -2>} : tensor<2x3xi32> -> tensor<2x2xi32>
  %row = graph.constant dense<[1, 2, 3]> : tensor<3xi32>
  %2 = graph.broadcast_to %row {shape = array<i64: 2, 1>} : tensor<3xi32> -> tensor<2x3xi32>
  // Gather accepts negative indices, counting from the end.
  %idx = graph.constant dense<[-1, 0, 1]> : tensor<3xi64>
  %3 = graph.gather %m, %idx {axis = 0 : i64} : tensor<2x3xi32>, tensor<3xi64> -> tensor<3x3xi32>
  %4 = graph.reshape %m {shape = array<i64: 6>} : tensor<2x3xi32> -> tensor<6xi32>
  return %0, %1, %2, %3, %4 : tensor<3x2xi32>, tensor<2x2xi32>, tensor<2x3xi32>, tensor<3x3xi32>, tensor<6xi32>
}

// -----

// Identity reshapes, transposes, casts and slices of runtime values fold to
// their input.
// CHECK-LABEL: func.func @identities
// CHECK-SAME:    (%[[X:[^:]*]]: tensor<2x3xf32>
// CHECK-NEXT:    return %[[X]], %[[X]], %[[X]], %[[X]]
func.func @identities(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %0 = graph.reshape %x {shape = array<i64: 2, 3>} : tensor<2x3xf32> -> tensor<2x3xf32>
  %1 = graph.transpose %0 {perm = array<i64: 0, 1>} : tensor<2x3xf32> -> tensor<2x3xf32>
  %2 = graph.cast %1 {to = f32} : tensor<2x3xf32> -> tensor<2x3xf32>
  %3 = graph.slice %2 {starts = array<i64: 0, 0>, sizes = array<i64: 2, 3>, steps = array<i64: 1, 1>} : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0, %1, %2, %3 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// What must not fold: runtime operands, integer division by zero, an
// out-of-range gather index (the runtime reports it), results above the
// size limit (4M elements), and dead runtime ops are removed.
// CHECK-LABEL: func.func @not_folded
// CHECK:         graph.add
// CHECK:         graph.div
// CHECK:         graph.gather
// CHECK:         graph.broadcast_to
// CHECK-NOT:     graph.exp
// CHECK:         return
func.func @not_folded(%x: tensor<3xi64>) -> (tensor<3xi64>, tensor<3xi64>, tensor<i64>, tensor<4096x1025xf32>) {
  %c = graph.constant dense<[1, 2, 3]> : tensor<3xi64>
  %0 = graph.add %x, %c : tensor<3xi64>, tensor<3xi64> -> tensor<3xi64>
  %z = graph.constant dense<[1, 0, 1]> : tensor<3xi64>
  %1 = graph.div %c, %z : tensor<3xi64>, tensor<3xi64> -> tensor<3xi64>
  %i = graph.constant dense<3> : tensor<i64>
  %2 = graph.gather %c, %i {axis = 0 : i64} : tensor<3xi64>, tensor<i64> -> tensor<i64>
  %one = graph.constant dense<1.0> : tensor<f32>
  %3 = graph.broadcast_to %one {shape = array<i64: 4096, 1025>} : tensor<f32> -> tensor<4096x1025xf32>
  %dead = graph.exp %3 : tensor<4096x1025xf32> -> tensor<4096x1025xf32>
  return %0, %1, %2, %3 : tensor<3xi64>, tensor<3xi64>, tensor<i64>, tensor<4096x1025xf32>
}

// -----

// Equal initializers stay separate ops with their own names, and a folded
// constant takes the name of the node that computed it.
// CHECK-LABEL: func.func @locations
// CHECK:         graph.constant dense<1.000000e+00> : tensor<3xf32> loc(#[[BIAS_A:.*]])
// CHECK:         graph.constant dense<1.000000e+00> : tensor<3xf32> loc(#[[BIAS_B:.*]])
// CHECK:         graph.constant dense<[3, 1]> : tensor<2xi64> loc(#[[SHAPE:.*]])
// CHECK-DAG:   #[[BIAS_A]] = loc("bias_a")
// CHECK-DAG:   #[[BIAS_B]] = loc("bias_b")
// CHECK-DAG:   #[[SHAPE]] = loc("shape_concat")
func.func @locations(%x: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<2xi64>) {
  %a = graph.constant dense<1.0> : tensor<3xf32> loc("bias_a")
  %b = graph.constant dense<1.0> : tensor<3xf32> loc("bias_b")
  %0 = graph.add %x, %a : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32> loc("add_a")
  %1 = graph.add %x, %b : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32> loc("add_b")
  %three = graph.constant dense<3> : tensor<1xi64> loc("three")
  %one = graph.constant dense<1> : tensor<1xi64> loc("one")
  %2 = graph.concat %three, %one {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64> loc("shape_concat")
  return %0, %1, %2 : tensor<3xf32>, tensor<3xf32>, tensor<2xi64>
}
