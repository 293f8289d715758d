// Accuracy of the host polynomial exp / erf / tanh in ssrt/math.h against
// double-precision libm, plus their special values.
#include "ssrt/math.h"
#include "test_support.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace {

/// Distance from `got` to the exact value in units of the float spacing at
/// the exact value (denormal spacing near zero).
double ulpError(float got, double exact) {
  const float rounded = static_cast<float>(exact);
  if (std::isinf(rounded))
    return got == rounded ? 0.0 : 1e9;
  double spacing = std::nextafter(std::fabs(rounded),
                                  std::numeric_limits<float>::infinity()) -
                   std::fabs(rounded);
  return std::fabs(static_cast<double>(got) - exact) / spacing;
}

/// Calls check(x) for a spread of floats: every 4093rd bit pattern of the
/// positive and negative finite range.
template <typename F> void forSampledFloats(F check) {
  for (uint64_t bits = 0; bits < 0x7f800000u; bits += 4093) {
    for (uint32_t sign : {0u, 0x80000000u}) {
      uint32_t b = static_cast<uint32_t>(bits) | sign;
      float x;
      std::memcpy(&x, &b, sizeof x);
      check(x);
    }
  }
}

} // namespace

TEST_CASE("host exp is within 2 ulp of libm", "[math]") {
  double worst = 0;
  float worstAt = 0;
  forSampledFloats([&](float x) {
    double exact = std::exp(static_cast<double>(x));
    if (exact < 1.1754943508222875e-38) // denormal results: absolute check
      REQUIRE(std::fabs(ssrt::math::exp(x) - exact) <= 2e-45);
    else if (ulpError(ssrt::math::exp(x), exact) > worst) {
      worst = ulpError(ssrt::math::exp(x), exact);
      worstAt = x;
    }
  });
  INFO("worst at " << worstAt);
  CHECK(worst <= 2.0);
  CHECK(std::isnan(ssrt::math::exp(NAN)));
  CHECK(ssrt::math::exp(INFINITY) == INFINITY);
  CHECK(ssrt::math::exp(89.0f) == INFINITY);
  CHECK(ssrt::math::exp(-INFINITY) == 0.0f);
  CHECK(ssrt::math::exp(-200.0f) == 0.0f);
  CHECK(ssrt::math::exp(0.0f) == 1.0f);
  CHECK(std::isfinite(ssrt::math::exp(88.72f)));
}

TEST_CASE("host erf and tanh are within 4 ulp of libm", "[math]") {
  double worstErf = 0, worstTanh = 0;
  forSampledFloats([&](float x) {
    double e = ulpError(ssrt::math::erf(x), std::erf(static_cast<double>(x)));
    double t = ulpError(ssrt::math::tanh(x), std::tanh(static_cast<double>(x)));
    worstErf = e > worstErf ? e : worstErf;
    worstTanh = t > worstTanh ? t : worstTanh;
  });
  CHECK(worstErf <= 4.0);
  CHECK(worstTanh <= 4.0);
  CHECK(std::isnan(ssrt::math::erf(NAN)));
  CHECK(std::isnan(ssrt::math::tanh(NAN)));
  CHECK(ssrt::math::erf(INFINITY) == 1.0f);
  CHECK(ssrt::math::erf(-INFINITY) == -1.0f);
  CHECK(ssrt::math::tanh(-INFINITY) == -1.0f);
  CHECK(std::signbit(ssrt::math::erf(-0.0f)));
  CHECK(std::signbit(ssrt::math::tanh(-0.0f)));
}

TEST_CASE("sigmoid, clip and relu edge values", "[math]") {
  CHECK(ssrt::math::sigmoid(-1000.0f) == 0.0f);
  CHECK(ssrt::math::sigmoid(1000.0f) == 1.0f);
  CHECK(ssrt::math::sigmoid(0.0f) == 0.5f);
  CHECK(std::isnan(ssrt::math::clip(NAN, 0.0f, 1.0f)));
  CHECK(std::isnan(ssrt::math::relu(NAN)));
  CHECK(ssrt::math::leakyRelu(-2.0f, 0.5f) == -1.0f);
  CHECK(ssrt::math::divInt<int64_t>(7, 0) == 0);
  CHECK(ssrt::math::divInt<uint8_t>(255, 255) == 1);
  CHECK(ssrt::math::divInt<int32_t>(INT32_MIN, -1) == INT32_MIN);
  CHECK(ssrt::math::powInt<int64_t>(-1, -3) == -1);
  CHECK(ssrt::math::powInt<int64_t>(3, 4) == 81);
}
