//===- MemoryPlan.h - arena planning over the graph -------------*- C++ -*-===//
//
// Shared facts of memory planning that the emitter reads back: which values
// are views of others, and the attribute names the pass writes.
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_CODEGEN_MEMORYPLAN_H
#define SS_COMPILER_CODEGEN_MEMORYPLAN_H

#include "mlir/IR/Value.h"

namespace ss {

/// Per-op attribute: one arena byte offset per result; -1 marks a result
/// stored in the weights blob (constants and views of constants).
inline constexpr const char *kOffsetsAttr = "ss.offsets";
/// Function attributes written by graph-plan-memory.
inline constexpr const char *kArenaBytesAttr = "ss.arena_bytes";
inline constexpr const char *kInputOffsetsAttr = "ss.input_offsets";
inline constexpr const char *kOutputOffsetsAttr = "ss.output_offsets";
/// Function attribute: bytes live in the arena at the step where the most
/// are, as [total, forward activations, backward (gradients and other
/// values of the backward pass and optimizer)].
inline constexpr const char *kPeakLiveAttr = "ss.peak_live_bytes";

/// Follows view ops (reshape) to the value that owns the storage.
mlir::Value storageRoot(mlir::Value value);

/// True when `value` is a view that shares its operand's storage.
bool isView(mlir::Value value);

/// True for values stored in the weights blob: constants, and variables
/// (training state, which a step updates in place).
bool isWeightsRoot(mlir::Value root);

/// For an optimizer result that can be written straight into its
/// variable's storage, that variable's read (`graph.variable`); else null.
/// It can when the result's only use assigns it to the variable the
/// matching operand reads, and the optimizer op comes after every other
/// read of that variable. The assign then needs no copy.
mlir::Value inPlaceVariable(mlir::Value result);

} // namespace ss

#endif // SS_COMPILER_CODEGEN_MEMORYPLAN_H
