//===- BucketAllReduce.cpp - gradient all-reduces in buckets --------------===//
//
// The dist-bucket-all-reduce pass: gradient all-reduces over one group are
// packed into buckets, one collective each.
//
//===----------------------------------------------------------------------===//

#include "Autodiff/Autodiff.h"
#include "Debug.h"
#include "Dist/DistDialect.h"
#include "Graph/GraphDialect.h"
#include "Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

#include <map>

#define DEBUG_TYPE "dist-bucket-all-reduce"

namespace ss {
#define GEN_PASS_DEF_DISTBUCKETALLREDUCE
#include "Passes.h.inc"
} // namespace ss

using namespace mlir;
using namespace ss;
using namespace ss::dist;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// A gradient all-reduce: float, from the backward pass, read only by
/// optimizer updates.
bool isGradientAllReduce(AllReduceOp op) {
  Operation *def = op.getInput().getDefiningOp();
  if (!typeOf(op.getInput()).getElementType().isF32() || !def ||
      !def->hasAttr(kBackwardAttr) || op->use_empty())
    return false;
  return llvm::all_of(op->getUsers(), [](Operation *user) {
    return isa<graph::SgdUpdateOp, graph::AdamwUpdateOp>(user);
  });
}

struct BucketAllReducePass
    : ss::impl::DistBucketAllReduceBase<BucketAllReducePass> {
  using DistBucketAllReduceBase::DistBucketAllReduceBase;

  void runOnOperation() override {
    if (bucketBytes <= 0)
      return;
    for (func::FuncOp func : getOperation().getOps<func::FuncOp>())
      bucketFunction(func);
  }

  int64_t freshId() {
    ModuleOp module = getOperation();
    auto attr = module->getAttrOfType<IntegerAttr>("dist.next_comm");
    int64_t id = attr ? attr.getInt() : 0;
    module->setAttr(
        "dist.next_comm",
        IntegerAttr::get(IntegerType::get(&getContext(), 64), id + 1));
    return id;
  }

  void bucketFunction(func::FuncOp func) {
    // Each collective (one op per member device), in program order.
    llvm::MapVector<int64_t, SmallVector<AllReduceOp>> byId;
    func.walk([&](AllReduceOp op) { byId[op.getId()].push_back(op); });
    std::map<std::vector<int64_t>, SmallVector<int64_t>> open;
    std::map<std::vector<int64_t>, int64_t> openBytes;
    unsigned buckets = 0, merged = 0;
    auto flush = [&](const std::vector<int64_t> &group) {
      SmallVector<int64_t> ids = std::move(open[group]);
      open[group].clear();
      openBytes[group] = 0;
      if (ids.size() < 2 || !packable(ids, byId))
        return;
      ++buckets;
      merged += ids.size();
      pack(ids, byId);
    };
    for (auto &[id, ops] : byId) {
      ArrayRef<int64_t> members = ops.front().getGroup();
      std::vector<int64_t> group(members.begin(), members.end());
      if (ops.size() != group.size() || !llvm::all_of(ops, isGradientAllReduce))
        continue;
      open[group].push_back(id);
      openBytes[group] += typeOf(ops.front().getInput()).getNumElements() * 4;
      if (openBytes[group] >= bucketBytes)
        flush(group);
    }
    for (auto &[group, ids] : open)
      if (!ids.empty())
        flush(group);
    SS_DEBUG(DEBUG_TYPE, dbgs << func.getName() << ": " << merged
                              << " gradient all-reduces in " << buckets
                              << " buckets\n");
  }

  /// Whether, on every device, the bucket's inputs are in one block.
  static bool
  packable(ArrayRef<int64_t> ids,
           llvm::MapVector<int64_t, SmallVector<AllReduceOp>> &byId) {
    for (int64_t id : ids)
      for (AllReduceOp op : byId[id]) {
        Operation *def = op.getInput().getDefiningOp();
        if (!def || def->getBlock() != op->getBlock())
          return false;
      }
    return true;
  }

  /// Replaces the collectives `ids` by one all-reduce of their
  /// concatenation on every member device.
  void pack(ArrayRef<int64_t> ids,
            llvm::MapVector<int64_t, SmallVector<AllReduceOp>> &byId) {
    int64_t bucketId = freshId();
    std::map<int64_t, SmallVector<AllReduceOp>> perDevice;
    for (int64_t id : ids)
      for (AllReduceOp op : byId[id])
        perDevice[op.getDevice()].push_back(op);
    for (auto &[device, ops] : perDevice) {
      // The bucket goes right after its last gradient is computed.
      Operation *anchor = ops.front().getInput().getDefiningOp();
      for (AllReduceOp op : ops)
        if (anchor->isBeforeInBlock(op.getInput().getDefiningOp()))
          anchor = op.getInput().getDefiningOp();
      OpBuilder b(anchor->getContext());
      b.setInsertionPointAfter(anchor);
      Location loc = ops.front().getLoc();
      IntegerAttr deviceAttr = b.getI64IntegerAttr(device);
      auto onDevice = [&](Operation *op) {
        op->setAttr(kDeviceAttr, deviceAttr);
        return op->getResult(0);
      };
      SmallVector<Value> flat;
      SmallVector<int64_t> sizes;
      int64_t total = 0;
      for (AllReduceOp op : ops) {
        int64_t n = typeOf(op.getInput()).getNumElements();
        flat.push_back(onDevice(b.create<graph::ReshapeOp>(
            loc, op.getInput(), ArrayRef<int64_t>{n})));
        sizes.push_back(n);
        total += n;
      }
      Value packed = onDevice(
          b.create<graph::ConcatOp>(loc, flat, b.getI64IntegerAttr(0)));
      Value summed = b.create<AllReduceOp>(
          loc, packed.getType(), packed, ops.front().getGroupAttr(), deviceAttr,
          b.getI64IntegerAttr(bucketId));
      int64_t offset = 0;
      SmallVector<Value> shapedParts;
      for (auto [op, n] : llvm::zip(ops, sizes)) {
        Value part = onDevice(b.create<graph::SliceOp>(
            loc, summed, ArrayRef<int64_t>{offset}, ArrayRef<int64_t>{n},
            ArrayRef<int64_t>{1}));
        Value shaped = onDevice(b.create<graph::ReshapeOp>(
            loc, part, typeOf(op.getInput()).getShape()));
        op.getResult().replaceAllUsesWith(shaped);
        shapedParts.push_back(shaped);
        offset += n;
      }
      for (AllReduceOp op : ops)
        op.erase();
      // Updates of the bucket's earlier gradients (and what reads their
      // results, such as assigns) wait for the bucket: move them after it,
      // in their order.
      Operation *tail = shapedParts.back().getDefiningOp();
      llvm::SetVector<Operation *> moved;
      SmallVector<Value> worklist(shapedParts.begin(), shapedParts.end());
      while (!worklist.empty()) {
        Value value = worklist.pop_back_val();
        for (Operation *user : value.getUsers())
          if (user->getBlock() == tail->getBlock() &&
              user->isBeforeInBlock(tail) && moved.insert(user))
            worklist.append(user->result_begin(), user->result_end());
      }
      SmallVector<Operation *> order(moved.begin(), moved.end());
      llvm::sort(order, [](Operation *x, Operation *y) {
        return x->isBeforeInBlock(y);
      });
      for (Operation *op : order) {
        op->moveAfter(tail);
        tail = op;
      }
    }
  }
};

} // namespace
