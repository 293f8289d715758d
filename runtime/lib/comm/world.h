// Start-up, shutdown and the fail-stop error path of a distributed rank
// program's world, shared by the driver, the kernels and the comm tests.
#ifndef SSRT_COMM_WORLD_H
#define SSRT_COMM_WORLD_H

#include "ssrt/ssrt.h"

#include <string>

namespace ssrt {
namespace comm {

/// Starts MPI (MPI_THREAD_FUNNELED: only the thread running the step calls
/// the comm functions) with MPI errors returned to us rather than fatal, so
/// that they are reported like every other error.
void initWorld(int *argc, char ***argv);

/// Whether initWorld has run and finalizeWorld has not.
bool worldActive();

/// The rest of a distributed start-up, collective over the world: checks
/// MPI's world size against spec.worldSize, that every rank runs a program
/// of the same plan, finds this rank in spec.ranks, and creates the groups.
/// Returns this rank's RankSpec. When ranks run programs of different plans,
/// rank 0 prints which, MPI is finalized, and nullptr comes back (the caller
/// exits non-zero); every other failure ends the job via abortJob.
const RankSpec *joinWorld(const ProgramSpec &spec);

/// Records the group table. With MPI running this is collective: every rank
/// creates one communicator per group of two or more, in table order.
/// Without MPI every group must be {0}.
void createGroups(int numGroups, const GroupSpec *groups);

/// Reports `message` as the program's one error line and ends it with
/// status 1. In a distributed run the line names the rank and the whole job
/// ends (MPI_Abort), so that no other rank waits forever on this one.
[[noreturn]] void abortJob(const std::string &message);

/// Waits for every rank of the world (no-op without MPI).
void worldBarrier();

/// values[i] = max over the world's ranks of values[i] (no-op without MPI).
void maxOverWorld(double *values, int count);

/// Frees the groups and finalizes MPI.
void finalizeWorld();

} // namespace comm
} // namespace ssrt

#endif // SSRT_COMM_WORLD_H
