//! The speech front end of a FastSpeech2-style TTS model (`core/src/audio`) over caller
//! buffers: WAV decoding, resampling, log-mel and frame energy, F0 on the same frames, the
//! Mandarin text front end (pinyin and phoneme ids), and an MSceneSpeech-style corpus to
//! training features, the flows of `llmcore audio features|g2p|corpus`.
//!
//! Every function here keeps no state between calls (the dictionary handle is immutable), so
//! any number of threads may call them at once.

use crate::boundary::{
    arg_cstr, arg_path, arg_ref, arg_slice, arg_text, check_result, guard, in_field, inner,
    invalid, log, null, out_ptr, read_params, write_text, Failure, FfiResult, LLMC_LOG_INFO,
};
use crate::status::llmc_status;
use runtime::audio::analysis::{pitch_config_for, Analysis, Analyzer, F0Track, PitchMethod};
use runtime::audio::corpus::{self, CorpusConfig};
use runtime::audio::features::{FeatureConfig, LogRecipe, Preset};
use runtime::audio::mel::{MelNorm, MelScale};
use runtime::audio::prosody::ActivityConfig;
use runtime::audio::resample::Resampler;
use runtime::audio::spectrum::{PadMode, SpectrumKind, Window};
use runtime::audio::wav;
use runtime::audio::zh::{self, Boundary, Dictionary, Phoneme, Token, PHONEMES};
use std::borrow::Cow;
use std::ffi::{c_char, c_void, CString};
use std::time::Instant;

/// The analysis window of `llmc_audio_params::window`.
#[allow(non_camel_case_types)]
pub type llmc_audio_window = u32;
/// Periodic Hann (`torch.hann_window(N)`, scipy's `fftbins=True`): the one for spectra.
pub const LLMC_AUDIO_WINDOW_HANN: llmc_audio_window = 0;
/// Symmetric Hann (`w[i] = 1/2 - 1/2 cos(2 pi i / (N - 1))`).
pub const LLMC_AUDIO_WINDOW_HANN_SYMMETRIC: llmc_audio_window = 1;

/// How a centred STFT pads the signal's ends (`llmc_audio_params::pad_mode`).
#[allow(non_camel_case_types)]
pub type llmc_audio_pad = u32;
/// Zeros.
pub const LLMC_AUDIO_PAD_CONSTANT: llmc_audio_pad = 0;
/// Mirror about the edge samples, which are not repeated (numpy's "reflect").
pub const LLMC_AUDIO_PAD_REFLECT: llmc_audio_pad = 1;

/// What each STFT bin holds before the mel filters (`llmc_audio_params::spectrum`).
#[allow(non_camel_case_types)]
pub type llmc_audio_spectrum = u32;
/// `|X[k]|` (FastSpeech2).
pub const LLMC_AUDIO_SPECTRUM_MAGNITUDE: llmc_audio_spectrum = 0;
/// `|X[k]|^2` (Whisper).
pub const LLMC_AUDIO_SPECTRUM_POWER: llmc_audio_spectrum = 1;

/// How mel energies become features (`llmc_audio_params::log_recipe`).
#[allow(non_camel_case_types)]
pub type llmc_audio_log = u32;
/// `ln(max(x, log_floor))` (FastSpeech2; `log_dynamic_range` is ignored).
pub const LLMC_AUDIO_LOG_LN: llmc_audio_log = 0;
/// Whisper's: `y = log10(max(x, log_floor))`, clamped to `max(y) - log_dynamic_range` over
/// the whole signal, then `(y + 4) / 4`.
pub const LLMC_AUDIO_LOG_WHISPER: llmc_audio_log = 1;

/// The mel scale of the filter bank (`llmc_audio_params::mel_scale`).
#[allow(non_camel_case_types)]
pub type llmc_mel_scale = u32;
/// Slaney's (librosa's default): linear below 1 kHz, logarithmic above.
pub const LLMC_MEL_SCALE_SLANEY: llmc_mel_scale = 0;
/// HTK's: `2595 log10(1 + f / 700)`.
pub const LLMC_MEL_SCALE_HTK: llmc_mel_scale = 1;

/// The normalization of each mel filter (`llmc_audio_params::mel_norm`).
#[allow(non_camel_case_types)]
pub type llmc_mel_norm = u32;
/// Peak 1.
pub const LLMC_MEL_NORM_NONE: llmc_mel_norm = 0;
/// Slaney's: each filter divided by its width in Hz / 2 (constant energy per band).
pub const LLMC_MEL_NORM_SLANEY: llmc_mel_norm = 1;

/// An F0 tracker (`llmc_audio_f0`).
#[allow(non_camel_case_types)]
pub type llmc_f0_method = u32;
/// YIN: an F0 for every frame and no voicing decision (every frame counts as voiced).
pub const LLMC_F0_YIN: llmc_f0_method = 0;
/// pYIN: F0 with voicing decided by its HMM; unvoiced frames have F0 NaN.
pub const LLMC_F0_PYIN: llmc_f0_method = 1;

/// A log-mel recipe: STFT framing, mel filter bank and log. Take one from
/// `llmc_audio_default_params()` with a preset's name and change the fields you need; every
/// call checks it (`LLMC_ERR_INVALID_ARGUMENT` naming what is wrong). A NULL
/// `const llmc_audio_params *` means the "fastspeech2" preset.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_audio_params {
    /// `sizeof(llmc_audio_params)`.
    pub struct_size: usize,
    /// The rate features are computed at, in Hz; signals at other rates are resampled to it
    /// first (fastspeech2: 22050, whisper: 16000).
    pub sample_rate: u32,
    /// STFT length (rows have `n_fft / 2 + 1` bins), hop between frames, and window length
    /// (at most `n_fft`; zero-padded to it, centred): fastspeech2 1024 / 256 / 1024, whisper
    /// 400 / 160 / 400.
    pub n_fft: usize,
    pub hop: usize,
    pub win_length: usize,
    /// One of `LLMC_AUDIO_WINDOW_*` (both presets: `LLMC_AUDIO_WINDOW_HANN`).
    pub window: llmc_audio_window,
    /// Mel bands (both presets: 80) between `fmin` and `fmax` Hz (0 and 8000; `fmax` at most
    /// `sample_rate / 2`).
    pub n_mels: usize,
    pub fmin: f32,
    pub fmax: f32,
    /// One of `LLMC_MEL_SCALE_*` and `LLMC_MEL_NORM_*` (both presets: Slaney and Slaney).
    pub mel_scale: llmc_mel_scale,
    pub mel_norm: llmc_mel_norm,
    /// Pad `n_fft / 2` samples on each side (as `pad_mode` says) so that frame `t` is centred
    /// on sample `t * hop` (both presets: true, `LLMC_AUDIO_PAD_REFLECT`).
    pub center: bool,
    pub pad_mode: llmc_audio_pad,
    /// One of `LLMC_AUDIO_SPECTRUM_*` (fastspeech2: magnitude, whisper: power).
    pub spectrum: llmc_audio_spectrum,
    /// One of `LLMC_AUDIO_LOG_*` with its floor (> 0) and, for Whisper's, dynamic range
    /// (>= 0): fastspeech2 `LLMC_AUDIO_LOG_LN`, 1e-5; whisper `LLMC_AUDIO_LOG_WHISPER`,
    /// 1e-10, 8.
    pub log_recipe: llmc_audio_log,
    pub log_floor: f32,
    pub log_dynamic_range: f32,
    /// Drop the STFT's last frame, as Whisper does (fastspeech2: false, whisper: true).
    pub drop_last_frame: bool,
}

/// The C struct of a core feature config.
fn c_params(cfg: &FeatureConfig) -> llmc_audio_params {
    let (log_recipe, log_floor, log_dynamic_range) = match cfg.log {
        LogRecipe::Ln { floor } => (LLMC_AUDIO_LOG_LN, floor, 0.0),
        LogRecipe::Whisper {
            floor,
            dynamic_range,
        } => (LLMC_AUDIO_LOG_WHISPER, floor, dynamic_range),
    };
    llmc_audio_params {
        struct_size: size_of::<llmc_audio_params>(),
        sample_rate: cfg.sample_rate,
        n_fft: cfg.n_fft,
        hop: cfg.hop,
        win_length: cfg.win_length,
        window: match cfg.window {
            Window::Hann => LLMC_AUDIO_WINDOW_HANN,
            Window::HannSymmetric => LLMC_AUDIO_WINDOW_HANN_SYMMETRIC,
        },
        n_mels: cfg.n_mels,
        fmin: cfg.fmin,
        fmax: cfg.fmax,
        mel_scale: match cfg.scale {
            MelScale::Slaney => LLMC_MEL_SCALE_SLANEY,
            MelScale::Htk => LLMC_MEL_SCALE_HTK,
        },
        mel_norm: match cfg.norm {
            MelNorm::None => LLMC_MEL_NORM_NONE,
            MelNorm::Slaney => LLMC_MEL_NORM_SLANEY,
        },
        center: cfg.center,
        pad_mode: match cfg.pad_mode {
            PadMode::Constant => LLMC_AUDIO_PAD_CONSTANT,
            PadMode::Reflect => LLMC_AUDIO_PAD_REFLECT,
        },
        spectrum: match cfg.spectrum {
            SpectrumKind::Magnitude => LLMC_AUDIO_SPECTRUM_MAGNITUDE,
            SpectrumKind::Power => LLMC_AUDIO_SPECTRUM_POWER,
        },
        log_recipe,
        log_floor,
        log_dynamic_range,
        drop_last_frame: cfg.drop_last_frame,
    }
}

/// The core feature config of a C struct, checked (`name` is how messages call the struct).
fn feature_config(p: &llmc_audio_params, name: &str) -> FfiResult<FeatureConfig> {
    let field = |field: &str, value: u32, known: &str| {
        invalid(format!("{name}->{field} {value} ({known})"))
    };
    let cfg = FeatureConfig {
        sample_rate: p.sample_rate,
        n_fft: p.n_fft,
        hop: p.hop,
        win_length: p.win_length,
        window: match p.window {
            LLMC_AUDIO_WINDOW_HANN => Window::Hann,
            LLMC_AUDIO_WINDOW_HANN_SYMMETRIC => Window::HannSymmetric,
            v => {
                return Err(field(
                    "window",
                    v,
                    "LLMC_AUDIO_WINDOW_HANN or _HANN_SYMMETRIC",
                ))
            }
        },
        n_mels: p.n_mels,
        fmin: p.fmin,
        fmax: p.fmax,
        scale: match p.mel_scale {
            LLMC_MEL_SCALE_SLANEY => MelScale::Slaney,
            LLMC_MEL_SCALE_HTK => MelScale::Htk,
            v => return Err(field("mel_scale", v, "LLMC_MEL_SCALE_SLANEY or _HTK")),
        },
        norm: match p.mel_norm {
            LLMC_MEL_NORM_NONE => MelNorm::None,
            LLMC_MEL_NORM_SLANEY => MelNorm::Slaney,
            v => return Err(field("mel_norm", v, "LLMC_MEL_NORM_NONE or _SLANEY")),
        },
        center: p.center,
        pad_mode: match p.pad_mode {
            LLMC_AUDIO_PAD_CONSTANT => PadMode::Constant,
            LLMC_AUDIO_PAD_REFLECT => PadMode::Reflect,
            v => return Err(field("pad_mode", v, "LLMC_AUDIO_PAD_CONSTANT or _REFLECT")),
        },
        spectrum: match p.spectrum {
            LLMC_AUDIO_SPECTRUM_MAGNITUDE => SpectrumKind::Magnitude,
            LLMC_AUDIO_SPECTRUM_POWER => SpectrumKind::Power,
            v => {
                return Err(field(
                    "spectrum",
                    v,
                    "LLMC_AUDIO_SPECTRUM_MAGNITUDE or _POWER",
                ))
            }
        },
        log: match p.log_recipe {
            LLMC_AUDIO_LOG_LN => LogRecipe::Ln { floor: p.log_floor },
            LLMC_AUDIO_LOG_WHISPER => LogRecipe::Whisper {
                floor: p.log_floor,
                dynamic_range: p.log_dynamic_range,
            },
            v => return Err(field("log_recipe", v, "LLMC_AUDIO_LOG_LN or _WHISPER")),
        },
        drop_last_frame: p.drop_last_frame,
    };
    cfg.validate().map_err(|e| in_field(name, e))?;
    Ok(cfg)
}

/// Reads `params` (NULL: the fastspeech2 preset) as a checked core config.
///
/// # Safety
/// A non-NULL `params` must point to a readable `llmc_audio_params`.
unsafe fn read_audio_params(
    params: *const llmc_audio_params,
    name: &str,
) -> FfiResult<FeatureConfig> {
    let defaults = c_params(&Preset::FastSpeech2.config());
    // SAFETY: forwarded from the caller.
    let p = unsafe { read_params(params, defaults, name)? };
    feature_config(&p, name)
}

/// Fills `*out` with the recipe of the preset called `preset`: "fastspeech2" (22,050 Hz,
/// 1024-point STFT, hop 256, 80 Slaney mels over 0-8000 Hz of the magnitude spectrum, natural
/// log with floor 1e-5: the recipe FastSpeech2 models are trained on) or "whisper" (16 kHz,
/// 400-point STFT, hop 160, 80 mels of the power spectrum, Whisper's log10 with 8 of dynamic
/// range and (x + 4) / 4, last frame dropped). An unknown name is `LLMC_ERR_INVALID_ARGUMENT`
/// naming it and the known presets; `*out` is then untouched.
#[no_mangle]
pub unsafe extern "C" fn llmc_audio_default_params(
    preset: *const c_char,
    out: *mut llmc_audio_params,
) -> llmc_status {
    guard("llmc_audio_default_params", || {
        // SAFETY: the caller passes a NUL-terminated name.
        let name = unsafe { arg_cstr(preset, "preset")? };
        let out = out_ptr(out, "out")?;
        let cfg = Preset::parse(name)
            .map_err(|e| in_field("preset", e))?
            .config();
        // SAFETY: checked non-NULL.
        unsafe { out.write(c_params(&cfg)) };
        Ok(())
    })
}

/// A caller's output array: `capacity` elements at `ptr`, which may be NULL only with
/// capacity 0 (then nothing is written to it).
struct OutArray<T> {
    ptr: *mut T,
    capacity: usize,
    name: &'static str,
}

impl<T: Copy> OutArray<T> {
    fn new(ptr: *mut T, capacity: usize, name: &'static str) -> FfiResult<Self> {
        if ptr.is_null() && capacity > 0 {
            return Err(null(name));
        }
        Ok(OutArray {
            ptr,
            capacity,
            name,
        })
    }

    fn is_null(&self) -> bool {
        self.ptr.is_null()
    }

    /// `LLMC_ERR_BUFFER_TOO_SMALL` (nothing written) unless a non-NULL array holds `needed`
    /// elements; `what` says what they are.
    fn check(&self, needed: usize, what: &str) -> FfiResult {
        if self.ptr.is_null() || needed <= self.capacity {
            return Ok(());
        }
        Err(Failure {
            status: llmc_status::LLMC_ERR_BUFFER_TOO_SMALL,
            message: format!(
                "'{}' holds {} elements, {needed} needed ({what})",
                self.name, self.capacity
            ),
        })
    }

    /// Copies `items` into a non-NULL array.
    ///
    /// # Safety
    /// [`OutArray::check`] passed for `items.len()`, and the array holds `capacity` elements.
    unsafe fn write(&self, items: &[T]) {
        if !self.ptr.is_null() {
            debug_assert!(items.len() <= self.capacity);
            // SAFETY: the caller's array holds `capacity >= items.len()` elements; `items` is
            // the library's own memory.
            unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), self.ptr, items.len()) };
        }
    }
}

/// A signal as the feature functions will see it: its samples at the recipe's rate (after
/// resampling) and the number of feature frames they make.
struct Plan {
    cfg: FeatureConfig,
    resampler: Option<Resampler>,
    frames: usize,
}

impl Plan {
    /// Checks the recipe and the signal's length and rate, without touching the samples:
    /// every error the feature functions give for these arguments comes from here.
    ///
    /// # Safety
    /// A non-NULL `params` must point to a readable `llmc_audio_params`.
    unsafe fn new(
        params: *const llmc_audio_params,
        n_samples: usize,
        sample_rate: u32,
    ) -> FfiResult<Plan> {
        // SAFETY: forwarded from the caller.
        let cfg = unsafe { read_audio_params(params, "params")? };
        if sample_rate == 0 {
            return Err(invalid("sample_rate is 0"));
        }
        if n_samples == 0 {
            return Err(invalid("n_samples is 0: no samples to analyse"));
        }
        let resampler = if sample_rate == cfg.sample_rate {
            None
        } else {
            Some(
                Resampler::new(sample_rate, cfg.sample_rate)
                    .map_err(|e| in_field("sample_rate", e))?,
            )
        };
        let len = resampler
            .as_ref()
            .map_or(n_samples, |r| r.output_len(n_samples));
        let frames = cfg.n_frames(len);
        if frames == 0 {
            return Err(invalid(format!(
                "{n_samples} samples at {sample_rate} Hz ({len} at the recipe's {} Hz) make no \
                 feature frame (n_fft {}, center {}, drop_last_frame {})",
                cfg.sample_rate, cfg.n_fft, cfg.center, cfg.drop_last_frame
            )));
        }
        Ok(Plan {
            cfg,
            resampler,
            frames,
        })
    }

    /// F0 by `method` on the recipe's frames (`Analyzer::f0_only`: no log-mel is computed).
    fn f0(&self, pcm: &[f32], method: PitchMethod) -> FfiResult<F0Track> {
        let samples = self.at_recipe_rate(pcm);
        let analyzer = Analyzer::new(self.cfg, None)?;
        Ok(analyzer.f0_only(&samples, method, &pitch_config_for(&self.cfg))?)
    }

    /// The samples at the recipe's rate.
    fn at_recipe_rate<'a>(&self, pcm: &'a [f32]) -> Cow<'a, [f32]> {
        match &self.resampler {
            Some(r) => Cow::Owned(r.process(pcm)),
            None => Cow::Borrowed(pcm),
        }
    }

    /// Runs the analysis (`Analyzer::run` on the samples at the recipe's rate), with F0 by
    /// `method` when given; its tracks have `self.frames` frames.
    fn run(&self, pcm: &[f32], method: Option<PitchMethod>) -> FfiResult<Analysis> {
        let samples = self.at_recipe_rate(pcm);
        let pitch = method.map(|m| (m, pitch_config_for(&self.cfg)));
        let a = Analyzer::new(self.cfg, pitch)?.run(&samples, self.cfg.sample_rate)?;
        if a.features.energy.len() != self.frames {
            return Err(Failure {
                status: llmc_status::LLMC_ERR_INTERNAL,
                message: format!(
                    "the analysis made {} frames, {} were planned",
                    a.features.energy.len(),
                    self.frames
                ),
            });
        }
        Ok(a)
    }
}

/// Writes into `*n_frames` how many feature frames `llmc_audio_features` and `llmc_audio_f0`
/// give for `n_samples` mono samples at `sample_rate` Hz with the recipe `params` (NULL: the
/// fastspeech2 preset), after resampling to `params->sample_rate` when the rates differ. Fails
/// as those functions would for the same arguments (a bad recipe, `sample_rate` 0, no
/// samples, a signal too short for one frame, a rate pair the resampler refuses).
#[no_mangle]
pub unsafe extern "C" fn llmc_audio_n_frames(
    params: *const llmc_audio_params,
    n_samples: usize,
    sample_rate: u32,
    n_frames: *mut usize,
) -> llmc_status {
    guard("llmc_audio_n_frames", || {
        let n_frames = out_ptr(n_frames, "n_frames")?;
        // SAFETY: the caller passes NULL or a readable recipe.
        let plan = unsafe { Plan::new(params, n_samples, sample_rate)? };
        // SAFETY: checked non-NULL.
        unsafe { n_frames.write(plan.frames) };
        Ok(())
    })
}

/// Log-mel features and frame energy of `n_samples` mono samples `pcm` at `sample_rate` Hz
/// (resampled first to `params->sample_rate` when it differs, as `llmcore audio features`
/// does): `log_mel` receives `frames x n_mels` floats, row-major (frame `t` is centred on
/// sample `t * hop` of the resampled signal when `params->center`), `energy` (may be NULL
/// with capacity 0) the L2 norm of each frame's magnitude spectrum, and `*n_frames` the frame
/// count. Capacities count floats. A NULL `log_mel` with capacity 0 asks only for the frame
/// count (nothing is computed; `llmc_audio_n_frames` does the same). A buffer that is too
/// small is `LLMC_ERR_BUFFER_TOO_SMALL` and nothing is written. The values are those
/// `llmcore audio features` computes, bit for bit.
#[no_mangle]
pub unsafe extern "C" fn llmc_audio_features(
    params: *const llmc_audio_params,
    pcm: *const f32,
    n_samples: usize,
    sample_rate: u32,
    log_mel: *mut f32,
    log_mel_capacity: usize,
    energy: *mut f32,
    energy_capacity: usize,
    n_frames: *mut usize,
) -> llmc_status {
    guard("llmc_audio_features", || {
        // SAFETY: the caller passes `n_samples` readable floats, NULL or a readable recipe,
        // and arrays of the capacities given.
        let pcm = unsafe { arg_slice(pcm, n_samples, "pcm")? };
        let log_mel = OutArray::new(log_mel, log_mel_capacity, "log_mel")?;
        let energy = OutArray::new(energy, energy_capacity, "energy")?;
        let n_frames = out_ptr(n_frames, "n_frames")?;
        let plan = unsafe { Plan::new(params, n_samples, sample_rate)? };
        if !log_mel.is_null() {
            let (frames, mels) = (plan.frames, plan.cfg.n_mels);
            let values = frames
                .checked_mul(mels)
                .ok_or_else(|| invalid(format!("{frames} frames x {mels} mels overflow")))?;
            log_mel.check(values, &format!("{frames} frames x {mels} mels"))?;
            energy.check(frames, &format!("{frames} frames"))?;
            let a = plan.run(pcm, None)?;
            // SAFETY: both checked for these lengths above.
            unsafe {
                log_mel.write(&a.features.log_mel.data);
                energy.write(&a.features.energy);
            }
        }
        // SAFETY: checked non-NULL.
        unsafe { n_frames.write(plan.frames) };
        Ok(())
    })
}

/// F0 of `n_samples` mono samples `pcm` at `sample_rate` Hz on the feature frames of `params`
/// (NULL: fastspeech2): the signal is resampled to `params->sample_rate` as for
/// `llmc_audio_features`, and `method` (`LLMC_F0_YIN` or `LLMC_F0_PYIN`) tracks 75-800 Hz with
/// centred frames at the recipe's hop (each frame long enough for two periods at 75 Hz), so
/// that frame `t` of every track is frame `t` of the log-mel. `f0` receives Hz per frame (NaN
/// where pYIN finds the frame unvoiced), `voiced` (may be NULL) 1 or 0 per frame (always 1
/// for YIN), `f0_interpolated` (may be NULL) F0 linearly interpolated over unvoiced frames
/// (what FastSpeech2 trains its pitch predictor on), each `capacity` floats or bytes at
/// least `*n_frames`. A NULL `f0` with capacity 0 asks only for the frame count. A buffer that
/// is too small is `LLMC_ERR_BUFFER_TOO_SMALL` and nothing is written; samples that are not
/// finite are `LLMC_ERR_INVALID_ARGUMENT` naming the first.
#[no_mangle]
pub unsafe extern "C" fn llmc_audio_f0(
    params: *const llmc_audio_params,
    method: llmc_f0_method,
    pcm: *const f32,
    n_samples: usize,
    sample_rate: u32,
    f0: *mut f32,
    voiced: *mut u8,
    f0_interpolated: *mut f32,
    capacity: usize,
    n_frames: *mut usize,
) -> llmc_status {
    guard("llmc_audio_f0", || {
        let method = match method {
            LLMC_F0_YIN => PitchMethod::Yin,
            LLMC_F0_PYIN => PitchMethod::Pyin,
            other => {
                return Err(invalid(format!(
                    "method {other} (LLMC_F0_YIN or LLMC_F0_PYIN)"
                )))
            }
        };
        // SAFETY: as llmc_audio_features; the three arrays hold `capacity` elements each.
        let pcm = unsafe { arg_slice(pcm, n_samples, "pcm")? };
        let f0_out = OutArray::new(f0, capacity, "f0")?;
        let voiced_out = OutArray::new(
            voiced,
            if voiced.is_null() { 0 } else { capacity },
            "voiced",
        )?;
        let interp_out = OutArray::new(
            f0_interpolated,
            if f0_interpolated.is_null() {
                0
            } else {
                capacity
            },
            "f0_interpolated",
        )?;
        let n_frames = out_ptr(n_frames, "n_frames")?;
        let plan = unsafe { Plan::new(params, n_samples, sample_rate)? };
        if !f0_out.is_null() {
            let what = format!("{} frames", plan.frames);
            f0_out.check(plan.frames, &what)?;
            let track = plan.f0(pcm, method)?;
            let flags: Vec<u8> = track.voiced.iter().map(|&v| u8::from(v)).collect();
            // SAFETY: every array holds `capacity >= frames` elements (checked above).
            unsafe {
                f0_out.write(&track.f0);
                voiced_out.write(&flags);
                interp_out.write(&track.f0_interpolated);
            }
        }
        // SAFETY: checked non-NULL.
        unsafe { n_frames.write(plan.frames) };
        Ok(())
    })
}

/// Decodes the `len` bytes of a RIFF/WAVE file in memory (uncompressed PCM: 8-bit unsigned,
/// 16, 24 and 32-bit integer, 32 and 64-bit float, plain or `WAVE_FORMAT_EXTENSIBLE`; any
/// channel count and rate) into float samples, integer PCM scaled by 1 / 2^(bits - 1) as
/// libsndfile does. With `mono` each frame becomes the mean of its channels; otherwise the
/// channels stay interleaved. `samples` receives `*n_samples` floats (frames, or frames x
/// channels); `*sample_rate` and `*channels` (either may be NULL) the file's rate and channel
/// count. A NULL `samples` with capacity 0 asks for the count (the rate and channels are
/// written too). A file that does not follow the format (truncated, compressed, a data chunk
/// that is not whole frames) is `LLMC_ERR_FORMAT` with the byte offset at fault.
#[no_mangle]
pub unsafe extern "C" fn llmc_wav_decode(
    bytes: *const u8,
    len: usize,
    mono: bool,
    samples: *mut f32,
    capacity: usize,
    sample_rate: *mut u32,
    channels: *mut u16,
    n_samples: *mut usize,
) -> llmc_status {
    guard("llmc_wav_decode", || {
        // SAFETY: the caller passes `len` readable bytes and a `capacity`-float array.
        let bytes = unsafe { arg_slice(bytes, len, "bytes")? };
        let out = OutArray::new(samples, capacity, "samples")?;
        let n_samples = out_ptr(n_samples, "n_samples")?;
        let w = wav::decode(bytes)?;
        let values: Cow<[f32]> = if mono && w.channels > 1 {
            Cow::Owned(w.to_mono())
        } else {
            Cow::Borrowed(&w.samples)
        };
        out.check(
            values.len(),
            &format!(
                "{} frames x {} channels",
                w.frames(),
                if mono { 1 } else { w.channels }
            ),
        )?;
        // SAFETY: checked for this length; the scalar outputs are NULL or writable.
        unsafe {
            out.write(&values);
            if !sample_rate.is_null() {
                sample_rate.write(w.sample_rate);
            }
            if !channels.is_null() {
                channels.write(w.channels);
            }
            n_samples.write(values.len());
        }
        Ok(())
    })
}

/// Converts `n_samples` samples of one channel from `from_rate` to `to_rate` Hz (band-limited
/// polyphase windowed-sinc: flat to 0.9 of the lower Nyquist frequency within 0.001 dB, at
/// least 80 dB of stopband; no delay; equal rates copy) into `out`, `*n_out =
/// ceil(n_samples * to_rate / from_rate)` floats. A NULL `out` with capacity 0 asks for the
/// count. A rate of 0, or a pair whose reduced ratio needs too large a filter table
/// (44101 -> 48000 Hz), is `LLMC_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn llmc_audio_resample(
    pcm: *const f32,
    n_samples: usize,
    from_rate: u32,
    to_rate: u32,
    out: *mut f32,
    capacity: usize,
    n_out: *mut usize,
) -> llmc_status {
    guard("llmc_audio_resample", || {
        // SAFETY: the caller passes `n_samples` readable floats and a `capacity`-float array.
        let pcm = unsafe { arg_slice(pcm, n_samples, "pcm")? };
        let out = OutArray::new(out, capacity, "out")?;
        let n_out = out_ptr(n_out, "n_out")?;
        let r = Resampler::new(from_rate, to_rate)?;
        let n = r.output_len(pcm.len());
        out.check(
            n,
            &format!("{n_samples} samples at {from_rate} Hz -> {to_rate} Hz"),
        )?;
        if !out.is_null() {
            // SAFETY: checked for this length.
            unsafe { out.write(&r.process(pcm)) };
        }
        // SAFETY: checked non-NULL.
        unsafe { n_out.write(n) };
        Ok(())
    })
}

/// A Mandarin pronunciation dictionary (pypinyin's data: `pinyin_dict.json` and
/// `phrases_dict.json`). Immutable: one handle may be used from any number of threads at once.
#[allow(non_camel_case_types)]
pub struct llmc_g2p_dict {
    dict: Dictionary,
}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Dictionary>()
};

/// Writes a new dictionary handle into `*out`.
fn new_dict(dict: Dictionary, out: *mut *mut llmc_g2p_dict) {
    // SAFETY: the caller checked `out` non-NULL; written on success only.
    unsafe { out.write(Box::into_raw(Box::new(llmc_g2p_dict { dict }))) };
}

/// Loads the dictionary from `pinyin_dict.json` and `phrases_dict.json` in the folder `dir`
/// (`scripts/fetch-assets.sh` puts pypinyin 0.55's in `assets/pypinyin`). On success `*out`
/// receives a handle to release with `llmc_g2p_dict_free`; on failure (`LLMC_ERR_IO` naming
/// a file that cannot be read, `LLMC_ERR_FORMAT` for one that does not parse) it is left
/// untouched.
#[no_mangle]
pub unsafe extern "C" fn llmc_g2p_dict_load(
    dir: *const c_char,
    out: *mut *mut llmc_g2p_dict,
) -> llmc_status {
    guard("llmc_g2p_dict_load", || {
        // SAFETY: the caller passes a NUL-terminated path.
        let dir = unsafe { arg_path(dir, "dir")? };
        let out = out_ptr(out, "out")?;
        new_dict(Dictionary::load(dir)?, out);
        Ok(())
    })
}

/// Makes the dictionary from the texts of `pinyin_dict.json` and `phrases_dict.json` held in
/// memory (`*_len` bytes of UTF-8 each, no NUL needed), for apps whose data is not in files
/// (Android assets, a bundle). `*out` as `llmc_g2p_dict_load`.
#[no_mangle]
pub unsafe extern "C" fn llmc_g2p_dict_parse(
    pinyin_dict: *const c_char,
    pinyin_dict_len: usize,
    phrases_dict: *const c_char,
    phrases_dict_len: usize,
    out: *mut *mut llmc_g2p_dict,
) -> llmc_status {
    guard("llmc_g2p_dict_parse", || {
        // SAFETY: the caller passes the two texts' bytes.
        let chars = unsafe { arg_text(pinyin_dict, pinyin_dict_len, "pinyin_dict")? };
        let phrases = unsafe { arg_text(phrases_dict, phrases_dict_len, "phrases_dict")? };
        let out = out_ptr(out, "out")?;
        new_dict(Dictionary::parse(chars, phrases)?, out);
        Ok(())
    })
}

/// Releases a dictionary handle. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn llmc_g2p_dict_free(dict: *mut llmc_g2p_dict) {
    if !dict.is_null() {
        // SAFETY: `dict` came from llmc_g2p_dict_load/_parse and is freed once (caller's promise).
        let _ = std::panic::catch_unwind(|| drop(unsafe { Box::from_raw(dict) }));
    }
}

/// How `llmc_g2p_pinyin` writes a pause inside a sentence and one at its end.
const MINOR_PAUSE: &str = ",";
const MAJOR_PAUSE: &str = ".";

/// The tokens as `llmc_g2p_pinyin` writes them.
fn pinyin_text(tokens: &[Token]) -> String {
    let mut items: Vec<String> = Vec::new();
    for t in tokens {
        match t {
            Token::Word(w) => items.extend(w.syllables.iter().map(|s| s.to_string())),
            Token::Boundary(Boundary::Minor, _) => items.push(MINOR_PAUSE.into()),
            Token::Boundary(Boundary::Major, _) => items.push(MAJOR_PAUSE.into()),
            Token::Foreign(text, _) => items.push(text.clone()),
        }
    }
    items.join(" ")
}

/// The pinyin of `text_len` bytes of UTF-8 `text` (Mandarin; digits, dates, times and
/// percentages are read out), NUL-terminated into `buf` with its length in `*n_out`: the
/// syllables in pypinyin's TONE3 form (`zhong1`, `lv4`, tone 5 = neutral) separated by single
/// spaces, with "," for a pause inside a sentence (，、；：— and the like), "." for one at its
/// end (。！？…), and runs of characters without a reading (Latin letters, symbols) copied as
/// written; quotes, brackets and white space are dropped. Words are cut by forward maximum
/// matching over the phrase dictionary, as pypinyin does without jieba; with `tone_sandhi` the
/// tones are as spoken (third-tone, 一 and 不 sandhi). Empty or white-space-only text, and a
/// CJK ideograph the dictionary has no reading for, are `LLMC_ERR_INVALID_ARGUMENT` (naming
/// the ideograph and its position). A NULL `buf` with capacity 0 asks for the length (the text needs length
/// + 1 bytes).
#[no_mangle]
pub unsafe extern "C" fn llmc_g2p_pinyin(
    dict: *const llmc_g2p_dict,
    text: *const c_char,
    text_len: usize,
    tone_sandhi: bool,
    buf: *mut c_char,
    capacity: usize,
    n_out: *mut usize,
) -> llmc_status {
    guard("llmc_g2p_pinyin", || {
        // SAFETY: the caller passes a live handle, `text_len` readable bytes, `capacity`
        // writable bytes.
        let d = unsafe { arg_ref(dict, "dict")? };
        let text = unsafe { arg_text(text, text_len, "text")? };
        out_ptr(n_out, "n_out")?;
        let tokens = zh::pinyin(&d.dict, text, tone_sandhi)?;
        unsafe { write_text(buf, capacity, pinyin_text(&tokens).as_bytes(), n_out) }
    })
}

/// The phonemes of `text_len` bytes of UTF-8 `text` as spoken (the pinyin of
/// `llmc_g2p_pinyin` with tone sandhi, each syllable split into its initial and toned final,
/// "sp" for a pause inside a sentence and "sil" for one at its end), as ids into the
/// inventory (`llmc_phoneme_symbol`; the ids are stable: what a model's embedding table is
/// indexed by), `*n_out` of them into `ids`. Empty or white-space-only text, and characters
/// without a Mandarin reading (Latin letters, symbols, an ideograph missing from the
/// dictionary), are `LLMC_ERR_INVALID_ARGUMENT` (naming the characters and their position). A NULL `ids` with capacity 0
/// asks for the count.
#[no_mangle]
pub unsafe extern "C" fn llmc_g2p_phonemes(
    dict: *const llmc_g2p_dict,
    text: *const c_char,
    text_len: usize,
    ids: *mut u32,
    capacity: usize,
    n_out: *mut usize,
) -> llmc_status {
    guard("llmc_g2p_phonemes", || {
        // SAFETY: as llmc_g2p_pinyin, with `capacity` writable ids.
        let d = unsafe { arg_ref(dict, "dict")? };
        let text = unsafe { arg_text(text, text_len, "text")? };
        let out = crate::boundary::OutList::new(ids, capacity, n_out, "ids", "n_out")?;
        let phonemes = zh::phonemes(&d.dict, text)?;
        let ids: Vec<u32> = phonemes.iter().map(|p| u32::from(p.id())).collect();
        // SAFETY: the caller's array of `capacity` ids.
        unsafe { out.write(&ids, "ids") }
    })
}

/// The number of phonemes in the inventory: ids run from 0 to this - 1 (0 is "sil", 1 "sp",
/// then the 21 initials and the 43 finals with tones 1-5). The inventory only grows.
#[no_mangle]
pub extern "C" fn llmc_phoneme_count() -> usize {
    PHONEMES.len()
}

/// The symbol of phoneme `id` ("sil", "zh", "ong1"), NUL-terminated into `buf`, its length in
/// `*n_out`; an id outside the inventory is `LLMC_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn llmc_phoneme_symbol(
    id: u32,
    buf: *mut c_char,
    capacity: usize,
    n_out: *mut usize,
) -> llmc_status {
    guard("llmc_phoneme_symbol", || {
        let phoneme = u16::try_from(id)
            .ok()
            .and_then(Phoneme::from_id)
            .ok_or_else(|| {
                invalid(format!(
                    "phoneme id {id} is outside the inventory (0..{})",
                    PHONEMES.len()
                ))
            })?;
        // SAFETY: the caller's buffer of `capacity` bytes.
        unsafe { write_text(buf, capacity, phoneme.symbol().as_bytes(), n_out) }
    })
}

/// The id of the phoneme written `symbol` (NUL-terminated: "sp", "zh", "ong1") into `*id`; a
/// symbol outside the inventory is `LLMC_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn llmc_phoneme_id(symbol: *const c_char, id: *mut u32) -> llmc_status {
    guard("llmc_phoneme_id", || {
        // SAFETY: the caller passes a NUL-terminated symbol.
        let symbol = unsafe { arg_cstr(symbol, "symbol")? };
        let id = out_ptr(id, "id")?;
        let p = Phoneme::from_symbol(symbol)
            .ok_or_else(|| invalid(format!("no phoneme is written {symbol:?}")))?;
        // SAFETY: checked non-NULL.
        unsafe { id.write(u32::from(p.id())) };
        Ok(())
    })
}

/// How `llmc_audio_corpus` analyses each utterance. Start from
/// `llmc_audio_corpus_default_params()`; NULL means the defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_audio_corpus_params {
    /// `sizeof(llmc_audio_corpus_params)`.
    pub struct_size: usize,
    /// The log-mel recipe (with its own `struct_size`); NULL (default) = the "fastspeech2"
    /// preset. F0 is tracked by pYIN on its frames.
    pub features: *const llmc_audio_params,
    /// A frame is silent when its energy is more than `silence_db` (> 0, default 40) below the
    /// utterance's loudest; silent runs of at least `min_pause_s` seconds (>= 0, default
    /// 0.05) are pauses.
    pub silence_db: f32,
    pub min_pause_s: f32,
}

/// Defaults: the fastspeech2 recipe, silence 40 dB below the loudest frame, pauses from 0.05 s.
#[no_mangle]
pub extern "C" fn llmc_audio_corpus_default_params() -> llmc_audio_corpus_params {
    let a = ActivityConfig::default();
    llmc_audio_corpus_params {
        struct_size: size_of::<llmc_audio_corpus_params>(),
        features: std::ptr::null(),
        silence_db: a.silence_db,
        min_pause_s: a.min_pause_s,
    }
}

/// Receives a corpus build's progress: `done` of `total` utterances analysed, then the one
/// about to be (`utterance`, "SCENE/SPEAKER/ID", NUL-terminated, valid during the call only),
/// and the `user_data` given with it. Return true to go on, false to cancel
/// (`LLMC_ERR_CANCELLED`). A last call with `done == total` and `utterance` NULL comes after
/// the manifest is written; its return value is ignored. Runs on the calling thread; must not
/// unwind through the library.
#[allow(non_camel_case_types)]
pub type llmc_audio_corpus_progress = Option<
    unsafe extern "C" fn(
        done: usize,
        total: usize,
        utterance: *const c_char,
        user_data: *mut c_void,
    ) -> bool,
>;

/// What a corpus build wrote. Set `struct_size = sizeof(llmc_audio_corpus_result)` before
/// the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_audio_corpus_result {
    pub struct_size: usize,
    /// Utterances written, and the scenes and speakers they belong to.
    pub n_utterances: usize,
    pub n_scenes: usize,
    pub n_speakers: usize,
    /// Feature frames over all utterances.
    pub n_frames: usize,
    /// Seconds of audio analysed, and wall seconds the build took.
    pub audio_seconds: f64,
    pub seconds: f64,
}

/// Turns the MSceneSpeech-style corpus under `root` (`SCENE/SPEAKER/ID.wav`, each with its
/// transcript `ID.txt` or `ID.lab`, UTF-8 Mandarin) into training features under `out_dir`
/// (created if needed), as `llmcore audio corpus` does: per utterance
/// `SCENE/SPEAKER/ID.safetensors` holding `log_mel` [frames, n_mels], `energy`, `f0`
/// (pYIN, interpolated over unvoiced frames), `voiced` (u8), `phonemes` (u32 ids, as
/// `llmc_g2p_phonemes` with `dict`) and `prosody` [8]; then `manifest.json` with the
/// settings, the corpus's, each scene's and each speaker's prosody statistics, and one entry
/// per utterance (its pinyin, frames, prosody and z-scored prosody prompt). `params` may be
/// NULL for the defaults; `progress` (may be NULL) is called before each utterance, and
/// returning false cancels (`LLMC_ERR_CANCELLED`); `*result` (may be NULL) says what was
/// written.
///
/// The layout, the settings and the dictionary are checked before any work: a file at the
/// wrong depth, a WAV without a transcript (or the reverse), an empty transcript or an empty
/// corpus is `LLMC_ERR_INVALID_ARGUMENT` naming the file; a bad recipe or activity setting
/// `LLMC_ERR_INVALID_ARGUMENT` naming the field; a folder that cannot be read `LLMC_ERR_IO`.
/// An utterance that fails (a WAV that does not decode, a transcript character without a
/// reading, a silent recording) stops the build with an error naming its WAV. Each feature
/// file is written whole or not at all, and `manifest.json` last: a failed or cancelled build
/// writes no manifest (feature files of the utterances before it stay). Several builds may run
/// at once on different `out_dir`s; `dict` is only read.
#[no_mangle]
pub unsafe extern "C" fn llmc_audio_corpus(
    root: *const c_char,
    out_dir: *const c_char,
    dict: *const llmc_g2p_dict,
    params: *const llmc_audio_corpus_params,
    progress: llmc_audio_corpus_progress,
    user_data: *mut c_void,
    result: *mut llmc_audio_corpus_result,
) -> llmc_status {
    guard("llmc_audio_corpus", || {
        // SAFETY: the caller passes two NUL-terminated paths, a live dictionary, optional
        // params (whose `features` is NULL or a readable recipe) and an optional result.
        let root = unsafe { arg_path(root, "root")? };
        let out = unsafe { arg_path(out_dir, "out_dir")? };
        let d = unsafe { arg_ref(dict, "dict")? };
        let p = unsafe { read_params(params, llmc_audio_corpus_default_params(), "params")? };
        let features = unsafe { read_audio_params(p.features, "params->features")? };
        let result = if result.is_null() {
            None
        } else {
            Some(unsafe { check_result(result, "result")? })
        };
        let cfg = CorpusConfig {
            features,
            activity: ActivityConfig {
                silence_db: p.silence_db,
                min_pause_s: p.min_pause_s,
            },
        };
        cfg.activity
            .validate()
            .map_err(|e| invalid(format!("params->{}", inner(e))))?;
        let utterances = corpus::scan(root)?;
        std::fs::create_dir_all(out).map_err(|e| Failure {
            status: llmc_status::LLMC_ERR_IO,
            message: format!("out_dir {}: {e}", out.display()),
        })?;

        let start = Instant::now();
        let mut stopped_at = None;
        let built = corpus::build(&utterances, out, &cfg, &d.dict, &mut |done, total, u| {
            let Some(cb) = progress else { return true };
            let name = u.map(|u| {
                CString::new(format!("{}/{}/{}", u.scene, u.speaker, u.id)).unwrap_or_default()
            });
            let ptr = name.as_ref().map_or(std::ptr::null(), |n| n.as_ptr());
            // SAFETY: the caller installed the callback for this call's duration.
            let go_on = unsafe { cb(done, total, ptr, user_data) };
            if !go_on {
                stopped_at = Some((done, total));
            }
            go_on
        });
        let report = match (built, stopped_at) {
            (Err(runtime::Error::Cancelled), Some((done, total))) => {
                return Err(Failure {
                    status: llmc_status::LLMC_ERR_CANCELLED,
                    message: format!(
                        "cancelled by the progress callback after {done} of {total} utterances \
                         (no manifest written)"
                    ),
                })
            }
            (built, _) => built?,
        };
        let seconds = start.elapsed().as_secs_f64();
        let audio_seconds: f64 = report
            .utterances
            .iter()
            .map(|r| f64::from(r.prosody.duration_s))
            .sum();
        let n_frames = report.utterances.iter().map(|r| r.frames).sum();
        log(
            LLMC_LOG_INFO,
            &format!(
                "corpus {}: {} utterances ({audio_seconds:.1} s of audio) in {seconds:.1} s; \
                 wrote {}/manifest.json",
                root.display(),
                report.utterances.len(),
                out.display()
            ),
        );
        if let Some(result) = result {
            let value = llmc_audio_corpus_result {
                struct_size: size_of::<llmc_audio_corpus_result>(),
                n_utterances: report.utterances.len(),
                n_scenes: report.scenes.len(),
                n_speakers: report.speakers.len(),
                n_frames,
                audio_seconds,
                seconds,
            };
            // SAFETY: checked above.
            unsafe { result.write(value) };
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_round_trip_through_the_c_struct() {
        for preset in Preset::ALL {
            let cfg = preset.config();
            assert_eq!(feature_config(&c_params(&cfg), "params").unwrap(), cfg);
        }
    }

    /// A dictionary of 一 (yī) and 二 (èr), no phrases.
    pub(crate) const TINY_CHARS: &str = "{\n\"19968\": \"yī\",\n\"20108\": \"èr\"\n}\n";
    pub(crate) const NO_PHRASES: &str = "{\n}\n";

    #[test]
    fn pauses_and_foreign_runs_are_written_apart() {
        let d = Dictionary::parse(TINY_CHARS, NO_PHRASES).unwrap();
        let tokens = zh::pinyin(&d, "一，二。ABC二", false).unwrap();
        assert_eq!(pinyin_text(&tokens), "yi1 , er4 . ABC er4");
        assert!(
            zh::pinyin(&d, " ", true).is_err(),
            "nothing to say is an error"
        );
    }
}
