//===- Schedule.cpp - per-device order and the deadlock check -------------===//
//
// The dist-schedule pass. Each device's ops are ordered by list scheduling
// over data dependencies and op-order constraints; communication that has
// its input is issued first, receives wait until just before their first
// user. Then all devices' sequences are run together in a simulation: a
// collective fires when every member is at it, a send when its receive is.
// A receive waits for nothing local, so on a stall it moves: up to meet a
// sender waiting at the send, or down past work that needs nothing
// outstanding (its sender may be waiting for that work). Any other stall
// proves the plan can hang; the error names the two ops that wait on each
// other. The simulated order becomes the block order.
//
//===----------------------------------------------------------------------===//

#include "Debug.h"
#include "Dist/DistDialect.h"
#include "Graph/GraphDialect.h"
#include "Passes.h"
#include "Plan/Primitives.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"

#include <map>
#include <queue>

#define DEBUG_TYPE "dist-schedule"

namespace ss {
#define GEN_PASS_DEF_DISTSCHEDULE
#include "Passes.h.inc"
} // namespace ss

using namespace mlir;
using namespace ss;
using namespace ss::dist;

namespace {

/// "all_reduce #3 over [0, 1] of 'h0/attn/out'".
std::string describe(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << op->getName().stripDialect();
  if (auto id = op->getAttrOfType<IntegerAttr>("id"))
    os << " #" << id.getInt();
  if (auto group = op->getAttrOfType<DenseI64ArrayAttr>("group")) {
    os << " over [";
    llvm::interleaveComma(group.asArrayRef(), os);
    os << "]";
  } else if (auto peer = op->getAttrOfType<IntegerAttr>("peer")) {
    os << (isa<SendOp>(op) ? " to " : " from ") << peer.getInt();
  }
  std::string name = plan::nodeName(op);
  if (!name.empty())
    os << " of '" << name << "'";
  return text;
}

/// Whether a comm op has its data locally (it can be issued eagerly).
bool hasInput(Operation *op) { return op->getNumOperands() > 0; }

/// The device a passive communication op (one without an input: a recv, a
/// broadcast off the root) waits for, or none for other ops.
std::optional<int64_t> passiveSource(Operation *op) {
  if (auto recv = dyn_cast<RecvOp>(op))
    return static_cast<int64_t>(recv.getPeer());
  if (auto broadcast = dyn_cast<BroadcastOp>(op))
    if (!broadcast.getInput())
      return static_cast<int64_t>(broadcast.getRoot());
  return std::nullopt;
}

struct Scheduler {
  func::FuncOp func;
  Block &body;
  llvm::DenseMap<Operation *, unsigned> position;
  std::map<int64_t, SmallVector<Operation *>> ops;       // per device
  std::map<int64_t, SmallVector<Operation *>> sequences; // per device
  llvm::DenseMap<Operation *, SmallVector<Operation *>> predecessors;
  llvm::DenseMap<Operation *, double> priority;

  explicit Scheduler(func::FuncOp func)
      : func(func), body(func.getBody().front()) {}

  LogicalResult orderDevices();
  LogicalResult sortDevice(int64_t device);
  LogicalResult checkMatching();
  FailureOr<SmallVector<Operation *>> simulate();
  bool unblock(std::map<int64_t, size_t> &head, ArrayRef<Operation *> done);
};

bool Scheduler::unblock(std::map<int64_t, size_t> &head,
                        ArrayRef<Operation *> done) {
  llvm::DenseSet<Operation *> executed(done.begin(), done.end());
  auto isReady = [&](Operation *op) {
    return llvm::all_of(predecessors.lookup(op), [&](Operation *before) {
      return executed.contains(before);
    });
  };
  auto headOf = [&](int64_t device) -> Operation * {
    auto it = sequences.find(device);
    if (it == sequences.end() || head[device] >= it->second.size())
      return nullptr;
    return it->second[head[device]];
  };
  auto moveToHead = [&](int64_t device, size_t index) {
    SmallVector<Operation *> &sequence = sequences[device];
    Operation *op = sequence[index];
    sequence.erase(sequence.begin() + index);
    sequence.insert(sequence.begin() + head[device], op);
  };

  // A communication whose active parties are all at it: its passive
  // parties (receives, broadcasts off the root) move up to meet it.
  for (auto &[device, sequence] : sequences) {
    Operation *op = headOf(device);
    if (!op || !isCommunication(op) || passiveSource(op))
      continue;
    Attribute id = op->getAttr("id");
    SmallVector<std::pair<int64_t, size_t>> moves;
    bool ready = true;
    for (int64_t member : commGroupOf(op)) {
      Operation *other = headOf(member);
      if (other && isCommunication(other) && other->getAttr("id") == id)
        continue;
      SmallVector<Operation *> &theirs = sequences[member];
      auto it = llvm::find_if(
          llvm::drop_begin(theirs, head[member]), [&](Operation *candidate) {
            return isCommunication(candidate) && candidate->getAttr("id") == id;
          });
      if (it == theirs.end() || !passiveSource(*it) || !isReady(*it)) {
        ready = false;
        break;
      }
      moves.push_back({member, static_cast<size_t>(it - theirs.begin())});
    }
    if (!ready || moves.empty())
      continue;
    for (auto [member, index] : moves)
      moveToHead(member, index);
    return true;
  }

  // A device waiting at a passive op goes on with the first op after it
  // that needs nothing outstanding, computation before communication: its
  // peer may be waiting for that work (the input of what it sends, a
  // collective both take part in).
  for (bool communication : {false, true})
    for (auto &[device, sequence] : sequences) {
      Operation *op = headOf(device);
      if (!op || !passiveSource(op))
        continue;
      for (size_t index = head[device] + 1; index < sequence.size(); ++index) {
        Operation *next = sequence[index];
        if (isCommunication(next) == communication && !passiveSource(next) &&
            isReady(next)) {
          moveToHead(device, index);
          return true;
        }
      }
    }
  return false;
}

LogicalResult Scheduler::orderDevices() {
  unsigned index = 0;
  llvm::DenseMap<int64_t, Operation *> byUid;
  for (Operation &op : body) {
    position[&op] = index++;
    if (isa<func::ReturnOp>(op) || op.hasTrait<OpTrait::ConstantLike>())
      continue;
    std::optional<int64_t> device = deviceOf(&op);
    if (!device)
      return op.emitError() << "op has no device; run dist-apply-plan and "
                               "dist-insert-communication before dist-schedule";
    ops[*device].push_back(&op);
    if (auto uid = op.getAttrOfType<IntegerAttr>(plan::kUidAttr))
      byUid[uid.getInt()] = &op;
  }

  // Dependencies and priorities per device.
  for (auto &[device, list] : ops) {
    // The device's readers of each variable (assigns wait for them).
    llvm::StringMap<SmallVector<Operation *>> readers;
    for (Operation *op : list)
      if (auto read = dyn_cast<graph::VariableOp>(op))
        for (Operation *user : read->getUsers())
          if (deviceOf(user) == device)
            readers[read.getSymName()].push_back(user);
    for (Operation *op : list) {
      priority[op] = position[op];
      for (Value operand : op->getOperands()) {
        Operation *def = operand.getDefiningOp();
        if (!def || def->hasTrait<OpTrait::ConstantLike>())
          continue;
        if (deviceOf(def) != device)
          return op->emitError()
                 << "uses a value of device " << *deviceOf(def) << " on device "
                 << device
                 << "; values cross devices only through communication";
        predecessors[op].push_back(def);
      }
      // An assign to a variable comes after every read of it on the device:
      // a step reads the state it started with.
      if (auto assign = dyn_cast<graph::AssignOp>(op))
        for (Operation *user : readers.lookup(assign.getVariable()))
          if (user != op)
            predecessors[op].push_back(user);
      if (auto after = op->getAttrOfType<DenseI64ArrayAttr>(plan::kAfterAttr))
        for (int64_t uid : after.asArrayRef())
          if (Operation *before = byUid.lookup(uid))
            if (deviceOf(before) == device)
              predecessors[op].push_back(before);
      // Issue communication as soon as its input is ready; receive just
      // before the first user, so a device computes what it can first.
      if (isCommunication(op)) {
        if (hasInput(op)) {
          priority[op] = -1.0;
        } else {
          std::optional<double> first;
          for (Operation *user : op->getUsers()) {
            double before = double(position[user]) - 0.5;
            first = first ? std::min(*first, before) : before;
          }
          priority[op] = first.value_or(position[op]);
        }
      }
    }
    if (failed(sortDevice(device)))
      return failure();
  }

  return success();
}

LogicalResult Scheduler::sortDevice(int64_t device) {
  SmallVector<Operation *> &list = ops[device];
  llvm::DenseMap<Operation *, SmallVector<Operation *>> successors;
  llvm::DenseMap<Operation *, unsigned> waiting;
  for (Operation *op : list)
    for (Operation *before : predecessors.lookup(op)) {
      successors[before].push_back(op);
      ++waiting[op];
    }
  auto later = [&](Operation *a, Operation *b) {
    if (priority[a] != priority[b])
      return priority[a] > priority[b];
    return position[a] > position[b];
  };
  std::priority_queue<Operation *, std::vector<Operation *>, decltype(later)>
      ready(later);
  for (Operation *op : list)
    if (waiting[op] == 0)
      ready.push(op);
  SmallVector<Operation *> &sequence = sequences[device];
  sequence.clear();
  while (!ready.empty()) {
    Operation *op = ready.top();
    ready.pop();
    sequence.push_back(op);
    for (Operation *next : successors[op])
      if (--waiting[next] == 0)
        ready.push(next);
  }
  if (sequence.size() != list.size()) {
    Operation *stuck = nullptr;
    for (Operation *op : list)
      if (waiting[op] > 0 && (!stuck || position[op] < position[stuck]))
        stuck = op;
    return stuck->emitError() << "op-order constraints form a cycle on device "
                              << device << " through " << describe(stuck);
  }
  return success();
}

LogicalResult Scheduler::checkMatching() {
  // Every collective id has one op per member, all alike.
  std::map<int64_t, SmallVector<Operation *>> members;
  for (auto &[device, sequence] : sequences)
    for (Operation *op : sequence)
      if (isCommunication(op))
        members[cast<IntegerAttr>(op->getAttr("id")).getInt()].push_back(op);
  for (auto &[id, ops] : members) {
    Operation *first = ops.front();
    if (isa<SendOp, RecvOp>(first)) {
      auto send =
          llvm::find_if(ops, [](Operation *op) { return isa<SendOp>(op); });
      auto recv =
          llvm::find_if(ops, [](Operation *op) { return isa<RecvOp>(op); });
      if (ops.size() != 2 || send == ops.end() || recv == ops.end())
        return first->emitError()
               << describe(first) << " has no matching "
               << (isa<SendOp>(first) ? "recv" : "send") << " with id " << id;
      auto s = cast<SendOp>(*send);
      auto r = cast<RecvOp>(*recv);
      if (s.getPeer() != r.getDevice() || r.getPeer() != s.getDevice() ||
          s.getInput().getType() != r.getType())
        return s.emitError() << describe(s) << " does not match " << describe(r)
                             << " (devices or types differ)";
      continue;
    }
    SmallVector<int64_t> group = commGroupOf(first);
    SmallVector<int64_t> seen;
    for (Operation *op : ops) {
      if (op->getName() != first->getName() ||
          commGroupOf(op) != commGroupOf(first))
        return op->emitError() << describe(op) << " disagrees with "
                               << describe(first) << " on kind or group";
      seen.push_back(*deviceOf(op));
    }
    for (int64_t device : group)
      if (llvm::count(seen, device) != 1)
        return first->emitError()
               << describe(first) << ": device " << device << " has "
               << llvm::count(seen, device)
               << " ops of this collective; every member needs exactly one";
  }
  return success();
}

FailureOr<SmallVector<Operation *>> Scheduler::simulate() {
  std::map<int64_t, size_t> head;
  for (auto &[device, sequence] : sequences)
    head[device] = 0;
  auto at = [&](int64_t device) -> Operation * {
    auto it = sequences.find(device);
    if (it == sequences.end() || head[device] >= it->second.size())
      return nullptr;
    return it->second[head[device]];
  };
  auto sameInstance = [](Operation *a, Operation *b) {
    return a && b && a->getAttr("id") == b->getAttr("id") &&
           isCommunication(a) && isCommunication(b);
  };
  SmallVector<Operation *> order;
  size_t total = 0;
  for (auto &[device, sequence] : sequences)
    total += sequence.size();
  while (order.size() < total) {
    bool progress = false;
    for (auto &[device, sequence] : sequences) {
      while (Operation *op = at(device)) {
        if (isCommunication(op))
          break;
        order.push_back(op);
        ++head[device];
        progress = true;
      }
    }
    for (auto &[device, sequence] : sequences) {
      Operation *op = at(device);
      if (!op)
        continue;
      SmallVector<int64_t> parties = commGroupOf(op);
      if (!llvm::all_of(parties, [&](int64_t member) {
            return sameInstance(at(member), op);
          }))
        continue;
      for (int64_t member : parties) {
        order.push_back(at(member));
        ++head[member];
      }
      progress = true;
    }
    if (progress)
      continue;
    // Stalled. A passive op (a receive, a broadcast off the root) waits for
    // nothing local, so it may move: up to meet its sender (two devices
    // that both send to each other first, as co-sharded pieces exchanged
    // both ways), or down past work its sender waits for.
    if (unblock(head, order))
      continue;
    // Stalled: find a device whose communication waits on a member that is
    // blocked at a different op.
    for (auto &[device, sequence] : sequences) {
      Operation *op = at(device);
      if (!op)
        continue;
      for (int64_t member : commGroupOf(op)) {
        Operation *other = at(member);
        if (sameInstance(other, op))
          continue;
        if (!other)
          return op->emitError()
                     << "plan deadlocks: " << describe(op) << " on device "
                     << device << " waits for device " << member
                     << ", which has already finished",
                 failure();
        InFlightDiagnostic diag =
            op->emitError()
            << "plan deadlocks: " << describe(op) << " on device " << device
            << " waits for device " << member << ", which is blocked at "
            << describe(other) << "; the two run in opposite orders";
        diag.attachNote(other->getLoc())
            << "device " << member << " waits here";
        return failure();
      }
    }
    return func.emitError("schedule stalled without a communication op"),
           failure();
  }
  return order;
}

struct SchedulePass : ss::impl::DistScheduleBase<SchedulePass> {
  void runOnOperation() override {
    for (func::FuncOp func : getOperation().getOps<func::FuncOp>()) {
      Scheduler scheduler(func);
      if (failed(scheduler.orderDevices()) || failed(scheduler.checkMatching()))
        return signalPassFailure();
      FailureOr<SmallVector<Operation *>> order = scheduler.simulate();
      if (failed(order))
        return signalPassFailure();
      // Constants first (they belong to no device), then the simulated
      // order, then the return.
      Block &body = scheduler.body;
      Operation *terminator = body.getTerminator();
      for (Operation *op : *order)
        op->moveBefore(terminator);
      SS_DEBUG(DEBUG_TYPE, dbgs << "scheduled " << order->size() << " ops on "
                                << scheduler.sequences.size() << " devices\n");
    }
  }
};

} // namespace
