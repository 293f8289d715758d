// The on-disk format of training checkpoints, which rank programs write and
// resume from and tools read for export: one directory per step holding every
// rank's state file and a manifest written last.
#ifndef SSRT_CHECKPOINT_H
#define SSRT_CHECKPOINT_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ssrt {

// Layout of a checkpoint directory DIR:
//   DIR/step-<s>/rank<r>.state    one per world rank: a CheckpointHeader, then
//                                 the rank's weights block (its whole
//                                 training state after s steps)
//   DIR/step-<s>/checkpoint.json  the manifest, written after every rank's
//                                 state file is durable
// A checkpoint is complete only when its manifest parses and agrees with
// the program, and each rank's state file has a valid header and a payload
// whose checksum matches. Files are written as NAME.tmp, synced and renamed,
// so a crash leaves .tmp leftovers or no manifest, never a complete-looking
// checkpoint with partial data.

constexpr char kCheckpointMagic[8] = {'S', 'S', 'C', 'K', 'P', 'T', '0', '1'};
constexpr size_t kCheckpointPlanBytes = 16;
constexpr const char *kCheckpointManifestFile = "checkpoint.json";
constexpr const char *kCheckpointFormat = "ssc-checkpoint";
constexpr int kCheckpointVersion = 1;

/// The fixed 64-byte start of a rank<r>.state file, in the byte order of the
/// host that wrote it (little-endian on every supported host).
struct CheckpointHeader {
  char magic[8];                   // kCheckpointMagic
  uint64_t step;                   // training steps completed
  uint64_t worldRank;              // the rank whose state follows
  uint64_t worldSize;              // ranks in the run
  uint64_t payloadBytes;           // bytes after the header: the weights block
  uint64_t payloadChecksum;        // fnv1a64 of the payload
  char plan[kCheckpointPlanBytes]; // plan fingerprint's first 16 chars,
                                   // zero-padded
};
static_assert(sizeof(CheckpointHeader) == 64, "the header is 64 bytes");

/// What a rank's state file must say to belong to the checkpoint a program
/// looks for.
struct CheckpointKey {
  int64_t step;
  int worldRank;
  int worldSize;
  int64_t payloadBytes;
  std::string planFingerprint; // the whole fingerprint
};

/// What checkpoint.json records.
struct CheckpointManifest {
  std::string model;
  std::string plan; // the whole plan fingerprint
  int64_t step = 0;
  int worldSize = 0;
  std::vector<std::string> files; // state file of world rank r at index r
};

/// "DIR/step-<s>".
std::string checkpointStepDir(const std::string &dir, int64_t step);

/// "rank<r>.state".
std::string checkpointStateFile(int worldRank);

/// The header of `payloadBytes` bytes of state, with its checksum.
CheckpointHeader makeCheckpointHeader(const CheckpointKey &key,
                                      const void *payload);

/// The steps of DIR's step-<s> subdirectories, newest first; names that are
/// not exactly "step-" and a step number are ignored. Fails only when DIR
/// cannot be listed.
bool listCheckpointSteps(const std::string &dir, std::vector<int64_t> &steps,
                         std::string &error);

/// Reads a state file's header alone (no checks beyond its size).
bool readCheckpointHeader(const std::string &path, CheckpointHeader &header,
                          std::string &error);

/// Reads the state file `path` into `payload` (key.payloadBytes bytes) after
/// checking its header against `key` and its size, then checks the payload
/// checksum. `payload` may have been written to when this fails.
bool readCheckpointState(const std::string &path, const CheckpointKey &key,
                         void *payload, std::string &error);

/// The manifest as JSON text.
std::string checkpointManifestJson(const CheckpointManifest &manifest);

/// Parses manifest JSON, checking "format" and "version".
bool parseCheckpointManifest(const std::string &text,
                             CheckpointManifest &manifest, std::string &error);

/// Reads and parses stepDir/checkpoint.json.
bool readCheckpointManifest(const std::string &stepDir,
                            CheckpointManifest &manifest, std::string &error);

/// Whether the checkpoint in `stepDir` is complete as far as world rank
/// key.worldRank can tell: its manifest agrees with `key` (plan, step, world
/// size, file names) and the rank's own state file reads back whole into
/// `payload`. On failure `error` says what is wrong.
bool loadCheckpointRank(const std::string &stepDir, const CheckpointKey &key,
                        void *payload, std::string &error);

/// Writes stepDir/rank<r>.state durably and atomically: a .tmp file, synced,
/// renamed, and the directory synced.
bool writeCheckpointState(const std::string &stepDir, const CheckpointKey &key,
                          const void *payload, std::string &error);

/// Writes stepDir/checkpoint.json the same way.
bool writeCheckpointManifest(const std::string &stepDir,
                             const CheckpointManifest &manifest,
                             std::string &error);

/// fsync of a directory, which makes renames and new entries in it durable.
bool syncDirectory(const std::string &dir, std::string &error);

} // namespace ssrt

#endif // SSRT_CHECKPOINT_H
