// The one header an emitted rank program includes: the program description
// it hands to the runtime driver, plus the kernel declarations.
#ifndef SSRT_SSRT_H
#define SSRT_SSRT_H

#include "ssrt/kernels.h"

namespace ssrt {

constexpr int kMaxRank = 8;

/// A model input or output living in the rank's arena.
struct TensorSpec {
  const char *name; // ONNX tensor name
  DType dtype;
  int rank;
  int64_t shape[kMaxRank];
  int64_t arenaOffset; // bytes from the start of the arena
};

/// Everything the driver needs to run one rank's program.
struct ProgramSpec {
  const char *modelName;
  const char *planFingerprint; // hex digest of the compiled plan
  int rank;
  int worldSize;
  int64_t arenaBytes;       // the single allocation the step uses
  int64_t weightsBytes;     // exact size of the weights file
  uint64_t weightsChecksum; // FNV-1a 64 of the weights file
  const char *weightsFile;  // file name, looked up next to the program dir
  int numInputs;
  const TensorSpec *inputs;
  int numOutputs;
  const TensorSpec *outputs;
  /// One inference step: reads inputs from and writes outputs to the arena.
  void (*step)(char *arena, const char *weights);
};

/// Parses the command line, loads and validates weights and inputs, runs the
/// step, writes outputs as .npy. Returns the process exit code.
int runProgram(int argc, char **argv, const ProgramSpec &spec);

} // namespace ssrt

#endif // SSRT_SSRT_H
