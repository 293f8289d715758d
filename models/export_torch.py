#!/usr/bin/env python3
"""Export tiny randomly initialised GPT-2 and ViT models to ONNX fixtures.

Runs in a separate virtual environment that has torch, transformers and onnx
(not the test venv):

    python3 -m venv .venv-torch
    .venv-torch/bin/pip install torch transformers onnx
    .venv-torch/bin/python models/export_torch.py models/fixtures

Writes OUTDIR/gpt2_tiny.onnx (input_ids int64 [batch, 16] -> logits) and
OUTDIR/vit_tiny.onnx (pixel_values float32 [batch, 3, 32, 32] -> logits
[batch, 10]) with the classic TorchScript exporter at opset 17. The batch
dimension is dynamic so the compiler's --input-shape pinning is exercised.
Weights are stored inside each file. The torch / transformers versions used
are printed so they can be recorded in OUTDIR/README.md.
"""

import argparse
import inspect
import os
import sys

import onnx
import torch
import transformers
from transformers import (GPT2Config, GPT2LMHeadModel, ViTConfig,
                          ViTForImageClassification)

OPSET = 17
SEQ_LEN = 16


class LogitsOnly(torch.nn.Module):
    """Wraps a Hugging Face model so that its only output is the logits."""

    def __init__(self, model, input_kwarg, extra_kwargs, all_ones_mask=False):
        super().__init__()
        self.model = model
        self.input_kwarg = input_kwarg
        self.extra_kwargs = extra_kwargs
        self.all_ones_mask = all_ones_mask

    def forward(self, x):
        kwargs = dict(self.extra_kwargs)
        if self.all_ones_mask:
            # An explicit all-ones padding mask keeps transformers off its
            # packed-sequence detection path (torch.diff, not exportable);
            # it is derived from the input, so it is not a graph input.
            kwargs["attention_mask"] = torch.ones_like(x)
        out = self.model(**{self.input_kwarg: x}, **kwargs)
        return out[0]


def eager_attention_kwargs():
    """Ask for the plain (MatMul/Softmax) attention path where supported."""
    return {"attn_implementation": "eager"}


def build_gpt2():
    """Tiny GPT-2 LM, eval mode, returning logits only."""
    torch.manual_seed(0)
    config = GPT2Config(n_embd=64, n_layer=2, n_head=4, vocab_size=101,
                        n_positions=32, bos_token_id=0, eos_token_id=0,
                        **eager_attention_kwargs())
    model = GPT2LMHeadModel(config).eval()
    wrapper = LogitsOnly(model, "input_ids",
                         {"use_cache": False, "return_dict": False},
                         all_ones_mask=True)
    example = torch.randint(0, config.vocab_size, (1, SEQ_LEN), dtype=torch.int64)
    return wrapper.eval(), example, "input_ids"


def build_vit():
    """Tiny ViT image classifier, eval mode, returning logits only."""
    torch.manual_seed(0)
    config = ViTConfig(image_size=32, patch_size=8, hidden_size=64,
                       num_hidden_layers=2, num_attention_heads=4,
                       intermediate_size=128, num_labels=10,
                       **eager_attention_kwargs())
    model = ViTForImageClassification(config).eval()
    wrapper = LogitsOnly(model, "pixel_values", {"return_dict": False})
    example = torch.randn(1, 3, 32, 32)
    return wrapper.eval(), example, "pixel_values"


def export(module, example, input_name, path):
    """Classic (TorchScript) export with a dynamic batch dimension."""
    kwargs = {}
    params = inspect.signature(torch.onnx.export).parameters
    if "dynamo" in params:
        kwargs["dynamo"] = False
    if "external_data" in params:
        kwargs["external_data"] = False
    with torch.no_grad():
        torch.onnx.export(
            module, (example,), path,
            input_names=[input_name], output_names=["logits"],
            dynamic_axes={input_name: {0: "batch"}, "logits": {0: "batch"}},
            opset_version=OPSET, do_constant_folding=True, **kwargs)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    return model


def parse_args(argv):
    """Command-line interface."""
    parser = argparse.ArgumentParser(
        description="Export tiny GPT-2 and ViT fixtures (random weights, "
                    "torch.manual_seed(0)) to OUTDIR with torch.onnx.export "
                    "(TorchScript exporter, opset 17, dynamic batch).")
    parser.add_argument("outdir", metavar="OUTDIR",
                        help="directory for gpt2_tiny.onnx and vit_tiny.onnx")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.outdir, exist_ok=True)
    for name, builder in (("gpt2_tiny.onnx", build_gpt2),
                          ("vit_tiny.onnx", build_vit)):
        module, example, input_name = builder()
        path = os.path.join(args.outdir, name)
        model = export(module, example, input_name, path)
        ops = sorted({node.op_type for node in model.graph.node})
        print(f"wrote {path} ({os.path.getsize(path)} bytes, "
              f"{len(model.graph.node)} nodes): {' '.join(ops)}")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"onnx {onnx.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
