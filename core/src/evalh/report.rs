//! Results as JSON: what was run (model, settings, each task's hash), each task's metrics and
//! the per-category table, optionally every document's requests and answers. The CLI's
//! `--out` file and the C ABI's result string are this object.

use super::runner::{by_category, EvalSettings, Sample, TaskResult};
use crate::io::json::Json;
use alloc::string::String;
use alloc::vec::Vec;

fn sample_json(s: &Sample) -> Json {
    Json::object([
        ("line", Json::from(s.line as u64)),
        ("context", s.context.clone().into()),
        ("target", s.target.clone().into()),
        ("continuations", s.continuations.clone().into()),
        ("loglikelihoods", s.loglikelihoods.clone().into()),
        ("is_greedy", s.is_greedy.clone().into()),
        ("prediction", s.prediction.clone().into()),
        (
            "scores",
            Json::object(s.scores.iter().map(|&(m, v)| (m.name(), Json::from(v)))),
        ),
    ])
}

/// The results object. `model` describes the model (e.g. name, path, sha256, numerics);
/// `task_sha256[i]` is the hash of `results[i]`'s task files; `samples` adds every document;
/// `seconds`, the run's wall time, adds it with the requests and requests per second.
pub fn results_json(
    model: Json,
    settings: &EvalSettings,
    results: &[TaskResult],
    task_sha256: &[String],
    samples: bool,
    seconds: Option<f64>,
) -> Json {
    let tasks: Vec<Json> = results
        .iter()
        .zip(task_sha256)
        .map(|(r, h)| {
            let mut members = alloc::vec![
                ("name", Json::from(r.name.clone())),
                ("category", r.category.clone().into()),
                ("sha256", h.clone().into()),
                ("num_fewshot", Json::from(r.num_fewshot as u64)),
                ("docs", Json::from(r.samples.len() as u64)),
                ("requests", Json::from(r.requests as u64)),
                (
                    "metrics",
                    Json::object(r.metrics.iter().map(|m| {
                        (
                            m.metric.name(),
                            Json::object([
                                ("value", Json::from(m.value)),
                                ("stderr", Json::from(m.stderr)),
                            ]),
                        )
                    })),
                ),
            ];
            if samples {
                members.push((
                    "samples",
                    Json::Array(r.samples.iter().map(sample_json).collect()),
                ));
            }
            Json::object(members)
        })
        .collect();
    let categories: Vec<Json> = by_category(results, settings)
        .iter()
        .map(|c| {
            Json::object([
                ("category", Json::from(c.category.clone())),
                ("metric", c.value.metric.name().into()),
                ("tasks", Json::from(c.tasks as u64)),
                ("docs", Json::from(c.docs as u64)),
                ("value", Json::from(c.value.value)),
                ("stderr", Json::from(c.value.stderr)),
            ])
        })
        .collect();
    let requests: usize = results.iter().map(|r| r.requests).sum();
    let mut members = alloc::vec![
        ("model", model),
        (
            "settings",
            Json::object([
                ("limit", settings.limit.map(|l| l as u64).into()),
                ("num_fewshot", settings.num_fewshot.map(|k| k as u64).into()),
                (
                    "bootstrap_iters",
                    Json::from(settings.bootstrap_iters as u64),
                ),
                ("bootstrap_seed", Json::from(settings.bootstrap_seed)),
            ]),
        ),
        ("tasks", Json::Array(tasks)),
        ("categories", Json::Array(categories)),
    ];
    if let Some(secs) = seconds {
        members.extend([
            ("seconds", Json::from(secs)),
            ("requests", Json::from(requests as u64)),
            (
                "requests_per_s",
                Json::from(requests as f64 / secs.max(1e-9)),
            ),
        ]);
    }
    Json::object(members)
}
