//! Utterance and scene prosody: the statistics a scene-prosody prompt (MSceneSpeech's baseline
//! conditions a FastSpeech2-style model on one) is made of, computed from the frame tracks the
//! front end already has (F0 with voiced flags, frame energy) and the transcript's syllable count.
//!
//! Per utterance, over frames of `1 / frame_rate` seconds:
//! - **F0 in semitones** `st = 12 log2(f0 / 55 Hz)` over voiced frames: mean, standard deviation
//!   and range (95th minus 5th percentile, so one octave error does not set the range).
//! - **Energy** in dB, `20 log10(e)`, over the active frames: mean and standard deviation.
//! - **Activity**: a frame is silent when its energy is more than `silence_db` below the
//!   utterance's loudest frame; the speech span runs from the first to the last active frame.
//! - **Speaking rate**: syllables per second of the speech span.
//! - **Pause ratio**: the share of the span's frames inside silent runs of at least `min_pause_s`.
//! - **Voiced ratio**: voiced frames over the span's frames.
//!
//! The prompt vector is [`UtteranceProsody::vector`] z-scored against the corpus
//! ([`Normalizer`]), so every field weighs the same and a device applies the stored mean and
//! standard deviation to a new reference utterance.

use crate::{math, Error, Result};
use alloc::vec::Vec;

/// The fields of [`UtteranceProsody::vector`], in order.
pub const PROSODY_FIELDS: [&str; PROSODY_DIM] = [
    "f0_mean_st",
    "f0_std_st",
    "f0_range_st",
    "energy_mean_db",
    "energy_std_db",
    "speaking_rate",
    "pause_ratio",
    "voiced_ratio",
];

/// Length of the prosody vector and of the prompt.
pub const PROSODY_DIM: usize = 8;

/// The reference of the semitone scale (A1).
pub const SEMITONE_REF_HZ: f64 = 55.0;

/// How frames are judged silent and pauses counted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActivityConfig {
    /// A frame is silent when its energy is this many dB below the loudest frame.
    pub silence_db: f32,
    /// Silent runs shorter than this (seconds) are gaps between sounds, not pauses.
    pub min_pause_s: f32,
}

impl ActivityConfig {
    /// `silence_db` positive and finite, `min_pause_s` non-negative and finite; the error names
    /// the field and its value.
    pub fn validate(&self) -> Result<()> {
        if !(self.silence_db > 0.0 && self.silence_db.is_finite()) {
            return Err(Error::invalid(alloc::format!(
                "silence_db {} must be positive and finite",
                self.silence_db
            )));
        }
        if !(self.min_pause_s >= 0.0 && self.min_pause_s.is_finite()) {
            return Err(Error::invalid(alloc::format!(
                "min_pause_s {} must be non-negative and finite",
                self.min_pause_s
            )));
        }
        Ok(())
    }
}

impl Default for ActivityConfig {
    fn default() -> Self {
        ActivityConfig {
            silence_db: 40.0,
            min_pause_s: 0.05,
        }
    }
}

/// One utterance's prosody statistics (see the module doc for each definition).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UtteranceProsody {
    pub duration_s: f32,
    pub speech_s: f32,
    pub syllables: usize,
    pub f0_mean_st: f32,
    pub f0_std_st: f32,
    pub f0_range_st: f32,
    pub energy_mean_db: f32,
    pub energy_std_db: f32,
    pub speaking_rate: f32,
    pub pause_ratio: f32,
    pub voiced_ratio: f32,
}

impl UtteranceProsody {
    /// The statistics in [`PROSODY_FIELDS`] order.
    pub fn vector(&self) -> [f32; PROSODY_DIM] {
        [
            self.f0_mean_st,
            self.f0_std_st,
            self.f0_range_st,
            self.energy_mean_db,
            self.energy_std_db,
            self.speaking_rate,
            self.pause_ratio,
            self.voiced_ratio,
        ]
    }
}

/// Measures one utterance. `f0` (Hz) and `voiced` are per frame (unvoiced frames' F0 is
/// ignored), `energy` is each frame's STFT-magnitude L2 norm; the three tracks have one length.
/// An utterance with no active or no voiced frame is an error naming it: its statistics would
/// be undefined, and a prompt from it would be noise.
pub fn utterance_prosody(
    f0: &[f32],
    voiced: &[bool],
    energy: &[f32],
    frame_rate: f32,
    syllables: usize,
    activity: &ActivityConfig,
) -> Result<UtteranceProsody> {
    let n = energy.len();
    if f0.len() != n || voiced.len() != n {
        return Err(Error::invalid(alloc::format!(
            "prosody: track lengths differ (f0 {}, voiced {}, energy {n})",
            f0.len(),
            voiced.len()
        )));
    }
    if !(frame_rate > 0.0 && frame_rate.is_finite()) {
        return Err(Error::invalid(alloc::format!(
            "prosody: frame rate {frame_rate} must be positive and finite"
        )));
    }
    activity.validate()?;
    let loudest = energy.iter().copied().fold(0.0f32, f32::max);
    let floor = loudest as f64 * math::pow(10.0, -activity.silence_db as f64 / 20.0);
    let active: Vec<bool> = energy.iter().map(|&e| e as f64 > floor).collect();
    let (Some(first), Some(last)) = (
        active.iter().position(|&a| a),
        active.iter().rposition(|&a| a),
    ) else {
        return Err(Error::invalid("prosody: the utterance is silent"));
    };
    let span = first..last + 1;
    let span_frames = span.len() as f32;

    let semitones: Vec<f64> = f0[span.clone()]
        .iter()
        .zip(&voiced[span.clone()])
        .filter(|&(&f, &v)| v && f > 0.0)
        .map(|(&f, _)| 12.0 * math::log2(f as f64 / SEMITONE_REF_HZ))
        .collect();
    if semitones.is_empty() {
        return Err(Error::invalid("prosody: the utterance has no voiced frame"));
    }
    let (f0_mean, f0_std) = mean_std(&semitones);
    let decibels: Vec<f64> = energy[span.clone()]
        .iter()
        .zip(&active[span.clone()])
        .filter(|&(_, &a)| a)
        .map(|(&e, _)| 20.0 * math::log10(e as f64))
        .collect();
    let (energy_mean, energy_std) = mean_std(&decibels);

    let min_run = math::ceil(activity.min_pause_s as f64 * frame_rate as f64) as usize;
    let mut paused = 0usize;
    let mut run = 0usize;
    for &a in &active[span.clone()] {
        if a {
            if run >= min_run.max(1) {
                paused += run;
            }
            run = 0;
        } else {
            run += 1;
        }
    }
    let speech_s = span_frames / frame_rate;
    Ok(UtteranceProsody {
        duration_s: n as f32 / frame_rate,
        speech_s,
        syllables,
        f0_mean_st: f0_mean as f32,
        f0_std_st: f0_std as f32,
        f0_range_st: (percentile(&semitones, 0.95) - percentile(&semitones, 0.05)) as f32,
        energy_mean_db: energy_mean as f32,
        energy_std_db: energy_std as f32,
        speaking_rate: syllables as f32 / speech_s,
        pause_ratio: paused as f32 / span_frames,
        voiced_ratio: semitones.len() as f32 / span_frames,
    })
}

/// Mean and (population) standard deviation of each prosody field over a set of utterances:
/// a scene's statistics, or the corpus's, which z-score prompts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalizer {
    pub count: usize,
    pub mean: [f32; PROSODY_DIM],
    pub std: [f32; PROSODY_DIM],
}

impl Normalizer {
    /// The statistics of `vectors`; an empty set is an error.
    pub fn fit(vectors: &[[f32; PROSODY_DIM]]) -> Result<Normalizer> {
        if vectors.is_empty() {
            return Err(Error::invalid("prosody statistics of no utterance"));
        }
        let mut mean = [0.0f32; PROSODY_DIM];
        let mut std = [0.0f32; PROSODY_DIM];
        for d in 0..PROSODY_DIM {
            let column: Vec<f64> = vectors.iter().map(|v| v[d] as f64).collect();
            let (m, s) = mean_std(&column);
            mean[d] = m as f32;
            std[d] = s as f32;
        }
        Ok(Normalizer {
            count: vectors.len(),
            mean,
            std,
        })
    }

    /// The prompt of one utterance: `(v - mean) / std` per field (a field constant over the set
    /// maps to 0).
    pub fn prompt(&self, v: &[f32; PROSODY_DIM]) -> [f32; PROSODY_DIM] {
        core::array::from_fn(|d| {
            if self.std[d] > 0.0 {
                (v[d] - self.mean[d]) / self.std[d]
            } else {
                0.0
            }
        })
    }
}

fn mean_std(x: &[f64]) -> (f64, f64) {
    if x.is_empty() {
        return (0.0, 0.0);
    }
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / x.len() as f64;
    (mean, math::sqrt(var))
}

/// Linear-interpolated percentile (`q` in [0, 1]) of a non-empty set.
fn percentile(x: &[f64], q: f64) -> f64 {
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    let pos = q * (s.len() - 1) as f64;
    let lo = math::floor(pos) as usize;
    let hi = (lo + 1).min(s.len() - 1);
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::{format, vec};

    /// 100 frames/s: 10 silent, 80 active (of which frames 40..50 silent, a 0.1 s pause), 10
    /// silent; F0 220 Hz on the first half of the active frames, 440 Hz on the second.
    #[test]
    fn hand_made_utterance() {
        let mut energy = vec![1e-4f32; 100];
        let mut f0 = vec![0.0f32; 100];
        let mut voiced = vec![false; 100];
        for t in 10..90 {
            if !(40..50).contains(&t) {
                energy[t] = 1.0;
                voiced[t] = true;
                f0[t] = if t < 50 { 220.0 } else { 440.0 };
            }
        }
        let p =
            utterance_prosody(&f0, &voiced, &energy, 100.0, 8, &ActivityConfig::default()).unwrap();
        assert_eq!(p.duration_s, 1.0);
        assert_eq!(p.speech_s, 0.8);
        assert!((p.speaking_rate - 10.0).abs() < 1e-5);
        assert!((p.pause_ratio - 10.0 / 80.0).abs() < 1e-6);
        assert!((p.voiced_ratio - 70.0 / 80.0).abs() < 1e-6);
        // 30 frames at 24 st (220 Hz re 55 Hz), 40 at 36 st.
        let mean = (30.0 * 24.0 + 40.0 * 36.0) / 70.0;
        assert!(
            (p.f0_mean_st as f64 - mean).abs() < 1e-4,
            "{}",
            p.f0_mean_st
        );
        assert!((p.f0_range_st - 12.0).abs() < 1e-4);
        assert!(p.energy_mean_db.abs() < 1e-6 && p.energy_std_db.abs() < 1e-6);
    }

    #[test]
    fn short_gaps_are_not_pauses() {
        let mut energy = vec![1.0f32; 50];
        energy[20] = 0.0; // one 10 ms gap, under the 50 ms minimum
        let p = utterance_prosody(
            &[100.0; 50],
            &[true; 50],
            &energy,
            100.0,
            5,
            &ActivityConfig::default(),
        )
        .unwrap();
        assert_eq!(p.pause_ratio, 0.0);
    }

    #[test]
    fn undefined_statistics_are_errors() {
        let cfg = ActivityConfig::default();
        let e = utterance_prosody(&[0.0; 4], &[false; 4], &[0.0; 4], 100.0, 1, &cfg);
        assert!(format!("{}", e.unwrap_err()).contains("silent"));
        let e = utterance_prosody(&[0.0; 4], &[false; 4], &[1.0; 4], 100.0, 1, &cfg);
        assert!(format!("{}", e.unwrap_err()).contains("no voiced"));
        let e = utterance_prosody(&[0.0; 3], &[false; 4], &[1.0; 4], 100.0, 1, &cfg);
        assert!(format!("{}", e.unwrap_err()).contains("lengths differ"));
    }

    #[test]
    fn prompt_is_a_z_score() {
        let a = [1.0f32; PROSODY_DIM];
        let mut b = [3.0f32; PROSODY_DIM];
        b[7] = 1.0; // constant field
        let n = Normalizer::fit(&[a, b]).unwrap();
        assert_eq!(n.mean[0], 2.0);
        assert_eq!(n.std[0], 1.0);
        let p = n.prompt(&b);
        assert_eq!(p[0], 1.0);
        assert_eq!(p[7], 0.0);
        assert!(Normalizer::fit(&[]).is_err());
    }
}
