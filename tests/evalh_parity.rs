//! Parity with lm-evaluation-harness itself: for each reference in tests/data/evalh_parity/
//! (lm-eval 0.4 run by scripts/lm_eval_parity.py on our task files, Hugging Face transformers
//! loading the same SmolLM2 GGUF dequantized to float32), our harness on the exact path builds
//! the same contexts and continuations, tokenizes them to the same tokens, and gives every
//! log-likelihood within 1e-3 of lm-eval's, the same greedy flags, and identical acc and
//! acc_norm, per document and per task.
//!
//! `cargo test --release --test evalh_parity`

mod common;

use common::{model, SMOLLM2};
use llmcore::evalh::runner::{evaluate_task, EvalSettings};
use llmcore::evalh::suite::{file_sha256, load_task};
use llmcore::evalh::task::Metric;
use llmcore::evalh::{LoglikelihoodRequest, NativeModel};
use llmcore::io::json::{parse, Json};
use llmcore::model::Numerics;
use std::path::Path;

const TOLERANCE: f64 = 1e-3;

fn repo(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn tokens(j: &Json) -> Vec<u32> {
    j.as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap() as u32)
        .collect()
}

fn check(reference: &str) {
    let r = parse(&std::fs::read_to_string(repo(reference)).unwrap()).unwrap();
    let task_ref = r.get("task").unwrap();
    let task_file = repo(task_ref.get("file").and_then(Json::as_str).unwrap());
    // The reference was made from these exact task and document bytes.
    for (key, file) in [
        ("sha256", task_file.clone()),
        (
            "docs_sha256",
            task_file.with_file_name(task_ref.get("docs").and_then(Json::as_str).unwrap()),
        ),
    ] {
        assert_eq!(
            file_sha256(&file).unwrap(),
            task_ref.get(key).and_then(Json::as_str).unwrap(),
            "{} changed since {reference} was made: rerun scripts/lm_eval_parity.py",
            file.display()
        );
    }
    let loaded = load_task(&task_file).unwrap();
    let limit = r.get("limit").and_then(Json::as_u64).unwrap() as usize;
    let docs = r.get("docs").and_then(Json::as_array).unwrap();
    assert_eq!(docs.len(), limit);

    let m = model(SMOLLM2);
    let mut native = NativeModel::new(m, "smollm2".into(), Numerics::Exact, 2048).unwrap();
    let settings = EvalSettings {
        limit: Some(limit),
        num_fewshot: Some(0),
        ..EvalSettings::default()
    };
    let ours = evaluate_task(&mut native, &loaded.task, &settings, &mut |_, _| true).unwrap();
    assert_eq!(ours.samples.len(), limit);

    let mut worst: f64 = 0.0;
    let (mut acc, mut acc_norm) = (0.0, 0.0);
    for (i, (d, s)) in docs.iter().zip(&ours.samples).enumerate() {
        let reqs = d.get("requests").and_then(Json::as_array).unwrap();
        assert_eq!(
            reqs.len(),
            s.continuations.len(),
            "doc {i}: number of choices"
        );
        let pairs: Vec<LoglikelihoodRequest> = reqs
            .iter()
            .map(|q| LoglikelihoodRequest {
                context: q.get("context").and_then(Json::as_str).unwrap().into(),
                continuation: q.get("continuation").and_then(Json::as_str).unwrap().into(),
            })
            .collect();
        let encoded = native.encode(&pairs).unwrap();
        let ctx_tokens = tokens(d.get("context_tokens").unwrap());
        for (j, q) in reqs.iter().enumerate() {
            assert_eq!(
                pairs[j].context, s.context,
                "doc {i} choice {j}: context text"
            );
            assert_eq!(
                pairs[j].continuation, s.continuations[j],
                "doc {i} choice {j}"
            );
            assert_eq!(encoded[j].context, ctx_tokens, "doc {i}: context tokens");
            assert_eq!(
                encoded[j].continuation,
                tokens(q.get("continuation_tokens").unwrap()),
                "doc {i} choice {j}: continuation tokens"
            );
            let theirs = q.get("loglikelihood").and_then(Json::as_f64).unwrap();
            let diff = (theirs - s.loglikelihoods[j]).abs();
            worst = worst.max(diff);
            assert!(
                diff <= TOLERANCE,
                "doc {i} choice {j} ({:?}): ours {} lm-eval {theirs}",
                s.continuations[j],
                s.loglikelihoods[j]
            );
            assert_eq!(
                q.get("is_greedy").and_then(Json::as_bool),
                Some(s.is_greedy[j]),
                "doc {i} choice {j}: is_greedy"
            );
        }
        let score = |m: Metric| s.scores.iter().find(|(x, _)| *x == m).unwrap().1;
        assert_eq!(
            score(Metric::Acc),
            d.get("acc").and_then(Json::as_f64).unwrap(),
            "doc {i}"
        );
        assert_eq!(
            score(Metric::AccNorm),
            d.get("acc_norm").and_then(Json::as_f64).unwrap(),
            "doc {i}: acc_norm"
        );
        acc += score(Metric::Acc) / limit as f64;
        acc_norm += score(Metric::AccNorm) / limit as f64;
    }
    let theirs = |k: &str| r.get(k).and_then(Json::as_f64).unwrap();
    assert!(
        (acc - theirs("acc")).abs() < 1e-12,
        "acc {acc} vs {}",
        theirs("acc")
    );
    assert!((acc_norm - theirs("acc_norm")).abs() < 1e-12);
    let value = |m: Metric| ours.metrics.iter().find(|v| v.metric == m).unwrap().value;
    assert!((value(Metric::Acc) - acc).abs() < 1e-12);
    assert!((value(Metric::AccNorm) - acc_norm).abs() < 1e-12);
    println!(
        "{reference}: {limit} docs, acc {acc:.2} acc_norm {acc_norm:.2} as lm-eval; \
         largest log-likelihood difference {worst:.2e}"
    );
}

#[test]
fn kjv_book_matches_lm_eval() {
    check("tests/data/evalh_parity/kjv_book.json");
}

#[test]
fn austen_novel_matches_lm_eval() {
    check("tests/data/evalh_parity/austen_novel.json");
}
