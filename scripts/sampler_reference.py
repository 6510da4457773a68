#!/usr/bin/env python3
"""llama.cpp's sampler chain on real SmolLM2 logits: the reference of tests/sampler_reference.rs.

  scripts/sampler_reference.py

Needs scripts/build-llama-cpp.sh and `scripts/build-llama-cpp.sh --install-python` (the
llama.cpp of llama-cpp-python 0.3.16) and scripts/fetch-assets.sh (the model).

It evaluates SmolLM2-135M-Instruct (Q4_1) with llama.cpp on each prompt of PROMPTS and keeps the
last position's logits (tests/data/reference/sampler_logits.f32: rows of n_vocab little-endian
f32). For each case of CASES and each row it builds the chain llama.cpp's common sampler uses,
in its order: logit_bias -> penalties (repeat, frequency, presence over the last n accepted
tokens; the case's history is accepted first) -> top_k -> top_p -> min_p -> temp, then
llama.cpp's own softmax (llama_sampler_init_softmax), and records the candidates that remain,
in llama.cpp's order, with their probabilities (a bias of -inf, a ban, is written "-inf"). A case with temperature 0 ends with
llama_sampler_init_greedy instead and records the selected token.

Output: tests/data/reference/sampler_chain.json.
"""

import ctypes
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llamacpp_env import REPO, import_llama_cpp, llama_cpp_commit, model_path, sha256_file  # noqa: E402

OUT = os.path.join(REPO, "tests", "data", "reference")
PROMPTS = ["The capital of France is", "My favourite word is"]

# History ids are SmolLM2 tokens; the same ids are used for both rows.
HISTORY = [504, 3575, 282, 4649, 314, 7042, 30, 378, 314, 7042, 30, 314, 30, 30, 2724]
CASES = [
    dict(name="default_chain", temperature=0.8, top_k=40, top_p=0.95),
    dict(name="min_p_only", temperature=1.0, top_k=0, top_p=1.0, min_p=0.05),
    dict(
        name="every_step",
        temperature=0.7,
        top_k=100,
        top_p=0.9,
        min_p=0.02,
        repeat_penalty=1.3,
        repeat_last_n=8,
        frequency_penalty=0.5,
        presence_penalty=0.4,
        history=HISTORY,
        logit_bias=[[30, -1.5], [7042, 2.0]],
    ),
    dict(
        name="bias_bans_and_boosts",
        temperature=1.2,
        top_k=20,
        top_p=1.0,
        logit_bias="ban_top_boost_tenth",
    ),
    dict(
        name="negative_presence",
        temperature=1.5,
        top_k=0,
        top_p=0.8,
        presence_penalty=-0.5,
        repeat_last_n=64,
        history=HISTORY,
    ),
    dict(
        name="greedy_after_penalties",
        temperature=0.0,
        repeat_penalty=5.0,
        repeat_last_n=64,
        frequency_penalty=1.0,
        history="top5_of_row",
    ),
]


def main():
    llama_cpp = import_llama_cpp()
    path = model_path("smollm2")
    llm = llama_cpp.Llama(path, n_ctx=256, n_threads=2, verbose=False, logits_all=False)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
    rows = []
    for prompt in PROMPTS:
        llm.reset()
        llm.eval(llm.tokenize(prompt.encode(), add_bos=False, special=False))
        last = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        rows.append(np.ctypeslib.as_array(last, shape=(n_vocab,)).astype(np.float32))
    logits = np.stack(rows)
    if not (np.isfinite(logits).all() and logits.std(axis=1).min() > 0.1):
        raise SystemExit("llama.cpp gave no usable logits")
    logits_path = os.path.join(OUT, "sampler_logits.f32")
    logits.astype("<f4").tofile(logits_path)

    results = []
    for case in CASES:
        for r, row in enumerate(logits):
            c = resolve(case, row)
            out = run_chain(llama_cpp, n_vocab, row, c)
            # JSON has no infinity: a ban is written as the string "-inf".
            c["logit_bias"] = [[t, "-inf" if b == float("-inf") else b] for t, b in c["logit_bias"]]
            results.append(dict(case=case["name"], row=r, **c, **out))
    out = dict(
        tool=f"llama-cpp-python {llama_cpp.__version__} (llama.cpp {llama_cpp_commit()})",
        model=os.path.basename(path),
        model_sha256=sha256_file(path),
        prompts=PROMPTS,
        n_vocab=n_vocab,
        logits_file=os.path.basename(logits_path),
        logits_sha256=sha256_file(logits_path),
        results=results,
    )
    with open(os.path.join(OUT, "sampler_chain.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"{len(results)} results, {n_vocab} tokens per row")


def resolve(case, row):
    """The case's settings for one row, with defaults and the row-dependent choices made."""
    c = dict(
        temperature=case["temperature"],
        top_k=case.get("top_k", 40),
        top_p=case.get("top_p", 0.95),
        min_p=case.get("min_p", 0.0),
        repeat_penalty=case.get("repeat_penalty", 1.0),
        repeat_last_n=case.get("repeat_last_n", 64),
        frequency_penalty=case.get("frequency_penalty", 0.0),
        presence_penalty=case.get("presence_penalty", 0.0),
        history=case.get("history", []),
        logit_bias=case.get("logit_bias", []),
    )
    order = np.argsort(-row, kind="stable")
    if c["logit_bias"] == "ban_top_boost_tenth":
        c["logit_bias"] = [[int(order[0]), float("-inf")], [int(order[9]), 3.0]]
    if c["history"] == "top5_of_row":
        c["history"] = [int(t) for t in order[:5]] + [int(order[0])]
    return c


def run_chain(llama_cpp, n_vocab, row, c):
    chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
    add = lambda s: llama_cpp.llama_sampler_chain_add(chain, s)  # noqa: E731
    bias = (llama_cpp.llama_logit_bias * max(1, len(c["logit_bias"])))()
    for i, (tok, b) in enumerate(c["logit_bias"]):
        bias[i].token = tok
        bias[i].bias = b
    add(llama_cpp.llama_sampler_init_logit_bias(n_vocab, len(c["logit_bias"]), bias))
    add(
        llama_cpp.llama_sampler_init_penalties(
            c["repeat_last_n"], c["repeat_penalty"], c["frequency_penalty"], c["presence_penalty"]
        )
    )
    greedy = c["temperature"] <= 0
    if greedy:
        add(llama_cpp.llama_sampler_init_greedy())
    else:
        add(llama_cpp.llama_sampler_init_top_k(c["top_k"]))
        add(llama_cpp.llama_sampler_init_top_p(c["top_p"], 1))
        add(llama_cpp.llama_sampler_init_min_p(c["min_p"], 1))
        add(llama_cpp.llama_sampler_init_temp(c["temperature"]))
        add(llama_cpp.llama_sampler_init_softmax())
    for t in c["history"]:
        llama_cpp.llama_sampler_accept(chain, t)
    data = (llama_cpp.llama_token_data * n_vocab)()
    for i in range(n_vocab):
        data[i].id = i
        data[i].logit = float(row[i])
        data[i].p = 0.0
    arr = llama_cpp.llama_token_data_array(data=data, size=n_vocab, selected=-1, sorted=False)
    llama_cpp.llama_sampler_apply(chain, ctypes.byref(arr))
    llama_cpp.llama_sampler_free(chain)
    if greedy:
        return dict(selected=int(data[arr.selected].id))
    ids = [int(data[i].id) for i in range(arr.size)]
    probs = [float(data[i].p) for i in range(arr.size)]
    return dict(ids=ids, probs=probs)


if __name__ == "__main__":
    main()
