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

    A dimension may also be a group `(a b^ c^)`: the product of its labels,
    first label major (it varies slowest). Only a group's first label may be
    splittable; the others are frozen, so the k-th of n contiguous chunks of
    the first label is the k-th contiguous chunk of the dimension. A reshape
    of [B, S, H] to [B, S, nh, hd] is `a b (c d^) -> a b c d^`.

    Splitting label L n ways cuts every dimension that is L, or a group
    headed by L, into n contiguous chunks; piece k takes chunk k of each.
    Tensors without L are whole in every piece, except when L is reduced:
    then each result holds one of n partial sums, and so must each operand
    without L (a bias the op adds to its result), so that the pieces add up
    to the whole op. An op with a reduced label must therefore be linear in
    its operands that lack the label (Gemm's C, a convolution's bias).
    splitLabel (DimAnnotation.h) computes this for the partitioner.
  }];
  let methods = [
    InterfaceMethod<"Returns the einsum-style dimension annotation.",
      "std::string", "getDimAnnotation">,
    InterfaceMethod<[{
        After the op's operands and result types were replaced by the types
        of one piece (as the annotation allows), rewrites the attributes
        that restate shapes (a reshape's target shape, a slice's sizes) so
        that the op's type inference yields its current result types. Ops
        whose attributes restate no splittable dimension keep the default,
        which changes nothing; checkInferredTypes (DimAnnotation.h) then
        confirms the result.
      }],
      "::mlir::LogicalResult", "adaptAttributesToTypes", (ins), [{}],
      [{ return ::mlir::success(); }]>,
  ];
}

def GradientOpInterface : OpInterface<"GradientOpInterface"> {
  let cppNamespace = "::ss::graph";
  let description = [{
    The op's gradient rule, which the autodiff pass applies in reverse order
    over the graph. Given the gradient of the loss with respect to each
    result (null for a result the loss does not depend on), the rule builds
    graph ops at the builder's insertion point that compute the gradient
    with respect to each operand, and returns one value per operand, null
    where the operand is not differentiable (integer indices, a condition)
    or where `needed` says no one asks for it. The gradient ops are
    ordinary graph ops with their own dimension annotations, so a plan
    partitions them like any other op. Rules live in GraphGradients.cpp.
  }];
  let methods = [
    InterfaceMethod<"Builds the operand gradients.",
      "::mlir::LogicalResult", "buildGradients",
      (ins "::mlir::OpBuilder &":$builder,
           "::mlir::ArrayRef<::mlir::Value>":$resultGrads,
           "::llvm::ArrayRef<bool>":$needed,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>,
  ];
}

#endif // SS_GRAPH_INTERFACES
