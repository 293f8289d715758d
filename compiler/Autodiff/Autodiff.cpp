//===- Autodiff.cpp - backward graph and optimizer step -------------------===//
//
// The train-autodiff pass: reverse-mode differentiation of the function's
// scalar loss with respect to its variables through each op's gradient rule,
// then the optimizer update of every variable, so that the function becomes
// one training step.
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
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringSet.h"

#include <numeric>

#define DEBUG_TYPE "train-autodiff"

namespace ss {
#define GEN_PASS_DEF_TRAINAUTODIFF
#include "Passes.h.inc"
} // namespace ss

using namespace mlir;
using namespace ss;
using namespace ss::graph;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

bool isFloatTensor(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && type.getElementType().isF32();
}

Value scalarConstant(OpBuilder &b, Location loc, double value) {
  auto type = RankedTensorType::get({}, b.getF32Type());
  return b.create<ConstantOp>(
      loc, type, DenseElementsAttr::get(type, static_cast<float>(value)));
}

Value sumAll(OpBuilder &b, Location loc, Value v) {
  SmallVector<int64_t> axes(typeOf(v).getRank());
  std::iota(axes.begin(), axes.end(), 0);
  if (axes.empty())
    return v;
  return b.create<ReduceSumOp>(loc, v, axes, false);
}

struct TrainAutodiffPass : ss::impl::TrainAutodiffBase<TrainAutodiffPass> {
  using TrainAutodiffBase::TrainAutodiffBase;

  void runOnOperation() override {
    SmallVector<func::FuncOp> funcs(getOperation().getOps<func::FuncOp>());
    if (funcs.size() != 1) {
      getOperation().emitError("training needs a module with one function, "
                               "found ")
          << funcs.size();
      return signalPassFailure();
    }
    func = funcs.front();
    if (failed(checkOptions()) || failed(differentiate()) ||
        failed(optimize()))
      return signalPassFailure();
  }

  LogicalResult checkOptions() {
    if (optimizer != "sgd" && optimizer != "adamw" && optimizer != "none")
      return func.emitError("unknown optimizer '")
             << optimizer << "' (expected sgd, adamw or none)";
    if (schedule != "constant" && schedule != "warmup-linear" &&
        schedule != "cosine")
      return func.emitError("unknown learning-rate schedule '")
             << schedule << "' (expected constant, warmup-linear or cosine)";
    if (schedule != "constant" && totalSteps <= warmupSteps)
      return func.emitError("schedule '")
             << schedule << "' needs total steps (" << totalSteps
             << ") greater than warm-up steps (" << warmupSteps << ")";
    if (lr < 0 || weightDecay < 0 || momentum < 0 || clipNorm < 0 ||
        warmupSteps < 0 || beta1 < 0 || beta1 >= 1 || beta2 < 0 ||
        beta2 >= 1 || epsilon <= 0)
      return func.emitError("optimizer settings out of range: lr, momentum, "
                            "weight decay, clip norm and warm-up must be >= "
                            "0, betas in [0, 1), epsilon > 0");
    return success();
  }

  /// Builds the backward graph before the return and records each
  /// variable's gradient in `variableGrads`.
  LogicalResult differentiate() {
    Block &body = func.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    if (ret.getNumOperands() != 1 || !isFloatTensor(ret.getOperand(0)) ||
        typeOf(ret.getOperand(0)).getRank() != 0)
      return func.emitError("train-autodiff needs a function returning one "
                            "float32 scalar, the loss (run "
                            "train-append-loss first)");
    Value loss = ret.getOperand(0);
    SmallVector<Operation *> forward;
    for (Operation &op : body.without_terminator())
      forward.push_back(&op);

    // A value needs a gradient when it depends on a variable and the loss
    // depends on it.
    llvm::DenseSet<Value> active, useful;
    for (Operation *op : forward) {
      if (isa<VariableOp>(op)) {
        active.insert(op->getResult(0));
        continue;
      }
      if (llvm::any_of(op->getOperands(),
                       [&](Value v) { return active.contains(v); }))
        for (Value result : op->getResults())
          if (isFloatTensor(result))
            active.insert(result);
    }
    useful.insert(loss);
    for (Operation *op : llvm::reverse(forward))
      if (llvm::any_of(op->getResults(),
                       [&](Value v) { return useful.contains(v); }))
        for (Value operand : op->getOperands())
          useful.insert(operand);
    auto needsGrad = [&](Value v) {
      return active.contains(v) && useful.contains(v) && isFloatTensor(v);
    };

    OpBuilder b(ret);
    Operation *lastForward = ret->getPrevNode();
    llvm::DenseMap<Value, Value> grads;
    if (!needsGrad(loss))
      return func.emitError("the loss does not depend on any trainable "
                            "parameter");
    grads[loss] = scalarConstant(b, NameLoc::get(b.getStringAttr("loss")), 1);

    for (Operation *op : llvm::reverse(forward)) {
      if (isa<VariableOp>(op))
        continue;
      SmallVector<Value> resultGrads;
      bool any = false;
      for (Value result : op->getResults()) {
        resultGrads.push_back(grads.lookup(result));
        any |= static_cast<bool>(resultGrads.back());
      }
      SmallVector<bool> needed;
      for (Value operand : op->getOperands())
        needed.push_back(needsGrad(operand));
      if (!any || llvm::none_of(needed, [](bool n) { return n; }))
        continue;
      auto rule = dyn_cast<GradientOpInterface>(op);
      if (!rule) {
        std::string node = ss::plan::nodeName(op);
        return op->emitError("no gradient rule for ")
               << op->getName()
               << (node.empty() ? std::string() : " (node '" + node + "')")
               << ", which lies between a trainable parameter and the "
                  "loss; freeze the parameters before it with --freeze";
      }
      SmallVector<Value> operandGrads;
      if (failed(rule.buildGradients(b, resultGrads, needed, operandGrads)))
        return failure();
      for (auto [operand, grad, need] :
           llvm::zip(op->getOperands(), operandGrads, needed)) {
        if (!need || !grad)
          continue;
        if (grad.getType() != operand.getType())
          return op->emitError("gradient rule produced ")
                 << grad.getType() << " for an operand of type "
                 << operand.getType();
        Value &sum = grads[operand];
        sum = sum ? b.create<AddOp>(op->getLoc(), sum, grad).getResult()
                  : grad;
      }
    }

    // Mark the backward ops, so that reports and emitted comments can tell
    // them from the forward ops whose node names they carry.
    Operation *first = lastForward ? lastForward->getNextNode() : &body.front();
    for (Operation *op = first; op && op != ret.getOperation();
         op = op->getNextNode())
      op->setAttr(kBackwardAttr, b.getUnitAttr());

    for (Operation *op : forward)
      if (auto variable = dyn_cast<VariableOp>(op)) {
        Value grad = grads.lookup(variable.getResult());
        Value &sum = variableGrads[variable.getSymName()];
        if (grad)
          sum = sum ? b.create<AddOp>(variable.getLoc(), sum, grad).getResult()
                    : grad;
        if (!reads.count(variable.getSymName()))
          reads[variable.getSymName()] = variable;
      }
    SS_DEBUG(DEBUG_TYPE, {
      unsigned withGrad = 0;
      for (auto &[name, grad] : variableGrads)
        withGrad += static_cast<bool>(grad);
      dbgs << withGrad << " of " << reads.size()
           << " variables get a gradient\n";
    });
    return success();
  }

  /// Optimizer updates and assigns, or the gradients as results.
  LogicalResult optimize() {
    Block &body = func.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    OpBuilder b(ret);
    MLIRContext *ctx = &getContext();

    if (optimizer == "none") {
      SmallVector<Value> results = {ret.getOperand(0)};
      SmallVector<std::string> names = {"loss"};
      for (auto &[name, grad] : variableGrads) {
        VariableOp variable = reads.lookup(name);
        Value g = grad;
        if (!g) {
          auto type = variable.getType();
          g = b.create<ConstantOp>(variable.getLoc(), type,
                                   DenseElementsAttr::get(type, 0.0f));
        }
        results.push_back(g);
        names.push_back((name + kGradSuffix).str());
      }
      b.create<func::ReturnOp>(ret.getLoc(), results);
      ret.erase();
      func.setType(b.getFunctionType(func.getArgumentTypes(),
                                     TypeRange(ValueRange(results))));
      for (auto [i, name] : llvm::enumerate(names))
        func.setResultAttrs(i, b.getDictionaryAttr(b.getNamedAttr(
                                   "ss.name", b.getStringAttr(name))));
      return success();
    }

    llvm::StringSet<> taken;
    for (auto &[name, variable] : reads)
      taken.insert(name);
    auto stateVariable = [&](VariableOp param,
                             StringRef suffix) -> FailureOr<Value> {
      std::string name = (param.getSymName() + suffix).str();
      if (!taken.insert(name).second)
        return param.emitError("optimizer state name '")
               << name << "' is taken by another variable";
      auto type = param.getType();
      Location loc = NameLoc::get(StringAttr::get(ctx, name));
      return b
          .create<VariableOp>(loc, type, b.getStringAttr(name),
                              DenseElementsAttr::get(type, 0.0f))
          .getResult();
    };

    Location optLoc = NameLoc::get(StringAttr::get(ctx, "optimizer"));
    Value gradScale;
    if (clipNorm > 0) {
      // PyTorch's clip_grad_norm_: scale = min(1, max / (norm + 1e-6)).
      Value sumSquares;
      for (auto &[name, grad] : variableGrads) {
        if (!grad)
          continue;
        Value s = sumAll(b, optLoc, b.create<MulOp>(optLoc, grad, grad));
        sumSquares =
            sumSquares ? b.create<AddOp>(optLoc, sumSquares, s).getResult() : s;
      }
      if (sumSquares) {
        Value norm = b.create<SqrtOp>(optLoc, sumSquares);
        Value ratio = b.create<DivOp>(
            optLoc, scalarConstant(b, optLoc, clipNorm),
            b.create<AddOp>(optLoc, norm, scalarConstant(b, optLoc, 1e-6)));
        gradScale = b.create<ClipOp>(optLoc, ratio, b.getF32FloatAttr(0.0f),
                                     b.getF32FloatAttr(1.0f));
      }
    }

    auto f32 = [&](double v) { return b.getF32FloatAttr(v); };
    for (auto &[name, grad] : variableGrads) {
      if (!grad)
        continue;
      VariableOp param = reads.lookup(name);
      Location loc = param.getLoc();
      // Without clipping, which needs every gradient first, a parameter is
      // updated as soon as its gradient is complete and nothing reads it
      // any more: its gradient buffer is freed there, not at the end.
      if (!gradScale) {
        Operation *last = grad.getDefiningOp();
        for (Operation &op : body)
          if (auto read = dyn_cast<VariableOp>(op);
              read && read.getSymName() == name)
            for (Operation *user : read->getUsers())
              if (!last || last->isBeforeInBlock(user))
                last = user;
        if (last)
          b.setInsertionPointAfter(last);
        else
          b.setInsertionPoint(ret);
      }
      if (optimizer == "sgd") {
        Value buffer;
        if (momentum != 0) {
          FailureOr<Value> state = stateVariable(param, kMomentumSuffix);
          if (failed(state))
            return failure();
          buffer = *state;
        }
        auto update = b.create<SgdUpdateOp>(
            loc, param.getResult(), grad, buffer, gradScale, f32(lr),
            f32(momentum), f32(weightDecay), b.getStringAttr(schedule),
            b.getI64IntegerAttr(warmupSteps), b.getI64IntegerAttr(totalSteps));
        b.create<AssignOp>(loc, param.getSymName(), update.getNewParam());
        if (buffer)
          b.create<AssignOp>(loc, (name + kMomentumSuffix).str(),
                             update.getNewMomentumBuffer());
        continue;
      }
      FailureOr<Value> m = stateVariable(param, kAdamMSuffix);
      FailureOr<Value> v = stateVariable(param, kAdamVSuffix);
      if (failed(m) || failed(v))
        return failure();
      auto update = b.create<AdamwUpdateOp>(
          loc, param.getResult(), grad, *m, *v, gradScale, f32(lr),
          f32(beta1), f32(beta2), f32(epsilon), f32(weightDecay),
          b.getStringAttr(schedule), b.getI64IntegerAttr(warmupSteps),
          b.getI64IntegerAttr(totalSteps));
      b.create<AssignOp>(loc, param.getSymName(), update.getNewParam());
      b.create<AssignOp>(loc, (name + kAdamMSuffix).str(), update.getNewM());
      b.create<AssignOp>(loc, (name + kAdamVSuffix).str(), update.getNewV());
    }
    return success();
  }

  func::FuncOp func;
  /// Per variable name, in order of first read: the summed gradient (null
  /// when the loss does not depend on it) and its first read.
  llvm::MapVector<StringRef, Value> variableGrads;
  llvm::DenseMap<StringRef, VariableOp> reads;
};

} // namespace
