// The direct (register-blocked, no im2col) convolution kernel and the
// bias + activation pass that every convolution path finishes with.
#ifndef SSRT_CPU_CONV_DIRECT_H
#define SSRT_CPU_CONV_DIRECT_H

#include "spatial_geometry.h"
#include "ssrt/kernels.h"

#include <cstdint>

namespace ssrt {
namespace cpu {

/// dst[i] = act(src[i] + *bias) over n floats; with a null bias nothing is
/// added (so that -0 stays -0). src may equal dst.
void activateRange(const float *src, float *dst, int64_t n, const float *bias,
                   UnaryOp act, float alpha, float beta);

/// Whether the direct kernel is expected to beat im2col + sgemm for a
/// convolution with Cg input and Og output channels per group.
bool directConvPreferred(const SpatialGeometry &g, int64_t Cg, int64_t Og);

/// Convolution of x [N, C, in...] with w [O, C/group, kernel...] into
/// y [N, O, out...], bias (may be null) and activation included.
void directConv(const float *x, const float *w, const float *bias, float *y,
                const SpatialGeometry &g, int64_t N, int64_t C, int64_t O,
                int64_t group, UnaryOp act, float alpha, float beta);

} // namespace cpu
} // namespace ssrt

#endif // SSRT_CPU_CONV_DIRECT_H
