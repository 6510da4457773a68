#!/usr/bin/env python3
"""Write the dequantization fixtures of core/src/tensor/quant (tests/data/quant/).

For a few rows of real tensors of the two model files (and, for the block types those files do
not use, rows quantized here by the `gguf` package from a seeded random matrix) this writes
  <case>.bin  the encoded row bytes, rows concatenated,
  <case>.f32  the values `gguf.quants.dequantize` gives for them, little-endian f32,
and one line per case in manifest.txt: `case type rows cols source`.
The Rust tests decode the .bin rows with `dequantize_row` and compare with the .f32 values.

Usage: pip install gguf numpy; python3 scripts/quant_fixtures.py [ASSETS_DIR]
(ASSETS_DIR defaults to $LLMCORE_ASSETS or <repo>/assets).
"""
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "quant")

# (case name, model file, tensor name, row indices)
REAL = [
    ("smollm2_q4_1_ffn_down", "SmolLM2-135M-Instruct.Q4_1.gguf", "blk.0.ffn_down.weight", [0, 301]),
    ("smollm2_q8_0_token_embd", "SmolLM2-135M-Instruct.Q4_1.gguf", "token_embd.weight", [2, 20000]),
    ("smollm2_f32_attn_norm", "SmolLM2-135M-Instruct.Q4_1.gguf", "blk.0.attn_norm.weight", [0]),
    ("qwen_q5_0_token_embd", "Qwen2.5-Coder-0.5B-Instruct.gguf", "token_embd.weight", [0, 90000]),
    ("qwen_q8_0_output", "Qwen2.5-Coder-0.5B-Instruct.gguf", "output.weight", [5]),
    ("qwen_q6_k_ffn_down", "Qwen2.5-Coder-0.5B-Instruct.gguf", "blk.0.ffn_down.weight", [7]),
    ("qwen_q4_k_ffn_down", "Qwen2.5-Coder-0.5B-Instruct.gguf", "blk.11.ffn_down.weight", [3]),
]

# Block types without a tensor in the model files: quantized here from seeded random rows.
SYNTHETIC = [("synthetic_q4_0", T.Q4_0), ("synthetic_f16", T.F16), ("synthetic_bf16", T.BF16)]

TYPE_NAMES = {T.F32: "f32", T.F16: "f16", T.BF16: "bf16", T.Q4_0: "q4_0", T.Q4_1: "q4_1",
              T.Q5_0: "q5_0", T.Q8_0: "q8_0", T.Q4_K: "q4_K", T.Q6_K: "q6_K"}


def write(manifest, case, qtype, raw, source):
    raw = np.ascontiguousarray(raw)
    values = gguf.quants.dequantize(raw, qtype).astype("<f4")
    rows, cols = values.reshape(raw.shape[0], -1).shape
    with open(os.path.join(OUT, case + ".bin"), "wb") as f:
        f.write(raw.view(np.uint8).tobytes())
    with open(os.path.join(OUT, case + ".f32"), "wb") as f:
        f.write(values.tobytes())
    manifest.append(f"{case} {TYPE_NAMES[qtype]} {rows} {cols} {source}")


def main():
    assets = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "LLMCORE_ASSETS", os.path.join(ROOT, "assets"))
    os.makedirs(OUT, exist_ok=True)
    manifest = []
    readers = {}
    for case, model, tensor, rows in REAL:
        if model not in readers:
            readers[model] = gguf.GGUFReader(os.path.join(assets, "models", model))
        t = next(t for t in readers[model].tensors if t.name == tensor)
        data = t.data if t.data.ndim == 2 else t.data.reshape(1, -1)
        write(manifest, case, t.tensor_type, data[rows],
              f"{model}:{tensor}:rows={','.join(map(str, rows))}")
    rng = np.random.default_rng(20261126)
    x = (rng.standard_normal((2, 256)) * 0.05).astype(np.float32)
    x[0, :32] = 0.0  # an all-zero block (d = 0)
    for case, qtype in SYNTHETIC:
        raw = gguf.quants.quantize(x, qtype)
        write(manifest, case, qtype, raw, "random normal(0, 0.05), seed 20261126, 2x256")
    with open(os.path.join(OUT, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
