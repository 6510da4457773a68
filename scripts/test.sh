#!/usr/bin/env bash
# The whole test suite, as CI runs it: fetch the real assets, check the no_std build, run every
# Rust test (unit, property, integration on SmolLM2-135M and Qwen2.5-Coder-0.5B) in release mode,
# then the C ABI and bindings tests and the bounded fuzz runs.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step prints how long the one before it took (CI's budget is 30 minutes on 2 cores).
step_start=$SECONDS
step() {
  [ -z "${step_name:-}" ] || printf '   (%s: %d s)\n' "$step_name" $((SECONDS - step_start))
  step_name="$*"; step_start=$SECONDS
  printf '\n== %s\n' "$*"
}
trap '[ -z "${step_name:-}" ] || printf "   (%s: %d s; %d s in all)\\n" "$step_name" $((SECONDS - step_start)) $SECONDS' EXIT

step "assets"
scripts/fetch-assets.sh

# The path a new machine takes: the corpora from an empty cache, each package asked for at its
# pinned version; --strict fails the day Debian stops serving a pin, printing the lines to commit.
step "fresh corpus fetch (empty cache, pinned versions)"
fresh=$(mktemp -d)
LLMCORE_CACHE=$fresh/cache LLMCORE_ASSETS=$fresh/assets scripts/fetch-assets.sh --corpora-only --strict
rm -rf "$fresh"

step "no_std build of the core"
cargo build -p llmcore --no-default-features

step "formatting"
cargo fmt --all -- --check

step "lints and MSRV (clippy -D warnings incl. incompatible_msrv; dependencies' rust-version)"
scripts/check-msrv.sh

step "tests (release)"
cargo test --workspace --release

step "batch invariance at every SIMD level this CPU reaches (LLMCORE_SIMD caps the kernels)"
has() { for f; do grep -qw "$f" /proc/cpuinfo || return 1; done; }
levels=portable
has avx2 fma f16c && levels="$levels avx2"
has avx2 fma f16c avx512f avx512bw avx512vl avx512_vnni && levels="$levels avx512"
for level in $levels; do
	LLMCORE_SIMD=$level cargo test --release --test batch_invariance -- --nocapture
done

step "C ABI and bindings (C, C++ under valgrind; Go with -race; examples agree with the CLI)"
scripts/test-bindings.sh

step "fuzz (bounded)"
scripts/fuzz.sh "${LLMCORE_FUZZ_SECONDS:-30}"
