//===- DistDialect.h - dist dialect declarations ----------------*- C++ -*-===//
//
// Entry header for the dist dialect: sub-tensor attribute, ops, and the
// names of the attributes it places on other dialects' ops.
//
//===----------------------------------------------------------------------===//

#ifndef SS_DIALECTS_DIST_DISTDIALECT_H
#define SS_DIALECTS_DIST_DISTDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <optional>

#include "Dist/DistDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "Dist/DistAttrs.h.inc"

#define GET_OP_CLASSES
#include "Dist/DistOps.h.inc"

namespace ss::dist {

/// The discardable attribute binding a graph op to a device (op-assign).
constexpr llvm::StringLiteral kDeviceAttr = "dist.device";
/// Number of ranks: on the partitioned function, and on the module once
/// it is split into rank functions.
constexpr llvm::StringLiteral kWorldSizeAttr = "dist.world_size";
/// The rank that holds (and writes) the model outputs.
constexpr llvm::StringLiteral kOutputDeviceAttr = "dist.output_device";
/// The plan in words (`dp=2,tp=2`, a plan file, a plugin's description),
/// on the module.
constexpr llvm::StringLiteral kPlanAttr = "dist.plan";

/// On a device's `graph.variable` read and `graph.assign`: the piece
/// (#dist.sub) of the variable the device holds. A device keeps one copy of
/// each distinct piece its ops read; assigns update each.
constexpr llvm::StringLiteral kPieceAttr = "dist.piece";

/// The device an op runs on: `dist.device` on graph ops, the `device`
/// attribute of dist ops. None for unassigned ops and for constants, which
/// every device can materialize.
std::optional<int64_t> deviceOf(mlir::Operation *op);

/// The device group of a communication op (a collective's members, or the
/// two ends of a send/recv); empty for local ops.
llvm::SmallVector<int64_t> commGroupOf(mlir::Operation *op);

/// True for ops that exchange data between devices.
bool isCommunication(mlir::Operation *op);

} // namespace ss::dist

#endif // SS_DIALECTS_DIST_DISTDIALECT_H
