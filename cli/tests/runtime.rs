//! The runtime commands end to end on the real SmolLM2: `--json` output of info, tokenize,
//! generate and perplexity, and usage errors (exit 2) for unknown flags and bad values.

use llmcore::io::json::{parse, Json};
use std::path::PathBuf;
use std::process::{Command, Output};

fn model() -> String {
    let dir = std::env::var_os("LLMCORE_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets"));
    let p = dir.join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        p.exists(),
        "{} is missing: run scripts/fetch-assets.sh",
        p.display()
    );
    p.to_string_lossy().into_owned()
}

fn llmcore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llmcore"))
        .args(args)
        .output()
        .expect("run llmcore")
}

fn json(o: &Output) -> Json {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    parse(std::str::from_utf8(&o.stdout).unwrap().trim()).unwrap()
}

#[test]
fn info_reports_the_architecture() {
    let j = json(&llmcore(&["info", &model(), "--json"]));
    assert_eq!(j.get("architecture").and_then(Json::as_str), Some("llama"));
    assert_eq!(j.get("n_layer").and_then(Json::as_u64), Some(30));
    assert_eq!(j.get("tensor_count").and_then(Json::as_u64), Some(272));
}

#[test]
fn tokenize_gives_ids_and_parses_special_tokens_unless_told_not_to() {
    let m = model();
    let j = json(&llmcore(&[
        "tokenize",
        "--model",
        &m,
        "--text",
        "<|im_start|>user",
        "--json",
    ]));
    let ids = j.get("ids").and_then(Json::as_array).unwrap();
    assert_eq!(ids[0].as_u64(), Some(1), "<|im_start|> is token 1");
    let j = json(&llmcore(&[
        "tokenize",
        "--model",
        &m,
        "--text",
        "<|im_start|>user",
        "--no-special",
        "--json",
    ]));
    assert!(j.get("count").and_then(Json::as_u64).unwrap() > 2);
}

#[test]
fn generate_json_has_text_tokens_and_speeds() {
    let m = model();
    let args = [
        "generate",
        "--model",
        &m,
        "--prompt",
        "The capital of France is",
    ];
    let j = json(&llmcore(
        &[
            &args[..],
            &["--max-tokens", "8", "--json", "--threads", "1"],
        ]
        .concat(),
    ));
    assert!(j
        .get("text")
        .and_then(Json::as_str)
        .unwrap()
        .starts_with(" Paris"));
    assert_eq!(j.get("tokens").and_then(Json::as_array).unwrap().len(), 8);
    assert!(j.get("decode_tokens_per_s").and_then(Json::as_f64).unwrap() > 0.0);
    assert!(
        j.get("prefill_tokens_per_s")
            .and_then(Json::as_f64)
            .unwrap()
            > 0.0
    );
}

#[test]
fn perplexity_json_scores_the_second_half_of_each_window() {
    let text =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/persuasion_excerpt.txt");
    let m = model();
    let t = text.to_string_lossy();
    let j = json(&llmcore(&[
        "perplexity",
        "--model",
        &m,
        "--text",
        &t,
        "--ctx",
        "128",
        "--max-windows",
        "2",
        "--json",
    ]));
    assert_eq!(j.get("windows").and_then(Json::as_u64), Some(2));
    assert_eq!(j.get("tokens_scored").and_then(Json::as_u64), Some(2 * 63));
    let ppl = j.get("ppl").and_then(Json::as_f64).unwrap();
    assert!(ppl > 5.0 && ppl < 200.0, "ppl {ppl}");
}

#[test]
fn kv_flag_chooses_the_cache_type_and_its_default_follows_the_numeric_path() {
    let text =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/persuasion_excerpt.txt");
    let (m, t) = (model(), text.to_string_lossy().into_owned());
    let ppl = |extra: &[&str]| {
        let base = ["perplexity", "--model", &m, "--text", &t, "--ctx", "64"];
        let j = json(&llmcore(
            &[&base[..], &["--max-windows", "1", "--json"], extra].concat(),
        ));
        let kv = j.get("kv_type").and_then(Json::as_str).unwrap().to_string();
        (kv, j.get("ppl").and_then(Json::as_f64).unwrap())
    };
    let (default_kv, default_ppl) = ppl(&[]);
    let (f16_kv, f16_ppl) = ppl(&["--kv", "f16"]);
    let (f32_kv, f32_ppl) = ppl(&["--kv", "f32"]);
    assert_eq!((&*default_kv, &*f16_kv, &*f32_kv), ("f16", "f16", "f32"));
    assert_eq!(default_ppl, f16_ppl);
    assert_ne!(f16_ppl, f32_ppl, "the cache type changes nothing");
    assert_eq!(ppl(&["--exact"]).0, "f32");
    assert_eq!(ppl(&["--exact", "--kv", "f16"]).0, "f16");
    let o = llmcore(&["generate", "--model", &m, "--prompt", "x", "--kv", "q8"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--kv must be 'f16' or 'f32', got 'q8'"),
        "{err}"
    );
}

#[test]
fn bad_usage_exits_2_naming_the_problem() {
    let m = model();
    for (args, needle) in [
        (
            vec!["generate", "--model", &m, "--prompt", "x", "--bogus"],
            "unknown flag --bogus",
        ),
        (
            vec![
                "generate",
                "--model",
                &m,
                "--prompt",
                "x",
                "--max-tokens",
                "many",
            ],
            "--max-tokens",
        ),
        (
            vec!["generate", "--model", &m, "--prompt", "x", "--top-p", "1.5"],
            "--top-p",
        ),
        (
            vec![
                "perplexity",
                "--model",
                &m,
                "--text",
                "x",
                "--score",
                "most",
            ],
            "--score",
        ),
        (
            vec!["tokenize", "--model", &m],
            "exactly one of --text and --file",
        ),
        (vec!["frobnicate"], "unknown command"),
    ] {
        let o = llmcore(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn runtime_errors_exit_1_with_the_reason() {
    let o = llmcore(&["info", "/nonexistent/model.gguf"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/model.gguf"));
    let m = model();
    let o = llmcore(&[
        "generate",
        "--model",
        &m,
        "--prompt",
        "Hello there, my friend",
        "--ctx",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("context overflow"));
}
