//===- ssc.cpp - the SuperScaler compiler driver --------------------------===//
//
// `ssc compile` imports an ONNX model (or reads MLIR), runs the pass
// pipeline and writes the rank programs; `ssc run` builds and launches them
// (under mpirun for more than one rank); `ssc inspect` reports what a model
// contains and what the compiler supports of it.
//
//===----------------------------------------------------------------------===//

#include "Autodiff/Autodiff.h"
#include "Codegen/CppEmitter.h"
#include "Codegen/RankFunctions.h"
#include "Debug.h"
#include "Dist/DistDialect.h"
#include "Graph/GraphDialect.h"
#include "Import/OnnxExport.h"
#include "Import/OnnxImporter.h"
#include "Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/Timing.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

#include "ssrt/checkpoint.h"
#include "ssrt/npy.h"
#include "ssrt/weights.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <numeric>
#include <sys/stat.h>
#include <unistd.h>

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
      where = file.getFilename().str() +
              (file.getLine() ? ":" + std::to_string(file.getLine()) : "") +
              ": ";
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

std::string absolutePath(const std::string &path) {
  llvm::SmallString<256> absolute(path);
  llvm::sys::fs::make_absolute(absolute);
  llvm::sys::path::remove_dots(absolute, /*remove_dot_dot=*/true);
  return absolute.str().str();
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

/// The build of the emitted programs: one executable per distinct source,
/// linked with ssrt, MPI (the runtime's communication), BLAS and OpenMP.
std::string runtimeCMakeLists(const ss::EmittedPlan &plan) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "# Builds the rank programs emitted by ssc against the ssrt runtime.\n"
     << "cmake_minimum_required(VERSION 3.20)\n"
     << "project(superscaler_ranks C CXX)\n"
     << "set(CMAKE_CXX_STANDARD 17)\n"
     << "if(NOT CMAKE_BUILD_TYPE)\n  set(CMAKE_BUILD_TYPE Release)\nendif()\n"
     << "set(SSRT_INCLUDE_DIR \"" << SS_RUNTIME_INCLUDE_DIR
     << "\" CACHE PATH \"ssrt headers\")\n"
     << "set(SSRT_LIBRARY \"" << SS_RUNTIME_LIBRARY
     << "\" CACHE FILEPATH \"ssrt static library\")\n"
     << "set(SSRT_BLAS_LIBRARY \"" << SS_BLAS_LIBRARY
     << "\" CACHE FILEPATH \"OpenBLAS (OpenMP build)\")\n"
     << "find_package(OpenMP REQUIRED COMPONENTS CXX)\n"
     << "find_package(MPI REQUIRED COMPONENTS C)\n";
  for (const ss::ProgramArtifacts &program : plan.programs) {
    const std::string &r = program.name;
    os << "\n# ranks "
       << llvm::join(
              llvm::map_range(program.ranks,
                              [](int rank) { return std::to_string(rank); }),
              ", ")
       << "\n"
       << "add_executable(" << r << " " << r << ".cpp)\n"
       << "target_include_directories(" << r
       << " PRIVATE ${SSRT_INCLUDE_DIR})\n"
       << "target_link_libraries(" << r << " PRIVATE ${SSRT_LIBRARY} "
       << "MPI::MPI_C ${SSRT_BLAS_LIBRARY} OpenMP::OpenMP_CXX)\n";
  }
  return s;
}

std::string npyFileName(const std::string &name) {
  std::string file;
  for (char c : name)
    file += (llvm::isAlnum(c) || c == '.' || c == '_' || c == '-') ? c : '_';
  return file + ".npy";
}

llvm::json::Value tensorJson(const ss::ProgramTensor &t, bool withFile) {
  llvm::json::Object o{{"name", t.name},
                       {"dtype", t.dtype},
                       {"shape", llvm::json::Array(t.shape)}};
  if (withFile)
    o["file"] = npyFileName(t.name);
  return o;
}

std::string joinInts(llvm::ArrayRef<int64_t> values) {
  return llvm::join(
      llvm::map_range(values, [](int64_t v) { return std::to_string(v); }),
      ", ");
}

//===----------------------------------------------------------------------===//
// ssc compile
//===----------------------------------------------------------------------===//

/// `ssc compile --train` options: the loss, what trains, the optimizer.
struct TrainArgs {
  bool enabled = false;
  std::string loss; // an output name, cross-entropy or mse
  std::string logits;
  std::string labels = "labels";
  std::string target = "target";
  std::vector<std::string> freeze;
  std::string optimizer = "adamw";
  double lr = 1e-3;
  double momentum = 0;
  double weightDecay = 0;
  std::string betas = "0.9,0.999";
  double epsilon = 1e-8;
  std::string lrSchedule = "constant";
  int64_t warmupSteps = 0;
  int64_t totalSteps = 0;
  double clipGradNorm = 0;
  std::vector<std::string> recompute;
  int64_t microbatches = 1;
  int64_t gradBucketBytes = 25 << 20;
};

struct CompileArgs {
  TrainArgs train;
  std::string model;
  std::string output;
  std::string target = "cpu";
  int worldSize = 0; // 0: the product of the plan's degrees, else 1
  std::string plan;
  std::string planFile;
  std::vector<std::string> passPlugins;
  std::string pluginPipeline;
  std::vector<std::string> inputShapes;
  std::vector<std::string> frozenInputs;
  std::string emit = "cpp";
  std::string stopAfter;
  bool printIrAfterAll = false;
  bool timePasses = false;
  std::string debugOnly;
  bool quiet = false;
};

/// The pipeline stages of DESIGN.md section 2, in order; `--stop-after`
/// names one. The dist stages run only for a parallel compilation.
const char *const kStages[] = {"import",   "fold",  "fuse",
                               "autodiff", "plan",  "communicate",
                               "schedule", "split", "plan-memory"};
constexpr int kStageCount = sizeof(kStages) / sizeof(kStages[0]);

int stageIndex(llvm::StringRef name) {
  for (int i = 0; i < kStageCount; ++i)
    if (name == kStages[i])
      return i;
  return -1;
}

/// Where the pipeline starts for an MLIR input, from what the IR holds:
/// graph IR runs everything after import; a function bound to devices still
/// holding `dist.require`/`dist.assemble` (after dist-apply-plan) resumes at
/// communicate; scheduled device IR at split; rank functions at
/// plan-memory.
int entryStage(ModuleOp module) {
  if (module->hasAttr(ss::kWorldSizeAttr))
    return stageIndex("plan-memory");
  bool bound = false;
  for (auto func : module.getOps<func::FuncOp>())
    bound |= func->hasAttr(ss::kWorldSizeAttr);
  if (!bound)
    return stageIndex("fold");
  bool unresolved = false;
  module.walk([&](Operation *op) {
    unresolved |= isa<ss::dist::RequireOp, ss::dist::AssembleOp>(op);
  });
  return unresolved ? stageIndex("communicate") : stageIndex("split");
}

/// The world size a partitioned module records (on the module after the
/// split, on the function before it); 1 when it records none.
int64_t worldSizeOf(ModuleOp module) {
  if (auto attr = module->getAttrOfType<IntegerAttr>(ss::kWorldSizeAttr))
    return attr.getInt();
  for (auto func : module.getOps<func::FuncOp>())
    if (auto attr = func->getAttrOfType<IntegerAttr>(ss::kWorldSizeAttr))
      return attr.getInt();
  return 1;
}

OwningOpRef<ModuleOp> parseMlirModel(MLIRContext &context,
                                     const std::string &path) {
  context.loadDialect<ss::graph::GraphDialect, ss::dist::DistDialect,
                      func::FuncDialect>();
  return parseSourceFile<ModuleOp>(path, &context);
}

/// Removes rank sources and weights a previous compilation into the same
/// directory left behind, so the directory holds exactly this plan.
void removeStaleRankFiles(const std::string &dir, const ss::EmittedPlan &plan) {
  std::error_code ec;
  llvm::Regex pattern("^rank[0-9]+\\.(cpp|weights)$");
  std::vector<std::string> stale;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec)) {
    std::string name = llvm::sys::path::filename(it->path()).str();
    if (!pattern.match(name))
      continue;
    bool current = false;
    for (const auto &program : plan.programs)
      current |= name == program.name + ".cpp";
    for (const auto &rank : plan.ranks)
      current |= name == ss::weightsFileName(rank.rank);
    if (!current)
      stale.push_back(it->path());
  }
  for (const std::string &path : stale)
    llvm::sys::fs::remove(path);
}

/// A rank's weights file by what it holds.
struct MemoryBreakdown {
  int64_t parameters = 0, optimizerState = 0, otherWeights = 0;
};

bool isOptimizerState(llvm::StringRef name) {
  return name.ends_with(ss::kAdamMSuffix) || name.ends_with(ss::kAdamVSuffix) ||
         name.ends_with(ss::kMomentumSuffix);
}

MemoryBreakdown memoryBreakdown(const ss::RankArtifacts &rank) {
  MemoryBreakdown m;
  for (const ss::VariableRecord &v : rank.variables) {
    int64_t bytes = 4;
    for (int64_t size : v.shape)
      bytes *= size;
    (isOptimizerState(v.name) ? m.optimizerState : m.parameters) += bytes;
  }
  m.otherWeights = rank.weightsBytes - m.parameters - m.optimizerState;
  return m;
}

void printCompileReport(const ss::EmittedPlan &plan,
                        const std::string &modelName, const CompileArgs &args) {
  auto &os = llvm::outs();
  os << "compiled \"" << modelName << "\" for " << plan.worldSize
     << (plan.worldSize == 1 ? " rank" : " ranks") << " (" << args.target;
  if (plan.worldSize > 1 || plan.plan.rfind("single rank", 0) != 0)
    os << ", plan " << plan.plan;
  os << ") -> " << args.output << "\n";
  int64_t arenaTotal = 0, weightsTotal = 0, commTotal = 0, commCount = 0;
  for (const ss::RankArtifacts &rank : plan.ranks) {
    const ss::ProgramArtifacts &program = plan.programs[rank.program];
    arenaTotal += rank.arenaBytes;
    weightsTotal += rank.weightsBytes;
    os << "  rank " << rank.rank << ": arena " << rank.arenaBytes
       << " bytes (peak), weights " << rank.weightsBytes << " bytes, ";
    if (plan.programs.size() > 1)
      os << "source " << program.name << ".cpp, ";
    os << "collectives: ";
    if (rank.communication.empty())
      os << "none\n";
    else
      os << rank.communication.size() << " per step\n";
    if (args.train.enabled) {
      MemoryBreakdown m = memoryBreakdown(rank);
      os << "    memory: parameters " << m.parameters << ", optimizer state "
         << m.optimizerState << ", other weights " << m.otherWeights
         << "; arena peak " << rank.arenaBytes << " (live at the peak: "
         << "activations " << rank.peakActivationBytes << ", gradients "
         << rank.peakBackwardBytes << ") bytes\n";
    }
    for (const ss::CommunicationRecord &c : rank.communication) {
      std::string with =
          c.kind == "send"   ? "to rank " + std::to_string(c.group[1])
          : c.kind == "recv" ? "from rank " + std::to_string(c.group[0])
                             : "group [" + joinInts(c.group) + "]";
      os << llvm::formatv("    {0,-15}{1,-22}{2,12} bytes\n", c.kind, with,
                          c.bytes);
      commTotal += c.bytes;
      ++commCount;
    }
  }
  os << "  total: arena " << arenaTotal << " bytes, weights " << weightsTotal
     << " bytes, " << commCount << " collectives moving " << commTotal
     << " bytes per step; " << plan.programs.size() << " distinct source"
     << (plan.programs.size() == 1 ? "" : "s") << " for " << plan.worldSize
     << (plan.worldSize == 1 ? " rank" : " ranks") << "\n";
}

int compile(CompileArgs args) {
  // --target is the code generation target, or mse's target input.
  if (args.target != "cpu" && args.target != "cuda") {
    if (!args.train.enabled || args.train.loss != "mse") {
      printError("--target must be cpu or cuda (or, with --train --loss "
                 "mse, the name of the target input), got '" +
                 args.target + "'");
      return kExitError;
    }
    args.train.target = args.target;
    args.target = "cpu";
  }
  if (args.target != "cpu") {
    printError("--target " + args.target +
               " is not available yet; supported: cpu");
    return kExitUnsupported;
  }
  if (args.worldSize < 0) {
    printError("--world-size must be positive");
    return kExitError;
  }
  int stopStage = kStageCount - 1;
  if (!args.stopAfter.empty()) {
    stopStage = stageIndex(args.stopAfter);
    if (stopStage < 0) {
      std::string all;
      for (const char *stage : kStages)
        all += std::string(all.empty() ? "" : ", ") + stage;
      printError("--stop-after " + args.stopAfter + " is not a stage (" + all +
                 ")");
      return kExitError;
    }
  }
  if (args.emit != "cpp" && args.emit != "mlir") {
    printError("--emit must be cpp or mlir");
    return kExitError;
  }
  if (!args.stopAfter.empty() && args.emit != "mlir") {
    printError("--stop-after needs --emit=mlir");
    return kExitError;
  }
  const TrainArgs &train = args.train;
  double beta1 = 0.9, beta2 = 0.999;
  if (train.enabled) {
    if (train.loss.empty()) {
      printError("--train needs --loss: the name of a scalar model output, "
                 "cross-entropy (with --logits, --labels) or mse (with "
                 "--target)");
      return kExitError;
    }
    llvm::StringRef b1, b2;
    std::tie(b1, b2) = llvm::StringRef(train.betas).split(',');
    if (b1.trim().getAsDouble(beta1) || b2.trim().getAsDouble(beta2)) {
      printError("--betas expects B1,B2, got '" + train.betas + "'");
      return kExitError;
    }
  }
  // An earlier compilation's manifest goes first: if this one fails, the
  // directory must not look like a finished compilation of anything.
  if (args.emit == "cpp") {
    std::string staleManifest = args.output + "/manifest.json";
    if (llvm::sys::fs::exists(staleManifest))
      llvm::sys::fs::remove(staleManifest);
  }
  ss::enableDebugTypes(args.debugOnly);
  MLIRContext context;
  context.disableMultithreading();
  // Diagnostics name the ONNX node; dumping the whole function after them
  // would bury the message.
  context.printOpOnDiagnostic(false);
  installDiagnosticPrinter(context);

  // Plugins register their passes before any pipeline text is parsed.
  for (const std::string &path : args.passPlugins) {
    auto plugin = PassPlugin::load(path);
    if (!plugin) {
      printError("--load-pass-plugin " + path + ": " +
                 llvm::toString(plugin.takeError()));
      return kExitError;
    }
    plugin->registerPassRegistryCallbacks();
  }

  bool mlirInput = llvm::StringRef(args.model).ends_with(".mlir");
  OwningOpRef<ModuleOp> module;
  int entry = stageIndex("fold");
  if (mlirInput) {
    if (!args.inputShapes.empty() || !args.frozenInputs.empty()) {
      printError("--input-shape and --freeze-input apply to ONNX models, not "
                 "to MLIR input");
      return kExitError;
    }
    module = parseMlirModel(context, args.model);
    if (!module)
      return kExitError;
    entry = entryStage(*module);
  } else {
    ss::ImportOptions options;
    options.keepParameters = args.train.enabled;
    if (!parseInputShapes(args.inputShapes, options.inputShapes) ||
        !parseFrozenInputs(args.frozenInputs, options.frozenInputs))
      return kExitError;
    ss::ImportStatus status;
    module = ss::importOnnxModel(context, args.model, options, status);
    if (!module)
      return status == ss::ImportStatus::Unsupported ? kExitUnsupported
                                                     : kExitError;
  }

  // The one switch between the single-rank pipeline and the parallel one:
  // without a plan, plan passes or more than one rank, the dist stages are
  // skipped and the model's function is rank 0's program.
  bool parallel = args.worldSize > 1 || !args.plan.empty() ||
                  !args.planFile.empty() || !args.pluginPipeline.empty();
  bool alreadyPartitioned = entry > stageIndex("plan");
  if (train.enabled && alreadyPartitioned) {
    printError("--train applies to a model or graph IR, not to '" + args.model +
               "', which is already partitioned");
    return kExitError;
  }
  if (alreadyPartitioned) {
    if (!args.plan.empty() || !args.planFile.empty() ||
        !args.pluginPipeline.empty()) {
      printError("'" + args.model +
                 "' is already partitioned; --plan, --plan-file and "
                 "--plugin-pipeline apply to graph IR only");
      return kExitError;
    }
    int64_t irWorld = worldSizeOf(*module);
    if (args.worldSize != 0 && args.worldSize != irWorld) {
      printError("--world-size " + std::to_string(args.worldSize) + ": '" +
                 args.model + "' is partitioned for " +
                 std::to_string(irWorld) + " ranks");
      return kExitError;
    }
    parallel = true;
  }
  auto runs = [&](const char *stage) {
    int i = stageIndex(stage);
    bool distStage = i >= stageIndex("plan") && i <= stageIndex("split");
    return i >= entry && i <= stopStage && (parallel || !distStage);
  };
  if (!parallel && stopStage >= stageIndex("plan") &&
      stopStage <= stageIndex("split")) {
    printError("--stop-after " + args.stopAfter +
               " needs a parallel compilation (--plan, --plan-file, "
               "--plugin-pipeline or --world-size above 1)");
    return kExitError;
  }
  if (stopStage < entry && !args.stopAfter.empty() &&
      args.stopAfter != "import") {
    printError("--stop-after " + args.stopAfter + ": '" + args.model +
               "' is already past that stage");
    return kExitError;
  }

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

  // A training step's samples: the leading dim of the first model input.
  int64_t samplesPerStep = 1;
  for (auto func : module->getOps<func::FuncOp>())
    if (func.getNumArguments() > 0)
      if (auto type = dyn_cast<RankedTensorType>(func.getArgument(0).getType());
          type && type.getRank() > 0) {
        samplesPerStep = type.getDimSize(0);
        break;
      }

  PassManager pm(&context);
  // Pass timing is reported to stderr when the pass manager is destroyed.
  DefaultTimingManager timing;
  TimingScope timingRoot;
  if (args.timePasses) {
    timing.setEnabled(true);
    timingRoot = timing.getRootScope();
    pm.enableTiming(timingRoot);
  }
  if (args.printIrAfterAll)
    pm.enableIRPrinting([](Pass *, Operation *) { return false; },
                        [](Pass *, Operation *) { return true; },
                        /*printModuleScope=*/true,
                        /*printAfterOnlyOnChange=*/false);
  if (runs("fold")) {
    // Parameters become variables first, so nothing computed from them is
    // folded into a constant.
    if (train.enabled) {
      ss::TrainVariablesOptions options;
      options.freeze = train.freeze;
      pm.addPass(ss::createTrainVariables(options));
    }
    pm.addPass(ss::createGraphFoldConstants());
  }
  // Fusions rewrite parameters and ops into forms without gradient rules;
  // a training step keeps the model's own ops.
  if (runs("fuse") && !train.enabled) {
    pm.addPass(ss::createGraphFoldBatchNorm());
    pm.addPass(ss::createGraphFuseConvActivation());
  }
  if (runs("autodiff") && train.enabled) {
    ss::TrainAppendLossOptions loss;
    bool appended = train.loss == "cross-entropy" || train.loss == "mse";
    loss.kind = appended ? train.loss : "output";
    loss.loss = appended ? "" : train.loss;
    loss.logits = train.logits;
    loss.labels = train.labels;
    loss.target = train.target;
    pm.addPass(ss::createTrainAppendLoss(loss));
    ss::TrainAutodiffOptions autodiff;
    autodiff.optimizer = train.optimizer;
    autodiff.lr = train.lr;
    autodiff.momentum = train.momentum;
    autodiff.weightDecay = train.weightDecay;
    autodiff.beta1 = beta1;
    autodiff.beta2 = beta2;
    autodiff.epsilon = train.epsilon;
    autodiff.schedule = train.lrSchedule;
    autodiff.warmupSteps = train.warmupSteps;
    autodiff.totalSteps = train.totalSteps;
    autodiff.clipNorm = train.clipGradNorm;
    autodiff.microbatches = train.microbatches;
    pm.addPass(ss::createTrainAutodiff(autodiff));
    if (!train.recompute.empty()) {
      ss::TrainRecomputeOptions recompute;
      recompute.groups = train.recompute;
      pm.addPass(ss::createTrainRecompute(recompute));
    }
    pm.addPass(ss::createGraphFoldConstants());
  }
  if (runs("plan")) {
    // Out-of-tree plan passes decide first, with the same primitives;
    // dist-apply-plan leaves the ops they placed alone and plans the rest.
    std::string error;
    llvm::raw_string_ostream errorStream(error);
    if (!args.pluginPipeline.empty() &&
        failed(parsePassPipeline(args.pluginPipeline, pm, errorStream))) {
      printError("--plugin-pipeline '" + args.pluginPipeline + "': " + error);
      return kExitError;
    }
    ss::DistApplyPlanOptions planOptions;
    planOptions.plan = args.plan;
    planOptions.planFile = args.planFile;
    planOptions.worldSize = args.worldSize;
    pm.addPass(ss::createDistApplyPlan(planOptions));
  }
  if (runs("communicate")) {
    pm.addPass(ss::createDistInsertCommunication());
    if (train.enabled && train.gradBucketBytes > 0) {
      ss::DistBucketAllReduceOptions bucket;
      bucket.bucketBytes = train.gradBucketBytes;
      pm.addPass(ss::createDistBucketAllReduce(bucket));
    }
  }
  if (runs("schedule"))
    pm.addPass(ss::createDistSchedule());
  if (runs("split"))
    pm.addPass(ss::createDistSplitRanks());
  if (runs("plan-memory"))
    pm.addPass(ss::createGraphPlanMemory());
  if (failed(pm.run(*module)))
    return kExitError;
  if (args.emit == "mlir")
    return writeMlir();

  std::string modelName =
      llvm::sys::path::stem(args.model).str(); // MLIR input without a name
  if (auto n = (*module)->getAttrOfType<StringAttr>("ss.model"))
    modelName = n.str();

  ss::EmitOptions emitOptions;
  emitOptions.modelName = modelName;
  emitOptions.samplesPerStep = samplesPerStep;
  if (!parallel)
    emitOptions.plan = "single rank, no partitioning (world size 1)";
  else if (alreadyPartitioned)
    emitOptions.plan =
        "as partitioned in " + llvm::sys::path::filename(args.model).str();
  else {
    std::string described = args.plan;
    if (!args.planFile.empty())
      described +=
          (described.empty() ? "plan file " : " + plan file ") + args.planFile;
    if (!args.pluginPipeline.empty())
      described += (described.empty() ? "" : " + ") + args.pluginPipeline;
    emitOptions.plan = described.empty() ? "replicated" : described;
  }
  // The fingerprint identifies the compiled plan; ranks exchange it at start.
  std::ifstream modelFile(args.model, std::ios::binary);
  std::string modelBytes((std::istreambuf_iterator<char>(modelFile)),
                         std::istreambuf_iterator<char>());
  std::string planText = emitOptions.plan + "|" + args.pluginPipeline + "|" +
                         std::to_string(args.worldSize);
  if (!args.planFile.empty()) {
    std::ifstream planFile(args.planFile, std::ios::binary);
    planText.append((std::istreambuf_iterator<char>(planFile)),
                    std::istreambuf_iterator<char>());
  }
  uint64_t fp = ssrt::fnv1a64(modelBytes.data(), modelBytes.size());
  fp = ssrt::fnv1a64(planText.data(), planText.size(), fp);
  emitOptions.planFingerprint = llvm::utohexstr(fp, /*LowerCase=*/true, 16);
  ss::EmittedPlan plan;
  if (failed(ss::emitCppPrograms(*module, emitOptions, plan)))
    return kExitError;

  // Write into the output directory; manifest.json goes last, so a
  // directory without it never looks like a finished compilation.
  const std::string &out = args.output;
  std::string manifestPath = out + "/manifest.json";
  if (auto ec = llvm::sys::fs::create_directories(out)) {
    printError("cannot create '" + out + "': " + ec.message());
    return kExitError;
  }
  removeStaleRankFiles(out, plan);
  std::string cmake = runtimeCMakeLists(plan);
  bool written = writeFile(out + "/CMakeLists.txt", cmake.data(), cmake.size());
  for (const ss::ProgramArtifacts &program : plan.programs)
    written =
        written && writeFile(out + "/" + program.name + ".cpp",
                             program.source.data(), program.source.size());
  // Identical shards (data-parallel replicas) are written once and
  // hard-linked, falling back to a copy where links are not possible.
  for (const ss::RankArtifacts &rank : plan.ranks) {
    if (!written)
      break;
    std::string path = out + "/" + ss::weightsFileName(rank.rank);
    if (rank.weightsSameAs < 0) {
      written = writeFile(path, rank.weights.data(), rank.weights.size());
      continue;
    }
    std::string original = out + "/" + ss::weightsFileName(rank.weightsSameAs);
    llvm::sys::fs::remove(path);
    written = !llvm::sys::fs::create_hard_link(original, path) ||
              !llvm::sys::fs::copy_file(original, path);
  }
  if (!written) {
    printError("cannot write into '" + out + "'");
    return kExitError;
  }

  llvm::json::Array inputs, outputs, programs, ranks, groups;
  for (const auto &t : plan.inputs)
    inputs.push_back(tensorJson(t, false));
  for (const auto &t : plan.outputs)
    outputs.push_back(tensorJson(t, true));
  for (const auto &group : plan.groups)
    groups.push_back(llvm::json::Array(group));
  int64_t maxArena = 0;
  for (const ss::ProgramArtifacts &program : plan.programs)
    programs.push_back(
        llvm::json::Object{{"source", program.name + ".cpp"},
                           {"binary", program.name},
                           {"ranks", llvm::json::Array(program.ranks)},
                           {"arena_bytes", program.arenaBytes},
                           {"weights_bytes", program.weightsBytes}});
  for (const ss::RankArtifacts &rank : plan.ranks) {
    maxArena = std::max(maxArena, rank.arenaBytes);
    llvm::json::Array collectives;
    for (const ss::CommunicationRecord &c : rank.communication)
      collectives.push_back(
          llvm::json::Object{{"kind", c.kind},
                             {"group", llvm::json::Array(c.group)},
                             {"bytes", c.bytes},
                             {"id", c.id}});
    llvm::json::Array boxes;
    for (const auto &offsets : rank.inputOffsets)
      boxes.push_back(llvm::json::Array(offsets));
    const ss::ProgramArtifacts &program = plan.programs[rank.program];
    llvm::json::Array variables;
    for (const ss::VariableRecord &v : rank.variables)
      variables.push_back(
          llvm::json::Object{{"name", v.name},
                             {"dtype", v.dtype},
                             {"shape", llvm::json::Array(v.shape)},
                             {"offsets", llvm::json::Array(v.offsets)},
                             {"weights_offset", v.weightsOffset}});
    ranks.push_back(llvm::json::Object{
        {"rank", rank.rank},
        {"program", program.name},
        {"source", program.name + ".cpp"},
        {"weights", ss::weightsFileName(rank.rank)},
        {"weights_bytes", rank.weightsBytes},
        {"weights_checksum",
         llvm::utohexstr(rank.weightsChecksum, /*LowerCase=*/true, 16)},
        {"arena_bytes", rank.arenaBytes},
        {"input_offsets", std::move(boxes)},
        {"collectives", std::move(collectives)},
        {"variables", std::move(variables)},
        {"memory",
         llvm::json::Object{
             {"parameters", memoryBreakdown(rank).parameters},
             {"optimizer_state", memoryBreakdown(rank).optimizerState},
             {"other_weights", memoryBreakdown(rank).otherWeights},
             {"arena", rank.arenaBytes},
             {"peak_live", rank.peakLiveBytes},
             {"peak_activations", rank.peakActivationBytes},
             {"peak_gradients", rank.peakBackwardBytes}}}});
  }
  llvm::json::Object manifest{
      {"model", modelName},
      {"source_model", absolutePath(args.model)},
      {"target", args.target},
      {"world_size", plan.worldSize},
      {"output_rank", plan.outputRank},
      {"plan", plan.plan},
      {"plan_fingerprint", emitOptions.planFingerprint},
      {"training", train.enabled},
      {"arena_bytes", maxArena},
      {"groups", std::move(groups)},
      {"programs", std::move(programs)},
      {"ranks", std::move(ranks)},
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
    printCompileReport(plan, modelName, args);
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
  bool outputDirGiven = false;
  // Training programs.
  int steps = 0; // 0: not given (the program's default, 1)
  std::string data;
  std::string checkpointDir;
  int checkpointEvery = 0;
  std::string resume;
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

/// A program of a compiled directory: its binary and the ranks running it.
struct LaunchProgram {
  std::string binary; // name, built into DIR/build
  std::vector<int> ranks;
};

/// Reads the programs from manifest.json. Manifests from before parallel
/// programs list only ranks, each with its own `source`.
bool readPrograms(const llvm::json::Object &manifest,
                  std::vector<LaunchProgram> &programs,
                  std::vector<int> &programOfRank) {
  if (auto *list = manifest.getArray("programs")) {
    for (const llvm::json::Value &entry : *list) {
      const auto *object = entry.getAsObject();
      auto binary = object ? object->getString("binary") : std::nullopt;
      const auto *ranks = object ? object->getArray("ranks") : nullptr;
      if (!binary || !ranks)
        return false;
      LaunchProgram program{binary->str(), {}};
      for (const llvm::json::Value &rank : *ranks)
        if (auto r = rank.getAsInteger())
          program.ranks.push_back(*r);
      programs.push_back(std::move(program));
    }
  } else if (auto *ranks = manifest.getArray("ranks")) {
    for (const llvm::json::Value &entry : *ranks) {
      const auto *object = entry.getAsObject();
      auto source = object ? object->getString("source") : std::nullopt;
      auto rank = object ? object->getInteger("rank") : std::nullopt;
      if (!source || !rank)
        return false;
      programs.push_back(
          {llvm::sys::path::stem(*source).str(), {static_cast<int>(*rank)}});
    }
  }
  int worldSize = 0;
  for (const LaunchProgram &program : programs)
    worldSize += program.ranks.size();
  programOfRank.assign(worldSize, -1);
  for (auto [p, program] : llvm::enumerate(programs))
    for (int r : program.ranks) {
      if (r < 0 || r >= worldSize || programOfRank[r] != -1)
        return false;
      programOfRank[r] = p;
    }
  return !programs.empty();
}

/// mpirun from the MPI found at configure time, else from PATH.
std::optional<std::string> findMpirun() {
  std::string configured = SS_MPIEXEC;
  if (!configured.empty() && llvm::sys::fs::can_execute(configured))
    return configured;
  for (const char *name : {"mpirun", "mpiexec"})
    if (auto path = llvm::sys::findProgramByName(name))
      return *path;
  return std::nullopt;
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
  std::vector<LaunchProgram> programs;
  std::vector<int> programOfRank;
  if (!readPrograms(*manifest->getAsObject(), programs, programOfRank)) {
    printError("'" + manifestPath +
               "' lists no programs, or ranks that are not 0..N-1 once each");
    return kExitError;
  }
  int worldSize = programOfRank.size();

  std::string buildDir = args.dir + "/build";
  bool stale = false;
  for (const LaunchProgram &program : programs)
    stale |= !newerThan(buildDir + "/" + program.binary,
                        args.dir + "/" + program.binary + ".cpp");
  if (stale) {
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
        execute(*cmakePath, {"cmake", "--build", buildDir, "-j", "4"},
                llvm::StringRef(log)) != 0) {
      printError("building '" + args.dir + "' failed; see " + log);
      return kExitError;
    }
  }

  // The options every rank gets; `%d` in the weights path stands for the
  // rank's world rank.
  std::vector<std::string> rankArgs = {
      "--weights", args.dir + "/" + ss::kWeightsFilePattern, "--threads",
      std::to_string(args.threads)};
  // A training run writes its last loss only when asked to.
  bool training = args.steps > 0 || !args.data.empty() ||
                  !args.checkpointDir.empty() || !args.resume.empty();
  if (!training || args.outputDirGiven)
    rankArgs.insert(rankArgs.end(), {"--output-dir", args.outputDir});
  if (args.steps > 0)
    rankArgs.insert(rankArgs.end(), {"--steps", std::to_string(args.steps)});
  if (!args.data.empty())
    rankArgs.insert(rankArgs.end(), {"--data", args.data});
  if (!args.checkpointDir.empty())
    rankArgs.insert(rankArgs.end(), {"--checkpoint-dir", args.checkpointDir});
  if (args.checkpointEvery > 0)
    rankArgs.insert(rankArgs.end(), {"--checkpoint-every",
                                     std::to_string(args.checkpointEvery)});
  if (!args.resume.empty())
    rankArgs.insert(rankArgs.end(), {"--resume", args.resume});
  if (args.iterations != 1 || args.warmup != 0) {
    rankArgs.insert(rankArgs.end(),
                    {"--warmup", std::to_string(args.warmup), "--iterations",
                     std::to_string(args.iterations)});
  }
  for (const auto &in : args.inputs)
    rankArgs.insert(rankArgs.end(), {"--input", in});

  if (worldSize == 1) {
    std::string binary = buildDir + "/" + programs.front().binary;
    std::vector<std::string> argv = {binary};
    argv.insert(argv.end(), rankArgs.begin(), rankArgs.end());
    int rc = execute(binary, argv);
    if (rc != 0) {
      if (rc > 0)
        printError("rank 0 exited with code " + std::to_string(rc));
      return kExitError;
    }
    return kExitOk;
  }

  auto mpirun = findMpirun();
  if (!mpirun) {
    printError("mpirun not found (neither the one found at configure time "
               "nor on PATH); needed to run " +
               std::to_string(worldSize) + " ranks");
    return kExitError;
  }
  // MPMD launch: one app context per run of consecutive ranks sharing a
  // binary, in rank order, so MPI's world ranks are the plan's ranks.
  std::vector<std::string> argv = {*mpirun};
  if (geteuid() == 0)
    argv.push_back("--allow-run-as-root");
  argv.insert(argv.end(), {"--oversubscribe", "--bind-to", "none"});
  for (int first = 0; first < worldSize;) {
    int last = first;
    while (last + 1 < worldSize &&
           programOfRank[last + 1] == programOfRank[first])
      ++last;
    if (first > 0)
      argv.push_back(":");
    argv.insert(argv.end(),
                {"-np", std::to_string(last - first + 1),
                 buildDir + "/" + programs[programOfRank[first]].binary});
    argv.insert(argv.end(), rankArgs.begin(), rankArgs.end());
    first = last + 1;
  }
  int rc = execute(*mpirun, argv);
  if (rc != 0) {
    if (rc > 0)
      printError("a rank failed: mpirun exited with code " +
                 std::to_string(rc));
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
  if (auto f = dyn_cast<ss::graph::ConvFilterGradOp>(op))
    return 2 * product(shapeOf(f.getGrad())) *
           product(shapeOf(op->getResult(0)).drop_front(1));
  if (isa<ss::graph::ConstantOp, ss::graph::VariableOp, ss::graph::ReshapeOp>(
          op))
    return 0;
  return outElems;
}

//===----------------------------------------------------------------------===//
// ssc export
//===----------------------------------------------------------------------===//

struct ExportArgs {
  std::string dir;
  std::string checkpoint;
  std::string output;
  std::string model; // default: the model the directory was compiled from
};

/// Merges every rank's pieces of the trained parameters from the newest
/// complete checkpoint in (or at) args.checkpoint into a copy of the model.
int exportModel(const ExportArgs &args) {
  std::string manifestPath = args.dir + "/manifest.json";
  auto buffer = llvm::MemoryBuffer::getFile(manifestPath);
  if (!buffer) {
    printError("'" + args.dir +
               "' is not a compiled program (no manifest.json)");
    return kExitError;
  }
  auto parsed = llvm::json::parse((*buffer)->getBuffer());
  const llvm::json::Object *manifest = parsed ? parsed->getAsObject() : nullptr;
  if (!manifest) {
    if (!parsed)
      llvm::consumeError(parsed.takeError());
    printError("'" + manifestPath + "' is not valid JSON");
    return kExitError;
  }
  if (!manifest->getBoolean("training").value_or(false)) {
    printError("'" + args.dir +
               "' is not a training program (compile with --train)");
    return kExitError;
  }
  std::string model = args.model;
  if (model.empty())
    if (auto source = manifest->getString("source_model"))
      model = source->str();
  int64_t worldSize = manifest->getInteger("world_size").value_or(0);
  std::string fingerprint =
      manifest->getString("plan_fingerprint").value_or("").str();
  const llvm::json::Array *ranks = manifest->getArray("ranks");
  if (!ranks || worldSize < 1 ||
      static_cast<int64_t>(ranks->size()) != worldSize) {
    printError("'" + manifestPath + "' lists no rank table for its world");
    return kExitError;
  }

  // The checkpoint: a step directory itself, or the newest complete one.
  std::vector<std::string> candidates;
  if (llvm::sys::fs::exists(args.checkpoint + "/" +
                            ssrt::kCheckpointManifestFile)) {
    candidates.push_back(args.checkpoint);
  } else {
    std::vector<int64_t> steps;
    std::string error;
    if (!ssrt::listCheckpointSteps(args.checkpoint, steps, error)) {
      printError(error);
      return kExitError;
    }
    for (int64_t step : steps)
      candidates.push_back(ssrt::checkpointStepDir(args.checkpoint, step));
  }
  std::vector<std::vector<char>> payloads(worldSize);
  std::string chosen, lastError = "no checkpoint found";
  int64_t chosenStep = 0;
  for (const std::string &stepDir : candidates) {
    ssrt::CheckpointManifest checkpoint;
    if (!ssrt::readCheckpointManifest(stepDir, checkpoint, lastError))
      continue;
    if (checkpoint.plan != fingerprint || checkpoint.worldSize != worldSize) {
      lastError = stepDir + " was written by another compilation (plan " +
                  checkpoint.plan + ")";
      continue;
    }
    bool complete = true;
    for (int64_t r = 0; r < worldSize && complete; ++r) {
      const llvm::json::Object *rank = (*ranks)[r].getAsObject();
      int64_t bytes =
          rank ? rank->getInteger("weights_bytes").value_or(-1) : -1;
      payloads[r].assign(static_cast<size_t>(std::max<int64_t>(bytes, 0)), 0);
      ssrt::CheckpointKey key{checkpoint.step, static_cast<int>(r),
                              static_cast<int>(worldSize), bytes, fingerprint};
      complete = ssrt::readCheckpointState(stepDir + "/" +
                                               ssrt::checkpointStateFile(r),
                                           key, payloads[r].data(), lastError);
    }
    if (complete) {
      chosen = stepDir;
      chosenStep = checkpoint.step;
      break;
    }
  }
  if (chosen.empty()) {
    printError("no complete checkpoint in '" + args.checkpoint +
               "': " + lastError);
    return kExitError;
  }

  // Pieces into full tensors; replicas must agree.
  struct Merged {
    ss::FloatTensor tensor;
    std::vector<int8_t> written;
  };
  std::map<std::string, Merged> merged;
  std::map<std::string, std::vector<std::tuple<int64_t, std::vector<int64_t>,
                                               std::vector<int64_t>, int64_t>>>
      pieces; // name -> (rank, offsets, shape, weights offset)
  for (int64_t r = 0; r < worldSize; ++r) {
    const llvm::json::Array *vars =
        (*ranks)[r].getAsObject()->getArray("variables");
    if (!vars)
      continue;
    for (const llvm::json::Value &v : *vars) {
      const llvm::json::Object *var = v.getAsObject();
      std::string name = var->getString("name").value_or("").str();
      if (isOptimizerState(name))
        continue;
      std::vector<int64_t> offsets, shape;
      for (const llvm::json::Value &x : *var->getArray("offsets"))
        offsets.push_back(x.getAsInteger().value_or(0));
      for (const llvm::json::Value &x : *var->getArray("shape"))
        shape.push_back(x.getAsInteger().value_or(0));
      pieces[name].push_back(
          {r, offsets, shape, var->getInteger("weights_offset").value_or(0)});
    }
  }
  if (pieces.empty()) {
    printError("'" + manifestPath + "' records no trained parameters");
    return kExitError;
  }
  for (auto &[name, list] : pieces) {
    Merged &m = merged[name];
    size_t rank = std::get<1>(list.front()).size();
    m.tensor.shape.assign(rank, 0);
    for (auto &[r, offsets, shape, at] : list)
      for (size_t d = 0; d < rank; ++d)
        m.tensor.shape[d] = std::max(m.tensor.shape[d], offsets[d] + shape[d]);
    int64_t total = 1;
    for (int64_t size : m.tensor.shape)
      total *= size;
    m.tensor.values.assign(total, 0.0f);
    m.written.assign(total, 0);
    std::vector<int64_t> strides(rank, 1);
    for (int64_t d = static_cast<int64_t>(rank) - 2; d >= 0; --d)
      strides[d] = strides[d + 1] * m.tensor.shape[d + 1];
    for (auto &[r, offsets, shape, at] : list) {
      int64_t count = 1;
      for (int64_t size : shape)
        count *= size;
      const std::vector<char> &payload = payloads[r];
      if (at < 0 || at + count * static_cast<int64_t>(sizeof(float)) >
                        static_cast<int64_t>(payload.size())) {
        printError("variable '" + name + "' of rank " + std::to_string(r) +
                   " lies outside its state");
        return kExitError;
      }
      const float *source =
          reinterpret_cast<const float *>(payload.data() + at);
      std::vector<int64_t> index(rank, 0);
      for (int64_t i = 0; i < count; ++i) {
        int64_t flat = 0;
        for (size_t d = 0; d < rank; ++d)
          flat += (offsets[d] + index[d]) * strides[d];
        if (m.written[flat] && m.tensor.values[flat] != source[i]) {
          printError("ranks hold different values of '" + name + "' (rank " +
                     std::to_string(r) +
                     " disagrees with an earlier rank); the checkpoint is "
                     "inconsistent");
          return kExitError;
        }
        m.tensor.values[flat] = source[i];
        m.written[flat] = 1;
        for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; --d) {
          if (++index[d] < shape[d])
            break;
          index[d] = 0;
        }
      }
    }
    if (std::count(m.written.begin(), m.written.end(), 0) != 0) {
      printError("the ranks' pieces of '" + name + "' do not cover it");
      return kExitError;
    }
  }
  std::map<std::string, ss::FloatTensor> weights;
  for (auto &[name, m] : merged)
    weights[name] = std::move(m.tensor);
  std::string error;
  if (!ss::writeModelWithWeights(model, args.output, weights, error)) {
    printError(error);
    return kExitError;
  }
  llvm::outs() << "exported " << weights.size() << " trained parameters from "
               << chosen << " (step " << chosenStep << ") into " << args.output
               << "\n";
  return kExitOk;
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
  // Diagnostics name the ONNX node; dumping the whole function after them
  // would bury the message.
  context.printOpOnDiagnostic(false);
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
      "compile", "Compile MODEL (.onnx, or .mlir: graph IR, device IR or rank "
                 "functions) into rank programs in the directory OUT");
  compileCmd
      ->add_option("model", compileArgs.model,
                   "The ONNX model, or an MLIR file: graph IR runs the whole "
                   "pipeline; a function bound to devices resumes at "
                   "communicate (with dist.require) or at split (scheduled "
                   "device IR); rank functions resume at plan-memory")
      ->required();
  compileCmd
      ->add_option("-o,--output", compileArgs.output,
                   "Output directory (with --emit=mlir: a file, '-' for "
                   "stdout)")
      ->required();
  compileCmd
      ->add_option("--target", compileArgs.target,
                   "Code generation target: cpu (cuda is not implemented yet). "
                   "With --train --loss mse, any other value names the "
                   "target input the loss adds (default: target)")
      ->capture_default_str();
  compileCmd
      ->add_option("--world-size", compileArgs.worldSize,
                   "Number of ranks. Default: the product of the plan's "
                   "degrees (dp=2,tp=2: 4), else 1. World size 1 without a "
                   "plan skips the dist stages")
      ->check(CLI::PositiveNumber);
  compileCmd->add_option(
      "--plan", compileArgs.plan,
      "Built-in parallelization policy: dp=N (data parallel), tp=N (tensor "
      "parallel), or both, e.g. dp=2,tp=2; with --train also zero=1 or "
      "zero=2 (optimizer state, and with microbatches the gradient sums, "
      "sharded over the dp ranks)");
  compileCmd->add_option("--plan-file", compileArgs.planFile,
                         "Plan file whose per-node / per-op-type decisions "
                         "are applied after the policy");
  compileCmd->add_option(
      "--load-pass-plugin", compileArgs.passPlugins,
      "Load an MLIR pass plugin (LIB.so built against MLIR 19 and this "
      "compiler's plan primitives) and register its passes (repeatable)");
  compileCmd->add_option(
      "--plugin-pipeline", compileArgs.pluginPipeline,
      "Pass pipeline that makes plan decisions with op-trans/op-assign/"
      "op-order, e.g. 'ss-pipeline-plan{stages=2}' from a --load-pass-plugin "
      "library. It runs just before dist-apply-plan, which plans only the "
      "ops it left unplaced (then dist-insert-communication follows)");
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
  compileCmd->add_option(
      "--stop-after", compileArgs.stopAfter,
      "With --emit=mlir, stop after this stage: import, fold, fuse, "
      "autodiff, plan, communicate, schedule, split, plan-memory (autodiff "
      "with --train; plan..split only in a parallel compilation)");
  compileCmd->add_flag("--time-passes", compileArgs.timePasses,
                       "Print the wall time of every pass to stderr");
  compileCmd->add_flag("--print-ir-after-all", compileArgs.printIrAfterAll,
                       "Print the IR after every pass to stderr");
  compileCmd->add_option("--debug-only", compileArgs.debugOnly,
                         "Log what these passes do to stderr: a comma list "
                         "of pass names (graph-plan-memory, "
                         "dist-split-ranks, ...) or 'all'");
  TrainArgs &train = compileArgs.train;
  const char *trainGroup = "Training (with --train)";
  CLI::Option *trainFlag = compileCmd->add_flag(
      "--train", train.enabled,
      "Compile a training step: forward, backward (autodiff) and "
      "optimizer update; the float initializers are the trained "
      "parameters, kept and updated in each rank's weights file");
  trainFlag->group(trainGroup);
  compileCmd
      ->add_option("--loss", train.loss,
                   "The loss: the name of a scalar model output, or "
                   "cross-entropy (appended over --logits and a new int64 "
                   "input --labels; label -100 is ignored) or mse (appended "
                   "over --logits and a new input --target)")
      ->needs(trainFlag)
      ->group(trainGroup);
  compileCmd
      ->add_option("--logits", train.logits,
                   "The output an appended loss reads (default: the only "
                   "output)")
      ->needs(trainFlag)
      ->group(trainGroup);
  compileCmd
      ->add_option("--labels", train.labels,
                   "Name of the labels input cross-entropy adds")
      ->capture_default_str()
      ->needs(trainFlag)
      ->group(trainGroup);
  compileCmd
      ->add_option("--freeze", train.freeze,
                   "Keep the initializers whose names match this glob "
                   "(*, ?, {a,b}) constant (repeatable)")
      ->needs(trainFlag)
      ->group(trainGroup);
  compileCmd
      ->add_option("--optimizer", train.optimizer,
                   "sgd, adamw, or none (the step returns the loss and every "
                   "gradient, named <param>.grad, and updates nothing)")
      ->check(CLI::IsMember({"sgd", "adamw", "none"}))
      ->capture_default_str()
      ->needs(trainFlag)
      ->group(trainGroup);
  compileCmd->add_option("--lr", train.lr, "Base learning rate")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str()
      ->needs(trainFlag)
      ->group(trainGroup);
  compileCmd->add_option("--momentum", train.momentum, "SGD momentum")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str()
      ->needs(trainFlag)
      ->group(trainGroup);
  compileCmd
      ->add_option("--weight-decay", train.weightDecay,
                   "Weight decay: L2 added to the gradient for sgd, "
                   "decoupled for adamw")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str()
      ->needs(trainFlag)
      ->group(trainGroup);
  compileCmd->add_option("--betas", train.betas, "AdamW B1,B2")
      ->capture_default_str()
      ->needs(trainFlag)
      ->group(trainGroup);
  compileCmd->add_option("--eps", train.epsilon, "AdamW epsilon")
      ->check(CLI::PositiveNumber)
      ->capture_default_str()
      ->needs(trainFlag)
      ->group(trainGroup);
  compileCmd
      ->add_option("--lr-schedule", train.lrSchedule,
                   "constant, warmup-linear or cosine (as the transformers "
                   "library defines them; the last two need --total-steps)")
      ->check(CLI::IsMember({"constant", "warmup-linear", "cosine"}))
      ->capture_default_str()
      ->needs(trainFlag)
      ->group(trainGroup);
  compileCmd
      ->add_option("--warmup-steps", train.warmupSteps,
                   "Steps of linear warm-up from 0 to --lr")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str()
      ->needs(trainFlag)
      ->group(trainGroup);
  compileCmd
      ->add_option("--total-steps", train.totalSteps,
                   "Step at which warmup-linear and cosine reach 0")
      ->check(CLI::NonNegativeNumber)
      ->needs(trainFlag)
      ->group(trainGroup);
  compileCmd
      ->add_option("--clip-grad-norm", train.clipGradNorm,
                   "Scale gradients so their global L2 norm is at most this "
                   "(0: off)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str()
      ->needs(trainFlag)
      ->group(trainGroup);
  compileCmd
      ->add_option("--microbatches", train.microbatches,
                   "Gradient accumulation: split the batch into M "
                   "microbatches, each with its own forward and backward "
                   "pass, and update once (the loss is the mean of the "
                   "microbatch losses)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str()
      ->needs(trainFlag)
      ->group(trainGroup);
  compileCmd
      ->add_option("--grad-bucket-bytes", train.gradBucketBytes,
                   "Under a plan, gradient all-reduces of one group are "
                   "packed into buckets of at least this many bytes (0: one "
                   "all-reduce per parameter); a bucket's gradients stay "
                   "alive until it is full")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str()
      ->needs(trainFlag)
      ->group(trainGroup);
  compileCmd
      ->add_option("--recompute", train.recompute,
                   "Recompute a group of forward ops in the backward pass "
                   "instead of keeping their activations (activation "
                   "checkpointing): a node-name glob, or FIRST..LAST, a "
                   "range of nodes in program order (repeatable; one group "
                   "each, e.g. one per layer)")
      ->needs(trainFlag)
      ->group(trainGroup);
  compileCmd->add_flag("-q,--quiet", compileArgs.quiet,
                       "Do not print the compile report (per rank: arena "
                       "bytes and collectives per step; totals)");

  RunArgs runArgs;
  auto *runCmd = app.add_subcommand(
      "run", "Build (if needed) and run the programs in OUT, writing one .npy "
             "per model output. More than one rank runs under mpirun "
             "(--oversubscribe; --allow-run-as-root as root), one app context "
             "per binary");
  runCmd->add_option("dir", runArgs.dir, "A directory made by ssc compile")
      ->required();
  runCmd->add_option("--input", runArgs.inputs,
                     "Model input: NAME=FILE.npy (repeatable); every rank "
                     "reads the part of it its plan needs");
  CLI::Option *outputDirOption =
      runCmd
          ->add_option("--output-dir", runArgs.outputDir,
                       "Where the output rank writes outputs (NAME.npy, with "
                       "characters outside [A-Za-z0-9._-] replaced by _); a "
                       "training run writes its last loss only when given")
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

  const char *runTrainGroup = "Training programs (ssc compile --train)";
  runCmd
      ->add_option("--steps", runArgs.steps,
                   "Train until K steps are complete in all; a resumed run "
                   "continues its count (default 1). Rank 0 prints 'step I "
                   "loss L R samples/s' per step")
      ->check(CLI::PositiveNumber)
      ->group(runTrainGroup);
  runCmd
      ->add_option("--data", runArgs.data,
                   "Per-step inputs DIR/NAME.I.npy for I = 0..N-1, cycled "
                   "(instead of repeating --input every step)")
      ->group(runTrainGroup);
  runCmd
      ->add_option("--checkpoint-dir", runArgs.checkpointDir,
                   "Write checkpoints here (DIR/step-S/: one state file per "
                   "rank and checkpoint.json, each written atomically); "
                   "always after the last step")
      ->group(runTrainGroup);
  runCmd
      ->add_option("--checkpoint-every", runArgs.checkpointEvery,
                   "Also checkpoint after every N steps")
      ->check(CLI::PositiveNumber)
      ->group(runTrainGroup);
  runCmd
      ->add_option("--resume", runArgs.resume,
                   "Continue from the newest complete checkpoint in DIR "
                   "(incomplete or corrupt ones are skipped)")
      ->group(runTrainGroup);

  ExportArgs exportArgs;
  auto *exportCmd = app.add_subcommand(
      "export", "Write the model a training program was compiled from, with "
                "the trained parameters of a checkpoint merged from every "
                "rank's pieces");
  exportCmd
      ->add_option("dir", exportArgs.dir,
                   "A directory made by ssc compile --train")
      ->required();
  exportCmd
      ->add_option("--checkpoint", exportArgs.checkpoint,
                   "A --checkpoint-dir of ssc run (its newest complete "
                   "checkpoint is used) or one step-S directory in it")
      ->required();
  exportCmd
      ->add_option("-o,--output", exportArgs.output, "The ONNX file to write")
      ->required();
  exportCmd->add_option("--model", exportArgs.model,
                        "The original model (default: the one recorded in "
                        "manifest.json)");

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
  if (runCmd->parsed()) {
    runArgs.outputDirGiven = outputDirOption->count() > 0;
    return run(runArgs);
  }
  if (exportCmd->parsed())
    return exportModel(exportArgs);
  if (inspectCmd->parsed())
    return inspect(inspectModel, inspectShapes);
  return kExitError;
}
