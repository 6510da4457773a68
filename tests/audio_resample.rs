//! The resampler (`llmcore::audio::resample`) against closed forms, at the conversions the
//! speech front end meets (44.1k -> 22.05k, 48k -> 16k, 22.05k -> 16k, 8k -> 16k, ...):
//! - a sine inside the passband (<= 0.9 x the lower Nyquist) comes out as the same sine sampled
//!   at the output rate: amplitude within the +-0.001 dB ripple, phase aligned (no delay),
//!   largest error away from the edges < 1e-4, and everything else >= 80 dB down;
//! - a tone above the output Nyquist (downsampling) is attenuated by >= 80 dB;
//! - DC stays DC, equal rates give the input back, the output has ceil(n * to / from) samples;
//! - espeak-ng speech against librosa's `soxr_hq` (scripts/wav_reference.py): the SNR between
//!   the two, as a sanity number (held above 40 dB).

mod common;

use std::f64::consts::PI;

use llmcore::audio::resample::{resample, Resampler};
use llmcore::audio::wav;
use llmcore::io::json::Json;

/// Passband ripple promised by the resampler, dB.
const RIPPLE_DB: f64 = 0.001;
/// Stopband attenuation promised by the resampler, dB.
const STOPBAND_DB: f64 = 80.0;

fn sine(n: usize, freq: f64, rate: u32, amp: f64, phase: f64) -> Vec<f32> {
    (0..n)
        .map(|i| (amp * (2.0 * PI * freq * i as f64 / f64::from(rate) + phase).sin()) as f32)
        .collect()
}

/// Output samples at each end where the filter reaches past the input (zero-padded there).
fn edge(r: &Resampler) -> usize {
    (r.taps() as u64 * u64::from(r.to_rate())).div_ceil(u64::from(r.from_rate())) as usize + 1
}

/// Least-squares fit `y[i] ~ a sin(w i) + b cos(w i)` over `range`: amplitude and phase.
fn fit_sine(y: &[f32], freq: f64, rate: u32, range: std::ops::Range<usize>) -> (f64, f64) {
    let w = 2.0 * PI * freq / f64::from(rate);
    let (mut ss, mut sc, mut cc, mut ys, mut yc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for i in range {
        let (s, c, v) = ((w * i as f64).sin(), (w * i as f64).cos(), f64::from(y[i]));
        (ss, sc, cc, ys, yc) = (ss + s * s, sc + s * c, cc + c * c, ys + v * s, yc + v * c);
    }
    let det = ss * cc - sc * sc;
    let (a, b) = ((ys * cc - yc * sc) / det, (yc * ss - ys * sc) / det);
    ((a * a + b * b).sqrt(), b.atan2(a))
}

fn rms(y: &[f32]) -> f64 {
    (y.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / y.len() as f64).sqrt()
}

fn db(x: f64) -> f64 {
    20.0 * x.log10()
}

/// The conversions tested, with tones inside the passband (Hz).
const PASSBAND_CASES: [(u32, u32, [f64; 3]); 6] = [
    (44100, 22050, [440.0, 4000.0, 9900.0]),
    (48000, 16000, [220.0, 3000.0, 7190.0]),
    (22050, 16000, [110.0, 5000.0, 7190.0]),
    (8000, 16000, [300.0, 2000.0, 3590.0]),
    (16000, 22050, [150.0, 6000.0, 7190.0]),
    (44100, 16000, [1000.0, 7000.0, 7190.0]),
];

#[test]
fn passband_sines_come_out_as_the_same_sine() {
    let (amp, phase) = (0.5, 0.3);
    for (from, to, freqs) in PASSBAND_CASES {
        let r = Resampler::new(from, to).unwrap();
        let nu = f64::from(from.min(to)) / 2.0;
        for f in freqs {
            assert!(f <= 0.9 * nu);
            let x = sine(from as usize, f, from, amp, phase); // 1 s
            let y = r.process(&x);
            let interior = edge(&r)..y.len() - edge(&r);
            let expect = sine(y.len(), f, to, amp, phase);
            let max_err = interior
                .clone()
                .map(|i| (f64::from(y[i]) - f64::from(expect[i])).abs())
                .fold(0.0, f64::max);
            let (a, p) = fit_sine(&y, f, to, interior.clone());
            // Everything that is not the input tone (images, aliases, rounding).
            let (fa, fp) = fit_sine(&expect, f, to, interior.clone());
            assert!((fa - amp).abs() < 1e-6 && (fp - phase).abs() < 1e-6);
            let w = 2.0 * PI * f / f64::from(to);
            let residual: Vec<f32> = interior
                .clone()
                .map(|i| (f64::from(y[i]) - a * (w * i as f64 + p).sin()) as f32)
                .collect();
            let spurious_db = db(rms(&residual) * 2f64.sqrt() / amp);
            eprintln!(
                "{from} -> {to} Hz, {f} Hz sine: gain {:+.5} dB, phase {:+.1e} rad, max error {max_err:.1e}, rest {spurious_db:.1} dB",
                db(a / amp),
                p - phase
            );
            assert!(
                db(a / amp).abs() <= RIPPLE_DB,
                "{from}->{to} {f} Hz: gain {} dB",
                db(a / amp)
            );
            assert!(
                (p - phase).abs() < 1e-5,
                "{from}->{to} {f} Hz: phase error {}",
                p - phase
            );
            assert!(max_err < 1e-4, "{from}->{to} {f} Hz: max error {max_err}");
            assert!(
                spurious_db < -STOPBAND_DB,
                "{from}->{to} {f} Hz: spurious {spurious_db} dB"
            );
        }
    }
}

#[test]
fn tones_above_the_output_nyquist_are_removed() {
    // From the stopband edge (the output Nyquist) up to the input Nyquist.
    let cases: [(u32, u32, [f64; 4]); 4] = [
        (44100, 22050, [11025.0, 11600.0, 15000.0, 22000.0]),
        (48000, 16000, [8000.0, 9000.0, 16000.0, 23900.0]),
        (22050, 16000, [8000.0, 8500.0, 10000.0, 11000.0]),
        (44100, 16000, [8000.0, 8100.0, 12000.0, 22000.0]),
    ];
    for (from, to, freqs) in cases {
        let r = Resampler::new(from, to).unwrap();
        for f in freqs {
            let amp = 0.5;
            let y = r.process(&sine(from as usize, f, from, amp, 0.3));
            let att = -db(rms(&y[edge(&r)..y.len() - edge(&r)]) * 2f64.sqrt() / amp);
            eprintln!("{from} -> {to} Hz, {f} Hz tone: attenuated {att:.1} dB");
            assert!(att >= STOPBAND_DB, "{from}->{to} {f} Hz: only {att} dB");
        }
    }
}

#[test]
fn dc_stays_dc_and_equal_rates_are_the_identity() {
    for (from, to, _) in PASSBAND_CASES {
        let r = Resampler::new(from, to).unwrap();
        let y = r.process(&vec![0.7f32; from as usize / 2]);
        let worst = y[edge(&r)..y.len() - edge(&r)]
            .iter()
            .map(|&v| (v - 0.7).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-6, "{from}->{to}: DC off by {worst}");
    }
    let x: Vec<f32> = (0..1000)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    for rate in [8000, 16000, 44100] {
        assert_eq!(resample(&x, rate, rate).unwrap(), x);
    }
}

#[test]
fn output_has_ceil_n_to_over_from_samples() {
    for (from, to, n) in [
        (44100, 22050, 1001),
        (48000, 16000, 100),
        (22050, 16000, 441),
        (22050, 16000, 442),
        (8000, 16000, 7),
        (1, 3, 2),
        (3, 1, 4),
    ] {
        let r = Resampler::new(from, to).unwrap();
        let expect = (n as u64 * u64::from(to)).div_ceil(u64::from(from)) as usize;
        assert_eq!(r.output_len(n), expect);
        assert_eq!(r.process(&vec![0.1; n]).len(), expect, "{from}->{to} n={n}");
    }
    assert!(resample(&[], 44100, 16000).unwrap().is_empty());
    assert!(resample(&[1.0], 0, 16000).is_err());
}

#[test]
fn speech_against_soxr_hq() {
    let (meta, arrays) = common::f32_fixture("audio/ref/resample_soxr");
    for case in meta.get("cases").and_then(Json::as_array).unwrap() {
        let num = |k: &str| case.get(k).and_then(Json::as_f64).unwrap();
        let path = case.get("path").and_then(Json::as_str).unwrap();
        let bytes =
            std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
        let w = wav::decode(&bytes).unwrap();
        let (from, to) = (num("from") as u32, num("to") as u32);
        assert_eq!(w.sample_rate, from);
        let ours = resample(&w.to_mono(), from, to).unwrap();
        assert_eq!(ours.len() as f64, num("output_len"), "{path}");
        let soxr = &arrays[case.get("soxr_hq").and_then(Json::as_str).unwrap()];
        let start = num("start") as usize;
        let ours = &ours[start..start + soxr.len()];
        let signal: f64 = soxr.iter().map(|&v| f64::from(v).powi(2)).sum();
        let noise: f64 = ours
            .iter()
            .zip(soxr)
            .map(|(&a, &b)| f64::from(a - b).powi(2))
            .sum();
        let snr = 10.0 * (signal / noise).log10();
        eprintln!(
            "{path} {from} -> {to} Hz: SNR against soxr_hq {snr:.1} dB over {} samples",
            soxr.len()
        );
        assert!(snr > 40.0, "{path}: SNR {snr} dB against soxr_hq");
    }
}
