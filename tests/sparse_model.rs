//! A pruned SmolLM2 whose linear weights are re-stored in the sparse formats: the forward runs
//! on them directly and gives the dense pruned model's logits (within the values' rounding),
//! stays batch-invariant, refuses a matrix that does not fit, and saves back to dense GGUF.

mod common;

use common::{asset, SMOLLM2};
use llmcore::model::save::{SaveOptions, WeightType};
use llmcore::model::{Linear, LogitRows, Matrix, Model, Numerics, OwnedWeight, Session};
use llmcore::prune::method::Method;
use llmcore::prune::pipeline::{prune, PruneSpec};
use llmcore::prune::Pattern;
use llmcore::tensor::sparse::SparseKind;
use llmcore::tensor::GgmlType;
use std::sync::Arc;

/// SmolLM2 with magnitude 2:4 (no calibration needed; the weights only have to fit 2:4).
fn pruned() -> Model {
    let mut m = Model::open(asset(SMOLLM2)).unwrap();
    let spec = PruneSpec::new(Method::Magnitude, Pattern::NM { n: 2, m: 4 }, &m);
    prune(&mut m, &[], &spec, &mut |_| true).unwrap();
    m
}

fn sparse(kind: &str) -> Model {
    let mut m = pruned();
    m.to_sparse(SparseKind::parse(kind).unwrap(), &mut |_, _| {})
        .unwrap();
    m
}

const TOKENS: [u32; 8] = [504, 3458, 282, 4171, 314, 253, 1345, 30];

fn logits(m: Model) -> Vec<f32> {
    let mut s = Session::new(Arc::new(m), 16, Numerics::Exact).unwrap();
    s.eval(&TOKENS, LogitRows::All).unwrap()
}

fn rel(a: &[f32], b: &[f32]) -> f64 {
    let d: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    let n: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
    (d / n).sqrt()
}

/// The model with every linear weight of `m` as an owned dense f32 matrix of the same values.
fn densified(m: &Model) -> Model {
    let mut d = Model::open(asset(SMOLLM2)).unwrap();
    for l in 0..d.config.n_layer {
        for op in Linear::ALL {
            let (rows, cols) = d.config.linear_shape(op);
            let w = OwnedWeight::from_f32(rows, cols, &m.linear_f32(l, op).unwrap()).unwrap();
            d.set_linear(l, op, Matrix::Owned(w)).unwrap();
        }
    }
    d
}

#[test]
fn sparse_storage_computes_what_its_values_say() {
    let pruned_logits = logits(pruned());
    for kind in ["2:4-f16", "2:4-q8", "2:4-q4", "unstructured-q4"] {
        let m = sparse(kind);
        assert!(matches!(m.linear(0, Linear::Q).unwrap(), Matrix::Sparse(_)));
        let bytes = m.linear_bytes().unwrap();
        // The same values through the dense kernels: only the summation order differs.
        let reference = logits(densified(&m));
        let got = logits(m);
        let r = rel(&got, &reference);
        eprintln!(
            "{kind}: {bytes} bytes of linear weights; logits {r:.2e} from the dense product of \
             its values, {:.2e} from the f32 pruned model",
            rel(&got, &pruned_logits)
        );
        assert!(r < 1e-4, "{kind}: {r}");
        if kind == "2:4-f16" {
            assert!(rel(&got, &pruned_logits) < 2e-3);
        }
    }
}

#[test]
fn a_sparse_model_stays_batch_invariant_on_both_paths() {
    let m = Arc::new(sparse("2:4-q4"));
    let vocab = m.config.vocab_size;
    let mut per_path = Vec::new();
    for numerics in [Numerics::Exact, Numerics::Fast] {
        let mut batch = Session::new(m.clone(), 16, numerics).unwrap();
        let all = batch.eval(&TOKENS, LogitRows::All).unwrap();
        let mut single = Session::new(m.clone(), 16, numerics).unwrap();
        for (i, &t) in TOKENS.iter().enumerate() {
            let one = single.eval(&[t], LogitRows::Last).unwrap();
            assert!(
                one == all[i * vocab..(i + 1) * vocab],
                "{numerics:?}: token {i} differs"
            );
        }
        per_path.push(all);
    }
    // The fast path's 8-bit activations move the logits (6.9e-2 measured on this heavily
    // damaged magnitude-pruned model); the kernel itself is checked against an exact integer
    // reference in tensor::sparse's tests.
    let r = rel(&per_path[1], &per_path[0]);
    eprintln!("fast vs exact path on 2:4-q4: {r:.2e}");
    assert!(r < 0.15, "{r}");
}

#[test]
fn unfit_matrices_are_refused_and_sparse_models_save_dense() {
    let mut m = Model::open(asset(SMOLLM2)).unwrap();
    let err = m
        .to_sparse(SparseKind::parse("2:4-q4").unwrap(), &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("blk.0.attn_q.weight does not fit 2:4-q4"),
        "{err}"
    );
    assert!(matches!(m.linear(0, Linear::Q).unwrap(), Matrix::Mapped(_)));

    let m = sparse("2:4-f16");
    let dir = std::env::temp_dir().join(format!("llmcore-sparse-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.gguf");
    let keep = SaveOptions {
        weight_type: WeightType::Keep,
        extra_metadata: vec![],
        overwrite: true,
    };
    let err = m.save_gguf(&path, &keep, &mut |_, _| true).unwrap_err();
    assert!(err.to_string().contains("GGUF has no sparse type"), "{err}");
    assert!(!path.exists());
    let f16 = SaveOptions {
        weight_type: WeightType::As(GgmlType::F16),
        ..keep
    };
    m.save_gguf(&path, &f16, &mut |_, _| true).unwrap();
    let back = Model::open(&path).unwrap();
    for l in [0, 29] {
        for op in Linear::ALL {
            assert!(back.linear_f32(l, op).unwrap() == m.linear_f32(l, op).unwrap());
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}
