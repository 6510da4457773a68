//! Text generation: prefill the prompt, then decode one token at a time with a [`Sampler`],
//! streaming text to a callback until EOS, a stop string, the token limit or a full context.

use super::forward::LogitRows;
use super::sampling::{
    out_of_range, validate_logit_bias, LogitBias, Sampler, SamplerParams, Setting,
};
use super::session::Session;
use crate::tokenizer::StreamDecoder;
use crate::Result;
use alloc::string::String;
use alloc::vec::Vec;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateParams {
    pub max_tokens: usize,
    pub sampler: SamplerParams,
    /// Added to the logits before the sampler's other steps ([`Sampler::distribution`]).
    pub logit_bias: Vec<LogitBias>,
    /// Generation stops before any of these strings; they are not part of the output.
    pub stop: Vec<String>,
}

impl Default for GenerateParams {
    fn default() -> Self {
        GenerateParams {
            max_tokens: 128,
            sampler: SamplerParams::default(),
            logit_bias: Vec::new(),
            stop: Vec::new(),
        }
    }
}

impl GenerateParams {
    /// [`GenerateParams::validate_named`] with the Rust field names.
    pub fn validate(&self) -> Result<()> {
        self.validate_named(&Setting::field_name)
    }

    /// [`GenerateParams::validate_named`], and the logit bias against a vocabulary of
    /// `vocab_size` tokens ([`validate_logit_bias`]).
    pub fn validate_for(&self, vocab_size: usize, name: &dyn Fn(Setting) -> String) -> Result<()> {
        self.validate_named(name)?;
        validate_logit_bias(&self.logit_bias, vocab_size, name)
    }

    /// Checks the sampler's ranges ([`SamplerParams::validate_named`]) and that no stop string
    /// is empty (an empty string would stop before every token); the error names the first bad
    /// setting as `name` spells it.
    pub fn validate_named(&self, name: &dyn Fn(Setting) -> String) -> Result<()> {
        self.sampler.validate_named(name)?;
        match self.stop.iter().position(|s| s.is_empty()) {
            Some(i) => Err(out_of_range(
                name(Setting::Stop(i)),
                "\"\"",
                "a non-empty string",
            )),
            None => Ok(()),
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The model produced an end-of-generation token (its EOS, `<|im_end|>`, `<|endoftext|>`,
    /// ...: [`crate::tokenizer::Tokenizer::is_eog`]).
    Eos,
    /// A stop string appeared.
    StopString,
    /// `max_tokens` were generated.
    MaxTokens,
    /// The streaming callback returned `false`.
    Callback,
    /// The session's context is full.
    ContextFull,
}

impl StopReason {
    pub fn name(self) -> &'static str {
        match self {
            StopReason::Eos => "eos",
            StopReason::StopString => "stop_string",
            StopReason::MaxTokens => "max_tokens",
            StopReason::Callback => "callback",
            StopReason::ContextFull => "context_full",
        }
    }
}

/// The result of [`generate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// Generated token ids (without the prompt; with the end-of-generation token if one ended
    /// it).
    pub tokens: Vec<u32>,
    /// Generated text (without a stop string or EOS text).
    pub text: String,
    pub stop: StopReason,
    pub prompt_tokens: usize,
    /// Wall time of the prompt's forward pass (0 without `std`).
    pub prefill_seconds: f64,
    /// Wall time of the single-token forward passes (0 without `std`).
    pub decode_seconds: f64,
    /// Number of single-token forward passes.
    pub decode_steps: usize,
}

impl Generation {
    /// Prompt tokens per second of the prefill; `None` when no prefill ran (or took no
    /// measurable time, as without `std`).
    pub fn prefill_tokens_per_s(&self) -> Option<f64> {
        rate(self.prompt_tokens, self.prefill_seconds)
    }

    /// Single-token forward passes per second; `None` when there were none.
    pub fn decode_tokens_per_s(&self) -> Option<f64> {
        rate(self.decode_steps, self.decode_seconds)
    }
}

/// `count / seconds`, or `None` for an empty or zero-length interval (no rate to speak of).
fn rate(count: usize, seconds: f64) -> Option<f64> {
    (count > 0 && seconds > 0.0).then(|| count as f64 / seconds)
}

/// Holds back streamed text that could still turn into a stop string.
struct StopFilter<'a> {
    stops: &'a [String],
    pending: String,
}

impl StopFilter<'_> {
    /// Adds text; returns (text safe to emit, whether a stop string was reached).
    fn push(&mut self, text: &str) -> (String, bool) {
        self.pending.push_str(text);
        if let Some(at) = self
            .stops
            .iter()
            .filter_map(|s| self.pending.find(s.as_str()))
            .min()
        {
            let out = String::from(&self.pending[..at]);
            self.pending.clear();
            return (out, true);
        }
        // Keep the longest suffix that is a prefix of some stop string.
        let mut keep = 0;
        for s in self.stops {
            for (i, _) in self.pending.char_indices() {
                let tail = &self.pending[i..];
                if s.starts_with(tail) {
                    keep = keep.max(tail.len());
                    break;
                }
            }
        }
        let cut = self.pending.len() - keep;
        let out = String::from(&self.pending[..cut]);
        self.pending.drain(..cut);
        (out, false)
    }
}

/// Monotonic seconds since an arbitrary origin (0 without `std`).
pub(crate) fn now() -> f64 {
    #[cfg(feature = "std")]
    {
        use std::sync::OnceLock;
        static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
        ORIGIN
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_secs_f64()
    }
    #[cfg(not(feature = "std"))]
    0.0
}

/// Turns chosen tokens into a [`Generation`] and streamed text, deciding when generation ends
/// (EOS, a stop string, the callback, `max_tokens`) the same way for every decoder: plain
/// [`generate`] and speculative decoding ([`crate::spec`]) emit through it.
pub(crate) struct Emitter<'a> {
    tok: &'a crate::tokenizer::Tokenizer,
    max_tokens: usize,
    decoder: StreamDecoder,
    filter: StopFilter<'a>,
    on_text: &'a mut dyn FnMut(&str) -> bool,
    pub out: Generation,
}

impl<'a> Emitter<'a> {
    pub fn new(
        tok: &'a crate::tokenizer::Tokenizer,
        prompt_tokens: usize,
        params: &'a GenerateParams,
        on_text: &'a mut dyn FnMut(&str) -> bool,
    ) -> Self {
        Emitter {
            tok,
            max_tokens: params.max_tokens,
            decoder: StreamDecoder::new(),
            filter: StopFilter {
                stops: &params.stop,
                pending: String::new(),
            },
            on_text,
            out: Generation {
                tokens: Vec::new(),
                text: String::new(),
                stop: StopReason::MaxTokens,
                prompt_tokens,
                prefill_seconds: 0.0,
                decode_seconds: 0.0,
                decode_steps: 0,
            },
        }
    }

    /// Emits the chosen token `next`; `Some(reason)` when generation ends with it.
    pub fn emit(&mut self, next: u32) -> Result<Option<StopReason>> {
        let out = &mut self.out;
        out.tokens.push(next);
        if self.tok.is_eog(next) {
            return Ok(Some(StopReason::Eos));
        }
        let (text, stopped) = self.filter.push(&self.decoder.push(self.tok, next)?);
        out.text.push_str(&text);
        if stopped {
            return Ok(Some(StopReason::StopString));
        }
        if !text.is_empty() && !(self.on_text)(&text) {
            return Ok(Some(StopReason::Callback));
        }
        Ok((out.tokens.len() >= self.max_tokens).then_some(StopReason::MaxTokens))
    }

    /// Ends generation for `stop`: text still held back (an incomplete UTF-8 sequence or a
    /// possible stop-string prefix) is flushed unless a stop string or the callback ended it.
    pub fn finish(mut self, stop: StopReason) -> Generation {
        self.out.stop = stop;
        if matches!(
            stop,
            StopReason::MaxTokens | StopReason::ContextFull | StopReason::Eos
        ) {
            let (rest, _) = self.filter.push(&self.decoder.finish());
            let tail = rest + &self.filter.pending;
            if !tail.is_empty() {
                (self.on_text)(&tail);
            }
            self.out.text.push_str(&tail);
        }
        self.out
    }
}

/// Generates after `prompt` (appended to whatever `session` already holds). `on_text` receives
/// each piece of new text as soon as it is complete UTF-8 and clear of stop strings; returning
/// `false` stops generation. Settings out of range ([`GenerateParams::validate_for`] the
/// model's vocabulary) are refused before any work.
pub fn generate(
    session: &mut Session,
    prompt: &[u32],
    params: &GenerateParams,
    on_text: &mut dyn FnMut(&str) -> bool,
) -> Result<Generation> {
    let model = session.model().clone();
    params.validate_for(model.config.vocab_size, &Setting::field_name)?;
    let mut sampler = Sampler::with_logit_bias(params.sampler, &params.logit_bias);
    let mut history: Vec<u32> = prompt.to_vec();
    let mut emitter = Emitter::new(model.tokenizer(), prompt.len(), params, on_text);
    if params.max_tokens == 0 {
        return Ok(emitter.out);
    }
    let t0 = now();
    let mut logits = session.eval(prompt, LogitRows::Last)?;
    emitter.out.prefill_seconds = now() - t0;
    let stop = loop {
        let next = sampler.sample(&mut logits, &history);
        history.push(next);
        if let Some(stop) = emitter.emit(next)? {
            break stop;
        }
        if session.len() >= session.capacity() {
            break StopReason::ContextFull;
        }
        let t = now();
        logits = session.eval(&[next], LogitRows::Last)?;
        emitter.out.decode_seconds += now() - t;
        emitter.out.decode_steps += 1;
    };
    Ok(emitter.finish(stop))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn an_empty_stop_string_is_refused_by_its_index() {
        let p = GenerateParams {
            stop: alloc::vec!["x".to_string(), String::new()],
            ..Default::default()
        };
        let expected = "stop[1] must be a non-empty string, got \"\"";
        assert_eq!(p.validate(), Err(crate::Error::invalid(expected)));
        let bad_sampler = GenerateParams {
            sampler: SamplerParams {
                temperature: -1.0,
                ..Default::default()
            },
            ..p
        };
        let e = bad_sampler.validate().unwrap_err().to_string();
        assert!(e.contains("temperature") && !e.contains("stop"), "{e}");
    }

    #[test]
    fn no_rate_from_an_empty_interval() {
        assert_eq!(rate(0, 0.0), None);
        assert_eq!(rate(5, 0.0), None);
        assert_eq!(rate(0, 1.0), None);
        assert_eq!(rate(6, 2.0), Some(3.0));
    }

    #[test]
    fn stop_filter_holds_back_possible_stop_prefixes() {
        let stops = ["</s>".to_string()];
        let mut f = StopFilter {
            stops: &stops,
            pending: String::new(),
        };
        assert_eq!(f.push("Hello <"), ("Hello ".to_string(), false));
        assert_eq!(f.push("/"), (String::new(), false));
        assert_eq!(f.push("x"), ("</x".to_string(), false));
        assert_eq!(f.push(" ok </s> more"), (" ok ".to_string(), true));
    }
}
