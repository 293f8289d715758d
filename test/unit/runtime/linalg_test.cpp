// Tests of matmul (batch broadcasting, folded batches) and gemm (transposes,
// broadcast C) against naive triple loops.
#include "ssrt/kernels.h"
#include "test_support.h"

using namespace ssrt;
using namespace ssrt_test;

namespace {

/// Naive batched product with numpy-style broadcasting of the batch dims.
std::vector<float> naiveMatmul(const std::vector<float> &a, const Shape &aBatch,
                               const std::vector<float> &b, const Shape &bBatch,
                               const Shape &outBatch, int64_t m, int64_t k,
                               int64_t n) {
  Shape as = broadcastStrides(aBatch, outBatch.size());
  Shape bs = broadcastStrides(bBatch, outBatch.size());
  std::vector<float> c(static_cast<size_t>(count(outBatch) * m * n));
  for (int64_t bi = 0; bi < count(outBatch); ++bi) {
    Shape idx = unravel(bi, outBatch);
    const float *pa = a.data() + dot(idx, as) * m * k;
    const float *pb = b.data() + dot(idx, bs) * k * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p)
          s += double(pa[i * k + p]) * pb[p * n + j];
        c[(bi * m + i) * n + j] = static_cast<float>(s);
      }
  }
  return c;
}

void checkMatmul(const Shape &aBatch, const Shape &bBatch,
                 const Shape &outBatch, int64_t m, int64_t k, int64_t n) {
  auto a = randomFloats(count(aBatch) * m * k, 1);
  auto b = randomFloats(count(bBatch) * k * n, 2);
  // Kernel strides are in elements, per whole matrix.
  Shape as = broadcastStrides(aBatch, outBatch.size());
  Shape bs = broadcastStrides(bBatch, outBatch.size());
  for (auto &s : as)
    s *= m * k;
  for (auto &s : bs)
    s *= k * n;
  std::vector<float> c(static_cast<size_t>(count(outBatch) * m * n), -1.0f);
  matmul(a.data(), b.data(), c.data(), m, k, n,
         static_cast<int>(outBatch.size()), outBatch.data(), as.data(),
         bs.data());
  requireClose(c, naiveMatmul(a, aBatch, b, bBatch, outBatch, m, k, n), 1e-5f);
}

} // namespace

TEST_CASE("matmul without batch dims", "[linalg]") {
  checkMatmul({}, {}, {}, 5, 7, 3);
  checkMatmul({}, {}, {}, 1, 16, 1);
  checkMatmul({}, {}, {}, 64, 64, 64);
}

TEST_CASE("matmul with B shared across the batch (folded into M)", "[linalg]") {
  checkMatmul({2, 3}, {}, {2, 3}, 4, 5, 6);
  checkMatmul({2, 3}, {1, 1}, {2, 3}, 4, 5, 6);
  checkMatmul({8}, {1}, {8}, 1, 32, 10);
}

TEST_CASE("matmul with broadcast batch dims", "[linalg]") {
  checkMatmul({2, 3}, {2, 3}, {2, 3}, 4, 5, 6); // both full
  checkMatmul({}, {4}, {4}, 3, 5, 2);           // A shared
  checkMatmul({2, 1}, {1, 3}, {2, 3}, 3, 4, 5); // both broadcast
  checkMatmul({3, 1, 2}, {4, 1}, {3, 4, 2}, 2, 3, 4);
  checkMatmul({12}, {12}, {12}, 16, 16, 16); // many small: thread split
}

TEST_CASE("matmul with an empty inner dimension gives zeros", "[linalg]") {
  std::vector<float> a, b, c(6, 5.0f);
  matmul(a.data(), b.data(), c.data(), 2, 0, 3, 0, nullptr, nullptr, nullptr);
  CHECK(c == std::vector<float>(6, 0.0f));
}

TEST_CASE("gemm with transposes, alpha, beta and broadcast C", "[linalg]") {
  const int64_t m = 5, n = 7, k = 4;
  auto a = randomFloats(m * k, 3);
  auto b = randomFloats(k * n, 4);
  auto cFull = randomFloats(m * n, 5);
  struct CCase {
    const char *name;
    bool present;
    int64_t rowStride, colStride;
  };
  std::vector<CCase> cCases = {{"none", false, 0, 0},
                               {"MxN", true, n, 1},
                               {"1xN", true, 0, 1},
                               {"Mx1", true, 1, 0},
                               {"scalar", true, 0, 0}};
  for (bool transA : {false, true})
    for (bool transB : {false, true})
      for (const CCase &cc : cCases) {
        INFO("transA " << transA << " transB " << transB << " C " << cc.name);
        const float alpha = 0.5f, beta = 2.0f;
        // A is stored KxM when transposed, B NxK when transposed.
        auto aAt = [&](int64_t i, int64_t p) {
          return transA ? a[p * m + i] : a[i * k + p];
        };
        auto bAt = [&](int64_t p, int64_t j) {
          return transB ? b[j * k + p] : b[p * n + j];
        };
        std::vector<float> want(static_cast<size_t>(m * n));
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double s = 0;
            for (int64_t p = 0; p < k; ++p)
              s += double(aAt(i, p)) * bAt(p, j);
            double c =
                cc.present ? cFull[i * cc.rowStride + j * cc.colStride] : 0;
            want[i * n + j] = static_cast<float>(alpha * s + beta * c);
          }
        std::vector<float> y(static_cast<size_t>(m * n), 99.0f);
        int64_t cStrides[2] = {cc.rowStride, cc.colStride};
        gemm(a.data(), b.data(), cc.present ? cFull.data() : nullptr, y.data(),
             m, n, k, transA, transB, alpha, beta, cStrides);
        requireClose(y, want, 1e-5f);
      }
}
