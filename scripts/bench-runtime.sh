#!/usr/bin/env bash
# Side-by-side runtime speed: llama.cpp's llama-bench and libllmcore's runtime bench on the same
# GGUF, same thread count, in one run (pp512 prefill, tg128 decode), then the ratios.
#
#   scripts/bench-runtime.sh [MODEL.gguf]     (THREADS=2 by default)
#
# Needs scripts/build-llama-cpp.sh to have built llama-bench (nothing of it is committed).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-assets/models/SmolLM2-135M-Instruct.Q4_1.gguf}
THREADS=${THREADS:-2}
export THREADS

cargo build --release --bench runtime >/dev/null 2>&1 || cargo bench --bench runtime --no-run
peer=$(scripts/bench-llama-cpp.sh "$MODEL")
ours=$(cargo bench --bench runtime -- --threads "$THREADS" "$MODEL" 2>/dev/null | grep '^{')
echo "$peer"
echo "$ours"
python3 - "$peer" "$ours" <<'PY'
import json, re, sys
peer = {m.group(1): float(m.group(2)) for m in re.finditer(r"test=(\w+) .*?tokens_per_s=([\d.]+)", sys.argv[1])}
ours = json.loads(sys.argv[2])
print("prefill pp512: libllmcore %.1f tok/s, llama.cpp %.1f tok/s, ratio %.2f" % (
    ours["prefill_tokens_per_s"], peer["pp512"], ours["prefill_tokens_per_s"] / peer["pp512"]))
print("decode  tg128: libllmcore %.1f tok/s, llama.cpp %.1f tok/s, ratio %.2f" % (
    ours["decode_tokens_per_s"], peer["tg128"], ours["decode_tokens_per_s"] / peer["tg128"]))
PY
