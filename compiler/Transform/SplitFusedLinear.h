//===- SplitFusedLinear.h - one linear per part of a split output -*- C++
//-*-===//
//
// The rewrite behind the graph-split-fused-linear pass, callable from
// policies (see Passes.td for what it does and why).
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_TRANSFORM_SPLITFUSEDLINEAR_H
#define SS_COMPILER_TRANSFORM_SPLITFUSEDLINEAR_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace ss {

/// Rewrites every fused linear in `func`; returns how many were split.
int64_t splitFusedLinears(mlir::func::FuncOp func);

} // namespace ss

#endif // SS_COMPILER_TRANSFORM_SPLITFUSEDLINEAR_H
