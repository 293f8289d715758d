//===- MemoryPlan.cpp - the graph-plan-memory pass ---------------------===//
//
// Computes live ranges over each function's op order and places every
// activation, input and output in one arena (ArenaPlanner). Views share
// their source's buffer; constants live in the weights blob. In rank
// functions, communication and local dist ops get buffers like graph ops,
// and a model input's storage is the box the rank reads of it.
//
//===----------------------------------------------------------------------===//

#include "Codegen/MemoryPlan.h"
#include "Autodiff/Autodiff.h"
#include "Codegen/ArenaPlanner.h"
#include "Codegen/RankFunctions.h"
#include "Debug.h"
#include "Dist/DistDialect.h"
#include "Graph/GraphDialect.h"
#include "Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <map>

#define DEBUG_TYPE "graph-plan-memory"

using namespace mlir;

namespace ss {

#define GEN_PASS_DEF_GRAPHPLANMEMORY
#include "Passes.h.inc"

bool isView(Value value) {
  return value.getDefiningOp<graph::ReshapeOp>() != nullptr;
}

Value storageRoot(Value value) {
  while (auto reshape = value.getDefiningOp<graph::ReshapeOp>())
    value = reshape.getInput();
  return value;
}

bool isWeightsRoot(Value root) {
  return root.getDefiningOp<graph::ConstantOp>() ||
         root.getDefiningOp<graph::VariableOp>() || inPlaceVariable(root);
}

Value inPlaceVariable(Value result) {
  Operation *update = result.getDefiningOp();
  if (!update || !isa<graph::SgdUpdateOp, graph::AdamwUpdateOp>(update) ||
      !result.hasOneUse())
    return Value();
  auto assign = dyn_cast<graph::AssignOp>(*result.getUsers().begin());
  if (!assign)
    return Value();
  // Result i updates the state the matching operand reads: param first,
  // then the momentum buffer (SGD) or m and v (AdamW).
  unsigned index = cast<OpResult>(result).getResultNumber();
  Value operand;
  if (auto sgd = dyn_cast<graph::SgdUpdateOp>(update))
    operand = index == 0 ? sgd.getParam() : sgd.getMomentumBuffer();
  else {
    auto adamw = cast<graph::AdamwUpdateOp>(update);
    operand = index == 0   ? adamw.getParam()
              : index == 1 ? adamw.getM()
                           : adamw.getV();
  }
  auto variable = operand ? operand.getDefiningOp<graph::VariableOp>()
                          : graph::VariableOp();
  if (!variable || variable.getSymName() != assign.getVariable() ||
      variable->getAttr(dist::kPieceAttr) != assign->getAttr(dist::kPieceAttr))
    return Value();
  // Every other read of the variable's storage must come first.
  Block *block = update->getBlock();
  for (Operation &op : *block) {
    auto read = dyn_cast<graph::VariableOp>(op);
    if (!read || read.getSymName() != variable.getSymName() ||
        read->getAttr(dist::kPieceAttr) != variable->getAttr(dist::kPieceAttr))
      continue;
    for (Operation *user : read->getUsers()) {
      if (user == update)
        continue;
      if (user->getBlock() != block || !user->isBeforeInBlock(update))
        return Value();
    }
  }
  return variable.getResult();
}

namespace {

int64_t byteSize(Type type) {
  auto tensor = cast<RankedTensorType>(type);
  Type et = tensor.getElementType();
  int64_t elem = et.isInteger(1) ? 1 : (et.getIntOrFloatBitWidth() + 7) / 8;
  return tensor.getNumElements() * elem;
}

struct GraphPlanMemory : impl::GraphPlanMemoryBase<GraphPlanMemory> {
  using GraphPlanMemoryBase::GraphPlanMemoryBase;

  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (failed(planFunction(func)))
        return signalPassFailure();
  }

  LogicalResult planFunction(func::FuncOp func) {
    Block &body = func.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());

    // Step numbers: inputs are written before step 0, the terminator is the
    // last step, and outputs stay alive through it.
    llvm::DenseMap<Operation *, int64_t> stepOf;
    int64_t step = 0;
    for (Operation &op : body)
      stepOf[&op] = step++;
    int64_t lastStep = step - 1;

    // One buffer per storage root that is not a constant.
    std::vector<BufferRequest> requests;
    llvm::DenseMap<Value, size_t> bufferOf;
    auto bufferFor = [&](Value root, int64_t first) -> size_t {
      auto it = bufferOf.find(root);
      if (it != bufferOf.end())
        return it->second;
      requests.push_back({byteSize(root.getType()), first, first});
      bufferOf[root] = requests.size() - 1;
      return requests.size() - 1;
    };
    // A model input is written before step 0: the argument itself, or in a
    // rank function the box the rank reads of it. An input the function
    // never reads gets no buffer (offset -1; the runtime only checks it).
    for (BlockArgument arg : func.getArguments())
      if (!arg.use_empty())
        bufferFor(inputStorage(arg), -1);
    for (Operation &op : body)
      for (Value result : op.getResults())
        if (!isView(result) && !isWeightsRoot(result))
          bufferFor(result, stepOf[&op]);

    // A use keeps the storage root alive.
    for (Operation &op : body)
      for (Value operand : op.getOperands()) {
        Value root = storageRoot(operand);
        auto it = bufferOf.find(root);
        if (it != bufferOf.end())
          requests[it->second].lastUse =
              std::max(requests[it->second].lastUse, stepOf[&op]);
      }

    // Outputs: written in place when an op computes them into a buffer no
    // other output uses; otherwise (inputs, constants, repeats) they get a
    // buffer of their own that the program copies into at the end.
    SmallVector<int64_t> outputBuffer;
    llvm::DenseSet<Value> claimed;
    for (Value v : ret.getOperands()) {
      Value root = storageRoot(v);
      bool inPlace = !isModelInput(root) && !isWeightsRoot(root) &&
                     claimed.insert(root).second;
      if (inPlace) {
        size_t idx = bufferOf[root];
        requests[idx].lastUse = lastStep + 1;
        outputBuffer.push_back(idx);
      } else {
        requests.push_back({byteSize(v.getType()), lastStep, lastStep + 1});
        outputBuffer.push_back(requests.size() - 1);
      }
    }

    // Which buffers belong to the backward pass (the autodiff pass marks
    // its ops; communication and updates of backward values follow them).
    llvm::DenseSet<Value> backward;
    for (Operation &op : body) {
      bool isBackward = op.hasAttr(kBackwardAttr) ||
                        isa<graph::SgdUpdateOp, graph::AdamwUpdateOp>(op);
      if (!isBackward && isa<dist::DistDialect>(op.getDialect()))
        isBackward = llvm::any_of(op.getOperands(), [&](Value operand) {
          return backward.contains(storageRoot(operand));
        });
      if (isBackward)
        for (Value result : op.getResults())
          backward.insert(result);
    }
    std::vector<bool> isBackwardBuffer(requests.size(), false);
    for (auto &[root, index] : bufferOf)
      isBackwardBuffer[index] = backward.contains(root);
    // Live bytes per step (a sweep over buffer starts and ends); the peak
    // step's split by pass.
    std::map<int64_t, std::pair<int64_t, int64_t>> change; // step -> delta
    for (size_t i = 0; i < requests.size(); ++i) {
      int64_t bytes = requests[i].bytes;
      int64_t back = isBackwardBuffer[i] ? bytes : 0;
      change[requests[i].firstUse].first += bytes;
      change[requests[i].firstUse].second += back;
      change[requests[i].lastUse + 1].first -= bytes;
      change[requests[i].lastUse + 1].second -= back;
    }
    int64_t peakTotal = 0, peakBackward = 0, total = 0, back = 0;
    for (auto &[step, delta] : change) {
      total += delta.first;
      back += delta.second;
      if (total > peakTotal) {
        peakTotal = total;
        peakBackward = back;
      }
    }

    ArenaPlan plan = planArena(requests, alignment);
    SS_DEBUG(DEBUG_TYPE, dbgs << func.getName() << ": " << requests.size()
                              << " buffers, arena " << plan.totalBytes
                              << " bytes\n";
             for (size_t i = 0; i < requests.size(); ++i) dbgs
             << "  buffer " << i << ": " << requests[i].bytes
             << " bytes, steps [" << requests[i].firstUse << ", "
             << requests[i].lastUse << "], offset " << plan.offsets[i] << "\n");

    Builder b(func.getContext());
    for (Operation &op : body) {
      if (op.getNumResults() == 0)
        continue;
      SmallVector<int64_t> offsets;
      for (Value result : op.getResults()) {
        Value root = storageRoot(result);
        auto it = bufferOf.find(root);
        offsets.push_back(it == bufferOf.end() ? -1 : plan.offsets[it->second]);
      }
      op.setAttr(kOffsetsAttr, b.getDenseI64ArrayAttr(offsets));
    }
    SmallVector<int64_t> inputOffsets, outputOffsets;
    for (BlockArgument arg : func.getArguments())
      inputOffsets.push_back(
          arg.use_empty() ? -1 : plan.offsets[bufferOf[inputStorage(arg)]]);
    for (int64_t idx : outputBuffer)
      outputOffsets.push_back(plan.offsets[idx]);
    func->setAttr(kInputOffsetsAttr, b.getDenseI64ArrayAttr(inputOffsets));
    func->setAttr(kOutputOffsetsAttr, b.getDenseI64ArrayAttr(outputOffsets));
    func->setAttr(kArenaBytesAttr, b.getI64IntegerAttr(plan.totalBytes));
    func->setAttr(kPeakLiveAttr,
                  b.getDenseI64ArrayAttr(
                      {peakTotal, peakTotal - peakBackward, peakBackward}));
    return success();
  }
};

} // namespace
} // namespace ss
