//===- DimAnnotation.h - parsed dimension annotations ----------*- C++ -*-===//
//
// The parsed form of the annotations graph ops return through
// DimAnnotationOpInterface (`b m k+, b k+ n -> b m n`), and the check that an
// annotation agrees with an op's operand and result shapes. The partitioning
// stage derives every op's split algorithms from this form.
//
//===----------------------------------------------------------------------===//

#ifndef SS_DIALECTS_GRAPH_DIMANNOTATION_H
#define SS_DIALECTS_GRAPH_DIMANNOTATION_H

#include "mlir/IR/Operation.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace ss::graph {

/// One dimension of one tensor in an annotation.
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

/// One label list per tensor operand (absent optional operands are skipped)
/// and per result, in order.
///
/// A rank-0 tensor has an empty list, so an empty side reads as either no
/// tensors or one scalar; `parse` yields no lists and verifyDimAnnotation
/// accepts either reading.
struct DimAnnotation {
  llvm::SmallVector<llvm::SmallVector<DimLabel>> inputs, outputs;

  /// Parses `lists -> lists`, where lists are comma-separated and labels in a
  /// list are space-separated. On failure, `error` (if given) says why.
  static mlir::FailureOr<DimAnnotation> parse(llvm::StringRef text,
                                              std::string *error = nullptr);

  /// The canonical text: `a b+, b+ c -> a c`.
  std::string str() const;
};

/// Produces fresh labels in order: a, b, ..., z, then a0, b0, ..., z0, a1, ...
class DimLabelNames {
public:
  std::string next();

private:
  unsigned count = 0;
};

/// Checks the annotation an op returns through DimAnnotationOpInterface
/// against its types: one list per tensor operand and result with matching
/// ranks, each label one size everywhere and one kind everywhere, reduced
/// labels absent from the results, and `1` only on size-1 dimensions. Emits
/// an error on the op on failure. Ops without the interface pass.
mlir::LogicalResult verifyDimAnnotation(mlir::Operation *op);

} // namespace ss::graph

#endif // SS_DIALECTS_GRAPH_DIMANNOTATION_H
