#!/usr/bin/env python3
"""Recompute (activation checkpointing) lowers the planned peak memory and
trains exactly as without it.

Compiles the model for single-rank training (cross-entropy, AdamW) twice,
without and with the given --recompute groups, and reads each rank's
planned memory from manifest.json ("memory": arena, activations and
gradients live at the peak). Checks that activations at the peak and the
arena both shrink, and that 5 training steps print the same losses,
digit for digit (recomputing an op gives the same bits).
Prints the before/after table; exits non-zero on any failure.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import onnx

TIMEOUT_S = 600


def run(argv):
    proc = subprocess.run(argv, capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(argv)} failed ({proc.returncode}):\n"
                 f"{proc.stdout}{proc.stderr}")
    return proc.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ssc", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--freeze", action="append", default=[])
    parser.add_argument("--recompute", action="append", required=True,
                        help="a recompute group (repeatable)")
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)

    model = onnx.load(args.model)
    ids = model.graph.input[0]
    shape = [d.dim_value for d in ids.type.tensor_type.shape.dim]
    vocab = model.graph.output[0].type.tensor_type.shape.dim[-1].dim_value
    rng = np.random.default_rng(7)
    tokens = rng.integers(0, vocab, size=shape, dtype=np.int64)
    np.save(os.path.join(args.workdir, "ids.npy"), tokens)
    np.save(os.path.join(args.workdir, "labels.npy"),
            np.roll(tokens, -1, axis=-1))

    results = {}
    for label, extra in (("without", []),
                         ("with", [a for g in args.recompute
                                   for a in ("--recompute", g)])):
        out = os.path.join(args.workdir, label)
        shutil.rmtree(out, ignore_errors=True)
        run([args.ssc, "compile", args.model, "--train", "--loss",
             "cross-entropy", "-q", "-o", out] +
            [a for g in args.freeze for a in ("--freeze", g)] + extra)
        with open(os.path.join(out, "manifest.json")) as f:
            memory = json.load(f)["ranks"][0]["memory"]
        stdout = run([args.ssc, "run", out, "--steps", "5", "--input",
                      f"{ids.name}=" + os.path.join(args.workdir, "ids.npy"),
                      "--input",
                      "labels=" + os.path.join(args.workdir, "labels.npy")])
        losses = re.findall(r"^step \d+ loss (\S+)", stdout, re.M)
        results[label] = (memory, losses)

    before, after = results["without"][0], results["with"][0]
    print(f"{'':28}{'without':>12}{'with':>12}")
    for key, what in (("arena", "arena peak (bytes)"),
                      ("peak_activations", "activations at the peak"),
                      ("peak_gradients", "gradients at the peak")):
        print(f"{what:28}{before[key]:>12}{after[key]:>12}")
    ok = True
    if not after["peak_activations"] < before["peak_activations"]:
        print("FAIL: activations at the peak did not shrink")
        ok = False
    if not after["arena"] < before["arena"]:
        print("FAIL: the arena did not shrink")
        ok = False
    if results["with"][1] != results["without"][1] or \
            len(results["with"][1]) != 5:
        print(f"FAIL: losses differ: {results['without'][1]} vs "
              f"{results['with'][1]}")
        ok = False
    else:
        print("losses (both): " + " ".join(results["with"][1]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
