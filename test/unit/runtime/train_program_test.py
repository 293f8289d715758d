"""Drives the hand-written two-rank training program (train_program.cpp)
under mpirun: per-step loss lines against a numpy simulation, --data
cycling, checkpoints and their format, kill and resume, corrupt checkpoints
never loaded, and usage errors. Every job runs under a timeout, so a hang
fails the test instead of blocking it."""

import argparse
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

JOB_TIMEOUT_S = 60
LOSS_RTOL = 1e-6

# Initial state of each rank (train_program.cpp carries these checksums):
# w replicated, b per rank, 0 steps seen.
W0 = [0.25, -0.5, 0.75]
B0 = {0: 0.5, 1: -0.25}
STATE_FORMAT = "<4fq"
PLAN = "7a1a5eed00112233445566778899aabb"
HEADER = struct.Struct("<8sQQQQQ16s")
LR = np.float32(0.1)
LINE = re.compile(r"step (\d+) loss (\S+) (\d+\.\d) samples/s")

failures = []


def check(condition, what, detail=""):
    status = "ok  " if condition else "FAIL"
    print(f"{status} {what}" + (f"\n     {detail}" if detail and not condition
                                else ""))
    if not condition:
        failures.append(what)
    return condition


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


# --- numpy simulation of train_program.cpp, in float32 op for op ------------

def initial_state():
    return {r: (np.array(W0, np.float32), np.float32(B0[r]), 0)
            for r in (0, 1)}


def simulate(state, x, labels):
    """One step: returns (loss, new state)."""
    partials, errors = [], {}
    for r in (0, 1):
        w, b, _ = state[r]
        xs, ts = x[2 * r:2 * r + 2], labels[2 * r:2 * r + 2]
        e = ((xs[:, 0] * w[0] + xs[:, 1] * w[1]) + xs[:, 2] * w[2]) + b - ts
        p = np.empty(4, np.float32)
        p[0] = np.float32(0.25) * (e[0] * e[0] + e[1] * e[1])
        p[1:] = np.float32(0.5) * (e[0] * xs[0] + e[1] * xs[1])
        partials.append(p)
        errors[r] = e
    total = partials[0] + partials[1]
    new = {}
    for r in (0, 1):
        w, b, n = state[r]
        e = errors[r]
        new[r] = (w - LR * total[1:],
                  np.float32(b - LR * (np.float32(0.5) * (e[0] + e[1]))),
                  n + 1)
    return float(total[0]), new


def run_simulation(batches, steps):
    """Losses of steps 1..steps and the state after each, step s using
    batches[s mod len]."""
    state, losses, states = initial_state(), [], []
    for s in range(steps):
        loss, state = simulate(state, *batches[s % len(batches)])
        losses.append(loss)
        states.append(state)
    return losses, states


def state_bytes(w, b, n):
    return struct.pack(STATE_FORMAT, *[float(v) for v in w], float(b), n)


def payload_matches(payload, expected):
    """A state payload against a simulated (w, b, n), floats within
    LOSS_RTOL, the step counter exactly."""
    got = struct.unpack(STATE_FORMAT, payload)
    w, b, n = expected
    want = [float(v) for v in w] + [float(b)]
    return (got[4] == n and
            np.allclose(got[:4], want, rtol=LOSS_RTOL, atol=1e-7)), got


# --- jobs -------------------------------------------------------------------

class Job:
    """An mpirun invocation in its own session; stdout is collected line by
    line as it comes, so a test can act on progress."""

    def __init__(self, mpiexec, apps, env=None, cwd=None):
        cmd = list(mpiexec)
        for i, (np_, argv) in enumerate(apps):
            if i:
                cmd.append(":")
            cmd += ["-np", str(np_)] + argv
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env, cwd=cwd, start_new_session=True)
        self.lines = []
        self.err = ""
        self.new_line = threading.Condition()
        self.readers = [threading.Thread(target=self._read_out),
                        threading.Thread(target=self._read_err)]
        for t in self.readers:
            t.start()

    def _read_out(self):
        for line in self.proc.stdout:
            with self.new_line:
                self.lines.append(line.rstrip("\n"))
                self.new_line.notify_all()

    def _read_err(self):
        self.err = self.proc.stderr.read()

    def wait_for_line(self, prefix, timeout=JOB_TIMEOUT_S):
        """Whether a line starting with prefix came before the timeout or
        the job's end."""
        deadline = time.monotonic() + timeout
        with self.new_line:
            while True:
                if any(l.startswith(prefix) for l in self.lines):
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    return False
                self.new_line.wait(min(left, 0.1))

    def kill(self):
        """SIGKILL to mpirun's process group, then to anything left in its
        session (a rank in a group of its own)."""
        sid = self.proc.pid
        try:
            os.killpg(sid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for pid in session_members(sid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self, timeout=JOB_TIMEOUT_S):
        try:
            self.proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            self.kill()
            self.proc.wait()
            timed_out = True
        for t in self.readers:
            t.join()
        return self.proc.returncode, "\n".join(self.lines), self.err, timed_out


def session_members(sid):
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        # After the name: state, ppid, pgrp, session.
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(entry))
    return pids


def step_lines(out):
    """(step, loss, rate) of every step line."""
    steps = []
    for line in out.splitlines():
        m = LINE.fullmatch(line)
        if m:
            steps.append((int(m.group(1)), float(m.group(2)),
                          float(m.group(3))))
    return steps


def losses_match(steps, expected_losses, first):
    """Steps first..first+len-1 in order, losses within LOSS_RTOL."""
    numbers = [s for s, _, _ in steps]
    want = list(range(first, first + len(expected_losses)))
    if numbers != want:
        return False, f"steps {numbers}, expected {want}"
    got = np.array([l for _, l, _ in steps])
    if not np.allclose(got, expected_losses, rtol=LOSS_RTOL, atol=0):
        return False, f"losses {got.tolist()}, expected {expected_losses}"
    if any(rate <= 0 for _, _, rate in steps):
        return False, "a non-positive samples/s"
    return True, ""


def read_state(path):
    with open(path, "rb") as f:
        data = f.read()
    return HEADER.unpack(data[:64]), data[64:]


def checkpoint_problems(step_dir, step, expected_states=None):
    """What is wrong with checkpoint step_dir as the format defines it (empty
    when it is complete); payloads are compared with the simulated states
    when given."""
    problems = []
    try:
        with open(os.path.join(step_dir, "checkpoint.json")) as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        return [f"manifest: {e}"]
    want = {"format": "ssc-checkpoint", "version": 1,
            "model": "train_program", "plan": PLAN, "step": step,
            "world_size": 2, "files": ["rank0.state", "rank1.state"]}
    if manifest != want:
        problems.append(f"manifest {manifest}")
    for r in (0, 1):
        (magic, h_step, h_rank, h_size, h_bytes, h_sum, h_plan), payload = \
            read_state(os.path.join(step_dir, f"rank{r}.state"))
        header = (magic, h_step, h_rank, h_size, h_bytes, h_plan)
        want_header = (b"SSCKPT01", step, r, 2, 24,
                       PLAN[:16].encode())
        if header != want_header or len(payload) != 24:
            problems.append(f"rank{r}.state header {header}, "
                            f"{len(payload)} payload bytes")
        if fnv1a64(payload) != h_sum:
            problems.append(f"rank{r}.state checksum")
        if expected_states is not None:
            ok, got = payload_matches(payload, expected_states[r])
            if not ok:
                problems.append(f"rank{r}.state payload {got}, expected "
                                f"{expected_states[r]}")
    leftovers = [n for n in os.listdir(step_dir) if n.endswith(".tmp")]
    if leftovers:
        problems.append(f"leftover {leftovers}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mpiexec", required=True)
    parser.add_argument("--mpiexec-flag", action="append", default=[],
                        help="a flag for mpiexec (repeat for several)")
    parser.add_argument("--rank0", required=True, help="rank 0's program")
    parser.add_argument("--rank1", required=True, help="rank 1's program")
    parser.add_argument("--inference", required=True,
                        help="an inference program for both ranks "
                             "(ssrt-rank-program-shared)")
    args = parser.parse_args()
    mpiexec = [args.mpiexec] + args.mpiexec_flag
    # Some jobs run in another working directory.
    for name in ("rank0", "rank1", "inference"):
        setattr(args, name, os.path.abspath(getattr(args, name)))

    work = tempfile.mkdtemp(prefix="ssrt-train-program-")
    path = lambda *p: os.path.join(work, *p)
    for r in (0, 1):
        with open(path(f"w{r}.bin"), "wb") as f:
            f.write(state_bytes(W0, B0[r], 0))
    rng = np.random.default_rng(11)
    batches = [(rng.uniform(-1, 1, (4, 3)).astype(np.float32),
                rng.uniform(-1, 1, (4,)).astype(np.float32))
               for _ in range(3)]
    np.save(path("x.npy"), batches[0][0])
    np.save(path("labels.npy"), batches[0][1])
    os.mkdir(path("data"))
    for i, (x, labels) in enumerate(batches):
        np.save(path("data", f"x.{i}.npy"), x)
        # "labels:0" -> "labels_0", as output names are made file names.
        np.save(path("data", f"labels_0.{i}.npy"), labels)

    input_args = ["--input", "x=" + path("x.npy"),
                  "--input", "labels:0=" + path("labels.npy")]

    def train(extra, inputs=None, env=None, cwd=None):
        """A job of both ranks' programs with the same arguments."""
        argv = lambda program: ([program, "--weights", path("w%d.bin")] +
                                (input_args if inputs is None else inputs) +
                                list(extra))
        return Job(mpiexec, [(1, argv(args.rank0)), (1, argv(args.rank1))],
                   env=env, cwd=cwd)

    # (a) Loss lines against numpy, the same inputs every step, then --data
    # cycling through 3 files.
    losses, states = run_simulation(batches[:1], 20)
    os.mkdir(path("cwd"))
    rc, out, err, timed_out = train(["--steps", "5"], cwd=path("cwd")).wait()
    steps = step_lines(out)
    ok, detail = losses_match(steps, losses[:5], 1)
    check(rc == 0 and not timed_out and ok and
          len(out.splitlines()) == 5,
          "--input, 5 steps: 5 lines 'step i loss L R samples/s', L as "
          f"numpy (rel {LOSS_RTOL})", detail + "\n" + out + err)
    check(rc == 0 and os.listdir(path("cwd")) == [],
          "no outputs written without --output-dir",
          str(os.listdir(path("cwd"))))

    data_losses, _ = run_simulation(batches, 5)
    rc, out, err, timed_out = train(
        ["--data", path("data"), "--steps", "5", "--output-dir",
         path("out")], inputs=[]).wait()
    ok, detail = losses_match(step_lines(out), data_losses, 1)
    check(rc == 0 and not timed_out and ok,
          "--data with 3 files, 5 steps: losses as numpy cycling the files",
          detail + "\n" + out + err)
    loss_file = path("out", "loss.npy")
    check(os.path.exists(loss_file) and
          np.load(loss_file).shape == () and
          np.isclose(np.load(loss_file), data_losses[-1], rtol=LOSS_RTOL),
          "--output-dir writes the last step's loss", err)

    # (b) Checkpoints every 2 steps and after the last: step-2, -4, -5, each
    # complete, payloads as numpy.
    ckpt = path("ckpt-b")
    rc, out, err, timed_out = train(
        ["--steps", "5", "--checkpoint-dir", ckpt, "--checkpoint-every",
         "2"]).wait()
    check(rc == 0 and not timed_out and
          sorted(os.listdir(ckpt)) == ["step-2", "step-4", "step-5"],
          "--checkpoint-every 2 --steps 5 writes step-2, step-4, step-5",
          str(os.listdir(ckpt) if os.path.isdir(ckpt) else None) + err)
    for s in (2, 4, 5):
        problems = checkpoint_problems(os.path.join(ckpt, f"step-{s}"), s,
                                       states[s - 1])
        check(not problems,
              f"step-{s}: manifest, headers, checksums, payload as numpy",
              "; ".join(problems))

    # (c) Kill and resume. The reference: 20 steps uninterrupted.
    ref = path("ckpt-ref")
    rc, out, err, timed_out = train(
        ["--steps", "20", "--checkpoint-dir", ref, "--checkpoint-every",
         "5"]).wait()
    ref_lines = out.splitlines()
    ok, detail = losses_match(step_lines(out), losses[:20], 1)
    check(rc == 0 and not timed_out and ok and
          sorted(os.listdir(ref)) == ["step-10", "step-15", "step-20",
                                      "step-5"],
          "20 uninterrupted steps with checkpoints every 5", detail + err)

    def state_files(step_dir):
        files = {}
        for r in (0, 1):
            with open(os.path.join(step_dir, f"rank{r}.state"), "rb") as f:
                files[r] = f.read()
        return files

    ref20 = state_files(os.path.join(ref, "step-20"))
    check(not checkpoint_problems(os.path.join(ref, "step-20"), 20,
                                  states[19]),
          "the reference's step-20 payload is numpy's after 20 steps")

    killed = path("ckpt-kill")
    env = dict(os.environ, SS_TEST_STEP_SLEEP_MS="150")
    job = train(["--steps", "20", "--checkpoint-dir", killed,
                 "--checkpoint-every", "5"], env=env)
    saw12 = job.wait_for_line("step 12 ")
    job.kill()
    rc, out, err, timed_out = job.wait()
    # Killed ranks take a moment to go.
    settle = time.monotonic() + 5
    leftover = session_members(job.proc.pid)
    while leftover and time.monotonic() < settle:
        time.sleep(0.1)
        leftover = session_members(job.proc.pid)
    check(saw12 and rc != 0 and not leftover,
          "SIGKILL of the job once it printed step 12 ends it, no rank left",
          f"rc {rc}, left {leftover}\n{out}\n{err}")
    complete = sorted(d for d in os.listdir(killed)
                      if os.path.exists(os.path.join(killed, d,
                                                     "checkpoint.json")))
    check(complete == ["step-10", "step-5"],
          "the killed run left complete checkpoints step-5 and step-10 only",
          str(complete))
    rc, out, err, timed_out = train(
        ["--steps", "20", "--resume", killed, "--checkpoint-dir", killed,
         "--checkpoint-every", "5"]).wait()
    lines = out.splitlines()
    # "step S loss L" of each line, the rate left out.
    step_and_loss = lambda ls: [l.rsplit(" ", 2)[0] for l in ls]
    check(rc == 0 and not timed_out and lines and
          lines[0] == f"resumed from {killed}/step-10 at step 10" and
          step_and_loss(lines[1:]) == step_and_loss(ref_lines[10:]),
          "--resume prints 'resumed from D/step-10 at step 10', then steps "
          "11..20 with the reference's very losses", out + err)
    check(state_files(os.path.join(killed, "step-20")) == ref20,
          "the resumed run's step-20 state files equal the uninterrupted "
          "run's byte for byte")

    # A checkpoint at or beyond --steps: nothing to run.
    rc, out, err, timed_out = train(["--steps", "10", "--resume", ref]).wait()
    check(rc == 0 and not timed_out and out.splitlines() == [
        f"resumed from {ref}/step-20 at step 20",
        "checkpoint step 20 is already at or beyond --steps 10; nothing to "
        "run"], "a checkpoint at step 20 with --steps 10 runs nothing",
        out + err)

    # (d) An interrupted or corrupt newest checkpoint is never loaded.
    def corrupt_manifest(d):
        os.rename(os.path.join(d, "checkpoint.json"),
                  os.path.join(d, "checkpoint.json.tmp"))

    def truncate_rank1(d):
        p = os.path.join(d, "rank1.state")
        os.truncate(p, os.path.getsize(p) - 4)

    def flip_payload_byte(d):
        p = os.path.join(d, "rank0.state")
        with open(p, "r+b") as f:
            f.seek(64 + 5)
            b = f.read(1)
            f.seek(64 + 5)
            f.write(bytes([b[0] ^ 0x10]))

    def rank1_not_renamed(d):
        os.rename(os.path.join(d, "rank1.state"),
                  os.path.join(d, "rank1.state.tmp"))

    def other_plan(d):
        p = os.path.join(d, "rank1.state")
        with open(p, "r+b") as f:
            f.seek(48)
            f.write(b"0ther")

    corruptions = [
        ("checkpoint.json missing (left as .tmp)", corrupt_manifest),
        ("rank1.state truncated", truncate_rank1),
        ("one payload byte of rank0.state flipped", flip_payload_byte),
        ("rank1.state never renamed from .tmp", rank1_not_renamed),
        ("rank1.state from another plan", other_plan),
    ]
    for i, (what, corrupt) in enumerate(corruptions):
        d = path(f"ckpt-d{i}")
        shutil.copytree(ref, d)
        corrupt(os.path.join(d, "step-20"))
        rc, out, err, timed_out = train(
            ["--steps", "20", "--resume", d, "--checkpoint-dir", d]).wait()
        lines = out.splitlines()
        ok, detail = losses_match(step_lines(out), losses[15:20], 16)
        check(rc == 0 and not timed_out and lines and
              lines[0] == f"resumed from {d}/step-15 at step 15" and ok and
              state_files(os.path.join(d, "step-20")) == ref20 and
              sorted(os.listdir(os.path.join(d, "step-20"))) ==
              ["checkpoint.json", "rank0.state", "rank1.state"],
              f"{what}: resumes from step-15, and rewrites step-20 as the "
              "uninterrupted run's", detail + "\n" + out + err)

    # No complete checkpoint at all: a clear error from the rank that sees
    # what is wrong (here only rank 1 can).
    d = path("ckpt-none")
    os.mkdir(d)
    shutil.copytree(os.path.join(ref, "step-20"), os.path.join(d, "step-20"))
    truncate_rank1(os.path.join(d, "step-20"))
    rc, out, err, timed_out = train(["--steps", "25", "--resume", d]).wait()
    check(rc != 0 and not timed_out and
          f"error: rank 1: no complete checkpoint in {d}; the newest, "
          f"step-20, is not: {d}/step-20/rank1.state: truncated (84 bytes, "
          "expected 88)" in err and not step_lines(out),
          "no complete checkpoint: non-zero exit, the reason named", err)
    d = path("ckpt-empty")
    os.mkdir(d)
    rc, out, err, timed_out = train(["--steps", "5", "--resume", d]).wait()
    check(rc != 0 and not timed_out and
          f"no complete checkpoint in {d} (no step-<s> directories)" in err,
          "an empty checkpoint directory: non-zero exit", err)

    # (e) Usage errors: a clear message and a non-zero exit, never a hang.
    def usage_error(job, message, what):
        rc, out, err, timed_out = job.wait()
        check(rc != 0 and not timed_out and message in err, what, err)

    usage_error(Job(mpiexec, [(2, [args.inference, "--steps", "3"])]),
                "error: --steps is only for training programs; this program "
                "runs inference", "--steps on an inference program")
    usage_error(train(["--checkpoint-every", "2"]),
                "error: --checkpoint-every needs --checkpoint-dir DIR",
                "--checkpoint-every without --checkpoint-dir")
    usage_error(train(["--data", path("data")]),
                "error: --data and --input are mutually exclusive",
                "--data with --input")
    usage_error(train(["--warmup", "1"]),
                "error: --warmup is only for inference programs",
                "--warmup on a training program")
    os.mkdir(path("data-short"))
    for i in range(3):
        shutil.copy(path("data", f"x.{i}.npy"), path("data-short"))
    for i in range(2):
        shutil.copy(path("data", f"labels_0.{i}.npy"), path("data-short"))
    usage_error(train(["--data", path("data-short")], inputs=[]),
                f"input \"labels:0\" has no file "
                f"{path('data-short', 'labels_0.2.npy')}",
                "--data with a missing file names it")
    shutil.copy(path("data", "labels_0.2.npy"), path("data-short"))
    shutil.copy(path("data", "labels_0.2.npy"),
                path("data-short", "labels_0.3.npy"))
    usage_error(train(["--data", path("data-short")], inputs=[]),
                "input \"labels:0\" has more files than input \"x\" (3): "
                f"{path('data-short', 'labels_0.3.npy')}",
                "--data with an extra file names it")
    os.remove(path("data-short", "labels_0.3.npy"))
    np.save(path("data-short", "labels_0.2.npy"),
            np.zeros(5, np.float32))
    usage_error(train(["--data", path("data-short")], inputs=[]),
                "input \"labels:0\": expected shape [4] float32, got [5] "
                f"float32 from {path('data-short', 'labels_0.2.npy')}",
                "--data with a file of the wrong shape")
    with open(path("plainfile"), "w") as f:
        f.write("x")
    usage_error(train(["--checkpoint-dir", path("plainfile", "ckpt")]),
                "cannot create checkpoint directory",
                "an uncreatable --checkpoint-dir")
    # A checkpoint that cannot be written mid-run ends the job.
    os.mkdir(path("ckpt-blocked"))
    with open(path("ckpt-blocked", "step-2"), "w") as f:
        f.write("x")
    usage_error(train(["--steps", "3", "--checkpoint-dir",
                       path("ckpt-blocked"), "--checkpoint-every", "2"]),
                "error: rank 0: checkpoint: cannot create "
                f"{path('ckpt-blocked', 'step-2')}",
                "a checkpoint write failure after step 2 ends the job")

    if failures:
        print(f"{len(failures)} check(s) failed; work files in {work}")
        return 1
    shutil.rmtree(work)
    print("all training program checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
