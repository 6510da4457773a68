#!/usr/bin/env bash
# The training benchmark of BENCHMARKS.md, resumable: each run's result is one JSON file (and
# its loss curve as CSV + SVG) under bench/train/results/ (committed); a run whose JSON exists is
# skipped, so the script can be stopped and started again to finish.
#
#   scripts/bench-train.sh [scratch|finetune|peer|all]   (default all; THREADS=2, NICE=10)
#
# scratch  bench/train/austen-28m.json (LLaMA-shaped, 28.3M parameters, tied head, the SmolLM2
#          tokenizer) trained from the same seed on the Austen novels except Persuasion and
#          validated on Persuasion, every optimizer on the same token budget (STEPS x BATCH x
#          SEQ, default 1500 x 8 x 128 = 1.5M tokens; lr 3e-3, warm-up 100, cosine to 0.1):
#          adamw, adafactor, came, adapprox (first moment on), adapprox-nom (off). Each JSON
#          holds the curve, the final held-out loss, the optimizer state bytes (per tensor, with
#          Adapprox's ranks) and the mean step time.
# finetune SmolLM2-135M fine-tuned on Persuasion's first 90% (held-out: the rest) with AdamW
#          and Adapprox, FT_STEPS steps of 4 x 128, lr 1e-4: state bytes and loss.
# peer     PyTorch CPU eager's step (forward, backward, clip, AdamW) of the same 28M shape at
#          the same batch (scripts/bench_train_torch.py, venv in $VENV, torch from PyPI), and
#          ours measured the same way in the same run (PEER_STEPS timed steps after one).
#
# Every result records the date, the CPU, the SIMD level, the threads and the load. Logs and
# the concatenated corpus: $WORK (default ~/.cache/llmcore/bench-train).
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT=${1:-all}
THREADS=${THREADS:-2}
NICE=${NICE:-10}
STEPS=${STEPS:-1500}
BATCH=${BATCH:-8}
SEQ=${SEQ:-128}
FT_STEPS=${FT_STEPS:-100}
PEER_STEPS=${PEER_STEPS:-5}
A=${LLMCORE_ASSETS:-assets}
TOK=$A/models/SmolLM2-135M-Instruct.Q4_1.gguf
CONFIG=bench/train/austen-28m.json
OUT=${RESULTS:-bench/train/results}
WORK=${WORK:-$HOME/.cache/llmcore/bench-train}
VENV=${VENV:-$WORK/venv}
BIN=target/release/llmcore
mkdir -p "$OUT" "$WORK"
cargo build --release -p llmcore-cli >/dev/null
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
simd=$("$BIN" info "$TOK" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["simd"])')
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $cpu, $(nproc) cores, threads=$THREADS, SIMD $simd"

TRAIN_TXT=$WORK/austen-train.txt
if [ ! -s "$TRAIN_TXT" ]; then
	for b in emma mansfield-park northanger-abbey pride-and-prejudice sense-and-sensibility; do
		cat "$A/corpora/austen-$b.txt"
		printf '\n\n'
	done >"$TRAIN_TXT.partial"
	mv "$TRAIN_TXT.partial" "$TRAIN_TXT"
fi
VALID_TXT=$A/corpora/austen-persuasion.txt

# record NAME JSON COMMAND...: the run's JSON with the machine's facts, atomically.
record() {
	local name=$1 json=$2
	shift 2
	python3 - "$OUT/$name.json" "$json" "$simd" "$cpu" "$THREADS" "$*" <<'PY'
import json, os, sys, time
path, data, simd, cpu, threads, command = sys.argv[1:]
d = json.loads(data)
d.update(date=time.strftime("%Y-%m-%d", time.gmtime()), simd=simd, cpu=cpu, threads=int(threads),
         load_after=" ".join(open("/proc/loadavg").read().split()[:3]), command=command)
tmp = path + ".partial"
json.dump(d, open(tmp, "w"), indent=1)
os.replace(tmp, path)
PY
}

train_run() { # NAME ARGS...
	local name=$1
	shift
	if [ -s "$OUT/$name.json" ]; then
		echo "skip $name (done)"
		return
	fi
	echo "run $name"
	local cmd=(nice -n "$NICE" "$BIN" train --threads "$THREADS" --curve "$OUT/$name.csv" --json "$@")
	local json
	json=$("${cmd[@]}" 2>"$WORK/$name.log")
	record "$name" "$json" "${cmd[@]}"
}

scratch() {
	local common=(--config "$CONFIG" --tokenizer "$TOK" --data "$TRAIN_TXT" --valid-data "$VALID_TXT"
		--steps "$STEPS" --batch "$BATCH" --seq "$SEQ" --lr 3e-3 --warmup 100 --min-lr-ratio 0.1
		--eval-every 100 --eval-windows 64 --seed 0)
	train_run scratch-adamw "${common[@]}" --optimizer adamw
	train_run scratch-adafactor "${common[@]}" --optimizer adafactor
	train_run scratch-came "${common[@]}" --optimizer came
	train_run scratch-adapprox "${common[@]}" --optimizer adapprox
	train_run scratch-adapprox-nom "${common[@]}" --optimizer adapprox --no-first-moment
}

finetune() {
	local common=(--init-from "$TOK" --data "$VALID_TXT" --holdout 0.1 --steps "$FT_STEPS" --batch 4
		--seq 128 --lr 1e-4 --warmup 10 --eval-every 25 --eval-windows 32 --checkpoint --seed 0)
	train_run finetune-adamw "${common[@]}" --optimizer adamw
	train_run finetune-adapprox "${common[@]}" --optimizer adapprox
}

peer() {
	if [ -s "$OUT/peer.json" ]; then
		echo "skip peer (done)"
		return
	fi
	if [ ! -x "$VENV/bin/python" ]; then
		python3 -m venv "$VENV"
		"$VENV/bin/pip" install -q torch numpy
	fi
	local torch ours
	torch=$(nice -n "$NICE" "$VENV/bin/python" scripts/bench_train_torch.py --config "$CONFIG" \
		--batch "$BATCH" --seq "$SEQ" --steps "$PEER_STEPS" --warmup 1 --threads "$THREADS" 2>"$WORK/peer-torch.log")
	nice -n "$NICE" "$BIN" train --threads "$THREADS" --config "$CONFIG" --tokenizer "$TOK" \
		--data "$TRAIN_TXT" --valid-data "$VALID_TXT" --optimizer adamw --steps $((PEER_STEPS + 1)) \
		--batch "$BATCH" --seq "$SEQ" --eval-every 0 --curve "$WORK/peer-ours.csv" --json \
		>"$WORK/peer-ours.json" 2>"$WORK/peer-ours.log"
	ours=$(python3 - "$WORK/peer-ours.csv" <<'PY'
import csv, json, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))[1:]  # the first step is the warm-up
s = [float(r["seconds"]) for r in rows]
print(json.dumps({"median_step_seconds": statistics.median(s), "mean_step_seconds": statistics.mean(s), "steps_timed": len(s)}))
PY
)
	record peer "{\"pytorch\": $torch, \"llmcore\": $ours}" "bench_train_torch.py vs llmcore train, adamw, batch $BATCH x $SEQ"
}

case "$WHAT" in
scratch) scratch ;;
finetune) finetune ;;
peer) peer ;;
all) peer && scratch && finetune ;;
*)
	echo "usage: $0 [scratch|finetune|peer|all]" >&2
	exit 2
	;;
esac
