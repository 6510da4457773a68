//! Fundamental frequency (F0) of speech: YIN (de Cheveigné & Kawahara 2002), probabilistic YIN
//! (Mauch & Dixon 2014) with its HMM tracking, and FastSpeech2's post-processing of the contour
//! (linear interpolation over unvoiced frames, phoneme-level averaging).
//!
//! The framing, trough rules and pYIN model are librosa 0.11's (`librosa.yin`, `librosa.pyin`),
//! so features computed here match a librosa training pipeline; `tests/audio_pitch.rs` checks
//! both against librosa on speech. Frame `t` is centred on sample `t * hop_length` when
//! [`PitchConfig::center`] is set, and holds `frame_length` samples. The difference function
//! spans the whole frame: librosa 0.11 deprecated `win_length` (it has no effect there), so
//! there is no separate window length.
//!
//! Everything is computed in f64 (the autocorrelation through [`super::fft`]); the outputs are
//! f32.

mod contour;
mod pyin;
mod yin;

pub use contour::{interpolate_unvoiced, phoneme_average};
pub use pyin::{pyin, PyinTrack};
pub use yin::yin;

use alloc::format;

use crate::math;
use crate::{Error, Result};

/// Settings of [`yin()`] and [`pyin()`]; every field is librosa's parameter of the same name.
/// The frequency range is f32 like the samples; the YIN/pYIN constants are f64 so that their
/// defaults are exactly librosa's (0.1, 0.01 and 35.92 are not f32 numbers).
#[derive(Clone, Debug, PartialEq)]
pub struct PitchConfig {
    /// Sampling rate of the samples, in Hz.
    pub sample_rate: u32,
    /// Lowest F0 searched, in Hz: the longest period is `ceil(sample_rate / fmin)` samples.
    pub fmin: f32,
    /// Highest F0 searched, in Hz (at most the Nyquist frequency): the shortest period is
    /// `floor(sample_rate / fmax)` samples.
    pub fmax: f32,
    /// Samples per analysis frame; must exceed the longest period plus one.
    pub frame_length: usize,
    /// Samples between the starts (or centres) of adjacent frames.
    pub hop_length: usize,
    /// Pad `frame_length / 2` zeros on each side so that frame `t` is centred on sample
    /// `t * hop_length` (librosa's `center=True, pad_mode="constant"`); otherwise frame `t`
    /// starts at that sample and the input must hold at least one frame.
    pub center: bool,
    /// YIN's absolute threshold: the period is the first trough of d'(τ) below it.
    pub trough_threshold: f64,
    /// pYIN: number of thresholds s_j = j / n_thresholds, j = 1..=n_thresholds.
    pub n_thresholds: usize,
    /// pYIN: (α, β) of the beta distribution prior over the thresholds.
    pub beta_parameters: (f64, f64),
    /// pYIN: λ of the Boltzmann prior over trough rank (larger favours shorter periods).
    pub boltzmann_parameter: f64,
    /// pYIN: width of a pitch bin of the HMM, in semitones.
    pub resolution: f64,
    /// pYIN: fastest pitch change the HMM allows, in octaves per second.
    pub max_transition_rate: f64,
    /// pYIN: probability of switching between voiced and unvoiced from one frame to the next.
    pub switch_prob: f64,
    /// pYIN: share of a threshold's mass given to the global minimum of d'(τ) when no trough is
    /// below that threshold.
    pub no_trough_prob: f64,
}

impl PitchConfig {
    /// The settings for `sample_rate`: F0 in 75..800 Hz (speech) and librosa's defaults for the
    /// rest, whatever the rate: `frame_length` 2048 (93 ms at 22,050 Hz), `hop_length` 512
    /// (`frame_length / 4`), `center` true, `trough_threshold` 0.1; pYIN `n_thresholds` 100,
    /// `beta_parameters` (2, 18), `boltzmann_parameter` 2, `resolution` 0.1 semitone,
    /// `max_transition_rate` 35.92 octaves/s, `switch_prob` 0.01, `no_trough_prob` 0.01.
    /// Set `hop_length` to the mel hop (256 for FastSpeech2 at 22,050 Hz) to get one F0 per
    /// mel frame.
    pub fn new(sample_rate: u32) -> Self {
        PitchConfig {
            sample_rate,
            fmin: 75.0,
            fmax: 800.0,
            frame_length: 2048,
            hop_length: 512,
            center: true,
            trough_threshold: 0.1,
            n_thresholds: 100,
            beta_parameters: (2.0, 18.0),
            boltzmann_parameter: 2.0,
            resolution: 0.1,
            max_transition_rate: 35.92,
            switch_prob: 0.01,
            no_trough_prob: 0.01,
        }
    }

    /// Number of frames [`yin()`] and [`pyin()`] return for `n_samples` samples:
    /// `1 + (n_samples + 2 * (frame_length / 2) - frame_length) / hop_length` when centred,
    /// `1 + (n_samples - frame_length) / hop_length` otherwise; 0 when there is no whole frame
    /// (or `hop_length` is 0).
    pub fn n_frames(&self, n_samples: usize) -> usize {
        let padded = n_samples + if self.center { self.pad() * 2 } else { 0 };
        match (padded.checked_sub(self.frame_length), self.hop_length) {
            (Some(spare), hop) if hop > 0 => 1 + spare / hop,
            _ => 0,
        }
    }

    /// Zeros padded before the first sample.
    fn pad(&self) -> usize {
        if self.center {
            self.frame_length / 2
        } else {
            0
        }
    }

    /// Checks the settings shared by YIN and pYIN against `samples` (what librosa checks, plus
    /// what librosa leaves to a crash) and returns the searched lag range.
    fn lags(&self, samples: &[f32]) -> Result<Lags> {
        let sr = self.sample_rate as f64;
        let (fmin, fmax) = (self.fmin as f64, self.fmax as f64);
        if self.sample_rate == 0 {
            return Err(Error::invalid("pitch: sample_rate is 0"));
        }
        if samples.is_empty() {
            return Err(Error::invalid("pitch: no samples"));
        }
        if let Some(i) = samples.iter().position(|x| !x.is_finite()) {
            return Err(Error::invalid(format!(
                "pitch: sample {i} is {} (samples must be finite)",
                samples[i]
            )));
        }
        if self.hop_length == 0 {
            return Err(Error::invalid("pitch: hop_length is 0"));
        }
        if !(fmin.is_finite() && fmin > 0.0 && fmax.is_finite()) {
            return Err(Error::invalid(format!(
                "pitch: fmin {} Hz and fmax {} Hz must be finite and fmin positive",
                self.fmin, self.fmax
            )));
        }
        if fmin >= fmax {
            return Err(Error::invalid(format!(
                "pitch: fmin {} Hz must be below fmax {} Hz",
                self.fmin, self.fmax
            )));
        }
        if fmax > sr / 2.0 {
            return Err(Error::invalid(format!(
                "pitch: fmax {} Hz is above the Nyquist frequency {} Hz of {} Hz audio",
                self.fmax,
                sr / 2.0,
                self.sample_rate
            )));
        }
        let longest = sr / fmin;
        if longest >= self.frame_length as f64 - 1.0 {
            return Err(Error::invalid(format!(
                "pitch: frame_length {} is too short for fmin {} Hz: its period is {longest:.2} \
                 samples at {} Hz, so frame_length must be at least {} (or fmin above {:.3} Hz)",
                self.frame_length,
                self.fmin,
                self.sample_rate,
                math::floor(longest) as usize + 2,
                sr / (self.frame_length as f64 - 1.0)
            )));
        }
        if self.n_frames(samples.len()) == 0 {
            return Err(Error::invalid(format!(
                "pitch: {} samples are fewer than one frame of {} (center is false)",
                samples.len(),
                self.frame_length
            )));
        }
        Ok(Lags {
            min_period: math::floor(sr / fmax) as usize,
            max_period: math::ceil(longest) as usize,
        })
    }
}

/// The periods searched, in samples: τ = min_period..=max_period (librosa's `min_period` and
/// `max_period`; `max_period < frame_length - 1` and `min_period >= 2`, so d'(τ) has at least
/// two values).
#[derive(Clone, Copy, Debug)]
struct Lags {
    min_period: usize,
    max_period: usize,
}

/// The frames of a signal as [`PitchConfig`] cuts them, read one at a time into an f64 buffer
/// (the centre padding is never materialised).
struct Frames<'a> {
    samples: &'a [f32],
    frame_length: usize,
    hop_length: usize,
    pad: usize,
    len: usize,
}

impl<'a> Frames<'a> {
    fn new(samples: &'a [f32], cfg: &PitchConfig) -> Self {
        Frames {
            samples,
            frame_length: cfg.frame_length,
            hop_length: cfg.hop_length,
            pad: cfg.pad(),
            len: cfg.n_frames(samples.len()),
        }
    }

    /// Writes frame `t` into `out` (`frame_length` values): samples `t * hop - pad ..` of the
    /// signal, zero outside it.
    fn read(&self, t: usize, out: &mut [f64]) {
        debug_assert_eq!(out.len(), self.frame_length);
        let start = t * self.hop_length; // in padded coordinates
        for (k, o) in out.iter_mut().enumerate() {
            *o = (start + k)
                .checked_sub(self.pad)
                .and_then(|i| self.samples.get(i))
                .map_or(0.0, |&x| x as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_count_matches_librosa_framing() {
        let cfg = PitchConfig::new(22050);
        // librosa.util.frame on the padded signal: 1 + (n + 2048 - 2048) // 512
        assert_eq!(cfg.n_frames(164_702), 322);
        assert_eq!(cfg.n_frames(1), 1);
        let uncentred = PitchConfig {
            center: false,
            ..cfg.clone()
        };
        assert_eq!(uncentred.n_frames(2047), 0);
        assert_eq!(uncentred.n_frames(2048), 1);
        assert_eq!(uncentred.n_frames(2048 + 511), 1);
        assert_eq!(uncentred.n_frames(2048 + 512), 2);
    }

    #[test]
    fn lag_range_is_librosas() {
        let lags = PitchConfig::new(22050).lags(&[0.5; 10]).unwrap();
        assert_eq!((lags.min_period, lags.max_period), (27, 294));
        let lags = PitchConfig::new(16000).lags(&[0.5; 10]).unwrap();
        assert_eq!((lags.min_period, lags.max_period), (20, 214));
    }

    #[test]
    fn frames_are_zero_padded_at_both_ends() {
        let samples = [1.0f32, 2.0, 3.0, 4.0, 5.0];
        let cfg = PitchConfig {
            frame_length: 4,
            hop_length: 2,
            ..PitchConfig::new(8000)
        };
        let frames = Frames::new(&samples, &cfg);
        assert_eq!(frames.len, 3);
        let mut buf = [0.0; 4];
        let mut got = alloc::vec::Vec::new();
        for t in 0..frames.len {
            frames.read(t, &mut buf);
            got.push(buf);
        }
        assert_eq!(
            got,
            [
                [0.0, 0.0, 1.0, 2.0],
                [1.0, 2.0, 3.0, 4.0],
                [3.0, 4.0, 5.0, 0.0]
            ]
        );
    }
}
