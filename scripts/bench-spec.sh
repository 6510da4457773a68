#!/usr/bin/env bash
# The speculative-decoding benchmark of BENCHMARKS.md, resumable: every configuration's result
# is one JSON file under bench/spec/results/ (committed), and a configuration whose file exists
# is skipped, so the script can be stopped at any point and started again to finish the tables.
#
#   scripts/bench-spec.sh [smol|qwen|llama|all]   (default all; THREADS=2, REPEAT=5, NICE=10)
#   scripts/bench-spec.sh table                   the tables from what is there
#   (PROMPTS=bench/spec/prompts.jsonl, RESULTS=bench/spec/results, MAX_TOKENS=128: other
#   prompts, results folder, generation length, for trying the script out)
#
# Prompt set: bench/spec/prompts.jsonl (25 prompts: 10 code, 10 prose, 5 "repeat", see
# bench/spec/README.md), raw text, 128 new tokens each, every rate the median of REPEAT runs.
#
# smol  SmolLM2-135M as the target, drafted by its own first 8 layers (smol-self) and by a
#       3-gram lookup of the text so far (smol-ngram);
# qwen  Qwen2.5-Coder-1.5B-Instruct drafted by Qwen2.5-Coder-0.5B-Instruct (qwen);
#       each pair with the trees opt, chain, eagle and sequoia at temperature 0 and 0.8 with
#       `--budget auto` (<pair>-<tree>-t<temp>.json), then every tree at an equal budget of 8
#       nodes at temperature 0, the acceptance comparison (<pair>-<tree>-b8-t0.json). Measured
#       by `llmcore speculate --json`: speculative and plain tokens/s per prompt (decode only,
#       prefill excluded), speedup, mean acceptance length (tokens per target step), drafted
#       and accepted tokens, the cost model's predicted speedup, whether greedy output equals
#       plain greedy output.
# llama the peer on the qwen pair: llama.cpp's llama-speculative (llama-cpp-python 0.3.36's
#       llama.cpp, built by `LLAMA_CPP_PYTHON=0.3.36 scripts/build-llama-cpp.sh`) on the same
#       prompts, 2 threads, temperature 0 and 0.8 (top-k 40, top-p 0.95, min-p off, as ours),
#       a chain of up to LLAMA_DRAFT_MAX=8 drafted tokens (LLAMA_PARALLEL=1 branch; >1 lets
#       it split into a tree), LLAMA_REPEAT=REPEAT runs per prompt, its "decoded N tokens in T
#       seconds" rate (decode only), n_drafted and n_accept
#       (llama-speculative-t<temp>.json; the logs stay in $WORK), and its plain decode rate:
#       llama-bench tg128 at the prompts' context depths (llama-plain.json).
#
# Each result records the date, the CPU, the SIMD level, the threads and the load before and
# after the run, as a row of BENCHMARKS.md needs. Logs and prompt files: $WORK (default
# ~/.cache/llmcore/bench-spec). Tables: scripts/bench_spec_table.py (markdown on stdout).
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT=${1:-all}
THREADS=${THREADS:-2}
NICE=${NICE:-10}
REPEAT=${REPEAT:-5}
MAX_TOKENS=${MAX_TOKENS:-128}
LLAMA_REPEAT=${LLAMA_REPEAT:-$REPEAT}
LLAMA_DRAFT_MAX=${LLAMA_DRAFT_MAX:-8}
LLAMA_PARALLEL=${LLAMA_PARALLEL:-1}
M=${LLMCORE_ASSETS:-assets}/models
SMOL=$M/SmolLM2-135M-Instruct.Q4_1.gguf
QWEN=$M/Qwen2.5-Coder-1.5B-Instruct.gguf
QWEN_DRAFT=$M/Qwen2.5-Coder-0.5B-Instruct.gguf
PROMPTS=${PROMPTS:-bench/spec/prompts.jsonl}
OUT=${RESULTS:-bench/spec/results}
WORK=${WORK:-$HOME/.cache/llmcore/bench-spec}
BIN=target/release/llmcore
TREES="opt chain eagle sequoia"
TEMPS="0 0.8"

case "$WHAT" in
table) exec python3 scripts/bench_spec_table.py table "$OUT" ;;
smol | qwen | llama | all) ;;
*)
	echo "usage: scripts/bench-spec.sh [smol|qwen|llama|all|table]" >&2
	exit 2
	;;
esac
mkdir -p "$OUT" "$WORK"

[ "$WHAT" = llama ] || cargo build --release -p llmcore-cli >/dev/null
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
flags=$(grep -m1 '^flags' /proc/cpuinfo | grep -o -w -E 'avx512_vnni|avx512f|avx2|fma' | sort -u | tr '\n' ' ')
if [ -x "$BIN" ]; then
	simd=$("$BIN" info "$SMOL" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["simd"])')
else # the llama section alone, llmcore not built: the CPU's level
	case " $flags " in
	*" avx512f "*) simd=avx512 ;;
	*" avx2 "*) simd=avx2 ;;
	*) simd=portable ;;
	esac
fi
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $cpu, $(nproc) cores, threads=$THREADS, repeat=$REPEAT"
echo "# SIMD: llmcore $simd; CPU flags: ${flags:-none of avx2/avx512}"
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
# ggml's threads spin at every barrier: with another busy process on the cores, llama.cpp at
# 2 threads on 2 cores runs many times slower (10x seen at load 3).
if python3 -c 'import os,sys; sys.exit(os.getloadavg()[0] < 0.5)'; then
	echo "# WARNING: the machine is not quiet (1-minute load >= 0.5); the rates will be off" >&2
fi

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
	python3 - "$file" "$json" "$simd" "$cpu" "$load" "$THREADS" "$*" <<'PY'
import json, os, sys, time
path, data, simd, cpu, load, threads, command = sys.argv[1:]
d = json.loads(data)
d.update(date=time.strftime("%Y-%m-%d", time.gmtime()), simd=simd, cpu=cpu, load_before=load,
         load_after=" ".join(open("/proc/loadavg").read().split()[:3]), threads=int(threads),
         command=command)
with open(path + ".tmp", "w") as f:
    json.dump(d, f, indent=1, sort_keys=True)
    f.write("\n")
os.replace(path + ".tmp", path)
PY
}

# spec PAIR TREE BUDGET TEMP: one `llmcore speculate` run over the prompt set.
spec() {
	local pair=$1 tree=$2 budget=$3 temp=$4
	local -a draft
	case "$pair" in
	qwen) draft=(--target "$QWEN" --draft "$QWEN_DRAFT") ;;
	smol-self) draft=(--target "$SMOL" --self-draft-layers 8) ;;
	smol-ngram) draft=(--target "$SMOL" --ngram 3) ;;
	esac
	nice -n "$NICE" "$BIN" speculate "${draft[@]}" --tree "$tree" --budget "$budget" \
		--temperature "$temp" --prompts-file "$PROMPTS" --max-tokens "$MAX_TOKENS" \
		--repeat "$REPEAT" --threads "$THREADS" --json
}

# pair PAIR: the auto-budget grid, then the equal-budget acceptance comparison.
pair() {
	local p=$1 tree temp
	for temp in $TEMPS; do
		for tree in $TREES; do
			result "$OUT/$p-$tree-t$temp.json" spec "$p" "$tree" auto "$temp"
		done
	done
	for tree in $TREES; do
		result "$OUT/$p-$tree-b8-t0.json" spec "$p" "$tree" 8 0
	done
}

if [ "$WHAT" = smol ] || [ "$WHAT" = all ]; then
	pair smol-self
	pair smol-ngram
fi
if [ "$WHAT" = qwen ] || [ "$WHAT" = all ]; then
	pair qwen
fi

if [ "$WHAT" = llama ] || [ "$WHAT" = all ]; then
	export LLAMA_CPP_PYTHON=0.3.36
	LB=$(scripts/build-llama-cpp.sh --print-dir)/bin
	for t in llama-speculative llama-bench; do
		[ -x "$LB/$t" ] || { echo "$LB/$t missing: run LLAMA_CPP_PYTHON=0.3.36 scripts/build-llama-cpp.sh" >&2; exit 1; }
	done
	# The prompts as files; llama.cpp's -f drops one trailing newline, so each gets one more, and
	# --no-escape keeps a literal "\n" in a prompt as typed (llama.cpp unescapes by default).
	mkdir -p "$WORK/prompts"
	python3 - "$PROMPTS" "$WORK/prompts" <<'PY'
import json, os, sys
for line in open(sys.argv[1]):
    p = json.loads(line)
    with open(os.path.join(sys.argv[2], p["id"] + ".txt"), "w") as f:
        f.write(p["prompt"] + "\n")
PY
	# llama_spec TEMP: every prompt LLAMA_REPEAT times, each run's output (stdout and stderr
	# together) in $WORK/llama-t<temp>-n<tokens>-d<draft max>-np<parallel>-t<threads>/
	# <id>.<run>.log (a finished log is reused), then their JSON.
	llama_spec() {
		local temp=$1 id r
		local logs=$WORK/llama-t$temp-n$MAX_TOKENS-d$LLAMA_DRAFT_MAX-np$LLAMA_PARALLEL-t$THREADS
		mkdir -p "$logs"
		for id in $(python3 -c 'import json,sys; [print(json.loads(l)["id"]) for l in open(sys.argv[1])]' "$PROMPTS"); do
			for r in $(seq 1 "$LLAMA_REPEAT"); do
				[ -s "$logs/$id.$r.log" ] && grep -q 'n_accept' "$logs/$id.$r.log" && continue
				nice -n "$NICE" "$LB/llama-speculative" -m "$QWEN" -md "$QWEN_DRAFT" \
					-f "$WORK/prompts/$id.txt" -n "$MAX_TOKENS" -t "$THREADS" -c 2048 \
					--spec-draft-n-max "$LLAMA_DRAFT_MAX" -np "$LLAMA_PARALLEL" \
					--temp "$temp" --top-k 40 --top-p 0.95 --min-p 0 --seed "$r" \
					--no-escape --color off >"$logs/$id.$r.log" 2>&1 </dev/null ||
					{ echo "llama-speculative failed on $id (log: $logs/$id.$r.log)" >&2; return 1; }
			done
		done
		python3 scripts/bench_spec_table.py parse-llama "$PROMPTS" "$logs" \
			--temperature "$temp" --draft-max "$LLAMA_DRAFT_MAX" --parallel "$LLAMA_PARALLEL" \
			--target "$QWEN" --draft "$QWEN_DRAFT" \
			--build "$("$LB/llama-speculative" --version 2>&1 | head -1)"
	}
	for temp in $TEMPS; do
		result "$OUT/llama-speculative-t$temp.json" llama_spec "$temp"
	done
	# llama_plain: llama-bench tg$MAX_TOKENS of the target at the prompts' depths (from the
	# temperature-0 logs, rounded to 32 tokens), 3 repetitions each.
	llama_plain() {
		local depths out
		depths=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(",".join(str(x) for x in sorted({32*round(p["prompt_tokens"]/32) for p in d["prompts"]})))' "$OUT/llama-speculative-t0.json")
		out=$WORK/llama-bench-plain.json
		nice -n "$NICE" "$LB/llama-bench" -m "$QWEN" -t "$THREADS" -p 0 -n "$MAX_TOKENS" -d "$depths" \
			-r 3 -o json >"$out" 2>"$WORK/llama-bench-plain.log" </dev/null ||
			{ echo "llama-bench failed (log: $WORK/llama-bench-plain.log)" >&2; return 1; }
		python3 scripts/bench_spec_table.py parse-llama-bench "$out" --target "$QWEN"
	}
	result "$OUT/llama-plain.json" llama_plain
fi
python3 scripts/bench_spec_table.py table "$OUT"
