#!/usr/bin/env python3
"""Build the hand-written ONNX test models used by the end-to-end tests.

Writes three small opset-17 models into OUTDIR, each validated with
onnx.checker (full check, including shape inference):

  mlp.onnx          x[batch, 64] -> MatMul/Add/Relu -> Gemm(transB)/Tanh
                    -> MatMul/Add -> Softmax -> probs[batch, 10]
  gpt_decoder.onnx  input_ids int64[2, 16] -> 2-layer, 4-head GPT decoder
                    (vocab 97, hidden 64) -> logits[2, 16, 97]
  cnn.onnx          image[2, 3, 32, 32] -> Conv/BN/Relu/MaxPool, grouped
                    strided Conv, linear Resize, dilated Conv, AveragePool,
                    GlobalAveragePool, Flatten, Gemm -> logits[2, 10]

Weights are float32 drawn from a fixed numpy seed, scaled by 1/sqrt(fan_in)
(times a small gain) so activations stay O(1) and the numerical comparison is meaningful.
"""

import argparse
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
# Batch of the decoder and the CNN: 2, so data parallelism has a batch to split.
BATCH = 2
SEED = 1234


class GraphBuilder:
    """Accumulates nodes and initializers, generating unique tensor names."""

    def __init__(self, rng):
        self.rng = rng
        self.nodes = []
        self.initializers = []
        self.counter = 0

    def fresh(self, hint):
        """Return a new unique tensor name derived from `hint`."""
        self.counter += 1
        return f"{hint}_{self.counter}"

    def const(self, name, array):
        """Register `array` as an initializer and return its name."""
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, name, shape, fan_in=None, scale=1.0):
        """Random float32 normal weight scaled by scale/sqrt(fan_in)."""
        std = scale / math.sqrt(fan_in) if fan_in else scale
        data = (self.rng.standard_normal(shape) * std).astype(np.float32)
        return self.const(name, data)

    def op(self, op_type, inputs, hint=None, n_out=1, **attrs):
        """Append a node and return its output name (or list of names)."""
        hint = hint or op_type.lower()
        outputs = [self.fresh(hint) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outputs,
                                           name=self.fresh("n_" + hint), **attrs))
        return outputs[0] if n_out == 1 else outputs

    def op_to(self, op_type, inputs, output, **attrs):
        """Append a node writing to the fixed tensor name `output`."""
        self.nodes.append(helper.make_node(op_type, inputs, [output],
                                           name=self.fresh("n_" + output), **attrs))
        return output

    def model(self, name, inputs, outputs):
        """Assemble, check and return the ModelProto."""
        graph = helper.make_graph(self.nodes, name, inputs, outputs,
                                  initializer=self.initializers)
        model = helper.make_model(graph, producer_name="superscaler-build-models",
                                  opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 8  # the IR version that goes with opset 17
        onnx.checker.check_model(model, full_check=True)
        return model


# ---------------------------------------------------------------------------
# MLP


def build_mlp(rng):
    """Three dense layers and a Softmax over a dynamic batch."""
    g = GraphBuilder(rng)
    h = g.op("MatMul", ["x", g.weight("fc1.w", (64, 128), fan_in=64)])
    h = g.op("Add", [h, g.weight("fc1.b", (128,), scale=0.1)])
    h = g.op("Relu", [h])
    # Gemm with B stored as [N, K] and transB=1, as nn.Linear exports.
    h = g.op("Gemm", [h, g.weight("fc2.w", (64, 128), fan_in=128, scale=1.5),
                      g.weight("fc2.b", (64,), scale=0.1)],
             alpha=1.0, beta=1.0, transB=1)
    h = g.op("Tanh", [h])
    h = g.op("MatMul", [h, g.weight("fc3.w", (64, 10), fan_in=64, scale=3.0)])
    h = g.op("Add", [h, g.weight("fc3.b", (10,), scale=0.1)])
    g.op_to("Softmax", [h], "probs", axis=-1)
    return g.model(
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 10])])


# ---------------------------------------------------------------------------
# GPT decoder

VOCAB, HIDDEN, HEADS, LAYERS, SEQ, MAX_POS = 97, 64, 4, 2, 16, 32
HEAD_DIM = HIDDEN // HEADS


def layer_norm(g, x, prefix):
    """LayerNormalization over the last axis with random affine params."""
    gamma = g.const(prefix + ".gamma",
                    (1.0 + 0.1 * g.rng.standard_normal(HIDDEN)).astype(np.float32))
    beta = g.weight(prefix + ".beta", (HIDDEN,), scale=0.1)
    return g.op("LayerNormalization", [x, gamma, beta], hint=prefix,
                axis=-1, epsilon=1e-5)


def linear(g, x, prefix, k, n):
    """MatMul + Add (bias), the way exporters lower nn.Linear on 3-D input."""
    y = g.op("MatMul", [x, g.weight(prefix + ".w", (k, n), fan_in=k)])
    return g.op("Add", [y, g.weight(prefix + ".b", (n,), scale=0.1)])


def batch_seq_dims(g, x):
    """Shape(x) -> Gather(0), Gather(1) -> Unsqueeze: 1-D batch and seq dims."""
    shape = g.op("Shape", [x], hint="shape")
    dims = []
    for i in (0, 1):
        idx = g.const(g.fresh("idx"), np.array(i, dtype=np.int64))
        d = g.op("Gather", [shape, idx], hint="dim", axis=0)
        axes = g.const(g.fresh("axes"), np.array([0], dtype=np.int64))
        dims.append(g.op("Unsqueeze", [d, axes], hint="dim1d"))
    return dims


def split_heads(g, x, perm):
    """[B, S, H] -> Reshape [B, S, heads, dh] via a shape subgraph -> Transpose."""
    b, s = batch_seq_dims(g, x)
    tail = g.const(g.fresh("heads_dh"), np.array([HEADS, HEAD_DIM], dtype=np.int64))
    shape = g.op("Concat", [b, s, tail], hint="split_shape", axis=0)
    y = g.op("Reshape", [x, shape])
    return g.op("Transpose", [y], perm=perm)


def merge_heads(g, ctx, layer):
    """[B, heads, S, dh] -> [B, S, H]; layer 0 uses a shape subgraph,
    layer 1 a constant shape with the 0 / -1 special values."""
    y = g.op("Transpose", [ctx], perm=[0, 2, 1, 3])
    if layer == 0:
        b, s = batch_seq_dims(g, y)
        hid = g.const(g.fresh("hidden"), np.array([HIDDEN], dtype=np.int64))
        shape = g.op("Concat", [b, s, hid], hint="merge_shape", axis=0)
    else:
        shape = g.const(g.fresh("merge_shape"), np.array([0, 0, -1], dtype=np.int64))
    return g.op("Reshape", [y, shape])


def causal_mask(g, scores, layer):
    """Layer 0: Where(bool tril, scores, -1e4); layer 1: Add(0 / -1e4)."""
    tril = np.tril(np.ones((SEQ, SEQ), dtype=bool))
    if layer == 0:
        mask = g.const(f"h{layer}.causal_mask", tril.reshape(1, 1, SEQ, SEQ))
        neg = g.const(f"h{layer}.mask_value", np.array(-1e4, dtype=np.float32))
        return g.op("Where", [mask, scores, neg])
    bias = np.where(tril, 0.0, -1e4).astype(np.float32)
    return g.op("Add", [scores, g.const(f"h{layer}.mask_bias", bias)])


def attention(g, x, layer):
    """Multi-head causal self-attention block (without the residual)."""
    p = f"h{layer}.attn"
    q = split_heads(g, linear(g, x, p + ".q", HIDDEN, HIDDEN), [0, 2, 1, 3])
    k_t = split_heads(g, linear(g, x, p + ".k", HIDDEN, HIDDEN), [0, 2, 3, 1])
    v = split_heads(g, linear(g, x, p + ".v", HIDDEN, HIDDEN), [0, 2, 1, 3])
    scores = g.op("MatMul", [q, k_t])
    if layer == 0:
        scale = g.const(p + ".scale", np.array(math.sqrt(HEAD_DIM), dtype=np.float32))
        scores = g.op("Div", [scores, scale])
    else:
        scale = g.const(p + ".scale", np.array(1.0 / math.sqrt(HEAD_DIM), dtype=np.float32))
        scores = g.op("Mul", [scores, scale])
    probs = g.op("Softmax", [causal_mask(g, scores, layer)], axis=-1)
    ctx = merge_heads(g, g.op("MatMul", [probs, v]), layer)
    return linear(g, ctx, p + ".proj", HIDDEN, HIDDEN)


def gelu_erf(g, x, prefix):
    """x * 0.5 * (1 + erf(x / sqrt(2))) written out with Erf."""
    sqrt2 = g.const(prefix + ".sqrt2", np.array(math.sqrt(2.0), dtype=np.float32))
    one = g.const(prefix + ".one", np.array(1.0, dtype=np.float32))
    half = g.const(prefix + ".half", np.array(0.5, dtype=np.float32))
    e = g.op("Erf", [g.op("Div", [x, sqrt2])])
    return g.op("Mul", [g.op("Mul", [x, g.op("Add", [e, one])]), half])


def mlp_block(g, x, layer):
    """Position-wise MLP with 4x expansion and erf GELU."""
    p = f"h{layer}.mlp"
    h = gelu_erf(g, linear(g, x, p + ".fc", HIDDEN, 4 * HIDDEN), p)
    return linear(g, h, p + ".proj", 4 * HIDDEN, HIDDEN)


def embeddings(g):
    """Token Gather plus positional Gather of Range(0, Shape(ids)[1])."""
    wte = g.weight("wte", (VOCAB, HIDDEN), scale=1.0)
    wpe = g.weight("wpe", (MAX_POS, HIDDEN), scale=0.5)
    tok = g.op("Gather", [wte, "input_ids"], hint="tok_emb", axis=0)
    shape = g.op("Shape", ["input_ids"], hint="ids_shape")
    seq = g.op("Gather", [shape, g.const("seq_axis", np.array(1, dtype=np.int64))],
               hint="seq_len", axis=0)
    zero = g.const("range_start", np.array(0, dtype=np.int64))
    step = g.const("range_step", np.array(1, dtype=np.int64))
    pos_ids = g.op("Range", [zero, seq, step], hint="pos_ids")
    pos = g.op("Gather", [wpe, pos_ids], hint="pos_emb", axis=0)
    return g.op("Add", [tok, pos], hint="embed")


def build_gpt_decoder(rng):
    """A GPT-2-style decoder with two layers and an untied LM head."""
    g = GraphBuilder(rng)
    h = embeddings(g)
    for layer in range(LAYERS):
        h = g.op("Add", [h, attention(g, layer_norm(g, h, f"h{layer}.ln_1"), layer)],
                 hint="resid")
        h = g.op("Add", [h, mlp_block(g, layer_norm(g, h, f"h{layer}.ln_2"), layer)],
                 hint="resid")
    h = layer_norm(g, h, "ln_f")
    g.op_to("MatMul", [h, g.weight("lm_head.w", (HIDDEN, VOCAB), fan_in=HIDDEN)],
            "logits")
    return g.model(
        "gpt_decoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [BATCH, SEQ])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [BATCH, SEQ, VOCAB])])


# ---------------------------------------------------------------------------
# CNN


def batch_norm(g, x, prefix, channels):
    """Inference BatchNormalization with random statistics."""
    scale = g.const(prefix + ".scale",
                    (1.0 + 0.1 * g.rng.standard_normal(channels)).astype(np.float32))
    bias = g.weight(prefix + ".bias", (channels,), scale=0.1)
    mean = g.weight(prefix + ".mean", (channels,), scale=0.1)
    var = g.const(prefix + ".var",
                  g.rng.uniform(0.5, 1.5, channels).astype(np.float32))
    return g.op("BatchNormalization", [x, scale, bias, mean, var], hint=prefix,
                epsilon=1e-5)


def conv(g, x, prefix, c_out, c_in, k, group=1, bias=True, **attrs):
    """Conv with He-scaled weights; bias optional."""
    fan_in = (c_in // group) * k * k
    inputs = [x, g.weight(prefix + ".w", (c_out, c_in // group, k, k),
                          fan_in=fan_in / 2)]
    if bias:
        inputs.append(g.weight(prefix + ".b", (c_out,), scale=0.1))
    return g.op("Conv", inputs, hint=prefix, group=group,
                kernel_shape=[k, k], **attrs)


def build_cnn(rng):
    """Small convolutional classifier exercising the common vision ops."""
    g = GraphBuilder(rng)
    h = conv(g, "image", "conv1", 16, 3, 3, pads=[1, 1, 1, 1])        # 16x32x32
    h = g.op("Relu", [batch_norm(g, h, "bn1", 16)])
    h = g.op("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])    # 16x16x16
    h = conv(g, h, "conv2", 32, 16, 3, group=2, strides=[2, 2],
             pads=[1, 1, 1, 1])                                      # 32x8x8
    h = g.op("Relu", [batch_norm(g, h, "bn2", 32)])
    scales = g.const("resize.scales", np.array([1, 1, 2, 2], dtype=np.float32))
    h = g.op("Resize", [h, "", scales], mode="linear",
             coordinate_transformation_mode="half_pixel")           # 32x16x16
    h = conv(g, h, "conv3", 16, 32, 3, bias=False, dilations=[2, 2],
             pads=[2, 2, 2, 2])                                      # 16x16x16
    h = g.op("AveragePool", [h], kernel_shape=[3, 3], strides=[2, 2],
             pads=[1, 1, 1, 1], count_include_pad=0)                 # 16x8x8
    h = g.op("GlobalAveragePool", [h])                               # 16x1x1
    h = g.op("Flatten", [h], axis=1)                                 # 16
    g.op_to("Gemm", [h, g.weight("fc.w", (16, 10), fan_in=16),
                     g.weight("fc.b", (10,), scale=0.1)], "logits")
    return g.model(
        "cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [BATCH, 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [BATCH, 10])])


BUILDERS = {
    "mlp.onnx": build_mlp,
    "gpt_decoder.onnx": build_gpt_decoder,
    "cnn.onnx": build_cnn,
}


def parse_args(argv):
    """Command-line interface."""
    parser = argparse.ArgumentParser(
        description="Build the hand-written ONNX test models (mlp, gpt_decoder, "
                    "cnn) into OUTDIR. Deterministic: fixed numpy seed.")
    parser.add_argument("outdir", metavar="OUTDIR",
                        help="directory to write the .onnx files into "
                             "(created if missing)")
    parser.add_argument("--only", action="append", choices=sorted(BUILDERS),
                        help="build only this model (repeatable; default: all)")
    parser.add_argument("--decoder-size", metavar="LAYERS,HIDDEN,HEADS,BATCH,SEQ",
                        help="size of gpt_decoder.onnx (default: "
                             f"{LAYERS},{HIDDEN},{HEADS},{BATCH},{SEQ}); for "
                             "compile-time measurements of large plans")
    return parser.parse_args(argv)


def resize_decoder(text):
    """Applies --decoder-size to the module-level decoder dimensions."""
    global LAYERS, HIDDEN, HEADS, BATCH, SEQ, MAX_POS, HEAD_DIM
    try:
        layers, hidden, heads, batch, seq = (int(v) for v in text.split(","))
    except ValueError:
        raise SystemExit(f"--decoder-size expects five integers, got '{text}'")
    if min(layers, hidden, heads, batch, seq) < 1 or hidden % heads:
        raise SystemExit(f"--decoder-size {text}: sizes must be positive and "
                         "HEADS must divide HIDDEN")
    LAYERS, HIDDEN, HEADS, BATCH, SEQ = layers, hidden, heads, batch, seq
    MAX_POS, HEAD_DIM = max(SEQ, MAX_POS), hidden // heads


def main(argv=None):
    args = parse_args(argv)
    if args.decoder_size:
        resize_decoder(args.decoder_size)
    os.makedirs(args.outdir, exist_ok=True)
    for index, (filename, builder) in enumerate(BUILDERS.items()):
        if args.only and filename not in args.only:
            continue
        # One generator per model so each file is independent of the others.
        model = builder(np.random.default_rng(SEED + index))
        path = os.path.join(args.outdir, filename)
        onnx.save(model, path)
        onnx.checker.check_model(path, full_check=True)
        print(f"wrote {path} ({os.path.getsize(path)} bytes, "
              f"{len(model.graph.node)} nodes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
