// The schedule verifier runs every device's sequence together and rejects a
// plan whose collectives could wait on each other forever.
// RUN: ssc-opt -dist-schedule -split-input-file -verify-diagnostics %s | FileCheck %s

// Two all-reduces over {0,1} issued in opposite orders: device 0 reduces
// "a" first, device 1 reduces "b" first (its op-order puts b before a, and
// communication is issued as soon as its input is ready).
func.func @opposite(%x: tensor<4xf32>) {
  %a0 = graph.neg %x {dist.device = 0 : i64, dist.uid = 0 : i64, ss.names = ["a"]} : tensor<4xf32> -> tensor<4xf32>
  %b0 = graph.abs %x {dist.device = 0 : i64, dist.uid = 1 : i64, ss.names = ["b"]} : tensor<4xf32> -> tensor<4xf32>
  %a1 = graph.neg %x {dist.device = 1 : i64, dist.uid = 2 : i64, dist.after = array<i64: 3>, ss.names = ["a"]} : tensor<4xf32> -> tensor<4xf32>
  %b1 = graph.abs %x {dist.device = 1 : i64, dist.uid = 3 : i64, ss.names = ["b"]} : tensor<4xf32> -> tensor<4xf32>
  // expected-error @+1 {{plan deadlocks: all_reduce #0 over [0, 1] of 'a' on device 0 waits for device 1, which is blocked at all_reduce #1 over [0, 1] of 'b'; the two run in opposite orders}}
  %ra0 = dist.all_reduce %a0 {device = 0 : i64, group = array<i64: 0, 1>, id = 0 : i64, ss.names = ["a"]} : tensor<4xf32> -> tensor<4xf32>
  %ra1 = dist.all_reduce %a1 {device = 1 : i64, group = array<i64: 0, 1>, id = 0 : i64, ss.names = ["a"]} : tensor<4xf32> -> tensor<4xf32>
  %rb0 = dist.all_reduce %b0 {device = 0 : i64, group = array<i64: 0, 1>, id = 1 : i64, ss.names = ["b"]} : tensor<4xf32> -> tensor<4xf32>
  // expected-note @+1 {{device 1 waits here}}
  %rb1 = dist.all_reduce %b1 {device = 1 : i64, group = array<i64: 0, 1>, id = 1 : i64, ss.names = ["b"]} : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

// Without the constraint the same ops schedule fine, and the block comes
// back in the simulated order: each device's collectives in one order.
// CHECK-LABEL: func.func @consistent
// CHECK: dist.all_reduce {{.*}}id = 0
// CHECK: dist.all_reduce {{.*}}id = 0
// CHECK: dist.all_reduce {{.*}}id = 1
// CHECK: dist.all_reduce {{.*}}id = 1
func.func @consistent(%x: tensor<4xf32>) {
  %a0 = graph.neg %x {dist.device = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  %b0 = graph.abs %x {dist.device = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  %a1 = graph.neg %x {dist.device = 1 : i64} : tensor<4xf32> -> tensor<4xf32>
  %b1 = graph.abs %x {dist.device = 1 : i64} : tensor<4xf32> -> tensor<4xf32>
  %rb1 = dist.all_reduce %b1 {device = 1 : i64, group = array<i64: 0, 1>, id = 1 : i64} : tensor<4xf32> -> tensor<4xf32>
  %ra0 = dist.all_reduce %a0 {device = 0 : i64, group = array<i64: 0, 1>, id = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  %ra1 = dist.all_reduce %a1 {device = 1 : i64, group = array<i64: 0, 1>, id = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  %rb0 = dist.all_reduce %b0 {device = 0 : i64, group = array<i64: 0, 1>, id = 1 : i64} : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

// A send whose receive comes after a receive the peer is still waiting
// to send: devices 0 and 1 each receive before they send.
func.func @crossed_p2p(%x: tensor<4xf32>) {
  %a0 = graph.neg %x {dist.device = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  %a1 = graph.neg %x {dist.device = 1 : i64} : tensor<4xf32> -> tensor<4xf32>
  // expected-error @+1 {{plan deadlocks: recv #0 from 1 on device 0 waits for device 1, which is blocked at recv #1 from 0}}
  %r0 = dist.recv {device = 0 : i64, peer = 1 : i64, id = 0 : i64} : tensor<4xf32>
  %s0 = graph.add %r0, %a0 {dist.device = 0 : i64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  dist.send %s0 {device = 0 : i64, peer = 1 : i64, id = 1 : i64} : tensor<4xf32>
  // expected-note @+1 {{device 1 waits here}}
  %r1 = dist.recv {device = 1 : i64, peer = 0 : i64, id = 1 : i64} : tensor<4xf32>
  %s1 = graph.add %r1, %a1 {dist.device = 1 : i64} : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  dist.send %s1 {device = 1 : i64, peer = 0 : i64, id = 0 : i64} : tensor<4xf32>
  return
}

// -----

func.func @missing_member(%x: tensor<4xf32>) {
  // expected-error @+1 {{all_reduce #0 over [0, 1]: device 1 has 0 ops of this collective; every member needs exactly one}}
  %r = dist.all_reduce %x {device = 0 : i64, group = array<i64: 0, 1>, id = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @cycle(%x: tensor<4xf32>) {
  // expected-error @+1 {{op-order constraints form a cycle on device 0}}
  %a = graph.neg %x {dist.device = 0 : i64, dist.uid = 0 : i64, dist.after = array<i64: 1>} : tensor<4xf32> -> tensor<4xf32>
  %b = graph.abs %x {dist.device = 0 : i64, dist.uid = 1 : i64, dist.after = array<i64: 0>} : tensor<4xf32> -> tensor<4xf32>
  return
}
