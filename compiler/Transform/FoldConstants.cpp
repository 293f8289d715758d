//===- FoldConstants.cpp - evaluate constant graph subgraphs --------------===//
//
// The graph-fold-constants pass: folds every graph op whose operands are
// constants (the Shape -> Gather -> Concat -> Reshape chains exporters emit)
// through the ops' folders, then erases the graph ops left without users.
//
//===----------------------------------------------------------------------===//

#include "Debug.h"
#include "Graph/GraphDialect.h"
#include "Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Iterators.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "graph-fold-constants"

namespace ss {
#define GEN_PASS_DEF_GRAPHFOLDCONSTANTS
#include "Passes.h.inc"
} // namespace ss

using namespace mlir;
using namespace ss::graph;

namespace {
/// A single forward sweep rather than MLIR's greedy driver: the greedy
/// driver merges equal constants and drops their locations, which would fuse
/// distinct initializers and lose the ONNX names they carry. Ops in a block
/// come after their operands' definitions, so one sweep folds whole chains.
struct GraphFoldConstantsPass
    : ss::impl::GraphFoldConstantsBase<GraphFoldConstantsPass> {
  void runOnOperation() override {
    auto *dialect = getContext().getLoadedDialect<GraphDialect>();
    if (!dialect)
      return; // No graph op was ever created.
    SmallVector<Operation *> candidates;
    getOperation().walk([&](Operation *op) {
      if (op->getDialect() == dialect && !op->hasTrait<OpTrait::ConstantLike>())
        candidates.push_back(op);
    });
    unsigned folded = 0;
    for (Operation *op : candidates)
      folded += succeeded(foldOne(op, dialect));
    unsigned erased = eraseDeadGraphOps(dialect);
    SS_DEBUG(DEBUG_TYPE, dbgs << "folded " << folded << " ops, erased "
                              << erased << " dead ops\n");
  }

  /// Folds `op` if its folder succeeds on its constant operands, replacing
  /// it by its input or by new constants that take its location (the ONNX
  /// node that computed them).
  static LogicalResult foldOne(Operation *op, Dialect *dialect) {
    SmallVector<Attribute> operands;
    for (Value operand : op->getOperands()) {
      Attribute constant;
      matchPattern(operand, m_Constant(&constant));
      operands.push_back(constant);
    }
    SmallVector<OpFoldResult> results;
    if (failed(op->fold(operands, results)) || results.empty())
      return failure();

    OpBuilder builder(op);
    SmallVector<Value> replacements;
    SmallVector<Operation *> created;
    for (auto [result, foldResult] :
         llvm::zip_equal(op->getResults(), results)) {
      if (auto value = dyn_cast<Value>(foldResult)) {
        replacements.push_back(value);
        continue;
      }
      Operation *constant = dialect->materializeConstant(
          builder, cast<Attribute>(foldResult), result.getType(), op->getLoc());
      if (!constant) {
        for (Operation *unused : created)
          unused->erase();
        return failure();
      }
      created.push_back(constant);
      replacements.push_back(constant->getResult(0));
    }
    SS_DEBUG(DEBUG_TYPE, dbgs << "folding " << op->getName() << " at "
                              << op->getLoc() << "\n");
    op->replaceAllUsesWith(replacements);
    op->erase();
    return success();
  }

  /// Erases graph ops whose results are unused, users before producers so
  /// that whole dead chains go in one sweep.
  unsigned eraseDeadGraphOps(Dialect *dialect) {
    unsigned erased = 0;
    getOperation().walk<WalkOrder::PostOrder, ReverseIterator>(
        [&](Operation *op) {
          if (op->getDialect() == dialect && isOpTriviallyDead(op)) {
            op->erase();
            ++erased;
          }
        });
    return erased;
  }
};
} // namespace
