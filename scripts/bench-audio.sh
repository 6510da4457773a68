#!/usr/bin/env bash
# Speech front-end throughput against librosa and torchaudio, one thread each, on the same
# samples, in one run: seconds of audio per second for the fastspeech2 log-mel preset and the
# whisper preset at 80 and 128 mels (whisper's own log_mel_spectrogram too when openai-whisper
# is importable beside torch), and F0 by YIN and pYIN against librosa.yin / librosa.pyin
# (75..800 Hz, frame_length 1024, hop_length 256, centred) on the first PITCH_SECONDS.
#
#   scripts/bench-audio.sh   (SECONDS_OF_AUDIO=60, RUNS=10, PITCH_SECONDS=20, PITCH_RUNS=3)
#
# Inputs: benches/audio.rs concatenates the fixture WAVs (tests/data/audio: speech, sweeps,
# tones) at 22,050 Hz and 16 kHz until they last SECONDS_OF_AUDIO and writes them as raw f32;
# both peers read those files. Each side runs each case once to warm up, then RUNS times, and
# reports the median (and best) wall time of one whole-input call:
#   llmcore     FeatureExtractor::compute_into (log-mel only, no energy), the SIMD level the
#               CPU has (LLMCORE_SIMD caps it);
#   librosa     librosa.feature.melspectrogram on float32 samples (as users run it) + the log
#               recipe, in $AUDIO_VENV (default /tmp/audio-venv: numpy, scipy, librosa,
#               soundfile);
#   torchaudio  torchaudio.transforms.MelSpectrogram (built once) + the log recipe, CPU,
#               torch.set_num_threads(1), in $TORCH_VENV (default /tmp/torch-venv:
#               `pip install torch torchaudio openai-whisper`); skipped, and said so, when the
#               venv is missing.
# Both Python sides run with OMP/MKL/OpenBLAS threads = 1. Writes
# bench/audio/results/<UTC timestamp>.json (date, CPU, SIMD flags, load before and after, every
# side's numbers) and prints a markdown table. Run it on a quiet machine: load above 2.5 on a
# 2-core machine distorts both sides; the result records the load.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_OF_AUDIO=${SECONDS_OF_AUDIO:-60}
RUNS=${RUNS:-10}
PITCH_SECONDS=${PITCH_SECONDS:-20}
PITCH_RUNS=${PITCH_RUNS:-3}
AUDIO_VENV=${AUDIO_VENV:-/tmp/audio-venv}
TORCH_VENV=${TORCH_VENV:-/tmp/torch-venv}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1

cargo bench --bench audio --no-run >/dev/null 2>&1 || cargo bench --bench audio --no-run
LOAD_BEFORE=$(uptime | sed 's/.*load average: //')
cargo bench --bench audio -- --seconds "$SECONDS_OF_AUDIO" --runs "$RUNS" \
	--pitch-seconds "$PITCH_SECONDS" --pitch-runs "$PITCH_RUNS" --write-inputs "$WORK" \
	2>/dev/null | sed -n '/^{/,/^]}/p' >"$WORK/llmcore.json"

cat >"$WORK/peer.py" <<'PY'
"""One peer over the bench inputs: prints one JSON object like benches/audio.rs's."""
import json, statistics, sys, time
import numpy as np

peer, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
pitch_seconds, pitch_runs = float(sys.argv[4]), int(sys.argv[5])
inputs = {rate: np.fromfile(f"{work}/{rate}.f32", dtype="<f4") for rate in (22050, 16000)}
CASES = [("fastspeech2", 22050, 1024, 256, 80, 1.0), ("whisper", 16000, 400, 160, 80, 2.0),
         ("whisper-128", 16000, 400, 160, 128, 2.0)]


def whisper_log_numpy(mel):
    log_spec = np.log10(np.maximum(mel, 1e-10))
    return (np.maximum(log_spec, log_spec.max() - 8.0) + 4.0) / 4.0


def whisper_log_torch(mel):
    import torch
    log_spec = torch.clamp(mel, min=1e-10).log10()
    return (torch.maximum(log_spec, log_spec.max() - 8.0) + 4.0) / 4.0


def librosa_case(rate, n_fft, hop, n_mels, power):
    import librosa
    y = inputs[rate]

    def run():
        s = librosa.feature.melspectrogram(
            y=y, sr=rate, n_fft=n_fft, hop_length=hop, win_length=n_fft, window="hann",
            center=True, pad_mode="reflect", power=power, n_mels=n_mels, fmin=0.0,
            fmax=8000.0, htk=False, norm="slaney")
        return np.log(np.maximum(s, 1e-5)) if power == 1.0 else whisper_log_numpy(s[:, :-1])
    return run, f"librosa {librosa.__version__}, numpy {np.__version__}"


def torchaudio_case(rate, n_fft, hop, n_mels, power):
    import torch, torchaudio
    torch.set_num_threads(1)
    y = torch.from_numpy(inputs[rate].copy())
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=rate, n_fft=n_fft, win_length=n_fft, hop_length=hop, f_min=0.0,
        f_max=8000.0, n_mels=n_mels, power=power, norm="slaney", mel_scale="slaney",
        center=True, pad_mode="reflect")

    def run():
        with torch.inference_mode():
            s = mel(y)
            return torch.log(torch.clamp(s, min=1e-5)) if power == 1.0 else \
                whisper_log_torch(s[..., :-1])
    return run, f"torch {torch.__version__}, torchaudio {torchaudio.__version__}"


def whisper_case(rate, n_fft, hop, n_mels, power):
    if power != 2.0:
        return None, None
    import torch, whisper
    torch.set_num_threads(1)
    y = torch.from_numpy(inputs[rate].copy())

    def run():
        with torch.inference_mode():
            return whisper.log_mel_spectrogram(y, n_mels=n_mels)
    return run, f"openai-whisper {whisper.__version__}, torch {torch.__version__}"


def measure(name, run, audio, n):
    run()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    med = statistics.median(times)
    results.append({"case": name, "audio_s": audio, "best_s": min(times), "median_s": med,
                    "audio_s_per_s": round(audio / med, 1)})


make = {"librosa": librosa_case, "torchaudio": torchaudio_case, "whisper": whisper_case}[peer]
results, version = [], None
for name, rate, n_fft, hop, n_mels, power in CASES:
    run, v = make(rate, n_fft, hop, n_mels, power)
    if run is not None:
        version = v
        measure(name, run, len(inputs[rate]) / rate, runs)
if peer == "librosa":
    import librosa
    y = inputs[22050][:int(pitch_seconds * 22050)]
    for f in ("yin", "pyin"):
        run = lambda f=f: getattr(librosa, f)(y, fmin=75.0, fmax=800.0, sr=22050,
                                              frame_length=1024, hop_length=256, center=True)
        measure(f, run, len(y) / 22050, pitch_runs)
print(json.dumps({"side": peer, "version": version, "threads": 1, "runs": runs,
                  "results": results}))
PY

PEER_ARGS=("$WORK" "$RUNS" "$PITCH_SECONDS" "$PITCH_RUNS")
"$AUDIO_VENV/bin/python" "$WORK/peer.py" librosa "${PEER_ARGS[@]}" >"$WORK/librosa.json"
PEERS="librosa"
if [ -x "$TORCH_VENV/bin/python" ]; then
	"$TORCH_VENV/bin/python" -W ignore "$WORK/peer.py" torchaudio "${PEER_ARGS[@]}" \
		>"$WORK/torchaudio.json"
	PEERS="$PEERS torchaudio"
	if "$TORCH_VENV/bin/python" -c 'import whisper' 2>/dev/null; then
		"$TORCH_VENV/bin/python" -W ignore "$WORK/peer.py" whisper "${PEER_ARGS[@]}" \
			>"$WORK/whisper.json"
		PEERS="$PEERS whisper"
	fi
else
	echo "# torchaudio: not measured ($TORCH_VENV/bin/python is missing)" >&2
fi
LOAD_AFTER=$(uptime | sed 's/.*load average: //')

mkdir -p bench/audio/results
STAMP=$(date -u '+%Y%m%dT%H%M%SZ')
OUT=bench/audio/results/$STAMP.json
python3 - "$WORK" "$OUT" "$LOAD_BEFORE" "$LOAD_AFTER" "$SECONDS_OF_AUDIO" "$PITCH_SECONDS" \
	"$PITCH_RUNS" $PEERS <<'PY'
import datetime, json, os, re, sys
work, out, load_before, load_after, seconds, pitch_seconds, pitch_runs = sys.argv[1:8]
peers = sys.argv[8:]
ours = json.load(open(f"{work}/llmcore.json"))
sides = {p: json.load(open(f"{work}/{p}.json")) for p in peers}
cpuinfo = open("/proc/cpuinfo").read()
cpu = re.search(r"model name\s*:\s*(.*)", cpuinfo).group(1)
flags = sorted(set(re.findall(r"\b(avx512[a-z_]*|avx2)\b", cpuinfo)))
record = {
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "cpu": cpu, "cpu_simd_flags": flags, "cores": os.cpu_count(),
    "load_before": load_before, "load_after": load_after, "seconds_of_audio": float(seconds),
    "pitch_seconds": float(pitch_seconds), "pitch_runs": int(pitch_runs),
    "command": "scripts/bench-audio.sh", "llmcore": ours, "peers": sides,
}
json.dump(record, open(out, "w"), indent=1)
open(out, "a").write("\n")

def rate(side, case):
    for r in side["results"]:
        if r["case"] == case:
            return r["audio_s_per_s"]
    return None

print(f"# {record['date']}, {cpu}, {record['cores']} cores, one thread per side; "
      f"CPU SIMD: {' '.join(flags)}; llmcore SIMD level: {ours['simd']} (the FFT's vector "
      f"code: {ours['fft']})")
print(f"# load before: {load_before}; after: {load_after}; log-mel: {seconds} s of audio per "
      f"call, median of {ours['runs']} runs; F0: the first {pitch_seconds} s, median of "
      f"{pitch_runs} runs")
for p, s in sides.items():
    print(f"# {p}: {s['version']}")
header = "| case | llmcore (s audio / s) |" + "".join(f" {p} |" for p in sides) + \
    "".join(f" llmcore / {p} |" for p in sides)
print(header)
print("|" + "---|" * (2 + 2 * len(sides)))
for r in ours["results"]:
    row = f"| {r['case']} | {r['audio_s_per_s']:.0f} |"
    peer_rates = [rate(s, r["case"]) for s in sides.values()]
    row += "".join(f" {x:.0f} |" if x else " - |" for x in peer_rates)
    row += "".join(f" {r['audio_s_per_s'] / x:.2f}x |" if x else " - |" for x in peer_rates)
    print(row)
print(f"# written to {out}")
PY
