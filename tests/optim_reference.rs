//! AdamW, Adafactor and CAME against their reference implementations — `torch.optim.AdamW`,
//! Hugging Face transformers' `Adafactor` and the CAME authors' `came-pytorch` — over 10 steps
//! of the same given gradients (scripts/optim_reference.py, outputs in
//! tests/data/optim_reference.{json,bin}). Both sides compute in f32 with their own reduction
//! orders (ours accumulate means and norms in f64), so the parameters may differ by rounding:
//! after every step each value must agree to `TOL` relative to `1 + |reference|` (measured
//! on 2026-12-03: at most 4e-8 for AdamW and Adafactor, 3e-7 for CAME).

mod common;

use common::f32_fixture;
use llmcore::io::json::Json;
use llmcore::optim::{
    Adafactor, AdafactorParams, AdamW, AdamWParams, Came, CameParams, Optimizer, ParamSpec,
};
use std::collections::HashMap;

const TOL: f32 = 2e-6;

struct Reference {
    params: Vec<ParamSpec>,
    steps: usize,
    arrays: HashMap<String, Vec<f32>>,
}

fn reference() -> Reference {
    let (meta, arrays) = f32_fixture("optim_reference");
    let params = meta
        .get("params")
        .and_then(Json::as_array)
        .unwrap()
        .iter()
        .map(|p| {
            let name = p.get("name").and_then(Json::as_str).unwrap();
            let shape: Vec<usize> = p
                .get("shape")
                .and_then(Json::as_array)
                .unwrap()
                .iter()
                .map(|d| d.as_f64().unwrap() as usize)
                .collect();
            match shape[..] {
                [rows, cols] => ParamSpec::matrix(name, rows, cols),
                [len] => ParamSpec::vector(name, len),
                _ => panic!("shape {shape:?}"),
            }
        })
        .collect();
    Reference {
        params,
        steps: meta.get("steps").and_then(Json::as_f64).unwrap() as usize,
        arrays,
    }
}

/// Runs `opt` over the reference gradients and compares with run `run` after every step;
/// returns the largest relative difference seen.
fn follow(r: &Reference, run: &str, mut opt: Box<dyn Optimizer>) -> f32 {
    let mut values: Vec<Vec<f32>> = r
        .params
        .iter()
        .map(|p| r.arrays[&format!("init/{}", p.name)].clone())
        .collect();
    let mut worst = 0f32;
    for step in 1..=r.steps {
        let grads: Vec<&[f32]> = r
            .params
            .iter()
            .map(|p| r.arrays[&format!("grad/{step}/{}", p.name)].as_slice())
            .collect();
        let mut views: Vec<&mut [f32]> = values.iter_mut().map(Vec::as_mut_slice).collect();
        opt.step(&mut views, &grads).unwrap();
        for (p, got) in r.params.iter().zip(&values) {
            let want = &r.arrays[&format!("{run}/{step}/{}", p.name)];
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                let rel = (g - w).abs() / (1.0 + w.abs());
                assert!(
                    rel <= TOL,
                    "{run}, step {step}, {}[{i}]: {g} vs reference {w}",
                    p.name
                );
                worst = worst.max(rel);
            }
        }
    }
    assert_eq!(opt.steps(), r.steps as u64);
    worst
}

#[test]
fn adamw_matches_torch() {
    let r = reference();
    for (run, wd) in [("adamw", 0.1), ("adamw_nowd", 0.0)] {
        let hp = AdamWParams {
            lr: 1e-2,
            weight_decay: wd,
            ..AdamWParams::default()
        };
        let worst = follow(
            &r,
            run,
            Box::new(AdamW::create(hp, r.params.clone()).unwrap()),
        );
        eprintln!("{run}: largest relative difference {worst:e}");
    }
}

#[test]
fn adafactor_matches_transformers() {
    let r = reference();
    let plain = AdafactorParams {
        lr: 1e-2,
        ..AdafactorParams::default()
    };
    let with_all = AdafactorParams {
        beta1: Some(0.9),
        weight_decay: 0.01,
        scale_parameter: true,
        ..plain
    };
    for (run, hp) in [("adafactor", plain), ("adafactor_beta1_wd_scale", with_all)] {
        let worst = follow(
            &r,
            run,
            Box::new(Adafactor::create(hp, r.params.clone()).unwrap()),
        );
        eprintln!("{run}: largest relative difference {worst:e}");
    }
}

#[test]
fn came_matches_the_authors_code() {
    let r = reference();
    for (run, wd) in [("came", 0.0), ("came_wd", 0.01)] {
        let hp = CameParams {
            lr: 1e-2,
            weight_decay: wd,
            ..CameParams::default()
        };
        let worst = follow(
            &r,
            run,
            Box::new(Came::create(hp, r.params.clone()).unwrap()),
        );
        eprintln!("{run}: largest relative difference {worst:e}");
    }
}
