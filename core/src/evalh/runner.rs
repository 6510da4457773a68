//! Running a task: documents to requests (with few-shot examples), the model's answers to
//! per-document scores, scores to metrics with bootstrap standard errors, tasks to categories.

use super::contract::{GenerateRequest, LanguageModel, LoglikelihoodRequest};
use super::metrics::{bootstrap_stderr, exact_match, lcs_f1, mean, pick, Normalize};
use super::task::{Doc, Metric, OutputType, Task};
use crate::math::exp;
use crate::model::sampling::Rng;
use crate::{Error, Result};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// How to run tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSettings {
    /// Evaluate only the first `limit` documents of each task.
    pub limit: Option<usize>,
    /// Overrides each task's `num_fewshot`.
    pub num_fewshot: Option<usize>,
    /// Resamples for the bootstrap standard errors.
    pub bootstrap_iters: usize,
    pub bootstrap_seed: u64,
}

impl Default for EvalSettings {
    fn default() -> Self {
        EvalSettings {
            limit: None,
            num_fewshot: None,
            bootstrap_iters: 1000,
            bootstrap_seed: 1234,
        }
    }
}

/// A metric's value over a task (or a category) and its bootstrap standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricValue {
    pub metric: Metric,
    pub value: f64,
    pub stderr: f64,
}

/// What happened on one document.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Line of the document in its JSONL file.
    pub line: usize,
    /// The context sent to the model (few-shot examples included).
    pub context: String,
    pub target: String,
    /// Multiple choice: the continuations scored (delimiter + choice), their log-likelihoods
    /// and whether each is greedy. Rolling: one entry, the text's log-likelihood.
    pub continuations: Vec<String>,
    pub loglikelihoods: Vec<f64>,
    pub is_greedy: Vec<bool>,
    /// Generation: the model's text; multiple choice: the choice `acc` picked.
    pub prediction: String,
    /// The per-document score of each mean metric (0/1 for accuracies; F1; for rolling
    /// metrics the document's words, bytes).
    pub scores: Vec<(Metric, f64)>,
}

/// A task's results.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskResult {
    pub name: String,
    pub category: String,
    pub num_fewshot: usize,
    pub requests: usize,
    pub metrics: Vec<MetricValue>,
    pub samples: Vec<Sample>,
}

/// The few-shot prefix and question for document `i`: `k` examples drawn without
/// replacement from the pool (the separate few-shot file, or the task's documents without
/// `i`) by a generator seeded from `(seed, i)`, so a document's context does not depend on
/// `--limit` or on the other documents; each example is `text + target_delimiter + target`,
/// examples and question joined by `fewshot_delimiter`.
pub fn build_context(task: &Task, i: usize, k: usize) -> Result<String> {
    let spec = &task.spec;
    let question = spec.doc_to_text.render(&task.docs[i], "doc_to_text")?;
    if k == 0 {
        return Ok(question);
    }
    let pool: Vec<&Doc> = match &task.fewshot_pool {
        Some(p) => p.iter().collect(),
        None => task
            .docs
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, d)| d)
            .collect(),
    };
    if k > pool.len() {
        return Err(Error::invalid(format!(
            "task {}: {k} few-shot examples asked for, but the pool holds {} documents",
            spec.name,
            pool.len()
        )));
    }
    let mut order: Vec<usize> = (0..pool.len()).collect();
    let mut rng = Rng::new(spec.fewshot_seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut out = String::new();
    for s in 0..k {
        let pick = s + (rng.next_u64() % (pool.len() - s) as u64) as usize;
        order.swap(s, pick);
        let d = pool[order[s]];
        out.push_str(&spec.doc_to_text.render(d, "doc_to_text")?);
        out.push_str(&spec.target_delimiter);
        out.push_str(&spec.target_text(d)?);
        out.push_str(&spec.fewshot_delimiter);
    }
    out.push_str(&question);
    Ok(out)
}

/// Runs `task` on `model`. `progress(done, total)` counts requests; returning `false`
/// cancels with [`Error::Cancelled`].
pub fn evaluate_task(
    model: &mut dyn LanguageModel,
    task: &Task,
    settings: &EvalSettings,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<TaskResult> {
    let spec = &task.spec;
    let n = settings
        .limit
        .map_or(task.docs.len(), |l| l.min(task.docs.len()));
    let k = settings.num_fewshot.unwrap_or(spec.num_fewshot);
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let doc = &task.docs[i];
        let context = match spec.output_type {
            OutputType::LoglikelihoodRolling => String::new(),
            _ => build_context(task, i, k)?,
        };
        let (target, continuations) = match spec.output_type {
            OutputType::MultipleChoice => {
                let choices = spec.choices(doc)?;
                let gold = spec.gold_index(doc, &choices)?;
                let conts = choices
                    .iter()
                    .map(|c| format!("{}{c}", spec.target_delimiter))
                    .collect();
                (choices[gold].clone(), conts)
            }
            OutputType::GenerateUntil => (spec.target_text(doc)?, Vec::new()),
            OutputType::LoglikelihoodRolling => (
                String::new(),
                alloc::vec![spec.doc_to_text.render(doc, "doc_to_text")?],
            ),
        };
        samples.push(Sample {
            line: doc.line,
            context,
            target,
            continuations,
            loglikelihoods: Vec::new(),
            is_greedy: Vec::new(),
            prediction: String::new(),
            scores: Vec::new(),
        });
    }
    let requests = match spec.output_type {
        OutputType::MultipleChoice => {
            let reqs: Vec<LoglikelihoodRequest> = samples
                .iter()
                .flat_map(|s| {
                    s.continuations.iter().map(|c| LoglikelihoodRequest {
                        context: s.context.clone(),
                        continuation: c.clone(),
                    })
                })
                .collect();
            let total = reqs.len();
            let answers = model.loglikelihood(&reqs, &mut |d| progress(d, total))?;
            let mut answers = answers.into_iter();
            for s in samples.iter_mut() {
                for _ in 0..s.continuations.len() {
                    let a = answers.next().ok_or_else(|| {
                        Error::invalid("the model answered fewer requests than asked")
                    })?;
                    s.loglikelihoods.push(a.logprob);
                    s.is_greedy.push(a.is_greedy);
                }
            }
            total
        }
        OutputType::GenerateUntil => {
            let reqs: Vec<GenerateRequest> = samples
                .iter()
                .map(|s| GenerateRequest {
                    context: s.context.clone(),
                    until: spec.until.clone(),
                    max_tokens: spec.max_tokens,
                })
                .collect();
            let total = reqs.len();
            let texts = model.generate_until(&reqs, &mut |d| progress(d, total))?;
            if texts.len() != total {
                return Err(Error::invalid(
                    "the model answered a different number of requests than asked",
                ));
            }
            for (s, t) in samples.iter_mut().zip(texts) {
                s.prediction = t;
            }
            total
        }
        OutputType::LoglikelihoodRolling => {
            let texts: Vec<String> = samples.iter().map(|s| s.continuations[0].clone()).collect();
            let total = texts.len();
            let lls = model.loglikelihood_rolling(&texts, &mut |d| progress(d, total))?;
            if lls.len() != total {
                return Err(Error::invalid(
                    "the model answered a different number of requests than asked",
                ));
            }
            for (s, ll) in samples.iter_mut().zip(lls) {
                s.loglikelihoods.push(ll);
            }
            total
        }
    };
    for s in samples.iter_mut() {
        score(task, s);
    }
    let metrics = spec
        .metrics
        .iter()
        .map(|&m| aggregate(m, &samples, settings))
        .collect();
    Ok(TaskResult {
        name: spec.name.clone(),
        category: spec.category.clone(),
        num_fewshot: k,
        requests,
        metrics,
        samples,
    })
}

/// Where a run over several tasks is: task `task` of `tasks`, `done` of its `total` requests
/// answered (`done` is 0 when the task starts, before any request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunProgress {
    pub task: usize,
    pub tasks: usize,
    pub done: usize,
    pub total: usize,
}

/// Runs each of `tasks` in turn ([`evaluate_task`]); `progress` returning `false` cancels
/// with [`Error::Cancelled`].
pub fn evaluate_all(
    model: &mut dyn LanguageModel,
    tasks: &[&Task],
    settings: &EvalSettings,
    progress: &mut dyn FnMut(RunProgress) -> bool,
) -> Result<Vec<TaskResult>> {
    let mut results = Vec::with_capacity(tasks.len());
    for (i, t) in tasks.iter().enumerate() {
        let mut at = RunProgress {
            task: i,
            tasks: tasks.len(),
            done: 0,
            total: 0,
        };
        if !progress(at) {
            return Err(Error::Cancelled);
        }
        results.push(evaluate_task(model, t, settings, &mut |done, total| {
            at.done = done;
            at.total = total;
            progress(at)
        })?);
    }
    Ok(results)
}

/// Fills `s.prediction` and `s.scores` from the model's answers.
fn score(task: &Task, s: &mut Sample) {
    for &m in &task.spec.metrics {
        let v = match m {
            Metric::Acc | Metric::AccNorm | Metric::AccBytes => {
                let delim = task.spec.target_delimiter.len();
                let choices: Vec<&str> = s.continuations.iter().map(|c| &c[delim..]).collect();
                let norm = match m {
                    Metric::Acc => Normalize::None,
                    Metric::AccNorm => Normalize::Chars,
                    _ => Normalize::Bytes,
                };
                let picked = pick(&s.loglikelihoods, &choices, norm);
                if m == Metric::Acc {
                    s.prediction = String::from(choices[picked]);
                }
                (choices[picked] == s.target) as u8 as f64
            }
            Metric::ExactMatch => exact_match(&s.prediction, &s.target),
            Metric::LcsF1 => lcs_f1(&s.prediction, &s.target),
            // Corpus-level: the per-document score is the document's size; the statistic
            // is formed in `aggregate`.
            Metric::WordPerplexity => s.continuations[0].split_whitespace().count() as f64,
            Metric::BytePerplexity | Metric::BitsPerByte => s.continuations[0].len() as f64,
        };
        s.scores.push((m, v));
    }
}

fn score_of(s: &Sample, m: Metric) -> f64 {
    s.scores
        .iter()
        .find(|(x, _)| *x == m)
        .map_or(0.0, |&(_, v)| v)
}

/// The task-level value of `m` over documents `idx`: a mean for the per-document metrics;
/// for the rolling ones lm-eval's weighted forms, `exp(-sum ll / sum words)` (word
/// perplexity), `exp(-sum ll / sum bytes)` and `-sum ll / (sum bytes ln 2)` (bits per byte).
fn statistic(m: Metric, samples: &[Sample], idx: &[usize]) -> f64 {
    match m {
        Metric::WordPerplexity | Metric::BytePerplexity | Metric::BitsPerByte => {
            let ll: f64 = idx.iter().map(|&i| samples[i].loglikelihoods[0]).sum();
            let size: f64 = idx.iter().map(|&i| score_of(&samples[i], m)).sum();
            match m {
                Metric::BitsPerByte => -ll / size / core::f64::consts::LN_2,
                _ => exp(-ll / size),
            }
        }
        _ => idx.iter().map(|&i| score_of(&samples[i], m)).sum::<f64>() / idx.len() as f64,
    }
}

fn aggregate(m: Metric, samples: &[Sample], settings: &EvalSettings) -> MetricValue {
    let all: Vec<usize> = (0..samples.len()).collect();
    MetricValue {
        metric: m,
        value: statistic(m, samples, &all),
        stderr: bootstrap_stderr(
            samples.len(),
            settings.bootstrap_iters,
            settings.bootstrap_seed,
            &|idx| statistic(m, samples, idx),
        ),
    }
}

/// One row of the per-category table: a per-document metric averaged over every document
/// of the category's tasks (weighted by size, as lm-eval's groups do).
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryRow {
    pub category: String,
    pub tasks: usize,
    pub docs: usize,
    pub value: MetricValue,
}

/// The per-category table of `results` (the rolling metrics, which are not means, are left
/// to their tasks).
pub fn by_category(results: &[TaskResult], settings: &EvalSettings) -> Vec<CategoryRow> {
    let mut rows = Vec::new();
    let mut categories: Vec<&str> = results.iter().map(|r| r.category.as_str()).collect();
    categories.sort_unstable();
    categories.dedup();
    for c in categories {
        let members: Vec<&TaskResult> = results.iter().filter(|r| r.category == c).collect();
        for m in Metric::ALL {
            if m.output_type() == OutputType::LoglikelihoodRolling {
                continue;
            }
            let with: Vec<&&TaskResult> = members
                .iter()
                .filter(|r| r.metrics.iter().any(|v| v.metric == m))
                .collect();
            if with.is_empty() {
                continue;
            }
            let xs: Vec<f64> = with
                .iter()
                .flat_map(|r| r.samples.iter().map(|s| score_of(s, m)))
                .collect();
            let stderr = bootstrap_stderr(
                xs.len(),
                settings.bootstrap_iters,
                settings.bootstrap_seed,
                &|idx| idx.iter().map(|&i| xs[i]).sum::<f64>() / idx.len() as f64,
            );
            rows.push(CategoryRow {
                category: String::from(c),
                tasks: with.len(),
                docs: xs.len(),
                value: MetricValue {
                    metric: m,
                    value: mean(&xs),
                    stderr,
                },
            });
        }
    }
    rows
}
