//! The training stack on the real SmolLM2-135M: its training forward equals the runtime's exact
//! path, a few fine-tuning steps lower the loss, and a model trained from scratch saves as a
//! GGUF the runtime loads and runs with the same loss.

mod common;

use common::{asset, fixture, SMOLLM2};
use llmcore::model::perplexity::{perplexity, PerplexityParams, ScoreMode};
use llmcore::model::{KvType, Model, ModelConfig, Numerics};
use llmcore::optim::{AdamW, AdamWParams, Optimizer};
use llmcore::train::{Decoder, Params, TokenBatch};
use std::sync::Arc;

fn excerpt_tokens(m: &Model, n: usize) -> Vec<u32> {
    let text = std::fs::read_to_string(fixture("persuasion_excerpt.txt")).unwrap();
    let ids = m.tokenizer().encode(&text, false).unwrap();
    ids[..n].to_vec()
}

fn runtime_nll(m: &Arc<Model>, tokens: &[u32], ctx: usize) -> f64 {
    let p = PerplexityParams {
        ctx,
        max_windows: 0,
        score: ScoreMode::All,
        numerics: Numerics::Exact,
        kv_type: KvType::F32,
    };
    perplexity(m, tokens, &p, &mut |_, _| true).unwrap().nll
}

#[test]
fn training_forward_equals_the_runtime_exact_path_and_fine_tuning_lowers_the_loss() {
    let m = Arc::new(Model::open(asset(SMOLLM2)).unwrap());
    let (rows, seq) = (2, 48);
    let tokens = excerpt_tokens(&m, rows * (seq + 1));
    let want = runtime_nll(&m, &tokens, seq + 1);
    let mut p = Params::from_model(&m).unwrap();
    assert_eq!(p.layout.output, None, "SmolLM2 ties its head");
    let batch = TokenBatch {
        tokens: &tokens,
        rows,
        seq,
    };
    let got = Decoder::new(&p).loss(&batch).unwrap() as f64;
    assert!(
        (got - want).abs() <= 1e-5 * want,
        "training forward {got} vs runtime exact path {want}"
    );
    // Three AdamW steps on this batch (with checkpointing) lower its loss.
    let mut opt = AdamW::create(
        AdamWParams {
            lr: 1e-4,
            weight_decay: 0.0,
            ..AdamWParams::default()
        },
        p.layout.specs.clone(),
    )
    .unwrap();
    let mut losses = Vec::new();
    for _ in 0..3 {
        let mut grads = p.zeros_like();
        losses.push(
            Decoder::new(&p)
                .loss_and_grad(&batch, &mut grads, true)
                .unwrap(),
        );
        let mut ps: Vec<&mut [f32]> = p.tensors.iter_mut().map(Vec::as_mut_slice).collect();
        let gs: Vec<&[f32]> = grads.iter().map(Vec::as_slice).collect();
        opt.step(&mut ps, &gs).unwrap();
    }
    let after = Decoder::new(&p).loss(&batch).unwrap();
    assert!((losses[0] as f64 - want).abs() <= 1e-5 * want);
    assert!(
        after < losses[0] - 0.1,
        "fine-tuning losses {losses:?} then {after}"
    );
    // AdamW's state: two f32 moments per parameter.
    assert_eq!(opt.state_bytes().total, 8 * p.count());
}

#[test]
fn a_model_trained_from_scratch_saves_as_gguf_the_runtime_runs() {
    let donor = Model::open(asset(SMOLLM2)).unwrap();
    let cfg = ModelConfig {
        name: "scratch-test".into(),
        n_layer: 2,
        d_model: 64,
        d_ffn: 128,
        n_head: 4,
        n_kv_head: 2,
        head_dim: 16,
        context_length: 128,
        ..donor.config.clone()
    };
    let p = Params::init(cfg, true, 11);
    let dir = std::env::temp_dir().join(format!("llmcore-train-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("scratch.gguf");
    p.save_gguf(donor.file(), &path, true).unwrap();
    let saved = Arc::new(Model::open(&path).unwrap());
    assert_eq!(saved.config.n_layer, 2);
    assert_eq!(saved.config.d_model, 64);
    let back = Params::from_model(&saved).unwrap();
    assert_eq!(back.tensors, p.tensors, "f32 round trip");
    let tokens = excerpt_tokens(&saved, 33);
    let want = runtime_nll(&saved, &tokens, 33);
    let batch = TokenBatch {
        tokens: &tokens,
        rows: 1,
        seq: 32,
    };
    let got = Decoder::new(&p).loss(&batch).unwrap() as f64;
    assert!((got - want).abs() <= 1e-5 * want, "{got} vs {want}");
    // Nothing is overwritten without asking.
    let e = p
        .save_gguf(donor.file(), &path, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("already exists"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
