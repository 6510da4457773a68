//! The WAV reader and writer (`llmcore::audio::wav`) against libsndfile, on the committed
//! fixtures:
//! - every readable file (tests/data/audio/*.wav from sox, and the libsndfile-written seeds in
//!   fuzz/seeds/wav/) decodes to the same f32 samples as `soundfile.read(dtype='float32')`,
//!   bit for bit: sha256 over all samples, two 1000-sample excerpts compared exactly, and the
//!   sum / sum of squares (references from scripts/wav_reference.py);
//! - our encoder writes sox's canonical files back byte for byte, and every decoded fixture
//!   round-trips through every sample format;
//! - each malformed-input case gives its error, naming the problem and the byte offset;
//! - properties: on truncated, mutated and random input the reader never panics, and whatever
//!   it accepts holds exactly the samples its data chunk header declares.

mod common;

use std::path::{Path, PathBuf};

use llmcore::audio::wav::{self, SampleFormat, Wav};
use llmcore::io::json::Json;
use llmcore::io::sha256::sha256_hex;
use llmcore::Error;
use proptest::prelude::*;
use proptest::test_runner::Config;

const FORMATS: [SampleFormat; 6] = SampleFormat::ALL;

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read_wav(rel: &str) -> (Vec<u8>, Wav) {
    let bytes = std::fs::read(repo_path(rel)).unwrap();
    let w = wav::decode(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
    (bytes, w)
}

fn sample_bytes(samples: &[f32]) -> Vec<u8> {
    samples.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// soundfile's subtype name of a format.
fn subtype(f: SampleFormat) -> &'static str {
    match f {
        SampleFormat::U8 => "PCM_U8",
        SampleFormat::I16 => "PCM_16",
        SampleFormat::I24 => "PCM_24",
        SampleFormat::I32 => "PCM_32",
        SampleFormat::F32 => "FLOAT",
        SampleFormat::F64 => "DOUBLE",
    }
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

// ---------------------------------------------------------------- against libsndfile

#[test]
fn every_fixture_matches_libsndfile_bit_for_bit() {
    let (meta, arrays) = common::f32_fixture("audio/ref/wav_reference");
    let files = meta.get("files").and_then(Json::as_array).unwrap();
    let field = |f: &Json, k: &str| f.get(k).unwrap_or_else(|| panic!("no {k}")).clone();
    let num = |f: &Json, k: &str| field(f, k).as_f64().unwrap();
    let text = |f: &Json, k: &str| field(f, k).as_str().unwrap().to_string();
    let mut covered = Vec::new();
    for f in files {
        let path = text(f, "path");
        let (_, w) = read_wav(&path);
        assert_eq!(f64::from(w.sample_rate), num(f, "rate"), "{path}");
        assert_eq!(f64::from(w.channels), num(f, "channels"), "{path}");
        assert_eq!(w.frames() as f64, num(f, "frames"), "{path}");
        assert_eq!(subtype(w.format), text(f, "subtype"), "{path}");
        assert_eq!(
            sha256_hex(&sample_bytes(&w.samples)),
            text(f, "sha256"),
            "{path}"
        );
        let head = &arrays[&text(f, "head")];
        assert!(same_bits(&w.samples[..head.len()], head), "{path}: head");
        let mid_start = num(f, "mid_start") as usize;
        let mid = &arrays[&text(f, "mid")];
        assert!(
            same_bits(&w.samples[mid_start..mid_start + mid.len()], mid),
            "{path}: middle"
        );
        let sum: f64 = w.samples.iter().map(|&v| f64::from(v)).sum();
        let sum_sq: f64 = w.samples.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        assert!(close(sum, num(f, "sum")), "{path}: sum {sum}");
        assert!(
            close(sum_sq, num(f, "sum_sq")),
            "{path}: sum of squares {sum_sq}"
        );
        covered.push(path);
    }
    // Every committed fixture and every PCM format has a reference.
    for entry in std::fs::read_dir(common::fixture("audio")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".wav") {
            let rel = format!("tests/data/audio/{name}");
            assert!(
                covered.contains(&rel),
                "{rel} has no reference: rerun scripts/wav_reference.py"
            );
        }
    }
    for format in FORMATS {
        let n = files
            .iter()
            .filter(|f| text(f, "subtype") == subtype(format))
            .count();
        assert!(n > 0, "no reference file in {format:?}");
    }
}

#[test]
fn fixture_properties() {
    // (file, rate, channels, format, duration in seconds), as tests/data/audio/README.md lists.
    let expected: [(&str, u32, u16, SampleFormat, f64); 5] = [
        (
            "en-120-44k-s24-stereo.wav",
            44100,
            2,
            SampleFormat::I24,
            2.0,
        ),
        ("zh-230-48k-f32.wav", 48000, 1, SampleFormat::F32, 2.5),
        ("en-200-8k-s32.wav", 8000, 1, SampleFormat::I32, 3.424125),
        ("zh-150-16k-s16.wav", 16000, 1, SampleFormat::I16, 7.4695),
        ("silence-16k.wav", 16000, 1, SampleFormat::I16, 1.0),
    ];
    for (name, rate, channels, format, seconds) in expected {
        let (_, w) = read_wav(&format!("tests/data/audio/{name}"));
        assert_eq!(
            (w.sample_rate, w.channels, w.format),
            (rate, channels, format),
            "{name}"
        );
        assert!(
            (w.duration_seconds() - seconds).abs() < 1e-9,
            "{name}: {}",
            w.duration_seconds()
        );
    }
    let (_, stereo) = read_wav("tests/data/audio/en-120-44k-s24-stereo.wav");
    let mono = stereo.to_mono();
    assert_eq!(mono.len(), stereo.frames());
    for (m, lr) in mono.iter().zip(stereo.samples.chunks_exact(2)) {
        assert_eq!(*m, (lr[0] + lr[1]) / 2.0);
    }
}

// ---------------------------------------------------------------- writing

/// The body of the first `data` chunk (test-side chunk walk, independent of the reader).
fn data_chunk(bytes: &[u8]) -> Option<&[u8]> {
    let mut pos = 12;
    while pos + 8 <= bytes.len() {
        let size = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        if &bytes[pos..pos + 4] == b"data" {
            return bytes.get(pos + 8..pos + 8 + size);
        }
        pos += 8 + size + size % 2;
    }
    None
}

#[test]
fn sox_files_are_written_back_byte_for_byte() {
    // sox writes 16-bit mono with the canonical 44-byte header and float with fmt (18 bytes)
    // + fact, as our encoder does; the 24/32-bit files use WAVE_FORMAT_EXTENSIBLE, which we
    // do not write, so only their data chunks are compared (32-bit data is exact only where
    // the low 8 bits are 0, so it is compared after a second decode).
    for name in [
        "zh-150.wav",
        "en-200.wav",
        "tone-440.wav",
        "silence-16k.wav",
        "zh-230-48k-f32.wav",
    ] {
        let (bytes, w) = read_wav(&format!("tests/data/audio/{name}"));
        let ours = wav::encode(&w.samples, w.channels, w.sample_rate, w.format).unwrap();
        assert!(
            ours == bytes,
            "{name}: encoder output differs from sox's file"
        );
    }
    let (bytes, w) = read_wav("tests/data/audio/en-120-44k-s24-stereo.wav");
    let ours = wav::encode(&w.samples, w.channels, w.sample_rate, w.format).unwrap();
    assert_eq!(data_chunk(&ours), data_chunk(&bytes));
}

#[test]
fn every_fixture_round_trips_through_every_format() {
    let mut names: Vec<String> = std::fs::read_dir(common::fixture("audio"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".wav"))
        .map(|n| format!("tests/data/audio/{n}"))
        .collect();
    names.sort();
    for name in names {
        let (_, w) = read_wav(&name);
        for format in FORMATS {
            let encoded = wav::encode(&w.samples, w.channels, w.sample_rate, format).unwrap();
            let once = wav::decode(&encoded).unwrap();
            assert_eq!(
                (once.sample_rate, once.channels, once.format),
                (w.sample_rate, w.channels, format)
            );
            if format == w.format || format.is_float() {
                // Its own format (for ints: the codes come back) and the float formats are exact.
                assert!(same_bits(&once.samples, &w.samples), "{name} as {format:?}");
            } else {
                // Another integer format: rounded to its nearest code (clipped at +1).
                let step = 1.0 / (1u64 << (format.bits() - 1)) as f32;
                for (y, x) in once.samples.iter().zip(&w.samples) {
                    let top = 1.0 - step;
                    assert!(
                        (y - x.min(top)).abs() <= step / 2.0,
                        "{name} as {format:?}: {x} -> {y}"
                    );
                }
                let twice = wav::decode(
                    &wav::encode(&once.samples, w.channels, w.sample_rate, format).unwrap(),
                )
                .unwrap();
                assert!(
                    same_bits(&twice.samples, &once.samples),
                    "{name} as {format:?}, twice"
                );
            }
        }
    }
}

// ---------------------------------------------------------------- malformed input

/// A RIFF/WAVE file of the given chunks (id, body), each padded to even length.
fn riff(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut body = b"WAVE".to_vec();
    for (id, data) in chunks {
        body.extend_from_slice(*id);
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        if data.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// A 16-byte fmt chunk body.
fn fmt(tag: u16, channels: u16, rate: u32, block_align: u16, bits: u16) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&tag.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    v.extend_from_slice(&block_align.to_le_bytes());
    v.extend_from_slice(&bits.to_le_bytes());
    v
}

/// A 40-byte WAVE_FORMAT_EXTENSIBLE fmt chunk body with subformat `code`.
fn fmt_extensible(code: u16, channels: u16, rate: u32, bits: u16) -> Vec<u8> {
    let mut v = fmt(0xFFFE, channels, rate, channels * bits / 8, bits);
    v.extend_from_slice(&22u16.to_le_bytes()); // cb_size
    v.extend_from_slice(&bits.to_le_bytes()); // valid bits
    v.extend_from_slice(&0u32.to_le_bytes()); // channel mask
    v.extend_from_slice(&code.to_le_bytes());
    v.extend_from_slice(&[0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71]);
    v
}

/// The error of decoding `bytes`, as (offset, message); fails unless it is a WAV format error.
fn wav_error(bytes: &[u8]) -> (u64, String) {
    match wav::decode(bytes) {
        Err(Error::Format {
            format: "WAV",
            offset,
            message,
        }) => (offset, message),
        other => panic!("expected a WAV format error, got {other:?}"),
    }
}

fn assert_error(bytes: &[u8], offset: u64, needle: &str) {
    let (at, message) = wav_error(bytes);
    assert!(
        message.contains(needle),
        "message {message:?} lacks {needle:?}"
    );
    assert_eq!(at, offset, "offset of {message:?}");
}

#[test]
fn malformed_headers_name_the_problem_and_offset() {
    let pcm16 = fmt(1, 1, 16000, 2, 16);
    let data = vec![0u8; 8];
    let ok = riff(&[(b"fmt ", pcm16.clone()), (b"data", data.clone())]);
    assert_eq!(wav::decode(&ok).unwrap().samples, vec![0.0; 4]);

    assert_error(&[], 0, "truncated header: 0 bytes");
    assert_error(&ok[..11], 0, "truncated header: 11 bytes");
    let mut rifx = ok.clone();
    rifx[..4].copy_from_slice(b"RIFX");
    assert_error(&rifx, 0, "not a RIFF file: starts with \"RIFX\"");
    let mut avi = ok.clone();
    avi[8..12].copy_from_slice(b"AVI ");
    assert_error(&avi, 8, "not a WAVE file: RIFF form type is \"AVI \"");
    assert_error(&riff(&[(b"data", data.clone())]), 28, "no fmt chunk");
    assert_error(&riff(&[(b"fmt ", pcm16.clone())]), 36, "no data chunk");
    assert_error(
        &riff(&[(b"fmt ", pcm16[..14].to_vec())]),
        20,
        "fmt chunk is 14 bytes, 16 needed",
    );
    assert_error(&ok[..17], 12, "chunk header needs 8 bytes, 5 left");
    assert_error(
        &ok[..30],
        12,
        "\"fmt \" chunk of 16 bytes runs past the end of the file, 6 bytes missing",
    );
    assert_error(
        &riff(&[(b"fmt ", fmt(1, 1, 0, 2, 16)), (b"data", data.clone())]),
        24,
        "sample rate is 0",
    );
    assert_error(
        &riff(&[(b"fmt ", fmt(1, 0, 8000, 0, 16)), (b"data", data.clone())]),
        22,
        "channel count is 0",
    );
    assert_error(
        &riff(&[(b"fmt ", fmt(1, 2, 8000, 2, 16)), (b"data", data.clone())]),
        32,
        "block_align 2 does not match 2 channels x 16 bits / 8 = 4",
    );
    assert_error(
        &riff(&[(b"fmt ", fmt(1, 2, 8000, 4, 16)), (b"data", vec![0; 6])]),
        40,
        "data size 6 is not a multiple of the frame size 4 (2 channels x 2 bytes)",
    );
    assert_error(
        &riff(&[(b"fmt ", fmt(1, 1, 8000, 2, 12)), (b"data", data.clone())]),
        34,
        "12 bits per sample is not supported for integer PCM (only 8, 16, 24 or 32)",
    );
    assert_error(
        &riff(&[(b"fmt ", fmt(3, 1, 8000, 2, 16)), (b"data", data.clone())]),
        34,
        "16 bits per sample is not supported for IEEE float (only 32 or 64)",
    );
    for (code, name) in [
        (7, "7 (mu-law)"),
        (6, "6 (A-law)"),
        (2, "2 (Microsoft ADPCM)"),
        (0x1234, "4660 (0x1234)"),
    ] {
        assert_error(
            &riff(&[(b"fmt ", fmt(code, 1, 8000, 1, 8)), (b"data", data.clone())]),
            20,
            &format!("non-PCM WAV: format code {name} is not supported"),
        );
    }
    assert_error(
        &riff(&[
            (b"fmt ", fmt_extensible(7, 1, 8000, 8)),
            (b"data", data.clone()),
        ]),
        44,
        "non-PCM WAV: WAVE_FORMAT_EXTENSIBLE subformat 7 (mu-law) is not supported",
    );
    let mut bad_guid = fmt_extensible(1, 1, 8000, 16);
    bad_guid[39] ^= 1;
    assert_error(
        &riff(&[(b"fmt ", bad_guid), (b"data", data.clone())]),
        44,
        "not a format-code GUID",
    );
    assert_error(
        &riff(&[
            (b"fmt ", fmt_extensible(1, 1, 8000, 16)[..18].to_vec()),
            (b"data", data.clone()),
        ]),
        20,
        "WAVE_FORMAT_EXTENSIBLE fmt chunk is 18 bytes, 40 needed",
    );
    assert_error(
        &riff(&[(b"fmt ", pcm16.clone()), (b"fmt ", pcm16.clone())]),
        36,
        "second fmt chunk",
    );
    assert_error(
        &riff(&[(b"data", data.clone()), (b"data", data.clone())]),
        28,
        "second data chunk",
    );
}

#[test]
fn chunks_are_skipped_with_their_pad_byte() {
    let pcm16 = fmt(1, 1, 16000, 2, 16);
    let data: Vec<u8> = [1i16, -2, 3].iter().flat_map(|v| v.to_le_bytes()).collect();
    let expect: Vec<f32> = [1.0, -2.0, 3.0].iter().map(|v| v / 32768.0).collect();
    // An odd-sized chunk before the data (riff() pads it), fmt after data, a chunk after both.
    let odd = riff(&[
        (b"LIST", b"INFOabc".to_vec()),
        (b"data", data.clone()),
        (b"fmt ", pcm16.clone()),
        (b"id3 ", vec![7; 5]),
    ]);
    assert_eq!(wav::decode(&odd).unwrap().samples, expect);
    // Without the pad byte the walk lands one byte early and finds no data chunk.
    let mut unpadded = odd.clone();
    unpadded.remove(12 + 8 + 7);
    assert!(wav::decode(&unpadded).is_err());
    // Whatever follows the data once fmt is known is not read: a truncated trailing chunk is fine.
    let mut trailing = riff(&[(b"fmt ", pcm16), (b"data", data)]);
    trailing.extend_from_slice(b"LIST\xff\xff\x00\x00abc");
    assert_eq!(wav::decode(&trailing).unwrap().samples, expect);
    // The hand-assembled seed: odd LIST chunk + pad between fmt and data, a chunk after.
    let (_, w) = read_wav("fuzz/seeds/wav/list-odd-chunk-12000.wav");
    assert_eq!((w.sample_rate, w.frames()), (12000, 41));
    assert_eq!(w.samples[0], -20.0 * 1500.0 / 32768.0);
}

#[test]
fn truncated_fixture_says_how_many_bytes_are_missing() {
    let bytes = std::fs::read(common::fixture("audio/tone-440.wav")).unwrap();
    // 44-byte header, data chunk header at 36 declaring 44100 bytes.
    assert_error(
        &bytes[..bytes.len() - 1001],
        36,
        "truncated file: \"data\" chunk of 44100 bytes runs past the end of the file, 1001 bytes missing",
    );
}

#[test]
fn non_pcm_files_from_libsndfile_are_refused_by_name() {
    for (name, what) in [
        ("ulaw-8000.wav", "format code 7 (mu-law)"),
        ("alaw-8000.wav", "format code 6 (A-law)"),
        ("ms-adpcm-8000.wav", "format code 2 (Microsoft ADPCM)"),
    ] {
        let bytes = std::fs::read(repo_path(&format!("fuzz/seeds/wav/{name}"))).unwrap();
        assert_error(&bytes, 20, &format!("non-PCM WAV: {what} is not supported"));
    }
}

// ---------------------------------------------------------------- properties

/// The seeds: libsndfile's PCM/float files and the hand-assembled one (fuzz/seeds/wav/), plus
/// our encodings of a short stereo signal in every format.
fn seeds() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(repo_path("fuzz/seeds/wav"))
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .filter(|b| wav::decode(b).is_ok())
        .collect();
    let x: Vec<f32> = (0..40).map(|i| (i as f32 * 0.3).sin() * 0.8).collect();
    for format in FORMATS {
        out.push(wav::encode(&x, 2, 8000, format).unwrap());
    }
    assert!(out.len() >= 14, "{} seeds", out.len());
    out
}

/// What the header of `bytes` claims: the first data chunk's size divided by the sample size
/// of the first fmt chunk (test-side chunk walk, independent of the reader).
fn claimed_samples(bytes: &[u8]) -> Option<usize> {
    let (mut pos, mut bits, mut data) = (12usize, None, None);
    while pos + 8 <= bytes.len() && (bits.is_none() || data.is_none()) {
        let size = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        match &bytes[pos..pos + 4] {
            b"fmt " if bits.is_none() => {
                bits = bytes
                    .get(pos + 22..pos + 24)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]))
            }
            b"data" if data.is_none() => data = Some(size),
            _ => {}
        }
        pos = pos.checked_add(8 + size + size % 2)?;
    }
    Some(data? / usize::from(bits? / 8))
}

/// Decodes `bytes`; on success the sample count is the header's claim and whole frames.
fn check(bytes: &[u8]) {
    if let Ok(w) = wav::decode(bytes) {
        assert_eq!(Some(w.samples.len()), claimed_samples(bytes));
        assert_eq!(w.samples.len() % usize::from(w.channels), 0);
        assert!(w.channels >= 1 && w.sample_rate >= 1);
    }
}

#[test]
fn every_prefix_of_every_seed_is_refused_until_the_data_ends() {
    for seed in seeds() {
        let full = wav::decode(&seed).unwrap();
        let data_end = {
            let data = data_chunk(&seed).unwrap();
            data.as_ptr() as usize - seed.as_ptr() as usize + data.len()
        };
        for cut in 0..seed.len() {
            match wav::decode(&seed[..cut]) {
                Ok(w) => {
                    assert!(
                        cut >= data_end,
                        "prefix of {cut} bytes accepted, data ends at {data_end}"
                    );
                    assert_eq!(w, full);
                }
                Err(e) => assert!(cut < data_end, "prefix of {cut} bytes refused: {e}"),
            }
        }
    }
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// A seed with 1 to 8 edits, half of them in the first 80 bytes (the header fields): overwrite
/// a byte, flip a bit, delete or insert one.
fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let edit = (
        0u8..4,
        any::<bool>(),
        any::<prop::sample::Index>(),
        any::<u8>(),
    );
    (0..seeds.len(), prop::collection::vec(edit, 1..=8)).prop_map(move |(i, edits)| {
        let mut v = seeds[i].clone();
        for (kind, in_header, at, byte) in edits {
            let n = if in_header { v.len().min(80) } else { v.len() };
            match kind {
                0 if n > 0 => v[at.index(n)] = byte,
                1 if n > 0 => v[at.index(n)] ^= 1 << (byte % 8),
                2 if n > 0 => {
                    v.remove(at.index(n));
                }
                _ => v.insert(at.index(n + 1), byte),
            }
        }
        v
    })
}

proptest! {
    #![proptest_config(config(50_000))]
    #[test]
    fn mutated_seeds_never_panic(bytes in mutated(seeds())) {
        check(&bytes);
    }
}

proptest! {
    #![proptest_config(config(20_000))]
    #[test]
    fn mutated_and_truncated_seeds_never_panic(
        bytes in mutated(seeds()),
        cut in any::<prop::sample::Index>(),
    ) {
        check(&bytes[..cut.index(bytes.len() + 1)]);
    }
}

proptest! {
    #![proptest_config(config(20_000))]
    #[test]
    fn random_bytes_behind_a_riff_header_never_panic(
        tail in prop::collection::vec(any::<u8>(), 0..300),
        chunk in prop::sample::select(vec![*b"fmt ", *b"data", *b"LIST"]),
    ) {
        let mut bytes = b"RIFF\0\0\0\0WAVE".to_vec();
        bytes.extend_from_slice(&chunk);
        bytes.extend_from_slice(&tail);
        check(&bytes);
    }
}
