#!/usr/bin/env bash
# The speech front end's test waveforms (tests/data/audio/*.wav): Mandarin and English speech
# synthesized by espeak-ng at several speaking rates, converted by sox to the sample rates and
# sample formats the WAV reader must accept, plus sine sweeps, steady tones and silence.
# Outputs are committed (CI needs neither tool); rerun only to change the set:
#   apt-get install espeak-ng sox && scripts/make_audio_fixtures.sh
# Made with eSpeak NG 1.51 and SoX 14.4.2 (Debian 12); other versions give other bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=tests/data/audio
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

ZH="今天天气很好，我们一起去公园散步吧。"
ZH2="新闻报道说，二零二四年的经济增长了百分之五。"
EN="The quick brown fox jumps over the lazy dog, and then it rests."
speak() { # voice rate text out
	espeak-ng -v "$1" -s "$2" -w "$TMP/raw.wav" "$3"
	# espeak-ng writes 22,050 Hz 16-bit mono; normalise the header through sox
	sox "$TMP/raw.wav" "$4"
}

speak cmn 150 "$ZH" "$OUT/zh-150.wav"
speak cmn 230 "$ZH2" "$OUT/zh-230.wav"
speak en 120 "$EN" "$OUT/en-120.wav"
speak en 200 "$EN" "$OUT/en-200.wav"

# Sample rates and formats the reader and resampler see in practice.
sox "$OUT/zh-150.wav" -r 16000 -b 16 "$OUT/zh-150-16k-s16.wav" gain -1
sox "$OUT/en-120.wav" -r 44100 -b 24 -c 2 "$OUT/en-120-44k-s24-stereo.wav" trim 0 2 gain -1
sox "$OUT/zh-230.wav" -r 48000 -e floating-point -b 32 "$OUT/zh-230-48k-f32.wav" trim 0 2.5 gain -1
sox "$OUT/en-200.wav" -r 8000 -e signed-integer -b 32 "$OUT/en-200-8k-s32.wav" gain -1

# Sweeps, steady tones (F0 within 1%), silence.
sox -n -r 22050 -b 16 "$OUT/sweep-22k.wav" synth 2 sine 60-8000 vol 0.5
sox -n -r 16000 -b 16 "$OUT/sweep-16k.wav" synth 2 sine 60-7000 vol 0.5
for f in 110 220 440; do
	sox -n -r 22050 -b 16 "$OUT/tone-$f.wav" synth 1 sine "$f" vol 0.5
done
sox -n -r 16000 -b 16 "$OUT/silence-16k.wav" trim 0 1
ls -l "$OUT"/*.wav
