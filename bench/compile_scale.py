#!/usr/bin/env python3
"""How the compiler scales with model depth and rank count.

Builds GPT-style decoders with models/build_models.py --decoder-size,
compiles each under each plan, and prints a table: wall time, peak resident
memory of ssc (from the kernel's rusage of the child), the number of ranks
and of distinct rank sources, and the output size on disk (identical weight
shards are hard links and count once). Nothing asserts on time.

  bench/compile_scale.py --ssc build/tools/ssc/ssc --workdir /tmp/scale \\
      --size 48,256,8,16,32 --plan dp=16,tp=8
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_MODELS = os.path.join(HERE, "..", "models", "build_models.py")


def disk_bytes(path):
    """Bytes under `path`, counting each hard-linked file once."""
    seen, total = set(), 0
    for root, _, files in os.walk(path):
        for name in files:
            info = os.lstat(os.path.join(root, name))
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_size
    return total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ssc", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--size", action="append", default=[],
                        metavar="LAYERS,HIDDEN,HEADS,BATCH,SEQ",
                        help="decoder size (repeatable; default 48,256,8,16,32)")
    parser.add_argument("--plan", action="append", default=[],
                        help="plan (repeatable; default dp=16,tp=8)")
    args = parser.parse_args(argv)
    sizes = args.size or ["48,256,8,16,32"]
    plans = args.plan or ["dp=16,tp=8"]
    os.makedirs(args.workdir, exist_ok=True)

    rows = []
    for size in sizes:
        model_dir = os.path.join(args.workdir, "model_" + size.replace(",", "_"))
        subprocess.run([sys.executable, BUILD_MODELS, model_dir, "--only",
                        "gpt_decoder.onnx", "--decoder-size", size],
                       check=True, stdout=subprocess.DEVNULL)
        model = os.path.join(model_dir, "gpt_decoder.onnx")
        for plan in plans:
            out = os.path.join(args.workdir, "out")
            subprocess.run(["rm", "-rf", out], check=True)
            start = time.perf_counter()
            child = subprocess.Popen([args.ssc, "compile", model, "--plan",
                                      plan, "-q", "-o", out],
                                     stderr=subprocess.PIPE)
            # wait4 gives this child's own peak resident set (KiB on Linux).
            _, status, usage = os.wait4(child.pid, 0)
            elapsed = time.perf_counter() - start
            if os.waitstatus_to_exitcode(status) != 0:
                print(child.stderr.read().decode(errors="replace"))
                return 1
            with open(os.path.join(out, "manifest.json"), encoding="utf-8") as f:
                manifest = json.load(f)
            rows.append((size, plan, manifest["world_size"],
                         len(manifest["programs"]), elapsed,
                         usage.ru_maxrss / 1024.0,
                         disk_bytes(out) / 2**20,
                         os.path.getsize(model) / 2**20))
    header = ("decoder L,H,A,B,S", "plan", "ranks", "sources", "compile s",
              "peak MiB", "output MiB", "model MiB")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.1f} | "
              f"{r[5]:.0f} | {r[6]:.0f} | {r[7]:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
