// N-d Resize (nearest and N-linear) with ONNX coordinate transformation
// modes, computed in float like onnxruntime.
#include "fatal_error.h"
#include "multiversion.h"
#include "ssrt/kernels.h"
#include "strided_iteration.h"

#include <cmath>
#include <cstring>
#include <vector>

namespace ssrt {

namespace {

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
    return resized <= 1.0f
               ? 0.0f
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
struct AxisTable {
  std::vector<int64_t> lo, hi;
  std::vector<float> weight;
  bool interpolated = false;
};

/// One output row: the weighted sum over the corner source rows of each
/// row's value at the inner dim's source index (or its two neighbours).
SSRT_MULTIVERSION
void resizeRow(const float *x, float *out, int64_t width,
               const int64_t *cornerOffsets, const float *cornerWeights,
               int numCorners, const int64_t *lo, const int64_t *hi,
               const float *weight, bool innerInterpolated) {
  if (numCorners == 1) {
    const float *src = x + cornerOffsets[0];
    if (!innerInterpolated) {
      for (int64_t j = 0; j < width; ++j)
        out[j] = src[lo[j]];
    } else {
      for (int64_t j = 0; j < width; ++j)
        out[j] = (1.0f - weight[j]) * src[lo[j]] + weight[j] * src[hi[j]];
    }
    return;
  }
  for (int64_t j = 0; j < width; ++j)
    out[j] = 0.0f;
  for (int c = 0; c < numCorners; ++c) {
    const float *src = x + cornerOffsets[c];
    const float cw = cornerWeights[c];
    if (!innerInterpolated) {
      for (int64_t j = 0; j < width; ++j)
        out[j] += cw * src[lo[j]];
    } else {
      for (int64_t j = 0; j < width; ++j)
        out[j] +=
            cw * ((1.0f - weight[j]) * src[lo[j]] + weight[j] * src[hi[j]]);
    }
  }
}

} // namespace

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
    t.lo.resize(static_cast<size_t>(out));
    t.hi.resize(t.lo.size());
    t.weight.resize(t.lo.size());
    // A dim kept at its size with scale 1 maps every index to itself.
    const bool identity = in == out && scale == 1.0f;
    t.interpolated = mode == ResizeMode::Linear && !identity;
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
      t.lo[o] = i0 * inStrides[d];
      t.hi[o] = i1 * inStrides[d];
      t.weight[o] = w;
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

  cpu::parallelRanges(
      rows, width * numCorners, [&](int64_t begin, int64_t end) {
        std::vector<int64_t> cornerOffsets(static_cast<size_t>(numCorners));
        std::vector<float> cornerWeights(static_cast<size_t>(numCorners));
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
            cornerOffsets[c] = off;
            cornerWeights[c] = wgt;
          }
          float *out = y + row * width;
          // Rows that read the same source row (nearest upsampling) repeat the
          // previous output row.
          if (numCorners == 1 && row > begin &&
              cornerOffsets[0] == previousOffset) {
            std::memcpy(out, out - width, static_cast<size_t>(width) * 4);
            continue;
          }
          previousOffset = cornerOffsets[0];
          resizeRow(x, out, width, cornerOffsets.data(), cornerWeights.data(),
                    numCorners, inner.lo.data(), inner.hi.data(),
                    inner.weight.data(), inner.interpolated);
        }
      });
}

} // namespace ssrt
