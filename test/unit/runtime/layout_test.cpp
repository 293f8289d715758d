// Tests of the data movement kernels: transpose, concat/split, slice and its
// inverse insertBox, gather (including the out-of-range exit) and pad in
// every mode.
#include "ssrt/kernels.h"
#include "test_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

using namespace ssrt;
using namespace ssrt_test;

namespace {

template <typename T>
void checkTranspose(const Shape &inShape, const Shape &perm) {
  INFO("rank " << inShape.size() << " elem " << sizeof(T));
  auto xi = randomInts(count(inShape), 81, -1000, 1000);
  std::vector<T> x(xi.begin(), xi.end());
  Shape outShape(perm.size());
  for (size_t d = 0; d < perm.size(); ++d)
    outShape[d] = inShape[perm[d]];
  Shape inStrides = contiguousStrides(inShape);
  std::vector<T> y(x.size()), want(x.size());
  for (int64_t i = 0; i < count(outShape); ++i) {
    Shape idx = unravel(i, outShape);
    int64_t src = 0;
    for (size_t d = 0; d < perm.size(); ++d)
      src += idx[d] * inStrides[perm[d]];
    want[i] = x[src];
  }
  transpose(x.data(), y.data(), inShape.data(), perm.data(),
            static_cast<int>(perm.size()), sizeof(T));
  REQUIRE(y == want);
}

} // namespace

TEST_CASE("transpose any permutation and element size", "[layout]") {
  checkTranspose<float>({3, 4}, {1, 0});
  checkTranspose<float>({2, 3, 4}, {0, 2, 1});
  checkTranspose<float>({2, 3, 4}, {2, 0, 1});
  checkTranspose<float>({2, 3, 4, 5}, {0, 2, 1, 3}); // inner rows kept
  checkTranspose<float>({2, 3, 4, 5}, {3, 2, 1, 0});
  checkTranspose<float>({2, 1, 4, 1}, {3, 2, 1, 0}); // size-1 dims
  checkTranspose<float>({5}, {0});
  checkTranspose<float>({}, {});
  checkTranspose<float>({130, 67}, {1, 0}); // tiled, ragged
  checkTranspose<float>({4, 64, 12, 33}, {0, 2, 1, 3});
  checkTranspose<float>({2, 40, 3, 70}, {0, 3, 1, 2}); // tiled with outer
  checkTranspose<int64_t>({3, 5, 7}, {2, 1, 0});
  checkTranspose<int64_t>({50, 40}, {1, 0});
  checkTranspose<uint8_t>({6, 35, 9}, {1, 2, 0});
  checkTranspose<uint16_t>({6, 35, 9}, {2, 0, 1});
}

TEST_CASE("concat and split are inverses", "[layout]") {
  const int64_t outer = 3, inner = 4;
  std::vector<int64_t> sizes = {2, 1, 3};
  std::vector<std::vector<float>> parts;
  for (size_t i = 0; i < sizes.size(); ++i)
    parts.push_back(randomFloats(outer * sizes[i] * inner, 90 + i));
  std::vector<const void *> inputs;
  for (auto &p : parts)
    inputs.push_back(p.data());
  std::vector<float> y(static_cast<size_t>(outer * 6 * inner));
  concat(inputs.data(), sizes.data(), 3, y.data(), outer, inner, sizeof(float));
  for (int64_t o = 0; o < outer; ++o) {
    int64_t a = 0;
    for (size_t i = 0; i < sizes.size(); ++i)
      for (int64_t s = 0; s < sizes[i]; ++s, ++a)
        for (int64_t j = 0; j < inner; ++j)
          REQUIRE(y[(o * 6 + a) * inner + j] ==
                  parts[i][(o * sizes[i] + s) * inner + j]);
  }
  std::vector<std::vector<float>> back;
  std::vector<void *> outputs;
  for (size_t i = 0; i < sizes.size(); ++i)
    back.emplace_back(parts[i].size());
  for (auto &b : back)
    outputs.push_back(b.data());
  split(y.data(), outputs.data(), sizes.data(), 3, outer, inner, sizeof(float));
  for (size_t i = 0; i < sizes.size(); ++i)
    CHECK(back[i] == parts[i]);

  // int64 along the outermost axis.
  std::vector<int64_t> a = {1, 2, 3}, b = {4, 5}, ab(5);
  const void *ins[2] = {a.data(), b.data()};
  int64_t abSizes[2] = {3, 2};
  concat(ins, abSizes, 2, ab.data(), 1, 1, sizeof(int64_t));
  CHECK(ab == std::vector<int64_t>{1, 2, 3, 4, 5});
}

TEST_CASE("slice with positive and negative steps", "[layout]") {
  Shape inShape = {4, 5, 6};
  auto x = randomFloats(count(inShape), 100);
  Shape inStrides = contiguousStrides(inShape);
  struct Case {
    Shape starts, steps, out;
  };
  std::vector<Case> cases = {
      {{1, 0, 0}, {1, 1, 1}, {2, 5, 6}},    // contiguous block
      {{0, 1, 2}, {1, 2, 1}, {4, 2, 3}},    // stepped middle
      {{3, 4, 5}, {-1, -1, -1}, {4, 5, 6}}, // full reversal
      {{3, 0, 5}, {-2, 1, -3}, {2, 5, 2}},  // mixed
      {{0, 4, 0}, {1, -2, 1}, {4, 3, 6}},   // reversed rows, full inner
  };
  for (const Case &c : cases) {
    std::vector<float> y(static_cast<size_t>(count(c.out)));
    slice(x.data(), y.data(), inShape.data(), c.out.data(), c.starts.data(),
          c.steps.data(), 3, sizeof(float));
    for (int64_t i = 0; i < count(c.out); ++i) {
      Shape idx = unravel(i, c.out);
      int64_t src = 0;
      for (size_t d = 0; d < 3; ++d)
        src += (c.starts[d] + idx[d] * c.steps[d]) * inStrides[d];
      REQUIRE(y[i] == x[src]);
    }
  }
}

TEST_CASE("insertBox writes a box and leaves the rest alone", "[layout]") {
  // A literal case: a [1, 2] box at (1, 1) of a [2, 3] array.
  {
    std::vector<int64_t> y = {-1, -1, -1, -1, -1, -1};
    int64_t x[2] = {7, 8};
    int64_t inShape[2] = {1, 2}, outShape[2] = {2, 3}, offsets[2] = {1, 1};
    insertBox(x, y.data(), inShape, outShape, offsets, 2, sizeof(int64_t));
    CHECK(y == std::vector<int64_t>{-1, -1, -1, -1, 7, 8});
  }
  Shape outShape = {4, 5, 6};
  Shape outStrides = contiguousStrides(outShape);
  struct Case {
    Shape offsets, box;
  };
  std::vector<Case> cases = {
      {{1, 0, 0}, {2, 5, 6}}, // whole rows: one contiguous run
      {{0, 1, 2}, {4, 2, 3}}, // cut in every dim
      {{3, 4, 5}, {1, 1, 1}}, // one element
      {{0, 0, 3}, {4, 5, 1}}, // a column (strided inner writes)
      {{2, 0, 0}, {1, 5, 6}}, // a slab
      {{0, 0, 0}, {4, 5, 6}}, // everything
      {{1, 2, 3}, {0, 2, 2}}, // empty
  };
  for (const Case &c : cases) {
    INFO("box at " << c.offsets[0] << ", " << c.offsets[1] << ", "
                   << c.offsets[2]);
    for (size_t elemSize : {size_t(1), size_t(4), size_t(8)}) {
      std::vector<uint8_t> x(static_cast<size_t>(count(c.box)) * elemSize);
      for (size_t i = 0; i < x.size(); ++i)
        x[i] = static_cast<uint8_t>(i * 7 + 1);
      const uint8_t fillByte = 0xee;
      std::vector<uint8_t> y(static_cast<size_t>(count(outShape)) * elemSize,
                             fillByte);
      insertBox(x.data(), y.data(), c.box.data(), outShape.data(),
                c.offsets.data(), 3, elemSize);
      // Round trip: slicing the box back out gives x.
      std::vector<uint8_t> back(x.size());
      Shape steps = {1, 1, 1};
      slice(y.data(), back.data(), outShape.data(), c.box.data(),
            c.offsets.data(), steps.data(), 3, elemSize);
      REQUIRE(back == x);
      // Everything outside the box is untouched.
      int64_t outside = 0;
      for (int64_t i = 0; i < count(outShape); ++i) {
        Shape idx = unravel(i, outShape);
        bool inBox = true;
        for (size_t d = 0; d < 3; ++d)
          inBox &= idx[d] >= c.offsets[d] && idx[d] < c.offsets[d] + c.box[d];
        if (inBox)
          continue;
        ++outside;
        for (size_t b = 0; b < elemSize; ++b)
          REQUIRE(y[dot(idx, outStrides) * elemSize + b] == fillByte);
      }
      CHECK(outside == count(outShape) - count(c.box));
    }
  }
}

TEST_CASE("insertBox of a scalar and of a large box (parallel path)",
          "[layout]") {
  float scalar = 3.5f, target = 0.0f;
  insertBox(&scalar, &target, nullptr, nullptr, nullptr, 0, sizeof(float));
  CHECK(target == 3.5f);

  Shape outShape = {64, 1200}, box = {64, 600}, offsets = {0, 300};
  auto x = randomFloats(count(box), 5);
  std::vector<float> y(static_cast<size_t>(count(outShape)), -1.0f);
  insertBox(x.data(), y.data(), box.data(), outShape.data(), offsets.data(), 2,
            sizeof(float));
  for (int64_t r = 0; r < 64; ++r)
    for (int64_t c = 0; c < 1200; ++c) {
      float want = c >= 300 && c < 900 ? x[r * 600 + c - 300] : -1.0f;
      REQUIRE(y[r * 1200 + c] == want);
    }
}

TEST_CASE("gather with negative indices of both index types", "[layout]") {
  // data [2, 4, 3] gathered along axis 1.
  const int64_t outer = 2, axis = 4, inner = 3;
  auto data = randomFloats(outer * axis * inner, 110);
  std::vector<int64_t> idx64 = {0, -1, 2, -4, 3};
  std::vector<int32_t> idx32(idx64.begin(), idx64.end());
  const int64_t n = static_cast<int64_t>(idx64.size());
  std::vector<float> want(static_cast<size_t>(outer * n * inner));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < n; ++i) {
      int64_t k = idx64[i] < 0 ? idx64[i] + axis : idx64[i];
      for (int64_t j = 0; j < inner; ++j)
        want[(o * n + i) * inner + j] = data[(o * axis + k) * inner + j];
    }
  std::vector<float> y(want.size());
  gather(data.data(), idx64.data(), DType::I64, y.data(), outer, axis, inner, n,
         sizeof(float));
  CHECK(y == want);
  std::fill(y.begin(), y.end(), 0.0f);
  gather(data.data(), idx32.data(), DType::I32, y.data(), outer, axis, inner, n,
         sizeof(float));
  CHECK(y == want);

  // Embedding-style lookup: int64 rows from a table.
  std::vector<int64_t> table = {10, 11, 20, 21, 30, 31};
  std::vector<int64_t> rows = {2, 0, -2}, got(6);
  gather(table.data(), rows.data(), DType::I64, got.data(), 1, 3, 2, 3, 8);
  CHECK(got == std::vector<int64_t>{30, 31, 10, 11, 20, 21});
}

TEST_CASE("gather out of range exits with the documented message", "[layout]") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::fflush(nullptr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    std::vector<float> data(6), y(3);
    std::vector<int64_t> idx = {1, 5};
    gather(data.data(), idx.data(), DType::I64, y.data(), 1, 3, 2, 2, 4);
    _exit(0); // not reached when the kernel rejects the index
  }
  close(fds[1]);
  std::string err;
  char buf[256];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0)
    err.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(err == "error: Gather index 5 out of range [-3, 3)\n");
}

namespace {

template <typename T>
std::vector<T> naivePad(const std::vector<T> &x, const Shape &inShape,
                        const Shape &outShape, const Shape &padsBegin,
                        PadMode mode, T value) {
  Shape inStrides = contiguousStrides(inShape);
  std::vector<T> y(static_cast<size_t>(count(outShape)));
  for (int64_t i = 0; i < count(outShape); ++i) {
    Shape idx = unravel(i, outShape);
    int64_t src = 0;
    bool constant = false;
    for (size_t d = 0; d < idx.size(); ++d) {
      int64_t s = idx[d] - padsBegin[d], n = inShape[d];
      if (s < 0 || s >= n) {
        if (mode == PadMode::Constant)
          constant = true;
        else if (mode == PadMode::Edge)
          s = s < 0 ? 0 : n - 1;
        else
          s = s < 0 ? -s : 2 * (n - 1) - s; // pads < n in these cases
      }
      src += s * inStrides[d];
    }
    y[i] = constant ? value : x[src];
  }
  return y;
}

} // namespace

TEST_CASE("pad in constant, reflect and edge modes, with crops", "[layout]") {
  struct Case {
    Shape in, begin, end;
  };
  std::vector<Case> cases = {
      {{3, 4}, {1, 2}, {2, 1}},
      {{2, 3, 5}, {0, 1, 2}, {1, 1, 3}},
      {{4, 6}, {-1, 2}, {1, -2}}, // crop on one side, pad the other
      {{5}, {3}, {0}},
      {{2, 40, 50}, {1, 3, 4}, {1, 3, 4}}, // parallel rows
  };
  for (const Case &c : cases)
    for (PadMode mode : {PadMode::Constant, PadMode::Reflect, PadMode::Edge}) {
      INFO("rank " << c.in.size() << " mode " << static_cast<int>(mode));
      Shape out(c.in.size());
      for (size_t d = 0; d < out.size(); ++d)
        out[d] = c.in[d] + c.begin[d] + c.end[d];
      auto x = randomFloats(count(c.in), 120);
      std::vector<float> y(static_cast<size_t>(count(out)));
      pad(x.data(), y.data(), c.in.data(), out.data(), c.begin.data(),
          static_cast<int>(out.size()), mode, 2.5, DType::F32);
      CHECK(y == naivePad(x, c.in, out, c.begin, mode, 2.5f));

      auto xi = randomInts(count(c.in), 121, -9, 9);
      std::vector<int64_t> yi(y.size());
      pad(xi.data(), yi.data(), c.in.data(), out.data(), c.begin.data(),
          static_cast<int>(out.size()), mode, -7, DType::I64);
      CHECK(yi == naivePad<int64_t>(xi, c.in, out, c.begin, mode, -7));
    }

  // ONNX Pad examples (reflect and edge on [[1, 1.2], [2.3, 3.4], [4.5, 5.7]]
  // with pads [0, 2, 0, 0]).
  std::vector<float> x = {1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f};
  Shape in = {3, 2}, out = {3, 4}, begin = {0, 2};
  std::vector<float> y(12);
  pad(x.data(), y.data(), in.data(), out.data(), begin.data(), 2,
      PadMode::Reflect, 0, DType::F32);
  CHECK(y == std::vector<float>{1.0f, 1.2f, 1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f,
                                4.5f, 5.7f, 4.5f, 5.7f});
  pad(x.data(), y.data(), in.data(), out.data(), begin.data(), 2, PadMode::Edge,
      0, DType::F32);
  CHECK(y == std::vector<float>{1.0f, 1.0f, 1.0f, 1.2f, 2.3f, 2.3f, 2.3f, 3.4f,
                                4.5f, 4.5f, 4.5f, 5.7f});
}
