"""Checks that the arena size ssc compile reports equals the allocation the
compiled program makes (printed by the program with --print-arena)."""
import argparse
import json
import os
import re
import subprocess
import sys


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--ssc", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--workdir", required=True)
    args = p.parse_args()
    out = os.path.join(args.workdir, "program")
    report = subprocess.run([args.ssc, "compile", args.model, "-o", out],
                            check=True, capture_output=True, text=True).stdout
    m = re.search(r"rank 0: arena (\d+) bytes", report)
    if not m:
        print(f"no arena figure in the compile report:\n{report}")
        return 1
    reported = int(m.group(1))
    with open(os.path.join(out, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    # Build through ssc run (no inputs needed to build; the run itself fails
    # on missing inputs, which is fine), then ask the program.
    subprocess.run([args.ssc, "run", out], capture_output=True)
    binary = os.path.join(out, "build", "rank0")
    res = subprocess.run([binary, "--print-arena", "--weights",
                          os.path.join(out, "rank0.weights")],
                         capture_output=True, text=True)
    m = re.search(r"arena_bytes (\d+)", res.stdout)
    if not m:
        print(f"program did not print arena_bytes:\n{res.stdout}{res.stderr}")
        return 1
    allocated = int(m.group(1))
    print(f"compile report: {reported} bytes; manifest: {manifest['arena_bytes']} bytes; "
          f"runtime allocation: {allocated} bytes")
    if not (reported == allocated == manifest["arena_bytes"] == manifest["ranks"][0]["arena_bytes"]):
        print("MISMATCH")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
