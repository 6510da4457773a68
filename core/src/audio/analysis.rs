//! One utterance through the acoustic front end, as a TTS training pipeline and the device
//! both run it: samples at any rate -> [`resample`](super::resample) to the feature preset's
//! rate -> log-mel and frame energy ([`features`](super::features)) -> F0 on the same frames
//! ([`pitch`](super::pitch)), with FastSpeech2's interpolation over unvoiced frames.
//!
//! Frame `t` of every track is centred on sample `t * hop` of the resampled signal: the pitch
//! tracker runs centred with the mel hop, and the F0 track is cut to the mel's frame count
//! (whisper drops the STFT's last frame).

use super::features::{FeatureConfig, FeatureExtractor, Features};
use super::pitch::{interpolate_unvoiced, pyin, yin, PitchConfig};
use super::resample::Resampler;
use crate::{math, Error, Result};
use alloc::{format, vec, vec::Vec};

/// Which F0 tracker runs, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PitchMethod {
    /// YIN: an F0 for every frame, no voicing decision (every frame counts as voiced).
    Yin,
    /// pYIN: F0 with voiced flags and probabilities (the HMM decides voicing).
    Pyin,
}

impl PitchMethod {
    /// `yin` or `pyin`; the error names the unknown method.
    pub fn parse(name: &str) -> Result<PitchMethod> {
        match name {
            "yin" => Ok(PitchMethod::Yin),
            "pyin" => Ok(PitchMethod::Pyin),
            _ => Err(Error::invalid(format!(
                "unknown F0 method {name:?}; known methods: yin, pyin"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PitchMethod::Yin => "yin",
            PitchMethod::Pyin => "pyin",
        }
    }
}

/// The pitch tracker's settings that follow a feature config: its rate, centred frames at the
/// mel hop, and a frame long enough for two periods at `fmin` (the smallest power of two
/// above `2 (ceil(sr / fmin) + 1)`, at least `n_fft`): 1024 samples for `fastspeech2`, 512 for
/// `whisper`. The F0 range and pYIN's settings stay [`PitchConfig::new`]'s (75-800 Hz).
pub fn pitch_config_for(features: &FeatureConfig) -> PitchConfig {
    let mut cfg = PitchConfig::new(features.sample_rate);
    let longest_period = math::ceil(features.sample_rate as f64 / cfg.fmin as f64) as usize;
    cfg.frame_length = (2 * (longest_period + 1))
        .next_power_of_two()
        .max(features.n_fft);
    cfg.hop_length = features.hop;
    cfg.center = true;
    cfg
}

/// F0 on the feature frames.
#[derive(Clone, Debug, PartialEq)]
pub struct F0Track {
    pub method: PitchMethod,
    /// Hz; NaN where unvoiced (pYIN).
    pub f0: Vec<f32>,
    pub voiced: Vec<bool>,
    /// [`interpolate_unvoiced`] of `f0`: what FastSpeech2 trains its pitch predictor on.
    pub f0_interpolated: Vec<f32>,
}

/// What [`Analyzer::run`] gives for one signal.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    pub features: Features,
    pub f0: Option<F0Track>,
    /// The rate the samples came at, when they were resampled to the preset's.
    pub resampled_from: Option<u32>,
    /// Seconds of the input signal.
    pub duration_s: f64,
}

/// The feature extractor, the pitch settings and (per input rate) the resampler, kept across
/// utterances.
#[derive(Clone, Debug)]
pub struct Analyzer {
    extractor: FeatureExtractor,
    pitch: Option<(PitchMethod, PitchConfig)>,
    resampler: Option<Resampler>,
}

impl Analyzer {
    /// `pitch`: the tracker and its settings ([`pitch_config_for`] aligns them with the
    /// features); its rate and hop must be the features' so the frames line up.
    pub fn new(
        features: FeatureConfig,
        pitch: Option<(PitchMethod, PitchConfig)>,
    ) -> Result<Analyzer> {
        if let Some((_, p)) = &pitch {
            if p.sample_rate != features.sample_rate || p.hop_length != features.hop || !p.center {
                return Err(Error::invalid(format!(
                    "the pitch frames ({} Hz, hop {}, centred {}) must be the feature frames \
                     ({} Hz, hop {}, centred)",
                    p.sample_rate, p.hop_length, p.center, features.sample_rate, features.hop
                )));
            }
        }
        Ok(Analyzer {
            extractor: FeatureExtractor::new(features)?,
            pitch,
            resampler: None,
        })
    }

    pub fn config(&self) -> &FeatureConfig {
        self.extractor.config()
    }

    /// Mono `samples` at `sample_rate` (resampled first when it is not the preset's rate).
    pub fn run(&mut self, samples: &[f32], sample_rate: u32) -> Result<Analysis> {
        if sample_rate == 0 {
            return Err(Error::invalid("sample rate 0"));
        }
        if samples.is_empty() {
            return Err(Error::invalid("no samples"));
        }
        let duration_s = samples.len() as f64 / sample_rate as f64;
        let target = self.config().sample_rate;
        let resampled;
        let samples = if sample_rate == target {
            samples
        } else {
            if self
                .resampler
                .as_ref()
                .is_none_or(|r| r.from_rate() != sample_rate)
            {
                self.resampler = Some(Resampler::new(sample_rate, target)?);
            }
            resampled = self.resampler.as_ref().expect("set above").process(samples);
            &resampled[..]
        };
        let features = self.extractor.compute(samples, target)?;
        let f0 = match &self.pitch {
            None => None,
            Some((method, cfg)) => Some(track(samples, *method, cfg, features.energy.len())?),
        };
        Ok(Analysis {
            features,
            f0,
            resampled_from: (sample_rate != target).then_some(sample_rate),
            duration_s,
        })
    }

    /// F0 on the feature frames of `samples` at the features' rate, without computing the
    /// features themselves (what a caller that wants only pitch pays): `method` by `cfg`
    /// ([`pitch_config_for`] aligns it), cut to [`FeatureExtractor::n_frames`] frames.
    pub fn f0_only(
        &self,
        samples: &[f32],
        method: PitchMethod,
        cfg: &PitchConfig,
    ) -> Result<F0Track> {
        track(samples, method, cfg, self.extractor.n_frames(samples.len()))
    }
}

/// `method`'s F0 of `samples`, cut to the `frames` feature frames, with voiced flags (all set for
/// YIN) and FastSpeech2's interpolation.
fn track(
    samples: &[f32],
    method: PitchMethod,
    cfg: &PitchConfig,
    frames: usize,
) -> Result<F0Track> {
    let (mut f0, mut voiced) = match method {
        PitchMethod::Yin => {
            let f0 = yin(samples, cfg)?;
            let voiced = vec![true; f0.len()];
            (f0, voiced)
        }
        PitchMethod::Pyin => {
            let t = pyin(samples, cfg)?;
            (t.f0, t.voiced)
        }
    };
    if f0.len() < frames {
        return Err(Error::invalid(format!(
            "{} F0 frames for {frames} feature frames",
            f0.len()
        )));
    }
    f0.truncate(frames);
    voiced.truncate(frames);
    Ok(F0Track {
        method,
        f0_interpolated: interpolate_unvoiced(&f0, &voiced),
        f0,
        voiced,
    })
}
