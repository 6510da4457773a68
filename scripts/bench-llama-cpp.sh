#!/usr/bin/env bash
# llama.cpp's speed on a GGUF, the peer number for BENCHMARKS.md.
#
#   scripts/bench-llama-cpp.sh [MODEL.gguf] [extra llama-bench args...]
#     default MODEL: assets/models/SmolLM2-135M-Instruct.Q4_1.gguf ($LLMCORE_ASSETS if set)
#
# Runs llama-bench of the llama.cpp that llama-cpp-python $LLAMA_CPP_PYTHON (default 0.3.36,
# the newer one the speed comparisons use; `LLAMA_CPP_PYTHON=0.3.36 scripts/build-llama-cpp.sh`
# builds it) vendors, with 2 threads, a 512-token prompt (prefill, "pp512") and 128 generated
# tokens (decode, "tg128"), 3 repetitions, and prints one line naming the build and the CPU
# features its ggml uses, then one line per test:
#   llama.cpp llama-cpp-python=0.3.36 build=<commit> simd="AVX2 AVX512 ..."
#   llama-bench model=<file> test=pp512 threads=2 reps=3 tokens_per_s=<mean> stddev=<sd> build=.. cpu=".."
# (mean and standard deviation over the repetitions, from llama-bench -o json). Environment:
# THREADS (2), PROMPT (512), GEN (128), REPS (3), LLAMA_CPP_PYTHON (0.3.36).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ASSETS=${LLMCORE_ASSETS:-$REPO/assets}
MODEL=${1:-$ASSETS/models/SmolLM2-135M-Instruct.Q4_1.gguf}
shift || true
THREADS=${THREADS:-2}
PROMPT=${PROMPT:-512}
GEN=${GEN:-128}
REPS=${REPS:-3}

export LLAMA_CPP_PYTHON=${LLAMA_CPP_PYTHON:-0.3.36}
BIN=$("$REPO/scripts/build-llama-cpp.sh" --print-dir)/bin
BENCH=$BIN/llama-bench
[ -x "$BENCH" ] || { echo "$BENCH missing: run LLAMA_CPP_PYTHON=$LLAMA_CPP_PYTHON scripts/build-llama-cpp.sh" >&2; exit 1; }
[ -f "$MODEL" ] || { echo "$MODEL missing: run scripts/fetch-assets.sh" >&2; exit 1; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$BENCH" -m "$MODEL" -t "$THREADS" -p "$PROMPT" -n "$GEN" -r "$REPS" -o json "$@" >"$out" 2>/dev/null ||
	{ echo "llama-bench failed" >&2; exit 1; }
python3 - "$MODEL" "$REPS" "$out" "$BIN" <<'PY'
import ctypes, json, os, sys
model, reps, path, bin_dir = sys.argv[1:5]
with open(path) as f:
    runs = json.load(f)
# The CPU features ggml's CPU backend was built with and found (llama_print_system_info).
lib = ctypes.CDLL(os.path.join(bin_dir, "libllama.so"))
lib.llama_print_system_info.restype = ctypes.c_char_p
info = lib.llama_print_system_info().decode()
features = [kv.split("=")[0].strip() for kv in info.split("|") if kv.strip().endswith("= 1")]
features = [f.split(":")[-1].strip() for f in features]
print('llama.cpp llama-cpp-python=%s build=%s simd="%s"'
      % (os.environ["LLAMA_CPP_PYTHON"], runs[0].get("build_commit", "?") if runs else "?",
         " ".join(features)))
for r in runs:
    test = "pp%d" % r["n_prompt"] if r["n_gen"] == 0 else "tg%d" % r["n_gen"]
    print(
        "llama-bench model=%s test=%s threads=%d reps=%s tokens_per_s=%.2f stddev=%.2f build=%s cpu=\"%s\""
        % (os.path.basename(model), test, r["n_threads"], reps, r["avg_ts"], r["stddev_ts"],
           r.get("build_commit", "?"), r.get("cpu_info", "?"))
    )
PY
