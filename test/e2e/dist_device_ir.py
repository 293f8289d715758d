#!/usr/bin/env python3
"""End-to-end check of the back end on hand-written device IR.

Writes device IR (the input of dist-split-ranks: one function whose ops are
bound to devices, with the communication already in place), compiles it with
`ssc compile FILE.mlir` (split, memory planning, emission), runs it with
`ssc run` under mpirun and compares every output with numpy.

Cases:
  dp2          2 ranks: the input read as row boxes (rank 1 reads two boxes,
               so it reads their bounding box and slices locally), a matmul
               per rank, send/recv and compose on the output rank.
  collectives  4 ranks: all_reduce (world and pairs), all_gather,
               reduce_scatter, all_to_all, broadcast, scale, local slice,
               send/recv, an int64 all_reduce and an input only one rank
               reads. Ranks 1 and 3 differ only in rank-specific data and
               must share one source.

Prints one line per output:
  <case> output <name>: rel_l2 <value> (tolerance <t>) OK|MISMATCH
and exits 0 only if every output matches and every case shares sources as
expected.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

TIMEOUT_S = 600


def tensor_type(shape, dtype="f32"):
    return "tensor<" + "x".join(str(d) for d in shape) + ("x" if shape else "") + dtype + ">"


def dense(array):
    """An exact MLIR dense literal: the array's little-endian bytes in hex."""
    raw = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
    return f'dense<"0x{raw.hex().upper()}">'


class DeviceIR:
    """Builds the text of one device-IR function."""

    def __init__(self, world, inputs, outputs):
        self.world = world
        self.inputs = inputs    # [(name, shape, dtype)]
        self.outputs = outputs  # [(name, shape, dtype)]
        self.lines = []
        self.count = 0

    def value(self):
        self.count += 1
        return f"%v{self.count}"

    def arg(self, name):
        return "%" + name

    def op(self, text):
        self.lines.append("  " + text)

    def constant(self, array):
        v = self.value()
        dtype = "f32" if array.dtype == np.float32 else "i64"
        self.op(f"{v} = graph.constant {dense(array)} : {tensor_type(array.shape, dtype)}")
        return v

    def read(self, name, device, offsets, shape, dtype="f32"):
        full = dict((n, s) for n, s, _ in self.inputs)[name]
        v = self.value()
        self.op(f"{v} = dist.slice %{name} {{device = {device} : i64, offsets = array<i64: "
                f"{', '.join(map(str, offsets))}>}} : {tensor_type(full, dtype)} -> "
                f"{tensor_type(shape, dtype)}")
        return v

    def graph(self, kind, operands, in_types, out_type, device, node):
        v = self.value()
        self.op(f'{v} = graph.{kind} {", ".join(operands)} {{dist.device = {device} : i64, '
                f'dist.trans = "hand-written, rank {device}"}} : {", ".join(in_types)} -> '
                f'{out_type} loc("{node}")')
        return v

    def dist(self, kind, operand, attrs, in_type, out_type, node):
        v = self.value()
        self.op(f'{v} = dist.{kind} {operand} {{{attrs}}} : {in_type} -> {out_type} loc("{node}")')
        return v

    def send(self, operand, device, peer, ident, ty):
        self.op(f"dist.send {operand} {{device = {device} : i64, peer = {peer} : i64, "
                f"id = {ident} : i64}} : {ty}")

    def recv(self, device, peer, ident, ty):
        v = self.value()
        self.op(f"{v} = dist.recv {{device = {device} : i64, peer = {peer} : i64, "
                f"id = {ident} : i64}} : {ty}")
        return v

    def compose(self, pieces, offsets, piece_types, out_type, device, node):
        v = self.value()
        flat = ", ".join(str(o) for box in offsets for o in box)
        self.op(f'{v} = dist.compose {", ".join(pieces)} {{device = {device} : i64, '
                f'offsets = array<i64: {flat}>}} : ({", ".join(piece_types)}) -> {out_type} '
                f'loc("{node}")')
        return v

    def text(self, results):
        args = ", ".join(f'%{n}: {tensor_type(s, d)} {{ss.name = "{n}"}}'
                         for n, s, d in self.inputs)
        outs = ", ".join(f'{tensor_type(s, d)} {{ss.name = "{n}"}}'
                         for n, s, d in self.outputs)
        types = ", ".join(tensor_type(s, d) for _, s, d in self.outputs)
        body = "\n".join(self.lines)
        return (f"module {{\nfunc.func @main({args}) -> ({outs}) attributes "
                f"{{dist.world_size = {self.world} : i64, dist.output_device = 0 : i64}} {{\n"
                f"{body}\n  return {', '.join(results)} : {types}\n}}\n}}\n")


def case_dp2(rng):
    """Data parallel matmul over 2 ranks, gathered by send/recv."""
    x = rng.standard_normal((8, 16)).astype(np.float32)
    w = rng.standard_normal((16, 32)).astype(np.float32)
    ir = DeviceIR(2, [("x", (8, 16), "f32")], [("y", (8, 32), "f32")])
    t16, t32 = tensor_type((4, 16)), tensor_type((4, 32))
    half = tensor_type((2, 16))
    wc = ir.constant(w)
    x0 = ir.read("x", 0, (0, 0), (4, 16))
    # Rank 1 reads two boxes: split-ranks reads their bounding box once.
    x1a = ir.read("x", 1, (4, 0), (2, 16))
    x1b = ir.read("x", 1, (6, 0), (2, 16))
    x1 = ir.compose([x1a, x1b], [(0, 0), (2, 0)], [half, half], t16, 1, "x1")
    y0 = ir.graph("matmul", [x0, wc], [t16, tensor_type((16, 32))], t32, 0, "mm")
    y1 = ir.graph("matmul", [x1, wc], [t16, tensor_type((16, 32))], t32, 1, "mm")
    ir.send(y1, 1, 0, 0, t32)
    r = ir.recv(0, 1, 0, t32)
    out = ir.compose([y0, r], [(0, 0), (4, 0)], [t32, t32], tensor_type((8, 32)), 0, "y")
    return ir.text([out]), {"x": x}, {"y": x @ w}, [[0], [1]]


def case_collectives(rng):
    """Every collective kind over 4 ranks."""
    world = 4
    everyone = "0, 1, 2, 3"
    x = rng.standard_normal((8, 16)).astype(np.float32)
    n = rng.integers(-50, 50, size=(4,)).astype(np.int64)
    z = rng.standard_normal((3,)).astype(np.float32)
    ws = [rng.standard_normal((16, 8)).astype(np.float32) for _ in range(world)]
    outputs = [("AR", (2, 8), "f32"), ("AG", (8, 8), "f32"), ("RS", (8, 8), "f32"),
               ("A2A", (8, 8), "f32"), ("PAIRS", (8, 8), "f32"), ("BC", (2, 8), "f32"),
               ("SL", (2, 8), "f32"), ("N", (4,), "i64"), ("Z", (3,), "f32")]
    ir = DeviceIR(world, [("x", (8, 16), "f32"), ("n", (4,), "i64"), ("z", (3,), "f32")],
                  outputs)
    t2x8, t8x8, t8x2 = tensor_type((2, 8)), tensor_type((8, 8)), tensor_type((8, 2))
    tn, tz = tensor_type((4,), "i64"), tensor_type((3,))
    h, ar, ag, rs, a2a, pr, bc, ni = ({} for _ in range(8))
    consts = {d: ir.constant(ws[d]) for d in range(world)}
    for d in range(world):
        xd = ir.read("x", d, (2 * d, 0), (2, 16))
        h[d] = ir.graph("matmul", [xd, consts[d]], [tensor_type((2, 16)), tensor_type((16, 8))],
                        t2x8, d, "mm")
    for d in range(world):
        ar[d] = ir.dist("all_reduce", h[d], f"device = {d} : i64, group = array<i64: {everyone}>, "
                        "id = 0 : i64", t2x8, t2x8, "ar")
    for d in range(world):
        ag[d] = ir.dist("all_gather", h[d], f"device = {d} : i64, group = array<i64: {everyone}>, "
                        "id = 1 : i64, dim = 0 : i64", t2x8, t8x8, "ag")
    for d in range(world):
        rs[d] = ir.dist("reduce_scatter", ag[d], f"device = {d} : i64, group = array<i64: "
                        f"{everyone}>, id = 2 : i64, dim = 1 : i64", t8x8, t8x2, "rs")
    for d in range(world):
        a2a[d] = ir.dist("all_to_all", h[d], f"device = {d} : i64, group = array<i64: "
                         f"{everyone}>, id = 3 : i64, split_dim = 1 : i64, concat_dim = 0 : i64",
                         t2x8, t8x2, "a2a")
    for d in range(world):
        scaled = ir.dist("scale", h[d], f"device = {d} : i64, factor = 2.0 : f64", t2x8, t2x8,
                         "scale")
        pair = "0, 1" if d < 2 else "2, 3"
        pr[d] = ir.dist("all_reduce", scaled, f"device = {d} : i64, group = array<i64: {pair}>, "
                        f"id = {4 + d // 2} : i64", t2x8, t2x8, "pairs")
    for d in range(world):
        attrs = f"device = {d} : i64, group = array<i64: {everyone}>, root = 2 : i64, id = 6 : i64"
        v = ir.value()
        if d == 2:
            half = ir.dist("scale", h[d], f"device = {d} : i64, factor = 0.5 : f64", t2x8, t2x8,
                           "half")
            ir.op(f'{v} = dist.broadcast {half} : {t2x8} {{{attrs}}} -> {t2x8} loc("bc")')
        else:
            ir.op(f'{v} = dist.broadcast {{{attrs}}} -> {t2x8} loc("bc")')
        bc[d] = v
    for d in range(world):
        nd = ir.read("n", d, (0,), (4,), "i64")
        ni[d] = ir.dist("all_reduce", nd, f"device = {d} : i64, group = array<i64: {everyone}>, "
                        "id = 7 : i64", tn, tn, "n")
    sl = ir.dist("slice", ag[0], "device = 0 : i64, offsets = array<i64: 2, 0>", t8x8, t2x8, "sl")
    ident = 100
    received = {}
    for d in range(1, world):
        for name, val, ty in (("rs", rs[d], t8x2), ("a2a", a2a[d], t8x2), ("pr", pr[d], t2x8)):
            ir.send(val, d, 0, ident, ty)
            received[(d, name)] = (ident, ty)
            ident += 1
        if d == 2:
            zd = ir.read("z", 2, (0,), (3,))
            ir.send(zd, 2, 0, ident, tz)
            received[(d, "z")] = (ident, tz)
            ident += 1
    got = {}
    for (d, name), (i, ty) in received.items():
        got[(d, name)] = ir.recv(0, d, i, ty)
    rs_out = ir.compose([rs[0]] + [got[(d, "rs")] for d in (1, 2, 3)],
                        [(0, 2 * d) for d in range(world)], [t8x2] * 4, t8x8, 0, "RS")
    a2a_out = ir.compose([a2a[0]] + [got[(d, "a2a")] for d in (1, 2, 3)],
                         [(0, 2 * d) for d in range(world)], [t8x2] * 4, t8x8, 0, "A2A")
    pr_out = ir.compose([pr[0]] + [got[(d, "pr")] for d in (1, 2, 3)],
                        [(2 * d, 0) for d in range(world)], [t2x8] * 4, t8x8, 0, "PAIRS")
    text = ir.text([ar[0], ag[0], rs_out, a2a_out, pr_out, bc[0], sl, ni[0], got[(2, "z")]])

    hs = [x[2 * d:2 * d + 2] @ ws[d] for d in range(world)]
    gathered = np.concatenate(hs, axis=0)
    pairs = [2 * (hs[0] + hs[1])] * 2 + [2 * (hs[2] + hs[3])] * 2
    refs = {"AR": sum(hs), "AG": gathered, "RS": 4 * gathered,
            "A2A": gathered, "PAIRS": np.concatenate(pairs, axis=0), "BC": 0.5 * hs[2],
            "SL": hs[1], "N": 4 * n, "Z": z}
    return text, {"x": x, "n": n, "z": z}, refs, [[0], [1, 3], [2]]


def run(cmd):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    if res.returncode != 0:
        print(f"FAILED ({res.returncode}): {' '.join(cmd)}\n{res.stdout}{res.stderr}")
        sys.exit(1)
    return res.stdout


def rel_l2(out, ref):
    out, ref = out.astype(np.float64), ref.astype(np.float64)
    norm = np.linalg.norm(ref)
    return np.linalg.norm(out - ref) / (norm if norm > 0 else 1.0)


def check_case(args, name, build, rng):
    text, inputs, refs, programs = build(rng)
    work = os.path.join(os.path.abspath(args.workdir), name)
    os.makedirs(work, exist_ok=True)
    source = os.path.join(work, name + ".mlir")
    with open(source, "w", encoding="utf-8") as handle:
        handle.write(text)
    out = os.path.join(work, "out")
    results = os.path.join(work, "outputs")
    print(run([args.ssc, "compile", source, "-o", out]), end="")
    run_cmd = [args.ssc, "run", out, "--output-dir", results]
    for input_name, array in inputs.items():
        path = os.path.join(work, input_name + ".npy")
        np.save(path, array)
        run_cmd += ["--input", f"{input_name}={path}"]
    run(run_cmd)

    ok = True
    with open(os.path.join(out, "manifest.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    got = [p["ranks"] for p in manifest["programs"]]
    if got != programs:
        print(f"{name}: programs share ranks {got}, expected {programs} MISMATCH")
        ok = False
    for rank in manifest["ranks"]:
        if not os.path.isfile(os.path.join(out, rank["weights"])):
            print(f"{name}: rank {rank['rank']} has no weights file MISMATCH")
            ok = False
    for output, ref in refs.items():
        path = os.path.join(results, output + ".npy")
        if not os.path.exists(path):
            print(f"{name} output {output}: not written MISMATCH")
            ok = False
            continue
        value = np.load(path)
        if value.shape != ref.shape or value.dtype != ref.dtype:
            print(f"{name} output {output}: {value.dtype}{list(value.shape)}, expected "
                  f"{ref.dtype}{list(ref.shape)} MISMATCH")
            ok = False
            continue
        err = rel_l2(value, ref)
        good = err <= args.tolerance
        ok &= good
        print(f"{name} output {output}: rel_l2 {err:.3e} (tolerance {args.tolerance:g}) "
              f"{'OK' if good else 'MISMATCH'}")
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ssc", required=True, help="path to the ssc executable")
    parser.add_argument("--workdir", required=True, help="scratch directory")
    parser.add_argument("--tolerance", type=float, default=1e-5,
                        help="max relative L2 error per output (default 1e-5)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    ok = True
    for name, build in (("dp2", case_dp2), ("collectives", case_collectives)):
        ok &= check_case(args, name, build, rng)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
