//! Optimizers over the caller's own f32 buffers: AdamW, Adafactor, CAME and Adapprox (core's
//! `optim`), so that a training engine written in another language (PyTorch through ctypes, a
//! C++ trainer) can step its parameters in place. The caller declares its parameters once
//! (name and shape) and then, each step, passes one parameter and one gradient pointer per
//! declared parameter; the library reads and writes those buffers during the call only.

use crate::boundary::{
    arg_cstr, arg_mut, arg_ref, arg_slice, check_result, guard, in_field, inner, invalid, out_ptr,
    read_params, Failure, FfiResult,
};
use crate::status::llmc_status;
use runtime::optim::{
    Adafactor, AdafactorParams, AdamW, AdamWParams, Adapprox, AdapproxParams, Came, CameParams,
    Optimizer, ParamShape, ParamSpec,
};
use std::ffi::c_char;

/// Which optimizer `llmc_optimizer_new` makes.
#[allow(non_camel_case_types)]
pub type llmc_optimizer_kind = u32;
/// AdamW as `torch.optim.AdamW` computes it (two full-size moments: 8 bytes per value).
pub const LLMC_OPTIMIZER_ADAMW: llmc_optimizer_kind = 0;
/// Adafactor as Hugging Face transformers computes it (factored second moment).
pub const LLMC_OPTIMIZER_ADAFACTOR: llmc_optimizer_kind = 1;
/// CAME as `came-pytorch` computes it (factored second moment and instability).
pub const LLMC_OPTIMIZER_CAME: llmc_optimizer_kind = 2;
/// Adapprox: Adam's second moment as adaptive-rank factors from randomized subspace
/// iteration.
pub const LLMC_OPTIMIZER_ADAPPROX: llmc_optimizer_kind = 3;

/// An optimizer and its state for the parameters it was created for. Not thread-safe: use
/// each handle from one thread at a time (it may move between threads); a step runs its
/// parameters in parallel on the library's worker pool.
#[allow(non_camel_case_types)]
pub struct llmc_optimizer {
    opt: Box<dyn Optimizer>,
}

const _: () = {
    const fn send<T: Send + ?Sized>() {}
    send::<dyn Optimizer>()
};

/// An optimizer's hyperparameters. Start from `llmc_optimizer_default_params(kind)`; each kind
/// reads only its own fields (the others are ignored):
///
/// - `LLMC_OPTIMIZER_ADAMW`: `lr`, `beta1`, `beta2`, `eps`, `weight_decay`;
/// - `LLMC_OPTIMIZER_ADAFACTOR`: `lr`, `eps` (epsilon1, added to g^2), `eps2` (the floor of
///   the parameter scale), `clip`, `decay_rate`, `beta1` if `first_moment`, `weight_decay`,
///   `scale_parameter`, `relative_step`, `warmup_init`;
/// - `LLMC_OPTIMIZER_CAME`: `lr`, `eps` (epsilon1), `eps2` (added to the instability), `clip`,
///   `beta1`, `beta2`, `beta3`, `weight_decay`;
/// - `LLMC_OPTIMIZER_ADAPPROX`: `lr`, `beta1` if `first_moment`, `beta2`, `eps`, `clip`,
///   `weight_decay`, `rank_min`, `rank_max`, `error_target`, `oversample`, `power_iters`,
///   `guidance`, `seed`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_optimizer_params {
    /// `sizeof(llmc_optimizer_params)`.
    pub struct_size: usize,
    /// One of `LLMC_OPTIMIZER_*`.
    pub kind: llmc_optimizer_kind,
    /// Learning rate, finite and > 0 (the relative step of Adafactor replaces it).
    pub lr: f64,
    /// Decay of the first moment, in [0, 1).
    pub beta1: f64,
    /// Decay of the second moment, in [0, 1).
    pub beta2: f64,
    /// CAME: decay of the instability, in [0, 1).
    pub beta3: f64,
    /// Added to the denominator (AdamW, Adapprox) or to g^2 (Adafactor, CAME: epsilon1); > 0.
    pub eps: f64,
    /// Adafactor: the floor of the parameter scale; CAME: added to the instability; > 0.
    pub eps2: f64,
    /// Update clipping threshold d (`u / max(1, RMS(u) / d)`), > 0.
    pub clip: f64,
    /// Decoupled weight decay, >= 0.
    pub weight_decay: f64,
    /// Adafactor: c in `beta2_t = 1 - t^c`, in [-1, 0).
    pub decay_rate: f64,
    /// Adafactor, Adapprox: keep a first moment with decay `beta1` (false: the memory-lean
    /// variant without it).
    pub first_moment: bool,
    /// Adafactor: scale the step by `max(eps2, RMS(p))`.
    pub scale_parameter: bool,
    /// Adafactor: the step size `min(1e-2, 1/sqrt(t))` instead of `lr`.
    pub relative_step: bool,
    /// Adafactor: with `relative_step`, start from `1e-6 t` (needs `relative_step`).
    pub warmup_init: bool,
    /// Adapprox: the lowest and highest rank of a matrix's second-moment factors,
    /// 1 <= `rank_min` <= `rank_max` (`rank_max` is clamped to each matrix's smaller side;
    /// `rank_min` must fit every matrix).
    pub rank_min: u32,
    pub rank_max: u32,
    /// Adapprox: extra sketch columns beyond the target rank.
    pub oversample: u32,
    /// Adapprox: power iterations of the range finder.
    pub power_iters: u32,
    /// Adapprox: the relative error `||V - Q U^T||_F / ||V||_F` the rank is chosen to meet,
    /// >= 0.
    pub error_target: f64,
    /// Adapprox: scale each step by the cosine guidance (needs `first_moment`).
    pub guidance: bool,
    /// Adapprox: seed of the random test matrices (each matrix draws its own stream).
    pub seed: u64,
}

/// The shape of one parameter tensor.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_param_shape {
    /// Its name, NUL-terminated UTF-8, unique and not empty (used in error messages); borrowed
    /// for the call.
    pub name: *const c_char,
    /// 1: a vector of `dims[0]` values (norm gains, biases; never factored); 2: a row-major
    /// `dims[0] x dims[1]` matrix (factored by Adafactor, CAME and Adapprox).
    pub ndim: usize,
    /// The dimensions (`dims[1]` is ignored for a vector); none may be 0.
    pub dims: [usize; 2],
}

/// The state one parameter holds. Set `struct_size = sizeof(llmc_param_state)` before the
/// call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_param_state {
    pub struct_size: usize,
    /// Bytes of persistent state (moments, factors) kept between steps.
    pub bytes: usize,
    /// Adapprox matrices: the rank of the second-moment factors (0 before the first step);
    /// 0 for every other parameter and optimizer.
    pub rank: u32,
    /// Adapprox matrices: the factors' relative error `||V - Q U^T||_F / ||V||_F` at the last
    /// step; 0 elsewhere.
    pub error: f64,
}

/// `n` as a C `uint32_t` field (core's ranks and counts are far below 2^32).
fn u32_field(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The defaults of `kind`: core's `AdamWParams`, `AdafactorParams`, `CameParams` or
/// `AdapproxParams::default()`. Fields the kind does not read hold Adapprox's defaults
/// (Adafactor's for `eps2`, `decay_rate`, `scale_parameter`, `relative_step`, `warmup_init`;
/// CAME's for `beta3`). Adafactor's default is no first moment (`first_moment` false; `beta1`
/// 0.9 is used if it is turned on); Adapprox's is a first moment with beta1 0.9. An unknown
/// `kind` gets Adapprox's defaults with that `kind`, which `llmc_optimizer_new` refuses.
#[no_mangle]
pub extern "C" fn llmc_optimizer_default_params(
    kind: llmc_optimizer_kind,
) -> llmc_optimizer_params {
    let (w, f, c, a) = (
        AdamWParams::default(),
        AdafactorParams::default(),
        CameParams::default(),
        AdapproxParams::default(),
    );
    let mut p = llmc_optimizer_params {
        struct_size: size_of::<llmc_optimizer_params>(),
        kind,
        lr: a.lr,
        beta1: a.beta1.unwrap_or(0.9),
        beta2: a.beta2,
        beta3: c.beta3,
        eps: a.eps,
        eps2: f.eps2,
        clip: a.clip,
        weight_decay: a.weight_decay,
        decay_rate: f.decay_rate,
        first_moment: a.beta1.is_some(),
        scale_parameter: f.scale_parameter,
        relative_step: f.relative_step,
        warmup_init: f.warmup_init,
        rank_min: u32_field(a.rank_min),
        rank_max: u32_field(a.rank_max),
        oversample: u32_field(a.oversample),
        power_iters: u32_field(a.power_iters),
        error_target: a.error_target,
        guidance: a.guidance,
        seed: a.seed,
    };
    match kind {
        LLMC_OPTIMIZER_ADAMW => {
            p.lr = w.lr;
            p.beta1 = w.beta1;
            p.beta2 = w.beta2;
            p.eps = w.eps;
            p.weight_decay = w.weight_decay;
        }
        LLMC_OPTIMIZER_ADAFACTOR => {
            p.lr = f.lr;
            p.eps = f.eps1;
            p.eps2 = f.eps2;
            p.clip = f.clip;
            p.decay_rate = f.decay_rate;
            p.first_moment = f.beta1.is_some();
            p.beta1 = f.beta1.unwrap_or(p.beta1);
            p.weight_decay = f.weight_decay;
        }
        LLMC_OPTIMIZER_CAME => {
            p.lr = c.lr;
            p.eps = c.eps1;
            p.eps2 = c.eps2;
            p.clip = c.clip;
            p.beta1 = c.beta1;
            p.beta2 = c.beta2;
            p.beta3 = c.beta3;
            p.weight_decay = c.weight_decay;
        }
        _ => {}
    }
    p
}

/// A core error as a failure whose message is the core's without the kind's prefix (the
/// status carries the kind): "gradient of 'w' holds NaN at index 3: ...".
fn plain(e: runtime::Error) -> Failure {
    Failure {
        status: llmc_status::from_error(&e),
        message: inner(e),
    }
}

/// The core optimizer `p` describes, for `specs`. Hyperparameter errors are prefixed
/// "params (KIND)"; errors about a parameter name it.
fn make_optimizer(
    p: &llmc_optimizer_params,
    specs: Vec<ParamSpec>,
) -> FfiResult<Box<dyn Optimizer>> {
    let beta1 = |on: bool| on.then_some(p.beta1);
    let hp = |kind: &str, e: runtime::Error| in_field(&format!("params ({kind})"), e);
    Ok(match p.kind {
        LLMC_OPTIMIZER_ADAMW => {
            let h = AdamWParams {
                lr: p.lr,
                beta1: p.beta1,
                beta2: p.beta2,
                eps: p.eps,
                weight_decay: p.weight_decay,
            };
            h.validate().map_err(|e| hp("adamw", e))?;
            Box::new(AdamW::create(h, specs).map_err(plain)?)
        }
        LLMC_OPTIMIZER_ADAFACTOR => {
            let h = AdafactorParams {
                lr: p.lr,
                eps1: p.eps,
                eps2: p.eps2,
                clip: p.clip,
                decay_rate: p.decay_rate,
                beta1: beta1(p.first_moment),
                weight_decay: p.weight_decay,
                scale_parameter: p.scale_parameter,
                relative_step: p.relative_step,
                warmup_init: p.warmup_init,
            };
            h.validate().map_err(|e| hp("adafactor", e))?;
            Box::new(Adafactor::create(h, specs).map_err(plain)?)
        }
        LLMC_OPTIMIZER_CAME => {
            let h = CameParams {
                lr: p.lr,
                eps1: p.eps,
                eps2: p.eps2,
                clip: p.clip,
                beta1: p.beta1,
                beta2: p.beta2,
                beta3: p.beta3,
                weight_decay: p.weight_decay,
            };
            h.validate().map_err(|e| hp("came", e))?;
            Box::new(Came::create(h, specs).map_err(plain)?)
        }
        LLMC_OPTIMIZER_ADAPPROX => {
            let h = AdapproxParams {
                lr: p.lr,
                beta1: beta1(p.first_moment),
                beta2: p.beta2,
                eps: p.eps,
                clip: p.clip,
                weight_decay: p.weight_decay,
                rank_min: p.rank_min as usize,
                rank_max: p.rank_max as usize,
                error_target: p.error_target,
                oversample: p.oversample as usize,
                power_iters: p.power_iters as usize,
                guidance: p.guidance,
                seed: p.seed,
            };
            h.validate().map_err(|e| hp("adapprox", e))?;
            Box::new(Adapprox::create(h, specs).map_err(plain)?)
        }
        other => {
            return Err(invalid(format!(
                "params->kind {other} (LLMC_OPTIMIZER_ADAMW, _ADAFACTOR, _CAME or _ADAPPROX)"
            )))
        }
    })
}

/// Whether `n` f32 values fit in one buffer (at most `isize::MAX` bytes).
fn fits(n: Option<usize>) -> bool {
    matches!(n.and_then(|n| n.checked_mul(size_of::<f32>())), Some(b) if b <= isize::MAX as usize)
}

/// The core's declarations of `shapes`; errors name the index.
///
/// # Safety
/// `shapes` must hold `n` readable structs whose non-NULL names are NUL-terminated.
unsafe fn param_specs(shapes: *const llmc_param_shape, n: usize) -> FfiResult<Vec<ParamSpec>> {
    // SAFETY: forwarded from the caller.
    let shapes = unsafe { arg_slice(shapes, n, "shapes")? };
    let mut specs = Vec::with_capacity(n);
    for (i, s) in shapes.iter().enumerate() {
        // SAFETY: forwarded from the caller.
        let name = unsafe { arg_cstr(s.name, &format!("shapes[{i}].name"))? };
        let [d0, d1] = s.dims;
        let shape = match s.ndim {
            1 => ParamShape::Vector { len: d0 },
            2 => ParamShape::Matrix { rows: d0, cols: d1 },
            other => {
                return Err(invalid(format!(
                    "shapes[{i}] ('{name}'): ndim is {other}; 1 is a vector of dims[0] values, \
                     2 a row-major dims[0] x dims[1] matrix"
                )))
            }
        };
        let n = if s.ndim == 1 {
            Some(d0)
        } else {
            d0.checked_mul(d1)
        };
        if !fits(n) {
            return Err(invalid(format!(
                "shapes[{i}] ('{name}'): {d0} x {d1} f32 values do not fit in memory"
            )));
        }
        specs.push(ParamSpec {
            name: name.to_string(),
            shape,
        });
    }
    Ok(specs)
}

/// Creates an optimizer of `params->kind` (`params` NULL: `llmc_optimizer_default_params(
/// LLMC_OPTIMIZER_ADAMW)`) for the `n_params` parameters `shapes` declares, in the order
/// `llmc_optimizer_step` takes them. Every moment starts at zero. On success `*out` receives a
/// handle to release with `llmc_optimizer_free`; on failure it is left untouched:
/// `LLMC_ERR_NULL_ARGUMENT` (`out`, `shapes` with `n_params` > 0, a name),
/// `LLMC_ERR_INVALID_ARGUMENT` (a wrong `struct_size`, an unknown `kind`, a hyperparameter out
/// of range: "params (adapprox): rank range [4, 2] is empty ...", an `ndim` other than 1 or 2
/// naming the parameter's index, a zero dimension, an empty or repeated name, a `rank_min`
/// larger than a matrix allows).
#[no_mangle]
pub unsafe extern "C" fn llmc_optimizer_new(
    params: *const llmc_optimizer_params,
    shapes: *const llmc_param_shape,
    n_params: usize,
    out: *mut *mut llmc_optimizer,
) -> llmc_status {
    guard("llmc_optimizer_new", || {
        // SAFETY: the caller passes an optional params struct and `n_params` shapes.
        let p = unsafe {
            read_params(
                params,
                llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAMW),
                "params",
            )?
        };
        let out = out_ptr(out, "out")?;
        let specs = unsafe { param_specs(shapes, n_params)? };
        let opt = make_optimizer(&p, specs)?;
        // SAFETY: checked non-NULL; written on success only.
        unsafe { out.write(Box::into_raw(Box::new(llmc_optimizer { opt }))) };
        Ok(())
    })
}

/// Releases an optimizer and its state (the caller's buffers are not touched). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn llmc_optimizer_free(opt: *mut llmc_optimizer) {
    if !opt.is_null() {
        // SAFETY: `opt` came from `llmc_optimizer_new` and is freed once (caller's promise).
        // (A dyn Optimizer is not UnwindSafe; nothing is observed after a panic in drop.)
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            drop(unsafe { Box::from_raw(opt) })
        }));
    }
}

/// "params[1] ('b')": a buffer pointer by its array and index, with the parameter's name.
fn which(array: &str, i: usize, specs: &[ParamSpec]) -> String {
    format!("{array}[{i}] ('{}')", specs[i].name)
}

/// A non-NULL, f32-aligned buffer pointer.
fn check_buffer(p: *const f32, array: &str, i: usize, specs: &[ParamSpec]) -> FfiResult {
    if p.is_null() {
        return Err(Failure {
            status: llmc_status::LLMC_ERR_NULL_ARGUMENT,
            message: format!("{} is NULL", which(array, i, specs)),
        });
    }
    if !p.is_aligned() {
        return Err(invalid(format!(
            "{} at {p:p} is not aligned to {} bytes (an f32 buffer)",
            which(array, i, specs),
            align_of::<f32>()
        )));
    }
    Ok(())
}

/// One buffer's address range.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    /// A parameter (written) rather than a gradient (read).
    param: bool,
    index: usize,
}

/// Refuses a parameter buffer that shares memory with any other buffer (a parameter or a
/// gradient): the step writes it through `&mut [f32]`. Gradients may share memory with each
/// other. Exact: after sorting by start, a span overlaps an earlier one iff it starts before
/// the largest end seen so far (among the spans it may not share with).
fn check_overlaps(params: &[*mut f32], grads: &[*const f32], specs: &[ParamSpec]) -> FfiResult {
    let span = |p: usize, i: usize, param: bool| Span {
        start: p,
        end: p.wrapping_add(specs[i].shape.len() * size_of::<f32>()),
        param,
        index: i,
    };
    let mut spans: Vec<Span> = (params.iter().enumerate())
        .map(|(i, &p)| span(p as usize, i, true))
        .chain(
            grads
                .iter()
                .enumerate()
                .map(|(i, &g)| span(g as usize, i, false)),
        )
        .collect();
    spans.sort_by_key(|s| (s.start, !s.param));
    let name = |s: &Span| which(if s.param { "params" } else { "grads" }, s.index, specs);
    let (mut any_end, mut param_end): (Option<Span>, Option<Span>) = (None, None);
    for s in &spans {
        let earlier = if s.param { any_end } else { param_end };
        if let Some(o) = earlier.filter(|o| s.start < o.end) {
            let how = if o.start == s.start {
                "is the same pointer as"
            } else {
                "overlaps"
            };
            return Err(invalid(format!(
                "{} {how} {}: each parameter needs a buffer of its own, shared with no other \
                 parameter or gradient",
                name(s),
                name(&o)
            )));
        }
        if any_end.is_none_or(|o| s.end > o.end) {
            any_end = Some(*s);
        }
        if s.param && param_end.is_none_or(|o| s.end > o.end) {
            param_end = Some(*s);
        }
    }
    Ok(())
}

/// One update of every parameter from its gradient, in place. `params[i]` and `grads[i]` point
/// to the `i`-th declared parameter's values and gradient (f32, as many as its shape holds,
/// row-major for a matrix); `n_params` must be the number declared. The pointers are used
/// during the call only and never kept. A parameter buffer must not share memory with any
/// other buffer of the call (parameters and gradients; gradients may share with each other):
/// an exact duplicate or a partial overlap is refused.
///
/// All or nothing: every pointer and every gradient value is checked before anything changes;
/// on an error no parameter, moment or step count changes and the next good step is the one
/// that would have come: `LLMC_ERR_NULL_ARGUMENT` (`opt`, `params` or `grads`, or one of their
/// pointers: "params[1] ('b') is NULL"), `LLMC_ERR_INVALID_ARGUMENT` (`n_params` other than
/// the number declared, a pointer not aligned to 4 bytes, buffers sharing memory, a NaN or
/// infinite gradient value: "gradient of 'w' holds NaN at index 3: step refused, parameters
/// unchanged").
#[no_mangle]
pub unsafe extern "C" fn llmc_optimizer_step(
    opt: *mut llmc_optimizer,
    params: *const *mut f32,
    grads: *const *const f32,
    n_params: usize,
) -> llmc_status {
    guard("llmc_optimizer_step", || {
        // SAFETY: the caller passes a live handle used by this thread only and two arrays of
        // `n_params` pointers.
        let o = unsafe { arg_mut(opt, "opt")? };
        let p_ptrs = unsafe { arg_slice(params, n_params, "params")? };
        let g_ptrs = unsafe { arg_slice(grads, n_params, "grads")? };
        let specs = o.opt.params();
        if n_params != specs.len() {
            return Err(invalid(format!(
                "n_params is {n_params}, the optimizer was created for {} parameters",
                specs.len()
            )));
        }
        for i in 0..n_params {
            check_buffer(p_ptrs[i], "params", i, specs)?;
            check_buffer(g_ptrs[i], "grads", i, specs)?;
        }
        check_overlaps(p_ptrs, g_ptrs, specs)?;
        let lens: Vec<usize> = specs.iter().map(|s| s.shape.len()).collect();
        // SAFETY: each pointer is non-NULL and aligned, and the caller promises it holds the
        // declared number of f32 values, valid for the call; no parameter buffer shares
        // memory with another buffer (checked above), so the `&mut` slices are exclusive.
        let mut ps: Vec<&mut [f32]> = (p_ptrs.iter().zip(&lens))
            .map(|(&p, &n)| unsafe { std::slice::from_raw_parts_mut(p, n) })
            .collect();
        let gs: Vec<&[f32]> = (g_ptrs.iter().zip(&lens))
            .map(|(&g, &n)| unsafe { std::slice::from_raw_parts(g, n) })
            .collect();
        o.opt.step(&mut ps, &gs).map_err(plain)?;
        Ok(())
    })
}

/// Sets the learning rate of the following steps (finite and > 0; a schedule lives in the
/// caller). For Adafactor with `relative_step` the relative step replaces it.
#[no_mangle]
pub unsafe extern "C" fn llmc_optimizer_set_lr(opt: *mut llmc_optimizer, lr: f64) -> llmc_status {
    guard("llmc_optimizer_set_lr", || {
        // SAFETY: the caller passes a live handle used by this thread only.
        let o = unsafe { arg_mut(opt, "opt")? };
        o.opt.set_lr(lr).map_err(plain)?;
        Ok(())
    })
}

/// Writes the learning rate the next step uses into `*lr`.
#[no_mangle]
pub unsafe extern "C" fn llmc_optimizer_lr(
    opt: *const llmc_optimizer,
    lr: *mut f64,
) -> llmc_status {
    guard("llmc_optimizer_lr", || {
        // SAFETY: the caller passes a live handle.
        let o = unsafe { arg_ref(opt, "opt")? };
        let lr = out_ptr(lr, "lr")?;
        // SAFETY: checked non-NULL.
        unsafe { lr.write(o.opt.lr()) };
        Ok(())
    })
}

/// Writes the number of steps taken so far into `*steps` (refused steps do not count).
#[no_mangle]
pub unsafe extern "C" fn llmc_optimizer_steps(
    opt: *const llmc_optimizer,
    steps: *mut u64,
) -> llmc_status {
    guard("llmc_optimizer_steps", || {
        // SAFETY: the caller passes a live handle.
        let o = unsafe { arg_ref(opt, "opt")? };
        let steps = out_ptr(steps, "steps")?;
        // SAFETY: checked non-NULL.
        unsafe { steps.write(o.opt.steps()) };
        Ok(())
    })
}

/// Writes the bytes of persistent state the optimizer holds now (the sum over its parameters)
/// into `*total`, and the largest scratch one parameter's step allocates and frees again (held
/// once per worker thread updating a parameter) into `*step_scratch`. Adapprox's total grows
/// with the factors' ranks, so it changes from step to step.
#[no_mangle]
pub unsafe extern "C" fn llmc_optimizer_state_bytes(
    opt: *const llmc_optimizer,
    total: *mut usize,
    step_scratch: *mut usize,
) -> llmc_status {
    guard("llmc_optimizer_state_bytes", || {
        // SAFETY: the caller passes a live handle.
        let o = unsafe { arg_ref(opt, "opt")? };
        let total = out_ptr(total, "total")?;
        let step_scratch = out_ptr(step_scratch, "step_scratch")?;
        let s = o.opt.state_bytes();
        // SAFETY: checked non-NULL.
        unsafe {
            total.write(s.total);
            step_scratch.write(s.step_scratch);
        }
        Ok(())
    })
}

/// Fills `*state` for parameter `index` (declaration order): its bytes of state and, for an
/// Adapprox matrix, its factors' rank and relative error. `LLMC_ERR_INVALID_ARGUMENT` for an
/// index past the parameters or a wrong `state->struct_size`.
#[no_mangle]
pub unsafe extern "C" fn llmc_optimizer_param_state(
    opt: *const llmc_optimizer,
    index: usize,
    state: *mut llmc_param_state,
) -> llmc_status {
    guard("llmc_optimizer_param_state", || {
        // SAFETY: the caller passes a live handle and a result struct.
        let o = unsafe { arg_ref(opt, "opt")? };
        let state = unsafe { check_result(state, "state")? };
        let s = o.opt.state_bytes();
        let p = s.params.get(index).ok_or_else(|| {
            invalid(format!(
                "parameter index {index}, the optimizer has {}",
                s.params.len()
            ))
        })?;
        let value = llmc_param_state {
            struct_size: size_of::<llmc_param_state>(),
            bytes: p.bytes,
            rank: p.factors.map_or(0, |f| u32_field(f.rank)),
            error: p.factors.map_or(0.0, |f| f.error),
        };
        // SAFETY: checked above.
        unsafe { state.write(value) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_cores() {
        let p = llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAMW);
        assert_eq!(p.struct_size, size_of::<llmc_optimizer_params>());
        let w = AdamWParams::default();
        assert_eq!(
            (p.lr, p.beta1, p.beta2, p.eps, p.weight_decay),
            (w.lr, w.beta1, w.beta2, w.eps, w.weight_decay)
        );
        let p = llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAFACTOR);
        let f = AdafactorParams::default();
        assert_eq!(
            (p.lr, p.eps, p.eps2, p.clip),
            (f.lr, f.eps1, f.eps2, f.clip)
        );
        assert_eq!(
            (p.decay_rate, p.weight_decay),
            (f.decay_rate, f.weight_decay)
        );
        assert!(!p.first_moment && !p.scale_parameter && !p.relative_step && !p.warmup_init);
        let p = llmc_optimizer_default_params(LLMC_OPTIMIZER_CAME);
        let c = CameParams::default();
        assert_eq!(
            (p.lr, p.eps, p.eps2, p.clip, p.beta1, p.beta2, p.beta3),
            (c.lr, c.eps1, c.eps2, c.clip, c.beta1, c.beta2, c.beta3)
        );
        let p = llmc_optimizer_default_params(LLMC_OPTIMIZER_ADAPPROX);
        let a = AdapproxParams::default();
        assert_eq!(
            (p.lr, p.beta2, p.eps, p.clip),
            (a.lr, a.beta2, a.eps, a.clip)
        );
        assert_eq!(p.first_moment.then_some(p.beta1), a.beta1);
        assert_eq!(
            (p.rank_min, p.rank_max, p.oversample, p.power_iters),
            (1, 64, 5, 1)
        );
        assert_eq!((p.error_target, p.guidance, p.seed), (0.05, false, 0));
        let unknown = llmc_optimizer_default_params(9);
        assert_eq!(unknown.kind, 9);
    }

    fn specs(shapes: &[(usize, usize)]) -> Vec<ParamSpec> {
        shapes
            .iter()
            .enumerate()
            .map(|(i, &(r, c))| ParamSpec::matrix(format!("p{i}"), r, c))
            .collect()
    }

    #[test]
    fn overlaps_are_found_exactly() {
        let specs = specs(&[(2, 2), (1, 3), (1, 1)]);
        let mut buf = [0f32; 32];
        let b = buf.as_mut_ptr();
        let at = |i: usize| b.wrapping_add(i);
        let ok = |p: [usize; 3], g: [usize; 3]| {
            let p = p.map(at);
            let g = g.map(|i| at(i) as *const f32);
            check_overlaps(&p, &g, &specs).map_err(|e| e.message)
        };
        // Back to back, gradients sharing with each other.
        assert!(ok([0, 4, 7], [8, 8, 9]).is_ok());
        let e = ok([0, 4, 4], [8, 12, 16]).unwrap_err();
        assert!(
            e.starts_with("params[2] ('p2') is the same pointer as params[1] ('p1')"),
            "{e}"
        );
        let e = ok([0, 3, 7], [8, 12, 16]).unwrap_err();
        assert!(
            e.starts_with("params[1] ('p1') overlaps params[0] ('p0')"),
            "{e}"
        );
        // A gradient inside a parameter, and a parameter inside a gradient.
        let e = ok([0, 4, 7], [8, 5, 16]).unwrap_err();
        assert!(
            e.starts_with("grads[1] ('p1') overlaps params[1] ('p1')"),
            "{e}"
        );
        let e = ok([0, 4, 9], [8, 20, 24]).unwrap_err();
        assert!(
            e.starts_with("params[2] ('p2') overlaps grads[0] ('p0')"),
            "{e}"
        );
        // A long span far back still counts.
        let e = ok([10, 20, 3], [0, 26, 1]).unwrap_err();
        assert!(
            e.starts_with("params[2] ('p2') overlaps grads[0] ('p0')"),
            "{e}"
        );
    }
}
