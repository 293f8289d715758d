//===- Primitives.h - op-trans, op-assign, op-order -------------*- C++ -*-===//
//
// The three plan primitives of SuperScaler. Built-in policies, plan files
// and out-of-tree plan passes all build plans with these functions only.
//
//  - opTrans splits an op into sub-ops on sub-tensors. The algorithm names a
//    dimension of one tensor operand; which dimensions of the other operands
//    and results follow comes from the op's dimension annotation, so no op
//    has partition code of its own.
//  - opAssign binds a sub-op to a device.
//  - opOrder makes one op happen before another on every device running
//    both.
//
// In the IR, a sub-op reads its operands through `dist.require` (the piece
// of the full tensor it needs) and its results feed a `dist.assemble` (the
// piece of the full result it produces). The dependency pass later turns
// those into communication.
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_PLAN_PRIMITIVES_H
#define SS_COMPILER_PLAN_PRIMITIVES_H

#include "mlir/IR/Operation.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace ss::plan {

/// How op-trans splits an op (nnScaler's partition algorithms).
struct PartitionAlgo {
  enum Kind {
    /// Split dimension `dim` of tensor operand `operand` into `parts`
    /// contiguous chunks; every dimension with the same (spatial) label
    /// follows.
    SplitDim,
    /// Split the reduced dimension `dim` of operand `operand`; every sub-op
    /// produces a partial sum (value part) of each result.
    SplitReduction,
    /// `parts` copies of the op, each computing the whole result.
    Replicate,
  };
  Kind kind = Replicate;
  int64_t operand = 0;
  int64_t dim = 0;
  int64_t parts = 1;

  static PartitionAlgo splitDim(int64_t operand, int64_t dim, int64_t parts) {
    return {SplitDim, operand, dim, parts};
  }
  static PartitionAlgo splitReduction(int64_t operand, int64_t dim,
                                      int64_t parts) {
    return {SplitReduction, operand, dim, parts};
  }
  static PartitionAlgo replicate(int64_t parts) {
    return {Replicate, 0, 0, parts};
  }

  /// `split-dim(0, 1, 4)`, `split-reduction(0, 2, 2)`, `replicate(2)`.
  std::string str() const;
};

/// op-trans: replaces `op` (an original op or a sub-op) by `algo.parts`
/// sub-ops and returns them in piece order. Refuses, with an error on the op
/// naming the numbers, an algorithm the annotation forbids or a split that
/// does not divide evenly; the IR is unchanged then.
mlir::FailureOr<llvm::SmallVector<mlir::Operation *>>
opTrans(mlir::Operation *op, const PartitionAlgo &algo);

/// Whether the annotation allows `algo` on `op` and the split divides
/// evenly, without changing anything; `why` says why not.
mlir::LogicalResult checkTrans(mlir::Operation *op, const PartitionAlgo &algo,
                               std::string &why);

/// op-assign: runs `op` (a sub-op, or an original op, which op-trans then
/// wraps as a single piece) on `device`.
mlir::LogicalResult opAssign(mlir::Operation *op, int64_t device);

/// op-order: `before` happens before `after` on every device that runs
/// both. Checked and enforced by the dist-schedule pass.
void opOrder(mlir::Operation *before, mlir::Operation *after);

/// True for ops a plan decides on: graph ops other than constants,
/// variables and assigns, whether original or sub-ops. Constants and model
/// inputs are available on every device and are never placed; variables
/// are held wherever their readers run, and assigns update every copy.
bool isPlannable(mlir::Operation *op);

/// True when `op` is already a sub-op (reads through dist.require).
bool isSubOp(mlir::Operation *op);

/// A stable id of the original op a sub-op came from (`dist.origin`).
int64_t originOf(mlir::Operation *op);

/// The ONNX node behind a location; a fused location lists every node,
/// joined by " + ". "" when the location names none.
std::string nodeName(mlir::Location loc);

/// The ONNX node name of an op: its location's, else its `ss.names`
/// attribute (ops built without a name location), else "".
std::string nodeName(mlir::Operation *op);

/// Attribute names the primitives maintain.
inline constexpr llvm::StringLiteral kOriginAttr = "dist.origin";
inline constexpr llvm::StringLiteral kUidAttr = "dist.uid";
inline constexpr llvm::StringLiteral kAfterAttr = "dist.after";
inline constexpr llvm::StringLiteral kTransAttr = "dist.trans";

} // namespace ss::plan

#endif // SS_COMPILER_PLAN_PRIMITIVES_H
