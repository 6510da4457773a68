#!/usr/bin/env python3
"""Runs lm-evaluation-harness itself on libllmcore task files, for the evalh parity check.

    python scripts/lm_eval_parity.py --task tasks/exam/kjv_book.json [--task ...] \
        --model assets/models/SmolLM2-135M-Instruct.Q4_1.gguf --limit 100 \
        --out tests/data/evalh_parity/

Each task JSON (core/src/evalh/task.rs) becomes an lm-eval task YAML in a temporary folder
(`dataset_path: json` over the task's JSONL, `test_split: test`, the same templates,
delimiters and metrics, zero-shot). lm-eval then runs through its Python API: model "hf"
built from the model arguments `pretrained=<dir>,gguf_file=<file>,dtype=float32,device=cpu`
by lm-eval's own registry (as `simple_evaluate(model="hf", model_args=...)` does), so the
model is loaded once and the timing covers the evaluation alone, then
`lm_eval.simple_evaluate(model=<that LM>, tasks=[...], limit=N, log_samples=True)` once per
batch size. The first batch size's samples are the reference written out; every other batch
size is only timed (and its log-likelihoods compared with the first's).

Writes `<out>/<task name>.json` per task; see scripts/lm_eval_parity.md. Needs a Python with
lm-eval, torch, transformers and gguf (e.g. the venv that lm_eval_parity.md describes).
"""

import argparse
import hashlib
import json
import math
import os
import platform
import re
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

# Nothing is fetched from a hub: the model is a local GGUF, the dataset a local JSONL.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

FIELD = re.compile(r"\{\{(.*?)\}\}", re.S)
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TASK_KEYS = {
    "name", "category", "docs", "fewshot_docs", "output_type", "doc_to_text",
    "doc_to_choice", "doc_to_target", "target_delimiter", "fewshot_delimiter",
    "num_fewshot", "fewshot_seed", "until", "max_tokens", "metrics",
}


REPO = Path(__file__).resolve().parent.parent


def shown_path(path):
    """`path` relative to the repository when inside it, else absolute."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(REPO))
    except ValueError:
        return str(p)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---- our template semantics (core/src/evalh/task.rs), to check lm-eval renders the same ----

def parse_template(src):
    """[("text", s) | ("field", name)] as Template::parse splits it."""
    parts, rest = [], src
    while "{{" in rest:
        open_ = rest.index("{{")
        if open_ > 0:
            parts.append(("text", rest[:open_]))
        after = rest[open_ + 2:]
        if "}}" not in after:
            raise ValueError(f"template {src!r}: '{{{{' without '}}}}'")
        close = after.index("}}")
        name = after[:close].strip()
        if not name:
            raise ValueError(f"template {src!r}: empty field name")
        parts.append(("field", name))
        rest = after[close + 2:]
    if rest:
        parts.append(("text", rest))
    return parts


def single_field(parts):
    return parts[0][1] if len(parts) == 1 and parts[0][0] == "field" else None


def scalar_text(v):
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)
    raise ValueError(f"field value {v!r} is not a string or number")


def render(parts, doc):
    return "".join(p if k == "text" else scalar_text(doc[p]) for k, p in parts)


def our_choices(spec, doc):
    c = spec["doc_to_choice"]
    if isinstance(c, str):
        return list(doc[single_field(parse_template(c))])
    return [render(parse_template(t), doc) for t in c]


def our_gold(spec, doc, choices):
    parts = parse_template(spec["doc_to_target"])
    f = single_field(parts)
    if f is not None and isinstance(doc[f], (int, float)) and not isinstance(doc[f], bool):
        return int(doc[f])
    return choices.index(render(parts, doc))


# ---- conversion to lm-eval's task YAML ----

def jinja_template(parts, field_names):
    """Our template as Jinja: fields as `{{name}}`, text kept literally, or as a Jinja string
    expression where it holds Jinja syntax. A template that is only text equal to a feature
    name is written as an expression too, since lm-eval would read that feature instead."""
    out = []
    for kind, p in parts:
        if kind == "field":
            if not IDENT.match(p):
                raise ValueError(f"field name {p!r} cannot be written as a Jinja variable")
            out.append("{{" + p + "}}")
        elif any(m in p for m in ("{%", "%}", "{#", "#}", "{{", "}}")) or p in field_names:
            out.append("{{ " + jinja_string_literal(p) + " }}")
        else:
            out.append(p)
    return "".join(out)


def jinja_string_literal(s):
    # Jinja decodes a string literal with Python's unicode-escape after turning non-ASCII
    # into backslash escapes, so JSON's escapes (\" \\ \n \u00XX) and raw non-ASCII
    # characters both come back as they were.
    return json.dumps(s, ensure_ascii=False)


def to_lmeval_yaml(spec, task_name, docs_path, docs):
    if spec.get("output_type") != "multiple_choice":
        raise SystemExit(f"task {spec['name']}: only multiple_choice tasks are converted")
    if int(spec.get("num_fewshot", 0)) != 0:
        raise SystemExit(
            f"task {spec['name']}: num_fewshot {spec['num_fewshot']}: only zero-shot is "
            "compared (lm-eval's few-shot sampler draws other examples than ours)")
    metrics = spec["metrics"]
    if not set(metrics) <= {"acc", "acc_norm"}:
        raise SystemExit(f"task {spec['name']}: metrics {metrics}: only acc/acc_norm converted")
    features = set().union(*(d.keys() for d in docs))

    text_parts = parse_template(spec["doc_to_text"])
    doc_to_text = jinja_template(text_parts, features)

    c = spec["doc_to_choice"]
    if isinstance(c, str):
        # `{{field}}` holding a list: the bare feature name makes lm-eval return doc[field]
        # as it is (its Jinja path would render the list's repr and literal_eval it back).
        doc_to_choice = single_field(parse_template(c))
    else:
        tparts = [parse_template(t) for t in c]
        if all(len(p) == 0 or all(k == "text" for k, _ in p) for p in tparts):
            # lm-eval returns a YAML list as it is, unrendered; fine for literal choices.
            doc_to_choice = ["".join(x for _, x in p) for p in tparts]
        else:
            # A list with fields: one Jinja expression building the list; lm-eval renders it
            # to the list's repr and literal_evals that.
            items = []
            for p in tparts:
                terms = [jinja_string_literal(x) if k == "text" else f"({x}|string)"
                         for k, x in p] or ['""']
                items.append(" ~ ".join(terms))
            doc_to_choice = "{{ [" + ", ".join(items) + "] }}"

    tparts = parse_template(spec["doc_to_target"])
    f = single_field(tparts)
    if f is not None:
        # Bare feature name: lm-eval returns doc[f]; an int is the gold index, a string is
        # looked up in the choices -- exactly our rule. (The Jinja form would turn a target
        # string of digits into an index.)
        doc_to_target = f
    else:
        doc_to_target = jinja_template(tparts, features)
        for d in docs:
            t = render(tparts, d)
            if t.isdigit() or (len(t) >= 2 and t[0] == "[" and t[-1] == "]"):
                raise SystemExit(f"task {spec['name']}: target {t!r} would be read by lm-eval "
                                 "as an index or a list")

    for d in docs:
        t = render(text_parts, d)
        if t.isdigit():
            raise SystemExit(f"task {spec['name']}: context {t!r} would be read by lm-eval as "
                             "an index")
        if t.strip() == "" and t != "":
            raise SystemExit(f"task {spec['name']}: a whitespace-only context ({t!r}) makes "
                             "lm-eval's HFLM fail (empty context_enc); ours scores it after "
                             "[prefix]")

    return {
        "task": task_name,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(docs_path)}},
        "test_split": "test",
        "output_type": "multiple_choice",
        "doc_to_text": doc_to_text,
        "doc_to_choice": doc_to_choice,
        "doc_to_target": doc_to_target,
        "target_delimiter": spec.get("target_delimiter", " "),
        "fewshot_delimiter": spec.get("fewshot_delimiter", "\n\n"),
        "num_fewshot": 0,
        "metric_list": [
            {"metric": m, "aggregation": "mean", "higher_is_better": True} for m in metrics
        ],
        "metadata": {"version": 1.0},
    }


def load_task(path):
    path = Path(path)
    spec = json.loads(path.read_text())
    unknown = set(spec) - TASK_KEYS
    if unknown:
        raise SystemExit(f"{path}: unknown keys {sorted(unknown)}")
    docs_path = (path.parent / spec["docs"]).resolve()
    docs, lines = [], []
    for i, line in enumerate(docs_path.read_text().split("\n")):
        if line.strip():
            docs.append(json.loads(line))
            lines.append(i + 1)
    return spec, docs_path, docs, lines


# ---- running ----

class Timed:
    """Wraps lm.loglikelihood to time the model's part of an evaluation."""

    def __init__(self, lm):
        self.lm, self.inner, self.seconds, self.requests = lm, lm.loglikelihood, 0.0, 0
        self.inner_call, self.calls, self.rows, self.tokens = lm._model_call, 0, 0, 0

    cpu_seconds = 0.0

    def __call__(self, requests, *a, **k):
        t, c = time.perf_counter(), time.process_time()
        out = self.inner(requests, *a, **k)
        self.seconds += time.perf_counter() - t
        self.cpu_seconds += time.process_time() - c
        self.requests += len(requests)
        return out

    def model_call(self, inps, *a, **k):
        # Forwards actually run: lm-eval's logits cache serves requests whose
        # context + continuation[:-1] are equal (one-token choices) from one row.
        self.calls += 1
        self.rows += inps.shape[0]
        self.tokens += inps.numel()
        return self.inner_call(inps, *a, **k)


def lm_eval_tokens(lm, context, continuation):
    """The token ids lm-eval's loglikelihood() builds for one request (its own code path)."""
    if context == "":
        cont = lm.tok_encode(continuation, add_special_tokens=False)
        if lm.prefix_token_id != cont[0]:
            return [lm.prefix_token_id], cont
        return cont[:1], cont[1:]
    return lm._encode_pair(context, continuation)


def evaluate(lm, lm_eval, tm, task_name, limit, batch_size):
    lm.batch_size_per_gpu = batch_size
    timer = Timed(lm)
    lm.loglikelihood = timer
    lm._model_call = timer.model_call
    load_before = os.getloadavg()[0]
    try:
        t = time.perf_counter()
        res = lm_eval.simple_evaluate(
            model=lm, tasks=[task_name], task_manager=tm, num_fewshot=0, limit=limit,
            log_samples=True, bootstrap_iters=0, cache_requests=False,
        )
        total = time.perf_counter() - t
    finally:
        del lm.loglikelihood
        del lm._model_call
    return res, {
        "batch_size": batch_size,
        "eval_wall_s": round(timer.seconds, 3),
        "simple_evaluate_wall_s": round(total, 3),
        "requests": timer.requests,
        "requests_per_s": round(timer.requests / timer.seconds, 2) if timer.seconds else None,
        "eval_cpu_s": round(timer.cpu_seconds, 3),
        "loadavg_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "model_calls": timer.calls,
        "forward_rows": timer.rows,
        "padded_input_tokens": timer.tokens,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", action="append", required=True, help="task JSON (repeatable)")
    ap.add_argument("--model", required=True, help="GGUF file")
    ap.add_argument("--limit", type=int, default=None, help="first N documents per task")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--batch-sizes", default="1,8",
                    help="comma-separated; the first is the reference run (default 1,8)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--omp-wait-policy", default="PASSIVE",
                    choices=["PASSIVE", "ACTIVE", "default"],
                    help="OMP_WAIT_POLICY for torch's OpenMP threads (default PASSIVE; 'default' "
                         "leaves it unset: libgomp spins, then sleeps)")
    ap.add_argument("--timing-only", action="store_true",
                    help="time again and update only the timing of existing outputs (their "
                         "log-likelihoods are compared, not rewritten)")
    args = ap.parse_args()
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]

    tmp = tempfile.TemporaryDirectory(prefix="lm_eval_parity_")
    # A fresh datasets cache: the JSONL may have been rewritten since a cached copy.
    os.environ["HF_DATASETS_CACHE"] = os.path.join(tmp.name, "datasets_cache")

    # On a shared 2-core machine OpenMP's spinning barrier makes torch's 2-thread forwards up
    # to ~15x slower whenever another process holds a core; sleeping waits avoid that. libgomp
    # reads the variable when torch loads, so it is set before the import.
    if args.omp_wait_policy == "default":
        os.environ.pop("OMP_WAIT_POLICY", None)
    else:
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy
    import torch
    torch.set_num_threads(args.threads)
    import lm_eval
    import lm_eval.api.registry
    from lm_eval.tasks import TaskManager

    versions = {k: metadata.version(p) for k, p in [
        ("lm_eval", "lm_eval"), ("torch", "torch"), ("transformers", "transformers"),
        ("gguf", "gguf"), ("datasets", "datasets"), ("tokenizers", "tokenizers")]}
    versions["python"] = platform.python_version()

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    yaml_dir = Path(tmp.name) / "tasks"
    yaml_dir.mkdir()
    import yaml
    loaded = []
    for path in args.task:
        spec, docs_path, docs, lines = load_task(path)
        task_name = "llmcore_" + spec["name"]
        cfg = to_lmeval_yaml(spec, task_name, docs_path, docs)
        (yaml_dir / f"{task_name}.yaml").write_text(
            yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False))
        loaded.append((path, spec, docs, lines, task_name, cfg))
    tm = TaskManager(include_path=str(yaml_dir))
    model = Path(args.model).resolve()
    model_args = f"pretrained={model.parent},gguf_file={model.name},dtype=float32,device=cpu"
    shown_model_args = model_args.replace(str(model.parent), shown_path(model.parent), 1)
    t = time.perf_counter()
    lm = lm_eval.api.registry.get_model("hf").create_from_arg_string(
        model_args, {"batch_size": batch_sizes[0]})
    load_s = time.perf_counter() - t
    tok = lm.tokenizer
    probe = "The capital of France is"
    boundary = {
        "add_bos_token": lm.add_bos_token,
        "bos_token_id": tok.bos_token_id, "bos_token": tok.bos_token,
        "eos_token_id": tok.eos_token_id, "prefix_token_id": lm.prefix_token_id,
        "tokenizer_class": type(tok).__name__,
        "probe": probe,
        "probe_tok_encode": lm.tok_encode(probe),
        "probe_encode_add_special_tokens_true": tok.encode(probe, add_special_tokens=True),
        "max_length": lm.max_length,
    }
    print(f"model loaded in {load_s:.1f}s; boundary: {json.dumps(boundary)}", file=sys.stderr)


    model_sha = sha256_file(model)
    for path, spec, docs, lines, task_name, cfg in loaded:
        dest = out_dir / f"{spec['name']}.json"
        old = json.loads(dest.read_text()) if args.timing_only else None
        if old is not None and (old["task"]["sha256"] != sha256_file(path)
                                or old["model"]["sha256"] != model_sha
                                or old["limit"] != args.limit):
            raise SystemExit(f"{dest}: made from another task file, model or limit; rerun "
                             "without --timing-only")
        runs, ref = [], None
        for bs in batch_sizes:
            print(f"{spec['name']}: batch_size {bs}", file=sys.stderr)
            res, timing = evaluate(lm, lm_eval, tm, task_name, args.limit, bs)
            samples = sorted(res["samples"][task_name], key=lambda s: s["doc_id"])
            r = res["results"][task_name]
            # resps: per request the list of its responses, here one (loglikelihood, is_greedy)
            lls = [float(resp[0][0]) for s in samples for resp in s["resps"]]
            timing["acc"] = r.get("acc,none")
            timing["acc_norm"] = r.get("acc_norm,none")
            timing["torch_threads"] = torch.get_num_threads()
            timing["omp_wait_policy"] = os.environ.get("OMP_WAIT_POLICY")
            if old is not None:
                stored = [q["loglikelihood"] for d in old["docs"] for q in d["requests"]]
                timing["max_abs_ll_diff_vs_stored"] = max(
                    abs(x - y) for x, y in zip(lls, stored, strict=True))
            if ref is None:
                ref = (res, samples, lls)
            else:
                timing["max_abs_ll_diff_vs_first"] = max(
                    abs(x - y) for x, y in zip(lls, ref[2], strict=True))
            runs.append(timing)
            print(f"  {json.dumps(timing)}", file=sys.stderr)
        if old is not None:
            # Keep the stored reference; replace the runs of the same threads and batch size.
            key = lambda x: (x.get("torch_threads"), x.get("omp_wait_policy"), x["batch_size"])
            new_keys = {key(x) for x in runs}
            old["timing"]["runs"] = [x for x in old["timing"]["runs"]
                                     if key(x) not in new_keys] + runs
            for k in ("best_requests_per_s", "best_batch_size", "torch_threads"):
                old["timing"].pop(k, None)  # fields of the first version of this script
            old["timing"]["note"] = TIMING_NOTE
            set_best(old["timing"])
            write_output(dest, old)
            print(f"{spec['name']}: timing updated in {dest}")
            continue
        res, samples, _ = ref
        r = res["results"][task_name]

        out_docs, mismatches = [], []
        for s in samples:
            i = s["doc_id"]
            doc = docs[i]
            ctx = render(parse_template(spec["doc_to_text"]), doc)
            choices = our_choices(spec, doc)
            delim = spec.get("target_delimiter", " ")
            gold = our_gold(spec, doc, choices)
            reqs = []
            ctx_tokens = None
            for a, resp, fresp in zip(s["arguments"], s["resps"], s["filtered_resps"],
                                      strict=True):
                # arguments: (context, continuation) as lm-eval logged it (a tuple, or a
                # dict {"arg_0": ..., "arg_1": ...} depending on the version).
                c0, c1 = (a["arg_0"], a["arg_1"]) if isinstance(a, dict) else a
                (resp,) = resp
                ll, greedy = float(resp[0]), bool(resp[1])
                fll, fgreedy = float(fresp[0]), bool(fresp[1])
                if (fll, fgreedy) != (ll, greedy):
                    mismatches.append(f"doc {i}: filtered_resps {fresp} != resps {resp}")
                ctok, conttok = lm_eval_tokens(lm, c0, c1)
                if ctx_tokens is None:
                    ctx_tokens = ctok
                elif ctok != ctx_tokens:
                    mismatches.append(f"doc {i}: context tokens differ between choices")
                reqs.append({"context": c0, "continuation": c1, "loglikelihood": ll,
                             "is_greedy": greedy, "continuation_tokens": conttok})
            if [q["context"] for q in reqs] != [ctx] * len(choices) or \
                    [q["continuation"] for q in reqs] != [delim + c for c in choices]:
                mismatches.append(f"doc {i}: lm-eval's requests differ from our rendering")
            target = s.get("target")
            if (choices.index(target) if isinstance(target, str) and target in choices
                    else target) != gold:
                mismatches.append(f"doc {i}: lm-eval target {target!r} != ours {gold}")
            out_docs.append({
                "doc_index": i, "line": lines[i], "gold": gold, "target": target,
                "acc": s.get("acc"), "acc_norm": s.get("acc_norm"),
                "context_tokens": ctx_tokens, "requests": reqs,
            })
        n_reqs = sum(len(d["requests"]) for d in out_docs)
        timing = {"runs": runs,
                  "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
                  "note": TIMING_NOTE}
        set_best(timing)
        out = {
            "what": "lm-evaluation-harness on a libllmcore task file: the reference for evalh "
                    "parity (scripts/lm_eval_parity.py; see scripts/lm_eval_parity.md)",
            "versions": versions,
            "model": {"file": model.name, "sha256": model_sha, "model_args": shown_model_args,
                      "load_s": round(load_s, 2)},
            "task": {"name": spec["name"], "file": shown_path(path),
                     "sha256": sha256_file(path), "docs": spec["docs"],
                     "docs_sha256": sha256_file(Path(path).parent / spec["docs"]),
                     "lm_eval_yaml": {**cfg, "dataset_kwargs": {"data_files": {
                         "test": shown_path(cfg["dataset_kwargs"]["data_files"]["test"])}}}},
            "limit": args.limit,
            "num_docs": len(out_docs),
            "num_requests": n_reqs,
            "acc": r.get("acc,none"),
            "acc_norm": r.get("acc_norm,none"),
            "boundary": boundary,
            "rendering_matches_ours": not mismatches,
            "mismatches": mismatches[:50],
            "timing": timing,
            "docs": out_docs,
        }
        write_output(dest, out)
        best = timing["best"]
        print(f"{spec['name']}: acc {out['acc']} acc_norm {out['acc_norm']} "
              f"({len(out_docs)} docs, {n_reqs} requests); best "
              f"{best['requests_per_s']} req/s at batch {best['batch_size']}; "
              f"{'renders as ours' if not mismatches else f'{len(mismatches)} MISMATCHES'}; "
              f"wrote {dest} ({dest.stat().st_size // 1024} KiB)")
        if any(not math.isfinite(q["loglikelihood"]) for d in out_docs for q in d["requests"]):
            print(f"{spec['name']}: non-finite log-likelihoods!", file=sys.stderr)


TIMING_NOTE = (
    "eval_wall_s times lm.loglikelihood (tokenizing + forwards) inside simple_evaluate; model "
    "load excluded; simple_evaluate_wall_s adds task/dataset building. model_calls/forward_rows "
    "count the forwards lm-eval ran (its logits cache scores one-token choices sharing a "
    "context from one row). loadavg shows what else ran on the machine; omp_wait_policy null "
    "is libgomp's default (spinning) wait.")


def set_best(timing):
    best = max(timing["runs"], key=lambda x: x["requests_per_s"] or 0)
    timing["best"] = {k: best.get(k) for k in (
        "requests_per_s", "batch_size", "torch_threads", "omp_wait_policy")}


def write_output(dest, out):
    # One line per document keeps the file small and diffable.
    head = json.dumps({**out, "docs": "@DOCS@"}, indent=1, ensure_ascii=False)
    body = ",\n".join("  " + json.dumps(d, ensure_ascii=False) for d in out["docs"])
    dest.write_text(head.replace('"@DOCS@"', "[\n" + body + "\n ]") + "\n")
    json.loads(dest.read_text())

if __name__ == "__main__":
    main()
