//===- CppEmitter.cpp - rank program emission ----------------------------===//
//
// Emits one C++ translation unit per distinct rank program: a `step`
// function with one runtime call per op (kernels and communication), each
// preceded by a comment naming the ONNX node and the plan decision, and a
// ProgramSpec with the tables of every rank that runs the program. Variables
// are named after the model's tensors; every buffer is a fixed arena offset.
//
// Ranks share a program when their functions agree once rank-specific data
// is abstracted: the groups and peers a rank talks to become slots (the
// k-th distinct group or peer in order of first use) looked up at run time
// in the rank's table, as do input box offsets; constants keep their types
// and order, so each rank's weights shard has the same layout.
//
//===----------------------------------------------------------------------===//

#include "Codegen/CppEmitter.h"
#include "Autodiff/Autodiff.h"
#include "Codegen/MemoryPlan.h"
#include "Codegen/RankFunctions.h"
#include "Dist/DistDialect.h"
#include "Graph/GraphDialect.h"
#include "Plan/Primitives.h"
#include "ssrt/ssrt.h"
#include "ssrt/weights.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include "llvm/Support/xxhash.h"

#include <cmath>
#include <map>
#include <numeric>

using namespace mlir;
using namespace ss::graph;

namespace ss {

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }
ArrayRef<int64_t> shapeOf(Value v) { return typeOf(v).getShape(); }
int64_t product(ArrayRef<int64_t> dims) {
  return std::accumulate(dims.begin(), dims.end(), int64_t(1),
                         std::multiplies<int64_t>());
}
int64_t numel(Value v) { return product(shapeOf(v)); }

/// How each supported element type appears in the program and manifest.
struct ElementInfo {
  const char *name;  // manifest dtype
  const char *dtype; // ssrt::DType enumerator
  const char *cType; // C++ pointer element type
};

/// The element info for `t`, or null for unsupported types.
const ElementInfo *elementInfo(Type t) {
  static const ElementInfo f32{"float32", "ssrt::DType::F32", "float"},
      i64{"int64", "ssrt::DType::I64", "int64_t"},
      i32{"int32", "ssrt::DType::I32", "int32_t"},
      i1{"bool", "ssrt::DType::Bool", "uint8_t"};
  if (t.isF32())
    return &f32;
  if (t.isInteger(64))
    return &i64;
  if (t.isInteger(32))
    return &i32;
  if (t.isInteger(1))
    return &i1;
  return nullptr;
}
std::string dtypeName(Type t) {
  const ElementInfo *info = elementInfo(t);
  return info ? info->name : "";
}
std::string dtypeEnum(Type t) { return elementInfo(t)->dtype; }
std::string cType(Type t) { return elementInfo(t)->cType; }
int64_t elemSize(Type t) {
  return t.isInteger(1) ? 1 : t.getIntOrFloatBitWidth() / 8;
}

std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string floatLit(double v) {
  if (std::isnan(v))
    return "__builtin_nanf(\"\")";
  if (std::isinf(v))
    return v > 0 ? "__builtin_inff()" : "-__builtin_inff()";
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format("%.9g", v);
  os.flush();
  if (s.find_first_of(".e") == std::string::npos)
    s += ".0";
  return s + "f";
}

/// Model-supplied text made safe inside a `//` comment: control characters
/// (a newline would end the comment) and backslashes (line splices) are
/// replaced.
std::string commentSafe(StringRef text) {
  std::string out;
  for (char c : text)
    out += (static_cast<unsigned char>(c) < 0x20 || c == '\\' || c == 0x7f)
               ? '?'
               : c;
  return out;
}

/// Model-supplied text as the body of a C++ string literal.
std::string cppStringBody(StringRef text) {
  std::string out;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u >= 0x7f) {
      // Octal escapes take at most three digits, so they cannot swallow
      // the characters that follow.
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\%03o", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

/// Turns an ONNX tensor name into a C identifier.
std::string identifierFor(StringRef name) {
  std::string id;
  for (char c : name)
    id += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  size_t start = id.find_first_not_of('_');
  id = start == std::string::npos ? "" : id.substr(start);
  while (id.find("__") != std::string::npos)
    id.replace(id.find("__"), 2, "_");
  if (id.empty() || std::isdigit(static_cast<unsigned char>(id[0])))
    id = "t_" + id;
  return id;
}

/// Element strides of `operand` broadcast to `outShape` (0 on broadcast
/// dims), right-aligned as numpy does.
SmallVector<int64_t> broadcastStrides(ArrayRef<int64_t> operand,
                                      ArrayRef<int64_t> outShape) {
  SmallVector<int64_t> strides(outShape.size(), 0);
  int64_t stride = 1;
  for (int64_t i = operand.size() - 1, o = outShape.size() - 1; i >= 0;
       --i, --o) {
    strides[o] = operand[i] == 1 && outShape[o] != 1 ? 0 : stride;
    stride *= operand[i];
  }
  return strides;
}

/// The ONNX node behind an op, as its location names it.
std::string nodeName(Operation *op) { return ss::plan::nodeName(op->getLoc()); }

/// The piece of its variable a read or assign names (#dist.sub), or null
/// for the whole variable (a single-rank program).
dist::SubTensorAttr pieceOf(Operation *op) {
  return op->getAttrOfType<dist::SubTensorAttr>(dist::kPieceAttr);
}

/// Reads and assigns of the same variable piece share one storage.
std::string variableStorageKey(StringRef name, dist::SubTensorAttr piece) {
  std::string key = name.str() + "|";
  if (piece) {
    llvm::raw_string_ostream os(key);
    os << piece;
  }
  return key;
}
std::string variableStorageKey(VariableOp read) {
  return variableStorageKey(read.getSymName(), pieceOf(read));
}

/// Rank-specific data of one rank function, abstracted out of its code,
/// and the key that is equal for functions that can share a program.
struct RankSlots {
  SmallVector<SmallVector<int64_t>> groups; // members per group slot
  SmallVector<int64_t> peers;               // world rank per peer slot
  llvm::DenseMap<Operation *, unsigned> groupSlot, peerSlot;
  std::string key;
};

/// What emitting one rank function yields.
struct RankBody {
  std::string text; // the body of `step`
  std::vector<char> weights;
  int64_t arenaBytes = 0;
  int64_t kernelCalls = 0;
  std::vector<ProgramTensor> inputs, outputs;
  std::vector<std::vector<int64_t>> inputOffsets;
  std::vector<CommunicationRecord> communication;
  std::vector<VariableRecord> variables;
  bool training = false;
};

class Emitter {
public:
  /// `notes` holds, per op, the plan text its comment shows (it may cover
  /// several ranks sharing the program).
  Emitter(func::FuncOp func, const RankSlots &slots,
          const llvm::DenseMap<Operation *, std::string> &notes, RankBody &out)
      : func(func), slots(slots), notes(notes), out(out) {
    // Tensor names must not shadow C++ keywords or the names the program
    // itself uses.
    static const char *reserved[] = {
        "alignas",       "alignof",     "and",
        "and_eq",        "asm",         "auto",
        "bitand",        "bitor",       "bool",
        "break",         "case",        "catch",
        "char",          "char8_t",     "char16_t",
        "char32_t",      "class",       "compl",
        "concept",       "const",       "consteval",
        "constexpr",     "constinit",   "const_cast",
        "continue",      "co_await",    "co_return",
        "co_yield",      "decltype",    "default",
        "delete",        "do",          "double",
        "dynamic_cast",  "else",        "enum",
        "explicit",      "export",      "extern",
        "false",         "float",       "for",
        "friend",        "goto",        "if",
        "inline",        "int",         "long",
        "mutable",       "namespace",   "new",
        "noexcept",      "not",         "not_eq",
        "nullptr",       "operator",    "or",
        "or_eq",         "private",     "protected",
        "public",        "register",    "reinterpret_cast",
        "requires",      "return",      "short",
        "signed",        "sizeof",      "static",
        "static_assert", "static_cast", "struct",
        "switch",        "template",    "this",
        "thread_local",  "throw",       "true",
        "try",           "typedef",     "typeid",
        "typename",      "union",       "unsigned",
        "using",         "virtual",     "void",
        "volatile",      "wchar_t",     "while",
        "xor",           "xor_eq",      "NULL",
        "main",          "arena",       "weights",
        "step",          "spec",        "ssrt",
        "std",           "kInputs",     "kOutputs",
        "int8_t",        "uint8_t",     "int32_t",
        "int64_t",       "size_t",      "memcpy",
        "context",       "kGroups",     "kRanks"};
    for (const char *word : reserved)
      usedNames.insert(word);
  }

  LogicalResult run();

private:
  // --- naming and storage -------------------------------------------------
  std::string uniqueName(StringRef base) {
    std::string id = identifierFor(base);
    std::string candidate = id;
    for (int i = 1; !usedNames.insert(candidate).second; ++i)
      candidate = id + "_" + std::to_string(i);
    return candidate;
  }
  /// The ONNX name of a value, when the importer recorded one.
  std::string tensorName(Value v) {
    if (auto slice = v.getDefiningOp<dist::SliceOp>(); slice && isModelInput(v))
      v = slice.getInput(); // the box a rank reads is named after its input
    if (auto arg = dyn_cast<BlockArgument>(v))
      if (auto n =
              func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "ss.name"))
        return n.str();
    if (Operation *def = v.getDefiningOp()) {
      if (auto names = def->getAttrOfType<ArrayAttr>("ss.names")) {
        unsigned idx = cast<OpResult>(v).getResultNumber();
        if (idx < names.size())
          if (auto s = dyn_cast<StringAttr>(names[idx]))
            if (!s.getValue().empty())
              return s.str();
      }
      if (isa<ConstantOp>(def))
        return nodeName(def);
      if (auto variable = dyn_cast<VariableOp>(def))
        return variable.getSymName().str();
      if (Value target = inPlaceVariable(v))
        return target.getDefiningOp<VariableOp>().getSymName().str() + ".next";
    }
    return "";
  }
  /// A variable name for a value the model does not name: a model output's
  /// name, or for communication and local dist ops the op's kind after its
  /// input's name (`gemm_7_all_reduce`).
  std::string derivedName(Value v) {
    for (OpOperand &use : v.getUses())
      if (isa<func::ReturnOp>(use.getOwner()))
        if (auto n = func.getResultAttrOfType<StringAttr>(
                use.getOperandNumber(), "ss.name"))
          return n.str();
    Operation *def = v.getDefiningOp();
    if (!def || !isa<dist::DistDialect>(def->getDialect()))
      return "";
    std::string kind = def->getName().stripDialect().str();
    std::string input = "";
    if (def->getNumOperands()) {
      Value operand = def->getOperand(0);
      input = tensorName(operand);
      if (input.empty())
        input = derivedName(operand);
    }
    return input.empty() ? kind : input + "_" + kind;
  }

  /// Declares the variable for `v` (once) and returns its identifier.
  std::string var(Value v) {
    auto it = varNames.find(v);
    if (it != varNames.end())
      return it->second;
    std::string base = tensorName(v);
    std::string hint = base.empty() ? derivedName(v) : base;
    std::string name = uniqueName(hint.empty() ? "t" : hint);
    varNames[v] = name;
    Type et = typeOf(v).getElementType();
    std::string type = cType(et);
    Value root = storageRoot(v);
    std::string comment = "  // " + shapeStr(shapeOf(v)) + " " + dtypeName(et);
    if (!base.empty())
      comment += " \"" + commentSafe(base) + "\"";
    if (auto c = root.getDefiningOp<ConstantOp>()) {
      int64_t off = weightOffset(c);
      body << "  const " << type << " *" << name << " = (const " << type
           << " *)(weights + " << off << ");" << comment << "\n";
      return name;
    }
    if (VariableOp variable = variableOf(root)) {
      // Training state: read and updated in place.
      int64_t off = variableOffset(variable);
      if (!root.getDefiningOp<VariableOp>())
        comment += " (updates \"" + commentSafe(variable.getSymName()) +
                   "\" in place)";
      body << "  " << type << " *" << name << " = (" << type << " *)(weights + "
           << off << ");" << comment << "\n";
      return name;
    }
    int64_t off = arenaOffset(root);
    body << "  " << type << " *" << name << " = (" << type << " *)(arena + "
         << off << ");" << comment << "\n";
    return name;
  }

  int64_t arenaOffset(Value root) {
    if (auto arg = dyn_cast<BlockArgument>(root))
      return inputOffsets[arg.getArgNumber()];
    Operation *def = root.getDefiningOp();
    auto offsets = def->getAttrOfType<DenseI64ArrayAttr>(kOffsetsAttr);
    return offsets[cast<OpResult>(root).getResultNumber()];
  }

  /// The variable whose storage holds `root`: a variable read, or an
  /// optimizer result written in place; else null.
  static VariableOp variableOf(Value root) {
    if (auto variable = root.getDefiningOp<VariableOp>())
      return variable;
    if (Value variable = inPlaceVariable(root))
      return variable.getDefiningOp<VariableOp>();
    return VariableOp();
  }

  /// Places a variable in the weights blob once per name (every read of
  /// one variable shares its storage), returning its offset.
  int64_t variableOffset(VariableOp variable) {
    std::string storage = variableStorageKey(variable);
    auto it = variableOffsets.find(storage);
    if (it != variableOffsets.end())
      return it->second;
    int64_t offset =
        appendWeights(cast<DenseElementsAttr>(variable.getValue()));
    variableOffsets[storage] = offset;
    VariableRecord record;
    record.name = variable.getSymName().str();
    record.dtype = dtypeName(variable.getType().getElementType());
    record.shape.assign(variable.getType().getShape().begin(),
                        variable.getType().getShape().end());
    if (dist::SubTensorAttr piece = pieceOf(variable))
      record.offsets.assign(piece.getOffsets().begin(),
                            piece.getOffsets().end());
    else
      record.offsets.assign(record.shape.size(), 0);
    record.weightsOffset = offset;
    out.variables.push_back(std::move(record));
    return offset;
  }

  /// Appends a constant to the weights blob once, returning its offset.
  int64_t weightOffset(ConstantOp c) {
    auto it = weightOffsets.find(c);
    if (it != weightOffsets.end())
      return it->second;
    int64_t offset = appendWeights(cast<DenseElementsAttr>(c.getValue()));
    weightOffsets[c] = offset;
    return offset;
  }

  /// Appends a value to the weights blob at a 64-byte boundary.
  int64_t appendWeights(DenseElementsAttr value) {
    auto &blob = out.weights;
    blob.resize((blob.size() + 63) / 64 * 64, 0);
    int64_t offset = blob.size();
    Type et = value.getElementType();
    int64_t n = value.getNumElements();
    if (et.isInteger(1)) {
      for (bool bit : value.getValues<bool>())
        blob.push_back(bit ? 1 : 0);
    } else {
      ArrayRef<char> raw = value.getRawData();
      int64_t esz = elemSize(et);
      if (value.isSplat()) {
        for (int64_t i = 0; i < n; ++i)
          blob.insert(blob.end(), raw.begin(), raw.begin() + esz);
      } else {
        blob.insert(blob.end(), raw.begin(), raw.end());
      }
    }
    return offset;
  }

  /// Emits `const int64_t name[] = {...};` and returns the name.
  /// Emits `const float name[] = {...};` and returns the name.
  std::string floatArray(ArrayRef<float> values, StringRef hint) {
    std::string name = uniqueName(hint.str());
    body << "  const float " << name << "[] = {";
    for (auto [i, value] : llvm::enumerate(values))
      body << (i ? ", " : "") << floatLit(value);
    body << "};\n";
    return name;
  }

  std::string array(ArrayRef<int64_t> values, StringRef hint = "dims") {
    std::string name = uniqueName(hint.str());
    body << "  const int64_t " << name << "[] = {";
    if (values.empty())
      body << "0";
    for (size_t i = 0; i < values.size(); ++i)
      body << (i ? ", " : "") << values[i];
    body << "};\n";
    return name;
  }

  /// `context.rank->groupOfSlot[k]`: the group a communication op uses.
  std::string groupRef(Operation *op) {
    return "context.rank->groupOfSlot[" +
           std::to_string(slots.groupSlot.lookup(op)) + "]";
  }
  /// `context.rank->peerOfSlot[k]`: the peer (or broadcast root) of an op.
  std::string peerRef(Operation *op) {
    return "context.rank->peerOfSlot[" +
           std::to_string(slots.peerSlot.lookup(op)) + "]";
  }
  void recordCommunication(Operation *op, StringRef kind, Value payload) {
    CommunicationRecord record;
    record.kind = kind.str();
    auto group = dist::commGroupOf(op);
    record.group.assign(group.begin(), group.end());
    record.bytes = numel(payload) * elemSize(typeOf(payload).getElementType());
    record.id = op->getAttrOfType<IntegerAttr>("id").getInt();
    out.communication.push_back(std::move(record));
  }

  LogicalResult emitOp(Operation *op);
  LogicalResult emitTrainingOp(Operation *op);
  /// Ops that read any `graph.variable` named `name`.
  SmallVector<Operation *> variableReaders(StringRef name) {
    SmallVector<Operation *> readers;
    for (Operation &op : func.getBody().front())
      if (auto read = dyn_cast<VariableOp>(op);
          read && read.getSymName() == name)
        llvm::append_range(readers, read->getUsers());
    return readers;
  }
  LogicalResult emitElementwise(Operation *op);
  LogicalResult emitDistOp(Operation *op);
  LogicalResult emitOutputs(func::ReturnOp ret);

  func::FuncOp func;
  const RankSlots &slots;
  const llvm::DenseMap<Operation *, std::string> &notes;
  RankBody &out;
  std::string bodyText;
  llvm::raw_string_ostream body{bodyText};
  llvm::StringSet<> usedNames;
  llvm::DenseMap<Value, std::string> varNames;
  llvm::DenseMap<Operation *, int64_t> weightOffsets;
  llvm::StringMap<int64_t> variableOffsets;
  SmallVector<int64_t> inputOffsets, outputOffsets;
};

/// `, ssrt::ResizeMode::M, ssrt::CoordMode::C, ssrt::NearestMode::N`: the
/// trailing arguments of resize and its gradient.
std::string resizeEnums(StringRef mode, StringRef coordinateMode,
                        StringRef nearestMode) {
  std::string coord = llvm::StringSwitch<std::string>(coordinateMode)
                          .Case("half_pixel", "HalfPixel")
                          .Case("pytorch_half_pixel", "PytorchHalfPixel")
                          .Case("align_corners", "AlignCorners")
                          .Default("Asymmetric");
  std::string nearest = llvm::StringSwitch<std::string>(nearestMode)
                            .Case("round_prefer_ceil", "RoundPreferCeil")
                            .Case("floor", "Floor")
                            .Case("ceil", "Ceil")
                            .Default("RoundPreferFloor");
  return std::string(", ssrt::ResizeMode::") +
         (mode == "linear" ? "Linear" : "Nearest") +
         ", ssrt::CoordMode::" + coord + ", ssrt::NearestMode::" + nearest;
}

std::string unaryEnum(Operation *op) {
  return llvm::TypeSwitch<Operation *, std::string>(op)
      .Case<NegOp>([](auto) { return "Neg"; })
      .Case<AbsOp>([](auto) { return "Abs"; })
      .Case<ExpOp>([](auto) { return "Exp"; })
      .Case<LogOp>([](auto) { return "Log"; })
      .Case<TanhOp>([](auto) { return "Tanh"; })
      .Case<ErfOp>([](auto) { return "Erf"; })
      .Case<ReluOp>([](auto) { return "Relu"; })
      .Case<SigmoidOp>([](auto) { return "Sigmoid"; })
      .Case<SqrtOp>([](auto) { return "Sqrt"; })
      .Case<ReciprocalOp>([](auto) { return "Reciprocal"; })
      .Case<HardSwishOp>([](auto) { return "HardSwish"; })
      .Case<LeakyReluOp>([](auto) { return "LeakyRelu"; })
      .Case<HardSigmoidOp>([](auto) { return "HardSigmoid"; })
      .Case<ClipOp>([](auto) { return "Clip"; })
      .Case<GeluOp>([](GeluOp g) {
        return g.getApproximate() == "tanh" ? "GeluTanh" : "Gelu";
      })
      .Default([](auto) { return ""; });
}

std::string binaryEnum(Operation *op) {
  return llvm::TypeSwitch<Operation *, std::string>(op)
      .Case<AddOp>([](auto) { return "Add"; })
      .Case<SubOp>([](auto) { return "Sub"; })
      .Case<MulOp>([](auto) { return "Mul"; })
      .Case<DivOp>([](auto) { return "Div"; })
      .Case<PowOp>([](auto) { return "Pow"; })
      .Case<EqualOp>([](auto) { return "Equal"; })
      .Case<LessOp>([](auto) { return "Less"; })
      .Case<GreaterOp>([](auto) { return "Greater"; })
      .Default([](auto) { return ""; });
}

LogicalResult Emitter::emitElementwise(Operation *op) {
  Value out = op->getResult(0);
  std::string kind = unaryEnum(op);
  if (!kind.empty()) {
    Value in = op->getOperand(0);
    Type et = typeOf(in).getElementType();
    std::string x = var(in), y = var(out);
    double alpha = 0, beta = 0;
    if (auto o = dyn_cast<LeakyReluOp>(op))
      alpha = o.getAlpha().convertToDouble();
    if (auto o = dyn_cast<HardSigmoidOp>(op)) {
      alpha = o.getAlpha().convertToDouble();
      beta = o.getBeta().convertToDouble();
    }
    if (auto o = dyn_cast<ClipOp>(op)) {
      alpha = o.getMin().convertToDouble();
      beta = o.getMax().convertToDouble();
    }
    if (!et.isF32()) {
      if (kind != "Neg" && kind != "Abs")
        return op->emitError("emit: ") << kind << " on " << dtypeName(et)
                                       << " tensors is not supported";
      body << "  ssrt::unaryInt(ssrt::UnaryOp::" << kind << ", "
           << dtypeEnum(et) << ", " << x << ", " << y << ", " << numel(out)
           << ");\n";
      return success();
    }
    body << "  ssrt::unary(ssrt::UnaryOp::" << kind << ", " << x << ", " << y
         << ", " << numel(out) << ", " << floatLit(alpha) << ", "
         << floatLit(beta) << ");\n";
    return success();
  }
  kind = binaryEnum(op);
  if (!kind.empty()) {
    Value a = op->getOperand(0), b = op->getOperand(1);
    auto outShape = shapeOf(out);
    std::string av = var(a), bv = var(b), yv = var(out);
    std::string as = array(broadcastStrides(shapeOf(a), outShape), "strides");
    std::string bs = array(broadcastStrides(shapeOf(b), outShape), "strides");
    std::string os = array(outShape, "shape");
    body << "  ssrt::binary(ssrt::BinaryOp::" << kind << ", "
         << dtypeEnum(typeOf(a).getElementType()) << ", " << av << ", " << as
         << ", " << bv << ", " << bs << ", " << yv << ", " << os << ", "
         << outShape.size() << ");\n";
    return success();
  }
  return failure();
}

/// `ssrt::learningRate(...)` for an optimizer op's schedule at this step.
static std::string learningRateExpr(Operation *op) {
  auto schedule = op->getAttrOfType<StringAttr>("schedule").getValue();
  std::string kind = schedule == "warmup-linear" ? "WarmupLinear"
                     : schedule == "cosine"      ? "Cosine"
                                                 : "Constant";
  return "ssrt::learningRate(ssrt::LrSchedule::" + kind + ", " +
         floatLit(op->getAttrOfType<FloatAttr>("lr").getValueAsDouble()) +
         ", " +
         std::to_string(
             op->getAttrOfType<IntegerAttr>("warmup_steps").getInt()) +
         ", " +
         std::to_string(
             op->getAttrOfType<IntegerAttr>("total_steps").getInt()) +
         ", context.step)";
}

LogicalResult Emitter::emitTrainingOp(Operation *op) {
  auto f = [](FloatAttr a) { return floatLit(a.getValueAsDouble()); };
  if (auto o = dyn_cast<AssignOp>(op)) {
    VariableOp target;
    std::string storage = variableStorageKey(o.getVariable(), pieceOf(o));
    for (Operation &other : func.getBody().front())
      if (auto read = dyn_cast<VariableOp>(other);
          read && variableStorageKey(read) == storage)
        target = read;
    if (!target)
      return op->emitError("emit: no read of variable '")
             << o.getVariable() << "' to place it";
    std::string dst = var(target.getResult()), src = var(o.getValue());
    body << "  std::memcpy(" << dst << ", " << src << ", "
         << numel(o.getValue()) *
                elemSize(typeOf(o.getValue()).getElementType())
         << ");\n";
    return success();
  }
  if (auto o = dyn_cast<SoftmaxGradOp>(op)) {
    auto s = shapeOf(o.getGrad());
    int64_t axis = o.getAxis() < 0 ? o.getAxis() + s.size() : o.getAxis();
    std::string y = var(o.getOutputValue()), dy = var(o.getGrad()),
                dx = var(o.getOutput());
    body << "  ssrt::softmaxGrad(" << y << ", " << dy << ", " << dx << ", "
         << product(s.take_front(axis)) << ", " << s[axis] << ", "
         << product(s.drop_front(axis + 1)) << ", "
         << (o.getLog() ? "true" : "false") << ");\n";
    return success();
  }
  if (auto o = dyn_cast<LayerNormGradOp>(op)) {
    auto s = shapeOf(o.getInput());
    int64_t axis = o.getAxis() < 0 ? o.getAxis() + s.size() : o.getAxis();
    int64_t inner = product(s.drop_front(axis));
    if (numel(o.getScale()) != inner)
      return op->emitError("emit: layer_norm_grad scale must have the "
                           "normalised shape (")
             << inner << " elements)";
    std::string x = var(o.getInput()), sc = var(o.getScale()),
                dy = var(o.getGrad()), dx = var(o.getOutput());
    body << "  ssrt::layerNormGrad(" << x << ", " << sc << ", " << dy << ", "
         << dx << ", " << product(s.take_front(axis)) << ", " << inner << ", "
         << f(o.getEpsilonAttr()) << ");\n";
    return success();
  }
  if (auto o = dyn_cast<GeluGradOp>(op)) {
    std::string x = var(o.getInput()), dy = var(o.getGrad()),
                dx = var(o.getOutput());
    body << "  ssrt::geluGrad(" << x << ", " << dy << ", " << dx << ", "
         << numel(o.getOutput()) << ", "
         << (o.getApproximate() == "tanh" ? "true" : "false") << ");\n";
    return success();
  }
  if (auto o = dyn_cast<GatherGradOp>(op)) {
    auto s = shapeOf(o.getOutput());
    int64_t axis = o.getAxis();
    std::string idx = var(o.getIndices()), dy = var(o.getGrad()),
                y = var(o.getOutput());
    body << "  ssrt::gatherGrad(" << idx << ", "
         << dtypeEnum(typeOf(o.getIndices()).getElementType()) << ", " << dy
         << ", " << y << ", " << product(s.take_front(axis)) << ", " << s[axis]
         << ", " << product(s.drop_front(axis + 1)) << ", "
         << numel(o.getIndices()) << ");\n";
    return success();
  }
  if (auto o = dyn_cast<ConvFilterGradOp>(op)) {
    int64_t spatial = shapeOf(o.getInput()).size() - 2;
    std::string x = var(o.getInput()), dy = var(o.getGrad()),
                dw = var(o.getOutput());
    std::string xs = array(shapeOf(o.getInput()), "shape"),
                ys = array(shapeOf(o.getGrad()), "shape"),
                ws = array(shapeOf(o.getOutput()), "shape"),
                st = array(o.getStrides(), "strides"),
                pb = array(o.getPads().take_front(spatial), "pads"),
                dl = array(o.getDilations(), "dilations");
    body << "  ssrt::convFilterGrad(" << x << ", " << dy << ", " << dw << ", "
         << spatial << ", " << xs << ", " << ys << ", " << ws << ", " << st
         << ", " << pb << ", " << dl << ", " << o.getGroup() << ");\n";
    return success();
  }
  if (auto o = dyn_cast<MaxPoolGradOp>(op)) {
    int64_t spatial = shapeOf(o.getInput()).size() - 2;
    std::string x = var(o.getInput()), dy = var(o.getGrad()),
                dx = var(o.getOutput());
    std::string xs = array(shapeOf(o.getInput()), "shape"),
                ys = array(shapeOf(o.getGrad()), "shape"),
                k = array(o.getKernel(), "kernel"),
                st = array(o.getStrides(), "strides"),
                pb = array(o.getPads().take_front(spatial), "pads"),
                dl = array(o.getDilations(), "dilations");
    body << "  ssrt::maxPoolGrad(" << x << ", " << dy << ", " << dx << ", "
         << spatial << ", " << xs << ", " << ys << ", " << k << ", " << st
         << ", " << pb << ", " << dl << ");\n";
    return success();
  }
  if (auto o = dyn_cast<AvgPoolGradOp>(op)) {
    int64_t spatial = shapeOf(o.getGrad()).size() - 2;
    std::string dy = var(o.getGrad()), dx = var(o.getOutput());
    std::string xs = array(shapeOf(o.getOutput()), "shape"),
                ys = array(shapeOf(o.getGrad()), "shape"),
                k = array(o.getKernel(), "kernel"),
                st = array(o.getStrides(), "strides"),
                pb = array(o.getPads().take_front(spatial), "pads"),
                pe = array(o.getPads().drop_front(spatial), "pads");
    body << "  ssrt::avgPoolGrad(" << dy << ", " << dx << ", " << spatial
         << ", " << xs << ", " << ys << ", " << k << ", " << st << ", " << pb
         << ", " << pe << ", " << (o.getCountIncludePad() ? "true" : "false")
         << ");\n";
    return success();
  }
  if (auto o = dyn_cast<ResizeGradOp>(op)) {
    std::string dy = var(o.getGrad()), dx = var(o.getOutput());
    std::string is = array(shapeOf(o.getOutput()), "shape"),
                os = array(shapeOf(o.getGrad()), "shape");
    std::string sc = floatArray(o.getScales(), "scales");
    body << "  ssrt::resizeGrad(" << dy << ", " << dx << ", " << is << ", "
         << os << ", " << sc << ", " << shapeOf(o.getOutput()).size()
         << resizeEnums(o.getMode(), o.getCoordinateTransformationMode(),
                        o.getNearestMode())
         << ");\n";
    return success();
  }
  if (auto o = dyn_cast<SgdUpdateOp>(op)) {
    std::string p = var(o.getParam()), g = var(o.getGrad()),
                np = var(o.getNewParam());
    std::string buf =
        o.getMomentumBuffer() ? var(o.getMomentumBuffer()) : "nullptr";
    std::string nbuf =
        o.getNewMomentumBuffer() ? var(o.getNewMomentumBuffer()) : "nullptr";
    std::string scale = o.getGradScale() ? var(o.getGradScale()) : "nullptr";
    body << "  ssrt::sgdUpdate(" << p << ", " << g << ", " << buf << ", " << np
         << ", " << nbuf << ", " << numel(o.getParam()) << ", "
         << learningRateExpr(op) << ", " << f(o.getMomentumAttr()) << ", "
         << f(o.getWeightDecayAttr()) << ", " << scale << ");\n";
    return success();
  }
  if (auto o = dyn_cast<AdamwUpdateOp>(op)) {
    std::string p = var(o.getParam()), g = var(o.getGrad()), m = var(o.getM()),
                v = var(o.getV()), np = var(o.getNewParam()),
                nm = var(o.getNewM()), nv = var(o.getNewV());
    std::string scale = o.getGradScale() ? var(o.getGradScale()) : "nullptr";
    body << "  ssrt::adamwUpdate(" << p << ", " << g << ", " << m << ", " << v
         << ", " << np << ", " << nm << ", " << nv << ", "
         << numel(o.getParam()) << ", " << learningRateExpr(op) << ", "
         << f(o.getBeta1Attr()) << ", " << f(o.getBeta2Attr()) << ", "
         << f(o.getEpsilonAttr()) << ", " << f(o.getWeightDecayAttr())
         << ", context.step, " << scale << ");\n";
    return success();
  }
  return failure();
}

LogicalResult Emitter::emitOp(Operation *op) {
  if (isa<ConstantOp, VariableOp, ReshapeOp>(op) ||
      (isa<dist::SliceOp>(op) && isModelInput(op->getResult(0))))
    return success(); // weights, state, views and input boxes need no code
  if (auto assign = dyn_cast<AssignOp>(op)) {
    out.training = true;
    // Every read of the variable must see its old value.
    for (Operation *later = op->getNextNode(); later;
         later = later->getNextNode())
      if (auto read = dyn_cast<VariableOp>(later);
          read && read.getSymName() == assign.getVariable() &&
          !read->use_empty())
        return op->emitError("emit: assign to '")
               << assign.getVariable() << "' before a later read of it";
    for (Operation *user : variableReaders(assign.getVariable()))
      if (op->isBeforeInBlock(user))
        return op->emitError("emit: assign to '")
               << assign.getVariable() << "' before a read of it by '"
               << nodeName(user) << "'";
    VariableOp target = variableOf(storageRoot(assign.getValue()));
    if (target && variableStorageKey(target) ==
                      variableStorageKey(assign.getVariable(), pieceOf(assign)))
      return success(); // the update wrote the variable in place
  }
  std::string node = nodeName(op);
  body << "\n  // ";
  if (!node.empty())
    body << "node \"" << commentSafe(node) << "\" ";
  body << "(" << op->getName().stripDialect() << ")";
  if (op->hasAttr(kBackwardAttr))
    body << " backward";
  auto note = notes.find(op);
  if (note != notes.end() && !note->second.empty())
    body << " " << commentSafe(note->second);
  body << "\n";
  ++out.kernelCalls;
  if (isa<dist::DistDialect>(op->getDialect()))
    return emitDistOp(op);
  if (succeeded(emitElementwise(op)))
    return success();
  if (succeeded(emitTrainingOp(op)))
    return success();
  if (auto o = dyn_cast<NotOp>(op)) {
    std::string x = var(o.getInput()), y = var(o.getOutput());
    body << "  ssrt::logicalNot(" << x << ", " << y << ", "
         << numel(o.getOutput()) << ");\n";
    return success();
  }
  if (auto o = dyn_cast<CastOp>(op)) {
    std::string x = var(o.getInput()), y = var(o.getOutput());
    body << "  ssrt::cast(" << dtypeEnum(typeOf(o.getInput()).getElementType())
         << ", " << x << ", "
         << dtypeEnum(typeOf(o.getOutput()).getElementType()) << ", " << y
         << ", " << numel(o.getOutput()) << ");\n";
    return success();
  }
  if (auto o = dyn_cast<WhereOp>(op)) {
    auto outShape = shapeOf(o.getOutput());
    std::string c = var(o.getCondition()), x = var(o.getLhs()),
                y = var(o.getRhs()), out = var(o.getOutput());
    std::string cs =
        array(broadcastStrides(shapeOf(o.getCondition()), outShape), "strides");
    std::string xs =
        array(broadcastStrides(shapeOf(o.getLhs()), outShape), "strides");
    std::string ys =
        array(broadcastStrides(shapeOf(o.getRhs()), outShape), "strides");
    std::string os = array(outShape, "shape");
    body << "  ssrt::where(" << c << ", " << cs << ", " << x << ", " << xs
         << ", " << y << ", " << ys << ", " << out << ", " << os << ", "
         << outShape.size() << ", "
         << elemSize(typeOf(o.getOutput()).getElementType()) << ");\n";
    return success();
  }
  if (auto o = dyn_cast<BroadcastToOp>(op)) {
    auto outShape = shapeOf(o.getOutput());
    std::string x = var(o.getInput()), y = var(o.getOutput());
    std::string xs =
        array(broadcastStrides(shapeOf(o.getInput()), outShape), "strides");
    std::string os = array(outShape, "shape");
    body << "  ssrt::broadcastTo(" << x << ", " << xs << ", " << y << ", " << os
         << ", " << outShape.size() << ", "
         << elemSize(typeOf(o.getOutput()).getElementType()) << ");\n";
    return success();
  }
  if (auto o = dyn_cast<MatMulOp>(op)) {
    auto as = shapeOf(o.getLhs()), bs = shapeOf(o.getRhs());
    auto cs = shapeOf(o.getOutput());
    int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
    SmallVector<int64_t> batch(cs.begin(), cs.end() - 2);
    auto batchStrides = [&](ArrayRef<int64_t> s) {
      SmallVector<int64_t> opBatch(s.begin(), s.end() - 2);
      SmallVector<int64_t> strides = broadcastStrides(opBatch, batch);
      int64_t mat = s[s.size() - 2] * s.back();
      for (int64_t &x : strides)
        x *= mat;
      return strides;
    };
    std::string a = var(o.getLhs()), b = var(o.getRhs()),
                c = var(o.getOutput());
    std::string bsh = array(batch, "batch");
    std::string ast = array(batchStrides(as), "strides");
    std::string bst = array(batchStrides(bs), "strides");
    body << "  ssrt::matmul(" << a << ", " << b << ", " << c << ", " << m
         << ", " << k << ", " << n << ", " << batch.size() << ", " << bsh
         << ", " << ast << ", " << bst << ");\n";
    return success();
  }
  if (auto o = dyn_cast<GemmOp>(op)) {
    auto as = shapeOf(o.getA());
    auto ys = shapeOf(o.getOutput());
    int64_t m = ys[0], n = ys[1];
    int64_t k = o.getTransA() ? as[0] : as[1];
    std::string a = var(o.getA()), b = var(o.getB()), y = var(o.getOutput());
    std::string c = "nullptr", cst = "nullptr";
    if (o.getC()) {
      c = var(o.getC());
      cst = array(broadcastStrides(shapeOf(o.getC()), ys), "strides");
    }
    body << "  ssrt::gemm(" << a << ", " << b << ", " << c << ", " << y << ", "
         << m << ", " << n << ", " << k << ", "
         << (o.getTransA() ? "true" : "false") << ", "
         << (o.getTransB() ? "true" : "false") << ", "
         << floatLit(o.getAlpha().convertToDouble()) << ", "
         << floatLit(o.getBeta().convertToDouble()) << ", " << cst << ");\n";
    return success();
  }
  if (isa<ConvOp, ConvTransposeOp>(op)) {
    Value x = op->getOperand(0), w = op->getOperand(1);
    Value bias = op->getNumOperands() > 2 ? op->getOperand(2) : Value();
    Value y = op->getResult(0);
    ArrayRef<int64_t> strides, pads, dilations;
    int64_t group;
    if (auto c = dyn_cast<ConvOp>(op)) {
      strides = c.getStrides();
      pads = c.getPads();
      dilations = c.getDilations();
      group = c.getGroup();
    } else {
      auto t = cast<ConvTransposeOp>(op);
      strides = t.getStrides();
      pads = t.getPads();
      dilations = t.getDilations();
      group = t.getGroup();
    }
    int64_t spatial = shapeOf(x).size() - 2;
    std::string xv = var(x), wv = var(w), yv = var(y);
    std::string bv = bias ? var(bias) : "nullptr";
    std::string xs = array(shapeOf(x), "shape"),
                ws = array(shapeOf(w), "shape"),
                ys = array(shapeOf(y), "shape");
    std::string st = array(strides, "strides");
    std::string pb = array(pads.take_front(spatial), "pads");
    std::string dl = array(dilations, "dilations");
    body << "  ssrt::" << (isa<ConvOp>(op) ? "conv" : "convTranspose") << "("
         << xv << ", " << wv << ", " << bv << ", " << yv << ", " << spatial
         << ", " << xs << ", " << ws << ", " << ys << ", " << st << ", " << pb
         << ", " << dl << ", " << group;
    if (auto c = dyn_cast<ConvOp>(op); c && c.getActivation() != "none") {
      std::string kind = c.getActivation() == "relu"         ? "Relu"
                         : c.getActivation() == "leaky_relu" ? "LeakyRelu"
                                                             : "Clip";
      body << ", ssrt::UnaryOp::" << kind << ", "
           << floatLit(c.getActivationAlpha().convertToDouble()) << ", "
           << floatLit(c.getActivationBeta().convertToDouble());
    }
    body << ");\n";
    return success();
  }
  if (auto o = dyn_cast<BatchNormOp>(op)) {
    auto s = shapeOf(o.getInput());
    int64_t c = s.size() > 1 ? s[1] : 1;
    std::string x = var(o.getInput()), sc = var(o.getScale()),
                bi = var(o.getBias()), mu = var(o.getMean()),
                va = var(o.getVariance()), y = var(o.getOutput());
    body << "  ssrt::batchNorm(" << x << ", " << sc << ", " << bi << ", " << mu
         << ", " << va << ", " << y << ", " << s[0] << ", " << c << ", "
         << (s.size() > 2 ? product(s.drop_front(2)) : 1) << ", "
         << floatLit(o.getEpsilon().convertToDouble()) << ");\n";
    return success();
  }
  if (auto o = dyn_cast<LayerNormOp>(op)) {
    auto s = shapeOf(o.getInput());
    int64_t axis = o.getAxisAttr().getInt();
    if (axis < 0)
      axis += s.size();
    int64_t inner = product(s.drop_front(axis));
    if (numel(o.getScale()) != inner ||
        (o.getBias() && numel(o.getBias()) != inner))
      return op->emitError("emit: layer_norm scale/bias must have the "
                           "normalised shape (")
             << inner << " elements)";
    std::string x = var(o.getInput()), sc = var(o.getScale()),
                y = var(o.getOutput());
    std::string bi = o.getBias() ? var(o.getBias()) : "nullptr";
    body << "  ssrt::layerNorm(" << x << ", " << sc << ", " << bi << ", " << y
         << ", " << product(s.take_front(axis)) << ", " << inner << ", "
         << floatLit(o.getEpsilon().convertToDouble()) << ");\n";
    return success();
  }
  if (isa<SoftmaxOp, LogSoftmaxOp>(op)) {
    Value in = op->getOperand(0);
    auto s = shapeOf(in);
    int64_t axis = op->getAttrOfType<IntegerAttr>("axis").getInt();
    if (axis < 0)
      axis += s.size();
    std::string x = var(in), y = var(op->getResult(0));
    body << "  ssrt::softmax(" << x << ", " << y << ", "
         << product(s.take_front(axis)) << ", " << s[axis] << ", "
         << product(s.drop_front(axis + 1)) << ", "
         << (isa<LogSoftmaxOp>(op) ? "true" : "false") << ");\n";
    return success();
  }
  if (auto o = dyn_cast<MaxPoolOp>(op)) {
    int64_t spatial = shapeOf(o.getInput()).size() - 2;
    std::string x = var(o.getInput()), y = var(o.getOutput());
    std::string xs = array(shapeOf(o.getInput()), "shape"),
                ys = array(shapeOf(o.getOutput()), "shape"),
                k = array(o.getKernel(), "kernel"),
                st = array(o.getStrides(), "strides"),
                pb = array(o.getPads().take_front(spatial), "pads"),
                dl = array(o.getDilations(), "dilations");
    body << "  ssrt::maxPool(" << x << ", " << y << ", " << spatial << ", "
         << xs << ", " << ys << ", " << k << ", " << st << ", " << pb << ", "
         << dl << ");\n";
    return success();
  }
  if (auto o = dyn_cast<AvgPoolOp>(op)) {
    int64_t spatial = shapeOf(o.getInput()).size() - 2;
    std::string x = var(o.getInput()), y = var(o.getOutput());
    std::string xs = array(shapeOf(o.getInput()), "shape"),
                ys = array(shapeOf(o.getOutput()), "shape"),
                k = array(o.getKernel(), "kernel"),
                st = array(o.getStrides(), "strides"),
                pb = array(o.getPads().take_front(spatial), "pads"),
                pe = array(o.getPads().drop_front(spatial), "pads");
    body << "  ssrt::avgPool(" << x << ", " << y << ", " << spatial << ", "
         << xs << ", " << ys << ", " << k << ", " << st << ", " << pb << ", "
         << pe << ", " << (o.getCountIncludePad() ? "true" : "false") << ");\n";
    return success();
  }
  if (isa<ReduceSumOp, ReduceMeanOp, ReduceMaxOp>(op)) {
    Value in = op->getOperand(0);
    auto axes = op->getAttrOfType<DenseI64ArrayAttr>("axes").asArrayRef();
    if (!typeOf(in).getElementType().isF32())
      return op->emitError("emit: reductions over non-float tensors are not "
                           "supported");
    auto s = shapeOf(in);
    SmallVector<int64_t> mask(s.size(), 0);
    for (int64_t a : axes)
      mask[a] = 1;
    std::string kind = isa<ReduceSumOp>(op)    ? "Sum"
                       : isa<ReduceMeanOp>(op) ? "Mean"
                                               : "Max";
    std::string x = var(in), y = var(op->getResult(0));
    std::string sh = array(s, "shape");
    std::string mk = uniqueName("mask");
    body << "  const uint8_t " << mk << "[] = {";
    for (size_t i = 0; i < mask.size(); ++i)
      body << (i ? ", " : "") << mask[i];
    if (mask.empty())
      body << "0";
    body << "};\n";
    body << "  ssrt::reduce(ssrt::ReduceOp::" << kind << ", " << x << ", " << y
         << ", " << sh << ", " << s.size() << ", " << mk << ");\n";
    return success();
  }
  if (auto o = dyn_cast<TransposeOp>(op)) {
    std::string x = var(o.getInput()), y = var(o.getOutput());
    std::string sh = array(shapeOf(o.getInput()), "shape"),
                pm = array(o.getPerm(), "perm");
    body << "  ssrt::transpose(" << x << ", " << y << ", " << sh << ", " << pm
         << ", " << o.getPerm().size() << ", "
         << elemSize(typeOf(o.getInput()).getElementType()) << ");\n";
    return success();
  }
  if (auto o = dyn_cast<ConcatOp>(op)) {
    auto s = shapeOf(o.getOutput());
    int64_t axis = o.getAxis();
    SmallVector<std::string> ins;
    SmallVector<int64_t> sizes;
    for (Value v : o.getInputs()) {
      ins.push_back(var(v));
      sizes.push_back(shapeOf(v)[axis]);
    }
    std::string y = var(o.getOutput());
    std::string ptrs = uniqueName("inputs");
    body << "  const void *" << ptrs << "[] = {";
    for (size_t i = 0; i < ins.size(); ++i)
      body << (i ? ", " : "") << ins[i];
    body << "};\n";
    std::string sz = array(sizes, "sizes");
    body << "  ssrt::concat(" << ptrs << ", " << sz << ", " << ins.size()
         << ", " << y << ", " << product(s.take_front(axis)) << ", "
         << product(s.drop_front(axis + 1)) << ", "
         << elemSize(typeOf(o.getOutput()).getElementType()) << ");\n";
    return success();
  }
  if (auto o = dyn_cast<SplitOp>(op)) {
    auto s = shapeOf(o.getInput());
    int64_t axis = o.getAxis();
    std::string x = var(o.getInput());
    SmallVector<std::string> outs;
    for (Value v : o.getOutputs())
      outs.push_back(var(v));
    std::string ptrs = uniqueName("outputs");
    body << "  void *" << ptrs << "[] = {";
    for (size_t i = 0; i < outs.size(); ++i)
      body << (i ? ", " : "") << outs[i];
    body << "};\n";
    std::string sz = array(o.getSizes(), "sizes");
    body << "  ssrt::split(" << x << ", " << ptrs << ", " << sz << ", "
         << outs.size() << ", " << product(s.take_front(axis)) << ", "
         << product(s.drop_front(axis + 1)) << ", "
         << elemSize(typeOf(o.getInput()).getElementType()) << ");\n";
    return success();
  }
  if (auto o = dyn_cast<SliceOp>(op)) {
    std::string x = var(o.getInput()), y = var(o.getOutput());
    std::string is = array(shapeOf(o.getInput()), "shape"),
                os = array(shapeOf(o.getOutput()), "shape"),
                st = array(o.getStarts(), "starts"),
                sp = array(o.getSteps(), "steps");
    body << "  ssrt::slice(" << x << ", " << y << ", " << is << ", " << os
         << ", " << st << ", " << sp << ", " << shapeOf(o.getInput()).size()
         << ", " << elemSize(typeOf(o.getInput()).getElementType()) << ");\n";
    return success();
  }
  if (auto o = dyn_cast<GatherOp>(op)) {
    auto s = shapeOf(o.getData());
    int64_t axis = o.getAxis();
    std::string d = var(o.getData()), i = var(o.getIndices()),
                y = var(o.getOutput());
    body << "  ssrt::gather(" << d << ", " << i << ", "
         << dtypeEnum(typeOf(o.getIndices()).getElementType()) << ", " << y
         << ", " << product(s.take_front(axis)) << ", " << s[axis] << ", "
         << product(s.drop_front(axis + 1)) << ", " << numel(o.getIndices())
         << ", " << elemSize(typeOf(o.getData()).getElementType()) << ");\n";
    return success();
  }
  if (auto o = dyn_cast<PadOp>(op)) {
    int64_t rank = shapeOf(o.getInput()).size();
    std::string mode = o.getMode() == "reflect" ? "Reflect"
                       : o.getMode() == "edge"  ? "Edge"
                                                : "Constant";
    std::string x = var(o.getInput()), y = var(o.getOutput());
    std::string is = array(shapeOf(o.getInput()), "shape"),
                os = array(shapeOf(o.getOutput()), "shape"),
                pb = array(o.getPads().take_front(rank), "pads");
    double value = o.getValue().convertToDouble();
    body << "  ssrt::pad(" << x << ", " << y << ", " << is << ", " << os << ", "
         << pb << ", " << rank << ", ssrt::PadMode::" << mode << ", "
         << (std::isinf(value) ? (value > 0 ? "1e308" : "-1e308")
                               : std::to_string(value))
         << ", " << dtypeEnum(typeOf(o.getInput()).getElementType()) << ");\n";
    return success();
  }
  if (auto o = dyn_cast<ResizeOp>(op)) {
    int64_t rank = shapeOf(o.getInput()).size();
    std::string x = var(o.getInput()), y = var(o.getOutput());
    std::string is = array(shapeOf(o.getInput()), "shape"),
                os = array(shapeOf(o.getOutput()), "shape");
    std::string sc = floatArray(o.getScales(), "scales");
    body << "  ssrt::resize(" << x << ", " << y << ", " << is << ", " << os
         << ", " << sc << ", " << rank
         << resizeEnums(o.getMode(), o.getCoordinateTransformationMode(),
                        o.getNearestMode())
         << ");\n";
    return success();
  }
  return op->emitError("emit: no C++ lowering for '") << op->getName() << "'";
}

LogicalResult Emitter::emitDistOp(Operation *op) {
  auto shapeArray = [&](Value v) { return array(shapeOf(v), "shape"); };
  auto dtypeOf = [](Value v) { return dtypeEnum(typeOf(v).getElementType()); };
  auto bytesOf = [](Value v) {
    return numel(v) * elemSize(typeOf(v).getElementType());
  };
  if (auto o = dyn_cast<dist::SliceOp>(op)) {
    // A local box copy: unit steps.
    std::string x = var(o.getInput()), y = var(o.getResult());
    int64_t rank = shapeOf(o.getInput()).size();
    std::string is = shapeArray(o.getInput()), os = shapeArray(o.getResult()),
                st = array(o.getOffsets(), "starts"),
                sp = array(SmallVector<int64_t>(rank, 1), "steps");
    body << "  ssrt::slice(" << x << ", " << y << ", " << is << ", " << os
         << ", " << st << ", " << sp << ", " << rank << ", "
         << elemSize(typeOf(o.getInput()).getElementType()) << ");\n";
    return success();
  }
  if (auto o = dyn_cast<dist::ComposeOp>(op)) {
    Value result = o.getResult();
    int64_t rank = shapeOf(result).size();
    std::string y = var(result), ys = shapeArray(result);
    for (auto [i, piece] : llvm::enumerate(o.getInputs())) {
      std::string x = var(piece), xs = shapeArray(piece);
      std::string at = array(o.getOffsets().slice(i * rank, rank), "offsets");
      body << "  ssrt::insertBox(" << x << ", " << y << ", " << xs << ", " << ys
           << ", " << at << ", " << rank << ", "
           << elemSize(typeOf(piece).getElementType()) << ");\n";
    }
    return success();
  }
  if (auto o = dyn_cast<dist::ScaleOp>(op)) {
    if (!typeOf(o.getInput()).getElementType().isF32())
      return op->emitError("emit: dist.scale supports only f32 tensors");
    std::string x = var(o.getInput()), y = var(o.getResult());
    body << "  ssrt::scale(" << x << ", " << y << ", " << numel(o.getResult())
         << ", " << floatLit(o.getFactor().convertToDouble()) << ");\n";
    return success();
  }
  if (isa<dist::AllReduceOp, dist::ReduceScatterOp>(op)) {
    Value in = op->getOperand(0), result = op->getResult(0);
    Type et = typeOf(in).getElementType();
    if (!et.isF32() && !et.isInteger(32) && !et.isInteger(64))
      return op->emitError("emit: ")
             << op->getName().stripDialect() << " sums only float32, int32 "
             << "and int64 tensors, not " << et;
    std::string x = var(in), y = var(result);
    if (isa<dist::AllReduceOp>(op)) {
      body << "  ssrt::allReduceSum(" << groupRef(op) << ", " << dtypeOf(in)
           << ", " << x << ", " << y << ", " << numel(in) << ");\n";
      recordCommunication(op, "all_reduce", in);
      return success();
    }
    auto o = cast<dist::ReduceScatterOp>(op);
    std::string xs = shapeArray(in);
    body << "  ssrt::reduceScatterSum(" << groupRef(op) << ", " << dtypeOf(in)
         << ", " << x << ", " << y << ", " << xs << ", " << shapeOf(in).size()
         << ", " << o.getDim() << ");\n";
    recordCommunication(op, "reduce_scatter", in);
    return success();
  }
  if (auto o = dyn_cast<dist::AllGatherOp>(op)) {
    std::string x = var(o.getInput()), y = var(o.getResult());
    std::string xs = shapeArray(o.getInput());
    body << "  ssrt::allGather(" << groupRef(op) << ", "
         << dtypeOf(o.getInput()) << ", " << x << ", " << y << ", " << xs
         << ", " << shapeOf(o.getInput()).size() << ", " << o.getDim()
         << ");\n";
    recordCommunication(op, "all_gather", o.getInput());
    return success();
  }
  if (auto o = dyn_cast<dist::AllToAllOp>(op)) {
    std::string x = var(o.getInput()), y = var(o.getResult());
    std::string xs = shapeArray(o.getInput());
    body << "  ssrt::allToAll(" << groupRef(op) << ", " << dtypeOf(o.getInput())
         << ", " << x << ", " << y << ", " << xs << ", "
         << shapeOf(o.getInput()).size() << ", " << o.getSplitDim() << ", "
         << o.getConcatDim() << ");\n";
    recordCommunication(op, "all_to_all", o.getInput());
    return success();
  }
  if (auto o = dyn_cast<dist::BroadcastOp>(op)) {
    Value result = o.getResult();
    std::string y = var(result);
    if (o.getInput()) { // the root sends from the result buffer
      // var() may declare the input (a view first used here), so it is
      // named before the statement starts.
      std::string x = var(o.getInput());
      body << "  std::memcpy(" << y << ", " << x << ", " << bytesOf(result)
           << ");\n";
    }
    body << "  ssrt::broadcast(" << groupRef(op) << ", " << peerRef(op) << ", "
         << dtypeOf(result) << ", " << y << ", " << numel(result) << ");\n";
    recordCommunication(op, "broadcast", result);
    return success();
  }
  // Point to point: tag 0. The schedule verifier proves both ends of a pair
  // of ranks issue their messages in the same order, and MPI keeps the order
  // of messages with one (source, tag).
  if (auto o = dyn_cast<dist::SendOp>(op)) {
    std::string x = var(o.getInput());
    body << "  ssrt::send(" << peerRef(op) << ", 0, " << dtypeOf(o.getInput())
         << ", " << x << ", " << numel(o.getInput()) << ");\n";
    recordCommunication(op, "send", o.getInput());
    return success();
  }
  if (auto o = dyn_cast<dist::RecvOp>(op)) {
    std::string y = var(o.getResult());
    body << "  ssrt::recv(" << peerRef(op) << ", 0, " << dtypeOf(o.getResult())
         << ", " << y << ", " << numel(o.getResult()) << ");\n";
    recordCommunication(op, "recv", o.getResult());
    return success();
  }
  return op->emitError("emit: '")
         << op->getName()
         << "' must be resolved before emission (run the dist passes)";
}

LogicalResult Emitter::emitOutputs(func::ReturnOp ret) {
  if (ret.getNumOperands())
    body << "\n  // Outputs that are inputs, constants or repeats are "
            "copied.\n";
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    Value root = storageRoot(v);
    bool inPlace = !isModelInput(root) && !isWeightsRoot(root) &&
                   arenaOffset(root) == outputOffsets[i];
    if (inPlace)
      continue;
    std::string src = var(v);
    int64_t bytes = numel(v) * elemSize(typeOf(v).getElementType());
    body << "  std::memcpy(arena + " << outputOffsets[i] << ", " << src << ", "
         << bytes << ");\n";
  }
  return success();
}

LogicalResult Emitter::run() {
  auto arena = func->getAttrOfType<IntegerAttr>(kArenaBytesAttr);
  auto ins = func->getAttrOfType<DenseI64ArrayAttr>(kInputOffsetsAttr);
  auto outs = func->getAttrOfType<DenseI64ArrayAttr>(kOutputOffsetsAttr);
  if (!arena || !ins || !outs)
    return func.emitError("emit: run graph-plan-memory first");
  out.arenaBytes = arena.getInt();
  inputOffsets.assign(ins.asArrayRef().begin(), ins.asArrayRef().end());
  outputOffsets.assign(outs.asArrayRef().begin(), outs.asArrayRef().end());

  auto checkRank = [&](RankedTensorType t, StringRef what,
                       const std::string &name) -> LogicalResult {
    if (t.getRank() <= ssrt::kMaxRank)
      return success();
    return func.emitError("emit: ")
           << what << " \"" << name << "\" has rank " << t.getRank()
           << "; programs support up to " << ssrt::kMaxRank;
  };
  for (BlockArgument arg : func.getArguments()) {
    auto full = typeOf(arg);
    Value storage = inputStorage(arg);
    ProgramTensor pt;
    pt.name = tensorName(arg);
    pt.dtype = dtypeName(full.getElementType());
    pt.shape.assign(shapeOf(storage).begin(), shapeOf(storage).end());
    pt.fullShape.assign(full.getShape().begin(), full.getShape().end());
    pt.arenaOffset = inputOffsets[arg.getArgNumber()];
    if (failed(checkRank(full, "input", pt.name)))
      return failure();
    if (!elementInfo(full.getElementType()))
      return func.emitError("emit: input \"")
             << pt.name << "\" has unsupported element type "
             << full.getElementType();
    std::vector<int64_t> offsets(full.getRank(), 0);
    if (dist::SliceOp read = inputBoxRead(arg))
      offsets.assign(read.getOffsets().begin(), read.getOffsets().end());
    out.inputOffsets.push_back(std::move(offsets));
    out.inputs.push_back(pt);
  }
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    auto t = typeOf(v);
    ProgramTensor pt;
    auto n = func.getResultAttrOfType<StringAttr>(i, "ss.name");
    pt.name = n ? n.str() : "output" + std::to_string(i);
    pt.dtype = dtypeName(t.getElementType());
    pt.shape.assign(t.getShape().begin(), t.getShape().end());
    pt.fullShape = pt.shape;
    pt.arenaOffset = outputOffsets[i];
    if (failed(checkRank(t, "output", pt.name)))
      return failure();
    out.outputs.push_back(pt);
  }

  body << "  // Inputs\n";
  for (BlockArgument arg : func.getArguments())
    if (!arg.use_empty())
      (void)var(inputStorage(arg));
  for (Operation &op : func.getBody().front().without_terminator()) {
    SmallVector<Value> values(op.getOperands());
    values.append(op.result_begin(), op.result_end());
    for (Value value : values) {
      Type et = typeOf(value).getElementType();
      if (!elementInfo(et))
        return op.emitError("emit: element type ") << et << " is not supported";
    }
    if (failed(emitOp(&op)))
      return failure();
  }
  if (failed(emitOutputs(ret)))
    return failure();
  body.flush();
  out.text = bodyText;
  return success();
}

//===----------------------------------------------------------------------===//
// Programs: which ranks share one, and the source around the step
//===----------------------------------------------------------------------===//

/// Computes a rank function's slots and its key: its ops, operand numbering,
/// types and attributes with rank-specific data left out or replaced by
/// slots, and the memory plan.
RankSlots analyzeRank(func::FuncOp func) {
  RankSlots slots;
  llvm::raw_string_ostream os(slots.key);
  llvm::DenseMap<Value, unsigned> ids;
  auto slotOf = [](auto &table, const auto &value) -> unsigned {
    auto it = llvm::find(table, value);
    if (it != table.end())
      return it - table.begin();
    table.push_back(value);
    return table.size() - 1;
  };
  os << func.getFunctionType() << "\n";
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    ids[func.getArgument(i)] = ids.size();
    os << "arg " << i << " " << func.getArgAttrDict(i) << "\n";
  }
  llvm::StringMap<unsigned> storageOf;
  for (Operation &op : func.getBody().front()) {
    bool isDist = isa<dist::DistDialect>(op.getDialect());
    os << op.getName();
    for (Value operand : op.getOperands())
      os << " %" << ids.lookup(operand);
    for (Type type : op.getResultTypes())
      os << " -> " << type;
    for (NamedAttribute attr : op.getAttrs()) {
      StringRef name = attr.getName().getValue();
      // Device binding, plan bookkeeping and names do not change the code.
      if (name.starts_with("dist.") || name == "ss.names")
        continue;
      if (isDist && (name == "device" || name == "id"))
        continue;
      if (isa<ConstantOp, VariableOp>(op) && name == "value")
        continue; // each rank's shard holds its own values
      if (isa<dist::SliceOp>(op) && name == "offsets" &&
          isModelInput(op.getResult(0)))
        continue; // input boxes are per-rank tables
      if (isDist && name == "group") {
        auto group = llvm::to_vector(
            cast<DenseI64ArrayAttr>(attr.getValue()).asArrayRef());
        unsigned slot = slotOf(slots.groups, group);
        slots.groupSlot[&op] = slot;
        os << " group=slot" << slot;
        continue;
      }
      if (isDist && (name == "peer" || name == "root")) {
        unsigned slot =
            slotOf(slots.peers, cast<IntegerAttr>(attr.getValue()).getInt());
        slots.peerSlot[&op] = slot;
        os << " " << name << "=slot" << slot;
        continue;
      }
      os << " " << name << "=" << attr.getValue();
    }
    // Reads of one variable piece share storage: the key records which
    // earlier read (if any) this one shares with.
    if (auto read = dyn_cast<VariableOp>(op)) {
      auto [it, added] =
          storageOf.try_emplace(variableStorageKey(read), storageOf.size());
      os << " storage=" << it->second;
    }
    os << "\n";
    for (Value result : op.getResults())
      ids[result] = ids.size();
  }
  for (StringRef name :
       {kArenaBytesAttr, kInputOffsetsAttr, kOutputOffsetsAttr})
    if (Attribute attr = func->getAttr(name))
      os << name << "=" << attr << "\n";
  for (unsigned i = 0; i < func.getNumResults(); ++i)
    os << "result " << i << " " << func.getResultAttrDict(i) << "\n";
  return slots;
}

std::string joinInts(ArrayRef<int64_t> values) {
  std::string s;
  for (size_t i = 0; i < values.size(); ++i)
    s += (i ? ", " : "") + std::to_string(values[i]);
  return s;
}

std::string ranksText(ArrayRef<int> ranks) {
  return joinInts(llvm::to_vector(
      llvm::map_range(ranks, [](int r) { return static_cast<int64_t>(r); })));
}

/// Per op of the program's first rank, the plan text its comment shows: the
/// `dist.trans` decision (per rank where the ranks differ) and, for
/// communication, the group or peer each rank's slot stands for.
llvm::DenseMap<Operation *, std::string>
planNotes(ArrayRef<func::FuncOp> funcs, ArrayRef<const RankSlots *> slots,
          ArrayRef<int> ranks, bool distributed) {
  SmallVector<SmallVector<Operation *>> opsOf;
  for (func::FuncOp func : funcs)
    opsOf.push_back(llvm::to_vector(llvm::map_range(
        func.getBody().front(), [](Operation &op) { return &op; })));
  // "a" when every rank says a, else "rank 1: a; rank 2: b".
  auto perRank = [&](llvm::function_ref<std::string(size_t)> textOf) {
    SmallVector<std::string> texts;
    for (size_t m = 0; m < funcs.size(); ++m)
      texts.push_back(textOf(m));
    if (llvm::all_equal(texts))
      return texts.front();
    std::string joined;
    for (size_t m = 0; m < funcs.size(); ++m)
      joined += (m ? "; rank " : "rank ") + std::to_string(ranks[m]) + ": " +
                texts[m];
    return joined;
  };
  llvm::DenseMap<Operation *, std::string> notes;
  for (size_t i = 0; i < opsOf.front().size(); ++i) {
    Operation *lead = opsOf.front()[i];
    std::string note;
    bool anyTrans = llvm::any_of(
        opsOf, [&](auto &ops) { return ops[i]->hasAttr(plan::kTransAttr); });
    if (anyTrans)
      note = "plan: " + perRank([&](size_t m) {
               auto trans =
                   opsOf[m][i]->getAttrOfType<StringAttr>(plan::kTransAttr);
               return trans ? trans.str() : std::string("whole op");
             });
    else if (!distributed)
      note = "plan: single rank";
    if (slots.front()->groupSlot.count(lead)) {
      unsigned slot = slots.front()->groupSlot.lookup(lead);
      note += std::string(note.empty() ? "" : ", ") + "group slot " +
              std::to_string(slot) + " = " + perRank([&](size_t m) {
                return "[" + joinInts(slots[m]->groups[slot]) + "]";
              });
    }
    if (slots.front()->peerSlot.count(lead)) {
      unsigned slot = slots.front()->peerSlot.lookup(lead);
      StringRef role = isa<dist::BroadcastOp>(lead) ? "root" : "peer";
      note += std::string(note.empty() ? "" : ", ") + role.str() + " slot " +
              std::to_string(slot) + " = " + perRank([&](size_t m) {
                return "rank " + std::to_string(slots[m]->peers[slot]);
              });
    }
    notes[lead] = note;
  }
  return notes;
}

std::string dtypeEnumName(const std::string &dtype) {
  return dtype == "float32" ? "F32"
         : dtype == "int64" ? "I64"
         : dtype == "int32" ? "I32"
                            : "Bool";
}

std::string programHeader(const EmittedPlan &plan,
                          const ProgramArtifacts &program,
                          const EmitOptions &options) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "// SuperScaler rank program: model \""
     << commentSafe(options.modelName) << "\", rank"
     << (program.ranks.size() > 1 ? "s " : " ") << ranksText(program.ranks)
     << " of " << plan.worldSize << ".\n"
     << "// Generated by ssc; edits are overwritten.\n"
     << "//\n"
     << "// plan:        " << commentSafe(plan.plan) << "\n"
     << "// world size:  " << plan.worldSize << "\n"
     << "// ranks:       " << ranksText(program.ranks)
     << (program.ranks.size() > 1
             ? " (one source; rank-specific tables in kRanks)"
             : "")
     << "\n"
     << "// devices:     cpu, one process per rank\n"
     << "// arena:       " << program.arenaBytes << " bytes\n"
     << "// weights:     " << program.weightsBytes << " bytes per rank in "
     << kWeightsFilePattern << "\n"
     << "// kernels:     " << program.kernelCalls << " calls per step\n";
  if (program.training) {
    const RankArtifacts &lead = plan.ranks[program.ranks.front()];
    os << "// training:    each step updates " << lead.variables.size()
       << " variables (parameters and optimizer state) in the weights "
          "block\n";
  }
  bool anyCommunication = llvm::any_of(program.ranks, [&](int r) {
    return !plan.ranks[r].communication.empty();
  });
  if (!anyCommunication) {
    os << "// collectives: none\n";
  } else {
    os << "// collectives per step:\n";
    for (int r : program.ranks) {
      const RankArtifacts &rank = plan.ranks[r];
      os << "//   rank " << r << ": groups";
      if (rank.groups.empty())
        os << " none";
      for (auto [slot, g] : llvm::enumerate(rank.groups))
        os << (slot ? "," : "") << " [" << joinInts(plan.groups[g])
           << "] (slot " << slot << ")";
      if (!rank.peers.empty())
        os << "; peers " << joinInts(rank.peers);
      os << "\n";
      for (const CommunicationRecord &c : rank.communication) {
        std::string with =
            c.kind == "send"   ? "to rank " + std::to_string(c.group[1])
            : c.kind == "recv" ? "from rank " + std::to_string(c.group[0])
                               : "group [" + joinInts(c.group) + "]";
        os << llvm::formatv("//     {0,-15}{1,-22}{2,12} bytes  (id {3})\n",
                            c.kind, with, c.bytes, c.id);
      }
    }
  }
  os << "\n#include \"ssrt/ssrt.h\"\n\n#include <cstring>\n\n"
     << "namespace {\n\n"
     << "void step(char *arena, char *weights,\n"
     << "          const ssrt::StepContext &context) {\n"
     << "  (void)weights;\n"
     << "  (void)context;\n";
  return s;
}

std::string programFooter(const EmittedPlan &plan,
                          const ProgramArtifacts &program,
                          const EmitOptions &options) {
  std::string s;
  llvm::raw_string_ostream os(s);
  auto specs = [&](StringRef name, const std::vector<ProgramTensor> &ts) {
    os << "const ssrt::TensorSpec " << name << "[] = {\n";
    for (const auto &t : ts)
      os << "    {\"" << cppStringBody(t.name)
         << "\", ssrt::DType::" << dtypeEnumName(t.dtype) << ", "
         << t.shape.size() << ", {" << joinInts(t.shape) << "}, "
         << t.arenaOffset << ", {" << joinInts(t.fullShape) << "}},\n";
    if (ts.empty())
      os << "    {\"\", ssrt::DType::F32, 0, {}, 0, {}},\n";
    os << "};\n";
  };
  os << "}\n\n";
  specs("kInputs", program.inputs);
  specs("kOutputs", program.outputs);

  if (!plan.groups.empty()) {
    os << "\n// The plan's groups (world ranks in group order), the same "
          "table in every\n// program.\n";
    for (auto [g, members] : llvm::enumerate(plan.groups))
      os << "const int kGroup" << g << "[] = {" << joinInts(members) << "};\n";
    os << "const ssrt::GroupSpec kGroups[] = {\n";
    for (auto [g, members] : llvm::enumerate(plan.groups))
      os << "    {" << members.size() << ", kGroup" << g << "},\n";
    os << "};\n";
  }

  os << "\n// Per rank: input box offsets (kMaxRank per input), the group of "
        "each group\n// slot (index into kGroups) and the world rank of each "
        "peer slot.\n";
  for (int r : program.ranks) {
    const RankArtifacts &rank = plan.ranks[r];
    if (!program.inputs.empty()) {
      os << "const int64_t kInputOffsets" << r << "[] = {";
      for (auto [i, offsets] : llvm::enumerate(rank.inputOffsets)) {
        std::vector<int64_t> padded(offsets);
        padded.resize(ssrt::kMaxRank, 0);
        os << (i ? ", " : "") << joinInts(padded);
      }
      os << "};\n";
    }
    if (!rank.groups.empty())
      os << "const int kGroupOfSlot" << r << "[] = {"
         << joinInts(llvm::to_vector(llvm::map_range(
                rank.groups, [](int g) { return static_cast<int64_t>(g); })))
         << "};\n";
    if (!rank.peers.empty())
      os << "const int kPeerOfSlot" << r << "[] = {" << joinInts(rank.peers)
         << "};\n";
  }
  os << "const ssrt::RankSpec kRanks[] = {\n";
  for (int r : program.ranks) {
    const RankArtifacts &rank = plan.ranks[r];
    auto table = [&](bool present, StringRef name) {
      return present ? name.str() + std::to_string(r) : std::string("nullptr");
    };
    os << "    {" << r << ", 0x"
       << llvm::format_hex_no_prefix(rank.weightsChecksum, 16) << "ULL, "
       << table(!program.inputs.empty(), "kInputOffsets") << ", "
       << table(!rank.groups.empty(), "kGroupOfSlot") << ", "
       << table(!rank.peers.empty(), "kPeerOfSlot") << "},\n";
  }
  os << "};\n";

  int lossOutput = -1;
  if (program.training)
    for (auto [i, t] : llvm::enumerate(program.outputs))
      if (t.name == "loss")
        lossOutput = i;
  os << "\n} // namespace\n\n"
     << "int main(int argc, char **argv) {\n"
     << "  ssrt::ProgramSpec spec{};\n"
     << "  spec.modelName = \"" << identifierFor(options.modelName) << "\";\n"
     << "  spec.planFingerprint = \"" << options.planFingerprint << "\";\n"
     << "  spec.worldSize = " << plan.worldSize << ";\n"
     << "  spec.arenaBytes = " << program.arenaBytes << ";\n"
     << "  spec.weightsBytes = " << program.weightsBytes << ";\n"
     << "  spec.weightsFilePattern = \"" << kWeightsFilePattern << "\";\n"
     << "  spec.numInputs = " << program.inputs.size() << ";\n"
     << "  spec.inputs = kInputs;\n"
     << "  spec.numOutputs = " << program.outputs.size() << ";\n"
     << "  spec.outputs = kOutputs;\n"
     << "  spec.numGroups = " << plan.groups.size() << ";\n"
     << "  spec.groups = " << (plan.groups.empty() ? "nullptr" : "kGroups")
     << ";\n"
     << "  spec.numRanks = " << program.ranks.size() << ";\n"
     << "  spec.ranks = kRanks;\n"
     << "  spec.training = " << (program.training ? "true" : "false") << ";\n"
     << "  spec.lossOutput = " << lossOutput << ";\n"
     << "  spec.samplesPerStep = " << options.samplesPerStep << ";\n"
     << "  spec.step = step;\n"
     << "  return ssrt::runProgram(argc, argv, spec);\n"
     << "}\n";
  return s;
}

} // namespace

std::string weightsFileName(int rank) {
  return "rank" + std::to_string(rank) + ".weights";
}

LogicalResult emitCppPrograms(ModuleOp module, const EmitOptions &options,
                              EmittedPlan &plan) {
  SmallVector<func::FuncOp> funcs;
  if (failed(collectRankFunctions(module, funcs)))
    return failure();
  bool distributed = module->hasAttr(kWorldSizeAttr);
  plan.worldSize = funcs.size();
  if (auto attr = module->getAttrOfType<IntegerAttr>(kOutputDeviceAttr))
    plan.outputRank = attr.getInt();
  auto planAttr = module->getAttrOfType<StringAttr>(kPlanAttr);
  plan.plan = planAttr ? planAttr.str() : options.plan;

  // Slots and keys; the plan's group table in order of first appearance.
  std::vector<RankSlots> slots;
  for (func::FuncOp func : funcs)
    slots.push_back(analyzeRank(func));
  plan.ranks.resize(funcs.size());
  for (auto [r, rankSlots] : llvm::enumerate(slots)) {
    RankArtifacts &rank = plan.ranks[r];
    rank.rank = r;
    for (const auto &group : rankSlots.groups) {
      std::vector<int64_t> members(group.begin(), group.end());
      auto it = llvm::find(plan.groups, members);
      rank.groups.push_back(it - plan.groups.begin());
      if (it == plan.groups.end())
        plan.groups.push_back(std::move(members));
    }
    rank.peers.assign(rankSlots.peers.begin(), rankSlots.peers.end());
  }

  // Ranks with equal keys share a program, named after its lowest rank.
  llvm::StringMap<int> programOfKey;
  for (auto [r, rankSlots] : llvm::enumerate(slots)) {
    auto [it, added] =
        programOfKey.try_emplace(rankSlots.key, plan.programs.size());
    if (added) {
      plan.programs.emplace_back();
      plan.programs.back().name = "rank" + std::to_string(r);
    }
    plan.programs[it->second].ranks.push_back(r);
    plan.ranks[r].program = it->second;
  }

  // Shards seen so far by content hash, to keep identical ones once.
  std::multimap<uint64_t, int> shardsByChecksum;
  for (ProgramArtifacts &program : plan.programs) {
    SmallVector<func::FuncOp> members;
    SmallVector<const RankSlots *> memberSlots;
    for (int r : program.ranks) {
      members.push_back(funcs[r]);
      memberSlots.push_back(&slots[r]);
    }
    auto notes = planNotes(members, memberSlots, program.ranks, distributed);
    std::string leadText;
    for (int r : program.ranks) {
      RankBody body;
      Emitter emitter(funcs[r], slots[r], notes, body);
      if (failed(emitter.run()))
        return failure();
      RankArtifacts &rank = plan.ranks[r];
      rank.weights = std::move(body.weights);
      rank.weightsBytes = rank.weights.size();
      // A fast hash finds identical shards; only distinct ones pay for the
      // (byte-at-a-time) FNV checksum the runtime verifies.
      uint64_t hash = llvm::xxh3_64bits(llvm::ArrayRef<uint8_t>(
          reinterpret_cast<const uint8_t *>(rank.weights.data()),
          rank.weights.size()));
      auto [first, last] = shardsByChecksum.equal_range(hash);
      for (auto it = first; it != last; ++it)
        if (plan.ranks[it->second].weights == rank.weights) {
          rank.weightsSameAs = it->second;
          rank.weightsChecksum = plan.ranks[it->second].weightsChecksum;
          std::vector<char>().swap(rank.weights);
          break;
        }
      if (rank.weightsSameAs < 0) {
        rank.weightsChecksum =
            ssrt::fnv1a64(rank.weights.data(), rank.weights.size());
        shardsByChecksum.insert({hash, r});
      }
      rank.arenaBytes = body.arenaBytes;
      rank.inputOffsets = std::move(body.inputOffsets);
      rank.communication = std::move(body.communication);
      rank.variables = std::move(body.variables);
      if (auto peak = funcs[r]->getAttrOfType<DenseI64ArrayAttr>(kPeakLiveAttr);
          peak && peak.size() == 3) {
        rank.peakLiveBytes = peak[0];
        rank.peakActivationBytes = peak[1];
        rank.peakBackwardBytes = peak[2];
      }
      if (r != program.ranks.front()) {
        if (rank.weightsBytes != program.weightsBytes)
          return funcs[r].emitError("emit: rank ")
                 << r << " shares a program with rank " << program.ranks[0]
                 << " but its weights differ in layout";
        continue;
      }
      leadText = std::move(body.text);
      program.arenaBytes = body.arenaBytes;
      program.weightsBytes = rank.weightsBytes;
      program.kernelCalls = body.kernelCalls;
      program.training = body.training;
      program.inputs = std::move(body.inputs);
      program.outputs = std::move(body.outputs);
    }
    program.source = programHeader(plan, program, options) + leadText +
                     programFooter(plan, program, options);
  }

  const ProgramArtifacts &outputProgram =
      plan.programs[plan.ranks[plan.outputRank].program];
  plan.inputs = outputProgram.inputs;
  for (ProgramTensor &t : plan.inputs)
    t.shape = t.fullShape;
  plan.outputs = outputProgram.outputs;
  return success();
}

} // namespace ss
