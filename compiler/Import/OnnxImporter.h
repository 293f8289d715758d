//===- OnnxImporter.h - ONNX model to graph dialect -------------*- C++ -*-===//
//
// Translates an ONNX model file into a module holding one `func.func @main`
// of graph-dialect ops with static shapes. Shape subgraphs are folded while
// importing, so shape-like inputs (Reshape's shape, Slice's starts, ...)
// become attributes.
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_IMPORT_ONNXIMPORTER_H
#define SS_COMPILER_IMPORT_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ss {

/// A model input replaced by a constant at compile time.
struct FrozenInput {
  int32_t onnxType = 0; // TensorProto.DataType code
  std::vector<int64_t> shape;
  std::vector<char> bytes; // little-endian, row-major; bool as bytes
};

struct ImportOptions {
  /// Pins input dimensions: name -> full static shape. Required for every
  /// input that has a dynamic dimension.
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Inputs bound to fixed values: they become constants (so shape operands
  /// fed from them fold) and are no longer program inputs.
  std::map<std::string, FrozenInput> frozenInputs;
  /// For training: ops that read a float initializer of rank >= 1 (a
  /// parameter) are kept rather than folded into a constant, so that the
  /// parameter stays a tensor of its own that training can update.
  bool keepParameters = false;
};

/// Why an import failed; the CLI maps this to its exit code.
enum class ImportStatus {
  Ok,
  Invalid,     // malformed model, undefined names, shape mismatch, ...
  Unsupported, // valid ONNX this compiler does not handle (op, dtype, ...)
};

/// Imports `path`. On failure returns null after emitting diagnostics (each
/// located at the ONNX node it concerns) and sets `status`.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxModel(mlir::MLIRContext &context,
                                                  const std::string &path,
                                                  const ImportOptions &options,
                                                  ImportStatus &status);

struct OnnxNodeInfo {
  std::string name; // node name, or "<OpType>_<index>" when unnamed
  std::string opType;
  std::string domain;
};

/// Lists the nodes of a model without importing it (for `ssc inspect`).
bool listOnnxNodes(const std::string &path, std::vector<OnnxNodeInfo> &nodes,
                   std::string &error);

/// Names of the ONNX operator types the importer handles, sorted.
std::vector<std::string> supportedOnnxOps();

} // namespace ss

#endif // SS_COMPILER_IMPORT_ONNXIMPORTER_H
