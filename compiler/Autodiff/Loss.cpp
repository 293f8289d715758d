//===- Loss.cpp - the loss a training step minimises ----------------------===//
//
// The train-append-loss pass: picks a model output as the loss, or appends
// cross-entropy or mean-squared-error over an output and a new input, and
// makes the function return the loss alone.
//
//===----------------------------------------------------------------------===//

#include "Autodiff/Autodiff.h"
#include "Debug.h"
#include "Graph/GraphDialect.h"
#include "Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Iterators.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/StringExtras.h"

#include <numeric>

#define DEBUG_TYPE "train-append-loss"

namespace ss {
#define GEN_PASS_DEF_TRAINAPPENDLOSS
#include "Passes.h.inc"
} // namespace ss

using namespace mlir;
using namespace ss;
using namespace ss::graph;

namespace {

/// PyTorch's default ignore_index for cross-entropy.
constexpr int64_t kIgnoreIndex = -100;

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

struct TrainAppendLossPass
    : ss::impl::TrainAppendLossBase<TrainAppendLossPass> {
  using TrainAppendLossBase::TrainAppendLossBase;

  void runOnOperation() override {
    FailureOr<func::FuncOp> found = trainingFunction(getOperation());
    if (failed(found))
      return signalPassFailure();
    func = *found;
    if (failed(run()))
      return signalPassFailure();
  }

  LogicalResult run() {
    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    OpBuilder b(ret);
    Location loc = NameLoc::get(b.getStringAttr("loss"));
    Value lossValue;
    if (kind == "output") {
      if (this->loss.empty())
        return func.emitError("--loss NAME names the output that is the loss");
      FailureOr<Value> out = output(this->loss);
      if (failed(out))
        return failure();
      lossValue = *out;
      auto type = typeOf(lossValue);
      if (!type.getElementType().isF32() || type.getNumElements() != 1)
        return func.emitError("loss output '")
               << this->loss << "' is " << type
               << "; a loss must be a single float32 value";
      lossValue = b.create<ReshapeOp>(loc, lossValue, ArrayRef<int64_t>{});
    } else if (kind == "cross-entropy") {
      FailureOr<Value> out = output(logits);
      if (failed(out))
        return failure();
      FailureOr<Value> built = crossEntropy(b, loc, *out);
      if (failed(built))
        return failure();
      lossValue = *built;
    } else if (kind == "mse") {
      FailureOr<Value> out = output(logits);
      if (failed(out))
        return failure();
      lossValue = meanSquaredError(b, loc, *out);
      if (!lossValue)
        return failure();
    } else {
      return func.emitError("unknown loss kind '")
             << kind << "' (expected output, cross-entropy or mse)";
    }

    b.create<func::ReturnOp>(ret.getLoc(), lossValue);
    ret.erase();
    func.setType(
        b.getFunctionType(func.getArgumentTypes(), {lossValue.getType()}));
    func.setResultAttrs(0, b.getDictionaryAttr(b.getNamedAttr(
                               "ss.name", b.getStringAttr("loss"))));
    eraseDeadOps();
    SS_DEBUG(DEBUG_TYPE, dbgs << "loss: " << kind.getValue()
                              << (kind == "output" ? " '" + this->loss + "'"
                                                   : std::string())
                              << ", now the only result\n");
    return success();
  }

  /// The model output named `name`; empty `name` means the only output.
  FailureOr<Value> output(StringRef name) {
    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    SmallVector<std::string> names;
    for (unsigned i = 0; i < ret.getNumOperands(); ++i) {
      auto attr = func.getResultAttrOfType<StringAttr>(i, "ss.name");
      names.push_back(attr ? attr.str() : "");
      if (!name.empty() && attr && attr.getValue() == name)
        return ret.getOperand(i);
    }
    if (name.empty() && ret.getNumOperands() == 1)
      return ret.getOperand(0);
    if (name.empty())
      return func.emitError("the model has ")
             << ret.getNumOperands()
             << " outputs; name the one the loss reads with --logits "
                "(outputs: "
             << llvm::join(names, ", ") << ")";
    return func.emitError("the model has no output named '")
           << name << "' (outputs: " << llvm::join(names, ", ") << ")";
  }

  Value newInput(RankedTensorType type, StringRef name) {
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (auto n = func.getArgAttrOfType<StringAttr>(i, "ss.name");
          n && n.getValue() == name)
        return Value();
    unsigned index = func.getNumArguments();
    OpBuilder b(func);
    Location loc = NameLoc::get(b.getStringAttr(name));
    (void)func.insertArgument(
        index, type,
        b.getDictionaryAttr(b.getNamedAttr("ss.name", b.getStringAttr(name))),
        loc);
    return func.getArgument(index);
  }

  /// Mean over positions of -log softmax(logits)[label], skipping labels
  /// equal to the ignore index.
  FailureOr<Value> crossEntropy(OpBuilder &b, Location loc, Value logits) {
    auto type = typeOf(logits);
    if (!type.getElementType().isF32() || type.getRank() < 1)
      return func.emitError("cross-entropy logits '")
             << logits << "' must be float32 with classes on the last axis";
    int64_t rank = type.getRank(), classes = type.getShape().back();
    SmallVector<int64_t> labelShape(type.getShape().drop_back());
    auto labelType = RankedTensorType::get(labelShape, b.getI64Type());
    Value labels = newInput(labelType, this->labels);
    if (!labels)
      return func.emitError("the model already has an input named '")
             << this->labels << "'; choose another name with --labels";

    Value logProbs = b.create<LogSoftmaxOp>(loc, logits, rank - 1);
    SmallVector<int64_t> column(labelShape);
    column.push_back(1);
    Value labelColumn = b.create<ReshapeOp>(loc, labels, column);
    SmallVector<int64_t> classIds(classes);
    std::iota(classIds.begin(), classIds.end(), 0);
    auto idsType = RankedTensorType::get({classes}, b.getI64Type());
    Value ids = b.create<ConstantOp>(
        loc, idsType, DenseElementsAttr::get(idsType, ArrayRef(classIds)));
    Value oneHot =
        b.create<CastOp>(loc, b.create<EqualOp>(loc, labelColumn, ids),
                         TypeAttr::get(b.getF32Type()));
    Value picked = sumAll(b, loc, b.create<MulOp>(loc, logProbs, oneHot));

    auto scalarI64 = RankedTensorType::get({}, b.getI64Type());
    Value ignore = b.create<ConstantOp>(
        loc, scalarI64, DenseElementsAttr::get(scalarI64, kIgnoreIndex));
    Value counted = b.create<CastOp>(
        loc, b.create<NotOp>(loc, b.create<EqualOp>(loc, labels, ignore)),
        TypeAttr::get(b.getF32Type()));
    Value count = sumAll(b, loc, counted);
    return b.create<NegOp>(loc, b.create<DivOp>(loc, picked, count))
        .getResult();
  }

  Value meanSquaredError(OpBuilder &b, Location loc, Value prediction) {
    auto type = typeOf(prediction);
    Value target = newInput(type, this->target);
    if (!target) {
      func.emitError("the model already has an input named '")
          << this->target << "'; choose another name with --target";
      return Value();
    }
    // The mean per sample, then over the batch: a data-parallel plan keeps
    // the first mean split by sample, and with microbatches each
    // microbatch's loss is its own mean.
    Value diff = b.create<SubOp>(loc, prediction, target);
    Value squared = b.create<MulOp>(loc, diff, diff);
    if (type.getRank() == 0)
      return squared;
    SmallVector<int64_t> inner(type.getRank() - 1);
    std::iota(inner.begin(), inner.end(), 1);
    Value perSample =
        inner.empty()
            ? squared
            : b.create<ReduceMeanOp>(loc, squared, inner, false).getResult();
    return b.create<ReduceMeanOp>(loc, perSample, ArrayRef<int64_t>{0}, false);
  }

  void eraseDeadOps() {
    func.walk<WalkOrder::PostOrder, ReverseIterator>([](Operation *op) {
      if (isa<GraphDialect>(op->getDialect()) && isOpTriviallyDead(op))
        op->erase();
    });
  }

  func::FuncOp func;
};

} // namespace
