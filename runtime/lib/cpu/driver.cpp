// The main() of every rank program: command line, the distributed world,
// weights and input checks, the arena, timed steps and .npy outputs; for
// training programs the step loop with per-step inputs, checkpoints and
// resume.
#include "comm/world.h"
#include "ssrt/checkpoint.h"
#include "ssrt/npy.h"
#include "ssrt/ssrt.h"
#include "ssrt/weights.h"

#include <cblas.h>
#include <omp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
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
  bool outputDirGiven = false;
  int threads = 1;
  // Inference only.
  int warmup = 0;
  int iterations = 1;
  bool printArena = false;
  // Training only.
  int64_t steps = 1;
  std::string dataDir;
  std::string checkpointDir;
  int64_t checkpointEvery = 0; // 0: only after the last step
  std::string resumeDir;
  bool help = false;
  /// The options the command line named, for the checks that depend on
  /// whether the program trains.
  std::vector<std::string> named;

  bool isNamed(const std::string &option) const {
    return std::find(named.begin(), named.end(), option) != named.end();
  }
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

bool parseCount(const std::string &text, long long minimum, long long maximum,
                long long &out) {
  if (text.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < minimum || v > maximum)
    return false;
  out = v;
  return true;
}

bool parseCount(const std::string &text, long long minimum, int &out) {
  long long v;
  if (!parseCount(text, minimum, INT_MAX, v))
    return false;
  out = static_cast<int>(v);
  return true;
}

bool parseCount(const std::string &text, long long minimum, int64_t &out) {
  long long v;
  if (!parseCount(text, minimum, INT64_MAX, v))
    return false;
  out = static_cast<int64_t>(v);
  return true;
}

const char *kUsage =
    "usage: %s [--weights FILE] [--input NAME=FILE.npy]... "
    "[--output-dir DIR]\n"
    "          [--threads N] [--warmup N] [--iterations N] [--print-arena] "
    "[--help]\n"
    "training: %s [--weights FILE] [--input NAME=FILE.npy... | --data DIR]\n"
    "          [--steps K] [--checkpoint-dir DIR [--checkpoint-every N]] "
    "[--resume DIR]\n"
    "          [--output-dir DIR] [--threads N] [--help]\n"
    "\n"
    "  --weights FILE       weights file, %%d standing for the world rank\n"
    "                       (default: %s next to the program,\n"
    "                       then in its parent directory)\n"
    "  --input NAME=FILE    a whole model input as .npy; every input exactly\n"
    "                       once, the same on every rank (and every step)\n"
    "  --output-dir DIR     where NAME.npy outputs go (default: .; training\n"
    "                       writes the last step's outputs only if given)\n"
    "  --threads N          worker threads (default: 1)\n"
    "\n"
    "inference programs:\n"
    "  --warmup N           untimed steps before the timed ones (default: 0)\n"
    "  --iterations N       timed steps; above 1, latency is printed "
    "(default: 1)\n"
    "  --print-arena        print the arena size; with no --input, only "
    "that\n"
    "\n"
    "training programs (every step prints \"step S loss L R samples/s\"):\n"
    "  --steps K            train until K steps are complete in all, a\n"
    "                       resumed run counting on from its checkpoint\n"
    "                       (default: 1)\n"
    "  --data DIR           per-step inputs instead of --input: step s\n"
    "                       (from 0) reads DIR/NAME.I.npy, I = s mod N, where\n"
    "                       every input has files I = 0..N-1 and NAME is the\n"
    "                       input name with characters outside "
    "[A-Za-z0-9._-]\n"
    "                       replaced by '_'\n"
    "  --checkpoint-dir DIR write a checkpoint DIR/step-S/ of every rank's\n"
    "                       weights after the run's last step S\n"
    "  --checkpoint-every N and after every step S that N divides\n"
    "  --resume DIR         start from the newest complete checkpoint in DIR\n"
    "                       instead of the weights file\n";

void printHelp(const char *program, const ProgramSpec &spec) {
  std::printf(kUsage, program, program,
              spec.weightsFilePattern ? spec.weightsFilePattern : "");
  std::string ranks;
  for (int i = 0; i < spec.numRanks; ++i)
    ranks += (i ? ", " : "") + std::to_string(spec.ranks[i].worldRank);
  std::printf("\n%s model %s, rank%s %s of %d, plan %s\n",
              spec.training ? "training" : "inference",
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
      opt.named.push_back(arg);
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
      opt.outputDirGiven = true;
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
    } else if (arg == "--steps") {
      if (!takeValue())
        return false;
      if (!parseCount(value, 1, opt.steps)) {
        error = "--steps expects a positive integer, got " + inQuotes(value);
        return false;
      }
    } else if (arg == "--checkpoint-every") {
      if (!takeValue())
        return false;
      if (!parseCount(value, 1, opt.checkpointEvery)) {
        error = "--checkpoint-every expects a positive integer, got " +
                inQuotes(value);
        return false;
      }
    } else if (arg == "--data" || arg == "--checkpoint-dir" ||
               arg == "--resume") {
      if (!takeValue())
        return false;
      if (value.empty()) {
        error = arg + " needs a directory name";
        return false;
      }
      (arg == "--data"             ? opt.dataDir
       : arg == "--checkpoint-dir" ? opt.checkpointDir
                                   : opt.resumeDir) = value;
    } else {
      error = "unknown argument " + inQuotes(argv[i]) + " (see --help)";
      return false;
    }
  }
  return true;
}

/// The checks of options that depend on whether the program trains.
bool checkOptionsForProgram(const ProgramSpec &spec, const Options &opt,
                            std::string &error) {
  const char *trainingOnly[] = {"--steps", "--data", "--checkpoint-dir",
                                "--checkpoint-every", "--resume"};
  const char *inferenceOnly[] = {"--warmup", "--iterations", "--print-arena"};
  if (!spec.training) {
    for (const char *option : trainingOnly)
      if (opt.isNamed(option)) {
        error = std::string(option) +
                " is only for training programs; this program runs "
                "inference";
        return false;
      }
    return true;
  }
  for (const char *option : inferenceOnly)
    if (opt.isNamed(option)) {
      error = std::string(option) +
              " is only for inference programs: every step of a training "
              "program updates its weights (see --steps)";
      return false;
    }
  if (opt.isNamed("--checkpoint-every") && opt.checkpointDir.empty()) {
    error = "--checkpoint-every needs --checkpoint-dir DIR";
    return false;
  }
  if (!opt.dataDir.empty() && !opt.inputs.empty()) {
    error = "--data and --input are mutually exclusive: --data DIR gives "
            "every input of every step";
    return false;
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

/// The file name a tensor name maps to: every character outside
/// [A-Za-z0-9._-] replaced by '_'.
std::string safeFileName(const char *name) {
  std::string s = name;
  for (char &c : s) {
    bool safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!safe)
      c = '_';
  }
  return s;
}

/// Output file name: NAME.npy, NAME as safeFileName makes it.
std::string outputFileName(const char *name) {
  return safeFileName(name) + ".npy";
}

/// The .npy files steps read their inputs from: per model input, either one
/// file (--input, read by every step) or the N files of --data DIR, step s
/// reading file s mod N of every input. Every file is checked whole before
/// the first step.
struct InputFiles {
  std::vector<std::vector<std::string>> paths; // [input][file]
  std::vector<std::vector<NpyHeader>> headers; // [input][file], checked

  size_t count() const { return paths.empty() ? 1 : paths[0].size(); }
};

/// Checks `file` as model input `index`: readable, as long as its header
/// says, and of the input's full shape and dtype.
bool checkInputFile(const ProgramSpec &spec, int index, const std::string &file,
                    NpyHeader &header, std::string &error) {
  const TensorSpec &t = spec.inputs[index];
  std::string readError;
  if (!readNpyHeader(file, header, readError)) {
    error = "input " + inQuotes(t.name) + ": " + readError;
    return false;
  }
  bool sameShape =
      static_cast<int>(header.shape.size()) == t.rank &&
      std::equal(header.shape.begin(), header.shape.end(), t.fullShape);
  if (!sameShape || header.dtype != t.dtype) {
    error = "input " + inQuotes(t.name) + ": expected shape " +
            fullTypeText(t) + ", got " +
            typeText(header.shape.data(), static_cast<int>(header.shape.size()),
                     header.dtype) +
            " from " + file;
    return false;
  }
  return true;
}

/// Reads this rank's box of input `index` from a checked file; `box` stays
/// empty when the rank reads none of the input.
bool readInputBox(const ProgramSpec &spec, const RankSpec &self, int index,
                  const std::string &file, const NpyHeader &header,
                  std::vector<char> &box, std::string &error) {
  const TensorSpec &t = spec.inputs[index];
  box.clear();
  if (!readsInput(t))
    return true;
  const int64_t noOffsets[kMaxRank] = {};
  const int64_t *offsets =
      self.inputOffsets ? self.inputOffsets + index * kMaxRank : noOffsets;
  for (int d = 0; d < t.rank; ++d)
    if (offsets[d] < 0 || offsets[d] > t.fullShape[d] - t.shape[d]) {
      error = "program spec: input " + inQuotes(t.name) + ": box " +
              shapeText(t.shape, t.rank) + " at offsets " +
              shapeText(offsets, t.rank) + " of world rank " +
              std::to_string(self.worldRank) + " is outside its shape " +
              shapeText(t.fullShape, t.rank);
      return false;
    }
  box.resize(static_cast<size_t>(byteSize(t)));
  std::string readError;
  if (!readNpyBox(file, header, offsets, t.shape, box.data(), readError)) {
    error = "input " + inQuotes(t.name) + ": " + readError;
    return false;
  }
  return true;
}

/// Reads this rank's boxes of file `i` of every input.
bool readInputBoxes(const ProgramSpec &spec, const RankSpec &self,
                    const InputFiles &files, size_t i,
                    std::vector<std::vector<char>> &boxes, std::string &error) {
  boxes.resize(static_cast<size_t>(spec.numInputs));
  for (int k = 0; k < spec.numInputs; ++k)
    if (!readInputBox(spec, self, k, files.paths[k][i], files.headers[k][i],
                      boxes[k], error))
      return false;
  return true;
}

/// The --input files: every model input exactly once, each file checked,
/// in command-line order.
bool collectInputFiles(const Options &opt, const ProgramSpec &spec,
                       InputFiles &files, std::string &error) {
  files.paths.assign(static_cast<size_t>(spec.numInputs), {});
  files.headers.assign(static_cast<size_t>(spec.numInputs), {});
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
    if (!files.paths[index].empty()) {
      error = "input " + inQuotes(name) + " given more than once";
      return false;
    }
    NpyHeader header;
    if (!checkInputFile(spec, index, file, header, error))
      return false;
    files.paths[index].push_back(file);
    files.headers[index].push_back(header);
  }
  for (int i = 0; i < spec.numInputs; ++i)
    if (files.paths[i].empty()) {
      const TensorSpec &t = spec.inputs[i];
      error = "input " + inQuotes(t.name) + " (shape " + fullTypeText(t) +
              ") not given; pass --input " + t.name + "=FILE.npy" +
              (spec.training ? " or --data DIR" : "");
      return false;
    }
  return true;
}

/// The --data DIR files: DIR/NAME.I.npy for I = 0..N-1 and every input,
/// N being how many the first input has; each file checked.
bool collectDataFiles(const std::string &dir, const ProgramSpec &spec,
                      InputFiles &files, std::string &error) {
  if (spec.numInputs == 0) {
    error = "--data " + dir + ": the model has no inputs";
    return false;
  }
  auto path = [&](int input, size_t i) {
    return dir + "/" + safeFileName(spec.inputs[input].name) + "." +
           std::to_string(i) + ".npy";
  };
  auto exists = [](const std::string &file) {
    struct stat info;
    return stat(file.c_str(), &info) == 0;
  };
  size_t n = 0;
  while (exists(path(0, n)))
    ++n;
  if (n == 0) {
    error = "--data " + dir + ": no file " + path(0, 0) + " for input " +
            inQuotes(spec.inputs[0].name);
    return false;
  }
  const std::string counted = "; input " + inQuotes(spec.inputs[0].name) +
                              " has " + std::to_string(n) + " files";
  files.paths.assign(static_cast<size_t>(spec.numInputs), {});
  files.headers.assign(static_cast<size_t>(spec.numInputs), {});
  for (int k = 0; k < spec.numInputs; ++k) {
    for (size_t i = 0; i < n; ++i) {
      std::string file = path(k, i);
      if (!exists(file)) {
        error = "--data " + dir + ": input " + inQuotes(spec.inputs[k].name) +
                " has no file " + file + counted;
        return false;
      }
      NpyHeader header;
      if (!checkInputFile(spec, k, file, header, error))
        return false;
      files.paths[k].push_back(file);
      files.headers[k].push_back(header);
    }
    if (exists(path(k, n))) {
      error = "--data " + dir + ": input " + inQuotes(spec.inputs[k].name) +
              " has more files than input " + inQuotes(spec.inputs[0].name) +
              " (" + std::to_string(n) + "): " + path(k, n);
      return false;
    }
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
  if (spec.training && spec.numOutputs > 0 && spec.lossOutput >= 0) {
    if (spec.lossOutput >= spec.numOutputs) {
      error = "program spec: loss output " + std::to_string(spec.lossOutput) +
              " of " + std::to_string(spec.numOutputs) + " outputs";
      return false;
    }
    const TensorSpec &loss = spec.outputs[spec.lossOutput];
    if (loss.dtype != DType::F32 || numElements(loss) != 1) {
      error = "program spec: loss output " + inQuotes(loss.name) + " is " +
              typeText(loss.shape, loss.rank, loss.dtype) + ", not one float32";
      return false;
    }
  }
  return true;
}

double median(std::vector<double> sorted) {
  std::sort(sorted.begin(), sorted.end());
  size_t n = sorted.size();
  return n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

/// Copies this rank's input boxes into the arena. The planner may reuse
/// input buffers once they are dead, so every step starts from fresh copies.
void placeInputs(const ProgramSpec &spec,
                 const std::vector<std::vector<char>> &boxes, char *arena) {
  for (int i = 0; i < spec.numInputs; ++i)
    if (!boxes[i].empty())
      std::memcpy(arena + spec.inputs[i].arenaOffset, boxes[i].data(),
                  boxes[i].size());
}

bool writeOutputs(const std::string &dir, const ProgramSpec &spec,
                  const char *arena, std::string &error) {
  if (spec.numOutputs > 0) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir, ec)) {
      error = "cannot create output directory " + inQuotes(dir) +
              (ec ? ": " + ec.message() : std::string());
      return false;
    }
  }
  for (int i = 0; i < spec.numOutputs; ++i) {
    const TensorSpec &t = spec.outputs[i];
    std::string path = dir + "/" + outputFileName(t.name);
    if (!writeNpy(path, t.dtype, t.shape, t.rank, arena + t.arenaOffset,
                  error)) {
      error = "output " + inQuotes(t.name) + ": " + error;
      return false;
    }
  }
  return true;
}

int runInference(const Options &opt, const char *argv0, const ProgramSpec &spec,
                 const RankSpec &self, char *arena) {
  std::string error;
  InputFiles files;
  std::vector<std::vector<char>> inputs;
  if (!collectInputFiles(opt, spec, files, error) ||
      !readInputBoxes(spec, self, files, 0, inputs, error))
    return fail(error);

  AlignedBlock weights;
  if (spec.weightsBytes > 0 &&
      !loadWeights(opt.weightsPath, argv0, spec, self, weights, error))
    return fail(error);

  const StepContext context{self.worldRank, &self, 0};
  for (int i = 0; i < opt.warmup; ++i) {
    placeInputs(spec, inputs, arena);
    spec.step(arena, weights.memory.get(), context);
  }
  // Ranks leave the warm-up at different times; the first timed step should
  // not count one rank's wait for another.
  comm::worldBarrier();
  std::vector<double> latencies;
  latencies.reserve(static_cast<size_t>(opt.iterations));
  for (int i = 0; i < opt.iterations; ++i) {
    placeInputs(spec, inputs, arena);
    auto start = std::chrono::steady_clock::now();
    spec.step(arena, weights.memory.get(), context);
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
    if (self.worldRank == 0) {
      std::printf("latency_ms median %.4f min %.4f max %.4f iterations %d\n",
                  stats[0], stats[1], stats[2], opt.iterations);
      std::fflush(stdout);
    }
  }
  if (!writeOutputs(opt.outputDir, spec, arena, error))
    return fail(error);
  return 0;
}

/// The key of this rank's state in checkpoint `step`.
CheckpointKey checkpointKey(const ProgramSpec &spec, const RankSpec &self,
                            int64_t step) {
  return {step, self.worldRank, spec.worldSize, spec.weightsBytes,
          spec.planFingerprint ? spec.planFingerprint : ""};
}

/// Writes checkpoint `step` of every rank's weights block. Collective: the
/// state files first, then rank 0's manifest once every state file is
/// durable, so that a manifest never stands over partial state.
bool writeCheckpoint(const std::string &dir, int64_t step,
                     const ProgramSpec &spec, const RankSpec &self,
                     const char *weights, std::string &error) {
  const std::string stepDir = checkpointStepDir(dir, step);
  std::error_code ec;
  if (self.worldRank == 0) {
    std::filesystem::create_directories(stepDir, ec);
    if (ec) {
      error = "checkpoint: cannot create " + stepDir + ": " + ec.message();
      return false;
    }
    // A step directory left by an interrupted run is rewritten: its manifest
    // goes first, so that it never stands over a mix of old and new files.
    const std::string manifest = stepDir + "/" + kCheckpointManifestFile;
    std::filesystem::remove(manifest, ec);
    if (ec) {
      error = "checkpoint: cannot remove " + manifest + ": " + ec.message();
      return false;
    }
    if (!syncDirectory(stepDir, error) || !syncDirectory(dir, error)) {
      error = "checkpoint: " + error;
      return false;
    }
  }
  comm::worldBarrier();
  // Without a file system shared with rank 0, each rank makes its own.
  std::filesystem::create_directories(stepDir, ec);
  if (ec) {
    error = "checkpoint: cannot create " + stepDir + ": " + ec.message();
    return false;
  }
  if (!writeCheckpointState(stepDir, checkpointKey(spec, self, step), weights,
                            error)) {
    error = "checkpoint: " + error;
    return false;
  }
  comm::worldBarrier();
  if (self.worldRank == 0) {
    CheckpointManifest manifest;
    manifest.model = spec.modelName ? spec.modelName : "";
    manifest.plan = spec.planFingerprint ? spec.planFingerprint : "";
    manifest.step = step;
    manifest.worldSize = spec.worldSize;
    for (int r = 0; r < spec.worldSize; ++r)
      manifest.files.push_back(checkpointStateFile(r));
    if (!writeCheckpointManifest(stepDir, manifest, error)) {
      error = "checkpoint: " + error;
      return false;
    }
  }
  comm::worldBarrier();
  return true;
}

/// The lowest world rank where `holds` is true, or -1 where it is nowhere.
/// Collective.
int lowestRankWhere(bool holds, const ProgramSpec &spec, const RankSpec &self) {
  double negated = holds ? -static_cast<double>(self.worldRank)
                         : -static_cast<double>(spec.worldSize);
  comm::maxOverWorld(&negated, 1);
  return negated <= -spec.worldSize ? -1 : static_cast<int>(-negated);
}

/// Loads into `weights` the newest checkpoint in `dir` that every rank finds
/// complete, and sets `step` to its step. Collective: each round takes the
/// newest step any rank still has as the candidate, and every rank votes on
/// it, so all ranks walk the same candidates even when they list different
/// directories. On failure `explains` says whether this rank is the one
/// to report it: the lowest rank that found something wrong with the newest
/// candidate, so that the job ends with one message that says what.
bool resumeFromCheckpoint(const std::string &dir, const ProgramSpec &spec,
                          const RankSpec &self, char *weights, int64_t &step,
                          bool &explains, std::string &error) {
  explains = true;
  std::vector<int64_t> steps;
  std::string listError;
  const bool listed = listCheckpointSteps(dir, steps, listError);
  size_t next = 0;
  int64_t newest = -1;
  std::string newestProblem;
  while (true) {
    double candidate =
        next < steps.size() ? static_cast<double>(steps[next]) : -1.0;
    comm::maxOverWorld(&candidate, 1);
    if (candidate < 0)
      break;
    const int64_t s = static_cast<int64_t>(candidate);
    while (next < steps.size() && steps[next] >= s)
      ++next;
    std::string problem;
    bool complete =
        loadCheckpointRank(checkpointStepDir(dir, s),
                           checkpointKey(spec, self, s), weights, problem);
    double incomplete = complete ? 0.0 : 1.0;
    comm::maxOverWorld(&incomplete, 1);
    if (incomplete == 0.0) {
      step = s;
      return true;
    }
    if (newest < 0) {
      newest = s;
      newestProblem = problem;
    }
  }
  error = "no complete checkpoint in " + dir;
  bool knowsWhy = true;
  if (!listed)
    error += " (" + listError + ")";
  else if (newest < 0)
    error += " (no step-<s> directories)";
  else if (!newestProblem.empty())
    error += "; the newest, step-" + std::to_string(newest) +
             ", is not: " + newestProblem;
  else
    knowsWhy = false;
  explains =
      self.worldRank == std::max(lowestRankWhere(knowsWhy, spec, self), 0);
  return false;
}

int runTraining(const Options &opt, const char *argv0, const ProgramSpec &spec,
                const RankSpec &self, char *arena) {
  std::string error;
  InputFiles files;
  if (!(opt.dataDir.empty()
            ? collectInputFiles(opt, spec, files, error)
            : collectDataFiles(opt.dataDir, spec, files, error)))
    return fail(error);

  // The rank that reports progress: the lowest one with outputs (emitted
  // programs give them to one rank), else rank 0.
  const bool hasOutputs = spec.numOutputs > 0;
  const bool reports =
      self.worldRank == std::max(lowestRankWhere(hasOutputs, spec, self), 0);
  const bool printsLoss = reports && hasOutputs && spec.lossOutput >= 0;

  AlignedBlock weights;
  int64_t firstStep = 0;
  if (!opt.resumeDir.empty()) {
    if (!weights.allocate(static_cast<size_t>(spec.weightsBytes)))
      return fail("cannot allocate " + std::to_string(spec.weightsBytes) +
                  " bytes for weights");
    bool explains = true;
    if (!resumeFromCheckpoint(opt.resumeDir, spec, self, weights.memory.get(),
                              firstStep, explains, error)) {
      // The reporting rank's failure ends the job while the others wait.
      if (!explains)
        comm::worldBarrier();
      return fail(error);
    }
    if (reports) {
      std::printf("resumed from %s at step %" PRId64 "\n",
                  checkpointStepDir(opt.resumeDir, firstStep).c_str(),
                  firstStep);
      std::fflush(stdout);
    }
  } else if (spec.weightsBytes > 0 &&
             !loadWeights(opt.weightsPath, argv0, spec, self, weights, error)) {
    return fail(error);
  }
  if (firstStep >= opt.steps) {
    if (reports) {
      std::printf("checkpoint step %" PRId64 " is already at or beyond "
                  "--steps %" PRId64 "; nothing to run\n",
                  firstStep, opt.steps);
      std::fflush(stdout);
    }
    return 0;
  }

  if (!opt.checkpointDir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(opt.checkpointDir, ec);
    if (ec || !std::filesystem::is_directory(opt.checkpointDir, ec))
      return fail("cannot create checkpoint directory " +
                  inQuotes(opt.checkpointDir) +
                  (ec ? ": " + ec.message() : std::string()));
  }

  StepContext context{self.worldRank, &self, 0};
  std::vector<std::vector<char>> inputs;
  size_t loaded = SIZE_MAX; // the input file index `inputs` holds
  // Ranks arrive from loading at different times; the first step's time
  // should not count one rank's wait for another.
  comm::worldBarrier();
  for (int64_t s = firstStep; s < opt.steps; ++s) {
    const size_t file = static_cast<size_t>(s) % files.count();
    if (file != loaded) {
      if (!readInputBoxes(spec, self, files, file, inputs, error))
        return fail(error);
      loaded = file;
    }
    placeInputs(spec, inputs, arena);
    context.step = s;
    auto start = std::chrono::steady_clock::now();
    spec.step(arena, weights.memory.get(), context);
    auto stop = std::chrono::steady_clock::now();
    const int64_t done = s + 1;
    if (printsLoss) {
      float loss;
      std::memcpy(&loss, arena + spec.outputs[spec.lossOutput].arenaOffset,
                  sizeof(loss));
      double seconds = std::chrono::duration<double>(stop - start).count();
      double rate = seconds > 0
                        ? static_cast<double>(spec.samplesPerStep) / seconds
                        : 0.0;
      std::printf("step %" PRId64 " loss %.9g %.1f samples/s\n", done,
                  static_cast<double>(loss), rate);
      std::fflush(stdout);
    }
    bool checkpoint = !opt.checkpointDir.empty() &&
                      (done == opt.steps || (opt.checkpointEvery > 0 &&
                                             done % opt.checkpointEvery == 0));
    if (checkpoint && !writeCheckpoint(opt.checkpointDir, done, spec, self,
                                       weights.memory.get(), error))
      return fail(error);
  }
  if (opt.outputDirGiven && !writeOutputs(opt.outputDir, spec, arena, error))
    return fail(error);
  return 0;
}

int run(int argc, char **argv, const ProgramSpec &spec) {
  // A rank dies with the process that started it (ssc run, or mpirun's
  // daemon): killed launchers must not leave ranks training on, writing
  // checkpoints behind a later run's back.
  const pid_t launcher = getppid();
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != launcher)
    return 1; // the launcher died before the line above took effect
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
  if (!checkOptionsForProgram(spec, opt, error) || !checkSpec(spec, error))
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

  int rc = spec.training
               ? runTraining(opt, argv[0], spec, *self, arena.memory.get())
               : runInference(opt, argv[0], spec, *self, arena.memory.get());
  if (rc == 0)
    comm::finalizeWorld();
  return rc;
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
