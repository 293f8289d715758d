// The main() of every rank program: command line, the distributed world,
// weights and input checks, the arena, timed steps and .npy outputs.
#include "comm/world.h"
#include "ssrt/npy.h"
#include "ssrt/ssrt.h"
#include "ssrt/weights.h"

#include <cblas.h>
#include <omp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ssrt {

namespace {

constexpr size_t kArenaAlignment = 64;

struct Options {
  std::string weightsPath; // empty: look next to the executable
  std::vector<std::pair<std::string, std::string>> inputs; // name, file
  std::string outputDir = ".";
  int threads = 1;
  int warmup = 0;
  int iterations = 1;
  bool printArena = false;
  bool help = false;
};

/// A zero-filled, 64-byte aligned block (arena, weights): kernels may use
/// aligned vector loads on tensors the planner placed on 64-byte offsets.
struct AlignedBlock {
  struct Free {
    void operator()(char *p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> memory;
  size_t size = 0;

  bool allocate(size_t bytes) {
    size_t rounded = (std::max<size_t>(bytes, 1) + kArenaAlignment - 1) /
                     kArenaAlignment * kArenaAlignment;
    memory.reset(
        static_cast<char *>(std::aligned_alloc(kArenaAlignment, rounded)));
    if (!memory)
      return false;
    std::memset(memory.get(), 0, rounded);
    size = bytes;
    return true;
  }
};

/// Reports an error; once a distributed run has started, it ends the whole
/// job so that no other rank waits on this one.
int fail(const std::string &message) {
  if (comm::worldActive())
    comm::abortJob(message);
  std::fflush(stdout);
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 1;
}

std::string inQuotes(const std::string &s) { return "\"" + s + "\""; }

std::string shapeText(const int64_t *shape, int rank) {
  std::string s = "[";
  for (int d = 0; d < rank; ++d) {
    if (d > 0)
      s += ", ";
    s += std::to_string(shape[d]);
  }
  return s + "]";
}

std::string typeText(const int64_t *shape, int rank, DType dtype) {
  return shapeText(shape, rank) + " " + dtypeName(dtype);
}

int64_t numElements(const TensorSpec &t) {
  int64_t n = 1;
  for (int d = 0; d < t.rank; ++d)
    n *= t.shape[d];
  return n;
}

std::string fullTypeText(const TensorSpec &t) {
  return typeText(t.fullShape, t.rank, t.dtype);
}

/// The pattern's every "%d" replaced by the world rank (never a printf
/// format: the text may come from the command line).
std::string withRank(const std::string &pattern, int worldRank) {
  std::string s;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern.compare(i, 2, "%d") == 0) {
      s += std::to_string(worldRank);
      ++i;
    } else {
      s += pattern[i];
    }
  }
  return s;
}

int64_t byteSize(const TensorSpec &t) {
  return numElements(t) * static_cast<int64_t>(dtypeSize(t.dtype));
}

bool parseCount(const std::string &text, long long minimum, int &out) {
  if (text.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < minimum || v > INT_MAX)
    return false;
  out = static_cast<int>(v);
  return true;
}

const char *kUsage =
    "usage: %s [--weights FILE] [--input NAME=FILE.npy]... "
    "[--output-dir DIR]\n"
    "          [--threads N] [--warmup N] [--iterations N] [--print-arena] "
    "[--help]\n"
    "\n"
    "  --weights FILE       weights file, %%d standing for the world rank\n"
    "                       (default: %s next to the program,\n"
    "                       then in its parent directory)\n"
    "  --input NAME=FILE    a whole model input as .npy; every input exactly\n"
    "                       once, the same on every rank\n"
    "  --output-dir DIR     where NAME.npy outputs go (default: .)\n"
    "  --threads N          worker threads (default: 1)\n"
    "  --warmup N           untimed steps before the timed ones (default: 0)\n"
    "  --iterations N       timed steps; above 1, latency is printed "
    "(default: 1)\n"
    "  --print-arena        print the arena size; with no --input, only "
    "that\n";

void printHelp(const char *program, const ProgramSpec &spec) {
  std::printf(kUsage, program,
              spec.weightsFilePattern ? spec.weightsFilePattern : "");
  std::string ranks;
  for (int i = 0; i < spec.numRanks; ++i)
    ranks += (i ? ", " : "") + std::to_string(spec.ranks[i].worldRank);
  std::printf("\nmodel %s, rank%s %s of %d, plan %s\n",
              spec.modelName ? spec.modelName : "?",
              spec.numRanks == 1 ? "" : "s", ranks.c_str(), spec.worldSize,
              spec.planFingerprint ? spec.planFingerprint : "?");
  if (spec.worldSize > 1)
    std::printf("run under mpirun with %d processes in all\n", spec.worldSize);
  for (int i = 0; i < spec.numInputs; ++i) {
    const TensorSpec &t = spec.inputs[i];
    std::printf("  input  %s: %s\n", t.name, fullTypeText(t).c_str());
  }
  for (int i = 0; i < spec.numOutputs; ++i) {
    const TensorSpec &t = spec.outputs[i];
    std::printf("  output %s: %s\n", t.name,
                typeText(t.shape, t.rank, t.dtype).c_str());
  }
}

/// Splits NAME=FILE. ONNX names and paths may both contain '=', so the split
/// prefers the first '=' whose left side names a model input.
std::pair<std::string, std::string> splitInputArg(const std::string &arg,
                                                  const ProgramSpec &spec) {
  for (size_t eq = arg.find('='); eq != std::string::npos;
       eq = arg.find('=', eq + 1)) {
    std::string name = arg.substr(0, eq);
    for (int i = 0; i < spec.numInputs; ++i)
      if (name == spec.inputs[i].name)
        return {name, arg.substr(eq + 1)};
  }
  size_t eq = arg.find('=');
  return {arg.substr(0, eq), arg.substr(eq + 1)};
}

bool parseArgs(int argc, char **argv, const ProgramSpec &spec, Options &opt,
               std::string &error) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool hasInlineValue = false;
    if (arg.rfind("--", 0) == 0) {
      size_t eq = arg.find('=');
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        hasInlineValue = true;
      }
    }
    auto takeValue = [&]() -> bool {
      if (hasInlineValue)
        return true;
      if (i + 1 >= argc) {
        error = "option " + arg + " needs a value";
        return false;
      }
      value = argv[++i];
      return true;
    };
    auto noValue = [&]() -> bool {
      if (hasInlineValue) {
        error = "option " + arg + " takes no value";
        return false;
      }
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      if (!noValue())
        return false;
      opt.help = true;
    } else if (arg == "--print-arena") {
      if (!noValue())
        return false;
      opt.printArena = true;
    } else if (arg == "--weights") {
      if (!takeValue())
        return false;
      if (value.empty()) {
        error = "--weights needs a file name";
        return false;
      }
      opt.weightsPath = value;
    } else if (arg == "--output-dir") {
      if (!takeValue())
        return false;
      if (value.empty()) {
        error = "--output-dir needs a directory name";
        return false;
      }
      opt.outputDir = value;
    } else if (arg == "--input") {
      if (!takeValue())
        return false;
      if (value.find('=') == std::string::npos) {
        error = "--input expects NAME=FILE.npy, got " + inQuotes(value);
        return false;
      }
      opt.inputs.push_back(splitInputArg(value, spec));
    } else if (arg == "--threads") {
      if (!takeValue())
        return false;
      if (!parseCount(value, 1, opt.threads)) {
        error = "--threads expects a positive integer, got " + inQuotes(value);
        return false;
      }
    } else if (arg == "--warmup") {
      if (!takeValue())
        return false;
      if (!parseCount(value, 0, opt.warmup)) {
        error =
            "--warmup expects a non-negative integer, got " + inQuotes(value);
        return false;
      }
    } else if (arg == "--iterations") {
      if (!takeValue())
        return false;
      if (!parseCount(value, 1, opt.iterations)) {
        error =
            "--iterations expects a positive integer, got " + inQuotes(value);
        return false;
      }
    } else {
      error = "unknown argument " + inQuotes(argv[i]) + " (see --help)";
      return false;
    }
  }
  return true;
}

std::string executableDir(const char *argv0) {
  char buffer[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  std::string path;
  if (n > 0) {
    path.assign(buffer, static_cast<size_t>(n));
  } else if (argv0) {
    path = argv0;
  }
  size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  if (slash == 0)
    return "/";
  return path.substr(0, slash);
}

bool isRegularFile(const std::string &path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

bool loadWeights(const std::string &explicitPath, const char *argv0,
                 const ProgramSpec &spec, const RankSpec &self,
                 AlignedBlock &weights, std::string &error) {
  std::string path = withRank(explicitPath, self.worldRank);
  const std::string file = withRank(
      spec.weightsFilePattern ? spec.weightsFilePattern : "", self.worldRank);
  if (path.empty()) {
    std::string dir = executableDir(argv0);
    std::string beside = dir + "/" + file, parent = dir + "/../" + file;
    if (isRegularFile(beside))
      path = beside;
    else if (isRegularFile(parent))
      path = parent;
    else {
      error = "weights file " + inQuotes(file) + " not found (looked for " +
              inQuotes(beside) + " and " + inQuotes(parent) +
              "); pass --weights FILE";
      return false;
    }
  }
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    error = "cannot read weights file " + inQuotes(path) + ": " +
            std::strerror(errno);
    return false;
  }
  if (!S_ISREG(info.st_mode)) {
    error = "weights file " + inQuotes(path) + " is not a regular file";
    return false;
  }
  if (static_cast<int64_t>(info.st_size) != spec.weightsBytes) {
    error = "weights file " + inQuotes(path) + ": expected " +
            std::to_string(spec.weightsBytes) + " bytes, got " +
            std::to_string(static_cast<long long>(info.st_size));
    return false;
  }
  if (!weights.allocate(static_cast<size_t>(spec.weightsBytes))) {
    error = "cannot allocate " + std::to_string(spec.weightsBytes) +
            " bytes for weights";
    return false;
  }
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = "cannot read weights file " + inQuotes(path) + ": " +
            std::strerror(errno);
    return false;
  }
  size_t got = std::fread(weights.memory.get(), 1, weights.size, f);
  std::fclose(f);
  if (got != weights.size) {
    error = "weights file " + inQuotes(path) + ": expected " +
            std::to_string(spec.weightsBytes) + " bytes, read " +
            std::to_string(got);
    return false;
  }
  uint64_t checksum = fnv1a64(weights.memory.get(), weights.size);
  if (checksum != self.weightsChecksum) {
    char text[128];
    std::snprintf(text, sizeof(text),
                  ": checksum mismatch (expected 0x%016llx, got 0x%016llx)",
                  static_cast<unsigned long long>(self.weightsChecksum),
                  static_cast<unsigned long long>(checksum));
    error = "weights file " + inQuotes(path) + text +
            "; was it produced with this program?";
    return false;
  }
  return true;
}

/// Whether this program reads input `t` at all: a rank may hold an empty
/// box of an input, or none (negative arena offset), and still checks it.
bool readsInput(const TensorSpec &t) {
  return t.arenaOffset >= 0 && numElements(t) > 0;
}

/// Reads and checks every --input against the spec; `boxes[i]` receives this
/// rank's box of spec.inputs[i]. Every file is checked whole (header, size),
/// but only the box's bytes are read.
bool loadInputs(const Options &opt, const ProgramSpec &spec,
                const RankSpec &self, std::vector<std::vector<char>> &boxes,
                std::string &error) {
  boxes.assign(static_cast<size_t>(spec.numInputs), std::vector<char>());
  std::vector<bool> given(static_cast<size_t>(spec.numInputs), false);
  for (const auto &[name, file] : opt.inputs) {
    int index = -1;
    for (int i = 0; i < spec.numInputs; ++i)
      if (name == spec.inputs[i].name)
        index = i;
    if (index < 0) {
      std::string known;
      for (int i = 0; i < spec.numInputs; ++i)
        known += (i ? ", " : "") + inQuotes(spec.inputs[i].name);
      error = "unknown input " + inQuotes(name) + "; the model's inputs are: " +
              (known.empty() ? std::string("(none)") : known);
      return false;
    }
    if (given[index]) {
      error = "input " + inQuotes(name) + " given more than once";
      return false;
    }
    given[index] = true;
    const TensorSpec &t = spec.inputs[index];
    NpyHeader header;
    std::string readError;
    if (!readNpyHeader(file, header, readError)) {
      error = "input " + inQuotes(name) + ": " + readError;
      return false;
    }
    bool sameShape =
        static_cast<int>(header.shape.size()) == t.rank &&
        std::equal(header.shape.begin(), header.shape.end(), t.fullShape);
    if (!sameShape || header.dtype != t.dtype) {
      error = "input " + inQuotes(name) + ": expected shape " +
              fullTypeText(t) + ", got " +
              typeText(header.shape.data(),
                       static_cast<int>(header.shape.size()), header.dtype) +
              " from " + file;
      return false;
    }
    if (!readsInput(t))
      continue;
    const int64_t noOffsets[kMaxRank] = {};
    const int64_t *offsets =
        self.inputOffsets ? self.inputOffsets + index * kMaxRank : noOffsets;
    for (int d = 0; d < t.rank; ++d)
      if (offsets[d] < 0 || offsets[d] > t.fullShape[d] - t.shape[d]) {
        error = "program spec: input " + inQuotes(name) + ": box " +
                shapeText(t.shape, t.rank) + " at offsets " +
                shapeText(offsets, t.rank) + " of world rank " +
                std::to_string(self.worldRank) + " is outside its shape " +
                shapeText(t.fullShape, t.rank);
        return false;
      }
    boxes[index].resize(static_cast<size_t>(byteSize(t)));
    if (!readNpyBox(file, header, offsets, t.shape, boxes[index].data(),
                    readError)) {
      error = "input " + inQuotes(name) + ": " + readError;
      return false;
    }
  }
  for (int i = 0; i < spec.numInputs; ++i)
    if (!given[i]) {
      const TensorSpec &t = spec.inputs[i];
      error = "input " + inQuotes(t.name) + " (shape " + fullTypeText(t) +
              ") not given; pass --input " + t.name + "=FILE.npy";
      return false;
    }
  return true;
}

/// Checks what the program spec says about itself, before anything runs.
bool checkSpec(const ProgramSpec &spec, std::string &error) {
  if (!spec.step) {
    error = "program spec has no step function";
    return false;
  }
  if (spec.worldSize < 1 || spec.numRanks < 1 || !spec.ranks) {
    error = "program spec: world size " + std::to_string(spec.worldSize) +
            " with " + std::to_string(spec.numRanks) +
            " ranks; needs at least one of each";
    return false;
  }
  if (spec.worldSize == 1 &&
      (spec.numRanks != 1 || spec.ranks[0].worldRank != 0)) {
    error = "program spec: a single-rank program must run world rank 0 only";
    return false;
  }
  auto check = [&](const TensorSpec &t, const char *kind) {
    bool placed = t.arenaOffset >= 0 || std::string(kind) == "output";
    if (t.rank < 0 || t.rank > kMaxRank || dtypeSize(t.dtype) == 0 ||
        (placed && (t.arenaOffset < 0 ||
                    t.arenaOffset + byteSize(t) > spec.arenaBytes))) {
      error = std::string("program spec: ") + kind + " " + inQuotes(t.name) +
              " does not fit in the " + std::to_string(spec.arenaBytes) +
              "-byte arena";
      return false;
    }
    return true;
  };
  for (int i = 0; i < spec.numInputs; ++i)
    if (!check(spec.inputs[i], "input"))
      return false;
  for (int i = 0; i < spec.numOutputs; ++i)
    if (!check(spec.outputs[i], "output"))
      return false;
  return true;
}

/// Output file name: the tensor name with every character outside
/// [A-Za-z0-9._-] replaced by '_'.
std::string outputFileName(const char *name) {
  std::string s = name;
  for (char &c : s) {
    bool safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!safe)
      c = '_';
  }
  return s + ".npy";
}

double median(std::vector<double> sorted) {
  std::sort(sorted.begin(), sorted.end());
  size_t n = sorted.size();
  return n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

int run(int argc, char **argv, const ProgramSpec &spec) {
  // Usage errors and --help need no MPI: every rank gets the same command
  // line, and mpirun ends the job when a rank exits non-zero before joining.
  Options opt;
  std::string error;
  if (!parseArgs(argc, argv, spec, opt, error))
    return fail(error);
  const char *program = argc > 0 && argv[0] ? argv[0] : "program";
  if (opt.help) {
    printHelp(program, spec);
    return 0;
  }
  if (!checkSpec(spec, error))
    return fail(error);

  omp_set_num_threads(opt.threads);
  openblas_set_num_threads(opt.threads);

  AlignedBlock arena;
  const size_t arenaBytes = static_cast<size_t>(
      std::max<int64_t>(spec.arenaBytes, int64_t(kArenaAlignment)));
  if (!arena.allocate(arenaBytes))
    return fail("cannot allocate the " + std::to_string(arenaBytes) +
                "-byte arena");
  if (opt.printArena) {
    // The compiler's figure; the block itself is never smaller than 64.
    std::printf("arena_bytes %lld\n",
                static_cast<long long>(spec.arenaBytes > 0 ? spec.arenaBytes
                                                           : arenaBytes));
    std::fflush(stdout);
    if (opt.inputs.empty() && spec.numInputs > 0)
      return 0;
  }

  // From here on, in a distributed run, any failure ends every rank.
  const bool distributed = spec.worldSize > 1;
  const RankSpec *self = &spec.ranks[0];
  if (distributed) {
    comm::initWorld(&argc, &argv);
    self = comm::joinWorld(spec);
    if (!self)
      return 1;
  } else {
    comm::createGroups(spec.numGroups, spec.groups);
  }
  const StepContext context{self->worldRank, self};

  std::vector<std::vector<char>> inputs;
  if (!loadInputs(opt, spec, *self, inputs, error))
    return fail(error);

  AlignedBlock weights;
  if (spec.weightsBytes > 0 &&
      !loadWeights(opt.weightsPath, argv[0], spec, *self, weights, error))
    return fail(error);

  // The planner may reuse input buffers once they are dead, so every step
  // starts from freshly copied inputs (outside the timed region).
  auto placeInputs = [&]() {
    for (int i = 0; i < spec.numInputs; ++i) {
      const TensorSpec &t = spec.inputs[i];
      if (!inputs[i].empty())
        std::memcpy(arena.memory.get() + t.arenaOffset, inputs[i].data(),
                    inputs[i].size());
    }
  };
  for (int i = 0; i < opt.warmup; ++i) {
    placeInputs();
    spec.step(arena.memory.get(), weights.memory.get(), context);
  }
  // Ranks leave the warm-up at different times; the first timed step should
  // not count one rank's wait for another.
  comm::worldBarrier();
  std::vector<double> latencies;
  latencies.reserve(static_cast<size_t>(opt.iterations));
  for (int i = 0; i < opt.iterations; ++i) {
    placeInputs();
    auto start = std::chrono::steady_clock::now();
    spec.step(arena.memory.get(), weights.memory.get(), context);
    auto stop = std::chrono::steady_clock::now();
    latencies.push_back(
        std::chrono::duration<double, std::milli>(stop - start).count());
  }
  if (opt.iterations > 1) {
    // Over several ranks each figure is the slowest rank's: a step is only
    // done when every rank is.
    double stats[3] = {median(latencies),
                       *std::min_element(latencies.begin(), latencies.end()),
                       *std::max_element(latencies.begin(), latencies.end())};
    comm::maxOverWorld(stats, 3);
    if (self->worldRank == 0) {
      std::printf("latency_ms median %.4f min %.4f max %.4f iterations %d\n",
                  stats[0], stats[1], stats[2], opt.iterations);
      std::fflush(stdout);
    }
  }

  if (spec.numOutputs > 0) {
    std::error_code ec;
    std::filesystem::create_directories(opt.outputDir, ec);
    if (ec || !std::filesystem::is_directory(opt.outputDir, ec))
      return fail("cannot create output directory " + inQuotes(opt.outputDir) +
                  (ec ? ": " + ec.message() : std::string()));
  }
  for (int i = 0; i < spec.numOutputs; ++i) {
    const TensorSpec &t = spec.outputs[i];
    std::string path = opt.outputDir + "/" + outputFileName(t.name);
    if (!writeNpy(path, t.dtype, t.shape, t.rank,
                  arena.memory.get() + t.arenaOffset, error))
      return fail("output " + inQuotes(t.name) + ": " + error);
  }
  comm::finalizeWorld();
  return 0;
}

} // namespace

int runProgram(int argc, char **argv, const ProgramSpec &spec) {
  try {
    return run(argc, argv, spec);
  } catch (const std::exception &e) {
    return fail(e.what());
  } catch (...) {
    return fail("unexpected failure");
  }
}

} // namespace ssrt
