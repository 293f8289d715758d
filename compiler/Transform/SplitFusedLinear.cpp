//===- SplitFusedLinear.cpp - one linear per part of a split output -------===//
//
// Matches split(reshape?(add?(linear(x, W[, b]), bias?))) where the split
// axis is the linear's output-feature axis, W and the biases are constants,
// and every intermediate value has one user; rebuilds it as one linear (and
// reshape) per split part.
//
//===----------------------------------------------------------------------===//

#include "Transform/SplitFusedLinear.h"

#include "Debug.h"
#include "Graph/GraphDialect.h"
#include "Passes.h"
#include "Transform/SliceElements.h"

#include "mlir/IR/Builders.h"

#define DEBUG_TYPE "graph-split-fused-linear"

namespace ss {
#define GEN_PASS_DEF_GRAPHSPLITFUSEDLINEAR
#include "Passes.h.inc"
} // namespace ss

using namespace mlir;
using namespace ss;
using namespace ss::graph;

namespace {

DenseElementsAttr constantValue(Value value) {
  auto constant = value.getDefiningOp<ConstantOp>();
  return constant ? dyn_cast<DenseElementsAttr>(constant.getValue())
                  : DenseElementsAttr();
}

/// A constant holding columns [offset, offset + size) of the last dim of
/// `value` (or rows, for a transposed Gemm weight when `dim` is 0).
Value sliceConstant(OpBuilder &builder, Value value, int64_t dim,
                    int64_t offset, int64_t size) {
  DenseElementsAttr dense = constantValue(value);
  auto type = cast<RankedTensorType>(dense.getType());
  SmallVector<int64_t> offsets(type.getRank(), 0);
  SmallVector<int64_t> sizes(type.getShape());
  offsets[dim] = offset;
  sizes[dim] = size;
  DenseElementsAttr part = sliceElements(dense, offsets, sizes);
  return builder.create<ConstantOp>(value.getLoc(), part.getType(), part);
}

struct FusedLinear {
  Operation *linear = nullptr; // graph.matmul or graph.gemm
  AddOp bias;                  // optional bias added after a matmul
  ReshapeOp reshape;           // optional reshape before the split
  int64_t weightDim = 1;       // the weight's output-feature dim
};

/// Recognizes the chain feeding `split`.
std::optional<FusedLinear> match(SplitOp split) {
  FusedLinear fused;
  Value value = split.getInput();
  auto splitType = cast<RankedTensorType>(value.getType());
  if (split.getAxis() != splitType.getRank() - 1)
    return std::nullopt;
  if (auto reshape = value.getDefiningOp<ReshapeOp>()) {
    auto in = cast<RankedTensorType>(reshape.getInput().getType());
    if (!reshape->hasOneUse() ||
        in.getShape().back() != splitType.getShape().back())
      return std::nullopt;
    fused.reshape = reshape;
    value = reshape.getInput();
  }
  if (auto add = value.getDefiningOp<AddOp>()) {
    auto biasType = cast<RankedTensorType>(add.getRhs().getType());
    if (!add->hasOneUse() || !constantValue(add.getRhs()) ||
        biasType.getRank() != 1)
      return std::nullopt;
    fused.bias = add;
    value = add.getLhs();
  }
  Operation *linear = value.getDefiningOp();
  if (!linear || !linear->hasOneUse())
    return std::nullopt;
  if (auto matmul = dyn_cast<MatMulOp>(linear)) {
    auto weight = cast<RankedTensorType>(matmul.getRhs().getType());
    if (weight.getRank() != 2 || !constantValue(matmul.getRhs()))
      return std::nullopt;
  } else if (auto gemm = dyn_cast<GemmOp>(linear)) {
    if (gemm.getTransA() || !constantValue(gemm.getB()) ||
        (gemm.getC() &&
         (!constantValue(gemm.getC()) ||
          cast<RankedTensorType>(gemm.getC().getType()).getRank() != 1)))
      return std::nullopt;
    fused.weightDim = gemm.getTransB() ? 0 : 1;
  } else {
    return std::nullopt;
  }
  if (fused.bias && !isa<MatMulOp>(linear))
    return std::nullopt;
  fused.linear = linear;
  return fused;
}

void rewrite(SplitOp split, FusedLinear fused) {
  OpBuilder builder(split);
  int64_t offset = 0;
  for (auto [index, size] : llvm::enumerate(split.getSizes())) {
    Location loc = split.getLoc();
    Value part;
    if (auto matmul = dyn_cast<MatMulOp>(fused.linear)) {
      Value weight = sliceConstant(builder, matmul.getRhs(), 1, offset, size);
      auto type = cast<RankedTensorType>(matmul.getType());
      SmallVector<int64_t> shape(type.getShape());
      shape.back() = size;
      part = builder.create<MatMulOp>(
          matmul.getLoc(), RankedTensorType::get(shape, type.getElementType()),
          matmul.getLhs(), weight);
    } else {
      auto gemm = cast<GemmOp>(fused.linear);
      Value weight =
          sliceConstant(builder, gemm.getB(), fused.weightDim, offset, size);
      Value bias = gemm.getC()
                       ? sliceConstant(builder, gemm.getC(), 0, offset, size)
                       : Value();
      auto type = cast<RankedTensorType>(gemm.getType());
      auto gemmPart = builder.create<GemmOp>(
          gemm.getLoc(),
          RankedTensorType::get({type.getDimSize(0), size},
                                type.getElementType()),
          gemm.getA(), weight, bias, gemm.getTransAAttr(), gemm.getTransBAttr(),
          gemm.getAlphaAttr(), gemm.getBetaAttr());
      part = gemmPart;
    }
    part.getDefiningOp()->setDiscardableAttrs(
        fused.linear->getDiscardableAttrDictionary());
    if (fused.bias) {
      Value bias = sliceConstant(builder, fused.bias.getRhs(), 0, offset, size);
      auto add = builder.create<AddOp>(fused.bias.getLoc(), part.getType(),
                                       part, bias);
      add->setDiscardableAttrs(fused.bias->getDiscardableAttrDictionary());
      part = add;
    }
    if (fused.reshape) {
      auto type = cast<RankedTensorType>(fused.reshape.getType());
      SmallVector<int64_t> shape(type.getShape());
      shape.back() = size;
      auto reshape = builder.create<ReshapeOp>(
          fused.reshape.getLoc(),
          RankedTensorType::get(shape, type.getElementType()), part,
          builder.getDenseI64ArrayAttr(shape));
      reshape->setDiscardableAttrs(
          fused.reshape->getDiscardableAttrDictionary());
      part = reshape;
    }
    split.getResult(index).replaceAllUsesWith(part);
    offset += size;
  }
  Operation *chain[] = {split, fused.reshape, fused.bias, fused.linear};
  for (Operation *op : chain)
    if (op)
      op->erase();
}

struct SplitFusedLinearPass
    : ss::impl::GraphSplitFusedLinearBase<SplitFusedLinearPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      splitFusedLinears(func);
  }
};

} // namespace

int64_t ss::splitFusedLinears(func::FuncOp func) {
  SmallVector<SplitOp> splits;
  func.walk([&](SplitOp split) { splits.push_back(split); });
  int64_t count = 0;
  for (SplitOp split : splits)
    if (std::optional<FusedLinear> fused = match(split)) {
      SS_DEBUG(DEBUG_TYPE, dbgs << "splitting the linear before "
                                << split.getLoc() << " into "
                                << split.getNumResults() << "\n");
      rewrite(split, *fused);
      ++count;
    }
  return count;
}
