//===- GraphOps.cpp - graph op inference, annotations and folders ---------===//
//
// For every graph op: result type inference, which is also the op's verifier
// (so a builder, the parser and the verifier reject the same inputs with the
// same message), its dimension annotation, and the constant folders that
// evaluate the shape subgraphs left after import.
//
//===----------------------------------------------------------------------===//

#include "Graph/DimAnnotation.h"
#include "Graph/GraphDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <type_traits>

using namespace mlir;
using namespace ss::graph;

//===----------------------------------------------------------------------===//
// Inference support
//===----------------------------------------------------------------------===//

namespace {
/// The element types an operand may have. Each op admits the set that ssrt
/// implements for it, so an unsupported model fails at import, not at run.
enum class ElementSet {
  Any,        // f32, i64, i32, i1, i8, ui8: ops that only move data
  Arithmetic, // f32, i64, i32
  Comparable, // f32, i64, i32, i1
  Float,      // f32
  Bool,       // i1
  Index,      // i64, i32
};
} // namespace

static bool isElementIn(Type type, ElementSet set) {
  bool isF32 = type.isF32();
  bool isI1 = type.isSignlessInteger(1);
  bool isIndex = type.isSignlessInteger(32) || type.isSignlessInteger(64);
  switch (set) {
  case ElementSet::Any:
    return isF32 || isI1 || isIndex || type.isSignlessInteger(8) ||
           type.isUnsignedInteger(8);
  case ElementSet::Arithmetic:
    return isF32 || isIndex;
  case ElementSet::Comparable:
    return isF32 || isIndex || isI1;
  case ElementSet::Float:
    return isF32;
  case ElementSet::Bool:
    return isI1;
  case ElementSet::Index:
    return isIndex;
  }
  llvm_unreachable("unknown element set");
}

static StringRef describe(ElementSet set) {
  switch (set) {
  case ElementSet::Any:
    return "f32, i64, i32, i1, i8 or ui8";
  case ElementSet::Arithmetic:
    return "f32, i64 or i32";
  case ElementSet::Comparable:
    return "f32, i64, i32 or i1";
  case ElementSet::Float:
    return "f32";
  case ElementSet::Bool:
    return "i1";
  case ElementSet::Index:
    return "i64 or i32";
  }
  llvm_unreachable("unknown element set");
}

/// `[3, 5]`, the way diagnostics show shapes and integer-array attributes.
static std::string str(ArrayRef<int64_t> values) {
  return "[" +
         llvm::join(llvm::map_range(
                        values, [](int64_t v) { return std::to_string(v); }),
                    ", ") +
         "]";
}

namespace {
/// int64 arithmetic for shape formulas that remembers overflow, so that
/// absurd attribute values are reported instead of wrapping around.
class CheckedInt {
public:
  CheckedInt(int64_t value) : value(value) {}

  CheckedInt operator+(CheckedInt other) const {
    int64_t sum;
    bool overflowed = llvm::AddOverflow(value, other.value, sum);
    return CheckedInt(sum, overflowed || overflow || other.overflow);
  }
  CheckedInt operator-(CheckedInt other) const {
    int64_t difference;
    bool overflowed = llvm::SubOverflow(value, other.value, difference);
    return CheckedInt(difference, overflowed || overflow || other.overflow);
  }
  CheckedInt operator*(CheckedInt other) const {
    int64_t product;
    bool overflowed = llvm::MulOverflow(value, other.value, product);
    return CheckedInt(product, overflowed || overflow || other.overflow);
  }
  /// Division by a positive divisor, rounding down or up.
  CheckedInt divide(int64_t divisor, bool roundUp) const {
    return CheckedInt(roundUp ? llvm::divideCeilSigned(value, divisor)
                              : llvm::divideFloorSigned(value, divisor),
                      overflow);
  }
  std::optional<int64_t> get() const {
    if (overflow)
      return std::nullopt;
    return value;
  }

private:
  CheckedInt(int64_t value, bool overflow) : value(value), overflow(overflow) {}

  int64_t value;
  bool overflow = false;
};

/// Reports type-inference errors as `<mnemonic>: <message>` at the op's
/// location, if there is one (builders may infer without).
class Inference {
public:
  Inference(std::optional<Location> location, StringRef opName)
      : location(location), opName(opName.drop_front(strlen("graph."))) {}

  /// Reports the first error only: later checks of an op already found
  /// wrong would mostly repeat it.
  template <typename... Args> LogicalResult error(Args &&...args) const {
    if (reported)
      return failure();
    reported = true;
    return emitOptionalError(location, opName, ": ",
                             plain(std::forward<Args>(args))...);
  }

  /// The type of operand `name`: a statically shaped tensor whose element
  /// type is in `set`.
  FailureOr<RankedTensorType> tensor(Value value, StringRef name,
                                     ElementSet set) const {
    if (!value)
      return error("operand '", name, "' is missing");
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type)
      return error("operand '", name, "' must be a ranked tensor, got ",
                   value.getType());
    if (!type.hasStaticShape())
      return error("operand '", name, "' must have a static shape, got ", type);
    if (!isElementIn(type.getElementType(), set))
      return error("operand '", name, "' has element type ",
                   type.getElementType(), "; expected ", describe(set));
    return type;
  }

  /// A required attribute; the ODS verifier checks presence first, but
  /// builders infer types before any verifier runs.
  template <typename AttrT>
  FailureOr<AttrT> attr(AttrT attr, StringRef name) const {
    if (!attr)
      return error("attribute '", name, "' is missing");
    return attr;
  }

  /// An integer-array attribute that must have `size` entries; `per` says
  /// what the entries are per, for the message.
  FailureOr<ArrayRef<int64_t>> array(DenseI64ArrayAttr attr, StringRef name,
                                     int64_t size, StringRef per) const {
    if (!attr)
      return error("attribute '", name, "' is missing");
    if (attr.size() != size)
      return error(name, " ", str(attr.asArrayRef()), " has ", attr.size(),
                   " entries, expected ", size, " (", per, ")");
    return attr.asArrayRef();
  }

  /// Checks that every entry of `values` is at least `minimum`.
  LogicalResult atLeast(ArrayRef<int64_t> values, StringRef name,
                        int64_t minimum) const {
    for (auto [index, value] : llvm::enumerate(values))
      if (value < minimum)
        return error(name, "[", index, "] is ", value,
                     ", expected >= ", minimum);
    return success();
  }

  /// An axis attribute in [0, rank), or in [-rank, rank) when
  /// `allowNegative`, returned as a non-negative axis.
  FailureOr<int64_t> axis(IntegerAttr attr, int64_t rank,
                          bool allowNegative) const {
    if (!attr)
      return error("attribute 'axis' is missing");
    int64_t axis = attr.getInt();
    int64_t lowest = allowNegative ? -rank : 0;
    if (axis < lowest || axis >= rank)
      return error("axis ", axis, " is out of range [", lowest, ", ", rank,
                   ") for rank ", rank);
    return axis < 0 ? axis + rank : axis;
  }

  /// The value of a shape formula, or an error if it overflowed.
  FailureOr<int64_t> value(CheckedInt formula, StringRef what) const {
    if (std::optional<int64_t> v = formula.get())
      return *v;
    return error(what, " overflows int64");
  }

private:
  /// Types print unquoted (`element type i32`) and floats briefly (`0.5`).
  template <typename T> static decltype(auto) plain(T &&arg) {
    using Plain = std::decay_t<T>;
    if constexpr (std::is_base_of_v<Type, Plain>) {
      std::string text;
      llvm::raw_string_ostream(text) << arg;
      return text;
    } else if constexpr (std::is_floating_point_v<Plain>) {
      char text[32];
      snprintf(text, sizeof(text), "%g", static_cast<double>(arg));
      return std::string(text);
    } else {
      return std::forward<T>(arg);
    }
  }

  std::optional<Location> location;
  StringRef opName;
  mutable bool reported = false;
};
} // namespace

/// The number of elements of a shape, if it fits in int64.
static std::optional<int64_t> elementCount(ArrayRef<int64_t> shape) {
  CheckedInt count(1);
  for (int64_t size : shape)
    count = count * size;
  return count.get();
}

/// Numpy broadcasting of `shapes` (right-aligned; a size-1 dimension
/// stretches). `what` names the shapes in the message.
static FailureOr<SmallVector<int64_t>>
broadcastShapes(const Inference &inference, ArrayRef<ArrayRef<int64_t>> shapes,
                StringRef what = "dimension") {
  size_t rank = 0;
  for (ArrayRef<int64_t> shape : shapes)
    rank = std::max(rank, shape.size());
  SmallVector<int64_t> result(rank, 1);
  for (ArrayRef<int64_t> shape : shapes) {
    size_t offset = rank - shape.size();
    for (auto [i, size] : llvm::enumerate(shape)) {
      int64_t &out = result[offset + i];
      if (out == 1)
        out = size;
      else if (size != 1 && size != out)
        return inference.error(what, " ", offset + i, " of sizes ", out,
                               " and ", size, " is not broadcastable (shapes ",
                               llvm::join(llvm::map_range(shapes, str), ", "),
                               ")");
    }
  }
  return result;
}

/// Whether `shape` broadcasts to `target` without changing it (ONNX's
/// unidirectional broadcasting).
static bool broadcastsTo(ArrayRef<int64_t> shape, ArrayRef<int64_t> target) {
  if (shape.size() > target.size())
    return false;
  size_t offset = target.size() - shape.size();
  for (auto [i, size] : llvm::enumerate(shape))
    if (size != 1 && size != target[offset + i])
      return false;
  return true;
}

/// Checks that a string attribute is one of `allowed`.
static FailureOr<StringRef> oneOf(const Inference &inference, StringAttr attr,
                                  StringRef name, ArrayRef<StringRef> allowed) {
  if (failed(inference.attr(attr, name)))
    return failure();
  if (!llvm::is_contained(allowed, attr.getValue()))
    return inference.error(name, " \"", attr.getValue(), "\" is not one of \"",
                           llvm::join(allowed, "\", \""), "\"");
  return attr.getValue();
}

//===----------------------------------------------------------------------===//
// Annotation support
//===----------------------------------------------------------------------===//

static ArrayRef<int64_t> shapeOf(Value value) {
  return cast<RankedTensorType>(value.getType()).getShape();
}

static AnnotatedTensor freshLabels(DimLabelNames &names, int64_t count,
                                   DimLabel::Kind kind = DimLabel::Spatial) {
  AnnotatedTensor labels;
  for (int64_t i = 0; i < count; ++i)
    labels.push_back(DimLabel{names.next(), kind});
  return labels;
}

/// The labels of an operand of `shape` broadcast (right-aligned) against a
/// tensor of `target` shape labelled `targetLabels`: its size-1 dimensions
/// facing larger ones are `1`, the others share the target's label.
static AnnotatedTensor broadcastLabels(ArrayRef<int64_t> shape,
                                       ArrayRef<int64_t> target,
                                       ArrayRef<AnnotatedDim> targetLabels) {
  AnnotatedTensor labels;
  size_t offset = target.size() - shape.size();
  for (auto [i, size] : llvm::enumerate(shape)) {
    if (size == 1 && target[offset + i] != 1)
      labels.push_back(DimLabel{"", DimLabel::Broadcast});
    else
      labels.push_back(targetLabels[offset + i]);
  }
  return labels;
}

/// Elementwise ops: one label per result dimension, operands right-aligned.
static std::string elementwiseAnnotation(Operation *op) {
  DimLabelNames names;
  ArrayRef<int64_t> resultShape = shapeOf(op->getResult(0));
  DimAnnotation annotation;
  annotation.outputs.push_back(freshLabels(names, resultShape.size()));
  for (Value operand : op->getOperands())
    annotation.inputs.push_back(broadcastLabels(shapeOf(operand), resultShape,
                                                annotation.outputs.front()));
  return annotation.str();
}

/// Labels for a tensor whose dimensions are kept where `kept[d]` holds and
/// frozen (fresh `^` labels) elsewhere; kept dimensions reuse `shared`.
static AnnotatedTensor keepOrFreeze(DimLabelNames &names, ArrayRef<bool> kept,
                                    ArrayRef<AnnotatedDim> shared) {
  AnnotatedTensor labels;
  for (auto [d, keep] : llvm::enumerate(kept))
    labels.push_back(keep ? shared[d]
                          : DimLabel{names.next(), DimLabel::Frozen});
  return labels;
}

/// Ops that rewrite some dimensions and copy the others (slice, pad,
/// resize): a copied dimension keeps one label, a rewritten one is frozen
/// on both sides with distinct labels.
static std::string copyOrFreezeAnnotation(ArrayRef<bool> copied) {
  DimLabelNames names;
  DimAnnotation annotation;
  AnnotatedTensor input;
  for (bool copy : copied)
    input.push_back(
        DimLabel{names.next(), copy ? DimLabel::Spatial : DimLabel::Frozen});
  annotation.outputs.push_back(keepOrFreeze(names, copied, input));
  annotation.inputs.push_back(std::move(input));
  return annotation.str();
}

//===----------------------------------------------------------------------===//
// Folding support
//===----------------------------------------------------------------------===//

/// Folders evaluate shape subgraphs and constant tables that exporters
/// compute in the graph (rotary sin/cos caches of long sequences, causal
/// masks), some of which have no run-time kernel. Beyond 4M elements
/// (16 MiB of float32) the work is left to run time rather than blowing up
/// compile time and the IR.
static constexpr int64_t kMaxFoldedElements = int64_t(1) << 22;

/// The result type of `op` if it is small enough to evaluate into, and if
/// the op's types are the ones inference gives. Folders index constants by
/// those types, so an op built with wrong explicit result types (never
/// verified) is left alone rather than read out of bounds.
static RankedTensorType foldableType(Operation *op) {
  auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!type || !type.hasStaticShape() ||
      type.getNumElements() > kMaxFoldedElements)
    return nullptr;
  SmallVector<Type, 1> inferred;
  if (failed(cast<InferTypeOpInterface>(op).inferReturnTypes(
          op->getContext(), /*location=*/std::nullopt, op->getOperands(),
          op->getRawDictionaryAttrs(), op->getPropertiesStorage(),
          op->getRegions(), inferred)) ||
      TypeRange(inferred) != op->getResultTypes())
    return nullptr;
  return type;
}

/// Calls `fn` with a value of the C++ type that holds `type`'s elements in a
/// DenseElementsAttr; a null attribute for other element types.
template <typename Fn> static Attribute visitElementType(Type type, Fn &&fn) {
  if (type.isF32())
    return fn(float());
  if (type.isSignlessInteger(64))
    return fn(int64_t());
  if (type.isSignlessInteger(32))
    return fn(int32_t());
  if (type.isSignlessInteger(8))
    return fn(int8_t());
  if (type.isUnsignedInteger(8))
    return fn(uint8_t());
  if (type.isSignlessInteger(1))
    return fn(bool());
  return {};
}

/// Row-major strides of `shape`.
static SmallVector<int64_t> rowMajorStrides(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

/// For each element of `resultShape` in row-major order, the flat index
/// `base + sum_d position[d] * strides[d]` of the source element it reads.
static SmallVector<int64_t> stridedIndices(ArrayRef<int64_t> resultShape,
                                           int64_t base,
                                           ArrayRef<int64_t> strides) {
  int64_t rank = resultShape.size();
  int64_t count = *elementCount(resultShape);
  SmallVector<int64_t> indices;
  indices.reserve(count);
  SmallVector<int64_t> position(rank, 0);
  int64_t source = base;
  for (int64_t i = 0; i < count; ++i) {
    indices.push_back(source);
    for (int64_t d = rank - 1; d >= 0; --d) {
      source += strides[d];
      if (++position[d] < resultShape[d])
        break;
      source -= strides[d] * position[d];
      position[d] = 0;
    }
  }
  return indices;
}

/// The source index of every result element when `shape` is broadcast to
/// `resultShape`.
static SmallVector<int64_t> broadcastIndices(ArrayRef<int64_t> shape,
                                             ArrayRef<int64_t> resultShape) {
  SmallVector<int64_t> sourceStrides = rowMajorStrides(shape);
  SmallVector<int64_t> strides(resultShape.size(), 0);
  size_t offset = resultShape.size() - shape.size();
  for (auto [d, size] : llvm::enumerate(shape))
    if (size != 1)
      strides[offset + d] = sourceStrides[d];
  return stridedIndices(resultShape, 0, strides);
}

/// The constant of `type` whose element i is `source`'s element indices[i].
static Attribute gatherElements(DenseElementsAttr source,
                                ArrayRef<int64_t> indices,
                                RankedTensorType type) {
  return visitElementType(type.getElementType(), [&](auto tag) -> Attribute {
    using T = decltype(tag);
    auto begin = source.value_begin<T>();
    SmallVector<T> values;
    values.reserve(indices.size());
    for (int64_t index : indices)
      values.push_back(begin[index]);
    return DenseElementsAttr::get(type, ArrayRef<T>(values));
  });
}

/// A fold operand's value when it is a dense constant (resource blobs and
/// runtime values are not evaluated).
static DenseElementsAttr denseOperand(Attribute attr) {
  return dyn_cast_if_present<DenseElementsAttr>(attr);
}

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

LogicalResult ConstantOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location> location,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  ElementsAttr value = adaptor.getProperties().value;
  if (failed(inference.attr(value, "value")))
    return failure();
  auto type = dyn_cast<RankedTensorType>(value.getShapedType());
  if (!type || !type.hasStaticShape())
    return inference.error("value must be a statically shaped tensor, got ",
                           value.getShapedType());
  if (!isElementIn(type.getElementType(), ElementSet::Any))
    return inference.error("value has element type ", type.getElementType(),
                           "; expected ", describe(ElementSet::Any));
  inferred.push_back(type);
  return success();
}

std::string ConstantOp::getDimAnnotation() {
  // A constant computes nothing that splitting would share out; consumers
  // take the slices they need (R -> D is a local slice), so all dims are
  // frozen.
  DimLabelNames names;
  DimAnnotation annotation;
  annotation.outputs.push_back(
      freshLabels(names, getType().getRank(), DimLabel::Frozen));
  return annotation.str();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

//===----------------------------------------------------------------------===//
// Unary elementwise ops
//===----------------------------------------------------------------------===//

/// Ops whose result has the type of their single input.
static LogicalResult inferSameType(const Inference &inference, Value input,
                                   ElementSet set,
                                   SmallVectorImpl<Type> &inferred) {
  FailureOr<RankedTensorType> type = inference.tensor(input, "input", set);
  if (failed(type))
    return failure();
  inferred.push_back(*type);
  return success();
}

#define GRAPH_SAME_TYPE_UNARY_OP(OP, SET)                                      \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> location, Adaptor adaptor,        \
      SmallVectorImpl<Type> &inferred) {                                       \
    return inferSameType(Inference(location, getOperationName()),              \
                         adaptor.getInput(), ElementSet::SET, inferred);       \
  }                                                                            \
  std::string OP::getDimAnnotation() { return elementwiseAnnotation(*this); }

GRAPH_SAME_TYPE_UNARY_OP(NegOp, Arithmetic)
GRAPH_SAME_TYPE_UNARY_OP(AbsOp, Arithmetic)
GRAPH_SAME_TYPE_UNARY_OP(ExpOp, Float)
GRAPH_SAME_TYPE_UNARY_OP(LogOp, Float)
GRAPH_SAME_TYPE_UNARY_OP(TanhOp, Float)
GRAPH_SAME_TYPE_UNARY_OP(ErfOp, Float)
GRAPH_SAME_TYPE_UNARY_OP(ReluOp, Float)
GRAPH_SAME_TYPE_UNARY_OP(SigmoidOp, Float)
GRAPH_SAME_TYPE_UNARY_OP(SqrtOp, Float)
GRAPH_SAME_TYPE_UNARY_OP(ReciprocalOp, Float)
GRAPH_SAME_TYPE_UNARY_OP(HardSwishOp, Float)
GRAPH_SAME_TYPE_UNARY_OP(NotOp, Bool)
GRAPH_SAME_TYPE_UNARY_OP(LeakyReluOp, Float)
GRAPH_SAME_TYPE_UNARY_OP(HardSigmoidOp, Float)
GRAPH_SAME_TYPE_UNARY_OP(ClipOp, Float)

#undef GRAPH_SAME_TYPE_UNARY_OP

LogicalResult GeluOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> location,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  // `approximate` defaults to "none" and may be unset while building.
  if (StringAttr approximate = adaptor.getProperties().approximate)
    if (failed(oneOf(inference, approximate, "approximate", {"none", "tanh"})))
      return failure();
  return inferSameType(inference, adaptor.getInput(), ElementSet::Float,
                       inferred);
}

std::string GeluOp::getDimAnnotation() { return elementwiseAnnotation(*this); }

LogicalResult CastOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> location,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> input =
      inference.tensor(adaptor.getInput(), "input", ElementSet::Any);
  FailureOr<TypeAttr> to = inference.attr(adaptor.getProperties().to, "to");
  if (failed(input) || failed(to))
    return failure();
  Type element = to->getValue();
  if (!isElementIn(element, ElementSet::Any))
    return inference.error("target element type ", element, " is not one of ",
                           describe(ElementSet::Any));
  inferred.push_back(input->clone(element));
  return success();
}

std::string CastOp::getDimAnnotation() { return elementwiseAnnotation(*this); }

/// Converts one element the way ONNX Cast does; nothing when the value does
/// not fit the target (C++ leaves that undefined, so it is not folded).
template <typename To, typename From>
static std::optional<To> convertElement(From value) {
  if constexpr (std::is_same_v<To, bool>) {
    return value != From(0);
  } else if constexpr (std::is_floating_point_v<From> &&
                       !std::is_floating_point_v<To>) {
    if (!std::isfinite(value))
      return std::nullopt;
    double truncated = std::trunc(static_cast<double>(value));
    double lowest = static_cast<double>(std::numeric_limits<To>::lowest());
    double bound = std::ldexp(1.0, std::numeric_limits<To>::digits);
    if (truncated < lowest || truncated >= bound)
      return std::nullopt;
    return static_cast<To>(truncated);
  } else {
    return static_cast<To>(value);
  }
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  DenseElementsAttr input = denseOperand(adaptor.getInput());
  RankedTensorType type = foldableType(*this);
  if (!input || !type)
    return {};
  return visitElementType(input.getElementType(), [&](auto fromTag) {
    using From = decltype(fromTag);
    return visitElementType(type.getElementType(), [&](auto toTag) {
      using To = decltype(toTag);
      SmallVector<To> values;
      for (From value : input.getValues<From>()) {
        std::optional<To> converted = convertElement<To>(value);
        if (!converted)
          return Attribute();
        values.push_back(*converted);
      }
      return Attribute(DenseElementsAttr::get(type, ArrayRef<To>(values)));
    });
  });
}

OpFoldResult NegOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr input = denseOperand(adaptor.getInput());
  RankedTensorType type = foldableType(*this);
  if (!input || !type)
    return {};
  return visitElementType(type.getElementType(), [&](auto tag) -> Attribute {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      return {};
    } else {
      SmallVector<T> values;
      for (T value : input.getValues<T>()) {
        if constexpr (std::is_floating_point_v<T>)
          values.push_back(-value);
        else // Two's-complement negation, wrapping like the runtime.
          values.push_back(static_cast<T>(std::make_unsigned_t<T>(0) -
                                          std::make_unsigned_t<T>(value)));
      }
      return DenseElementsAttr::get(type, ArrayRef<T>(values));
    }
  });
}

OpFoldResult NotOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr input = denseOperand(adaptor.getInput());
  RankedTensorType type = foldableType(*this);
  if (!input || !type || !type.getElementType().isSignlessInteger(1))
    return {};
  SmallVector<bool> values;
  for (bool value : input.getValues<bool>())
    values.push_back(!value);
  return DenseElementsAttr::get(type, ArrayRef<bool>(values));
}

//===----------------------------------------------------------------------===//
// Binary elementwise ops
//===----------------------------------------------------------------------===//

namespace {
enum class BinaryKind { Add, Sub, Mul, Div, Pow, Equal, Less, Greater };
} // namespace

static bool isComparison(BinaryKind kind) {
  return kind == BinaryKind::Equal || kind == BinaryKind::Less ||
         kind == BinaryKind::Greater;
}

static LogicalResult inferBinary(const Inference &inference, BinaryKind kind,
                                 Value lhs, Value rhs,
                                 SmallVectorImpl<Type> &inferred) {
  ElementSet set = kind == BinaryKind::Equal ? ElementSet::Comparable
                                             : ElementSet::Arithmetic;
  FailureOr<RankedTensorType> lhsType = inference.tensor(lhs, "lhs", set);
  FailureOr<RankedTensorType> rhsType = inference.tensor(rhs, "rhs", set);
  if (failed(lhsType) || failed(rhsType))
    return failure();
  if (lhsType->getElementType() != rhsType->getElementType())
    return inference.error("lhs element type ", lhsType->getElementType(),
                           " differs from rhs element type ",
                           rhsType->getElementType());
  FailureOr<SmallVector<int64_t>> shape =
      broadcastShapes(inference, {lhsType->getShape(), rhsType->getShape()});
  if (failed(shape))
    return failure();
  Type element = isComparison(kind) ? IntegerType::get(lhsType->getContext(), 1)
                                    : lhsType->getElementType();
  inferred.push_back(RankedTensorType::get(*shape, element));
  return success();
}

/// `a op b` for an arithmetic kind; nothing where the result is undefined
/// (integer division by zero or overflow, negative integer powers).
/// Integers wrap, as they do at run time.
template <typename T>
static std::optional<T> applyArithmetic(BinaryKind kind, T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return std::nullopt;
  } else if constexpr (std::is_floating_point_v<T>) {
    switch (kind) {
    case BinaryKind::Add:
      return a + b;
    case BinaryKind::Sub:
      return a - b;
    case BinaryKind::Mul:
      return a * b;
    case BinaryKind::Div:
      return a / b;
    case BinaryKind::Pow:
      return static_cast<T>(std::pow(a, b));
    default:
      return std::nullopt;
    }
  } else {
    using U = std::make_unsigned_t<T>;
    switch (kind) {
    case BinaryKind::Add:
      return static_cast<T>(static_cast<U>(U(a) + U(b)));
    case BinaryKind::Sub:
      return static_cast<T>(static_cast<U>(U(a) - U(b)));
    case BinaryKind::Mul:
      return static_cast<T>(static_cast<U>(U(a) * U(b)));
    case BinaryKind::Div:
      if (b == 0 || (std::is_signed_v<T> &&
                     a == std::numeric_limits<T>::lowest() && b == T(-1)))
        return std::nullopt;
      return static_cast<T>(a / b); // C++ truncates toward zero, as ONNX.
    case BinaryKind::Pow: {
      if (b < 0)
        return std::nullopt;
      U result = 1, base = U(a);
      for (U exponent = U(b); exponent; exponent >>= 1) {
        if (exponent & 1)
          result = static_cast<U>(result * base);
        base = static_cast<U>(base * base);
      }
      return static_cast<T>(result);
    }
    default:
      return std::nullopt;
    }
  }
}

template <typename T> static bool applyComparison(BinaryKind kind, T a, T b) {
  switch (kind) {
  case BinaryKind::Equal:
    return a == b;
  case BinaryKind::Less:
    return a < b;
  case BinaryKind::Greater:
    return a > b;
  default:
    llvm_unreachable("not a comparison");
  }
}

static OpFoldResult foldBinary(Operation *op, BinaryKind kind,
                               Attribute lhsAttr, Attribute rhsAttr) {
  DenseElementsAttr lhs = denseOperand(lhsAttr), rhs = denseOperand(rhsAttr);
  if (!lhs || !rhs)
    return {};
  RankedTensorType type = foldableType(op);
  if (!type)
    return {};
  SmallVector<int64_t> lhsIndices =
      broadcastIndices(lhs.getType().getShape(), type.getShape());
  SmallVector<int64_t> rhsIndices =
      broadcastIndices(rhs.getType().getShape(), type.getShape());
  return visitElementType(lhs.getElementType(), [&](auto tag) -> Attribute {
    using T = decltype(tag);
    auto lhsBegin = lhs.value_begin<T>();
    auto rhsBegin = rhs.value_begin<T>();
    if (isComparison(kind)) {
      SmallVector<bool> values;
      for (auto [l, r] : llvm::zip_equal(lhsIndices, rhsIndices))
        values.push_back(applyComparison<T>(kind, lhsBegin[l], rhsBegin[r]));
      return DenseElementsAttr::get(type, ArrayRef<bool>(values));
    }
    SmallVector<T> values;
    for (auto [l, r] : llvm::zip_equal(lhsIndices, rhsIndices)) {
      std::optional<T> value =
          applyArithmetic<T>(kind, lhsBegin[l], rhsBegin[r]);
      if (!value)
        return {};
      values.push_back(*value);
    }
    return DenseElementsAttr::get(type, ArrayRef<T>(values));
  });
}

#define GRAPH_BINARY_OP(OP, KIND)                                              \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> location, Adaptor adaptor,        \
      SmallVectorImpl<Type> &inferred) {                                       \
    return inferBinary(Inference(location, getOperationName()),                \
                       BinaryKind::KIND, adaptor.getLhs(), adaptor.getRhs(),   \
                       inferred);                                              \
  }                                                                            \
  std::string OP::getDimAnnotation() { return elementwiseAnnotation(*this); }  \
  OpFoldResult OP::fold(FoldAdaptor adaptor) {                                 \
    return foldBinary(*this, BinaryKind::KIND, adaptor.getLhs(),               \
                      adaptor.getRhs());                                       \
  }

GRAPH_BINARY_OP(AddOp, Add)
GRAPH_BINARY_OP(SubOp, Sub)
GRAPH_BINARY_OP(MulOp, Mul)
GRAPH_BINARY_OP(DivOp, Div)
GRAPH_BINARY_OP(PowOp, Pow)
GRAPH_BINARY_OP(EqualOp, Equal)
GRAPH_BINARY_OP(LessOp, Less)
GRAPH_BINARY_OP(GreaterOp, Greater)

#undef GRAPH_BINARY_OP

LogicalResult WhereOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> location,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> condition =
      inference.tensor(adaptor.getCondition(), "condition", ElementSet::Bool);
  FailureOr<RankedTensorType> lhs =
      inference.tensor(adaptor.getLhs(), "lhs", ElementSet::Any);
  FailureOr<RankedTensorType> rhs =
      inference.tensor(adaptor.getRhs(), "rhs", ElementSet::Any);
  if (failed(condition) || failed(lhs) || failed(rhs))
    return failure();
  if (lhs->getElementType() != rhs->getElementType())
    return inference.error("lhs element type ", lhs->getElementType(),
                           " differs from rhs element type ",
                           rhs->getElementType());
  FailureOr<SmallVector<int64_t>> shape = broadcastShapes(
      inference, {condition->getShape(), lhs->getShape(), rhs->getShape()});
  if (failed(shape))
    return failure();
  inferred.push_back(RankedTensorType::get(*shape, lhs->getElementType()));
  return success();
}

std::string WhereOp::getDimAnnotation() { return elementwiseAnnotation(*this); }

OpFoldResult WhereOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr condition = denseOperand(adaptor.getCondition());
  DenseElementsAttr lhs = denseOperand(adaptor.getLhs());
  DenseElementsAttr rhs = denseOperand(adaptor.getRhs());
  RankedTensorType type = foldableType(*this);
  if (!condition || !lhs || !rhs || !type ||
      !condition.getElementType().isSignlessInteger(1))
    return {};
  ArrayRef<int64_t> shape = type.getShape();
  SmallVector<int64_t> conditionIndices =
      broadcastIndices(condition.getType().getShape(), shape);
  SmallVector<int64_t> lhsIndices =
      broadcastIndices(lhs.getType().getShape(), shape);
  SmallVector<int64_t> rhsIndices =
      broadcastIndices(rhs.getType().getShape(), shape);
  return visitElementType(type.getElementType(), [&](auto tag) -> Attribute {
    using T = decltype(tag);
    auto conditionBegin = condition.value_begin<bool>();
    auto lhsBegin = lhs.value_begin<T>();
    auto rhsBegin = rhs.value_begin<T>();
    SmallVector<T> values;
    for (auto [c, l, r] :
         llvm::zip_equal(conditionIndices, lhsIndices, rhsIndices))
      values.push_back(conditionBegin[c] ? lhsBegin[l] : rhsBegin[r]);
    return DenseElementsAttr::get(type, ArrayRef<T>(values));
  });
}

//===----------------------------------------------------------------------===//
// MatMulOp and GemmOp
//===----------------------------------------------------------------------===//

LogicalResult MatMulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> location,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> lhs =
      inference.tensor(adaptor.getLhs(), "lhs", ElementSet::Float);
  FailureOr<RankedTensorType> rhs =
      inference.tensor(adaptor.getRhs(), "rhs", ElementSet::Float);
  if (failed(lhs) || failed(rhs))
    return failure();
  for (auto [name, type] : {std::pair{"lhs", *lhs}, std::pair{"rhs", *rhs}})
    if (type.getRank() < 2)
      return inference.error(name, " must have rank >= 2, got ", type);
  ArrayRef<int64_t> lhsShape = lhs->getShape(), rhsShape = rhs->getShape();
  size_t lhsK = lhsShape.size() - 1, rhsK = rhsShape.size() - 2;
  if (lhsShape[lhsK] != rhsShape[rhsK])
    return inference.error("contracting dimensions differ: lhs dim ", lhsK,
                           " is ", lhsShape[lhsK], ", rhs dim ", rhsK, " is ",
                           rhsShape[rhsK]);
  FailureOr<SmallVector<int64_t>> shape =
      broadcastShapes(inference, {lhsShape.drop_back(2), rhsShape.drop_back(2)},
                      "batch dimension");
  if (failed(shape))
    return failure();
  shape->push_back(lhsShape[lhsK - 1]);
  shape->push_back(rhsShape[rhsK + 1]);
  inferred.push_back(RankedTensorType::get(*shape, lhs->getElementType()));
  return success();
}

std::string MatMulOp::getDimAnnotation() {
  // b.. m k+, b.. k+ n -> b.. m n, with broadcast batch dimensions as `1`.
  ArrayRef<int64_t> resultShape = shapeOf(getResult());
  ArrayRef<int64_t> batchShape = resultShape.drop_back(2);
  DimLabelNames names;
  AnnotatedTensor batch = freshLabels(names, batchShape.size());
  DimLabel m{names.next(), DimLabel::Spatial};
  DimLabel k{names.next(), DimLabel::Reduced};
  DimLabel n{names.next(), DimLabel::Spatial};
  DimAnnotation annotation;
  AnnotatedTensor lhs =
      broadcastLabels(shapeOf(getLhs()).drop_back(2), batchShape, batch);
  lhs.append({m, k});
  AnnotatedTensor rhs =
      broadcastLabels(shapeOf(getRhs()).drop_back(2), batchShape, batch);
  rhs.append({k, n});
  AnnotatedTensor result = batch;
  result.append({m, n});
  annotation.inputs = {lhs, rhs};
  annotation.outputs = {result};
  return annotation.str();
}

LogicalResult GemmOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> location,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> a =
      inference.tensor(adaptor.getA(), "a", ElementSet::Float);
  FailureOr<RankedTensorType> b =
      inference.tensor(adaptor.getB(), "b", ElementSet::Float);
  if (failed(a) || failed(b))
    return failure();
  for (auto [name, type] : {std::pair{"a", *a}, std::pair{"b", *b}})
    if (type.getRank() != 2)
      return inference.error(name, " must have rank 2, got ", type);
  BoolAttr transAAttr = adaptor.getProperties().trans_a;
  BoolAttr transBAttr = adaptor.getProperties().trans_b;
  bool transA = transAAttr && transAAttr.getValue();
  bool transB = transBAttr && transBAttr.getValue();
  int64_t aK = transA ? 0 : 1, bK = transB ? 1 : 0;
  int64_t m = a->getDimSize(1 - aK), n = b->getDimSize(1 - bK);
  if (a->getDimSize(aK) != b->getDimSize(bK))
    return inference.error("contracting dimensions differ: a dim ", aK, " is ",
                           a->getDimSize(aK), ", b dim ", bK, " is ",
                           b->getDimSize(bK));
  SmallVector<int64_t> shape{m, n};
  if (Value cValue = adaptor.getC()) {
    FailureOr<RankedTensorType> c =
        inference.tensor(cValue, "c", ElementSet::Float);
    if (failed(c))
      return failure();
    if (!broadcastsTo(c->getShape(), shape))
      return inference.error("c of shape ", str(c->getShape()),
                             " does not broadcast to the result shape ",
                             str(shape));
  }
  inferred.push_back(RankedTensorType::get(shape, a->getElementType()));
  return success();
}

std::string GemmOp::getDimAnnotation() {
  // m k+, k+ n, m n -> m n: C lacks k, so a piece of a k split adds a
  // partial sum of C (beta * C is linear in C), not all of it.
  DimLabelNames names;
  DimLabel m{names.next(), DimLabel::Spatial};
  DimLabel k{names.next(), DimLabel::Reduced};
  DimLabel n{names.next(), DimLabel::Spatial};
  DimAnnotation annotation;
  annotation.inputs.push_back(getTransA() ? AnnotatedTensor{k, m}
                                          : AnnotatedTensor{m, k});
  annotation.inputs.push_back(getTransB() ? AnnotatedTensor{n, k}
                                          : AnnotatedTensor{k, n});
  AnnotatedTensor result{m, n};
  if (Value c = getC())
    annotation.inputs.push_back(
        broadcastLabels(shapeOf(c), shapeOf(getResult()), result));
  annotation.outputs.push_back(result);
  return annotation.str();
}

//===----------------------------------------------------------------------===//
// ConvOp and ConvTransposeOp
//===----------------------------------------------------------------------===//

namespace {
/// The attributes conv and conv_transpose share, checked against the
/// number of spatial dimensions.
struct ConvAttrs {
  ArrayRef<int64_t> strides, pads, dilations;
  int64_t group;
};
} // namespace

/// Checks the attributes shared by conv, conv_transpose and
/// conv_filter_grad for `spatial` spatial dims.
static FailureOr<ConvAttrs>
checkConvAttrs(const Inference &inference, int64_t spatial,
               DenseI64ArrayAttr strides, DenseI64ArrayAttr pads,
               DenseI64ArrayAttr dilations, IntegerAttr group,
               bool allowNegativePads) {
  ConvAttrs attrs;
  FailureOr<ArrayRef<int64_t>> s =
      inference.array(strides, "strides", spatial, "one per spatial dim");
  FailureOr<ArrayRef<int64_t>> p =
      inference.array(pads, "pads", 2 * spatial, "begins then ends");
  FailureOr<ArrayRef<int64_t>> d =
      inference.array(dilations, "dilations", spatial, "one per spatial dim");
  if (failed(s) || failed(p) || failed(d) ||
      failed(inference.attr(group, "group")) ||
      failed(inference.atLeast(*s, "strides", 1)) ||
      (!allowNegativePads && failed(inference.atLeast(*p, "pads", 0))) ||
      failed(inference.atLeast(*d, "dilations", 1)))
    return failure();
  attrs.strides = *s;
  attrs.pads = *p;
  attrs.dilations = *d;
  attrs.group = group.getInt();
  if (attrs.group < 1)
    return inference.error("group ", attrs.group, " must be >= 1");
  return attrs;
}

/// Checks input and filter ranks, kernel sizes and the shared attributes;
/// channels differ between conv and conv_transpose, so each checks its own.
/// A transposed convolution may have negative pads: ONNX's output_shape can
/// ask for more output than the full result, which widens it.
static FailureOr<ConvAttrs>
checkConvCommon(const Inference &inference, RankedTensorType input,
                RankedTensorType filter, DenseI64ArrayAttr strides,
                DenseI64ArrayAttr pads, DenseI64ArrayAttr dilations,
                IntegerAttr group, bool allowNegativePads = false) {
  if (input.getRank() < 3)
    return inference.error(
        "input must have rank >= 3 ([N, C, spatial...]), got ", input);
  if (filter.getRank() != input.getRank())
    return inference.error("filter rank ", filter.getRank(),
                           " differs from input rank ", input.getRank());
  int64_t spatial = input.getRank() - 2;
  FailureOr<ConvAttrs> attrs = checkConvAttrs(
      inference, spatial, strides, pads, dilations, group, allowNegativePads);
  if (failed(attrs))
    return failure();
  for (int64_t i = 0; i < spatial; ++i)
    if (filter.getDimSize(2 + i) < 1)
      return inference.error("filter dim ", 2 + i, " (kernel size) is ",
                             filter.getDimSize(2 + i), ", expected >= 1");
  return attrs;
}

/// The spatial sizes of a convolution's result from its input's spatial
/// sizes and kernel (ONNX's formula).
static FailureOr<SmallVector<int64_t>>
convResultSpatial(const Inference &inference, ArrayRef<int64_t> inputSpatial,
                  ArrayRef<int64_t> kernel, const ConvAttrs &attrs) {
  int64_t spatial = inputSpatial.size();
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < spatial; ++i) {
    CheckedInt extent = CheckedInt(attrs.dilations[i]) * (kernel[i] - 1) + 1;
    CheckedInt padded =
        CheckedInt(inputSpatial[i]) + attrs.pads[i] + attrs.pads[spatial + i];
    FailureOr<int64_t> e = inference.value(extent, "dilated kernel extent");
    FailureOr<int64_t> p = inference.value(padded, "padded input size");
    if (failed(e) || failed(p))
      return failure();
    if (*p < *e)
      return inference.error("input dim ", 2 + i, ": dilated kernel extent ",
                             *e, " exceeds padded input size ", *p);
    shape.push_back((*p - *e) / attrs.strides[i] + 1);
  }
  return shape;
}

/// Checks that an optional bias is [channels].
static LogicalResult checkBias(const Inference &inference, Value bias,
                               int64_t channels) {
  if (!bias)
    return success();
  FailureOr<RankedTensorType> type =
      inference.tensor(bias, "bias", ElementSet::Float);
  if (failed(type))
    return failure();
  if (type->getShape() != ArrayRef<int64_t>{channels})
    return inference.error("bias must have shape [", channels, "], got ",
                           *type);
  return success();
}

LogicalResult ConvOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> location,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> input =
      inference.tensor(adaptor.getInput(), "input", ElementSet::Float);
  FailureOr<RankedTensorType> filter =
      inference.tensor(adaptor.getFilter(), "filter", ElementSet::Float);
  if (failed(input) || failed(filter))
    return failure();
  const Properties &props = adaptor.getProperties();
  FailureOr<ConvAttrs> attrs =
      checkConvCommon(inference, *input, *filter, props.strides, props.pads,
                      props.dilations, props.group);
  if (failed(attrs))
    return failure();
  int64_t channels = input->getDimSize(1), group = attrs->group;
  int64_t filterChannels = filter->getDimSize(1);
  int64_t outChannels = filter->getDimSize(0);
  if (std::optional<int64_t> expected =
          (CheckedInt(filterChannels) * group).get();
      !expected || *expected != channels)
    return inference.error("input channels ", channels,
                           " differ from filter dim 1 (", filterChannels,
                           ") * group (", group, ")");
  if (outChannels % group != 0)
    return inference.error("filter dim 0 (", outChannels,
                           " output channels) is not divisible by group ",
                           group);
  if (failed(checkBias(inference, adaptor.getBias(), outChannels)))
    return failure();
  StringRef activation = adaptor.getActivation();
  if (activation != "none" && activation != "relu" &&
      activation != "leaky_relu" && activation != "clip")
    return inference.error("activation '", activation.str(),
                           "' is not none, relu, leaky_relu or clip");
  FailureOr<SmallVector<int64_t>> resultSpatial =
      convResultSpatial(inference, input->getShape().drop_front(2),
                        filter->getShape().drop_front(2), *attrs);
  if (failed(resultSpatial))
    return failure();
  SmallVector<int64_t> shape{input->getDimSize(0), outChannels};
  llvm::append_range(shape, *resultSpatial);
  inferred.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
}

std::string ConvOp::getDimAnnotation() {
  // n c+ h^ w^, o c+ r^ s^, o -> n o h'^ w'^. With groups each output
  // channel reads only its group's input channels, so neither channel dim
  // can be split alone and both are frozen.
  // A fused activation is not linear, so partial sums over c would be
  // wrong: c is then frozen too. The bias lacks c, so a piece of a c split
  // adds a partial sum of it.
  int64_t spatial = getInput().getType().getRank() - 2;
  bool grouped = getGroup() != 1;
  bool reducible = !grouped && getActivation() == "none";
  DimLabelNames names;
  DimLabel n{names.next(), DimLabel::Spatial};
  DimLabel c{names.next(), reducible ? DimLabel::Reduced : DimLabel::Frozen};
  AnnotatedTensor inputSpatial = freshLabels(names, spatial, DimLabel::Frozen);
  DimLabel o{names.next(), grouped ? DimLabel::Frozen : DimLabel::Spatial};
  DimLabel filterC = grouped ? DimLabel{names.next(), DimLabel::Frozen} : c;
  AnnotatedTensor kernel = freshLabels(names, spatial, DimLabel::Frozen);
  AnnotatedTensor resultSpatial = freshLabels(names, spatial, DimLabel::Frozen);

  DimAnnotation annotation;
  AnnotatedTensor input{n, c}, filter{o, filterC}, result{n, o};
  input.append(inputSpatial);
  filter.append(kernel);
  result.append(resultSpatial);
  annotation.inputs = {input, filter};
  if (getBias())
    annotation.inputs.push_back(AnnotatedTensor{o});
  annotation.outputs = {result};
  return annotation.str();
}

LogicalResult ConvTransposeOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> location, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> input =
      inference.tensor(adaptor.getInput(), "input", ElementSet::Float);
  FailureOr<RankedTensorType> filter =
      inference.tensor(adaptor.getFilter(), "filter", ElementSet::Float);
  if (failed(input) || failed(filter))
    return failure();
  const Properties &props = adaptor.getProperties();
  FailureOr<ConvAttrs> attrs =
      checkConvCommon(inference, *input, *filter, props.strides, props.pads,
                      props.dilations, props.group,
                      /*allowNegativePads=*/true);
  if (failed(attrs))
    return failure();
  int64_t spatial = input->getRank() - 2;
  FailureOr<ArrayRef<int64_t>> outputPadding = inference.array(
      props.output_padding, "output_padding", spatial, "one per spatial dim");
  if (failed(outputPadding) ||
      failed(inference.atLeast(*outputPadding, "output_padding", 0)))
    return failure();
  int64_t channels = input->getDimSize(1), group = attrs->group;
  if (filter->getDimSize(0) != channels)
    return inference.error("input channels ", channels,
                           " differ from filter dim 0 (", filter->getDimSize(0),
                           ")");
  if (channels % group != 0)
    return inference.error("input channels ", channels,
                           " are not divisible by group ", group);
  FailureOr<int64_t> outChannels = inference.value(
      CheckedInt(filter->getDimSize(1)) * group, "output channel count");
  if (failed(outChannels) ||
      failed(checkBias(inference, adaptor.getBias(), *outChannels)))
    return failure();
  SmallVector<int64_t> shape{input->getDimSize(0), *outChannels};
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t stride = attrs->strides[i], dilation = attrs->dilations[i];
    if ((*outputPadding)[i] >= std::max(stride, dilation))
      return inference.error("output_padding[", i, "] is ", (*outputPadding)[i],
                             ", expected less than the stride or dilation");
    int64_t in = input->getDimSize(2 + i), kernel = filter->getDimSize(2 + i);
    CheckedInt out = CheckedInt(stride) * (in - 1) + (*outputPadding)[i] +
                     CheckedInt(dilation) * (kernel - 1) + 1 - attrs->pads[i] -
                     attrs->pads[spatial + i];
    FailureOr<int64_t> size = inference.value(out, "output size");
    if (failed(size))
      return failure();
    if (*size < 1)
      return inference.error("input dim ", 2 + i, ": output size ", *size,
                             " is not positive");
    shape.push_back(*size);
  }
  inferred.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
}

std::string ConvTransposeOp::getDimAnnotation() {
  // n c+ h^ w^, c+ o r^ s^, o -> n o h'^ w'^: the input channels are the
  // reduction here. Groups freeze the channels as for conv.
  int64_t spatial = getInput().getType().getRank() - 2;
  bool grouped = getGroup() != 1;
  bool reducible = !grouped;
  DimLabelNames names;
  DimLabel n{names.next(), DimLabel::Spatial};
  DimLabel c{names.next(), reducible ? DimLabel::Reduced : DimLabel::Frozen};
  AnnotatedTensor inputSpatial = freshLabels(names, spatial, DimLabel::Frozen);
  DimLabel filterO{names.next(),
                   grouped ? DimLabel::Frozen : DimLabel::Spatial};
  AnnotatedTensor kernel = freshLabels(names, spatial, DimLabel::Frozen);
  DimLabel o = grouped ? DimLabel{names.next(), DimLabel::Frozen} : filterO;
  AnnotatedTensor resultSpatial = freshLabels(names, spatial, DimLabel::Frozen);

  DimAnnotation annotation;
  AnnotatedTensor input{n, c}, filter{c, filterO}, result{n, o};
  input.append(inputSpatial);
  filter.append(kernel);
  result.append(resultSpatial);
  annotation.inputs = {input, filter};
  if (getBias())
    annotation.inputs.push_back(AnnotatedTensor{o});
  annotation.outputs = {result};
  return annotation.str();
}

//===----------------------------------------------------------------------===//
// Normalisation and softmax
//===----------------------------------------------------------------------===//

LogicalResult BatchNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> location,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> input =
      inference.tensor(adaptor.getInput(), "input", ElementSet::Float);
  if (failed(input))
    return failure();
  if (input->getRank() < 2)
    return inference.error("input must have rank >= 2 ([N, C, ...]), got ",
                           *input);
  int64_t channels = input->getDimSize(1);
  std::pair<StringRef, Value> parameters[] = {
      {"scale", adaptor.getScale()},
      {"bias", adaptor.getBias()},
      {"mean", adaptor.getMean()},
      {"variance", adaptor.getVariance()}};
  for (auto [name, value] : parameters) {
    FailureOr<RankedTensorType> type =
        inference.tensor(value, name, ElementSet::Float);
    if (failed(type))
      return failure();
    if (type->getShape() != ArrayRef<int64_t>{channels})
      return inference.error(name, " must have shape [", channels,
                             "] (the input's channels), got ", *type);
  }
  inferred.push_back(*input);
  return success();
}

std::string BatchNormOp::getDimAnnotation() {
  // Inference-mode batch norm is a per-channel affine map: every dim splits.
  DimLabelNames names;
  AnnotatedTensor input = freshLabels(names, getInput().getType().getRank());
  DimAnnotation annotation;
  annotation.inputs = {input, {input[1]}, {input[1]}, {input[1]}, {input[1]}};
  annotation.outputs = {input};
  return annotation.str();
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> location,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> input =
      inference.tensor(adaptor.getInput(), "input", ElementSet::Float);
  if (failed(input))
    return failure();
  FailureOr<int64_t> axis =
      inference.axis(adaptor.getProperties().axis, input->getRank(),
                     /*allowNegative=*/true);
  if (failed(axis))
    return failure();
  ArrayRef<int64_t> normalized = input->getShape().drop_front(*axis);
  std::pair<StringRef, Value> parameters[] = {{"scale", adaptor.getScale()},
                                              {"bias", adaptor.getBias()}};
  for (auto [name, value] : parameters) {
    if (!value && name == "bias")
      continue;
    FailureOr<RankedTensorType> type =
        inference.tensor(value, name, ElementSet::Float);
    if (failed(type))
      return failure();
    if (!broadcastsTo(type->getShape(), normalized))
      return inference.error(name, " of shape ", str(type->getShape()),
                             " does not broadcast to the normalised shape ",
                             str(normalized));
  }
  inferred.push_back(*input);
  return success();
}

/// Axis attributes may be negative; annotations need the normalised axis.
static int64_t normalizedAxis(int64_t axis, int64_t rank) {
  return axis < 0 ? axis + rank : axis;
}

std::string LayerNormOp::getDimAnnotation() {
  // a b^ c^, b^ c^ -> a b^ c^: statistics span the normalised dims.
  ArrayRef<int64_t> shape = shapeOf(getInput());
  int64_t axis = normalizedAxis(getAxisAttr().getInt(), shape.size());
  DimLabelNames names;
  AnnotatedTensor input = freshLabels(names, axis);
  input.append(freshLabels(names, shape.size() - axis, DimLabel::Frozen));
  ArrayRef<int64_t> normalized = shape.drop_front(axis);
  ArrayRef<AnnotatedDim> normalizedLabels =
      ArrayRef<AnnotatedDim>(input).drop_front(axis);
  DimAnnotation annotation;
  annotation.inputs.push_back(input);
  annotation.inputs.push_back(
      broadcastLabels(shapeOf(getScale()), normalized, normalizedLabels));
  if (Value bias = getBias())
    annotation.inputs.push_back(
        broadcastLabels(shapeOf(bias), normalized, normalizedLabels));
  annotation.outputs.push_back(input);
  return annotation.str();
}

static LogicalResult inferSoftmax(const Inference &inference, Value input,
                                  IntegerAttr axis,
                                  SmallVectorImpl<Type> &inferred) {
  FailureOr<RankedTensorType> type =
      inference.tensor(input, "input", ElementSet::Float);
  if (failed(type) ||
      failed(inference.axis(axis, type->getRank(), /*allowNegative=*/true)))
    return failure();
  inferred.push_back(*type);
  return success();
}

/// a b^ -> a b^ for the softmax axis.
static std::string softmaxAnnotation(Value input, int64_t axis) {
  int64_t rank = shapeOf(input).size();
  axis = normalizedAxis(axis, rank);
  DimLabelNames names;
  AnnotatedTensor labels;
  for (int64_t d = 0; d < rank; ++d)
    labels.push_back(DimLabel{names.next(), d == axis ? DimLabel::Frozen
                                                      : DimLabel::Spatial});
  DimAnnotation annotation;
  annotation.inputs = {labels};
  annotation.outputs = {labels};
  return annotation.str();
}

#define GRAPH_SOFTMAX_OP(OP)                                                   \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> location, Adaptor adaptor,        \
      SmallVectorImpl<Type> &inferred) {                                       \
    return inferSoftmax(Inference(location, getOperationName()),               \
                        adaptor.getInput(), adaptor.getProperties().axis,      \
                        inferred);                                             \
  }                                                                            \
  std::string OP::getDimAnnotation() {                                         \
    return softmaxAnnotation(getInput(), getAxisAttr().getInt());              \
  }

GRAPH_SOFTMAX_OP(SoftmaxOp)
GRAPH_SOFTMAX_OP(LogSoftmaxOp)

#undef GRAPH_SOFTMAX_OP

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

/// The result shape of a pool: n c kept, each spatial size from the
/// window formula (ONNX's, including the ceil-mode rule that the last
/// window must start inside the input or its left padding).
static FailureOr<SmallVector<int64_t>>
poolResultShape(const Inference &inference, RankedTensorType input,
                DenseI64ArrayAttr kernelAttr, DenseI64ArrayAttr stridesAttr,
                DenseI64ArrayAttr padsAttr, DenseI64ArrayAttr dilationsAttr,
                BoolAttr ceilModeAttr) {
  if (input.getRank() < 3)
    return inference.error(
        "input must have rank >= 3 ([N, C, spatial...]), got ", input);
  int64_t spatial = input.getRank() - 2;
  FailureOr<ArrayRef<int64_t>> kernel =
      inference.array(kernelAttr, "kernel", spatial, "one per spatial dim");
  FailureOr<ArrayRef<int64_t>> strides =
      inference.array(stridesAttr, "strides", spatial, "one per spatial dim");
  FailureOr<ArrayRef<int64_t>> pads =
      inference.array(padsAttr, "pads", 2 * spatial, "begins then ends");
  if (failed(kernel) || failed(strides) || failed(pads) ||
      failed(inference.atLeast(*kernel, "kernel", 1)) ||
      failed(inference.atLeast(*strides, "strides", 1)) ||
      failed(inference.atLeast(*pads, "pads", 0)))
    return failure();
  SmallVector<int64_t> dilations(spatial, 1);
  if (dilationsAttr) {
    FailureOr<ArrayRef<int64_t>> d = inference.array(
        dilationsAttr, "dilations", spatial, "one per spatial dim");
    if (failed(d) || failed(inference.atLeast(*d, "dilations", 1)))
      return failure();
    dilations.assign(d->begin(), d->end());
  }
  bool ceilMode = ceilModeAttr && ceilModeAttr.getValue();
  SmallVector<int64_t> shape(input.getShape().take_front(2));
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t padBegin = (*pads)[i], padEnd = (*pads)[spatial + i];
    // A window lying wholly in padding has nothing to pool (onnxruntime
    // rejects these too).
    if (padBegin >= (*kernel)[i] || padEnd >= (*kernel)[i])
      return inference.error("pads for input dim ", 2 + i, " (", padBegin, ", ",
                             padEnd, ") must be smaller than kernel ",
                             (*kernel)[i]);
    int64_t in = input.getDimSize(2 + i), stride = (*strides)[i];
    FailureOr<int64_t> extent = inference.value(
        CheckedInt(dilations[i]) * ((*kernel)[i] - 1) + 1, "window extent");
    FailureOr<int64_t> padded = inference.value(
        CheckedInt(in) + padBegin + padEnd, "padded input size");
    if (failed(extent) || failed(padded))
      return failure();
    if (*padded < *extent)
      return inference.error("input dim ", 2 + i, ": window extent ", *extent,
                             " exceeds padded input size ", *padded);
    int64_t out =
        *CheckedInt(*padded - *extent).divide(stride, ceilMode).get() + 1;
    // In + padBegin cannot overflow: the padded size did not.
    std::optional<int64_t> lastStart = (CheckedInt(out - 1) * stride).get();
    if (ceilMode && (!lastStart || *lastStart >= in + padBegin))
      --out;
    shape.push_back(out);
  }
  return shape;
}

static LogicalResult
inferPool(const Inference &inference, Value inputValue,
          DenseI64ArrayAttr kernelAttr, DenseI64ArrayAttr stridesAttr,
          DenseI64ArrayAttr padsAttr, DenseI64ArrayAttr dilationsAttr,
          BoolAttr ceilModeAttr, SmallVectorImpl<Type> &inferred) {
  FailureOr<RankedTensorType> input =
      inference.tensor(inputValue, "input", ElementSet::Float);
  if (failed(input))
    return failure();
  FailureOr<SmallVector<int64_t>> shape =
      poolResultShape(inference, *input, kernelAttr, stridesAttr, padsAttr,
                      dilationsAttr, ceilModeAttr);
  if (failed(shape))
    return failure();
  inferred.push_back(RankedTensorType::get(*shape, input->getElementType()));
  return success();
}

/// n c h^ w^ -> n c h'^ w'^: windows overlap, so spatial dims stay whole.
static std::string poolAnnotation(Value input) {
  int64_t spatial = shapeOf(input).size() - 2;
  DimLabelNames names;
  AnnotatedTensor inputLabels = freshLabels(names, 2);
  AnnotatedTensor resultLabels = inputLabels;
  inputLabels.append(freshLabels(names, spatial, DimLabel::Frozen));
  resultLabels.append(freshLabels(names, spatial, DimLabel::Frozen));
  DimAnnotation annotation;
  annotation.inputs = {inputLabels};
  annotation.outputs = {resultLabels};
  return annotation.str();
}

LogicalResult MaxPoolOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> location,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  const Properties &props = adaptor.getProperties();
  Inference inference(location, getOperationName());
  if (failed(inference.attr(props.dilations, "dilations")))
    return failure();
  return inferPool(inference, adaptor.getInput(), props.kernel, props.strides,
                   props.pads, props.dilations, props.ceil_mode, inferred);
}

std::string MaxPoolOp::getDimAnnotation() { return poolAnnotation(getInput()); }

LogicalResult AvgPoolOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> location,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  const Properties &props = adaptor.getProperties();
  return inferPool(Inference(location, getOperationName()), adaptor.getInput(),
                   props.kernel, props.strides, props.pads,
                   /*dilationsAttr=*/nullptr, props.ceil_mode, inferred);
}

std::string AvgPoolOp::getDimAnnotation() { return poolAnnotation(getInput()); }

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

static LogicalResult inferReduce(const Inference &inference, Value inputValue,
                                 DenseI64ArrayAttr axesAttr,
                                 BoolAttr keepdimsAttr,
                                 SmallVectorImpl<Type> &inferred) {
  FailureOr<RankedTensorType> input =
      inference.tensor(inputValue, "input", ElementSet::Float);
  if (failed(input) || failed(inference.attr(axesAttr, "axes")) ||
      failed(inference.attr(keepdimsAttr, "keepdims")))
    return failure();
  ArrayRef<int64_t> axes = axesAttr.asArrayRef();
  int64_t rank = input->getRank();
  for (auto [i, axis] : llvm::enumerate(axes)) {
    if (axis < 0 || axis >= rank)
      return inference.error("axis ", axis, " is out of range [0, ", rank, ")");
    if (i > 0 && axis <= axes[i - 1])
      return inference.error("axes ", str(axes), " must be sorted and unique");
  }
  SmallVector<int64_t> shape;
  for (auto [d, size] : llvm::enumerate(input->getShape())) {
    if (!llvm::is_contained(axes, static_cast<int64_t>(d)))
      shape.push_back(size);
    else if (keepdimsAttr.getValue())
      shape.push_back(1);
  }
  inferred.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
}

/// Reduced dims are `+` when pieces of the op add up to the whole (sum), and
/// `^` when they do not (a mean of partial means, a max of partial maxima
/// are not partial sums). Kept dims with keepdims are `1` in the result.
static std::string reduceAnnotation(Value input, ArrayRef<int64_t> axes,
                                    bool keepdims, DimLabel::Kind reduced) {
  DimLabelNames names;
  AnnotatedTensor inputLabels, resultLabels;
  for (int64_t d = 0, rank = shapeOf(input).size(); d < rank; ++d) {
    bool isReduced = llvm::is_contained(axes, d);
    DimLabel label{names.next(), isReduced ? reduced : DimLabel::Spatial};
    inputLabels.push_back(label);
    if (!isReduced)
      resultLabels.push_back(label);
    else if (keepdims)
      resultLabels.push_back(DimLabel{"", DimLabel::Broadcast});
  }
  DimAnnotation annotation;
  annotation.inputs = {inputLabels};
  annotation.outputs = {resultLabels};
  return annotation.str();
}

#define GRAPH_REDUCE_OP(OP, REDUCED_KIND)                                      \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> location, Adaptor adaptor,        \
      SmallVectorImpl<Type> &inferred) {                                       \
    const Properties &props = adaptor.getProperties();                         \
    return inferReduce(Inference(location, getOperationName()),                \
                       adaptor.getInput(), props.axes, props.keepdims,         \
                       inferred);                                              \
  }                                                                            \
  std::string OP::getDimAnnotation() {                                         \
    return reduceAnnotation(getInput(), getAxes(), getKeepdims(),              \
                            DimLabel::REDUCED_KIND);                           \
  }

GRAPH_REDUCE_OP(ReduceSumOp, Reduced)
GRAPH_REDUCE_OP(ReduceMeanOp, Frozen)
GRAPH_REDUCE_OP(ReduceMaxOp, Frozen)

#undef GRAPH_REDUCE_OP

//===----------------------------------------------------------------------===//
// ReshapeOp
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> location,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> input =
      inference.tensor(adaptor.getInput(), "input", ElementSet::Any);
  FailureOr<DenseI64ArrayAttr> shapeAttr =
      inference.attr(adaptor.getProperties().shape, "shape");
  if (failed(input) || failed(shapeAttr))
    return failure();
  ArrayRef<int64_t> shape = shapeAttr->asArrayRef();
  // ONNX's -1 (infer) and 0 (copy) are resolved at import; here every entry
  // is a literal size.
  for (auto [d, size] : llvm::enumerate(shape))
    if (size < 0)
      return inference.error("shape ", str(shape), " has negative size ", size,
                             " at dim ", d);
  std::optional<int64_t> count = elementCount(shape);
  if (!count)
    return inference.error("shape ", str(shape),
                           " has more elements than int64 can count");
  if (*count != input->getNumElements())
    return inference.error("shape ", str(shape), " has ", *count,
                           " elements, input has ", input->getNumElements());
  inferred.push_back(input->clone(shape));
  return success();
}

/// Annotates one minimal run of reshaped dims: input dims `in` and result
/// dims `out` with equal products and no shorter prefixes with equal
/// products. One dim each is a shared label. Otherwise, when one side's
/// first size h divides the other's, the k-th of n chunks of that first
/// dim of size h is the k-th contiguous chunk of the run on both sides, so
/// a shared head label of size h splits: it stands alone on the side whose
/// first dim is h and heads a group on the other. Everything else in the
/// run is frozen.
static void annotateReshapeRun(DimLabelNames &names, ArrayRef<int64_t> in,
                               ArrayRef<int64_t> out, AnnotatedTensor &input,
                               AnnotatedTensor &result) {
  auto frozen = [&]() -> AnnotatedDim {
    return DimLabel{names.next(), DimLabel::Frozen};
  };
  auto freezeAll = [&](ArrayRef<int64_t> dims, AnnotatedTensor &labels) {
    for (size_t i = 0; i < dims.size(); ++i)
      labels.push_back(frozen());
  };
  if (in.size() == 1 && out.size() == 1) {
    DimLabel shared{names.next(), DimLabel::Spatial};
    input.push_back(shared);
    result.push_back(shared);
    return;
  }
  bool inExact = out.front() % in.front() == 0;
  bool outExact = !inExact && in.front() % out.front() == 0;
  if (!inExact && !outExact) {
    freezeAll(in, input);
    freezeAll(out, result);
    return;
  }
  // `exact` is the side whose first dim is the head's size, `merged` the
  // side whose first dim holds it with more.
  ArrayRef<int64_t> exactDims = inExact ? in : out;
  ArrayRef<int64_t> mergedDims = inExact ? out : in;
  AnnotatedTensor &exact = inExact ? input : result;
  AnnotatedTensor &merged = inExact ? result : input;
  DimLabel head{names.next(), DimLabel::Spatial};
  if (mergedDims.size() == 1) {
    // The merged side is one dim, the product of the exact side's dims:
    // `(c d^ e^)` there, `c d^ e^` here.
    SmallVector<DimLabel> group{head};
    for (size_t i = 1; i < exactDims.size(); ++i)
      group.push_back(DimLabel{names.next(), DimLabel::Frozen});
    llvm::append_range(exact, group);
    merged.push_back(AnnotatedDim(group));
    return;
  }
  // Fresh labels in input order, so that the annotation reads a, b, c.
  auto annotateExact = [&] {
    exact.push_back(head);
    freezeAll(exactDims.drop_front(), exact);
  };
  auto annotateMerged = [&] {
    merged.push_back(
        AnnotatedDim({head, DimLabel{names.next(), DimLabel::Frozen}}));
    freezeAll(mergedDims.drop_front(), merged);
  };
  if (inExact) {
    annotateExact();
    annotateMerged();
  } else {
    annotateMerged();
    annotateExact();
  }
}

std::string ReshapeOp::getDimAnnotation() {
  // The dims are cut into minimal runs of equal element count on both sides
  // ([B, S, H] -> [B*S, nh, hd] is [B, S] | [H] to [B*S] | [nh, hd]), each
  // annotated on its own. Size-1 dims between runs pair up when both sides
  // have one and are frozen otherwise.
  ArrayRef<int64_t> in = shapeOf(getInput()), out = shapeOf(getResult());
  DimLabelNames names;
  DimAnnotation annotation;
  // An empty tensor has nothing to split, and zero sizes defeat the runs.
  if (llvm::is_contained(in, 0) || llvm::is_contained(out, 0)) {
    annotation.inputs = {freshLabels(names, in.size(), DimLabel::Frozen)};
    annotation.outputs = {freshLabels(names, out.size(), DimLabel::Frozen)};
    return annotation.str();
  }
  AnnotatedTensor input, result;
  auto frozen = [&]() -> AnnotatedDim {
    return DimLabel{names.next(), DimLabel::Frozen};
  };
  size_t i = 0, j = 0;
  while (input.size() < in.size() || result.size() < out.size()) {
    bool inOne = i < in.size() && in[i] == 1;
    bool outOne = j < out.size() && out[j] == 1;
    if (inOne && outOne) {
      DimLabel shared{names.next(), DimLabel::Spatial};
      input.push_back(shared);
      result.push_back(shared);
      ++i, ++j;
      continue;
    }
    if (inOne || (i < in.size() && j == out.size())) {
      input.push_back(frozen());
      ++i;
      continue;
    }
    if (outOne || i == in.size()) {
      result.push_back(frozen());
      ++j;
      continue;
    }
    // Extend the side with the smaller product until the products meet;
    // they do, as both sides hold the same number of elements.
    size_t i0 = i++, j0 = j++;
    int64_t inCount = in[i0], outCount = out[j0];
    while (inCount != outCount) {
      if (inCount < outCount && i < in.size())
        inCount *= in[i++];
      else if (inCount > outCount && j < out.size())
        outCount *= out[j++];
      else
        break;
    }
    annotateReshapeRun(names, in.slice(i0, i - i0), out.slice(j0, j - j0),
                       input, result);
  }
  annotation.inputs = {input};
  annotation.outputs = {result};
  return annotation.str();
}

LogicalResult ReshapeOp::adaptAttributesToTypes() {
  setShape(getType().getShape());
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  DenseElementsAttr input = denseOperand(adaptor.getInput());
  RankedTensorType type = foldableType(*this);
  if (!input || !type)
    return {};
  return input.reshape(type);
}

//===----------------------------------------------------------------------===//
// TransposeOp
//===----------------------------------------------------------------------===//

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> location,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> input =
      inference.tensor(adaptor.getInput(), "input", ElementSet::Any);
  if (failed(input))
    return failure();
  int64_t rank = input->getRank();
  FailureOr<ArrayRef<int64_t>> perm = inference.array(
      adaptor.getProperties().perm, "perm", rank, "one per input dim");
  if (failed(perm))
    return failure();
  SmallVector<bool> seen(rank, false);
  SmallVector<int64_t> shape;
  for (int64_t source : *perm) {
    if (source < 0 || source >= rank || seen[source])
      return inference.error("perm ", str(*perm),
                             " is not a permutation of [0, ", rank, ")");
    seen[source] = true;
    shape.push_back(input->getDimSize(source));
  }
  inferred.push_back(input->clone(shape));
  return success();
}

std::string TransposeOp::getDimAnnotation() {
  DimLabelNames names;
  AnnotatedTensor input = freshLabels(names, shapeOf(getInput()).size());
  AnnotatedTensor result;
  for (int64_t source : getPerm())
    result.push_back(input[source]);
  DimAnnotation annotation;
  annotation.inputs = {input};
  annotation.outputs = {result};
  return annotation.str();
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  ArrayRef<int64_t> perm = getPerm();
  bool identity = llvm::all_of(llvm::enumerate(perm), [](auto entry) {
    return static_cast<int64_t>(entry.index()) == entry.value();
  });
  if (identity && getInput().getType() == getType())
    return getInput();
  DenseElementsAttr input = denseOperand(adaptor.getInput());
  RankedTensorType type = foldableType(*this);
  if (!input || !type)
    return {};
  SmallVector<int64_t> inputStrides =
      rowMajorStrides(input.getType().getShape());
  SmallVector<int64_t> strides;
  for (int64_t source : perm)
    strides.push_back(inputStrides[source]);
  return gatherElements(input, stridedIndices(type.getShape(), 0, strides),
                        type);
}

//===----------------------------------------------------------------------===//
// ConcatOp and SplitOp
//===----------------------------------------------------------------------===//

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> location,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return inference.error("needs at least one input");
  SmallVector<RankedTensorType> types;
  for (auto [i, value] : llvm::enumerate(inputs)) {
    FailureOr<RankedTensorType> type =
        inference.tensor(value, ("inputs #" + Twine(i)).str(), ElementSet::Any);
    if (failed(type))
      return failure();
    types.push_back(*type);
  }
  RankedTensorType first = types.front();
  FailureOr<int64_t> axis = inference.axis(
      adaptor.getProperties().axis, first.getRank(), /*allowNegative=*/false);
  if (failed(axis))
    return failure();
  CheckedInt axisSize(0);
  for (auto [i, type] : llvm::enumerate(types)) {
    if (type.getElementType() != first.getElementType())
      return inference.error("input #", i, " has element type ",
                             type.getElementType(), ", input #0 has ",
                             first.getElementType());
    if (type.getRank() != first.getRank())
      return inference.error("input #", i, " has rank ", type.getRank(),
                             ", input #0 has rank ", first.getRank());
    for (int64_t d = 0; d < first.getRank(); ++d)
      if (d != *axis && type.getDimSize(d) != first.getDimSize(d))
        return inference.error("input #", i, " dim ", d, " is ",
                               type.getDimSize(d), ", input #0 dim ", d, " is ",
                               first.getDimSize(d));
    axisSize = axisSize + type.getDimSize(*axis);
  }
  FailureOr<int64_t> size = inference.value(axisSize, "concatenated size");
  if (failed(size))
    return failure();
  SmallVector<int64_t> shape(first.getShape());
  shape[*axis] = *size;
  inferred.push_back(first.clone(shape));
  return success();
}

std::string ConcatOp::getDimAnnotation() {
  // a b^, a c^ -> a d^: the pieces along the axis differ in size, so the
  // axis is frozen with its own label in every tensor; the rest is shared.
  int64_t axis = getAxis();
  DimLabelNames names;
  AnnotatedTensor shared;
  for (int64_t d = 0, rank = shapeOf(getResult()).size(); d < rank; ++d)
    shared.push_back(DimLabel{names.next(), d == axis ? DimLabel::Frozen
                                                      : DimLabel::Spatial});
  DimAnnotation annotation;
  for (size_t i = 0; i < getInputs().size(); ++i) {
    AnnotatedTensor input = shared;
    if (i > 0)
      input[axis] = DimLabel{names.next(), DimLabel::Frozen};
    annotation.inputs.push_back(input);
  }
  AnnotatedTensor result = shared;
  result[axis] = DimLabel{names.next(), DimLabel::Frozen};
  annotation.outputs = {result};
  return annotation.str();
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  if (getInputs().size() == 1 && getInputs().front().getType() == getType())
    return getInputs().front();
  RankedTensorType type = foldableType(*this);
  if (!type)
    return {};
  SmallVector<DenseElementsAttr> inputs;
  for (Attribute attr : adaptor.getInputs()) {
    DenseElementsAttr input = denseOperand(attr);
    if (!input)
      return {};
    inputs.push_back(input);
  }
  // Viewed as [outer, axis, inner], the result interleaves each input's
  // [axis_i * inner] blocks, outer times.
  ArrayRef<int64_t> shape = type.getShape();
  int64_t axis = getAxis();
  int64_t outer = *elementCount(shape.take_front(axis));
  int64_t inner = *elementCount(shape.drop_front(axis + 1));
  return visitElementType(type.getElementType(), [&](auto tag) -> Attribute {
    using T = decltype(tag);
    SmallVector<T> values;
    values.reserve(type.getNumElements());
    for (int64_t o = 0; o < outer; ++o) {
      for (DenseElementsAttr input : inputs) {
        int64_t block = input.getType().getDimSize(axis) * inner;
        auto begin = input.value_begin<T>();
        for (int64_t i = 0; i < block; ++i)
          values.push_back(begin[o * block + i]);
      }
    }
    return DenseElementsAttr::get(type, ArrayRef<T>(values));
  });
}

LogicalResult SplitOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> location,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> input =
      inference.tensor(adaptor.getInput(), "input", ElementSet::Any);
  if (failed(input))
    return failure();
  const Properties &props = adaptor.getProperties();
  FailureOr<int64_t> axis =
      inference.axis(props.axis, input->getRank(), /*allowNegative=*/false);
  FailureOr<DenseI64ArrayAttr> sizesAttr = inference.attr(props.sizes, "sizes");
  if (failed(axis) || failed(sizesAttr))
    return failure();
  ArrayRef<int64_t> sizes = sizesAttr->asArrayRef();
  if (sizes.empty())
    return inference.error("sizes must not be empty");
  if (failed(inference.atLeast(sizes, "sizes", 0)))
    return failure();
  CheckedInt total(0);
  for (int64_t size : sizes)
    total = total + size;
  std::optional<int64_t> sum = total.get();
  if (!sum || *sum != input->getDimSize(*axis))
    return inference.error("sizes ", str(sizes), " do not sum to ",
                           input->getDimSize(*axis), ", the size of dim ",
                           *axis);
  SmallVector<int64_t> shape(input->getShape());
  for (int64_t size : sizes) {
    shape[*axis] = size;
    inferred.push_back(input->clone(shape));
  }
  return success();
}

std::string SplitOp::getDimAnnotation() {
  // a b^ -> a c^, a d^.
  int64_t axis = getAxis();
  DimLabelNames names;
  AnnotatedTensor input;
  for (int64_t d = 0, rank = shapeOf(getInput()).size(); d < rank; ++d)
    input.push_back(DimLabel{names.next(),
                             d == axis ? DimLabel::Frozen : DimLabel::Spatial});
  DimAnnotation annotation;
  annotation.inputs = {input};
  for (size_t i = 0; i < getOutputs().size(); ++i) {
    AnnotatedTensor result = input;
    result[axis] = DimLabel{names.next(), DimLabel::Frozen};
    annotation.outputs.push_back(result);
  }
  return annotation.str();
}

LogicalResult SplitOp::adaptAttributesToTypes() {
  // The axis is frozen, so this restates the same sizes unless the op was
  // rebuilt by hand.
  int64_t axis = getAxis();
  SmallVector<int64_t> sizes;
  for (Type type : getResultTypes())
    sizes.push_back(cast<RankedTensorType>(type).getDimSize(axis));
  setSizes(sizes);
  return success();
}

//===----------------------------------------------------------------------===//
// SliceOp
//===----------------------------------------------------------------------===//

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> location,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> input =
      inference.tensor(adaptor.getInput(), "input", ElementSet::Any);
  if (failed(input))
    return failure();
  int64_t rank = input->getRank();
  const Properties &props = adaptor.getProperties();
  FailureOr<ArrayRef<int64_t>> starts =
      inference.array(props.starts, "starts", rank, "one per input dim");
  FailureOr<ArrayRef<int64_t>> sizes =
      inference.array(props.sizes, "sizes", rank, "one per input dim");
  FailureOr<ArrayRef<int64_t>> steps =
      inference.array(props.steps, "steps", rank, "one per input dim");
  if (failed(starts) || failed(sizes) || failed(steps) ||
      failed(inference.atLeast(*sizes, "sizes", 0)))
    return failure();
  for (int64_t d = 0; d < rank; ++d) {
    int64_t start = (*starts)[d], size = (*sizes)[d], step = (*steps)[d];
    int64_t dim = input->getDimSize(d);
    if (step == 0)
      return inference.error("steps[", d, "] is 0");
    if (size == 0)
      continue;
    if (start < 0 || start >= dim)
      return inference.error("dim ", d, ": start ", start, " is outside [0, ",
                             dim, ")");
    std::optional<int64_t> last =
        (CheckedInt(start) + CheckedInt(size - 1) * step).get();
    if (!last || *last < 0 || *last >= dim)
      return inference.error("dim ", d, ": last index (start ", start,
                             " + (size ", size, " - 1) * step ", step,
                             ") is outside [0, ", dim, ")");
  }
  inferred.push_back(input->clone(*sizes));
  return success();
}

/// Whether a slice copies dim `d` whole and in order.
static bool slicesWholeDim(SliceOp op, int64_t d) {
  return op.getStarts()[d] == 0 && op.getSteps()[d] == 1 &&
         op.getSizes()[d] == op.getInput().getType().getDimSize(d);
}

std::string SliceOp::getDimAnnotation() {
  SmallVector<bool> copied;
  for (int64_t d = 0, rank = getInput().getType().getRank(); d < rank; ++d)
    copied.push_back(slicesWholeDim(*this, d));
  return copyOrFreezeAnnotation(copied);
}

LogicalResult SliceOp::adaptAttributesToTypes() {
  // A split dim is copied whole (start 0, step 1), so its size is all that
  // changes.
  setSizes(getType().getShape());
  return success();
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  int64_t rank = getInput().getType().getRank();
  bool whole = llvm::all_of(llvm::seq<int64_t>(0, rank), [&](int64_t d) {
    return slicesWholeDim(*this, d);
  });
  if (whole && getInput().getType() == getType())
    return getInput();
  DenseElementsAttr input = denseOperand(adaptor.getInput());
  RankedTensorType type = foldableType(*this);
  if (!input || !type)
    return {};
  SmallVector<int64_t> inputStrides =
      rowMajorStrides(input.getType().getShape());
  int64_t base = 0;
  SmallVector<int64_t> strides;
  for (int64_t d = 0; d < rank; ++d) {
    base += getStarts()[d] * inputStrides[d];
    strides.push_back(getSteps()[d] * inputStrides[d]);
  }
  return gatherElements(input, stridedIndices(type.getShape(), base, strides),
                        type);
}

//===----------------------------------------------------------------------===//
// GatherOp
//===----------------------------------------------------------------------===//

LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> location,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> data =
      inference.tensor(adaptor.getData(), "data", ElementSet::Any);
  FailureOr<RankedTensorType> indices =
      inference.tensor(adaptor.getIndices(), "indices", ElementSet::Index);
  if (failed(data) || failed(indices))
    return failure();
  if (data->getRank() < 1)
    return inference.error("data must have rank >= 1, got ", *data);
  FailureOr<int64_t> axis = inference.axis(
      adaptor.getProperties().axis, data->getRank(), /*allowNegative=*/false);
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(data->getShape().take_front(*axis));
  llvm::append_range(shape, indices->getShape());
  llvm::append_range(shape, data->getShape().drop_front(*axis + 1));
  inferred.push_back(data->clone(shape));
  return success();
}

std::string GatherOp::getDimAnnotation() {
  // a^ b, c -> c b: any index may read any row, so the gathered axis is
  // frozen; the indices' dims carry through to the result.
  int64_t axis = getAxis();
  int64_t dataRank = shapeOf(getData()).size();
  DimLabelNames names;
  AnnotatedTensor data;
  for (int64_t d = 0; d < dataRank; ++d)
    data.push_back(DimLabel{names.next(),
                            d == axis ? DimLabel::Frozen : DimLabel::Spatial});
  AnnotatedTensor indices = freshLabels(names, shapeOf(getIndices()).size());
  AnnotatedTensor result(ArrayRef<AnnotatedDim>(data).take_front(axis));
  llvm::append_range(result, indices);
  llvm::append_range(result, ArrayRef<AnnotatedDim>(data).drop_front(axis + 1));
  DimAnnotation annotation;
  annotation.inputs = {data, indices};
  annotation.outputs = {result};
  return annotation.str();
}

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr data = denseOperand(adaptor.getData());
  DenseElementsAttr indices = denseOperand(adaptor.getIndices());
  RankedTensorType type = foldableType(*this);
  if (!data || !indices || !type)
    return {};
  ArrayRef<int64_t> dataShape = data.getType().getShape();
  int64_t axis = getAxis();
  int64_t axisSize = dataShape[axis];
  int64_t outer = *elementCount(dataShape.take_front(axis));
  int64_t inner = *elementCount(dataShape.drop_front(axis + 1));
  // Negative indices count from the end, as in ONNX; an index out of range
  // is left for the runtime to report.
  SmallVector<int64_t> rows;
  for (const APInt &index : indices.getValues<APInt>()) {
    int64_t row = index.getSExtValue();
    if (row < 0)
      row += axisSize;
    if (row < 0 || row >= axisSize)
      return {};
    rows.push_back(row);
  }
  SmallVector<int64_t> sourceIndices;
  sourceIndices.reserve(type.getNumElements());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t row : rows)
      for (int64_t i = 0; i < inner; ++i)
        sourceIndices.push_back((o * axisSize + row) * inner + i);
  return gatherElements(data, sourceIndices, type);
}

//===----------------------------------------------------------------------===//
// BroadcastToOp
//===----------------------------------------------------------------------===//

LogicalResult BroadcastToOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location> location,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> input =
      inference.tensor(adaptor.getInput(), "input", ElementSet::Any);
  FailureOr<DenseI64ArrayAttr> shapeAttr =
      inference.attr(adaptor.getProperties().shape, "shape");
  if (failed(input) || failed(shapeAttr))
    return failure();
  ArrayRef<int64_t> shape = shapeAttr->asArrayRef();
  if (failed(inference.atLeast(shape, "shape", 0)))
    return failure();
  // ONNX Expand broadcasts both ways: `shape` may hold 1 where the input is
  // larger.
  FailureOr<SmallVector<int64_t>> result =
      broadcastShapes(inference, {input->getShape(), shape});
  if (failed(result))
    return failure();
  inferred.push_back(input->clone(*result));
  return success();
}

std::string BroadcastToOp::getDimAnnotation() {
  return elementwiseAnnotation(*this);
}

LogicalResult BroadcastToOp::adaptAttributesToTypes() {
  setShape(getType().getShape());
  return success();
}

OpFoldResult BroadcastToOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  DenseElementsAttr input = denseOperand(adaptor.getInput());
  RankedTensorType type = foldableType(*this);
  if (!input || !type)
    return {};
  return gatherElements(
      input, broadcastIndices(input.getType().getShape(), type.getShape()),
      type);
}

//===----------------------------------------------------------------------===//
// PadOp and ResizeOp
//===----------------------------------------------------------------------===//

LogicalResult PadOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> location,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> input =
      inference.tensor(adaptor.getInput(), "input", ElementSet::Any);
  if (failed(input))
    return failure();
  int64_t rank = input->getRank();
  const Properties &props = adaptor.getProperties();
  FailureOr<ArrayRef<int64_t>> pads =
      inference.array(props.pads, "pads", 2 * rank, "begins then ends");
  FailureOr<StringRef> mode =
      oneOf(inference, props.mode, "mode", {"constant", "reflect", "edge"});
  if (failed(pads) || failed(mode))
    return failure();
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t dim = input->getDimSize(d);
    int64_t begin = (*pads)[d], end = (*pads)[rank + d];
    FailureOr<int64_t> size =
        inference.value(CheckedInt(dim) + begin + end, "padded size");
    if (failed(size))
      return failure();
    if (*size < 0)
      return inference.error("dim ", d, " of size ", dim, " with pads ", begin,
                             " and ", end, " has negative size ", *size);
    // Reflection mirrors interior elements, so it cannot pad further than
    // the dim is long; edge padding needs an edge to repeat.
    if (*mode == "reflect" && (begin >= dim || end >= dim) &&
        (begin > 0 || end > 0))
      return inference.error("dim ", d, " of size ", dim, ": reflect pads ",
                             begin, " and ", end,
                             " must each be less than the size");
    if (*mode == "edge" && dim == 0 && (begin > 0 || end > 0))
      return inference.error("dim ", d, " is empty and has no edge to repeat");
    shape.push_back(*size);
  }
  inferred.push_back(input->clone(shape));
  return success();
}

std::string PadOp::getDimAnnotation() {
  int64_t rank = getInput().getType().getRank();
  ArrayRef<int64_t> pads = getPads();
  SmallVector<bool> copied;
  for (int64_t d = 0; d < rank; ++d)
    copied.push_back(pads[d] == 0 && pads[rank + d] == 0);
  return copyOrFreezeAnnotation(copied);
}

/// Checks resize's (and resize_grad's) attributes for an operand of
/// `rank`, whose shape `operandName` names; `sizes` is the result shape.
template <typename Properties>
static FailureOr<ArrayRef<int64_t>>
checkResizeAttrs(const Inference &inference, const Properties &props,
                 RankedTensorType operand, StringRef operandName) {
  int64_t rank = operand.getRank();
  std::string per = ("one per " + operandName + " dim").str();
  FailureOr<ArrayRef<int64_t>> sizes =
      inference.array(props.sizes, "sizes", rank, per);
  if (failed(sizes) || failed(inference.atLeast(*sizes, "sizes", 1)) ||
      failed(inference.attr(props.scales, "scales")))
    return failure();
  ArrayRef<float> scales = props.scales.asArrayRef();
  if (static_cast<int64_t>(scales.size()) != rank)
    return inference.error("scales has ", scales.size(), " entries, expected ",
                           rank, " (", per, ")");
  for (auto [d, scale] : llvm::enumerate(scales))
    if (!std::isfinite(scale) || scale <= 0)
      return inference.error("scales[", d, "] is ", scale,
                             ", expected a positive number");
  for (int64_t d = 0; d < rank; ++d)
    if (operand.getDimSize(d) == 0)
      return inference.error(operandName, " dim ", d, " is empty");
  if (failed(oneOf(inference, props.mode, "mode", {"nearest", "linear"})) ||
      failed(oneOf(inference, props.coordinate_transformation_mode,
                   "coordinate_transformation_mode",
                   {"half_pixel", "pytorch_half_pixel", "align_corners",
                    "asymmetric"})) ||
      failed(
          oneOf(inference, props.nearest_mode, "nearest_mode",
                {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"})))
    return failure();
  return sizes;
}

LogicalResult ResizeOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> location,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> input =
      inference.tensor(adaptor.getInput(), "input", ElementSet::Float);
  if (failed(input))
    return failure();
  FailureOr<ArrayRef<int64_t>> sizes =
      checkResizeAttrs(inference, adaptor.getProperties(), *input, "input");
  if (failed(sizes))
    return failure();
  inferred.push_back(input->clone(*sizes));
  return success();
}

/// A dim of unchanged size and scale 1 maps every index to itself under
/// each coordinate mode; any other dim interpolates across its length.
static std::string resizeAnnotation(ArrayRef<int64_t> in, ArrayRef<int64_t> out,
                                    ArrayRef<float> scales) {
  SmallVector<bool> copied;
  for (auto [d, size] : llvm::enumerate(in))
    copied.push_back(out[d] == size && scales[d] == 1.0f);
  return copyOrFreezeAnnotation(copied);
}

std::string ResizeOp::getDimAnnotation() {
  return resizeAnnotation(shapeOf(getInput()), getSizes(), getScales());
}

LogicalResult ResizeOp::adaptAttributesToTypes() {
  // A split dim has scale 1, so only the sizes change.
  setSizes(getType().getShape());
  return success();
}

//===----------------------------------------------------------------------===//
// ODS-generated definitions
//===----------------------------------------------------------------------===//

#define GET_OP_CLASSES
#include "Graph/GraphOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Training ops
//===----------------------------------------------------------------------===//

LogicalResult VariableOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location> location,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  ElementsAttr value = adaptor.getProperties().value;
  if (failed(inference.attr(value, "value")))
    return failure();
  auto type = dyn_cast<RankedTensorType>(value.getShapedType());
  if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
    return inference.error("value must be a statically shaped f32 tensor, got ",
                           value.getShapedType());
  inferred.push_back(type);
  return success();
}

std::string VariableOp::getDimAnnotation() {
  // Like a constant: consumers take the pieces they need.
  DimLabelNames names;
  DimAnnotation annotation;
  annotation.outputs.push_back(
      freshLabels(names, getType().getRank(), DimLabel::Frozen));
  return annotation.str();
}

LogicalResult AssignOp::verify() {
  // Per-device assigns (after partitioning) carry the piece they update,
  // which the dist dialect checks; a whole assign matches its variable.
  if ((*this)->hasAttr("dist.piece"))
    return success();
  auto func = (*this)->getParentOp();
  if (!func)
    return success();
  VariableOp variable;
  func->walk([&](VariableOp op) {
    if (op.getSymName() == getVariable() && !op->hasAttr("dist.piece")) {
      variable = op;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (!variable)
    return success(); // read nowhere in this function: nothing to match
  if (variable.getType() != getValue().getType())
    return emitOpError("value of type ")
           << getValue().getType() << " does not match variable '"
           << getVariable() << "' of type " << variable.getType();
  return success();
}

std::string AssignOp::getDimAnnotation() {
  // The new value is needed whole wherever the variable is held.
  DimLabelNames names;
  DimAnnotation annotation;
  annotation.inputs.push_back(
      freshLabels(names, shapeOf(getValue()).size(), DimLabel::Frozen));
  return annotation.str();
}

/// Gradient ops whose gradient operand has the type of their first operand.
static LogicalResult inferLikeFirst(const Inference &inference,
                                    ArrayRef<std::pair<StringRef, Value>> same,
                                    SmallVectorImpl<Type> &inferred) {
  FailureOr<RankedTensorType> first = inference.tensor(
      same.front().second, same.front().first, ElementSet::Float);
  if (failed(first))
    return failure();
  for (auto [name, value] : same.drop_front()) {
    FailureOr<RankedTensorType> type =
        inference.tensor(value, name, ElementSet::Float);
    if (failed(type))
      return failure();
    if (*type != *first)
      return inference.error(name, " of type ", *type, " does not match ",
                             same.front().first, " of type ", *first);
  }
  inferred.push_back(*first);
  return success();
}

LogicalResult SoftmaxGradOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location> location,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  if (failed(inferLikeFirst(inference,
                            {{"output_value", adaptor.getOutputValue()},
                             {"grad", adaptor.getGrad()}},
                            inferred)))
    return failure();
  int64_t rank = cast<RankedTensorType>(inferred.front()).getRank();
  if (failed(inference.axis(adaptor.getProperties().axis, rank,
                            /*allowNegative=*/true)))
    return failure();
  return success();
}

std::string SoftmaxGradOp::getDimAnnotation() {
  // a b^, a b^ -> a b^ for the softmax axis.
  int64_t rank = shapeOf(getGrad()).size();
  int64_t axis = normalizedAxis(getAxis(), rank);
  DimLabelNames names;
  AnnotatedTensor labels;
  for (int64_t d = 0; d < rank; ++d)
    labels.push_back(DimLabel{names.next(), d == axis ? DimLabel::Frozen
                                                      : DimLabel::Spatial});
  DimAnnotation annotation;
  annotation.inputs = {labels, labels};
  annotation.outputs = {labels};
  return annotation.str();
}

LogicalResult LayerNormGradOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> location, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  if (failed(inferLikeFirst(
          inference,
          {{"input", adaptor.getInput()}, {"grad", adaptor.getGrad()}},
          inferred)))
    return failure();
  auto input = cast<RankedTensorType>(inferred.front());
  FailureOr<int64_t> axis =
      inference.axis(adaptor.getProperties().axis, input.getRank(),
                     /*allowNegative=*/true);
  if (failed(axis))
    return failure();
  FailureOr<RankedTensorType> scale =
      inference.tensor(adaptor.getScale(), "scale", ElementSet::Float);
  if (failed(scale))
    return failure();
  if (!broadcastsTo(scale->getShape(), input.getShape().drop_front(*axis)))
    return inference.error("scale of shape ", str(scale->getShape()),
                           " does not broadcast to the normalised shape ",
                           str(input.getShape().drop_front(*axis)));
  return success();
}

std::string LayerNormGradOp::getDimAnnotation() {
  // a b^ c^, b^ c^, a b^ c^ -> a b^ c^, as layer_norm.
  ArrayRef<int64_t> shape = shapeOf(getInput());
  int64_t axis = normalizedAxis(getAxis(), shape.size());
  DimLabelNames names;
  AnnotatedTensor input = freshLabels(names, axis);
  input.append(freshLabels(names, shape.size() - axis, DimLabel::Frozen));
  DimAnnotation annotation;
  annotation.inputs.push_back(input);
  annotation.inputs.push_back(
      broadcastLabels(shapeOf(getScale()), shape.drop_front(axis),
                      ArrayRef<AnnotatedDim>(input).drop_front(axis)));
  annotation.inputs.push_back(input);
  annotation.outputs.push_back(input);
  return annotation.str();
}

LogicalResult GeluGradOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location> location,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  if (failed(oneOf(inference, adaptor.getProperties().approximate,
                   "approximate", {"none", "tanh"})))
    return failure();
  return inferLikeFirst(
      inference, {{"input", adaptor.getInput()}, {"grad", adaptor.getGrad()}},
      inferred);
}

std::string GeluGradOp::getDimAnnotation() {
  return elementwiseAnnotation(*this);
}

LogicalResult GatherGradOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location> location,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> indices =
      inference.tensor(adaptor.getIndices(), "indices", ElementSet::Index);
  FailureOr<RankedTensorType> grad =
      inference.tensor(adaptor.getGrad(), "grad", ElementSet::Float);
  if (failed(indices) || failed(grad))
    return failure();
  int64_t axis = adaptor.getProperties().axis.getInt();
  int64_t axisSize = adaptor.getProperties().axis_size.getInt();
  int64_t indexRank = indices->getRank();
  if (axis < 0 || axis + indexRank > grad->getRank())
    return inference.error("axis ", axis, " with indices of rank ", indexRank,
                           " does not fit grad of rank ", grad->getRank());
  if (axisSize < 1)
    return inference.error("axis_size ", axisSize, " must be positive");
  if (grad->getShape().slice(axis, indexRank) != indices->getShape())
    return inference.error("grad of shape ", str(grad->getShape()),
                           " does not hold the indices' shape ",
                           str(indices->getShape()), " at axis ", axis);
  SmallVector<int64_t> shape(grad->getShape().take_front(axis));
  shape.push_back(axisSize);
  llvm::append_range(shape, grad->getShape().drop_front(axis + indexRank));
  inferred.push_back(grad->clone(shape));
  return success();
}

std::string GatherGradOp::getDimAnnotation() {
  // c+, a c+ b -> a n^ b: every index position adds into some row, so the
  // indices' dims are reduced; the rows axis is frozen.
  int64_t axis = getAxis();
  int64_t indexRank = shapeOf(getIndices()).size();
  int64_t gradRank = shapeOf(getGrad()).size();
  DimLabelNames names;
  AnnotatedTensor grad, indices, result;
  for (int64_t d = 0; d < gradRank; ++d) {
    bool isIndex = d >= axis && d < axis + indexRank;
    DimLabel label{names.next(),
                   isIndex ? DimLabel::Reduced : DimLabel::Spatial};
    grad.push_back(label);
    if (isIndex)
      indices.push_back(label);
    else
      result.push_back(label);
    if (d == axis)
      result.push_back(DimLabel{names.next(), DimLabel::Frozen});
  }
  if (indexRank == 0)
    result.insert(result.begin() + axis,
                  DimLabel{names.next(), DimLabel::Frozen});
  DimAnnotation annotation;
  annotation.inputs = {indices, grad};
  annotation.outputs = {result};
  return annotation.str();
}

LogicalResult ConvFilterGradOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> location, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> input =
      inference.tensor(adaptor.getInput(), "input", ElementSet::Float);
  FailureOr<RankedTensorType> grad =
      inference.tensor(adaptor.getGrad(), "grad", ElementSet::Float);
  if (failed(input) || failed(grad))
    return failure();
  if (input->getRank() < 3)
    return inference.error(
        "input must have rank >= 3 ([N, C, spatial...]), got ", *input);
  if (grad->getRank() != input->getRank())
    return inference.error("grad rank ", grad->getRank(),
                           " differs from input rank ", input->getRank());
  int64_t spatial = input->getRank() - 2;
  const Properties &props = adaptor.getProperties();
  FailureOr<ArrayRef<int64_t>> kernel =
      inference.array(props.kernel, "kernel", spatial, "one per spatial dim");
  if (failed(kernel) || failed(inference.atLeast(*kernel, "kernel", 1)))
    return failure();
  FailureOr<ConvAttrs> attrs =
      checkConvAttrs(inference, spatial, props.strides, props.pads,
                     props.dilations, props.group, /*allowNegativePads=*/false);
  if (failed(attrs))
    return failure();
  int64_t batch = input->getDimSize(0), channels = input->getDimSize(1);
  int64_t outChannels = grad->getDimSize(1), group = attrs->group;
  if (grad->getDimSize(0) != batch)
    return inference.error("grad batch ", grad->getDimSize(0),
                           " differs from input batch ", batch);
  if (channels % group != 0)
    return inference.error("input channels ", channels,
                           " are not divisible by group ", group);
  if (outChannels % group != 0)
    return inference.error("grad channels ", outChannels,
                           " are not divisible by group ", group);
  FailureOr<SmallVector<int64_t>> resultSpatial = convResultSpatial(
      inference, input->getShape().drop_front(2), *kernel, *attrs);
  if (failed(resultSpatial))
    return failure();
  if (grad->getShape().drop_front(2) != ArrayRef<int64_t>(*resultSpatial))
    return inference.error(
        "grad spatial sizes ", str(grad->getShape().drop_front(2)),
        " differ from the conv result's ", str(*resultSpatial));
  SmallVector<int64_t> shape{outChannels, channels / group};
  llvm::append_range(shape, *kernel);
  inferred.push_back(RankedTensorType::get(shape, input->getElementType()));
  return success();
}

std::string ConvFilterGradOp::getDimAnnotation() {
  // n+ c h^ w^, n+ o h'^ w'^ -> o c r^ s^: the batch is summed, so a
  // data-parallel piece yields a partial filter gradient. Groups freeze both
  // channel dims, as for conv.
  int64_t spatial = shapeOf(getInput()).size() - 2;
  bool grouped = getGroup() != 1;
  auto channelKind = grouped ? DimLabel::Frozen : DimLabel::Spatial;
  DimLabelNames names;
  DimLabel n{names.next(), DimLabel::Reduced};
  DimLabel c{names.next(), channelKind};
  AnnotatedTensor inputSpatial = freshLabels(names, spatial, DimLabel::Frozen);
  DimLabel o{names.next(), channelKind};
  AnnotatedTensor gradSpatial = freshLabels(names, spatial, DimLabel::Frozen);
  DimLabel resultC = grouped ? DimLabel{names.next(), DimLabel::Frozen} : c;
  AnnotatedTensor kernel = freshLabels(names, spatial, DimLabel::Frozen);

  DimAnnotation annotation;
  AnnotatedTensor input{n, c}, grad{n, o}, result{o, resultC};
  input.append(inputSpatial);
  grad.append(gradSpatial);
  result.append(kernel);
  annotation.inputs = {input, grad};
  annotation.outputs = {result};
  return annotation.str();
}

/// Checks that a pool gradient's `grad` has the shape the pool gives
/// `input`.
static LogicalResult checkPoolGrad(const Inference &inference,
                                   StringRef poolName, RankedTensorType input,
                                   RankedTensorType grad,
                                   FailureOr<SmallVector<int64_t>> poolShape) {
  if (failed(poolShape))
    return failure();
  if (grad.getShape() != ArrayRef<int64_t>(*poolShape))
    return inference.error("grad of type ", grad, " does not have the ",
                           poolName, " result shape ", str(*poolShape),
                           " of input ", input);
  return success();
}

/// n c h^ w^ (, n c h'^ w'^) -> n c h^ w^: pool gradients keep the batch
/// and channels splittable, as the pools do.
static std::string poolGradAnnotation(int64_t spatial, bool readsInput) {
  DimLabelNames names;
  AnnotatedTensor input = freshLabels(names, 2);
  AnnotatedTensor grad = input;
  input.append(freshLabels(names, spatial, DimLabel::Frozen));
  grad.append(freshLabels(names, spatial, DimLabel::Frozen));
  DimAnnotation annotation;
  if (readsInput)
    annotation.inputs.push_back(input);
  annotation.inputs.push_back(grad);
  annotation.outputs = {input};
  return annotation.str();
}

LogicalResult MaxPoolGradOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location> location,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> input =
      inference.tensor(adaptor.getInput(), "input", ElementSet::Float);
  FailureOr<RankedTensorType> grad =
      inference.tensor(adaptor.getGrad(), "grad", ElementSet::Float);
  const Properties &props = adaptor.getProperties();
  if (failed(input) || failed(grad) ||
      failed(inference.attr(props.dilations, "dilations")) ||
      failed(checkPoolGrad(inference, "max_pool", *input, *grad,
                           poolResultShape(inference, *input, props.kernel,
                                           props.strides, props.pads,
                                           props.dilations, props.ceil_mode))))
    return failure();
  inferred.push_back(*input);
  return success();
}

std::string MaxPoolGradOp::getDimAnnotation() {
  return poolGradAnnotation(shapeOf(getInput()).size() - 2,
                            /*readsInput=*/true);
}

LogicalResult AvgPoolGradOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location> location,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> grad =
      inference.tensor(adaptor.getGrad(), "grad", ElementSet::Float);
  if (failed(grad))
    return failure();
  if (grad->getRank() < 3)
    return inference.error(
        "grad must have rank >= 3 ([N, C, spatial...]), got ", *grad);
  const Properties &props = adaptor.getProperties();
  FailureOr<ArrayRef<int64_t>> inputSpatial =
      inference.array(props.input_spatial_shape, "input_spatial_shape",
                      grad->getRank() - 2, "one per spatial dim");
  if (failed(inputSpatial) ||
      failed(inference.atLeast(*inputSpatial, "input_spatial_shape", 1)))
    return failure();
  SmallVector<int64_t> shape(grad->getShape().take_front(2));
  llvm::append_range(shape, *inputSpatial);
  auto input = RankedTensorType::get(shape, grad->getElementType());
  if (failed(checkPoolGrad(inference, "avg_pool", input, *grad,
                           poolResultShape(inference, input, props.kernel,
                                           props.strides, props.pads,
                                           /*dilationsAttr=*/nullptr,
                                           props.ceil_mode))))
    return failure();
  inferred.push_back(input);
  return success();
}

std::string AvgPoolGradOp::getDimAnnotation() {
  return poolGradAnnotation(shapeOf(getGrad()).size() - 2,
                            /*readsInput=*/false);
}

LogicalResult ResizeGradOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location> location,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  FailureOr<RankedTensorType> grad =
      inference.tensor(adaptor.getGrad(), "grad", ElementSet::Float);
  if (failed(grad))
    return failure();
  FailureOr<ArrayRef<int64_t>> sizes =
      checkResizeAttrs(inference, adaptor.getProperties(), *grad, "grad");
  if (failed(sizes))
    return failure();
  inferred.push_back(grad->clone(*sizes));
  return success();
}

std::string ResizeGradOp::getDimAnnotation() {
  return resizeAnnotation(getSizes(), shapeOf(getGrad()), getScales());
}

LogicalResult ResizeGradOp::adaptAttributesToTypes() {
  // As for resize: a split dim has scale 1, so only the sizes change.
  setSizes(getType().getShape());
  return success();
}

/// Optimizer updates: every tensor operand and result has the parameter's
/// type; the gradient scale is a scalar.
static LogicalResult inferOptimizer(const Inference &inference,
                                    ArrayRef<std::pair<StringRef, Value>> same,
                                    Value gradScale, StringAttr schedule,
                                    unsigned numResults,
                                    SmallVectorImpl<Type> &inferred) {
  SmallVector<Type, 1> type;
  if (failed(inferLikeFirst(inference, same, type)))
    return failure();
  if (gradScale) {
    FailureOr<RankedTensorType> scale =
        inference.tensor(gradScale, "grad_scale", ElementSet::Float);
    if (failed(scale))
      return failure();
    if (scale->getRank() != 0)
      return inference.error("grad_scale must be a scalar, got ", *scale);
  }
  if (failed(oneOf(inference, schedule, "schedule",
                   {"constant", "warmup-linear", "cosine"})))
    return failure();
  inferred.append(numResults, type.front());
  return success();
}

/// Every result and tensor operand share the parameter's labels.
static std::string optimizerAnnotation(Operation *op) {
  DimLabelNames names;
  AnnotatedTensor labels = freshLabels(names, shapeOf(op->getResult(0)).size());
  DimAnnotation annotation;
  for (Value operand : op->getOperands())
    annotation.inputs.push_back(shapeOf(operand).empty() ? AnnotatedTensor()
                                                         : labels);
  annotation.outputs.assign(op->getNumResults(), labels);
  return annotation.str();
}

LogicalResult SgdUpdateOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> location,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  SmallVector<std::pair<StringRef, Value>> same = {
      {"param", adaptor.getParam()}, {"grad", adaptor.getGrad()}};
  Value buffer = adaptor.getMomentumBuffer();
  bool hasMomentum = adaptor.getProperties().momentum.getValueAsDouble() != 0;
  if (hasMomentum != static_cast<bool>(buffer))
    return inference.error(hasMomentum
                               ? "momentum needs a momentum_buffer operand"
                               : "momentum_buffer given with momentum 0");
  if (buffer)
    same.push_back({"momentum_buffer", buffer});
  return inferOptimizer(inference, same, adaptor.getGradScale(),
                        adaptor.getProperties().schedule, buffer ? 2 : 1,
                        inferred);
}

std::string SgdUpdateOp::getDimAnnotation() {
  return optimizerAnnotation(*this);
}

LogicalResult AdamwUpdateOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location> location,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &inferred) {
  Inference inference(location, getOperationName());
  return inferOptimizer(inference,
                        {{"param", adaptor.getParam()},
                         {"grad", adaptor.getGrad()},
                         {"m", adaptor.getM()},
                         {"v", adaptor.getV()}},
                        adaptor.getGradScale(),
                        adaptor.getProperties().schedule, 3, inferred);
}

std::string AdamwUpdateOp::getDimAnnotation() {
  return optimizerAnnotation(*this);
}
