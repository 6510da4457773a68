//! The runtime commands end to end on the real SmolLM2: `--json` output of info, tokenize,
//! generate and perplexity; usage errors (exit 2) naming the one bad flag or value; and inputs
//! that once made the CLI panic (non-UTF-8 arguments, a closed stdout, a huge `--threads`).

mod common;

use common::{json, llmcore, model};
use llmcore::io::json::Json;
use llmcore::model::perplexity::{perplexity, PerplexityParams, ScoreMode};
use llmcore::model::Numerics;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

#[test]
fn info_reports_the_architecture() {
    let j = json(&llmcore(&["info", &model(), "--json"]));
    assert_eq!(j.get("architecture").and_then(Json::as_str), Some("llama"));
    assert_eq!(j.get("n_layer").and_then(Json::as_u64), Some(30));
    assert_eq!(j.get("tensor_count").and_then(Json::as_u64), Some(272));
}

#[test]
fn info_reports_the_vocabulary_facts_llama_cpp_gives() {
    let j = json(&llmcore(&["info", &model(), "--json"]));
    let v = j.get("vocab").unwrap();
    let n = |k: &str| v.get(k).and_then(Json::as_u64);
    assert_eq!(
        (n("bos"), n("eos"), n("eot"), n("pad")),
        (Some(1), Some(2), Some(2), Some(2))
    );
    let eog: Vec<u64> = v
        .get("eog")
        .and_then(Json::as_array)
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert_eq!(eog, [0, 2, 4]);
    assert_eq!(v.get("add_bos").and_then(Json::as_bool), Some(false));
    assert_eq!(
        j.get("parameters").and_then(Json::as_u64),
        Some(134_515_008)
    );
    assert_eq!(
        j.get("tensor_bytes").and_then(Json::as_u64),
        Some(96_576_768)
    );
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
    // The CLI is a shell over the library: the same number as perplexity() on the same tokens
    // (measured 2026-12-02: 33.0674 both, equal to the last printed digit).
    let ppl = j.get("ppl").and_then(Json::as_f64).unwrap();
    let model = llmcore::model::Model::open(&m).unwrap();
    let tokens = model
        .tokenizer()
        .encode(&std::fs::read_to_string(&text).unwrap(), false)
        .unwrap();
    let params = PerplexityParams {
        ctx: 128,
        max_windows: 2,
        score: ScoreMode::SecondHalf,
        numerics: Numerics::Fast,
        kv_type: llmcore::model::KvType::default_for(Numerics::Fast),
    };
    let want = perplexity(
        &std::sync::Arc::new(model),
        &tokens,
        &params,
        &mut |_, _| true,
    )
    .unwrap()
    .ppl;
    assert!(
        (ppl / want - 1.0).abs() < 1e-12,
        "CLI {ppl} vs library {want}"
    );
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

/// Exit status 2 and a first stderr line naming `needle` (and none of `others` unless it is
/// `needle` itself), without a panic.
fn usage_error_naming(args: &[&OsStr], needle: &str, others: &[&str]) {
    let o = llmcore(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    let first = err.lines().next().unwrap_or("");
    assert!(first.contains(needle), "{args:?}: {err}");
    for other in others.iter().filter(|o| !needle.contains(*o)) {
        assert!(
            !first.contains(other),
            "{args:?} names {other} too: {first}"
        );
    }
}

#[test]
fn each_sampler_setting_out_of_range_is_named_alone_with_its_value() {
    let m = model();
    let flags = [
        "--temperature",
        "--top-p",
        "--min-p",
        "--repeat-penalty",
        "--frequency-penalty",
        "--presence-penalty",
        "--logit-bias",
        "--stop",
    ];
    for (flag, value, needle) in [
        (
            "--temperature",
            "-1",
            "--temperature must be a finite number >= 0 (0 = greedy), got -1",
        ),
        (
            "--temperature",
            "nan",
            "--temperature must be a finite number >= 0 (0 = greedy), got NaN",
        ),
        (
            "--temperature",
            "inf",
            "--temperature must be a finite number >= 0 (0 = greedy), got inf",
        ),
        (
            "--repeat-penalty",
            "0",
            "--repeat-penalty must be a finite number > 0 (1 = off), got 0",
        ),
        (
            "--repeat-penalty",
            "nan",
            "--repeat-penalty must be a finite number > 0 (1 = off), got NaN",
        ),
        ("--top-p", "0", "--top-p must be in (0, 1], got 0"),
        ("--top-p", "1.5", "--top-p must be in (0, 1], got 1.5"),
        ("--stop", "", "--stop must be a non-empty string, got \"\""),
        (
            "--min-p",
            "1.5",
            "--min-p must be in [0, 1] (0 = off), got 1.5",
        ),
        (
            "--frequency-penalty",
            "inf",
            "--frequency-penalty must be a finite number (0 = off), got inf",
        ),
        (
            "--presence-penalty",
            "nan",
            "--presence-penalty must be a finite number (0 = off), got NaN",
        ),
        (
            "--logit-bias",
            "5=1,49152=2",
            "--logit-bias entry 1 must be for a token below the vocabulary size 49152, got 49152",
        ),
        (
            "--logit-bias",
            "5=nan",
            "--logit-bias entry 0 must be a finite bias or -inf (bans the token), got NaN",
        ),
        (
            "--logit-bias",
            "5:1",
            "--logit-bias: '5:1' is not TOKEN_ID=BIAS",
        ),
    ] {
        let args = ["generate", "--model", &m, "--prompt", "x", flag, value];
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        usage_error_naming(&args, needle, &flags);
    }
}

#[test]
fn logit_bias_bans_a_token_and_the_penalties_change_the_text() {
    let m = model();
    let run = |extra: &[&str]| {
        let args = [
            "generate",
            "--model",
            &m,
            "--prompt",
            "The capital of France is",
        ];
        let j = json(&llmcore(
            &[&args[..], &["--max-tokens", "12", "--json"], extra].concat(),
        ));
        let tokens: Vec<u64> = j
            .get("tokens")
            .and_then(Json::as_array)
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap())
            .collect();
        tokens
    };
    let greedy = run(&[]);
    let banned = run(&["--logit-bias", &format!("{}=-inf", greedy[0])]);
    assert_ne!(banned[0], greedy[0], "the banned token was chosen");
    assert!(!banned.contains(&greedy[0]));
    // A strong presence penalty over the whole context forbids repeats of the greedy text.
    let penalized = run(&["--presence-penalty", "100", "--repeat-last-n", "1000"]);
    let mut seen = std::collections::HashSet::new();
    assert!(
        penalized.iter().all(|t| seen.insert(*t)),
        "{penalized:?} repeats a token"
    );
    let mut greedy_seen = std::collections::HashSet::new();
    assert!(
        !greedy.iter().all(|t| greedy_seen.insert(*t)),
        "the greedy text repeats"
    );
}

#[test]
fn zero_max_tokens_reports_no_rate_rather_than_one_from_an_empty_interval() {
    let m = model();
    let args = [
        "generate",
        "--model",
        &m,
        "--prompt",
        "Hello",
        "--max-tokens",
        "0",
    ];
    let j = json(&llmcore(&[&args[..], &["--json"]].concat()));
    assert_eq!(
        j.get("tokens").and_then(Json::as_array).map(<[Json]>::len),
        Some(0)
    );
    assert!(
        j.get("prefill_tokens_per_s").is_some_and(Json::is_null),
        "{j}"
    );
    assert!(
        j.get("decode_tokens_per_s").is_some_and(Json::is_null),
        "{j}"
    );
    let o = llmcore(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("no prefill") && err.contains("no decode"),
        "{err}"
    );
    assert!(!err.contains("tokens/s"), "{err}");
}

#[test]
fn a_non_utf8_prompt_is_a_usage_error_naming_the_flag() {
    let m = model();
    let args = [
        OsStr::new("generate"),
        OsStr::new("--model"),
        OsStr::new(&m),
        OsStr::new("--prompt"),
        OsStr::from_bytes(b"caf\xe9"),
    ];
    usage_error_naming(
        &args,
        "--prompt: the value is not valid UTF-8 (caf\u{fffd})",
        &[],
    );
    // A non-UTF-8 subcommand or flag name is unknown, not a panic.
    usage_error_naming(
        &[OsStr::from_bytes(b"inf\xf6")],
        "unknown command 'inf\u{fffd}'",
        &[],
    );
    let flag = [OsStr::new("info"), OsStr::from_bytes(b"--t\xe9nsors")];
    usage_error_naming(&flag, "unknown flag --t\u{fffd}nsors", &[]);
}

#[test]
fn a_non_utf8_model_path_is_opened_like_any_other() {
    let dir = std::env::temp_dir().join(format!("llmcore-cli-nonutf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join(OsStr::from_bytes(b"model-\xff.gguf"));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(model(), &link).unwrap();
    let args = [
        OsStr::new("tokenize"),
        OsStr::new("--model"),
        link.as_os_str(),
    ];
    let j = json(&llmcore(
        &[
            &args[..],
            &[OsStr::new("--text"), OsStr::new("hi"), OsStr::new("--json")],
        ]
        .concat(),
    ));
    assert_eq!(j.get("count").and_then(Json::as_u64), Some(1));
    let j = json(&llmcore(&[
        OsStr::new("info"),
        link.as_os_str(),
        OsStr::new("--json"),
    ]));
    assert_eq!(j.get("n_layer").and_then(Json::as_u64), Some(30));
    // A missing non-UTF-8 path is a runtime error naming it (lossily), exit 1.
    let missing = dir.join(OsStr::from_bytes(b"gone-\xff.gguf"));
    let o = llmcore(&[OsStr::new("info"), missing.as_os_str()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("gone-\u{fffd}.gguf"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let m = model();
    for extra in [&[][..], &["--json"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_llmcore"))
            .args(["generate", "--model", &m, "--prompt", "Once upon a time"])
            .args(["--max-tokens", "16", "--threads", "1"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run llmcore");
        // The reader goes away before the first byte: every write gets EPIPE.
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{extra:?}: {err}");
        assert!(err.is_empty(), "{extra:?}: {err}");
    }
}

#[test]
fn threads_beyond_the_cap_are_capped_with_a_warning() {
    let m = model();
    let o = llmcore(&[
        "generate",
        "--model",
        &m,
        "--prompt",
        "Hi",
        "--max-tokens",
        "4",
        "--threads",
        "10000",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let hw = std::thread::available_parallelism().unwrap().get();
    let warning = format!(
        "warning: --threads 10000 is more than 2x the {hw} hardware threads; using {}",
        2 * hw
    );
    assert!(err.contains(&warning), "{err}");
}
