// Tests of the elementwise kernels (unary, scale, binary, where, cast,
// broadcastTo, fill) against direct std:: formulas and naive broadcasting
// loops.
#include "ssrt/kernels.h"
#include "test_support.h"

#include <cmath>
#include <functional>
#include <limits>

using namespace ssrt;
using namespace ssrt_test;

namespace {

const std::vector<float> kSamples = {-30.0f, -5.5f, -2.0f, -1.0f, -0.5f,
                                     -0.1f,  0.0f,  0.1f,  0.5f,  1.0f,
                                     2.0f,   3.0f,  5.5f,  30.0f};

void checkUnary(UnaryOp op, std::function<double(double)> formula,
                float alpha = 0.0f, float beta = 0.0f,
                bool positiveOnly = false) {
  std::vector<float> x;
  for (float v : kSamples)
    if (!positiveOnly || v > 0.0f)
      x.push_back(v);
  std::vector<float> y(x.size()), expected(x.size());
  unary(op, x.data(), y.data(), static_cast<int64_t>(x.size()), alpha, beta);
  for (size_t i = 0; i < x.size(); ++i)
    expected[i] = static_cast<float>(formula(x[i]));
  requireClose(y, expected, 2e-6f);
}

/// Naive broadcasting: out[i] = f(a[bcast(i)], b[bcast(i)]).
template <typename T, typename R, typename F>
std::vector<R> naiveBinary(const std::vector<T> &a, const Shape &aShape,
                           const std::vector<T> &b, const Shape &bShape,
                           const Shape &outShape, F f) {
  Shape as = broadcastStrides(aShape, outShape.size());
  Shape bs = broadcastStrides(bShape, outShape.size());
  std::vector<R> out(static_cast<size_t>(count(outShape)));
  for (int64_t i = 0; i < count(outShape); ++i) {
    Shape idx = unravel(i, outShape);
    out[i] = f(a[dot(idx, as)], b[dot(idx, bs)]);
  }
  return out;
}

template <typename T, typename R = T>
std::vector<R> runBinary(BinaryOp op, DType dtype, const std::vector<T> &a,
                         const Shape &aShape, const std::vector<T> &b,
                         const Shape &bShape, const Shape &outShape) {
  std::vector<R> out(static_cast<size_t>(count(outShape)));
  Shape as = broadcastStrides(aShape, outShape.size());
  Shape bs = broadcastStrides(bShape, outShape.size());
  binary(op, dtype, a.data(), as.data(), b.data(), bs.data(), out.data(),
         outShape.data(), static_cast<int>(outShape.size()));
  return out;
}

struct BroadcastCase {
  Shape a, b, out;
};

const std::vector<BroadcastCase> kBroadcastCases = {
    {{2, 3, 4}, {2, 3, 4}, {2, 3, 4}},          // same shape
    {{2, 3, 4}, {}, {2, 3, 4}},                 // scalar b
    {{}, {5}, {5}},                             // scalar a
    {{2, 3, 4}, {4}, {2, 3, 4}},                // row broadcast
    {{2, 3, 4}, {3, 1}, {2, 3, 4}},             // column broadcast
    {{2, 1, 4}, {3, 1}, {2, 3, 4}},             // both broadcast
    {{1, 3, 1, 5}, {2, 1, 4, 1}, {2, 3, 4, 5}}, // alternating
    {{4, 1}, {1, 6}, {4, 6}},                   // outer product
    {{64, 130}, {64, 130}, {64, 130}},          // parallel flat path
    {{8, 32, 130}, {32, 1}, {8, 32, 130}},      // parallel broadcast path
    {{}, {}, {}},                               // 0-d
    {{3, 0, 2}, {2}, {3, 0, 2}},                // empty
};

} // namespace

TEST_CASE("unary float ops match std formulas", "[elementwise]") {
  checkUnary(UnaryOp::Identity, [](double v) { return v; });
  checkUnary(UnaryOp::Neg, [](double v) { return -v; });
  checkUnary(UnaryOp::Abs, [](double v) { return std::fabs(v); });
  checkUnary(UnaryOp::Exp, [](double v) { return std::exp(v); });
  checkUnary(
      UnaryOp::Log, [](double v) { return std::log(v); }, 0, 0, true);
  checkUnary(UnaryOp::Tanh, [](double v) { return std::tanh(v); });
  checkUnary(UnaryOp::Erf, [](double v) { return std::erf(v); });
  checkUnary(UnaryOp::Relu, [](double v) { return v > 0 ? v : 0.0; });
  checkUnary(UnaryOp::Sigmoid,
             [](double v) { return 1.0 / (1.0 + std::exp(-v)); });
  checkUnary(
      UnaryOp::Sqrt, [](double v) { return std::sqrt(v); }, 0, 0, true);
  checkUnary(
      UnaryOp::Reciprocal, [](double v) { return 1.0 / v; }, 0, 0, true);
  checkUnary(
      UnaryOp::LeakyRelu, [](double v) { return v < 0 ? 0.01 * v : v; }, 0.01f);
  checkUnary(
      UnaryOp::HardSigmoid,
      [](double v) { return std::max(0.0, std::min(1.0, 0.2 * v + 0.5)); },
      0.2f, 0.5f);
  checkUnary(UnaryOp::HardSwish, [](double v) {
    return v * std::max(0.0, std::min(1.0, v / 6.0 + 0.5));
  });
  checkUnary(
      UnaryOp::Clip, [](double v) { return std::max(-1.5, std::min(2.0, v)); },
      -1.5f, 2.0f);
  checkUnary(UnaryOp::Gelu, [](double v) {
    return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
  });
  checkUnary(UnaryOp::GeluTanh, [](double v) {
    const double c = std::sqrt(2.0 / M_PI);
    return 0.5 * v * (1.0 + std::tanh(c * (v + 0.044715 * v * v * v)));
  });
}

TEST_CASE("unary ops on a large buffer (parallel path)", "[elementwise]") {
  std::vector<float> x = randomFloats(100003, 1, -4, 4);
  std::vector<float> y(x.size()), expected(x.size());
  unary(UnaryOp::Sigmoid, x.data(), y.data(), static_cast<int64_t>(x.size()), 0,
        0);
  for (size_t i = 0; i < x.size(); ++i)
    expected[i] = 1.0f / (1.0f + std::exp(-x[i]));
  requireClose(y, expected, 1e-6f);
}

TEST_CASE("scale multiplies, in place too", "[elementwise]") {
  std::vector<float> x = {1.0f, -2.0f, 0.5f, 0.0f, 3.0f};
  std::vector<float> y(x.size());
  scale(x.data(), y.data(), 5, 0.5f);
  CHECK(y == std::vector<float>{0.5f, -1.0f, 0.25f, 0.0f, 1.5f});
  scale(x.data(), x.data(), 5, -4.0f);
  CHECK(x == std::vector<float>{-4.0f, 8.0f, -2.0f, -0.0f, -12.0f});
  scale(x.data(), x.data(), 0, 2.0f); // nothing to do

  // Large enough to split across threads; products of floats by a power of
  // two are exact.
  std::vector<float> big = randomFloats(100003, 9);
  std::vector<float> out(big.size());
  scale(big.data(), out.data(), static_cast<int64_t>(big.size()), 0.25f);
  for (size_t i = 0; i < big.size(); ++i)
    REQUIRE(out[i] == big[i] * 0.25f);
}

TEST_CASE("sigmoid saturates without overflow", "[elementwise]") {
  std::vector<float> x = {-1000.0f, 1000.0f}, y(2);
  unary(UnaryOp::Sigmoid, x.data(), y.data(), 2, 0, 0);
  CHECK(y[0] == 0.0f);
  CHECK(y[1] == 1.0f);
}

TEST_CASE("integer unary ops and logical not", "[elementwise]") {
  std::vector<int64_t> x64 = {-5, 0, 7, std::numeric_limits<int64_t>::min()};
  std::vector<int64_t> y64(x64.size());
  unaryInt(UnaryOp::Neg, DType::I64, x64.data(), y64.data(), 4);
  CHECK(y64[0] == 5);
  CHECK(y64[1] == 0);
  CHECK(y64[2] == -7);
  CHECK(y64[3] == std::numeric_limits<int64_t>::min()); // wraps
  unaryInt(UnaryOp::Abs, DType::I64, x64.data(), y64.data(), 3);
  CHECK(y64 == std::vector<int64_t>{5, 0, 7, y64[3]});

  std::vector<int32_t> x32 = {-3, 4}, y32(2);
  unaryInt(UnaryOp::Abs, DType::I32, x32.data(), y32.data(), 2);
  CHECK(y32 == std::vector<int32_t>{3, 4});
  unaryInt(UnaryOp::Neg, DType::I32, x32.data(), y32.data(), 2);
  CHECK(y32 == std::vector<int32_t>{3, -4});

  std::vector<uint8_t> b = {0, 1, 1, 0}, nb(4);
  logicalNot(b.data(), nb.data(), 4);
  CHECK(nb == std::vector<uint8_t>{1, 0, 0, 1});
}

TEST_CASE("binary float ops broadcast like numpy", "[elementwise]") {
  struct OpCase {
    BinaryOp op;
    std::function<float(float, float)> f;
  };
  std::vector<OpCase> ops = {
      {BinaryOp::Add, [](float a, float b) { return a + b; }},
      {BinaryOp::Sub, [](float a, float b) { return a - b; }},
      {BinaryOp::Mul, [](float a, float b) { return a * b; }},
      {BinaryOp::Div, [](float a, float b) { return a / b; }},
      {BinaryOp::Pow, [](float a, float b) { return std::pow(a, b); }},
  };
  uint32_t seed = 10;
  for (const BroadcastCase &c : kBroadcastCases) {
    // Positive operands keep Pow and Div finite.
    auto a = randomFloats(count(c.a), seed++, 0.5f, 2.0f);
    auto b = randomFloats(count(c.b), seed++, 0.5f, 2.0f);
    for (const OpCase &op : ops) {
      INFO("op " << static_cast<int>(op.op) << " out rank " << c.out.size()
                 << " a rank " << c.a.size() << " b rank " << c.b.size());
      auto got = runBinary<float>(op.op, DType::F32, a, c.a, b, c.b, c.out);
      auto want = naiveBinary<float, float>(a, c.a, b, c.b, c.out, op.f);
      requireClose(got, want, 1e-6f);
    }
  }
}

TEST_CASE("binary comparisons write bool", "[elementwise]") {
  std::vector<float> a = {1, 2, 3, 4, 5, 6};
  std::vector<float> b = {2, 5, 6};
  Shape as = {2, 3}, bs = {3}, out = {2, 3};
  auto eq =
      runBinary<float, uint8_t>(BinaryOp::Equal, DType::F32, a, as, b, bs, out);
  auto lt =
      runBinary<float, uint8_t>(BinaryOp::Less, DType::F32, a, as, b, bs, out);
  auto gt = runBinary<float, uint8_t>(BinaryOp::Greater, DType::F32, a, as, b,
                                      bs, out);
  CHECK(eq == std::vector<uint8_t>{0, 0, 0, 0, 1, 1});
  CHECK(lt == std::vector<uint8_t>{1, 1, 1, 0, 0, 0});
  CHECK(gt == std::vector<uint8_t>{0, 0, 0, 1, 0, 0});

  std::vector<uint8_t> p = {0, 1, 1, 0}, q = {1, 0};
  auto beq = runBinary<uint8_t, uint8_t>(BinaryOp::Equal, DType::Bool, p,
                                         {2, 2}, q, {2}, {2, 2});
  CHECK(beq == std::vector<uint8_t>{0, 0, 1, 1});
}

TEST_CASE("binary int64 and int32 ops", "[elementwise]") {
  uint32_t seed = 100;
  for (const BroadcastCase &c : kBroadcastCases) {
    auto a = randomInts(count(c.a), seed++, -50, 50);
    auto b = randomInts(count(c.b), seed++, -9, 10);
    for (auto &v : b)
      if (v == 0)
        v = 3; // keep Div defined
    INFO("out rank " << c.out.size());
    CHECK(
        runBinary<int64_t>(BinaryOp::Add, DType::I64, a, c.a, b, c.b, c.out) ==
        naiveBinary<int64_t, int64_t>(
            a, c.a, b, c.b, c.out, [](int64_t x, int64_t y) { return x + y; }));
    CHECK(
        runBinary<int64_t>(BinaryOp::Sub, DType::I64, a, c.a, b, c.b, c.out) ==
        naiveBinary<int64_t, int64_t>(
            a, c.a, b, c.b, c.out, [](int64_t x, int64_t y) { return x - y; }));
    CHECK(
        runBinary<int64_t>(BinaryOp::Mul, DType::I64, a, c.a, b, c.b, c.out) ==
        naiveBinary<int64_t, int64_t>(
            a, c.a, b, c.b, c.out, [](int64_t x, int64_t y) { return x * y; }));
    CHECK(
        runBinary<int64_t>(BinaryOp::Div, DType::I64, a, c.a, b, c.b, c.out) ==
        naiveBinary<int64_t, int64_t>(
            a, c.a, b, c.b, c.out, [](int64_t x, int64_t y) { return x / y; }));
    CHECK(runBinary<int64_t, uint8_t>(BinaryOp::Less, DType::I64, a, c.a, b,
                                      c.b, c.out) ==
          naiveBinary<int64_t, uint8_t>(
              a, c.a, b, c.b, c.out,
              [](int64_t x, int64_t y) { return uint8_t(x < y); }));
    CHECK(runBinary<int64_t, uint8_t>(BinaryOp::Greater, DType::I64, a, c.a, b,
                                      c.b, c.out) ==
          naiveBinary<int64_t, uint8_t>(
              a, c.a, b, c.b, c.out,
              [](int64_t x, int64_t y) { return uint8_t(x > y); }));
    CHECK(runBinary<int64_t, uint8_t>(BinaryOp::Equal, DType::I64, a, c.a, b,
                                      c.b, c.out) ==
          naiveBinary<int64_t, uint8_t>(
              a, c.a, b, c.b, c.out,
              [](int64_t x, int64_t y) { return uint8_t(x == y); }));
  }

  // Truncating division, a zero divisor gives 0, integer powers.
  std::vector<int64_t> a = {7, -7, 7, -7, 5, 3, 2, -2, 2};
  std::vector<int64_t> b = {2, 2, -2, -2, 0, 0, 10, 3, -1};
  auto div = runBinary<int64_t>(BinaryOp::Div, DType::I64, a, {9}, b, {9}, {9});
  CHECK(div == std::vector<int64_t>{3, -3, -3, 3, 0, 0, 0, 0, -2});
  auto pw = runBinary<int64_t>(BinaryOp::Pow, DType::I64, a, {9}, b, {9}, {9});
  CHECK(pw == std::vector<int64_t>{49, 49, 0, 0, 1, 1, 1024, -8, 0});

  std::vector<int32_t> c = {10, -9, 4}, d = {3};
  auto div32 =
      runBinary<int32_t>(BinaryOp::Div, DType::I32, c, {3}, d, {}, {3});
  CHECK(div32 == std::vector<int32_t>{3, -3, 1});
  auto add32 =
      runBinary<int32_t>(BinaryOp::Add, DType::I32, c, {3}, d, {}, {3});
  CHECK(add32 == std::vector<int32_t>{13, -6, 7});
  auto eq32 = runBinary<int32_t, uint8_t>(BinaryOp::Equal, DType::I32, c, {3},
                                          c, {3}, {3});
  CHECK(eq32 == std::vector<uint8_t>{1, 1, 1});
}

TEST_CASE("where broadcasts all three operands", "[elementwise]") {
  Shape condShape = {2, 1, 4}, xShape = {3, 1}, yShape = {4}, out = {2, 3, 4};
  std::vector<uint8_t> cond = {1, 0, 1, 1, 0, 0, 1, 0};
  auto x = randomFloats(count(xShape), 1);
  auto y = randomFloats(count(yShape), 2);
  Shape cs = broadcastStrides(condShape, 3), xs = broadcastStrides(xShape, 3),
        ys = broadcastStrides(yShape, 3);
  std::vector<float> got(static_cast<size_t>(count(out)));
  where(cond.data(), cs.data(), x.data(), xs.data(), y.data(), ys.data(),
        got.data(), out.data(), 3, sizeof(float));
  for (int64_t i = 0; i < count(out); ++i) {
    Shape idx = unravel(i, out);
    float want = cond[dot(idx, cs)] ? x[dot(idx, xs)] : y[dot(idx, ys)];
    REQUIRE(got[i] == want);
  }

  // int64 values, same shapes, large enough for the parallel path.
  Shape big = {300, 257};
  std::vector<uint8_t> c2(static_cast<size_t>(count(big)));
  auto ci = randomInts(count(big), 3, 0, 2);
  for (size_t i = 0; i < c2.size(); ++i)
    c2[i] = static_cast<uint8_t>(ci[i]);
  auto x2 = randomInts(count(big), 4, -100, 100);
  auto y2 = randomInts(count(big), 5, -100, 100);
  Shape s2 = contiguousStrides(big);
  std::vector<int64_t> got2(c2.size());
  where(c2.data(), s2.data(), x2.data(), s2.data(), y2.data(), s2.data(),
        got2.data(), big.data(), 2, sizeof(int64_t));
  for (size_t i = 0; i < c2.size(); ++i)
    REQUIRE(got2[i] == (c2[i] ? x2[i] : y2[i]));

  // bool payload with a scalar condition.
  std::vector<uint8_t> one = {0}, bx = {1, 1, 0}, by = {0, 1, 1}, bo(3);
  Shape zero = {0}, unit = {1}, three = {3};
  where(one.data(), zero.data(), bx.data(), unit.data(), by.data(), unit.data(),
        bo.data(), three.data(), 1, 1);
  CHECK(bo == by);
}

TEST_CASE("cast converts between every dtype pair", "[elementwise]") {
  std::vector<float> f = {-2.7f, -1.0f, 0.0f, 0.4f, 1.0f, 2.9f, 100.0f};
  const int64_t n = static_cast<int64_t>(f.size());

  std::vector<int64_t> i64(f.size());
  cast(DType::F32, f.data(), DType::I64, i64.data(), n);
  CHECK(i64 == std::vector<int64_t>{-2, -1, 0, 0, 1, 2, 100});

  std::vector<int32_t> i32(f.size());
  cast(DType::F32, f.data(), DType::I32, i32.data(), n);
  CHECK(i32 == std::vector<int32_t>{-2, -1, 0, 0, 1, 2, 100});

  std::vector<uint8_t> b(f.size());
  cast(DType::F32, f.data(), DType::Bool, b.data(), n);
  CHECK(b == std::vector<uint8_t>{1, 1, 0, 1, 1, 1, 1});

  std::vector<int8_t> i8(f.size());
  cast(DType::F32, f.data(), DType::I8, i8.data(), n);
  CHECK(i8 == std::vector<int8_t>{-2, -1, 0, 0, 1, 2, 100});

  std::vector<float> back(f.size());
  cast(DType::I64, i64.data(), DType::F32, back.data(), n);
  CHECK(back == std::vector<float>{-2, -1, 0, 0, 1, 2, 100});
  cast(DType::Bool, b.data(), DType::F32, back.data(), n);
  CHECK(back == std::vector<float>{1, 1, 0, 1, 1, 1, 1});

  std::vector<int64_t> big = {5000000000LL, -3, 0};
  std::vector<int32_t> narrowed(3);
  cast(DType::I64, big.data(), DType::I32, narrowed.data(), 3);
  CHECK(narrowed[1] == -3);
  CHECK(narrowed[0] == static_cast<int32_t>(5000000000LL));
  std::vector<uint8_t> nz(3);
  cast(DType::I64, big.data(), DType::Bool, nz.data(), 3);
  CHECK(nz == std::vector<uint8_t>{1, 1, 0});

  std::vector<uint8_t> u8 = {0, 200, 255};
  std::vector<int64_t> widened(3);
  cast(DType::U8, u8.data(), DType::I64, widened.data(), 3);
  CHECK(widened == std::vector<int64_t>{0, 200, 255});
  std::vector<int8_t> s8 = {-128, 0, 127};
  std::vector<int32_t> s8w(3);
  cast(DType::I8, s8.data(), DType::I32, s8w.data(), 3);
  CHECK(s8w == std::vector<int32_t>{-128, 0, 127});
  std::vector<uint8_t> s8u(3);
  cast(DType::I8, s8.data(), DType::U8, s8u.data(), 3);
  CHECK(s8u == std::vector<uint8_t>{128, 0, 127});

  // Every pair round-trips small non-negative integers.
  const DType all[] = {DType::F32,  DType::I64, DType::I32,
                       DType::Bool, DType::U8,  DType::I8};
  std::vector<float> src = {0, 1, 1, 0};
  for (DType from : all)
    for (DType to : all) {
      std::vector<char> a(32), c(32);
      std::vector<float> out(4);
      cast(DType::F32, src.data(), from, a.data(), 4);
      cast(from, a.data(), to, c.data(), 4);
      cast(to, c.data(), DType::F32, out.data(), 4);
      INFO(dtypeName(from) << " -> " << dtypeName(to));
      CHECK(out == src);
    }
}

TEST_CASE("broadcastTo and fill", "[elementwise]") {
  Shape xShape = {3, 1}, out = {2, 3, 4};
  std::vector<int64_t> x = {7, 8, 9};
  Shape xs = broadcastStrides(xShape, 3);
  std::vector<int64_t> y(static_cast<size_t>(count(out)));
  broadcastTo(x.data(), xs.data(), y.data(), out.data(), 3, sizeof(int64_t));
  for (int64_t i = 0; i < count(out); ++i)
    REQUIRE(y[i] == x[unravel(i, out)[1]]);

  Shape rowShape = {5}, out2 = {400, 5};
  auto row = randomFloats(5, 9);
  Shape rs = broadcastStrides(rowShape, 2);
  std::vector<float> y2(static_cast<size_t>(count(out2)));
  broadcastTo(row.data(), rs.data(), y2.data(), out2.data(), 2, 4);
  for (int64_t i = 0; i < count(out2); ++i)
    REQUIRE(y2[i] == row[i % 5]);

  std::vector<float> f(5);
  fill(f.data(), DType::F32, 5, 1.5);
  CHECK(f == std::vector<float>(5, 1.5f));
  std::vector<int64_t> g(3);
  fill(g.data(), DType::I64, 3, -4);
  CHECK(g == std::vector<int64_t>(3, -4));
  std::vector<uint8_t> h(3);
  fill(h.data(), DType::Bool, 3, 2.0);
  CHECK(h == std::vector<uint8_t>(3, 1));
}

TEST_CASE("dtype sizes and names", "[elementwise]") {
  CHECK(dtypeSize(DType::F32) == 4);
  CHECK(dtypeSize(DType::I64) == 8);
  CHECK(dtypeSize(DType::I32) == 4);
  CHECK(dtypeSize(DType::Bool) == 1);
  CHECK(dtypeSize(DType::U8) == 1);
  CHECK(dtypeSize(DType::I8) == 1);
  CHECK(std::string(dtypeName(DType::F32)) == "float32");
  CHECK(std::string(dtypeName(DType::I64)) == "int64");
  CHECK(std::string(dtypeName(DType::I32)) == "int32");
  CHECK(std::string(dtypeName(DType::Bool)) == "bool");
  CHECK(std::string(dtypeName(DType::U8)) == "uint8");
  CHECK(std::string(dtypeName(DType::I8)) == "int8");
}

TEST_CASE("pow by a scalar exponent, including the squaring fast path",
          "[elementwise]") {
  std::vector<float> x = {-3.5f, -1.0f, 0.0f, 0.5f, 2.0f, 1e20f};
  for (float e : {2.0f, 3.0f, 0.5f, -1.0f}) {
    std::vector<float> b = {e};
    auto got = runBinary<float>(BinaryOp::Pow, DType::F32, x, {6}, b, {}, {6});
    for (size_t i = 0; i < x.size(); ++i) {
      INFO(x[i] << " ^ " << e);
      float want = std::pow(x[i], e);
      if (std::isnan(want))
        CHECK(std::isnan(got[i]));
      else
        CHECK(got[i] == want);
    }
  }
}
