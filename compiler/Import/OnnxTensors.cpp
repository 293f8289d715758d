//===- OnnxTensors.cpp - ONNX tensors and types to MLIR ------------------===//
//
// Reads TensorProto payloads (raw_data, typed repeated fields, or external
// files) into DenseElementsAttr, checking every size against the shape.
//
//===----------------------------------------------------------------------===//

#include "Import/OnnxTensors.h"

#include "llvm/ADT/SmallVector.h"

#include <cstring>
#include <fstream>

using namespace mlir;

namespace ss {

Type elementTypeFromOnnx(MLIRContext &context, int32_t code) {
  switch (code) {
  case onnx::TensorProto::FLOAT:
    return Float32Type::get(&context);
  case onnx::TensorProto::INT64:
    return IntegerType::get(&context, 64);
  case onnx::TensorProto::INT32:
    return IntegerType::get(&context, 32);
  case onnx::TensorProto::BOOL:
    return IntegerType::get(&context, 1);
  default:
    return nullptr;
  }
}

std::string onnxTypeName(int32_t code) {
  if (onnx::TensorProto_DataType_IsValid(code))
    return onnx::TensorProto_DataType_Name(
        static_cast<onnx::TensorProto_DataType>(code));
  return "type code " + std::to_string(code);
}

namespace {

/// Bytes per element as stored in raw_data.
size_t storageSize(int32_t code) {
  switch (code) {
  case onnx::TensorProto::FLOAT:
  case onnx::TensorProto::INT32:
    return 4;
  case onnx::TensorProto::INT64:
    return 8;
  case onnx::TensorProto::BOOL:
    return 1;
  default:
    return 0;
  }
}

/// Reads `length` bytes at `offset` of the external file named by `tensor`.
bool readExternalData(const onnx::TensorProto &tensor,
                      const std::string &modelDir, std::string &bytes,
                      std::string &error) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &entry : tensor.external_data()) {
    if (entry.key() == "location")
      location = entry.value();
    else if (entry.key() == "offset")
      offset = std::atoll(entry.value().c_str());
    else if (entry.key() == "length")
      length = std::atoll(entry.value().c_str());
  }
  if (location.empty()) {
    error = "external data of tensor '" + tensor.name() + "' has no location";
    return false;
  }
  std::string path =
      location.front() == '/' ? location : modelDir + "/" + location;
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    error = "cannot open external data file '" + path + "' of tensor '" +
            tensor.name() + "'";
    return false;
  }
  int64_t fileSize = static_cast<int64_t>(in.tellg());
  if (length < 0)
    length = fileSize - offset;
  if (offset < 0 || length < 0 || offset + length > fileSize) {
    error = "external data of tensor '" + tensor.name() + "' (offset " +
            std::to_string(offset) + ", length " + std::to_string(length) +
            ") lies outside '" + path + "' of " + std::to_string(fileSize) +
            " bytes";
    return false;
  }
  bytes.resize(static_cast<size_t>(length));
  in.seekg(offset);
  in.read(bytes.data(), length);
  if (!in) {
    error = "failed reading external data file '" + path + "'";
    return false;
  }
  return true;
}

} // namespace

TensorReadResult readTensorProto(MLIRContext &context,
                                 const onnx::TensorProto &tensor,
                                 const std::string &modelDir) {
  TensorReadResult result;
  int32_t code = tensor.data_type();
  Type elementType = elementTypeFromOnnx(context, code);
  if (!elementType) {
    result.error = "tensor '" + tensor.name() + "' has element type " +
                   onnxTypeName(code) +
                   "; supported are FLOAT, INT64, INT32 and BOOL";
    result.unsupported = true;
    return result;
  }
  llvm::SmallVector<int64_t> shape;
  int64_t count = 1;
  for (int64_t dim : tensor.dims()) {
    if (dim < 0 || (dim > 0 && count > (int64_t(1) << 40) / dim)) {
      result.error = "tensor '" + tensor.name() + "' has invalid shape";
      return result;
    }
    shape.push_back(dim);
    count *= dim;
  }
  auto type = RankedTensorType::get(shape, elementType);

  // Gather the payload as little-endian bytes in storage layout.
  std::string bytes;
  size_t elemSize = storageSize(code);
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    if (!readExternalData(tensor, modelDir, bytes, result.error))
      return result;
  } else if (tensor.has_raw_data()) {
    bytes = tensor.raw_data();
  } else {
    switch (code) {
    case onnx::TensorProto::FLOAT:
      bytes.resize(tensor.float_data_size() * 4);
      if (!bytes.empty())
        std::memcpy(bytes.data(), tensor.float_data().data(), bytes.size());
      break;
    case onnx::TensorProto::INT64:
      bytes.resize(tensor.int64_data_size() * 8);
      if (!bytes.empty())
        std::memcpy(bytes.data(), tensor.int64_data().data(), bytes.size());
      break;
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::BOOL:
      // int32_data carries int32 and bool values alike.
      for (int32_t v : tensor.int32_data()) {
        if (code == onnx::TensorProto::BOOL) {
          bytes.push_back(static_cast<char>(v != 0));
        } else {
          char buf[4];
          std::memcpy(buf, &v, 4);
          bytes.append(buf, 4);
        }
      }
      break;
    }
  }
  if (bytes.size() != static_cast<size_t>(count) * elemSize) {
    result.error =
        "tensor '" + tensor.name() + "' holds " + std::to_string(bytes.size()) +
        " bytes but its shape needs " + std::to_string(count * elemSize);
    return result;
  }

  if (code == onnx::TensorProto::BOOL) {
    // MLIR stores i1 splat/packed; build from explicit bools.
    llvm::SmallVector<bool> values;
    values.reserve(count);
    for (char c : bytes)
      values.push_back(c != 0);
    result.value = DenseElementsAttr::get(type, values);
  } else {
    result.value = DenseElementsAttr::getFromRawBuffer(
        type, llvm::ArrayRef<char>(bytes.data(), bytes.size()));
  }
  return result;
}

} // namespace ss
