// Element type facts and conversions: dtype sizes and names, cast, fill, and
// the shared fatal-error reporter.
#include "fatal_error.h"
#include "ssrt/kernels.h"
#include "strided_iteration.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace ssrt {

namespace cpu {

namespace {
FatalErrorHandler fatalErrorHandler = nullptr;
} // namespace

void setFatalErrorHandler(FatalErrorHandler handler) {
  fatalErrorHandler = handler;
}

void fatalError(const char *format, ...) {
  char text[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof(text), format, args);
  va_end(args);
  if (fatalErrorHandler)
    fatalErrorHandler(text);
  std::fflush(stdout);
  std::fprintf(stderr, "error: %s\n", text);
  std::exit(1);
}

} // namespace cpu

size_t dtypeSize(DType t) {
  switch (t) {
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::I64:
    return 8;
  case DType::U8:
  case DType::I8:
  case DType::Bool:
    return 1;
  }
  return 0;
}

const char *dtypeName(DType t) {
  switch (t) {
  case DType::F32:
    return "float32";
  case DType::I64:
    return "int64";
  case DType::I32:
    return "int32";
  case DType::Bool:
    return "bool";
  case DType::U8:
    return "uint8";
  case DType::I8:
    return "int8";
  }
  return "unknown";
}

namespace {

using cpu::parallelRanges;

// Converts one value; bool targets test against zero, every other target is a
// C conversion (float to integer truncates toward zero).
template <typename To, typename From> inline To convert(From v) {
  return static_cast<To>(v);
}

template <typename To, typename From>
void castLoop(const From *x, To *y, int64_t n, bool toBool) {
  parallelRanges(n, 1, [&](int64_t begin, int64_t end) {
    if (toBool) {
      for (int64_t i = begin; i < end; ++i)
        y[i] = x[i] != From(0) ? To(1) : To(0);
    } else {
      for (int64_t i = begin; i < end; ++i)
        y[i] = convert<To>(x[i]);
    }
  });
}

template <typename From>
void castFrom(const From *x, DType to, void *y, int64_t n) {
  switch (to) {
  case DType::F32:
    return castLoop(x, static_cast<float *>(y), n, false);
  case DType::I64:
    return castLoop(x, static_cast<int64_t *>(y), n, false);
  case DType::I32:
    return castLoop(x, static_cast<int32_t *>(y), n, false);
  case DType::U8:
    return castLoop(x, static_cast<uint8_t *>(y), n, false);
  case DType::I8:
    return castLoop(x, static_cast<int8_t *>(y), n, false);
  case DType::Bool:
    return castLoop(x, static_cast<uint8_t *>(y), n, true);
  }
  cpu::fatalError("ssrt: cast to unsupported dtype %d", static_cast<int>(to));
}

template <typename T> void fillTyped(T *y, int64_t n, T value) {
  parallelRanges(n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      y[i] = value;
  });
}

} // namespace

void cast(DType from, const void *x, DType to, void *y, int64_t n) {
  switch (from) {
  case DType::F32:
    return castFrom(static_cast<const float *>(x), to, y, n);
  case DType::I64:
    return castFrom(static_cast<const int64_t *>(x), to, y, n);
  case DType::I32:
    return castFrom(static_cast<const int32_t *>(x), to, y, n);
  case DType::U8:
    return castFrom(static_cast<const uint8_t *>(x), to, y, n);
  case DType::I8:
    return castFrom(static_cast<const int8_t *>(x), to, y, n);
  case DType::Bool:
    // Bool bytes are 0 or 1, so reading them as uint8 converts correctly.
    return castFrom(static_cast<const uint8_t *>(x), to, y, n);
  }
  cpu::fatalError("ssrt: cast from unsupported dtype %d",
                  static_cast<int>(from));
}

void fill(void *y, DType dtype, int64_t n, double value) {
  switch (dtype) {
  case DType::F32:
    return fillTyped(static_cast<float *>(y), n, static_cast<float>(value));
  case DType::I64:
    return fillTyped(static_cast<int64_t *>(y), n, static_cast<int64_t>(value));
  case DType::I32:
    return fillTyped(static_cast<int32_t *>(y), n, static_cast<int32_t>(value));
  case DType::U8:
    return fillTyped(static_cast<uint8_t *>(y), n, static_cast<uint8_t>(value));
  case DType::I8:
    return fillTyped(static_cast<int8_t *>(y), n, static_cast<int8_t>(value));
  case DType::Bool:
    return fillTyped(static_cast<uint8_t *>(y), n,
                     static_cast<uint8_t>(value != 0.0 ? 1 : 0));
  }
  cpu::fatalError("ssrt: fill of unsupported dtype %d",
                  static_cast<int>(dtype));
}

} // namespace ssrt
