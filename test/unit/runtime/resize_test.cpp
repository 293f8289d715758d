// Tests of resize against values from the ONNX Resize examples (the numbers
// onnxruntime and the ONNX reference produce) and a naive N-linear loop.
#include "ssrt/kernels.h"
#include "test_support.h"

#include <algorithm>

using namespace ssrt;
using namespace ssrt_test;

namespace {

std::vector<float> iota(int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[i] = static_cast<float>(i + 1);
  return v;
}

/// Resizes a 1x1xHxW image; `scales` empty means out/in.
std::vector<float> resize2d(const std::vector<float> &x, int64_t h, int64_t w,
                            int64_t oh, int64_t ow, std::vector<float> scales,
                            ResizeMode mode, CoordMode coord,
                            NearestMode nearest) {
  Shape in = {1, 1, h, w}, out = {1, 1, oh, ow};
  std::vector<float> y(static_cast<size_t>(oh * ow));
  resize(x.data(), y.data(), in.data(), out.data(),
         scales.empty() ? nullptr : scales.data(), 4, mode, coord, nearest);
  return y;
}

} // namespace

TEST_CASE("resize nearest matches the ONNX examples", "[resize]") {
  const std::vector<float> x22 = {1, 2, 3, 4}, x24 = iota(8), x44 = iota(16);
  // resize_upsample_scales_nearest
  CHECK(resize2d(x22, 2, 2, 4, 6, {1, 1, 2, 3}, ResizeMode::Nearest,
                 CoordMode::HalfPixel, NearestMode::RoundPreferFloor) ==
        std::vector<float>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2,
                           3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4});
  // resize_downsample_scales_nearest: the given scale 0.6, not out/in.
  CHECK(resize2d(x24, 2, 4, 1, 2, {1, 1, 0.6f, 0.6f}, ResizeMode::Nearest,
                 CoordMode::HalfPixel,
                 NearestMode::RoundPreferFloor) == std::vector<float>{1, 3});
  // resize_upsample_sizes_nearest_ceil_half_pixel
  CHECK(resize2d(x44, 4, 4, 8, 8, {}, ResizeMode::Nearest, CoordMode::HalfPixel,
                 NearestMode::Ceil) ==
        std::vector<float>{1,  2,  2,  3,  3,  4,  4,  4,  5,  6,  6,  7,  7,
                           8,  8,  8,  5,  6,  6,  7,  7,  8,  8,  8,  9,  10,
                           10, 11, 11, 12, 12, 12, 9,  10, 10, 11, 11, 12, 12,
                           12, 13, 14, 14, 15, 15, 16, 16, 16, 13, 14, 14, 15,
                           15, 16, 16, 16, 13, 14, 14, 15, 15, 16, 16, 16});
  // resize_upsample_sizes_nearest_floor_align_corners
  CHECK(resize2d(x44, 4, 4, 8, 8, {}, ResizeMode::Nearest,
                 CoordMode::AlignCorners, NearestMode::Floor) ==
        std::vector<float>{1,  1,  1,  2,  2,  3,  3,  4,  1,  1,  1,  2, 2,
                           3,  3,  4,  1,  1,  1,  2,  2,  3,  3,  4,  5, 5,
                           5,  6,  6,  7,  7,  8,  5,  5,  5,  6,  6,  7, 7,
                           8,  9,  9,  9,  10, 10, 11, 11, 12, 9,  9,  9, 10,
                           10, 11, 11, 12, 13, 13, 13, 14, 14, 15, 15, 16});
  // resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric
  CHECK(resize2d(x44, 4, 4, 8, 8, {}, ResizeMode::Nearest,
                 CoordMode::Asymmetric, NearestMode::RoundPreferCeil) ==
        std::vector<float>{1,  2,  2,  3,  3,  4,  4,  4,  5,  6,  6,  7,  7,
                           8,  8,  8,  5,  6,  6,  7,  7,  8,  8,  8,  9,  10,
                           10, 11, 11, 12, 12, 12, 9,  10, 10, 11, 11, 12, 12,
                           12, 13, 14, 14, 15, 15, 16, 16, 16, 13, 14, 14, 15,
                           15, 16, 16, 16, 13, 14, 14, 15, 15, 16, 16, 16});
  // Mixed up/down sampling, round_prefer_floor, asymmetric (from
  // onnxruntime).
  CHECK(resize2d(x44, 4, 4, 7, 3, {}, ResizeMode::Nearest,
                 CoordMode::Asymmetric, NearestMode::RoundPreferFloor) ==
        std::vector<float>{1,  2, 4,  5,  6,  8,  5,  6,  8,  9, 10,
                           12, 9, 10, 12, 13, 14, 16, 13, 14, 16});
}

TEST_CASE("resize linear matches the ONNX examples", "[resize]") {
  const std::vector<float> x22 = {1, 2, 3, 4}, x24 = iota(8), x44 = iota(16);
  // resize_upsample_scales_linear
  requireClose(resize2d(x22, 2, 2, 4, 4, {1, 1, 2, 2}, ResizeMode::Linear,
                        CoordMode::HalfPixel, NearestMode::RoundPreferFloor),
               {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f,
                3.25f, 3.5f, 3, 3.25f, 3.75f, 4},
               1e-6f);
  // resize_upsample_scales_linear_align_corners
  requireClose(resize2d(x22, 2, 2, 4, 4, {1, 1, 2, 2}, ResizeMode::Linear,
                        CoordMode::AlignCorners, NearestMode::RoundPreferFloor),
               {1, 4 / 3.0f, 5 / 3.0f, 2, 5 / 3.0f, 2, 7 / 3.0f, 8 / 3.0f,
                7 / 3.0f, 8 / 3.0f, 3, 10 / 3.0f, 3, 10 / 3.0f, 11 / 3.0f, 4},
               1e-6f);
  // resize_downsample_scales_linear
  requireClose(resize2d(x24, 2, 4, 1, 2, {1, 1, 0.6f, 0.6f}, ResizeMode::Linear,
                        CoordMode::HalfPixel, NearestMode::RoundPreferFloor),
               {2.6666665f, 4.333333f}, 1e-6f);
  // Asymmetric 4x4 -> 3x6 and pytorch_half_pixel with an output size of 1
  // (coordinate 0), values from onnxruntime.
  requireClose(resize2d(x44, 4, 4, 3, 6, {}, ResizeMode::Linear,
                        CoordMode::Asymmetric, NearestMode::RoundPreferFloor),
               {1.0f, 1.6666667f, 2.3333335f, 3.0f, 3.6666667f, 4.0f,
                6.3333335f, 7.0f, 7.6666665f, 8.333334f, 9.0f, 9.333333f,
                11.666667f, 12.333334f, 13.0f, 13.666667f, 14.333334f,
                14.666667f},
               1e-6f);
  requireClose(resize2d(x44, 4, 4, 1, 3, {}, ResizeMode::Linear,
                        CoordMode::PytorchHalfPixel,
                        NearestMode::RoundPreferFloor),
               {1.1666667f, 2.5f, 3.8333333f}, 1e-6f);
  requireClose(resize2d(x44, 4, 4, 6, 5, {}, ResizeMode::Linear,
                        CoordMode::HalfPixel, NearestMode::RoundPreferFloor),
               {1.0f,       1.7f,       2.5f,       3.3f,       4.0f,
                3.0f,       3.7f,       4.5f,       5.3f,       6.0f,
                5.6666665f, 6.3666663f, 7.1666665f, 7.9666657f, 8.666667f,
                8.333333f,  9.033333f,  9.833333f,  10.633333f, 11.333333f,
                11.0f,      11.700001f, 12.5f,      13.3f,      14.0f,
                13.0f,      13.700001f, 14.5f,      15.3f,      16.0f},
               1e-6f);
}

namespace {

/// Linear resize straight from the definition (double precision): every
/// output element sums the 2^rank corners of its source cell, with sizes
/// (not scales) defining the coordinate transformation.
std::vector<float> naiveLinear(const Shape &in, const Shape &out,
                               const std::vector<float> &x, CoordMode coord) {
  const size_t rank = in.size();
  Shape inStrides = contiguousStrides(in);
  std::vector<float> want(static_cast<size_t>(count(out)));
  for (int64_t i = 0; i < count(out); ++i) {
    Shape idx = unravel(i, out);
    // Per dim: low index, high index, weight of high.
    std::vector<int64_t> lo(rank), hi(rank);
    std::vector<double> w(rank, 0.0);
    for (size_t d = 0; d < rank; ++d) {
      if (in[d] == out[d]) {
        lo[d] = hi[d] = idx[d];
        continue;
      }
      double scale = double(out[d]) / in[d], c;
      if (coord == CoordMode::AlignCorners)
        c = out[d] == 1 ? 0 : idx[d] * double(in[d] - 1) / (out[d] - 1);
      else if (coord == CoordMode::Asymmetric)
        c = idx[d] / scale;
      else if (coord == CoordMode::PytorchHalfPixel && out[d] == 1)
        c = 0;
      else
        c = (idx[d] + 0.5) / scale - 0.5;
      c = std::min(std::max(c, 0.0), double(in[d] - 1));
      lo[d] = static_cast<int64_t>(c);
      hi[d] = std::min(lo[d] + 1, in[d] - 1);
      w[d] = c - lo[d];
    }
    double s = 0;
    for (int corner = 0; corner < (1 << rank); ++corner) {
      double cw = 1;
      int64_t off = 0;
      for (size_t d = 0; d < rank; ++d) {
        bool high = (corner >> d) & 1;
        cw *= high ? w[d] : 1 - w[d];
        off += (high ? hi[d] : lo[d]) * inStrides[d];
      }
      if (cw != 0)
        s += cw * x[off];
    }
    want[i] = static_cast<float>(s);
  }
  return want;
}

} // namespace

TEST_CASE("resize linear in 3 dims matches a naive N-linear loop", "[resize]") {
  // [N, C, D, H, W] with the channel dim untouched and D, H, W resized.
  Shape in = {2, 3, 3, 4, 5}, out = {2, 3, 5, 3, 8};
  auto x = randomFloats(count(in), 130);
  for (CoordMode coord : {CoordMode::HalfPixel, CoordMode::AlignCorners,
                          CoordMode::Asymmetric, CoordMode::PytorchHalfPixel}) {
    INFO("coord " << static_cast<int>(coord));
    std::vector<float> y(static_cast<size_t>(count(out)));
    resize(x.data(), y.data(), in.data(), out.data(), nullptr, 5,
           ResizeMode::Linear, coord, NearestMode::RoundPreferFloor);
    requireClose(y, naiveLinear(in, out, x, coord), 1e-5f);
  }
}

TEST_CASE("resize linear of images matches a naive bilinear loop", "[resize]") {
  // Image shapes go through separable passes over whole planes; 2x
  // upsampling takes the vector pair loop across rows.
  struct Case {
    const char *name;
    Shape in, out;
  };
  const Case cases[] = {
      {"2x upsample", {2, 3, 8, 8}, {2, 3, 16, 16}},
      {"2x upsample, odd sizes", {1, 2, 5, 7}, {1, 2, 10, 14}},
      {"2x upsample, wide rows", {1, 1, 3, 40}, {1, 1, 6, 80}},
      {"width only", {1, 2, 4, 6}, {1, 2, 4, 12}},
      {"height only", {1, 2, 4, 6}, {1, 2, 8, 6}},
      {"downsample", {1, 1, 9, 9}, {1, 1, 4, 4}},
      {"3x upsample", {1, 2, 4, 5}, {1, 2, 12, 15}},
      {"2-d tensor", {6, 9}, {12, 18}},
      {"unchanged", {1, 2, 3, 4}, {1, 2, 3, 4}},
      {"2x upsample split across threads", {2, 16, 32, 32}, {2, 16, 64, 64}},
  };
  for (const Case &c : cases)
    for (CoordMode coord :
         {CoordMode::HalfPixel, CoordMode::AlignCorners, CoordMode::Asymmetric,
          CoordMode::PytorchHalfPixel}) {
      INFO(c.name << ", coord " << static_cast<int>(coord));
      auto x = randomFloats(count(c.in), 150);
      std::vector<float> y(static_cast<size_t>(count(c.out)));
      resize(x.data(), y.data(), c.in.data(), c.out.data(), nullptr,
             static_cast<int>(c.in.size()), ResizeMode::Linear, coord,
             NearestMode::RoundPreferFloor);
      requireClose(y, naiveLinear(c.in, c.out, x, coord), 1e-5f);
    }
}

TEST_CASE("resize nearest leaves unchanged dims alone", "[resize]") {
  Shape in = {2, 3, 2}, out = {2, 6, 4};
  auto x = randomFloats(count(in), 140);
  std::vector<float> y(static_cast<size_t>(count(out)));
  resize(x.data(), y.data(), in.data(), out.data(), nullptr, 3,
         ResizeMode::Nearest, CoordMode::Asymmetric, NearestMode::Floor);
  for (int64_t i = 0; i < count(out); ++i) {
    Shape idx = unravel(i, out);
    REQUIRE(y[i] == x[(idx[0] * 3 + idx[1] / 2) * 2 + idx[2] / 2]);
  }
}
