//! Speculative decoding is lossless on real models and in distribution.
//!
//! - Greedy: the output equals plain greedy decoding of the target token for token (and the
//!   stop reason, the text and the session's final length too) for every tree builder, with
//!   SmolLM2 drafting for itself from its first layers, the n-gram draft, and the Qwen2.5-Coder
//!   0.5B -> 1.5B pair (when the 1.5B is fetched: scripts/fetch-assets.sh --qwen-target).
//! - Sampled: on the tiny llama with its first layer as the draft, the distribution of
//!   3-token continuations from speculative sampling matches the target's own (enumerated
//!   exactly), by a chi-square test with fixed seeds, for OPT-Tree and the chain.
//!
//! `cargo test --release --test speculative`

mod common;
use llmcore as core_lib;
#[path = "common/tiny_llama.rs"]
mod tiny_llama;

use common::{assets_dir, model, QWEN_05B, SMOLLM2};
use llmcore::io::gguf::GgufFile;
use llmcore::io::Bytes;
use llmcore::model::generate::{generate, GenerateParams, Generation, StopReason};
use llmcore::model::sampling::{Sampler, SamplerParams};
use llmcore::model::{LogitRows, Model, Numerics, Session};
use llmcore::spec::{
    Budget, Draft, ModelDraft, NgramDraft, SpecParams, Speculation, Speculator, TreeKind,
};
use std::sync::Arc;

const QWEN_15B: &str = "models/Qwen2.5-Coder-1.5B-Instruct.gguf";

const CODE: &str = "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n";
const REPEAT: &str =
    "Copy the list exactly.\nInput: apple, banana, cherry, date, elderberry, fig, \
                      grape, honeydew, kiwi, lemon, mango\nCopy: apple, banana,";

fn plain(model: &Arc<Model>, prompt: &[u32], params: &GenerateParams) -> (Generation, usize) {
    let ctx = model.config.context_length.min(512);
    let mut s = Session::new(model.clone(), ctx, Numerics::Fast).unwrap();
    let g = generate(&mut s, prompt, params, &mut |_| true).unwrap();
    (g, s.len())
}

fn speculate(
    model: &Arc<Model>,
    draft: &mut dyn Draft,
    prompt: &[u32],
    params: SpecParams,
) -> (Speculation, usize, String) {
    let ctx = model.config.context_length.min(512);
    let mut s = Session::new(model.clone(), ctx, Numerics::Fast).unwrap();
    let mut streamed = String::new();
    let mut spec = Speculator::new(params).unwrap();
    let out = spec
        .generate(&mut s, draft, prompt, &mut |t| {
            streamed.push_str(t);
            true
        })
        .unwrap();
    (out, s.len(), streamed)
}

/// Every tree builder at a few budgets (and the automatic one) gives the plain greedy output,
/// and the best of them emits more than `min_length` tokens per target step.
fn check_greedy(
    target: &Arc<Model>,
    draft: &mut dyn Draft,
    prompts: &[&str],
    max_tokens: usize,
    min_length: f64,
) {
    let gp = GenerateParams {
        max_tokens,
        ..Default::default()
    };
    for text in prompts {
        let prompt = target.tokenizer().encode(text, false).unwrap();
        let (want, want_len) = plain(target, &prompt, &gp);
        let mut cases = vec![(TreeKind::Opt, Budget::Auto { max: 16 })];
        for kind in [
            TreeKind::Opt,
            TreeKind::Chain,
            TreeKind::Eagle,
            TreeKind::Sequoia,
        ] {
            for budget in [1, 6, 20] {
                cases.push((kind, Budget::Fixed(budget)));
            }
        }
        let mut best = 0.0f64;
        for (tree, budget) in cases {
            let params = SpecParams {
                generate: gp.clone(),
                tree,
                budget,
                ..Default::default()
            };
            let (got, len, streamed) = speculate(target, draft, &prompt, params);
            let g = &got.generation;
            let what = format!("{} {tree:?} {budget:?} on {text:?}", draft.describe());
            assert_eq!(g.tokens, want.tokens, "{what}");
            assert_eq!((g.stop, &g.text), (want.stop, &want.text), "{what}");
            assert_eq!(streamed, want.text, "{what}: streamed text");
            assert_eq!(len, want_len, "{what}: session length");
            let st = &got.stats;
            assert_eq!(
                st.accepted + st.steps,
                g.tokens.len(),
                "{what}: one bonus per step"
            );
            best = best.max(st.mean_accepted_length());
        }
        assert!(
            best > min_length,
            "{} on {text:?}: best acceptance length {best}",
            draft.describe()
        );
    }
}

#[test]
fn smollm2_self_draft_is_plain_greedy_for_every_tree() {
    let target = model(SMOLLM2);
    let mut draft = ModelDraft::self_draft(target.clone(), 10, Numerics::Fast).unwrap();
    // SmolLM2's first third predicts its output poorly (measured best 1.1-1.2 tokens per step):
    // the check is that some drafted tokens are accepted.
    check_greedy(&target, &mut draft, &[CODE, REPEAT], 40, 1.0);
}

#[test]
fn ngram_draft_is_plain_greedy_for_every_tree() {
    let target = model(SMOLLM2);
    let mut draft = NgramDraft::new(3, 1).unwrap();
    // The list is copied: long chains are accepted (measured 5-8 tokens per step).
    check_greedy(&target, &mut draft, &[REPEAT], 48, 3.0);
}

#[test]
fn qwen_pair_is_plain_greedy_for_every_tree() {
    let target_path = assets_dir().join(QWEN_15B);
    let target = if target_path.exists() {
        Arc::new(Model::open(&target_path).unwrap())
    } else {
        // Without the 1.5B (scripts/fetch-assets.sh --qwen-target), the 0.5B drafts for itself:
        // the same code path with a separate draft model object and cache.
        eprintln!(
            "{} missing: the 0.5B drafts for its own copy",
            target_path.display()
        );
        model(QWEN_05B)
    };
    let draft_model = Arc::new(Model::open(assets_dir().join(QWEN_05B)).unwrap());
    let mut draft = ModelDraft::new(draft_model, &target, Numerics::Fast).unwrap();
    check_greedy(&target, &mut draft, &[CODE], 24, 1.5);
}

#[test]
fn stop_strings_eos_and_the_context_end_where_plain_decoding_ends() {
    let target = model(SMOLLM2);
    let prompt = target.tokenizer().encode(CODE, false).unwrap();
    let mut draft = ModelDraft::self_draft(target.clone(), 10, Numerics::Fast).unwrap();
    // A stop string inside what the draft gets accepted.
    let gp = GenerateParams {
        max_tokens: 64,
        stop: vec!["return".into()],
        ..Default::default()
    };
    let (want, want_len) = plain(&target, &prompt, &gp);
    assert_eq!(want.stop, StopReason::StopString, "{:?}", want.text);
    let params = SpecParams {
        generate: gp,
        budget: Budget::Fixed(8),
        ..Default::default()
    };
    let (got, len, _) = speculate(&target, &mut draft, &prompt, params.clone());
    assert_eq!(got.generation.tokens, want.tokens);
    assert_eq!(
        (got.generation.stop, got.generation.text),
        (want.stop, want.text)
    );
    assert_eq!(len, want_len);
    // A context that fills up mid-tree.
    let small = prompt.len() + 9;
    let gp = GenerateParams {
        max_tokens: 100,
        ..Default::default()
    };
    let mut s = Session::new(target.clone(), small, Numerics::Fast).unwrap();
    let want = generate(&mut s, &prompt, &gp, &mut |_| true).unwrap();
    assert_eq!(want.stop, StopReason::ContextFull);
    let mut s2 = Session::new(target.clone(), small, Numerics::Fast).unwrap();
    let mut spec = Speculator::new(SpecParams {
        generate: gp,
        budget: Budget::Fixed(8),
        ..params
    })
    .unwrap();
    let got = spec
        .generate(&mut s2, &mut draft, &prompt, &mut |_| true)
        .unwrap();
    assert_eq!(got.generation.tokens, want.tokens);
    assert_eq!(got.generation.stop, StopReason::ContextFull);
    assert_eq!(s2.len(), s.len());
}

#[test]
fn bad_settings_and_mismatched_vocabularies_are_named() {
    let smol = model(SMOLLM2);
    let qwen = model(QWEN_05B);
    let e = ModelDraft::new(qwen.clone(), &smol, Numerics::Fast)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("vocabularies differ"), "{e}");
    let e = ModelDraft::self_draft(smol.clone(), 30, Numerics::Fast)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("self-draft of 30 layers") && e.contains("1..=29"),
        "{e}"
    );
    for budget in [Budget::Fixed(0), Budget::Auto { max: 0 }] {
        let e = Speculator::new(SpecParams {
            budget,
            ..Default::default()
        })
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("budget 0"), "{e}");
    }
    let e = Speculator::new(SpecParams {
        max_depth: 0,
        ..Default::default()
    })
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("depth 0"), "{e}");
    // A prompt longer than the context.
    let mut s = Session::new(smol.clone(), 8, Numerics::Fast).unwrap();
    let prompt = smol.tokenizer().encode(CODE, false).unwrap();
    let mut draft = NgramDraft::new(3, 1).unwrap();
    let mut spec = Speculator::new(SpecParams::default()).unwrap();
    let e = spec
        .generate(&mut s, &mut draft, &prompt, &mut |_| true)
        .err()
        .unwrap();
    assert!(e.to_string().contains("context"), "{e}");
    assert_eq!(s.len(), 0, "nothing evaluated");
    let e = spec
        .generate(&mut s, &mut draft, &[], &mut |_| true)
        .err()
        .unwrap();
    assert!(e.to_string().contains("non-empty prompt"), "{e}");
}

/// The target's exact distribution of continuations of `prompt` up to `len` tokens (an
/// end-of-generation token ends one early), by enumeration with the sampler's own distribution at each step.
fn exact_distribution(
    model: &Arc<Model>,
    prompt: &[u32],
    sampler: &Sampler,
    len: usize,
) -> Vec<(Vec<u32>, f64)> {
    let tok = model.tokenizer();
    let mut out = Vec::new();
    let mut stack = vec![(Vec::<u32>::new(), 1.0f64)];
    while let Some((seq, p)) = stack.pop() {
        if seq.len() == len || seq.last().is_some_and(|&t| tok.is_eog(t)) {
            out.push((seq, p));
            continue;
        }
        let mut s = Session::new(model.clone(), 0, Numerics::Fast).unwrap();
        let history: Vec<u32> = prompt.iter().chain(&seq).copied().collect();
        let mut logits = s.eval(&history, LogitRows::Last).unwrap();
        for (t, q) in sampler.distribution(&mut logits, &history) {
            let mut next = seq.clone();
            next.push(t);
            stack.push((next, p * q));
        }
    }
    out
}

#[test]
fn speculative_sampling_matches_the_target_distribution() {
    let bytes = tiny_llama::TinyLlama::new().bytes();
    let target = Arc::new(Model::from_gguf(GgufFile::parse(Bytes::from(bytes)).unwrap()).unwrap());
    let prompt = target.tokenizer().encode("ABC", false).unwrap();
    let sampler = SamplerParams {
        temperature: 1.0,
        top_k: 3,
        top_p: 1.0,
        ..Default::default()
    };
    let len = 3;
    let exact = exact_distribution(&target, &prompt, &Sampler::new(sampler), len);
    let total: f64 = exact.iter().map(|e| e.1).sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");
    let n = 12_000u64;
    for tree in [TreeKind::Opt, TreeKind::Chain] {
        let mut counts = vec![0u64; exact.len()];
        let mut draft = ModelDraft::self_draft(target.clone(), 1, Numerics::Fast).unwrap();
        let mut accepted = 0;
        for seed in 0..n {
            let params = SpecParams {
                generate: GenerateParams {
                    max_tokens: len,
                    sampler: SamplerParams { seed, ..sampler },
                    ..Default::default()
                },
                tree,
                budget: Budget::Fixed(4),
                ..Default::default()
            };
            let (got, _, _) = speculate(&target, &mut draft, &prompt, params);
            accepted += got.stats.accepted;
            let i = exact
                .iter()
                .position(|e| e.0 == got.generation.tokens)
                .unwrap_or_else(|| panic!("{:?} is not a possible output", got.generation.tokens));
            counts[i] += 1;
        }
        // Measured per 20,000 runs: ~4,950 accepted draft tokens with OPT-Tree, ~435 with the
        // chain (the one-layer draft's top token is rarely the target's): the draft is in play.
        assert!(
            accepted > n as usize / 100,
            "{tree:?}: {accepted} draft tokens accepted"
        );
        // Pearson's chi-square over the outcomes, those expected fewer than 5 times pooled.
        let (mut chi, mut df, mut pool_e, mut pool_o) = (0.0, 0usize, 0.0, 0.0);
        for (e, &o) in exact.iter().zip(&counts) {
            let expected = e.1 * n as f64;
            if expected < 5.0 {
                pool_e += expected;
                pool_o += o as f64;
            } else {
                chi += (o as f64 - expected).powi(2) / expected;
                df += 1;
            }
        }
        if pool_e > 0.0 {
            chi += (pool_o - pool_e).powi(2) / pool_e.max(1e-9);
            df += 1;
        }
        let df = df - 1;
        // The 0.999 quantile of chi-square(df), by the Wilson-Hilferty approximation.
        let z = 3.09;
        let k = df as f64;
        let q = k * (1.0 - 2.0 / (9.0 * k) + z * (2.0 / (9.0 * k)).sqrt()).powi(3);
        assert!(
            chi < q,
            "{tree:?}: chi2 {chi:.1} >= {q:.1} with {df} degrees of freedom"
        );
        eprintln!("{tree:?}: chi2 {chi:.1} < {q:.1} (df {df}), {accepted} draft tokens accepted");
    }
}
