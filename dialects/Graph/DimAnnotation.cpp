//===- DimAnnotation.cpp - parse and check dimension annotations ----------===//
//
// Parses the einsum-style annotation text of DimAnnotationOpInterface and
// checks it against an op's shapes, so that a wrong annotation is caught
// before the partitioner derives split algorithms from it.
//
//===----------------------------------------------------------------------===//

#include "Graph/DimAnnotation.h"
#include "Graph/GraphDialect.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace ss::graph;

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

/// Parses one side of `->`: comma-separated lists of space-separated labels.
/// A blank side has no lists.
static LogicalResult parseSide(StringRef text,
                               SmallVectorImpl<SmallVector<DimLabel>> &lists,
                               std::string &error) {
  if (text.trim().empty())
    return success();
  SmallVector<StringRef> listTexts;
  text.split(listTexts, ',');
  for (StringRef listText : listTexts) {
    SmallVector<DimLabel> &list = lists.emplace_back();
    SmallVector<StringRef> tokens;
    listText.split(tokens, ' ', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
    for (StringRef token : tokens) {
      token = token.trim();
      if (token.empty())
        continue;
      FailureOr<DimLabel> label = parseLabel(token, error);
      if (failed(label))
        return failure();
      list.push_back(*label);
    }
  }
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

static std::string printSide(ArrayRef<SmallVector<DimLabel>> lists) {
  SmallVector<std::string> listTexts;
  for (const SmallVector<DimLabel> &list : lists) {
    SmallVector<std::string> labels;
    for (const DimLabel &label : list)
      labels.push_back(label.str());
    listTexts.push_back(llvm::join(labels, " "));
  }
  // A trailing rank-0 tensor leaves `a, `; drop the space before `->`.
  return StringRef(llvm::join(listTexts, ", ")).rtrim().str();
}

std::string DimAnnotation::str() const {
  std::string lhs = printSide(inputs), rhs = printSide(outputs);
  std::string text = lhs.empty() ? "->" : lhs + " ->";
  if (!rhs.empty())
    text += " " + rhs;
  return text;
}

namespace {
/// Where a label was first seen, for diagnostics.
struct LabelUse {
  int64_t size;
  DimLabel::Kind kind;
  std::string where;
};
} // namespace

/// Matches one side's label lists with that side's tensor types; an empty
/// side also stands for a single rank-0 tensor.
static LogicalResult checkSide(Operation *op, StringRef annotation,
                               ArrayRef<SmallVector<DimLabel>> lists,
                               TypeRange types, StringRef what,
                               llvm::StringMap<LabelUse> &uses) {
  auto fail = [&]() {
    return op->emitError() << "dimension annotation '" << annotation << "': ";
  };
  SmallVector<SmallVector<DimLabel>> padded(lists.begin(), lists.end());
  if (padded.empty() && types.size() == 1)
    padded.emplace_back();
  if (padded.size() != types.size())
    return fail() << padded.size() << " " << what << " label lists for "
                  << types.size() << " " << what << "s";
  for (auto [index, type, list] : llvm::enumerate(types, padded)) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!tensor)
      return fail() << what << " #" << index << " is not a ranked tensor";
    if (tensor.getRank() != static_cast<int64_t>(list.size()))
      return fail() << what << " #" << index << " has rank " << tensor.getRank()
                    << " but " << list.size() << " labels";
    llvm::StringSet<> seenHere;
    for (auto [dim, label] : llvm::enumerate(list)) {
      int64_t size = tensor.getDimSize(dim);
      std::string where =
          (Twine(what) + " #" + Twine(index) + " dim " + Twine(dim)).str();
      if (label.kind == DimLabel::Broadcast) {
        if (size != 1)
          return fail() << "'1' on " << where << " of size " << size;
        continue;
      }
      if (!seenHere.insert(label.name).second)
        return fail() << "label '" << label.name << "' repeats in " << what
                      << " #" << index;
      auto [it, inserted] =
          uses.try_emplace(label.name, LabelUse{size, label.kind, where});
      if (inserted)
        continue;
      const LabelUse &first = it->second;
      if (first.size != size)
        return fail() << "label '" << label.name << "' is " << first.size
                      << " in " << first.where << " but " << size << " in "
                      << where;
      if (first.kind != label.kind)
        return fail() << "label '" << label.name << "' is '"
                      << DimLabel{label.name, first.kind}.str() << "' in "
                      << first.where << " but '" << label.str() << "' in "
                      << where;
    }
  }
  return success();
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
  llvm::StringMap<LabelUse> uses;
  if (failed(checkSide(op, text, annotation->inputs, op->getOperandTypes(),
                       "operand", uses)))
    return failure();
  // A reduced label sums over its dimension, so no result can keep it; check
  // before the results are recorded so the message names the culprit.
  for (auto [index, list] : llvm::enumerate(annotation->outputs))
    for (const DimLabel &label : list)
      if (label.kind == DimLabel::Reduced ||
          (label.kind != DimLabel::Broadcast && uses.count(label.name) &&
           uses.lookup(label.name).kind == DimLabel::Reduced))
        return op->emitError()
               << "dimension annotation '" << text << "': reduced label '"
               << label.name << "' appears in result #" << index;
  return checkSide(op, text, annotation->outputs, op->getResultTypes(),
                   "result", uses);
}
