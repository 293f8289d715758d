//===- ApplyPlan.cpp - built-in policies and plan files -------------------===//
//
// The dist-apply-plan pass: decides op-trans / op-assign / op-order for
// every op from a built-in policy (data and Megatron tensor parallelism)
// and a plan file, and applies the decisions with the primitives. Ops some
// earlier pass (a plugin) already placed are left alone.
//
//===----------------------------------------------------------------------===//

#include "Autodiff/Autodiff.h"
#include "Dependency/PieceLayouts.h"
#include "Plan/PlanFile.h"
#include "Plan/Policies.h"
#include "Plan/Primitives.h"
#include "Transform/SplitFusedLinear.h"

#include "Debug.h"
#include "Dist/DistDialect.h"
#include "Graph/GraphDialect.h"
#include "Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringExtras.h"

#define DEBUG_TYPE "dist-apply-plan"

namespace ss {
#define GEN_PASS_DEF_DISTAPPLYPLAN
#include "Passes.h.inc"
} // namespace ss

using namespace mlir;
using namespace ss;
using namespace ss::plan;

namespace {

/// The plannable ops of a function, in block order, before any change.
SmallVector<Operation *> plannableOps(func::FuncOp func) {
  SmallVector<Operation *> ops;
  func.walk([&](Operation *op) {
    if (isPlannable(op))
      ops.push_back(op);
  });
  return ops;
}

bool isPlaced(Operation *op) { return op->hasAttr(dist::kDeviceAttr); }

/// Applies `algo` to every op in `ops` and returns the pieces, each piece
/// list in piece order. A policy's choice that the op refuses (type
/// inference of a piece) falls back to replication, which always works.
SmallVector<Operation *> transOrReplicate(Operation *op,
                                          const PartitionAlgo &algo) {
  if (algo.parts == 1)
    return {op};
  {
    std::string captured;
    ScopedDiagnosticHandler quiet(op->getContext(), [&](Diagnostic &diag) {
      captured = diag.str();
      return success();
    });
    FailureOr<SmallVector<Operation *>> pieces = opTrans(op, algo);
    if (succeeded(pieces))
      return *pieces;
    SS_DEBUG(DEBUG_TYPE, dbgs << "policy " << algo.str() << " refused on '"
                              << nodeName(op) << "': " << captured
                              << "; replicating\n");
  }
  return *opTrans(op, PartitionAlgo::replicate(algo.parts));
}

struct ApplyPlanPass : ss::impl::DistApplyPlanBase<ApplyPlanPass> {
  using DistApplyPlanBase::DistApplyPlanBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<PolicySpec> policy = parsePolicy(plan);
    if (failed(policy)) {
      emitError(module.getLoc())
          << "bad --plan '" << plan
          << "': expected comma-separated dp=N, tp=N and zero=S (S "
             "in 0..2), e.g. dp=2,tp=2";
      return signalPassFailure();
    }
    PlanFile file;
    if (!planFile.empty()) {
      std::string error;
      if (failed(PlanFile::load(planFile, file, error))) {
        emitError(module.getLoc()) << error;
        return signalPassFailure();
      }
      if (file.policy) {
        if (!plan.empty() && plan != *file.policyText) {
          emitError(module.getLoc())
              << "--plan '" << plan << "' disagrees with "
              << "the plan file's 'policy " << *file.policyText << "'";
          return signalPassFailure();
        }
        policy = *file.policy;
      }
    }
    int64_t world = worldSize;
    if (file.worldSize) {
      if (world && world != *file.worldSize) {
        emitError(module.getLoc())
            << "--world-size " << world
            << " disagrees with the plan file's world-size " << *file.worldSize;
        return signalPassFailure();
      }
      world = *file.worldSize;
    }
    int64_t degrees = policy->dp * policy->tp;
    if (world == 0)
      world = degrees;
    if (world % degrees != 0 || (world != degrees && degrees != 1)) {
      emitError(module.getLoc()) << "plan '" << plan << "' uses " << degrees
                                 << " ranks but the world size is " << world;
      return signalPassFailure();
    }

    auto funcs = llvm::to_vector(module.getOps<func::FuncOp>());
    if (funcs.size() != 1) {
      emitError(module.getLoc())
          << "expected one function to partition, found " << funcs.size();
      return signalPassFailure();
    }
    func::FuncOp func = funcs.front();
    MLIRContext *context = &getContext();
    IntegerType i64 = IntegerType::get(context, 64);
    func->setAttr(dist::kWorldSizeAttr, IntegerAttr::get(i64, world));
    func->setAttr(dist::kOutputDeviceAttr, IntegerAttr::get(i64, 0));
    std::string described = policy->str();
    if (!planFile.empty())
      described += (described.empty() ? "" : " + ") +
                   std::string("plan file ") + planFile;
    // A plugin pass that ran first may have described its own plan.
    if (auto earlier = module->getAttrOfType<StringAttr>(dist::kPlanAttr))
      described = earlier.str() + (described.empty() ? "" : " + ") + described;
    if (described.empty())
      described = world == 1 ? "single rank" : "replicated on every rank";
    module->setAttr(dist::kPlanAttr, StringAttr::get(context, described));

    // Recompute groups change the graph the plan decides on.
    for (auto &[group, line] : file.recompute)
      if (failed(recomputeGroup(func, group))) {
        emitError(module.getLoc())
            << "plan file " << planFile << " line " << line
            << ": recompute group '" << group << "' failed";
        return signalPassFailure();
      }
    // Fused projections (q, k and v in one linear) become one linear per
    // part, so tensor parallelism can split each by heads.
    if (policy->tp > 1)
      splitFusedLinears(func);
    // Decisions are made on the original graph, before anything changes.
    SmallVector<Operation *> ops = plannableOps(func);
    llvm::DenseMap<Operation *, PartitionAlgo> dpAlgo, tpAlgo;
    if (policy->dp > 1)
      dpAlgo = planDataParallel(func, ops, policy->dp);
    if (policy->tp > 1)
      tpAlgo = planMegatronTensorParallel(func, ops, policy->tp);
    if (policy->zero > 0 && policy->dp > 1)
      for (auto [op, algo] :
           planZeroOptimizer(ops, policy->dp, tpAlgo, policy->tp, policy->zero))
        dpAlgo[op] = algo;

    for (Operation *op : ops) {
      if (isPlaced(op))
        continue;
      if (std::optional<PlanFile::Rule> rule = file.ruleFor(op)) {
        // Backward ops carry their forward node's name. A rule's placement
        // applies to them too, but its algorithm names operands and dims
        // of the forward op, so they are replicated over its devices
        // instead (the dependency pass moves what they need).
        if (op->hasAttr(kBackwardAttr) && rule->algo) {
          int64_t parts = rule->algo->parts;
          rule->algo.reset();
          if (rule->devices.empty())
            for (int64_t d = 0; d < std::min(parts, world); ++d)
              rule->devices.push_back(d);
        }
        if (failed(applyRule(op, *rule, world)))
          return signalPassFailure();
        continue;
      }
      if (degrees == 1 && world > 1) {
        // No policy: every device computes everything.
        if (failed(applyRule(op, PlanFile::Rule{}, world)))
          return signalPassFailure();
        continue;
      }
      PartitionAlgo dp = dpAlgo.lookup(op), tp = tpAlgo.lookup(op);
      dp.parts = policy->dp;
      tp.parts = policy->tp;
      SmallVector<Operation *> dpPieces = transOrReplicate(op, dp);
      for (auto [i, dpPiece] : llvm::enumerate(dpPieces)) {
        SmallVector<Operation *> tpPieces = transOrReplicate(dpPiece, tp);
        for (auto [j, piece] : llvm::enumerate(tpPieces))
          if (failed(opAssign(piece, i * policy->tp + j)))
            return signalPassFailure();
      }
    }
    if (std::optional<int> line = file.unusedLine()) {
      emitError(module.getLoc())
          << "plan file " << planFile << " line " << *line
          << " matches no op (node names are the ONNX "
             "nodes' names; op types are graph op names such "
             "as matmul)";
      return signalPassFailure();
    }
    if (failed(file.applyOrders(func)))
      return signalPassFailure();
    annotateLayouts(func);
  }

  /// Records on every assembled full tensor its RVD layout, where the
  /// pieces form one: the plan as the dependency pass will see it.
  static void annotateLayouts(func::FuncOp func) {
    func.walk([](dist::AssembleOp assemble) {
      if (dist::RvdLayoutAttr layout = dependency::layoutOf(assemble))
        assemble.setLayoutAttr(layout);
    });
  }

  /// A plan-file rule: op-trans with the rule's algorithm (replicate over
  /// the assigned devices when it has none), then op-assign piece k to the
  /// k-th listed device (all devices when none are listed).
  LogicalResult applyRule(Operation *op, const PlanFile::Rule &rule,
                          int64_t world) {
    SmallVector<int64_t> devices = rule.devices;
    if (devices.empty())
      for (int64_t d = 0; d < world; ++d)
        devices.push_back(d);
    for (int64_t device : devices)
      if (device >= world)
        return op->emitError()
               << "plan file line " << rule.assignLine << " assigns device "
               << device << " but the world size is " << world;
    PartitionAlgo algo =
        rule.algo ? *rule.algo
                  : PartitionAlgo::replicate(
                        rule.devices.empty() ? world : rule.devices.size());
    std::string why;
    if (failed(checkTrans(op, algo, why)))
      return op->emitError() << "plan file line " << rule.line << ": " << why;
    FailureOr<SmallVector<Operation *>> pieces = opTrans(op, algo);
    if (failed(pieces))
      return failure();
    for (auto [k, piece] : llvm::enumerate(*pieces))
      if (failed(opAssign(piece, devices[k % devices.size()])))
        return failure();
    return success();
  }
};

} // namespace
