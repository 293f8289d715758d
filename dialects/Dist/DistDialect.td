//===- DistDialect.td - partitioned tensors and communication -*- tablegen -*-===//
//
// The `dist` dialect holds a model after partitioning: sub-tensors of full
// tensors, the communication between devices that keeps data dependencies,
// and the device each piece of work runs on.
//
//===----------------------------------------------------------------------===//

#ifndef SS_DIST_DIALECT
#define SS_DIST_DIALECT

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Dist_Dialect : Dialect {
  let name = "dist";
  let cppNamespace = "::ss::dist";
  let summary = "Sub-tensors, devices and communication of a partitioned model";
  let description = [{
    A partitioned model lives in one function that holds the work of every
    device. Graph ops carry a `dist.device` attribute; communication ops are
    one op per participating device, and the members of one collective share
    its `id`. Before the dependency pass, `dist.require` and `dist.assemble`
    relate sub-tensors to the full tensors of the model; afterwards only
    device-bound ops remain, and a rank's program is the ops of its device.
  }];
  let useDefaultAttributePrinterParser = 1;
}

/// A piece of a full tensor: an index range per dimension and a value part.
def Dist_SubTensorAttr : AttrDef<Dist_Dialect, "SubTensor"> {
  let mnemonic = "sub";
  let summary = "An index range per dimension plus value part k of V";
  let description = [{
    `#dist.sub<[0:4, 16:32], 1 of 2>` is rows 0..3 and columns 16..31 of a full
    tensor, holding the second of two partial sums (the value part). Part
    `0 of 1` is the whole value. Two sub-tensors of one full tensor can be
    compared, which is what the dependency pass needs.
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$offsets,
                        ArrayRefParameter<"int64_t">:$sizes,
                        "int64_t":$valueIndex, "int64_t":$valueCount);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getRank() const { return getOffsets().size(); }
    int64_t getNumElements() const;
    /// True when this piece is `full` entire: offsets 0, full sizes, 0/1.
    bool isWhole(llvm::ArrayRef<int64_t> fullShape) const;
    /// True when every element of `other` lies in this piece's box.
    bool containsBox(SubTensorAttr other) const;
  }];
}

/// How a full tensor lies over an ordered device list.
def Dist_RvdLayoutAttr : AttrDef<Dist_Dialect, "RvdLayout"> {
  let mnemonic = "rvd";
  let summary = "R replicas x V value parts x D[i] splits over devices";
  let description = [{
    `#dist.rvd<r = 2, v = 1, d = [2, 1], devices = [0, 1, 2, 3]>`: the
    tensor is split in two along dim 0 and each half is replicated twice
    (devices 0 and 2 hold the first half). Devices are listed in
    row-major order of the grid (R, V, D0, ...): replicas outermost, the
    last dim fastest, so device k holds the piece at grid position k.
  }];
  let parameters = (ins "int64_t":$replicas, "int64_t":$valueParts,
                        ArrayRefParameter<"int64_t">:$splits,
                        ArrayRefParameter<"int64_t">:$devices);
  let assemblyFormat = [{
    `<` `r` `=` $replicas `,` `v` `=` $valueParts `,` `d` `=` `[` $splits `]`
    `,` `devices` `=` `[` $devices `]` `>`
  }];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The grid position (replica, value part, split per dim) of entry k
    /// of the device list.
    void position(int64_t k, int64_t &replica, int64_t &value,
                  llvm::SmallVectorImpl<int64_t> &splitIndex) const;
  }];
}

#endif // SS_DIST_DIALECT
