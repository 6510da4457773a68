#!/usr/bin/env python3
"""Independent numpy reference of Wanda and SparseGPT on one real SmolLM2 layer.

The inputs of decoder layer LAYER of SmolLM2-135M over two windows of 256 tokens (the first 512
ids of tests/data/persuasion_excerpt.txt as llama.cpp tokenized them, from
tests/data/reference/llamacpp_smollm2.json) come from scripts/numpy_forward.py's float64
forward. On them, for attn_k (input: the attention norm's output, 576 columns) and ffn_down
(input: silu(gate) * up, 1536 columns), in float64:

  Wanda (Sun et al. 2023)      S_ij = |W_ij| * ||X_j||_2; per row, the floor(cols/2) lowest go
                               (50%), or the 2 lowest of every 4 (2:4); ties: lower index first
  SparseGPT (Frantar &         H = 2 X X^T / n; dead inputs (H_jj = 0): H_jj = 1, W_:j = 0;
  Alistarh 2023)               H += 0.01 mean(diag H) I; U = upper Cholesky factor of H^-1;
                               blocks of 128 columns; the block's mask: unstructured, the
                               floor(rows * 128 * s) lowest w^2 / U_cc^2 of the whole block
                               (libllmcore's exact count; the authors' code takes a quantile);
                               2:4, the 2 lowest of each group of 4 at the group's first column
                               from the weights as updated so far; then per column
                               e = (w_c - q_c) / U_cc, w_{c:} -= e U_{c, c:} within the block and
                               the lazy update of the rest after it.

H^-1's factor is computed the straightforward way (np.linalg.inv, then np.linalg.cholesky of
it, transposed), not by libllmcore's reversal trick.

Writes tests/data/prune_parity.json (what was computed) and tests/data/prune_parity.bin: for
each operator in order (attn_k, ffn_down), the first ROWS rows of: the Wanda 50% mask, the
Wanda 2:4 mask (1 byte per weight, 1 = pruned), then the SparseGPT 50% and 2:4 weights
(float32, row-major). tests/prune_parity.rs compares libllmcore's results with them.

  python3 scripts/prune_reference.py      (needs numpy and gguf; assets from fetch-assets.sh)
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llamacpp_env as env  # noqa: E402
import numpy_forward as nf  # noqa: E402

LAYER = 3
WINDOWS, WINDOW = 2, 256
ROWS = 16
OPS = [("attn_k", "attn"), ("ffn_down", "down")]
OUT_JSON = os.path.join(env.REPO, "tests", "data", "prune_parity.json")
OUT_BIN = os.path.join(env.REPO, "tests", "data", "prune_parity.bin")


def layer_inputs(model, ids):
    """The attention-norm output and the down projection's input of layer LAYER (float64)."""
    n = len(ids)
    x = model.rows("token_embd.weight", ids)
    angles = nf.rope_angles(n, model.d_head, model.rope_base)
    for layer in range(LAYER + 1):
        p = f"blk.{layer}."
        h = nf.rms_norm(x, model.weight(p + "attn_norm.weight"), model.eps)
        attn_in = h
        q = nf.linear(h, model.weight(p + "attn_q.weight"))
        k = nf.linear(h, model.weight(p + "attn_k.weight"))
        v = nf.linear(h, model.weight(p + "attn_v.weight"))
        q = nf.rope_adjacent(q.reshape(n, model.n_head, model.d_head), angles)
        k = nf.rope_adjacent(k.reshape(n, model.n_head_kv, model.d_head), angles)
        v = v.reshape(n, model.n_head_kv, model.d_head)
        x = x + nf.linear(nf.attention(q, k, v), model.weight(p + "attn_output.weight"))
        h = nf.rms_norm(x, model.weight(p + "ffn_norm.weight"), model.eps)
        down_in = nf.silu(nf.linear(h, model.weight(p + "ffn_gate.weight"))) * nf.linear(
            h, model.weight(p + "ffn_up.weight"))
        x = x + nf.linear(down_in, model.weight(p + "ffn_down.weight"))
    return {"attn": attn_in, "down": down_in}


def lowest(scores, k):
    """Boolean mask of the k lowest scores (ties: lower index first)."""
    order = np.lexsort((np.arange(scores.size), scores.ravel()))
    mask = np.zeros(scores.size, dtype=bool)
    mask[order[:k]] = True
    return mask.reshape(scores.shape)


def wanda(w, x, pattern):
    norms = np.sqrt(np.sum(x * x, axis=0))
    s = np.abs(w) * norms[None, :]
    mask = np.zeros_like(w, dtype=bool)
    for r in range(w.shape[0]):
        if pattern == "50":
            mask[r] = lowest(s[r], w.shape[1] // 2)
        else:
            for g in range(0, w.shape[1], 4):
                mask[r, g:g + 4] = lowest(s[r, g:g + 4], 2)
    return mask


def sparsegpt(w, x, pattern, block=128, damp=0.01):
    w = w.copy()
    rows, cols = w.shape
    h = 2.0 * x.T @ x / x.shape[0]
    dead = np.diag(h) == 0
    h[dead, dead] = 1.0
    w[:, dead] = 0.0
    h += damp * np.mean(np.diag(h)) * np.eye(cols)
    u = np.linalg.cholesky(np.linalg.inv(h)).T
    d = np.diag(u)
    for i1 in range(0, cols, block):
        i2 = min(cols, i1 + block)
        if pattern == "50":
            block_mask = lowest(w[:, i1:i2] ** 2 / d[i1:i2] ** 2, int(rows * (i2 - i1) * 0.5))
        err = np.zeros((rows, i2 - i1))
        group = None
        for c in range(i1, i2):
            if pattern == "50":
                m = block_mask[:, c - i1]
            else:
                if (c - i1) % 4 == 0:
                    group = np.stack([lowest(w[r, c:c + 4] ** 2 / d[c:c + 4] ** 2, 2)
                                      for r in range(rows)])
                m = group[:, (c - i1) % 4]
            q = np.where(m, 0.0, w[:, c])
            e = (w[:, c] - q) / d[c]
            w[:, c:i2] -= np.outer(e, u[c, c:i2])
            w[:, c] = q
            err[:, c - i1] = e
        w[:, i2:] -= err @ u[i1:i2, i2:]
    return w


def main():
    model = nf.Model(env.model_path("smollm2"))
    with open(os.path.join(env.REPO, "tests", "data", "reference", "llamacpp_smollm2.json")) as f:
        ids = json.load(f)["tokens"][:WINDOWS * WINDOW]
    inputs = {"attn": [], "down": []}
    for wi in range(WINDOWS):
        got = layer_inputs(model, ids[wi * WINDOW:(wi + 1) * WINDOW])
        for key in inputs:
            inputs[key].append(got[key])
    inputs = {k: np.concatenate(v) for k, v in inputs.items()}
    blobs, meta = [], []
    for name, inp in OPS:
        w = model.weight(f"blk.{LAYER}.{name}.weight")
        x = inputs[inp]
        results = {
            "wanda_50": wanda(w, x, "50"),
            "wanda_2_4": wanda(w, x, "2:4"),
            "sparsegpt_50": sparsegpt(w, x, "50"),
            "sparsegpt_2_4": sparsegpt(w, x, "2:4"),
        }
        for key, r in results.items():
            part = r[:ROWS]
            blobs.append(part.astype(np.uint8).tobytes() if r.dtype == bool
                         else part.astype("<f4").tobytes())
        meta.append({"op": name, "rows": int(w.shape[0]), "cols": int(w.shape[1]),
                     "order": list(results)})
        print(f"{name}: sparsegpt 50% zeros {np.mean(results['sparsegpt_50'] == 0):.4f}")
    with open(OUT_BIN, "wb") as f:
        f.write(b"".join(blobs))
    with open(OUT_JSON, "w") as f:
        json.dump({"generator": "scripts/prune_reference.py", "model": "SmolLM2-135M-Instruct.Q4_1.gguf",
                   "layer": LAYER, "windows": WINDOWS, "window": WINDOW,
                   "ids": "the first 512 tokens of tests/data/reference/llamacpp_smollm2.json",
                   "rows_stored": ROWS, "ops": meta}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
