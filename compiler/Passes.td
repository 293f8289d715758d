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

def GraphSplitFusedLinear
    : Pass<"graph-split-fused-linear", "mlir::ModuleOp"> {
  let summary = "Split a linear layer whose output is split into one per part";
  let description = [{
    Exporters fuse the query, key and value projections into one MatMul or
    Gemm whose output a Split cuts apart (GPT-2's c_attn). Tensor
    parallelism must split each part by heads, which a contiguous split of
    the fused output cannot do. This pass replaces `split(reshape?(linear(x,
    W, b)))` along the output-feature axis by one linear per part, each with
    its columns of W and b, so every part is an ordinary column-parallel
    candidate. The tensor-parallel policy runs it first.
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
// Autodiff: parameters, loss, backward graph and optimizer
//===----------------------------------------------------------------------===//

def TrainVariables : Pass<"train-variables", "mlir::ModuleOp"> {
  let summary = "Turn the float initializers into trainable variables";
  let description = [{
    Every float32 ONNX initializer with at least one dimension becomes a
    `graph.variable` named after it, unless a `freeze` pattern matches its
    name (globs with `*`, `?` and `{a,b}`). Batch-norm statistics are never
    trained by gradient and stay constants, as do rank-0 initializers
    (exporters' scalar constants). Runs before constant folding, so that
    nothing computed from a parameter is folded into a constant.
  }];
  let options = [
    ListOption<"freeze", "freeze", "std::string",
               "name patterns of initializers that stay constant">,
  ];
}

def TrainAppendLoss : Pass<"train-append-loss", "mlir::ModuleOp"> {
  let summary = "Make the function return one scalar loss";
  let description = [{
    `kind=output`: the model output named `loss` is the loss. `kind=
    cross-entropy`: appends the mean negative log-likelihood of the model
    output `logits` (classes on the last axis) at the integer labels of a
    new input `labels`; labels equal to -100 are ignored, as in PyTorch.
    `kind=mse`: appends the mean squared difference between the output
    `logits` (or the only output) and a new input `target`. The function
    then returns the loss alone, named "loss".
  }];
  let options = [
    Option<"kind", "kind", "std::string", "\"output\"",
           "output, cross-entropy or mse">,
    Option<"loss", "loss", "std::string", "\"\"",
           "the output that is the loss (kind=output)">,
    Option<"logits", "logits", "std::string", "\"\"",
           "the output the appended loss reads">,
    Option<"labels", "labels", "std::string", "\"labels\"",
           "name of the new labels input (cross-entropy)">,
    Option<"target", "target", "std::string", "\"target\"",
           "name of the new target input (mse)">,
  ];
}

def TrainAutodiff : Pass<"train-autodiff", "mlir::ModuleOp"> {
  let summary = "Append the backward graph and the optimizer step";
  let description = [{
    Reverse-mode differentiation of the function's single scalar result
    with respect to every `graph.variable`: ops are visited in reverse
    order and each applies its gradient rule (GradientOpInterface);
    gradients reaching one value from several users are summed. An op on
    the path from a variable to the loss without a rule is an error naming
    its node. Then, per variable: optional clipping by the global gradient
    norm, the optimizer update (`graph.sgd_update` or `graph.adamw_update`,
    with its state as new variables) and `graph.assign`s of the new values.
    `optimizer=none` instead returns each gradient as a result named
    "<variable>.grad" after the loss, and updates nothing. With
    `microbatches=M`, the forward ops that depend on the batch (dim 0 of
    the inputs) run once per microbatch, each followed by its backward
    pass; the loss is the mean of the microbatch losses and gradients add
    up before the one optimizer update.
  }];
  let options = [
    Option<"optimizer", "optimizer", "std::string", "\"adamw\"",
           "sgd, adamw or none">,
    Option<"lr", "lr", "double", "1e-3", "base learning rate">,
    Option<"momentum", "momentum", "double", "0", "SGD momentum">,
    Option<"weightDecay", "weight-decay", "double", "0",
           "weight decay (decoupled for AdamW)">,
    Option<"beta1", "beta1", "double", "0.9", "Adam beta1">,
    Option<"beta2", "beta2", "double", "0.999", "Adam beta2">,
    Option<"epsilon", "epsilon", "double", "1e-8", "Adam epsilon">,
    Option<"schedule", "schedule", "std::string", "\"constant\"",
           "learning-rate schedule: constant, warmup-linear or cosine">,
    Option<"warmupSteps", "warmup-steps", "int64_t", "0",
           "linear warm-up steps of the schedule">,
    Option<"totalSteps", "total-steps", "int64_t", "0",
           "steps at which warmup-linear and cosine reach 0">,
    Option<"clipNorm", "clip-norm", "double", "0",
           "clip gradients to this global L2 norm (0: no clipping)">,
    Option<"eagerUpdates", "eager-updates", "bool", "true",
           "update each parameter as soon as its gradient is complete "
           "(frees gradient buffers early); false: all updates at the end">,
    Option<"microbatches", "microbatches", "int64_t", "1",
           "gradient accumulation: split the batch into this many "
           "microbatches, each with its forward and backward pass">,
  ];
}

def TrainRecompute : Pass<"train-recompute", "mlir::ModuleOp"> {
  let summary = "Recompute groups of forward ops in the backward pass";
  let description = [{
    Activation checkpointing. Each group names forward ops by a node-name
    glob (`*attn*`) or an inclusive range in program order (`FIRST..LAST`,
    node names). Values a group computes that backward ops read are not
    kept from the forward pass: the group's ops that produce them are
    cloned just before the first backward op that needs one, from the
    group's inputs, and the backward ops read the clones. Each group is
    recomputed separately, so one layer per group keeps a single layer's
    activations alive at a time. Runs after train-autodiff.
  }];
  let options = [
    ListOption<"groups", "groups", "std::string",
               "one group of ops per entry: GLOB or FIRST..LAST">,
  ];
}

//===----------------------------------------------------------------------===//
// Codegen
//===----------------------------------------------------------------------===//

def GraphPlanMemory : Pass<"graph-plan-memory", "mlir::ModuleOp"> {
  let summary = "Assign every tensor an offset in one static arena";
  let description = [{
    Walks each function (each rank function after dist-split-ranks) in
    order, computes the live range of every tensor value (views such as
    reshape share their source's buffer and extend its range), and places
    buffers with a greedy best-fit over the timeline. Communication and
    local dist ops get buffers like graph ops; a model input's buffer is the
    box the rank reads of it (its `dist.slice`), and an input the function
    never reads gets none. Annotates each op with `ss.offsets` (one byte
    offset per result, or -1 for results that live in the weights blob) and
    the function with `ss.arena_bytes`, the peak the rank allocates, and
    `ss.input_offsets` / `ss.output_offsets` (-1 for an unread input).
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", /*default=*/"64",
           "Byte alignment of every buffer">,
  ];
}

//===----------------------------------------------------------------------===//
// Plan: op-trans, op-assign, op-order
//===----------------------------------------------------------------------===//

def DistApplyPlan : Pass<"dist-apply-plan", "mlir::ModuleOp"> {
  let summary = "Partition and place every op under a plan";
  let description = [{
    Applies a built-in policy (`dp=N`, `tp=N`, or a combination such as
    `dp=2,tp=2`) and then a plan file's decisions, all through the
    primitives in compiler/Plan/Primitives.h: op-trans splits an op into
    sub-ops on sub-tensors (`dist.require` / `dist.assemble`), op-assign
    binds each sub-op to a device, op-order adds happen-before constraints.
    Ops no decision covers are replicated on every device. A world size of
    1 with no plan places everything on device 0.
  }];
  let options = [
    Option<"plan", "plan", "std::string", "\"\"",
           "built-in policy, e.g. dp=2,tp=2">,
    Option<"planFile", "plan-file", "std::string", "\"\"",
           "plan file applied after the policy">,
    Option<"worldSize", "world-size", "int64_t", "0",
           "number of ranks (0: the product of the policy's degrees)">,
  ];
  let dependentDialects = ["ss::dist::DistDialect"];
}

//===----------------------------------------------------------------------===//
// Dependency: communication insertion
//===----------------------------------------------------------------------===//

def DistInsertCommunication
    : Pass<"dist-insert-communication", "mlir::ModuleOp"> {
  let summary = "Materialize the communication every sub-tensor needs";
  let description = [{
    For every full tensor, compares the pieces its producers hold with the
    pieces its consumers require. Where producers and consumers share a
    device set and both form RVD layouts, the cheapest path of transitions
    (all-gather, all-reduce, reduce-scatter, all-to-all, local slice/scale)
    is found by Dijkstra over bytes moved; otherwise pieces move by
    send/recv or broadcast. Constants are sliced at compile time and model
    inputs are read as slices. Afterwards no `dist.require` or
    `dist.assemble` remains.
  }];
  let dependentDialects = ["ss::dist::DistDialect"];
}

def DistBucketAllReduce : Pass<"dist-bucket-all-reduce", "mlir::ModuleOp"> {
  let summary = "Merge gradient all-reduces of one group into buckets";
  let description = [{
    Data parallelism all-reduces every replicated parameter's gradient.
    Gradient all-reduces (the input comes from the backward pass and only
    optimizer updates read the result) over the same group are taken in
    program order and packed into buckets of at least `bucket-bytes`:
    right after a bucket's last gradient is computed, each device flattens
    and concatenates its inputs, one all-reduce sums the bucket, and slices
    hand each update its gradient; updates of the bucket's earlier
    gradients move after it. Every member device packs the same gradients
    in the same order, so the collectives still match. Fewer, larger
    collectives cost less latency; smaller buckets free gradients sooner.
  }];
  let options = [
    Option<"bucketBytes", "bucket-bytes", "int64_t", "26214400",
           "bytes per bucket; 0 turns bucketing off">,
  ];
  let dependentDialects = ["ss::dist::DistDialect"];
}

//===----------------------------------------------------------------------===//
// Schedule: per-device order and deadlock check
//===----------------------------------------------------------------------===//

def DistSchedule : Pass<"dist-schedule", "mlir::ModuleOp"> {
  let summary = "Order each device's ops and prove the plan cannot hang";
  let description = [{
    Orders each device's ops by data dependencies and op-order constraints
    (`dist.after`), issuing communication as soon as its input is ready.
    Then runs all devices' sequences together: a collective proceeds when
    every member has reached it, a send when its receive has. On a stall a
    receive (which waits for nothing local) moves up to meet its sender,
    and a device stuck at a receive goes on with work that needs nothing
    outstanding. If it still stalls, the plan could deadlock and is
    rejected, naming the two ops that wait on each other. On success the function body is rewritten in
    the simulated execution order, so each device's program is its ops in
    block order.
  }];
}

//===----------------------------------------------------------------------===//
// Codegen
//===----------------------------------------------------------------------===//

def DistSplitRanks : Pass<"dist-split-ranks", "mlir::ModuleOp"> {
  let summary = "One function per rank: the ops of its device";
  let description = [{
    Turns the scheduled all-device function into functions `@rank<N>`, one
    per device, each holding that device's ops in order, the constants it
    uses, and the box slices of model inputs it reads. The output device's
    function returns the model outputs.

    Every rank function keeps the model's arguments and their names, so all
    programs take the same inputs. Each argument is read through at most one
    `dist.slice` (the box the rank reads); several slices of one input on a
    rank become a read of their bounding box plus local slices. The module
    gets `dist.world_size` and `dist.output_device`. Rejects an op without a
    device, an operand computed on another device, an argument used other
    than by `dist.slice`, and an output not on the output device.
  }];
}

#endif // SS_COMPILER_PASSES
