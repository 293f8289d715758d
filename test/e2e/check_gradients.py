#!/usr/bin/env python3
"""Every gradient rule, checked against central finite differences in float64.

One case per op with a gradient rule (GraphGradients.cpp), plus a few ONNX
operators the importer composes out of such ops. A case is a tiny ONNX
subgraph whose float tensors are initializers (the trainable parameters,
named "<case>.<param>"); its outputs Y_j are dotted with fixed random
tensors R_j (Constant nodes, so not trained) into loss_case =
sum_j ReduceSum(Y_j * R_j), and the model output "loss" is the Sum over all
cases. All cases of one opset share a single model, compiled once with
`ssc compile --train --loss loss --optimizer none` and run once with
`ssc run`; the step returns the loss and "<case>.<param>.grad" for every
parameter.

The reference is a float64 numpy forward of each case written from the
ONNX specification (itself checked against onnxruntime, relative L2 1e-5
per output, so a wrong reference cannot hide or fake a rule bug). For every
element of every parameter the central difference
(f(x + h) - f(x - h)) / 2h with h = 1e-6 * max(1, |x|) is taken in float64.
Inputs keep 0.05 away from kinks (relu, abs, clip, leaky_relu, hard_*),
domains (log, sqrt and pow bases positive, divisors away from 0) and ties
(reduce_max, max, min, max_pool).

Tolerances:
  per parameter  ||grad - fd||_2 / max(||fd||_2, 1e-6) <= 1e-4
  loss           |loss - ref| / |ref| <= 1e-5 (R's signs make every
                 case's term positive, so the sum does not cancel)

Every op that GraphOps.td marks Graph_Differentiable must be claimed by a
case, and every claimed op must appear in that case's compiled forward
graph (so an importer rewrite cannot silently skip a rule), except the ops
in ELIDED_AT_IMPORT.

The model has one input, "zero" (a float32 scalar fed 0.0), and each
case's first parameter enters it as Add(param, zero): the importer folds an
op whose operands are all constants, and would fold a case made only of
initializers into a constant before the parameters become variables. The
other parameters feed their op directly, as weights do in real models.

Prints one row per parameter (case, parameter, elements, rel error,
PASS/FAIL) and exits 0 only if everything passes. --only/--exclude pick
cases by glob for debugging (the coverage check then does not apply).
"""

import argparse
import fnmatch
import json
import math
import os
import re
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

GRAD_TOLERANCE = 1e-4
LOSS_TOLERANCE = 1e-5
REFERENCE_TOLERANCE = 1e-5
FD_STEP = 1e-6
KINK_MARGIN = 0.05
SEED = 20240611
COMPILE_TIMEOUT_S = 300
RUN_TIMEOUT_S = 600
# Graph ops that declare a gradient rule but that no ONNX model can place
# between a parameter and the loss, with the reason.
ELIDED_AT_IMPORT = {
    "cast": "float32 is the only float type, and the importer drops a Cast "
            "to the input's own type, so no cast passes a gradient",
}
# ONNX IR version that goes with each opset.
IR_VERSION = {17: 8, 20: 9}

SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OPS_TD = os.path.join(SCRIPT_DIR, "..", "..", "dialects", "Graph",
                              "GraphOps.td")


# ---------------------------------------------------------------------------
# Float64 references, from the ONNX specification

def erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def gelu(x, approximate):
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)
        return 0.5 * x * (1.0 + np.tanh(inner))
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def gemm(a, b, c, trans_a, trans_b, alpha, beta):
    y = alpha * ((a.T if trans_a else a) @ (b.T if trans_b else b))
    return y if c is None else y + beta * c


def layer_norm(x, scale, bias, axis, eps=1e-5):
    axes = tuple(range(axis % x.ndim, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps) * scale
    return y if bias is None else y + bias


def batch_norm(x, scale, bias, mean, var, eps=1e-5):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return ((x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) *
            scale.reshape(shape) + bias.reshape(shape))


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def onnx_reshape(x, shape):
    """Reshape with ONNX's 0 (copy the input dim) and -1 (infer)."""
    dims = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return x.reshape(dims)


def onnx_slice(x, starts, ends, axes, steps=None):
    """Slice with ONNX's clamping of starts and ends (either step sign)."""
    index = [slice(None)] * x.ndim
    steps = steps or [1] * len(starts)
    for start, end, axis, step in zip(starts, ends, axes, steps):
        dim = x.shape[axis]
        start = start + dim if start < 0 else start
        end = end + dim if end < 0 else end
        if step > 0:
            index[axis] = slice(min(max(start, 0), dim),
                                min(max(end, 0), dim), step)
        else:
            start = min(max(start, 0), dim - 1)
            end = min(max(end, -1), dim - 1)
            index[axis] = slice(start, None if end == -1 else end, step)
    return x[tuple(index)]


def onnx_pad(x, pads, value):
    """Constant Pad; negative pads remove elements."""
    rank = x.ndim
    begin, end = pads[:rank], pads[rank:]
    crop = tuple(slice(max(-b, 0), x.shape[d] - max(-e, 0))
                 for d, (b, e) in enumerate(zip(begin, end)))
    widths = [(max(b, 0), max(e, 0)) for b, e in zip(begin, end)]
    return np.pad(x[crop], widths, mode="constant", constant_values=value)


def _window_slices(taps, strides, dilations, counts):
    """Per spatial dim, the strided slice that tap k of every window reads
    (window i starts at i * stride, tap k adds k * dilation)."""
    return tuple(slice(k * d, k * d + s * (n - 1) + 1, s)
                 for k, s, d, n in zip(taps, strides, dilations, counts))


def conv(x, w, b, strides, pads, dilations, group):
    """ONNX Conv: x [N, C, in...], w [O, C/group, kernel...]."""
    rank = x.ndim - 2
    kernel = w.shape[2:]
    xp = np.pad(x, [(0, 0), (0, 0)] + list(zip(pads[:rank], pads[rank:])))
    out = [(xp.shape[2 + i] - dilations[i] * (kernel[i] - 1) - 1) //
           strides[i] + 1 for i in range(rank)]
    cg, og = x.shape[1] // group, w.shape[0] // group
    y = np.zeros((x.shape[0], w.shape[0]) + tuple(out))
    for tap in np.ndindex(*kernel):
        patch = xp[(slice(None), slice(None)) +
                   _window_slices(tap, strides, dilations, out)]
        for g in range(group):
            y[:, g * og:(g + 1) * og] += np.einsum(
                "nc...,oc->no...", patch[:, g * cg:(g + 1) * cg],
                w[(slice(g * og, (g + 1) * og), slice(None)) + tap])
    return y if b is None else y + b.reshape((1, -1) + (1,) * rank)


def conv_transpose(x, w, b, strides, pads, dilations, output_padding, group):
    """ONNX ConvTranspose: x [N, C, in...], w [C, O/group, kernel...]; each
    input position adds w times itself into the full result, which pads
    then crop."""
    rank = x.ndim - 2
    kernel, size = w.shape[2:], x.shape[2:]
    full = [strides[i] * (size[i] - 1) + output_padding[i] +
            dilations[i] * (kernel[i] - 1) + 1 for i in range(rank)]
    cg, og = x.shape[1] // group, w.shape[1]
    y = np.zeros((x.shape[0], og * group) + tuple(full))
    for tap in np.ndindex(*kernel):
        index = _window_slices(tap, strides, dilations, size)
        for g in range(group):
            y[(slice(None), slice(g * og, (g + 1) * og)) + index] += np.einsum(
                "nc...,co->no...", x[:, g * cg:(g + 1) * cg],
                w[(slice(g * cg, (g + 1) * cg), slice(None)) + tap])
    y = y[(slice(None), slice(None)) +
          tuple(slice(pads[i], full[i] - pads[rank + i]) for i in range(rank))]
    return y if b is None else y + b.reshape((1, -1) + (1,) * rank)


def pool_output_size(size, kernel, stride, begin, end, dilation, ceil_mode):
    """ONNX's pooled size; in ceil mode the last window must start inside
    the input or its begin padding."""
    span = size + begin + end - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + begin:
        out -= 1
    return out


def _pool(x, kernel, strides, pads, dilations, ceil_mode, fill, combine):
    """Folds every window of x padded with `fill` (also past the end padding,
    for ceil mode's overhang) with `combine`."""
    rank = x.ndim - 2
    out = [pool_output_size(x.shape[2 + i], kernel[i], strides[i], pads[i],
                            pads[rank + i], dilations[i], ceil_mode)
           for i in range(rank)]
    overhang = [max(0, (out[i] - 1) * strides[i] +
                    dilations[i] * (kernel[i] - 1) + 1 -
                    (x.shape[2 + i] + pads[i] + pads[rank + i]))
                for i in range(rank)]
    xp = np.pad(x, [(0, 0), (0, 0)] +
                [(pads[i], pads[rank + i] + overhang[i]) for i in range(rank)],
                constant_values=fill)
    result = None
    for tap in np.ndindex(*kernel):
        patch = xp[(slice(None), slice(None)) +
                   _window_slices(tap, strides, dilations, out)]
        result = patch if result is None else combine(result, patch)
    return result


def max_pool(x, kernel, strides, pads, dilations, ceil_mode):
    return _pool(x, kernel, strides, pads, dilations, ceil_mode, -np.inf,
                 np.maximum)


def avg_pool(x, kernel, strides, pads, count_include_pad, ceil_mode):
    """ONNX AveragePool: the divisor counts the window's input elements, or
    with count_include_pad its elements inside the padded input (never the
    ceil-mode overhang past the end padding)."""
    rank = x.ndim - 2
    sums = _pool(x, kernel, strides, pads, [1] * rank, ceil_mode, 0.0, np.add)
    counts = np.ones(())
    for i in range(rank):
        size = x.shape[2 + i]
        start = np.arange(sums.shape[2 + i]) * strides[i] - pads[i]
        end = start + kernel[i]
        if count_include_pad:
            count = np.minimum(end, size + pads[rank + i]) - start
        else:
            count = np.minimum(end, size) - np.maximum(start, 0)
        counts = np.multiply.outer(counts, count)
    return sums / counts


def resize(x, scales, mode, coord, nearest_mode="round_prefer_floor"):
    """ONNX Resize with scales, one dim at a time: each output index maps to
    a source coordinate, then to one input (nearest) or two blended ones
    (linear, the coordinate clamped to the input)."""
    for axis, scale in enumerate(scales):
        size = x.shape[axis]
        out = int(math.floor(size * scale))
        if out == size and scale == 1:
            continue
        o = np.arange(out, dtype=np.float64)
        if coord == "half_pixel":
            c = (o + 0.5) / scale - 0.5
        elif coord == "pytorch_half_pixel":
            c = (o + 0.5) / scale - 0.5 if out > 1 else np.zeros(out)
        elif coord == "align_corners":
            length = size * scale
            c = o * (size - 1) / (length - 1) if length > 1 else np.zeros(out)
        else:
            c = o / scale
        matrix = np.zeros((out, size))
        if mode == "nearest":
            floor = np.floor(c)
            half = c == floor + 0.5
            if nearest_mode == "round_prefer_floor":
                i = np.where(half, floor, np.round(c))
            elif nearest_mode == "round_prefer_ceil":
                i = np.where(half, floor + 1, np.round(c))
            elif nearest_mode == "floor":
                i = floor
            else:
                i = np.ceil(c)
            i = np.clip(i, 0, size - 1).astype(np.int64)
            matrix[np.arange(out), i] = 1.0
        else:
            c = np.clip(c, 0, size - 1)
            lo = np.floor(c).astype(np.int64)
            hi = np.minimum(lo + 1, size - 1)
            weight = c - lo
            np.add.at(matrix, (np.arange(out), lo), 1 - weight)
            np.add.at(matrix, (np.arange(out), hi), weight)
        x = np.moveaxis(np.tensordot(matrix, x, axes=([1], [axis])), 0, axis)
    return x


# ---------------------------------------------------------------------------
# Cases


class Case:
    """One op under test: its parameters, ONNX subgraph and reference.

    `graph(b, P)` adds the case's nodes through the CaseBuilder `b`, with `P`
    mapping each parameter to its tensor name, and returns the names of the
    outputs that feed the loss. `ref(P)` computes those outputs in float64
    from `P`, parameter -> float64 array. `covers` lists the graph ops whose
    gradient rule the case exercises.
    """

    def __init__(self, name, covers, params, graph, ref, opset=17):
        assert re.fullmatch(r"[a-z0-9_]+", name), name
        self.name, self.covers, self.opset = name, list(covers), opset
        self.params = {k: np.asarray(v, dtype=np.float32)
                       for k, v in params.items()}
        self.graph, self.ref = graph, ref
        self.r = None  # the fixed random tensors R_j, set by assign_r

    def param_name(self, short):
        return f"{self.name}.{short}"

    def value(self, params64):
        """f(params) = sum_j sum(Y_j * R_j) in float64."""
        return sum(float(np.sum(y * r))
                   for y, r in zip(self.ref(params64), self.r))

    def params64(self):
        return {k: v.astype(np.float64) for k, v in self.params.items()}

    def assign_r(self, rng):
        """Random R_j of each output's shape, signed so that f > 0."""
        outputs = self.ref(self.params64())
        self.r = [rng.uniform(0.5, 1.5, y.shape) *
                  rng.choice([-1.0, 1.0], y.shape) for y in outputs]
        self.r = [r.astype(np.float32).astype(np.float64) for r in self.r]
        if self.value(self.params64()) < 0:
            self.r = [-r for r in self.r]


class CaseBuilder:
    """Adds one case's nodes and initializers to a model under construction."""

    def __init__(self, case, nodes, initializers):
        self.case, self.nodes, self.initializers = case, nodes, initializers
        self.counter = 0

    def _fresh(self, hint):
        self.counter += 1
        return f"{self.case.name}/{hint}_{self.counter}"

    def node(self, op_type, inputs, n_out=1, **attrs):
        """Append a node; returns its output name (or list of names)."""
        outputs = [self._fresh(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outputs,
                                           name=self._fresh(op_type), **attrs))
        return outputs[0] if n_out == 1 else outputs

    def const(self, hint, array):
        """A non-trainable initializer (ints, bools, rank-0 floats, batch-norm
        statistics)."""
        name = self.case.param_name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(array),
                                                         name))
        return name

    def ints(self, hint, values):
        return self.const(hint, np.asarray(values, dtype=np.int64))

    def scalar(self, hint, value):
        return self.const(hint, np.array(value, dtype=np.float32))

    def constant_node(self, array):
        """A float tensor in a Constant node: never a parameter."""
        out = self._fresh("const")
        self.nodes.append(helper.make_node(
            "Constant", [], [out], name=self._fresh("Constant"),
            value=numpy_helper.from_array(np.asarray(array, dtype=np.float32),
                                          out)))
        return out


class Data:
    """Seeded test data that keeps clear of kinks, domains and ties."""

    def __init__(self, rng):
        self.rng = rng

    def normal(self, shape, scale=1.0):
        return self.rng.standard_normal(shape) * scale

    def uniform(self, shape, lo, hi):
        return self.rng.uniform(lo, hi, shape)

    def spread(self, shape, lo, hi, kinks=()):
        """Values spread evenly over [lo, hi] (so every region between kinks
        is hit), jittered, shuffled, and at least KINK_MARGIN from each
        kink."""
        n = int(np.prod(shape))
        step = (hi - lo) / n
        v = lo + step * (np.arange(n) + 0.5 + self.rng.uniform(-0.35, 0.35, n))
        for k in kinks:
            close = np.abs(v - k) < KINK_MARGIN
            v[close] = k + np.where(v[close] >= k, 1.5, -1.5) * KINK_MARGIN
        self.rng.shuffle(v)
        return v.reshape(shape)

    def nonzero(self, shape, lo=0.5, hi=2.0):
        """|v| in [lo, hi] with random signs."""
        signs = self.rng.choice([-1.0, 1.0], shape)
        return self.uniform(shape, lo, hi) * signs

    def distinct(self, shape, gap=0.1):
        """A permutation of evenly spaced values: no ties, gaps >= 0.6 gap."""
        n = int(np.prod(shape))
        v = (np.arange(n) - n / 2) * gap + self.rng.uniform(-0.2, 0.2, n) * gap
        self.rng.shuffle(v)
        return v.reshape(shape)


def unary(name, op_type, mnemonic, x, fn, **attrs):
    return Case(name, [mnemonic], {"x": x},
                lambda b, P: [b.node(op_type, [P["x"]], **attrs)],
                lambda P: [fn(P["x"])])


def binary(name, op_type, mnemonic, a, c, fn):
    return Case(name, [mnemonic], {"a": a, "b": c},
                lambda b, P: [b.node(op_type, [P["a"], P["b"]])],
                lambda P: [fn(P["a"], P["b"])])


def elementwise_cases(d):
    s = (3, 5)
    return [
        unary("neg", "Neg", "neg", d.normal(s), lambda x: -x),
        unary("abs", "Abs", "abs", d.spread(s, -2, 2, [0]), np.abs),
        unary("exp", "Exp", "exp", d.uniform(s, -1.5, 1.5), np.exp),
        unary("log", "Log", "log", d.uniform(s, 0.3, 3.0), np.log),
        unary("tanh", "Tanh", "tanh", d.normal(s), np.tanh),
        unary("erf", "Erf", "erf", d.normal(s), erf),
        unary("relu", "Relu", "relu", d.spread(s, -2, 2, [0]),
              lambda x: np.maximum(x, 0)),
        unary("sigmoid", "Sigmoid", "sigmoid", d.normal(s, 2.0), sigmoid),
        unary("sqrt", "Sqrt", "sqrt", d.uniform(s, 0.3, 3.0), np.sqrt),
        unary("reciprocal", "Reciprocal", "reciprocal", d.nonzero(s, 0.4, 2.0),
              lambda x: 1 / x),
        unary("leaky_relu", "LeakyRelu", "leaky_relu", d.spread(s, -2, 2, [0]),
              lambda x: np.where(x >= 0, x, 0.1 * x), alpha=0.1),
        unary("hard_sigmoid", "HardSigmoid", "hard_sigmoid",
              d.spread((3, 7), -4, 4, [-2.5, 2.5]),
              lambda x: np.clip(0.2 * x + 0.5, 0, 1)),
        unary("hard_sigmoid_attrs", "HardSigmoid", "hard_sigmoid",
              d.spread((3, 7), -2.5, 1.5, [-1.5, 0.5]),
              lambda x: np.clip(0.5 * x + 0.75, 0, 1), alpha=0.5, beta=0.75),
        unary("hard_swish", "HardSwish", "hard_swish",
              d.spread((3, 7), -4.5, 4.5, [-3, 3]),
              lambda x: x * np.clip(x / 6 + 0.5, 0, 1)),
        Case("clip", ["clip"], {"x": d.spread((3, 7), -1.5, 1.5, [-0.5, 0.8])},
             lambda b, P: [b.node("Clip", [P["x"], b.scalar("min", -0.5),
                                           b.scalar("max", 0.8)])],
             lambda P: [np.clip(P["x"], -0.5, 0.8)]),
        Case("clip_min_only", ["clip"], {"x": d.spread(s, -1.5, 1.5, [0.2])},
             lambda b, P: [b.node("Clip", [P["x"], b.scalar("min", 0.2)])],
             lambda P: [np.maximum(P["x"], 0.2)]),
        Case("gelu", ["gelu"], {"x": d.normal(s, 1.5)},
             lambda b, P: [b.node("Gelu", [P["x"]])],
             lambda P: [gelu(P["x"], "none")], opset=20),
        Case("gelu_tanh", ["gelu"], {"x": d.normal(s, 1.5)},
             lambda b, P: [b.node("Gelu", [P["x"]], approximate="tanh")],
             lambda P: [gelu(P["x"], "tanh")], opset=20),
        unary("cast", "Cast", "cast", d.normal(s), lambda x: x,
              to=TensorProto.FLOAT),
        binary("add", "Add", "add", d.normal((3, 5)), d.normal((5,)),
               np.add),
        binary("sub", "Sub", "sub", d.normal((3, 1)), d.normal((1, 5)),
               np.subtract),
        binary("mul", "Mul", "mul", d.normal((2, 3, 5)), d.normal((3, 1)),
               np.multiply),
        # A scalar computed from a parameter, broadcast into a matrix.
        Case("add_scalar", ["add", "reduce_sum"],
             {"a": d.normal(s), "b": d.normal((4,))},
             lambda b, P: [b.node("Add", [P["a"], b.node("ReduceSum", [P["b"]],
                                                         keepdims=0)])],
             lambda P: [P["a"] + P["b"].sum()]),
        Case("mul_self", ["mul"], {"x": d.normal(s)},
             lambda b, P: [b.node("Mul", [P["x"], P["x"]])],
             lambda P: [P["x"] * P["x"]]),
        binary("div", "Div", "div", d.normal((3, 5)), d.nonzero((5,)),
               np.divide),
        binary("div_bcast_lhs", "Div", "div", d.normal((5,)),
               d.nonzero((3, 5)), np.divide),
        binary("pow", "Pow", "pow", d.uniform((3, 5), 0.5, 2.0),
               d.uniform((5,), -1.5, 2.5), np.power),
        # x ** 3 with a constant exponent, as exporters write it (GELU's tanh
        # form, variances); the base may be negative.
        Case("pow_const_exponent", ["pow"], {"x": d.nonzero(s, 0.3, 1.5)},
             lambda b, P: [b.node("Pow", [P["x"], b.scalar("e", 3.0)])],
             lambda P: [P["x"] ** 3]),
        where_case("where", d, (3, 5), (3, 1), (1, 5)),
        where_case("where_cond_bcast", d, (5,), (3, 5), (3, 5)),
    ]


def where_case(name, d, cond_shape, a_shape, c_shape):
    cond = d.rng.integers(0, 2, cond_shape).astype(bool)
    cond.flat[0], cond.flat[-1] = True, False
    return Case(name, ["where"],
                {"a": d.normal(a_shape), "b": d.normal(c_shape)},
                lambda b, P: [b.node("Where", [b.const("cond", cond),
                                               P["a"], P["b"]])],
                lambda P: [np.where(cond, P["a"], P["b"])])


def contraction_cases(d):
    def matmul(name, a_shape, b_shape):
        return binary(name, "MatMul", "matmul", d.normal(a_shape),
                      d.normal(b_shape), np.matmul)

    def gemm_case(name, a_shape, b_shape, c_shape, trans_a, trans_b, alpha,
                  beta):
        params = {"a": d.normal(a_shape), "b": d.normal(b_shape)}
        attrs = {"transA": trans_a, "transB": trans_b, "alpha": alpha,
                 "beta": beta}
        if c_shape is not None:
            params["c"] = d.normal(c_shape)
        return Case(
            name, ["gemm"], params,
            lambda b, P: [b.node("Gemm", [P["a"], P["b"]] +
                                 ([P["c"]] if "c" in P else []), **attrs)],
            lambda P: [gemm(P["a"], P["b"], P.get("c"), trans_a, trans_b,
                            alpha, beta)])

    return [
        matmul("matmul_2d", (3, 4), (4, 5)),
        matmul("matmul_linear", (2, 3, 4), (4, 5)),
        matmul("matmul_attention", (2, 2, 3, 4), (2, 2, 4, 3)),
        matmul("matmul_bcast_rhs", (2, 3, 4), (1, 4, 5)),
        matmul("matmul_bcast_lhs", (1, 3, 4), (2, 4, 5)),
        matmul("matmul_2d_3d", (3, 4), (2, 4, 5)),
        matmul("matmul_bcast_both", (2, 1, 3, 4), (1, 2, 4, 5)),
        matmul("matmul_vec", (4,), (4, 5)),
        matmul("matmul_vec_batched", (4,), (2, 4, 5)),
        matmul("matmul_mat_vec", (3, 4), (4,)),
        gemm_case("gemm_nn", (3, 4), (4, 5), (5,), 0, 0, 0.7, 1.3),
        gemm_case("gemm_tn", (4, 3), (4, 5), (1, 5), 1, 0, 0.7, 1.3),
        gemm_case("gemm_nt", (3, 4), (5, 4), (3, 5), 0, 1, 0.7, 1.3),
        gemm_case("gemm_tt", (4, 3), (5, 4), (3, 1), 1, 1, 1.5, 0.5),
        gemm_case("gemm_no_c", (3, 4), (4, 5), None, 0, 0, 1.0, 1.0),
    ]


def normalization_cases(d):
    def ln(name, axis, scale_shape, with_bias):
        params = {"x": d.normal((2, 3, 5)),
                  "scale": 1 + 0.3 * d.normal(scale_shape)}
        if with_bias:
            params["bias"] = 0.3 * d.normal(scale_shape)
        return Case(
            name, ["layer_norm"], params,
            lambda b, P: [b.node(
                "LayerNormalization",
                [P["x"], P["scale"]] + ([P["bias"]] if "bias" in P else []),
                axis=axis)],
            lambda P: [layer_norm(P["x"], P["scale"], P.get("bias"), axis)])

    def bn(name, x_shape):
        channels = x_shape[1]
        mean = (0.3 * d.normal((channels,))).astype(np.float32)
        var = d.uniform((channels,), 0.5, 2.0).astype(np.float32)
        return Case(
            name, ["batch_norm"],
            {"x": d.normal(x_shape), "scale": 1 + 0.3 * d.normal((channels,)),
             "bias": 0.3 * d.normal((channels,))},
            lambda b, P: [b.node("BatchNormalization",
                                 [P["x"], P["scale"], P["bias"],
                                  b.const("mean", mean),
                                  b.const("var", var)])],
            lambda P: [batch_norm(P["x"], P["scale"], P["bias"],
                                  mean.astype(np.float64),
                                  var.astype(np.float64))])

    def sm(name, op_type, mnemonic, fn, axis):
        return Case(name, [mnemonic], {"x": d.normal((2, 3, 5), 1.5)},
                    lambda b, P: [b.node(op_type, [P["x"]], axis=axis)],
                    lambda P: [fn(P["x"], axis)])

    return [
        ln("layer_norm_last_bias", -1, (5,), True),
        ln("layer_norm_last", -1, (5,), False),
        ln("layer_norm_axis1_bias", 1, (3, 5), True),
        ln("layer_norm_axis1", 1, (3, 5), False),
        bn("batch_norm_3d", (2, 3, 5)),
        bn("batch_norm_4d", (2, 3, 2, 3)),
        sm("softmax_last", "Softmax", "softmax", softmax, -1),
        sm("softmax_axis1", "Softmax", "softmax", softmax, 1),
        sm("log_softmax_last", "LogSoftmax", "log_softmax", log_softmax, -1),
        sm("log_softmax_axis1", "LogSoftmax", "log_softmax", log_softmax, 1),
    ]


def reduction_cases(d):
    def reduce(name, op_type, mnemonic, fn, axes, keepdims, x):
        def graph(b, P):
            # Opset 17: ReduceSum takes axes as an input, the others as an
            # attribute.
            if op_type == "ReduceSum":
                inputs = [P["x"]] + ([b.ints("axes", axes)] if axes else [])
                return [b.node(op_type, inputs, keepdims=keepdims)]
            attrs = {"axes": axes} if axes else {}
            return [b.node(op_type, [P["x"]], keepdims=keepdims, **attrs)]
        ax = tuple(axes) if axes else None
        return Case(name, [mnemonic], {"x": x}, graph,
                    lambda P: [np.asarray(fn(P["x"], axis=ax,
                                             keepdims=bool(keepdims)))])

    s = (2, 3, 5)
    return [
        reduce("reduce_sum_02", "ReduceSum", "reduce_sum", np.sum, [0, 2], 0,
               d.normal(s)),
        reduce("reduce_sum_1_keep", "ReduceSum", "reduce_sum", np.sum, [1], 1,
               d.normal(s)),
        reduce("reduce_sum_all", "ReduceSum", "reduce_sum", np.sum, None, 0,
               d.normal(s)),
        reduce("reduce_mean_12", "ReduceMean", "reduce_mean", np.mean, [1, 2],
               0, d.normal(s)),
        reduce("reduce_mean_last_keep", "ReduceMean", "reduce_mean", np.mean,
               [-1], 1, d.normal(s)),
        reduce("reduce_max_last", "ReduceMax", "reduce_max", np.max, [2], 0,
               d.distinct(s)),
        reduce("reduce_max_01_keep", "ReduceMax", "reduce_max", np.max,
               [0, 1], 1, d.distinct(s)),
        reduce("reduce_max_all_keep", "ReduceMax", "reduce_max", np.max, None,
               1, d.distinct(s)),
    ]


def data_movement_cases(d):
    table = d.normal((7, 4))
    idx = np.array([[1, 3, -1], [3, 0, 1]], dtype=np.int64)
    idx1 = np.array([5, -2, 0, 5], dtype=np.int64)

    def reshape(name, x_shape, shape):
        return Case(name, ["reshape"], {"x": d.normal(x_shape)},
                    lambda b, P: [b.node("Reshape",
                                         [P["x"], b.ints("shape", shape)])],
                    lambda P: [onnx_reshape(P["x"], shape)])

    def slice_case(name, x_shape, starts, ends, axes, steps=None):
        steps = steps or [1] * len(axes)
        return Case(name, ["slice"], {"x": d.normal(x_shape)},
                    lambda b, P: [b.node("Slice", [
                        P["x"], b.ints("starts", starts), b.ints("ends", ends),
                        b.ints("axes", axes), b.ints("steps", steps)])],
                    lambda P: [onnx_slice(P["x"], starts, ends, axes, steps)])

    def pad_case(name, x_shape, pads, value):
        return Case(name, ["pad"], {"x": d.normal(x_shape)},
                    lambda b, P: [b.node("Pad", [P["x"], b.ints("pads", pads),
                                                 b.scalar("value", value)],
                                         mode="constant")],
                    lambda P: [onnx_pad(P["x"], pads, value)])

    def gather_case(name, data_shape, indices, axis):
        return Case(name, ["gather"], {"data": d.normal(data_shape)},
                    lambda b, P: [b.node(
                        "Gather", [P["data"], b.ints("indices", indices)],
                        axis=axis)],
                    lambda P: [np.take(P["data"], indices, axis=axis)])

    return [
        reshape("reshape", (3, 5), [5, 3]),
        reshape("reshape_special", (2, 3, 5), [0, -1]),
        Case("flatten", ["reshape"], {"x": d.normal((2, 3, 5))},
             lambda b, P: [b.node("Flatten", [P["x"]], axis=2)],
             lambda P: [P["x"].reshape(6, 5)]),
        Case("unsqueeze", ["reshape"], {"x": d.normal((3, 5))},
             lambda b, P: [b.node("Unsqueeze",
                                  [P["x"], b.ints("axes", [0, 3])])],
             lambda P: [P["x"].reshape(1, 3, 5, 1)]),
        Case("transpose", ["transpose"], {"x": d.normal((2, 3, 5))},
             lambda b, P: [b.node("Transpose", [P["x"]], perm=[2, 0, 1])],
             lambda P: [P["x"].transpose(2, 0, 1)]),
        Case("transpose_heads", ["transpose"], {"x": d.normal((2, 3, 2, 4))},
             lambda b, P: [b.node("Transpose", [P["x"]], perm=[0, 2, 1, 3])],
             lambda P: [P["x"].transpose(0, 2, 1, 3)]),
        Case("transpose_default", ["transpose"], {"x": d.normal((3, 5))},
             lambda b, P: [b.node("Transpose", [P["x"]])],
             lambda P: [P["x"].T]),
        Case("concat", ["concat"],
             {"a": d.normal((2, 3)), "b": d.normal((2, 1)),
              "c": d.normal((2, 4))},
             lambda b, P: [b.node("Concat", [P["a"], P["b"], P["c"]], axis=1)],
             lambda P: [np.concatenate([P["a"], P["b"], P["c"]], axis=1)]),
        Case("concat_repeat", ["concat"],
             {"a": d.normal((1, 5)), "b": d.normal((2, 5))},
             lambda b, P: [b.node("Concat", [P["a"], P["b"], P["a"]],
                                  axis=-2)],
             lambda P: [np.concatenate([P["a"], P["b"], P["a"]], axis=0)]),
        # The middle piece feeds nothing: its gradient is zero.
        Case("split_unused", ["split"], {"x": d.normal((2, 9))},
             lambda b, P: [o for i, o in enumerate(b.node(
                 "Split", [P["x"], b.ints("split", [2, 3, 4])], n_out=3,
                 axis=1)) if i != 1],
             lambda P: [P["x"][:, :2], P["x"][:, 5:]]),
        Case("split_equal", ["split"], {"x": d.normal((4, 3))},
             lambda b, P: b.node("Split", [P["x"]], n_out=2, axis=0),
             lambda P: [P["x"][:2], P["x"][2:]]),
        slice_case("slice", (4, 6), [1, -4], [3, 100], [0, 1]),
        slice_case("slice_one_axis", (3, 5, 2), [1], [-1], [-2]),
        # Strided: every other row/column (Swin's patch merging), a
        # reversal, and a step of 3 with a negative step on another axis.
        slice_case("slice_step2", (4, 6, 3), [0, 1], [100, 100], [1, 2],
                   [2, 2]),
        slice_case("slice_reverse", (5, 3), [-1], [-100], [0], [-1]),
        slice_case("slice_step3_neg2", (7, 6), [1, 5], [7, 0], [0, 1],
                   [3, -2]),
        gather_case("gather", table.shape, idx, 0),
        gather_case("gather_axis1", (3, 6), idx1, 1),
        gather_case("gather_axis1_3d", (2, 5, 3),
                    np.array([[0, 4], [-1, 2]], dtype=np.int64), 1),
        gather_case("gather_scalar_index", (4, 5), np.array(2, np.int64), 0),
        Case("expand", ["broadcast_to"], {"x": d.normal((3, 1))},
             lambda b, P: [b.node("Expand",
                                  [P["x"], b.ints("shape", [2, 3, 4])])],
             lambda P: [np.broadcast_to(P["x"], (2, 3, 4))]),
        Case("expand_rank", ["broadcast_to"], {"x": d.normal((5,))},
             lambda b, P: [b.node("Expand",
                                  [P["x"], b.ints("shape", [3, 1])])],
             lambda P: [np.broadcast_to(P["x"], (3, 5))]),
        # The shape's 1 keeps the input's 3 (ONNX broadcasts both ways).
        Case("expand_bidirectional", ["broadcast_to"], {"x": d.normal((3, 4))},
             lambda b, P: [b.node("Expand", [P["x"],
                                             b.ints("shape", [2, 1, 4])])],
             lambda P: [np.broadcast_to(P["x"], (2, 3, 4))]),
        pad_case("pad", (3, 4), [1, 2, 0, 1], 0.5),
        pad_case("pad_negative", (4, 5), [-1, 1, 0, -2], 0.0),
    ]


def spatial_cases(d):
    """Convolutions, pooling and resize: strides, padding, dilations, groups,
    output padding, overlapping windows and ceil mode."""
    def conv_case(name, x_shape, w_shape, bias, strides, pads, dilations,
                  group=1):
        params = {"x": d.normal(x_shape), "w": d.normal(w_shape, 0.5)}
        if bias:
            params["b"] = d.normal((w_shape[0],))
        return Case(
            name, ["conv"], params,
            lambda b, P: [b.node(
                "Conv", [P["x"], P["w"]] + ([P["b"]] if "b" in P else []),
                strides=strides, pads=pads, dilations=dilations,
                group=group)],
            lambda P: [conv(P["x"], P["w"], P.get("b"), strides, pads,
                            dilations, group)])

    def conv_transpose_case(name, x_shape, w_shape, bias, strides, pads,
                            dilations, output_padding, group=1):
        params = {"x": d.normal(x_shape), "w": d.normal(w_shape, 0.5)}
        if bias:
            params["b"] = d.normal((w_shape[1] * group,))
        return Case(
            name, ["conv_transpose"], params,
            lambda b, P: [b.node(
                "ConvTranspose",
                [P["x"], P["w"]] + ([P["b"]] if "b" in P else []),
                strides=strides, pads=pads, dilations=dilations,
                output_padding=output_padding, group=group)],
            lambda P: [conv_transpose(P["x"], P["w"], P.get("b"), strides,
                                      pads, dilations, output_padding,
                                      group)])

    def max_pool_case(name, x_shape, kernel, strides, pads, dilations,
                      ceil_mode):
        return Case(
            name, ["max_pool"], {"x": d.distinct(x_shape)},
            lambda b, P: [b.node("MaxPool", [P["x"]], kernel_shape=kernel,
                                 strides=strides, pads=pads,
                                 dilations=dilations,
                                 ceil_mode=int(ceil_mode))],
            lambda P: [max_pool(P["x"], kernel, strides, pads, dilations,
                                ceil_mode)])

    def avg_pool_case(name, x_shape, kernel, strides, pads,
                      count_include_pad, ceil_mode):
        return Case(
            name, ["avg_pool"], {"x": d.normal(x_shape)},
            lambda b, P: [b.node("AveragePool", [P["x"]], kernel_shape=kernel,
                                 strides=strides, pads=pads,
                                 count_include_pad=int(count_include_pad),
                                 ceil_mode=int(ceil_mode))],
            lambda P: [avg_pool(P["x"], kernel, strides, pads,
                                count_include_pad, ceil_mode)])

    def resize_case(name, x_shape, scales, mode, coord, nearest_mode):
        return Case(
            name, ["resize"], {"x": d.normal(x_shape)},
            lambda b, P: [b.node(
                "Resize", [P["x"], "", b.constant_node(scales)], mode=mode,
                coordinate_transformation_mode=coord,
                nearest_mode=nearest_mode)],
            lambda P: [resize(P["x"], scales, mode, coord, nearest_mode)])

    return [
        conv_case("conv_1d", (2, 4, 11), (3, 4, 3), True, [2], [1, 2], [2]),
        # The width leaves one padded column unread (output padding 1 in
        # the input gradient).
        conv_case("conv_2d_groups", (2, 4, 7, 9), (6, 2, 3, 3), True, [2, 2],
                  [1, 0, 1, 1], [2, 1], group=2),
        conv_case("conv_2d", (1, 3, 5, 5), (4, 3, 3, 3), False, [1, 1],
                  [1, 1, 1, 1], [1, 1]),
        conv_transpose_case("conv_transpose_2d", (1, 4, 3, 4), (4, 3, 3, 3),
                            True, [2, 2], [1, 0, 1, 1], [1, 1], [1, 1]),
        # Output padding beyond the end pads (shrunk within the stride).
        conv_transpose_case("conv_transpose_1d_groups", (2, 4, 5), (4, 2, 3),
                            False, [3], [1, 0], [2], [2], group=2),
        max_pool_case("max_pool_2d_ceil", (2, 3, 7, 6), [3, 3], [2, 2],
                      [1, 1, 1, 1], [1, 1], True),
        max_pool_case("max_pool_1d_dilated", (2, 2, 9), [2], [1], [1, 1], [2],
                      False),
        avg_pool_case("avg_pool_2d_ceil", (2, 3, 7, 6), [3, 2], [2, 2],
                      [1, 1, 0, 1], False, True),
        avg_pool_case("avg_pool_include_pad", (2, 3, 7, 6), [3, 3], [2, 2],
                      [1, 1, 1, 1], True, False),
        avg_pool_case("avg_pool_pad_ceil", (1, 2, 7, 6), [3, 2], [2, 2],
                      [1, 1, 0, 1], True, True),
        resize_case("resize_nearest_2x", (1, 2, 3, 4), [1, 1, 2, 2],
                    "nearest", "half_pixel", "round_prefer_floor"),
        resize_case("resize_nearest_asym", (2, 3, 5), [1, 1, 2],
                    "nearest", "asymmetric", "floor"),
        resize_case("resize_linear_2x", (1, 2, 3, 4), [1, 1, 2, 2], "linear",
                    "half_pixel", "round_prefer_floor"),
        resize_case("resize_linear_corners", (1, 2, 3, 4), [1, 1, 2, 2],
                    "linear", "align_corners", "round_prefer_floor"),
    ]


def composed_cases(d):
    """ONNX operators the importer writes as several differentiable ops."""
    s = (3, 5)

    def gelu_erf(b, P):
        # torch.onnx.export's GELU: x * 0.5 * (1 + erf(x / sqrt(2))).
        e = b.node("Erf", [b.node("Div", [P["x"], b.scalar("sqrt2",
                                                           math.sqrt(2.0))])])
        h = b.node("Mul", [P["x"], b.node("Add", [e, b.scalar("one", 1.0)])])
        return [b.node("Mul", [h, b.scalar("half", 0.5)])]

    a_max, c_max = d.normal(s), d.normal((5,))
    a_max += np.where(np.abs(a_max - c_max) < KINK_MARGIN, 0.2, 0.0)
    a_min, c_min = d.normal(s), d.normal((5,))
    a_min += np.where(np.abs(a_min - c_min) < KINK_MARGIN, 0.2, 0.0)
    return [
        Case("gelu_erf_composed", ["erf", "div", "add", "mul"],
             {"x": d.normal(s, 1.5)}, gelu_erf,
             lambda P: [gelu(P["x"], "none")]),
        Case("prelu", ["where"], {"x": d.spread((2, 3, 4), -2, 2, [0]),
                                  "slope": d.uniform((3, 1), 0.05, 0.5)},
             lambda b, P: [b.node("PRelu", [P["x"], P["slope"]])],
             lambda P: [np.where(P["x"] < 0, P["slope"] * P["x"], P["x"])]),
        binary("max", "Max", "where", a_max, c_max, np.maximum),
        binary("min", "Min", "where", a_min, c_min, np.minimum),
        Case("mean_variadic", ["add"],
             {"a": d.normal(s), "b": d.normal((5,)), "c": d.normal((3, 1))},
             lambda b, P: [b.node("Mean", [P["a"], P["b"], P["c"]])],
             lambda P: [(P["a"] + P["b"] + P["c"]) / 3]),
        Case("reduce_min", ["reduce_max", "neg"], {"x": d.distinct((2, 3, 5))},
             lambda b, P: [b.node("ReduceMin", [P["x"]], axes=[1],
                                  keepdims=0)],
             lambda P: [P["x"].min(axis=1)]),
        unary("elu", "Elu", "exp", d.spread(s, -2, 2, [0]),
              lambda x: np.where(x > 0, x, 0.7 * (np.exp(x) - 1)), alpha=0.7),
        unary("softplus", "Softplus", "log", d.normal(s, 2.0),
              lambda x: np.log(np.exp(x) + 1)),
    ]


def all_cases():
    d = Data(np.random.default_rng(SEED))
    cases = (elementwise_cases(d) + contraction_cases(d) +
             normalization_cases(d) + reduction_cases(d) +
             data_movement_cases(d) + composed_cases(d) + spatial_cases(d))
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    for case in cases:
        case.assign_r(d.rng)
    return cases


# ---------------------------------------------------------------------------
# Models


LIVE_ZERO = "zero"


def build_model(cases, opset, extra_outputs=False):
    """One model with every case; the output "loss" sums their losses. With
    extra_outputs, each case's Y_j is an output too (for onnxruntime).
    Returns (model, {case name: [Y names]})."""
    nodes, initializers, case_losses, outputs = [], [], [], {}
    for case in cases:
        b = CaseBuilder(case, nodes, initializers)
        tensors = {}
        for i, (short, value) in enumerate(case.params.items()):
            name = case.param_name(short)
            initializers.append(numpy_helper.from_array(value, name))
            # The first parameter enters through Add(param, zero), so that no
            # op of the case has only constant operands; the others feed the
            # op directly, as weights do in real models.
            tensors[short] = (b.node("Add", [name, LIVE_ZERO]) if i == 0
                              else name)
        ys = case.graph(b, tensors)
        outputs[case.name] = ys
        terms = []
        for y, r in zip(ys, case.r):
            term = b.node("Mul", [y, b.constant_node(r)])
            if r.ndim:
                term = b.node("ReduceSum", [term], keepdims=0)
            terms.append(term)
        case_losses.append(b.node("Sum", terms) if len(terms) > 1
                           else terms[0])
    nodes.append(helper.make_node("Sum", case_losses, ["loss"], name="loss"))
    graph_outputs = [helper.make_tensor_value_info("loss", TensorProto.FLOAT,
                                                   [])]
    if extra_outputs:
        for case in cases:
            for y, r in zip(outputs[case.name], case.r):
                graph_outputs.append(helper.make_tensor_value_info(
                    y, TensorProto.FLOAT, list(r.shape)))
    graph = helper.make_graph(
        nodes, f"gradients_opset{opset}",
        [helper.make_tensor_value_info(LIVE_ZERO, TensorProto.FLOAT, [])],
        graph_outputs, initializer=initializers)
    model = helper.make_model(graph, producer_name="check_gradients",
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = IR_VERSION[opset]
    onnx.checker.check_model(model, full_check=True)
    return model, outputs


# ---------------------------------------------------------------------------
# Checks


def rel_l2(value, ref, floor=0.0):
    value = np.asarray(value, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    diff = np.linalg.norm((value - ref).ravel())
    if not np.isfinite(diff):
        return float("inf")
    return float(diff / max(np.linalg.norm(ref.ravel()), floor))


def finite_differences(case, short):
    """Central differences of case.value along every element of a parameter."""
    params = case.params64()
    x = params[short]
    grad = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        orig = x[index]
        h = FD_STEP * max(1.0, abs(orig))
        x[index] = orig + h
        plus = case.value(params)
        x[index] = orig - h
        minus = case.value(params)
        x[index] = orig
        grad[index] = (plus - minus) / ((orig + h) - (orig - h))
    return grad


def differentiable_ops(td_path):
    """Mnemonics of the ops GraphOps.td marks Graph_Differentiable, directly
    or through a class that carries it."""
    with open(td_path, encoding="utf-8") as handle:
        text = re.sub(r"//[^\n]*", "", handle.read())
    records = []  # (kind, name, header after ':')
    for match in re.finditer(r"^\s*(def|class)\s+(\w+)", text, re.MULTILINE):
        i, depth = match.end(), 0
        while i < len(text):
            ch = text[i]
            if ch == '"':
                i = text.index('"', i + 1)
            elif ch in "<[(":
                depth += 1
            elif ch in ">])":
                depth -= 1
            elif ch in "{;" and depth == 0:
                break
            i += 1
        header = text[match.end():i]
        colon = header.find(":") if match.group(1) == "def" else \
            _class_colon(header)
        records.append((match.group(1), match.group(2), header[colon + 1:]))
    marked = set()
    changed = True
    while changed:  # a class is marked if it, or the class it extends, is
        changed = False
        for kind, name, parents in records:
            parent = re.match(r"\s*(\w+)", parents)
            if kind == "class" and name not in marked and (
                    "Graph_Differentiable" in parents or
                    (parent and parent.group(1) in marked)):
                marked.add(name)
                changed = True
    ops = set()
    for kind, name, parents in records:
        parent = re.match(r"\s*(\w+)", parents)
        mnemonic = re.search(r'"([^"]*)"', parents)
        if kind == "def" and mnemonic and (
                "Graph_Differentiable" in parents or
                (parent and parent.group(1) in marked)):
            ops.add(mnemonic.group(1))
    return ops


def _class_colon(header):
    """Index of the ':' after a class's template parameter list."""
    depth = 0
    for i, ch in enumerate(header):
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == ":" and depth == 0:
            return i
    return -1


def run(argv, what, timeout):
    """Run a command; returns (ok, stdout, stderr)."""
    print("+ " + " ".join(argv), flush=True)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return False, "", f"{what} timed out after {timeout} s"
    return proc.returncode == 0, proc.stdout, proc.stderr


def ops_by_case(mlir_text):
    """{case name: set of graph op mnemonics} from IR printed with locations
    that carry the ONNX node names ("<case>/<Op>_<n>")."""
    aliases = dict(re.findall(r"^(#loc\d*) = (.*)$", mlir_text, re.MULTILINE))
    found = {}
    for op, loc in re.findall(r"= graph\.(\w+)\b.*loc\(([^()]*)\)\s*$",
                              mlir_text, re.MULTILINE):
        loc = aliases.get(loc, loc)
        for name in re.findall(r'"([^"/]+)/', loc):
            found.setdefault(name, set()).add(op)
    return found


def check_references(model, cases, outputs):
    """Each case's float64 reference against onnxruntime. Returns failures."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(
        names, {LIVE_ZERO: np.zeros((), np.float32)})))
    failures = []
    for case in cases:
        for y, ref in zip(outputs[case.name], case.ref(case.params64())):
            err = rel_l2(got[y], ref, floor=1e-12) \
                if got[y].shape == np.shape(ref) else float("inf")
            if err > REFERENCE_TOLERANCE:
                failures.append(
                    f"{case.name}: onnxruntime output {y} differs from the "
                    f"float64 reference (rel {err:.2e}, shape "
                    f"{list(got[y].shape)} vs {list(np.shape(ref))})")
    return failures


def output_files(out_dir):
    with open(os.path.join(out_dir, "manifest.json"), encoding="utf-8") as f:
        return {o["name"]: o["file"] for o in json.load(f)["outputs"]}


class Table:
    def __init__(self):
        self.rows, self.failed = [], 0

    def add(self, case, param, elements, err, ok, note=""):
        self.rows.append((case, param, elements, err, ok, note))
        self.failed += not ok

    def print(self):
        print(f"\n{'case':<24} {'parameter':<16} {'elements':>8} "
              f"{'rel error':>10}  result")
        for case, param, elements, err, ok, note in self.rows:
            err_text = "-" if err is None else f"{err:.2e}"
            print(f"{case:<24} {param:<16} {elements:>8} {err_text:>10}  "
                  f"{'PASS' if ok else 'FAIL'}{'  ' + note if note else ''}")


def check_model(args, opset, cases, table):
    """Build, compile, run and compare one model, adding rows to `table`; a
    compile or run failure ends it early (with a row saying so)."""
    tag = f"opset{opset}"
    model_path = os.path.join(args.workdir, f"gradients_{tag}.onnx")
    model, outputs = build_model(cases, opset)
    onnx.save(model, model_path)

    for failure in check_references(build_model(cases, opset, True)[0], cases,
                                     outputs):
        table.add(failure.split(":")[0], "(reference)", "-", None, False,
                  failure.split(": ", 1)[1])

    base = [args.ssc, "compile", model_path, "--train", "--loss", "loss",
            "--optimizer", "none"]
    ok, ir, err = run(base + ["--emit", "mlir", "--stop-after", "fold",
                              "-o", "-"], "compile", COMPILE_TIMEOUT_S)
    if not ok:
        sys.stderr.write(err)
        isolate_compile_failures(args, opset, cases, table)
        return
    found = ops_by_case(ir)
    for case in cases:
        missing = [op for op in case.covers if op not in ELIDED_AT_IMPORT
                   and op not in found.get(case.name, set())]
        if missing:
            table.add(case.name, "(forward ops)", "-", None, False,
                      f"no graph.{', graph.'.join(missing)} in the compiled "
                      f"forward graph (found: "
                      f"{', '.join(sorted(found.get(case.name, ()))) or '-'})")

    out_dir = os.path.join(args.workdir, f"out_{tag}")
    result_dir = os.path.join(args.workdir, f"results_{tag}")
    os.makedirs(result_dir, exist_ok=True)
    ok, _, err = run(base + ["-q", "-o", out_dir], "compile",
                     COMPILE_TIMEOUT_S)
    if not ok:
        sys.stderr.write(err)
        isolate_compile_failures(args, opset, cases, table)
        return
    zero_path = os.path.join(args.workdir, "zero.npy")
    np.save(zero_path, np.zeros((), np.float32))
    ok, out, err = run([args.ssc, "run", out_dir, "--output-dir", result_dir,
                        "--input", f"{LIVE_ZERO}={zero_path}"], "run",
                       RUN_TIMEOUT_S)
    if not ok:
        sys.stderr.write(out[-6000:] + err[-6000:])
        table.add(f"({tag} model)", "-", "-", None, False,
                  "ssc run failed (output above); try --only CASE")
        return

    files = output_files(out_dir)
    loss = np.load(os.path.join(result_dir, files["loss"]))
    ref_loss = sum(case.value(case.params64()) for case in cases)
    err = abs(float(loss) - ref_loss) / abs(ref_loss)
    table.add(f"({tag} model)", "loss", 1, err, err <= LOSS_TOLERANCE)

    expected = {case.param_name(p) + ".grad" for case in cases
                for p in case.params}
    for name in sorted(set(files) - expected - {"loss"}):
        table.add(name.split(".")[0], name, "-", None, False,
                  "unexpected output: not a trainable parameter's gradient")
    for case in cases:
        for short, value in case.params.items():
            name = case.param_name(short) + ".grad"
            if name not in files:
                why = "no gradient output"
                if f'graph.variable "{case.param_name(short)}"' not in ir:
                    why += (": the parameter is not a graph.variable after "
                            "import and fold (folded into a constant?)")
                table.add(case.name, short, value.size, None, False, why)
                continue
            grad = np.load(os.path.join(result_dir, files[name]))
            if grad.shape != value.shape:
                table.add(case.name, short, value.size, None, False,
                          f"gradient shape {list(grad.shape)} != "
                          f"{list(value.shape)}")
                continue
            err = rel_l2(grad, finite_differences(case, short), floor=1e-6)
            table.add(case.name, short, value.size, err, err <= GRAD_TOLERANCE)


def isolate_compile_failures(args, opset, cases, table):
    """After the combined model failed to compile, compile each case alone
    (cheap) to name the cases at fault."""
    print(f"note: compiling the {len(cases)} opset-{opset} cases one by one",
          flush=True)
    for case in cases:
        path = os.path.join(args.workdir, f"case_{case.name}.onnx")
        onnx.save(build_model([case], opset)[0], path)
        ok, _, err = run([args.ssc, "compile", path, "--train", "--loss",
                          "loss", "--optimizer", "none", "--emit", "mlir",
                          "--stop-after", "autodiff", "-o", os.devnull],
                         "compile", COMPILE_TIMEOUT_S)
        if not ok:
            table.add(case.name, "(compile)", "-", None, False,
                      " ".join(err.strip().splitlines()[:2]))


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Check every gradient rule of ssc against float64 "
                    "central finite differences (relative L2 <= 1e-4 per "
                    "parameter).")
    parser.add_argument("--ssc", required=True,
                        help="path to the ssc executable")
    parser.add_argument("--workdir", required=True,
                        help="scratch directory for models, programs, results")
    parser.add_argument("--ops-td", default=DEFAULT_OPS_TD,
                        help="GraphOps.td, for the coverage check")
    parser.add_argument("--only", action="append", default=[], metavar="GLOB",
                        help="only the cases matching this glob (repeatable)")
    parser.add_argument("--exclude", action="append", default=[],
                        metavar="GLOB", help="skip the cases matching this "
                        "glob (repeatable)")
    parser.add_argument("--list", action="store_true",
                        help="list the cases and the ops they cover, and exit")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cases = all_cases()
    if args.list:
        for case in cases:
            print(f"{case.name:<24} opset {case.opset}  "
                  f"{', '.join(case.covers)}")
        return 0
    filtered = bool(args.only or args.exclude)
    if args.only:
        cases = [c for c in cases
                 if any(fnmatch.fnmatchcase(c.name, g) for g in args.only)]
    cases = [c for c in cases
             if not any(fnmatch.fnmatchcase(c.name, g) for g in args.exclude)]
    if not cases:
        print("error: no case matches --only/--exclude")
        return 1

    table = Table()
    if not filtered:
        covered = {op for case in cases for op in case.covers}
        for op in sorted(differentiable_ops(args.ops_td) - covered):
            table.add("(coverage)", op, "-", None, False,
                      f"graph.{op} has a gradient rule but no case")

    args.workdir = os.path.abspath(args.workdir)
    os.makedirs(args.workdir, exist_ok=True)
    for opset in sorted({c.opset for c in cases}):
        check_model(args, opset, [c for c in cases if c.opset == opset], table)

    table.print()
    print(f"\n{len(cases)} cases, {len(table.rows)} checks, "
          f"{table.failed} failed "
          f"(gradient tolerance {GRAD_TOLERANCE:g}, loss tolerance "
          f"{LOSS_TOLERANCE:g})")
    for op, why in ELIDED_AT_IMPORT.items():
        print(f"note: graph.{op}'s rule is not reached from ONNX: {why}")
    return 1 if table.failed else 0


if __name__ == "__main__":
    sys.exit(main())
