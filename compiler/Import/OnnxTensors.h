//===- OnnxTensors.h - ONNX tensors and types to MLIR -----------*- C++ -*-===//
//
// Conversions between ONNX TensorProto / element type codes and MLIR types
// and DenseElementsAttr, shared by the importer's initializer and Constant
// handling.
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_IMPORT_ONNXTENSORS_H
#define SS_COMPILER_IMPORT_ONNXTENSORS_H

#include "onnx/onnx_pb.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

#include <string>

namespace ss {

/// The MLIR element type for an ONNX TensorProto.DataType code, or null when
/// the compiler does not support it (only float32, int64, int32 and bool).
mlir::Type elementTypeFromOnnx(mlir::MLIRContext &context, int32_t code);

/// Human-readable ONNX type name ("FLOAT16", "DOUBLE", ...).
std::string onnxTypeName(int32_t code);

/// Result of reading a TensorProto: either a value or an error message with
/// `unsupported` telling whether the tensor is valid ONNX we cannot handle.
struct TensorReadResult {
  mlir::DenseElementsAttr value;
  std::string error;
  bool unsupported = false;
};

/// Reads a TensorProto, following external data relative to `modelDir`.
TensorReadResult readTensorProto(mlir::MLIRContext &context,
                                 const onnx::TensorProto &tensor,
                                 const std::string &modelDir);

} // namespace ss

#endif // SS_COMPILER_IMPORT_ONNXTENSORS_H
