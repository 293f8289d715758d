// CPU kernel entry points called by emitted rank programs. Declarations only:
// this header is included by every generated source, so it stays light.
//
// Conventions shared by every kernel:
//  - tensors are dense, row-major, and never alias unless a kernel says so;
//  - shapes and strides are arrays of `rank` int64 values;
//  - "broadcast strides" are element strides of an operand viewed at the
//    output's rank, with 0 on broadcast dimensions (the compiler computes
//    them);
//  - `elemSize` kernels move bytes and work for every dtype.
#ifndef SSRT_KERNELS_H
#define SSRT_KERNELS_H

#include <cstddef>
#include <cstdint>

namespace ssrt {

/// Element types; the values are ONNX's TensorProto.DataType codes.
enum class DType : int32_t {
  F32 = 1,
  U8 = 2,
  I8 = 3,
  I32 = 6,
  I64 = 7,
  Bool = 9
};

size_t dtypeSize(DType t);
const char *dtypeName(DType t);

enum class UnaryOp : int32_t {
  Identity,
  Neg,
  Abs,
  Exp,
  Log,
  Tanh,
  Erf,
  Relu,
  Sigmoid,
  Sqrt,
  Reciprocal,
  LeakyRelu,   // alpha
  HardSigmoid, // max(0, min(1, alpha * x + beta))
  HardSwish,
  Clip,     // alpha = min, beta = max
  Gelu,     // exact (erf) form
  GeluTanh, // tanh approximation
};

/// y[i] = op(x[i]) for float32.
void unary(UnaryOp op, const float *x, float *y, int64_t n, float alpha,
           float beta);
/// Logical not over bool (one byte per element).
void logicalNot(const uint8_t *x, uint8_t *y, int64_t n);
/// Neg / Abs over int64 and int32 (other unary ops are float-only).
void unaryInt(UnaryOp op, DType dtype, const void *x, void *y, int64_t n);

enum class BinaryOp : int32_t { Add, Sub, Mul, Div, Pow, Equal, Less, Greater };

/// out = a op b with broadcasting. `dtype` is the operand type (F32, I64, I32,
/// or Bool for Equal); Equal/Less/Greater write bool (one byte) outputs.
void binary(BinaryOp op, DType dtype, const void *a, const int64_t *aStrides,
            const void *b, const int64_t *bStrides, void *out,
            const int64_t *outShape, int rank);

/// out = cond ? x : y with broadcasting; cond is bool.
void where(const uint8_t *cond, const int64_t *condStrides, const void *x,
           const int64_t *xStrides, const void *y, const int64_t *yStrides,
           void *out, const int64_t *outShape, int rank, size_t elemSize);

/// Element type conversion, n elements.
void cast(DType from, const void *x, DType to, void *y, int64_t n);

/// y = broadcast of x to outShape (Expand).
void broadcastTo(const void *x, const int64_t *xStrides, void *y,
                 const int64_t *outShape, int rank, size_t elemSize);

/// Fill n elements of y with `value` converted to dtype.
void fill(void *y, DType dtype, int64_t n, double value);

/// Batched matrix product C = A x B. batchShape has batchRank dims; the
/// strides give each operand's matrix offset (in elements) per batch dim, 0
/// where the operand is broadcast. A is MxK, B is KxN, C is MxN, row-major.
void matmul(const float *a, const float *b, float *c, int64_t m, int64_t k,
            int64_t n, int batchRank, const int64_t *batchShape,
            const int64_t *aBatchStrides, const int64_t *bBatchStrides);

/// Y = alpha * op(A) x op(B) + beta * C. A is MxK (KxM if transA), B is KxN
/// (NxK if transB). C may be null; otherwise cStrides gives its (row, col)
/// element strides for broadcasting to MxN.
void gemm(const float *a, const float *b, const float *c, float *y, int64_t m,
          int64_t n, int64_t k, bool transA, bool transB, float alpha,
          float beta, const int64_t *cStrides);

/// N-d convolution (spatialRank 1..3). xShape = [N, C, spatial...],
/// wShape = [O, C/group, kernel...], yShape = [N, O, out spatial...].
/// bias may be null.
void conv(const float *x, const float *w, const float *bias, float *y,
          int spatialRank, const int64_t *xShape, const int64_t *wShape,
          const int64_t *yShape, const int64_t *strides,
          const int64_t *padsBegin, const int64_t *dilations, int64_t group);

/// conv followed by an elementwise activation (UnaryOp with its alpha/beta),
/// fused into the output pass.
void conv(const float *x, const float *w, const float *bias, float *y,
          int spatialRank, const int64_t *xShape, const int64_t *wShape,
          const int64_t *yShape, const int64_t *strides,
          const int64_t *padsBegin, const int64_t *dilations, int64_t group,
          UnaryOp activation, float alpha, float beta);

/// N-d transposed convolution. wShape = [C, O/group, kernel...].
void convTranspose(const float *x, const float *w, const float *bias, float *y,
                   int spatialRank, const int64_t *xShape,
                   const int64_t *wShape, const int64_t *yShape,
                   const int64_t *strides, const int64_t *padsBegin,
                   const int64_t *dilations, int64_t group);

/// Inference batch normalisation over [N, C, inner].
void batchNorm(const float *x, const float *scale, const float *bias,
               const float *mean, const float *var, float *y, int64_t n,
               int64_t c, int64_t inner, float epsilon);

/// Layer normalisation over the trailing `inner` elements of each of `outer`
/// rows. scale has `inner` elements; bias may be null.
void layerNorm(const float *x, const float *scale, const float *bias, float *y,
               int64_t outer, int64_t inner, float epsilon);

/// Pooling over [N, C, spatial...]. Padded positions are skipped by max
/// pooling; average pooling counts them only when countIncludePad.
void maxPool(const float *x, float *y, int spatialRank, const int64_t *xShape,
             const int64_t *yShape, const int64_t *kernel,
             const int64_t *strides, const int64_t *padsBegin,
             const int64_t *dilations);
void avgPool(const float *x, float *y, int spatialRank, const int64_t *xShape,
             const int64_t *yShape, const int64_t *kernel,
             const int64_t *strides, const int64_t *padsBegin,
             const int64_t *padsEnd, bool countIncludePad);

enum class ReduceOp : int32_t { Sum, Mean, Max };

/// Reduce x (shape `shape`, rank `rank`) over the dims where reduceMask[d] is
/// nonzero. y holds the kept dims in order (keepdims does not change layout).
void reduce(ReduceOp op, const float *x, float *y, const int64_t *shape,
            int rank, const uint8_t *reduceMask);

/// Softmax (or log-softmax) along the middle axis of [outer, axis, inner].
void softmax(const float *x, float *y, int64_t outer, int64_t axis,
             int64_t inner, bool logSoftmax);

/// y = transpose(x, perm); inShape is x's shape.
void transpose(const void *x, void *y, const int64_t *inShape,
               const int64_t *perm, int rank, size_t elemSize);

/// Concatenate n inputs viewed as [outer, axisSizes[i], inner].
void concat(const void *const *inputs, const int64_t *axisSizes, int n, void *y,
            int64_t outer, int64_t inner, size_t elemSize);

/// Split x viewed as [outer, sum(axisSizes), inner] into n outputs.
void split(const void *x, void *const *outputs, const int64_t *axisSizes, int n,
           int64_t outer, int64_t inner, size_t elemSize);

/// y[i...] = x[starts + i * steps] per dim (steps may be negative).
void slice(const void *x, void *y, const int64_t *inShape,
           const int64_t *outShape, const int64_t *starts, const int64_t *steps,
           int rank, size_t elemSize);

/// y's box at `offsets` (of x's shape `inShape`) = x; the inverse of a
/// unit-step slice. y has shape `outShape`; the rest of y is left alone.
void insertBox(const void *x, void *y, const int64_t *inShape,
               const int64_t *outShape, const int64_t *offsets, int rank,
               size_t elemSize);

/// y[i] = x[i] * factor for float32 (x and y may alias).
void scale(const float *x, float *y, int64_t n, float factor);

/// Gather along the middle axis of data viewed as [outer, axisSize, inner];
/// indices (int64 or int32, negatives count from the end) are flattened.
/// Out-of-range indices abort with a message.
void gather(const void *data, const void *indices, DType indexType, void *y,
            int64_t outer, int64_t axisSize, int64_t inner, int64_t numIndices,
            size_t elemSize);

enum class PadMode : int32_t { Constant, Reflect, Edge };

/// Pad (padsBegin may be negative, which crops).
void pad(const void *x, void *y, const int64_t *inShape,
         const int64_t *outShape, const int64_t *padsBegin, int rank,
         PadMode mode, double value, DType dtype);

enum class ResizeMode : int32_t { Nearest, Linear };
enum class CoordMode : int32_t {
  HalfPixel,
  PytorchHalfPixel,
  AlignCorners,
  Asymmetric,
};
enum class NearestMode : int32_t {
  RoundPreferFloor,
  RoundPreferCeil,
  Floor,
  Ceil
};

/// N-d resize; scales[d] = outShape[d] / inShape[d] unless given explicitly.
/// Linear mode interpolates along every dim whose size changes.
void resize(const float *x, float *y, const int64_t *inShape,
            const int64_t *outShape, const float *scales, int rank,
            ResizeMode mode, CoordMode coord, NearestMode nearest);

// --- training ---------------------------------------------------------------
//
// Backward kernels of ops whose gradient is not a composition of forward ops,
// and the optimizer updates. Optimizer kernels are elementwise: their outputs
// may alias the matching inputs (param/paramOut, m/mOut, ...), which lets a
// program update its state in place. Every kernel here gives bitwise the same
// result for any thread count (no reduction order depends on it).

/// Gradient of softmax along the middle axis of [outer, axis, inner], given
/// the op's output y: dx = y * (dy - sum(dy * y)); for log-softmax (y is the
/// log-softmax output): dx = dy - exp(y) * sum(dy).
void softmaxGrad(const float *y, const float *dy, float *dx, int64_t outer,
                 int64_t axis, int64_t inner, bool logSoftmax);

/// Gradient of layerNorm with respect to its input x, rows of `inner`
/// elements, scale of `inner` elements: with xhat = (x - mean) * rstd and
/// g = dy * scale, dx = rstd * (g - mean(g) - xhat * mean(g * xhat)).
void layerNormGrad(const float *x, const float *scale, const float *dy,
                   float *dx, int64_t outer, int64_t inner, float epsilon);

/// dx = dy * gelu'(x), exact (erf) or tanh-approximation form.
void geluGrad(const float *x, const float *dy, float *dx, int64_t n,
              bool tanhApproximation);

/// Gradient of gather along the middle axis of data [outer, axisSize, inner]:
/// y = 0, then y[o, index[i], :] += dy[o, i, :] for the numIndices flattened
/// indices (int64 or int32, negatives count from the end). Out-of-range
/// indices abort with a message.
void gatherGrad(const void *indices, DType indexType, const float *dy, float *y,
                int64_t outer, int64_t axisSize, int64_t inner,
                int64_t numIndices);

/// Gradient of conv with respect to its filter, shapes as for conv
/// (dyShape is conv's yShape, dwShape its wShape): dw[o, c, k...] = sum over
/// n and output positions p of dy[n, o, p] * x[n, g * C/group + c,
/// p * strides - padsBegin + k * dilations] (0 in the padding), g being o's
/// group. im2col and sgemm per batch element: fixed chunks of the batch sum
/// into partial filters added in chunk order (or, for one chunk, fixed tiles
/// of dw), each sgemm on one thread, so that the rounding never depends on
/// the thread count.
void convFilterGrad(const float *x, const float *dy, float *dw, int spatialRank,
                    const int64_t *xShape, const int64_t *dyShape,
                    const int64_t *dwShape, const int64_t *strides,
                    const int64_t *padsBegin, const int64_t *dilations,
                    int64_t group);

/// Gradient of maxPool (same shapes and window arguments): dx = 0, then each
/// dy element added at the first maximum of its window in x, in row-major
/// window order with the padding skipped (PyTorch's choice among ties).
void maxPoolGrad(const float *x, const float *dy, float *dx, int spatialRank,
                 const int64_t *xShape, const int64_t *dyShape,
                 const int64_t *kernel, const int64_t *strides,
                 const int64_t *padsBegin, const int64_t *dilations);

/// Gradient of avgPool (same shapes and window arguments): dx = 0, then each
/// dy element divided by its window's count, as avgPool counts it, added to
/// every input element of the window.
void avgPoolGrad(const float *dy, float *dx, int spatialRank,
                 const int64_t *xShape, const int64_t *dyShape,
                 const int64_t *kernel, const int64_t *strides,
                 const int64_t *padsBegin, const int64_t *padsEnd,
                 bool countIncludePad);

/// Gradient of resize (same arguments; inShape is dx's shape, outShape
/// dy's): the transpose of its interpolation, one dim at a time. dx = 0,
/// then each element of dy added to the input elements its output read,
/// times their weights.
void resizeGrad(const float *dy, float *dx, const int64_t *inShape,
                const int64_t *outShape, const float *scales, int rank,
                ResizeMode mode, CoordMode coord, NearestMode nearest);

enum class LrSchedule : int32_t { Constant, WarmupLinear, Cosine };

/// The learning rate of the optimizer step that follows `step` completed
/// steps, as the `transformers` schedules define it: a linear warm-up from 0
/// over `warmupSteps`, then constant, linear decay to 0 at `totalSteps`, or
/// half a cosine to 0 at `totalSteps` (which, as in `transformers`, rises
/// again past it).
float learningRate(LrSchedule schedule, float baseLr, int64_t warmupSteps,
                   int64_t totalSteps, int64_t step);

/// SGD as PyTorch defines it: g = grad * gradScale + weightDecay * param;
/// buf = momentum * buf + g (buf, bufOut null when momentum is 0);
/// param -= lr * (momentum ? buf : g). gradScale may be null (1).
void sgdUpdate(const float *param, const float *grad, const float *buf,
               float *paramOut, float *bufOut, int64_t n, float lr,
               float momentum, float weightDecay, const float *gradScale);

/// AdamW as PyTorch defines it (amsgrad off), for optimizer step
/// t = step + 1: param *= 1 - lr * weightDecay; g = grad * gradScale;
/// m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
/// param -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps),
/// in PyTorch's operation order. gradScale may be null (1).
void adamwUpdate(const float *param, const float *grad, const float *m,
                 const float *v, float *paramOut, float *mOut, float *vOut,
                 int64_t n, float lr, float beta1, float beta2, float eps,
                 float weightDecay, int64_t step, const float *gradScale);

} // namespace ssrt

#endif // SSRT_KERNELS_H
