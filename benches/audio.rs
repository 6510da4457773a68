//! Throughput of the speech front end, in seconds of audio per second on one thread: the
//! `fastspeech2` and `whisper` (80 and 128 mels) log-mel presets over one long input per rate,
//! made by concatenating the fixture WAVs (speech, sweeps, tones) until it lasts `--seconds`,
//! and F0 by YIN and pYIN ([`llmcore::audio::pitch`]: 75..800 Hz, frame 1024, hop 256, centred)
//! over the first `--pitch-seconds` of the 22,050 Hz input.
//!
//! `cargo bench --bench audio -- [--seconds 60] [--runs 10] [--pitch-seconds 20]
//! [--pitch-runs 3] [--write-inputs DIR]` prints one JSON object on stdout. `--write-inputs`
//! also writes the inputs as raw little-endian f32 (`DIR/<rate>.f32`) so that
//! scripts/bench-audio.sh runs librosa and torchaudio on the same samples. Each case is run
//! once to warm up, then its runs; the JSON has the best and the median time.

use llmcore::audio::features::{FeatureConfig, FeatureExtractor, Preset};
use llmcore::audio::pitch::{pyin, yin, PitchConfig};
use llmcore::audio::wav;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

const INPUTS: &[(u32, &[&str])] = &[
    (
        22050,
        &[
            "zh-150",
            "zh-230",
            "en-120",
            "en-200",
            "sweep-22k",
            "tone-110",
            "tone-220",
            "tone-440",
        ],
    ),
    (16000, &["zh-150-16k-s16", "sweep-16k"]),
];

struct Args {
    seconds: f64,
    runs: usize,
    pitch_seconds: f64,
    pitch_runs: usize,
    write_inputs: Option<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        seconds: 60.0,
        runs: 10,
        pitch_seconds: 20.0,
        pitch_runs: 3,
        write_inputs: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--seconds" => a.seconds = value().parse().expect("--seconds"),
            "--runs" => a.runs = value().parse().expect("--runs"),
            "--pitch-seconds" => a.pitch_seconds = value().parse().expect("--pitch-seconds"),
            "--pitch-runs" => a.pitch_runs = value().parse().expect("--pitch-runs"),
            "--write-inputs" => a.write_inputs = Some(PathBuf::from(value())),
            "--bench" => {} // what `cargo bench` passes
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// The fixtures at `rate`, concatenated in order and repeated, cut to `seconds`.
fn input(rate: u32, stems: &[&str], seconds: f64) -> Vec<f32> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/audio");
    let mut pieces = Vec::new();
    for stem in stems {
        let bytes = std::fs::read(dir.join(format!("{stem}.wav"))).expect(stem);
        let w = wav::decode(&bytes).unwrap_or_else(|e| panic!("{stem}: {e}"));
        assert_eq!(w.sample_rate, rate, "{stem}");
        pieces.push(w.to_mono());
    }
    let n = (seconds * rate as f64) as usize;
    pieces.iter().flatten().copied().cycle().take(n).collect()
}

/// Best and median of `runs` timed calls after one warm-up, in seconds.
fn time(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    f();
    let mut t: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    (t[0], t[t.len() / 2])
}

fn main() {
    let a = args();
    let inputs: Vec<(u32, Vec<f32>)> = INPUTS
        .iter()
        .map(|&(rate, stems)| (rate, input(rate, stems, a.seconds)))
        .collect();
    if let Some(dir) = &a.write_inputs {
        std::fs::create_dir_all(dir).unwrap();
        for (rate, x) in &inputs {
            let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
            std::fs::write(dir.join(format!("{rate}.f32")), bytes).unwrap();
        }
    }
    let whisper128 = FeatureConfig {
        n_mels: 128,
        ..Preset::Whisper.config()
    };
    let cases = [
        ("fastspeech2", Preset::FastSpeech2.config()),
        ("whisper", Preset::Whisper.config()),
        ("whisper-128", whisper128),
    ];
    let row = |name: &str, what: &str, audio: f64, frames: usize, (best, median): (f64, f64)| {
        format!(
            "{{\"case\": \"{name}\", \"what\": \"{what}\", \"audio_s\": {audio}, \
             \"frames\": {frames}, \"best_s\": {best:.6}, \"median_s\": {median:.6}, \
             \"audio_s_per_s\": {:.1}}}",
            audio / median
        )
    };
    let mut rows = Vec::new();
    for (name, cfg) in cases {
        let (_, x) = inputs
            .iter()
            .find(|(rate, _)| *rate == cfg.sample_rate)
            .unwrap();
        let mut fx = FeatureExtractor::new(cfg).unwrap();
        let mut out = vec![0.0f32; fx.n_frames(x.len()) * cfg.n_mels];
        let (best, median) = time(a.runs, || {
            fx.compute_into(black_box(x), cfg.sample_rate, &mut out, None)
                .unwrap();
            black_box(&out);
        });
        let audio = x.len() as f64 / cfg.sample_rate as f64;
        rows.push(row(
            name,
            "log-mel",
            audio,
            fx.n_frames(x.len()),
            (best, median),
        ));
    }
    let pitch_cfg = PitchConfig {
        frame_length: 1024,
        hop_length: 256,
        ..PitchConfig::new(22050)
    };
    let (_, x22) = &inputs[0];
    let x = &x22[..((a.pitch_seconds * 22050.0) as usize).min(x22.len())];
    let audio = x.len() as f64 / 22050.0;
    let frames = pitch_cfg.n_frames(x.len());
    let t = time(a.pitch_runs, || {
        black_box(yin(black_box(x), &pitch_cfg).unwrap());
    });
    rows.push(row("yin", "f0", audio, frames, t));
    let t = time(a.pitch_runs, || {
        black_box(pyin(black_box(x), &pitch_cfg).unwrap());
    });
    rows.push(row("pyin", "f0", audio, frames, t));
    let simd = llmcore::tensor::quant::simd_level();
    let fft = llmcore::audio::fft::FftPlan::new(512).unwrap().isa_name();
    println!(
        "{{\"side\": \"llmcore\", \"simd\": \"{simd}\", \"fft\": \"{fft}\", \"threads\": 1, \
         \"runs\": {}, \"results\": [\n  {}\n]}}",
        a.runs,
        rows.join(",\n  ")
    );
}
