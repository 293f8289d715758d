// The one header an emitted rank program includes: the program description
// it hands to the runtime driver, plus the kernel declarations.
#ifndef SSRT_SSRT_H
#define SSRT_SSRT_H

#include "ssrt/comm.h"
#include "ssrt/kernels.h"

namespace ssrt {

constexpr int kMaxRank = 8;

/// A model input or output living in the rank's arena. A rank may hold only
/// a box of a model input: `shape` is the box, `fullShape` the input's shape
/// in the .npy file, and the box's offsets are per rank (RankSpec).
struct TensorSpec {
  const char *name; // ONNX tensor name
  DType dtype;
  int rank;
  int64_t shape[kMaxRank];
  /// Bytes from the start of the arena. An input the program never reads
  /// has a negative offset: it must still be given, and is checked whole.
  int64_t arenaOffset;
  int64_t fullShape[kMaxRank];
};

/// A communication group: world ranks in group order.
struct GroupSpec {
  int size;
  const int *members;
};

/// What differs between the ranks that share one program source.
struct RankSpec {
  int worldRank;
  uint64_t weightsChecksum; // FNV-1a 64 of this rank's weights file
  /// Per input, the offsets of this rank's box in the full input
  /// (numInputs x kMaxRank entries); nullptr when every box starts at 0.
  const int64_t *inputOffsets;
  /// Per group slot of the program, the index into ProgramSpec::groups.
  const int *groupOfSlot;
  /// Per peer slot of the program, the world rank of the peer.
  const int *peerOfSlot;
};

/// Per-step view of the rank a program runs as.
struct StepContext {
  int worldRank;
  const RankSpec *rank;
  /// Training steps completed before this one (0 for the first step of a
  /// fresh run; a resumed run continues the count). Optimizer ops read it
  /// for the learning-rate schedule and Adam's bias correction.
  int64_t step;
};

/// Everything the driver needs to run one program, which one or more ranks
/// run (ranks whose programs differ only in rank-specific tables share one).
struct ProgramSpec {
  const char *modelName;
  const char *planFingerprint; // hex digest of the compiled plan
  int worldSize;
  int64_t arenaBytes;   // the single allocation the step uses
  int64_t weightsBytes; // exact size of each rank's weights file
  /// Weights file name with `%d` for the world rank ("rank%d.weights"),
  /// looked up next to the program.
  const char *weightsFilePattern;
  int numInputs;
  const TensorSpec *inputs;
  int numOutputs; // only the rank that writes the model outputs has any
  const TensorSpec *outputs;
  int numGroups; // the plan's group table, identical in every program
  const GroupSpec *groups;
  int numRanks; // the ranks that run this program
  const RankSpec *ranks;
  /// Training programs keep their parameters and optimizer state in the
  /// weights block and update it in place every step; the block is then the
  /// rank's whole training state (what a checkpoint saves).
  bool training;
  /// Index into `outputs` of the scalar float loss on the rank that writes
  /// the outputs, else -1.
  int lossOutput;
  /// Samples one step consumes over all ranks (for throughput).
  int64_t samplesPerStep;
  /// One step: reads inputs from and writes outputs to the arena; a
  /// training step also updates the weights block.
  void (*step)(char *arena, char *weights, const StepContext &context);
};

/// Parses the command line, loads and validates weights and inputs, runs the
/// step, writes outputs as .npy. Returns the process exit code.
int runProgram(int argc, char **argv, const ProgramSpec &spec);

} // namespace ssrt

#endif // SSRT_SSRT_H
