// Reports an unrecoverable kernel error (bad index, unsupported dtype) the way
// every rank program reports errors: one "error: ..." line, exit status 1
// (in a distributed run, for the whole job).
#ifndef SSRT_CPU_FATAL_ERROR_H
#define SSRT_CPU_FATAL_ERROR_H

namespace ssrt {
namespace cpu {

[[noreturn]] void fatalError(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

/// Takes over fatalError's reporting (the message, without "error: ") and
/// must end the program; a distributed world installs one that ends every
/// rank. nullptr restores the default. Kept as a hook so that this file's
/// users (ssc too) need no MPI.
using FatalErrorHandler = void (*)(const char *message);
void setFatalErrorHandler(FatalErrorHandler handler);

} // namespace cpu
} // namespace ssrt

#endif // SSRT_CPU_FATAL_ERROR_H
