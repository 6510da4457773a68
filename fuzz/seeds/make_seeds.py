"""Writes the small seed inputs of the fuzz targets (fuzz/seeds/<target>/), independently of
our writers: GGUF through the `gguf` Python package, safetensors by hand as the format
describes it, JSON as text. Run from this folder: python3 make_seeds.py"""
import json, os, struct

import numpy as np
import gguf

os.makedirs("gguf", exist_ok=True)
w = gguf.GGUFWriter("gguf/small.gguf", "llama")
w.add_block_count(2)
w.add_float32("f", 0.5)
w.add_bool("b", True)
w.add_array("toks", ["a", "bc"])
w.add_tensor("n", np.arange(8, dtype=np.float32))
w.add_tensor("m", np.ones((2, 4), dtype=np.float16))
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()

os.makedirs("safetensors", exist_ok=True)
header = {
    "__metadata__": {"format": "pt"},
    "b": {"dtype": "BF16", "shape": [3], "data_offsets": [24, 30]},
    "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
}
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
with open("safetensors/small.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + bytes(range(30)))

os.makedirs("json", exist_ok=True)
with open("json/small.json", "w") as f:
    f.write('{"a": [1, -2.5e3, 0, true, false, null], "s": "x\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00", "o": {"k": {}}}')
