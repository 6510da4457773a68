#!/usr/bin/env bash
# Side-by-side runtime speed: llama.cpp's llama-bench and libllmcore's runtime bench on the same
# GGUF, same thread count, in one run (pp512 prefill, tg128 decode), then the ratios, with
# everything a BENCHMARKS.md row needs: date, CPU, load before and after, the SIMD level of both
# sides, the llama.cpp version.
#
#   scripts/bench-runtime.sh [MODEL.gguf ...]     (THREADS=2 by default)
#
# The peer is the llama.cpp of llama-cpp-python $LLAMA_CPP_PYTHON (default 0.3.36), built by
# `LLAMA_CPP_PYTHON=0.3.36 scripts/build-llama-cpp.sh` (nothing of it is committed). Our SIMD
# level is the CPU's unless LLMCORE_SIMD caps it (portable, avx2, avx512).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- assets/models/SmolLM2-135M-Instruct.Q4_1.gguf
THREADS=${THREADS:-2}
export THREADS
export LLAMA_CPP_PYTHON=${LLAMA_CPP_PYTHON:-0.3.36}

cargo build --release --bench runtime >/dev/null 2>&1 || cargo bench --bench runtime --no-run
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
	"$(nproc) cores, threads=$THREADS"
echo "# load before: $(uptime | sed 's/.*load average: //')"
for MODEL in "$@"; do
	peer=$(scripts/bench-llama-cpp.sh "$MODEL")
	ours=$(cargo bench --bench runtime -- --threads "$THREADS" "$MODEL" 2>/dev/null | grep '^{')
	echo "$peer"
	echo "$ours"
	python3 - "$peer" "$ours" <<'PY'
import json, os, re, sys
peer_text, ours = sys.argv[1], json.loads(sys.argv[2])
peer = {m.group(1): float(m.group(2))
        for m in re.finditer(r"test=(\w+) .*?tokens_per_s=([\d.]+)", peer_text)}
info = re.search(r'llama-cpp-python=(\S+) build=(\S+) simd="([^"]*)"', peer_text)
print("| model | test | libllmcore tok/s (simd %s) | llama.cpp %s (%s, simd %s) tok/s | ratio |"
      % (ours["simd"], info.group(1), info.group(2), info.group(3)))
for test, key in (("pp512", "prefill_tokens_per_s"), ("tg128", "decode_tokens_per_s")):
    print("| %s | %s | %.1f | %.1f | %.2f |" % (os.path.basename(ours["model"]), test, ours[key],
          peer[test], ours[key] / peer[test]))
PY
done
echo "# load after: $(uptime | sed 's/.*load average: //')"
