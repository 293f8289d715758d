//===- DistOps.cpp - dist op verifiers
//-------------------------------------===//
//
// Each verifier checks what one op can see: shapes against its sub-tensor or
// group, and its device's membership. Whether the members of a collective
// agree with each other is the schedule verifier's job.
//
//===----------------------------------------------------------------------===//

#include "Dist/DistDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;
using namespace ss::dist;

#define GET_OP_CLASSES
#include "Dist/DistOps.cpp.inc"

namespace {

std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (auto [i, size] : llvm::enumerate(shape)) {
    if (i)
      text += ", ";
    text += std::to_string(size);
  }
  return text + "]";
}

RankedTensorType tensorType(Value value) {
  return cast<RankedTensorType>(value.getType());
}

LogicalResult checkPieceFits(Operation *op, SubTensorAttr piece,
                             RankedTensorType full, RankedTensorType part,
                             StringRef what) {
  if (piece.getRank() != full.getRank())
    return op->emitOpError()
           << what << " piece has rank " << piece.getRank()
           << " but the full tensor has rank " << full.getRank();
  for (int64_t d = 0; d < full.getRank(); ++d)
    if (piece.getOffsets()[d] + piece.getSizes()[d] > full.getDimSize(d))
      return op->emitOpError() << what << " piece " << piece << " exceeds dim "
                               << d << " of size " << full.getDimSize(d);
  if (part.getShape() != piece.getSizes())
    return op->emitOpError()
           << what << " piece " << piece << " has shape "
           << shapeStr(piece.getSizes()) << " but its tensor has shape "
           << shapeStr(part.getShape());
  if (part.getElementType() != full.getElementType())
    return op->emitOpError()
           << what << " element type " << part.getElementType()
           << " differs from " << full.getElementType();
  return success();
}

/// Checks that `device` is a member of `group` and the group has no repeats.
LogicalResult checkGroup(Operation *op, ArrayRef<int64_t> group,
                         int64_t device) {
  if (group.empty())
    return op->emitOpError("has an empty group");
  for (auto [i, member] : llvm::enumerate(group)) {
    if (member < 0)
      return op->emitOpError()
             << "group member " << member << " is not a device";
    if (llvm::is_contained(group.take_front(i), member))
      return op->emitOpError() << "group " << shapeStr(group)
                               << " names device " << member << " twice";
  }
  if (!llvm::is_contained(group, device))
    return op->emitOpError()
           << "runs on device " << device << ", which is not in its group "
           << shapeStr(group);
  return success();
}

LogicalResult checkDim(Operation *op, int64_t dim, int64_t rank,
                       StringRef name) {
  if (dim < 0 || dim >= rank)
    return op->emitOpError()
           << name << " " << dim << " is out of range for rank " << rank;
  return success();
}

/// The input's shape with dim `dim` scaled by `mul / div`, or failure when
/// `div` does not divide it.
FailureOr<SmallVector<int64_t>> scaledShape(Operation *op,
                                            RankedTensorType type, int64_t dim,
                                            int64_t mul, int64_t div) {
  SmallVector<int64_t> shape(type.getShape());
  if (shape[dim] % div != 0) {
    op->emitOpError() << "group of " << div << " does not divide dim " << dim
                      << " of size " << shape[dim];
    return failure();
  }
  shape[dim] = shape[dim] / div * mul;
  return shape;
}

LogicalResult checkResultShape(Operation *op, ArrayRef<int64_t> expected) {
  auto result = cast<RankedTensorType>(op->getResult(0).getType());
  if (result.getShape() != expected)
    return op->emitOpError() << "result shape " << shapeStr(result.getShape())
                             << " should be " << shapeStr(expected);
  auto input = cast<RankedTensorType>(op->getOperand(0).getType());
  if (input.getElementType() != result.getElementType())
    return op->emitOpError()
           << "result element type " << result.getElementType()
           << " differs from the input's " << input.getElementType();
  return success();
}

} // namespace

LogicalResult RequireOp::verify() {
  if (getDevice() && *getDevice() < 0)
    return emitOpError() << "device " << *getDevice() << " is negative";
  return checkPieceFits(*this, getPiece(), tensorType(getSource()),
                        tensorType(getResult()), "required");
}

LogicalResult AssembleOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one piece");
  if (getPieces().size() != getInputs().size())
    return emitOpError() << "has " << getInputs().size() << " inputs but "
                         << getPieces().size() << " pieces";
  RankedTensorType full = tensorType(getResult());
  // Every value part of every element must be covered. Pieces of one value
  // count never overlap partially in plans built from op-trans, so the
  // check counts elements per part: distinct pieces of part k/V must add
  // up to the full tensor.
  llvm::DenseMap<std::pair<int64_t, int64_t>, int64_t> covered;
  llvm::SmallPtrSet<Attribute, 8> seen;
  int64_t total = full.getNumElements();
  for (auto [input, attr] : llvm::zip(getInputs(), getPieces())) {
    auto piece = dyn_cast<SubTensorAttr>(attr);
    if (!piece)
      return emitOpError() << "piece " << attr << " is not a #dist.sub";
    if (failed(
            checkPieceFits(*this, piece, full, tensorType(input), "assembled")))
      return failure();
    if (seen.insert(piece).second)
      covered[{piece.getValueIndex(), piece.getValueCount()}] +=
          piece.getNumElements();
  }
  for (auto [part, elements] : covered)
    if (elements != total)
      return emitOpError() << "value part " << part.first << "/" << part.second
                           << " covers " << elements << " of " << total
                           << " elements";
  if (RvdLayoutAttr layout = getLayoutAttr())
    return verifyLayout(layout);
  return success();
}

LogicalResult AssembleOp::verifyLayout(RvdLayoutAttr layout) {
  RankedTensorType full = tensorType(getResult());
  if (static_cast<int64_t>(layout.getSplits().size()) != full.getRank())
    return emitOpError() << "layout " << layout << " has "
                         << layout.getSplits().size() << " splits for a rank-"
                         << full.getRank() << " tensor";
  if (layout.getDevices().size() != getInputs().size())
    return emitOpError() << "layout " << layout << " lists "
                         << layout.getDevices().size() << " devices for "
                         << getInputs().size() << " pieces";
  // Each listed device holds the piece at its grid position.
  for (auto [k, device] : llvm::enumerate(layout.getDevices())) {
    int64_t replica, value;
    SmallVector<int64_t> splitIndex;
    layout.position(k, replica, value, splitIndex);
    bool found = false;
    for (auto [input, attr] : llvm::zip(getInputs(), getPieces())) {
      Operation *def = input.getDefiningOp();
      std::optional<int64_t> where = def ? deviceOf(def) : std::nullopt;
      auto piece = cast<SubTensorAttr>(attr);
      if (where != device || piece.getValueIndex() != value ||
          piece.getValueCount() != layout.getValueParts())
        continue;
      bool boxMatches = true;
      for (int64_t d = 0; d < full.getRank(); ++d) {
        int64_t chunk = full.getDimSize(d) / layout.getSplits()[d];
        boxMatches &= piece.getSizes()[d] == chunk &&
                      piece.getOffsets()[d] == splitIndex[d] * chunk;
      }
      found |= boxMatches;
    }
    if (!found)
      return emitOpError() << "layout " << layout << " puts the piece with "
                           << "value part " << value << " and splits "
                           << shapeStr(splitIndex) << " on device " << device
                           << ", which holds no such piece";
  }
  return success();
}

LogicalResult AllReduceOp::verify() {
  if (failed(checkGroup(*this, getGroup(), static_cast<int64_t>(getDevice()))))
    return failure();
  return checkResultShape(*this, tensorType(getInput()).getShape());
}

LogicalResult AllGatherOp::verify() {
  if (failed(checkGroup(*this, getGroup(), static_cast<int64_t>(getDevice()))))
    return failure();
  RankedTensorType input = tensorType(getInput());
  if (failed(checkDim(*this, getDim(), input.getRank(), "dim")))
    return failure();
  auto shape = scaledShape(*this, input, getDim(), getGroup().size(), 1);
  return failed(shape) ? failure() : checkResultShape(*this, *shape);
}

LogicalResult ReduceScatterOp::verify() {
  if (failed(checkGroup(*this, getGroup(), static_cast<int64_t>(getDevice()))))
    return failure();
  RankedTensorType input = tensorType(getInput());
  if (failed(checkDim(*this, getDim(), input.getRank(), "dim")))
    return failure();
  auto shape = scaledShape(*this, input, getDim(), 1, getGroup().size());
  return failed(shape) ? failure() : checkResultShape(*this, *shape);
}

LogicalResult AllToAllOp::verify() {
  if (failed(checkGroup(*this, getGroup(), static_cast<int64_t>(getDevice()))))
    return failure();
  RankedTensorType input = tensorType(getInput());
  if (failed(checkDim(*this, getSplitDim(), input.getRank(), "split_dim")) ||
      failed(checkDim(*this, getConcatDim(), input.getRank(), "concat_dim")))
    return failure();
  if (getSplitDim() == getConcatDim())
    return emitOpError() << "split_dim and concat_dim are both "
                         << getSplitDim();
  int64_t n = getGroup().size();
  auto split = scaledShape(*this, input, getSplitDim(), 1, n);
  if (failed(split))
    return failure();
  (*split)[getConcatDim()] *= n;
  return checkResultShape(*this, *split);
}

LogicalResult BroadcastOp::verify() {
  if (failed(checkGroup(*this, getGroup(), static_cast<int64_t>(getDevice()))))
    return failure();
  if (!llvm::is_contained(getGroup(), static_cast<int64_t>(getRoot())))
    return emitOpError() << "root " << getRoot() << " is not in group "
                         << shapeStr(getGroup());
  bool isRoot = getDevice() == getRoot();
  if (isRoot != static_cast<bool>(getInput()))
    return emitOpError() << (isRoot ? "on the root needs an input"
                                    : "off the root must not have an input");
  if (getInput() && getInput().getType() != getResult().getType())
    return emitOpError() << "input type " << getInput().getType()
                         << " differs from result type "
                         << getResult().getType();
  return success();
}

LogicalResult SendOp::verify() {
  if (static_cast<int64_t>(getDevice()) < 0 ||
      static_cast<int64_t>(getPeer()) < 0 || getDevice() == getPeer())
    return emitOpError() << "sends from device " << getDevice() << " to device "
                         << getPeer() << "; both must be distinct devices";
  return success();
}

LogicalResult RecvOp::verify() {
  if (static_cast<int64_t>(getDevice()) < 0 ||
      static_cast<int64_t>(getPeer()) < 0 || getDevice() == getPeer())
    return emitOpError() << "receives on device " << getDevice()
                         << " from device " << getPeer()
                         << "; both must be distinct devices";
  return success();
}

LogicalResult SliceOp::verify() {
  RankedTensorType input = tensorType(getInput());
  RankedTensorType result = tensorType(getResult());
  if (static_cast<int64_t>(getDevice()) < 0)
    return emitOpError() << "device " << getDevice() << " is negative";
  if (getOffsets().size() != static_cast<size_t>(input.getRank()) ||
      result.getRank() != input.getRank())
    return emitOpError() << "needs one offset per dim of its rank-"
                         << input.getRank() << " input, got "
                         << getOffsets().size();
  for (int64_t d = 0; d < input.getRank(); ++d)
    if (getOffsets()[d] < 0 ||
        getOffsets()[d] + result.getDimSize(d) > input.getDimSize(d))
      return emitOpError() << "box " << getOffsets()[d] << ":"
                           << getOffsets()[d] + result.getDimSize(d)
                           << " exceeds dim " << d << " of size "
                           << input.getDimSize(d);
  if (input.getElementType() != result.getElementType())
    return emitOpError("changes the element type");
  return success();
}

LogicalResult ScaleOp::verify() {
  if (static_cast<int64_t>(getDevice()) < 0)
    return emitOpError() << "device " << getDevice() << " is negative";
  if (getInput().getType() != getResult().getType())
    return emitOpError("changes the type");
  if (!isa<FloatType>(tensorType(getInput()).getElementType()))
    return emitOpError("scales only floating-point tensors");
  return success();
}

LogicalResult ComposeOp::verify() {
  RankedTensorType result = tensorType(getResult());
  int64_t rank = result.getRank();
  if (static_cast<int64_t>(getDevice()) < 0)
    return emitOpError() << "device " << getDevice() << " is negative";
  if (getInputs().empty())
    return emitOpError("needs at least one piece");
  if (getOffsets().size() != getInputs().size() * rank)
    return emitOpError() << "needs " << getInputs().size() * rank
                         << " offsets (" << rank << " per piece), got "
                         << getOffsets().size();
  int64_t elements = 0;
  for (auto [i, input] : llvm::enumerate(getInputs())) {
    RankedTensorType piece = tensorType(input);
    if (piece.getRank() != rank ||
        piece.getElementType() != result.getElementType())
      return emitOpError() << "piece " << i << " of type " << piece
                           << " does not fit result " << result;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t offset = getOffsets()[i * rank + d];
      if (offset < 0 || offset + piece.getDimSize(d) > result.getDimSize(d))
        return emitOpError()
               << "piece " << i << " at offset " << offset << " exceeds dim "
               << d << " of size " << result.getDimSize(d);
    }
    elements += piece.getNumElements();
  }
  if (elements != result.getNumElements())
    return emitOpError() << "pieces hold " << elements
                         << " elements; the result has "
                         << result.getNumElements();
  return success();
}
