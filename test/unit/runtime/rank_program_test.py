"""Drives the hand-written two-rank program (rank_program.cpp) under mpirun:
correct output, plan mismatch, a bad input on one rank, a rank killed
mid-run, and comm misuse. Every failure must end the whole job non-zero and
fast; a hang fails the test through a timeout instead of blocking it."""

import argparse
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

# Ample for a job that should end in about a second; a hang hits it.
JOB_TIMEOUT_S = 60
# How long a killed rank may take to bring down the rest (the brief's bound).
KILL_BOUND_S = 30

WEIGHTS = {0: [1.0, 2.0, 3.0], 1: [-1.0, 0.5, 4.0]}
# The FNV-1a 64 checksums rank_program.cpp carries for these weights.
CHECKSUMS = {0: 0x1DE40D89811FE258, 1: 0xF8E526817A2A7C85}

failures = []


def check(condition, what, detail=""):
    status = "ok  " if condition else "FAIL"
    print(f"{status} {what}" + (f"\n     {detail}" if detail and not condition else ""))
    if not condition:
        failures.append(what)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def process_alive(pid):
    """Whether pid runs (a zombie has finished)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Job:
    """An mpirun invocation in its own session, killed whole on timeout."""

    def __init__(self, mpiexec, apps, env=None):
        # apps: list of (np, argv) for an MPMD command line.
        cmd = [mpiexec[0]] + mpiexec[1:]
        for i, (np_, argv) in enumerate(apps):
            if i:
                cmd.append(":")
            cmd += ["-np", str(np_)] + argv
        self.cmd = cmd
        self.start = time.monotonic()
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env, start_new_session=True)

    def wait(self, timeout=JOB_TIMEOUT_S):
        try:
            out, err = self.proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            out, err = self.proc.communicate()
            timed_out = True
        self.seconds = time.monotonic() - self.start
        return self.proc.returncode, out, err, timed_out


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mpiexec", required=True)
    parser.add_argument("--mpiexec-flag", action="append", default=[],
                        help="a flag for mpiexec (repeat for several)")
    parser.add_argument("--rank0", required=True, help="rank 0's program")
    parser.add_argument("--rank1", required=True, help="rank 1's program")
    parser.add_argument("--shared", required=True,
                        help="the program both ranks run")
    parser.add_argument("--other-plan", required=True,
                        help="rank 1's program from another compilation")
    parser.add_argument("--comm-test", required=True)
    args = parser.parse_args()
    mpiexec = [args.mpiexec] + args.mpiexec_flag

    work = tempfile.mkdtemp(prefix="ssrt-rank-program-")
    for rank, values in WEIGHTS.items():
        with open(os.path.join(work, f"w{rank}.bin"), "wb") as f:
            f.write(struct.pack("<3f", *values))
    rng = np.random.default_rng(7)
    x = rng.integers(-8, 8, size=(4, 3)).astype(np.float32)
    ids = np.array([10, 20], dtype=np.int64)
    np.save(os.path.join(work, "x.npy"), x)
    np.save(os.path.join(work, "ids.npy"), ids)
    # The same array with its last 4 bytes missing.
    with open(os.path.join(work, "x.npy"), "rb") as f:
        whole = f.read()
    with open(os.path.join(work, "x_truncated.npy"), "wb") as f:
        f.write(whole[:-4])

    def argv(program, x_file="x.npy", out_dir="out", extra=()):
        return [program, "--weights", os.path.join(work, "w%d.bin"),
                "--input", "x=" + os.path.join(work, x_file),
                "--input", "ids=" + os.path.join(work, "ids.npy"),
                "--output-dir", os.path.join(work, out_dir)] + list(extra)

    # The program accepts a weights file only with the checksum it carries.
    for rank in WEIGHTS:
        with open(os.path.join(work, f"w{rank}.bin"), "rb") as f:
            got = fnv1a64(f.read())
        check(got == CHECKSUMS[rank],
              f"FNV-1a 64 of rank {rank}'s weights is the program's",
              f"{got:#018x} != {CHECKSUMS[rank]:#018x}")

    # (a) Correct output: rank r holds rows 2r, 2r+1 and weights w_r.
    w = np.array([WEIGHTS[0], WEIGHTS[0], WEIGHTS[1], WEIGHTS[1]],
                 dtype=np.float32)
    expected = (0.5 * (x * w).sum(axis=0) + ids[0]).astype(np.float32)
    rc, out, err, timed_out = Job(mpiexec, [(1, argv(args.rank0)),
                                            (1, argv(args.rank1))]).wait()
    check(rc == 0 and not timed_out, "two programs, one per rank, exit 0",
          err)
    y_path = os.path.join(work, "out", "y.npy")
    if os.path.exists(y_path):
        y = np.load(y_path)
        check(y.dtype == np.float32 and y.shape == (3,) and
              np.allclose(y, expected, rtol=1e-6, atol=1e-6),
              "output y matches numpy (tolerance 1e-6)",
              f"got {y}, expected {expected}")
    else:
        check(False, "output y written by rank 0", err)

    # One program run by both ranks, with timing: one latency line, rank 0's.
    rc, out, err, timed_out = Job(mpiexec, [(2, argv(
        args.shared, extra=["--warmup", "1", "--iterations", "3"]))]).wait()
    lines = [l for l in out.splitlines() if l.startswith("latency_ms")]
    check(rc == 0 and not timed_out and len(lines) == 1 and
          lines[0].endswith("iterations 3"),
          "shared program under mpirun -np 2 prints one latency line",
          out + err)

    # Launch mistakes, each a clear message and a non-zero exit.
    rc, out, err, timed_out = Job(mpiexec, [(3, argv(args.shared))]).wait()
    check(rc != 0 and not timed_out and
          "this program was built for 2 ranks, but MPI started 3" in err,
          "wrong world size is refused", err)
    rc, out, err, timed_out = Job(mpiexec, [(2, argv(args.rank0))]).wait()
    check(rc != 0 and not timed_out and
          "error: rank 1: this program was built for ranks 0, not rank 1"
          in err, "a program run by a rank it was not built for is refused",
          err)

    # (b) Programs of different compilations.
    rc, out, err, timed_out = Job(mpiexec, [(1, argv(args.rank0)),
                                            (1, argv(args.other_plan))]).wait()
    check(rc != 0 and not timed_out and
          "error: ranks from different compilations: rank 0 has plan "
          "5eed0001, rank 1 has 0ther0002" in err,
          "plan mismatch: every rank exits non-zero, rank 0 says which", err)

    # (c) A bad input on one rank only: rank 1's copy of x is truncated.
    job = Job(mpiexec, [(1, argv(args.rank0)),
                        (1, argv(args.rank1, x_file="x_truncated.npy"))])
    rc, out, err, timed_out = job.wait()
    check(rc != 0 and not timed_out and "error: rank 1: input \"x\": " in err
          and "truncated .npy data" in err,
          f"bad input on rank 1 ends the job ({job.seconds:.1f} s)", err)

    # A kernel error on one rank ends every rank, the others being blocked in
    # the all-reduce by then.
    env = dict(os.environ, SS_TEST_KERNEL_ERROR_RANK="1")
    job = Job(mpiexec, [(2, argv(args.shared))], env=env)
    rc, out, err, timed_out = job.wait()
    check(rc != 0 and not timed_out and
          "error: rank 1: ssrt: insertBox: box of size 4 at offset 0 in dim 0 "
          "does not fit in size 3" in err,
          f"a kernel error on rank 1 ends the job ({job.seconds:.1f} s)", err)

    # (d) SIGKILL one rank mid-run: mpirun must end non-zero, leaving no rank.
    pid_dir = os.path.join(work, "pids")
    os.mkdir(pid_dir)
    env = dict(os.environ, SS_TEST_STEP_SLEEP_MS="50", SS_TEST_PID_DIR=pid_dir)
    job = Job(mpiexec, [(2, argv(args.shared, extra=["--iterations", "2000"]))],
              env=env)
    pids = {}
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while len(pids) < 2 and time.monotonic() < deadline and \
            job.proc.poll() is None:
        for rank in (0, 1):
            path = os.path.join(pid_dir, f"rank{rank}.pid")
            if rank not in pids and os.path.exists(path):
                text = open(path).read().strip()
                if text:
                    pids[rank] = int(text)
        time.sleep(0.05)
    if len(pids) == 2:
        time.sleep(0.5)  # a few steps into the run
        killed_at = time.monotonic()
        os.kill(pids[1], signal.SIGKILL)
        rc, out, err, timed_out = job.wait(timeout=KILL_BOUND_S)
        took = time.monotonic() - killed_at
        # mpirun reaps its ranks before it exits; allow a moment regardless.
        survivors = [p for p in pids.values() if process_alive(p)]
        settle = time.monotonic() + 2
        while survivors and time.monotonic() < settle:
            time.sleep(0.1)
            survivors = [p for p in pids.values() if process_alive(p)]
        check(rc != 0 and not timed_out and not survivors,
              f"SIGKILL of rank 1 ends the job in {took:.2f} s "
              f"(bound {KILL_BOUND_S} s), no rank left",
              f"rc {rc}, survivors {survivors}\n{err}")
        for p in survivors:
            os.kill(p, signal.SIGKILL)
    else:
        job.wait(timeout=1)
        check(False, "both ranks started the kill run", str(pids))

    # (e) Misusing a group on one rank ends the job, not just that rank.
    rc, out, err, timed_out = Job(mpiexec, [(2, [args.comm_test,
                                                 "--misuse=not-member"])]).wait()
    check(rc != 0 and not timed_out and
          "error: rank 1: ssrt: allReduceSum: world rank 1 is not a member "
          "of group 0 (members 0)" in err,
          "a collective on a group the rank is not in ends the job", err)

    if failures:
        print(f"{len(failures)} check(s) failed; work files in {work}")
        return 1
    shutil.rmtree(work)
    print("all rank program checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
