//! Short-time Fourier transform, framed as `librosa.stft` frames it, with magnitude or power
//! rows of `n_fft/2 + 1` bins.
//!
//! Frame `t` is the `n_fft` samples of the (padded) signal starting at `t * hop`, multiplied by
//! the window: `win_length` points of Hann, zero-padded to `n_fft` and centred (offset
//! `(n_fft - win_length) / 2`), then transformed: `X_t[k] = sum_i w[i] x[t hop + i] e^{-2 pi i k i / n_fft}`.
//! With `center`, the signal is first padded by `n_fft / 2` samples on each side, with zeros
//! ([`PadMode::Constant`], the default of librosa 0.11's `pad_mode`) or by reflection about the
//! edge samples without repeating them ([`PadMode::Reflect`], `numpy.pad(mode="reflect")`,
//! what `torch.stft` and so openai-whisper and FastSpeech2's TacotronSTFT use). The frame count
//! is `1 + (L - n_fft) / hop` (integer division) for a padded length `L >= n_fft`, else 0 (see
//! [`n_frames`]).
//!
//! The window and the transform run in f64 (see [`super::fft`] for why); rows come out as f32.
//! [`Stft::frame_into`] computes one frame into a caller's row, so a caller can stream frames or
//! fill its own buffer ([`Stft::process_into`]); nothing is allocated per frame.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use super::fft::RealFft;
use crate::math;
use crate::{Error, Result};

/// The analysis window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// Periodic Hann, `w[i] = 1/2 - 1/2 cos(2 pi i / N)` for `i < N` (scipy's
    /// `get_window("hann", N, fftbins=True)`, `torch.hann_window(N)`): the one for spectra.
    Hann,
    /// Symmetric Hann, `w[i] = 1/2 - 1/2 cos(2 pi i / (N - 1))` (`fftbins=False`; `[1]` for
    /// `N = 1`).
    HannSymmetric,
}

impl Window {
    /// The `len` window values.
    pub fn values(self, len: usize) -> Vec<f64> {
        let period = match self {
            Window::Hann => len,
            Window::HannSymmetric if len > 1 => len - 1,
            Window::HannSymmetric => return vec![1.0; len],
        };
        let step = 2.0 * core::f64::consts::PI / period as f64;
        (0..len)
            .map(|i| 0.5 - 0.5 * math::cos(step * i as f64))
            .collect()
    }
}

/// How a centred STFT pads the signal's ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PadMode {
    /// Zeros (librosa 0.11's default).
    Constant,
    /// Mirror about the edge samples, which are not repeated: `x[2], x[1], | x[0], x[1], ...`
    /// (continued periodically, as numpy does, when the pad is longer than the signal).
    Reflect,
}

/// What each bin of a row holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpectrumKind {
    /// `|X[k]|`, as the f32 square root of the f32-rounded power (within 1 ulp of `|X[k]|`
    /// rounded once).
    Magnitude,
    /// `|X[k]|^2`.
    Power,
}

/// How to frame and transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StftConfig {
    /// Transform length; rows have `n_fft / 2 + 1` bins.
    pub n_fft: usize,
    /// Samples between frame starts.
    pub hop: usize,
    /// Window length, at most `n_fft` (the window is zero-padded to `n_fft`, centred).
    pub win_length: usize,
    pub window: Window,
    /// Pad the signal by `n_fft / 2` on each side, so frame `t` is centred on sample `t * hop`.
    pub center: bool,
    /// The padding when `center` is on.
    pub pad_mode: PadMode,
    pub kind: SpectrumKind,
}

impl StftConfig {
    /// librosa's defaults around `n_fft` and `hop`: `win_length = n_fft`, periodic Hann,
    /// centred with zero padding, magnitude rows.
    pub fn new(n_fft: usize, hop: usize) -> StftConfig {
        StftConfig {
            n_fft,
            hop,
            win_length: n_fft,
            window: Window::Hann,
            center: true,
            pad_mode: PadMode::Constant,
            kind: SpectrumKind::Magnitude,
        }
    }

    /// Bins per row, `n_fft / 2 + 1`.
    pub fn bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// An error naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        if self.n_fft == 0 {
            return Err(Error::invalid("STFT n_fft must be at least 1"));
        }
        if self.hop == 0 {
            return Err(Error::invalid("STFT hop must be at least 1"));
        }
        if self.win_length == 0 || self.win_length > self.n_fft {
            return Err(Error::invalid(format!(
                "STFT win_length {} must be in 1..=n_fft ({})",
                self.win_length, self.n_fft
            )));
        }
        Ok(())
    }

    /// The `n_fft` window values: [`StftConfig::window`] of `win_length` points, zero-padded
    /// on both sides to `n_fft`, centred as librosa's `pad_center` does.
    pub fn padded_window(&self) -> Vec<f64> {
        let mut w = vec![0.0; self.n_fft];
        let left = (self.n_fft - self.win_length.min(self.n_fft)) / 2;
        let values = self.window.values(self.win_length.min(self.n_fft));
        w[left..left + values.len()].copy_from_slice(&values);
        w
    }

    /// Samples of padding on each side: `n_fft / 2` when centred, else 0.
    fn pad(&self) -> usize {
        if self.center {
            self.n_fft / 2
        } else {
            0
        }
    }
}

/// How many frames an STFT of `len` samples has: `1 + (L - n_fft) / hop` for the padded length
/// `L = len + 2 (n_fft / 2)` (centred) or `L = len`, 0 when `L < n_fft` or `hop` is 0.
pub fn n_frames(len: usize, cfg: &StftConfig) -> usize {
    let padded = len + 2 * cfg.pad();
    if padded < cfg.n_fft || cfg.hop == 0 {
        0
    } else {
        1 + (padded - cfg.n_fft) / cfg.hop
    }
}

/// Frames of equal width, row-major: a spectrogram (`n_bins = n_fft/2 + 1`), a mel
/// spectrogram (`n_bins = n_mels`).
#[derive(Clone, Debug, PartialEq)]
pub struct Spectrogram {
    pub n_frames: usize,
    pub n_bins: usize,
    /// `n_frames * n_bins` values, frame `t` at `[t * n_bins, (t + 1) * n_bins)`.
    pub data: Vec<f32>,
}

impl Spectrogram {
    /// Frame `t`'s row.
    pub fn frame(&self, t: usize) -> &[f32] {
        &self.data[t * self.n_bins..(t + 1) * self.n_bins]
    }
}

/// An STFT plan: the window, the real FFT and its buffers, for one [`StftConfig`].
#[derive(Clone, Debug)]
pub struct Stft {
    cfg: StftConfig,
    window: Vec<f64>,
    fft: RealFft,
    /// A frame that reaches past the signal's ends, padded.
    edge: Vec<f32>,
}

impl Stft {
    pub fn new(cfg: StftConfig) -> Result<Stft> {
        cfg.validate()?;
        Ok(Stft {
            window: cfg.padded_window(),
            fft: RealFft::new(cfg.n_fft)?,
            edge: vec![0.0; cfg.n_fft],
            cfg,
        })
    }

    pub fn config(&self) -> &StftConfig {
        &self.cfg
    }

    /// Bins per row, `n_fft / 2 + 1`.
    pub fn bins(&self) -> usize {
        self.cfg.bins()
    }

    /// [`n_frames`] for this plan's configuration.
    pub fn n_frames(&self, len: usize) -> usize {
        n_frames(len, &self.cfg)
    }

    /// Frame `t` of `samples` into `row` (its first `n_fft/2 + 1` values).
    pub fn frame_into(&mut self, samples: &[f32], t: usize, row: &mut [f32]) -> Result<()> {
        let (bins, frames) = (self.bins(), self.n_frames(samples.len()));
        if samples.is_empty() {
            return Err(Error::invalid("STFT of an empty signal"));
        }
        if t >= frames {
            return Err(Error::invalid(format!(
                "STFT frame {t} of a {}-sample signal, which has {frames} frames",
                samples.len()
            )));
        }
        if row.len() < bins {
            return Err(Error::BufferTooSmall {
                needed: bins,
                provided: row.len(),
            });
        }
        let n = self.cfg.n_fft;
        let start = (t * self.cfg.hop) as isize - self.cfg.pad() as isize;
        let frame = if start >= 0 && start as usize + n <= samples.len() {
            &samples[start as usize..start as usize + n]
        } else {
            for (i, e) in self.edge.iter_mut().enumerate() {
                *e = padded_sample(samples, start + i as isize, self.cfg.pad_mode);
            }
            &self.edge[..]
        };
        let magnitude = self.cfg.kind == SpectrumKind::Magnitude;
        self.fft.windowed_row(frame, &self.window, magnitude, row)?;
        Ok(())
    }

    /// Every frame of `samples` into `out` (`n_frames * bins` values at least), returning the
    /// frame count.
    pub fn process_into(&mut self, samples: &[f32], out: &mut [f32]) -> Result<usize> {
        let (bins, frames) = (self.bins(), self.frame_count(samples)?);
        if out.len() < frames * bins {
            return Err(Error::BufferTooSmall {
                needed: frames * bins,
                provided: out.len(),
            });
        }
        for (t, row) in out.chunks_exact_mut(bins).take(frames).enumerate() {
            self.frame_into(samples, t, row)?;
        }
        Ok(frames)
    }

    /// Every frame of `samples`.
    pub fn process(&mut self, samples: &[f32]) -> Result<Spectrogram> {
        let (bins, frames) = (self.bins(), self.frame_count(samples)?);
        let mut data = vec![0.0; frames * bins];
        self.process_into(samples, &mut data)?;
        Ok(Spectrogram {
            n_frames: frames,
            n_bins: bins,
            data,
        })
    }

    /// The frame count of `samples`, or the error for a signal with no frame.
    pub fn frame_count(&self, samples: &[f32]) -> Result<usize> {
        if samples.is_empty() {
            return Err(Error::invalid("STFT of an empty signal"));
        }
        match self.n_frames(samples.len()) {
            0 => Err(Error::invalid(format!(
                "a {}-sample signal is shorter than n_fft ({}) and the STFT is not centred: \
                 no frame",
                samples.len(),
                self.cfg.n_fft
            ))),
            frames => Ok(frames),
        }
    }
}

/// Sample `i` of the signal extended beyond its ends by `mode` (`samples` is not empty).
fn padded_sample(samples: &[f32], i: isize, mode: PadMode) -> f32 {
    let len = samples.len() as isize;
    if (0..len).contains(&i) {
        return samples[i as usize];
    }
    match mode {
        PadMode::Constant => 0.0,
        PadMode::Reflect if len == 1 => samples[0],
        PadMode::Reflect => {
            // The reflected extension is periodic with period 2 (len - 1).
            let period = 2 * (len - 1);
            let j = i.rem_euclid(period);
            samples[if j < len { j } else { period - j } as usize]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(n_fft: usize, hop: usize, center: bool, pad_mode: PadMode) -> StftConfig {
        StftConfig {
            center,
            pad_mode,
            ..StftConfig::new(n_fft, hop)
        }
    }

    #[test]
    fn frame_counts_follow_librosa() {
        // centred: 1 + len / hop for even n_fft
        assert_eq!(n_frames(22050, &cfg(1024, 256, true, PadMode::Reflect)), 87);
        assert_eq!(n_frames(16000, &cfg(400, 160, true, PadMode::Reflect)), 101);
        assert_eq!(n_frames(1, &cfg(400, 160, true, PadMode::Constant)), 1);
        // not centred: 1 + (len - n_fft) / hop, none below n_fft
        assert_eq!(n_frames(1024, &cfg(1024, 256, false, PadMode::Constant)), 1);
        assert_eq!(n_frames(1279, &cfg(1024, 256, false, PadMode::Constant)), 1);
        assert_eq!(n_frames(1280, &cfg(1024, 256, false, PadMode::Constant)), 2);
        assert_eq!(n_frames(1023, &cfg(1024, 256, false, PadMode::Constant)), 0);
        // odd n_fft pads n_fft / 2 on each side
        assert_eq!(n_frames(10, &cfg(5, 2, true, PadMode::Constant)), 5);
    }

    #[test]
    fn reflection_follows_numpy() {
        let x = [1.0, 2.0, 3.0];
        let ext: Vec<f32> = (-6..9)
            .map(|i| padded_sample(&x, i, PadMode::Reflect))
            .collect();
        // numpy.pad([1, 2, 3], 6, mode="reflect")
        assert_eq!(
            ext,
            [3., 2., 1., 2., 3., 2., 1., 2., 3., 2., 1., 2., 3., 2., 1.]
        );
        assert_eq!(padded_sample(&[5.0], -3, PadMode::Reflect), 5.0);
        assert_eq!(padded_sample(&x, 3, PadMode::Constant), 0.0);
    }

    #[test]
    fn windows() {
        let w = Window::Hann.values(4);
        assert!((w[0] - 0.0).abs() < 1e-15 && (w[1] - 0.5).abs() < 1e-15);
        assert!((w[2] - 1.0).abs() < 1e-15 && (w[3] - 0.5).abs() < 1e-15);
        let s = Window::HannSymmetric.values(5);
        assert!(s[0].abs() < 1e-15 && s[4].abs() < 1e-15 && (s[2] - 1.0).abs() < 1e-15);
        assert_eq!(Window::HannSymmetric.values(1), [1.0]);
        let mut c = StftConfig::new(8, 2);
        c.win_length = 4;
        let p = c.padded_window();
        assert_eq!(p[..2], [0.0, 0.0]);
        assert_eq!(p[6..], [0.0, 0.0]);
        assert!((p[4] - 1.0).abs() < 1e-15);
    }

    /// Every frame against the windowed direct DFT of the same padded samples.
    #[test]
    fn frames_match_a_direct_dft() {
        let x: Vec<f32> = (0..300)
            .map(|i| math::sin(0.37 * i as f64) as f32 + 0.01 * (i % 7) as f32)
            .collect();
        for (n_fft, win, center, pad_mode, kind) in [
            (64, 64, true, PadMode::Reflect, SpectrumKind::Power),
            (64, 40, true, PadMode::Constant, SpectrumKind::Magnitude),
            (50, 50, false, PadMode::Constant, SpectrumKind::Magnitude),
            (45, 32, true, PadMode::Reflect, SpectrumKind::Power),
        ] {
            let c = StftConfig {
                win_length: win,
                kind,
                ..cfg(n_fft, 16, center, pad_mode)
            };
            let spec = Stft::new(c).unwrap().process(&x).unwrap();
            assert_eq!(spec.n_frames, n_frames(x.len(), &c));
            let w = c.padded_window();
            let pad = if center { n_fft / 2 } else { 0 } as isize;
            for t in 0..spec.n_frames {
                for k in 0..c.bins() {
                    let (mut re, mut im) = (0.0, 0.0);
                    for (i, &wi) in w.iter().enumerate() {
                        let s = padded_sample(&x, (t * 16 + i) as isize - pad, pad_mode) as f64;
                        let a = -2.0 * core::f64::consts::PI * ((k * i) % n_fft) as f64;
                        let a = a / n_fft as f64;
                        re += wi * s * math::cos(a);
                        im += wi * s * math::sin(a);
                    }
                    let p = re * re + im * im;
                    let want = match kind {
                        SpectrumKind::Power => p,
                        SpectrumKind::Magnitude => math::sqrt(p),
                    };
                    let got = spec.frame(t)[k] as f64;
                    assert!(
                        (got - want).abs() <= 1e-6 * want.max(1.0),
                        "{c:?} frame {t} bin {k}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let c = StftConfig::new(16, 4);
        assert!(Stft::new(StftConfig { hop: 0, ..c }).is_err());
        assert!(Stft::new(StftConfig { n_fft: 0, ..c }).is_err());
        assert!(Stft::new(StftConfig {
            win_length: 17,
            ..c
        })
        .is_err());
        assert!(Stft::new(StftConfig { win_length: 0, ..c }).is_err());
        let mut stft = Stft::new(c).unwrap();
        assert!(stft.process(&[]).is_err());
        let frames = stft.n_frames(10);
        assert!(stft.frame_into(&[0.0; 10], frames, &mut [0.0; 9]).is_err());
        assert!(matches!(
            stft.process_into(&[0.0; 10], &mut [0.0; 10]),
            Err(Error::BufferTooSmall { .. })
        ));
        let mut uncentred = Stft::new(StftConfig { center: false, ..c }).unwrap();
        assert!(uncentred.process(&[0.0; 15]).is_err());
        assert_eq!(uncentred.process(&[0.0; 16]).unwrap().n_frames, 1);
    }
}
