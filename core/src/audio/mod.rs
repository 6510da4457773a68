//! Speech front end: what a FastSpeech2-style TTS model (MSceneSpeech's baseline) is trained on
//! and conditioned with, computed the same way in training and on the device.
//!
//! Data flows one way: [`wav`] (PCM in/out) -> [`resample`] (to the preset's rate) ->
//! [`fft`] -> [`spectrum`] (STFT) -> [`mel`] (filter banks) -> [`features`] (the `fastspeech2` and
//! `whisper` log-mel presets, frame energy); [`pitch`] (YIN, pYIN, unvoiced interpolation,
//! phoneme-level averaging) reads the same frames; [`zh`] is the Mandarin text front end
//! (normalization, grapheme-to-pinyin, tone sandhi, initials/finals).
//!
//! Everything here is `no_std` + `alloc`: samples come in as slices, results go out as vectors
//! or into caller buffers (what the C ABI exposes to an edge TTS app).

pub mod analysis;
#[cfg(feature = "std")]
pub mod corpus;
pub mod features;
pub mod fft;
pub mod mel;
pub mod pitch;
pub mod prosody;
pub mod resample;
pub mod spectrum;
pub mod wav;
pub mod zh;
