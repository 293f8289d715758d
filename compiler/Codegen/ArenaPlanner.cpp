//===- ArenaPlanner.cpp - static arena placement -----------------------===//
//
// Offsets for buffers from their live ranges: an interval-packing heuristic
// that is near-optimal on the chain-shaped lifetimes of inference graphs.
//
//===----------------------------------------------------------------------===//

#include "Codegen/ArenaPlanner.h"

#include <algorithm>
#include <numeric>

namespace ss {

namespace {
int64_t alignUp(int64_t x, int64_t a) { return (x + a - 1) / a * a; }
} // namespace

ArenaPlan planArena(const std::vector<BufferRequest> &requests,
                    int64_t alignment) {
  if (alignment <= 0)
    alignment = 1;
  ArenaPlan plan;
  plan.offsets.assign(requests.size(), 0);
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (requests[a].bytes != requests[b].bytes)
      return requests[a].bytes > requests[b].bytes;
    // Among equals, earlier first: chains then alternate between buffers.
    return requests[a].firstUse < requests[b].firstUse;
  });

  struct Placed {
    int64_t begin, end; // byte range [begin, end)
    int64_t firstUse, lastUse;
  };
  std::vector<Placed> placed;
  std::vector<std::pair<int64_t, int64_t>> busy; // reused scratch
  for (size_t idx : order) {
    const BufferRequest &r = requests[idx];
    int64_t size = alignUp(std::max<int64_t>(r.bytes, 1), alignment);
    busy.clear();
    for (const Placed &p : placed)
      if (p.firstUse <= r.lastUse && r.firstUse <= p.lastUse)
        busy.emplace_back(p.begin, p.end);
    std::sort(busy.begin(), busy.end());
    // Best fit: the smallest gap that holds the buffer, else the end.
    int64_t best = -1, bestGap = INT64_MAX, cursor = 0;
    for (const auto &[begin, end] : busy) {
      if (begin - cursor >= size && begin - cursor < bestGap) {
        best = cursor;
        bestGap = begin - cursor;
      }
      cursor = std::max(cursor, end);
    }
    if (best < 0)
      best = cursor;
    plan.offsets[idx] = best;
    placed.push_back({best, best + size, r.firstUse, r.lastUse});
    plan.totalBytes = std::max(plan.totalBytes, best + size);
  }
  return plan;
}

} // namespace ss
