// Per-thread reusable scratch memory for kernels that need temporaries
// (im2col columns, softmax rows), so that repeated steps do not pay for
// allocation and page faults each time.
#ifndef SSRT_CPU_SCRATCH_BUFFER_H
#define SSRT_CPU_SCRATCH_BUFFER_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ssrt {
namespace cpu {

/// Returns at least `count` floats of the calling thread's scratch slot
/// `slot`; the contents are unspecified and live until the next call with the
/// same slot on this thread.
inline float *scratchFloats(int slot, int64_t count) {
  constexpr int kSlots = 4;
  thread_local std::vector<float> buffers[kSlots];
  std::vector<float> &buffer = buffers[slot];
  if (static_cast<int64_t>(buffer.size()) < count)
    buffer.resize(static_cast<size_t>(count));
  return buffer.data();
}

} // namespace cpu
} // namespace ssrt

#endif // SSRT_CPU_SCRATCH_BUFFER_H
