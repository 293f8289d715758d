//===- PieceLayouts.h - RVD layouts of dist dialect pieces ------*- C++ -*-===//
//
// The bridge between the dist dialect's sub-tensors and the MLIR-free RVD
// search (RvdLayout.h): converting pieces, and the layout attribute of a
// full tensor's assembled pieces.
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_DEPENDENCY_PIECELAYOUTS_H
#define SS_COMPILER_DEPENDENCY_PIECELAYOUTS_H

#include "Dependency/RvdLayout.h"
#include "Dist/DistDialect.h"

namespace ss::dependency {

/// The search's view of the piece `box` held on `device`.
DevicePiece devicePiece(int64_t device, dist::SubTensorAttr box);

/// The RVD layout of an assemble's pieces, devices in grid order (replicas
/// outermost, the last dim fastest); null when a piece has no device or the
/// pieces do not form a regular grid.
dist::RvdLayoutAttr layoutOf(dist::AssembleOp assemble);

} // namespace ss::dependency

#endif // SS_COMPILER_DEPENDENCY_PIECELAYOUTS_H
