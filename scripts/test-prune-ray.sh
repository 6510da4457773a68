#!/usr/bin/env bash
# The distributed pruning path on a local Ray cluster: scripts/prune_ray.py with 2 workers (one
# Ray task per layer range) prunes SmolLM2-135M, and the merged model must be byte-identical to
# a single-process `llmcore prune --out` with the same flags. Not part of CI (it needs
# `pip install ray`); prints the two sha256 sums and exits non-zero when they differ.
#
#   scripts/test-prune-ray.sh [llmcore prune flags...]
#     (default: --method wanda --nm 2:4 --calib file:tests/data/persuasion_excerpt.txt
#      --nsamples 4 --seqlen 128)
set -euo pipefail
export PATH=$PATH:$HOME/.local/bin # where pip install --user puts ray
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- --method wanda --nm 2:4 --calib file:tests/data/persuasion_excerpt.txt \
	--nsamples 4 --seqlen 128
MODEL=${MODEL:-assets/models/SmolLM2-135M-Instruct.Q4_1.gguf}
cargo build --release -p llmcore-cli >/dev/null
BIN=$PWD/target/release/llmcore
work=$(mktemp -d)
trap 'ray stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
ray start --head --num-cpus 2 --include-dashboard=false >/dev/null
python3 scripts/prune_ray.py --address auto --ranges 2 --threads 1 --llmcore "$BIN" \
	--model "$MODEL" --shard-dir "$work/shards" --out "$work/ray.gguf" -- "$@"
"$BIN" prune --model "$MODEL" --mode dense-input "$@" --format f16 --out "$work/single.gguf" \
	--threads 2 --json >/dev/null
sha256sum "$work/ray.gguf" "$work/single.gguf"
cmp "$work/ray.gguf" "$work/single.gguf" && echo "merged Ray run == single-process run, byte for byte"
