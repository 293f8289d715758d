// Walks several strided N-d operands in lock step, one contiguous-output row at
// a time, after merging dimensions so that most broadcasts become 1-2 dims.
#ifndef SSRT_CPU_STRIDED_ITERATION_H
#define SSRT_CPU_STRIDED_ITERATION_H

#include "fatal_error.h"

#include <omp.h>

#include <cstddef>
#include <cstdint>

namespace ssrt {
namespace cpu {

constexpr int kMaxDims = 16;

// Elementwise work below this many elements runs on one thread: forking costs
// more than it saves.
constexpr int64_t kParallelElements = 1 << 15;

/// Unsigned integers of each element size let byte-moving kernels handle any
/// dtype with plain (vectorisable) assignments.
template <size_t N> struct UIntOfSize;
template <> struct UIntOfSize<1> { using Type = uint8_t; };
template <> struct UIntOfSize<2> { using Type = uint16_t; };
template <> struct UIntOfSize<4> { using Type = uint32_t; };
template <> struct UIntOfSize<8> { using Type = uint64_t; };
template <size_t N> using ElementOfSize = typename UIntOfSize<N>::Type;

/// The merged iteration space of K operands; strides are in elements.
template <int K> struct StridedSpace {
  int rank = 0; // at least 1 after merging
  int64_t shape[kMaxDims];
  int64_t strides[K][kMaxDims];

  int64_t innerSize() const { return shape[rank - 1]; }
  int64_t innerStride(int k) const { return strides[k][rank - 1]; }
  int64_t numElements() const {
    int64_t n = 1;
    for (int d = 0; d < rank; ++d)
      n *= shape[d];
    return n;
  }
};

/// Fills `strides` with the contiguous row-major strides of `shape`.
inline void contiguousStrides(const int64_t *shape, int rank,
                              int64_t *strides) {
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; --d) {
    strides[d] = s;
    s *= shape[d];
  }
}

/// Drops size-1 dimensions and merges neighbours that every operand walks
/// with one stride, so that e.g. [N, C, H, W] + [1, C, 1, 1] becomes
/// [N, C, H*W] and a same-shape add becomes one flat loop.
template <int K>
StridedSpace<K> mergeDims(const int64_t *shape, int rank,
                          const int64_t *const (&strides)[K]) {
  if (rank > kMaxDims)
    fatalError("ssrt: rank %d exceeds the supported %d", rank, kMaxDims);
  StridedSpace<K> s;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 1)
      continue;
    if (s.rank > 0) {
      int p = s.rank - 1;
      bool mergeable = true;
      for (int k = 0; k < K; ++k)
        mergeable &= strides[k][d] * shape[d] == s.strides[k][p];
      if (mergeable) {
        s.shape[p] *= shape[d];
        for (int k = 0; k < K; ++k)
          s.strides[k][p] = strides[k][d];
        continue;
      }
    }
    s.shape[s.rank] = shape[d];
    for (int k = 0; k < K; ++k)
      s.strides[k][s.rank] = strides[k][d];
    ++s.rank;
  }
  if (s.rank == 0) {
    s.rank = 1;
    s.shape[0] = 1;
    for (int k = 0; k < K; ++k)
      s.strides[k][0] = 0;
  }
  return s;
}

/// Calls rowFn(offsets, count) for consecutive pieces of the flattened space
/// in [begin, end): offsets[k] is operand k's element offset of the piece's
/// first element, and the piece runs `count` steps along the inner dimension.
template <int K, typename RowFn>
void forEachRowInRange(const StridedSpace<K> &s, int64_t begin, int64_t end,
                       RowFn &rowFn) {
  if (begin >= end)
    return;
  const int r = s.rank;
  const int64_t inner = s.innerSize();
  int64_t row = begin / inner, col = begin % inner;
  int64_t index[kMaxDims];
  int64_t offsets[K];
  for (int k = 0; k < K; ++k)
    offsets[k] = 0;
  for (int d = r - 2; d >= 0; --d) {
    index[d] = row % s.shape[d];
    row /= s.shape[d];
    for (int k = 0; k < K; ++k)
      offsets[k] += index[d] * s.strides[k][d];
  }
  int64_t remaining = end - begin;
  while (remaining > 0) {
    int64_t count = inner - col < remaining ? inner - col : remaining;
    int64_t pieceOffsets[K];
    for (int k = 0; k < K; ++k)
      pieceOffsets[k] = offsets[k] + col * s.strides[k][r - 1];
    rowFn(static_cast<const int64_t *>(pieceOffsets), count);
    remaining -= count;
    col = 0;
    if (remaining == 0)
      break;
    for (int d = r - 2; d >= 0; --d) {
      ++index[d];
      for (int k = 0; k < K; ++k)
        offsets[k] += s.strides[k][d];
      if (index[d] < s.shape[d])
        break;
      for (int k = 0; k < K; ++k)
        offsets[k] -= s.strides[k][d] * s.shape[d];
      index[d] = 0;
    }
  }
}

/// forEachRowInRange over the whole space, split evenly across the OpenMP
/// threads when it is large enough. rowFn must only write its own piece.
template <int K, typename RowFn>
void forEachRow(const StridedSpace<K> &s, RowFn rowFn,
                int64_t parallelThreshold = kParallelElements) {
  const int64_t total = s.numElements();
  if (total < parallelThreshold || omp_get_max_threads() == 1 ||
      omp_in_parallel()) {
    forEachRowInRange(s, 0, total, rowFn);
    return;
  }
#pragma omp parallel
  {
    int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    forEachRowInRange(s, total * t / threads, total * (t + 1) / threads, rowFn);
  }
}

/// Runs body(begin, end) over [0, n) split across threads when n * costPerItem
/// is large enough to pay for the fork. Inside a parallel region (a kernel
/// already split at a coarser level) it runs serially.
template <typename Body>
void parallelRanges(int64_t n, int64_t costPerItem, Body body) {
  if (n <= 0)
    return;
  if (n == 1 || n * costPerItem < kParallelElements ||
      omp_get_max_threads() == 1 || omp_in_parallel()) {
    body(int64_t(0), n);
    return;
  }
#pragma omp parallel
  {
    int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    int64_t begin = n * t / threads, end = n * (t + 1) / threads;
    if (begin < end)
      body(begin, end);
  }
}

} // namespace cpu
} // namespace ssrt

#endif // SSRT_CPU_STRIDED_ITERATION_H
