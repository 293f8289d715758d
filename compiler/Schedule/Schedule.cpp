// Placeholder while the pass is written.
#include "Dist/DistDialect.h"
#include "Passes.h"

namespace ss {
#define GEN_PASS_DEF_DISTSCHEDULE
#include "Passes.h.inc"
} // namespace ss

namespace {
struct Pass : ss::impl::DistScheduleBase<Pass> {
  using DistScheduleBase::DistScheduleBase;
  void runOnOperation() override { signalPassFailure(); }
};
} // namespace
