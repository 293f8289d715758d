//===- Autodiff.h - names the training passes share -------------*- C++ -*-===//
//
// Attribute and variable-name conventions of the training step, shared by
// the autodiff passes, the emitter and the checkpoint export.
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_AUTODIFF_AUTODIFF_H
#define SS_COMPILER_AUTODIFF_AUTODIFF_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"

namespace ss {

/// Marks an op the autodiff pass built for the backward pass.
inline constexpr llvm::StringLiteral kBackwardAttr = "ss.backward";
/// Marks an add that sums a value's gradient over microbatches (ZeRO-2
/// shards these sums like the optimizer update they feed).
inline constexpr llvm::StringLiteral kAccumulateAttr = "ss.accumulate";
/// Marks a forward op cloned into the backward pass by train-recompute.
inline constexpr llvm::StringLiteral kRecomputeAttr = "ss.recompute";

/// Optimizer state variables are named after their parameter.
inline constexpr llvm::StringLiteral kAdamMSuffix = ".adam_m";
inline constexpr llvm::StringLiteral kAdamVSuffix = ".adam_v";
inline constexpr llvm::StringLiteral kMomentumSuffix = ".momentum";
/// With optimizer=none, gradients are results named after their variable.
inline constexpr llvm::StringLiteral kGradSuffix = ".grad";

/// The one function a training pass works on; an error on `module`
/// otherwise.
mlir::FailureOr<mlir::func::FuncOp> trainingFunction(mlir::ModuleOp module);

/// graph.reduce_sum of `v` over every axis (`v` itself when it is a
/// scalar). reduce_sum splits by reduction, so under a data- or
/// tensor-parallel plan it becomes partial sums and one all-reduce.
mlir::Value sumAll(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v);

/// A float32 scalar graph.constant.
mlir::Value scalarConstant(mlir::OpBuilder &b, mlir::Location loc,
                           double value);

/// Recomputes one group of forward ops of a training step in its backward
/// pass (train-recompute; plan files' `recompute` lines). `group` is a
/// node-name glob or FIRST..LAST. Errors are reported on `func`.
mlir::LogicalResult recomputeGroup(mlir::func::FuncOp func,
                                   llvm::StringRef group);

} // namespace ss

#endif // SS_COMPILER_AUTODIFF_AUTODIFF_H
