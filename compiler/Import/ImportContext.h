//===- ImportContext.h - shared state of the ONNX importer ------*- C++ -*-===//
//
// What the importer's converters share: the node being converted
// (NodeContext), the importer with its checked op creation (Importer), and
// the converter functions, grouped by file (ConvertElementwise.cpp,
// ConvertNN.cpp, ConvertDataMovement.cpp). Internal to compiler/Import.
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_IMPORT_IMPORTCONTEXT_H
#define SS_COMPILER_IMPORT_IMPORTCONTEXT_H

#include "Import/OnnxImporter.h"
#include "Import/OnnxTensors.h"

#include "Graph/GraphDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <functional>
#include <numeric>
#include <optional>
#include <string>

namespace ss {
namespace importer {

using namespace mlir;
using namespace ss::graph;

/// Pretty-prints a shape as "[2, 3]".
inline std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") +
         (shape[i] < 0 ? std::string("?") : std::to_string(shape[i]));
  return s + "]";
}

inline RankedTensorType tensorTypeOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}

inline ArrayRef<int64_t> shapeOf(Value v) { return tensorTypeOf(v).getShape(); }

inline int64_t numElements(ArrayRef<int64_t> shape) {
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
  /// The inputs that are present (variadic ops may skip some).
  SmallVector<Value> presentInputs() const {
    SmallVector<Value> present;
    for (Value v : inputs)
      if (v)
        present.push_back(v);
    return present;
  }
};

using Results = SmallVector<Value>;
using ConvertFn = std::function<LogicalResult(NodeContext &, Results &)>;

/// Appends a converter's one result, or passes its failure on.
inline LogicalResult pushResult(Results &r, FailureOr<Value> v) {
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
}

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
  /// A float initializer of rank >= 1: a parameter when training.
  static bool isParameter(Value v) {
    auto c = v.getDefiningOp<ConstantOp>();
    return c && c->hasAttr(kInitializerAttr) &&
           c.getType().getElementType().isF32() && c.getType().getRank() > 0;
  }

  Results foldOrKeep(Operation *op) {
    SmallVector<OpFoldResult> folded;
    if (options.keepParameters && llvm::any_of(op->getOperands(), isParameter))
      return Results(op->getResults().begin(), op->getResults().end());
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

/// Spatial attributes shared by Conv, ConvTranspose and pooling.
struct WindowAttrs {
  SmallVector<int64_t> kernel, strides, dilations, pads;
};

//===----------------------------------------------------------------------===//
// Converters
//===----------------------------------------------------------------------===//

// ConvertElementwise.cpp
/// Requires that optional outputs past `count` are unused.
LogicalResult onlyFirstOutputs(Importer &imp, NodeContext &n, size_t count);

/// ONNX allows integer tensors for a few ops (Relu, MatMul, Gemm, MaxPool,
/// Resize) that the graph dialect computes in float32 only: such a model is
/// valid, so it is unsupported (exit 2) rather than invalid.
LogicalResult requireF32(NodeContext &n, Value v);

/// Before opset 7, binary ops broadcast only with `broadcast=1`, aligning
/// the second operand at `axis` (default: trailing). Reshaping it with
/// trailing 1s turns that into numpy broadcasting.
FailureOr<Value> legacyBroadcastOperand(NodeContext &n, Value lhs, Value rhs);

LogicalResult convertCast(NodeContext &n, Results &r);

LogicalResult convertClip(NodeContext &n, Results &r);

LogicalResult convertPow(NodeContext &n, Results &r);

/// Elu (gamma 1) and Selu: gamma * (x > 0 ? x : alpha * (exp(x) - 1)).
LogicalResult composeElu(NodeContext &n, Results &r, float alpha, float gamma);

/// Max ('>'), Min ('<'), Sum ('+') and Mean ('m') over any number of inputs.
LogicalResult composeVariadic(NodeContext &n, Results &r, char kind);

/// Elementwise math the graph dialect has no op for, evaluated at compile
/// time when the input is a constant: rotary embeddings take Sin/Cos of
/// position tables that are constant once the sequence length is pinned.
ConvertFn foldedUnary(double (*fn)(double));

/// Numpy broadcast of two static shapes, or failure.
std::optional<SmallVector<int64_t>> broadcastShape(ArrayRef<int64_t> a,
                                                   ArrayRef<int64_t> b);

/// Mod on compile-time constants (shape arithmetic such as Swin's window
/// padding, `(w - W % w) % w`): integer results take the divisor's sign
/// (fmod=0) or the dividend's (fmod=1), as in ONNX.
LogicalResult convertMod(NodeContext &n, Results &r);

/// Boolean logic as a select on input 0: where(a, input[thenInput],
/// input[elseInput]).
ConvertFn select(int thenInput, int elseInput);

// ConvertNN.cpp
/// Pads for `auto_pad` SAME_UPPER/SAME_LOWER/VALID, or the explicit `pads`.
FailureOr<SmallVector<int64_t>> resolvePads(Importer &imp, NodeContext &n,
                                            ArrayRef<int64_t> inSpatial,
                                            ArrayRef<int64_t> kernel,
                                            ArrayRef<int64_t> strides,
                                            ArrayRef<int64_t> dilations);

FailureOr<WindowAttrs> windowAttrs(Importer &imp, NodeContext &n, Value x,
                                   std::optional<ArrayRef<int64_t>> kernel,
                                   bool padsFromAuto = true);

LogicalResult convertConv(NodeContext &n, Results &r);

LogicalResult convertConvTranspose(NodeContext &n, Results &r);

LogicalResult convertPool(NodeContext &n, Results &r, bool isMax);

/// Evaluates a reduction of the constant `in` over sorted, unique `axes`:
/// 's' sum, 'm' mean, '>' max, '<' min, '*' product. Integers reduce in
/// int64 (a mean truncates), floats in double rounded once to float32.
DenseElementsAttr evalReduce(DenseElementsAttr in, ArrayRef<int64_t> axes,
                             bool keepdims, char kind);

/// Reduce* ops: axes from the attribute (older opsets) or the second input.
/// `kind` as in evalReduce. Float32 tensors reduce at run time (ReduceMin
/// as -ReduceMax(-x), which is exact); other element types and ReduceProd
/// are evaluated at compile time, on constants.
ConvertFn reduce(char kind, int64_t axesInputSince);

LogicalResult convertMatMul(NodeContext &n, Results &r);

LogicalResult convertGemm(NodeContext &n, Results &r);

LogicalResult convertBatchNorm(NodeContext &n, Results &r);

LogicalResult convertLayerNorm(NodeContext &n, Results &r);

LogicalResult convertGlobalPool(NodeContext &n, Results &r, bool isMax);

/// RMSNormalization (opset 23) as the exporters wrote it before: x times
/// 1 / sqrt(mean(x^2 over axis..last) + epsilon), times scale.
LogicalResult convertRMSNorm(NodeContext &n, Results &r);

/// RotaryEmbedding (opset 23) composed as in its ONNX function: on x as
/// [batch, seq, heads, head], the first rotary_dim features split into
/// halves (or even/odd pairs when interleaved) x1, x2 become
/// (cos x1 - sin x2, sin x1 + cos x2); the rest pass through. Caches are
/// gathered at position_ids when given. Torch writes it for LLaMA at 23.
LogicalResult convertRotaryEmbedding(NodeContext &n, Results &r);

// ConvertDataMovement.cpp
LogicalResult convertReshape(NodeContext &n, Results &r);

LogicalResult convertFlatten(NodeContext &n, Results &r);

FailureOr<SmallVector<int64_t>> axesOf(NodeContext &n, int64_t inputSince);

LogicalResult convertSqueeze(NodeContext &n, Results &r);

LogicalResult convertUnsqueeze(NodeContext &n, Results &r);

LogicalResult convertTranspose(NodeContext &n, Results &r);

LogicalResult convertConcat(NodeContext &n, Results &r);

LogicalResult convertSplit(NodeContext &n, Results &r);

LogicalResult convertSlice(NodeContext &n, Results &r);

LogicalResult convertGather(NodeContext &n, Results &r);

LogicalResult convertExpand(NodeContext &n, Results &r);

LogicalResult convertConstant(NodeContext &n, Results &r);

LogicalResult convertConstantOfShape(NodeContext &n, Results &r);

LogicalResult convertShape(NodeContext &n, Results &r);

LogicalResult convertRange(NodeContext &n, Results &r);

LogicalResult convertPad(NodeContext &n, Results &r);

LogicalResult convertResize(NodeContext &n, Results &r);

/// Reads a constant index operand as int64 values, or reports it.
FailureOr<SmallVector<int64_t>> constIndices(NodeContext &n, Value v,
                                             StringRef what);

/// Reads rows of `data` viewed as [rows, rowSize] (as 1-D when rowSize is
/// 1) at compile-time row numbers `flat`, shaped `shape`, with one Gather;
/// the result is `shape` (+ [rowSize]). It folds when `data` is constant.
FailureOr<Value> gatherRows(NodeContext &n, Value data, int64_t rowCount,
                            int64_t rowSize, ArrayRef<int64_t> flat,
                            ArrayRef<int64_t> shape);

/// GatherElements with run-time indices: the flat offset of each output
/// element is its (wrapped) index times the axis stride plus a constant
/// offset from its other coordinates; one int64 Gather then reads data as
/// 1-D. RoBERTa gathers its token-type buffer at cumsum'd position ids.
LogicalResult gatherElementsAtRunTime(NodeContext &n, Results &r, int64_t axis,
                                      ArrayRef<int64_t> strides);

/// GatherElements with compile-time indices is one flat Gather. Exporters
/// write it for BERT's token_type_ids buffer (indices: position ids), which
/// folds away entirely once the sequence length is pinned.
LogicalResult convertGatherElements(NodeContext &n, Results &r);

/// GatherND with compile-time indices: each index tuple (with its batch
/// coordinates) becomes a row offset into data viewed as [rows, slice], read
/// with one Gather. Torch's dynamo exporter writes it for padding masks.
LogicalResult convertGatherND(NodeContext &n, Results &r);

/// `size` elements of `v` from `start` along `axis`, `step` apart.
FailureOr<Value> sliceAxis(NodeContext &n, Value v, int64_t axis, int64_t start,
                           int64_t size, int64_t step = 1);

/// `v` moved by `by` places along `axis` (towards the end, or towards the
/// start when `backward`), filled with zeros: one Slice and one Concat.
FailureOr<Value> shiftAxis(NodeContext &n, Value v, int64_t axis, int64_t by,
                           bool backward);

/// CumSum as a log-step prefix sum (Hillis-Steele): y += y shifted by 1, 2,
/// 4, ... along the axis. Integer results are exact; float sums associate
/// differently from a sequential loop, within rounding. RoBERTa-style
/// position ids (cumsum of the padding mask) need it at run time; OPT and
/// BLOOM's cumsum of an all-ones mask folds away.
LogicalResult convertCumSum(NodeContext &n, Results &r);

/// ScatterND with compile-time indices: a constant row map picks, for each
/// row of data viewed as [rows, slice], the last update written there, and a
/// constant mask keeps the rows nobody writes: Where(mask, Gather(updates),
/// data). BEiT's relative-position tables are built this way (and fold).
LogicalResult convertScatterND(NodeContext &n, Results &r);

/// Trilu keeps one triangle of the last two dimensions: Where(constant
/// mask, x, 0), exact for any input. Causal masks (torch.triu/tril) use it.
LogicalResult convertTrilu(NodeContext &n, Results &r);

/// Tile as a broadcast: x viewed as [1, d0, 1, d1, ...], broadcast to
/// [r0, d0, r1, d1, ...] and merged pairwise to [r0*d0, r1*d1, ...], which
/// is exactly out[i] = x[i mod d]. torch's repeat() exports as Tile.
LogicalResult convertTile(NodeContext &n, Results &r);

template <typename OpTy> ConvertFn unary() {
  return [](NodeContext &n, Results &r) -> LogicalResult {
    auto v = n.importer.create1<OpTy>(n.loc, n.input(0));
    return pushResult(r, v);
  };
}

template <typename OpTy> ConvertFn binary() {
  return [](NodeContext &n, Results &r) -> LogicalResult {
    auto rhs = legacyBroadcastOperand(n, n.input(0), n.input(1));
    if (failed(rhs))
      return failure();
    auto v = n.importer.create1<OpTy>(n.loc, n.input(0), *rhs);
    return pushResult(r, v);
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
      return pushResult(r, v);
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

/// not(a OP b): LessOrEqual, GreaterOrEqual and Xor from the dialect's
/// comparisons.
template <typename OpTy> ConvertFn negated() {
  return [](NodeContext &n, Results &r) -> LogicalResult {
    auto cmp = n.importer.create1<OpTy>(n.loc, n.input(0), n.input(1));
    if (failed(cmp))
      return failure();
    auto v = n.importer.create1<NotOp>(n.loc, *cmp);
    return pushResult(r, v);
  };
}

/// The one table of supported ONNX operators and their converters.
const llvm::StringMap<ConvertFn> &converterTable();

} // namespace importer
} // namespace ss

#endif // SS_COMPILER_IMPORT_IMPORTCONTEXT_H
