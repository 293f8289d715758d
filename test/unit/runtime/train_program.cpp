// A hand-written two-rank training program of the kind ssc emits (a step
// that updates the weights block in place, plus a main that fills
// ProgramSpec), for the training-loop tests in train_program_test.py.
//
// Model: x [4, 3] and "labels:0" [4] float32 in; rank r holds rows 2r and
// 2r + 1 of both. Each rank's weights block is its whole training state:
//   float w[3]        replicated, trained data-parallel
//   float b           the rank's own bias, added to its rows
//   int64 stepsDone   steps this state has seen
// A step, with e_i = x_i . w + b - labels_i over the rank's rows:
//   loss = 1/4 sum_i e_i^2 over all 4 rows (one all-reduce of the loss and
//   dloss/dw), then SGD with learning rate 0.1: w -= 0.1 dloss/dw,
//   b -= 0.1 dloss/db (local to the rank).
//
// Variants (compile definitions): TRAIN_PROGRAM_RANK0, the program of rank 0,
// which outputs the loss; TRAIN_PROGRAM_RANK1, rank 1's, with no outputs.
// SS_TEST_STEP_SLEEP_MS makes every step sleep, so that a test can kill the
// job mid-run.
#include "ssrt/ssrt.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

constexpr int64_t kXOffset = 0, kLabelsOffset = 64, kPartialOffset = 128,
                  kTotalOffset = 192, kLossOffset = 256;

constexpr int64_t kWeightsBytes = 4 * sizeof(float) + sizeof(int64_t);
constexpr float kLearningRate = 0.1f;

void step(char *arena, char *weights, const ssrt::StepContext &context) {
  if (const char *ms = std::getenv("SS_TEST_STEP_SLEEP_MS"))
    usleep(static_cast<useconds_t>(std::atoi(ms)) * 1000);

  float *w = reinterpret_cast<float *>(weights);
  float &b = w[3];
  int64_t stepsDone;
  std::memcpy(&stepsDone, weights + 4 * sizeof(float), sizeof(stepsDone));
  // The state and the driver's count must agree, resumed or not.
  if (stepsDone != context.step) {
    std::fprintf(stderr,
                 "train_program: rank %d: the state has seen %lld steps, "
                 "the driver says %lld\n",
                 context.worldRank, static_cast<long long>(stepsDone),
                 static_cast<long long>(context.step));
    std::abort();
  }

  const float *x = reinterpret_cast<const float *>(arena + kXOffset);
  const float *labels = reinterpret_cast<const float *>(arena + kLabelsOffset);
  float e[2];
  for (int i = 0; i < 2; ++i)
    e[i] = x[3 * i] * w[0] + x[3 * i + 1] * w[1] + x[3 * i + 2] * w[2] + b -
           labels[i];
  // [loss, dloss/dw0, dloss/dw1, dloss/dw2], this rank's share.
  float *partial = reinterpret_cast<float *>(arena + kPartialOffset);
  float *total = reinterpret_cast<float *>(arena + kTotalOffset);
  partial[0] = 0.25f * (e[0] * e[0] + e[1] * e[1]);
  for (int j = 0; j < 3; ++j)
    partial[1 + j] = 0.5f * (e[0] * x[j] + e[1] * x[3 + j]);
  ssrt::allReduceSum(context.rank->groupOfSlot[0], ssrt::DType::F32, partial,
                     total, 4);
  *reinterpret_cast<float *>(arena + kLossOffset) = total[0];

  for (int j = 0; j < 3; ++j)
    w[j] -= kLearningRate * total[1 + j];
  b -= kLearningRate * (0.5f * (e[0] + e[1]));
  ++stepsDone;
  std::memcpy(weights + 4 * sizeof(float), &stepsDone, sizeof(stepsDone));
}

const ssrt::TensorSpec kInputs[] = {
    {"x", ssrt::DType::F32, 2, {2, 3}, kXOffset, {4, 3}},
    {"labels:0", ssrt::DType::F32, 1, {2}, kLabelsOffset, {4}},
};
#ifdef TRAIN_PROGRAM_RANK0
const ssrt::TensorSpec kOutputs[] = {
    {"loss", ssrt::DType::F32, 0, {}, kLossOffset, {}},
};
#endif

// Group table of the plan: every rank alone, then both.
const int kRank0[] = {0}, kRank1[] = {1}, kBoth[] = {0, 1};
const ssrt::GroupSpec kGroups[] = {{1, kRank0}, {1, kRank1}, {2, kBoth}};
const int kGroupOfSlot[] = {2};

// FNV-1a 64 of the initial weights files, which the test writes:
// w = {0.25, -0.5, 0.75}, b = 0.5 (rank 0) or -0.25 (rank 1), 0 steps.
#ifdef TRAIN_PROGRAM_RANK0
const int64_t kOffsets[2 * ssrt::kMaxRank] = {0, 0, 0, 0, 0, 0, 0, 0,
                                              0, 0, 0, 0, 0, 0, 0, 0};
const ssrt::RankSpec kRanks[] = {
    {0, 0x656191e04d7cb182ull, kOffsets, kGroupOfSlot, nullptr}};
#else
const int64_t kOffsets[2 * ssrt::kMaxRank] = {2, 0, 0, 0, 0, 0, 0, 0,
                                              2, 0, 0, 0, 0, 0, 0, 0};
const ssrt::RankSpec kRanks[] = {
    {1, 0x5b66144687818c95ull, kOffsets, kGroupOfSlot, nullptr}};
#endif

} // namespace

int main(int argc, char **argv) {
  ssrt::ProgramSpec spec{};
  spec.modelName = "train_program";
  spec.planFingerprint = "7a1a5eed00112233445566778899aabb";
  spec.worldSize = 2;
  spec.arenaBytes = 320;
  spec.weightsBytes = kWeightsBytes;
  spec.weightsFilePattern = "train_program_rank%d.weights";
  spec.numInputs = 2;
  spec.inputs = kInputs;
#ifdef TRAIN_PROGRAM_RANK0
  spec.numOutputs = 1;
  spec.outputs = kOutputs;
  spec.lossOutput = 0;
#else
  spec.lossOutput = -1;
#endif
  spec.numGroups = 3;
  spec.groups = kGroups;
  spec.numRanks = 1;
  spec.ranks = kRanks;
  spec.training = true;
  spec.samplesPerStep = 4;
  spec.step = step;
  return ssrt::runProgram(argc, argv, spec);
}
