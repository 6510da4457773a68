#!/usr/bin/env python3
"""Reference loss and gradients of a tiny LLaMA/Qwen2-style decoder, written from scratch in PyTorch.

The model is plain torch tensor code in float64 (no transformers model classes): token
embedding; per layer RMSNorm -> q/k/v projections (+ q/k/v biases for qwen2) -> RoPE -> causal
GQA softmax attention -> output projection -> residual, then RMSNorm -> SwiGLU FFN -> residual;
a final RMSNorm and the head (the embedding matrix when tied). The loss is the mean token
cross-entropy; every parameter's gradient comes from autograd. Conventions (those of the Rust
runtime):

  rmsnorm(x) * g      x / sqrt(mean(x^2 over the d features) + eps) * g, eps = 1e-5
  linear              y = x @ W.T (+ b), W stored [out, in] row-major as in GGUF
  RoPE                per head of hd elements at position p (0..11 within each row), pair i
                      (i < hd/2) rotated by the angle p * theta^(-2i/hd) (inverse frequency in
                      float64), (a, b) -> (a cos - b sin, a sin + b cos); pair i is the elements
                      (2i, 2i+1) for "adjacent" (llama) and (i, i + hd/2) for "neox" (qwen2)
  heads               q's n_head*hd values are head-major (head h = [h*hd, (h+1)*hd)); k/v the
                      same with n_kv heads; query head h uses kv head h // (n_head / n_kv)
  attention           softmax over keys 0..p of q.k / sqrt(hd); heads' outputs concatenated
                      head-major, then @ attn_output.T
  FFN                 (silu(h @ ffn_gate.T) * (h @ ffn_up.T)) @ ffn_down.T
  loss                inputs tokens[:, :12], targets tokens[:, 1:13]; the mean over all
                      B * 12 = 24 positions of -log softmax(logits)[target]
  tied head           logits = h @ token_embd.T; token_embd's gradient holds both uses

Config: vocab 97, d 64, 2 layers, 4 query heads, 2 kv heads, hd 16, ffn 160, theta 10000;
batch 2 rows of 13 token ids. Two models:

  llama_tied     seed 1001, adjacent RoPE, tied head, no biases
  qwen2_untied   seed 1002, neox RoPE, untied head (output.weight), biases on q, k and v

For each model one numpy default_rng(seed) first draws the tokens, integers(0, vocab,
size=(2, 13)), then every parameter in the order of param_order() (per layer: attn_norm,
attn_q, attn_k, attn_v, [attn_q.bias, attn_k.bias, attn_v.bias], attn_output, ffn_norm,
ffn_gate, ffn_up, ffn_down; then output_norm, [output]), each float32 of a float64 draw:

  matrices            float32(standard_normal(shape) * (0.02 * SCALE[kind]))
  norm gains          float32(1 + 0.1 * standard_normal(shape))
  biases              float32(0.02 * standard_normal(shape))

(SCALE: token_embd 10, attn_q/attn_k 10, attn_v/attn_output 5, ffn_gate/ffn_up/ffn_down 5,
output 5, so the attention is far from uniform and the RoPE style matters). Those float32
values are the float64 starting point. Computed in float64: the loss and all gradients
(grad0); then ONE torch.optim.AdamW step (lr 1e-2, betas (0.9, 0.999), eps 1e-8,
weight_decay 0, foreach=False) on the float64 parameters, and the loss and all gradients at
the new weights (grad1). The updated weights are not stored: a consumer applies its own AdamW
step from init and grad0.

Self-checks (the script stops if one fails): central finite differences in float64 on chosen
entries of every parameter and along a random direction over all parameters, at both weight
sets; the attention against torch's scaled_dot_product_attention; RoPE keeps norms and is the
identity at position 0; the adjacent and neox styles give different rotations and losses; and,
when transformers is importable, the loss and gradients against transformers' own
LlamaForCausalLM / Qwen2ForCausalLM in float64 (llama's q/k rows permuted within each head so
that their NEOX rotation equals the adjacent one), once as shipped (its RMSNorm, RoPE angles and
eager softmax are float32 even in a float64 model: agreement to ~1e-6) and once with those two
forwards swapped for float64 ones and SDPA attention (agreement to ~1e-14). The results go into the JSON's "checks",
beside loss_1_from_f32: the loss after the same AdamW step taken from the float32 init and the
float32-rounded grad0 with the new weights rounded to float32 (what a float32 consumer can hope
to match), and how small grad0's entries get (AdamW's first step is about lr * sign(g)).

Writes tests/data/train_reference.json (versions, config, per model: its settings, tokens,
parameter names and shapes, loss_0 and loss_1; the checks; the index of the arrays) and
tests/data/train_reference.bin (little-endian float32, concatenated in the JSON's order;
offsets and lengths count floats): per model "<model>/init/<name>", "<model>/grad0/<name>",
"<model>/grad1/<name>", each row-major, gradients being the float64 values rounded to float32.

Made with Python 3.11.7, torch 2.15.0+cu132 (PyPI's default wheel, run on the CPU), numpy
2.4.6 (transformers 5.25.0 for the cross-check only):

  python3 -m venv /tmp/optim-venv
  /tmp/optim-venv/bin/pip install torch numpy transformers
  /tmp/optim-venv/bin/python scripts/train_reference.py [OUT_DIR]   (default tests/data)
"""

import json
import math
import os
import platform
import re
import sys

import numpy as np
import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
F64 = torch.float64

CONFIG = {
    "vocab": 97, "d": 64, "n_layer": 2, "n_head": 4, "n_kv": 2, "hd": 16, "ffn": 160,
    "theta": 10000.0, "eps": 1e-5, "batch": 2, "seq": 12,
}
MODELS = [
    ("llama_tied", {"seed": 1001, "rope": "adjacent", "tied": True, "qkv_bias": False}),
    ("qwen2_untied", {"seed": 1002, "rope": "neox", "tied": False, "qkv_bias": True}),
]
# per-tensor factor on the 0.02 standard deviation of a matrix
SCALE = {
    "token_embd": 10.0, "attn_q": 10.0, "attn_k": 10.0, "attn_v": 5.0, "attn_output": 5.0,
    "ffn_gate": 5.0, "ffn_up": 5.0, "ffn_down": 5.0, "output": 5.0,
}
ADAMW = {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
         "amsgrad": False, "foreach": False}


def param_order(m):
    """[(name, shape, kind)] in drawing (and storage) order; kind is 'matrix', 'norm', 'bias'."""
    c = CONFIG
    d, qd, kvd, f = c["d"], c["n_head"] * c["hd"], c["n_kv"] * c["hd"], c["ffn"]
    out = [("token_embd.weight", (c["vocab"], d), "matrix")]
    for i in range(c["n_layer"]):
        b = f"blk.{i}."
        out += [(b + "attn_norm.weight", (d,), "norm"),
                (b + "attn_q.weight", (qd, d), "matrix"),
                (b + "attn_k.weight", (kvd, d), "matrix"),
                (b + "attn_v.weight", (kvd, d), "matrix")]
        if m["qkv_bias"]:
            out += [(b + "attn_q.bias", (qd,), "bias"),
                    (b + "attn_k.bias", (kvd,), "bias"),
                    (b + "attn_v.bias", (kvd,), "bias")]
        out += [(b + "attn_output.weight", (d, qd), "matrix"),
                (b + "ffn_norm.weight", (d,), "norm"),
                (b + "ffn_gate.weight", (f, d), "matrix"),
                (b + "ffn_up.weight", (f, d), "matrix"),
                (b + "ffn_down.weight", (d, f), "matrix")]
    out.append(("output_norm.weight", (d,), "norm"))
    if not m["tied"]:
        out.append(("output.weight", (c["vocab"], d), "matrix"))
    return out


def kind_of(name):
    """'blk.0.attn_q.weight' -> 'attn_q', 'token_embd.weight' -> 'token_embd'."""
    return name.split(".")[-2]


def make_inputs(m):
    """Tokens (int64 [B, S+1]) and the float32 initial parameters, from one generator."""
    c = CONFIG
    rng = np.random.default_rng(m["seed"])
    tokens = rng.integers(0, c["vocab"], size=(c["batch"], c["seq"] + 1))
    init = {}
    for name, shape, kind in param_order(m):
        z = rng.standard_normal(shape)
        if kind == "matrix":
            a = z * (0.02 * SCALE[kind_of(name)])
        elif kind == "norm":
            a = 1.0 + 0.1 * z
        else:
            a = 0.02 * z
        init[name] = a.astype(np.float32)
    return tokens, init


# ---------------------------------------------------------------------------------------------
# The model, from scratch


def rmsnorm(x, g):
    return x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + CONFIG["eps"]) * g


def rope(x, style):
    """x [B, H, S, hd]; position p = index along S."""
    hd = x.shape[-1]
    half = hd // 2
    i = torch.arange(half, dtype=F64)
    inv_freq = CONFIG["theta"] ** (-2.0 * i / hd)
    pos = torch.arange(x.shape[-2], dtype=F64)
    ang = pos[:, None] * inv_freq[None, :]  # [S, half]
    cos, sin = torch.cos(ang), torch.sin(ang)
    if style == "adjacent":
        a, b = x[..., 0::2], x[..., 1::2]
    elif style == "neox":
        a, b = x[..., :half], x[..., half:]
    else:
        raise ValueError(style)
    ra = a * cos - b * sin
    rb = a * sin + b * cos
    if style == "adjacent":
        return torch.stack([ra, rb], dim=-1).reshape(x.shape)
    return torch.cat([ra, rb], dim=-1)


def attention(q, k, v):
    """q [B, nh, S, hd], k/v [B, nkv, S, hd] -> [B, nh, S, hd], causal, GQA."""
    group = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(group, dim=1)  # query head h -> kv head h // group
    v = v.repeat_interleave(group, dim=1)
    s = q.shape[-2]
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    mask = torch.ones(s, s, dtype=torch.bool).triu(1)
    scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def linear(x, p, name):
    y = x @ p[name + ".weight"].T
    if name + ".bias" in p:
        y = y + p[name + ".bias"]
    return y


def forward_logits(p, inputs, m, style=None, attn=attention):
    c = CONFIG
    style = style or m["rope"]
    nb, s = inputs.shape
    nh, nkv, hd = c["n_head"], c["n_kv"], c["hd"]
    x = p["token_embd.weight"][inputs]  # [B, S, d]
    for i in range(c["n_layer"]):
        b = f"blk.{i}."
        h = rmsnorm(x, p[b + "attn_norm.weight"])
        q = linear(h, p, b + "attn_q").reshape(nb, s, nh, hd).transpose(1, 2)
        k = linear(h, p, b + "attn_k").reshape(nb, s, nkv, hd).transpose(1, 2)
        v = linear(h, p, b + "attn_v").reshape(nb, s, nkv, hd).transpose(1, 2)
        q, k = rope(q, style), rope(k, style)
        o = attn(q, k, v).transpose(1, 2).reshape(nb, s, nh * hd)  # head-major
        x = x + o @ p[b + "attn_output.weight"].T
        h = rmsnorm(x, p[b + "ffn_norm.weight"])
        g = F.silu(h @ p[b + "ffn_gate.weight"].T) * (h @ p[b + "ffn_up.weight"].T)
        x = x + g @ p[b + "ffn_down.weight"].T
    h = rmsnorm(x, p["output_norm.weight"])
    w = p["token_embd.weight"] if m["tied"] else p["output.weight"]
    return h @ w.T


def cross_entropy(logits, targets):
    lp = torch.log_softmax(logits, dim=-1)
    return -lp.gather(-1, targets[..., None]).squeeze(-1).mean()


def loss_fn(p, tokens, m, **kw):
    return cross_entropy(forward_logits(p, tokens[:, :-1], m, **kw), tokens[:, 1:])


def loss_and_grads(params, names, tokens, m):
    for t in params.values():
        t.grad = None
    loss = loss_fn(params, tokens, m)
    loss.backward()
    return float(loss.item()), {n: params[n].grad.detach().clone() for n in names}


# ---------------------------------------------------------------------------------------------
# Self-checks


def finite_difference_check(params, names, grads, tokens, m, rng, tag):
    """Central differences on entries of every parameter and along one random direction."""
    h = 1e-5
    p = {n: t.detach().clone() for n, t in params.items()}

    def f(q):
        with torch.no_grad():
            return float(loss_fn(q, tokens, m).item())

    worst, count = 0.0, 0
    for n in names:
        g = grads[n].reshape(-1)
        idx = [int(torch.argmax(g.abs())), int(rng.integers(g.numel())), int(rng.integers(g.numel()))]
        for j in idx:
            flat = p[n].view(-1)
            old = float(flat[j])
            flat[j] = old + h
            lp = f(p)
            flat[j] = old - h
            lm = f(p)
            flat[j] = old
            fd = (lp - lm) / (2 * h)
            err = abs(fd - float(g[j]))
            tol = 1e-8 + 1e-6 * abs(float(g[j]))
            if err > tol:
                raise SystemExit(f"{tag} {n}[{j}]: autograd {float(g[j])!r} vs fd {fd!r}")
            worst = max(worst, err)
            count += 1
    # one random direction over all parameters at once
    u = {n: torch.from_numpy(rng.standard_normal(tuple(p[n].shape))) for n in names}
    norm = math.sqrt(sum(float((t * t).sum()) for t in u.values()))
    u = {n: t / norm for n, t in u.items()}  # unit length over all parameters
    plus = {n: p[n] + h * u[n] for n in names}
    minus = {n: p[n] - h * u[n] for n in names}
    fd = (f(plus) - f(minus)) / (2 * h)
    an = float(sum((grads[n] * u[n]).sum() for n in names))
    rel = abs(fd - an) / abs(an)
    if rel > 1e-7:
        raise SystemExit(f"{tag} directional: autograd {an!r} vs fd {fd!r}")
    return {"entries": count, "entries_max_abs_err": worst, "directional_autograd": an,
            "directional_fd": fd, "directional_rel_err": rel, "h": h}


def rope_checks(rng):
    c = CONFIG
    x = torch.from_numpy(rng.standard_normal((1, 2, 12, c["hd"])))
    out = {}
    for style in ("adjacent", "neox"):
        y = rope(x, style)
        if not torch.allclose(y[:, :, 0], x[:, :, 0], rtol=0, atol=1e-15):
            raise SystemExit(f"rope {style}: position 0 is not the identity")
        if not torch.allclose(y.norm(dim=-1), x.norm(dim=-1), rtol=1e-13, atol=0):
            raise SystemExit(f"rope {style}: norms not kept")
        out[style] = y
    diff = float((out["adjacent"] - out["neox"]).abs().max())
    if diff < 1e-3:
        raise SystemExit("rope: adjacent and neox agree (they should not)")
    # a hand check: pair 0 at position 1 rotates (x0, x1) (adjacent) / (x0, x8) (neox) by 1 rad
    a, b = x[0, 0, 1, 0], x[0, 0, 1, 1]
    want = (a * math.cos(1) - b * math.sin(1), a * math.sin(1) + b * math.cos(1))
    got = out["adjacent"][0, 0, 1, :2]
    if abs(got[0] - want[0]) > 1e-14 or abs(got[1] - want[1]) > 1e-14:
        raise SystemExit("rope adjacent: pair 0 hand check failed")
    a, b = x[0, 0, 1, 0], x[0, 0, 1, c["hd"] // 2]
    want = (a * math.cos(1) - b * math.sin(1), a * math.sin(1) + b * math.cos(1))
    got = out["neox"][0, 0, 1, [0, c["hd"] // 2]]
    if abs(got[0] - want[0]) > 1e-14 or abs(got[1] - want[1]) > 1e-14:
        raise SystemExit("rope neox: pair 0 hand check failed")
    return {"adjacent_vs_neox_max_abs_diff": diff}


def attention_check(rng):
    c = CONFIG
    q = torch.from_numpy(rng.standard_normal((2, c["n_head"], 12, c["hd"])))
    k = torch.from_numpy(rng.standard_normal((2, c["n_kv"], 12, c["hd"])))
    v = torch.from_numpy(rng.standard_normal((2, c["n_kv"], 12, c["hd"])))
    g = c["n_head"] // c["n_kv"]
    ref = F.scaled_dot_product_attention(q, k.repeat_interleave(g, 1), v.repeat_interleave(g, 1),
                                         is_causal=True)
    err = float((attention(q, k, v) - ref).abs().max())
    if err > 1e-13:
        raise SystemExit(f"attention vs scaled_dot_product_attention: {err}")
    return {"max_abs_err_vs_sdpa": err}


def hf_check(name, m, init, tokens, loss0, grads0):
    """Loss and gradients from transformers' own model classes (float64), if installed.

    Stock transformers computes three things in float32 even in a float64 model: RMSNorm
    (it casts its input to float32), the RoPE angles and cos/sin, and the eager attention's
    softmax. So it is run twice: as shipped (eager attention; agreement to float32 level) and
    with RMSNorm's and the rotary embedding's forward replaced by float64 ones and SDPA
    attention (float64 throughout; agreement to rounding)."""
    try:
        import transformers
        from transformers.models.llama import modeling_llama
        from transformers.models.qwen2 import modeling_qwen2
    except ImportError:
        return {"skipped": "transformers not importable"}
    c = CONFIG
    common = dict(vocab_size=c["vocab"], hidden_size=c["d"], intermediate_size=c["ffn"],
                  num_hidden_layers=c["n_layer"], num_attention_heads=c["n_head"],
                  num_key_value_heads=c["n_kv"], head_dim=c["hd"], rms_norm_eps=c["eps"],
                  max_position_embeddings=64, tie_word_embeddings=m["tied"], hidden_act="silu",
                  rope_parameters={"rope_type": "default", "rope_theta": c["theta"]})
    if m["qkv_bias"]:
        mod = modeling_qwen2
        cfg = mod.Qwen2Config(**common, use_sliding_window=False)
        cls, norm_cls, rot_cls = mod.Qwen2ForCausalLM, mod.Qwen2RMSNorm, mod.Qwen2RotaryEmbedding
    else:
        mod = modeling_llama
        cfg = mod.LlamaConfig(**common, attention_bias=False, mlp_bias=False)
        cls, norm_cls, rot_cls = mod.LlamaForCausalLM, mod.LlamaRMSNorm, mod.LlamaRotaryEmbedding
    hd = c["hd"]
    # HF rotates halves (NEOX). For adjacent, row j of each q/k head in HF's layout is our row
    # perm[j]: pairs (2i, 2i+1) become (i, i + hd/2), and q.k is unchanged.
    perm = list(range(0, hd, 2)) + list(range(1, hd, 2)) if m["rope"] == "adjacent" \
        else list(range(hd))

    def rows(n_heads):
        return torch.tensor([h * hd + j for h in range(n_heads) for j in perm])

    qrows, krows = rows(c["n_head"]), rows(c["n_kv"])
    mapping = {"token_embd.weight": ("model.embed_tokens.weight", None),
               "output_norm.weight": ("model.norm.weight", None),
               "output.weight": ("lm_head.weight", None)}
    for i in range(c["n_layer"]):
        b, hb = f"blk.{i}.", f"model.layers.{i}."
        mapping.update({
            b + "attn_norm.weight": (hb + "input_layernorm.weight", None),
            b + "attn_q.weight": (hb + "self_attn.q_proj.weight", qrows),
            b + "attn_k.weight": (hb + "self_attn.k_proj.weight", krows),
            b + "attn_v.weight": (hb + "self_attn.v_proj.weight", None),
            b + "attn_q.bias": (hb + "self_attn.q_proj.bias", qrows),
            b + "attn_k.bias": (hb + "self_attn.k_proj.bias", krows),
            b + "attn_v.bias": (hb + "self_attn.v_proj.bias", None),
            b + "attn_output.weight": (hb + "self_attn.o_proj.weight", None),
            b + "ffn_norm.weight": (hb + "post_attention_layernorm.weight", None),
            b + "ffn_gate.weight": (hb + "mlp.gate_proj.weight", None),
            b + "ffn_up.weight": (hb + "mlp.up_proj.weight", None),
            b + "ffn_down.weight": (hb + "mlp.down_proj.weight", None),
        })

    def norm64(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.variance_epsilon))

    def rot64(self, x, position_ids):
        inv = 1.0 / (c["theta"] ** (torch.arange(0, hd, 2, dtype=F64) / hd))
        freqs = position_ids[..., None].to(F64) * inv
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(x.dtype), emb.sin().to(x.dtype)

    def run(attn_impl):
        cfg._attn_implementation = attn_impl
        torch.manual_seed(0)
        model = cls(cfg).to(F64)
        hp = dict(model.named_parameters())
        with torch.no_grad():
            for n, a in init.items():
                hn, r = mapping[n]
                t = torch.from_numpy(a.astype(np.float64))
                hp[hn].copy_(t if r is None else t[r])
        if set(mapping[k][0] for k in init) != set(hp):
            raise SystemExit(f"hf {name}: parameter sets differ: {sorted(hp)}")
        if m["tied"] and model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr():
            raise SystemExit(f"hf {name}: head not tied")
        model.zero_grad()
        logits = model(input_ids=torch.from_numpy(tokens[:, :-1])).logits
        loss = cross_entropy(logits, torch.from_numpy(tokens[:, 1:]))
        loss.backward()
        worst = 0.0
        for n in init:
            hn, r = mapping[n]
            g = hp[hn].grad
            if r is not None:  # back to our row order
                back = torch.empty_like(g)
                back[r] = g
                g = back
            worst = max(worst, float((g - grads0[n]).abs().max() / grads0[n].abs().max()))
        return float(loss.detach()), abs(float(loss.detach()) - loss0), worst

    stock = run("eager")
    saved = (norm_cls.forward, rot_cls.forward)
    norm_cls.forward, rot_cls.forward = norm64, rot64
    try:
        exact = run("sdpa")
    finally:
        norm_cls.forward, rot_cls.forward = saved
    if stock[1] > 1e-5 or stock[2] > 1e-4:
        raise SystemExit(f"hf {name} stock: loss diff {stock[1]}, grad rel diff {stock[2]}")
    if exact[1] > 1e-12 or exact[2] > 1e-10:
        raise SystemExit(f"hf {name} float64: loss diff {exact[1]}, grad rel diff {exact[2]}")
    return {"class": cls.__name__, "transformers": transformers.__version__,
            "rope_rows_permuted": m["rope"] == "adjacent",
            "stock_eager": {"loss": stock[0], "loss_abs_diff": stock[1],
                            "grad_max_rel_diff": stock[2]},
            "float64_norm_rope_sdpa": {"loss": exact[0], "loss_abs_diff": exact[1],
                                       "grad_max_rel_diff": exact[2]}}


# ---------------------------------------------------------------------------------------------


def f32_step_loss(init, grads0, names, tokens, m, loss1):
    """What a float32 consumer should see: torch's first AdamW step (written out) from the
    stored float32 init and float32-rounded grad0, the new weights rounded to float32, then
    the float64 loss there. Its distance from loss_1 is the floor of a float32 comparison."""
    lr, (b1, b2), eps = ADAMW["lr"], ADAMW["betas"], ADAMW["eps"]
    p, moved = {}, 0.0
    for n in names:
        g = torch.from_numpy(grads0[n].numpy().astype(np.float32).astype(np.float64))
        mom, var = (1 - b1) * g, (1 - b2) * g * g
        denom = var.sqrt() / math.sqrt(1 - b2) + eps
        w = torch.from_numpy(init[n].astype(np.float64)) - (lr / (1 - b1)) * mom / denom
        p[n] = torch.from_numpy(w.numpy().astype(np.float32).astype(np.float64))
        moved = max(moved, float((p[n] - torch.from_numpy(init[n].astype(np.float64))).abs().max()))
    with torch.no_grad():
        loss = float(loss_fn(p, tokens, m).item())
    return {"loss": loss, "abs_diff_from_loss_1": abs(loss - loss1), "max_abs_weight_change": moved}


def run_model(name, m, check_rng):
    tokens, init = make_inputs(m)
    order = param_order(m)
    names = [n for n, _, _ in order]
    params = {n: torch.nn.Parameter(torch.from_numpy(init[n].astype(np.float64))) for n in names}
    tok = torch.from_numpy(tokens)

    loss0, grads0 = loss_and_grads(params, names, tok, m)
    checks = {"fd_init": finite_difference_check(params, names, grads0, tok, m, check_rng,
                                                 f"{name} init")}
    with torch.no_grad():
        other = "neox" if m["rope"] == "adjacent" else "adjacent"
        loss_other = float(loss_fn(params, tok, m, style=other).item())
    if abs(loss_other - loss0) < 1e-4:
        raise SystemExit(f"{name}: the loss with {other} RoPE equals the {m['rope']} one")
    checks["loss_with_other_rope"] = {"style": other, "loss": loss_other}
    checks["hf"] = hf_check(name, m, init, tokens, loss0, grads0)

    s = dict(ADAMW)
    s["betas"] = tuple(s["betas"])
    opt = torch.optim.AdamW([params[n] for n in names], **s)
    opt.step()
    loss1, grads1 = loss_and_grads(params, names, tok, m)
    checks["loss_1_from_f32"] = f32_step_loss(init, grads0, names, tok, m, loss1)
    checks["fd_step1"] = finite_difference_check(params, names, grads1, tok, m, check_rng,
                                                 f"{name} step1")
    # How close to zero grad0 gets (AdamW's first step is about lr * sign(g) wherever
    # |g| >> eps, so entries near zero are the sensitive ones).
    g0 = torch.cat([grads0[n].reshape(-1) for n in names]).abs()
    nz = g0[g0 > 0]
    checks["grad0_magnitudes"] = {
        "exact_zeros": int((g0 == 0).sum()), "below_1e-7": int(((g0 > 0) & (g0 < 1e-7)).sum()),
        "below_1e-6": int(((g0 > 0) & (g0 < 1e-6)).sum()), "min_nonzero": float(nz.min()),
        "count": int(g0.numel())}

    entry = {"name": name, "seed": m["seed"], "rope": m["rope"], "tied": m["tied"],
             "qkv_bias": m["qkv_bias"], "tokens": tokens.tolist(),
             "params": [{"name": n, "shape": list(sh)} for n, sh, _ in order],
             "n_params": int(sum(int(np.prod(sh)) for _, sh, _ in order)),
             "loss_0": loss0, "loss_1": loss1, "checks": checks}
    arrays = [(f"{name}/init/{n}", init[n]) for n in names]
    arrays += [(f"{name}/grad0/{n}", grads0[n].numpy()) for n in names]
    arrays += [(f"{name}/grad1/{n}", grads1[n].numpy()) for n in names]
    return entry, arrays


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "tests", "data")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(F64)

    check_rng = np.random.default_rng(7)
    global_checks = {"rope": rope_checks(check_rng), "attention": attention_check(check_rng)}
    models, arrays = [], []
    for name, m in MODELS:
        entry, arr = run_model(name, m, check_rng)
        models.append(entry)
        arrays += arr
        print(f"{name}: loss_0 {entry['loss_0']!r} loss_1 {entry['loss_1']!r}")
        print(json.dumps(entry["checks"]))

    index, blobs, offset = [], [], 0
    for name, a in arrays:
        a = np.ascontiguousarray(a, dtype="<f4").ravel()
        if not np.all(np.isfinite(a)):
            raise SystemExit(f"{name}: non-finite values")
        index.append({"name": name, "offset": offset, "len": int(a.size)})
        blobs.append(a.tobytes())
        offset += a.size

    try:
        import transformers
        tv = transformers.__version__
    except ImportError:
        tv = None
    meta = {
        "script": "scripts/train_reference.py",
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "numpy": np.__version__, "transformers (cross-check only)": tv},
        "compute_dtype": "float64",
        "config": CONFIG,
        "init": "per model, numpy default_rng(seed): tokens = integers(0, vocab, size=(batch, seq+1)) "
                "first, then each parameter in the order of 'params': matrices "
                "float32(standard_normal(shape) * (0.02 * scale[kind])), norm gains "
                "float32(1 + 0.1 * standard_normal(shape)), biases float32(0.02 * standard_normal(shape))",
        "scale": SCALE,
        "loss": "inputs tokens[:, :seq], targets tokens[:, 1:]; mean over batch*seq positions of "
                "-log softmax(logits)[target]",
        "rope": "pair i < hd/2 rotated by p * theta^(-2i/hd), p = 0..seq-1 within each row; "
                "adjacent = elements (2i, 2i+1), neox = (i, i + hd/2); "
                "(a, b) -> (a cos - b sin, a sin + b cos)",
        "optimizer": {"kind": "torch.optim.AdamW", "settings": ADAMW, "steps": 1,
                      "on": "the float64 parameters; loss_1 and grad1 are at the weights after it"},
        "checks": global_checks,
        "models": models,
        "layout": "little-endian float32, arrays concatenated in the order of 'arrays'; "
                  "offset and len count floats; each array row-major; grads are float64 rounded "
                  "to float32",
        "bin": "train_reference.bin",
        "total_floats": int(offset),
        "arrays": index,
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "train_reference.bin"), "wb") as f:
        for b in blobs:
            f.write(b)
    # One line per array entry; everything else indented.
    arrays_json = meta.pop("arrays")
    head = json.dumps(meta, indent=1, allow_nan=False)
    # lists of plain numbers (token rows, shapes, betas) on one line
    head = re.sub(r"\[\s*(-?[0-9][-0-9.e+]*(?:,\s*-?[0-9][-0-9.e+]*)*)\s*\]",
                  lambda mt: "[" + ", ".join(x.strip() for x in mt.group(1).split(",")) + "]", head)
    lines = ",\n".join("  " + json.dumps(e, allow_nan=False) for e in arrays_json)
    with open(os.path.join(out_dir, "train_reference.json"), "w") as f:
        f.write(head[:-2] + ',\n "arrays": [\n' + lines + "\n ]\n}\n")
    print(f"wrote {len(index)} arrays, {offset} floats to {out_dir}")


if __name__ == "__main__":
    main()
