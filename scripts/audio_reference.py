#!/usr/bin/env python3
"""Float64 references for the speech front end's log-mel features (tests/audio_features.rs).

Writes tests/data/audio/ref/features.{json,bin} in the repository's f32 fixture format
(`f32_fixture` in tests/common/mod.rs: the JSON's "arrays" list {name, offset, len} in floats,
the .bin little-endian f32):

- for each fixture WAV at a preset's rate, the log-mel frames and the frame energy:
  * fastspeech2 (22,050 Hz; fmin 0 and 80): librosa.stft(n_fft=1024, hop_length=256,
    win_length=1024, window="hann", center=True, pad_mode="reflect") on float64 samples
    (complex128), |S|, librosa.filters.mel(sr, 1024, 80, fmin, 8000, htk=False, norm="slaney",
    dtype=float64) @ |S|, ln(max(x, 1e-5)); energy = the L2 norm of each frame of |S|;
  * whisper (16 kHz; 80 and 128 mels): openai-whisper's log_mel_spectrogram as its source
    documents it, written here in numpy: torch.stft(n_fft=400, hop=160, periodic Hann,
    center=True, reflect padding), |S|^2 without the last frame, the librosa Slaney mel bank
    (sr 16000, n_fft 400, fmax 8000, what whisper's assets/mel_filters.npz holds), then
    y = log10(max(x, 1e-10)), y = max(y, max(y) - 8), (y + 4) / 4; energy as above on the
    same frames;
  long files keep every 4th frame plus the first and last 8 (their indices are in "frames"),
  files of at most 200 frames keep all of them;
- librosa's mel filter banks (float64, stored sparsely: each filter's first bin and weights)
  for the presets and two other scale/norm combinations, and, when --whisper-assets is given,
  whisper's own mel_filters.npz banks.

Rerun (from the repository root; the venv needs numpy 2.4, scipy, librosa 0.11, soundfile):
    python3 -m venv /tmp/audio-venv && /tmp/audio-venv/bin/pip install numpy scipy librosa soundfile
    pip download openai-whisper --no-deps --no-binary :all: -d /tmp/whisper-dl   # optional
    tar -xzf /tmp/whisper-dl/openai_whisper-*.tar.gz -C /tmp/whisper-dl
    /tmp/audio-venv/bin/python scripts/audio_reference.py \
        --whisper-assets /tmp/whisper-dl/openai_whisper-20250625/whisper/assets
The WAVs themselves come from scripts/make_audio_fixtures.sh (committed; not regenerated here).

Cross-check against openai-whisper itself (torch float32; prints, writes nothing; measured with
openai-whisper 20250625 and torch 2.15: within 6.7e-5 of these references), from a venv
with torch and openai-whisper (`pip install torch openai-whisper librosa soundfile`):
    /tmp/torch-venv/bin/python scripts/audio_reference.py --check-whisper-torch
"""

import argparse
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AUDIO = os.path.join(ROOT, "tests", "data", "audio")
OUT = os.path.join(AUDIO, "ref", "features")

FASTSPEECH2_WAVS = ["zh-150", "zh-230", "en-120", "en-200", "sweep-22k",
                    "tone-110", "tone-220", "tone-440"]
WHISPER_WAVS = ["zh-150-16k-s16", "sweep-16k", "silence-16k"]
KEEP_ALL_FRAMES = 200
EDGE_FRAMES = 8
STRIDE = 4


def read_wav(stem, rate):
    import soundfile as sf
    y, sr = sf.read(os.path.join(AUDIO, stem + ".wav"), dtype="float64", always_2d=True)
    assert sr == rate, f"{stem}.wav is at {sr} Hz, expected {rate}"
    assert y.shape[1] == 1, f"{stem}.wav is not mono"
    return y[:, 0]


def mel_bank(sr, n_fft, n_mels, fmin, fmax, htk, norm):
    import librosa
    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
                               htk=htk, norm=norm, dtype=np.float64)


def fastspeech2(y, fmin):
    """ming024/FastSpeech2's TacotronSTFT recipe through librosa, in float64."""
    import librosa
    s = librosa.stft(y, n_fft=1024, hop_length=256, win_length=1024, window="hann",
                     center=True, pad_mode="reflect")
    assert s.dtype == np.complex128
    mag = np.abs(s)                                   # bins x frames
    mel = mel_bank(22050, 1024, 80, fmin, 8000.0, False, "slaney") @ mag
    return np.log(np.maximum(mel, 1e-5)).T, np.sqrt((mag ** 2).sum(axis=0))


def whisper(y, n_mels):
    """openai-whisper's log_mel_spectrogram, in numpy float64 (see the module docstring)."""
    n_fft, hop = 400, 160
    padded = np.pad(y, n_fft // 2, mode="reflect")
    n_frames = 1 + (len(padded) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)   # periodic Hann
    power = np.abs(np.fft.rfft(padded[idx] * window, axis=1)) ** 2       # frames x bins
    power = power[:-1]                                                   # stft[..., :-1]
    mel = power @ mel_bank(16000, n_fft, n_mels, 0.0, 8000.0, False, "slaney").T
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0, np.sqrt(power.sum(axis=1))


def kept_frames(n):
    if n <= KEEP_ALL_FRAMES:
        return list(range(n))
    keep = set(range(0, n, STRIDE)) | set(range(EDGE_FRAMES)) | set(range(n - EDGE_FRAMES, n))
    return sorted(keep)


class Fixture:
    def __init__(self):
        self.arrays, self.chunks, self.offset = [], [], 0

    def add(self, name, values):
        v = np.ascontiguousarray(values, dtype="<f4").ravel()
        self.arrays.append({"name": name, "offset": self.offset, "len": int(v.size)})
        self.chunks.append(v)
        self.offset += v.size
        return name

    def add_bank(self, name, dense):
        """Sparse: each row's first nonzero bin and its run of weights."""
        rows, runs = [], []
        for row in dense:
            nz = np.nonzero(row)[0]
            first, last = (int(nz[0]), int(nz[-1]) + 1) if nz.size else (0, 0)
            rows.append([first, last - first])
            runs.append(row[first:last])
        self.add(name, np.concatenate(runs) if runs else np.zeros(0))
        return rows


def build(args):
    import librosa
    import scipy
    fx = Fixture()
    cases = []
    for stem in FASTSPEECH2_WAVS:
        y = read_wav(stem, 22050)
        for fmin in (0.0, 80.0):
            log_mel, energy = fastspeech2(y, fmin)
            cases.append(case(fx, stem, "fastspeech2", {"fmin": fmin}, log_mel, energy))
    for stem in WHISPER_WAVS:
        y = read_wav(stem, 16000)
        for n_mels in (80, 128):
            log_mel, energy = whisper(y, n_mels)
            cases.append(case(fx, stem, "whisper", {"n_mels": n_mels}, log_mel, energy))

    banks = []
    for sr, n_fft, n_mels, fmin, fmax, htk, norm in [
        (22050, 1024, 80, 0.0, 8000.0, False, "slaney"),
        (22050, 1024, 80, 80.0, 8000.0, False, "slaney"),
        (16000, 400, 80, 0.0, 8000.0, False, "slaney"),
        (16000, 400, 128, 0.0, 8000.0, False, "slaney"),
        (16000, 512, 40, 20.0, 7600.0, True, None),
        (22050, 1024, 64, 125.0, 11025.0, False, None),
    ]:
        name = f"librosa/sr{sr}-nfft{n_fft}-mels{n_mels}-fmin{fmin:g}-fmax{fmax:g}-" \
               f"{'htk' if htk else 'slaney'}-norm{norm or 'none'}"
        rows = fx.add_bank(name, mel_bank(sr, n_fft, n_mels, fmin, fmax, htk, norm))
        banks.append({"name": name, "source": "librosa.filters.mel (float64)", "sr": sr,
                      "n_fft": n_fft, "n_mels": n_mels, "fmin": fmin, "fmax": fmax,
                      "htk": htk, "norm": norm, "rows": rows})
    if args.whisper_assets:
        npz = np.load(os.path.join(args.whisper_assets, "mel_filters.npz"))
        for n_mels in (80, 128):
            dense = npz[f"mel_{n_mels}"].astype(np.float64)
            ref = mel_bank(16000, 400, n_mels, 0.0, 8000.0, False, "slaney")
            diff = float(np.abs(dense - ref).max())
            print(f"whisper mel_filters.npz mel_{n_mels} vs librosa float64: max |diff| {diff:.2e}")
            name = f"whisper/mel_{n_mels}"
            rows = fx.add_bank(name, dense)
            banks.append({"name": name, "source": "openai-whisper assets/mel_filters.npz",
                          "sr": 16000, "n_fft": 400, "n_mels": n_mels, "fmin": 0.0,
                          "fmax": 8000.0, "htk": False, "norm": "slaney", "rows": rows,
                          "max_abs_diff_vs_librosa": diff})

    meta = {
        "generator": "scripts/audio_reference.py",
        "numpy": np.__version__, "scipy": scipy.__version__, "librosa": librosa.__version__,
        "frames_kept": f"all when at most {KEEP_ALL_FRAMES}, else every {STRIDE}th plus the "
                       f"first and last {EDGE_FRAMES}",
        "cases": cases, "banks": banks, "arrays": fx.arrays,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT + ".json", "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    np.concatenate(fx.chunks).astype("<f4").tofile(OUT + ".bin")
    size = os.path.getsize(OUT + ".bin") + os.path.getsize(OUT + ".json")
    print(f"wrote {OUT}.{{json,bin}}: {len(cases)} cases, {len(banks)} banks, {size} bytes")


def case(fx, stem, preset, options, log_mel, energy):
    frames = kept_frames(log_mel.shape[0])
    tag = f"{stem}/{preset}/" + "-".join(f"{k}{v:g}" for k, v in options.items())
    return {
        "wav": stem + ".wav", "preset": preset, **options,
        "n_frames": int(log_mel.shape[0]), "frames": frames,
        "log_mel": fx.add(tag + "/log_mel", log_mel[frames]),
        "energy": fx.add(tag + "/energy", energy),
    }


def check_whisper_torch():
    """whisper.log_mel_spectrogram itself (torch, float32) against the committed references."""
    import torch
    import whisper
    meta = json.load(open(OUT + ".json"))
    bins = np.fromfile(OUT + ".bin", dtype="<f4")
    arrays = {a["name"]: bins[a["offset"]:a["offset"] + a["len"]] for a in meta["arrays"]}
    torch.set_num_threads(1)
    for c in meta["cases"]:
        if c["preset"] != "whisper":
            continue
        y = read_wav(c["wav"][:-4], 16000).astype(np.float32)
        got = whisper.log_mel_spectrogram(torch.from_numpy(y), n_mels=c["n_mels"]).numpy().T
        assert got.shape[0] == c["n_frames"], (got.shape, c["n_frames"])
        ref = arrays[c["log_mel"]].reshape(len(c["frames"]), c["n_mels"])
        diff = np.abs(got[c["frames"]] - ref).max()
        print(f"{c['wav']} whisper n_mels {c['n_mels']}: whisper (torch f32) vs float64 "
              f"reference: max |diff| {diff:.2e}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--whisper-assets", help="openai-whisper's whisper/assets directory")
    p.add_argument("--check-whisper-torch", action="store_true",
                   help="compare whisper.log_mel_spectrogram with the committed references")
    args = p.parse_args()
    if args.check_whisper_torch:
        check_whisper_torch()
    else:
        build(args)


if __name__ == "__main__":
    sys.exit(main())
