//! F0 estimation (llmcore::audio::pitch): YIN and pYIN on closed-form tones, on the committed
//! tone and silence fixtures, and against librosa 0.11 on espeak-ng speech
//! (scripts/pitch_reference.py, outputs in tests/data/audio/ref/pitch.{json,bin}); FastSpeech2's
//! unvoiced interpolation and phoneme averaging on hand-made contours.
//!
//! Bars against librosa (all at `PitchConfig::new(22050)`, the script's settings):
//! - YIN: every frame within `YIN_REL` relative of librosa's F0. What is left is librosa's d(1),
//!   which lacks the x_0² term (see `audio::pitch::yin`'s `Cmndf`): measured at most 2.0e-6
//!   (zh-150), and equal F0 on the frames of digital silence (d'(τ) = 0 on both sides);
//! - pYIN: voiced flags agree on at least `VOICED_AGREEMENT` of each file's frames, and on
//!   frames both call voiced the F0 differs by at most `P95_CENTS` at the 95th percentile
//!   (the pitch bins are 10 cents apart, so equal decoding gives 0 cents). Measured: every
//!   flag and every F0 equal on all four files, voiced_prob equal to f32 precision.
//!
//! The numbers measured are printed; see them with `cargo test --release --test audio_pitch --
//! --nocapture`, which also prints the time per second of audio of both estimators.

mod common;

use std::time::Instant;

use common::{f32_fixture, fixture};
use llmcore::audio::pitch::{
    interpolate_unvoiced, phoneme_average, pyin, yin, PitchConfig, PyinTrack,
};
use llmcore::audio::wav;
use llmcore::io::json::Json;

const YIN_REL: f64 = 1e-5;
const VOICED_AGREEMENT: f64 = 0.95;
const P95_CENTS: f64 = 10.0;

/// A WAV fixture as mono f32 samples and its rate.
fn read_wav(name: &str) -> (Vec<f32>, u32) {
    let bytes = std::fs::read(fixture(&format!("audio/{name}"))).unwrap();
    let w = wav::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    (w.to_mono(), w.sample_rate)
}

/// `amplitude · Σ_{k=1}^{harmonics} sin(2π k f0 t) / k` (a band-limited sawtooth for many
/// harmonics, a sine for one), one second long.
fn tone(f0: f64, harmonics: usize, sample_rate: u32) -> Vec<f32> {
    let sr = sample_rate as f64;
    (0..sample_rate)
        .map(|i| {
            let t = i as f64 / sr;
            let s: f64 = (1..=harmonics)
                .map(|k| (2.0 * std::f64::consts::PI * k as f64 * f0 * t).sin() / k as f64)
                .sum();
            (0.4 * s) as f32
        })
        .collect()
}

/// Frames whose analysis window lies wholly inside the signal.
fn interior_frames(cfg: &PitchConfig, n_samples: usize) -> std::ops::Range<usize> {
    let half = cfg.frame_length / 2;
    let first = half.div_ceil(cfg.hop_length);
    let last = (n_samples - half) / cfg.hop_length; // centre + half <= n_samples
    first..last + 1
}

fn cents(a: f64, b: f64) -> f64 {
    1200.0 * (a / b).log2().abs()
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * q).round() as usize]
}

/// YIN and pYIN both find `f0` within 1% on the interior frames, and pYIN calls them voiced;
/// the frames reaching past either end (half zeros at worst) stay within 2%. Returns the worst
/// relative errors on the interior frames (YIN, pYIN).
fn check_tone(what: &str, samples: &[f32], cfg: &PitchConfig, f0: f64) -> (f64, f64) {
    let y = yin(samples, cfg).unwrap();
    let p = pyin(samples, cfg).unwrap();
    assert_eq!(y.len(), cfg.n_frames(samples.len()));
    assert_eq!(p.f0.len(), y.len());
    for (t, &yt) in y.iter().enumerate() {
        assert!(
            (yt as f64 - f0).abs() < 0.02 * f0,
            "{what}: YIN frame {t}: {yt} Hz"
        );
        let pf = p.f0[t] as f64;
        assert!(
            !p.voiced[t] || (pf - f0).abs() < 0.02 * f0,
            "{what}: pYIN frame {t}: {pf} Hz"
        );
    }
    let (mut worst_yin, mut worst_pyin) = (0.0f64, 0.0f64);
    for t in interior_frames(cfg, samples.len()) {
        let ey = (y[t] as f64 - f0).abs() / f0;
        assert!(ey < 0.01, "{what}: YIN frame {t}: {} Hz", y[t]);
        assert!(p.voiced[t], "{what}: pYIN frame {t} unvoiced");
        let ep = (p.f0[t] as f64 - f0).abs() / f0;
        assert!(ep < 0.01, "{what}: pYIN frame {t}: {} Hz", p.f0[t]);
        (worst_yin, worst_pyin) = (worst_yin.max(ey), worst_pyin.max(ep));
    }
    (worst_yin, worst_pyin)
}

#[test]
fn closed_form_tones_within_one_percent() {
    let mut report = Vec::new();
    for (sr, f0s) in [
        (
            22050,
            &[80.0, 110.0, 150.0, 220.0, 300.0, 440.0, 550.0, 700.0][..],
        ),
        (16000, &[85.0, 200.0, 630.0][..]),
    ] {
        let cfg = PitchConfig::new(sr);
        for &f0 in f0s {
            // a sine, and a sawtooth with every harmonic below Nyquist
            let saw = (sr as f64 / 2.0 / f0) as usize;
            for (kind, harmonics) in [("sine", 1), ("sawtooth", saw)] {
                let what = format!("{kind} {f0} Hz at {sr} Hz");
                let (ey, ep) = check_tone(&what, &tone(f0, harmonics, sr), &cfg, f0);
                report.push(format!(
                    "{what}: YIN {:.4}%, pYIN {:.4}%",
                    ey * 100.0,
                    ep * 100.0
                ));
            }
        }
    }
    println!(
        "worst relative F0 error on interior frames:\n  {}",
        report.join("\n  ")
    );
}

#[test]
fn tone_fixtures_within_one_percent() {
    for f0 in [110.0, 220.0, 440.0] {
        let (samples, sr) = read_wav(&format!("tone-{f0}.wav"));
        let (ey, ep) = check_tone(
            &format!("tone-{f0}.wav"),
            &samples,
            &PitchConfig::new(sr),
            f0,
        );
        println!(
            "tone-{f0}.wav: worst YIN {:.4}%, pYIN {:.4}%",
            ey * 100.0,
            ep * 100.0
        );
    }
}

#[test]
fn silence_is_unvoiced() {
    let (samples, sr) = read_wav("silence-16k.wav");
    assert_eq!(sr, 16000);
    // sox's dither: every sample is -1, 0 or +1 LSB
    assert!(samples.iter().all(|&x| x.abs() <= 1.0 / 32768.0));
    let p = pyin(&samples, &PitchConfig::new(sr)).unwrap();
    assert_eq!(p.voiced.len(), 1 + 16000 / 512);
    assert!(p.voiced.iter().all(|&v| !v));
    assert!(p.f0.iter().all(|f| f.is_nan()));
    // noise has no trough below any likely threshold: librosa gives 0.01 (no_trough_prob) on
    // every frame of this file
    let most = p.voiced_prob.iter().copied().fold(0.0f32, f32::max);
    println!(
        "silence-16k.wav: all {} frames unvoiced, voiced_prob at most {most}",
        p.voiced.len()
    );
    assert!(most < 0.02, "{most}");
    // digital silence: d'(τ) = 0, no trough at all
    let p = pyin(&[0.0; 8000], &PitchConfig::new(sr)).unwrap();
    assert!(p.voiced.iter().all(|&v| !v) && p.voiced_prob.iter().all(|&v| v == 0.0));
}

/// librosa's arrays for one speech fixture.
struct Reference {
    yin_f0: Vec<f32>,
    pyin_f0: Vec<f32>,
    voiced: Vec<bool>,
    voiced_prob: Vec<f32>,
}

fn librosa_reference() -> Vec<(String, Reference)> {
    let (meta, mut arrays) = f32_fixture("audio/ref/pitch");
    let files = meta.get("files").and_then(Json::as_object).unwrap();
    files
        .iter()
        .map(|(stem, _)| {
            let mut take = |what: &str| arrays.remove(&format!("{stem}/{what}")).unwrap();
            let r = Reference {
                yin_f0: take("yin_f0"),
                pyin_f0: take("pyin_f0"),
                voiced: take("pyin_voiced").iter().map(|&v| v == 1.0).collect(),
                voiced_prob: take("pyin_voiced_prob"),
            };
            (stem.clone(), r)
        })
        .collect()
}

#[test]
fn yin_matches_librosa_on_speech() {
    for (stem, r) in librosa_reference() {
        let (samples, sr) = read_wav(&format!("{stem}.wav"));
        let cfg = PitchConfig::new(sr);
        let f0 = yin(&samples, &cfg).unwrap();
        assert_eq!(f0.len(), r.yin_f0.len(), "{stem}: frame count");
        let mut worst = 0.0f64;
        for (t, (&ours, &theirs)) in f0.iter().zip(&r.yin_f0).enumerate() {
            let rel = ((ours - theirs) as f64 / theirs as f64).abs();
            assert!(
                rel < YIN_REL,
                "{stem} frame {t}: {ours} Hz vs librosa {theirs} Hz"
            );
            worst = worst.max(rel);
        }
        println!(
            "{stem}: YIN {} frames, worst relative difference {worst:.2e}",
            f0.len()
        );
    }
}

#[test]
fn pyin_matches_librosa_on_speech() {
    for (stem, r) in librosa_reference() {
        let (samples, sr) = read_wav(&format!("{stem}.wav"));
        let cfg = PitchConfig::new(sr);
        let PyinTrack {
            f0,
            voiced,
            voiced_prob,
        } = pyin(&samples, &cfg).unwrap();
        let n = f0.len();
        assert_eq!(n, r.voiced.len(), "{stem}: frame count");
        let agree = (0..n).filter(|&t| voiced[t] == r.voiced[t]).count();
        let mut errors: Vec<f64> = (0..n)
            .filter(|&t| voiced[t] && r.voiced[t])
            .map(|t| cents(f0[t] as f64, r.pyin_f0[t] as f64))
            .collect();
        let both = errors.len();
        let exact = errors.iter().filter(|&&c| c < 1e-3).count();
        let (median, p95) = (percentile(&mut errors, 0.5), percentile(&mut errors, 0.95));
        let max = errors.last().copied().unwrap_or(0.0);
        let prob_diff = (0..n)
            .map(|t| (voiced_prob[t] - r.voiced_prob[t]).abs())
            .fold(0.0f32, f32::max);
        let share = agree as f64 / n as f64;
        println!(
            "{stem}: pYIN voiced flags agree on {agree}/{n} frames ({:.1}%); on {both} frames \
             voiced in both, F0 differs by median {median:.2} / p95 {p95:.2} / max {max:.1} \
             cents ({exact} identical); voiced_prob max |diff| {prob_diff:.2e}",
            share * 100.0
        );
        assert!(
            share >= VOICED_AGREEMENT,
            "{stem}: voiced agreement {share}"
        );
        assert!(p95 <= P95_CENTS, "{stem}: p95 {p95} cents");
    }
}

#[test]
fn speed_per_second_of_audio() {
    let mut audio = 0.0;
    let (mut t_yin, mut t_pyin) = (0.0, 0.0);
    for stem in ["zh-150", "zh-230", "en-120", "en-200"] {
        let (samples, sr) = read_wav(&format!("{stem}.wav"));
        let cfg = PitchConfig::new(sr);
        audio += samples.len() as f64 / sr as f64;
        let start = Instant::now();
        std::hint::black_box(yin(&samples, &cfg).unwrap());
        t_yin += start.elapsed().as_secs_f64();
        let start = Instant::now();
        std::hint::black_box(pyin(&samples, &cfg).unwrap());
        t_pyin += start.elapsed().as_secs_f64();
    }
    println!(
        "one thread, {audio:.1} s of 22,050 Hz speech (frame 2048, hop 512): YIN {:.2} ms, pYIN \
         {:.2} ms per second of audio (other tests may share the CPU)",
        t_yin / audio * 1e3,
        t_pyin / audio * 1e3
    );
}

#[test]
fn interpolation_over_unvoiced_frames() {
    // Unvoiced (flag false, or NaN) frames between voiced ones are filled on the line between
    // them; the edges hold the nearest voiced value.
    let f0 = [
        0.0,
        f32::NAN,
        200.0,
        0.0,
        0.0,
        0.0,
        240.0,
        250.0,
        f32::NAN,
        190.0,
        0.0,
    ];
    let voiced = [
        false, false, true, false, false, false, true, true, false, true, false,
    ];
    assert_eq!(
        interpolate_unvoiced(&f0, &voiced),
        [200.0, 200.0, 200.0, 210.0, 220.0, 230.0, 240.0, 250.0, 220.0, 190.0, 190.0]
    );
    // A voiced flag on a NaN counts as unvoiced; flags missing at the end, too.
    assert_eq!(
        interpolate_unvoiced(&[100.0, f32::NAN, 300.0, 7.0], &[true, true, true]),
        [100.0, 200.0, 300.0, 300.0]
    );
    // One voiced frame: held everywhere. None: zeros. No frames: nothing.
    assert_eq!(
        interpolate_unvoiced(&[0.0, 150.0, 0.0], &[false, true, false]),
        [150.0; 3]
    );
    assert_eq!(interpolate_unvoiced(&[5.0, 6.0], &[false, false]), [0.0; 2]);
    assert!(interpolate_unvoiced(&[], &[]).is_empty());
}

#[test]
fn phoneme_level_averages() {
    // Phonemes of 2, 3, 0, 1, 4 frames; zeros and NaN are unvoiced and left out.
    let frames = [
        100.0,
        110.0,
        0.0,
        210.0,
        230.0,
        0.0,
        50.0,
        f32::NAN,
        0.0,
        20.0,
    ];
    let avg = phoneme_average(&frames, &[2, 3, 0, 1, 4]).unwrap();
    assert_eq!(avg, [105.0, 220.0, 0.0, 0.0, 35.0]);
    assert!(phoneme_average(&[], &[]).unwrap().is_empty());
    assert_eq!(phoneme_average(&[], &[0, 0]).unwrap(), [0.0, 0.0]);

    // After interpolation (ming024/FastSpeech2's order) the averages are plain means.
    let voiced: Vec<bool> = frames.iter().map(|f| *f != 0.0 && !f.is_nan()).collect();
    let filled = interpolate_unvoiced(&frames, &voiced);
    assert_eq!(
        filled,
        [100.0, 110.0, 160.0, 210.0, 230.0, 140.0, 50.0, 40.0, 30.0, 20.0]
    );
    assert_eq!(
        phoneme_average(&filled, &[2, 3, 0, 1, 4]).unwrap(),
        [105.0, 200.0, 0.0, 140.0, 35.0]
    );

    for (durations, sum) in [(&[2usize, 3, 4][..], 9), (&[11][..], 11), (&[][..], 0)] {
        let e = phoneme_average(&frames, durations).unwrap_err().to_string();
        assert!(
            e.contains(&format!("add up to {sum} frames")) && e.contains("there are 10 frames"),
            "{e}"
        );
    }
    let e = phoneme_average(&frames, &[usize::MAX, 2])
        .unwrap_err()
        .to_string();
    assert!(e.contains("18446744073709551617"), "{e}");
}

#[test]
fn invalid_settings_and_input_are_errors() {
    let samples = tone(200.0, 1, 22050);
    let ok = PitchConfig::new(22050);
    let with = |change: fn(&mut PitchConfig)| {
        let mut cfg = ok.clone();
        change(&mut cfg);
        cfg
    };
    let cases: Vec<(PitchConfig, &[f32], &[&str])> = vec![
        (ok.clone(), &[], &["no samples"]),
        (with(|c| c.sample_rate = 0), &samples, &["sample_rate is 0"]),
        (with(|c| c.hop_length = 0), &samples, &["hop_length is 0"]),
        (
            with(|c| c.fmin = 800.0),
            &samples,
            &["fmin 800 Hz", "below fmax 800 Hz"],
        ),
        (with(|c| c.fmin = 0.0), &samples, &["fmin positive"]),
        (
            with(|c| c.fmax = 12000.0),
            &samples,
            &["fmax 12000 Hz", "Nyquist frequency 11025 Hz"],
        ),
        (
            with(|c| c.frame_length = 256),
            &samples,
            &[
                "frame_length 256 is too short for fmin 75 Hz",
                "294.00 samples at 22050 Hz",
                "at least 296",
            ],
        ),
        (
            with(|c| c.center = false),
            &samples[..2000],
            &["2000 samples are fewer than one frame of 2048"],
        ),
        (ok.clone(), &[0.0, f32::NAN, 0.0], &["sample 1 is NaN"]),
    ];
    for (cfg, input, wants) in &cases {
        for want in wants.iter() {
            let e = yin(input, cfg).unwrap_err().to_string();
            assert!(e.contains(want), "yin: {e:?} lacks {want:?}");
            let e = pyin(input, cfg).unwrap_err().to_string();
            assert!(e.contains(want), "pyin: {e:?} lacks {want:?}");
        }
    }
    // pYIN's own settings
    let pyin_cases = [
        (with(|c| c.n_thresholds = 0), "n_thresholds"),
        (with(|c| c.switch_prob = 1.0), "switch_prob"),
        (with(|c| c.resolution = 0.0), "resolution"),
        (with(|c| c.beta_parameters = (2.0, -1.0)), "beta_parameters"),
        (with(|c| c.no_trough_prob = 1.5), "no_trough_prob"),
        (
            with(|c| c.max_transition_rate = f64::NAN),
            "max_transition_rate",
        ),
    ];
    for (cfg, want) in &pyin_cases {
        let e = pyin(&samples, cfg).unwrap_err().to_string();
        assert!(e.contains(want), "pyin: {e:?} lacks {want:?}");
        assert!(yin(&samples, cfg).is_ok());
    }
    // A transition band wider than all the pitch bins is clipped, not an error.
    assert!(pyin(&samples, &with(|c| c.max_transition_rate = 1e12)).is_ok());
    // The shortest frame that fits fmin's period is accepted.
    let fits = PitchConfig {
        frame_length: 296,
        hop_length: 128,
        ..ok
    };
    assert!(pyin(&samples, &fits).is_ok());
}
