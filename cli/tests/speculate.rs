//! `llmcore speculate` end to end on the real SmolLM2: greedy speculation reported equal to
//! plain decoding in the same run, with its statistics, for each draft source and a prompts
//! file; each bad input is one clear error naming what is wrong.

mod common;

use common::{json, llmcore, model};
use llmcore::io::json::Json;

const LIST: &str = "Copy the list exactly.\nInput: apple, banana, cherry, date, elderberry, fig, \
                    grape, honeydew, kiwi, lemon, mango\nCopy: apple, banana,";

fn qwen() -> String {
    model().replace(
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "Qwen2.5-Coder-0.5B-Instruct.gguf",
    )
}

#[test]
fn greedy_speculation_matches_plain_decoding_and_reports_its_steps() {
    let m = model();
    for draft in [&["--ngram", "3"][..], &["--self-draft-layers", "8"][..]] {
        let mut args = vec![
            "speculate",
            "--target",
            &m,
            "--prompt",
            LIST,
            "--max-tokens",
            "24",
        ];
        args.extend_from_slice(draft);
        args.extend_from_slice(&["--tree", "opt", "--budget", "6", "--json"]);
        let j = json(&llmcore(&args));
        let p = &j.get("prompts").and_then(Json::as_array).unwrap()[0];
        let num = |k: &str| p.get(k).and_then(Json::as_f64).unwrap();
        assert_eq!(
            p.get("matches_plain").and_then(Json::as_bool),
            Some(true),
            "{draft:?}"
        );
        assert_eq!(num("tokens"), 24.0);
        assert_eq!(
            num("accepted") + num("steps"),
            24.0,
            "one target token per step"
        );
        assert!(num("mean_accepted_length") >= 1.0);
        assert!(num("spec_tokens_per_s") > 0.0 && num("plain_tokens_per_s") > 0.0);
        assert!(
            num("predicted_tokens_per_s") > 0.0,
            "the cost model was measured"
        );
        let summary = j.get("summary").unwrap();
        assert_eq!(
            summary.get("all_match_plain").and_then(Json::as_bool),
            Some(true)
        );
        let verify = j
            .get("costs")
            .and_then(|c| c.get("verify"))
            .and_then(Json::as_array);
        assert!(verify.is_some_and(|v| v.len() >= 3), "{j}");
    }
}

#[test]
fn a_prompts_file_gives_one_row_per_prompt() {
    let dir = std::env::temp_dir().join(format!("llmcore-cli-spec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("prompts.jsonl");
    let lines = [
        Json::object(vec![
            ("id", "a".into()),
            ("kind", "repeat".into()),
            ("prompt", LIST.into()),
        ]),
        Json::object(vec![
            ("id", "b".into()),
            ("prompt", "def add(a, b):".into()),
        ]),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n\n")).collect();
    std::fs::write(&file, text).unwrap();
    let f = file.to_string_lossy().into_owned();
    let m = model();
    let j = json(&llmcore(&[
        "speculate",
        "--target",
        &m,
        "--ngram",
        "3",
        "--prompts-file",
        &f,
        "--max-tokens",
        "8",
        "--tree",
        "chain",
        "--budget",
        "4",
        "--repeat",
        "2",
        "--json",
    ]));
    let rows = j.get("prompts").and_then(Json::as_array).unwrap();
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r.get("id").and_then(Json::as_str).unwrap())
        .collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(rows[0].get("kind").and_then(Json::as_str), Some("repeat"));
    assert_eq!(j.get("repeat").and_then(Json::as_u64), Some(2));
    std::fs::write(&file, "{\"id\": \"x\"}\n").unwrap();
    let o = llmcore(&[
        "speculate",
        "--target",
        &m,
        "--ngram",
        "3",
        "--prompts-file",
        &f,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("prompts.jsonl:1: no \"prompt\" string"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_is_named() {
    let (m, q) = (model(), qwen());
    let long: String = "word ".repeat(40);
    let cases: &[(&[&str], i32, &str)] = &[
        (&["--draft", &q], 2, "vocabularies differ"),
        (
            &["--self-draft-layers", "30"],
            2,
            "a self-draft of 30 layers from a model of 30: it takes 1..=29",
        ),
        (
            &["--ngram", "3", "--budget", "0"],
            2,
            "--budget: tree budget 0",
        ),
        (
            &["--ngram", "3", "--max-depth", "0"],
            2,
            "--max-depth: tree budget",
        ),
        (
            &["--ngram", "3", "--budget", "many"],
            2,
            "--budget must be auto or a number",
        ),
        (
            &["--ngram", "3", "--tree", "bush"],
            2,
            "unknown tree \"bush\"",
        ),
        (
            &["--ngram", "3", "--self-draft-layers", "4"],
            2,
            "exactly one of --draft",
        ),
        (
            &[],
            2,
            "exactly one of --draft, --self-draft-layers, --ngram (got none)",
        ),
        (&["--ngram", "0"], 2, "--ngram: n-gram draft"),
        (
            &["--ngram", "3", "--repeat", "0"],
            2,
            "--repeat must be >= 1",
        ),
        (
            &["--ngram", "3", "--temperature", "-1"],
            2,
            "--temperature must be",
        ),
    ];
    for (extra, code, want) in cases {
        let mut args = vec!["speculate", "--target", &m, "--prompt", "Hello"];
        args.extend_from_slice(extra);
        let o = llmcore(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(*code), "{extra:?}: {err}");
        assert!(err.contains(want), "{extra:?}: {err}");
    }
    // A prompt longer than the context: a run error naming the context.
    let o = llmcore(&[
        "speculate",
        "--target",
        &m,
        "--ngram",
        "3",
        "--prompt",
        &long,
        "--ctx",
        "8",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("context"), "{err}");
}
