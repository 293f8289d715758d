// Placeholder while the pass is written.
#include "Dist/DistDialect.h"
#include "Passes.h"

namespace ss {
#define GEN_PASS_DEF_DISTINSERTCOMMUNICATION
#include "Passes.h.inc"
} // namespace ss

namespace {
struct Pass : ss::impl::DistInsertCommunicationBase<Pass> {
  using DistInsertCommunicationBase::DistInsertCommunicationBase;
  void runOnOperation() override { signalPassFailure(); }
};
} // namespace
