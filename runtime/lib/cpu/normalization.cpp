// Normalisation kernels: inference batch norm, layer norm and (log-)softmax.
#include "lane_reductions.h"
#include "multiversion.h"
#include "scratch_buffer.h"
#include "ssrt/kernels.h"
#include "ssrt/math.h"
#include "strided_iteration.h"

#include <cmath>
#include <limits>

namespace ssrt {

using cpu::maxOf;
using cpu::squaredDeviationOf;
using cpu::sumOf;

namespace {

constexpr int kSoftmaxSlot = 1;

/// Planes [begin, end) of [n, c, inner], folded per channel into
/// y = x * a + b as onnxruntime does.
SSRT_MULTIVERSION
void batchNormPlanes(const float *x, const float *scale, const float *bias,
                     const float *mean, const float *var, float *y, int64_t c,
                     int64_t inner, float epsilon, int64_t begin, int64_t end) {
  for (int64_t p = begin; p < end; ++p) {
    const int64_t ch = p % c;
    const float a = scale[ch] / std::sqrt(var[ch] + epsilon);
    const float b = bias[ch] - mean[ch] * a;
    const float *src = x + p * inner;
    float *dst = y + p * inner;
    for (int64_t i = 0; i < inner; ++i)
      dst[i] = src[i] * a + b;
  }
}

/// Rows [begin, end) of layer norm. Two passes (mean, then squared
/// deviations) avoid the cancellation of E[x^2] - E[x]^2.
SSRT_MULTIVERSION
void layerNormRows(const float *x, const float *scale, const float *bias,
                   float *y, int64_t inner, float epsilon, int64_t begin,
                   int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const float *src = x + r * inner;
    float *dst = y + r * inner;
    const float mu = sumOf(src, inner) / static_cast<float>(inner);
    const float variance =
        squaredDeviationOf(src, inner, mu) / static_cast<float>(inner);
    const float invStd = 1.0f / std::sqrt(variance + epsilon);
    if (bias) {
      for (int64_t i = 0; i < inner; ++i)
        dst[i] = (src[i] - mu) * invStd * scale[i] + bias[i];
    } else {
      for (int64_t i = 0; i < inner; ++i)
        dst[i] = (src[i] - mu) * invStd * scale[i];
    }
  }
}

/// Softmax of contiguous rows [begin, end) of length `len`, shifted by each
/// row's maximum so exp never overflows.
SSRT_MULTIVERSION
void softmaxRows(const float *x, float *y, int64_t len, bool logSoftmax,
                 int64_t begin, int64_t end) {
  for (int64_t row = begin; row < end; ++row) {
    const float *src = x + row * len;
    float *dst = y + row * len;
    const float maxValue = maxOf(src, len);
    for (int64_t i = 0; i < len; ++i)
      dst[i] = math::exp(src[i] - maxValue);
    const float sum = sumOf(dst, len);
    if (logSoftmax) {
      const float shift = maxValue + math::log(sum);
      for (int64_t i = 0; i < len; ++i)
        dst[i] = src[i] - shift;
    } else {
      const float inv = 1.0f / sum;
      for (int64_t i = 0; i < len; ++i)
        dst[i] *= inv;
    }
  }
}

/// Softmax along the strided axis of one [axis, inner] block, for inner
/// columns [begin, end): the reductions run across whole rows so that the
/// loops stay contiguous.
SSRT_MULTIVERSION
void softmaxColumns(const float *x, float *y, int64_t axis, int64_t inner,
                    bool logSoftmax, int64_t begin, int64_t end) {
  const int64_t width = end - begin;
  float *maxValues = cpu::scratchFloats(kSoftmaxSlot, 2 * width);
  float *sums = maxValues + width;
  for (int64_t j = 0; j < width; ++j) {
    maxValues[j] = -std::numeric_limits<float>::infinity();
    sums[j] = 0.0f;
  }
  for (int64_t a = 0; a < axis; ++a) {
    const float *row = x + a * inner + begin;
    for (int64_t j = 0; j < width; ++j)
      maxValues[j] = row[j] > maxValues[j] ? row[j] : maxValues[j];
  }
  for (int64_t a = 0; a < axis; ++a) {
    const float *row = x + a * inner + begin;
    float *out = y + a * inner + begin;
    for (int64_t j = 0; j < width; ++j) {
      const float e = math::exp(row[j] - maxValues[j]);
      out[j] = e;
      sums[j] += e;
    }
  }
  if (logSoftmax) {
    for (int64_t j = 0; j < width; ++j)
      sums[j] = maxValues[j] + math::log(sums[j]);
    for (int64_t a = 0; a < axis; ++a) {
      const float *row = x + a * inner + begin;
      float *out = y + a * inner + begin;
      for (int64_t j = 0; j < width; ++j)
        out[j] = row[j] - sums[j];
    }
    return;
  }
  for (int64_t j = 0; j < width; ++j)
    sums[j] = 1.0f / sums[j];
  for (int64_t a = 0; a < axis; ++a) {
    float *out = y + a * inner + begin;
    for (int64_t j = 0; j < width; ++j)
      out[j] *= sums[j];
  }
}

} // namespace

void batchNorm(const float *x, const float *scale, const float *bias,
               const float *mean, const float *var, float *y, int64_t n,
               int64_t c, int64_t inner, float epsilon) {
  cpu::parallelRanges(n * c, inner, [&](int64_t begin, int64_t end) {
    batchNormPlanes(x, scale, bias, mean, var, y, c, inner, epsilon, begin,
                    end);
  });
}

void layerNorm(const float *x, const float *scale, const float *bias, float *y,
               int64_t outer, int64_t inner, float epsilon) {
  if (inner == 0)
    return;
  cpu::parallelRanges(outer, inner * 4, [&](int64_t begin, int64_t end) {
    layerNormRows(x, scale, bias, y, inner, epsilon, begin, end);
  });
}

void softmax(const float *x, float *y, int64_t outer, int64_t axis,
             int64_t inner, bool logSoftmax) {
  if (axis == 0 || inner == 0)
    return;
  if (inner == 1) {
    cpu::parallelRanges(outer, axis * 8, [&](int64_t begin, int64_t end) {
      softmaxRows(x, y, axis, logSoftmax, begin, end);
    });
    return;
  }
  const int64_t block = axis * inner;
  if (outer >= omp_get_max_threads()) {
    cpu::parallelRanges(outer, block * 8, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r)
        softmaxColumns(x + r * block, y + r * block, axis, inner, logSoftmax, 0,
                       inner);
    });
    return;
  }
  // Few outer blocks: split each block's columns across threads instead.
  for (int64_t r = 0; r < outer; ++r)
    cpu::parallelRanges(inner, axis * 8, [&](int64_t begin, int64_t end) {
      softmaxColumns(x + r * block, y + r * block, axis, inner, logSoftmax,
                     begin, end);
    });
}

} // namespace ssrt
