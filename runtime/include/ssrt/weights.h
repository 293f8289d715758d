// Weights-file integrity: the FNV-1a 64 checksum the compiler records in the
// program and the runtime verifies before running.
#ifndef SSRT_WEIGHTS_H
#define SSRT_WEIGHTS_H

#include <cstddef>
#include <cstdint>

namespace ssrt {

constexpr uint64_t kFnv1a64OffsetBasis = 0xcbf29ce484222325ull;
constexpr uint64_t kFnv1a64Prime = 0x100000001b3ull;

/// FNV-1a 64 of n bytes. Pass a previous result as `hash` to continue a
/// checksum over data read in pieces.
uint64_t fnv1a64(const void *data, size_t n,
                 uint64_t hash = kFnv1a64OffsetBasis);

} // namespace ssrt

#endif // SSRT_WEIGHTS_H
