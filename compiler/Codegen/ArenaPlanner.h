//===- ArenaPlanner.h - static arena placement ------------------*- C++ -*-===//
//
// Places buffers with known sizes and live ranges into one arena so that
// buffers alive at the same time never overlap. Free of MLIR so it can be
// unit-tested and reused by every target.
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_CODEGEN_ARENAPLANNER_H
#define SS_COMPILER_CODEGEN_ARENAPLANNER_H

#include <cstdint>
#include <vector>

namespace ss {

/// A buffer alive over the closed step interval [firstUse, lastUse].
struct BufferRequest {
  int64_t bytes;
  int64_t firstUse;
  int64_t lastUse;
};

struct ArenaPlan {
  std::vector<int64_t> offsets; // one per request, aligned
  int64_t totalBytes = 0;       // the arena size: max over offset + bytes
};

/// Greedy best-fit: larger (then earlier) buffers are placed first, each
/// at the lowest aligned offset that overlaps no placed buffer whose live
/// range intersects its own.
ArenaPlan planArena(const std::vector<BufferRequest> &requests,
                    int64_t alignment);

} // namespace ss

#endif // SS_COMPILER_CODEGEN_ARENAPLANNER_H
