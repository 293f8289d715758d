#!/usr/bin/env python3
"""ONNX backend conformance runner for ssc.

For every test directory (model.onnx + test_data_set_*/input_N.pb,
output_N.pb) of the selected suites:

  1. compile:  inputs are converted to .npy and `ssc compile model.onnx -o OUT
     --input-shape NAME=DIMS ...` runs (--jobs in parallel, timeout each).
     Exit 2 -> UNSUPPORTED, other non-zero -> FAIL (compile error),
     signal or timeout -> CRASH. When ssc reports that a shape operand is a
     model input (it compiles static shapes), the input is bound with
     `--freeze-input` to the test's value and the compile is retried; this
     is done only when every data set holds the same value;
  2. build:    every compiled rank0.cpp is built in ONE ninja (or make) run
     with the given compiler, runtime include dir, runtime library and link
     libraries; a failed build fails only its test;
  3. run:      each binary runs on each data set (timeout each) and every
     output is compared with the expected one (floats: rtol 1e-3, atol 1e-5,
     NaN positions equal; ints/bools exact; shapes and dtypes exact).

Writes one `PASS|UNSUPPORTED|FAIL|CRASH suite/name [reason]` line per test
to the log, prints a per-suite summary and the line `N passed, M failed`
(failed = FAIL + CRASH + expected passes that did not pass). Exits 1 if any
test fails or crashes or an expected pass (listed in --expected) regressed.
"""

import argparse
import concurrent.futures
import glob
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

DEFAULT_DATA_ROOT = "/usr/share/libonnx-testdata/data"
DEFAULT_SUITES = "node,pytorch-converted,pytorch-operator"
STATUSES = ("PASS", "UNSUPPORTED", "FAIL", "CRASH")
# Element types numpy cannot hold natively: the harness cannot feed or check
# them, so such tests are UNSUPPORTED without asking the compiler.
HARNESS_UNSUPPORTED_TYPES = {
    TensorProto.STRING, TensorProto.BFLOAT16, TensorProto.COMPLEX64,
    TensorProto.COMPLEX128,
}
for _name in ("FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ",
              "UINT4", "INT4", "FLOAT4E2M1", "FLOAT8E8M0", "UINT2", "INT2"):
    if hasattr(TensorProto, _name):
        HARNESS_UNSUPPORTED_TYPES.add(getattr(TensorProto, _name))
EXPECTED_HEADER = (
    "# ONNX backend tests expected to PASS with ssc, one suite/name per line.\n"
    "# Regenerate with run_conformance.py --update-expected.\n")


class Test:
    """One conformance test and everything the runner learns about it."""

    def __init__(self, suite, name, path, workdir):
        self.suite = suite
        self.name = name
        self.path = path
        self.work = os.path.join(workdir, suite, name)
        self.out = os.path.join(self.work, "out")
        self.binary = os.path.join(self.work, "rank0")
        self.status = None
        self.reason = ""
        self.input_names = []
        self.output_names = []
        self.data_sets = []  # [(set dir name, [input .npy paths])]
        self.frozen = []  # inputs bound at compile time (--freeze-input)

    @property
    def key(self):
        return f"{self.suite}/{self.name}"

    def finish(self, status, reason=""):
        """Record the final classification (first one wins)."""
        if self.status is None:
            self.status = status
            self.reason = reason


# ---------------------------------------------------------------------------
# discovery and preparation


def numbered(paths, prefix):
    """Sort input_N.pb / output_N.pb (or test_data_set_N) numerically."""
    def index(path):
        match = re.search(prefix + r"(\d+)", os.path.basename(path))
        return int(match.group(1)) if match else 0
    return sorted(paths, key=index)


def discover(data_root, suites, name_filter, workdir):
    """All test directories with a model.onnx, filtered by regex on suite/name."""
    tests = []
    pattern = re.compile(name_filter) if name_filter else None
    for suite in suites:
        suite_dir = os.path.join(data_root, suite)
        if not os.path.isdir(suite_dir):
            sys.exit(f"error: no suite directory {suite_dir}")
        for name in sorted(os.listdir(suite_dir)):
            path = os.path.join(suite_dir, name)
            if not os.path.isfile(os.path.join(path, "model.onnx")):
                continue
            if pattern and not pattern.search(f"{suite}/{name}"):
                continue
            tests.append(Test(suite, name, path, workdir))
    return tests


def type_problem(value_info):
    """Why the harness cannot handle this graph input/output, or None."""
    kind = value_info.type.WhichOneof("value")
    if kind != "tensor_type":
        return f"{value_info.name}: {kind or 'untyped'} value"
    elem = value_info.type.tensor_type.elem_type
    if elem in HARNESS_UNSUPPORTED_TYPES:
        return f"{value_info.name}: {TensorProto.DataType.Name(elem)} tensor"
    return None


def load_tensor(path):
    """A TensorProto .pb file as a numpy array."""
    tensor = TensorProto()
    with open(path, "rb") as handle:
        tensor.ParseFromString(handle.read())
    return numpy_helper.to_array(tensor)


def shape_arg(name, shape):
    """--input-shape value: NAME=D0,D1,... (empty dim list for a scalar)."""
    return f"{name}={','.join(str(d) for d in shape)}"


def prepare(test):
    """Read the model and data sets, write input .npy files. Returns the
    `--input-shape` arguments, or None when the test was classified."""
    model = onnx.load(os.path.join(test.path, "model.onnx"),
                      load_external_data=False)
    inits = {init.name for init in model.graph.initializer}
    inputs = [vi for vi in model.graph.input if vi.name not in inits]
    for vi in list(inputs) + list(model.graph.output):
        problem = type_problem(vi)
        if problem:
            test.finish("UNSUPPORTED", "harness: " + problem)
            return None
    test.input_names = [vi.name for vi in inputs]
    test.output_names = [vi.name for vi in model.graph.output]
    set_dirs = numbered(glob.glob(os.path.join(test.path, "test_data_set_*")),
                        "test_data_set_")
    if not set_dirs:
        test.finish("UNSUPPORTED", "harness: no test_data_set")
        return None
    shapes = None
    for set_dir in set_dirs:
        files = numbered(glob.glob(os.path.join(set_dir, "input_*.pb")), "input_")
        if len(files) != len(inputs):
            test.finish("UNSUPPORTED", f"harness: {len(files)} input files for "
                                       f"{len(inputs)} graph inputs")
            return None
        npy_dir = os.path.join(test.work, "inputs", os.path.basename(set_dir))
        os.makedirs(npy_dir, exist_ok=True)
        paths, set_shapes = [], []
        for index, pb_file in enumerate(files):
            array = load_tensor(pb_file)
            paths.append(os.path.join(npy_dir, f"input_{index}.npy"))
            np.save(paths[-1], array, allow_pickle=False)
            set_shapes.append(array.shape)
        if shapes is not None and set_shapes != shapes:
            test.finish("UNSUPPORTED", "harness: data sets differ in input shapes")
            return None
        shapes = set_shapes
        test.data_sets.append((os.path.basename(set_dir), paths))
    args = []
    for name, shape in zip(test.input_names, shapes):
        args += ["--input-shape", shape_arg(name, shape)]
    return args


# ---------------------------------------------------------------------------
# phase 1: compile


def first_error_line(text):
    """The first `error:` line of a diagnostic, else its first non-empty line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if "error:" in line:
            return line[:300]
    return lines[0][:300] if lines else ""


def signal_name(returncode):
    """'SIGSEGV' for a process killed by signal 11 (returncode -11)."""
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def same_across_data_sets(test, name):
    """Whether input `name` holds the same value in every data set."""
    index = test.input_names.index(name)
    first = np.load(test.data_sets[0][1][index], allow_pickle=False)
    return all(np.array_equal(first, np.load(paths[index], allow_pickle=False))
               for _, paths in test.data_sets[1:])


def compile_test(test, ssc, timeout):
    """Prepare and `ssc compile` one test; classifies it unless it compiled."""
    try:
        shape_args = prepare(test)
    except Exception as err:  # malformed test data: report, keep going
        test.finish("FAIL", f"harness: cannot read test data: {err}")
        return test
    if shape_args is None:
        return test
    # ssc compiles static shapes: when a shape operand (Reshape's shape,
    # Slice's starts, ...) is a model input, it asks for the input to be
    # frozen. The test is then compiled for the data set's value of that
    # input, which is valid only if every data set uses the same value.
    while True:
        shutil.rmtree(test.out, ignore_errors=True)
        cmd = [ssc, "compile", os.path.join(test.path, "model.onnx"), "-o", test.out]
        for name in test.frozen:
            index = test.input_names.index(name)
            cmd += ["--freeze-input", f"{name}={test.data_sets[0][1][index]}"]
        try:
            proc = subprocess.run(cmd + shape_args, capture_output=True, text=True,
                                  errors="replace", timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            test.finish("CRASH", f"compile timeout ({timeout} s)")
            return test
        hint = re.search(r"--freeze-input (\S+)=FILE\.npy", proc.stderr)
        if (proc.returncode != 2 or not hint or hint.group(1) in test.frozen
                or hint.group(1) not in test.input_names
                or not same_across_data_sets(test, hint.group(1))):
            break
        test.frozen.append(hint.group(1))
    with open(os.path.join(test.work, "compile.log"), "w", encoding="utf-8") as log:
        log.write(" ".join(shlex.quote(c) for c in cmd + shape_args) + "\n")
        log.write(proc.stdout + proc.stderr)
    if proc.returncode == 2:
        test.finish("UNSUPPORTED", first_error_line(proc.stderr))
    elif proc.returncode < 0:
        test.finish("CRASH", f"compile {signal_name(proc.returncode)}")
    elif proc.returncode != 0:
        test.finish("FAIL", "compile error: " + first_error_line(proc.stderr))
    elif not os.path.isfile(os.path.join(test.out, "rank0.cpp")):
        test.finish("FAIL", "compile error: no rank0.cpp written")
    return test


# ---------------------------------------------------------------------------
# phase 2: build


def split_link_libs(text):
    """A CMake ;-list or a space-separated string -> list of arguments."""
    return [item for chunk in text.split(";") for item in shlex.split(chunk)]


def ninja_escape(path):
    """Escape a path for a ninja build line."""
    return path.replace("$", "$$").replace(" ", "$ ").replace(":", "$:")


def compile_command(args, source, output):
    """The shell command that builds one rank program, its output going to
    OUTPUT.log so a failure can be reported per test."""
    parts = ([args.cxx] + shlex.split(args.cxx_flags)
             + [f"-I{args.runtime_include}", source, args.runtime_lib]
             + split_link_libs(args.link_libs) + ["-fopenmp", "-o", output])
    return (" ".join(shlex.quote(p) for p in parts)
            + f" > {shlex.quote(output + '.log')} 2>&1")


def write_ninja(path, tests, args):
    """One build statement per test, each with its full command."""
    lines = ["# Generated by run_conformance.py", "ninja_required_version = 1.3",
             "rule cxx", "  command = $cmd", "  description = CXX $out", ""]
    for test in tests:
        rel_bin = os.path.relpath(test.binary, os.path.dirname(path))
        rel_src = os.path.relpath(os.path.join(test.out, "rank0.cpp"),
                                  os.path.dirname(path))
        cmd = compile_command(args, os.path.abspath(os.path.join(test.out, "rank0.cpp")),
                              os.path.abspath(test.binary))
        lines.append(f"build {ninja_escape(rel_bin)}: cxx {ninja_escape(rel_src)}")
        lines.append("  cmd = " + cmd.replace("$", "$$"))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def write_makefile(path, tests, args):
    """Makefile fallback when ninja is not installed."""
    targets = [os.path.abspath(t.binary) for t in tests]
    lines = ["# Generated by run_conformance.py", ".PHONY: all",
             "all: " + " ".join(targets), ""]
    for test, target in zip(tests, targets):
        source = os.path.abspath(os.path.join(test.out, "rank0.cpp"))
        lines.append(f"{target}: {source}")
        lines.append("\t" + compile_command(args, source, target).replace("$", "$$"))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def build_all(tests, args, workdir):
    """Build every compiled test in one ninja/make run; classify failures."""
    if not tests:
        return
    for test in tests:  # never run a stale binary from an earlier run
        if os.path.exists(test.binary):
            os.remove(test.binary)
    ninja = shutil.which("ninja")
    if ninja:
        build_file = os.path.join(workdir, "build.ninja")
        write_ninja(build_file, tests, args)
        cmd = [ninja, "-C", workdir, "-f", "build.ninja", "-k", "0",
               "-j", str(args.jobs)]
    else:
        build_file = os.path.join(workdir, "Makefile.conformance")
        write_makefile(build_file, tests, args)
        cmd = ["make", "-k", "-j", str(args.jobs), "-f", build_file, "all"]
    with open(os.path.join(workdir, "build.log"), "w", encoding="utf-8") as log:
        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
    for test in tests:
        if not os.path.isfile(test.binary):
            reason = ""
            log_path = test.binary + ".log"
            if os.path.exists(log_path):
                with open(log_path, encoding="utf-8", errors="replace") as handle:
                    reason = first_error_line(handle.read())
            test.finish("FAIL", "build: " + (reason or "no binary produced"))


# ---------------------------------------------------------------------------
# phase 3: run and compare


def output_files(test):
    """{output name: .npy file name}: manifest.json, else sanitized names."""
    files = {name: re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".npy"
             for name in test.output_names}
    try:
        with open(os.path.join(test.out, "manifest.json"), encoding="utf-8") as handle:
            for entry in json.load(handle).get("outputs", []):
                if entry.get("name") in files and entry.get("file"):
                    files[entry["name"]] = entry["file"]
    except (OSError, ValueError):
        pass
    return files


def compare_arrays(out, exp, rtol, atol):
    """None when `out` matches `exp`, else a short reason."""
    if out.shape != exp.shape:
        return f"shape {list(out.shape)} != expected {list(exp.shape)}"
    if out.dtype != exp.dtype:
        return f"dtype {out.dtype} != expected {exp.dtype}"
    if out.size == 0:
        return None
    if not np.issubdtype(exp.dtype, np.inexact):
        bad = out != exp
        if bad.any():
            return f"{int(bad.sum())}/{out.size} elements differ"
        return None
    out64, exp64 = out.astype(np.float64), exp.astype(np.float64)
    nan_out, nan_exp = np.isnan(out64), np.isnan(exp64)
    if (nan_out != nan_exp).any():
        return "NaN positions differ"
    finite = np.isfinite(exp64) & ~nan_exp
    inf_bad = ~finite & ~nan_exp & (out64 != exp64)
    if inf_bad.any():
        return "infinities differ"
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(out64 - exp64)
    bad = finite & ~(diff <= atol + rtol * np.abs(exp64))
    if bad.any():
        worst = np.unravel_index(np.argmax(np.where(bad, diff, -1)), diff.shape)
        return (f"{int(bad.sum())}/{out.size} elements differ, max abs diff "
                f"{diff[worst]:.3g} at {[int(i) for i in worst]}")
    return None


def run_data_set(test, set_name, input_paths, args):
    """Run the binary on one data set and compare; True if it passed."""
    result_dir = os.path.join(test.work, "results", set_name)
    shutil.rmtree(result_dir, ignore_errors=True)
    os.makedirs(result_dir)
    cmd = [test.binary, "--weights", os.path.join(test.out, "rank0.weights")]
    for name, path in zip(test.input_names, input_paths):
        if name not in test.frozen:
            cmd += ["--input", f"{name}={path}"]
    cmd += ["--output-dir", result_dir]
    if args.program_threads > 0:
        cmd += ["--threads", str(args.program_threads)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                              timeout=args.timeout, check=False, env=child_env(args))
    except subprocess.TimeoutExpired:
        test.finish("CRASH", f"{set_name}: run timeout ({args.timeout} s)")
        return False
    if proc.returncode < 0:
        test.finish("CRASH", f"{set_name}: run {signal_name(proc.returncode)}")
        return False
    if proc.returncode != 0:
        test.finish("FAIL", f"{set_name}: run exit {proc.returncode}: "
                            + first_error_line(proc.stderr + proc.stdout))
        return False
    return compare_data_set(test, set_name, result_dir, args)


def compare_data_set(test, set_name, result_dir, args):
    """Compare every output file of one data set; True if all match."""
    files = output_files(test)
    set_dir = os.path.join(test.path, set_name)
    expected = numbered(glob.glob(os.path.join(set_dir, "output_*.pb")), "output_")
    if len(expected) != len(test.output_names):
        test.finish("FAIL", f"{set_name}: {len(expected)} expected outputs for "
                            f"{len(test.output_names)} graph outputs")
        return False
    for name, pb_file in zip(test.output_names, expected):
        path = os.path.join(result_dir, files[name])
        if not os.path.isfile(path):
            test.finish("FAIL", f"{set_name}: output {name}: no file {files[name]}")
            return False
        problem = compare_arrays(np.load(path, allow_pickle=False),
                                 load_tensor(pb_file), args.rtol, args.atol)
        if problem:
            test.finish("FAIL", f"{set_name}: output {name}: {problem}")
            return False
    return True


def child_env(args):
    """Environment for the rank programs: no thread oversubscription."""
    env = dict(os.environ)
    threads = str(max(args.program_threads, 1))
    env.setdefault("OMP_NUM_THREADS", threads)
    env.setdefault("OPENBLAS_NUM_THREADS", threads)
    return env


def run_test(test, args):
    """Run all data sets of one built test and classify it."""
    try:
        for set_name, paths in test.data_sets:
            if not run_data_set(test, set_name, paths, args):
                return test
    except Exception as err:  # unreadable outputs and the like
        test.finish("FAIL", f"harness: {type(err).__name__}: {err}")
        return test
    test.finish("PASS", f"frozen inputs: {', '.join(test.frozen)}" if test.frozen else "")
    return test


# ---------------------------------------------------------------------------
# expectations and reporting


def read_expected(path):
    """Set of suite/name listed in the expectations file."""
    if not os.path.exists(path):
        return set()
    with open(path, encoding="utf-8") as handle:
        return {line.split("#", 1)[0].strip() for line in handle
                if line.split("#", 1)[0].strip()}


def expected_header(path):
    """The leading comment block of the expectations file, kept on update."""
    if not os.path.exists(path):
        return EXPECTED_HEADER
    header = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                break
            header.append(line)
    return "".join(header) or EXPECTED_HEADER


def update_expected(path, tests, expected, selected):
    """Rewrite the expectations with the current passes; entries outside the
    selection (other suites, --filter) are kept as they were."""
    ran = {t.key for t in tests}
    keep = {key for key in expected if key not in ran and not selected(key)}
    passes = {t.key for t in tests if t.status == "PASS"}
    header = expected_header(path)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(header)
        for key in sorted(keep | passes):
            handle.write(key + "\n")
    print(f"updated {path}: {len(keep | passes)} expected passes")


def summary_lines(tests, suites):
    """Per-suite table of status counts."""
    rows = [f"{'suite':<20} {'total':>6} " + " ".join(f"{s.lower():>11}" for s in STATUSES)]
    for suite in suites + ["total"]:
        group = [t for t in tests if suite in ("total", t.suite)]
        counts = [sum(t.status == s for t in group) for s in STATUSES]
        rows.append(f"{suite:<20} {len(group):>6} "
                    + " ".join(f"{c:>11}" for c in counts))
    return rows


def report(tests, expected, selected, suites, log_path):
    """Write the log, print the summary; return the number of failures."""
    by_key = {t.key: t for t in tests}
    regressions = []
    for key in sorted(expected):
        test = by_key.get(key)
        if test is None and selected(key):
            regressions.append(f"REGRESSION {key} (expected pass, test not found)")
        elif test is not None and test.status != "PASS":
            regressions.append(f"REGRESSION {key} (expected pass, now {test.status}"
                               + (f": {test.reason})" if test.reason else ")"))
    lines = [f"{t.status} {t.key}" + (f" [{t.reason}]" if t.reason else "")
             for t in tests]
    new_passes = sorted(t.key for t in tests if t.status == "PASS" and t.key not in expected)
    failed_keys = {t.key for t in tests if t.status in ("FAIL", "CRASH")}
    failed_keys |= {r.split()[1] for r in regressions}
    passed = sum(t.status == "PASS" for t in tests)
    table = summary_lines(tests, suites)
    tail = [f"new passes (not in expectations): {len(new_passes)}"]
    tail += ["  " + key for key in new_passes]
    final = f"{passed} passed, {len(failed_keys)} failed"
    with open(log_path, "w", encoding="utf-8") as log:
        log.write("\n".join(lines + [""] + regressions + [""] + table + [""]
                            + tail + [final]) + "\n")
    for line in lines:
        if line.startswith(("FAIL", "CRASH")):
            print(line)
    for line in regressions + [""] + table:
        print(line)
    print(tail[0] + (" (listed in the log)" if new_passes else ""))
    print(f"log: {log_path}")
    print(final)
    return len(failed_keys)


# ---------------------------------------------------------------------------
# driver


def parallel(function, items, jobs, label):
    """Map `function` over `items` with a thread pool, showing progress."""
    done = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for _ in pool.map(function, items):
            done += 1
            if done % 100 == 0 or done == len(items):
                print(f"  {label}: {done}/{len(items)}", flush=True)


# Options whose value may itself start with '-' (e.g. "-lopenblas"), which
# argparse would otherwise take for an option: "--opt VALUE" is rewritten
# to "--opt=VALUE" before parsing.
DASH_VALUE_OPTIONS = ("--link-libs", "--cxx-flags")


def join_dash_values(argv):
    """Rewrite `--link-libs -lfoo` as `--link-libs=-lfoo`."""
    joined, index = [], 0
    while index < len(argv):
        if argv[index] in DASH_VALUE_OPTIONS and index + 1 < len(argv):
            joined.append(f"{argv[index]}={argv[index + 1]}")
            index += 2
        else:
            joined.append(argv[index])
            index += 1
    return joined


def parse_args(argv):
    """Command-line interface."""
    parser = argparse.ArgumentParser(
        description="Run the ONNX backend node/pytorch tests through ssc: "
                    "compile each model, build all rank programs in one "
                    "ninja run, run them and compare with the expected "
                    "outputs.")
    parser.add_argument("--ssc", required=True, help="path to the ssc executable")
    parser.add_argument("--cxx", required=True, help="C++ compiler for rank programs")
    parser.add_argument("--runtime-include", required=True,
                        help="runtime include directory (holds ssrt/ssrt.h)")
    parser.add_argument("--runtime-lib", required=True, help="path to libssrt.a")
    parser.add_argument("--link-libs", default="",
                        help="extra link libraries (BLAS...): a ;-separated "
                             "CMake list or a space-separated string; a value "
                             "starting with '-' is taken as the value")
    parser.add_argument("--cxx-flags", default="-O2 -std=c++17",
                        help="compile flags for rank programs, before -I "
                             "(default: %(default)s)")
    parser.add_argument("--workdir", required=True,
                        help="scratch directory (per-test outputs, build.ninja, log)")
    parser.add_argument("--expected", required=True,
                        help="file listing suite/name tests expected to pass")
    parser.add_argument("--data-root", default=DEFAULT_DATA_ROOT,
                        help="ONNX backend test data root (default: %(default)s)")
    parser.add_argument("--suites", default=DEFAULT_SUITES,
                        help="comma-separated suites under the data root "
                             "(default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="parallel compiles, builds and runs (default 2)")
    parser.add_argument("--timeout", type=int, default=60,
                        help="seconds per ssc compile and per program run "
                             "(default 60)")
    parser.add_argument("--program-threads", type=int, default=1,
                        help="pass --threads N to each rank program; 0 passes "
                             "nothing (default 1)")
    parser.add_argument("--rtol", type=float, default=1e-3,
                        help="relative tolerance for float outputs (default 1e-3)")
    parser.add_argument("--atol", type=float, default=1e-5,
                        help="absolute tolerance for float outputs (default 1e-5)")
    parser.add_argument("--filter", default=None, metavar="REGEX",
                        help="only run tests whose suite/name matches REGEX (search)")
    parser.add_argument("--log", default=None,
                        help="log file (default: WORKDIR/conformance.log)")
    parser.add_argument("--update-expected", action="store_true",
                        help="rewrite --expected with the tests that pass now")
    argv = sys.argv[1:] if argv is None else argv
    return parser.parse_args(join_dash_values(argv))


def main(argv=None):
    args = parse_args(argv)
    args.jobs = max(1, args.jobs)
    # The build runs from the workdir: make the given paths absolute.
    args.runtime_include = os.path.abspath(args.runtime_include)
    args.runtime_lib = os.path.abspath(args.runtime_lib)
    if os.sep in args.cxx:
        args.cxx = os.path.abspath(args.cxx)
    suites = [s for s in args.suites.split(",") if s]
    workdir = os.path.abspath(args.workdir)
    os.makedirs(workdir, exist_ok=True)
    ssc = shutil.which(args.ssc)
    if not ssc:
        sys.exit(f"error: ssc not found or not executable: {args.ssc}")
    ssc = os.path.abspath(ssc)
    pattern = re.compile(args.filter) if args.filter else None

    def selected(key):
        return key.split("/", 1)[0] in suites and (not pattern or bool(pattern.search(key)))

    tests = discover(args.data_root, suites, args.filter, workdir)
    expected = read_expected(args.expected)
    print(f"{len(tests)} tests in {', '.join(suites)}", flush=True)

    start = time.monotonic()
    parallel(lambda t: compile_test(t, ssc, args.timeout), tests, args.jobs, "compile")
    compiled = [t for t in tests if t.status is None]
    print(f"compiled {len(compiled)} in {time.monotonic() - start:.0f} s", flush=True)

    start = time.monotonic()
    build_all(compiled, args, workdir)
    built = [t for t in compiled if t.status is None]
    print(f"built {len(built)} in {time.monotonic() - start:.0f} s", flush=True)

    start = time.monotonic()
    parallel(lambda t: run_test(t, args), built, args.jobs, "run")
    print(f"ran {len(built)} in {time.monotonic() - start:.0f} s", flush=True)

    failures = report(tests, expected, selected, suites,
                      args.log or os.path.join(workdir, "conformance.log"))
    if args.update_expected:
        update_expected(args.expected, tests, expected, selected)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
