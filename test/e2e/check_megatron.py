#!/usr/bin/env python3
"""Tensor parallelism on a GPT-style decoder communicates the Megatron minimum.

Compiles the decoder for each plan and reads the compile report in
manifest.json. Every rank must join exactly two all-reduces per layer in
forward (attention output and MLP output), each of (B / dp) x S x H floats
over its tensor-parallel group, and no other collective, send or receive
except the logits the output rank gathers from other data-parallel ranks.
"""

import argparse
import json
import os
import subprocess
import sys

import onnx


def decoder_dims(path):
    """(batch, seq, hidden, layers) of the decoder built by build_models.py."""
    model = onnx.load(path)
    inits = {init.name: init for init in model.graph.initializer}
    ids = [vi for vi in model.graph.input if vi.name not in inits][0]
    batch, seq = (d.dim_value for d in ids.type.tensor_type.shape.dim)
    hidden = inits["wte"].dims[1]
    vocab = inits["lm_head.w"].dims[1]
    layers = sum(1 for node in model.graph.node
                 if node.op_type == "LayerNormalization") // 2
    return batch, seq, hidden, layers, vocab


def check_plan(args, dims, dp, tp):
    batch, seq, hidden, layers, vocab = dims
    plan = ",".join(p for p in (f"dp={dp}" if dp > 1 else "",
                                f"tp={tp}" if tp > 1 else "") if p)
    out = os.path.join(args.workdir, plan.replace(",", "_").replace("=", ""))
    cmd = [args.ssc, "compile", args.model, "--plan", plan, "-q", "-o", out]
    print("+ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stderr)
        return False
    with open(os.path.join(out, "manifest.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    expected_bytes = batch // dp * seq * hidden * 4
    ok = True
    for rank in manifest["ranks"]:
        r = rank["rank"]
        tp_group = list(range(r // tp * tp, r // tp * tp + tp))
        reduces = [c for c in rank["collectives"] if c["kind"] == "all_reduce"]
        others = [c for c in rank["collectives"] if c["kind"] != "all_reduce"]
        # Only the gathering of the logits to the output rank may add
        # point-to-point traffic: one (B / dp) x S x vocab piece per
        # data-parallel replica.
        logits_bytes = batch // dp * seq * vocab * 4
        others = [c for c in others
                  if not (dp > 1 and c["kind"] in ("send", "recv") and
                          c["bytes"] == logits_bytes)]
        good = (len(reduces) == 2 * layers and not others and
                all(c["bytes"] == expected_bytes and c["group"] == tp_group
                    for c in reduces))
        print(f"{plan} rank {r}: {len(reduces)} all-reduces of "
              f"{sorted({c['bytes'] for c in reduces})} bytes over "
              f"{sorted({tuple(c['group']) for c in reduces})}, "
              f"{len(others)} other collectives; expected {2 * layers} x "
              f"{expected_bytes} bytes over {tp_group}: "
              f"{'OK' if good else 'MISMATCH'}")
        ok &= good
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ssc", required=True)
    parser.add_argument("--model", required=True,
                        help="gpt_decoder.onnx from models/build_models.py")
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)
    dims = decoder_dims(args.model)
    ok = True
    for dp, tp in ((1, 2), (1, 4), (2, 2)):
        ok &= check_plan(args, dims, dp, tp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
