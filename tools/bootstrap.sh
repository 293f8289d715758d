#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds SuperScaler, and runs either the
# example (compile a bundled model for 4 ranks, run them under mpirun, compare
# with onnxruntime) or the whole test suite.
#
#   tools/bootstrap.sh example   # README command 1
#   tools/bootstrap.sh test      # README command 2 (what CI runs)
#
# Idempotent: installs only what is missing and rebuilds incrementally.
set -euo pipefail

mode="${1:-}"
if [[ "$mode" != "example" && "$mode" != "test" ]]; then
  echo "usage: $0 example|test" >&2
  exit 2
fi

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SS_BUILD_DIR:-$repo/build}"
jobs="${SS_JOBS:-$(nproc)}"

# --- system packages (Debian 12) -------------------------------------------
packages=(
  g++ cmake ninja-build python3 python3-venv ca-certificates
  llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  libcli11-dev catch2 libopenmpi-dev openmpi-bin libopenblas-openmp-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$p")
done
if ((${#missing[@]})); then
  echo "== installing: ${missing[*]}"
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"
fi

# --- Python reference stack (tests only) -----------------------------------
venv="$repo/.venv"
if ! "$venv/bin/python" -c "import onnx, onnxruntime, numpy" 2>/dev/null; then
  echo "== creating $venv (onnx, onnxruntime, numpy)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r "$repo/test/requirements.txt"
fi

# --- build ------------------------------------------------------------------
echo "== building in $build"
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DSS_PYTHON="$venv/bin/python" >/dev/null
cmake --build "$build" -j "$jobs"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

if [[ "$mode" == "example" ]]; then
  work="$build/example"
  mkdir -p "$work"
  echo "== building the example models"
  "$venv/bin/python" "$repo/models/build_models.py" "$work/models"
  echo "== compiling gpt_decoder.onnx for 1 rank and for 4 ranks (dp=2,tp=2),"
  echo "   running the 4 ranks under mpirun, comparing with onnxruntime"
  "$venv/bin/python" "$repo/test/e2e/compare.py" --ssc "$build/tools/ssc/ssc" \
    --model "$work/models/gpt_decoder.onnx" --workdir "$work/gpt_decoder" \
    --plan dp=2,tp=2
  echo "== example OK: the 4-rank program matches onnxruntime and the 1-rank program"
else
  echo "== running the test suite"
  ctest --test-dir "$build" --output-on-failure -j "$jobs"
fi
