//===- CppEmitter.h - rank program emission ---------------------*- C++ -*-===//
//
// Turns the memory-planned rank functions of a module into readable C++
// sources that call the ssrt runtime, one per distinct rank program, plus
// every rank's weights shard.
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_CODEGEN_CPPEMITTER_H
#define SS_COMPILER_CODEGEN_CPPEMITTER_H

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ss {

/// An input or output of a program as the manifest and driver see it. For
/// an input a rank reads only a box of, `shape` is the box and `fullShape`
/// the model input's shape; otherwise the two are equal.
struct ProgramTensor {
  std::string name;
  std::string dtype; // "float32", "int64", "int32", "bool"
  std::vector<int64_t> shape;
  std::vector<int64_t> fullShape;
  int64_t arenaOffset = 0;
};

/// One communication op a rank takes part in, per step.
struct CommunicationRecord {
  std::string kind;           // all_reduce, all_gather, ..., send, recv
  std::vector<int64_t> group; // world ranks; send/recv: {sender, receiver}
  int64_t bytes = 0; // what this rank contributes (recv, broadcast: gets)
  int64_t id = 0;
};

/// A piece of training state (a parameter or optimizer state) a rank holds
/// in its weights file, which its training step updates in place.
struct VariableRecord {
  std::string name; // the variable: an initializer name, or "<name>.adam_m"
  std::string dtype;
  std::vector<int64_t> shape;   // the rank's piece
  std::vector<int64_t> offsets; // where the piece starts in the variable
  int64_t weightsOffset = 0;    // bytes into the weights file
};

/// What is specific to one rank.
struct RankArtifacts {
  int rank = 0;
  int program = 0;           // index into EmittedPlan::programs
  std::vector<char> weights; // the weights shard, 64-byte aligned entries
  int64_t weightsBytes = 0;
  uint64_t weightsChecksum = 0;
  /// An earlier rank whose shard is byte-identical (data-parallel replicas),
  /// or -1. Such a rank's `weights` is left empty: the shard is held and
  /// written once.
  int weightsSameAs = -1;
  int64_t arenaBytes = 0;
  std::vector<int> groups;    // indices into EmittedPlan::groups, slot order
  std::vector<int64_t> peers; // world ranks, slot order
  std::vector<std::vector<int64_t>> inputOffsets; // box offsets per input
  std::vector<CommunicationRecord> communication;
  std::vector<VariableRecord> variables;
  /// Arena bytes live at the plan's peak step: all, forward activations,
  /// and the backward pass's (gradients, optimizer temporaries).
  int64_t peakLiveBytes = 0, peakActivationBytes = 0, peakBackwardBytes = 0;
};

/// One C++ source and the ranks that run it.
struct ProgramArtifacts {
  std::string name;   // "rank<r>" after its lowest rank: binary name
  std::string source; // the C++ translation unit
  std::vector<int> ranks;
  int64_t arenaBytes = 0;
  int64_t weightsBytes = 0;
  int64_t kernelCalls = 0;
  std::vector<ProgramTensor> inputs, outputs;
  /// A training step: it updates variables (the weights file is state).
  bool training = false;
};

/// Everything `emitCppPrograms` produces.
struct EmittedPlan {
  int worldSize = 1;
  int outputRank = 0;
  std::string plan;
  std::vector<std::vector<int64_t>> groups;   // the plan's group table
  std::vector<ProgramArtifacts> programs;     // ordered by lowest rank
  std::vector<RankArtifacts> ranks;           // indexed by rank
  std::vector<ProgramTensor> inputs, outputs; // the model's, full shapes
};

struct EmitOptions {
  std::string modelName;
  /// The plan in words when the module does not record one (`dist.plan`).
  std::string plan = "single rank, no partitioning";
  std::string planFingerprint;
  /// Samples one training step consumes, for the runtime's throughput.
  int64_t samplesPerStep = 0;
};

/// The weights file of a rank, as every program names it.
inline constexpr const char *kWeightsFilePattern = "rank%d.weights";
std::string weightsFileName(int rank);

/// Emits the programs of `module`: its rank functions (`@rank<N>`, made by
/// dist-split-ranks) or its single function (world size 1), all run
/// through graph-plan-memory. Ranks whose functions are identical once
/// device ids, groups, peers, collective ids, input boxes and constant
/// values are abstracted share one source. Reports unsupported cases as
/// errors at the op.
mlir::LogicalResult emitCppPrograms(mlir::ModuleOp module,
                                    const EmitOptions &options,
                                    EmittedPlan &plan);

} // namespace ss

#endif // SS_COMPILER_CODEGEN_CPPEMITTER_H
