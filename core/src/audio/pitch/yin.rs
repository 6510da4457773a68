//! YIN (de Cheveigné & Kawahara, "YIN, a fundamental frequency estimator for speech and music",
//! JASA 111(4), 2002): the difference function, its cumulative mean normalisation d'(τ), the
//! absolute threshold and parabolic interpolation, framed as librosa 0.11 frames them.

use alloc::vec;
use alloc::vec::Vec;

use super::{Frames, Lags, PitchConfig};
use crate::audio::fft::RealFft;
use crate::Result;

/// F0 in Hz of every frame of `samples` by YIN: for each frame, the smallest period τ that is a
/// trough of d'(τ) below `cfg.trough_threshold` (step 4 of the paper, the absolute threshold), or
/// the global minimum of d'(τ) when there is none, refined by parabolic interpolation (step 5);
/// F0 = `sample_rate / τ`. Every frame gets an F0 (digital silence, where d'(τ) = 0, gets
/// `sample_rate / min_period`): YIN has no voicing decision; [`pyin`](super::pyin()) has one.
///
/// Errors (`Error::InvalidArgument`): no samples, a non-finite sample, `sample_rate` 0,
/// `hop_length` 0, fmin not positive, `fmin >= fmax`, fmax above Nyquist, a `frame_length` not
/// longer than fmin's period plus one, and (uncentred) fewer samples than one frame.
pub fn yin(samples: &[f32], cfg: &PitchConfig) -> Result<Vec<f32>> {
    let lags = cfg.lags(samples)?;
    let frames = Frames::new(samples, cfg);
    let mut cmndf = Cmndf::new(cfg.frame_length, lags)?;
    let sr = cfg.sample_rate as f64;
    let mut f0 = Vec::with_capacity(frames.len);
    for t in 0..frames.len {
        let d = cmndf.compute(&frames, t)?;
        let i = (0..d.len())
            .find(|&i| d[i] < cfg.trough_threshold && is_trough(d, i))
            .unwrap_or_else(|| argmin(d));
        let period = (lags.min_period + i) as f64 + parabolic_shift(d, i);
        f0.push((sr / period) as f32);
    }
    Ok(f0)
}

/// The cumulative mean normalised difference function of one frame, with its buffers.
///
/// For a frame x_0..x_{W-1} (W = `frame_length`), extended by zeros past its end (librosa's
/// convention: the lagged copy runs off the frame), the difference function (eqs. 6-7) is
///
///   d(τ) = Σ_{j=0}^{W-1} (x_j - x_{j+τ})² = 2 (r(0) - r(τ)) - Σ_{j<τ} x_j²,
///   r(τ) = Σ_{j=0}^{W-1-τ} x_j x_{j+τ},
///
/// and the cumulative mean normalised difference (eq. 8) is
///
///   d'(τ) = d(τ) / ((1/τ) Σ_{j=1}^{τ} d(j)),   τ >= 1,
///
/// evaluated for τ = `min_period..=max_period` (a smallest-normal ε in the denominator, as
/// librosa adds, makes an all-zero frame give d' = 0). The energies Σ_{j<τ} x_j² are a running
/// sum; the autocorrelation r(τ) comes from the frame's power spectrum, zero-padded to a power
/// of two >= 2W - 1 so that it does not wrap: r = DFT⁻¹(|DFT(x)|²), and since |DFT(x)|² is real
/// and even its inverse is its forward [`RealFft`] divided by the length. All in f64. For
/// W = 2048 that is two 4096-point real transforms per frame, about five times faster here
/// than the W · τ_max multiply-adds of the direct lagged products, with round-off at the
/// 1e-16 · r(0) level (a frame of zeros still transforms to exact zeros).
///
/// librosa 0.11 differs in one term: it zeroes its running energy at index 0 before reading it,
/// so its d(1) lacks x_0². That moves every d'(τ) by x_0² / Σ_{j<=τ} d(j), and YIN's F0 on the
/// speech fixtures by at most 2e-6 relative (with its d(1), every frame's F0 rounds to the same
/// f32); here d(τ) is the formula above for every τ.
pub(super) struct Cmndf {
    lags: Lags,
    fft: RealFft,
    /// The zero-padded frame, then its power spectrum.
    buf: Vec<f64>,
    re: Vec<f64>,
    im: Vec<f64>,
    d: Vec<f64>,
    dprime: Vec<f64>,
}

impl Cmndf {
    pub(super) fn new(frame_length: usize, lags: Lags) -> Result<Self> {
        let n = (2 * frame_length - 1).next_power_of_two();
        let fft = RealFft::new(n)?;
        let bins = fft.bins();
        Ok(Cmndf {
            lags,
            fft,
            buf: vec![0.0; n],
            re: vec![0.0; bins],
            im: vec![0.0; bins],
            d: vec![0.0; lags.max_period + 1],
            dprime: vec![0.0; lags.max_period - lags.min_period + 1],
        })
    }

    /// d'(τ) of frame `t`, indexed by `τ - min_period`.
    pub(super) fn compute(&mut self, frames: &Frames, t: usize) -> Result<&[f64]> {
        let (w, n, max_period) = (frames.frame_length, self.buf.len(), self.lags.max_period);
        frames.read(t, &mut self.buf[..w]);
        self.buf[w..].fill(0.0);
        // Σ_{j<τ} x_j² into d(τ) for now.
        let mut head_energy = 0.0;
        for tau in 1..=max_period {
            head_energy += self.buf[tau - 1] * self.buf[tau - 1];
            self.d[tau] = head_energy;
        }
        // n r(τ) = DFT(|DFT(x)|²)(τ)
        self.fft.forward(&self.buf, &mut self.re, &mut self.im)?;
        for k in 0..=n / 2 {
            let power = self.re[k] * self.re[k] + self.im[k] * self.im[k];
            self.buf[k] = power;
            if k > 0 && k < n / 2 {
                self.buf[n - k] = power;
            }
        }
        self.fft.forward(&self.buf, &mut self.re, &mut self.im)?;
        let scale = 1.0 / n as f64;
        let r0 = self.re[0] * scale;
        // d(τ) (eq. 7), then d'(τ) = d(τ) τ / Σ_{j=1}^{τ} d(j) (eq. 8).
        let mut running_sum = 0.0;
        for tau in 1..=max_period {
            self.d[tau] = 2.0 * (r0 - self.re[tau] * scale) - self.d[tau];
            running_sum += self.d[tau];
            if tau >= self.lags.min_period {
                let mean = running_sum / tau as f64;
                self.dprime[tau - self.lags.min_period] = self.d[tau] / (mean + f64::MIN_POSITIVE);
            }
        }
        Ok(&self.dprime)
    }
}

/// Whether `d'[i]` is a trough, by librosa's rules: an interior value strictly below its left
/// neighbour and not above its right one (`util.localmin`); the first value when below the
/// second; the last when below the one before it.
pub(super) fn is_trough(d: &[f64], i: usize) -> bool {
    let last = d.len() - 1;
    match i {
        0 => d[0] < d[1],
        _ if i == last => d[last] < d[last - 1],
        _ => d[i] < d[i - 1] && d[i] <= d[i + 1],
    }
}

/// Offset from `i` of the vertex of the parabola through `d'[i-1]`, `d'[i]`, `d'[i+1]` (step 5
/// of the paper): `-b / a` with `a = d'[i+1] + d'[i-1] - 2 d'[i]`, `b = (d'[i+1] - d'[i-1]) / 2`;
/// 0 at either end and whenever the vertex would lie more than one lag away (`|b| >= |a|`), as
/// librosa's `_parabolic_interpolation` does.
pub(super) fn parabolic_shift(d: &[f64], i: usize) -> f64 {
    if i == 0 || i + 1 == d.len() {
        return 0.0;
    }
    let a = d[i + 1] + d[i - 1] - 2.0 * d[i];
    let b = (d[i + 1] - d[i - 1]) / 2.0;
    if b.abs() >= a.abs() {
        0.0
    } else {
        -b / a
    }
}

/// Index of the first smallest value (numpy's `argmin`).
pub(super) fn argmin(d: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in d.iter().enumerate() {
        if v < d[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// d(τ) straight from its definition, eq. 6 with the frame zero-extended.
    fn difference_by_definition(x: &[f64], tau: usize) -> f64 {
        (0..x.len())
            .map(|j| x[j] - x.get(j + tau).copied().unwrap_or(0.0))
            .map(|e| e * e)
            .sum()
    }

    #[test]
    fn cmndf_matches_its_definition() {
        let samples: Vec<f32> = (0..3000)
            .map(|i| {
                let t = i as f64 / 8000.0;
                (crate::math::sin(2.0 * core::f64::consts::PI * 157.0 * t)
                    + 0.3 * crate::math::sin(2.0 * core::f64::consts::PI * 911.0 * t))
                    as f32
            })
            .collect();
        let cfg = PitchConfig {
            frame_length: 256,
            hop_length: 100,
            fmin: 40.0,
            fmax: 1000.0,
            ..PitchConfig::new(8000)
        };
        let lags = cfg.lags(&samples).unwrap();
        let frames = Frames::new(&samples, &cfg);
        let mut cmndf = Cmndf::new(cfg.frame_length, lags).unwrap();
        let mut x = vec![0.0; cfg.frame_length];
        for t in [0, 7, frames.len - 1] {
            frames.read(t, &mut x);
            let d: Vec<f64> = (0..=lags.max_period)
                .map(|tau| difference_by_definition(&x, tau))
                .collect();
            let got = cmndf.compute(&frames, t).unwrap().to_vec();
            for tau in lags.min_period..=lags.max_period {
                let mean = d[1..=tau].iter().sum::<f64>() / tau as f64;
                let want = d[tau] / mean;
                let err = (got[tau - lags.min_period] - want).abs();
                assert!(err < 1e-12 * (1.0 + want.abs()), "t {t} tau {tau}: {err}");
            }
        }
    }

    #[test]
    fn all_zero_frame_gives_zero_cmndf() {
        let samples = [0.0f32; 4096];
        let cfg = PitchConfig::new(22050);
        let lags = cfg.lags(&samples).unwrap();
        let frames = Frames::new(&samples, &cfg);
        let mut cmndf = Cmndf::new(cfg.frame_length, lags).unwrap();
        assert!(cmndf.compute(&frames, 3).unwrap().iter().all(|&v| v == 0.0));
    }

    #[test]
    fn trough_rules_at_the_ends_and_on_plateaus() {
        let d = [0.5, 0.7, 0.3, 0.3, 0.6, 0.2];
        let troughs: Vec<usize> = (0..d.len()).filter(|&i| is_trough(&d, i)).collect();
        // 0: below its right neighbour; 2: a plateau's left end; 5: the last value.
        assert_eq!(troughs, [0, 2, 5]);
        assert!(!is_trough(&[0.4, 0.4], 0));
    }

    #[test]
    fn parabolic_shift_finds_the_vertex() {
        // samples of (x - 2.3)^2 at 1, 2, 3: vertex 0.3 to the right of index 1 of [1, 2, 3]
        let d = [1.69, 0.09, 0.49];
        assert!((parabolic_shift(&d, 1) - 0.3).abs() < 1e-12);
        assert_eq!(parabolic_shift(&d, 0), 0.0);
        assert_eq!(parabolic_shift(&d, 2), 0.0);
        // a vertex more than one lag away (monotone run) is not trusted
        assert_eq!(parabolic_shift(&[3.0, 2.0, 1.0], 1), 0.0);
    }

    #[test]
    fn argmin_takes_the_first_minimum() {
        assert_eq!(argmin(&[0.5, 0.1, 0.3, 0.1]), 1);
    }
}
