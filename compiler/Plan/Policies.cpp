//===- Policies.cpp - data and Megatron tensor parallelism ----------------===//
//
// Both policies follow one split label through the graph using only the
// ops' dimension annotations: a value "carries" the split on some dim, and
// an op whose operand carries it is split on that operand's label.
//
//===----------------------------------------------------------------------===//

#include "Plan/Policies.h"

#include "Autodiff/Autodiff.h"

#include "Debug.h"
#include "Dist/DistDialect.h"
#include "Graph/DimAnnotation.h"
#include "Graph/GraphDialect.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"

#define DEBUG_TYPE "dist-apply-plan"

using namespace mlir;
using namespace ss;
using namespace ss::plan;

std::string PolicySpec::str() const {
  std::string text;
  if (dp > 1)
    text += "dp=" + std::to_string(dp);
  if (tp > 1)
    text += (text.empty() ? "" : ",") + std::string("tp=") + std::to_string(tp);
  if (zero > 0)
    text +=
        (text.empty() ? "" : ",") + std::string("zero=") + std::to_string(zero);
  return text;
}

FailureOr<PolicySpec> ss::plan::parsePolicy(StringRef text) {
  PolicySpec spec;
  bool seenDp = false, seenTp = false, seenZero = false;
  SmallVector<StringRef> parts;
  text.split(parts, ',', -1, /*KeepEmpty=*/false);
  for (StringRef part : parts) {
    auto [key, value] = part.trim().split('=');
    int64_t degree;
    if (value.getAsInteger(10, degree) || degree < (key == "zero" ? 0 : 1) ||
        (key == "zero" && degree > 2))
      return failure();
    if (key == "dp" && !seenDp) {
      spec.dp = degree;
      seenDp = true;
    } else if (key == "tp" && !seenTp) {
      spec.tp = degree;
      seenTp = true;
    } else if (key == "zero" && !seenZero) {
      spec.zero = degree;
      seenZero = true;
    } else {
      return failure();
    }
  }
  return spec;
}

namespace {

/// The full tensor an op's operand stands for (the source of its
/// dist.require), and the full tensor a result becomes (its assemble).
Value fullOperand(Operation *op, unsigned index) {
  Value operand = op->getOperand(index);
  if (auto require = operand.getDefiningOp<dist::RequireOp>())
    return require.getSource();
  return operand;
}

Value fullResult(Operation *op, unsigned index) {
  Value result = op->getResult(index);
  for (Operation *user : result.getUsers())
    if (auto assemble = dyn_cast<dist::AssembleOp>(user))
      return assemble.getResult();
  return result;
}

std::optional<graph::DimAnnotation> annotationOf(Operation *op) {
  auto annotated = dyn_cast<graph::DimAnnotationOpInterface>(op);
  if (!annotated)
    return std::nullopt;
  FailureOr<graph::DimAnnotation> parsed =
      graph::DimAnnotation::parse(annotated.getDimAnnotation());
  if (failed(parsed))
    return std::nullopt;
  return *parsed;
}

/// Which dim of a value carries the split (-1: none).
using CarryMap = llvm::DenseMap<Value, int64_t>;

/// Records on each result of `op` the dims labelled `label`.
void carryResults(Operation *op, const graph::DimAnnotation &annotation,
                  StringRef label, CarryMap &carry) {
  for (auto [index, dims] : llvm::enumerate(annotation.outputs))
    for (auto [d, dim] : llvm::enumerate(dims))
      if (dim.head().kind != graph::DimLabel::Broadcast &&
          dim.head().name == label) {
        carry[fullResult(op, index)] = d;
        break;
      }
}

/// A weight: a constant, or a trainable parameter (variable).
bool isWeight(Value value) {
  Operation *def = value.getDefiningOp();
  return def && (def->hasTrait<OpTrait::ConstantLike>() ||
                 isa<graph::VariableOp>(def));
}

bool isVariable(Value value) {
  return value.getDefiningOp<graph::VariableOp>() != nullptr;
}

bool isOptimizerUpdate(Operation *op) {
  return isa<graph::SgdUpdateOp, graph::AdamwUpdateOp>(op);
}

/// Records on the parameters `op` reads the dims labelled `label`: the
/// backward ops and the optimizer update that read the same parameter then
/// split it the same way (DESIGN.md: a transformation of a forward op
/// applies consistently to its backward ops).
template <typename Sources>
void carryVariables(Operation *op, const graph::DimAnnotation &annotation,
                    StringRef label, CarryMap &carry, Sources &sources,
                    ArrayRef<Operation *> feeding) {
  for (unsigned i = 0; i < op->getNumOperands() && i < annotation.inputs.size();
       ++i) {
    Value full = fullOperand(op, i);
    if (!isVariable(full) || carry.count(full))
      continue;
    for (auto [d, dim] : llvm::enumerate(annotation.inputs[i]))
      if (dim.head().kind != graph::DimLabel::Broadcast &&
          dim.head().name == label) {
        carry[full] = d;
        sources[full].insert(feeding.begin(), feeding.end());
        break;
      }
  }
}

} // namespace

llvm::DenseMap<Operation *, PartitionAlgo>
ss::plan::planDataParallel(func::FuncOp func, ArrayRef<Operation *> ops,
                           int64_t degree) {
  llvm::DenseMap<Operation *, PartitionAlgo> decisions;
  CarryMap carry;
  // The batch is dim 0 of the first input; every input sharing that size
  // on dim 0 is batched.
  std::optional<int64_t> batch;
  for (BlockArgument arg : func.getArguments()) {
    auto type = cast<RankedTensorType>(arg.getType());
    if (type.getRank() == 0)
      continue;
    if (!batch)
      batch = type.getDimSize(0);
    if (type.getDimSize(0) == *batch && *batch % degree == 0)
      carry[arg] = 0;
  }
  for (Operation *op : ops) {
    std::optional<graph::DimAnnotation> annotation = annotationOf(op);
    if (!annotation)
      continue;
    for (unsigned i = 0; i < op->getNumOperands(); ++i) {
      auto it = carry.find(fullOperand(op, i));
      if (it == carry.end() || i >= annotation->inputs.size())
        continue;
      const graph::DimLabel &label = annotation->inputLabel(i, it->second);
      bool reduced = label.kind == graph::DimLabel::Reduced;
      if (label.kind != graph::DimLabel::Spatial && !reduced)
        continue;
      // A reduction over the batch leaves partial sums, which carry no
      // batch dim on.
      PartitionAlgo algo =
          reduced ? PartitionAlgo::splitReduction(i, it->second, degree)
                  : PartitionAlgo::splitDim(i, it->second, degree);
      std::string why;
      if (failed(checkTrans(op, algo, why)))
        continue;
      decisions[op] = algo;
      if (!reduced)
        carryResults(op, *annotation, label.name, carry);
      break;
    }
  }
  return decisions;
}

namespace {

bool isLinear(Operation *op) { return isa<graph::MatMulOp, graph::GemmOp>(op); }

/// The column-parallel split of a linear op: its weight's dim
/// whose label is spatial and kept in the result.
std::optional<PartitionAlgo> columnSplit(Operation *op, int64_t degree) {
  if (!isLinear(op) || op->getNumOperands() < 2 ||
      !isWeight(fullOperand(op, 1)) || isWeight(fullOperand(op, 0)))
    return std::nullopt;
  std::optional<graph::DimAnnotation> annotation = annotationOf(op);
  if (!annotation || annotation->inputs.size() < 2)
    return std::nullopt;
  auto mentions = [](const graph::AnnotatedTensor &dims, StringRef name) {
    return llvm::any_of(dims, [&](const graph::AnnotatedDim &dim) {
      return dim.head().name == name;
    });
  };
  for (auto [d, dim] : llvm::enumerate(annotation->inputs[1])) {
    const graph::DimLabel &label = dim.head();
    if (label.kind != graph::DimLabel::Spatial)
      continue;
    bool kept = mentions(annotation->outputs.front(), label.name);
    // A weight's batch dims (if any) are shared with the activation; only
    // a label the activation lacks is the output-feature dim.
    bool inActivation = mentions(annotation->inputs[0], label.name);
    if (!kept || inActivation)
      continue;
    PartitionAlgo algo = PartitionAlgo::splitDim(1, d, degree);
    std::string why;
    if (succeeded(checkTrans(op, algo, why)))
      return algo;
  }
  return std::nullopt;
}

} // namespace

llvm::DenseMap<Operation *, PartitionAlgo> ss::plan::planMegatronTensorParallel(
    func::FuncOp func, ArrayRef<Operation *> ops, int64_t degree) {
  llvm::DenseMap<Operation *, PartitionAlgo> columns;
  for (Operation *op : ops)
    if (std::optional<PartitionAlgo> algo = columnSplit(op, degree))
      columns[op] = *algo;

  // Propagate all candidate regions at once. A region that leaks (a split
  // value reaches an op that cannot keep it split, or a model output)
  // drops the candidates that fed it; repeat until every region closes.
  while (true) {
    llvm::DenseMap<Operation *, PartitionAlgo> decisions;
    CarryMap carry;
    llvm::DenseMap<Value, llvm::SmallSetVector<Operation *, 4>> sources;
    llvm::DenseSet<Operation *> leaking;
    for (Operation *op : ops) {
      std::optional<graph::DimAnnotation> annotation = annotationOf(op);
      llvm::SmallSetVector<Operation *, 4> feeding;
      SmallVector<std::pair<unsigned, int64_t>> carried;
      for (unsigned i = 0; i < op->getNumOperands(); ++i) {
        Value full = fullOperand(op, i);
        auto it = carry.find(full);
        if (it == carry.end())
          continue;
        carried.push_back({i, it->second});
        feeding.insert(sources[full].begin(), sources[full].end());
      }
      if (carried.empty()) {
        auto column = columns.find(op);
        if (column == columns.end() || !annotation)
          continue;
        decisions[op] = column->second;
        const graph::DimLabel &label =
            annotation->inputLabel(1, column->second.dim);
        carryResults(op, *annotation, label.name, carry);
        for (unsigned r = 0; r < op->getNumResults(); ++r)
          sources[fullResult(op, r)].insert(op);
        carryVariables(op, *annotation, label.name, carry, sources, {op});
        continue;
      }
      // Every carried operand must carry the same label.
      bool ok = annotation.has_value();
      std::optional<graph::DimLabel> label;
      for (auto [i, d] : carried) {
        if (!ok || i >= annotation->inputs.size()) {
          ok = false;
          break;
        }
        const graph::DimLabel &here = annotation->inputLabel(i, d);
        if (label && !(here == *label))
          ok = false;
        label = here;
      }
      ok = ok && label->kind != graph::DimLabel::Frozen &&
           label->kind != graph::DimLabel::Broadcast;
      if (ok) {
        auto [i, d] = carried.front();
        PartitionAlgo algo = label->kind == graph::DimLabel::Reduced
                                 ? PartitionAlgo::splitReduction(i, d, degree)
                                 : PartitionAlgo::splitDim(i, d, degree);
        std::string why;
        ok = succeeded(checkTrans(op, algo, why));
        if (ok) {
          decisions[op] = algo;
          if (algo.kind == PartitionAlgo::SplitDim) {
            carryResults(op, *annotation, label->name, carry);
            for (unsigned r = 0; r < op->getNumResults(); ++r)
              sources[fullResult(op, r)].insert(feeding.begin(), feeding.end());
          }
          carryVariables(op, *annotation, label->name, carry, sources,
                         feeding.getArrayRef());
        }
      }
      if (!ok) {
        SS_DEBUG(DEBUG_TYPE, dbgs << "tensor parallel region leaks at '"
                                  << nodeName(op) << "'\n");
        leaking.insert(feeding.begin(), feeding.end());
      }
    }
    // A split value that is a model output leaks too.
    func.walk([&](func::ReturnOp ret) {
      for (Value value : ret.getOperands())
        if (carry.count(value))
          leaking.insert(sources[value].begin(), sources[value].end());
    });
    if (leaking.empty())
      return decisions;
    for (Operation *op : leaking)
      columns.erase(op);
  }
}

llvm::DenseMap<Operation *, PartitionAlgo> ss::plan::planZeroOptimizer(
    ArrayRef<Operation *> ops, int64_t dp,
    const llvm::DenseMap<Operation *, PartitionAlgo> &tp, int64_t tpDegree,
    int64_t stage) {
  llvm::DenseMap<Operation *, PartitionAlgo> decisions;
  for (Operation *op : ops) {
    if (!isOptimizerUpdate(op))
      continue;
    auto shape = cast<RankedTensorType>(op->getOperand(0).getType()).getShape();
    auto tpAlgo = tp.find(op);
    for (auto [d, size] : llvm::enumerate(shape)) {
      int64_t local = size;
      if (tpAlgo != tp.end() &&
          tpAlgo->second.kind == PartitionAlgo::SplitDim &&
          tpAlgo->second.dim == static_cast<int64_t>(d))
        local = size % tpDegree == 0 ? size / tpDegree : 0;
      PartitionAlgo algo = PartitionAlgo::splitDim(0, d, dp);
      std::string why;
      if (local == 0 || local % dp != 0 || failed(checkTrans(op, algo, why)))
        continue;
      decisions[op] = algo;
      // ZeRO-2: the sums of the gradient over microbatches are sharded the
      // same way, so each microbatch's gradient is reduce-scattered and
      // only a shard of the running sum is kept.
      if (stage >= 2) {
        SmallVector<Value> worklist = {op->getOperand(1)};
        while (!worklist.empty()) {
          Value grad = worklist.pop_back_val();
          auto add = grad.getDefiningOp<graph::AddOp>();
          if (!add || !add->hasAttr(kAccumulateAttr) ||
              add.getType() != op->getOperand(0).getType())
            continue;
          decisions[add] = PartitionAlgo::splitDim(0, d, dp);
          worklist.append({add.getLhs(), add.getRhs()});
        }
      }
      break;
    }
    SS_DEBUG(DEBUG_TYPE,
             dbgs << "zero: '" << nodeName(op) << "' "
                  << (decisions.count(op) ? decisions[op].str()
                                          : std::string("stays replicated"))
                  << "\n");
  }
  return decisions;
}
