#!/usr/bin/env python3
"""PyTorch CPU eager training step of the same decoder `llmcore train` trains: the peer of the
training benchmark (scripts/bench-train.sh).

Builds the model a shape file describes (initialized as llmcore initializes it) (bench/train/*.json: LLaMA layout, RMSNorm, RoPE
(adjacent pairs), grouped-query attention through torch's scaled_dot_product_attention with
is_causal, SwiGLU, tied head) in float32 with torch.nn, then times `steps` training steps of
AdamW (forward, mean cross-entropy, backward, global-norm clip 1.0, optimizer step) on random
token batches of `--batch` rows of `--seq` predictions, after `--warmup` untimed steps, with
`--threads` intra-op threads. Prints one JSON object: parameters, mean/median step seconds,
tokens per second, torch version and thread count.

  python3 scripts/bench_train_torch.py --config bench/train/austen-28m.json --vocab 49152 \
      --batch 8 --seq 128 --steps 10 --threads 2
"""

import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F


class Rope:
    def __init__(self, hd, theta, seq):
        inv = theta ** (-torch.arange(0, hd // 2, dtype=torch.float64) * 2 / hd)
        ang = torch.arange(seq, dtype=torch.float64)[:, None] * inv[None, :]
        self.cos = ang.cos().float()
        self.sin = ang.sin().float()

    def __call__(self, x):  # x: [B, H, S, hd], adjacent pairs
        a, b = x[..., 0::2], x[..., 1::2]
        c, s = self.cos[: x.shape[2]], self.sin[: x.shape[2]]
        out = torch.stack((a * c - b * s, a * s + b * c), dim=-1)
        return out.flatten(-2)


class RMSNorm(torch.nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w


class Layer(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        d, h, kv, hd, f = c["d_model"], c["n_head"], c["n_kv_head"], c["hd"], c["d_ffn"]
        self.h, self.kv, self.hd = h, kv, hd
        self.n1, self.n2 = RMSNorm(d, c["rms_eps"]), RMSNorm(d, c["rms_eps"])
        self.q = torch.nn.Linear(d, h * hd, bias=False)
        self.k = torch.nn.Linear(d, kv * hd, bias=False)
        self.v = torch.nn.Linear(d, kv * hd, bias=False)
        self.o = torch.nn.Linear(h * hd, d, bias=False)
        self.gate = torch.nn.Linear(d, f, bias=False)
        self.up = torch.nn.Linear(d, f, bias=False)
        self.down = torch.nn.Linear(f, d, bias=False)

    def forward(self, x, rope):
        b, s, _ = x.shape
        h = self.n1(x)
        q = self.q(h).view(b, s, self.h, self.hd).transpose(1, 2)
        k = self.k(h).view(b, s, self.kv, self.hd).transpose(1, 2)
        v = self.v(h).view(b, s, self.kv, self.hd).transpose(1, 2)
        q, k = rope(q), rope(k)
        rep = self.h // self.kv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.o(att.transpose(1, 2).reshape(b, s, -1))
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Decoder(torch.nn.Module):
    def __init__(self, c, vocab, seq):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, c["d_model"])
        self.layers = torch.nn.ModuleList(Layer(c) for _ in range(c["n_layer"]))
        self.norm = RMSNorm(c["d_model"], c["rms_eps"])
        self.rope = Rope(c["hd"], c["rope_theta"], seq)

    def forward(self, tokens):
        x = self.emb(tokens)
        for layer in self.layers:
            x = layer(x, self.rope)
        return self.norm(x) @ self.emb.weight.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--vocab", type=int, default=49152)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = json.load(open(a.config))
    c.setdefault("n_kv_head", c["n_head"])
    c.setdefault("rope_theta", 10000.0)
    c.setdefault("rms_eps", 1e-5)
    c["hd"] = c["d_model"] // c["n_head"]
    model = Decoder(c, a.vocab, a.seq)
    # llmcore's initialization: N(0, 0.02^2), the residual projections / sqrt(2 n_layer).
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2:
                std = 0.02 / (math.sqrt(2 * c["n_layer"]) if name.endswith(("o.weight", "down.weight")) else 1.0)
                p.normal_(0.0, std)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    times = []
    for i in range(a.warmup + a.steps):
        tokens = torch.randint(0, a.vocab, (a.batch, a.seq + 1))
        t0 = time.perf_counter()
        logits = model(tokens[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), tokens[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    n_params = sum(p.numel() for p in model.parameters())
    mean = statistics.mean(times)
    print(json.dumps({
        "peer": "pytorch-eager",
        "torch": torch.__version__,
        "threads": a.threads,
        "parameters": n_params,
        "batch": a.batch,
        "seq": a.seq,
        "steps_timed": len(times),
        "mean_step_seconds": mean,
        "median_step_seconds": statistics.median(times),
        "tokens_per_s": a.batch * a.seq / mean,
        "last_loss": loss.item(),
        "expected_initial_loss": math.log(a.vocab),
    }))


if __name__ == "__main__":
    main()
