//===- OnnxExport.cpp - trained weights back into an ONNX model -----------===//

#include "OnnxExport.h"

#include "onnx/onnx_pb.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace ss {

bool writeModelWithWeights(const std::string &source,
                           const std::string &destination,
                           const std::map<std::string, FloatTensor> &weights,
                           std::string &error) {
  std::ifstream in(source, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  onnx::ModelProto model;
  if (!in || !model.ParseFromString(buffer.str()) || !model.has_graph()) {
    error = "cannot read the ONNX model '" + source + "'";
    return false;
  }
  std::map<std::string, bool> replaced;
  for (const auto &entry : weights)
    replaced[entry.first] = false;
  for (onnx::TensorProto &init :
       *model.mutable_graph()->mutable_initializer()) {
    auto it = weights.find(init.name());
    if (it == weights.end())
      continue;
    const FloatTensor &tensor = it->second;
    std::vector<int64_t> dims(init.dims().begin(), init.dims().end());
    if (init.data_type() != onnx::TensorProto::FLOAT || dims != tensor.shape) {
      error = "initializer '" + init.name() +
              "' of the model does not have the trained tensor's type "
              "(float32 of the same shape)";
      return false;
    }
    // The new value is stored inline, whatever form the old one had.
    init.clear_float_data();
    init.clear_external_data();
    init.clear_data_location();
    init.set_raw_data(
        std::string(reinterpret_cast<const char *>(tensor.values.data()),
                    tensor.values.size() * sizeof(float)));
    replaced[init.name()] = true;
  }
  for (const auto &[name, done] : replaced)
    if (!done) {
      error = "the model has no initializer named '" + name + "'";
      return false;
    }
  std::string bytes;
  if (!model.SerializeToString(&bytes)) {
    error = "cannot serialize the trained model (over 2 GiB?)";
    return false;
  }
  std::string temporary = destination + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::remove(temporary.c_str());
      error = "cannot write '" + temporary + "'";
      return false;
    }
  }
  if (std::rename(temporary.c_str(), destination.c_str()) != 0) {
    std::remove(temporary.c_str());
    error = "cannot rename '" + temporary + "' to '" + destination + "'";
    return false;
  }
  return true;
}

} // namespace ss
