// .npy reader and writer: a strict parser of the header's Python dict
// literal, so that truncated or malformed files give an error, never a crash.
#include "ssrt/npy.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

namespace ssrt {

namespace {

const char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

/// Cursor over the header text with the few Python literal forms .npy
/// headers use: strings, True/False, integer tuples.
class HeaderParser {
public:
  HeaderParser(const char *text, size_t size) : p(text), end(text + size) {}

  void skipSpace() {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
      ++p;
  }
  bool consume(char c) {
    skipSpace();
    if (p < end && *p == c) {
      ++p;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    skipSpace();
    return p < end && *p == c;
  }
  bool atEnd() {
    skipSpace();
    return p == end;
  }
  bool parseString(std::string &out) {
    skipSpace();
    if (p >= end || (*p != '\'' && *p != '"'))
      return false;
    char quote = *p++;
    const char *start = p;
    while (p < end && *p != quote)
      ++p;
    if (p >= end)
      return false;
    out.assign(start, p);
    ++p;
    return true;
  }
  bool parseBool(bool &out) {
    skipSpace();
    if (matchWord("True")) {
      out = true;
      return true;
    }
    if (matchWord("False")) {
      out = false;
      return true;
    }
    return false;
  }
  bool parseShape(std::vector<int64_t> &shape, std::string &error) {
    shape.clear();
    if (!consume('(')) {
      error = "shape is not a tuple";
      return false;
    }
    while (!consume(')')) {
      skipSpace();
      int64_t v = 0;
      const char *start = p;
      while (p < end && *p >= '0' && *p <= '9') {
        if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) {
          error = "shape dimension is too large";
          return false;
        }
        v = v * 10 + (*p - '0');
        ++p;
      }
      // Python 2 era writers may append 'L' to long integers.
      if (p < end && *p == 'L' && p > start)
        ++p;
      if (p == start) {
        error = "shape holds a value that is not a non-negative integer";
        return false;
      }
      shape.push_back(v);
      if (!consume(',') && !peek(')')) {
        error = "malformed shape tuple";
        return false;
      }
    }
    return true;
  }

private:
  bool matchWord(const char *word) {
    size_t n = std::strlen(word);
    if (static_cast<size_t>(end - p) >= n && std::memcmp(p, word, n) == 0) {
      p += n;
      return true;
    }
    return false;
  }

  const char *p;
  const char *end;
};

bool dtypeFromDescr(const std::string &descr, DType &out) {
  if (descr.size() != 3)
    return false;
  char order = descr[0];
  std::string code = descr.substr(1);
  bool oneByte = code == "b1" || code == "u1" || code == "i1";
  // Byte order is meaningless for one-byte types ('|'); multi-byte types
  // must be little-endian ('<', or '=' native on the little-endian hosts we
  // support).
  if (!(order == '<' || order == '=' || (oneByte && order == '|')))
    return false;
  if (code == "f4")
    out = DType::F32;
  else if (code == "i8")
    out = DType::I64;
  else if (code == "i4")
    out = DType::I32;
  else if (code == "b1")
    out = DType::Bool;
  else if (code == "u1")
    out = DType::U8;
  else if (code == "i1")
    out = DType::I8;
  else
    return false;
  return true;
}

uint32_t readLittleEndian(const unsigned char *p, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

} // namespace

int64_t NpyArray::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

const char *npyDescr(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "<f4";
  case DType::I64:
    return "<i8";
  case DType::I32:
    return "<i4";
  case DType::Bool:
    return "|b1";
  case DType::U8:
    return "|u1";
  case DType::I8:
    return "|i1";
  }
  return "";
}

namespace {

/// Checks the magic string and version at the start of a file image and
/// finds where the header dict starts and ends (the data follows).
bool headerExtent(const char *bytes, size_t size, size_t &headerStart,
                  size_t &headerEnd, std::string &error) {
  const unsigned char *u = reinterpret_cast<const unsigned char *>(bytes);
  if (size < kMagicSize + 2 || std::memcmp(bytes, kMagic, kMagicSize) != 0) {
    error = "not a .npy file (bad magic string)";
    return false;
  }
  const int major = u[6];
  size_t lengthBytes;
  if (major == 1)
    lengthBytes = 2;
  else if (major == 2 || major == 3)
    lengthBytes = 4;
  else {
    error = "unsupported .npy format version " + std::to_string(major) + "." +
            std::to_string(u[7]);
    return false;
  }
  headerStart = kMagicSize + 2 + lengthBytes;
  if (size < headerStart) {
    error = "truncated .npy header";
    return false;
  }
  headerEnd = headerStart + readLittleEndian(u + kMagicSize + 2,
                                             static_cast<int>(lengthBytes));
  return true;
}

/// Parses the header of a file image whose first `size` bytes are in
/// `bytes`; the data need not be there.
bool parseHeader(const char *bytes, size_t size, NpyHeader &out,
                 std::string &error) {
  size_t headerStart = 0, headerEnd = 0;
  if (!headerExtent(bytes, size, headerStart, headerEnd, error))
    return false;
  if (headerEnd > size) {
    error = "truncated .npy header";
    return false;
  }

  HeaderParser parser(bytes + headerStart, headerEnd - headerStart);
  std::string descr;
  bool fortranOrder = false;
  bool haveDescr = false, haveOrder = false, haveShape = false;
  std::vector<int64_t> shape;
  if (!parser.consume('{')) {
    error = "malformed .npy header (expected a dict)";
    return false;
  }
  while (!parser.consume('}')) {
    std::string key;
    if (!parser.parseString(key) || !parser.consume(':')) {
      error = "malformed .npy header";
      return false;
    }
    if (key == "descr") {
      if (!parser.parseString(descr)) {
        error = "malformed .npy header: descr is not a string";
        return false;
      }
      haveDescr = true;
    } else if (key == "fortran_order") {
      if (!parser.parseBool(fortranOrder)) {
        error = "malformed .npy header: fortran_order is not a bool";
        return false;
      }
      haveOrder = true;
    } else if (key == "shape") {
      std::string shapeError;
      if (!parser.parseShape(shape, shapeError)) {
        error = "malformed .npy header: " + shapeError;
        return false;
      }
      haveShape = true;
    } else {
      error = "malformed .npy header: unexpected key '" + key + "'";
      return false;
    }
    if (!parser.consume(',') && !parser.peek('}')) {
      error = "malformed .npy header";
      return false;
    }
  }
  if (!parser.atEnd()) {
    error = "malformed .npy header (text after the dict)";
    return false;
  }
  if (!haveDescr || !haveOrder || !haveShape) {
    error = "malformed .npy header: needs descr, fortran_order and shape";
    return false;
  }
  if (fortranOrder) {
    error = "Fortran-order arrays are not supported (save in C order)";
    return false;
  }
  if (!dtypeFromDescr(descr, out.dtype)) {
    error = "unsupported dtype '" + descr +
            "' (supported: <f4, <i8, <i4, |b1, |u1, |i1)";
    return false;
  }
  out.shape = std::move(shape);
  out.dataOffset = headerEnd;
  return true;
}

/// Checks that the `dataSize` bytes after the header are exactly the array.
bool checkDataSize(const NpyHeader &header, uint64_t dataSize,
                   std::string &error) {
  const size_t elemSize = dtypeSize(header.dtype);
  // Every dimension fits the file only if the product does; check as we go
  // so that absurd shapes cannot overflow.
  // A zero dimension empties the array whatever the others are.
  bool empty = false;
  for (int64_t d : header.shape)
    empty |= d == 0;
  uint64_t count = empty ? 0 : 1;
  for (int64_t d : header.shape) {
    if (empty)
      break;
    if (count > dataSize / static_cast<uint64_t>(d)) {
      count = std::numeric_limits<uint64_t>::max();
      break;
    }
    count *= static_cast<uint64_t>(d);
  }
  if (count == std::numeric_limits<uint64_t>::max() ||
      count * elemSize > dataSize) {
    error = "truncated .npy data (" + std::to_string(dataSize) +
            " bytes after the header)";
    return false;
  }
  if (count * elemSize != dataSize) {
    error = "unexpected " + std::to_string(dataSize - count * elemSize) +
            " trailing bytes after the .npy data";
    return false;
  }
  return true;
}

/// Opens `path` for reading if it is a regular file; sets `size`.
std::FILE *openRegularFile(const std::string &path, uint64_t &size,
                           std::string &error) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  if (!S_ISREG(info.st_mode)) {
    error = "cannot read " + path + ": not a regular file";
    return nullptr;
  }
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  size = static_cast<uint64_t>(info.st_size);
  return f;
}

std::string shapeText(const int64_t *shape, size_t rank) {
  std::string s = "[";
  for (size_t d = 0; d < rank; ++d)
    s += (d ? ", " : "") + std::to_string(shape[d]);
  return s + "]";
}

} // namespace

bool parseNpy(const char *bytes, size_t size, NpyArray &out,
              std::string &error) {
  NpyHeader header;
  if (!parseHeader(bytes, size, header, error) ||
      !checkDataSize(header, size - header.dataOffset, error))
    return false;
  out.dtype = header.dtype;
  out.shape = std::move(header.shape);
  out.data.assign(bytes + header.dataOffset, bytes + size);
  return true;
}

bool readNpyHeader(const std::string &path, NpyHeader &out,
                   std::string &error) {
  uint64_t fileSize = 0;
  std::FILE *f = openRegularFile(path, fileSize, error);
  if (!f)
    return false;
  // The fixed prefix gives the header's length; then read exactly the header.
  std::vector<char> bytes(
      static_cast<size_t>(std::min<uint64_t>(fileSize, kMagicSize + 2 + 4)));
  size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), f);
  std::string parseError;
  size_t headerStart = 0, headerEnd = 0;
  bool ok = got == bytes.size();
  if (ok &&
      headerExtent(bytes.data(), bytes.size(), headerStart, headerEnd,
                   parseError) &&
      headerEnd <= fileSize) {
    size_t prefix = bytes.size();
    bytes.resize(headerEnd);
    got = std::fread(bytes.data() + prefix, 1, headerEnd - prefix, f);
    ok = got == headerEnd - prefix;
  }
  std::fclose(f);
  if (!ok) {
    error = "cannot read " + path + ": short read";
    return false;
  }
  if (!parseHeader(bytes.data(), bytes.size(), out, parseError) ||
      !checkDataSize(out, fileSize - out.dataOffset, parseError)) {
    error = path + ": " + parseError;
    return false;
  }
  return true;
}

bool readNpyBox(const std::string &path, const NpyHeader &header,
                const int64_t *offsets, const int64_t *boxShape, void *out,
                std::string &error) {
  const size_t rank = header.shape.size();
  const int64_t *shape = header.shape.data();
  bool empty = false;
  for (size_t d = 0; d < rank; ++d) {
    if (offsets[d] < 0 || boxShape[d] < 0 ||
        offsets[d] > shape[d] - boxShape[d]) {
      error = path + ": box " + shapeText(boxShape, rank) + " at offsets " +
              shapeText(offsets, rank) + " is outside the array's shape " +
              shapeText(shape, rank);
      return false;
    }
    empty |= boxShape[d] == 0;
  }
  if (empty)
    return true;

  // The box is a set of equal runs of contiguous elements: dims after the
  // last one the box cuts are taken whole, so each run spans that dim's cut
  // times everything inside it.
  const int64_t elemSize = static_cast<int64_t>(dtypeSize(header.dtype));
  int cut = -1;
  for (size_t d = 0; d < rank; ++d)
    if (boxShape[d] != shape[d])
      cut = static_cast<int>(d);
  std::vector<int64_t> strides(rank);
  int64_t stride = 1;
  for (size_t d = rank; d-- > 0;) {
    strides[d] = stride;
    stride *= shape[d];
  }
  int64_t runElements = cut < 0 ? stride : boxShape[cut] * strides[cut];
  int64_t firstRun = 0;
  for (int d = 0; d <= cut; ++d)
    firstRun += offsets[d] * strides[d];

  uint64_t fileSize = 0;
  std::FILE *f = openRegularFile(path, fileSize, error);
  if (!f)
    return false;
  // Runs of a box cut in a late dim are short and close together: a large
  // stdio buffer turns most of their seeks into pointer moves.
  std::vector<char> buffer(1 << 20);
  std::setvbuf(f, buffer.data(), _IOFBF, buffer.size());
  std::vector<int64_t> index(cut > 0 ? cut : 0, 0);
  char *dst = static_cast<char *>(out);
  const size_t runBytes = static_cast<size_t>(runElements * elemSize);
  bool ok = true;
  while (ok) {
    int64_t run = firstRun;
    for (int d = 0; d < cut; ++d)
      run += index[d] * strides[d];
    off_t position = static_cast<off_t>(header.dataOffset) +
                     static_cast<off_t>(run) * elemSize;
    ok = fseeko(f, position, SEEK_SET) == 0 &&
         std::fread(dst, 1, runBytes, f) == runBytes;
    dst += runBytes;
    int d = cut - 1;
    for (; d >= 0; --d) {
      if (++index[d] < boxShape[d])
        break;
      index[d] = 0;
    }
    if (d < 0)
      break;
  }
  std::fclose(f);
  if (!ok) {
    error = "cannot read " + path + ": short read";
    return false;
  }
  return true;
}

bool readNpy(const std::string &path, NpyArray &out, std::string &error) {
  uint64_t fileSize = 0;
  std::FILE *f = openRegularFile(path, fileSize, error);
  if (!f)
    return false;
  std::vector<char> bytes(static_cast<size_t>(fileSize));
  size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  if (got != bytes.size()) {
    error = "cannot read " + path + ": short read";
    return false;
  }
  std::string parseError;
  if (!parseNpy(bytes.data(), bytes.size(), out, parseError)) {
    error = path + ": " + parseError;
    return false;
  }
  return true;
}

std::vector<char> encodeNpy(DType dtype, const int64_t *shape, int rank,
                            const void *data) {
  std::string header = "{'descr': '";
  header += npyDescr(dtype);
  header += "', 'fortran_order': False, 'shape': (";
  int64_t count = 1;
  for (int d = 0; d < rank; ++d) {
    header += std::to_string(shape[d]);
    if (d + 1 < rank || rank == 1)
      header += rank == 1 ? "," : ", ";
    count *= shape[d];
  }
  header += "), }";
  // numpy pads the header with spaces and a final newline so that the data
  // starts on a 64-byte boundary.
  size_t lengthBytes = 2;
  int major = 1;
  if (header.size() + 1 + kMagicSize + 4 > 65535) {
    lengthBytes = 4;
    major = 2;
  }
  size_t prefix = kMagicSize + 2 + lengthBytes;
  size_t total = prefix + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';

  const size_t dataBytes = static_cast<size_t>(count) * dtypeSize(dtype);
  std::vector<char> file;
  file.reserve(prefix + header.size() + dataBytes);
  file.insert(file.end(), kMagic, kMagic + kMagicSize);
  file.push_back(static_cast<char>(major));
  file.push_back(0);
  for (size_t i = 0; i < lengthBytes; ++i)
    file.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
  file.insert(file.end(), header.begin(), header.end());
  const char *d = static_cast<const char *>(data);
  if (dataBytes > 0)
    file.insert(file.end(), d, d + dataBytes);
  return file;
}

bool writeNpy(const std::string &path, DType dtype, const int64_t *shape,
              int rank, const void *data, std::string &error) {
  if (dtypeSize(dtype) == 0) {
    error = "cannot write " + path + ": unsupported dtype";
    return false;
  }
  for (int d = 0; d < rank; ++d)
    if (shape[d] < 0) {
      error = "cannot write " + path + ": negative dimension";
      return false;
    }
  std::vector<char> file = encodeNpy(dtype, shape, rank, data);
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) {
    error = "cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  size_t written = std::fwrite(file.data(), 1, file.size(), f);
  bool closed = std::fclose(f) == 0;
  if (written != file.size() || !closed) {
    error = "cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

} // namespace ssrt
