//===- DistDialect.cpp - dist dialect and the sub-tensor attribute --------===//
//
// Registers the dist dialect and implements #dist.sub: its syntax
// `<[lo:hi, ...], k of V>` and its checks.
//
//===----------------------------------------------------------------------===//

#include "Dist/DistDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace ss::dist;

#include "Dist/DistDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "Dist/DistAttrs.cpp.inc"

void DistDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "Dist/DistAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "Dist/DistOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// SubTensorAttr
//===----------------------------------------------------------------------===//

Attribute SubTensorAttr::parse(AsmParser &parser, Type) {
  SmallVector<int64_t> offsets, sizes;
  auto parseRange = [&]() -> ParseResult {
    int64_t lo, hi;
    if (parser.parseInteger(lo) || parser.parseColon() ||
        parser.parseInteger(hi))
      return failure();
    offsets.push_back(lo);
    sizes.push_back(hi - lo);
    return success();
  };
  int64_t index, count;
  if (parser.parseLess() ||
      parser.parseCommaSeparatedList(AsmParser::Delimiter::Square,
                                     parseRange) ||
      parser.parseComma() || parser.parseInteger(index) ||
      parser.parseKeyword("of") || parser.parseInteger(count) ||
      parser.parseGreater())
    return {};
  return parser.getChecked<SubTensorAttr>(parser.getContext(), offsets, sizes,
                                          index, count);
}

void SubTensorAttr::print(AsmPrinter &printer) const {
  printer << "<[";
  for (auto [i, offset] : llvm::enumerate(getOffsets())) {
    if (i)
      printer << ", ";
    printer << offset << ":" << offset + getSizes()[i];
  }
  printer << "], " << getValueIndex() << " of " << getValueCount() << ">";
}

LogicalResult
SubTensorAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      ArrayRef<int64_t> offsets, ArrayRef<int64_t> sizes,
                      int64_t valueIndex, int64_t valueCount) {
  if (offsets.size() != sizes.size())
    return emitError() << "sub-tensor has " << offsets.size() << " offsets but "
                       << sizes.size() << " sizes";
  for (auto [d, offset] : llvm::enumerate(offsets))
    if (offset < 0 || sizes[d] < 0)
      return emitError() << "sub-tensor range " << offset << ":"
                         << offset + sizes[d] << " of dim " << d
                         << " is negative";
  if (valueCount < 1 || valueIndex < 0 || valueIndex >= valueCount)
    return emitError() << "value part " << valueIndex << "/" << valueCount
                       << " is not k/V with 0 <= k < V";
  return success();
}

int64_t SubTensorAttr::getNumElements() const {
  int64_t n = 1;
  for (int64_t size : getSizes())
    n *= size;
  return n;
}

bool SubTensorAttr::isWhole(ArrayRef<int64_t> fullShape) const {
  if (getValueCount() != 1 || fullShape.size() != getOffsets().size())
    return false;
  for (auto [d, size] : llvm::enumerate(fullShape))
    if (getOffsets()[d] != 0 || getSizes()[d] != size)
      return false;
  return true;
}

bool SubTensorAttr::containsBox(SubTensorAttr other) const {
  if (other.getRank() != getRank())
    return false;
  for (int64_t d = 0; d < getRank(); ++d)
    if (other.getOffsets()[d] < getOffsets()[d] ||
        other.getOffsets()[d] + other.getSizes()[d] >
            getOffsets()[d] + getSizes()[d])
      return false;
  return true;
}

//===----------------------------------------------------------------------===//
// RvdLayoutAttr
//===----------------------------------------------------------------------===//

LogicalResult
RvdLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      int64_t replicas, int64_t valueParts,
                      ArrayRef<int64_t> splits, ArrayRef<int64_t> devices) {
  int64_t pieces = replicas * valueParts;
  if (replicas < 1 || valueParts < 1)
    return emitError() << "RVD layout needs R >= 1 and V >= 1, got R"
                       << replicas << " V" << valueParts;
  for (int64_t split : splits) {
    if (split < 1)
      return emitError() << "RVD layout split " << split << " is not positive";
    pieces *= split;
  }
  if (static_cast<int64_t>(devices.size()) != pieces)
    return emitError() << "RVD layout R" << replicas << " V" << valueParts
                       << " has " << pieces << " pieces but lists "
                       << devices.size() << " devices";
  for (auto [i, device] : llvm::enumerate(devices))
    if (device < 0 || llvm::is_contained(devices.take_front(i), device))
      return emitError() << "RVD layout device " << device
                         << " is negative or listed twice";
  return success();
}

void RvdLayoutAttr::position(int64_t k, int64_t &replica, int64_t &value,
                             SmallVectorImpl<int64_t> &splitIndex) const {
  ArrayRef<int64_t> splits = getSplits();
  splitIndex.assign(splits.size(), 0);
  for (int64_t d = splits.size() - 1; d >= 0; --d) {
    splitIndex[d] = k % splits[d];
    k /= splits[d];
  }
  value = k % getValueParts();
  replica = k / getValueParts();
}

//===----------------------------------------------------------------------===//
// Device queries
//===----------------------------------------------------------------------===//

std::optional<int64_t> ss::dist::deviceOf(Operation *op) {
  if (auto attr = op->getAttrOfType<IntegerAttr>(kDeviceAttr))
    return attr.getInt();
  if (auto require = dyn_cast<RequireOp>(op))
    return require.getDevice();
  if (isa<AssembleOp>(op))
    return std::nullopt;
  if (isa<DistDialect>(op->getDialect()))
    if (auto attr = op->getAttrOfType<IntegerAttr>("device"))
      return attr.getInt();
  return std::nullopt;
}

SmallVector<int64_t> ss::dist::commGroupOf(Operation *op) {
  if (auto send = dyn_cast<SendOp>(op))
    return {static_cast<int64_t>(send.getDevice()),
            static_cast<int64_t>(send.getPeer())};
  if (auto recv = dyn_cast<RecvOp>(op))
    return {static_cast<int64_t>(recv.getPeer()),
            static_cast<int64_t>(recv.getDevice())};
  if (isa<AllReduceOp, AllGatherOp, ReduceScatterOp, AllToAllOp, BroadcastOp>(
          op))
    return llvm::to_vector(
        op->getAttrOfType<DenseI64ArrayAttr>("group").asArrayRef());
  return {};
}

bool ss::dist::isCommunication(Operation *op) {
  return isa<AllReduceOp, AllGatherOp, ReduceScatterOp, AllToAllOp, BroadcastOp,
             SendOp, RecvOp>(op);
}
