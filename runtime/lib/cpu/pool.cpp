// Max and average pooling over 1-3 spatial dims, one independent plane per
// (batch, channel). Common small windows read their input rows directly
// through compile-time kernels; any window is separable: its input rows are
// folded into one row (contiguous, vectorised), then its columns. Planes of
// short rows fold all their rows first and then the columns of the whole
// plane in one pass.
#include "lane_reductions.h"
#include "multiversion.h"
#include "scratch_buffer.h"
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

// Scratch slot (per thread) of the rows folded over each window's input
// rows, one per output row of a plane.
constexpr int kFoldedRowSlot = 0;

enum class PoolKind { Max, Sum };

template <PoolKind kind> SSRT_INLINE float poolInit() {
  return kind == PoolKind::Max ? std::numeric_limits<float>::lowest() : 0.0f;
}

/// Folds v into acc. Max keeps acc unless v is larger, so NaN inputs are
/// skipped (and a window of NaNs gives the lowest float), as before.
template <PoolKind kind> SSRT_INLINE float poolFold(float acc, float v) {
  return kind == PoolKind::Max ? (v > acc ? v : acc) : acc + v;
}

/// Per output index along the depth and height dims: the kernel taps that
/// land inside the input, [lo, hi). Computed once per call so the row loops
/// need no divisions.
struct WindowRows {
  std::vector<int64_t> dLo, dHi, hLo, hHi;

  explicit WindowRows(const SpatialGeometry &g) {
    dLo.resize(static_cast<size_t>(g.out[0]));
    dHi.resize(dLo.size());
    hLo.resize(static_cast<size_t>(g.out[1]));
    hHi.resize(hLo.size());
    for (int64_t od = 0; od < g.out[0]; ++od)
      validRange(g.kernel[0], g.dilation[0], od * g.stride[0] - g.pad[0],
                 g.in[0], dLo[od], dHi[od]);
    for (int64_t oh = 0; oh < g.out[1]; ++oh)
      validRange(g.kernel[1], g.dilation[1], oh * g.stride[1] - g.pad[1],
                 g.in[1], hLo[oh], hHi[oh]);
  }
};

/// out[ow] = fold over R input rows x KW adjacent taps (width stride SW),
/// for output columns [lo, hi) where every tap lands inside the rows;
/// rows[r] points at the input column of output 0, tap 0 (which may lie
/// before the row). Taps are folded row by row, as the definition reads.
/// Compile-time shapes let the strided loads become vector deinterleaves,
/// and reading the rows directly avoids a round trip through memory; `out`
/// is restrict so that short rows skip the runtime overlap checks.
template <PoolKind kind, int R, int KW, int SW>
SSRT_INLINE void poolWindowsInterior(const float *const *rows,
                                     float *__restrict out, int64_t lo,
                                     int64_t hi) {
  const float *r[R];
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i)
    r[i] = rows[i];
  for (int64_t ow = lo; ow < hi; ++ow) {
    float acc = poolInit<kind>();
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
      for (int kw = 0; kw < KW; ++kw)
        acc = poolFold<kind>(acc, r[i][ow * SW + kw]);
    out[ow] = acc;
  }
}

/// poolWindowsInterior for R (1..3) rows.
template <PoolKind kind, int KW, int SW>
SSRT_INLINE void poolWindowsInteriorRows(int64_t R, const float *const *rows,
                                         float *out, int64_t lo, int64_t hi) {
  if (R == 1)
    poolWindowsInterior<kind, 1, KW, SW>(rows, out, lo, hi);
  else if (R == 2)
    poolWindowsInterior<kind, 2, KW, SW>(rows, out, lo, hi);
  else
    poolWindowsInterior<kind, 3, KW, SW>(rows, out, lo, hi);
}

constexpr int64_t kMaxDirectRows = 3;

/// One output row from the R window rows `rows` (each an input row): the
/// interior columns with compile-time kernels where the shape has one
/// (returns false, writing nothing, where it has not), then the edge
/// columns whose windows hang over the padding.
template <PoolKind kind>
SSRT_INLINE bool poolWindows(int64_t R, const float *const *rows, float *out,
                             const SpatialGeometry &g, const WidthTaps &taps) {
  const int64_t OW = g.out[2], sw = g.stride[2], KW = g.kernel[2];
  const int64_t lo = taps.interiorLo, hi = taps.interiorHi;
  if (g.dilation[2] != 1 || R > kMaxDirectRows)
    return false;
  const float *origins[kMaxDirectRows];
  for (int64_t i = 0; i < R; ++i)
    origins[i] = rows[i] - g.pad[2];
  if (KW == 2 && sw == 2)
    poolWindowsInteriorRows<kind, 2, 2>(R, origins, out, lo, hi);
  else if (KW == 3 && sw == 2)
    poolWindowsInteriorRows<kind, 3, 2>(R, origins, out, lo, hi);
  else if (KW == 3 && sw == 1)
    poolWindowsInteriorRows<kind, 3, 1>(R, origins, out, lo, hi);
  else if (KW == 2 && sw == 1)
    poolWindowsInteriorRows<kind, 2, 1>(R, origins, out, lo, hi);
  else
    return false;
  auto edge = [&](int64_t ow) {
    float acc = poolInit<kind>();
    for (int64_t i = 0; i < R; ++i)
      for (int64_t kw = 0; kw < KW; ++kw)
        if (ow >= taps.lo[kw] && ow < taps.hi[kw])
          acc = poolFold<kind>(acc, rows[i][taps.offset[kw] + ow * sw]);
    out[ow] = acc;
  };
  for (int64_t ow = 0; ow < lo; ++ow)
    edge(ow);
  for (int64_t ow = hi; ow < OW; ++ow)
    edge(ow);
  return true;
}

/// Any window: out[ow] = fold over the valid width taps of `row`, an input
/// row already folded over the window's rows; one tap at a time.
template <PoolKind kind>
SSRT_INLINE void poolColumns(const float *row, float *out,
                             const SpatialGeometry &g, const WidthTaps &taps) {
  const int64_t OW = g.out[2], sw = g.stride[2];
  for (int64_t ow = 0; ow < OW; ++ow)
    out[ow] = poolInit<kind>();
  for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
    const float *src = row + taps.offset[kw];
    const int64_t lo = taps.lo[kw], hi = taps.hi[kw];
    if (sw == 1) {
      for (int64_t ow = lo; ow < hi; ++ow)
        out[ow] = poolFold<kind>(out[ow], src[ow]);
    } else {
      for (int64_t ow = lo; ow < hi; ++ow)
        out[ow] = poolFold<kind>(out[ow], src[ow * sw]);
    }
  }
}

/// out[p] = fold over KW adjacent taps of `folded` at p * SW - pad, for
/// p in [begin, end): the interior columns of every row of a plane at once
/// (rows of a small plane are too short to fill vectors).
template <PoolKind kind, int KW, int SW>
SSRT_INLINE void poolFlatInterior(const float *folded, int64_t pad,
                                  float *__restrict out, int64_t begin,
                                  int64_t end) {
  const float *origin = folded - pad;
  for (int64_t p = begin; p < end; ++p) {
    float acc = poolInit<kind>();
#pragma GCC unroll 4
    for (int kw = 0; kw < KW; ++kw)
      acc = poolFold<kind>(acc, origin[p * SW + kw]);
    out[p] = acc;
  }
}

/// The horizontal pass over a whole plane of folded rows when the input
/// width is exactly stride x output width, so that output p of the plane
/// reads folded floats p * SW - pad + kw: one flat loop, after which the
/// edge columns (whose windows overhang the padding, and which the flat
/// loop computed from the neighbouring rows) are redone row by row.
/// Returns false, writing nothing, for shapes without a compiled loop.
template <PoolKind kind>
SSRT_INLINE bool poolColumnsFlat(const float *folded, float *out,
                                 int64_t rowCount, const SpatialGeometry &g,
                                 const WidthTaps &taps) {
  const int64_t OW = g.out[2], IW = g.in[2], sw = g.stride[2];
  const int64_t KW = g.kernel[2], pad = g.pad[2];
  // Rows of a vector or more vectorise well one at a time (poolWindows),
  // without the extra pass.
  if (g.dilation[2] != 1 || IW != sw * OW || OW >= 16)
    return false;
  // Outputs whose taps all lie inside the folded plane.
  const int64_t total = rowCount * OW;
  const int64_t first = (pad + sw - 1) / sw;
  const int64_t last = (rowCount * IW + pad - KW) / sw + 1;
  const int64_t end = last < total ? last : total;
  if (KW == 2 && sw == 2)
    poolFlatInterior<kind, 2, 2>(folded, pad, out, first, end);
  else if (KW == 3 && sw == 2)
    poolFlatInterior<kind, 3, 2>(folded, pad, out, first, end);
  else if (KW == 3 && sw == 1)
    poolFlatInterior<kind, 3, 1>(folded, pad, out, first, end);
  else if (KW == 2 && sw == 1)
    poolFlatInterior<kind, 2, 1>(folded, pad, out, first, end);
  else
    return false;
  for (int64_t r = 0; r < rowCount; ++r) {
    const float *row = folded + r * IW;
    float *o = out + r * OW;
    auto edge = [&](int64_t ow) {
      float acc = poolInit<kind>();
      for (int64_t kw = 0; kw < KW; ++kw)
        if (ow >= taps.lo[kw] && ow < taps.hi[kw])
          acc = poolFold<kind>(acc, row[taps.offset[kw] + ow * sw]);
      o[ow] = acc;
    };
    for (int64_t ow = 0; ow < taps.interiorLo; ++ow)
      edge(ow);
    for (int64_t ow = taps.interiorHi; ow < OW; ++ow)
      edge(ow);
  }
  return true;
}

/// Folds the window rows of output row (od, oh) of `plane` into `folded`
/// (input width, contiguous, vectorised).
template <PoolKind kind>
SSRT_INLINE void
foldWindowRows(const float *plane, float *folded, const SpatialGeometry &g,
               const WindowRows &rows, int64_t od, int64_t oh) {
  const int64_t IH = g.in[1], IW = g.in[2];
  const int64_t dStart = od * g.stride[0] - g.pad[0];
  const int64_t hStart = oh * g.stride[1] - g.pad[1];
  bool firstRow = true;
  for (int64_t kd = rows.dLo[od]; kd < rows.dHi[od]; ++kd) {
    const int64_t id = dStart + kd * g.dilation[0];
    for (int64_t kh = rows.hLo[oh]; kh < rows.hHi[oh]; ++kh) {
      const float *src = plane + (id * IH + hStart + kh * g.dilation[1]) * IW;
      if (firstRow) {
        for (int64_t i = 0; i < IW; ++i)
          folded[i] = poolFold<kind>(poolInit<kind>(), src[i]);
        firstRow = false;
      } else {
        for (int64_t i = 0; i < IW; ++i)
          folded[i] = poolFold<kind>(folded[i], src[i]);
      }
    }
  }
  if (firstRow) // no input row in the window
    for (int64_t i = 0; i < IW; ++i)
      folded[i] = poolInit<kind>();
}

/// Output planes [begin, end). Where the shape allows, each plane's window
/// rows are folded first (all output rows into `folded`) and the columns
/// then folded in one flat pass (poolColumnsFlat); otherwise one output row
/// at a time: small windows read their input rows directly (poolWindows),
/// others fold their rows into `folded` first. Average pooling divides by
/// `divisor` (per output position) afterwards.
template <PoolKind kind>
SSRT_INLINE void poolPlanes(const float *x, float *y, const SpatialGeometry &g,
                            const WidthTaps &taps, const WindowRows &rows,
                            const float *divisor, float *folded, int64_t begin,
                            int64_t end) {
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
  const int64_t IH = g.in[1], IW = g.in[2];
  const bool flat = g.dilation[2] == 1 && IW == g.stride[2] * OW && OW < 16;
  for (int64_t p = begin; p < end; ++p) {
    const float *plane = x + p * g.inSize;
    float *out = y + p * g.outSize;
    if (flat)
      for (int64_t od = 0; od < OD; ++od)
        for (int64_t oh = 0; oh < OH; ++oh)
          foldWindowRows<kind>(plane, folded + (od * OH + oh) * IW, g, rows, od,
                               oh);
    if (!flat || !poolColumnsFlat<kind>(folded, out, OD * OH, g, taps)) {
      for (int64_t od = 0; od < OD; ++od) {
        const int64_t dStart = od * g.stride[0] - g.pad[0];
        for (int64_t oh = 0; oh < OH; ++oh) {
          const int64_t hStart = oh * g.stride[1] - g.pad[1];
          const float *windowRows[kMaxDirectRows];
          int64_t count = 0;
          for (int64_t kd = rows.dLo[od]; kd < rows.dHi[od]; ++kd) {
            const int64_t id = dStart + kd * g.dilation[0];
            for (int64_t kh = rows.hLo[oh]; kh < rows.hHi[oh]; ++kh, ++count)
              if (count < kMaxDirectRows)
                windowRows[count] =
                    plane + (id * IH + hStart + kh * g.dilation[1]) * IW;
          }
          float *o = out + (od * OH + oh) * OW;
          if (poolWindows<kind>(count, windowRows, o, g, taps))
            continue;
          float *row = folded + (od * OH + oh) * IW;
          if (!flat)
            foldWindowRows<kind>(plane, row, g, rows, od, oh);
          poolColumns<kind>(row, o, g, taps);
        }
      }
    }
    if (kind == PoolKind::Sum)
      for (int64_t i = 0; i < g.outSize; ++i)
        out[i] = out[i] / divisor[i];
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
                   const WidthTaps &taps, const WindowRows &rows, float *folded,
                   int64_t begin, int64_t end) {
  if (coversWholeInput(g)) {
    for (int64_t p = begin; p < end; ++p)
      y[p] = cpu::maxOf(x + p * g.inSize, g.inSize);
    return;
  }
  poolPlanes<PoolKind::Max>(x, y, g, taps, rows, nullptr, folded, begin, end);
}

/// `divisor` holds, per output position, the element count of its window.
SSRT_MULTIVERSION
void avgPoolPlanes(const float *x, float *y, const SpatialGeometry &g,
                   const WidthTaps &taps, const WindowRows &rows,
                   const float *divisor, float *folded, int64_t begin,
                   int64_t end) {
  if (coversWholeInput(g)) {
    for (int64_t p = begin; p < end; ++p)
      y[p] = cpu::sumOf(x + p * g.inSize, g.inSize) / divisor[0];
    return;
  }
  poolPlanes<PoolKind::Sum>(x, y, g, taps, rows, divisor, folded, begin, end);
}

} // namespace

void maxPool(const float *x, float *y, int spatialRank, const int64_t *xShape,
             const int64_t *yShape, const int64_t *kernel,
             const int64_t *strides, const int64_t *padsBegin,
             const int64_t *dilations) {
  SpatialGeometry g(spatialRank, xShape + 2, yShape + 2, kernel, strides,
                    padsBegin, dilations);
  const WidthTaps taps(g);
  const WindowRows rows(g);
  const int64_t planes = xShape[0] * xShape[1];
  cpu::parallelRanges(
      planes, g.outSize * g.kernelSize, [&](int64_t begin, int64_t end) {
        maxPoolPlanes(
            x, y, g, taps, rows,
            cpu::scratchFloats(kFoldedRowSlot, g.out[0] * g.out[1] * g.in[2]),
            begin, end);
      });
}

void avgPool(const float *x, float *y, int spatialRank, const int64_t *xShape,
             const int64_t *yShape, const int64_t *kernel,
             const int64_t *strides, const int64_t *padsBegin,
             const int64_t *padsEnd, bool countIncludePad) {
  SpatialGeometry g(spatialRank, xShape + 2, yShape + 2, kernel, strides,
                    padsBegin, nullptr);
  const std::vector<float> divisor =
      cpu::averagePoolDivisors(g, spatialRank, padsEnd, countIncludePad);
  const WidthTaps taps(g);
  const WindowRows rows(g);
  const int64_t planes = xShape[0] * xShape[1];
  cpu::parallelRanges(
      planes, g.outSize * g.kernelSize, [&](int64_t begin, int64_t end) {
        avgPoolPlanes(
            x, y, g, taps, rows, divisor.data(),
            cpu::scratchFloats(kFoldedRowSlot, g.out[0] * g.out[1] * g.in[2]),
            begin, end);
      });
}

} // namespace ssrt
