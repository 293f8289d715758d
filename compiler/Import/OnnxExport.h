//===- OnnxExport.h - trained weights back into an ONNX model ---*- C++ -*-===//
//
// Writes a copy of an ONNX model whose initializers hold new values: how
// `ssc export` turns a training checkpoint into a trained model.
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_IMPORT_ONNXEXPORT_H
#define SS_COMPILER_IMPORT_ONNXEXPORT_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ss {

/// A float32 tensor in row-major order.
struct FloatTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

/// Copies the model at `source` to `destination` with each initializer
/// named in `weights` replaced by its value (stored inline as raw data).
/// Every name must be a float32 initializer of the same shape. The file is
/// written to a temporary name and renamed, so a failure leaves no partial
/// model. Returns false with `error` set on failure.
bool writeModelWithWeights(const std::string &source,
                           const std::string &destination,
                           const std::map<std::string, FloatTensor> &weights,
                           std::string &error);

} // namespace ss

#endif // SS_COMPILER_IMPORT_ONNXEXPORT_H
