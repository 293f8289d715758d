//===- DimAnnotation.cpp - parse, check and split dimension annotations ---===//
//
// Parses the einsum-style annotation text of DimAnnotationOpInterface,
// checks it against an op's shapes, so that a wrong annotation is caught
// before the partitioner derives split algorithms from it, and computes
// what splitting one label does to each tensor.
//
//===----------------------------------------------------------------------===//

#include "Graph/DimAnnotation.h"
#include "Graph/GraphDialect.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace ss::graph;

//===----------------------------------------------------------------------===//
// Text form
//===----------------------------------------------------------------------===//

std::string DimLabel::str() const {
  switch (kind) {
  case Spatial:
    return name;
  case Reduced:
    return name + "+";
  case Frozen:
    return name + "^";
  case Broadcast:
    return "1";
  }
  llvm_unreachable("unknown dimension label kind");
}

std::string AnnotatedDim::str() const {
  if (!isGroup())
    return head().str();
  return "(" +
         llvm::join(
             llvm::map_range(labels, [](const DimLabel &l) { return l.str(); }),
             " ") +
         ")";
}

std::string DimLabelNames::next() {
  unsigned index = count++;
  std::string name(1, static_cast<char>('a' + index % 26));
  if (index >= 26)
    name += std::to_string(index / 26 - 1);
  return name;
}

/// Parses one label token: `1`, or a lowercase identifier with an optional
/// `+` or `^` suffix.
static FailureOr<DimLabel> parseLabel(StringRef token, std::string &error) {
  if (token == "1")
    return DimLabel{"", DimLabel::Broadcast};
  StringRef written = token;
  DimLabel label;
  if (token.consume_back("+"))
    label.kind = DimLabel::Reduced;
  else if (token.consume_back("^"))
    label.kind = DimLabel::Frozen;
  bool valid = !token.empty() && llvm::isLower(token.front()) &&
               llvm::all_of(token, [](char c) {
                 return llvm::isLower(c) || llvm::isDigit(c);
               });
  if (!valid) {
    error = "bad label '" + written.str() + "'";
    return failure();
  }
  label.name = token.str();
  return label;
}

/// Parses the inside of a group `(a b^ c^)`: two or more labels, none `1`,
/// all but the first frozen.
static FailureOr<AnnotatedDim> parseGroup(StringRef text, std::string &error) {
  SmallVector<StringRef> tokens;
  text.split(tokens, ' ', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  SmallVector<DimLabel> labels;
  for (StringRef token : tokens) {
    FailureOr<DimLabel> label = parseLabel(token, error);
    if (failed(label))
      return failure();
    labels.push_back(*label);
  }
  std::string written = ("(" + text + ")").str();
  if (labels.size() < 2) {
    error = "group '" + written + "' needs at least two labels";
    return failure();
  }
  for (auto [index, label] : llvm::enumerate(labels)) {
    if (label.kind == DimLabel::Broadcast) {
      error = "'1' in group '" + written + "'";
      return failure();
    }
    // A later label varies faster than the head, so its chunks are not
    // contiguous in the dimension.
    if (index > 0 && label.kind != DimLabel::Frozen) {
      error = "label '" + label.str() + "' in group '" + written +
              "' must be frozen: only a group's first label can split";
      return failure();
    }
  }
  return AnnotatedDim(labels);
}

/// Parses one tensor's dims: labels and groups separated by spaces.
static LogicalResult parseTensor(StringRef text, AnnotatedTensor &dims,
                                 std::string &error) {
  while (!(text = text.ltrim()).empty()) {
    if (text.consume_front("(")) {
      size_t close = text.find_first_of("()");
      if (close == StringRef::npos || text[close] == '(') {
        error = close == StringRef::npos ? "unclosed '('" : "nested '('";
        return failure();
      }
      FailureOr<AnnotatedDim> group = parseGroup(text.take_front(close), error);
      if (failed(group))
        return failure();
      dims.push_back(*group);
      text = text.drop_front(close + 1);
      continue;
    }
    size_t end = text.find_first_of(" ()");
    if (end == 0) {
      error = "unmatched ')'";
      return failure();
    }
    FailureOr<DimLabel> label = parseLabel(text.take_front(end), error);
    if (failed(label))
      return failure();
    dims.push_back(*label);
    text = text.drop_front(std::min(end, text.size()));
  }
  return success();
}

/// Parses one side of `->`: comma-separated tensors. A blank side has no
/// tensors.
static LogicalResult parseSide(StringRef text,
                               SmallVectorImpl<AnnotatedTensor> &tensors,
                               std::string &error) {
  if (text.trim().empty())
    return success();
  SmallVector<StringRef> tensorTexts;
  text.split(tensorTexts, ',');
  for (StringRef tensorText : tensorTexts)
    if (failed(parseTensor(tensorText, tensors.emplace_back(), error)))
      return failure();
  return success();
}

FailureOr<DimAnnotation> DimAnnotation::parse(StringRef text,
                                              std::string *error) {
  std::string message;
  auto fail = [&](std::string why) -> FailureOr<DimAnnotation> {
    if (error)
      *error = std::move(why);
    return failure();
  };
  size_t arrow = text.find("->");
  if (arrow == StringRef::npos)
    return fail("missing '->'");
  StringRef lhs = text.take_front(arrow), rhs = text.drop_front(arrow + 2);
  if (rhs.contains("->"))
    return fail("more than one '->'");
  DimAnnotation annotation;
  if (failed(parseSide(lhs, annotation.inputs, message)) ||
      failed(parseSide(rhs, annotation.outputs, message)))
    return fail(message);
  return annotation;
}

static std::string printSide(ArrayRef<AnnotatedTensor> tensors) {
  SmallVector<std::string> tensorTexts;
  for (const AnnotatedTensor &tensor : tensors)
    tensorTexts.push_back(llvm::join(
        llvm::map_range(tensor, [](const AnnotatedDim &d) { return d.str(); }),
        " "));
  // A trailing rank-0 tensor leaves `a, `; drop the space before `->`.
  return StringRef(llvm::join(tensorTexts, ", ")).rtrim().str();
}

std::string DimAnnotation::str() const {
  std::string lhs = printSide(inputs), rhs = printSide(outputs);
  std::string text = lhs.empty() ? "->" : lhs + " ->";
  if (!rhs.empty())
    text += " " + rhs;
  return text;
}

SmallVector<DimLabel> DimAnnotation::labels() const {
  SmallVector<DimLabel> result;
  llvm::StringSet<> seen;
  for (ArrayRef<AnnotatedTensor> side : {ArrayRef(inputs), ArrayRef(outputs)})
    for (const AnnotatedTensor &tensor : side)
      for (const AnnotatedDim &dim : tensor)
        for (const DimLabel &label : dim.labels)
          if (label.kind != DimLabel::Broadcast &&
              seen.insert(label.name).second)
            result.push_back(label);
  return result;
}

//===----------------------------------------------------------------------===//
// Checking against shapes
//===----------------------------------------------------------------------===//

namespace {
/// An annotation's tensors matched with their shapes, one side at a time.
struct AnnotatedSide {
  SmallVector<AnnotatedTensor> tensors;
  ArrayRef<ArrayRef<int64_t>> shapes;
  StringRef what; // "operand" or "result"
};

/// Where a label was first seen, for diagnostics.
struct LabelUse {
  DimLabel::Kind kind;
  std::string where;
};

/// Label sizes as they become known, with where each was learnt.
struct KnownSize {
  int64_t size;
  std::string where;
};
} // namespace

static std::string location(StringRef what, size_t tensor, size_t dim) {
  return (Twine(what) + " #" + Twine(tensor) + " dim " + Twine(dim)).str();
}

/// Matches one side's tensors with its shapes; an empty side also stands
/// for a single rank-0 tensor.
static FailureOr<AnnotatedSide> matchSide(ArrayRef<AnnotatedTensor> tensors,
                                          ArrayRef<ArrayRef<int64_t>> shapes,
                                          StringRef what, std::string &error) {
  AnnotatedSide side{{tensors.begin(), tensors.end()}, shapes, what};
  if (side.tensors.empty() && shapes.size() == 1)
    side.tensors.emplace_back();
  if (side.tensors.size() != shapes.size()) {
    error = (Twine(side.tensors.size()) + " " + what + " label lists for " +
             Twine(shapes.size()) + " " + what + "s")
                .str();
    return failure();
  }
  for (auto [index, tensor, shape] : llvm::enumerate(side.tensors, shapes))
    if (tensor.size() != shape.size()) {
      error = (Twine(what) + " #" + Twine(index) + " has rank " +
               Twine(shape.size()) + " but " + Twine(tensor.size()) + " labels")
                  .str();
      return failure();
    }
  return side;
}

/// Checks each tensor's labels on their own (`1` on size-1 dims, no label
/// twice in a tensor) and each label's kind against its other uses.
static LogicalResult checkKinds(const AnnotatedSide &side,
                                llvm::StringMap<LabelUse> &uses,
                                std::string &error) {
  for (auto [index, tensor, shape] :
       llvm::enumerate(side.tensors, side.shapes)) {
    llvm::StringSet<> seenHere;
    for (auto [d, dim] : llvm::enumerate(tensor)) {
      std::string where = location(side.what, index, d);
      for (const DimLabel &label : dim.labels) {
        if (label.kind == DimLabel::Broadcast) {
          if (shape[d] != 1) {
            error = "'1' on " + where + " of size " + std::to_string(shape[d]);
            return failure();
          }
          continue;
        }
        if (!seenHere.insert(label.name).second) {
          error = ("label '" + Twine(label.name) + "' repeats in " + side.what +
                   " #" + Twine(index))
                      .str();
          return failure();
        }
        auto [it, inserted] =
            uses.try_emplace(label.name, LabelUse{label.kind, where});
        if (!inserted && it->second.kind != label.kind) {
          error = "label '" + label.name + "' is '" +
                  DimLabel{label.name, it->second.kind}.str() + "' in " +
                  it->second.where + " but '" + label.str() + "' in " + where;
          return failure();
        }
      }
    }
  }
  return success();
}

/// Sizes of labels standing alone as a dim, which must agree everywhere.
static LogicalResult sizeSingleLabels(const AnnotatedSide &side,
                                      llvm::StringMap<KnownSize> &sizes,
                                      std::string &error) {
  for (auto [index, tensor, shape] : llvm::enumerate(side.tensors, side.shapes))
    for (auto [d, dim] : llvm::enumerate(tensor)) {
      const DimLabel &label = dim.head();
      if (dim.isGroup() || label.kind == DimLabel::Broadcast)
        continue;
      std::string where = location(side.what, index, d);
      auto [it, inserted] =
          sizes.try_emplace(label.name, KnownSize{shape[d], where});
      if (!inserted && it->second.size != shape[d]) {
        error = "label '" + label.name + "' is " +
                std::to_string(it->second.size) + " in " + it->second.where +
                " but " + std::to_string(shape[d]) + " in " + where;
        return failure();
      }
    }
  return success();
}

namespace {
/// A group dim whose label sizes are still to be checked.
struct PendingGroup {
  const AnnotatedDim *dim;
  int64_t size;
  std::string where;
};
} // namespace

/// Sizes the labels that only appear in groups, each from a group in which
/// every other label is known, and checks every group's product.
static LogicalResult sizeGroups(const AnnotatedSide &inputs,
                                const AnnotatedSide &outputs,
                                llvm::StringMap<KnownSize> &sizes,
                                std::string &error) {
  SmallVector<PendingGroup> pending;
  for (const AnnotatedSide *side : {&inputs, &outputs})
    for (auto [index, tensor, shape] :
         llvm::enumerate(side->tensors, side->shapes))
      for (auto [d, dim] : llvm::enumerate(tensor))
        if (dim.isGroup())
          pending.push_back({&dim, shape[d], location(side->what, index, d)});
  // Each round settles every group with at most one unknown label; a label
  // learnt from one group may settle another in the next round.
  bool progress = true;
  while (progress && !pending.empty()) {
    progress = false;
    SmallVector<PendingGroup> unsettled;
    for (PendingGroup &group : pending) {
      int64_t known = 1;
      bool overflow = false;
      SmallVector<const DimLabel *> unknown;
      for (const DimLabel &label : group.dim->labels) {
        auto it = sizes.find(label.name);
        if (it == sizes.end())
          unknown.push_back(&label);
        else
          overflow |= llvm::MulOverflow(known, it->second.size, known);
      }
      std::string what = "group '" + group.dim->str() + "' on " + group.where;
      if (overflow) {
        error = what + ": the product of its label sizes overflows int64";
        return failure();
      }
      if (unknown.size() > 1) {
        unsettled.push_back(std::move(group));
        continue;
      }
      progress = true;
      if (unknown.empty()) {
        if (known != group.size) {
          error = what + " has size " + std::to_string(group.size) +
                  " but its labels multiply to " + std::to_string(known);
          return failure();
        }
        continue;
      }
      const DimLabel &label = *unknown.front();
      if (known == 0 || group.size % known != 0) {
        error = what + " of size " + std::to_string(group.size) +
                " does not give label '" + label.name +
                "' a size: the other labels multiply to " +
                std::to_string(known);
        return failure();
      }
      sizes[label.name] = KnownSize{group.size / known, group.where};
    }
    pending = std::move(unsettled);
  }
  if (!pending.empty()) {
    const PendingGroup &group = pending.front();
    SmallVector<std::string> unknown;
    for (const DimLabel &label : group.dim->labels)
      if (!sizes.count(label.name))
        unknown.push_back("'" + label.name + "'");
    error = "group '" + group.dim->str() + "' on " + group.where +
            " leaves the sizes of " + llvm::join(unknown, ", ") +
            " undetermined";
    return failure();
  }
  return success();
}

FailureOr<llvm::StringMap<int64_t>> ss::graph::resolveLabelSizes(
    const DimAnnotation &annotation, ArrayRef<ArrayRef<int64_t>> inputShapes,
    ArrayRef<ArrayRef<int64_t>> outputShapes, std::string *error) {
  std::string message;
  auto fail = [&]() -> FailureOr<llvm::StringMap<int64_t>> {
    if (error)
      *error = std::move(message);
    return failure();
  };
  FailureOr<AnnotatedSide> inputs =
      matchSide(annotation.inputs, inputShapes, "operand", message);
  if (failed(inputs))
    return fail();
  FailureOr<AnnotatedSide> outputs =
      matchSide(annotation.outputs, outputShapes, "result", message);
  if (failed(outputs))
    return fail();

  llvm::StringMap<LabelUse> uses;
  if (failed(checkKinds(*inputs, uses, message)))
    return fail();
  // A reduced label sums over its dimension, so no result can keep it; check
  // before the results' kinds so that the message names the culprit.
  llvm::StringSet<> inResults;
  for (auto [index, tensor] : llvm::enumerate(outputs->tensors))
    for (const AnnotatedDim &dim : tensor)
      for (const DimLabel &label : dim.labels) {
        if (label.kind == DimLabel::Broadcast)
          continue;
        inResults.insert(label.name);
        auto it = uses.find(label.name);
        if (label.kind == DimLabel::Reduced ||
            (it != uses.end() && it->second.kind == DimLabel::Reduced)) {
          message = "reduced label '" + label.name + "' appears in result #" +
                    std::to_string(index);
          return fail();
        }
      }
  if (failed(checkKinds(*outputs, uses, message)))
    return fail();
  // Splitting a spatial label that no result carries would leave every
  // piece computing the whole result from part of its operands.
  for (const DimLabel &label : annotation.labels())
    if (label.kind == DimLabel::Spatial && !inResults.contains(label.name)) {
      message = "spatial label '" + label.name + "' appears in no result";
      return fail();
    }

  llvm::StringMap<KnownSize> sizes;
  if (failed(sizeSingleLabels(*inputs, sizes, message)) ||
      failed(sizeSingleLabels(*outputs, sizes, message)) ||
      failed(sizeGroups(*inputs, *outputs, sizes, message)))
    return fail();
  llvm::StringMap<int64_t> result;
  for (const auto &entry : sizes)
    result[entry.getKey()] = entry.getValue().size;
  return result;
}

/// The shapes of `types`, or the index of the first that is not a ranked
/// tensor.
static FailureOr<SmallVector<ArrayRef<int64_t>>>
shapesOf(TypeRange types, StringRef what, std::string &error) {
  SmallVector<ArrayRef<int64_t>> shapes;
  for (auto [index, type] : llvm::enumerate(types)) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!tensor) {
      error =
          (Twine(what) + " #" + Twine(index) + " is not a ranked tensor").str();
      return failure();
    }
    shapes.push_back(tensor.getShape());
  }
  return shapes;
}

LogicalResult ss::graph::verifyDimAnnotation(Operation *op) {
  auto annotated = dyn_cast<DimAnnotationOpInterface>(op);
  if (!annotated)
    return success();
  std::string text = annotated.getDimAnnotation();
  std::string error;
  FailureOr<DimAnnotation> annotation = DimAnnotation::parse(text, &error);
  if (failed(annotation))
    return op->emitError() << "malformed dimension annotation '" << text
                           << "': " << error;
  auto fail = [&]() {
    return op->emitError() << "dimension annotation '" << text
                           << "': " << error;
  };
  FailureOr<SmallVector<ArrayRef<int64_t>>> inputShapes =
      shapesOf(op->getOperandTypes(), "operand", error);
  if (failed(inputShapes))
    return fail();
  FailureOr<SmallVector<ArrayRef<int64_t>>> outputShapes =
      shapesOf(op->getResultTypes(), "result", error);
  if (failed(outputShapes) ||
      failed(
          resolveLabelSizes(*annotation, *inputShapes, *outputShapes, &error)))
    return fail();
  return success();
}

//===----------------------------------------------------------------------===//
// Splitting
//===----------------------------------------------------------------------===//

/// The split of each tensor on one side: its dims headed by `label` are cut
/// n ways; `valueParts` applies to the tensors that do not carry the label.
static SmallVector<TensorSplit> splitSide(ArrayRef<AnnotatedTensor> tensors,
                                          size_t count, StringRef label,
                                          int64_t n, int64_t valuePartsWithout,
                                          int64_t valuePartsWith) {
  SmallVector<TensorSplit> splits;
  for (size_t index = 0; index < count; ++index) {
    TensorSplit &split = splits.emplace_back();
    bool carries = false;
    // An empty side stands for one rank-0 tensor, which has no dims.
    if (index < tensors.size())
      for (const AnnotatedDim &dim : tensors[index]) {
        bool cut =
            dim.head().kind != DimLabel::Broadcast && dim.head().name == label;
        split.dimChunks.push_back(cut ? n : 1);
        carries |= cut;
      }
    split.valueParts = carries ? valuePartsWith : valuePartsWithout;
  }
  return splits;
}

FailureOr<PieceSplit>
ss::graph::splitLabel(const DimAnnotation &annotation,
                      ArrayRef<ArrayRef<int64_t>> inputShapes,
                      ArrayRef<ArrayRef<int64_t>> outputShapes, StringRef label,
                      int64_t n, std::string *error) {
  std::string message;
  auto fail = [&]() -> FailureOr<PieceSplit> {
    if (error)
      *error = std::move(message);
    return failure();
  };
  FailureOr<llvm::StringMap<int64_t>> sizes =
      resolveLabelSizes(annotation, inputShapes, outputShapes, &message);
  if (failed(sizes))
    return fail();
  SmallVector<DimLabel> labels = annotation.labels();
  const DimLabel *found =
      llvm::find_if(labels, [&](const DimLabel &l) { return l.name == label; });
  if (found == labels.end()) {
    message = "no label '" + label.str() + "' in '" + annotation.str() + "'";
    return fail();
  }
  PieceSplit split;
  split.label = *found;
  split.size = sizes->lookup(label);
  split.count = n;
  if (n < 1) {
    message = "cannot split label '" + label.str() + "' " + std::to_string(n) +
              " ways";
    return fail();
  }
  if (n > 1 && found->kind == DimLabel::Frozen) {
    message = "label '" + label.str() + "' (size " +
              std::to_string(split.size) + ") is frozen and cannot split " +
              std::to_string(n) + " ways";
    return fail();
  }
  if (split.size % n != 0) {
    message = "label '" + label.str() + "' of size " +
              std::to_string(split.size) + " does not split " +
              std::to_string(n) + " ways: " + std::to_string(n) +
              " does not divide " + std::to_string(split.size);
    return fail();
  }
  // Splitting a reduced label turns the results into partial sums; the
  // operands without it are added into every piece's result, so each piece
  // must get a partial sum of them too.
  bool reduced = found->kind == DimLabel::Reduced;
  split.inputs = splitSide(annotation.inputs, inputShapes.size(), label, n,
                           /*valuePartsWithout=*/reduced ? n : 1,
                           /*valuePartsWith=*/1);
  split.outputs = splitSide(annotation.outputs, outputShapes.size(), label, n,
                            /*valuePartsWithout=*/reduced ? n : 1,
                            /*valuePartsWith=*/1);
  return split;
}

FailureOr<PieceSplit> ss::graph::splitLabel(Operation *op, StringRef label,
                                            int64_t n, std::string *error) {
  std::string message;
  auto fail = [&]() -> FailureOr<PieceSplit> {
    if (error)
      *error = std::move(message);
    return failure();
  };
  auto annotated = dyn_cast<DimAnnotationOpInterface>(op);
  if (!annotated) {
    message = "'" + op->getName().getStringRef().str() +
              "' has no dimension annotation";
    return fail();
  }
  std::string text = annotated.getDimAnnotation();
  FailureOr<DimAnnotation> annotation = DimAnnotation::parse(text, &message);
  if (failed(annotation)) {
    message = "malformed dimension annotation '" + text + "': " + message;
    return fail();
  }
  FailureOr<SmallVector<ArrayRef<int64_t>>> inputShapes =
      shapesOf(op->getOperandTypes(), "operand", message);
  if (failed(inputShapes))
    return fail();
  FailureOr<SmallVector<ArrayRef<int64_t>>> outputShapes =
      shapesOf(op->getResultTypes(), "result", message);
  if (failed(outputShapes))
    return fail();
  return splitLabel(*annotation, *inputShapes, *outputShapes, label, n, error);
}

//===----------------------------------------------------------------------===//
// Sub-ops
//===----------------------------------------------------------------------===//

LogicalResult ss::graph::checkInferredTypes(Operation *op) {
  auto inferable = dyn_cast<InferTypeOpInterface>(op);
  if (!inferable)
    return success();
  SmallVector<Type> inferred;
  if (failed(inferable.inferReturnTypes(
          op->getContext(), op->getLoc(), op->getOperands(),
          op->getRawDictionaryAttrs(), op->getPropertiesStorage(),
          op->getRegions(), inferred)))
    return op->emitError() << "type inference fails for result types "
                           << op->getResultTypes();
  if (inferred.size() != op->getNumResults())
    return op->emitError() << "type inference yields " << inferred.size()
                           << " results for " << op->getNumResults();
  for (auto [index, type, expected] :
       llvm::enumerate(TypeRange(inferred), op->getResultTypes()))
    if (type != expected)
      return op->emitError() << "result #" << index << " has type " << expected
                             << " but type inference yields " << type;
  return success();
}
