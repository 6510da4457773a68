#!/usr/bin/env bash
# The pruning benchmark of BENCHMARKS.md, resumable: every run's result is a JSON file under
# bench/prune/ (committed), and a run whose file exists is skipped, so the script can be stopped
# at any point and started again (on another day, another machine) to finish the table.
#
#   scripts/bench-prune.sh [main|calib|sparse|all]   (default all; THREADS=2; NICE=10)
#   scripts/bench-prune.sh table                 the tables and the plot from what is there
#
# main  (SmolLM2-135M, ../shared/ASSETS.md's splits): calibration 64 windows x 512 tokens from
#       the in-domain corpus (the five Austen novels other than Persuasion), evaluation on the
#       fixed held-out slice (the first 32 windows of 512 of Persuasion, exact path, second
#       half of each window scored); dense, then magnitude, Wanda, SparseGPT and FISTA at 50%,
#       2:4, 4:8, 70% and 70% with OWL (5, 0.08); each method's wall time, next to one dense
#       exact forward over 64 windows of 512 tokens of the same corpus (same token count).
# calib (the paper's calibration study): 32 x 512, an 8k-token slice (16 windows of 512 of
#       Persuasion); Wanda at 50%, 2:4 and 70% (seeds 0 and 1) and SparseGPT at 2:4 (seed 0),
#       calibrated on Austen, Shakespeare, KJV, the Python docs, random tokens and text the model
#       generated itself (seeds: the first 2 tokens of 500 paragraphs of all English corpora).
# sparse (the sparse kernels, same run): decode and prefill tokens/s (cargo bench --bench
#       runtime) of the Wanda 50% and 2:4 models in each sparse format (unstructured-/2:4- with
#       q4, q8 and f16 values) against dense Q4_1 (the original model) and dense f16 (the pruned
#       model as written), and the perplexity of each format on the held-out slice (the cost of
#       quantizing the kept values).
#
# The pruned models are written as f16 (exact zeros) to $WORK (default ~/.cache/llmcore/bench-
# prune) and removed once scored. Each result records the date, the CPU, the SIMD level and the
# load before the run, as a row of BENCHMARKS.md needs.
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT=${1:-all}
THREADS=${THREADS:-2}
NICE=${NICE:-10}
MODEL=${MODEL:-assets/models/SmolLM2-135M-Instruct.Q4_1.gguf}
A=${LLMCORE_ASSETS:-assets}/corpora
WORK=${WORK:-$HOME/.cache/llmcore/bench-prune}
OUT=bench/prune
BIN=target/release/llmcore
mkdir -p "$WORK" "$OUT/main" "$OUT/calib" "$OUT/sparse"
# The Wanda 50% and 2:4 models stay for the sparse section.
KEEP="wanda-50 wanda-2-4"

if [ "$WHAT" = table ]; then
	exec python3 scripts/bench_prune_table.py "$OUT"
fi

cargo build --release -p llmcore-cli >/dev/null
llm() { nice -n "$NICE" "$BIN" "$@" --threads "$THREADS"; }
simd=$("$BIN" info "$MODEL" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["simd"])')
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)

# The corpora: in-domain calibration, the held-out text.
indomain=$WORK/austen-in-domain.txt
if [ ! -s "$indomain" ]; then
	cat "$A"/austen-{emma,mansfield-park,northanger-abbey,pride-and-prejudice,sense-and-sensibility}.txt >"$indomain.tmp"
	mv "$indomain.tmp" "$indomain"
fi
heldout=$A/austen-persuasion.txt

# result FILE CMD...: runs CMD (which prints one JSON object) unless FILE exists, then writes
# FILE atomically with the run's context added.
result() {
	local file=$1
	shift
	if [ -s "$file" ]; then
		echo "skip $(basename "$file") (done)"
		return
	fi
	echo "run  $(basename "$file")"
	local load json
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	json=$("$@")
	python3 - "$file" "$json" "$simd" "$cpu" "$load" "$THREADS" <<'PY'
import json, os, sys, time
path, data, simd, cpu, load, threads = sys.argv[1:]
d = json.loads(data)
d.update(date=time.strftime("%Y-%m-%d", time.gmtime()), simd=simd, cpu=cpu,
         load_before=load, threads=int(threads))
with open(path + ".tmp", "w") as f:
    json.dump(d, f, indent=1, sort_keys=True)
    f.write("\n")
os.replace(path + ".tmp", path)
PY
}

# ppl MODEL TEXT WINDOWS: perplexity JSON of the fixed slice.
ppl() { llm perplexity --model "$1" --text "$2" --ctx 512 --max-windows "$3" --exact --json; }

# pruned NAME WINDOWS EVAL_WINDOWS CALIB SEED ARGS...: prunes, scores the model, prints both.
pruned() {
	local name=$1 n=$2 evalw=$3 calib=$4 seed=$5
	shift 5
	local model=$WORK/$name.gguf
	local pj qj
	pj=$(llm prune --model "$MODEL" "$@" --calib "$calib" --nsamples "$n" --seqlen 512 \
		--seed "$seed" --format f16 --out "$model" --force --json)
	qj=$(ppl "$model" "$heldout" "$evalw")
	case " ${KEEP:-} " in
	*" $name "*) ;;
	*) rm -f "$model" ;;
	esac
	python3 - "$pj" "$qj" <<'PY'
import json, sys
p, q = json.loads(sys.argv[1]), json.loads(sys.argv[2])
p.pop("matrices", None)
p.pop("out", None)
p["ppl"], p["eval_tokens_scored"] = q["ppl"], q["tokens_scored"]
print(json.dumps(p))
PY
}

# method ARGS, for a method name as the tables use it.
method_args() {
	case "$1" in
	magnitude) echo "--method magnitude" ;;
	wanda) echo "--method wanda" ;;
	sparsegpt) echo "--method sparsegpt" ;;
	fista) echo "--method fista" ;;
	esac
}
pattern_args() {
	case "$1" in
	50) echo "--sparsity 0.5" ;;
	2-4) echo "--nm 2:4" ;;
	4-8) echo "--nm 4:8" ;;
	70) echo "--sparsity 0.7" ;;
	70-owl) echo "--sparsity 0.7 --owl 5,0.08" ;;
	esac
}

if [ "$WHAT" = main ] || [ "$WHAT" = all ]; then
	result "$OUT/main/dense.json" ppl "$MODEL" "$heldout" 32
	# One dense exact forward over as many calibration tokens as the pruning runs see.
	result "$OUT/main/dense-forward-64x512.json" llm perplexity --model "$MODEL" --text "$indomain" \
		--ctx 512 --max-windows 64 --exact --score all --json
	# Most telling first: the 50% and 2:4 comparisons, then the rest.
	for pm in wanda:50 sparsegpt:50 fista:50 wanda:2-4 sparsegpt:2-4 fista:2-4 \
		magnitude:50 magnitude:2-4 \
		wanda:4-8 sparsegpt:4-8 wanda:70 wanda:70-owl sparsegpt:70 sparsegpt:70-owl \
		magnitude:4-8 magnitude:70 magnitude:70-owl fista:4-8 fista:70 fista:70-owl; do
		m=${pm%%:*} pat=${pm#*:}
		# shellcheck disable=SC2046
		result "$OUT/main/$m-$pat.json" pruned "$m-$pat" 64 32 "file:$indomain" 0 \
			$(method_args "$m") $(pattern_args "$pat")
	done
fi

if [ "$WHAT" = sparse ] || [ "$WHAT" = all ]; then
	cargo build --release --bench runtime >/dev/null 2>&1 || cargo bench --bench runtime --no-run
	speed() { nice -n "$NICE" cargo bench --bench runtime -- --threads "$THREADS" "$1" 2>/dev/null | grep '^{'; }
	sparse_run() {
		local model=$1 kind=$2 s q
		s=$(speed "$model${kind:+@$kind}")
		q=$(llm perplexity --model "$model" --text "$heldout" --ctx 512 --max-windows 32 --exact \
			${kind:+--sparse "$kind"} --json)
		python3 -c 'import json,sys; s,q=json.loads(sys.argv[1]),json.loads(sys.argv[2]); s["ppl"]=q["ppl"]; print(json.dumps(s))' "$s" "$q"
	}
	result "$OUT/sparse/dense-q4_1.json" sparse_run "$MODEL" ""
	for pm in wanda:50:unstructured wanda:2-4:2:4; do
		IFS=: read -r m pat structure extra <<<"$pm"
		[ -n "${extra:-}" ] && structure=$structure:$extra
		model=$WORK/$m-$pat.gguf
		if [ ! -s "$model" ]; then
			# shellcheck disable=SC2046
			llm prune --model "$MODEL" $(method_args "$m") $(pattern_args "$pat") --calib "file:$indomain" \
				--nsamples 64 --seqlen 512 --seed 0 --format f16 --out "$model" --force --json >/dev/null
		fi
		result "$OUT/sparse/$m-$pat-dense-f16.json" sparse_run "$model" ""
		for values in q4 q8 f16; do
			result "$OUT/sparse/$m-$pat-${structure/:/-}-$values.json" sparse_run "$model" "$structure-$values"
		done
	done
fi

if [ "$WHAT" = calib ] || [ "$WHAT" = all ]; then
	selfgen=$WORK/selfgen-500.json
	if [ ! -s "$selfgen" ]; then
		seeds=$WORK/english-paragraphs.txt
		cat "$A"/austen-*.txt "$A"/shakespeare.txt "$A"/kjv.txt "$A"/python-docs.txt \
			"$A"/python-tutorial.txt >"$seeds"
		llm calib selfgen --model "$MODEL" --seeds-from "$seeds" --n 500 --len 512 \
			--out "$selfgen" --json >/dev/null
	fi
	for src in austen shakespeare kjv python-docs random selfgen; do
		case "$src" in
		austen) calib=file:$indomain ;;
		random) calib=random ;;
		selfgen) calib=selfgen:$selfgen ;;
		*) calib=file:$A/$src.txt ;;
		esac
		for seed in 0 1; do
			for pat in 50 2-4 70; do
				# shellcheck disable=SC2046
				result "$OUT/calib/$src-wanda-$pat-s$seed.json" pruned "c-$src-wanda-$pat" 32 16 \
					"$calib" "$seed" --method wanda $(pattern_args "$pat")
			done
		done
		# shellcheck disable=SC2046
		result "$OUT/calib/$src-sparsegpt-2-4-s0.json" pruned "c-$src-sparsegpt" 32 16 \
			"$calib" 0 --method sparsegpt --nm 2:4
	done
	result "$OUT/calib/dense-8k.json" ppl "$MODEL" "$heldout" 16
fi
python3 scripts/bench_prune_table.py "$OUT"
