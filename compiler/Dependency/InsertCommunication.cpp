//===- InsertCommunication.cpp - data dependency preserving ---------------===//
//
// The dist-insert-communication pass. For every full tensor it compares the
// pieces producers hold (dist.assemble) with the pieces consumers need
// (dist.require, and the model outputs on the output device) and inserts
// the communication that makes each needed piece exist on its device:
//
//  - producers and a consumer family on the same device set, both in RVD
//    form: the cheapest transition path (RvdLayout.h), materialized as
//    per-device collectives and local slices;
//  - anything else: reduce value parts, then move boxes by send/recv (or
//    broadcast when one box goes to several devices) and compose them.
//
// Model inputs are read as boxes (dist.slice of the argument); constants
// are sliced at compile time, so each rank's weights hold only its slice.
//
//===----------------------------------------------------------------------===//

#include "Dependency/PieceLayouts.h"

#include "Debug.h"
#include "Dist/DistDialect.h"
#include "Graph/GraphDialect.h"
#include "Passes.h"
#include "Plan/Primitives.h"
#include "Transform/SliceElements.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"

#include <map>

#define DEBUG_TYPE "dist-insert-communication"

namespace ss {
#define GEN_PASS_DEF_DISTINSERTCOMMUNICATION
#include "Passes.h.inc"
} // namespace ss

using namespace mlir;
using namespace ss;
using namespace ss::dist;

namespace {

using Box = SubTensorAttr;

/// A piece of a full tensor held on a device.
struct HeldPiece {
  int64_t device;
  Box box;
  Value value;
};

/// A piece some consumer needs on a device; `uses` are the require results
/// (or return operands) it replaces.
struct NeededPiece {
  int64_t device;
  Box box;
  SmallVector<OpOperand *> uses;
  SmallVector<RequireOp>
  requires;
};

RankedTensorType typeOf(Value value) {
  return cast<RankedTensorType>(value.getType());
}

RankedTensorType boxType(Box box, Type element) {
  return RankedTensorType::get(box.getSizes(), element);
}

Box makeBox(MLIRContext *context, ArrayRef<int64_t> offsets,
            ArrayRef<int64_t> sizes, int64_t index = 0, int64_t count = 1) {
  return Box::get(context, offsets, sizes, index, count);
}

Box spatialPart(Box box) {
  return makeBox(box.getContext(), box.getOffsets(), box.getSizes());
}

std::optional<Box> intersect(Box a, Box b) {
  SmallVector<int64_t> offsets, sizes;
  for (int64_t d = 0; d < a.getRank(); ++d) {
    int64_t lo = std::max(a.getOffsets()[d], b.getOffsets()[d]);
    int64_t hi = std::min(a.getOffsets()[d] + a.getSizes()[d],
                          b.getOffsets()[d] + b.getSizes()[d]);
    if (hi <= lo)
      return std::nullopt;
    offsets.push_back(lo);
    sizes.push_back(hi - lo);
  }
  return makeBox(a.getContext(), offsets, sizes);
}

SmallVector<int64_t> relativeOffsets(Box inner, Box outer) {
  SmallVector<int64_t> offsets;
  for (int64_t d = 0; d < inner.getRank(); ++d)
    offsets.push_back(inner.getOffsets()[d] - outer.getOffsets()[d]);
  return offsets;
}

IntegerAttr i64Attr(MLIRContext *context, int64_t value) {
  return IntegerAttr::get(IntegerType::get(context, 64), value);
}

class CommunicationBuilder {
public:
  CommunicationBuilder(func::FuncOp func) : func(func) {
    context = func.getContext();
  }

  LogicalResult run();

private:
  func::FuncOp func;
  MLIRContext *context;
  dependency::RvdPathSearch search;
  /// Materialized pieces: (full tensor, device, box) -> value. Device -1
  /// holds compile-time slices of constants, usable on any device.
  using Key = std::tuple<Value, int64_t, Attribute>;
  llvm::DenseMap<Key, Value> cache;
  /// A full tensor's pieces once its value parts are summed: every family
  /// of consumers moves boxes from these, so the parts are reduced once.
  llvm::DenseMap<Value, SmallVector<HeldPiece>> reducedPieces;
  /// Per variable, per device: the largest pieces its ops read (planned
  /// before anything is materialized), and the pieces actually held.
  llvm::StringMap<std::map<int64_t, SmallVector<Attribute>>> variableHomes;
  llvm::StringMap<std::map<int64_t, llvm::SetVector<Attribute>>> heldVariables;
  std::map<std::tuple<std::string, int64_t, const void *>, Value>
      variablePieces;
  void planVariableHomes(ArrayRef<std::pair<Value, NeededPiece>> reads);
  Key key(Value full, int64_t device, Attribute box) {
    return {full, device, box};
  }

  int64_t freshId() {
    ModuleOp module = func->getParentOfType<ModuleOp>();
    auto attr = module->getAttrOfType<IntegerAttr>("dist.next_comm");
    int64_t id = attr ? attr.getInt() : 0;
    module->setAttr("dist.next_comm", i64Attr(context, id + 1));
    return id;
  }

  LogicalResult resolveFullTensor(Value full, SmallVector<NeededPiece> needs,
                                  OpBuilder &builder);
  LogicalResult resolveAssign(graph::AssignOp assign);
  Value fromEverywhere(Value full, int64_t device, Box box, OpBuilder &builder);
  LogicalResult fromPieces(Value full, ArrayRef<HeldPiece> held,
                           MutableArrayRef<NeededPiece> needs,
                           OpBuilder &builder);
  bool tryRvd(Value full, ArrayRef<HeldPiece> held,
              MutableArrayRef<NeededPiece> needs, OpBuilder &builder);
  LogicalResult reduceValueParts(Value full, SmallVector<HeldPiece> &held,
                                 OpBuilder &builder);
  Value localExtract(Value value, Box from, Box want, int64_t device,
                     OpBuilder &builder, Location loc);
  Value scaled(Value value, int64_t device, int64_t parts, OpBuilder &builder,
               Location loc);
};

/// The location to give communication for `full`: the producing node's.
Location locOf(Value full) {
  if (Operation *def = full.getDefiningOp())
    return def->getLoc();
  return full.getLoc();
}

Value CommunicationBuilder::scaled(Value value, int64_t device, int64_t parts,
                                   OpBuilder &builder, Location loc) {
  if (parts == 1 || !value)
    return value;
  return builder.create<ScaleOp>(loc, value.getType(), value,
                                 i64Attr(context, device),
                                 builder.getF64FloatAttr(1.0 / parts));
}

Value CommunicationBuilder::localExtract(Value value, Box from, Box want,
                                         int64_t device, OpBuilder &builder,
                                         Location loc) {
  if (spatialPart(from) == spatialPart(want))
    return value;
  Type element = typeOf(value).getElementType();
  return builder.create<SliceOp>(
      loc, boxType(want, element), value, i64Attr(context, device),
      builder.getDenseI64ArrayAttr(relativeOffsets(want, from)));
}

Value CommunicationBuilder::fromEverywhere(Value full, int64_t device, Box box,
                                           OpBuilder &builder) {
  Location loc = locOf(full);
  Type element = typeOf(full).getElementType();
  Box spatial = spatialPart(box);
  Value value;
  if (auto arg = dyn_cast<BlockArgument>(full)) {
    Value &cached = cache[key(full, device, spatial)];
    if (!cached)
      cached = builder.create<SliceOp>(
          loc, boxType(spatial, element), full, i64Attr(context, device),
          builder.getDenseI64ArrayAttr(spatial.getOffsets()));
    value = cached;
  } else if (auto variable = full.getDefiningOp<graph::VariableOp>()) {
    // Each device holds its own copy of the largest pieces its ops read
    // (training state lives in the rank's weights); smaller reads slice
    // them, and assigns update each copy.
    StringRef name = variable.getSymName();
    Box home;
    for (Attribute candidate : variableHomes[name][device])
      if (cast<Box>(candidate).containsBox(spatial)) {
        home = cast<Box>(candidate);
        break;
      }
    if (!home) {
      variable.emitError("no piece of variable '")
          << name << "' on device " << device << " holds " << spatial;
      return {};
    }
    Value &piece =
        variablePieces[{name.str(), device, home.getAsOpaquePointer()}];
    if (!piece) {
      auto dense = dyn_cast<DenseElementsAttr>(variable.getValue());
      if (!dense) {
        variable.emitError("cannot slice a variable whose initial value is "
                           "not dense elements");
        return {};
      }
      OpBuilder top(variable);
      top.setInsertionPointAfter(variable);
      auto read = top.create<graph::VariableOp>(
          variable.getLoc(), boxType(home, element), variable.getSymNameAttr(),
          sliceElements(dense, home.getOffsets(), home.getSizes()));
      read->setAttr(kDeviceAttr, i64Attr(context, device));
      read->setAttr(kPieceAttr, home);
      heldVariables[name][device].insert(home);
      piece = read;
    }
    Value &cached = cache[key(full, device, spatial)];
    if (!cached)
      cached = localExtract(piece, home, spatial, device, builder, loc);
    value = cached;
  } else {
    auto constant = full.getDefiningOp<graph::ConstantOp>();
    if (spatial.isWhole(typeOf(full).getShape())) {
      value = full;
    } else {
      // Every device that needs this box shares one sliced constant.
      Value &cached = cache[key(full, -1, spatial)];
      if (!cached) {
        OpBuilder top(constant);
        top.setInsertionPointAfter(constant);
        auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
        if (!dense) {
          constant.emitError("cannot slice a constant whose value is not "
                             "dense elements (an elided or external "
                             "resource)");
          return {};
        }
        cached = top.create<graph::ConstantOp>(
            constant.getLoc(), boxType(spatial, element),
            sliceElements(dense, spatial.getOffsets(), spatial.getSizes()));
      }
      value = cached;
    }
  }
  // A value part of a constant is scaled at compile time.
  int64_t parts = box.getValueCount();
  if (auto constant = value ? value.getDefiningOp<graph::ConstantOp>()
                            : graph::ConstantOp();
      constant && parts > 1 && isa<FloatType>(element)) {
    if (auto dense = dyn_cast<DenseElementsAttr>(constant.getValue())) {
      Value &cached = cache[key(value, -1, box)];
      if (!cached) {
        OpBuilder top(constant);
        top.setInsertionPointAfter(constant);
        auto floatType = cast<FloatType>(element);
        DenseElementsAttr part =
            dense.mapValues(floatType, [&](const APFloat &x) {
              APFloat y(1.0 / parts);
              bool lost;
              y.convert(floatType.getFloatSemantics(),
                        APFloat::rmNearestTiesToEven, &lost);
              APFloat product = x;
              product.multiply(y, APFloat::rmNearestTiesToEven);
              return product.bitcastToAPInt();
            });
        cached = top.create<graph::ConstantOp>(constant.getLoc(),
                                               part.getType(), part);
      }
      return cached;
    }
  }
  return scaled(value, device, parts, builder, loc);
}

LogicalResult
CommunicationBuilder::reduceValueParts(Value full, SmallVector<HeldPiece> &held,
                                       OpBuilder &builder) {
  Location loc = locOf(full);
  // Group pieces by spatial box; within a box, by value part.
  llvm::MapVector<Attribute, SmallVector<HeldPiece>> byBox;
  for (const HeldPiece &piece : held)
    byBox[spatialPart(piece.box)].push_back(piece);
  SmallVector<HeldPiece> reduced;
  for (auto &[boxAttr, pieces] : byBox) {
    Box box = cast<Box>(boxAttr);
    int64_t parts = pieces.front().box.getValueCount();
    if (parts == 1) {
      reduced.append(pieces);
      continue;
    }
    // Parts held on one device are summed there first.
    std::map<int64_t, std::map<int64_t, Value>> partsOnDevice;
    for (const HeldPiece &piece : pieces) {
      if (piece.box.getValueCount() != parts)
        return func.emitError() << "tensor pieces mix value counts " << parts
                                << " and " << piece.box.getValueCount();
      Value &slot = partsOnDevice[piece.device][piece.box.getValueIndex()];
      slot = piece.value; // replicas of one part on one device are equal
    }
    // Replicas of part k: the devices holding it, in device order.
    std::vector<std::vector<std::pair<int64_t, Value>>> holders(parts);
    for (auto &[device, values] : partsOnDevice) {
      Value sum;
      int64_t first = values.begin()->first;
      for (auto &[index, value] : values) {
        if (!sum) {
          sum = value;
          continue;
        }
        // The sum goes right after its later part, not at the consumer:
        // the scheduler issues the all-reduce below as soon as its input
        // is ready, and on devices that hold one part that is right after
        // the producer. A sum placed at a late consumer would hold this
        // device's all-reduce back behind collectives the others issue
        // first, and the plan would deadlock.
        OpBuilder local(context);
        Operation *sumDef = sum.getDefiningOp(),
                  *valueDef = value.getDefiningOp();
        if (sumDef && valueDef)
          local.setInsertionPointAfter(
              sumDef->isBeforeInBlock(valueDef) ? valueDef : sumDef);
        else
          local.setInsertionPoint(builder.getInsertionBlock(),
                                  builder.getInsertionPoint());
        auto add = local.create<graph::AddOp>(loc, value.getType(), sum, value);
        add->setAttr(kDeviceAttr, i64Attr(context, device));
        sum = add;
      }
      holders[first].push_back({device, sum});
    }
    size_t groups = holders.front().size();
    // The devices holding the first of each group of summed parts form
    // all-reduce groups, replica by replica.
    SmallVector<int64_t> partsPresent;
    for (int64_t k = 0; k < parts; ++k)
      if (!holders[k].empty()) {
        if (holders[k].size() != groups)
          return func.emitError()
                 << "value parts of a tensor are replicated unevenly ("
                 << holders[k].size() << " vs " << groups << " copies)";
        partsPresent.push_back(k);
      }
    for (size_t r = 0; r < groups; ++r) {
      SmallVector<int64_t> group;
      for (int64_t k : partsPresent)
        group.push_back(holders[k][r].first);
      if (group.size() == 1) {
        reduced.push_back(
            {group.front(), box, holders[partsPresent.front()][r].second});
        continue;
      }
      int64_t id = freshId();
      for (int64_t k : partsPresent) {
        auto [device, value] = holders[k][r];
        auto op = builder.create<AllReduceOp>(
            loc, value.getType(), value, builder.getDenseI64ArrayAttr(group),
            i64Attr(context, device), i64Attr(context, id));
        reduced.push_back({device, box, op});
      }
    }
  }
  held = std::move(reduced);
  return success();
}

LogicalResult
CommunicationBuilder::fromPieces(Value full, ArrayRef<HeldPiece> producers,
                                 MutableArrayRef<NeededPiece> needs,
                                 OpBuilder &builder) {
  Location loc = locOf(full);
  Type element = typeOf(full).getElementType();
  auto reduced = reducedPieces.find(full);
  if (reduced == reducedPieces.end()) {
    SmallVector<HeldPiece> pieces(producers);
    if (failed(reduceValueParts(full, pieces, builder)))
      return failure();
    reduced = reducedPieces.try_emplace(full, std::move(pieces)).first;
  }
  SmallVector<HeldPiece> held = reduced->second;

  // Distinct boxes and their holders, in device order.
  llvm::MapVector<Attribute, SmallVector<HeldPiece>> holders;
  for (const HeldPiece &piece : held)
    holders[piece.box].push_back(piece);

  // What each need must receive, then the receives grouped by transfer so
  // one box going to several devices becomes a broadcast.
  SmallVector<SmallVector<std::pair<Box, Value>>> assembled(needs.size());
  llvm::MapVector<std::pair<int64_t, Attribute>, SmallVector<size_t>> receivers;
  llvm::DenseMap<std::pair<int64_t, Attribute>, Value> sliced;
  for (auto [n, need] : llvm::enumerate(needs)) {
    Box want = spatialPart(need.box);
    // Local: a piece on the device contains the whole need.
    bool local = false;
    for (const HeldPiece &piece : held)
      if (piece.device == need.device && piece.box.containsBox(want)) {
        Value value = localExtract(piece.value, piece.box, want, need.device,
                                   builder, loc);
        assembled[n].push_back({want, value});
        local = true;
        break;
      }
    if (local)
      continue;
    int64_t covered = 0;
    for (auto &[boxAttr, pieces] : holders) {
      Box box = cast<Box>(boxAttr);
      std::optional<Box> overlap = intersect(box, want);
      if (!overlap)
        continue;
      covered += overlap->getNumElements();
      const HeldPiece *source = &pieces.front();
      for (const HeldPiece &piece : pieces)
        if (piece.device == need.device)
          source = &piece;
      if (source->device == need.device) {
        assembled[n].push_back(
            {*overlap, localExtract(source->value, box, *overlap, need.device,
                                    builder, loc)});
        continue;
      }
      auto transfer = std::make_pair(source->device, Attribute(*overlap));
      Value &value = sliced[transfer];
      if (!value)
        value = localExtract(source->value, box, *overlap, source->device,
                             builder, loc);
      receivers[transfer].push_back(n);
    }
    if (covered != want.getNumElements())
      return func.emitError()
             << "the producers of a tensor cover " << covered << " of the "
             << want.getNumElements() << " elements a consumer needs on device "
             << need.device;
  }
  for (auto &[transfer, targets] : receivers) {
    auto [source, boxAttr] = transfer;
    Box box = cast<Box>(boxAttr);
    Value value = sliced[transfer];
    SmallVector<int64_t> devices;
    for (size_t n : targets)
      if (!llvm::is_contained(devices, needs[n].device))
        devices.push_back(needs[n].device);
    std::map<int64_t, Value> received;
    int64_t id = freshId();
    if (devices.size() == 1) {
      builder.create<SendOp>(loc, value, i64Attr(context, source),
                             i64Attr(context, devices.front()),
                             i64Attr(context, id));
      received[devices.front()] = builder.create<RecvOp>(
          loc, boxType(box, element), i64Attr(context, devices.front()),
          i64Attr(context, source), i64Attr(context, id));
    } else {
      SmallVector<int64_t> group{source};
      group.append(devices);
      auto groupAttr = builder.getDenseI64ArrayAttr(group);
      builder.create<BroadcastOp>(
          loc, value.getType(), value, groupAttr, i64Attr(context, source),
          i64Attr(context, source), i64Attr(context, id));
      for (int64_t device : devices)
        received[device] = builder.create<BroadcastOp>(
            loc, value.getType(), Value(), groupAttr, i64Attr(context, source),
            i64Attr(context, device), i64Attr(context, id));
    }
    for (size_t n : targets)
      assembled[n].push_back({box, received[needs[n].device]});
  }

  for (auto [n, need] : llvm::enumerate(needs)) {
    Box want = spatialPart(need.box);
    auto &parts = assembled[n];
    Value value;
    if (parts.size() == 1) {
      value = parts.front().second;
    } else {
      // Row-major order of boxes keeps the emitted code readable.
      llvm::sort(parts, [](auto &a, auto &b) {
        ArrayRef<int64_t> x = a.first.getOffsets(), y = b.first.getOffsets();
        return std::lexicographical_compare(x.begin(), x.end(), y.begin(),
                                            y.end());
      });
      SmallVector<Value> values;
      SmallVector<int64_t> offsets;
      for (auto &[box, part] : parts) {
        values.push_back(part);
        llvm::append_range(offsets, relativeOffsets(box, want));
      }
      value = builder.create<ComposeOp>(loc, boxType(want, element), values,
                                        i64Attr(context, need.device),
                                        builder.getDenseI64ArrayAttr(offsets));
    }
    value = scaled(value, need.device, need.box.getValueCount(), builder, loc);
    cache[key(full, need.device, need.box)] = value;
  }
  return success();
}

LogicalResult CommunicationBuilder::resolveFullTensor(
    Value full, SmallVector<NeededPiece> needs, OpBuilder &builder) {
  // Needs already materialized (by another family) are reused.
  SmallVector<NeededPiece> missing;
  for (NeededPiece &need : needs)
    if (!cache.count(key(full, need.device, need.box)))
      missing.push_back(need);

  if (isa<BlockArgument>(full) || full.getDefiningOp<graph::ConstantOp>() ||
      full.getDefiningOp<graph::VariableOp>()) {
    for (NeededPiece &need : missing)
      cache[key(full, need.device, need.box)] =
          fromEverywhere(full, need.device, need.box, builder);
  } else if (auto assemble = full.getDefiningOp<AssembleOp>()) {
    SmallVector<HeldPiece> held;
    for (auto [input, piece] :
         llvm::zip(assemble.getInputs(), assemble.getPieces())) {
      std::optional<int64_t> device = input.getDefiningOp()
                                          ? deviceOf(input.getDefiningOp())
                                          : std::nullopt;
      if (!device)
        return assemble.emitError()
               << "a piece of this tensor is produced by an op with no "
                  "device; every sub-op must be assigned (op-assign)";
      held.push_back({*device, cast<Box>(piece), input});
    }
    // Pieces the producers already hold on the right device need nothing.
    SmallVector<NeededPiece> moved;
    for (NeededPiece &need : missing) {
      auto it = llvm::find_if(held, [&](const HeldPiece &piece) {
        return piece.device == need.device && piece.box == need.box;
      });
      if (it != held.end())
        cache[key(full, need.device, need.box)] = it->value;
      else
        moved.push_back(need);
    }
    if (!moved.empty() && !tryRvd(full, held, moved, builder) &&
        failed(fromPieces(full, held, moved, builder)))
      return failure();
  } else {
    return full.getDefiningOp()->emitError()
           << "this value is used by sub-ops but was not partitioned; "
              "every op must go through op-trans or op-assign";
  }
  if (llvm::any_of(needs, [&](NeededPiece &need) {
        return !cache.lookup(key(full, need.device, need.box));
      }))
    return failure();
  for (NeededPiece &need : needs) {
    Value value = cache.lookup(key(full, need.device, need.box));
    for (OpOperand *use : need.uses)
      use->set(value);
  }
  return success();
}

LogicalResult CommunicationBuilder::run() {
  Block &body = func.getBody().front();
  int64_t outputDevice = 0;
  if (auto attr = func->getAttrOfType<IntegerAttr>(kOutputDeviceAttr))
    outputDevice = attr.getInt();

  // Consumers per full tensor, grouped into families: the requires of one
  // operand of the sub-ops of one original op form a layout together.
  struct Family {
    Value full;
    Operation *anchor; // insert the family's communication before it
    SmallVector<NeededPiece> needs;
  };
  llvm::MapVector<std::pair<Value, std::pair<int64_t, unsigned>>, Family>
      families;
  for (Operation &op : body) {
    if (auto require = dyn_cast<RequireOp>(&op)) {
      if (!require.getDevice())
        return require.emitError()
               << "the sub-op reading this piece has no device; every "
                  "sub-op must be assigned (op-assign)";
      if (!require->hasOneUse())
        return require.emitError("a required piece must have one user");
      OpOperand &use = *require->use_begin();
      auto key = std::make_pair(require.getSource(),
                                std::make_pair(plan::originOf(use.getOwner()),
                                               use.getOperandNumber()));
      Family &family = families[key];
      family.full = require.getSource();
      if (!family.anchor)
        family.anchor = require;
      NeededPiece need{static_cast<int64_t>(*require.getDevice()),
                       require.getPiece(),
                       {},
                       {}};
      for (OpOperand &u : require->getUses())
        need.uses.push_back(&u);
      need.requires.push_back(require);
      family.needs.push_back(need);
    } else if (auto ret = dyn_cast<func::ReturnOp>(&op)) {
      for (OpOperand &operand : ret->getOpOperands()) {
        Value full = operand.get();
        if (!full.getDefiningOp<AssembleOp>() && !isa<BlockArgument>(full))
          continue; // a constant output needs nothing
        auto key = std::make_pair(
            full, std::make_pair(int64_t(-1), operand.getOperandNumber()));
        Family &family = families[key];
        family.full = full;
        family.anchor = ret;
        auto type = typeOf(full);
        family.needs.push_back(
            {outputDevice,
             makeBox(context, SmallVector<int64_t>(type.getRank(), 0),
                     type.getShape()),
             {&operand},
             {}});
      }
    }
  }

  SmallVector<std::pair<Value, NeededPiece>> variableReads;
  for (auto &[key, family] : families)
    if (family.full.getDefiningOp<graph::VariableOp>())
      for (NeededPiece &need : family.needs)
        variableReads.push_back({family.full, need});
  planVariableHomes(variableReads);

  // Families in block order of their first consumer, so a reused piece is
  // always defined before its later users.
  for (auto &[key, family] : families) {
    OpBuilder builder(family.anchor);
    if (failed(resolveFullTensor(family.full, family.needs, builder)))
      return failure();
  }
  // Assigns last: only now is every copy of each variable known.
  for (auto assign : llvm::make_early_inc_range(body.getOps<graph::AssignOp>()))
    if (failed(resolveAssign(assign)))
      return failure();
  // Drop the bookkeeping ops: requires first, then assembles.
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
    if (isa<RequireOp>(op) && op.use_empty())
      op.erase();
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
    if (auto assemble = dyn_cast<AssembleOp>(op)) {
      if (!assemble->use_empty())
        return assemble.emitError("a full tensor is still used directly");
      assemble.erase();
    }
  // Work whose result no device uses is dropped: pieces the cache made
  // but nobody took, and replicas of ops whose outputs only one rank
  // keeps (every tensor-parallel rank computes the replicated LM head,
  // only the output rank needs it). Communication is never dropped: every
  // member of a collective must take part.
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
    if (!isCommunication(&op) && isOpTriviallyDead(&op))
      op.erase();
  return success();
}

void CommunicationBuilder::planVariableHomes(
    ArrayRef<std::pair<Value, NeededPiece>> reads) {
  llvm::StringMap<std::map<int64_t, SmallVector<Box>>> boxes;
  for (auto &[full, need] : reads) {
    auto variable = full.getDefiningOp<graph::VariableOp>();
    boxes[variable.getSymName()][need.device].push_back(spatialPart(need.box));
  }
  // A device keeps the boxes no other box of it contains (largest first,
  // so equal boxes keep one copy).
  for (auto &[name, perDevice] : boxes)
    for (auto &[device, list] : perDevice) {
      llvm::stable_sort(list, [](Box a, Box b) {
        return a.getNumElements() > b.getNumElements();
      });
      SmallVector<Attribute> &homes = variableHomes[name][device];
      for (Box box : list)
        if (llvm::none_of(homes, [&](Attribute home) {
              return cast<Box>(home).containsBox(box);
            }))
          homes.push_back(box);
    }
}

LogicalResult CommunicationBuilder::resolveAssign(graph::AssignOp assign) {
  if (deviceOf(assign))
    return success(); // already per device
  Value full = assign.getValue();
  auto held = heldVariables.find(assign.getVariable());
  SmallVector<NeededPiece> needs;
  if (held != heldVariables.end())
    for (auto &[device, pieces] : held->second)
      for (Attribute piece : pieces)
        needs.push_back({device, cast<Box>(piece), {}, {}});
  OpBuilder builder(assign);
  if (!needs.empty() && failed(resolveFullTensor(full, needs, builder)))
    return failure();
  // One assign per copy, after the communication that brings its value.
  for (NeededPiece &need : needs) {
    auto piece = builder.create<graph::AssignOp>(
        assign.getLoc(), assign.getVariableAttr(),
        cache.lookup(key(full, need.device, need.box)));
    piece->setAttr(kDeviceAttr, i64Attr(context, need.device));
    piece->setAttr(kPieceAttr, need.box);
  }
  assign.erase();
  return success();
}

// RVD path: see tryRvd below.

struct InsertCommunicationPass
    : ss::impl::DistInsertCommunicationBase<InsertCommunicationPass> {
  void runOnOperation() override {
    for (func::FuncOp func : getOperation().getOps<func::FuncOp>()) {
      CommunicationBuilder builder(func);
      if (failed(builder.run()))
        return signalPassFailure();
    }
  }
};

} // namespace

/// The box a device holds under an RVD layout.
static Box boxOfCoord(MLIRContext *context, const dependency::RvdLayout &layout,
                      const dependency::RvdCoord &coord,
                      ArrayRef<int64_t> shape) {
  SmallVector<int64_t> offsets, sizes;
  for (auto [d, size] : llvm::enumerate(shape)) {
    int64_t chunk = size / layout.splits[d];
    sizes.push_back(chunk);
    offsets.push_back(coord.splits[d] * chunk);
  }
  return makeBox(context, offsets, sizes, coord.value, layout.valueParts);
}

bool CommunicationBuilder::tryRvd(Value full, ArrayRef<HeldPiece> held,
                                  MutableArrayRef<NeededPiece> needs,
                                  OpBuilder &builder) {
  RankedTensorType type = typeOf(full);
  std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
  std::vector<dependency::DevicePiece> produced, wanted;
  for (const HeldPiece &piece : held)
    produced.push_back(dependency::devicePiece(piece.device, piece.box));
  for (const NeededPiece &need : needs)
    wanted.push_back(dependency::devicePiece(need.device, need.box));
  std::optional<dependency::RvdLayout> from =
      dependency::inferRvdLayout(shape, produced);
  std::optional<dependency::RvdLayout> to =
      dependency::inferRvdLayout(shape, wanted);
  if (!from || !to)
    return false;
  int64_t elementBytes =
      std::max<int64_t>(1, type.getElementTypeBitWidth() / 8);
  const std::optional<dependency::TransitionPath> &path =
      search.find(*from, *to, shape, elementBytes);
  if (!path)
    return false;
  SS_DEBUG(DEBUG_TYPE, dbgs << "'" << plan::nodeName(full.getDefiningOp())
                            << "' " << from->countsStr() << " -> "
                            << to->countsStr() << ": " << path->describe()
                            << "\n");

  Location loc = locOf(full);
  Type element = type.getElementType();
  std::map<int64_t, Value> current;
  for (const HeldPiece &piece : held)
    current[piece.device] = piece.value;
  const dependency::RvdLayout *layout = &*from;
  for (const dependency::RvdStep &step : path->steps) {
    auto typeAfter = [&](int64_t device) {
      return boxType(
          boxOfCoord(context, step.after, step.after.pieces.at(device), shape),
          element);
    };
    std::map<int64_t, Value> next;
    if (step.kind == dependency::RvdStepKind::LocalSlice ||
        step.kind == dependency::RvdStepKind::LocalScale) {
      for (auto &[device, value] : current) {
        if (step.kind == dependency::RvdStepKind::LocalScale) {
          next[device] = scaled(value, device, step.factor, builder, loc);
          continue;
        }
        Box before =
            boxOfCoord(context, *layout, layout->pieces.at(device), shape);
        Box after = boxOfCoord(context, step.after,
                               step.after.pieces.at(device), shape);
        next[device] = localExtract(value, before, after, device, builder, loc);
      }
    } else {
      for (const std::vector<int64_t> &members : step.groups) {
        int64_t id = freshId();
        auto group = builder.getDenseI64ArrayAttr(members);
        for (int64_t device : members) {
          Value input = current.at(device);
          IntegerAttr dev = i64Attr(context, device),
                      idAttr = i64Attr(context, id);
          Operation *op = nullptr;
          switch (step.kind) {
          case dependency::RvdStepKind::AllReduce:
            op = builder.create<AllReduceOp>(loc, typeAfter(device), input,
                                             group, dev, idAttr);
            break;
          case dependency::RvdStepKind::ReduceScatter:
            op = builder.create<ReduceScatterOp>(loc, typeAfter(device), input,
                                                 group, dev, idAttr,
                                                 i64Attr(context, step.dim));
            break;
          case dependency::RvdStepKind::AllGather:
            op = builder.create<AllGatherOp>(loc, typeAfter(device), input,
                                             group, dev, idAttr,
                                             i64Attr(context, step.dim));
            break;
          case dependency::RvdStepKind::AllToAll:
            // Chunks along the target dim go out; what comes back is
            // concatenated along the dim that was split.
            op = builder.create<AllToAllOp>(
                loc, typeAfter(device), input, group, dev, idAttr,
                i64Attr(context, step.toDim), i64Attr(context, step.dim));
            break;
          default:
            llvm_unreachable("local steps are handled above");
          }
          next[device] = op->getResult(0);
        }
      }
      // Devices outside every group keep their piece.
      for (auto &[device, value] : current)
        if (!next.count(device))
          next[device] = value;
    }
    current = std::move(next);
    layout = &step.after;
  }
  for (NeededPiece &need : needs) {
    const dependency::RvdLocalExtraction &extraction =
        path->extractions.at(need.device);
    Box held =
        boxOfCoord(context, *layout, layout->pieces.at(need.device), shape);
    Value value =
        localExtract(current.at(need.device), held, spatialPart(need.box),
                     need.device, builder, loc);
    if (extraction.scale != 1.0)
      value = builder.create<ScaleOp>(
          loc, value.getType(), value, i64Attr(context, need.device),
          builder.getF64FloatAttr(extraction.scale));
    cache[key(full, need.device, need.box)] = value;
  }
  return true;
}
