//! Calibration data for pruning: self-generated sets written to a file, and calibration
//! windows drawn from a text file, random tokens or such a set.

use crate::boundary::{arg_cstr, arg_path, arg_ref, arg_text, guard, read_params, OutList};
use crate::generate::llmc_progress_callback;
use crate::model::{llmc_model, llmc_token};
use crate::status::llmc_status;
use runtime::prune::calib::{selfgen, CalibSource, SelfGenParams};
use std::ffi::{c_char, c_void};

/// How to synthesize a calibration set. Start from `llmc_selfgen_default_params()`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_selfgen_params {
    /// `sizeof(llmc_selfgen_params)`.
    pub struct_size: usize,
    /// Texts to generate, each from a different seed paragraph (default 500).
    pub texts: usize,
    /// Tokens of each seed paragraph the model continues (default 2).
    pub seed_tokens: usize,
    /// New tokens per text at most (default 512).
    pub max_new: usize,
    /// Sampling: temperature (0.6), top-k (50), top-p (0.95), repetition penalty over the
    /// whole text (1.2), seed (0; text i samples with seed + i).
    pub temperature: f32,
    pub top_k: usize,
    pub top_p: f32,
    pub repeat_penalty: f32,
    pub seed: u64,
    /// Fraction of texts dropped, highest perplexity first, in [0, 1) (default 0.2).
    pub drop: f64,
}

/// The paper's settings: 500 texts of up to 512 new tokens from 2-token seeds, temperature
/// 0.6, top-p 0.95, top-k 50, repetition penalty 1.2, the worst 20% dropped.
#[no_mangle]
pub extern "C" fn llmc_selfgen_default_params() -> llmc_selfgen_params {
    let d = SelfGenParams::default();
    llmc_selfgen_params {
        struct_size: size_of::<llmc_selfgen_params>(),
        texts: d.texts,
        seed_tokens: d.seed_tokens,
        max_new: d.max_new,
        temperature: d.sampler.temperature,
        top_k: d.sampler.top_k,
        top_p: d.sampler.top_p,
        repeat_penalty: d.sampler.repeat_penalty,
        seed: d.sampler.seed,
        drop: d.drop,
    }
}

/// Generates a self-made calibration set with `model` from the blank-line separated
/// paragraphs of `seeds_text` (`seeds_len` bytes of UTF-8) and writes it to `out_path` (a
/// JSON file; written under a temporary name and renamed, so a failure or a cancellation
/// leaves no file; an existing file is replaced). `params` may be NULL for the defaults;
/// `progress` (may be NULL) is called after each text, and returning false cancels
/// (`LLMC_ERR_CANCELLED`). Safe to call from several threads on one model.
#[no_mangle]
pub unsafe extern "C" fn llmc_calib_selfgen(
    model: *const llmc_model,
    seeds_text: *const c_char,
    seeds_len: usize,
    params: *const llmc_selfgen_params,
    out_path: *const c_char,
    progress: llmc_progress_callback,
    user_data: *mut c_void,
) -> llmc_status {
    guard("llmc_calib_selfgen", || {
        // SAFETY: caller passes a live model, `seeds_len` bytes, optional params, a path.
        let m = unsafe { arg_ref(model, "model")? };
        let seeds = unsafe { arg_text(seeds_text, seeds_len, "seeds_text")? };
        let p = unsafe { read_params(params, llmc_selfgen_default_params(), "params")? };
        let path = unsafe { arg_path(out_path, "out_path")? };
        let d = SelfGenParams::default();
        let params = SelfGenParams {
            texts: p.texts,
            seed_tokens: p.seed_tokens,
            max_new: p.max_new,
            sampler: runtime::model::sampling::SamplerParams {
                temperature: p.temperature,
                top_k: p.top_k,
                top_p: p.top_p,
                repeat_penalty: p.repeat_penalty,
                seed: p.seed,
                ..d.sampler
            },
            drop: p.drop,
        };
        let mut on_progress = |done: usize, total: usize| match progress {
            None => true,
            // SAFETY: the caller installed the callback for this call's duration.
            Some(cb) => unsafe { cb(done, total, user_data) },
        };
        let set = selfgen(&m.model, seeds, &params, &mut on_progress)?;
        set.save(path)?;
        Ok(())
    })
}

/// Draws `n` calibration windows of `len` tokens for `model` from `source`: "file:PATH" (a
/// UTF-8 text file), "random" (random non-control tokens) or "selfgen:PATH" (a set written by
/// `llmc_calib_selfgen`), with `seed`. The `n * len` token ids go row-major into `tokens`
/// (`capacity` ids; NULL with capacity 0 asks only for the count) and the count into
/// `*n_tokens`; nothing is written on failure (`LLMC_ERR_BUFFER_TOO_SMALL` when it is short).
#[no_mangle]
pub unsafe extern "C" fn llmc_calib_windows(
    model: *const llmc_model,
    source: *const c_char,
    n: usize,
    len: usize,
    seed: u64,
    tokens: *mut llmc_token,
    capacity: usize,
    n_tokens: *mut usize,
) -> llmc_status {
    guard("llmc_calib_windows", || {
        // SAFETY: caller passes a live model, a NUL-terminated source, a buffer of `capacity`.
        let m = unsafe { arg_ref(model, "model")? };
        let spec = unsafe { arg_cstr(source, "source")? };
        let out = OutList::new(tokens, capacity, n_tokens, "tokens", "n_tokens")?;
        let set = CalibSource::parse(spec)?.windows(&m.model, n, len, seed)?;
        let flat: Vec<u32> = set.windows.concat();
        // SAFETY: `tokens` holds `capacity` ids (the caller's promise).
        unsafe { out.write(&flat, "tokens") }
    })
}
