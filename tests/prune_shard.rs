//! Shards: the linear weights of layer ranges written by one run merge back into the model
//! exactly, and a merge that mixes runs, misses a layer or holds one twice is refused by name.

mod common;

use common::{asset, SMOLLM2};
use llmcore::io::Value;
use llmcore::model::{Linear, Matrix, Model, OwnedWeight};
use llmcore::prune::shard::{merge_shards, save_shard};

#[test]
fn shards_merge_back_exactly_and_bad_sets_are_named() {
    let dir = std::env::temp_dir().join(format!("llmcore-shards-{}", std::process::id()));
    let mut m = Model::open(asset(SMOLLM2)).unwrap();
    let (rows, cols) = m.config.linear_shape(Linear::O);
    let mut w = m.linear_f32(3, Linear::O).unwrap();
    w.iter_mut().step_by(3).for_each(|v| *v = 0.0);
    m.set_linear(
        3,
        Linear::O,
        Matrix::Owned(OwnedWeight::from_f32(rows, cols, &w).unwrap()),
    )
    .unwrap();
    let run = |s: &str| {
        vec![(
            "llmcore.prune.settings".to_string(),
            Value::String(s.into()),
        )]
    };
    let a = save_shard(&m, 0..5, &run("A"), &dir, false).unwrap();
    let b = save_shard(&m, 5..30, &run("A"), &dir, false).unwrap();
    let other = save_shard(&m, 5..30, &run("B"), &dir.join("b"), false).unwrap();
    // Writing a shard again needs overwrite; run keys must be llmcore.prune.*.
    assert!(save_shard(&m, 0..5, &run("A"), &dir, false).is_err());
    let stray = vec![("general.name".to_string(), Value::String("x".into()))];
    assert!(save_shard(&m, 0..5, &stray, &dir, true).is_err());

    let mut fresh = Model::open(asset(SMOLLM2)).unwrap();
    assert_eq!(
        merge_shards(&mut fresh, &[b.clone(), a.clone()]).unwrap(),
        run("A")
    );
    for l in 0..30 {
        for op in Linear::ALL {
            assert!(
                fresh.linear_f32(l, op).unwrap() == m.linear_f32(l, op).unwrap(),
                "{l} {op:?}"
            );
        }
    }
    let err = |paths: &[std::path::PathBuf]| {
        let mut fresh = Model::open(asset(SMOLLM2)).unwrap();
        merge_shards(&mut fresh, paths).unwrap_err().to_string()
    };
    assert!(err(std::slice::from_ref(&a)).contains("no shard holds layer 5 (of 0..30)"));
    assert!(err(&[a.clone(), a.clone(), b.clone()]).contains("layer 0 is also in"));
    assert!(err(&[a.clone(), other]).contains("made with other settings"));
    assert!(err(&[asset(SMOLLM2)]).contains("not a shard"));
    std::fs::remove_dir_all(dir).unwrap();
}
