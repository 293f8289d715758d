//===- GraphOps.td - graph dialect operations ----------------*- tablegen -*-===//
//
// One op per supported ONNX operator (after import-time normalisation). Every
// op infers its result types (InferTypeOpInterface), which doubles as its
// verifier, and declares a dimension annotation.
//
//===----------------------------------------------------------------------===//

#ifndef SS_GRAPH_OPS
#define SS_GRAPH_OPS

include "GraphDialect.td"
include "GraphInterfaces.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// `annotationMethods` names the DimAnnotationOpInterface methods with a
// default implementation that the op overrides.
class Graph_Op<string mnemonic, list<Trait> traits = [],
               list<string> annotationMethods = []>
    : Op<Graph_Dialect, mnemonic,
         !listconcat(traits, [Pure, InferTypeOpAdaptor,
                              DeclareOpInterfaceMethods<
                                  DimAnnotationOpInterface,
                                  annotationMethods>])>;

// For ops with attributes that restate the size of a splittable dimension.
defvar Graph_RestatesShape = ["adaptAttributesToTypes"];

defvar Graph_Tensor = AnyRankedTensor;

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

def Graph_ConstantOp : Graph_Op<"constant", [ConstantLike]> {
  let summary = "A constant tensor (an ONNX initializer or Constant node)";
  let description = [{
    Holds a tensor value known at compile time. Initializers keep their ONNX
    name as the op's location.
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class Graph_UnaryOp<string mnemonic, string summaryText,
                    list<Trait> traits = []>
    : Graph_Op<mnemonic, traits> {
  let summary = summaryText;
  let arguments = (ins Graph_Tensor:$input);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

def Graph_NegOp : Graph_UnaryOp<"neg", "Elementwise negation"> {
  let hasFolder = 1;
}
def Graph_AbsOp : Graph_UnaryOp<"abs", "Elementwise absolute value">;
def Graph_ExpOp : Graph_UnaryOp<"exp", "Elementwise e^x">;
def Graph_LogOp : Graph_UnaryOp<"log", "Elementwise natural logarithm">;
def Graph_TanhOp : Graph_UnaryOp<"tanh", "Elementwise hyperbolic tangent">;
def Graph_ErfOp : Graph_UnaryOp<"erf", "Elementwise error function">;
def Graph_ReluOp : Graph_UnaryOp<"relu", "Elementwise max(x, 0)">;
def Graph_SigmoidOp : Graph_UnaryOp<"sigmoid", "Elementwise 1 / (1 + e^-x)">;
def Graph_SqrtOp : Graph_UnaryOp<"sqrt", "Elementwise square root">;
def Graph_ReciprocalOp : Graph_UnaryOp<"reciprocal", "Elementwise 1 / x">;
def Graph_HardSwishOp
    : Graph_UnaryOp<"hard_swish", "Elementwise x * max(0, min(1, x/6 + 1/2))">;
def Graph_NotOp : Graph_UnaryOp<"not", "Elementwise logical not (bool)"> {
  let hasFolder = 1;
}

def Graph_LeakyReluOp : Graph_UnaryOp<"leaky_relu", "x if x >= 0 else alpha*x"> {
  let arguments = (ins Graph_Tensor:$input, F32Attr:$alpha);
}
def Graph_HardSigmoidOp
    : Graph_UnaryOp<"hard_sigmoid", "max(0, min(1, alpha*x + beta))"> {
  let arguments = (ins Graph_Tensor:$input, F32Attr:$alpha, F32Attr:$beta);
}
def Graph_ClipOp : Graph_UnaryOp<"clip", "min(max(x, min), max)"> {
  let arguments = (ins Graph_Tensor:$input, F32Attr:$min, F32Attr:$max);
}
def Graph_GeluOp : Graph_UnaryOp<"gelu", "Gaussian error linear unit"> {
  let description = [{ `approximate` is "none" (erf form) or "tanh". }];
  let arguments = (ins Graph_Tensor:$input,
                   DefaultValuedStrAttr<StrAttr, "none">:$approximate);
}
def Graph_CastOp : Graph_UnaryOp<"cast", "Element type conversion"> {
  let arguments = (ins Graph_Tensor:$input, TypeAttr:$to);
  let hasFolder = 1;
}

class Graph_BinaryOp<string mnemonic, string summaryText>
    : Graph_Op<mnemonic> {
  let summary = summaryText;
  let description = [{
    Numpy-style broadcasting. Arithmetic ops keep the operand element type;
    comparisons return i1.
  }];
  let arguments = (ins Graph_Tensor:$lhs, Graph_Tensor:$rhs);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($output)
  }];
  let hasFolder = 1;
}

def Graph_AddOp : Graph_BinaryOp<"add", "Elementwise addition">;
def Graph_SubOp : Graph_BinaryOp<"sub", "Elementwise subtraction">;
def Graph_MulOp : Graph_BinaryOp<"mul", "Elementwise multiplication">;
def Graph_DivOp : Graph_BinaryOp<"div", "Elementwise division">;
def Graph_PowOp : Graph_BinaryOp<"pow", "Elementwise power">;
def Graph_EqualOp : Graph_BinaryOp<"equal", "Elementwise ==">;
def Graph_LessOp : Graph_BinaryOp<"less", "Elementwise <">;
def Graph_GreaterOp : Graph_BinaryOp<"greater", "Elementwise >">;

def Graph_WhereOp : Graph_Op<"where"> {
  let summary = "Elementwise select with broadcasting";
  let arguments = (ins Graph_Tensor:$condition, Graph_Tensor:$lhs,
                   Graph_Tensor:$rhs);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = [{
    $condition `,` $lhs `,` $rhs attr-dict `:` type($condition) `,` type($lhs)
    `,` type($rhs) `->` type($output)
  }];
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Contractions and convolutions
//===----------------------------------------------------------------------===//

def Graph_MatMulOp : Graph_Op<"matmul"> {
  let summary = "Batched matrix product with broadcast batch dimensions";
  let description = [{
    Both operands have rank >= 2 (the importer reshapes ONNX's 1-D cases).
    Batch dimensions broadcast numpy-style.
  }];
  let arguments = (ins Graph_Tensor:$lhs, Graph_Tensor:$rhs);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($output)
  }];
}

def Graph_GemmOp : Graph_Op<"gemm"> {
  let summary = "alpha * op(A) x op(B) + beta * C, with C broadcast";
  let arguments = (ins Graph_Tensor:$a, Graph_Tensor:$b,
                   Optional<Graph_Tensor>:$c,
                   DefaultValuedAttr<BoolAttr, "false">:$trans_a,
                   DefaultValuedAttr<BoolAttr, "false">:$trans_b,
                   DefaultValuedAttr<F32Attr, "1.0f">:$alpha,
                   DefaultValuedAttr<F32Attr, "1.0f">:$beta);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = [{
    $a `,` $b (`,` $c^)? attr-dict `:` functional-type(operands, results)
  }];
}

class Graph_ConvLikeOp<string mnemonic, string summaryText>
    : Graph_Op<mnemonic> {
  let summary = summaryText;
  let description = [{
    Explicit padding: `pads` holds all begin values then all end values,
    one per spatial dimension.
  }];
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = [{
    $input `,` $filter (`,` $bias^)? attr-dict `:`
    functional-type(operands, results)
  }];
}

def Graph_ConvOp : Graph_ConvLikeOp<"conv", "N-d grouped convolution"> {
  let description = [{
    Explicit padding: `pads` holds all begin values then all end values,
    one per spatial dimension. `activation` ("none", "relu", "leaky_relu" or
    "clip", with `activation_alpha`/`activation_beta` as LeakyRelu's alpha
    or Clip's min/max) is applied to every output element; it is set by
    graph-fuse-conv-activation, never by the importer.
  }];
  let arguments = (ins Graph_Tensor:$input, Graph_Tensor:$filter,
                   Optional<Graph_Tensor>:$bias, DenseI64ArrayAttr:$strides,
                   DenseI64ArrayAttr:$pads, DenseI64ArrayAttr:$dilations,
                   I64Attr:$group,
                   DefaultValuedStrAttr<StrAttr, "none">:$activation,
                   DefaultValuedAttr<F32Attr, "0.0f">:$activation_alpha,
                   DefaultValuedAttr<F32Attr, "0.0f">:$activation_beta);
}

def Graph_ConvTransposeOp
    : Graph_ConvLikeOp<"conv_transpose", "N-d grouped transposed convolution"> {
  let arguments = (ins Graph_Tensor:$input, Graph_Tensor:$filter,
                   Optional<Graph_Tensor>:$bias, DenseI64ArrayAttr:$strides,
                   DenseI64ArrayAttr:$pads, DenseI64ArrayAttr:$dilations,
                   DenseI64ArrayAttr:$output_padding, I64Attr:$group);
}

//===----------------------------------------------------------------------===//
// Normalisation
//===----------------------------------------------------------------------===//

def Graph_BatchNormOp : Graph_Op<"batch_norm"> {
  let summary = "Inference-mode batch normalisation over dimension 1";
  let arguments = (ins Graph_Tensor:$input, Graph_Tensor:$scale,
                   Graph_Tensor:$bias, Graph_Tensor:$mean,
                   Graph_Tensor:$variance, F32Attr:$epsilon);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = [{
    operands attr-dict `:` functional-type(operands, results)
  }];
}

def Graph_LayerNormOp : Graph_Op<"layer_norm"> {
  let summary = "Layer normalisation over the dimensions from `axis` on";
  let arguments = (ins Graph_Tensor:$input, Graph_Tensor:$scale,
                   Optional<Graph_Tensor>:$bias, I64Attr:$axis,
                   F32Attr:$epsilon);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = [{
    $input `,` $scale (`,` $bias^)? attr-dict `:`
    functional-type(operands, results)
  }];
}

class Graph_AxisOp<string mnemonic, string summaryText> : Graph_Op<mnemonic> {
  let summary = summaryText;
  let arguments = (ins Graph_Tensor:$input, I64Attr:$axis);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

def Graph_SoftmaxOp : Graph_AxisOp<"softmax", "Softmax along one axis">;
def Graph_LogSoftmaxOp
    : Graph_AxisOp<"log_softmax", "Log of softmax along one axis">;

//===----------------------------------------------------------------------===//
// Pooling and reductions
//===----------------------------------------------------------------------===//

def Graph_MaxPoolOp : Graph_Op<"max_pool"> {
  let summary = "N-d max pooling with explicit pads";
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$kernel,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                   DenseI64ArrayAttr:$dilations,
                   DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

def Graph_AvgPoolOp : Graph_Op<"avg_pool"> {
  let summary = "N-d average pooling with explicit pads";
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$kernel,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                   DefaultValuedAttr<BoolAttr, "false">:$count_include_pad,
                   DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

class Graph_ReduceOp<string mnemonic, string summaryText>
    : Graph_Op<mnemonic> {
  let summary = summaryText;
  let description = [{ `axes` are non-negative, sorted and unique. }];
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$axes,
                   BoolAttr:$keepdims);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

def Graph_ReduceSumOp : Graph_ReduceOp<"reduce_sum", "Sum over axes">;
def Graph_ReduceMeanOp : Graph_ReduceOp<"reduce_mean", "Mean over axes">;
def Graph_ReduceMaxOp : Graph_ReduceOp<"reduce_max", "Maximum over axes">;

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Graph_ReshapeOp : Graph_Op<"reshape", [], Graph_RestatesShape> {
  let summary = "Reshape to a static shape with the same element count";
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$shape);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

def Graph_TransposeOp : Graph_Op<"transpose"> {
  let summary = "Permute dimensions";
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

def Graph_ConcatOp : Graph_Op<"concat"> {
  let summary = "Concatenate along an axis";
  let arguments = (ins Variadic<Graph_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = [{
    $inputs attr-dict `:` functional-type($inputs, results)
  }];
  let hasFolder = 1;
}

def Graph_SplitOp : Graph_Op<"split", [], Graph_RestatesShape> {
  let summary = "Split along an axis into pieces of the given sizes";
  let arguments = (ins Graph_Tensor:$input, I64Attr:$axis,
                   DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<Graph_Tensor>:$outputs);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type(results)";
}

def Graph_SliceOp : Graph_Op<"slice", [], Graph_RestatesShape> {
  let summary = "Strided slice with one normalised entry per dimension";
  let description = [{
    `starts[d]` is a valid index when the result is non-empty, `steps[d]` is
    non-zero, and `sizes[d]` elements are taken along dimension d.
  }];
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$starts,
                   DenseI64ArrayAttr:$sizes, DenseI64ArrayAttr:$steps);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

def Graph_GatherOp : Graph_Op<"gather"> {
  let summary = "Gather slices along an axis by integer indices";
  let arguments = (ins Graph_Tensor:$data, Graph_Tensor:$indices,
                   I64Attr:$axis);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = [{
    $data `,` $indices attr-dict `:` type($data) `,` type($indices) `->`
    type($output)
  }];
  let hasFolder = 1;
}

def Graph_BroadcastToOp : Graph_Op<"broadcast_to", [], Graph_RestatesShape> {
  let summary = "Broadcast to a static shape (ONNX Expand)";
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$shape);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

def Graph_PadOp : Graph_Op<"pad"> {
  let summary = "Pad (or crop, with negative pads) every dimension";
  let description = [{
    `pads` holds all begin values then all end values. `mode` is
    "constant", "reflect" or "edge".
  }];
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$pads,
                   StrAttr:$mode, F64Attr:$value);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

def Graph_ResizeOp : Graph_Op<"resize", [], Graph_RestatesShape> {
  let summary = "Nearest or N-linear resize to a static size";
  let description = [{
    `sizes` is the result shape and `scales` the per-dimension scale used to
    map coordinates. `mode` is "nearest" or "linear";
    `coordinate_transformation_mode` is "half_pixel", "pytorch_half_pixel",
    "align_corners" or "asymmetric"; `nearest_mode` is "round_prefer_floor",
    "round_prefer_ceil", "floor" or "ceil".
  }];
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$sizes,
                   DenseF32ArrayAttr:$scales, StrAttr:$mode,
                   StrAttr:$coordinate_transformation_mode,
                   StrAttr:$nearest_mode);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

#endif // SS_GRAPH_OPS
