//===- SliceElements.h - compile-time slices of constants -------*- C++ -*-===//
//
// Cuts a box out of a dense constant. The dependency pass uses it to give
// each rank only its slice of a weight; the fused-linear split uses it to
// divide a weight by output column.
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_TRANSFORM_SLICEELEMENTS_H
#define SS_COMPILER_TRANSFORM_SLICEELEMENTS_H

#include "mlir/IR/BuiltinAttributes.h"

namespace ss {

/// The box of `value` at `offsets` with `sizes` (one entry per dim).
mlir::DenseElementsAttr sliceElements(mlir::DenseElementsAttr value,
                                      llvm::ArrayRef<int64_t> offsets,
                                      llvm::ArrayRef<int64_t> sizes);

} // namespace ss

#endif // SS_COMPILER_TRANSFORM_SLICEELEMENTS_H
