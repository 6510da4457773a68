//! The harness contract on our own runtime. Requests are tokenized at the boundary as
//! lm-eval does ([`super::boundary`]); the requests that share a context (the choices of one
//! question) are scored in a single forward pass that evaluates the context once: every
//! continuation is a branch after it, seeing the context and its own earlier tokens
//! (a [`Mask::Rows`] tree mask at the positions it would have alone), so the scores equal
//! separate evaluation while the shared prefix is computed once.

use super::boundary::{encode_pair, rolling_windows, TokenPair};
use super::contract::{
    GenerateRequest, LanguageModel, LogLikelihood, LoglikelihoodRequest, Progress,
};
use crate::kernels::attention::VisibleSlots;
use crate::model::generate::{generate, GenerateParams};
use crate::model::perplexity::token_nll;
use crate::model::sampling::argmax;
use crate::model::{Batch, LogitRows, Mask, Model, Numerics, Session};
use crate::{Error, Result};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Our runtime as a [`LanguageModel`].
pub struct NativeModel {
    model: Arc<Model>,
    name: String,
    numerics: Numerics,
    max_length: usize,
}

impl NativeModel {
    /// `max_length` is the longest input evaluated at once (lm-eval's `max_length`); the
    /// model's trained context length is the natural choice.
    pub fn new(
        model: Arc<Model>,
        name: String,
        numerics: Numerics,
        max_length: usize,
    ) -> Result<Self> {
        if max_length < 2 || max_length > model.config.context_length {
            return Err(Error::invalid(alloc::format!(
                "max_length {max_length} must be in 2..={} (the model's context length)",
                model.config.context_length
            )));
        }
        Ok(NativeModel {
            model,
            name,
            numerics,
            max_length,
        })
    }

    /// The token that stands for an empty context: BOS, or EOS where the model has no BOS
    /// (lm-eval's `prefix_token_id`).
    pub fn prefix_token(&self) -> Result<u32> {
        let t = self.model.tokenizer();
        t.bos().or(t.eos()).ok_or_else(|| {
            Error::invalid("the tokenizer has neither BOS nor EOS to stand for an empty context")
        })
    }

    /// The token-level requests of `requests`, tokenized at the boundary and truncated.
    pub fn encode(&self, requests: &[LoglikelihoodRequest]) -> Result<Vec<TokenPair>> {
        let prefix = self.prefix_token()?;
        requests
            .iter()
            .map(|r| {
                let mut p =
                    encode_pair(self.model.tokenizer(), &r.context, &r.continuation, prefix)?;
                p.truncate_left(self.max_length)?;
                Ok(p)
            })
            .collect()
    }

    /// Scores token-level requests, one forward pass per distinct context.
    pub fn score_tokens(
        &self,
        pairs: &[TokenPair],
        progress: Progress<'_>,
    ) -> Result<Vec<LogLikelihood>> {
        let mut groups: BTreeMap<&[u32], Vec<usize>> = BTreeMap::new();
        for (i, p) in pairs.iter().enumerate() {
            groups.entry(&p.context[..]).or_default().push(i);
        }
        let need = |ctx: &[u32], members: &[usize]| {
            ctx.len()
                + members
                    .iter()
                    .map(|&i| pairs[i].continuation.len() - 1)
                    .sum::<usize>()
        };
        let capacity = groups.iter().map(|(c, m)| need(c, m)).max().unwrap_or(0);
        let mut out = alloc::vec![LogLikelihood { logprob: 0.0, is_greedy: false }; pairs.len()];
        if capacity == 0 {
            return Ok(out);
        }
        let mut session = Session::new(self.model.clone(), capacity, self.numerics)?;
        let mut done = 0;
        for (context, members) in groups {
            session.clear();
            let conts: Vec<&[u32]> = members
                .iter()
                .map(|&i| &pairs[i].continuation[..])
                .collect();
            let scores = score_shared_context(&mut session, context, &conts)?;
            for (&i, s) in members.iter().zip(scores) {
                out[i] = s;
            }
            done += members.len();
            if !progress(done) {
                return Err(Error::Cancelled);
            }
        }
        Ok(out)
    }
}

/// log p(c | context) for each continuation `c` in one forward pass from an empty `session`:
/// batch rows are the context (causal) then each continuation but its last token, at
/// positions `context.len() + j`, seeing the context and the continuation's own tokens up to
/// itself. Logits are taken at the context's last row (shared by every first token) and at
/// each continuation row.
pub fn score_shared_context(
    session: &mut Session,
    context: &[u32],
    continuations: &[&[u32]],
) -> Result<Vec<LogLikelihood>> {
    let n = context.len();
    if n == 0 || continuations.iter().any(|c| c.is_empty()) {
        return Err(Error::invalid(
            "log-likelihood needs a non-empty context and continuation",
        ));
    }
    let mut tokens = context.to_vec();
    let mut positions: Vec<u32> = (0..n as u32).collect();
    let mut starts = Vec::with_capacity(continuations.len());
    for c in continuations {
        starts.push(tokens.len());
        tokens.extend_from_slice(&c[..c.len() - 1]);
        positions.extend((0..c.len() as u32 - 1).map(|j| n as u32 + j));
    }
    let slots: Vec<u32> = (0..tokens.len() as u32).collect();
    let mut visible: Vec<VisibleSlots<'_>> = (0..n)
        .map(|i| VisibleSlots {
            prefix: i + 1,
            extra: &[],
        })
        .collect();
    for (c, &start) in continuations.iter().zip(&starts) {
        for j in 0..c.len() - 1 {
            visible.push(VisibleSlots {
                prefix: n,
                extra: &slots[start..start + j + 1],
            });
        }
    }
    let rows: Vec<usize> = core::iter::once(n - 1).chain(n..tokens.len()).collect();
    let batch = Batch {
        tokens: &tokens,
        positions: &positions,
        mask: Mask::Rows(&visible),
    };
    let logits = session.eval_batch(&batch, LogitRows::Some(&rows))?;
    let vocab = session.model().config.vocab_size;
    let row = |r: usize| &logits[r * vocab..(r + 1) * vocab];
    Ok(continuations
        .iter()
        .zip(&starts)
        .map(|(c, &start)| {
            let mut s = LogLikelihood {
                logprob: 0.0,
                is_greedy: true,
            };
            for (j, &target) in c.iter().enumerate() {
                // Logit row 0 is the context's last token; batch row b is logit row b - n + 1.
                let l = if j == 0 {
                    row(0)
                } else {
                    row(start + j - 1 - n + 1)
                };
                s.logprob -= token_nll(l, target as usize);
                s.is_greedy &= argmax(l) == target as usize;
            }
            s
        })
        .collect())
}

impl LanguageModel for NativeModel {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn loglikelihood(
        &mut self,
        requests: &[LoglikelihoodRequest],
        progress: Progress<'_>,
    ) -> Result<Vec<LogLikelihood>> {
        let pairs = self.encode(requests)?;
        self.score_tokens(&pairs, progress)
    }

    fn loglikelihood_rolling(
        &mut self,
        texts: &[String],
        progress: Progress<'_>,
    ) -> Result<Vec<f64>> {
        let prefix = self.prefix_token()?;
        let mut out = Vec::with_capacity(texts.len());
        for (i, text) in texts.iter().enumerate() {
            let tokens = self.model.tokenizer().encode(text, false)?;
            let windows = rolling_windows(&tokens, prefix, self.max_length)?;
            let scores = self.score_tokens(&windows, &mut |_| true)?;
            out.push(scores.iter().map(|s| s.logprob).sum());
            if !progress(i + 1) {
                return Err(Error::Cancelled);
            }
        }
        Ok(out)
    }

    fn generate_until(
        &mut self,
        requests: &[GenerateRequest],
        progress: Progress<'_>,
    ) -> Result<Vec<String>> {
        let mut out = Vec::with_capacity(requests.len());
        for (i, r) in requests.iter().enumerate() {
            if r.max_tokens == 0 || r.max_tokens >= self.max_length {
                return Err(Error::invalid(alloc::format!(
                    "generate_until max_tokens {} must be in 1..{} (max_length)",
                    r.max_tokens,
                    self.max_length
                )));
            }
            let mut prompt = self.model.tokenizer().encode(&r.context, false)?;
            // lm-eval keeps the newest max_length - max_tokens context tokens.
            let keep = self.max_length - r.max_tokens;
            if prompt.len() > keep {
                prompt.drain(..prompt.len() - keep);
            }
            if prompt.is_empty() {
                prompt.push(self.prefix_token()?);
            }
            let mut session = Session::new(
                self.model.clone(),
                prompt.len() + r.max_tokens,
                self.numerics,
            )?;
            let params = GenerateParams {
                max_tokens: r.max_tokens,
                stop: r.until.clone(),
                ..Default::default()
            };
            let g = generate(&mut session, &prompt, &params, &mut |_| true)?;
            out.push(g.text);
            if !progress(i + 1) {
                return Err(Error::Cancelled);
            }
        }
        Ok(out)
    }
}
