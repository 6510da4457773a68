//! A sampler over the caller's own logits: the chain `llmc_generate` applies (logit bias,
//! repetition / frequency / presence penalties, top-k, top-p, min-p, temperature, a seeded
//! draw), for callers that drive `llmc_session_eval` themselves.

use crate::boundary::{
    arg_mut, arg_slice, guard, invalid, out_ptr, read_params, FfiResult, OutList,
};
use crate::model::llmc_token;
use crate::status::llmc_status;
use runtime::model::sampling::{validate_logit_bias, LogitBias, Sampler, SamplerParams};

/// Added to one token's logit before every other step; `-INFINITY` bans the token.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_logit_bias {
    pub token: llmc_token,
    /// Finite, or `-INFINITY`.
    pub bias: f32,
}

/// How a sampler chooses. Start from `llmc_sampler_default_params()`; every setting's neutral
/// value turns its step off.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_sampler_params {
    /// `sizeof(llmc_sampler_params)`.
    pub struct_size: usize,
    /// 0 = greedy (default): the argmax after the logit bias and penalties; otherwise the
    /// softmax temperature, finite and > 0.
    pub temperature: f32,
    /// Keep the `top_k` most likely tokens, 0 = all (default 40).
    pub top_k: usize,
    /// Keep the smallest set reaching this probability, in (0, 1] (default 0.95).
    pub top_p: f32,
    /// Keep the tokens at least `min_p` times as likely as the most likely one, in [0, 1],
    /// 0 = off (default).
    pub min_p: f32,
    /// Divides positive and multiplies negative logits of tokens among the last
    /// `repeat_last_n` of the history; finite and > 0, 1 = off (default).
    pub repeat_penalty: f32,
    /// How many recent history tokens the penalties look at (default 64).
    pub repeat_last_n: usize,
    /// Subtracted from a recent token's logit once per occurrence; finite, 0 = off (default).
    pub frequency_penalty: f32,
    /// Subtracted once from the logit of each token that occurs recently; finite, 0 = off.
    pub presence_penalty: f32,
    /// Seed of the random draws (default 0): equal seeds and inputs give equal tokens.
    pub seed: u64,
    /// `n_logit_bias` entries applied first; may be NULL when `n_logit_bias` is 0.
    pub logit_bias: *const llmc_logit_bias,
    pub n_logit_bias: usize,
}

/// Defaults: greedy, top-k 40, top-p 0.95, no min-p, no penalties, seed 0, no logit bias.
#[no_mangle]
pub extern "C" fn llmc_sampler_default_params() -> llmc_sampler_params {
    let s = SamplerParams::default();
    llmc_sampler_params {
        struct_size: size_of::<llmc_sampler_params>(),
        temperature: s.temperature,
        top_k: s.top_k,
        top_p: s.top_p,
        min_p: s.min_p,
        repeat_penalty: s.repeat_penalty,
        repeat_last_n: s.repeat_last_n,
        frequency_penalty: s.frequency_penalty,
        presence_penalty: s.presence_penalty,
        seed: s.seed,
        logit_bias: std::ptr::null(),
        n_logit_bias: 0,
    }
}

/// The core's sampler settings and logit bias for `p`, every range checked (the bias ids
/// against the vocabulary later, when it is known); errors name the fields as `name->field`.
/// Shared by every export that takes sampler settings.
///
/// # Safety
/// `p.logit_bias` must be NULL or hold `p.n_logit_bias` entries.
pub(crate) unsafe fn sampler_settings(
    p: &llmc_sampler_params,
    name: &str,
) -> FfiResult<(SamplerParams, Vec<LogitBias>)> {
    let params = SamplerParams {
        temperature: p.temperature,
        top_k: p.top_k,
        top_p: p.top_p,
        min_p: p.min_p,
        repeat_penalty: p.repeat_penalty,
        repeat_last_n: p.repeat_last_n,
        frequency_penalty: p.frequency_penalty,
        presence_penalty: p.presence_penalty,
        seed: p.seed,
    };
    let field = |s: runtime::model::sampling::Setting| format!("{name}->{}", s.field_name());
    params.validate_named(&field)?;
    // SAFETY: forwarded from the caller.
    let entries =
        unsafe { arg_slice(p.logit_bias, p.n_logit_bias, &format!("{name}->logit_bias"))? };
    let bias: Vec<LogitBias> = entries
        .iter()
        .map(|b| LogitBias {
            token: b.token,
            bias: b.bias,
        })
        .collect();
    validate_logit_bias(&bias, usize::MAX, &field)?;
    Ok((params, bias))
}

/// A sampler: its settings, its logit bias and its random stream. Use one from one thread at
/// a time.
#[allow(non_camel_case_types)]
pub struct llmc_sampler {
    sampler: Sampler,
    bias: Vec<LogitBias>,
    /// The caller's logits, copied to be biased and penalized.
    scratch: Vec<f32>,
}

/// Creates a sampler (`params` may be NULL for the defaults) into `*out`, to release with
/// `llmc_sampler_free`. A setting out of range is `LLMC_ERR_INVALID_ARGUMENT` naming its field.
#[no_mangle]
pub unsafe extern "C" fn llmc_sampler_new(
    params: *const llmc_sampler_params,
    out: *mut *mut llmc_sampler,
) -> llmc_status {
    guard("llmc_sampler_new", || {
        // SAFETY: caller passes NULL or a params struct whose `logit_bias` holds its entries.
        let p = unsafe { read_params(params, llmc_sampler_default_params(), "params")? };
        let out = out_ptr(out, "out")?;
        let (params, bias) = unsafe { sampler_settings(&p, "params")? };
        let handle = llmc_sampler {
            sampler: Sampler::with_logit_bias(params, &bias),
            bias,
            scratch: Vec::new(),
        };
        // SAFETY: checked non-NULL; written on success only.
        unsafe { out.write(Box::into_raw(Box::new(handle))) };
        Ok(())
    })
}

/// Releases a sampler. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn llmc_sampler_free(sampler: *mut llmc_sampler) {
    if !sampler.is_null() {
        // SAFETY: the handle came from `llmc_sampler_new` and is released once.
        drop(unsafe { Box::from_raw(sampler) });
    }
}

impl llmc_sampler {
    /// Copies `logits` into the scratch row after checking them and `history` against the
    /// vocabulary of `logits.len()` tokens (and the logit bias against it).
    fn load(&mut self, logits: &[f32], history: &[llmc_token]) -> FfiResult {
        let n_vocab = logits.len();
        if n_vocab == 0 {
            return Err(invalid("n_vocab is 0"));
        }
        if let Some(i) = logits
            .iter()
            .position(|l| !(l.is_finite() || *l == f32::NEG_INFINITY))
        {
            return Err(invalid(format!(
                "logits[{i}] is {} (finite or -inf expected)",
                logits[i]
            )));
        }
        if let Some(i) = history.iter().position(|&t| t as usize >= n_vocab) {
            return Err(invalid(format!(
                "history[{i}] = {} is not below n_vocab {n_vocab}",
                history[i]
            )));
        }
        validate_logit_bias(&self.bias, n_vocab, &|s| {
            format!("the sampler's {}", s.field_name())
        })?;
        self.scratch.clear();
        self.scratch.extend_from_slice(logits);
        Ok(())
    }
}

/// Chooses the next token from one row of `n_vocab` logits (left unchanged) given the tokens
/// so far (`history`, `n_history` ids, which the penalties look at; may be NULL when
/// `n_history` is 0), into `*token`. Greedy settings take no random draw; otherwise one
/// draw advances the sampler's stream. Logits must be finite or `-INFINITY`, history ids and
/// logit-bias ids below `n_vocab` (`LLMC_ERR_INVALID_ARGUMENT` naming the first bad one).
#[no_mangle]
pub unsafe extern "C" fn llmc_sampler_sample(
    sampler: *mut llmc_sampler,
    logits: *const f32,
    n_vocab: usize,
    history: *const llmc_token,
    n_history: usize,
    token: *mut llmc_token,
) -> llmc_status {
    guard("llmc_sampler_sample", || {
        // SAFETY: caller passes a live handle, `n_vocab` floats and `n_history` ids.
        let s = unsafe { arg_mut(sampler, "sampler")? };
        let logits = unsafe { arg_slice(logits, n_vocab, "logits")? };
        let history = unsafe { arg_slice(history, n_history, "history")? };
        let token = out_ptr(token, "token")?;
        s.load(logits, history)?;
        let t = s.sampler.sample(&mut s.scratch, history);
        // SAFETY: checked non-NULL; written on success only.
        unsafe { token.write(t) };
        Ok(())
    })
}

/// A token and its probability under a sampler's distribution.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_token_prob {
    pub token: llmc_token,
    pub prob: f64,
}

/// The distribution `llmc_sampler_sample` would draw from for the same inputs, without a
/// draw: the tokens left after every step with their probabilities, most likely first (ties
/// by id), into `out` (`capacity` entries) and their number into `*n_out`. Greedy settings
/// give one token with probability 1. A NULL `out` with capacity 0 asks only for the count;
/// a smaller buffer is `LLMC_ERR_BUFFER_TOO_SMALL` and is left untouched.
#[no_mangle]
pub unsafe extern "C" fn llmc_sampler_distribution(
    sampler: *mut llmc_sampler,
    logits: *const f32,
    n_vocab: usize,
    history: *const llmc_token,
    n_history: usize,
    out: *mut llmc_token_prob,
    capacity: usize,
    n_out: *mut usize,
) -> llmc_status {
    guard("llmc_sampler_distribution", || {
        // SAFETY: caller passes a live handle, `n_vocab` floats, `n_history` ids and
        // `capacity` writable entries.
        let s = unsafe { arg_mut(sampler, "sampler")? };
        let logits = unsafe { arg_slice(logits, n_vocab, "logits")? };
        let history = unsafe { arg_slice(history, n_history, "history")? };
        let list = OutList::new(out, capacity, n_out, "out", "n_out")?;
        s.load(logits, history)?;
        let dist: Vec<llmc_token_prob> = s
            .sampler
            .distribution(&mut s.scratch, history)
            .into_iter()
            .map(|(token, prob)| llmc_token_prob { token, prob })
            .collect();
        // SAFETY: `out` holds `capacity` entries (the caller's promise).
        unsafe { list.write(&dist, "out") }
    })
}
