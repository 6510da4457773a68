#!/usr/bin/env python3
"""Reference encodings of weight rows by the independent `gguf` Python package (gguf-py, the
llama.cpp project's own numpy quantizers), for core's weight quantizers (tensor/quant
quantize_row with F16, Q8_0, Q4_0, Q4_1).

Writes tests/data/weight_quant.bin:
  u32 n_rows, u32 cols, then n_rows*cols f32 inputs, then for each type in (F16, Q8_0, Q4_0, Q4_1)
  the encoded rows' bytes.
Rows mix Gaussian weights, pruned rows (half the weights exactly zero), a constant block and an
all-zero block. Run: pip install gguf numpy; python3 scripts/weight_quant_fixtures.py
"""
import pathlib
import struct

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize

rng = np.random.default_rng(7)
rows, cols = 8, 256
x = rng.normal(0, 0.05, (rows, cols)).astype(np.float32)
x[2:5, ::2] = 0.0  # pruned rows
x[5, :32] = 0.25  # a constant block
x[6, 32:64] = 0.0  # an all-zero block
x[7] *= 40  # large magnitudes
out = bytearray(struct.pack("<II", rows, cols))
out += x.tobytes()
for ty in (T.F16, T.Q8_0, T.Q4_0, T.Q4_1):
    out += quantize(x, ty).tobytes()
path = pathlib.Path(__file__).resolve().parent.parent / "tests/data/weight_quant.bin"
path.write_bytes(bytes(out))
print(f"wrote {path} ({len(out)} bytes)")
