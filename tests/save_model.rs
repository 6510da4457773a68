//! Saving models: a kept-type save reproduces the model bit for bit, F16 and Q8_0 saves reload
//! close to the original, pruned zeros survive an F16 save exactly, metadata and tokenizer are
//! copied, and a cancelled save or an existing destination leaves the disk as it was.

mod common;

use common::{asset, model, SMOLLM2};
use llmcore::io::Value;
use llmcore::model::save::{SaveOptions, WeightType};
use llmcore::model::{Linear, LogitRows, Matrix, Model, Numerics, OwnedWeight, Session};
use llmcore::tensor::GgmlType;
use std::path::PathBuf;
use std::sync::Arc;

const PROMPT: &str = "The capital of France is Paris, and the capital of Italy is";

fn out_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("llmcore-save-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn logits(m: &Arc<Model>, numerics: Numerics) -> Vec<f32> {
    let tokens = m.tokenizer().encode(PROMPT, false).unwrap();
    let mut s = Session::new(m.clone(), tokens.len(), numerics).unwrap();
    s.eval(&tokens, LogitRows::All).unwrap()
}

fn save(m: &Model, name: &str, weight_type: WeightType) -> PathBuf {
    let path = out_dir().join(name);
    let opts = SaveOptions {
        weight_type,
        extra_metadata: vec![("llmcore.test".into(), Value::String("saved".into()))],
        overwrite: true,
    };
    m.save_gguf(&path, &opts, &mut |_, _| true).unwrap();
    path
}

fn max_rel(a: &[f32], b: &[f32]) -> f64 {
    let scale = a.iter().map(|v| v.abs()).fold(0.0f32, f32::max) as f64;
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() as f64)
        .fold(0.0, f64::max)
        / scale
}

#[test]
fn kept_types_reproduce_the_model() {
    let m = model(SMOLLM2);
    let path = save(&m, "keep.gguf", WeightType::Keep);
    let back = Arc::new(Model::open(&path).unwrap());
    for numerics in [Numerics::Fast, Numerics::Exact] {
        assert!(
            logits(&m, numerics) == logits(&back, numerics),
            "{numerics:?}"
        );
    }
    // Every source key is there with its value (tokenizer included), plus the extra key.
    let (src, dst) = (m.file(), back.file());
    assert_eq!(dst.metadata.len(), src.metadata.len() + 1);
    assert_eq!(&dst.metadata[..src.metadata.len()], &src.metadata[..]);
    assert_eq!(dst.get_str("llmcore.test").unwrap(), "saved");
    for t in &src.tensors {
        assert_eq!(
            src.tensor_data(t),
            dst.tensor_data(dst.tensor_info(&t.name).unwrap())
        );
    }
    std::fs::remove_file(path).unwrap();
}

#[test]
fn f16_and_q8_0_saves_reload_close_to_the_original() {
    let m = model(SMOLLM2);
    let want = logits(&m, Numerics::Exact);
    // F16 rounds each dequantized Q4_1 value by at most 2^-11 relative (measured: 1.4e-3 of
    // the largest logit); Q8_0 re-quantizes them with 8-bit codes per block of 32.
    for (ty, ft, tol) in [(GgmlType::F16, 1, 5e-3), (GgmlType::Q8_0, 7, 5e-2)] {
        let path = save(&m, &format!("{}.gguf", ty.name()), WeightType::As(ty));
        let back = Arc::new(Model::open(&path).unwrap());
        assert_eq!(back.file().get_u32("general.file_type").unwrap(), ft);
        let q = back.file().tensor_info("blk.0.ffn_down.weight").unwrap();
        assert_eq!(q.ty, ty);
        // Non-linear tensors are copied as they were.
        let e = back.file().tensor_info("token_embd.weight").unwrap();
        assert_eq!(e.ty, GgmlType::Q8_0);
        let got = logits(&back, Numerics::Exact);
        let err = max_rel(&want, &got);
        eprintln!("{}: max |logit diff| / max |logit| = {err:.2e}", ty.name());
        assert!(err < tol, "{}: {err:e}", ty.name());
        std::fs::remove_file(path).unwrap();
    }
}

#[test]
fn pruned_zeros_survive_an_f16_save() {
    let mut m = Model::open(asset(SMOLLM2)).unwrap();
    let (rows, cols) = m.config.linear_shape(Linear::Up);
    let mut w = m.linear_f32(4, Linear::Up).unwrap();
    w.iter_mut().step_by(2).for_each(|v| *v = 0.0);
    m.set_linear(
        4,
        Linear::Up,
        Matrix::Owned(OwnedWeight::from_f32(rows, cols, &w).unwrap()),
    )
    .unwrap();
    let path = save(&m, "pruned.gguf", WeightType::As(GgmlType::F16));
    let back = Model::open(&path).unwrap();
    let got = back.linear_f32(4, Linear::Up).unwrap();
    assert!(got.iter().step_by(2).all(|&v| v == 0.0));
    let kept_err = got
        .iter()
        .zip(&w)
        .map(|(a, b)| (a - b).abs() / b.abs().max(1e-6))
        .fold(0.0f32, f32::max);
    assert!(kept_err <= 1.0 / 1024.0, "f16 rounding {kept_err}");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn cancelled_saves_and_existing_files_leave_the_disk_as_it_was() {
    let m = model(SMOLLM2);
    let dir = out_dir().join("cancel");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cancelled.gguf");
    let mut opts = SaveOptions {
        weight_type: WeightType::As(GgmlType::F16),
        extra_metadata: vec![],
        overwrite: false,
    };
    let mut calls = 0;
    let err = m
        .save_gguf(&path, &opts, &mut |done, _| {
            calls += 1;
            done < 40
        })
        .unwrap_err();
    assert_eq!(err, llmcore::Error::Cancelled);
    assert_eq!(calls, 40);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::write(&path, b"mine").unwrap();
    let err = m.save_gguf(&path, &opts, &mut |_, _| true).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"mine");
    opts.weight_type = WeightType::As(GgmlType::Q6K);
    opts.overwrite = true;
    let err = m.save_gguf(&path, &opts, &mut |_, _| true).unwrap_err();
    assert!(err.to_string().contains("q6_K"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"mine");
    std::fs::remove_dir_all(dir).unwrap();
}
