#!/usr/bin/env bash
# Build the llama.cpp that PyPI's llama-cpp-python sdist vendors, as an independent peer and
# reference for libllmcore (perplexity, tokenization, speed). Nothing of it is committed.
#
#   scripts/build-llama-cpp.sh            # build (idempotent: a finished build is reused)
#   scripts/build-llama-cpp.sh --print-dir    # print the build directory and exit
#   LLAMA_CPP_PYTHON=0.3.36 scripts/build-llama-cpp.sh   # the same for another pinned version
#
# Pinned versions (sdist sha256 in `sdist_sha256` below), chosen by $LLAMA_CPP_PYTHON:
#   0.3.16 (default): its vendor/llama.cpp is the llama.cpp that the reference fixtures in
#          tests/data/reference/ were made with, so the reference scripts use it;
#   0.3.36: the newer llama.cpp the speed benchmarks (scripts/bench-runtime.sh,
#          scripts/bench-llama-cpp.sh) compare against.
#
# Result, under $LLMCORE_CACHE (default ~/.cache/llmcore), VERSION being the chosen one:
#   llama.cpp/VERSION/src/       extracted sdist (vendor/llama.cpp inside)
#   llama.cpp/VERSION/build/bin/ llama-bench, llama-perplexity, llama-tokenize, llama-simple,
#                                llama-cli (0.3.16 only), llama-speculative and
#                                llama-speculative-simple (0.3.36 only: the peer of
#                                scripts/bench-spec.sh), and the shared libs libllama.so,
#                                libggml*.so
# Release build, native CPU (GGML_NATIVE: AVX2/FMA/AVX-512 where the CPU has them), shared
# libraries, no CURL, no server, no tests.
#
# Python API against this build (no second compile of llama.cpp):
#   B=$(scripts/build-llama-cpp.sh --print-dir)
#   pip install numpy typing-extensions diskcache jinja2 "scikit-build-core[pyproject]>=0.9.2"
#   pip install --no-deps --no-build-isolation \
#       --config-settings=cmake.args=-DLLAMA_BUILD=OFF  \
#       "$(scripts/build-llama-cpp.sh --print-sdist)"
#   export LLAMA_CPP_LIB_PATH=$B/bin     # the package's ctypes loader looks there for libllama.so
#   python3 -c 'import llama_cpp; m = llama_cpp.Llama("assets/models/SmolLM2-135M-Instruct.Q4_1.gguf",
#                vocab_only=True, verbose=False); print(m.tokenize(b"Hello world", add_bos=False, special=False))'
# (`scripts/build-llama-cpp.sh --install-python` runs exactly these pip commands.)
# LLAMA_BUILD=OFF is llama-cpp-python's own CMake switch that skips compiling the vendored
# llama.cpp; the package then loads the shared libs from LLAMA_CPP_LIB_PATH at import time.
set -euo pipefail

VERSION=${LLAMA_CPP_PYTHON:-0.3.16}
# The tools built (and checked) besides the library; llama-cli of 0.3.36 is built on its server,
# which is not built here, so that version has none.
TOOLS=(llama-bench llama-perplexity llama-tokenize llama-simple)
case "$VERSION" in
0.3.16)
	SDIST_SHA256=34ed0f9bd9431af045bb63d9324ae620ad0536653740e9bb163a2e1fcb973be6
	TOOLS+=(llama-cli)
	;;
0.3.36)
	SDIST_SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
	TOOLS+=(llama-speculative llama-speculative-simple)
	;;
*)
	echo "LLAMA_CPP_PYTHON=$VERSION is not a pinned version (0.3.16 or 0.3.36)" >&2
	exit 1
	;;
esac
SDIST=llama_cpp_python-$VERSION.tar.gz
CACHE=${LLMCORE_CACHE:-$HOME/.cache/llmcore}
ROOT=$CACHE/llama.cpp/$VERSION
BUILD=$ROOT/build

case "${1:-}" in
--print-dir)
	echo "$BUILD"
	exit 0
	;;
--print-sdist)
	echo "$CACHE/pypi/$SDIST"
	exit 0
	;;
esac

fetch_sdist() {
	mkdir -p "$CACHE/pypi"
	local f=$CACHE/pypi/$SDIST
	if [ ! -f "$f" ] || [ "$(sha256sum "$f" | cut -d' ' -f1)" != "$SDIST_SHA256" ]; then
		rm -f "$f"
		# --no-binary for this package only: its build dependencies (cmake, ninja) may come as
		# wheels, pip only prepares the sdist's metadata.
		if ! pip download --no-deps --no-binary llama-cpp-python -d "$CACHE/pypi" \
			"llama-cpp-python==$VERSION" >"$CACHE/pypi/llama-cpp-python.log" 2>&1; then
			echo "cannot reach PyPI: pip download llama-cpp-python==$VERSION failed:" >&2
			tail -5 "$CACHE/pypi/llama-cpp-python.log" >&2
			exit 1
		fi
	fi
	local got
	got=$(sha256sum "$f" | cut -d' ' -f1)
	if [ "$got" != "$SDIST_SHA256" ]; then
		echo "sha256 mismatch for $f: got $got, want $SDIST_SHA256" >&2
		exit 1
	fi
}

if [ "${1:-}" = "--install-python" ]; then
	fetch_sdist
	pip install numpy typing-extensions diskcache jinja2 "scikit-build-core[pyproject]>=0.9.2"
	pip install --no-deps --no-build-isolation --config-settings=cmake.args=-DLLAMA_BUILD=OFF \
		"$CACHE/pypi/$SDIST"
	echo "export LLAMA_CPP_LIB_PATH=$BUILD/bin"
	exit 0
fi

# A build finished before a tool joined TOOLS is resumed (incrementally) to add it.
complete=1
for t in "${TOOLS[@]}"; do [ -x "$BUILD/bin/$t" ] || complete=0; done
if [ -f "$BUILD/.complete" ] && [ "$complete" = 1 ]; then
	echo "llama.cpp (llama-cpp-python $VERSION) already built in $BUILD"
	exit 0
fi

if ! command -v cmake >/dev/null; then
	echo "cmake missing: apt-get install -y cmake" >&2
	apt-get install -y cmake >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y cmake >/dev/null; } ||
		{ echo "cannot reach Debian: apt-get install cmake failed" >&2; exit 1; }
fi

fetch_sdist
if [ ! -f "$ROOT/src/.extracted" ]; then
	rm -rf "$ROOT/src"
	mkdir -p "$ROOT/src"
	tar xzf "$CACHE/pypi/$SDIST" -C "$ROOT/src" --strip-components=1
	touch "$ROOT/src/.extracted"
fi

JOBS=${JOBS:-$(nproc)}
cmake -S "$ROOT/src/vendor/llama.cpp" -B "$BUILD" \
	-DCMAKE_BUILD_TYPE=Release \
	-DBUILD_SHARED_LIBS=ON \
	-DGGML_NATIVE=ON \
	-DLLAMA_CURL=OFF \
	-DLLAMA_BUILD_TESTS=OFF \
	-DLLAMA_BUILD_TOOLS=ON \
	-DLLAMA_BUILD_EXAMPLES=ON \
	-DLLAMA_BUILD_SERVER=OFF
cmake --build "$BUILD" --config Release -j "$JOBS" --target "${TOOLS[@]}" llama
for t in "${TOOLS[@]}"; do
	test -x "$BUILD/bin/$t" || { echo "build incomplete: $BUILD/bin/$t missing" >&2; exit 1; }
done
touch "$BUILD/.complete"
echo "built llama.cpp (llama-cpp-python $VERSION) in $BUILD"
