#!/usr/bin/env python3
"""Reference encodings of weight rows by the independent `gguf` Python package (gguf-py, the
llama.cpp project's own numpy quantizers), for core's weight quantizers (tensor/quant
encode_weight_row with F16, Q8_0, Q4_0, Q4_1).

Writes tests/data/weight_quant.bin:
  u32 n_rows, u32 cols, then n_rows*cols f32 inputs, then for each type in (F16, Q8_0, Q4_0, Q4_1)
  the encoded rows' bytes.
Rows mix Gaussian weights, pruned rows (half the weights exactly zero), a constant block, an
all-zero block and a row of rounding ties. Run: pip install gguf numpy; python3 scripts/weight_quant_fixtures.py
"""
import pathlib
import struct

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize

rng = np.random.default_rng(7)
rows, cols = 9, 256
x = rng.normal(0, 0.05, (rows, cols)).astype(np.float32)
# Row 8: rounding ties. Q8_0 with amax 127 scales by exactly 1, so x.5 values are halves
# (ggml's reference rounds them away from zero); Q4_1 with min 0 and max 15 has d = 1; Q4_0 with
# -8 as the largest magnitude has d = 1; f16 ties between neighbours (1 + 2^-11, 1 + 3 * 2^-11).
edge = np.zeros(cols, dtype=np.float32)
edge[0:8] = [127.0, 2.5, -2.5, 0.5, -0.5, 1.5, -1.5, 126.5]
edge[32:38] = [0.0, 15.0, 2.5, 7.5, 14.5, 0.5]
edge[38:64] = 3.0
edge[64:70] = [-8.0, 8.0, 0.5, -0.5, 3.5, -7.5]
edge[96:100] = [1 + 2**-11, 1 + 3 * 2**-11, -(1 + 2**-11), 2**-20]
x[2:5, ::2] = 0.0  # pruned rows
x[5, :32] = 0.25  # a constant block
x[6, 32:64] = 0.0  # an all-zero block
x[7] *= 40  # large magnitudes
x[8] = edge
out = bytearray(struct.pack("<II", rows, cols))
out += x.tobytes()
for ty in (T.F16, T.Q8_0, T.Q4_0, T.Q4_1):
    out += quantize(x, ty).tobytes()
path = pathlib.Path(__file__).resolve().parent.parent / "tests/data/weight_quant.bin"
path.write_bytes(bytes(out))
print(f"wrote {path} ({len(out)} bytes)")
