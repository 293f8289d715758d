//===- ConvertNN.cpp
//--------------------------------------------------------===//
//
// Converters for the neural-network operators: convolutions, pooling,
// reductions, softmax, matrix products and normalisations.
//
//===----------------------------------------------------------------------===//

#include "Import/ImportContext.h"

#include <cmath>

namespace ss {
namespace importer {

/// Pads for `auto_pad` SAME_UPPER/SAME_LOWER/VALID, or the explicit `pads`.
FailureOr<SmallVector<int64_t>> resolvePads(Importer &imp, NodeContext &n,
                                            ArrayRef<int64_t> inSpatial,
                                            ArrayRef<int64_t> kernel,
                                            ArrayRef<int64_t> strides,
                                            ArrayRef<int64_t> dilations) {
  size_t rank = inSpatial.size();
  std::string autoPad = n.getString("auto_pad", "NOTSET");
  SmallVector<int64_t> pads(2 * rank, 0);
  if (autoPad == "NOTSET") {
    if (auto p = n.getInts("pads")) {
      if (p->size() != 2 * rank)
        return imp.invalid(n.loc, n.opType() + " pads has " + Twine(p->size()) +
                                      " entries, expected " + Twine(2 * rank));
      pads = *p;
    }
    return pads;
  }
  if (autoPad == "VALID")
    return pads;
  if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER")
    return imp.invalid(n.loc, n.opType() + " auto_pad '" + autoPad +
                                  "' is not a valid value");
  for (size_t d = 0; d < rank; ++d) {
    int64_t out = (inSpatial[d] + strides[d] - 1) / strides[d];
    int64_t span = (kernel[d] - 1) * dilations[d] + 1;
    int64_t total =
        std::max<int64_t>(0, (out - 1) * strides[d] + span - inSpatial[d]);
    int64_t small = total / 2, large = total - total / 2;
    pads[d] = autoPad == "SAME_UPPER" ? small : large;
    pads[d + rank] = autoPad == "SAME_UPPER" ? large : small;
  }
  return pads;
}

FailureOr<WindowAttrs> windowAttrs(Importer &imp, NodeContext &n, Value x,
                                   std::optional<ArrayRef<int64_t>> kernel,
                                   bool padsFromAuto) {
  auto shape = shapeOf(x);
  if (shape.size() < 3)
    return imp.invalid(n.loc, n.opType() + " input must have rank >= 3, got " +
                                  Twine(shape.size()));
  size_t rank = shape.size() - 2;
  WindowAttrs w;
  if (kernel)
    w.kernel.assign(kernel->begin(), kernel->end());
  else if (auto k = n.getInts("kernel_shape"))
    w.kernel = *k;
  else
    return imp.invalid(n.loc, n.opType() + " needs kernel_shape");
  w.strides = n.getInts("strides").value_or(SmallVector<int64_t>(rank, 1));
  w.dilations = n.getInts("dilations").value_or(SmallVector<int64_t>(rank, 1));
  if (w.kernel.size() != rank || w.strides.size() != rank ||
      w.dilations.size() != rank)
    return imp.invalid(n.loc, n.opType() + " kernel/strides/dilations need " +
                                  Twine(rank) + " entries for input " +
                                  shapeStr(shape));
  for (size_t d = 0; d < rank; ++d)
    if (w.strides[d] <= 0 || w.dilations[d] <= 0 || w.kernel[d] <= 0)
      return imp.invalid(n.loc, n.opType() +
                                    " kernel, strides and dilations must be "
                                    "positive");
  if (padsFromAuto) {
    auto pads = resolvePads(imp, n, shape.drop_front(2), w.kernel, w.strides,
                            w.dilations);
    if (failed(pads))
      return failure();
    w.pads = *pads;
  }
  return w;
}

LogicalResult convertConv(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  Value x = n.input(0), w = n.input(1);
  auto wShape = shapeOf(w);
  if (wShape.size() < 3)
    return imp.invalid(n.loc, "Conv weight must have rank >= 3");
  auto attrs = windowAttrs(imp, n, x, wShape.drop_front(2));
  if (failed(attrs))
    return failure();
  auto &b = imp.b();
  auto v = imp.create1<ConvOp>(
      n.loc, x, w, n.input(2), b.getDenseI64ArrayAttr(attrs->strides),
      b.getDenseI64ArrayAttr(attrs->pads),
      b.getDenseI64ArrayAttr(attrs->dilations),
      b.getI64IntegerAttr(n.getInt("group", 1)), b.getStringAttr("none"),
      b.getF32FloatAttr(0.0f), b.getF32FloatAttr(0.0f));
  return pushResult(r, v);
}

LogicalResult convertConvTranspose(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  Value x = n.input(0), w = n.input(1);
  auto wShape = shapeOf(w);
  auto xShape = shapeOf(x);
  if (wShape.size() < 3 || xShape.size() != wShape.size())
    return imp.invalid(n.loc, "ConvTranspose input and weight ranks differ or "
                              "are below 3");
  auto attrs = windowAttrs(imp, n, x, wShape.drop_front(2),
                           /*padsFromAuto=*/false);
  if (failed(attrs))
    return failure();
  size_t rank = xShape.size() - 2;
  SmallVector<int64_t> outPad =
      n.getInts("output_padding").value_or(SmallVector<int64_t>(rank, 0));
  if (outPad.size() != rank)
    return imp.invalid(n.loc, "ConvTranspose output_padding needs " +
                                  Twine(rank) + " entries");
  std::string autoPad = n.getString("auto_pad", "NOTSET");
  SmallVector<int64_t> pads(2 * rank, 0);
  auto outputShape = n.getInts("output_shape");
  if (outputShape || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    SmallVector<int64_t> target(rank);
    for (size_t d = 0; d < rank; ++d) {
      if (outputShape) {
        // output_shape may list all dims or only spatial ones.
        size_t off = outputShape->size() == rank + 2 ? 2 : 0;
        if (outputShape->size() != rank && outputShape->size() != rank + 2)
          return imp.invalid(n.loc, "ConvTranspose output_shape has " +
                                        Twine(outputShape->size()) +
                                        " entries");
        target[d] = (*outputShape)[d + off];
      } else {
        target[d] = xShape[d + 2] * attrs->strides[d];
      }
      int64_t full = attrs->strides[d] * (xShape[d + 2] - 1) + outPad[d] +
                     (wShape[d + 2] - 1) * attrs->dilations[d] + 1;
      // A negative total (output_shape beyond the full output) pads the
      // result; halves round toward -inf as in the ONNX reference.
      int64_t total = full - target[d];
      int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
      if (autoPad == "SAME_UPPER") {
        pads[d] = half;
        pads[d + rank] = total - half;
      } else {
        pads[d] = total - half;
        pads[d + rank] = half;
      }
    }
  } else if (autoPad == "NOTSET" || autoPad == "VALID") {
    if (auto p = n.getInts("pads"); p && autoPad == "NOTSET") {
      if (p->size() != 2 * rank)
        return imp.invalid(n.loc, "ConvTranspose pads needs " +
                                      Twine(2 * rank) + " entries");
      pads = *p;
    }
  } else {
    return imp.invalid(n.loc,
                       "ConvTranspose auto_pad '" + autoPad + "' is not valid");
  }
  auto &b = imp.b();
  auto v = imp.create1<ConvTransposeOp>(
      n.loc, x, w, n.input(2), b.getDenseI64ArrayAttr(attrs->strides),
      b.getDenseI64ArrayAttr(pads), b.getDenseI64ArrayAttr(attrs->dilations),
      b.getDenseI64ArrayAttr(outPad),
      b.getI64IntegerAttr(n.getInt("group", 1)));
  return pushResult(r, v);
}

LogicalResult convertPool(NodeContext &n, Results &r, bool isMax) {
  Importer &imp = n.importer;
  Value x = n.input(0);
  if (failed(requireF32(n, x)))
    return failure();
  auto attrs = windowAttrs(imp, n, x, std::nullopt);
  if (failed(attrs))
    return failure();
  auto &b = imp.b();
  bool ceil = n.getInt("ceil_mode", 0) != 0;
  FailureOr<Value> v;
  if (isMax) {
    if (n.getInt("storage_order", 0) != 0 && n.numOutputs() > 1)
      return imp.unsupported(n.loc, "MaxPool storage_order 1");
    v = imp.create1<MaxPoolOp>(n.loc, x, b.getDenseI64ArrayAttr(attrs->kernel),
                               b.getDenseI64ArrayAttr(attrs->strides),
                               b.getDenseI64ArrayAttr(attrs->pads),
                               b.getDenseI64ArrayAttr(attrs->dilations),
                               b.getBoolAttr(ceil));
  } else {
    if (llvm::any_of(attrs->dilations, [](int64_t d) { return d != 1; }))
      return imp.unsupported(n.loc, "AveragePool with dilations");
    v = imp.create1<AvgPoolOp>(
        n.loc, x, b.getDenseI64ArrayAttr(attrs->kernel),
        b.getDenseI64ArrayAttr(attrs->strides),
        b.getDenseI64ArrayAttr(attrs->pads),
        b.getBoolAttr(n.getInt("count_include_pad", 0) != 0),
        b.getBoolAttr(ceil));
  }
  return pushResult(r, v);
}

/// Evaluates a reduction of the constant `in` over sorted, unique `axes`:
/// 's' sum, 'm' mean, '>' max, '<' min, '*' product. Integers reduce in
/// int64 (a mean truncates), floats in double rounded once to float32.
DenseElementsAttr evalReduce(DenseElementsAttr in, ArrayRef<int64_t> axes,
                             bool keepdims, char kind) {
  auto inType = cast<RankedTensorType>(in.getType());
  auto shape = inType.getShape();
  int64_t rank = shape.size();
  SmallVector<bool> reduced(rank, false);
  for (int64_t a : axes)
    reduced[a] = true;
  SmallVector<int64_t> outShape, keptShape;
  int64_t count = 1;
  for (int64_t d = 0; d < rank; ++d) {
    keptShape.push_back(reduced[d] ? 1 : shape[d]);
    if (reduced[d])
      count *= shape[d];
    if (!reduced[d] || keepdims)
      outShape.push_back(reduced[d] ? 1 : shape[d]);
  }
  int64_t outSize = numElements(keptShape);
  Type et = inType.getElementType();
  bool isFloat = isa<FloatType>(et);
  SmallVector<double> fin;
  SmallVector<int64_t> iin;
  if (isFloat)
    for (const APFloat &v : in.getValues<APFloat>())
      fin.push_back(v.convertToDouble());
  else
    for (const APInt &v : in.getValues<APInt>())
      iin.push_back(et.isInteger(1) ? (int64_t)v.getZExtValue()
                                    : v.getSExtValue());
  SmallVector<double> facc(outSize);
  SmallVector<int64_t> iacc(outSize);
  SmallVector<bool> seen(outSize, false);
  SmallVector<int64_t> pos(rank, 0);
  for (int64_t i = 0, total = numElements(shape); i < total; ++i) {
    int64_t o = 0;
    for (int64_t d = 0; d < rank; ++d)
      o = o * keptShape[d] + (reduced[d] ? 0 : pos[d]);
    double fv = isFloat ? fin[i] : 0;
    int64_t iv = isFloat ? 0 : iin[i];
    if (!seen[o]) {
      facc[o] = fv;
      iacc[o] = iv;
      seen[o] = true;
    } else if (kind == 's' || kind == 'm') {
      facc[o] += fv;
      iacc[o] += iv;
    } else if (kind == '*') {
      facc[o] *= fv;
      iacc[o] *= iv;
    } else if (kind == '>') {
      facc[o] = std::max(facc[o], fv);
      iacc[o] = std::max(iacc[o], iv);
    } else {
      facc[o] = std::min(facc[o], fv);
      iacc[o] = std::min(iacc[o], iv);
    }
    for (int64_t d = rank - 1; d >= 0 && ++pos[d] == shape[d]; --d)
      pos[d] = 0;
  }
  if (count == 0) // reducing an empty axis gives the identity element
    for (int64_t o = 0; o < outSize; ++o) {
      facc[o] = kind == '*'   ? 1
                : kind == '>' ? -INFINITY
                : kind == '<' ? INFINITY
                              : 0;
      iacc[o] = kind == '*'   ? 1
                : kind == '>' ? INT64_MIN
                : kind == '<' ? INT64_MAX
                              : 0;
    }
  if (kind == 'm' && count > 0)
    for (int64_t o = 0; o < outSize; ++o) {
      facc[o] /= count;
      iacc[o] /= count;
    }
  auto outType = RankedTensorType::get(outShape, et);
  if (isFloat) {
    SmallVector<float> out(facc.begin(), facc.end());
    return DenseElementsAttr::get(outType, ArrayRef(out));
  }
  SmallVector<APInt> out;
  for (int64_t v : iacc)
    out.push_back(APInt(et.getIntOrFloatBitWidth(), v, /*isSigned=*/true));
  return DenseElementsAttr::get(outType, out);
}

/// Reduce* ops: axes from the attribute (older opsets) or the second input.
/// `kind` as in evalReduce. Float32 tensors reduce at run time (ReduceMin
/// as -ReduceMax(-x), which is exact); other element types and ReduceProd
/// are evaluated at compile time, on constants.
ConvertFn reduce(char kind, int64_t axesInputSince) {
  return [kind, axesInputSince](NodeContext &n, Results &r) -> LogicalResult {
    Importer &imp = n.importer;
    Value x = n.input(0);
    int64_t rank = shapeOf(x).size();
    SmallVector<int64_t> axes;
    if (imp.opset >= axesInputSince) {
      if (n.input(1)) {
        auto a = imp.constInts(n, n.input(1), "axes");
        if (failed(a))
          return failure();
        axes = *a;
      }
    } else if (auto a = n.getInts("axes")) {
      axes = *a;
    }
    if (axes.empty()) {
      if (n.getInt("noop_with_empty_axes", 0)) {
        r.push_back(x);
        return success();
      }
      for (int64_t d = 0; d < rank; ++d)
        axes.push_back(d);
    }
    for (int64_t &a : axes) {
      auto na = imp.axis(n, a, rank);
      if (failed(na))
        return failure();
      a = *na;
    }
    llvm::sort(axes);
    axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
    bool keepdims = n.getInt("keepdims", 1) != 0;
    bool isF32 = tensorTypeOf(x).getElementType().isF32();
    if (!isF32 || kind == '*') {
      auto attr = Importer::constantValue(x);
      if (!attr) {
        std::string type;
        llvm::raw_string_ostream os(type);
        tensorTypeOf(x).getElementType().print(os);
        return imp.notConstant(n, x, "data",
                               n.opType() + " of " + os.str() +
                                   " tensors is only evaluated at compile "
                                   "time");
      }
      r.push_back(imp.constant(n.loc, evalReduce(attr, axes, keepdims, kind)));
      return success();
    }
    auto &b = imp.b();
    auto axesAttr = b.getDenseI64ArrayAttr(axes);
    auto keepAttr = b.getBoolAttr(keepdims);
    FailureOr<Value> v;
    if (kind == 's')
      v = imp.create1<ReduceSumOp>(n.loc, x, axesAttr, keepAttr);
    else if (kind == 'm')
      v = imp.create1<ReduceMeanOp>(n.loc, x, axesAttr, keepAttr);
    else if (kind == '>')
      v = imp.create1<ReduceMaxOp>(n.loc, x, axesAttr, keepAttr);
    else {
      auto neg = imp.create1<NegOp>(n.loc, x);
      if (failed(neg))
        return failure();
      auto max = imp.create1<ReduceMaxOp>(n.loc, *neg, axesAttr, keepAttr);
      if (failed(max))
        return failure();
      v = imp.create1<NegOp>(n.loc, *max);
    }
    return pushResult(r, v);
  };
}

LogicalResult convertMatMul(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  Value a = n.input(0), bv = n.input(1);
  if (failed(requireF32(n, a)) || failed(requireF32(n, bv)))
    return failure();
  auto as = shapeOf(a), bs = shapeOf(bv);
  if (as.empty() || bs.empty())
    return imp.invalid(n.loc, "MatMul operands must have rank >= 1");
  // ONNX follows numpy: 1-D operands get a unit dim that is dropped after.
  bool vecA = as.size() == 1, vecB = bs.size() == 1;
  if (vecA) {
    auto v = imp.reshape(n.loc, a, {1, as[0]});
    if (failed(v))
      return failure();
    a = *v;
  }
  if (vecB) {
    auto v = imp.reshape(n.loc, bv, {bs[0], 1});
    if (failed(v))
      return failure();
    bv = *v;
  }
  auto v = imp.create1<MatMulOp>(n.loc, a, bv);
  if (failed(v))
    return failure();
  Value out = *v;
  if (vecA || vecB) {
    SmallVector<int64_t> shape(shapeOf(out));
    if (vecB)
      shape.pop_back();
    if (vecA)
      shape.erase(shape.end() - (vecB ? 1 : 2));
    auto rs = imp.reshape(n.loc, out, shape);
    if (failed(rs))
      return failure();
    out = *rs;
  }
  r.push_back(out);
  return success();
}

LogicalResult convertGemm(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  if (failed(requireF32(n, n.input(0))) || failed(requireF32(n, n.input(1))))
    return failure();
  auto &b = imp.b();
  auto v = imp.create1<GemmOp>(n.loc, n.input(0), n.input(1), n.input(2),
                               b.getBoolAttr(n.getInt("transA", 0)),
                               b.getBoolAttr(n.getInt("transB", 0)),
                               b.getF32FloatAttr(n.getFloat("alpha", 1.0f)),
                               b.getF32FloatAttr(n.getFloat("beta", 1.0f)));
  return pushResult(r, v);
}

LogicalResult convertBatchNorm(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  if (n.getInt("training_mode", 0) != 0)
    return imp.unsupported(n.loc, "BatchNormalization in training mode");
  auto v = imp.create1<BatchNormOp>(
      n.loc, n.input(0), n.input(1), n.input(2), n.input(3), n.input(4),
      imp.b().getF32FloatAttr(n.getFloat("epsilon", 1e-5f)));
  return pushResult(r, v);
}

LogicalResult convertLayerNorm(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  int64_t rank = shapeOf(n.input(0)).size();
  auto a = imp.axis(n, n.getInt("axis", -1), rank);
  if (failed(a))
    return failure();
  if (n.getInt("stash_type", 1) != 1)
    return imp.unsupported(n.loc, "LayerNormalization stash_type other than "
                                  "float");
  float epsilon = n.getFloat("epsilon", 1e-5f);
  auto v = imp.create1<LayerNormOp>(n.loc, n.input(0), n.input(1), n.input(2),
                                    imp.b().getI64IntegerAttr(*a),
                                    imp.b().getF32FloatAttr(epsilon));
  if (failed(v))
    return failure();
  r.push_back(*v);
  bool wantsStats = false;
  for (int i = 1; i < n.node.output_size(); ++i)
    wantsStats |= !n.node.output(i).empty() && imp.isConsumed(n.node.output(i));
  if (!wantsStats)
    return success();
  // The optional Mean and InvStdDev outputs (kept dims) are recomputed from
  // reductions; models rarely read them outside training.
  auto &b = imp.b();
  Value x = n.input(0);
  SmallVector<int64_t> axes;
  for (int64_t d = *a; d < rank; ++d)
    axes.push_back(d);
  auto mean = imp.create1<ReduceMeanOp>(n.loc, x, b.getDenseI64ArrayAttr(axes),
                                        b.getBoolAttr(true));
  if (failed(mean))
    return failure();
  auto centered = imp.create1<SubOp>(n.loc, x, *mean);
  if (failed(centered))
    return failure();
  auto squared = imp.create1<MulOp>(n.loc, *centered, *centered);
  if (failed(squared))
    return failure();
  auto var = imp.create1<ReduceMeanOp>(
      n.loc, *squared, b.getDenseI64ArrayAttr(axes), b.getBoolAttr(true));
  if (failed(var))
    return failure();
  Value eps = imp.constant(
      n.loc, DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()),
                                    epsilon));
  auto shifted = imp.create1<AddOp>(n.loc, *var, eps);
  if (failed(shifted))
    return failure();
  auto stddev = imp.create1<SqrtOp>(n.loc, *shifted);
  if (failed(stddev))
    return failure();
  auto inv = imp.create1<ReciprocalOp>(n.loc, *stddev);
  if (failed(inv))
    return failure();
  r.push_back(*mean);
  r.push_back(*inv);
  return success();
}

LogicalResult convertGlobalPool(NodeContext &n, Results &r, bool isMax) {
  Importer &imp = n.importer;
  int64_t rank = shapeOf(n.input(0)).size();
  if (rank < 3)
    return imp.invalid(n.loc, n.opType() + " input must have rank >= 3");
  SmallVector<int64_t> axes;
  for (int64_t d = 2; d < rank; ++d)
    axes.push_back(d);
  auto &b = imp.b();
  FailureOr<Value> v =
      isMax ? imp.create1<ReduceMaxOp>(n.loc, n.input(0),
                                       b.getDenseI64ArrayAttr(axes),
                                       b.getBoolAttr(true))
            : imp.create1<ReduceMeanOp>(n.loc, n.input(0),
                                        b.getDenseI64ArrayAttr(axes),
                                        b.getBoolAttr(true));
  return pushResult(r, v);
}

/// RMSNormalization (opset 23) as the exporters wrote it before: x times
/// 1 / sqrt(mean(x^2 over axis..last) + epsilon), times scale.
LogicalResult convertRMSNorm(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  Value x = n.input(0);
  int64_t rank = shapeOf(x).size();
  auto a = imp.axis(n, n.getInt("axis", -1), rank);
  if (failed(a))
    return failure();
  if (n.getInt("stash_type", 1) != 1)
    return imp.unsupported(n.loc, "RMSNormalization stash_type other than "
                                  "float");
  auto &b = imp.b();
  SmallVector<int64_t> axes;
  for (int64_t d = *a; d < rank; ++d)
    axes.push_back(d);
  auto sq = imp.create1<MulOp>(n.loc, x, x);
  if (failed(sq))
    return failure();
  auto mean = imp.create1<ReduceMeanOp>(
      n.loc, *sq, b.getDenseI64ArrayAttr(axes), b.getBoolAttr(true));
  if (failed(mean))
    return failure();
  auto shifted = imp.create1<AddOp>(
      n.loc, *mean, imp.scalarLike(n.loc, x, n.getFloat("epsilon", 1e-5f)));
  if (failed(shifted))
    return failure();
  auto rms = imp.create1<SqrtOp>(n.loc, *shifted);
  if (failed(rms))
    return failure();
  auto inv = imp.create1<ReciprocalOp>(n.loc, *rms);
  if (failed(inv))
    return failure();
  auto normed = imp.create1<MulOp>(n.loc, x, *inv);
  if (failed(normed))
    return failure();
  auto v = imp.create1<MulOp>(n.loc, *normed, n.input(1));
  return pushResult(r, v);
}

/// RotaryEmbedding (opset 23) composed as in its ONNX function: on x as
/// [batch, seq, heads, head], the first rotary_dim features split into
/// halves (or even/odd pairs when interleaved) x1, x2 become
/// (cos x1 - sin x2, sin x1 + cos x2); the rest pass through. Caches are
/// gathered at position_ids when given. Torch writes it for LLaMA at 23.
LogicalResult convertRotaryEmbedding(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  Value x = n.input(0), cosC = n.input(1), sinC = n.input(2);
  auto inShape = shapeOf(x);
  auto &b = imp.b();
  SmallVector<int64_t> swap{0, 2, 1, 3};
  if (inShape.size() == 4) {
    auto t = imp.create1<TransposeOp>(n.loc, x, b.getDenseI64ArrayAttr(swap));
    if (failed(t))
      return failure();
    x = *t;
  } else if (inShape.size() == 3) {
    int64_t heads = n.getInt("num_heads", 0);
    if (heads <= 0 || inShape[2] % heads != 0)
      return imp.invalid(n.loc, "RotaryEmbedding on a 3-D input needs "
                                "num_heads dividing its hidden size " +
                                    Twine(inShape[2]));
    auto rs = imp.reshape(n.loc, x,
                          {inShape[0], inShape[1], heads, inShape[2] / heads});
    if (failed(rs))
      return failure();
    x = *rs;
  } else {
    return imp.invalid(n.loc, "RotaryEmbedding input must have rank 3 or 4");
  }
  int64_t head = shapeOf(x)[3];
  int64_t dim = n.getInt("rotary_embedding_dim", 0);
  if (dim == 0)
    dim = head;
  if (dim < 0 || dim > head || dim % 2 != 0)
    return imp.invalid(n.loc, "RotaryEmbedding rotary_embedding_dim " +
                                  Twine(dim) + " does not fit head size " +
                                  Twine(head));
  int64_t half = dim / 2;
  for (Value *cache : {&cosC, &sinC}) {
    if (n.input(3)) {
      auto g = imp.create1<GatherOp>(n.loc, *cache, n.input(3),
                                     b.getI64IntegerAttr(0));
      if (failed(g))
        return failure();
      *cache = *g;
    }
    auto cs = shapeOf(*cache);
    if (cs.size() != 3 || cs.back() != half)
      return imp.invalid(n.loc, "RotaryEmbedding cache " + shapeStr(cs) +
                                    " should be [batch, seq, " + Twine(half) +
                                    "]");
    auto u = imp.reshape(n.loc, *cache, {cs[0], cs[1], 1, half});
    if (failed(u))
      return failure();
    *cache = *u;
  }
  bool interleaved = n.getInt("interleaved", 0) != 0;
  auto x1 = interleaved ? sliceAxis(n, x, 3, 0, half, 2)
                        : sliceAxis(n, x, 3, 0, half);
  auto x2 = interleaved ? sliceAxis(n, x, 3, 1, half, 2)
                        : sliceAxis(n, x, 3, half, half);
  if (failed(x1) || failed(x2))
    return failure();
  auto c1 = imp.create1<MulOp>(n.loc, cosC, *x1);
  auto s2 = imp.create1<MulOp>(n.loc, sinC, *x2);
  auto s1 = imp.create1<MulOp>(n.loc, sinC, *x1);
  auto c2 = imp.create1<MulOp>(n.loc, cosC, *x2);
  if (failed(c1) || failed(s2) || failed(s1) || failed(c2))
    return failure();
  auto real = imp.create1<SubOp>(n.loc, *c1, *s2);
  auto imag = imp.create1<AddOp>(n.loc, *s1, *c2);
  if (failed(real) || failed(imag))
    return failure();
  SmallVector<int64_t> pairShape(shapeOf(*real));
  FailureOr<Value> rotated;
  if (interleaved) {
    pairShape.push_back(1);
    auto re = imp.reshape(n.loc, *real, pairShape);
    auto im = imp.reshape(n.loc, *imag, pairShape);
    if (failed(re) || failed(im))
      return failure();
    auto pairs = imp.create1<ConcatOp>(n.loc, ValueRange{*re, *im},
                                       b.getI64IntegerAttr(4));
    if (failed(pairs))
      return failure();
    SmallVector<int64_t> flat(shapeOf(*real));
    flat.back() = dim;
    rotated = imp.reshape(n.loc, *pairs, flat);
  } else {
    rotated = imp.create1<ConcatOp>(n.loc, ValueRange{*real, *imag},
                                    b.getI64IntegerAttr(3));
  }
  if (failed(rotated))
    return failure();
  Value out = *rotated;
  if (dim < head) {
    auto rest = sliceAxis(n, x, 3, dim, head - dim);
    if (failed(rest))
      return failure();
    auto joined = imp.create1<ConcatOp>(n.loc, ValueRange{out, *rest},
                                        b.getI64IntegerAttr(3));
    if (failed(joined))
      return failure();
    out = *joined;
  }
  auto back =
      inShape.size() == 4
          ? imp.create1<TransposeOp>(n.loc, out, b.getDenseI64ArrayAttr(swap))
          : imp.reshape(n.loc, out, inShape);
  if (failed(back))
    return failure();
  r.push_back(*back);
  return success();
}

} // namespace importer
} // namespace ss
