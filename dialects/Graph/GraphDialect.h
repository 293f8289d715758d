//===- GraphDialect.h - graph dialect declarations --------------*- C++ -*-===//
//
// Entry header for the graph dialect: the dialect, its interfaces and ops.
//
//===----------------------------------------------------------------------===//

#ifndef SS_DIALECTS_GRAPH_GRAPHDIALECT_H
#define SS_DIALECTS_GRAPH_GRAPHDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "Graph/GraphDialect.h.inc"

namespace ss::graph {
/// Marks a constant that was an ONNX initializer (a parameter candidate).
inline constexpr llvm::StringLiteral kInitializerAttr = "ss.initializer";
} // namespace ss::graph
#include "Graph/GraphInterfaces.h.inc"

#define GET_OP_CLASSES
#include "Graph/GraphOps.h.inc"

#endif // SS_DIALECTS_GRAPH_GRAPHDIALECT_H
