// Tests of conv, convTranspose and pooling against naive loops written
// directly from the ONNX operator definitions.
#include "ssrt/kernels.h"
#include "test_support.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace ssrt;
using namespace ssrt_test;

namespace {

struct ConvCase {
  const char *name;
  Shape x; // [N, C, spatial...]
  Shape w; // conv: [O, C/group, k...]; transpose: [C, O/group, k...]
  Shape stride, padBegin, padEnd, dilation;
  int64_t group;
  bool bias;
  Shape outputPadding = {}; // convTranspose only
};

int64_t convOutSize(int64_t in, int64_t k, int64_t s, int64_t pb, int64_t pe,
                    int64_t d) {
  return (in + pb + pe - d * (k - 1) - 1) / s + 1;
}

std::vector<float> naiveConv(const ConvCase &c, const std::vector<float> &x,
                             const std::vector<float> &w,
                             const std::vector<float> &bias,
                             const Shape &yShape) {
  const size_t sr = c.x.size() - 2;
  const int64_t C = c.x[1], O = c.w[0], Cg = C / c.group, Og = O / c.group;
  Shape xSpatial(c.x.begin() + 2, c.x.end());
  Shape kSpatial(c.w.begin() + 2, c.w.end());
  Shape ySpatial(yShape.begin() + 2, yShape.end());
  Shape xs = contiguousStrides(xSpatial);
  std::vector<float> y(static_cast<size_t>(count(yShape)));
  int64_t outIndex = 0;
  for (int64_t n = 0; n < c.x[0]; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t p = 0; p < count(ySpatial); ++p) {
        Shape op = unravel(p, ySpatial);
        int64_t g = o / Og;
        double s = c.bias ? bias[o] : 0.0;
        for (int64_t ci = 0; ci < Cg; ++ci)
          for (int64_t kk = 0; kk < count(kSpatial); ++kk) {
            Shape kp = unravel(kk, kSpatial);
            Shape ip(sr);
            bool inside = true;
            for (size_t d = 0; d < sr; ++d) {
              ip[d] =
                  op[d] * c.stride[d] - c.padBegin[d] + kp[d] * c.dilation[d];
              inside &= ip[d] >= 0 && ip[d] < xSpatial[d];
            }
            if (!inside)
              continue;
            float xv = x[(n * C + g * Cg + ci) * count(xSpatial) + dot(ip, xs)];
            float wv = w[(o * Cg + ci) * count(kSpatial) + kk];
            s += double(xv) * wv;
          }
        y[outIndex++] = static_cast<float>(s);
      }
  return y;
}

Shape convOutShape(const ConvCase &c) {
  Shape yShape = {c.x[0], c.w[0]};
  for (size_t d = 0; d + 2 < c.x.size(); ++d)
    yShape.push_back(convOutSize(c.x[2 + d], c.w[2 + d], c.stride[d],
                                 c.padBegin[d], c.padEnd[d], c.dilation[d]));
  return yShape;
}

/// An activation as the ONNX operator defines it, for the references.
float referenceActivation(UnaryOp op, float v, float alpha, float beta) {
  switch (op) {
  case UnaryOp::Identity:
    return v;
  case UnaryOp::Relu:
    return v < 0 ? 0 : v;
  case UnaryOp::Clip:
    return std::min(std::max(v, alpha), beta);
  case UnaryOp::LeakyRelu:
    return v < 0 ? alpha * v : v;
  case UnaryOp::Sigmoid:
    return static_cast<float>(1.0 / (1.0 + std::exp(-double(v))));
  case UnaryOp::HardSigmoid:
    return std::min(std::max(alpha * v + beta, 0.0f), 1.0f);
  default:
    FAIL("no reference for this activation");
    return v;
  }
}

/// Runs conv (with `act` fused unless it is Identity, when the plain entry
/// point is used) on deterministic data seeded by `seed` and compares it
/// with the naive definition followed by the activation.
void checkConv(const ConvCase &c, UnaryOp act = UnaryOp::Identity,
               float alpha = 0.0f, float beta = 0.0f, uint32_t seed = 11) {
  INFO(c.name << " (activation " << static_cast<int>(act) << ")");
  const size_t sr = c.x.size() - 2;
  Shape yShape = convOutShape(c);
  auto x = randomFloats(count(c.x), seed);
  auto w = randomFloats(count(c.w), seed + 1);
  auto bias = randomFloats(c.w[0], seed + 2);
  std::vector<float> y(static_cast<size_t>(count(yShape)), 123.0f);
  if (act == UnaryOp::Identity)
    conv(x.data(), w.data(), c.bias ? bias.data() : nullptr, y.data(),
         static_cast<int>(sr), c.x.data(), c.w.data(), yShape.data(),
         c.stride.data(), c.padBegin.data(), c.dilation.data(), c.group);
  else
    conv(x.data(), w.data(), c.bias ? bias.data() : nullptr, y.data(),
         static_cast<int>(sr), c.x.data(), c.w.data(), yShape.data(),
         c.stride.data(), c.padBegin.data(), c.dilation.data(), c.group, act,
         alpha, beta);
  std::vector<float> want = naiveConv(c, x, w, bias, yShape);
  for (float &v : want)
    v = referenceActivation(act, v, alpha, beta);
  requireClose(y, want, 1e-5f);
}

std::vector<float> naiveConvTranspose(const ConvCase &c,
                                      const std::vector<float> &x,
                                      const std::vector<float> &w,
                                      const std::vector<float> &bias,
                                      const Shape &yShape) {
  const size_t sr = c.x.size() - 2;
  const int64_t C = c.x[1], Og = c.w[1], Cg = C / c.group, O = Og * c.group;
  Shape xSpatial(c.x.begin() + 2, c.x.end());
  Shape kSpatial(c.w.begin() + 2, c.w.end());
  Shape ySpatial(yShape.begin() + 2, yShape.end());
  Shape ys = contiguousStrides(ySpatial);
  std::vector<double> y(static_cast<size_t>(count(yShape)));
  for (int64_t n = 0; n < c.x[0]; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t p = 0; p < count(ySpatial); ++p)
        y[(n * O + o) * count(ySpatial) + p] = c.bias ? bias[o] : 0.0;
  for (int64_t n = 0; n < c.x[0]; ++n)
    for (int64_t ci = 0; ci < C; ++ci) {
      int64_t g = ci / Cg;
      for (int64_t p = 0; p < count(xSpatial); ++p) {
        Shape ip = unravel(p, xSpatial);
        float xv = x[(n * C + ci) * count(xSpatial) + p];
        for (int64_t oi = 0; oi < Og; ++oi)
          for (int64_t kk = 0; kk < count(kSpatial); ++kk) {
            Shape kp = unravel(kk, kSpatial);
            Shape op(sr);
            bool inside = true;
            for (size_t d = 0; d < sr; ++d) {
              op[d] =
                  ip[d] * c.stride[d] - c.padBegin[d] + kp[d] * c.dilation[d];
              inside &= op[d] >= 0 && op[d] < ySpatial[d];
            }
            if (!inside)
              continue;
            float wv = w[(ci * Og + oi) * count(kSpatial) + kk];
            y[(n * O + g * Og + oi) * count(ySpatial) + dot(op, ys)] +=
                double(xv) * wv;
          }
      }
    }
  return std::vector<float>(y.begin(), y.end());
}

void checkConvTranspose(const ConvCase &c) {
  INFO(c.name);
  const size_t sr = c.x.size() - 2;
  Shape yShape = {c.x[0], c.w[1] * c.group};
  for (size_t d = 0; d < sr; ++d) {
    int64_t outPad = c.outputPadding.empty() ? 0 : c.outputPadding[d];
    yShape.push_back(c.stride[d] * (c.x[2 + d] - 1) + outPad +
                     (c.w[2 + d] - 1) * c.dilation[d] + 1 - c.padBegin[d] -
                     c.padEnd[d]);
  }
  auto x = randomFloats(count(c.x), 21);
  auto w = randomFloats(count(c.w), 22);
  auto bias = randomFloats(yShape[1], 23);
  std::vector<float> y(static_cast<size_t>(count(yShape)), 123.0f);
  convTranspose(x.data(), w.data(), c.bias ? bias.data() : nullptr, y.data(),
                static_cast<int>(sr), c.x.data(), c.w.data(), yShape.data(),
                c.stride.data(), c.padBegin.data(), c.dilation.data(), c.group);
  requireClose(y, naiveConvTranspose(c, x, w, bias, yShape), 1e-5f);
}

} // namespace

TEST_CASE("conv matches the naive definition", "[conv]") {
  std::vector<ConvCase> cases = {
      {"2d 3x3 pad 1",
       {1, 3, 7, 6},
       {4, 3, 3, 3},
       {1, 1},
       {1, 1},
       {1, 1},
       {1, 1},
       1,
       true},
      {"2d stride 2 asymmetric pad",
       {2, 2, 9, 8},
       {3, 2, 3, 2},
       {2, 2},
       {1, 0},
       {0, 1},
       {1, 1},
       1,
       true},
      {"2d dilation 2",
       {1, 2, 10, 9},
       {2, 2, 3, 3},
       {1, 1},
       {2, 2},
       {2, 2},
       {2, 2},
       1,
       false},
      {"2d groups 2",
       {2, 4, 6, 6},
       {6, 2, 3, 3},
       {1, 2},
       {1, 1},
       {1, 1},
       {1, 1},
       2,
       true},
      {"2d depthwise stride 2",
       {2, 5, 9, 11},
       {5, 1, 3, 3},
       {2, 2},
       {1, 1},
       {1, 1},
       {1, 1},
       5,
       true},
      {"2d depthwise multiplier 2 dilated",
       {1, 3, 8, 8},
       {6, 1, 3, 3},
       {1, 1},
       {2, 2},
       {2, 2},
       {2, 2},
       3,
       false},
      {"2d pointwise 1x1",
       {2, 8, 5, 5},
       {4, 8, 1, 1},
       {1, 1},
       {0, 0},
       {0, 0},
       {1, 1},
       1,
       true},
      {"2d 1x1 stride 2",
       {1, 4, 6, 6},
       {3, 4, 1, 1},
       {2, 2},
       {0, 0},
       {0, 0},
       {1, 1},
       1,
       true},
      {"2d kernel 5 stride 3 pad 2",
       {1, 2, 12, 10},
       {2, 2, 5, 5},
       {3, 3},
       {2, 2},
       {2, 2},
       {1, 1},
       1,
       true},
      {"1d", {2, 3, 15}, {4, 3, 4}, {2}, {1}, {2}, {1}, 1, true},
      {"1d depthwise", {1, 4, 10}, {4, 1, 3}, {1}, {1}, {1}, {1}, 4, true},
      {"3d",
       {1, 2, 5, 6, 4},
       {3, 2, 3, 3, 2},
       {1, 2, 1},
       {1, 1, 0},
       {1, 0, 1},
       {1, 1, 2},
       1,
       true},
      {"3d groups",
       {1, 4, 4, 4, 4},
       {4, 2, 2, 2, 2},
       {1, 1, 1},
       {0, 0, 0},
       {1, 1, 1},
       {1, 1, 1},
       2,
       false},
      {"large im2col",
       {1, 16, 32, 32},
       {32, 16, 3, 3},
       {1, 1},
       {1, 1},
       {1, 1},
       {1, 1},
       1,
       true},
      {"many small groups",
       {2, 32, 8, 8},
       {32, 4, 3, 3},
       {1, 1},
       {1, 1},
       {1, 1},
       {1, 1},
       8,
       true},
  };
  for (const ConvCase &c : cases)
    checkConv(c);
}

namespace {

/// Shapes that exercise the direct kernel's layouts: row and flat runs,
/// partial channel blocks, stride phases, batches, 1-d and 3-d, and the
/// shapes it leaves to im2col.
std::vector<ConvCase> layoutCases() {
  return {
      {"wide rows, 7 output channels",
       {1, 5, 20, 37},
       {7, 5, 3, 3},
       {1, 1},
       {1, 1},
       {1, 1},
       {1, 1},
       1,
       true},
      {"short rows (runs span rows)",
       {2, 6, 9, 5},
       {9, 6, 3, 3},
       {1, 1},
       {0, 0},
       {0, 0},
       {1, 1},
       1,
       true},
      {"stride 3x2 dilation 2 asymmetric pads",
       {1, 4, 17, 19},
       {10, 4, 3, 3},
       {3, 2},
       {2, 1},
       {0, 2},
       {2, 2},
       1,
       true},
      {"odd width stride 2",
       {1, 3, 11, 13},
       {8, 3, 3, 3},
       {2, 2},
       {1, 1},
       {1, 1},
       {1, 1},
       1,
       false},
      {"stride 2, 12 channels per group",
       {1, 24, 10, 10},
       {24, 12, 3, 3},
       {2, 2},
       {1, 1},
       {1, 1},
       {1, 1},
       2,
       true},
      {"stride 4 kernel 2 (unread phases)",
       {1, 3, 16, 16},
       {5, 3, 2, 2},
       {4, 4},
       {0, 0},
       {0, 0},
       {1, 1},
       1,
       true},
      {"dilated 16x16 (the example CNN)",
       {1, 32, 16, 16},
       {16, 32, 3, 3},
       {1, 1},
       {2, 2},
       {2, 2},
       {2, 2},
       1,
       false},
      {"batch of 3",
       {3, 4, 12, 12},
       {6, 4, 3, 3},
       {1, 1},
       {1, 1},
       {1, 1},
       {1, 1},
       1,
       true},
      {"one output channel",
       {1, 5, 9, 9},
       {1, 5, 3, 3},
       {1, 1},
       {1, 1},
       {1, 1},
       {1, 1},
       1,
       true},
      {"input smaller than the padding",
       {1, 2, 2, 3},
       {3, 2, 3, 3},
       {1, 1},
       {2, 2},
       {2, 2},
       {1, 1},
       1,
       true},
      {"kernel larger than the input",
       {1, 2, 3, 3},
       {2, 2, 5, 5},
       {1, 1},
       {2, 2},
       {2, 2},
       {1, 1},
       1,
       true},
      {"narrow output, wide kernel (im2col)",
       {1, 8, 7, 7},
       {4, 8, 7, 7},
       {1, 1},
       {0, 0},
       {0, 0},
       {1, 1},
       1,
       true},
      {"1d long rows", {1, 4, 50}, {6, 4, 5}, {1}, {2}, {2}, {1}, 1, true},
      {"3d dilated width",
       {1, 3, 6, 7, 9},
       {5, 3, 3, 2, 3},
       {1, 2, 1},
       {1, 0, 1},
       {1, 1, 1},
       {1, 1, 2},
       1,
       true},
      {"3d stride 2 in depth",
       {1, 2, 7, 6, 8},
       {4, 2, 3, 3, 3},
       {2, 1, 2},
       {1, 1, 1},
       {1, 1, 1},
       {1, 1, 1},
       1,
       true},
  };
}

} // namespace

TEST_CASE("conv matches the naive definition on the direct kernel's layouts",
          "[conv]") {
  for (const ConvCase &c : layoutCases())
    checkConv(c);
}

TEST_CASE("conv is right when called again with new data", "[conv]") {
  // The direct kernel keeps each layout's zero-padded input buffer between
  // calls: a second call, after another layout, must not see stale data.
  std::vector<ConvCase> cases = layoutCases();
  for (uint32_t seed : {40u, 50u})
    for (const ConvCase &c : cases)
      checkConv(c, UnaryOp::Identity, 0.0f, 0.0f, seed);
}

TEST_CASE("conv with a fused activation matches conv then the activation",
          "[conv]") {
  std::vector<ConvCase> cases = {
      {"direct, rows of 16",
       {1, 3, 16, 16},
       {8, 3, 3, 3},
       {1, 1},
       {1, 1},
       {1, 1},
       {1, 1},
       1,
       true},
      {"direct, compacted rows, groups",
       {2, 8, 7, 9},
       {6, 4, 3, 3},
       {2, 1},
       {1, 1},
       {1, 1},
       {1, 1},
       2,
       true},
      {"depthwise",
       {1, 4, 9, 9},
       {4, 1, 3, 3},
       {1, 1},
       {1, 1},
       {1, 1},
       {1, 1},
       4,
       true},
      {"pointwise (sgemm)",
       {1, 8, 5, 5},
       {4, 8, 1, 1},
       {1, 1},
       {0, 0},
       {0, 0},
       {1, 1},
       1,
       true},
      {"im2col",
       {1, 8, 7, 7},
       {4, 8, 7, 7},
       {1, 1},
       {0, 0},
       {0, 0},
       {1, 1},
       1,
       false},
      {"no bias",
       {1, 2, 6, 6},
       {3, 2, 3, 3},
       {1, 1},
       {1, 1},
       {1, 1},
       {1, 1},
       1,
       false},
  };
  struct Activation {
    UnaryOp op;
    float alpha, beta;
  };
  const Activation activations[] = {
      {UnaryOp::Relu, 0.0f, 0.0f},      {UnaryOp::Clip, -0.3f, 0.4f},
      {UnaryOp::LeakyRelu, 0.1f, 0.0f}, {UnaryOp::HardSigmoid, 0.2f, 0.5f},
      {UnaryOp::Sigmoid, 0.0f, 0.0f},   {UnaryOp::Identity, 0.0f, 0.0f},
  };
  for (const ConvCase &c : cases)
    for (const Activation &a : activations)
      checkConv(c, a.op, a.alpha, a.beta);
}

TEST_CASE("conv with Identity through the activation overload", "[conv]") {
  // checkConv sends Identity to the plain overload; this goes through the
  // other one.
  ConvCase c = {"2d",   {1, 3, 8, 8}, {4, 3, 3, 3}, {1, 1},
                {1, 1}, {1, 1},       {1, 1},       1,
                true};
  Shape yShape = convOutShape(c);
  auto x = randomFloats(count(c.x), 61);
  auto w = randomFloats(count(c.w), 62);
  auto bias = randomFloats(c.w[0], 63);
  std::vector<float> y(static_cast<size_t>(count(yShape)));
  conv(x.data(), w.data(), bias.data(), y.data(), 2, c.x.data(), c.w.data(),
       yShape.data(), c.stride.data(), c.padBegin.data(), c.dilation.data(),
       c.group, UnaryOp::Identity, 0.0f, 0.0f);
  requireClose(y, naiveConv(c, x, w, bias, yShape), 1e-5f);
}

TEST_CASE("convTranspose matches the naive definition", "[conv]") {
  std::vector<ConvCase> cases = {
      {"2d stride 1",
       {1, 2, 4, 5},
       {2, 3, 3, 3},
       {1, 1},
       {0, 0},
       {0, 0},
       {1, 1},
       1,
       true},
      {"2d stride 2 pad 1",
       {2, 3, 5, 4},
       {3, 2, 3, 3},
       {2, 2},
       {1, 1},
       {1, 1},
       {1, 1},
       1,
       true},
      {"2d stride 2 output padding",
       {1, 2, 3, 3},
       {2, 2, 3, 3},
       {2, 2},
       {1, 1},
       {1, 1},
       {1, 1},
       1,
       false,
       {1, 1}},
      {"2d groups 2 dilation 2",
       {1, 4, 4, 4},
       {4, 3, 2, 2},
       {1, 2},
       {0, 1},
       {0, 0},
       {2, 2},
       2,
       true},
      {"2d kernel 4 stride 2 (upsampler)",
       {1, 8, 6, 6},
       {8, 4, 4, 4},
       {2, 2},
       {1, 1},
       {1, 1},
       {1, 1},
       1,
       true},
      {"1d stride 3", {2, 2, 5}, {2, 3, 4}, {3}, {1}, {0}, {1}, 1, true},
      {"3d",
       {1, 2, 3, 3, 2},
       {2, 2, 2, 2, 2},
       {2, 1, 2},
       {0, 1, 0},
       {0, 0, 1},
       {1, 1, 1},
       1,
       true},
  };
  for (const ConvCase &c : cases)
    checkConvTranspose(c);
}

namespace {

struct PoolCase {
  const char *name;
  Shape x, kernel, stride, padBegin, padEnd, dilation;
  bool ceilMode;
};

Shape poolOutShape(const PoolCase &c) {
  Shape y = {c.x[0], c.x[1]};
  for (size_t d = 0; d + 2 < c.x.size(); ++d) {
    int64_t span = c.x[2 + d] + c.padBegin[d] + c.padEnd[d] -
                   c.dilation[d] * (c.kernel[d] - 1) - 1;
    int64_t out = c.ceilMode ? (span + c.stride[d] - 1) / c.stride[d] + 1
                             : span / c.stride[d] + 1;
    // ONNX: the last window must start inside the input or left padding.
    if (c.ceilMode && (out - 1) * c.stride[d] >= c.x[2 + d] + c.padBegin[d])
      --out;
    y.push_back(out);
  }
  return y;
}

} // namespace

TEST_CASE("maxPool and avgPool match the naive definition", "[conv]") {
  std::vector<PoolCase> cases = {
      {"2x2 stride 2",
       {1, 2, 6, 6},
       {2, 2},
       {2, 2},
       {0, 0},
       {0, 0},
       {1, 1},
       false},
      {"3x3 stride 2 pad 1",
       {2, 3, 7, 8},
       {3, 3},
       {2, 2},
       {1, 1},
       {1, 1},
       {1, 1},
       false},
      {"3x3 stride 2 ceil",
       {1, 1, 6, 7},
       {3, 3},
       {2, 2},
       {0, 0},
       {0, 0},
       {1, 1},
       true},
      {"asymmetric pads ceil",
       {1, 2, 5, 5},
       {2, 3},
       {2, 2},
       {1, 0},
       {0, 1},
       {1, 1},
       true},
      {"dilated", {1, 2, 9, 9}, {3, 3}, {1, 2}, {2, 2}, {2, 2}, {2, 2}, false},
      {"1d", {2, 3, 11}, {3}, {2}, {1}, {1}, {1}, false},
      {"3d",
       {1, 2, 5, 4, 6},
       {2, 2, 3},
       {2, 1, 2},
       {1, 0, 1},
       {0, 1, 1},
       {1, 1, 1},
       false},
      {"global", {2, 4, 5, 7}, {5, 7}, {1, 1}, {0, 0}, {0, 0}, {1, 1}, false},
      // Rows of a vector or more, pooled row by row.
      {"2x2 stride 2 wide rows",
       {1, 3, 6, 40},
       {2, 2},
       {2, 2},
       {0, 0},
       {0, 0},
       {1, 1},
       false},
      {"3x3 stride 1 pad 1 wide rows",
       {1, 2, 5, 37},
       {3, 3},
       {1, 1},
       {1, 1},
       {1, 1},
       {1, 1},
       false},
      // Input width = stride x output width: whole planes at once.
      {"3x3 stride 2 pad 1 16x16",
       {2, 3, 16, 16},
       {3, 3},
       {2, 2},
       {1, 1},
       {1, 1},
       {1, 1},
       false},
      {"2x2 stride 2 narrow",
       {1, 4, 10, 12},
       {2, 2},
       {2, 2},
       {0, 0},
       {0, 0},
       {1, 1},
       false},
      {"2x2 stride 1 pad 1 end only",
       {1, 2, 7, 8},
       {2, 2},
       {1, 1},
       {0, 0},
       {1, 1},
       {1, 1},
       false},
      // More window rows than the direct path takes, and other widths.
      {"3d 2x2x2",
       {1, 2, 4, 6, 8},
       {2, 2, 2},
       {2, 2, 2},
       {0, 0, 0},
       {0, 0, 0},
       {1, 1, 1},
       false},
      {"kernel 4 stride 3",
       {1, 2, 11, 13},
       {4, 4},
       {3, 3},
       {1, 2},
       {1, 2},
       {1, 1},
       false},
      // Big enough to be split across threads.
      {"3x3 stride 2 pad 1, 16 planes of 64x64",
       {1, 16, 64, 64},
       {3, 3},
       {2, 2},
       {1, 1},
       {1, 1},
       {1, 1},
       false},
      {"5x5 stride 1 pad 2",
       {1, 1, 6, 20},
       {5, 5},
       {1, 1},
       {2, 2},
       {2, 2},
       {1, 1},
       false},
  };
  for (const PoolCase &c : cases) {
    INFO(c.name);
    const size_t sr = c.x.size() - 2;
    Shape yShape = poolOutShape(c);
    Shape xSpatial(c.x.begin() + 2, c.x.end());
    Shape ySpatial(yShape.begin() + 2, yShape.end());
    Shape xs = contiguousStrides(xSpatial);
    auto x = randomFloats(count(c.x), 31, -3, 3);
    const int64_t planes = c.x[0] * c.x[1];

    std::vector<float> wantMax, wantAvgExcl, wantAvgIncl;
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t q = 0; q < count(ySpatial); ++q) {
        Shape op = unravel(q, ySpatial);
        float best = -std::numeric_limits<float>::infinity();
        double sum = 0;
        int64_t inside = 0, includePad = 1;
        for (size_t d = 0; d < sr; ++d) {
          // Window positions inside input + both pads (ceil-mode overhang
          // beyond the end pad is not counted).
          int64_t start = op[d] * c.stride[d] - c.padBegin[d];
          int64_t end = std::min(start + c.kernel[d], c.x[2 + d] + c.padEnd[d]);
          includePad *= end - start;
        }
        for (int64_t kk = 0; kk < count(c.kernel); ++kk) {
          Shape kp = unravel(kk, c.kernel);
          Shape ip(sr);
          bool in = true;
          for (size_t d = 0; d < sr; ++d) {
            ip[d] = op[d] * c.stride[d] - c.padBegin[d] + kp[d] * c.dilation[d];
            in &= ip[d] >= 0 && ip[d] < xSpatial[d];
          }
          if (!in)
            continue;
          float v = x[p * count(xSpatial) + dot(ip, xs)];
          best = std::max(best, v);
          sum += v;
          ++inside;
        }
        wantMax.push_back(best);
        wantAvgExcl.push_back(static_cast<float>(sum / inside));
        wantAvgIncl.push_back(static_cast<float>(sum / includePad));
      }

    std::vector<float> y(static_cast<size_t>(count(yShape)));
    maxPool(x.data(), y.data(), static_cast<int>(sr), c.x.data(), yShape.data(),
            c.kernel.data(), c.stride.data(), c.padBegin.data(),
            c.dilation.data());
    requireClose(y, wantMax, 0.0f);

    bool dilated = false;
    for (int64_t d : c.dilation)
      dilated |= d != 1;
    if (dilated)
      continue; // AveragePool has no dilations
    avgPool(x.data(), y.data(), static_cast<int>(sr), c.x.data(), yShape.data(),
            c.kernel.data(), c.stride.data(), c.padBegin.data(),
            c.padEnd.data(), false);
    requireClose(y, wantAvgExcl, 1e-5f);
    avgPool(x.data(), y.data(), static_cast<int>(sr), c.x.data(), yShape.data(),
            c.kernel.data(), c.stride.data(), c.padBegin.data(),
            c.padEnd.data(), true);
    requireClose(y, wantAvgIncl, 1e-5f);
  }
}

TEST_CASE("avgPool count_include_pad on the ONNX example", "[conv]") {
  // averagepool_2d_pads_count_include_pad: 5x5 input 1..25 (here a 3x3 corner
  // check), kernel 3, pads 2: the corner window sees only x[0][0] = 1.
  Shape x = {1, 1, 5, 5}, y = {1, 1, 7, 7}, k = {3, 3}, s = {1, 1}, p = {2, 2};
  std::vector<float> in(25), out(49);
  for (int i = 0; i < 25; ++i)
    in[i] = static_cast<float>(i + 1);
  avgPool(in.data(), out.data(), 2, x.data(), y.data(), k.data(), s.data(),
          p.data(), p.data(), true);
  CHECK(out[0] == Approx(1.0f / 9.0f));
  CHECK(out[3 * 7 + 3] == Approx(13.0f)); // centre window 7..19 mean
  avgPool(in.data(), out.data(), 2, x.data(), y.data(), k.data(), s.data(),
          p.data(), p.data(), false);
  CHECK(out[0] == Approx(1.0f));
}
