//! The evaluation harness, the flow of `llmcore eval`: tasks and suites read from files, run on
//! our runtime (`llmc_eval_run_model`) or on any engine that answers lm-evaluation-harness's
//! three requests through callbacks (`llmc_eval_run`), the results as the CLI's JSON object.

use crate::boundary::{
    arg_cstr, arg_path, arg_ref, arg_text, guard, in_field, inner, invalid, log, null, out_ptr,
    read_params, write_text, Failure, FfiResult, LLMC_LOG_INFO,
};
use crate::model::llmc_model;
use crate::status::llmc_status;
use runtime::evalh::contract::{LogLikelihood, Progress};
use runtime::evalh::report::results_json;
use runtime::evalh::runner::{EvalSettings, MetricValue};
use runtime::evalh::suite::{load_all, LoadedTask};
use runtime::evalh::{
    evaluate_all, GenerateRequest, LanguageModel, LoglikelihoodRequest, NativeModel, OutputType,
    RunProgress, Task,
};
use runtime::io::json::Json;
use runtime::io::sha256::sha256_hex;
use runtime::model::Numerics;
use std::cell::RefCell;
use std::ffi::{c_char, c_void};
use std::path::Path;
use std::rc::Rc;
use std::time::Instant;

/// `len` bytes of UTF-8 text at `text`, followed by a NUL the length does not count (so the
/// text may also be read as a C string, unless it holds a NUL byte itself). Borrowed for the
/// callback it is passed to.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_eval_text {
    pub text: *const c_char,
    pub len: usize,
}

/// One `loglikelihood` request: log p(continuation | context). Both texts are as in
/// `llmc_eval_text` (UTF-8, `_len` bytes, then a NUL); `context` may be empty (length 0).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_eval_pair {
    pub context: *const c_char,
    pub context_len: usize,
    pub continuation: *const c_char,
    pub continuation_len: usize,
}

/// Answers `n` log-likelihood requests (a task's whole batch, in order; the engine may reorder
/// and share work between requests, e.g. the choices of one question share their context):
/// `logprob_out[i]` = log p(requests[i].continuation | requests[i].context) in nats (not NaN,
/// not +infinity), `is_greedy_out[i]` = whether greedy decoding after the context gives the
/// continuation. Both arrays hold `n` elements. Return false on failure (the run fails).
#[allow(non_camel_case_types)]
pub type llmc_eval_loglikelihood_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        requests: *const llmc_eval_pair,
        n: usize,
        logprob_out: *mut f64,
        is_greedy_out: *mut bool,
    ) -> bool,
>;

/// Answers `n` rolling log-likelihood requests (a task's whole batch): `logprob_out[i]` = the
/// total log-likelihood in nats of the whole of `texts[i]` from an empty context (after the
/// engine's own start-of-text token), scored in windows of the engine's maximum length as
/// lm-eval's `loglikelihood_rolling`. Return false on failure.
#[allow(non_camel_case_types)]
pub type llmc_eval_rolling_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        texts: *const llmc_eval_text,
        n: usize,
        logprob_out: *mut f64,
    ) -> bool,
>;

/// Answers one `generate_until` request: the greedy text after `context` (`context_len` bytes
/// of UTF-8, then a NUL), at most `max_tokens` tokens, stopping at the first of the `n_until`
/// stop strings (NULL when `n_until` is 0). Returns the text (UTF-8, `*text_len_out` bytes,
/// which the callback must set; no NUL needed) in memory the engine owns, which must stay
/// valid until the engine's next callback or the end of the run; NULL on failure. Text past a
/// stop string is allowed: the library cuts it before the first stop string.
#[allow(non_camel_case_types)]
pub type llmc_eval_generate_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        context: *const c_char,
        context_len: usize,
        until: *const llmc_eval_text,
        n_until: usize,
        max_tokens: usize,
        text_len_out: *mut usize,
    ) -> *const c_char,
>;

/// A language model that is not ours, as callbacks: multiple-choice tasks need
/// `loglikelihood`, `loglikelihood_rolling` tasks `loglikelihood_rolling`, generation tasks
/// `generate_until`. Any callback may be NULL when no task of the run needs it. Each receives
/// `user_data`; they run on the thread that called `llmc_eval_run`, one at a time, and must
/// not unwind through the library. Set `struct_size = sizeof(llmc_eval_engine)`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_eval_engine {
    pub struct_size: usize,
    pub user_data: *mut c_void,
    pub loglikelihood: llmc_eval_loglikelihood_fn,
    pub loglikelihood_rolling: llmc_eval_rolling_fn,
    pub generate_until: llmc_eval_generate_fn,
}

/// How to run tasks. Start from `llmc_eval_default_params()`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct llmc_eval_params {
    /// `sizeof(llmc_eval_params)`.
    pub struct_size: usize,
    /// Evaluate only the first `limit` (>= 1) documents of each task; -1 (default) = all.
    pub limit: i64,
    /// Few-shot examples per question (>= 0); -1 (default) = each task's own `num_fewshot`.
    pub num_fewshot: i64,
    /// Bootstrap resamples for the standard errors, at least 2 (default 1000), drawn with
    /// `bootstrap_seed` (default 1234).
    pub bootstrap_iters: usize,
    pub bootstrap_seed: u64,
    /// Include every document's requests and answers ("samples") in the results JSON
    /// (default false).
    pub samples: bool,
    /// `llmc_eval_run_model` only: the longest input in tokens, contexts left-truncated to it;
    /// 0 (default) = the model's context length or 2048, whichever is smaller.
    pub max_length: usize,
    /// `llmc_eval_run_model` only: the exact f32 path instead of the fast quantized one
    /// (default false).
    pub exact: bool,
}

/// Defaults: every document, each task's own few-shot count, 1000 bootstrap resamples with
/// seed 1234, no samples, max_length min(context length, 2048), fast numerics (as `llmcore
/// eval`).
#[no_mangle]
pub extern "C" fn llmc_eval_default_params() -> llmc_eval_params {
    let d = EvalSettings::default();
    llmc_eval_params {
        struct_size: size_of::<llmc_eval_params>(),
        limit: -1,
        num_fewshot: -1,
        bootstrap_iters: d.bootstrap_iters,
        bootstrap_seed: d.bootstrap_seed,
        samples: false,
        max_length: 0,
        exact: false,
    }
}

/// Receives an evaluation's progress: task `task_index` (0-based) of `n_tasks`, `done` of its
/// `total` requests answered, and the `user_data` given with it. It is called after each
/// engine callback returns (so once per task for the batched log-likelihood callbacks, after
/// each request for `generate_until`) and, on our runtime, after each group of requests
/// sharing a context. Return true to go on, false to cancel (`LLMC_ERR_CANCELLED`). Runs on the
/// calling thread; must not unwind through the library.
#[allow(non_camel_case_types)]
pub type llmc_eval_progress = Option<
    unsafe extern "C" fn(
        task_index: usize,
        n_tasks: usize,
        done: usize,
        total: usize,
        user_data: *mut c_void,
    ) -> bool,
>;

/// The results of an evaluation: the JSON text and each task's metrics. Immutable: it may be
/// read from several threads at once. Released with `llmc_eval_results_free`.
#[allow(non_camel_case_types)]
pub struct llmc_eval_results {
    json: String,
    tasks: Vec<(String, Vec<MetricValue>)>,
}

/// The core's settings for `p`, every field checked; errors name the C field.
fn settings(p: &llmc_eval_params) -> FfiResult<EvalSettings> {
    let limit = match p.limit {
        -1 => None,
        n if n >= 1 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        n => {
            return Err(invalid(format!(
                "params->limit {n}: documents per task must be at least 1 (-1 = all)"
            )))
        }
    };
    let num_fewshot = match p.num_fewshot {
        -1 => None,
        k if k >= 0 => Some(usize::try_from(k).unwrap_or(usize::MAX)),
        k => {
            return Err(invalid(format!(
                "params->num_fewshot {k}: must be >= 0 (-1 = each task's own)"
            )))
        }
    };
    if p.bootstrap_iters < 2 {
        return Err(invalid(format!(
            "params->bootstrap_iters {} must be at least 2",
            p.bootstrap_iters
        )));
    }
    Ok(EvalSettings {
        limit,
        num_fewshot,
        bootstrap_iters: p.bootstrap_iters,
        bootstrap_seed: p.bootstrap_seed,
    })
}

/// The callback a task's requests go to.
fn callback_of(output: OutputType) -> &'static str {
    match output {
        OutputType::MultipleChoice => "loglikelihood",
        OutputType::LoglikelihoodRolling => "loglikelihood_rolling",
        OutputType::GenerateUntil => "generate_until",
    }
}

/// A model the harness runs tasks on, as this shell drives it: told which task runs, and
/// keeping the failure behind an error it gave the core (the core's error has no room for
/// the status and message a failed callback deserves).
trait Harness: LanguageModel {
    /// Where the run writes the name of the task it starts, for the model's messages.
    fn task_slot(&self) -> Option<Rc<RefCell<String>>> {
        None
    }
    fn take_failure(&mut self) -> Option<Failure> {
        None
    }
}

impl Harness for NativeModel {}

/// `text` with a NUL after it, for an `llmc_eval_text` (the NUL is not counted).
fn c_text(text: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(text.len() + 1);
    v.extend_from_slice(text.as_bytes());
    v.push(0);
    v
}

fn eval_text(owned: &[u8]) -> llmc_eval_text {
    llmc_eval_text {
        text: owned.as_ptr().cast(),
        len: owned.len() - 1,
    }
}

/// An engine's callbacks as a [`LanguageModel`].
struct Engine {
    c: llmc_eval_engine,
    name: String,
    /// The task being run (set by the run as each task starts).
    task: Rc<RefCell<String>>,
    failure: Option<Failure>,
}

impl Engine {
    /// Keeps `failure` for the export and gives the core an error that stops the task.
    fn fail(&mut self, status: llmc_status, message: String) -> runtime::Error {
        self.failure = Some(Failure { status, message });
        runtime::Error::Cancelled
    }

    fn missing(&mut self, callback: &str) -> runtime::Error {
        let message = format!(
            "engine has no {callback} callback (task {} needs it)",
            self.task.borrow()
        );
        self.fail(llmc_status::LLMC_ERR_INVALID_ARGUMENT, message)
    }

    fn callback_failed(&mut self, callback: &str, what: String) -> runtime::Error {
        let message = format!(
            "the engine's {callback} callback failed (task {}, {what})",
            self.task.borrow()
        );
        self.fail(llmc_status::LLMC_ERR_CALLBACK, message)
    }

    /// Checks the log-probabilities a callback wrote (each slot starts as NaN, so one left
    /// unwritten is caught too).
    fn check_logprobs(&mut self, callback: &str, logprobs: &[f64]) -> runtime::Result<()> {
        match logprobs
            .iter()
            .position(|x| x.is_nan() || *x == f64::INFINITY)
        {
            None => Ok(()),
            Some(i) => {
                let message = format!(
                    "the engine's {callback} callback gave logprob_out[{i}] = {} (task {}): \
                     every request needs a log-probability that is neither NaN nor +infinity \
                     (an unwritten slot is NaN)",
                    logprobs[i],
                    self.task.borrow()
                );
                Err(self.fail(llmc_status::LLMC_ERR_INVALID_ARGUMENT, message))
            }
        }
    }
}

impl Harness for Engine {
    fn task_slot(&self) -> Option<Rc<RefCell<String>>> {
        Some(self.task.clone())
    }

    fn take_failure(&mut self) -> Option<Failure> {
        self.failure.take()
    }
}

impl LanguageModel for Engine {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn loglikelihood(
        &mut self,
        requests: &[LoglikelihoodRequest],
        progress: Progress<'_>,
    ) -> runtime::Result<Vec<LogLikelihood>> {
        let Some(cb) = self.c.loglikelihood else {
            return Err(self.missing("loglikelihood"));
        };
        let n = requests.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let owned: Vec<(Vec<u8>, Vec<u8>)> = requests
            .iter()
            .map(|r| (c_text(&r.context), c_text(&r.continuation)))
            .collect();
        let pairs: Vec<llmc_eval_pair> = owned
            .iter()
            .map(|(c, x)| llmc_eval_pair {
                context: c.as_ptr().cast(),
                context_len: c.len() - 1,
                continuation: x.as_ptr().cast(),
                continuation_len: x.len() - 1,
            })
            .collect();
        let mut logprobs = vec![f64::NAN; n];
        // Read back as bytes (any non-zero is true), so no value the engine writes is UB.
        let mut greedy = vec![0u8; n];
        // SAFETY: the caller installed the callback for this call; the arrays hold n each.
        let ok = unsafe {
            cb(
                self.c.user_data,
                pairs.as_ptr(),
                n,
                logprobs.as_mut_ptr(),
                greedy.as_mut_ptr().cast(),
            )
        };
        if !ok {
            return Err(self.callback_failed("loglikelihood", format!("{n} requests")));
        }
        self.check_logprobs("loglikelihood", &logprobs)?;
        if !progress(n) {
            return Err(runtime::Error::Cancelled);
        }
        Ok(logprobs
            .iter()
            .zip(&greedy)
            .map(|(&logprob, &g)| LogLikelihood {
                logprob,
                is_greedy: g != 0,
            })
            .collect())
    }

    fn loglikelihood_rolling(
        &mut self,
        texts: &[String],
        progress: Progress<'_>,
    ) -> runtime::Result<Vec<f64>> {
        let Some(cb) = self.c.loglikelihood_rolling else {
            return Err(self.missing("loglikelihood_rolling"));
        };
        let n = texts.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let owned: Vec<Vec<u8>> = texts.iter().map(|t| c_text(t)).collect();
        let c: Vec<llmc_eval_text> = owned.iter().map(|t| eval_text(t)).collect();
        let mut logprobs = vec![f64::NAN; n];
        // SAFETY: as in `loglikelihood`.
        let ok = unsafe { cb(self.c.user_data, c.as_ptr(), n, logprobs.as_mut_ptr()) };
        if !ok {
            return Err(self.callback_failed("loglikelihood_rolling", format!("{n} texts")));
        }
        self.check_logprobs("loglikelihood_rolling", &logprobs)?;
        if !progress(n) {
            return Err(runtime::Error::Cancelled);
        }
        Ok(logprobs)
    }

    fn generate_until(
        &mut self,
        requests: &[GenerateRequest],
        progress: Progress<'_>,
    ) -> runtime::Result<Vec<String>> {
        let Some(cb) = self.c.generate_until else {
            return Err(self.missing("generate_until"));
        };
        let mut out = Vec::with_capacity(requests.len());
        for (i, r) in requests.iter().enumerate() {
            let context = c_text(&r.context);
            let owned: Vec<Vec<u8>> = r.until.iter().map(|u| c_text(u)).collect();
            let until: Vec<llmc_eval_text> = owned.iter().map(|u| eval_text(u)).collect();
            let until_ptr = if until.is_empty() {
                std::ptr::null()
            } else {
                until.as_ptr()
            };
            let mut len = usize::MAX;
            // SAFETY: the caller installed the callback for this call.
            let text = unsafe {
                cb(
                    self.c.user_data,
                    context.as_ptr().cast(),
                    r.context.len(),
                    until_ptr,
                    until.len(),
                    r.max_tokens,
                    &mut len,
                )
            };
            let what = format!("request {i} of {}", requests.len());
            if text.is_null() {
                return Err(self.callback_failed("generate_until", format!("{what}: NULL")));
            }
            if len == usize::MAX {
                let message = format!(
                    "the engine's generate_until callback did not set *text_len_out (task {}, \
                     {what})",
                    self.task.borrow()
                );
                return Err(self.fail(llmc_status::LLMC_ERR_INVALID_ARGUMENT, message));
            }
            // SAFETY: the engine promises `len` readable bytes at `text` until its next call.
            let text = match unsafe { arg_text(text, len, "generate_until's text") } {
                Ok(t) => t,
                Err(f) => {
                    let message = format!(
                        "the engine's generate_until callback returned bad text (task {}, \
                         {what}): {}",
                        self.task.borrow(),
                        f.message
                    );
                    return Err(self.fail(f.status, message));
                }
            };
            let cut = r
                .until
                .iter()
                .filter_map(|u| text.find(u.as_str()))
                .min()
                .unwrap_or(text.len());
            out.push(text[..cut].to_string());
            if !progress(i + 1) {
                return Err(runtime::Error::Cancelled);
            }
        }
        Ok(out)
    }
}

/// What every run reads before any work: the tasks (checked and loaded, with their hashes)
/// and the settings.
struct Run {
    tasks: Vec<LoadedTask>,
    settings: EvalSettings,
    params: llmc_eval_params,
}

impl Run {
    /// # Safety
    /// `tasks` and a non-NULL `tasks_dir` are NUL-terminated; a non-NULL `params` is readable.
    unsafe fn read(
        tasks: *const c_char,
        tasks_dir: *const c_char,
        params: *const llmc_eval_params,
    ) -> FfiResult<Run> {
        // SAFETY: forwarded from the caller.
        let list = unsafe { arg_cstr(tasks, "tasks")? };
        let dir = if tasks_dir.is_null() {
            Path::new("tasks")
        } else {
            // SAFETY: as above.
            unsafe { arg_path(tasks_dir, "tasks_dir")? }
        };
        let p = unsafe { read_params(params, llmc_eval_default_params(), "params")? };
        let settings = settings(&p)?;
        let tasks = load_all(list, dir).map_err(|e| in_field("tasks", e))?;
        Ok(Run {
            tasks,
            settings,
            params: p,
        })
    }

    /// Runs every task on `model`, reporting to `progress`, and makes the results handle.
    fn evaluate(
        self,
        model: &mut dyn Harness,
        model_json: Json,
        progress: llmc_eval_progress,
        user_data: *mut c_void,
    ) -> FfiResult<llmc_eval_results> {
        let start = Instant::now();
        let n_tasks = self.tasks.len();
        let tasks: Vec<&Task> = self.tasks.iter().map(|t| &t.task).collect();
        let mut at = RunProgress {
            task: 0,
            tasks: n_tasks,
            done: 0,
            total: 0,
        };
        let mut cancelled = false;
        let slot = model.task_slot();
        let run = evaluate_all(model, &tasks, &self.settings, &mut |p| {
            at = p;
            if p.done == 0 && p.total == 0 {
                if let Some(s) = &slot {
                    *s.borrow_mut() = tasks[p.task].spec.name.clone();
                }
                return true;
            }
            let go_on = match progress {
                None => true,
                // SAFETY: the caller installed the callback for this call's duration.
                Some(cb) => unsafe { cb(p.task, p.tasks, p.done, p.total, user_data) },
            };
            cancelled |= !go_on;
            go_on
        });
        let results = match run {
            Ok(r) => r,
            Err(e) => {
                if let Some(f) = model.take_failure() {
                    return Err(f);
                }
                let name = &tasks[at.task].spec.name;
                if cancelled {
                    return Err(Failure {
                        status: llmc_status::LLMC_ERR_CANCELLED,
                        message: format!(
                            "cancelled by the progress callback in task {name} ({} of \
                             {n_tasks}) after {} of {} requests",
                            at.task + 1,
                            at.done,
                            at.total
                        ),
                    });
                }
                // Core's message names the task or gets the name in front.
                let status = llmc_status::from_error(&e);
                let message = inner(e);
                return Err(if message.contains(&format!("task {name}")) {
                    Failure { status, message }
                } else {
                    Failure {
                        status,
                        message: format!("task {name}: {message}"),
                    }
                });
            }
        };
        let seconds = start.elapsed().as_secs_f64();
        let requests: usize = results.iter().map(|r| r.requests).sum();
        let hashes: Vec<String> = self.tasks.iter().map(|t| t.sha256.clone()).collect();
        let json = results_json(
            model_json,
            &self.settings,
            &results,
            &hashes,
            self.params.samples,
            Some(seconds),
        );
        log(
            LLMC_LOG_INFO,
            &format!(
                "evaluated {n_tasks} tasks on {}: {requests} requests in {seconds:.1} s",
                model.name()
            ),
        );
        Ok(llmc_eval_results {
            json: json.to_string(),
            tasks: results.into_iter().map(|r| (r.name, r.metrics)).collect(),
        })
    }
}

/// Writes a new results handle into `*out` (checked non-NULL before).
///
/// # Safety
/// `out` must be writable.
unsafe fn emit(out: *mut *mut llmc_eval_results, results: llmc_eval_results) {
    // SAFETY: the caller checked `out`.
    unsafe { out.write(Box::into_raw(Box::new(results))) };
}

/// Runs the tasks `tasks` names on an engine given as callbacks (see `llmc_eval_engine`) and
/// writes a new results handle into `*out` (release it with `llmc_eval_results_free`).
/// `tasks` is `llmcore eval --tasks`' comma-separated list of task files, suite files,
/// directories holding a `suite.json`, or suite names looked up as
/// `<tasks_dir>/<name>/suite.json` (`tasks_dir` NULL = "tasks", relative to the working
/// directory). `engine_name` names the model in the results ("model": {"name": ...,
/// "engine": "external"}). `params` may be NULL for the defaults (`max_length` and `exact` do
/// not apply to an engine); `progress` (may be NULL) reports each task's requests answered,
/// and returning false cancels.
///
/// Every task is read and checked before any callback runs: `LLMC_ERR_NULL_ARGUMENT` (engine,
/// engine_name, tasks, out), `LLMC_ERR_INVALID_ARGUMENT` (a wrong `struct_size` of the engine
/// or the params, a bad `limit` / `num_fewshot` / `bootstrap_iters`, a `tasks` entry that
/// names nothing, a task file that does not parse, a task that needs a callback the engine
/// lacks: "engine has no generate_until callback (task X needs it)"), `LLMC_ERR_IO` (a file
/// that cannot be read). During the run: `LLMC_ERR_CANCELLED` when `progress` returns false
/// or a callback fails (returns false or NULL; the message names the callback and the task),
/// `LLMC_ERR_INVALID_ARGUMENT` when a callback answers with a NaN or +infinity log-probability
/// (or leaves one unwritten), text that is not UTF-8, or no `*text_len_out`. `*out` is
/// written on success only.
#[no_mangle]
pub unsafe extern "C" fn llmc_eval_run(
    engine: *const llmc_eval_engine,
    engine_name: *const c_char,
    tasks: *const c_char,
    tasks_dir: *const c_char,
    params: *const llmc_eval_params,
    progress: llmc_eval_progress,
    progress_user_data: *mut c_void,
    out: *mut *mut llmc_eval_results,
) -> llmc_status {
    guard("llmc_eval_run", || {
        if engine.is_null() {
            return Err(null("engine"));
        }
        // SAFETY: caller passes a readable engine struct (non-NULL checked), NUL-terminated
        // strings and optional params.
        let no_callbacks = llmc_eval_engine {
            struct_size: size_of::<llmc_eval_engine>(),
            user_data: std::ptr::null_mut(),
            loglikelihood: None,
            loglikelihood_rolling: None,
            generate_until: None,
        };
        let c = unsafe { read_params(engine, no_callbacks, "engine")? };
        let name = unsafe { arg_cstr(engine_name, "engine_name")? };
        let run = unsafe { Run::read(tasks, tasks_dir, params)? };
        let out = out_ptr(out, "out")?;
        let has = |output| match output {
            OutputType::MultipleChoice => c.loglikelihood.is_some(),
            OutputType::LoglikelihoodRolling => c.loglikelihood_rolling.is_some(),
            OutputType::GenerateUntil => c.generate_until.is_some(),
        };
        if let Some(t) = run.tasks.iter().find(|t| !has(t.task.spec.output_type)) {
            return Err(invalid(format!(
                "engine has no {} callback (task {} needs it)",
                callback_of(t.task.spec.output_type),
                t.task.spec.name
            )));
        }
        let mut model = Engine {
            c,
            name: name.to_string(),
            task: Rc::default(),
            failure: None,
        };
        let model_json = Json::object([
            ("name", Json::from(name)),
            ("engine", Json::from("external")),
        ]);
        let results = run.evaluate(&mut model, model_json, progress, progress_user_data)?;
        // SAFETY: checked above; written last, on success only.
        unsafe { emit(out, results) };
        Ok(())
    })
}

/// Runs the tasks `tasks` names (as `llmc_eval_run`) on a loaded model with this library's
/// runtime, as `llmcore eval` does: requests sharing a context are scored in one forward.
/// `model_name` names the model in the results (NULL = its `general.name`, or "model"); the
/// results' "model" object also holds the SHA-256 of the GGUF bytes the model was loaded from
/// (the file's hash), the numerics and `max_length`, and "path": null (a handle does not keep
/// its path). The model may be used by other threads meanwhile. Errors as `llmc_eval_run`
/// (without the callbacks'), plus `LLMC_ERR_INVALID_ARGUMENT` for a `max_length` outside
/// 2..=the model's context length or a task's generation budget that does not fit in it.
#[no_mangle]
pub unsafe extern "C" fn llmc_eval_run_model(
    model: *const llmc_model,
    model_name: *const c_char,
    tasks: *const c_char,
    tasks_dir: *const c_char,
    params: *const llmc_eval_params,
    progress: llmc_eval_progress,
    progress_user_data: *mut c_void,
    out: *mut *mut llmc_eval_results,
) -> llmc_status {
    guard("llmc_eval_run_model", || {
        // SAFETY: caller passes a live model, NUL-terminated strings and optional params.
        let m = unsafe { arg_ref(model, "model")? };
        let name = if model_name.is_null() {
            match m.model.config.name.as_str() {
                "" => "model".to_string(),
                n => n.to_string(),
            }
        } else {
            unsafe { arg_cstr(model_name, "model_name")? }.to_string()
        };
        let run = unsafe { Run::read(tasks, tasks_dir, params)? };
        let out = out_ptr(out, "out")?;
        let p = run.params;
        let max_length = match p.max_length {
            0 => m.model.config.context_length.min(2048),
            n => n,
        };
        let numerics = if p.exact {
            Numerics::Exact
        } else {
            Numerics::Fast
        };
        let mut native = NativeModel::new(m.model.clone(), name.clone(), numerics, max_length)
            .map_err(|e| in_field("params->max_length", e))?;
        let model_json = Json::object([
            ("name", Json::from(name)),
            ("path", Json::Null),
            ("sha256", sha256_hex(m.model.file().file_bytes()).into()),
            ("numerics", (if p.exact { "exact" } else { "fast" }).into()),
            ("sparse", Json::Null),
            ("max_length", Json::from(max_length as u64)),
        ]);
        let results = run.evaluate(&mut native, model_json, progress, progress_user_data)?;
        // SAFETY: checked above; written last, on success only.
        unsafe { emit(out, results) };
        Ok(())
    })
}

/// Writes the results as JSON text (the object `llmcore eval --out` writes: "model",
/// "settings", "tasks" with each task's file hash and metrics {"value", "stderr"} (and
/// "samples" when asked for), "categories", and "seconds", "requests", "requests_per_s")
/// NUL-terminated into `buf` (`capacity` bytes) and its length into `*n_out`. A NULL `buf`
/// with capacity 0 asks only for the length.
#[no_mangle]
pub unsafe extern "C" fn llmc_eval_results_json(
    results: *const llmc_eval_results,
    buf: *mut c_char,
    capacity: usize,
    n_out: *mut usize,
) -> llmc_status {
    guard("llmc_eval_results_json", || {
        // SAFETY: caller passes a live handle and a buffer of `capacity` bytes.
        let r = unsafe { arg_ref(results, "results")? };
        unsafe { write_text(buf, capacity, r.json.as_bytes(), n_out) }
    })
}

/// Writes the value of `metric` ("acc", "acc_norm", "exact_match", ...) over task `task` (its
/// "name"; the first task of that name) into `*value_out` and its bootstrap standard error
/// into `*stderr_out` (may be NULL). `LLMC_ERR_INVALID_ARGUMENT` for a task not in the results
/// or a metric the task does not report (the message lists what there is).
#[no_mangle]
pub unsafe extern "C" fn llmc_eval_results_metric(
    results: *const llmc_eval_results,
    task: *const c_char,
    metric: *const c_char,
    value_out: *mut f64,
    stderr_out: *mut f64,
) -> llmc_status {
    guard("llmc_eval_results_metric", || {
        // SAFETY: caller passes a live handle and NUL-terminated names.
        let r = unsafe { arg_ref(results, "results")? };
        let task = unsafe { arg_cstr(task, "task")? };
        let metric = unsafe { arg_cstr(metric, "metric")? };
        let value_out = out_ptr(value_out, "value_out")?;
        let (_, metrics) = r.tasks.iter().find(|(n, _)| n == task).ok_or_else(|| {
            let names: Vec<&str> = r.tasks.iter().map(|(n, _)| n.as_str()).collect();
            invalid(format!(
                "no task \"{task}\" in the results (tasks: {})",
                names.join(", ")
            ))
        })?;
        let m = metrics
            .iter()
            .find(|m| m.metric.name() == metric)
            .ok_or_else(|| {
                let names: Vec<&str> = metrics.iter().map(|m| m.metric.name()).collect();
                invalid(format!(
                    "task {task} has no metric \"{metric}\" (it has {})",
                    names.join(", ")
                ))
            })?;
        // SAFETY: checked non-NULL; `stderr_out` is NULL or writable.
        unsafe {
            value_out.write(m.value);
            if !stderr_out.is_null() {
                stderr_out.write(m.stderr);
            }
        }
        Ok(())
    })
}

/// Releases a results handle. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn llmc_eval_results_free(results: *mut llmc_eval_results) {
    if !results.is_null() {
        // SAFETY: `results` came from `llmc_eval_run*` and is freed once (caller's promise).
        let _ = std::panic::catch_unwind(|| drop(unsafe { Box::from_raw(results) }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boundary::llmc_last_error_message;
    use std::ffi::{CStr, CString};
    use std::path::PathBuf;

    fn last_error() -> String {
        let mut buf = vec![0u8; 4096];
        let n = unsafe { llmc_last_error_message(buf.as_mut_ptr().cast(), buf.len()) };
        buf.truncate(n.min(buf.len() - 1));
        String::from_utf8(buf).unwrap()
    }

    /// A multiple-choice task (the gold answer is the shortest choice), a generation task and
    /// a rolling one, in a scratch directory removed when dropped.
    struct Tasks(PathBuf);

    impl Tasks {
        fn new(tag: &str) -> Tasks {
            let d =
                std::env::temp_dir().join(format!("llmcore-ffi-eval-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&d).unwrap();
            let files = [
                (
                    "mc.json",
                    r#"{"name": "mc", "docs": "mc.jsonl", "output_type": "multiple_choice",
                    "doc_to_text": "Q: {{q}}\nA:", "doc_to_choice": "{{choices}}",
                    "doc_to_target": "{{answer}}", "metrics": ["acc"]}"#,
                ),
                (
                    "mc.jsonl",
                    "{\"q\": \"a\", \"choices\": [\"xx\", \"y\"], \"answer\": 1}\n\
                     {\"q\": \"b\", \"choices\": [\"z\", \"ww\"], \"answer\": 1}\n\
                     {\"q\": \"c\", \"choices\": [\"vvv\", \"u\", \"tt\"], \"answer\": 1}\n",
                ),
                (
                    "gen.json",
                    r#"{"name": "gen", "docs": "gen.jsonl", "output_type": "generate_until",
                    "doc_to_text": "Q: {{q}}\nA:", "doc_to_target": "{{a}}", "until": ["\n"],
                    "max_tokens": 8, "metrics": ["exact_match"]}"#,
                ),
                (
                    "gen.jsonl",
                    "{\"q\": \"1\", \"a\": \"yes\"}\n{\"q\": \"2\", \"a\": \"no\"}\n",
                ),
                (
                    "roll.json",
                    r#"{"name": "roll", "docs": "roll.jsonl",
                    "output_type": "loglikelihood_rolling", "doc_to_text": "{{t}}",
                    "metrics": ["bits_per_byte"]}"#,
                ),
                ("roll.jsonl", "{\"t\": \"abcd\"}\n{\"t\": \"efgh\"}\n"),
            ];
            for (name, text) in files {
                std::fs::write(d.join(name), text).unwrap();
            }
            Tasks(d)
        }

        fn list(&self, names: &[&str]) -> CString {
            let paths: Vec<String> = names
                .iter()
                .map(|n| self.0.join(n).display().to_string())
                .collect();
            CString::new(paths.join(",")).unwrap()
        }
    }

    impl Drop for Tasks {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The test engine's state: what the callbacks were asked, and how they should fail.
    #[derive(Default)]
    struct State {
        fail: bool,
        leave_unset: bool,
        no_len: bool,
        answer: Vec<u8>,
        calls: usize,
    }

    fn state<'a>(ud: *mut c_void) -> &'a mut State {
        unsafe { &mut *ud.cast::<State>() }
    }

    /// log p = -(bytes of the continuation); greedy when the continuation is one byte after
    /// the space.
    unsafe extern "C" fn ll(
        ud: *mut c_void,
        reqs: *const llmc_eval_pair,
        n: usize,
        lp: *mut f64,
        greedy: *mut bool,
    ) -> bool {
        let s = state(ud);
        s.calls += 1;
        if s.fail {
            return false;
        }
        for i in 0..n {
            let r = unsafe { &*reqs.add(i) };
            assert_eq!(unsafe { *r.continuation.add(r.continuation_len) }, 0);
            if !(s.leave_unset && i == n - 1) {
                unsafe { *lp.add(i) = -(r.continuation_len as f64) };
            }
            unsafe { *greedy.add(i) = r.continuation_len == 2 };
        }
        true
    }

    unsafe extern "C" fn rolling(
        ud: *mut c_void,
        texts: *const llmc_eval_text,
        n: usize,
        lp: *mut f64,
    ) -> bool {
        state(ud).calls += 1;
        for i in 0..n {
            unsafe { *lp.add(i) = -((*texts.add(i)).len as f64) * std::f64::consts::LN_2 };
        }
        true
    }

    /// Answers "yes" (then a stop string and more), or NULL when failing.
    unsafe extern "C" fn generate(
        ud: *mut c_void,
        context: *const c_char,
        context_len: usize,
        until: *const llmc_eval_text,
        n_until: usize,
        max_tokens: usize,
        len: *mut usize,
    ) -> *const c_char {
        let s = state(ud);
        s.calls += 1;
        assert_eq!((n_until, max_tokens), (1, 8));
        let u = unsafe { &*until };
        assert_eq!(unsafe { CStr::from_ptr(u.text) }.to_bytes(), b"\n");
        let ctx = unsafe { std::slice::from_raw_parts(context.cast::<u8>(), context_len) };
        assert!(ctx.starts_with(b"Q: "));
        if s.fail {
            return std::ptr::null();
        }
        s.answer = b" yes\nQ: more".to_vec();
        if !s.no_len {
            unsafe { *len = s.answer.len() };
        }
        s.answer.as_ptr().cast()
    }

    fn engine(s: &mut State) -> llmc_eval_engine {
        llmc_eval_engine {
            struct_size: size_of::<llmc_eval_engine>(),
            user_data: (s as *mut State).cast(),
            loglikelihood: Some(ll),
            loglikelihood_rolling: Some(rolling),
            generate_until: Some(generate),
        }
    }

    unsafe fn run(
        e: &llmc_eval_engine,
        tasks: &CString,
        p: Option<&llmc_eval_params>,
        progress: llmc_eval_progress,
        ud: *mut c_void,
    ) -> Result<*mut llmc_eval_results, (llmc_status, String)> {
        let mut out = std::ptr::null_mut();
        let status = unsafe {
            llmc_eval_run(
                e,
                c"test engine".as_ptr(),
                tasks.as_ptr(),
                std::ptr::null(),
                p.map_or(std::ptr::null(), |p| p as *const _),
                progress,
                ud,
                &mut out,
            )
        };
        if status == llmc_status::LLMC_OK {
            assert!(!out.is_null());
            Ok(out)
        } else {
            assert!(out.is_null(), "no handle on failure");
            Err((status, last_error()))
        }
    }

    fn metric(r: *const llmc_eval_results, task: &CStr, m: &CStr) -> (f64, f64) {
        let (mut v, mut s) = (f64::NAN, f64::NAN);
        let st = unsafe { llmc_eval_results_metric(r, task.as_ptr(), m.as_ptr(), &mut v, &mut s) };
        assert_eq!(st, llmc_status::LLMC_OK, "{}", last_error());
        (v, s)
    }

    fn json(r: *const llmc_eval_results) -> Json {
        let mut n = 0;
        let st = unsafe { llmc_eval_results_json(r, std::ptr::null_mut(), 0, &mut n) };
        assert_eq!(st, llmc_status::LLMC_OK);
        let mut buf = vec![0 as c_char; n + 1];
        let st = unsafe { llmc_eval_results_json(r, buf.as_mut_ptr(), buf.len(), &mut n) };
        assert_eq!(st, llmc_status::LLMC_OK);
        let text = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
        assert_eq!(text.len(), n);
        runtime::io::json::parse(text).unwrap()
    }

    #[test]
    fn defaults_are_the_clis() {
        let p = llmc_eval_default_params();
        assert_eq!(p.struct_size, size_of::<llmc_eval_params>());
        assert_eq!(settings(&p).unwrap(), EvalSettings::default());
        assert_eq!((p.limit, p.num_fewshot, p.max_length), (-1, -1, 0));
        assert!(!p.samples && !p.exact);
        let cases = [
            (
                llmc_eval_params { limit: 0, ..p },
                "params->limit 0: documents per task must be at least 1 (-1 = all)",
            ),
            (llmc_eval_params { limit: -2, ..p }, "params->limit -2"),
            (
                llmc_eval_params {
                    num_fewshot: -3,
                    ..p
                },
                "params->num_fewshot -3: must be >= 0 (-1 = each task's own)",
            ),
            (
                llmc_eval_params {
                    bootstrap_iters: 1,
                    ..p
                },
                "params->bootstrap_iters 1 must be at least 2",
            ),
        ];
        for (p, want) in cases {
            let e = settings(&p).unwrap_err();
            assert_eq!(e.status, llmc_status::LLMC_ERR_INVALID_ARGUMENT);
            assert!(e.message.starts_with(want), "{} vs {want}", e.message);
        }
        let p = llmc_eval_params {
            limit: 5,
            num_fewshot: 0,
            ..p
        };
        let s = settings(&p).unwrap();
        assert_eq!((s.limit, s.num_fewshot), (Some(5), Some(0)));
    }

    #[test]
    fn an_engine_in_callbacks_gives_hand_computed_metrics() {
        let t = Tasks::new("ok");
        let mut s = State::default();
        let e = engine(&mut s);
        let list = t.list(&["mc.json", "gen.json", "roll.json"]);
        let mut seen: Vec<(usize, usize, usize, usize)> = Vec::new();
        unsafe extern "C" fn record(
            i: usize,
            n: usize,
            d: usize,
            t: usize,
            ud: *mut c_void,
        ) -> bool {
            let seen = unsafe { &mut *ud.cast::<Vec<(usize, usize, usize, usize)>>() };
            seen.push((i, n, d, t));
            true
        }
        let p = llmc_eval_params {
            samples: true,
            ..llmc_eval_default_params()
        };
        let r = unsafe {
            run(
                &e,
                &list,
                Some(&p),
                Some(record),
                (&mut seen as *mut Vec<_>).cast(),
            )
        }
        .unwrap();
        // mc: the shortest choice wins; it is the gold one in documents 1 and 3, not in 2
        // (" z" is shorter than the gold " ww").
        let (acc, stderr) = metric(r, c"mc", c"acc");
        assert!(
            (acc - 2.0 / 3.0).abs() < 1e-12 && stderr > 0.0,
            "{acc} {stderr}"
        );
        // gen: the answer is cut before "\n" to " yes", right for document 1 only.
        assert_eq!(metric(r, c"gen", c"exact_match").0, 0.5);
        // roll: ln 2 nats per byte is one bit per byte.
        assert!((metric(r, c"roll", c"bits_per_byte").0 - 1.0).abs() < 1e-12);
        // Progress: one report per batched call, one per generation.
        assert_eq!(
            seen,
            vec![(0, 3, 7, 7), (1, 3, 1, 2), (1, 3, 2, 2), (2, 3, 2, 2)]
        );
        assert_eq!(s.calls, 1 + 2 + 1);

        let j = json(r);
        assert_eq!(
            j.get("model").unwrap().to_string(),
            r#"{"name":"test engine","engine":"external"}"#
        );
        let tasks = j.get("tasks").and_then(Json::as_array).unwrap();
        assert_eq!(tasks.len(), 3);
        assert_eq!(tasks[0].get("requests").and_then(Json::as_u64), Some(7));
        let hash = tasks[0].get("sha256").and_then(Json::as_str).unwrap();
        assert_eq!(hash.len(), 64);
        let samples = tasks[1].get("samples").and_then(Json::as_array).unwrap();
        assert_eq!(
            samples[0].get("prediction").and_then(Json::as_str),
            Some(" yes")
        );
        assert_eq!(j.get("requests").and_then(Json::as_u64), Some(11));

        // Lookups that miss name what there is.
        let mut v = 0.0;
        let st = unsafe {
            llmc_eval_results_metric(
                r,
                c"nope".as_ptr(),
                c"acc".as_ptr(),
                &mut v,
                std::ptr::null_mut(),
            )
        };
        assert_eq!(st, llmc_status::LLMC_ERR_INVALID_ARGUMENT);
        assert_eq!(
            last_error(),
            "llmc_eval_results_metric: no task \"nope\" in the results (tasks: mc, gen, roll)"
        );
        let st = unsafe {
            llmc_eval_results_metric(
                r,
                c"mc".as_ptr(),
                c"f1".as_ptr(),
                &mut v,
                std::ptr::null_mut(),
            )
        };
        assert_eq!(st, llmc_status::LLMC_ERR_INVALID_ARGUMENT);
        assert!(last_error().ends_with("task mc has no metric \"f1\" (it has acc)"));
        let st = unsafe {
            llmc_eval_results_metric(
                r,
                c"mc".as_ptr(),
                c"acc".as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(st, llmc_status::LLMC_ERR_NULL_ARGUMENT);
        let mut small = [0 as c_char; 4];
        let mut n = 0;
        let st = unsafe { llmc_eval_results_json(r, small.as_mut_ptr(), 4, &mut n) };
        assert_eq!(st, llmc_status::LLMC_ERR_BUFFER_TOO_SMALL);
        unsafe { llmc_eval_results_free(r) };
        unsafe { llmc_eval_results_free(std::ptr::null_mut()) };
    }

    #[test]
    fn bad_arguments_are_refused_before_any_callback() {
        let t = Tasks::new("bad");
        let mut s = State::default();
        let e = engine(&mut s);
        let list = t.list(&["mc.json"]);
        let mut out = std::ptr::null_mut();
        let name = c"x".as_ptr();
        let call = |e: *const llmc_eval_engine,
                    name: *const c_char,
                    tasks: *const c_char,
                    p: *const llmc_eval_params,
                    out: *mut *mut llmc_eval_results| unsafe {
            let st = llmc_eval_run(
                e,
                name,
                tasks,
                std::ptr::null(),
                p,
                None,
                std::ptr::null_mut(),
                out,
            );
            (st, last_error())
        };
        let null = llmc_status::LLMC_ERR_NULL_ARGUMENT;
        let bad = llmc_status::LLMC_ERR_INVALID_ARGUMENT;
        let p = llmc_eval_default_params();
        let cases: Vec<((llmc_status, String), llmc_status, &str)> = vec![
            (
                call(std::ptr::null(), name, list.as_ptr(), &p, &mut out),
                null,
                "'engine' is NULL",
            ),
            (
                call(&e, std::ptr::null(), list.as_ptr(), &p, &mut out),
                null,
                "'engine_name' is NULL",
            ),
            (
                call(&e, name, std::ptr::null(), &p, &mut out),
                null,
                "'tasks' is NULL",
            ),
            (
                call(&e, name, list.as_ptr(), &p, std::ptr::null_mut()),
                null,
                "'out' is NULL",
            ),
            (
                call(
                    &llmc_eval_engine {
                        struct_size: 8,
                        ..e
                    },
                    name,
                    list.as_ptr(),
                    &p,
                    &mut out,
                ),
                bad,
                "'engine'->struct_size is 8",
            ),
            (
                call(
                    &e,
                    name,
                    list.as_ptr(),
                    &llmc_eval_params {
                        struct_size: 3,
                        ..p
                    },
                    &mut out,
                ),
                bad,
                "'params'->struct_size is 3",
            ),
            (
                call(
                    &e,
                    name,
                    list.as_ptr(),
                    &llmc_eval_params { limit: 0, ..p },
                    &mut out,
                ),
                bad,
                "params->limit 0",
            ),
            (
                call(&e, name, c"nope".as_ptr(), &p, &mut out),
                bad,
                "tasks: tasks entry \"nope\"",
            ),
            (
                call(&e, name, c" , ".as_ptr(), &p, &mut out),
                bad,
                "names no task",
            ),
        ];
        for ((status, message), want, needle) in cases {
            assert_eq!(status, want, "{message}");
            assert!(
                message.starts_with("llmc_eval_run: ") && message.contains(needle),
                "{message} should contain {needle}"
            );
        }
        std::fs::write(
            t.0.join("broken.json"),
            "{\"name\": \"broken\", \"docs\": 3}",
        )
        .unwrap();
        let broken = t.list(&["mc.json", "broken.json"]);
        let (st, m) = call(&e, name, broken.as_ptr(), &p, &mut out);
        assert_eq!(st, bad, "{m}");
        assert!(m.contains("broken"), "{m}");
        let missing = t.list(&["missing.json"]);
        let (st, m) = call(&e, name, missing.as_ptr(), &p, &mut out);
        assert_eq!(st, bad, "{m}");
        assert!(m.contains("missing.json"), "{m}");
        assert!(out.is_null());
        // A core error during the run names the task once.
        let few = llmc_eval_params {
            num_fewshot: 5,
            ..p
        };
        let (st, m) = call(&e, name, list.as_ptr(), &few, &mut out);
        assert_eq!(st, bad);
        assert_eq!(
            m,
            "llmc_eval_run: task mc: 5 few-shot examples asked for, but the pool holds 2 \
             documents"
        );
        assert_eq!(s.calls, 0, "no callback ran");

        // The native entry: a NULL model, a max_length no model has.
        let (mut m0, nm) = (std::ptr::null_mut(), std::ptr::null());
        let st = unsafe {
            llmc_eval_run_model(
                std::ptr::null(),
                nm,
                list.as_ptr(),
                std::ptr::null(),
                &p,
                None,
                std::ptr::null_mut(),
                &mut m0,
            )
        };
        assert_eq!(st, null);
        assert!(last_error().contains("'model' is NULL"));
    }

    #[test]
    fn a_missing_callback_is_named_with_the_task_before_any_work() {
        let t = Tasks::new("missing");
        let mut s = State::default();
        let e = llmc_eval_engine {
            generate_until: None,
            ..engine(&mut s)
        };
        let list = t.list(&["mc.json", "gen.json"]);
        let (status, message) =
            unsafe { run(&e, &list, None, None, std::ptr::null_mut()) }.unwrap_err();
        assert_eq!(status, llmc_status::LLMC_ERR_INVALID_ARGUMENT);
        assert_eq!(
            message,
            "llmc_eval_run: engine has no generate_until callback (task gen needs it)"
        );
        assert_eq!(s.calls, 0, "the multiple-choice task did not run first");
        let e = llmc_eval_engine {
            loglikelihood: None,
            loglikelihood_rolling: None,
            ..engine(&mut s)
        };
        let only_gen = t.list(&["gen.json"]);
        let r = unsafe { run(&e, &only_gen, None, None, std::ptr::null_mut()) }.unwrap();
        unsafe { llmc_eval_results_free(r) };
        let roll = t.list(&["roll.json"]);
        let (status, message) =
            unsafe { run(&e, &roll, None, None, std::ptr::null_mut()) }.unwrap_err();
        assert_eq!(status, llmc_status::LLMC_ERR_INVALID_ARGUMENT);
        assert!(
            message.ends_with("engine has no loglikelihood_rolling callback (task roll needs it)")
        );
    }

    #[test]
    fn a_failing_callback_fails_the_run_naming_it_and_the_task() {
        let t = Tasks::new("fail");
        let mut s = State {
            fail: true,
            ..State::default()
        };
        let e = engine(&mut s);
        let (status, message) =
            unsafe { run(&e, &t.list(&["mc.json"]), None, None, std::ptr::null_mut()) }
                .unwrap_err();
        assert_eq!(status, llmc_status::LLMC_ERR_CALLBACK);
        assert_eq!(
            message,
            "llmc_eval_run: the engine's loglikelihood callback failed (task mc, 7 requests)"
        );
        let (status, message) =
            unsafe { run(&e, &t.list(&["gen.json"]), None, None, std::ptr::null_mut()) }
                .unwrap_err();
        assert_eq!(status, llmc_status::LLMC_ERR_CALLBACK);
        assert_eq!(
            message,
            "llmc_eval_run: the engine's generate_until callback failed (task gen, request 0 \
             of 2: NULL)"
        );
        let mut s = State {
            leave_unset: true,
            ..State::default()
        };
        let e = engine(&mut s);
        let (status, message) =
            unsafe { run(&e, &t.list(&["mc.json"]), None, None, std::ptr::null_mut()) }
                .unwrap_err();
        assert_eq!(status, llmc_status::LLMC_ERR_INVALID_ARGUMENT);
        assert!(
            message.contains("loglikelihood callback gave logprob_out[6] = NaN (task mc)"),
            "{message}"
        );
        let mut s = State {
            no_len: true,
            ..State::default()
        };
        let e = engine(&mut s);
        let (status, message) =
            unsafe { run(&e, &t.list(&["gen.json"]), None, None, std::ptr::null_mut()) }
                .unwrap_err();
        assert_eq!(status, llmc_status::LLMC_ERR_INVALID_ARGUMENT);
        assert!(
            message.ends_with(
                "generate_until callback did not set *text_len_out (task gen, request 0 of 2)"
            ),
            "{message}"
        );
    }

    #[test]
    fn progress_returning_false_cancels() {
        let t = Tasks::new("cancel");
        let mut s = State::default();
        let e = engine(&mut s);
        unsafe extern "C" fn stop_in_second(
            i: usize,
            _: usize,
            _: usize,
            _: usize,
            _: *mut c_void,
        ) -> bool {
            i == 0
        }
        let list = t.list(&["mc.json", "gen.json"]);
        let (status, message) =
            unsafe { run(&e, &list, None, Some(stop_in_second), std::ptr::null_mut()) }
                .unwrap_err();
        assert_eq!(status, llmc_status::LLMC_ERR_CANCELLED);
        assert_eq!(
            message,
            "llmc_eval_run: cancelled by the progress callback in task gen (2 of 2) after 1 of \
             2 requests"
        );
        assert_eq!(s.calls, 2, "one batch, then one generation");
    }
}
