"""Training throughput of the compiled single-rank step against PyTorch eager.

For each decoder size (models/build_models.py --decoder-size
LAYERS,HIDDEN,HEADS,BATCH,SEQ) this builds gpt_decoder.onnx and a PyTorch
module that computes the same graph with the model's own initializers as
its parameters: token and position embeddings, pre-LN attention blocks
(layer 0 scales by Div and masks by Where, layer 1 by Mul and an additive
mask, as the ONNX graph does), erf GELU, linear layers as MatMul + Add in
the ONNX [in, out] weight layout, a final layer norm and the LM head. The
module's logits are first checked against onnxruntime (relative L2 error
at most 1e-5).

Both sides then train on the same seeded batches (token ids, next-token
labels, a few -100 labels that cross-entropy ignores) with AdamW at the
same learning rate, default betas and eps, weight decay 0, and the same
parameters: every float initializer of rank >= 1 except those matching
--freeze (default '*mask*', the additive causal mask), as ssc compile
--train chooses them. SuperScaler compiles the step once with `ssc compile
--train` and runs it with `ssc run --steps`, whose per-step samples/s
comes from timing inside the program; PyTorch times each step (zero_grad,
forward, loss, backward, optimizer step) with perf_counter. Both skip the
same warm-up steps and report the median rate, with the same thread count,
in one run. The first steps' losses of the two are compared as a check
that they train the same model.

Prints a table; the ratio column is SuperScaler / PyTorch samples/s (above
1 is faster). Exits 0 with a SKIPPED line when torch is not installed.
Nothing here asserts on time.
"""
import argparse
import fnmatch
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
IGNORE_INDEX = -100
EQUIVALENCE_TOLERANCE = 1e-5   # torch logits vs onnxruntime, relative L2
LOSS_TOLERANCE = 1e-3          # per-step loss, relative
LOSS_STEPS_COMPARED = 10
STEP_LINE = re.compile(r"^step (\d+) loss (\S+) (\S+) samples/s", re.MULTILINE)
COMPILE_TIMEOUT_S = 600
RUN_TIMEOUT_S = 1800


def parse_size(text):
    """'L,H,A,B,S' -> dict of the decoder dimensions."""
    try:
        layers, hidden, heads, batch, seq = (int(v) for v in text.split(","))
    except ValueError:
        raise SystemExit(f"--sizes: expected LAYERS,HIDDEN,HEADS,BATCH,SEQ, got '{text}'")
    if min(layers, hidden, heads, batch, seq) < 1 or hidden % heads:
        raise SystemExit(f"--sizes: {text}: sizes must be positive and HEADS must divide HIDDEN")
    return dict(text=text, layers=layers, hidden=hidden, heads=heads, batch=batch, seq=seq)


def build_decoder(size, outdir):
    """Runs build_models.py for gpt_decoder.onnx at `size`; returns its path."""
    subprocess.run([sys.executable, os.path.join(REPO, "models", "build_models.py"), outdir,
                    "--only", "gpt_decoder.onnx", "--decoder-size", size["text"]],
                   check=True, stdout=subprocess.DEVNULL)
    return os.path.join(outdir, "gpt_decoder.onnx")


def read_initializers(model):
    """name -> numpy array of every initializer of `model`."""
    from onnx import numpy_helper
    return {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}


def is_parameter(name, array, freeze):
    """The initializers ssc compile --train trains (compiler/Autodiff/Variables.cpp):
    float32, rank >= 1, not empty, not matched by a --freeze glob."""
    return (array.dtype == np.float32 and array.ndim >= 1 and array.size > 0
            and not any(fnmatch.fnmatchcase(name, g) for g in freeze))


def make_decoder_module(torch, inits, size, freeze):
    """A torch.nn.Module computing build_gpt_decoder's graph from `inits`."""
    nn, F = torch.nn, torch.nn.functional
    hidden, heads = size["hidden"], size["heads"]
    head_dim = hidden // heads

    class OnnxDecoder(nn.Module):
        def __init__(self):
            super().__init__()
            # ParameterDict keys may not contain '.', so keep our own name map.
            self.params = nn.ParameterDict()
            self.key = {}
            for name, array in inits.items():
                if array.dtype not in (np.float32, np.bool_):
                    continue
                key = name.replace(".", "__")
                self.key[name] = key
                self.params[key] = nn.Parameter(
                    torch.from_numpy(array.copy()),
                    requires_grad=is_parameter(name, array, freeze))

        def p(self, name):
            return self.params[self.key[name]]

        def layer_norm(self, x, prefix):
            return F.layer_norm(x, (hidden,), self.p(prefix + ".gamma"),
                                self.p(prefix + ".beta"), eps=1e-5)

        def linear(self, x, prefix):
            return torch.matmul(x, self.p(prefix + ".w")) + self.p(prefix + ".b")

        def split_heads(self, x):
            b, s, _ = x.shape
            return x.reshape(b, s, heads, head_dim)

        def attention(self, x, layer):
            pre = f"h{layer}.attn"
            q = self.split_heads(self.linear(x, pre + ".q")).permute(0, 2, 1, 3)
            k_t = self.split_heads(self.linear(x, pre + ".k")).permute(0, 2, 3, 1)
            v = self.split_heads(self.linear(x, pre + ".v")).permute(0, 2, 1, 3)
            scores = torch.matmul(q, k_t)
            if layer == 0:
                scores = scores / self.p(pre + ".scale")
                scores = torch.where(self.p(f"h{layer}.causal_mask"), scores,
                                     self.p(f"h{layer}.mask_value"))
            else:
                scores = scores * self.p(pre + ".scale")
                scores = scores + self.p(f"h{layer}.mask_bias")
            probs = torch.softmax(scores, dim=-1)
            ctx = torch.matmul(probs, v).permute(0, 2, 1, 3)
            ctx = ctx.reshape(ctx.shape[0], ctx.shape[1], hidden)
            return self.linear(ctx, pre + ".proj")

        def mlp(self, x, layer):
            pre = f"h{layer}.mlp"
            h = self.linear(x, pre + ".fc")
            e = torch.erf(h / self.p(pre + ".sqrt2"))
            h = h * (e + self.p(pre + ".one")) * self.p(pre + ".half")
            return self.linear(h, pre + ".proj")

        def forward(self, input_ids):
            seq = input_ids.shape[1]
            h = F.embedding(input_ids, self.p("wte"))
            h = h + F.embedding(torch.arange(seq), self.p("wpe"))
            for layer in range(size["layers"]):
                h = h + self.attention(self.layer_norm(h, f"h{layer}.ln_1"), layer)
                h = h + self.mlp(self.layer_norm(h, f"h{layer}.ln_2"), layer)
            h = self.layer_norm(h, "ln_f")
            return torch.matmul(h, self.p("lm_head.w"))

    return OnnxDecoder()


def check_equivalence(torch, module, model_path, input_ids):
    """Relative L2 error of the module's logits against onnxruntime's."""
    import onnxruntime as ort
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    (expected,) = sess.run(["logits"], {"input_ids": input_ids})
    with torch.no_grad():
        got = module(torch.from_numpy(input_ids)).numpy()
    return float(np.linalg.norm(got - expected) / np.linalg.norm(expected))


def make_batches(size, vocab, count, seed):
    """`count` batches of token ids and next-token labels; batch 0 has a few
    labels set to the ignore index."""
    rng = np.random.default_rng(seed)
    batches = []
    for i in range(count):
        tokens = rng.integers(0, vocab, size=(size["batch"], size["seq"] + 1), dtype=np.int64)
        ids, labels = tokens[:, :-1].copy(), tokens[:, 1:].copy()
        if i == 0:
            labels[0, :3] = IGNORE_INDEX
            labels[-1, -1] = IGNORE_INDEX
        batches.append((ids, labels))
    return batches


def write_data_dir(batches, data_dir):
    """The batches as ssc run --data expects them: DIR/<input>.<i>.npy."""
    os.makedirs(data_dir, exist_ok=True)
    for i, (ids, labels) in enumerate(batches):
        np.save(os.path.join(data_dir, f"input_ids.{i}.npy"), ids)
        np.save(os.path.join(data_dir, f"labels.{i}.npy"), labels)


def run_command(argv, timeout):
    """Runs argv; returns its stdout, or exits with its output if it fails."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        sys.exit(f"command failed ({result.returncode}): {' '.join(argv)}\n"
                 f"{result.stdout}{result.stderr}")
    return result.stdout


def compile_ssc(ssc, model_path, out, args):
    """ssc compile --train with the benchmark's loss, optimizer and freeze
    globs; returns the compile wall time in seconds."""
    argv = [ssc, "compile", model_path, "-o", out, "-q", "--train",
            "--loss", "cross-entropy", "--optimizer", "adamw", "--lr", repr(args.lr)]
    for pattern in args.freeze:
        argv += ["--freeze", pattern]
    start = time.perf_counter()
    run_command(argv, COMPILE_TIMEOUT_S)
    return time.perf_counter() - start


def train_ssc(ssc, program, data_dir, threads, total_steps):
    """Runs the compiled step; returns (losses, samples/s) per step."""
    stdout = run_command([ssc, "run", program, "--steps", str(total_steps),
                          "--threads", str(threads), "--data", data_dir], RUN_TIMEOUT_S)
    steps = STEP_LINE.findall(stdout)
    if len(steps) != total_steps:
        sys.exit(f"expected {total_steps} step lines from ssc run, got {len(steps)}:\n{stdout}")
    return [float(loss) for _, loss, _ in steps], [float(rate) for _, _, rate in steps]


def train_torch(torch, inits, size, freeze, batches, threads, total_steps, lr):
    """Trains a fresh module from the initial weights; returns (losses,
    samples/s) per step."""
    F = torch.nn.functional
    torch.set_num_threads(threads)
    module = make_decoder_module(torch, inits, size, freeze)
    trained = [p for p in module.parameters() if p.requires_grad]
    # torch's defaults (betas 0.9,0.999, eps 1e-8) are ssc's; weight decay 0
    # is ssc's default and not AdamW's (0.01).
    optimizer = torch.optim.AdamW(trained, lr=lr, weight_decay=0.0)
    data = [(torch.from_numpy(ids), torch.from_numpy(labels)) for ids, labels in batches]
    losses, rates = [], []
    for step in range(total_steps):
        ids, labels = data[step % len(data)]
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        logits = module(ids)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                               ignore_index=IGNORE_INDEX)
        loss.backward()
        optimizer.step()
        seconds = time.perf_counter() - start
        losses.append(loss.item())
        rates.append(size["batch"] / seconds)
    return losses, rates


def max_rel_diff(a, b):
    """Largest |a_i - b_i| / |b_i|."""
    return max(abs(x - y) / max(abs(y), 1e-30) for x, y in zip(a, b))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ssc", required=True, help="path to the ssc binary")
    parser.add_argument("--workdir", required=True, help="scratch directory")
    parser.add_argument("--threads", default="1,2",
                        help="comma-separated thread counts, the same for both (default 1,2)")
    parser.add_argument("--steps", type=int, default=50,
                        help="timed training steps after the warm-up (default 50)")
    parser.add_argument("--warmup", type=int, default=5,
                        help="untimed training steps first (default 5)")
    parser.add_argument("--sizes", nargs="+", default=["2,64,4,2,16", "4,256,8,8,64"],
                        metavar="L,H,A,B,S",
                        help="decoder sizes LAYERS,HIDDEN,HEADS,BATCH,SEQ "
                             "(default: the test size 2,64,4,2,16 and 4,256,8,8,64)")
    parser.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate")
    parser.add_argument("--freeze", action="append",
                        help="initializer glob kept constant on both sides "
                             "(repeatable; default '*mask*')")
    parser.add_argument("--batches", type=int, default=4,
                        help="distinct data batches, cycled (default 4)")
    args = parser.parse_args()
    args.freeze = args.freeze or ["*mask*"]
    try:
        threads_list = [int(t) for t in args.threads.split(",")]
    except ValueError:
        parser.error(f"--threads expects comma-separated integers, got '{args.threads}'")
    sizes = [parse_size(s) for s in args.sizes]
    if args.steps < 1 or args.warmup < 0 or min(threads_list) < 1:
        parser.error("--steps and --threads must be positive, --warmup non-negative")

    try:
        import torch
    except ImportError:
        print(f"SKIPPED: torch is not installed in {sys.executable} "
              "(bench-train needs a Python with torch: set SS_TORCH_PYTHON)")
        return 0
    try:
        import onnx
        import onnxruntime  # noqa: F401 (the equivalence check uses it)
    except ImportError as error:
        print(f"SKIPPED: {error.name} is not installed in {sys.executable} "
              "(bench-train checks the torch model against onnxruntime)")
        return 0

    total_steps = args.warmup + args.steps
    # Timings are only as good as the machine is idle; say how busy it was.
    load_before = os.getloadavg()[0]
    rows = []
    for size in sizes:
        label = size["text"]
        work = os.path.join(args.workdir, label.replace(",", "_"))
        model_path = build_decoder(size, os.path.join(work, "model"))
        inits = read_initializers(onnx.load(model_path))
        vocab = inits["lm_head.w"].shape[1]
        batches = make_batches(size, vocab, args.batches, seed=0)
        data_dir = os.path.join(work, "data")
        write_data_dir(batches, data_dir)

        module = make_decoder_module(torch, inits, size, args.freeze)
        err = check_equivalence(torch, module, model_path, batches[0][0])
        n_params = sum(p.numel() for p in module.parameters() if p.requires_grad)
        print(f"decoder {label}: {n_params} trained parameters; torch logits vs "
              f"onnxruntime rel L2 {err:.2e} (tolerance {EQUIVALENCE_TOLERANCE:g})", flush=True)
        if not err <= EQUIVALENCE_TOLERANCE:
            sys.exit(f"decoder {label}: the torch module does not compute the ONNX model")

        program = os.path.join(work, "program")
        seconds = compile_ssc(args.ssc, model_path, program, args)
        print(f"decoder {label}: ssc compile --train {seconds:.2f} s", flush=True)

        compared = min(LOSS_STEPS_COMPARED, total_steps)
        for threads in threads_list:
            ssc_losses, ssc_rates = train_ssc(args.ssc, program, data_dir, threads, total_steps)
            pt_losses, pt_rates = train_torch(torch, inits, size, args.freeze, batches,
                                              threads, total_steps, args.lr)
            loss_diff = max_rel_diff(ssc_losses[:compared], pt_losses[:compared])
            ours = statistics.median(ssc_rates[args.warmup:])
            ref = statistics.median(pt_rates[args.warmup:])
            print(f"decoder {label} threads {threads}: losses ssc "
                  f"{ssc_losses[0]:.6f} -> {ssc_losses[-1]:.6f}, torch "
                  f"{pt_losses[0]:.6f} -> {pt_losses[-1]:.6f}", flush=True)
            rows.append((label, threads, ours, ref, ours / ref, loss_diff))

    print()
    print(f"steps={args.steps} after warmup={args.warmup} (median samples/s); lr={args.lr:g}; "
          f"loss diff: max relative over the first {min(LOSS_STEPS_COMPARED, total_steps)} "
          f"steps (tolerance {LOSS_TOLERANCE:g}); torch {torch.__version__}; "
          f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"{'config L,H,A,B,S':<18} {'threads':>7} {'ssc samples/s':>14} "
          f"{'torch samples/s':>16} {'ssc/torch':>10} {'loss rel diff':>14}")
    worst = 0.0
    for label, threads, ours, ref, ratio, loss_diff in rows:
        flag = "" if loss_diff <= LOSS_TOLERANCE else "  (above tolerance)"
        worst = max(worst, loss_diff)
        print(f"{label:<18} {threads:>7} {ours:>14.1f} {ref:>16.1f} {ratio:>10.2f} "
              f"{loss_diff:>14.2e}{flag}")
    if worst > LOSS_TOLERANCE:
        print(f"WARNING: the losses differ by up to {worst:.2e} relative; "
              "the two sides may not train the same model")
    return 0


if __name__ == "__main__":
    sys.exit(main())
