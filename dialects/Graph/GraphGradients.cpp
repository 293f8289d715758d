//===- GraphGradients.cpp - gradient rules of the graph ops ---------------===//
//
// One rule per differentiable op (GradientOpInterface). A rule builds the
// operand gradients out of graph ops, so the backward graph is partitioned,
// scheduled and emitted like the forward one. Where the gradient is not a
// cheap composition of forward ops (softmax, layer norm, gelu, gather,
// pooling, resize, a convolution's filter), a dedicated gradient op carries
// it.
//
//===----------------------------------------------------------------------===//

#include "Graph/GraphDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace mlir;
using namespace ss::graph;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }
ArrayRef<int64_t> shapeOf(Value v) { return typeOf(v).getShape(); }
bool isFloat(Value v) { return typeOf(v).getElementType().isF32(); }

/// Builds gradient ops at one insertion point with the forward op's
/// location.
class GradientBuilder {
public:
  GradientBuilder(OpBuilder &builder, Operation *op)
      : b(builder), loc(op->getLoc()) {}

  /// A float32 scalar constant; binary ops broadcast it.
  Value scalar(double value) {
    auto type = RankedTensorType::get({}, b.getF32Type());
    return b.create<ConstantOp>(
        loc, type, DenseElementsAttr::get(type, static_cast<float>(value)));
  }
  Value zerosLike(Value v) {
    auto type = RankedTensorType::get(shapeOf(v), b.getF32Type());
    return b.create<ConstantOp>(loc, type, DenseElementsAttr::get(type, 0.0f));
  }

  Value add(Value a, Value c) { return b.create<AddOp>(loc, a, c); }
  Value sub(Value a, Value c) { return b.create<SubOp>(loc, a, c); }
  Value mul(Value a, Value c) { return b.create<MulOp>(loc, a, c); }
  Value div(Value a, Value c) { return b.create<DivOp>(loc, a, c); }
  Value neg(Value a) { return b.create<NegOp>(loc, a); }
  Value exp(Value a) { return b.create<ExpOp>(loc, a); }
  Value log(Value a) { return b.create<LogOp>(loc, a); }
  Value pow(Value a, Value c) { return b.create<PowOp>(loc, a, c); }
  Value greater(Value a, Value c) { return b.create<GreaterOp>(loc, a, c); }
  Value less(Value a, Value c) { return b.create<LessOp>(loc, a, c); }
  Value equal(Value a, Value c) { return b.create<EqualOp>(loc, a, c); }
  Value where(Value c, Value x, Value y) {
    return b.create<WhereOp>(loc, c, x, y);
  }
  Value toFloat(Value v) {
    return b.create<CastOp>(loc, v, TypeAttr::get(b.getF32Type()));
  }
  Value reshape(Value v, ArrayRef<int64_t> shape) {
    if (shapeOf(v) == shape)
      return v;
    return b.create<ReshapeOp>(loc, v, shape);
  }
  Value transpose(Value v, ArrayRef<int64_t> perm) {
    return b.create<TransposeOp>(loc, v, perm);
  }
  /// Swaps the two innermost dims.
  Value transposeLastTwo(Value v) {
    SmallVector<int64_t> perm(shapeOf(v).size());
    std::iota(perm.begin(), perm.end(), 0);
    std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
    return transpose(v, perm);
  }
  Value broadcastTo(Value v, ArrayRef<int64_t> shape) {
    if (shapeOf(v) == shape)
      return v;
    return b.create<BroadcastToOp>(loc, v, shape);
  }
  Value reduceSum(Value v, ArrayRef<int64_t> axes, bool keepdims) {
    if (axes.empty())
      return v;
    return b.create<ReduceSumOp>(loc, v, axes, keepdims);
  }
  /// Pads with zeros (`pads`: every begin, then every end); negative pads
  /// crop.
  Value zeroPad(Value v, ArrayRef<int64_t> pads) {
    return b.create<PadOp>(loc, v, b.getDenseI64ArrayAttr(pads),
                           b.getStringAttr("constant"), b.getF64FloatAttr(0.0));
  }
  Value matmul(Value a, Value c) { return b.create<MatMulOp>(loc, a, c); }
  Value gemm(Value a, Value c, bool transA, bool transB, double alpha) {
    return b.create<GemmOp>(
        loc, a, c, /*c=*/Value(), b.getBoolAttr(transA), b.getBoolAttr(transB),
        b.getF32FloatAttr(static_cast<float>(alpha)), b.getF32FloatAttr(1.0f));
  }

  /// The gradient of a value broadcast (numpy-style) from `shape` to
  /// grad's shape: grad summed over the broadcast dims.
  Value sumToShape(Value grad, ArrayRef<int64_t> shape) {
    ArrayRef<int64_t> full = shapeOf(grad);
    if (full == shape)
      return grad;
    size_t offset = full.size() - shape.size();
    SmallVector<int64_t> axes;
    bool onlyLeading = true;
    for (size_t d = 0; d < full.size(); ++d)
      if (d < offset || (shape[d - offset] == 1 && full[d] != 1)) {
        axes.push_back(d);
        onlyLeading &= d < offset;
      }
    // Summing the leading dims away yields the shape itself: a data-parallel
    // plan keeps the partial sums (a bias gradient) up to the optimizer,
    // where a reshape in between would need them whole.
    if (onlyLeading)
      return reduceSum(grad, axes, /*keepdims=*/false);
    return reshape(reduceSum(grad, axes, /*keepdims=*/true), shape);
  }

  /// Sums every dim but `keep`, leaving a 1-d tensor.
  Value sumAllBut(Value v, int64_t keep) {
    SmallVector<int64_t> axes;
    for (int64_t d = 0, rank = shapeOf(v).size(); d < rank; ++d)
      if (d != keep)
        axes.push_back(d);
    return reduceSum(v, axes, /*keepdims=*/false);
  }

  OpBuilder &b;
  Location loc;
};

/// The gradient of the single result, which the autodiff pass always
/// provides when it asks for a rule.
Value onlyGrad(ArrayRef<Value> resultGrads) { return resultGrads.front(); }

/// Rules of unary float ops, from x, y = op(x) and dy.
template <typename Fn>
LogicalResult unaryRule(Operation *op, OpBuilder &builder,
                        ArrayRef<Value> resultGrads, ArrayRef<bool> needed,
                        SmallVectorImpl<Value> &operandGrads, Fn &&rule) {
  operandGrads.assign(op->getNumOperands(), Value());
  if (!needed[0] || !isFloat(op->getOperand(0)))
    return success();
  GradientBuilder g(builder, op);
  operandGrads[0] =
      rule(g, op->getOperand(0), op->getResult(0), onlyGrad(resultGrads));
  return success();
}

/// Rules of broadcasting binary ops: `rule` returns (d lhs, d rhs) at the
/// result's shape; they are then summed back to each operand's shape.
template <typename Fn>
LogicalResult binaryRule(Operation *op, OpBuilder &builder,
                         ArrayRef<Value> resultGrads, ArrayRef<bool> needed,
                         SmallVectorImpl<Value> &operandGrads, Fn &&rule) {
  operandGrads.assign(2, Value());
  if (!isFloat(op->getResult(0)))
    return success();
  GradientBuilder g(builder, op);
  Value lhs = op->getOperand(0), rhs = op->getOperand(1);
  auto [dl, dr] = rule(g, lhs, rhs, op->getResult(0), onlyGrad(resultGrads),
                       needed[0], needed[1]);
  if (needed[0] && dl)
    operandGrads[0] = g.sumToShape(g.broadcastTo(dl, shapeOf(op->getResult(0))),
                                   shapeOf(lhs));
  if (needed[1] && dr)
    operandGrads[1] = g.sumToShape(g.broadcastTo(dr, shapeOf(op->getResult(0))),
                                   shapeOf(rhs));
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Unary elementwise
//===----------------------------------------------------------------------===//

#define GRAPH_UNARY_RULE(OP, ...)                                              \
  LogicalResult OP::buildGradients(                                            \
      OpBuilder &builder, ArrayRef<Value> resultGrads, ArrayRef<bool> needed,  \
      SmallVectorImpl<Value> &operandGrads) {                                  \
    return unaryRule(                                                          \
        *this, builder, resultGrads, needed, operandGrads,                     \
        [&](GradientBuilder &g, Value x, Value y, Value dy) -> Value {         \
          (void)x;                                                             \
          (void)y;                                                             \
          __VA_ARGS__                                                          \
        });                                                                    \
  }

GRAPH_UNARY_RULE(NegOp, { return g.neg(dy); })
GRAPH_UNARY_RULE(AbsOp, {
  // d|x| = sign(x), 0 at 0 (as PyTorch).
  Value zero = g.scalar(0);
  return g.where(g.greater(x, zero), dy,
                 g.where(g.less(x, zero), g.neg(dy), g.zerosLike(dy)));
})
GRAPH_UNARY_RULE(ExpOp, { return g.mul(dy, y); })
GRAPH_UNARY_RULE(LogOp, { return g.div(dy, x); })
GRAPH_UNARY_RULE(TanhOp, { return g.mul(dy, g.sub(g.scalar(1), g.mul(y, y))); })
GRAPH_UNARY_RULE(ErfOp, {
  // 2 / sqrt(pi) * e^(-x^2)
  return g.mul(
      dy, g.mul(g.scalar(2.0 / std::sqrt(M_PI)), g.exp(g.neg(g.mul(x, x)))));
})
GRAPH_UNARY_RULE(ReluOp, {
  return g.where(g.greater(x, g.scalar(0)), dy, g.zerosLike(dy));
})
GRAPH_UNARY_RULE(SigmoidOp,
                 { return g.mul(dy, g.mul(y, g.sub(g.scalar(1), y))); })
GRAPH_UNARY_RULE(SqrtOp, { return g.div(g.mul(dy, g.scalar(0.5)), y); })
GRAPH_UNARY_RULE(ReciprocalOp, { return g.neg(g.mul(dy, g.mul(y, y))); })
GRAPH_UNARY_RULE(LeakyReluOp, {
  return g.where(g.greater(x, g.scalar(0)), dy,
                 g.mul(dy, g.scalar(getAlpha().convertToDouble())));
})
GRAPH_UNARY_RULE(HardSigmoidOp, {
  // alpha where 0 < alpha x + beta < 1, else 0.
  double alpha = getAlpha().convertToDouble();
  Value t =
      g.add(g.mul(x, g.scalar(alpha)), g.scalar(getBeta().convertToDouble()));
  Value zeros = g.zerosLike(dy);
  return g.where(
      g.greater(t, g.scalar(0)),
      g.where(g.less(t, g.scalar(1)), g.mul(dy, g.scalar(alpha)), zeros),
      zeros);
})
GRAPH_UNARY_RULE(HardSwishOp, {
  // 0 below -3, 1 above 3, x / 3 + 1/2 between (PyTorch's convention).
  Value inside = g.mul(dy, g.add(g.mul(x, g.scalar(1.0 / 3.0)), g.scalar(0.5)));
  return g.where(g.less(x, g.scalar(-3)), g.zerosLike(dy),
                 g.where(g.greater(x, g.scalar(3)), dy, inside));
})
GRAPH_UNARY_RULE(ClipOp, {
  // Passes where min <= x <= max.
  Value zeros = g.zerosLike(dy);
  return g.where(
      g.less(x, g.scalar(getMin().convertToDouble())), zeros,
      g.where(g.greater(x, g.scalar(getMax().convertToDouble())), zeros, dy));
})
GRAPH_UNARY_RULE(GeluOp, {
  return g.b.create<GeluGradOp>(g.loc, x, dy, getApproximateAttr());
})

#undef GRAPH_UNARY_RULE

LogicalResult CastOp::buildGradients(OpBuilder &builder,
                                     ArrayRef<Value> resultGrads,
                                     ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &operandGrads) {
  // Only a float-to-float cast passes a gradient.
  operandGrads.assign(1, Value());
  if (needed[0] && isFloat(getInput()) && isFloat(getOutput()))
    operandGrads[0] = onlyGrad(resultGrads);
  return success();
}

//===----------------------------------------------------------------------===//
// Binary elementwise
//===----------------------------------------------------------------------===//

#define GRAPH_BINARY_RULE(OP, ...)                                             \
  LogicalResult OP::buildGradients(                                            \
      OpBuilder &builder, ArrayRef<Value> resultGrads, ArrayRef<bool> needed,  \
      SmallVectorImpl<Value> &operandGrads) {                                  \
    return binaryRule(*this, builder, resultGrads, needed, operandGrads,       \
                      [&](GradientBuilder &g, Value a, Value c, Value y,       \
                          Value dy, bool needA,                                \
                          bool needC) -> std::pair<Value, Value> {             \
                        (void)a;                                               \
                        (void)c;                                               \
                        (void)y;                                               \
                        (void)needA;                                           \
                        (void)needC;                                           \
                        __VA_ARGS__                                            \
                      });                                                      \
  }

GRAPH_BINARY_RULE(AddOp, { return {dy, dy}; })
GRAPH_BINARY_RULE(SubOp, { return {dy, needC ? g.neg(dy) : Value()}; })
GRAPH_BINARY_RULE(MulOp, {
  return {needA ? g.mul(dy, c) : Value(), needC ? g.mul(dy, a) : Value()};
})
GRAPH_BINARY_RULE(DivOp, {
  // d/da = 1 / c, d/dc = -a / c^2 = -y / c.
  return {needA ? g.div(dy, c) : Value(),
          needC ? g.neg(g.div(g.mul(dy, y), c)) : Value()};
})
GRAPH_BINARY_RULE(PowOp, {
  // d/da = c a^(c-1), d/dc = y ln a.
  return {needA ? g.mul(dy, g.mul(c, g.pow(a, g.sub(c, g.scalar(1)))))
                : Value(),
          needC ? g.mul(dy, g.mul(y, g.log(a))) : Value()};
})

#undef GRAPH_BINARY_RULE

LogicalResult WhereOp::buildGradients(OpBuilder &builder,
                                      ArrayRef<Value> resultGrads,
                                      ArrayRef<bool> needed,
                                      SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(3, Value());
  if (!isFloat(getOutput()))
    return success();
  GradientBuilder g(builder, *this);
  Value dy = onlyGrad(resultGrads);
  Value zeros = g.zerosLike(dy);
  if (needed[1])
    operandGrads[1] =
        g.sumToShape(g.where(getCondition(), dy, zeros), shapeOf(getLhs()));
  if (needed[2])
    operandGrads[2] =
        g.sumToShape(g.where(getCondition(), zeros, dy), shapeOf(getRhs()));
  return success();
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

LogicalResult MatMulOp::buildGradients(OpBuilder &builder,
                                       ArrayRef<Value> resultGrads,
                                       ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(2, Value());
  GradientBuilder g(builder, *this);
  Value a = getLhs(), w = getRhs(), dy = onlyGrad(resultGrads);
  ArrayRef<int64_t> aShape = shapeOf(a), wShape = shapeOf(w),
                    yShape = shapeOf(dy);
  if (wShape.size() == 2) {
    // A linear layer: fold A's leading dims into rows, so each gradient is
    // one GEMM that reads its operands in place (no transposed copies).
    int64_t k = aShape.back(), n = wShape.back();
    int64_t rows = typeOf(a).getNumElements() / k;
    Value a2 = g.reshape(a, {rows, k});
    Value dy2 = g.reshape(dy, {rows, n});
    if (needed[0])
      operandGrads[0] = g.reshape(g.gemm(dy2, w, false, true, 1.0), aShape);
    if (needed[1])
      operandGrads[1] = g.gemm(a2, dy2, true, false, 1.0);
    return success();
  }
  // Batched: dA = dY B^T, dB = A^T dY at the result's batch shape, then
  // summed over the dims each operand was broadcast along.
  auto batchOf = [&](ArrayRef<int64_t> matrixShape) {
    SmallVector<int64_t> shape(yShape.drop_back(2));
    llvm::append_range(shape, matrixShape.take_back(2));
    return shape;
  };
  if (needed[0]) {
    Value da = g.matmul(dy, g.transposeLastTwo(w));
    operandGrads[0] = g.sumToShape(g.reshape(da, batchOf(aShape)), aShape);
  }
  if (needed[1]) {
    Value dw = g.matmul(g.transposeLastTwo(a), dy);
    operandGrads[1] = g.sumToShape(g.reshape(dw, batchOf(wShape)), wShape);
  }
  return success();
}

LogicalResult GemmOp::buildGradients(OpBuilder &builder,
                                     ArrayRef<Value> resultGrads,
                                     ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &operandGrads) {
  // Y = alpha op(A) op(B) + beta C.
  operandGrads.assign(getNumOperands(), Value());
  GradientBuilder g(builder, *this);
  Value a = getA(), w = getB(), dy = onlyGrad(resultGrads);
  bool transA = getTransA(), transB = getTransB();
  double alpha = getAlpha().convertToDouble();
  if (needed[0])
    operandGrads[0] = transA ? g.gemm(w, dy, transB, true, alpha)
                             : g.gemm(dy, w, false, !transB, alpha);
  if (needed[1])
    operandGrads[1] = transB ? g.gemm(dy, a, true, transA, alpha)
                             : g.gemm(a, dy, !transA, false, alpha);
  if (Value c = getC(); c && needed[2]) {
    double beta = getBeta().convertToDouble();
    Value dc = beta == 1.0 ? dy : g.mul(dy, g.scalar(beta));
    operandGrads[2] = g.sumToShape(dc, shapeOf(c));
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Convolution and pooling
//===----------------------------------------------------------------------===//

LogicalResult ConvOp::buildGradients(OpBuilder &builder,
                                     ArrayRef<Value> resultGrads,
                                     ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(getNumOperands(), Value());
  // graph-fuse-conv-activation runs for inference only; training sees the
  // activation as its own op.
  if (getActivation() != "none")
    return emitOpError("has no gradient rule with a fused activation (\"")
           << getActivation()
           << "\"); differentiate before graph-fuse-conv-activation";
  Value x = getInput(), w = getFilter(), dy = onlyGrad(resultGrads);
  ArrayRef<int64_t> xShape = shapeOf(x), wShape = shapeOf(w);
  ArrayRef<int64_t> strides = getStrides(), pads = getPads(),
                    dilations = getDilations();
  int64_t spatial = xShape.size() - 2;
  if (needed[0]) {
    // conv_transpose with the same filter is conv's adjoint. The strided
    // windows may leave the last (padded - extent) % stride input rows
    // unread; output_padding gives them back (with a zero gradient).
    SmallVector<int64_t> outputPadding;
    for (int64_t i = 0; i < spatial; ++i) {
      int64_t extent = dilations[i] * (wShape[2 + i] - 1) + 1;
      int64_t padded = xShape[2 + i] + pads[i] + pads[spatial + i];
      outputPadding.push_back((padded - extent) % strides[i]);
    }
    operandGrads[0] = builder.create<ConvTransposeOp>(
        getLoc(), x.getType(), dy, w, /*bias=*/Value(), getStridesAttr(),
        getPadsAttr(), getDilationsAttr(),
        builder.getDenseI64ArrayAttr(outputPadding), getGroupAttr());
  }
  if (needed[1])
    operandGrads[1] = builder.create<ConvFilterGradOp>(
        getLoc(), w.getType(), x, dy,
        builder.getDenseI64ArrayAttr(wShape.drop_front(2)), getStridesAttr(),
        getPadsAttr(), getDilationsAttr(), getGroupAttr());
  if (Value bias = getBias(); bias && needed[2]) {
    GradientBuilder g(builder, *this);
    operandGrads[2] = g.sumAllBut(dy, 1);
  }
  return success();
}

LogicalResult
ConvTransposeOp::buildGradients(OpBuilder &builder, ArrayRef<Value> resultGrads,
                                ArrayRef<bool> needed,
                                SmallVectorImpl<Value> &operandGrads) {
  // conv_transpose(x, w) is the adjoint of conv(., w) from its result's
  // space to x's, so dx = conv(dy, w) and dw = conv_filter_grad(dy, x), with
  // dy as the conv's input. Output padding widened dy at the end, so the
  // conv's end pads shrink by it (up to stride - 1 more padding gives the
  // same result size); pads still negative (ONNX output_shape can widen the
  // result) become a crop of dy.
  operandGrads.assign(getNumOperands(), Value());
  Value x = getInput(), w = getFilter(), dy = onlyGrad(resultGrads);
  int64_t rank = shapeOf(x).size(), spatial = rank - 2;
  ArrayRef<int64_t> strides = getStrides(), pads = getPads(),
                    outputPadding = getOutputPadding();
  SmallVector<int64_t> convPads(2 * spatial), crop(2 * rank, 0);
  bool cropped = false;
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t begin = pads[i], end = pads[spatial + i] - outputPadding[i];
    if (end < 0)
      end = std::min<int64_t>(0, end + strides[i] - 1);
    convPads[i] = std::max<int64_t>(begin, 0);
    convPads[spatial + i] = std::max<int64_t>(end, 0);
    crop[2 + i] = std::min<int64_t>(begin, 0);
    crop[rank + 2 + i] = std::min<int64_t>(end, 0);
    cropped |= begin < 0 || end < 0;
  }
  Value source = dy;
  if (cropped && (needed[0] || needed[1]))
    source = GradientBuilder(builder, *this).zeroPad(dy, crop);
  DenseI64ArrayAttr convPadsAttr = builder.getDenseI64ArrayAttr(convPads);
  if (needed[0])
    operandGrads[0] = builder.create<ConvOp>(
        getLoc(), x.getType(), source, w, /*bias=*/Value(), getStridesAttr(),
        convPadsAttr, getDilationsAttr(), getGroupAttr(),
        builder.getStringAttr("none"), builder.getF32FloatAttr(0.0f),
        builder.getF32FloatAttr(0.0f));
  if (needed[1])
    operandGrads[1] = builder.create<ConvFilterGradOp>(
        getLoc(), w.getType(), source, x,
        builder.getDenseI64ArrayAttr(shapeOf(w).drop_front(2)),
        getStridesAttr(), convPadsAttr, getDilationsAttr(), getGroupAttr());
  if (Value bias = getBias(); bias && needed[2]) {
    GradientBuilder g(builder, *this);
    operandGrads[2] = g.sumAllBut(dy, 1);
  }
  return success();
}

LogicalResult MaxPoolOp::buildGradients(OpBuilder &builder,
                                        ArrayRef<Value> resultGrads,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &operandGrads) {
  // Each window's gradient goes to its first maximum, which max_pool_grad
  // finds again in the input.
  operandGrads.assign(1, Value());
  if (needed[0])
    operandGrads[0] = builder.create<MaxPoolGradOp>(
        getLoc(), getInput().getType(), getInput(), onlyGrad(resultGrads),
        getKernelAttr(), getStridesAttr(), getPadsAttr(), getDilationsAttr(),
        getCeilModeAttr());
  return success();
}

LogicalResult AvgPoolOp::buildGradients(OpBuilder &builder,
                                        ArrayRef<Value> resultGrads,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, Value());
  if (needed[0])
    operandGrads[0] = builder.create<AvgPoolGradOp>(
        getLoc(), getInput().getType(), onlyGrad(resultGrads),
        builder.getDenseI64ArrayAttr(shapeOf(getInput()).drop_front(2)),
        getKernelAttr(), getStridesAttr(), getPadsAttr(),
        getCountIncludePadAttr(), getCeilModeAttr());
  return success();
}

//===----------------------------------------------------------------------===//
// Normalisation and softmax
//===----------------------------------------------------------------------===//

LogicalResult
LayerNormOp::buildGradients(OpBuilder &builder, ArrayRef<Value> resultGrads,
                            ArrayRef<bool> needed,
                            SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(getNumOperands(), Value());
  GradientBuilder g(builder, *this);
  Value x = getInput(), scale = getScale(), dy = onlyGrad(resultGrads);
  if (needed[0])
    operandGrads[0] = builder.create<LayerNormGradOp>(
        g.loc, x, scale, dy, getAxisAttr(), getEpsilonAttr());
  if (needed[1]) {
    // d scale = sum over rows of dy * xhat; xhat is recomputed with a unit
    // scale rather than kept from the forward pass.
    int64_t rank = shapeOf(x).size();
    int64_t axis = getAxis() < 0 ? getAxis() + rank : getAxis();
    SmallVector<int64_t> normalized(shapeOf(x).drop_front(axis));
    auto type = RankedTensorType::get(normalized, builder.getF32Type());
    Value ones = builder.create<ConstantOp>(g.loc, type,
                                            DenseElementsAttr::get(type, 1.0f));
    Value xhat = builder.create<LayerNormOp>(g.loc, x, ones, Value(),
                                             getAxisAttr(), getEpsilonAttr());
    operandGrads[1] = g.sumToShape(g.mul(dy, xhat), shapeOf(scale));
  }
  if (Value bias = getBias(); bias && needed[2])
    operandGrads[2] = g.sumToShape(dy, shapeOf(bias));
  return success();
}

LogicalResult
BatchNormOp::buildGradients(OpBuilder &builder, ArrayRef<Value> resultGrads,
                            ArrayRef<bool> needed,
                            SmallVectorImpl<Value> &operandGrads) {
  // y = (x - mean) * scale / sqrt(var + eps) + bias per channel (dim 1),
  // with the given statistics (inference form). The statistics are not
  // trained by gradient, so they get none.
  operandGrads.assign(5, Value());
  GradientBuilder g(builder, *this);
  Value x = getInput(), dy = onlyGrad(resultGrads);
  int64_t rank = shapeOf(x).size();
  int64_t channels = shapeOf(x)[1];
  SmallVector<int64_t> perChannel(rank, 1);
  perChannel[1] = channels;
  Value invStd = builder.create<ReciprocalOp>(
      g.loc, builder.create<SqrtOp>(
                 g.loc, g.add(getVariance(),
                              g.scalar(getEpsilon().convertToDouble()))));
  Value invStdB = g.reshape(invStd, perChannel);
  if (needed[0])
    operandGrads[0] =
        g.mul(dy, g.reshape(g.mul(getScale(), invStd), perChannel));
  if (needed[1]) {
    Value xhat = g.mul(g.sub(x, g.reshape(getMean(), perChannel)), invStdB);
    operandGrads[1] =
        g.reshape(g.sumAllBut(g.mul(dy, xhat), 1), shapeOf(getScale()));
  }
  if (needed[2])
    operandGrads[2] = g.reshape(g.sumAllBut(dy, 1), shapeOf(getBias()));
  return success();
}

static LogicalResult softmaxRule(Operation *op, int64_t axis, bool log,
                                 OpBuilder &builder,
                                 ArrayRef<Value> resultGrads,
                                 ArrayRef<bool> needed,
                                 SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, Value());
  if (needed[0])
    operandGrads[0] = builder.create<SoftmaxGradOp>(
        op->getLoc(), op->getResult(0), onlyGrad(resultGrads),
        builder.getI64IntegerAttr(axis), builder.getBoolAttr(log));
  return success();
}

LogicalResult SoftmaxOp::buildGradients(OpBuilder &builder,
                                        ArrayRef<Value> resultGrads,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &operandGrads) {
  return softmaxRule(*this, getAxis(), false, builder, resultGrads, needed,
                     operandGrads);
}

LogicalResult
LogSoftmaxOp::buildGradients(OpBuilder &builder, ArrayRef<Value> resultGrads,
                             ArrayRef<bool> needed,
                             SmallVectorImpl<Value> &operandGrads) {
  return softmaxRule(*this, getAxis(), true, builder, resultGrads, needed,
                     operandGrads);
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

/// dy at the input's rank: reduced dims as size 1, then broadcast.
static Value expandReduced(GradientBuilder &g, Value dy, Value input,
                           ArrayRef<int64_t> axes) {
  SmallVector<int64_t> kept(shapeOf(input));
  for (int64_t axis : axes)
    kept[axis] = 1;
  return g.broadcastTo(g.reshape(dy, kept), shapeOf(input));
}

LogicalResult
ReduceSumOp::buildGradients(OpBuilder &builder, ArrayRef<Value> resultGrads,
                            ArrayRef<bool> needed,
                            SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, Value());
  if (!needed[0] || !isFloat(getInput()))
    return success();
  GradientBuilder g(builder, *this);
  operandGrads[0] =
      expandReduced(g, onlyGrad(resultGrads), getInput(), getAxes());
  return success();
}

LogicalResult
ReduceMeanOp::buildGradients(OpBuilder &builder, ArrayRef<Value> resultGrads,
                             ArrayRef<bool> needed,
                             SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, Value());
  if (!needed[0] || !isFloat(getInput()))
    return success();
  GradientBuilder g(builder, *this);
  int64_t count = 1;
  for (int64_t axis : getAxes())
    count *= shapeOf(getInput())[axis];
  Value scaled = g.mul(onlyGrad(resultGrads), g.scalar(1.0 / count));
  operandGrads[0] = expandReduced(g, scaled, getInput(), getAxes());
  return success();
}

LogicalResult
ReduceMaxOp::buildGradients(OpBuilder &builder, ArrayRef<Value> resultGrads,
                            ArrayRef<bool> needed,
                            SmallVectorImpl<Value> &operandGrads) {
  // Elements equal to the maximum share its gradient evenly (as
  // torch.amax does), so ties do not multiply it.
  operandGrads.assign(1, Value());
  if (!needed[0] || !isFloat(getInput()))
    return success();
  GradientBuilder g(builder, *this);
  Value x = getInput();
  Value mask =
      g.toFloat(g.equal(x, expandReduced(g, getOutput(), x, getAxes())));
  Value ties = g.reduceSum(mask, getAxes(), getKeepdims());
  Value share = g.div(onlyGrad(resultGrads), ties);
  operandGrads[0] = g.mul(mask, expandReduced(g, share, x, getAxes()));
  return success();
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::buildGradients(OpBuilder &builder,
                                        ArrayRef<Value> resultGrads,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, Value());
  if (needed[0] && isFloat(getInput())) {
    GradientBuilder g(builder, *this);
    operandGrads[0] = g.reshape(onlyGrad(resultGrads), shapeOf(getInput()));
  }
  return success();
}

LogicalResult
TransposeOp::buildGradients(OpBuilder &builder, ArrayRef<Value> resultGrads,
                            ArrayRef<bool> needed,
                            SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, Value());
  if (!needed[0] || !isFloat(getInput()))
    return success();
  ArrayRef<int64_t> perm = getPerm();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = i;
  GradientBuilder g(builder, *this);
  operandGrads[0] = g.transpose(onlyGrad(resultGrads), inverse);
  return success();
}

LogicalResult ConcatOp::buildGradients(OpBuilder &builder,
                                       ArrayRef<Value> resultGrads,
                                       ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(getNumOperands(), Value());
  if (!isFloat(getOutput()))
    return success();
  Value dy = onlyGrad(resultGrads);
  int64_t rank = shapeOf(dy).size();
  int64_t axis = getAxis() < 0 ? getAxis() + rank : getAxis();
  int64_t offset = 0;
  for (auto [i, input] : llvm::enumerate(getInputs())) {
    ArrayRef<int64_t> shape = shapeOf(input);
    if (needed[i]) {
      SmallVector<int64_t> starts(rank, 0), steps(rank, 1);
      starts[axis] = offset;
      operandGrads[i] =
          builder.create<SliceOp>(getLoc(), dy, starts, shape, steps);
    }
    offset += shape[axis];
  }
  return success();
}

LogicalResult SplitOp::buildGradients(OpBuilder &builder,
                                      ArrayRef<Value> resultGrads,
                                      ArrayRef<bool> needed,
                                      SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, Value());
  if (!needed[0] || !isFloat(getInput()))
    return success();
  GradientBuilder g(builder, *this);
  SmallVector<Value> pieces;
  for (auto [result, grad] : llvm::zip(getOutputs(), resultGrads))
    pieces.push_back(grad ? grad : g.zerosLike(result));
  operandGrads[0] =
      pieces.size() == 1
          ? pieces.front()
          : builder.create<ConcatOp>(getLoc(), pieces, getAxis()).getResult();
  return success();
}

LogicalResult SliceOp::buildGradients(OpBuilder &builder,
                                      ArrayRef<Value> resultGrads,
                                      ArrayRef<bool> needed,
                                      SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, Value());
  if (!needed[0] || !isFloat(getInput()))
    return success();
  GradientBuilder g(builder, *this);
  ArrayRef<int64_t> inShape = shapeOf(getInput());
  int64_t rank = inShape.size();
  auto padDim = [&](Value v, int64_t d, int64_t begin, int64_t end) {
    SmallVector<int64_t> pads(2 * shapeOf(v).size(), 0);
    pads[d] = begin;
    pads[shapeOf(v).size() + d] = end;
    return g.zeroPad(v, pads);
  };
  // Strided dims first, one at a time: the gradient of taking every a-th
  // element is the gradient spread out with a - 1 zeros between elements
  // (an extra axis padded with zeros and folded back), then placed at the
  // first element taken; a negative step reverses the order first.
  Value grad = onlyGrad(resultGrads);
  SmallVector<int64_t> unitBegin(rank, 0), unitEnd(rank, 0);
  for (int64_t d = 0; d < rank; ++d) {
    int64_t step = getSteps()[d], size = getSizes()[d], start = getStarts()[d];
    if (step == 1) {
      unitBegin[d] = start;
      unitEnd[d] = inShape[d] - start - size;
      continue;
    }
    if (size == 0)
      return emitOpError("has no gradient rule for an empty strided slice");
    SmallVector<int64_t> shape(shapeOf(grad));
    if (step < 0) {
      SmallVector<int64_t> starts(rank, 0), steps(rank, 1);
      starts[d] = size - 1;
      steps[d] = -1;
      grad = builder.create<SliceOp>(getLoc(), grad, starts, shape, steps);
    }
    int64_t stride = step < 0 ? -step : step;
    int64_t first = step < 0 ? start + (size - 1) * step : start;
    SmallVector<int64_t> withAxis(shape.begin(), shape.begin() + d + 1);
    withAxis.push_back(1);
    withAxis.append(shape.begin() + d + 1, shape.end());
    Value spread = padDim(g.reshape(grad, withAxis), d + 1, 0, stride - 1);
    shape[d] = size * stride;
    grad = padDim(g.reshape(spread, shape), d, first,
                  inShape[d] - first - size * stride);
  }
  if (llvm::any_of(unitBegin, [](int64_t p) { return p != 0; }) ||
      llvm::any_of(unitEnd, [](int64_t p) { return p != 0; })) {
    SmallVector<int64_t> pads(unitBegin);
    pads.append(unitEnd);
    grad = g.zeroPad(grad, pads);
  }
  operandGrads[0] = grad;
  return success();
}

LogicalResult PadOp::buildGradients(OpBuilder &builder,
                                    ArrayRef<Value> resultGrads,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, Value());
  if (!needed[0] || !isFloat(getInput()))
    return success();
  if (getMode() != "constant")
    return emitOpError("has no gradient rule for mode \"") << getMode() << "\"";
  // Padding by the negated pads crops what was added and zero-fills what
  // was cropped.
  SmallVector<int64_t> pads = llvm::to_vector(
      llvm::map_range(getPads(), [](int64_t pad) { return -pad; }));
  operandGrads[0] =
      GradientBuilder(builder, *this).zeroPad(onlyGrad(resultGrads), pads);
  return success();
}

LogicalResult ResizeOp::buildGradients(OpBuilder &builder,
                                       ArrayRef<Value> resultGrads,
                                       ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, Value());
  if (needed[0])
    operandGrads[0] = builder.create<ResizeGradOp>(
        getLoc(), getInput().getType(), onlyGrad(resultGrads),
        builder.getDenseI64ArrayAttr(shapeOf(getInput())), getScalesAttr(),
        getModeAttr(), getCoordinateTransformationModeAttr(),
        getNearestModeAttr());
  return success();
}

LogicalResult GatherOp::buildGradients(OpBuilder &builder,
                                       ArrayRef<Value> resultGrads,
                                       ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(2, Value());
  if (!needed[0] || !isFloat(getData()))
    return success();
  operandGrads[0] = builder.create<GatherGradOp>(
      getLoc(), getIndices(), onlyGrad(resultGrads), getAxisAttr(),
      builder.getI64IntegerAttr(shapeOf(getData())[getAxis()]));
  return success();
}

LogicalResult
BroadcastToOp::buildGradients(OpBuilder &builder, ArrayRef<Value> resultGrads,
                              ArrayRef<bool> needed,
                              SmallVectorImpl<Value> &operandGrads) {
  operandGrads.assign(1, Value());
  if (!needed[0] || !isFloat(getInput()))
    return success();
  GradientBuilder g(builder, *this);
  operandGrads[0] = g.sumToShape(onlyGrad(resultGrads), shapeOf(getInput()));
  return success();
}
