// The one gather-copy behind transpose, slice and broadcastTo: a contiguous
// destination filled from a source walked with arbitrary element strides.
#ifndef SSRT_CPU_STRIDED_COPY_H
#define SSRT_CPU_STRIDED_COPY_H

#include <cstddef>
#include <cstdint>

namespace ssrt {
namespace cpu {

/// dst[i...] = src[sum(i[d] * srcStrides[d])] for every index of `shape`;
/// strides are in elements and may be 0 (broadcast) or negative.
void copyStrided(const void *src, const int64_t *srcStrides, void *dst,
                 const int64_t *shape, int rank, size_t elemSize);

} // namespace cpu
} // namespace ssrt

#endif // SSRT_CPU_STRIDED_COPY_H
