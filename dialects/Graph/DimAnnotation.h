//===- DimAnnotation.h - parsed dimension annotations ----------*- C++ -*-===//
//
// The parsed form of the annotations graph ops return through
// DimAnnotationOpInterface (`b m k+, b k+ n -> b m n`), the check that an
// annotation agrees with an op's shapes, and what splitting one label n ways
// does to each tensor. The partitioning stage derives every op's split
// algorithms from these.
//
//===----------------------------------------------------------------------===//

#ifndef SS_DIALECTS_GRAPH_DIMANNOTATION_H
#define SS_DIALECTS_GRAPH_DIMANNOTATION_H

#include "mlir/IR/Operation.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace ss::graph {

/// One label of an annotation.
struct DimLabel {
  enum Kind {
    /// `a`: splittable; every piece of the op keeps a slice of it.
    Spatial,
    /// `a+`: splittable by reduction; the outputs become partial sums.
    Reduced,
    /// `a^`: cannot be split; every piece needs the whole dimension.
    Frozen,
    /// `1`: a size-1 dimension broadcast against a larger one elsewhere.
    Broadcast,
  };

  /// The label (`m`, `a0`); empty for Broadcast, which names no dimension.
  std::string name;
  Kind kind = Spatial;

  /// The label as written in an annotation: `m`, `k+`, `h^` or `1`.
  std::string str() const;
  bool operator==(const DimLabel &other) const {
    return name == other.name && kind == other.kind;
  }
};

/// One dimension of one tensor: a single label (`a`, `1`), or a group
/// `(a b^ c^)` of two or more labels whose sizes multiply to the dimension's
/// size, the first (the head) major. Only the head may be splittable: the
/// k-th of n contiguous chunks of the head is then the k-th contiguous chunk
/// of the dimension, which is not so for any later label.
struct AnnotatedDim {
  llvm::SmallVector<DimLabel, 1> labels;

  AnnotatedDim(DimLabel label) : labels{std::move(label)} {}
  explicit AnnotatedDim(llvm::ArrayRef<DimLabel> group)
      : labels(group.begin(), group.end()) {}

  bool isGroup() const { return labels.size() > 1; }
  /// The label that splits the dimension: the label itself, or a group's
  /// first label.
  const DimLabel &head() const { return labels.front(); }
  /// `a`, `k+`, `1` or `(a b^ c^)`.
  std::string str() const;
  bool operator==(const AnnotatedDim &other) const {
    return labels == other.labels;
  }
};

/// The dimensions of one tensor, outermost first.
using AnnotatedTensor = llvm::SmallVector<AnnotatedDim>;

/// One dimension list per tensor operand (absent optional operands are
/// skipped) and per result, in order.
///
/// A rank-0 tensor has an empty list, so an empty side reads as either no
/// tensors or one scalar; `parse` yields no lists and the functions below
/// that take shapes accept either reading.
struct DimAnnotation {
  llvm::SmallVector<AnnotatedTensor> inputs, outputs;

  /// Parses `lists -> lists`, where lists are comma-separated and dims in a
  /// list are space-separated; a dim is a label or a parenthesised group of
  /// labels whose labels after the first are frozen. On failure, `error`
  /// (if given) says why.
  static mlir::FailureOr<DimAnnotation> parse(llvm::StringRef text,
                                              std::string *error = nullptr);

  /// The canonical text: `a b+, b+ c -> a c`, `a (b c^) -> a b c^`.
  std::string str() const;

  /// The label that splits dim `dim` of operand `input` (of result
  /// `output`): the dim's label, or its group's head. Both indices must be
  /// in range.
  const DimLabel &inputLabel(unsigned input, unsigned dim) const {
    return inputs[input][dim].head();
  }
  const DimLabel &outputLabel(unsigned output, unsigned dim) const {
    return outputs[output][dim].head();
  }

  /// Every named label once, in order of first appearance (operands first).
  llvm::SmallVector<DimLabel> labels() const;
};

/// Produces fresh labels in order: a, b, ..., z, then a0, b0, ..., z0, a1, ...
class DimLabelNames {
public:
  std::string next();

private:
  unsigned count = 0;
};

/// Checks `annotation` against the shapes of an op's tensor operands and
/// results and returns every named label's size. Checks: one list per
/// tensor with one dim per tensor dim; no label twice in a tensor; each label
/// one kind everywhere; no reduced label in a result and every spatial
/// label in some result; `1` only on size-1 dims; a label standing alone as
/// a dim has that dim's size, a group's labels multiply to its dim's size,
/// and a label that only appears in groups takes its size from a group in
/// which every other label's size is known. On failure, `error` (if given)
/// says why, naming the labels, tensors and sizes involved.
mlir::FailureOr<llvm::StringMap<int64_t>>
resolveLabelSizes(const DimAnnotation &annotation,
                  llvm::ArrayRef<llvm::ArrayRef<int64_t>> inputShapes,
                  llvm::ArrayRef<llvm::ArrayRef<int64_t>> outputShapes,
                  std::string *error = nullptr);

/// Checks the annotation an op returns through DimAnnotationOpInterface
/// against its types (see resolveLabelSizes). Emits an error on the op on
/// failure. Ops without the interface pass.
mlir::LogicalResult verifyDimAnnotation(mlir::Operation *op);

/// How one tensor of an op is divided when one label is split n ways.
struct TensorSplit {
  /// Per dim: n where the dim is the label or a group headed by it (cut
  /// into n contiguous chunks, piece k taking chunk k), else 1 (whole).
  llvm::SmallVector<int64_t> dimChunks;
  /// n where each piece holds one of n partial sums of the tensor instead
  /// of a slice: every result when a reduced label is split, and every
  /// operand that lacks it (the op adds it into its result, as a bias), so
  /// that the pieces add up to the whole op. Else 1.
  int64_t valueParts = 1;

  bool isWhole() const {
    return valueParts == 1 &&
           llvm::all_of(dimChunks, [](int64_t n) { return n == 1; });
  }
};

/// What splitting one label of an op's annotation n ways does to each of the
/// op's tensors; the op's n pieces are the same op on the pieces' tensors.
struct PieceSplit {
  /// The label split, with its kind (Spatial or Reduced when `count` > 1).
  DimLabel label;
  /// The label's size in the whole op, a multiple of `count`.
  int64_t size = 0;
  /// The number of pieces, n.
  int64_t count = 1;
  /// One entry per tensor operand and result, in order.
  llvm::SmallVector<TensorSplit> inputs, outputs;
};

/// Splits label `label` of `annotation` n ways, for an op whose tensor
/// operands and results have the given shapes. Fails, saying why in `error`
/// (if given), when the annotation does not fit the shapes (as
/// resolveLabelSizes), when no dim carries the label, when n < 1, when the
/// label is frozen and n > 1, or when n does not divide the label's size
/// (the message names the label, its size and n).
mlir::FailureOr<PieceSplit>
splitLabel(const DimAnnotation &annotation,
           llvm::ArrayRef<llvm::ArrayRef<int64_t>> inputShapes,
           llvm::ArrayRef<llvm::ArrayRef<int64_t>> outputShapes,
           llvm::StringRef label, int64_t n, std::string *error = nullptr);

/// splitLabel for `op`'s annotation and its operand and result types (ranked
/// tensors). Fails, saying why in `error`, also when the op has no
/// annotation or its annotation does not parse.
mlir::FailureOr<PieceSplit> splitLabel(mlir::Operation *op,
                                       llvm::StringRef label, int64_t n,
                                       std::string *error = nullptr);

/// Re-runs `op`'s type inference (InferTypeOpInterface) on its current
/// operands and attributes and checks that it yields the op's result types;
/// after cloning an op for one piece and calling adaptAttributesToTypes,
/// this confirms the piece is a well-formed op. Emits an error on the op
/// naming both types on mismatch (inference errors are emitted as well).
/// Ops without InferTypeOpInterface pass.
mlir::LogicalResult checkInferredTypes(mlir::Operation *op);

} // namespace ss::graph

#endif // SS_DIALECTS_GRAPH_DIMANNOTATION_H
