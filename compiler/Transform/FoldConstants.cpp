//===- FoldConstants.cpp - evaluate constant graph subgraphs --------------===//
//
// The graph-fold-constants pass: folds every graph op whose operands are
// constants (the Shape -> Gather -> Concat -> Reshape chains exporters emit)
// through the ops' folders, then erases the graph ops left without users.
//
//===----------------------------------------------------------------------===//

#include "Graph/GraphDialect.h"
#include "Passes.h"

#include "mlir/IR/Iterators.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace ss {
#define GEN_PASS_DEF_GRAPHFOLDCONSTANTS
#include "Passes.h.inc"
} // namespace ss

using namespace mlir;

namespace {
struct GraphFoldConstantsPass
    : ss::impl::GraphFoldConstantsBase<GraphFoldConstantsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Folding alone does the work; no rewrite patterns. Region
    // simplification is off so function signatures and blocks stay as the
    // importer made them.
    GreedyRewriteConfig config;
    config.enableRegionSimplification = GreedySimplifyRegionLevel::Disabled;
    if (failed(applyPatternsAndFoldGreedily(
            module, FrozenRewritePatternSet(RewritePatternSet(&getContext())),
            config)))
      return signalPassFailure();
    eraseDeadGraphOps(module);
  }

  /// The greedy driver drops dead ops it visits, but ops it never reached
  /// (and constants orphaned late) may remain; sweep them, users first.
  static void eraseDeadGraphOps(ModuleOp module) {
    auto *dialect =
        module.getContext()->getLoadedDialect<ss::graph::GraphDialect>();
    bool erased = true;
    while (erased) {
      erased = false;
      SmallVector<Operation *> dead;
      module.walk<WalkOrder::PostOrder, ReverseIterator>([&](Operation *op) {
        if (op->getDialect() == dialect && isOpTriviallyDead(op))
          dead.push_back(op);
      });
      for (Operation *op : dead) {
        if (!op->use_empty())
          continue;
        op->erase();
        erased = true;
      }
    }
  }
};
} // namespace
