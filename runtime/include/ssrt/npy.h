// Reading and writing NumPy .npy files (format versions 1-3, little-endian,
// C order), the exchange format for rank program inputs and outputs.
#ifndef SSRT_NPY_H
#define SSRT_NPY_H

#include "ssrt/kernels.h"

#include <string>
#include <vector>

namespace ssrt {

/// A dense array as stored in a .npy file; `data` holds
/// product(shape) * dtypeSize(dtype) bytes in C order. An empty shape is a
/// 0-d array with one element.
struct NpyArray {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<char> data;

  int64_t numElements() const;
};

/// The .npy type descriptor of a dtype ("<f4", "|b1", ...).
const char *npyDescr(DType dtype);

/// Parses a whole .npy file image. On failure returns false and sets `error`
/// to a description (without the file name).
bool parseNpy(const char *bytes, size_t size, NpyArray &out,
              std::string &error);

/// Reads `path`. On failure returns false and sets `error`, naming the file.
bool readNpy(const std::string &path, NpyArray &out, std::string &error);

/// What a .npy header says: element type, shape, and where the data starts.
struct NpyHeader {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  size_t dataOffset = 0; // bytes from the start of the file
};

/// Reads only the header of `path`, and checks that the file holds exactly
/// the data the header promises (so a truncated file fails here, on every
/// reader, whichever part of it they want). Errors name the file.
bool readNpyHeader(const std::string &path, NpyHeader &out, std::string &error);

/// Reads the box of shape `boxShape` at `offsets` (header.shape.size()
/// entries each) of the array in `path`, whose header readNpyHeader gave,
/// into `out` as a dense C-order array. Only the box's bytes are read.
bool readNpyBox(const std::string &path, const NpyHeader &header,
                const int64_t *offsets, const int64_t *boxShape, void *out,
                std::string &error);

/// Builds a .npy (version 1.0, or 2.0 when the header needs it) file image.
std::vector<char> encodeNpy(DType dtype, const int64_t *shape, int rank,
                            const void *data);

/// Writes `path`. On failure returns false and sets `error`, naming the file.
bool writeNpy(const std::string &path, DType dtype, const int64_t *shape,
              int rank, const void *data, std::string &error);

} // namespace ssrt

#endif // SSRT_NPY_H
