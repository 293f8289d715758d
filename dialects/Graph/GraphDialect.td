//===- GraphDialect.td - tensor-level graph dialect ----------*- tablegen -*-===//
//
// The `graph` dialect holds a model as imported from ONNX: value-semantic ops
// on statically shaped tensors. Shape-like operands are folded into
// attributes at import, so every op's result shape follows from its operand
// types and attributes alone.
//
//===----------------------------------------------------------------------===//

#ifndef SS_GRAPH_DIALECT
#define SS_GRAPH_DIALECT

include "mlir/IR/OpBase.td"

def Graph_Dialect : Dialect {
  let name = "graph";
  let cppNamespace = "::ss::graph";
  let summary = "Tensor-level operations of an imported model";
  let description = [{
    Operations mirror the ONNX operators SuperScaler supports, normalised:
    shape inputs become attributes, optional inputs become optional operands,
    and aliases (Flatten, Squeeze, Unsqueeze) become `graph.reshape`. Every
    op declares an einsum-style dimension annotation through
    `DimAnnotationOpInterface`; partitioning derives from it.
  }];
  let hasConstantMaterializer = 1;
}

#endif // SS_GRAPH_DIALECT
