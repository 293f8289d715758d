"""Builds an .onnx file from ONNX textual syntax embedded in a lit test.

Lines starting with '#' (RUN/CHECK lines) are dropped; the rest is parsed
with onnx.parser. Initializers may be written inline in the text.
Usage: onnx_text.py TEST_FILE OUT.onnx [--no-check]
"""
import sys

import onnx
import onnx.parser


def main() -> int:
    src, out = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        text = "".join(line for line in f if not line.lstrip().startswith("#"))
    model = onnx.parser.parse_model(text)
    if "--no-check" not in sys.argv:
        onnx.checker.check_model(model)
    onnx.save(model, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
