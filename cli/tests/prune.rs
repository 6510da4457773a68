//! `llmcore prune` end to end on the real SmolLM2: a pruned model written with its report and
//! `llmcore.prune.*` keys, which loads back and runs, also on a sparse format; usage errors
//! (exit 2) before any work for each bad flag; an existing output refused without `--force`
//! and left untouched; shards merged into the whole run's bytes.

mod common;

use common::{json, llmcore, model};
use llmcore::io::json::Json;
use std::path::{Path, PathBuf};

fn excerpt() -> String {
    format!(
        "file:{}",
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/data/persuasion_excerpt.txt")
            .display()
    )
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("llmcore-cli-prune-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn prune_writes_a_model_that_runs_dense_and_sparse() {
    let (m, calib, dir) = (model(), excerpt(), tmp("run"));
    let out = s(&dir.join("p.gguf"));
    let j = json(&llmcore(&[
        "prune",
        "--model",
        &m,
        "--method",
        "wanda",
        "--nm",
        "2:4",
        "--calib",
        &calib,
        "--nsamples",
        "2",
        "--seqlen",
        "64",
        "--out",
        &out,
        "--json",
    ]));
    assert_eq!(j.get("pattern").and_then(Json::as_str), Some("2:4"));
    assert_eq!(
        j.get("matrices").and_then(Json::as_array).unwrap().len(),
        210
    );
    assert!((j.get("sparsity").and_then(Json::as_f64).unwrap() - 0.5).abs() < 1e-3);
    let info = json(&llmcore(&["info", &out, "--json"]));
    assert_eq!(info.get("tensor_count").and_then(Json::as_u64), Some(272));
    let bytes = std::fs::read(&out).unwrap();
    let has = |key: &[u8]| bytes.windows(key.len()).any(|w| w == key);
    assert!(has(b"llmcore.prune.method") && has(b"llmcore.prune.settings"));
    for sparse in [None, Some("2:4-q8")] {
        let mut args = vec![
            "generate",
            "--model",
            &out,
            "--prompt",
            "The",
            "--max-tokens",
            "4",
            "--json",
        ];
        if let Some(k) = sparse {
            args.extend(["--sparse", k]);
        }
        json(&llmcore(&args));
    }
    // The unpruned model does not fit 2:4: named, exit status of a run error.
    let o = llmcore(&[
        "generate",
        "--model",
        &m,
        "--prompt",
        "The",
        "--max-tokens",
        "1",
        "--sparse",
        "2:4-q4",
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not fit 2:4-q4"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_requests_are_usage_errors_before_any_work() {
    let (m, calib, dir) = (model(), excerpt(), tmp("bad"));
    let out = s(&dir.join("p.gguf"));
    let base = ["prune", "--model", &m, "--calib", &calib, "--out", &out];
    let cases: &[(&[&str], &str)] = &[
        (
            &["--method", "wanda", "--sparsity", "1.5"],
            "outside [0, 1)",
        ),
        (&["--method", "wanda", "--nm", "2:5"], "does not divide"),
        (
            &["--method", "prune-it", "--sparsity", "0.5"],
            "unknown pruning method",
        ),
        (
            &["--method", "wanda", "--sparsity", "0.5", "--owl", "5"],
            "--owl must be M,LAMBDA",
        ),
        (
            &["--method", "wanda", "--sparsity", "0.9", "--owl", "5,0.08"],
            "must stay inside [0, 1)",
        ),
        (
            &[
                "--method",
                "wanda",
                "--sparsity",
                "0.5",
                "--fista-rounds",
                "3",
            ],
            "setting of --method fista",
        ),
        (
            &["--method", "wanda", "--sparsity", "0.5", "--seqlen", "4000"],
            "fewer than one calibration window",
        ),
        (
            &[
                "--method",
                "wanda",
                "--sparsity",
                "0.5",
                "--mode",
                "sideways",
            ],
            "--mode must be",
        ),
    ];
    for (extra, want) in cases {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let o = llmcore(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        // Flag errors are usage errors (2); what needs the model loaded first is a run error (1).
        let want_code = if want.starts_with("fewer") { 1 } else { 2 };
        assert_eq!(o.status.code(), Some(want_code), "{extra:?}: {err}");
        assert!(err.contains(want), "{extra:?}: {err}");
        assert!(!Path::new(&out).exists());
    }
    // An existing output is refused without --force and left as it was.
    std::fs::write(&out, b"keep me").unwrap();
    let o = llmcore(&[
        "prune",
        "--model",
        &m,
        "--method",
        "magnitude",
        "--sparsity",
        "0.5",
        "--out",
        &out,
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn shards_merge_into_the_whole_runs_bytes() {
    let (m, calib, dir) = (model(), excerpt(), tmp("shards"));
    let flags = [
        "--method",
        "wanda",
        "--sparsity",
        "0.5",
        "--mode",
        "dense-input",
        "--calib",
        &calib,
        "--nsamples",
        "2",
        "--seqlen",
        "32",
    ];
    let whole = s(&dir.join("whole.gguf"));
    let mut args = vec!["prune", "--model", &m, "--out", &whole];
    args.extend_from_slice(&flags);
    json(&llmcore(&[&args[..], &["--json"]].concat()));
    let shards = s(&dir.join("shards"));
    for r in ["0..13", "13..30"] {
        let mut a = vec![
            "prune",
            "--model",
            &m,
            "--layers",
            r,
            "--shard-out",
            &shards,
            "--json",
        ];
        a.extend_from_slice(&flags);
        json(&llmcore(&a));
    }
    let merged = s(&dir.join("merged.gguf"));
    json(&llmcore(&[
        "prune", "merge", &shards, "--model", &m, "--out", &merged, "--json",
    ]));
    assert!(std::fs::read(&whole).unwrap() == std::fs::read(&merged).unwrap());
    std::fs::remove_dir_all(dir).unwrap();
}
