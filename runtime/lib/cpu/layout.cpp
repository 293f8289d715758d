// Data movement kernels: strided copy (transpose, slice, broadcast), box
// insertion, concat, split, gather and pad. They move bytes, so they serve
// every dtype.
#include "fatal_error.h"
#include "ssrt/kernels.h"
#include "strided_copy.h"
#include "strided_iteration.h"

#include <cstring>
#include <vector>

namespace ssrt {

using cpu::ElementOfSize;
using cpu::kMaxDims;
using cpu::StridedSpace;

namespace {

// Edge of the square tiles a transposing copy moves at a time: 32 rows of 32
// elements stay in L1 while being read across and written along.
constexpr int64_t kTile = 32;

/// Copies row by row; the destination's inner stride is 1 except when
/// insertBox writes a box whose inner dims have size 1.
template <typename T>
void copyRows(const StridedSpace<2> &s, const T *src, T *dst) {
  const int64_t ds = s.innerStride(0), ss = s.innerStride(1);
  cpu::forEachRow(s, [&](const int64_t *offsets, int64_t count) {
    T *o = dst + offsets[0];
    const T *p = src + offsets[1];
    if (ds != 1) {
      for (int64_t i = 0; i < count; ++i)
        o[i * ds] = p[i * ss];
    } else if (ss == 1) {
      std::memcpy(o, p, static_cast<size_t>(count) * sizeof(T));
    } else if (ss == 0) {
      const T v = *p;
      for (int64_t i = 0; i < count; ++i)
        o[i] = v;
    } else {
      for (int64_t i = 0; i < count; ++i)
        o[i] = p[i * ss];
    }
  });
}

/// The copy where the source's unit-stride dim `q` is not the destination's
/// inner dim: walks q x inner in square tiles so both sides stay cached.
template <typename T>
void copyTiled(const StridedSpace<2> &s, int q, const T *src, T *dst) {
  const int r = s.rank, j = r - 1;
  const int64_t *dstStrides = s.strides[0];
  const int64_t *srcStrides = s.strides[1];
  int outerDims[kMaxDims];
  int numOuter = 0;
  int64_t outerCount = 1;
  for (int d = 0; d < r; ++d) {
    if (d == q || d == j)
      continue;
    outerDims[numOuter++] = d;
    outerCount *= s.shape[d];
  }
  const int64_t qSize = s.shape[q], jSize = s.shape[j];
  const int64_t qBlocks = (qSize + kTile - 1) / kTile;
  const int64_t dq = dstStrides[q], sj = srcStrides[j];
  cpu::parallelRanges(
      outerCount * qBlocks, kTile * jSize, [&](int64_t begin, int64_t end) {
        for (int64_t item = begin; item < end; ++item) {
          int64_t outer = item / qBlocks, qb = item % qBlocks;
          int64_t srcBase = 0, dstBase = 0;
          for (int k = numOuter - 1; k >= 0; --k) {
            int d = outerDims[k];
            int64_t idx = outer % s.shape[d];
            outer /= s.shape[d];
            srcBase += idx * srcStrides[d];
            dstBase += idx * dstStrides[d];
          }
          const int64_t i0 = qb * kTile,
                        i1 = i0 + kTile < qSize ? i0 + kTile : qSize;
          for (int64_t j0 = 0; j0 < jSize; j0 += kTile) {
            const int64_t j1 = j0 + kTile < jSize ? j0 + kTile : jSize;
            for (int64_t i = i0; i < i1; ++i) {
              T *o = dst + dstBase + i * dq;
              const T *p = src + srcBase + i;
              for (int64_t jj = j0; jj < j1; ++jj)
                o[jj] = p[jj * sj];
            }
          }
        }
      });
}

template <typename T>
void copyStridedTyped(const T *src, const int64_t *srcStrides, T *dst,
                      const int64_t *shape, int rank) {
  if (rank > kMaxDims)
    cpu::fatalError("ssrt: rank %d exceeds the supported %d", rank, kMaxDims);
  int64_t dstStrides[kMaxDims];
  cpu::contiguousStrides(shape, rank, dstStrides);
  const int64_t *strides[2] = {dstStrides, srcStrides};
  StridedSpace<2> s = cpu::mergeDims<2>(shape, rank, strides);
  for (int d = 0; d < s.rank; ++d)
    if (s.shape[d] == 0)
      return;
  const int64_t ss = s.innerStride(1);
  if (ss != 1 && ss != 0 && s.innerSize() >= 4) {
    for (int d = s.rank - 2; d >= 0; --d)
      if (s.strides[1][d] == 1 && s.shape[d] >= 4)
        return copyTiled(s, d, src, dst);
  }
  copyRows(s, src, dst);
}

/// The dense src of `shape` into dst, which points at the box's first
/// element inside an array of `outShape`.
template <typename T>
void insertBoxTyped(const T *src, T *dst, const int64_t *shape,
                    const int64_t *outShape, int rank) {
  int64_t srcStrides[kMaxDims], dstStrides[kMaxDims];
  cpu::contiguousStrides(shape, rank, srcStrides);
  cpu::contiguousStrides(outShape, rank, dstStrides);
  const int64_t *strides[2] = {dstStrides, srcStrides};
  StridedSpace<2> s = cpu::mergeDims<2>(shape, rank, strides);
  for (int d = 0; d < s.rank; ++d)
    if (s.shape[d] == 0)
      return;
  copyRows(s, src, dst);
}

/// Writes `count` copies of the elemSize-byte value at `pattern`.
void fillPattern(void *dst, const void *pattern, size_t elemSize,
                 int64_t count) {
  switch (elemSize) {
#define SSRT_FILL_CASE(N)                                                      \
  case N: {                                                                    \
    ElementOfSize<N> v;                                                        \
    std::memcpy(&v, pattern, N);                                               \
    ElementOfSize<N> *o = static_cast<ElementOfSize<N> *>(dst);                \
    for (int64_t i = 0; i < count; ++i)                                        \
      o[i] = v;                                                                \
    return;                                                                    \
  }
    SSRT_FILL_CASE(1)
    SSRT_FILL_CASE(2)
    SSRT_FILL_CASE(4)
    SSRT_FILL_CASE(8)
#undef SSRT_FILL_CASE
  default:
    for (int64_t i = 0; i < count; ++i)
      std::memcpy(static_cast<char *>(dst) + i * elemSize, pattern, elemSize);
  }
}

} // namespace

namespace cpu {

void copyStrided(const void *src, const int64_t *srcStrides, void *dst,
                 const int64_t *shape, int rank, size_t elemSize) {
  switch (elemSize) {
#define SSRT_COPY_CASE(N)                                                      \
  case N:                                                                      \
    return copyStridedTyped(static_cast<const ElementOfSize<N> *>(src),        \
                            srcStrides, static_cast<ElementOfSize<N> *>(dst),  \
                            shape, rank);
    SSRT_COPY_CASE(1)
    SSRT_COPY_CASE(2)
    SSRT_COPY_CASE(4)
    SSRT_COPY_CASE(8)
#undef SSRT_COPY_CASE
  default:
    fatalError("ssrt: strided copy with element size %zu", elemSize);
  }
}

} // namespace cpu

void transpose(const void *x, void *y, const int64_t *inShape,
               const int64_t *perm, int rank, size_t elemSize) {
  if (rank > kMaxDims)
    cpu::fatalError("ssrt: rank %d exceeds the supported %d", rank, kMaxDims);
  int64_t inStrides[kMaxDims], srcStrides[kMaxDims], outShape[kMaxDims];
  cpu::contiguousStrides(inShape, rank, inStrides);
  for (int d = 0; d < rank; ++d) {
    outShape[d] = inShape[perm[d]];
    srcStrides[d] = inStrides[perm[d]];
  }
  cpu::copyStrided(x, srcStrides, y, outShape, rank, elemSize);
}

void slice(const void *x, void *y, const int64_t *inShape,
           const int64_t *outShape, const int64_t *starts, const int64_t *steps,
           int rank, size_t elemSize) {
  if (rank > kMaxDims)
    cpu::fatalError("ssrt: rank %d exceeds the supported %d", rank, kMaxDims);
  int64_t inStrides[kMaxDims], srcStrides[kMaxDims];
  cpu::contiguousStrides(inShape, rank, inStrides);
  int64_t base = 0;
  for (int d = 0; d < rank; ++d) {
    if (outShape[d] == 0)
      return;
    base += starts[d] * inStrides[d];
    srcStrides[d] = steps[d] * inStrides[d];
  }
  cpu::copyStrided(static_cast<const char *>(x) + base * int64_t(elemSize),
                   srcStrides, y, outShape, rank, elemSize);
}

void insertBox(const void *x, void *y, const int64_t *inShape,
               const int64_t *outShape, const int64_t *offsets, int rank,
               size_t elemSize) {
  if (rank > kMaxDims)
    cpu::fatalError("ssrt: rank %d exceeds the supported %d", rank, kMaxDims);
  int64_t outStrides[kMaxDims];
  cpu::contiguousStrides(outShape, rank, outStrides);
  int64_t base = 0;
  for (int d = 0; d < rank; ++d) {
    if (offsets[d] < 0 || offsets[d] + inShape[d] > outShape[d])
      cpu::fatalError("ssrt: insertBox: box of size %lld at offset %lld in "
                      "dim %d does not fit in size %lld",
                      static_cast<long long>(inShape[d]),
                      static_cast<long long>(offsets[d]), d,
                      static_cast<long long>(outShape[d]));
    base += offsets[d] * outStrides[d];
  }
  char *dst = static_cast<char *>(y) + base * int64_t(elemSize);
  switch (elemSize) {
#define SSRT_INSERT_CASE(N)                                                    \
  case N:                                                                      \
    return insertBoxTyped(static_cast<const ElementOfSize<N> *>(x),            \
                          reinterpret_cast<ElementOfSize<N> *>(dst), inShape,  \
                          outShape, rank);
    SSRT_INSERT_CASE(1)
    SSRT_INSERT_CASE(2)
    SSRT_INSERT_CASE(4)
    SSRT_INSERT_CASE(8)
#undef SSRT_INSERT_CASE
  default:
    cpu::fatalError("ssrt: insertBox with element size %zu", elemSize);
  }
}

void concat(const void *const *inputs, const int64_t *axisSizes, int n, void *y,
            int64_t outer, int64_t inner, size_t elemSize) {
  const int64_t rowBytes = inner * static_cast<int64_t>(elemSize);
  int64_t outRowBytes = 0;
  for (int i = 0; i < n; ++i)
    outRowBytes += axisSizes[i] * rowBytes;
  char *out = static_cast<char *>(y);
  cpu::parallelRanges(
      outer, outRowBytes / 4 + 1, [&](int64_t begin, int64_t end) {
        for (int64_t o = begin; o < end; ++o) {
          char *dst = out + o * outRowBytes;
          for (int i = 0; i < n; ++i) {
            const int64_t bytes = axisSizes[i] * rowBytes;
            std::memcpy(dst, static_cast<const char *>(inputs[i]) + o * bytes,
                        static_cast<size_t>(bytes));
            dst += bytes;
          }
        }
      });
}

void split(const void *x, void *const *outputs, const int64_t *axisSizes, int n,
           int64_t outer, int64_t inner, size_t elemSize) {
  const int64_t rowBytes = inner * static_cast<int64_t>(elemSize);
  int64_t inRowBytes = 0;
  for (int i = 0; i < n; ++i)
    inRowBytes += axisSizes[i] * rowBytes;
  const char *in = static_cast<const char *>(x);
  cpu::parallelRanges(
      outer, inRowBytes / 4 + 1, [&](int64_t begin, int64_t end) {
        for (int64_t o = begin; o < end; ++o) {
          const char *src = in + o * inRowBytes;
          for (int i = 0; i < n; ++i) {
            const int64_t bytes = axisSizes[i] * rowBytes;
            std::memcpy(static_cast<char *>(outputs[i]) + o * bytes, src,
                        static_cast<size_t>(bytes));
            src += bytes;
          }
        }
      });
}

namespace {

template <typename I>
void gatherTyped(const char *data, const I *indices, char *y, int64_t outer,
                 int64_t axisSize, int64_t inner, int64_t numIndices,
                 size_t elemSize) {
  // Validate everything first so that a bad index fails before any output
  // is written, and the copy loop needs no checks.
  for (int64_t i = 0; i < numIndices; ++i) {
    int64_t idx = static_cast<int64_t>(indices[i]);
    if (idx < -axisSize || idx >= axisSize)
      cpu::fatalError("Gather index %lld out of range [-%lld, %lld)",
                      static_cast<long long>(idx),
                      static_cast<long long>(axisSize),
                      static_cast<long long>(axisSize));
  }
  const int64_t rowBytes = inner * static_cast<int64_t>(elemSize);
  const int64_t items = outer * numIndices;
  cpu::parallelRanges(items, rowBytes / 4 + 1, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      int64_t o = item / numIndices, i = item % numIndices;
      int64_t idx = static_cast<int64_t>(indices[i]);
      if (idx < 0)
        idx += axisSize;
      std::memcpy(y + item * rowBytes, data + (o * axisSize + idx) * rowBytes,
                  static_cast<size_t>(rowBytes));
    }
  });
}

} // namespace

void gather(const void *data, const void *indices, DType indexType, void *y,
            int64_t outer, int64_t axisSize, int64_t inner, int64_t numIndices,
            size_t elemSize) {
  const char *d = static_cast<const char *>(data);
  char *out = static_cast<char *>(y);
  switch (indexType) {
  case DType::I64:
    return gatherTyped(d, static_cast<const int64_t *>(indices), out, outer,
                       axisSize, inner, numIndices, elemSize);
  case DType::I32:
    return gatherTyped(d, static_cast<const int32_t *>(indices), out, outer,
                       axisSize, inner, numIndices, elemSize);
  default:
    cpu::fatalError("ssrt: gather indices must be int64 or int32, got %s",
                    dtypeName(indexType));
  }
}

void pad(const void *x, void *y, const int64_t *inShape,
         const int64_t *outShape, const int64_t *padsBegin, int rank,
         PadMode mode, double value, DType dtype) {
  const size_t elemSize = dtypeSize(dtype);
  if (elemSize == 0)
    cpu::fatalError("ssrt: pad of unsupported dtype %d",
                    static_cast<int>(dtype));
  if (rank > kMaxDims)
    cpu::fatalError("ssrt: rank %d exceeds the supported %d", rank, kMaxDims);
  int64_t outCount = 1, inCount = 1;
  for (int d = 0; d < rank; ++d) {
    outCount *= outShape[d];
    inCount *= inShape[d];
  }
  if (outCount == 0)
    return;
  alignas(8) unsigned char pattern[8] = {0};
  fill(pattern, dtype, 1, value);
  if (rank == 0) {
    std::memcpy(y, x, elemSize);
    return;
  }
  if (inCount == 0) {
    if (mode != PadMode::Constant)
      cpu::fatalError("ssrt: %s padding of an empty tensor",
                      mode == PadMode::Reflect ? "reflect" : "edge");
    fillPattern(y, pattern, elemSize, outCount);
    return;
  }

  // Per dim and output position, the source index (-1: the constant value).
  std::vector<int64_t> sourceIndex;
  int64_t mapStart[kMaxDims];
  for (int d = 0; d < rank; ++d) {
    mapStart[d] = static_cast<int64_t>(sourceIndex.size());
    const int64_t in = inShape[d];
    for (int64_t o = 0; o < outShape[d]; ++o) {
      int64_t i = o - padsBegin[d];
      if (i < 0 || i >= in) {
        if (mode == PadMode::Constant) {
          i = -1;
        } else if (mode == PadMode::Edge || in == 1) {
          i = i < 0 ? 0 : in - 1;
        } else {
          // Reflect about the edge elements (not repeating them), folding
          // again for pads wider than the input.
          while (i < 0 || i >= in)
            i = i < 0 ? -i : 2 * (in - 1) - i;
        }
      }
      sourceIndex.push_back(i);
    }
  }

  int64_t inStrides[kMaxDims];
  cpu::contiguousStrides(inShape, rank, inStrides);
  const int last = rank - 1;
  const int64_t width = outShape[last], inWidth = inShape[last];
  const int64_t *lastMap = sourceIndex.data() + mapStart[last];
  // The run of output columns copied straight from the source row.
  int64_t lo = padsBegin[last] > 0 ? padsBegin[last] : 0;
  int64_t hi = inWidth + padsBegin[last];
  if (hi > width)
    hi = width;
  if (hi < lo)
    hi = lo;
  const int64_t rows = outCount / width;
  const char *src = static_cast<const char *>(x);
  char *dst = static_cast<char *>(y);
  const int64_t es = static_cast<int64_t>(elemSize);

  cpu::parallelRanges(rows, width, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      char *out = dst + row * width * es;
      int64_t rem = row, srcRow = 0;
      bool constantRow = false;
      for (int d = last - 1; d >= 0; --d) {
        int64_t o = rem % outShape[d];
        rem /= outShape[d];
        int64_t i = sourceIndex[mapStart[d] + o];
        if (i < 0)
          constantRow = true;
        srcRow += i * inStrides[d];
      }
      if (constantRow) {
        fillPattern(out, pattern, elemSize, width);
        continue;
      }
      const char *in = src + srcRow * es;
      for (int64_t o = 0; o < lo; ++o) {
        if (lastMap[o] < 0)
          std::memcpy(out + o * es, pattern, elemSize);
        else
          std::memcpy(out + o * es, in + lastMap[o] * es, elemSize);
      }
      std::memcpy(out + lo * es, in + (lo - padsBegin[last]) * es,
                  static_cast<size_t>((hi - lo) * es));
      for (int64_t o = hi; o < width; ++o) {
        if (lastMap[o] < 0)
          std::memcpy(out + o * es, pattern, elemSize);
        else
          std::memcpy(out + o * es, in + lastMap[o] * es, elemSize);
      }
    }
  });
}

} // namespace ssrt
