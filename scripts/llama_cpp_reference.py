#!/usr/bin/env python3
"""llama.cpp reference outputs on tests/data/persuasion_excerpt.txt (the fast-path check).

  scripts/llama_cpp_reference.py [smollm2|qwen05 ...]      (default: both)
  scripts/llama_cpp_reference.py --choose-excerpt           (re-cut the excerpt, see below)

Needs scripts/build-llama-cpp.sh (tools) and `scripts/build-llama-cpp.sh --install-python`.

For each model it records, in tests/data/reference/llamacpp_<model>.json:
  * the excerpt's token ids from llama.cpp's tokenizer (no BOS: add_bos_token=false for both),
    cross-checked against the llama-tokenize tool;
  * the windows llama-perplexity uses with --ctx-size 512 (tools/perplexity/perplexity.cpp,
    perplexity()): n_chunk = n_tokens / n_ctx (integer division; the tail is not scored), window
    w = tokens [w*n_ctx, (w+1)*n_ctx), evaluated from an empty KV cache at positions 0..n_ctx-1;
    with first = n_ctx/2 it takes the logits at window positions first .. n_ctx-2 and scores
    the token that follows each, i.e. targets at window positions first+1 .. n_ctx-1
    (257..511 for n_ctx 512: 255 tokens per window); NLL = max + log(sum exp(l - max)) - l[target]
    per scored token; PPL = exp(sum NLL / count) over all windows. (add_bos is false, so the
    window's first token is not replaced by BOS.)
  * the same windows evaluated through the Python API (one llama_decode of 512 tokens, every
    position's logits): per-position argmax (top-1 id) and per-target NLL (float64 from the f32
    logits), their sums per window and the resulting PPL;
  * the output of `llama-perplexity -m MODEL -f EXCERPT -c 512 -t 2`: its per-chunk running
    estimates and its final "PPL = X +/- Y".

--choose-excerpt cuts tests/data/persuasion_excerpt.txt from assets/corpora/austen-persuasion.txt:
from the line "Chapter 1" (skipping the title lines) to the last sentence end ('.', '?' or '!'
before a space or newline) at which SmolLM2's tokenizer gives EXCERPT_MIN_TOKENS to
EXCERPT_MAX_TOKENS tokens (at least 4 windows of 512 for llama-perplexity).
"""

import json
import math
import os
import re
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llamacpp_env as env  # noqa: E402

REF_DIR = os.path.join(env.REPO, "tests", "data", "reference")
EXCERPT = os.path.join(env.REPO, "tests", "data", "persuasion_excerpt.txt")
N_CTX = 512
THREADS = 2
EXCERPT_MIN_TOKENS = 2048
EXCERPT_MAX_TOKENS = 2100


def read_excerpt():
    with open(EXCERPT, "rb") as f:
        text = f.read().decode("utf-8")
    # llama-perplexity's -f drops one trailing newline (common/arg.cpp); the excerpt has none
    if text.endswith("\n"):
        raise SystemExit(f"{EXCERPT} must not end with a newline")
    return text


def choose_excerpt():
    src = os.path.join(env.assets_dir(), "corpora", "austen-persuasion.txt")
    with open(src, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8")
    start = text.index("\nChapter 1\n") + 1
    nxt, n = None, 0
    for m in re.finditer(r"[.?!](?=[ \n])", text[start : start + 12000]):
        count = len(env.tokenize("smollm2", text[start : start + m.end()]))
        if count > EXCERPT_MAX_TOKENS:
            break
        if count >= EXCERPT_MIN_TOKENS:
            nxt, n = start + m.end(), count
    if nxt is None:
        raise SystemExit("no sentence end gives an excerpt of the wanted size")
    piece = text[start:nxt]
    b0 = len(text[:start].encode("utf-8"))
    b1 = b0 + len(piece.encode("utf-8"))
    assert raw[b0:b1] == piece.encode("utf-8")
    with open(EXCERPT, "wb") as f:
        f.write(piece.encode("utf-8"))
    print(f"excerpt: bytes [{b0}, {b1}) of austen-persuasion.txt, {n} SmolLM2 tokens")


def llama_tokenize_tool(key, text_file):
    """Token ids from the llama-tokenize tool (a second path to the same tokenizer)."""
    out = subprocess.run(
        [env.tool("llama-tokenize"), "-m", env.model_path(key), "-f", text_file, "--ids", "--no-bos", "--log-disable"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_llama_perplexity(key):
    cmd = [env.tool("llama-perplexity"), "-m", env.model_path(key), "-f", EXCERPT, "-c", str(N_CTX), "-t", str(THREADS)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    log = p.stdout + p.stderr
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{log[-2000:]}")
    final = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", log)
    chunks = [float(v) for v in re.findall(r"\[\d+\]([0-9.]+),", log)]
    build = re.search(r"build: (\S+ \([^)]*\))", log)
    if final is None:
        raise SystemExit(f"no final PPL in llama-perplexity output:\n{log[-2000:]}")
    shown = [os.path.relpath(c, env.REPO) if c.startswith(env.REPO) else c for c in cmd]
    shown[0] = "llama-perplexity"
    return {
        "command": " ".join(shown),
        "build": build.group(1) if build else None,
        "running_ppl_per_chunk": chunks,
        "final_ppl": float(final.group(1)),
        "final_ppl_stderr": float(final.group(2)),
    }


def log_softmax64(logits):
    x = logits.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def run(key):
    llama_cpp = env.import_llama_cpp()
    path = env.model_path(key)
    text = read_excerpt()
    tokens = env.tokenize(key, text)
    tool_tokens = llama_tokenize_tool(key, EXCERPT)
    if tool_tokens != tokens:
        raise SystemExit(f"{key}: llama-tokenize and the Python API disagree on the excerpt")
    n_chunk = len(tokens) // N_CTX
    if n_chunk < 2:
        raise SystemExit(f"{key}: {len(tokens)} tokens, llama-perplexity needs {2 * N_CTX}")
    first = N_CTX // 2

    llm = llama_cpp.Llama(
        path,
        n_ctx=N_CTX,
        n_batch=N_CTX,
        n_ubatch=N_CTX,
        n_threads=THREADS,
        n_threads_batch=THREADS,
        logits_all=True,
        verbose=False,
    )
    windows = []
    total_nll, total_count = 0.0, 0
    for w in range(n_chunk):
        start = w * N_CTX
        ids = tokens[start : start + N_CTX]
        llm.reset()
        llm.eval(ids)
        logits = np.array(llm.scores[:N_CTX], dtype=np.float32)
        top1 = logits.argmax(axis=1)
        lp = log_softmax64(logits[first : N_CTX - 1])
        targets = np.asarray(ids[first + 1 : N_CTX])
        nll = -lp[np.arange(len(targets)), targets]
        total_nll += float(nll.sum())
        total_count += len(nll)
        windows.append(
            {
                "start": start,
                "end": start + N_CTX,
                "scored_targets": [start + first + 1, start + N_CTX - 1],
                "count": len(nll),
                "nll_sum": float(nll.sum()),
                "ppl": math.exp(float(nll.mean())),
                "top1": [int(t) for t in top1],
                "nll": [round(float(v), 6) for v in nll],
            }
        )
        print(f"{key} window {w}: ppl {windows[-1]['ppl']:.4f}")
    llm.close()

    lp_tool = run_llama_perplexity(key)
    api_ppl = math.exp(total_nll / total_count)
    print(f"{key}: Python API ppl {api_ppl:.4f}; llama-perplexity final PPL {lp_tool['final_ppl']:.4f}")
    out = {
        "model": os.path.basename(path),
        "model_sha256": env.sha256_file(path),
        "llama_cpp": f"llama.cpp vendored in llama-cpp-python {env.LLAMA_CPP_PYTHON_VERSION} (PyPI sdist), "
        "built by scripts/build-llama-cpp.sh (Release, GGML_NATIVE, CPU)",
        "llama_cpp_commit": env.llama_cpp_commit(),
        "generator": "scripts/llama_cpp_reference.py",
        "text_file": os.path.relpath(EXCERPT, env.REPO),
        "text_sha256": env.sha256_file(EXCERPT),
        "add_bos": False,
        "n_tokens": len(tokens),
        "tokens": tokens,
        "n_ctx": N_CTX,
        "n_chunk": n_chunk,
        "scoring": "window w = tokens[w*n_ctx, (w+1)*n_ctx), fresh KV cache, positions 0..n_ctx-1; "
        "targets at window positions n_ctx/2+1 .. n_ctx-1 are scored from the logits at the "
        "position before; nll = logsumexp(logits) - logits[target] (float64 from f32 logits); "
        "top1[i] = argmax of the logits at window position i (all positions)",
        "windows": windows,
        "nll_sum": total_nll,
        "count": total_count,
        "ppl": api_ppl,
        "llama_perplexity": lp_tool,
    }
    with open(os.path.join(REF_DIR, f"llamacpp_{key}.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


def main(argv):
    if argv[1:] == ["--choose-excerpt"]:
        choose_excerpt()
        return
    env.run_for_models(argv, run, REF_DIR)


if __name__ == "__main__":
    main(sys.argv)
