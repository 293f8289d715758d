// Builds hot leaf loops once per x86 vector level (AVX-512, AVX2+FMA,
// baseline SSE2) and lets the loader pick the best one for the CPU, so one
// portable library still vectorises at the machine's full width.
#ifndef SSRT_CPU_MULTIVERSION_H
#define SSRT_CPU_MULTIVERSION_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&         \
    __GNUC__ >= 12 && !defined(SSRT_NO_MULTIVERSION)
#define SSRT_MULTIVERSION                                                      \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
// Kernels that pick their own register blocking per vector level build
// target("arch=...") variants and choose one with __builtin_cpu_supports.
#define SSRT_X86_LEVELS 1
#else
#define SSRT_MULTIVERSION
#endif

// Helpers called from a multiversioned function must be inlined into it to
// be compiled for its vector level.
#define SSRT_INLINE inline __attribute__((always_inline))
// The same for a lambda (written after its parameter list), e.g. a loop body
// handed to a dispatch helper.
#define SSRT_INLINE_LAMBDA __attribute__((always_inline))

#endif // SSRT_CPU_MULTIVERSION_H
