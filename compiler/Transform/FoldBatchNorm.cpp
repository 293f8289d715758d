//===- FoldBatchNorm.cpp - the graph-fold-batch-norm pass ----------------===//
//
// Rewrites conv -> batch_norm with constant parameters into one conv with
// scaled weights and shifted bias, removing a full pass over the
// activations at run time.
//
//===----------------------------------------------------------------------===//

#include "Debug.h"
#include "Graph/GraphDialect.h"
#include "Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;
using namespace ss::graph;

#define DEBUG_TYPE "graph-fold-batch-norm"

namespace ss {

#define GEN_PASS_DEF_GRAPHFOLDBATCHNORM
#include "Passes.h.inc"

namespace {

/// The float values of a constant operand, or nothing.
std::optional<std::vector<double>> constantFloats(Value v) {
  DenseElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)) ||
      !attr.getElementType().isF32())
    return std::nullopt;
  std::vector<double> out;
  out.reserve(attr.getNumElements());
  for (float x : attr.getValues<float>())
    out.push_back(x);
  return out;
}

/// Carries the ONNX tensor name of `from` (the value being replaced) over.
void copyNames(Operation *from, Operation *to) {
  if (auto names = from->getAttr("ss.names"))
    to->setAttr("ss.names", names);
}

LogicalResult foldInto(BatchNormOp bn) {
  auto conv = bn.getInput().getDefiningOp<ConvOp>();
  if (!conv || !conv->hasOneUse() || conv.getActivation() != "none")
    return failure();
  auto filterType = cast<RankedTensorType>(conv.getFilter().getType());
  int64_t channels = filterType.getDimSize(0);
  auto weights = constantFloats(conv.getFilter());
  auto scale = constantFloats(bn.getScale());
  auto beta = constantFloats(bn.getBias());
  auto mean = constantFloats(bn.getMean());
  auto var = constantFloats(bn.getVariance());
  std::optional<std::vector<double>> bias =
      conv.getBias() ? constantFloats(conv.getBias())
                     : std::vector<double>(channels, 0.0);
  if (!weights || !scale || !beta || !mean || !var || !bias)
    return failure();
  if ((int64_t)scale->size() != channels || (int64_t)bias->size() != channels)
    return failure();

  double eps = bn.getEpsilon().convertToDouble();
  int64_t perChannel = weights->size() / channels;
  std::vector<float> newWeights(weights->size()), newBias(channels);
  for (int64_t o = 0; o < channels; ++o) {
    double s = (*scale)[o] / std::sqrt((*var)[o] + eps);
    for (int64_t i = 0; i < perChannel; ++i)
      newWeights[o * perChannel + i] =
          static_cast<float>((*weights)[o * perChannel + i] * s);
    newBias[o] = static_cast<float>(((*bias)[o] - (*mean)[o]) * s + (*beta)[o]);
  }

  OpBuilder b(bn);
  Location loc = b.getFusedLoc({conv.getLoc(), bn.getLoc()});
  auto biasType = RankedTensorType::get({channels}, b.getF32Type());
  Value w = b.create<ConstantOp>(
      conv.getFilter().getLoc(), filterType,
      DenseElementsAttr::get(filterType, ArrayRef<float>(newWeights)));
  Value c = b.create<ConstantOp>(
      loc, biasType,
      DenseElementsAttr::get(biasType, ArrayRef<float>(newBias)));
  auto fused = b.create<ConvOp>(
      loc, bn.getType(), conv.getInput(), w, c, conv.getStridesAttr(),
      conv.getPadsAttr(), conv.getDilationsAttr(), conv.getGroupAttr(),
      conv.getActivationAttr(), conv.getActivationAlphaAttr(),
      conv.getActivationBetaAttr());
  copyNames(bn, fused);
  bn.getOutput().replaceAllUsesWith(fused.getOutput());
  bn.erase();
  conv.erase();
  return success();
}

struct GraphFoldBatchNorm : impl::GraphFoldBatchNormBase<GraphFoldBatchNorm> {
  void runOnOperation() override {
    SmallVector<BatchNormOp> candidates;
    getOperation().walk([&](BatchNormOp bn) { candidates.push_back(bn); });
    int folded = 0;
    for (BatchNormOp bn : candidates)
      folded += succeeded(foldInto(bn));
    SS_DEBUG(DEBUG_TYPE, dbgs << "folded " << folded << " of "
                              << candidates.size() << " batch_norm ops\n");
    // Weights and statistics that no longer have users.
    SmallVector<Operation *> dead;
    getOperation().walk([&](ConstantOp c) {
      if (c->use_empty())
        dead.push_back(c);
    });
    for (Operation *op : dead)
      op->erase();
  }
};

} // namespace
} // namespace ss
