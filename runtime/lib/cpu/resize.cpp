// N-d Resize (nearest and N-linear) with ONNX coordinate transformation
// modes, computed in float like onnxruntime. Linear mode is separable: each
// output row blends its source rows once, then interpolates along the inner
// dim (with a vector loop for 2x upsampling).
#include "fatal_error.h"
#include "multiversion.h"
#include "resize_axis.h"
#include "scratch_buffer.h"
#include "ssrt/kernels.h"
#include "strided_iteration.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace ssrt {

namespace {

// Scratch slot (per thread) of the blended source row.
constexpr int kBlendSlot = 2;

/// The input coordinate that output index `o` maps to along one dim.
float sourceCoordinate(CoordMode coord, int64_t o, float scale, int64_t in,
                       int64_t out) {
  const float x = static_cast<float>(o);
  switch (coord) {
  case CoordMode::HalfPixel:
    return (x + 0.5f) / scale - 0.5f;
  case CoordMode::PytorchHalfPixel:
    return out > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
  case CoordMode::AlignCorners: {
    // ONNX measures the resized length as in * scale, which differs from
    // the (floored) output size when scales rather than sizes were given.
    float resized = static_cast<float>(in) * scale;
    (void)out;
    return resized <= 1.0f ? 0.0f
                           : x * static_cast<float>(in - 1) / (resized - 1.0f);
  }
  case CoordMode::Asymmetric:
    return x / scale;
  }
  cpu::fatalError("ssrt: unknown resize coordinate mode %d",
                  static_cast<int>(coord));
}

int64_t nearestIndex(NearestMode mode, float x) {
  switch (mode) {
  case NearestMode::RoundPreferFloor:
    // Halfway cases go down; std::round would send them away from zero.
    if (x == std::floor(x) + 0.5f)
      return static_cast<int64_t>(std::floor(x));
    return static_cast<int64_t>(std::round(x));
  case NearestMode::RoundPreferCeil:
    if (x == std::floor(x) + 0.5f)
      return static_cast<int64_t>(std::ceil(x));
    return static_cast<int64_t>(std::round(x));
  case NearestMode::Floor:
    return static_cast<int64_t>(std::floor(x));
  case NearestMode::Ceil:
    return static_cast<int64_t>(std::ceil(x));
  }
  cpu::fatalError("ssrt: unknown nearest mode %d", static_cast<int>(mode));
}

/// Per output index along one dim: the two source offsets (already scaled by
/// the input stride) and the weight of the second.
using AxisTable = cpu::ResizeAxis;

/// The inner dim of a linear 2x upsample: away from the edges, output 2m + r
/// (r = 0, 1) interpolates input m + lo[r] and m + hi[r] with weight[r], the
/// same for every m in [mBegin, mEnd). Found by comparing the table entries,
/// so the vector loop computes exactly what the table says.
struct PairPattern {
  bool found = false;
  int64_t lo[2] = {}, hi[2] = {};
  float weight[2] = {};
  int64_t mBegin = 0, mEnd = 0;

  explicit PairPattern(const AxisTable &t) {
    const int64_t out = static_cast<int64_t>(t.lo.size());
    if (!t.interpolated || out < 16)
      return;
    const int64_t mid = out / 4; // a pair well inside the row
    for (int r = 0; r < 2; ++r) {
      lo[r] = t.lo[2 * mid + r] - mid;
      hi[r] = t.hi[2 * mid + r] - mid;
      weight[r] = t.weight[2 * mid + r];
    }
    auto matches = [&](int64_t m) {
      for (int r = 0; r < 2; ++r) {
        const int64_t j = 2 * m + r;
        if (t.lo[j] != m + lo[r] || t.hi[j] != m + hi[r] ||
            t.weight[j] != weight[r])
          return false;
      }
      return true;
    };
    mBegin = mid;
    while (mBegin > 0 && matches(mBegin - 1))
      --mBegin;
    mEnd = mid + 1;
    while (2 * mEnd + 1 < out && matches(mEnd))
      ++mEnd;
    found = mEnd - mBegin >= 4;
  }
};

/// Blends the corner source rows into `row` (the input width): row[i] =
/// sum over corners of weight * source[i]. Contiguous, so it vectorises.
SSRT_MULTIVERSION
void blendRows(const float *x, float *row, int64_t width,
               const int64_t *cornerOffsets, const float *cornerWeights,
               int numCorners) {
  const float *src0 = x + cornerOffsets[0];
  const float w0 = cornerWeights[0];
  if (numCorners == 2) {
    const float *src1 = x + cornerOffsets[1];
    const float w1 = cornerWeights[1];
    for (int64_t i = 0; i < width; ++i)
      row[i] = w0 * src0[i] + w1 * src1[i];
    return;
  }
  for (int64_t i = 0; i < width; ++i)
    row[i] = w0 * src0[i];
  for (int c = 1; c < numCorners; ++c) {
    const float *src = x + cornerOffsets[c];
    const float cw = cornerWeights[c];
    for (int64_t i = 0; i < width; ++i)
      row[i] += cw * src[i];
  }
}

/// out[2m + r] for m in [mBegin, mEnd) from the pair pattern: even and odd
/// outputs read shifted contiguous runs of src and are stored interleaved.
SSRT_INLINE void lerpPairs(const float *src, float *__restrict out,
                           const PairPattern &pairs, int64_t mBegin,
                           int64_t mEnd) {
  const float *__restrict a0 = src + pairs.lo[0];
  const float *__restrict b0 = src + pairs.hi[0];
  const float *__restrict a1 = src + pairs.lo[1];
  const float *__restrict b1 = src + pairs.hi[1];
  const float w0 = pairs.weight[0], w1 = pairs.weight[1];
  const float v0 = 1.0f - w0, v1 = 1.0f - w1;
  for (int64_t m = mBegin; m < mEnd; ++m) {
    out[2 * m] = v0 * a0[m] + w0 * b0[m];
    out[2 * m + 1] = v1 * a1[m] + w1 * b1[m];
  }
}

/// One output row from one (blended) source row along the inner dim.
SSRT_MULTIVERSION
void resizeInner(const float *src, float *out, const AxisTable &inner,
                 const PairPattern &pairs) {
  const int64_t width = static_cast<int64_t>(inner.lo.size());
  const int64_t *lo = inner.lo.data(), *hi = inner.hi.data();
  const float *weight = inner.weight.data();
  if (inner.identity) {
    std::memcpy(out, src, static_cast<size_t>(width) * sizeof(float));
    return;
  }
  if (!inner.interpolated) {
    for (int64_t j = 0; j < width; ++j)
      out[j] = src[lo[j]];
    return;
  }
  auto lerp = [&](int64_t j) {
    out[j] = (1.0f - weight[j]) * src[lo[j]] + weight[j] * src[hi[j]];
  };
  if (!pairs.found) {
    for (int64_t j = 0; j < width; ++j)
      lerp(j);
    return;
  }
  for (int64_t j = 0; j < 2 * pairs.mBegin; ++j)
    lerp(j);
  // Even and odd outputs read shifted contiguous runs of the source and
  // are stored interleaved.
  lerpPairs(src, out, pairs, pairs.mBegin, pairs.mEnd);
  for (int64_t j = 2 * pairs.mEnd; j < width; ++j)
    lerp(j);
}

/// The horizontal pass over `rows` consecutive rows of inWidth floats.
/// For 2x upsampling the pair loop runs over all rows as one sequence (rows
/// of a small image are too short to fill vectors); it computes the edge
/// columns of each row from the neighbouring rows, so those are redone
/// from the table afterwards.
SSRT_MULTIVERSION
void resizeRowsInner(const float *src, float *dst, int64_t rows,
                     int64_t inWidth, const AxisTable &inner,
                     const PairPattern &pairs) {
  const int64_t width = static_cast<int64_t>(inner.lo.size());
  if (!pairs.found || width != 2 * inWidth) {
    for (int64_t r = 0; r < rows; ++r)
      resizeInner(src + r * inWidth, dst + r * width, inner, pairs);
    return;
  }
  // Pairs whose reads stay inside the whole sequence.
  const int64_t total = rows * inWidth;
  int64_t mStart = 0, mStop = total;
  for (int r = 0; r < 2; ++r) {
    const int64_t low = std::min(pairs.lo[r], pairs.hi[r]);
    const int64_t high = std::max(pairs.lo[r], pairs.hi[r]);
    mStart = std::max(mStart, -low);
    mStop = std::min(mStop, total - high);
  }
  lerpPairs(src, dst, pairs, mStart, mStop);
  const int64_t *lo = inner.lo.data(), *hi = inner.hi.data();
  const float *weight = inner.weight.data();
  for (int64_t r = 0; r < rows; ++r) {
    const float *s = src + r * inWidth;
    float *d = dst + r * width;
    for (int64_t j = 0; j < 2 * pairs.mBegin; ++j)
      d[j] = (1.0f - weight[j]) * s[lo[j]] + weight[j] * s[hi[j]];
    for (int64_t j = 2 * pairs.mEnd; j < width; ++j)
      d[j] = (1.0f - weight[j]) * s[lo[j]] + weight[j] * s[hi[j]];
  }
}

/// The vertical pass of `planes` images: output row oh of a plane = (1 - w)
/// * row lo + w * row hi of its horizontally resized rows (outW floats
/// each, inH per plane in `rows`).
SSRT_MULTIVERSION
void resizeColumns(const float *rows, float *out, int64_t planes, int64_t inH,
                   const AxisTable &rowsTable, const int64_t *rowLo,
                   const int64_t *rowHi, int64_t outW) {
  const int64_t outH = static_cast<int64_t>(rowsTable.lo.size());
  for (int64_t p = 0; p < planes; ++p) {
    const float *plane = rows + p * inH * outW;
    for (int64_t oh = 0; oh < outH; ++oh, out += outW) {
      const float *a = plane + rowLo[oh] * outW;
      if (!rowsTable.interpolated) {
        std::memcpy(out, a, static_cast<size_t>(outW) * sizeof(float));
        continue;
      }
      const float *b = plane + rowHi[oh] * outW;
      const float w = rowsTable.weight[oh], v = 1.0f - w;
      for (int64_t i = 0; i < outW; ++i)
        out[i] = v * a[i] + w * b[i];
    }
  }
}

/// Linear resize of the last two dims of `planes` images (every other dim
/// unchanged): the horizontal pass over each input row, then the vertical
/// pass between two horizontally resized rows per output row; planes are
/// taken a few at a time so that the intermediate rows stay in cache.
void resizeImages(const float *x, float *y, int64_t planes, int64_t inH,
                  int64_t inW, int64_t outH, int64_t outW,
                  const AxisTable &rowsTable, const AxisTable &colsTable) {
  const PairPattern pairs(colsTable);
  // Input row indices (the table holds element offsets, index * inW).
  std::vector<int64_t> rowIndices(static_cast<size_t>(2 * outH));
  int64_t *rowLo = rowIndices.data(), *rowHi = rowLo + outH;
  for (int64_t oh = 0; oh < outH; ++oh) {
    rowLo[oh] = rowsTable.lo[oh] / inW;
    rowHi[oh] = rowsTable.hi[oh] / inW;
  }
  cpu::parallelRanges(planes, outH * outW, [&](int64_t begin, int64_t end) {
    const int64_t perChunk = std::max<int64_t>(1, (1 << 14) / (inH * outW));
    float *resized =
        colsTable.identity
            ? nullptr
            : cpu::scratchFloats(kBlendSlot,
                                 std::min(perChunk, end - begin) * inH * outW);
    for (int64_t p0 = begin; p0 < end; p0 += perChunk) {
      const int64_t p1 = std::min(end, p0 + perChunk);
      const float *rows = x + p0 * inH * inW;
      if (resized) {
        resizeRowsInner(rows, resized, (p1 - p0) * inH, inW, colsTable, pairs);
        rows = resized;
      }
      resizeColumns(rows, y + p0 * outH * outW, p1 - p0, inH, rowsTable, rowLo,
                    rowHi, outW);
    }
  });
}

} // namespace

cpu::ResizeAxis cpu::resizeAxis(int64_t in, int64_t out, float scale,
                                ResizeMode mode, CoordMode coord,
                                NearestMode nearest) {
  ResizeAxis t;
  t.lo.resize(static_cast<size_t>(out));
  t.hi.resize(t.lo.size());
  t.weight.resize(t.lo.size());
  // A dim kept at its size with scale 1 maps every index to itself.
  const bool identity = in == out && scale == 1.0f;
  t.interpolated = mode == ResizeMode::Linear && !identity;
  t.identity = identity;
  for (int64_t o = 0; o < out; ++o) {
    int64_t i0 = o, i1 = o;
    float w = 0.0f;
    if (!identity) {
      float c = sourceCoordinate(coord, o, scale, in, out);
      if (mode == ResizeMode::Nearest) {
        i0 = nearestIndex(nearest, c);
        i0 = i0 < 0 ? 0 : (i0 >= in ? in - 1 : i0);
        i1 = i0;
      } else {
        c = c < 0.0f ? 0.0f : c;
        c = c > static_cast<float>(in - 1) ? static_cast<float>(in - 1) : c;
        i0 = static_cast<int64_t>(c);
        i1 = i0 + 1 < in ? i0 + 1 : in - 1;
        w = c - static_cast<float>(i0);
      }
    }
    t.lo[o] = i0;
    t.hi[o] = i1;
    t.weight[o] = w;
  }
  return t;
}

void resize(const float *x, float *y, const int64_t *inShape,
            const int64_t *outShape, const float *scales, int rank,
            ResizeMode mode, CoordMode coord, NearestMode nearest) {
  if (rank > cpu::kMaxDims)
    cpu::fatalError("ssrt: rank %d exceeds the supported %d", rank,
                    cpu::kMaxDims);
  int64_t outCount = 1;
  for (int d = 0; d < rank; ++d)
    outCount *= outShape[d];
  if (outCount == 0)
    return;
  if (rank == 0) {
    y[0] = x[0];
    return;
  }
  for (int d = 0; d < rank; ++d)
    if (inShape[d] == 0)
      cpu::fatalError("ssrt: resize of an empty input");

  int64_t inStrides[cpu::kMaxDims];
  cpu::contiguousStrides(inShape, rank, inStrides);
  std::vector<AxisTable> tables(static_cast<size_t>(rank));
  for (int d = 0; d < rank; ++d) {
    const int64_t in = inShape[d], out = outShape[d];
    const float scale =
        scales ? scales[d] : static_cast<float>(out) / static_cast<float>(in);
    AxisTable &t = tables[d];
    t = cpu::resizeAxis(in, out, scale, mode, coord, nearest);
    for (int64_t o = 0; o < out; ++o) {
      t.lo[o] *= inStrides[d];
      t.hi[o] *= inStrides[d];
    }
  }

  const int last = rank - 1;
  const int64_t width = outShape[last];
  const int64_t rows = outCount / width;
  int interpolatedOuter[cpu::kMaxDims];
  int numInterpolatedOuter = 0;
  for (int d = 0; d < last; ++d)
    if (tables[d].interpolated)
      interpolatedOuter[numInterpolatedOuter++] = d;
  const int numCorners = 1 << numInterpolatedOuter;
  const AxisTable &inner = tables[last];

  // Images: linear resize of (at most) the last two dims.
  if (mode == ResizeMode::Linear && rank >= 2 &&
      (numInterpolatedOuter == 0 ||
       (numInterpolatedOuter == 1 && interpolatedOuter[0] == last - 1))) {
    resizeImages(x, y, rows / outShape[last - 1], inShape[last - 1],
                 inShape[last], outShape[last - 1], width, tables[last - 1],
                 inner);
    return;
  }

  const PairPattern pairs(inner);
  const int64_t inWidth = inShape[last];

  cpu::parallelRanges(
      rows, width * numCorners, [&](int64_t begin, int64_t end) {
        int64_t cornerOffsets[1 << 6];
        float cornerWeights[1 << 6];
        std::vector<int64_t> heapOffsets;
        std::vector<float> heapWeights;
        int64_t *offsets = cornerOffsets;
        float *weights = cornerWeights;
        if (numCorners > (1 << 6)) {
          heapOffsets.resize(static_cast<size_t>(numCorners));
          heapWeights.resize(static_cast<size_t>(numCorners));
          offsets = heapOffsets.data();
          weights = heapWeights.data();
        }
        float *blended =
            numCorners > 1 ? cpu::scratchFloats(kBlendSlot, inWidth) : nullptr;
        int64_t index[cpu::kMaxDims];
        int64_t previousOffset = -1;
        for (int64_t row = begin; row < end; ++row) {
          int64_t rem = row, base = 0;
          for (int d = last - 1; d >= 0; --d) {
            index[d] = rem % outShape[d];
            rem /= outShape[d];
            if (!tables[d].interpolated)
              base += tables[d].lo[index[d]];
          }
          // Every combination of the low/high neighbour along the interpolated
          // outer dims, with the product of its weights.
          for (int c = 0; c < numCorners; ++c) {
            int64_t off = base;
            float wgt = 1.0f;
            for (int k = 0; k < numInterpolatedOuter; ++k) {
              const AxisTable &t = tables[interpolatedOuter[k]];
              int64_t o = index[interpolatedOuter[k]];
              bool high = (c >> k) & 1;
              off += high ? t.hi[o] : t.lo[o];
              wgt *= high ? t.weight[o] : 1.0f - t.weight[o];
            }
            offsets[c] = off;
            weights[c] = wgt;
          }
          float *out = y + row * width;
          if (numCorners == 1) {
            // Rows that read the same source row (nearest upsampling) repeat
            // the previous output row.
            if (row > begin && offsets[0] == previousOffset) {
              std::memcpy(out, out - width, static_cast<size_t>(width) * 4);
              continue;
            }
            previousOffset = offsets[0];
            resizeInner(x + offsets[0], out, inner, pairs);
            continue;
          }
          // Blend the source rows first (inWidth values), then interpolate
          // along the inner dim once, rather than per corner; an unchanged
          // inner dim blends straight into the output.
          if (inner.identity) {
            blendRows(x, out, width, offsets, weights, numCorners);
            continue;
          }
          blendRows(x, blended, inWidth, offsets, weights, numCorners);
          resizeInner(blended, out, inner, pairs);
        }
      });
}

} // namespace ssrt
