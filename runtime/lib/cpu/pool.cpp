// Max and average pooling over 1-3 spatial dims, one independent plane per
// (batch, channel). Each kernel tap is applied to a whole output row at once
// (a shifted, strided input row), which vectorises along the width.
#include "lane_reductions.h"
#include "multiversion.h"
#include "spatial_geometry.h"
#include "ssrt/kernels.h"
#include "strided_iteration.h"

#include <limits>
#include <vector>

namespace ssrt {

using cpu::SpatialGeometry;
using cpu::validRange;
using cpu::WidthTaps;

namespace {

enum class PoolKind { Max, Sum };

/// Folds every valid tap of output row (od, oh) of one plane into `out`.
template <PoolKind kind>
SSRT_INLINE void poolRow(const float *plane, float *out,
                         const SpatialGeometry &g, const WidthTaps &taps,
                         int64_t od, int64_t oh) {
  const int64_t sw = g.stride[2];
  int64_t dLo, dHi, hLo, hHi;
  const int64_t dStart = od * g.stride[0] - g.pad[0];
  const int64_t hStart = oh * g.stride[1] - g.pad[1];
  validRange(g.kernel[0], g.dilation[0], dStart, g.in[0], dLo, dHi);
  validRange(g.kernel[1], g.dilation[1], hStart, g.in[1], hLo, hHi);
  for (int64_t kd = dLo; kd < dHi; ++kd) {
    const int64_t id = dStart + kd * g.dilation[0];
    for (int64_t kh = hLo; kh < hHi; ++kh) {
      const int64_t ih = hStart + kh * g.dilation[1];
      const float *row = plane + (id * g.in[1] + ih) * g.in[2];
      for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
        const float *src = row + taps.offset[kw];
        const int64_t lo = taps.lo[kw], hi = taps.hi[kw];
        if (sw == 1) {
          for (int64_t ow = lo; ow < hi; ++ow)
            out[ow] = kind == PoolKind::Max
                          ? (src[ow] > out[ow] ? src[ow] : out[ow])
                          : out[ow] + src[ow];
        } else if (sw == 2) {
          for (int64_t ow = lo; ow < hi; ++ow)
            out[ow] = kind == PoolKind::Max
                          ? (src[2 * ow] > out[ow] ? src[2 * ow] : out[ow])
                          : out[ow] + src[2 * ow];
        } else {
          for (int64_t ow = lo; ow < hi; ++ow)
            out[ow] = kind == PoolKind::Max
                          ? (src[ow * sw] > out[ow] ? src[ow * sw] : out[ow])
                          : out[ow] + src[ow * sw];
        }
      }
    }
  }
}

/// Whether the single window is exactly the unpadded input (global pooling),
/// which reduces each plane as one contiguous run.
bool coversWholeInput(const SpatialGeometry &g) {
  for (int d = 0; d < 3; ++d)
    if (g.out[d] != 1 || g.kernel[d] != g.in[d] || g.pad[d] != 0)
      return false;
  return true;
}

SSRT_MULTIVERSION
void maxPoolPlanes(const float *x, float *y, const SpatialGeometry &g,
                   const WidthTaps &taps, int64_t begin, int64_t end) {
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
  if (coversWholeInput(g)) {
    for (int64_t p = begin; p < end; ++p)
      y[p] = cpu::maxOf(x + p * g.inSize, g.inSize);
    return;
  }
  for (int64_t p = begin; p < end; ++p) {
    const float *plane = x + p * g.inSize;
    for (int64_t od = 0; od < OD; ++od)
      for (int64_t oh = 0; oh < OH; ++oh) {
        float *out = y + p * g.outSize + (od * OH + oh) * OW;
        for (int64_t ow = 0; ow < OW; ++ow)
          out[ow] = std::numeric_limits<float>::lowest();
        poolRow<PoolKind::Max>(plane, out, g, taps, od, oh);
      }
  }
}

/// `divisor` holds, per output position, the element count of its window.
SSRT_MULTIVERSION
void avgPoolPlanes(const float *x, float *y, const SpatialGeometry &g,
                   const WidthTaps &taps, const float *divisor, int64_t begin,
                   int64_t end) {
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
  if (coversWholeInput(g)) {
    for (int64_t p = begin; p < end; ++p)
      y[p] = cpu::sumOf(x + p * g.inSize, g.inSize) / divisor[0];
    return;
  }
  for (int64_t p = begin; p < end; ++p) {
    const float *plane = x + p * g.inSize;
    for (int64_t od = 0; od < OD; ++od)
      for (int64_t oh = 0; oh < OH; ++oh) {
        const int64_t rowStart = (od * OH + oh) * OW;
        float *out = y + p * g.outSize + rowStart;
        for (int64_t ow = 0; ow < OW; ++ow)
          out[ow] = 0.0f;
        poolRow<PoolKind::Sum>(plane, out, g, taps, od, oh);
        const float *div = divisor + rowStart;
        for (int64_t ow = 0; ow < OW; ++ow)
          out[ow] = out[ow] / div[ow];
      }
  }
}

} // namespace

void maxPool(const float *x, float *y, int spatialRank, const int64_t *xShape,
             const int64_t *yShape, const int64_t *kernel,
             const int64_t *strides, const int64_t *padsBegin,
             const int64_t *dilations) {
  SpatialGeometry g(spatialRank, xShape + 2, yShape + 2, kernel, strides,
                    padsBegin, dilations);
  const WidthTaps taps(g);
  const int64_t planes = xShape[0] * xShape[1];
  cpu::parallelRanges(planes, g.outSize * g.kernelSize,
                      [&](int64_t begin, int64_t end) {
                        maxPoolPlanes(x, y, g, taps, begin, end);
                      });
}

void avgPool(const float *x, float *y, int spatialRank, const int64_t *xShape,
             const int64_t *yShape, const int64_t *kernel,
             const int64_t *strides, const int64_t *padsBegin,
             const int64_t *padsEnd, bool countIncludePad) {
  SpatialGeometry g(spatialRank, xShape + 2, yShape + 2, kernel, strides,
                    padsBegin, nullptr);
  int64_t padEnd[3] = {0, 0, 0};
  for (int s = 0; s < spatialRank; ++s)
    padEnd[3 - spatialRank + s] = padsEnd ? padsEnd[s] : 0;
  // Per dim and output index, how many window positions count: those inside
  // the input, or with countIncludePad those inside the padded input (the
  // ceil-mode overhang past the end padding never counts).
  std::vector<float> counts[3];
  for (int d = 0; d < 3; ++d) {
    counts[d].resize(static_cast<size_t>(g.out[d]));
    for (int64_t o = 0; o < g.out[d]; ++o) {
      int64_t start = o * g.stride[d] - g.pad[d];
      int64_t end = start + g.kernel[d];
      int64_t n;
      if (countIncludePad) {
        int64_t paddedEnd = g.in[d] + padEnd[d];
        n = (end < paddedEnd ? end : paddedEnd) - start;
      } else {
        n = (end < g.in[d] ? end : g.in[d]) - (start > 0 ? start : 0);
      }
      counts[d][o] = static_cast<float>(n);
    }
  }
  std::vector<float> divisor(static_cast<size_t>(g.outSize));
  for (int64_t od = 0; od < g.out[0]; ++od)
    for (int64_t oh = 0; oh < g.out[1]; ++oh)
      for (int64_t ow = 0; ow < g.out[2]; ++ow)
        divisor[(od * g.out[1] + oh) * g.out[2] + ow] =
            counts[0][od] * counts[1][oh] * counts[2][ow];
  const WidthTaps taps(g);
  const int64_t planes = xShape[0] * xShape[1];
  cpu::parallelRanges(
      planes, g.outSize * g.kernelSize, [&](int64_t begin, int64_t end) {
        avgPoolPlanes(x, y, g, taps, divisor.data(), begin, end);
      });
}

} // namespace ssrt
