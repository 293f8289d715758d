// Tests of .npy reading and writing: round trips for every dtype and rank,
// numpy's own header layout, and rejection of malformed files.
#include "ssrt/npy.h"
#include "test_support.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>

using namespace ssrt;
using namespace ssrt_test;

namespace {

std::string tempPath(const std::string &name) {
  return "/tmp/ssrt-npy-test-" + std::to_string(getpid()) + "-" + name;
}

std::vector<char> fileBytes(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(f), {});
}

void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// A .npy image with a hand-written header (padded like numpy) and payload.
std::string npyImage(const std::string &dict, const std::string &payload,
                     int major = 1) {
  std::string header = dict;
  size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::string s = "\x93NUMPY";
  s += static_cast<char>(major);
  s += '\0';
  size_t len = header.size();
  s += static_cast<char>(len & 0xff);
  s += static_cast<char>((len >> 8) & 0xff);
  if (major != 1) {
    s += '\0';
    s += '\0';
  }
  return s + header + payload;
}

bool parses(const std::string &image, std::string &error) {
  NpyArray a;
  return parseNpy(image.data(), image.size(), a, error);
}

} // namespace

TEST_CASE("npy round trip for every dtype and rank", "[npy]") {
  const DType all[] = {DType::F32,  DType::I64, DType::I32,
                       DType::Bool, DType::U8,  DType::I8};
  // Empty arrays with the zero in any position have no payload at all.
  const std::vector<Shape> shapes = {{},     {5},    {2, 3},   {2, 1, 3, 2},
                                     {0, 3}, {3, 0}, {2, 0, 4}};
  int file = 0;
  for (DType dtype : all)
    for (const Shape &shape : shapes) {
      INFO(dtypeName(dtype) << " rank " << shape.size());
      std::vector<char> data(static_cast<size_t>(count(shape)) *
                             dtypeSize(dtype));
      for (size_t i = 0; i < data.size(); ++i)
        data[i] = dtype == DType::Bool ? char(i % 2) : char(i * 7 + 1);
      std::string path = tempPath(std::to_string(file++) + ".npy");
      std::string error;
      REQUIRE(writeNpy(path, dtype, shape.data(),
                       static_cast<int>(shape.size()), data.data(), error));
      auto bytes = fileBytes(path);
      // numpy aligns the payload to 64 bytes.
      REQUIRE((bytes.size() - data.size()) % 64 == 0);
      NpyArray back;
      REQUIRE(readNpy(path, back, error));
      CHECK(back.dtype == dtype);
      CHECK(back.shape == shape);
      CHECK(back.data == data);
      CHECK(back.numElements() == count(shape));
      std::remove(path.c_str());
    }
}

TEST_CASE("npy images match numpy's bytes", "[npy]") {
  // np.save of these arrays writes a 118-byte header padded with spaces to
  // a 128-byte prefix (file sizes 140, 136 and 134).
  float v[3] = {1, 2, 3};
  int64_t shape[1] = {3};
  std::vector<char> image = encodeNpy(DType::F32, shape, 1, v);
  std::string payload(reinterpret_cast<const char *>(v), 12);
  std::string expected = npyImage(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", payload);
  CHECK(std::string(image.begin(), image.end()) == expected);
  CHECK(image.size() == 140);
  CHECK(image[8] == 118);

  int64_t five = 5;
  std::vector<char> scalar = encodeNpy(DType::I64, nullptr, 0, &five);
  CHECK(std::string(scalar.begin(), scalar.end()) ==
        npyImage("{'descr': '<i8', 'fortran_order': False, 'shape': (), }",
                 std::string(reinterpret_cast<const char *>(&five), 8)));
  CHECK(scalar.size() == 136);

  int64_t shape2[2] = {2, 3};
  std::vector<char> matrix = encodeNpy(DType::Bool, shape2, 2, "\0\0\0\0\0\0");
  CHECK(std::string(matrix.begin(), matrix.end()) ==
        npyImage("{'descr': '|b1', 'fortran_order': False, 'shape': (2, 3), }",
                 std::string(6, '\0')));
  CHECK(matrix.size() == 134);
}

TEST_CASE("npy reader accepts other valid spellings", "[npy]") {
  NpyArray a;
  std::string error;
  // Version 2 header, double quotes, reordered keys, no trailing comma.
  std::string payload(8, '\0');
  payload[0] = 7;
  std::string v2 = npyImage(
      "{\"shape\": (1,), \"fortran_order\": False, \"descr\": \"<i8\"}",
      payload, 2);
  REQUIRE(parseNpy(v2.data(), v2.size(), a, error));
  CHECK(a.dtype == DType::I64);
  CHECK(a.shape == Shape{1});
  CHECK(a.data[0] == 7);
  // '|u1' and '<u1' both mean uint8; a 1-d Fortran flag of False.
  std::string u1 = npyImage(
      "{'descr': '<u1', 'fortran_order': False, 'shape': (2, ), }", "ab");
  REQUIRE(parseNpy(u1.data(), u1.size(), a, error));
  CHECK(a.dtype == DType::U8);
  CHECK(a.shape == Shape{2});
}

TEST_CASE("npy reader rejects malformed files", "[npy]") {
  std::string error;
  const std::string good =
      npyImage("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
               std::string(16, '\1'));
  REQUIRE(parses(good, error));

  SECTION("bad magic") {
    std::string bad = good;
    bad[1] = 'X';
    CHECK_FALSE(parses(bad, error));
    CHECK(error.find("magic") != std::string::npos);
  }
  SECTION("fortran order") {
    std::string f =
        npyImage("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                 std::string(16, '\1'));
    CHECK_FALSE(parses(f, error));
    CHECK(error.find("Fortran") != std::string::npos);
  }
  SECTION("truncated data") {
    CHECK_FALSE(parses(good.substr(0, good.size() - 1), error));
    CHECK(error.find("truncated") != std::string::npos);
  }
  SECTION("trailing bytes") { CHECK_FALSE(parses(good + "x", error)); }
  SECTION("unsupported dtypes") {
    for (const char *descr : {"<f8", ">f4", "<f2", "|O", "<U3", ">i8"}) {
      std::string d = npyImage(std::string("{'descr': '") + descr +
                                   "', 'fortran_order': False, 'shape': (), }",
                               std::string(8, '\0'));
      INFO(descr);
      CHECK_FALSE(parses(d, error));
    }
  }
  SECTION("garbage headers") {
    for (const char *dict :
         {"", "{", "{'descr': '<f4'", "[1, 2]",
          "{'descr': '<f4', 'fortran_order': False}",
          "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1), }",
          "{'descr': '<f4', 'fortran_order': False, 'shape': (2 2), }",
          "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (), }",
          "{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}",
          "{'descr': '<f4', 'fortran_order': False, 'shape': "
          "(99999999999999999999,), }",
          "{'descr': '<f4', 'fortran_order': False, 'shape': "
          "(4294967296, 4294967296, 4294967296), }"}) {
      INFO(dict);
      CHECK_FALSE(parses(npyImage(dict, std::string(16, '\0')), error));
    }
  }
  SECTION("every truncation of a valid file fails cleanly") {
    for (size_t n = 0; n < good.size(); ++n)
      CHECK_FALSE(parses(good.substr(0, n), error));
  }
  SECTION("unsupported version") {
    std::string v = good;
    v[6] = 9;
    CHECK_FALSE(parses(v, error));
    CHECK(error.find("version") != std::string::npos);
  }
}

TEST_CASE("npy file errors name the file", "[npy]") {
  NpyArray a;
  std::string error;
  CHECK_FALSE(readNpy("/nonexistent/dir/x.npy", a, error));
  CHECK(error.find("/nonexistent/dir/x.npy") != std::string::npos);
  CHECK_FALSE(readNpy("/tmp", a, error));
  std::string path = tempPath("garbage.npy");
  writeBytes(path, "this is not an array");
  CHECK_FALSE(readNpy(path, a, error));
  CHECK(error.find(path) != std::string::npos);
  std::remove(path.c_str());
  float v = 1;
  CHECK_FALSE(
      writeNpy("/nonexistent/dir/y.npy", DType::F32, nullptr, 0, &v, error));
  CHECK(error.find("/nonexistent/dir/y.npy") != std::string::npos);
}

TEST_CASE("npy box reads match slices of the whole array", "[npy]") {
  Shape shape = {3, 4, 5};
  std::vector<int32_t> values(static_cast<size_t>(count(shape)));
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<int32_t>(i);
  std::string path = tempPath("box.npy");
  std::string error;
  REQUIRE(writeNpy(path, DType::I32, shape.data(), 3, values.data(), error));

  NpyHeader header;
  REQUIRE(readNpyHeader(path, header, error));
  CHECK(header.dtype == DType::I32);
  CHECK(header.shape == shape);
  CHECK(header.dataOffset % 64 == 0);

  struct Case {
    Shape offsets, box;
  };
  std::vector<Case> cases = {
      {{0, 0, 0}, {3, 4, 5}}, // whole: one run
      {{1, 0, 0}, {2, 4, 5}}, // outer cut: one run
      {{0, 1, 0}, {3, 2, 5}}, // middle cut: a run per outer index
      {{0, 0, 2}, {3, 4, 2}}, // inner cut: a run per row
      {{2, 3, 4}, {1, 1, 1}}, // one element
      {{1, 1, 1}, {2, 3, 0}}, // empty
  };
  Shape strides = contiguousStrides(shape);
  for (const Case &c : cases) {
    INFO("box at " << c.offsets[0] << ", " << c.offsets[1] << ", "
                   << c.offsets[2]);
    std::vector<int32_t> box(static_cast<size_t>(count(c.box)), -1);
    REQUIRE(readNpyBox(path, header, c.offsets.data(), c.box.data(), box.data(),
                       error));
    for (int64_t i = 0; i < count(c.box); ++i) {
      Shape idx = unravel(i, c.box);
      for (size_t d = 0; d < 3; ++d)
        idx[d] += c.offsets[d];
      REQUIRE(box[i] == values[dot(idx, strides)]);
    }
  }

  Shape offsets = {2, 0, 0}, tooBig = {2, 4, 5};
  std::vector<int32_t> box(40);
  CHECK_FALSE(readNpyBox(path, header, offsets.data(), tooBig.data(),
                         box.data(), error));
  CHECK(error == path + ": box [2, 4, 5] at offsets [2, 0, 0] is outside the "
                        "array's shape [3, 4, 5]");
  std::remove(path.c_str());
}

TEST_CASE("npy header reads reject what the whole-file reader rejects",
          "[npy]") {
  std::string error;
  NpyHeader header;
  CHECK_FALSE(readNpyHeader("/nonexistent/dir/x.npy", header, error));
  CHECK(error ==
        "cannot read /nonexistent/dir/x.npy: No such file or directory");

  // A 0-d array, a version 2 header, and a truncated copy of each.
  float scalar = 2.5f;
  std::vector<char> image = encodeNpy(DType::F32, nullptr, 0, &scalar);
  std::string path = tempPath("header.npy");
  writeBytes(path, std::string(image.begin(), image.end()));
  REQUIRE(readNpyHeader(path, header, error));
  CHECK(header.shape.empty());
  float read = 0;
  REQUIRE(readNpyBox(path, header, nullptr, nullptr, &read, error));
  CHECK(read == 2.5f);

  writeBytes(path, std::string(image.begin(), image.end() - 1));
  CHECK_FALSE(readNpyHeader(path, header, error));
  CHECK(error == path + ": truncated .npy data (3 bytes after the header)");

  std::string v2 =
      npyImage("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
               std::string(16, '\0'), 2);
  writeBytes(path, v2);
  REQUIRE(readNpyHeader(path, header, error));
  CHECK(header.dtype == DType::I64);
  CHECK(header.shape == Shape{2});
  CHECK(header.dataOffset == v2.size() - 16);

  for (size_t cut : {size_t(4), size_t(11), size_t(40)}) {
    writeBytes(path, v2.substr(0, cut));
    CHECK_FALSE(readNpyHeader(path, header, error));
    INFO(error);
    CHECK((error.find("truncated .npy header") != std::string::npos ||
           error.find("bad magic") != std::string::npos));
  }
  writeBytes(path, v2 + "xx");
  CHECK_FALSE(readNpyHeader(path, header, error));
  CHECK(error == path + ": unexpected 2 trailing bytes after the .npy data");
  std::remove(path.c_str());
}
