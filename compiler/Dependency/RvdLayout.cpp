//===- RvdLayout.cpp - RVD layouts and their cheapest transitions ---------===//
//
// A* over layouts. A search state is the counts plus one linear coordinate
// per device, so states compare and hash as flat integer arrays; RvdLayout
// values are built only for the steps of the path returned.
//
//===----------------------------------------------------------------------===//

#include "Dependency/RvdLayout.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <queue>
#include <tuple>
#include <unordered_map>

using namespace ss::dependency;

namespace {

/// a * b, or nullopt past `limit` (so counts from user input cannot overflow).
std::optional<int64_t> mulBounded(int64_t a, int64_t b, int64_t limit) {
  if (a <= 0 || b <= 0 || a > limit / b)
    return std::nullopt;
  return a * b;
}

std::string joinInts(const std::vector<int64_t> &values) {
  std::string s;
  for (size_t i = 0; i < values.size(); ++i)
    s += (i ? "," : "") + std::to_string(values[i]);
  return s;
}

} // namespace

//===----------------------------------------------------------------------===//
// RvdLayout
//===----------------------------------------------------------------------===//

RvdLayout RvdLayout::fromGrid(int64_t replicas, int64_t valueParts,
                              std::vector<int64_t> splits,
                              const std::vector<int64_t> &devices) {
  RvdLayout layout;
  layout.replicas = replicas;
  layout.valueParts = valueParts;
  layout.splits = std::move(splits);
  int64_t perReplica = valueParts;
  for (int64_t d : layout.splits)
    perReplica *= d;
  assert(static_cast<int64_t>(devices.size()) == replicas * perReplica &&
         "device count must match the grid");
  for (int64_t slot = 0; slot < static_cast<int64_t>(devices.size()); ++slot) {
    RvdCoord coord;
    coord.splits.resize(layout.splits.size());
    int64_t rest = slot % perReplica;
    for (int64_t i = layout.rank() - 1; i >= 0; --i) {
      coord.splits[i] = rest % layout.splits[i];
      rest /= layout.splits[i];
    }
    coord.value = rest;
    layout.pieces[devices[slot]] = std::move(coord);
  }
  return layout;
}

bool RvdLayout::isRegular() const {
  if (replicas < 1 || valueParts < 1 || pieces.empty())
    return false;
  int64_t limit = numDevices();
  std::optional<int64_t> numCoords = valueParts;
  for (int64_t d : splits)
    if (numCoords)
      numCoords = mulBounded(*numCoords, d, limit);
  if (!numCoords || !mulBounded(*numCoords, replicas, limit) ||
      *numCoords * replicas != limit)
    return false;
  std::map<RvdCoord, int64_t> holders;
  for (const auto &[device, coord] : pieces) {
    if (coord.value < 0 || coord.value >= valueParts ||
        coord.splits.size() != splits.size())
      return false;
    for (size_t i = 0; i < splits.size(); ++i)
      if (coord.splits[i] < 0 || coord.splits[i] >= splits[i])
        return false;
    if (++holders[coord] > replicas)
      return false;
  }
  // Every coordinate appears at most R times over R * #coords devices, so
  // each appears exactly R times.
  return true;
}

std::map<int64_t, int64_t> RvdLayout::replicaIndices() const {
  std::map<RvdCoord, int64_t> seen;
  std::map<int64_t, int64_t> indices;
  for (const auto &[device, coord] : pieces) // ascending device id
    indices[device] = seen[coord]++;
  return indices;
}

std::string RvdLayout::countsStr() const {
  return "R" + std::to_string(replicas) + " V" + std::to_string(valueParts) +
         " D[" + joinInts(splits) + "]";
}

std::string RvdLayout::str() const {
  std::string s = countsStr() + " {";
  bool first = true;
  for (const auto &[device, coord] : pieces) {
    s += (first ? "" : " ") + std::to_string(device) + ":v" +
         std::to_string(coord.value) + "[" + joinInts(coord.splits) + "]";
    first = false;
  }
  return s + "}";
}

std::optional<RvdLayout>
ss::dependency::inferRvdLayout(const std::vector<int64_t> &fullShape,
                               const std::vector<DevicePiece> &pieces) {
  if (pieces.empty())
    return std::nullopt;
  size_t rank = fullShape.size();
  RvdLayout layout;
  layout.valueParts = pieces.front().valueCount;
  if (layout.valueParts < 1)
    return std::nullopt;
  layout.splits.assign(rank, 1);
  const DevicePiece &front = pieces.front();
  if (front.sizes.size() != rank || front.offsets.size() != rank)
    return std::nullopt;
  for (size_t i = 0; i < rank; ++i) {
    int64_t full = fullShape[i], size = front.sizes[i];
    if (full < 0 || size < 0 || size > full)
      return std::nullopt;
    // An empty dimension can only be held whole.
    if (full == 0)
      continue;
    if (size == 0 || full % size != 0)
      return std::nullopt;
    layout.splits[i] = full / size;
  }
  for (const DevicePiece &piece : pieces) {
    if (piece.valueCount != layout.valueParts || piece.valueIndex < 0 ||
        piece.valueIndex >= piece.valueCount || piece.sizes.size() != rank ||
        piece.offsets.size() != rank)
      return std::nullopt;
    RvdCoord coord;
    coord.value = piece.valueIndex;
    coord.splits.resize(rank);
    for (size_t i = 0; i < rank; ++i) {
      int64_t size = front.sizes[i];
      if (piece.sizes[i] != size || piece.offsets[i] < 0)
        return std::nullopt;
      if (size == 0) {
        if (piece.offsets[i] != 0)
          return std::nullopt;
        continue;
      }
      if (piece.offsets[i] % size != 0 ||
          piece.offsets[i] + size > fullShape[i])
        return std::nullopt;
      coord.splits[i] = piece.offsets[i] / size;
    }
    if (!layout.pieces.emplace(piece.device, std::move(coord)).second)
      return std::nullopt; // a device holds two pieces
  }
  // R is whatever makes the device count add up; isRegular then checks that
  // every coordinate has exactly R holders.
  int64_t numCoords = layout.valueParts;
  for (int64_t d : layout.splits) {
    std::optional<int64_t> next = mulBounded(numCoords, d, layout.numDevices());
    if (!next)
      return std::nullopt;
    numCoords = *next;
  }
  if (layout.numDevices() % numCoords != 0)
    return std::nullopt;
  layout.replicas = layout.numDevices() / numCoords;
  if (!layout.isRegular())
    return std::nullopt;
  return layout;
}

//===----------------------------------------------------------------------===//
// Steps and paths
//===----------------------------------------------------------------------===//

const char *ss::dependency::stepKindName(RvdStepKind kind) {
  switch (kind) {
  case RvdStepKind::AllReduce:
    return "all-reduce";
  case RvdStepKind::ReduceScatter:
    return "reduce-scatter";
  case RvdStepKind::AllGather:
    return "all-gather";
  case RvdStepKind::AllToAll:
    return "all-to-all";
  case RvdStepKind::LocalSlice:
    return "local-slice";
  case RvdStepKind::LocalScale:
    return "local-scale";
  }
  return "unknown";
}

std::string RvdStep::describe() const {
  std::string s =
      std::string(stepKindName(kind)) + " x" + std::to_string(factor);
  if (kind == RvdStepKind::AllToAll)
    s += " dim " + std::to_string(dim) + "->" + std::to_string(toDim);
  else if (dim >= 0)
    s += " dim " + std::to_string(dim);
  if (!groups.empty()) {
    s += " over [";
    for (size_t g = 0; g < groups.size(); ++g)
      s += (g ? ",[" : "[") + joinInts(groups[g]) + "]";
    s += "]";
  }
  return s;
}

bool RvdLocalExtraction::isIdentity(
    const std::vector<int64_t> &pieceShape) const {
  if (scale != 1.0 || sizes.size() != pieceShape.size())
    return false;
  for (size_t i = 0; i < sizes.size(); ++i)
    if (offsets[i] != 0 || sizes[i] != pieceShape[i])
      return false;
  return true;
}

std::string TransitionPath::describe() const {
  if (steps.empty())
    return "no communication";
  std::string s;
  for (size_t i = 0; i < steps.size(); ++i)
    s += (i ? "; " : "") + steps[i].describe();
  return s;
}

//===----------------------------------------------------------------------===//
// The search
//===----------------------------------------------------------------------===//

namespace {

/// A step without its groups: what the search branches on and breaks ties by
/// (kind, dim, toDim, factor).
struct StepKey {
  RvdStepKind kind;
  int32_t dim;
  int32_t toDim;
  int64_t factor;

  bool operator<(const StepKey &o) const {
    return std::tie(kind, dim, toDim, factor) <
           std::tie(o.kind, o.dim, o.toDim, o.factor);
  }
};

/// Layout as the search sees it: [V, D0..Dn-1, then the linear coordinate
/// ((v * D0 + d0) * D1 + d1)... of every device in ascending id order].
/// R is implied by the device count.
using State = std::vector<int32_t>;

struct StateHash {
  size_t operator()(const State &s) const {
    uint64_t h = 1469598103934665603ull; // FNV-1a
    for (int32_t x : s) {
      h ^= static_cast<uint32_t>(x);
      h *= 1099511628211ull;
    }
    return static_cast<size_t>(h);
  }
};

/// Costs are sums of fractions of piece sizes; compare them with a relative
/// tolerance so that exact ties (e.g. all-reduce vs reduce-scatter plus
/// all-gather) fall through to the step-count tie break.
int compareCost(double a, double b) {
  double tol = 1e-9 * std::max({1.0, std::fabs(a), std::fabs(b)});
  if (a < b - tol)
    return -1;
  if (a > b + tol)
    return 1;
  return 0;
}

/// Priority of a partial path: cost so far plus the remaining lower bound,
/// then step count, then the step keys.
struct PathKey {
  double priority = 0;
  std::vector<StepKey> seq;

  bool operator<(const PathKey &o) const {
    if (int c = compareCost(priority, o.priority))
      return c < 0;
    if (seq.size() != o.seq.size())
      return seq.size() < o.seq.size();
    return seq < o.seq;
  }
};

/// A layout unpacked for expansion: every device's coordinate (v, d0..dn-1)
/// and replica index, by device position.
struct Unpacked {
  std::vector<int64_t> coords; // numDevices * (rank + 1)
  std::vector<int64_t> replica;
};

/// A path the search settled on: its steps and their total cost.
struct Outcome {
  std::vector<StepKey> steps;
  double cost = 0;
};

class PathFinder {
public:
  PathFinder(const RvdLayout &from, const RvdLayout &to,
             const std::vector<int64_t> &shape, int64_t elementBytes,
             RvdSearchLimits limits)
      : shape(shape), rank(shape.size()), elementBytes(elementBytes),
        limits(limits) {
    for (const auto &entry : from.pieces)
      devices.push_back(entry.first);
    numDevices = static_cast<int64_t>(devices.size());
    start = pack(from);
    targetValueParts = to.valueParts;
    targetSplits = to.splits;
    for (int64_t device : devices) {
      const RvdCoord &coord = to.pieces.at(device);
      targetValue.push_back(coord.value);
      for (size_t i = 0; i < rank; ++i) {
        int64_t size = shape[i] / to.splits[i];
        targetLo.push_back(coord.splits[i] * size);
        targetSize.push_back(size);
      }
    }
  }

  /// A* from the start layout. With `towardTarget`, only splits that divide
  /// the target's counts are taken; paths costing more than `costBound` are
  /// dropped. Sets `overBudget` when the state limit cut the search short.
  std::optional<Outcome> search(bool towardTarget, double costBound,
                                bool &overBudget);
  TransitionPath materialize(const Outcome &outcome) const;

private:
  int64_t valueParts(const State &s) const { return s[0]; }
  int64_t split(const State &s, size_t i) const { return s[1 + i]; }
  int64_t numCoords(const State &s) const {
    int64_t n = s[0];
    for (size_t i = 0; i < rank; ++i)
      n *= s[1 + i];
    return n;
  }
  int64_t replicas(const State &s) const { return numDevices / numCoords(s); }
  int64_t pieceElements(const State &s) const {
    int64_t n = 1;
    for (size_t i = 0; i < rank; ++i)
      n *= shape[i] / split(s, i);
    return n;
  }
  int32_t linear(const State &s, int64_t p) const { return s[1 + rank + p]; }

  State pack(const RvdLayout &layout) const {
    State s;
    s.push_back(static_cast<int32_t>(layout.valueParts));
    for (int64_t d : layout.splits)
      s.push_back(static_cast<int32_t>(d));
    for (const auto &entry : layout.pieces) {
      int64_t c = entry.second.value;
      for (size_t i = 0; i < rank; ++i)
        c = c * layout.splits[i] + entry.second.splits[i];
      s.push_back(static_cast<int32_t>(c));
    }
    return s;
  }

  Unpacked unpack(const State &s) const {
    Unpacked u;
    u.coords.resize(numDevices * (rank + 1));
    u.replica.resize(numDevices);
    // Devices are in ascending id order, so counting holders as we go gives
    // each device its rank among the holders of its coordinate.
    std::vector<int64_t> seen(numCoords(s), 0);
    for (int64_t p = 0; p < numDevices; ++p) {
      int64_t c = linear(s, p);
      u.replica[p] = seen[c]++;
      int64_t *coord = &u.coords[p * (rank + 1)];
      for (size_t i = rank; i-- > 0;) {
        coord[1 + i] = c % split(s, i);
        c /= split(s, i);
      }
      coord[0] = c;
    }
    return u;
  }

  RvdLayout toLayout(const State &s) const {
    Unpacked u = unpack(s);
    RvdLayout layout;
    layout.replicas = replicas(s);
    layout.valueParts = valueParts(s);
    for (size_t i = 0; i < rank; ++i)
      layout.splits.push_back(split(s, i));
    for (int64_t p = 0; p < numDevices; ++p) {
      const int64_t *coord = &u.coords[p * (rank + 1)];
      RvdCoord &piece = layout.pieces[devices[p]];
      piece.value = coord[0];
      piece.splits.assign(coord + 1, coord + 1 + rank);
    }
    return layout;
  }

  double stepCost(const State &s, const StepKey &step) const {
    double b = static_cast<double>(pieceElements(s) * elementBytes);
    double f = static_cast<double>(step.factor);
    switch (step.kind) {
    case RvdStepKind::AllReduce:
      return 2 * (f - 1) / f * b;
    case RvdStepKind::ReduceScatter:
    case RvdStepKind::AllToAll:
      return (f - 1) / f * b;
    case RvdStepKind::AllGather:
      return (f - 1) * b;
    case RvdStepKind::LocalSlice:
    case RvdStepKind::LocalScale:
      return 0;
    }
    return 0;
  }

  std::vector<StepKey> candidateSteps(const State &s, bool towardTarget) const;
  State apply(const State &s, const Unpacked &u, const StepKey &step,
              double *bound = nullptr) const;
  std::vector<std::vector<int64_t>> groupsOf(const Unpacked &u,
                                             const StepKey &step) const;
  bool isGoal(const State &s) const;
  int64_t deviceNeed(int64_t p, int64_t valueRefinement, const int64_t *coord,
                     const int64_t *pieceSizes) const;
  /// How many target value parts each current one splits into, or 0 when the
  /// target's value parts do not refine the current ones.
  int64_t valueRefinement(int64_t valueParts) const {
    return targetValueParts % valueParts == 0 ? targetValueParts / valueParts
                                              : 0;
  }
  double remainingLowerBound(const State &s) const;
  std::map<int64_t, RvdLocalExtraction> extractions(const State &s) const;

  const std::vector<int64_t> &shape;
  size_t rank;
  int64_t elementBytes;
  RvdSearchLimits limits;
  std::vector<int64_t> devices; // ascending
  int64_t numDevices = 0;
  State start;
  int64_t targetValueParts = 1;
  std::vector<int64_t> targetSplits;
  // Per device position: target value index, and target box per dimension.
  std::vector<int64_t> targetValue, targetLo, targetSize;
  int64_t settled = 0;
};

std::vector<StepKey> PathFinder::candidateSteps(const State &s,
                                                bool towardTarget) const {
  std::vector<StepKey> steps;
  int64_t v = valueParts(s), r = replicas(s);
  auto factorsOf = [](int64_t n) {
    std::vector<int64_t> fs;
    for (int64_t f = 2; f <= n; ++f)
      if (n % f == 0)
        fs.push_back(f);
    return fs;
  };
  // Splitting dim i by f must leave whole elements, and (when asked) a count
  // that divides the target's: a goal layout never splits a dimension finer
  // than the target does, so a finer split must be gathered again later.
  auto canSplit = [&](size_t i, int64_t f) {
    return (shape[i] / split(s, i)) % f == 0 &&
           (!towardTarget || targetSplits[i] % (split(s, i) * f) == 0);
  };
  for (int64_t f : factorsOf(v)) {
    steps.push_back({RvdStepKind::AllReduce, -1, -1, f});
    for (size_t i = 0; i < rank; ++i)
      if (canSplit(i, f))
        steps.push_back(
            {RvdStepKind::ReduceScatter, static_cast<int32_t>(i), -1, f});
  }
  for (size_t i = 0; i < rank; ++i)
    for (int64_t f : factorsOf(split(s, i))) {
      steps.push_back({RvdStepKind::AllGather, static_cast<int32_t>(i), -1, f});
      for (size_t j = 0; j < rank; ++j)
        if (j != i && canSplit(j, f))
          steps.push_back({RvdStepKind::AllToAll, static_cast<int32_t>(i),
                           static_cast<int32_t>(j), f});
    }
  for (int64_t f : factorsOf(r)) {
    for (size_t i = 0; i < rank; ++i)
      if (canSplit(i, f))
        steps.push_back(
            {RvdStepKind::LocalSlice, static_cast<int32_t>(i), -1, f});
    if (!towardTarget || targetValueParts % (v * f) == 0)
      steps.push_back({RvdStepKind::LocalScale, -1, -1, f});
  }
  return steps;
}

State PathFinder::apply(const State &s, const Unpacked &u, const StepKey &step,
                        double *bound) const {
  int64_t f = step.factor;
  size_t i = static_cast<size_t>(step.dim), j = static_cast<size_t>(step.toDim);
  State next(s.size());
  std::copy(s.begin(), s.begin() + 1 + rank, next.begin());
  switch (step.kind) {
  case RvdStepKind::AllReduce:
    next[0] /= f;
    break;
  case RvdStepKind::ReduceScatter:
    next[0] /= f;
    next[1 + i] *= f;
    break;
  case RvdStepKind::AllGather:
    next[1 + i] /= f;
    break;
  case RvdStepKind::AllToAll:
    next[1 + i] /= f;
    next[1 + j] *= f;
    break;
  case RvdStepKind::LocalSlice:
    next[1 + i] *= f;
    break;
  case RvdStepKind::LocalScale:
    next[0] *= f;
    break;
  }
  std::vector<int64_t> sizes(rank);
  for (size_t k = 0; k < rank; ++k)
    sizes[k] = shape[k] / next[1 + k];
  // A device's new coordinate follows from its own coordinate and replica
  // index alone: its position in its group is the low digit of v or d_i.
  std::vector<int64_t> coord(rank + 1);
  int64_t worst = 0, refinement = valueRefinement(next[0]);
  for (int64_t p = 0; p < numDevices; ++p) {
    std::copy_n(&u.coords[p * (rank + 1)], rank + 1, coord.begin());
    int64_t r = u.replica[p];
    switch (step.kind) {
    case RvdStepKind::AllReduce:
      coord[0] /= f;
      break;
    case RvdStepKind::ReduceScatter:
      coord[1 + i] = coord[1 + i] * f + coord[0] % f;
      coord[0] /= f;
      break;
    case RvdStepKind::AllGather:
      coord[1 + i] /= f;
      break;
    case RvdStepKind::AllToAll:
      coord[1 + j] = coord[1 + j] * f + coord[1 + i] % f;
      coord[1 + i] /= f;
      break;
    case RvdStepKind::LocalSlice:
      coord[1 + i] = coord[1 + i] * f + r % f;
      break;
    case RvdStepKind::LocalScale:
      coord[0] = coord[0] * f + r % f;
      break;
    }
    int64_t c = coord[0];
    for (size_t k = 0; k < rank; ++k)
      c = c * next[1 + k] + coord[1 + k];
    next[1 + rank + p] = static_cast<int32_t>(c);
    if (bound)
      worst = std::max(worst,
                       deviceNeed(p, refinement, coord.data(), sizes.data()));
  }
  if (bound)
    *bound = static_cast<double>(worst * elementBytes);
  return next;
}

std::vector<std::vector<int64_t>>
PathFinder::groupsOf(const Unpacked &u, const StepKey &step) const {
  std::vector<std::vector<int64_t>> groups;
  if (step.kind == RvdStepKind::LocalSlice ||
      step.kind == RvdStepKind::LocalScale)
    return groups;
  // Members share every digit but the one being merged, and the replica
  // index; each group is led by its member whose digit is 0 mod f, and
  // groups are listed by leader id.
  int64_t f = step.factor;
  std::map<std::vector<int64_t>, int64_t> holder; // (coord, replica) -> pos
  for (int64_t p = 0; p < numDevices; ++p) {
    std::vector<int64_t> key(&u.coords[p * (rank + 1)],
                             &u.coords[(p + 1) * (rank + 1)]);
    key.push_back(u.replica[p]);
    holder[key] = p;
  }
  bool byValue = step.kind == RvdStepKind::AllReduce ||
                 step.kind == RvdStepKind::ReduceScatter;
  size_t digit = byValue ? 0 : 1 + static_cast<size_t>(step.dim);
  for (int64_t p = 0; p < numDevices; ++p) {
    std::vector<int64_t> key(&u.coords[p * (rank + 1)],
                             &u.coords[(p + 1) * (rank + 1)]);
    key.push_back(u.replica[p]);
    if (key[digit] % f != 0)
      continue;
    std::vector<int64_t> group;
    for (int64_t k = 0; k < f; ++k) {
      std::vector<int64_t> member = key;
      member[digit] += k;
      group.push_back(devices[holder.at(member)]);
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

bool PathFinder::isGoal(const State &s) const {
  int64_t v = valueParts(s);
  if (v != 1 && v != targetValueParts)
    return false;
  Unpacked u = unpack(s);
  for (int64_t p = 0; p < numDevices; ++p) {
    const int64_t *coord = &u.coords[p * (rank + 1)];
    if (v != 1 && coord[0] != targetValue[p])
      return false;
    for (size_t i = 0; i < rank; ++i) {
      int64_t size = shape[i] / split(s, i), lo = coord[1 + i] * size;
      int64_t tlo = targetLo[p * rank + i], tsize = targetSize[p * rank + i];
      if (tlo < lo || tlo + tsize > lo + size)
        return false;
    }
  }
  return true;
}

/// A* heuristic, per device: elements it must still receive. Every step
/// costs at least what each device receives in it, and local steps add no
/// data, so a device that lacks part of its target box must receive that
/// part, and one whose value part cannot become the target's without a
/// reduction must receive a number for every element of its target box. The
/// need drops by at most what a step moves, so the bound (the largest need,
/// in bytes) is consistent and settled layouts stay final.
int64_t PathFinder::deviceNeed(int64_t p, int64_t valueRefinement,
                               const int64_t *coord,
                               const int64_t *pieceSizes) const {
  // Value part v of V can still become part tv of TV by local scaling only
  // if TV is a multiple of V and tv refines v.
  bool valueReachable =
      valueRefinement != 0 && targetValue[p] / valueRefinement == coord[0];
  int64_t target = 1, overlap = 1;
  for (size_t i = 0; i < rank; ++i) {
    int64_t size = pieceSizes[i], lo = coord[1 + i] * size;
    int64_t tlo = targetLo[p * rank + i], tsize = targetSize[p * rank + i];
    target *= tsize;
    overlap *= std::max<int64_t>(0, std::min(lo + size, tlo + tsize) -
                                        std::max(lo, tlo));
  }
  return valueReachable ? target - overlap : target;
}

double PathFinder::remainingLowerBound(const State &s) const {
  Unpacked u = unpack(s);
  std::vector<int64_t> sizes(rank);
  for (size_t i = 0; i < rank; ++i)
    sizes[i] = shape[i] / split(s, i);
  int64_t worst = 0;
  for (int64_t p = 0; p < numDevices; ++p)
    worst =
        std::max(worst, deviceNeed(p, valueRefinement(valueParts(s)),
                                   &u.coords[p * (rank + 1)], sizes.data()));
  return static_cast<double>(worst * elementBytes);
}

std::map<int64_t, RvdLocalExtraction>
PathFinder::extractions(const State &s) const {
  std::map<int64_t, RvdLocalExtraction> result;
  // A full value becomes value part k of V by scaling with 1/V; which k is
  // the consumer's business.
  double scale = valueParts(s) == 1 && targetValueParts > 1
                     ? 1.0 / static_cast<double>(targetValueParts)
                     : 1.0;
  Unpacked u = unpack(s);
  for (int64_t p = 0; p < numDevices; ++p) {
    const int64_t *coord = &u.coords[p * (rank + 1)];
    RvdLocalExtraction &e = result[devices[p]];
    e.scale = scale;
    for (size_t i = 0; i < rank; ++i) {
      int64_t lo = coord[1 + i] * (shape[i] / split(s, i));
      e.offsets.push_back(targetLo[p * rank + i] - lo);
      e.sizes.push_back(targetSize[p * rank + i]);
    }
  }
  return result;
}

std::optional<Outcome> PathFinder::search(bool towardTarget, double costBound,
                                          bool &overBudget) {
  struct Node {
    const State *state; // the key in `index`, which never moves
    double cost;        // bytes moved so far
    double bound;       // remainingLowerBound(*state)
    PathKey key;
    bool settled = false;
  };
  struct Entry {
    PathKey key;
    int64_t node;
    // std::priority_queue pops the largest: order by descending key.
    bool operator<(const Entry &o) const { return o.key < key; }
  };
  std::vector<Node> nodes;
  std::unordered_map<State, int64_t, StateHash> index;
  std::priority_queue<Entry> queue;
  overBudget = false;

  auto startIt = index.emplace(start, 0).first;
  double startBound = remainingLowerBound(start);
  nodes.push_back({&startIt->first, 0, startBound, {startBound, {}}});
  queue.push({nodes[0].key, 0});
  while (!queue.empty()) {
    Entry entry = queue.top();
    queue.pop();
    if (nodes[entry.node].settled || nodes[entry.node].key < entry.key)
      continue; // superseded by a cheaper way to the same layout
    nodes[entry.node].settled = true;
    ++settled;
    const State &state = *nodes[entry.node].state;
    if (isGoal(state))
      return Outcome{entry.key.seq, nodes[entry.node].cost};
    if (static_cast<int64_t>(entry.key.seq.size()) >= limits.maxSteps)
      continue;
    Unpacked u = unpack(state);
    for (const StepKey &step : candidateSteps(state, towardTarget)) {
      double cost = nodes[entry.node].cost + stepCost(state, step);
      if (compareCost(cost, costBound) > 0)
        continue;
      double bound = 0;
      auto [it, inserted] = index.emplace(apply(state, u, step, &bound),
                                          static_cast<int64_t>(nodes.size()));
      if (inserted) {
        if (static_cast<int64_t>(nodes.size()) >= limits.maxStates) {
          overBudget = true;
          return std::nullopt;
        }
        nodes.push_back({&it->first, cost, bound, {}});
      }
      Node &next = nodes[it->second];
      if (compareCost(cost + next.bound, costBound) > 0)
        continue;
      PathKey key{cost + next.bound, entry.key.seq};
      key.seq.push_back(step);
      if (!inserted && (next.settled || !(key < next.key)))
        continue;
      next.cost = cost;
      next.key = key;
      queue.push({std::move(key), it->second});
    }
  }
  return std::nullopt;
}

TransitionPath PathFinder::materialize(const Outcome &outcome) const {
  // Replay the steps from the start to list groups and layouts.
  TransitionPath path;
  path.statesVisited = settled;
  State state = start;
  for (const StepKey &key : outcome.steps) {
    RvdStep step;
    step.kind = key.kind;
    step.factor = key.factor;
    step.dim = key.dim;
    step.toDim = key.toDim;
    step.cost = stepCost(state, key);
    Unpacked u = unpack(state);
    step.groups = groupsOf(u, key);
    state = apply(state, u, key);
    step.after = toLayout(state);
    path.cost += step.cost;
    path.steps.push_back(std::move(step));
  }
  path.extractions = extractions(state);
  return path;
}

bool fitsShape(const RvdLayout &layout, const std::vector<int64_t> &shape) {
  if (layout.splits.size() != shape.size())
    return false;
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] < 0 || shape[i] % layout.splits[i] != 0)
      return false;
  return true;
}

} // namespace

std::optional<TransitionPath>
ss::dependency::findTransitionPath(const RvdLayout &from, const RvdLayout &to,
                                   const std::vector<int64_t> &fullShape,
                                   int64_t elementBytes,
                                   RvdSearchLimits limits) {
  if (!from.isRegular() || !to.isRegular() || !fitsShape(from, fullShape) ||
      !fitsShape(to, fullShape) || elementBytes < 0 ||
      from.numDevices() > INT32_MAX)
    return std::nullopt;
  if (from.pieces.size() != to.pieces.size() ||
      !std::equal(
          from.pieces.begin(), from.pieces.end(), to.pieces.begin(),
          [](const auto &a, const auto &b) { return a.first == b.first; }))
    return std::nullopt;
  // First only toward the target's counts, which is quick; then everything,
  // bounded by that path's cost, which finds detours such as splitting the
  // data among replicas before a reduction and gathering it after. If the
  // second search runs out of states, the first path stands.
  PathFinder finder(from, to, fullShape, elementBytes, limits);
  bool overBudget = false;
  std::optional<Outcome> quick = finder.search(true, INFINITY, overBudget);
  if (!quick)
    return std::nullopt;
  std::optional<Outcome> best = finder.search(false, quick->cost, overBudget);
  return finder.materialize(best && !overBudget ? *best : *quick);
}

const std::optional<TransitionPath> &
RvdPathSearch::find(const RvdLayout &from, const RvdLayout &to,
                    const std::vector<int64_t> &fullShape,
                    int64_t elementBytes) {
  std::vector<int64_t> key;
  key.push_back(elementBytes);
  key.push_back(static_cast<int64_t>(fullShape.size()));
  key.insert(key.end(), fullShape.begin(), fullShape.end());
  for (const RvdLayout *layout : {&from, &to}) {
    key.push_back(layout->replicas);
    key.push_back(layout->valueParts);
    key.push_back(layout->rank());
    key.insert(key.end(), layout->splits.begin(), layout->splits.end());
    key.push_back(layout->numDevices());
    for (const auto &[device, coord] : layout->pieces) {
      key.push_back(device);
      key.push_back(coord.value);
      key.push_back(static_cast<int64_t>(coord.splits.size()));
      key.insert(key.end(), coord.splits.begin(), coord.splits.end());
    }
  }
  auto it = cache.find(key);
  if (it != cache.end()) {
    ++numHits;
    return it->second;
  }
  ++numMisses;
  return cache
      .emplace(std::move(key),
               findTransitionPath(from, to, fullShape, elementBytes, limits))
      .first->second;
}
