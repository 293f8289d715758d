// Two devices that exchange tensors both send first (communication with its
// input is issued eagerly), and a send completes only when its receive is
// posted. The receive on one side moves ahead of its own send, so the
// exchange runs instead of being reported as a deadlock.
// RUN: ssc-opt -dist-schedule %s | FileCheck %s

// CHECK-LABEL: func.func @exchange
// CHECK: dist.send {{.*}}device = 0 : i64, id = 0
// CHECK-NEXT: dist.recv {device = 1 : i64, id = 0
// CHECK: dist.send {{.*}}device = 1 : i64, id = 1
// CHECK-NEXT: dist.recv {device = 0 : i64, id = 1
// CHECK: graph.add
// CHECK: graph.add
func.func @exchange(%x: tensor<4xf32>) {
  %a = graph.neg %x {dist.device = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  %b = graph.abs %x {dist.device = 1 : i64} : tensor<4xf32> -> tensor<4xf32>
  dist.send %a {device = 0 : i64, peer = 1 : i64, id = 0 : i64} : tensor<4xf32>
  dist.send %b {device = 1 : i64, peer = 0 : i64, id = 1 : i64} : tensor<4xf32>
  %rb = dist.recv {device = 0 : i64, peer = 1 : i64, id = 1 : i64} : tensor<4xf32>
  %ra = dist.recv {device = 1 : i64, peer = 0 : i64, id = 0 : i64} : tensor<4xf32>
  %u0 = graph.add %a, %rb {dist.device = 0 : i64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %u1 = graph.add %ra, %b {dist.device = 1 : i64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return
}

// Co-sharded pieces (four pieces of one op on two devices) are exchanged
// both ways: each device sends its two pieces and receives the other two.
// CHECK-LABEL: func.func @coshard
// CHECK-COUNT-4: dist.{{send|recv}}
// CHECK: graph.add
func.func @coshard(%x: tensor<4xf32>) {
  %a0 = graph.neg %x {dist.device = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  %a2 = graph.abs %x {dist.device = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  %a1 = graph.neg %x {dist.device = 1 : i64} : tensor<4xf32> -> tensor<4xf32>
  %a3 = graph.abs %x {dist.device = 1 : i64} : tensor<4xf32> -> tensor<4xf32>
  dist.send %a0 {device = 0 : i64, peer = 1 : i64, id = 0 : i64} : tensor<4xf32>
  dist.send %a2 {device = 0 : i64, peer = 1 : i64, id = 1 : i64} : tensor<4xf32>
  dist.send %a1 {device = 1 : i64, peer = 0 : i64, id = 2 : i64} : tensor<4xf32>
  dist.send %a3 {device = 1 : i64, peer = 0 : i64, id = 3 : i64} : tensor<4xf32>
  %r1 = dist.recv {device = 0 : i64, peer = 1 : i64, id = 2 : i64} : tensor<4xf32>
  %r3 = dist.recv {device = 0 : i64, peer = 1 : i64, id = 3 : i64} : tensor<4xf32>
  %r0 = dist.recv {device = 1 : i64, peer = 0 : i64, id = 0 : i64} : tensor<4xf32>
  %r2 = dist.recv {device = 1 : i64, peer = 0 : i64, id = 1 : i64} : tensor<4xf32>
  %u0 = graph.add %r1, %r3 {dist.device = 0 : i64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %u1 = graph.add %r0, %r2 {dist.device = 1 : i64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return
}

// Device 0 would receive (just before its first user) before the
// all-gather, but device 1 sends only what it computes from the
// all-gather: device 0 defers the receive past the work that needs nothing
// outstanding (the abs and the all-gather).
// CHECK-LABEL: func.func @defer
// CHECK: dist.all_gather {{.*}}device = 0
// CHECK: dist.all_gather {{.*}}device = 1
// CHECK: dist.send {{.*}}device = 1 : i64, id = 1
// CHECK-NEXT: dist.recv {device = 0 : i64, id = 1
// CHECK: graph.add
func.func @defer(%x: tensor<4xf32>) {
  %r = dist.recv {device = 0 : i64, peer = 1 : i64, id = 1 : i64} : tensor<4xf32>
  %u = graph.add %r, %x {dist.device = 0 : i64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %b0 = graph.abs %x {dist.device = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  %g0 = dist.all_gather %b0 {group = array<i64: 0, 1>, device = 0 : i64, id = 0 : i64, dim = 0 : i64} : tensor<4xf32> -> tensor<8xf32>
  %b1 = graph.abs %x {dist.device = 1 : i64} : tensor<4xf32> -> tensor<4xf32>
  %g1 = dist.all_gather %b1 {group = array<i64: 0, 1>, device = 1 : i64, id = 0 : i64, dim = 0 : i64} : tensor<4xf32> -> tensor<8xf32>
  %s = dist.slice %g1 {device = 1 : i64, offsets = array<i64: 4>} : tensor<8xf32> -> tensor<4xf32>
  dist.send %s {device = 1 : i64, peer = 0 : i64, id = 1 : i64} : tensor<4xf32>
  return
}
