//===- ConvertElementwise.cpp
//-----------------------------------------------===//
//
// Converters for elementwise operators: casts, clip and pow, the activations
// and logic composed from graph ops, and math evaluated on constants.
//
//===----------------------------------------------------------------------===//

#include "Import/ImportContext.h"

#include <cmath>

namespace ss {
namespace importer {

/// Requires that optional outputs past `count` are unused.
LogicalResult onlyFirstOutputs(Importer &imp, NodeContext &n, size_t count) {
  for (size_t i = count; i < n.numOutputs(); ++i)
    if (!n.node.output(i).empty() && imp.isConsumed(n.node.output(i)))
      return imp.unsupported(n.loc, n.opType() + " output " + Twine(i) + " ('" +
                                        n.node.output(i) +
                                        "') is not supported");
  return success();
}

/// ONNX allows integer tensors for a few ops (Relu, MatMul, Gemm, MaxPool,
/// Resize) that the graph dialect computes in float32 only: such a model is
/// valid, so it is unsupported (exit 2) rather than invalid.
LogicalResult requireF32(NodeContext &n, Value v) {
  Type et = tensorTypeOf(v).getElementType();
  if (et.isF32())
    return success();
  std::string type;
  llvm::raw_string_ostream os(type);
  et.print(os);
  return n.importer.unsupported(n.loc, n.opType() + " on " + os.str() +
                                           " tensors (float32 only)");
}

/// Before opset 7, binary ops broadcast only with `broadcast=1`, aligning
/// the second operand at `axis` (default: trailing). Reshaping it with
/// trailing 1s turns that into numpy broadcasting.
FailureOr<Value> legacyBroadcastOperand(NodeContext &n, Value lhs, Value rhs) {
  Importer &imp = n.importer;
  if (imp.opset >= 7 || n.getInt("broadcast", 0) == 0)
    return rhs;
  auto ls = shapeOf(lhs), rs = shapeOf(rhs);
  int64_t ra = ls.size(), rb = rs.size();
  int64_t axis = n.getInt("axis", ra - rb);
  if (axis < 0)
    axis += ra;
  if (axis < 0 || axis + rb > ra)
    return imp.invalid(n.loc, n.opType() + " broadcast axis " + Twine(axis) +
                                  " does not fit operand shapes " +
                                  shapeStr(ls) + " and " + shapeStr(rs));
  SmallVector<int64_t> shape(rs);
  shape.append(ra - axis - rb, 1);
  return imp.reshape(n.loc, rhs, shape);
}

LogicalResult convertCast(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  int64_t to = n.getInt("to", 0);
  Type t = elementTypeFromOnnx(imp.ctx(), to);
  if (!t)
    return imp.unsupported(n.loc, "Cast to " + onnxTypeName(to));
  if (tensorTypeOf(n.input(0)).getElementType() == t) {
    r.push_back(n.input(0));
    return success();
  }
  auto v = imp.create1<CastOp>(n.loc, n.input(0), TypeAttr::get(t));
  return pushResult(r, v);
}

LogicalResult convertClip(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  float lo = -INFINITY, hi = INFINITY;
  if (imp.opset < 11) {
    lo = n.getFloat("min", lo);
    hi = n.getFloat("max", hi);
  } else {
    if (n.input(1)) {
      auto v = imp.constFloats(n, n.input(1), "min");
      if (failed(v))
        return failure();
      lo = (*v)[0];
    }
    if (n.input(2)) {
      auto v = imp.constFloats(n, n.input(2), "max");
      if (failed(v))
        return failure();
      hi = (*v)[0];
    }
  }
  if (!tensorTypeOf(n.input(0)).getElementType().isF32())
    return imp.unsupported(n.loc, "Clip on non-float tensors");
  auto &b = imp.b();
  auto v = imp.create1<ClipOp>(n.loc, n.input(0), b.getF32FloatAttr(lo),
                               b.getF32FloatAttr(hi));
  return pushResult(r, v);
}

LogicalResult convertPow(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  Value base = n.input(0);
  auto expOr = legacyBroadcastOperand(n, base, n.input(1));
  if (failed(expOr))
    return failure();
  Value exp = *expOr;
  Type bt = tensorTypeOf(base).getElementType();
  if (tensorTypeOf(exp).getElementType() != bt) {
    // ONNX allows a differently typed exponent; compute in the base's type.
    auto c = imp.create1<CastOp>(n.loc, exp, TypeAttr::get(bt));
    if (failed(c))
      return failure();
    exp = *c;
  }
  auto v = imp.create1<PowOp>(n.loc, base, exp);
  return pushResult(r, v);
}

/// Elu (gamma 1) and Selu: gamma * (x > 0 ? x : alpha * (exp(x) - 1)).
LogicalResult composeElu(NodeContext &n, Results &r, float alpha, float gamma) {
  Importer &imp = n.importer;
  Value x = n.input(0);
  auto pos = imp.create1<GreaterOp>(n.loc, x, imp.scalarLike(n.loc, x, 0.0));
  auto e = imp.create1<ExpOp>(n.loc, x);
  if (failed(pos) || failed(e))
    return failure();
  auto em1 = imp.create1<SubOp>(n.loc, *e, imp.scalarLike(n.loc, x, 1.0));
  if (failed(em1))
    return failure();
  auto neg = imp.create1<MulOp>(n.loc, *em1, imp.scalarLike(n.loc, x, alpha));
  if (failed(neg))
    return failure();
  auto v = imp.create1<WhereOp>(n.loc, *pos, x, *neg);
  if (failed(v))
    return failure();
  Value out = *v;
  if (gamma != 1.0f) {
    auto g = imp.create1<MulOp>(n.loc, out, imp.scalarLike(n.loc, x, gamma));
    if (failed(g))
      return failure();
    out = *g;
  }
  r.push_back(out);
  return success();
}

/// Max ('>'), Min ('<'), Sum ('+') and Mean ('m') over any number of inputs.
LogicalResult composeVariadic(NodeContext &n, Results &r, char kind) {
  Importer &imp = n.importer;
  SmallVector<Value> ins = n.presentInputs();
  if (ins.empty())
    return imp.invalid(n.loc, n.opType() + " has no inputs");
  Value acc = ins[0];
  for (size_t i = 1; i < ins.size(); ++i) {
    FailureOr<Value> next;
    if (kind == '+' || kind == 'm') {
      next = imp.create1<AddOp>(n.loc, acc, ins[i]);
    } else {
      FailureOr<Value> pick = kind == '>'
                                  ? imp.create1<GreaterOp>(n.loc, acc, ins[i])
                                  : imp.create1<LessOp>(n.loc, acc, ins[i]);
      if (failed(pick))
        return failure();
      next = imp.create1<WhereOp>(n.loc, *pick, acc, ins[i]);
    }
    if (failed(next))
      return failure();
    acc = *next;
  }
  if (kind == 'm' && ins.size() > 1) {
    auto mean = imp.create1<DivOp>(
        n.loc, acc, imp.scalarLike(n.loc, acc, double(ins.size())));
    if (failed(mean))
      return failure();
    acc = *mean;
  }
  r.push_back(acc);
  return success();
}

/// Elementwise math the graph dialect has no op for, evaluated at compile
/// time when the input is a constant: rotary embeddings take Sin/Cos of
/// position tables that are constant once the sequence length is pinned.
ConvertFn foldedUnary(double (*fn)(double)) {
  return [fn](NodeContext &n, Results &r) -> LogicalResult {
    Importer &imp = n.importer;
    Value x = n.input(0);
    auto type = tensorTypeOf(x);
    if (!type.getElementType().isF32())
      return imp.unsupported(n.loc, n.opType() + " of a non-float32 tensor");
    auto attr = Importer::constantValue(x);
    if (!attr)
      return imp.notConstant(n, x, "input",
                             n.opType() + " is only evaluated at compile time");
    SmallVector<float> out;
    out.reserve(attr.getNumElements());
    for (const APFloat &v : attr.getValues<APFloat>())
      out.push_back(static_cast<float>(fn(v.convertToDouble())));
    r.push_back(
        imp.constant(n.loc, DenseElementsAttr::get(type, ArrayRef(out))));
    return success();
  };
}

/// Numpy broadcast of two static shapes, or failure.
std::optional<SmallVector<int64_t>> broadcastShape(ArrayRef<int64_t> a,
                                                   ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t x = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t y = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (x != y && x != 1 && y != 1)
      return std::nullopt;
    out[i] = x == 1 ? y : x;
  }
  return out;
}

/// Mod on compile-time constants (shape arithmetic such as Swin's window
/// padding, `(w - W % w) % w`): integer results take the divisor's sign
/// (fmod=0) or the dividend's (fmod=1), as in ONNX.
LogicalResult convertMod(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  Value a = n.input(0), bv = n.input(1);
  Type et = tensorTypeOf(a).getElementType();
  if (tensorTypeOf(bv).getElementType() != et)
    return imp.invalid(n.loc, "Mod operands have different element types");
  bool fmod = n.getInt("fmod", 0) != 0;
  if (isa<FloatType>(et) && !fmod)
    return imp.invalid(n.loc, "Mod on floats needs fmod=1");
  if (!Importer::constantValue(a))
    return imp.notConstant(n, a, "A", "Mod is only evaluated at compile time");
  if (!Importer::constantValue(bv))
    return imp.notConstant(n, bv, "B", "Mod is only evaluated at compile time");
  auto shape = broadcastShape(shapeOf(a), shapeOf(bv));
  if (!shape)
    return imp.invalid(n.loc, "Mod operands " + shapeStr(shapeOf(a)) + " and " +
                                  shapeStr(shapeOf(bv)) + " do not broadcast");
  auto &b = imp.b();
  auto ea =
      imp.create1<BroadcastToOp>(n.loc, a, b.getDenseI64ArrayAttr(*shape));
  auto eb =
      imp.create1<BroadcastToOp>(n.loc, bv, b.getDenseI64ArrayAttr(*shape));
  if (failed(ea) || failed(eb))
    return failure();
  auto ca = Importer::constantValue(*ea), cb = Importer::constantValue(*eb);
  if (!ca || !cb)
    return imp.unsupported(n.loc,
                           "Mod result " + shapeStr(*shape) +
                               " is too large to evaluate at compile time");
  auto type = RankedTensorType::get(*shape, et);
  if (auto ft = dyn_cast<FloatType>(et)) {
    if (!ft.isF32())
      return imp.unsupported(n.loc, "Mod of this element type");
    SmallVector<float> out;
    for (auto [x, y] :
         llvm::zip(ca.getValues<APFloat>(), cb.getValues<APFloat>()))
      out.push_back(std::fmod(x.convertToFloat(), y.convertToFloat()));
    r.push_back(
        imp.constant(n.loc, DenseElementsAttr::get(type, ArrayRef(out))));
    return success();
  }
  SmallVector<APInt> out;
  unsigned width = et.getIntOrFloatBitWidth();
  for (auto [x, y] : llvm::zip(ca.getValues<APInt>(), cb.getValues<APInt>())) {
    int64_t xi = x.getSExtValue(), yi = y.getSExtValue();
    if (yi == 0)
      return imp.invalid(n.loc, "Mod by zero");
    int64_t m = yi == -1 ? 0 : xi % yi; // INT64_MIN % -1 traps
    if (!fmod && m != 0 && ((m < 0) != (yi < 0)))
      m += yi;
    out.push_back(APInt(width, m, /*isSigned=*/true));
  }
  r.push_back(imp.constant(n.loc, DenseElementsAttr::get(type, out)));
  return success();
}

/// Boolean logic as a select on input 0: where(a, input[thenInput],
/// input[elseInput]).
ConvertFn select(int thenInput, int elseInput) {
  return [=](NodeContext &n, Results &r) -> LogicalResult {
    auto v = n.importer.create1<WhereOp>(n.loc, n.input(0), n.input(thenInput),
                                         n.input(elseInput));
    return pushResult(r, v);
  };
}

} // namespace importer
} // namespace ss
