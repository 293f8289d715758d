// Scalar formulas of every unary and binary operator and of the training
// kernels' per-element updates, written once so that the CPU kernels and
// future CUDA kernels compute the same math (only the exp / erf / tanh
// primitives differ: vectorisable polynomials on the host, CUDA's own
// functions on the device).
#ifndef SSRT_MATH_H
#define SSRT_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define SSRT_HD __host__ __device__
#else
#define SSRT_HD
#endif

namespace ssrt {
namespace math {

// --- host transcendental kernels -------------------------------------------
//
// On the CPU, exp/erf/tanh are branch-free polynomial forms (within 3 ulp)
// instead of libm calls, so that loops over them vectorise: scalar libm calls
// made Gelu/Softmax/Sigmoid several times slower than onnxruntime. Device
// code keeps CUDA's own expf/erff/tanhf.
//
// GCC (with its default -ftrapping-math) will not turn `c ? f(x) : g(x)`
// into a vector blend when f or g does float arithmetic, so choices between
// computed values go through integer bit masks (`pick`).
#ifndef __CUDA_ARCH__
namespace host {

inline float floatFromBits(uint32_t bits) {
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

inline uint32_t bitsFromFloat(float f) {
  uint32_t bits;
  memcpy(&bits, &f, sizeof bits);
  return bits;
}

/// c ? a : b, computed without a branch.
inline float pick(bool c, float a, float b) {
  const uint32_t mask = 0u - static_cast<uint32_t>(c);
  return floatFromBits((bitsFromFloat(a) & mask) | (bitsFromFloat(b) & ~mask));
}

/// |magnitude| with the sign of `sign` (magnitude must be non-negative).
inline float withSignOf(float magnitude, float sign) {
  return floatFromBits(bitsFromFloat(magnitude) |
                       (bitsFromFloat(sign) & 0x80000000u));
}

// e^x = 2^n * e^r with |r| <= ln2/2, e^r from the Cephes expf polynomial.
// x is clamped to [-104, 89]: the ends still overflow to +inf and underflow
// to 0 through the scaling, and NaN passes the clamp and the arithmetic.
// 2^n is applied in two halves so that n in [-150, 128] stays representable.
inline float exp(float x) {
  // The clamp uses pick too: with a plain ?: GCC specialises the clamped
  // path into a constant product that "may trap" and gives up vectorising.
  const float xc = pick(x > 89.0f, 89.0f, pick(x < -104.0f, -104.0f, x));
  const float t = xc * 1.44269504088896341f;
  // Round to nearest with the 1.5 * 2^23 trick: the sum's low mantissa bits
  // hold n as an integer, so no float-to-int conversion is needed.
  const float shifted = t + 12582912.0f;
  const float n = shifted - 12582912.0f;
  const int32_t ni = static_cast<int32_t>(bitsFromFloat(shifted) - 0x4B400000u);
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t n1 = ni / 2, n2 = ni - n1;
  return p * floatFromBits(static_cast<uint32_t>(n1 + 127) << 23) *
         floatFromBits(static_cast<uint32_t>(n2 + 127) << 23);
}

// erf(x) = x * P(x^2) for |x| < 1, else 1 - exp(Q(|x|)) with Q fitted to
// log(erfc) up to |x| = 4, past which erf rounds to +-1 in float. The
// coefficients are least-squares fits (max error 2e-7 relative below 1,
// 7e-8 absolute above).
inline float erf(float x) {
  const float a = fabsf(x);
  const float z = a * a;
  float ps = -5.696712997326076e-4f;
  ps = ps * z + 4.934518828124512e-3f;
  ps = ps * z - 2.672698977895066e-2f;
  ps = ps * z + 1.128078896033618e-1f;
  ps = ps * z - 3.761241472609777e-1f;
  ps = ps * z + 1.128379149952454f;
  const float small = a * ps;
  const float ac = pick(a < 4.0f, a, 4.0f);
  float q = 1.6140616088122783e-6f;
  q = q * ac - 4.559062256331847e-5f;
  q = q * ac + 5.927695388519838e-4f;
  q = q * ac - 4.740222346472079e-3f;
  q = q * ac + 2.6364717375515715e-2f;
  q = q * ac - 1.0997824514324381e-1f;
  q = q * ac - 6.31937093667636e-1f;
  q = q * ac - 1.1301666754891477f;
  q = q * ac + 3.0321296130075983e-4f;
  const float large = 1.0f - exp(q);
  // NaN fails `a >= 1` and takes the (NaN) polynomial branch.
  return withSignOf(pick(!(a >= 1.0f), small, large), x);
}

// tanh(x) = x * P(x^2) for |x| < 0.625 (fitted, 1e-7 relative), else
// 1 - 2 / (e^{2|x|} + 1).
inline float tanh(float x) {
  const float a = fabsf(x);
  const float z = a * a;
  float ps = -5.709965411207104e-3f;
  ps = ps * z + 2.064225491366689e-2f;
  ps = ps * z - 5.3739843722626704e-2f;
  ps = ps * z + 1.3331418613448318e-1f;
  ps = ps * z - 3.3333277685306517e-1f;
  ps = ps * z + 9.999999983417294e-1f;
  const float small = a * ps;
  const float large = 1.0f - 2.0f / (exp(2.0f * a) + 1.0f);
  return withSignOf(pick(!(a >= 0.625f), small, large), x);
}

} // namespace host
#endif

// --- unary, float32 --------------------------------------------------------

SSRT_HD inline float identity(float x) { return x; }
SSRT_HD inline float neg(float x) { return -x; }
SSRT_HD inline float abs(float x) { return fabsf(x); }
SSRT_HD inline float exp(float x) {
#ifdef __CUDA_ARCH__
  return expf(x);
#else
  return host::exp(x);
#endif
}
SSRT_HD inline float log(float x) { return logf(x); }
SSRT_HD inline float tanh(float x) {
#ifdef __CUDA_ARCH__
  return tanhf(x);
#else
  return host::tanh(x);
#endif
}
SSRT_HD inline float erf(float x) {
#ifdef __CUDA_ARCH__
  return erff(x);
#else
  return host::erf(x);
#endif
}
// Written as a comparison (not fmaxf) so that NaN propagates like onnxruntime.
SSRT_HD inline float relu(float x) { return x < 0.0f ? 0.0f : x; }
SSRT_HD inline float sqrt(float x) { return sqrtf(x); }
SSRT_HD inline float reciprocal(float x) { return 1.0f / x; }

// exp(-x) overflowing to +inf for very negative x still gives exactly 0.
SSRT_HD inline float sigmoid(float x) { return 1.0f / (1.0f + exp(-x)); }

SSRT_HD inline float leakyRelu(float x, float alpha) {
#ifdef __CUDA_ARCH__
  return x < 0.0f ? alpha * x : x;
#else
  return host::pick(x < 0.0f, alpha * x, x);
#endif
}

// Comparisons rather than fminf/fmaxf keep NaN inputs NaN.
SSRT_HD inline float clip(float x, float lo, float hi) {
#ifdef __CUDA_ARCH__
  return x < lo ? lo : (x > hi ? hi : x);
#else
  return host::pick(x < lo, lo, host::pick(x > hi, hi, x));
#endif
}

SSRT_HD inline float hardSigmoid(float x, float alpha, float beta) {
  return clip(alpha * x + beta, 0.0f, 1.0f);
}

// ONNX HardSwish: x * HardSigmoid(x) with alpha = 1/6, beta = 0.5.
SSRT_HD inline float hardSwish(float x) {
  return x * hardSigmoid(x, 1.0f / 6.0f, 0.5f);
}

// Exact GELU: 0.5 * x * (1 + erf(x / sqrt(2))).
SSRT_HD inline float gelu(float x) {
  return 0.5f * x * (1.0f + erf(x * 0.70710678118654752440f));
}

// GELU tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
SSRT_HD inline float geluTanh(float x) {
  float inner = 0.79788456080286535588f * (x + 0.044715f * x * x * x);
  return 0.5f * x * (1.0f + tanh(inner));
}

// d/dx of exact GELU: Phi(x) + x * phi(x), phi the standard normal density.
SSRT_HD inline float geluDerivative(float x) {
  const float cdf = 0.5f * (1.0f + erf(x * 0.70710678118654752440f));
  const float pdf = 0.39894228040143267794f * exp(-0.5f * x * x);
  return cdf + x * pdf;
}

// d/dx of the tanh approximation, with u = sqrt(2/pi) (x + 0.044715 x^3):
// 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) du/dx, in PyTorch's term order.
SSRT_HD inline float geluTanhDerivative(float x) {
  const float k0 = 0.79788456080286535588f, k1 = 0.044715f;
  const float xSquared = x * x;
  const float t = tanh(k0 * (x + k1 * xSquared * x));
  const float du = k0 * (1.0f + 3.0f * k1 * xSquared);
  return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
}

// --- unary, integers -------------------------------------------------------

// Maps a signed integer type to its unsigned twin (no <type_traits>: the header
// must stay usable in device code without the standard library).
template <typename T> struct UnsignedOf;
template <> struct UnsignedOf<int8_t> { typedef uint8_t Type; };
template <> struct UnsignedOf<uint8_t> { typedef uint8_t Type; };
template <> struct UnsignedOf<int32_t> { typedef uint32_t Type; };
template <> struct UnsignedOf<int64_t> { typedef uint64_t Type; };

template <typename T> SSRT_HD inline T negInt(T x) {
  // Through unsigned so that negating the minimum value wraps instead of
  // being undefined behaviour.
  typedef typename UnsignedOf<T>::Type U;
  return static_cast<T>(U(0) - static_cast<U>(x));
}

template <typename T> SSRT_HD inline T absInt(T x) {
  return x < 0 ? negInt(x) : x;
}

// --- binary ----------------------------------------------------------------

template <typename T> SSRT_HD inline T add(T a, T b) { return a + b; }
template <typename T> SSRT_HD inline T sub(T a, T b) { return a - b; }
template <typename T> SSRT_HD inline T mul(T a, T b) { return a * b; }
template <typename T> SSRT_HD inline bool equal(T a, T b) { return a == b; }
template <typename T> SSRT_HD inline bool less(T a, T b) { return a < b; }
template <typename T> SSRT_HD inline bool greater(T a, T b) { return a > b; }

SSRT_HD inline float div(float a, float b) { return a / b; }

// Integer division truncates toward zero (C and onnxruntime semantics). A zero
// divisor yields 0 and dividing the minimum value by -1 wraps, so that a bad
// input never raises SIGFPE.
template <typename T> SSRT_HD inline T divInt(T a, T b) {
  if (b == 0)
    return 0;
  if (T(-1) < T(0) && b == T(-1))
    return negInt(a);
  return a / b;
}

SSRT_HD inline float pow(float a, float b) { return powf(a, b); }

// Integer power by repeated squaring; a negative exponent gives the truncated
// real result (0 unless |a| == 1), as casting pow(a, b) back to int would.
template <typename T> SSRT_HD inline T powInt(T a, T b) {
  if (b < 0) {
    if (a == 1)
      return 1;
    if (a == T(-1))
      return (b % 2 == 0) ? T(1) : T(-1);
    return 0;
  }
  typedef typename UnsignedOf<T>::Type U;
  U result = 1, base = static_cast<U>(a);
  while (b > 0) {
    if (b & 1)
      result *= base;
    base *= base;
    b = static_cast<T>(b >> 1);
  }
  return static_cast<T>(result);
}

// --- training --------------------------------------------------------------
//
// Learning-rate schedules and optimizer updates, one parameter element at a
// time. Per-step constants are computed once in double (as PyTorch does in
// Python floats) and rounded to float; element arithmetic is float, in
// PyTorch's operation order.

// Learning-rate multipliers of the `transformers` schedules after `step`
// completed steps: a linear warm-up from 0 over `warmup` steps, then 1
// (constant), a linear decay to 0 at `total`, or half a cosine to 0 at
// `total` (get_cosine_schedule_with_warmup with num_cycles = 0.5).
SSRT_HD inline double lrWarmupFactor(int64_t step, int64_t warmup) {
  return static_cast<double>(step) /
         static_cast<double>(warmup > 1 ? warmup : 1);
}

SSRT_HD inline double lrConstantFactor(int64_t step, int64_t warmup) {
  return step < warmup ? lrWarmupFactor(step, warmup) : 1.0;
}

SSRT_HD inline double lrLinearFactor(int64_t step, int64_t warmup,
                                     int64_t total) {
  if (step < warmup)
    return lrWarmupFactor(step, warmup);
  const int64_t decaySteps = total - warmup > 1 ? total - warmup : 1;
  const double f = static_cast<double>(total - step) / decaySteps;
  return f > 0.0 ? f : 0.0;
}

SSRT_HD inline double lrCosineFactor(int64_t step, int64_t warmup,
                                     int64_t total) {
  if (step < warmup)
    return lrWarmupFactor(step, warmup);
  const int64_t decaySteps = total - warmup > 1 ? total - warmup : 1;
  const double progress = static_cast<double>(step - warmup) / decaySteps;
  const double f = 0.5 * (1.0 + ::cos(3.14159265358979323846 * progress));
  return f > 0.0 ? f : 0.0;
}

// torch.optim.SGD (dampening 0, no Nesterov) for one element:
// g = grad * gradScale + weightDecay * param, then param -= lr * g, or with
// momentum buf = momentum * buf + g and param -= lr * buf. A zero-initialised
// buf reproduces PyTorch's first step (buf = g).
SSRT_HD inline float sgdGradient(float grad, float gradScale, float param,
                                 float weightDecay) {
  return grad * gradScale + weightDecay * param;
}

SSRT_HD inline void sgdStep(float &param, float grad, float gradScale, float lr,
                            float weightDecay) {
  param = param - lr * sgdGradient(grad, gradScale, param, weightDecay);
}

SSRT_HD inline void sgdMomentumStep(float &param, float &buf, float grad,
                                    float gradScale, float lr, float momentum,
                                    float weightDecay) {
  buf = momentum * buf + sgdGradient(grad, gradScale, param, weightDecay);
  param = param - lr * buf;
}

/// The per-step float constants of one torch.optim.AdamW step.
struct AdamwCoefficients {
  float decay; // 1 - lr * weightDecay
  float beta1, oneMinusBeta1;
  float beta2, oneMinusBeta2;
  float stepSize;            // lr / (1 - beta1^t)
  float biasCorrection2Sqrt; // sqrt(1 - beta2^t)
  float eps;
};

/// Coefficients for optimizer step t = step + 1 (`step` completed steps).
SSRT_HD inline AdamwCoefficients adamwCoefficients(float lr, float beta1,
                                                   float beta2, float eps,
                                                   float weightDecay,
                                                   int64_t step) {
  const double t = static_cast<double>(step + 1);
  const double biasCorrection1 = 1.0 - ::pow(static_cast<double>(beta1), t);
  const double biasCorrection2 = 1.0 - ::pow(static_cast<double>(beta2), t);
  AdamwCoefficients c;
  c.decay = static_cast<float>(1.0 - static_cast<double>(lr) * weightDecay);
  c.beta1 = beta1;
  c.oneMinusBeta1 = static_cast<float>(1.0 - static_cast<double>(beta1));
  c.beta2 = beta2;
  c.oneMinusBeta2 = static_cast<float>(1.0 - static_cast<double>(beta2));
  c.stepSize = static_cast<float>(lr / biasCorrection1);
  c.biasCorrection2Sqrt = static_cast<float>(::sqrt(biasCorrection2));
  c.eps = eps;
  return c;
}

// torch.optim.AdamW (amsgrad off) for one element, g = grad * gradScale:
// param *= decay; m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
// param -= stepSize * m / (sqrt(v) / sqrt(1 - beta2^t) + eps). (PyTorch
// updates m with a lerp, which can round differently in the last bit.)
SSRT_HD inline void adamwStep(float &param, float &m, float &v, float grad,
                              float gradScale, const AdamwCoefficients &c) {
  const float g = grad * gradScale;
  param = param * c.decay;
  m = c.beta1 * m + c.oneMinusBeta1 * g;
  v = c.beta2 * v + c.oneMinusBeta2 * g * g;
  const float denom = sqrt(v) / c.biasCorrection2Sqrt + c.eps;
  param = param - c.stepSize * m / denom;
}

} // namespace math
} // namespace ssrt

#endif // SSRT_MATH_H
