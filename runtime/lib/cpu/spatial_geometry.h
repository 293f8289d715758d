// Shape bookkeeping shared by convolution and pooling: 1-3 spatial dims are
// padded to three (leading size-1 dims) so one loop nest serves them all.
#ifndef SSRT_CPU_SPATIAL_GEOMETRY_H
#define SSRT_CPU_SPATIAL_GEOMETRY_H

#include "fatal_error.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ssrt {
namespace cpu {

/// Spatial sizes and window parameters, always three dims (depth, height,
/// width); unused leading dims have size 1, stride 1, no padding.
struct SpatialGeometry {
  int64_t in[3], out[3], kernel[3], stride[3], pad[3], dilation[3];
  int64_t inSize, outSize, kernelSize; // products of in, out, kernel

  /// Any pointer argument may be null, meaning the neutral value (stride 1,
  /// pad 0, dilation 1).
  SpatialGeometry(int spatialRank, const int64_t *inShape,
                  const int64_t *outShape, const int64_t *kernelShape,
                  const int64_t *strides, const int64_t *padsBegin,
                  const int64_t *dilations) {
    if (spatialRank < 1 || spatialRank > 3)
      fatalError("ssrt: %d spatial dims (1 to 3 supported)", spatialRank);
    const int lead = 3 - spatialRank;
    for (int d = 0; d < 3; ++d) {
      int s = d - lead;
      bool used = s >= 0;
      in[d] = used ? inShape[s] : 1;
      out[d] = used ? outShape[s] : 1;
      kernel[d] = used ? kernelShape[s] : 1;
      stride[d] = used && strides ? strides[s] : 1;
      pad[d] = used && padsBegin ? padsBegin[s] : 0;
      dilation[d] = used && dilations ? dilations[s] : 1;
      if (stride[d] < 1 || dilation[d] < 1)
        fatalError("ssrt: stride and dilation must be positive");
    }
    inSize = in[0] * in[1] * in[2];
    outSize = out[0] * out[1] * out[2];
    kernelSize = kernel[0] * kernel[1] * kernel[2];
  }
};

/// The index range [lo, hi) of i in [0, count) for which
/// 0 <= i * stride + offset < limit (stride > 0).
inline void validRange(int64_t count, int64_t stride, int64_t offset,
                       int64_t limit, int64_t &lo, int64_t &hi) {
  lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int64_t top = limit - 1 - offset;
  hi = top < 0 ? 0 : top / stride + 1;
  if (hi > count)
    hi = count;
  if (lo > hi)
    lo = hi;
}

/// Per kernel-width tap kw of a geometry: the output columns [lo, hi) whose
/// input column is inside the row, and that input column's offset for
/// output column 0 (kw * dilation - pad). Computed once per kernel call so
/// the row loops need no divisions.
struct WidthTaps {
  std::vector<int64_t> lo, hi, offset;
  int64_t interiorLo = 0, interiorHi = 0; // columns where every tap is inside

  explicit WidthTaps(const SpatialGeometry &g) {
    const size_t k = static_cast<size_t>(g.kernel[2]);
    lo.resize(k);
    hi.resize(k);
    offset.resize(k);
    interiorLo = 0;
    interiorHi = g.out[2];
    for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
      offset[kw] = kw * g.dilation[2] - g.pad[2];
      validRange(g.out[2], g.stride[2], offset[kw], g.in[2], lo[kw], hi[kw]);
      interiorLo = lo[kw] > interiorLo ? lo[kw] : interiorLo;
      interiorHi = hi[kw] < interiorHi ? hi[kw] : interiorHi;
    }
    if (interiorHi < interiorLo)
      interiorHi = interiorLo;
  }
};

/// Average pooling's divisor per output position (row-major): the number of
/// window positions inside the input, or with countIncludePad inside the
/// padded input (the ceil-mode overhang past the end padding never counts).
/// padsEnd has one entry per spatial dim, or is null (no end padding).
inline std::vector<float> averagePoolDivisors(const SpatialGeometry &g,
                                              int spatialRank,
                                              const int64_t *padsEnd,
                                              bool countIncludePad) {
  int64_t padEnd[3] = {0, 0, 0};
  for (int s = 0; s < spatialRank; ++s)
    padEnd[3 - spatialRank + s] = padsEnd ? padsEnd[s] : 0;
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
  return divisor;
}

} // namespace cpu
} // namespace ssrt

#endif // SSRT_CPU_SPATIAL_GEOMETRY_H
