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

#include "Graph/DimAnnotation.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
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

struct TrainAutodiffPass : ss::impl::TrainAutodiffBase<TrainAutodiffPass> {
  using TrainAutodiffBase::TrainAutodiffBase;

  void runOnOperation() override {
    FailureOr<func::FuncOp> found = trainingFunction(getOperation());
    if (failed(found))
      return signalPassFailure();
    func = *found;
    if (failed(checkOptions()) || failed(differentiate()) || failed(optimize()))
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
        warmupSteps < 0 || beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1 ||
        epsilon <= 0)
      return func.emitError("optimizer settings out of range: lr, momentum, "
                            "weight decay, clip norm and warm-up must be >= "
                            "0, betas in [0, 1), epsilon > 0");
    return success();
  }

  /// Builds the backward graph and records each variable's gradient in
  /// `variableGrads`. With microbatches, the batch-dependent forward ops are
  /// cloned once per microbatch, each clone followed by its own backward
  /// pass, and the gradients add up over microbatches.
  LogicalResult differentiate() {
    Block &body = func.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    if (ret.getNumOperands() != 1 || !isFloatTensor(ret.getOperand(0)) ||
        typeOf(ret.getOperand(0)).getRank() != 0)
      return func.emitError("train-autodiff needs a function returning one "
                            "float32 scalar, the loss (run "
                            "train-append-loss first)");
    SmallVector<Operation *> forward;
    for (Operation &op : body.without_terminator())
      forward.push_back(&op);

    // Per backward sweep: the ops it covers (program order), the loss it
    // starts from with its seed, and where its ops go.
    struct Sweep {
      SmallVector<Operation *> ops;
      Value loss;
      double seed = 1.0;
    };
    SmallVector<Sweep> sweeps;
    SmallVector<Operation *> shared;
    if (microbatches > 1) {
      FailureOr<SmallVector<SmallVector<Operation *>>> pieces =
          splitMicrobatches(forward, ret, shared);
      if (failed(pieces))
        return failure();
      for (SmallVector<Operation *> &ops : *pieces) {
        Value loss = ops.back()->getResult(0);
        sweeps.push_back({std::move(ops), loss, 1.0 / microbatches});
      }
    } else {
      sweeps.push_back({forward, ret.getOperand(0), 1.0});
    }
    Value loss = ret.getOperand(0);

    // A value needs a gradient when it depends on a variable and the loss
    // depends on it.
    SmallVector<Operation *> all;
    for (Operation &op : body.without_terminator())
      all.push_back(&op);
    llvm::DenseSet<Value> active, useful;
    for (Operation *op : all) {
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
    for (Operation *op : llvm::reverse(all))
      if (llvm::any_of(op->getResults(),
                       [&](Value v) { return useful.contains(v); }))
        for (Value operand : op->getOperands())
          useful.insert(operand);
    auto needsGrad = [&](Value v) {
      return active.contains(v) && useful.contains(v) && isFloatTensor(v);
    };
    if (!needsGrad(loss))
      return func.emitError("the loss does not depend on any trainable "
                            "parameter");

    // Gradients of values outside a sweep (parameters, ops every
    // microbatch shares) add up here.
    llvm::DenseMap<Value, Value> outer;
    OpBuilder b(ret);
    Location lossLoc = NameLoc::get(b.getStringAttr("loss"));
    for (auto [index, sweep] : llvm::enumerate(sweeps)) {
      // Each microbatch's backward pass follows its forward ops.
      if (index + 1 < sweeps.size())
        b.setInsertionPoint(sweeps[index + 1].ops.front());
      else
        b.setInsertionPoint(ret);
      llvm::DenseMap<Value, Value> grads;
      grads[sweep.loss] = markBackward(scalarConstant(b, lossLoc, sweep.seed));
      if (failed(backprop(sweep.ops, grads, needsGrad, b)))
        return failure();
      llvm::DenseSet<Value> inside;
      for (Operation *op : sweep.ops)
        if (!isa<VariableOp, ConstantOp>(op))
          for (Value result : op->getResults())
            inside.insert(result);
      for (auto &[value, grad] : grads)
        if (!inside.contains(value))
          accumulate(outer, value, grad, b, value.getLoc());
    }
    if (!shared.empty() && failed(backprop(shared, outer, needsGrad, b)))
      return failure();

    for (Operation *op : all)
      if (auto variable = dyn_cast<VariableOp>(op)) {
        Value grad = outer.lookup(variable.getResult());
        Value &sum = variableGrads[variable.getSymName()];
        if (grad)
          sum =
              sum ? markBackward(b.create<AddOp>(variable.getLoc(), sum, grad))
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

  static Value markBackward(Value value) {
    value.getDefiningOp()->setAttr(kBackwardAttr,
                                   UnitAttr::get(value.getContext()));
    return value;
  }

  void accumulate(llvm::DenseMap<Value, Value> &grads, Value value, Value grad,
                  OpBuilder &b, Location loc) {
    Value &sum = grads[value];
    if (!sum) {
      sum = grad;
      return;
    }
    sum = markBackward(b.create<AddOp>(loc, sum, grad));
    sum.getDefiningOp()->setAttr(kAccumulateAttr, b.getUnitAttr());
  }

  /// The reverse sweep over `ops` (in program order): each op whose results
  /// have gradients in `grads` applies its rule, adding into its operands'.
  template <typename NeedsGrad>
  LogicalResult backprop(ArrayRef<Operation *> ops,
                         llvm::DenseMap<Value, Value> &grads,
                         NeedsGrad &&needsGrad, OpBuilder &b) {
    Operation *before = b.getInsertionPoint() == b.getBlock()->end()
                            ? nullptr
                            : &*b.getInsertionPoint();
    Operation *last = before ? before->getPrevNode() : nullptr;
    for (Operation *op : llvm::reverse(ops)) {
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
        sum = sum ? b.create<AddOp>(op->getLoc(), sum, grad).getResult() : grad;
      }
    }
    // Mark the new ops, so that reports and emitted comments can tell them
    // from the forward ops whose node names they carry.
    Block *block = b.getBlock();
    Operation *first = last ? last->getNextNode() : &block->front();
    for (Operation *op = first; op && op != before; op = op->getNextNode())
      op->setAttr(kBackwardAttr, b.getUnitAttr());
    return success();
  }

  /// Clones the forward ops that depend on a batched input once per
  /// microbatch (after graph.slice of each batched input), returns each
  /// microbatch's ops with its loss last, and makes the function return the
  /// mean of the microbatch losses. `shared` receives the ops that depend on
  /// no batched input (computed once). Each clone's types are its
  /// microbatch's: the batch label of the op's annotation is split, and
  /// shape attributes follow (adaptAttributesToTypes).
  FailureOr<SmallVector<SmallVector<Operation *>>>
  splitMicrobatches(ArrayRef<Operation *> forward, func::ReturnOp ret,
                    SmallVectorImpl<Operation *> &shared) {
    int64_t count = microbatches;
    std::optional<int64_t> batch;
    SmallVector<BlockArgument> batched;
    for (BlockArgument arg : func.getArguments()) {
      auto type = typeOf(arg);
      if (type.getRank() == 0)
        continue;
      if (!batch)
        batch = type.getDimSize(0);
      if (type.getDimSize(0) == *batch)
        batched.push_back(arg);
    }
    if (!batch || *batch % count != 0)
      return func.emitError("--microbatches ")
                 << count << " must divide the batch (dim 0 of the first input"
                 << (batch ? ", " + std::to_string(*batch) : std::string())
                 << ")",
             failure();
    llvm::DenseSet<Value> dependent(batched.begin(), batched.end());
    SmallVector<Operation *> perBatch;
    for (Operation *op : forward) {
      if (llvm::any_of(op->getOperands(),
                       [&](Value v) { return dependent.contains(v); })) {
        perBatch.push_back(op);
        for (Value result : op->getResults())
          dependent.insert(result);
      } else {
        shared.push_back(op);
      }
    }
    Value loss = ret.getOperand(0);
    if (!dependent.contains(loss))
      return func.emitError("the loss does not depend on the batch; "
                            "nothing to split into microbatches"),
             failure();

    OpBuilder b(ret);
    SmallVector<SmallVector<Operation *>> pieces(count);
    SmallVector<Value> losses;
    for (int64_t k = 0; k < count; ++k) {
      IRMapping mapping;
      llvm::DenseMap<Value, int64_t> carry;
      for (BlockArgument arg : batched) {
        SmallVector<Operation *> made;
        Value rows = microbatchRows(b, arg.getLoc(), arg, 0, k, made);
        mapping.map(arg, rows);
        carry[rows] = 0;
        pieces[k].append(made);
      }
      for (Operation *op : perBatch) {
        FailureOr<Operation *> clone =
            cloneForMicrobatch(op, mapping, carry, b, k);
        if (failed(clone))
          return failure();
        pieces[k].push_back(*clone);
      }
      // The loss ends the microbatch's ops (its backward pass starts there).
      Value mbLoss = mapping.lookup(loss);
      Operation *def = mbLoss.getDefiningOp();
      if (pieces[k].back() != def) {
        llvm::erase(pieces[k], def);
        pieces[k].push_back(def);
      }
      losses.push_back(mbLoss);
    }
    Location loc = NameLoc::get(b.getStringAttr("loss"));
    Value total = losses.front();
    for (Value next : ArrayRef(losses).drop_front())
      total = b.create<AddOp>(loc, total, next);
    total = b.create<MulOp>(loc, total, scalarConstant(b, loc, 1.0 / count));
    ret->setOperand(0, total);
    for (Operation *op : llvm::reverse(perBatch))
      op->erase();
    return pieces;
  }

  /// Microbatch k's rows of `value` along `dim`: rows k, k + M, k + 2M,
  /// ... (M microbatches), as reshape [.., B, ..] -> [.., B/M, M, ..],
  /// slice k of the M axis, reshape back. Interleaving rather than
  /// contiguous rows keeps the B/M axis a plain batch axis, which a
  /// data-parallel plan splits further.
  Value microbatchRows(OpBuilder &b, Location loc, Value value, int64_t dim,
                       int64_t k, SmallVectorImpl<Operation *> &made) {
    int64_t count = microbatches;
    ArrayRef<int64_t> shape = typeOf(value).getShape();
    SmallVector<int64_t> split(shape.begin(), shape.begin() + dim);
    split.push_back(shape[dim] / count);
    split.push_back(count);
    split.append(shape.begin() + dim + 1, shape.end());
    auto reshaped = b.create<ReshapeOp>(loc, value, split);
    SmallVector<int64_t> starts(split.size(), 0), sizes(split),
        steps(split.size(), 1);
    starts[dim + 1] = k;
    sizes[dim + 1] = 1;
    auto slice = b.create<SliceOp>(loc, reshaped, starts, sizes, steps);
    SmallVector<int64_t> rows(shape);
    rows[dim] = shape[dim] / count;
    auto back = b.create<ReshapeOp>(loc, slice, rows);
    made.append({reshaped, slice, back});
    return back;
  }

  FailureOr<Operation *>
  cloneForMicrobatch(Operation *op, IRMapping &mapping,
                     llvm::DenseMap<Value, int64_t> &carry, OpBuilder &b,
                     int64_t k) {
    // The label the batch has in this op, from a batched operand.
    std::optional<graph::DimLabel> label;
    if (auto annotated = dyn_cast<graph::DimAnnotationOpInterface>(op))
      if (FailureOr<graph::DimAnnotation> annotation =
              graph::DimAnnotation::parse(annotated.getDimAnnotation());
          succeeded(annotation))
        for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
          auto it = carry.find(mapping.lookupOrDefault(operand));
          if (it == carry.end() || i >= annotation->inputs.size())
            continue;
          const graph::DimLabel &here = annotation->inputLabel(i, it->second);
          if (here.kind == graph::DimLabel::Spatial ||
              here.kind == graph::DimLabel::Reduced) {
            label = here;
            break;
          }
        }
    Operation *clone = b.clone(*op, mapping);
    std::string node = ss::plan::nodeName(op);
    auto fail = [&](StringRef why) -> FailureOr<Operation *> {
      return op->emitError("cannot split '")
             << (node.empty() ? op->getName().getStringRef() : StringRef(node))
             << "' into microbatches: " << why;
    };
    if (label) {
      std::string error;
      FailureOr<graph::PieceSplit> split =
          graph::splitLabel(op, label->name, microbatches, &error);
      if (failed(split))
        return fail(error);
      // An operand that shares the batch dim but does not depend on the
      // inputs (a mask folded at its full batch) gives the microbatch its
      // rows.
      for (auto [i, operand] : llvm::enumerate(clone->getOperands())) {
        if (i >= split->inputs.size())
          break;
        ArrayRef<int64_t> full = typeOf(op->getOperand(i)).getShape();
        SmallVector<int64_t> starts(full.size(), 0), sizes(full),
            steps(full.size(), 1);
        bool cut = false;
        for (auto [d, chunks] : llvm::enumerate(split->inputs[i].dimChunks))
          if (chunks > 1 && typeOf(operand).getShape()[d] == full[d]) {
            sizes[d] = full[d] / chunks;
            starts[d] = k * sizes[d];
            cut = true;
          }
        if (cut) {
          OpBuilder before(clone);
          SmallVector<Operation *> made;
          int64_t dim = llvm::find_if(split->inputs[i].dimChunks,
                                      [](int64_t c) { return c > 1; }) -
                        split->inputs[i].dimChunks.begin();
          clone->setOperand(i, microbatchRows(before, clone->getLoc(), operand,
                                              dim, k, made));
        }
      }
      for (auto [r, result] : llvm::enumerate(clone->getResults())) {
        SmallVector<int64_t> shape(typeOf(result).getShape());
        for (auto [d, chunks] : llvm::enumerate(split->outputs[r].dimChunks))
          if (chunks > 1) {
            shape[d] /= chunks;
            if (!carry.count(result))
              carry[result] = d;
          }
        result.setType(typeOf(result).clone(shape));
      }
      if (failed(cast<graph::DimAnnotationOpInterface>(clone)
                     .adaptAttributesToTypes()) ||
          failed(graph::checkInferredTypes(clone)))
        return fail("its types do not follow the batch split");
      return clone;
    }
    // No splittable batch dim (a frozen one, e.g. a mean over the batch):
    // the op runs on the microbatch as it is, its types inferred anew.
    auto inferring = dyn_cast<InferTypeOpInterface>(clone);
    SmallVector<Type> types;
    if (!inferring ||
        failed(inferring.inferReturnTypes(
            clone->getContext(), clone->getLoc(), clone->getOperands(),
            clone->getRawDictionaryAttrs(), clone->getPropertiesStorage(),
            clone->getRegions(), types)))
      return fail("its result types cannot be inferred for a microbatch");
    for (auto [result, type] : llvm::zip(clone->getResults(), types))
      result.setType(type);
    return clone;
  }

  /// Optimizer updates and assigns, or the gradients as results.
  LogicalResult optimize() {
    Block &body = func.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    OpBuilder b(ret);
    MLIRContext *ctx = &getContext();

    // Gradients are named after their parameter in emitted code.
    for (auto &[name, grad] : variableGrads) {
      Operation *def = grad ? grad.getDefiningOp() : nullptr;
      if (!def || def->getNumResults() != 1 || def->hasAttr("ss.names"))
        continue;
      def->setAttr("ss.names", b.getStrArrayAttr({(name + kGradSuffix).str()}));
    }

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
      if (!gradScale && eagerUpdates) {
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
          loc, param.getResult(), grad, *m, *v, gradScale, f32(lr), f32(beta1),
          f32(beta2), f32(epsilon), f32(weightDecay), b.getStringAttr(schedule),
          b.getI64IntegerAttr(warmupSteps), b.getI64IntegerAttr(totalSteps));
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

FailureOr<func::FuncOp> ss::trainingFunction(ModuleOp module) {
  SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
  if (funcs.size() != 1)
    return module.emitError("training needs a module with one function, "
                            "found ")
           << funcs.size();
  return funcs.front();
}

Value ss::sumAll(OpBuilder &b, Location loc, Value v) {
  SmallVector<int64_t> axes(typeOf(v).getRank());
  std::iota(axes.begin(), axes.end(), 0);
  if (axes.empty())
    return v;
  return b.create<ReduceSumOp>(loc, v, axes, false);
}

Value ss::scalarConstant(OpBuilder &b, Location loc, double value) {
  auto type = RankedTensorType::get({}, b.getF32Type());
  return b.create<ConstantOp>(
      loc, type, DenseElementsAttr::get(type, static_cast<float>(value)));
}
