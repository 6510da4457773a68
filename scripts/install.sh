#!/usr/bin/env bash
# Installs libllmcore's C API: the libraries, the headers (llmcore.h and the C++ wrapper
# llmcore.hpp), a pkg-config file and a CMake package configuration.
#
#   scripts/install.sh [--prefix DIR] [--no-build]
#
# PREFIX (default /usr/local) may also come from the environment; DESTDIR is honoured for
# staged installs. Without --no-build it first runs `cargo build --release -p llmcore-ffi`.
# Layout under PREFIX:
#   lib/libllmcore.a  lib/libllmcore.so.X.Y.Z  lib/libllmcore.so.ABI -> ..  lib/libllmcore.so -> ..
#   include/llmcore.h  include/llmcore.hpp
#   lib/pkgconfig/llmcore.pc  lib/cmake/llmcore/llmcoreConfig{,Version}.cmake
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX="${PREFIX:-/usr/local}"
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="$2"; shift 2 ;;
    --prefix=*) PREFIX="${1#--prefix=}"; shift ;;
    --no-build) BUILD=0; shift ;;
    *) echo "usage: $0 [--prefix DIR] [--no-build]" >&2; exit 2 ;;
  esac
done
case "$PREFIX" in /*) ;; *) PREFIX="$(pwd)/$PREFIX" ;; esac

VERSION="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)"
ABI="$(sed -n 's/^pub const LLMC_ABI_VERSION: u32 = \([0-9]*\);/\1/p' ffi/src/lib.rs)"
MAJOR="${VERSION%%.*}"
MINOR="$(echo "$VERSION" | cut -d. -f2)"
[ -n "$VERSION" ] && [ -n "$ABI" ] || { echo "cannot read the version or ABI version" >&2; exit 1; }

if [ "$BUILD" = 1 ]; then
  cargo build --release -p llmcore-ffi
fi
TARGET="${CARGO_TARGET_DIR:-target}/release"
for f in libllmcore.a libllmcore.so; do
  [ -f "$TARGET/$f" ] || { echo "$TARGET/$f is missing: build first" >&2; exit 1; }
done

DEST="${DESTDIR:-}$PREFIX"
LIBDIR="$DEST/lib"
install -d "$LIBDIR/pkgconfig" "$LIBDIR/cmake/llmcore" "$DEST/include"
install -m 644 "$TARGET/libllmcore.a" "$LIBDIR/libllmcore.a"
install -m 755 "$TARGET/libllmcore.so" "$LIBDIR/libllmcore.so.$VERSION"
ln -sf "libllmcore.so.$VERSION" "$LIBDIR/libllmcore.so.$ABI"
ln -sf "libllmcore.so.$ABI" "$LIBDIR/libllmcore.so"
install -m 644 include/llmcore.h "$DEST/include/llmcore.h"
install -m 644 bindings/cpp/llmcore.hpp "$DEST/include/llmcore.hpp"

subst() {
  sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@LIBDIR@|$PREFIX/lib|g" \
      -e "s|@INCLUDEDIR@|$PREFIX/include|g" -e "s|@VERSION@|$VERSION|g" \
      -e "s|@ABI@|$ABI|g" -e "s|@MAJOR@|$MAJOR|g" -e "s|@MINOR@|$MINOR|g" "$1" > "$2"
}
subst ffi/llmcore.pc.in "$LIBDIR/pkgconfig/llmcore.pc"
subst cmake/llmcoreConfig.cmake.in "$LIBDIR/cmake/llmcore/llmcoreConfig.cmake"
subst cmake/llmcoreConfigVersion.cmake.in "$LIBDIR/cmake/llmcore/llmcoreConfigVersion.cmake"
echo "installed libllmcore $VERSION (ABI $ABI) under $DEST"
