//===- PieceLayouts.cpp - RVD layouts of dist dialect pieces --------------===//
//
// Converts sub-tensor attributes to the RVD search's pieces and infers the
// layout attribute of an assembled full tensor.
//
//===----------------------------------------------------------------------===//

#include "Dependency/PieceLayouts.h"

using namespace mlir;
using namespace ss;

dependency::DevicePiece ss::dependency::devicePiece(int64_t device,
                                                    dist::SubTensorAttr box) {
  DevicePiece piece;
  piece.device = device;
  piece.offsets.assign(box.getOffsets().begin(), box.getOffsets().end());
  piece.sizes.assign(box.getSizes().begin(), box.getSizes().end());
  piece.valueIndex = box.getValueIndex();
  piece.valueCount = box.getValueCount();
  return piece;
}

dist::RvdLayoutAttr ss::dependency::layoutOf(dist::AssembleOp assemble) {
  auto type = cast<RankedTensorType>(assemble.getType());
  std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
  std::vector<DevicePiece> pieces;
  for (auto [input, attr] :
       llvm::zip(assemble.getInputs(), assemble.getPieces())) {
    Operation *def = input.getDefiningOp();
    std::optional<int64_t> device = def ? dist::deviceOf(def) : std::nullopt;
    if (!device)
      return {};
    pieces.push_back(devicePiece(*device, cast<dist::SubTensorAttr>(attr)));
  }
  std::optional<RvdLayout> layout = inferRvdLayout(shape, pieces);
  if (!layout)
    return {};
  std::vector<int64_t> devices(layout->numDevices());
  std::map<int64_t, int64_t> replica = layout->replicaIndices();
  for (auto &[device, coord] : layout->pieces) {
    int64_t k = replica[device] * layout->valueParts + coord.value;
    for (auto [d, split] : llvm::enumerate(layout->splits))
      k = k * split + coord.splits[d];
    devices[k] = device;
  }
  return dist::RvdLayoutAttr::get(assemble.getContext(), layout->replicas,
                                  layout->valueParts, layout->splits, devices);
}
