//===- ConvertDataMovement.cpp
//----------------------------------------------===//
//
// Converters for shape and data-movement operators: reshapes, slices, gathers
// and scatters, padding, resizing, and constants.
//
//===----------------------------------------------------------------------===//

#include "Import/ImportContext.h"

#include <cmath>

namespace ss {
namespace importer {

LogicalResult convertReshape(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  Value x = n.input(0);
  SmallVector<int64_t> target;
  if (imp.opset < 5) {
    target = n.getInts("shape").value_or(SmallVector<int64_t>{});
  } else {
    auto s = imp.constInts(n, n.input(1), "shape");
    if (failed(s))
      return failure();
    target = *s;
  }
  auto in = shapeOf(x);
  bool allowZero = n.getInt("allowzero", 0) != 0;
  int64_t known = 1, inferAt = -1;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == 0 && !allowZero) {
      if (i >= in.size())
        return imp.invalid(
            n.loc, "Reshape shape " + shapeStr(target) + " copies dim " +
                       Twine(i) + " which input " + shapeStr(in) + " lacks");
      target[i] = in[i];
    }
    if (target[i] == -1) {
      if (inferAt >= 0)
        return imp.invalid(n.loc, "Reshape shape " + shapeStr(target) +
                                      " has more than one -1");
      inferAt = i;
    } else if (target[i] < 0) {
      return imp.invalid(n.loc, "Reshape shape " + shapeStr(target) +
                                    " has a negative dimension");
    } else {
      known *= target[i];
    }
  }
  if (inferAt >= 0) {
    int64_t total = numElements(in);
    if (known == 0 || total % known != 0)
      return imp.invalid(n.loc, "Reshape cannot infer -1 in " +
                                    shapeStr(target) + " for input " +
                                    shapeStr(in));
    target[inferAt] = total / known;
  }
  auto v = imp.reshape(n.loc, x, target);
  return pushResult(r, v);
}

LogicalResult convertFlatten(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  auto shape = shapeOf(n.input(0));
  int64_t rank = shape.size();
  int64_t a = n.getInt("axis", 1);
  if (a < -rank || a > rank)
    return imp.invalid(n.loc, "Flatten axis " + Twine(a) +
                                  " is out of range for rank " + Twine(rank));
  if (a < 0)
    a += rank;
  auto v = imp.reshape(
      n.loc, n.input(0),
      {numElements(shape.take_front(a)), numElements(shape.drop_front(a))});
  return pushResult(r, v);
}

FailureOr<SmallVector<int64_t>> axesOf(NodeContext &n, int64_t inputSince) {
  Importer &imp = n.importer;
  if (imp.opset >= inputSince) {
    if (!n.input(1))
      return SmallVector<int64_t>{};
    return imp.constInts(n, n.input(1), "axes");
  }
  return n.getInts("axes").value_or(SmallVector<int64_t>{});
}

LogicalResult convertSqueeze(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  auto shape = shapeOf(n.input(0));
  int64_t rank = shape.size();
  auto axes = axesOf(n, 13);
  if (failed(axes))
    return failure();
  SmallVector<bool> drop(rank, false);
  if (axes->empty()) {
    for (int64_t d = 0; d < rank; ++d)
      drop[d] = shape[d] == 1;
  }
  for (int64_t a : *axes) {
    auto na = imp.axis(n, a, rank);
    if (failed(na))
      return failure();
    if (shape[*na] != 1)
      return imp.invalid(n.loc, "Squeeze axis " + Twine(a) + " has size " +
                                    Twine(shape[*na]) + ", not 1");
    drop[*na] = true;
  }
  SmallVector<int64_t> out;
  for (int64_t d = 0; d < rank; ++d)
    if (!drop[d])
      out.push_back(shape[d]);
  auto v = imp.reshape(n.loc, n.input(0), out);
  return pushResult(r, v);
}

LogicalResult convertUnsqueeze(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  auto shape = shapeOf(n.input(0));
  auto axes = axesOf(n, 13);
  if (failed(axes))
    return failure();
  int64_t outRank = shape.size() + axes->size();
  SmallVector<bool> inserted(outRank, false);
  for (int64_t a : *axes) {
    auto na = imp.axis(n, a, outRank);
    if (failed(na))
      return failure();
    if (inserted[*na])
      return imp.invalid(n.loc, "Unsqueeze axis " + Twine(a) + " repeats");
    inserted[*na] = true;
  }
  SmallVector<int64_t> out;
  size_t next = 0;
  for (int64_t d = 0; d < outRank; ++d)
    out.push_back(inserted[d] ? 1 : shape[next++]);
  auto v = imp.reshape(n.loc, n.input(0), out);
  return pushResult(r, v);
}

LogicalResult convertTranspose(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  int64_t rank = shapeOf(n.input(0)).size();
  SmallVector<int64_t> perm;
  if (auto p = n.getInts("perm"))
    perm = *p;
  else
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  auto v = imp.create1<TransposeOp>(n.loc, n.input(0),
                                    imp.b().getDenseI64ArrayAttr(perm));
  return pushResult(r, v);
}

LogicalResult convertConcat(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  SmallVector<Value> ins = n.presentInputs();
  if (ins.empty())
    return imp.invalid(n.loc, "Concat has no inputs");
  // The axis attribute was optional (default 1) before opset 4.
  auto a = imp.axis(n, n.getInt("axis", imp.opset < 4 ? 1 : 0),
                    shapeOf(ins[0]).size());
  if (failed(a))
    return failure();
  // Empty inputs contribute nothing; dropping them keeps kernels simple.
  SmallVector<Value> nonEmpty;
  for (Value v : ins)
    if (numElements(shapeOf(v)) != 0)
      nonEmpty.push_back(v);
  if (!nonEmpty.empty() && nonEmpty.size() != ins.size())
    ins = nonEmpty;
  if (ins.size() == 1) {
    r.push_back(ins[0]);
    return success();
  }
  auto v = imp.create1<ConcatOp>(n.loc, ValueRange(ins),
                                 imp.b().getI64IntegerAttr(*a));
  return pushResult(r, v);
}

LogicalResult convertSplit(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  auto shape = shapeOf(n.input(0));
  auto a = imp.axis(n, n.getInt("axis", 0), shape.size());
  if (failed(a))
    return failure();
  int64_t total = shape[*a];
  SmallVector<int64_t> sizes;
  if (imp.opset >= 13 && n.input(1)) {
    auto s = imp.constInts(n, n.input(1), "split");
    if (failed(s))
      return failure();
    sizes = *s;
  } else if (auto s = n.getInts("split"); s && imp.opset < 13) {
    sizes = *s;
  } else {
    int64_t parts = n.numOutputs();
    if (auto *attr = n.attr("num_outputs"))
      parts = attr->i();
    if (parts <= 0)
      return imp.invalid(n.loc, "Split into " + Twine(parts) + " parts");
    int64_t chunk = (total + parts - 1) / parts;
    if (!n.attr("num_outputs") && total % parts != 0)
      return imp.invalid(n.loc, "Split of dim " + Twine(total) + " into " +
                                    Twine(parts) + " equal parts");
    for (int64_t i = 0, left = total; i < parts; ++i, left -= chunk)
      sizes.push_back(std::min(chunk, left));
  }
  if ((int64_t)sizes.size() != (int64_t)n.numOutputs())
    return imp.invalid(n.loc, "Split has " + Twine(sizes.size()) +
                                  " sizes but " + Twine(n.numOutputs()) +
                                  " outputs");
  auto res =
      imp.createOp<SplitOp>(n.loc, n.input(0), imp.b().getI64IntegerAttr(*a),
                            imp.b().getDenseI64ArrayAttr(sizes));
  if (failed(res))
    return failure();
  r.append(res->begin(), res->end());
  return success();
}

LogicalResult convertSlice(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  auto shape = shapeOf(n.input(0));
  int64_t rank = shape.size();
  SmallVector<int64_t> starts, ends, axes, steps;
  if (imp.opset < 10) {
    starts = n.getInts("starts").value_or(SmallVector<int64_t>{});
    ends = n.getInts("ends").value_or(SmallVector<int64_t>{});
    axes = n.getInts("axes").value_or(SmallVector<int64_t>{});
  } else {
    auto s = imp.constInts(n, n.input(1), "starts");
    auto e = imp.constInts(n, n.input(2), "ends");
    if (failed(s) || failed(e))
      return failure();
    starts = *s;
    ends = *e;
    if (n.input(3)) {
      auto a = imp.constInts(n, n.input(3), "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
    if (n.input(4)) {
      auto st = imp.constInts(n, n.input(4), "steps");
      if (failed(st))
        return failure();
      steps = *st;
    }
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(i);
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (starts.size() != ends.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    return imp.invalid(n.loc, "Slice starts, ends, axes and steps differ in "
                              "length");
  SmallVector<int64_t> outStart(rank, 0), outSize(shape), outStep(rank, 1);
  for (size_t i = 0; i < axes.size(); ++i) {
    auto a = imp.axis(n, axes[i], rank, "axes entry");
    if (failed(a))
      return failure();
    int64_t dim = shape[*a], step = steps[i];
    if (step == 0)
      return imp.invalid(n.loc, "Slice step is 0");
    int64_t start = starts[i], end = ends[i];
    if (start < 0)
      start += dim;
    if (end < 0)
      end += dim;
    // Clamp per the ONNX spec; starts/ends beyond int32 limits are common.
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
    }
    int64_t size = step > 0 ? (end - start + step - 1) / step
                            : (start - end + (-step) - 1) / (-step);
    outStart[*a] = start;
    outSize[*a] = std::max<int64_t>(0, size);
    outStep[*a] = step;
    if (outSize[*a] == 0)
      outStart[*a] = 0;
  }
  auto &b = imp.b();
  auto v = imp.create1<SliceOp>(
      n.loc, n.input(0), b.getDenseI64ArrayAttr(outStart),
      b.getDenseI64ArrayAttr(outSize), b.getDenseI64ArrayAttr(outStep));
  return pushResult(r, v);
}

LogicalResult convertGather(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  auto a = imp.axis(n, n.getInt("axis", 0), shapeOf(n.input(0)).size());
  if (failed(a))
    return failure();
  auto v = imp.create1<GatherOp>(n.loc, n.input(0), n.input(1),
                                 imp.b().getI64IntegerAttr(*a));
  return pushResult(r, v);
}

LogicalResult convertExpand(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  auto s = imp.constInts(n, n.input(1), "shape");
  if (failed(s))
    return failure();
  auto v = imp.create1<BroadcastToOp>(n.loc, n.input(0),
                                      imp.b().getDenseI64ArrayAttr(*s));
  return pushResult(r, v);
}

LogicalResult convertConstant(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  auto &b = imp.b();
  for (const auto &a : n.node.attribute()) {
    DenseElementsAttr value;
    if (a.name() == "value") {
      auto read = readTensorProto(imp.ctx(), a.t(), "");
      if (!read.value)
        return read.unsupported ? imp.unsupported(n.loc, read.error)
                                : imp.invalid(n.loc, read.error);
      value = read.value;
    } else if (a.name() == "value_float") {
      value = DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()),
                                     a.f());
    } else if (a.name() == "value_floats") {
      SmallVector<float> f(a.floats().begin(), a.floats().end());
      value = DenseElementsAttr::get(
          RankedTensorType::get({(int64_t)f.size()}, b.getF32Type()),
          ArrayRef<float>(f));
    } else if (a.name() == "value_int") {
      value = DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()),
                                     (int64_t)a.i());
    } else if (a.name() == "value_ints") {
      SmallVector<int64_t> i(a.ints().begin(), a.ints().end());
      value = DenseElementsAttr::get(
          RankedTensorType::get({(int64_t)i.size()}, b.getI64Type()),
          ArrayRef<int64_t>(i));
    } else {
      return imp.unsupported(n.loc, "Constant attribute '" + a.name() + "'");
    }
    r.push_back(imp.constant(n.loc, value));
    return success();
  }
  return imp.invalid(n.loc, "Constant has no value");
}

LogicalResult convertConstantOfShape(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  auto shape = imp.constInts(n, n.input(0), "input");
  if (failed(shape))
    return failure();
  for (int64_t d : *shape)
    if (d < 0)
      return imp.invalid(n.loc, "ConstantOfShape shape " + shapeStr(*shape) +
                                    " has a negative dimension");
  DenseElementsAttr fill;
  if (auto *a = n.attr("value")) {
    auto read = readTensorProto(imp.ctx(), a->t(), "");
    if (!read.value)
      return read.unsupported ? imp.unsupported(n.loc, read.error)
                              : imp.invalid(n.loc, read.error);
    if (read.value.getNumElements() != 1)
      return imp.invalid(n.loc, "ConstantOfShape value must have one element");
    fill = read.value;
  } else {
    fill = DenseElementsAttr::get(
        RankedTensorType::get({1}, imp.b().getF32Type()), 0.0f);
  }
  auto type = RankedTensorType::get(*shape, fill.getElementType());
  r.push_back(imp.constant(
      n.loc, DenseElementsAttr::get(type, fill.getValues<Attribute>()[0])));
  return success();
}

LogicalResult convertShape(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  auto shape = shapeOf(n.input(0));
  int64_t rank = shape.size();
  int64_t start = n.getInt("start", 0), end = n.getInt("end", rank);
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  r.push_back(imp.constantI64(
      n.loc, SmallVector<int64_t>(shape.begin() + start, shape.begin() + end)));
  return success();
}

LogicalResult convertRange(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  auto start = imp.constFloats(n, n.input(0), "start");
  auto limit = imp.constFloats(n, n.input(1), "limit");
  auto delta = imp.constFloats(n, n.input(2), "delta");
  if (failed(start) || failed(limit) || failed(delta))
    return failure();
  double s = (*start)[0], l = (*limit)[0], d = (*delta)[0];
  if (d == 0)
    return imp.invalid(n.loc, "Range delta is 0");
  int64_t count = std::max<int64_t>(0, (int64_t)std::ceil((l - s) / d));
  Type et = tensorTypeOf(n.input(0)).getElementType();
  auto type = RankedTensorType::get({count}, et);
  if (et.isF32()) {
    SmallVector<float> v;
    for (int64_t i = 0; i < count; ++i)
      v.push_back(static_cast<float>(s + i * d));
    r.push_back(imp.constant(n.loc, DenseElementsAttr::get(type, ArrayRef(v))));
  } else if (et.isInteger(64)) {
    SmallVector<int64_t> v;
    for (int64_t i = 0; i < count; ++i)
      v.push_back(static_cast<int64_t>(s) + i * static_cast<int64_t>(d));
    r.push_back(imp.constant(n.loc, DenseElementsAttr::get(type, ArrayRef(v))));
  } else if (et.isInteger(32)) {
    SmallVector<int32_t> v;
    for (int64_t i = 0; i < count; ++i)
      v.push_back(static_cast<int32_t>(s) + i * static_cast<int32_t>(d));
    r.push_back(imp.constant(n.loc, DenseElementsAttr::get(type, ArrayRef(v))));
  } else {
    return imp.unsupported(n.loc, "Range of this element type");
  }
  return success();
}

LogicalResult convertPad(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  Value x = n.input(0);
  int64_t rank = shapeOf(x).size();
  std::string mode = n.getString("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    return imp.unsupported(n.loc, "Pad mode '" + mode + "'");
  SmallVector<int64_t> pads;
  double value = 0;
  if (imp.opset < 11) {
    pads = n.getInts("pads").value_or(SmallVector<int64_t>{});
    value = n.getFloat("value", 0.0f);
  } else {
    auto p = imp.constInts(n, n.input(1), "pads");
    if (failed(p))
      return failure();
    pads = *p;
    if (n.input(2)) {
      auto v = imp.constFloats(n, n.input(2), "constant_value");
      if (failed(v))
        return failure();
      if (!v->empty())
        value = (*v)[0];
    }
    if (n.input(3)) {
      // opset 18: pads only for the listed axes.
      auto axes = imp.constInts(n, n.input(3), "axes");
      if (failed(axes))
        return failure();
      if (pads.size() != 2 * axes->size())
        return imp.invalid(n.loc, "Pad has " + Twine(pads.size()) +
                                      " pads for " + Twine(axes->size()) +
                                      " axes");
      SmallVector<int64_t> full(2 * rank, 0);
      for (size_t i = 0; i < axes->size(); ++i) {
        auto a = imp.axis(n, (*axes)[i], rank);
        if (failed(a))
          return failure();
        full[*a] = pads[i];
        full[*a + rank] = pads[i + axes->size()];
      }
      pads = full;
    }
  }
  if ((int64_t)pads.size() != 2 * rank)
    return imp.invalid(n.loc, "Pad has " + Twine(pads.size()) +
                                  " pads for rank " + Twine(rank));
  auto &b = imp.b();
  auto v = imp.create1<PadOp>(n.loc, x, b.getDenseI64ArrayAttr(pads),
                              b.getStringAttr(mode), b.getF64FloatAttr(value));
  return pushResult(r, v);
}

LogicalResult convertResize(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  Value x = n.input(0);
  auto in = shapeOf(x);
  int64_t rank = in.size();
  std::string mode = n.getString("mode", "nearest");
  std::string coord = n.getString("coordinate_transformation_mode",
                                  imp.opset < 11 ? "asymmetric" : "half_pixel");
  if (coord != "half_pixel" && coord != "pytorch_half_pixel" &&
      coord != "align_corners" && coord != "asymmetric")
    return imp.unsupported(n.loc, "Resize coordinate_transformation_mode '" +
                                      coord + "'");
  std::string nearest = n.getString(
      "nearest_mode", imp.opset < 11 ? "floor" : "round_prefer_floor");
  SmallVector<int64_t> axes;
  if (auto a = n.getInts("axes")) {
    for (int64_t ax : *a) {
      auto na = imp.axis(n, ax, rank);
      if (failed(na))
        return failure();
      axes.push_back(*na);
    }
  } else {
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  SmallVector<double> scales(rank, 1.0);
  SmallVector<int64_t> sizes(in);
  Value scalesIn = imp.opset < 11 ? n.input(1) : n.input(2);
  Value sizesIn = imp.opset < 11 ? Value() : n.input(3);
  auto isEmpty = [](Value v) { return !v || numElements(shapeOf(v)) == 0; };
  if (!isEmpty(sizesIn)) {
    auto s = imp.constInts(n, sizesIn, "sizes");
    if (failed(s))
      return failure();
    if (s->size() != axes.size())
      return imp.invalid(n.loc, "Resize sizes has " + Twine(s->size()) +
                                    " entries for " + Twine(axes.size()) +
                                    " axes");
    for (size_t i = 0; i < axes.size(); ++i) {
      sizes[axes[i]] = (*s)[i];
      scales[axes[i]] = in[axes[i]] ? double((*s)[i]) / in[axes[i]] : 1.0;
    }
  } else if (!isEmpty(scalesIn)) {
    auto s = imp.constFloats(n, scalesIn, "scales");
    if (failed(s))
      return failure();
    if (s->size() != axes.size())
      return imp.invalid(n.loc, "Resize scales has " + Twine(s->size()) +
                                    " entries for " + Twine(axes.size()) +
                                    " axes");
    for (size_t i = 0; i < axes.size(); ++i) {
      if ((*s)[i] <= 0)
        return imp.invalid(n.loc, "Resize scale must be positive");
      scales[axes[i]] = (*s)[i];
      sizes[axes[i]] = static_cast<int64_t>(
          std::floor(in[axes[i]] * static_cast<float>((*s)[i])));
    }
  } else {
    return imp.invalid(n.loc, "Resize needs scales or sizes");
  }
  // Scale 1 on every axis maps each output coordinate onto its own input
  // sample under all four coordinate modes above, so any mode (cubic
  // included) is the identity. Exporters emit this for position-embedding
  // interpolation (ViT, DINOv2) when the image has the training size.
  if (sizes == SmallVector<int64_t>(in) &&
      llvm::all_of(scales, [](double s) { return s == 1.0; })) {
    r.push_back(x);
    return success();
  }
  if (failed(requireF32(n, x)))
    return failure();
  if (mode != "nearest" && mode != "linear")
    return imp.unsupported(n.loc, "Resize mode '" + mode + "'");
  if (n.getInt("antialias", 0) != 0)
    return imp.unsupported(n.loc, "Resize with antialias");
  if (n.getString("keep_aspect_ratio_policy", "stretch") != "stretch")
    return imp.unsupported(n.loc, "Resize keep_aspect_ratio_policy");
  SmallVector<float> fscales(scales.begin(), scales.end());
  auto &b = imp.b();
  auto v = imp.create1<ResizeOp>(
      n.loc, x, b.getDenseI64ArrayAttr(sizes), b.getDenseF32ArrayAttr(fscales),
      b.getStringAttr(mode), b.getStringAttr(coord), b.getStringAttr(nearest));
  return pushResult(r, v);
}

/// Reads a constant index operand as int64 values, or reports it.
FailureOr<SmallVector<int64_t>> constIndices(NodeContext &n, Value v,
                                             StringRef what) {
  if (!isa<IntegerType>(tensorTypeOf(v).getElementType()))
    return n.importer.invalid(n.loc, n.opType() + " " + what +
                                         " must be int64 or int32");
  return n.importer.constInts(n, v, what);
}

/// Reads rows of `data` viewed as [rows, rowSize] (as 1-D when rowSize is
/// 1) at compile-time row numbers `flat`, shaped `shape`, with one Gather;
/// the result is `shape` (+ [rowSize]). It folds when `data` is constant.
FailureOr<Value> gatherRows(NodeContext &n, Value data, int64_t rowCount,
                            int64_t rowSize, ArrayRef<int64_t> flat,
                            ArrayRef<int64_t> shape) {
  Importer &imp = n.importer;
  SmallVector<int64_t> view{rowCount};
  if (rowSize != 1)
    view.push_back(rowSize);
  auto rows = imp.reshape(n.loc, data, view);
  if (failed(rows))
    return failure();
  Value indices = imp.constantI64(n.loc, flat, shape);
  return imp.create1<GatherOp>(n.loc, *rows, indices,
                               imp.b().getI64IntegerAttr(0));
}

/// GatherElements with run-time indices: the flat offset of each output
/// element is its (wrapped) index times the axis stride plus a constant
/// offset from its other coordinates; one int64 Gather then reads data as
/// 1-D. RoBERTa gathers its token-type buffer at cumsum'd position ids.
LogicalResult gatherElementsAtRunTime(NodeContext &n, Results &r, int64_t axis,
                                      ArrayRef<int64_t> strides) {
  Importer &imp = n.importer;
  Value data = n.input(0), idx = n.input(1);
  auto ds = shapeOf(data), is = shapeOf(idx);
  int64_t rank = ds.size();
  auto &b = imp.b();
  if (!tensorTypeOf(idx).getElementType().isInteger(64)) {
    auto c = imp.create1<CastOp>(n.loc, idx, TypeAttr::get(b.getI64Type()));
    if (failed(c))
      return failure();
    idx = *c;
  }
  SmallVector<int64_t> offsets(numElements(is)), pos(rank, 0);
  for (int64_t i = 0, e = offsets.size(); i < e; ++i) {
    int64_t off = 0;
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis)
        off += pos[d] * strides[d];
    offsets[i] = off;
    for (int64_t d = rank - 1; d >= 0 && ++pos[d] == is[d]; --d)
      pos[d] = 0;
  }
  auto scalar = [&](int64_t v) {
    return imp.constantI64(n.loc, {v}, ArrayRef<int64_t>{});
  };
  auto negative = imp.create1<LessOp>(n.loc, idx, scalar(0));
  auto wrapped = imp.create1<AddOp>(n.loc, idx, scalar(ds[axis]));
  if (failed(negative) || failed(wrapped))
    return failure();
  auto norm = imp.create1<WhereOp>(n.loc, *negative, *wrapped, idx);
  if (failed(norm))
    return failure();
  auto scaled = imp.create1<MulOp>(n.loc, *norm, scalar(strides[axis]));
  if (failed(scaled))
    return failure();
  auto flat =
      imp.create1<AddOp>(n.loc, *scaled, imp.constantI64(n.loc, offsets, is));
  auto rows = imp.reshape(n.loc, data, {numElements(ds)});
  if (failed(flat) || failed(rows))
    return failure();
  auto v = imp.create1<GatherOp>(n.loc, *rows, *flat, b.getI64IntegerAttr(0));
  return pushResult(r, v);
}

/// GatherElements with compile-time indices is one flat Gather. Exporters
/// write it for BERT's token_type_ids buffer (indices: position ids), which
/// folds away entirely once the sequence length is pinned.
LogicalResult convertGatherElements(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  Value data = n.input(0);
  auto ds = shapeOf(data);
  auto is = shapeOf(n.input(1));
  int64_t rank = ds.size();
  if (rank < 1 || (int64_t)is.size() != rank)
    return imp.invalid(n.loc, "GatherElements data " + shapeStr(ds) +
                                  " and indices " + shapeStr(is) +
                                  " must have the same rank >= 1");
  auto a = imp.axis(n, n.getInt("axis", 0), rank);
  if (failed(a))
    return failure();
  for (int64_t d = 0; d < rank; ++d)
    if (d != *a && is[d] > ds[d])
      return imp.invalid(n.loc, "GatherElements indices " + shapeStr(is) +
                                    " exceed data " + shapeStr(ds) +
                                    " in dimension " + Twine(d));
  if (!isa<IntegerType>(tensorTypeOf(n.input(1)).getElementType()))
    return imp.invalid(n.loc, "GatherElements indices must be int64 or int32");
  SmallVector<int64_t> strides(rank, 1);
  for (int64_t d = rank - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * ds[d + 1];
  if (!Importer::constantValue(n.input(1)))
    return gatherElementsAtRunTime(n, r, *a, strides);
  auto idx = imp.constInts(n, n.input(1), "indices");
  if (failed(idx))
    return failure();
  SmallVector<int64_t> flat(idx->size()), pos(rank, 0);
  for (size_t i = 0; i < idx->size(); ++i) {
    int64_t k = (*idx)[i];
    if (k < -ds[*a] || k >= ds[*a])
      return imp.invalid(n.loc, "GatherElements index " + Twine(k) +
                                    " is out of range for axis size " +
                                    Twine(ds[*a]));
    if (k < 0)
      k += ds[*a];
    int64_t off = 0;
    for (int64_t d = 0; d < rank; ++d)
      off += (d == *a ? k : pos[d]) * strides[d];
    flat[i] = off;
    for (int64_t d = rank - 1; d >= 0 && ++pos[d] == is[d]; --d)
      pos[d] = 0;
  }
  auto v = gatherRows(n, data, numElements(ds), 1, flat, is);
  return pushResult(r, v);
}

/// GatherND with compile-time indices: each index tuple (with its batch
/// coordinates) becomes a row offset into data viewed as [rows, slice], read
/// with one Gather. Torch's dynamo exporter writes it for padding masks.
LogicalResult convertGatherND(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  Value data = n.input(0);
  auto ds = shapeOf(data);
  auto is = shapeOf(n.input(1));
  int64_t rank = ds.size(), q = is.size();
  int64_t b = n.getInt("batch_dims", 0);
  if (rank < 1 || q < 1 || b < 0 || b >= std::min(rank, q))
    return imp.invalid(n.loc, "GatherND data " + shapeStr(ds) + ", indices " +
                                  shapeStr(is) + " and batch_dims " + Twine(b) +
                                  " do not fit");
  int64_t k = is.back();
  if (k < 1 || k > rank - b)
    return imp.invalid(n.loc, "GatherND index tuples of length " + Twine(k) +
                                  " do not fit data " + shapeStr(ds) +
                                  " with batch_dims " + Twine(b));
  for (int64_t d = 0; d < b; ++d)
    if (is[d] != ds[d])
      return imp.invalid(n.loc, "GatherND batch dimensions of indices " +
                                    shapeStr(is) + " and data " + shapeStr(ds) +
                                    " differ");
  auto idx = constIndices(n, n.input(1), "indices");
  if (failed(idx))
    return failure();
  // Row strides over data's first b + k dimensions.
  SmallVector<int64_t> strides(b + k, 1);
  for (int64_t d = b + k - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * ds[d + 1];
  int64_t batchInner = numElements(is.slice(b, q - 1 - b)); // tuples per batch
  SmallVector<int64_t> outShape(is.drop_back());
  int64_t tuples = numElements(outShape);
  SmallVector<int64_t> flat(tuples);
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = 0, batch = batchInner ? t / batchInner : 0;
    for (int64_t d = b - 1; d >= 0; --d) {
      off += (batch % ds[d]) * strides[d];
      batch /= ds[d];
    }
    for (int64_t j = 0; j < k; ++j) {
      int64_t v = (*idx)[t * k + j], dim = ds[b + j];
      if (v < -dim || v >= dim)
        return imp.invalid(n.loc, "GatherND index " + Twine(v) +
                                      " is out of range for dimension " +
                                      Twine(b + j) + " of size " + Twine(dim));
      off += (v < 0 ? v + dim : v) * strides[b + j];
    }
    flat[t] = off;
  }
  auto g = gatherRows(n, data, numElements(ds.take_front(b + k)),
                      numElements(ds.drop_front(b + k)), flat, outShape);
  if (failed(g))
    return failure();
  // Each gathered row is one slice data[..., i_0 .. i_k-1, :]; restore its
  // dimensions.
  SmallVector<int64_t> shape(outShape);
  llvm::append_range(shape, ds.drop_front(b + k));
  auto v = imp.reshape(n.loc, *g, shape);
  return pushResult(r, v);
}

/// `size` elements of `v` from `start` along `axis`, `step` apart.
FailureOr<Value> sliceAxis(NodeContext &n, Value v, int64_t axis, int64_t start,
                           int64_t size, int64_t step) {
  Importer &imp = n.importer;
  auto shape = shapeOf(v);
  SmallVector<int64_t> starts(shape.size(), 0), sizes(shape),
      steps(shape.size(), 1);
  starts[axis] = start;
  sizes[axis] = size;
  steps[axis] = step;
  auto &b = imp.b();
  return imp.create1<SliceOp>(n.loc, v, b.getDenseI64ArrayAttr(starts),
                              b.getDenseI64ArrayAttr(sizes),
                              b.getDenseI64ArrayAttr(steps));
}

/// `v` moved by `by` places along `axis` (towards the end, or towards the
/// start when `backward`), filled with zeros: one Slice and one Concat.
FailureOr<Value> shiftAxis(NodeContext &n, Value v, int64_t axis, int64_t by,
                           bool backward) {
  Importer &imp = n.importer;
  auto type = tensorTypeOf(v);
  int64_t len = type.getDimSize(axis);
  SmallVector<int64_t> zshape(type.getShape());
  zshape[axis] = by;
  auto ztype = RankedTensorType::get(zshape, type.getElementType());
  Value zeros = imp.constant(
      n.loc, DenseElementsAttr::get(
                 ztype, imp.b().getZeroAttr(type.getElementType())));
  auto kept = sliceAxis(n, v, axis, backward ? by : 0, len - by);
  if (failed(kept))
    return failure();
  SmallVector<Value> parts = backward ? SmallVector<Value>{*kept, zeros}
                                      : SmallVector<Value>{zeros, *kept};
  return imp.create1<ConcatOp>(n.loc, ValueRange(parts),
                               imp.b().getI64IntegerAttr(axis));
}

/// CumSum as a log-step prefix sum (Hillis-Steele): y += y shifted by 1, 2,
/// 4, ... along the axis. Integer results are exact; float sums associate
/// differently from a sequential loop, within rounding. RoBERTa-style
/// position ids (cumsum of the padding mask) need it at run time; OPT and
/// BLOOM's cumsum of an all-ones mask folds away.
LogicalResult convertCumSum(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  Value x = n.input(0);
  auto shape = shapeOf(x);
  int64_t rank = shape.size();
  if (rank < 1)
    return imp.invalid(n.loc, "CumSum input must have rank >= 1");
  auto axisVals = imp.constInts(n, n.input(1), "axis");
  if (failed(axisVals))
    return failure();
  if (axisVals->size() != 1)
    return imp.invalid(n.loc, "CumSum axis must have one element");
  auto a = imp.axis(n, (*axisVals)[0], rank);
  if (failed(a))
    return failure();
  bool exclusive = n.getInt("exclusive", 0) != 0;
  bool reverse = n.getInt("reverse", 0) != 0;
  int64_t len = shape[*a];
  Value y = x;
  for (int64_t step = 1; step < len; step *= 2) {
    auto shifted = shiftAxis(n, y, *a, step, reverse);
    if (failed(shifted))
      return failure();
    auto sum = imp.create1<AddOp>(n.loc, y, *shifted);
    if (failed(sum))
      return failure();
    y = *sum;
  }
  if (exclusive && len > 0) {
    auto shifted = shiftAxis(n, y, *a, 1, reverse);
    if (failed(shifted))
      return failure();
    y = *shifted;
  }
  r.push_back(y);
  return success();
}

/// ScatterND with compile-time indices: a constant row map picks, for each
/// row of data viewed as [rows, slice], the last update written there, and a
/// constant mask keeps the rows nobody writes: Where(mask, Gather(updates),
/// data). BEiT's relative-position tables are built this way (and fold).
LogicalResult convertScatterND(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  Value data = n.input(0), updates = n.input(2);
  std::string reduction = n.getString("reduction", "none");
  if (reduction != "none")
    return imp.unsupported(n.loc, "ScatterND reduction '" + reduction + "'");
  auto ds = shapeOf(data), is = shapeOf(n.input(1)), us = shapeOf(updates);
  int64_t rank = ds.size(), q = is.size();
  if (rank < 1 || q < 1 || is.back() < 1 || is.back() > rank)
    return imp.invalid(n.loc, "ScatterND indices " + shapeStr(is) +
                                  " do not fit data " + shapeStr(ds));
  int64_t k = is.back();
  SmallVector<int64_t> expected(is.drop_back());
  llvm::append_range(expected, ds.drop_front(k));
  if (us != ArrayRef<int64_t>(expected))
    return imp.invalid(n.loc, "ScatterND updates " + shapeStr(us) +
                                  " should be " + shapeStr(expected));
  if (tensorTypeOf(updates).getElementType() !=
      tensorTypeOf(data).getElementType())
    return imp.invalid(n.loc, "ScatterND updates and data element types "
                              "differ");
  auto idx = constIndices(n, n.input(1), "indices");
  if (failed(idx))
    return failure();
  int64_t rows = numElements(ds.take_front(k));
  int64_t rowSize = numElements(ds.drop_front(k));
  int64_t tuples = numElements(is.drop_back());
  if (tuples == 0) {
    r.push_back(data);
    return success();
  }
  SmallVector<int64_t> source(rows, -1);
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t row = 0;
    for (int64_t j = 0; j < k; ++j) {
      int64_t v = (*idx)[t * k + j];
      if (v < -ds[j] || v >= ds[j])
        return imp.invalid(n.loc, "ScatterND index " + Twine(v) +
                                      " is out of range for dimension " +
                                      Twine(j) + " of size " + Twine(ds[j]));
      row = row * ds[j] + (v < 0 ? v + ds[j] : v);
    }
    source[row] = t; // a later duplicate wins, as in onnxruntime
  }
  SmallVector<bool> written;
  SmallVector<int64_t> pick;
  for (int64_t s : source) {
    written.push_back(s >= 0);
    pick.push_back(std::max<int64_t>(s, 0));
  }
  auto &b = imp.b();
  auto gathered = gatherRows(n, updates, tuples, rowSize, pick, {rows});
  auto dataRows = imp.reshape(n.loc, data, {rows, rowSize});
  if (failed(gathered) || failed(dataRows))
    return failure();
  Value g = *gathered;
  if (rowSize == 1) {
    auto rs = imp.reshape(n.loc, g, {rows, rowSize});
    if (failed(rs))
      return failure();
    g = *rs;
  }
  Value mask = imp.constant(
      n.loc, DenseElementsAttr::get(
                 RankedTensorType::get({rows, 1}, b.getI1Type()), written));
  auto merged = imp.create1<WhereOp>(n.loc, mask, g, *dataRows);
  if (failed(merged))
    return failure();
  auto v = imp.reshape(n.loc, *merged, ds);
  return pushResult(r, v);
}

/// Trilu keeps one triangle of the last two dimensions: Where(constant
/// mask, x, 0), exact for any input. Causal masks (torch.triu/tril) use it.
LogicalResult convertTrilu(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  Value x = n.input(0);
  auto shape = shapeOf(x);
  if (shape.size() < 2)
    return imp.invalid(n.loc, "Trilu input must have rank >= 2");
  int64_t k = 0;
  if (n.input(1)) {
    auto kv = imp.constInts(n, n.input(1), "k");
    if (failed(kv))
      return failure();
    if (kv->size() != 1)
      return imp.invalid(n.loc, "Trilu k must have one element");
    k = (*kv)[0];
  }
  bool upper = n.getInt("upper", 1) != 0;
  int64_t rows = shape[shape.size() - 2], cols = shape.back();
  SmallVector<bool> keep;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      keep.push_back(upper ? j - i >= k : j - i <= k);
  Value mask = imp.constant(
      n.loc,
      DenseElementsAttr::get(
          RankedTensorType::get({rows, cols}, imp.b().getI1Type()), keep));
  auto v = imp.create1<WhereOp>(n.loc, mask, x, imp.scalarLike(n.loc, x, 0));
  return pushResult(r, v);
}

/// Tile as a broadcast: x viewed as [1, d0, 1, d1, ...], broadcast to
/// [r0, d0, r1, d1, ...] and merged pairwise to [r0*d0, r1*d1, ...], which
/// is exactly out[i] = x[i mod d]. torch's repeat() exports as Tile.
LogicalResult convertTile(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  Value x = n.input(0);
  auto shape = shapeOf(x);
  auto reps = imp.constInts(n, n.input(1), "repeats");
  if (failed(reps))
    return failure();
  if (reps->size() != shape.size())
    return imp.invalid(n.loc, "Tile has " + Twine(reps->size()) +
                                  " repeats for rank " + Twine(shape.size()));
  SmallVector<int64_t> spread, target, out;
  for (size_t d = 0; d < shape.size(); ++d) {
    if ((*reps)[d] < 0)
      return imp.invalid(n.loc, "Tile repeats must not be negative");
    if ((*reps)[d] != 1) { // only repeated dims need their own axis
      spread.push_back(1);
      target.push_back((*reps)[d]);
    }
    spread.push_back(shape[d]);
    target.push_back(shape[d]);
    int64_t size;
    if (llvm::MulOverflow((*reps)[d], shape[d], size))
      return imp.invalid(n.loc, "Tile output dimension overflows");
    out.push_back(size);
  }
  if (out == SmallVector<int64_t>(shape)) {
    r.push_back(x);
    return success();
  }
  auto viewed = imp.reshape(n.loc, x, spread);
  if (failed(viewed))
    return failure();
  auto wide = imp.create1<BroadcastToOp>(n.loc, *viewed,
                                         imp.b().getDenseI64ArrayAttr(target));
  if (failed(wide))
    return failure();
  auto v = imp.reshape(n.loc, *wide, out);
  return pushResult(r, v);
}

} // namespace importer
} // namespace ss
