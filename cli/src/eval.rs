//! `llmcore eval --model M --tasks T1,T2|SUITE`: the evaluation harness on our runtime, a
//! table of task metrics and categories, and a results file naming the model and task bytes.
//! `llmcore eval compare` ([`crate::eval_compare`]) sets results files side by side.

use crate::args::{opt, path, switch, Flag};
use crate::output::{emit, parse, usage_err, write_atomic};
use crate::progress::Progress;
use crate::sparse;
use crate::Failure;
use llmcore::evalh::report::results_json;
use llmcore::evalh::runner::{by_category, EvalSettings, TaskResult};
use llmcore::evalh::suite::{file_sha256, load_all};
use llmcore::evalh::{evaluate_all, NativeModel, Task};
use llmcore::io::json::Json;
use llmcore::model::Numerics;
use std::path::Path;
use std::time::Instant;

const FLAGS: &[Flag] = &[
    path("--model", "PATH", "GGUF model"),
    opt("--tasks", "LIST", "comma-separated task files, suite files, suite directories or suite names (e.g. exam,syneval)"),
    path("--tasks-dir", "DIR", "where suite names are looked up (default tasks)"),
    opt("--limit", "N", "evaluate the first N documents of each task"),
    opt("--fewshot", "K", "few-shot examples per question (default: each task's num_fewshot)"),
    opt("--max-length", "N", "longest input in tokens; contexts are left-truncated to it (default min(context length, 2048))"),
    path("--out", "FILE", "write the results JSON (model sha256, task hashes, settings, metrics) here"),
    switch("--samples", "include every document's requests and answers in --out"),
    opt("--bootstrap-iters", "N", "resamples for the standard errors (default 1000)"),
    switch("--exact", "use the exact f32 path instead of the quantized fast path"),
    sparse::FLAG,
];

pub fn run(argv: &[std::ffi::OsString]) -> Result<(), Failure> {
    if argv.first().is_some_and(|a| a == "compare") {
        return crate::eval_compare::run(&argv[1..]);
    }
    let p = parse(
        "eval",
        "--model M --tasks T1,T2|SUITE [--limit N] [--fewshot K] [--out results.json]",
        FLAGS,
        argv,
    )?;
    p.at_most_positional(0).map_err(usage_err)?;
    let settings = EvalSettings {
        limit: p
            .str("--limit")
            .map(|_| p.num("--limit", 0usize))
            .transpose()
            .map_err(usage_err)?,
        num_fewshot: p
            .str("--fewshot")
            .map(|_| p.num("--fewshot", 0usize))
            .transpose()
            .map_err(usage_err)?,
        bootstrap_iters: p.num("--bootstrap-iters", 1000).map_err(usage_err)?,
        ..EvalSettings::default()
    };
    if settings.bootstrap_iters < 2 {
        return Err(usage_err("--bootstrap-iters must be at least 2".into()));
    }
    let numerics = if p.flag("--exact") {
        Numerics::Exact
    } else {
        Numerics::Fast
    };
    let list = p.required("--tasks").map_err(usage_err)?;
    let tasks_dir = p.path("--tasks-dir").unwrap_or(Path::new("tasks"));
    // Every task is read and checked before the model is touched.
    let tasks = load_all(list, tasks_dir)?;

    let model_path = p.required_path("--model").map_err(usage_err)?;
    let sparse_kind = sparse::kind(&p)?;
    let model = sparse::load(model_path, sparse_kind)?;
    let max_length = p
        .num("--max-length", model.config.context_length.min(2048))
        .map_err(usage_err)?;
    let name = model_path.file_name().map_or_else(
        || model_path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut native = NativeModel::new(model, name.clone(), numerics, max_length)?;

    let start = Instant::now();
    let mut bar = Progress::new("eval");
    let task_refs: Vec<&Task> = tasks.iter().map(|t| &t.task).collect();
    let results = evaluate_all(&mut native, &task_refs, &settings, &mut |at| {
        let label = format!(
            "{} ({}/{})",
            task_refs[at.task].spec.name,
            at.task + 1,
            at.tasks
        );
        if at.total > 0 {
            bar.update_with(at.done, at.total, &label);
        }
        true
    })?;
    let seconds = start.elapsed().as_secs_f64();
    let requests: usize = results.iter().map(|r| r.requests).sum();

    let hashes: Vec<String> = tasks.iter().map(|t| t.sha256.clone()).collect();
    let model_json = Json::object([
        ("name", Json::from(name)),
        ("path", model_path.display().to_string().into()),
        ("sha256", file_sha256(model_path)?.into()),
        (
            "numerics",
            (if p.flag("--exact") { "exact" } else { "fast" }).into(),
        ),
        ("sparse", sparse_kind.map(|k| k.to_string()).into()),
        ("max_length", Json::from(max_length as u64)),
    ]);
    if let Some(out) = p.path("--out") {
        let full = results_json(
            model_json.clone(),
            &settings,
            &results,
            &hashes,
            p.flag("--samples"),
            Some(seconds),
        );
        write_atomic(out, &format!("{full}\n"))?;
    }
    let summary = results_json(
        model_json,
        &settings,
        &results,
        &hashes,
        false,
        Some(seconds),
    );
    emit(&p, summary, || {
        table(&results, &settings, requests, seconds)
    })
}

/// The human-readable tables: one row per task metric, then one per category metric.
fn table(results: &[TaskResult], settings: &EvalSettings, requests: usize, seconds: f64) -> String {
    let width = results
        .iter()
        .map(|r| r.name.len().max(r.category.len()))
        .max()
        .unwrap_or(4)
        .max(8);
    let mut s = format!(
        "{:<width$}  {:<16}  {:>8}  {:>8}  {:>5}  {:>6}\n",
        "task", "metric", "value", "stderr", "shots", "docs"
    );
    for r in results {
        for m in &r.metrics {
            s += &format!(
                "{:<width$}  {:<16}  {:>8.4}  {:>8.4}  {:>5}  {:>6}\n",
                r.name,
                m.metric.name(),
                m.value,
                m.stderr,
                r.num_fewshot,
                r.samples.len()
            );
        }
    }
    let categories = by_category(results, settings);
    if !categories.is_empty() {
        s += &format!(
            "\n{:<width$}  {:<16}  {:>8}  {:>8}  {:>5}  {:>6}\n",
            "category", "metric", "value", "stderr", "tasks", "docs"
        );
        for c in &categories {
            s += &format!(
                "{:<width$}  {:<16}  {:>8.4}  {:>8.4}  {:>5}  {:>6}\n",
                c.category,
                c.value.metric.name(),
                c.value.value,
                c.value.stderr,
                c.tasks,
                c.docs
            );
        }
    }
    s += &format!(
        "\n{requests} requests in {seconds:.1} s ({:.1} requests/s)\n",
        requests as f64 / seconds.max(1e-9)
    );
    s
}
