//===- RankFunctions.h - the per-rank form of a program ---------*- C++ -*-===//
//
// What dist-split-ranks produces and memory planning and emission read: one
// function `@rank<N>` per rank, the attribute names that describe the world,
// and how a rank function reads a box of a model input.
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_CODEGEN_RANKFUNCTIONS_H
#define SS_COMPILER_CODEGEN_RANKFUNCTIONS_H

#include "Dist/DistDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace ss {

/// World size, output rank and plan description (see DistDialect.h).
using dist::kOutputDeviceAttr;
using dist::kPlanAttr;
using dist::kWorldSizeAttr;
/// On each rank function: the world rank it is the program of.
inline constexpr const char *kRankAttr = "dist.rank";

inline std::string rankFunctionName(int64_t rank) {
  return "rank" + std::to_string(rank);
}

/// The functions of every rank in rank order: `@rank0..@rank<N-1>` of a
/// split module, or the single function of a module that was never
/// partitioned (world size 1). Fails with an error on the module otherwise.
inline mlir::LogicalResult
collectRankFunctions(mlir::ModuleOp module,
                     llvm::SmallVectorImpl<mlir::func::FuncOp> &ranks) {
  auto world = module->getAttrOfType<mlir::IntegerAttr>(kWorldSizeAttr);
  if (!world) {
    auto funcs = llvm::to_vector(module.getOps<mlir::func::FuncOp>());
    if (funcs.size() != 1)
      return module.emitError()
             << "a module without '" << kWorldSizeAttr
             << "' must hold exactly one function, found " << funcs.size();
    if (funcs.front()->hasAttr(kWorldSizeAttr))
      return funcs.front().emitError(
          "this function holds every device's work; run dist-split-ranks");
    ranks.push_back(funcs.front());
    return mlir::success();
  }
  for (int64_t rank = 0; rank < world.getInt(); ++rank) {
    auto func = module.lookupSymbol<mlir::func::FuncOp>(rankFunctionName(rank));
    if (!func)
      return module.emitError()
             << "world of " << world.getInt() << " ranks but no function @"
             << rankFunctionName(rank);
    ranks.push_back(func);
  }
  return mlir::success();
}

/// The `dist.slice` through which a rank function reads the box of a model
/// input, when that is the argument's only use (the form dist-split-ranks
/// leaves); null otherwise (the argument is read whole, or not at all).
inline dist::SliceOp inputBoxRead(mlir::BlockArgument arg) {
  if (!arg.hasOneUse())
    return nullptr;
  return llvm::dyn_cast<dist::SliceOp>(*arg.getUsers().begin());
}

/// True when `value` holds a model input as the program receives it: an
/// argument read whole, or the box a rank reads of one.
inline bool isModelInput(mlir::Value value) {
  if (llvm::isa<mlir::BlockArgument>(value))
    return true;
  auto slice = value.getDefiningOp<dist::SliceOp>();
  if (!slice)
    return false;
  auto arg = llvm::dyn_cast<mlir::BlockArgument>(slice.getInput());
  return arg && inputBoxRead(arg) == slice;
}

/// The value holding argument `arg` in the arena: its box read, or itself.
inline mlir::Value inputStorage(mlir::BlockArgument arg) {
  if (dist::SliceOp read = inputBoxRead(arg))
    return read.getResult();
  return arg;
}

} // namespace ss

#endif // SS_COMPILER_CODEGEN_RANKFUNCTIONS_H
