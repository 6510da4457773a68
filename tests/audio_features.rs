//! The speech front end's features against float64 references: the `fastspeech2` (fmin 0 and
//! 80) and `whisper` (80 and 128 mels) log-mels and the frame energy of every fixture WAV at
//! the preset's rate, within 1e-4 absolute on the log scale, quiet bins included (librosa 0.11
//! in complex128 and openai-whisper's recipe in numpy float64, made by
//! scripts/audio_reference.py); the mel filter banks against librosa's and whisper's own
//! matrices to 1e-6; the FFT against a direct DFT; bad input.
//!
//! `cargo test --release --test audio_features -- --nocapture` prints the worst difference of
//! every case.

mod common;

use common::{f32_fixture, fixture};
use llmcore::audio::features::{FeatureConfig, FeatureExtractor, LogRecipe, Preset};
use llmcore::audio::fft::{FftPlan, RealFft};
use llmcore::audio::mel::{MelBank, MelConfig, MelNorm, MelScale};
use llmcore::audio::spectrum::{Stft, StftConfig};
use llmcore::audio::wav;
use llmcore::io::json::Json;
use llmcore::Error;
use std::collections::HashMap;

/// Log-scale parity bar.
const LOG_TOL: f32 = 1e-4;
/// Frame energy: relative.
const ENERGY_RTOL: f64 = 1e-5;
/// Filter weights: absolute.
const BANK_TOL: f32 = 1e-6;

struct Reference {
    meta: Json,
    arrays: HashMap<String, Vec<f32>>,
}

fn reference() -> Reference {
    let (meta, arrays) = f32_fixture("audio/ref/features");
    Reference { meta, arrays }
}

impl Reference {
    fn list(&self, key: &str) -> &[Json] {
        self.meta.get(key).and_then(Json::as_array).unwrap()
    }

    fn array(&self, entry: &Json, key: &str) -> &[f32] {
        &self.arrays[entry.get(key).and_then(Json::as_str).unwrap()]
    }
}

fn num(j: &Json, key: &str) -> f64 {
    j.get(key)
        .and_then(Json::as_f64)
        .unwrap_or_else(|| panic!("{key}"))
}

/// Mono samples and rate of a fixture WAV.
fn read_wav(name: &str) -> (Vec<f32>, u32) {
    let bytes = std::fs::read(fixture(&format!("audio/{name}"))).unwrap();
    let w = wav::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    (w.to_mono(), w.sample_rate)
}

/// Every case of `preset`: our features of the WAV against the reference's kept frames.
fn check_preset(preset: Preset) {
    let r = reference();
    let mut worst = (0.0f32, String::new());
    let cases: Vec<&Json> = r
        .list("cases")
        .iter()
        .filter(|c| c.get("preset").and_then(Json::as_str) == Some(preset.name()))
        .collect();
    assert!(
        cases.len() >= 6,
        "{} cases for {}",
        cases.len(),
        preset.name()
    );
    for c in cases {
        let wav_name = c.get("wav").and_then(Json::as_str).unwrap();
        let mut cfg = preset.config();
        let mut label = format!("{wav_name} {}", preset.name());
        if let Some(fmin) = c.get("fmin").and_then(Json::as_f64) {
            cfg.fmin = fmin as f32;
            label += &format!(" fmin {fmin}");
        }
        if let Some(n_mels) = c.get("n_mels").and_then(Json::as_f64) {
            cfg.n_mels = n_mels as usize;
            label += &format!(" n_mels {n_mels}");
        }
        let (samples, rate) = read_wav(wav_name);
        let f = FeatureExtractor::new(cfg)
            .unwrap()
            .compute(&samples, rate)
            .unwrap();
        assert_eq!(f.log_mel.n_frames, num(c, "n_frames") as usize, "{label}");
        let frames = c.get("frames").and_then(Json::as_array).unwrap();
        let want = r.array(c, "log_mel");
        assert_eq!(want.len(), frames.len() * cfg.n_mels, "{label}");
        let (mut diff, mut at) = (0.0f32, (0, 0));
        for (row, t) in want.chunks_exact(cfg.n_mels).zip(frames) {
            let t = t.as_f64().unwrap() as usize;
            for (m, (&g, &w)) in f.log_mel.frame(t).iter().zip(row).enumerate() {
                if (g - w).abs() > diff {
                    (diff, at) = ((g - w).abs(), (t, m));
                }
            }
        }
        let want_energy = r.array(c, "energy");
        assert_eq!(want_energy.len(), f.energy.len(), "{label}");
        let energy_rel = f
            .energy
            .iter()
            .zip(want_energy)
            .map(|(&g, &w)| (g as f64 - w as f64).abs() / (w as f64).max(1e-6))
            .fold(0.0, f64::max);
        println!(
            "{label}: {} frames ({} checked), log-mel max |diff| {diff:.2e} at frame {} mel {}, \
             energy max rel diff {energy_rel:.2e}",
            f.log_mel.n_frames,
            frames.len(),
            at.0,
            at.1
        );
        assert!(
            diff <= LOG_TOL,
            "{label}: log-mel off by {diff:e} at {at:?}"
        );
        assert!(
            energy_rel <= ENERGY_RTOL,
            "{label}: energy off by {energy_rel:e}"
        );
        if diff >= worst.0 {
            worst = (diff, label);
        }
    }
    println!(
        "{}: worst log-mel |diff| {:.2e} ({})",
        preset.name(),
        worst.0,
        worst.1
    );
}

#[test]
fn fastspeech2_matches_librosa() {
    check_preset(Preset::FastSpeech2);
}

#[test]
fn whisper_matches_the_whisper_recipe() {
    check_preset(Preset::Whisper);
}

#[test]
fn filter_banks_match_librosa_and_whisper() {
    let r = reference();
    let banks = r.list("banks");
    assert!(banks.len() >= 6);
    for b in banks {
        let name = b.get("name").and_then(Json::as_str).unwrap();
        let cfg = MelConfig {
            sample_rate: num(b, "sr") as u32,
            n_fft: num(b, "n_fft") as usize,
            n_mels: num(b, "n_mels") as usize,
            fmin: num(b, "fmin") as f32,
            fmax: num(b, "fmax") as f32,
            scale: match b.get("htk").and_then(Json::as_bool).unwrap() {
                true => MelScale::Htk,
                false => MelScale::Slaney,
            },
            norm: match b.get("norm").and_then(Json::as_str) {
                Some("slaney") => MelNorm::Slaney,
                None => MelNorm::None,
                Some(other) => panic!("{name}: norm {other}"),
            },
        };
        let ours = MelBank::new(&cfg).unwrap().to_dense();
        let n_bins = cfg.n_fft / 2 + 1;
        let mut want = vec![0.0f32; cfg.n_mels * n_bins];
        let (mut weights, rows) = (r.array(b, "name").iter(), b.get("rows").unwrap());
        for (m, row) in rows.as_array().unwrap().iter().enumerate() {
            let row = row.as_array().unwrap();
            let (first, len) = (
                row[0].as_f64().unwrap() as usize,
                row[1].as_f64().unwrap() as usize,
            );
            for k in first..first + len {
                want[m * n_bins + k] = *weights.next().unwrap();
            }
        }
        assert!(weights.next().is_none(), "{name}");
        let diff = ours
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        println!("{name}: max |diff| {diff:.2e}");
        assert!(diff <= BANK_TOL, "{name}: weights off by {diff:e}");
    }
}

/// The direct DFT of `(re, im)` in f64, angles reduced modulo `n`.
fn direct_dft(re: &[f64], im: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = re.len();
    let table: Vec<(f64, f64)> = (0..n)
        .map(|t| {
            let a = -2.0 * std::f64::consts::PI * t as f64 / n as f64;
            (a.cos(), a.sin())
        })
        .collect();
    (0..n)
        .map(|k| {
            (0..n).fold((0.0, 0.0), |(sr, si), t| {
                let (c, s) = table[k * t % n];
                (sr + re[t] * c - im[t] * s, si + re[t] * s + im[t] * c)
            })
        })
        .unzip()
}

fn noise(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

#[test]
fn fft_matches_a_direct_dft() {
    let lengths: Vec<usize> = (1..=128)
        .chain([
            131, 210, 243, 251, 256, 343, 360, 397, 400, 441, 509, 512, 625, 1000, 1009, 1024,
        ])
        .collect();
    let mut worst = (0.0f64, 0);
    for &n in &lengths {
        let (re0, im0) = (noise(n, n as u64), noise(n, 7 + n as u64));
        let (want_re, want_im) = direct_dft(&re0, &im0);
        let (mut re, mut im) = (re0.clone(), im0.clone());
        FftPlan::new(n).unwrap().forward(&mut re, &mut im).unwrap();
        // Error relative to the RMS bin size sqrt(n) * rms(x) ~ sqrt(n * 2/3).
        let scale = (n as f64 * 2.0 / 3.0).sqrt();
        let err = re
            .iter()
            .zip(&want_re)
            .chain(im.iter().zip(&want_im))
            .map(|(a, b)| (a - b).abs() / scale)
            .fold(0.0, f64::max);
        assert!(err < 1e-13, "n = {n}: relative error {err:e}");
        if err > worst.0 {
            worst = (err, n);
        }
        // The real-input transform: the first n/2 + 1 bins of the complex one.
        let mut real = RealFft::new(n).unwrap();
        let (want_re, want_im) = direct_dft(&re0, &vec![0.0; n]);
        let bins = real.bins();
        let (mut out_re, mut out_im) = (vec![0.0; bins], vec![0.0; bins]);
        real.forward(&re0, &mut out_re, &mut out_im).unwrap();
        for k in 0..bins {
            let e = (out_re[k] - want_re[k])
                .abs()
                .max((out_im[k] - want_im[k]).abs());
            assert!(e / scale < 1e-13, "real n = {n}, bin {k}: {e:e}");
        }
    }
    println!(
        "FFT vs direct DFT over {} lengths: worst relative error {:.2e} (n = {})",
        lengths.len(),
        worst.0,
        worst.1
    );
}

#[test]
fn parseval_holds() {
    for n in [400, 1024, 1009, 210, 2] {
        let x = noise(n, 99);
        let mut real = RealFft::new(n).unwrap();
        let bins = real.bins();
        let (mut re, mut im) = (vec![0.0; bins], vec![0.0; bins]);
        real.forward(&x, &mut re, &mut im).unwrap();
        // sum_k |X_k|^2 over all n bins, from the half spectrum: the bins other than 0 and
        // (for even n) n/2 appear twice.
        let freq: f64 = (0..bins)
            .map(|k| {
                let twice = k != 0 && !(n % 2 == 0 && k == n / 2);
                (re[k] * re[k] + im[k] * im[k]) * if twice { 2.0 } else { 1.0 }
            })
            .sum();
        let time: f64 = x.iter().map(|v| v * v).sum();
        assert!(
            (freq / n as f64 - time).abs() < 1e-12 * time,
            "n = {n}: {} vs {time}",
            freq / n as f64
        );
    }
}

#[test]
fn caller_buffers_and_frames_match_the_whole_computation() {
    let (samples, rate) = read_wav("en-200.wav");
    for preset in Preset::ALL {
        let cfg = FeatureConfig {
            sample_rate: rate,
            ..preset.config()
        };
        let mut fx = FeatureExtractor::new(cfg).unwrap();
        let whole = fx.compute(&samples, rate).unwrap();
        let frames = fx.n_frames(samples.len());
        let mut log_mel = vec![f32::NAN; frames * cfg.n_mels + 3];
        let mut energy = vec![f32::NAN; frames];
        assert_eq!(
            fx.compute_into(&samples, rate, &mut log_mel, Some(&mut energy))
                .unwrap(),
            frames
        );
        assert_eq!(&log_mel[..frames * cfg.n_mels], &whole.log_mel.data[..]);
        assert!(log_mel[frames * cfg.n_mels..].iter().all(|v| v.is_nan()));
        assert_eq!(energy, whole.energy);
    }
    let mut stft = Stft::new(StftConfig::new(1024, 256)).unwrap();
    let spec = stft.process(&samples).unwrap();
    let mut row = vec![0.0; stft.bins()];
    for t in [0, 1, spec.n_frames / 2, spec.n_frames - 1] {
        stft.frame_into(&samples, t, &mut row).unwrap();
        assert_eq!(row, spec.frame(t), "frame {t}");
    }
}

#[test]
fn bad_input_is_an_error() {
    let e = Preset::parse("tacotron2").unwrap_err().to_string();
    assert!(
        e.contains("tacotron2") && e.contains("fastspeech2") && e.contains("whisper"),
        "{e}"
    );
    let cfg = Preset::FastSpeech2.config();
    let mut fx = FeatureExtractor::new(cfg).unwrap();
    let e = fx.compute(&[0.0; 4000], 16000).unwrap_err().to_string();
    assert!(e.contains("16000 Hz") && e.contains("22050 Hz"), "{e}");
    assert!(matches!(
        fx.compute(&[], 22050),
        Err(Error::InvalidArgument(_))
    ));
    for (what, bad) in [
        (
            "sample rate 0",
            FeatureConfig {
                sample_rate: 0,
                ..cfg
            },
        ),
        ("n_fft < win_length", FeatureConfig { n_fft: 512, ..cfg }),
        (
            "fmax > sr/2",
            FeatureConfig {
                fmax: 12000.0,
                ..cfg
            },
        ),
        ("n_mels 0", FeatureConfig { n_mels: 0, ..cfg }),
        ("hop 0", FeatureConfig { hop: 0, ..cfg }),
        (
            "fmin >= fmax",
            FeatureConfig {
                fmin: 8000.0,
                ..cfg
            },
        ),
        (
            "floor 0",
            FeatureConfig {
                log: LogRecipe::Ln { floor: 0.0 },
                ..cfg
            },
        ),
    ] {
        match FeatureExtractor::new(bad) {
            Err(Error::InvalidArgument(m)) => println!("{what}: {m}"),
            other => panic!("{what}: {other:?}"),
        }
    }
    let mut uncentred = FeatureExtractor::new(FeatureConfig {
        center: false,
        ..cfg
    })
    .unwrap();
    assert!(uncentred.compute(&[0.1; 1000], 22050).is_err());
    assert!(matches!(
        fx.compute_into(&[0.1; 22050], 22050, &mut [0.0; 80], None),
        Err(Error::BufferTooSmall { needed, .. }) if needed == 87 * 80
    ));
}
