// Checks every collective of comm.h with exact numbers, on groups of one to
// four ranks in table order (contiguous, strided and reordered ones), under
// mpirun with any world size from 2 to 4. World set-up is the driver's own.
//
//   comm_test                     every check; exit 0 when all pass
//   comm_test --misuse=not-member rank 1 calls a collective of a group it is
//                                 not in while rank 0 waits: the job must end
#include "comm/world.h"
#include "ssrt/comm.h"
#include "ssrt/ssrt.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace ssrt;

namespace {

using Shape = std::vector<int64_t>;

int failures = 0;
int checks = 0;

template <typename T> struct TypeOf;
template <> struct TypeOf<float> {
  static constexpr DType value = DType::F32;
  static constexpr const char *name = "f32";
};
template <> struct TypeOf<int32_t> {
  static constexpr DType value = DType::I32;
  static constexpr const char *name = "i32";
};
template <> struct TypeOf<int64_t> {
  static constexpr DType value = DType::I64;
  static constexpr const char *name = "i64";
};
template <> struct TypeOf<uint8_t> {
  static constexpr DType value = DType::U8;
  static constexpr const char *name = "u8";
};

/// Element `i` of world rank `w`'s input: distinct per rank and index, and
/// exact in every type (the int64 one needs more than 32 bits). Bytes wrap.
template <typename T> T valueOf(int w, int64_t i) {
  if (sizeof(T) == 8)
    return static_cast<T>(w * 1000000000000ll + i);
  if (sizeof(T) == 1)
    return static_cast<T>(w * 37 + i);
  return static_cast<T>(w * 1000 + i);
}

int64_t count(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

Shape unravel(int64_t flat, const Shape &shape) {
  Shape idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return idx;
}

int64_t ravel(const Shape &idx, const Shape &shape) {
  int64_t flat = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    flat = flat * shape[d] + idx[d];
  return flat;
}

std::string text(const Shape &s) {
  std::string t = "[";
  for (size_t d = 0; d < s.size(); ++d)
    t += (d ? "," : "") + std::to_string(s[d]);
  return t + "]";
}

template <typename T>
void expectEqual(const std::vector<T> &got, const std::vector<T> &want,
                 const std::string &what) {
  ++checks;
  if (got.size() != want.size()) {
    std::fprintf(stderr, "rank %d: FAILED %s: %zu values, expected %zu\n",
                 worldRank(), what.c_str(), got.size(), want.size());
    ++failures;
    return;
  }
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i]) {
      std::fprintf(stderr,
                   "rank %d: FAILED %s at index %zu: got %lld, expected %lld\n",
                   worldRank(), what.c_str(), i, static_cast<long long>(got[i]),
                   static_cast<long long>(want[i]));
      ++failures;
      return;
    }
}

template <typename T> std::vector<T> inputOf(int w, int64_t n) {
  std::vector<T> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[i] = valueOf<T>(w, i);
  return v;
}

struct GroupView {
  int index;
  std::vector<int> members;
  int position; // this rank's
  std::string name() const {
    std::string s = "group " + std::to_string(index) + " {";
    for (size_t k = 0; k < members.size(); ++k)
      s += (k ? "," : "") + std::to_string(members[k]);
    return s + "}";
  }
};

template <typename T> void checkAllReduce(const GroupView &g) {
  const int64_t n = 7;
  std::vector<T> want(n, T(0));
  for (int w : g.members)
    for (int64_t i = 0; i < n; ++i)
      want[i] += valueOf<T>(w, i);
  std::vector<T> in = inputOf<T>(worldRank(), n), out(n, T(-1));
  allReduceSum(g.index, TypeOf<T>::value, in.data(), out.data(), n);
  expectEqual(out, want, g.name() + " allReduceSum " + TypeOf<T>::name);
  allReduceSum(g.index, TypeOf<T>::value, in.data(), in.data(), n);
  expectEqual(in, want, g.name() + " allReduceSum in place " + TypeOf<T>::name);
}

template <typename T>
void checkAllGather(const GroupView &g, const Shape &shape, int dim) {
  const int64_t n = static_cast<int64_t>(g.members.size());
  Shape outShape = shape;
  outShape[dim] *= n;
  std::vector<T> want(static_cast<size_t>(count(outShape)));
  for (int64_t i = 0; i < count(outShape); ++i) {
    Shape idx = unravel(i, outShape);
    int64_t k = idx[dim] / shape[dim];
    idx[dim] -= k * shape[dim];
    want[i] = valueOf<T>(g.members[k], ravel(idx, shape));
  }
  std::vector<T> in = inputOf<T>(worldRank(), count(shape));
  std::vector<T> out(want.size(), T(-1));
  allGather(g.index, TypeOf<T>::value, in.data(), out.data(), shape.data(),
            static_cast<int>(shape.size()), dim);
  expectEqual(out, want,
              g.name() + " allGather " + TypeOf<T>::name + " " + text(shape) +
                  " dim " + std::to_string(dim));
}

template <typename T>
void checkReduceScatter(const GroupView &g, const Shape &shape, int dim) {
  const int64_t n = static_cast<int64_t>(g.members.size());
  Shape outShape = shape;
  outShape[dim] /= n;
  std::vector<T> want(static_cast<size_t>(count(outShape)), T(0));
  for (int64_t i = 0; i < count(outShape); ++i) {
    Shape idx = unravel(i, outShape);
    idx[dim] += g.position * outShape[dim];
    for (int w : g.members)
      want[i] += valueOf<T>(w, ravel(idx, shape));
  }
  std::vector<T> in = inputOf<T>(worldRank(), count(shape));
  std::vector<T> out(want.size(), T(-1));
  reduceScatterSum(g.index, TypeOf<T>::value, in.data(), out.data(),
                   shape.data(), static_cast<int>(shape.size()), dim);
  expectEqual(out, want,
              g.name() + " reduceScatterSum " + TypeOf<T>::name + " " +
                  text(shape) + " dim " + std::to_string(dim));
}

template <typename T>
void checkAllToAll(const GroupView &g, const Shape &shape, int splitDim,
                   int concatDim) {
  const int64_t n = static_cast<int64_t>(g.members.size());
  Shape chunkShape = shape;
  chunkShape[splitDim] /= n;
  Shape outShape = chunkShape;
  outShape[concatDim] *= n;
  std::vector<T> want(static_cast<size_t>(count(outShape)));
  for (int64_t i = 0; i < count(outShape); ++i) {
    // From member k: its chunk number `position` along splitDim.
    Shape idx = unravel(i, outShape);
    int64_t k = idx[concatDim] / chunkShape[concatDim];
    idx[concatDim] -= k * chunkShape[concatDim];
    idx[splitDim] += g.position * chunkShape[splitDim];
    want[i] = valueOf<T>(g.members[k], ravel(idx, shape));
  }
  std::vector<T> in = inputOf<T>(worldRank(), count(shape));
  std::vector<T> out(want.size(), T(-1));
  allToAll(g.index, TypeOf<T>::value, in.data(), out.data(), shape.data(),
           static_cast<int>(shape.size()), splitDim, concatDim);
  expectEqual(out, want,
              g.name() + " allToAll " + TypeOf<T>::name + " " + text(shape) +
                  " split " + std::to_string(splitDim) + " concat " +
                  std::to_string(concatDim));
}

template <typename T> void checkBroadcast(const GroupView &g) {
  const int64_t n = 5;
  for (int root : g.members) {
    std::vector<T> buf =
        worldRank() == root ? inputOf<T>(root, n) : std::vector<T>(n, T(-1));
    broadcast(g.index, root, TypeOf<T>::value, buf.data(), n);
    expectEqual(buf, inputOf<T>(root, n),
                g.name() + " broadcast " + TypeOf<T>::name + " from " +
                    std::to_string(root));
  }
}

/// A split dim must divide by every group size up to 4.
Shape withSplitDim(Shape s, int dim) {
  s[dim] = 12;
  return s;
}

template <typename T> void checkGroup(const GroupView &g) {
  const Shape base = {2, 3, 4};
  checkAllReduce<T>(g);
  for (int dim = 0; dim < 3; ++dim) {
    checkAllGather<T>(g, base, dim);
    checkReduceScatter<T>(g, withSplitDim(base, dim), dim);
  }
  checkAllGather<T>(g, {5}, 0);
  checkAllGather<T>(g, {1, 3, 1}, 2); // leading 1 dims: no reorder needed
  const int pairs[][2] = {{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1},
                          {1, 2}, {2, 0}, {2, 1}, {2, 2}};
  for (const auto &p : pairs)
    checkAllToAll<T>(g, withSplitDim(base, p[0]), p[0], p[1]);
  checkBroadcast<T>(g);
}

/// Results written out by hand for the two-member groups {0, 1} and {1, 0},
/// on [2, 2] float inputs: rank 0 holds {0, 1, 2, 3}, rank 1 {1000, ...}.
void checkLiterals(const GroupView &g) {
  const Shape shape = {2, 2};
  std::vector<float> in = inputOf<float>(worldRank(), 4);
  const bool reversed = g.members[0] == 1;
  const std::string name = g.name() + " literal ";

  std::vector<float> gathered(8);
  allGather(g.index, DType::F32, in.data(), gathered.data(), shape.data(), 2,
            1);
  expectEqual(gathered,
              reversed ? std::vector<float>{1000, 1001, 0, 1, 1002, 1003, 2, 3}
                       : std::vector<float>{0, 1, 1000, 1001, 2, 3, 1002, 1003},
              name + "allGather dim 1");

  // The sum is {1000, 1002, 1004, 1006}; member k gets column k.
  std::vector<float> scattered(2);
  reduceScatterSum(g.index, DType::F32, in.data(), scattered.data(),
                   shape.data(), 2, 1);
  expectEqual(scattered,
              g.position == 0 ? std::vector<float>{1000, 1004}
                              : std::vector<float>{1002, 1006},
              name + "reduceScatterSum dim 1");

  // Member k gets row k of every member, side by side in group order.
  std::vector<float> exchanged(4);
  allToAll(g.index, DType::F32, in.data(), exchanged.data(), shape.data(), 2, 0,
           1);
  std::vector<float> want;
  for (int member : g.members)
    for (int64_t j = 0; j < 2; ++j)
      want.push_back(valueOf<float>(member, g.position * 2 + j));
  expectEqual(exchanged, want, name + "allToAll split 0 concat 1");
  if (worldRank() == 1)
    expectEqual(exchanged,
                reversed ? std::vector<float>{1000, 1001, 0, 1}
                         : std::vector<float>{2, 3, 1002, 1003},
                name + "allToAll split 0 concat 1, by hand");
}

void checkPointToPoint() {
  const int size = worldSize(), me = worldRank();
  const int next = (me + 1) % size, previous = (me + size - 1) % size;
  std::vector<int64_t> out = inputOf<int64_t>(me, 9), in(9, -1);
  // Even ranks send first, odd ones receive first: no cycle of blocked sends.
  if (me % 2 == 0) {
    send(next, 7, DType::I64, out.data(), 9);
    recv(previous, 7, DType::I64, in.data(), 9);
  } else {
    recv(previous, 7, DType::I64, in.data(), 9);
    send(next, 7, DType::I64, out.data(), 9);
  }
  expectEqual(in, inputOf<int64_t>(previous, 9),
              "recv from rank " + std::to_string(previous));
}

/// Groups of every size up to the world's, with members out of order and
/// strided, and some that leave ranks out.
std::vector<std::vector<int>> groupTable(int size) {
  std::vector<std::vector<int>> table;
  for (int r = 0; r < size; ++r)
    table.push_back({r});
  table.push_back({0, 1});
  table.push_back({1, 0});
  if (size >= 3) {
    table.push_back({0, 2});
    table.push_back({0, 1, 2});
    table.push_back({2, 0, 1});
  }
  if (size >= 4) {
    table.push_back({3, 1});
    table.push_back({1, 3});
    table.push_back({0, 1, 2, 3});
    table.push_back({3, 2, 0, 1});
  }
  return table;
}

} // namespace

int main(int argc, char **argv) {
  comm::initWorld(&argc, &argv);
  const int size = worldSize(), me = worldRank();
  if (size < 2) {
    std::fprintf(stderr, "comm_test needs mpirun with 2 or more ranks\n");
    comm::finalizeWorld();
    return 1;
  }

  std::vector<std::vector<int>> table = groupTable(size);
  std::vector<GroupSpec> groups;
  for (const auto &members : table)
    groups.push_back({static_cast<int>(members.size()), members.data()});
  std::vector<RankSpec> ranks;
  for (int r = 0; r < size; ++r)
    ranks.push_back({r, 0, nullptr, nullptr, nullptr});
  ProgramSpec spec{};
  spec.modelName = "comm_test";
  spec.planFingerprint = "comm-test";
  spec.worldSize = size;
  spec.numGroups = static_cast<int>(groups.size());
  spec.groups = groups.data();
  spec.numRanks = size;
  spec.ranks = ranks.data();
  if (!comm::joinWorld(spec))
    return 1;

  if (argc > 1 && std::strcmp(argv[1], "--misuse=not-member") == 0) {
    // Group 0 is {0}. Rank 1 must end the job; rank 0 would otherwise wait
    // in the barrier forever.
    if (me == 1) {
      float x = 1;
      allReduceSum(0, DType::F32, &x, &x, 1);
    }
    comm::worldBarrier();
    comm::finalizeWorld();
    return 0;
  }

  int groupsChecked = 0;
  for (size_t i = 0; i < table.size(); ++i) {
    GroupView g{static_cast<int>(i), table[i], -1};
    for (size_t k = 0; k < table[i].size(); ++k)
      if (table[i][k] == me)
        g.position = static_cast<int>(k);
    if (g.position < 0)
      continue;
    ++groupsChecked;
    checkGroup<float>(g);
    checkGroup<int64_t>(g);
    checkAllReduce<int32_t>(g);
    checkAllGather<uint8_t>(g, {2, 3}, 1);
    checkAllToAll<uint8_t>(g, {12, 3}, 0, 1);
    checkBroadcast<uint8_t>(g);
    if (table[i].size() == 2 && table[i][0] + table[i][1] == 1)
      checkLiterals(g);
  }
  checkPointToPoint();

  double worst = failures;
  comm::maxOverWorld(&worst, 1);
  std::printf("rank %d: %d checks on %d groups, %d failed\n", me, checks,
              groupsChecked, failures);
  std::fflush(stdout);
  comm::worldBarrier();
  if (me == 0)
    std::printf("comm_test on %d ranks: %s\n", size,
                worst == 0 ? "all passed" : "FAILED");
  comm::finalizeWorld();
  return worst == 0 ? 0 : 1;
}
