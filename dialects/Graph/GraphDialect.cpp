//===- GraphDialect.cpp - graph dialect registration ----------------------===//
//
// Registers the graph dialect's ops and interfaces, and materializes folded
// values as graph.constant.
//
//===----------------------------------------------------------------------===//

#include "Graph/GraphDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"

using namespace mlir;
using namespace ss::graph;

#include "Graph/GraphDialect.cpp.inc"
#include "Graph/GraphInterfaces.cpp.inc"

void GraphDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "Graph/GraphOps.cpp.inc"
      >();
}

Operation *GraphDialect::materializeConstant(OpBuilder &builder,
                                             Attribute value, Type type,
                                             Location loc) {
  // Only a value that already has the requested type can become a constant:
  // graph.constant's type is its value's type, and its builder must not be
  // handed something its type inference would reject.
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  SmallVector<Type, 1> inferred;
  ConstantOp::Adaptor adaptor(ValueRange(), /*attrs=*/nullptr,
                              ConstantOp::Properties{elements});
  if (failed(ConstantOp::inferReturnTypes(builder.getContext(), std::nullopt,
                                          adaptor, inferred)))
    return nullptr;
  return builder.create<ConstantOp>(loc, type, elements);
}
