//! Post-training pruning: a GGUF model pruned with a calibration set (magnitude, Wanda,
//! SparseGPT or FISTA; unstructured or N:M; optionally OWL's layer sparsities) and written as a
//! new GGUF file, the flow of `llmcore prune --out`.

use crate::boundary::{
    arg_cstr, arg_path, check_result, guard, inner, invalid, log, read_params, Failure, FfiResult,
    LLMC_LOG_INFO,
};
use crate::status::llmc_status;
use runtime::model::save::{SaveOptions, WeightType};
use runtime::model::Model;
use runtime::prune::calib::{CalibSet, CalibSource};
use runtime::prune::fista::{FistaParams, WarmStart};
use runtime::prune::method::Method;
use runtime::prune::owl::OwlParams;
use runtime::prune::pipeline::{self, Mode, PruneSpec, Stage};
use runtime::prune::sparsegpt::SparseGptParams;
use runtime::prune::Pattern;
use runtime::tensor::GgmlType;
use std::ffi::{c_char, c_void};
use std::path::Path;
use std::time::Instant;

/// A pruning method.
#[allow(non_camel_case_types)]
pub type llmc_prune_method = u32;
/// Smallest |W| per matrix; needs no calibration (unless OWL is on).
pub const LLMC_PRUNE_MAGNITUDE: llmc_prune_method = 0;
/// Wanda: |W_ij| ||X_j||_2 per output row (default).
pub const LLMC_PRUNE_WANDA: llmc_prune_method = 1;
/// SparseGPT: masks and updates from the inputs' Hessian (`sparsegpt_*` settings).
pub const LLMC_PRUNE_SPARSEGPT: llmc_prune_method = 2;
/// FISTAPruner: the l1-regularized reconstruction solved by FISTA (`fista_*` settings).
pub const LLMC_PRUNE_FISTA: llmc_prune_method = 3;

/// What each layer's inputs are while pruning.
#[allow(non_camel_case_types)]
pub type llmc_prune_mode = u32;
/// The method's own: dense-input for FISTA, sequential for the others (default).
pub const LLMC_PRUNE_MODE_DEFAULT: llmc_prune_mode = 0;
/// Each layer sees the inputs the already pruned layers before it give.
pub const LLMC_PRUNE_MODE_SEQUENTIAL: llmc_prune_mode = 1;
/// Each layer sees the dense model's inputs.
pub const LLMC_PRUNE_MODE_DENSE_INPUT: llmc_prune_mode = 2;

/// How the pruned model's linear weights are written (pruned zeros stay exact in each).
#[allow(non_camel_case_types)]
pub type llmc_prune_format = u32;
/// 16-bit floats (default).
pub const LLMC_PRUNE_FORMAT_F16: llmc_prune_format = 0;
/// GGML's Q8_0 (8-bit blocks of 32).
pub const LLMC_PRUNE_FORMAT_Q8_0: llmc_prune_format = 1;
/// GGML's Q4_0 (4-bit blocks of 32).
pub const LLMC_PRUNE_FORMAT_Q4_0: llmc_prune_format = 2;

/// Where FISTA starts from.
#[allow(non_camel_case_types)]
pub type llmc_fista_warm = u32;
/// Wanda's mask (default; the authors' choice for LLaMA models).
pub const LLMC_FISTA_WARM_WANDA: llmc_fista_warm = 0;
/// SparseGPT, with `sparsegpt_block` and `sparsegpt_damp`.
pub const LLMC_FISTA_WARM_SPARSEGPT: llmc_fista_warm = 1;

/// How to prune. Start from `llmc_prune_default_params()`. Settings of a method other than
/// the chosen one are ignored.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_prune_params {
    /// `sizeof(llmc_prune_params)`.
    pub struct_size: usize,
    /// One of `LLMC_PRUNE_MAGNITUDE`, `_WANDA` (default), `_SPARSEGPT`, `_FISTA`.
    pub method: llmc_prune_method,
    /// Unstructured sparsity in [0, 1) (default 0.5); ignored when `nm_m` is not 0.
    pub sparsity: f64,
    /// N:M pattern: `nm_n` of every `nm_m` consecutive weights of a row zero, 0 < N < M, M
    /// dividing every matrix's width (2:4, 4:8); both 0 (default) for unstructured.
    pub nm_n: usize,
    pub nm_m: usize,
    /// One of `LLMC_PRUNE_MODE_*` (default `LLMC_PRUNE_MODE_DEFAULT`).
    pub mode: llmc_prune_mode,
    /// OWL layer sparsities around the target: outlier threshold M (> 0) and spread lambda
    /// (>= 0, the target +- 2 lambda inside [0, 1)). `owl_m` 0 (default) turns OWL off; the
    /// paper's settings are 5 and 0.08 (default lambda).
    pub owl_m: f64,
    pub owl_lambda: f64,
    /// Calibration source, NUL-terminated: "file:PATH" (UTF-8 text), "random" or
    /// "selfgen:PATH" (a set from `llmc_calib_selfgen`). NULL (default) only for magnitude
    /// without OWL, which read no calibration.
    pub calib: *const c_char,
    /// Calibration windows (default 128) of `seqlen` tokens (0, the default: 2048, or the
    /// model's context when shorter), drawn with `seed` (default 0).
    pub nsamples: usize,
    pub seqlen: usize,
    pub seed: u64,
    /// One of `LLMC_PRUNE_FORMAT_*` (default `LLMC_PRUNE_FORMAT_F16`).
    pub format: llmc_prune_format,
    /// Replace an existing output file (default false: an existing one is an error).
    pub overwrite: bool,
    /// SparseGPT (and FISTA's SparseGPT warm start): columns per block (default 128) and
    /// diagonal damping as a fraction of the mean diagonal, in [0, 1) (default 0.01).
    pub sparsegpt_block: usize,
    pub sparsegpt_damp: f64,
    /// FISTA: iterations per round (default 20), rounds of lambda bisection at most (8), the
    /// sparsity tolerance that stops bisecting, in [0, 1) (0.005), the warm start
    /// (`LLMC_FISTA_WARM_WANDA`), and the least-squares refit of the kept weights after the
    /// projection (true).
    pub fista_iters: usize,
    pub fista_rounds: usize,
    pub fista_tolerance: f64,
    pub fista_warm: llmc_fista_warm,
    pub fista_refit: bool,
}

/// Defaults: Wanda at 50% unstructured sparsity in its own (sequential) mode, no OWL, 128
/// windows of 2048 tokens (or the model's context) with seed 0, F16 weights, no overwrite;
/// `calib` is NULL and must be set for every method but magnitude.
#[no_mangle]
pub extern "C" fn llmc_prune_default_params() -> llmc_prune_params {
    let g = SparseGptParams::default();
    let f = FistaParams::default();
    llmc_prune_params {
        struct_size: size_of::<llmc_prune_params>(),
        method: LLMC_PRUNE_WANDA,
        sparsity: 0.5,
        nm_n: 0,
        nm_m: 0,
        mode: LLMC_PRUNE_MODE_DEFAULT,
        owl_m: 0.0,
        owl_lambda: OwlParams::default().lambda,
        calib: std::ptr::null(),
        nsamples: 128,
        seqlen: 0,
        seed: 0,
        format: LLMC_PRUNE_FORMAT_F16,
        overwrite: false,
        sparsegpt_block: g.block,
        sparsegpt_damp: g.damp,
        fista_iters: f.iters,
        fista_rounds: f.rounds,
        fista_tolerance: f.tolerance,
        fista_warm: LLMC_FISTA_WARM_WANDA,
        fista_refit: f.refit,
    }
}

/// What a pruning run is doing, as the progress callback is told.
#[allow(non_camel_case_types)]
pub type llmc_prune_stage = u32;
/// OWL: the dense model's Wanda scores of a layer, for its outlier ratio.
pub const LLMC_PRUNE_STAGE_OUTLIERS: llmc_prune_stage = 0;
/// Running dense layers to get the pruned layers' inputs.
pub const LLMC_PRUNE_STAGE_INPUTS: llmc_prune_stage = 1;
/// Observing the inputs of a layer's operators.
pub const LLMC_PRUNE_STAGE_STATISTICS: llmc_prune_stage = 2;
/// Pruning one of a layer's matrices.
pub const LLMC_PRUNE_STAGE_PRUNE: llmc_prune_stage = 3;
/// Running a layer to make the next layer's inputs.
pub const LLMC_PRUNE_STAGE_PROPAGATE: llmc_prune_stage = 4;
/// Writing the pruned model (`done` of `total` tensors; `layer` is 0).
pub const LLMC_PRUNE_STAGE_SAVE: llmc_prune_stage = 5;

/// Receives a pruning run's progress: at `layer`, doing `stage` (`LLMC_PRUNE_STAGE_*`), `done`
/// of `total` work units (one unit is one window through one layer or one matrix pruned; while
/// saving, one tensor written), and the `user_data` given with it. Return true to go on, false
/// to cancel (`LLMC_ERR_CANCELLED`, no output file). Runs on the calling thread; must not
/// unwind through the library.
#[allow(non_camel_case_types)]
pub type llmc_prune_progress = Option<
    unsafe extern "C" fn(
        layer: usize,
        stage: llmc_prune_stage,
        done: usize,
        total: usize,
        user_data: *mut c_void,
    ) -> bool,
>;

/// What a pruning run did. Set `struct_size = sizeof(llmc_prune_result)` before the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_prune_result {
    pub struct_size: usize,
    /// Exactly-zero weights over all weights of the pruned matrices.
    pub sparsity: f64,
    /// Matrices pruned (seven per decoder layer).
    pub n_matrices: usize,
    /// Calibration tokens per layer pass (windows x length; 0 without calibration).
    pub calibration_tokens: usize,
    /// Wall time of pruning (from the model opened to the last matrix) and of writing the file.
    pub prune_seconds: f64,
    pub save_seconds: f64,
}

/// The method of `p` with its settings.
fn method(p: &llmc_prune_params) -> FfiResult<Method> {
    let sparsegpt = SparseGptParams {
        block: p.sparsegpt_block,
        damp: p.sparsegpt_damp,
    };
    Ok(match p.method {
        LLMC_PRUNE_MAGNITUDE => Method::Magnitude,
        LLMC_PRUNE_WANDA => Method::Wanda,
        LLMC_PRUNE_SPARSEGPT => Method::SparseGpt(sparsegpt),
        LLMC_PRUNE_FISTA => Method::Fista(FistaParams {
            iters: p.fista_iters,
            rounds: p.fista_rounds,
            tolerance: p.fista_tolerance,
            warm: match p.fista_warm {
                LLMC_FISTA_WARM_WANDA => WarmStart::Wanda,
                LLMC_FISTA_WARM_SPARSEGPT => WarmStart::SparseGpt(sparsegpt),
                other => {
                    return Err(invalid(format!(
                        "params->fista_warm {other} (LLMC_FISTA_WARM_*)"
                    )))
                }
            },
            refit: p.fista_refit,
        }),
        other => return Err(invalid(format!("params->method {other} (LLMC_PRUNE_*)"))),
    })
}

/// The pattern of `p`: unstructured when `nm_n` and `nm_m` are both 0.
fn pattern(p: &llmc_prune_params) -> FfiResult<Pattern> {
    let pattern = match (p.nm_n, p.nm_m) {
        (0, 0) => Pattern::Unstructured {
            sparsity: p.sparsity,
        },
        (n, m) => Pattern::NM { n, m },
    };
    pattern
        .validate()
        .map_err(|e| invalid(format!("params: {}", inner(e))))?;
    Ok(pattern)
}

/// Where a pruning run's progress goes.
struct Reporter {
    callback: llmc_prune_progress,
    user_data: *mut c_void,
}

impl Reporter {
    fn report(&self, layer: usize, stage: llmc_prune_stage, done: usize, total: usize) -> bool {
        match self.callback {
            None => true,
            // SAFETY: the caller installed the callback for this call's duration.
            Some(cb) => unsafe { cb(layer, stage, done, total, self.user_data) },
        }
    }
}

/// The calibration's description in the `llmcore.prune.settings` key, as `llmcore prune`
/// writes it.
fn calibration(source: &str, n: usize, len: usize, seed: u64, model: &Path) -> String {
    let file = model.file_name().map(|f| f.to_string_lossy().into_owned());
    runtime::prune::calib::describe_run_windows(source, n, len, seed, &file.unwrap_or_default())
}

/// Prunes the GGUF model at `model_path` and writes the pruned model to `out_path` (GGUF, the
/// source's metadata plus `llmcore.prune.method`, `.pattern`, `.sparsity` and `.settings`), as
/// `llmcore prune --out` does. The library opens its own copy of the model (pruning changes
/// the weights), so handles from `llmc_model_load` are untouched, and the call is safe from
/// several threads at once. `params` may be NULL for the defaults (which need `calib`);
/// `progress` (may be NULL) is called as the run advances, and returning false cancels
/// (`LLMC_ERR_CANCELLED`); `*result` (may be NULL) says what was done.
///
/// Everything the parameters can get wrong is reported before any work, with
/// `LLMC_ERR_INVALID_ARGUMENT` (an unknown method, mode, format or warm-start code, a
/// sparsity outside [0, 1), an N:M pattern without 0 < N < M or whose M does not divide a
/// matrix's width, bad OWL / SparseGPT / FISTA settings, a method that needs calibration
/// without `calib`, an unreadable source spec, calibration text shorter than one window,
/// windows longer than the model's context), `LLMC_ERR_IO` (`out_path` exists and `overwrite`
/// is false; a calibration file that cannot be read), or the model's load errors. The file is
/// written under a temporary name and renamed when complete: a failed or cancelled call leaves
/// no file at `out_path` (and an existing one is replaced only on success).
#[no_mangle]
pub unsafe extern "C" fn llmc_prune(
    model_path: *const c_char,
    out_path: *const c_char,
    params: *const llmc_prune_params,
    progress: llmc_prune_progress,
    user_data: *mut c_void,
    result: *mut llmc_prune_result,
) -> llmc_status {
    guard("llmc_prune", || {
        // SAFETY: caller passes two NUL-terminated paths, optional params (whose `calib` is
        // NULL or NUL-terminated) and an optional result struct.
        let model_path = unsafe { arg_path(model_path, "model_path")? };
        let out = unsafe { arg_path(out_path, "out_path")? };
        let p = unsafe { read_params(params, llmc_prune_default_params(), "params")? };
        let result = if result.is_null() {
            None
        } else {
            Some(unsafe { check_result(result, "result")? })
        };
        let method = method(&p)?;
        let pattern = pattern(&p)?;
        let mode = match p.mode {
            LLMC_PRUNE_MODE_DEFAULT => method.default_mode(),
            LLMC_PRUNE_MODE_SEQUENTIAL => Mode::Sequential,
            LLMC_PRUNE_MODE_DENSE_INPUT => Mode::DenseInput,
            other => return Err(invalid(format!("params->mode {other} (LLMC_PRUNE_MODE_*)"))),
        };
        method
            .validate(mode)
            .map_err(|e| invalid(format!("params: {}", inner(e))))?;
        let weight_type = match p.format {
            LLMC_PRUNE_FORMAT_F16 => GgmlType::F16,
            LLMC_PRUNE_FORMAT_Q8_0 => GgmlType::Q8_0,
            LLMC_PRUNE_FORMAT_Q4_0 => GgmlType::Q4_0,
            other => {
                return Err(invalid(format!(
                    "params->format {other} (LLMC_PRUNE_FORMAT_*)"
                )))
            }
        };
        let owl = if p.owl_m == 0.0 {
            None
        } else {
            let owl = OwlParams {
                m: p.owl_m,
                lambda: p.owl_lambda,
            };
            owl.validate_for(pattern)
                .map_err(|e| invalid(format!("params->owl_m, owl_lambda: {}", inner(e))))?;
            Some(owl)
        };
        let calib =
            if p.calib.is_null() {
                match (method.statistic(), owl) {
                    (None, None) => None,
                    (Some(_), _) => {
                        return Err(invalid(format!(
                            "params->calib is NULL: method {} needs calibration",
                            method.name()
                        )))
                    }
                    (None, Some(_)) => return Err(invalid(
                        "params->calib is NULL: OWL needs calibration (its outlier ratios come \
                         from Wanda scores)",
                    )),
                }
            } else {
                // SAFETY: a non-NULL `calib` is NUL-terminated (the caller's promise).
                let spec = unsafe { arg_cstr(p.calib, "params->calib")? };
                Some(
                    CalibSource::parse(spec)
                        .map_err(|e| invalid(format!("params->calib: {}", inner(e))))?,
                )
            };
        if out.exists() && !p.overwrite {
            return Err(Failure {
                status: llmc_status::LLMC_ERR_IO,
                message: format!(
                    "out_path {} exists; set params->overwrite to replace it",
                    out.display()
                ),
            });
        }

        let start = Instant::now();
        let mut model = Model::open(model_path)?;
        let seqlen = match p.seqlen {
            0 => 2048usize.min(model.config.context_length),
            n => n,
        };
        let spec = PruneSpec {
            method,
            pattern,
            mode,
            layers: 0..model.config.n_layer,
            owl,
        };
        // The spec's checks against the model's shapes (the pattern against every matrix's
        // width) before the calibration text is read; the windows are checked with it after.
        let shapes_only = PruneSpec {
            method: Method::Magnitude,
            owl: None,
            ..spec.clone()
        };
        pipeline::validate(&model, &[], &shapes_only)?;
        let windows = match &calib {
            Some(src) => src.windows(&model, p.nsamples, seqlen, p.seed)?,
            None => CalibSet {
                windows: vec![],
                source: "none".into(),
            },
        };
        pipeline::validate(&model, &windows.windows, &spec)?;
        let keys = spec.run_keys(&calibration(
            &windows.source,
            p.nsamples,
            seqlen,
            p.seed,
            model_path,
        ));

        let reporter = Reporter {
            callback: progress,
            user_data,
        };
        let report = pipeline::prune(&mut model, &windows.windows, &spec, &mut |pr| {
            let stage = match pr.stage {
                Stage::Outliers => LLMC_PRUNE_STAGE_OUTLIERS,
                Stage::Inputs => LLMC_PRUNE_STAGE_INPUTS,
                Stage::Statistics(_) => LLMC_PRUNE_STAGE_STATISTICS,
                Stage::Prune(_) => LLMC_PRUNE_STAGE_PRUNE,
                Stage::Propagate => LLMC_PRUNE_STAGE_PROPAGATE,
            };
            reporter.report(pr.layer, stage, pr.done, pr.total)
        })?;
        let prune_seconds = start.elapsed().as_secs_f64();

        let saving = Instant::now();
        let options = SaveOptions {
            weight_type: WeightType::As(weight_type),
            extra_metadata: keys,
            overwrite: p.overwrite,
        };
        model.save_gguf(out, &options, &mut |done, total| {
            reporter.report(0, LLMC_PRUNE_STAGE_SAVE, done, total)
        })?;
        let save_seconds = saving.elapsed().as_secs_f64();
        log(
            LLMC_LOG_INFO,
            &format!(
                "pruned {} with {} {}: {} matrices at {:.4}% zeros in {prune_seconds:.1} s; \
                 wrote {} in {save_seconds:.1} s",
                model_path.display(),
                spec.method.name(),
                spec.pattern.describe(),
                report.matrices.len(),
                100.0 * report.sparsity(),
                out.display()
            ),
        );
        if let Some(result) = result {
            let value = llmc_prune_result {
                struct_size: size_of::<llmc_prune_result>(),
                sparsity: report.sparsity(),
                n_matrices: report.matrices.len(),
                calibration_tokens: report.calibration_tokens,
                prune_seconds,
                save_seconds,
            };
            // SAFETY: checked above.
            unsafe { result.write(value) };
        }
        Ok(())
    })
}
