//! The evaluation harness on SmolLM2-135M.
//!
//! - Prefix reuse: scoring a question's choices in one forward over the shared context (a tree
//!   mask) gives the log-likelihoods and greedy flags of scoring each request alone, on both
//!   numeric paths.
//! - The boundary: the context's trailing whitespace moves onto the continuation before the
//!   joined string is tokenized, and a continuation with no tokens is an error.
//! - Few-shot contexts are a function of (seed, document), whatever `--limit` is.
//!
//! `cargo test --release --test evalh`

mod common;

use common::{model, SMOLLM2};
use llmcore::evalh::boundary::encode_pair;
use llmcore::evalh::runner::build_context;
use llmcore::evalh::task::parse_docs;
use llmcore::evalh::{LanguageModel, LoglikelihoodRequest, NativeModel, Task, TaskSpec};
use llmcore::model::perplexity::loglikelihood;
use llmcore::model::Numerics;

fn request(context: &str, continuation: &str) -> LoglikelihoodRequest {
    LoglikelihoodRequest {
        context: context.into(),
        continuation: continuation.into(),
    }
}

/// Two questions whose choices differ in token length (one a single token), interleaved so
/// the grouping by context is exercised, plus an empty context (scored after the BOS token).
fn requests() -> Vec<LoglikelihoodRequest> {
    let q1 = "Question: What is the capital of France?\nAnswer:";
    let q2 =
        "The verse \"In the beginning God created the heaven and the earth\" is from the book of";
    vec![
        request(q1, " Paris"),
        request(q2, " Genesis"),
        request(q1, " Lyon, a city on the Rhone"),
        request(q2, " the Revelation of Saint John the Divine"),
        request(q1, " Marseille"),
        request("", "The quick brown fox jumps over the lazy dog."),
        request(q2, " Exodus"),
    ]
}

#[test]
fn shared_context_scores_equal_separate_evaluation() {
    let m = model(SMOLLM2);
    for numerics in [Numerics::Exact, Numerics::Fast] {
        let mut native = NativeModel::new(m.clone(), "smollm2".into(), numerics, 2048).unwrap();
        let reqs = requests();
        let pairs = native.encode(&reqs).unwrap();
        let shared = native.loglikelihood(&reqs, &mut |_| true).unwrap();
        assert_eq!(shared.len(), reqs.len());
        for (i, (p, s)) in pairs.iter().zip(&shared).enumerate() {
            let alone = loglikelihood(&m, &p.context, &p.continuation, numerics).unwrap();
            let diff = (alone.logprob - s.logprob).abs();
            assert!(
                diff <= 1e-6 * alone.logprob.abs().max(1.0),
                "{numerics:?} request {i}: shared {} vs alone {}",
                s.logprob,
                alone.logprob
            );
            assert_eq!(alone.is_greedy, s.is_greedy, "{numerics:?} request {i}");
            assert!(s.logprob < 0.0);
        }
        // The question is answered sensibly: Paris over the others.
        assert!(shared[0].logprob > shared[2].logprob && shared[0].logprob > shared[4].logprob);
    }
}

#[test]
fn the_boundary_moves_whitespace_and_rejects_empty_continuations() {
    let m = model(SMOLLM2);
    let t = m.tokenizer();
    let bos = t.bos().unwrap();
    // "Answer: " + "yes" is tokenized as "Answer:" + " yes".
    let p = encode_pair(t, "Answer: ", "yes", bos).unwrap();
    assert_eq!(p.context, t.encode("Answer:", false).unwrap());
    assert_eq!(p.continuation, t.encode(" yes", false).unwrap());
    let whole = t.encode("Answer: yes", false).unwrap();
    assert_eq!([&p.context[..], &p.continuation[..]].concat(), whole);
    // An empty context is the prefix token.
    let p = encode_pair(t, "", "Hello", bos).unwrap();
    assert_eq!(p.context, vec![bos]);
    // A continuation that is only the context's moved whitespace still has tokens; an empty
    // one has none and is named as the error.
    let e = encode_pair(t, "Answer:", "", bos).unwrap_err().to_string();
    assert!(e.contains("continuation"), "{e}");
}

#[test]
fn few_shot_contexts_depend_on_seed_and_document_only() {
    let docs: String = (0..12)
        .map(|i| format!("{{\"q\": \"question {i}\", \"a\": \"answer {i}\"}}\n"))
        .collect();
    let spec = |seed: u64| {
        TaskSpec::parse(&format!(
            r#"{{"name": "t", "docs": "t.jsonl", "output_type": "generate_until",
                "doc_to_text": "Q: {{{{q}}}}\nA:", "doc_to_target": "{{{{a}}}}",
                "num_fewshot": 3, "fewshot_seed": {seed}, "until": ["\n"],
                "metrics": ["exact_match"]}}"#
        ))
        .unwrap()
    };
    let task = |seed| Task::new(spec(seed), parse_docs(&docs, "t.jsonl").unwrap(), None).unwrap();
    let (a, b, c) = (task(1234), task(1234), task(99));
    let ctx = |t: &Task, i| build_context(t, i, 3).unwrap();
    assert_eq!(ctx(&a, 4), ctx(&b, 4));
    assert_ne!(ctx(&a, 4), ctx(&c, 4), "another seed draws other examples");
    // The document asked is never its own example, and three distinct examples precede it.
    let c4 = ctx(&a, 4);
    assert!(c4.ends_with("Q: question 4\nA:"), "{c4}");
    assert_eq!(c4.matches("question 4").count(), 1, "{c4}");
    assert_eq!(c4.matches("\n\n").count(), 3, "{c4}");
    let e = build_context(&a, 0, 12).unwrap_err().to_string();
    assert!(e.contains("pool holds 11"), "{e}");
}
