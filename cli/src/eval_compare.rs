//! `llmcore eval compare --results A.json,B.json`: one metric of several results files side by
//! side (e.g. a pruned model against its dense original), per category or per task, as a
//! table and optionally a grouped bar chart with standard-error whiskers.

use crate::args::{opt, path, Flag};
use crate::output::{emit, parse, usage_err, write_atomic};
use crate::plot::{bar_chart, Bars};
use crate::Failure;
use llmcore::io::json::{self, Json};
use std::path::Path;

const FLAGS: &[Flag] = &[
    opt(
        "--results",
        "LIST",
        "comma-separated results files written by `llmcore eval --out`",
    ),
    opt(
        "--labels",
        "LIST",
        "a name per results file (default: each file's model name)",
    ),
    opt("--metric", "NAME", "the metric to compare (default acc)"),
    opt(
        "--by",
        "category|task",
        "one row per category (default) or per task",
    ),
    path("--plot", "FILE.svg", "write a grouped bar chart here"),
];

/// (row name, value, stderr) of `metric` in one results object.
fn rows(results: &Json, metric: &str, by_task: bool) -> Vec<(String, f64, f64)> {
    let num = |j: &Json, k: &str| j.get(k).and_then(Json::as_f64).unwrap_or(f64::NAN);
    let list = |k: &str| results.get(k).and_then(Json::as_array).unwrap_or(&[]);
    if by_task {
        list("tasks")
            .iter()
            .filter_map(|t| {
                let m = t.get("metrics")?.get(metric)?;
                Some((
                    t.get("name")?.as_str()?.to_string(),
                    num(m, "value"),
                    num(m, "stderr"),
                ))
            })
            .collect()
    } else {
        list("categories")
            .iter()
            .filter(|c| c.get("metric").and_then(Json::as_str) == Some(metric))
            .filter_map(|c| {
                let name = c.get("category")?.as_str()?.to_string();
                Some((name, num(c, "value"), num(c, "stderr")))
            })
            .collect()
    }
}

pub fn run(argv: &[std::ffi::OsString]) -> Result<(), Failure> {
    let p = parse(
        "eval compare",
        "--results A.json,B.json [--labels a,b] [--metric acc] [--by category|task] [--plot F.svg]",
        FLAGS,
        argv,
    )?;
    p.at_most_positional(0).map_err(usage_err)?;
    let files: Vec<&str> = p
        .required("--results")
        .map_err(usage_err)?
        .split(',')
        .filter(|s| !s.is_empty())
        .collect();
    let metric = p.str("--metric").unwrap_or("acc");
    let by_task = match p.str("--by").unwrap_or("category") {
        "category" => false,
        "task" => true,
        other => {
            return Err(usage_err(format!(
                "--by must be category or task, got '{other}'"
            )))
        }
    };
    let mut labels: Vec<String> = match p.str("--labels") {
        Some(l) => l.split(',').map(String::from).collect(),
        None => Vec::new(),
    };
    if !labels.is_empty() && labels.len() != files.len() {
        return Err(usage_err(format!(
            "--labels names {} results, --results lists {}",
            labels.len(),
            files.len()
        )));
    }
    let mut per_file = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        let text = std::fs::read_to_string(f).map_err(|e| Failure::Run(format!("{f}: {e}")))?;
        let j = json::parse(&text).map_err(|e| Failure::Run(format!("{f}: {e}")))?;
        if j.get("tasks").and_then(Json::as_array).is_none() {
            return Err(Failure::Run(format!(
                "{f}: not a results file of `llmcore eval --out`"
            )));
        }
        if labels.len() <= i {
            let name = j
                .get("model")
                .and_then(|m| m.get("name"))
                .and_then(Json::as_str);
            labels.push(name.map_or_else(|| f.to_string(), String::from));
        }
        let r = rows(&j, metric, by_task);
        if r.is_empty() {
            return Err(Failure::Run(format!(
                "{f}: no {metric} {}",
                if by_task {
                    "in any task"
                } else {
                    "in any category"
                }
            )));
        }
        per_file.push(r);
    }
    // Rows in first-seen order across the files.
    let mut groups: Vec<String> = Vec::new();
    for r in &per_file {
        for (g, _, _) in r {
            if !groups.contains(g) {
                groups.push(g.clone());
            }
        }
    }
    let cell = |f: usize, g: &str| {
        per_file[f]
            .iter()
            .find(|(n, _, _)| n == g)
            .map(|&(_, v, e)| (v, e))
    };
    if let Some(svg_path) = p.path("--plot") {
        let series: Vec<Bars> = labels
            .iter()
            .enumerate()
            .map(|(f, name)| Bars {
                name,
                values: groups.iter().map(|g| cell(f, g)).collect(),
            })
            .collect();
        let names: Vec<&str> = groups.iter().map(String::as_str).collect();
        let what = if by_task { "task" } else { "category" };
        let svg = bar_chart(
            &format!("{metric} by {what}"),
            what,
            metric,
            &names,
            &series,
        );
        write_atomic(Path::new(svg_path), &svg)?;
    }
    let json = Json::object([
        ("metric", Json::from(metric)),
        ("labels", labels.clone().into()),
        (
            "rows",
            Json::Array(
                groups
                    .iter()
                    .map(|g| {
                        let cells = (0..files.len()).map(|f| match cell(f, g) {
                            Some((v, e)) => {
                                Json::object([("value", Json::from(v)), ("stderr", Json::from(e))])
                            }
                            None => Json::Null,
                        });
                        Json::object([
                            ("name", Json::from(g.clone())),
                            ("values", Json::Array(cells.collect())),
                        ])
                    })
                    .collect(),
            ),
        ),
    ]);
    emit(&p, json, || {
        let w = groups.iter().map(String::len).max().unwrap_or(4).max(8);
        let mut s = format!("{:<w$}", metric);
        for l in &labels {
            s += &format!("  {l:>20}");
        }
        s.push('\n');
        for g in &groups {
            s += &format!("{g:<w$}");
            for f in 0..files.len() {
                s += &match cell(f, g) {
                    Some((v, e)) => format!("  {:>20}", format!("{v:.4} ± {e:.4}")),
                    None => format!("  {:>20}", "-"),
                };
            }
            s.push('\n');
        }
        s
    })
}
