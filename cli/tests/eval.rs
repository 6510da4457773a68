//! `llmcore eval` end to end on the real SmolLM2: the tables and the results file (model and
//! task hashes, settings, metrics, samples), the committed suites, and each bad input as one
//! clear error naming what is wrong.

mod common;

use common::{json, llmcore, model};
use llmcore::io::json::{parse, Json};
use llmcore::io::sha256::sha256_hex;
use std::path::{Path, PathBuf};

const CAPITALS: &str = r#"{"name": "capitals", "category": "knowledge", "docs": "capitals.jsonl",
  "output_type": "multiple_choice", "doc_to_text": "Question: What is the capital of {{country}}?\nAnswer:",
  "doc_to_choice": "{{choices}}", "doc_to_target": "{{answer}}", "metrics": ["acc", "acc_norm"]}"#;
const DOCS: &str = r#"{"country": "France", "choices": ["Paris", "Lyon", "Berlin"], "answer": 0}
{"country": "Germany", "choices": ["Paris", "Berlin", "Munich"], "answer": 1}
{"country": "Italy", "choices": ["Rome", "Milan", "Madrid"], "answer": 0}
"#;

/// A scratch directory holding `files`, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str, files: &[(&str, &str)]) -> Scratch {
        let d = std::env::temp_dir().join(format!("llmcore-eval-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        for (name, text) in files {
            std::fs::write(d.join(name), text).unwrap();
        }
        Scratch(d)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn metric(task: &Json, m: &str) -> f64 {
    task.get("metrics")
        .and_then(|x| x.get(m))
        .and_then(|x| x.get("value"))
        .and_then(Json::as_f64)
        .unwrap_or_else(|| panic!("no {m} in {task}"))
}

#[test]
fn results_record_model_and_task_hashes_and_every_sample() {
    let s = Scratch::new(
        "ok",
        &[("capitals.json", CAPITALS), ("capitals.jsonl", DOCS)],
    );
    let m = model();
    let out = s.path("results.json");
    let o = llmcore(&[
        "eval",
        "--model",
        &m,
        "--tasks",
        &s.path("capitals.json"),
        "--out",
        &out,
        "--samples",
        "--json",
    ]);
    let summary = json(&o);
    let file = parse(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let model_sha = std::fs::read(&m).map(|b| sha256_hex(&b)).unwrap();
    assert_eq!(
        file.get("model")
            .and_then(|x| x.get("sha256"))
            .and_then(Json::as_str),
        Some(model_sha.as_str())
    );
    let task = &file.get("tasks").and_then(Json::as_array).unwrap()[0];
    let task_sha = sha256_hex(format!("{CAPITALS}{DOCS}").as_bytes());
    assert_eq!(
        task.get("sha256").and_then(Json::as_str),
        Some(task_sha.as_str())
    );
    assert_eq!(task.get("requests").and_then(Json::as_u64), Some(9));
    let samples = task.get("samples").and_then(Json::as_array).unwrap();
    assert_eq!(samples.len(), 3);
    // acc is the mean of the per-sample scores, and each score is the argmax choice's.
    let mut correct = 0.0;
    for smp in samples {
        let lls: Vec<f64> = smp
            .get("loglikelihoods")
            .and_then(Json::as_array)
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let best = (0..lls.len()).fold(0, |b, i| if lls[i] > lls[b] { i } else { b });
        let conts = smp.get("continuations").and_then(Json::as_array).unwrap();
        let picked = conts[best].as_str().unwrap().trim_start();
        assert_eq!(smp.get("prediction").and_then(Json::as_str), Some(picked));
        correct += (Some(picked) == smp.get("target").and_then(Json::as_str)) as u8 as f64;
    }
    assert_eq!(metric(task, "acc"), correct / 3.0);
    // The printed summary is the file without the samples.
    let st = &summary.get("tasks").and_then(Json::as_array).unwrap()[0];
    assert_eq!(metric(st, "acc"), metric(task, "acc"));
    assert!(st.get("samples").is_none());
    assert!(
        summary
            .get("requests_per_s")
            .and_then(Json::as_f64)
            .unwrap()
            > 0.0
    );
    let cats = summary.get("categories").and_then(Json::as_array).unwrap();
    assert_eq!(
        cats[0].get("category").and_then(Json::as_str),
        Some("knowledge")
    );

    // The human table names each task metric and category.
    let o = llmcore(&["eval", "--model", &m, "--tasks", &s.path("capitals.json")]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        text.contains("capitals") && text.contains("acc_norm") && text.contains("knowledge"),
        "{text}"
    );
}

#[test]
fn the_committed_suites_run() {
    let tasks = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tasks");
    for suite in ["exam", "syneval"] {
        if !tasks.join(suite).join("suite.json").exists() {
            panic!("tasks/{suite}/suite.json is missing");
        }
        let o = llmcore(&[
            "eval",
            "--model",
            &model(),
            "--tasks",
            suite,
            "--tasks-dir",
            &tasks.to_string_lossy(),
            "--limit",
            "1",
            "--json",
            "--bootstrap-iters",
            "10",
        ]);
        let j = json(&o);
        let ts = j.get("tasks").and_then(Json::as_array).unwrap();
        assert!(ts.len() >= 5, "{suite}: {} tasks", ts.len());
        for t in ts {
            assert_eq!(t.get("docs").and_then(Json::as_u64), Some(1), "{t}");
        }
    }
}

#[test]
fn bad_input_is_one_clear_error() {
    let m = model();
    let missing_field = "{\"country\": \"France\", \"choices\": [\"Paris\", \"Lyon\"], \"answer\": 0}\n{\"choices\": [\"a\", \"b\"], \"answer\": 0}\n";
    let empty_choice = "{\"country\": \"France\", \"choices\": [\"Paris\", \"\"], \"answer\": 0}\n";
    let no_delim = CAPITALS.replace("\"metrics\"", "\"target_delimiter\": \"\", \"metrics\"");
    // (tag, files, extra flags, what the error must say)
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, Vec<&'a str>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "field",
            vec![
                ("capitals.json", CAPITALS.into()),
                ("capitals.jsonl", missing_field.into()),
            ],
            vec![],
            "line 2: no field \"country\"",
        ),
        (
            "pool",
            vec![
                ("capitals.json", CAPITALS.into()),
                ("capitals.jsonl", DOCS.into()),
            ],
            vec!["--fewshot", "5"],
            "5 few-shot examples asked for, but the pool holds 2",
        ),
        (
            "empty",
            vec![
                ("capitals.json", no_delim),
                ("capitals.jsonl", empty_choice.into()),
            ],
            vec![],
            "continuation",
        ),
        (
            "key",
            vec![
                ("capitals.json", CAPITALS.replace("\"docs\"", "\"doc\"")),
                ("capitals.jsonl", DOCS.into()),
            ],
            vec![],
            "unknown key \"doc\"",
        ),
    ];
    for (tag, files, extra, want) in cases {
        let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let s = Scratch::new(tag, &files);
        let out = s.path("results.json");
        let task = s.path("capitals.json");
        let mut args = vec!["eval", "--model", &m, "--tasks", &task, "--out", &out];
        args.extend(extra);
        let o = llmcore(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{tag}: {err}");
        assert!(err.contains(want), "{tag}: {err}");
        assert!(!Path::new(&out).exists(), "{tag}: a failed run left {out}");
        assert_eq!(err.trim().lines().count(), 1, "{tag}: {err}");
    }
    let o = llmcore(&["eval", "--model", &m, "--tasks", "no_such_suite"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("\"no_such_suite\""), "{err}");
}

#[test]
fn compare_sets_results_side_by_side_and_plots_them() {
    let s = Scratch::new(
        "cmp",
        &[("capitals.json", CAPITALS), ("capitals.jsonl", DOCS)],
    );
    let m = model();
    let task = s.path("capitals.json");
    let (fast, exact) = (s.path("fast.json"), s.path("exact.json"));
    json(&llmcore(&[
        "eval", "--model", &m, "--tasks", &task, "--out", &fast, "--json",
    ]));
    json(&llmcore(&[
        "eval", "--model", &m, "--tasks", &task, "--out", &exact, "--exact", "--json",
    ]));
    let svg = s.path("acc.svg");
    let j = json(&llmcore(&[
        "eval",
        "compare",
        "--results",
        &format!("{fast},{exact}"),
        "--labels",
        "fast,exact",
        "--metric",
        "acc_norm",
        "--plot",
        &svg,
        "--json",
    ]));
    let rows = j.get("rows").and_then(Json::as_array).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].get("name").and_then(Json::as_str),
        Some("knowledge")
    );
    let file = parse(&std::fs::read_to_string(&fast).unwrap()).unwrap();
    let want = metric(
        &file.get("tasks").and_then(Json::as_array).unwrap()[0],
        "acc_norm",
    );
    let got = rows[0].get("values").and_then(Json::as_array).unwrap()[0]
        .get("value")
        .and_then(Json::as_f64);
    assert_eq!(got, Some(want));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.contains("knowledge") && text.contains("exact"));

    let o = llmcore(&["eval", "compare", "--results", &fast, "--metric", "bleu"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("no bleu in any category"),
        "{err}"
    );
}
