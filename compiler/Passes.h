//===- Passes.h - SuperScaler pass declarations -----------------*- C++ -*-===//
//
// Declares every compiler pass (generated from Passes.td) and the
// registration hook the tools call.
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_PASSES_H
#define SS_COMPILER_PASSES_H

#include "Dist/DistDialect.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace ss {

#define GEN_PASS_DECL
#include "Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "Passes.h.inc"

} // namespace ss

#endif // SS_COMPILER_PASSES_H
