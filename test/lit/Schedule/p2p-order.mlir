// A device receives from a peer in the order the peer sends, even when it
// uses the tensors in the opposite order: a receive waits for nothing
// local, so it moves ahead of the first one's user.
// RUN: ssc-opt -dist-schedule %s | FileCheck %s

// Device 0 sends a (id 0) before b (id 1); device 1 uses b first.
// CHECK-LABEL: func.func @pipeline
// CHECK: dist.send {{.*}}id = 0
// CHECK: dist.recv {device = 1 : i64, id = 0
// CHECK: dist.send {{.*}}id = 1
// CHECK: dist.recv {device = 1 : i64, id = 1
// CHECK: graph.abs
// CHECK: graph.neg
func.func @pipeline(%x: tensor<4xf32>) {
  %a = graph.neg %x {dist.device = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  %b = graph.abs %a {dist.device = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  dist.send %a {device = 0 : i64, peer = 1 : i64, id = 0 : i64} : tensor<4xf32>
  dist.send %b {device = 0 : i64, peer = 1 : i64, id = 1 : i64} : tensor<4xf32>
  %rb = dist.recv {device = 1 : i64, peer = 0 : i64, id = 1 : i64} : tensor<4xf32>
  %ub = graph.abs %rb {dist.device = 1 : i64} : tensor<4xf32> -> tensor<4xf32>
  %ra = dist.recv {device = 1 : i64, peer = 0 : i64, id = 0 : i64} : tensor<4xf32>
  %ua = graph.neg %ra {dist.device = 1 : i64} : tensor<4xf32> -> tensor<4xf32>
  return
}
