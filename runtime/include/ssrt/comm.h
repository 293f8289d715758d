// Communication between the ranks of a distributed program. Emitted rank
// programs call these from their step; the driver sets up the world (MPI on
// CPU) and the plan's groups before the first step.
//
// Groups are numbered by the program's group table (ProgramSpec::groups):
// every rank program of one compilation carries the same table, so the
// groups are created once, collectively, in table order. Members are listed
// in group order; "member k" below is the k-th entry.
//
// Shapes are the local tensor's, `rank` entries. Every call blocks until its
// data is in place; a failure inside a call stops all ranks (fail-stop).
#ifndef SSRT_COMM_H
#define SSRT_COMM_H

#include "ssrt/kernels.h"

namespace ssrt {

/// This process's rank in the world, and the world size (1 without MPI).
int worldRank();
int worldSize();

/// out = sum over the group's members of `in` (F32, I32, I64); `in` and
/// `out` may alias. V -> R.
void allReduceSum(int group, DType dtype, const void *in, void *out,
                  int64_t count);

/// Concatenates the members' `in` (each of shape `shape`) along `dim` in
/// group order into `out`. D -> R.
void allGather(int group, DType dtype, const void *in, void *out,
               const int64_t *shape, int rank, int dim);

/// Sums the members' `in` (each of shape `shape`) and gives member k chunk k
/// of the sum along `dim` in `out`. V -> D.
void reduceScatterSum(int group, DType dtype, const void *in, void *out,
                      const int64_t *shape, int rank, int dim);

/// Splits `in` (shape `shape`) into group-size chunks along `splitDim`,
/// sends chunk k to member k, and concatenates the received chunks along
/// `concatDim` in group order into `out`. D(i) -> D(j).
void allToAll(int group, DType dtype, const void *in, void *out,
              const int64_t *shape, int rank, int splitDim, int concatDim);

/// Copies `count` elements from the member `root` (a world rank) to every
/// member: on the root `buf` is read, elsewhere it is written.
void broadcast(int group, int root, DType dtype, void *buf, int64_t count);

/// Point to point between world ranks; `tag` matches a send with its recv.
void send(int peer, int tag, DType dtype, const void *buf, int64_t count);
void recv(int peer, int tag, DType dtype, void *buf, int64_t count);

} // namespace ssrt

#endif // SSRT_COMM_H
