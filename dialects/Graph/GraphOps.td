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

// Ops with a gradient rule (GraphGradients.cpp).
defvar Graph_Differentiable = DeclareOpInterfaceMethods<GradientOpInterface>;

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

def Graph_NegOp : Graph_UnaryOp<"neg", "Elementwise negation", [Graph_Differentiable]> {
  let hasFolder = 1;
}
def Graph_AbsOp : Graph_UnaryOp<"abs", "Elementwise absolute value", [Graph_Differentiable]>;
def Graph_ExpOp : Graph_UnaryOp<"exp", "Elementwise e^x", [Graph_Differentiable]>;
def Graph_LogOp : Graph_UnaryOp<"log", "Elementwise natural logarithm", [Graph_Differentiable]>;
def Graph_TanhOp : Graph_UnaryOp<"tanh", "Elementwise hyperbolic tangent", [Graph_Differentiable]>;
def Graph_ErfOp : Graph_UnaryOp<"erf", "Elementwise error function", [Graph_Differentiable]>;
def Graph_ReluOp : Graph_UnaryOp<"relu", "Elementwise max(x, 0)", [Graph_Differentiable]>;
def Graph_SigmoidOp : Graph_UnaryOp<"sigmoid", "Elementwise 1 / (1 + e^-x)", [Graph_Differentiable]>;
def Graph_SqrtOp : Graph_UnaryOp<"sqrt", "Elementwise square root", [Graph_Differentiable]>;
def Graph_ReciprocalOp : Graph_UnaryOp<"reciprocal", "Elementwise 1 / x", [Graph_Differentiable]>;
def Graph_HardSwishOp
    : Graph_UnaryOp<"hard_swish", "Elementwise x * max(0, min(1, x/6 + 1/2))",
                    [Graph_Differentiable]>;
def Graph_NotOp : Graph_UnaryOp<"not", "Elementwise logical not (bool)"> {
  let hasFolder = 1;
}

def Graph_LeakyReluOp : Graph_UnaryOp<"leaky_relu", "x if x >= 0 else alpha*x",
                                       [Graph_Differentiable]> {
  let arguments = (ins Graph_Tensor:$input, F32Attr:$alpha);
}
def Graph_HardSigmoidOp
    : Graph_UnaryOp<"hard_sigmoid", "max(0, min(1, alpha*x + beta))",
                    [Graph_Differentiable]> {
  let arguments = (ins Graph_Tensor:$input, F32Attr:$alpha, F32Attr:$beta);
}
def Graph_ClipOp : Graph_UnaryOp<"clip", "min(max(x, min), max)",
                                 [Graph_Differentiable]> {
  let arguments = (ins Graph_Tensor:$input, F32Attr:$min, F32Attr:$max);
}
def Graph_GeluOp : Graph_UnaryOp<"gelu", "Gaussian error linear unit",
                                 [Graph_Differentiable]> {
  let description = [{ `approximate` is "none" (erf form) or "tanh". }];
  let arguments = (ins Graph_Tensor:$input,
                   DefaultValuedStrAttr<StrAttr, "none">:$approximate);
}
def Graph_CastOp : Graph_UnaryOp<"cast", "Element type conversion",
                                 [Graph_Differentiable]> {
  let arguments = (ins Graph_Tensor:$input, TypeAttr:$to);
  let hasFolder = 1;
}

class Graph_BinaryOp<string mnemonic, string summaryText,
                     list<Trait> traits = []>
    : Graph_Op<mnemonic, traits> {
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

def Graph_AddOp : Graph_BinaryOp<"add", "Elementwise addition",
                                  [Graph_Differentiable]>;
def Graph_SubOp : Graph_BinaryOp<"sub", "Elementwise subtraction",
                                  [Graph_Differentiable]>;
def Graph_MulOp : Graph_BinaryOp<"mul", "Elementwise multiplication",
                                  [Graph_Differentiable]>;
def Graph_DivOp : Graph_BinaryOp<"div", "Elementwise division",
                                  [Graph_Differentiable]>;
def Graph_PowOp : Graph_BinaryOp<"pow", "Elementwise power",
                                  [Graph_Differentiable]>;
def Graph_EqualOp : Graph_BinaryOp<"equal", "Elementwise ==">;
def Graph_LessOp : Graph_BinaryOp<"less", "Elementwise <">;
def Graph_GreaterOp : Graph_BinaryOp<"greater", "Elementwise >">;

def Graph_WhereOp : Graph_Op<"where", [Graph_Differentiable]> {
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

def Graph_MatMulOp : Graph_Op<"matmul", [Graph_Differentiable]> {
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

def Graph_GemmOp : Graph_Op<"gemm", [Graph_Differentiable]> {
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
    : Graph_Op<mnemonic, [Graph_Differentiable]> {
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

def Graph_BatchNormOp : Graph_Op<"batch_norm", [Graph_Differentiable]> {
  let summary = "Inference-mode batch normalisation over dimension 1";
  let arguments = (ins Graph_Tensor:$input, Graph_Tensor:$scale,
                   Graph_Tensor:$bias, Graph_Tensor:$mean,
                   Graph_Tensor:$variance, F32Attr:$epsilon);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = [{
    operands attr-dict `:` functional-type(operands, results)
  }];
}

def Graph_LayerNormOp : Graph_Op<"layer_norm", [Graph_Differentiable]> {
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

class Graph_AxisOp<string mnemonic, string summaryText>
    : Graph_Op<mnemonic, [Graph_Differentiable]> {
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

def Graph_MaxPoolOp : Graph_Op<"max_pool", [Graph_Differentiable]> {
  let summary = "N-d max pooling with explicit pads";
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$kernel,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                   DenseI64ArrayAttr:$dilations,
                   DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

def Graph_AvgPoolOp : Graph_Op<"avg_pool", [Graph_Differentiable]> {
  let summary = "N-d average pooling with explicit pads";
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$kernel,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                   DefaultValuedAttr<BoolAttr, "false">:$count_include_pad,
                   DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

class Graph_ReduceOp<string mnemonic, string summaryText>
    : Graph_Op<mnemonic, [Graph_Differentiable]> {
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

def Graph_ReshapeOp : Graph_Op<"reshape", [Graph_Differentiable],
                                   Graph_RestatesShape> {
  let summary = "Reshape to a static shape with the same element count";
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$shape);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

def Graph_TransposeOp : Graph_Op<"transpose", [Graph_Differentiable]> {
  let summary = "Permute dimensions";
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

def Graph_ConcatOp : Graph_Op<"concat", [Graph_Differentiable]> {
  let summary = "Concatenate along an axis";
  let arguments = (ins Variadic<Graph_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = [{
    $inputs attr-dict `:` functional-type($inputs, results)
  }];
  let hasFolder = 1;
}

def Graph_SplitOp : Graph_Op<"split", [Graph_Differentiable],
                                   Graph_RestatesShape> {
  let summary = "Split along an axis into pieces of the given sizes";
  let arguments = (ins Graph_Tensor:$input, I64Attr:$axis,
                   DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<Graph_Tensor>:$outputs);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type(results)";
}

def Graph_SliceOp : Graph_Op<"slice", [Graph_Differentiable],
                                   Graph_RestatesShape> {
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

def Graph_GatherOp : Graph_Op<"gather", [Graph_Differentiable]> {
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

def Graph_BroadcastToOp : Graph_Op<"broadcast_to", [Graph_Differentiable],
                                   Graph_RestatesShape> {
  let summary = "Broadcast to a static shape (ONNX Expand)";
  let arguments = (ins Graph_Tensor:$input, DenseI64ArrayAttr:$shape);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

def Graph_PadOp : Graph_Op<"pad", [Graph_Differentiable]> {
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

def Graph_ResizeOp : Graph_Op<"resize", [Graph_Differentiable],
                               Graph_RestatesShape> {
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

//===----------------------------------------------------------------------===//
// Training: state, gradients of ops whose rule is not a composition of
// forward ops, and optimizer updates
//===----------------------------------------------------------------------===//

def Graph_VariableOp : Graph_Op<"variable"> {
  let summary = "A tensor that persists across training steps";
  let description = [{
    Reads the value a persistent tensor (a trainable parameter or optimizer
    state) has at the start of the step. `value` is its initial value;
    `sym_name` names it in checkpoints and exports (a parameter keeps its
    ONNX initializer name). Several reads of one variable see the same
    value; `graph.assign` sets the value the next step sees.
  }];
  let arguments = (ins StrAttr:$sym_name, ElementsAttr:$value);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "$sym_name attr-dict `:` type($output)";
}

def Graph_AssignOp
    : Op<Graph_Dialect, "assign",
         [DeclareOpInterfaceMethods<DimAnnotationOpInterface>,
          MemoryEffects<[MemWrite]>]> {
  let summary = "Set the value a variable has in the next step";
  let description = [{
    Every read of the variable in this step sees its old value, so an
    assign is ordered after all of them (the emitter checks it). The value
    must have the variable's type.
  }];
  let arguments = (ins StrAttr:$variable, Graph_Tensor:$value);
  let assemblyFormat = "$variable `,` $value attr-dict `:` type($value)";
  let hasVerifier = 1;
}

class Graph_GradOp<string mnemonic, string summaryText> : Graph_Op<mnemonic> {
  let summary = summaryText;
  let results = (outs Graph_Tensor:$output);
}

def Graph_SoftmaxGradOp
    : Graph_GradOp<"softmax_grad", "Input gradient of softmax or log-softmax"> {
  let description = [{
    From the op's output and the gradient of that output:
    `output * (grad - sum(grad * output))` along `axis` for softmax,
    `grad - exp(output) * sum(grad)` when `log` is set.
  }];
  let arguments = (ins Graph_Tensor:$output_value, Graph_Tensor:$grad,
                   I64Attr:$axis, BoolAttr:$log);
  let assemblyFormat = [{
    $output_value `,` $grad attr-dict `:` type($output_value) `,` type($grad)
    `->` type($output)
  }];
}

def Graph_LayerNormGradOp
    : Graph_GradOp<"layer_norm_grad", "Input gradient of layer_norm"> {
  let arguments = (ins Graph_Tensor:$input, Graph_Tensor:$scale,
                   Graph_Tensor:$grad, I64Attr:$axis, F32Attr:$epsilon);
  let assemblyFormat = [{
    $input `,` $scale `,` $grad attr-dict `:`
    functional-type(operands, results)
  }];
}

def Graph_GeluGradOp : Graph_GradOp<"gelu_grad", "Input gradient of gelu"> {
  let arguments = (ins Graph_Tensor:$input, Graph_Tensor:$grad,
                   DefaultValuedStrAttr<StrAttr, "none">:$approximate);
  let assemblyFormat = [{
    $input `,` $grad attr-dict `:` type($input) `,` type($grad) `->`
    type($output)
  }];
}

def Graph_GatherGradOp
    : Graph_GradOp<"gather_grad", "Data gradient of gather (scatter-add)"> {
  let description = [{
    The gradient of `gather(data, indices, axis)` with respect to `data`,
    whose `axis` has `axis_size` entries: zero, then each slice of `grad`
    added at its index. Repeated indices accumulate.
  }];
  let arguments = (ins Graph_Tensor:$indices, Graph_Tensor:$grad,
                   I64Attr:$axis, I64Attr:$axis_size);
  let assemblyFormat = [{
    $indices `,` $grad attr-dict `:` type($indices) `,` type($grad) `->`
    type($output)
  }];
}

def Graph_ConvFilterGradOp
    : Graph_GradOp<"conv_filter_grad", "Filter gradient of conv"> {
  let description = [{
    The gradient of `conv(input, filter)` with respect to a filter of
    spatial size `kernel`, given the gradient `grad` of the conv's result:
    `result[o, c, k...] = sum over n and grad positions p of
    grad[n, o, p...] * input[n, g * C/group + c, p * strides - pads_begin +
    k * dilations]` (0 in the padding), where g is o's group. The result is
    [grad channels, input channels / group, kernel...]. `strides`, `pads`
    (all begins, then all ends), `dilations` and `group` are the conv's, and
    must give grad's spatial sizes from input's. The input gradient of conv
    is a conv_transpose, and both gradients of conv_transpose are a conv
    and this op, so no other convolution gradient op is needed.
  }];
  let arguments = (ins Graph_Tensor:$input, Graph_Tensor:$grad,
                   DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$strides,
                   DenseI64ArrayAttr:$pads, DenseI64ArrayAttr:$dilations,
                   I64Attr:$group);
  let assemblyFormat = [{
    $input `,` $grad attr-dict `:` type($input) `,` type($grad) `->`
    type($output)
  }];
}

def Graph_MaxPoolGradOp
    : Graph_GradOp<"max_pool_grad", "Input gradient of max_pool"> {
  let description = [{
    Zero, then each element of `grad` (the gradient of max_pool's result)
    added at the first maximum of its window in `input`, in row-major window
    order and skipping the padding, as PyTorch does for ties. Attributes
    are the max_pool's; they must give grad's shape from input's.
  }];
  let arguments = (ins Graph_Tensor:$input, Graph_Tensor:$grad,
                   DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$strides,
                   DenseI64ArrayAttr:$pads, DenseI64ArrayAttr:$dilations,
                   DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
  let assemblyFormat = [{
    $input `,` $grad attr-dict `:` type($input) `,` type($grad) `->`
    type($output)
  }];
}

def Graph_AvgPoolGradOp
    : Graph_GradOp<"avg_pool_grad", "Input gradient of avg_pool"> {
  let description = [{
    Zero, then each element of `grad` (the gradient of avg_pool's result)
    divided by its window's count, as avg_pool counts it, and added to every
    input element of the window. The result is [N, C] of grad followed by
    `input_spatial_shape`, the pooled input's spatial sizes. Other
    attributes are the avg_pool's; they must give grad's spatial sizes from
    `input_spatial_shape`.
  }];
  let arguments = (ins Graph_Tensor:$grad,
                   DenseI64ArrayAttr:$input_spatial_shape,
                   DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$strides,
                   DenseI64ArrayAttr:$pads,
                   DefaultValuedAttr<BoolAttr, "false">:$count_include_pad,
                   DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
  let assemblyFormat = "$grad attr-dict `:` type($grad) `->` type($output)";
}

def Graph_ResizeGradOp
    : Graph_Op<"resize_grad", [], Graph_RestatesShape> {
  let summary = "Input gradient of resize";
  let description = [{
    The transpose of resize's interpolation: zero, then each element of
    `grad` (the gradient of resize's result) added to the input elements
    its output read (one for "nearest", the two neighbours per interpolated
    dim for "linear"), times their weights. `sizes` is the result shape
    (the resize input's); `scales` and the modes are the resize's, with
    grad's shape as its result shape.
  }];
  let arguments = (ins Graph_Tensor:$grad, DenseI64ArrayAttr:$sizes,
                   DenseF32ArrayAttr:$scales, StrAttr:$mode,
                   StrAttr:$coordinate_transformation_mode,
                   StrAttr:$nearest_mode);
  let results = (outs Graph_Tensor:$output);
  let assemblyFormat = "$grad attr-dict `:` type($grad) `->` type($output)";
}

defvar Graph_OptimizerDescription = [{
    Elementwise, so a plan may shard it like any elementwise op (ZeRO).
    The learning rate is `lr` scaled by `schedule` ("constant",
    "warmup-linear" or "cosine") over `warmup_steps` and `total_steps` at
    the step count the runtime passes in. `grad_scale`, a scalar, multiplies
    the gradient (gradient clipping).
}];

class Graph_OptimizerOp<string mnemonic, string summaryText,
                        list<Trait> traits = []>
    : Graph_Op<mnemonic, traits> {
  let summary = summaryText;
}

def Graph_SgdUpdateOp
    : Graph_OptimizerOp<"sgd_update", "SGD with momentum and weight decay",
                        [AttrSizedOperandSegments]> {
  let description = !strconcat([{
    PyTorch's SGD: g = grad * grad_scale + weight_decay * param; with
    momentum, buf' = momentum * buf + g and param' = param - lr * buf';
    without, param' = param - lr * g and there is no buffer.
  }], Graph_OptimizerDescription);
  let arguments = (ins Graph_Tensor:$param, Graph_Tensor:$grad,
                   Optional<Graph_Tensor>:$momentum_buffer,
                   Optional<Graph_Tensor>:$grad_scale, F32Attr:$lr,
                   F32Attr:$momentum, F32Attr:$weight_decay,
                   StrAttr:$schedule, I64Attr:$warmup_steps,
                   I64Attr:$total_steps);
  let results = (outs Graph_Tensor:$new_param,
                 Optional<Graph_Tensor>:$new_momentum_buffer);
  let assemblyFormat = [{
    $param `,` $grad (`,` `buffer` $momentum_buffer^)?
    (`,` `scale` $grad_scale^)? attr-dict `:`
    functional-type(operands, results)
  }];
}

def Graph_AdamwUpdateOp
    : Graph_OptimizerOp<"adamw_update", "Adam with decoupled weight decay"> {
  let description = !strconcat([{
    PyTorch's AdamW at step t (the runtime's count plus one):
    param *= 1 - lr * weight_decay; m' = beta1 m + (1 - beta1) g;
    v' = beta2 v + (1 - beta2) g^2;
    param' = param - lr * (m' / (1 - beta1^t)) / (sqrt(v' / (1 - beta2^t))
    + epsilon).
  }], Graph_OptimizerDescription);
  let arguments = (ins Graph_Tensor:$param, Graph_Tensor:$grad,
                   Graph_Tensor:$m, Graph_Tensor:$v,
                   Optional<Graph_Tensor>:$grad_scale, F32Attr:$lr,
                   F32Attr:$beta1, F32Attr:$beta2, F32Attr:$epsilon,
                   F32Attr:$weight_decay, StrAttr:$schedule,
                   I64Attr:$warmup_steps, I64Attr:$total_steps);
  let results = (outs Graph_Tensor:$new_param, Graph_Tensor:$new_m,
                 Graph_Tensor:$new_v);
  let assemblyFormat = [{
    $param `,` $grad `,` $m `,` $v (`,` `scale` $grad_scale^)? attr-dict `:`
    functional-type(operands, results)
  }];
}

#endif // SS_GRAPH_OPS
