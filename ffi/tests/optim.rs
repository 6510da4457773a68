//! The optimizer exports (`llmc_optimizer_*`), called as a C program would: every kind steps a
//! matrix and a vector in the caller's buffers exactly as core's optimizer does on the same
//! data (bit for bit, with non-default settings so that every C field is seen to reach its
//! Rust field), and reports the same state; every bad argument is refused with its status
//! and a message naming it, leaving buffers, outputs and the step count untouched.

mod common;

use common::{expect, last_error};
use llmcore::optim::*;
use llmcore::status::llmc_status::{self, *};
use runtime::optim::{
    Adafactor, AdafactorParams, AdamW, AdamWParams, Adapprox, AdapproxParams, Came, CameParams,
    Optimizer, ParamSpec,
};
use std::ffi::{c_char, CString};
use std::ptr::{null, null_mut};

const ROWS: usize = 6;
const COLS: usize = 5;

/// The C shapes of a 6x5 matrix "w" and a vector "b" of 5 (the names live in `names`).
fn shapes(names: &[CString; 2]) -> [llmc_param_shape; 2] {
    [
        llmc_param_shape {
            name: names[0].as_ptr(),
            ndim: 2,
            dims: [ROWS, COLS],
        },
        llmc_param_shape {
            name: names[1].as_ptr(),
            ndim: 1,
            dims: [COLS, 0],
        },
    ]
}

fn names() -> [CString; 2] {
    [CString::new("w").unwrap(), CString::new("b").unwrap()]
}

fn specs() -> Vec<ParamSpec> {
    vec![
        ParamSpec::matrix("w", ROWS, COLS),
        ParamSpec::vector("b", COLS),
    ]
}

/// A deterministic stream of values in [-1, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * scale).collect()
    }
}

/// Initial parameters and `steps` gradients (scales varying per step) of "w" and "b".
fn data(steps: usize) -> ([Vec<f32>; 2], Vec<[Vec<f32>; 2]>) {
    let mut r = Lcg(42);
    let init = [r.vec(ROWS * COLS, 0.5), r.vec(COLS, 0.5)];
    let grads = (0..steps)
        .map(|t| {
            let s = [1.0, 0.01, 3.0, 0.3][t % 4];
            [r.vec(ROWS * COLS, s), r.vec(COLS, s * 2.0)]
        })
        .collect();
    (init, grads)
}

fn new_optimizer(p: &llmc_optimizer_params) -> *mut llmc_optimizer {
    let names = names();
    let shapes = shapes(&names);
    let mut opt = null_mut();
    let s = unsafe { llmc_optimizer_new(p, shapes.as_ptr(), 2, &mut opt) };
    assert_eq!(s, LLMC_OK, "{}", last_error());
    assert!(!opt.is_null());
    opt
}

fn step(opt: *mut llmc_optimizer, p: &mut [Vec<f32>; 2], g: &[Vec<f32>; 2]) -> llmc_status {
    let ps = [p[0].as_mut_ptr(), p[1].as_mut_ptr()];
    let gs = [g[0].as_ptr(), g[1].as_ptr()];
    unsafe { llmc_optimizer_step(opt, ps.as_ptr(), gs.as_ptr(), 2) }
}

/// Runs `c` through the C ABI and `rust` directly on the same data; both must end with the
/// same bits, step count, learning rate and state.
fn same_as_core(c: llmc_optimizer_params, mut rust: Box<dyn Optimizer>, what: &str) {
    let (init, grads) = data(12);
    let opt = new_optimizer(&c);
    let (mut a, mut b) = (init.clone(), init);
    for (t, g) in grads.iter().enumerate() {
        assert_eq!(step(opt, &mut a, g), LLMC_OK, "{what}: {}", last_error());
        let (b0, b1) = b.split_at_mut(1);
        rust.step(&mut [&mut b0[0], &mut b1[0]], &[&g[0], &g[1]])
            .unwrap();
        let bits =
            |v: &[Vec<f32>; 2]| -> Vec<u32> { v.iter().flatten().map(|x| x.to_bits()).collect() };
        assert_eq!(bits(&a), bits(&b), "{what}: step {} differs", t + 1);
    }
    assert_ne!(a, data(0).0, "{what}: the parameters moved");
    let mut steps = 0u64;
    assert_eq!(unsafe { llmc_optimizer_steps(opt, &mut steps) }, LLMC_OK);
    assert_eq!(steps, 12);
    let mut lr = 0.0;
    assert_eq!(unsafe { llmc_optimizer_lr(opt, &mut lr) }, LLMC_OK);
    assert_eq!(lr, rust.lr());
    let want = rust.state_bytes();
    let (mut total, mut scratch) = (0usize, 0usize);
    assert_eq!(
        unsafe { llmc_optimizer_state_bytes(opt, &mut total, &mut scratch) },
        LLMC_OK
    );
    assert_eq!((total, scratch), (want.total, want.step_scratch), "{what}");
    for (i, p) in want.params.iter().enumerate() {
        let mut s = llmc_param_state {
            struct_size: size_of::<llmc_param_state>(),
            bytes: 0,
            rank: 99,
            error: 99.0,
        };
        assert_eq!(
            unsafe { llmc_optimizer_param_state(opt, i, &mut s) },
            LLMC_OK
        );
        assert_eq!(s.bytes, p.bytes, "{what}: {}", p.name);
        assert_eq!(s.rank as usize, p.factors.map_or(0, |f| f.rank), "{what}");
        assert_eq!(s.error, p.factors.map_or(0.0, |f| f.error), "{what}");
    }
    unsafe { llmc_optimizer_free(opt) };
}

#[test]
fn every_kind_steps_the_callers_buffers_as_core_does() {
    // Defaults first: the C defaults are core's.
    same_as_core(
        llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAMW),
        Box::new(AdamW::create(AdamWParams::default(), specs()).unwrap()),
        "adamw defaults",
    );
    same_as_core(
        llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAFACTOR),
        Box::new(Adafactor::create(AdafactorParams::default(), specs()).unwrap()),
        "adafactor defaults",
    );
    same_as_core(
        llmc_optimizer_default_params(LLMC_OPTIMIZER_CAME),
        Box::new(Came::create(CameParams::default(), specs()).unwrap()),
        "came defaults",
    );
    same_as_core(
        llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAPPROX),
        Box::new(Adapprox::create(AdapproxParams::default(), specs()).unwrap()),
        "adapprox defaults",
    );

    // Then every field changed: each must reach its Rust field.
    let mut c = llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAMW);
    (c.lr, c.beta1, c.beta2, c.eps, c.weight_decay) = (3e-2, 0.8, 0.99, 1e-6, 0.1);
    let r = AdamWParams {
        lr: 3e-2,
        beta1: 0.8,
        beta2: 0.99,
        eps: 1e-6,
        weight_decay: 0.1,
    };
    same_as_core(c, Box::new(AdamW::create(r, specs()).unwrap()), "adamw");

    let mut c = llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAFACTOR);
    (c.lr, c.eps, c.eps2, c.clip, c.decay_rate) = (2e-2, 1e-20, 1e-2, 0.7, -0.6);
    (c.first_moment, c.beta1, c.weight_decay) = (true, 0.85, 0.05);
    (c.scale_parameter, c.relative_step, c.warmup_init) = (true, true, true);
    let r = AdafactorParams {
        lr: 2e-2,
        eps1: 1e-20,
        eps2: 1e-2,
        clip: 0.7,
        decay_rate: -0.6,
        beta1: Some(0.85),
        weight_decay: 0.05,
        scale_parameter: true,
        relative_step: true,
        warmup_init: true,
    };
    same_as_core(
        c,
        Box::new(Adafactor::create(r, specs()).unwrap()),
        "adafactor",
    );

    let mut c = llmc_optimizer_default_params(LLMC_OPTIMIZER_CAME);
    (c.lr, c.eps, c.eps2, c.clip) = (1e-2, 1e-25, 1e-12, 0.8);
    (c.beta1, c.beta2, c.beta3, c.weight_decay) = (0.7, 0.95, 0.99, 0.02);
    let r = CameParams {
        lr: 1e-2,
        eps1: 1e-25,
        eps2: 1e-12,
        clip: 0.8,
        beta1: 0.7,
        beta2: 0.95,
        beta3: 0.99,
        weight_decay: 0.02,
    };
    same_as_core(c, Box::new(Came::create(r, specs()).unwrap()), "came");

    // Adapprox with and without the first moment, guidance, ranks and seed changed.
    for (first_moment, guidance) in [(true, true), (false, false)] {
        let mut c = llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAPPROX);
        (c.lr, c.beta1, c.beta2, c.eps, c.clip) = (5e-2, 0.8, 0.95, 1e-7, 0.9);
        (c.first_moment, c.guidance, c.weight_decay) = (first_moment, guidance, 0.01);
        (c.rank_min, c.rank_max, c.error_target) = (2, 4, 0.01);
        (c.oversample, c.power_iters, c.seed) = (2, 2, 7);
        let r = AdapproxParams {
            lr: 5e-2,
            beta1: first_moment.then_some(0.8),
            beta2: 0.95,
            eps: 1e-7,
            clip: 0.9,
            weight_decay: 0.01,
            rank_min: 2,
            rank_max: 4,
            error_target: 0.01,
            oversample: 2,
            power_iters: 2,
            guidance,
            seed: 7,
        };
        same_as_core(
            c,
            Box::new(Adapprox::create(r, specs()).unwrap()),
            &format!("adapprox first_moment {first_moment}"),
        );
    }
}

#[test]
fn adapprox_reports_its_factors_and_a_new_learning_rate_takes_effect() {
    let opt = new_optimizer(&llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAPPROX));
    let mut s = llmc_param_state {
        struct_size: size_of::<llmc_param_state>(),
        bytes: 0,
        rank: 99,
        error: 99.0,
    };
    assert_eq!(
        unsafe { llmc_optimizer_param_state(opt, 0, &mut s) },
        LLMC_OK
    );
    assert_eq!(
        (s.rank, s.error),
        (0, 0.0),
        "no factors before the first step"
    );
    let (mut p, grads) = data(3);
    for g in &grads {
        assert_eq!(step(opt, &mut p, g), LLMC_OK);
    }
    assert_eq!(
        unsafe { llmc_optimizer_param_state(opt, 0, &mut s) },
        LLMC_OK
    );
    assert!(s.rank >= 1 && s.rank <= COLS as u32, "rank {}", s.rank);
    assert!(s.error >= 0.0 && s.error.is_finite());
    // Factors (rows + cols) x rank and the first moment (rows x cols), in f32.
    let r = s.rank as usize;
    assert_eq!(s.bytes, 4 * ((ROWS + COLS) * r + ROWS * COLS));
    assert_eq!(
        unsafe { llmc_optimizer_param_state(opt, 1, &mut s) },
        LLMC_OK
    );
    assert_eq!((s.bytes, s.rank, s.error), (4 * 2 * COLS, 0, 0.0));

    assert_eq!(unsafe { llmc_optimizer_set_lr(opt, 0.25) }, LLMC_OK);
    let mut lr = 0.0;
    assert_eq!(unsafe { llmc_optimizer_lr(opt, &mut lr) }, LLMC_OK);
    assert_eq!(lr, 0.25);
    let mut rust = Adapprox::create(AdapproxParams::default(), specs()).unwrap();
    let (mut q, _) = data(0);
    for g in &grads {
        let (q0, q1) = q.split_at_mut(1);
        rust.step(&mut [&mut q0[0], &mut q1[0]], &[&g[0], &g[1]])
            .unwrap();
    }
    rust.set_lr(0.25).unwrap();
    let g = &data(4).1[3];
    assert_eq!(step(opt, &mut p, g), LLMC_OK);
    let (q0, q1) = q.split_at_mut(1);
    rust.step(&mut [&mut q0[0], &mut q1[0]], &[&g[0], &g[1]])
        .unwrap();
    assert_eq!(p, q);
    unsafe { llmc_optimizer_free(opt) };
}

#[test]
fn bad_creation_arguments_are_refused_naming_them() {
    const NEW: &str = "llmc_optimizer_new";
    let names = names();
    let good = shapes(&names);
    let d = llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAPPROX);
    let sentinel = 0x10 as *mut llmc_optimizer;
    let mut out = sentinel;
    let new =
        |p: *const llmc_optimizer_params,
         s: *const llmc_param_shape,
         n: usize,
         out: *mut *mut llmc_optimizer| unsafe { llmc_optimizer_new(p, s, n, out) };

    expect(
        new(&d, good.as_ptr(), 2, null_mut()),
        LLMC_ERR_NULL_ARGUMENT,
        NEW,
        "'out' is NULL",
    );
    expect(
        new(&d, null(), 2, &mut out),
        LLMC_ERR_NULL_ARGUMENT,
        NEW,
        "'shapes' is NULL",
    );
    let mut bad = d;
    bad.struct_size = 8;
    expect(
        new(&bad, good.as_ptr(), 2, &mut out),
        LLMC_ERR_INVALID_ARGUMENT,
        NEW,
        "'params'->struct_size is 8",
    );
    bad = d;
    bad.kind = 7;
    expect(
        new(&bad, good.as_ptr(), 2, &mut out),
        LLMC_ERR_INVALID_ARGUMENT,
        NEW,
        "params->kind 7 (LLMC_OPTIMIZER_ADAMW, _ADAFACTOR, _CAME or _ADAPPROX)",
    );
    let unknown = llmc_optimizer_default_params(12);
    expect(
        new(&unknown, good.as_ptr(), 2, &mut out),
        LLMC_ERR_INVALID_ARGUMENT,
        NEW,
        "params->kind 12",
    );
    bad = d;
    (bad.rank_min, bad.rank_max) = (4, 2);
    expect(
        new(&bad, good.as_ptr(), 2, &mut out),
        LLMC_ERR_INVALID_ARGUMENT,
        NEW,
        "params (adapprox): rank range [4, 2] is empty",
    );
    bad.rank_min = 0;
    expect(
        new(&bad, good.as_ptr(), 2, &mut out),
        LLMC_ERR_INVALID_ARGUMENT,
        NEW,
        "rank range [0, 2] is empty",
    );
    (bad.rank_min, bad.rank_max) = (6, 8);
    expect(
        new(&bad, good.as_ptr(), 2, &mut out),
        LLMC_ERR_INVALID_ARGUMENT,
        NEW,
        "rank_min 6 is larger than matrix 'w' (6x5) allows",
    );
    bad = d;
    (bad.first_moment, bad.guidance) = (false, true);
    expect(
        new(&bad, good.as_ptr(), 2, &mut out),
        LLMC_ERR_INVALID_ARGUMENT,
        NEW,
        "params (adapprox): cosine guidance",
    );
    bad = llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAMW);
    bad.beta1 = 1.0;
    expect(
        new(&bad, good.as_ptr(), 2, &mut out),
        LLMC_ERR_INVALID_ARGUMENT,
        NEW,
        "params (adamw): beta1 = 1 must lie in [0, 1)",
    );
    bad = llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAFACTOR);
    bad.warmup_init = true;
    expect(
        new(&bad, good.as_ptr(), 2, &mut out),
        LLMC_ERR_INVALID_ARGUMENT,
        NEW,
        "params (adafactor): warmup_init needs relative_step",
    );
    bad = llmc_optimizer_default_params(LLMC_OPTIMIZER_CAME);
    bad.lr = f64::NAN;
    expect(
        new(&bad, good.as_ptr(), 2, &mut out),
        LLMC_ERR_INVALID_ARGUMENT,
        NEW,
        "params (came): learning rate NaN",
    );

    let mut s = good;
    s[1].ndim = 3;
    expect(
        new(&d, s.as_ptr(), 2, &mut out),
        LLMC_ERR_INVALID_ARGUMENT,
        NEW,
        "shapes[1] ('b'): ndim is 3",
    );
    s[1].ndim = 0;
    expect(
        new(&d, s.as_ptr(), 2, &mut out),
        LLMC_ERR_INVALID_ARGUMENT,
        NEW,
        "shapes[1] ('b'): ndim is 0",
    );
    s = good;
    s[1].name = null();
    expect(
        new(&d, s.as_ptr(), 2, &mut out),
        LLMC_ERR_NULL_ARGUMENT,
        NEW,
        "'shapes[1].name' is NULL",
    );
    let bad_utf8 = [0xffu8, 0];
    s[1].name = bad_utf8.as_ptr().cast::<c_char>();
    expect(
        new(&d, s.as_ptr(), 2, &mut out),
        LLMC_ERR_INVALID_ARGUMENT,
        NEW,
        "'shapes[1].name' is not UTF-8",
    );
    s = good;
    s[0].dims = [usize::MAX / 2, 3];
    expect(
        new(&d, s.as_ptr(), 2, &mut out),
        LLMC_ERR_INVALID_ARGUMENT,
        NEW,
        "do not fit in memory",
    );
    s[0].dims = [ROWS, 0];
    expect(
        new(&d, s.as_ptr(), 2, &mut out),
        LLMC_ERR_INVALID_ARGUMENT,
        NEW,
        "parameter 'w' has no values",
    );
    s = good;
    s[1].name = names[0].as_ptr();
    expect(
        new(&d, s.as_ptr(), 2, &mut out),
        LLMC_ERR_INVALID_ARGUMENT,
        NEW,
        "parameter name 'w' is declared twice",
    );
    assert_eq!(out, sentinel, "no failed call wrote *out");

    // NULL params means AdamW's defaults; no parameters at all is allowed (NULL shapes).
    let mut opt = null_mut();
    assert_eq!(new(null(), null(), 0, &mut opt), LLMC_OK);
    assert_eq!(
        unsafe { llmc_optimizer_step(opt, null(), null(), 0) },
        LLMC_OK
    );
    let mut lr = 0.0;
    assert_eq!(unsafe { llmc_optimizer_lr(opt, &mut lr) }, LLMC_OK);
    assert_eq!(lr, AdamWParams::default().lr);
    unsafe { llmc_optimizer_free(opt) };
    unsafe { llmc_optimizer_free(null_mut()) };
}

#[test]
fn a_refused_step_changes_nothing() {
    const STEP: &str = "llmc_optimizer_step";
    let opt = new_optimizer(&llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAPPROX));
    let (init, grads) = data(2);
    let mut p = init.clone();
    assert_eq!(step(opt, &mut p, &grads[0]), LLMC_OK);
    let after_one = p.clone();

    // A NaN in the vector's gradient: nothing moves, the message names the tensor and index.
    let mut g = grads[1].clone();
    g[1][3] = f32::NAN;
    expect(
        step(opt, &mut p, &g),
        LLMC_ERR_INVALID_ARGUMENT,
        STEP,
        "gradient of 'b' holds NaN at index 3: step refused, parameters unchanged",
    );
    assert!(
        last_error().starts_with("llmc_optimizer_step: gradient of 'b' holds NaN"),
        "{}",
        last_error()
    );
    g[1][3] = 0.5;
    g[0][0] = f32::NEG_INFINITY;
    expect(
        step(opt, &mut p, &g),
        LLMC_ERR_INVALID_ARGUMENT,
        STEP,
        "gradient of 'w' holds -inf at index 0",
    );
    assert_eq!(p, after_one, "a refused step moved the parameters");

    let (pw, pb) = (p[0].as_mut_ptr(), p[1].as_mut_ptr());
    let (gw, gb) = (grads[1][0].as_ptr(), grads[1][1].as_ptr());
    let call = |ps: &[*mut f32], gs: &[*const f32], n: usize| unsafe {
        llmc_optimizer_step(opt, ps.as_ptr(), gs.as_ptr(), n)
    };
    expect(
        unsafe { llmc_optimizer_step(null_mut(), [pw, pb].as_ptr(), [gw, gb].as_ptr(), 2) },
        LLMC_ERR_NULL_ARGUMENT,
        STEP,
        "'opt' is NULL",
    );
    expect(
        unsafe { llmc_optimizer_step(opt, null(), [gw, gb].as_ptr(), 2) },
        LLMC_ERR_NULL_ARGUMENT,
        STEP,
        "'params' is NULL",
    );
    expect(
        unsafe { llmc_optimizer_step(opt, [pw, pb].as_ptr(), null(), 2) },
        LLMC_ERR_NULL_ARGUMENT,
        STEP,
        "'grads' is NULL",
    );
    expect(
        call(&[pw, null_mut()], &[gw, gb], 2),
        LLMC_ERR_NULL_ARGUMENT,
        STEP,
        "params[1] ('b') is NULL",
    );
    expect(
        call(&[pw, pb], &[null(), gb], 2),
        LLMC_ERR_NULL_ARGUMENT,
        STEP,
        "grads[0] ('w') is NULL",
    );
    expect(
        call(&[pw], &[gw], 1),
        LLMC_ERR_INVALID_ARGUMENT,
        STEP,
        "n_params is 1, the optimizer was created for 2 parameters",
    );
    // The same buffer twice, a gradient inside a parameter, a misaligned pointer.
    expect(
        call(&[pw, pw], &[gw, gb], 2),
        LLMC_ERR_INVALID_ARGUMENT,
        STEP,
        "params[1] ('b') is the same pointer as params[0] ('w')",
    );
    expect(
        call(&[pw, pb], &[pw.cast_const(), gb], 2),
        LLMC_ERR_INVALID_ARGUMENT,
        STEP,
        "is the same pointer as",
    );
    expect(
        call(&[pw, pb], &[gw, pw.wrapping_add(7).cast_const()], 2),
        LLMC_ERR_INVALID_ARGUMENT,
        STEP,
        "grads[1] ('b') overlaps params[0] ('w')",
    );
    let misaligned = pb.cast::<u8>().wrapping_add(1).cast::<f32>();
    expect(
        call(&[pw, misaligned], &[gw, gb], 2),
        LLMC_ERR_INVALID_ARGUMENT,
        STEP,
        "params[1] ('b') at ",
    );
    assert!(last_error().contains("is not aligned to 4 bytes"));
    // Gradients may share a buffer (e.g. one of zeros), and a good step is still the second.
    let zeros = vec![0f32; ROWS * COLS];
    assert_eq!(
        call(&[pw, pb], &[zeros.as_ptr(), zeros.as_ptr()], 2),
        LLMC_OK
    );
    let mut steps = 0;
    assert_eq!(unsafe { llmc_optimizer_steps(opt, &mut steps) }, LLMC_OK);
    assert_eq!(steps, 2, "refused steps are not counted");

    // The same data through a fresh optimizer, without the refused calls.
    let fresh = new_optimizer(&llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAPPROX));
    let mut q = init;
    assert_eq!(step(fresh, &mut q, &grads[0]), LLMC_OK);
    let z = [zeros.clone(), zeros[..COLS].to_vec()];
    assert_eq!(step(fresh, &mut q, &z), LLMC_OK);
    assert_eq!(p, q);
    unsafe { llmc_optimizer_free(fresh) };
    unsafe { llmc_optimizer_free(opt) };
}

#[test]
fn bad_queries_are_refused_and_write_nothing() {
    let opt = new_optimizer(&llmc_optimizer_default_params(LLMC_OPTIMIZER_CAME));
    expect(
        unsafe { llmc_optimizer_set_lr(opt, 0.0) },
        LLMC_ERR_INVALID_ARGUMENT,
        "llmc_optimizer_set_lr",
        "learning rate 0 must be finite and > 0",
    );
    expect(
        unsafe { llmc_optimizer_set_lr(null_mut(), 0.1) },
        LLMC_ERR_NULL_ARGUMENT,
        "llmc_optimizer_set_lr",
        "'opt' is NULL",
    );
    let mut lr = -1.0;
    assert_eq!(unsafe { llmc_optimizer_lr(opt, &mut lr) }, LLMC_OK);
    assert_eq!(
        lr,
        CameParams::default().lr,
        "a refused set_lr changes nothing"
    );
    expect(
        unsafe { llmc_optimizer_lr(opt, null_mut()) },
        LLMC_ERR_NULL_ARGUMENT,
        "llmc_optimizer_lr",
        "'lr' is NULL",
    );
    expect(
        unsafe { llmc_optimizer_steps(null(), &mut 0) },
        LLMC_ERR_NULL_ARGUMENT,
        "llmc_optimizer_steps",
        "'opt' is NULL",
    );
    let mut total = 77usize;
    expect(
        unsafe { llmc_optimizer_state_bytes(opt, &mut total, null_mut()) },
        LLMC_ERR_NULL_ARGUMENT,
        "llmc_optimizer_state_bytes",
        "'step_scratch' is NULL",
    );
    assert_eq!(total, 77);
    let mut s = llmc_param_state {
        struct_size: 3,
        bytes: 5,
        rank: 6,
        error: 7.0,
    };
    expect(
        unsafe { llmc_optimizer_param_state(opt, 0, &mut s) },
        LLMC_ERR_INVALID_ARGUMENT,
        "llmc_optimizer_param_state",
        "'state'->struct_size is 3",
    );
    s.struct_size = size_of::<llmc_param_state>();
    expect(
        unsafe { llmc_optimizer_param_state(opt, 2, &mut s) },
        LLMC_ERR_INVALID_ARGUMENT,
        "llmc_optimizer_param_state",
        "parameter index 2, the optimizer has 2",
    );
    assert_eq!((s.bytes, s.rank, s.error), (5, 6, 7.0));
    unsafe { llmc_optimizer_free(opt) };
}
