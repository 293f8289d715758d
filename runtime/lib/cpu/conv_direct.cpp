// Direct convolution for small problems: a zero-padded, stride-phase-split
// copy of the input and a register-blocked kernel over it, instead of im2col
// and sgemm (whose unfolding and packing dominate tiny convolutions).
#include "conv_direct.h"

#include "multiversion.h"
#include "scratch_buffer.h"
#include "strided_iteration.h"
#include "unary_functions.h"

#include <cstring>
#include <vector>

namespace ssrt {
namespace cpu {

namespace {

// Scratch slots (per thread; conv.cpp's im2col uses slot 0 the same way).
constexpr int kPaddedInputSlot = 0;
constexpr int kWideOutputSlot = 1;

// --- vectors -----------------------------------------------------------------

/// V floats as one GCC vector. Vectors travel by reference between helpers:
/// passing them by value would change the calling convention between the
/// baseline and AVX builds (-Wpsabi).
template <int V> struct FloatVector {
  typedef float Type __attribute__((vector_size(V * sizeof(float))));
};

template <typename Vec> SSRT_INLINE void loadVec(Vec &v, const float *p) {
  std::memcpy(&v, p, sizeof v);
}

template <typename Vec> SSRT_INLINE void storeVec(float *p, const Vec &v) {
  std::memcpy(p, &v, sizeof v);
}

// --- layout ------------------------------------------------------------------

/// Where the kernel reads and writes, for vectors of V floats.
///
/// Input: per input channel, one plane per stride phase (r_d, r_h, r_w);
/// element (q_d, q_h, q_w) of a phase plane is the padded-input position
/// q * stride + r (zero outside the input). Kernel tap k reads phase
/// (k * dilation) % stride at offset (k * dilation) / stride for every output
/// position, so V consecutive output columns read V consecutive phase-plane
/// columns, whatever the stride, dilation or padding.
///
/// Output: "runs" of V consecutive floats. Either each output row is cut
/// into runs (rows padded to a multiple of V), or, when rows are short, each
/// depth slice is read as one flat sequence of phase-plane rows (row pitch
/// q_w) so that runs span rows; the columns past the output width are
/// computed from neighbouring input and dropped when the output is
/// compacted.
struct DirectLayout {
  int64_t q[3] = {1, 1, 1};      // phase-plane extent per dim
  int64_t phases[3] = {1, 1, 1}; // stride phases kept per dim
  int64_t phaseSize = 0, channelStride = 0, bufferFloats = 0;
  bool flat = false;              // runs span rows (pitch q[2])
  int64_t pitch = 0;              // output row pitch of the computed planes
  int64_t runsPerRow = 0;         // row mode only
  int64_t runsPerSlice = 0;       // per output depth slice
  int64_t numRuns = 0;            // over all slices
  int64_t planeStride = 0;        // floats per computed output plane
  bool compact = false;           // computed planes differ from the output's
  std::vector<int64_t> tapOffset; // per kernel tap, within a channel

  DirectLayout(const SpatialGeometry &g, int64_t channels, int V) {
    for (int d = 0; d < 3; ++d) {
      const int64_t reach = (g.kernel[d] - 1) * g.dilation[d];
      q[d] = g.out[d] + reach / g.stride[d];
      // Phases (k * dilation) % stride never exceed reach, so later ones
      // are never read (a strided 1x1 kernel needs only phase 0).
      phases[d] = g.stride[d] < reach + 1 ? g.stride[d] : reach + 1;
    }
    phaseSize = q[0] * q[1] * q[2];
    channelStride = phases[0] * phases[1] * phases[2] * phaseSize;
    // The last run of the last plane reads at most V + q[2] floats past it
    // (a run's tail past the slice plus the largest width shift).
    bufferFloats = channels * channelStride + V + q[2];

    const int64_t OH = g.out[1], OW = g.out[2];
    runsPerRow = (OW + V - 1) / V;
    const int64_t rowRuns = OH * runsPerRow;
    const int64_t flatRuns = (OH * q[2] + V - 1) / V;
    flat = flatRuns < rowRuns;
    pitch = flat ? q[2] : runsPerRow * V;
    runsPerSlice = flat ? flatRuns : rowRuns;
    numRuns = g.out[0] * runsPerSlice;
    planeStride = g.out[0] * runsPerSlice * V;
    // Computed planes are the output's own when rows are unpadded and no
    // run reaches past a depth slice.
    compact = pitch != OW || planeStride != g.outSize;

    tapOffset.resize(static_cast<size_t>(g.kernelSize));
    int64_t t = 0;
    for (int64_t kd = 0; kd < g.kernel[0]; ++kd)
      for (int64_t kh = 0; kh < g.kernel[1]; ++kh)
        for (int64_t kw = 0; kw < g.kernel[2]; ++kw, ++t) {
          const int64_t k[3] = {kd, kh, kw};
          int64_t phase = 0, within = 0;
          for (int d = 0; d < 3; ++d) {
            const int64_t reach = k[d] * g.dilation[d];
            phase = phase * phases[d] + reach % g.stride[d];
            within = within * q[d] + reach / g.stride[d];
          }
          tapOffset[static_cast<size_t>(t)] = phase * phaseSize + within;
        }
  }

  /// Run i's offset within a phase plane (tap 0) and within a computed
  /// output plane.
  void runOffsets(int64_t i, int V, int64_t &in, int64_t &out) const {
    const int64_t slice = i / runsPerSlice, j = i % runsPerSlice;
    out = slice * runsPerSlice * V + j * V;
    if (flat) {
      in = slice * q[1] * q[2] + j * V;
    } else {
      const int64_t oh = j / runsPerRow, col = (j % runsPerRow) * V;
      in = (slice * q[1] + oh) * q[2] + col;
    }
  }
};

/// dst[0, n) = src[0, n) (or zeros when src is null) for the short runs of
/// small convolutions, without a library call per run (which costs more
/// than the copy): whole vectors, then halves down to one float.
SSRT_INLINE void copyShort(float *dst, const float *src, int64_t n) {
  static const float zeros[16] = {};
  const int64_t step = src ? 16 : 0; // a null src reads `zeros` throughout
  const float *from = src ? src : zeros;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16, from += step)
    std::memcpy(dst + i, from, 16 * sizeof(float));
  for (int chunk = 8; chunk >= 1; chunk /= 2)
    if (i + chunk <= n) {
      std::memcpy(dst + i, from, static_cast<size_t>(chunk) * sizeof(float));
      i += chunk;
      from += src ? chunk : 0;
    }
}

/// Fills the phase planes of input channels [begin, end) from input planes
/// `x`. Per phase plane: the rows and columns outside the input are zeroed
/// (the tail of one row and the head of the next are one run) and the
/// input rows copied in. The channel loop is innermost so that the range
/// arithmetic is done once per phase.
SSRT_MULTIVERSION
void fillPhasePlanes(const float *x, float *padded, const SpatialGeometry &g,
                     const DirectLayout &l, int64_t begin, int64_t end) {
  const int64_t sw = g.stride[2], width = l.q[2], rows = l.q[0] * l.q[1];
  int64_t phase = 0;
  for (int64_t rd = 0; rd < l.phases[0]; ++rd)
    for (int64_t rh = 0; rh < l.phases[1]; ++rh)
      for (int64_t rw = 0; rw < l.phases[2]; ++rw, ++phase) {
        // The phase-plane indices that have an input index, per dim.
        int64_t dLo, dHi, hLo, hHi, wLo, wHi;
        validRange(l.q[0], g.stride[0], rd - g.pad[0], g.in[0], dLo, dHi);
        validRange(l.q[1], g.stride[1], rh - g.pad[1], g.in[1], hLo, hHi);
        validRange(width, sw, rw - g.pad[2], g.in[2], wLo, wHi);
        const int64_t phaseOffset = phase * l.phaseSize;
        if (dLo >= dHi || hLo >= hHi || wLo >= wHi) {
          // No input reaches this phase: all zeros.
          for (int64_t c = begin; c < end; ++c)
            std::memset(padded + c * l.channelStride + phaseOffset, 0,
                        static_cast<size_t>(l.phaseSize) * sizeof(float));
          continue;
        }
        // `zeroFrom` is the first float of the current zero run.
        int64_t zeroFrom = 0;
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t qd = r / l.q[1], qh = r % l.q[1];
          if (qd < dLo || qd >= dHi || qh < hLo || qh >= hHi)
            continue; // the row stays in the zero run
          const int64_t id = qd * g.stride[0] + rd - g.pad[0];
          const int64_t ih = qh * g.stride[1] + rh - g.pad[1];
          const int64_t srcOffset =
              (id * g.in[1] + ih) * g.in[2] + rw - g.pad[2];
          const int64_t rowStart = r * width;
          for (int64_t c = begin; c < end; ++c) {
            float *plane = padded + c * l.channelStride + phaseOffset;
            const float *src = x + c * g.inSize + srcOffset;
            copyShort(plane + zeroFrom, nullptr, rowStart + wLo - zeroFrom);
            if (sw == 1) {
              copyShort(plane + rowStart + wLo, src + wLo, wHi - wLo);
            } else {
              for (int64_t qw = wLo; qw < wHi; ++qw)
                plane[rowStart + qw] = src[qw * sw];
            }
          }
          zeroFrom = rowStart + wHi;
        }
        for (int64_t c = begin; c < end; ++c)
          std::memset(padded + c * l.channelStride + phaseOffset + zeroFrom, 0,
                      static_cast<size_t>(l.phaseSize - zeroFrom) *
                          sizeof(float));
      }
}

// --- register tiles ----------------------------------------------------------

/// What one group's tiles need. Tiles are numbered block * tilesPerBlock +
/// tile: a block is a run of output channels, a tile a few output runs.
struct DirectArgs {
  const float *x;    // the group's first padded channel
  const float *w;    // the group's first filter
  const float *bias; // the group's first bias, or null
  float *y;          // the group's first computed output plane
  const DirectLayout *layout;
  const int64_t *inOffsets, *outOffsets; // per run
  int64_t channels, outChannels, taps, tilesPerBlock;
};

/// One register tile: output channels [0, valid) of a block of OB (filters
/// wStride apart) x NV runs of V outputs, accumulated over every input
/// channel and tap, bias included.
template <int V, int OB, int NV>
SSRT_INLINE void directTile(const DirectArgs &a, const float *w, int valid,
                            const float *bias, float *y,
                            const int64_t *inOffset, const int64_t *outOffset) {
  typedef typename FloatVector<V>::Type Vec;
  const int64_t wStride = a.channels * a.taps;
  // Rows past `valid` repeat the last real filter; their sums are dropped.
  const float *wRow[OB];
  Vec acc[OB][NV];
#pragma GCC unroll 8
  for (int o = 0; o < OB; ++o) {
    const int r = o < valid ? o : valid - 1;
    wRow[o] = w + r * wStride;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
      acc[o][v] = (bias ? bias[r] : 0.0f) + Vec{};
  }
  const float *xv[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v)
    xv[v] = a.x + inOffset[v];
  const int64_t *tapOffset = a.layout->tapOffset.data();
  const int64_t channelStride = a.layout->channelStride;
  int64_t k = 0;
  for (int64_t c = 0; c < a.channels; ++c) {
    const int64_t channelBase = c * channelStride;
    for (int64_t t = 0; t < a.taps; ++t, ++k) {
      const int64_t off = channelBase + tapOffset[t];
      Vec in[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
        loadVec(in[v], xv[v] + off);
#pragma GCC unroll 8
      for (int o = 0; o < OB; ++o) {
        // A scalar operand is broadcast (one vbroadcastss from memory).
        const float wv = wRow[o][k];
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v)
          acc[o][v] += wv * in[v];
      }
    }
  }
  const int64_t yStride = a.layout->planeStride;
#pragma GCC unroll 8
  for (int o = 0; o < OB; ++o) {
    if (o >= valid)
      break;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
      storeVec(y + o * yStride + outOffset[v], acc[o][v]);
  }
}

/// directTile with `runs` (1..NV) runs.
template <int V, int OB, int NV>
SSRT_INLINE void directTileRuns(const DirectArgs &a, int64_t runs,
                                const float *w, int valid, const float *bias,
                                float *y, const int64_t *inOffset,
                                const int64_t *outOffset) {
  if constexpr (NV > 1) {
    if (runs < NV)
      return directTileRuns<V, OB, NV - 1>(a, runs, w, valid, bias, y, inOffset,
                                           outOffset);
  }
  directTile<V, OB, NV>(a, w, valid, bias, y, inOffset, outOffset);
}

/// Tiles [begin, end) of one group, blocks of OB output channels; a last
/// block of at most OB / 2 channels uses half-height tiles.
template <int V, int OB, int NV>
SSRT_INLINE void directTilesImpl(const DirectArgs &a, int64_t begin,
                                 int64_t end) {
  const int64_t wStride = a.channels * a.taps;
  const int64_t numRuns = a.layout->numRuns;
  for (int64_t item = begin; item < end; ++item) {
    const int64_t block = item / a.tilesPerBlock;
    const int64_t first = (item % a.tilesPerBlock) * NV;
    const int64_t o0 = block * OB;
    const int valid =
        static_cast<int>(a.outChannels - o0 < OB ? a.outChannels - o0 : OB);
    const int64_t runs = numRuns - first < NV ? numRuns - first : NV;
    const float *w = a.w + o0 * wStride;
    const float *bias = a.bias ? a.bias + o0 : nullptr;
    float *y = a.y + o0 * a.layout->planeStride;
    const int64_t *in = a.inOffsets + first, *out = a.outOffsets + first;
    if (OB > 1 && valid <= OB / 2)
      directTileRuns<V, (OB > 1 ? OB / 2 : 1), NV>(a, runs, w, valid, bias, y,
                                                   in, out);
    else
      directTileRuns<V, OB, NV>(a, runs, w, valid, bias, y, in, out);
  }
}

// One variant per vector level, each with the register blocking that fits
// its register file: 8 x 3 zmm accumulators of 32 on AVX-512, 4 x 3 ymm of 16
// on AVX2, 4 x 3 xmm of 16 otherwise.
typedef void (*DirectTilesFn)(const DirectArgs &, int64_t, int64_t);

#ifdef SSRT_X86_LEVELS
__attribute__((target("arch=x86-64-v4"))) void
directTilesAvx512(const DirectArgs &a, int64_t begin, int64_t end) {
  directTilesImpl<16, 8, 3>(a, begin, end);
}

__attribute__((target("arch=x86-64-v3"))) void
directTilesAvx2(const DirectArgs &a, int64_t begin, int64_t end) {
  directTilesImpl<8, 4, 3>(a, begin, end);
}
#endif

void directTilesBaseline(const DirectArgs &a, int64_t begin, int64_t end) {
  directTilesImpl<4, 4, 3>(a, begin, end);
}

struct DirectKernel {
  int vectorWidth, blockChannels, blockRuns;
  DirectTilesFn tiles;
};

const DirectKernel &directKernel() {
  static const DirectKernel kernel = [] {
#ifdef SSRT_X86_LEVELS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4"))
      return DirectKernel{16, 8, 3, directTilesAvx512};
    if (__builtin_cpu_supports("x86-64-v3"))
      return DirectKernel{8, 4, 3, directTilesAvx2};
#endif
    return DirectKernel{4, 4, 3, directTilesBaseline};
  }();
  return kernel;
}

} // namespace

SSRT_MULTIVERSION
void activateRange(const float *src, float *dst, int64_t n, const float *bias,
                   UnaryOp act, float alpha, float beta) {
  withUnaryFunction(act, alpha, beta, [&](auto f) SSRT_INLINE_LAMBDA {
    if (bias) {
      const float b = *bias;
      for (int64_t i = 0; i < n; ++i)
        dst[i] = f(src[i] + b);
    } else {
      for (int64_t i = 0; i < n; ++i)
        dst[i] = f(src[i]);
    }
  });
}

bool directConvPreferred(const SpatialGeometry &g, int64_t Cg, int64_t Og) {
  (void)g;
  (void)Cg;
  (void)Og;
  return true;
}

void directConv(const float *x, const float *w, const float *bias, float *y,
                const SpatialGeometry &g, int64_t N, int64_t C, int64_t O,
                int64_t group, UnaryOp act, float alpha, float beta) {
  const DirectKernel &kernel = directKernel();
  const int V = kernel.vectorWidth;
  const int64_t Cg = C / group, Og = O / group;
  const DirectLayout l(g, C, V);
  std::vector<int64_t> offsets(static_cast<size_t>(2 * l.numRuns));
  int64_t *inOffsets = offsets.data(), *outOffsets = inOffsets + l.numRuns;
  for (int64_t i = 0; i < l.numRuns; ++i)
    l.runOffsets(i, V, inOffsets[i], outOffsets[i]);

  float *padded = scratchFloats(kPaddedInputSlot, l.bufferFloats);
  float *wide =
      l.compact ? scratchFloats(kWideOutputSlot, O * l.planeStride) : nullptr;
  // The slack past the planes is only read into dropped columns, but must
  // hold finite values (and not denormals) to keep the arithmetic fast.
  std::memset(padded + C * l.channelStride, 0,
              static_cast<size_t>(l.bufferFloats - C * l.channelStride) *
                  sizeof(float));

  const int64_t blocks = (Og + kernel.blockChannels - 1) / kernel.blockChannels;
  const int64_t tilesPerBlock =
      (l.numRuns + kernel.blockRuns - 1) / kernel.blockRuns;
  const int64_t tilesPerGroup = blocks * tilesPerBlock;
  const int64_t tileCost =
      Cg * g.kernelSize * kernel.blockChannels * kernel.blockRuns * V;
  for (int64_t n = 0; n < N; ++n) {
    const float *xn = x + n * C * g.inSize;
    float *yn = y + n * O * g.outSize;
    float *out = l.compact ? wide : yn;
    parallelRanges(C, l.channelStride, [&](int64_t begin, int64_t end) {
      fillPhasePlanes(xn, padded, g, l, begin, end);
    });
    parallelRanges(group * tilesPerGroup, tileCost,
                   [&](int64_t begin, int64_t end) {
                     // Split the range at group boundaries.
                     while (begin < end) {
                       const int64_t gi = begin / tilesPerGroup;
                       const int64_t groupEnd = (gi + 1) * tilesPerGroup;
                       const int64_t stop = groupEnd < end ? groupEnd : end;
                       const DirectArgs args{padded + gi * Cg * l.channelStride,
                                             w + gi * Og * Cg * g.kernelSize,
                                             bias ? bias + gi * Og : nullptr,
                                             out + gi * Og * l.planeStride,
                                             &l,
                                             inOffsets,
                                             outOffsets,
                                             Cg,
                                             Og,
                                             g.kernelSize,
                                             tilesPerBlock};
                       kernel.tiles(args, begin - gi * tilesPerGroup,
                                    stop - gi * tilesPerGroup);
                       begin = stop;
                     }
                   });

    // The activation pass; it also moves computed rows of `pitch` floats
    // into the output's rows.
    if (!l.compact) {
      if (act != UnaryOp::Identity)
        parallelRanges(O, g.outSize, [&](int64_t begin, int64_t end) {
          for (int64_t o = begin; o < end; ++o)
            activateRange(yn + o * g.outSize, yn + o * g.outSize, g.outSize,
                          nullptr, act, alpha, beta);
        });
      continue;
    }
    const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
    const int64_t sliceStride = l.runsPerSlice * V;
    parallelRanges(O, g.outSize, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o)
        for (int64_t od = 0; od < OD; ++od)
          for (int64_t oh = 0; oh < OH; ++oh)
            activateRange(wide + o * l.planeStride + od * sliceStride +
                              oh * l.pitch,
                          yn + o * g.outSize + (od * OH + oh) * OW, OW, nullptr,
                          act, alpha, beta);
    });
  }
}

} // namespace cpu
} // namespace ssrt
