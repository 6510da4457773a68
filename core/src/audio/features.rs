//! Log-mel spectrograms and frame energy: the features a FastSpeech2-style model is trained on,
//! with the two recipes by name ([`Preset`]).
//!
//! Pipeline: [`super::spectrum`] (STFT, magnitude or power rows) -> [`super::mel`] (the sparse
//! filter bank) -> the log recipe ([`LogRecipe`]). Frame energy is the L2 norm of each frame's
//! STFT magnitude, `sqrt(sum_k |X_t[k]|^2)` over the `n_fft/2 + 1` bins (FastSpeech2's
//! `torch.norm(magnitudes, dim=1)`), on the same frames as the mel.
//!
//! Presets:
//! - `fastspeech2` (ming024/FastSpeech2's `TacotronSTFT`, LJSpeech and AISHELL-3 configs):
//!   22,050 Hz, `n_fft` 1024, hop 256, window 1024, reflect padding of `n_fft / 2` on each side,
//!   magnitude spectrum, 80 Slaney mels with Slaney norm from `fmin` 0 Hz (set
//!   [`FeatureConfig::fmin`] to 80 for the other common choice) to 8 kHz, then
//!   `ln(max(x, 1e-5))` (`dynamic_range_compression` with `C = 1`).
//! - `whisper` (openai-whisper's `log_mel_spectrogram`): 16 kHz, `n_fft` 400, hop 160,
//!   `torch.stft(center=True)` (reflect padding), power spectrum, the last frame dropped (its
//!   `stft[..., :-1]`), 80 Slaney mels with Slaney norm from 0 Hz to 8 kHz (set
//!   [`FeatureConfig::n_mels`] to 128 for large-v3), then `y = log10(max(x, 1e-10))`,
//!   `y = max(y, max(y) - 8)` over the whole utterance, `(y + 4) / 4`. Whisper pads nothing by
//!   default (`padding=0`); its `transcribe` appends 30 s of zeros first, which changes the
//!   utterance maximum: to reproduce that, append the zeros to the samples.
//!
//! Samples come in at the config's rate; resample first ([`super::resample`]) when they are
//! not.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::mel::{MelBank, MelConfig, MelNorm, MelScale};
use super::spectrum::{PadMode, Spectrogram, SpectrumKind, Stft, StftConfig, Window};
use crate::math;
use crate::{Error, Result};

/// How mel energies become features.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LogRecipe {
    /// `ln(max(x, floor))`.
    Ln { floor: f32 },
    /// openai-whisper's: `y = log10(max(x, floor))` (as `ln(max(x, floor)) log10(e)`), then
    /// `y = max(y, max(y) - dynamic_range)` with the maximum over every frame and mel, then
    /// `(y + 4) / 4`.
    Whisper { floor: f32, dynamic_range: f32 },
}

/// Everything that defines a log-mel feature. Every field is public; [`Preset::config`] fills
/// them for the named recipes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FeatureConfig {
    /// The rate samples must come at, in Hz.
    pub sample_rate: u32,
    pub n_fft: usize,
    pub hop: usize,
    pub win_length: usize,
    pub window: Window,
    pub n_mels: usize,
    pub fmin: f32,
    pub fmax: f32,
    pub scale: MelScale,
    pub norm: MelNorm,
    pub center: bool,
    pub pad_mode: PadMode,
    /// Magnitude or power spectrum under the mel bank.
    pub spectrum: SpectrumKind,
    pub log: LogRecipe,
    /// Drop the STFT's last frame (whisper's `stft[..., :-1]`).
    pub drop_last_frame: bool,
}

impl FeatureConfig {
    /// The STFT part.
    pub fn stft(&self) -> StftConfig {
        StftConfig {
            n_fft: self.n_fft,
            hop: self.hop,
            win_length: self.win_length,
            window: self.window,
            center: self.center,
            pad_mode: self.pad_mode,
            kind: self.spectrum,
        }
    }

    /// The filter bank part.
    pub fn mel(&self) -> MelConfig {
        MelConfig {
            sample_rate: self.sample_rate,
            n_fft: self.n_fft,
            n_mels: self.n_mels,
            fmin: self.fmin,
            fmax: self.fmax,
            scale: self.scale,
            norm: self.norm,
        }
    }

    /// An error naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        if self.sample_rate == 0 {
            return Err(Error::invalid("feature sample rate must be positive"));
        }
        self.stft().validate()?;
        self.mel().validate()?;
        let (floor, range) = match self.log {
            LogRecipe::Ln { floor } => (floor, 0.0),
            LogRecipe::Whisper {
                floor,
                dynamic_range,
            } => (floor, dynamic_range),
        };
        if !(floor > 0.0 && floor.is_finite()) {
            return Err(Error::invalid(format!(
                "log floor must be positive and finite, got {floor}"
            )));
        }
        if !(range >= 0.0 && range.is_finite()) {
            return Err(Error::invalid(format!(
                "log dynamic range must be non-negative and finite, got {range}"
            )));
        }
        Ok(())
    }

    /// Feature frames for `n_samples` samples (the STFT's, less one with `drop_last_frame`).
    pub fn n_frames(&self, n_samples: usize) -> usize {
        let frames = super::spectrum::n_frames(n_samples, &self.stft());
        frames.saturating_sub(self.drop_last_frame as usize)
    }
}

/// The named recipes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    FastSpeech2,
    Whisper,
}

impl Preset {
    pub const ALL: [Preset; 2] = [Preset::FastSpeech2, Preset::Whisper];

    /// `fastspeech2` or `whisper`.
    pub fn name(self) -> &'static str {
        match self {
            Preset::FastSpeech2 => "fastspeech2",
            Preset::Whisper => "whisper",
        }
    }

    /// The preset called `name`; the error names it and lists the known ones.
    pub fn parse(name: &str) -> Result<Preset> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown feature preset {name:?}; known presets: {}",
                    preset_names()
                ))
            })
    }

    /// The preset's configuration (see the module documentation).
    pub fn config(self) -> FeatureConfig {
        match self {
            Preset::FastSpeech2 => FeatureConfig {
                sample_rate: 22050,
                n_fft: 1024,
                hop: 256,
                win_length: 1024,
                window: Window::Hann,
                n_mels: 80,
                fmin: 0.0,
                fmax: 8000.0,
                scale: MelScale::Slaney,
                norm: MelNorm::Slaney,
                center: true,
                pad_mode: PadMode::Reflect,
                spectrum: SpectrumKind::Magnitude,
                log: LogRecipe::Ln { floor: 1e-5 },
                drop_last_frame: false,
            },
            Preset::Whisper => FeatureConfig {
                sample_rate: 16000,
                n_fft: 400,
                hop: 160,
                win_length: 400,
                window: Window::Hann,
                n_mels: 80,
                fmin: 0.0,
                fmax: 8000.0,
                scale: MelScale::Slaney,
                norm: MelNorm::Slaney,
                center: true,
                pad_mode: PadMode::Reflect,
                spectrum: SpectrumKind::Power,
                log: LogRecipe::Whisper {
                    floor: 1e-10,
                    dynamic_range: 8.0,
                },
                drop_last_frame: true,
            },
        }
    }
}

/// Log-mel frames and the energy of the same frames.
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    /// `n_frames x n_mels`.
    pub log_mel: Spectrogram,
    /// One value per frame.
    pub energy: Vec<f32>,
}

/// The STFT plan, filter bank and row buffer for one [`FeatureConfig`]; reuse it across
/// utterances (nothing is allocated per frame).
#[derive(Clone, Debug)]
pub struct FeatureExtractor {
    cfg: FeatureConfig,
    stft: Stft,
    bank: MelBank,
    row: Vec<f32>,
}

impl FeatureExtractor {
    pub fn new(cfg: FeatureConfig) -> Result<FeatureExtractor> {
        cfg.validate()?;
        let stft = Stft::new(cfg.stft())?;
        Ok(FeatureExtractor {
            row: vec![0.0; stft.bins()],
            bank: MelBank::new(&cfg.mel())?,
            stft,
            cfg,
        })
    }

    pub fn config(&self) -> &FeatureConfig {
        &self.cfg
    }

    /// Feature frames for `n_samples` samples.
    pub fn n_frames(&self, n_samples: usize) -> usize {
        self.cfg.n_frames(n_samples)
    }

    /// The features of `samples`, which must be at `sample_rate` = the config's rate.
    pub fn compute(&mut self, samples: &[f32], sample_rate: u32) -> Result<Features> {
        let frames = self.check(samples, sample_rate)?;
        let mut log_mel = vec![0.0; frames * self.cfg.n_mels];
        let mut energy = vec![0.0; frames];
        self.compute_into(samples, sample_rate, &mut log_mel, Some(&mut energy))?;
        Ok(Features {
            log_mel: Spectrogram {
                n_frames: frames,
                n_bins: self.cfg.n_mels,
                data: log_mel,
            },
            energy,
        })
    }

    /// [`FeatureExtractor::compute`] into caller buffers: `log_mel` of at least
    /// `n_frames * n_mels` values (row-major), `energy` (if given) of at least `n_frames`.
    /// Returns `n_frames`; writes only those values.
    pub fn compute_into(
        &mut self,
        samples: &[f32],
        sample_rate: u32,
        log_mel: &mut [f32],
        mut energy: Option<&mut [f32]>,
    ) -> Result<usize> {
        let frames = self.check(samples, sample_rate)?;
        let n_mels = self.cfg.n_mels;
        if log_mel.len() < frames * n_mels {
            return Err(Error::BufferTooSmall {
                needed: frames * n_mels,
                provided: log_mel.len(),
            });
        }
        if let Some(e) = energy.as_deref() {
            if e.len() < frames {
                return Err(Error::BufferTooSmall {
                    needed: frames,
                    provided: e.len(),
                });
            }
        }
        let log_mel = &mut log_mel[..frames * n_mels];
        let mut max = f32::NEG_INFINITY;
        for (t, out) in log_mel.chunks_exact_mut(n_mels).enumerate() {
            self.stft.frame_into(samples, t, &mut self.row)?;
            self.bank.apply(&self.row, out)?;
            if let Some(e) = energy.as_deref_mut() {
                e[t] = frame_energy(&self.row, self.cfg.spectrum);
            }
            max = max.max(log_frame(self.cfg.log, out));
        }
        finish_log(self.cfg.log, max, log_mel);
        Ok(frames)
    }

    /// The feature frame count of `samples`, or the error for a wrong rate or no frame.
    fn check(&self, samples: &[f32], sample_rate: u32) -> Result<usize> {
        if sample_rate != self.cfg.sample_rate {
            return Err(Error::invalid(format!(
                "samples are at {sample_rate} Hz but the feature config expects {} Hz: \
                 resample them first (audio::resample)",
                self.cfg.sample_rate
            )));
        }
        self.stft.frame_count(samples)?;
        match self.n_frames(samples.len()) {
            0 => Err(Error::invalid(format!(
                "a {}-sample signal has no feature frame once the last is dropped",
                samples.len()
            ))),
            frames => Ok(frames),
        }
    }
}

/// The features of `samples` at `sample_rate` under `cfg` (a one-off [`FeatureExtractor`]).
pub fn extract(samples: &[f32], sample_rate: u32, cfg: &FeatureConfig) -> Result<Features> {
    FeatureExtractor::new(*cfg)?.compute(samples, sample_rate)
}

/// `sqrt(sum_k |X[k]|^2)` from a magnitude or power row, summed in f64 over eight lanes.
fn frame_energy(row: &[f32], kind: SpectrumKind) -> f32 {
    let square = |x: f32| match kind {
        SpectrumKind::Magnitude => x as f64 * x as f64,
        SpectrumKind::Power => x as f64,
    };
    let mut lanes = [0.0f64; 8];
    let chunks = row.chunks_exact(8);
    let tail: f64 = chunks.remainder().iter().map(|&x| square(x)).sum();
    for c in chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l += square(x);
        }
    }
    math::sqrt(lanes.iter().sum::<f64>() + tail) as f32
}

/// The per-value part of the log recipe on one frame's mel energies, in place (while the
/// frame is in cache); returns the frame's largest result.
fn log_frame(recipe: LogRecipe, values: &mut [f32]) -> f32 {
    let (floor, scale) = match recipe {
        LogRecipe::Ln { floor } => (floor, 1.0),
        LogRecipe::Whisper { floor, .. } => (floor, core::f32::consts::LOG10_E),
    };
    let mut max = f32::NEG_INFINITY;
    for v in values.iter_mut() {
        *v = math::lnf(v.max(floor)) * scale;
        max = max.max(*v);
    }
    max
}

/// The utterance-wide part of the log recipe, given the largest [`log_frame`] result: for
/// whisper, `y = (max(y, max - dynamic_range) + 4) / 4`; nothing for `Ln`.
fn finish_log(recipe: LogRecipe, max: f32, values: &mut [f32]) {
    if let LogRecipe::Whisper { dynamic_range, .. } = recipe {
        let lowest = max - dynamic_range;
        for v in values.iter_mut() {
            *v = (v.max(lowest) + 4.0) / 4.0;
        }
    }
}

/// The known preset names, comma-separated (for help texts).
pub fn preset_names() -> String {
    let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f64, sr: u32, seconds: f64) -> Vec<f32> {
        let n = (seconds * sr as f64) as usize;
        (0..n)
            .map(|i| {
                0.5 * math::sin(2.0 * core::f64::consts::PI * hz * i as f64 / sr as f64) as f32
            })
            .collect()
    }

    #[test]
    fn presets_parse_by_name() {
        assert_eq!(Preset::parse("fastspeech2").unwrap(), Preset::FastSpeech2);
        assert_eq!(Preset::parse("whisper").unwrap(), Preset::Whisper);
        let e = alloc::format!("{}", Preset::parse("tacotron").unwrap_err());
        assert!(
            e.contains("\"tacotron\"") && e.contains("fastspeech2, whisper"),
            "{e}"
        );
        assert_eq!(preset_names(), "fastspeech2, whisper");
        for p in Preset::ALL {
            p.config().validate().unwrap();
        }
    }

    #[test]
    fn frame_counts() {
        let fs2 = Preset::FastSpeech2.config();
        assert_eq!(fs2.n_frames(22050), 87);
        let whisper = Preset::Whisper.config();
        // 30 s: whisper's N_FRAMES = 3000.
        assert_eq!(whisper.n_frames(480_000), 3000);
    }

    #[test]
    fn a_tone_lands_in_its_mel_band() {
        let cfg = Preset::FastSpeech2.config();
        let f = extract(&tone(1000.0, 22050, 0.5), 22050, &cfg).unwrap();
        let bank = MelBank::new(&cfg.mel()).unwrap();
        let frame = f.log_mel.frame(f.log_mel.n_frames / 2);
        let loudest = (0..80)
            .max_by(|&a, &b| frame[a].total_cmp(&frame[b]))
            .unwrap();
        let (first, w) = bank.filter(loudest);
        let bin = (1000.0 * 1024.0 / 22050.0) as usize;
        assert!((first..first + w.len()).contains(&bin), "band {loudest}");
        // Parseval: sum_k |X[k]|^2 over half the spectrum is about n_fft/2 * sum_i (w x)^2,
        // = 512 * 1024 * 0.375 * 0.125 for a 0.5-amplitude tone: an energy near 157.
        let e = f.energy[f.log_mel.n_frames / 2];
        assert!((e - 157.0).abs() < 5.0, "{e}");
    }

    #[test]
    fn whisper_recipe_clamps_and_scales() {
        let mut v = [1.0, 1e-12, 100.0, 1e-3];
        let whisper = LogRecipe::Whisper {
            floor: 1e-10,
            dynamic_range: 8.0,
        };
        let max = log_frame(whisper, &mut v[..2]).max(log_frame(whisper, &mut v[2..]));
        finish_log(whisper, max, &mut v);
        // log10: 0, -10 (floor), 2, -3; max 2 so the lowest is -6.
        let want = [1.0, (-6.0 + 4.0) / 4.0, 1.5, 0.25];
        for (g, w) in v.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{v:?}");
        }
        let mut silence = [0.0f32; 4];
        let ln = LogRecipe::Ln { floor: 1e-5 };
        let max = log_frame(ln, &mut silence);
        finish_log(ln, max, &mut silence);
        assert!(silence
            .iter()
            .all(|&x| (x - math::ln(1e-5) as f32).abs() < 1e-6));
    }

    #[test]
    fn energy_is_the_l2_norm_of_the_magnitudes() {
        let row: Vec<f32> = (0..201).map(|k| (k % 5) as f32 * 0.5).collect();
        let want = math::sqrt(row.iter().map(|&x| x as f64 * x as f64).sum()) as f32;
        assert!((frame_energy(&row, SpectrumKind::Magnitude) - want).abs() < 1e-5);
        let power: Vec<f32> = row.iter().map(|x| x * x).collect();
        assert!((frame_energy(&power, SpectrumKind::Power) - want).abs() < 1e-5);
    }

    #[test]
    fn bad_input_is_an_error() {
        let cfg = Preset::Whisper.config();
        let mut fx = FeatureExtractor::new(cfg).unwrap();
        let e = alloc::format!("{}", fx.compute(&[0.0; 1600], 22050).unwrap_err());
        assert!(e.contains("22050 Hz") && e.contains("16000 Hz"), "{e}");
        assert!(fx.compute(&[], 16000).is_err());
        // one sample: one STFT frame, none once the last is dropped
        assert!(fx.compute(&[0.0], 16000).is_err());
        assert!(matches!(
            fx.compute_into(&[0.0; 1600], 16000, &mut [0.0; 80], None),
            Err(Error::BufferTooSmall { .. })
        ));
        assert!(matches!(
            fx.compute_into(&[0.0; 1600], 16000, &mut [0.0; 800], Some(&mut [0.0; 9])),
            Err(Error::BufferTooSmall { .. })
        ));
        for bad in [
            FeatureConfig {
                sample_rate: 0,
                ..cfg
            },
            FeatureConfig { n_fft: 0, ..cfg },
            FeatureConfig { hop: 0, ..cfg },
            FeatureConfig {
                win_length: 512,
                ..cfg
            },
            FeatureConfig { n_mels: 0, ..cfg },
            FeatureConfig {
                fmax: 8001.0,
                ..cfg
            },
            FeatureConfig {
                log: LogRecipe::Ln { floor: 0.0 },
                ..cfg
            },
            FeatureConfig {
                log: LogRecipe::Whisper {
                    floor: 1e-10,
                    dynamic_range: f32::NAN,
                },
                ..cfg
            },
        ] {
            assert!(FeatureExtractor::new(bad).is_err(), "{bad:?}");
        }
        let e = alloc::format!(
            "{}",
            FeatureConfig {
                win_length: 512,
                ..cfg
            }
            .validate()
            .unwrap_err()
        );
        assert!(e.contains("512") && e.contains("400"), "{e}");
    }
}
