// Ranks whose programs differ only in rank-specific data share one source:
// ranks 1..3 below differ in their input box, their weights' values, the
// group their first all_reduce uses and their collective ids, so one
// rank1.cpp with a table per rank serves them; rank 0 returns the outputs
// and gets its own source. Every rank still gets its own weights file.
// RUN: rm -rf %t.out && ssc compile %s -o %t.out | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=SHARED < %t.out/rank1.cpp
// RUN: FileCheck %s --check-prefix=OUTPUT < %t.out/rank0.cpp
// RUN: FileCheck %s --check-prefix=MANIFEST < %t.out/manifest.json
// RUN: FileCheck %s --check-prefix=CMAKE < %t.out/CMakeLists.txt
// RUN: ls %t.out | FileCheck %s --check-prefix=FILES

// REPORT: compiled "emit-shared-programs" for 4 ranks (cpu, plan as partitioned in emit-shared-programs.mlir) -> {{.*}}.out
// REPORT-NEXT: rank 0: arena {{[0-9]+}} bytes (peak), weights 512 bytes, source rank0.cpp, collectives: 5 per step
// REPORT-NEXT: all_reduce group [0, 1] 64 bytes
// REPORT-NEXT: all_gather group [0, 1, 2, 3] 64 bytes
// REPORT-NEXT: recv from rank 1 64 bytes
// REPORT: rank 1: arena {{[0-9]+}} bytes (peak), weights 512 bytes, source rank1.cpp, collectives: 3 per step
// REPORT-NEXT: all_reduce group [0, 1] 64 bytes
// REPORT-NEXT: all_gather group [0, 1, 2, 3] 64 bytes
// REPORT-NEXT: send to rank 0 64 bytes
// REPORT: rank 3: arena {{[0-9]+}} bytes (peak), weights 512 bytes, source rank1.cpp, collectives: 3 per step
// REPORT-NEXT: all_reduce group [2, 3] 64 bytes
// REPORT: total: arena {{[0-9]+}} bytes, weights 2048 bytes, 14 collectives moving 896 bytes per step; 2 distinct sources for 4 ranks

// SHARED: // SuperScaler rank program: model "emit-shared-programs", ranks 1, 2, 3 of 4.
// SHARED: // plan: as partitioned in emit-shared-programs.mlir
// SHARED: // world size: 4
// SHARED: // ranks: 1, 2, 3 (one source; rank-specific tables in kRanks)
// SHARED: // collectives per step:
// SHARED-NEXT: //   rank 1: groups [0, 1] (slot 0), [0, 1, 2, 3] (slot 1); peers 0
// SHARED-NEXT: //     all_reduce group [0, 1] 64 bytes (id 0)
// SHARED-NEXT: //     all_gather group [0, 1, 2, 3] 64 bytes (id 2)
// SHARED-NEXT: //     send to rank 0 64 bytes (id 4)
// SHARED-NEXT: //   rank 2: groups [2, 3] (slot 0), [0, 1, 2, 3] (slot 1); peers 0
// SHARED: void step(char *arena, char *weights,
// SHARED-NEXT: const ssrt::StepContext &context) {
// SHARED: float *x = (float *)(arena + {{[0-9]+}}); // [2, 16] float32 "x"
// SHARED: // node "mm" (matmul) plan: rank 1: rows 2..3; rank 2: rows 4..5; rank 3: rows 6..7
// SHARED: const float *w = (const float *)(weights + 0); // [16, 8] float32 "w"
// SHARED: ssrt::matmul(x, w, y,
// SHARED: // node "mm" (all_reduce) group slot 0 = rank 1: [0, 1]; rank 2: [2, 3]; rank 3: [2, 3]
// SHARED-NEXT: float *y_all_reduce = (float *)(arena + {{[0-9]+}}); // [2, 8] float32
// SHARED-NEXT: ssrt::allReduceSum(context.rank->groupOfSlot[0], ssrt::DType::F32, y, y_all_reduce, 16);
// SHARED: // node "mm" (all_gather) group slot 1 = [0, 1, 2, 3]
// SHARED: ssrt::allGather(context.rank->groupOfSlot[1], ssrt::DType::F32, y_all_reduce, {{.*}}, {{.*}}, 2, 0);
// SHARED: // node "mm" (send) peer slot 0 = rank 0
// SHARED-NEXT: ssrt::send(context.rank->peerOfSlot[0], 0, ssrt::DType::F32, y_all_reduce, 16);
// SHARED: {"x", ssrt::DType::F32, 2, {2, 16}, {{[0-9]+}}, {8, 16}},
// SHARED: const int kGroup0[] = {0, 1};
// SHARED-NEXT: const int kGroup1[] = {0, 1, 2, 3};
// SHARED-NEXT: const int kGroup2[] = {2, 3};
// SHARED: const int64_t kInputOffsets1[] = {2, 0, 0, 0, 0, 0, 0, 0};
// SHARED-NEXT: const int kGroupOfSlot1[] = {0, 1};
// SHARED-NEXT: const int kPeerOfSlot1[] = {0};
// SHARED-NEXT: const int64_t kInputOffsets2[] = {4, 0, 0, 0, 0, 0, 0, 0};
// SHARED-NEXT: const int kGroupOfSlot2[] = {2, 1};
// SHARED: const ssrt::RankSpec kRanks[] = {
// SHARED-NEXT: {1, 0x{{[0-9a-f]+}}ULL, kInputOffsets1, kGroupOfSlot1, kPeerOfSlot1},
// SHARED-NEXT: {2, 0x{{[0-9a-f]+}}ULL, kInputOffsets2, kGroupOfSlot2, kPeerOfSlot2},
// SHARED-NEXT: {3, 0x{{[0-9a-f]+}}ULL, kInputOffsets3, kGroupOfSlot3, kPeerOfSlot3},
// SHARED: spec.worldSize = 4;
// SHARED: spec.weightsFilePattern = "rank%d.weights";
// SHARED: spec.numOutputs = 0;
// SHARED: spec.numGroups = 3;
// SHARED: spec.numRanks = 3;

// OUTPUT: // SuperScaler rank program: model "emit-shared-programs", rank 0 of 4.
// OUTPUT: // node "mm" (recv) peer slot 0 = rank 1
// OUTPUT: ssrt::recv(context.rank->peerOfSlot[0], 0, ssrt::DType::F32,
// OUTPUT: // node "gathered" (compose)
// OUTPUT: ssrt::insertBox(
// OUTPUT: const int kPeerOfSlot0[] = {1, 2, 3};
// OUTPUT: spec.numOutputs = 2;

// MANIFEST: "groups": [
// MANIFEST: "plan": "as partitioned in emit-shared-programs.mlir",
// MANIFEST: "programs": [
// MANIFEST: "binary": "rank0",
// MANIFEST: "binary": "rank1",
// MANIFEST-NEXT: "ranks": [
// MANIFEST-NEXT: 1,
// MANIFEST-NEXT: 2,
// MANIFEST-NEXT: 3
// MANIFEST: "ranks": [
// MANIFEST: "bytes": 64,
// MANIFEST-NEXT: "group": [
// MANIFEST: "id": 0,
// MANIFEST-NEXT: "kind": "all_reduce"
// MANIFEST: "rank": 3,
// MANIFEST-NEXT: "source": "rank1.cpp",
// MANIFEST: "weights": "rank3.weights",
// MANIFEST: "world_size": 4

// CMAKE: find_package(MPI REQUIRED COMPONENTS C)
// CMAKE: add_executable(rank0 rank0.cpp)
// CMAKE: target_link_libraries(rank0 PRIVATE ${SSRT_LIBRARY} MPI::MPI_C
// CMAKE: # ranks 1, 2, 3
// CMAKE-NEXT: add_executable(rank1 rank1.cpp)
// CMAKE-NOT: add_executable

// FILES: CMakeLists.txt
// FILES-NEXT: manifest.json
// FILES-NEXT: rank0.cpp
// FILES-NEXT: rank0.weights
// FILES-NEXT: rank1.cpp
// FILES-NEXT: rank1.weights
// FILES-NEXT: rank2.weights
// FILES-NEXT: rank3.weights

#mm = loc("mm")
module {
func.func @main(%x: tensor<8x16xf32> {ss.name = "x"}) -> (tensor<8x8xf32> {ss.name = "gathered"}, tensor<8x8xf32> {ss.name = "received"}) attributes {dist.world_size = 4 : i64, dist.output_device = 0 : i64} {
  %w0 = graph.constant dense<1.0> : tensor<16x8xf32> loc("w")
  %w1 = graph.constant dense<2.0> : tensor<16x8xf32> loc("w")
  %w2 = graph.constant dense<3.0> : tensor<16x8xf32> loc("w")
  %w3 = graph.constant dense<4.0> : tensor<16x8xf32> loc("w")
  %x0 = dist.slice %x {device = 0 : i64, offsets = array<i64: 0, 0>} : tensor<8x16xf32> -> tensor<2x16xf32>
  %x1 = dist.slice %x {device = 1 : i64, offsets = array<i64: 2, 0>} : tensor<8x16xf32> -> tensor<2x16xf32>
  %x2 = dist.slice %x {device = 2 : i64, offsets = array<i64: 4, 0>} : tensor<8x16xf32> -> tensor<2x16xf32>
  %x3 = dist.slice %x {device = 3 : i64, offsets = array<i64: 6, 0>} : tensor<8x16xf32> -> tensor<2x16xf32>
  %y0 = graph.matmul %x0, %w0 {dist.device = 0 : i64, dist.trans = "rows 0..1", ss.names = ["y"]} : tensor<2x16xf32>, tensor<16x8xf32> -> tensor<2x8xf32> loc(#mm)
  %y1 = graph.matmul %x1, %w1 {dist.device = 1 : i64, dist.trans = "rows 2..3", ss.names = ["y"]} : tensor<2x16xf32>, tensor<16x8xf32> -> tensor<2x8xf32> loc(#mm)
  %y2 = graph.matmul %x2, %w2 {dist.device = 2 : i64, dist.trans = "rows 4..5", ss.names = ["y"]} : tensor<2x16xf32>, tensor<16x8xf32> -> tensor<2x8xf32> loc(#mm)
  %y3 = graph.matmul %x3, %w3 {dist.device = 3 : i64, dist.trans = "rows 6..7", ss.names = ["y"]} : tensor<2x16xf32>, tensor<16x8xf32> -> tensor<2x8xf32> loc(#mm)
  %s0 = dist.all_reduce %y0 {device = 0 : i64, group = array<i64: 0, 1>, id = 0 : i64} : tensor<2x8xf32> -> tensor<2x8xf32> loc(#mm)
  %s1 = dist.all_reduce %y1 {device = 1 : i64, group = array<i64: 0, 1>, id = 0 : i64} : tensor<2x8xf32> -> tensor<2x8xf32> loc(#mm)
  %s2 = dist.all_reduce %y2 {device = 2 : i64, group = array<i64: 2, 3>, id = 1 : i64} : tensor<2x8xf32> -> tensor<2x8xf32> loc(#mm)
  %s3 = dist.all_reduce %y3 {device = 3 : i64, group = array<i64: 2, 3>, id = 1 : i64} : tensor<2x8xf32> -> tensor<2x8xf32> loc(#mm)
  %g0 = dist.all_gather %s0 {device = 0 : i64, group = array<i64: 0, 1, 2, 3>, id = 2 : i64, dim = 0 : i64} : tensor<2x8xf32> -> tensor<8x8xf32> loc(#mm)
  %g1 = dist.all_gather %s1 {device = 1 : i64, group = array<i64: 0, 1, 2, 3>, id = 2 : i64, dim = 0 : i64} : tensor<2x8xf32> -> tensor<8x8xf32> loc(#mm)
  %g2 = dist.all_gather %s2 {device = 2 : i64, group = array<i64: 0, 1, 2, 3>, id = 2 : i64, dim = 0 : i64} : tensor<2x8xf32> -> tensor<8x8xf32> loc(#mm)
  %g3 = dist.all_gather %s3 {device = 3 : i64, group = array<i64: 0, 1, 2, 3>, id = 2 : i64, dim = 0 : i64} : tensor<2x8xf32> -> tensor<8x8xf32> loc(#mm)
  dist.send %s1 {device = 1 : i64, peer = 0 : i64, id = 4 : i64} : tensor<2x8xf32> loc(#mm)
  dist.send %s2 {device = 2 : i64, peer = 0 : i64, id = 5 : i64} : tensor<2x8xf32> loc(#mm)
  dist.send %s3 {device = 3 : i64, peer = 0 : i64, id = 6 : i64} : tensor<2x8xf32> loc(#mm)
  %r1 = dist.recv {device = 0 : i64, peer = 1 : i64, id = 4 : i64} : tensor<2x8xf32> loc(#mm)
  %r2 = dist.recv {device = 0 : i64, peer = 2 : i64, id = 5 : i64} : tensor<2x8xf32> loc(#mm)
  %r3 = dist.recv {device = 0 : i64, peer = 3 : i64, id = 6 : i64} : tensor<2x8xf32> loc(#mm)
  %out = dist.compose %s0, %r1, %r2, %r3 {device = 0 : i64, offsets = array<i64: 0, 0, 2, 0, 4, 0, 6, 0>} : (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<8x8xf32> loc("gathered")
  return %g0, %out : tensor<8x8xf32>, tensor<8x8xf32>
}
}
