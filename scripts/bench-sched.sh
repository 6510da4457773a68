#!/usr/bin/env bash
# Benchmark of the recomputation planner (llmcore schedule): simulated step time and peak
# memory per stage of every policy, and the search time of Lynx-OPT and Lynx-HEU, for GPT 1.3B
# to 20B on the A100-80GB preset, sequence 2048, 32 micro-batches per step.
# Usage: scripts/bench-sched.sh [MEMORY_GB]   (default 80)
# Prints a Markdown table (the BENCHMARKS.md section is docs/benchmarks-lynx.md).
set -euo pipefail
cd "$(dirname "$0")/.."
MEM="${1:-80}"
cargo build --release -q -p llmcore-cli
BIN=target/release/llmcore
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  commit: $(git rev-parse --short HEAD)"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') ($(nproc) CPUs)"
echo "budget: ${MEM} GB per GPU; all step times and memory are simulated"
echo
echo "| model | tp x pp, micro-batch | none | full | selective | checkmate | opt | heu | peak GB per stage (opt / heu) | search opt | search heu | opt/heu search | heu vs opt |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for cfg in "gpt-1.3b 2 2 16" "gpt-2.7b 4 2 16" "gpt-6.7b 8 2 16" "gpt-13b 8 4 8" "gpt-20b 8 4 8"; do
  set -- $cfg
  "$BIN" schedule --model "$1" --hardware a100 --tp "$2" --pp "$3" --micro-batch "$4" \
    --global-batch $((32 * $4)) --seq 2048 --memory-gb "$MEM" --policy all --json |
  python3 -c '
import json, sys
model, tp, pp, b = sys.argv[1:5]
rows = {r["policy"]: r for r in json.load(sys.stdin)}
def step(p):
    r = rows[p]
    return "does not fit" if "error" in r else "%.3f s" % r["plan"]["iteration_s"]
def peaks(p):
    r = rows[p]
    return "-" if "error" in r else " ".join("%.1f" % s["peak_gb"] for s in r["plan"]["stages"])
o, h = rows["opt"], rows["heu"]
ratio = o["search_s"] / h["search_s"]
gap = "-" if "error" in o or "error" in h else "%+.2f%%" % (100 * (h["plan"]["iteration_s"] / o["plan"]["iteration_s"] - 1))
print("| %s | %sx%s, b=%s | %s | %s / %s | %.3g s | %.3g s | %.0fx | %s |" % (
    model, tp, pp, b, " | ".join(step(p) for p in ["none", "full", "selective", "checkmate", "opt", "heu"]),
    peaks("opt"), peaks("heu"), o["search_s"], h["search_s"], ratio, gap))
' "$1" "$2" "$3" "$4"
done
