//! The model contract of lm-evaluation-harness: the three requests a task can make of a
//! language model, in text. Our runtime implements it in [`super::native`]; an engine that is
//! not ours implements it through the C ABI's callbacks.

use crate::Result;
use alloc::string::String;
use alloc::vec::Vec;

pub use crate::model::perplexity::LogLikelihood;

/// `loglikelihood(context, continuation)`: log p(continuation | context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoglikelihoodRequest {
    pub context: String,
    pub continuation: String,
}

/// `generate_until(context, until, max_tokens)`: greedy text after `context`, cut before the
/// first of the `until` strings, at most `max_tokens` tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateRequest {
    pub context: String,
    pub until: Vec<String>,
    pub max_tokens: usize,
}

/// Progress of a batch of requests: called with the number answered so far; returning
/// `false` cancels with [`crate::Error::Cancelled`].
pub type Progress<'a> = &'a mut dyn FnMut(usize) -> bool;

/// A language model as the harness sees it. Each call answers its requests in order; an
/// implementation may reorder, batch and share work between them.
pub trait LanguageModel {
    /// A name for results files (e.g. the model file's name).
    fn name(&self) -> String;

    /// log p(continuation | context) and whether the continuation is the greedy one.
    fn loglikelihood(
        &mut self,
        requests: &[LoglikelihoodRequest],
        progress: Progress<'_>,
    ) -> Result<Vec<LogLikelihood>>;

    /// The total log-likelihood of each text, scored in disjoint windows
    /// ([`super::boundary::rolling_windows`]) from an empty context.
    fn loglikelihood_rolling(
        &mut self,
        texts: &[String],
        progress: Progress<'_>,
    ) -> Result<Vec<f64>>;

    /// Greedy generations, one per request.
    fn generate_until(
        &mut self,
        requests: &[GenerateRequest],
        progress: Progress<'_>,
    ) -> Result<Vec<String>>;
}
