#!/usr/bin/env bash
# Side-by-side timing of the quantized dot products: ggml's AVX2 kernels (llama.cpp's CPU
# backend) built from a ggml source tree, and ours (benches/quant.rs in median mode).
# Usage: scripts/ggml_quant_peer.sh GGML_SOURCE_DIR [ROUNDS]   (a checkout of github.com/ggml-org/ggml)
# Both sides time the same shapes the same way (median of 50 batches); rounds alternate so that
# machine load hits both alike. ggml is compiled for AVX2 here, so our side runs its AVX2 kernels
# too (LLMCORE_SIMD=avx2 unless set; `cargo bench --bench quant` with LLMCORE_QUANT_LEVELS=1
# times every level this CPU has).
set -euo pipefail
GGML=${1:?usage: $0 GGML_SOURCE_DIR [ROUNDS]}
ROUNDS=${2:-3}
export LLMCORE_SIMD=${LLMCORE_SIMD:-avx2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mktemp -d)
FLAGS="-O3 -mavx2 -mfma -mf16c -mbmi2 -I$GGML/include -I$GGML/src -I$GGML/src/ggml-cpu -w"
for f in ggml-cpu/arch/x86/quants.c ggml-cpu/quants.c ggml-quants.c; do
    gcc $FLAGS -c "$GGML/src/$f" -o "$OUT/$(echo "$f" | tr / _).o"
done
gcc $FLAGS "$ROOT/scripts/ggml_quant_peer.c" "$ROOT/scripts/ggml_quant_peer_stubs.c" "$OUT"/*.o -lm -o "$OUT/peer"
echo "# ggml $(git -C "$GGML" rev-parse --short HEAD 2>/dev/null || echo '?'), gcc $(gcc -dumpversion)"
echo "# case  ggml_ns  llmcore_ns  llmcore/ggml   (median ns per call; min over $ROUNDS alternating rounds)"
cd "$ROOT"
cargo bench --bench quant --no-run >/dev/null 2>&1
for r in $(seq "$ROUNDS"); do
    "$OUT/peer" >>"$OUT/ggml.txt"
    LLMCORE_QUANT_MEDIAN=1 cargo bench --bench quant 2>/dev/null >>"$OUT/ours.txt"
done
awk 'FNR==NR { if (!($1 in g) || $2 < g[$1]) g[$1]=$2; next }
     { if (!($1 in o) || $2 < o[$1]) o[$1]=$2 }
     END { for (k in g) printf "%-28s %12.1f %12.1f %6.2f\n", k, g[k], o[k], o[k]/g[k] }' \
    "$OUT/ggml.txt" "$OUT/ours.txt" | sort
rm -rf "$OUT"
