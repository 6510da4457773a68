#!/usr/bin/env bash
# Runs each fuzz target (fuzz/: the gguf, safetensors, json and wav parsers, and model_load: parse ->
# config -> weights -> tokenizer -> one forward pass) for a bounded time.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 30)
# cargo-fuzz needs nightly flags (-Zsanitizer=address); RUSTC_BOOTSTRAP=1 lets the stable
# toolchain accept them. Installs cargo-fuzz if it is missing. New corpus entries go to the
# git-ignored fuzz/corpus/<target>; the committed seeds in fuzz/seeds/<target> are only read.
# FUZZ_TARGETS="gguf json" picks a subset. A crash leaves its input in fuzz/artifacts/<target>/ and makes this script fail.
set -euo pipefail
per_target="${1:-30}"
cd "$(dirname "$0")/../fuzz"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for target in ${FUZZ_TARGETS:-gguf safetensors json model_load wav}; do
    mkdir -p "corpus/$target"
    echo "== fuzz $target for ${per_target}s"
    if ! cargo fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$per_target" -print_final_stats=1 >"$log" 2>&1; then
        # The panic message or sanitizer report first (the stack trace after it is long), then the end.
        grep -m 3 -A 2 -E "panicked at|ERROR: (AddressSanitizer|libFuzzer)" "$log" || true
        tail -n 25 "$log"
        echo "fuzz target $target FAILED (crash input, if any, is in fuzz/artifacts/$target/)"
        exit 1
    fi
    grep -E '^(Done|stat::number_of_executed_units|INFO: Seed)' "$log" || true
done
echo "fuzz: all targets ran ${per_target}s without a crash"
