//===- ssc.cpp - the SuperScaler compiler driver
//---------------------------===//
//
// `ssc compile` imports an ONNX model, runs the pass pipeline and writes the
// rank programs; `ssc run` builds and launches them; `ssc inspect` reports
// what a model contains and what the compiler supports of it.
//
//===----------------------------------------------------------------------===//

#include "Codegen/CppEmitter.h"
#include "Debug.h"
#include "Graph/GraphDialect.h"
#include "Import/OnnxImporter.h"
#include "Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include "ssrt/npy.h"
#include "ssrt/weights.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <numeric>
#include <sys/stat.h>

using namespace mlir;

namespace {

// Exit codes shared by every subcommand.
constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUnsupported = 2;

void printError(const llvm::Twine &msg) {
  llvm::errs() << "ssc: error: " << msg << "\n";
}

/// Prints MLIR diagnostics as `ssc: error: node "NAME": message`.
void installDiagnosticPrinter(MLIRContext &context) {
  context.getDiagEngine().registerHandler([](Diagnostic &diag) {
    std::string where;
    Location loc = diag.getLocation();
    if (auto name = dyn_cast<NameLoc>(loc))
      where = "node \"" + name.getName().str() + "\": ";
    else if (auto file = dyn_cast<FileLineColLoc>(loc))
      where = file.getFilename().str() + ": ";
    const char *severity =
        diag.getSeverity() == DiagnosticSeverity::Error     ? "error"
        : diag.getSeverity() == DiagnosticSeverity::Warning ? "warning"
                                                            : "note";
    llvm::errs() << "ssc: " << severity << ": " << where << diag.str() << "\n";
    for (auto &note : diag.getNotes())
      llvm::errs() << "ssc: note: " << note.str() << "\n";
    return success();
  });
}

bool parseInputShapes(const std::vector<std::string> &specs,
                      std::map<std::string, std::vector<int64_t>> &shapes) {
  for (const std::string &spec : specs) {
    size_t eq = spec.rfind('=');
    if (eq == std::string::npos || eq == 0) {
      printError("--input-shape '" + spec + "' is not NAME=D0,D1,...");
      return false;
    }
    std::vector<int64_t> dims;
    llvm::SmallVector<llvm::StringRef> parts;
    llvm::StringRef(spec).substr(eq + 1).split(parts, ',', -1, false);
    for (llvm::StringRef p : parts) {
      int64_t d;
      if (p.trim().getAsInteger(10, d) || d < 0) {
        printError("--input-shape '" + spec + "': '" + p +
                   "' is not a non-negative integer");
        return false;
      }
      dims.push_back(d);
    }
    shapes[spec.substr(0, eq)] = dims;
  }
  return true;
}

/// Reads `NAME=FILE.npy` bindings for --freeze-input.
bool parseFrozenInputs(const std::vector<std::string> &specs,
                       std::map<std::string, ss::FrozenInput> &frozen) {
  for (const std::string &spec : specs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      printError("--freeze-input '" + spec + "' is not NAME=FILE.npy");
      return false;
    }
    ssrt::NpyArray array;
    std::string error;
    if (!ssrt::readNpy(spec.substr(eq + 1), array, error)) {
      printError("--freeze-input " + spec.substr(0, eq) + ": " + error);
      return false;
    }
    ss::FrozenInput input;
    input.onnxType = static_cast<int32_t>(array.dtype);
    input.shape = array.shape;
    input.bytes = std::move(array.data);
    frozen[spec.substr(0, eq)] = std::move(input);
  }
  return true;
}

bool writeFile(const std::string &path, const char *data, size_t size) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      return false;
    out.write(data, size);
    if (!out)
      return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

std::string runtimeCMakeLists(const std::vector<std::string> &ranks) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "# Builds the rank programs emitted by ssc against the ssrt runtime.\n"
     << "cmake_minimum_required(VERSION 3.20)\n"
     << "project(superscaler_ranks CXX)\n"
     << "set(CMAKE_CXX_STANDARD 17)\n"
     << "if(NOT CMAKE_BUILD_TYPE)\n  set(CMAKE_BUILD_TYPE Release)\nendif()\n"
     << "set(SSRT_INCLUDE_DIR \"" << SS_RUNTIME_INCLUDE_DIR
     << "\" CACHE PATH \"ssrt headers\")\n"
     << "set(SSRT_LIBRARY \"" << SS_RUNTIME_LIBRARY
     << "\" CACHE FILEPATH \"ssrt static library\")\n"
     << "set(SSRT_BLAS_LIBRARY \"" << SS_BLAS_LIBRARY
     << "\" CACHE FILEPATH \"OpenBLAS (OpenMP build)\")\n"
     << "find_package(OpenMP REQUIRED COMPONENTS CXX)\n";
  for (const auto &r : ranks)
    os << "add_executable(" << r << " " << r << ".cpp)\n"
       << "target_include_directories(" << r
       << " PRIVATE ${SSRT_INCLUDE_DIR})\n"
       << "target_link_libraries(" << r << " PRIVATE ${SSRT_LIBRARY} "
       << "${SSRT_BLAS_LIBRARY} OpenMP::OpenMP_CXX)\n";
  return s;
}

llvm::json::Value tensorJson(const ss::ProgramTensor &t, bool withFile) {
  llvm::json::Object o{{"name", t.name},
                       {"dtype", t.dtype},
                       {"shape", llvm::json::Array(t.shape)}};
  if (withFile) {
    std::string file;
    for (char c : t.name)
      file += (llvm::isAlnum(c) || c == '.' || c == '_' || c == '-') ? c : '_';
    o["file"] = file + ".npy";
  }
  return o;
}

//===----------------------------------------------------------------------===//
// ssc compile
//===----------------------------------------------------------------------===//

struct CompileArgs {
  std::string model;
  std::string output;
  std::string target = "cpu";
  int worldSize = 1;
  std::vector<std::string> inputShapes;
  std::vector<std::string> frozenInputs;
  std::string emit = "cpp";
  std::string stopAfter;
  bool printIrAfterAll = false;
  std::string debugOnly;
  bool quiet = false;
};

int compile(const CompileArgs &args) {
  if (args.target != "cpu") {
    printError("--target " + args.target +
               " is not available yet; supported: cpu");
    return kExitUnsupported;
  }
  if (args.worldSize != 1) {
    printError("--world-size " + std::to_string(args.worldSize) +
               " needs a parallel plan; this build supports --world-size 1");
    return kExitUnsupported;
  }
  static const char *stages[] = {"import", "fold", "fuse", "plan-memory"};
  if (!args.stopAfter.empty() &&
      std::find(std::begin(stages), std::end(stages), args.stopAfter) ==
          std::end(stages)) {
    printError("--stop-after " + args.stopAfter +
               " is not a stage (import, fold, fuse, plan-memory)");
    return kExitError;
  }
  if (args.emit != "cpp" && args.emit != "mlir") {
    printError("--emit must be cpp or mlir");
    return kExitError;
  }
  if (!args.stopAfter.empty() && args.emit != "mlir") {
    printError("--stop-after needs --emit=mlir");
    return kExitError;
  }

  ss::enableDebugTypes(args.debugOnly);
  ss::ImportOptions options;
  if (!parseInputShapes(args.inputShapes, options.inputShapes) ||
      !parseFrozenInputs(args.frozenInputs, options.frozenInputs))
    return kExitError;

  MLIRContext context;
  context.disableMultithreading();
  installDiagnosticPrinter(context);
  ss::ImportStatus status;
  auto module = ss::importOnnxModel(context, args.model, options, status);
  if (!module)
    return status == ss::ImportStatus::Unsupported ? kExitUnsupported
                                                   : kExitError;

  auto writeMlir = [&]() {
    std::string text;
    llvm::raw_string_ostream os(text);
    OpPrintingFlags flags;
    flags.elideLargeElementsAttrs(16);
    flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false);
    module->print(os, flags);
    os.flush();
    if (args.output == "-") {
      llvm::outs() << text;
      return kExitOk;
    }
    if (!writeFile(args.output, text.data(), text.size())) {
      printError("cannot write '" + args.output + "'");
      return kExitError;
    }
    return kExitOk;
  };
  if (args.stopAfter == "import")
    return writeMlir();

  PassManager pm(&context);
  if (args.printIrAfterAll)
    pm.enableIRPrinting([](Pass *, Operation *) { return false; },
                        [](Pass *, Operation *) { return true; },
                        /*printModuleScope=*/true,
                        /*printAfterOnlyOnChange=*/false);
  // The stages of DESIGN.md section 2 that a single-rank program needs.
  pm.addPass(ss::createGraphFoldConstants());
  if (args.stopAfter != "fold") {
    pm.addPass(ss::createGraphFoldBatchNorm());
    pm.addPass(ss::createGraphFuseConvActivation());
  }
  if (args.stopAfter != "fold" && args.stopAfter != "fuse")
    pm.addPass(ss::createGraphPlanMemory());
  if (failed(pm.run(*module)))
    return kExitError;
  if (args.emit == "mlir")
    return writeMlir();

  auto func = module->lookupSymbol<func::FuncOp>("main");
  std::string modelName = "model";
  if (auto n = (*module)->getAttrOfType<StringAttr>("ss.model"))
    modelName = n.str();

  ss::EmitOptions emitOptions;
  emitOptions.modelName = modelName;
  emitOptions.plan = "single rank, no partitioning (world size 1)";
  // The fingerprint identifies the compiled plan; ranks exchange it at start.
  std::ifstream modelFile(args.model, std::ios::binary);
  std::string modelBytes((std::istreambuf_iterator<char>(modelFile)),
                         std::istreambuf_iterator<char>());
  uint64_t fp = ssrt::fnv1a64(modelBytes.data(), modelBytes.size()) ^
                ssrt::fnv1a64(emitOptions.plan.data(), emitOptions.plan.size());
  emitOptions.planFingerprint = llvm::utohexstr(fp, /*LowerCase=*/true, 16);
  ss::RankProgram program;
  if (failed(ss::emitCppProgram(func, emitOptions, program)))
    return kExitError;

  // Write into the output directory; manifest.json goes last, so a
  // directory without it never looks like a finished compilation.
  const std::string &out = args.output;
  std::string manifestPath = out + "/manifest.json";
  if (llvm::sys::fs::exists(manifestPath))
    llvm::sys::fs::remove(manifestPath);
  if (auto ec = llvm::sys::fs::create_directories(out)) {
    printError("cannot create '" + out + "': " + ec.message());
    return kExitError;
  }
  std::string cmake = runtimeCMakeLists({"rank0"});
  if (!writeFile(out + "/rank0.cpp", program.source.data(),
                 program.source.size()) ||
      !writeFile(out + "/rank0.weights", program.weights.data(),
                 program.weights.size()) ||
      !writeFile(out + "/CMakeLists.txt", cmake.data(), cmake.size())) {
    printError("cannot write into '" + out + "'");
    return kExitError;
  }
  llvm::json::Array inputs, outputs;
  for (const auto &t : program.inputs)
    inputs.push_back(tensorJson(t, false));
  for (const auto &t : program.outputs)
    outputs.push_back(tensorJson(t, true));
  llvm::json::Object manifest{
      {"model", modelName},
      {"source_model", args.model},
      {"target", args.target},
      {"world_size", args.worldSize},
      {"plan", emitOptions.plan},
      {"plan_fingerprint", emitOptions.planFingerprint},
      {"arena_bytes", program.arenaBytes},
      {"ranks", llvm::json::Array{llvm::json::Object{
                    {"rank", 0},
                    {"source", "rank0.cpp"},
                    {"weights", "rank0.weights"},
                    {"weights_bytes", (int64_t)program.weights.size()},
                    {"weights_checksum",
                     llvm::utohexstr(program.weightsChecksum, true, 16)},
                    {"arena_bytes", program.arenaBytes}}}},
      {"inputs", std::move(inputs)},
      {"outputs", std::move(outputs)},
  };
  std::string manifestText;
  llvm::raw_string_ostream mos(manifestText);
  mos << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest))) << "\n";
  mos.flush();
  if (!writeFile(manifestPath, manifestText.data(), manifestText.size())) {
    printError("cannot write '" + manifestPath + "'");
    return kExitError;
  }
  if (!args.quiet)
    llvm::outs() << "compiled \"" << modelName << "\" for 1 rank (cpu) -> "
                 << out << "\n"
                 << "  rank 0: arena " << program.arenaBytes
                 << " bytes (peak), weights " << program.weights.size()
                 << " bytes, collectives: none\n";
  return kExitOk;
}

//===----------------------------------------------------------------------===//
// ssc run
//===----------------------------------------------------------------------===//

struct RunArgs {
  std::string dir;
  std::vector<std::string> inputs;
  std::string outputDir = ".";
  int threads = 1;
  int warmup = 0;
  int iterations = 1;
};

/// Runs a program, returning its exit code (or -1 if it could not start).
int execute(llvm::StringRef program, llvm::ArrayRef<std::string> argv,
            std::optional<llvm::StringRef> redirectOut = std::nullopt) {
  llvm::SmallVector<llvm::StringRef> refs(argv.begin(), argv.end());
  std::string error;
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, redirectOut,
                                                redirectOut};
  int rc = llvm::sys::ExecuteAndWait(
      program, refs, std::nullopt,
      redirectOut ? llvm::ArrayRef(redirects)
                  : llvm::ArrayRef<std::optional<llvm::StringRef>>{},
      0, 0, &error);
  if (rc < 0 && !error.empty())
    printError(program + ": " + error);
  return rc;
}

bool newerThan(const std::string &a, const std::string &b) {
  // Nanosecond times: a recompile within the same second must rebuild.
  struct stat sa, sb;
  if (stat(a.c_str(), &sa) != 0 || stat(b.c_str(), &sb) != 0)
    return false;
  if (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec)
    return sa.st_mtim.tv_sec > sb.st_mtim.tv_sec;
  return sa.st_mtim.tv_nsec > sb.st_mtim.tv_nsec;
}

int run(const RunArgs &args) {
  std::string manifestPath = args.dir + "/manifest.json";
  auto buffer = llvm::MemoryBuffer::getFile(manifestPath);
  if (!buffer) {
    printError("'" + args.dir +
               "' is not a compiled program (no manifest.json); run ssc "
               "compile first");
    return kExitError;
  }
  auto manifest = llvm::json::parse((*buffer)->getBuffer());
  if (!manifest || !manifest->getAsObject()) {
    if (!manifest)
      llvm::consumeError(manifest.takeError());
    printError("'" + manifestPath + "' is not valid JSON");
    return kExitError;
  }
  auto *ranks = manifest->getAsObject()->getArray("ranks");
  if (!ranks || ranks->empty()) {
    printError("'" + manifestPath + "' lists no ranks");
    return kExitError;
  }
  std::string buildDir = args.dir + "/build";
  std::string binary = buildDir + "/rank0";
  std::string source = args.dir + "/rank0.cpp";
  if (!newerThan(binary, source)) {
    auto cmakePath = llvm::sys::findProgramByName("cmake");
    if (!cmakePath) {
      printError("cmake not found on PATH; needed to build the program");
      return kExitError;
    }
    std::string log = args.dir + "/build.log";
    if (execute(*cmakePath,
                {"cmake", "-S", args.dir, "-B", buildDir,
                 "-DCMAKE_BUILD_TYPE=Release"},
                llvm::StringRef(log)) != 0 ||
        execute(*cmakePath, {"cmake", "--build", buildDir, "-j", "2"},
                llvm::StringRef(log)) != 0) {
      printError("building '" + args.dir + "' failed; see " + log);
      return kExitError;
    }
  }
  std::vector<std::string> argv = {
      binary,         "--weights", args.dir + "/rank0.weights", "--output-dir",
      args.outputDir, "--threads", std::to_string(args.threads)};
  if (args.iterations != 1 || args.warmup != 0) {
    argv.push_back("--warmup");
    argv.push_back(std::to_string(args.warmup));
    argv.push_back("--iterations");
    argv.push_back(std::to_string(args.iterations));
  }
  for (const auto &in : args.inputs) {
    argv.push_back("--input");
    argv.push_back(in);
  }
  int rc = execute(binary, argv);
  if (rc != 0) {
    if (rc > 0)
      printError("rank 0 exited with code " + std::to_string(rc));
    return kExitError;
  }
  return kExitOk;
}

//===----------------------------------------------------------------------===//
// ssc inspect
//===----------------------------------------------------------------------===//

int64_t product(llvm::ArrayRef<int64_t> dims) {
  return std::accumulate(dims.begin(), dims.end(), int64_t(1),
                         std::multiplies<int64_t>());
}

/// Multiply-accumulate count x2 for contractions, one op per element
/// otherwise.
int64_t estimateFlops(Operation *op) {
  auto shapeOf = [](Value v) {
    return cast<RankedTensorType>(v.getType()).getShape();
  };
  if (op->getNumResults() == 0)
    return 0;
  int64_t outElems = product(shapeOf(op->getResult(0)));
  if (auto mm = dyn_cast<ss::graph::MatMulOp>(op))
    return 2 * outElems * shapeOf(mm.getLhs()).back();
  if (auto g = dyn_cast<ss::graph::GemmOp>(op)) {
    auto a = shapeOf(g.getA());
    return 2 * outElems * (g.getTransA() ? a[0] : a[1]);
  }
  if (isa<ss::graph::ConvOp>(op)) {
    auto w = shapeOf(op->getOperand(1));
    return 2 * outElems * product(w.drop_front(1));
  }
  if (isa<ss::graph::ConvTransposeOp>(op)) {
    auto w = shapeOf(op->getOperand(1));
    auto x = shapeOf(op->getOperand(0));
    return 2 * product(x) * product(w.drop_front(1));
  }
  if (isa<ss::graph::ConstantOp, ss::graph::ReshapeOp>(op))
    return 0;
  return outElems;
}

int inspect(const std::string &model,
            const std::vector<std::string> &inputShapes) {
  std::vector<ss::OnnxNodeInfo> nodes;
  std::string error;
  if (!ss::listOnnxNodes(model, nodes, error)) {
    printError(error);
    return kExitError;
  }
  auto supported = ss::supportedOnnxOps();
  std::map<std::string, int> opCounts;
  std::map<std::string, std::vector<std::string>> unsupported;
  for (const auto &n : nodes) {
    std::string key = n.domain.empty() || n.domain == "ai.onnx"
                          ? n.opType
                          : n.domain + "." + n.opType;
    ++opCounts[key];
    bool ok = (n.domain.empty() || n.domain == "ai.onnx") &&
              std::binary_search(supported.begin(), supported.end(), n.opType);
    if (!ok)
      unsupported[key].push_back(n.name);
  }
  llvm::outs() << "model: " << model << "\n"
               << "nodes: " << nodes.size() << "\n\nop types:\n";
  for (const auto &[op, count] : opCounts)
    llvm::outs() << llvm::formatv("  {0,-24} {1,6}{2}\n", op, count,
                                  unsupported.count(op) ? "  (unsupported)"
                                                        : "");
  llvm::outs() << "\nunsupported ops: ";
  if (unsupported.empty())
    llvm::outs() << "none\n";
  else {
    llvm::outs() << unsupported.size() << "\n";
    for (const auto &[op, names] : unsupported)
      llvm::outs() << "  " << op << ": " << names.size() << " node(s), first \""
                   << names.front() << "\"\n";
  }

  ss::ImportOptions options;
  if (!parseInputShapes(inputShapes, options.inputShapes))
    return kExitError;
  MLIRContext context;
  context.disableMultithreading();
  installDiagnosticPrinter(context);
  ss::ImportStatus status;
  auto module = ss::importOnnxModel(context, model, options, status);
  if (!module) {
    llvm::outs() << "\nshapes, parameters and FLOPs: unavailable (import "
                    "failed, see errors)\n";
    return unsupported.empty() && status != ss::ImportStatus::Unsupported
               ? kExitError
               : kExitUnsupported;
  }
  auto func = module->lookupSymbol<func::FuncOp>("main");
  int64_t params = 0, flops = 0;
  llvm::outs() << "\ninputs:\n";
  for (auto arg : func.getArguments())
    llvm::outs() << "  "
                 << func.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                      "ss.name")
                        .getValue()
                 << ": " << arg.getType() << "\n";
  llvm::outs() << "\nops (after import and shape folding):\n";
  for (Operation &op : func.getBody().front().without_terminator()) {
    if (auto c = dyn_cast<ss::graph::ConstantOp>(op)) {
      auto t = cast<RankedTensorType>(c.getType());
      if (t.getElementType().isF32())
        params += t.getNumElements();
      continue;
    }
    int64_t f = estimateFlops(&op);
    flops += f;
    std::string name;
    if (auto loc = dyn_cast<NameLoc>(op.getLoc()))
      name = loc.getName().str();
    std::string types;
    llvm::raw_string_ostream ts(types);
    llvm::interleaveComma(op.getResultTypes(), ts);
    ts.flush();
    llvm::outs() << llvm::formatv("  {0,-18} {1,-40} -> {2}\n",
                                  op.getName().stripDialect(), name, types);
  }
  llvm::outs() << "\nparameters: " << params << " (float32 constants)\n"
               << "FLOPs per step: " << flops << "\n";
  for (auto t : func.getFunctionType().getResults())
    (void)t;
  return kExitOk;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"ssc: the SuperScaler compiler. Compiles an ONNX model into "
               "standalone per-rank C++ programs, builds and runs them."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");

  CompileArgs compileArgs;
  auto *compileCmd = app.add_subcommand(
      "compile", "Compile MODEL.onnx into rank programs in the directory OUT");
  compileCmd->add_option("model", compileArgs.model, "The ONNX model file")
      ->required();
  compileCmd
      ->add_option("-o,--output", compileArgs.output,
                   "Output directory (with --emit=mlir: a file, '-' for "
                   "stdout)")
      ->required();
  compileCmd
      ->add_option("--target", compileArgs.target,
                   "Code generation target (only cpu is implemented so far)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  compileCmd
      ->add_option("--world-size", compileArgs.worldSize,
                   "Number of ranks (only 1 until parallel plans land)")
      ->capture_default_str();
  compileCmd->add_option(
      "--input-shape", compileArgs.inputShapes,
      "Pin an input's shape: NAME=D0,D1,... (repeatable; required for "
      "inputs with dynamic dimensions)");
  compileCmd->add_option(
      "--freeze-input", compileArgs.frozenInputs,
      "Bind an input to a fixed value: NAME=FILE.npy (repeatable). It "
      "becomes a constant, so shape operands computed from it fold, and the "
      "program no longer takes it");
  compileCmd
      ->add_option("--emit", compileArgs.emit,
                   "What to write: cpp (rank programs) or mlir (the IR)")
      ->check(CLI::IsMember({"cpp", "mlir"}))
      ->capture_default_str();
  compileCmd->add_option("--stop-after", compileArgs.stopAfter,
                         "With --emit=mlir, stop after this stage: import, "
                         "fold, fuse, plan-memory");
  compileCmd->add_flag("--print-ir-after-all", compileArgs.printIrAfterAll,
                       "Print the IR after every pass to stderr");
  compileCmd->add_option("--debug-only", compileArgs.debugOnly,
                         "Log what these passes do to stderr: a comma list "
                         "of pass names (graph-plan-memory, ...) or 'all'");
  compileCmd->add_flag("-q,--quiet", compileArgs.quiet,
                       "Do not print the compile report");

  RunArgs runArgs;
  auto *runCmd = app.add_subcommand(
      "run", "Build (if needed) and run the programs in OUT, writing one .npy "
             "per model output");
  runCmd->add_option("dir", runArgs.dir, "A directory made by ssc compile")
      ->required();
  runCmd->add_option("--input", runArgs.inputs,
                     "Model input: NAME=FILE.npy (repeatable)");
  runCmd
      ->add_option("--output-dir", runArgs.outputDir,
                   "Where to write outputs (NAME.npy, with characters "
                   "outside [A-Za-z0-9._-] replaced by _)")
      ->capture_default_str();
  runCmd->add_option("--threads", runArgs.threads, "Threads per rank")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  runCmd->add_option("--warmup", runArgs.warmup, "Untimed steps first")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  runCmd
      ->add_option("--iterations", runArgs.iterations,
                   "Timed steps; above 1 prints latency statistics")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  std::string inspectModel;
  std::vector<std::string> inspectShapes;
  auto *inspectCmd = app.add_subcommand(
      "inspect", "Print a model's ops, shapes, parameter count, FLOPs and "
                 "unsupported ops");
  inspectCmd->add_option("model", inspectModel, "The ONNX model file")
      ->required();
  inspectCmd->add_option("--input-shape", inspectShapes,
                         "Pin an input's shape: NAME=D0,D1,... (repeatable)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e);
  }
  if (compileCmd->parsed())
    return compile(compileArgs);
  if (runCmd->parsed())
    return run(runArgs);
  if (inspectCmd->parsed())
    return inspect(inspectModel, inspectShapes);
  return kExitError;
}
