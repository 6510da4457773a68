#!/usr/bin/env bash
# The main job on a fresh machine: fetch the real assets, build the release CLI, generate text
# with SmolLM2-135M, and measure its perplexity on the held-out prose (the first 32 windows of
# 512 tokens of Persuasion, ~16k tokens; llama.cpp's scoring: second half of each window).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/fetch-assets.sh
cargo build --release -p llmcore-cli
bin=target/release/llmcore
model=assets/models/SmolLM2-135M-Instruct.Q4_1.gguf

"$bin" info "$model"
echo
"$bin" generate --model "$model" --prompt "The capital of France is" --max-tokens 48
echo
"$bin" generate --model "$model" --chat --prompt "Write a haiku about the sea." --max-tokens 64 \
  --temperature 0.7 --seed 42
echo
"$bin" perplexity --model "$model" --text assets/corpora/austen-persuasion.txt --ctx 512 --max-windows 32
