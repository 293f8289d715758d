// Compile-only check that ssrt/math.h is valid CUDA device code: a kernel
// that calls every scalar formula.
#include "ssrt/math.h"

namespace math = ssrt::math;

__global__ void everyFormula(const float *x, float *y, const long *ix, long *iy,
                             const int *jx, int *jy, bool *flags) {
  const int i = threadIdx.x;
  const float v = x[i];
  float acc = math::identity(v) + math::neg(v) + math::abs(v) + math::exp(v) +
              math::log(v) + math::tanh(v) + math::erf(v) + math::relu(v) +
              math::sigmoid(v) + math::sqrt(v) + math::reciprocal(v) +
              math::leakyRelu(v, 0.1f) + math::hardSigmoid(v, 0.2f, 0.5f) +
              math::hardSwish(v) + math::clip(v, -1.0f, 1.0f) + math::gelu(v) +
              math::geluTanh(v);
  acc += math::add(v, 1.0f) + math::sub(v, 1.0f) + math::mul(v, 2.0f) +
         math::div(v, 3.0f) + math::pow(v, 2.0f);
  y[i] = acc;
  const int64_t a = static_cast<int64_t>(ix[i]);
  iy[i] = math::negInt(a) + math::absInt(a) + math::divInt(a, int64_t(3)) +
          math::powInt(a, int64_t(3)) + math::add(a, int64_t(1));
  jy[i] = math::divInt(jx[i], 2) + math::powInt(jx[i], 2) + math::negInt(jx[i]);
  flags[i] = math::equal(v, 0.0f) || math::less(a, int64_t(0)) ||
             math::greater(jx[i], 1);
}
