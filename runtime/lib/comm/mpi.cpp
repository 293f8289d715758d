// comm.h and the world's start-up over MPI: one communicator per plan group,
// collectives on them, point to point on MPI_COMM_WORLD; every failure stops
// the whole job.

// Only MPI's C API is used; its C++ bindings would need libmpi_cxx too.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1

#include "comm/world.h"
#include "cpu/fatal_error.h"
#include "ssrt/comm.h"
#include "ssrt/weights.h"

#include <mpi.h>

#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace ssrt {

namespace {

struct Group {
  std::vector<int> members; // world ranks in group order
  int position = -1;        // this rank's place in `members`, -1 if absent
  MPI_Comm comm = MPI_COMM_NULL;
};

struct World {
  bool active = false;
  int rank = 0;
  int size = 1;
  std::vector<Group> groups;
  // Reordering space of the collectives along inner dims, kept between
  // steps so that they do not allocate every time.
  std::vector<char> scratch[2];
};

World &world() {
  static World w;
  return w;
}

[[noreturn]] __attribute__((format(printf, 1, 2))) void
commError(const char *format, ...) {
  char text[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof(text), format, args);
  va_end(args);
  comm::abortJob(std::string("ssrt: ") + text);
}

void checkMpi(int rc, const char *what, int group) {
  if (rc == MPI_SUCCESS)
    return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS)
    std::snprintf(text, sizeof(text), "code %d", rc);
  if (group >= 0)
    commError("%s on group %d: MPI error: %s", what, group, text);
  commError("%s: MPI error: %s", what, text);
}

std::string listText(const std::vector<int> &values) {
  std::string s;
  for (size_t i = 0; i < values.size(); ++i)
    s += (i ? ", " : "") + std::to_string(values[i]);
  return s;
}

MPI_Datatype mpiType(DType dtype, const char *what) {
  switch (dtype) {
  case DType::F32:
    return MPI_FLOAT;
  case DType::I32:
    return MPI_INT32_T;
  case DType::I64:
    return MPI_INT64_T;
  case DType::I8:
    return MPI_INT8_T;
  case DType::U8:
  case DType::Bool:
    return MPI_UINT8_T;
  }
  commError("%s: unsupported dtype %d", what, static_cast<int>(dtype));
}

MPI_Datatype summableType(DType dtype, const char *what) {
  if (dtype != DType::F32 && dtype != DType::I32 && dtype != DType::I64)
    commError("%s: sums need float32, int32 or int64, got %s", what,
              dtypeName(dtype));
  return mpiType(dtype, what);
}

/// MPI counts are ints; larger messages are refused rather than truncated.
int mpiCount(int64_t count, const char *what) {
  if (count < 0 || count > INT_MAX)
    commError("%s: %lld elements per message do not fit MPI's int count", what,
              static_cast<long long>(count));
  return static_cast<int>(count);
}

/// The group `group`, which this rank must be a member of.
const Group &memberGroup(int group, const char *what) {
  World &w = world();
  if (group < 0 || group >= static_cast<int>(w.groups.size()))
    commError("%s: group %d does not exist (the program has %zu groups)", what,
              group, w.groups.size());
  const Group &g = w.groups[group];
  if (g.position < 0)
    commError("%s: world rank %d is not a member of group %d (members %s)",
              what, w.rank, group, listText(g.members).c_str());
  return g;
}

/// A tensor viewed as [outer, extent, inner] around dimension `dim`.
struct DimView {
  int64_t outer = 1, extent = 1, inner = 1;
  int64_t total() const { return outer * extent * inner; }
};

DimView viewAround(const int64_t *shape, int rank, int dim, const char *what) {
  if (rank < 0 || rank > kMaxRank)
    commError("%s: tensor rank %d is outside [0, %d]", what, rank, kMaxRank);
  if (dim < 0 || dim >= rank)
    commError("%s: dim %d is outside the tensor's %d dims", what, dim, rank);
  DimView v;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] < 0)
      commError("%s: negative dimension %lld", what,
                static_cast<long long>(shape[d]));
    if (d < dim)
      v.outer *= shape[d];
    else if (d == dim)
      v.extent = shape[d];
    else
      v.inner *= shape[d];
  }
  return v;
}

char *scratch(int slot, size_t bytes) {
  std::vector<char> &buffer = world().scratch[slot];
  if (buffer.size() < bytes)
    buffer.resize(bytes);
  return buffer.data();
}

/// Moves [blocks][rows][rowBytes] to [rows][blocks][rowBytes]: gathers or
/// scatters the per-member chunks of a dim that is not the outermost.
void swapBlocksAndRows(const char *src, char *dst, int64_t blocks, int64_t rows,
                       size_t rowBytes) {
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(dst + (r * blocks + b) * rowBytes,
                  src + (b * rows + r) * rowBytes, rowBytes);
}

void copyIfDistinct(const void *in, void *out, size_t bytes) {
  if (in != out && bytes > 0)
    std::memmove(out, in, bytes);
}

} // namespace

namespace comm {

void initWorld(int *argc, char ***argv) {
  World &w = world();
  if (w.active)
    return;
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) !=
      MPI_SUCCESS) {
    std::fprintf(stderr, "error: ssrt: MPI_Init_thread failed\n");
    std::exit(1);
  }
  w.active = true;
  cpu::setFatalErrorHandler([](const char *message) { abortJob(message); });
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  checkMpi(MPI_Comm_rank(MPI_COMM_WORLD, &w.rank), "MPI_Comm_rank", -1);
  checkMpi(MPI_Comm_size(MPI_COMM_WORLD, &w.size), "MPI_Comm_size", -1);
  if (provided < MPI_THREAD_FUNNELED)
    commError("MPI provides thread level %d, the runtime needs "
              "MPI_THREAD_FUNNELED (%d)",
              provided, MPI_THREAD_FUNNELED);
}

bool worldActive() { return world().active; }

const RankSpec *joinWorld(const ProgramSpec &spec) {
  World &w = world();
  if (!w.active)
    abortJob("ssrt: joinWorld before initWorld");
  if (w.size != spec.worldSize)
    abortJob("this program was built for " + std::to_string(spec.worldSize) +
             " ranks, but MPI started " + std::to_string(w.size) +
             " (run it with mpirun -np " + std::to_string(spec.worldSize) +
             ")");

  // Programs of different compilations would deadlock or compute garbage,
  // so their plans are compared before anything else is shared. A hash of
  // the whole fingerprint decides; the text is for the message.
  struct PlanId {
    uint64_t hash;
    char text[120];
  };
  const char *fingerprint = spec.planFingerprint ? spec.planFingerprint : "";
  PlanId mine{};
  mine.hash = fnv1a64(fingerprint, std::strlen(fingerprint));
  std::snprintf(mine.text, sizeof(mine.text), "%s", fingerprint);
  std::vector<PlanId> all(static_cast<size_t>(w.size));
  checkMpi(MPI_Allgather(&mine, sizeof(PlanId), MPI_BYTE, all.data(),
                         sizeof(PlanId), MPI_BYTE, MPI_COMM_WORLD),
           "plan check", -1);
  std::string disagreeing;
  for (int r = 1; r < w.size; ++r)
    if (all[r].hash != all[0].hash)
      disagreeing += ", rank " + std::to_string(r) + " has " + all[r].text;
  if (!disagreeing.empty()) {
    if (w.rank == 0) {
      std::fflush(stdout);
      std::fprintf(stderr,
                   "error: ranks from different compilations: rank 0 has "
                   "plan %s%s\n",
                   all[0].text, disagreeing.c_str());
      std::fflush(stderr);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    finalizeWorld();
    return nullptr;
  }

  const RankSpec *self = nullptr;
  std::vector<int> served;
  for (int i = 0; i < spec.numRanks; ++i) {
    served.push_back(spec.ranks[i].worldRank);
    if (spec.ranks[i].worldRank == w.rank)
      self = &spec.ranks[i];
  }
  if (!self)
    abortJob("this program was built for ranks " + listText(served) +
             ", not rank " + std::to_string(w.rank));
  createGroups(spec.numGroups, spec.groups);
  return self;
}

void createGroups(int numGroups, const GroupSpec *groups) {
  World &w = world();
  for (Group &g : w.groups)
    if (g.comm != MPI_COMM_NULL)
      MPI_Comm_free(&g.comm);
  w.groups.assign(static_cast<size_t>(numGroups > 0 ? numGroups : 0), Group());
  for (int i = 0; i < numGroups; ++i) {
    Group &g = w.groups[i];
    const GroupSpec &spec = groups[i];
    if (spec.size < 1)
      abortJob("program spec: group " + std::to_string(i) + " has " +
               std::to_string(spec.size) + " members");
    g.members.assign(spec.members, spec.members + spec.size);
    for (int k = 0; k < spec.size; ++k) {
      int member = g.members[k];
      if (member < 0 || member >= w.size)
        abortJob("program spec: group " + std::to_string(i) +
                 " lists world rank " + std::to_string(member) +
                 ", but the world has " + std::to_string(w.size) + " ranks");
      for (int j = 0; j < k; ++j)
        if (g.members[j] == member)
          abortJob("program spec: group " + std::to_string(i) +
                   " lists world rank " + std::to_string(member) + " twice");
      if (member == w.rank)
        g.position = k;
    }
    // A one-member group needs no communicator, and every rank skips the
    // same ones because every program carries the same table.
    if (spec.size == 1 || !w.active)
      continue;
    // Key = position in the group, so communicator rank k is member k.
    checkMpi(MPI_Comm_split(MPI_COMM_WORLD, g.position >= 0 ? 0 : MPI_UNDEFINED,
                            g.position, &g.comm),
             "creating group", i);
    if (g.comm == MPI_COMM_NULL)
      continue;
    MPI_Comm_set_errhandler(g.comm, MPI_ERRORS_RETURN);
    int commRank = -1;
    checkMpi(MPI_Comm_rank(g.comm, &commRank), "creating group", i);
    if (commRank != g.position)
      commError("group %d: communicator rank %d is not group position %d", i,
                commRank, g.position);
  }
}

void abortJob(const std::string &message) {
  std::fflush(stdout);
  World &w = world();
  if (!w.active) {
    std::fprintf(stderr, "error: %s\n", message.c_str());
    std::exit(1);
  }
  std::fprintf(stderr, "error: rank %d: %s\n", w.rank, message.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  // MPI_Abort does not return; this keeps the promise if it ever did.
  std::_Exit(1);
}

void worldBarrier() {
  if (world().active)
    checkMpi(MPI_Barrier(MPI_COMM_WORLD), "barrier", -1);
}

void maxOverWorld(double *values, int count) {
  if (world().active)
    checkMpi(MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_MAX,
                           MPI_COMM_WORLD),
             "max over ranks", -1);
}

void finalizeWorld() {
  World &w = world();
  if (!w.active)
    return;
  for (Group &g : w.groups)
    if (g.comm != MPI_COMM_NULL)
      MPI_Comm_free(&g.comm);
  w.groups.clear();
  MPI_Finalize();
  w.active = false;
  cpu::setFatalErrorHandler(nullptr);
}

} // namespace comm

int worldRank() { return world().rank; }
int worldSize() { return world().size; }

void allReduceSum(int group, DType dtype, const void *in, void *out,
                  int64_t count) {
  const char *what = "allReduceSum";
  const Group &g = memberGroup(group, what);
  MPI_Datatype type = summableType(dtype, what);
  const size_t bytes = static_cast<size_t>(count) * dtypeSize(dtype);
  if (g.members.size() == 1)
    return copyIfDistinct(in, out, bytes);
  const char *i = static_cast<const char *>(in);
  const char *o = static_cast<const char *>(out);
  if (in != out && i < o + bytes && o < i + bytes)
    commError("%s: input and output overlap without being the same buffer",
              what);
  checkMpi(MPI_Allreduce(in == out ? MPI_IN_PLACE : in, out,
                         mpiCount(count, what), type, MPI_SUM, g.comm),
           what, group);
}

void allGather(int group, DType dtype, const void *in, void *out,
               const int64_t *shape, int rank, int dim) {
  const char *what = "allGather";
  const Group &g = memberGroup(group, what);
  MPI_Datatype type = mpiType(dtype, what);
  const DimView v = viewAround(shape, rank, dim, what);
  const size_t elemSize = dtypeSize(dtype);
  const int64_t n = static_cast<int64_t>(g.members.size());
  if (n == 1)
    return copyIfDistinct(in, out, static_cast<size_t>(v.total()) * elemSize);
  const int count = mpiCount(v.total(), what);
  // MPI concatenates the members' buffers: that is the result when `dim` is
  // outermost, otherwise each member's rows are interleaved afterwards.
  if (v.outer == 1) {
    checkMpi(MPI_Allgather(in, count, type, out, count, type, g.comm), what,
             group);
    return;
  }
  char *gathered = scratch(0, static_cast<size_t>(n * v.total()) * elemSize);
  checkMpi(MPI_Allgather(in, count, type, gathered, count, type, g.comm), what,
           group);
  swapBlocksAndRows(gathered, static_cast<char *>(out), n, v.outer,
                    static_cast<size_t>(v.extent * v.inner) * elemSize);
}

void reduceScatterSum(int group, DType dtype, const void *in, void *out,
                      const int64_t *shape, int rank, int dim) {
  const char *what = "reduceScatterSum";
  const Group &g = memberGroup(group, what);
  MPI_Datatype type = summableType(dtype, what);
  const DimView v = viewAround(shape, rank, dim, what);
  const size_t elemSize = dtypeSize(dtype);
  const int64_t n = static_cast<int64_t>(g.members.size());
  if (v.extent % n != 0)
    commError("%s: dim %d of size %lld does not split into %lld chunks "
              "(group %d)",
              what, dim, static_cast<long long>(v.extent),
              static_cast<long long>(n), group);
  if (n == 1)
    return copyIfDistinct(in, out, static_cast<size_t>(v.total()) * elemSize);
  const int64_t chunk = v.total() / n;
  const int count = mpiCount(chunk, what);
  // MPI gives member k the k-th contiguous block; chunks along an inner dim
  // are first made contiguous.
  const void *send = in;
  if (v.outer > 1) {
    char *packed = scratch(0, static_cast<size_t>(v.total()) * elemSize);
    swapBlocksAndRows(static_cast<const char *>(in), packed, v.outer, n,
                      static_cast<size_t>(v.extent / n * v.inner) * elemSize);
    send = packed;
  }
  checkMpi(MPI_Reduce_scatter_block(send, out, count, type, MPI_SUM, g.comm),
           what, group);
}

void allToAll(int group, DType dtype, const void *in, void *out,
              const int64_t *shape, int rank, int splitDim, int concatDim) {
  const char *what = "allToAll";
  const Group &g = memberGroup(group, what);
  MPI_Datatype type = mpiType(dtype, what);
  const DimView split = viewAround(shape, rank, splitDim, what);
  viewAround(shape, rank, concatDim, what);
  const size_t elemSize = dtypeSize(dtype);
  const int64_t n = static_cast<int64_t>(g.members.size());
  if (split.extent % n != 0)
    commError("%s: split dim %d of size %lld does not split into %lld chunks "
              "(group %d)",
              what, splitDim, static_cast<long long>(split.extent),
              static_cast<long long>(n), group);
  if (n == 1)
    return copyIfDistinct(in, out,
                          static_cast<size_t>(split.total()) * elemSize);
  const int64_t chunk = split.total() / n;
  const int count = mpiCount(chunk, what);

  // Chunk k of the input, made contiguous when splitDim is not outermost.
  const void *send = in;
  if (split.outer > 1) {
    char *packed = scratch(0, static_cast<size_t>(split.total()) * elemSize);
    swapBlocksAndRows(static_cast<const char *>(in), packed, split.outer, n,
                      static_cast<size_t>(split.extent / n * split.inner) *
                          elemSize);
    send = packed;
  }
  // The received chunks have the input's shape with splitDim divided by n;
  // concatenating them along concatDim interleaves their rows unless
  // concatDim is outermost.
  int64_t chunkShape[kMaxRank];
  for (int d = 0; d < rank; ++d)
    chunkShape[d] = d == splitDim ? shape[d] / n : shape[d];
  const DimView concat = viewAround(chunkShape, rank, concatDim, what);
  if (concat.outer == 1) {
    checkMpi(MPI_Alltoall(send, count, type, out, count, type, g.comm), what,
             group);
    return;
  }
  char *received = scratch(1, static_cast<size_t>(split.total()) * elemSize);
  checkMpi(MPI_Alltoall(send, count, type, received, count, type, g.comm), what,
           group);
  swapBlocksAndRows(received, static_cast<char *>(out), n, concat.outer,
                    static_cast<size_t>(concat.extent * concat.inner) *
                        elemSize);
}

void broadcast(int group, int root, DType dtype, void *buf, int64_t count) {
  const char *what = "broadcast";
  const Group &g = memberGroup(group, what);
  MPI_Datatype type = mpiType(dtype, what);
  int rootPosition = -1;
  for (size_t k = 0; k < g.members.size(); ++k)
    if (g.members[k] == root)
      rootPosition = static_cast<int>(k);
  if (rootPosition < 0)
    commError("%s: root world rank %d is not a member of group %d (members "
              "%s)",
              what, root, group, listText(g.members).c_str());
  if (g.members.size() == 1)
    return;
  checkMpi(MPI_Bcast(buf, mpiCount(count, what), type, rootPosition, g.comm),
           what, group);
}

namespace {

void checkPeer(int peer, int tag, const char *what) {
  World &w = world();
  if (peer < 0 || peer >= w.size)
    commError("%s: peer %d is outside the world of %d ranks", what, peer,
              w.size);
  if (peer == w.rank)
    commError("%s: world rank %d addresses itself", what, peer);
  // MPI guarantees tags up to 32767.
  if (tag < 0 || tag > 32767)
    commError("%s: tag %d is outside [0, 32767]", what, tag);
}

} // namespace

void send(int peer, int tag, DType dtype, const void *buf, int64_t count) {
  const char *what = "send";
  checkPeer(peer, tag, what);
  checkMpi(MPI_Send(buf, mpiCount(count, what), mpiType(dtype, what), peer, tag,
                    MPI_COMM_WORLD),
           what, -1);
}

void recv(int peer, int tag, DType dtype, void *buf, int64_t count) {
  const char *what = "recv";
  checkPeer(peer, tag, what);
  checkMpi(MPI_Recv(buf, mpiCount(count, what), mpiType(dtype, what), peer, tag,
                    MPI_COMM_WORLD, MPI_STATUS_IGNORE),
           what, -1);
}

} // namespace ssrt
