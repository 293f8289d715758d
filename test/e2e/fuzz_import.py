"""Seeded structural fuzzing of ssc compile: mutates attributes, inputs,
initializer dims and op types of valid models and checks that every mutant
gets a clean outcome (exit 0, 1 or 2), never a crash, hang or signal."""
import argparse
import copy
import os
import random
import subprocess
import sys

import onnx
from onnx import helper

VALUES = [-3, -2, -1, 0, 1, 2, 3, 5, 7, 64, 1 << 20, 1 << 62]
ATTR_NAMES = ["axis", "axes", "perm", "group", "keepdims", "to", "allowzero"]
OP_TYPES = ["Relu", "Add", "MatMul", "Reshape", "Softmax", "Concat", "Split",
            "Gather", "Slice", "Transpose", "Conv", "Pad", "Resize", "Where",
            "Expand", "LayerNormalization", "MaxPool", "Gemm"]


def mutate_attribute(rng, node):
    attr = rng.choice(node.attribute)
    if attr.type == onnx.AttributeProto.INT:
        attr.i = rng.choice(VALUES)
    elif attr.type == onnx.AttributeProto.INTS and len(attr.ints):
        attr.ints[rng.randrange(len(attr.ints))] = rng.choice(VALUES)
        if rng.random() < 0.3:
            attr.ints.append(rng.choice(VALUES))
    elif attr.type == onnx.AttributeProto.FLOAT:
        attr.f = rng.choice([0.0, -1.0, 1e30, float("nan")])
    elif attr.type == onnx.AttributeProto.STRING:
        attr.s = rng.choice([b"", b"bogus", b"SAME_UPPER", b"linear"])


def mutate(rng, model):
    graph = model.graph
    for _ in range(rng.randint(1, 3)):
        node = rng.choice(graph.node)
        r = rng.random()
        if r < 0.45 and node.attribute:
            mutate_attribute(rng, node)
        elif r < 0.6 and len(node.input) > 1:
            inputs = list(node.input)
            rng.shuffle(inputs)
            del node.input[:]
            node.input.extend(inputs)
        elif r < 0.7 and node.input:
            del node.input[rng.randrange(len(node.input))]
        elif r < 0.8 and graph.initializer:
            tensor = rng.choice(graph.initializer)
            if tensor.dims:
                tensor.dims[rng.randrange(len(tensor.dims))] = rng.choice(VALUES[:8])
        elif r < 0.9:
            value = rng.choice(VALUES)
            node.attribute.append(helper.make_attribute(
                rng.choice(ATTR_NAMES), value if rng.random() < 0.5 else [value]))
        else:
            node.op_type = rng.choice(OP_TYPES)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--ssc", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--mutants", type=int, default=100, help="per model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("models", nargs="+", help="MODEL.onnx[:NAME=DIMS,...]")
    args = p.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    rng = random.Random(args.seed)
    outcomes, bad = {}, []
    for spec in args.models:
        path, _, shapes = spec.partition(":")
        shape_args = [a for s in shapes.split(";") if s for a in ("--input-shape", s)]
        base = onnx.load(path)
        for i in range(args.mutants):
            model = copy.deepcopy(base)
            mutate(rng, model)
            mutant = os.path.join(args.workdir, "mutant.onnx")
            onnx.save(model, mutant)
            cmd = [args.ssc, "compile", mutant, "-q", "-o",
                   os.path.join(args.workdir, "out"), *shape_args]
            try:
                rc = subprocess.run(cmd, capture_output=True, timeout=60).returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
            outcomes[rc] = outcomes.get(rc, 0) + 1
            if rc not in (0, 1, 2):
                keep = os.path.join(args.workdir, f"bad_{len(bad)}.onnx")
                os.replace(mutant, keep)
                bad.append((keep, rc))
    print("outcomes by exit code:", dict(sorted(outcomes.items(), key=str)))
    for keep, rc in bad:
        print(f"CRASH: exit {rc} on {keep}")
    total = sum(outcomes.values())
    print(f"{total - len(bad)} passed, {len(bad)} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
