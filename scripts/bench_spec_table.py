#!/usr/bin/env python3
"""The speculative-decoding benchmark's parsers and BENCHMARKS.md tables (scripts/bench-spec.sh).

    python3 scripts/bench_spec_table.py table bench/spec/results        # markdown on stdout
    python3 scripts/bench_spec_table.py parse-llama PROMPTS.jsonl LOGDIR [--temperature T]
        [--draft-max N] [--parallel N] [--target M] [--draft D] [--build VERSION]
    python3 scripts/bench_spec_table.py parse-llama-bench BENCH.json [--target M]

parse-llama reads LOGDIR/<id>.<run>.log, the output (stdout and stderr together) of one
llama-speculative run per prompt and repetition, and prints one JSON object shaped like
`llmcore speculate --json`'s: per prompt the median decode rate over the runs ("decoded N tokens
in T seconds, speed: X t/s"), drafted and accepted tokens summed over the runs (n_drafted,
n_accept), the acceptance length (tokens per target step: n_predict / (n_predict - n_accept),
every step emits the accepted drafts and one target token) and the acceptance rate
(n_accept / n_drafted; with -np 1 n_drafted counts tokens, with -np > 1 draft steps).
parse-llama-bench turns llama-bench -o json (tg runs at several depths) into the plain rates.

The tables read every result file under the directory, missing runs show as "-":
<pair>-<tree>-t<temp>.json (budget auto), <pair>-<tree>-b8-t0.json (budget 8),
llama-speculative-t<temp>.json and llama-plain.json.
"""
import argparse
import glob
import json
import os
import re
import statistics
import sys

PAIRS = [("qwen", "Qwen2.5-Coder 1.5B / 0.5B"), ("smol-self", "SmolLM2-135M / own 8 layers"),
         ("smol-ngram", "SmolLM2-135M / 3-gram")]
TREES = ["opt", "chain", "eagle", "sequoia"]
TEMPS = ["0", "0.8"]
KINDS = ["code", "prose", "repeat", "all"]


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---- llama-speculative's output ----

NUM = r"([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
PATTERNS = {
    "encoded": re.compile(r"encoded\s+(\d+) tokens in\s+%s seconds, speed:\s+%s t/s" % (NUM, NUM)),
    "decoded": re.compile(r"decoded\s+(\d+) tokens in\s+%s seconds, speed:\s+%s t/s" % (NUM, NUM)),
    "n_draft": re.compile(r"\bn_draft\s+=\s+(\d+)"),
    "n_predict": re.compile(r"\bn_predict\s+=\s+(\d+)"),
    "n_drafted": re.compile(r"\bn_drafted\s+=\s+(\d+)"),
    "n_accept": re.compile(r"\bn_accept\s+=\s+(\d+)"),
    "accept": re.compile(r"(?<![\w])accept\s+=\s+%s%%" % NUM),
}


def parse_llama_log(text):
    """The numbers of one llama-speculative (or llama-speculative-simple) run."""
    out = {}
    for key, pat in PATTERNS.items():
        m = None
        for m in pat.finditer(text):
            pass  # the last occurrence: the final report
        if m is None:
            continue
        if key in ("encoded", "decoded"):
            out[key] = {"tokens": int(m.group(1)), "seconds": float(m.group(2)),
                        "tokens_per_s": float(m.group(3))}
        elif key == "accept":
            out[key] = float(m.group(1)) / 100
        else:
            out[key] = int(m.group(1))
    missing = [k for k in ("encoded", "decoded", "n_predict", "n_drafted", "n_accept") if k not in out]
    if missing:
        raise ValueError("not a finished llama-speculative run (no %s)" % ", ".join(missing))
    return out


def parse_llama(args):
    prompts = [json.loads(line) for line in open(args.prompts) if line.strip()]
    rows = []
    for p in prompts:
        runs = []
        for path in sorted(glob.glob(os.path.join(args.logdir, "%s.*.log" % p["id"]))):
            with open(path, errors="replace") as f:
                try:
                    runs.append(parse_llama_log(f.read()))
                except ValueError as e:
                    sys.exit("%s: %s" % (path, e))
        if not runs:
            sys.exit("no llama-speculative logs for %s in %s" % (p["id"], args.logdir))
        predicted = sum(r["n_predict"] for r in runs)
        accepted = sum(r["n_accept"] for r in runs)
        drafted = sum(r["n_drafted"] for r in runs)
        steps = predicted - accepted
        rows.append({
            "id": p["id"], "kind": p["kind"],
            "prompt_tokens": runs[0]["encoded"]["tokens"],
            "runs": len(runs),
            "tokens": median([r["decoded"]["tokens"] for r in runs]),
            "spec_tokens_per_s": median([r["decoded"]["tokens_per_s"] for r in runs]),
            "spec_tokens_per_s_runs": [r["decoded"]["tokens_per_s"] for r in runs],
            "decode_seconds": median([r["decoded"]["seconds"] for r in runs]),
            "steps": steps, "drafted": drafted, "accepted": accepted,
            "mean_accepted_length": predicted / steps if steps else None,
            "accept_rate": accepted / drafted if drafted else None,
        })
    steps = sum(r["steps"] for r in rows)
    drafted = sum(r["drafted"] for r in rows)
    accepted = sum(r["accepted"] for r in rows)
    print(json.dumps({
        "tool": "llama-speculative", "llama_cpp_python": os.environ.get("LLAMA_CPP_PYTHON", "0.3.36"),
        "build": args.build, "target": args.target, "draft": args.draft,
        "temperature": float(args.temperature), "draft_max": args.draft_max,
        "parallel": args.parallel, "prompts": rows,
        "summary": {
            "spec_tokens_per_s_median": median([r["spec_tokens_per_s"] for r in rows]),
            "mean_accepted_length": (steps + accepted) / steps if steps else None,
            "accept_rate": accepted / drafted if drafted else None,
        },
    }))


def parse_llama_bench(args):
    with open(args.bench) as f:
        runs = json.load(f)
    depths = [{"depth": r.get("n_depth", 0), "n_gen": r["n_gen"], "tokens_per_s": r["avg_ts"],
               "stddev": r["stddev_ts"], "threads": r["n_threads"]}
              for r in runs if r["n_gen"] > 0 and r["n_prompt"] == 0]
    print(json.dumps({"tool": "llama-bench",
                      "llama_cpp_python": os.environ.get("LLAMA_CPP_PYTHON", "0.3.36"),
                      "build": runs[0].get("build_commit") if runs else None,
                      "cpu_info": runs[0].get("cpu_info") if runs else None,
                      "target": args.target, "depths": depths}))


# ---- tables ----

def load(root):
    out = {}
    for path in glob.glob(os.path.join(root, "*.json")):
        with open(path) as f:
            out[os.path.basename(path)[:-5]] = json.load(f)
    return out


def of_kind(d, kind):
    return [p for p in d["prompts"] if kind == "all" or p["kind"] == kind]


def stats(d, kind, plain_at=None):
    """Medians over the kind's prompts (rates, speedups) and pooled ratios (acceptance)."""
    ps = of_kind(d, kind)
    if not ps:
        return None
    if plain_at is not None:  # llama: plain rate from llama-bench at the prompt's depth
        for p in ps:
            p["plain_tokens_per_s"] = plain_at(p["prompt_tokens"])
            p["speedup"] = (p["spec_tokens_per_s"] / p["plain_tokens_per_s"]
                            if p["plain_tokens_per_s"] else None)
    steps = sum(p["steps"] for p in ps)
    drafted = sum(p["drafted"] for p in ps)
    accepted = sum(p["accepted"] for p in ps)
    match = [p.get("matches_plain") for p in ps]
    return {
        "n": len(ps),
        "plain": median([p.get("plain_tokens_per_s") for p in ps]),
        "spec": median([p["spec_tokens_per_s"] for p in ps]),
        "speedup": median([p.get("speedup") for p in ps]),
        "predicted": median([p.get("predicted_speedup") for p in ps]),
        "tau": (steps + accepted) / steps if steps else None,
        "rate": accepted / drafted if drafted else None,
        "match": None if any(m is None for m in match) else all(match),
    }


def fmt(x, f):
    return f % x if x is not None else "-"


def context(results):
    rows = [r for r in results.values() if "date" in r]
    if not rows:
        return "no results yet"
    j = lambda key: "/".join(sorted({str(r[key]) for r in rows if key in r}))
    loads = sorted({r["load_before"].split()[0] for r in rows if "load_before" in r})
    return "%s; %s; SIMD %s; threads %s; 1-minute load before each run %s..%s" % (
        j("date").replace("/", ", "), j("cpu"), j("simd"), j("threads"),
        loads[0] if loads else "?", loads[-1] if loads else "?")


def llama_plain_lookup(plain):
    if not plain or not plain.get("depths"):
        return None
    depths = sorted(plain["depths"], key=lambda d: d["depth"])
    return lambda n: min(depths, key=lambda d: abs(d["depth"] - n))["tokens_per_s"]


def table(args):
    res = load(args.root)
    plain_at = llama_plain_lookup(res.get("llama-plain"))
    llama_label = "llama-speculative"
    for t in TEMPS:
        d = res.get("llama-speculative-t%s" % t)
        if d:
            llama_label = "llama-speculative (%s, <= %d drafted%s)" % (
                "chain" if d.get("parallel", 1) == 1 else "tree",
                d.get("draft_max", 0),
                "" if d.get("parallel", 1) == 1 else ", %d branches" % d["parallel"])
    print("Speculative decoding (%s)\n" % context(res))
    n_prompts = sorted({len(r["prompts"]) for r in res.values() if "prompts" in r}) or [25]
    n_tokens = sorted({r["max_tokens"] for r in res.values() if "max_tokens" in r}) or [128]
    print("%s prompts (bench/spec/prompts.jsonl), %s new tokens, %s threads; tokens/s: median over "
          "prompts of each prompt's median over the repetitions (decode only); speedup: median of "
          "the per-prompt ratios to plain decoding in the same run; predicted: the cost model's; "
          "tau: tokens per target step (accepted + 1), pooled; acc: accepted / drafted, pooled; "
          "= plain: greedy output identical to plain greedy; vs llama: our tokens/s over "
          "llama-speculative's (Qwen pair, same kind and temperature). llama-speculative rows: "
          "its plain rate is llama-bench's decode rate at the prompt's depth, its speedup over that.\n"
          % ("/".join(map(str, n_prompts)), "/".join(map(str, n_tokens)),
             "/".join(sorted({str(r["threads"]) for r in res.values() if "threads" in r}) or ["2"])))
    head = ("| pair | tree | T | plain tok/s | spec tok/s | speedup | predicted | tau | acc | "
            "= plain | vs llama |")
    for kind in KINDS:
        print("#### %s\n" % ("All prompts" if kind == "all" else "%s prompts" % kind.capitalize()))
        print(head)
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for pair, label in PAIRS:
            for t in TEMPS:
                llama = res.get("llama-speculative-t%s" % t) if pair == "qwen" else None
                ls = stats(llama, kind, plain_at) if llama else None
                for tree in TREES:
                    d = res.get("%s-%s-t%s" % (pair, tree, t))
                    s = stats(d, kind) if d else None
                    if s is None:
                        print("| %s | %s | %s |" % (label, tree, t) + " - |" * 8)
                        continue
                    vs = (fmt(s["spec"] / ls["spec"], "%.2fx")
                          if ls and ls["spec"] and s["spec"] is not None else "-")
                    print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                        label, tree, t, fmt(s["plain"], "%.1f"), fmt(s["spec"], "%.1f"),
                        fmt(s["speedup"], "%.2fx"), fmt(s["predicted"], "%.2fx"),
                        fmt(s["tau"], "%.2f"), fmt(s["rate"] and 100 * s["rate"], "%.0f%%"),
                        {None: "-", True: "yes", False: "**no**"}[s["match"]], vs))
                if pair == "qwen":
                    if ls is None:
                        print("| %s | %s | %s |" % (label, llama_label, t) + " - |" * 8)
                    else:
                        print("| %s | %s | %s | %s | %s | %s | - | %s | %s | - | 1.00x |" % (
                            label, llama_label, t, fmt(ls["plain"], "%.1f"), fmt(ls["spec"], "%.1f"),
                            fmt(ls["speedup"], "%.2fx"), fmt(ls["tau"], "%.2f"),
                            fmt(ls["rate"] and 100 * ls["rate"], "%.0f%%")))
        print()

    # Equal budget: acceptance only.
    print("#### Equal budget: 8 draft nodes per step, temperature 0\n")
    print("tau (tokens per target step) by prompt kind, the acceptance rate and the speedup over "
          "all prompts, and the acceptance by rank (the probability that the target's token is "
          "the draft's k-th candidate, k = 1..4).\n")
    print("| pair | tree | tau code | tau prose | tau repeat | tau all | acc | speedup | "
          "acceptance by rank 1..4 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for pair, label in PAIRS:
        for tree in TREES:
            d = res.get("%s-%s-b8-t0" % (pair, tree))
            if not d:
                print("| %s | %s |" % (label, tree) + " - |" * 7)
                continue
            ss = {k: stats(d, k) for k in KINDS}
            ranks = d.get("acceptance_by_rank") or []
            print("| %s | %s | %s | %s | %s | %s |" % (
                label, tree, " | ".join(fmt(ss[k] and ss[k]["tau"], "%.2f") for k in KINDS),
                fmt(ss["all"]["rate"] and 100 * ss["all"]["rate"], "%.0f%%"),
                fmt(ss["all"]["speedup"], "%.2fx"),
                " / ".join("%.2f" % a for a in ranks[:4]) or "-"))
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("table")
    t.add_argument("root", nargs="?", default="bench/spec/results")
    p = sub.add_parser("parse-llama")
    p.add_argument("prompts")
    p.add_argument("logdir")
    p.add_argument("--temperature", default="0")
    p.add_argument("--draft-max", type=int, default=None)
    p.add_argument("--parallel", type=int, default=1)
    p.add_argument("--target")
    p.add_argument("--draft")
    p.add_argument("--build", help="the tool's --version line")
    b = sub.add_parser("parse-llama-bench")
    b.add_argument("bench")
    b.add_argument("--target")
    args = ap.parse_args()
    {"table": table, "parse-llama": parse_llama, "parse-llama-bench": parse_llama_bench}[args.cmd](args)


if __name__ == "__main__":
    main()
