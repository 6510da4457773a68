#!/usr/bin/env python3
"""Independent float64 reference forward pass of the LLaMA and Qwen2 GGUF models (numpy).

The exact-path check for libllmcore: the weights are dequantized by the `gguf` package
(gguf.quants.dequantize), everything after that is float64. One function per operation:

  rms_norm      y = x / sqrt(mean(x^2) + eps) * w                      (Zhang & Sennrich 2019)
  rope          rotary position embedding, theta_i = pos * base^(-2i/d_head)   (Su et al. 2021)
                  llama GGUF: pairs (x[2i], x[2i+1]) (the converter permuted Q/K rows)
                  qwen2 GGUF: pairs (x[i], x[i + d_head/2]) ("NEOX" style)
  attention     causal softmax(q k^T / sqrt(d_head)) v; grouped-query: query head h reads
                  KV head h // (n_head / n_head_kv)                       (Ainslie et al. 2023)
  swiglu_ffn    down(silu(gate x) * up x)                              (Shazeer 2020)
  logits        output_norm, then `output.weight` or, tied, `token_embd.weight`

  scripts/numpy_forward.py [smollm2|qwen05 ...]     (default: both)

Writes tests/data/reference/numpy_<model>.json and numpy_<model>.logits.f32 (see
tests/data/README.md for the format), and prints the sanity checks: the greedy next token
after "The capital of France is", and the perplexity of the first 512 tokens of
tests/data/persuasion_excerpt.txt, compared with llama.cpp's window-0 numbers from
tests/data/reference/llamacpp_<model>.json when that file exists.
"""

import json
import math
import os
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llamacpp_env as env  # noqa: E402

REF_DIR = os.path.join(env.REPO, "tests", "data", "reference")
EXCERPT = os.path.join(env.REPO, "tests", "data", "persuasion_excerpt.txt")

# The fixed prompt; the references use the first PROMPT_TOKENS ids of its tokenization.
PROMPT = (
    "The old lighthouse keeper climbed the spiral stairs every evening at dusk. "
    "He trimmed the wick, polished the great lens, and watched the ships pass "
    "beyond the rocks. In 1887 a storm tore the roof away, yet the light never "
    "failed: he kept it burning with oil carried up by hand, forty steps at a time, "
    "until the relief boat arrived from the mainland."
)
PROMPT_TOKENS = 64
LOGIT_POSITIONS = [0, 31, 63]


# ----------------------------------------------------------------------------- the model
class Model:
    """GGUF hyperparameters and lazily dequantized float64 weights."""

    def __init__(self, path):
        self.reader = GGUFReader(path)
        self.tensors = {t.name: t for t in self.reader.tensors}
        self.arch = self.meta("general.architecture")
        if self.arch not in ("llama", "qwen2"):
            raise SystemExit(f"{path}: architecture {self.arch!r} not covered")
        a = self.arch
        self.n_layer = self.meta(f"{a}.block_count")
        self.d_model = self.meta(f"{a}.embedding_length")
        self.n_head = self.meta(f"{a}.attention.head_count")
        self.n_head_kv = self.meta(f"{a}.attention.head_count_kv")
        self.d_head = self.d_model // self.n_head
        self.eps = float(self.meta(f"{a}.attention.layer_norm_rms_epsilon"))
        self.rope_base = float(self.meta(f"{a}.rope.freq_base"))
        self.rope_dims = self.meta(f"{a}.rope.dimension_count", self.d_head)
        if self.rope_dims != self.d_head:
            raise SystemExit(f"{path}: partial rotary ({self.rope_dims} of {self.d_head}) not covered")
        self.tokens = self.meta("tokenizer.ggml.tokens")

    def meta(self, key, default=None):
        field = self.reader.fields.get(key)
        if field is None:
            if default is None:
                raise SystemExit(f"missing metadata {key}")
            return default
        return field.contents()

    def has(self, name):
        return name in self.tensors

    def weight(self, name):
        """Tensor `name` as float64, numpy shape = GGUF dims reversed (rows, cols)."""
        t = self.tensors[name]
        return dequantize(t.data, t.tensor_type).astype(np.float64)

    def rows(self, name, index):
        """Rows `index` of a matrix tensor as float64 (dequantizes only those rows)."""
        t = self.tensors[name]
        return dequantize(t.data[np.asarray(index)], t.tensor_type).astype(np.float64)


# ----------------------------------------------------------------------------- operations
def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def linear(x, w, b=None):
    """x @ w^T (+ b); w is (out, in) as GGUF stores it."""
    y = x @ w.T
    return y if b is None else y + b


def rope_angles(n_pos, d_head, base):
    """(n_pos, d_head/2) angles pos * base^(-2i/d_head)."""
    inv_freq = base ** (-np.arange(0, d_head, 2, dtype=np.float64) / d_head)
    return np.arange(n_pos, dtype=np.float64)[:, None] * inv_freq[None, :]


def rope_adjacent(x, angles):
    """Rotate pairs (x[2i], x[2i+1]); x is (n_pos, n_heads, d_head)."""
    cos, sin = np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x0 * cos - x1 * sin
    out[..., 1::2] = x0 * sin + x1 * cos
    return out


def rope_neox(x, angles):
    """Rotate pairs (x[i], x[i + d_head/2]); x is (n_pos, n_heads, d_head)."""
    cos, sin = np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]
    half = x.shape[-1] // 2
    x0, x1 = x[..., :half], x[..., half:]
    return np.concatenate([x0 * cos - x1 * sin, x0 * sin + x1 * cos], axis=-1)


def softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def attention(q, k, v):
    """Causal grouped-query attention. q (n, H, d), k and v (n, H_kv, d) -> (n, H*d)."""
    n, n_head, d = q.shape
    group = n_head // k.shape[1]
    k = np.repeat(k, group, axis=1)  # query head h reads KV head h // group
    v = np.repeat(v, group, axis=1)
    scores = np.einsum("qhd,khd->hqk", q, k) / math.sqrt(d)
    scores = np.where(np.tril(np.ones((n, n), dtype=bool))[None], scores, -np.inf)
    out = np.einsum("hqk,khd->qhd", softmax(scores), v)
    return out.reshape(n, n_head * d)


def silu(x):
    return x / (1.0 + np.exp(-x))


def swiglu_ffn(x, w_gate, w_up, w_down):
    return linear(silu(linear(x, w_gate)) * linear(x, w_up), w_down)


def forward(model, ids):
    """Final normalized hidden states (n, d_model) of the token ids `ids`."""
    n = len(ids)
    x = model.rows("token_embd.weight", ids)
    angles = rope_angles(n, model.d_head, model.rope_base)
    rope = rope_adjacent if model.arch == "llama" else rope_neox
    for layer in range(model.n_layer):
        p = f"blk.{layer}."

        def bias(name):
            return model.weight(p + name) if model.has(p + name) else None

        h = rms_norm(x, model.weight(p + "attn_norm.weight"), model.eps)
        q = linear(h, model.weight(p + "attn_q.weight"), bias("attn_q.bias"))
        k = linear(h, model.weight(p + "attn_k.weight"), bias("attn_k.bias"))
        v = linear(h, model.weight(p + "attn_v.weight"), bias("attn_v.bias"))
        q = rope(q.reshape(n, model.n_head, model.d_head), angles)
        k = rope(k.reshape(n, model.n_head_kv, model.d_head), angles)
        v = v.reshape(n, model.n_head_kv, model.d_head)
        x = x + linear(attention(q, k, v), model.weight(p + "attn_output.weight"))
        h = rms_norm(x, model.weight(p + "ffn_norm.weight"), model.eps)
        x = x + swiglu_ffn(
            h,
            model.weight(p + "ffn_gate.weight"),
            model.weight(p + "ffn_up.weight"),
            model.weight(p + "ffn_down.weight"),
        )
    return rms_norm(x, model.weight("output_norm.weight"), model.eps)


def output_matrix(model):
    name = "output.weight" if model.has("output.weight") else "token_embd.weight"
    return model.weight(name)


def log_softmax(logits):
    m = np.max(logits, axis=-1, keepdims=True)
    return logits - m - np.log(np.sum(np.exp(logits - m), axis=-1, keepdims=True))


def target_nll(hidden, w_out, ids, chunk=128):
    """-log p(ids[i+1] | ids[..i]) for i in 0..n-2 (float64), in chunks of rows."""
    out = []
    for s in range(0, len(ids) - 1, chunk):
        e = min(s + chunk, len(ids) - 1)
        lp = log_softmax(linear(hidden[s:e], w_out))
        out.append(-lp[np.arange(e - s), np.asarray(ids[s + 1 : e + 1])])
    return np.concatenate(out)


# ----------------------------------------------------------------------------- the checks
def run(key):
    path = env.model_path(key)
    model = Model(path)
    w_out = output_matrix(model)
    print(f"== {key}: {os.path.basename(path)} ({model.arch}, {model.n_layer} layers)")

    # 1. the fixed prompt: full logits rows at LOGIT_POSITIONS, per-position summaries
    ids = env.tokenize(key, PROMPT)
    if len(ids) < PROMPT_TOKENS:
        raise SystemExit(f"prompt tokenizes to {len(ids)} < {PROMPT_TOKENS} tokens")
    ids = ids[:PROMPT_TOKENS]
    logits = linear(forward(model, ids), w_out)  # (64, n_vocab) float64
    lp = log_softmax(logits)
    rows = logits[LOGIT_POSITIONS].astype("<f4")
    bin_name = f"numpy_{key}.logits.f32"
    rows.tofile(os.path.join(REF_DIR, bin_name))

    # 2. " Paris"
    france = env.tokenize(key, "The capital of France is")
    nxt = int(np.argmax(linear(forward(model, france)[-1:], w_out)[0]))
    paris = env.tokenize(key, " Paris")
    print(f"greedy after 'The capital of France is': {nxt} {model.tokens[nxt]!r}"
          f" ({'ok' if [nxt] == paris else 'NOT'} ' Paris' = {paris})")

    # 3. perplexity of the excerpt's first 512 tokens
    with open(EXCERPT, encoding="utf-8") as f:
        excerpt = f.read()
    win = env.tokenize(key, excerpt)[:512]
    nll = target_nll(forward(model, win), w_out, win)  # nll[i]: target position i+1
    ppl_all = math.exp(nll.mean())
    # llama-perplexity scores targets n_ctx/2+1 .. n_ctx-1 of each window
    scored = nll[256:511]
    ppl_half = math.exp(scored.mean())
    print(f"numpy ppl, first 512 tokens: all 511 targets {ppl_all:.4f};"
          f" targets 257..511 (llama-perplexity's window 0) {ppl_half:.4f} (nll sum {scored.sum():.4f})")
    cmp = {}
    ref = os.path.join(REF_DIR, f"llamacpp_{key}.json")
    if os.path.exists(ref):
        with open(ref) as f:
            lc = json.load(f)
        lc_sum = lc["windows"][0]["nll_sum"]
        lc_ppl = math.exp(lc_sum / lc["windows"][0]["count"])
        same_ids = lc["tokens"][:512] == win
        cmp = {"llamacpp_window0_nll_sum": lc_sum, "llamacpp_window0_ppl": lc_ppl, "same_token_ids": same_ids}
        print(f"llama.cpp window 0: ppl {lc_ppl:.4f} (nll sum {lc_sum:.4f}); token ids equal: {same_ids}")

    meta = {
        "model": os.path.basename(path),
        "model_sha256": env.sha256_file(path),
        "arch": model.arch,
        "generator": "scripts/numpy_forward.py (float64 numpy forward; weights via gguf.quants.dequantize)",
        "prompt": PROMPT,
        "n_tokens": PROMPT_TOKENS,
        "input_ids": [int(i) for i in ids],
        "n_vocab": int(logits.shape[1]),
        "logits_file": bin_name,
        "logits_positions": LOGIT_POSITIONS,
        "logits_layout": "little-endian f32, row-major [len(logits_positions)][n_vocab]",
        "argmax": [int(i) for i in np.argmax(logits, axis=1)],
        "logsumexp": [float(v) for v in (logits[:, :1] - lp[:, :1])[:, 0]],
        "next_token_nll": [float(-lp[i, ids[i + 1]]) for i in range(PROMPT_TOKENS - 1)],
        "france": {"input_ids": france, "greedy_next": nxt, "greedy_next_piece": model.tokens[nxt]},
        "excerpt_first_512": {
            "input_ids_equal_to": "first 512 of tokens in llamacpp_<model>.json",
            "ppl_all_targets": ppl_all,
            "ppl_targets_257_511": ppl_half,
            "nll_sum_targets_257_511": float(scored.sum()),
            **cmp,
        },
    }
    with open(os.path.join(REF_DIR, f"numpy_{key}.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


def main(argv):
    env.run_for_models(argv, run, REF_DIR)


if __name__ == "__main__":
    main(sys.argv)
