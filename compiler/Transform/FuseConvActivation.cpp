//===- FuseConvActivation.cpp - the graph-fuse-conv-activation pass -------===//
//
// Folds relu, leaky_relu and clip into the conv that feeds them, so the
// activation is applied while the conv writes its output.
//
//===----------------------------------------------------------------------===//

#include "Debug.h"
#include "Graph/GraphDialect.h"
#include "Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace ss::graph;

#define DEBUG_TYPE "graph-fuse-conv-activation"

namespace ss {

#define GEN_PASS_DEF_GRAPHFUSECONVACTIVATION
#include "Passes.h.inc"

namespace {

/// The activation an op computes, as conv's attribute spells it.
struct Activation {
  StringRef kind;
  float alpha = 0, beta = 0;
};

std::optional<Activation> activationOf(Operation *op) {
  if (isa<ReluOp>(op))
    return Activation{"relu"};
  if (auto leaky = dyn_cast<LeakyReluOp>(op))
    return Activation{"leaky_relu", leaky.getAlpha().convertToFloat()};
  if (auto clip = dyn_cast<ClipOp>(op))
    return Activation{"clip", clip.getMin().convertToFloat(),
                      clip.getMax().convertToFloat()};
  return std::nullopt;
}

struct GraphFuseConvActivation
    : impl::GraphFuseConvActivationBase<GraphFuseConvActivation> {
  void runOnOperation() override {
    SmallVector<Operation *> candidates;
    getOperation().walk([&](Operation *op) {
      if (activationOf(op))
        candidates.push_back(op);
    });
    for (Operation *act : candidates) {
      auto conv = act->getOperand(0).getDefiningOp<ConvOp>();
      if (!conv || !conv->hasOneUse() || conv.getActivation() != "none" ||
          conv.getType() != act->getResult(0).getType())
        continue;
      Activation a = *activationOf(act);
      OpBuilder b(act);
      auto fused = b.create<ConvOp>(
          b.getFusedLoc({conv.getLoc(), act->getLoc()}), conv.getType(),
          conv.getInput(), conv.getFilter(), conv.getBias(),
          conv.getStridesAttr(), conv.getPadsAttr(), conv.getDilationsAttr(),
          conv.getGroupAttr(), b.getStringAttr(a.kind),
          b.getF32FloatAttr(a.alpha), b.getF32FloatAttr(a.beta));
      if (auto names = act->getAttr("ss.names"))
        fused->setAttr("ss.names", names);
      act->getResult(0).replaceAllUsesWith(fused.getOutput());
      SS_DEBUG(DEBUG_TYPE, dbgs << "fused " << a.kind << " into conv at "
                                << fused.getLoc() << "\n");
      act->erase();
      conv.erase();
    }
  }
};

} // namespace
} // namespace ss
