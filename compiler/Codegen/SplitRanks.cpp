//===- SplitRanks.cpp - the dist-split-ranks pass -------------------------===//
//
// Turns the scheduled all-device function into one function per rank. Each
// rank function keeps the model's argument list (so every program takes the
// same inputs), reads each input through at most one `dist.slice` (its box),
// holds the constants its ops use and its ops in block order, and the
// output device's function returns the model outputs.
//
//===----------------------------------------------------------------------===//

#include "Codegen/RankFunctions.h"
#include "Debug.h"
#include "Dist/DistDialect.h"
#include "Graph/GraphDialect.h"
#include "Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

#define DEBUG_TYPE "dist-split-ranks"

using namespace mlir;

namespace ss {
#define GEN_PASS_DEF_DISTSPLITRANKS
#include "Passes.h.inc"
} // namespace ss

namespace {

std::string inputName(func::FuncOp func, unsigned index) {
  if (auto name = func.getArgAttrOfType<StringAttr>(index, "ss.name"))
    return "model input #" + std::to_string(index) + " \"" + name.str() + "\"";
  return "model input #" + std::to_string(index);
}

std::string outputName(func::FuncOp func, unsigned index) {
  if (auto name = func.getResultAttrOfType<StringAttr>(index, "ss.name"))
    return "model output #" + std::to_string(index) + " \"" + name.str() + "\"";
  return "model output #" + std::to_string(index);
}

/// The device a value is computed on; none for constants (every device may
/// materialize them) and arguments (read through dist.slice only).
std::optional<int64_t> producerDevice(Value value) {
  Operation *def = value.getDefiningOp();
  if (!def || isa<ss::graph::ConstantOp>(def))
    return std::nullopt;
  return ss::dist::deviceOf(def);
}

struct SplitRanks : ss::impl::DistSplitRanksBase<SplitRanks> {
  using DistSplitRanksBase::DistSplitRanksBase;

  void runOnOperation() override;

private:
  LogicalResult verifyContract(func::FuncOp func, int64_t worldSize,
                               int64_t outputDevice);
  void buildRank(func::FuncOp func, int64_t rank, int64_t outputDevice,
                 OpBuilder &moduleBuilder);
};

LogicalResult SplitRanks::verifyContract(func::FuncOp func, int64_t worldSize,
                                         int64_t outputDevice) {
  bool ok = true;
  for (BlockArgument arg : func.getArguments())
    for (Operation *user : arg.getUsers())
      if (!isa<ss::dist::SliceOp, func::ReturnOp>(user)) {
        user->emitError() << inputName(func, arg.getArgNumber())
                          << " is used by '" << user->getName()
                          << "'; a model input may only be read through "
                             "dist.slice";
        ok = false;
      }
  Block &body = func.getBody().front();
  for (Operation &op : body.without_terminator()) {
    if (isa<ss::graph::ConstantOp>(op))
      continue;
    std::optional<int64_t> device = ss::dist::deviceOf(&op);
    if (!device) {
      op.emitError() << "'" << op.getName()
                     << "' has no device; every op but constants must be "
                        "placed before dist-split-ranks";
      ok = false;
      continue;
    }
    if (*device < 0 || *device >= worldSize) {
      op.emitError() << "runs on device " << *device
                     << ", outside the world of " << worldSize << " ranks";
      ok = false;
      continue;
    }
    for (auto [i, operand] : llvm::enumerate(op.getOperands())) {
      std::optional<int64_t> from = producerDevice(operand);
      if (from && *from != *device) {
        op.emitError() << "operand #" << i << " is computed on device " << *from
                       << " but the op runs on device " << *device
                       << "; a communication op must move it";
        ok = false;
      }
    }
  }
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  for (auto [i, operand] : llvm::enumerate(ret.getOperands())) {
    if (isa<BlockArgument>(operand)) {
      ret.emitError() << outputName(func, i)
                      << " is a model input; read it with dist.slice on the "
                         "output device "
                      << outputDevice;
      ok = false;
      continue;
    }
    std::optional<int64_t> from = producerDevice(operand);
    if (from && *from != outputDevice) {
      ret.emitError() << outputName(func, i) << " is computed on device "
                      << *from << ", not on the output device " << outputDevice;
      ok = false;
    }
  }
  return success(ok);
}

void SplitRanks::buildRank(func::FuncOp func, int64_t rank,
                           int64_t outputDevice, OpBuilder &moduleBuilder) {
  Block &body = func.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  bool returns = rank == outputDevice;

  // This rank's ops, the constants they use (first use first) and the input
  // boxes they read.
  SmallVector<Operation *> ops;
  llvm::SetVector<Operation *> constants;
  llvm::MapVector<unsigned, SmallVector<ss::dist::SliceOp>> inputReads;
  auto noteConstants = [&](Operation *user) {
    for (Value operand : user->getOperands())
      if (auto c = operand.getDefiningOp<ss::graph::ConstantOp>())
        constants.insert(c);
  };
  for (Operation &op : body.without_terminator()) {
    if (isa<ss::graph::ConstantOp>(op) || ss::dist::deviceOf(&op) != rank)
      continue;
    auto slice = dyn_cast<ss::dist::SliceOp>(op);
    if (slice && isa<BlockArgument>(slice.getInput())) {
      inputReads[cast<BlockArgument>(slice.getInput()).getArgNumber()]
          .push_back(slice);
      continue;
    }
    noteConstants(&op);
    ops.push_back(&op);
  }
  if (returns)
    noteConstants(ret);

  FunctionType type = func.getFunctionType();
  auto rankType =
      FunctionType::get(func.getContext(), type.getInputs(),
                        returns ? type.getResults() : ArrayRef<Type>());
  auto rankFunc = moduleBuilder.create<func::FuncOp>(
      func.getLoc(), ss::rankFunctionName(rank), rankType);
  rankFunc->setAttr(ss::kRankAttr, moduleBuilder.getI64IntegerAttr(rank));
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    rankFunc.setArgAttrs(i, func.getArgAttrDict(i));
  if (returns)
    for (unsigned i = 0; i < func.getNumResults(); ++i)
      rankFunc.setResultAttrs(i, func.getResultAttrDict(i));

  Block *entry = rankFunc.addEntryBlock();
  OpBuilder b = OpBuilder::atBlockBegin(entry);
  IRMapping map;
  for (BlockArgument arg : func.getArguments())
    map.map(arg, entry->getArgument(arg.getArgNumber()));
  for (Operation *c : constants)
    b.clone(*c, map);

  // One read per input: the box of its only slice, or the bounding box of
  // several (then each piece is a local slice of that box).
  for (auto &[index, slices] : inputReads) {
    auto inputType = cast<RankedTensorType>(func.getArgument(index).getType());
    int64_t r = inputType.getRank();
    SmallVector<int64_t> lo(slices.front().getOffsets()), hi(r);
    for (int64_t d = 0; d < r; ++d)
      hi[d] = lo[d] + slices.front().getType().getDimSize(d);
    for (ss::dist::SliceOp s : slices)
      for (int64_t d = 0; d < r; ++d) {
        lo[d] = std::min(lo[d], s.getOffsets()[d]);
        hi[d] = std::max(hi[d], s.getOffsets()[d] + s.getType().getDimSize(d));
      }
    SmallVector<int64_t> boxShape(r);
    for (int64_t d = 0; d < r; ++d)
      boxShape[d] = hi[d] - lo[d];
    auto boxType = RankedTensorType::get(boxShape, inputType.getElementType());
    auto read = b.create<ss::dist::SliceOp>(
        slices.front().getLoc(), boxType, entry->getArgument(index),
        b.getI64IntegerAttr(rank), b.getDenseI64ArrayAttr(lo));
    for (ss::dist::SliceOp s : slices) {
      if (s.getType() == boxType) {
        map.map(s.getResult(), read.getResult());
        continue;
      }
      SmallVector<int64_t> relative(r);
      for (int64_t d = 0; d < r; ++d)
        relative[d] = s.getOffsets()[d] - lo[d];
      auto piece = cast<ss::dist::SliceOp>(b.clone(*s, map));
      piece.getInputMutable().assign(read.getResult());
      piece.setOffsets(relative);
    }
  }

  for (Operation *op : ops)
    b.clone(*op, map);
  SmallVector<Value> results;
  if (returns)
    for (Value v : ret.getOperands())
      results.push_back(map.lookup(v));
  b.create<func::ReturnOp>(ret.getLoc(), results);
  SS_DEBUG(DEBUG_TYPE, dbgs << "rank " << rank << ": " << ops.size() << " ops, "
                            << constants.size() << " constants, "
                            << inputReads.size() << " input boxes\n");
}

void SplitRanks::runOnOperation() {
  ModuleOp module = getOperation();
  SmallVector<func::FuncOp> candidates;
  for (auto func : module.getOps<func::FuncOp>())
    if (func->hasAttr(ss::kWorldSizeAttr))
      candidates.push_back(func);
  if (candidates.size() != 1) {
    module.emitError() << "dist-split-ranks needs exactly one function with "
                          "a '"
                       << ss::kWorldSizeAttr << "' attribute, found "
                       << candidates.size();
    return signalPassFailure();
  }
  func::FuncOp func = candidates.front();
  auto worldAttr = func->getAttrOfType<IntegerAttr>(ss::kWorldSizeAttr);
  if (!worldAttr || worldAttr.getInt() < 1) {
    func.emitError() << "'" << ss::kWorldSizeAttr
                     << "' must be a positive integer";
    return signalPassFailure();
  }
  int64_t worldSize = worldAttr.getInt();
  int64_t outputDevice = 0;
  if (Attribute attr = func->getAttr(ss::kOutputDeviceAttr)) {
    auto value = dyn_cast<IntegerAttr>(attr);
    if (!value || value.getInt() < 0 || value.getInt() >= worldSize) {
      func.emitError() << "'" << ss::kOutputDeviceAttr << "' " << attr
                       << " is not a device of the world of " << worldSize;
      return signalPassFailure();
    }
    outputDevice = value.getInt();
  }
  if (func.getBody().getBlocks().size() != 1) {
    func.emitError("dist-split-ranks needs a single-block function");
    return signalPassFailure();
  }
  for (int64_t rank = 0; rank < worldSize; ++rank)
    if (Operation *clash = module.lookupSymbol(ss::rankFunctionName(rank))) {
      clash->emitError() << "symbol '" << ss::rankFunctionName(rank)
                         << "' is taken; dist-split-ranks creates it";
      return signalPassFailure();
    }
  if (failed(verifyContract(func, worldSize, outputDevice)))
    return signalPassFailure();

  OpBuilder moduleBuilder(func);
  for (int64_t rank = 0; rank < worldSize; ++rank)
    buildRank(func, rank, outputDevice, moduleBuilder);
  module->setAttr(ss::kWorldSizeAttr,
                  moduleBuilder.getI64IntegerAttr(worldSize));
  module->setAttr(ss::kOutputDeviceAttr,
                  moduleBuilder.getI64IntegerAttr(outputDevice));
  if (Attribute plan = func->getAttr(ss::kPlanAttr);
      plan && !module->hasAttr(ss::kPlanAttr))
    module->setAttr(ss::kPlanAttr, plan);
  func.erase();
}

} // namespace
