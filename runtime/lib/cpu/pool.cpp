// Max and average pooling over 1-3 spatial dims, one independent plane per
// (batch, channel).
#include "spatial_geometry.h"
#include "ssrt/kernels.h"
#include "strided_iteration.h"

#include <limits>
#include <vector>

namespace ssrt {

using cpu::SpatialGeometry;
using cpu::validRange;

void maxPool(const float *x, float *y, int spatialRank, const int64_t *xShape,
             const int64_t *yShape, const int64_t *kernel,
             const int64_t *strides, const int64_t *padsBegin,
             const int64_t *dilations) {
  SpatialGeometry g(spatialRank, xShape + 2, yShape + 2, kernel, strides,
                    padsBegin, dilations);
  const int64_t planes = xShape[0] * xShape[1];
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
  // Per output column, the kernel-width taps that land inside the input;
  // computed once instead of testing bounds for every tap.
  std::vector<int64_t> wLo(static_cast<size_t>(OW)), wHi(wLo.size());
  for (int64_t ow = 0; ow < OW; ++ow)
    validRange(g.kernel[2], g.dilation[2], ow * g.stride[2] - g.pad[2],
               g.in[2], wLo[ow], wHi[ow]);
  cpu::parallelRanges(planes, g.outSize * g.kernelSize, [&](int64_t begin,
                                                            int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const float *plane = x + p * g.inSize;
      float *out = y + p * g.outSize;
      for (int64_t od = 0; od < OD; ++od) {
        int64_t dStart = od * g.stride[0] - g.pad[0], dLo, dHi;
        validRange(g.kernel[0], g.dilation[0], dStart, g.in[0], dLo, dHi);
        for (int64_t oh = 0; oh < OH; ++oh) {
          int64_t hStart = oh * g.stride[1] - g.pad[1], hLo, hHi;
          validRange(g.kernel[1], g.dilation[1], hStart, g.in[1], hLo, hHi);
          for (int64_t ow = 0; ow < OW; ++ow) {
            const int64_t wStart = ow * g.stride[2] - g.pad[2];
            float best = std::numeric_limits<float>::lowest();
            for (int64_t kd = dLo; kd < dHi; ++kd) {
              int64_t id = dStart + kd * g.dilation[0];
              for (int64_t kh = hLo; kh < hHi; ++kh) {
                int64_t ih = hStart + kh * g.dilation[1];
                const float *row = plane + (id * g.in[1] + ih) * g.in[2];
                for (int64_t kw = wLo[ow]; kw < wHi[ow]; ++kw) {
                  float v = row[wStart + kw * g.dilation[2]];
                  if (v > best)
                    best = v;
                }
              }
            }
            out[(od * OH + oh) * OW + ow] = best;
          }
        }
      }
    }
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
  const int64_t planes = xShape[0] * xShape[1];
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];

  // Window [start, end) along one dim, clipped to the input; `counted` is the
  // divisor's extent: clipped to the padded input with countIncludePad (so
  // ceil-mode overhang past the end padding is not counted), else the input.
  auto window = [&](int d, int64_t o, int64_t &lo, int64_t &hi,
                    int64_t &counted) {
    int64_t start = o * g.stride[d] - g.pad[d];
    int64_t end = start + g.kernel[d];
    lo = start < 0 ? 0 : start;
    hi = end > g.in[d] ? g.in[d] : end;
    if (countIncludePad) {
      int64_t paddedEnd = g.in[d] + padEnd[d];
      counted = (end < paddedEnd ? end : paddedEnd) - start;
    } else {
      counted = hi - lo;
    }
  };
  std::vector<int64_t> wLo(static_cast<size_t>(OW)), wHi(wLo.size()),
      wCount(wLo.size());
  for (int64_t ow = 0; ow < OW; ++ow)
    window(2, ow, wLo[ow], wHi[ow], wCount[ow]);

  cpu::parallelRanges(planes, g.outSize * g.kernelSize, [&](int64_t begin,
                                                            int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const float *plane = x + p * g.inSize;
      float *out = y + p * g.outSize;
      for (int64_t od = 0; od < OD; ++od) {
        int64_t dLo, dHi, dCount;
        window(0, od, dLo, dHi, dCount);
        for (int64_t oh = 0; oh < OH; ++oh) {
          int64_t hLo, hHi, hCount;
          window(1, oh, hLo, hHi, hCount);
          for (int64_t ow = 0; ow < OW; ++ow) {
            float sum = 0.0f;
            for (int64_t id = dLo; id < dHi; ++id)
              for (int64_t ih = hLo; ih < hHi; ++ih) {
                const float *row = plane + (id * g.in[1] + ih) * g.in[2];
                for (int64_t iw = wLo[ow]; iw < wHi[ow]; ++iw)
                  sum += row[iw];
              }
            int64_t count = dCount * hCount * wCount[ow];
            out[(od * OH + oh) * OW + ow] =
                count > 0 ? sum / static_cast<float>(count) : 0.0f;
          }
        }
      }
    }
  });
}

} // namespace ssrt
