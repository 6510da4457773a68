//! The pruning pipeline on the real SmolLM2: exact sparsity in every matrix, N:M groups exact,
//! sequential mode feeding pruned outputs forward (dense-input mode not), layer ranges pruned
//! apart and merged equal to one whole run bit for bit, cancellation, and bad requests refused
//! before any work.

mod common;

use common::{asset, fixture, SMOLLM2};
use llmcore::io::Value;
use llmcore::model::perplexity::{perplexity, PerplexityParams, ScoreMode};
use llmcore::model::{KvType, Linear, Model, Numerics};
use llmcore::prune::calib;
use llmcore::prune::fista::FistaParams;
use llmcore::prune::method::Method;
use llmcore::prune::owl::OwlParams;
use llmcore::prune::pipeline::{prune, validate, Mode, PruneSpec};
use llmcore::prune::shard::{merge_shards, save_shard};
use llmcore::prune::sparsegpt::SparseGptParams;
use llmcore::prune::Pattern;
use std::sync::Arc;

fn windows(m: &Model, n: usize, len: usize) -> Vec<Vec<u32>> {
    let text = std::fs::read_to_string(fixture("persuasion_excerpt.txt")).unwrap();
    calib::from_text(m.tokenizer(), &text, "excerpt", n, len, 0)
        .unwrap()
        .windows
}

fn run(spec_of: impl Fn(&Model) -> PruneSpec, calib: &[Vec<u32>]) -> Model {
    let mut m = Model::open(asset(SMOLLM2)).unwrap();
    let spec = spec_of(&m);
    prune(&mut m, calib, &spec, &mut |_| true).unwrap();
    m
}

#[test]
fn wanda_prunes_every_matrix_exactly() {
    let m0 = Model::open(asset(SMOLLM2)).unwrap();
    let calib = windows(&m0, 2, 64);
    for pattern in [
        Pattern::Unstructured { sparsity: 0.5 },
        Pattern::NM { n: 2, m: 4 },
    ] {
        let mut m = Model::open(asset(SMOLLM2)).unwrap();
        let spec = PruneSpec::new(Method::Wanda, pattern, &m);
        let mut last = 0;
        let report = prune(&mut m, &calib, &spec, &mut |p| {
            assert!(p.done == last + 1 && p.done <= p.total);
            last = p.done;
            true
        })
        .unwrap();
        assert_eq!(report.matrices.len(), 30 * 7);
        for r in &report.matrices {
            let w = m.linear_f32(r.layer, r.op).unwrap();
            let dense = m0.linear_f32(r.layer, r.op).unwrap();
            // Kept weights are the dense ones, untouched (Wanda does not update).
            assert!(w.iter().zip(&dense).all(|(a, b)| *a == 0.0 || a == b));
            for row in w.chunks(r.cols) {
                let zeros = row.iter().filter(|&&v| v == 0.0).count();
                match pattern {
                    // At least floor(cols/2) per row (a dense weight may already be zero).
                    Pattern::Unstructured { .. } => assert!(zeros >= r.cols / 2),
                    Pattern::NM { .. } => {
                        for g in row.chunks(4) {
                            assert!(g.iter().filter(|&&v| v == 0.0).count() >= 2);
                        }
                    }
                }
            }
            assert_eq!(r.zeros, w.iter().filter(|&&v| v == 0.0).count());
        }
        assert!(
            (report.sparsity() - 0.5).abs() < 1e-3,
            "{}",
            report.sparsity()
        );
    }
}

/// Mean NLL of the calibration windows themselves under `m`.
fn calib_nll(m: Model, calib: &[Vec<u32>]) -> f64 {
    let tokens: Vec<u32> = calib.concat();
    let params = PerplexityParams {
        ctx: calib[0].len(),
        max_windows: 0,
        score: ScoreMode::All,
        numerics: Numerics::Exact,
        kv_type: KvType::F32,
    };
    perplexity(&Arc::new(m), &tokens, &params, &mut |_, _| true)
        .unwrap()
        .nll
}

#[test]
fn sparsegpt_keeps_the_pattern_and_reconstructs_better_than_wanda() {
    let m0 = Model::open(asset(SMOLLM2)).unwrap();
    let calib = windows(&m0, 4, 64);
    let spec = |method: Method| {
        move |m: &Model| PruneSpec {
            layers: 0..6,
            ..PruneSpec::new(method.clone(), Pattern::NM { n: 2, m: 4 }, m)
        }
    };
    let sgpt = run(spec(Method::SparseGpt(SparseGptParams::default())), &calib);
    for l in 0..30 {
        for op in Linear::ALL {
            let w = sgpt.linear_f32(l, op).unwrap();
            if l >= 6 {
                assert!(
                    w == m0.linear_f32(l, op).unwrap(),
                    "layer {l} outside the range"
                );
                continue;
            }
            for g in w.chunks(4) {
                assert!(
                    g.iter().filter(|&&v| v == 0.0).count() >= 2,
                    "layer {l} {op:?}"
                );
            }
        }
    }
    // Both fit the same windows; SparseGPT's updates of the kept weights make up for much of
    // what the mask removes, Wanda's bare mask does not.
    let wanda = run(spec(Method::Wanda), &calib);
    let (dense, w, s) = (
        calib_nll(m0, &calib),
        calib_nll(wanda, &calib),
        calib_nll(sgpt, &calib),
    );
    eprintln!("calibration NLL: dense {dense:.4}, wanda {w:.4}, sparsegpt {s:.4}");
    assert!(
        dense < s && s < w,
        "dense {dense}, wanda {w}, sparsegpt {s}"
    );
}

#[test]
fn fista_corrects_within_the_layer_and_beats_its_warm_start() {
    let m0 = Model::open(asset(SMOLLM2)).unwrap();
    let calib = windows(&m0, 4, 64);
    let pattern = Pattern::Unstructured { sparsity: 0.5 };
    let spec = |method: Method| {
        move |m: &Model| PruneSpec {
            layers: 0..4,
            ..PruneSpec::new(method.clone(), pattern, m)
        }
    };
    let mut fista = Model::open(asset(SMOLLM2)).unwrap();
    let fspec = spec(Method::Fista(FistaParams::default()))(&fista);
    assert_eq!(fspec.mode, Mode::DenseInput);
    let report = prune(&mut fista, &calib, &fspec, &mut |_| true).unwrap();
    assert_eq!(report.matrices.len(), 4 * 7);
    for r in &report.matrices {
        let before = r.notes.iter().find(|n| n.0 == "sparsity_before_projection");
        let before = before
            .expect("FISTA reports its sparsity before the projection")
            .1;
        eprintln!(
            "layer {} {:?}: before projection {before:.4}, after {:.4}",
            r.layer,
            r.op,
            r.sparsity()
        );
        assert!((before - 0.5).abs() <= 0.05, "{r:?}");
        // Exact after the projection and refit: floor(rows * cols / 2) zeros.
        assert_eq!(r.zeros, r.rows * r.cols / 2, "{r:?}");
    }
    // Wanda is FISTA's warm start here: the lasso and the correction must improve on it.
    let wanda = run(spec(Method::Wanda), &calib);
    let (dense, w, f) = (
        calib_nll(m0, &calib),
        calib_nll(wanda, &calib),
        calib_nll(fista, &calib),
    );
    eprintln!("calibration NLL: dense {dense:.4}, wanda {w:.4}, fista {f:.4}");
    assert!(dense < f && f < w, "dense {dense}, wanda {w}, fista {f}");
}

#[test]
fn owl_spreads_layer_sparsities_around_the_target() {
    let m0 = Model::open(asset(SMOLLM2)).unwrap();
    let calib = windows(&m0, 2, 32);
    for pattern in [
        Pattern::Unstructured { sparsity: 0.7 },
        Pattern::NM { n: 4, m: 8 },
    ] {
        let mut m = Model::open(asset(SMOLLM2)).unwrap();
        let spec = PruneSpec {
            owl: Some(OwlParams::default()),
            ..PruneSpec::new(Method::Wanda, pattern, &m)
        };
        let report = prune(&mut m, &calib, &spec, &mut |_| true).unwrap();
        let layer_target = |l: usize| {
            report
                .matrices
                .iter()
                .find(|r| r.layer == l)
                .unwrap()
                .target
        };
        let targets: Vec<f64> = (0..30).map(layer_target).collect();
        let mean = targets.iter().sum::<f64>() / 30.0;
        eprintln!("{}: layer sparsities {targets:.3?}", pattern.describe());
        assert!((mean - pattern.sparsity()).abs() < 1e-9, "mean {mean}");
        let (lo, hi) = targets
            .iter()
            .fold((1.0f64, 0.0f64), |(a, b), &t| (a.min(t), b.max(t)));
        assert!(hi > lo, "OWL left every layer at the target");
        assert!(hi - lo <= 0.16 + 1e-9 || matches!(pattern, Pattern::NM { .. }));
        for r in &report.matrices {
            // Every row at its layer's sparsity, exactly (floor of cols * s per row).
            let w = m.linear_f32(r.layer, r.op).unwrap();
            let per_row = match pattern {
                Pattern::Unstructured { .. } => (r.cols as f64 * r.target) as usize,
                Pattern::NM { m, .. } => r.cols / m * (r.target * m as f64).round() as usize,
            };
            for row in w.chunks(r.cols) {
                assert!(row.iter().filter(|&&v| v == 0.0).count() >= per_row);
            }
        }
    }
}

#[test]
fn sequential_mode_feeds_pruned_outputs_forward() {
    let m0 = Model::open(asset(SMOLLM2)).unwrap();
    let calib = windows(&m0, 2, 64);
    let spec = |mode| {
        move |m: &Model| PruneSpec {
            mode,
            ..PruneSpec::new(Method::Wanda, Pattern::Unstructured { sparsity: 0.5 }, m)
        }
    };
    let seq = run(spec(Mode::Sequential), &calib);
    let dense = run(spec(Mode::DenseInput), &calib);
    // Layer 0 sees the embeddings either way; later layers see different inputs.
    for op in Linear::ALL {
        assert!(seq.linear_f32(0, op).unwrap() == dense.linear_f32(0, op).unwrap());
    }
    assert!(seq.linear_f32(5, Linear::Down).unwrap() != dense.linear_f32(5, Linear::Down).unwrap());
}

#[test]
fn ranges_pruned_apart_merge_into_the_whole_run() {
    let m0 = Model::open(asset(SMOLLM2)).unwrap();
    let calib = windows(&m0, 2, 32);
    let spec = |layers: std::ops::Range<usize>| {
        move |m: &Model| PruneSpec {
            mode: Mode::DenseInput,
            layers: layers.clone(),
            ..PruneSpec::new(Method::Wanda, Pattern::NM { n: 2, m: 4 }, m)
        }
    };
    let whole = run(spec(0..30), &calib);
    let dir = std::env::temp_dir().join(format!("llmcore-prune-ranges-{}", std::process::id()));
    let keys = vec![(
        "llmcore.prune.settings".to_string(),
        Value::String("t".into()),
    )];
    let mut shards = Vec::new();
    for r in [0..11, 11..30] {
        let part = run(spec(r.clone()), &calib);
        shards.push(save_shard(&part, r, &keys, &dir, true).unwrap());
    }
    let mut merged = Model::open(asset(SMOLLM2)).unwrap();
    merge_shards(&mut merged, &shards).unwrap();
    for l in 0..30 {
        for op in Linear::ALL {
            let (a, b) = (
                whole.linear_f32(l, op).unwrap(),
                merged.linear_f32(l, op).unwrap(),
            );
            assert!(a == b, "layer {l} {op:?} differs");
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn cancelling_stops_and_bad_requests_are_refused_first() {
    let mut m = Model::open(asset(SMOLLM2)).unwrap();
    let calib = windows(&m, 2, 32);
    let spec = PruneSpec::new(Method::Wanda, Pattern::Unstructured { sparsity: 0.5 }, &m);
    let err = prune(&mut m, &calib, &spec, &mut |p| p.done < 5).unwrap_err();
    assert_eq!(err, llmcore::Error::Cancelled);

    let m = Model::open(asset(SMOLLM2)).unwrap();
    let msg =
        |spec: &PruneSpec, calib: &[Vec<u32>]| validate(&m, calib, spec).unwrap_err().to_string();
    let base = PruneSpec::new(Method::Wanda, Pattern::Unstructured { sparsity: 0.5 }, &m);
    let bad_range = PruneSpec {
        layers: 20..31,
        ..base.clone()
    };
    assert!(msg(&bad_range, &calib).contains("layer range 20..31"));
    let bad_nm = PruneSpec {
        pattern: Pattern::NM { n: 2, m: 5 },
        ..base.clone()
    };
    assert!(msg(&bad_nm, &calib).contains("2:5 does not divide"));
    let bad_s = PruneSpec {
        pattern: Pattern::Unstructured { sparsity: 1.0 },
        ..base.clone()
    };
    assert!(msg(&bad_s, &calib).contains("outside [0, 1)"));
    assert!(msg(&base, &[]).contains("needs calibration windows"));
    let ragged = vec![calib[0].clone(), calib[1][..10].to_vec()];
    assert!(msg(&base, &ragged).contains("window 1 has 10 tokens"));
    let long = vec![vec![1u32; 9000]];
    assert!(msg(&base, &long).contains("exceed the model's context"));
    let oov = vec![vec![60_000u32; 4]];
    assert!(msg(&base, &oov).contains("token 60000"));
    // Magnitude needs no calibration.
    let mag = PruneSpec::new(Method::Magnitude, Pattern::NM { n: 2, m: 4 }, &m);
    assert!(validate(&m, &[], &mag).is_ok());
}
