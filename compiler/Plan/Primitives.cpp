//===- Primitives.cpp - op-trans, op-assign, op-order ---------------------===//
//
// Implements the plan primitives on the require/assemble form described in
// Primitives.h. Partitioning reads only dimension annotations.
//
//===----------------------------------------------------------------------===//

#include "Plan/Primitives.h"

#include "Dist/DistDialect.h"
#include "Graph/DimAnnotation.h"
#include "Graph/GraphDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace ss;
using namespace ss::plan;

std::string PartitionAlgo::str() const {
  switch (kind) {
  case SplitDim:
    return "split-dim(" + std::to_string(operand) + ", " + std::to_string(dim) +
           ", " + std::to_string(parts) + ")";
  case SplitReduction:
    return "split-reduction(" + std::to_string(operand) + ", " +
           std::to_string(dim) + ", " + std::to_string(parts) + ")";
  case Replicate:
    return "replicate(" + std::to_string(parts) + ")";
  }
  llvm_unreachable("unknown partition algorithm");
}

bool ss::plan::isPlannable(Operation *op) {
  // Training state is held where its readers need it, and an assign
  // updates every copy: the dependency pass places both.
  return isa<graph::GraphDialect>(op->getDialect()) &&
         !op->hasTrait<OpTrait::ConstantLike>() &&
         !isa<graph::VariableOp, graph::AssignOp>(op);
}

bool ss::plan::isSubOp(Operation *op) { return op->hasAttr(kOriginAttr); }

int64_t ss::plan::originOf(Operation *op) {
  if (auto attr = op->getAttrOfType<IntegerAttr>(kOriginAttr))
    return attr.getInt();
  return -1;
}

std::string ss::plan::nodeName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    std::string joined;
    for (Location part : fused.getLocations()) {
      std::string name = nodeName(part);
      if (!name.empty())
        joined += (joined.empty() ? "" : " + ") + name;
    }
    return joined;
  }
  return "";
}

std::string ss::plan::nodeName(Operation *op) {
  std::string name = nodeName(op->getLoc());
  if (!name.empty())
    return name;
  if (auto names = op->getAttrOfType<ArrayAttr>("ss.names"))
    for (Attribute entry : names)
      if (auto text = dyn_cast<StringAttr>(entry))
        name += (name.empty() ? "" : " + ") + text.str();
  return name;
}

namespace {

/// A module-wide counter kept on the module, so ids stay unique across
/// passes and plugins.
int64_t freshId(Operation *op, StringRef counter) {
  ModuleOp module = op->getParentOfType<ModuleOp>();
  auto attr = module->getAttrOfType<IntegerAttr>(counter);
  int64_t id = attr ? attr.getInt() : 0;
  module->setAttr(counter, IntegerAttr::get(
                               IntegerType::get(op->getContext(), 64), id + 1));
  return id;
}

IntegerAttr i64(MLIRContext *context, int64_t value) {
  return IntegerAttr::get(IntegerType::get(context, 64), value);
}

int64_t uidOf(Operation *op) {
  if (auto attr = op->getAttrOfType<IntegerAttr>(kUidAttr))
    return attr.getInt();
  int64_t uid = freshId(op, "dist.next_uid");
  op->setAttr(kUidAttr, i64(op->getContext(), uid));
  return uid;
}

dist::SubTensorAttr wholePiece(RankedTensorType type) {
  return dist::SubTensorAttr::get(type.getContext(),
                                  SmallVector<int64_t>(type.getRank(), 0),
                                  type.getShape(), 0, 1);
}

/// The assemble op a sub-op result feeds (its only use).
dist::AssembleOp assembleOf(OpResult result) {
  for (OpOperand &use : result.getUses())
    if (auto assemble = dyn_cast<dist::AssembleOp>(use.getOwner()))
      return assemble;
  return {};
}

/// Wraps an original op into a single piece: every operand through a
/// whole-piece dist.require, every result into a whole-piece dist.assemble.
void wrapAsSubOp(Operation *op) {
  if (isSubOp(op))
    return;
  MLIRContext *context = op->getContext();
  OpBuilder builder(op);
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = cast<RankedTensorType>(operand.get().getType());
    auto require = builder.create<dist::RequireOp>(
        op->getLoc(), type, operand.get(), wholePiece(type), IntegerAttr());
    operand.set(require);
  }
  builder.setInsertionPointAfter(op);
  for (OpResult result : op->getResults()) {
    auto type = cast<RankedTensorType>(result.getType());
    auto assemble = builder.create<dist::AssembleOp>(
        op->getLoc(), type, ValueRange{result},
        builder.getArrayAttr({wholePiece(type)}), dist::RvdLayoutAttr());
    result.replaceAllUsesExcept(assemble, assemble);
  }
  op->setAttr(kOriginAttr, i64(context, freshId(op, "dist.next_origin")));
  uidOf(op);
}

/// How each operand and result of an op is cut: chunks per dim and value
/// parts per tensor (graph::TensorSplit), one entry per tensor.
struct PieceRule {
  SmallVector<graph::TensorSplit> operands, results;
};

graph::TensorSplit wholeTensor(Type type) {
  graph::TensorSplit split;
  split.dimChunks.assign(cast<RankedTensorType>(type).getRank(), 1);
  return split;
}

FailureOr<PieceRule> pieceRule(Operation *op, const PartitionAlgo &algo,
                               std::string &why) {
  llvm::raw_string_ostream os(why);
  PieceRule rule;
  if (algo.kind == PartitionAlgo::Replicate) {
    for (Type type : op->getOperandTypes())
      rule.operands.push_back(wholeTensor(type));
    for (Type type : op->getResultTypes())
      rule.results.push_back(wholeTensor(type));
    return rule;
  }
  auto annotated = dyn_cast<graph::DimAnnotationOpInterface>(op);
  if (!annotated)
    return os << "cannot " << algo.str()
              << ": the op has no dimension annotation",
           failure();
  std::string text = annotated.getDimAnnotation();
  std::string error;
  FailureOr<graph::DimAnnotation> annotation =
      graph::DimAnnotation::parse(text, &error);
  if (failed(annotation))
    return os << "malformed dimension annotation '" << text << "': " << error,
           failure();
  if (algo.operand < 0 ||
      algo.operand >= static_cast<int64_t>(annotation->inputs.size()))
    return os << "cannot " << algo.str() << ": the op has "
              << annotation->inputs.size() << " tensor operands",
           failure();
  if (algo.dim < 0 ||
      algo.dim >= static_cast<int64_t>(annotation->inputs[algo.operand].size()))
    return os << "cannot " << algo.str() << ": operand " << algo.operand
              << " has rank " << annotation->inputs[algo.operand].size(),
           failure();
  const graph::AnnotatedDim &dim = annotation->inputs[algo.operand][algo.dim];
  const graph::DimLabel &label = dim.head();
  bool reduction = algo.kind == PartitionAlgo::SplitReduction;
  if (label.kind == graph::DimLabel::Frozen ||
      label.kind == graph::DimLabel::Broadcast ||
      (reduction && label.kind != graph::DimLabel::Reduced) ||
      (!reduction && label.kind == graph::DimLabel::Reduced))
    return os << "cannot " << algo.str() << ": dim " << algo.dim
              << " of operand " << algo.operand << " is '" << dim.str()
              << "' in annotation '" << text << "'"
              << (reduction ? " (split-reduction needs a reduced '+' dim)"
                  : label.kind == graph::DimLabel::Reduced
                      ? " (a reduced dim needs split-reduction)"
                      : ""),
           failure();
  FailureOr<graph::PieceSplit> split =
      graph::splitLabel(op, label.name, algo.parts, &error);
  if (failed(split))
    return os << "cannot " << algo.str() << ": " << error, failure();
  rule.operands = split->inputs;
  rule.results = split->outputs;
  return rule;
}

/// The k-th of n pieces of `piece` when the tensor is cut as `split` says.
dist::SubTensorAttr pieceOfPiece(dist::SubTensorAttr piece,
                                 const graph::TensorSplit &split, int64_t k) {
  SmallVector<int64_t> offsets(piece.getOffsets()), sizes(piece.getSizes());
  for (auto [d, chunks] : llvm::enumerate(split.dimChunks))
    if (chunks > 1) {
      sizes[d] /= chunks;
      offsets[d] += k * sizes[d];
    }
  int64_t index = piece.getValueIndex(), count = piece.getValueCount();
  if (split.valueParts > 1) {
    index = index * split.valueParts + k;
    count *= split.valueParts;
  }
  return dist::SubTensorAttr::get(piece.getContext(), offsets, sizes, index,
                                  count);
}

} // namespace

LogicalResult ss::plan::checkTrans(Operation *op, const PartitionAlgo &algo,
                                   std::string &why) {
  if (!isPlannable(op)) {
    why = "not a plannable op";
    return failure();
  }
  return failure(failed(pieceRule(op, algo, why)));
}

FailureOr<SmallVector<Operation *>>
ss::plan::opTrans(Operation *op, const PartitionAlgo &algo) {
  if (!isPlannable(op))
    return op->emitError() << "op-trans applies to graph ops other than "
                              "constants, not "
                           << op->getName(),
           failure();
  if (algo.parts < 1)
    return op->emitError() << "cannot " << algo.str()
                           << ": the number of parts must be positive",
           failure();
  std::string why;
  FailureOr<PieceRule> rule = pieceRule(op, algo, why);
  if (failed(rule))
    return op->emitError() << why, failure();
  wrapAsSubOp(op);

  MLIRContext *context = op->getContext();
  OpBuilder builder(op);
  std::string decision = algo.str();
  if (auto previous = op->getAttrOfType<StringAttr>(kTransAttr))
    decision = previous.str() + " then " + decision;

  SmallVector<Operation *> pieces;
  for (int64_t k = 0; k < algo.parts; ++k) {
    IRMapping mapping;
    for (auto [index, operand] : llvm::enumerate(op->getOperands())) {
      auto require = operand.getDefiningOp<dist::RequireOp>();
      dist::SubTensorAttr piece =
          pieceOfPiece(require.getPiece(), rule->operands[index], k);
      auto type = RankedTensorType::get(
          piece.getSizes(),
          cast<RankedTensorType>(operand.getType()).getElementType());
      auto sub = builder.create<dist::RequireOp>(require.getLoc(), type,
                                                 require.getSource(), piece,
                                                 require.getDeviceAttr());
      mapping.map(operand, sub.getResult());
    }
    Operation *clone = builder.clone(*op, mapping);
    for (auto [index, result] : llvm::enumerate(clone->getResults())) {
      dist::AssembleOp assemble = assembleOf(op->getResult(index));
      unsigned position =
          op->getResult(index).getUses().begin()->getOperandNumber();
      auto whole = cast<dist::SubTensorAttr>(assemble.getPieces()[position]);
      dist::SubTensorAttr piece = pieceOfPiece(whole, rule->results[index], k);
      result.setType(RankedTensorType::get(
          piece.getSizes(),
          cast<RankedTensorType>(result.getType()).getElementType()));
    }
    clone->setAttr(kTransAttr, StringAttr::get(context, decision + " piece " +
                                                            std::to_string(k)));
    clone->removeAttr(kUidAttr);
    uidOf(clone);
    if (failed(cast<graph::DimAnnotationOpInterface>(clone)
                   .adaptAttributesToTypes()) ||
        failed(graph::checkInferredTypes(clone))) {
      // Undo: drop the pieces built so far, keep the op as it was.
      pieces.push_back(clone);
      for (Operation *piece : pieces) {
        SmallVector<Value> operands(piece->getOperands());
        piece->erase();
        for (Value operand : operands)
          if (operand.use_empty())
            operand.getDefiningOp()->erase();
      }
      return failure();
    }
    pieces.push_back(clone);
  }

  // Each result's assemble now takes the pieces in place of the op's result.
  for (auto [index, result] : llvm::enumerate(op->getResults())) {
    dist::AssembleOp assemble = assembleOf(result);
    SmallVector<Value> inputs;
    SmallVector<Attribute> layout;
    for (auto [position, input] : llvm::enumerate(assemble.getInputs())) {
      auto whole = cast<dist::SubTensorAttr>(assemble.getPieces()[position]);
      if (input != result) {
        inputs.push_back(input);
        layout.push_back(whole);
        continue;
      }
      for (auto [k, piece] : llvm::enumerate(pieces)) {
        inputs.push_back(piece->getResult(index));
        layout.push_back(pieceOfPiece(whole, rule->results[index], k));
      }
    }
    OpBuilder after(assemble);
    auto replacement = after.create<dist::AssembleOp>(
        assemble.getLoc(), assemble.getType(), inputs,
        after.getArrayAttr(layout), dist::RvdLayoutAttr());
    assemble.replaceAllUsesWith(replacement.getResult());
    assemble.erase();
  }
  SmallVector<Value> operands(op->getOperands());
  op->erase();
  for (Value operand : operands)
    if (operand.use_empty())
      operand.getDefiningOp()->erase();
  return pieces;
}

LogicalResult ss::plan::opAssign(Operation *op, int64_t device) {
  if (!isPlannable(op))
    return op->emitError() << "op-assign applies to graph ops other than "
                              "constants, not "
                           << op->getName();
  if (device < 0)
    return op->emitError() << "cannot assign to device " << device;
  wrapAsSubOp(op);
  IntegerAttr attr = i64(op->getContext(), device);
  op->setAttr(dist::kDeviceAttr, attr);
  for (Value operand : op->getOperands())
    if (auto require = operand.getDefiningOp<dist::RequireOp>())
      require.setDeviceAttr(attr);
  return success();
}

void ss::plan::opOrder(Operation *before, Operation *after) {
  int64_t uid = uidOf(before);
  uidOf(after);
  SmallVector<int64_t> list;
  if (auto existing = after->getAttrOfType<DenseI64ArrayAttr>(kAfterAttr))
    list.assign(existing.asArrayRef().begin(), existing.asArrayRef().end());
  if (!llvm::is_contained(list, uid))
    list.push_back(uid);
  after->setAttr(kAfterAttr, DenseI64ArrayAttr::get(after->getContext(), list));
}
