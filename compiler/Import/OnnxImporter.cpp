//===- OnnxImporter.cpp - ONNX model to graph dialect --------------------===//
//
// Walks the ONNX graph in topological order and builds graph-dialect ops.
// Every op is created through its own type inference, so a shape error
// becomes a diagnostic at the ONNX node rather than a crash, and every op
// whose operands are constants is folded on the spot: that is how shape
// subgraphs (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) disappear.
// This file holds the operator table and the graph walk; the converters
// live in Convert*.cpp, sharing ImportContext.h.
//
//===----------------------------------------------------------------------===//

#include "Import/ImportContext.h"

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
namespace importer {

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
      return pushResult(r, v);
    };
    c["HardSigmoid"] = [](NodeContext &n, Results &r) -> LogicalResult {
      auto &b = n.importer.b();
      auto v = n.importer.create1<HardSigmoidOp>(
          n.loc, n.input(0), b.getF32FloatAttr(n.getFloat("alpha", 0.2f)),
          b.getF32FloatAttr(n.getFloat("beta", 0.5f)));
      return pushResult(r, v);
    };
    c["Gelu"] = [](NodeContext &n, Results &r) -> LogicalResult {
      std::string approx = n.getString("approximate", "none");
      if (approx != "none" && approx != "tanh")
        return n.importer.invalid(n.loc, "Gelu approximate '" + approx + "'");
      auto v = n.importer.create1<GeluOp>(n.loc, n.input(0),
                                          n.importer.b().getStringAttr(approx));
      return pushResult(r, v);
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
      return pushResult(r, v);
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
      return pushResult(r, v);
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
      return pushResult(r, v);
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
    if (values.count(init.name()))
      continue;
    values[init.name()] = constant(loc, read.value);
    // Training makes the float initializers its parameters.
    values[init.name()].getDefiningOp()->setAttr(kInitializerAttr,
                                                 builder.getUnitAttr());
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

} // namespace importer

using importer::converterTable;
using importer::Importer;

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
