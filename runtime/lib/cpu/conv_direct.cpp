// Direct convolution: a zero-padded, stride-phase-split copy of the input
// and a register-blocked kernel over it, instead of im2col and sgemm (whose
// nine-fold unfolding and packing dominate small convolutions; on large ones
// OpenBLAS's AVX2 kernels reach about half this kernel's AVX-512 rate).
#include "conv_direct.h"

#include "multiversion.h"
#include "scratch_buffer.h"
#include "ssrt/math.h"
#include "strided_iteration.h"
#include "unary_functions.h"

#include <cstring>
#include <type_traits>
#include <vector>

namespace ssrt {
namespace cpu {

namespace {

// Scratch slots (per thread; conv.cpp's im2col uses slot 0 the same way).
constexpr int kPaddedInputSlot = 0;
constexpr int kWideOutputSlot = 1;
constexpr int kSplitColumnsSlot = 2;

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
    flat = flatRuns < rowRuns; // (countRuns makes the same choice)
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

  /// numRuns of the layout for g, without building it.
  static int64_t countRuns(const SpatialGeometry &g, int64_t V) {
    const int64_t reach = (g.kernel[2] - 1) * g.dilation[2];
    const int64_t width = g.out[2] + reach / g.stride[2];
    const int64_t rowRuns = g.out[1] * ((g.out[2] + V - 1) / V);
    const int64_t flatRuns = (g.out[1] * width + V - 1) / V;
    return g.out[0] * (flatRuns < rowRuns ? flatRuns : rowRuns);
  }

  /// Every run's offset within a phase plane (tap 0) and within a computed
  /// output plane, in run order.
  void runOffsets(int64_t V, int64_t *in, int64_t *out) const {
    int64_t i = 0;
    for (int64_t slice = 0; slice * runsPerSlice < numRuns; ++slice) {
      const int64_t inSlice = slice * q[1] * q[2];
      const int64_t outSlice = slice * runsPerSlice * V;
      if (flat) {
        for (int64_t j = 0; j < runsPerSlice; ++j, ++i) {
          in[i] = inSlice + j * V;
          out[i] = outSlice + j * V;
        }
        continue;
      }
      for (int64_t oh = 0; oh * runsPerRow < runsPerSlice; ++oh)
        for (int64_t r = 0; r < runsPerRow; ++r, ++i) {
          in[i] = inSlice + oh * q[2] + r * V;
          out[i] = outSlice + (oh * runsPerRow + r) * V;
        }
    }
  }
};

/// dst[0, n) = src[0, n) for the short rows of small convolutions, without
/// a library call per row (which costs more than the copy): whole vectors,
/// then halves down to one float.
SSRT_INLINE void copyShort(float *dst, const float *src, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    std::memcpy(dst + i, src + i, 16 * sizeof(float));
  for (int64_t chunk = 8; chunk >= 1; chunk /= 2)
    if (i + chunk <= n) {
      std::memcpy(dst + i, src + i, static_cast<size_t>(chunk) * sizeof(float));
      i += chunk;
    }
}

/// Copies the input into the phase planes of input channels [begin, end),
/// whose padding (every position outside the input) must already be zero.
/// With width stride 2 each input plane is first split into its even and
/// odd columns in one long (vectorised) pass, so that rows are copied
/// rather than gathered.
SSRT_MULTIVERSION
void fillPhasePlanes(const float *x, float *padded, const SpatialGeometry &g,
                     const DirectLayout &l, int64_t begin, int64_t end) {
  const int64_t sw = g.stride[2], width = l.q[2];
  const int64_t IH = g.in[1], IW = g.in[2];
  const bool split = sw == 2 && IW % 2 == 0;
  const int64_t half = g.inSize / 2;
  float *columns =
      split ? scratchFloats(kSplitColumnsSlot, (end - begin) * g.inSize)
            : nullptr;
  if (split) {
    for (int64_t c = begin; c < end; ++c) {
      const float *xc = x + c * g.inSize;
      float *even = columns + (c - begin) * g.inSize, *odd = even + half;
      for (int64_t j = 0; j < half; ++j) {
        even[j] = xc[2 * j];
        odd[j] = xc[2 * j + 1];
      }
    }
  }
  int64_t phase = 0;
  for (int64_t rd = 0; rd < l.phases[0]; ++rd)
    for (int64_t rh = 0; rh < l.phases[1]; ++rh)
      for (int64_t rw = 0; rw < l.phases[2]; ++rw, ++phase) {
        // The phase-plane indices that have an input index, per dim.
        int64_t dLo, dHi, hLo, hHi, wLo, wHi;
        validRange(l.q[0], g.stride[0], rd - g.pad[0], g.in[0], dLo, dHi);
        validRange(l.q[1], g.stride[1], rh - g.pad[1], g.in[1], hLo, hHi);
        validRange(width, sw, rw - g.pad[2], g.in[2], wLo, wHi);
        const int64_t n = wHi - wLo;
        if (n <= 0)
          continue;
        // Input column of phase column 0; with `split`, its column in the
        // even or odd half.
        const int64_t column0 = rw - g.pad[2];
        const int64_t parity = ((column0 % 2) + 2) % 2;
        for (int64_t qd = dLo; qd < dHi; ++qd) {
          const int64_t id = qd * g.stride[0] + rd - g.pad[0];
          for (int64_t qh = hLo; qh < hHi; ++qh) {
            const int64_t ih = qh * g.stride[1] + rh - g.pad[1];
            float *dst =
                padded + phase * l.phaseSize + (qd * l.q[1] + qh) * width + wLo;
            if (split) {
              const float *src = columns + parity * half +
                                 (id * IH + ih) * (IW / 2) +
                                 (column0 - parity) / 2 + wLo;
              for (int64_t c = begin; c < end; ++c)
                copyShort(dst + c * l.channelStride,
                          src + (c - begin) * g.inSize, n);
              continue;
            }
            const float *src = x + (id * IH + ih) * IW + column0 + wLo * sw;
            for (int64_t c = begin; c < end; ++c) {
              float *to = dst + c * l.channelStride;
              const float *from = src + c * g.inSize;
              if (sw == 1) {
                copyShort(to, from, n);
              } else {
                for (int64_t qw = 0; qw < n; ++qw)
                  to[qw] = from[qw * sw];
              }
            }
          }
        }
      }
}

/// Returns the calling thread's padded-input buffer for layout `l` over
/// `channels` channels, with every position the input does not fill (the
/// padding, unused phase rows, the slack) zero. Each thread keeps the
/// buffers of its last few small layouts: their zeros stay in place, so a
/// convolution run again (every step of a model) only copies its input in.
float *paddedInput(const SpatialGeometry &g, const DirectLayout &l,
                   int64_t channels, int64_t V) {
  constexpr int kEntries = 8;
  constexpr int64_t kMaxCachedFloats = int64_t(1) << 18; // 1 MiB
  struct Entry {
    int64_t key[20] = {};
    std::vector<float> buffer;
    uint64_t lastUse = 0;
  };
  thread_local Entry entries[kEntries];
  thread_local uint64_t clock = 0;
  if (l.bufferFloats > kMaxCachedFloats) {
    float *buffer = scratchFloats(kPaddedInputSlot, l.bufferFloats);
    std::memset(buffer, 0, static_cast<size_t>(l.bufferFloats) * sizeof(float));
    return buffer;
  }
  // Everything the layout and the input's place in it depend on.
  int64_t key[20] = {channels, V};
  for (int d = 0; d < 3; ++d) {
    key[2 + 6 * d] = g.in[d];
    key[3 + 6 * d] = g.out[d];
    key[4 + 6 * d] = g.kernel[d];
    key[5 + 6 * d] = g.stride[d];
    key[6 + 6 * d] = g.pad[d];
    key[7 + 6 * d] = g.dilation[d];
  }
  ++clock;
  Entry *oldest = &entries[0];
  for (Entry &e : entries) {
    if (!e.buffer.empty() && std::memcmp(e.key, key, sizeof key) == 0) {
      e.lastUse = clock;
      return e.buffer.data();
    }
    if (e.lastUse < oldest->lastUse)
      oldest = &e;
  }
  std::memcpy(oldest->key, key, sizeof key);
  oldest->buffer.assign(static_cast<size_t>(l.bufferFloats), 0.0f);
  oldest->lastUse = clock;
  return oldest->buffer.data();
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
  const int64_t *readOffsets; // per (channel, tap): where its input starts
  int64_t channels, outChannels, taps, tilesPerBlock;
  // Applied as the tiles store (Identity, Relu, Clip or LeakyRelu only).
  UnaryOp act;
  float alpha, beta;
};

/// The activation of tiles that store their sums as they are.
struct NoActivation {
  float operator()(float v) const { return v; }
};

/// One register tile: output channels [0, valid) of a block of OB (filters
/// wStride apart) x NV runs of V outputs, accumulated over every input
/// channel and tap, bias included, stored through `act`.
template <int V, int OB, int NV, typename Act>
SSRT_INLINE void directTile(const DirectArgs &a, const float *w, int valid,
                            const float *bias, float *y,
                            const int64_t *inOffset, const int64_t *outOffset,
                            Act act) {
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
  const int64_t *readOffset = a.readOffsets;
  const int64_t depth = a.channels * a.taps;
  for (int64_t k = 0; k < depth; ++k) {
    const int64_t off = readOffset[k];
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
  const int64_t yStride = a.layout->planeStride;
#pragma GCC unroll 8
  for (int o = 0; o < OB; ++o) {
    if (o >= valid)
      break;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
      storeVec(y + o * yStride + outOffset[v], acc[o][v]);
  }
  // The activation, lane by lane through the scalar function over the
  // stored runs (still in L1), which the compiler vectorises; applied to
  // the accumulators' lanes instead, it extracts them one by one.
  if constexpr (!std::is_same<Act, NoActivation>::value) {
    for (int o = 0; o < valid; ++o) {
      for (int v = 0; v < NV; ++v) {
        float *run = y + o * yStride + outOffset[v];
        Vec r;
        loadVec(r, run);
        for (int lane = 0; lane < V; ++lane)
          r[lane] = act(r[lane]);
        storeVec(run, r);
      }
    }
  }
}

/// directTile with `runs` (1..NV) runs.
template <int V, int OB, int NV, typename Act>
SSRT_INLINE void directTileRuns(const DirectArgs &a, int64_t runs,
                                const float *w, int valid, const float *bias,
                                float *y, const int64_t *inOffset,
                                const int64_t *outOffset, Act act) {
  if constexpr (NV > 1) {
    if (runs < NV)
      return directTileRuns<V, OB, NV - 1>(a, runs, w, valid, bias, y, inOffset,
                                           outOffset, act);
  }
  directTile<V, OB, NV>(a, w, valid, bias, y, inOffset, outOffset, act);
}

/// Tiles [begin, end) of one group, blocks of OB output channels; a last
/// block of at most OB / 2 channels uses half-height tiles.
template <int V, int OB, int NV, typename Act>
SSRT_INLINE void directTilesWith(const DirectArgs &a, int64_t begin,
                                 int64_t end, Act act) {
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
                                                   in, out, act);
    else
      directTileRuns<V, OB, NV>(a, runs, w, valid, bias, y, in, out, act);
  }
}

/// directTilesWith the activation of `a` (one of those the tiles apply).
template <int V, int OB, int NV>
SSRT_INLINE void directTilesImpl(const DirectArgs &a, int64_t begin,
                                 int64_t end) {
  const float alpha = a.alpha, beta = a.beta;
  switch (a.act) {
  case UnaryOp::Relu:
    return directTilesWith<V, OB, NV>(
        a, begin, end,
        [](float v) SSRT_INLINE_LAMBDA { return math::relu(v); });
  case UnaryOp::Clip:
    return directTilesWith<V, OB, NV>(
        a, begin, end, [alpha, beta](float v) SSRT_INLINE_LAMBDA {
          return math::clip(v, alpha, beta);
        });
  case UnaryOp::LeakyRelu:
    return directTilesWith<V, OB, NV>(a, begin, end,
                                      [alpha](float v) SSRT_INLINE_LAMBDA {
                                        return math::leakyRelu(v, alpha);
                                      });
  default:
    return directTilesWith<V, OB, NV>(a, begin, end, NoActivation());
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

/// Output planes [begin, end) of y = act(computed planes `from`), which
/// are y itself or rows of `pitch` floats to compact.
SSRT_MULTIVERSION
void finishPlanes(const float *from, float *y, const SpatialGeometry &g,
                  const DirectLayout &l, int64_t V, int64_t begin, int64_t end,
                  UnaryOp act, float alpha, float beta) {
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
  const int64_t sliceStride = l.runsPerSlice * V;
  withUnaryFunction(act, alpha, beta, [&](auto f) SSRT_INLINE_LAMBDA {
    for (int64_t o = begin; o < end; ++o) {
      if (!l.compact) {
        float *plane = y + o * g.outSize;
        for (int64_t i = 0; i < g.outSize; ++i)
          plane[i] = f(plane[i]);
        continue;
      }
      for (int64_t od = 0; od < OD; ++od)
        for (int64_t oh = 0; oh < OH; ++oh) {
          const float *src =
              from + o * l.planeStride + od * sliceStride + oh * l.pitch;
          float *dst = y + o * g.outSize + (od * OH + oh) * OW;
          for (int64_t i = 0; i < OW; ++i)
            dst[i] = f(src[i]);
        }
    }
  });
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

// Measured single-threaded with AVX-512 (and OpenBLAS limited to its
// Haswell kernels), the direct kernel beat im2col + sgemm on every shape
// tried, 1.5x to 10x: 3x3 to 7x7 kernels, strides 1-2, 3 to 512 channels,
// 7x7 to 224x224 outputs, grouped and 1-d. It loses only when most of its
// vector lanes are wasted: outputs much narrower than a vector with wide
// kernels (a 7x7 kernel reducing to 1x1), or far fewer output channels per
// group than a register block. Pointwise convolutions never come here.
bool directConvPreferred(const SpatialGeometry &g, int64_t Cg, int64_t Og) {
  (void)Cg;
  const DirectKernel &kernel = directKernel();
  const int64_t V = kernel.vectorWidth;
  const double columnShare =
      static_cast<double>(g.outSize) /
      static_cast<double>(DirectLayout::countRuns(g, V) * V);
  // Blocks of more than half a register block use a full one, others half.
  const int64_t half = kernel.blockChannels / 2;
  const int64_t lastBlock = Og % kernel.blockChannels;
  const int64_t roundedOg =
      Og - lastBlock +
      (lastBlock == 0 ? 0 : (lastBlock > half ? 2 * half : half));
  const double channelShare =
      static_cast<double>(Og) / static_cast<double>(roundedOg);
  return columnShare * channelShare >= 0.125;
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
  l.runOffsets(V, inOffsets, outOffsets);
  // The tiles' inner loop walks (channel, tap) pairs in filter order.
  std::vector<int64_t> readOffsets(static_cast<size_t>(Cg * g.kernelSize));
  for (int64_t c = 0; c < Cg; ++c)
    for (int64_t t = 0; t < g.kernelSize; ++t)
      readOffsets[static_cast<size_t>(c * g.kernelSize + t)] =
          c * l.channelStride + l.tapOffset[static_cast<size_t>(t)];

  float *padded = paddedInput(g, l, C, V);
  // Cheap activations are applied as the tiles store, when they store the
  // output itself; the rest in a pass of their own.
  const bool tilesApplyAct =
      !l.compact && (act == UnaryOp::Relu || act == UnaryOp::Clip ||
                     act == UnaryOp::LeakyRelu);
  float *wide =
      l.compact ? scratchFloats(kWideOutputSlot, O * l.planeStride) : nullptr;

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
    parallelRanges(
        group * tilesPerGroup, tileCost, [&](int64_t begin, int64_t end) {
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
                                  readOffsets.data(),
                                  Cg,
                                  Og,
                                  g.kernelSize,
                                  tilesPerBlock,
                                  tilesApplyAct ? act : UnaryOp::Identity,
                                  alpha,
                                  beta};
            kernel.tiles(args, begin - gi * tilesPerGroup,
                         stop - gi * tilesPerGroup);
            begin = stop;
          }
        });

    // The activation pass, when the tiles did not apply it; it also moves
    // computed rows of `pitch` floats into the output's rows.
    if (!l.compact && (act == UnaryOp::Identity || tilesApplyAct))
      continue;
    parallelRanges(O, g.outSize, [&](int64_t begin, int64_t end) {
      finishPlanes(l.compact ? wide : yn, yn, g, l, V, begin, end, act, alpha,
                   beta);
    });
  }
}

} // namespace cpu
} // namespace ssrt
