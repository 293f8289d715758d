// The index mapping of Resize along one dim (ONNX's coordinate
// transformation and nearest rounding modes), shared by the forward kernel
// and its gradient so that the gradient reads exactly the weights the
// forward pass used.
#ifndef SSRT_CPU_RESIZE_AXIS_H
#define SSRT_CPU_RESIZE_AXIS_H

#include "ssrt/kernels.h"

#include <cstdint>
#include <vector>

namespace ssrt {
namespace cpu {

/// Per output index along one dim: the two input indices it reads and the
/// weight of the second (`hi`); nearest mode reads `lo` alone (weight 0).
struct ResizeAxis {
  std::vector<int64_t> lo, hi;
  std::vector<float> weight;
  bool interpolated = false; // linear mode on a dim that is not identity
  bool identity = false;     // output index i reads input index i alone
};

/// The mapping of `out` output indices onto `in` input indices with the
/// given scale (out / in when the model gave sizes rather than scales).
ResizeAxis resizeAxis(int64_t in, int64_t out, float scale, ResizeMode mode,
                      CoordMode coord, NearestMode nearest);

} // namespace cpu
} // namespace ssrt

#endif // SSRT_CPU_RESIZE_AXIS_H
