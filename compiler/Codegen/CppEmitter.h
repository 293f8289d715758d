//===- CppEmitter.h - rank program emission ---------------------*- C++ -*-===//
//
// Turns a memory-planned graph function into a readable C++ rank program
// that calls the ssrt runtime, plus the weights blob it loads.
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_CODEGEN_CPPEMITTER_H
#define SS_COMPILER_CODEGEN_CPPEMITTER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ss {

/// An input or output of the program as the manifest and driver see it.
struct ProgramTensor {
  std::string name;
  std::string dtype; // "float32", "int64", "int32", "bool"
  std::vector<int64_t> shape;
  int64_t arenaOffset = 0;
};

struct RankProgram {
  int rank = 0;
  int worldSize = 1;
  std::string source;        // the C++ translation unit
  std::vector<char> weights; // the weights blob, 64-byte aligned entries
  uint64_t weightsChecksum = 0;
  int64_t arenaBytes = 0;
  std::vector<ProgramTensor> inputs, outputs;
};

struct EmitOptions {
  std::string modelName;
  std::string plan = "single";
  std::string planFingerprint;
  std::string weightsFile = "rank0.weights";
  int rank = 0;
  int worldSize = 1;
};

/// Emits the program for `func`, which must have run through
/// graph-plan-memory. Reports unsupported cases as errors at the op.
mlir::LogicalResult emitCppProgram(mlir::func::FuncOp func,
                                   const EmitOptions &options,
                                   RankProgram &program);

} // namespace ss

#endif // SS_COMPILER_CODEGEN_CPPEMITTER_H
