// Training kernels: the backward passes of softmax, layer norm, GELU,
// gather, pooling and resize, the learning-rate schedules and the SGD /
// AdamW updates. Every reduction runs on one thread in a fixed order, so
// results are bitwise the same for any thread count.
#include "fatal_error.h"
#include "multiversion.h"
#include "resize_axis.h"
#include "spatial_geometry.h"
#include "ssrt/kernels.h"
#include "ssrt/math.h"
#include "strided_iteration.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace ssrt {

using cpu::parallelRanges;

namespace {

// Row sums accumulate in double (products of two floats are exact there), in
// independent lanes so that the loops still vectorise.
constexpr int kDoubleLanes = 8;

SSRT_INLINE double sumOfDouble(const float *x, int64_t n) {
  double lanes[kDoubleLanes] = {};
  int64_t i = 0;
  for (; i + kDoubleLanes <= n; i += kDoubleLanes)
    for (int l = 0; l < kDoubleLanes; ++l)
      lanes[l] += static_cast<double>(x[i + l]);
  double total = 0.0;
  for (int l = 0; l < kDoubleLanes; ++l)
    total += lanes[l];
  for (; i < n; ++i)
    total += static_cast<double>(x[i]);
  return total;
}

/// sum(a[i] * b[i]).
SSRT_INLINE double dotOfDouble(const float *a, const float *b, int64_t n) {
  double lanes[kDoubleLanes] = {};
  int64_t i = 0;
  for (; i + kDoubleLanes <= n; i += kDoubleLanes)
    for (int l = 0; l < kDoubleLanes; ++l)
      lanes[l] += static_cast<double>(a[i + l]) * static_cast<double>(b[i + l]);
  double total = 0.0;
  for (int l = 0; l < kDoubleLanes; ++l)
    total += lanes[l];
  for (; i < n; ++i)
    total += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return total;
}

/// sum((x[i] - mean)^2).
SSRT_INLINE double squaredDeviationOfDouble(const float *x, int64_t n,
                                            double mean) {
  double lanes[kDoubleLanes] = {};
  int64_t i = 0;
  for (; i + kDoubleLanes <= n; i += kDoubleLanes)
    for (int l = 0; l < kDoubleLanes; ++l) {
      const double d = static_cast<double>(x[i + l]) - mean;
      lanes[l] += d * d;
    }
  double total = 0.0;
  for (int l = 0; l < kDoubleLanes; ++l)
    total += lanes[l];
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - mean;
    total += d * d;
  }
  return total;
}

/// sum(a[i] * b[i] * (x[i] - mean)).
SSRT_INLINE double deviationDotOfDouble(const float *a, const float *b,
                                        const float *x, int64_t n,
                                        double mean) {
  double lanes[kDoubleLanes] = {};
  int64_t i = 0;
  for (; i + kDoubleLanes <= n; i += kDoubleLanes)
    for (int l = 0; l < kDoubleLanes; ++l)
      lanes[l] += static_cast<double>(a[i + l]) *
                  static_cast<double>(b[i + l]) *
                  (static_cast<double>(x[i + l]) - mean);
  double total = 0.0;
  for (int l = 0; l < kDoubleLanes; ++l)
    total += lanes[l];
  for (; i < n; ++i)
    total += static_cast<double>(a[i]) * static_cast<double>(b[i]) *
             (static_cast<double>(x[i]) - mean);
  return total;
}

/// Splits the flat range [begin, end) of an [outer, inner] space into
/// per-row column ranges: calls fn(o, columnBegin, columnEnd).
template <typename Fn>
void forEachColumnRange(int64_t inner, int64_t begin, int64_t end, Fn fn) {
  for (int64_t o = begin / inner; o * inner < end; ++o) {
    const int64_t rowStart = o * inner;
    const int64_t columnBegin = begin > rowStart ? begin - rowStart : 0;
    const int64_t columnEnd = end < rowStart + inner ? end - rowStart : inner;
    fn(o, columnBegin, columnEnd);
  }
}

// --- softmax ---------------------------------------------------------------

/// Softmax gradient of contiguous rows [begin, end) of length `len`.
SSRT_MULTIVERSION
void softmaxGradRows(const float *y, const float *dy, float *dx, int64_t len,
                     bool logSoftmax, int64_t begin, int64_t end) {
  for (int64_t row = begin; row < end; ++row) {
    const float *yRow = y + row * len;
    const float *dyRow = dy + row * len;
    float *dxRow = dx + row * len;
    if (logSoftmax) {
      const double total = sumOfDouble(dyRow, len);
      for (int64_t i = 0; i < len; ++i)
        dxRow[i] =
            static_cast<float>(static_cast<double>(dyRow[i]) -
                               static_cast<double>(math::exp(yRow[i])) * total);
    } else {
      const double total = dotOfDouble(yRow, dyRow, len);
      for (int64_t i = 0; i < len; ++i)
        dxRow[i] = static_cast<float>(static_cast<double>(yRow[i]) *
                                      (static_cast<double>(dyRow[i]) - total));
    }
  }
}

// Columns of a strided softmax axis are reduced this many at a time, with
// their sums on the stack.
constexpr int64_t kColumnChunk = 64;

/// Softmax gradient along the strided axis of one [axis, inner] block, for
/// columns [begin, end). Each column's sum runs down the axis in order, so
/// the result does not depend on how columns are split.
SSRT_MULTIVERSION
void softmaxGradColumns(const float *y, const float *dy, float *dx,
                        int64_t axis, int64_t inner, bool logSoftmax,
                        int64_t begin, int64_t end) {
  double sums[kColumnChunk];
  for (int64_t chunk = begin; chunk < end; chunk += kColumnChunk) {
    const int64_t width =
        end - chunk < kColumnChunk ? end - chunk : kColumnChunk;
    for (int64_t j = 0; j < width; ++j)
      sums[j] = 0.0;
    for (int64_t a = 0; a < axis; ++a) {
      const float *yRow = y + a * inner + chunk;
      const float *dyRow = dy + a * inner + chunk;
      if (logSoftmax) {
        for (int64_t j = 0; j < width; ++j)
          sums[j] += static_cast<double>(dyRow[j]);
      } else {
        for (int64_t j = 0; j < width; ++j)
          sums[j] +=
              static_cast<double>(yRow[j]) * static_cast<double>(dyRow[j]);
      }
    }
    for (int64_t a = 0; a < axis; ++a) {
      const float *yRow = y + a * inner + chunk;
      const float *dyRow = dy + a * inner + chunk;
      float *dxRow = dx + a * inner + chunk;
      if (logSoftmax) {
        for (int64_t j = 0; j < width; ++j)
          dxRow[j] = static_cast<float>(
              static_cast<double>(dyRow[j]) -
              static_cast<double>(math::exp(yRow[j])) * sums[j]);
      } else {
        for (int64_t j = 0; j < width; ++j)
          dxRow[j] =
              static_cast<float>(static_cast<double>(yRow[j]) *
                                 (static_cast<double>(dyRow[j]) - sums[j]));
      }
    }
  }
}

// --- layer norm ------------------------------------------------------------

/// Layer-norm input gradient of rows [begin, end). Statistics and the two
/// row means are taken in double, so that xhat keeps its precision when the
/// row's mean is large against its spread.
SSRT_MULTIVERSION
void layerNormGradRows(const float *x, const float *scale, const float *dy,
                       float *dx, int64_t inner, float epsilon, int64_t begin,
                       int64_t end) {
  const double n = static_cast<double>(inner);
  for (int64_t r = begin; r < end; ++r) {
    const float *xRow = x + r * inner;
    const float *dyRow = dy + r * inner;
    float *dxRow = dx + r * inner;
    const double mean = sumOfDouble(xRow, inner) / n;
    const double variance = squaredDeviationOfDouble(xRow, inner, mean) / n;
    const double rstd = 1.0 / std::sqrt(variance + epsilon);
    const double meanG = dotOfDouble(dyRow, scale, inner) / n;
    const double meanGx =
        rstd * deviationDotOfDouble(dyRow, scale, xRow, inner, mean) / n;
    for (int64_t i = 0; i < inner; ++i) {
      const double g =
          static_cast<double>(dyRow[i]) * static_cast<double>(scale[i]);
      const double xhat = (static_cast<double>(xRow[i]) - mean) * rstd;
      dxRow[i] = static_cast<float>(rstd * (g - meanG - xhat * meanGx));
    }
  }
}

// --- GELU ------------------------------------------------------------------

SSRT_MULTIVERSION
void geluGradRange(const float *x, const float *dy, float *dx, int64_t n,
                   bool tanhApproximation) {
  if (tanhApproximation) {
    for (int64_t i = 0; i < n; ++i)
      dx[i] = dy[i] * math::geluTanhDerivative(x[i]);
  } else {
    for (int64_t i = 0; i < n; ++i)
      dx[i] = dy[i] * math::geluDerivative(x[i]);
  }
}

// --- gather ----------------------------------------------------------------

SSRT_INLINE void accumulateRow(float *__restrict__ dst,
                               const float *__restrict__ src, int64_t n) {
  for (int64_t j = 0; j < n; ++j)
    dst[j] += src[j];
}

/// Columns [cb, ce) of gatherGrad's outer row o: zeroed, then the indexed
/// rows of dy added in index order, so that repeated indices accumulate the
/// same way however the columns are split.
template <typename I>
void gatherGradColumns(const I *indices, const float *dy, float *y, int64_t o,
                       int64_t axisSize, int64_t inner, int64_t numIndices,
                       int64_t cb, int64_t ce) {
  const int64_t width = ce - cb;
  float *yBlock = y + o * axisSize * inner;
  if (width == inner) {
    std::memset(yBlock, 0,
                static_cast<size_t>(axisSize * inner) * sizeof(float));
  } else {
    for (int64_t a = 0; a < axisSize; ++a)
      std::memset(yBlock + a * inner + cb, 0,
                  static_cast<size_t>(width) * sizeof(float));
  }
  const float *dyBlock = dy + o * numIndices * inner;
  for (int64_t i = 0; i < numIndices; ++i) {
    int64_t idx = static_cast<int64_t>(indices[i]);
    if (idx < 0)
      idx += axisSize;
    accumulateRow(yBlock + idx * inner + cb, dyBlock + i * inner + cb, width);
  }
}

template <typename I>
void gatherGradTyped(const I *indices, const float *dy, float *y, int64_t outer,
                     int64_t axisSize, int64_t inner, int64_t numIndices) {
  // Validate first so that a bad index fails before any output is written.
  for (int64_t i = 0; i < numIndices; ++i) {
    const int64_t idx = static_cast<int64_t>(indices[i]);
    if (idx < -axisSize || idx >= axisSize)
      cpu::fatalError("GatherGrad index %lld out of range [-%lld, %lld)",
                      static_cast<long long>(idx),
                      static_cast<long long>(axisSize),
                      static_cast<long long>(axisSize));
  }
  if (inner == 0)
    return;
  // Threads own (outer row, column range) pieces of y; no atomics.
  parallelRanges(
      outer * inner, axisSize + numIndices, [&](int64_t begin, int64_t end) {
        forEachColumnRange(inner, begin, end,
                           [&](int64_t o, int64_t cb, int64_t ce) {
                             gatherGradColumns(indices, dy, y, o, axisSize,
                                               inner, numIndices, cb, ce);
                           });
      });
}

// --- pooling ---------------------------------------------------------------

/// Calls fn(offset) for the plane offset of every input position inside the
/// window of output (od, oh, ow), in row-major window order.
template <typename Fn>
SSRT_INLINE void forEachWindowPosition(const cpu::SpatialGeometry &g,
                                       int64_t od, int64_t oh, int64_t ow,
                                       Fn fn) {
  const int64_t start[3] = {od * g.stride[0] - g.pad[0],
                            oh * g.stride[1] - g.pad[1],
                            ow * g.stride[2] - g.pad[2]};
  int64_t lo[3], hi[3];
  for (int d = 0; d < 3; ++d)
    cpu::validRange(g.kernel[d], g.dilation[d], start[d], g.in[d], lo[d],
                    hi[d]);
  for (int64_t kd = lo[0]; kd < hi[0]; ++kd) {
    const int64_t id = start[0] + kd * g.dilation[0];
    for (int64_t kh = lo[1]; kh < hi[1]; ++kh) {
      const int64_t row =
          (id * g.in[1] + start[1] + kh * g.dilation[1]) * g.in[2];
      for (int64_t kw = lo[2]; kw < hi[2]; ++kw)
        fn(row + start[2] + kw * g.dilation[2]);
    }
  }
}

/// Max-pool gradient of planes [begin, end): each output's gradient goes to
/// the first input that beats every earlier one in its window (NaNs never
/// do, as in maxPool), or to the window's first input if none does.
void maxPoolGradPlanes(const float *x, const float *dy, float *dx,
                       const cpu::SpatialGeometry &g, int64_t begin,
                       int64_t end) {
  for (int64_t p = begin; p < end; ++p) {
    const float *xp = x + p * g.inSize;
    const float *dyp = dy + p * g.outSize;
    float *dxp = dx + p * g.inSize;
    std::memset(dxp, 0, static_cast<size_t>(g.inSize) * sizeof(float));
    int64_t o = 0;
    for (int64_t od = 0; od < g.out[0]; ++od)
      for (int64_t oh = 0; oh < g.out[1]; ++oh)
        for (int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
          float best = std::numeric_limits<float>::lowest();
          int64_t at = -1, first = -1;
          forEachWindowPosition(g, od, oh, ow, [&](int64_t i) {
            if (first < 0)
              first = i;
            if (xp[i] > best) {
              best = xp[i];
              at = i;
            }
          });
          if (at < 0)
            at = first;
          if (at >= 0)
            dxp[at] += dyp[o];
        }
  }
}

/// Average-pool gradient of planes [begin, end).
void avgPoolGradPlanes(const float *dy, float *dx,
                       const cpu::SpatialGeometry &g, const float *divisor,
                       int64_t begin, int64_t end) {
  for (int64_t p = begin; p < end; ++p) {
    const float *dyp = dy + p * g.outSize;
    float *dxp = dx + p * g.inSize;
    std::memset(dxp, 0, static_cast<size_t>(g.inSize) * sizeof(float));
    int64_t o = 0;
    for (int64_t od = 0; od < g.out[0]; ++od)
      for (int64_t oh = 0; oh < g.out[1]; ++oh)
        for (int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
          const float share = dyp[o] / divisor[o];
          forEachWindowPosition(g, od, oh, ow,
                                [&](int64_t i) { dxp[i] += share; });
        }
  }
}

// --- resize ----------------------------------------------------------------

/// One dim of the resize gradient: src viewed as [outer, axis.lo.size(),
/// inner] is scattered into dst [outer, inSize, inner] through the axis'
/// transposed weights, for the flat (outer, inner) columns [begin, end).
/// Each column runs over the output indices in order, so the sums do not
/// depend on how columns are split.
SSRT_MULTIVERSION
void resizeGradAxis(const float *src, float *dst, const cpu::ResizeAxis &axis,
                    int64_t inSize, int64_t inner, int64_t begin, int64_t end) {
  const int64_t outSize = static_cast<int64_t>(axis.lo.size());
  forEachColumnRange(inner, begin, end, [&](int64_t o, int64_t cb, int64_t ce) {
    const float *s = src + o * outSize * inner;
    float *d = dst + o * inSize * inner;
    for (int64_t i = 0; i < inSize; ++i)
      std::memset(d + i * inner + cb, 0,
                  static_cast<size_t>(ce - cb) * sizeof(float));
    for (int64_t j = 0; j < outSize; ++j) {
      const float *sRow = s + j * inner;
      float *lo = d + axis.lo[j] * inner;
      if (!axis.interpolated) {
        for (int64_t c = cb; c < ce; ++c)
          lo[c] += sRow[c];
        continue;
      }
      float *hi = d + axis.hi[j] * inner;
      const float w = axis.weight[j], v = 1.0f - w;
      for (int64_t c = cb; c < ce; ++c)
        lo[c] += v * sRow[c];
      for (int64_t c = cb; c < ce; ++c)
        hi[c] += w * sRow[c];
    }
  });
}

// --- optimizers ------------------------------------------------------------
//
// Each update has two loops, both with __restrict__ on their distinct arrays
// so that they vectorise: one in place (outputs are the inputs, the way
// programs keep optimizer state) and one for outputs separate from all
// inputs. A mix of the two copies the separate outputs' inputs over first, a
// cache-sized chunk at a time, and runs in place.

constexpr int64_t kOptimizerChunk = 1024;

/// Copies x to y unless they are the same array.
SSRT_INLINE void copyUnlessSame(const float *x, float *y, int64_t n) {
  if (x != y)
    std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float));
}

SSRT_MULTIVERSION
void sgdInPlace(float *__restrict__ param, const float *__restrict__ grad,
                int64_t n, float lr, float weightDecay, float gradScale) {
  for (int64_t i = 0; i < n; ++i)
    math::sgdStep(param[i], grad[i], gradScale, lr, weightDecay);
}

SSRT_MULTIVERSION
void sgdSeparate(const float *__restrict__ param,
                 const float *__restrict__ grad, float *__restrict__ paramOut,
                 int64_t n, float lr, float weightDecay, float gradScale) {
  for (int64_t i = 0; i < n; ++i) {
    float p = param[i];
    math::sgdStep(p, grad[i], gradScale, lr, weightDecay);
    paramOut[i] = p;
  }
}

SSRT_MULTIVERSION
void sgdMomentumInPlace(float *__restrict__ param, float *__restrict__ buf,
                        const float *__restrict__ grad, int64_t n, float lr,
                        float momentum, float weightDecay, float gradScale) {
  for (int64_t i = 0; i < n; ++i)
    math::sgdMomentumStep(param[i], buf[i], grad[i], gradScale, lr, momentum,
                          weightDecay);
}

SSRT_MULTIVERSION
void sgdMomentumSeparate(const float *__restrict__ param,
                         const float *__restrict__ grad,
                         const float *__restrict__ buf,
                         float *__restrict__ paramOut,
                         float *__restrict__ bufOut, int64_t n, float lr,
                         float momentum, float weightDecay, float gradScale) {
  for (int64_t i = 0; i < n; ++i) {
    float p = param[i], b = buf[i];
    math::sgdMomentumStep(p, b, grad[i], gradScale, lr, momentum, weightDecay);
    paramOut[i] = p;
    bufOut[i] = b;
  }
}

SSRT_MULTIVERSION
void adamwInPlace(float *__restrict__ param, float *__restrict__ m,
                  float *__restrict__ v, const float *__restrict__ grad,
                  int64_t n, float gradScale, math::AdamwCoefficients c) {
  for (int64_t i = 0; i < n; ++i)
    math::adamwStep(param[i], m[i], v[i], grad[i], gradScale, c);
}

SSRT_MULTIVERSION
void adamwSeparate(const float *__restrict__ param,
                   const float *__restrict__ grad, const float *__restrict__ m,
                   const float *__restrict__ v, float *__restrict__ paramOut,
                   float *__restrict__ mOut, float *__restrict__ vOut,
                   int64_t n, float gradScale, math::AdamwCoefficients c) {
  for (int64_t i = 0; i < n; ++i) {
    float p = param[i], mi = m[i], vi = v[i];
    math::adamwStep(p, mi, vi, grad[i], gradScale, c);
    paramOut[i] = p;
    mOut[i] = mi;
    vOut[i] = vi;
  }
}

/// Calls body(begin, end) over chunks of [begin, end).
template <typename Body>
void forEachOptimizerChunk(int64_t begin, int64_t end, Body body) {
  for (int64_t chunk = begin; chunk < end; chunk += kOptimizerChunk)
    body(chunk, end - chunk < kOptimizerChunk ? end : chunk + kOptimizerChunk);
}

} // namespace

void softmaxGrad(const float *y, const float *dy, float *dx, int64_t outer,
                 int64_t axis, int64_t inner, bool logSoftmax) {
  if (axis == 0 || inner == 0)
    return;
  if (inner == 1) {
    parallelRanges(outer, axis * 8, [&](int64_t begin, int64_t end) {
      softmaxGradRows(y, dy, dx, axis, logSoftmax, begin, end);
    });
    return;
  }
  const int64_t block = axis * inner;
  parallelRanges(outer * inner, axis * 8, [&](int64_t begin, int64_t end) {
    forEachColumnRange(
        inner, begin, end, [&](int64_t o, int64_t cb, int64_t ce) {
          softmaxGradColumns(y + o * block, dy + o * block, dx + o * block,
                             axis, inner, logSoftmax, cb, ce);
        });
  });
}

void layerNormGrad(const float *x, const float *scale, const float *dy,
                   float *dx, int64_t outer, int64_t inner, float epsilon) {
  if (inner == 0)
    return;
  parallelRanges(outer, inner * 8, [&](int64_t begin, int64_t end) {
    layerNormGradRows(x, scale, dy, dx, inner, epsilon, begin, end);
  });
}

void geluGrad(const float *x, const float *dy, float *dx, int64_t n,
              bool tanhApproximation) {
  parallelRanges(n, 8, [&](int64_t begin, int64_t end) {
    geluGradRange(x + begin, dy + begin, dx + begin, end - begin,
                  tanhApproximation);
  });
}

void gatherGrad(const void *indices, DType indexType, const float *dy, float *y,
                int64_t outer, int64_t axisSize, int64_t inner,
                int64_t numIndices) {
  switch (indexType) {
  case DType::I64:
    return gatherGradTyped(static_cast<const int64_t *>(indices), dy, y, outer,
                           axisSize, inner, numIndices);
  case DType::I32:
    return gatherGradTyped(static_cast<const int32_t *>(indices), dy, y, outer,
                           axisSize, inner, numIndices);
  default:
    cpu::fatalError("ssrt: gatherGrad indices must be int64 or int32, got %s",
                    dtypeName(indexType));
  }
}

void maxPoolGrad(const float *x, const float *dy, float *dx, int spatialRank,
                 const int64_t *xShape, const int64_t *dyShape,
                 const int64_t *kernel, const int64_t *strides,
                 const int64_t *padsBegin, const int64_t *dilations) {
  const cpu::SpatialGeometry g(spatialRank, xShape + 2, dyShape + 2, kernel,
                               strides, padsBegin, dilations);
  // Planes (batch x channel) are independent: each belongs to one thread.
  parallelRanges(xShape[0] * xShape[1], g.inSize + g.outSize * g.kernelSize,
                 [&](int64_t begin, int64_t end) {
                   maxPoolGradPlanes(x, dy, dx, g, begin, end);
                 });
}

void avgPoolGrad(const float *dy, float *dx, int spatialRank,
                 const int64_t *xShape, const int64_t *dyShape,
                 const int64_t *kernel, const int64_t *strides,
                 const int64_t *padsBegin, const int64_t *padsEnd,
                 bool countIncludePad) {
  const cpu::SpatialGeometry g(spatialRank, xShape + 2, dyShape + 2, kernel,
                               strides, padsBegin, nullptr);
  const std::vector<float> divisor =
      cpu::averagePoolDivisors(g, spatialRank, padsEnd, countIncludePad);
  parallelRanges(xShape[0] * xShape[1], g.inSize + g.outSize * g.kernelSize,
                 [&](int64_t begin, int64_t end) {
                   avgPoolGradPlanes(dy, dx, g, divisor.data(), begin, end);
                 });
}

void resizeGrad(const float *dy, float *dx, const int64_t *inShape,
                const int64_t *outShape, const float *scales, int rank,
                ResizeMode mode, CoordMode coord, NearestMode nearest) {
  int64_t inCount = 1, outCount = 1;
  for (int d = 0; d < rank; ++d) {
    inCount *= inShape[d];
    outCount *= outShape[d];
  }
  if (inCount == 0)
    return;
  // The dims that do not map indices to themselves, each a transposed
  // interpolation pass from the current shape (dy's at first) to one with
  // that dim at the input's size; the last pass writes dx.
  std::vector<cpu::ResizeAxis> axes;
  std::vector<int> dims;
  for (int d = 0; d < rank; ++d) {
    const float scale = scales ? scales[d]
                               : static_cast<float>(outShape[d]) /
                                     static_cast<float>(inShape[d]);
    cpu::ResizeAxis axis =
        cpu::resizeAxis(inShape[d], outShape[d], scale, mode, coord, nearest);
    if (!axis.identity) {
      axes.push_back(std::move(axis));
      dims.push_back(d);
    }
  }
  if (dims.empty() || outCount == 0) {
    if (outCount == 0)
      std::memset(dx, 0, static_cast<size_t>(inCount) * sizeof(float));
    else
      std::memcpy(dx, dy, static_cast<size_t>(inCount) * sizeof(float));
    return;
  }
  std::vector<int64_t> shape(outShape, outShape + rank);
  std::vector<float> buffers[2];
  const float *src = dy;
  for (size_t k = 0; k < dims.size(); ++k) {
    const int d = dims[k];
    int64_t outer = 1, inner = 1;
    for (int e = 0; e < d; ++e)
      outer *= shape[e];
    for (int e = d + 1; e < rank; ++e)
      inner *= shape[e];
    float *dst = dx;
    if (k + 1 < dims.size()) {
      buffers[k % 2].resize(static_cast<size_t>(outer * inShape[d] * inner));
      dst = buffers[k % 2].data();
    }
    const cpu::ResizeAxis &axis = axes[k];
    parallelRanges(
        outer * inner, shape[d] + inShape[d], [&](int64_t begin, int64_t end) {
          resizeGradAxis(src, dst, axis, inShape[d], inner, begin, end);
        });
    shape[d] = inShape[d];
    src = dst;
  }
}

float learningRate(LrSchedule schedule, float baseLr, int64_t warmupSteps,
                   int64_t totalSteps, int64_t step) {
  double factor = 1.0;
  switch (schedule) {
  case LrSchedule::Constant:
    factor = math::lrConstantFactor(step, warmupSteps);
    break;
  case LrSchedule::WarmupLinear:
    factor = math::lrLinearFactor(step, warmupSteps, totalSteps);
    break;
  case LrSchedule::Cosine:
    factor = math::lrCosineFactor(step, warmupSteps, totalSteps);
    break;
  default:
    cpu::fatalError("ssrt: unknown learning-rate schedule %d",
                    static_cast<int>(schedule));
  }
  return static_cast<float>(static_cast<double>(baseLr) * factor);
}

void sgdUpdate(const float *param, const float *grad, const float *buf,
               float *paramOut, float *bufOut, int64_t n, float lr,
               float momentum, float weightDecay, const float *gradScale) {
  const float scale = gradScale ? *gradScale : 1.0f;
  if (momentum == 0.0f) {
    parallelRanges(n, 2, [&](int64_t begin, int64_t end) {
      if (paramOut == param)
        sgdInPlace(paramOut + begin, grad + begin, end - begin, lr, weightDecay,
                   scale);
      else
        sgdSeparate(param + begin, grad + begin, paramOut + begin, end - begin,
                    lr, weightDecay, scale);
    });
    return;
  }
  const bool separate = paramOut != param && bufOut != buf;
  parallelRanges(n, 2, [&](int64_t begin, int64_t end) {
    if (separate) {
      sgdMomentumSeparate(param + begin, grad + begin, buf + begin,
                          paramOut + begin, bufOut + begin, end - begin, lr,
                          momentum, weightDecay, scale);
      return;
    }
    forEachOptimizerChunk(begin, end, [&](int64_t cb, int64_t ce) {
      copyUnlessSame(param + cb, paramOut + cb, ce - cb);
      copyUnlessSame(buf + cb, bufOut + cb, ce - cb);
      sgdMomentumInPlace(paramOut + cb, bufOut + cb, grad + cb, ce - cb, lr,
                         momentum, weightDecay, scale);
    });
  });
}

void adamwUpdate(const float *param, const float *grad, const float *m,
                 const float *v, float *paramOut, float *mOut, float *vOut,
                 int64_t n, float lr, float beta1, float beta2, float eps,
                 float weightDecay, int64_t step, const float *gradScale) {
  const float scale = gradScale ? *gradScale : 1.0f;
  const math::AdamwCoefficients c =
      math::adamwCoefficients(lr, beta1, beta2, eps, weightDecay, step);
  const bool separate = paramOut != param && mOut != m && vOut != v;
  parallelRanges(n, 8, [&](int64_t begin, int64_t end) {
    if (separate) {
      adamwSeparate(param + begin, grad + begin, m + begin, v + begin,
                    paramOut + begin, mOut + begin, vOut + begin, end - begin,
                    scale, c);
      return;
    }
    forEachOptimizerChunk(begin, end, [&](int64_t cb, int64_t ce) {
      copyUnlessSame(param + cb, paramOut + cb, ce - cb);
      copyUnlessSame(m + cb, mOut + cb, ce - cb);
      copyUnlessSame(v + cb, vOut + cb, ce - cb);
      adamwInPlace(paramOut + cb, mOut + cb, vOut + cb, grad + cb, ce - cb,
                   scale, c);
    });
  });
}

} // namespace ssrt
