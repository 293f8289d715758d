//===- SliceElements.cpp - compile-time slices of constants ---------------===//
//
// Copies the elements of a box of a dense constant: raw bytes for byte-sized
// element types, attribute by attribute otherwise (i1).
//
//===----------------------------------------------------------------------===//

#include "Transform/SliceElements.h"

#include "mlir/IR/BuiltinTypes.h"

#include <cstring>
#include <vector>

using namespace mlir;

DenseElementsAttr ss::sliceElements(DenseElementsAttr value,
                                    ArrayRef<int64_t> offsets,
                                    ArrayRef<int64_t> sizes) {
  auto type = cast<RankedTensorType>(value.getType());
  auto sliced = RankedTensorType::get(sizes, type.getElementType());
  if (value.isSplat())
    return value.resizeSplat(sliced);
  int64_t rank = type.getRank();
  SmallVector<int64_t> strides(rank, 1);
  for (int64_t d = rank - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * type.getDimSize(d + 1);
  SmallVector<int64_t> index(rank, 0);
  int64_t count = sliced.getNumElements();
  auto flatIndex = [&]() {
    int64_t flat = 0;
    for (int64_t d = 0; d < rank; ++d)
      flat += (offsets[d] + index[d]) * strides[d];
    return flat;
  };
  auto advance = [&]() {
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < sizes[d])
        return;
      index[d] = 0;
    }
  };
  unsigned bits = type.getElementTypeBitWidth();
  if (bits % 8 == 0 && !type.getElementType().isInteger(1)) {
    size_t bytes = bits / 8;
    ArrayRef<char> raw = value.getRawData();
    std::vector<char> data(count * bytes);
    for (int64_t i = 0; i < count; ++i, advance())
      std::memcpy(&data[i * bytes], &raw[flatIndex() * bytes], bytes);
    return DenseElementsAttr::getFromRawBuffer(sliced, data);
  }
  auto values = llvm::to_vector(value.getValues<Attribute>());
  SmallVector<Attribute> picked;
  picked.reserve(count);
  for (int64_t i = 0; i < count; ++i, advance())
    picked.push_back(values[flatIndex()]);
  return DenseElementsAttr::get(sliced, picked);
}
