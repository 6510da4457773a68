#!/usr/bin/env python3
"""librosa's YIN and pYIN on the speech fixtures: what tests/audio_pitch.rs compares
llmcore::audio::pitch against.

Inputs: the espeak-ng speech fixtures tests/data/audio/{zh-150,zh-230,en-120,en-200}.wav
(22,050 Hz, 16-bit mono PCM, made by scripts/make_audio_fixtures.sh), read by soundfile as
float64 (sample / 32768, exactly the values the Rust test reads as f32).

For each file, with the settings of llmcore's `PitchConfig::new(22050)`:

  librosa.yin(y, fmin=75, fmax=800, sr=22050, frame_length=2048, hop_length=512,
              trough_threshold=0.1, center=True, pad_mode="constant")
  librosa.pyin(y, fmin=75, fmax=800, sr=22050, frame_length=2048, hop_length=512,
               n_thresholds=100, beta_parameters=(2, 18), boltzmann_parameter=2,
               resolution=0.1, max_transition_rate=35.92, switch_prob=0.01,
               no_trough_prob=0.01, fill_na=nan, center=True, pad_mode="constant")

Writes tests/data/audio/ref/pitch.json (versions, settings, per-file frame counts and input
sha256, and the index of the arrays) and tests/data/audio/ref/pitch.bin (the arrays as
little-endian float32, concatenated in the JSON's order; offsets and lengths count floats),
the repository's f32 fixture format (tests/common/mod.rs: f32_fixture). Arrays, one per file
stem:

  <stem>/yin_f0            YIN f0 per frame (Hz)
  <stem>/pyin_f0           pYIN f0 per frame (Hz; NaN on unvoiced frames)
  <stem>/pyin_voiced       pYIN voiced flag per frame (1.0 voiced, 0.0 unvoiced)
  <stem>/pyin_voiced_prob  pYIN voiced probability per frame

Made with Python 3.11.7, librosa 0.11.0, numpy 2.4.6, scipy 1.17.1, numba 0.68.1, soundfile
0.14.0 (the versions are recorded in the JSON). To rerun (about a minute, most of it numba
compiling librosa's kernels):

  python3 -m venv /tmp/audio-venv
  /tmp/audio-venv/bin/pip install librosa==0.11.0 numpy scipy soundfile
  /tmp/audio-venv/bin/python scripts/pitch_reference.py [OUT_DIR]   (default tests/data/audio/ref)
"""

import hashlib
import importlib.metadata
import json
import os
import platform
import sys

import librosa
import numpy as np
import soundfile as sf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEMS = ["zh-150", "zh-230", "en-120", "en-200"]
SR = 22050
YIN = dict(fmin=75.0, fmax=800.0, sr=SR, frame_length=2048, hop_length=512,
           trough_threshold=0.1, center=True, pad_mode="constant")
PYIN = dict(fmin=75.0, fmax=800.0, sr=SR, frame_length=2048, hop_length=512,
            n_thresholds=100, beta_parameters=(2, 18), boltzmann_parameter=2,
            resolution=0.1, max_transition_rate=35.92, switch_prob=0.01,
            no_trough_prob=0.01, center=True, pad_mode="constant")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "tests/data/audio/ref")
    os.makedirs(out_dir, exist_ok=True)
    arrays, index, files = [], [], {}
    offset = 0

    def add(name, values):
        nonlocal offset
        values = np.asarray(values, dtype=np.float32)
        arrays.append(values)
        index.append({"name": name, "offset": offset, "len": int(values.size)})
        offset += int(values.size)

    for stem in STEMS:
        path = os.path.join(REPO, "tests/data/audio", stem + ".wav")
        y, sr = sf.read(path, dtype="float64")
        assert sr == SR and y.ndim == 1, (path, sr, y.shape)
        yin_f0 = librosa.yin(y, **YIN)
        f0, voiced, voiced_prob = librosa.pyin(y, fill_na=np.nan, **PYIN)
        assert len(yin_f0) == len(f0)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        files[stem] = {"samples": int(y.size), "frames": int(f0.size), "sha256": digest,
                       "voiced_frames": int(voiced.sum())}
        add(stem + "/yin_f0", yin_f0)
        add(stem + "/pyin_f0", f0)
        add(stem + "/pyin_voiced", voiced.astype(np.float32))
        add(stem + "/pyin_voiced_prob", voiced_prob)
        print(f"{stem}: {y.size} samples, {f0.size} frames, {int(voiced.sum())} voiced")

    versions = {name: importlib.metadata.version(name)
                for name in ["librosa", "numpy", "scipy", "soundfile", "numba"]}
    versions["python"] = platform.python_version()
    meta = {
        "script": "scripts/pitch_reference.py",
        "versions": versions,
        "input": "soundfile.read(dtype='float64'): 16-bit PCM / 32768",
        "yin": YIN,
        "pyin": dict(PYIN, fill_na="nan"),
        "files": files,
        "arrays": index,
    }
    with open(os.path.join(out_dir, "pitch.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    with open(os.path.join(out_dir, "pitch.bin"), "wb") as f:
        f.write(np.concatenate(arrays).astype("<f4").tobytes())


if __name__ == "__main__":
    main()
