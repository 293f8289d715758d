// Tests of the training kernels: each gradient against central differences
// of a double-precision forward written here, the learning-rate schedules at
// hand-computed steps, SGD and AdamW against double references of PyTorch's
// update formulas, in-place updates, and bitwise independence from the
// thread count.
#include "ssrt/kernels.h"
#include "test_support.h"

#include <omp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>

using namespace ssrt;
using namespace ssrt_test;

namespace {

using Loss = std::function<double(const std::vector<double> &)>;

/// d loss / d x by central differences in double; the step is small enough
/// for the truncation error (h^2) to stay far below the float tolerances.
std::vector<float> centralDifferences(const Loss &loss,
                                      const std::vector<float> &x,
                                      double h = 1e-4) {
  std::vector<double> at(x.begin(), x.end());
  std::vector<float> grad(x.size());
  for (size_t i = 0; i < at.size(); ++i) {
    const double saved = at[i];
    at[i] = saved + h;
    const double plus = loss(at);
    at[i] = saved - h;
    const double minus = loss(at);
    at[i] = saved;
    grad[i] = static_cast<float>((plus - minus) / (2 * h));
  }
  return grad;
}

std::vector<double> toDouble(const std::vector<float> &x) {
  return std::vector<double>(x.begin(), x.end());
}

std::vector<float> toFloat(const std::vector<double> &x) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    y[i] = static_cast<float>(x[i]);
  return y;
}

/// |actual[i] - expected[i]| <= tolerance * magnitude[i] for every element,
/// where magnitude is the size of the terms that make up expected[i] (by
/// default |expected[i]|): a tight check for kernels that sum in double and
/// round once, which a float accumulator fails.
void requireRelativeClose(const std::vector<float> &actual,
                          const std::vector<double> &expected, double tolerance,
                          std::vector<double> magnitude = {}) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], e = expected[i];
    const double bound =
        tolerance * (magnitude.empty() ? std::fabs(e) : magnitude[i]);
    if (!(std::fabs(a - e) <= bound)) {
      INFO("index " << i << ": got " << a << ", expected " << e);
      REQUIRE(std::fabs(a - e) <= bound);
    }
  }
}

bool bitwiseEqual(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

/// Sets the OpenMP thread count for one scope and restores it after.
class ThreadCount {
public:
  explicit ThreadCount(int threads) : saved(omp_get_max_threads()) {
    omp_set_num_threads(threads);
  }
  ~ThreadCount() { omp_set_num_threads(saved); }

private:
  int saved;
};

// --- double forward references ---------------------------------------------

std::vector<double> softmaxReference(const std::vector<double> &x,
                                     int64_t outer, int64_t axis, int64_t inner,
                                     bool log) {
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      auto at = [&](int64_t a) { return (o * axis + a) * inner + j; };
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t a = 0; a < axis; ++a)
        m = std::max(m, x[at(a)]);
      double s = 0;
      for (int64_t a = 0; a < axis; ++a)
        s += std::exp(x[at(a)] - m);
      for (int64_t a = 0; a < axis; ++a)
        y[at(a)] =
            log ? x[at(a)] - m - std::log(s) : std::exp(x[at(a)] - m) / s;
    }
  return y;
}

std::vector<double> layerNormReference(const std::vector<double> &x,
                                       const std::vector<float> &scale,
                                       int64_t outer, int64_t inner,
                                       double eps) {
  std::vector<double> y(x.size());
  for (int64_t r = 0; r < outer; ++r) {
    const double *row = x.data() + r * inner;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < inner; ++i)
      mean += row[i];
    mean /= inner;
    for (int64_t i = 0; i < inner; ++i)
      var += (row[i] - mean) * (row[i] - mean);
    var /= inner;
    for (int64_t i = 0; i < inner; ++i)
      y[r * inner + i] = (row[i] - mean) / std::sqrt(var + eps) * scale[i];
  }
  return y;
}

/// The documented layer-norm gradient formula in double.
std::vector<double> layerNormGradReference(const std::vector<float> &x,
                                           const std::vector<float> &scale,
                                           const std::vector<float> &dy,
                                           int64_t outer, int64_t inner,
                                           double eps) {
  std::vector<double> dx(x.size());
  for (int64_t r = 0; r < outer; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < inner; ++i)
      mean += x[r * inner + i];
    mean /= inner;
    for (int64_t i = 0; i < inner; ++i)
      var += (x[r * inner + i] - mean) * (x[r * inner + i] - mean);
    var /= inner;
    const double rstd = 1 / std::sqrt(var + eps);
    double meanG = 0, meanGx = 0;
    for (int64_t i = 0; i < inner; ++i) {
      const double g = double(dy[r * inner + i]) * scale[i];
      meanG += g;
      meanGx += g * (x[r * inner + i] - mean) * rstd;
    }
    meanG /= inner;
    meanGx /= inner;
    for (int64_t i = 0; i < inner; ++i) {
      const double g = double(dy[r * inner + i]) * scale[i];
      const double xhat = (x[r * inner + i] - mean) * rstd;
      dx[r * inner + i] = rstd * (g - meanG - xhat * meanGx);
    }
  }
  return dx;
}

double dotLoss(const std::vector<double> &y, const std::vector<float> &r) {
  double loss = 0;
  for (size_t i = 0; i < y.size(); ++i)
    loss += y[i] * r[i];
  return loss;
}

} // namespace

// --- softmaxGrad -------------------------------------------------------------

TEST_CASE("softmaxGrad matches central differences", "[training]") {
  struct Case {
    int64_t outer, axis, inner;
  };
  // Rows of one and seven, a middle axis (inner > 1), a row long enough for
  // the lane sums, and column chunks that cross the 64-column boundary.
  std::vector<Case> cases = {{3, 7, 1},  {3, 1, 1},  {3, 1, 4}, {2, 7, 5},
                             {1, 33, 1}, {3, 5, 70}, {1, 4, 3}};
  for (const Case &c : cases)
    for (bool log : {false, true}) {
      INFO(c.outer << "x" << c.axis << "x" << c.inner << " log " << log);
      const int64_t n = c.outer * c.axis * c.inner;
      auto x = randomFloats(n, 71, -2, 2);
      auto r = randomFloats(n, 72);
      // y rounded from the double forward, as the forward kernel would
      // produce it.
      auto y =
          toFloat(softmaxReference(toDouble(x), c.outer, c.axis, c.inner, log));
      auto want = centralDifferences(
          [&](const std::vector<double> &at) {
            return dotLoss(softmaxReference(at, c.outer, c.axis, c.inner, log),
                           r);
          },
          x);
      std::vector<float> dx(n, std::numeric_limits<float>::quiet_NaN());
      softmaxGrad(y.data(), r.data(), dx.data(), c.outer, c.axis, c.inner, log);
      requireClose(dx, want, 1e-5f);
    }
}

TEST_CASE("softmaxGrad is accurate to double precision formulas",
          "[training]") {
  // Long rows whose sum(dy * y) nearly cancels dy: a float accumulator would
  // be visibly off. Softmax's dx = y * (dy - sum) must match double within
  // 1e-6 relative. Log-softmax's dx = dy - exp(y) * sum cancels two terms
  // with a float exp, so it is held to 1e-6 of the terms' size.
  for (bool log : {false, true})
    for (int64_t inner : {1, 6}) {
      INFO("log " << log << " inner " << inner);
      const int64_t outer = 2, axis = 3000, n = outer * axis * inner;
      auto x = randomFloats(n, 81, -1, 1);
      auto dy = randomFloats(n, 82, 0.5, 1.5);
      auto y = toFloat(softmaxReference(toDouble(x), outer, axis, inner, log));
      std::vector<double> want(n), magnitude(n);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < inner; ++j) {
          auto at = [&](int64_t a) { return (o * axis + a) * inner + j; };
          double s = 0;
          for (int64_t a = 0; a < axis; ++a)
            s += log ? double(dy[at(a)]) : double(dy[at(a)]) * y[at(a)];
          for (int64_t a = 0; a < axis; ++a) {
            const double d = dy[at(a)], p = std::exp(double(y[at(a)]));
            want[at(a)] = log ? d - p * s : y[at(a)] * (d - s);
            magnitude[at(a)] =
                log ? std::fabs(d) + std::fabs(p * s) : std::fabs(want[at(a)]);
          }
        }
      std::vector<float> dx(n);
      softmaxGrad(y.data(), dy.data(), dx.data(), outer, axis, inner, log);
      requireRelativeClose(dx, want, 1e-6, magnitude);
    }
}

// --- layerNormGrad -----------------------------------------------------------

TEST_CASE("layerNormGrad matches central differences", "[training]") {
  const double eps = 1e-5;
  for (int64_t inner : {1, 2, 7, 37}) {
    INFO("inner " << inner);
    const int64_t outer = 3, n = outer * inner;
    auto x = randomFloats(n, 91, -2, 3);
    auto scale = randomFloats(inner, 92, 0.5, 1.5);
    auto r = randomFloats(n, 93);
    auto want = centralDifferences(
        [&](const std::vector<double> &at) {
          return dotLoss(layerNormReference(at, scale, outer, inner, eps), r);
        },
        x);
    std::vector<float> dx(n, std::numeric_limits<float>::quiet_NaN());
    layerNormGrad(x.data(), scale.data(), r.data(), dx.data(), outer, inner,
                  static_cast<float>(eps));
    requireClose(dx, want, 1e-5f);
  }
}

TEST_CASE("layerNormGrad is accurate for rows far from zero", "[training]") {
  // A mean of 1000 against a spread of 1: float statistics would lose about
  // four digits of xhat.
  const int64_t outer = 4, inner = 768, n = outer * inner;
  auto x = randomFloats(n, 101, 999, 1001);
  auto scale = randomFloats(inner, 102, 0.5, 1.5);
  auto dy = randomFloats(n, 103);
  std::vector<float> dx(n);
  layerNormGrad(x.data(), scale.data(), dy.data(), dx.data(), outer, inner,
                1e-5f);
  requireRelativeClose(
      dx, layerNormGradReference(x, scale, dy, outer, inner, 1e-5), 1e-6);
}

// --- geluGrad ----------------------------------------------------------------

TEST_CASE("geluGrad matches central differences in both forms", "[training]") {
  auto x = randomFloats(4001, 111, -6, 6);
  x[0] = 0.0f;
  x[1] = -10.0f;
  x[2] = 10.0f;
  auto dy = randomFloats(x.size(), 112, -2, 2);
  for (bool tanhForm : {false, true}) {
    INFO("tanh " << tanhForm);
    auto gelu = [tanhForm](double v) {
      if (tanhForm)
        return 0.5 * v *
               (1 +
                std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
      return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
    };
    std::vector<float> want(x.size());
    const double h = 1e-4;
    for (size_t i = 0; i < x.size(); ++i)
      want[i] = static_cast<float>(dy[i] * (gelu(x[i] + h) - gelu(x[i] - h)) /
                                   (2 * h));
    std::vector<float> dx(x.size());
    geluGrad(x.data(), dy.data(), dx.data(), static_cast<int64_t>(x.size()),
             tanhForm);
    requireClose(dx, want, 1e-5f);
  }
}

// --- gatherGrad --------------------------------------------------------------

namespace {

template <typename I>
void checkGatherGrad(DType indexType, const std::vector<I> &indices,
                     int64_t outer, int64_t axisSize, int64_t inner) {
  const int64_t numIndices = static_cast<int64_t>(indices.size());
  const int64_t dataSize = outer * axisSize * inner;
  auto dy = randomFloats(outer * numIndices * inner, 121);
  // loss = sum(gather(data) * dy), in double.
  auto gatherLoss = [&](const std::vector<double> &data) {
    double loss = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < numIndices; ++i) {
        const int64_t idx = indices[i] < 0 ? indices[i] + axisSize : indices[i];
        for (int64_t j = 0; j < inner; ++j)
          loss += data[(o * axisSize + idx) * inner + j] *
                  dy[(o * numIndices + i) * inner + j];
      }
    return loss;
  };
  auto want = centralDifferences(gatherLoss, randomFloats(dataSize, 122));
  // NaN fill: every element, gathered or not, must be written.
  std::vector<float> y(dataSize, std::numeric_limits<float>::quiet_NaN());
  gatherGrad(indices.data(), indexType, dy.data(), y.data(), outer, axisSize,
             inner, numIndices);
  requireClose(y, want, 1e-5f);
}

} // namespace

TEST_CASE("gatherGrad accumulates repeated and negative indices",
          "[training]") {
  // Row 2 is hit four times (once as -3), row 3 never.
  std::vector<int64_t> indices = {2, 0, -1, 2, 4, -5, 2, -3};
  SECTION("int64, outer 3, inner 4") {
    checkGatherGrad(DType::I64, indices, 3, 5, 4);
  }
  SECTION("int64, inner 1") { checkGatherGrad(DType::I64, indices, 1, 5, 1); }
  SECTION("int32, outer 3, inner 7") {
    std::vector<int32_t> narrow(indices.begin(), indices.end());
    checkGatherGrad(DType::I32, narrow, 3, 5, 7);
  }
  SECTION("no indices zeroes the output") {
    checkGatherGrad(DType::I64, std::vector<int64_t>{}, 2, 3, 4);
  }
}

TEST_CASE("gatherGrad out of range exits with the documented message",
          "[training]") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::fflush(nullptr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    std::vector<float> dy(4), y(6);
    std::vector<int32_t> idx = {1, -4};
    gatherGrad(idx.data(), DType::I32, dy.data(), y.data(), 1, 3, 2, 2);
    _exit(0); // not reached when the kernel rejects the index
  }
  close(fds[1]);
  std::string err;
  char buf[256];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0)
    err.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(err == "error: GatherGrad index -4 out of range [-3, 3)\n");
}

// --- convolution gradients -------------------------------------------------

namespace {

/// A convolution's shapes and window; x = [N, C, in...], w = [O, C/group,
/// kernel...], y = [N, O, out...] with out from the ONNX formula.
struct ConvGradCase {
  Shape x, w, strides, padsBegin, padsEnd, dilations;
  int64_t group;

  Shape y() const {
    Shape s = {x[0], w[0]};
    for (size_t i = 0; i + 2 < x.size(); ++i) {
      const int64_t extent = dilations[i] * (w[2 + i] - 1) + 1;
      s.push_back((x[2 + i] + padsBegin[i] + padsEnd[i] - extent) / strides[i] +
                  1);
    }
    return s;
  }
};

/// y[n, o, p] = sum over c, k of x[n, g * C/group + c, p * s - pb + k * d]
/// * w[o, c, k], in double.
std::vector<double> convReference(const ConvGradCase &c,
                                  const std::vector<double> &x,
                                  const std::vector<double> &w) {
  const Shape yShape = c.y();
  const int64_t spatial = static_cast<int64_t>(c.x.size()) - 2;
  const int64_t cg = c.w[1], og = c.w[0] / c.group;
  const Shape xStrides = contiguousStrides(c.x);
  const Shape wInner(c.w.begin() + 1, c.w.end()); // [C/group, kernel...]
  std::vector<double> y(static_cast<size_t>(count(yShape)), 0.0);
  for (int64_t flat = 0; flat < count(yShape); ++flat) {
    const Shape at = unravel(flat, yShape);
    const int64_t n = at[0], o = at[1], g = o / og;
    double sum = 0.0;
    for (int64_t t = 0; t < count(wInner); ++t) {
      const Shape tap = unravel(t, wInner); // [c, k...]
      Shape xAt = {n, g * cg + tap[0]};
      bool inside = true;
      for (int64_t i = 0; i < spatial; ++i) {
        const int64_t pos = at[2 + i] * c.strides[i] - c.padsBegin[i] +
                            tap[1 + i] * c.dilations[i];
        inside &= pos >= 0 && pos < c.x[2 + i];
        xAt.push_back(pos);
      }
      if (inside)
        sum += x[dot(xAt, xStrides)] * w[o * count(wInner) + t];
    }
    y[flat] = sum;
  }
  return y;
}

/// The filter gradient against central differences of the double conv, and
/// the input gradient (convTranspose of dy with the same filter, as the
/// compiler's rule computes it) likewise.
void checkConvGrads(const ConvGradCase &c) {
  const Shape yShape = c.y();
  const int spatial = static_cast<int>(c.x.size()) - 2;
  auto x = randomFloats(count(c.x), 131);
  auto w = randomFloats(count(c.w), 132);
  auto r = randomFloats(count(yShape), 133);
  auto wantDw = centralDifferences(
      [&](const std::vector<double> &at) {
        return dotLoss(convReference(c, toDouble(x), at), r);
      },
      w);
  auto wantDx = centralDifferences(
      [&](const std::vector<double> &at) {
        return dotLoss(convReference(c, at, toDouble(w)), r);
      },
      x);
  std::vector<float> dw(w.size(), std::numeric_limits<float>::quiet_NaN());
  convFilterGrad(x.data(), r.data(), dw.data(), spatial, c.x.data(),
                 yShape.data(), c.w.data(), c.strides.data(),
                 c.padsBegin.data(), c.dilations.data(), c.group);
  requireClose(dw, wantDw, 1e-5f);
  std::vector<float> dx(x.size(), std::numeric_limits<float>::quiet_NaN());
  convTranspose(r.data(), w.data(), nullptr, dx.data(), spatial, yShape.data(),
                c.w.data(), c.x.data(), c.strides.data(), c.padsBegin.data(),
                c.dilations.data(), c.group);
  requireClose(dx, wantDx, 1e-5f);
}

} // namespace

TEST_CASE("convFilterGrad and the conv input gradient match central "
          "differences",
          "[training]") {
  SECTION("1-d, stride 2, pads, dilation 2, batch 3") {
    checkConvGrads({{3, 2, 11}, {4, 2, 3}, {2}, {2}, {1}, {2}, 1});
  }
  SECTION("2-d, groups 2, stride 2, uneven pads and dilations") {
    // The width leaves an input column unread (output_padding 1).
    checkConvGrads(
        {{2, 4, 7, 8}, {6, 2, 3, 2}, {2, 2}, {1, 0}, {1, 1}, {2, 1}, 2});
  }
  SECTION("2-d, groups 2, batch 1 (output tiles, not batch chunks)") {
    checkConvGrads(
        {{1, 4, 6, 7}, {6, 2, 3, 3}, {2, 1}, {1, 1}, {0, 1}, {1, 2}, 2});
  }
  SECTION("2-d pointwise (1x1, unit stride: no im2col)") {
    checkConvGrads(
        {{2, 3, 4, 5}, {5, 3, 1, 1}, {1, 1}, {0, 0}, {0, 0}, {1, 1}, 1});
  }
  SECTION("2-d depthwise (group = channels)") {
    checkConvGrads(
        {{2, 3, 5, 5}, {3, 1, 3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 3});
  }
  SECTION("3-d") {
    checkConvGrads({{1, 2, 4, 5, 3},
                    {3, 2, 2, 3, 2},
                    {2, 1, 1},
                    {0, 1, 1},
                    {1, 1, 0},
                    {1, 1, 2},
                    1});
  }
}

// --- pooling gradients -----------------------------------------------------

namespace {

/// A pool's shapes and window over x = [N, C, in...]; the output size uses
/// ONNX's formula, with ceil mode's rule that the last window starts inside
/// the input or its begin padding.
struct PoolGradCase {
  Shape x, kernel, strides, padsBegin, padsEnd, dilations;
  bool ceilMode;

  Shape y() const {
    Shape s = {x[0], x[1]};
    for (size_t i = 0; i + 2 < x.size(); ++i) {
      const int64_t extent = dilations[i] * (kernel[i] - 1) + 1;
      const int64_t span = x[2 + i] + padsBegin[i] + padsEnd[i] - extent;
      int64_t out = (ceilMode ? (span + strides[i] - 1) / strides[i]
                              : span / strides[i]) +
                    1;
      if (ceilMode && (out - 1) * strides[i] >= x[2 + i] + padsBegin[i])
        --out;
      s.push_back(out);
    }
    return s;
  }

  /// Calls fn(flat y index, flat x indices of its window inside the input)
  /// in row-major window order.
  template <typename Fn> void forEachWindow(Fn fn) const {
    const Shape yShape = y(), xStrides = contiguousStrides(x);
    const int64_t spatial = static_cast<int64_t>(x.size()) - 2;
    for (int64_t flat = 0; flat < count(yShape); ++flat) {
      const Shape at = unravel(flat, yShape);
      std::vector<int64_t> window;
      for (int64_t t = 0; t < count(kernel); ++t) {
        const Shape tap = unravel(t, kernel);
        Shape xAt = {at[0], at[1]};
        bool inside = true;
        for (int64_t i = 0; i < spatial; ++i) {
          const int64_t pos =
              at[2 + i] * strides[i] - padsBegin[i] + tap[i] * dilations[i];
          inside &= pos >= 0 && pos < x[2 + i];
          xAt.push_back(pos);
        }
        if (inside)
          window.push_back(dot(xAt, xStrides));
      }
      fn(flat, window);
    }
  }

  /// Average pooling's divisor of output `flat`: the window positions inside
  /// the input, or with countIncludePad inside the padded input.
  double divisor(int64_t flat, bool countIncludePad) const {
    const Shape at = unravel(flat, y());
    double n = 1;
    for (size_t i = 0; i + 2 < x.size(); ++i) {
      const int64_t start = at[2 + i] * strides[i] - padsBegin[i];
      const int64_t end = start + kernel[i];
      n *= countIncludePad
               ? std::min(end, x[2 + i] + padsEnd[i]) - start
               : std::min(end, x[2 + i]) - std::max<int64_t>(start, 0);
    }
    return n;
  }
};

/// Distinct values (gaps of 0.01, far above the difference step).
std::vector<float> distinctFloats(int64_t n, uint32_t seed) {
  auto order = randomInts(n, seed, 0, 1 << 20);
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t rank = 0;
    for (int64_t j = 0; j < n; ++j)
      rank += order[j] < order[i] || (order[j] == order[i] && j < i);
    v[i] = 0.01f * static_cast<float>(rank - n / 2);
  }
  return v;
}

void checkPoolGrads(const PoolGradCase &c) {
  const Shape yShape = c.y();
  const int spatial = static_cast<int>(c.x.size()) - 2;
  auto x = distinctFloats(count(c.x), 141);
  auto r = randomFloats(count(yShape), 142);
  auto maxPoolLoss = [&](const std::vector<double> &at) {
    double loss = 0;
    c.forEachWindow([&](int64_t o, const std::vector<int64_t> &window) {
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t i : window)
        m = std::max(m, at[i]);
      loss += m * r[o];
    });
    return loss;
  };
  std::vector<float> dx(x.size(), std::numeric_limits<float>::quiet_NaN());
  maxPoolGrad(x.data(), r.data(), dx.data(), spatial, c.x.data(), yShape.data(),
              c.kernel.data(), c.strides.data(), c.padsBegin.data(),
              c.dilations.data());
  {
    INFO("maxPoolGrad");
    requireClose(dx, centralDifferences(maxPoolLoss, x), 1e-5f);
  }
  if (c.dilations != Shape(c.kernel.size(), 1))
    return; // average pooling has no dilations
  for (bool countIncludePad : {false, true}) {
    INFO("avgPoolGrad, countIncludePad " << countIncludePad);
    auto avgPoolLoss = [&](const std::vector<double> &at) {
      double loss = 0;
      c.forEachWindow([&](int64_t o, const std::vector<int64_t> &window) {
        double sum = 0;
        for (int64_t i : window)
          sum += at[i];
        loss += sum / c.divisor(o, countIncludePad) * r[o];
      });
      return loss;
    };
    dx.assign(x.size(), std::numeric_limits<float>::quiet_NaN());
    avgPoolGrad(r.data(), dx.data(), spatial, c.x.data(), yShape.data(),
                c.kernel.data(), c.strides.data(), c.padsBegin.data(),
                c.padsEnd.data(), countIncludePad);
    requireClose(dx, centralDifferences(avgPoolLoss, x), 1e-5f);
  }
}

} // namespace

TEST_CASE("pool gradients match central differences", "[training]") {
  SECTION("2-d, overlapping windows, pads") {
    checkPoolGrads(
        {{2, 3, 6, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, false});
  }
  SECTION("2-d, ceil mode with an overhanging last window") {
    checkPoolGrads(
        {{1, 2, 7, 6}, {3, 2}, {2, 2}, {1, 0}, {0, 1}, {1, 1}, true});
  }
  SECTION("1-d, stride 1, kernel 4") {
    checkPoolGrads({{2, 2, 9}, {4}, {1}, {2}, {1}, {1}, false});
  }
  SECTION("3-d") {
    checkPoolGrads({{1, 2, 4, 5, 3},
                    {2, 3, 2},
                    {2, 2, 1},
                    {0, 1, 1},
                    {1, 1, 0},
                    {1, 1, 1},
                    true});
  }
  SECTION("2-d max pool with dilation 2") {
    checkPoolGrads(
        {{1, 2, 8, 7}, {2, 3}, {1, 2}, {1, 1}, {0, 1}, {2, 2}, false});
  }
}

TEST_CASE("maxPoolGrad gives a tied window's gradient to its first maximum",
          "[training]") {
  // Constant input: every window is one tie, and its first element inside
  // the input (the padding is skipped) takes the whole gradient.
  const PoolGradCase c{{1, 1, 5, 5}, {3, 3}, {2, 2}, {1, 1},
                       {1, 1},       {1, 1}, false};
  const Shape yShape = c.y();
  std::vector<float> x(static_cast<size_t>(count(c.x)), 1.0f);
  auto dy = randomFloats(count(yShape), 151);
  std::vector<float> want(x.size(), 0.0f);
  c.forEachWindow([&](int64_t o, const std::vector<int64_t> &window) {
    want[window.front()] += dy[o];
  });
  std::vector<float> dx(x.size());
  maxPoolGrad(x.data(), dy.data(), dx.data(), 2, c.x.data(), yShape.data(),
              c.kernel.data(), c.strides.data(), c.padsBegin.data(),
              c.dilations.data());
  requireClose(dx, want, 1e-6f);
}

// --- resizeGrad --------------------------------------------------------------

TEST_CASE("resizeGrad is the transpose of resize", "[training]") {
  // Column i of resize's matrix is resize of the unit vector e_i (its
  // weights, exactly as the forward kernel computes them); resizeGrad(dy)
  // must be that matrix's transpose times dy.
  struct Case {
    Shape in, out;
    std::vector<float> scales;
    ResizeMode mode;
    CoordMode coord;
    NearestMode nearest;
  };
  const std::vector<Case> cases = {
      {{1, 2, 3, 4},
       {1, 2, 6, 8},
       {1, 1, 2, 2},
       ResizeMode::Linear,
       CoordMode::HalfPixel,
       NearestMode::RoundPreferFloor},
      {{1, 2, 3, 4},
       {1, 2, 6, 8},
       {1, 1, 2, 2},
       ResizeMode::Nearest,
       CoordMode::Asymmetric,
       NearestMode::Floor},
      {{2, 3, 5},
       {2, 3, 10},
       {1, 1, 2},
       ResizeMode::Nearest,
       CoordMode::HalfPixel,
       NearestMode::RoundPreferCeil},
      {{1, 1, 7, 5},
       {1, 1, 3, 4},
       {1, 1, 3.0f / 7, 0.8f},
       ResizeMode::Linear,
       CoordMode::AlignCorners,
       NearestMode::RoundPreferFloor},
      // Three interpolated dims: the forward kernel's corner-blending path.
      {{2, 3, 4},
       {4, 5, 7},
       {2, 5.0f / 3, 7.0f / 4},
       ResizeMode::Linear,
       CoordMode::PytorchHalfPixel,
       NearestMode::RoundPreferFloor},
      {{2, 3, 4},
       {4, 5, 7},
       {2, 5.0f / 3, 7.0f / 4},
       ResizeMode::Nearest,
       CoordMode::HalfPixel,
       NearestMode::Ceil},
  };
  for (const Case &c : cases) {
    INFO("case " << (&c - cases.data()));
    const int rank = static_cast<int>(c.in.size());
    const int64_t inCount = count(c.in), outCount = count(c.out);
    auto dy = randomFloats(outCount, 161);
    std::vector<double> want(static_cast<size_t>(inCount));
    std::vector<float> unit(static_cast<size_t>(inCount), 0.0f),
        column(static_cast<size_t>(outCount));
    for (int64_t i = 0; i < inCount; ++i) {
      unit[i] = 1.0f;
      resize(unit.data(), column.data(), c.in.data(), c.out.data(),
             c.scales.data(), rank, c.mode, c.coord, c.nearest);
      unit[i] = 0.0f;
      for (int64_t o = 0; o < outCount; ++o)
        want[i] += double(column[o]) * dy[o];
    }
    std::vector<float> dx(static_cast<size_t>(inCount),
                          std::numeric_limits<float>::quiet_NaN());
    resizeGrad(dy.data(), dx.data(), c.in.data(), c.out.data(), c.scales.data(),
               rank, c.mode, c.coord, c.nearest);
    requireClose(dx, toFloat(want), 1e-5f);
  }
}

// --- learningRate ------------------------------------------------------------

TEST_CASE("learningRate follows the transformers schedules", "[training]") {
  auto lr = [](LrSchedule s, int64_t warmup, int64_t total, int64_t step) {
    return static_cast<double>(learningRate(s, 0.5f, warmup, total, step));
  };
  SECTION("constant") {
    CHECK(lr(LrSchedule::Constant, 0, 10, 0) == 0.5);
    CHECK(lr(LrSchedule::Constant, 0, 10, 100) == 0.5);
    CHECK(learningRate(LrSchedule::Constant, 1e-3f, 0, 10, 7) == 1e-3f);
    // With a warm-up: 0.5 * step / 4, then constant.
    CHECK(lr(LrSchedule::Constant, 4, 10, 0) == 0.0);
    CHECK(lr(LrSchedule::Constant, 4, 10, 1) == 0.125);
    CHECK(lr(LrSchedule::Constant, 4, 10, 3) == 0.375);
    CHECK(lr(LrSchedule::Constant, 4, 10, 4) == 0.5);
    CHECK(lr(LrSchedule::Constant, 4, 10, 50) == 0.5);
  }
  SECTION("warm-up then linear decay") {
    // W = 2, T = 10: 0.5 * s / 2, then 0.5 * (10 - s) / 8.
    CHECK(lr(LrSchedule::WarmupLinear, 2, 10, 0) == 0.0);
    CHECK(lr(LrSchedule::WarmupLinear, 2, 10, 1) == 0.25);
    CHECK(lr(LrSchedule::WarmupLinear, 2, 10, 2) == 0.5);
    CHECK(lr(LrSchedule::WarmupLinear, 2, 10, 6) == 0.25);
    CHECK(lr(LrSchedule::WarmupLinear, 2, 10, 9) == 0.0625);
    CHECK(lr(LrSchedule::WarmupLinear, 2, 10, 10) == 0.0);
    CHECK(lr(LrSchedule::WarmupLinear, 2, 10, 12) == 0.0); // clamped
    // No warm-up: step 0 already runs at the full rate.
    CHECK(lr(LrSchedule::WarmupLinear, 0, 4, 0) == 0.5);
    CHECK(lr(LrSchedule::WarmupLinear, 0, 4, 1) == 0.375);
    // T == W: max(1, T - W) keeps the division finite.
    CHECK(lr(LrSchedule::WarmupLinear, 3, 3, 3) == 0.0);
  }
  SECTION("warm-up then half a cosine") {
    // W = 2, T = 10: 0.5 * 0.5 * (1 + cos(pi * (s - 2) / 8)).
    CHECK(lr(LrSchedule::Cosine, 2, 10, 1) == 0.25);
    CHECK(lr(LrSchedule::Cosine, 2, 10, 2) == 0.5);
    // cos(pi / 4) = sqrt(1/2): 0.25 * (1 + 0.70710678...) = 0.42677669...
    CHECK(lr(LrSchedule::Cosine, 2, 10, 4) ==
          Approx(0.4267766952966369).epsilon(1e-7));
    CHECK(lr(LrSchedule::Cosine, 2, 10, 6) == Approx(0.25).epsilon(1e-7));
    // cos(3 pi / 4): 0.25 * (1 - 0.70710678...) = 0.07322330...
    CHECK(lr(LrSchedule::Cosine, 2, 10, 8) ==
          Approx(0.0732233047033631).epsilon(1e-7));
    CHECK(lr(LrSchedule::Cosine, 2, 10, 10) == Approx(0.0).margin(1e-12));
    // As in transformers, past totalSteps the cosine rises again (cos(3pi/2)
    // = 0 at s = 14); programs stop at totalSteps.
    CHECK(lr(LrSchedule::Cosine, 2, 10, 14) == Approx(0.25).epsilon(1e-7));
  }
}

// --- sgdUpdate ---------------------------------------------------------------

TEST_CASE("sgdUpdate matches PyTorch SGD over three steps", "[training]") {
  struct Case {
    float momentum, weightDecay, gradScale;
    int64_t n;
  };
  // The large case crosses the 4096-element chunks and the parallel split.
  std::vector<Case> cases = {{0.0f, 0.0f, 1.0f, 5},
                             {0.0f, 0.01f, 1.0f, 5},
                             {0.9f, 0.0f, 1.0f, 5},
                             {0.9f, 0.01f, 0.5f, 5},
                             {0.9f, 0.1f, 0.5f, 9999}};
  const float lr = 0.1f;
  for (const Case &c : cases) {
    INFO("momentum " << c.momentum << " wd " << c.weightDecay << " scale "
                     << c.gradScale << " n " << c.n);
    const bool withMomentum = c.momentum != 0.0f;
    const float *scale = c.gradScale == 1.0f ? nullptr : &c.gradScale;
    auto param0 = randomFloats(c.n, 131, -2, 2);
    // Out of place (separate outputs) and in place, which must agree
    // bitwise with each other.
    std::vector<float> param = param0, buf(c.n, 0.0f);
    std::vector<float> inPlaceParam = param0, inPlaceBuf(c.n, 0.0f);
    // PyTorch: the first step sets buf = g; later steps buf = m * buf + g.
    std::vector<double> refParam = toDouble(param0), refBuf(c.n);
    for (int step = 0; step < 3; ++step) {
      auto grad = randomFloats(c.n, 140 + step, -1, 1);
      for (int64_t i = 0; i < c.n; ++i) {
        const double g =
            double(grad[i]) * c.gradScale + double(c.weightDecay) * refParam[i];
        if (withMomentum)
          refBuf[i] = step == 0 ? g : double(c.momentum) * refBuf[i] + g;
        refParam[i] -= double(lr) * (withMomentum ? refBuf[i] : g);
      }
      std::vector<float> paramOut(c.n), bufOut(c.n);
      const std::vector<float> paramIn = param, bufIn = buf;
      sgdUpdate(param.data(), grad.data(), withMomentum ? buf.data() : nullptr,
                paramOut.data(), withMomentum ? bufOut.data() : nullptr, c.n,
                lr, c.momentum, c.weightDecay, scale);
      CHECK(bitwiseEqual(param, paramIn)); // inputs untouched
      CHECK(bitwiseEqual(buf, bufIn));
      param = paramOut;
      if (withMomentum)
        buf = bufOut;
      float *inPlaceBufData = withMomentum ? inPlaceBuf.data() : nullptr;
      sgdUpdate(inPlaceParam.data(), grad.data(), inPlaceBufData,
                inPlaceParam.data(), inPlaceBufData, c.n, lr, c.momentum,
                c.weightDecay, scale);
    }
    requireClose(param, toFloat(refParam), 1e-6f);
    if (withMomentum)
      requireClose(buf, toFloat(refBuf), 1e-6f);
    CHECK(bitwiseEqual(inPlaceParam, param));
    CHECK(bitwiseEqual(inPlaceBuf, buf));
  }
}

// --- adamwUpdate -------------------------------------------------------------

TEST_CASE("adamwUpdate matches PyTorch AdamW over three steps", "[training]") {
  struct Case {
    int64_t firstStep; // steps completed before the first update
    float gradScale;
    int64_t n;
  };
  // A resumed run (firstStep 10) checks the bias corrections' exponent.
  std::vector<Case> cases = {
      {0, 1.0f, 7}, {0, 0.25f, 7}, {10, 1.0f, 7}, {0, 0.5f, 20001}};
  const float lr = 0.05f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f,
              weightDecay = 0.1f;
  for (const Case &c : cases) {
    INFO("first step " << c.firstStep << " scale " << c.gradScale << " n "
                       << c.n);
    const float *scale = c.gradScale == 1.0f ? nullptr : &c.gradScale;
    auto param0 = randomFloats(c.n, 151, -2, 2);
    std::vector<float> param = param0, m(c.n, 0.0f), v(c.n, 0.0f);
    std::vector<float> ipParam = param0, ipM(c.n, 0.0f), ipV(c.n, 0.0f);
    std::vector<double> refParam = toDouble(param0), refM(c.n), refV(c.n);
    const double b1 = beta1, b2 = beta2;
    for (int64_t k = 0; k < 3; ++k) {
      const int64_t step = c.firstStep + k;
      auto grad = randomFloats(c.n, 160 + static_cast<uint32_t>(k), -1, 1);
      grad[0] = 0.0f; // m and v stay tiny: the update leans on eps
      // torch.optim.AdamW (single-tensor path), in double.
      const double t = static_cast<double>(step + 1);
      const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
      for (int64_t i = 0; i < c.n; ++i) {
        const double g = double(grad[i]) * c.gradScale;
        refParam[i] *= 1 - double(lr) * weightDecay;
        refM[i] = b1 * refM[i] + (1 - b1) * g;
        refV[i] = b2 * refV[i] + (1 - b2) * g * g;
        const double denom = std::sqrt(refV[i]) / std::sqrt(bc2) + eps;
        refParam[i] -= double(lr) / bc1 * refM[i] / denom;
      }
      std::vector<float> paramOut(c.n), mOut(c.n), vOut(c.n);
      const std::vector<float> paramIn = param, mIn = m, vIn = v;
      adamwUpdate(param.data(), grad.data(), m.data(), v.data(),
                  paramOut.data(), mOut.data(), vOut.data(), c.n, lr, beta1,
                  beta2, eps, weightDecay, step, scale);
      CHECK(bitwiseEqual(param, paramIn));
      CHECK(bitwiseEqual(m, mIn));
      CHECK(bitwiseEqual(v, vIn));
      param = paramOut;
      m = mOut;
      v = vOut;
      adamwUpdate(ipParam.data(), grad.data(), ipM.data(), ipV.data(),
                  ipParam.data(), ipM.data(), ipV.data(), c.n, lr, beta1, beta2,
                  eps, weightDecay, step, scale);
    }
    requireClose(param, toFloat(refParam), 1e-6f);
    requireClose(m, toFloat(refM), 1e-6f);
    requireClose(v, toFloat(refV), 1e-6f);
    CHECK(bitwiseEqual(ipParam, param));
    CHECK(bitwiseEqual(ipM, m));
    CHECK(bitwiseEqual(ipV, v));
  }
}

TEST_CASE("optimizers with only the parameter updated in place", "[training]") {
  // A mix of aliased and separate outputs must match the separate update;
  // the size crosses the kernels' chunks.
  const int64_t n = 10000;
  auto param0 = randomFloats(n, 171, -2, 2);
  auto grad = randomFloats(n, 172);
  auto state1 = randomFloats(n, 173, -0.1f, 0.1f);
  auto state2 = randomFloats(n, 174, 0.0f, 0.01f);
  SECTION("sgdUpdate") {
    std::vector<float> param = param0, bufOut(n), wantParam(n), wantBuf(n);
    sgdUpdate(param0.data(), grad.data(), state1.data(), wantParam.data(),
              wantBuf.data(), n, 0.1f, 0.9f, 0.01f, nullptr);
    sgdUpdate(param.data(), grad.data(), state1.data(), param.data(),
              bufOut.data(), n, 0.1f, 0.9f, 0.01f, nullptr);
    CHECK(bitwiseEqual(param, wantParam));
    CHECK(bitwiseEqual(bufOut, wantBuf));
  }
  SECTION("adamwUpdate") {
    std::vector<float> param = param0, mOut(n), vOut(n);
    std::vector<float> wantParam(n), wantM(n), wantV(n);
    adamwUpdate(param0.data(), grad.data(), state1.data(), state2.data(),
                wantParam.data(), wantM.data(), wantV.data(), n, 1e-3f, 0.9f,
                0.999f, 1e-8f, 0.01f, 4, nullptr);
    adamwUpdate(param.data(), grad.data(), state1.data(), state2.data(),
                param.data(), mOut.data(), vOut.data(), n, 1e-3f, 0.9f, 0.999f,
                1e-8f, 0.01f, 4, nullptr);
    CHECK(bitwiseEqual(param, wantParam));
    CHECK(bitwiseEqual(mOut, wantM));
    CHECK(bitwiseEqual(vOut, wantV));
  }
}

// --- determinism
// ---------------------------------------------------------------

TEST_CASE("training kernels are bitwise independent of the thread count",
          "[training]") {
  // Sizes well past the parallel threshold, so that 3 and 4 threads split
  // rows (layerNormGrad), and rows and columns (gatherGrad, softmaxGrad).
  auto run = [](int threads, const std::function<void()> &kernel) {
    ThreadCount scope(threads);
    kernel();
  };
  SECTION("layerNormGrad") {
    for (int64_t outer : {int64_t(2), int64_t(61)}) {
      const int64_t inner = 3001, n = outer * inner;
      auto x = randomFloats(n, 181, -3, 3);
      auto scale = randomFloats(inner, 182);
      auto dy = randomFloats(n, 183);
      std::vector<float> one(n), many(n);
      run(1, [&] {
        layerNormGrad(x.data(), scale.data(), dy.data(), one.data(), outer,
                      inner, 1e-5f);
      });
      for (int threads : {3, 4}) {
        run(threads, [&] {
          layerNormGrad(x.data(), scale.data(), dy.data(), many.data(), outer,
                        inner, 1e-5f);
        });
        CHECK(bitwiseEqual(one, many));
      }
    }
  }
  SECTION("gatherGrad") {
    for (int64_t outer : {int64_t(1), int64_t(3)}) {
      const int64_t axisSize = 50, inner = 2999, numIndices = 300;
      auto indices = randomInts(numIndices, 191, -axisSize, axisSize);
      auto dy = randomFloats(outer * numIndices * inner, 192);
      const int64_t size = outer * axisSize * inner;
      std::vector<double> want(size);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < numIndices; ++i) {
          const int64_t idx = (indices[i] + axisSize) % axisSize;
          for (int64_t j = 0; j < inner; ++j)
            want[(o * axisSize + idx) * inner + j] +=
                dy[(o * numIndices + i) * inner + j];
        }
      std::vector<float> one(size), many(size);
      run(1, [&] {
        gatherGrad(indices.data(), DType::I64, dy.data(), one.data(), outer,
                   axisSize, inner, numIndices);
      });
      requireClose(one, toFloat(want), 1e-5f);
      for (int threads : {3, 4}) {
        // NaN fill: the column split must zero its pieces too.
        many.assign(size, std::numeric_limits<float>::quiet_NaN());
        run(threads, [&] {
          gatherGrad(indices.data(), DType::I64, dy.data(), many.data(), outer,
                     axisSize, inner, numIndices);
        });
        CHECK(bitwiseEqual(one, many));
      }
    }
  }
  SECTION("softmaxGrad") {
    for (int64_t inner : {int64_t(1), int64_t(333)}) {
      const int64_t outer = 3, axis = 1001, n = outer * axis * inner;
      auto y = randomFloats(n, 201, 0, 0.01f);
      auto dy = randomFloats(n, 202);
      std::vector<float> one(n), many(n);
      run(1, [&] {
        softmaxGrad(y.data(), dy.data(), one.data(), outer, axis, inner, false);
      });
      for (int threads : {3, 4}) {
        run(threads, [&] {
          softmaxGrad(y.data(), dy.data(), many.data(), outer, axis, inner,
                      false);
        });
        CHECK(bitwiseEqual(one, many));
      }
    }
  }
  // Pool and resize gradients split planes and columns; the filter gradient
  // splits groups (many small ones) or leaves the split to the BLAS.
  auto sameForThreadCounts = [&](int64_t n,
                                 const std::function<void(float *)> &kernel) {
    std::vector<float> one(n), many(n);
    run(1, [&] { kernel(one.data()); });
    for (int threads : {3, 4}) {
      many.assign(n, std::numeric_limits<float>::quiet_NaN());
      run(threads, [&] { kernel(many.data()); });
      CHECK(bitwiseEqual(one, many));
    }
  };
  SECTION("maxPoolGrad and avgPoolGrad") {
    const Shape x = {4, 16, 33, 31}, y = {4, 16, 17, 16};
    const Shape k = {3, 3}, s = {2, 2}, pb = {1, 1}, pe = {1, 1}, d = {1, 1};
    auto xs = randomFloats(count(x), 211);
    auto dy = randomFloats(count(y), 212);
    sameForThreadCounts(count(x), [&](float *dx) {
      maxPoolGrad(xs.data(), dy.data(), dx, 2, x.data(), y.data(), k.data(),
                  s.data(), pb.data(), d.data());
    });
    sameForThreadCounts(count(x), [&](float *dx) {
      avgPoolGrad(dy.data(), dx, 2, x.data(), y.data(), k.data(), s.data(),
                  pb.data(), pe.data(), true);
    });
  }
  SECTION("resizeGrad") {
    // Linear over every dim (three passes) and nearest over the last two.
    const Shape in = {3, 8, 40, 45}, out = {5, 8, 80, 90};
    const std::vector<float> scales = {5.0f / 3, 1, 2, 2};
    auto dy = randomFloats(count(out), 221);
    for (ResizeMode mode : {ResizeMode::Linear, ResizeMode::Nearest})
      sameForThreadCounts(count(in), [&](float *dx) {
        resizeGrad(dy.data(), dx, in.data(), out.data(), scales.data(), 4, mode,
                   CoordMode::HalfPixel, NearestMode::RoundPreferFloor);
      });
  }
  SECTION("convFilterGrad") {
    // Batch chunks (batch 4) and output tiles (batch 1), with one large
    // group and many small ones.
    for (int64_t batch : {int64_t(1), int64_t(4)})
      for (int64_t group : {int64_t(1), int64_t(16)}) {
        INFO("batch " << batch << ", group " << group);
        const Shape x = {batch, 32, 30, 30}, w = {96, 32 / group, 3, 3},
                    y = {batch, 96, 15, 15};
        const Shape s = {2, 2}, pb = {1, 1}, d = {1, 1};
        auto xs = randomFloats(count(x), 231);
        auto dy = randomFloats(count(y), 232);
        sameForThreadCounts(count(w), [&](float *dw) {
          convFilterGrad(xs.data(), dy.data(), dw, 2, x.data(), y.data(),
                         w.data(), s.data(), pb.data(), d.data(), group);
        });
      }
  }
}
