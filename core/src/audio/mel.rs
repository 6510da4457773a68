//! Mel scales and triangular mel filter banks, as `librosa.filters.mel` defines them, stored
//! sparsely.
//!
//! Scales ([`MelScale`]):
//! - Slaney (librosa `htk=False`, the Auditory Toolbox's): linear below 1 kHz,
//!   `mel = 3 f / 200`, and logarithmic above, `mel = 15 + ln(f / 1000) / (ln 6.4 / 27)`;
//! - HTK: `mel = 2595 log10(1 + f / 700)`.
//!
//! Bank: `n_mels + 2` points `f_0 .. f_{n_mels+1}` equally spaced in mel from `fmin` to
//! `fmax`; bin `k` of an `n_fft`-point spectrum sits at `k sr / n_fft` Hz, and filter `m` is the
//! triangle rising from `f_m` to `f_{m+1}` and falling to `f_{m+2}`:
//! `w_m(f) = max(0, min((f - f_m) / (f_{m+1} - f_m), (f_{m+2} - f) / (f_{m+2} - f_{m+1})))`.
//! Slaney normalisation ([`MelNorm::Slaney`]) scales filter `m` by `2 / (f_{m+2} - f_m)` so
//! each has (about) the same area; [`MelNorm::None`] keeps peaks of 1.
//!
//! Each filter is nonzero on one run of bins, so the bank keeps each filter's first bin and
//! that run's weights: applying it costs about two multiply-adds per bin (the triangles
//! overlap pairwise), not `n_mels * bins`. Weights are computed in f64 and stored as f32.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use crate::math;
use crate::{Error, Result};

/// Slaney scale: the linear part's slope, Hz per mel (`200/3`).
const SLANEY_HZ_PER_MEL: f64 = 200.0 / 3.0;
/// Slaney scale: where the log part starts, in Hz (and so in mel, 15).
const SLANEY_BREAK_HZ: f64 = 1000.0;
const SLANEY_BREAK_MEL: f64 = SLANEY_BREAK_HZ / SLANEY_HZ_PER_MEL;

/// A mel scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MelScale {
    /// Linear to 1 kHz, logarithmic above (librosa's default, `htk=False`).
    Slaney,
    /// `2595 log10(1 + f / 700)`.
    Htk,
}

impl MelScale {
    /// Slaney's log-part step, `ln(6.4) / 27` mel^-1.
    fn slaney_log_step() -> f64 {
        math::ln(6.4) / 27.0
    }

    pub fn hz_to_mel(self, hz: f64) -> f64 {
        match self {
            MelScale::Htk => 2595.0 * math::log10(1.0 + hz / 700.0),
            MelScale::Slaney if hz >= SLANEY_BREAK_HZ => {
                SLANEY_BREAK_MEL + math::ln(hz / SLANEY_BREAK_HZ) / Self::slaney_log_step()
            }
            MelScale::Slaney => hz / SLANEY_HZ_PER_MEL,
        }
    }

    pub fn mel_to_hz(self, mel: f64) -> f64 {
        match self {
            MelScale::Htk => 700.0 * (math::pow(10.0, mel / 2595.0) - 1.0),
            MelScale::Slaney if mel >= SLANEY_BREAK_MEL => {
                SLANEY_BREAK_HZ * math::exp(Self::slaney_log_step() * (mel - SLANEY_BREAK_MEL))
            }
            MelScale::Slaney => SLANEY_HZ_PER_MEL * mel,
        }
    }
}

/// How filters are scaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MelNorm {
    /// Peaks of 1 (librosa `norm=None`).
    None,
    /// Filter `m` times `2 / (f_{m+2} - f_m)` (librosa `norm="slaney"`, its default).
    Slaney,
}

/// What a filter bank covers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MelConfig {
    pub sample_rate: u32,
    /// The spectrum's transform length: the bank has `n_fft / 2 + 1` columns.
    pub n_fft: usize,
    pub n_mels: usize,
    /// Lowest and highest edge in Hz, `0 <= fmin < fmax <= sample_rate / 2`.
    pub fmin: f32,
    pub fmax: f32,
    pub scale: MelScale,
    pub norm: MelNorm,
}

impl MelConfig {
    /// An error naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        let nyquist = self.sample_rate as f32 / 2.0;
        if self.sample_rate == 0 {
            return Err(Error::invalid(
                "mel filter bank: sample rate must be positive",
            ));
        }
        if self.n_fft == 0 {
            return Err(Error::invalid("mel filter bank: n_fft must be at least 1"));
        }
        if self.n_mels == 0 {
            return Err(Error::invalid("mel filter bank: n_mels must be at least 1"));
        }
        if !(self.fmin >= 0.0 && self.fmin < self.fmax) {
            return Err(Error::invalid(format!(
                "mel filter bank: need 0 <= fmin < fmax, got fmin {} Hz, fmax {} Hz",
                self.fmin, self.fmax
            )));
        }
        if self.fmax > nyquist {
            return Err(Error::invalid(format!(
                "mel filter bank: fmax {} Hz is above the Nyquist frequency {nyquist} Hz \
                 (sample rate {} Hz)",
                self.fmax, self.sample_rate
            )));
        }
        Ok(())
    }

    /// The `n_mels + 2` edge frequencies `f_0 .. f_{n_mels+1}` in Hz, equally spaced in mel.
    pub fn edges(&self) -> Vec<f64> {
        let (lo, hi) = (
            self.scale.hz_to_mel(self.fmin as f64),
            self.scale.hz_to_mel(self.fmax as f64),
        );
        let last = self.n_mels + 1;
        let step = (hi - lo) / last as f64;
        (0..=last)
            .map(|i| match i {
                i if i == last => hi,
                i => lo + step * i as f64,
            })
            .map(|mel| self.scale.mel_to_hz(mel))
            .collect()
    }
}

/// A mel filter bank: for each filter, its first bin and the weights of its run of bins.
#[derive(Clone, Debug, PartialEq)]
pub struct MelBank {
    n_bins: usize,
    /// Filter `m`'s first bin.
    first: Vec<usize>,
    /// Filter `m`'s weights are `weights[offsets[m]..offsets[m + 1]]`.
    offsets: Vec<usize>,
    weights: Vec<f32>,
}

impl MelBank {
    pub fn new(cfg: &MelConfig) -> Result<MelBank> {
        cfg.validate()?;
        let n_bins = cfg.n_fft / 2 + 1;
        let f = cfg.edges();
        let bin_hz = cfg.sample_rate as f64 / cfg.n_fft as f64;
        let mut bank = MelBank {
            n_bins,
            first: Vec::with_capacity(cfg.n_mels),
            offsets: vec![0],
            weights: Vec::new(),
        };
        let mut row = vec![0.0f64; n_bins];
        for m in 0..cfg.n_mels {
            let (lo, mid, hi) = (f[m], f[m + 1], f[m + 2]);
            let scale = match cfg.norm {
                MelNorm::None => 1.0,
                MelNorm::Slaney => 2.0 / (hi - lo),
            };
            for (k, w) in row.iter_mut().enumerate() {
                let hz = k as f64 * bin_hz;
                let rise = (hz - lo) / (mid - lo);
                let fall = (hi - hz) / (hi - mid);
                *w = rise.min(fall).max(0.0) * scale;
            }
            let start = row.iter().position(|&w| w > 0.0).unwrap_or(0);
            let end = row.iter().rposition(|&w| w > 0.0).map_or(start, |e| e + 1);
            bank.first.push(start);
            bank.weights
                .extend(row[start..end].iter().map(|&w| w as f32));
            bank.offsets.push(bank.weights.len());
        }
        Ok(bank)
    }

    pub fn n_mels(&self) -> usize {
        self.first.len()
    }

    /// Columns: the spectrum bins the bank reads, `n_fft / 2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.n_bins
    }

    /// Filter `m`'s first bin and weights (empty for a filter that falls between two bins).
    pub fn filter(&self, m: usize) -> (usize, &[f32]) {
        (
            self.first[m],
            &self.weights[self.offsets[m]..self.offsets[m + 1]],
        )
    }

    /// The bank as a dense `n_mels x n_bins` row-major matrix (librosa's layout).
    pub fn to_dense(&self) -> Vec<f32> {
        let mut dense = vec![0.0; self.n_mels() * self.n_bins];
        for (m, row) in dense.chunks_exact_mut(self.n_bins).enumerate() {
            let (first, w) = self.filter(m);
            row[first..first + w.len()].copy_from_slice(w);
        }
        dense
    }

    /// `out[m] = sum_k w_m[k] spectrum[k]` for every filter (the first `n_mels` of `out`).
    pub fn apply(&self, spectrum: &[f32], out: &mut [f32]) -> Result<()> {
        if spectrum.len() != self.n_bins {
            return Err(Error::invalid(format!(
                "mel filter bank of {} bins applied to a spectrum of {}",
                self.n_bins,
                spectrum.len()
            )));
        }
        if out.len() < self.n_mels() {
            return Err(Error::BufferTooSmall {
                needed: self.n_mels(),
                provided: out.len(),
            });
        }
        for (m, o) in out[..self.n_mels()].iter_mut().enumerate() {
            let (first, w) = self.filter(m);
            *o = dot(w, &spectrum[first..first + w.len()]);
        }
        Ok(())
    }
}

/// `sum_k w[k] x[k]` over equal-length slices, in four interleaved partial sums (added
/// pairwise at the end) so that the adds do not wait on each other and vectorise.
fn dot(w: &[f32], x: &[f32]) -> f32 {
    let (wc, xc) = (w.chunks_exact(4), x.chunks_exact(4));
    let tail: f32 = wc
        .remainder()
        .iter()
        .zip(xc.remainder())
        .map(|(&w, &x)| w * x)
        .sum();
    let mut acc = [0.0f32; 4];
    for (w, x) in wc.zip(xc) {
        for i in 0..4 {
            acc[i] += w[i] * x[i];
        }
    }
    (acc[0] + acc[2]) + (acc[1] + acc[3]) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(n_mels: usize, scale: MelScale, norm: MelNorm) -> MelConfig {
        MelConfig {
            sample_rate: 22050,
            n_fft: 1024,
            n_mels,
            fmin: 0.0,
            fmax: 8000.0,
            scale,
            norm,
        }
    }

    #[test]
    fn scales_round_trip_and_hit_known_points() {
        for scale in [MelScale::Slaney, MelScale::Htk] {
            for hz in [0.0, 60.0, 999.0, 1000.0, 4321.0, 11025.0] {
                let back = scale.mel_to_hz(scale.hz_to_mel(hz));
                assert!((back - hz).abs() < 1e-9 * hz.max(1.0), "{scale:?} {hz}");
            }
        }
        assert!((MelScale::Slaney.hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((MelScale::Slaney.hz_to_mel(6400.0) - 42.0).abs() < 1e-12);
        assert!((MelScale::Htk.hz_to_mel(700.0) - 2595.0 * math::log10(2.0)).abs() < 1e-9);
    }

    #[test]
    fn triangles_peak_at_their_centres() {
        let c = cfg(40, MelScale::Htk, MelNorm::None);
        let bank = MelBank::new(&c).unwrap();
        let edges = c.edges();
        assert!(
            edges[0] == 0.0 && (edges[41] - 8000.0).abs() < 1e-9,
            "{edges:?}"
        );
        for m in 0..40 {
            let (first, w) = bank.filter(m);
            assert!(!w.is_empty());
            let peak = w.iter().cloned().fold(0.0, f32::max);
            // The bin nearest the centre f_{m+1} is within one bin of the peak of 1.
            let k = first + w.iter().position(|&x| x == peak).unwrap();
            let hz = k as f64 * 22050.0 / 1024.0;
            assert!((hz - edges[m + 1]).abs() <= 22050.0 / 1024.0, "filter {m}");
            assert!(peak <= 1.0 && peak > 0.5, "filter {m}: {peak}");
        }
    }

    #[test]
    fn slaney_norm_scales_by_the_bandwidth() {
        let plain = MelBank::new(&cfg(80, MelScale::Slaney, MelNorm::None)).unwrap();
        let c = cfg(80, MelScale::Slaney, MelNorm::Slaney);
        let normed = MelBank::new(&c).unwrap();
        let f = c.edges();
        for m in 0..80 {
            let scale = (2.0 / (f[m + 2] - f[m])) as f32;
            let (a, b) = (plain.filter(m), normed.filter(m));
            assert_eq!(a.0, b.0);
            for (x, y) in a.1.iter().zip(b.1) {
                assert!((x * scale - y).abs() <= 1e-6 * y.abs());
            }
        }
    }

    #[test]
    fn apply_matches_the_dense_product() {
        let bank = MelBank::new(&cfg(80, MelScale::Slaney, MelNorm::Slaney)).unwrap();
        let spectrum: Vec<f32> = (0..513).map(|k| 1.0 + (k % 13) as f32).collect();
        let mut out = vec![0.0; 80];
        bank.apply(&spectrum, &mut out).unwrap();
        let dense = bank.to_dense();
        for (m, &o) in out.iter().enumerate() {
            let want: f64 = (0..513)
                .map(|k| dense[m * 513 + k] as f64 * spectrum[k] as f64)
                .sum();
            assert!((o as f64 - want).abs() < 1e-5 * want, "filter {m}");
        }
        let nonzero = dense.iter().filter(|&&w| w != 0.0).count();
        assert!(nonzero < 2 * 513, "{nonzero} weights stored");
    }

    #[test]
    fn bad_configs_are_errors() {
        let ok = cfg(80, MelScale::Slaney, MelNorm::Slaney);
        for bad in [
            MelConfig {
                sample_rate: 0,
                ..ok
            },
            MelConfig { n_mels: 0, ..ok },
            MelConfig { n_fft: 0, ..ok },
            MelConfig {
                fmax: 11026.0,
                ..ok
            },
            MelConfig { fmin: 8000.0, ..ok },
            MelConfig { fmin: -1.0, ..ok },
            MelConfig {
                fmin: f32::NAN,
                ..ok
            },
        ] {
            assert!(MelBank::new(&bad).is_err(), "{bad:?}");
        }
        let bank = MelBank::new(&ok).unwrap();
        assert!(bank.apply(&[0.0; 512], &mut [0.0; 80]).is_err());
        assert!(bank.apply(&[0.0; 513], &mut [0.0; 79]).is_err());
        let e = MelBank::new(&MelConfig {
            fmax: 11026.0,
            ..ok
        })
        .unwrap_err();
        assert!(alloc::format!("{e}").contains("Nyquist"), "{e}");
    }
}
