//! `llmcore schedule` end to end: the built binary's JSON output, its exit codes (2 for bad
//! usage, 1 for a budget nothing fits) and config files read through `llmcore::io::json`.

use llmcore::io::json::{parse, Json};
use std::process::{Command, Output};

fn schedule(args: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llmcore"))
        .arg("schedule")
        .args(args.split_whitespace())
        .output()
        .expect("run llmcore")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const LAYOUT: &str = "--model gpt-1.3b --tp 2 --pp 2 --micro-batch 1 --global-batch 8";

#[test]
fn json_output_is_one_plan_object() {
    let o = schedule(&format!("{LAYOUT} --policy selective --json"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let j = parse(std::str::from_utf8(&o.stdout).unwrap().trim()).unwrap();
    assert_eq!(j.get("policy").and_then(Json::as_str), Some("selective"));
    assert_eq!(j.get("simulated").and_then(Json::as_bool), Some(true));
    let t = j.get("training").unwrap();
    assert_eq!(t.get("tp").and_then(Json::as_u64), Some(2));
    assert_eq!(t.get("micro_batches").and_then(Json::as_u64), Some(8));
    let step = j.get("iteration_s").and_then(Json::as_f64).unwrap();
    let base = j
        .get("no_recompute_iteration_s")
        .and_then(Json::as_f64)
        .unwrap();
    assert!(
        step > base,
        "selective recomputation costs time: {step} vs {base}"
    );
    let stages = j.get("stages").and_then(Json::as_array).unwrap();
    assert_eq!(stages.len(), 2);
    for s in stages {
        let peak = s.get("peak_gb").and_then(Json::as_f64).unwrap();
        assert!(peak > 0.0 && peak <= 80.0, "{peak}");
        let run = &s.get("schedule").and_then(Json::as_array).unwrap()[0];
        let dropped: Vec<&str> = run
            .get("recompute")
            .and_then(Json::as_array)
            .unwrap()
            .iter()
            .map(|r| r.get("tensor").and_then(Json::as_str).unwrap())
            .collect();
        assert_eq!(dropped, ["softmax_out", "softmax_dropout"]);
    }
    let flags = j
        .get("megatron_recompute")
        .and_then(|m| m.get("flags"))
        .and_then(Json::as_array)
        .unwrap();
    assert_eq!(flags[0].as_str(), Some("--recompute-granularity selective"));
}

#[test]
fn policy_all_is_one_object_with_search_times() {
    let o = schedule(&format!("{LAYOUT} --memory-gb 40 --policy all --json"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let j = parse(std::str::from_utf8(&o.stdout).unwrap().trim()).unwrap();
    let rows = j.get("policies").and_then(Json::as_array).unwrap();
    assert_eq!(rows.len(), 6);
    for r in rows {
        assert!(r.get("search_s").and_then(Json::as_f64).unwrap() > 0.0);
        assert!(r.get("plan").is_some() != r.get("error").is_some());
    }
}

#[test]
fn infeasible_budget_exits_1_with_the_minimum() {
    let o = schedule(&format!("{LAYOUT} --memory-gb 3 --policy opt"));
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("raise the memory budget (--memory-gb, memory_gb) to at least"),
        "{e}"
    );
    assert!(e.contains("the leanest schedule needs"), "{e}");
    // The side-by-side table still prints, then the run fails the same way.
    let o = schedule(&format!("{LAYOUT} --memory-gb 3 --policy all --json"));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("raise the memory budget (--memory-gb, memory_gb) to at least"));
    let j = parse(std::str::from_utf8(&o.stdout).unwrap().trim()).unwrap();
    let rows = j.get("policies").and_then(Json::as_array).unwrap();
    assert!(rows.iter().all(|r| r.get("error").is_some()));
}

#[test]
fn bad_flags_exit_2_naming_the_flag() {
    for (args, want) in [
        (
            "--model gpt-1.3b --tp 3 --micro-batch 1 --global-batch 8",
            "tp=3 does not divide the 16 attention heads",
        ),
        (
            "--model gpt-1.3b --tp x --micro-batch 1 --global-batch 8",
            "--tp",
        ),
        ("--model gpt-1.3b --micro-batch 1", "'global_batch'"),
        (
            "--model gpt-1.3b --micro-batch 1 --global-batch 8 --policy fastest",
            "unknown policy 'fastest'",
        ),
        (
            "--model gpt-1.3b --micro-batch 1 --global-batch 8 --memory-gb -5",
            "'memory_gb' must be a positive",
        ),
        (
            "--model gpt-5 --micro-batch 1 --global-batch 8",
            "unknown model preset",
        ),
        ("--model gpt-1.3b --colour red", "unknown flag --colour"),
    ] {
        let o = schedule(args);
        assert_eq!(o.status.code(), Some(2), "{args}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args}: {}", stderr(&o));
    }
}

#[test]
fn config_files_are_read_as_json() {
    let dir = std::env::temp_dir().join(format!("llmcore-schedule-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("tiny.json");
    std::fs::write(
        &model,
        r#"{"name": "tiny", "layers": 4, "hidden": 1024, "heads": 8}"#,
    )
    .unwrap();
    let hw = dir.join("hw.json");
    std::fs::write(
        &hw,
        r#"{"base": "h100", "name": "lab-h100", "matmul_efficiency": 0.5}"#,
    )
    .unwrap();
    let o = schedule(&format!(
        "--model {} --hardware {} --pp 2 --micro-batch 2 --global-batch 8 --json",
        model.display(),
        hw.display()
    ));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let j = parse(std::str::from_utf8(&o.stdout).unwrap().trim()).unwrap();
    assert_eq!(j.get("hardware").and_then(Json::as_str), Some("lab-h100"));
    let m = j.get("model").unwrap();
    assert_eq!(m.get("name").and_then(Json::as_str), Some("tiny"));
    assert_eq!(m.get("vocab").and_then(Json::as_u64), Some(51200));
    std::fs::write(&model, r#"{"layers": 4, "hidden": 1024}"#).unwrap();
    let o = schedule(&format!(
        "--model {} --micro-batch 2 --global-batch 8",
        model.display()
    ));
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("--model") && e.contains("missing field 'heads'"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
