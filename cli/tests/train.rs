//! `llmcore train` end to end: a small model trained from scratch with the SmolLM2 tokenizer
//! on a text file, with every optimizer; the loss curve (CSV and SVG) and the saved GGUF, which
//! `llmcore generate` runs and `llmcore train --init-from` fine-tunes; bad input named.

mod common;

use common::{json, llmcore, model};
use llmcore::io::json::Json;
use std::path::PathBuf;

const CONFIG: &str = r#"{"n_layer": 2, "d_model": 32, "d_ffn": 64, "n_head": 4, "n_kv_head": 2, "context_length": 64, "name": "cli-test"}"#;

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("llmcore-train-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn data() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/persuasion_excerpt.txt"
    )
    .to_string()
}

#[test]
fn every_optimizer_trains_reports_state_and_saves_a_runnable_model() {
    let dir = scratch("all");
    let cfg = dir.join("c.json");
    std::fs::write(&cfg, CONFIG).unwrap();
    let (cfg, tok, data) = (cfg.to_str().unwrap().to_string(), model(), data());
    let mut bytes = Vec::new();
    for opt in ["adamw", "adafactor", "came", "adapprox"] {
        let out = dir.join(format!("{opt}.gguf"));
        let curve = dir.join(format!("{opt}.csv"));
        let j = json(&llmcore(&[
            "train",
            "--config",
            &cfg,
            "--tokenizer",
            &tok,
            "--data",
            &data,
            "--optimizer",
            opt,
            "--steps",
            "6",
            "--batch",
            "2",
            "--seq",
            "16",
            "--lr",
            "3e-3",
            "--warmup",
            "2",
            "--eval-every",
            "3",
            "--eval-windows",
            "2",
            "--out",
            out.to_str().unwrap(),
            "--curve",
            curve.to_str().unwrap(),
            "--json",
        ]));
        let num = |k: &str| j.get(k).and_then(Json::as_f64).unwrap();
        assert_eq!(j.get("optimizer").and_then(Json::as_str), Some(opt));
        assert_eq!(num("steps"), 6.0);
        let curve_j = j.get("curve").and_then(Json::as_array).unwrap();
        let first = curve_j[0].get("loss").and_then(Json::as_f64).unwrap();
        assert!(
            num("final_loss") < first,
            "{opt}: {first} -> {}",
            num("final_loss")
        );
        assert!(num("final_valid_loss").is_finite());
        bytes.push((opt, num("optimizer_bytes")));
        let csv = std::fs::read_to_string(&curve).unwrap();
        assert_eq!(csv.lines().count(), 7, "{csv}");
        assert!(csv
            .lines()
            .nth(3)
            .unwrap()
            .split(',')
            .nth(2)
            .unwrap()
            .parse::<f64>()
            .is_ok());
        let svg = std::fs::read_to_string(curve.with_extension("svg")).unwrap();
        assert_eq!(svg.matches("<polyline").count(), 2);
        let g = llmcore(&[
            "generate",
            "--model",
            out.to_str().unwrap(),
            "--prompt",
            "Chapter",
            "--max-tokens",
            "4",
            "--json",
        ]);
        assert!(g.status.success(), "{}", String::from_utf8_lossy(&g.stderr));
    }
    // AdamW keeps 8 bytes per parameter, the factored optimizers far less. Adapprox keeps its
    // first moment (half of AdamW's) plus factors whose rank grows toward the cap with the
    // default error target on such noisy, narrow (d_model 32) matrices.
    let get = |o: &str| bytes.iter().find(|(n, _)| *n == o).unwrap().1;
    assert!(get("adafactor") < 0.05 * get("adamw"));
    assert!(get("adapprox") < get("adamw") && get("adapprox") > 0.5 * get("adamw"));
    assert!(get("came") < get("adapprox"));
    // Fine-tune the saved model.
    let j = json(&llmcore(&[
        "train",
        "--init-from",
        dir.join("adamw.gguf").to_str().unwrap(),
        "--data",
        &data,
        "--steps",
        "2",
        "--batch",
        "2",
        "--seq",
        "16",
        "--eval-every",
        "0",
        "--json",
    ]));
    assert_eq!(j.get("steps").and_then(Json::as_f64), Some(2.0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_is_named() {
    let dir = scratch("bad");
    let cfg = dir.join("c.json");
    std::fs::write(&cfg, CONFIG).unwrap();
    let (cfg, tok, data) = (cfg.to_str().unwrap().to_string(), model(), data());
    let base = [
        "train",
        "--config",
        &cfg,
        "--tokenizer",
        &tok,
        "--data",
        &data,
        "--steps",
        "1",
    ];
    for (extra, says) in [
        (
            &["--optimizer", "sgd"][..],
            "--optimizer must be adamw, adafactor, came or adapprox",
        ),
        (
            &["--rank-max", "4"][..],
            "--rank-max applies to --optimizer adapprox only",
        ),
        (
            &[
                "--optimizer",
                "adapprox",
                "--rank-min",
                "9",
                "--rank-max",
                "3",
            ][..],
            "rank range [9, 3] is empty",
        ),
        (
            &["--optimizer", "adapprox", "--beta2", "1.5"][..],
            "beta2 = 1.5 must lie in [0, 1)",
        ),
        (&["--lr", "-1"][..], "learning rate -1"),
        (
            &["--seq", "100"][..],
            "longer than the model's context of 64",
        ),
        (
            &["--optimizer", "came", "--no-first-moment"][..],
            "not came",
        ),
    ] {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let o = llmcore(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success() && err.contains(says),
            "{extra:?}: {err}"
        );
    }
    let o = llmcore(&["train", "--data", &data]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("exactly one of --config"));
    std::fs::write(&cfg, r#"{"n_layer": 2}"#).unwrap();
    let o = llmcore(&base);
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs 'd_model'"));
    std::fs::remove_dir_all(&dir).unwrap();
}
