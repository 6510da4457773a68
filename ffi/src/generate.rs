//! Generation with a streaming callback; perplexity and continuation log-likelihood with a
//! progress callback.

use crate::boundary::{
    arg_cstr, arg_mut, arg_ref, arg_slice, check_result, guard, invalid, log, out_ptr, read_params,
    read_params_or_older, FfiResult, LLMC_LOG_INFO,
};
use crate::model::{llmc_model, llmc_token};
use crate::sampler::{
    llmc_logit_bias, llmc_sampler_default_params, llmc_sampler_params, sampler_settings,
};
use crate::session::{llmc_numerics, llmc_session, numerics, LLMC_NUMERICS_FAST};
use crate::status::llmc_status;
use runtime::model::generate::{generate, GenerateParams, StopReason};
use runtime::model::perplexity::{loglikelihood, perplexity, PerplexityParams, ScoreMode};
use runtime::model::KvType;
use std::ffi::{c_char, c_void};

/// Receives each new piece of generated text as soon as it is complete UTF-8 and clear of
/// stop strings: `len` bytes at `text` (also NUL-terminated; valid only during the call) and
/// the `user_data` given with it. Return true to go on, false to stop generation. Runs on the
/// calling thread; must not unwind (C++ exceptions, longjmp) through the library, and must
/// not use the session being generated (other sessions and the model are fine).
#[allow(non_camel_case_types)]
pub type llmc_text_callback =
    Option<unsafe extern "C" fn(text: *const c_char, len: usize, user_data: *mut c_void) -> bool>;

/// How to generate. Start from `llmc_generate_default_params()`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_generate_params {
    /// `sizeof(llmc_generate_params)`.
    pub struct_size: usize,
    /// Most tokens to generate (default 128).
    pub max_tokens: usize,
    /// 0 = greedy (default); otherwise the softmax temperature: finite and >= 0.
    pub temperature: f32,
    /// Keep the `top_k` most likely tokens, 0 = all (default 40).
    pub top_k: usize,
    /// Keep the smallest set reaching this probability, in (0, 1] (default 0.95).
    pub top_p: f32,
    /// Repetition penalty on the last `repeat_last_n` tokens, finite and > 0, 1 = off (default 1).
    pub repeat_penalty: f32,
    pub repeat_last_n: usize,
    /// Seed of the sampler's random numbers (default 0): equal seeds give equal text.
    pub seed: u64,
    /// `n_stop` non-empty NUL-terminated UTF-8 strings; generation stops before any of them and they
    /// are not part of the output. May be NULL when `n_stop` is 0.
    pub stop: *const *const c_char,
    pub n_stop: usize,
    /// Keep the tokens at least `min_p` times as likely as the most likely one, in [0, 1],
    /// 0 = off (default). This field and the ones after it were appended; a struct from the
    /// header before them (its `struct_size` ending at `n_stop`) gets their defaults.
    pub min_p: f32,
    /// Subtracted from a recent token's logit once per occurrence; finite, 0 = off (default).
    pub frequency_penalty: f32,
    /// Subtracted once from the logit of each recent token; finite, 0 = off (default).
    pub presence_penalty: f32,
    /// `n_logit_bias` entries added to the logits before every other step (ids below the
    /// vocabulary size); may be NULL when `n_logit_bias` is 0.
    pub logit_bias: *const llmc_logit_bias,
    pub n_logit_bias: usize,
}

/// `sizeof(llmc_generate_params)` before `min_p` and the fields after it were appended.
pub(crate) const GENERATE_PARAMS_V1_SIZE: usize = std::mem::offset_of!(llmc_generate_params, min_p);

/// Reads a caller's `llmc_generate_params` (NULL = the defaults), from this header or the
/// one before `min_p` was appended.
///
/// # Safety
/// A non-NULL `p` must point to a readable struct of its stated `struct_size`.
pub(crate) unsafe fn read_generate_params(
    p: *const llmc_generate_params,
    name: &str,
) -> FfiResult<llmc_generate_params> {
    // SAFETY: forwarded from the caller.
    unsafe {
        read_params_or_older(
            p,
            llmc_generate_default_params(),
            &[GENERATE_PARAMS_V1_SIZE],
            name,
        )
    }
}

/// Defaults: 128 tokens, greedy, no stop strings, the sampler defaults of
/// `llmc_sampler_default_params()`.
#[no_mangle]
pub extern "C" fn llmc_generate_default_params() -> llmc_generate_params {
    let g = GenerateParams::default();
    let s = llmc_sampler_default_params();
    llmc_generate_params {
        struct_size: size_of::<llmc_generate_params>(),
        max_tokens: g.max_tokens,
        temperature: s.temperature,
        top_k: s.top_k,
        top_p: s.top_p,
        repeat_penalty: s.repeat_penalty,
        repeat_last_n: s.repeat_last_n,
        seed: s.seed,
        stop: std::ptr::null(),
        n_stop: 0,
        min_p: s.min_p,
        frequency_penalty: s.frequency_penalty,
        presence_penalty: s.presence_penalty,
        logit_bias: s.logit_bias,
        n_logit_bias: s.n_logit_bias,
    }
}

/// Why generation ended.
#[allow(non_camel_case_types)]
pub type llmc_stop_reason = u32;
/// The model produced an end-of-generation token (its EOS, `<|im_end|>`, `<|endoftext|>`, ...:
/// `LLMC_TOKEN_ATTR_EOG`).
pub const LLMC_STOP_EOS: llmc_stop_reason = 0;
/// A stop string appeared.
pub const LLMC_STOP_STRING: llmc_stop_reason = 1;
/// `max_tokens` were generated.
pub const LLMC_STOP_MAX_TOKENS: llmc_stop_reason = 2;
/// The text callback returned false.
pub const LLMC_STOP_CALLBACK: llmc_stop_reason = 3;
/// The session's context is full.
pub const LLMC_STOP_CONTEXT_FULL: llmc_stop_reason = 4;

/// What a generation did. Set `struct_size = sizeof(llmc_generation)` before the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_generation {
    pub struct_size: usize,
    /// Tokens generated (with the end-of-generation token when one ended generation).
    pub n_tokens: usize,
    pub prompt_tokens: usize,
    /// One of `LLMC_STOP_*`.
    pub stop_reason: llmc_stop_reason,
    /// Wall time of the prompt's forward pass.
    pub prefill_seconds: f64,
    /// Wall time of the single-token forward passes (`decode_steps` of them).
    pub decode_seconds: f64,
    pub decode_steps: usize,
}

/// The C value of a stop reason.
pub(crate) fn stop_reason(stop: StopReason) -> llmc_stop_reason {
    match stop {
        StopReason::Eos => LLMC_STOP_EOS,
        StopReason::StopString => LLMC_STOP_STRING,
        StopReason::MaxTokens => LLMC_STOP_MAX_TOKENS,
        StopReason::Callback => LLMC_STOP_CALLBACK,
        StopReason::ContextFull => LLMC_STOP_CONTEXT_FULL,
    }
}

/// The core's generation settings for `p`, stop strings and logit bias read and every setting
/// checked (the logit bias against a vocabulary of `vocab_size`); errors name the fields as
/// `name->field` (the struct's fields are core's field names). Shared by every export that
/// takes an `llmc_generate_params`.
///
/// # Safety
/// `p.stop` must be NULL or hold `p.n_stop` pointers, each NULL or NUL-terminated, and
/// `p.logit_bias` NULL or `p.n_logit_bias` entries.
pub(crate) unsafe fn generate_params(
    p: &llmc_generate_params,
    vocab_size: usize,
    name: &str,
) -> FfiResult<GenerateParams> {
    // SAFETY: forwarded from the caller.
    let stops = unsafe { arg_slice(p.stop, p.n_stop, &format!("{name}->stop"))? };
    let mut stop = Vec::with_capacity(stops.len());
    for (i, &st) in stops.iter().enumerate() {
        // SAFETY: forwarded from the caller.
        let st = unsafe { arg_cstr(st, &format!("{name}->stop[{i}]"))? };
        stop.push(st.to_string());
    }
    let settings = llmc_sampler_params {
        struct_size: size_of::<llmc_sampler_params>(),
        temperature: p.temperature,
        top_k: p.top_k,
        top_p: p.top_p,
        min_p: p.min_p,
        repeat_penalty: p.repeat_penalty,
        repeat_last_n: p.repeat_last_n,
        frequency_penalty: p.frequency_penalty,
        presence_penalty: p.presence_penalty,
        seed: p.seed,
        logit_bias: p.logit_bias,
        n_logit_bias: p.n_logit_bias,
    };
    // SAFETY: the logit bias is forwarded from the caller.
    let (sampler, logit_bias) = unsafe { sampler_settings(&settings, name)? };
    let params = GenerateParams {
        max_tokens: p.max_tokens,
        sampler,
        logit_bias,
        stop,
    };
    params.validate_for(vocab_size, &|s| format!("{name}->{}", s.field_name()))?;
    Ok(params)
}

/// An [`llmc_text_callback`] (or none) as the core's text sink: each piece is passed on
/// NUL-terminated.
pub(crate) struct TextSink {
    callback: llmc_text_callback,
    user_data: *mut c_void,
    piece: Vec<u8>,
}

impl TextSink {
    pub(crate) fn new(callback: llmc_text_callback, user_data: *mut c_void) -> TextSink {
        TextSink {
            callback,
            user_data,
            piece: Vec::new(),
        }
    }

    /// Passes `text` to the callback; its answer (true without one) says whether to go on.
    pub(crate) fn on_text(&mut self, text: &str) -> bool {
        let Some(cb) = self.callback else {
            return true;
        };
        self.piece.clear();
        self.piece.extend_from_slice(text.as_bytes());
        self.piece.push(0);
        // SAFETY: the caller installed the callback for this call's duration.
        unsafe { cb(self.piece.as_ptr().cast(), text.len(), self.user_data) }
    }
}

/// Appends `prompt` (`n_prompt` tokens, at least one) to the session and generates after
/// it, streaming text to `callback` (may be NULL). On success the session holds the prompt
/// and the generated tokens (but the last), and `*result` (may be NULL) says what happened.
/// On an error the session may hold part of the work; `llmc_session_truncate` rolls it back.
#[no_mangle]
pub unsafe extern "C" fn llmc_generate(
    session: *mut llmc_session,
    prompt: *const llmc_token,
    n_prompt: usize,
    params: *const llmc_generate_params,
    callback: llmc_text_callback,
    user_data: *mut c_void,
    result: *mut llmc_generation,
) -> llmc_status {
    guard("llmc_generate", || {
        // SAFETY: caller passes a live session used by this thread only, `n_prompt` ids, an
        // optional params struct whose `stop` holds `n_stop` strings, an optional result.
        let s = unsafe { arg_mut(session, "session")? };
        let prompt = unsafe { arg_slice(prompt, n_prompt, "prompt")? };
        let p = unsafe { read_generate_params(params, "params")? };
        let result = if result.is_null() {
            None
        } else {
            Some(unsafe { check_result(result, "result")? })
        };
        if prompt.is_empty() {
            return Err(invalid("the prompt is empty"));
        }
        // SAFETY: the struct's `stop` and `logit_bias` hold their entries (the caller's promise).
        let vocab = s.session.model().config.vocab_size;
        let params = unsafe { generate_params(&p, vocab, "params")? };
        let mut sink = TextSink::new(callback, user_data);
        let g = generate(&mut s.session, prompt, &params, &mut |t| sink.on_text(t))?;
        let decode = match g.decode_tokens_per_s() {
            Some(tps) => format!("{tps:.1} tokens/s decode"),
            None => "no decode steps".into(),
        };
        log(
            LLMC_LOG_INFO,
            &format!(
                "generated {} tokens after {} prompt tokens ({decode}), stop: {}",
                g.tokens.len(),
                g.prompt_tokens,
                g.stop.name()
            ),
        );
        if let Some(result) = result {
            let value = llmc_generation {
                struct_size: size_of::<llmc_generation>(),
                n_tokens: g.tokens.len(),
                prompt_tokens: g.prompt_tokens,
                stop_reason: stop_reason(g.stop),
                prefill_seconds: g.prefill_seconds,
                decode_seconds: g.decode_seconds,
                decode_steps: g.decode_steps,
            };
            // SAFETY: checked above.
            unsafe { result.write(value) };
        }
        Ok(())
    })
}

/// Receives progress of long work (`done` of `total` units, e.g. perplexity windows) and the
/// `user_data` given with it. Return true to go on, false to cancel (`LLMC_ERR_CANCELLED`).
/// Runs on the calling thread; must not unwind through the library.
#[allow(non_camel_case_types)]
pub type llmc_progress_callback =
    Option<unsafe extern "C" fn(done: usize, total: usize, user_data: *mut c_void) -> bool>;

/// Which tokens of each perplexity window are scored.
#[allow(non_camel_case_types)]
pub type llmc_score_mode = u32;
/// The second half of each window, as llama.cpp's perplexity tool (default).
pub const LLMC_SCORE_SECOND_HALF: llmc_score_mode = 0;
/// Every token of a window but its first.
pub const LLMC_SCORE_ALL: llmc_score_mode = 1;

/// How to compute perplexity. Start from `llmc_perplexity_default_params()`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_perplexity_params {
    /// `sizeof(llmc_perplexity_params)`.
    pub struct_size: usize,
    /// Window length in tokens, at least 4 (default 512).
    pub ctx: usize,
    /// Evaluate at most this many windows, 0 = all (default).
    pub max_windows: usize,
    /// `LLMC_SCORE_SECOND_HALF` (default) or `LLMC_SCORE_ALL`.
    pub score: llmc_score_mode,
    /// `LLMC_NUMERICS_FAST` (default) or `LLMC_NUMERICS_EXACT`.
    pub numerics: llmc_numerics,
}

/// Defaults: windows of 512 tokens, all of them, second halves scored, fast numerics.
#[no_mangle]
pub extern "C" fn llmc_perplexity_default_params() -> llmc_perplexity_params {
    llmc_perplexity_params {
        struct_size: size_of::<llmc_perplexity_params>(),
        ctx: 512,
        max_windows: 0,
        score: LLMC_SCORE_SECOND_HALF,
        numerics: LLMC_NUMERICS_FAST,
    }
}

/// Perplexity of a token sequence. Set `struct_size = sizeof(llmc_perplexity_result)`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_perplexity_result {
    pub struct_size: usize,
    /// exp(nll).
    pub ppl: f64,
    /// Mean negative log-likelihood per scored token, in nats.
    pub nll: f64,
    pub tokens_scored: usize,
    pub windows: usize,
    /// windows * ctx.
    pub tokens_evaluated: usize,
}

/// Perplexity of `n` tokens over non-overlapping windows of `params->ctx` tokens, each
/// evaluated from an empty cache (`params` may be NULL for the defaults). `progress` (may be
/// NULL) is called after each window. Safe to call from several threads on one model.
#[no_mangle]
pub unsafe extern "C" fn llmc_perplexity(
    model: *const llmc_model,
    tokens: *const llmc_token,
    n: usize,
    params: *const llmc_perplexity_params,
    progress: llmc_progress_callback,
    user_data: *mut c_void,
    result: *mut llmc_perplexity_result,
) -> llmc_status {
    guard("llmc_perplexity", || {
        // SAFETY: caller passes a live model, `n` ids, optional params, a result struct.
        let m = unsafe { arg_ref(model, "model")? };
        let tokens = unsafe { arg_slice(tokens, n, "tokens")? };
        let p = unsafe { read_params(params, llmc_perplexity_default_params(), "params")? };
        let result = unsafe { check_result(result, "result")? };
        let score = match p.score {
            LLMC_SCORE_SECOND_HALF => ScoreMode::SecondHalf,
            LLMC_SCORE_ALL => ScoreMode::All,
            other => return Err(invalid(format!("params->score {other} (LLMC_SCORE_*)"))),
        };
        let numerics = numerics(p.numerics)?;
        let params = PerplexityParams {
            ctx: p.ctx,
            max_windows: p.max_windows,
            score,
            numerics,
            kv_type: KvType::default_for(numerics),
        };
        let mut on_progress = |done: usize, total: usize| match progress {
            None => true,
            // SAFETY: the caller installed the callback for this call's duration.
            Some(cb) => unsafe { cb(done, total, user_data) },
        };
        let r = perplexity(&m.model, tokens, &params, &mut on_progress)?;
        let value = llmc_perplexity_result {
            struct_size: size_of::<llmc_perplexity_result>(),
            ppl: r.ppl,
            nll: r.nll,
            tokens_scored: r.tokens_scored,
            windows: r.windows,
            tokens_evaluated: r.tokens_evaluated,
        };
        // SAFETY: checked above.
        unsafe { result.write(value) };
        Ok(())
    })
}

/// Log-likelihood of `continuation` after `context` (both non-empty), in nats, into
/// `*logprob`, and into `*is_greedy` whether every continuation token is the most likely one
/// at its position (as an evaluation harness asks). Uses a fresh cache of exactly the needed
/// size; safe to call from several threads on one model.
#[no_mangle]
pub unsafe extern "C" fn llmc_loglikelihood(
    model: *const llmc_model,
    context: *const llmc_token,
    n_context: usize,
    continuation: *const llmc_token,
    n_continuation: usize,
    numerics_path: llmc_numerics,
    logprob: *mut f64,
    is_greedy: *mut bool,
) -> llmc_status {
    guard("llmc_loglikelihood", || {
        // SAFETY: caller passes a live model and the stated numbers of ids.
        let m = unsafe { arg_ref(model, "model")? };
        let context = unsafe { arg_slice(context, n_context, "context")? };
        let continuation = unsafe { arg_slice(continuation, n_continuation, "continuation")? };
        let logprob = out_ptr(logprob, "logprob")?;
        let is_greedy = out_ptr(is_greedy, "is_greedy")?;
        let ll = loglikelihood(&m.model, context, continuation, numerics(numerics_path)?)?;
        // SAFETY: both checked non-NULL; written on success only.
        unsafe {
            logprob.write(ll.logprob);
            is_greedy.write(ll.is_greedy);
        }
        Ok(())
    })
}
