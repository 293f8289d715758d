//===- GraphInterfaces.td - dimension annotations ------------*- tablegen -*-===//
//
// The dimension-annotation interface: how each dimension of each operand and
// result relates, in nnScaler's einsum-style notation.
//
//===----------------------------------------------------------------------===//

#ifndef SS_GRAPH_INTERFACES
#define SS_GRAPH_INTERFACES

include "mlir/IR/OpBase.td"

def DimAnnotationOpInterface : OpInterface<"DimAnnotationOpInterface"> {
  let cppNamespace = "::ss::graph";
  let description = [{
    Returns the op's dimension annotation, e.g. `b m k+, b k+ n -> b m n` for
    a batched MatMul. One space-separated list of dimension labels per tensor
    operand (optional operands that are absent are skipped), comma-separated,
    then `->` and the results. A label is a lowercase identifier; `+` marks a
    dimension that is split by reduction (outputs become partial sums); `^`
    marks a dimension that cannot be split; `1` marks a size-1 dimension that
    is broadcast. Labels shared between tensors name the same logical
    dimension. The annotation is a function of the op's types and attributes.
  }];
  let methods = [
    InterfaceMethod<"Returns the einsum-style dimension annotation.",
      "std::string", "getDimAnnotation">,
  ];
}

#endif // SS_GRAPH_INTERFACES
