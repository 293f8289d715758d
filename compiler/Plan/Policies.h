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
  /// `dp=2,tp=2`; empty when both degrees are 1.
  std::string str() const;
};

/// Parses `dp=N`, `tp=N` or both, comma-separated; "" is dp=1,tp=1.
mlir::FailureOr<PolicySpec> parsePolicy(llvm::StringRef text);

/// Splits the batch dimension: dim 0 of the model inputs whose dim 0 is
/// the batch, followed through every op whose annotation keeps it. Ops the
/// batch does not reach are absent from the result (replicated).
llvm::DenseMap<mlir::Operation *, PartitionAlgo>
planDataParallel(mlir::func::FuncOp func, llvm::ArrayRef<mlir::Operation *> ops,
                 int64_t degree);

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
