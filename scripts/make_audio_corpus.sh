#!/usr/bin/env bash
# A small MSceneSpeech-style corpus for the corpus reader's tests (tests/data/audio/corpus/):
# SCENE/SPEAKER/ID.wav + ID.txt, where espeak-ng's Mandarin voice variants stand in for speakers
# and speaking rate, pitch and word gaps stand in for scenes:
#   news  fast, low pitch, no gaps        story  slow, mid-high pitch, long gaps
#   chat  mid rate, high pitch, short gaps qa    mid-slow, mid pitch, mid gaps
# 4 scenes x 2 speakers x 2 utterances, 16 kHz 16-bit mono (the reader resamples to each preset).
# Outputs are committed; rerun only to change the set:
#   apt-get install espeak-ng sox && scripts/make_audio_corpus.sh
# Made with eSpeak NG 1.51 and SoX 14.4.2 (Debian 12).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=tests/data/audio/corpus
rm -rf "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

TEXTS=(
	"我们明天见面。"
	"这是一个故事。"
	"火车站怎么走？"
	"粮食增产了。"
	"他给孩子讲故事。"
	"你喜欢吃米饭吗？"
	"新图书馆开了。"
	"天气冷了。"
)
#        scene  rate pitch gap(10 ms)
SCENES=("news 230 40 0" "story 130 60 15" "chat 185 85 2" "qa 160 50 6")
SPEAKERS=("spk_m3 cmn+m3" "spk_f3 cmn+f3")

i=0
for scene_row in "${SCENES[@]}"; do
	read -r scene rate pitch gap <<<"$scene_row"
	for spk_row in "${SPEAKERS[@]}"; do
		read -r spk voice <<<"$spk_row"
		mkdir -p "$OUT/$scene/$spk"
		for u in 1 2; do
			text=${TEXTS[i % ${#TEXTS[@]}]}
			i=$((i + 1))
			id=$(printf "%s_%s_%02d" "$scene" "$spk" "$u")
			espeak-ng -v "$voice" -s "$rate" -p "$pitch" -g "$gap" -w "$TMP/raw.wav" "$text"
			sox "$TMP/raw.wav" -r 16000 -b 16 "$OUT/$scene/$spk/$id.wav" gain -1
			printf "%s\n" "$text" >"$OUT/$scene/$spk/$id.txt"
		done
	done
done
du -sh "$OUT"
