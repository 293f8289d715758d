// Maps a float UnaryOp (with its alpha/beta) to the ssrt/math.h function that
// computes it, so that unary() and the kernels with fused activations share
// one dispatch and one definition of each formula.
#ifndef SSRT_CPU_UNARY_FUNCTIONS_H
#define SSRT_CPU_UNARY_FUNCTIONS_H

#include "fatal_error.h"
#include "multiversion.h"
#include "ssrt/kernels.h"
#include "ssrt/math.h"

namespace ssrt {
namespace cpu {

/// Calls body(f) once, with f a callable float -> float computing `op`. The
/// switch runs once per call, so body's loop over f stays branch-free and
/// vectorises. body is inlined into the caller (and so compiled for the
/// caller's vector level when the caller is multiversioned).
template <typename Body>
SSRT_INLINE void withUnaryFunction(UnaryOp op, float alpha, float beta,
                                   Body &&body) {
  switch (op) {
  case UnaryOp::Identity:
    return body([](float v) { return math::identity(v); });
  case UnaryOp::Neg:
    return body([](float v) { return math::neg(v); });
  case UnaryOp::Abs:
    return body([](float v) { return math::abs(v); });
  case UnaryOp::Exp:
    return body([](float v) { return math::exp(v); });
  case UnaryOp::Log:
    return body([](float v) { return math::log(v); });
  case UnaryOp::Tanh:
    return body([](float v) { return math::tanh(v); });
  case UnaryOp::Erf:
    return body([](float v) { return math::erf(v); });
  case UnaryOp::Relu:
    return body([](float v) { return math::relu(v); });
  case UnaryOp::Sigmoid:
    return body([](float v) { return math::sigmoid(v); });
  case UnaryOp::Sqrt:
    return body([](float v) { return math::sqrt(v); });
  case UnaryOp::Reciprocal:
    return body([](float v) { return math::reciprocal(v); });
  case UnaryOp::LeakyRelu:
    return body([alpha](float v) { return math::leakyRelu(v, alpha); });
  case UnaryOp::HardSigmoid:
    return body(
        [alpha, beta](float v) { return math::hardSigmoid(v, alpha, beta); });
  case UnaryOp::HardSwish:
    return body([](float v) { return math::hardSwish(v); });
  case UnaryOp::Clip:
    return body([alpha, beta](float v) { return math::clip(v, alpha, beta); });
  case UnaryOp::Gelu:
    return body([](float v) { return math::gelu(v); });
  case UnaryOp::GeluTanh:
    return body([](float v) { return math::geluTanh(v); });
  }
  fatalError("ssrt: unknown unary op %d", static_cast<int>(op));
}

} // namespace cpu
} // namespace ssrt

#endif // SSRT_CPU_UNARY_FUNCTIONS_H
