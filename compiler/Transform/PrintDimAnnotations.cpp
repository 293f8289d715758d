//===- PrintDimAnnotations.cpp - report dimension annotations -------------===//
//
// The graph-print-dim-annotations pass: checks each op's dimension
// annotation against its shapes and reports it as a remark, so lit tests
// can pin every op kind's annotation.
//
//===----------------------------------------------------------------------===//

#include "Graph/DimAnnotation.h"
#include "Graph/GraphDialect.h"
#include "Passes.h"

namespace ss {
#define GEN_PASS_DEF_GRAPHPRINTDIMANNOTATIONS
#include "Passes.h.inc"
} // namespace ss

using namespace mlir;
using namespace ss::graph;

namespace {
struct GraphPrintDimAnnotationsPass
    : ss::impl::GraphPrintDimAnnotationsBase<GraphPrintDimAnnotationsPass> {
  void runOnOperation() override {
    bool anyInvalid = false;
    getOperation().walk([&](DimAnnotationOpInterface op) {
      // verifyDimAnnotation reports what is wrong at the op.
      if (failed(verifyDimAnnotation(op))) {
        anyInvalid = true;
        return;
      }
      op->emitRemark() << op.getDimAnnotation();
    });
    if (anyInvalid)
      signalPassFailure();
  }
};
} // namespace
