#!/usr/bin/env python3
"""End-to-end check of one model: ssc-compiled program versus onnxruntime.

Steps:
  1. make seeded random inputs from the model's input types (token ids that
     feed a Gather stay inside the embedding table; other integers are small
     and non-negative; floats are standard normal) and save them as .npy;
  2. run onnxruntime (one thread) for the reference outputs;
  3. `ssc compile MODEL -o WORKDIR/out [--input-shape ...]` and
     `ssc run WORKDIR/out --input NAME=FILE ... --output-dir WORKDIR/outputs`;
  4. compare each output by relative L2 error ||out - ref|| / ||ref||;
  5. for each --plan: compile for that plan, run the ranks under mpirun
     (`ssc run`), and compare each output with onnxruntime and with the
     single-rank program's output.

Prints one line per output:
  output <name>: rel_l2 <value> (tolerance <t>) OK|MISMATCH
and exits 0 only if every output matches in shape and within tolerance.
Any ssc failure prints its stderr and exits 1.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

COMPILE_TIMEOUT_S = 600
RUN_TIMEOUT_S = 1200
# Ops through which an index tensor keeps its values (only its shape or type
# changes), followed when looking for the Gather an integer input feeds.
VALUE_PRESERVING_OPS = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Cast",
                        "Identity", "Transpose", "Expand"}


def sanitize(name):
    """Output file stem used by ssc: chars outside [A-Za-z0-9._-] -> '_'."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def parse_shape_arg(text):
    """'NAME=D0,D1,...' -> (name, [ints]); 'NAME=' is a scalar."""
    name, sep, dims = text.rpartition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=D0,D1,..., got {text!r}")
    try:
        shape = [int(d) for d in dims.split(",") if d.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"bad dims in {text!r}") from err
    return name, shape


def graph_inputs(model):
    """Real graph inputs (initializers excluded), in declaration order."""
    inits = {init.name for init in model.graph.initializer}
    return [vi for vi in model.graph.input if vi.name not in inits]


def resolve_shape(value_info, pinned):
    """Concrete shape for an input: pinned by --input-shape, else the model's
    static dims with dynamic dims defaulting to 1. Returns (shape, defaulted)."""
    if value_info.name in pinned:
        return list(pinned[value_info.name]), False
    dims, defaulted = [], False
    for dim in value_info.type.tensor_type.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(dim.dim_value)
        else:
            dims.append(1)
            defaulted = True
    return dims, defaulted


def consumers(model, name):
    """(node, input index) pairs that read tensor `name`."""
    for node in model.graph.node:
        for index, inp in enumerate(node.input):
            if inp == name:
                yield node, index


def gather_table_size(model, name, seen=None):
    """If `name` (maybe via value-preserving ops) is the indices of a Gather
    whose data is an initializer, return that table's size along the Gather
    axis; else None. The smallest bound wins when there are several."""
    seen = seen if seen is not None else set()
    if name in seen:
        return None
    seen.add(name)
    inits = {init.name: init for init in model.graph.initializer}
    bounds = []
    for node, index in consumers(model, name):
        if node.op_type == "Gather" and index == 1 and node.input[0] in inits:
            axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
            dims = list(inits[node.input[0]].dims)
            bounds.append(dims[axis % len(dims)])
        elif node.op_type in VALUE_PRESERVING_OPS and index == 0:
            for out in node.output:
                bound = gather_table_size(model, out, seen)
                if bound is not None:
                    bounds.append(bound)
    return min(bounds) if bounds else None


def make_input(model, value_info, shape, rng):
    """Seeded random array for one input according to its element type."""
    elem = value_info.type.tensor_type.elem_type
    dtype = helper.tensor_dtype_to_np_dtype(elem)
    if np.issubdtype(dtype, np.floating):
        return rng.standard_normal(shape).astype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    if np.issubdtype(dtype, np.integer):
        high = gather_table_size(model, value_info.name) or 10
        return rng.integers(0, high, shape).astype(dtype)
    raise SystemExit(f"error: input {value_info.name}: unsupported element "
                     f"type {helper.tensor_dtype_to_string(elem)}")


def make_inputs(model, pinned, seed, input_dir):
    """Create and save the inputs. Returns {name: array}, {name: path} and
    the names whose shape must be passed to ssc (pinned or dynamic)."""
    os.makedirs(input_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays, paths, to_pin = {}, {}, []
    for vi in graph_inputs(model):
        if not vi.type.HasField("tensor_type"):
            raise SystemExit(f"error: input {vi.name} is not a tensor")
        shape, defaulted = resolve_shape(vi, pinned)
        if defaulted:
            print(f"note: input {vi.name} has dynamic dims; using {shape} "
                  f"(pin with --input-shape)")
        if defaulted or vi.name in pinned:
            to_pin.append(vi.name)
        arrays[vi.name] = make_input(model, vi, shape, rng)
        paths[vi.name] = os.path.join(input_dir, sanitize(vi.name) + ".npy")
        np.save(paths[vi.name], arrays[vi.name])
    return arrays, paths, to_pin


def run_onnxruntime(model_path, arrays):
    """Reference outputs from onnxruntime with a single thread."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model_path, options,
                                   providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, arrays)))


def run_ssc(argv, what, timeout):
    """Run one ssc command; on any failure print its stderr and exit 1."""
    print("+ " + " ".join(argv), flush=True)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as err:
        sys.stderr.write(err.stderr.decode(errors="replace")
                         if isinstance(err.stderr, bytes) else (err.stderr or ""))
        print(f"error: ssc {what} timed out after {timeout} s")
        sys.exit(1)
    except OSError as err:
        print(f"error: cannot run ssc: {err}")
        sys.exit(1)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout)
        sys.stderr.write(proc.stderr)
        print(f"error: ssc {what} failed with exit code {proc.returncode}")
        sys.exit(1)
    return proc


def output_files(out_dir, names):
    """{output name: file name}, from manifest.json when present."""
    files = {name: sanitize(name) + ".npy" for name in names}
    manifest_path = os.path.join(out_dir, "manifest.json")
    if os.path.exists(manifest_path):
        with open(manifest_path, encoding="utf-8") as handle:
            for entry in json.load(handle).get("outputs", []):
                if entry.get("name") in files and entry.get("file"):
                    files[entry["name"]] = entry["file"]
    return files


def rel_l2(out, ref):
    """||out - ref|| / ||ref|| in float64 (absolute norm when ref is zero)."""
    out64 = np.asarray(out, dtype=np.float64)
    ref64 = np.asarray(ref, dtype=np.float64)
    diff = np.linalg.norm((out64 - ref64).ravel())
    norm = np.linalg.norm(ref64.ravel())
    if np.isnan(diff):
        return float("inf")
    return float(diff / norm) if norm > 0 else float(diff)


def compare_outputs(refs, result_dir, files, tolerance):
    """Print one line per output; return True when all match."""
    all_ok = True
    for name, ref in refs.items():
        path = os.path.join(result_dir, files[name])
        if not os.path.exists(path):
            print(f"output {name}: missing file {path} MISMATCH")
            all_ok = False
            continue
        out = np.load(path)
        if out.shape != ref.shape:
            print(f"output {name}: shape {list(out.shape)} != expected "
                  f"{list(ref.shape)} MISMATCH")
            all_ok = False
            continue
        if out.dtype != ref.dtype:
            print(f"note: output {name}: dtype {out.dtype} vs reference {ref.dtype}")
        err = rel_l2(out, ref)
        ok = err <= tolerance
        all_ok &= ok
        print(f"output {name}: rel_l2 {err:.3e} (tolerance {tolerance:g}) "
              f"{'OK' if ok else 'MISMATCH'}")
    return all_ok


def parse_args(argv):
    """Command-line interface."""
    parser = argparse.ArgumentParser(
        description="Compile MODEL with ssc, run it on seeded random inputs and "
                    "compare every output with onnxruntime by relative L2 "
                    "error. Exit 0 only if all outputs match.")
    parser.add_argument("--ssc", required=True, help="path to the ssc executable")
    parser.add_argument("--model", required=True, help="the .onnx model to test")
    parser.add_argument("--workdir", required=True,
                        help="scratch directory (inputs/, out/, outputs/ go here)")
    parser.add_argument("--input-shape", action="append", default=[],
                        type=parse_shape_arg, metavar="NAME=D0,D1,...",
                        help="pin an input's shape; passed on to ssc compile "
                             "(repeatable). Unpinned dynamic dims default to 1")
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="max relative L2 error per output (default 1e-4)")
    parser.add_argument("--seed", type=int, default=0,
                        help="numpy seed for the random inputs (default 0)")
    parser.add_argument("--plan", action="append", default=[],
                        help="also compile and run under this parallel plan "
                             "(e.g. dp=2,tp=2; file:PLAN for a plan file; "
                             "args:'SSC FLAGS' for any ssc compile flags, "
                             "e.g. a plugin; repeatable) and compare with "
                             "onnxruntime and the single-rank result")
    return parser.parse_args(argv)


def compare_with_single_rank(singles, result_dir, files, tolerance):
    """Print one line per output against the single-rank program's result."""
    all_ok = True
    for name, single in singles.items():
        path = os.path.join(result_dir, files[name])
        out = np.load(path) if os.path.exists(path) else None
        if out is None or out.shape != single.shape:
            print(f"output {name}: differs in shape from the single-rank "
                  "result MISMATCH")
            all_ok = False
            continue
        err = rel_l2(out, single)
        ok = err <= tolerance
        all_ok &= ok
        print(f"output {name}: vs single rank rel_l2 {err:.3e} "
              f"(tolerance {tolerance:g}) {'OK' if ok else 'MISMATCH'}")
    return all_ok


def main(argv=None):
    args = parse_args(argv)
    pinned = dict(args.input_shape)
    model = onnx.load(args.model)
    known = {vi.name for vi in graph_inputs(model)}
    for name in pinned:
        if name not in known:
            raise SystemExit(f"error: --input-shape names unknown input {name!r}")
    workdir = os.path.abspath(args.workdir)
    arrays, paths, to_pin = make_inputs(model, pinned, args.seed,
                                os.path.join(workdir, "inputs"))
    refs = run_onnxruntime(args.model, arrays)

    out_dir = os.path.join(workdir, "out")
    result_dir = os.path.join(workdir, "outputs")
    os.makedirs(result_dir, exist_ok=True)
    compile_cmd = [args.ssc, "compile", args.model, "-o", out_dir]
    for name in to_pin:
        dims = ",".join(str(d) for d in arrays[name].shape)
        compile_cmd += ["--input-shape", f"{name}={dims}"]
    run_ssc(compile_cmd, "compile", COMPILE_TIMEOUT_S)
    run_cmd = [args.ssc, "run", out_dir, "--output-dir", result_dir]
    for name, path in paths.items():
        run_cmd += ["--input", f"{name}={path}"]
    run_ssc(run_cmd, "run", RUN_TIMEOUT_S)

    files = output_files(out_dir, list(refs))
    all_ok = compare_outputs(refs, result_dir, files, args.tolerance)
    singles = {name: np.load(os.path.join(result_dir, files[name]))
               for name in refs}

    for plan in args.plan:
        tag = sanitize(os.path.basename(plan))
        if plan.startswith("file:"):
            plan_flag = ["--plan-file", plan[len("file:"):]]
        elif plan.startswith("args:"):
            plan_flag = shlex.split(plan[len("args:"):])
            tag = "args_" + str(args.plan.index(plan))
        else:
            plan_flag = ["--plan", plan]
        plan_out = os.path.join(workdir, "out_" + tag)
        plan_results = os.path.join(workdir, "outputs_" + tag)
        os.makedirs(plan_results, exist_ok=True)
        print(f"== plan {plan}")
        run_ssc(compile_cmd[:3] + ["-o", plan_out] + plan_flag +
                compile_cmd[5:], "compile", COMPILE_TIMEOUT_S)
        plan_run = [args.ssc, "run", plan_out, "--output-dir", plan_results]
        for name, path in paths.items():
            plan_run += ["--input", f"{name}={path}"]
        run_ssc(plan_run, "run", RUN_TIMEOUT_S)
        plan_files = output_files(plan_out, list(refs))
        all_ok &= compare_outputs(refs, plan_results, plan_files,
                                  args.tolerance)
        all_ok &= compare_with_single_rank(singles, plan_results, plan_files,
                                           args.tolerance)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
