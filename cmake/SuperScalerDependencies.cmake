# Finds every third-party dependency in one place (all from Debian 12).

# --- runtime ---------------------------------------------------------------
# The OpenMP build of OpenBLAS: the kernels' OpenMP threads and BLAS then
# share one thread pool. With the pthread build the two pools spin against
# each other and two threads run slower than one.
find_library(SS_BLAS_LIBRARY NAMES openblas
  PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp
  NO_DEFAULT_PATH)
find_path(SS_CBLAS_INCLUDE_DIR cblas.h
  PATHS /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp
  NO_DEFAULT_PATH)
if(NOT SS_BLAS_LIBRARY OR NOT SS_CBLAS_INCLUDE_DIR)
  message(FATAL_ERROR "OpenBLAS (OpenMP build) not found: install "
                      "libopenblas-openmp-dev")
endif()
set(BLAS_LIBRARIES ${SS_BLAS_LIBRARY})
get_filename_component(SS_BLAS_LIBRARY_DIR ${SS_BLAS_LIBRARY} DIRECTORY)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(Threads REQUIRED)
# Distributed rank programs talk over MPI (Debian: libopenmpi-dev); only its
# C API is used, also from C++.
find_package(MPI REQUIRED COMPONENTS C)

# --- compiler --------------------------------------------------------------
if(SS_BUILD_COMPILER)
  set(MLIR_DIR "/usr/lib/llvm-19/lib/cmake/mlir" CACHE PATH "MLIR CMake dir")
  find_package(MLIR REQUIRED CONFIG)
  message(STATUS "Using MLIR ${LLVM_PACKAGE_VERSION} from ${MLIR_DIR}")
  list(APPEND CMAKE_MODULE_PATH "${MLIR_CMAKE_DIR}" "${LLVM_CMAKE_DIR}")
  # Debian's tablegen outputs carry depfiles; the old policy keeps them from
  # re-running on every build.
  if(POLICY CMP0116)
    cmake_policy(SET CMP0116 OLD)
  endif()
  include(TableGen)
  include(AddLLVM)
  include(AddMLIR)

  # Protobuf must come before ONNX: ONNX's config refers to its targets.
  find_package(Protobuf REQUIRED)
  find_package(ONNX REQUIRED CONFIG)
  find_path(SS_CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)

  set(SS_LLVM_TOOLS_DIR "${LLVM_TOOLS_BINARY_DIR}")
endif()

# --- tests -----------------------------------------------------------------
if(SS_BUILD_TESTS)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  find_package(Catch2 2 REQUIRED CONFIG)
  # The reference stack (onnx, onnxruntime, numpy) lives in a venv made by
  # tools/bootstrap.sh; tests needing it use this interpreter.
  set(SS_PYTHON "${CMAKE_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH
      "Python with onnx, onnxruntime and numpy")
endif()
