#!/usr/bin/env bash
# Benchmark of the recomputation planner (llmcore schedule): simulated step time and peak
# memory per stage of every policy, and the search time of Lynx-OPT and Lynx-HEU, for GPT 1.3B
# to 20B on the A100-80GB preset, sequence 2048, 32 micro-batches per step.
# Usage: scripts/bench-sched.sh [MEMORY_GB]   (default 80)
# Prints Markdown tables (for the Lynx section of BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
MEM="${1:-80}"
cargo build --release -q -p llmcore-cli
BIN=target/release/llmcore
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  commit: $(git rev-parse --short HEAD)"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') ($(nproc) CPUs)"
echo "budget: ${MEM} GB per GPU; all step times and memory are simulated"
echo
for cfg in "gpt-1.3b 2 2 16" "gpt-2.7b 4 2 16" "gpt-6.7b 8 2 16" "gpt-13b 8 4 8" "gpt-20b 8 4 8"; do
  set -- $cfg
  "$BIN" schedule --model "$1" --hardware a100 --tp "$2" --pp "$3" --micro-batch "$4" \
    --global-batch $((32 * $4)) --seq 2048 --memory-gb "$MEM" --policy all --json \
    > "$OUT/$1.json"
done
python3 - "$OUT" <<'PY'
import json, os, re, sys
policies = ["none", "full", "selective", "checkmate", "opt", "heu"]
runs = []
for model in ["gpt-1.3b", "gpt-2.7b", "gpt-6.7b", "gpt-13b", "gpt-20b"]:
    rows = {r["policy"]: r for r in json.load(open(os.path.join(sys.argv[1], model + ".json")))["policies"]}
    t = rows["heu"]["plan"]["training"]
    runs.append((model, "%dx%d, b=%d" % (t["tp"], t["pp"], t["micro_batch"]), rows))
def ok(r):
    return "error" not in r
print("| model | tp x pp, micro-batch | " + " | ".join(policies) + " | search opt | search heu | opt/heu search | heu vs opt |")
print("|---|---|" + "---|" * (len(policies) + 4))
for model, layout, rows in runs:
    steps = ["%.3f s" % rows[p]["plan"]["iteration_s"] if ok(rows[p]) else "does not fit" for p in policies]
    o, h = rows["opt"], rows["heu"]
    gap = "%+.2f%%" % (100 * (h["plan"]["iteration_s"] / o["plan"]["iteration_s"] - 1)) if ok(o) and ok(h) else "-"
    print("| %s | %s | %s | %.3g s | %.3g s | %.0fx | %s |" % (model, layout, " | ".join(steps),
          o["search_s"], h["search_s"], o["search_s"] / h["search_s"], gap))
print()
print("Peak memory per stage, GB (stage 0 first):")
print()
print("| model | " + " | ".join(policies) + " |")
print("|---|" + "---|" * len(policies))
for model, layout, rows in runs:
    def need(r):
        m = re.search(r"needs ([0-9.]+) GB on stage ([0-9]+)", r["error"])
        return "needs %s on stage %s" % m.groups() if m else "-"
    cells = [" ".join("%.1f" % s["peak_gb"] for s in rows[p]["plan"]["stages"]) if ok(rows[p]) else need(rows[p]) for p in policies]
    print("| %s | %s |" % (model, " | ".join(cells)))
PY
