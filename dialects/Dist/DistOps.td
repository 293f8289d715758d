//===- DistOps.td - dist dialect operations --------------------*- tablegen -*-===//
//
// Sub-tensor bookkeeping before the dependency pass (require, assemble) and
// the device-bound communication it materializes.
//
//===----------------------------------------------------------------------===//

#ifndef SS_DIST_OPS
#define SS_DIST_OPS

include "DistDialect.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class Dist_Op<string mnemonic, list<Trait> traits = []>
    : Op<Dist_Dialect, mnemonic, traits> {
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Sub-tensors (before the dependency pass)
//===----------------------------------------------------------------------===//

def Dist_RequireOp : Dist_Op<"require", [Pure]> {
  let summary = "The piece of a full tensor a sub-op needs";
  let description = [{
    `%x0 = dist.require %x {piece = #dist.sub<[0:4, 0:16], 0 of 1>, device = 0}`
    says that the sub-op using `%x0` needs that piece of `%x` on device 0.
    The dependency pass replaces it with whatever communication produces the
    piece there. The device is unset until the sub-op is assigned.
  }];
  let arguments = (ins AnyRankedTensor:$source, Dist_SubTensorAttr:$piece,
                       OptionalAttr<I64Attr>:$device);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$source attr-dict `:` type($source) `->` type($result)";
}

def Dist_AssembleOp : Dist_Op<"assemble", [Pure]> {
  let summary = "A full tensor made of the pieces sub-ops produce";
  let description = [{
    Each operand is the piece of the result named by the same position in
    `pieces`, produced on the device of its defining op. Together the pieces
    cover the full tensor: every element, every value part. Pieces may
    repeat (replicas). `layout`, when present, is the pieces' RVD layout;
    the plan pass sets it where the pieces form one, and the verifier
    checks it lists the pieces' devices with matching boxes.
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs, ArrayAttr:$pieces,
                       OptionalAttr<Dist_RvdLayoutAttr>:$layout);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $inputs attr-dict `:` functional-type($inputs, results)
  }];
  let extraClassDeclaration = [{
    mlir::LogicalResult verifyLayout(RvdLayoutAttr layout);
  }];
}

//===----------------------------------------------------------------------===//
// Collectives: one op per member device; members share `id`.
//===----------------------------------------------------------------------===//

class Dist_CollectiveOp<string mnemonic, string summaryText>
    : Dist_Op<mnemonic> {
  let summary = summaryText;
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Dist_AllReduceOp : Dist_CollectiveOp<"all_reduce",
    "Sum the member pieces; every member gets the sum (V -> R)"> {
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$group,
                       I64Attr:$device, I64Attr:$id);
}

def Dist_AllGatherOp : Dist_CollectiveOp<"all_gather",
    "Concatenate the member pieces along `dim` in group order (D -> R)"> {
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$group,
                       I64Attr:$device, I64Attr:$id, I64Attr:$dim);
}

def Dist_ReduceScatterOp : Dist_CollectiveOp<"reduce_scatter",
    "Sum the member pieces; member k keeps chunk k along `dim` (V -> D)"> {
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$group,
                       I64Attr:$device, I64Attr:$id, I64Attr:$dim);
}

def Dist_AllToAllOp : Dist_CollectiveOp<"all_to_all",
    "Chunk k along `split_dim` goes to member k; received chunks are "
    "concatenated along `concat_dim` in group order (D(i) -> D(j))"> {
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$group,
                       I64Attr:$device, I64Attr:$id, I64Attr:$split_dim,
                       I64Attr:$concat_dim);
}

def Dist_BroadcastOp : Dist_Op<"broadcast"> {
  let summary = "Copy the root's tensor to every member of the group";
  let description = [{
    The root's op has the operand; the other members' ops have none and
    receive a tensor of the result type.
  }];
  let arguments = (ins Optional<AnyRankedTensor>:$input,
                       DenseI64ArrayAttr:$group, I64Attr:$root,
                       I64Attr:$device, I64Attr:$id);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    ($input^ `:` type($input))? attr-dict `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Point to point
//===----------------------------------------------------------------------===//

def Dist_SendOp : Dist_Op<"send"> {
  let summary = "Send a tensor from `device` to `peer`; matched by `id`";
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$device,
                       I64Attr:$peer, I64Attr:$id);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Dist_RecvOp : Dist_Op<"recv"> {
  let summary = "Receive on `device` the tensor `peer` sends with `id`";
  let arguments = (ins I64Attr:$device, I64Attr:$peer, I64Attr:$id);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Local transitions (no traffic)
//===----------------------------------------------------------------------===//

def Dist_SliceOp : Dist_Op<"slice", [Pure]> {
  let summary = "Take a box of a local tensor (R -> D)";
  let description = [{
    The result is the box at `offsets` with the result's sizes. Applied to a
    function argument, it is the slice of a model input the rank reads.
  }];
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$device,
                       DenseI64ArrayAttr:$offsets);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Dist_ScaleOp : Dist_Op<"scale", [Pure]> {
  let summary = "Multiply by a constant: a replica becomes a value part (R -> V)";
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$device,
                       F64Attr:$factor);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Dist_ComposeOp : Dist_Op<"compose", [Pure]> {
  let summary = "Place local pieces into one tensor";
  let description = [{
    Piece i lands at `offsets[i * rank .. (i + 1) * rank)` of the result.
    The pieces tile the result exactly.
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs, I64Attr:$device,
                       DenseI64ArrayAttr:$offsets);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $inputs attr-dict `:` functional-type($inputs, results)
  }];
}

#endif // SS_DIST_OPS
