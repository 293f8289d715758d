//===- PipelinePlan.cpp - a pipeline plan as an out-of-tree pass plugin ---===//
//
// A worked example of a plan written as an MLIR pass plugin. It cuts the
// model into `stages` consecutive stages of about equal work (MatMul/Gemm/
// Conv weight elements, plus one per other op) and places stage s on
// device s with op-assign. Sub-ops keep whole tensors, so the dependency
// pass connects the stages with send/recv. Load it with
//
//   ssc compile model.onnx --load-pass-plugin libSSPipelinePlan.so \
//       --plugin-pipeline 'ss-pipeline-plan{stages=2}' --world-size 2 -o OUT
//
// It uses only the public plan primitives (Plan/Primitives.h), which the
// ssc executable exports to plugins.
//
//===----------------------------------------------------------------------===//

#include "Dist/DistDialect.h"
#include "Plan/Primitives.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Tools/Plugins/PassPlugin.h"

using namespace mlir;

namespace {

struct PipelinePlanPass
    : PassWrapper<PipelinePlanPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(PipelinePlanPass)

  PipelinePlanPass() = default;
  PipelinePlanPass(const PipelinePlanPass &other) : PassWrapper(other) {}

  StringRef getArgument() const override { return "ss-pipeline-plan"; }
  StringRef getDescription() const override {
    return "Place consecutive stages of the model on consecutive devices";
  }

  Option<int64_t> stages{*this, "stages",
                         llvm::cl::desc("number of pipeline stages"),
                         llvm::cl::init(2)};

  /// A rough measure of an op's work: the weight elements of a linear op
  /// or convolution, else one.
  static int64_t work(Operation *op) {
    StringRef name = op->getName().getStringRef();
    if (name != "graph.matmul" && name != "graph.gemm" && name != "graph.conv")
      return 1;
    if (op->getNumOperands() < 2)
      return 1;
    auto weight = dyn_cast<RankedTensorType>(op->getOperand(1).getType());
    return weight && weight.hasStaticShape() ? weight.getNumElements() : 1;
  }

  void runOnOperation() override {
    if (stages < 1) {
      getOperation().emitError() << "stages must be positive, got " << stages;
      return signalPassFailure();
    }
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (ss::plan::isPlannable(op) && !ss::plan::isSubOp(op))
        ops.push_back(op);
    });
    ModuleOp module = getOperation();
    module->setAttr(ss::dist::kPlanAttr,
                    StringAttr::get(module.getContext(),
                                    "pipeline of " + std::to_string(stages) +
                                        " stages (plugin ss-pipeline-plan)"));
    int64_t total = 0;
    for (Operation *op : ops)
      total += work(op);
    // Walk the ops in order and move to the next stage once this one holds
    // its share of the work.
    int64_t done = 0;
    for (Operation *op : ops) {
      int64_t stage = std::min<int64_t>(stages - 1, done * stages / total);
      done += work(op);
      if (failed(ss::plan::opAssign(op, stage)))
        return signalPassFailure();
    }
  }
};

} // namespace

extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "SSPipelinePlan", "1.0",
          []() { PassRegistration<PipelinePlanPass>(); }};
}
