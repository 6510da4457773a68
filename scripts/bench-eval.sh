#!/usr/bin/env bash
# The evaluation benchmarks of BENCHMARKS.md, resumable: each run's results file goes under
# bench/eval/results/ (committed); a run whose file exists is skipped.
#
#   scripts/bench-eval.sh [suites|pruned|throughput|all]   (default all; THREADS=2; NICE=10)
#
# suites      each model present under assets/models (SmolLM2-135M, Qwen2.5-Coder-0.5B and,
#             after scripts/fetch-assets.sh --qwen-target, -1.5B) on tasks/exam (first
#             EXAM_LIMIT docs per task, default 100) and tasks/syneval (SYN_LIMIT, default 20,
#             5-shot), fast path; then the tables and the SynEval plot per knowledge point
#             (llmcore eval compare --plot) under bench/eval/.
# pruned      SmolLM2-135M pruned by magnitude, Wanda and SparseGPT to 50%, 2:4 and 70% (and
#             Wanda with OWL at 70%), calibrated on 32 windows x 512 tokens (seed 0) of the five
#             Austen novels other than Persuasion (scripts/bench-prune.sh's in-domain set), written
#             as f16 under $WORK (default /tmp/llmcore-bench-eval, not committed), each on tasks/exam
#             (EXAM_LIMIT docs per task) next to the dense model; table and plot per task.
# throughput  requests/s of lm-eval (scripts/lm_eval_parity.py in $VENV with its best settings
#             measured here: batch 32, OMP_WAIT_POLICY=PASSIVE, THREADS threads) and of llmcore eval
#             (fast and exact paths) on kjv_book and austen_novel, 100 docs each, one after the
#             other in this run; written to bench/eval/results/throughput-*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT=${1:-all}
THREADS=${THREADS:-2}
NICE=${NICE:-10}
EXAM_LIMIT=${EXAM_LIMIT:-100}
SYN_LIMIT=${SYN_LIMIT:-20}
VENV=${VENV:-/tmp/lmeval-venv}
OUT=bench/eval/results
WORK=${WORK:-/tmp/llmcore-bench-eval}
mkdir -p "$OUT"
cargo build --release -p llmcore-cli >/dev/null
BIN="${CARGO_TARGET_DIR:-target}/release/llmcore"
simd=$(grep -qw avx512_vnni /proc/cpuinfo && echo avx512-vnni || (grep -qw avx2 /proc/cpuinfo && echo avx2 || echo portable))

# One eval run, skipped when its results file exists: run_eval RESULTS.json MODEL SUITE LIMIT.
run_eval() {
  local f=$1 gguf=$2 suite=$3 limit=$4
  [ -f "$f" ] && { echo "have $f"; return; }
  echo "== $(basename "$gguf") on $suite (limit $limit, $simd, load $(cut -d' ' -f1 /proc/loadavg))"
  nice -n "$NICE" "$BIN" eval --model "$gguf" --tasks "$suite" --limit "$limit" --threads "$THREADS" \
    --out "$f.partial" --samples > "${f%.json}.txt"
  mv "$f.partial" "$f"
  cat "${f%.json}.txt"
}

suites() {
  for m in SmolLM2-135M-Instruct.Q4_1 Qwen2.5-Coder-0.5B-Instruct Qwen2.5-Coder-1.5B-Instruct; do
    gguf="assets/models/$m.gguf"
    [ -f "$gguf" ] || { echo "skip $m (not fetched)"; continue; }
    for suite in exam syneval; do
      limit=$EXAM_LIMIT; [ "$suite" = syneval ] && limit=$SYN_LIMIT
      run_eval "$OUT/$suite-$m.json" "$gguf" "$suite" "$limit"
    done
  done
  for suite in exam syneval; do
    files=$(ls "$OUT"/$suite-*.json 2>/dev/null | paste -sd, -)
    [ -n "$files" ] || continue
    labels=$(ls "$OUT"/$suite-*.json | sed -E "s#.*/$suite-##; s#-Instruct.*##" | paste -sd, -)
    metrics="acc"; [ "$suite" = syneval ] && metrics="exact_match lcs_f1"
    for metric in $metrics; do
      "$BIN" eval compare --results "$files" --labels "$labels" --metric "$metric" \
        --plot "bench/eval/$suite-$metric.svg" > "bench/eval/$suite-$metric.txt"
      cat "bench/eval/$suite-$metric.txt"
    done
  done
}

pruned() {
  local base=SmolLM2-135M-Instruct.Q4_1 dir=$OUT/pruned
  mkdir -p "$WORK" "$dir"
  local indomain=$WORK/austen-in-domain.txt
  [ -f "$indomain" ] || cat assets/corpora/austen-{emma,mansfield-park,northanger-abbey,pride-and-prejudice,sense-and-sensibility}.txt > "$indomain"
  run_eval "$OUT/exam-$base.json" "assets/models/$base.gguf" exam "$EXAM_LIMIT"
  local files="$OUT/exam-$base.json" labels=dense
  for run in magnitude:50 magnitude:2-4 magnitude:70 wanda:50 wanda:2-4 wanda:70 wanda-owl:70 \
             sparsegpt:50 sparsegpt:2-4 sparsegpt:70; do
    local m=${run%%:*} pat=${run#*:} args
    case $m in wanda-owl) args="--method wanda --owl 5,0.08" ;; *) args="--method $m" ;; esac
    case $pat in 2-4) args="$args --nm 2:4" ;; *) args="$args --sparsity 0.$pat" ;; esac
    local model=$WORK/$m-$pat.gguf f=$dir/exam-$m-$pat.json
    if [ ! -f "$f" ] && [ ! -f "$model" ]; then
      echo "== prune $m $pat (load $(cut -d' ' -f1 /proc/loadavg))"
      # shellcheck disable=SC2086
      nice -n "$NICE" "$BIN" prune --model "assets/models/$base.gguf" $args --calib "file:$indomain" \
        --nsamples 32 --seqlen 512 --seed 0 --format f16 --threads "$THREADS" --out "$model" --force
    fi
    run_eval "$f" "$model" exam "$EXAM_LIMIT"
    files="$files,$f"; labels="$labels,$m-$pat"
  done
  "$BIN" eval compare --results "$files" --labels "$labels" --metric acc --by task \
    --plot bench/eval/pruned-exam-acc.svg > bench/eval/pruned-exam-acc.txt
  cat bench/eval/pruned-exam-acc.txt
}

throughput() {
  local stamp; stamp=$(date -u +%Y%m%dT%H%M)
  local f="$OUT/throughput-$stamp.json"
  echo "== lm-eval (load $(cut -d' ' -f1 /proc/loadavg))"
  "$VENV/bin/python" scripts/lm_eval_parity.py \
    --task tasks/exam/kjv_book.json --task tasks/exam/austen_novel.json \
    --model assets/models/SmolLM2-135M-Instruct.Q4_1.gguf --limit 100 \
    --out "$OUT/lm_eval-$stamp" --batch-sizes 32 --omp-wait-policy PASSIVE --threads "$THREADS"
  for t in kjv_book austen_novel; do
    for path in fast exact; do
      flag=""; [ $path = exact ] && flag="--exact"
      echo "== llmcore eval $t $path (load $(cut -d' ' -f1 /proc/loadavg))"
      "$BIN" eval --model assets/models/SmolLM2-135M-Instruct.Q4_1.gguf \
        --tasks "tasks/exam/$t.json" --limit 100 --threads "$THREADS" $flag --json > "$OUT/ours-$stamp-$t-$path.json"
    done
  done
  python3 - "$OUT" "$stamp" "$simd" "$THREADS" > "$f" <<'PY'
import json, sys
out, stamp, simd, threads = sys.argv[1:5]
rows = []
for t in ["kjv_book", "austen_novel"]:
    ref = json.load(open(f"{out}/lm_eval-{stamp}/{t}.json"))
    peer = max(ref["timing"]["runs"], key=lambda r: r["requests_per_s"])
    for path in ["fast", "exact"]:
        ours = json.load(open(f"{out}/ours-{stamp}-{t}-{path}.json"))
        rows.append({"task": t, "path": path, "requests": ours["requests"],
                     "ours_requests_per_s": ours["requests_per_s"],
                     "lm_eval_requests_per_s": peer["requests_per_s"],
                     "lm_eval_batch_size": peer["batch_size"],
                     "ratio": ours["requests_per_s"] / peer["requests_per_s"]})
json.dump({"date": stamp, "simd": simd, "threads": int(threads), "rows": rows}, sys.stdout, indent=1)
PY
  cat "$f"
}

case "$WHAT" in
  suites) suites ;;
  throughput) throughput ;;
  pruned) pruned ;;
  all) throughput; suites; pruned ;;
  *) echo "usage: $0 [suites|pruned|throughput|all]" >&2; exit 2 ;;
esac
