// Checkpoint files (ssrt/checkpoint.h): durable atomic writes, the state
// file header, and the manifest's JSON.
#include "ssrt/checkpoint.h"
#include "ssrt/weights.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <utility>

namespace ssrt {

namespace {

std::string inQuotes(const std::string &s) { return "\"" + s + "\""; }

std::string systemError() { return std::strerror(errno); }

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// Writes `path` as path.tmp (written, synced), renamed over `path`, then
/// syncs `dir`, the directory holding `path`: readers see the old file or
/// the whole new one, and after a crash the new one only once it is durable.
bool writeFileDurably(const std::string &dir, const std::string &path,
                      const std::vector<std::pair<const void *, size_t>> &data,
                      std::string &error) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot create " + tmp + ": " + systemError();
    return false;
  }
  auto failWith = [&](const std::string &what) {
    error = what + " " + tmp + ": " + systemError();
    if (fd >= 0)
      ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  };
  for (const auto &[bytes, size] : data) {
    const char *p = static_cast<const char *>(bytes);
    size_t left = size;
    while (left > 0) {
      ssize_t n = ::write(fd, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        if (n == 0)
          errno = EIO;
        return failWith("cannot write");
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
  if (::fsync(fd) != 0)
    return failWith("cannot sync");
  int closing = fd;
  fd = -1;
  if (::close(closing) != 0)
    return failWith("cannot close");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot rename " + tmp + " to " + path + ": " + systemError();
    ::unlink(tmp.c_str());
    return false;
  }
  return syncDirectory(dir, error);
}

// --- JSON: just enough for the manifest -------------------------------------

struct JsonValue {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool boolean = false;
  std::string text; // String: the value; Number: its spelling
  std::vector<JsonValue> items;
  std::vector<std::pair<std::string, JsonValue>> members;

  const JsonValue *member(const std::string &name) const {
    for (const auto &[key, value] : members)
      if (key == name)
        return &value;
    return nullptr;
  }
};

class JsonParser {
public:
  explicit JsonParser(const std::string &text) : text(text) {}

  bool parse(JsonValue &out, std::string &error) {
    if (!value(out, 0) || (skipSpace(), pos != text.size())) {
      error = message.empty() ? "unexpected text" : message;
      error += " at offset " + std::to_string(pos);
      return false;
    }
    return true;
  }

private:
  const std::string &text;
  size_t pos = 0;
  std::string message;

  bool fail(const std::string &what) {
    if (message.empty())
      message = what;
    return false;
  }
  void skipSpace() {
    while (pos < text.size() && std::strchr(" \t\r\n", text[pos]) &&
           text[pos] != '\0')
      ++pos;
  }
  bool consume(char c) {
    skipSpace();
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  bool literal(const char *word) {
    size_t n = std::strlen(word);
    if (text.compare(pos, n, word) != 0)
      return fail(std::string("expected ") + word);
    pos += n;
    return true;
  }

  bool value(JsonValue &out, int depth) {
    if (depth > 32)
      return fail("nested too deeply");
    skipSpace();
    if (pos >= text.size())
      return fail("unexpected end");
    char c = text[pos];
    if (c == '{')
      return object(out, depth);
    if (c == '[')
      return array(out, depth);
    if (c == '"') {
      out.kind = JsonValue::String;
      return string(out.text);
    }
    if (c == 't' || c == 'f') {
      out.kind = JsonValue::Bool;
      out.boolean = c == 't';
      return literal(c == 't' ? "true" : "false");
    }
    if (c == 'n') {
      out.kind = JsonValue::Null;
      return literal("null");
    }
    return number(out);
  }

  bool object(JsonValue &out, int depth) {
    out.kind = JsonValue::Object;
    ++pos;
    if (consume('}'))
      return true;
    do {
      skipSpace();
      std::string key;
      if (pos >= text.size() || text[pos] != '"')
        return fail("expected a member name");
      if (!string(key))
        return false;
      if (!consume(':'))
        return fail("expected ':'");
      out.members.emplace_back(std::move(key), JsonValue());
      if (!value(out.members.back().second, depth + 1))
        return false;
    } while (consume(','));
    return consume('}') || fail("expected ',' or '}'");
  }

  bool array(JsonValue &out, int depth) {
    out.kind = JsonValue::Array;
    ++pos;
    if (consume(']'))
      return true;
    do {
      out.items.emplace_back();
      if (!value(out.items.back(), depth + 1))
        return false;
    } while (consume(','));
    return consume(']') || fail("expected ',' or ']'");
  }

  bool number(JsonValue &out) {
    size_t start = pos;
    if (pos < text.size() && text[pos] == '-')
      ++pos;
    while (pos < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[pos])) ||
            std::strchr(".eE+-", text[pos])) &&
           text[pos] != '\0')
      ++pos;
    if (pos == start)
      return fail("unexpected character");
    out.kind = JsonValue::Number;
    out.text = text.substr(start, pos - start);
    return true;
  }

  static void appendUtf8(std::string &s, unsigned code) {
    if (code < 0x80) {
      s += static_cast<char>(code);
    } else if (code < 0x800) {
      s += static_cast<char>(0xc0 | (code >> 6));
      s += static_cast<char>(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      s += static_cast<char>(0xe0 | (code >> 12));
      s += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (code & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | (code >> 18));
      s += static_cast<char>(0x80 | ((code >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (code & 0x3f));
    }
  }

  bool hex4(unsigned &code) {
    if (pos + 4 > text.size())
      return fail("truncated \\u escape");
    code = 0;
    for (int i = 0; i < 4; ++i) {
      char h = text[pos++];
      code <<= 4;
      if (h >= '0' && h <= '9')
        code |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f')
        code |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        code |= static_cast<unsigned>(h - 'A' + 10);
      else
        return fail("bad \\u escape");
    }
    return true;
  }

  bool string(std::string &out) {
    ++pos; // the opening quote
    while (pos < text.size()) {
      char c = text[pos++];
      if (c == '"')
        return true;
      if (static_cast<unsigned char>(c) < 0x20)
        return fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos >= text.size())
        break;
      char e = text[pos++];
      switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        unsigned code;
        if (!hex4(code))
          return false;
        if (code >= 0xd800 && code < 0xdc00 &&
            text.compare(pos, 2, "\\u") == 0) {
          pos += 2;
          unsigned low;
          if (!hex4(low))
            return false;
          code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        }
        appendUtf8(out, code);
        break;
      }
      default:
        return fail("bad escape");
      }
    }
    return fail("unterminated string");
  }
};

std::string jsonString(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof(escape), "\\u%04x", c);
      out += escape;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

/// The number's value when it is an integer in [minimum, INT64_MAX].
bool jsonInteger(const JsonValue *v, int64_t minimum, int64_t &out) {
  if (!v || v->kind != JsonValue::Number || v->text.empty())
    return false;
  errno = 0;
  char *end = nullptr;
  long long n = std::strtoll(v->text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || n < minimum)
    return false;
  out = n;
  return true;
}

void planBytes(const std::string &fingerprint,
               char (&out)[kCheckpointPlanBytes]) {
  std::memset(out, 0, sizeof(out));
  std::memcpy(out, fingerprint.data(),
              std::min(fingerprint.size(), sizeof(out)));
}

std::string planText(const char (&plan)[kCheckpointPlanBytes]) {
  return std::string(plan, strnlen(plan, sizeof(plan)));
}

} // namespace

std::string checkpointStepDir(const std::string &dir, int64_t step) {
  return dir + "/step-" + std::to_string(step);
}

std::string checkpointStateFile(int worldRank) {
  return "rank" + std::to_string(worldRank) + ".state";
}

CheckpointHeader makeCheckpointHeader(const CheckpointKey &key,
                                      const void *payload) {
  CheckpointHeader header;
  std::memset(&header, 0, sizeof(header));
  std::memcpy(header.magic, kCheckpointMagic, sizeof(header.magic));
  header.step = static_cast<uint64_t>(key.step);
  header.worldRank = static_cast<uint64_t>(key.worldRank);
  header.worldSize = static_cast<uint64_t>(key.worldSize);
  header.payloadBytes = static_cast<uint64_t>(key.payloadBytes);
  header.payloadChecksum =
      fnv1a64(payload, static_cast<size_t>(key.payloadBytes));
  planBytes(key.planFingerprint, header.plan);
  return header;
}

bool listCheckpointSteps(const std::string &dir, std::vector<int64_t> &steps,
                         std::string &error) {
  namespace fs = std::filesystem;
  steps.clear();
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  if (ec) {
    error = "cannot list checkpoint directory " + inQuotes(dir) + ": " +
            ec.message();
    return false;
  }
  for (; it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind("step-", 0) != 0)
      continue;
    std::string digits = name.substr(5);
    if (digits.empty() || digits.size() > 18 ||
        !std::all_of(digits.begin(), digits.end(),
                     [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    int64_t step = std::stoll(digits);
    // Only the spelling the writer uses: "step-007" is not step 7's.
    if (std::to_string(step) != digits)
      continue;
    std::error_code typeError;
    if (it->is_directory(typeError))
      steps.push_back(step);
  }
  if (ec) {
    error = "cannot list checkpoint directory " + inQuotes(dir) + ": " +
            ec.message();
    return false;
  }
  std::sort(steps.begin(), steps.end(), std::greater<int64_t>());
  return true;
}

bool readCheckpointHeader(const std::string &path, CheckpointHeader &header,
                          std::string &error) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = "cannot read " + path + ": " + systemError();
    return false;
  }
  size_t got = std::fread(&header, 1, sizeof(header), f);
  std::fclose(f);
  if (got != sizeof(header)) {
    error = path + ": truncated (" + std::to_string(got) +
            " bytes, less than the " + std::to_string(sizeof(header)) +
            "-byte header)";
    return false;
  }
  return true;
}

bool readCheckpointState(const std::string &path, const CheckpointKey &key,
                         void *payload, std::string &error) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = "cannot read " + path + ": " + systemError();
    return false;
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE *)> closer(f, std::fclose);
  struct stat info;
  if (fstat(fileno(f), &info) != 0) {
    error = "cannot read " + path + ": " + systemError();
    return false;
  }
  const int64_t fileBytes = static_cast<int64_t>(info.st_size);
  CheckpointHeader header;
  if (fileBytes < static_cast<int64_t>(sizeof(header)) ||
      std::fread(&header, 1, sizeof(header), f) != sizeof(header)) {
    error = path + ": truncated (" + std::to_string(fileBytes) +
            " bytes, less than the " + std::to_string(sizeof(header)) +
            "-byte header)";
    return false;
  }
  auto mismatch = [&](const char *what, uint64_t got, int64_t expected) {
    error = path + ": header says " + what + " " + std::to_string(got) +
            ", expected " + std::to_string(expected);
    return false;
  };
  if (std::memcmp(header.magic, kCheckpointMagic, sizeof(header.magic)) != 0) {
    error = path + ": not a checkpoint state file (bad magic)";
    return false;
  }
  if (header.step != static_cast<uint64_t>(key.step))
    return mismatch("step", header.step, key.step);
  if (header.worldRank != static_cast<uint64_t>(key.worldRank))
    return mismatch("world rank", header.worldRank, key.worldRank);
  if (header.worldSize != static_cast<uint64_t>(key.worldSize))
    return mismatch("world size", header.worldSize, key.worldSize);
  char plan[kCheckpointPlanBytes];
  planBytes(key.planFingerprint, plan);
  if (std::memcmp(header.plan, plan, sizeof(plan)) != 0) {
    error = path + ": written by plan " + planText(header.plan) +
            ", this program has plan " + planText(plan);
    return false;
  }
  if (header.payloadBytes != static_cast<uint64_t>(key.payloadBytes))
    return mismatch("payload bytes", header.payloadBytes, key.payloadBytes);
  const int64_t expectedBytes =
      static_cast<int64_t>(sizeof(header)) + key.payloadBytes;
  if (fileBytes != expectedBytes) {
    error = path + ": " +
            (fileBytes < expectedBytes ? "truncated" : "trailing data") + " (" +
            std::to_string(fileBytes) + " bytes, expected " +
            std::to_string(expectedBytes) + ")";
    return false;
  }
  const size_t n = static_cast<size_t>(key.payloadBytes);
  if (std::fread(payload, 1, n, f) != n) {
    error = "cannot read " + path + ": " +
            (std::ferror(f) ? systemError() : std::string("short read"));
    return false;
  }
  uint64_t checksum = fnv1a64(payload, n);
  if (checksum != header.payloadChecksum) {
    char text[96];
    std::snprintf(text, sizeof(text),
                  ": payload checksum mismatch (header 0x%016llx, data "
                  "0x%016llx)",
                  static_cast<unsigned long long>(header.payloadChecksum),
                  static_cast<unsigned long long>(checksum));
    error = path + text;
    return false;
  }
  return true;
}

std::string checkpointManifestJson(const CheckpointManifest &manifest) {
  std::string files;
  for (size_t i = 0; i < manifest.files.size(); ++i)
    files += (i ? ", " : "") + jsonString(manifest.files[i]);
  return std::string("{\n") + "  \"format\": " + jsonString(kCheckpointFormat) +
         ",\n" + "  \"version\": " + std::to_string(kCheckpointVersion) +
         ",\n" + "  \"model\": " + jsonString(manifest.model) + ",\n" +
         "  \"plan\": " + jsonString(manifest.plan) + ",\n" +
         "  \"step\": " + std::to_string(manifest.step) + ",\n" +
         "  \"world_size\": " + std::to_string(manifest.worldSize) + ",\n" +
         "  \"files\": [" + files + "]\n}\n";
}

bool parseCheckpointManifest(const std::string &text,
                             CheckpointManifest &manifest, std::string &error) {
  JsonValue root;
  JsonParser parser(text);
  if (!parser.parse(root, error)) {
    error = "not valid JSON: " + error;
    return false;
  }
  if (root.kind != JsonValue::Object) {
    error = "not a JSON object";
    return false;
  }
  auto str = [&](const char *name, std::string &out) {
    const JsonValue *v = root.member(name);
    if (!v || v->kind != JsonValue::String) {
      error = std::string("\"") + name + "\" is missing or not a string";
      return false;
    }
    out = v->text;
    return true;
  };
  std::string format;
  int64_t version = 0, worldSize = 0;
  if (!str("format", format))
    return false;
  if (format != kCheckpointFormat) {
    error = "format is " + inQuotes(format) + ", expected " +
            inQuotes(kCheckpointFormat);
    return false;
  }
  if (!jsonInteger(root.member("version"), 0, version) ||
      version != kCheckpointVersion) {
    error = "unsupported version (this runtime reads version " +
            std::to_string(kCheckpointVersion) + ")";
    return false;
  }
  if (!str("model", manifest.model) || !str("plan", manifest.plan))
    return false;
  if (!jsonInteger(root.member("step"), 0, manifest.step)) {
    error = "\"step\" is missing or not a non-negative integer";
    return false;
  }
  if (!jsonInteger(root.member("world_size"), 1, worldSize) ||
      worldSize > INT32_MAX) {
    error = "\"world_size\" is missing or not a positive integer";
    return false;
  }
  manifest.worldSize = static_cast<int>(worldSize);
  const JsonValue *files = root.member("files");
  if (!files || files->kind != JsonValue::Array) {
    error = "\"files\" is missing or not an array";
    return false;
  }
  manifest.files.clear();
  for (const JsonValue &file : files->items) {
    if (file.kind != JsonValue::String) {
      error = "\"files\" holds a non-string";
      return false;
    }
    manifest.files.push_back(file.text);
  }
  return true;
}

bool readCheckpointManifest(const std::string &stepDir,
                            CheckpointManifest &manifest, std::string &error) {
  const std::string path = stepDir + "/" + kCheckpointManifestFile;
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = "cannot read " + path + ": " + systemError();
    return false;
  }
  std::string text;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0 &&
         text.size() < (1u << 24))
    text.append(buffer, n);
  bool readError = std::ferror(f) != 0;
  std::fclose(f);
  if (readError) {
    error = "cannot read " + path;
    return false;
  }
  if (!parseCheckpointManifest(text, manifest, error)) {
    error = path + ": " + error;
    return false;
  }
  return true;
}

bool loadCheckpointRank(const std::string &stepDir, const CheckpointKey &key,
                        void *payload, std::string &error) {
  CheckpointManifest manifest;
  if (!readCheckpointManifest(stepDir, manifest, error))
    return false;
  const std::string path = stepDir + "/" + kCheckpointManifestFile;
  const std::string stateFile = checkpointStateFile(key.worldRank);
  if (manifest.plan != key.planFingerprint) {
    error = path + ": written by plan " + manifest.plan +
            ", this program has plan " + key.planFingerprint;
    return false;
  }
  if (manifest.step != key.step || manifest.worldSize != key.worldSize) {
    error = path + ": says step " + std::to_string(manifest.step) + " of a " +
            std::to_string(manifest.worldSize) + "-rank run, expected step " +
            std::to_string(key.step) + " of a " +
            std::to_string(key.worldSize) + "-rank run";
    return false;
  }
  if (static_cast<int>(manifest.files.size()) != key.worldSize ||
      manifest.files[key.worldRank] != stateFile) {
    error = path + ": \"files\" does not list " + stateFile + " for rank " +
            std::to_string(key.worldRank);
    return false;
  }
  return readCheckpointState(stepDir + "/" + stateFile, key, payload, error);
}

bool writeCheckpointState(const std::string &stepDir, const CheckpointKey &key,
                          const void *payload, std::string &error) {
  CheckpointHeader header = makeCheckpointHeader(key, payload);
  return writeFileDurably(stepDir,
                          stepDir + "/" + checkpointStateFile(key.worldRank),
                          {{&header, sizeof(header)},
                           {payload, static_cast<size_t>(key.payloadBytes)}},
                          error);
}

bool writeCheckpointManifest(const std::string &stepDir,
                             const CheckpointManifest &manifest,
                             std::string &error) {
  std::string text = checkpointManifestJson(manifest);
  return writeFileDurably(stepDir, stepDir + "/" + kCheckpointManifestFile,
                          {{text.data(), text.size()}}, error);
}

bool syncDirectory(const std::string &dir, std::string &error) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open directory " + dir + ": " + systemError();
    return false;
  }
  FdCloser closer{fd};
  // Some file systems cannot sync a directory (EINVAL); their renames are
  // as durable as they get.
  if (::fsync(fd) != 0 && errno != EINVAL) {
    error = "cannot sync directory " + dir + ": " + systemError();
    return false;
  }
  return true;
}

} // namespace ssrt
