// Sum / Mean / Max reductions over any set of dimensions.
#include "fatal_error.h"
#include "lane_reductions.h"
#include "multiversion.h"
#include "ssrt/kernels.h"
#include "strided_iteration.h"

#include <limits>

namespace ssrt {

namespace {

using cpu::maxOf;
using cpu::sumOf;

float initialValue(ReduceOp op) {
  return op == ReduceOp::Max ? std::numeric_limits<float>::lowest() : 0.0f;
}

/// y[o] = reduce(x[o, :]) for rows [begin, end) of length `len`.
SSRT_MULTIVERSION
void reduceRows(ReduceOp op, const float *x, float *y, int64_t len, float count,
                int64_t begin, int64_t end) {
  for (int64_t o = begin; o < end; ++o) {
    const float *run = x + o * len;
    if (op == ReduceOp::Max)
      y[o] = maxOf(run, len);
    else if (op == ReduceOp::Mean)
      y[o] = sumOf(run, len) / count;
    else
      y[o] = sumOf(run, len);
  }
}

/// y[o, :] = reduce over m of x[o, m, :] for blocks [begin, end).
SSRT_MULTIVERSION
void reduceMiddle(ReduceOp op, const float *x, float *y, int64_t middle,
                  int64_t inner, float count, int64_t begin, int64_t end) {
  for (int64_t o = begin; o < end; ++o) {
    float *dst = y + o * inner;
    const float *block = x + o * middle * inner;
    for (int64_t j = 0; j < inner; ++j)
      dst[j] = block[j];
    for (int64_t m = 1; m < middle; ++m) {
      const float *row = block + m * inner;
      if (op == ReduceOp::Max) {
        for (int64_t j = 0; j < inner; ++j)
          dst[j] = row[j] > dst[j] ? row[j] : dst[j];
      } else {
        for (int64_t j = 0; j < inner; ++j)
          dst[j] += row[j];
      }
    }
    if (op == ReduceOp::Mean)
      for (int64_t j = 0; j < inner; ++j)
        dst[j] /= count;
  }
}

} // namespace

void reduce(ReduceOp op, const float *x, float *y, const int64_t *shape,
            int rank, const uint8_t *reduceMask) {
  if (rank > cpu::kMaxDims)
    cpu::fatalError("ssrt: reduce rank %d exceeds %d", rank, cpu::kMaxDims);
  int64_t total = 1, reducedCount = 1;
  for (int d = 0; d < rank; ++d) {
    total *= shape[d];
    if (reduceMask[d])
      reducedCount *= shape[d];
  }
  const int64_t outCount = reducedCount == 0 ? 0 : total / reducedCount;
  if (reducedCount == 0) {
    // Empty reduction: the identity of the op (Mean of nothing is NaN).
    int64_t keptCount = 1;
    for (int d = 0; d < rank; ++d)
      if (!reduceMask[d])
        keptCount *= shape[d];
    float v = op == ReduceOp::Mean ? std::numeric_limits<float>::quiet_NaN()
                                   : initialValue(op);
    for (int64_t i = 0; i < keptCount; ++i)
      y[i] = v;
    return;
  }
  if (outCount == 0)
    return;

  // Merge neighbouring dims of the same kind and drop size-1 dims; the
  // common layouts become [kept, reduced] or [kept, reduced, kept].
  int64_t dims[cpu::kMaxDims];
  bool reduced[cpu::kMaxDims];
  int n = 0;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 1)
      continue;
    bool r = reduceMask[d] != 0;
    if (n > 0 && reduced[n - 1] == r) {
      dims[n - 1] *= shape[d];
    } else {
      dims[n] = shape[d];
      reduced[n] = r;
      ++n;
    }
  }
  auto finish = [&](float v) {
    return op == ReduceOp::Mean ? v / static_cast<float>(reducedCount) : v;
  };

  // Nothing reduced (all reduced dims have size 1): a copy.
  if (reducedCount == 1) {
    for (int64_t i = 0; i < total; ++i)
      y[i] = x[i];
    return;
  }

  // [outer kept] x [reduced run] x [inner kept], outer/inner possibly 1.
  int first = 0;
  int64_t outer = 1, middle = 1, inner = 1;
  bool simple = false;
  if (n >= 1) {
    if (!reduced[0]) {
      outer = dims[0];
      first = 1;
    }
    if (first < n && reduced[first]) {
      middle = dims[first];
      if (first + 1 == n) {
        simple = true;
      } else if (first + 2 == n && !reduced[first + 1]) {
        inner = dims[first + 1];
        simple = true;
      }
    }
  }

  const float count = static_cast<float>(reducedCount);
  if (simple && inner == 1) {
    cpu::parallelRanges(outer, middle, [&](int64_t begin, int64_t end) {
      reduceRows(op, x, y, middle, count, begin, end);
    });
    return;
  }
  if (simple) {
    cpu::parallelRanges(outer, middle * inner, [&](int64_t begin, int64_t end) {
      reduceMiddle(op, x, y, middle, inner, count, begin, end);
    });
    return;
  }

  // General interleaving of kept and reduced dims: one serial pass over x,
  // accumulating into y through strides that are 0 on reduced dims.
  int64_t yStrides[cpu::kMaxDims];
  {
    int64_t s = 1;
    for (int d = n - 1; d >= 0; --d) {
      yStrides[d] = reduced[d] ? 0 : s;
      if (!reduced[d])
        s *= dims[d];
    }
  }
  for (int64_t i = 0; i < outCount; ++i)
    y[i] = initialValue(op);
  int64_t index[cpu::kMaxDims] = {0};
  int64_t yOff = 0;
  const int64_t innerLen = dims[n - 1], innerStride = yStrides[n - 1];
  for (int64_t xOff = 0; xOff < total; xOff += innerLen) {
    const float *run = x + xOff;
    if (innerStride == 0) {
      float &acc = y[yOff];
      if (op == ReduceOp::Max) {
        float m = maxOf(run, innerLen);
        acc = m > acc ? m : acc;
      } else {
        acc += sumOf(run, innerLen);
      }
    } else {
      float *dst = y + yOff;
      if (op == ReduceOp::Max) {
        for (int64_t j = 0; j < innerLen; ++j)
          dst[j] = run[j] > dst[j] ? run[j] : dst[j];
      } else {
        for (int64_t j = 0; j < innerLen; ++j)
          dst[j] += run[j];
      }
    }
    for (int d = n - 2; d >= 0; --d) {
      ++index[d];
      yOff += yStrides[d];
      if (index[d] < dims[d])
        break;
      yOff -= yStrides[d] * dims[d];
      index[d] = 0;
    }
  }
  if (op == ReduceOp::Mean)
    for (int64_t i = 0; i < outCount; ++i)
      y[i] = finish(y[i]);
}

} // namespace ssrt
