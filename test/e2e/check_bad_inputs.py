"""Bad run-time input gets a clear error and a non-zero exit, never a crash:
wrong input shape or dtype, missing or unknown inputs, a non-.npy file, and
weights files that are missing, truncated or corrupted."""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np


def check(name, argv, expect):
    res = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    ok = res.returncode > 0 and expect in res.stderr
    status = "OK" if ok else "FAILED"
    print(f"{status}: {name}: exit {res.returncode}: {res.stderr.strip().splitlines()[-1:] }")
    return ok


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--ssc", required=True)
    p.add_argument("--model", required=True, help="the example MLP (input x [N, 64])")
    p.add_argument("--workdir", required=True)
    args = p.parse_args()
    work = args.workdir
    os.makedirs(work, exist_ok=True)
    out = os.path.join(work, "program")
    subprocess.run([args.ssc, "compile", args.model, "-o", out, "-q",
                    "--input-shape", "x=8,64"], check=True)
    good = os.path.join(work, "x.npy")
    np.save(good, np.ones((8, 64), np.float32))
    # Build once through ssc run with a good input.
    subprocess.run([args.ssc, "run", out, "--input", f"x={good}",
                    "--output-dir", os.path.join(work, "o")], check=True)
    binary = os.path.join(out, "build", "rank0")
    weights = os.path.join(out, "rank0.weights")

    wrong_shape = os.path.join(work, "wrong_shape.npy")
    np.save(wrong_shape, np.ones((8, 65), np.float32))
    wrong_dtype = os.path.join(work, "wrong_dtype.npy")
    np.save(wrong_dtype, np.ones((8, 64), np.float64))
    not_npy = os.path.join(work, "not.npy")
    with open(not_npy, "wb") as f:
        f.write(b"definitely not numpy")
    truncated = os.path.join(work, "truncated.weights")
    corrupted = os.path.join(work, "corrupted.weights")
    data = open(weights, "rb").read()
    with open(truncated, "wb") as f:
        f.write(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0xFF
    with open(corrupted, "wb") as f:
        f.write(bytes(flipped))

    od = ["--output-dir", os.path.join(work, "o")]
    results = [
        check("wrong input shape", [binary, "--weights", weights, "--input", f"x={wrong_shape}", *od], "expected shape"),
        check("wrong input dtype", [binary, "--weights", weights, "--input", f"x={wrong_dtype}", *od], "'<f8'"),
        check("missing input", [binary, "--weights", weights, *od], "x"),
        check("unknown input", [binary, "--weights", weights, "--input", f"x={good}", "--input", f"nope={good}", *od], "nope"),
        check("not an npy file", [binary, "--weights", weights, "--input", f"x={not_npy}", *od], "not.npy"),
        check("missing weights", [binary, "--weights", os.path.join(work, "absent.weights"), "--input", f"x={good}", *od], "absent.weights"),
        check("truncated weights", [binary, "--weights", truncated, "--input", f"x={good}", *od], "truncated.weights"),
        check("corrupted weights", [binary, "--weights", corrupted, "--input", f"x={good}", *od], "checksum"),
        check("ssc run without a compiled dir", [args.ssc, "run", os.path.join(work, "nothing")], "manifest.json"),
    ]
    shutil.rmtree(os.path.join(work, "o"), ignore_errors=True)
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
