#!/usr/bin/env bash
# The whole test suite, as CI runs it: fetch the real assets, check the no_std build, run every
# Rust test (unit, property, integration on SmolLM2-135M and Qwen2.5-Coder-0.5B) in release mode,
# then the C ABI and bindings tests and the bounded fuzz runs.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "assets"
scripts/fetch-assets.sh

step "no_std build of the core"
cargo build -p llmcore --no-default-features

step "formatting"
cargo fmt --all -- --check

step "lints and MSRV (clippy -D warnings incl. incompatible_msrv; dependencies' rust-version)"
scripts/check-msrv.sh

step "tests (release)"
cargo test --workspace --release

step "C ABI and bindings (C, C++ under valgrind; Go with -race; examples agree with the CLI)"
scripts/test-bindings.sh

step "fuzz (bounded)"
scripts/fuzz.sh "${LLMCORE_FUZZ_SECONDS:-30}"
