//===- Variables.cpp - trainable parameters from initializers -------------===//
//
// The train-variables pass: float initializers become graph.variable ops,
// the state a training step reads and updates.
//
//===----------------------------------------------------------------------===//

#include "Debug.h"
#include "Graph/GraphDialect.h"
#include "Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/GlobPattern.h"

#define DEBUG_TYPE "train-variables"

namespace ss {
#define GEN_PASS_DEF_TRAINVARIABLES
#include "Passes.h.inc"
} // namespace ss

using namespace mlir;
using namespace ss::graph;

namespace {

/// Patterns may use {a,b} alternatives; this bounds their expansion.
constexpr size_t kMaxBraceExpansions = 1024;

std::string initializerName(ConstantOp op) {
  if (auto name = dyn_cast<NameLoc>(op.getLoc()))
    return name.getName().str();
  return "";
}

struct TrainVariablesPass : ss::impl::TrainVariablesBase<TrainVariablesPass> {
  using TrainVariablesBase::TrainVariablesBase;

  void runOnOperation() override {
    SmallVector<llvm::GlobPattern> patterns;
    for (const std::string &text : freeze) {
      llvm::Expected<llvm::GlobPattern> glob =
          llvm::GlobPattern::create(text, kMaxBraceExpansions);
      if (!glob) {
        getOperation().emitError("bad freeze pattern '")
            << text << "': " << llvm::toString(glob.takeError());
        return signalPassFailure();
      }
      patterns.push_back(std::move(*glob));
    }

    // Batch-norm statistics are running averages, not parameters.
    llvm::DenseSet<Operation *> statistics;
    getOperation().walk([&](BatchNormOp op) {
      for (Value v : {op.getMean(), op.getVariance()})
        if (Operation *def = v.getDefiningOp())
          statistics.insert(def);
    });

    unsigned count = 0, frozen = 0;
    getOperation().walk([&](ConstantOp op) {
      if (!op->hasAttr(kInitializerAttr))
        return;
      auto type = op.getType();
      std::string name = initializerName(op);
      if (!type.getElementType().isF32() || type.getRank() == 0 ||
          type.getNumElements() == 0 || name.empty() || statistics.contains(op))
        return;
      if (llvm::any_of(patterns, [&](const llvm::GlobPattern &p) {
            return p.match(name);
          })) {
        ++frozen;
        return;
      }
      OpBuilder builder(op);
      auto variable = builder.create<VariableOp>(
          op.getLoc(), type, builder.getStringAttr(name), op.getValue());
      op.replaceAllUsesWith(variable.getResult());
      op.erase();
      ++count;
    });
    SS_DEBUG(DEBUG_TYPE, dbgs << count << " trainable parameters, " << frozen
                              << " frozen by pattern\n");
  }
};

} // namespace
