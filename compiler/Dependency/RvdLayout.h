//===- RvdLayout.h - RVD layouts and their cheapest transitions -*- C++ -*-===//
//
// Describes how a full tensor lies over devices as R replicas, V value parts
// and D[i] splits per dimension, and finds the cheapest path of collectives
// and local steps that turns a producer's layout into a consumer's. Free of
// MLIR so the search can be unit-tested against a data simulator.
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_DEPENDENCY_RVDLAYOUT_H
#define SS_COMPILER_DEPENDENCY_RVDLAYOUT_H

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ss::dependency {

/// The piece one device holds: value part `value` of V, and split index
/// `splits[i]` of D[i] along every dimension i.
struct RvdCoord {
  int64_t value = 0;
  std::vector<int64_t> splits;

  bool operator==(const RvdCoord &other) const {
    return value == other.value && splits == other.splits;
  }
  bool operator!=(const RvdCoord &other) const { return !(*this == other); }
  bool operator<(const RvdCoord &other) const {
    return value != other.value ? value < other.value : splits < other.splits;
  }
};

/// A full tensor laid out over a device set: every coordinate (v, d_0..d_n-1)
/// is held by exactly `replicas` devices. Among the devices holding one
/// coordinate, the replica index of a device is its rank by ascending id.
struct RvdLayout {
  int64_t replicas = 1;
  int64_t valueParts = 1;
  std::vector<int64_t> splits;
  std::map<int64_t, RvdCoord> pieces; // device id -> coordinate

  /// Lays `devices` out in row-major order over the grid (R, V, D0..Dn-1),
  /// replicas outermost, the last dimension fastest (nnScaler's order).
  static RvdLayout fromGrid(int64_t replicas, int64_t valueParts,
                            std::vector<int64_t> splits,
                            const std::vector<int64_t> &devices);

  int64_t numDevices() const { return static_cast<int64_t>(pieces.size()); }
  int64_t rank() const { return static_cast<int64_t>(splits.size()); }
  /// True when the counts are positive, every coordinate is in range and
  /// every coordinate is held by exactly `replicas` devices.
  bool isRegular() const;
  /// Device id -> replica index among the devices holding the same piece.
  std::map<int64_t, int64_t> replicaIndices() const;

  /// "R2 V1 D[2,1]".
  std::string countsStr() const;
  /// "R2 V1 D[2,1] {0:v0[0,0] 1:v0[1,0] ...}".
  std::string str() const;

  bool operator==(const RvdLayout &other) const {
    return replicas == other.replicas && valueParts == other.valueParts &&
           splits == other.splits && pieces == other.pieces;
  }
  bool operator!=(const RvdLayout &other) const { return !(*this == other); }
};

/// One device's sub-tensor as the transformation stage describes it: an index
/// box of the full tensor and a value part (valueIndex of valueCount).
struct DevicePiece {
  int64_t device = 0;
  std::vector<int64_t> offsets;
  std::vector<int64_t> sizes;
  int64_t valueIndex = 0;
  int64_t valueCount = 1;
};

/// The RVD layout of `pieces`, or nullopt unless they form a regular grid:
/// each device at most once, one value count, equal piece sizes per dimension
/// that divide the full size, aligned offsets, and every coordinate held by
/// the same number (>= 1) of devices.
std::optional<RvdLayout> inferRvdLayout(const std::vector<int64_t> &fullShape,
                                        const std::vector<DevicePiece> &pieces);

/// Kinds of transition, in tie-breaking order. The first four are
/// collectives over groups of devices; the last two need no traffic.
enum class RvdStepKind {
  AllReduce,     // V -> R
  ReduceScatter, // V -> D[dim]
  AllGather,     // D[dim] -> R
  AllToAll,      // D[dim] -> D[toDim]
  LocalSlice,    // R -> D[dim]: replica r keeps chunk r % factor along dim
  LocalScale,    // R -> V: replica r scales by 1/factor and becomes part
                 // v*factor + r % factor
};

/// "all-reduce", "reduce-scatter", ...
const char *stepKindName(RvdStepKind kind);

/// One transition. Group members are listed in group order: for all-reduce and
/// reduce-scatter by value part, for all-gather and all-to-all by split index
/// along `dim`. Member k of a reduce-scatter keeps chunk k along `dim`; member
/// k of an all-to-all receives chunk k along `toDim` from every member and
/// concatenates them along `dim` in group order.
struct RvdStep {
  RvdStepKind kind = RvdStepKind::AllReduce;
  int64_t factor = 1;
  int64_t dim = -1;   // split dimension touched; -1 for value-only steps
  int64_t toDim = -1; // all-to-all target dimension; -1 otherwise
  std::vector<std::vector<int64_t>> groups; // empty for local steps
  double cost = 0;                          // bytes moved per device
  RvdLayout after;

  /// "all-reduce x2 over [[0,1],[2,3]]", "local-slice x2 dim 0".
  std::string describe() const;
};

/// What a device cuts out of its final piece to obtain its target piece: a box
/// relative to the piece it holds, then a multiplication by `scale` (1/V of the
/// target when a full value becomes one of V value parts).
struct RvdLocalExtraction {
  std::vector<int64_t> offsets;
  std::vector<int64_t> sizes;
  double scale = 1.0;

  bool isIdentity(const std::vector<int64_t> &pieceShape) const;
};

struct TransitionPath {
  std::vector<RvdStep> steps;
  double cost = 0; // sum of the steps' costs
  /// Device id -> local extraction after the last step.
  std::map<int64_t, RvdLocalExtraction> extractions;
  /// Layouts the search settled, for debug logs and tests.
  int64_t statesVisited = 0;

  /// Steps joined by "; ", or "no communication" for an empty path.
  std::string describe() const;
};

/// Bounds of one search: path length, and layouts held in memory per pass.
struct RvdSearchLimits {
  int64_t maxSteps = 6;
  int64_t maxStates = 20000;
};

/// The cheapest path (bytes moved per device, then fewest steps, then the
/// earliest step kinds, dims and factors) after which every device can cut its
/// `to` piece out of the piece it holds. Nullopt when the layouts are not
/// regular, cover different device sets, do not fit `fullShape`, or no path is
/// found within `limits`.
///
/// The search is A* over layouts with a lower bound on the bytes a device must
/// still receive. A first pass only splits dimensions (or the value) into
/// counts that divide the target's, which is quick and still has reducing and
/// gathering everything among its candidates; a second pass drops that
/// restriction, bounded by the first path's cost, to find detours such as
/// splitting data among replicas before a reduction. If the second pass exceeds
/// `limits`, the first pass's path is returned.
std::optional<TransitionPath>
findTransitionPath(const RvdLayout &from, const RvdLayout &to,
                   const std::vector<int64_t> &fullShape, int64_t elementBytes,
                   RvdSearchLimits limits = {});

/// findTransitionPath with a cache: a compiled model asks the same question
/// for every repeated layer.
class RvdPathSearch {
public:
  explicit RvdPathSearch(RvdSearchLimits limits = {}) : limits(limits) {}

  const std::optional<TransitionPath> &
  find(const RvdLayout &from, const RvdLayout &to,
       const std::vector<int64_t> &fullShape, int64_t elementBytes);

  int64_t hits() const { return numHits; }
  int64_t misses() const { return numMisses; }

private:
  RvdSearchLimits limits;
  // Key: element bytes, shape, both layouts' counts and every device's pair
  // of coordinates, flattened so that lookups compare plain integers.
  std::map<std::vector<int64_t>, std::optional<TransitionPath>> cache;
  int64_t numHits = 0;
  int64_t numMisses = 0;
};

} // namespace ss::dependency

#endif // SS_COMPILER_DEPENDENCY_RVDLAYOUT_H
