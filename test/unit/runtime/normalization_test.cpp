// Tests of reduce, softmax / log-softmax, layerNorm and batchNorm against
// naive double-precision loops.
#include "ssrt/kernels.h"
#include "test_support.h"

#include <limits>

using namespace ssrt;
using namespace ssrt_test;

namespace {

std::vector<float> naiveReduce(ReduceOp op, const std::vector<float> &x,
                               const Shape &shape,
                               const std::vector<uint8_t> &mask) {
  Shape kept;
  for (size_t d = 0; d < shape.size(); ++d)
    if (!mask[d])
      kept.push_back(shape[d]);
  Shape keptStrides = contiguousStrides(kept);
  std::vector<double> acc(
      static_cast<size_t>(count(kept)),
      op == ReduceOp::Max ? -std::numeric_limits<double>::infinity() : 0.0);
  int64_t reducedCount = 1;
  for (size_t d = 0; d < shape.size(); ++d)
    if (mask[d])
      reducedCount *= shape[d];
  for (int64_t i = 0; i < count(shape); ++i) {
    Shape idx = unravel(i, shape);
    int64_t o = 0, k = 0;
    for (size_t d = 0; d < shape.size(); ++d)
      if (!mask[d])
        o += idx[d] * keptStrides[k++];
    if (op == ReduceOp::Max)
      acc[o] = std::max(acc[o], double(x[i]));
    else
      acc[o] += x[i];
  }
  std::vector<float> y;
  for (double v : acc)
    y.push_back(
        static_cast<float>(op == ReduceOp::Mean ? v / reducedCount : v));
  return y;
}

} // namespace

TEST_CASE("reduce over any mask", "[reduce]") {
  struct Case {
    Shape shape;
    std::vector<uint8_t> mask;
  };
  std::vector<Case> cases = {
      {{4, 5}, {0, 1}},             // inner rows
      {{4, 5}, {1, 0}},             // outer
      {{3, 4, 5}, {0, 1, 0}},       // middle
      {{3, 4, 5}, {1, 1, 1}},       // everything
      {{2, 3, 4, 5}, {1, 0, 1, 0}}, // interleaved
      {{2, 3, 4, 5}, {0, 1, 0, 1}}, // interleaved, kept outer
      {{2, 1, 4, 1}, {0, 1, 0, 1}}, // only size-1 dims reduced
      {{2, 1, 4, 3}, {0, 0, 1, 1}}, // size-1 kept dim merges
      {{3, 1000}, {0, 1}},          // long rows (lane sums)
      {{64, 33, 40}, {0, 0, 1}},    // parallel rows
      {{64, 33, 40}, {0, 1, 0}},    // parallel middle
      {{7}, {1}},                   // vector
  };
  for (const Case &c : cases)
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max}) {
      INFO("rank " << c.shape.size() << " op " << static_cast<int>(op));
      auto x = randomFloats(count(c.shape), 41, -2, 2);
      auto want = naiveReduce(op, x, c.shape, c.mask);
      std::vector<float> y(want.size(), 55.0f);
      reduce(op, x.data(), y.data(), c.shape.data(),
             static_cast<int>(c.shape.size()), c.mask.data());
      requireClose(y, want, 1e-5f);
    }
}

namespace {

std::vector<float> naiveSoftmax(const std::vector<float> &x, int64_t outer,
                                int64_t axis, int64_t inner, bool log) {
  std::vector<float> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      auto at = [&](int64_t a) { return (o * axis + a) * inner + j; };
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t a = 0; a < axis; ++a)
        m = std::max(m, double(x[at(a)]));
      double s = 0;
      for (int64_t a = 0; a < axis; ++a)
        s += std::exp(double(x[at(a)]) - m);
      for (int64_t a = 0; a < axis; ++a) {
        double v = double(x[at(a)]) - m;
        y[at(a)] = static_cast<float>(log ? v - std::log(s) : std::exp(v) / s);
      }
    }
  return y;
}

} // namespace

TEST_CASE("softmax and logSoftmax along any axis", "[softmax]") {
  struct Case {
    int64_t outer, axis, inner;
  };
  std::vector<Case> cases = {{1, 10, 1},   {6, 7, 1},    {3, 5, 4},
                             {1, 6, 50},   {2, 1, 3},    {128, 257, 1},
                             {40, 20, 30}, {1, 300, 200}};
  for (const Case &c : cases)
    for (bool log : {false, true}) {
      INFO(c.outer << "x" << c.axis << "x" << c.inner << " log " << log);
      // Large magnitudes: without the max shift exp would overflow.
      auto x = randomFloats(c.outer * c.axis * c.inner, 51, -80, 80);
      std::vector<float> y(x.size());
      softmax(x.data(), y.data(), c.outer, c.axis, c.inner, log);
      requireClose(y, naiveSoftmax(x, c.outer, c.axis, c.inner, log), 1e-5f);
    }
}

TEST_CASE("layerNorm with and without bias", "[norm]") {
  for (bool withBias : {true, false})
    for (int64_t inner : {1, 8, 37, 768}) {
      INFO("inner " << inner << " bias " << withBias);
      const int64_t outer = 9;
      auto x = randomFloats(outer * inner, 61, -3, 5);
      auto scale = randomFloats(inner, 62, 0.5, 1.5);
      auto bias = randomFloats(inner, 63);
      const float eps = 1e-5f;
      std::vector<float> want(x.size());
      for (int64_t r = 0; r < outer; ++r) {
        double mean = 0, var = 0;
        for (int64_t i = 0; i < inner; ++i)
          mean += x[r * inner + i];
        mean /= inner;
        for (int64_t i = 0; i < inner; ++i)
          var += (x[r * inner + i] - mean) * (x[r * inner + i] - mean);
        var /= inner;
        for (int64_t i = 0; i < inner; ++i)
          want[r * inner + i] = static_cast<float>(
              (x[r * inner + i] - mean) / std::sqrt(var + eps) * scale[i] +
              (withBias ? bias[i] : 0.0));
      }
      std::vector<float> y(x.size());
      layerNorm(x.data(), scale.data(), withBias ? bias.data() : nullptr,
                y.data(), outer, inner, eps);
      requireClose(y, want, 1e-4f);
    }
}

TEST_CASE("batchNorm per channel", "[norm]") {
  const int64_t n = 2, c = 3, inner = 10;
  auto x = randomFloats(n * c * inner, 71);
  auto scale = randomFloats(c, 72);
  auto bias = randomFloats(c, 73);
  auto mean = randomFloats(c, 74);
  auto var = randomFloats(c, 75, 0.1f, 2.0f);
  const float eps = 1e-3f;
  std::vector<float> want(x.size()), y(x.size());
  for (int64_t i = 0; i < n * c * inner; ++i) {
    int64_t ch = (i / inner) % c;
    want[i] = static_cast<float>(
        (x[i] - mean[ch]) / std::sqrt(double(var[ch]) + eps) * scale[ch] +
        bias[ch]);
  }
  batchNorm(x.data(), scale.data(), bias.data(), mean.data(), var.data(),
            y.data(), n, c, inner, eps);
  requireClose(y, want, 1e-5f);
}
