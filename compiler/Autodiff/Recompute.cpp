//===- Recompute.cpp - activation checkpointing ---------------------------===//
//
// The train-recompute pass: forward values of a group of ops that the
// backward pass reads are recomputed there instead of kept.
//
//===----------------------------------------------------------------------===//

#include "Autodiff/Autodiff.h"
#include "Debug.h"
#include "Graph/GraphDialect.h"
#include "Passes.h"
#include "Plan/Primitives.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/GlobPattern.h"

#define DEBUG_TYPE "train-recompute"

namespace ss {
#define GEN_PASS_DEF_TRAINRECOMPUTE
#include "Passes.h.inc"
} // namespace ss

using namespace mlir;
using namespace ss;
using namespace ss::graph;

namespace {

constexpr size_t kMaxBraceExpansions = 1024;

bool isBackward(Operation *op) { return op->hasAttr(kBackwardAttr); }

/// Forward compute ops: what a group may hold.
bool isForwardCompute(Operation *op) {
  return isa<GraphDialect>(op->getDialect()) && !isBackward(op) &&
         !op->hasTrait<OpTrait::ConstantLike>() &&
         !isa<VariableOp, AssignOp, SgdUpdateOp, AdamwUpdateOp>(op);
}

bool nameMatches(Operation *op, const llvm::GlobPattern &glob) {
  std::string names = plan::nodeName(op);
  SmallVector<StringRef> parts;
  StringRef(names).split(parts, " + ");
  return llvm::any_of(parts, [&](StringRef part) { return glob.match(part); });
}

/// The forward ops `selector` names, in block order.
FailureOr<SmallVector<Operation *>> select(func::FuncOp func,
                                           StringRef selector) {
  SmallVector<Operation *> forward;
  for (Operation &op : func.getBody().front())
    if (isForwardCompute(&op))
      forward.push_back(&op);
  SmallVector<Operation *> chosen;
  auto [first, last] = selector.split("..");
  if (!last.empty()) {
    // An inclusive range in program order.
    auto find = [&](StringRef name) -> std::optional<size_t> {
      for (auto [i, op] : llvm::enumerate(forward)) {
        std::string names = plan::nodeName(op);
        SmallVector<StringRef> parts;
        StringRef(names).split(parts, " + ");
        if (llvm::is_contained(parts, name))
          return i;
      }
      return std::nullopt;
    };
    std::optional<size_t> from = find(first), to = find(last);
    if (!from || !to || *from > *to)
      return func.emitError("recompute group '")
                 << selector
                 << "': both ends must name forward nodes, the first before "
                    "the last",
             failure();
    chosen.assign(forward.begin() + *from, forward.begin() + *to + 1);
    return chosen;
  }
  llvm::Expected<llvm::GlobPattern> glob =
      llvm::GlobPattern::create(selector, kMaxBraceExpansions);
  if (!glob) {
    func.emitError("recompute group '")
        << selector << "': " << llvm::toString(glob.takeError());
    return failure();
  }
  for (Operation *op : forward)
    if (nameMatches(op, *glob))
      chosen.push_back(op);
  if (chosen.empty())
    return func.emitError("recompute group '")
               << selector << "' matches no forward op",
           failure();
  return chosen;
}

} // namespace

LogicalResult ss::recomputeGroup(func::FuncOp func, StringRef selector) {
  FailureOr<SmallVector<Operation *>> group = select(func, selector);
  if (failed(group))
    return failure();
  llvm::SetVector<Operation *> members(group->begin(), group->end());

  // The members whose results backward ops read, and the members those
  // need in turn: all of them are cloned.
  llvm::SetVector<Operation *> needed;
  SmallVector<Operation *> worklist;
  Operation *firstUse = nullptr;
  for (Operation *op : members)
    for (Value result : op->getResults())
      for (Operation *user : result.getUsers())
        if (isBackward(user)) {
          worklist.push_back(op);
          if (!firstUse || user->isBeforeInBlock(firstUse))
            firstUse = user;
        }
  if (!firstUse)
    return success(); // the backward pass reads nothing of this group
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    if (!needed.insert(op))
      continue;
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp();
          def && members.contains(def))
        worklist.push_back(def);
  }
  SmallVector<Operation *> ordered(needed.begin(), needed.end());
  llvm::sort(ordered,
             [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });

  // Clone in program order just before the first backward reader.
  OpBuilder builder(firstUse);
  IRMapping mapping;
  for (Operation *op : ordered) {
    Operation *clone = builder.clone(*op, mapping);
    clone->setAttr(kRecomputeAttr, builder.getUnitAttr());
  }
  unsigned rewired = 0;
  for (Operation *op : ordered)
    for (Value result : op->getResults())
      result.replaceUsesWithIf(mapping.lookup(result), [&](OpOperand &use) {
        bool take = isBackward(use.getOwner());
        rewired += take;
        return take;
      });
  SS_DEBUG(DEBUG_TYPE, dbgs << "group '" << selector << "': " << ordered.size()
                            << " ops recomputed for " << rewired
                            << " backward reads\n");
  return success();
}

namespace {
struct TrainRecomputePass : ss::impl::TrainRecomputeBase<TrainRecomputePass> {
  using TrainRecomputeBase::TrainRecomputeBase;

  void runOnOperation() override {
    for (func::FuncOp func : getOperation().getOps<func::FuncOp>())
      for (const std::string &group : groups)
        if (failed(recomputeGroup(func, group)))
          return signalPassFailure();
  }
};
} // namespace
