// Matrix products (MatMul with batch broadcasting, Gemm) on top of OpenBLAS
// sgemm.
#include "fatal_error.h"
#include "ssrt/kernels.h"
#include "strided_iteration.h"

#include <cblas.h>
#include <omp.h>

#include <cstring>

namespace ssrt {

namespace {

// Below this many multiply-adds per matrix, one sgemm call is too small to be
// split by OpenBLAS, so independent batch items run on separate threads.
constexpr int64_t kSmallMatrixFlops = int64_t(1) << 21;

inline void sgemmRowMajor(bool transA, bool transB, int64_t m, int64_t n,
                          int64_t k, float alpha, const float *a, int64_t lda,
                          const float *b, int64_t ldb, float beta, float *c,
                          int64_t ldc) {
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
              transB ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c,
              static_cast<blasint>(ldc));
}

/// C = A x B for one MxK by KxN product; handles the degenerate sizes BLAS
/// rejects (K == 0 gives zeros).
void matmulOne(const float *a, const float *b, float *c, int64_t m, int64_t k,
               int64_t n) {
  if (m == 0 || n == 0)
    return;
  if (k == 0) {
    std::memset(c, 0, static_cast<size_t>(m * n) * sizeof(float));
    return;
  }
  sgemmRowMajor(false, false, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
}

} // namespace

void matmul(const float *a, const float *b, float *c, int64_t m, int64_t k,
            int64_t n, int batchRank, const int64_t *batchShape,
            const int64_t *aBatchStrides, const int64_t *bBatchStrides) {
  if (batchRank > cpu::kMaxDims)
    cpu::fatalError("ssrt: matmul batch rank %d exceeds %d", batchRank,
                    cpu::kMaxDims);
  int64_t batch = 1;
  for (int d = 0; d < batchRank; ++d)
    batch *= batchShape[d];
  if (batch == 0)
    return;

  // When B is shared by every batch item and A's matrices are packed back to
  // back, the batch folds into M: one large sgemm instead of many small ones.
  bool bShared = true, aPacked = true;
  int64_t expected = m * k;
  for (int d = batchRank - 1; d >= 0; --d) {
    if (batchShape[d] == 1)
      continue;
    bShared &= bBatchStrides[d] == 0;
    aPacked &= aBatchStrides[d] == expected;
    expected *= batchShape[d];
  }
  if (bShared && aPacked) {
    matmulOne(a, b, c, batch * m, k, n);
    return;
  }

  auto runRange = [&](int64_t begin, int64_t end) {
    int64_t index[cpu::kMaxDims];
    int64_t rem = begin, aOff = 0, bOff = 0;
    for (int d = batchRank - 1; d >= 0; --d) {
      index[d] = rem % batchShape[d];
      rem /= batchShape[d];
      aOff += index[d] * aBatchStrides[d];
      bOff += index[d] * bBatchStrides[d];
    }
    for (int64_t i = begin; i < end; ++i) {
      matmulOne(a + aOff, b + bOff, c + i * m * n, m, k, n);
      for (int d = batchRank - 1; d >= 0; --d) {
        ++index[d];
        aOff += aBatchStrides[d];
        bOff += bBatchStrides[d];
        if (index[d] < batchShape[d])
          break;
        aOff -= aBatchStrides[d] * batchShape[d];
        bOff -= bBatchStrides[d] * batchShape[d];
        index[d] = 0;
      }
    }
  };

  const int threads = omp_get_max_threads();
  if (threads > 1 && batch > 1 && m * n * k < kSmallMatrixFlops) {
#pragma omp parallel
    {
      int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
      int64_t begin = batch * t / nt, end = batch * (t + 1) / nt;
      if (begin < end)
        runRange(begin, end);
    }
  } else {
    runRange(0, batch);
  }
}

void gemm(const float *a, const float *b, const float *c, float *y, int64_t m,
          int64_t n, int64_t k, bool transA, bool transB, float alpha,
          float beta, const int64_t *cStrides) {
  if (m == 0 || n == 0)
    return;
  float productBeta = 0.0f;
  if (c != nullptr && beta != 0.0f) {
    // Materialise beta * C broadcast to MxN in y, then let sgemm accumulate.
    const int64_t rowStride = cStrides[0], colStride = cStrides[1];
    cpu::parallelRanges(m, n, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        float *row = y + i * n;
        const float *cRow = c + i * rowStride;
        if (colStride == 1 && beta == 1.0f) {
          std::memcpy(row, cRow, static_cast<size_t>(n) * sizeof(float));
        } else if (colStride == 0) {
          const float v = beta * cRow[0];
          for (int64_t j = 0; j < n; ++j)
            row[j] = v;
        } else {
          for (int64_t j = 0; j < n; ++j)
            row[j] = beta * cRow[j * colStride];
        }
      }
    });
    productBeta = 1.0f;
  }
  if (k == 0 || alpha == 0.0f) {
    if (productBeta == 0.0f)
      std::memset(y, 0, static_cast<size_t>(m * n) * sizeof(float));
    return;
  }
  sgemmRowMajor(transA, transB, m, n, k, alpha, a, transA ? m : k, b,
                transB ? k : n, productBeta, y, n);
}

} // namespace ssrt
