#!/usr/bin/env python3
"""Training under a parallel plan follows the single-rank training run.

A language model (one int64 token input, a logits output whose last axis
is the vocabulary) is trained with `ssc compile --train --loss
cross-entropy --optimizer adamw --lr 1e-3` on a --data directory of
seeded batches: token ids below the vocabulary size (the smaller of the
logits' last dimension and any embedding table the ids index), labels the
ids shifted by one position (next-token prediction), and a few labels of
one batch set to -100 (ignored). The single-rank program runs --steps
steps with a checkpoint directory and `ssc export` writes the trained
model; then each --plan is compiled, run and exported the same way.

Checks, for the single-rank run and every plan:
  loss goes down     the last step's loss is below the first's
  training happened  every trained parameter (a manifest variable) differs
                     from the original model; every other initializer
                     (frozen ones included) is bitwise unchanged
and for every plan against the single-rank run:
  loss               every step's |loss - single| / |single| <= 1e-4
  weights            the relative L2 error ||plan - single|| / ||single||
                     <= 1e-4 over all trained parameters together, and
                     for every exported initializer on its own, except
                     those the single-rank run does not reproduce by
                     itself: a second single-rank run with 2 threads
                     instead of 1 tells them (relative change above
                     1e-5). A key bias is one: its gradient is exactly
                     zero in exact arithmetic, and AdamW turns the
                     rounding noise into steps of the learning rate whose
                     sign follows the summation order. Those count in
                     the all-parameters error and are printed.
  ZeRO               under a plan with zero=N and dp=D, each rank's
                     optimizer state (variables *.adam_m, *.adam_v,
                     *.momentum in
                     manifest.json, the rank's pieces) is at most 1/D of
                     the single-rank state plus 1% of it (small parameters
                     may stay whole; in the example models none does)

Prints a table (plan, max loss rel err, max weight rel err, worst
parameter, optimizer-state bytes per rank, OK/FAIL) and exits 0 only if
every check passes. Every subprocess has a timeout and runs in a session of
its own, killed whole when it overruns, so nothing hangs or lingers.
"""

import argparse
import fnmatch
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper

NOISE_FLOOR = 1e-5
LOSS_TOLERANCE = 1e-4
WEIGHT_TOLERANCE = 1e-4
COMPILE_TIMEOUT_S = 300
RUN_TIMEOUT_S = 300
EXPORT_TIMEOUT_S = 120
# Optimizer state a ZeRO rank may hold beyond its 1/dp share, as a fraction
# of the whole state: small parameters may stay whole.
ZERO_SLACK = 0.01
IGNORE_INDEX = -100
STATE_SUFFIXES = (".adam_m", ".adam_v", ".momentum")
STEP_LINE = re.compile(r"^step (\d+) loss (\S+) ")
# Ops through which token ids keep their values on the way to a Gather.
VALUE_PRESERVING_OPS = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Cast",
                        "Identity", "Transpose", "Expand"}


class CommandFailed(Exception):
    """An ssc command failed or timed out; the message says how."""


def run_command(argv, timeout, what):
    """Run argv in its own session; return its stdout. On a timeout the
    whole process group (mpirun and the ranks) is killed. A non-zero exit
    or a timeout raises CommandFailed with the command's output."""
    print("+ " + " ".join(argv), flush=True)
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
    except OSError as err:
        raise CommandFailed(f"cannot run {what}: {err}") from None
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        stdout, stderr = proc.communicate()
        raise CommandFailed(f"{what} timed out after {timeout} s\n"
                            f"{stdout}{stderr}") from None
    if proc.returncode != 0:
        raise CommandFailed(f"{what} failed with exit code {proc.returncode}"
                            f"\n{stdout}{stderr}")
    return stdout


def kill_group(proc):
    """SIGKILL the process group a start_new_session child leads."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass


def parse_steps(stdout):
    """[(step, loss text)] from rank 0's 'step I loss L R samples/s' lines."""
    return [(int(m.group(1)), m.group(2))
            for m in map(STEP_LINE.match, stdout.splitlines()) if m]


def parse_shape_arg(text):
    """'NAME=D0,D1,...' -> (name, [ints])."""
    name, sep, dims = text.rpartition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=D0,D1,..., got {text!r}")
    try:
        return name, [int(d) for d in dims.split(",") if d.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"bad dims in {text!r}") from err


def gather_table_size(model, name, seen=None):
    """Size along the Gather axis of the smallest initializer table that
    `name` indexes (maybe through value-preserving ops), else None."""
    seen = seen if seen is not None else set()
    if name in seen:
        return None
    seen.add(name)
    inits = {init.name: init for init in model.graph.initializer}
    bounds = []
    for node in model.graph.node:
        for index, inp in enumerate(node.input):
            if inp != name:
                continue
            if node.op_type == "Gather" and index == 1 and node.input[0] in inits:
                axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
                dims = list(inits[node.input[0]].dims)
                bounds.append(dims[axis % len(dims)])
            elif node.op_type in VALUE_PRESERVING_OPS and index == 0:
                bounds += [b for out in node.output
                           if (b := gather_table_size(model, out, seen))]
    return min(bounds) if bounds else None


class LanguageModel:
    """What the test needs to know of the model: the token input, its
    shape, the logits output and the vocabulary size."""

    def __init__(self, path, pinned, logits):
        model = onnx.load(path)
        inits = {init.name for init in model.graph.initializer}
        inputs = [vi for vi in model.graph.input if vi.name not in inits]
        if len(inputs) != 1:
            raise SystemExit(f"error: expected one (token) input, found "
                             f"{[vi.name for vi in inputs]}")
        self.input = inputs[0].name
        if self.input in pinned:
            self.shape = pinned[self.input]
        else:
            dims = inputs[0].type.tensor_type.shape.dim
            if not all(d.HasField("dim_value") for d in dims):
                raise SystemExit(f"error: input {self.input} has dynamic dims;"
                                 " pin them with --input-shape")
            self.shape = [d.dim_value for d in dims]
        self.pinned = self.input in pinned
        outputs = {o.name: o for o in model.graph.output}
        if logits is None:
            if len(outputs) != 1:
                raise SystemExit("error: the model has several outputs; "
                                 "name the logits with --logits")
            logits = next(iter(outputs))
        if logits not in outputs:
            raise SystemExit(f"error: no model output named {logits!r}")
        self.logits = logits
        last = outputs[logits].type.tensor_type.shape.dim[-1]
        bounds = [b for b in (last.dim_value if last.HasField("dim_value")
                              else None,
                              gather_table_size(model, self.input)) if b]
        if not bounds:
            raise SystemExit("error: cannot tell the vocabulary size (the "
                             "logits' last dim is dynamic and the ids index "
                             "no embedding table)")
        self.vocab = min(bounds)
        self.initializers = {init.name: numpy_helper.to_array(init)
                             for init in model.graph.initializer}


def write_batches(data_dir, input_name, shape, vocab, batches, seed):
    """DIR/<input>.<i>.npy and DIR/labels.<i>.npy for i < batches: random
    token ids, labels the next token; batch 1 ignores a few labels."""
    os.makedirs(data_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(batches):
        tokens = rng.integers(0, vocab, list(shape[:-1]) + [shape[-1] + 1])
        ids = tokens[..., :-1].astype(np.int64)
        labels = tokens[..., 1:].astype(np.int64)
        if i == 1:
            flat = labels.reshape(-1)
            flat[rng.choice(flat.size, size=min(5, flat.size - 1),
                            replace=False)] = IGNORE_INDEX
        np.save(os.path.join(data_dir, f"{input_name}.{i}.npy"), ids)
        np.save(os.path.join(data_dir, f"labels.{i}.npy"), labels)


def compile_command(args, lm, out, plan):
    """The ssc compile argv of a training step (plan None: single rank)."""
    argv = [args.ssc, "compile", args.model, "--train", "--loss",
            "cross-entropy", "-q", "-o", out]
    training = getattr(args, "training", "")
    argv += training.split() if training else [
        "--optimizer", "adamw", "--lr", "1e-3"]
    if args.logits:
        argv += ["--logits", args.logits]
    if lm.pinned:
        argv += ["--input-shape",
                 f"{lm.input}={','.join(str(d) for d in lm.shape)}"]
    for pattern in args.freeze:
        argv += ["--freeze", pattern]
    if plan:
        argv += ["--plan", plan]
    return argv


def load_initializers(path):
    """{name: array} of an ONNX file's initializers."""
    return {init.name: numpy_helper.to_array(init)
            for init in onnx.load(path).graph.initializer}


def load_manifest(out):
    with open(os.path.join(out, "manifest.json"), encoding="utf-8") as handle:
        return json.load(handle)


def trained_names(manifest):
    """The parameters the step trains: manifest variables that are not
    optimizer state."""
    return {v["name"] for rank in manifest["ranks"] for v in rank["variables"]
            if not v["name"].endswith(STATE_SUFFIXES)}


def state_bytes_per_rank(manifest):
    """Bytes of optimizer state (*.adam_m, *.adam_v, *.momentum pieces) on
    each rank."""
    return [sum(math.prod(v["shape"]) * np.dtype(v["dtype"]).itemsize
                for v in rank["variables"]
                if v["name"].endswith(STATE_SUFFIXES))
            for rank in manifest["ranks"]]


def whole_state_bytes(manifest, full_shapes):
    """Per rank, bytes of optimizer state held as a whole tensor (not
    sharded)."""
    return [sum(math.prod(v["shape"]) * np.dtype(v["dtype"]).itemsize
                for v in rank["variables"]
                if v["name"].endswith(STATE_SUFFIXES) and
                list(v["shape"]) == list(full_shapes[v["name"]]))
            for rank in manifest["ranks"]]


def rel_l2(out, ref):
    """||out - ref|| / ||ref|| in float64 (absolute when ref is zero)."""
    out64 = np.asarray(out, dtype=np.float64).ravel()
    ref64 = np.asarray(ref, dtype=np.float64).ravel()
    diff = np.linalg.norm(out64 - ref64)
    norm = np.linalg.norm(ref64)
    if np.isnan(diff):
        return float("inf")
    return float(diff / norm) if norm > 0 else float(diff)


def plan_tag(plan):
    return re.sub(r"[^A-Za-z0-9]+", "_", plan or "single")


def train(args, lm, data_dir, plan, threads=1):
    """Compile, run and export one configuration. Returns (step losses
    [(i, text)], exported initializers, manifest)."""
    tag = plan_tag(plan) + ("" if threads == 1 else f"_t{threads}")
    out = os.path.join(args.workdir, "out_" + tag)
    ckpt = os.path.join(args.workdir, "ckpt_" + tag)
    trained = os.path.join(args.workdir, f"trained_{tag}.onnx")
    shutil.rmtree(ckpt, ignore_errors=True)
    run_command(compile_command(args, lm, out, plan), COMPILE_TIMEOUT_S,
                "ssc compile")
    stdout = run_command([args.ssc, "run", out, "--steps", str(args.steps),
                          "--data", data_dir, "--threads", str(threads),
                          "--checkpoint-dir", ckpt], RUN_TIMEOUT_S, "ssc run")
    steps = parse_steps(stdout)
    if [i for i, _ in steps] != list(range(1, args.steps + 1)):
        raise CommandFailed(f"ssc run printed steps {[i for i, _ in steps]}, "
                            f"expected 1..{args.steps}\n{stdout}")
    run_command([args.ssc, "export", out, "--checkpoint", ckpt, "-o",
                 trained], EXPORT_TIMEOUT_S, "ssc export")
    return steps, load_initializers(trained), load_manifest(out)


def sanity(label, lm, steps, weights, manifest):
    """Loss goes down; trained parameters moved, everything else did not.
    Prints what fails; returns True when all holds."""
    ok = True
    first, last = float(steps[0][1]), float(steps[-1][1])
    if not last < first:
        print(f"{label}: loss did not go down: step 1 {first}, "
              f"step {steps[-1][0]} {last} FAIL")
        ok = False
    trained = trained_names(manifest)
    if not trained:
        print(f"{label}: manifest lists no trained parameter FAIL")
        ok = False
    if set(weights) != set(lm.initializers):
        print(f"{label}: exported initializers differ from the model's: "
              f"missing {sorted(set(lm.initializers) - set(weights))}, extra "
              f"{sorted(set(weights) - set(lm.initializers))} FAIL")
        return False
    for name, initial in lm.initializers.items():
        same = (weights[name].shape == initial.shape and
                np.array_equal(weights[name], initial))
        if name in trained and same:
            print(f"{label}: trained parameter {name} is unchanged FAIL")
            ok = False
        elif name not in trained and not same:
            print(f"{label}: initializer {name} is not trained but changed "
                  f"(rel L2 {rel_l2(weights[name], initial):.3e}) FAIL")
            ok = False
    return ok


def compare_with_single(plan, steps, weights, single_steps, single_weights,
                        initial, noise):
    """(max loss rel err, all-weights rel err, max per-parameter rel err,
    worst parameter, ok); prints every step and parameter beyond
    tolerance. Parameters in `noise` (name -> the single-rank run's own
    relative difference between 1 and 2 threads) have no value that is
    reproducible to the tolerance; they count in the all-weights error
    only."""
    ok = True
    loss_err = 0.0
    for (i, text), (_, ref) in zip(steps, single_steps):
        err = abs(float(text) - float(ref)) / abs(float(ref))
        loss_err = max(loss_err, err)
        if not err <= LOSS_TOLERANCE:
            print(f"{plan}: step {i} loss {text} vs single rank {ref}: rel "
                  f"err {err:.3e} > {LOSS_TOLERANCE:g} FAIL")
            ok = False
    weight_err, worst = 0.0, "-"
    all_out, all_ref = [], []
    for name, ref in single_weights.items():
        out = weights.get(name)
        if out is None or out.shape != ref.shape:
            print(f"{plan}: exported {name} missing or of another shape FAIL")
            ok = False
            continue
        all_out.append(np.asarray(out, np.float64).ravel())
        all_ref.append(np.asarray(ref, np.float64).ravel())
        err = rel_l2(out, ref)
        if name in noise:
            print(f"{plan}: parameter {name}: rel L2 {err:.3e} (not checked "
                  f"alone: the single-rank run itself moves by "
                  f"{noise[name]:.3e} between 1 and 2 threads)")
            continue
        if err >= weight_err:
            weight_err, worst = err, name
        if not err <= WEIGHT_TOLERANCE:
            moved = np.linalg.norm(ref.astype(np.float64) -
                                   initial[name].astype(np.float64))
            print(f"{plan}: parameter {name} {list(ref.shape)}: rel L2 "
                  f"{err:.3e} > {WEIGHT_TOLERANCE:g} (||single|| "
                  f"{np.linalg.norm(ref.astype(np.float64)):.3e}, single "
                  f"rank moved it by {moved:.3e}) FAIL")
            ok = False
    total_err = rel_l2(np.concatenate(all_out), np.concatenate(all_ref))
    if not total_err <= WEIGHT_TOLERANCE:
        print(f"{plan}: all weights: rel L2 {total_err:.3e} > "
              f"{WEIGHT_TOLERANCE:g} FAIL")
        ok = False
    return loss_err, total_err, weight_err, worst, ok


def plan_degree(plan, key):
    """The degree of `key` (dp, tp, zero) in a plan string, else 0."""
    m = re.search(rf"(?:^|,){key}=(\d+)", plan or "")
    return int(m.group(1)) if m else 0


def check_zero(plan, manifest, single_manifest):
    """Each rank's optimizer state is at most 1/dp of the single-rank state
    plus ZERO_SLACK of it (room for small parameters left whole). Prints
    per rank what it holds and how much of it is whole. Returns ok."""
    full = {v["name"]: v["shape"] for v in single_manifest["ranks"][0]["variables"]}
    single = state_bytes_per_rank(single_manifest)[0]
    dp = plan_degree(plan, "dp") or 1
    bound = single / dp + ZERO_SLACK * single
    ok = True
    for rank, (held, whole) in enumerate(zip(state_bytes_per_rank(manifest),
                                             whole_state_bytes(manifest, full))):
        good = held <= bound
        ok &= good
        print(f"ZeRO {plan}: rank {rank} optimizer state {held} bytes, "
              f"{whole} of them unsharded (single rank {single}; bound "
              f"{single}/{dp} + {ZERO_SLACK:g} x {single} = {bound:.0f}) "
              f"{'OK' if good else 'FAIL'}")
    return ok


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ssc", required=True, help="path to ssc")
    parser.add_argument("--model", required=True,
                        help="ONNX language model: one int64 token input, "
                             "logits output")
    parser.add_argument("--workdir", required=True, help="scratch directory")
    parser.add_argument("--plan", action="append", default=[],
                        help="a --plan to train under and compare with the "
                             "single-rank run (repeatable)")
    parser.add_argument("--input-shape", action="append", default=[],
                        type=parse_shape_arg, metavar="NAME=D0,D1,...",
                        help="pin the token input's shape (passed to ssc)")
    parser.add_argument("--logits", help="the logits output (default: the "
                                         "only output)")
    parser.add_argument("--freeze", action="append", default=[],
                        metavar="GLOB", help="initializers to keep constant "
                                             "(passed to ssc; repeatable)")
    parser.add_argument("--training", default="",
                        help="ssc compile training options instead of "
                             "'--optimizer adamw --lr 1e-3' (one string)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    args.workdir = os.path.abspath(args.workdir)
    os.makedirs(args.workdir, exist_ok=True)
    lm = LanguageModel(args.model, dict(args.input_shape), args.logits)
    frozen = sorted(n for n in lm.initializers
                    if any(fnmatch.fnmatchcase(n, g) for g in args.freeze))
    print(f"model {args.model}: input {lm.input} {lm.shape}, logits "
          f"{lm.logits}, vocabulary {lm.vocab}; frozen {frozen}")
    data_dir = os.path.join(args.workdir, "data")
    write_batches(data_dir, lm.input, lm.shape, lm.vocab, args.batches,
                  args.seed)

    rows, ok = [], True
    started = time.time()
    try:
        single_steps, single_weights, single_manifest = train(
            args, lm, data_dir, None)
    except CommandFailed as err:
        print(f"error: single rank: {err}")
        return 1
    ok &= sanity("single rank", lm, single_steps, single_weights,
                 single_manifest)
    print("single rank losses: " + " ".join(t for _, t in single_steps))
    # Parameters the single-rank run cannot reproduce to the tolerance by
    # itself: a key bias, for one, gets a gradient that is exactly zero in
    # exact arithmetic, and AdamW scales the rounding noise up to steps of
    # the learning rate, whose direction changes with any change in
    # summation order (thread count, partitioning).
    try:
        _, threaded_weights, _ = train(args, lm, data_dir, None, threads=2)
    except CommandFailed as err:
        print(f"error: single rank, 2 threads: {err}")
        return 1
    noise = {}
    for name, ref in single_weights.items():
        drift = rel_l2(threaded_weights[name], ref)
        if drift > NOISE_FLOOR:
            noise[name] = drift
    print("parameters not reproducible by the single-rank run (1 vs 2 "
          "threads): " + (", ".join(f"{n} {d:.3e}" for n, d in
                                    sorted(noise.items())) or "none"))
    rows.append(("single rank", "-", "-", "-", "-",
                 state_bytes_per_rank(single_manifest), ok,
                 time.time() - started))

    for plan in args.plan:
        started = time.time()
        print(f"== plan {plan}", flush=True)
        try:
            steps, weights, manifest = train(args, lm, data_dir, plan)
        except CommandFailed as err:
            print(f"error: plan {plan}: {err}")
            rows.append((plan, "-", "-", "-", "-", [], False,
                         time.time() - started))
            ok = False
            continue
        print(f"{plan} losses: " + " ".join(t for _, t in steps))
        good = sanity(plan, lm, steps, weights, manifest)
        loss_err, total_err, weight_err, worst, close = compare_with_single(
            plan, steps, weights, single_steps, single_weights,
            lm.initializers, noise)
        good &= close
        if plan_degree(plan, "zero"):
            good &= check_zero(plan, manifest, single_manifest)
        ok &= good
        rows.append((plan, f"{loss_err:.3e}", f"{total_err:.3e}",
                     f"{weight_err:.3e}", worst,
                     state_bytes_per_rank(manifest), good,
                     time.time() - started))

    header = ("plan", "max loss rel err", "all weights rel err",
              "max param rel err", "worst parameter", "opt state bytes/rank",
              "time", "result")
    table = [header] + [
        (plan, loss_err, total_err, weight_err, worst,
         ",".join(map(str, state)), f"{secs:.1f}s", "OK" if good else "FAIL")
        for plan, loss_err, total_err, weight_err, worst, state, good, secs
        in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    print()
    for row in table:
        print("  ".join(cell.ljust(width) if i in (0, 4, 5) else
                        cell.rjust(width)
                        for i, (cell, width) in enumerate(zip(row, widths))))
    print(f"(tolerances: loss {LOSS_TOLERANCE:g} per step; weights "
          f"{WEIGHT_TOLERANCE:g} relative L2 over all trained parameters "
          f"and per parameter, except parameters the single-rank run "
          f"cannot reproduce to {NOISE_FLOOR:g} between 1 and 2 threads)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
