// FNV-1a 64 checksum of weights files.
#include "ssrt/weights.h"

namespace ssrt {

uint64_t fnv1a64(const void *data, size_t n, uint64_t hash) {
  const unsigned char *p = static_cast<const unsigned char *>(data);
  for (size_t i = 0; i < n; ++i) {
    hash ^= p[i];
    hash *= kFnv1a64Prime;
  }
  return hash;
}

} // namespace ssrt
