//! Perplexity over non-overlapping windows and log-likelihood of a continuation.
//!
//! Perplexity (as llama.cpp's `llama-perplexity` computes it): the token sequence is cut into
//! `floor(N / ctx)` non-overlapping windows of `ctx` tokens; each window is evaluated from an
//! empty cache; with [`ScoreMode::SecondHalf`] the tokens at window offsets `ctx/2 + 1 ..= ctx-1`
//! are scored (each predicted from the logits one position earlier, so every scored token has
//! at least `ctx/2` tokens of context), with [`ScoreMode::All`] offsets `1 ..= ctx-1`.
//! ppl = exp(sum of token NLL / tokens scored).

use super::forward::{LogitRows, Numerics};
use super::kv_cache::KvType;
use super::session::Session;
use super::Model;
use crate::math::exp;
use crate::{Error, Result};
use alloc::format;
use alloc::sync::Arc;

/// Which tokens of each window are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScoreMode {
    /// The second half (llama.cpp's perplexity tool).
    #[default]
    SecondHalf,
    /// Every token but the window's first.
    All,
}

/// Perplexity settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerplexityParams {
    /// Window length in tokens.
    pub ctx: usize,
    /// Evaluate at most this many windows (0 = all).
    pub max_windows: usize,
    pub score: ScoreMode,
    pub numerics: Numerics,
    /// What the KV cache stores ([`KvType::default_for`] the numeric path, unless chosen).
    pub kv_type: KvType,
}

/// The result of [`perplexity`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerplexityResult {
    pub ppl: f64,
    /// Mean negative log-likelihood per scored token (nats).
    pub nll: f64,
    pub tokens_scored: usize,
    pub windows: usize,
    /// Tokens evaluated (windows * ctx).
    pub tokens_evaluated: usize,
}

/// -log softmax(logits)[target], in f64.
pub fn token_nll(logits: &[f32], target: usize) -> f64 {
    crate::kernels::loss::log_sum_exp(logits) - logits[target] as f64
}

/// Perplexity of `tokens`. `progress(done, total)` is called after each window; returning
/// `false` cancels with [`Error::Cancelled`].
pub fn perplexity(
    model: &Arc<Model>,
    tokens: &[u32],
    params: &PerplexityParams,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<PerplexityResult> {
    let ctx = params.ctx;
    if ctx < 4 {
        return Err(Error::invalid(format!(
            "perplexity window of {ctx} tokens: need at least 4"
        )));
    }
    let mut windows = tokens.len() / ctx;
    if params.max_windows > 0 {
        windows = windows.min(params.max_windows);
    }
    if windows == 0 {
        return Err(Error::invalid(format!(
            "{} tokens is less than one window of {ctx}",
            tokens.len()
        )));
    }
    let first = match params.score {
        ScoreMode::SecondHalf => ctx / 2,
        ScoreMode::All => 0,
    };
    let vocab = model.config.vocab_size;
    let mut session = Session::with_kv_type(model.clone(), ctx, params.numerics, params.kv_type)?;
    let (mut nll_sum, mut scored) = (0.0f64, 0usize);
    for w in 0..windows {
        let win = &tokens[w * ctx..(w + 1) * ctx];
        session.clear();
        let rows: alloc::vec::Vec<usize> = (first..ctx - 1).collect();
        let logits = session.eval(win, LogitRows::Some(&rows))?;
        for (i, &pos) in rows.iter().enumerate() {
            nll_sum += token_nll(&logits[i * vocab..(i + 1) * vocab], win[pos + 1] as usize);
        }
        scored += rows.len();
        if !progress(w + 1, windows) {
            return Err(Error::Cancelled);
        }
    }
    let nll = nll_sum / scored as f64;
    Ok(PerplexityResult {
        ppl: exp(nll),
        nll,
        tokens_scored: scored,
        windows,
        tokens_evaluated: windows * ctx,
    })
}

/// Log-likelihood of a continuation, as an evaluation harness asks for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogLikelihood {
    /// sum_i log p(continuation_i | context, continuation_<i), nats.
    pub logprob: f64,
    /// Whether every continuation token is the argmax at its position.
    pub is_greedy: bool,
}

/// log p(continuation | context) with a fresh cache of exactly the needed size.
pub fn loglikelihood(
    model: &Arc<Model>,
    context: &[u32],
    continuation: &[u32],
    numerics: Numerics,
) -> Result<LogLikelihood> {
    if context.is_empty() || continuation.is_empty() {
        return Err(Error::invalid(
            "log-likelihood needs a non-empty context and continuation",
        ));
    }
    let n = context.len() + continuation.len();
    let mut session = Session::new(model.clone(), n, numerics)?;
    let all: alloc::vec::Vec<u32> = context.iter().chain(continuation).copied().collect();
    let rows: alloc::vec::Vec<usize> = (context.len() - 1..n - 1).collect();
    let logits = session.eval(&all, LogitRows::Some(&rows))?;
    let vocab = model.config.vocab_size;
    let mut out = LogLikelihood {
        logprob: 0.0,
        is_greedy: true,
    };
    for (i, &target) in continuation.iter().enumerate() {
        let row = &logits[i * vocab..(i + 1) * vocab];
        out.logprob -= token_nll(row, target as usize);
        out.is_greedy &= super::sampling::argmax(row) == target as usize;
    }
    Ok(out)
}
