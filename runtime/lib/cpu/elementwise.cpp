// Elementwise kernels: unary maps, scale, broadcasting binary ops, where and
// broadcastTo, all built on the merged strided iteration.
#include "fatal_error.h"
#include "multiversion.h"
#include "ssrt/kernels.h"
#include "ssrt/math.h"
#include "strided_copy.h"
#include "strided_iteration.h"
#include "unary_functions.h"

#include <cstring>

namespace ssrt {

using cpu::forEachRow;
using cpu::kMaxDims;
using cpu::mergeDims;
using cpu::parallelRanges;
using cpu::StridedSpace;

namespace {

template <typename F>
SSRT_INLINE void mapFloats(const float *x, float *y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = f(x[i]);
}

/// y = op(x) over one contiguous range; the hot loop of every float unary.
SSRT_MULTIVERSION
void unaryRange(UnaryOp op, const float *x, float *y, int64_t n, float alpha,
                float beta) {
  if (op == UnaryOp::Identity) {
    if (x != y)
      std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  cpu::withUnaryFunction(op, alpha, beta, [&](auto f) SSRT_INLINE_LAMBDA {
    mapFloats(x, y, n, f);
  });
}

template <typename T>
void unaryIntTyped(UnaryOp op, const T *x, T *y, int64_t n) {
  switch (op) {
  case UnaryOp::Identity:
    if (x != y)
      std::memcpy(y, x, static_cast<size_t>(n) * sizeof(T));
    return;
  case UnaryOp::Neg:
    parallelRanges(n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        y[i] = math::negInt(x[i]);
    });
    return;
  case UnaryOp::Abs:
    parallelRanges(n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        y[i] = math::absInt(x[i]);
    });
    return;
  default:
    cpu::fatalError("ssrt: unary op %d is not defined on integers",
                    static_cast<int>(op));
  }
}

} // namespace

void unary(UnaryOp op, const float *x, float *y, int64_t n, float alpha,
           float beta) {
  parallelRanges(n, 4, [&](int64_t begin, int64_t end) {
    unaryRange(op, x + begin, y + begin, end - begin, alpha, beta);
  });
}

namespace {

SSRT_MULTIVERSION
void scaleRange(const float *x, float *y, int64_t n, float factor) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = x[i] * factor;
}

} // namespace

void scale(const float *x, float *y, int64_t n, float factor) {
  parallelRanges(n, 1, [&](int64_t begin, int64_t end) {
    scaleRange(x + begin, y + begin, end - begin, factor);
  });
}

void logicalNot(const uint8_t *x, uint8_t *y, int64_t n) {
  parallelRanges(n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      y[i] = x[i] ? 0 : 1;
  });
}

void unaryInt(UnaryOp op, DType dtype, const void *x, void *y, int64_t n) {
  switch (dtype) {
  case DType::I64:
    return unaryIntTyped(op, static_cast<const int64_t *>(x),
                         static_cast<int64_t *>(y), n);
  case DType::I32:
    return unaryIntTyped(op, static_cast<const int32_t *>(x),
                         static_cast<int32_t *>(y), n);
  default:
    cpu::fatalError("ssrt: unaryInt on unsupported dtype %s", dtypeName(dtype));
  }
}

// --- binary ----------------------------------------------------------------

namespace {

/// Calls rowFn(offsets, count, aInnerStride, bInnerStride) over the merged
/// broadcast space of out = a op b; offsets are {out, a, b} in elements.
template <typename RowFn>
void forEachBinaryRow(const int64_t *aStrides, const int64_t *bStrides,
                      const int64_t *outShape, int rank, RowFn rowFn) {
  int64_t outStrides[kMaxDims];
  if (rank > kMaxDims)
    cpu::fatalError("ssrt: rank %d exceeds the supported %d", rank, kMaxDims);
  cpu::contiguousStrides(outShape, rank, outStrides);
  const int64_t *strides[3] = {outStrides, aStrides, bStrides};
  StridedSpace<3> s = mergeDims<3>(outShape, rank, strides);
  for (int d = 0; d < s.rank; ++d)
    if (s.shape[d] == 0)
      return;
  const int64_t sa = s.innerStride(1), sb = s.innerStride(2);
  forEachRow(s, [&](const int64_t *offsets, int64_t count) {
    rowFn(offsets, count, sa, sb);
  });
}

/// One row of out = f(a, b); the variants let the compiler vectorise the
/// contiguous and row-broadcast cases.
template <typename T, typename R, typename F>
SSRT_INLINE void binaryRow(F f, const T *a, int64_t sa, const T *b, int64_t sb,
                           R *o, int64_t n) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i)
      o[i] = f(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const T vb = *b;
    for (int64_t i = 0; i < n; ++i)
      o[i] = f(a[i], vb);
  } else if (sa == 0 && sb == 1) {
    const T va = *a;
    for (int64_t i = 0; i < n; ++i)
      o[i] = f(va, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i)
      o[i] = f(a[i * sa], b[i * sb]);
  }
}

bool isComparison(BinaryOp op) {
  return op == BinaryOp::Equal || op == BinaryOp::Less ||
         op == BinaryOp::Greater;
}

/// One float32 row of any binary op (bool output for comparisons).
SSRT_MULTIVERSION
void binaryRowF32(BinaryOp op, const float *a, int64_t sa, const float *b,
                  int64_t sb, void *out, int64_t n) {
  float *o = static_cast<float *>(out);
  uint8_t *flags = static_cast<uint8_t *>(out);
  switch (op) {
  case BinaryOp::Add:
    return binaryRow([](float x, float y) { return math::add(x, y); }, a, sa, b,
                     sb, o, n);
  case BinaryOp::Sub:
    return binaryRow([](float x, float y) { return math::sub(x, y); }, a, sa, b,
                     sb, o, n);
  case BinaryOp::Mul:
    return binaryRow([](float x, float y) { return math::mul(x, y); }, a, sa, b,
                     sb, o, n);
  case BinaryOp::Div:
    return binaryRow([](float x, float y) { return math::div(x, y); }, a, sa, b,
                     sb, o, n);
  case BinaryOp::Pow:
    // x^2 (as in decomposed LayerNorm / variance) is exactly x * x, and a
    // vectorised product instead of a scalar powf call per element.
    if (sb == 0 && *b == 2.0f)
      return binaryRow([](float x, float) { return x * x; }, a, sa, b, sb, o,
                       n);
    return binaryRow([](float x, float y) { return math::pow(x, y); }, a, sa, b,
                     sb, o, n);
  case BinaryOp::Equal:
    return binaryRow(
        [](float x, float y) { return uint8_t(math::equal(x, y)); }, a, sa, b,
        sb, flags, n);
  case BinaryOp::Less:
    return binaryRow([](float x, float y) { return uint8_t(math::less(x, y)); },
                     a, sa, b, sb, flags, n);
  case BinaryOp::Greater:
    return binaryRow(
        [](float x, float y) { return uint8_t(math::greater(x, y)); }, a, sa, b,
        sb, flags, n);
  }
}

void binaryF32(BinaryOp op, const float *a, const int64_t *aStrides,
               const float *b, const int64_t *bStrides, void *out,
               const int64_t *outShape, int rank) {
  const size_t outSize = isComparison(op) ? 1 : sizeof(float);
  char *o = static_cast<char *>(out);
  forEachBinaryRow(
      aStrides, bStrides, outShape, rank,
      [&](const int64_t *offsets, int64_t count, int64_t sa, int64_t sb) {
        binaryRowF32(op, a + offsets[1], sa, b + offsets[2], sb,
                     o + offsets[0] * outSize, count);
      });
}

/// out = f(a, b) for the integer dtypes.
template <typename T, typename R, typename F>
void binaryLoop(F f, const T *a, const int64_t *aStrides, const T *b,
                const int64_t *bStrides, R *out, const int64_t *outShape,
                int rank) {
  forEachBinaryRow(
      aStrides, bStrides, outShape, rank,
      [&](const int64_t *offsets, int64_t count, int64_t sa, int64_t sb) {
        binaryRow(f, a + offsets[1], sa, b + offsets[2], sb, out + offsets[0],
                  count);
      });
}

template <typename T>
void binaryInteger(BinaryOp op, const T *a, const int64_t *aStrides, const T *b,
                   const int64_t *bStrides, void *out, const int64_t *outShape,
                   int rank) {
  T *o = static_cast<T *>(out);
  uint8_t *flags = static_cast<uint8_t *>(out);
  switch (op) {
  case BinaryOp::Add:
    return binaryLoop([](T x, T y) { return math::add(x, y); }, a, aStrides, b,
                      bStrides, o, outShape, rank);
  case BinaryOp::Sub:
    return binaryLoop([](T x, T y) { return math::sub(x, y); }, a, aStrides, b,
                      bStrides, o, outShape, rank);
  case BinaryOp::Mul:
    return binaryLoop([](T x, T y) { return math::mul(x, y); }, a, aStrides, b,
                      bStrides, o, outShape, rank);
  case BinaryOp::Div:
    return binaryLoop([](T x, T y) { return math::divInt(x, y); }, a, aStrides,
                      b, bStrides, o, outShape, rank);
  case BinaryOp::Pow:
    return binaryLoop([](T x, T y) { return math::powInt(x, y); }, a, aStrides,
                      b, bStrides, o, outShape, rank);
  case BinaryOp::Equal:
    return binaryLoop([](T x, T y) { return uint8_t(math::equal(x, y)); }, a,
                      aStrides, b, bStrides, flags, outShape, rank);
  case BinaryOp::Less:
    return binaryLoop([](T x, T y) { return uint8_t(math::less(x, y)); }, a,
                      aStrides, b, bStrides, flags, outShape, rank);
  case BinaryOp::Greater:
    return binaryLoop([](T x, T y) { return uint8_t(math::greater(x, y)); }, a,
                      aStrides, b, bStrides, flags, outShape, rank);
  }
  cpu::fatalError("ssrt: unknown binary op %d", static_cast<int>(op));
}

} // namespace

void binary(BinaryOp op, DType dtype, const void *a, const int64_t *aStrides,
            const void *b, const int64_t *bStrides, void *out,
            const int64_t *outShape, int rank) {
  switch (dtype) {
  case DType::F32:
    return binaryF32(op, static_cast<const float *>(a), aStrides,
                     static_cast<const float *>(b), bStrides, out, outShape,
                     rank);
  case DType::I64:
    return binaryInteger(op, static_cast<const int64_t *>(a), aStrides,
                         static_cast<const int64_t *>(b), bStrides, out,
                         outShape, rank);
  case DType::I32:
    return binaryInteger(op, static_cast<const int32_t *>(a), aStrides,
                         static_cast<const int32_t *>(b), bStrides, out,
                         outShape, rank);
  case DType::U8:
    return binaryInteger(op, static_cast<const uint8_t *>(a), aStrides,
                         static_cast<const uint8_t *>(b), bStrides, out,
                         outShape, rank);
  case DType::I8:
    return binaryInteger(op, static_cast<const int8_t *>(a), aStrides,
                         static_cast<const int8_t *>(b), bStrides, out,
                         outShape, rank);
  case DType::Bool:
    if (op != BinaryOp::Equal)
      cpu::fatalError("ssrt: binary op %d is not defined on bool",
                      static_cast<int>(op));
    // Bool bytes are canonical 0/1, so byte equality is logical equality.
    return binaryInteger(op, static_cast<const uint8_t *>(a), aStrides,
                         static_cast<const uint8_t *>(b), bStrides, out,
                         outShape, rank);
  }
  cpu::fatalError("ssrt: binary on unsupported dtype %d",
                  static_cast<int>(dtype));
}

// --- where / broadcastTo ---------------------------------------------------

namespace {

template <typename T>
void whereTyped(const uint8_t *cond, const int64_t *condStrides, const T *x,
                const int64_t *xStrides, const T *y, const int64_t *yStrides,
                T *out, const int64_t *outShape, int rank) {
  int64_t outStrides[kMaxDims];
  if (rank > kMaxDims)
    cpu::fatalError("ssrt: rank %d exceeds the supported %d", rank, kMaxDims);
  cpu::contiguousStrides(outShape, rank, outStrides);
  const int64_t *strides[4] = {outStrides, condStrides, xStrides, yStrides};
  StridedSpace<4> s = mergeDims<4>(outShape, rank, strides);
  for (int d = 0; d < s.rank; ++d)
    if (s.shape[d] == 0)
      return;
  const int64_t sc = s.innerStride(1), sx = s.innerStride(2),
                sy = s.innerStride(3);
  forEachRow(s, [&](const int64_t *offsets, int64_t count) {
    T *o = out + offsets[0];
    const uint8_t *pc = cond + offsets[1];
    const T *px = x + offsets[2];
    const T *py = y + offsets[3];
    if (sc == 1 && sx == 1 && sy == 1) {
      for (int64_t i = 0; i < count; ++i)
        o[i] = pc[i] ? px[i] : py[i];
    } else if (sc == 0) {
      // One condition for the whole row: a strided copy of one side.
      const T *src = *pc ? px : py;
      const int64_t ss = *pc ? sx : sy;
      for (int64_t i = 0; i < count; ++i)
        o[i] = src[i * ss];
    } else {
      for (int64_t i = 0; i < count; ++i)
        o[i] = pc[i * sc] ? px[i * sx] : py[i * sy];
    }
  });
}

template <size_t N> using Bytes = cpu::ElementOfSize<N>;

} // namespace

void where(const uint8_t *cond, const int64_t *condStrides, const void *x,
           const int64_t *xStrides, const void *y, const int64_t *yStrides,
           void *out, const int64_t *outShape, int rank, size_t elemSize) {
  switch (elemSize) {
#define SSRT_WHERE_CASE(N)                                                     \
  case N:                                                                      \
    return whereTyped(cond, condStrides, static_cast<const Bytes<N> *>(x),     \
                      xStrides, static_cast<const Bytes<N> *>(y), yStrides,    \
                      static_cast<Bytes<N> *>(out), outShape, rank);
    SSRT_WHERE_CASE(1)
    SSRT_WHERE_CASE(2)
    SSRT_WHERE_CASE(4)
    SSRT_WHERE_CASE(8)
#undef SSRT_WHERE_CASE
  default:
    cpu::fatalError("ssrt: where with element size %zu", elemSize);
  }
}

void broadcastTo(const void *x, const int64_t *xStrides, void *y,
                 const int64_t *outShape, int rank, size_t elemSize) {
  cpu::copyStrided(x, xStrides, y, outShape, rank, elemSize);
}

} // namespace ssrt
