//===- Passes.td - every SuperScaler pass --------------------*- tablegen -*-===//
//
// All compiler passes are declared here, grouped by pipeline stage
// (DESIGN.md section 2). Each is runnable alone through ssc-opt.
//
//===----------------------------------------------------------------------===//

#ifndef SS_COMPILER_PASSES
#define SS_COMPILER_PASSES

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Transform
//===----------------------------------------------------------------------===//

def GraphFoldConstants : Pass<"graph-fold-constants", "mlir::ModuleOp"> {
  let summary = "Fold graph ops whose operands are all constants";
  let description = [{
    Evaluates shape-computation subgraphs (Shape -> Gather -> Unsqueeze ->
    Concat chains and the integer arithmetic around them) that survive
    import, using each op's folder, and removes what becomes dead.
  }];
}

def GraphFoldBatchNorm : Pass<"graph-fold-batch-norm", "mlir::ModuleOp"> {
  let summary = "Fold inference batch normalisation into the preceding conv";
  let description = [{
    `batch_norm(conv(x, W, b))` with constant W, b and statistics becomes
    `conv(x, W', b')` with W' = W * s and b' = (b - mean) * s + beta per
    output channel, where s = scale / sqrt(var + epsilon). Applies only
    when the conv has no other user and no fused activation. Arithmetic is
    done in double and rounded once.
  }];
}

def GraphFuseConvActivation
    : Pass<"graph-fuse-conv-activation", "mlir::ModuleOp"> {
  let summary = "Fuse relu, leaky_relu and clip into the conv they follow";
  let description = [{
    An elementwise activation whose input is a conv with no other user is
    folded into the conv's `activation` attribute, so the runtime applies it
    in the conv's output pass instead of a second sweep over memory.
  }];
}

def GraphPrintDimAnnotations
    : Pass<"graph-print-dim-annotations", "mlir::ModuleOp"> {
  let summary = "Report each op's dimension annotation as a remark";
  let description = [{
    Emits `remark: <annotation>` at every op implementing
    DimAnnotationOpInterface, after checking that the annotation agrees with
    the op's operand and result shapes. Used to test annotations.
  }];
}

//===----------------------------------------------------------------------===//
// Codegen
//===----------------------------------------------------------------------===//

def GraphPlanMemory : Pass<"graph-plan-memory", "mlir::ModuleOp"> {
  let summary = "Assign every tensor an offset in one static arena";
  let description = [{
    Walks each function in order, computes the live range of every tensor
    value (views such as reshape share their source's buffer and extend its
    range), and places buffers with a greedy best-fit over the timeline.
    Annotates each op with `ss.offsets` (one byte offset per result, or -1
    for results that live in the weights blob) and the function with
    `ss.arena_bytes`, the peak the rank allocates.
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", /*default=*/"64",
           "Byte alignment of every buffer">,
  ];
}

#endif // SS_COMPILER_PASSES
