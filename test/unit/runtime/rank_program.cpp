// A hand-written two-rank program of the kind ssc emits (a step plus a main
// that fills ProgramSpec), built in several variants for the distributed
// driver tests in rank_program_test.py.
//
// Model: x [4, 3] float32 and ids [2] int64 in;
//   y[j] = 0.5 * sum_i x[i, j] * w_{rank holding row i}[j] + ids[0].
// Rank r holds rows 2r and 2r + 1 of x and its own 3 weights; one all-reduce
// sums the ranks' partial sums.
//
// Variants (compile definitions):
//   RANK_PROGRAM_RANK0  the program of rank 0 alone, which writes y
//   RANK_PROGRAM_RANK1  the program of rank 1 alone (it never reads ids)
//   neither             one program both ranks run, writing nothing
//   RANK_PROGRAM_PLAN   the plan fingerprint (to build mismatching copies)
// SS_TEST_STEP_SLEEP_MS makes every step sleep, and SS_TEST_PID_DIR makes
// each rank write DIR/rankR.pid, so that a test can kill one mid-run.
// SS_TEST_KERNEL_ERROR_RANK=R makes rank R call a kernel with a box that does
// not fit, a kernel error in the middle of a step.
#include "ssrt/ssrt.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#ifndef RANK_PROGRAM_PLAN
#define RANK_PROGRAM_PLAN "5eed0001"
#endif

namespace {

constexpr int64_t kXOffset = 0, kIdsOffset = 64, kPartialOffset = 128,
                  kYOffset = 192;

// Each rank's 3 weights: rank 0 {1, 2, 3}, rank 1 {-1, 0.5, 4}, written
// by the test as little-endian float32.
constexpr int64_t kWeightsBytes = 3 * sizeof(float);

bool readsIds() {
#ifdef RANK_PROGRAM_RANK1
  return false;
#else
  return true;
#endif
}

void step(char *arena, char *weights, const ssrt::StepContext &context) {
  static bool announced = false;
  if (!announced) {
    announced = true;
    if (const char *dir = std::getenv("SS_TEST_PID_DIR")) {
      std::string path = std::string(dir) + "/rank" +
                         std::to_string(context.worldRank) + ".pid";
      if (std::FILE *f = std::fopen(path.c_str(), "w")) {
        std::fprintf(f, "%d\n", static_cast<int>(getpid()));
        std::fclose(f);
      }
    }
  }
  if (const char *ms = std::getenv("SS_TEST_STEP_SLEEP_MS"))
    usleep(static_cast<useconds_t>(std::atoi(ms)) * 1000);
  const char *errorRank = std::getenv("SS_TEST_KERNEL_ERROR_RANK");
  if (errorRank && std::atoi(errorRank) == context.worldRank) {
    const int64_t box[1] = {4}, into[1] = {3}, at[1] = {0};
    ssrt::insertBox(arena, arena + kPartialOffset, box, into, at, 1, 4);
  }

  const float *x = reinterpret_cast<const float *>(arena + kXOffset);
  const float *w = reinterpret_cast<const float *>(weights);
  float *partial = reinterpret_cast<float *>(arena + kPartialOffset);
  float *y = reinterpret_cast<float *>(arena + kYOffset);
  for (int j = 0; j < 3; ++j)
    partial[j] = (x[j] + x[3 + j]) * w[j];
  ssrt::allReduceSum(context.rank->groupOfSlot[0], ssrt::DType::F32, partial, y,
                     3);
  ssrt::scale(y, y, 3, 0.5f);
  if (readsIds()) {
    const int64_t *ids = reinterpret_cast<const int64_t *>(arena + kIdsOffset);
    for (int j = 0; j < 3; ++j)
      y[j] += static_cast<float>(ids[0]);
  }
}

const ssrt::TensorSpec kInputs[] = {
    {"x", ssrt::DType::F32, 2, {2, 3}, kXOffset, {4, 3}},
    {"ids", ssrt::DType::I64, 1, {2}, readsIds() ? kIdsOffset : -1, {2}},
};
#ifdef RANK_PROGRAM_RANK0
const ssrt::TensorSpec kOutputs[] = {
    {"y", ssrt::DType::F32, 1, {3}, kYOffset, {3}},
};
#endif

// Group table of the plan: every rank alone, then both.
const int kRank0[] = {0}, kRank1[] = {1}, kBoth[] = {0, 1};
const ssrt::GroupSpec kGroups[] = {{1, kRank0}, {1, kRank1}, {2, kBoth}};
const int kGroupOfSlot[] = {2};

// Per input, the box offsets (x rows 2r.., ids whole).
const int64_t kOffsets0[2 * ssrt::kMaxRank] = {0, 0, 0, 0, 0, 0, 0, 0,
                                               0, 0, 0, 0, 0, 0, 0, 0};
const int64_t kOffsets1[2 * ssrt::kMaxRank] = {2, 0, 0, 0, 0, 0, 0, 0,
                                               0, 0, 0, 0, 0, 0, 0, 0};

// FNV-1a 64 of the weights files, as literals like the compiler writes them
// (rank_program_test.py checks them against its own hash of the files).
constexpr uint64_t kChecksum0 = 0x1de40d89811fe258ull;
constexpr uint64_t kChecksum1 = 0xf8e526817a2a7c85ull;

const ssrt::RankSpec kRanks[] = {
#ifndef RANK_PROGRAM_RANK1
    {0, kChecksum0, kOffsets0, kGroupOfSlot, nullptr},
#endif
#ifndef RANK_PROGRAM_RANK0
    {1, kChecksum1, kOffsets1, kGroupOfSlot, nullptr},
#endif
};

} // namespace

int main(int argc, char **argv) {
  ssrt::ProgramSpec spec{};
  spec.modelName = "rank_program";
  spec.planFingerprint = RANK_PROGRAM_PLAN;
  spec.worldSize = 2;
  spec.arenaBytes = 256;
  spec.weightsBytes = kWeightsBytes;
  spec.weightsFilePattern = "rank_program_rank%d.weights";
  spec.numInputs = 2;
  spec.inputs = kInputs;
#ifdef RANK_PROGRAM_RANK0
  spec.numOutputs = 1;
  spec.outputs = kOutputs;
#endif
  spec.numGroups = 3;
  spec.groups = kGroups;
  spec.numRanks = static_cast<int>(sizeof(kRanks) / sizeof(kRanks[0]));
  spec.ranks = kRanks;
  spec.step = step;
  return ssrt::runProgram(argc, argv, spec);
}
