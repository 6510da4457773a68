#!/usr/bin/env python3
"""Reference outputs for the WAV reader and the resampler (core/src/audio/{wav,resample}.rs),
made by libsndfile (through Python's soundfile) and soxr (through librosa), never by our code.

Writes:
  fuzz/seeds/wav/*.wav            small WAVs (< 2 KB): every sample format and layout the reader
                                  accepts, written by libsndfile (plus one assembled by hand with
                                  odd-sized and trailing chunks), and three non-PCM files
                                  (mu-law, A-law, MS ADPCM) that it must refuse. They are the
                                  fuzz target's seeds and fixtures of tests/audio_wav.rs.
  tests/data/audio/ref/wav_reference.{json,bin}
                                  per readable file (tests/data/audio/*.wav and the PCM seeds):
                                  soundfile's rate, channels, frames, subtype, and its float32
                                  samples: sha256 of all of them (little-endian bytes), their
                                  sum and sum of squares (float64), and the first and middle
                                  1000 interleaved samples as arrays.
  tests/data/audio/ref/resample_soxr.{json,bin}
                                  librosa.resample(res_type="soxr_hq") of two speech fixtures
                                  to 16 kHz: 8000 output samples from output index 16000.

Usage (numpy, soundfile, librosa; the versions used are recorded in the JSON):
  python3 scripts/wav_reference.py
"""
import hashlib
import json
import struct
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parent.parent
AUDIO = ROOT / "tests/data/audio"
REF = AUDIO / "ref"
SEEDS = ROOT / "fuzz/seeds/wav"
WINDOW = 1000  # samples per stored excerpt


def int32_codes(rng, n):
    """Full-range int32 codes, the extremes included; libsndfile keeps their top bits."""
    codes = rng.integers(-(2**31), 2**31, size=n, dtype=np.int64)
    codes[:4] = [-(2**31), 2**31 - 1, 0, -1]
    return codes.astype(np.int32)


def float_values(rng, n):
    """Values in [-1, 1) plus some that integer formats would clip (floats store them as is)."""
    x = rng.uniform(-1, 1, size=n)
    x[:5] = [1.0, -1.0, 1.5, -2.25, 1e-30]
    return x


def zero_peak_timestamp(path):
    """libsndfile's PEAK chunk (float files) holds the write time: zero it, for stable bytes."""
    b = bytearray(path.read_bytes())
    at = b.find(b"PEAK")  # "PEAK", u32 size, u32 version, u32 timestamp, peaks
    if at >= 0:
        b[at + 12 : at + 16] = bytes(4)
        path.write_bytes(bytes(b))


def write_seeds():
    SEEDS.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240611)
    # (file, rate, channels, frames, soundfile format, subtype, integer input?)
    made_by_libsndfile = [
        ("u8-3ch-11025.wav", 11025, 3, 101, "WAV", "PCM_U8", True),
        ("s16-stereo-8000.wav", 8000, 2, 128, "WAV", "PCM_16", True),
        ("s24-mono-44100.wav", 44100, 1, 150, "WAV", "PCM_24", True),
        ("s32-mono-16000.wav", 16000, 1, 120, "WAV", "PCM_32", True),
        ("f32-mono-22050.wav", 22050, 1, 120, "WAV", "FLOAT", False),
        ("f64-stereo-48000.wav", 48000, 2, 60, "WAV", "DOUBLE", False),
        ("wavex-f32-stereo-16000.wav", 16000, 2, 100, "WAVEX", "FLOAT", False),
        ("wavex-s16-5ch-48000.wav", 48000, 5, 60, "WAVEX", "PCM_16", True),
        ("ulaw-8000.wav", 8000, 1, 200, "WAV", "ULAW", False),
        ("alaw-8000.wav", 8000, 1, 200, "WAV", "ALAW", False),
        ("ms-adpcm-8000.wav", 8000, 1, 500, "WAV", "MS_ADPCM", False),
    ]
    for name, rate, channels, frames, fmt, subtype, integer in made_by_libsndfile:
        n = frames * channels
        data = int32_codes(rng, n) if integer else float_values(rng, n)
        sf.write(SEEDS / name, data.reshape(frames, channels), rate, subtype=subtype, format=fmt)
        zero_peak_timestamp(SEEDS / name)

    # By hand, as the RIFF specification describes it: 16-bit mono with an odd-sized LIST chunk
    # (and its pad byte) between fmt and data, and a chunk after the data.
    codes = (np.arange(-20, 21) * 1500).astype("<i2").tobytes()
    info = b"INFO" + b"ICMT" + struct.pack("<I", 5) + b"odd!\0" + b"\0"  # 4 + 8 + 5 + pad
    info_size = 4 + 8 + 5
    chunks = [
        b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 12000, 24000, 2, 16),
        b"LIST" + struct.pack("<I", info_size) + info,
        b"data" + struct.pack("<I", len(codes)) + codes,
        b"tail" + struct.pack("<I", 3) + b"xyz\0",
    ]
    body = b"WAVE" + b"".join(chunks)
    (SEEDS / "list-odd-chunk-12000.wav").write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)

    for p in sorted(SEEDS.glob("*.wav")):
        assert p.stat().st_size < 2048, p


class Fixture:
    """Arrays (as float32) and their index, in the layout tests/common/mod.rs reads."""

    def __init__(self):
        self.arrays, self.index, self.offset = [], [], 0

    def add(self, name, values):
        a = np.ascontiguousarray(values, dtype="<f4")
        self.index.append({"name": name, "offset": self.offset, "len": int(a.size)})
        self.arrays.append(a)
        self.offset += a.size
        return name

    def write(self, stem, meta):
        meta["arrays"] = self.index
        (REF / f"{stem}.json").write_text(json.dumps(meta, indent=1) + "\n")
        (REF / f"{stem}.bin").write_bytes(np.concatenate(self.arrays).tobytes())


def wav_reference():
    fx = Fixture()
    files = []
    readable = sorted(AUDIO.glob("*.wav")) + [
        p for p in sorted(SEEDS.glob("*.wav")) if sf.info(p).subtype not in ("ULAW", "ALAW", "MS_ADPCM")
    ]
    for path in readable:
        rel = path.relative_to(ROOT).as_posix()
        info = sf.info(path)
        y, rate = sf.read(path, dtype="float32", always_2d=True)
        flat = y.reshape(-1)  # frames x channels, row-major: interleaved
        mid = (flat.size // 2) // info.channels * info.channels
        files.append(
            {
                "path": rel,
                "rate": rate,
                "channels": info.channels,
                "frames": int(y.shape[0]),
                "subtype": info.subtype,
                "sha256": hashlib.sha256(flat.astype("<f4").tobytes()).hexdigest(),
                "sum": float(flat.astype(np.float64).sum()),
                "sum_sq": float(np.square(flat.astype(np.float64)).sum()),
                "head": fx.add(f"{path.name}:head", flat[:WINDOW]),
                "mid_start": int(mid),
                "mid": fx.add(f"{path.name}:mid", flat[mid : mid + WINDOW]),
            }
        )
    meta = {
        "made_by": "scripts/wav_reference.py",
        "soundfile": sf.__version__,
        "libsndfile": sf.__libsndfile_version__,
        "read_as": "soundfile.read(path, dtype='float32', always_2d=True), interleaved",
        "files": files,
    }
    fx.write("wav_reference", meta)


def resample_reference():
    fx = Fixture()
    cases = []
    for name, target in [("zh-150.wav", 16000), ("zh-230-48k-f32.wav", 16000)]:
        y, rate = sf.read(AUDIO / name, dtype="float32")
        out = librosa.resample(y.astype(np.float64), orig_sr=rate, target_sr=target, res_type="soxr_hq")
        start, length = 16000, 8000
        cases.append(
            {
                "path": f"tests/data/audio/{name}",
                "from": rate,
                "to": target,
                "output_len": int(out.size),
                "start": start,
                "soxr_hq": fx.add(f"{name}->{target}", out[start : start + length]),
            }
        )
    meta = {
        "made_by": "scripts/wav_reference.py",
        "librosa": librosa.__version__,
        "soxr": soxr.__version__,
        "call": "librosa.resample(y.astype(float64), orig_sr, target_sr, res_type='soxr_hq'), "
        "y = soundfile.read(path, dtype='float32')",
        "cases": cases,
    }
    fx.write("resample_soxr", meta)


if __name__ == "__main__":
    REF.mkdir(parents=True, exist_ok=True)
    write_seeds()
    wav_reference()
    resample_reference()
    for p in sorted(REF.glob("wav_reference.*")) + sorted(REF.glob("resample_soxr.*")) + sorted(SEEDS.iterdir()):
        print(f"{p.stat().st_size:8d} {p.relative_to(ROOT)}")
