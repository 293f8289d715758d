// Normalisation kernels: inference batch norm, layer norm and (log-)softmax.
#include "scratch_buffer.h"
#include "ssrt/kernels.h"
#include "ssrt/math.h"
#include "strided_iteration.h"

#include <cmath>
#include <limits>

namespace ssrt {

void batchNorm(const float *x, const float *scale, const float *bias,
               const float *mean, const float *var, float *y, int64_t n,
               int64_t c, int64_t inner, float epsilon) {
  // Folded per channel into y = x * a + b, as onnxruntime does.
  cpu::parallelRanges(n * c, inner, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      int64_t ch = p % c;
      const float a = scale[ch] / std::sqrt(var[ch] + epsilon);
      const float b = bias[ch] - mean[ch] * a;
      const float *src = x + p * inner;
      float *dst = y + p * inner;
      for (int64_t i = 0; i < inner; ++i)
        dst[i] = src[i] * a + b;
    }
  });
}

void layerNorm(const float *x, const float *scale, const float *bias, float *y,
               int64_t outer, int64_t inner, float epsilon) {
  if (inner == 0)
    return;
  cpu::parallelRanges(outer, inner * 4, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float *src = x + r * inner;
      float *dst = y + r * inner;
      // Two passes (mean, then squared deviations) avoid the cancellation of
      // E[x^2] - E[x]^2.
      float sum = 0.0f;
      for (int64_t i = 0; i < inner; ++i)
        sum += src[i];
      const float mu = sum / static_cast<float>(inner);
      float sq = 0.0f;
      for (int64_t i = 0; i < inner; ++i) {
        float d = src[i] - mu;
        sq += d * d;
      }
      const float variance = sq / static_cast<float>(inner);
      const float invStd = 1.0f / std::sqrt(variance + epsilon);
      if (bias) {
        for (int64_t i = 0; i < inner; ++i)
          dst[i] = (src[i] - mu) * invStd * scale[i] + bias[i];
      } else {
        for (int64_t i = 0; i < inner; ++i)
          dst[i] = (src[i] - mu) * invStd * scale[i];
      }
    }
  });
}

namespace {

constexpr int kSoftmaxSlot = 1;

/// Softmax of one contiguous row, shifted by its maximum so exp never
/// overflows.
void softmaxRow(const float *x, float *y, int64_t len, bool logSoftmax) {
  float maxValue = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < len; ++i)
    maxValue = x[i] > maxValue ? x[i] : maxValue;
  float sum = 0.0f;
  if (logSoftmax) {
    for (int64_t i = 0; i < len; ++i)
      sum += math::exp(x[i] - maxValue);
    const float shift = maxValue + math::log(sum);
    for (int64_t i = 0; i < len; ++i)
      y[i] = x[i] - shift;
    return;
  }
  for (int64_t i = 0; i < len; ++i) {
    float e = math::exp(x[i] - maxValue);
    y[i] = e;
    sum += e;
  }
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < len; ++i)
    y[i] *= inv;
}

/// Softmax along a strided axis of one [axis, inner] block: the reductions
/// run over whole inner rows at a time so the loops stay contiguous.
void softmaxBlock(const float *x, float *y, int64_t axis, int64_t inner,
                  bool logSoftmax) {
  float *maxValues = cpu::scratchFloats(kSoftmaxSlot, 2 * inner);
  float *sums = maxValues + inner;
  for (int64_t j = 0; j < inner; ++j) {
    maxValues[j] = -std::numeric_limits<float>::infinity();
    sums[j] = 0.0f;
  }
  for (int64_t a = 0; a < axis; ++a) {
    const float *row = x + a * inner;
    for (int64_t j = 0; j < inner; ++j)
      maxValues[j] = row[j] > maxValues[j] ? row[j] : maxValues[j];
  }
  for (int64_t a = 0; a < axis; ++a) {
    const float *row = x + a * inner;
    float *out = y + a * inner;
    for (int64_t j = 0; j < inner; ++j) {
      float e = math::exp(row[j] - maxValues[j]);
      if (!logSoftmax)
        out[j] = e;
      sums[j] += e;
    }
  }
  if (logSoftmax) {
    for (int64_t j = 0; j < inner; ++j)
      sums[j] = maxValues[j] + math::log(sums[j]);
    for (int64_t a = 0; a < axis; ++a) {
      const float *row = x + a * inner;
      float *out = y + a * inner;
      for (int64_t j = 0; j < inner; ++j)
        out[j] = row[j] - sums[j];
    }
    return;
  }
  for (int64_t j = 0; j < inner; ++j)
    sums[j] = 1.0f / sums[j];
  for (int64_t a = 0; a < axis; ++a) {
    float *out = y + a * inner;
    for (int64_t j = 0; j < inner; ++j)
      out[j] *= sums[j];
  }
}

} // namespace

void softmax(const float *x, float *y, int64_t outer, int64_t axis,
             int64_t inner, bool logSoftmax) {
  if (axis == 0 || inner == 0)
    return;
  const int64_t block = axis * inner;
  if (inner == 1) {
    cpu::parallelRanges(outer, axis * 8, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r)
        softmaxRow(x + r * axis, y + r * axis, axis, logSoftmax);
    });
    return;
  }
  if (outer >= omp_get_max_threads()) {
    cpu::parallelRanges(outer, block * 8, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r)
        softmaxBlock(x + r * block, y + r * block, axis, inner, logSoftmax);
    });
    return;
  }
  // Few outer blocks: split each block's inner columns across threads
  // instead; each column range is an independent softmax.
  for (int64_t r = 0; r < outer; ++r) {
    const float *xb = x + r * block;
    float *yb = y + r * block;
    cpu::parallelRanges(inner, axis * 8, [&](int64_t begin, int64_t end) {
      int64_t width = end - begin;
      float *maxValues = cpu::scratchFloats(kSoftmaxSlot, 2 * width);
      float *sums = maxValues + width;
      for (int64_t j = 0; j < width; ++j) {
        maxValues[j] = -std::numeric_limits<float>::infinity();
        sums[j] = 0.0f;
      }
      for (int64_t a = 0; a < axis; ++a) {
        const float *row = xb + a * inner + begin;
        for (int64_t j = 0; j < width; ++j)
          maxValues[j] = row[j] > maxValues[j] ? row[j] : maxValues[j];
      }
      for (int64_t a = 0; a < axis; ++a) {
        const float *row = xb + a * inner + begin;
        for (int64_t j = 0; j < width; ++j)
          sums[j] += math::exp(row[j] - maxValues[j]);
      }
      for (int64_t j = 0; j < width; ++j)
        sums[j] = logSoftmax ? maxValues[j] + math::log(sums[j])
                             : 1.0f / sums[j];
      for (int64_t a = 0; a < axis; ++a) {
        const float *row = xb + a * inner + begin;
        float *out = yb + a * inner + begin;
        if (logSoftmax) {
          for (int64_t j = 0; j < width; ++j)
            out[j] = row[j] - sums[j];
        } else {
          for (int64_t j = 0; j < width; ++j)
            out[j] = math::exp(row[j] - maxValues[j]) * sums[j];
        }
      }
    });
  }
}

} // namespace ssrt
