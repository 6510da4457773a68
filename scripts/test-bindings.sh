#!/usr/bin/env bash
# The C ABI and its bindings, as CI runs them (called from scripts/test.sh):
#  0. a C program linked against the build tree as it is (-Ltarget/release -lllmcore) runs
#     with LD_LIBRARY_PATH=target/release (ffi/build.rs leaves the soname's link there);
#  1. build libllmcore and the CLI in release and install the library into a scratch PREFIX
#     (scripts/install.sh), so everything below links the way a user's program does:
#     C through pkg-config, C++ through find_package(llmcore), Go through cgo + pkg-config;
#  2. the C bad-input test under valgrind memcheck (no errors, 0 bytes definitely lost), then
#     the C pruning test: its bad-input sweep under memcheck, a real prune and cancellations;
#     the C speculation test: its misuse sweep under memcheck, then greedy speculation on
#     SmolLM2 (self-draft, n-gram; every tree kind) against llmc_generate's greedy text;
#     the C evaluation test: an engine written in C on a toy suite and the misuse sweep under
#     memcheck, then llmc_eval_run_model on SmolLM2 against the same model through callbacks;
#     the C optimizer test under memcheck (every kind trains on the caller's buffers, misuse);
#     the C audio test under memcheck (a WAV decoded, log-mel, energy and F0 against
#     `llmcore audio features --json`, pinyin and phoneme ids, the test corpus built and a
#     build cancelled, misuse);
#     the C session-state test under memcheck (forks and a saved state continue bit for bit
#     like fresh sessions, misuse);
#  3. the C two-threads test (two sessions over one model == one thread);
#  4. the C++ wrapper's tests (the model's, the optimizer's, the evaluation's, the audio
#     front end's) under valgrind memcheck;
#  5. the Go binding's tests with -race;
#  6. the C, C++ and Go quickstarts must print exactly the greedy text of
#     `llmcore generate --json` for the same prompts.
# Needs gcc/g++, valgrind, cmake, pkg-config, Go (Debian's golang-go) and python3; missing
# ones are installed with apt-get when running as root.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

# Each step prints how long the one before it took (CI's budget is 30 minutes on 2 cores).
step_start=$SECONDS
step() {
  [ -z "${step_name:-}" ] || printf '   (%s: %d s)\n' "$step_name" $((SECONDS - step_start))
  step_name="$*"; step_start=$SECONDS
  printf '\n== %s\n' "$*"
}
trap '[ -z "${step_name:-}" ] || printf "   (%s: %d s; %d s in all)\\n" "$step_name" $((SECONDS - step_start)) $SECONDS' EXIT

ensure_tools() {
  local missing=()
  command -v gcc >/dev/null || missing+=(gcc)
  command -v g++ >/dev/null || missing+=(g++)
  command -v valgrind >/dev/null || missing+=(valgrind)
  command -v cmake >/dev/null || missing+=(cmake)
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  command -v go >/dev/null || missing+=(golang-go)
  command -v python3 >/dev/null || missing+=(python3)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    else
      echo "missing tools: ${missing[*]}" >&2
      exit 1
    fi
  fi
}

ASSETS="${LLMCORE_ASSETS:-$ROOT/assets}"
MODEL="$ASSETS/models/SmolLM2-135M-Instruct.Q4_1.gguf"
[ -f "$MODEL" ] || { echo "$MODEL is missing: run scripts/fetch-assets.sh" >&2; exit 1; }
# A model with another vocabulary than SmolLM2's: the speculation test's mismatched draft.
OTHER_VOCAB="$ASSETS/models/Qwen2.5-Coder-0.5B-Instruct.gguf"
[ -f "$OTHER_VOCAB" ] || { echo "$OTHER_VOCAB is missing: run scripts/fetch-assets.sh" >&2; exit 1; }
# The pypinyin dictionary of the audio tests' Mandarin front end.
DICT="$ASSETS/pypinyin"
[ -f "$DICT/pinyin_dict.json" ] || { echo "$DICT is missing: run scripts/fetch-assets.sh" >&2; exit 1; }
export LLMCORE_ASSETS="$ASSETS"

step "tools"
ensure_tools

step "build (release)"
cargo build --release -p llmcore-ffi -p llmcore-cli
WORK="$ROOT/build/test-bindings"
rm -rf "$WORK"
mkdir -p "$WORK/bin" "$WORK/scratch"

CFLAGS=(-std=c99 -Wall -Wextra -Werror -g)

step "C against the build tree as it is: -Ltarget/release -lllmcore, LD_LIBRARY_PATH=target/release"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/release"
cat > "$WORK/build_tree.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "llmcore.h"
int main(void) {
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", LLMC_VERSION_MAJOR, LLMC_VERSION_MINOR,
             LLMC_VERSION_PATCH);
    if (strcmp(llmc_version(), want) != 0 || llmc_abi_version() != LLMC_ABI_VERSION) return 1;
    printf("build tree: libllmcore %s, ABI %u\n", llmc_version(), llmc_abi_version());
    return 0;
}
C
gcc "${CFLAGS[@]}" -I include "$WORK/build_tree.c" -L "$TARGET_DIR" -lllmcore -o "$WORK/bin/build_tree"
env LD_LIBRARY_PATH="$TARGET_DIR" "$WORK/bin/build_tree"

step "install into a scratch prefix"
PREFIX="$WORK/prefix"
scripts/install.sh --prefix "$PREFIX" --no-build
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
export LD_LIBRARY_PATH="$PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
CLI="${CARGO_TARGET_DIR:-$ROOT/target}/release/llmcore"

# Valgrind memcheck: any error, or any definitely lost block, fails the run.
memcheck() {
  local log="$WORK/$(basename "$1").valgrind.log"
  if ! valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
      --log-file="$log" "$@"; then
    cat "$log" >&2
    echo "valgrind: $1 failed (see above)" >&2
    exit 1
  fi
  grep -E "ERROR SUMMARY|definitely lost" "$log"
  grep -q "ERROR SUMMARY: 0 errors" "$log"
  if grep -q "definitely lost:" "$log"; then grep -q "definitely lost: 0 bytes" "$log"; fi
}

step "C bad-input test under valgrind"
# shellcheck disable=SC2046
gcc "${CFLAGS[@]}" tests/c/bad_input.c $(pkg-config --cflags --libs llmcore) -o "$WORK/bin/bad_input"
memcheck "$WORK/bin/bad_input" "$MODEL" "$WORK/scratch"

step "C pruning test: bad input under valgrind, then a real prune and cancellations"
# shellcheck disable=SC2046
gcc "${CFLAGS[@]}" tests/c/prune.c $(pkg-config --cflags --libs llmcore) -lm -o "$WORK/bin/prune"
memcheck "$WORK/bin/prune" "$MODEL" tests/data/persuasion_excerpt.txt "$WORK/scratch" --bad-input-only
"$WORK/bin/prune" "$MODEL" tests/data/persuasion_excerpt.txt "$WORK/scratch"

step "C speculation test: misuse under valgrind, then greedy speculation against llmc_generate"
# shellcheck disable=SC2046
gcc "${CFLAGS[@]}" tests/c/spec.c $(pkg-config --cflags --libs llmcore) -lm -o "$WORK/bin/spec"
memcheck "$WORK/bin/spec" "$MODEL" "$OTHER_VOCAB" --bad-input-only
"$WORK/bin/spec" "$MODEL" "$OTHER_VOCAB"

step "C evaluation test: a C engine and misuse under valgrind, then SmolLM2 natively and through callbacks"
# shellcheck disable=SC2046
gcc "${CFLAGS[@]}" tests/c/eval.c $(pkg-config --cflags --libs llmcore) -lm -o "$WORK/bin/eval"
memcheck "$WORK/bin/eval" "$MODEL" "$WORK/scratch" --engine-only
"$WORK/bin/eval" "$MODEL" "$WORK/scratch"

step "C optimizer test under valgrind: every kind on the caller's buffers, then misuse"
# shellcheck disable=SC2046
gcc "${CFLAGS[@]}" tests/c/optim.c $(pkg-config --cflags --libs llmcore) -lm -o "$WORK/bin/optim"
memcheck "$WORK/bin/optim"

step "C audio test under valgrind: features and F0 against the CLI, G2P, a corpus, misuse"
# What `llmcore audio features --json` says about two fixtures, one line each, for the test to
# compare with its own numbers (they must be the same bits).
: > "$WORK/audio-cli.txt"
for spec in "zh-150-16k-s16.wav whisper pyin" "tone-220.wav fastspeech2 yin"; do
  read -r file preset method <<< "$spec"
  "$CLI" audio features --preset "$preset" --f0 "$method" "tests/data/audio/$file" --json \
    > "$WORK/audio-cli.json"
  python3 -c '
import json, sys
f, preset, method, path = sys.argv[1:]
j = json.load(open(path))
nums = [repr(float(j[k])) for k in ("log_mel_min", "log_mel_mean", "log_mel_max", "energy_mean")]
print(f, preset, method, j["frames"], *nums, j["voiced_frames"], repr(float(j["f0_median_hz"])))
' "$file" "$preset" "$method" "$WORK/audio-cli.json" >> "$WORK/audio-cli.txt"
done
# shellcheck disable=SC2046
gcc "${CFLAGS[@]}" tests/c/audio.c $(pkg-config --cflags --libs llmcore) -lm -o "$WORK/bin/audio"
memcheck "$WORK/bin/audio" tests/data/audio "$DICT" "$WORK/scratch" "$WORK/audio-cli.txt"

step "C session-state test under valgrind: forks, saved states, misuse"
# shellcheck disable=SC2046
gcc "${CFLAGS[@]}" tests/c/session_state.c $(pkg-config --cflags --libs llmcore) \
  -o "$WORK/bin/session_state"
memcheck "$WORK/bin/session_state" "$MODEL" "$OTHER_VOCAB" "$WORK/scratch"

step "C sampler test: misuse and distribution under valgrind, then own decode loop = llmc_generate"
# shellcheck disable=SC2046
gcc "${CFLAGS[@]}" tests/c/sampler.c $(pkg-config --cflags --libs llmcore) -lm \
  -o "$WORK/bin/sampler"
memcheck "$WORK/bin/sampler" "$MODEL" --misuse-only
"$WORK/bin/sampler" "$MODEL"

step "C vocabulary test under valgrind: model info, attributes, EOG, tokenize/detokenize options"
# shellcheck disable=SC2046
gcc "${CFLAGS[@]}" tests/c/vocab.c $(pkg-config --cflags --libs llmcore) -o "$WORK/bin/vocab"
memcheck "$WORK/bin/vocab" "$MODEL"

step "C two-threads test"
# shellcheck disable=SC2046
gcc "${CFLAGS[@]}" -pthread tests/c/threads.c $(pkg-config --cflags --libs llmcore) \
  -o "$WORK/bin/threads"
"$WORK/bin/threads" "$MODEL"

step "C++ tests (find_package) under valgrind"
cmake -S bindings/cpp -B "$WORK/cpp" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$WORK/cpp" -j 2
memcheck "$WORK/cpp/test_llmcore" "$MODEL" "$WORK/scratch"
memcheck "$WORK/cpp/test_optim"
memcheck "$WORK/cpp/test_audio" tests/data/audio "$DICT" "$WORK/scratch"
memcheck "$WORK/cpp/test_eval" "$MODEL" "$WORK/scratch" --engine-only
"$WORK/cpp/test_eval" "$MODEL" "$WORK/scratch"

step "Go tests (-race)"
# The Go code needs nothing from the network; go needs a cache directory.
export GOPROXY=off
[ -n "${HOME:-}" ] || export HOME="$WORK"
# go's build cache does not see a change in a header outside the package (llmcore.h comes from the
# installed prefix): key it on the header's hash through CGO_CFLAGS, which the cache does see.
CGO_CFLAGS="${CGO_CFLAGS:--O2 -g} -DLLMC_HEADER_SHA256_$(sha256sum include/llmcore.h | cut -c1-16)"
export CGO_CFLAGS
(cd bindings/go && go vet ./... && go test -race -count=1 -v ./...)

step "examples: C, C++, Go against the CLI"
# shellcheck disable=SC2046
gcc "${CFLAGS[@]}" examples/c/quickstart.c $(pkg-config --cflags --libs llmcore) \
  -o "$WORK/bin/quickstart_c"
(cd examples/go && go build -o "$WORK/bin/quickstart_go" ./quickstart)
for prompt in "The capital of France is" "def fibonacci(n):"; do
  "$CLI" generate --model "$MODEL" --prompt "$prompt" --max-tokens 32 --json > "$WORK/cli.json"
  python3 -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))["text"])' \
    "$WORK/cli.json" > "$WORK/cli.txt"
  for ex in "$WORK/bin/quickstart_c" "$WORK/cpp/quickstart_cpp" "$WORK/bin/quickstart_go"; do
    "$ex" "$MODEL" "$prompt" 32 > "$WORK/example.txt" 2> "$WORK/example.err"
    if ! cmp -s "$WORK/cli.txt" "$WORK/example.txt"; then
      echo "$(basename "$ex") differs from the CLI for prompt '$prompt':" >&2
      diff <(cat "$WORK/cli.txt"; echo) <(cat "$WORK/example.txt"; echo) >&2 || true
      exit 1
    fi
    echo "$(basename "$ex"): same text as the CLI for '$prompt' $(tail -1 "$WORK/example.err")"
  done
done
echo
echo "bindings: all checks passed"
