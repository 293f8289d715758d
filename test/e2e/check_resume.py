#!/usr/bin/env python3
"""A killed training run resumes from its newest complete checkpoint and
ends exactly where an uninterrupted run does.

The model (a language model as check_training.py takes it) is compiled
once for training under --plan (default dp=2) and trained on seeded
batches in a --data directory:
  (a) uninterrupted: --steps 20 --checkpoint-dir A, then ssc export;
  (b) killed: --steps 200 --checkpoint-every 5 --checkpoint-dir B in a
      session of its own, SIGKILLed (every process of the session: ssc,
      mpirun and the ranks, which mpirun puts in process groups of their
      own) as soon as stdout shows `step 12`. The newest complete checkpoint
      must then be step-10 (a step takes milliseconds; should the program
      outrun the kill and finish step-15, the attempt is repeated with a
      fresh B, at most 3 times). `ssc run --resume B --steps 20
      --checkpoint-dir B` must print `resumed from B/step-10 at step 10` and
      steps 11..20 whose loss strings equal run (a)'s, and the model
      exported from B must equal (a)'s bitwise;
  (c) broken newest checkpoint: copies of B (now step-5, step-10, step-20)
      whose step-20 lost its checkpoint.json, had a rank file cut short, or
      had one byte of a rank file flipped, must each resume from the
      previous complete checkpoint (step-10), print steps 11..20 equal to
      (a)'s and export weights equal to (a)'s bitwise;
  (d) SIGKILL of the process group of `ssc run` alone (ssc and mpirun):
      the ranks must be gone within 10 s; how long they ran on and which
      checkpoints they wrote meanwhile is printed.
No rank process of the program may be left at the end. Exact equality is
the tolerance throughout: the same program on the same data is
deterministic.
"""

import argparse
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np

from check_training import (CommandFailed, LanguageModel, compile_command,
                            kill_group, load_initializers, load_manifest,
                            parse_shape_arg, parse_steps, run_command,
                            write_batches)

STEPS = 20
KILLED_STEPS = 200
EVERY = 5
KILL_AFTER = 12
RESUME_FROM = 10
ATTEMPTS = 3
RUN_TIMEOUT_S = 300
GROUP_KILL_LIMIT_S = 10
RESUMED_LINE = re.compile(r"^resumed from (\S+) at step (\d+)$", re.M)


def rank_pids(out, manifest):
    """Pids of running processes whose executable is one of the program's
    rank binaries (OUT/build/<binary>)."""
    paths = {os.path.realpath(os.path.join(out, "build", p["binary"]))
             for p in manifest["programs"]}
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.path.realpath(f"/proc/{entry}/exe") in paths:
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def complete_steps(ckpt):
    """Steps S with a checkpoint.json in ckpt/step-S (the runtime writes it
    last), ascending."""
    steps = []
    for entry in os.listdir(ckpt) if os.path.isdir(ckpt) else []:
        m = re.fullmatch(r"step-(\d+)", entry)
        if m and os.path.exists(os.path.join(ckpt, entry, "checkpoint.json")):
            steps.append(int(m.group(1)))
    return sorted(steps)


def session_members(sid):
    """{pid: process group} of the processes in session `sid`."""
    members = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:
            members[int(entry)] = int(fields[2])
    return members


def kill_session(proc):
    """SIGKILL every process of the session `proc` leads (it was started
    with start_new_session): its process group and any process that moved
    to a group of its own, as mpirun's ranks do."""
    members = session_members(proc.pid)
    kill_group(proc)
    for pid in members:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def run_and_kill(argv, kill_after, timeout, stderr_path):
    """Start argv in a session of its own (stderr to stderr_path), read its
    stdout line by line and SIGKILL the whole session once `step
    <kill_after>` shows. Returns (lines read, exit status, whether it was
    killed)."""
    print("+ " + " ".join(argv), flush=True)
    with open(stderr_path, "w", encoding="utf-8") as err:
        try:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err,
                                    text=True, start_new_session=True)
        except OSError as error:
            raise CommandFailed(f"cannot run ssc: {error}") from None
    lines = queue.Queue()

    def reader():
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    seen, killed = [], False
    deadline = time.time() + timeout
    try:
        while True:
            line = lines.get(timeout=max(deadline - time.time(), 0.01))
            if line is None:
                break
            seen.append(line)
            steps = parse_steps(line)
            if steps and steps[0][0] >= kill_after:
                kill_session(proc)
                killed = True
                break
    except queue.Empty:
        kill_session(proc)
        proc.wait()
        with open(stderr_path, encoding="utf-8", errors="replace") as err:
            raise CommandFailed(f"no `step {kill_after}` within {timeout} s; "
                                "stdout:\n" + "\n".join(seen) +
                                "\nstderr:\n" + err.read()) from None
    proc.wait(timeout=60)
    thread.join(timeout=10)
    return seen, proc.returncode, killed


def wait_for_no_ranks(out, manifest, seconds):
    """Wait until no rank process of OUT runs; return the pids still
    running after `seconds` (SIGKILLed then: they are this test's)."""
    deadline = time.time() + seconds
    while (left := rank_pids(out, manifest)) and time.time() < deadline:
        time.sleep(0.05)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return left


def check_group_kill(args, out, manifest):
    """SIGKILL of the process group of `ssc run` (ssc and mpirun; mpirun
    puts each rank in a group of its own) after `step 12`: the ranks must
    be gone within GROUP_KILL_LIMIT_S. Prints how long they outlived the
    kill and the checkpoints they wrote meanwhile. Returns ok."""
    g_dir = os.path.join(args.workdir, "G")
    argv = [args.ssc, "run", out, "--steps", "1000000", "--data", args.data,
            "--threads", "1", "--checkpoint-every", str(EVERY),
            "--checkpoint-dir", g_dir]
    print("+ " + " ".join(argv), flush=True)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    try:
        deadline = time.time() + RUN_TIMEOUT_S
        while time.time() < deadline:
            line = proc.stdout.readline()
            steps = parse_steps(line)
            if not line or (steps and steps[0][0] >= KILL_AFTER):
                break
        kill_group(proc)
        killed = time.time()
        at_kill = complete_steps(g_dir)
        proc.wait(timeout=60)
        while rank_pids(out, manifest) and \
                time.time() < killed + GROUP_KILL_LIMIT_S:
            time.sleep(0.01)
        survived = time.time() - killed
        left = rank_pids(out, manifest)
    finally:
        kill_session(proc)
    after = complete_steps(g_dir)
    good = not left
    print(f"SIGKILL of the process group of ssc run after `step "
          f"{KILL_AFTER}`: rank processes ran on for {survived:.2f} s "
          f"(limit {GROUP_KILL_LIMIT_S} s; {len(left)} left); newest "
          f"checkpoint step-{at_kill[-1] if at_kill else '-'} at the kill, "
          f"step-{after[-1] if after else '-'} after "
          f"{'OK' if good else 'FAIL'}")
    wait_for_no_ranks(out, manifest, 10)
    shutil.rmtree(g_dir, ignore_errors=True)
    return good


def resume(args, out, ckpt):
    """ssc run --resume ckpt --steps 20 --checkpoint-dir ckpt. Returns
    (resumed-from path, resumed step, steps)."""
    stdout = run_command([args.ssc, "run", out, "--steps", str(STEPS),
                          "--data", args.data, "--threads", "1", "--resume",
                          ckpt, "--checkpoint-dir", ckpt], RUN_TIMEOUT_S,
                         "ssc run --resume")
    m = RESUMED_LINE.search(stdout)
    if not m:
        raise CommandFailed(f"no 'resumed from ... at step S' line:\n{stdout}")
    return m.group(1), int(m.group(2)), parse_steps(stdout)


def export(args, out, ckpt, path):
    run_command([args.ssc, "export", out, "--checkpoint", ckpt, "-o", path],
                120, "ssc export")
    return load_initializers(path)


def bitwise_differences(weights, ref):
    """Names of initializers not bitwise equal to ref's, with their max
    absolute difference."""
    diffs = []
    for name, value in ref.items():
        got = weights.get(name)
        if got is None or got.shape != value.shape or got.dtype != value.dtype:
            diffs.append(f"{name} (missing or other shape/dtype)")
        elif got.tobytes() != value.tobytes():
            delta = np.max(np.abs(got.astype(np.float64) -
                                  value.astype(np.float64)))
            diffs.append(f"{name} (max abs diff {delta:.3e})")
    return diffs + [f"{n} (extra)" for n in weights if n not in ref]


def check_continuation(label, args, out, ckpt, expect_step, ref_steps,
                       ref_weights):
    """Resume ckpt; it must start at expect_step, print the reference's
    remaining steps exactly, and export the reference's weights bitwise."""
    try:
        path, step, steps = resume(args, out, ckpt)
        weights = export(args, out, ckpt,
                         os.path.join(args.workdir, f"trained_{label}.onnx"))
    except CommandFailed as err:
        print(f"{label}: {err} FAIL")
        return False
    ok = True
    want_path = os.path.join(ckpt, f"step-{expect_step}")
    good = (step == expect_step and
            os.path.realpath(path) == os.path.realpath(want_path))
    print(f"{label}: resumed from {path} at step {step} (expected "
          f"{want_path} at step {expect_step}) {'OK' if good else 'FAIL'}")
    ok &= good
    want = ref_steps[expect_step:]
    mismatches = [(i, text, dict(ref_steps).get(i)) for i, text in steps
                  if dict(ref_steps).get(i) != text]
    good = [i for i, _ in steps] == [i for i, _ in want] and not mismatches
    print(f"{label}: steps {[i for i, _ in steps]} losses equal to the "
          f"uninterrupted run's: {'OK' if good else 'FAIL'}")
    for i, text, ref in mismatches:
        print(f"  step {i}: loss {text}, uninterrupted {ref}")
    ok &= good
    diffs = bitwise_differences(weights, ref_weights)
    print(f"{label}: exported weights bitwise equal to the uninterrupted "
          f"run's ({len(ref_weights)} initializers): "
          f"{'OK' if not diffs else 'FAIL'}")
    for diff in diffs:
        print(f"  {diff}")
    return ok and not diffs


def break_manifest(step_dir):
    os.remove(os.path.join(step_dir, "checkpoint.json"))


def truncate_rank_file(step_dir):
    path = os.path.join(step_dir, "rank1.state")
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) // 2)


def flip_byte(step_dir):
    path = os.path.join(step_dir, "rank0.state")
    with open(path, "r+b") as handle:
        handle.seek(os.path.getsize(path) - 100)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0x10]))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ssc", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--plan", default="dp=2")
    parser.add_argument("--input-shape", action="append", default=[],
                        type=parse_shape_arg, metavar="NAME=D0,D1,...")
    parser.add_argument("--logits")
    parser.add_argument("--freeze", action="append", default=[],
                        metavar="GLOB")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    args.workdir = os.path.abspath(args.workdir)
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    lm = LanguageModel(args.model, dict(args.input_shape), args.logits)
    args.data = os.path.join(args.workdir, "data")
    write_batches(args.data, lm.input, lm.shape, lm.vocab, 4, args.seed)
    out = os.path.join(args.workdir, "out")
    started = time.time()
    try:
        run_command(compile_command(args, lm, out, args.plan), 300,
                    "ssc compile")
        manifest = load_manifest(out)
        a_dir = os.path.join(args.workdir, "A")
        stdout = run_command([args.ssc, "run", out, "--steps", str(STEPS),
                              "--data", args.data, "--threads", "1",
                              "--checkpoint-dir", a_dir], RUN_TIMEOUT_S,
                             "ssc run (uninterrupted)")
        ref_steps = parse_steps(stdout)
        if [i for i, _ in ref_steps] != list(range(1, STEPS + 1)):
            print(f"error: uninterrupted run printed steps "
                  f"{[i for i, _ in ref_steps]}\n{stdout}")
            return 1
        ref_weights = export(args, out, a_dir,
                             os.path.join(args.workdir, "trained_A.onnx"))
    except CommandFailed as err:
        print(f"error: {err}")
        return 1
    print(f"uninterrupted: losses {' '.join(t for _, t in ref_steps)} "
          f"({time.time() - started:.1f} s)")

    ok = True
    b_dir = os.path.join(args.workdir, "B")
    for attempt in range(1, ATTEMPTS + 1):
        shutil.rmtree(b_dir, ignore_errors=True)
        try:
            seen, status, killed = run_and_kill(
                [args.ssc, "run", out, "--steps", str(KILLED_STEPS), "--data",
                 args.data, "--threads", "1", "--checkpoint-every",
                 str(EVERY), "--checkpoint-dir", b_dir], KILL_AFTER,
                RUN_TIMEOUT_S, os.path.join(args.workdir, "killed.stderr"))
        except CommandFailed as err:
            print(f"error: killed run: {err}")
            return 1
        left = wait_for_no_ranks(out, manifest, 10)
        if left:
            print(f"error: rank processes {left} survive SIGKILL FAIL")
            return 1
        complete = complete_steps(b_dir)
        last = parse_steps("\n".join(seen))
        print(f"attempt {attempt}: killed={killed} exit {status} after "
              f"`step {last[-1][0] if last else '-'}`; complete checkpoints "
              f"{complete}")
        if not killed:
            with open(os.path.join(args.workdir, "killed.stderr"),
                      encoding="utf-8", errors="replace") as err:
                print(f"error: the run ended (exit {status}) before step "
                      f"{KILL_AFTER} was seen\n" + "\n".join(seen) +
                      "\n" + err.read())
            return 1
        if complete and complete[-1] == RESUME_FROM:
            break
        print(f"note: the program outran the kill (newest complete "
              f"checkpoint {complete[-1] if complete else None}); retrying")
    else:
        print(f"error: {ATTEMPTS} attempts never left step-{RESUME_FROM} as "
              "the newest complete checkpoint FAIL")
        return 1
    ok &= check_continuation("resume B", args, out, b_dir, RESUME_FROM,
                             ref_steps, ref_weights)

    for label, damage in (("missing checkpoint.json", break_manifest),
                          ("truncated rank file", truncate_rank_file),
                          ("flipped byte in rank file", flip_byte)):
        tag = re.sub(r"\W+", "_", label)
        c_dir = os.path.join(args.workdir, "C_" + tag)
        shutil.copytree(b_dir, c_dir)
        complete = complete_steps(c_dir)
        if len(complete) < 2:
            print(f"{label}: {b_dir} holds complete checkpoints {complete}, "
                  "not two FAIL")
            ok = False
            continue
        damage(os.path.join(c_dir, f"step-{complete[-1]}"))
        ok &= check_continuation(label, args, out, c_dir, complete[-2],
                                 ref_steps, ref_weights)

    ok &= check_group_kill(args, out, manifest)
    left = wait_for_no_ranks(out, manifest, 10)
    good = not left
    print(f"at the end: {len(left)} rank processes left "
          f"{'OK' if good else 'FAIL'}")
    ok &= good
    print(f"{'OK' if ok else 'FAIL'} ({time.time() - started:.1f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
