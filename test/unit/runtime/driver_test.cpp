// Tests of the rank-program driver (command line, weights and input checks,
// outputs, timing line) on a tiny hand-written program, and of fnv1a64.
#include "ssrt/npy.h"
#include "ssrt/ssrt.h"
#include "ssrt/weights.h"
#include "test_support.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

using namespace ssrt;
using namespace ssrt_test;
namespace fs = std::filesystem;

TEST_CASE("fnv1a64 known vectors", "[weights]") {
  CHECK(fnv1a64("", 0) == 0xcbf29ce484222325ull);
  CHECK(fnv1a64("a", 1) == 0xaf63dc4c8601ec8cull);
  CHECK(fnv1a64("foobar", 6) == 0x85944171f73967e8ull);
  // Continuing a checksum over pieces equals one pass.
  CHECK(fnv1a64("bar", 3, fnv1a64("foo", 3)) == fnv1a64("foobar", 6));
}

namespace {

// The fake program: y = x * w[0] + ids[0]; "out/sum:0" = ids[0] + ids[1].
// It then scribbles over its inputs, as a planner reusing dead buffers may.
int stepCount = 0;

void fakeStep(char *arena, char *weights, const StepContext &context) {
  ++stepCount;
  REQUIRE(context.worldRank == 0);
  REQUIRE(context.rank->worldRank == 0);
  const float *x = reinterpret_cast<const float *>(arena);
  const int64_t *ids = reinterpret_cast<const int64_t *>(arena + 64);
  float *y = reinterpret_cast<float *>(arena + 128);
  int64_t *sum = reinterpret_cast<int64_t *>(arena + 256);
  const float w0 = weights ? reinterpret_cast<const float *>(weights)[0] : 1;
  for (int i = 0; i < 6; ++i)
    y[i] = x[i] * w0 + static_cast<float>(ids[0]);
  *sum = ids[0] + ids[1];
  std::memset(arena, 0xff, 80);
}

const TensorSpec kInputs[] = {
    {"x", DType::F32, 2, {2, 3}, 0, {2, 3}},
    {"ids", DType::I64, 1, {2}, 64, {2}},
};
const TensorSpec kOutputs[] = {
    {"y", DType::F32, 2, {2, 3}, 128, {2, 3}},
    {"out/sum:0", DType::I64, 0, {}, 256, {}},
};

const std::vector<float> kWeights = {2.0f, 0.0f, 0.0f, 0.0f};

// One group of one member, which a single-rank program may still name.
const int kSelf[] = {0};
const GroupSpec kGroups[] = {{1, kSelf}};

// A single-rank program holds every input whole (no box offsets).
RankSpec kRanks[] = {{0, 0, nullptr, nullptr, nullptr}};

ProgramSpec makeSpec(const char *weightsFilePattern) {
  kRanks[0].weightsChecksum =
      fnv1a64(kWeights.data(), kWeights.size() * sizeof(float));
  ProgramSpec spec{};
  spec.modelName = "fake";
  spec.planFingerprint = "0123abcd";
  spec.worldSize = 1;
  spec.arenaBytes = 320;
  spec.weightsBytes = static_cast<int64_t>(kWeights.size() * sizeof(float));
  spec.weightsFilePattern = weightsFilePattern;
  spec.numInputs = 2;
  spec.inputs = kInputs;
  spec.numOutputs = 2;
  spec.outputs = kOutputs;
  spec.numGroups = 1;
  spec.groups = kGroups;
  spec.numRanks = 1;
  spec.ranks = kRanks;
  spec.step = fakeStep;
  return spec;
}

struct Result {
  int rc;
  std::string out, err;
};

std::string readAll(std::FILE *f) {
  std::string s;
  std::rewind(f);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    s.append(buf, n);
  return s;
}

/// Runs the driver in-process with stdout and stderr captured.
Result runDriver(const std::vector<std::string> &args,
                 const ProgramSpec &spec) {
  std::vector<std::string> storage = {"fake-program"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char *> argv;
  for (auto &s : storage)
    argv.push_back(s.data());
  argv.push_back(nullptr);

  std::fflush(stdout);
  std::fflush(stderr);
  int savedOut = dup(1), savedErr = dup(2);
  std::FILE *outFile = std::tmpfile(), *errFile = std::tmpfile();
  dup2(fileno(outFile), 1);
  dup2(fileno(errFile), 2);
  int rc = runProgram(static_cast<int>(storage.size()), argv.data(), spec);
  std::fflush(stdout);
  std::fflush(stderr);
  dup2(savedOut, 1);
  dup2(savedErr, 2);
  close(savedOut);
  close(savedErr);
  Result r{rc, readAll(outFile), readAll(errFile)};
  std::fclose(outFile);
  std::fclose(errFile);
  return r;
}

/// A scratch directory with the weights and input files of the fake program.
struct Workspace {
  fs::path dir;
  std::string weights, x, ids;

  Workspace() {
    dir = fs::temp_directory_path() /
          ("ssrt-driver-test-" + std::to_string(getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    weights = (dir / "model.weights").string();
    writeFile(weights, kWeights.data(), kWeights.size() * sizeof(float));
    std::string error;
    float xv[6] = {1, 2, 3, 4, 5, 6};
    int64_t xs[2] = {2, 3};
    x = (dir / "x.npy").string();
    REQUIRE(writeNpy(x, DType::F32, xs, 2, xv, error));
    int64_t idv[2] = {10, 32};
    int64_t is[1] = {2};
    ids = (dir / "ids.npy").string();
    REQUIRE(writeNpy(ids, DType::I64, is, 1, idv, error));
  }
  ~Workspace() { fs::remove_all(dir); }

  static void writeFile(const std::string &path, const void *data, size_t n) {
    std::ofstream f(path, std::ios::binary);
    f.write(static_cast<const char *>(data), static_cast<std::streamsize>(n));
  }
  std::string path(const std::string &name) const {
    return (dir / name).string();
  }
  std::vector<std::string> inputArgs() const {
    return {"--input", "x=" + x, "--input", "ids=" + ids};
  }
};

std::vector<std::string> operator+(std::vector<std::string> a,
                                   const std::vector<std::string> &b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

void checkOutputs(const std::string &dir) {
  NpyArray y, sum;
  std::string error;
  REQUIRE(readNpy(dir + "/y.npy", y, error));
  CHECK(y.dtype == DType::F32);
  CHECK(y.shape == Shape{2, 3});
  std::vector<float> values(6);
  std::memcpy(values.data(), y.data.data(), 24);
  CHECK(values == std::vector<float>{12, 14, 16, 18, 20, 22});
  // "out/sum:0" -> "out_sum_0.npy", a 0-d int64.
  REQUIRE(readNpy(dir + "/out_sum_0.npy", sum, error));
  CHECK(sum.dtype == DType::I64);
  CHECK(sum.shape.empty());
  int64_t s;
  std::memcpy(&s, sum.data.data(), 8);
  CHECK(s == 42);
}

} // namespace

TEST_CASE("driver runs a program and writes its outputs", "[driver]") {
  Workspace ws;
  ProgramSpec spec = makeSpec("model.weights");
  std::string outDir = ws.path("out/nested");
  stepCount = 0;
  Result r = runDriver(std::vector<std::string>{"--weights", ws.weights,
                                                "--output-dir", outDir} +
                           ws.inputArgs(),
                       spec);
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(r.out.empty());
  CHECK(r.err.empty());
  CHECK(stepCount == 1);
  checkOutputs(outDir);
}

TEST_CASE("driver timing, warmup and threads", "[driver]") {
  Workspace ws;
  ProgramSpec spec = makeSpec("model.weights");
  stepCount = 0;
  Result r = runDriver(std::vector<std::string>{"--weights=" + ws.weights,
                                                "--output-dir", ws.path("o"),
                                                "--warmup", "2", "--iterations",
                                                "3", "--threads", "2"} +
                           ws.inputArgs(),
                       spec);
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(stepCount == 5);
  std::regex line("latency_ms median [0-9.]+ min [0-9.]+ max [0-9.]+ "
                  "iterations 3\n");
  CHECK(std::regex_match(r.out, line));
  // Inputs are re-placed before every step even though the step clobbers
  // them.
  checkOutputs(ws.path("o"));
}

TEST_CASE("driver --print-arena and --help", "[driver]") {
  Workspace ws;
  ProgramSpec spec = makeSpec("model.weights");
  stepCount = 0;
  Result r = runDriver({"--print-arena"}, spec);
  CHECK(r.rc == 0);
  CHECK(r.out == "arena_bytes 320\n");
  CHECK(stepCount == 0);

  r = runDriver(std::vector<std::string>{"--print-arena", "--weights",
                                         ws.weights, "--output-dir",
                                         ws.path("o")} +
                    ws.inputArgs(),
                spec);
  CHECK(r.rc == 0);
  CHECK(r.out == "arena_bytes 320\n");
  CHECK(stepCount == 1);

  r = runDriver({"--help"}, spec);
  CHECK(r.rc == 0);
  CHECK(r.out.find("usage:") != std::string::npos);
  CHECK(r.out.find("input  x: [2, 3] float32") != std::string::npos);
}

TEST_CASE("driver finds weights next to the executable or one level up",
          "[driver]") {
  Workspace ws;
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  REQUIRE(n > 0);
  exe[n] = '\0';
  fs::path exeDir = fs::path(exe).parent_path();
  // The pattern's %d is the world rank, 0 here.
  std::string pattern =
      "ssrt-driver-test-" + std::to_string(getpid()) + "-rank%d.weights";
  std::string name =
      "ssrt-driver-test-" + std::to_string(getpid()) + "-rank0.weights";
  ProgramSpec spec = makeSpec(pattern.c_str());
  std::vector<std::string> args =
      std::vector<std::string>{"--output-dir", ws.path("o")} + ws.inputArgs();

  Result missing = runDriver(args, spec);
  CHECK(missing.rc == 1);
  CHECK(missing.err.find("weights file \"" + name + "\" not found") !=
        std::string::npos);

  for (fs::path dir : {exeDir, exeDir.parent_path()}) {
    fs::path file = dir / name;
    Workspace::writeFile(file.string(), kWeights.data(),
                         kWeights.size() * sizeof(float));
    Result r = runDriver(args, spec);
    fs::remove(file);
    INFO(dir.string() << ": " << r.err);
    CHECK(r.rc == 0);
  }
}

TEST_CASE("driver replaces %d in --weights by the world rank", "[driver]") {
  Workspace ws;
  ProgramSpec spec = makeSpec("model.weights");
  std::string pattern = ws.path("model%d.weights");
  Workspace::writeFile(ws.path("model0.weights"), kWeights.data(),
                       kWeights.size() * sizeof(float));
  Result r = runDriver(std::vector<std::string>{"--weights", pattern,
                                                "--output-dir", ws.path("o")} +
                           ws.inputArgs(),
                       spec);
  INFO(r.err);
  CHECK(r.rc == 0);
}

namespace {

// A program holding a box of its input: the last two columns of row 1 of a
// [3, 4] input "m", and nothing of "unused" (negative arena offset), which
// must still be given and valid.
std::vector<float> boxSeen;

void boxStep(char *arena, char *, const StepContext &) {
  const float *box = reinterpret_cast<const float *>(arena);
  boxSeen.assign(box, box + 2);
}

const TensorSpec kBoxInputs[] = {
    {"m", DType::F32, 2, {1, 2}, 0, {3, 4}},
    {"unused", DType::I64, 1, {2}, -1, {2}},
};
const int64_t kBoxOffsets[2 * kMaxRank] = {1, 2};
const RankSpec kBoxRanks[] = {{0, 0, kBoxOffsets, nullptr, nullptr}};

ProgramSpec makeBoxSpec() {
  ProgramSpec spec{};
  spec.modelName = "box";
  spec.planFingerprint = "b0";
  spec.worldSize = 1;
  spec.arenaBytes = 64;
  spec.weightsFilePattern = "none";
  spec.numInputs = 2;
  spec.inputs = kBoxInputs;
  spec.numRanks = 1;
  spec.ranks = kBoxRanks;
  spec.step = boxStep;
  return spec;
}

} // namespace

TEST_CASE("driver reads only the rank's box of a full input", "[driver]") {
  Workspace ws;
  std::string error;
  float m[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  int64_t ms[2] = {3, 4};
  std::string mPath = ws.path("m.npy");
  REQUIRE(writeNpy(mPath, DType::F32, ms, 2, m, error));
  ProgramSpec spec = makeBoxSpec();
  boxSeen.clear();
  Result r =
      runDriver({"--input", "m=" + mPath, "--input", "unused=" + ws.ids}, spec);
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(boxSeen == std::vector<float>{6, 7});

  // The full shape is what the file must have; inputs the rank does not
  // read are still required and checked.
  r = runDriver({"--input", "m=" + mPath}, spec);
  CHECK(r.rc == 1);
  CHECK(r.err == "error: input \"unused\" (shape [2] int64) not given; "
                 "pass --input unused=FILE.npy\n");
  r = runDriver({"--input", "m=" + ws.x, "--input", "unused=" + ws.ids}, spec);
  CHECK(r.rc == 1);
  CHECK(r.err == "error: input \"m\": expected shape [3, 4] float32, got "
                 "[2, 3] float32 from " +
                     ws.x + "\n");
  r = runDriver({"--input", "m=" + mPath, "--input", "unused=" + ws.x}, spec);
  CHECK(r.rc == 1);
  CHECK(r.err.find("input \"unused\": expected shape [2] int64") !=
        std::string::npos);
}

TEST_CASE("driver without weights needs no file", "[driver]") {
  Workspace ws;
  ProgramSpec spec = makeSpec("absent.weights");
  spec.weightsBytes = 0;
  kRanks[0].weightsChecksum = fnv1a64(nullptr, 0);
  Result r = runDriver(std::vector<std::string>{"--output-dir", ws.path("o")} +
                           ws.inputArgs(),
                       spec);
  INFO(r.err);
  CHECK(r.rc == 0);
}

TEST_CASE("driver reports every bad invocation on one line", "[driver]") {
  Workspace ws;
  ProgramSpec spec = makeSpec("model.weights");
  const std::vector<std::string> base = {"--weights", ws.weights,
                                         "--output-dir", ws.path("o")};
  auto expectError = [&](const std::vector<std::string> &args,
                         const std::string &message) {
    Result r = runDriver(args, spec);
    INFO("args end with " << (args.empty() ? "" : args.back()));
    CHECK(r.rc == 1);
    CHECK(r.err == "error: " + message + "\n");
  };

  float x24[8] = {};
  int64_t s24[2] = {2, 4};
  std::string error;
  std::string wrongShape = ws.path("x24.npy");
  REQUIRE(writeNpy(wrongShape, DType::F32, s24, 2, x24, error));
  int64_t xi[6] = {};
  int64_t s23[2] = {2, 3};
  std::string wrongType = ws.path("xi.npy");
  REQUIRE(writeNpy(wrongType, DType::I64, s23, 2, xi, error));

  expectError(base + std::vector<std::string>{"--input", "x=" + wrongShape,
                                              "--input", "ids=" + ws.ids},
              "input \"x\": expected shape [2, 3] float32, got [2, 4] "
              "float32 from " +
                  wrongShape);
  expectError(base + std::vector<std::string>{"--input", "x=" + wrongType,
                                              "--input", "ids=" + ws.ids},
              "input \"x\": expected shape [2, 3] float32, got [2, 3] int64 "
              "from " +
                  wrongType);
  expectError(base + std::vector<std::string>{"--input", "x=" + ws.x},
              "input \"ids\" (shape [2] int64) not given; pass --input "
              "ids=FILE.npy");
  expectError(base + ws.inputArgs() +
                  std::vector<std::string>{"--input", "x=" + ws.x},
              "input \"x\" given more than once");
  expectError(base + ws.inputArgs() +
                  std::vector<std::string>{"--input", "z=" + ws.x},
              "unknown input \"z\"; the model's inputs are: \"x\", \"ids\"");
  expectError(base + std::vector<std::string>{"--input", "x=/nonexistent.npy",
                                              "--input", "ids=" + ws.ids},
              "input \"x\": cannot read /nonexistent.npy: No such file or "
              "directory");
  expectError(base + std::vector<std::string>{"--input", "x"},
              "--input expects NAME=FILE.npy, got \"x\"");
  expectError(base + std::vector<std::string>{"--bogus"},
              "unknown argument \"--bogus\" (see --help)");
  expectError(base + std::vector<std::string>{"--threads", "0"},
              "--threads expects a positive integer, got \"0\"");
  expectError(base + std::vector<std::string>{"--iterations", "two"},
              "--iterations expects a positive integer, got \"two\"");
  expectError(base + std::vector<std::string>{"--warmup"},
              "option --warmup needs a value");

  // Weights: wrong size, wrong content, missing.
  std::string shortWeights = ws.path("short.weights");
  Workspace::writeFile(shortWeights, kWeights.data(), 12);
  expectError(std::vector<std::string>{"--weights", shortWeights,
                                       "--output-dir", ws.path("o")} +
                  ws.inputArgs(),
              "weights file \"" + shortWeights +
                  "\": expected 16 bytes, got 12");
  std::string badWeights = ws.path("bad.weights");
  std::vector<float> other = {3, 0, 0, 0};
  Workspace::writeFile(badWeights, other.data(), 16);
  Result r = runDriver(std::vector<std::string>{"--weights", badWeights,
                                                "--output-dir", ws.path("o")} +
                           ws.inputArgs(),
                       spec);
  CHECK(r.rc == 1);
  CHECK(r.err.rfind("error: weights file \"" + badWeights +
                        "\": checksum mismatch (expected 0x",
                    0) == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  expectError(std::vector<std::string>{"--weights", ws.path("none"),
                                       "--output-dir", ws.path("o")} +
                  ws.inputArgs(),
              "cannot read weights file \"" + ws.path("none") +
                  "\": No such file or directory");

  // An output directory that cannot be created.
  Workspace::writeFile(ws.path("plainfile"), "x", 1);
  r = runDriver(std::vector<std::string>{"--weights", ws.weights,
                                         "--output-dir",
                                         ws.path("plainfile/sub")} +
                    ws.inputArgs(),
                spec);
  CHECK(r.rc == 1);
  CHECK(r.err.rfind("error: cannot create output directory", 0) == 0);
}
