// Reports an unrecoverable kernel error (bad index, unsupported dtype) the way
// every rank program reports errors: one "error: ..." line, exit status 1.
#ifndef SSRT_CPU_FATAL_ERROR_H
#define SSRT_CPU_FATAL_ERROR_H

namespace ssrt {
namespace cpu {

[[noreturn]] void fatalError(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

} // namespace cpu
} // namespace ssrt

#endif // SSRT_CPU_FATAL_ERROR_H
