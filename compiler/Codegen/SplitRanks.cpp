// Placeholder while the pass is written.
#include "Dist/DistDialect.h"
#include "Passes.h"

namespace ss {
#define GEN_PASS_DEF_DISTSPLITRANKS
#include "Passes.h.inc"
} // namespace ss

namespace {
struct Pass : ss::impl::DistSplitRanksBase<Pass> {
  using DistSplitRanksBase::DistSplitRanksBase;
  void runOnOperation() override { signalPassFailure(); }
};
} // namespace
