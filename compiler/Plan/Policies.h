//===- Policies.h - built-in parallelization policies -----------*- C++ -*-===//
//
// Data parallelism and Megatron-style tensor parallelism, decided from
// dimension annotations alone. A policy only decides; ApplyPlan applies the
// decisions with the primitives.
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_PLAN_POLICIES_H
#define SS_COMPILER_PLAN_POLICIES_H

#include "Plan/Primitives.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"

namespace ss::plan {

/// The degrees of a `--plan` string such as `dp=2,tp=2`.
struct PolicySpec {
  int64_t dp = 1, tp = 1;
  /// ZeRO stage (0: off): with 1 or 2, the optimizer updates, and so the
  /// optimizer state, are sharded over the data-parallel ranks.
  int64_t zero = 0;
  /// `dp=2,tp=2,zero=1`; empty when both degrees are 1 and ZeRO is off.
  std::string str() const;
};

/// Parses `dp=N`, `tp=N` and `zero=S` (S in 0..2), comma-separated; "" is
/// dp=1,tp=1.
mlir::FailureOr<PolicySpec> parsePolicy(llvm::StringRef text);

/// Splits the batch dimension: dim 0 of the model inputs whose dim 0 is
/// the batch, followed through every op whose annotation keeps it. An op
/// that reduces over the batch (a weight gradient) is split by reduction:
/// each rank holds a partial sum, which the dependency pass all-reduces
/// (or reduce-scatters) where a full value is needed. Ops the batch does
/// not reach are absent from the result (replicated).
llvm::DenseMap<mlir::Operation *, PartitionAlgo>
planDataParallel(mlir::func::FuncOp func, llvm::ArrayRef<mlir::Operation *> ops,
                 int64_t degree);

/// ZeRO: each optimizer update is split over the `dp` data-parallel ranks
/// along the first dim of its parameter that divides evenly (after the
/// tensor-parallel split `tp` already makes of it), so each rank updates,
/// and keeps optimizer state for, 1/dp of every parameter. Gradients then
/// arrive by reduce-scatter and updated parameters leave by all-gather.
/// Parameters with no such dim stay replicated. Stage 2 also shards the
/// sums of gradients over microbatches.
llvm::DenseMap<mlir::Operation *, PartitionAlgo>
planZeroOptimizer(llvm::ArrayRef<mlir::Operation *> ops, int64_t dp,
                  const llvm::DenseMap<mlir::Operation *, PartitionAlgo> &tp,
                  int64_t tpDegree, int64_t stage);

/// Megatron tensor parallelism: a MatMul/Gemm with a constant weight is
/// split column-wise (the weight's output dim) when everything its split
/// output reaches stays split on the same label until a MatMul splits its
/// reduction over it (row-parallel), so each such region costs exactly one
/// all-reduce. Attention heads follow through reshape, transpose, softmax
/// and the score/context MatMuls. Regions that would leak a split value
/// into an unsplittable op or a model output are not split.
llvm::DenseMap<mlir::Operation *, PartitionAlgo>
planMegatronTensorParallel(mlir::func::FuncOp func,
                           llvm::ArrayRef<mlir::Operation *> ops,
                           int64_t degree);

} // namespace ss::plan

#endif // SS_COMPILER_PLAN_POLICIES_H
