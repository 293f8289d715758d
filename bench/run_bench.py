"""Latency of compiled single-rank programs against onnxruntime.

Builds the example models, compiles each with ssc, and measures the median
step latency of the generated program (timed inside the program, so process
start-up is excluded) and of an onnxruntime session (timed around
session.run), both with the same thread count, in one run. Prints a table;
the ratio column is onnxruntime time / SuperScaler time (above 1 is faster).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def make_inputs(model_path, rng):
    model = onnx.load(model_path)
    inits = {i.name for i in model.graph.initializer}
    feeds = {}
    for inp in model.graph.input:
        if inp.name in inits:
            continue
        tt = inp.type.tensor_type
        shape = [d.dim_value if d.dim_value > 0 else 1 for d in tt.shape.dim]
        if tt.elem_type == onnx.TensorProto.INT64:
            feeds[inp.name] = rng.integers(0, 50, size=shape, dtype=np.int64)
        else:
            feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def time_ort(model_path, feeds, threads, warmup, iterations):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
    for _ in range(warmup):
        sess.run(None, feeds)
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def time_ssc(ssc, model_path, feeds, workdir, threads, warmup, iterations):
    out = os.path.join(workdir, "program")
    shapes = [f"--input-shape={k}=" + ",".join(map(str, v.shape)) for k, v in feeds.items()]
    subprocess.run([ssc, "compile", model_path, "-o", out, "-q", *shapes], check=True)
    args = [ssc, "run", out, "--output-dir", os.path.join(workdir, "outputs"),
            "--threads", str(threads), "--warmup", str(warmup),
            "--iterations", str(iterations)]
    for name, value in feeds.items():
        path = os.path.join(workdir, f"{name}.npy")
        np.save(path, value)
        args += ["--input", f"{name}={path}"]
    result = subprocess.run(args, check=True, capture_output=True, text=True)
    match = re.search(r"latency_ms median ([0-9.eE+-]+)", result.stdout)
    if not match:
        sys.exit(f"no latency line in program output:\n{result.stdout}{result.stderr}")
    return float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ssc", required=True, help="path to the ssc binary")
    parser.add_argument("--workdir", required=True, help="scratch directory")
    parser.add_argument("--threads", type=int, default=1, help="threads for both (default 1)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--models", default="gpt_decoder,cnn",
                        help="comma-separated example models to time")
    args = parser.parse_args()

    models_dir = os.path.join(args.workdir, "models")
    subprocess.run([sys.executable, os.path.join(REPO, "models", "build_models.py"), models_dir],
                   check=True, stdout=subprocess.DEVNULL)
    rng = np.random.default_rng(0)
    rows = []
    for name in args.models.split(","):
        path = os.path.join(models_dir, f"{name}.onnx")
        feeds = make_inputs(path, rng)
        work = os.path.join(args.workdir, name)
        os.makedirs(work, exist_ok=True)
        ours = time_ssc(args.ssc, path, feeds, work, args.threads, args.warmup, args.iterations)
        ref = time_ort(path, feeds, args.threads, args.warmup, args.iterations)
        rows.append((name, ref, ours, ref / ours))

    print(f"threads={args.threads} warmup={args.warmup} iterations={args.iterations} (median latency)")
    print(f"{'model':<14} {'onnxruntime ms':>15} {'superscaler ms':>15} {'ort/ours':>9}")
    for name, ref, ours, ratio in rows:
        print(f"{name:<14} {ref:>15.4f} {ours:>15.4f} {ratio:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
