// Sum and max of a contiguous run written with independent lane
// accumulators, which the compiler turns into vector code (a single running
// float total cannot be reassociated without -ffast-math).
#ifndef SSRT_CPU_LANE_REDUCTIONS_H
#define SSRT_CPU_LANE_REDUCTIONS_H

#include "multiversion.h"

#include <cstdint>
#include <limits>

namespace ssrt {
namespace cpu {

constexpr int kLanes = 16;

SSRT_INLINE float sumOf(const float *x, int64_t n) {
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l)
      lanes[l] += x[i + l];
  float total = 0.0f;
  for (int l = 0; l < kLanes; ++l)
    total += lanes[l];
  for (; i < n; ++i)
    total += x[i];
  return total;
}

/// Sum of (x[i] - mean)^2.
SSRT_INLINE float squaredDeviationOf(const float *x, int64_t n, float mean) {
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      float d = x[i + l] - mean;
      lanes[l] += d * d;
    }
  float total = 0.0f;
  for (int l = 0; l < kLanes; ++l)
    total += lanes[l];
  for (; i < n; ++i) {
    float d = x[i] - mean;
    total += d * d;
  }
  return total;
}

SSRT_INLINE float maxOf(const float *x, int64_t n) {
  float lanes[kLanes];
  for (int l = 0; l < kLanes; ++l)
    lanes[l] = std::numeric_limits<float>::lowest();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l)
      lanes[l] = x[i + l] > lanes[l] ? x[i + l] : lanes[l];
  float best = std::numeric_limits<float>::lowest();
  for (int l = 0; l < kLanes; ++l)
    best = lanes[l] > best ? lanes[l] : best;
  for (; i < n; ++i)
    best = x[i] > best ? x[i] : best;
  return best;
}

} // namespace cpu
} // namespace ssrt

#endif // SSRT_CPU_LANE_REDUCTIONS_H
