// Shared pieces of the runtime unit tests: deterministic data, N-d index
// arithmetic for the naive reference loops, and tolerant comparisons.
#ifndef SSRT_TEST_SUPPORT_H
#define SSRT_TEST_SUPPORT_H

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace ssrt_test {

using Shape = std::vector<int64_t>;

inline int64_t count(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

inline Shape contiguousStrides(const Shape &s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (size_t d = s.size(); d-- > 0;) {
    st[d] = acc;
    acc *= s[d];
  }
  return st;
}

/// Strides of an operand of shape `s` broadcast to rank `rank` (0 on
/// broadcast dims), the form the kernels take.
inline Shape broadcastStrides(const Shape &s, size_t rank) {
  Shape st(rank, 0);
  Shape own = contiguousStrides(s);
  size_t lead = rank - s.size();
  for (size_t d = 0; d < s.size(); ++d)
    st[lead + d] = s[d] == 1 ? 0 : own[d];
  return st;
}

/// The multi-index of flat position `flat` in `shape`.
inline Shape unravel(int64_t flat, const Shape &shape) {
  Shape idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return idx;
}

inline int64_t dot(const Shape &idx, const Shape &strides) {
  int64_t off = 0;
  for (size_t d = 0; d < idx.size(); ++d)
    off += idx[d] * strides[d];
  return off;
}

/// Deterministic pseudo-random floats in [lo, hi).
inline std::vector<float> randomFloats(int64_t n, uint32_t seed,
                                       float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  uint32_t s = seed * 2654435761u + 12345u;
  for (auto &x : v) {
    s = s * 1664525u + 1013904223u;
    x = lo + (hi - lo) * static_cast<float>(s >> 8) / 16777216.0f;
  }
  return v;
}

inline std::vector<int64_t> randomInts(int64_t n, uint32_t seed, int64_t lo,
                                       int64_t hi) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  uint32_t s = seed * 2246822519u + 7u;
  for (auto &x : v) {
    s = s * 1664525u + 1013904223u;
    x = lo + static_cast<int64_t>((s >> 8) % static_cast<uint32_t>(hi - lo));
  }
  return v;
}

/// Element-by-element comparison with a combined absolute/relative bound;
/// reports the first mismatch's index.
inline void requireClose(const std::vector<float> &actual,
                         const std::vector<float> &expected,
                         float tolerance = 1e-5f) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    float a = actual[i], e = expected[i];
    if (std::isnan(e)) {
      INFO("index " << i);
      REQUIRE(std::isnan(a));
      continue;
    }
    float bound = tolerance * (1.0f + std::fabs(e));
    if (!(std::fabs(a - e) <= bound)) {
      INFO("index " << i << ": got " << a << ", expected " << e);
      REQUIRE(std::fabs(a - e) <= bound);
    }
  }
}

} // namespace ssrt_test

#endif // SSRT_TEST_SUPPORT_H
