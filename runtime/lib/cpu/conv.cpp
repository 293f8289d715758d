// Convolution and transposed convolution. Convolutions run the direct,
// register-blocked kernel of conv_direct.cpp over a padded copy of the
// input, except unit-stride 1x1 ones (a plain sgemm), depthwise ones (their
// own direct loop) and shapes that would leave most of its vector lanes idle
// (im2col and sgemm). An optional activation is applied in the pass that
// finishes each output. Transposed convolution is sgemm followed by col2im;
// the filter gradient is im2col followed by sgemm.
#include "conv_direct.h"
#include "fatal_error.h"
#include "multiversion.h"
#include "scratch_buffer.h"
#include "spatial_geometry.h"
#include "ssrt/kernels.h"
#include "strided_iteration.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

namespace ssrt {

using cpu::SpatialGeometry;
using cpu::validRange;
using cpu::WidthTaps;

namespace {

// Scratch slot (per thread) of the im2col columns; conv_direct.cpp uses
// slots 0 and 1 the same way.
constexpr int kColumnSlot = 0;
// Scratch slot of the filter gradient's per-chunk partial sums.
constexpr int kPartialSlot = 3;

void sgemmNN(int64_t m, int64_t n, int64_t k, const float *a, const float *b,
             float *c) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n),
              static_cast<blasint>(k), 1.0f, a, static_cast<blasint>(k), b,
              static_cast<blasint>(n), 0.0f, c, static_cast<blasint>(n));
}

/// Unfolds `channels` input planes into a (channels * kernelSize) x outSize
/// matrix: row (c, kd, kh, kw) holds the input value each output position
/// sees through that kernel tap (0 in the padding).
void im2col(const float *x, int64_t channels, const SpatialGeometry &g,
            float *col) {
  const int64_t rows = channels * g.kernelSize;
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
  cpu::parallelRanges(rows, g.outSize, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t c = r / g.kernelSize, tap = r % g.kernelSize;
      int64_t kw = tap % g.kernel[2], kh = (tap / g.kernel[2]) % g.kernel[1],
              kd = tap / (g.kernel[2] * g.kernel[1]);
      const float *plane = x + c * g.inSize;
      float *dst = col + r * g.outSize;
      const int64_t wOffset = kw * g.dilation[2] - g.pad[2];
      int64_t lo, hi;
      validRange(OW, g.stride[2], wOffset, g.in[2], lo, hi);
      for (int64_t od = 0; od < OD; ++od) {
        int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dilation[0];
        for (int64_t oh = 0; oh < OH; ++oh, dst += OW) {
          int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dilation[1];
          if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1]) {
            std::memset(dst, 0, static_cast<size_t>(OW) * sizeof(float));
            continue;
          }
          const float *src = plane + (id * g.in[1] + ih) * g.in[2] + wOffset;
          for (int64_t ow = 0; ow < lo; ++ow)
            dst[ow] = 0.0f;
          if (g.stride[2] == 1) {
            std::memcpy(dst + lo, src + lo,
                        static_cast<size_t>(hi - lo) * sizeof(float));
          } else {
            const int64_t sw = g.stride[2];
            for (int64_t ow = lo; ow < hi; ++ow)
              dst[ow] = src[ow * sw];
          }
          for (int64_t ow = hi; ow < OW; ++ow)
            dst[ow] = 0.0f;
        }
      }
    }
  });
}

/// Adds one input row's contribution through a whole kernel row (KW taps,
/// width stride SW) to output columns [lo, hi), where every tap lands inside
/// the input row; `src` points at the input column of output 0, tap 0.
template <int KW, int SW>
SSRT_INLINE void kernelRowInterior(const float *src, const float *wRow,
                                   int64_t dilation, float *yRow, int64_t lo,
                                   int64_t hi) {
  float wk[KW];
  for (int kw = 0; kw < KW; ++kw)
    wk[kw] = wRow[kw];
  for (int64_t ow = lo; ow < hi; ++ow) {
    float acc = yRow[ow];
    for (int kw = 0; kw < KW; ++kw)
      acc += wk[kw] * src[ow * SW + kw * dilation];
    yRow[ow] = acc;
  }
}

/// The same for any kernel width and stride, one tap at a time, each tap
/// clipped to the columns where it lands inside the input row.
SSRT_INLINE void kernelRowClipped(const float *xRow, const float *wRow,
                                  const SpatialGeometry &g,
                                  const WidthTaps &taps, float *yRow,
                                  int64_t lo, int64_t hi) {
  const int64_t sw = g.stride[2];
  for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
    const int64_t tapLo = taps.lo[kw] > lo ? taps.lo[kw] : lo;
    const int64_t tapHi = taps.hi[kw] < hi ? taps.hi[kw] : hi;
    const float wv = wRow[kw];
    const float *src = xRow + taps.offset[kw];
    for (int64_t ow = tapLo; ow < tapHi; ++ow)
      yRow[ow] += wv * src[ow * sw];
  }
}

template <int KW, int SW>
SSRT_INLINE void kernelRow(const float *xRow, const float *wRow,
                           const SpatialGeometry &g, const WidthTaps &taps,
                           float *yRow) {
  kernelRowClipped(xRow, wRow, g, taps, yRow, 0, taps.interiorLo);
  kernelRowInterior<KW, SW>(xRow - g.pad[2], wRow, g.dilation[2], yRow,
                            taps.interiorLo, taps.interiorHi);
  kernelRowClipped(xRow, wRow, g, taps, yRow, taps.interiorHi, g.out[2]);
}

/// Direct convolution of one input plane into one output plane (depthwise
/// case). Each kernel row adds shifted input rows to a whole output row,
/// vectorised along the width; common kernel widths are unrolled so one
/// pass applies all their taps.
SSRT_MULTIVERSION
void convPlaneDirect(const float *x, const float *w, float biasValue, float *y,
                     const SpatialGeometry &g, const WidthTaps &taps) {
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
  const int64_t sw = g.stride[2], KW = g.kernel[2];
  for (int64_t od = 0; od < OD; ++od) {
    for (int64_t oh = 0; oh < OH; ++oh) {
      float *yRow = y + (od * OH + oh) * OW;
      for (int64_t ow = 0; ow < OW; ++ow)
        yRow[ow] = biasValue;
      for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
        int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dilation[0];
        if (id < 0 || id >= g.in[0])
          continue;
        for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
          int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dilation[1];
          if (ih < 0 || ih >= g.in[1])
            continue;
          const float *xRow = x + (id * g.in[1] + ih) * g.in[2];
          const float *wRow = w + (kd * g.kernel[1] + kh) * KW;
          if (KW == 3 && sw == 1)
            kernelRow<3, 1>(xRow, wRow, g, taps, yRow);
          else if (KW == 3 && sw == 2)
            kernelRow<3, 2>(xRow, wRow, g, taps, yRow);
          else if (KW == 5 && sw == 1)
            kernelRow<5, 1>(xRow, wRow, g, taps, yRow);
          else if (KW == 5 && sw == 2)
            kernelRow<5, 2>(xRow, wRow, g, taps, yRow);
          else if (KW == 7 && sw == 1)
            kernelRow<7, 1>(xRow, wRow, g, taps, yRow);
          else
            kernelRowClipped(xRow, wRow, g, taps, yRow, 0, OW);
        }
      }
    }
  }
}

/// Adds each channel's bias and applies the activation to `channels` planes
/// in place; nothing to do without either.
void finishChannels(float *y, const float *bias, int64_t channels,
                    int64_t planeSize, UnaryOp act, float alpha, float beta) {
  if (!bias && act == UnaryOp::Identity)
    return;
  cpu::parallelRanges(channels, planeSize, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c)
      cpu::activateRange(y + c * planeSize, y + c * planeSize, planeSize,
                         bias ? bias + c : nullptr, act, alpha, beta);
  });
}

} // namespace

void conv(const float *x, const float *w, const float *bias, float *y,
          int spatialRank, const int64_t *xShape, const int64_t *wShape,
          const int64_t *yShape, const int64_t *strides,
          const int64_t *padsBegin, const int64_t *dilations, int64_t group) {
  conv(x, w, bias, y, spatialRank, xShape, wShape, yShape, strides, padsBegin,
       dilations, group, UnaryOp::Identity, 0.0f, 0.0f);
}

void conv(const float *x, const float *w, const float *bias, float *y,
          int spatialRank, const int64_t *xShape, const int64_t *wShape,
          const int64_t *yShape, const int64_t *strides,
          const int64_t *padsBegin, const int64_t *dilations, int64_t group,
          UnaryOp activation, float alpha, float beta) {
  const int64_t N = xShape[0], C = xShape[1], O = wShape[0];
  if (group < 1 || C % group != 0 || O % group != 0 || wShape[1] != C / group ||
      yShape[1] != O)
    cpu::fatalError("ssrt: conv shapes do not match group %lld",
                    static_cast<long long>(group));
  SpatialGeometry g(spatialRank, xShape + 2, yShape + 2, wShape + 2, strides,
                    padsBegin, dilations);
  const int64_t Cg = C / group, Og = O / group;
  if (N == 0 || O == 0 || g.outSize == 0)
    return;
  if (Cg == 0 || g.kernelSize == 0) {
    fill(y, DType::F32, N * O * g.outSize, 0.0);
    for (int64_t n = 0; n < N; ++n)
      finishChannels(y + n * O * g.outSize, bias, O, g.outSize, activation,
                     alpha, beta);
    return;
  }

  // Depthwise (one input channel per group): direct loops per output plane,
  // each finished while it is still in cache.
  if (Cg == 1) {
    const WidthTaps taps(g);
    cpu::parallelRanges(
        N * O, g.outSize * g.kernelSize, [&](int64_t begin, int64_t end) {
          for (int64_t p = begin; p < end; ++p) {
            int64_t n = p / O, o = p % O;
            int64_t c = o / Og; // the group's input channel
            float *plane = y + p * g.outSize;
            convPlaneDirect(x + (n * C + c) * g.inSize, w + o * g.kernelSize,
                            bias ? bias[o] : 0.0f, plane, g, taps);
            if (activation != UnaryOp::Identity)
              cpu::activateRange(plane, plane, g.outSize, nullptr, activation,
                                 alpha, beta);
          }
        });
    return;
  }

  // A 1x1 kernel with unit stride and no padding reads the input planes as
  // they are: no unfolding needed.
  bool pointwise = g.kernelSize == 1 && g.pad[0] == 0 && g.pad[1] == 0 &&
                   g.pad[2] == 0 && g.stride[0] == 1 && g.stride[1] == 1 &&
                   g.stride[2] == 1 && g.inSize == g.outSize &&
                   g.in[2] == g.out[2] && g.in[1] == g.out[1];
  if (!pointwise && cpu::directConvPreferred(g, Cg, Og)) {
    cpu::directConv(x, w, bias, y, g, N, C, O, group, activation, alpha, beta);
    return;
  }
  const int64_t colRows = Cg * g.kernelSize;
  auto convOneGroup = [&](int64_t n, int64_t gi) {
    const float *xg = x + (n * C + gi * Cg) * g.inSize;
    const float *wg = w + gi * Og * colRows;
    float *yg = y + (n * O + gi * Og) * g.outSize;
    const float *columns = xg;
    if (!pointwise) {
      float *col = cpu::scratchFloats(kColumnSlot, colRows * g.outSize);
      im2col(xg, Cg, g, col);
      columns = col;
    }
    sgemmNN(Og, g.outSize, colRows, wg, columns, yg);
  };

  // Many small groups: spread whole groups over threads (each sgemm is too
  // small for OpenBLAS to split).
  const int64_t groupFlops = Og * g.outSize * colRows;
  if (group > 1 && omp_get_max_threads() > 1 && !omp_in_parallel() &&
      groupFlops < (int64_t(1) << 21)) {
    const int64_t items = N * group;
#pragma omp parallel for schedule(dynamic)
    for (int64_t item = 0; item < items; ++item)
      convOneGroup(item / group, item % group);
  } else {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t gi = 0; gi < group; ++gi)
        convOneGroup(n, gi);
  }
  for (int64_t n = 0; n < N; ++n)
    finishChannels(y + n * O * g.outSize, bias, O, g.outSize, activation, alpha,
                   beta);
}

void convTranspose(const float *x, const float *w, const float *bias, float *y,
                   int spatialRank, const int64_t *xShape,
                   const int64_t *wShape, const int64_t *yShape,
                   const int64_t *strides, const int64_t *padsBegin,
                   const int64_t *dilations, int64_t group) {
  const int64_t N = xShape[0], C = xShape[1];
  if (group < 1 || C % group != 0 || wShape[0] != C)
    cpu::fatalError("ssrt: convTranspose shapes do not match group %lld",
                    static_cast<long long>(group));
  const int64_t Og = wShape[1], O = Og * group, Cg = C / group;
  if (yShape[1] != O)
    cpu::fatalError("ssrt: convTranspose output has %lld channels, expected "
                    "%lld",
                    static_cast<long long>(yShape[1]),
                    static_cast<long long>(O));
  // Roles swap relative to conv: the "output" of the geometry is the input
  // of the transposed convolution.
  SpatialGeometry g(spatialRank, yShape + 2, xShape + 2, wShape + 2, strides,
                    padsBegin, dilations);
  const int64_t outSize = g.inSize, inSize = g.outSize;
  if (N == 0 || O == 0 || outSize == 0)
    return;
  const int64_t colRows = Og * g.kernelSize;
  const int64_t OD = g.in[0], OH = g.in[1], OW = g.in[2];
  const int64_t ID = g.out[0], IH = g.out[1], IW = g.out[2];

  for (int64_t n = 0; n < N; ++n) {
    for (int64_t gi = 0; gi < group; ++gi) {
      const float *xg = x + (n * C + gi * Cg) * inSize;
      const float *wg = w + gi * Cg * colRows;
      float *yg = y + (n * O + gi * Og) * outSize;
      // col = Wg^T (Og*K x Cg) x Xg (Cg x inSize): each input position's
      // contribution to every (output channel, kernel tap).
      float *col = cpu::scratchFloats(kColumnSlot, colRows * inSize);
      if (Cg == 0 || inSize == 0) {
        std::memset(col, 0,
                    static_cast<size_t>(colRows * inSize) * sizeof(float));
      } else {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
                    static_cast<blasint>(colRows), static_cast<blasint>(inSize),
                    static_cast<blasint>(Cg), 1.0f, wg,
                    static_cast<blasint>(colRows), xg,
                    static_cast<blasint>(inSize), 0.0f, col,
                    static_cast<blasint>(inSize));
      }
      // col2im: scatter-add each tap's rows into the output planes; output
      // channels are independent, so they split across threads.
      cpu::parallelRanges(
          Og, g.kernelSize * inSize, [&](int64_t begin, int64_t end) {
            for (int64_t o = begin; o < end; ++o) {
              float *plane = yg + o * outSize;
              const float b = bias ? bias[gi * Og + o] : 0.0f;
              for (int64_t i = 0; i < outSize; ++i)
                plane[i] = b;
              for (int64_t tap = 0; tap < g.kernelSize; ++tap) {
                int64_t kw = tap % g.kernel[2],
                        kh = (tap / g.kernel[2]) % g.kernel[1],
                        kd = tap / (g.kernel[2] * g.kernel[1]);
                const float *colRow = col + (o * g.kernelSize + tap) * inSize;
                const int64_t wOffset = kw * g.dilation[2] - g.pad[2];
                int64_t lo, hi;
                validRange(IW, g.stride[2], wOffset, OW, lo, hi);
                for (int64_t id = 0; id < ID; ++id) {
                  int64_t od = id * g.stride[0] - g.pad[0] + kd * g.dilation[0];
                  if (od < 0 || od >= OD)
                    continue;
                  for (int64_t ih = 0; ih < IH; ++ih) {
                    int64_t oh =
                        ih * g.stride[1] - g.pad[1] + kh * g.dilation[1];
                    if (oh < 0 || oh >= OH)
                      continue;
                    float *dst = plane + (od * OH + oh) * OW + wOffset;
                    const float *src = colRow + (id * IH + ih) * IW;
                    const int64_t sw = g.stride[2];
                    if (sw == 1) {
                      for (int64_t iw = lo; iw < hi; ++iw)
                        dst[iw] += src[iw];
                    } else {
                      for (int64_t iw = lo; iw < hi; ++iw)
                        dst[iw * sw] += src[iw];
                    }
                  }
                }
              }
            }
          });
    }
  }
}

void convFilterGrad(const float *x, const float *dy, float *dw, int spatialRank,
                    const int64_t *xShape, const int64_t *dyShape,
                    const int64_t *dwShape, const int64_t *strides,
                    const int64_t *padsBegin, const int64_t *dilations,
                    int64_t group) {
  const int64_t N = xShape[0], C = xShape[1], O = dyShape[1];
  if (group < 1 || C % group != 0 || O % group != 0 || dwShape[0] != O ||
      dwShape[1] != C / group || dyShape[0] != N)
    cpu::fatalError("ssrt: convFilterGrad shapes do not match group %lld",
                    static_cast<long long>(group));
  SpatialGeometry g(spatialRank, xShape + 2, dyShape + 2, dwShape + 2, strides,
                    padsBegin, dilations);
  const int64_t Cg = C / group, Og = O / group;
  const int64_t colRows = Cg * g.kernelSize, dwSize = O * colRows;
  if (dwSize == 0)
    return;
  if (N == 0 || g.outSize == 0) {
    fill(dw, DType::F32, dwSize, 0.0);
    return;
  }
  bool pointwise = g.kernelSize == 1 && g.pad[0] == 0 && g.pad[1] == 0 &&
                   g.pad[2] == 0 && g.stride[0] == 1 && g.stride[1] == 1 &&
                   g.stride[2] == 1 && g.inSize == g.outSize &&
                   g.in[2] == g.out[2] && g.in[1] == g.out[1];

  // Every split below is fixed by the shapes, never by the thread count, and
  // every sgemm runs on one thread (inside a parallel region the BLAS does
  // not split further): OpenBLAS's own split changes the rounding.
  //
  // dW_g (Og x Cg*K) = sum over n of dY_g (Og x outSize) x col^T, over the
  // columns [c0, c0 + cols) of rows [r0, r0 + rows), for batches
  // [nBegin, nEnd) in order (the first overwrites).
  auto accumulate = [&](float *out, int64_t gi, int64_t nBegin, int64_t nEnd,
                        int64_t r0, int64_t rows, int64_t c0, int64_t cols) {
    for (int64_t n = nBegin; n < nEnd; ++n) {
      const float *xg = x + (n * C + gi * Cg) * g.inSize;
      const float *dyg = dy + (n * O + gi * Og) * g.outSize;
      const float *columns = xg;
      if (!pointwise) {
        float *col = cpu::scratchFloats(kColumnSlot, colRows * g.outSize);
        im2col(xg, Cg, g, col);
        columns = col;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                  static_cast<blasint>(rows), static_cast<blasint>(cols),
                  static_cast<blasint>(g.outSize), 1.0f, dyg + r0 * g.outSize,
                  static_cast<blasint>(g.outSize), columns + c0 * g.outSize,
                  static_cast<blasint>(g.outSize), n == nBegin ? 0.0f : 1.0f,
                  out + (gi * Og + r0) * colRows + c0,
                  static_cast<blasint>(colRows));
    }
  };

  // Batches split into chunks, each summed into its own partial dW, then
  // the partials added in chunk order; the partials are capped at 16 MiB.
  const int64_t maxChunks = 8, partialBudget = int64_t(1) << 22;
  const int64_t chunks =
      std::min({N, maxChunks, std::max<int64_t>(1, partialBudget / dwSize)});
  if (chunks > 1 && !omp_in_parallel()) {
    float *partials = cpu::scratchFloats(kPartialSlot, chunks * dwSize);
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < chunks; ++b)
      for (int64_t gi = 0; gi < group; ++gi)
        accumulate(partials + b * dwSize, gi, b * N / chunks,
                   (b + 1) * N / chunks, 0, Og, 0, colRows);
    cpu::parallelRanges(dwSize, chunks, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        float sum = partials[i];
        for (int64_t b = 1; b < chunks; ++b)
          sum += partials[b * dwSize + i];
        dw[i] = sum;
      }
    });
    return;
  }

  // One chunk: fixed tiles of each group's dW_g in parallel (over all
  // groups at once).
  const int64_t tileRows = 64, tileColumns = 256;
  const int64_t rowTiles = (Og + tileRows - 1) / tileRows;
  const int64_t columnTiles = (colRows + tileColumns - 1) / tileColumns;
  const int64_t tilesPerGroup = rowTiles * columnTiles;
  auto tile = [&](int64_t t) {
    const int64_t gi = t / tilesPerGroup, inGroup = t % tilesPerGroup;
    const int64_t r0 = inGroup / columnTiles * tileRows;
    const int64_t c0 = inGroup % columnTiles * tileColumns;
    accumulate(dw, gi, 0, N, r0, std::min(tileRows, Og - r0), c0,
               std::min(tileColumns, colRows - c0));
  };
  const int64_t tiles = group * tilesPerGroup;
  if (omp_in_parallel()) {
    for (int64_t t = 0; t < tiles; ++t)
      tile(t);
    return;
  }
#pragma omp parallel for schedule(dynamic)
  for (int64_t t = 0; t < tiles; ++t)
    tile(t);
}

} // namespace ssrt
