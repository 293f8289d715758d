// Placeholder while the pass is written.
#include "Dist/DistDialect.h"
#include "Passes.h"

namespace ss {
#define GEN_PASS_DEF_DISTAPPLYPLAN
#include "Passes.h.inc"
} // namespace ss

namespace {
struct Pass : ss::impl::DistApplyPlanBase<Pass> {
  using DistApplyPlanBase::DistApplyPlanBase;
  void runOnOperation() override { signalPassFailure(); }
};
} // namespace
