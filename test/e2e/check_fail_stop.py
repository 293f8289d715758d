#!/usr/bin/env python3
"""If one rank of a compiled program dies, every rank stops, non-zero.

Compiles a model for two ranks, starts `ssc run` with many timed steps,
waits until both rank processes run, kills rank 1 with SIGKILL, and checks
that `ssc run` exits non-zero within 30 s with no rank process left. Then
checks the other fail-stop path: an input file that is cut short fails on
every rank's read, and the run ends non-zero without hanging.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

import numpy as np

LIMIT_S = 30


def rank_pids(out_dir, binary):
    """Pids of running processes whose executable is the rank binary (built
    into OUT/build by ssc run)."""
    paths = {os.path.realpath(os.path.join(out_dir, where, binary))
             for where in ("build", ".")}
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.path.realpath(f"/proc/{entry}/exe") in paths:
                pids.append(int(entry))
        except OSError:
            continue
    return pids


def run(cmd, **kwargs):
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ssc", required=True)
    parser.add_argument("--model", required=True, help="mlp.onnx")
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)
    out = os.path.join(args.workdir, "out")
    proc = run([args.ssc, "compile", args.model, "--input-shape", "x=8,64",
                "--plan", "dp=2", "-q", "-o", out])
    if proc.returncode != 0:
        print(proc.stderr)
        return 1
    x = os.path.join(args.workdir, "x.npy")
    np.save(x, np.ones((8, 64), dtype=np.float32))
    # A first short run builds the binaries, so the timed run below starts
    # the ranks right away.
    proc = run([args.ssc, "run", out, "--input", f"x={x}",
                "--output-dir", args.workdir], timeout=600)
    if proc.returncode != 0:
        print(proc.stdout, proc.stderr)
        return 1

    ok = True
    cmd = [args.ssc, "run", out, "--input", f"x={x}", "--output-dir",
           args.workdir, "--iterations", "100000000"]
    print("+ " + " ".join(cmd), flush=True)
    # A session of its own, so a failing test can take mpirun down with it.
    job = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, start_new_session=True)

    def stop_job():
        try:
            os.killpg(job.pid, signal.SIGKILL)
        except OSError:
            pass
        job.communicate()

    deadline = time.time() + 60
    while time.time() < deadline and not (rank_pids(out, "rank0") and
                                          rank_pids(out, "rank1")):
        time.sleep(0.1)
    victims = rank_pids(out, "rank1")
    if not victims:
        stop_job()
        print("error: the rank processes never started")
        return 1
    time.sleep(1.0)  # let both ranks get into their steps
    os.kill(victims[0], signal.SIGKILL)
    killed = time.time()
    try:
        _, stderr = job.communicate(timeout=LIMIT_S)
    except subprocess.TimeoutExpired:
        stop_job()
        print(f"error: ranks still running {LIMIT_S} s after rank 1 was "
              "killed")
        return 1
    elapsed = time.time() - killed
    left = rank_pids(out, "rank0") + rank_pids(out, "rank1")
    good = job.returncode != 0 and not left
    print(f"killed rank 1: ssc run exited {job.returncode} after "
          f"{elapsed:.2f} s, {len(left)} rank processes left: "
          f"{'OK' if good else 'FAIL'}")
    ok &= good

    # A truncated input: every rank fails reading it; nothing may hang.
    bad = os.path.join(args.workdir, "short.npy")
    with open(x, "rb") as full, open(bad, "wb") as short:
        short.write(full.read()[:-100])
    started = time.time()
    try:
        proc = run([args.ssc, "run", out, "--input", f"x={bad}",
                    "--output-dir", args.workdir], timeout=LIMIT_S)
    except subprocess.TimeoutExpired:
        print(f"error: a bad input hung the run for {LIMIT_S} s")
        return 1
    elapsed = time.time() - started
    good = proc.returncode != 0 and "short.npy" in proc.stderr
    print(f"truncated input: exit {proc.returncode} after {elapsed:.2f} s: "
          f"{'OK' if good else 'FAIL'}")
    if not good:
        print(proc.stderr)
    ok &= good
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
