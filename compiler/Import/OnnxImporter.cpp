//===- OnnxImporter.cpp - ONNX model to graph dialect --------------------===//
//
// Walks the ONNX graph in topological order and builds graph-dialect ops.
// Every op is created through its own type inference, so a shape error
// becomes a diagnostic at the ONNX node rather than a crash, and every op
// whose operands are constants is folded on the spot: that is how shape
// subgraphs (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) disappear.
//
//===----------------------------------------------------------------------===//

#include "Import/OnnxImporter.h"
#include "Import/OnnxTensors.h"

#include "Graph/GraphDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <fstream>
#include <functional>
#include <numeric>
#include <sstream>

using namespace mlir;
using namespace ss::graph;

namespace ss {
namespace {

/// Pretty-prints a shape as "[2, 3]".
std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") +
         (shape[i] < 0 ? std::string("?") : std::to_string(shape[i]));
  return s + "]";
}

RankedTensorType tensorTypeOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}

ArrayRef<int64_t> shapeOf(Value v) { return tensorTypeOf(v).getShape(); }

int64_t numElements(ArrayRef<int64_t> shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t(1),
                         std::multiplies<int64_t>());
}

class Importer;

/// One ONNX node being converted: its inputs as values and attribute access.
struct NodeContext {
  const onnx::NodeProto &node;
  Location loc;
  SmallVector<Value> inputs; // null for absent optional inputs
  Importer &importer;

  std::string opType() const { return node.op_type(); }
  Value input(size_t i) const {
    return i < inputs.size() ? inputs[i] : Value();
  }
  const onnx::AttributeProto *attr(StringRef name) const {
    for (const auto &a : node.attribute())
      if (a.name() == name)
        return &a;
    return nullptr;
  }
  int64_t getInt(StringRef name, int64_t dflt) const {
    auto *a = attr(name);
    return a ? a->i() : dflt;
  }
  float getFloat(StringRef name, float dflt) const {
    auto *a = attr(name);
    return a ? a->f() : dflt;
  }
  std::string getString(StringRef name, StringRef dflt) const {
    auto *a = attr(name);
    return a ? a->s() : dflt.str();
  }
  std::optional<SmallVector<int64_t>> getInts(StringRef name) const {
    auto *a = attr(name);
    if (!a)
      return std::nullopt;
    return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
  }
  std::optional<SmallVector<float>> getFloats(StringRef name) const {
    auto *a = attr(name);
    if (!a)
      return std::nullopt;
    return SmallVector<float>(a->floats().begin(), a->floats().end());
  }
  size_t numOutputs() const { return node.output_size(); }
};

using Results = SmallVector<Value>;
using ConvertFn = std::function<LogicalResult(NodeContext &, Results &)>;

class Importer {
public:
  Importer(MLIRContext &context, const onnx::ModelProto &model,
           std::string modelDir, const ImportOptions &options)
      : context(context), builder(&context), model(model),
        modelDir(std::move(modelDir)), options(options) {}

  OwningOpRef<ModuleOp> run(const std::string &path);
  ImportStatus status = ImportStatus::Ok;
  int64_t opset = 0;

  //--- diagnostics -------------------------------------------------------
  LogicalResult invalid(Location loc, const Twine &msg) {
    emitError(loc) << msg;
    if (status == ImportStatus::Ok)
      status = ImportStatus::Invalid;
    return failure();
  }
  LogicalResult unsupported(Location loc, const Twine &msg) {
    emitError(loc) << "unsupported: " << msg;
    if (status == ImportStatus::Ok)
      status = ImportStatus::Unsupported;
    return failure();
  }

  //--- op creation ---------------------------------------------------------
  /// Creates OpTy after running its type inference; on inference failure the
  /// op's own diagnostic is reported at `loc` and nothing is created. Ops
  /// that fold (constant operands) are replaced by constants.
  template <typename OpTy, typename... Args>
  FailureOr<Results> createOp(Location loc, Args &&...args) {
    OperationState state(loc, OpTy::getOperationName());
    OpTy::build(builder, state, TypeRange{}, std::forward<Args>(args)...);
    SmallVector<Type> types;
    if (failed(OpTy::inferReturnTypes(&context, loc, state.operands,
                                      state.attributes.getDictionary(&context),
                                      state.getRawProperties(), state.regions,
                                      types))) {
      if (status == ImportStatus::Ok)
        status = ImportStatus::Invalid;
      return failure();
    }
    state.addTypes(types);
    Operation *op = builder.create(state);
    return foldOrKeep(op);
  }
  template <typename OpTy, typename... Args>
  FailureOr<Value> create1(Location loc, Args &&...args) {
    auto r = createOp<OpTy>(loc, std::forward<Args>(args)...);
    if (failed(r))
      return failure();
    return (*r)[0];
  }

  Value constant(Location loc, DenseElementsAttr value) {
    return builder.create<ConstantOp>(loc, value.getType(), value);
  }
  Value constantI64(Location loc, ArrayRef<int64_t> values,
                    std::optional<ArrayRef<int64_t>> shape = std::nullopt) {
    SmallVector<int64_t> s = shape
                                 ? SmallVector<int64_t>(*shape)
                                 : SmallVector<int64_t>{(int64_t)values.size()};
    auto type = RankedTensorType::get(s, builder.getI64Type());
    return constant(loc, DenseElementsAttr::get(type, values));
  }

  /// A rank-0 constant with `v`'s element type (float or integer).
  Value scalarLike(Location loc, Value v, double value) {
    Type et = tensorTypeOf(v).getElementType();
    auto type = RankedTensorType::get({}, et);
    if (isa<FloatType>(et))
      return constant(
          loc, DenseElementsAttr::get(type, builder.getFloatAttr(et, value)));
    return constant(loc, DenseElementsAttr::get(
                             type, builder.getIntegerAttr(
                                       et, static_cast<int64_t>(value))));
  }

  FailureOr<Value> reshape(Location loc, Value v, ArrayRef<int64_t> shape) {
    if (shapeOf(v) == shape)
      return v;
    return create1<ReshapeOp>(loc, v, builder.getDenseI64ArrayAttr(shape));
  }

  //--- constant operands ------------------------------------------------------
  static DenseElementsAttr constantValue(Value v) {
    DenseElementsAttr attr;
    if (v && matchPattern(v, m_Constant(&attr)))
      return attr;
    return nullptr;
  }
  /// Integer contents of a constant operand, or an "unsupported" diagnostic
  /// naming the operand when it is computed at run time.
  /// Diagnoses a shape-like operand that is computed at run time, naming
  /// the tensor and, for model inputs, how to freeze it.
  /// `why`, when given, says why this operand must be constant.
  LogicalResult notConstant(NodeContext &n, Value v, StringRef what,
                            const Twine &why = "") {
    std::string tensor;
    for (int i = 0; i < n.node.input_size(); ++i)
      if (i < (int)n.inputs.size() && n.inputs[i] == v)
        tensor = n.node.input(i);
    std::string hint;
    if (isa<BlockArgument>(v))
      hint = "; it is a model input: bind its value with --freeze-input " +
             tensor + "=FILE.npy";
    std::string reason = why.str();
    if (!reason.empty())
      reason = " (" + reason + ")";
    return unsupported(n.loc, n.opType() + " input '" + what + "' (tensor '" +
                                  tensor + "') is not a compile-time constant" +
                                  reason + hint);
  }
  FailureOr<SmallVector<int64_t>> constInts(NodeContext &n, Value v,
                                            StringRef what) {
    auto attr = constantValue(v);
    if (!attr)
      return notConstant(n, v, what);
    SmallVector<int64_t> out;
    if (isa<IntegerType>(attr.getElementType())) {
      for (const APInt &x : attr.getValues<APInt>())
        out.push_back(x.getSExtValue());
    } else {
      for (const APFloat &x : attr.getValues<APFloat>())
        out.push_back(static_cast<int64_t>(x.convertToDouble()));
    }
    return out;
  }
  FailureOr<SmallVector<double>> constFloats(NodeContext &n, Value v,
                                             StringRef what) {
    auto attr = constantValue(v);
    if (!attr)
      return notConstant(n, v, what);
    SmallVector<double> out;
    if (isa<IntegerType>(attr.getElementType())) {
      for (const APInt &x : attr.getValues<APInt>())
        out.push_back(static_cast<double>(x.getSExtValue()));
    } else {
      for (const APFloat &x : attr.getValues<APFloat>())
        out.push_back(x.convertToDouble());
    }
    return out;
  }

  /// Normalises an axis against `rank`, or reports it out of range.
  FailureOr<int64_t> axis(NodeContext &n, int64_t a, int64_t rank,
                          StringRef what = "axis") {
    if (a < -rank || a >= rank)
      return invalid(n.loc, n.opType() + " " + what + " " + Twine(a) +
                                " is out of range for rank " + Twine(rank));
    return a < 0 ? a + rank : a;
  }

  OpBuilder &b() { return builder; }
  MLIRContext &ctx() { return context; }

private:
  Results foldOrKeep(Operation *op) {
    SmallVector<OpFoldResult> folded;
    if (op->getNumResults() == 0 || failed(op->fold(folded)) || folded.empty())
      return Results(op->getResults().begin(), op->getResults().end());
    Results results;
    for (auto [result, fr] : llvm::zip(op->getResults(), folded)) {
      if (auto v = dyn_cast<Value>(fr)) {
        results.push_back(v);
      } else {
        auto attr = dyn_cast<DenseElementsAttr>(cast<Attribute>(fr));
        if (!attr || attr.getType() != result.getType())
          return Results(op->getResults().begin(), op->getResults().end());
        results.push_back(constant(op->getLoc(), attr));
      }
    }
    op->erase();
    return results;
  }

  LogicalResult importGraph(func::FuncOp &func);
  LogicalResult freezeInput(Location loc, const onnx::ValueInfoProto &in,
                            const FrozenInput &frozen);
  SmallVector<std::pair<std::string, DenseElementsAttr>> frozenValues;
  LogicalResult importNode(const onnx::NodeProto &node, size_t index);
  /// Records the ONNX tensor name on the op producing `v` (attribute
  /// `ss.names`, one entry per result) so emitted code can use it.
  void nameResult(Value v, const std::string &name) {
    auto result = dyn_cast<OpResult>(v);
    if (!result)
      return;
    Operation *def = result.getOwner();
    SmallVector<Attribute> names;
    if (auto existing = def->getAttrOfType<ArrayAttr>("ss.names"))
      names.assign(existing.begin(), existing.end());
    names.resize(def->getNumResults(), StringAttr::get(&context, ""));
    if (!cast<StringAttr>(names[result.getResultNumber()]).getValue().empty())
      return;
    names[result.getResultNumber()] = StringAttr::get(&context, name);
    def->setAttr("ss.names", ArrayAttr::get(&context, names));
  }

  Location nodeLoc(const onnx::NodeProto &node, size_t index) {
    std::string name = node.name().empty()
                           ? node.op_type() + "_" + std::to_string(index)
                           : node.name();
    return NameLoc::get(StringAttr::get(&context, name));
  }

  MLIRContext &context;
  OpBuilder builder;
  const onnx::ModelProto &model;
  std::string modelDir;
  const ImportOptions &options;
  llvm::StringMap<Value> values;
  llvm::StringSet<> consumed; // tensor names read by a node or the graph

public:
  /// Whether a node or the graph output reads tensor `name`.
  bool isConsumed(StringRef name) const { return consumed.contains(name); }
};

//===----------------------------------------------------------------------===//
// Converters
//===----------------------------------------------------------------------===//

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

template <typename OpTy> ConvertFn unary() {
  return [](NodeContext &n, Results &r) -> LogicalResult {
    auto v = n.importer.create1<OpTy>(n.loc, n.input(0));
    if (failed(v))
      return failure();
    r.push_back(*v);
    return success();
  };
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

template <typename OpTy> ConvertFn binary() {
  return [](NodeContext &n, Results &r) -> LogicalResult {
    auto rhs = legacyBroadcastOperand(n, n.input(0), n.input(1));
    if (failed(rhs))
      return failure();
    auto v = n.importer.create1<OpTy>(n.loc, n.input(0), *rhs);
    if (failed(v))
      return failure();
    r.push_back(*v);
    return success();
  };
}

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

/// Spatial attributes shared by Conv, ConvTranspose and pooling.
struct WindowAttrs {
  SmallVector<int64_t> kernel, strides, dilations, pads;
};

FailureOr<WindowAttrs> windowAttrs(Importer &imp, NodeContext &n, Value x,
                                   std::optional<ArrayRef<int64_t>> kernel,
                                   bool padsFromAuto = true) {
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
    if (failed(v))
      return failure();
    r.push_back(*v);
    return success();
  };
}

template <typename OpTy> ConvertFn softmax() {
  return [](NodeContext &n, Results &r) -> LogicalResult {
    Importer &imp = n.importer;
    Value x = n.input(0);
    auto shape = shapeOf(x);
    int64_t rank = shape.size();
    bool legacy = imp.opset < 13;
    auto a = imp.axis(n, n.getInt("axis", legacy ? 1 : -1), rank);
    if (failed(a))
      return failure();
    if (!legacy || *a == rank - 1) {
      auto v = imp.create1<OpTy>(n.loc, x, imp.b().getI64IntegerAttr(*a));
      if (failed(v))
        return failure();
      r.push_back(*v);
      return success();
    }
    // Before opset 13 the input is coerced to 2-D at `axis`.
    int64_t outer = numElements(shape.take_front(*a));
    int64_t inner = numElements(shape.drop_front(*a));
    auto flat = imp.reshape(n.loc, x, {outer, inner});
    if (failed(flat))
      return failure();
    auto v = imp.create1<OpTy>(n.loc, *flat, imp.b().getI64IntegerAttr(1));
    if (failed(v))
      return failure();
    auto back = imp.reshape(n.loc, *v, shape);
    if (failed(back))
      return failure();
    r.push_back(*back);
    return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
}

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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
}

LogicalResult convertConcat(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  SmallVector<Value> ins;
  for (Value v : n.inputs)
    if (v)
      ins.push_back(v);
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
}

LogicalResult convertGather(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  auto a = imp.axis(n, n.getInt("axis", 0), shapeOf(n.input(0)).size());
  if (failed(a))
    return failure();
  auto v = imp.create1<GatherOp>(n.loc, n.input(0), n.input(1),
                                 imp.b().getI64IntegerAttr(*a));
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
}

LogicalResult convertExpand(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  auto s = imp.constInts(n, n.input(1), "shape");
  if (failed(s))
    return failure();
  auto v = imp.create1<BroadcastToOp>(n.loc, n.input(0),
                                      imp.b().getDenseI64ArrayAttr(*s));
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
}

LogicalResult convertBatchNorm(NodeContext &n, Results &r) {
  Importer &imp = n.importer;
  if (n.getInt("training_mode", 0) != 0)
    return imp.unsupported(n.loc, "BatchNormalization in training mode");
  auto v = imp.create1<BatchNormOp>(
      n.loc, n.input(0), n.input(1), n.input(2), n.input(3), n.input(4),
      imp.b().getF32FloatAttr(n.getFloat("epsilon", 1e-5f)));
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  SmallVector<Value> ins;
  for (Value v : n.inputs)
    if (v)
      ins.push_back(v);
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
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

/// `size` elements of `v` from `start` along `axis`, `step` apart.
FailureOr<Value> sliceAxis(NodeContext &n, Value v, int64_t axis, int64_t start,
                           int64_t size, int64_t step = 1) {
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
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

/// not(a OP b): LessOrEqual, GreaterOrEqual and Xor from the dialect's
/// comparisons.
template <typename OpTy> ConvertFn negated() {
  return [](NodeContext &n, Results &r) -> LogicalResult {
    auto cmp = n.importer.create1<OpTy>(n.loc, n.input(0), n.input(1));
    if (failed(cmp))
      return failure();
    auto v = n.importer.create1<NotOp>(n.loc, *cmp);
    if (failed(v))
      return failure();
    r.push_back(*v);
    return success();
  };
}

/// Boolean logic as a select on input 0: where(a, input[thenInput],
/// input[elseInput]).
ConvertFn select(int thenInput, int elseInput) {
  return [=](NodeContext &n, Results &r) -> LogicalResult {
    auto v = n.importer.create1<WhereOp>(n.loc, n.input(0), n.input(thenInput),
                                         n.input(elseInput));
    if (failed(v))
      return failure();
    r.push_back(*v);
    return success();
  };
}

/// The one table of supported ONNX operators and their converters.
const llvm::StringMap<ConvertFn> &converterTable() {
  static const llvm::StringMap<ConvertFn> table = [] {
    llvm::StringMap<ConvertFn> c;
    c["Neg"] = unary<NegOp>();
    c["Abs"] = unary<AbsOp>();
    c["Exp"] = unary<ExpOp>();
    c["Log"] = unary<LogOp>();
    c["Tanh"] = unary<TanhOp>();
    c["Erf"] = unary<ErfOp>();
    c["Relu"] = [](NodeContext &n, Results &r) -> LogicalResult {
      if (failed(requireF32(n, n.input(0))))
        return failure();
      return unary<ReluOp>()(n, r);
    };
    c["Sigmoid"] = unary<SigmoidOp>();
    c["Sqrt"] = unary<SqrtOp>();
    c["Reciprocal"] = unary<ReciprocalOp>();
    c["HardSwish"] = unary<HardSwishOp>();
    c["Not"] = unary<NotOp>();
    c["LeakyRelu"] = [](NodeContext &n, Results &r) -> LogicalResult {
      auto v = n.importer.create1<LeakyReluOp>(
          n.loc, n.input(0),
          n.importer.b().getF32FloatAttr(n.getFloat("alpha", 0.01f)));
      if (failed(v))
        return failure();
      r.push_back(*v);
      return success();
    };
    c["HardSigmoid"] = [](NodeContext &n, Results &r) -> LogicalResult {
      auto &b = n.importer.b();
      auto v = n.importer.create1<HardSigmoidOp>(
          n.loc, n.input(0), b.getF32FloatAttr(n.getFloat("alpha", 0.2f)),
          b.getF32FloatAttr(n.getFloat("beta", 0.5f)));
      if (failed(v))
        return failure();
      r.push_back(*v);
      return success();
    };
    c["Gelu"] = [](NodeContext &n, Results &r) -> LogicalResult {
      std::string approx = n.getString("approximate", "none");
      if (approx != "none" && approx != "tanh")
        return n.importer.invalid(n.loc, "Gelu approximate '" + approx + "'");
      auto v = n.importer.create1<GeluOp>(n.loc, n.input(0),
                                          n.importer.b().getStringAttr(approx));
      if (failed(v))
        return failure();
      r.push_back(*v);
      return success();
    };
    c["Clip"] = convertClip;
    c["Add"] = binary<AddOp>();
    c["Sub"] = binary<SubOp>();
    c["Mul"] = binary<MulOp>();
    c["Div"] = binary<DivOp>();
    c["Pow"] = convertPow;
    c["Equal"] = binary<EqualOp>();
    c["Less"] = binary<LessOp>();
    c["Greater"] = binary<GreaterOp>();
    // Comparisons and logic beyond the graph dialect's primitives are
    // composed exactly from them; exporters emit these mostly on constant
    // masks, which then fold away.
    c["LessOrEqual"] = negated<GreaterOp>();
    c["GreaterOrEqual"] = negated<LessOp>();
    c["Xor"] = negated<EqualOp>();
    // a and b == (a ? b : a); a or b == (a ? a : b).
    c["And"] = select(/*thenInput=*/1, /*elseInput=*/0);
    c["Or"] = select(/*thenInput=*/0, /*elseInput=*/1);
    // Activations outside the dialect's primitives, composed exactly.
    c["PRelu"] = [](NodeContext &n, Results &r) -> LogicalResult {
      Importer &imp = n.importer;
      Value x = n.input(0), slope = n.input(1);
      auto xs = shapeOf(x), ss = shapeOf(slope);
      if (imp.opset < 7 && ss.size() == 1 && xs.size() > 2 && ss[0] == xs[1] &&
          xs.back() != ss[0]) {
        // Before opset 7 a 1-D slope is per channel (dimension 1).
        SmallVector<int64_t> perChannel(xs.size() - 1, 1);
        perChannel[0] = ss[0];
        auto reshaped = imp.reshape(n.loc, slope, perChannel);
        if (failed(reshaped))
          return failure();
        slope = *reshaped;
      }
      auto neg = imp.create1<LessOp>(n.loc, x, imp.scalarLike(n.loc, x, 0.0));
      auto scaled = imp.create1<MulOp>(n.loc, x, slope);
      if (failed(neg) || failed(scaled))
        return failure();
      auto v = imp.create1<WhereOp>(n.loc, *neg, *scaled, x);
      if (failed(v))
        return failure();
      r.push_back(*v);
      return success();
    };
    c["Elu"] = [](NodeContext &n, Results &r) -> LogicalResult {
      return composeElu(n, r, n.getFloat("alpha", 1.0f), 1.0f);
    };
    c["Selu"] = [](NodeContext &n, Results &r) -> LogicalResult {
      return composeElu(n, r, n.getFloat("alpha", 1.67326319217681884765625f),
                        n.getFloat("gamma", 1.05070102214813232421875f));
    };
    c["Softplus"] = [](NodeContext &n, Results &r) -> LogicalResult {
      Importer &imp = n.importer;
      Value x = n.input(0);
      auto e = imp.create1<ExpOp>(n.loc, x);
      if (failed(e))
        return failure();
      auto p = imp.create1<AddOp>(n.loc, *e, imp.scalarLike(n.loc, x, 1.0));
      if (failed(p))
        return failure();
      auto v = imp.create1<LogOp>(n.loc, *p);
      if (failed(v))
        return failure();
      r.push_back(*v);
      return success();
    };
    // Variadic Max/Min/Sum/Mean fold pairwise with broadcasting.
    c["Max"] = [](NodeContext &n, Results &r) {
      return composeVariadic(n, r, /*kind=*/'>');
    };
    c["Min"] = [](NodeContext &n, Results &r) {
      return composeVariadic(n, r, '<');
    };
    c["Sum"] = [](NodeContext &n, Results &r) {
      return composeVariadic(n, r, '+');
    };
    c["Mean"] = [](NodeContext &n, Results &r) {
      return composeVariadic(n, r, 'm');
    };
    c["Where"] = [](NodeContext &n, Results &r) -> LogicalResult {
      auto v = n.importer.create1<WhereOp>(n.loc, n.input(0), n.input(1),
                                           n.input(2));
      if (failed(v))
        return failure();
      r.push_back(*v);
      return success();
    };
    c["MatMul"] = convertMatMul;
    c["Gemm"] = convertGemm;
    c["Conv"] = convertConv;
    c["ConvTranspose"] = convertConvTranspose;
    c["BatchNormalization"] = convertBatchNorm;
    c["LayerNormalization"] = convertLayerNorm;
    c["MaxPool"] = [](NodeContext &n, Results &r) {
      return convertPool(n, r, true);
    };
    c["AveragePool"] = [](NodeContext &n, Results &r) {
      return convertPool(n, r, false);
    };
    c["GlobalAveragePool"] = [](NodeContext &n, Results &r) {
      return convertGlobalPool(n, r, false);
    };
    c["GlobalMaxPool"] = [](NodeContext &n, Results &r) {
      return convertGlobalPool(n, r, true);
    };
    c["ReduceMean"] = reduce('m', 18);
    c["ReduceSum"] = reduce('s', 13);
    c["ReduceMax"] = reduce('>', 18);
    c["ReduceMin"] = reduce('<', 18);
    c["ReduceProd"] = reduce('*', 18);
    c["Softmax"] = softmax<SoftmaxOp>();
    c["LogSoftmax"] = softmax<LogSoftmaxOp>();
    c["Reshape"] = convertReshape;
    c["Flatten"] = convertFlatten;
    c["Squeeze"] = convertSqueeze;
    c["Unsqueeze"] = convertUnsqueeze;
    c["Transpose"] = convertTranspose;
    c["Concat"] = convertConcat;
    c["Split"] = convertSplit;
    c["Slice"] = convertSlice;
    c["Gather"] = convertGather;
    c["GatherElements"] = convertGatherElements;
    c["GatherND"] = convertGatherND;
    c["Sin"] = foldedUnary([](double x) { return std::sin(x); });
    c["Cos"] = foldedUnary([](double x) { return std::cos(x); });
    c["Floor"] = foldedUnary([](double x) { return std::floor(x); });
    c["Ceil"] = foldedUnary([](double x) { return std::ceil(x); });
    // Halves round to even, as ONNX Round specifies (the default FE mode).
    c["Round"] = foldedUnary([](double x) { return std::nearbyint(x); });
    c["Mod"] = convertMod;
    c["CumSum"] = convertCumSum;
    c["ScatterND"] = convertScatterND;
    c["Trilu"] = convertTrilu;
    c["RMSNormalization"] = convertRMSNorm;
    c["RotaryEmbedding"] = convertRotaryEmbedding;
    c["Tile"] = convertTile;
    c["Expand"] = convertExpand;
    c["Cast"] = convertCast;
    c["Identity"] = [](NodeContext &n, Results &r) -> LogicalResult {
      r.push_back(n.input(0));
      return success();
    };
    c["Dropout"] = [](NodeContext &n, Results &r) -> LogicalResult {
      Importer &imp = n.importer;
      if (n.input(2)) {
        auto training = imp.constInts(n, n.input(2), "training_mode");
        if (failed(training))
          return failure();
        if (!training->empty() && (*training)[0] != 0)
          return imp.unsupported(n.loc, "Dropout in training mode");
      }
      r.push_back(n.input(0));
      if (n.numOutputs() > 1 && !n.node.output(1).empty()) {
        // In inference mode nothing is dropped: the mask is all true.
        auto type =
            RankedTensorType::get(shapeOf(n.input(0)), imp.b().getI1Type());
        r.push_back(imp.constant(n.loc, DenseElementsAttr::get(type, true)));
      }
      return success();
    };
    c["Constant"] = convertConstant;
    c["ConstantOfShape"] = convertConstantOfShape;
    c["Shape"] = convertShape;
    c["Range"] = convertRange;
    c["Size"] = [](NodeContext &n, Results &r) -> LogicalResult {
      int64_t count = numElements(shapeOf(n.input(0)));
      r.push_back(n.importer.constantI64(n.loc, {count}, ArrayRef<int64_t>{}));
      return success();
    };
    c["Resize"] = convertResize;
    c["Pad"] = convertPad;
    return c;
  }();
  return table;
}

//===----------------------------------------------------------------------===//
// Graph walk
//===----------------------------------------------------------------------===//

LogicalResult Importer::importNode(const onnx::NodeProto &node, size_t index) {
  Location loc = nodeLoc(node, index);
  if (!node.domain().empty() && node.domain() != "ai.onnx")
    return unsupported(loc, "operator " + node.domain() + "." + node.op_type() +
                                " (domain '" + node.domain() + "')");
  auto it = converterTable().find(node.op_type());
  if (it == converterTable().end())
    return unsupported(loc, "operator " + node.op_type());

  NodeContext n{node, loc, {}, *this};
  for (const std::string &name : node.input()) {
    if (name.empty()) {
      n.inputs.push_back(Value());
      continue;
    }
    auto v = values.find(name);
    if (v == values.end())
      return invalid(loc,
                     node.op_type() + " reads undefined tensor '" + name + "'");
    n.inputs.push_back(v->second);
  }
  // Trailing absent inputs are the same as missing ones; required inputs
  // checked here keep every converter from null dereferences.
  static const llvm::StringMap<int> requiredInputs = {
      {"Add", 2},
      {"Sub", 2},
      {"Mul", 2},
      {"Div", 2},
      {"Pow", 2},
      {"Equal", 2},
      {"Less", 2},
      {"Greater", 2},
      {"Where", 3},
      {"LessOrEqual", 2},
      {"GreaterOrEqual", 2},
      {"And", 2},
      {"Or", 2},
      {"Xor", 2},
      {"PRelu", 2},
      {"MatMul", 2},
      {"Gemm", 2},
      {"Conv", 2},
      {"ConvTranspose", 2},
      {"BatchNormalization", 5},
      {"LayerNormalization", 2},
      {"Gather", 2},
      {"Expand", 2},
      {"GatherElements", 2},
      {"GatherND", 2},
      {"Mod", 2},
      {"CumSum", 2},
      {"ScatterND", 3},
      {"Tile", 2},
      {"RMSNormalization", 2},
      {"RotaryEmbedding", 3},
      {"ConstantOfShape", 1},
      {"Range", 3},
      {"Constant", 0},
  };
  int required = 1;
  if (auto r = requiredInputs.find(node.op_type()); r != requiredInputs.end())
    required = r->second;
  if (node.op_type() == "Reshape" && opset >= 5)
    required = 2;
  if (node.op_type() == "Slice" && opset >= 10)
    required = 3;
  if (node.op_type() == "Pad" && opset >= 11)
    required = 2;
  for (int i = 0; i < required; ++i)
    if (i >= (int)n.inputs.size() || !n.inputs[i])
      return invalid(loc,
                     node.op_type() + " is missing required input " + Twine(i));
  if (node.op_type() == "Concat" && n.inputs.empty())
    return invalid(loc, "Concat has no inputs");

  Results results;
  if (failed(it->second(n, results)))
    return failure();
  size_t produced = std::min<size_t>(results.size(), node.output_size());
  if (results.size() < 1 || (node.op_type() == "Split" &&
                             results.size() != (size_t)node.output_size()))
    return invalid(loc, node.op_type() + " produced no result");
  // Extra ONNX outputs (e.g. LayerNormalization's Mean) must be unused.
  if (failed(onlyFirstOutputs(*this, n, produced)))
    return failure();
  for (size_t i = 0; i < produced; ++i) {
    if (node.output(i).empty())
      continue;
    nameResult(results[i], node.output(i));
    if (values.count(node.output(i)))
      return invalid(loc, "tensor '" + node.output(i) +
                              "' is produced more than once");
    values[node.output(i)] = results[i];
  }
  return success();
}

LogicalResult Importer::freezeInput(Location loc,
                                    const onnx::ValueInfoProto &in,
                                    const FrozenInput &frozen) {
  const auto &tt = in.type().tensor_type();
  if (in.type().has_tensor_type() && tt.elem_type() != frozen.onnxType)
    return invalid(loc, "--freeze-input " + in.name() + " has element type " +
                            onnxTypeName(frozen.onnxType) +
                            " but the model declares " +
                            onnxTypeName(tt.elem_type()));
  if (in.type().has_tensor_type() && tt.has_shape()) {
    bool ok = tt.shape().dim_size() == (int)frozen.shape.size();
    for (int i = 0; ok && i < tt.shape().dim_size(); ++i)
      if (tt.shape().dim(i).has_dim_value() &&
          tt.shape().dim(i).dim_value() != frozen.shape[i])
        ok = false;
    if (!ok)
      return invalid(loc, "--freeze-input " + in.name() + " has shape " +
                              shapeStr(frozen.shape) +
                              ", which the model's declaration rejects");
  }
  onnx::TensorProto tensor;
  tensor.set_name(in.name());
  tensor.set_data_type(frozen.onnxType);
  for (int64_t d : frozen.shape)
    tensor.add_dims(d);
  tensor.set_raw_data(frozen.bytes.data(), frozen.bytes.size());
  auto read = readTensorProto(context, tensor, modelDir);
  if (!read.value)
    return read.unsupported ? unsupported(loc, read.error)
                            : invalid(loc, read.error);
  frozenValues.emplace_back(in.name(), read.value);
  return success();
}

LogicalResult Importer::importGraph(func::FuncOp &funcOut) {
  const onnx::GraphProto &graph = model.graph();
  Location graphLoc = NameLoc::get(
      StringAttr::get(&context, graph.name().empty() ? "graph" : graph.name()));

  // Initializers become constants; graph inputs that share their name are
  // defaults (IR version < 4) and are not program inputs.
  llvm::StringSet<> initializerNames;
  for (const auto &init : graph.initializer())
    initializerNames.insert(init.name());
  if (graph.sparse_initializer_size() > 0)
    return unsupported(graphLoc, "sparse initializers");

  // Program inputs with pinned static shapes.
  SmallVector<Type> inputTypes;
  SmallVector<std::string> inputNames;
  llvm::StringSet<> pinnedUsed, frozenUsed;
  for (const auto &in : graph.input()) {
    if (initializerNames.contains(in.name()))
      continue;
    Location loc = NameLoc::get(StringAttr::get(&context, in.name()));
    if (auto frozen = options.frozenInputs.find(in.name());
        frozen != options.frozenInputs.end()) {
      frozenUsed.insert(in.name());
      if (auto pinned = options.inputShapes.find(in.name());
          pinned != options.inputShapes.end()) {
        pinnedUsed.insert(in.name());
        if (pinned->second != frozen->second.shape)
          return invalid(loc, "--input-shape " + in.name() + "=" +
                                  shapeStr(pinned->second) +
                                  " differs from its --freeze-input shape " +
                                  shapeStr(frozen->second.shape));
      }
      if (failed(freezeInput(loc, in, frozen->second)))
        return failure();
      continue;
    }
    if (!in.type().has_tensor_type())
      return unsupported(loc, "input '" + in.name() +
                                  "' is not a tensor (sequence, map or "
                                  "optional)");
    const auto &tt = in.type().tensor_type();
    Type et = elementTypeFromOnnx(context, tt.elem_type());
    if (!et)
      return unsupported(loc, "input '" + in.name() + "' has element type " +
                                  onnxTypeName(tt.elem_type()));
    SmallVector<int64_t> shape;
    auto pinned = options.inputShapes.find(in.name());
    if (!tt.has_shape() && pinned == options.inputShapes.end())
      return invalid(loc, "input '" + in.name() +
                              "' has no shape; pin it with --input-shape " +
                              in.name() + "=D0,D1,...");
    if (tt.has_shape())
      for (const auto &d : tt.shape().dim())
        shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
    if (pinned != options.inputShapes.end()) {
      pinnedUsed.insert(in.name());
      const auto &p = pinned->second;
      if (tt.has_shape() && p.size() != shape.size())
        return invalid(loc, "--input-shape " + in.name() + " has rank " +
                                Twine(p.size()) + " but the model declares " +
                                shapeStr(shape));
      for (size_t i = 0; i < shape.size(); ++i)
        if (shape[i] >= 0 && shape[i] != p[i])
          return invalid(loc, "--input-shape " + in.name() + "=" + shapeStr(p) +
                                  " conflicts with the model's " +
                                  shapeStr(shape));
      shape.assign(p.begin(), p.end());
    }
    for (size_t i = 0; i < shape.size(); ++i)
      if (shape[i] < 0)
        return invalid(loc, "input '" + in.name() + "' dimension " + Twine(i) +
                                " is dynamic " + shapeStr(shape) +
                                "; pin it with --input-shape " + in.name() +
                                "=D0,D1,...");
    inputTypes.push_back(RankedTensorType::get(shape, et));
    inputNames.push_back(in.name());
  }
  for (const auto &entry : options.frozenInputs)
    if (!frozenUsed.contains(entry.first))
      return invalid(graphLoc, "--freeze-input names '" + entry.first +
                                   "', which is not an input of the model");
  for (const auto &[name, dims] : options.inputShapes)
    if (!pinnedUsed.contains(name))
      return invalid(graphLoc, "--input-shape names '" + name +
                                   "', which is not an input of the model");

  // Which tensors are read; used to reject unsupported optional outputs only
  // when someone needs them.
  for (const auto &node : graph.node())
    for (const auto &name : node.input())
      consumed.insert(name);
  for (const auto &out : graph.output())
    consumed.insert(out.name());

  auto func = func::FuncOp::create(graphLoc, "main",
                                   builder.getFunctionType(inputTypes, {}));
  funcOut = func;
  Block *entry = func.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  for (auto &[name, value] : frozenValues)
    values[name] =
        constant(NameLoc::get(StringAttr::get(&context, name)), value);
  for (size_t i = 0; i < inputNames.size(); ++i) {
    entry->getArgument(i).setLoc(
        NameLoc::get(StringAttr::get(&context, inputNames[i])));
    values[inputNames[i]] = entry->getArgument(i);
    func.setArgAttr(i, "ss.name", builder.getStringAttr(inputNames[i]));
  }
  for (const auto &init : graph.initializer()) {
    Location loc = NameLoc::get(StringAttr::get(&context, init.name()));
    auto read = readTensorProto(context, init, modelDir);
    if (!read.value)
      return read.unsupported ? unsupported(loc, read.error)
                              : invalid(loc, read.error);
    if (!values.count(init.name()))
      values[init.name()] = constant(loc, read.value);
  }

  // Kahn's algorithm: ONNX requires topological order, but exporters do not
  // always deliver it, and a cycle must be an error rather than a hang.
  size_t count = graph.node_size();
  llvm::StringMap<SmallVector<size_t>> readers;
  SmallVector<size_t> missing(count, 0);
  llvm::StringSet<> producedNames;
  for (size_t i = 0; i < count; ++i)
    for (const auto &out : graph.node(i).output())
      if (!out.empty())
        producedNames.insert(out);
  for (size_t i = 0; i < count; ++i) {
    llvm::StringSet<> seen;
    for (const auto &name : graph.node(i).input()) {
      if (name.empty() || values.count(name) || !producedNames.contains(name) ||
          !seen.insert(name).second)
        continue;
      readers[name].push_back(i);
      ++missing[i];
    }
  }
  SmallVector<size_t> ready;
  for (size_t i = count; i-- > 0;)
    if (missing[i] == 0)
      ready.push_back(i);
  // Process in file order where possible, so emitted code follows the model.
  std::vector<bool> done(count, false);
  size_t processed = 0;
  while (!ready.empty()) {
    auto minIt = std::min_element(ready.begin(), ready.end());
    size_t i = *minIt;
    ready.erase(minIt);
    if (failed(importNode(graph.node(i), i)))
      return failure();
    done[i] = true;
    ++processed;
    for (const auto &out : graph.node(i).output()) {
      auto it = readers.find(out);
      if (it == readers.end())
        continue;
      for (size_t reader : it->second)
        if (--missing[reader] == 0)
          ready.push_back(reader);
    }
  }
  if (processed != count) {
    for (size_t i = 0; i < count; ++i)
      if (!done[i])
        return invalid(nodeLoc(graph.node(i), i),
                       "graph has a cycle through node '" +
                           graph.node(i).name() + "' (" +
                           graph.node(i).op_type() + ")");
  }

  // Outputs, checked against the model's declared shapes.
  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  if (graph.output_size() == 0)
    return invalid(graphLoc, "graph has no outputs");
  for (const auto &out : graph.output()) {
    Location loc = NameLoc::get(StringAttr::get(&context, out.name()));
    auto v = values.find(out.name());
    if (v == values.end())
      return invalid(loc, "graph output '" + out.name() +
                              "' is not produced by any node");
    auto type = tensorTypeOf(v->second);
    if (out.type().has_tensor_type()) {
      const auto &tt = out.type().tensor_type();
      Type declared = elementTypeFromOnnx(context, tt.elem_type());
      if (tt.elem_type() != 0 && declared != type.getElementType())
        return invalid(loc, "graph output '" + out.name() + "' is declared " +
                                onnxTypeName(tt.elem_type()) +
                                " but computes a different element type");
      if (tt.has_shape()) {
        const auto &dims = tt.shape().dim();
        bool rankOk = dims.size() == (int)type.getRank();
        for (int i = 0; rankOk && i < dims.size(); ++i)
          if (dims[i].has_dim_value() &&
              dims[i].dim_value() != type.getDimSize(i))
            rankOk = false;
        if (!rankOk) {
          SmallVector<int64_t> d;
          for (const auto &x : dims)
            d.push_back(x.has_dim_value() ? x.dim_value() : -1);
          return invalid(loc, "graph output '" + out.name() + "' is declared " +
                                  shapeStr(d) + " but computes " +
                                  shapeStr(type.getShape()));
        }
      }
    }
    results.push_back(v->second);
    resultTypes.push_back(type);
  }
  builder.create<func::ReturnOp>(graphLoc, results);
  func.setType(builder.getFunctionType(inputTypes, resultTypes));
  for (int i = 0; i < graph.output_size(); ++i)
    func.setResultAttr(i, "ss.name",
                       builder.getStringAttr(graph.output(i).name()));
  return success();
}

OwningOpRef<ModuleOp> Importer::run(const std::string &path) {
  Location fileLoc = FileLineColLoc::get(&context, path, 0, 0);
  for (const auto &op : model.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx")
      opset = op.version();
  if (opset == 0 && model.opset_import_size() == 0)
    opset = 1;
  // Opsets 19 to 23 changed the ops in converterTable() only by new element
  // types and by attributes or modes the converters already check (Pad
  // "wrap", Resize "half_pixel_symmetric", AveragePool dilations, Cast
  // saturate for float8), so they import as opset 18 does; ops new in them
  // (Gelu 20, RMSNormalization and RotaryEmbedding 23) have converters.
  // torch.onnx.export writes opset 20 by default.
  constexpr int64_t kMaxOpset = 23;
  if (opset < 1 || opset > kMaxOpset) {
    emitError(fileLoc) << "unsupported: ONNX opset " << opset
                       << " (supported: 1 to " << kMaxOpset << ")";
    status = ImportStatus::Unsupported;
    return nullptr;
  }
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  std::string name =
      model.graph().name().empty() ? "model" : model.graph().name();
  (*module)->setAttr("ss.model", StringAttr::get(&context, name));
  (*module)->setAttr("ss.opset", builder.getI64IntegerAttr(opset));
  func::FuncOp func;
  LogicalResult result = importGraph(func);
  if (func)
    module->push_back(func);
  if (failed(result)) {
    if (status == ImportStatus::Ok)
      status = ImportStatus::Invalid;
    return nullptr;
  }
  if (failed(verify(*module))) {
    status = ImportStatus::Invalid;
    return nullptr;
  }
  return module;
}

} // namespace

OwningOpRef<ModuleOp> importOnnxModel(MLIRContext &context,
                                      const std::string &path,
                                      const ImportOptions &options,
                                      ImportStatus &status) {
  context.loadDialect<graph::GraphDialect, func::FuncDialect>();
  Location fileLoc = FileLineColLoc::get(&context, path, 0, 0);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    emitError(fileLoc) << "cannot open '" << path << "'";
    status = ImportStatus::Invalid;
    return nullptr;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string bytes = buffer.str();
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes) || !model.has_graph()) {
    emitError(fileLoc) << "'" << path
                       << "' is not a valid ONNX model (protobuf parse "
                          "failed or no graph)";
    status = ImportStatus::Invalid;
    return nullptr;
  }
  std::string dir = ".";
  if (auto slash = path.find_last_of('/'); slash != std::string::npos)
    dir = path.substr(0, slash);
  Importer importer(context, model, dir, options);
  auto module = importer.run(path);
  status = importer.status;
  return module;
}

bool listOnnxNodes(const std::string &path, std::vector<OnnxNodeInfo> &nodes,
                   std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open '" + path + "'";
    return false;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  onnx::ModelProto model;
  if (!model.ParseFromString(buffer.str()) || !model.has_graph()) {
    error = "'" + path + "' is not a valid ONNX model";
    return false;
  }
  const auto &graph = model.graph();
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto &node = graph.node(i);
    nodes.push_back({node.name().empty()
                         ? node.op_type() + "_" + std::to_string(i)
                         : node.name(),
                     node.op_type(), node.domain()});
  }
  return true;
}

std::vector<std::string> supportedOnnxOps() {
  std::vector<std::string> names;
  for (const auto &entry : converterTable())
    names.push_back(entry.getKey().str());
  llvm::sort(names);
  return names;
}

} // namespace ss
